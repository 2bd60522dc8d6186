//! Per-CPU folio batches: mm/mlock.c's `mlock_fbatch` and mm/swap.c's `lru_activate`.
//!
//! Activation: the second `mark_page_accessed` of a page on an inactive list clears
//! PG_referenced at once, but PG_active is set only when this CPU's activate batch drains;
//! meanwhile further accesses see it inactive and clear PG_referenced again (measured:
//! accesses 1-4 give referenced, not, referenced, not). The page stays on its LRU list
//! while it waits, with the batch's reference (6.18 takes the LRU flag off only as the
//! batch drains; /proc/kpageflags shows LRU set, neither referenced nor active): reclaim
//! can isolate and unmap it but not free it. With one CPU the model drains the batch
//! before every MADV_PAGEOUT; a replay learns where the recording machine's batch was
//! another CPU's ([`crate::Kernel::observe_held_elsewhere`]).
//!
//! mlocking a page sets PG_mlocked at once, but its move to the unevictable LRU list
//! (PG_unevictable) waits in this CPU's batch until the batch is drained: when it fills, or
//! when something calls `lru_add_drain` on this CPU. Until then the page is still on an
//! evictable list, so `mark_page_accessed` (which only asks whether the page is on the
//! unevictable list) can still activate it. Measured on Linux 6.18 with a task pinned to
//! one CPU (PG_mlocked / PG_unevictable read from /proc/kpageflags): a page mlocked at
//! fault time (MCL_FUTURE, MLOCK_ONFAULT) is mlocked but not unevictable until a drain;
//! mlock(), munlock() and mlockall(MCL_CURRENT) drain at the end of each VMA they change
//! (mlock_vma_pages_range), as does every populate (MAP_POPULATE, MAP_LOCKED, mlock,
//! mremap growing a locked VMA: populate_vma_page_range), MADV_POPULATE_READ/WRITE,
//! MADV_COLD, MADV_PAGEOUT and MADV_FREE, and dropping pages from a file's page cache;
//! munmap, exit, MADV_DONTNEED, mprotect, mmap and reading smaps do not (an exit only
//! seemed to, where something else on the machine drained the batch meanwhile, which
//! happens at random: the harness pins its processes to one CPU, and a munmap's munlocks
//! were found drained by the next probe in about half of the runs). (A fork drained the batch of freshly faulted anonymous pages in one probe but not
//! that of a file page; the model's fork does not drain.) The model's tasks all run on
//! one simulated CPU, so there is one batch of each kind.
//!
//! Two batches are kept per process instead, because a trace shows them drained by that
//! process only (its child may run on the other CPU): the lazy-free moves of pages a replay
//! found still waiting ([`crate::frame::PageFlags::LAZYFREE_BATCHED`]), and MADV_COLD's
//! deactivations ([`crate::frame::PageFlags::DEACTIVATE_BATCHED`]): an active page waits
//! there, still active, and the drain clears PG_active and PG_referenced, also a
//! PG_referenced set after the call (measured: MADV_COLD, then a child's access, then the
//! caller's mlock: the page reads unreferenced; without the drain it stays referenced).

use crate::frame::Pfn;

/// Folios a per-CPU folio batch holds before it drains by itself (PAGEVEC_SIZE).
pub const FOLIO_BATCH_SIZE: usize = 31;

/// What an entry of the mlock batch asks of its page when the batch drains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MlockEntry {
    /// mlock_folio (and entries of the other batches): the page goes to the unevictable list
    /// if it is still mlocked.
    Mlock,
    /// munlock_folio of the page's last locked mapping: it goes back to an evictable list.
    Munlock,
    /// munlock_folio of a locked mapping while others remain: Linux queues every munlock
    /// and counts the mappings down as the batch drains, so the entry fills the batch and
    /// holds the page (a COW cannot reuse it) like any other, and then changes nothing (the
    /// model counts down at once).
    MunlockStillLocked,
}

/// Pages waiting in one of this CPU's batches, oldest first. A page may appear more than
/// once (each mlock or munlock of it adds an entry, as in Linux).
#[derive(Clone, Debug, Default)]
pub struct FolioBatch {
    /// Each entry's page, and what it asks (mlock batch only; others hold `Mlock`).
    pending: Vec<(Pfn, MlockEntry)>,
}

impl FolioBatch {
    /// Adds `pfn`; returns whether the batch is now full and must be drained.
    pub fn add(&mut self, pfn: Pfn) -> bool {
        self.add_entry(pfn, MlockEntry::Mlock)
    }

    /// Adds an entry of the mlock batch; returns whether the batch is now full.
    pub fn add_entry(&mut self, pfn: Pfn, entry: MlockEntry) -> bool {
        self.pending.push((pfn, entry));
        self.pending.len() >= FOLIO_BATCH_SIZE
    }

    /// Drops the munlocks of `pfn` (a page freed since, whose frame a new page now uses).
    pub fn forget_munlocks(&mut self, pfn: Pfn) {
        self.pending.retain(|&(p, entry)| p != pfn || entry == MlockEntry::Mlock);
    }

    /// Empties the batch, returning the pages it held.
    pub fn take(&mut self) -> Vec<Pfn> {
        std::mem::take(&mut self.pending).into_iter().map(|(pfn, _)| pfn).collect()
    }

    /// Empties the batch, returning its entries: each page, and what it asks.
    pub fn take_entries(&mut self) -> Vec<(Pfn, MlockEntry)> {
        std::mem::take(&mut self.pending)
    }

    /// Whether `pfn` waits in the batch.
    pub fn contains(&self, pfn: Pfn) -> bool {
        self.pending.iter().any(|&(p, _)| p == pfn)
    }

    /// How many entries wait (never [`FOLIO_BATCH_SIZE`] or more between calls).
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// Splits a zap's walk of PTEs into the runs Linux unmaps (and munlocks) a folio by: the
/// consecutive entries that map pages of one folio (zap_present_folio_ptes) within one page
/// table (walks over a slice of entries take theirs from
/// [`crate::machine::Machine::folio_pte_batch`]), since Linux walks the entries a table at a time (measured on 6.18:
/// a folio whose two pages sit on either side of a table boundary, both PTEs young, is
/// marked accessed twice at exit, which activates it).
pub(crate) struct FolioRuns {
    /// The folio of the last entry seen and the address that would continue its run.
    last: Option<((u32, u64), u64)>,
    /// The span of addresses one leaf page table maps.
    table_span: u64,
}

impl FolioRuns {
    /// Runs over the entries of page tables that each map `table_span` bytes.
    pub(crate) fn new(table_span: u64) -> FolioRuns {
        FolioRuns { last: None, table_span }
    }

    /// Whether the entry at `va`, mapping a page of folio `key` ([`crate::machine::Machine::folio_key`]),
    /// starts a new run.
    pub(crate) fn starts_run(&mut self, key: (u32, u64), va: u64) -> bool {
        let continues =
            !va.is_multiple_of(self.table_span) && matches!(self.last, Some((k, next)) if k == key && next == va);
        self.last = Some((key, va + crate::layout::PAGE_SIZE));
        !continues
    }
}
