//! `FrameTable`: per-frame metadata (refcount, mapcount, flags, owner) and contents.
//!
//! Metadata lives in chunks of 512 frames that are allocated the first time the buddy
//! allocator hands out a frame inside them, and frame bytes are allocated only when first
//! written (a frame with no bytes reads as zeros), so a large simulated RAM costs nothing
//! until it is used.
//!
//! Chunks are shared between copies of a table and copied on the first write (an `Arc` each):
//! a copy of the machine (the replay's snapshots of the states threads may have been in, the
//! fuzz harness's fresh machine for each input) costs one reference a chunk, and what the
//! copy then changes costs the chunks it touches, not the whole RAM in use.

use super::buddy::BuddyAllocator;
use super::Pfn;
use crate::layout::PAGE_SIZE;
use crate::pgtable_geometry::PageTableGeometry;
use bitflags::bitflags;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::Arc;

const CHUNK_SHIFT: u32 = 9;
const CHUNK_FRAMES: usize = 1 << CHUNK_SHIFT;

/// The chunk holding `pfn`'s metadata (frame numbers are below the frame count, whose chunks
/// [`FrameTable::new`] made).
fn chunk_index(pfn: Pfn) -> usize {
    (pfn.as_u64() >> CHUNK_SHIFT) as usize
}

/// The chunk of `chunks` holding `pfn`'s metadata, if any frame of it was ever written
/// (the list grows as chunks are first written).
#[inline]
fn chunk_of(chunks: &[Option<Arc<Chunk>>], pfn: Pfn) -> Option<&Chunk> {
    chunks.get(chunk_index(pfn)).and_then(Option::as_deref)
}

/// `pfn`'s place inside its chunk.
fn slot_index(pfn: Pfn) -> usize {
    pfn.as_u64() as usize & (CHUNK_FRAMES - 1)
}

bitflags! {
    /// Page flags (the subset of `enum pageflags` the model uses).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct PageFlags: u16 {
        /// Contents are valid.
        const UPTODATE = 1 << 0;
        /// Contents differ from the backing store.
        const DIRTY = 1 << 1;
        /// Anonymous memory.
        const ANON = 1 << 2;
        /// Anonymous page mapped by exactly one process that may write it without COW.
        const ANON_EXCLUSIVE = 1 << 3;
        /// mlocked.
        const MLOCKED = 1 << 4;
        /// Recently accessed.
        const REFERENCED = 1 << 5;
        /// Swap-backed (anonymous or shmem).
        const SWAPBACKED = 1 << 6;
        /// Part of a page table.
        const PGTABLE = 1 << 7;
        /// Reserved at boot; never allocated (the zero page).
        const RESERVED = 1 << 8;
        /// On the active LRU list.
        const ACTIVE = 1 << 9;
        /// On the unevictable LRU list: set when the mlock batch holding an mlocked page
        /// drains (see [`crate::folio_batch`]), cleared when it is munlocked.
        const UNEVICTABLE = 1 << 10;
        /// Waiting in this CPU's activate batch (Linux has it off the LRU, PG_lru clear):
        /// PG_active comes when the batch drains (see [`crate::folio_batch`]).
        const ACTIVATE_BATCHED = 1 << 11;
        /// An anonymous page MADV_FREE freed whose move to the lazy-free list a replayed
        /// read showed still waiting in the per-CPU batch of the CPU that called it (off
        /// the LRU, PG_lru clear): the batch holds a reference to it until it drains, so
        /// a read pin from another CPU (a tracer's) cannot reuse it and unshares it by a
        /// copy (see [`crate::reclaim::observed`]).
        const LAZYFREE_BATCHED = 1 << 12;
        /// An active page MADV_COLD deactivates whose move waits in the deactivate batch of
        /// the caller's CPU (off the LRU): the drain clears PG_active and PG_referenced,
        /// whatever set PG_referenced meanwhile (see [`crate::folio_batch`]).
        const DEACTIVATE_BATCHED = 1 << 13;
    }
}

/// Who a frame belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Owner {
    /// On the buddy free lists.
    #[default]
    Free,
    /// Reserved at boot (pfn 0, the shared zero page).
    Reserved,
    /// An anonymous page.
    Anon,
    /// A page-cache page: page `index` of file `file` (files end below 16 TiB, so a page
    /// index fits 32 bits; keeping it small keeps the frame table at 24 bytes a frame).
    File {
        /// The file's id.
        file: u32,
        /// Page index within the file.
        index: u32,
    },
    /// A page-table page.
    PageTable,
    /// Memory the kernel took for itself through its allocators ([`crate::kalloc`]): user
    /// pages can never have it until it is freed.
    Kernel(KernelUse),
}

/// What the kernel uses a frame of its own for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KernelUse {
    /// A block from `__get_free_pages` (or a `kmalloc` too large for the slab caches).
    Pages,
    /// A slab of a `kmalloc` cache.
    Slab,
    /// A page behind a vmalloc area.
    Vmalloc,
    /// A page table of the kernel's own address space (vmalloc area, kmap window).
    PageTable,
}

