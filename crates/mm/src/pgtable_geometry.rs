//! The shape of the page tables of the kernel being modelled: how many levels a walk has,
//! which bits of a virtual address index each level, how wide an entry is, and which tables
//! every address space has from its creation. Each kernel profile selects one
//! ([`crate::kalloc::KernelArch::page_table_geometry`], [`crate::Config::page_table_geometry`]):
//!
//! | profile    | levels (top first)             | index bits   | entry | per table |
//! |------------|--------------------------------|--------------|-------|-----------|
//! | x86-64     | PGD, PUD, PMD, PTE             | 9/9/9/9 (+12)| 8 B   | 512       |
//! | i386 + PAE | PDPT, PMD, PTE                 | 2/9/9 (+12)  | 8 B   | 4, 512    |
//! | i386       | PGD (page directory), PTE      | 10/10 (+12)  | 4 B   | 1024      |
//!
//! The model stores every address space's tables in this geometry ([`crate::pgtable`]):
//! its walks have these levels, a table is allocated when the walk first needs it and freed
//! when `free_pgtables` would free it (its whole span between the neighbouring VMAs), so
//! without PAE a PTE table covers 4 MiB in the model as in the kernel. With PAE `pgd_alloc`
//! preallocates the PMD of each of the four PDPT entries, plus, with page-table isolation
//! on, one for the user copy of the kernel's entry, outside the user walk.
//!
//! What `mm_pgtables_bytes` counts (VmPTE, the OOM report's `pgtables_bytes`, badness) and
//! what meminfo's `PageTables` adds up are the tables below the root: measured on the i386
//! oracle (tests/golden/i386/*/pgtables.txt), forking a child raises `PageTables` by the
//! child's `VmPTE` exactly, on both geometries, so the root is not counted.
//!
//! Reference: <https://elixir.bootlin.com/linux/v6.1/source/arch/x86/mm/pgtable.c>

/// One level of a page-table walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableLevel {
    /// The name Linux gives this level's tables (`pgd_t`, `pmd_t`...), or the hardware's
    /// where Linux folds the level (PAE's PDPT is Linux's PGD).
    pub name: &'static str,
    /// The lowest virtual-address bit of this level's index.
    pub shift: u32,
    /// Bits of the index: the table has `1 << bits` entries.
    pub bits: u32,
    /// Bytes of one entry.
    pub entry_bytes: u32,
}

impl TableLevel {
    /// Entries in one table of this level.
    pub const fn entries(&self) -> u64 {
        1 << self.bits
    }

    /// Bytes of virtual address one entry maps.
    pub const fn entry_span(&self) -> u64 {
        1 << self.shift
    }

    /// Bytes of virtual address one whole table maps.
    pub const fn table_span(&self) -> u64 {
        1 << self.table_shift()
    }

    /// The lowest virtual-address bit above this level's index (log2 of [`Self::table_span`]).
    pub const fn table_shift(&self) -> u32 {
        self.shift + self.bits
    }

    /// The index of `va` in this level's table.
    pub const fn index(&self, va: u64) -> u64 {
        (va >> self.shift) & (self.entries() - 1)
    }
}

/// The page tables of one kernel profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageTableGeometry {
    /// The levels, root first, PTE last.
    pub levels: &'static [TableLevel],
    /// Tables `pgd_alloc` hangs from the root's first entries when it makes an address
    /// space (PAE: the four PMDs); they are ordinary tables of the walk afterwards.
    pub preallocated_in_walk: u64,
    /// Tables `pgd_alloc` makes outside the user walk and counts in the address space until
    /// it goes (PAE with page-table isolation: the PMD of the user copy of the kernel entry).
    pub preallocated_outside_walk: u64,
}

const fn level(name: &'static str, shift: u32, bits: u32, entry_bytes: u32) -> TableLevel {
    TableLevel { name, shift, bits, entry_bytes }
}

/// PMD pages a PAE `pgd_alloc` allocates and counts in the mm (`mm_inc_nr_pmds`) before any
/// fault: one for each of the PDPT's four entries, because with page-table isolation on (as
/// on the oracle: "Kernel/User page tables isolation: enabled", its CPU model not being known
/// as immune) the kernel's PMD is not shared, plus one for the user copy of the PDPT's kernel
/// entry. Measured: `VmPTE` of the pgtables probe at its start is 32 kB on 686-pae (3 PTE
/// tables + 5), 12 kB on 686 (3 PTE tables).
pub const PAE_PREALLOCATED_PMDS: u64 = 5;

