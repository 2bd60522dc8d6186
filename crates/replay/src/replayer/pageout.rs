//! smaps reads and mincore vectors that show pages resident that a MADV_PAGEOUT in the
//! trace took out.
//!
//! MADV_PAGEOUT reclaims only pages on an LRU list, and a page faulted in shortly before may
//! still wait in another CPU's per-CPU `lru_add` batch (the call drains its own CPU's only):
//! it is left mapped and referenced, and the rest of the range goes to swap or is dropped.
//! Which pages those were is scheduling, which no trace shows (measured on 6.18: four file
//! pages faulted in from one CPU and paged out from the other stay, in six of six runs;
//! tests/progs/cold_skipped.c). The model has one CPU and takes them all. So a read showing
//! a mapping with more pages resident than the model, where the model's last MADV_PAGEOUT
//! there took at least that many still out, binds that the call skipped that many (the last
//! in address order: smaps counts, it does not say which), and the next run's call skips
//! them; every check after it, the read's own included, then holds or is reported. A mincore
//! vector names the pages themselves, and binds those.

use super::lazyfree::records;
use super::*;

impl Replayer {
    /// Before a MADV_PAGEOUT at the current line: the pages a run bound it skipped are held
    /// in another CPU's batch for the call. Returns the pages of its range mapped now.
    pub(super) fn before_pageout(&mut self, pid: Pid, c: &Syscall) -> Vec<(MmId, u64)> {
        if let Some(b) = self.learned.pageout_skipped.get(&self.line) {
            for &va in &b.value {
                // A page the model does not have there: the read will say so.
                let _ = self.k.observe_batched_elsewhere(pid, va);
            }
        }
        if let Some(b) = self.learned.pageout_held.get(&self.line) {
            for &va in &b.value {
                let _ = self.k.observe_held_elsewhere(pid, va);
            }
        }
        self.pages_in_range(pid, c, |k, id, va| super::aged::referenced(k, id, va).is_some())
    }

    /// After a MADV_PAGEOUT at `line`: which of `before` (its range's mapped pages) it took
    /// out of the address space.
    pub(super) fn note_paged_out(&mut self, line: u64, before: Vec<(MmId, u64)>) {
        for (id, va) in before {
            if !self.k.pte(id, va).mapped() {
                self.paged_out.insert((id, va), line);
            }
        }
    }

    /// Whether the smaps text `want` (the log's, read at `line`) differs from the model's
    /// `got` only in mappings with more pages resident, as many as the model's last
    /// MADV_PAGEOUT there took that are still out. If so, binds that the call skipped them
    /// (decided before this line: the log is replayed again) and returns true.
    pub(super) fn pageout_skip_explains(&mut self, target: TracePid, line: u64, want: &str, got: &str) -> bool {
        let Some(pid) = self.procs.get(&target).map(|p| p.pid) else { return false };
        let Ok(id) = self.k.mm_id(pid) else { return false };
        let (log, model) = (records(want), records(got));
        if log.len() != model.len() || self.paged_out.is_empty() {
            return false;
        }
        let mut plan: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
        for (w, g) in log.iter().zip(&model) {
            if w.text == g.text {
                continue;
            }
            let (Some(seen), Some(have)) = (w.pages("Rss"), g.pages("Rss")) else { return false };
            if (w.start, w.end) != (g.start, g.end) || seen <= have {
                return false;
            }
            let n = (seen - have) as usize;
            // The model's pages there that a MADV_PAGEOUT took and that are still out, by
            // the call's line; the latest call with enough of them, not bound before.
            let mut by_call: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
            for (&(_, va), &at) in self.paged_out.range((id, g.start)..(id, g.end)) {
                if !self.k.pte(id, va).mapped() {
                    by_call.entry(at).or_default().push(va);
                }
            }
            let Some((at, pages)) = by_call
                .into_iter()
                .rev()
                .find(|(at, pages)| pages.len() >= n && !self.learned.pageout_skipped.contains_key(at))
            else {
                return false;
            };
            plan.entry(at).or_default().extend(&pages[pages.len() - n..]);
        }
        if plan.is_empty() {
            return false;
        }
        for (at, pages) in plan {
            self.learned.pageout_skipped.insert(at, Bound { value: pages, line });
        }
        true
    }

    /// Whether the mincore vector `want` (the log's, of the pages from `start`, at `line`)
    /// differs from the model's `have` only in pages resident in the log that the model's
    /// last MADV_PAGEOUT of each took out and that are still out. If so, binds that those
    /// calls unmapped them but could not free them (the log is replayed again) and returns
    /// true. A page the call left mapped as well (not on an LRU list at all) is resident
    /// too; an smaps read that shows it mapped binds that (see
    /// [`Replayer::pageout_skip_explains`]), which takes precedence in the next run.
    pub(super) fn pageout_skip_explains_mincore(
        &mut self,
        pid: Pid,
        line: u64,
        start: u64,
        want: &[u8],
        have: &[u8],
    ) -> bool {
        let Ok(id) = self.k.mm_id(pid) else { return false };
        let mut plan: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
        for (va, (&w, &h)) in (0u64..).map(|i| start + i * PAGE_SIZE).zip(want.iter().zip(have)) {
            if w == h {
                continue;
            }
            let Some(&at) = self.paged_out.get(&(id, va)) else { return false };
            if w != 1 || self.k.pte(id, va).mapped() || self.learned.pageout_held.contains_key(&at) {
                return false;
            }
            plan.entry(at).or_default().insert(va);
        }
        if plan.is_empty() {
            return false;
        }
        for (at, pages) in plan {
            self.learned.pageout_held.insert(at, Bound { value: pages, line });
        }
        true
    }
}