/// The `struct page` analogue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameMeta {
    /// References: one per PTE mapping plus one per other holder (page cache, pins).
    pub refcount: u32,
    /// Number of PTEs mapping the frame.
    pub mapcount: u32,
    /// Page flags.
    pub flags: PageFlags,
    /// Owner.
    pub owner: Owner,
    /// The memory cgroup the frame is charged to (it fits in the padding after `flags`).
    pub memcg: crate::memcg::MemcgId,
}

/// The length of `bytes` without its trailing zeros.
///
/// Whole 64-byte blocks are tested first, with an OR the compiler turns into vector code: a
/// byte-by-byte scan of a zeroed page took about half of the time of writing a new file.
pub(crate) fn used_len(bytes: &[u8]) -> usize {
    let mut end = bytes.len();
    while end >= 64 && bytes[end - 64..end].iter().fold(0, |acc, &b| acc | b) == 0 {
        end -= 64;
    }
    bytes[..end].iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)
}

/// The bytes of a frame.
///
/// A data page keeps only its bytes up to the highest one written, in one of four sizes (the
/// rest reads as zero). Each size is a thin box, so a slot costs 16 bytes, not 24.
#[derive(Clone, Debug)]
pub enum FrameData {
    /// Up to 64 bytes.
    Bytes64(Box<[u8; 64]>),
    /// Up to 512 bytes.
    Bytes512(Box<[u8; 512]>),
    /// Up to 2048 bytes.
    Bytes2k(Box<[u8; 2048]>),
    /// A whole page.
    Bytes(Box<[u8; PAGE_SIZE as usize]>),
    /// A page-table page of a geometry with 512 entries a table (x86-64, i386 PAE).
    Table(Box<[u64; 512]>),
    /// A page-table page of a geometry with 1024 entries a table (i386 without PAE: 1024
    /// four-byte entries in the page, each kept here as the model's 64-bit entry).
    WideTable(Box<[u64; 1024]>),
    /// A page-table page whose 512 entries all map the zero page the same way, sharing one
    /// copy with every other such table (see [`FrameTable::share_zero_table`]): populating a
    /// huge read-only mapping then costs no host memory for its tables. Written to, it gets
    /// a copy of its own first.
    SharedTable(std::sync::Arc<[u64; 512]>),
}

impl FrameData {
    /// Room for at least `n` bytes of a data page, zeroed.
    fn with_capacity(n: usize) -> FrameData {
        match n {
            0..=64 => FrameData::Bytes64(Box::new([0; 64])),
            65..=512 => FrameData::Bytes512(Box::new([0; 512])),
            513..=2048 => FrameData::Bytes2k(Box::new([0; 2048])),
            _ => FrameData::Bytes(Box::new([0; PAGE_SIZE as usize])),
        }
    }

    /// The stored bytes of a data page (none for a page table).
    fn bytes(&self) -> &[u8] {
        match self {
            FrameData::Bytes64(b) => &b[..],
            FrameData::Bytes512(b) => &b[..],
            FrameData::Bytes2k(b) => &b[..],
            FrameData::Bytes(b) => &b[..],
            FrameData::Table(_) | FrameData::WideTable(_) | FrameData::SharedTable(_) => &[],
        }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        match self {
            FrameData::Bytes64(b) => &mut b[..],
            FrameData::Bytes512(b) => &mut b[..],
            FrameData::Bytes2k(b) => &mut b[..],
            FrameData::Bytes(b) => &mut b[..],
            FrameData::Table(_) | FrameData::WideTable(_) | FrameData::SharedTable(_) => &mut [],
        }
    }
}

/// The iterator of [`FrameTable::allocated`]: a plain scan of the chunks' metadata (the
/// invariant check makes several a call, over every frame; nested adapters cost it twice).
struct Allocated<'a> {
    chunks: &'a [Option<Arc<Chunk>>],
    chunk: usize,
    slot: usize,
}

impl Iterator for Allocated<'_> {
    type Item = (Pfn, FrameMeta);

    fn next(&mut self) -> Option<(Pfn, FrameMeta)> {
        while let Some(c) = self.chunks.get(self.chunk) {
            if let Some(c) = c {
                while let Some(m) = c.meta.get(self.slot) {
                    self.slot += 1;
                    if !matches!(m.owner, Owner::Free | Owner::Reserved) {
                        let pfn = Pfn::new(((self.chunk << CHUNK_SHIFT) + self.slot - 1) as u64);
                        return Some((pfn, *m));
                    }
                }
            }
            self.chunk += 1;
            self.slot = 0;
        }
        None
    }
}

#[derive(Clone, Debug)]
struct Chunk {
    meta: Vec<FrameMeta>,
    data: Vec<Option<FrameData>>,
}

impl Chunk {
    fn new() -> Self {
        Chunk { meta: vec![FrameMeta::default(); CHUNK_FRAMES], data: vec![None; CHUNK_FRAMES] }
    }
}

