//! The LRU scan: `shrink_node` → `shrink_lruvec` → `shrink_inactive_list` /
//! `shrink_active_list` (mm/vmscan.c), for the machine or one memory cgroup.
//!
//! A run goes through priorities 12 down to 0 until it has freed what it was asked for.
//! At each priority every list gets a scan of its size >> priority (all of it at 0),
//! scaled as `get_scan_count` balances anon against file:
//! * no free swap, `swappiness` 0, or (reclaim in a memory cgroup) no room under its swap
//!   limits ([`crate::memcg::Memcgs::may_swap`]): file only;
//! * machine-wide, when file pages plus free memory are below the high watermark: anon
//!   only (the file cache is too small to help);
//! * plenty of inactive file pages (the list is not low): file only (`cache_trim_mode`);
//! * priority 0 with swappiness above 0: both lists equally;
//! * otherwise anon gets `swappiness` / 200 of its scan and file (200 − swappiness) / 200
//!   (Linux weighs these shares further by the recent cost of each kind; the model counts
//!   the costs equal).
//!
//! An inactive page is scanned (pgscan) and `folio_check_references` decides: its young
//! PTEs are counted and made old, its `PG_referenced` cleared. Young PTEs: the page is
//! activated if it was already referenced, is mapped young more than once, or is
//! executable file memory, and otherwise marked referenced and kept (the second chance).
//! No young PTE: reclaimed ([`super::evict`]); a referenced file page only if clean.
//! An active list is aged when its inactive list is low (inactive × ratio < active, the
//! ratio √(10 × GiB of the list), at least 1): each scanned page (pgrefill) is
//! deactivated, except executable file pages with young PTEs, which stay active.

use super::rmap::Rmap;
use super::Reclaimer;
use crate::file::{FileId, FileKind};
use crate::flags::VmFlags;
use crate::frame::{FrameMeta, Owner, PageFlags, Pfn};
use crate::kernel::Kernel;
use crate::mm_table::MmId;
use crate::oom::OomScope;
use crate::pgtable::PteFlags;
use std::collections::HashSet;

/// The scan priority a run starts at (DEF_PRIORITY).
const DEF_PRIORITY: u32 = 12;

/// The two kinds of evictable list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lru {
    /// Swap-backed pages: anonymous memory.
    Anon = 0,
    /// Page cache of regular files, and lazily freed anonymous pages.
    File = 1,
}

/// What `folio_check_references` decides for an inactive page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refs {
    /// Move it to the active list.
    Activate,
    /// Leave it on the inactive list (second chance).
    Keep,
    /// Reclaim it if it is clean; keep it if it is dirty.
    ReclaimClean,
    /// Reclaim it.
    Reclaim,
}

/// What one reclaim run carries from list to list.
struct Run {
    /// The reverse map, built when the run started.
    rmap: Rmap,
    /// kswapd or direct reclaim.
    who: Reclaimer,
    /// Pages this run deactivated: Linux puts them at the head of the inactive list,
    /// which the run does not reach again.
    deactivated: HashSet<Pfn>,
}

/// One list's pages in scope, in frame order, and how many are active.
struct ListPages {
    pfns: Vec<Pfn>,
    active: u64,
}

impl ListPages {
    fn inactive(&self) -> u64 {
        self.pfns.len() as u64 - self.active
    }

    /// inactive_is_low: the active list is larger than the inactive one times the ratio.
    fn inactive_is_low(&self) -> bool {
        let gb = (self.pfns.len() as u64) >> (30 - crate::layout::PAGE_SHIFT);
        let ratio = if gb > 0 { ((10 * gb) as f64).sqrt() as u64 } else { 1 };
        self.inactive() * ratio < self.active
    }
}

