//! The VMA and page-table machinery the calls are built from: linking and unlinking a VMA
//! (with its file reference and accounting), splitting and merging by Linux's rules,
//! zapping PTEs, freeing page tables under a hole, giving a VMA an anon_vma, and setting or
//! reading one PTE.

use crate::accounting::{rss_add, vm_stat_account, RssKind};
use crate::flags::VmFlags;
use crate::frame::{OutOfMemory, Owner, Pfn};
use crate::kernel::Kernel;
use crate::layout::*;
use crate::mm_table::MmId;
use crate::pgtable::{self, Pte, PteFlags};
use crate::vma::{AnonVma, Vma};

/// Whether the anon_vmas of two neighbours allow a merge (is_mergeable_anon_vma).
fn anon_compatible(a: Option<AnonVma>, b: Option<AnonVma>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => x.id == y.id,
        (Some(x), None) | (None, Some(x)) => !x.inherited,
    }
}

/// Whether `lo` and `hi` (adjacent, `lo` below) can be one VMA (Linux's merge rules).
pub fn can_merge(lo: &Vma, hi: &Vma) -> bool {
    lo.end == hi.start
        && lo.special.is_none()
        && hi.special.is_none()
        && !lo.flags.intersects(VmFlags::SPECIAL)
        && (lo.flags - VmFlags::IGNORE_MERGE) == (hi.flags - VmFlags::IGNORE_MERGE)
        && lo.file == hi.file
        && lo.pgoff.wrapping_add(lo.pages()) == hi.pgoff
        && anon_compatible(lo.anon_vma, hi.anon_vma)
}

impl Kernel {
    /// Inserts a VMA into an mm, taking the file reference and accounting its pages.
    pub(crate) fn vma_link(&mut self, id: MmId, vma: Vma) {
        if let Some(f) = vma.file {
            self.m.get_open(f.open);
        }
        // An accounted VMA holds its pages' commit charge; callers that must check the
        // limit (mmap, fork, brk) do so before linking.
        if vma.flags.contains(VmFlags::ACCOUNT) {
            self.m.vm_acct_memory(vma.pages());
        }
        let mm = &mut self.mms[id];
        vm_stat_account(mm, vma.flags, vma.pages() as i64);
        mm.vmas.insert(vma);
    }

    /// Removes a VMA (whose pages must already be zapped), dropping its file reference and
    /// accounting.
    pub(crate) fn vma_unlink(&mut self, id: MmId, start: u64) -> Vma {
        let vma = self.mms[id].vmas.remove(start).expect("unlink of a missing VMA");
        self.vma_unlinked(id, &vma);
        vma
    }

    /// What taking `vma` out of address space `id` gives back: its pages in the counters,
    /// its swap readahead state, its commit charge, its file's reference.
    pub(crate) fn vma_unlinked(&mut self, id: MmId, vma: &Vma) {
        vm_stat_account(&mut self.mms[id], vma.flags, -(vma.pages() as i64));
        if vma.flags.contains(VmFlags::MAYBE_GUARD) {
            let _ = self.mms[id].drop_guards(vma.start, vma.end);
        }
        self.m.swap.ra.remove(&(id, vma.start));
        if vma.flags.contains(VmFlags::ACCOUNT) {
            self.m.vm_unacct_memory(vma.pages());
        }
        if let Some(f) = vma.file {
            self.m.put_open(f.open);
        }
    }

    /// Splits the VMA containing `at` so that a VMA starts at `at` (no map_count check: the
    /// caller decides). No-op if a VMA already starts there or none contains it.
    pub(crate) fn split_at(&mut self, id: MmId, at: u64) {
        let mm = self.mm_mut(id);
        let Some(v) = mm.vmas.containing(at).cloned() else { return };
        if v.start == at {
            return;
        }
        let upper = v.slice(at, v.end);
        mm.vmas.update(v.start, |x| x.end = at);
        if let Some(f) = upper.file {
            self.m.get_open(f.open);
        }
        self.mm_mut(id).vmas.insert(upper);
    }

