//! SLUB's `kmalloc` caches (mm/slub.c, mm/slab_common.c): `kmalloc-8` … `kmalloc-8k`, each
//! a [`KmemCache`] that carves slabs (blocks of `2^order` lowmem pages) into equal objects.
//!
//! A request is rounded up to the smallest cache that holds it (`kmalloc(100)` comes from
//! `kmalloc-128`, whose objects are 128-byte aligned), so its address is the slab's direct-map
//! address plus the object's index times the object size. Requests over 8 KiB
//! (`KMALLOC_MAX_CACHE_SIZE`, two pages) bypass the caches and take whole pages from the
//! buddy allocator (`kmalloc_large`); `kmalloc(0)` returns `ZERO_SIZE_PTR` (16).
//!
//! How big a slab is follows SLUB's `calculate_order`: the smallest order that fits at least
//! `4 * (fls(nr_cpus) + 1)` objects and wastes at most 1/16 of the slab (then 1/8, 1/4, then
//! fewer objects), never above order 3 (`slub_max_order`). With one CPU, as the oracle guest
//! has, this gives what its /proc/slabinfo shows: 512 objects of 8 bytes in one page … 4
//! objects of 8 KiB in 8 pages.
//!
//! Where the model is simpler than SLUB, deterministically: an allocation takes the
//! lowest-addressed slab with a free object and, in it, the lowest free object (SLUB takes
//! the CPU's current slab, and Debian's kernels shuffle each new slab's free list,
//! CONFIG_SLAB_FREELIST_RANDOM, so the real offset inside a slab is random). An emptied slab
//! is given back to the buddy allocator unless the cache keeps fewer than `min_partial`
//! other slabs with free objects, as SLUB's `__slab_free` decides.

use crate::frame::Pfn;
use crate::layout::PAGE_SIZE;
use std::collections::{BTreeMap, BTreeSet};

/// The largest request the caches serve: larger ones take pages directly.
pub const KMALLOC_MAX_CACHE_SIZE: u64 = 2 * PAGE_SIZE;
/// What `kmalloc(0)` returns: a non-NULL pointer that faults when used.
pub const ZERO_SIZE_PTR: u64 = 16;
/// `slub_max_order` (PAGE_ALLOC_COSTLY_ORDER).
pub const SLUB_MAX_ORDER: u8 = 3;
/// The object sizes of the kmalloc caches, smallest first (x86: 8-byte minimum, with the
/// 96- and 192-byte caches).
pub const KMALLOC_SIZES: [u32; 13] = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192];

/// One slab: a block of pages split into objects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Slab {
    /// Indices of the free objects.
    pub free: BTreeSet<u32>,
}

/// A slab cache (`struct kmem_cache`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KmemCache {
    /// Its name (`kmalloc-128`).
    pub name: String,
    /// Bytes per object, alignment included (`s->size`).
    pub size: u32,
    /// Pages per slab, as an order.
    pub order: u8,
    /// Objects per slab.
    pub objects: u32,
    /// Slabs with free objects the cache keeps rather than free them (`min_partial`).
    pub min_partial: u32,
    /// The slabs, by first frame.
    pub slabs: BTreeMap<Pfn, Slab>,
}

/// `get_order`: the smallest order whose block holds `bytes`.
pub fn get_order(bytes: u64) -> u8 {
    let pages = bytes.div_ceil(PAGE_SIZE).max(1);
    pages.next_power_of_two().trailing_zeros() as u8
}

/// `calc_slab_order`: the first order from what `min_objects` need up to `max_order` that
/// wastes at most `1/fract_leftover` of the slab; `max_order + 1` when none does.
fn calc_slab_order(size: u64, min_objects: u64, max_order: u8, fract_leftover: u64) -> u8 {
    let mut order = get_order(min_objects * size);
    while order <= max_order {
        let slab_size = PAGE_SIZE << order;
        if slab_size % size <= slab_size / fract_leftover {
            break;
        }
        order += 1;
    }
    order
}

