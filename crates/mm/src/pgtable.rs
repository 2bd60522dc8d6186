//! Page tables in the kernel profile's geometry ([`crate::pgtable_geometry`]): x86-64's four
//! levels (PGD → PUD → PMD → PTE, 512 entries each), i386 PAE's three (PDPT → PMD → PTE) or
//! i386's two (page directory → PTE, 1024 entries each, a PTE table mapping 4 MiB). Walks,
//! allocation and freeing follow the geometry's levels, so a table lives exactly as long as
//! its Linux counterpart does (without PAE a PTE table stays while any of its 4 MiB is still
//! mapped, and fork or mremap copies one whenever the source has it).
//!
//! Every table is a frame from the frame allocator whose contents are its entries, so
//! page-table memory is real and accounted (VmPTE counts the tables below the root, as
//! Linux's `mm_pgtables_bytes` does). Entries are kept in the model's 64-bit form whatever the
//! geometry's entry width (an i386 entry has the same low flag bits and frame number; what it
//! lacks, NX, no i386 process without PAE can ask for). The functions here only walk and edit
//! tables; what an entry means for a page (refcounts, rmap) is the caller's business.

use crate::frame::{FrameTable, Owner, PageFlags, Pfn};
use crate::layout::PAGE_SHIFT;
use crate::pgtable_geometry::PageTableGeometry;
use bitflags::bitflags;

bitflags! {
    /// Bits of a page-table entry, as the x86-64 MMU defines them (plus Linux's software bit).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct PteFlags: u64 {
        /// The entry maps something; the MMU faults on any access when clear.
        const PRESENT = 1 << 0;
        /// Writes allowed; the MMU raises a protection fault on a write when clear.
        const WRITABLE = 1 << 1;
        /// User-mode access allowed.
        const USER = 1 << 2;
        /// Set by the MMU on any access.
        const ACCESSED = 1 << 5;
        /// Set by the MMU on a write (leaf entries).
        const DIRTY = 1 << 6;
        /// Linux `_PAGE_PROTNONE` (the global bit reused): mapped but inaccessible (PROT_NONE);
        /// the MMU sees a non-present entry.
        const PROTNONE = 1 << 8;
        /// Linux `_PAGE_SPECIAL` (software bit 9): no `struct page` refcounting (zero page).
        const SPECIAL = 1 << 9;
        /// Instruction fetch not allowed.
        const NX = 1 << 63;
    }
}

/// Mapped but inaccessible.
pub const PROTNONE: PteFlags = PteFlags::PROTNONE;

/// Bits of an entry that hold the physical frame number.
pub const PFN_MASK: u64 = 0x000f_ffff_ffff_f000;

/// A page-table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pte(pub u64);

impl Pte {
    /// An entry mapping `pfn` with `flags`.
    pub fn new(pfn: Pfn, flags: PteFlags) -> Pte {
        Pte(pfn.phys_addr() & PFN_MASK | flags.bits())
    }
    /// The frame mapped.
    pub fn pfn(self) -> Pfn {
        Pfn::from_phys_addr(self.0 & PFN_MASK)
    }
    /// The flag bits.
    pub fn flags(self) -> PteFlags {
        PteFlags::from_bits_truncate(self.0)
    }
    /// Whether the present bit is set.
    pub fn present(self) -> bool {
        self.0 & PteFlags::PRESENT.bits() != 0
    }
    /// Whether the entry maps a page, accessible or PROT_NONE (Linux `pte_present`).
    pub fn mapped(self) -> bool {
        self.0 & (PteFlags::PRESENT.bits() | PteFlags::PROTNONE.bits()) != 0
    }
    /// Whether the entry is empty (`pte_none`).
    pub fn is_none(self) -> bool {
        self.0 == 0
    }
    /// Whether writes are allowed.
    pub fn writable(self) -> bool {
        self.0 & PteFlags::WRITABLE.bits() != 0
    }
    /// Whether the dirty bit is set.
    pub fn dirty(self) -> bool {
        self.0 & PteFlags::DIRTY.bits() != 0
    }
    /// Returns the entry with `f` set.
    pub fn with(self, f: PteFlags) -> Pte {
        Pte(self.0 | f.bits())
    }
    /// Returns the entry with `f` cleared.
    pub fn without(self, f: PteFlags) -> Pte {
        Pte(self.0 & !f.bits())
    }
}

