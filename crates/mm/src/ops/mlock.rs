//! `mlock(2)`, `mlock2(2)`, `munlock(2)`, `mlockall(2)` and `munlockall(2)`: VM_LOCKED and
//! VM_LOCKONFAULT on VMAs (splitting and merging like any flag change), the locked_vm count
//! RLIMIT_MEMLOCK is checked against, PG_mlocked on the pages mapped there, and the faulting
//! in that locking promises (mm/mlock.c).
//!
//! The order is Linux's: flags first, over the whole range (VMAs before a hole are already
//! changed when the hole gives ENOMEM), then population, whose failures come back in
//! POSIX's words (EFAULT as ENOMEM, ENOMEM as EAGAIN) while the flags stay set — which is
//! why mlock of a PROT_NONE mapping fails yet leaves it locked.

use crate::flags::VmFlags;
use crate::frame::PageFlags;
use crate::kernel::{vm_stat_account, Cap, Kernel, Pid, Rlimit};
use crate::layout::*;
use crate::mm_table::MmId;
use crate::pages::PageCount;
use crate::pgtable;
use abi::*;

/// VM_LOCKED and VM_LOCKONFAULT (VM_LOCKED_MASK).
const LOCKED_MASK: VmFlags = VmFlags::LOCKED.union(VmFlags::LOCKONFAULT);

