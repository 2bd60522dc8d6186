//! `fsync(2)`, `fdatasync(2)`, `sync(2)`, `syncfs(2)` and `posix_fadvise(2)`: what they do to
//! the page cache.
//!
//! A sync writes a file's dirty pages back and leaves them cached and clean, their PTEs
//! write-protected (as msync does). posix_fadvise changes the open file's readahead
//! (POSIX_FADV_RANDOM reads just what a read asks for, POSIX_FADV_SEQUENTIAL doubles the
//! window, POSIX_FADV_NORMAL undoes both), reads a range in (POSIX_FADV_WILLNEED, as
//! MADV_WILLNEED does) or drops it (POSIX_FADV_DONTNEED: the whole pages of the range that
//! are clean and mapped by no process leave the page cache, after their dirty ones are sent
//! to the disk, which leaves those cached: they are still being written when the drop
//! looks at them).

use crate::file::FileKind;
use crate::frame::PageFlags;
use crate::kernel::{Kernel, Pid};
use crate::layout::*;
use abi::*;

impl Kernel {
    /// `fsync(fd)` and `fdatasync(fd)`: the file's dirty pages are written back.
    pub fn fsync(&mut self, pid: Pid, fd: i64) -> SysResult<u64> {
        let file = self.fd_file(pid, fd)?;
        if self.m.file(file).kind == FileKind::Regular {
            self.write_file_back(file);
        }
        Ok(0)
    }

    /// `sync()` and `syncfs(fd)`: every regular file's dirty pages are written back (the
    /// model's files all live on one filesystem).
    pub fn sync(&mut self) {
        let files: Vec<_> = self
            .m
            .files
            .iter()
            .enumerate()
            .filter(|(_, f)| f.as_ref().is_some_and(|f| f.kind == FileKind::Regular))
            .map(|(i, _)| crate::file::FileId(i as u32))
            .collect();
        for file in files {
            self.write_file_back(file);
        }
    }

    /// Writes every dirty page of a regular file back; its pages not materialized yet then
    /// enter the page cache clean.
    fn write_file_back(&mut self, file: crate::file::FileId) {
        let last = self.m.file(file).size_pages().saturating_sub(1);
        self.writeback_range(file, 0, last);
        self.m.file_mut(file).unwritten = false;
    }

    /// `posix_fadvise(fd, offset, len, advice)` (`fadvise64`; generic_fadvise). A `len` of 0
    /// means to the end of the file.
    pub fn fadvise(&mut self, pid: Pid, fd: i64, offset: i64, len: i64, advice: u64) -> SysResult<u64> {
        let o = self.fd_open(pid, fd)?;
        let file = self.m.open_file(o).file;
        let kind = self.m.file(file).kind;
        if kind == FileKind::Unmappable {
            // A pipe (a directory has a page cache of its own, which the model does not keep).
            return Err(Errno::ESPIPE);
        }
        if advice > POSIX_FADV_NOREUSE || len < 0 {
            return Err(Errno::EINVAL);
        }
        if kind != FileKind::Regular {
            // shmem and /dev/zero have no backing device: valid advice is ignored.
            return Ok(0);
        }
        // The last byte, with 0 and an overflowing length meaning the largest offset.
        let endbyte = if len == 0 { i64::MAX } else { offset.checked_add(len - 1).unwrap_or(i64::MAX) };
        let (offset, endbyte) = (offset.max(0) as u64, endbyte.max(0) as u64);
        match advice {
            POSIX_FADV_NORMAL => {
                let of = self.m.open_file_mut(o);
                (of.ra_pages, of.random) = (None, false);
            }
            POSIX_FADV_RANDOM => self.m.open_file_mut(o).random = true,
            POSIX_FADV_SEQUENTIAL => {
                let doubled = self.ra_pages() * 2;
                let of = self.m.open_file_mut(o);
                (of.ra_pages, of.random) = (Some(doubled), false);
            }
            POSIX_FADV_WILLNEED => {
                self.force_readahead(o, file, offset >> PAGE_SHIFT, endbyte >> PAGE_SHIFT).ok_or(Errno::ENOMEM)?;
            }
            POSIX_FADV_DONTNEED => self.fadvise_dontneed(file, offset, endbyte),
            _ => {}
        }
        Ok(0)
    }

    /// POSIX_FADV_DONTNEED over bytes `offset..=endbyte` of a regular file.
    fn fadvise_dontneed(&mut self, file: crate::file::FileId, offset: u64, endbyte: u64) {
        let size = self.m.file(file).size_pages();
        // Only whole pages are dropped.
        let first = offset.div_ceil(PAGE_SIZE);
        let mut last = endbyte >> PAGE_SHIFT;
        if endbyte & (PAGE_SIZE - 1) != PAGE_SIZE - 1 {
            if last == 0 {
                return;
            }
            last -= 1;
        }
        // generic_fadvise drains this CPU's LRU batches before it drops pages, for a range
        // of whole pages whether or not the file reaches it (a page still in a batch
        // could not be freed).
        if first <= last {
            self.m.lru_add_drain();
        }
        let last = last.min(size.saturating_sub(1));
        if size == 0 || first > last {
            return;
        }
        // The dirty folios go to the disk first (WB_SYNC_NONE): still under writeback when
        // the drop looks, they stay, clean once written.
        let dirty: Vec<u64> = self
            .m
            .file(file)
            .cache
            .range(first..last + 1)
            .filter(|&(_, p)| self.m.frames.meta(p).flags.contains(PageFlags::DIRTY))
            .map(|(i, _)| i)
            .collect();
        for &i in &dirty {
            self.writeback_range(file, i, i);
        }
        // mapping_try_invalidate: folios wholly inside the range, clean, unmapped, unlocked.
        for (start, order) in self.m.file(file).cached_folios(first, last, true) {
            let end = start + (1u64 << order);
            let f = self.m.file(file);
            let droppable = start >= first
                && end - 1 <= last
                && (start..end).all(|j| {
                    !dirty.contains(&j)
                        && match f.cache.get(j) {
                            Some(p) => {
                                let m = self.m.frames.meta(p);
                                m.mapcount == 0
                                    && m.refcount == 1
                                    && !m.flags.intersects(PageFlags::DIRTY | PageFlags::MLOCKED)
                            }
                            // A page of contents the file was given unwritten enters dirty.
                            None => f.page_cached(j) && !f.unwritten,
                        }
                });
            if droppable {
                self.evict_clean_folio(file, start, end);
            }
        }
    }
}