/// All physical frames: the buddy allocator plus per-frame metadata and contents.
///
/// # Invariants
/// A frame is `Owner::Free` exactly when the buddy allocator has it free; free frames have no
/// bytes, refcount 0 and mapcount 0.
#[derive(Clone, Debug)]
pub struct FrameTable {
    buddy: BuddyAllocator,
    chunks: Vec<Option<Arc<Chunk>>>,
    zero_pfn: Pfn,
    /// Frames allocated as page-table pages.
    pub pagetable_frames: u64,
    /// Frames handed out since boot (vmstat pgalloc).
    pub allocs: u64,
    /// Frames given back since boot (vmstat pgfree).
    pub frees: u64,
    /// The shape of every page table these frames hold: the kernel profile's.
    geometry: PageTableGeometry,
    /// The PTE level of `geometry`: where its index starts in an address and how many bits
    /// it has (every user access asks; the geometry's level list is a walk away).
    leaf_shift: u32,
    leaf_bits: u32,
    /// The leaf table last found on a walk: (root, the address's leaf-table span, leaf table).
    /// It plays the part of the paging-structure caches of a real MMU: walks of one address
    /// space come in runs over neighbouring pages, and this spares each of them the three
    /// upper levels. Freeing any page-table frame, or repointing an upper entry, forgets it.
    leaf_hint: Cell<Option<(Pfn, u64, Pfn)>>,
    /// Mappings of each frame from VM_LOCKED VMAs (Linux's mlock_count), for the frames
    /// that have any: few frames do, and a field in every frame's metadata would cost 4 bytes
    /// a page (measured 4159-4162 bytes a whole written page with it, against 4160 allowed).
    mlock_counts: BTreeMap<Pfn, u32>,
    /// The part of a frame's mlock count that no locked mapping stands for any more: an
    /// MREMAP_DONTUNMAP clears VM_LOCKED on its source VMA and leaves the pages still mapped
    /// there mlocked (Linux munlocks nothing then; such a page stays unevictable until it is
    /// freed or its count runs out). An entry of 0 is a page left mlocked with no count at
    /// all: Linux zeroes the count of a page it puts back on the unevictable list (after
    /// MADV_PAGEOUT passed over it), and the next munlock then clears PG_mlocked. Rare, so
    /// kept apart like the counts.
    mlock_stranded: BTreeMap<Pfn, u32>,
    /// Frames that locked mappings map but that are not mlocked: the munlock of the last
    /// locked mapping and the mlock of a new one waited in the same mlock batch, and the
    /// drain, taking them in order, cleared PG_mlocked first, so the mlock found the page
    /// evictable and left it so (__mlock_folio). Until a new locked mapping maps it or the
    /// last one goes, the page is evictable (Linux's reclaim would mlock it again on
    /// finding the locked mapping; the model's leaves it alone).
    mlock_escaped: std::collections::BTreeSet<Pfn>,
    /// Frames freed while still mlocked (vmstat unevictable_pgs_cleared).
    pub mlock_cleared: u64,
    /// The one copy of a table of 512 equal zero-page entries, by entry (a handful of
    /// permission variants at most), that [`FrameData::SharedTable`]s share.
    zero_tables: BTreeMap<u64, std::sync::Arc<[u64; 512]>>,
    /// The memory cgroups each allocation is charged to.
    pub memcgs: crate::memcg::Memcgs,
}

impl FrameTable {
    /// Creates the physical memory of `total_frames` frames, reserving pfn 0 (never handed
    /// out, like the real first page) and the shared zero page.
    pub fn new(total_frames: u64) -> Self {
        let mut t = FrameTable {
            buddy: BuddyAllocator::new(total_frames),
            // Grown as frames are first written (see `chunk_slot`): a replay's machine has
            // 16 GiB of frames, and filling (and later dropping) a table of all their chunks
            // was a tenth of replaying a short log.
            chunks: Vec::new(),
            zero_pfn: Pfn::new(1),
            pagetable_frames: 0,
            allocs: 0,
            frees: 0,
            geometry: PageTableGeometry::X86_64,
            leaf_shift: PageTableGeometry::X86_64.leaf().shift,
            leaf_bits: PageTableGeometry::X86_64.leaf().bits,
            leaf_hint: Cell::new(None),
            mlock_counts: BTreeMap::new(),
            mlock_stranded: BTreeMap::new(),
            mlock_escaped: Default::default(),
            mlock_cleared: 0,
            zero_tables: BTreeMap::new(),
            memcgs: Default::default(),
        };
        t.buddy.reserve(0, 2);
        for pfn in Pfn::new(0).span(2) {
            let m = t.meta_mut(pfn);
            m.owner = Owner::Reserved;
            m.flags = PageFlags::RESERVED | PageFlags::UPTODATE;
        }
        t
    }

    /// The page-table geometry of the tables these frames hold.
    pub fn page_table_geometry(&self) -> PageTableGeometry {
        self.geometry
    }

    /// Sets the page-table geometry, before any table is allocated (at boot).
    pub(crate) fn set_page_table_geometry(&mut self, geometry: PageTableGeometry) {
        debug_assert_eq!(self.pagetable_frames, 0, "the geometry is chosen before the first table");
        self.geometry = geometry;
        self.leaf_shift = geometry.leaf().shift;
        self.leaf_bits = geometry.leaf().bits;
    }

