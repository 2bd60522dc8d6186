//! Swap-out: what `shrink_folio_list` does with an anonymous page (mm/vmscan.c).
//!
//! 1. `add_to_swap`: a page not yet in the swap cache gets a slot
//!    (`folio_alloc_swap`) and enters the swap cache, marked dirty (its contents are
//!    not on the device yet). No free slot: the page cannot go and is kept.
//! 2. `try_to_unmap`: each PTE mapping the page becomes a swap PTE naming the slot
//!    (the slot's count grows by one per PTE), carrying `_PAGE_SWP_EXCLUSIVE` if the page
//!    was exclusive to that mapping; a dirty PTE dirties the page. RSS moves from
//!    MM_ANONPAGES to MM_SWAPENTS.
//! 3. `pageout`: a dirty page is written to its slot (pswpout), unless it holds only
//!    zeros: that one is only marked zero-filled (the device's zeromap, 6.12 on), the
//!    write done at once without I/O, and step 4 follows. A real write is
//!    asynchronous in Linux: the page stays in the swap cache until reclaim meets it
//!    again, clean. That is what MADV_PAGEOUT leaves behind on a machine without memory
//!    pressure (measured on 6.18: right after MADV_PAGEOUT the pages are swap PTEs,
//!    mincore says resident, and touching them is a minor fault). Reclaim under pressure
//!    wants the frame now, so it treats the write as finished and goes on to step 4.
//! 4. A clean swap-cache page that nothing maps any more is dropped from the swap cache
//!    and freed (`__remove_mapping`); its slot keeps the contents.

use super::SwapEntry;
use crate::event::EventKind;
use crate::frame::{Owner, PageFlags, Pfn};
use crate::kernel::{rss_add, Kernel, RssKind};
use crate::pages::PageCount;

/// What happened to a page reclaim tried to swap out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwapOutResult {
    /// No swap slot: the page stays where it was.
    NoSwap,
    /// Unmapped and written; it stays in the swap cache (writeback not finished).
    Written,
    /// Unmapped, written if needed, and its frame freed.
    Freed,
}

impl Kernel {
    /// Swaps out the anonymous page `pfn`, mapped at `va` in address space `id` and
    /// nowhere else (the case MADV_PAGEOUT handles; reclaim calls it once per mapping).
    /// `free_now`: finish the write at once and free the frame (reclaim), rather than
    /// leave it in the swap cache under writeback (MADV_PAGEOUT).
    pub(crate) fn swap_out_page(
        &mut self,
        id: crate::mm_table::MmId,
        va: u64,
        pfn: Pfn,
        free_now: bool,
    ) -> SwapOutResult {
        debug_assert_eq!(self.m.frames.meta(pfn).owner, Owner::Anon);
        let pid = self.task_of_mm(id).map_or(0, |t| t.pid);
        let e = match self.m.swap.slot_of(pfn) {
            Some(e) => e,
            None => {
                let Some(e) = self.m.swap_alloc(pfn) else { return SwapOutResult::NoSwap };
                self.m.swap.cache_insert(e, pfn);
                self.m.frames.get(pfn);
                self.m.frames.meta_mut(pfn).flags |= PageFlags::DIRTY;
                self.m.log(pid, va, false, EventKind::AddToSwap { swap_type: e.swap_type, offset: e.offset });
                e
            }
        };
        self.unmap_to_swap(id, va, pfn, e);
        self.finish_swap_out(pid, va, pfn, e, free_now)
    }

    /// try_to_unmap_one for one PTE: `va` in `id` maps `pfn`, whose slot is `e`.
    pub(crate) fn unmap_to_swap(&mut self, id: crate::mm_table::MmId, va: u64, pfn: Pfn, e: SwapEntry) {
        let pte = self.pte(id, va);
        debug_assert!(pte.mapped() && pte.pfn() == pfn);
        let meta = self.m.frames.meta(pfn);
        let exclusive = meta.flags.contains(PageFlags::ANON_EXCLUSIVE);
        if pte.dirty() {
            self.m.frames.meta_mut(pfn).flags |= PageFlags::DIRTY;
        }
        let vma_locked =
            self.mms[id].vmas.containing(va).is_some_and(|v| v.flags.contains(crate::flags::VmFlags::LOCKED));
        if vma_locked {
            self.m.munlock_page(pfn);
        }
        self.set_pte(id, va, e.to_pte(exclusive)).expect("the PTE's table exists");
        let m = self.m.frames.meta_mut(pfn);
        m.mapcount -= 1;
        m.flags -= PageFlags::ANON_EXCLUSIVE;
        self.m.frames.put(pfn);
        self.m.swap.dup(e);
        let mm = self.mm_mut(id);
        rss_add(mm, RssKind::Anon, -1);
        mm.rss.swap += PageCount::new(1);
    }