impl Kernel {
    /// The evictable list `meta`'s page is on (shmem pages on the anon one, as they are
    /// swap-backed); `None` for unevictable (mlocked) pages, page tables, kernel pages,
    /// large page-cache folios (dropped whole by
    /// [`crate::clean_cache`] when clean and unmapped) and pages of files whose initial
    /// contents were never written back.
    pub(crate) fn lru_of(&self, pfn: Pfn, meta: &FrameMeta) -> Option<Lru> {
        // A page a locked mapping maps but a drain left unmlocked is on an evictable list;
        // Linux's reclaim would find the locked mapping and mlock it again rather than
        // evict it: the model leaves it out.
        if meta.flags.contains(PageFlags::MLOCKED) || self.m.frames.mlock_escaped(pfn) {
            return None;
        }
        match meta.owner {
            Owner::Anon if meta.flags.contains(PageFlags::SWAPBACKED) => Some(Lru::Anon),
            Owner::Anon => Some(Lru::File),
            Owner::File { file, .. } => {
                let f = self.m.files.get(file as usize).and_then(|f| f.as_ref())?;
                let vdso = [self.m.vdso_file, self.m.vdso32_file].contains(&Some(FileId(file)));
                let evictable = !f.unwritten && !vdso && !self.m.in_large_folio(pfn);
                match f.kind {
                    // shmem is swap-backed: it sits on the anon lists.
                    FileKind::Shmem if evictable => Some(Lru::Anon),
                    FileKind::Regular if evictable => Some(Lru::File),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Which memory cgroups a scope covers, indexed by group id.
    fn scope_groups(&self, scope: OomScope) -> Vec<bool> {
        let memcgs = &self.m.frames.memcgs;
        let n = memcgs.iter().map(|(id, _)| usize::from(id) + 1).max().unwrap_or(1);
        (0..n)
            .map(|id| match scope {
                OomScope::Global => true,
                OomScope::Memcg(g) => memcgs.is_descendant(id as u16, g),
            })
            .collect()
    }

    /// The pages of both evictable lists inside `groups`.
    fn lru_pages(&self, groups: &[bool]) -> [ListPages; 2] {
        let mut lists = [ListPages { pfns: Vec::new(), active: 0 }, ListPages { pfns: Vec::new(), active: 0 }];
        for (pfn, meta) in self.m.frames.allocated() {
            if !groups.get(usize::from(meta.memcg)).copied().unwrap_or(false) {
                continue;
            }
            if let Some(lru) = self.lru_of(pfn, &meta) {
                let list = &mut lists[lru as usize];
                list.pfns.push(pfn);
                list.active += u64::from(meta.flags.contains(PageFlags::ACTIVE));
            }
        }
        lists
    }

    /// shrink_node (or a memcg's shrink_lruvec): reclaims up to `nr` frames from `scope`;
    /// returns (pages scanned, frames freed).
    pub(crate) fn shrink(&mut self, scope: OomScope, nr: u64, who: Reclaimer) -> (u64, u64) {
        let mut run = Run { rmap: self.build_rmap(), who, deactivated: HashSet::new() };
        let groups = self.scope_groups(scope);
        // A group's reclaim weighs by the group's swappiness (v1), the machine's by
        // vm.swappiness. (Linux weighs each group's lists by that group's own as it walks
        // them, descendants included; the model scans them as one and uses the target's.)
        let swappiness = match scope {
            OomScope::Memcg(g) => self.memcg_swappiness(g),
            OomScope::Global => self.m.config.swappiness,
        };
        let swappiness = u64::from(swappiness.min(200));
        let (mut scanned, mut freed) = (0, 0);
        for priority in (0..=DEF_PRIORITY).rev() {
            let can_swap = swappiness > 0 && self.m.swap.free_pages() > 0 && self.scope_may_swap(scope);
            let lists = self.lru_pages(&groups);
            let [anon_frac, file_frac] = self.scan_balance(scope, &lists, priority, can_swap, swappiness);
            for lru in [Lru::Anon, Lru::File] {
                let frac = [anon_frac, file_frac][lru as usize];
                if frac == 0 || freed >= nr {
                    continue;
                }
                let list = &lists[lru as usize];
                let share = |size: u64| {
                    let scan = if priority == 0 { size } else { size >> priority };
                    (scan * frac).div_ceil(200)
                };
                let (inactive_quota, active_quota) = (share(list.inactive()), share(list.active));
                let (s, f) = self.shrink_inactive_list(lru, list, inactive_quota, nr - freed, &run);
                scanned += s;
                freed += f;
                if list.inactive_is_low() {
                    self.shrink_active_list(lru, list, active_quota, &mut run);
                }
            }
            if freed >= nr {
                break;
            }
        }
        if freed > 0 {
            self.m.reclaim.kswapd_failures = 0;
        }
        (scanned, freed)
    }

    /// Whether a reclaim of `scope` may swap: a group's swap limits can forbid it
    /// ([`crate::memcg::Memcgs::may_swap`]).
    fn scope_may_swap(&self, scope: OomScope) -> bool {
        match scope {
            OomScope::Global => true,
            OomScope::Memcg(g) => self.m.frames.memcgs.may_swap(g),
        }
    }

    /// get_scan_count: the shares of the scan, out of 200, that go to [anon, file].
    fn scan_balance(
        &self,
        scope: OomScope,
        lists: &[ListPages; 2],
        priority: u32,
        can_swap: bool,
        swappiness: u64,
    ) -> [u64; 2] {
        let file = &lists[Lru::File as usize];
        if !can_swap || lists[Lru::Anon as usize].pfns.is_empty() {
            return [0, 200];
        }
        if scope == OomScope::Global {
            let high = self.watermarks().high;
            if file.pfns.len() as u64 + self.m.frames.free_frames() < high {
                return [200, 0];
            }
        }
        if !file.inactive_is_low() && file.inactive() >> priority > 0 {
            return [0, 200];
        }
        if priority == 0 {
            return [200, 200];
        }
        [swappiness, 200 - swappiness]
    }

    /// shrink_inactive_list: scans up to `quota` inactive pages of `list`, stopping once
    /// `want` frames are freed; returns (scanned, freed).
    fn shrink_inactive_list(&mut self, lru: Lru, list: &ListPages, quota: u64, want: u64, run: &Run) -> (u64, u64) {
        let (mut scanned, mut freed, mut visited) = (0, 0, 0);
        let hand = self.m.reclaim.hands[lru as usize];
        let start = list.pfns.partition_point(|&p| p < hand);
        let n = list.pfns.len();
        while visited < n && scanned < quota && freed < want {
            let pfn = list.pfns[(start + visited) % n];
            visited += 1;
            let meta = self.m.frames.meta(pfn);
            if meta.flags.contains(PageFlags::ACTIVE)
                || self.lru_of(pfn, &meta) != Some(lru)
                || run.deactivated.contains(&pfn)
            {
                continue;
            }
            scanned += 1;
            self.count_scan(lru, run.who);
            let maps = self.live_maps(pfn, run.rmap.get(pfn));
            let dirty = meta.flags.contains(PageFlags::DIRTY) || maps.iter().any(|&(id, va)| self.pte(id, va).dirty());
            match self.folio_check_references(pfn, lru, &maps) {
                Refs::Activate => self.activate(pfn),
                Refs::Keep => {}
                Refs::ReclaimClean if dirty && lru == Lru::File => {}
                Refs::ReclaimClean | Refs::Reclaim => {
                    if self.shrink_folio(pfn, &maps) {
                        freed += 1;
                        self.count_steal(lru, run.who);
                    }
                }
            }
        }
        if visited > 0 {
            // The clock hand moves past the last page visited.
            self.m.reclaim.hands[lru as usize] = list.pfns[(start + visited - 1) % n].plus(1);
        }
        (scanned, freed)
    }

    /// shrink_active_list: ages up to `quota` active pages of `list` onto the inactive one.
    fn shrink_active_list(&mut self, lru: Lru, list: &ListPages, quota: u64, run: &mut Run) {
        let mut scanned = 0;
        for pfn in list.pfns.iter().copied() {
            if scanned >= quota {
                break;
            }
            let meta = self.m.frames.meta(pfn);
            if !meta.flags.contains(PageFlags::ACTIVE) || self.lru_of(pfn, &meta) != Some(lru) {
                continue;
            }
            scanned += 1;
            self.m.vmstat.pgrefill += 1;
            let maps = self.live_maps(pfn, run.rmap.get(pfn));
            let (young, exec) = self.referenced_ptes(pfn, &maps);
            if young > 0 && exec && lru == Lru::File && matches!(meta.owner, Owner::File { .. }) {
                continue;
            }
            self.m.frames.meta_mut(pfn).flags -= PageFlags::ACTIVE;
            self.m.vmstat.pgdeactivate += 1;
            run.deactivated.insert(pfn);
        }
    }

    /// folio_check_references for an inactive page on list `lru`.
    fn folio_check_references(&mut self, pfn: Pfn, lru: Lru, maps: &[(MmId, u64)]) -> Refs {
        let (young, exec) = self.referenced_ptes(pfn, maps);
        let was_referenced = self.m.frames.meta(pfn).flags.contains(PageFlags::REFERENCED);
        self.m.frames.meta_mut(pfn).flags -= PageFlags::REFERENCED;
        if young > 0 {
            self.m.frames.meta_mut(pfn).flags |= PageFlags::REFERENCED;
            if was_referenced || young > 1 || (exec && lru == Lru::File) {
                return Refs::Activate;
            }
            return Refs::Keep;
        }
        if was_referenced && lru == Lru::File {
            return Refs::ReclaimClean;
        }
        Refs::Reclaim
    }

    /// folio_referenced: counts the young PTEs among `maps` and makes them old; also tells
    /// whether one of them is in an executable mapping.
    fn referenced_ptes(&mut self, pfn: Pfn, maps: &[(MmId, u64)]) -> (u32, bool) {
        let (mut young, mut exec) = (0, false);
        for &(id, va) in maps {
            let pte = self.pte(id, va);
            if pte.pfn() != pfn || !pte.flags().contains(PteFlags::ACCESSED) {
                continue;
            }
            young += 1;
            exec |= self.vma_flags(id, va).is_some_and(|f| f.contains(VmFlags::EXEC));
            self.set_pte(id, va, pte.without(PteFlags::ACCESSED)).expect("the PTE's table exists");
        }
        (young, exec)
    }

    /// The flags of the VMA holding `va` in `id`.
    pub(crate) fn vma_flags(&self, id: MmId, va: u64) -> Option<VmFlags> {
        self.mms[id].vmas.find(va).filter(|v| v.start <= va).map(|v| v.flags)
    }

    /// Moves an inactive page to the active list.
    pub(crate) fn activate(&mut self, pfn: Pfn) {
        let m = self.m.frames.meta_mut(pfn);
        if !m.flags.contains(PageFlags::ACTIVE) {
            m.flags |= PageFlags::ACTIVE;
            self.m.vmstat.pgactivate += 1;
        }
    }

    fn count_scan(&mut self, lru: Lru, who: Reclaimer) {
        let v = &mut self.m.vmstat;
        count_page(who, lru, [&mut v.pgscan_kswapd, &mut v.pgscan_direct], [&mut v.pgscan_anon, &mut v.pgscan_file]);
    }

    fn count_steal(&mut self, lru: Lru, who: Reclaimer) {
        let v = &mut self.m.vmstat;
        count_page(
            who,
            lru,
            [&mut v.pgsteal_kswapd, &mut v.pgsteal_direct],
            [&mut v.pgsteal_anon, &mut v.pgsteal_file],
        );
    }
}

/// Counts one page in the counter of the reclaimer that took it (kswapd's or direct
/// reclaim's) and in that of the list it came from (anon or file).
fn count_page(who: Reclaimer, lru: Lru, [kswapd, direct]: [&mut u64; 2], [anon, file]: [&mut u64; 2]) {
    *match who {
        Reclaimer::Kswapd => kswapd,
        Reclaimer::Direct => direct,
    } += 1;
    *match lru {
        Lru::Anon => anon,
        Lru::File => file,
    } += 1;
}
