//! shmem pages on swap: tmpfs, memfd and shared anonymous memory (mm/shmem.c).
//!
//! A shmem page has no file on a disk to go back to, so reclaim writes it to swap like an
//! anonymous page, but what is left behind differs:
//! * **out** (`shmem_writeout`): its PTEs are cleared, not turned into swap PTEs (the
//!   object, not the page tables, remembers where the page went): the object's page
//!   cache gives the index up for a swap entry ([`crate::file::File::swapped`]), which
//!   holds one count of the slot. The page joins the swap cache and is written. A clean
//!   page, one only ever read (so still all zeros), is not written at all: it leaves the
//!   object and reads back as a new page of zeros (measured on 6.18: MADV_PAGEOUT of a
//!   page only read leaves neither a resident page nor a swap entry).
//! * **in** (`shmem_swapin_folio`): any access to the index (a fault, read(2), write(2))
//!   takes the page back from the swap cache (a minor fault) or reads it from the device
//!   (a major one), puts it back in the object's page cache dirty and frees the slot at
//!   once: unlike anonymous memory, shmem never keeps a slot for a page in memory
//!   (measured: after the fault SwapFree grows back by the page).
//! * Truncation, hole punching and the end of the object free their slots
//!   (`shmem_free_swap`); swapoff reads every page of the device back into its object
//!   (`shmem_unuse`), unmapped.
//!
//! While in the swap cache the page belongs to no object (Linux's folio has left the
//! shmem mapping): the model keeps it as an anonymous swap-cache page mapped nowhere, so
//! reclaim frees it like one once written. A major fault first reads the slot's
//! neighbours into the swap cache (`swap_cluster_readahead`: a window aligned around the
//! slot, sized by the machine-wide state of the previous such fault, as shmem has no VMA
//! to keep it in); MADV_WILLNEED reads a range's pages there without mapping them.

use super::swapout::SwapOutResult;
use super::SwapEntry;
use crate::event::EventKind;
use crate::file::{FileId, FileKind};
use crate::frame::{Owner, PageFlags, Pfn};
use crate::kernel::Kernel;
use crate::machine::Machine;

/// What became of a shmem page reclaim tried to write out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ShmemOut {
    /// No free swap slot: it stays in the object's page cache.
    NoSwap,
    /// Clean: dropped from the object and freed.
    Dropped,
    /// Written to its slot; it waits in the swap cache (writeback not finished).
    Written,
    /// Written and freed.
    Freed,
}

impl Machine {
    /// `shmem_swapin_folio`: brings page `index` of the shmem object `file`, out on swap,
    /// back into its page cache, and says whether it was read from the device (a major
    /// fault); `None` when no frame is free (it stays on swap).
    pub(crate) fn shmem_swapin(&mut self, file: FileId, index: u64) -> Option<(Pfn, bool)> {
        let e = *self.file(file).swapped.get(&index).expect("a swapped shmem page");
        let owner = Owner::File { file: file.0, index: u32::try_from(index).ok()? };
        if self.swap.lookup(e).is_none() {
            self.swap_cluster_readahead(e);
        }
        let (pfn, read) = match self.swap.lookup(e) {
            Some(pfn) => {
                // A page read ahead counts as a hit for the next window (no VMA keeps
                // shmem's readahead state: the machine-wide one does).
                if self.swap.take_readahead(pfn) {
                    self.swap.swap_ra_hit += 1;
                    self.swap.cluster_ra.hits += 1;
                }
                // The swap cache's reference becomes the page cache's.
                self.swap_cache_remove(pfn);
                (pfn, false)
            }
            None => {
                let pfn = self.alloc_swapin(e, owner, PageFlags::UPTODATE | PageFlags::SWAPBACKED)?;
                let bytes = self.swap.device(e.swap_type).expect("active device").read(e.offset).to_vec();
                if !bytes.is_empty() {
                    self.frames.write(pfn, 0, &bytes);
                    // A zero-filled slot (the zeromap) reads without I/O: no pswpin.
                    self.swap.pswpin += 1;
                }
                self.vmstat.workingset_refault_anon += 1;
                (pfn, true)
            }
        };
        let m = self.frames.meta_mut(pfn);
        m.owner = owner;
        // Its only copy is in memory again: dirty, and the slot goes.
        m.flags |= PageFlags::DIRTY | PageFlags::UPTODATE | PageFlags::SWAPBACKED;
        m.flags -= PageFlags::ANON | PageFlags::ANON_EXCLUSIVE;
        self.swap_put(e);
        let f = self.file_mut(file);
        f.swapped.remove(&index);
        f.cache.insert(index, pfn);
        self.shmem_recalc(file);
        Some((pfn, read))
    }

