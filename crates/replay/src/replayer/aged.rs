//! smaps reads that show a mapping with more or fewer pages referenced than the model.
//!
//! The accessed bits of a page are cleared by what a trace of system calls does not show:
//! DAMON's monitoring samples pages by clearing them (a machine running kdamond does it all
//! the time), as do idle page tracking and reclaim's aging. When a read's only differences
//! from the model are mappings with fewer pages referenced, the replay takes that many of
//! the model's referenced pages there (the first in address order: smaps counts, it does
//! not say which) as aged, instead of reporting a mismatch nothing in the trace could have
//! predicted.
//!
//! More pages referenced than the model has are explained only by a MADV_COLD in the trace:
//! it makes old just the pages on an LRU list, and a page faulted in shortly before may
//! still wait in a per-CPU batch (for another CPU than the one the madvise runs on, or not
//! yet drained), where the call leaves it referenced. Which pages were skipped depends on
//! scheduling: measured on 6.18, one random program recorded eight times showed its page
//! skipped in five. So up to the pages a MADV_COLD made old in the model, still mapped and
//! not referenced since, are taken as skipped. Any other excess is a mismatch.

use super::lazyfree::records;
use super::*;
use mm::pgtable::PteFlags;

impl Replayer {
    /// Whether the smaps text `want` (the log's, read at `line`) differs from the model's
    /// `got` only in mappings with fewer pages referenced. If so the model ages that many of
    /// its referenced pages there, the binding is kept, and true is returned; `part` cuts
    /// the model's whole text as the read saw it.
    pub(super) fn aging_explains(
        &mut self,
        target: TracePid,
        line: u64,
        want: &str,
        got: &str,
        part: &dyn Fn(&str) -> String,
    ) -> bool {
        let Some(pid) = self.procs.get(&target).map(|p| p.pid) else { return false };
        let (log, model) = (records(want), records(got));
        if log.len() != model.len() {
            return false;
        }
        let mut plan = Vec::new();
        for (w, g) in log.iter().zip(&model) {
            if w.text == g.text {
                continue;
            }
            let only_referenced = w.text.len() == g.text.len()
                && w.text.iter().zip(&g.text).all(|(a, b)| a == b || a.starts_with("Referenced:"));
            let (Some(seen), Some(have)) = (w.pages("Referenced"), g.pages("Referenced")) else { return false };
            if (w.start, w.end) != (g.start, g.end) || !only_referenced || seen == have {
                return false;
            }
            plan.push((g.start, g.end, seen as i64 - have as i64));
        }
        if plan.is_empty() {
            return false;
        }
        let mut k = self.k.clone();
        let Ok(id) = k.mm_id(pid) else { return false };
        let mut skipped = Vec::new();
        for &(start, end, delta) in &plan {
            let mut n = delta.unsigned_abs();
            let mut va = start;
            while n > 0 && va < end {
                let referenced = referenced(&k, id, va);
                if delta < 0 && referenced == Some(true) {
                    if k.observe_aged(pid, va).is_err() {
                        return false;
                    }
                    n -= 1;
                } else if delta > 0
                    && referenced == Some(false)
                    && self.made_old_by_cold.contains(&(id, k.pte(id, va).pfn()))
                {
                    if k.observe_referenced(pid, va).is_err() {
                        return false;
                    }
                    skipped.push((id, k.pte(id, va).pfn()));
                    n -= 1;
                }
                va += PAGE_SIZE;
            }
            if n > 0 {
                return false;
            }
        }
        let Ok(text) = procfs::smaps(&k, pid) else { return false };
        if part(&text) != want {
            return false;
        }
        self.k = k;
        for page in skipped {
            self.made_old_by_cold.remove(&page);
        }
        for (start, end, delta) in plan {
            let b = Bound { value: (start, end, delta.unsigned_abs()), line };
            let seen = if delta < 0 { &mut self.learned.aged_seen } else { &mut self.learned.cold_skipped_seen };
            if !seen.contains(&b) {
                seen.push(b);
            }
        }
        true
    }

    /// The pages of `[addr, addr + len)` (a MADV_COLD call's range) that are referenced
    /// now, before the call.
    pub(super) fn referenced_pages(&self, pid: Pid, c: &Syscall) -> Vec<(MmId, u64)> {
        self.pages_in_range(pid, c, |k, id, va| referenced(k, id, va) == Some(true))
    }

    /// The pages of the range `[addr, addr + len)` of call `c` (its first two arguments)
    /// for which `wanted` holds, in address order.
    pub(super) fn pages_in_range(
        &self,
        pid: Pid,
        c: &Syscall,
        wanted: impl Fn(&Kernel, MmId, u64) -> bool,
    ) -> Vec<(MmId, u64)> {
        let (Some(addr), Some(len)) = (c.arg_u64(0), c.arg_u64(1)) else { return Vec::new() };
        let Ok(id) = self.k.mm_id(pid) else { return Vec::new() };
        let Ok(mm) = self.k.mm(pid) else { return Vec::new() };
        let end = addr.saturating_add(len.saturating_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1));
        let mut out = Vec::new();
        // Only where VMAs are: a range may be huge and mostly unmapped.
        for v in mm.vmas.iter().skip_while(|v| v.end <= addr).take_while(|v| v.start < end) {
            let mut va = v.start.max(addr & !(PAGE_SIZE - 1));
            while va < v.end.min(end) {
                if wanted(&self.k, id, va) {
                    out.push((id, va));
                }
                va += PAGE_SIZE;
            }
        }
        out
    }

    /// After a MADV_COLD: which of `before` (its range's referenced pages) it made old.
    pub(super) fn note_made_old(&mut self, pid: Pid, before: Vec<(MmId, u64)>) {
        let Ok(id) = self.k.mm_id(pid) else { return };
        for (i, va) in before {
            if i == id && referenced(&self.k, id, va) == Some(false) {
                // By page, not address: an mremap may move it before the read that shows it.
                self.made_old_by_cold.insert((id, self.k.pte(id, va).pfn()));
            }
        }
    }
}

/// Whether the page mapped at `va` in `id` is referenced (accessed bit or PG_referenced);
/// None where no page but the zero page is mapped.
pub(super) fn referenced(k: &Kernel, id: MmId, va: u64) -> Option<bool> {
    let pte = k.pte(id, va);
    if !pte.mapped() || pte.pfn() == k.machine().frames.zero_pfn() {
        return None;
    }
    Some(
        pte.flags().contains(PteFlags::ACCESSED)
            || k.machine().frames.meta(pte.pfn()).flags.contains(mm::frame::PageFlags::REFERENCED),
    )
}