/// The shape of the tables `frames` holds.
fn geometry(frames: &FrameTable) -> PageTableGeometry {
    frames.page_table_geometry()
}

/// Index into the table at `level` (0 = PTE table, 1 = the table above it ... the root is
/// level `depth - 1`) for `va`, in the geometry of `frames`.
pub fn index_in(frames: &FrameTable, va: u64, level: u32) -> usize {
    geometry(frames).table_level(level).index(va) as usize
}

/// Index of `va` in its PTE table.
pub fn pte_index(frames: &FrameTable, va: u64) -> usize {
    frames.leaf_index(va)
}

/// Bytes covered by one entry of a table at `level`.
pub fn entry_span_in(frames: &FrameTable, level: u32) -> u64 {
    geometry(frames).table_level(level).entry_span()
}

/// Bytes one PTE table maps (2 MiB on x86-64 and PAE, 4 MiB without PAE).
pub fn leaf_span(frames: &FrameTable) -> u64 {
    geometry(frames).pte_table_span()
}

const TABLE_ENTRY: PteFlags =
    PteFlags::PRESENT.union(PteFlags::WRITABLE).union(PteFlags::USER).union(PteFlags::ACCESSED);

/// Allocates an empty top-level table (PGD), and nothing below it.
pub fn alloc_root(frames: &mut FrameTable) -> Option<Pfn> {
    let pfn = frames.alloc(Owner::PageTable, PageFlags::PGTABLE)?;
    frames.table_mut(pfn);
    Some(pfn)
}

/// The tables an address space gets when it is made (`pgd_alloc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RootTables {
    /// The root of the walk.
    pub root: Pfn,
    /// PAE with page-table isolation: the PMD of the user copy of the PDPT's kernel entry,
    /// counted with the address space's tables but outside its walk.
    pub pti_pmd: Option<Pfn>,
    /// Tables below the root counted in the address space: the preallocated ones in the
    /// walk and `pti_pmd`.
    pub counted: u64,
}

impl RootTables {
    /// No tables at all (an address space that gets its tables later).
    pub const NONE: RootTables = RootTables { root: Pfn::new(0), pti_pmd: None, counted: 0 };
}

/// Allocates the root and what the geometry preallocates with it (PAE: a PMD for each PDPT
/// entry and the isolation copy's). `None` when memory is exhausted (nothing is kept).
pub fn pgd_alloc(frames: &mut FrameTable) -> Option<RootTables> {
    let g = geometry(frames);
    let root = alloc_root(frames)?;
    let mut counted = 0;
    for i in 0..g.preallocated_in_walk {
        let Some(t) = frames.alloc(Owner::PageTable, PageFlags::PGTABLE) else {
            free_tables(frames, root, 0, 0, 0, 0);
            frames.free(root);
            return None;
        };
        frames.table_mut(t);
        frames.table_mut(root)[i as usize] = Pte::new(t, TABLE_ENTRY).0;
        counted += 1;
    }
    let pti_pmd = if g.preallocated_outside_walk > 0 {
        let Some(t) = frames.alloc(Owner::PageTable, PageFlags::PGTABLE) else {
            free_tables(frames, root, 0, 0, 0, 0);
            frames.free(root);
            return None;
        };
        frames.table_mut(t);
        counted += 1;
        Some(t)
    } else {
        None
    };
    Some(RootTables { root, pti_pmd, counted })
}

/// Returns the leaf (PTE-level) table covering `va`, if it exists.
#[inline]
pub fn leaf_table(frames: &FrameTable, root: Pfn, va: u64) -> Option<Pfn> {
    // The remembered table without a call: every user access asks.
    if let Some(table) = frames.remembered_leaf(root, va) {
        return Some(table);
    }
    table_at(frames, root, va, 0)
}

/// Returns the entry mapping `va` (empty if any level is missing).
pub fn lookup(frames: &FrameTable, root: Pfn, va: u64) -> Pte {
    match leaf_table(frames, root, va) {
        Some(t) => Pte(frames.entry(t, pte_index(frames, va))),
        None => Pte(0),
    }
}

/// Returns the leaf table covering `va`, allocating missing levels. Counts each new table in
/// `new_tables`. `None` when memory is exhausted.
pub fn leaf_table_alloc(frames: &mut FrameTable, root: Pfn, va: u64, new_tables: &mut u64) -> Option<Pfn> {
    table_at_alloc(frames, root, va, 0, new_tables)
}

