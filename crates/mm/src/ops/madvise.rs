//! `madvise(2)`: advice that changes VMA flags (splitting and merging like mprotect), and
//! advice that acts on the pages (mm/madvise.c, 6.18).
//!
//! The range is walked VMA by VMA; a hole does not stop the walk but makes the call return
//! ENOMEM at the end, while the first error of a VMA stops it (the VMAs before stay
//! changed). A flag change that cannot split for want of map slots fails with EAGAIN, not
//! ENOMEM. The population advice (MADV_POPULATE_READ/WRITE) is GUP over the whole range
//! instead: a missing VMA is ENOMEM, a VMA whose protections refuse the access EINVAL, a
//! page beyond EOF EFAULT.
//!
//! Page advice:
//! * DONTNEED zaps the range (private anonymous pages read back as zeros, file pages from
//!   the page cache) and frees PTE tables it emptied completely (CONFIG_PT_RECLAIM);
//! * FREE cleans the exclusive anonymous pages and makes them lazily freeable (PG_swapbacked
//!   cleared: smaps LazyFree); a later write dirties them again and keeps the new data, a
//!   read finds the old data, as nothing reclaims them here;
//! * COLD clears the young bit and PG_referenced of pages mapped only here and deactivates
//!   them; PAGEOUT clears PG_referenced and tries to reclaim: anonymous and shmem pages go
//!   to swap if there is a free slot and are activated otherwise (see `swap`), clean
//!   page-cache pages are unmapped and evicted, dirty ones unmapped and kept; a large
//!   page-cache folio goes whole when the range holds all of it and is split (which
//!   unmaps it) when the range cuts it;
//! * REMOVE punches a hole in the file of a shared writable mapping; WILLNEED reads the
//!   range's file pages not in the page cache into it, and a shmem object's pages out on
//!   swap into the swap cache.

use crate::file::FileKind;
use crate::flags::VmFlags;
use crate::frame::{Owner, PageFlags, Pfn};
use crate::kernel::{Kernel, Pid, ThpMode};
use crate::layout::*;
use crate::mm_table::MmId;
use crate::pgtable::{self, PteFlags};
use crate::vma::Vma;
use abi::*;

impl Kernel {
    /// `madvise(addr, len, advice)`.
    pub fn madvise(&mut self, pid: Pid, start: u64, len: u64, advice: u64) -> SysResult<u64> {
        let id = self.mm_id(pid)?;
        if !advice_valid(advice) || start & !PAGE_MASK != 0 {
            return Err(Errno::EINVAL);
        }
        let plen = len.wrapping_add(PAGE_SIZE - 1) & PAGE_MASK;
        // A length that rounds up from near 2^64 to 0, or a range that wraps, is invalid.
        if (len != 0 && plen == 0) || start.checked_add(plen).is_none() {
            return Err(Errno::EINVAL);
        }
        if plen == 0 {
            return Ok(0);
        }
        let end = start + plen;
        let r = self.madvise_range(pid, id, start, end, advice);
        // Pages held in another CPU's batch were so for this call only.
        self.m.batched_elsewhere.clear();
        self.m.held_elsewhere.clear();
        r
    }

    /// `madvise` of the page-aligned, non-empty range `[start, end)`.
    fn madvise_range(&mut self, pid: Pid, id: MmId, start: u64, end: u64, advice: u64) -> SysResult<u64> {
        let r = match advice {
            MADV_HWPOISON | MADV_SOFT_OFFLINE => Err(Errno::EPERM),
            MADV_POPULATE_READ | MADV_POPULATE_WRITE => {
                let write = advice == MADV_POPULATE_WRITE;
                let r = self.get_user_pages(
                    pid,
                    start,
                    end,
                    super::fault::Gup { write, force: false, madv_populate: true, pin_unshare: false },
                );
                // faultin_page_range drains this CPU's LRU batches when done.
                self.lru_add_drain_of(id);
                r
            }
            _ => self.madvise_walk(id, start, end, advice),
        };
        if self.m.config.paranoid {
            crate::invariants::check_kernel(self);
        }
        r.map(|_| 0)
    }

    /// madvise_walk_vmas.
    fn madvise_walk(&mut self, id: MmId, start: u64, end: u64, advice: u64) -> SysResult<()> {
        let mut unmapped = false;
        let mut at = start;
        loop {
            let mm = &self.mms[id];
            let Some(v) = mm.vmas.find(at).cloned() else { return Err(Errno::ENOMEM) };
            if at < v.start {
                unmapped = true;
                at = v.start;
                if at >= end {
                    break;
                }
            }
            let to = v.end.min(end);
            self.madvise_vma(id, &v, at, to, advice)?;
            if to >= end {
                break;
            }
            at = to;
        }
        if unmapped {
            Err(Errno::ENOMEM)
        } else {
            Ok(())
        }
    }