    /// `shmem_recalc_inode`: gives back the commit charge of the pages of per-page object
    /// `file` that reclaim dropped since the last recount ([`crate::file::File::acct_dropped`]).
    pub(crate) fn shmem_recalc(&mut self, file: FileId) {
        let f = self.file_mut(file);
        let n = std::mem::take(&mut f.acct_dropped);
        if n > 0 {
            f.acct_pages -= n;
            self.vm_unacct_memory(n);
        }
    }

    /// `shmem_free_swap` over pages `[lo, hi)` of `file`: their slots lose the object's
    /// count (a swap-cache page left holding nothing is freed). Returns how many pages
    /// were on swap.
    pub(crate) fn shmem_free_swap(&mut self, file: FileId, lo: u64, hi: u64) -> u64 {
        if lo >= hi {
            return 0;
        }
        let gone: Vec<(u64, SwapEntry)> = self.file(file).swapped.range(lo..hi).map(|(&i, &e)| (i, e)).collect();
        for &(i, e) in &gone {
            self.file_mut(file).swapped.remove(&i);
            if self.swap_put(e) == 0 {
                if let Some(pfn) = self.swap.lookup(e) {
                    self.swap_cache_remove(pfn);
                    self.frames.put(pfn);
                }
            }
        }
        gone.len() as u64
    }
}

impl Kernel {
    /// `shmem_writeout` (and the end of `shrink_folio_list`) for the shmem page `pfn`,
    /// which nothing maps any more. `free_now`: finish the write and free the frame
    /// (reclaim), rather than leave it in the swap cache under writeback (MADV_PAGEOUT).
    pub(crate) fn shmem_writeout(&mut self, pid: u32, va: u64, pfn: Pfn, free_now: bool) -> ShmemOut {
        let meta = self.m.frames.meta(pfn);
        let Owner::File { file, index } = meta.owner else { unreachable!("shmem_writeout of a non-file page") };
        let (file, index) = (FileId(file), u64::from(index));
        debug_assert_eq!(self.m.file(file).kind, FileKind::Shmem);
        debug_assert_eq!(meta.mapcount, 0);
        if !meta.flags.contains(PageFlags::DIRTY) {
            // Never written: its contents are zeros, which a new page gives back.
            let f = self.m.file_mut(file);
            f.cache.remove(index);
            if f.acct_per_page {
                f.acct_dropped += 1;
            }
            self.m.frames.put(pfn);
            self.m.log(pid, va, false, EventKind::ShmemDropped { ino: self.m.file(file).ino, index });
            return ShmemOut::Dropped;
        }
        let Some(e) = self.m.swap_alloc(pfn) else { return ShmemOut::NoSwap };
        // Moving a page to swap recounts the object: what reclaim dropped before is given
        // back now (measured on 6.18: a memfd whose pages 0-99 were dropped and page 100 then
        // written to swap by one MADV_PAGEOUT gave back 400 kB at once).
        self.m.shmem_recalc(file);
        let f = self.m.file_mut(file);
        f.cache.remove(index);
        f.swapped.insert(index, e);
        // The page cache's reference becomes the swap cache's; the object's entry counts
        // once in the slot.
        self.m.swap.cache_insert(e, pfn);
        self.m.swap.dup(e);
        self.m.frames.meta_mut(pfn).owner = Owner::Anon;
        self.m.log(pid, va, false, EventKind::AddToSwap { swap_type: e.swap_type, offset: e.offset });
        // From here it is a dirty swap-cache page mapped nowhere, which anonymous pageout
        // writes and frees the same way.
        match self.finish_swap_out(pid, va, pfn, e, free_now) {
            SwapOutResult::Written => ShmemOut::Written,
            SwapOutResult::Freed => ShmemOut::Freed,
            SwapOutResult::NoSwap => unreachable!("the slot was allocated above"),
        }
    }

    /// `shmem_unuse` for swapoff: reads every shmem page out on device `t` back into its
    /// object. ENOMEM when memory runs out (what came back stays back).
    pub(crate) fn shmem_unuse(&mut self, t: u8) -> abi::SysResult<()> {
        let mut todo: Vec<(FileId, u64)> = Vec::new();
        for (i, f) in self.m.files.iter().enumerate() {
            let Some(f) = f else { continue };
            todo.extend(
                f.swapped.iter().filter(|(_, e)| e.swap_type == t).map(|(&index, _)| (FileId(i as u32), index)),
            );
        }
        for (file, index) in todo {
            self.m.shmem_swapin(file, index).ok_or(abi::Errno::ENOMEM)?;
        }
        Ok(())
    }
}
