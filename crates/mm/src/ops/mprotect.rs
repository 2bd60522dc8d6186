//! `mprotect(2)`: new protections VMA by VMA, splitting and merging (mprotect_fixup), and
//! the PTEs updated to match (change_protection).

use crate::flags::VmFlags;
use crate::frame::PageFlags;
use crate::kernel::{can_merge, vm_stat_account, Kernel, Pid};
use crate::layout::*;
use crate::mm_table::MmId;
use crate::pgtable::{self, PteFlags};
use crate::vma::Vma;
use abi::*;

impl Kernel {
    /// `mprotect(addr, len, prot)`.
    pub fn mprotect(&mut self, pid: Pid, addr: u64, len: u64, prot: u64) -> SysResult<u64> {
        let id = self.mm_id(pid)?;
        let r = self.do_mprotect(id, addr, len, prot);
        if self.m.config.paranoid {
            crate::invariants::check_kernel(self);
        }
        r.map(|_| 0)
    }

    fn do_mprotect(&mut self, id: MmId, start: u64, len: u64, prot: u64) -> SysResult<()> {
        let grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
        let prot = prot & !(PROT_GROWSDOWN | PROT_GROWSUP);
        if grows == PROT_GROWSDOWN | PROT_GROWSUP {
            return Err(Errno::EINVAL);
        }
        if start & !PAGE_MASK != 0 {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        let len = page_ceil(len).ok_or(Errno::ENOMEM)?;
        let end = start.checked_add(len).ok_or(Errno::ENOMEM)?;
        if end <= start {
            return Err(Errno::ENOMEM);
        }
        if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM) != 0 {
            return Err(Errno::EINVAL);
        }
        let mm = &self.mms[id];
        let Some(first) = mm.vmas.find(start).filter(|v| v.start < end).cloned() else {
            return Err(Errno::ENOMEM);
        };
        let mut start = start;
        if grows & PROT_GROWSDOWN != 0 {
            start = first.start;
            if !first.flags.contains(VmFlags::GROWSDOWN) {
                return Err(Errno::EINVAL);
            }
        } else if first.start > start {
            return Err(Errno::ENOMEM);
        }
        let mut want = VmFlags::from_prot(prot);
        // READ_IMPLIES_EXEC: PROT_READ asks for PROT_EXEC too, from the first VMA that may be
        // executable on (the request keeps it for the VMAs after, as Linux's loop does).
        let rier = prot & PROT_READ != 0 && self.read_implies_exec(id);
        let mut at = start;
        while at < end {
            let mm = &self.mms[id];
            let Some(v) = mm.vmas.find(at).cloned() else { break };
            if v.start > at {
                // A hole: the VMAs before it stay changed.
                return Err(Errno::ENOMEM);
            }
            if rier && v.flags.contains(VmFlags::MAYEXEC) {
                want |= VmFlags::EXEC;
            }
            let new_flags = want | (v.flags - VmFlags::ACCESS);
            let may = VmFlags::from_bits_truncate((new_flags.bits() >> 4) & VmFlags::ACCESS.bits());
            if !(new_flags.access() - may).is_empty() {
                return Err(Errno::EACCES);
            }
            let to = v.end.min(end);
            self.mprotect_fixup(id, &v, at, to, new_flags)?;
            if self.mms.get(id).is_none() {
                // Populating a locked VMA made writable ran out of memory and the OOM killer
                // took this very task: nothing is left to change, and nobody to tell.
                return Err(Errno::EINTR);
            }
            at = to;
        }
        if at < end {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    /// Applies `new_flags` to `[start, end)` of the VMA `v`.
    fn mprotect_fixup(&mut self, id: MmId, v: &Vma, start: u64, end: u64, mut new_flags: VmFlags) -> SysResult<()> {
        let old = v.flags;
        if new_flags == old {
            return Ok(());
        }
        let pages = ((end - start) >> PAGE_SHIFT) as i64;
        // Making private memory writable charges it to the commit limit (ENOMEM before any
        // change); an anonymous VMA that never had pages stops being charged (on kernels that
        // do: not the 6.1 of the i386 profiles).
        let mut charge = 0i64;
        if new_flags.contains(VmFlags::WRITE) {
            if !old
                .intersects(VmFlags::ACCOUNT | VmFlags::WRITE | VmFlags::HUGETLB | VmFlags::SHARED | VmFlags::NORESERVE)
            {
                if !self.may_commit(id, pages as u64) {
                    return Err(Errno::ENOMEM);
                }
                charge = pages;
                new_flags |= VmFlags::ACCOUNT;
            }
        } else if self.m.config.mprotect_unaccounts_unfaulted
            && old.contains(VmFlags::ACCOUNT)
            && v.file.is_none()
            && v.special.is_none()
            && v.anon_vma.is_none()
        {
            charge = -pages;
            new_flags -= VmFlags::ACCOUNT;
        }
        self.vma_modify(id, v, start, end, |x| x.flags = new_flags)?;
        if charge > 0 {
            self.m.vm_acct_memory(charge as u64);
        } else {
            self.m.vm_unacct_memory((-charge) as u64);
        }
        let mm = self.mm_mut(id);
        vm_stat_account(mm, old, -pages);
        vm_stat_account(mm, new_flags, pages);
        let vma = self.mms[id].vmas.containing(start).cloned().expect("modified VMA");
        self.change_protection(id, &vma, start, end);
        // A private locked VMA that becomes writable is populated for writing at once, so the
        // COW breaks happen now rather than as faults later (mprotect_fixup).
        if old & (VmFlags::WRITE | VmFlags::SHARED | VmFlags::LOCKED) == VmFlags::LOCKED
            && new_flags.contains(VmFlags::WRITE)
        {
            if let Some(pid) = self.task_of_mm(id).map(|t| t.pid) {
                self.populate(pid, start, end, true);
            }
        }
        Ok(())
    }

    /// Changes the part `[start, end)` of VMA `v` with `change`, merging with a neighbour
    /// where the result allows (vma_modify), else splitting. Splits need a free map slot.
    /// Returns the start of the VMA now holding `start`.
    pub(crate) fn vma_modify(
        &mut self,
        id: MmId,
        v: &Vma,
        start: u64,
        end: u64,
        change: impl Fn(&mut Vma),
    ) -> SysResult<u64> {
        let max = self.m.config.max_map_count;
        // Special mappings refuse to be split (special_mapping_split).
        if v.special.is_some() && (start > v.start || end < v.end) {
            return Err(Errno::EINVAL);
        }
        // A VMA whose removal would run a close hook (a SysV attach: it counts in
        // shm_nattch) is never merged away whole: it only changes in place. Part of one may
        // still go to a neighbour (Linux moves the boundary; the model splits, then merges).
        let whole = start == v.start && end == v.end;
        if whole && v.file.is_some_and(|f| self.m.file(f.file).sysv_shm.is_some()) {
            self.mm_mut(id).vmas.update(start, |x| change(x));
            return Ok(start);
        }
        let mut changed = v.slice(start, end);
        change(&mut changed);
        let mm = &self.mms[id];
        let prev = mm.vmas.before(v.start).cloned();
        let next = mm.vmas.after(v.start).cloned();
        let merge_prev = start == v.start && prev.as_ref().is_some_and(|p| can_merge(p, &changed));
        let merge_next = end == v.end && next.as_ref().is_some_and(|n| can_merge(&changed, n));
        if !merge_prev && !merge_next {
            let splits = (start > v.start) as u64 + (end < v.end) as u64;
            if splits > 0 && mm.map_count() as u64 >= max {
                return Err(Errno::ENOMEM);
            }
            if splits == 2 && mm.map_count() as u64 + 1 >= max {
                // The first split happens, the second fails, as in Linux.
                self.split_at(id, start);
                return Err(Errno::ENOMEM);
            }
        }
        self.split_at(id, start);
        self.split_at(id, end);
        let mm = self.mm_mut(id);
        mm.vmas.update(start, |x| change(x));
        Ok(self.try_merge_around(id, start))
    }

    /// Rewrites the PTEs of `[start, end)` to match the VMA's protections.
    pub(crate) fn change_protection(&mut self, id: MmId, vma: &Vma, start: u64, end: u64) {
        let pgd = self.mms[id].pgd;
        let zero = self.m.frames.zero_pfn();
        let writable = vma.flags.contains(VmFlags::WRITE);
        let shared = vma.flags.contains(VmFlags::SHARED);
        let accessible = vma.flags.intersects(VmFlags::READ | VmFlags::WRITE | VmFlags::EXEC);
        // A shared writable mapping without write notification (shmem) has write permission
        // in its page protection itself: every present PTE becomes writable.
        let no_writenotify = self.read_maps_writable(vma);
        let slots = pgtable::mapped_ptes(&self.m.frames, pgd, start, end);
        let mut k = 0;
        while k < slots.len() {
            // Linux changes the PTEs of a large folio's consecutive pages a batch at a time
            // (mprotect_folio_pte_batch): the batch's accessed and dirty bits are gathered
            // and every PTE of it gets them (measured on 6.18: after a fork left a child's
            // PTEs of a large folio old and it read one page, mprotect made all five young).
            let n = self.mprotect_batch_len(&slots[k..]);
            let batch = &slots[k..k + n];
            let gathered = batch
                .iter()
                .fold(PteFlags::empty(), |acc, s| acc | (s.pte.flags() & (PteFlags::ACCESSED | PteFlags::DIRTY)));
            k += n;
            for &pgtable::PteSlot { table, index: i, pte: stored, .. } in batch {
                let pte = stored.with(gathered);
                let pfn = pte.pfn();
                let mut p = pte.without(PteFlags::WRITABLE | PteFlags::NX | PteFlags::PRESENT | PteFlags::PROTNONE);
                p = p.with(if accessible { PteFlags::PRESENT } else { PteFlags::PROTNONE });
                if !vma.flags.contains(VmFlags::EXEC) {
                    p = p.with(PteFlags::NX);
                }
                // Otherwise a write upgrade happens only where no write fault is needed later:
                // exclusive anonymous pages, or shared pages already dirty.
                let keep_write = writable
                    && pfn != zero
                    && if shared {
                        no_writenotify || pte.dirty()
                    } else {
                        self.m.frames.meta(pfn).flags.contains(PageFlags::ANON_EXCLUSIVE)
                    };
                if keep_write && accessible {
                    p = p.with(PteFlags::WRITABLE);
                }
                // An entry that stays the same is left alone (a shared zero-page table stays shared).
                if p != stored {
                    self.m.frames.table_mut(table)[i] = p.0;
                }
            }
        }
    }

    /// How many of `slots` (mapped PTEs in address order), from the first, Linux's mprotect
    /// changes as one batch: a large folio's run ([`Machine::folio_pte_batch`]) whose entries
    /// are all writable or all not (FPB_RESPECT_WRITE).
    ///
    /// [`Machine::folio_pte_batch`]: crate::machine::Machine::folio_pte_batch
    fn mprotect_batch_len(&self, slots: &[pgtable::PteSlot]) -> usize {
        let writable = |s: &pgtable::PteSlot| s.pte.flags().contains(PteFlags::WRITABLE);
        self.m.folio_pte_batch(slots, |a, b| writable(a) == writable(b))
    }
}
