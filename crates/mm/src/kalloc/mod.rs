//! The kernel's own memory: the page allocator's zones, `__get_free_pages`, the SLUB
//! `kmalloc` caches, `vmalloc`, `kmap`, and the kernel page tables behind them, for the
//! x86-64 and the native i386 kernels ([`KernelArch`]).
//!
//! Every frame the kernel takes is a frame user pages cannot have: it leaves the buddy free
//! lists with [`crate::frame::Owner::Kernel`] and comes back only when freed. `/proc/meminfo`
//! counts them as `Slab`, `VmallocUsed` and `PageTables` (kernel tables included), and
//! [`KernelAlloc::check_invariants`] checks that each such frame is accounted for exactly once.
//!
//! The files: [`layout`] (where the direct map, vmalloc, kmap and fixmap lie), [`zones`]
//! (DMA/DMA32/Normal/HighMem and zonelists), [`slab`] (the kmalloc caches), [`vmalloc`]
//! (vmap areas), [`ktables`] (kernel page-table entries), [`ops`] (the calls, as methods of
//! [`crate::Kernel`]) and [`explain`] (why an address is where it is).

pub mod explain;
pub mod ktables;
pub mod layout;
pub mod ops;
pub mod slab;
pub mod vmalloc;
pub mod zones;

pub use layout::{KernelArch, KernelLayout};
pub use zones::{Gfp, Zone, ZoneKind};

use crate::frame::{FrameTable, KernelUse, Owner, Pfn};
use std::collections::{BTreeMap, BTreeSet};

/// CPUs the model's SLUB sizes its slabs for (the oracle guest has one).
pub const NR_CPUS: u32 = 1;

/// State of the kernel allocators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelAlloc {
    /// The kernel's virtual layout.
    pub layout: KernelLayout,
    /// The zones, in `enum zone_type` order.
    pub zones: Vec<Zone>,
    /// The kmalloc caches, smallest first ([`slab::KMALLOC_SIZES`]).
    pub caches: Vec<slab::KmemCache>,
    /// Blocks from the page allocator held directly (`__get_free_pages`, `alloc_pages`,
    /// large `kmalloc`), by first frame, with their order.
    pub page_blocks: BTreeMap<Pfn, u8>,
    /// The vmalloc area's taken ranges.
    pub vmap: vmalloc::VmapAreas,
    /// The kernel's page tables for vmalloc and kmap.
    pub tables: ktables::KernelTables,
    /// `pkmap_count` of each kmap slot: 0 free, 1 unmapped but not yet flushed, 2+ in use.
    pub pkmap_count: Vec<u32>,
    /// The slot each kmapped highmem frame has.
    pub pkmap_slot: BTreeMap<Pfn, u64>,
    /// The slot the last kmap took (`last_pkmap_nr`).
    pub last_pkmap_nr: u64,
}

impl KernelAlloc {
    /// The allocators of a freshly booted `arch` kernel over `frames`; splits the buddy
    /// free lists into zones, and on i386 builds the kmap window's page table as boot does.
    pub fn boot(arch: KernelArch, frames: &mut FrameTable) -> KernelAlloc {
        let total = frames.total_frames();
        let layout = KernelLayout::new(arch, total);
        let zones = zones::zones_for(&layout, total);
        frames.set_zone_boundaries(&zones::boundaries(&zones));
        let caches = slab::KMALLOC_SIZES.iter().map(|&s| slab::KmemCache::kmalloc(s, NR_CPUS)).collect();
        let mut k = KernelAlloc {
            layout,
            zones,
            caches,
            page_blocks: BTreeMap::new(),
            vmap: vmalloc::VmapAreas::default(),
            tables: ktables::KernelTables::default(),
            pkmap_count: vec![0; layout.last_pkmap as usize],
            pkmap_slot: BTreeMap::new(),
            last_pkmap_nr: 0,
        };
        if let Some((base, _)) = layout.pkmap_range() {
            // permanent_kmaps_init: the window's one PTE table exists from boot (a machine
            // too small for it simply has no kmap).
            if let Some(pte) = k.alloc_block(frames, Gfp::Kernel, 0, KernelUse::PageTable) {
                k.tables.install(arch, frames, base, None, Some(pte));
            }
        }
        k
    }

    /// The profile.
    pub fn arch(&self) -> KernelArch {
        self.layout.arch
    }

