//! Swap-in: `do_swap_page` (mm/memory.c) and the VMA-based swap readahead
//! (`swap_vma_readahead`, mm/swap_state.c).
//!
//! A fault on a swap PTE looks the slot up in the swap cache. Found: a minor fault (a
//! page brought in by readahead counts as a readahead hit). Not found: a major fault,
//! which reads the page and, around it, the pages the readahead window covers into the
//! swap cache (pswpin for each), without mapping them.
//!
//! The window: at most 2^`page-cluster` pages. After a fault at page `p` (a major one,
//! or a minor one that found the page in the swap cache), the next major fault at page
//! `f` reads `hits + 2` pages rounded up to a power of two (at least 4) where `hits`
//! counts readahead pages used since the last major fault (a VMA starts with 4); with no
//! hits, 2 pages if `f` is next to `p`, else 1 (no readahead); never less than half the
//! previous window. It runs
//! forward from `f` when `f == p + 1`, backward when `f == p - 1`, else centred on `f`,
//! clipped to the VMA and the page table of `f`.
//!
//! Mapping the page: the slot loses the PTE's reference (`swap_free`). The page is mapped
//! writable at once if it is exclusive to this process (the swap PTE said so, or nobody
//! else holds the page) and the VMA is writable; a write then also dirties it. A write to
//! a page that is not exclusive goes on to the copy-on-write fault. The page leaves the
//! swap cache at once (its slot freed) when swap is more than half full, the VMA is
//! locked, or a write fault finds nobody else holding the page; otherwise it stays in the
//! swap cache, and its slot keeps the contents in case it goes out again unchanged.

use super::{is_swap_pte, SwapEntry, SwapReadahead};
use crate::flags::VmFlags;
use crate::frame::{Owner, PageFlags, Pfn};
use crate::kernel::{rss_add, Kernel, RssKind};
use crate::layout::*;
use crate::ops::fault::{FaultError, FaultInfo, FaultOutcome, Mapped, RssDelta};
use crate::pages::PageCount;
use crate::pgtable::Pte;
use crate::vma::Vma;

/// Most pages one readahead reads (SWAP_RA_ORDER_CEILING = 5).
const SWAP_RA_ORDER_CEILING: u32 = 5;

/// `__swapin_nr_pages`: the readahead window for a major fault at page `fpn` after one
/// at `prev` with window `prev_win` and `hits` readahead hits since.
fn swapin_nr_pages(prev: u64, fpn: u64, hits: u64, max: u64, prev_win: u64) -> u64 {
    let mut pages = hits + 2;
    if pages == 2 {
        if fpn != prev.wrapping_add(1) && fpn != prev.wrapping_sub(1) {
            pages = 1;
        }
    } else {
        pages = pages.next_power_of_two().max(4);
    }
    pages.min(max).max(prev_win / 2)
}

impl crate::machine::Machine {
    /// Reads slot `e` into a new swap-cache page (`__read_swap_cache_async` then
    /// `swap_read_folio`). `None` when no frame is free.
    pub(crate) fn read_swap_page(&mut self, e: SwapEntry) -> Option<Pfn> {
        let flags = PageFlags::ANON | PageFlags::UPTODATE | PageFlags::SWAPBACKED;
        let pfn = self.alloc_swapin(e, Owner::Anon, flags)?;
        let bytes = self.swap.device(e.swap_type).expect("active device").read(e.offset).to_vec();
        if !bytes.is_empty() {
            self.frames.write(pfn, 0, &bytes);
            // A zero-filled slot (the zeromap) reads without I/O: no pswpin.
            self.swap.pswpin += 1;
        }
        self.swap.mark_cached(&mut self.frames.memcgs, e);
        self.swap.cache_insert(e, pfn);
        self.vmstat.workingset_refault_anon += 1;
        Some(pfn)
    }

