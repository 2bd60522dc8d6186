//! The kernel allocator calls as a module would make them: `__get_free_pages`/`free_pages`,
//! `alloc_pages`/`__free_pages`, `kmalloc`/`kfree`, `vmalloc`/`vfree`, `kmap`/`kunmap`.
//! Failures return `None` where Linux returns NULL; freeing something that was not allocated
//! is refused with [`KfreeError`] (Linux would corrupt itself or BUG).

use super::slab::{self, KMALLOC_MAX_CACHE_SIZE, ZERO_SIZE_PTR};
use super::vmalloc::{self, VmapArea};
use super::{Gfp, KernelAlloc};
use crate::frame::{KernelUse, Pfn};
use crate::layout::{PAGE_SHIFT, PAGE_SIZE};
use crate::Kernel;

/// Why a free was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KfreeError {
    /// The address is not one the allocator handed out (or it was freed already).
    NotAllocated(u64),
}

impl std::fmt::Display for KfreeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KfreeError::NotAllocated(a) => {
                write!(f, "{a:#x} was not allocated by this allocator (or was already freed)")
            }
        }
    }
}

impl std::error::Error for KfreeError {}

impl Kernel {
    /// The kernel allocators' state.
    pub fn kalloc(&self) -> &KernelAlloc {
        &self.m.kalloc
    }

    /// `alloc_pages(gfp, order)`: a block of `2^order` frames; its first frame.
    pub fn alloc_pages(&mut self, gfp: Gfp, order: u8) -> Option<Pfn> {
        let pfn = self.m.kalloc.alloc_block(&mut self.m.frames, gfp, order, KernelUse::Pages)?;
        self.m.kalloc.page_blocks.insert(pfn, order);
        Some(pfn)
    }

    /// `__free_pages(page, order)`.
    pub fn free_pages_pfn(&mut self, pfn: Pfn, order: u8) -> Result<(), KfreeError> {
        let addr = pfn.phys_addr();
        if self.m.kalloc.page_blocks.get(&pfn) != Some(&order) {
            return Err(KfreeError::NotAllocated(addr));
        }
        self.m.kalloc.page_blocks.remove(&pfn);
        self.m.frames.free_kernel_block(pfn, order);
        Ok(())
    }

    /// `__get_free_pages(GFP_KERNEL, order)`: the direct-map address of a new lowmem block.
    pub fn get_free_pages(&mut self, order: u8) -> Option<u64> {
        let pfn = self.alloc_pages(Gfp::Kernel, order)?;
        self.m.kalloc.layout.direct_map(pfn)
    }