    /// madvise_vma_behavior: one VMA's part `[start, end)`.
    fn madvise_vma(&mut self, id: MmId, v: &Vma, start: u64, end: u64, advice: u64) -> SysResult<()> {
        let mut f = v.flags;
        match advice {
            MADV_REMOVE => return self.madvise_remove(v, start, end),
            MADV_WILLNEED => {
                if v.file.is_none() {
                    self.swapin_range(id, start, end);
                }
                self.madvise_willneed(v, start, end);
                return Ok(());
            }
            MADV_COLD | MADV_PAGEOUT => {
                // can_madv_lru_vma.
                if v.flags.intersects(VmFlags::LOCKED | VmFlags::PFNMAP | VmFlags::HUGETLB) {
                    return Err(Errno::EINVAL);
                }
                // madvise_cold and madvise_pageout drain this CPU's LRU batches first.
                self.lru_add_drain_of(id);
                self.madvise_cold_or_pageout(id, v, start, end, advice == MADV_PAGEOUT);
                return Ok(());
            }
            MADV_DONTNEED | MADV_DONTNEED_LOCKED | MADV_FREE => {
                let mut forbidden = VmFlags::PFNMAP;
                if advice != MADV_DONTNEED_LOCKED {
                    forbidden |= VmFlags::LOCKED;
                }
                if v.flags.intersects(forbidden) {
                    return Err(Errno::EINVAL);
                }
                if advice == MADV_FREE {
                    // MADV_FREE works only on anonymous memory.
                    if !v.is_private_anon() {
                        return Err(Errno::EINVAL);
                    }
                    self.madvise_free(id, start, end);
                } else {
                    self.zap_range(id, start, end);
                    self.reclaim_empty_pte_tables(id, start, end);
                }
                return Ok(());
            }
            MADV_COLLAPSE => return self.madvise_collapse(id, v),
            MADV_GUARD_INSTALL => return self.guard_install(id, v, start, end),
            MADV_GUARD_REMOVE => return self.guard_remove(id, v, start, end),
            MADV_NORMAL => f -= VmFlags::RAND_READ | VmFlags::SEQ_READ,
            MADV_SEQUENTIAL => f = (f - VmFlags::RAND_READ) | VmFlags::SEQ_READ,
            MADV_RANDOM => f = (f - VmFlags::SEQ_READ) | VmFlags::RAND_READ,
            MADV_DONTFORK => f |= VmFlags::DONTCOPY,
            MADV_DOFORK => {
                if f.contains(VmFlags::IO) {
                    return Err(Errno::EINVAL);
                }
                f -= VmFlags::DONTCOPY;
            }
            MADV_WIPEONFORK => {
                // Only for private anonymous memory.
                if v.file.is_some() || f.contains(VmFlags::SHARED) {
                    return Err(Errno::EINVAL);
                }
                f |= VmFlags::WIPEONFORK;
            }
            MADV_KEEPONFORK => f -= VmFlags::WIPEONFORK,
            MADV_DONTDUMP => f |= VmFlags::DONTDUMP,
            MADV_DODUMP => {
                if f.intersects(VmFlags::SPECIAL) && !f.contains(VmFlags::HUGETLB) {
                    return Err(Errno::EINVAL);
                }
                f -= VmFlags::DONTDUMP;
            }
            MADV_MERGEABLE => {
                // ksm_madvise: VMAs KSM cannot work on keep their flags silently.
                let incompatible = VmFlags::SHARED
                    | VmFlags::MAYSHARE
                    | VmFlags::PFNMAP
                    | VmFlags::IO
                    | VmFlags::DONTEXPAND
                    | VmFlags::HUGETLB
                    | VmFlags::MIXEDMAP;
                if !f.intersects(incompatible) {
                    f |= VmFlags::MERGEABLE;
                }
            }
            MADV_UNMERGEABLE => f -= VmFlags::MERGEABLE,
            MADV_HUGEPAGE => f = (f - VmFlags::NOHUGEPAGE) | VmFlags::HUGEPAGE,
            MADV_NOHUGEPAGE => f = (f - VmFlags::HUGEPAGE) | VmFlags::NOHUGEPAGE,
            _ => return Err(Errno::EINVAL),
        }
        if f == v.flags {
            return Ok(());
        }
        // madvise_update_vma; a split short of map slots reports EAGAIN.
        match self.vma_modify(id, v, start, end, |x| x.flags = f) {
            Ok(_) => Ok(()),
            Err(Errno::ENOMEM) => Err(Errno::EAGAIN),
            Err(e) => Err(e),
        }
    }

    /// madvise_free_pte_range over `[start, end)` of a private anonymous VMA.
    fn madvise_free(&mut self, id: MmId, start: u64, end: u64) {
        // madvise_free_single_vma drains this CPU's LRU batches before its walk.
        self.lru_add_drain_of(id);
        // Swapped-out pages are simply dropped, slot and all.
        self.drop_swap_ptes(id, start, end);
        let pgd = self.mms[id].pgd;
        let zero = self.m.frames.zero_pfn();
        for pgtable::PteSlot { table, index: i, pte, .. } in pgtable::mapped_ptes(&self.m.frames, pgd, start, end) {
            if pte.pfn() == zero {
                continue;
            }
            let pfn = pte.pfn();
            let meta = self.m.frames.meta(pfn);
            if meta.owner != Owner::Anon {
                continue;
            }
            // A dirty folio, or one in the swap cache, is cleaned only when this mapping is
            // its only one; a swap-cache page first gives its slot up (folio_free_swap),
            // unless swap PTEs elsewhere still name the slot: then it is left alone.
            let cached = self.m.swap.slot_of(pfn);
            if cached.is_some() || meta.flags.contains(PageFlags::DIRTY) {
                if meta.mapcount != 1 {
                    continue;
                }
                if let Some(e) = cached {
                    if self.m.swap.count(e) != 0 {
                        continue;
                    }
                    self.folio_free_swap(pfn);
                }
                self.m.frames.meta_mut(pfn).flags -= PageFlags::DIRTY;
            }
            self.m.frames.table_mut(table)[i] = pte.without(PteFlags::ACCESSED | PteFlags::DIRTY).0;
            // Its LRU move taken as done: the per-CPU batch drained (a replay learns
            // otherwise from the reads that show it, see reclaim::observed).
            self.folio_mark_lazyfree(pfn);
        }
    }