/// Of [`PAE_PREALLOCATED_PMDS`], those the PDPT's entries point at.
const PAE_PDPT_ENTRIES: u64 = 4;

impl PageTableGeometry {
    /// x86-64 with 4-level paging: 48-bit addresses, the model's own tables.
    pub const X86_64: PageTableGeometry = PageTableGeometry {
        levels: &[level("PGD", 39, 9, 8), level("PUD", 30, 9, 8), level("PMD", 21, 9, 8), level("PTE", 12, 9, 8)],
        preallocated_in_walk: 0,
        preallocated_outside_walk: 0,
    };

    /// i386 with PAE: a 4-entry PDPT, PMDs of 512 eight-byte entries (2 MiB each), PTE tables
    /// of 512 eight-byte entries.
    pub const I386_PAE: PageTableGeometry = PageTableGeometry {
        levels: &[level("PDPT", 30, 2, 8), level("PMD", 21, 9, 8), level("PTE", 12, 9, 8)],
        preallocated_in_walk: PAE_PDPT_ENTRIES,
        preallocated_outside_walk: PAE_PREALLOCATED_PMDS - PAE_PDPT_ENTRIES,
    };

    /// i386 without PAE: a page directory of 1024 four-byte entries (4 MiB each), PTE tables
    /// of 1024 four-byte entries.
    pub const I386: PageTableGeometry = PageTableGeometry {
        levels: &[level("PGD", 22, 10, 4), level("PTE", 12, 10, 4)],
        preallocated_in_walk: 0,
        preallocated_outside_walk: 0,
    };

    /// The leaf (PTE) level.
    pub fn leaf(&self) -> &TableLevel {
        self.levels.last().expect("a geometry has levels")
    }

    /// Bytes of virtual address one PTE table maps.
    pub fn pte_table_span(&self) -> u64 {
        self.leaf().table_span()
    }

    /// Virtual addresses the walk translates: `[0, 2^bits)`.
    pub fn address_bits(&self) -> u32 {
        self.levels.first().map_or(0, |l| l.shift + l.bits)
    }

    /// Levels of the walk (4, 3 or 2).
    pub fn depth(&self) -> u32 {
        self.levels.len() as u32
    }

    /// The level whose entries a table at `height` above the PTE tables holds (0: the PTE
    /// tables' own level; `depth - 1` and above: the root's).
    pub fn table_level(&self, height: u32) -> &TableLevel {
        let depth = self.levels.len();
        &self.levels[depth - 1 - (height as usize).min(depth - 1)]
    }

    /// Entries a page-table page holds (4 KiB of entries; a PAE PDPT uses four of them).
    pub fn table_entries(&self) -> usize {
        (crate::layout::PAGE_SIZE / u64::from(self.leaf().entry_bytes)) as usize
    }

    /// The index of `va` at each level, root first.
    pub fn indices(&self, va: u64) -> Vec<u64> {
        self.levels.iter().map(|l| l.index(va)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::PAGE_SHIFT;

    #[test]
    fn each_geometry_translates_its_address_width_in_4_kib_pages() {
        for (g, bits, span) in [
            (PageTableGeometry::X86_64, 48, 2 << 20),
            (PageTableGeometry::I386_PAE, 32, 2 << 20),
            (PageTableGeometry::I386, 32, 4 << 20),
        ] {
            assert_eq!(g.address_bits(), bits);
            assert_eq!(g.pte_table_span(), span);
            assert_eq!(g.leaf().shift, PAGE_SHIFT);
            // Each level's index starts where the one below ends.
            for w in g.levels.windows(2) {
                assert_eq!(w[0].shift, w[1].shift + w[1].bits);
            }
            // A table of 8-byte entries or of 4-byte ones is one page, but PAE's PDPT.
            for l in g.levels.iter().filter(|l| l.name != "PDPT") {
                assert_eq!(l.entries() * u64::from(l.entry_bytes), 4096, "{}", l.name);
            }
        }
        assert_eq!(PageTableGeometry::I386.indices(0xbfff_f123), vec![0x2ff, 0x3ff]);
        assert_eq!(PageTableGeometry::I386_PAE.indices(0xbfff_f123), vec![2, 0x1ff, 0x1ff]);
    }
}