    /// The index of `va` in its PTE table.
    #[inline]
    pub(crate) fn leaf_index(&self, va: u64) -> usize {
        ((va >> self.leaf_shift) & ((1 << self.leaf_bits) - 1)) as usize
    }

    /// The leaf table remembered for `va` in the address space of `root`.
    #[inline]
    pub(crate) fn remembered_leaf(&self, root: Pfn, va: u64) -> Option<Pfn> {
        match self.leaf_hint.get() {
            Some((r, span, table)) if r == root && span == va >> (self.leaf_shift + self.leaf_bits) => Some(table),
            _ => None,
        }
    }

    /// Remembers that `table` is the leaf table for `va` under `root`.
    pub(crate) fn remember_leaf(&self, root: Pfn, va: u64, table: Pfn) {
        self.leaf_hint.set(Some((root, va >> (self.leaf_shift + self.leaf_bits), table)));
    }

    /// Forgets the remembered leaf table (an upper-level entry changed).
    pub(crate) fn forget_leaf(&self) {
        self.leaf_hint.set(None);
    }

    /// The shared zero page.
    pub fn zero_pfn(&self) -> Pfn {
        self.zero_pfn
    }

    /// The buddy allocator (for counts and buddyinfo).
    pub fn buddy(&self) -> &BuddyAllocator {
        &self.buddy
    }

    /// Number of free frames.
    pub fn free_frames(&self) -> u64 {
        self.buddy.free_frames()
    }

    /// Total frames.
    pub fn total_frames(&self) -> u64 {
        self.buddy.total_frames()
    }

    fn chunk_mut(&mut self, pfn: Pfn) -> &mut Chunk {
        Arc::make_mut(self.chunk_slot(chunk_index(pfn)).get_or_insert_with(|| Arc::new(Chunk::new())))
    }

    /// The place of chunk `i`, the table grown to hold it.
    fn chunk_slot(&mut self, i: usize) -> &mut Option<Arc<Chunk>> {
        if i >= self.chunks.len() {
            self.chunks.resize(i + 1, None);
        }
        &mut self.chunks[i]
    }

    /// The chunk holding `pfn`'s metadata, if any frame of it was ever written.
    #[inline]
    fn chunk(&self, pfn: Pfn) -> Option<&Chunk> {
        chunk_of(&self.chunks, pfn)
    }

    /// Free blocks of each order inside the frames `[start, end)` (a zone's line of
    /// `/proc/buddyinfo`).
    pub fn free_blocks_in(&self, start: Pfn, end: Pfn) -> [u64; super::MAX_ORDER as usize + 1] {
        self.buddy.free_blocks_in(start.as_u64(), end.as_u64())
    }

    /// One past the last frame.
    pub fn end_pfn(&self) -> Pfn {
        Pfn::new(self.buddy.total_frames())
    }

    /// The memory cgroups, to change, beside a look-up of any frame's group: what an
    /// operation on the groups needs when it learns on the way which frames it concerns.
    pub(crate) fn memcgs_and_groups(
        &mut self,
    ) -> (&mut crate::memcg::Memcgs, impl Fn(Pfn) -> crate::memcg::MemcgId + '_) {
        let chunks = &self.chunks;
        let group =
            move |pfn: Pfn| chunk_of(chunks, pfn).map_or(FrameMeta::default().memcg, |c| c.meta[slot_index(pfn)].memcg);
        (&mut self.memcgs, group)
    }

    /// Metadata of `pfn`.
    pub fn meta(&self, pfn: Pfn) -> FrameMeta {
        match self.chunk(pfn) {
            Some(c) => c.meta[slot_index(pfn)],
            None => FrameMeta::default(),
        }
    }

    /// How many VM_LOCKED mappings map `pfn`, plus the stranded ones
    /// ([`FrameTable::mlock_stranded`]): Linux's mlock_count.
    pub fn mlock_count(&self, pfn: Pfn) -> u32 {
        self.mlock_counts.get(&pfn).copied().unwrap_or(0)
    }

    /// How much of `pfn`'s mlock count stands for mappings that lost VM_LOCKED without
    /// munlocking it: `None` for a page mlocked only by its locked mappings (or not at all).
    pub fn mlock_stranded(&self, pfn: Pfn) -> Option<u32> {
        self.mlock_stranded.get(&pfn).copied()
    }

    /// Whether locked mappings map `pfn` without its being mlocked
    /// ([`FrameTable::mlock_escape`]).
    pub fn mlock_escaped(&self, pfn: Pfn) -> bool {
        !self.mlock_escaped.is_empty() && self.mlock_escaped.contains(&pfn)
    }

    /// Records that `pfn`, which locked mappings map, lost PG_mlocked to a munlock drained
    /// before a later mlock of it (or, with `false`, that it is mlocked again).
    pub fn mlock_escape(&mut self, pfn: Pfn, escaped: bool) {
        if escaped {
            self.mlock_escaped.insert(pfn);
        } else {
            self.mlock_escaped.remove(&pfn);
        }
    }