    /// folio_mark_lazyfree's move of an anonymous page to the lazy-free (inactive file)
    /// list: no longer swap-backed, inactive, unreferenced. Mlocked pages stay.
    /// folio_deactivate by a task of address space `id`: an active, evictable page on the
    /// LRU goes into the deactivate batch of the task's CPU, which clears PG_active and
    /// PG_referenced when it drains (its next MADV_COLD or MADV_PAGEOUT, a populate, an
    /// mlock: [`Kernel::lru_add_drain_of`]), or when it fills.
    fn folio_deactivate(&mut self, id: MmId, pfn: Pfn) {
        let off_lru = PageFlags::ACTIVATE_BATCHED | PageFlags::DEACTIVATE_BATCHED | PageFlags::UNEVICTABLE;
        let m = self.m.frames.meta_mut(pfn);
        if !m.flags.contains(PageFlags::ACTIVE) || m.flags.intersects(off_lru) {
            return;
        }
        m.flags |= PageFlags::DEACTIVATE_BATCHED;
        self.m.lru_deactivate.insert(pfn, id);
        let queued = self.m.lru_deactivate.values().filter(|&&o| o == id).count();
        if queued >= crate::folio_batch::FOLIO_BATCH_SIZE {
            self.m.lru_deactivate_drain(Some(id));
        }
    }

    pub(crate) fn folio_mark_lazyfree(&mut self, pfn: Pfn) {
        let m = self.m.frames.meta_mut(pfn);
        m.flags -= PageFlags::LAZYFREE_BATCHED;
        if m.flags.contains(PageFlags::SWAPBACKED) && !m.flags.contains(PageFlags::MLOCKED) {
            m.flags -= PageFlags::SWAPBACKED | PageFlags::ACTIVE | PageFlags::REFERENCED;
            self.m.vmstat.pglazyfree += 1;
        }
    }

    /// madvise_cold_or_pageout_pte_range for the pages mapped only here (small folios; the
    /// model does not split large page-cache folios).
    fn madvise_cold_or_pageout(&mut self, id: MmId, v: &Vma, start: u64, end: u64, pageout: bool) {
        let pgd = self.mms[id].pgd;
        let zero = self.m.frames.zero_pfn();
        let mut reclaim = Vec::new();
        let mut folios = Vec::new();
        // The end of the last large folio met whole: its other PTEs were handled with it
        // (Linux steps over a folio's batch of PTEs at once).
        let mut folio_end = 0;
        for pgtable::PteSlot { table, index: i, va, pte } in pgtable::mapped_ptes(&self.m.frames, pgd, start, end) {
            if pte.pfn() == zero || va < folio_end {
                continue;
            }
            let pfn = pte.pfn();
            if self.pte(id, va) != pte {
                // Unmapped by the split of a folio met earlier in the range.
                continue;
            }
            if self.m.batched_elsewhere.contains(&pfn) {
                // In another CPU's lru_add batch, not on an LRU list: left as it is
                // (folio_test_lru fails), referenced and mapped.
                continue;
            }
            if self.m.in_large_folio(pfn) {
                // A large folio is paged out, or made cold (every PTE old, unreferenced,
                // deactivated: measured on 6.18, ext4, a 16-page folio a write made), whole
                // when the range holds all of it and only this address space maps it. One
                // the range cuts is split if it is clean, and left alone if it is dirty
                // (measured on 6.18, ext4: pageout of pages 0-8 of a file in dirty folios
                // 0-7 and 8-9 unmaps 0-7 and leaves 8-9 mapped; MADV_COLD of pages 0-5 of a
                // dirty 16-page folio changes nothing, of a clean one unmaps all 16).
                if let Some(folio) = self.whole_folio_at(id, va, pfn, start, end) {
                    folio_end = folio.va + ((folio.pfns.len() as u64) << PAGE_SHIFT);
                    // A folio the range holds whole but that another mapping also maps
                    // (another VMA of this address space too) is left as it is: its
                    // mapcount is not its page count (measured on 6.18, ext4: a 16-page
                    // folio inside the range, five of its pages also mapped by a second
                    // mapping, stays mapped and referenced through a MADV_PAGEOUT, clean
                    // or dirty; random script 4300987).
                    if folio.shared {
                        continue;
                    }
                    let folio = (folio.va, folio.pfns);
                    if pageout {
                        folios.push(folio);
                    } else {
                        self.cold_folio(id, folio);
                    }
                } else {
                    self.split_cut_folio(id, pfn);
                }
                continue;
            }
            if self.m.frames.meta(pfn).mapcount != 1 {
                continue;
            }
            if !pageout && pte.flags().contains(PteFlags::ACCESSED) {
                self.m.frames.table_mut(table)[i] = pte.without(PteFlags::ACCESSED).0;
            }
            self.m.frames.meta_mut(pfn).flags -= PageFlags::REFERENCED;
            if pageout && self.m.frames.meta(pfn).flags.contains(PageFlags::MLOCKED) {
                // Only a page an MREMAP_DONTUNMAP left mlocked in an unlocked VMA gets here.
                // Unevictable, it is isolated and put back (lru_add), which zeroes its mlock
                // count: the next munlock of it clears PG_mlocked (measured on 6.18: such
                // pages mlocked and munlocked once go out with the next MADV_PAGEOUT).
                let m = self.m.frames.meta_mut(pfn);
                m.flags -= PageFlags::ACTIVE;
                m.flags |= PageFlags::UNEVICTABLE;
                self.m.frames.mlock_count_forget(pfn);
                continue;
            }
            if pageout {
                reclaim.push((va, pfn));
            } else {
                self.folio_deactivate(id, pfn);
            }
        }
        for (va, pfn) in reclaim {
            self.pageout_page(id, v, va, pfn);
        }
        for (va, pfns) in folios {
            self.pageout_folio(id, v, va, &pfns);
        }
    }

