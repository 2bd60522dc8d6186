//! smaps reads that show fewer pages referenced than the model has.
//!
//! The accessed bits of a page are cleared by what a trace of system calls does not show:
//! DAMON's monitoring samples pages by clearing them (a machine running kdamond does it all
//! the time), as do idle page tracking and reclaim's aging. When a read's only differences
//! from the model are mappings with fewer pages referenced, the replay takes that many of
//! the model's referenced pages there (the first in address order: smaps counts, it does
//! not say which) as aged, instead of reporting a mismatch nothing in the trace could have
//! predicted. A read showing more pages referenced than the model is still a mismatch.

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
            if (w.start, w.end) != (g.start, g.end) || !only_referenced || seen >= have {
                return false;
            }
            plan.push((g.start, g.end, have - seen));
        }
        if plan.is_empty() {
            return false;
        }
        let mut k = self.k.clone();
        let Ok(id) = k.mm_id(pid) else { return false };
        for &(start, end, mut n) in &plan {
            let mut va = start;
            while n > 0 && va < end {
                let pte = k.pte(id, va);
                let referenced = pte.present()
                    && pte.pfn() != k.machine().frames.zero_pfn()
                    && (pte.flags().contains(PteFlags::ACCESSED)
                        || k.machine().frames.meta(pte.pfn()).flags.contains(mm::frame::PageFlags::REFERENCED));
                if referenced {
                    if k.observe_aged(pid, va).is_err() {
                        return false;
                    }
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
        for (start, end, n) in plan {
            let b = Bound { value: (start, end, n), line };
            if !self.learned.aged_seen.contains(&b) {
                self.learned.aged_seen.push(b);
            }
        }
        true
    }
}