    /// Takes a `2^order` block for `used` from the first zone of `gfp`'s zonelist that has
    /// one (`__alloc_pages`).
    pub fn alloc_block(&self, frames: &mut FrameTable, gfp: Gfp, order: u8, used: KernelUse) -> Option<Pfn> {
        zones::zonelist(&self.zones, gfp)
            .iter()
            .find_map(|z| frames.alloc_kernel_block(order, z.start_pfn, z.end_pfn, used))
    }

    /// The zone a frame lies in.
    pub fn zone_of(&self, pfn: Pfn) -> Option<&Zone> {
        self.zones.iter().find(|z| z.contains(pfn))
    }

    /// Frames the kernel allocators hold, by use: (pages, slab, vmalloc, page tables).
    pub fn frame_counts(&self) -> (u64, u64, u64, u64) {
        let pages = self.page_blocks.values().map(|&o| 1u64 << o).sum();
        let slab = self.caches.iter().map(|c| c.slabs.len() as u64 * (1 << c.order)).sum();
        (pages, slab, self.vmap.nr_pages(), self.tables.count())
    }

    /// Checks the allocators against the frame table: each frame owned by the kernel is
    /// held by exactly one allocator record of its use, slabs and areas are consistent,
    /// every vmalloc page is mapped at its place by a kernel PTE.
    ///
    /// # Panics
    ///
    /// When an invariant is broken.
    pub fn check_invariants(&self, frames: &FrameTable) {
        let mut held: BTreeMap<Pfn, KernelUse> = BTreeMap::new();
        let mut hold = |pfn: Pfn, used: KernelUse| {
            assert!(held.insert(pfn, used).is_none(), "pfn {pfn:#x} held twice by the kernel allocators");
        };
        for (&pfn, &order) in &self.page_blocks {
            pfn.span(1 << order).for_each(|p| hold(p, KernelUse::Pages));
        }
        for c in &self.caches {
            for (&pfn, s) in &c.slabs {
                pfn.span(1 << c.order).for_each(|p| hold(p, KernelUse::Slab));
                assert!(s.free.iter().all(|&i| i < c.objects), "{}: free object out of its slab", c.name);
                assert!(pfn < self.layout.max_low_pfn, "{}: slab {pfn:#x} outside lowmem", c.name);
            }
        }
        let mut prev_end = self.layout.vmalloc_start;
        for a in self.vmap.iter() {
            assert!(a.start >= prev_end && a.end() <= self.layout.vmalloc_end, "vmap area {:#x} misplaced", a.start);
            prev_end = a.end();
            for (i, &pfn) in a.pages.iter().enumerate() {
                hold(pfn, KernelUse::Vmalloc);
                let va = a.start + ((i as u64) << crate::layout::PAGE_SHIFT);
                assert_eq!(
                    Pfn::new(self.tables.entry(self.arch(), frames, va) >> 12 & 0xff_ffff_ffff),
                    pfn,
                    "vmalloc {va:#x}"
                );
            }
        }
        self.tables.frames().for_each(|p| hold(p, KernelUse::PageTable));
        for (va, table) in self.tables.pte_tables(self.arch()) {
            // One entry a slot, in the profile's format: 1024 four-byte entries on i386, 512
            // eight-byte ones with PAE and on x86-64.
            let entries = frames.table(table);
            assert_eq!(entries.len() as u64, self.arch().ptrs_per_pte(), "kernel PTE table at {va:#x}");
            if self.arch() == KernelArch::I386 {
                assert!(entries.iter().all(|&e| e >> 32 == 0), "kernel PTE table at {va:#x}: an entry past 32 bits");
            }
        }
        let owned: BTreeMap<Pfn, KernelUse> = frames
            .allocated()
            .filter_map(|(pfn, m)| match m.owner {
                Owner::Kernel(used) => Some((pfn, used)),
                _ => None,
            })
            .collect();
        assert_eq!(owned, held, "frames owned by the kernel differ from what its allocators hold");
        let slots: BTreeSet<u64> = self.pkmap_slot.values().copied().collect();
        assert_eq!(slots.len(), self.pkmap_slot.len(), "two frames share a kmap slot");
        for (&pfn, &slot) in &self.pkmap_slot {
            assert!(self.pkmap_count[slot as usize] >= 2, "kmapped pfn {pfn:#x} in a slot not in use");
        }
    }
}
