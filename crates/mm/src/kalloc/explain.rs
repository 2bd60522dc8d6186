//! Why a kernel address is where it is: which region of the kernel's layout holds it, what
//! physical frame backs it, and which allocator handed it out. The scenario language prints
//! this after each allocation of the seeds' allocating module.

use super::layout::KernelLayout;
use super::KernelAlloc;
use crate::frame::FrameTable;
use crate::layout::{PAGE_SHIFT, PAGE_SIZE};

/// A paragraph explaining `addr` in the kernel half of the address space.
pub fn explain(ka: &KernelAlloc, frames: &FrameTable, addr: u64) -> String {
    let l: &KernelLayout = &ka.layout;
    let arch = ka.arch().name();
    if addr < l.task_size {
        return format!("{addr:#x} is a user address (below TASK_SIZE {:#x})", l.task_size);
    }
    if let Some(pfn) = l.direct_map_pfn(addr) {
        let zone = ka.zone_of(pfn).map_or("?", |z| z.kind.name());
        let mut s = format!(
            "{addr:#x} is in the direct map ({arch}: PAGE_OFFSET {:#x} + physical address {:#x}, pfn {pfn:#x} in zone \
             {zone}): the kernel reaches every {} frame at PAGE_OFFSET + its physical address",
            l.page_offset,
            addr - l.page_offset,
            if ka.arch().is_i386() { "lowmem" } else { "RAM" },
        );
        if let Some((&first, &order)) = ka.page_blocks.range(..=pfn).next_back().filter(|(&f, &o)| pfn < f.plus(1 << o))
        {
            s += &format!(
                "; it is a block of {} page(s) from the buddy allocator (order {order}, first pfn {first:#x}): \
                 a free block of the smallest order that has one, in the first zone of GFP_KERNEL's zonelist \
                 (Normal, then lower zones) with one",
                1u64 << order
            );
        } else if let Some(c) = ka.caches.iter().find(|c| c.slab_of(pfn).is_some()) {
            let first = c.slab_of(pfn).unwrap_or(pfn);
            let base = l.page_offset + first.phys_addr();
            s += &format!(
                "; it is object {} of a {}-page slab of {} ({} objects of {} bytes each, so the address is a multiple \
                 of {} from the slab's start {base:#x}); a request is served by the smallest kmalloc cache it fits in",
                (addr - base) / u64::from(c.size),
                1u64 << c.order,
                c.name,
                c.objects,
                c.size,
                c.size,
            );
        } else if frames.meta(pfn).owner != crate::frame::Owner::Free {
            s += "; the frame is in use (not by the kernel allocators)";
        }
        return s;
    }
    if l.in_vmalloc(addr) {
        let mut s = format!(
            "{addr:#x} is in the vmalloc area [{:#x}, {:#x}), which starts 8 MiB above the end of the direct map \
             ({:#x}) so that an overrun of lowmem faults",
            l.vmalloc_start, l.vmalloc_end, l.high_memory
        );
        if !ka.arch().is_i386() {
            s = format!("{addr:#x} is in the vmalloc area [{:#x}, {:#x})", l.vmalloc_start, l.vmalloc_end);
        }
        if let Some(a) = ka.vmap.find(addr) {
            s += &format!(
                "; area {:#x}-{:#x} ({} bytes: {} page(s) and a guard page), the lowest free range that fits; ",
                a.start,
                a.end(),
                a.size,
                a.size / PAGE_SIZE - 1
            );
            if a.pages.is_empty() {
                s += &format!("reserved by {} ({})", a.caller, a.kind);
            } else {
                let contiguous = a.pages.windows(2).filter(|w| w[1] != w[0].plus(1)).count();
                let high = a.pages.iter().filter(|&&p| p >= l.max_low_pfn).count();
                s += &format!(
                    "its pages are {} separate frame(s) taken one at a time ({} physical run(s), {high} in highmem), \
                     each mapped by a kernel PTE",
                    a.pages.len(),
                    contiguous + 1
                );
            }
        }
        return s;
    }
    if let Some((b, e)) = l.pkmap_range().filter(|&(b, e)| (b..e).contains(&addr)) {
        let slot = (addr - b) >> PAGE_SHIFT;
        let pfn = ka.pkmap_slot.iter().find(|(_, &s)| s == slot).map(|(&p, _)| p);
        return format!(
            "{addr:#x} is slot {slot} of the kmap window [{b:#x}, {e:#x}), where kmap maps a highmem frame that has \
             no permanent address{}",
            pfn.map_or(String::new(), |p| format!(" (now pfn {p:#x})"))
        );
    }
    if addr >= l.fixaddr_start {
        return format!("{addr:#x} is in the fixmap and CPU entry area (from {:#x} up)", l.fixaddr_start);
    }
    format!("{addr:#x} is kernel address space the model gives no role")
}
