//! `/proc/vmallocinfo` (mm/vmalloc.c, `s_show`): each taken range of the vmalloc area with its
//! size (guard page included), who took it, its page count and kind. On x86-64, whose
//! distribution kernels are NUMA, a vmalloc area also shows its pages per node (`N0=`); a
//! page array bigger than a page is itself vmalloc'ed, which `vpages` reports.

use mm::kalloc::KernelArch;
use mm::Kernel;
use std::fmt::Write;

/// `/proc/vmallocinfo`.
pub fn vmallocinfo(k: &Kernel) -> String {
    let mut s = String::new();
    let ka = k.kalloc();
    let (ptr, width) = if ka.arch().is_i386() { (4, 8) } else { (8, 16) };
    // phys_addr_t is 64-bit with PAE.
    let phys_width = if ka.arch() == KernelArch::I386 { 8 } else { 16 };
    for a in ka.vmap.iter() {
        let _ = write!(s, "0x{:0w$x}-0x{:0w$x} {:>7} {}", a.start, a.end(), a.size, a.caller, w = width);
        if !a.pages.is_empty() {
            let _ = write!(s, " pages={}", a.pages.len());
        }
        if let Some(phys) = a.phys {
            let _ = write!(s, " phys=0x{:0w$x}", phys, w = phys_width);
        }
        let _ = write!(s, " {}", a.kind);
        if a.pages.len() * ptr > 4096 {
            s.push_str(" vpages");
        }
        if ka.arch() == KernelArch::X86_64 && !a.pages.is_empty() {
            let _ = write!(s, " N0={}", a.pages.len());
        }
        s.push('\n');
    }
    s
}