    /// split_folio of a page-cache folio a MADV_COLD or MADV_PAGEOUT range cuts: a clean
    /// folio of a regular file that only this address space maps is split into small
    /// folios, which unmaps every page of it (a file folio is unmapped to be split, and
    /// nothing maps it back; its pages stay in the page cache). A dirty folio is left
    /// alone: its buffers cannot be released, so the split fails.
    fn split_cut_folio(&mut self, id: MmId, pfn: Pfn) {
        let Owner::File { file, index } = self.m.frames.meta(pfn).owner else { return };
        let file = crate::file::FileId(file);
        if self.m.file(file).kind != FileKind::Regular {
            return;
        }
        let (first, order) = self.m.file(file).folio_of(u64::from(index));
        let pfns = self.m.folio_pfns(pfn);
        let maps = self.mappings_of(&pfns);
        // A dirty PTE dirties the folio's buffers as the split unmaps it.
        let pte_dirty = maps.iter().any(|&(m, a)| self.pte(m, a).dirty());
        if pte_dirty || maps.iter().any(|&(m, _)| m != id) {
            return;
        }
        if !self.m.release_large_folio(file, first, first + (1u64 << order), first..first) {
            return;
        }
        for (m, a) in maps {
            let p = self.pte(m, a).pfn();
            let kind = self.m.rss_kind(p);
            self.unmap_one(m, a, p, kind);
        }
        self.m.remove_folio(file, first);
    }

    /// MADV_COLD of a large folio this address space alone maps whole from `va`: its PTEs
    /// made old, its pages unreferenced, and the folio deactivated (pgdeactivate counts
    /// its pages).
    fn cold_folio(&mut self, id: MmId, (va, pfns): (u64, Vec<Pfn>)) {
        let mut active = false;
        for (k, &p) in pfns.iter().enumerate() {
            let at = va + ((k as u64) << PAGE_SHIFT);
            let pte = self.pte(id, at);
            // The PTE is there (whole_folio_at saw it), so no table is allocated.
            let _ = self.set_pte(id, at, pte.without(PteFlags::ACCESSED));
            let m = self.m.frames.meta_mut(p);
            m.flags -= PageFlags::REFERENCED;
            active |= m.flags.contains(PageFlags::ACTIVE);
            m.flags -= PageFlags::ACTIVE;
        }
        if active {
            self.m.vmstat.pgdeactivate += pfns.len() as u64;
        }
    }

    /// How the large folio of the page `pfn` mapped at `va` lies in `[start, end)`: whole
    /// (this is its first page and the range maps all of it, in order), with its first
    /// page's address and its frames, and whether any of its pages is mapped elsewhere too.
    /// `None` when the range cuts it.
    fn whole_folio_at(&self, id: MmId, va: u64, pfn: Pfn, start: u64, end: u64) -> Option<WholeFolio> {
        let Owner::File { file, index } = self.m.frames.meta(pfn).owner else { return None };
        let (first, order) = self.m.file(crate::file::FileId(file)).folio_of(u64::from(index));
        if first != u64::from(index) {
            return None;
        }
        let pfns = self.m.folio_pfns(pfn);
        let len = (pfns.len() as u64) << PAGE_SHIFT;
        if pfns.len() as u64 != 1u64 << order || va < start || va.checked_add(len)? > end {
            return None;
        }
        let whole = pfns.iter().enumerate().all(|(k, &p)| {
            let pte = self.pte(id, va + ((k as u64) << PAGE_SHIFT));
            pte.mapped() && pte.pfn() == p
        });
        let shared = pfns.iter().any(|&p| self.m.frames.meta(p).mapcount != 1);
        whole.then_some(WholeFolio { va, pfns, shared })
    }

