//! `/proc/buddyinfo` and the essentials of `/proc/zoneinfo` (mm/vmstat.c): each zone's free
//! blocks per order, and its free, spanned, present and managed page counts.
//!
//! zoneinfo here is a subset: per zone the `pages free`, `spanned`, `present`, `managed` and
//! `start_pfn` lines, in Linux's format and order; the watermarks, per-node counters and
//! per-CPU pagesets are left out (the model has no watermarks or per-CPU lists).

use mm::Kernel;
use std::fmt::Write;

/// `/proc/buddyinfo`: one line per populated zone, the number of free blocks of each order.
pub fn buddyinfo(k: &Kernel) -> String {
    let mut s = String::new();
    for z in k.kalloc().zones.iter().filter(|z| z.spanned() > 0) {
        let _ = write!(s, "Node 0, zone {:>8} ", z.kind.name());
        for n in k.machine().frames.free_blocks_in(z.start_pfn, z.end_pfn) {
            let _ = write!(s, "{n:>6} ");
        }
        s.push('\n');
    }
    s
}

/// Free pages of each zone.
pub fn zone_free_pages(k: &Kernel) -> Vec<(&'static str, u64)> {
    k.kalloc()
        .zones
        .iter()
        .map(|z| {
            let blocks = k.machine().frames.free_blocks_in(z.start_pfn, z.end_pfn);
            (z.kind.name(), blocks.iter().enumerate().map(|(o, n)| n << o).sum())
        })
        .collect()
}

/// The essentials of `/proc/zoneinfo` (see the module documentation).
pub fn zoneinfo(k: &Kernel) -> String {
    let mut s = String::new();
    let free = zone_free_pages(k);
    for (z, (_, free)) in k.kalloc().zones.iter().zip(free) {
        // Frames never handed out (pfn 0 and the zero page) are not managed.
        let reserved = mm::frame::Pfn::range(z.start_pfn, z.end_pfn.min(mm::frame::Pfn::new(2))).count() as u64;
        let _ = write!(s, "Node 0, zone {:>8}", z.kind.name());
        let _ = write!(s, "\n  pages free     {free}");
        let _ = write!(s, "\n        spanned  {}", z.spanned());
        let _ = write!(s, "\n        present  {}", z.spanned());
        let _ = write!(s, "\n        managed  {}", z.spanned() - reserved);
        let _ = writeln!(s, "\n  start_pfn:           {}", z.start_pfn.as_u64());
    }
    s
}
