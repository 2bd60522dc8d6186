//! `FrameTable`: per-frame metadata (refcount, mapcount, flags, owner) and contents.
//!
//! Metadata lives in chunks of 512 frames that are allocated the first time the buddy
//! allocator hands out a frame inside them, and frame bytes are allocated only when first
//! written (a frame with no bytes reads as zeros), so a large simulated RAM costs nothing
//! until it is used.

use super::buddy::BuddyAllocator;
use crate::layout::PAGE_SIZE;
use bitflags::bitflags;

/// A physical frame number.
pub type Pfn = u64;

const CHUNK_SHIFT: u32 = 9;
const CHUNK_FRAMES: usize = 1 << CHUNK_SHIFT;

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
    /// A page-cache page: page `index` of file `file`.
    File {
        /// The file's id.
        file: u32,
        /// Page index within the file.
        index: u64,
    },
    /// A page-table page.
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
}

/// The bytes of a frame.
#[derive(Clone, Debug)]
pub enum FrameData {
    /// A data page.
    Bytes(Box<[u8; PAGE_SIZE as usize]>),
    /// A page-table page: 512 entries.
    Table(Box<[u64; 512]>),
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
    chunks: Vec<Option<Box<Chunk>>>,
    zero_pfn: Pfn,
    /// Frames allocated as page-table pages.
    pub pagetable_frames: u64,
}

static ZERO_PAGE: [u8; PAGE_SIZE as usize] = [0; PAGE_SIZE as usize];

impl FrameTable {
    /// Creates the physical memory of `total_frames` frames, reserving pfn 0 (never handed
    /// out, like the real first page) and the shared zero page.
    pub fn new(total_frames: u64) -> Self {
        let nchunks = total_frames.div_ceil(CHUNK_FRAMES as u64) as usize;
        let mut t = FrameTable {
            buddy: BuddyAllocator::new(total_frames),
            chunks: vec![None; nchunks],
            zero_pfn: 1,
            pagetable_frames: 0,
        };
        t.buddy.reserve(0, 2);
        for pfn in 0..2 {
            let m = t.meta_mut(pfn);
            m.owner = Owner::Reserved;
            m.flags = PageFlags::RESERVED | PageFlags::UPTODATE;
        }
        t
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
        let i = (pfn >> CHUNK_SHIFT) as usize;
        self.chunks[i].get_or_insert_with(|| Box::new(Chunk::new()))
    }

    /// Metadata of `pfn`.
    pub fn meta(&self, pfn: Pfn) -> FrameMeta {
        match &self.chunks[(pfn >> CHUNK_SHIFT) as usize] {
            Some(c) => c.meta[pfn as usize & (CHUNK_FRAMES - 1)],
            None => FrameMeta::default(),
        }
    }

    /// Mutable metadata of `pfn`.
    pub fn meta_mut(&mut self, pfn: Pfn) -> &mut FrameMeta {
        &mut self.chunk_mut(pfn).meta[pfn as usize & (CHUNK_FRAMES - 1)]
    }

    /// Allocates one frame for `owner` with refcount 1, or `None` when memory is exhausted.
    pub fn alloc(&mut self, owner: Owner, flags: PageFlags) -> Option<Pfn> {
        let pfn = self.buddy.alloc(0)?;
        let m = self.meta_mut(pfn);
        debug_assert_eq!(m.owner, Owner::Free);
        *m = FrameMeta { refcount: 1, mapcount: 0, flags, owner };
        if owner == Owner::PageTable {
            self.pagetable_frames += 1;
        }
        Some(pfn)
    }

