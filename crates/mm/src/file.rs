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
    /// Bytes imported from the host, the content of pages not yet in `cache`.
    pub source: Option<Arc<[u8]>>,
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
    /// whole folios), so it follows how the file was written.
    pub folios: BTreeMap<u64, u8>,
    /// Pages below EOF of a regular file that are not in the page cache (evicted by
    /// MADV_PAGEOUT or punched out by MADV_REMOVE); every other page is cached.
    pub evicted: std::collections::BTreeSet<u64>,
    /// Pages this object holds charged to the commit limit: the size of a shared anonymous
    /// object at creation (shmem_acct_size), or the allocated pages of a memfd
    /// (VM_NORESERVE objects charge per page, shmem_acct_blocks).
    pub acct_pages: u64,
    /// The object was created VM_NORESERVE (memfd): it charges pages as they are allocated.
    pub acct_per_page: bool,
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
            evicted: Default::default(),
            acct_pages: 0,
            acct_per_page: false,
        }
    }

    /// The folio holding page `index`: its first page index and order.
    pub fn folio_of(&self, index: u64) -> (u64, u8) {
        match self.folios.range(..=index).next_back() {
            Some((&start, &order)) if index < start + (1u64 << order) => (start, order),
            _ => (index, 0),
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
                    self.folios.insert(index, order);
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
            self.folios.remove(&s);
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

    /// Pages spanned by the initial contents.
    pub fn source_pages(&self) -> u64 {
        self.source.as_ref().map(|s| (s.len() as u64).div_ceil(crate::layout::PAGE_SIZE)).unwrap_or(0)
    }

    /// Pages spanned by the file size (DIV_ROUND_UP(i_size, PAGE_SIZE)).
    pub fn size_pages(&self) -> u64 {
        self.size.div_ceil(crate::layout::PAGE_SIZE)
    }

    /// Whether maps shows the file as deleted.
    pub fn deleted(&self) -> bool {
        self.always_deleted || self.nlink == 0
    }

    /// The bytes of page `index` from the imported source (zeros past its end).
    pub fn source_page(&self, index: u64) -> Vec<u8> {
        let mut page = vec![0u8; crate::layout::PAGE_SIZE as usize];
        if let Some(src) = &self.source {
            let off = index.saturating_mul(crate::layout::PAGE_SIZE);
            if off < src.len() as u64 {
                let off = off as usize;
                let n = (src.len() - off).min(page.len());
                page[..n].copy_from_slice(&src[off..off + n]);
            }
        }
        let valid = self.size.saturating_sub(index.saturating_mul(crate::layout::PAGE_SIZE));
        if valid < page.len() as u64 {
            page[valid as usize..].fill(0);
        }
        page
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
}
