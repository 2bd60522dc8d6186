//! Readahead of read(2): which pages of a regular file a read brings into the page cache
//! besides those it returns, following each open file's readahead state (`file_ra_state`).
//!
//! A read that misses the cache at the start of the file, or right after where the last
//! read through the same open file ended, starts a window of `get_init_ra_size` pages (the
//! request rounded up to a power of two, times four or two while small) and marks the page
//! where the window's tail begins; a later read that reaches the marked page reads the next
//! window, ramped up (`get_next_ra_size`), ahead of need. A miss elsewhere reads just what
//! was asked, unless the pages before it are cached (a stream the state lost), which the
//! window then follows. Windows stop at the end of the file and skip pages already cached;
//! a hole reads as a page of zeros. The largest window is the device's `read_ahead_kb`
//! ([`crate::Config::read_ahead_kb`]). A first window comes in order-0 folios; each window
//! read ahead of need in folios two orders larger than the last (page_cache_ra_order), each
//! cut to its index's alignment and the file's end, up to the window's size; the mark is on
//! a folio, which a batch or fault-around takes whole. A window is read up to the first
//! page already cached; from there on it is read skipping cached pages, its mark placed
//! again from that page and the file's end (measured on 6.18 ext4: see
//! [`Kernel::ra_order`]). Shared memory files have no readahead.
//!
//! A fault on a file page that is not cached reads the window the VMA's advice asks for
//! (do_sync_mmap_readahead): MADV_RANDOM just the page; MADV_SEQUENTIAL what a read of the
//! device's whole window would; an executable mapping the window from the page on, up to
//! the VMA's end, unmarked; otherwise mmap's read-around, the window centred on the
//! page, in order-0 folios, with the mark a quarter of the window before its end (measured
//! on 6.18 ext4 with /proc/kpageflags and mincore). A fault that finds its page carrying
//! the mark starts the next window, as a read reaching it does (do_async_mmap_readahead).

use crate::file::{FileId, FileKind, OpenFileId};
use crate::flags::VmFlags;
use crate::kernel::Kernel;
use crate::layout::{PAGE_SHIFT, PAGE_SIZE};
use crate::vma::{Vma, VmaFile};

/// An open file's readahead state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FileRa {
    /// First page of the current window.
    pub start: u64,
    /// Pages in the current window.
    pub size: u64,
    /// Pages at the window's end whose reaching starts the next window.
    pub async_size: u64,
    /// Where the last read ended (`prev_pos`), if any read happened.
    pub prev_pos: Option<u64>,
    /// The folio order of the current window (`ra->order`): 0 for a first window, two
    /// more for each window read ahead of need.
    pub order: u8,
}

/// The first window for a request of `req` pages (get_init_ra_size).
fn init_size(req: u64, max: u64) -> u64 {
    let size = req.max(1).checked_next_power_of_two().unwrap_or(u64::MAX);
    if size <= max / 32 {
        size * 4
    } else if size <= max / 4 {
        size * 2
    } else {
        max
    }
}

/// The window after one of `cur` pages (get_next_ra_size).
fn next_size(cur: u64, max: u64) -> u64 {
    if cur < max / 16 {
        cur * 4
    } else if cur <= max / 2 {
        cur * 2
    } else {
        max
    }
}

impl Kernel {
    /// The page-cache side of a read of `count` bytes at `pos` through open file `o` that
    /// returned `got` bytes (filemap_read): the pages it returned and those readahead
    /// brought along, with `o`'s readahead state updated. Copies nothing;
    /// [`Kernel::file_read`] reads the bytes. (A read asks for at most MAX_RW_COUNT bytes.)
    pub fn read_ahead(&mut self, o: OpenFileId, pos: u64, count: u64, got: u64) -> Option<()> {
        self.read_ahead_into(o, pos, count, got, None)
    }

