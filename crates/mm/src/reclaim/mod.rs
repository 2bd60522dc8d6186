//! Page reclaim: freeing frames when memory runs short (mm/vmscan.c).
//!
//! * [`Kernel::reclaim_for_allocation`] (in [`crate::oom`]) asks [`Kernel::shrink`] for
//!   pages when an allocation failed: direct reclaim for the whole machine
//!   (`try_to_free_pages`) or limit reclaim inside a memory cgroup
//!   (`try_to_free_mem_cgroup_pages`). Both use the same scan.
//! * `watermark`: min/low/high from `min_free_kbytes`, and kswapd, which the fault path
//!   wakes when free memory falls below low.
//! * `rmap`: which PTEs map each frame (one page-table walk per reclaim run).
//! * `shrink`: the LRU scan (`shrink_lruvec`, `shrink_active_list`,
//!   `shrink_inactive_list`, `folio_check_references`).
//! * `evict`: what `shrink_folio_list` does with a page it decided to reclaim.
//! * `observed`: what a replayed trace shows the recording machine's reclaim did to
//!   lazily freed pages, applied to the model.
//!
//! # The LRU lists
//! Each user page is on one list, told by its flags: active or inactive
//! (`PageFlags::ACTIVE`), anon (swap-backed) or file (page cache of regular files and
//! lazily freed anonymous pages); mlocked pages are on the unevictable list. Linux orders
//! each list by when pages entered it. The model keeps no list order: it visits a list's
//! pages in frame order from a clock hand that remembers where the last scan stopped, with
//! Linux's second-chance rules (see `shrink`). *Which* page goes first under pressure
//! therefore differs from Linux (whose order also depends on per-CPU batches and on
//! concurrent faults); docs/reclaim.md lists what is checked against the kernel instead.

mod evict;
mod observed;
mod rmap;
mod shrink;
mod watermark;

pub use observed::LazyFreeFate;
pub use watermark::{default_min_free_kbytes, Watermarks};

use crate::event::{EventKind, ReclaimRun};
use crate::frame::Pfn;
use crate::kernel::Kernel;
use crate::oom::OomScope;

/// Who runs reclaim: the vmstat counters keep kswapd's and direct reclaim's work apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reclaimer {
    /// The kswapd thread, woken below the low watermark.
    Kswapd,
    /// The allocating task itself (global direct reclaim or memcg limit reclaim).
    Direct,
}

/// Reclaim's own state: the clock hands and kswapd's failure count.
#[derive(Clone, Debug, Default)]
pub struct ReclaimState {
    /// Where the next scan of each list starts: [anon, file].
    pub(crate) hands: [Pfn; 2],
    /// kswapd runs in a row that freed nothing (`kswapd_failures`); at
    /// [`MAX_RECLAIM_RETRIES`] kswapd is no longer woken until reclaim frees a page again.
    pub kswapd_failures: u32,
}

/// Failed kswapd runs after which it stays asleep (MAX_RECLAIM_RETRIES).
pub const MAX_RECLAIM_RETRIES: u32 = 16;

impl Kernel {
    /// Reclaims at least `nr_pages` (a batch of SWAP_CLUSTER_MAX at least) from `scope` for
    /// an allocation that failed; returns how many frames were freed.
    pub(crate) fn direct_reclaim(&mut self, scope: OomScope, nr_pages: u64) -> u64 {
        self.m.size_use.pressure();
        self.m.vmstat.allocstall += u64::from(scope == OomScope::Global);
        let want = nr_pages.max(crate::clean_cache::SWAP_CLUSTER_MAX);
        let (scanned, mut freed) = self.shrink(scope, want, Reclaimer::Direct);
        if freed < want {
            freed += self.drop_clean_cache(scope, want - freed);
        }
        let run = match scope {
            OomScope::Global => ReclaimRun::Direct,
            OomScope::Memcg(g) => ReclaimRun::Memcg(g),
        };
        if scanned + freed > 0 {
            self.m.log(0, 0, false, EventKind::Reclaim { run, scanned, freed });
        }
        freed
    }

    /// Writes `vm.swappiness`: 0 to 200, else EINVAL.
    pub fn set_swappiness(&mut self, value: u32) -> abi::SysResult<()> {
        if value > 200 {
            return Err(abi::Errno::EINVAL);
        }
        self.m.config.swappiness = value;
        Ok(())
    }

    /// `vm.min_free_kbytes`: the value written, or the boot default for this RAM.
    pub fn min_free_kbytes(&self) -> u64 {
        let ram_kb = self.m.frames.total_frames() << (crate::layout::PAGE_SHIFT - 10);
        self.m.config.min_free_kbytes.unwrap_or_else(|| default_min_free_kbytes(ram_kb))
    }

    /// Writes `vm.min_free_kbytes` (at most 2^31 − 1, an int, else EINVAL); the watermarks
    /// follow at once.
    pub fn set_min_free_kbytes(&mut self, kbytes: u64) -> abi::SysResult<()> {
        if kbytes > i32::MAX as u64 {
            return Err(abi::Errno::EINVAL);
        }
        self.m.config.min_free_kbytes = Some(kbytes);
        // New watermarks give kswapd another chance.
        self.m.reclaim.kswapd_failures = 0;
        Ok(())
    }

    /// `echo MODE > /proc/sys/vm/drop_caches`: 1 and 3 drop every clean page-cache page
    /// that nothing maps (2 drops only slab objects, which hold no page the model drops);
    /// dirty, mapped and shmem pages stay. Returns the pages dropped; EINVAL for a mode
    /// outside 1..=4 (4 only silences the kernel's log line).
    pub fn drop_caches(&mut self, mode: u32) -> abi::SysResult<u64> {
        if !(1..=4).contains(&mode) {
            return Err(abi::Errno::EINVAL);
        }
        self.m.vmstat.drop_pagecache += u64::from(mode & 1);
        self.m.vmstat.drop_slab += u64::from(mode & 2 != 0);
        if mode & 1 == 0 {
            return Ok(0);
        }
        Ok(self.drop_clean_cache(OomScope::Global, u64::MAX))
    }
}