    /// Keeps one locked mapping's share of `pfn`'s mlock count after the mapping stopped
    /// being locked (the count itself is unchanged).
    pub fn mlock_strand(&mut self, pfn: Pfn) {
        debug_assert!(
            self.mlock_stranded(pfn).unwrap_or(0) < self.mlock_count(pfn),
            "stranding more than pfn {pfn:#x} counts"
        );
        *self.mlock_stranded.entry(pfn).or_default() += 1;
    }

    /// Zeroes the mlock count of `pfn`, which no locked mapping maps, keeping it mlocked
    /// (Linux's lru_add of an unevictable page).
    pub fn mlock_count_forget(&mut self, pfn: Pfn) {
        debug_assert_eq!(
            self.mlock_stranded(pfn).unwrap_or(0),
            self.mlock_count(pfn),
            "forgetting the count of pfn {pfn:#x}, which locked mappings map"
        );
        self.mlock_counts.remove(&pfn);
        self.mlock_stranded.insert(pfn, 0);
    }

    /// Counts one more VM_LOCKED mapping of `pfn`; returns the new count.
    pub fn mlock_count_inc(&mut self, pfn: Pfn) -> u32 {
        let c = self.mlock_counts.entry(pfn).or_default();
        *c += 1;
        *c
    }

    /// Counts one VM_LOCKED mapping of `pfn` fewer (none below zero); returns the new count.
    pub fn mlock_count_dec(&mut self, pfn: Pfn) -> u32 {
        let Some(c) = self.mlock_counts.get_mut(&pfn) else { return 0 };
        *c -= 1;
        let left = *c;
        if left == 0 {
            self.mlock_counts.remove(&pfn);
            self.mlock_stranded.remove(&pfn);
            self.mlock_escaped.remove(&pfn);
        }
        left
    }

    /// Mutable metadata of `pfn`.
    pub fn meta_mut(&mut self, pfn: Pfn) -> &mut FrameMeta {
        &mut self.chunk_mut(pfn).meta[slot_index(pfn)]
    }

    /// Applies `f` to the metadata of each of `pfns`, making each chunk its own once for a
    /// run of frames in it rather than once a frame (a chunk is shared copy-on-write, and
    /// making it one's own is an atomic operation): fault-around maps a folio's pages, all
    /// in one chunk, at once.
    pub fn update_metas(&mut self, pfns: impl IntoIterator<Item = Pfn>, mut f: impl FnMut(&mut FrameMeta)) {
        let mut pfns = pfns.into_iter().peekable();
        while let Some(first) = pfns.next() {
            let ci = chunk_index(first);
            let chunk = Arc::make_mut(self.chunk_slot(ci).get_or_insert_with(|| Arc::new(Chunk::new())));
            f(&mut chunk.meta[slot_index(first)]);
            while let Some(pfn) = pfns.next_if(|p| chunk_index(*p) == ci) {
                f(&mut chunk.meta[slot_index(pfn)]);
            }
        }
    }

    /// Allocates one frame for `owner` with refcount 1, charged to the memory cgroup being
    /// charged ([`crate::memcg::Memcgs::charge_to`]), or `None` when memory is exhausted or
    /// the charge would exceed a group's limit (then [`crate::memcg::Memcgs::last_refusal`]
    /// names the group; otherwise it is cleared).
    pub fn alloc(&mut self, owner: Owner, flags: PageFlags) -> Option<Pfn> {
        self.memcgs.last_refusal = None;
        let memcg = self.memcgs.try_charge(1).ok()?;
        let Some(pfn) = self.buddy.alloc(0).map(Pfn::new) else {
            self.memcgs.uncharge(memcg, 1);
            return None;
        };
        let m = self.meta_mut(pfn);
        debug_assert_eq!(m.owner, Owner::Free);
        *m = FrameMeta { refcount: 1, mapcount: 0, flags, owner, memcg };
        if owner == Owner::PageTable {
            self.pagetable_frames += 1;
        }
        self.allocs += 1;
        Some(pfn)
    }

    /// Allocates a block of `2^order` frames for the kernel's own use from the zone
    /// `[lo, hi)`; every frame of it gets refcount 1 and the owner. `None` when the zone has
    /// no free block that large.
    pub fn alloc_kernel_block(&mut self, order: u8, lo: Pfn, hi: Pfn, used: KernelUse) -> Option<Pfn> {
        let pfn = Pfn::new(self.buddy.alloc_in(order, lo.as_u64(), hi.as_u64())?);
        for p in pfn.span(1 << order) {
            let m = self.meta_mut(p);
            debug_assert_eq!(m.owner, Owner::Free);
            // Kernel allocations without __GFP_ACCOUNT charge no memory cgroup.
            *m = FrameMeta {
                refcount: 1,
                mapcount: 0,
                flags: PageFlags::empty(),
                owner: Owner::Kernel(used),
                memcg: crate::memcg::ROOT_MEMCG,
            };
        }
        self.allocs += 1 << order;
        Some(pfn)
    }

