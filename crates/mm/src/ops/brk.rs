//! `brk(2)`: moving the program break, growing or shrinking the `[heap]` VMA.
//!
//! brk never fails with an errno: it returns the new break on success and the old one on any
//! failure.

use crate::flags::VmFlags;
use crate::kernel::{can_merge, Kernel, Pid};
use crate::layout::*;
use crate::mm_table::MmId;
use crate::vma::Vma;
use abi::{Errno, SysResult};

impl Kernel {
    /// `brk(addr)`: returns the program break after the call.
    pub fn brk(&mut self, pid: Pid, brk: u64) -> SysResult<u64> {
        let id = self.mm_id(pid)?;
        let r = self.do_brk(id, brk);
        if self.m.config.paranoid {
            crate::invariants::check_kernel(self);
        }
        Ok(r)
    }

    fn do_brk(&mut self, id: MmId, brk: u64) -> u64 {
        let mm = &self.mms[id];
        let orig = mm.brk;
        let (start_brk, start_data, end_data) = (mm.start_brk, mm.start_data, mm.end_data);
        if brk < start_brk || brk >= mm.space.task_size {
            return orig;
        }
        // check_data_rlimit: heap plus data segment within RLIMIT_DATA.
        let rlimit_data = self.rlimit(id, crate::kernel::Rlimit::Data);
        if rlimit_data != u64::MAX && (brk - start_brk) + (end_data - start_data) > rlimit_data {
            return orig;
        }
        let Some(newbrk) = page_ceil(brk) else { return orig };
        let oldbrk = page_ceil(mm.brk).unwrap_or(mm.brk);
        if oldbrk == newbrk {
            self.mm_mut(id).brk = brk;
            return brk;
        }
        if brk <= mm.brk {
            // Shrink: the range must belong to the brk VMA.
            let Some(v) = mm.vmas.find(newbrk) else { return orig };
            if v.start >= oldbrk {
                return orig;
            }
            self.mm_mut(id).brk = brk;
            if self.do_munmap_range(id, newbrk, oldbrk).is_err() {
                self.mm_mut(id).brk = orig;
                return orig;
            }
            return brk;
        }
        // Grow: one free page must stay below the next VMA's start gap.
        if let Some(next) = mm.vmas.find(oldbrk) {
            if newbrk + PAGE_SIZE > mm.vmas.start_gap(next) {
                return orig;
            }
        }
        let start_brk = self.mms[id].start_brk;
        if self.do_brk_flags(id, oldbrk, newbrk - oldbrk, VmFlags::empty(), start_brk).is_err() {
            return orig;
        }
        self.mm_mut(id).brk = brk;
        if self.mms[id].def_flags.contains(VmFlags::LOCKED) {
            if let Some(pid) = self.task_of_mm(id).map(|t| t.pid) {
                self.populate(pid, oldbrk, newbrk, true);
            }
        }
        brk
    }

    /// do_brk_flags: extends the anonymous VMA ending at `addr` or creates one, with `extra`
    /// flags beyond the data defaults. Only a VMA that ends above `prev_limit` may be
    /// extended (brk passes start_brk, vma_prev_limit; the ELF loader's vm_brk_flags 0).
    pub(crate) fn do_brk_flags(
        &mut self,
        id: MmId,
        addr: u64,
        len: u64,
        extra: VmFlags,
        prev_limit: u64,
    ) -> SysResult<()> {
        let pages = len >> PAGE_SHIFT;
        // VM_DATA_DEFAULT_FLAGS has TASK_EXEC: executable under READ_IMPLIES_EXEC.
        let task_exec = if self.read_implies_exec(id) { VmFlags::EXEC } else { VmFlags::empty() };
        let mm = &self.mms[id];
        let flags = extra
            | task_exec
            | VmFlags::READ
            | VmFlags::WRITE
            | VmFlags::MAYREAD
            | VmFlags::MAYWRITE
            | VmFlags::MAYEXEC
            | VmFlags::ACCOUNT
            | mm.def_flags;
        if !self.may_expand_vm(id, flags, pages) {
            return Err(Errno::ENOMEM);
        }
        if mm.map_count() as u64 > self.m.config.max_map_count {
            return Err(Errno::ENOMEM);
        }
        if !self.may_commit(id, pages) {
            return Err(Errno::ENOMEM);
        }
        let mm = &self.mms[id];
        let new = Vma {
            start: addr,
            end: addr + len,
            flags,
            pgoff: addr >> PAGE_SHIFT,
            file: None,
            anon_vma: None,
            special: None,
        };
        // With brk's limit, the bss below an empty heap is never extended, but a VMA the
        // heap was merged into is.
        let brkvma = mm.vmas.prev_of(addr).filter(|v| v.end > prev_limit && v.end == addr).cloned();
        match brkvma {
            Some(b) if can_merge(&b, &new) => {
                let mm = self.mm_mut(id);
                mm.vmas.update(b.start, |v| v.end = addr + len);
                crate::kernel::vm_stat_account(mm, flags, pages as i64);
                self.m.vm_acct_memory(pages);
            }
            _ => self.vma_link(id, new),
        }
        Ok(())
    }
}
