//! Files, open file descriptions and the page cache.
//!
//! A [`File`] is an inode: its name, identity (device, inode number), size, and page cache
//! (page index → frame). An [`OpenFile`] is a `struct file`: one `open()`, shared by the
//! descriptors `dup()`ed from it and by the mappings made through it.
//!
//! Regular files are modelled as fully cached: every page below EOF is in the page cache and
//! up to date (its frame is materialized from the file's bytes when first needed), which is
//! what a file just written or recently read looks like on a real machine. Shmem files (shared
//! anonymous memory, memfd) have only the pages that were touched.

use crate::page_cache::PageCache;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where a file's initial bytes come from: memory, or something outside the model that
/// reads them on demand (a host file, a trace's bundle of recorded pages). The model asks
/// for the bytes of a page when the page first enters the page cache (a fault, a copy, a
/// read), never for the whole file; the reading itself, and its errors, belong to the
/// implementation (the model stays free of I/O).
pub trait Content: Send + Sync + std::fmt::Debug {
    /// The length in bytes.
    fn len(&self) -> u64;
    /// Whether the length is 0.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fills `buf` with the bytes at `offset`; bytes it cannot give (past the end, or
    /// unreadable) are zeros.
    fn read_at(&self, offset: u64, buf: &mut [u8]);
}

/// Copies the bytes of `src` at `offset` into `buf`, zeros past its end.
fn copy_at(src: &[u8], offset: u64, buf: &mut [u8]) {
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(src.len());
    let n = (src.len() - start).min(buf.len());
    buf[..n].copy_from_slice(&src[start..start + n]);
    buf[n..].fill(0);
}

impl Content for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) {
        copy_at(self, offset, buf)
    }
}

impl Content for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) {
        copy_at(self, offset, buf)
    }
}

/// In-memory bytes as a [`Content`].
#[derive(Debug)]
struct Bytes(Arc<[u8]>);

impl Content for Bytes {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) {
        copy_at(&self.0, offset, buf)
    }
}

/// A file's initial contents: a [`Content`], cut short by truncation and with the ranges
/// the model punched out (MADV_REMOVE) reading as zeros.
#[derive(Clone, Debug)]
pub struct Source {
    content: Arc<dyn Content>,
    len: u64,
    /// Byte ranges `[start, end)` that read as zeros.
    holes: Vec<(u64, u64)>,
}

impl Source {
    /// The whole of `content`.
    pub fn new(content: Arc<dyn Content>) -> Source {
        let len = content.len();
        Source { content, len, holes: Vec::new() }
    }

    /// Bytes held in memory.
    pub fn bytes(bytes: Arc<[u8]>) -> Source {
        Source::new(Arc::new(Bytes(bytes)))
    }

    /// The length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the length is 0.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// What provides the bytes.
    pub fn content(&self) -> &Arc<dyn Content> {
        &self.content
    }

    /// Fills `buf` with the bytes at `offset` (zeros past the end and in holes).
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) {
        let avail = self.len.saturating_sub(offset).min(buf.len() as u64) as usize;
        if avail > 0 {
            self.content.read_at(offset, &mut buf[..avail]);
        }
        buf[avail..].fill(0);
        let end = offset.saturating_add(avail as u64);
        for &(lo, hi) in &self.holes {
            let (lo, hi) = (lo.max(offset), hi.min(end));
            if lo < hi {
                buf[(lo - offset) as usize..(hi - offset) as usize].fill(0);
            }
        }
    }

    /// Shortens the contents to `len` bytes (a longer `len` changes nothing).
    pub fn truncate(&mut self, len: u64) {
        self.len = self.len.min(len);
    }

    /// Makes `[start, end)` read as zeros.
    pub fn punch(&mut self, start: u64, end: u64) {
        let end = end.min(self.len);
        if start < end {
            self.holes.push((start, end));
        }
    }
}

/// Identifies a file (inode) in the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// Identifies an open file description (`struct file`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpenFileId(pub u32);