    /// shrink_folio_list for a page-cache folio MADV_PAGEOUT isolated (a single page, or a
    /// large folio whole): unmapped, then evicted if clean, kept (activated and flagged for
    /// reclaim) if dirty; a shmem page is written to swap.
    fn pageout_folio(&mut self, id: MmId, v: &Vma, va: u64, pfns: &[Pfn]) {
        if let Owner::File { file, .. } = self.m.frames.meta(pfns[0]).owner {
            if self.m.file(crate::file::FileId(file)).unevictable {
                // folio_evictable fails before anything is unmapped: a locked SysV
                // segment's page stays where it is.
                for &p in pfns {
                    self.m.frames.meta_mut(p).flags -= PageFlags::REFERENCED;
                }
                return;
            }
        }
        for (k, &p) in pfns.iter().enumerate() {
            self.m.frames.meta_mut(p).flags -= PageFlags::REFERENCED;
            if self.pte(id, va + ((k as u64) << PAGE_SHIFT)).dirty() {
                self.m.folio_mark_dirty(p);
            }
        }
        let Owner::File { file, index } = self.m.frames.meta(pfns[0]).owner else { return };
        self.zap_vma_range(id, va, va + ((pfns.len() as u64) << PAGE_SHIFT), v.flags | VmFlags::RAND_READ);
        let f = crate::file::FileId(file);
        let regular = self.m.file(f).kind == FileKind::Regular;
        let clean = !self.m.frames.meta(pfns[0]).flags.contains(PageFlags::DIRTY);
        if clean && pfns.iter().any(|p| self.m.held_elsewhere.contains(p)) {
            // Another CPU's batch holds a reference: __remove_mapping cannot freeze the
            // count, so the clean folio, unmapped now, stays in the page cache as it is.
            return;
        }
        if self.m.file(f).kind == FileKind::Shmem && pfns.len() == 1 && self.m.frames.meta(pfns[0]).mapcount == 0 {
            // shmem goes to swap (it stays in the swap cache while the write runs), or is
            // dropped if never written; kept, unmapped, without a free slot.
            let pid = self.task_of_mm(id).map_or(0, |t| t.pid);
            if self.shmem_writeout(pid, va, pfns[0], false) == crate::swap::shmem::ShmemOut::NoSwap {
                self.pageout_activate(pfns[0]);
            }
            return;
        }
        if regular && clean && pfns.iter().all(|&p| self.m.frames.meta(p).mapcount == 0) {
            let first = u64::from(index);
            self.m.remove_folio(f, first);
            let fm = self.m.file_mut(f);
            for k in 0..pfns.len() as u64 {
                fm.cache.remove(first + k);
                fm.evicted.insert(first + k);
            }
            for &p in pfns {
                self.m.frames.put(p);
            }
        } else {
            if regular && !clean {
                // Only kswapd writes a file folio back: this one is flagged PG_reclaim for
                // when its writeback ends, the bit PG_readahead shares, so fault-around and
                // faults treat it as readahead marked until a fault or its writeback takes
                // the flag off.
                self.m.file_mut(f).ra_marks.insert(u64::from(index));
            }
            for &p in pfns {
                self.pageout_activate(p);
            }
        }
    }

    /// What reclaim does with a page it cannot free: puts it on the active list (an mlocked
    /// page stays on the unevictable one).
    fn pageout_activate(&mut self, pfn: Pfn) {
        let m = self.m.frames.meta_mut(pfn);
        if !m.flags.contains(PageFlags::ACTIVE) && !m.flags.contains(PageFlags::MLOCKED) {
            m.flags |= PageFlags::ACTIVE;
            self.m.vmstat.pgactivate += 1;
        }
    }

    /// shrink_folio_list for one page MADV_PAGEOUT isolated: anonymous memory goes to swap
    /// (and is activated when there is no swap slot for it); a page-cache page goes as a
    /// folio of one.
    fn pageout_page(&mut self, id: MmId, v: &Vma, va: u64, pfn: Pfn) {
        let meta = self.m.frames.meta(pfn);
        if matches!(meta.owner, Owner::File { .. }) {
            self.pageout_folio(id, v, va, &[pfn]);
            return;
        }
        // A lazily freeable page still clean is simply discarded (try_to_unmap_one); one
        // written again since MADV_FREE becomes swap-backed again and stays.
        if !meta.flags.contains(PageFlags::SWAPBACKED) {
            if !self.pte(id, va).dirty() && !meta.flags.contains(PageFlags::DIRTY) {
                self.zap_vma_range(id, va, va + PAGE_SIZE, v.flags | VmFlags::RAND_READ);
                return;
            }
            // try_to_unmap_one gives up on it this time.
            self.m.frames.meta_mut(pfn).flags |= PageFlags::SWAPBACKED;
            self.pageout_activate(pfn);
            return;
        }
        if self.swap_out_page(id, va, pfn, false) == crate::swap::swapout::SwapOutResult::NoSwap {
            self.pageout_activate(pfn);
        }
    }

    /// madvise_remove: punch a hole in the file of a shared writable mapping.
    fn madvise_remove(&mut self, v: &Vma, start: u64, end: u64) -> SysResult<()> {
        if v.flags.contains(VmFlags::LOCKED) {
            return Err(Errno::EINVAL);
        }
        let Some(f) = v.file else { return Err(Errno::EINVAL) };
        if !v.flags.contains(VmFlags::SHARED | VmFlags::MAYWRITE) {
            return Err(Errno::EACCES);
        }
        let first = v.page_index(start);
        let pages = (end - start) >> PAGE_SHIFT;
        self.punch_hole(f.file, first, first + pages);
        Ok(())
    }

