//! Memory zones: the ranges of physical memory the page allocator keeps apart
//! (mm/page_alloc.c, `free_area_init`), and which of them an allocation may use.
//!
//! x86-64: `DMA` is the first 16 MiB (ISA DMA), `DMA32` the rest below 4 GiB, `Normal`
//! everything above. i386: `DMA` the first 16 MiB, `Normal` the rest of lowmem (below
//! `max_low_pfn`), `HighMem` the RAM beyond, which the kernel reaches only through `kmap`.
//!
//! Each zone has its own buddy free lists (one [`crate::frame::BuddyAllocator`] whose blocks
//! never straddle a zone boundary, see `set_zone_boundaries`). An allocation walks its
//! zonelist from the highest zone its GFP flags allow down to `DMA` and takes the first zone
//! with a free block of the order: `GFP_KERNEL` starts at `Normal`, a highmem-capable
//! allocation (user pages on i386, vmalloc's pages) at `HighMem`.

use super::layout::{KernelArch, KernelLayout};
use crate::frame::Pfn;

/// 16 MiB: the end of `ZONE_DMA` in frames.
pub const MAX_DMA_PFN: Pfn = Pfn::new((16 << 20) >> 12);
/// 4 GiB: the end of `ZONE_DMA32` in frames.
pub const MAX_DMA32_PFN: Pfn = Pfn::new((4 << 30) >> 12);

/// A zone type (`enum zone_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ZoneKind {
    /// `ZONE_DMA`.
    Dma,
    /// `ZONE_DMA32` (x86-64).
    Dma32,
    /// `ZONE_NORMAL`.
    Normal,
    /// `ZONE_HIGHMEM` (i386).
    HighMem,
    /// `ZONE_MOVABLE` (always empty here; listed by zoneinfo).
    Movable,
}

impl ZoneKind {
    /// The name `/proc/buddyinfo` and `/proc/zoneinfo` print.
    pub fn name(self) -> &'static str {
        match self {
            ZoneKind::Dma => "DMA",
            ZoneKind::Dma32 => "DMA32",
            ZoneKind::Normal => "Normal",
            ZoneKind::HighMem => "HighMem",
            ZoneKind::Movable => "Movable",
        }
    }
}

/// One zone: `[start_pfn, end_pfn)`, possibly empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Zone {
    /// Its type.
    pub kind: ZoneKind,
    /// First frame.
    pub start_pfn: Pfn,
    /// One past the last frame.
    pub end_pfn: Pfn,
}

impl Zone {
    /// Frames spanned.
    pub fn spanned(&self) -> u64 {
        self.end_pfn.frames_from(self.start_pfn)
    }

    /// Whether `pfn` lies in the zone.
    pub fn contains(&self, pfn: Pfn) -> bool {
        (self.start_pfn..self.end_pfn).contains(&pfn)
    }
}

/// What an allocation may use, from its GFP flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gfp {
    /// `GFP_KERNEL`: lowmem with a permanent kernel address (`Normal` down to `DMA`).
    Kernel,
    /// `GFP_KERNEL | __GFP_HIGHMEM` (vmalloc's pages, `GFP_HIGHUSER`): highmem first.
    HighUser,
    /// `GFP_DMA`: only `ZONE_DMA`.
    Dma,
}

/// The zones of a machine, in `enum zone_type` order (empty ones included).
pub fn zones_for(layout: &KernelLayout, total_frames: u64) -> Vec<Zone> {
    let total_frames = Pfn::new(total_frames);
    let dma_end = total_frames.min(MAX_DMA_PFN);
    // The BIOS keeps the first page, so ZONE_DMA starts at pfn 1 (zoneinfo: spanned 4095).
    let mut zones = vec![Zone { kind: ZoneKind::Dma, start_pfn: Pfn::new(1).min(dma_end), end_pfn: dma_end }];
    match layout.arch {
        KernelArch::X86_64 => {
            let dma32_end = total_frames.min(MAX_DMA32_PFN).max(dma_end);
            zones.push(Zone { kind: ZoneKind::Dma32, start_pfn: dma_end, end_pfn: dma32_end });
            zones.push(Zone { kind: ZoneKind::Normal, start_pfn: dma32_end, end_pfn: total_frames.max(dma32_end) });
        }
        KernelArch::I386 | KernelArch::I386Pae => {
            let low_end = layout.max_low_pfn.max(dma_end);
            zones.push(Zone { kind: ZoneKind::Normal, start_pfn: dma_end, end_pfn: low_end });
            zones.push(Zone { kind: ZoneKind::HighMem, start_pfn: low_end, end_pfn: total_frames.max(low_end) });
        }
    }
    zones.push(Zone { kind: ZoneKind::Movable, start_pfn: total_frames, end_pfn: total_frames });
    zones
}

/// The first pfn of every non-empty zone but the first: where buddies must not merge.
pub fn boundaries(zones: &[Zone]) -> Vec<Pfn> {
    zones.iter().skip(1).filter(|z| z.spanned() > 0).map(|z| z.start_pfn).collect()
}

/// The zones an allocation with `gfp` tries, highest first (its zonelist).
pub fn zonelist(zones: &[Zone], gfp: Gfp) -> Vec<Zone> {
    let highest = match gfp {
        Gfp::Kernel => ZoneKind::Normal,
        Gfp::HighUser => ZoneKind::HighMem,
        Gfp::Dma => ZoneKind::Dma,
    };
    let mut list: Vec<Zone> =
        zones.iter().copied().filter(|z| z.kind <= highest && z.kind != ZoneKind::Movable && z.spanned() > 0).collect();
    list.reverse();
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i386_with_a_gib_has_dma_normal_and_highmem() {
        let total = (1u64 << 30) >> 12;
        let layout = KernelLayout::new(KernelArch::I386, total);
        let zones = zones_for(&layout, total);
        let kinds: Vec<_> = zones.iter().map(|z| (z.kind, z.spanned() > 0)).collect();
        assert_eq!(
            kinds,
            [(ZoneKind::Dma, true), (ZoneKind::Normal, true), (ZoneKind::HighMem, true), (ZoneKind::Movable, false)]
        );
        assert_eq!(zones[1].end_pfn, layout.max_low_pfn);
        let kernel: Vec<_> = zonelist(&zones, Gfp::Kernel).iter().map(|z| z.kind).collect();
        assert_eq!(kernel, [ZoneKind::Normal, ZoneKind::Dma]);
        let high: Vec<_> = zonelist(&zones, Gfp::HighUser).iter().map(|z| z.kind).collect();
        assert_eq!(high, [ZoneKind::HighMem, ZoneKind::Normal, ZoneKind::Dma]);
    }

    #[test]
    fn x86_64_with_four_gib_has_an_empty_normal_zone() {
        let total = (4u64 << 30) >> 12;
        let zones = zones_for(&KernelLayout::new(KernelArch::X86_64, total), total);
        assert_eq!(zones[1], Zone { kind: ZoneKind::Dma32, start_pfn: MAX_DMA_PFN, end_pfn: Pfn::new(total) });
        assert_eq!(zones[2].spanned(), 0);
        assert_eq!(boundaries(&zones), [MAX_DMA_PFN]);
    }
}