/// What kind of object a file is; it decides naming, placement and fault behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file on a disk filesystem (ext4): fully cached, THP-aligned placement for
    /// mappings of 2 MiB or more.
    Regular,
    /// A shmem object: shared anonymous memory or memfd. Pages exist once touched.
    Shmem,
    /// `/dev/zero` (a private mapping of it is anonymous memory).
    DevZero,
    /// A directory or pipe: cannot be mapped.
    Unmappable,
}

/// An inode with its page cache.
#[derive(Clone, Debug)]
pub struct File {
    /// Path shown in maps (for shmem, the name Linux prints before ` (deleted)`).
    pub path: String,
    /// Device major number.
    pub major: u32,
    /// Device minor number.
    pub minor: u32,
    /// Inode number.
    pub ino: u64,
    /// Size in bytes (`i_size`).
    pub size: u64,
    /// Kind.
    pub kind: FileKind,
    /// Page cache: page index → frame.
    pub cache: PageCache,
    /// The file's initial contents (imported from outside the model, or written at
    /// creation): the bytes of pages not yet in `cache`, read when a page is first needed.
    pub source: Option<Source>,
    /// Directory entries naming the file; 0 once unlinked.
    pub nlink: u32,
    /// Open file descriptions referring to it.
    pub opens: u32,
    /// Whether maps should say ` (deleted)` even while linked (shmem objects are never linked).
    pub always_deleted: bool,
    /// Filesystem mounted noexec.
    pub noexec: bool,
    /// The file was just written and not yet written back: its pages enter the page cache
    /// dirty (smaps counts them as Dirty even when mapped read-only).
    pub unwritten: bool,
    /// Large folios of the page cache: first page index → order (pages not listed are in
    /// order-0 folios). The folio layout decides how much a fault maps (fault-around maps
    /// whole folios), so it follows how the file was written. Changed only through
    /// [`File::insert_folio`] and [`File::remove_folio`], which keep `folio_hint` true.
    pub(crate) folios: BTreeMap<u64, u8>,
    /// The large folio [`File::folio_of`] found last, if `folios` has not changed since: the
    /// pages of a folio are asked about one after another (a zap asks for every page).
    pub(crate) folio_hint: std::cell::Cell<Option<(u64, u8)>>,
    /// The mlock count of each large folio that is mlocked, by its first page: how many
    /// times a VM_LOCKED mapping mapped it whole at once (Linux mlocks a large folio only
    /// then, and munlocks it at each unmap of a run of its pages from such a mapping).
    pub(crate) large_mlock: BTreeMap<u64, u32>,
    /// Pages of dirty large folios whose buffers a punched hole discarded (the folio stays
    /// dirty, but these blocks hold nothing to write). ext4 can release a dirty folio's
    /// buffers, and so split it, only once every page's are discarded; making the folio
    /// dirty again (block_dirty_folio) dirties all its buffers, which empties its entries.
    pub(crate) clean_buffers: std::collections::BTreeSet<u64>,
    /// Pages of the page cache that carry the readahead mark (PG_readahead): a read that
    /// reaches one reads the next window (see [`crate::readahead`]).
    pub ra_marks: std::collections::BTreeSet<u64>,
    /// Pages below EOF of a regular file that are not in the page cache (evicted by
    /// MADV_PAGEOUT or punched out by MADV_REMOVE); every other page is cached.
    pub evicted: std::collections::BTreeSet<u64>,
    /// The disk's copy of pages reclaim wrote back (dirty pages it evicted), without
    /// trailing zeros: read instead of `source` when they come back.
    pub written_back: BTreeMap<u64, Box<[u8]>>,
    /// Pages of a shmem object that are out on swap: page index → the slot holding them
    /// (the swap entries Linux keeps in the object's page-cache xarray). Each holds one
    /// count of its slot; such a page is not in `cache`.
    pub swapped: BTreeMap<u64, crate::swap::SwapEntry>,
    /// Pages this object holds charged to the commit limit: the size of a shared anonymous
    /// object at creation (shmem_acct_size), or the allocated pages of a memfd
    /// (VM_NORESERVE objects charge per page, shmem_acct_blocks).
    pub acct_pages: u64,
    /// The object was created VM_NORESERVE (memfd): it charges pages as they are allocated.
    pub acct_per_page: bool,
    /// Of `acct_pages` (per-page objects): pages reclaim dropped (never written, nothing to
    /// keep) whose charge is not given back yet. Linux frees such a page without touching the
    /// object's count of allocated pages; the difference is found and given back at the
    /// object's next `shmem_recalc_inode` (a page allocated into it, a page written to swap
    /// or brought back from it, a truncation or hole punched, a stat), so `Committed_AS`
    /// stays up until then ([`crate::machine::Machine::shmem_recalc`]).
    pub acct_dropped: u64,
    /// For the shmem object of a SysV segment: the segment's identifier. Each VMA that maps
    /// it (an attach, and the pieces a split or a fork makes of one) is one of the
    /// segment's attaches (`shm_nattch`).
    pub sysv_shm: Option<u32>,
    /// The object's pages may not be reclaimed (`mapping_unevictable`: a SysV segment
    /// SHM_LOCK locked).
    pub unevictable: bool,
    /// For a SysV segment's object: the references its attaches' open file descriptions
    /// hold (VMAs, plus one while shmat is mapping), that is `shm_nattch`.
    pub shm_attaches: u32,
}