    /// Merges the VMA starting at `start` with its neighbours where Linux would.
    /// Returns the start of the resulting VMA.
    pub(crate) fn try_merge_around(&mut self, id: MmId, start: u64) -> u64 {
        let mut start = start;
        let mm = self.mm_mut(id);
        let cur = mm.vmas.get(start).cloned().expect("merge of a missing VMA");
        if let Some(prev) = mm.vmas.before(start).cloned() {
            if can_merge(&prev, &cur) {
                self.merge_pair(id, prev.start, cur.start);
                start = prev.start;
            }
        }
        let mm = self.mm_mut(id);
        let cur = mm.vmas.get(start).cloned().expect("merged VMA vanished");
        if let Some(next) = mm.vmas.after(start).cloned() {
            if can_merge(&cur, &next) {
                self.merge_pair(id, cur.start, next.start);
            }
        }
        start
    }

    /// Joins two adjacent mergeable VMAs into the lower one.
    pub(crate) fn merge_pair(&mut self, id: MmId, lo: u64, hi: u64) {
        let mm = self.mm_mut(id);
        let upper = mm.vmas.remove(hi).expect("merge of a missing VMA");
        let anon = upper.anon_vma;
        mm.vmas.update(lo, |v| {
            v.end = upper.end;
            v.flags |= upper.flags & VmFlags::STICKY;
            if v.anon_vma.is_none() {
                v.anon_vma = anon;
            }
        });
        if let Some(f) = upper.file {
            self.m.put_open(f.open);
        }
    }

    /// Clears every PTE in `[start, end)` of an mm, dropping page references and RSS
    /// (zap_page_range). Page tables stay; see [`Kernel::free_pgtables`].
    pub(crate) fn zap_range(&mut self, id: MmId, start: u64, end: u64) {
        // Per VMA, because unmapping a young PTE of a page-cache page counts as an access
        // of that page unless the VMA declared its access pattern (vma_has_recency).
        // One lookup a VMA rather than a list of them (zapping changes no VMA).
        let mut at = start;
        while at < end {
            let next = self.mms[id].vmas.find(at).filter(|v| v.start < end);
            let Some((lo, hi, flags)) = next.map(|v| (v.start.max(start), v.end.min(end), v.flags)) else {
                break;
            };
            self.zap_vma_range(id, lo, hi, flags);
            at = hi;
        }
    }

    /// Zaps `[start, end)`, which lies in one VMA with flags `vm_flags`.
    /// Unmaps the anonymous pages of `run` (PTEs already cleared, in address order),
    /// emptying it, and returns how many there were: each loses a mapping and a reference
    /// (their metadata changed a chunk at a time: making a shared chunk one's own is an
    /// atomic operation), then, in order, those left unreferenced are freed and those left
    /// unmapped in the swap cache leave it as a page by page zap would.
    fn zap_anon_run(&mut self, run: &mut Vec<Pfn>) -> i64 {
        if run.is_empty() {
            return 0;
        }
        self.m.frames.update_metas(run.iter().copied(), |meta| {
            meta.mapcount -= 1;
            meta.refcount -= 1;
        });
        for &pfn in run.iter() {
            let meta = self.m.frames.meta(pfn);
            // (A page met twice is freed once.)
            if meta.refcount == 0 && meta.owner != Owner::Free {
                self.m.frames.free(pfn);
            }
            self.free_swap_cache(pfn);
        }
        let n = run.len() as i64;
        run.clear();
        n
    }

    /// The end of a run of one page-cache folio's PTEs a zap unmapped together (see
    /// [`crate::folio_batch::FolioRuns`]), given as a page of the folio and whether a PTE
    /// of the run was young: the folio's access (unless the VMA declared its access
    /// pattern), then, in a locked VMA, its munlock (a small folio's run is its one page; a
    /// large folio is munlocked once a run).
    pub(crate) fn end_file_zap_run(&mut self, (pfn, young): (Pfn, bool), recency: bool, locked: bool) {
        if young && recency {
            self.m.mark_accessed(pfn);
        }
        if locked {
            self.m.munlock_page(pfn);
        }
    }

