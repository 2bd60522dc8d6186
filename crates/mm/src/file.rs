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

use crate::frame::Pfn;
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
    pub cache: BTreeMap<u64, Pfn>,
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
}

impl File {
    /// Whether page `index` is in the page cache and up to date (for fault-around and mincore).
    pub fn page_cached(&self, index: u64) -> bool {
        match self.kind {
            FileKind::Regular => index < self.size_pages(),
            _ => self.cache.contains_key(&index),
        }
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