    /// [`Kernel::read_ahead`] of a read into `dest` (a task and its buffer): filemap_read
    /// copies each batch of cached folios before it looks up the next, so the faults the
    /// copy takes on the buffer come between the batches. A buffer in a mapping of the same
    /// file thus reads pages in (measured: a read of pages 0-1 with only page 0 cached, into
    /// a private mapping of the file's pages 1-2, caches the whole file by the mapping's
    /// read-around and leaves no readahead mark; into anonymous memory, it caches pages 1-4
    /// with page 2 marked). The buffer is faulted in here as the copy would (for writing),
    /// batch by batch, up to where the copy stopped; the bytes are the caller's to copy.
    pub fn read_ahead_into(
        &mut self,
        o: OpenFileId,
        pos: u64,
        count: u64,
        got: u64,
        dest: Option<(crate::Pid, u64)>,
    ) -> Option<()> {
        let file = self.m.open_file(o).file;
        let f = self.m.file(file);
        let count = count.min(crate::ops::files::MAX_RW_COUNT as u64);
        if f.kind == FileKind::Shmem && count > 0 {
            // shmem_file_read_iter reads no ahead; it marks the pages it copies accessed
            // (a hole reads as zeros, from no page of the object).
            let end = pos.saturating_add(got.min(count)).min(f.size);
            let prev = self.m.open_file(o).ra.prev_pos;
            self.mark_read_accessed(file, pos, end, prev);
            self.m.open_file_mut(o).ra.prev_pos = Some(end.max(pos));
            return Some(());
        }
        if f.kind != FileKind::Regular || count == 0 {
            return Some(());
        }
        let size = f.size;
        if pos >= size {
            // Nothing to look up: the state stays as it was.
            return Some(());
        }
        let last_index = pos.saturating_add(count).div_ceil(PAGE_SIZE);
        let req_end = pos.saturating_add(count).min(size);
        // Where the copy stopped: the request's end, or short of it (EFAULT), after which
        // no more pages are looked up.
        let copied_end = pos.saturating_add(got.min(count)).min(req_end);
        let prev_pos = self.m.open_file(o).ra.prev_pos;
        let mut at = pos;
        loop {
            let index = at >> PAGE_SHIFT;
            if !self.m.file(file).page_cached(index) {
                self.sync_readahead(o, file, index, last_index - index)?;
                if !self.m.file(file).page_cached(index) {
                    self.m.cache_page(file, index)?;
                }
            }
            // The cached pages from here on that one batch takes (up to 31 folios), ending
            // at a page that carries the readahead mark (filemap_get_read_batch stops there,
            // so that the mark starts the next window before the copy reaches it).
            // Counted in folios: the last page of the folio holding `last`, then the next.
            let folio_end = |k: &Kernel, i: u64| {
                let (start, order) = k.m.file(file).folio_of(i);
                start + (1u64 << order) - 1
            };
            let mut last = folio_end(self, index).min(last_index.saturating_sub(1)).max(index);
            let mut folios = 1;
            while last + 1 < last_index
                && folios < 31
                && !self.m.file(file).ra_marks.contains(&self.m.file(file).folio_of(last).0)
                && self.m.file(file).page_cached(last + 1)
            {
                last = folio_end(self, last + 1).min(last_index - 1);
                folios += 1;
            }
            let (marked, order) = self.m.file(file).folio_of(last);
            if self.take_readahead_mark(file, marked) {
                self.async_readahead_at(o, file, marked, order, last_index.saturating_sub(marked))?;
            }
            let batch_end = ((last + 1) << PAGE_SHIFT).min(req_end);
            // The copy marks each folio it reads from accessed.
            self.mark_read_accessed(file, at, batch_end.min(copied_end), prev_pos);
            if copied_end < batch_end || batch_end >= req_end {
                break;
            }
            if let Some((pid, buf)) = dest {
                self.fault_in_copy_target(pid, buf.wrapping_add(at - pos), batch_end - at);
            }
            at = batch_end;
        }
        // Even a read that copied nothing (EFAULT) leaves the position it stopped at.
        self.m.open_file_mut(o).ra.prev_pos = Some(copied_end);
        Some(())
    }

    /// filemap_read's marks: every folio of `file` the copy of `[start, end)` reads from is
    /// accessed once (mark_page_accessed), except a first one the previous read through the
    /// same open file ended in (`prev_pos`), which a read going on within one folio would
    /// otherwise activate (measured, ext4: one read of four cached pages makes each
    /// referenced, a second activates them; tmpfs the same, after writes that marked them).
    fn mark_read_accessed(&mut self, file: FileId, start: u64, end: u64, prev_pos: Option<u64>) {
        if start >= end {
            return;
        }
        let folio_of = |k: &Kernel, i: u64| k.m.file(file).folio_of(i).0;
        let skip = prev_pos
            .filter(|&p| p > 0)
            .map(|p| folio_of(self, (p - 1) >> PAGE_SHIFT))
            .filter(|&f| f == folio_of(self, start >> PAGE_SHIFT));
        let mut index = start >> PAGE_SHIFT;
        let last = (end - 1) >> PAGE_SHIFT;
        while index <= last {
            let (first, order) = self.m.file(file).folio_of(index);
            if Some(first) != skip {
                if let Some(pfn) = self.m.file(file).cache.get(first) {
                    self.m.mark_accessed(pfn);
                }
            }
            index = first + (1u64 << order);
        }
    }

