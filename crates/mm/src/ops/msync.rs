//! `msync(2)`: writing a shared file mapping's dirty pages back (mm/msync.c).
//!
//! Only MS_SYNC does anything in a modern kernel: for each shared file VMA of the range it
//! writes back the file's dirty page-cache folios overlapping that part (vfs_fsync_range).
//! Writeback cleans each folio and, on every mapping of it in every process, cleans and
//! write-protects the PTE (folio_mkclean), so the next write faults and dirties it again.
//! shmem has nothing to write back. MS_ASYNC is a no-op, and MS_INVALIDATE only refuses
//! locked VMAs (EBUSY).

use crate::file::{FileId, FileKind};
use crate::flags::VmFlags;
use crate::frame::{PageFlags, Pfn};
use crate::kernel::{Kernel, Pid};
use crate::layout::*;
use crate::mm_table::MmId;
use crate::pgtable::{self, Pte, PteFlags};
use abi::*;

impl Kernel {
    /// `msync(addr, len, flags)`.
    pub fn msync(&mut self, pid: Pid, start: u64, len: u64, flags: u64) -> SysResult<u64> {
        let id = self.mm_id(pid)?;
        if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
            || start & !PAGE_MASK != 0
            || (flags & MS_ASYNC != 0 && flags & MS_SYNC != 0)
        {
            return Err(Errno::EINVAL);
        }
        // The length is page-aligned with wrapping arithmetic: near 2^64 it becomes 0.
        let len = len.wrapping_add(PAGE_SIZE - 1) & PAGE_MASK;
        let end = start.wrapping_add(len);
        if end < start {
            return Err(Errno::ENOMEM);
        }
        if end == start {
            return Ok(0);
        }
        let mut unmapped = false;
        let mut at = start;
        loop {
            let mm = &self.mms[id];
            let Some(v) = mm.vmas.find(at).cloned() else { return Err(Errno::ENOMEM) };
            if at < v.start {
                // With MS_ASYNC alone the answer is ENOMEM and nothing is left to do.
                if flags == MS_ASYNC {
                    return Err(Errno::ENOMEM);
                }
                at = v.start;
                if at >= end {
                    return Err(Errno::ENOMEM);
                }
                unmapped = true;
            }
            if flags & MS_INVALIDATE != 0 && v.flags.contains(VmFlags::LOCKED) {
                return Err(Errno::EBUSY);
            }
            let to = end.min(v.end);
            if flags & MS_SYNC != 0 && v.flags.contains(VmFlags::SHARED) {
                if let Some(f) = v.file {
                    self.writeback_range(f.file, v.page_index(at), v.page_index(to - PAGE_SIZE));
                }
            }
            at = v.end;
            if at >= end {
                break;
            }
        }
        if unmapped {
            Err(Errno::ENOMEM)
        } else {
            Ok(0)
        }
    }

    /// Writes back the dirty folios of `file` overlapping pages `first..=last`
    /// (filemap_write_and_wait_range): each is written to the disk (what a shared mapping
    /// stored past EOF zeroed) and cleaned, and every PTE mapping it is made clean and
    /// read-only (folio_mkclean).
    pub(crate) fn writeback_range(&mut self, file: FileId, first: u64, last: u64) {
        if self.m.file(file).kind != FileKind::Regular {
            return;
        }
        // Folio by folio, whole folios even where they stick out of the range. Pages of a
        // file given contents unwritten that the model has not materialized yet are dirty:
        // they are brought in first, to come out of the writeback clean (the initial pages
        // of any other file are clean already). Only cached pages are looked at: the range
        // may span a huge sparse file.
        let f = self.m.file(file);
        let size = f.size_pages();
        let last = last.min(size.saturating_sub(1));
        if size == 0 || first > last {
            return;
        }
        let mut folios: Vec<Vec<Pfn>> = Vec::new();
        for (fs, order) in f.cached_folios(first, last, f.unwritten) {
            let fe = (fs + (1u64 << order)).min(size);
            let mut pfns = Vec::new();
            for j in fs..fe {
                if self.m.file(file).page_cached(j) {
                    if let Some(p) = self.m.cache_page(file, j) {
                        pfns.push(p);
                    }
                }
            }
            folios.push(pfns);
        }
        for pfns in folios {
            let mut dirty = pfns.iter().any(|&p| self.m.frames.meta(p).flags.contains(PageFlags::DIRTY));
            let maps = self.mappings_of(&pfns);
            dirty |= maps.iter().any(|&(id, va)| self.pte(id, va).dirty());
            if !dirty {
                continue;
            }
            for &p in &pfns {
                if let crate::frame::Owner::File { index, .. } = self.m.frames.meta(p).owner {
                    self.m.write_back_page(file, u64::from(index), p);
                }
            }
            for (id, va) in maps {
                let pte = self.pte(id, va);
                let _ = self.set_pte(id, va, pte.without(PteFlags::DIRTY | PteFlags::WRITABLE));
            }
        }
    }

    /// Every (mm, address) whose PTE maps one of `pfns` (an rmap walk over the file's VMAs).
    pub(crate) fn mappings_of(&self, pfns: &[Pfn]) -> Vec<(MmId, u64)> {
        let Some(&first) = pfns.first() else { return Vec::new() };
        let crate::frame::Owner::File { file, .. } = self.m.frames.meta(first).owner else { return Vec::new() };
        let mut out = Vec::new();
        for (id, mm) in self.mms.iter() {
            for v in mm.vmas.iter().filter(|v| v.file.is_some_and(|f| f.file.0 == file)) {
                let span = pgtable::leaf_span(&self.m.frames);
                for (base, table) in pgtable::leaf_tables(&self.m.frames, mm.pgd, v.start, v.end) {
                    let lo = v.start.max(base);
                    let hi = v.end.min(base + span);
                    for va in (lo..hi).step_by(PAGE_SIZE as usize) {
                        let pte = Pte(self.m.frames.table(table)[((va - base) >> PAGE_SHIFT) as usize]);
                        if pte.mapped() && pfns.contains(&pte.pfn()) {
                            out.push((id, va));
                        }
                    }
                }
            }
        }
        out
    }
}