    /// pageout and the end of shrink_folio_list for a swap-cache page just unmapped.
    pub(crate) fn finish_swap_out(
        &mut self,
        pid: u32,
        va: u64,
        pfn: Pfn,
        e: SwapEntry,
        free_now: bool,
    ) -> SwapOutResult {
        let dirty = self.m.frames.meta(pfn).flags.contains(PageFlags::DIRTY);
        if dirty {
            // The frame's stored prefix is the page: the rest reads as zero, which the slot
            // does not keep anyway.
            let page = self.m.frames.stored(pfn);
            let zero_filled = page.iter().all(|&b| b == 0);
            self.m.swap.devices[e.swap_type as usize].as_mut().expect("active device").write(e.offset, page);
            self.m.frames.meta_mut(pfn).flags -= PageFlags::DIRTY;
            // swap_writeout only marks a zero-filled page in the device's zeromap: no I/O
            // (no pswpout), no writeback, so reclaim goes on to free the clean page at once
            // (measured on 6.18: right after MADV_PAGEOUT, a page of zeros is a swap PTE
            // and mincore says not resident, where a page with one byte set stays in the
            // swap cache under writeback).
            if !zero_filled {
                self.m.swap.pswpout += 1;
                self.m.log(pid, va, false, EventKind::SwapWrite { swap_type: e.swap_type, offset: e.offset });
                if !free_now {
                    // Writeback runs on; the page waits in the swap cache, at the tail of
                    // the inactive list (folio_rotate_reclaimable).
                    self.m.frames.meta_mut(pfn).flags -= PageFlags::ACTIVE | PageFlags::REFERENCED;
                    return SwapOutResult::Written;
                }
            }
        }
        if self.m.frames.meta(pfn).mapcount > 0 {
            return SwapOutResult::Written;
        }
        self.m.swap_cache_remove(pfn);
        self.m.frames.put(pfn);
        self.m.log(pid, va, false, EventKind::SwapCacheFreed { swap_type: e.swap_type, offset: e.offset });
        SwapOutResult::Freed
    }

    /// `__try_to_reclaim_swap` after the last swap PTE naming `e` went: its swap-cache
    /// page leaves the cache if nothing maps it (then it is freed) or if swap is more than
    /// half full (then it stays mapped, dirty, and the slot is freed).
    pub(crate) fn try_to_reclaim_swap(&mut self, e: SwapEntry) {
        let Some(pfn) = self.m.swap.lookup(e) else { return };
        if self.m.swap.count(e) != 0 {
            return;
        }
        let mapped = self.m.frames.meta(pfn).mapcount > 0;
        if !mapped || self.m.swap.vm_swap_full() {
            self.folio_free_swap(pfn);
        }
    }

    /// `free_swap_cache`, as zap frees the pages it unmapped: a swap-cache page now mapped
    /// nowhere, whose slot no swap PTE names, leaves the swap cache and is freed.
    pub(crate) fn free_swap_cache(&mut self, pfn: Pfn) {
        let Some(e) = self.m.swap.slot_of(pfn) else { return };
        if self.m.frames.meta(pfn).mapcount == 0 {
            self.m.frames.meta_mut(pfn).flags -= PageFlags::ANON_EXCLUSIVE;
            if self.m.swap.count(e) == 0 {
                self.folio_free_swap(pfn);
            }
        }
    }

    /// `folio_free_swap`: takes `pfn` out of the swap cache, dirty (its slot no longer
    /// backs it), and drops the cache's reference (freeing an unmapped page).
    pub(crate) fn folio_free_swap(&mut self, pfn: Pfn) {
        self.m.swap_cache_remove(pfn);
        self.m.frames.meta_mut(pfn).flags |= PageFlags::DIRTY;
        self.m.frames.put(pfn);
    }

    /// Clears every swap PTE of `[start, end)` in `id`, as MADV_FREE does
    /// (madvise_free_pte_range): each slot loses the reference.
    pub(crate) fn drop_swap_ptes(&mut self, id: crate::mm_table::MmId, start: u64, end: u64) {
        let pgd = self.mms[id].pgd;
        for (base, table) in crate::pgtable::leaf_tables(&self.m.frames, pgd, start, end) {
            let (lo, hi) = (start.max(base), end.min(base + crate::pgtable::leaf_span(&self.m.frames)));
            for va in (lo..hi).step_by(crate::layout::PAGE_SIZE as usize) {
                let i = ((va - base) >> crate::layout::PAGE_SHIFT) as usize;
                let pte = crate::pgtable::Pte(self.m.frames.table(table)[i]);
                if let Some((e, _)) = SwapEntry::from_pte(pte) {
                    self.m.frames.table_mut(table)[i] = 0;
                    self.zap_swap_pte(id, e);
                }
            }
        }
    }

    /// zap of one swap PTE (`free_swap_and_cache`): the slot loses a reference, and when
    /// none is left the swap-cache page goes too if nothing maps it.
    pub(crate) fn zap_swap_pte(&mut self, id: crate::mm_table::MmId, e: SwapEntry) {
        self.mm_mut(id).rss.swap -= PageCount::new(1);
        if self.m.swap_put(e) == 0 {
            self.try_to_reclaim_swap(e);
        }
    }
}