/// Returns the table of `level` (0 = PTE table, 1 = the table pointing at PTE tables, 2 =
/// the one above...) on the walk to `va`, if every table above it exists. A level at or
/// above the geometry's root is the root (a two-level walk's PMD table is its directory).
pub fn table_at(frames: &FrameTable, root: Pfn, va: u64, level: u32) -> Option<Pfn> {
    if level == 0 {
        if let Some(table) = frames.remembered_leaf(root, va) {
            return Some(table);
        }
    }
    let g = geometry(frames);
    if va >> g.address_bits() != 0 {
        // Beyond what the walk translates (an i386 walk would wrap around).
        return None;
    }
    let mut table = root;
    for l in (level + 1..g.depth()).rev() {
        let e = Pte(frames.entry(table, g.table_level(l).index(va) as usize));
        if !e.present() {
            return None;
        }
        table = e.pfn();
    }
    if level == 0 {
        frames.remember_leaf(root, va, table);
    }
    Some(table)
}

/// Like [`table_at`], allocating the missing tables down to `level`; counts each new one
/// in `new_tables`. `None` when memory is exhausted.
pub fn table_at_alloc(frames: &mut FrameTable, root: Pfn, va: u64, level: u32, new_tables: &mut u64) -> Option<Pfn> {
    if level == 0 {
        if let Some(table) = frames.remembered_leaf(root, va) {
            return Some(table);
        }
    }
    let g = geometry(frames);
    debug_assert_eq!(va >> g.address_bits(), 0, "a table for an address the walk cannot translate");
    let mut table = root;
    for l in (level + 1..g.depth()).rev() {
        let i = g.table_level(l).index(va) as usize;
        let e = Pte(frames.table(table)[i]);
        table = if e.present() {
            e.pfn()
        } else {
            let t = frames.alloc(Owner::PageTable, PageFlags::PGTABLE)?;
            frames.table_mut(t);
            frames.table_mut(table)[i] = Pte::new(t, TABLE_ENTRY).0;
            *new_tables += 1;
            t
        };
    }
    if level == 0 {
        frames.remember_leaf(root, va, table);
    }
    Some(table)
}

/// Makes the entry for `va` in the parent table `parent` (of level `level + 1`) point at
/// `child`, a table of `level` (pmd_populate / pud_populate).
pub fn set_table_entry(frames: &mut FrameTable, parent: Pfn, va: u64, level: u32, child: Option<Pfn>) {
    frames.forget_leaf();
    let i = index_in(frames, va, level + 1);
    frames.table_mut(parent)[i] = child.map(|c| Pte::new(c, TABLE_ENTRY).0).unwrap_or(0);
}

/// A present or PROT_NONE entry found by [`mapped_ptes`]: the leaf table holding it, its
/// index there, the virtual address it maps and its value when it was listed.
#[derive(Clone, Copy, Debug)]
pub struct PteSlot {
    /// The leaf table.
    pub table: Pfn,
    /// The entry's index in it.
    pub index: usize,
    /// The virtual address the entry maps.
    pub va: u64,
    /// The entry as listed.
    pub pte: Pte,
}

/// Lists the mapped entries of `[start, end)` in address order. They are listed before the
/// caller acts on them, so a caller may rewrite or clear each entry as it goes.
pub fn mapped_ptes(frames: &FrameTable, root: Pfn, start: u64, end: u64) -> Vec<PteSlot> {
    let mut out = Vec::new();
    let span = leaf_span(frames);
    for (base, table) in leaf_tables(frames, root, start, end) {
        let entries = frames.table(table);
        let (lo, hi) = (start.max(base), end.min(base + span));
        for va in (lo..hi).step_by(crate::layout::PAGE_SIZE as usize) {
            let index = ((va - base) >> PAGE_SHIFT) as usize;
            let pte = Pte(entries[index]);
            if pte.mapped() {
                out.push(PteSlot { table, index, va, pte });
            }
        }
    }
    out
}

/// Lists the existing leaf tables that cover part of `[start, end)`, with the virtual
/// address each one starts at.
pub fn leaf_tables(frames: &FrameTable, root: Pfn, start: u64, end: u64) -> Vec<(u64, Pfn)> {
    let mut out = Vec::new();
    let g = geometry(frames);
    collect_leaves(frames, &g, root, g.depth() - 1, 0, start, end, &mut out);
    out
}

