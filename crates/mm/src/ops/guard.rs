//! Guard regions: `MADV_GUARD_INSTALL` and `MADV_GUARD_REMOVE` (Linux 6.13+, file mappings
//! 6.15+, the sticky `VM_MAYBE_GUARD` flag 6.18).
//!
//! Installing zaps the range (its pages go as with MADV_DONTNEED) and leaves a marker in
//! each PTE: an access there is a SIGSEGV (SEGV_MAPERR), a kernel copy EFAULT, population
//! (MADV_POPULATE_*, mlock) fails, and fault-around passes over it. The markers stay
//! through MADV_DONTNEED, MADV_FREE and mprotect, move with mremap, are copied by fork
//! (unless MADV_WIPEONFORK), and go with munmap or MADV_GUARD_REMOVE. The VMA is not split:
//! it gets the sticky `VM_MAYBE_GUARD` (smaps `gu`), which every later piece of it keeps,
//! and an anon_vma (so that fork copies its page tables), and the PTE tables the markers
//! sit in are made and kept while a marker is in them (they count in VmPTE). Measured on
//! 6.18 (probes `gu.c`, `gu3.c` of the session notes): pagemap shows a marker as a swap
//! entry of type 31, offset 4, with bit 58.
//!
//! The model keeps the markers in [`crate::mm::Mm::guards`], beside the page tables: the
//! PTE at a guarded address stays empty, so every walk of the tables sees no page there.

use crate::flags::VmFlags;
use crate::kernel::Kernel;
use crate::layout::*;
use crate::mm::Mm;
use crate::mm_table::MmId;
use crate::pgtable;
use crate::vma::Vma;
use abi::*;

/// What `/proc/PID/pagemap` shows of a guard marker in its low bits (to CAP_SYS_ADMIN): the
/// swap-entry type of PTE markers and the guard marker's bit, as a swap entry shows.
pub const GUARD_PAGEMAP_BITS: u64 = (4 << 5) | 31;

impl Mm {
    /// Whether the page at `va` holds a guard marker.
    pub fn is_guarded(&self, va: u64) -> bool {
        !self.guards.is_empty() && self.guards.contains(&(va & PAGE_MASK))
    }

    /// Whether a page of `[start, end)` holds a guard marker.
    pub fn has_guard_in(&self, start: u64, end: u64) -> bool {
        !self.guards.is_empty() && self.guards.range(start..end).next().is_some()
    }

    /// The guarded pages of `[start, end)`.
    pub(crate) fn guards_in(&self, start: u64, end: u64) -> Vec<u64> {
        if self.has_guard_in(start, end) {
            self.guards.range(start..end).copied().collect()
        } else {
            Vec::new()
        }
    }

    /// Removes the markers of `[start, end)`; returns them.
    pub(crate) fn drop_guards(&mut self, start: u64, end: u64) -> Vec<u64> {
        let gone = self.guards_in(start, end);
        for va in &gone {
            self.guards.remove(va);
        }
        gone
    }
}

impl Kernel {
    /// MADV_GUARD_INSTALL on `[start, end)` of VMA `v`.
    pub(crate) fn guard_install(&mut self, id: MmId, v: &Vma, start: u64, end: u64) -> SysResult<()> {
        // is_valid_guard_vma: not special, not hugetlb, not locked (a lock taken after the
        // install is allowed: its population skips the markers).
        if v.flags.intersects(VmFlags::SPECIAL | VmFlags::HUGETLB | VmFlags::LOCKED) || v.special.is_some() {
            return Err(Errno::EINVAL);
        }
        self.anon_vma_prepare(id, v.start);
        self.mm_mut(id).vmas.update(v.start, |x| x.flags |= VmFlags::MAYBE_GUARD);
        self.zap_range(id, start, end);
        // The markers sit in PTE tables, made where missing.
        let pgd = self.mms[id].pgd;
        let span = pgtable::leaf_span(&self.m.frames);
        let mut at = start;
        while at < end {
            let mut new_tables = 0;
            let table = pgtable::leaf_table_alloc(&mut self.m.frames, pgd, at, &mut new_tables);
            self.mm_mut(id).pgtable_pages += new_tables;
            let next = ((at & !(span - 1)) + span).min(end);
            if table.is_none() {
                // Out of memory for a table: the markers made so far stay.
                return Err(Errno::ENOMEM);
            }
            self.mm_mut(id).guards.extend((at..next).step_by(PAGE_SIZE as usize));
            at = next;
        }
        Ok(())
    }

    /// MADV_GUARD_REMOVE on `[start, end)` of VMA `v`: the markers go, the pages around
    /// them and the VMA's flag stay.
    pub(crate) fn guard_remove(&mut self, id: MmId, v: &Vma, start: u64, end: u64) -> SysResult<()> {
        if v.flags.intersects(VmFlags::SPECIAL | VmFlags::HUGETLB) || v.special.is_some() {
            return Err(Errno::EINVAL);
        }
        let _ = self.mm_mut(id).drop_guards(start, end);
        Ok(())
    }

    /// The markers of `[old, old + len)` move to `new` (mremap moves them with the PTEs).
    pub(crate) fn move_guards(&mut self, id: MmId, old: u64, new: u64, len: u64) {
        let mm = self.mm_mut(id);
        let moved = mm.drop_guards(old, old + len);
        mm.guards.extend(moved.into_iter().map(|va| va - old + new));
    }
}