impl Kernel {
    /// `mlock(addr, len)`.
    pub fn mlock(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<u64> {
        self.do_mlock(pid, addr, len, VmFlags::LOCKED)
    }

    /// `mlock2(addr, len, flags)`: MLOCK_ONFAULT locks pages only as they are faulted in.
    pub fn mlock2(&mut self, pid: Pid, addr: u64, len: u64, flags: u64) -> SysResult<u64> {
        if flags & !MLOCK_ONFAULT != 0 {
            return Err(Errno::EINVAL);
        }
        let mut f = VmFlags::LOCKED;
        if flags & MLOCK_ONFAULT != 0 {
            f |= VmFlags::LOCKONFAULT;
        }
        self.do_mlock(pid, addr, len, f)
    }

    /// `munlock(addr, len)`: needs no limit.
    pub fn munlock(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<u64> {
        let id = self.mm_id(pid)?;
        let (start, len) = Self::mlock_range(addr, len);
        let r = self.apply_vma_lock_flags(id, start, len, VmFlags::empty());
        self.check_after_call();
        r.map(|_| 0)
    }

    /// `mlockall(flags)`: MCL_CURRENT locks every VMA now, MCL_FUTURE every later one
    /// (mm->def_flags), MCL_ONFAULT makes either lock on fault.
    pub fn mlockall(&mut self, pid: Pid, flags: u64) -> SysResult<u64> {
        let id = self.mm_id(pid)?;
        if flags == 0 || flags & !(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0 || flags == MCL_ONFAULT {
            return Err(Errno::EINVAL);
        }
        if !self.can_do_mlock(id) {
            return Err(Errno::EPERM);
        }
        let limit = PageCount::of_len(self.rlimit(id, Rlimit::Memlock));
        let total_vm = self.mms[id].total_vm;
        if flags & MCL_CURRENT != 0 && total_vm > limit && !self.capable(id, Cap::IpcLock) {
            return Err(Errno::ENOMEM);
        }
        self.apply_mlockall_flags(id, flags);
        if flags & MCL_CURRENT != 0 {
            let _ = self.mm_populate(pid, 0, TASK_SIZE, true);
        }
        self.check_after_call();
        Ok(0)
    }

    /// `munlockall()`.
    pub fn munlockall(&mut self, pid: Pid) -> SysResult<u64> {
        let id = self.mm_id(pid)?;
        self.apply_mlockall_flags(id, 0);
        self.check_after_call();
        Ok(0)
    }

    fn check_after_call(&self) {
        if self.m.config.paranoid {
            crate::invariants::check_kernel(self);
        }
    }

    /// The page-aligned range mlock and munlock work on: the start rounded down, the length
    /// grown by the start's offset and rounded up (wrapping, as the kernel's PAGE_ALIGN).
    fn mlock_range(addr: u64, len: u64) -> (u64, u64) {
        let len = len.wrapping_add(addr & !PAGE_MASK).wrapping_add(PAGE_SIZE - 1) & PAGE_MASK;
        (addr & PAGE_MASK, len)
    }

    /// do_mlock: the limit check, the flags, then population.
    fn do_mlock(&mut self, pid: Pid, addr: u64, len: u64, flags: VmFlags) -> SysResult<u64> {
        let id = self.mm_id(pid)?;
        if !self.can_do_mlock(id) {
            return Err(Errno::EPERM);
        }
        let (start, len) = Self::mlock_range(addr, len);
        let limit = PageCount::of_len(self.rlimit(id, Rlimit::Memlock));
        let mut locked = PageCount::of_len(len) + self.mms[id].locked_vm;
        let cap = self.capable(id, Cap::IpcLock);
        if locked > limit && !cap {
            // Pages of the range already locked are not counted twice.
            locked -= PageCount::new(self.count_mlocked_pages(id, start, len));
        }
        let r =
            if locked <= limit || cap { self.apply_vma_lock_flags(id, start, len, flags) } else { Err(Errno::ENOMEM) };
        let r = r.and_then(|_| {
            // __mlock_posix_error_return: EFAULT reads as ENOMEM, ENOMEM as EAGAIN.
            self.mm_populate(pid, start, start.wrapping_add(len), false).map_err(|e| match e {
                Errno::EFAULT => Errno::ENOMEM,
                Errno::ENOMEM => Errno::EAGAIN,
                e => e,
            })
        });
        self.check_after_call();
        r.map(|_| 0)
    }

    /// count_mm_mlocked_page_nr: pages of `[start, start + len)` in VM_LOCKED VMAs.
    fn count_mlocked_pages(&self, id: MmId, start: u64, len: u64) -> u64 {
        let end = start.saturating_add(len);
        let mm = &self.mms[id];
        mm.vmas
            .range(start, end)
            .filter(|v| v.flags.contains(VmFlags::LOCKED))
            .map(|v| (v.end.min(end) - v.start.max(start)) >> PAGE_SHIFT)
            .sum()
    }

    /// apply_vma_lock_flags: sets the lock flags on every VMA of the range, which must be
    /// mapped without holes (ENOMEM at the first hole, the VMAs before it already changed).
    fn apply_vma_lock_flags(&mut self, id: MmId, start: u64, len: u64, flags: VmFlags) -> SysResult<()> {
        let end = start.checked_add(len).ok_or(Errno::EINVAL)?;
        if end == start {
            return Ok(());
        }
        let mm = &self.mms[id];
        if mm.vmas.containing(start).is_none() {
            return Err(Errno::ENOMEM);
        }
        let mut at = start;
        while at < end {
            let mm = &self.mms[id];
            let Some(v) = mm.vmas.containing(at).cloned() else { return Err(Errno::ENOMEM) };
            let to = v.end.min(end);
            let new_flags = (v.flags - LOCKED_MASK) | flags;
            self.mlock_fixup(id, &v, at, to, new_flags)?;
            at = to;
        }
        Ok(())
    }

    /// lru_add_drain on the simulated CPU: what a harness that drains its CPU's batches on
    /// purpose (hostdiff's drain page) does to the model.
    pub fn lru_add_drain(&mut self) {
        self.m.lru_deactivate_drain(None);
        self.m.lru_add_drain();
    }

    /// lru_add_drain by a task of address space `id`: the simulated CPU's batches, and the
    /// lazy-free moves of pages this address space freed that a replay found still waiting
    /// in its CPU's batch ([`PageFlags::LAZYFREE_BATCHED`]): those pages become lazily free.
    pub(crate) fn lru_add_drain_of(&mut self, id: MmId) {
        self.m.lru_deactivate_drain(Some(id));
        self.m.lru_add_drain();
        for pfn in crate::machine::take_owned(&mut self.m.lazyfree_batched, Some(id)) {
            if self.m.frames.meta(pfn).flags.contains(PageFlags::LAZYFREE_BATCHED) {
                self.folio_mark_lazyfree(pfn);
            }
        }
    }

    /// mlock_fixup: one VMA's part gets `new_flags`; special, hugetlb and gate VMAs are left
    /// as they are. Pages already mapped there are mlocked or munlocked.
    fn mlock_fixup(
        &mut self,
        id: MmId,
        v: &crate::vma::Vma,
        start: u64,
        end: u64,
        new_flags: VmFlags,
    ) -> SysResult<()> {
        let old = v.flags;
        if new_flags == old || old.intersects(VmFlags::SPECIAL) || v.special.is_some() {
            return Ok(());
        }
        // vma_modify fails with ENOMEM when a split finds no free map slot.
        self.vma_modify(id, v, start, end, |x| x.flags = new_flags)?;
        let pages = ((end - start) >> PAGE_SHIFT) as i64;
        let mm = self.mm_mut(id);
        // vm_stat_account keeps locked_vm from the flags: take the old flags' pages out and
        // the new ones' in.
        vm_stat_account(mm, old, -pages);
        vm_stat_account(mm, new_flags, pages);
        let was = old.contains(VmFlags::LOCKED);
        let now = new_flags.contains(VmFlags::LOCKED);
        if was != now {
            // mlock_vma_pages_range drains this CPU's LRU batches before its walk and after
            // it. The drain before completes the munlocks other processes left waiting, so
            // a page one of them munlocked and this call mlocks again stays mlocked
            // (measured on 6.18, both processes pinned to one CPU: a page a parent
            // munmapped, still mlocked while its munlock waits, is mlocked and unevictable
            // after the child's mlock; where the same two entries meet in one drain, the
            // page ends evictable: see `Machine::mlock_drain_local`). A call that changes no
            // VMA drains nothing: an mlock2 that fails at once with ENOMEM leaves another
            // process's munlocks waiting, whose references then keep that process's write
            // fault from reusing the page (random script seed 4802311).
            self.lru_add_drain_of(id);
            self.mlock_present_pages(id, start, end, now);
            self.lru_add_drain_of(id);
        }
        Ok(())
    }

    /// mlock_vma_pages_range: the pages mapped in `[start, end)` become (or stop being)
    /// mlocked. A large folio goes a run of its mapped pages at a time (folio_mlock_step):
    /// munlocked once a run, mlocked only where one run maps all of it inside the range
    /// (allow_mlock_munlock).
    pub(crate) fn mlock_present_pages(&mut self, id: MmId, start: u64, end: u64, lock: bool) {
        let pgd = self.mms[id].pgd;
        let zero = self.m.frames.zero_pfn();
        let slots = pgtable::mapped_ptes(&self.m.frames, pgd, start, end);
        let mut k = 0;
        while k < slots.len() {
            let pfn = slots[k].pte.pfn();
            if pfn == zero {
                k += 1;
                continue;
            }
            let Some((file, pages)) = self.m.large_folio(pfn) else {
                if lock {
                    self.m.mlock_page(pfn);
                } else {
                    self.m.munlock_page(pfn);
                }
                k += 1;
                continue;
            };
            // The run: the entries after this one that map the folio's next pages (mlock
            // walks a page table at a time: a run never crosses one).
            let run = self.m.folio_pte_batch(&slots[k..], |_, _| true);
            let first_index = match self.m.frames.meta(pfn).owner {
                crate::frame::Owner::File { file: f, index } if f == file.0 => Some(u64::from(index)),
                _ => None,
            };
            if !lock {
                self.m.munlock_large_folio(pfn);
            } else if run as u64 == pages.end - pages.start && first_index == Some(pages.start) {
                self.m.mlock_large_folio(pfn);
            }
            k += run;
        }
    }

    /// The pages mapped in `[start, end)` keep the mlock count their mapping gave them
    /// although the mapping is no longer locked (see [`FrameTable::mlock_stranded`]).
    ///
    /// [`FrameTable::mlock_stranded`]: crate::frame::FrameTable::mlock_stranded
    pub(crate) fn strand_present_pages(&mut self, id: MmId, start: u64, end: u64) {
        let pgd = self.mms[id].pgd;
        let zero = self.m.frames.zero_pfn();
        let pfns: Vec<_> = pgtable::mapped_ptes(&self.m.frames, pgd, start, end)
            .into_iter()
            .map(|slot| slot.pte.pfn())
            .filter(|&pfn| pfn != zero && !self.m.in_large_folio(pfn))
            .collect();
        for pfn in pfns {
            self.m.frames.mlock_strand(pfn);
        }
    }

    /// apply_mlockall_flags: def_flags for MCL_FUTURE, and every VMA relocked (or unlocked)
    /// for MCL_CURRENT; failures are ignored VMA by VMA.
    fn apply_mlockall_flags(&mut self, id: MmId, flags: u64) {
        let mm = self.mm_mut(id);
        mm.def_flags -= LOCKED_MASK;
        if flags & MCL_FUTURE != 0 {
            mm.def_flags |= VmFlags::LOCKED;
            if flags & MCL_ONFAULT != 0 {
                mm.def_flags |= VmFlags::LOCKONFAULT;
            }
            if flags & MCL_CURRENT == 0 {
                return;
            }
        }
        let mut to_add = VmFlags::empty();
        if flags & MCL_CURRENT != 0 {
            to_add |= VmFlags::LOCKED;
            if flags & MCL_ONFAULT != 0 {
                to_add |= VmFlags::LOCKONFAULT;
            }
        }
        let mut at = 0;
        loop {
            let mm = &self.mms[id];
            let Some(v) = mm.vmas.find(at).cloned() else { break };
            at = v.end;
            let new_flags = (v.flags - LOCKED_MASK) | to_add;
            let _ = self.mlock_fixup(id, &v, v.start, v.end, new_flags);
        }
    }
}
