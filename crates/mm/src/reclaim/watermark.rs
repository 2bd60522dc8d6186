//! Watermarks and kswapd (mm/page_alloc.c `__setup_per_zone_wmarks`, mm/vmscan.c
//! `kswapd`).
//!
//! `min_free_kbytes` defaults to √(16 × RAM in KiB), kept within 128 KiB..256 MiB
//! (`calculate_min_free_kbytes`). The model has one zone: its min watermark is that many
//! pages; low and high add max(min/4, RAM × watermark_scale_factor / 10000) each (the
//! factor's default is 10). kswapd wakes when a fault leaves free memory below low and
//! reclaims until it is above high; the model runs it right after that fault,
//! synchronously, where Linux's thread would run concurrently with the faulting task.

use super::{Reclaimer, MAX_RECLAIM_RETRIES};
use crate::event::{EventKind, ReclaimRun};
use crate::kernel::Kernel;
use crate::layout::PAGE_SHIFT;
use crate::oom::OomScope;

/// The watermarks of the machine's one zone, in pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watermarks {
    /// WMARK_MIN.
    pub min: u64,
    /// WMARK_LOW: kswapd wakes below it.
    pub low: u64,
    /// WMARK_HIGH: kswapd goes back to sleep above it.
    pub high: u64,
}

impl Watermarks {
    /// The watermarks of a zone of `total` frames with `min_free_kbytes` set to
    /// `min_free_kb`.
    pub fn of(total: u64, min_free_kb: u64) -> Watermarks {
        let min = min_free_kb >> (PAGE_SHIFT - 10);
        let step = (min / 4).max(total * 10 / 10_000);
        Watermarks { min, low: min + step, high: min + 2 * step }
    }
}

/// The boot default of `min_free_kbytes` for `ram_kb` KiB of RAM.
pub fn default_min_free_kbytes(ram_kb: u64) -> u64 {
    int_sqrt(ram_kb.saturating_mul(16)).clamp(128, 262_144)
}

/// ⌊√x⌋ (`u64::isqrt` is newer than the crate's minimum Rust).
fn int_sqrt(x: u64) -> u64 {
    let mut r = (x as f64).sqrt() as u64;
    while !matches!(r.checked_mul(r), Some(sq) if sq <= x) {
        r -= 1;
    }
    while (r + 1).checked_mul(r + 1).is_some_and(|sq| sq <= x) {
        r += 1;
    }
    r
}

impl Kernel {
    /// The watermarks from `min_free_kbytes` (the setting, or the boot default).
    pub fn watermarks(&self) -> Watermarks {
        Watermarks::of(self.m.frames.total_frames(), self.min_free_kbytes())
    }

    /// Whether everything the machine did so far would have gone the same with `ram_bytes`
    /// of RAM (see [`crate::size_use`]): the overcommit decisions, and no kswapd, reclaim or
    /// OOM killer on either machine.
    pub fn would_go_the_same_with_ram(&self, ram_bytes: u64) -> bool {
        let pages = ram_bytes >> PAGE_SHIFT;
        let min_free_kb = self.m.config.min_free_kbytes.unwrap_or_else(|| default_min_free_kbytes(ram_bytes >> 10));
        let low = Watermarks::of(pages, min_free_kb).low;
        let extra_free = pages as i64 - self.m.frames.total_frames() as i64;
        self.m.size_use.same_with(pages, self.total_swap_pages(), extra_free, low)
    }

    /// Wakes kswapd if free memory is below the low watermark (and kswapd has not given
    /// up); it reclaims until free memory is above high or a pass frees nothing.
    pub(crate) fn wakeup_kswapd(&mut self) {
        let w = self.watermarks();
        let free = self.m.frames.free_frames();
        self.m.size_use.free_seen(free);
        if free >= w.low || self.m.reclaim.kswapd_failures >= MAX_RECLAIM_RETRIES {
            return;
        }
        self.m.size_use.pressure();
        self.m.vmstat.pageoutrun += 1;
        let (mut scanned, mut freed) = (0, 0);
        while self.m.frames.free_frames() < w.high {
            let want = w.high - self.m.frames.free_frames();
            let (s, f) = self.shrink(OomScope::Global, want, Reclaimer::Kswapd);
            scanned += s;
            freed += f;
            if f == 0 {
                break;
            }
        }
        if freed == 0 {
            self.m.reclaim.kswapd_failures += 1;
        }
        // A run that found no page on the lists to look at says nothing.
        if scanned > 0 {
            self.m.log(0, 0, false, EventKind::Reclaim { run: ReclaimRun::Kswapd, scanned, freed });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_free_kbytes_follows_the_square_root_rule() {
        assert_eq!(default_min_free_kbytes(16 << 10), 512);
        assert_eq!(default_min_free_kbytes(4 << 20), 8192);
        assert_eq!(default_min_free_kbytes(1024), 128);
        assert_eq!(default_min_free_kbytes(1 << 40), 262_144);
    }
}