    /// `swap_cluster_readahead` before a major fault on slot `e` of a shmem object (shmem
    /// has no VMA to judge by): a window of slots around `e`, aligned to its size, is read
    /// into the swap cache, the window sized by [`swapin_nr_pages`] from the machine-wide
    /// state of the previous such fault. Free slots and slots already in the swap cache
    /// are skipped; the slot of `e` itself is left to the caller.
    pub(crate) fn swap_cluster_readahead(&mut self, e: SwapEntry) {
        let max = 1u64 << self.config.page_cluster.min(SWAP_RA_ORDER_CEILING);
        if max <= 1 {
            return;
        }
        let ra = &mut self.swap.cluster_ra;
        let hits = std::mem::take(&mut ra.hits);
        let win = swapin_nr_pages(ra.prev_vpn, e.offset, hits, max, ra.win);
        if hits == 0 {
            ra.prev_vpn = e.offset;
        }
        ra.win = win;
        let mask = win - 1;
        if mask == 0 {
            return;
        }
        let Some(dev) = self.swap.device(e.swap_type) else { return };
        // The first slot of a device is its header.
        let (lo, hi) = ((e.offset & !mask).max(1), (e.offset | mask).min(dev.max - 1));
        for offset in lo..=hi {
            let re = SwapEntry { offset, ..e };
            if offset == e.offset || self.swap.lookup(re).is_some() || self.swap.count(re) == 0 {
                continue;
            }
            let Some(pfn) = self.read_swap_page(re) else { return };
            self.swap.mark_readahead(pfn);
            self.swap.swap_ra += 1;
        }
    }
}

impl Kernel {
    /// The swap-cache page for `e`, reading it if needed (`read_swap_cache_async`, as
    /// MADV_WILLNEED and swapoff use it). `None` when no frame is free.
    pub(crate) fn swap_cache_page(&mut self, e: SwapEntry) -> Option<Pfn> {
        match self.m.swap.lookup(e) {
            Some(p) => Some(p),
            None => self.m.read_swap_page(e),
        }
    }

    /// `swap_vma_readahead` for a major fault at `va`: reads the faulting page and the
    /// window around it into the swap cache; returns the faulting page.
    fn swap_vma_readahead(&mut self, id: crate::mm_table::MmId, vma: &Vma, va: u64, e: SwapEntry) -> Option<Pfn> {
        let fpn = va >> PAGE_SHIFT;
        let max = 1u64 << self.m.config.page_cluster.min(SWAP_RA_ORDER_CEILING);
        let ra = self.m.swap.ra.get(&(id, vma.start)).copied().unwrap_or_default();
        let win = if max == 1 { 1 } else { swapin_nr_pages(ra.prev_vpn, fpn, ra.hits, max, ra.win) };
        if max > 1 {
            self.m.swap.ra.insert((id, vma.start), SwapReadahead { prev_vpn: fpn, win, hits: 0 });
        }
        if win > 1 {
            let (lo, hi) = if fpn == ra.prev_vpn.wrapping_add(1) {
                (fpn, fpn + win)
            } else if ra.prev_vpn == fpn + 1 {
                (fpn + 1 - win, fpn + 1)
            } else {
                let left = (win - 1) / 2;
                (fpn - left, fpn + win - left)
            };
            let span = crate::pgtable::leaf_span(&self.m.frames);
            let table_lo = (va & !(span - 1)) >> PAGE_SHIFT;
            let lo = lo.max(vma.start >> PAGE_SHIFT).max(table_lo);
            let hi = hi.min(vma.end >> PAGE_SHIFT).min(table_lo + (span >> PAGE_SHIFT));
            for p in lo..hi {
                let a = p << PAGE_SHIFT;
                let Some((re, _)) = SwapEntry::from_pte(self.pte(id, a)) else { continue };
                if self.m.swap.lookup(re).is_some() {
                    continue;
                }
                let Some(pfn) = self.m.read_swap_page(re) else { continue };
                if a != va {
                    self.m.swap.mark_readahead(pfn);
                    self.m.swap.swap_ra += 1;
                }
            }
        }
        self.swap_cache_page(e)
    }