#[allow(clippy::too_many_arguments)]
fn collect_leaves(
    frames: &FrameTable,
    g: &PageTableGeometry,
    table: Pfn,
    level: u32,
    base: u64,
    start: u64,
    end: u64,
    out: &mut Vec<(u64, Pfn)>,
) {
    let l = g.table_level(level);
    let span = l.entry_span();
    let entries = &frames.table(table)[..l.entries() as usize];
    if end <= base {
        return;
    }
    // The entries whose span meets [start, end), found once rather than per entry: most of a
    // table's entries are empty, and the scan for the others is what a walk costs.
    let first = if start > base { ((start - base) / span) as usize } else { 0 };
    let last = ((end - 1 - base) / span).min(entries.len() as u64 - 1) as usize;
    if first > last {
        return;
    }
    for_each_set(&entries[first..=last], |i, e| {
        let e = Pte(e);
        if !e.present() {
            return;
        }
        let va = base + (first + i) as u64 * span;
        if level == 1 {
            out.push((va, e.pfn()));
        } else {
            collect_leaves(frames, g, e.pfn(), level - 1, va, start, end, out);
        }
    });
}

/// Calls `f` with the index and value of each non-zero entry of `entries`. A walk's time
/// goes to the empty entries of the tables above the leaves (a process's few tables each
/// have 512 entries, most of them empty); they are skipped eight at a time.
pub(crate) fn for_each_set(entries: &[u64], mut f: impl FnMut(usize, u64)) {
    for (c, chunk) in entries.chunks(8).enumerate() {
        if chunk.iter().fold(0, |acc, &e| acc | e) == 0 {
            continue;
        }
        for (j, &e) in chunk.iter().enumerate() {
            if e != 0 {
                f(c * 8 + j, e);
            }
        }
    }
}

/// Frees the tables below the root that cover part of the unmapped range `[start, end)` and
/// whose whole span lies inside `[floor, ceiling)` (`ceiling` 0 meaning the top of the
/// address space), like Linux's `free_pgtables` after an unmap: `floor` and `ceiling` are the
/// ends of the neighbouring VMAs, whose tables must stay. Returns how many tables were freed.
/// The spans are the geometry's: without PAE a PTE table goes only when all of its 4 MiB
/// may.
///
/// The caller must already have cleared every leaf entry in that range.
pub fn free_tables(frames: &mut FrameTable, root: Pfn, start: u64, end: u64, floor: u64, ceiling: u64) -> u64 {
    let ceiling = if ceiling == 0 { u64::MAX } else { ceiling };
    let end = if end == 0 { u64::MAX } else { end };
    let mut freed = 0;
    let bounds = Bounds { start, end, floor, ceiling };
    let g = geometry(frames);
    free_within(frames, &g, root, g.depth() - 1, 0, &bounds, &mut freed);
    freed
}

/// The range being unmapped and the range whose tables may go.
struct Bounds {
    start: u64,
    end: u64,
    floor: u64,
    ceiling: u64,
}

fn free_within(
    frames: &mut FrameTable,
    g: &PageTableGeometry,
    table: Pfn,
    level: u32,
    base: u64,
    b: &Bounds,
    freed: &mut u64,
) {
    if level == 0 {
        return;
    }
    let l = g.table_level(level);
    let span = l.entry_span();
    // Only the entries that cover part of the unmapped range: its neighbours' tables stay,
    // and elsewhere there is nothing left to free.
    let first = if b.start > base { ((b.start - base) / span) as usize } else { 0 };
    // Nor those at or above the end of the range or the ceiling: an unmap of one page looked
    // at the whole rest of every table on its way down (four times 512 entries at most), a
    // quarter of the cost of an mmap/munmap pair.
    let stop = b.end.min(b.ceiling).saturating_sub(base).div_ceil(span).min(l.entries());
    // The table is looked up once for its present entries (a lookup per entry was most of
    // the cost of an exit): the walk below changes only tables under them.
    let present = present_entries(frames, table, first, stop as usize);
    for (i, e) in present {
        let lo = base + i as u64 * span;
        debug_assert!(lo < b.end && lo < b.ceiling, "an entry past the range");
        let hi = lo + span - 1; // inclusive, so the top entry does not overflow
        if lo >= b.floor && hi < b.ceiling {
            free_subtree(frames, g, e.pfn(), level - 1, freed);
            frames.table_mut(table)[i] = 0;
        } else {
            free_within(frames, g, e.pfn(), level - 1, lo, b, freed);
        }
    }
}

