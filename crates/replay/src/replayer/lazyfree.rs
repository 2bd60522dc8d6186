//! smaps reads that show a lazily freed page in another state than the model's.
//!
//! The model makes a page MADV_FREE frees lazily free at once; on the recording machine the
//! move waited in a per-CPU batch until something drained it, and a lazily free page may
//! be discarded by reclaim running on its own (kswapd, or a proactive reclaimer such as
//! DAMON's `pageout` scheme) or made swap-backed again by reclaim that found it busy (see
//! mm's `reclaim::observed`). None of it has a line in the trace. When a read's only
//! differences from the model are ones these explain — in a mapping with lazily freed
//! pages, fewer resident (discarded) or fewer LazyFree (still swap-backed, referenced and
//! dirty as the read shows: MADV_FREE passes over a dirty page whose folio lock another task
//! holds); or more LazyFree among pages an earlier read showed still swap-backed (moved
//! since) — the replay learns the states from the read and carries them on, instead of
//! reporting a mismatch nothing in the trace could have predicted. smaps counts pages, not
//! which ones: where it cannot tell, the model takes the first pages in address order, and a
//! later read that contradicts that choice is reported.

use super::*;
use crate::unknowns::LazyFreeSeen;
use mm::reclaim::LazyFreeFate;
use procfs::parse::parse_maps_line;

/// One mapping's smaps record: its range and its lines.
pub(super) struct Record<'a> {
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) text: Vec<&'a str>,
}

impl Record<'_> {
    /// A `NAME: N kB` field, in pages.
    pub(super) fn pages(&self, name: &str) -> Option<u64> {
        self.text.iter().find_map(|l| {
            let rest = l.strip_prefix(name)?.strip_prefix(':')?;
            rest.trim().strip_suffix("kB")?.trim().parse::<u64>().ok().map(|kb| kb / 4)
        })
    }

    /// The dirty pages, private and shared, in pages.
    fn dirty_pages(&self) -> Option<u64> {
        Some(self.pages("Private_Dirty")? + self.pages("Shared_Dirty")?)
    }
}

pub(super) fn records(text: &str) -> Vec<Record<'_>> {
    let mut out: Vec<Record> = Vec::new();
    for line in text.lines() {
        if let Some(h) = parse_maps_line(line) {
            out.push(Record { start: h.start, end: h.end, text: vec![line] });
        } else if let Some(last) = out.last_mut() {
            last.text.push(line);
        }
    }
    out
}

/// The states one mapping's pages take, as a read shows them.
struct Plan {
    seen: LazyFreeSeen,
    /// The model's lazily free pages there, in address order.
    lazy: Vec<u64>,
    /// Pages an earlier read showed still swap-backed that may have moved since.
    pending: Vec<u64>,
    /// The pages the read shows referenced.
    referenced: u64,
    /// The pages the read shows dirty.
    dirty: u64,
}