    /// madvise_willneed: a regular file's evicted pages in the range are read back into the
    /// page cache (readahead); anonymous and shmem memory have nothing to read without swap.
    fn madvise_willneed(&mut self, v: &Vma, start: u64, end: u64) {
        let Some(f) = v.file else { return };
        if self.m.file(f.file).kind == FileKind::Shmem {
            // shmem_swapin_range: every page of the range the object has out on swap is
            // read into the swap cache (read_swap_cache_async), not into the object: the
            // next access takes it from there as a minor fault.
            let (first, last) = (v.page_index(start), v.page_index(end - PAGE_SIZE));
            let out: Vec<_> = self.m.file(f.file).swapped.range(first..=last).map(|(_, &e)| e).collect();
            for e in out {
                if self.swap_cache_page(e).is_none() {
                    break;
                }
            }
            return;
        }
        // vfs_fadvise(POSIX_FADV_WILLNEED): every page of the range not in the page cache
        // is read (never read, evicted, or dropped by a truncation since), up to the end of
        // a regular file (force_readahead reads nothing of any other, or of a range wholly
        // past the end). Measured on 6.18: WILLNEED over pages 4-15 of a fresh 10-page file
        // caches pages 4-9.
        let _ = self.force_readahead(f.open, f.file, v.page_index(start), v.page_index(end - PAGE_SIZE));
    }