/// The present entries of `table` from index `first` up to `entries`, with their indices.
fn present_entries(frames: &FrameTable, table: Pfn, first: usize, entries: usize) -> Vec<(usize, Pte)> {
    let t = frames.table(table);
    let t = &t[..entries.min(t.len())];
    t.iter().enumerate().skip(first).map(|(i, &e)| (i, Pte(e))).filter(|(_, e)| e.present()).collect()
}

fn free_subtree(frames: &mut FrameTable, g: &PageTableGeometry, table: Pfn, level: u32, freed: &mut u64) {
    if level > 0 {
        for (_, e) in present_entries(frames, table, 0, g.table_level(level).entries() as usize) {
            free_subtree(frames, g, e.pfn(), level - 1, freed);
        }
    } else {
        debug_assert!(frames.table(table).iter().all(|&e| e == 0), "freeing a PTE table that still maps pages");
    }
    frames.free(table);
    *freed += 1;
}

/// [`count_tables`] and [`leaf_tables`] over the whole address space in one walk: the
/// number of tables below `root` and the leaf tables with their addresses.
pub fn tables_and_leaves(frames: &FrameTable, root: Pfn) -> (u64, Vec<(u64, Pfn)>) {
    fn walk(
        frames: &FrameTable,
        g: &PageTableGeometry,
        t: Pfn,
        level: u32,
        base: u64,
        out: &mut Vec<(u64, Pfn)>,
    ) -> u64 {
        let l = g.table_level(level);
        let span = l.entry_span();
        let mut n = 0;
        for_each_set(&frames.table(t)[..l.entries() as usize], |i, e| {
            let e = Pte(e);
            if !e.present() {
                return;
            }
            let va = base + i as u64 * span;
            n += 1;
            if level == 1 {
                out.push((va, e.pfn()));
            } else {
                n += walk(frames, g, e.pfn(), level - 1, va, out);
            }
        });
        n
    }
    let g = geometry(frames);
    let mut out = Vec::new();
    let n = walk(frames, &g, root, g.depth() - 1, 0, &mut out);
    (n, out)
}