    /// The faults a kernel copy of `len` bytes into `pid`'s memory at `addr` takes, page by
    /// page, without writing: up to the first that fails.
    fn fault_in_copy_target(&mut self, pid: crate::Pid, addr: u64, len: u64) {
        let end = addr.saturating_add(len);
        let mut page = addr & !(PAGE_SIZE - 1);
        while page < end {
            if self.touch(pid, page.max(addr), crate::kernel::Access::Write).is_err() {
                return;
            }
            page += PAGE_SIZE;
        }
    }

    /// The device's largest readahead window, in pages.
    pub(crate) fn ra_pages(&self) -> u64 {
        (self.m.config.read_ahead_kb >> (PAGE_SHIFT - 10)).max(1)
    }

    /// The largest readahead window through open file `o` (`ra->ra_pages`).
    pub(crate) fn ra_pages_of(&self, o: OpenFileId) -> u64 {
        self.m.open_file(o).ra_pages.unwrap_or_else(|| self.ra_pages())
    }

    /// force_page_cache_ra: reads the pages `first..=last` of `file` (through open file
    /// `o`) that are not in the page cache, up to the largest readahead window and the end
    /// of the file, in order-0 folios and with no mark; the readahead state is left as it
    /// was. (Linux allows the larger of the window and the device's optimal I/O size, which
    /// the model does not know.)
    pub(crate) fn force_readahead(&mut self, o: OpenFileId, file: FileId, first: u64, last: u64) -> Option<()> {
        let f = self.m.file(file);
        if f.kind != FileKind::Regular || f.size_pages() == 0 || first >= f.size_pages() {
            return Some(());
        }
        let last = last.min(f.size_pages() - 1).min(first.saturating_add(self.ra_pages_of(o) - 1));
        for i in first..=last {
            if !self.m.file(file).page_cached(i) {
                self.m.cache_page(file, i)?;
            }
        }
        Some(())
    }

    /// page_cache_sync_ra: a miss at `index` wanting `req` pages.
    fn sync_readahead(&mut self, o: OpenFileId, file: FileId, index: u64, req: u64) -> Option<()> {
        if self.m.open_file(o).random {
            return self.force_readahead(o, file, index, index.saturating_add(req.max(1) - 1));
        }
        let max = self.ra_pages_of(o);
        let ra = self.m.open_file(o).ra;
        // A read that never happened ends at -1: page index 2^52 - 1.
        let prev_index = ra.prev_pos.map_or(u64::MAX >> PAGE_SHIFT, |p| p >> PAGE_SHIFT);
        let mut new = ra;
        if index == 0 || req > max || index.wrapping_sub(prev_index) <= 1 {
            new.start = index;
            new.size = init_size(req, max);
            new.async_size = if new.size > req { new.size - req } else { new.size >> 1 };
            new.order = 0;
        } else {
            // The cached pages before it, as a stream would leave them (page_cache_prev_miss
            // from the page before, which it steps off before looking): the first gap, the
            // page where the search gave up, or none down to the file's start.
            let mut miss = Some(index - 1);
            for _ in 0..max {
                match miss {
                    Some(0) | None => {
                        miss = None;
                        break;
                    }
                    Some(j) if !self.m.file(file).page_cached(j - 1) => {
                        miss = Some(j - 1);
                        break;
                    }
                    Some(j) => miss = Some(j - 1),
                }
            }
            let contig = match miss {
                Some(m) => index - m - 1,
                None => index,
            };
            if contig <= req {
                // A lone small read: what was asked, and the state stays as it was.
                return self.do_page_cache_ra(file, index, req, 0);
            }
            // Cached from the file's start: a long stream.
            let contig = if miss.is_none() { contig * 2 } else { contig };
            new.start = index;
            new.size = (contig + req).min(max);
            new.async_size = 1;
            new.order = 0;
        }
        self.m.open_file_mut(o).ra = new;
        self.ra_order(file, new.start, new.size, new.async_size, 0)
    }

