//! What `shrink_folio_list` (mm/vmscan.c) does with an inactive page reclaim decided to
//! free, by kind:
//! * anonymous (swap-backed): given a swap slot if it has none (`add_to_swap`), every PTE
//!   turned into a swap PTE (`try_to_unmap`), written to the slot (`pageout`) and freed;
//!   with no free slot it is activated and stays;
//! * lazily freed (MADV_FREE) and still clean: every PTE cleared and the page freed
//!   (pglazyfreed); written again since MADV_FREE: swap-backed again and activated;
//! * shmem (tmpfs, memfd, shared anonymous): every PTE cleared, written to swap and freed
//!   (`shmem_writeout`; a page never written is dropped instead); kept without a slot;
//! * page cache of a regular file: every PTE cleared, written back first if dirty, then
//!   dropped from the page cache; the next access reads it back (a major fault). Linux
//!   leaves dirty file pages to the flusher threads and frees them once clean; the model
//!   writes the page back synchronously, as if that had already happened.

use crate::event::EventKind;
use crate::file::{FileId, FileKind};
use crate::frame::{Owner, PageFlags, Pfn};
use crate::kernel::{rss_add, Kernel, RssKind};
use crate::mm_table::MmId;
use crate::pgtable::Pte;
use crate::swap::shmem::ShmemOut;
use crate::swap::swapout::SwapOutResult;

impl Kernel {
    /// Reclaims the unreferenced inactive page `pfn`, mapped by `maps`; true if its frame
    /// was freed.
    pub(crate) fn shrink_folio(&mut self, pfn: Pfn, maps: &[(MmId, u64)]) -> bool {
        let meta = self.m.frames.meta(pfn);
        // The frame's references are its mappings plus the page or swap cache's
        // (check_invariants), so nothing else holds it and it can go.
        debug_assert_eq!(meta.mapcount as usize, maps.len());
        match meta.owner {
            // folio_evictable: a locked SysV segment's pages stay (Linux moves them to the
            // unevictable list as it finds them; the model leaves them where they are, so
            // meminfo's Unevictable does not count them).
            Owner::File { file, .. } if self.m.file(FileId(file)).unevictable => false,
            Owner::Anon if meta.flags.contains(PageFlags::SWAPBACKED) => self.reclaim_anon(pfn, maps),
            Owner::Anon => self.reclaim_lazyfree(pfn, maps),
            Owner::File { file, .. } if self.m.file(FileId(file)).kind == FileKind::Shmem => {
                self.reclaim_shmem(pfn, maps)
            }
            Owner::File { file, index } => self.reclaim_file(pfn, FileId(file), u64::from(index), maps),
            _ => false,
        }
    }

    /// The pid and address events about `maps` are logged under: the first mapping's.
    fn first_user(&self, maps: &[(MmId, u64)]) -> (u32, u64) {
        maps.first().map_or((0, 0), |&(id, va)| (self.task_of_mm(id).map_or(0, |t| t.pid), va))
    }

    /// An anonymous page to swap.
    fn reclaim_anon(&mut self, pfn: Pfn, maps: &[(MmId, u64)]) -> bool {
        let (pid, va) = self.first_user(maps);
        let e = match self.m.swap.slot_of(pfn) {
            Some(e) => e,
            None => {
                let Some(e) = self.m.swap_alloc(pfn) else {
                    self.activate(pfn);
                    return false;
                };
                self.m.swap.cache_insert(e, pfn);
                self.m.frames.get(pfn);
                self.m.frames.meta_mut(pfn).flags |= PageFlags::DIRTY;
                self.m.log(pid, va, false, EventKind::AddToSwap { swap_type: e.swap_type, offset: e.offset });
                e
            }
        };
        for &(id, a) in maps {
            self.unmap_to_swap(id, a, pfn, e);
        }
        if self.m.frames.meta(pfn).flags.contains(PageFlags::DIRTY) {
            self.m.vmstat.nr_vmscan_write += 1;
        }
        self.finish_swap_out(pid, va, pfn, e, true) == SwapOutResult::Freed
    }

    /// A lazily freed anonymous page: discarded unless written since MADV_FREE.
    fn reclaim_lazyfree(&mut self, pfn: Pfn, maps: &[(MmId, u64)]) -> bool {
        let redirtied = self.m.frames.meta(pfn).flags.contains(PageFlags::DIRTY)
            || maps.iter().any(|&(id, va)| self.pte(id, va).dirty());
        if redirtied {
            self.m.frames.meta_mut(pfn).flags |= PageFlags::SWAPBACKED;
            self.activate(pfn);
            return false;
        }
        let (pid, va) = self.first_user(maps);
        for &(id, a) in maps {
            self.unmap_one(id, a, pfn, RssKind::Anon);
        }
        self.m.vmstat.pglazyfreed += 1;
        self.m.log(pid, va, false, EventKind::LazyFreeDiscarded);
        // The reference count was the map count: the last unmap freed the frame.
        true
    }

    /// A page-cache page of a regular file: unmapped, written back if dirty, evicted.
    fn reclaim_file(&mut self, pfn: Pfn, file: FileId, index: u64, maps: &[(MmId, u64)]) -> bool {
        let (pid, va) = self.first_user(maps);
        let kind = self.m.rss_kind(pfn);
        for &(id, a) in maps {
            if self.pte(id, a).dirty() {
                self.m.folio_mark_dirty(pfn);
            }
            self.unmap_one(id, a, pfn, kind);
        }
        if self.m.frames.meta(pfn).flags.contains(PageFlags::DIRTY) {
            self.m.write_back_page(file, index, pfn);
            self.m.vmstat.nr_vmscan_write += 1;
            self.m.log(pid, va, true, EventKind::FileWriteback { ino: self.m.file(file).ino, index });
        }
        let f = self.m.file_mut(file);
        f.cache.remove(index);
        f.evicted.insert(index);
        self.m.frames.put(pfn);
        self.m.log(pid, va, false, EventKind::FileEvicted { ino: self.m.file(file).ino, index });
        true
    }

    /// A shmem page: unmapped, then written to swap (`shmem_writeout`) and freed, or
    /// dropped if never written; with no free slot it is activated and stays, unmapped.
    fn reclaim_shmem(&mut self, pfn: Pfn, maps: &[(MmId, u64)]) -> bool {
        let (pid, va) = self.first_user(maps);
        for &(id, a) in maps {
            if self.pte(id, a).dirty() {
                self.m.folio_mark_dirty(pfn);
            }
            self.unmap_one(id, a, pfn, RssKind::Shmem);
        }
        let dirty = self.m.frames.meta(pfn).flags.contains(PageFlags::DIRTY);
        match self.shmem_writeout(pid, va, pfn, true) {
            ShmemOut::NoSwap => {
                self.activate(pfn);
                false
            }
            out => {
                self.m.vmstat.nr_vmscan_write += u64::from(dirty);
                out != ShmemOut::Written
            }
        }
    }

    /// Clears one PTE mapping `pfn` (try_to_unmap_one for a page that leaves no swap
    /// entry behind) and drops its reference; the frame is freed with the last one.
    pub(crate) fn unmap_one(&mut self, id: MmId, va: u64, pfn: Pfn, kind: RssKind) {
        self.set_pte(id, va, Pte(0)).expect("the PTE's table exists");
        self.m.frames.meta_mut(pfn).mapcount -= 1;
        self.m.frames.put(pfn);
        rss_add(self.mm_mut(id), kind, -1);
    }
}