/// The largest page-cache folio order for a regular file (PMD size).
pub const MAX_FOLIO_ORDER: u8 = 9;

impl File {
    /// A file named `path` with device `dev` (major, minor) and inode `ino`, of size 0,
    /// nothing cached, no name in the namespace and no one holding it open; callers set
    /// the rest with struct update syntax.
    pub fn new(path: String, dev: (u32, u32), ino: u64, kind: FileKind) -> File {
        File {
            path,
            major: dev.0,
            minor: dev.1,
            ino,
            size: 0,
            kind,
            cache: PageCache::new(),
            source: None,
            nlink: 0,
            opens: 0,
            always_deleted: false,
            noexec: false,
            unwritten: false,
            folios: BTreeMap::new(),
            folio_hint: std::cell::Cell::new(None),
            large_mlock: BTreeMap::new(),
            clean_buffers: Default::default(),
            ra_marks: Default::default(),
            evicted: Default::default(),
            written_back: BTreeMap::new(),
            swapped: BTreeMap::new(),
            acct_pages: 0,
            acct_per_page: false,
            acct_dropped: 0,
            sysv_shm: None,
            unevictable: false,
            shm_attaches: 0,
        }
    }

    /// The folio holding page `index`: its first page index and order.
    pub fn folio_of(&self, index: u64) -> (u64, u8) {
        // The common answers first: no large folio at all, or the one found last, or the
        // one after it; a search of the map otherwise.
        if self.folios.is_empty() {
            return (index, 0);
        }
        if let Some((start, order)) = self.folio_hint.get() {
            if index >= start && index - start < 1u64 << order {
                return (start, order);
            }
            // The page just past it, as a walk through the file asks next: a large folio
            // starting there is found with a lookup rather than a search.
            if index == start + (1u64 << order) {
                if let Some(&next) = self.folios.get(&index) {
                    self.folio_hint.set(Some((index, next)));
                    return (index, next);
                }
            }
        }
        match self.folios.range(..=index).next_back() {
            Some((&start, &order)) if index < start + (1u64 << order) => {
                self.folio_hint.set(Some((start, order)));
                (start, order)
            }
            _ => (index, 0),
        }
    }

    /// Records a large folio of `2^order` pages from page `first`.
    pub fn insert_folio(&mut self, first: u64, order: u8) {
        self.folio_hint.set(None);
        self.folios.insert(first, order);
    }

