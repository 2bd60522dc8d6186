//! The kernel half of the address space: where the direct map, the vmalloc area, the
//! permanent kmap window and the fixmap lie for each kernel profile ([`KernelArch`]), and the
//! shape of the page tables that map them ([`KernelLayout`]).
//!
//! x86-64 (4-level paging, no KASLR): physical memory is mapped whole at `PAGE_OFFSET =
//! 0xffff888000000000` (the direct map, `__va(pa) = pa + PAGE_OFFSET`) and vmalloc hands out
//! addresses from `0xffffc90000000000` (Documentation/arch/x86/x86_64/mm.rst).
//!
//! i386 (VMSPLIT_3G): user space is `[0, 0xC0000000)`, and the kernel's 1 GiB above it holds,
//! in order: lowmem, the first RAM up to `high_memory` mapped at `PAGE_OFFSET + pa`; an 8 MiB
//! hole that catches overruns; the vmalloc area from `VMALLOC_START` (high_memory + 8 MiB) to `VMALLOC_END`; two pages of gap; the PKMAP window of
//! `LAST_PKMAP` pages where `kmap` maps highmem pages one at a time; then the LDT remap, the
//! CPU entry area and the fixmap up to `0xfffff000`. RAM above lowmem (HighMem) has no
//! permanent kernel address. Lowmem is at most `MAXMEM = VMALLOC_END - PAGE_OFFSET - 128 MiB`
//! (the 128 MiB reserved so that vmalloc has room), which is why 896 MiB is the folklore
//! figure. The constants above `VMALLOC_END` depend on the kernel build (number of CPUs,
//! fixmap slots); the model takes them from Debian's 6.1 `linux-image-686` and `-686-pae`
//! as the oracle module printed them (tests/golden/i386/*/insmod.txt, checked by tests).

use crate::frame::Pfn;
use crate::layout::{PAGE_SHIFT, PAGE_SIZE};

/// Which kernel the model is: the page-table format and the kernel's virtual layout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KernelArch {
    /// x86-64 with 4-level paging (the model's default).
    #[default]
    X86_64,
    /// Native i386 without PAE: two-level page tables (10/10/12 bits), 4-byte entries.
    I386,
    /// Native i386 with PAE: three-level page tables (2/9/9/12 bits), 8-byte entries.
    I386Pae,
}

impl KernelArch {
    /// Every profile with the name the scenario language and the CLI use.
    pub const ALL: [(KernelArch, &'static str); 3] =
        [(KernelArch::X86_64, "x86_64"), (KernelArch::I386, "i386"), (KernelArch::I386Pae, "i386-pae")];

    /// The profile a name stands for.
    pub fn from_name(name: &str) -> Option<KernelArch> {
        KernelArch::ALL.iter().find(|(_, n)| *n == name).map(|&(a, _)| a)
    }

    /// The profile's name.
    pub fn name(self) -> &'static str {
        KernelArch::ALL.iter().find(|(a, _)| *a == self).map_or("?", |&(_, n)| n)
    }

    /// Whether this is a 32-bit kernel (3G/1G split, lowmem and highmem).
    pub fn is_i386(self) -> bool {
        self != KernelArch::X86_64
    }

    /// The shape of this profile's page tables.
    pub fn page_table_geometry(self) -> crate::pgtable_geometry::PageTableGeometry {
        use crate::pgtable_geometry::PageTableGeometry;
        match self {
            KernelArch::X86_64 => PageTableGeometry::X86_64,
            KernelArch::I386 => PageTableGeometry::I386,
            KernelArch::I386Pae => PageTableGeometry::I386_PAE,
        }
    }

    /// Levels of page tables below and including the top one.
    pub fn table_levels(self) -> u32 {
        self.page_table_geometry().levels.len() as u32
    }

    /// Entries in one PTE table: 1024 four-byte entries without PAE, 512 eight-byte entries
    /// otherwise.
    pub fn ptrs_per_pte(self) -> u64 {
        self.page_table_geometry().leaf().entries()
    }

    /// Bytes mapped by one PTE table (what one entry of the level above covers).
    pub fn pte_table_span(self) -> u64 {
        self.page_table_geometry().pte_table_span()
    }
}

/// Where each region of the kernel half lies, for one profile and RAM size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelLayout {
    /// The profile.
    pub arch: KernelArch,
    /// Top of user space (TASK_SIZE).
    pub task_size: u64,
    /// Start of the direct map: the kernel address of physical address 0.
    pub page_offset: u64,
    /// First frame with no permanent kernel address (`max_low_pfn`): every frame on
    /// x86-64, the frames below the lowmem limit on i386.
    pub max_low_pfn: Pfn,
    /// End of the direct map (`high_memory`, the address of `max_low_pfn`).
    pub high_memory: u64,
    /// First address of the vmalloc area.
    pub vmalloc_start: u64,
    /// End (exclusive) of the vmalloc area.
    pub vmalloc_end: u64,
    /// Start of the permanent kmap window (i386 only).
    pub pkmap_base: Option<u64>,
    /// Pages in the kmap window (`LAST_PKMAP`).
    pub last_pkmap: u64,
    /// Lowest fixmap address (`FIXADDR_START`).
    pub fixaddr_start: u64,
}