    pub(crate) fn zap_vma_range(&mut self, id: MmId, start: u64, end: u64, vm_flags: VmFlags) {
        let recency = !vm_flags.intersects(VmFlags::SEQ_READ | VmFlags::RAND_READ);
        let locked = vm_flags.contains(VmFlags::LOCKED);
        let pgd = self.mms[id].pgd;
        let tables = pgtable::leaf_tables(&self.m.frames, pgd, start, end);
        let zero = self.m.frames.zero_pfn();
        let mut anon = 0i64;
        let mut file = 0i64;
        let mut shmem = 0i64;
        let span = pgtable::leaf_span(&self.m.frames);
        // The batch of one file folio's PTEs being unmapped: a page of it, and whether a
        // PTE of it was young.
        let mut runs = crate::folio_batch::FolioRuns::new(span);
        let mut run: Option<(Pfn, bool)> = None;
        // Unlocked anonymous pages met in a row, unmapped together (see `zap_anon_run`).
        let mut anon_run: Vec<Pfn> = Vec::new();
        for (base, table) in tables {
            let lo = start.max(base);
            let hi = end.min(base + span);
            let (first, last) = (((lo - base) >> PAGE_SHIFT) as usize, ((hi - 1 - base) >> PAGE_SHIFT) as usize);
            // A shared zero-page table maps nothing to count or put back: it is only cleared.
            let zero_only = self.m.frames.is_shared_zero_table(table);
            // The entries are read and cleared a table at a time (nothing below reads them);
            // only the range's, so that a small VMA does not pay for its whole table.
            let stored = self.m.frames.table(table);
            let whole_table = first == 0 && last == stored.len() - 1;
            let entries: Vec<u64> = if zero_only {
                Vec::new()
            } else {
                let range = &stored[first..=last];
                if range.iter().all(|&e| e == 0) {
                    continue;
                }
                range.to_vec()
            };
            if whole_table {
                // Without copying a shared table's entries first only to clear them.
                self.m.frames.clear_table(table);
            } else {
                self.m.frames.table_mut(table)[first..=last].fill(0);
            }
            if zero_only {
                continue;
            }
            for (i, &e) in (first..).zip(&entries) {
                let pte = Pte(e);
                if pte.is_none() {
                    continue;
                }
                let pfn = pte.pfn();
                if pte.mapped() && pfn != zero && !locked && self.m.frames.meta(pfn).owner == Owner::Anon {
                    anon_run.push(pfn);
                    continue;
                }
                // Anything else in the order it comes: the anonymous pages before it first.
                anon -= self.zap_anon_run(&mut anon_run);
                if let Some((e, _)) = crate::swap::SwapEntry::from_pte(pte) {
                    self.zap_swap_pte(id, e);
                    continue;
                }
                let va = base + ((i as u64) << PAGE_SHIFT);
                if pfn == zero {
                    continue;
                }
                match self.m.rss_kind(pfn) {
                    RssKind::Anon => anon -= 1,
                    RssKind::File => file -= 1,
                    RssKind::Shmem => shmem -= 1,
                }
                let is_file = matches!(self.m.frames.meta(pfn).owner, Owner::File { .. });
                let young = pte.flags().contains(PteFlags::ACCESSED);
                // zap handles the PTEs of one folio in one page table as a batch: one access
                // for the batch if any of them is young, then (in a locked VMA) one munlock.
                // A batch ends where the next entry maps another folio.
                if runs.starts_run(self.m.folio_key(pfn), va) {
                    if let Some(done) = run.take() {
                        self.end_file_zap_run(done, recency, locked);
                    }
                }
                // Linux marks the folio accessed before it queues the munlock, which takes
                // effect only when the mlock batch drains: the access finds the folio still
                // unevictable and leaves its PG_referenced as it is. The model munlocks at
                // once, so the access comes first here (an mlocked folio is a small one: a
                // batch of its own; a large folio is munlocked at its batch's end).
                let small_locked = locked && !self.m.in_large_folio(pfn);
                if small_locked {
                    if is_file && recency && young {
                        self.m.mark_accessed(pfn);
                    }
                    self.m.munlock_page(pfn);
                } else if is_file {
                    let r = run.get_or_insert((pfn, false));
                    r.1 |= young;
                }
                let meta = self.m.frames.meta_mut(pfn);
                meta.mapcount -= 1;
                if pte.dirty() && is_file {
                    self.m.folio_mark_dirty(pfn);
                }
                self.m.frames.put(pfn);
                if !is_file {
                    self.free_swap_cache(pfn);
                }
            }
            anon -= self.zap_anon_run(&mut anon_run);
        }
        if let Some(done) = run {
            self.end_file_zap_run(done, recency, locked);
        }
        let mm = self.mm_mut(id);
        rss_add(mm, RssKind::Anon, anon);
        rss_add(mm, RssKind::File, file);
        rss_add(mm, RssKind::Shmem, shmem);
    }