    /// madvise_collapse: refused (EINVAL) where THP cannot be used; collapsing itself is not
    /// modelled, so an eligible range is left as it is.
    fn madvise_collapse(&mut self, id: MmId, v: &Vma) -> SysResult<()> {
        let mm = &self.mms[id];
        let aligned = (v.start + PMD_SIZE - 1) & !(PMD_SIZE - 1);
        let fits = aligned.checked_add(PMD_SIZE).is_some_and(|e| e <= v.end);
        if mm.thp_disabled || self.m.config.thp == ThpMode::Never || !fits || v.special.is_some() {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }

    /// Frees the PTE tables that a zap of `[start, end)` left empty and that lie wholly
    /// inside it (CONFIG_PT_RECLAIM, done for MADV_DONTNEED).
    fn reclaim_empty_pte_tables(&mut self, id: MmId, start: u64, end: u64) {
        let pgd = self.mms[id].pgd;
        let span = pgtable::leaf_span(&self.m.frames);
        for (base, table) in pgtable::leaf_tables(&self.m.frames, pgd, start, end) {
            if base < start || base + span > end {
                continue;
            }
            if self.m.frames.table(table).iter().any(|&e| e != 0) || self.mms[id].has_guard_in(base, base + span) {
                continue;
            }
            let pmd = pgtable::table_at(&self.m.frames, pgd, base, 1).expect("PMD table of a PTE table");
            pgtable::set_table_entry(&mut self.m.frames, pmd, base, 0, None);
            self.m.frames.free(table);
            self.mm_mut(id).pgtable_pages -= 1;
        }
    }

    /// Punches the hole `[first, last)` (page indexes) into `file`, as fallocate does:
    /// every mapping of the affected page-cache pages is cleared (private copies stay).
    /// shmem pages are freed. For a regular file, whole folios in the hole leave the page
    /// cache and read back as zeros; a large folio only partly in the hole is unmapped as a
    /// whole and, if dirty, stays cached whole, zeroed there, until the punch that reaches
    /// its last page not yet punched splits it (freeing that punch's pages only, the earlier
    /// ones staying cached, zeroed and clean); a clean one is split at once (measured on
    /// 6.18, ext4).
    pub(crate) fn punch_hole(&mut self, file: crate::file::FileId, first: u64, last: u64) {
        let regular = self.m.file(file).kind == FileKind::Regular;
        // The page ranges to unmap, and which of them leave the cache.
        let mut unmap: Vec<(u64, u64)> = Vec::new();
        let mut remove: Vec<(u64, u64)> = Vec::new();
        let mut forget: Vec<u64> = Vec::new();
        // Large folios the hole cuts: split if clean, kept whole if dirty (decided once their
        // PTEs' dirt is in them, below).
        let mut cut: Vec<(u64, u64)> = Vec::new();
        // ext4 ends a hole reaching past EOF at the end of the page holding EOF, so that page
        // goes too.
        let full = last.min(self.m.file(file).size_pages());
        if regular {
            if first >= full {
                return;
            }
            let mut i = first;
            while i < full {
                let (fs, order) = self.m.file(file).folio_of(i);
                let fe = fs + (1u64 << order);
                if fs >= first && fe <= full {
                    remove.push((fs, fe));
                    unmap.push((fs, fe));
                    if order > 0 {
                        // The folio leaves the cache whole: pages read back later come in
                        // folios of their own making.
                        forget.push(fs);
                    }
                } else if order > 0 {
                    cut.push((fs, fe));
                }
                i = fe;
            }
        } else {
            remove.push((first, last));
            unmap.push((first, last));
        }
        // A cut folio that a mapping maps dirty outside the hole gets all its buffers dirtied
        // again by the zap of those PTEs, which comes after the hole's buffers were
        // discarded: no later punch can release it (measured on 6.18: a 40-page file just
        // written, a store through a shared mapping of pages 28-41 (the folio of pages
        // 32-39 mapped whole), then MADV_REMOVE of 28-36 and of 37-39 leaves pages 32-39
        // cached and dirty; with the mapping covering pages 28-36 only, or unmapped before
        // the punches, the second punch frees 37-39 and leaves 32-36 clean).
        let redirtied: Vec<u64> = cut
            .iter()
            .filter(|&&(fs, fe)| {
                let (lo, hi) = (first.max(fs), last.min(fe));
                self.file_pages_mapped_dirty(file, fs, lo) || self.file_pages_mapped_dirty(file, hi, fe)
            })
            .map(|&(fs, _)| fs)
            .collect();
        for &(lo, hi) in &unmap {
            self.unmap_file_range(file, lo, hi, true);
        }
        // A cut folio is unmapped whole: its pages in the hole first, with the hole's (a
        // young PTE marks the folio accessed), then the rest (unmap_mapping_folio, from
        // truncate_inode_partial_folio), which marks nothing (measured on 6.18, a 16-page
        // folio, a hole over pages 13-19: a store to page 7 through a shared mapping leaves
        // it unreferenced; a store to page 14, or a load of page 7 whose fault-around mapped
        // pages 13-15, leaves it referenced, and not activated by a second mark; random
        // script 5600867).
        for &(fs, fe) in &cut {
            let (lo, hi) = (first.max(fs), last.min(fe));
            self.unmap_file_range(file, lo, hi, true);
            self.unmap_file_range(file, fs, lo, false);
            self.unmap_file_range(file, hi, fe, false);
        }
        // truncate_inode_partial_folio zeroes the hole's part of a folio it cuts, discards
        // those pages' buffers, and tries to split it. ext4 cannot release a dirty buffer, so
        // a dirty folio with a page left that no hole has reached stays whole, zeroed (see
        // `Machine::release_large_folio`); any other is split, and its pages in the hole
        // leave the cache with the rest of the hole's. The split unmaps the whole folio, which is not mapped back
        // (as a truncation's: see `truncate_file`). Measured on 6.18: pages 1-3 punched out
        // of a 13,288-byte file just written leave pages 0-1 cached (a folio of 0-1 kept, one
        // of 2-3 gone), after an fsync page 0 alone; page 37 of a 40-page file, pages 0-39
        // and 0-36 plus 38-39.
        let mut zero_pages: Vec<u64> = Vec::new();
        let mut split: Vec<(u64, u64, u64, u64)> = Vec::new();
        for (fs, fe) in cut {
            let hole = first.max(fs)..last.min(fe);
            let redirty = redirtied.contains(&fs);
            if !redirty && self.m.release_large_folio(file, fs, fe, hole.clone()) {
                split.push((fs, hole.start, hole.end, fe));
                remove.push((fs.max(first), fe.min(full)));
            } else {
                if redirty {
                    self.m.file_mut(file).forget_clean_buffers(fs..fe);
                } else {
                    self.m.file_mut(file).clean_buffers.extend(hole.clone());
                }
                zero_pages.extend(hole);
            }
        }
        for i in zero_pages {
            if let Some(p) = self.m.file(file).cache.get(i) {
                self.m.frames.fill(p, &[]);
            }
        }
        for fs in forget {
            self.m.remove_folio(file, fs);
        }
        // A cut folio is split at the hole's first page, then, where the hole ends inside it,
        // the folio holding the first page after the hole at that page, also when that page
        // starts it (the page becomes a folio of its own, as the others: measured on 6.18, a
        // hole over page 29 of the folio of pages 16-31 leaves pages 30 and 31 apart, and a
        // store to page 30 dirties page 30 alone; random script 5800731), and the pieces
        // inside the hole go with it.
        for (fs, lo, hi, fe) in split {
            self.m.split_folio_at(file, fs, lo);
            let (at, order) = self.m.file(file).folio_of(hi);
            if order > 0 && hi < fe {
                self.m.split_folio_at(file, at, hi);
            }
            let inside: Vec<u64> = self.m.file(file).folios.range(lo..hi).map(|(&s, _)| s).collect();
            for s in inside {
                self.m.remove_folio(file, s);
            }
        }
        let mut drained = false;
        for (lo, hi) in remove {
            let f = self.m.file_mut(file);
            let gone: Vec<(u64, Pfn)> = f.cache.range(lo..hi).collect();
            for (i, _) in &gone {
                f.cache.remove(*i);
            }
            if !gone.is_empty() && !std::mem::replace(&mut drained, true) {
                self.m.truncation_drain();
            }
            // shmem pages out on swap in the hole go too.
            let swapped = self.m.shmem_free_swap(file, lo, hi);
            let f = self.m.file_mut(file);
            if f.acct_per_page {
                let n = gone.len() as u64 + swapped;
                f.acct_pages -= n;
                self.m.vm_unacct_memory(n);
                self.m.shmem_recalc(file);
            }
            for (_, p) in gone {
                self.m.frames.put(p);
            }
            let f = self.m.file_mut(file);
            if f.kind == FileKind::Regular {
                for i in lo..hi.min(f.size_pages()) {
                    f.evicted.insert(i);
                    // The hole reads as zeros: the written-back copy is gone too.
                    f.written_back.remove(&i);
                }
            }
        }
        let f = self.m.file_mut(file);
        if f.kind == FileKind::Regular {
            if let Some(src) = &mut f.source {
                src.punch(first.saturating_mul(PAGE_SIZE), last.saturating_mul(PAGE_SIZE));
            }
        }
    }

    /// Whether some process maps a page-cache page of `file` in `[first, last)` (page
    /// indexes) through a dirty PTE.
    fn file_pages_mapped_dirty(&self, file: crate::file::FileId, first: u64, last: u64) -> bool {
        first < last
            && self.mms.ids().into_iter().any(|id| {
                self.file_page_ranges(id, file, first, last).into_iter().any(|(s, e)| {
                    pgtable::mapped_ptes(&self.m.frames, self.mms[id].pgd, s, e).iter().any(|slot| {
                        slot.pte.dirty()
                            && matches!(self.m.frames.meta(slot.pte.pfn()).owner, Owner::File { file: f, .. } if f == file.0)
                    })
                })
            })
    }

    /// unmap_mapping_range without even_cows over page indexes `[first, last)` of `file`,
    /// in every address space.
    ///
    /// Without `marks`, young PTEs do not mark their folios accessed (the part of a folio a
    /// hole punch cuts that lies outside the hole).
    pub(crate) fn unmap_file_range(&mut self, file: crate::file::FileId, first: u64, last: u64, marks: bool) {
        if first >= last {
            return;
        }
        for id in self.mms.ids() {
            for (s, e) in self.file_page_ranges(id, file, first, last) {
                self.zap_file_pages(id, s, e, file, marks);
            }
        }
    }
}

impl Kernel {
    /// Clears the PTEs of `[start, end)` that map page-cache pages of `file`, leaving
    /// private copies. As zap_present_folio_ptes, a run of one folio's pages marks the
    /// folio accessed if any of its PTEs was young (unless the VMA declared its access
    /// pattern), then munlocks it in a locked VMA (measured: a hole punched through a
    /// folio a read had just mapped leaves it referenced).
    fn zap_file_pages(&mut self, id: MmId, start: u64, end: u64, file: crate::file::FileId, marks: bool) {
        let mm = &self.mms[id];
        let vma = mm.vmas.containing(start);
        let locked = vma.is_some_and(|v| v.flags.contains(VmFlags::LOCKED));
        let recency = vma.is_some_and(|v| !v.flags.intersects(VmFlags::SEQ_READ | VmFlags::RAND_READ));
        let pgd = mm.pgd;
        let mut runs = crate::folio_batch::FolioRuns::new(pgtable::leaf_span(&self.m.frames));
        // The run being zapped: a page of it, and whether a PTE of it was young.
        let mut run: Option<(Pfn, bool)> = None;
        let end_run = |(pfn, young): (Pfn, bool)| (pfn, young && marks);
        for pgtable::PteSlot { table, index: i, pte, va } in pgtable::mapped_ptes(&self.m.frames, pgd, start, end) {
            let pfn = pte.pfn();
            if !matches!(self.m.frames.meta(pfn).owner, Owner::File { file: f, .. } if f == file.0) {
                continue;
            }
            if runs.starts_run(self.m.folio_key(pfn), va) {
                if let Some(done) = run.take() {
                    self.end_file_zap_run(end_run(done), recency, locked);
                }
                run = Some((pfn, false));
            }
            if let Some(r) = run.as_mut() {
                r.1 |= pte.flags().contains(crate::pgtable::PteFlags::ACCESSED);
            }
            self.m.frames.table_mut(table)[i] = 0;
            if pte.dirty() {
                self.m.folio_mark_dirty(pfn);
            }
            let kind = self.m.rss_kind(pfn);
            crate::kernel::rss_add(self.mm_mut(id), kind, -1);
            self.m.frames.meta_mut(pfn).mapcount -= 1;
            self.m.frames.put(pfn);
        }
        if let Some(done) = run {
            self.end_file_zap_run(end_run(done), recency, locked);
        }
    }
}

/// Whether madvise `advice` changes only flags of the VMAs in its range (splitting them at
/// its ends), nothing that maps shows.
pub fn advice_changes_vma_flags(advice: u64) -> bool {
    matches!(
        advice,
        MADV_NORMAL
            | MADV_RANDOM
            | MADV_SEQUENTIAL
            | MADV_DONTFORK
            | MADV_DOFORK
            | MADV_MERGEABLE
            | MADV_UNMERGEABLE
            | MADV_HUGEPAGE
            | MADV_NOHUGEPAGE
            | MADV_DONTDUMP
            | MADV_DODUMP
            | MADV_WIPEONFORK
            | MADV_KEEPONFORK
    )
}

/// madvise_behavior_valid for this kernel's configuration (KSM, THP, memory failure).
fn advice_valid(advice: u64) -> bool {
    matches!(
        advice,
        MADV_NORMAL
            | MADV_RANDOM
            | MADV_SEQUENTIAL
            | MADV_WILLNEED
            | MADV_DONTNEED
            | MADV_FREE
            | MADV_REMOVE
            | MADV_DONTFORK
            | MADV_DOFORK
            | MADV_MERGEABLE
            | MADV_UNMERGEABLE
            | MADV_HUGEPAGE
            | MADV_NOHUGEPAGE
            | MADV_DONTDUMP
            | MADV_DODUMP
            | MADV_WIPEONFORK
            | MADV_KEEPONFORK
            | MADV_COLD
            | MADV_PAGEOUT
            | MADV_POPULATE_READ
            | MADV_POPULATE_WRITE
            | MADV_DONTNEED_LOCKED
            | MADV_COLLAPSE
            | MADV_HWPOISON
            | MADV_SOFT_OFFLINE
            | MADV_GUARD_INSTALL
            | MADV_GUARD_REMOVE
    )
}

/// A large folio a madvise range holds whole ([`Kernel::whole_folio_at`]).
struct WholeFolio {
    /// The address of its first page.
    va: u64,
    /// Its frames, in order.
    pfns: Vec<Pfn>,
    /// Whether a page of it is mapped elsewhere too.
    shared: bool,
}
