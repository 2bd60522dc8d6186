//! The vmalloc area's bookkeeping (mm/vmalloc.c): which ranges are taken ([`VmapArea`]) and
//! where a new one goes.
//!
//! `vmalloc(size)` rounds `size` up to whole pages, adds one guard page (left unmapped, so an
//! overrun faults instead of corrupting the next area), and takes the lowest free range of
//! that many bytes between `VMALLOC_START` and `VMALLOC_END` (`alloc_vmap_area` searches the
//! free ranges from the bottom). The pages behind it are order-0 pages from wherever the page
//! allocator finds them (on i386 highmem first: they need no permanent address), so the area
//! is virtually contiguous but physically scattered; the kernel's page table maps each page
//! at its place. `/proc/vmallocinfo` lists every area with its size, guard included, and
//! `pages=N`; `VmallocUsed` in /proc/meminfo counts only the pages.
//!
//! Linux frees areas lazily (a freed range stays reserved until a purge), which the model
//! does not: `vfree` frees the range at once.

use crate::frame::Pfn;
use crate::layout::PAGE_SIZE;
use std::collections::BTreeMap;

/// One taken range of the vmalloc area (`struct vmap_area` with its `vm_struct`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmapArea {
    /// First address.
    pub start: u64,
    /// Bytes, the guard page included.
    pub size: u64,
    /// The frames mapped, in address order (none for a range reserved without pages).
    pub pages: Vec<Pfn>,
    /// Who asked, as vmallocinfo names it (`%pS` of the caller).
    pub caller: String,
    /// How the range is used: `vmalloc`, `ioremap`, `vmap`.
    pub kind: String,
    /// For an `ioremap`, the physical address mapped.
    pub phys: Option<u64>,
}

impl VmapArea {
    /// One past the last address, guard page included.
    pub fn end(&self) -> u64 {
        self.start + self.size
    }
}

/// The taken ranges of the vmalloc area, by start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VmapAreas {
    areas: BTreeMap<u64, VmapArea>,
}

impl VmapAreas {
    /// The lowest address in `[lo, hi)` where `size` bytes are free.
    pub fn find_free(&self, size: u64, lo: u64, hi: u64) -> Option<u64> {
        let mut at = lo;
        for a in self.areas.values() {
            if a.end() <= at {
                continue;
            }
            if a.start >= at && a.start - at >= size {
                break;
            }
            at = at.max(a.end());
        }
        (at.checked_add(size)? <= hi).then_some(at)
    }

    /// Records an area; the caller made sure its range is free.
    pub fn insert(&mut self, area: VmapArea) {
        debug_assert!(self.overlapping(area.start, area.end()).is_none(), "vmap area {:#x} overlaps", area.start);
        self.areas.insert(area.start, area);
    }

    /// Removes and returns the area starting at `start`.
    pub fn remove(&mut self, start: u64) -> Option<VmapArea> {
        self.areas.remove(&start)
    }

    /// The area containing `addr`, guard page included.
    pub fn find(&self, addr: u64) -> Option<&VmapArea> {
        self.areas.range(..=addr).next_back().map(|(_, a)| a).filter(|a| addr < a.end())
    }

    /// An area sharing a byte with `[start, end)`, if any.
    pub fn overlapping(&self, start: u64, end: u64) -> Option<&VmapArea> {
        self.areas.range(..end).next_back().map(|(_, a)| a).filter(|a| a.end() > start)
    }

    /// Every area in address order.
    pub fn iter(&self) -> impl Iterator<Item = &VmapArea> + '_ {
        self.areas.values()
    }

    /// Pages mapped by all areas (`nr_vmalloc_pages`, meminfo's VmallocUsed).
    pub fn nr_pages(&self) -> u64 {
        self.areas.values().map(|a| a.pages.len() as u64).sum()
    }
}

/// Bytes a vmalloc of `size` takes from the area: whole pages plus the guard page.
pub fn area_size(size: u64) -> Option<u64> {
    crate::layout::page_ceil(size)?.checked_add(PAGE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(start: u64, size: u64) -> VmapArea {
        VmapArea { start, size, pages: vec![], caller: "t".into(), kind: "vmalloc".into(), phys: None }
    }

    #[test]
    fn the_lowest_gap_that_fits_wins() {
        let mut v = VmapAreas::default();
        v.insert(area(0x1000, 0x2000));
        v.insert(area(0x5000, 0x1000));
        assert_eq!(v.find_free(0x1000, 0x1000, 0x10000), Some(0x3000));
        assert_eq!(v.find_free(0x2000, 0x1000, 0x10000), Some(0x3000));
        assert_eq!(v.find_free(0x3000, 0x1000, 0x10000), Some(0x6000));
        assert_eq!(v.find_free(0xb000, 0x1000, 0x10000), None);
        assert_eq!(v.find(0x2fff).map(|a| a.start), Some(0x1000));
        assert_eq!(v.find(0x3000), None);
        assert_eq!(area_size(1_000_000), Some(245 * 4096 + 4096));
    }
}
