//! What another machine was seen doing to lazily freed pages: the page states a replayed
//! trace's `/proc` reads show, applied to the model.
//!
//! MADV_FREE does not make a page lazily free at once: the page waits in a per-CPU batch
//! until something drains that CPU's batches (a munmap or exit on that CPU, reclaim, a full
//! batch), and only then is it taken off the swap-backed list. Once moved, a clean page is
//! the kernel's to discard whenever reclaim runs (kswapd, or a proactive reclaimer such as
//! DAMON's `pageout` scheme), or reclaim may find it busy and make it swap-backed again.
//! Which CPU a task ran on and what else ran there are not in a trace of system calls, so
//! the model takes every move as done at once, and a replay learns otherwise from the first
//! read that shows it (the smaps `Rss`, `LazyFree` and `Referenced` of the mapping) and
//! carries the pages' states on from there, as the recording machine did.
//!
//! A page still waiting in that batch is off the LRU and the batch holds a reference to it.
//! When strace reads it to print a buffer after a fork left it shared (a read pin, which
//! unshares a page no longer exclusive), the kernel on strace's CPU cannot drain the other
//! CPU's batch, sees the extra reference, and gives the process a copy (dirty on 6.18.44)
//! instead of keeping the page (measured: a page shared by a fork, then MADV_FREE'd, then
//! printed by strace, reads Private_Dirty afterwards, 3 of 3 runs; without the fork it stays
//! clean). The batch drains when the process that freed the page drains its CPU's batches
//! (MADV_COLD, MADV_PAGEOUT, another MADV_FREE, a populate, mlock: see
//! [`Kernel::lru_add_drain_of`]); the page is then lazily free. A child's exit drains the
//! child's CPU, which need not be the one (measured: the page stays waiting after a child
//! that freed 400 pages exits, 4 of 4 under strace).
//!
//! The accessed bits of pages are cleared, too, by what no trace shows: DAMON's monitoring
//! samples pages by clearing them, and idle page tracking and reclaim's aging do as well. A
//! read showing a page unreferenced that the model has referenced is applied as such an
//! aging ([`Kernel::observe_aged`]).

use crate::frame::{Owner, PageFlags};
use crate::kernel::Kernel;
use crate::Pid;
use abi::{Errno, SysResult};

/// A state the recording machine was seen to give an anonymous page MADV_FREE had freed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LazyFreeFate {
    /// Lazily free and clean, then freed: every PTE cleared (shrink_folio_list's discard).
    Discarded,
    /// Still swap-backed: its move to the lazy-free list still waiting in a per-CPU batch
    /// (taken as the reason when it is clean: the batch's reference then keeps a tracer's
    /// read pin from reusing the page, see [`PageFlags::LAZYFREE_BATCHED`]), or undone by
    /// reclaim that found it busy; or never made, when it is dirty: MADV_FREE passes over a
    /// dirty page whose folio lock someone else holds at that moment.
    SwapBacked {
        /// Whether the read shows the page referenced (PG_referenced, which the move would
        /// have cleared).
        referenced: bool,
        /// Whether the read shows the page dirty: MADV_FREE passed over it.
        dirty: bool,
    },
    /// Moved to the lazy-free list since (the batch drained): a page an earlier read showed
    /// [`LazyFreeFate::SwapBacked`] becomes lazily free as MADV_FREE left it.
    Moved,
}

impl Kernel {
    /// The addresses of `pid`'s anonymous pages in `start..end` that smaps counts as
    /// LazyFree when `lazy` (not swap-backed, clean in the page and every PTE), or that
    /// could still be moved there when not (swap-backed, clean, not in the swap cache, not
    /// mlocked), in address order.
    pub fn lazyfree_pages(&self, pid: Pid, start: u64, end: u64, lazy: bool) -> SysResult<Vec<u64>> {
        let id = self.mm_id(pid)?;
        let zero = self.m.frames.zero_pfn();
        let mut out = Vec::new();
        for slot in crate::pgtable::mapped_ptes(&self.m.frames, self.mms[id].pgd, start, end) {
            let pfn = slot.pte.pfn();
            if pfn == zero {
                continue;
            }
            let meta = self.m.frames.meta(pfn);
            let clean = !meta.flags.contains(PageFlags::DIRTY) && !slot.pte.dirty();
            let state = if lazy {
                !meta.flags.contains(PageFlags::SWAPBACKED)
            } else {
                meta.flags.contains(PageFlags::SWAPBACKED)
                    && !meta.flags.contains(PageFlags::MLOCKED)
                    && self.m.swap.slot_of(pfn).is_none()
            };
            if meta.owner == Owner::Anon && clean && state {
                out.push(slot.va);
            }
        }
        Ok(out)
    }