    /// Frees page tables left without any VMA between the neighbours of a hole (free_pgtables).
    pub(crate) fn free_pgtables(&mut self, id: MmId, hole_start: u64, hole_end: u64) {
        let mm = &self.mms[id];
        let floor = mm.vmas.prev_of(hole_start).map(|v| v.end).unwrap_or(0);
        let ceiling = mm.vmas.next_of(hole_end).map(|v| v.start).unwrap_or(0);
        let pgd = mm.pgd;
        let freed = pgtable::free_tables(&mut self.m.frames, pgd, hole_start, hole_end, floor, ceiling);
        self.mm_mut(id).pgtable_pages -= freed;
    }

    /// Gives a VMA an anon_vma if it has none (anon_vma_prepare), reusing a mergeable
    /// neighbour's as Linux does so that the two can still merge.
    pub(crate) fn anon_vma_prepare(&mut self, id: MmId, start: u64) {
        let mm = &self.mms[id];
        let v = mm.vmas.get(start).expect("missing VMA");
        if v.anon_vma.is_some() {
            return;
        }
        let mut reuse = None;
        let mut probe = v.clone();
        // find_mergeable_anon_vma tries the next VMA first, then the previous one.
        for n in [mm.vmas.after(start), mm.vmas.before(start)].into_iter().flatten() {
            if let Some(a) = n.anon_vma {
                if a.inherited {
                    continue;
                }
                probe.anon_vma = Some(a);
                let (lo, hi) = if n.start < v.start { (n, &probe) } else { (&probe, n) };
                let ok = lo.end == hi.start
                    && (lo.flags - VmFlags::IGNORE_MERGE - VmFlags::ACCESS)
                        == (hi.flags - VmFlags::IGNORE_MERGE - VmFlags::ACCESS)
                    && lo.file == hi.file
                    && lo.pgoff.wrapping_add(lo.pages()) == hi.pgoff;
                if ok {
                    reuse = Some(a);
                    break;
                }
            }
        }
        let a = match reuse {
            Some(a) => a,
            None => self.m.new_anon_vma(false),
        };
        self.mm_mut(id).vmas.update(start, |v| v.anon_vma = Some(a));
    }

    /// Installs a PTE at `va`, allocating the page tables it needs.
    pub(crate) fn set_pte(&mut self, id: MmId, va: u64, pte: Pte) -> Result<(), OutOfMemory> {
        let pgd = self.mms[id].pgd;
        let mut new = 0;
        // Upper tables allocated before a failure stay in the tree: count them either way.
        let t = pgtable::leaf_table_alloc(&mut self.m.frames, pgd, va, &mut new);
        self.mm_mut(id).pgtable_pages += new;
        let t = t.ok_or(OutOfMemory)?;
        let i = pgtable::pte_index(&self.m.frames, va);
        self.m.frames.table_mut(t)[i] = pte.0;
        Ok(())
    }

    /// The PTE mapping `va` in an mm.
    pub fn pte(&self, id: MmId, va: u64) -> Pte {
        let pgd = self.mms[id].pgd;
        pgtable::lookup(&self.m.frames, pgd, va)
    }

    /// The PTE flags a VMA's pages get when mapped for `write` (vm_page_prot plus the
    /// write/dirty bits of the faulting access).
    pub(crate) fn pte_flags_for(&self, vma: &Vma, writable: bool, dirty: bool) -> PteFlags {
        let mut f = PteFlags::USER | PteFlags::ACCESSED;
        if vma.flags.intersects(VmFlags::READ | VmFlags::WRITE | VmFlags::EXEC) {
            f |= PteFlags::PRESENT;
        } else {
            f |= crate::pgtable::PROTNONE;
        }
        if writable {
            f |= PteFlags::WRITABLE;
        }
        if dirty {
            f |= PteFlags::DIRTY;
        }
        if !vma.flags.contains(VmFlags::EXEC) {
            f |= PteFlags::NX;
        }
        f
    }
}