    /// do_swap_page: a fault on the swap PTE `pte`.
    pub(crate) fn do_swap_page(&mut self, f: &FaultInfo, pte: Pte) -> Result<FaultOutcome, FaultError> {
        let (id, vma, va, write) = (f.id, f.vma, f.va, f.write());
        let (e, mut exclusive) = SwapEntry::from_pte(pte).expect("a swap PTE");
        let (pfn, major) = match self.m.swap.lookup(e) {
            Some(pfn) => {
                // swap_update_readahead: the window stays, the fault becomes the previous
                // address, a readahead page used counts as a hit.
                let hit = self.m.swap.take_readahead(pfn);
                if hit {
                    self.m.swap.swap_ra_hit += 1;
                }
                let ra = self.m.swap.ra.entry((id, vma.start)).or_default();
                ra.prev_vpn = va >> PAGE_SHIFT;
                if hit {
                    ra.hits += 1;
                }
                (pfn, false)
            }
            None => (self.swap_vma_readahead(id, vma, va, e).ok_or(FaultError::Oom)?, true),
        };
        let mut new_tables = 0;
        let pgd = self.mms[id].pgd;
        crate::pgtable::leaf_table_alloc(&mut self.m.frames, pgd, va, &mut new_tables).ok_or(FaultError::Oom)?;
        self.mm_mut(id).pgtable_pages += new_tables;
        let left = self.m.swap_put(e);
        let meta = self.m.frames.meta(pfn);
        let locked = vma.flags.contains(VmFlags::LOCKED) || meta.flags.contains(PageFlags::MLOCKED);
        let free_swap = self.m.swap.vm_swap_full() || locked || (write && meta.mapcount == 0);
        if free_swap && left == 0 {
            // folio_free_swap; the page keeps the reference the fault holds.
            self.m.frames.get(pfn);
            self.folio_free_swap(pfn);
        } else {
            self.m.frames.get(pfn);
        }
        let in_cache = self.m.swap.slot_of(pfn).is_some();
        if !exclusive && !in_cache && self.m.frames.meta(pfn).mapcount == 0 {
            exclusive = true;
        }
        let writable = exclusive && vma.flags.contains(VmFlags::WRITE);
        let dirty = writable && write;
        let flags = self.pte_flags_for(vma, writable, dirty);
        self.set_pte(id, va, Pte::new(pfn, flags)).map_err(|_| FaultError::Oom)?;
        let m = self.m.frames.meta_mut(pfn);
        m.mapcount += 1;
        if exclusive {
            m.flags |= PageFlags::ANON_EXCLUSIVE;
        }
        if vma.flags.contains(VmFlags::LOCKED) {
            self.m.mlock_page(pfn);
        }
        let mm = self.mm_mut(id);
        rss_add(mm, RssKind::Anon, 1);
        mm.rss.swap -= PageCount::new(1);
        let mut rss = RssDelta::one(RssKind::Anon);
        rss.swap = -1;
        let swapped_in = FaultOutcome::new(major, Mapped::SwapIn { swap_type: e.swap_type, offset: e.offset }, rss);
        if !write || writable {
            return Ok(swapped_in);
        }
        // A write to a page others may still see: the write-protect fault follows.
        let pte = self.pte(id, va);
        match self.fault_wp(f, pte) {
            Ok(wp) => Ok(swapped_in.followed_by(wp)),
            Err(err) => {
                // The page is back in place even though the copy failed: its event stands.
                for kind in swapped_in.events() {
                    self.m.log(f.pid, f.addr, write, kind);
                }
                Err(err)
            }
        }
    }

    /// MADV_WILLNEED on anonymous memory (`swapin_walk_pmd_entry`): every swapped-out
    /// page of `[start, end)` is read into the swap cache, not mapped.
    pub(crate) fn swapin_range(&mut self, id: crate::mm_table::MmId, start: u64, end: u64) {
        let pgd = self.mms[id].pgd;
        for (base, table) in crate::pgtable::leaf_tables(&self.m.frames, pgd, start, end) {
            let (lo, hi) = (start.max(base), end.min(base + crate::pgtable::leaf_span(&self.m.frames)));
            for va in (lo..hi).step_by(PAGE_SIZE as usize) {
                let pte = Pte(self.m.frames.table(table)[((va - base) >> PAGE_SHIFT) as usize]);
                if !is_swap_pte(pte) {
                    continue;
                }
                let (e, _) = SwapEntry::from_pte(pte).expect("a swap PTE");
                if self.swap_cache_page(e).is_none() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::swapin_nr_pages;

    #[test]
    fn window_grows_with_neighbours_and_hits() {
        // First fault: nothing to judge by.
        assert_eq!(swapin_nr_pages(0, 100, 0, 8, 0), 1);
        // The next page: two.
        assert_eq!(swapin_nr_pages(100, 101, 0, 8, 1), 2);
        // Hits round up to a power of two, at least 4, at most the maximum.
        assert_eq!(swapin_nr_pages(101, 105, 1, 8, 2), 4);
        assert_eq!(swapin_nr_pages(101, 105, 3, 8, 4), 8);
        assert_eq!(swapin_nr_pages(101, 105, 30, 8, 4), 8);
        // Never below half the last window.
        assert_eq!(swapin_nr_pages(0, 500, 0, 8, 8), 4);
    }
}