    /// Gives the page `pid` maps at `va` the state `fate`: it must be one of
    /// [`Kernel::lazyfree_pages`] (lazily free for `Discarded` and `SwapBacked`, movable for
    /// `Moved`); EINVAL otherwise.
    pub fn observe_lazyfree(&mut self, pid: Pid, va: u64, fate: LazyFreeFate) -> SysResult<()> {
        let lazy = fate != LazyFreeFate::Moved;
        if !self.lazyfree_pages(pid, va, va.saturating_add(4096), lazy)?.contains(&va) {
            return Err(Errno::EINVAL);
        }
        let id = self.mm_id(pid)?;
        let pfn = self.pte(id, va).pfn();
        match fate {
            LazyFreeFate::Discarded => {
                // Clean (checked above), so the model's reclaim frees it as Linux did.
                let rmap = self.build_rmap();
                let maps = self.live_maps(pfn, rmap.get(pfn));
                let freed = self.shrink_folio(pfn, &maps);
                debug_assert!(freed);
            }
            LazyFreeFate::SwapBacked { referenced, dirty } => {
                let meta = self.m.frames.meta_mut(pfn);
                meta.flags |= PageFlags::SWAPBACKED;
                if referenced {
                    meta.flags |= PageFlags::REFERENCED;
                }
                if dirty {
                    meta.flags |= PageFlags::DIRTY;
                } else {
                    meta.flags |= PageFlags::LAZYFREE_BATCHED;
                    self.m.lazyfree_batched.insert(pfn, id);
                }
                // The move was not counted where it did not happen.
                self.m.vmstat.pglazyfree = self.m.vmstat.pglazyfree.saturating_sub(1);
            }
            LazyFreeFate::Moved => self.folio_mark_lazyfree(pfn),
        }
        Ok(())
    }

    /// `pid`'s page at `va` was seen unreferenced: its PTE's accessed bit and the page's
    /// PG_referenced cleared, as an aging the trace does not show would (DAMON's
    /// `folio_mkold`). EINVAL where no page is mapped there.
    pub fn observe_aged(&mut self, pid: Pid, va: u64) -> SysResult<()> {
        let id = self.mm_id(pid)?;
        let pte = self.pte(id, va);
        if !pte.mapped() || pte.pfn() == self.m.frames.zero_pfn() {
            return Err(Errno::EINVAL);
        }
        if pte.flags().contains(crate::pgtable::PteFlags::ACCESSED) {
            self.set_pte(id, va, pte.without(crate::pgtable::PteFlags::ACCESSED)).map_err(|_| Errno::ENOMEM)?;
        }
        self.m.frames.meta_mut(pte.pfn()).flags -= PageFlags::REFERENCED;
        Ok(())
    }

    /// `pid`'s page at `va` was seen referenced where the model had made it old: its PTE's
    /// accessed bit set again, as if the MADV_COLD that cleared it had skipped the page (it
    /// does so to a page not yet on an LRU list). EINVAL where no page is mapped there.
    pub fn observe_referenced(&mut self, pid: Pid, va: u64) -> SysResult<()> {
        let id = self.mm_id(pid)?;
        let pte = self.pte(id, va);
        if !pte.mapped() || pte.pfn() == self.m.frames.zero_pfn() {
            return Err(Errno::EINVAL);
        }
        self.set_pte(id, va, pte.with(crate::pgtable::PteFlags::ACCESSED)).map_err(|_| Errno::ENOMEM)
    }

    /// `pid`'s page at `va` was, on the recording machine, in another CPU's `lru_add`
    /// batch (faulted in there shortly before, not on an LRU list yet) when the next
    /// madvise ran: a MADV_PAGEOUT or MADV_COLD leaves it as it is (measured on 6.18: a
    /// page faulted in on one CPU and paged out from another stays resident). Holds for the
    /// next madvise call only. EINVAL where no page but the zero page is mapped there.
    pub fn observe_batched_elsewhere(&mut self, pid: Pid, va: u64) -> SysResult<()> {
        let pfn = self.page_mapped_at(pid, va)?;
        self.m.batched_elsewhere.insert(pfn);
        Ok(())
    }

    /// The page (not the zero page) `pid` maps at `va`; EINVAL where there is none.
    fn page_mapped_at(&self, pid: Pid, va: u64) -> SysResult<crate::frame::Pfn> {
        let pte = self.pte(self.mm_id(pid)?, va);
        if !pte.mapped() || pte.pfn() == self.m.frames.zero_pfn() {
            return Err(Errno::EINVAL);
        }
        Ok(pte.pfn())
    }

    /// `pid`'s page at `va` was, on the recording machine, held by another CPU's activate
    /// batch when the next madvise ran: queued for activation by a second access made on
    /// that CPU (the tracer reading the page, say), still on its LRU list but with the
    /// batch's reference (6.18 takes the LRU flag only when the batch drains). A
    /// MADV_PAGEOUT isolates and unmaps it, and then cannot free it: a clean page stays in
    /// the page cache, unmapped. Holds for the next madvise call only. EINVAL where no page
    /// but the zero page is mapped there.
    pub fn observe_held_elsewhere(&mut self, pid: Pid, va: u64) -> SysResult<()> {
        let pfn = self.page_mapped_at(pid, va)?;
        self.m.held_elsewhere.insert(pfn);
        Ok(())
    }
}
