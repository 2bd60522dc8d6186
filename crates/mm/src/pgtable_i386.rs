//! How a native i386 kernel's page tables cover a user address space, told from the model's
//! tables.
//!
//! The model keeps every address space in four-level x86-64 tables (512 eight-byte entries,
//! a leaf table per 2 MiB). Below 4 GiB those leaves are exactly the PTE tables of i386 with
//! PAE (three levels: a 4-entry PDPT, PMDs of 512 entries, PTE tables of 512 eight-byte
//! entries, 2 MiB each); without PAE (two levels: a page directory of 1024 four-byte entries
//! and PTE tables of 1024 four-byte entries, 4 MiB each) one PTE table covers two of the
//! model's leaves. So the entries the i386 kernel would hold are the model's; only the count
//! of table pages differs, and it is computed here from the leaves that exist.
//!
//! Reference: <https://elixir.bootlin.com/linux/v6.1/source/arch/x86/mm/pgtable.c>

use crate::frame::{FrameTable, Pfn};
use crate::kalloc::KernelArch;
use crate::space::I386_TASK_SIZE;

/// Bytes one PTE table maps on a native i386 kernel without PAE (1024 entries × 4 KiB).
pub const I386_PTE_TABLE_SPAN: u64 = 4 << 20;
/// Bytes one PTE table maps with PAE (512 entries × 4 KiB).
pub const I386_PAE_PTE_TABLE_SPAN: u64 = 2 << 20;

/// PMD pages a PAE `pgd_alloc` allocates and counts in the mm (`mm_inc_nr_pmds`) before any
/// fault: one for each of the PDPT's four entries, because with page-table isolation on (as
/// on the oracle: "Kernel/User page tables isolation: enabled", its CPU model not being known
/// as immune) the kernel's PMD is not shared, plus one for the user copy of the PDPT's kernel
/// entry. Measured: `VmPTE` of `cat /proc/self/maps` is 36 kB on 686-pae (4 PTE tables + 5),
/// 12 kB on 686 (3 PTE tables).
pub const PAE_PREALLOCATED_PMDS: u64 = 5;

/// The page-table pages the mm of a process would have on the native `arch` kernel
/// (`mm_pgtables_bytes` / 4 KiB, what `VmPTE` shows): PTE tables, plus the preallocated PMDs
/// with PAE. `None` on x86-64, whose count is the model's own.
pub fn user_table_pages(frames: &FrameTable, root: Pfn, arch: KernelArch) -> Option<u64> {
    let leaves = crate::pgtable::leaf_tables(frames, root, 0, I386_TASK_SIZE);
    match arch {
        KernelArch::X86_64 => None,
        KernelArch::I386Pae => Some(leaves.len() as u64 + PAE_PREALLOCATED_PMDS),
        KernelArch::I386 => {
            let mut spans: Vec<u64> = leaves.iter().map(|&(va, _)| va / I386_PTE_TABLE_SPAN).collect();
            spans.dedup();
            Some(spans.len() as u64)
        }
    }
}

/// The levels of a user page-table walk on `arch`, top first, with the bytes one entry of
/// each maps: what the report shows for a page.
pub fn walk_levels(arch: KernelArch) -> &'static [(&'static str, u64)] {
    match arch {
        KernelArch::X86_64 => &[("PGD", 1 << 39), ("PUD", 1 << 30), ("PMD", 1 << 21), ("PTE", 1 << 12)],
        KernelArch::I386Pae => &[("PDPT", 1 << 30), ("PMD", I386_PAE_PTE_TABLE_SPAN), ("PTE", 1 << 12)],
        KernelArch::I386 => &[("PGD", I386_PTE_TABLE_SPAN), ("PTE", 1 << 12)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_leaves_of_one_4_mib_span_are_one_i386_table() {
        let mut frames = FrameTable::new(64);
        let root = crate::pgtable::alloc_root(&mut frames).unwrap();
        let mut new = 0;
        for va in [0x0804_8000, 0x0824_0000, 0xbfff_f000] {
            crate::pgtable::leaf_table_alloc(&mut frames, root, va, &mut new).unwrap();
        }
        assert_eq!(user_table_pages(&frames, root, KernelArch::I386), Some(2));
        assert_eq!(user_table_pages(&frames, root, KernelArch::I386Pae), Some(3 + PAE_PREALLOCATED_PMDS));
        assert_eq!(user_table_pages(&frames, root, KernelArch::X86_64), None);
        assert_eq!(walk_levels(KernelArch::I386).len(), 2);
        assert_eq!(walk_levels(KernelArch::I386Pae).len(), 3);
    }
}