    /// Returns a block from [`FrameTable::alloc_kernel_block`] to the free lists.
    pub fn free_kernel_block(&mut self, pfn: Pfn, order: u8) {
        for p in pfn.span(1 << order) {
            debug_assert!(matches!(self.meta(p).owner, Owner::Kernel(_)), "pfn {p:#x} is not the kernel's");
            let c = self.chunk_mut(p);
            let i = slot_index(p);
            c.meta[i] = FrameMeta::default();
            c.data[i] = None;
        }
        self.frees += 1 << order;
        self.buddy.free(pfn.as_u64(), order);
    }

    /// Splits the free lists into zones (see [`BuddyAllocator::set_zone_boundaries`]); only
    /// right after [`FrameTable::new`].
    pub fn set_zone_boundaries(&mut self, boundaries: &[Pfn]) {
        let numbers: Vec<u64> = boundaries.iter().map(|pfn| pfn.as_u64()).collect();
        self.buddy.set_zone_boundaries(&numbers);
    }

    /// Returns a frame to the allocator, dropping its contents.
    pub fn free(&mut self, pfn: Pfn) {
        let m = self.meta(pfn);
        debug_assert!(!matches!(m.owner, Owner::Free | Owner::Reserved), "freeing pfn {pfn:#x} owned by {:?}", m.owner);
        if m.owner == Owner::PageTable {
            self.pagetable_frames -= 1;
            self.forget_leaf();
        }
        self.frees += 1;
        // Only a stranded count can remain when the last reference goes: Linux clears
        // PG_mlocked as it frees such a page.
        debug_assert_eq!(self.mlock_count(pfn), self.mlock_stranded(pfn).unwrap_or(0), "freeing mlocked pfn {pfn:#x}");
        if m.flags.contains(PageFlags::MLOCKED) {
            self.mlock_counts.remove(&pfn);
            self.mlock_stranded.remove(&pfn);
            self.mlock_cleared += 1;
        }
        self.memcgs.uncharge(m.memcg, 1);
        let c = self.chunk_mut(pfn);
        let i = slot_index(pfn);
        c.meta[i] = FrameMeta::default();
        c.data[i] = None;
        self.buddy.free(pfn.as_u64(), 0);
    }

    /// Takes a reference.
    pub fn get(&mut self, pfn: Pfn) {
        if pfn != self.zero_pfn {
            self.meta_mut(pfn).refcount += 1;
        }
    }

    /// Drops a reference; frees the frame when none is left. Returns whether it was freed.
    pub fn put(&mut self, pfn: Pfn) -> bool {
        if pfn == self.zero_pfn {
            return false;
        }
        let m = self.meta_mut(pfn);
        debug_assert!(m.refcount > 0, "put of pfn {pfn:#x} with refcount 0");
        m.refcount -= 1;
        if m.refcount == 0 {
            self.free(pfn);
            true
        } else {
            false
        }
    }

    /// The bytes the frame stores: a prefix of the page (possibly empty) beyond which every
    /// byte is zero. Cheaper than [`FrameTable::page`] for a consumer that keeps only the
    /// bytes that are not trailing zeros (a swap slot).
    pub fn stored(&self, pfn: Pfn) -> &[u8] {
        match self.chunk(pfn) {
            Some(c) => c.data[slot_index(pfn)].as_ref().map(FrameData::bytes).unwrap_or(&[]),
            None => &[],
        }
    }

    /// Copies `buf.len()` bytes of the frame from offset `off` into `buf` (bytes never
    /// written read as zero).
    pub fn read(&self, pfn: Pfn, off: usize, buf: &mut [u8]) {
        debug_assert!(off + buf.len() <= PAGE_SIZE as usize);
        let stored = self.stored(pfn);
        let have = stored.len().saturating_sub(off).min(buf.len());
        let (got, rest) = buf.split_at_mut(have);
        // The sizes of a CPU's loads are copied in place, not through a call to memcpy (an
        // emulator reads a few bytes at a time).
        match have {
            0 => {}
            1 => got[0] = stored[off],
            2 => got[..2].copy_from_slice(&stored[off..off + 2]),
            4 => got[..4].copy_from_slice(&stored[off..off + 4]),
            8 => got[..8].copy_from_slice(&stored[off..off + 8]),
            _ => got.copy_from_slice(&stored[off..off + have]),
        }
        // Most reads end inside the stored bytes: no call to memset for nothing.
        if !rest.is_empty() {
            rest.fill(0);
        }
    }