    /// Returns a frame to the allocator, dropping its contents.
    pub fn free(&mut self, pfn: Pfn) {
        let m = self.meta(pfn);
        debug_assert!(!matches!(m.owner, Owner::Free | Owner::Reserved), "freeing pfn {pfn:#x} owned by {:?}", m.owner);
        if m.owner == Owner::PageTable {
            self.pagetable_frames -= 1;
        }
        let c = self.chunk_mut(pfn);
        let i = pfn as usize & (CHUNK_FRAMES - 1);
        c.meta[i] = FrameMeta::default();
        c.data[i] = None;
        self.buddy.free(pfn, 0);
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

    /// The bytes of a data frame (zeros if never written).
    pub fn bytes(&self, pfn: Pfn) -> &[u8; PAGE_SIZE as usize] {
        match &self.chunks[(pfn >> CHUNK_SHIFT) as usize] {
            Some(c) => match &c.data[pfn as usize & (CHUNK_FRAMES - 1)] {
                Some(FrameData::Bytes(b)) => b,
                _ => &ZERO_PAGE,
            },
            None => &ZERO_PAGE,
        }
    }

    /// Whether the frame has bytes allocated (was ever written).
    pub fn has_bytes(&self, pfn: Pfn) -> bool {
        matches!(
            self.chunks[(pfn >> CHUNK_SHIFT) as usize].as_ref().map(|c| &c.data[pfn as usize & (CHUNK_FRAMES - 1)]),
            Some(Some(FrameData::Bytes(_)))
        )
    }

    /// The bytes of a data frame for writing, allocating them on first write.
    pub fn bytes_mut(&mut self, pfn: Pfn) -> &mut [u8; PAGE_SIZE as usize] {
        debug_assert!(pfn != self.zero_pfn, "write to the zero page");
        let c = self.chunk_mut(pfn);
        let slot = &mut c.data[pfn as usize & (CHUNK_FRAMES - 1)];
        if !matches!(slot, Some(FrameData::Bytes(_))) {
            *slot = Some(FrameData::Bytes(Box::new([0; PAGE_SIZE as usize])));
        }
        match slot {
            Some(FrameData::Bytes(b)) => b,
            _ => unreachable!(),
        }
    }

    /// Copies the contents of `from` into `to` (a COW copy); a never-written source stays
    /// unallocated in the copy too.
    pub fn copy_frame(&mut self, from: Pfn, to: Pfn) {
        if from == self.zero_pfn || !self.has_bytes(from) {
            let c = self.chunk_mut(to);
            c.data[to as usize & (CHUNK_FRAMES - 1)] = None;
            return;
        }
        let data = *self.bytes(from);
        *self.bytes_mut(to) = data;
    }

    /// Fills a frame with `bytes` (shorter input is zero-padded).
    pub fn fill(&mut self, pfn: Pfn, bytes: &[u8]) {
        if bytes.iter().all(|&b| b == 0) {
            let c = self.chunk_mut(pfn);
            c.data[pfn as usize & (CHUNK_FRAMES - 1)] = None;
            return;
        }
        let page = self.bytes_mut(pfn);
        page[..bytes.len()].copy_from_slice(bytes);
        page[bytes.len()..].fill(0);
    }

    /// The entries of a page-table frame.
    pub fn table(&self, pfn: Pfn) -> &[u64; 512] {
        static EMPTY: [u64; 512] = [0; 512];
        match &self.chunks[(pfn >> CHUNK_SHIFT) as usize] {
            Some(c) => match &c.data[pfn as usize & (CHUNK_FRAMES - 1)] {
                Some(FrameData::Table(t)) => t,
                _ => &EMPTY,
            },
            None => &EMPTY,
        }
    }

    /// The entries of a page-table frame, for writing.
    pub fn table_mut(&mut self, pfn: Pfn) -> &mut [u64; 512] {
        let c = self.chunk_mut(pfn);
        let slot = &mut c.data[pfn as usize & (CHUNK_FRAMES - 1)];
        if !matches!(slot, Some(FrameData::Table(_))) {
            *slot = Some(FrameData::Table(Box::new([0; 512])));
        }
        match slot {
            Some(FrameData::Table(t)) => t,
            _ => unreachable!(),
        }
    }

    /// Iterates every allocated (non-free, non-reserved) frame with its metadata.
    pub fn allocated(&self) -> impl Iterator<Item = (Pfn, FrameMeta)> + '_ {
        self.chunks.iter().enumerate().flat_map(|(ci, c)| {
            c.iter().flat_map(move |c| {
                c.meta
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| !matches!(m.owner, Owner::Free | Owner::Reserved))
                    .map(move |(i, m)| (((ci << CHUNK_SHIFT) + i) as Pfn, *m))
            })
        })
    }

    /// Number of frames whose bytes are allocated on the host (memory actually used).
    pub fn frames_with_bytes(&self) -> u64 {
        self.chunks.iter().flatten().map(|c| c.data.iter().filter(|d| d.is_some()).count() as u64).sum()
    }

    /// Checks the frame table against the allocator.
    pub fn check_invariants(&self) {
        self.buddy.check_invariants();
        let used = self.allocated().count() as u64 + 2;
        assert_eq!(
            used + self.buddy.free_frames(),
            self.buddy.total_frames(),
            "frames in use plus free frames must equal all frames"
        );
        for (pfn, m) in self.allocated() {
            assert!(m.refcount >= 1, "pfn {pfn:#x} allocated with refcount 0");
            assert!(m.refcount >= m.mapcount, "pfn {pfn:#x}: refcount {} < mapcount {}", m.refcount, m.mapcount);
        }
    }
}