    /// Forgets the large folio that starts at page `first` (its pages become order-0 ones).
    /// Its mlock count goes with it: a folio is split or dropped only once unmapped, which
    /// munlocked it (a mapping that still mapped it whole is the exception the model does
    /// not follow: Linux leaves such pages mlocked until reclaim looks at them).
    pub fn remove_folio(&mut self, first: u64) {
        self.folio_hint.set(None);
        if let Some(order) = self.folios.remove(&first) {
            self.forget_clean_buffers(first..first + (1u64 << order));
        }
        self.large_mlock.remove(&first);
    }

    /// folio_split of the large folio that starts at page `first` so that page `at` ends in
    /// a folio of its own: the folio is halved again and again, each half without `at`
    /// kept as a folio of that order (so a 16-page folio split at page 14 leaves folios of
    /// pages 0-7, 8-11, 12-13, 14 and 15). Linux 6.18 splits so where truncation or a hole
    /// cuts a folio (truncate_inode_partial_folio); measured with kpageflags.
    pub fn split_folio_at(&mut self, first: u64, at: u64) {
        let Some(&order) = self.folios.get(&first) else { return };
        self.remove_folio(first);
        let (mut lo, mut order) = (first, order);
        while order > 0 {
            order -= 1;
            let half = 1u64 << order;
            let (with_at, other) = if at < lo + half { (lo, lo + half) } else { (lo + half, lo) };
            if order > 0 {
                self.insert_folio(other, order);
            }
            lo = with_at;
        }
    }

    /// Forgets which buffers of pages `pages` a hole discarded (their folio was dirtied
    /// again, or is gone).
    pub(crate) fn forget_clean_buffers(&mut self, pages: std::ops::Range<u64>) {
        if self.clean_buffers.is_empty() {
            return;
        }
        let gone: Vec<u64> = self.clean_buffers.range(pages).copied().collect();
        for i in gone {
            self.clean_buffers.remove(&i);
        }
    }

    /// Records the folios a buffered write of `[pos, pos + len)` creates for pages not yet
    /// cached (generic_perform_write: chunks of at most the largest folio size, each new
    /// folio as large as the chunk's length allows, aligned on its index, and smaller where
    /// a page of its range is already cached). `cached` tells which pages already are.
    pub fn form_folios(&mut self, pos: u64, len: u64, cached: impl Fn(&File, u64) -> bool) {
        // tmpfs (huge=never) and other shmem objects use order-0 folios only.
        if self.kind != FileKind::Regular {
            return;
        }
        let page = crate::layout::PAGE_SIZE;
        let chunk = page << MAX_FOLIO_ORDER;
        // Callers bound writes by the filesystem's maximum size; saturate anyway.
        let end = pos.saturating_add(len).min(u64::MAX - chunk);
        let mut pos = pos;
        while pos < end {
            let bytes = (chunk - (pos & (chunk - 1))).min(end - pos);
            let index = pos / page;
            let (start, order) = if cached(self, index) {
                self.folio_of(index)
            } else {
                let mut order = (63 - bytes.leading_zeros())
                    .saturating_sub(crate::layout::PAGE_SHIFT)
                    .min(MAX_FOLIO_ORDER as u32) as u8;
                if index & ((1u64 << order) - 1) != 0 {
                    order = index.trailing_zeros() as u8;
                }
                while order > 0 && (index..index + (1u64 << order)).any(|i| cached(self, i)) {
                    order -= 1;
                }
                if order > 0 {
                    self.insert_folio(index, order);
                }
                (index, order)
            };
            let folio_end = (start + (1u64 << order)) * page;
            pos += bytes.min(folio_end - pos);
        }
    }

    /// Drops the folios of pages at or beyond `index` (truncation).
    pub fn drop_folios_from(&mut self, index: u64) {
        let (start, _) = self.folio_of(index);
        let gone: Vec<u64> = self.folios.range(start.min(index)..).map(|(&s, _)| s).collect();
        for s in gone {
            self.remove_folio(s);
        }
    }