impl Replayer {
    /// Whether the smaps text `want` (the log's, read at `line`) differs from the model's
    /// `got` only in the states of lazily freed pages. If so the model takes the states the
    /// read shows, the binding is kept, and true is returned; `part` cuts the model's whole
    /// text as the read saw it.
    pub(super) fn lazyfree_state_explains(
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
            if (w.start, w.end, w.text[0]) != (g.start, g.end, g.text[0]) {
                return false;
            }
            let (Some(rss_w), Some(rss_g), Some(lazy_w), Some(lazy_g), Some(referenced), Some(dirty)) = (
                w.pages("Rss"),
                g.pages("Rss"),
                w.pages("LazyFree"),
                g.pages("LazyFree"),
                w.pages("Referenced"),
                w.dirty_pages(),
            ) else {
                return false;
            };
            let Ok(lazy) = self.k.lazyfree_pages(pid, g.start, g.end, true) else { return false };
            let pending: Vec<u64> =
                self.lazyfree_pending.range((pid, g.start)..(pid, g.end)).map(|&(_, va)| va).collect();
            // Discarded pages leave Rss; of the lazily free pages left, some show swap-backed
            // (kept) or some pending ones show lazily free (moved).
            let Some(discarded) = rss_g.checked_sub(rss_w) else { return false };
            let Some(left) = lazy_g.checked_sub(discarded) else { return false };
            let (kept, moved) = if lazy_w <= left { (left - lazy_w, 0) } else { (0, lazy_w - left) };
            if lazy.len() as u64 != lazy_g || moved > pending.len() as u64 || discarded + kept + moved == 0 {
                return false;
            }
            let seen = LazyFreeSeen { start: g.start, end: g.end, discarded, kept, moved, referenced: 0, dirty: 0 };
            plan.push(Plan { seen, lazy, pending, referenced, dirty });
        }
        if plan.is_empty() {
            return false;
        }
        // How many kept pages are referenced and how many dirty: what the read shows beyond
        // the model once the other states are applied.
        let Some(k) = self.with_states(pid, &plan) else { return false };
        let Ok(text) = procfs::smaps(&k, pid) else { return false };
        let now = records(&text);
        let beyond = |want: u64, have: Option<u64>, kept: u64| {
            have.and_then(|have| want.checked_sub(have)).filter(|&extra| extra <= kept)
        };
        for p in &mut plan {
            let Some(r) = now.iter().find(|r| r.start == p.seen.start) else { return false };
            let (Some(referenced), Some(dirty)) = (
                beyond(p.referenced, r.pages("Referenced"), p.seen.kept),
                beyond(p.dirty, r.dirty_pages(), p.seen.kept),
            ) else {
                return false;
            };
            p.seen.referenced = referenced;
            p.seen.dirty = dirty;
        }
        let Some(k) = self.with_states(pid, &plan) else { return false };
        let Ok(text) = procfs::smaps(&k, pid) else { return false };
        if part(&text) != want {
            return false;
        }
        self.k = k;
        for p in plan {
            let s = p.seen;
            // A dirty page MADV_FREE passed over stays swap-backed until it is freed again.
            let (_, rest) = p.lazy.split_at(s.discarded as usize);
            let waiting = rest.iter().take(s.kept as usize).skip(s.dirty as usize);
            self.lazyfree_pending.extend(waiting.map(|&va| (pid, va)));
            for va in p.pending.iter().take(s.moved as usize) {
                self.lazyfree_pending.remove(&(pid, *va));
            }
            let b = Bound { value: s, line };
            if !self.learned.lazyfree_seen.contains(&b) {
                self.learned.lazyfree_seen.push(b);
            }
        }
        true
    }

    /// The model with the planned states applied (to a copy), or None if one cannot be.
    fn with_states(&self, pid: Pid, plan: &[Plan]) -> Option<Kernel> {
        let mut k = self.k.clone();
        for p in plan {
            let s = p.seen;
            let (gone, rest) = p.lazy.split_at(s.discarded as usize);
            let kept = rest.iter().take(s.kept as usize).enumerate();
            let states = gone
                .iter()
                .map(|&va| (va, LazyFreeFate::Discarded))
                .chain(kept.map(|(i, &va)| {
                    let i = i as u64;
                    (va, LazyFreeFate::SwapBacked { referenced: i < s.referenced, dirty: i < s.dirty })
                }))
                .chain(p.pending.iter().take(s.moved as usize).map(|&va| (va, LazyFreeFate::Moved)));
            for (va, state) in states {
                k.observe_lazyfree(pid, va, state).ok()?;
            }
        }
        Some(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_fields_in_pages() {
        let text = "7f0000000000-7f0000004000 rw-p 00000000 00:00 0 \nRss:                  16 kB\nLazyFree:              4 kB\n\
                    7f0000004000-7f0000005000 r--p 00000000 00:00 0 \nRss:                   0 kB\n";
        let r = records(text);
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].start, r[0].end), (0x7f00_0000_0000, 0x7f00_0000_4000));
        assert_eq!(r[0].pages("Rss"), Some(4));
        assert_eq!(r[0].pages("LazyFree"), Some(1));
        assert_eq!(r[1].pages("LazyFree"), None);
    }
}