    /// page_cache_async_ra for a marked folio of `folio_order` that a read or fault reached
    /// at page `index`, wanting `req` pages. The new window's folios are two orders larger
    /// than the last one's (page_cache_ra_order; measured on 6.18 ext4: a first window of
    /// order 0, then order 2, then order 4, each folio cut to its index's alignment).
    pub(crate) fn async_readahead_at(
        &mut self,
        o: OpenFileId,
        file: FileId,
        index: u64,
        folio_order: u8,
        req: u64,
    ) -> Option<()> {
        let max = self.ra_pages_of(o);
        let mut ra = self.m.open_file(o).ra;
        let expected = (ra.start + ra.size - ra.async_size) & !((1u64 << folio_order) - 1);
        if index == expected {
            // The expected page: the stream goes on, the window ramps up.
            ra.start += ra.size;
            ra.size = ra.size.max(next_size(ra.size, max));
            ra.async_size = ra.size;
        } else {
            // Another stream's mark, or the state was lost: go on from the first page past
            // it that is not cached.
            let mut start = index + 1;
            while start - index <= max && self.m.file(file).page_cached(start) {
                start += 1;
            }
            if start - index > max {
                return Some(());
            }
            ra.start = start;
            ra.size = next_size(start - index + req, max);
            ra.async_size = ra.size;
        }
        let grown = ra.order.saturating_add(2).min(crate::file::MAX_FOLIO_ORDER);
        ra.order = grown.min(63 - ra.size.max(1).leading_zeros() as u8);
        self.m.open_file_mut(o).ra = ra;
        self.ra_order(file, ra.start, ra.size, ra.async_size, ra.order)
    }

    /// page_cache_ra_order: reads `nr` pages from `index` in folios of `order` pages' order
    /// (order 0 too), each cut down to its index's alignment and to the end of the file,
    /// marking the folio that holds the page `lookahead` pages before the end of the window
    /// asked for (not of its part inside the file: the mark is placed before the trim at
    /// EOF). A page already cached in a folio's range ends the loop, and the rest of the
    /// window is read as [`Kernel::do_page_cache_ra`] reads it, from that page, its mark
    /// placed again from there (measured on 6.18 ext4: a 4-page read at page 0 of a 16-page
    /// file whose pages 0, 2 and 5 are cached reads from page 1 and marks page 3, which the
    /// read itself then reaches; with only page 0 cached it marks page 4). A window under
    /// four pages, or a file whose page cache takes no large folios, is read by
    /// [`Kernel::do_page_cache_ra`] alone.
    fn ra_order(&mut self, file: FileId, index: u64, nr: u64, lookahead: u64, order: u8) -> Option<()> {
        let size = self.m.file(file).size;
        if nr < 4 || size == 0 || self.m.file(file).kind != FileKind::Regular {
            return self.do_page_cache_ra(file, index, nr, lookahead);
        }
        let end_index = (size - 1) >> PAGE_SHIFT;
        if index > end_index {
            return Some(());
        }
        let limit = end_index.min(index + nr - 1);
        // Past `limit` when `lookahead` is 0: no page is marked.
        let mark = (index + nr).checked_sub(lookahead);
        let mut at = index;
        while at <= limit {
            let mut o = order.min(at.trailing_zeros().min(63) as u8);
            while o > 0 && at + (1u64 << o) - 1 > limit {
                o -= 1;
            }
            let pages = 1u64 << o;
            if (at..at + pages).any(|i| self.m.file(file).page_cached(i)) {
                return self.do_page_cache_ra(file, at, nr - (at - index), lookahead);
            }
            for i in at..at + pages {
                self.m.cache_page(file, i)?;
            }
            let f = self.m.file_mut(file);
            for i in at..at + pages {
                f.ra_marks.remove(&i);
            }
            if o > 0 {
                f.insert_folio(at, o);
            }
            if mark.is_some_and(|m| (at..at + pages).contains(&m)) {
                f.ra_marks.insert(at);
            }
            at += pages;
        }
        Some(())
    }

    /// do_async_mmap_readahead: a fault (read or write, of a shared or private mapping)
    /// that finds page `index` of `vma`'s file cached in a folio carrying the readahead
    /// mark takes the mark and reads the next window. Returns whether it did: filemap_fault
    /// then drops the mmap lock and the fault is retried. (Retried faults of the kernel's
    /// own copies count as major faults on Linux, a user's do not; the model does not tell
    /// the two apart and counts neither.)
    pub(crate) fn fault_async_readahead(&mut self, vma: &Vma, index: u64) -> Option<bool> {
        let Some(VmaFile { file, open }) = vma.file else { return Some(false) };
        let f = self.m.file(file);
        if vma.flags.contains(VmFlags::RAND_READ) || f.ra_marks.is_empty() || !f.page_cached(index) {
            return Some(false);
        }
        let (folio, order) = f.folio_of(index);
        if !self.take_readahead_mark(file, folio) {
            return Some(false);
        }
        let max = self.ra_pages_of(open);
        self.async_readahead_at(open, file, index, order, max)?;
        Some(true)
    }