    /// Whether page `index` is in the page cache and up to date (for fault-around and mincore).
    ///
    /// A regular file's initial contents (imported or created with contents) count as cached,
    /// except pages evicted since (MADV_PAGEOUT, a punched hole); other pages only once
    /// something read or wrote them: a hole left by extending a file is not in the cache
    /// until a fault or read brings it in.
    pub fn page_cached(&self, index: u64) -> bool {
        if self.cache.contains(index) {
            return true;
        }
        match self.kind {
            FileKind::Regular => {
                index < self.size_pages() && index < self.source_pages() && !self.evicted.contains(&index)
            }
            _ => false,
        }
    }

    /// The folios (first index, order) holding the cached pages of `first..=last`, in index
    /// order: the pages materialized in the cache and, with `initial`, the pages of the
    /// initial contents not evicted. Only cached pages are looked at, so a range spanning a
    /// huge sparse file costs what its cached pages do.
    pub fn cached_folios(&self, first: u64, last: u64, initial: bool) -> Vec<(u64, u8)> {
        if first > last {
            return Vec::new();
        }
        let mut cached: Vec<u64> = self.cache.range(first..=last).map(|(i, _)| i).collect();
        if initial {
            let source_last = last.min(self.source_pages().saturating_sub(1));
            cached.extend((first..=source_last).filter(|&i| self.page_cached(i)));
            cached.sort_unstable();
            cached.dedup();
        }
        let mut out: Vec<(u64, u8)> = Vec::new();
        for i in cached {
            let folio = self.folio_of(i);
            if out.last() != Some(&folio) {
                out.push(folio);
            }
        }
        out
    }

    /// Pages spanned by the initial contents.
    pub fn source_pages(&self) -> u64 {
        self.source.as_ref().map(|s| s.len().div_ceil(crate::layout::PAGE_SIZE)).unwrap_or(0)
    }

    /// Pages spanned by the file size (DIV_ROUND_UP(i_size, PAGE_SIZE)).
    pub fn size_pages(&self) -> u64 {
        self.size.div_ceil(crate::layout::PAGE_SIZE)
    }

    /// Whether maps shows the file as deleted.
    pub fn deleted(&self) -> bool {
        self.always_deleted || self.nlink == 0
    }

    /// Records the bytes of page `index` as written to the disk (writeback before
    /// eviction).
    pub fn write_back(&mut self, index: u64, page: &[u8]) {
        let used = crate::frame::table::used_len(page);
        self.written_back.insert(index, page[..used].into());
    }

    /// Reads the bytes of page `index` on the disk into `page`: as reclaim wrote them back,
    /// or from the imported source (zeros past its end). Into the caller's buffer: a page
    /// read into the cache needs no allocation of its own before the frame stores it.
    pub fn read_source_page(&self, index: u64, page: &mut [u8; crate::layout::PAGE_SIZE as usize]) {
        page.fill(0);
        if let Some(w) = self.written_back.get(&index) {
            page[..w.len()].copy_from_slice(w);
        } else if let Some(src) = &self.source {
            src.read_at(index.saturating_mul(crate::layout::PAGE_SIZE), page);
        }
        let valid = self.size.saturating_sub(index.saturating_mul(crate::layout::PAGE_SIZE));
        if valid < page.len() as u64 {
            page[valid as usize..].fill(0);
        }
    }
}

/// An open file description.
#[derive(Clone, Debug)]
pub struct OpenFile {
    /// The file.
    pub file: FileId,
    /// Opened for reading.
    pub readable: bool,
    /// Opened for writing.
    pub writable: bool,
    /// References: file descriptors plus VMAs.
    pub refs: u32,
    /// File position.
    pub pos: u64,
    /// Readahead state (`file_ra_state`).
    pub ra: crate::readahead::FileRa,
    /// The largest readahead window through this open file, when posix_fadvise set one
    /// (`ra->ra_pages`: twice the device's for POSIX_FADV_SEQUENTIAL); else the device's.
    pub ra_pages: Option<u64>,
    /// POSIX_FADV_RANDOM (FMODE_RANDOM): a read that misses the cache reads just what it
    /// asks for.
    pub random: bool,
}