/// Counts the page tables below the root reachable from it.
pub fn count_tables(frames: &FrameTable, root: Pfn) -> u64 {
    tables_and_leaves(frames, root).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_allocates_three_levels_then_reuses_them() {
        let mut frames = FrameTable::new(1024);
        let root = alloc_root(&mut frames).unwrap();
        let mut n = 0;
        let t = leaf_table_alloc(&mut frames, root, 0x7fff_ffff_e000, &mut n).unwrap();
        assert_eq!(n, 3);
        let t2 = leaf_table_alloc(&mut frames, root, 0x7fff_ffe0_0000, &mut n).unwrap();
        assert_eq!((t, n), (t2, 3));
        let i = pte_index(&frames, 0x7fff_ffff_e000);
        frames.table_mut(t)[i] = Pte::new(Pfn::new(42), PteFlags::PRESENT).0;
        assert_eq!(lookup(&frames, root, 0x7fff_ffff_e123).pfn(), Pfn::new(42));
        frames.table_mut(t)[i] = 0;
        assert_eq!(free_tables(&mut frames, root, 0, 0, 0, 0), 3);
        assert_eq!(count_tables(&frames, root), 0);
    }

    #[test]
    fn the_remembered_leaf_table_goes_with_the_tables() {
        let mut frames = FrameTable::new(1024);
        let root = alloc_root(&mut frames).unwrap();
        let other_root = alloc_root(&mut frames).unwrap();
        let mut n = 0;
        let t = leaf_table_alloc(&mut frames, root, 0x40_0000, &mut n).unwrap();
        assert_eq!(leaf_table(&frames, root, 0x40_1000), Some(t));
        // Another address space, or another 2 MiB of this one, is not the remembered table.
        assert_eq!(leaf_table(&frames, other_root, 0x40_1000), None);
        assert_eq!(leaf_table(&frames, root, 0x60_0000), None);
        assert_eq!(leaf_table(&frames, root, 0x40_2000), Some(t));
        // Freed tables are not found again, even when their frames come back as tables.
        free_tables(&mut frames, root, 0x40_0000, 0x60_0000, 0, 0);
        assert_eq!(leaf_table(&frames, root, 0x40_0000), None);
        leaf_table_alloc(&mut frames, root, 0x8000_0000, &mut n).unwrap();
        assert_eq!(leaf_table(&frames, root, 0x40_0000), None);
        // A repointed upper entry is seen at once.
        let t = leaf_table_alloc(&mut frames, root, 0x40_0000, &mut n).unwrap();
        let pmd = table_at(&frames, root, 0x40_0000, 1).unwrap();
        assert_eq!(leaf_table(&frames, root, 0x40_0000), Some(t));
        set_table_entry(&mut frames, pmd, 0x40_0000, 0, None);
        assert_eq!(leaf_table(&frames, root, 0x40_0000), None);
        set_table_entry(&mut frames, pmd, 0x40_0000, 0, Some(t));
        assert_eq!(leaf_table(&frames, root, 0x40_0000), Some(t));
    }

    #[test]
    fn free_keeps_tables_shared_with_neighbours() {
        let mut frames = FrameTable::new(1024);
        let root = alloc_root(&mut frames).unwrap();
        let mut n = 0;
        leaf_table_alloc(&mut frames, root, 0x40_0000, &mut n).unwrap();
        leaf_table_alloc(&mut frames, root, 0x60_0000, &mut n).unwrap();
        // A neighbour still ends inside the first table's 2 MiB: only the second is freed.
        assert_eq!(free_tables(&mut frames, root, 0x40_1000, 0x8000_0000, 0x40_1000, 0x8000_0000), 1);
        assert_eq!(count_tables(&frames, root), 3);
    }

    /// Frames of the geometry `g`, with a root.
    fn frames_of(g: PageTableGeometry) -> (FrameTable, RootTables) {
        let mut frames = FrameTable::new(1024);
        frames.set_page_table_geometry(g);
        let roots = pgd_alloc(&mut frames).unwrap();
        (frames, roots)
    }

    #[test]
    fn without_pae_one_pte_table_maps_4_mib_and_goes_only_with_all_of_it() {
        let (mut frames, roots) = frames_of(PageTableGeometry::I386);
        let root = roots.root;
        assert_eq!((roots.counted, roots.pti_pmd), (0, None));
        let mut n = 0;
        let t = leaf_table_alloc(&mut frames, root, 0x0840_0000, &mut n).unwrap();
        assert_eq!(leaf_table_alloc(&mut frames, root, 0x087f_f000, &mut n), Some(t));
        assert_eq!((n, frames.table(t).len(), frames.table(root).len()), (1, 1024, 1024));
        assert_eq!(pte_index(&frames, 0x087f_f000), 1023);
        assert_eq!(leaf_tables(&frames, root, 0, 1 << 32), vec![(0x0840_0000, t)]);
        // A neighbour still maps the lower 2 MiB: unmapping the upper half keeps the table.
        assert_eq!(free_tables(&mut frames, root, 0x0860_0000, 0x0880_0000, 0x0860_0000, 0x0880_0000), 0);
        assert_eq!(free_tables(&mut frames, root, 0x0840_0000, 0x0880_0000, 0x0840_0000, 0x0880_0000), 1);
        assert_eq!(count_tables(&frames, root), 0);
        // Addresses past 4 GiB are not on a 32-bit walk (they would wrap around).
        leaf_table_alloc(&mut frames, root, 0x0840_0000, &mut n).unwrap();
        assert_eq!(leaf_table(&frames, root, 0x1_0840_0000), None);
    }

    #[test]
    fn pae_preallocates_the_pdpt_pmds_and_the_isolation_copy() {
        let (mut frames, roots) = frames_of(PageTableGeometry::I386_PAE);
        assert_eq!(roots.counted, 5);
        assert!(roots.pti_pmd.is_some());
        assert_eq!(count_tables(&frames, roots.root), 4);
        let mut n = 0;
        leaf_table_alloc(&mut frames, roots.root, 0xbfff_f000, &mut n).unwrap();
        assert_eq!(n, 1, "only the PTE table: the PMD was there");
        assert_eq!(table_at(&frames, roots.root, 0xbfff_f000, 2), Some(roots.root));
        assert_eq!(free_tables(&mut frames, roots.root, 0, 0, 0, 0), 5);
    }
}