/// SLUB's `calculate_order` for objects of `size` bytes on a machine with `nr_cpus` CPUs.
pub fn calculate_order(size: u64, nr_cpus: u32) -> u8 {
    let fls = 32 - nr_cpus.max(1).leading_zeros();
    let max_objects = (PAGE_SIZE << SLUB_MAX_ORDER) / size;
    let mut min_objects = u64::from(4 * (fls + 1)).min(max_objects);
    while min_objects > 1 {
        let mut fraction = 16;
        while fraction >= 4 {
            let order = calc_slab_order(size, min_objects, SLUB_MAX_ORDER, fraction);
            if order <= SLUB_MAX_ORDER {
                return order;
            }
            fraction /= 2;
        }
        min_objects -= 1;
    }
    calc_slab_order(size, 1, SLUB_MAX_ORDER, 1).min(crate::frame::MAX_ORDER)
}

impl KmemCache {
    /// The kmalloc cache of objects of `size` bytes on `nr_cpus` CPUs.
    pub fn kmalloc(size: u32, nr_cpus: u32) -> KmemCache {
        let name = if size >= 1024 { format!("kmalloc-{}k", size / 1024) } else { format!("kmalloc-{size}") };
        let order = calculate_order(u64::from(size), nr_cpus);
        let objects = ((PAGE_SIZE << order) / u64::from(size)) as u32;
        // ilog2(size) / 2, clamped to [MIN_PARTIAL, MAX_PARTIAL].
        let min_partial = (size.ilog2() / 2).clamp(5, 10);
        KmemCache { name, size, order, objects, min_partial, slabs: BTreeMap::new() }
    }

    /// Objects in use.
    pub fn active_objects(&self) -> u64 {
        self.slabs.values().map(|s| u64::from(self.objects) - s.free.len() as u64).sum()
    }

    /// Bytes in one slab.
    pub fn slab_bytes(&self) -> u64 {
        PAGE_SIZE << self.order
    }

    /// The lowest slab with a free object, and that object.
    pub(crate) fn find_free(&self) -> Option<(Pfn, u32)> {
        self.slabs.iter().find_map(|(&pfn, s)| s.free.first().map(|&i| (pfn, i)))
    }

    /// The slab holding the object at frame `pfn` (any frame of the slab), and its first frame.
    pub(crate) fn slab_of(&self, pfn: Pfn) -> Option<Pfn> {
        let (&first, _) = self.slabs.range(..=pfn).next_back()?;
        (pfn < first.plus(1 << self.order)).then_some(first)
    }
}

/// The index of the cache that serves `size` bytes (1..=8192).
pub fn kmalloc_index(size: u64) -> Option<usize> {
    KMALLOC_SIZES.iter().position(|&s| u64::from(s) >= size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slab_orders_match_the_oracle_slabinfo_with_one_cpu() {
        // name objsize objperslab pagesperslab, from tests/golden/i386/686/slabinfo-before.txt
        let want = [
            (8, 512, 1),
            (16, 256, 1),
            (32, 128, 1),
            (64, 64, 1),
            (96, 42, 1),
            (128, 32, 1),
            (192, 21, 1),
            (256, 16, 1),
            (512, 8, 1),
            (1024, 8, 2),
            (2048, 8, 4),
            (4096, 8, 8),
            (8192, 4, 8),
        ];
        for (size, objs, pages) in want {
            let c = KmemCache::kmalloc(size, 1);
            assert_eq!((c.objects, 1u32 << c.order), (objs, pages), "{}", c.name);
        }
    }

    #[test]
    fn requests_round_up_to_the_next_cache() {
        assert_eq!(kmalloc_index(100).map(|i| KMALLOC_SIZES[i]), Some(128));
        assert_eq!(kmalloc_index(65).map(|i| KMALLOC_SIZES[i]), Some(96));
        assert_eq!(kmalloc_index(1).map(|i| KMALLOC_SIZES[i]), Some(8));
        assert_eq!(kmalloc_index(8193), None);
        assert_eq!(get_order(1), 0);
        assert_eq!(get_order(4097), 1);
        assert_eq!(get_order(1_000_000), 8);
    }
}
