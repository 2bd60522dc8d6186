//! The kernel's own page tables for the parts of its address space that change at run time:
//! the vmalloc area and the kmap window (the direct map is built at boot, from memory the
//! model counts as reserved, and never changes).
//!
//! Each profile's format is real: on i386 without PAE a PTE table is 1024 four-byte entries
//! mapping 4 MiB, pointed to directly by the page directory; with PAE and on x86-64 it is 512
//! eight-byte entries mapping 2 MiB. The top levels for the kernel half are built at boot
//! (x86-64 preallocates the vmalloc area's PUD pages, i386 PAE its kernel PMD page), except
//! that x86-64 needs a PMD table per 1 GiB of vmalloc space in use. A table the kernel built
//! stays when the mappings in it go (`vunmap` clears entries, it frees no table), as in Linux.
//!
//! An entry is `pfn << 12 | flags` with PAGE_KERNEL's flags: present, writable, accessed,
//! dirty, global, and NX where the format has it.

use super::layout::KernelArch;
use crate::frame::{FrameTable, Pfn};
use crate::layout::PAGE_SHIFT;
use std::collections::BTreeMap;

/// PAGE_KERNEL without NX: present, writable, accessed, dirty, global.
pub const PAGE_KERNEL_NOEXEC_BITS: u64 = 0x163;
/// The NX bit of 8-byte entries.
pub const PTE_NX: u64 = 1 << 63;
/// Bytes mapped by one x86-64 PMD table.
const X86_64_PMD_TABLE_SPAN: u64 = 1 << 30;

/// Kernel page tables: the leaf tables by the span each maps, and x86-64's PMD tables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelTables {
    /// PTE tables by `va / span`.
    pte_tables: BTreeMap<u64, Pfn>,
    /// x86-64 PMD tables by `va / 1 GiB`.
    pmd_tables: BTreeMap<u64, Pfn>,
}

impl KernelTables {
    /// Frames holding kernel page tables.
    pub fn frames(&self) -> impl Iterator<Item = Pfn> + '_ {
        self.pte_tables.values().chain(self.pmd_tables.values()).copied()
    }

    /// The PTE tables with the addresses they start at, in address order.
    pub fn pte_tables(&self, arch: KernelArch) -> impl Iterator<Item = (u64, Pfn)> + '_ {
        let span = arch.pte_table_span();
        self.pte_tables.iter().map(move |(&i, &pfn)| (i * span, pfn))
    }

    /// Number of kernel page-table frames.
    pub fn count(&self) -> u64 {
        (self.pte_tables.len() + self.pmd_tables.len()) as u64
    }

    /// The PTE table covering `va`, if built.
    pub fn pte_table(&self, arch: KernelArch, va: u64) -> Option<Pfn> {
        self.pte_tables.get(&(va / arch.pte_table_span())).copied()
    }

    /// Which tables mapping `va` need building: (needs a PMD table, needs a PTE table).
    pub fn missing(&self, arch: KernelArch, va: u64) -> (bool, bool) {
        let pmd = arch == KernelArch::X86_64 && !self.pmd_tables.contains_key(&(va / X86_64_PMD_TABLE_SPAN));
        (pmd, !self.pte_tables.contains_key(&(va / arch.pte_table_span())))
    }

    /// Records newly built tables for `va` (frames the caller allocated and zeroed).
    pub fn install(&mut self, arch: KernelArch, frames: &mut FrameTable, va: u64, pmd: Option<Pfn>, pte: Option<Pfn>) {
        if let Some(pmd) = pmd {
            self.pmd_tables.insert(va / X86_64_PMD_TABLE_SPAN, pmd);
        }
        if let Some(pte) = pte {
            self.pte_tables.insert(va / arch.pte_table_span(), pte);
            if let Some(pmd) = self.pmd_tables.get(&(va / X86_64_PMD_TABLE_SPAN)).filter(|_| arch == KernelArch::X86_64)
            {
                // The PMD entry pointing at the new PTE table (a table entry: present, writable).
                let slot = ((va >> 21) & 511) as usize;
                frames.table_mut(*pmd)[slot] = pte.phys_addr() | 0x63;
            }
        }
    }

    /// The entry for `va` (0 when not mapped).
    pub fn entry(&self, arch: KernelArch, frames: &FrameTable, va: u64) -> u64 {
        let Some(table) = self.pte_table(arch, va) else { return 0 };
        let index = ((va >> PAGE_SHIFT) % arch.ptrs_per_pte()) as usize;
        frames.table(table)[index]
    }

    /// Sets the entry for `va` to map `pfn` (or clears it with `None`); the table exists.
    pub fn set(&self, arch: KernelArch, frames: &mut FrameTable, va: u64, pfn: Option<Pfn>) {
        let table = self.pte_table(arch, va).expect("kernel PTE table built before its entries");
        let index = ((va >> PAGE_SHIFT) % arch.ptrs_per_pte()) as usize;
        // A table holds one entry a slot, as many as its format has (the frame table gives
        // the profile's count); i386 entries are four bytes, without NX.
        let nx = if arch == KernelArch::I386 { 0 } else { PTE_NX };
        frames.table_mut(table)[index] = pfn.map_or(0, |p| p.phys_addr() | PAGE_KERNEL_NOEXEC_BITS | nx);
    }
}