    /// do_sync_mmap_readahead and the read that follows it: brings page `index` of `vma`'s
    /// regular file into the page cache, with the window the VMA's advice asks for, if it
    /// is not there. Returns whether it had to (a major fault).
    ///
    /// - MADV_RANDOM: the page alone (unless the mapping is executable).
    /// - MADV_SEQUENTIAL: what a read(2) of the device's whole window through the mapping's
    ///   open file would read (page_cache_sync_ra).
    /// - An executable mapping: the window from the page on, cut at the VMA's end, with no
    ///   mark (measured on 6.18: a fault at file page 38 of a PROT_EXEC mapping of pages
    ///   8-67 caches 38-67; at 18 of one of 8-27, 18-27; at 100 of a 128-page file mapped
    ///   whole, 100-127), where a mapping without PROT_EXEC reads around the page.
    /// - Otherwise read-around: the window centred on the page (past EOF excluded) in order-0
    ///   folios, the mark a quarter of the window before its end, and the open file's
    ///   readahead state set to that window, so that a fault on the mark reads the next one
    ///   (measured on 6.18: a fault at page 2048 of a 4096-page file caches 1024-3071 and a
    ///   fault at 2560 then reads 3072-4095 in order-2 folios).
    pub(crate) fn fault_sync_readahead(&mut self, vma: &Vma, index: u64) -> Option<bool> {
        let Some(VmaFile { file, open }) = vma.file else { return Some(false) };
        let f = self.m.file(file);
        if f.kind != FileKind::Regular || f.page_cached(index) {
            return Some(false);
        }
        let max = self.ra_pages_of(open);
        let exec = vma.flags.contains(VmFlags::EXEC);
        if vma.flags.contains(VmFlags::RAND_READ) && !exec {
            self.m.cache_page(file, index)?;
        } else if vma.flags.contains(VmFlags::SEQ_READ) {
            self.sync_readahead(open, file, index, max)?;
        } else if exec {
            // x86 asks no folio order for executable memory (exec_folio_order is 0).
            let start = index.max(vma.pgoff);
            let end = start.saturating_add(max).min(vma.pgoff + vma.pages());
            let ra = &mut self.m.open_file_mut(open).ra;
            (ra.start, ra.size, ra.async_size, ra.order) = (start, end - start, 0, 0);
            self.ra_order(file, start, end - start, 0, 0)?;
        } else {
            let start = index.saturating_sub(max / 2);
            let ra = &mut self.m.open_file_mut(open).ra;
            (ra.start, ra.size, ra.async_size, ra.order) = (start, max, max / 4, 0);
            self.ra_order(file, start, max, max / 4, 0)?;
        }
        if !self.m.file(file).page_cached(index) {
            self.m.cache_page(file, index)?;
        }
        Some(true)
    }

    /// do_page_cache_ra: reads the pages of `nr` from `index` that are not in the page
    /// cache, in order-0 folios, the window first cut at the end of the file, and marks the
    /// page `lookahead` pages before the end of what is left (none when `lookahead` is 0 or
    /// more than that).
    fn do_page_cache_ra(&mut self, file: FileId, index: u64, nr: u64, lookahead: u64) -> Option<()> {
        let size = self.m.file(file).size;
        if size == 0 {
            return Some(());
        }
        let end_index = (size - 1) >> PAGE_SHIFT;
        if index > end_index {
            return Some(());
        }
        let nr = nr.min(end_index - index + 1);
        let mark = nr.checked_sub(lookahead).filter(|_| lookahead > 0);
        for i in 0..nr {
            if self.m.file(file).page_cached(index + i) {
                continue;
            }
            self.m.cache_page(file, index + i)?;
            // A mark left on a page that has since left the cache goes with it.
            let marks = &mut self.m.file_mut(file).ra_marks;
            marks.remove(&(index + i));
            if Some(i) == mark {
                marks.insert(index + i);
            }
        }
        Some(())
    }

    /// Whether page `index` carried the readahead mark (PG_readahead), which it no longer
    /// does.
    fn take_readahead_mark(&mut self, file: FileId, index: u64) -> bool {
        self.m.file_mut(file).ra_marks.remove(&index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_grow_as_linux_grows_them() {
        // 128 KiB: 32 pages.
        assert_eq!(init_size(1, 32), 4);
        assert_eq!(init_size(3, 32), 8);
        assert_eq!(init_size(16, 32), 32);
        // 8 MiB: 2048 pages.
        assert_eq!(init_size(1, 2048), 4);
        assert_eq!(init_size(3, 2048), 16);
        assert_eq!(init_size(4, 2048), 16);
        assert_eq!(next_size(4, 2048), 16);
        assert_eq!(next_size(1024, 2048), 2048);
        assert_eq!(next_size(8, 32), 16);
    }
}