/// `VMALLOC_OFFSET`: the hole between lowmem and the vmalloc area on i386.
pub const VMALLOC_OFFSET: u64 = 8 << 20;
/// `__VMALLOC_RESERVE`: address space i386 keeps for vmalloc when it sizes lowmem.
pub const VMALLOC_RESERVE: u64 = 128 << 20;
/// The x86-64 direct map's base without KASLR.
pub const X86_64_PAGE_OFFSET: u64 = 0xffff_8880_0000_0000;
/// The x86-64 vmalloc area's base without KASLR (`VMALLOC_START`, 4-level paging).
pub const X86_64_VMALLOC_START: u64 = 0xffff_c900_0000_0000;
/// The x86-64 vmalloc area's size: 32 TiB with 4-level paging.
pub const X86_64_VMALLOC_SIZE: u64 = 32 << 40;
/// `FIXADDR_START` of x86-64 as a 6.x defconfig-like kernel has it (the fixmap is just
/// below the vsyscall page); informative only.
pub const X86_64_FIXADDR_START: u64 = 0xffff_ffff_ff57_8000;

/// Values the i386 oracle kernels printed (Debian 6.1, `linux-image-686{,-pae}`), which the
/// build fixes rather than the RAM size: `VMALLOC_END`, `PKMAP_BASE`, `FIXADDR_START`.
const I386_VMALLOC_END: u64 = 0xfebf_e000;
const I386_PKMAP_BASE: u64 = 0xfec0_0000;
const I386_FIXADDR_START: u64 = 0xffdb_8000;
const I386_PAE_VMALLOC_END: u64 = 0xfeff_e000;
const I386_PAE_PKMAP_BASE: u64 = 0xff00_0000;
const I386_PAE_FIXADDR_START: u64 = 0xffdb_8000;