    /// `free_pages(addr, order)`.
    pub fn free_pages(&mut self, addr: u64, order: u8) -> Result<(), KfreeError> {
        let pfn = self.m.kalloc.layout.direct_map_pfn(addr).ok_or(KfreeError::NotAllocated(addr))?;
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(KfreeError::NotAllocated(addr));
        }
        self.free_pages_pfn(pfn, order).map_err(|_| KfreeError::NotAllocated(addr))
    }

    /// `kmalloc(size, GFP_KERNEL)`: an object of the smallest cache that fits, or whole
    /// pages above 8 KiB; `ZERO_SIZE_PTR` for 0 bytes.
    pub fn kmalloc(&mut self, size: u64) -> Option<u64> {
        if size == 0 {
            return Some(ZERO_SIZE_PTR);
        }
        if size > KMALLOC_MAX_CACHE_SIZE {
            let order = slab::get_order(size);
            if order > crate::frame::MAX_ORDER {
                return None;
            }
            return self.get_free_pages(order);
        }
        let index = slab::kmalloc_index(size)?;
        let ka = &mut self.m.kalloc;
        let (slab_pfn, object) = match ka.caches[index].find_free() {
            Some(found) => found,
            None => {
                let order = ka.caches[index].order;
                let pfn = ka.alloc_block(&mut self.m.frames, Gfp::Kernel, order, KernelUse::Slab)?;
                let objects = ka.caches[index].objects;
                ka.caches[index].slabs.insert(pfn, slab::Slab { free: (0..objects).collect() });
                (pfn, 0)
            }
        };
        let cache = &mut ka.caches[index];
        cache.slabs.get_mut(&slab_pfn).map(|s| s.free.remove(&object));
        let base = ka.layout.direct_map(slab_pfn)?;
        Some(base + u64::from(object) * u64::from(cache.size))
    }

    /// `kfree(addr)`: gives an object back to its slab (an emptied slab goes back to the
    /// page allocator unless the cache keeps it as one of its `min_partial` partial slabs),
    /// or the pages of a large kmalloc. `kfree(NULL)` and `kfree(ZERO_SIZE_PTR)` do nothing.
    pub fn kfree(&mut self, addr: u64) -> Result<(), KfreeError> {
        if addr <= ZERO_SIZE_PTR {
            return Ok(());
        }
        let ka = &mut self.m.kalloc;
        let pfn = ka.layout.direct_map_pfn(addr).ok_or(KfreeError::NotAllocated(addr))?;
        if let Some(&order) = ka.page_blocks.get(&pfn) {
            if !addr.is_multiple_of(PAGE_SIZE) {
                return Err(KfreeError::NotAllocated(addr));
            }
            return self.free_pages_pfn(pfn, order);
        }
        let (index, first) = ka
            .caches
            .iter()
            .enumerate()
            .find_map(|(i, c)| c.slab_of(pfn).map(|f| (i, f)))
            .ok_or(KfreeError::NotAllocated(addr))?;
        let cache = &mut ka.caches[index];
        let offset = addr - ka.layout.direct_map(first).unwrap_or(0);
        let object = offset / u64::from(cache.size);
        if !offset.is_multiple_of(u64::from(cache.size)) || object >= u64::from(cache.objects) {
            return Err(KfreeError::NotAllocated(addr));
        }
        let objects = cache.objects;
        let min_partial = cache.min_partial as usize;
        let slab = cache.slabs.get_mut(&first).ok_or(KfreeError::NotAllocated(addr))?;
        if !slab.free.insert(object as u32) {
            return Err(KfreeError::NotAllocated(addr));
        }
        if slab.free.len() as u32 == objects {
            let partial_others = cache.slabs.iter().filter(|(&p, s)| p != first && !s.free.is_empty()).count();
            if partial_others >= min_partial {
                let order = cache.order;
                cache.slabs.remove(&first);
                self.m.frames.free_kernel_block(first, order);
            }
        }
        Ok(())
    }

    /// `vmalloc(size)`: a virtually contiguous area of whole pages (plus a guard page) in the
    /// vmalloc area, each page from the page allocator (highmem first on i386) and mapped by
    /// the kernel's page table. `None` for 0 bytes, or when space or memory runs out.
    pub fn vmalloc(&mut self, size: u64, caller: &str) -> Option<u64> {
        // Linux: __vmalloc_node_range refuses 0 and more pages than the machine has.
        if size == 0 || size >> PAGE_SHIFT > self.m.frames.total_frames() {
            return None;
        }
        let area_size = vmalloc::area_size(size)?;
        let ka = &self.m.kalloc;
        let start = ka.vmap.find_free(area_size, ka.layout.vmalloc_start, ka.layout.vmalloc_end)?;
        let npages = (area_size >> PAGE_SHIFT) - 1;
        self.map_area(
            VmapArea {
                start,
                size: area_size,
                pages: vec![],
                caller: caller.into(),
                kind: "vmalloc".into(),
                phys: None,
            },
            npages,
        )
    }

    /// Takes the range `[start, start + size)` of the vmalloc area (guard page included) with
    /// `pages` pages behind it, as a real kernel's /proc/vmallocinfo shows one: used to
    /// start the model from the areas a booted kernel already has (`ioremap`s have no pages
    /// and a `phys`). Fails if the range is outside the area, unaligned, taken, or memory
    /// runs out.
    pub fn vmap_adopt(
        &mut self,
        start: u64,
        size: u64,
        pages: u64,
        caller: &str,
        kind: &str,
        phys: Option<u64>,
    ) -> bool {
        let ka = &self.m.kalloc;
        let Some(end) = start.checked_add(size) else { return false };
        let fits = start.is_multiple_of(PAGE_SIZE)
            && size.is_multiple_of(PAGE_SIZE)
            && pages < size / PAGE_SIZE
            && start >= ka.layout.vmalloc_start
            && end <= ka.layout.vmalloc_end;
        if !fits || ka.vmap.overlapping(start, end).is_some() {
            return false;
        }
        let area = VmapArea { start, size, pages: vec![], caller: caller.into(), kind: kind.into(), phys };
        self.map_area(area, pages).is_some()
    }

    /// Backs the first `npages` pages of a free range with new frames mapped by kernel PTEs
    /// and records the area; on running out of memory gives everything back.
    fn map_area(&mut self, mut area: VmapArea, npages: u64) -> Option<u64> {
        let ka = &mut self.m.kalloc;
        let arch = ka.arch();
        let start = area.start;
        for i in 0..npages {
            let va = start + (i << PAGE_SHIFT);
            let page = ka.alloc_block(&mut self.m.frames, Gfp::HighUser, 0, KernelUse::Vmalloc);
            let (need_pmd, need_pte) = ka.tables.missing(arch, va);
            let mut table = || ka.alloc_block(&mut self.m.frames, Gfp::Kernel, 0, KernelUse::PageTable);
            let pmd = if need_pmd { table() } else { None };
            let pte = if need_pte { table() } else { None };
            if page.is_none() || (need_pmd && pmd.is_none()) || (need_pte && pte.is_none()) {
                // Out of memory half-way: give back what was taken, as __vmalloc_area_node does.
                for f in [page, pmd, pte].into_iter().flatten() {
                    self.m.frames.free_kernel_block(f, 0);
                }
                for (j, &p) in area.pages.iter().enumerate() {
                    ka.tables.set(arch, &mut self.m.frames, start + ((j as u64) << PAGE_SHIFT), None);
                    self.m.frames.free_kernel_block(p, 0);
                }
                return None;
            }
            let pfn = page?;
            ka.tables.install(arch, &mut self.m.frames, va, pmd, pte);
            ka.tables.set(arch, &mut self.m.frames, va, Some(pfn));
            area.pages.push(pfn);
        }
        ka.vmap.insert(area);
        Some(start)
    }

    /// `vfree(addr)`: unmaps the area's pages from the kernel page table (the tables stay),
    /// frees them and the range.
    pub fn vfree(&mut self, addr: u64) -> Result<(), KfreeError> {
        if addr == 0 {
            return Ok(());
        }
        let ka = &mut self.m.kalloc;
        let area = match ka.vmap.find(addr) {
            Some(a) if a.start == addr => ka.vmap.remove(addr),
            _ => None,
        }
        .ok_or(KfreeError::NotAllocated(addr))?;
        let arch = ka.arch();
        for (i, &pfn) in area.pages.iter().enumerate() {
            ka.tables.set(arch, &mut self.m.frames, area.start + ((i as u64) << PAGE_SHIFT), None);
            self.m.frames.free_kernel_block(pfn, 0);
        }
        Ok(())
    }

    /// `kmap(page)`: a lowmem frame's direct-map address; a highmem frame gets a slot in the
    /// PKMAP window (the next free one after the last taken, flushing the slots unmapped
    /// since the previous wrap when the search wraps, as `map_new_virtual` does). `None` when
    /// every slot is in use (Linux would sleep) or the profile has no window.
    pub fn kmap(&mut self, pfn: Pfn) -> Option<u64> {
        let ka = &mut self.m.kalloc;
        if let Some(va) = ka.layout.direct_map(pfn) {
            return Some(va);
        }
        if pfn >= self.m.frames.end_pfn() {
            return None;
        }
        let (base, _) = ka.layout.pkmap_range()?;
        if let Some(&slot) = ka.pkmap_slot.get(&pfn) {
            ka.pkmap_count[slot as usize] += 1;
            return Some(base + (slot << PAGE_SHIFT));
        }
        let arch = ka.arch();
        let slots = ka.pkmap_count.len() as u64;
        for _ in 0..2 * slots {
            ka.last_pkmap_nr = (ka.last_pkmap_nr + 1) % slots;
            if ka.last_pkmap_nr == 0 {
                // flush_all_zero_pkmaps: slots unmapped since the last wrap become free.
                for slot in 0..slots {
                    if ka.pkmap_count[slot as usize] == 1 {
                        ka.pkmap_count[slot as usize] = 0;
                        ka.tables.set(arch, &mut self.m.frames, base + (slot << PAGE_SHIFT), None);
                    }
                }
                continue;
            }
            let slot = ka.last_pkmap_nr;
            if ka.pkmap_count[slot as usize] == 0 {
                ka.pkmap_count[slot as usize] = 2;
                ka.pkmap_slot.insert(pfn, slot);
                let va = base + (slot << PAGE_SHIFT);
                ka.tables.set(arch, &mut self.m.frames, va, Some(pfn));
                return Some(va);
            }
        }
        None
    }

    /// `kunmap(page)`: drops one use of a highmem frame's kmap slot (the entry stays until
    /// the next flush); nothing for a lowmem frame.
    pub fn kunmap(&mut self, pfn: Pfn) -> Result<(), KfreeError> {
        let ka = &mut self.m.kalloc;
        if ka.layout.direct_map(pfn).is_some() {
            return Ok(());
        }
        let slot = *ka.pkmap_slot.get(&pfn).ok_or(KfreeError::NotAllocated(pfn.phys_addr()))?;
        ka.pkmap_count[slot as usize] -= 1;
        if ka.pkmap_count[slot as usize] == 1 {
            ka.pkmap_slot.remove(&pfn);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kalloc::KernelArch;
    use crate::{Config, Kernel};

    fn kernel(arch: KernelArch, ram: u64) -> Kernel {
        Kernel::new(Config { ram_bytes: ram, kernel_arch: arch, ..Config::default() })
    }

    #[test]
    fn x86_64_addresses_are_in_the_direct_map_and_the_vmalloc_area() {
        let mut k = kernel(KernelArch::X86_64, 1 << 30);
        let page = k.get_free_pages(0).unwrap();
        assert!((0xffff_8880_0000_0000..0xffff_8880_4000_0000).contains(&page), "{page:#x}");
        let obj = k.kmalloc(100).unwrap();
        assert_eq!(obj % 128, 0);
        let v = k.vmalloc(1_000_000, "test").unwrap();
        assert_eq!(v, 0xffff_c900_0000_0000);
        let v2 = k.vmalloc(4096, "test").unwrap();
        assert_eq!(v2, v + 246 * 4096, "the next area starts after the guard page");
        crate::invariants::check_kernel(&k);
        let before = k.m.frames.free_frames();
        k.vfree(v).unwrap();
        assert_eq!(k.m.frames.free_frames(), before + 245);
        assert_eq!(k.vfree(v), Err(KfreeError::NotAllocated(v)));
        assert_eq!(k.vmalloc(2 << 30, "test"), None, "more than the RAM");
        assert_eq!(k.vmalloc(u64::MAX, "test"), None);
        k.kfree(obj).unwrap();
        assert!(k.kfree(obj).is_err(), "double free refused");
        k.free_pages(page, 0).unwrap();
        crate::invariants::check_kernel(&k);
    }

    #[test]
    fn i386_kmalloc_is_lowmem_vmalloc_takes_highmem_and_kmap_uses_the_window() {
        let mut k = kernel(KernelArch::I386, 0x3ffe_0000);
        let l = k.kalloc().layout;
        let obj = k.kmalloc(100).unwrap();
        assert!((l.page_offset..l.high_memory).contains(&obj));
        let v = k.vmalloc(1_000_000, "test").unwrap();
        assert_eq!(v, l.vmalloc_start);
        let first = k.kalloc().vmap.find(v).unwrap().pages[0];
        assert!(first >= l.max_low_pfn, "vmalloc's pages come from highmem first");
        let high = k.alloc_pages(Gfp::HighUser, 0).unwrap();
        assert_eq!(k.kmap(high), Some(0xfec0_1000), "the oracle's first kmap is slot 1");
        assert_eq!(k.kmap(high), Some(0xfec0_1000));
        crate::invariants::check_kernel(&k);
        k.kunmap(high).unwrap();
        k.kunmap(high).unwrap();
        k.free_pages_pfn(high, 0).unwrap();
        crate::invariants::check_kernel(&k);
    }

    #[test]
    fn an_emptied_slab_is_kept_while_the_cache_has_few_partial_slabs() {
        let mut k = kernel(KernelArch::X86_64, 64 << 20);
        let free0 = k.m.frames.free_frames();
        let objs: Vec<u64> = (0..40).map(|_| k.kmalloc(8000).unwrap()).collect();
        assert_eq!(k.kalloc().caches[12].slabs.len(), 10, "4 objects of kmalloc-8k per slab");
        for o in objs {
            k.kfree(o).unwrap();
        }
        // min_partial of kmalloc-8k is 6: the first slabs emptied are freed, 6 stay.
        assert_eq!(k.kalloc().caches[12].slabs.len(), 6);
        assert_eq!(k.m.frames.free_frames(), free0 - 6 * 8);
        crate::invariants::check_kernel(&k);
    }
}