    /// Appends `n` bytes of the frame from offset `off` to `out`.
    pub fn read_append(&self, pfn: Pfn, off: usize, n: usize, out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + n, 0);
        self.read(pfn, off, &mut out[start..]);
    }

    /// The whole page (a copy).
    pub fn page(&self, pfn: Pfn) -> [u8; PAGE_SIZE as usize] {
        let mut p = [0; PAGE_SIZE as usize];
        self.read(pfn, 0, &mut p);
        p
    }

    /// Whether the frame has bytes stored (was ever written with something).
    pub fn has_bytes(&self, pfn: Pfn) -> bool {
        !self.stored(pfn).is_empty()
    }

    /// Writes `data` at offset `off` of the frame.
    ///
    /// A frame stores only the bytes up to the highest one written (rounded up to a power
    /// of two, at least 64): a page touched by one small store costs the host a small
    /// allocation instead of a fresh 4 KiB page, which would cost the host a page fault of
    /// its own.
    pub fn write(&mut self, pfn: Pfn, off: usize, data: &[u8]) {
        debug_assert!(pfn != self.zero_pfn, "write to the zero page");
        debug_assert!(off + data.len() <= PAGE_SIZE as usize);
        let need = off + data.len();
        if need == 0 {
            return;
        }
        let c = self.chunk_mut(pfn);
        let slot = &mut c.data[slot_index(pfn)];
        let cur = slot.as_ref().map(|d| d.bytes().len()).unwrap_or(0);
        if need > cur {
            if data.iter().all(|&b| b == 0) && cur <= off {
                // Zeros past the stored bytes are already what a read returns.
                return;
            }
            let old = slot.take();
            let mut grown = FrameData::with_capacity(need);
            if let Some(old) = &old {
                grown.bytes_mut()[..cur].copy_from_slice(old.bytes());
            }
            *slot = Some(grown);
        }
        if let Some(d) = slot {
            d.bytes_mut()[off..need].copy_from_slice(data);
        }
    }

    /// Sets bytes `[from, PAGE_SIZE)` of the frame to zero.
    pub fn zero_from(&mut self, pfn: Pfn, from: usize) {
        let c = self.chunk_mut(pfn);
        if let Some(d) = &mut c.data[slot_index(pfn)] {
            let b = d.bytes_mut();
            if from < b.len() {
                b[from..].fill(0);
            }
        }
    }

    /// Copies the contents of `from` into `to` (a COW copy); only the stored bytes move.
    pub fn copy_frame(&mut self, from: Pfn, to: Pfn) {
        let data = if from == self.zero_pfn || !self.has_bytes(from) {
            None
        } else {
            let src = self.stored(from);
            let mut d = FrameData::with_capacity(src.len());
            d.bytes_mut()[..src.len()].copy_from_slice(src);
            Some(d)
        };
        let c = self.chunk_mut(to);
        c.data[slot_index(to)] = data;
    }

    /// Fills a frame with `bytes` (shorter input is zero-padded).
    pub fn fill(&mut self, pfn: Pfn, bytes: &[u8]) {
        let used = used_len(bytes);
        let c = self.chunk_mut(pfn);
        c.data[slot_index(pfn)] = None;
        self.write(pfn, 0, &bytes[..used]);
    }

    /// The entries of a page-table frame: as many as a table of the geometry has (a PAE
    /// PDPT uses the first four).
    pub fn table(&self, pfn: Pfn) -> &[u64] {
        static EMPTY: [u64; 1024] = [0; 1024];
        self.entries_of(pfn).unwrap_or(&EMPTY[..self.geometry.table_entries()])
    }

    /// The entries the page-table frame `pfn` holds, if it holds any (none yet reads as
    /// all empty).
    #[inline]
    fn entries_of(&self, pfn: Pfn) -> Option<&[u64]> {
        match self.chunk(pfn)?.data[slot_index(pfn)].as_ref()? {
            FrameData::Table(t) => Some(&t[..]),
            FrameData::WideTable(t) => Some(&t[..]),
            FrameData::SharedTable(t) => Some(&t[..]),
            _ => None,
        }
    }

    /// Entry `i` of the page-table frame `pfn` (as [`FrameTable::table`] gives it, without
    /// making the slice: the MMU's read of one entry on every user access).
    #[inline]
    pub fn entry(&self, pfn: Pfn, i: usize) -> u64 {
        self.entries_of(pfn).and_then(|t| t.get(i)).copied().unwrap_or(0)
    }

    /// The entries of a page-table frame, for writing.
    pub fn table_mut(&mut self, pfn: Pfn) -> &mut [u64] {
        let wide = self.geometry.table_entries() == 1024;
        let c = self.chunk_mut(pfn);
        let slot = &mut c.data[slot_index(pfn)];
        match slot {
            Some(FrameData::Table(_) | FrameData::WideTable(_)) => {}
            Some(FrameData::SharedTable(t)) => *slot = Some(FrameData::Table(Box::new(**t))),
            _ if wide => *slot = Some(FrameData::WideTable(Box::new([0; 1024]))),
            _ => *slot = Some(FrameData::Table(Box::new([0; 512]))),
        }
        match slot {
            Some(FrameData::Table(t)) => &mut t[..],
            Some(FrameData::WideTable(t)) => &mut t[..],
            _ => unreachable!(),
        }
    }

    /// Empties the page-table frame `pfn` (every entry none): its own entries or its share
    /// of a common copy are dropped, and nothing is allocated.
    pub fn clear_table(&mut self, pfn: Pfn) {
        let c = self.chunk_mut(pfn);
        c.data[slot_index(pfn)] = None;
    }

    /// Makes the page-table frame `pfn` share its entries with every other table like it when
    /// all 512 of them map the zero page with the same bits (a populated read-only private
    /// mapping): its own copy is freed. What the table holds does not change.
    pub fn share_zero_table(&mut self, pfn: Pfn) {
        let entries = self.table(pfn);
        let first = entries[0];
        let zero = crate::pgtable::Pte(first);
        // Only 512-entry tables are shared (a wide table keeps its own entries).
        if entries.len() != 512 || !zero.mapped() || zero.pfn() != self.zero_pfn || entries.iter().any(|&e| e != first)
        {
            return;
        }
        let shared = self.zero_tables.entry(first).or_insert_with(|| std::sync::Arc::new([first; 512])).clone();
        let c = self.chunk_mut(pfn);
        c.data[slot_index(pfn)] = Some(FrameData::SharedTable(shared));
    }

    /// Whether page-table frame `pfn` is one of the tables [`FrameTable::share_zero_table`]
    /// made share their entries: every entry maps the zero page, so a walk looking for real
    /// frames has nothing to find in it.
    pub fn is_shared_zero_table(&self, pfn: Pfn) -> bool {
        self.chunk(pfn).is_some_and(|c| matches!(c.data[slot_index(pfn)], Some(FrameData::SharedTable(_))))
    }

    /// How many page-table frames share their entries ([`FrameTable::share_zero_table`]).
    pub fn shared_tables(&self) -> usize {
        let chunks = self.chunks.iter().flatten();
        chunks.map(|c| c.data.iter().filter(|d| matches!(d, Some(FrameData::SharedTable(_)))).count()).sum()
    }

    /// Iterates every allocated (non-free, non-reserved) frame with its metadata.
    pub fn allocated(&self) -> impl Iterator<Item = (Pfn, FrameMeta)> + '_ {
        Allocated { chunks: &self.chunks, chunk: 0, slot: 0 }
    }

    /// Moves every frame charged to `from` to `to` (an ancestor that already counts them):
    /// rmdir of a group leaves its page-cache pages charged to its parent.
    pub fn recharge_frames(&mut self, from: crate::memcg::MemcgId, to: crate::memcg::MemcgId) {
        let moves = |m: &FrameMeta| m.memcg == from && !matches!(m.owner, Owner::Free);
        // Only the chunks that hold such a frame are written (and so copied if shared).
        for c in self.chunks.iter_mut().flatten().filter(|c| c.meta.iter().any(moves)) {
            for m in Arc::make_mut(c).meta.iter_mut().filter(|m| moves(m)) {
                m.memcg = to;
            }
        }
    }

    /// Number of frames whose bytes are allocated on the host (memory actually used).
    pub fn frames_with_bytes(&self) -> u64 {
        self.chunks.iter().flatten().map(|c| c.data.iter().filter(|d| d.is_some()).count() as u64).sum()
    }

    /// Checks the frame table against the allocator.
    pub fn check_invariants(&self) {
        self.buddy.check_invariants();
        let mut used = 2;
        for (pfn, m) in self.allocated() {
            used += 1;
            assert!(m.refcount >= 1, "pfn {pfn:#x} allocated with refcount 0");
            assert!(m.refcount >= m.mapcount, "pfn {pfn:#x}: refcount {} < mapcount {}", m.refcount, m.mapcount);
        }
        assert_eq!(
            used + self.buddy.free_frames(),
            self.buddy.total_frames(),
            "frames in use plus free frames must equal all frames"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_metadata_stays_24_bytes() {
        assert_eq!(std::mem::size_of::<FrameMeta>(), 24);
    }

    #[test]
    fn used_length_is_up_to_the_last_non_zero_byte() {
        for len in [0usize, 1, 63, 64, 65, 200, 4096] {
            assert_eq!(used_len(&vec![0; len]), 0);
            for last in [0, len / 3, len.saturating_sub(65), len.saturating_sub(1)] {
                if last < len {
                    let mut b = vec![0u8; len];
                    b[last] = 9;
                    b[last / 2] = 1;
                    assert_eq!(used_len(&b), last + 1, "len {len}, last {last}");
                }
            }
        }
    }

    #[test]
    fn a_frame_stores_only_what_was_written_and_reads_zeros_beyond() {
        let mut t = FrameTable::new(64);
        let pfn = t.alloc(Owner::Anon, PageFlags::ANON).unwrap();
        assert!(!t.has_bytes(pfn));
        t.write(pfn, 10, b"abc");
        let mut buf = [9u8; 16];
        t.read(pfn, 8, &mut buf);
        assert_eq!(&buf[..6], &[0, 0, b'a', b'b', b'c', 0]);
        t.read(pfn, 4000, &mut buf);
        assert_eq!(buf, [0; 16]);
        t.write(pfn, 4090, b"xyz");
        assert_eq!(&t.page(pfn)[4088..4093], &[0, 0, b'x', b'y', b'z']);
        assert_eq!(&t.page(pfn)[10..13], b"abc");
        let copy = t.alloc(Owner::Anon, PageFlags::ANON).unwrap();
        t.copy_frame(pfn, copy);
        assert_eq!(t.page(copy), t.page(pfn));
        t.zero_from(copy, 11);
        assert_eq!(&t.page(copy)[10..13], &[b'a', 0, 0]);
    }
}
