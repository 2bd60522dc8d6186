//! What the machine's behaviour so far depended on of its RAM size: a replay that learns the
//! recording machine's RAM only late in a log (at a read of `/proc/meminfo`) asks whether
//! the lines before would have gone the same with it, rather than replaying them again.
//!
//! The size decides four things: mmap's overcommit heuristic (one request against RAM plus
//! swap), the commit limit of overcommit mode 2, when kswapd wakes (the watermarks grow
//! with RAM, free memory with it), and everything reclaim and the OOM killer do. The first
//! is kept as the range of requests it let through and refused; the watermark check as the
//! least free memory it saw; the others as whether they ran at all.

use std::cell::Cell;

/// The record (see the module's text). Cells, as the overcommit check is a read of the
/// machine's state.
#[derive(Clone, Debug, Default)]
pub struct SizeUse {
    /// The largest request (pages) the overcommit heuristic let through.
    heuristic_passed: Cell<u64>,
    /// The smallest request it refused.
    heuristic_refused: Cell<Option<u64>>,
    /// Mode 2 compared a request with the commit limit.
    commit_limit_checked: Cell<bool>,
    /// The least free memory (frames) a kswapd wake-up check saw.
    min_free_seen: Option<u64>,
    /// Reclaim or the OOM killer ran, or kswapd woke.
    pressure: bool,
}

impl SizeUse {
    pub(crate) fn heuristic(&self, pages: u64, passed: bool) {
        if passed {
            self.heuristic_passed.set(self.heuristic_passed.get().max(pages));
        } else {
            self.heuristic_refused.set(Some(self.heuristic_refused.get().map_or(pages, |r| r.min(pages))));
        }
    }

    pub(crate) fn commit_limit(&self) {
        self.commit_limit_checked.set(true);
    }

    pub(crate) fn free_seen(&mut self, free: u64) {
        self.min_free_seen = Some(self.min_free_seen.map_or(free, |m| m.min(free)));
    }

    pub(crate) fn pressure(&mut self) {
        self.pressure = true;
    }

    /// Whether everything so far would have gone the same on a machine with `ram_pages`
    /// frames and `swap_pages` of swap, `extra_free` more free frames than this one (fewer
    /// when negative) and `low` as its low watermark.
    pub fn same_with(&self, ram_pages: u64, swap_pages: u64, extra_free: i64, low: u64) -> bool {
        let total = ram_pages.saturating_add(swap_pages);
        let heuristic = self.heuristic_passed.get() <= total && self.heuristic_refused.get().is_none_or(|r| r > total);
        let wakes = self.min_free_seen.is_some_and(|f| (f as i64).saturating_add(extra_free) < low as i64);
        heuristic && !self.commit_limit_checked.get() && !self.pressure && !wakes
    }
}