impl KernelLayout {
    /// The layout of `arch` on a machine with `total_frames` frames of RAM.
    pub fn new(arch: KernelArch, total_frames: u64) -> KernelLayout {
        match arch {
            KernelArch::X86_64 => KernelLayout {
                arch,
                task_size: crate::layout::TASK_SIZE,
                page_offset: X86_64_PAGE_OFFSET,
                max_low_pfn: Pfn::new(total_frames),
                high_memory: X86_64_PAGE_OFFSET + (total_frames << PAGE_SHIFT),
                vmalloc_start: X86_64_VMALLOC_START,
                vmalloc_end: X86_64_VMALLOC_START + X86_64_VMALLOC_SIZE,
                pkmap_base: None,
                last_pkmap: 0,
                fixaddr_start: X86_64_FIXADDR_START,
            },
            KernelArch::I386 | KernelArch::I386Pae => {
                let (vmalloc_end, pkmap_base, fixaddr_start, last_pkmap) = if arch == KernelArch::I386 {
                    (I386_VMALLOC_END, I386_PKMAP_BASE, I386_FIXADDR_START, 1024)
                } else {
                    (I386_PAE_VMALLOC_END, I386_PAE_PKMAP_BASE, I386_PAE_FIXADDR_START, 512)
                };
                let page_offset = 0xc000_0000;
                // MAXMEM: lowmem stops where vmalloc would have less than its reserve.
                let maxmem = vmalloc_end - page_offset - VMALLOC_RESERVE;
                let max_low_pfn = Pfn::new(total_frames.min(maxmem >> PAGE_SHIFT));
                let high_memory = page_offset + max_low_pfn.phys_addr();
                // Not rounded: the oracle's areas start exactly 8 MiB above high_memory.
                let vmalloc_start = high_memory + VMALLOC_OFFSET;
                KernelLayout {
                    arch,
                    task_size: page_offset,
                    page_offset,
                    max_low_pfn,
                    high_memory,
                    vmalloc_start,
                    vmalloc_end,
                    pkmap_base: Some(pkmap_base),
                    last_pkmap,
                    fixaddr_start,
                }
            }
        }
    }

    /// The direct-map address of `pfn` (`page_address`), or `None` for a highmem frame.
    pub fn direct_map(&self, pfn: Pfn) -> Option<u64> {
        (pfn < self.max_low_pfn).then(|| self.page_offset + pfn.phys_addr())
    }

    /// The frame behind a direct-map address (`virt_to_pfn`), or `None` outside it.
    pub fn direct_map_pfn(&self, va: u64) -> Option<Pfn> {
        (self.page_offset..self.high_memory).contains(&va).then(|| Pfn::from_phys_addr(va - self.page_offset))
    }

    /// Whether `va` lies in the vmalloc area.
    pub fn in_vmalloc(&self, va: u64) -> bool {
        (self.vmalloc_start..self.vmalloc_end).contains(&va)
    }

    /// The kmap window's address range, if the profile has one.
    pub fn pkmap_range(&self) -> Option<(u64, u64)> {
        self.pkmap_base.map(|b| (b, b + self.last_pkmap * PAGE_SIZE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i386_lowmem_stops_at_maxmem_and_vmalloc_starts_eight_mib_above() {
        let big = KernelLayout::new(KernelArch::I386, (2u64 << 30) >> PAGE_SHIFT);
        assert_eq!(big.page_offset, 0xc000_0000);
        assert_eq!(big.high_memory, 0xc000_0000 + (I386_VMALLOC_END - 0xc000_0000 - VMALLOC_RESERVE));
        assert_eq!(big.vmalloc_start, big.high_memory + VMALLOC_OFFSET);
        let small = KernelLayout::new(KernelArch::I386, (256u64 << 20) >> PAGE_SHIFT);
        assert_eq!(small.high_memory, 0xd000_0000);
        assert_eq!(small.vmalloc_start, 0xd080_0000);
        // What the oracle printed with 1 GiB of RAM (tests/golden/i386/686/module.txt).
        let oracle = KernelLayout::new(KernelArch::I386, 0x3ffe0);
        assert_eq!((oracle.high_memory, oracle.vmalloc_start), (0xf6bf_e000, 0xf73f_e000));
        assert_eq!(small.direct_map(Pfn::new(0x100)), Some(0xc010_0000));
        assert_eq!(small.direct_map_pfn(0xc010_0fff), Some(Pfn::new(0x100)));
    }

    #[test]
    fn x86_64_maps_all_ram_directly() {
        let l = KernelLayout::new(KernelArch::X86_64, 1 << 20);
        assert_eq!(l.direct_map(Pfn::new(0x12345)), Some(0xffff_8880_1234_5000));
        assert_eq!(l.vmalloc_start, 0xffff_c900_0000_0000);
        assert_eq!(KernelArch::from_name("i386-pae"), Some(KernelArch::I386Pae));
    }
}
