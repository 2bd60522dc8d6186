//! Swap-cache membership set from outside: what a recording machine did to the swap cache
//! at moments a trace of one program cannot show, for a replay to follow once a read
//! (mincore) shows it. Whether a page just written out is still in the swap cache when the
//! next call looks depends on when its write completed; other processes' reclaim frees
//! clean unmapped swap-cache pages; readahead windows depend on the device's and the
//! VMA's history before the trace. The replay binds such a page's state when mincore first
//! shows it.

use super::SwapEntry;
use crate::frame::PageFlags;
use crate::kernel::{Kernel, Pid};

impl Kernel {
    /// For a swap PTE at `va` of `pid`: whether its slot's page is in the swap cache.
    /// `None` where `va` holds no swap PTE.
    pub fn swap_cached_at(&self, pid: Pid, va: u64) -> Option<bool> {
        let id = self.mm_id(pid).ok()?;
        let (e, _) = SwapEntry::from_pte(self.pte(id, va))?;
        Some(self.m.swap.lookup(e).is_some())
    }

    /// Puts the page of the swap PTE at `va` of `pid` into the swap cache (read from its
    /// slot as readahead reads it) or takes it out (a clean page no PTE maps, freed as
    /// reclaim frees it). True when the page's state is then `cached`.
    pub fn set_swap_cached_at(&mut self, pid: Pid, va: u64, cached: bool) -> bool {
        let Ok(id) = self.mm_id(pid) else { return false };
        let Some((e, _)) = SwapEntry::from_pte(self.pte(id, va)) else { return false };
        match (self.m.swap.lookup(e), cached) {
            (Some(_), true) | (None, false) => true,
            (None, true) => match self.swap_cache_page(e) {
                Some(pfn) => {
                    self.m.swap.mark_readahead(pfn);
                    true
                }
                None => false,
            },
            (Some(pfn), false) => {
                let meta = self.m.frames.meta(pfn);
                if meta.mapcount > 0 || meta.flags.contains(PageFlags::DIRTY) {
                    return false;
                }
                self.m.swap.take_readahead(pfn);
                self.m.swap_cache_remove(pfn);
                self.m.frames.put(pfn);
                true
            }
        }
    }
}
