//! Private memory the program may never have written. A real program writes what it maps
//! with plain stores a plain trace cannot show, so in verify mode the replay assumes that
//! each private writable mapping was written when made (its first write gives the VMA an
//! anon_vma; see `program_writes`). Where that is wrong it can show in a maps read as a
//! merge the model did not make: a child's copy of a VMA that had an anon_vma never merges
//! with a new neighbour, while a copy of one never written does; and anonymous memory that
//! an mprotect makes read-only before any write stops being charged (VM_ACCOUNT), so it
//! merges with read-only neighbours. A maps read whose text such a merge explains binds
//! that the mapping behind it was not written (by the line that assumed it), and the next
//! run does not assume it; so does an mremap the log shows succeed over a range the model
//! has in several VMAs that such a merge makes one; and, the other way, an mremap the log
//! shows fail with EFAULT (its range is not one VMA there) over a range the model has as one
//! VMA with an anon_vma: memory assumed written there took its neighbour's anon_vma and let
//! the two merge, where memory never written has none (measured on 6.18: a page of a VMA
//! with an anon_vma, made PROT_NONE beside a VMA never written, stays apart from it; when
//! the neighbour was written first, it reuses that anon_vma and the two merge).

use super::*;
use mm::vma::Vma;
use mm::vma_edit::can_merge;
use mm::VmFlags;

/// `text` (a maps text) with the lines of the adjacent VMAs at `lo` and `hi` made one, ending
/// at `end`; None when the two lines are not there, one after the other.
fn merged_text(text: &str, lo: u64, hi: u64, end: u64) -> Option<String> {
    let (lo_key, hi_key) = (format!("{lo:08x}-"), format!("{hi:08x}-"));
    let mut out = String::with_capacity(text.len());
    let mut lines = text.split_inclusive('\n').peekable();
    let mut done = false;
    while let Some(l) = lines.next() {
        if !done && l.starts_with(&lo_key) {
            let next = lines.next()?;
            if !next.starts_with(&hi_key) {
                return None;
            }
            let (_, rest) = l.split_once(' ')?;
            out.push_str(&format!("{lo:08x}-{end:08x} {rest}"));
            done = true;
            continue;
        }
        out.push_str(l);
    }
    done.then_some(out)
}

/// `v` as it would be had its memory never been written: no anon_vma (a fork's copy then
/// has none either), and, where an mprotect took its write permission away, not charged
/// (Linux unaccounts anonymous memory that loses PROT_WRITE before any page was touched).
fn never_written(v: &Vma) -> Vma {
    let mut out = v.clone();
    out.anon_vma = None;
    let anon = v.file.is_none() && v.special.is_none();
    if anon && !v.flags.contains(VmFlags::WRITE) && v.flags.contains(VmFlags::ACCOUNT) {
        out.flags.remove(VmFlags::ACCOUNT);
    }
    out
}

impl Replayer {
    /// Notes that the replay assumed the memory at `addr` written at the current line.
    pub(super) fn note_assumed_write(&mut self, pid: Pid, addr: u64) {
        // The whole VMA the write went to: a later call may cut it so that only a part of it,
        // not holding `addr`, lies in the range a merge decides (a MAP_FIXED mapping over
        // the start of a neighbour, then an mprotect from the middle).
        let (start, end) = self
            .k
            .mm(pid)
            .ok()
            .and_then(|m| m.vmas.find(addr).filter(|v| v.contains(addr)).map(|v| (v.start, v.end)))
            .unwrap_or((addr, addr.saturating_add(1)));
        self.assumed_writes.push((start, end, self.line));
    }

    /// Whether the write assumed at the current line is one a run found did not happen.
    pub(super) fn write_disproved(&self) -> bool {
        self.learned.unwritten.contains_key(&self.line)
    }

    /// A maps read of `target` at line `line` that the model's text `text` does not match:
    /// when making one of its VMAs copied by a fork with an anon_vma and a neighbour without
    /// one into a single line gives a text that does (`matches`), the write assumed of that
    /// VMA's memory did not happen. Binds the latest such assumption; true when one was.
    pub(super) fn learn_unwritten(
        &mut self,
        target: TracePid,
        line: u64,
        text: &str,
        matches: &dyn Fn(&str) -> bool,
    ) -> bool {
        if self.opts.mode == Mode::Strict {
            return false;
        }
        let Some(pid) = self.procs.get(&target).map(|p| p.pid) else { return false };
        let Ok(m) = self.k.mm(pid) else { return false };
        let vmas: Vec<Vma> = m.vmas.iter().cloned().collect();
        let mut found: Option<(u64, u64)> = None;
        for w in vmas.windows(2) {
            let (lo, hi) = (&w[0], &w[1]);
            if lo.end != hi.start {
                continue;
            }
            for lo_is_old in [true, false] {
                let old = if lo_is_old { lo } else { hi };
                if old.anon_vma.is_none() {
                    continue;
                }
                let (mut lo_c, mut hi_c) = (lo.clone(), hi.clone());
                let unwritten = if lo_is_old { &mut lo_c } else { &mut hi_c };
                *unwritten = never_written(old);
                if !can_merge(&lo_c, &hi_c) {
                    continue;
                }
                let Some(alt) = merged_text(text, lo.start, hi.start, hi.end) else { continue };
                if matches(&alt) {
                    found = Some((old.start, old.end));
                }
            }
        }
        let Some((start, end)) = found else { return false };
        let assumed = self.assumed_writes.iter().rev().find(|&&(a, b, _)| a < end && start < b).map(|&(_, _, l)| l);
        match assumed {
            Some(at) if !self.learned.unwritten.contains_key(&at) => {
                self.learned.unwritten.insert(at, Bound { value: line, line });
                true
            }
            _ => false,
        }
    }

    /// An mremap of `[start, end)` that the log shows fail with EFAULT (the range is not one
    /// VMA there) and the model did (one VMA, with an anon_vma): the latest write the replay
    /// assumed in the range, not yet disproved, did not happen (see the module). Binds it;
    /// the next run checks the call again. True when one was bound.
    pub(super) fn learn_unwritten_from_merge(&mut self, tpid: TracePid, line: u64, start: u64, end: u64) -> bool {
        if self.opts.mode == Mode::Strict || end <= start {
            return false;
        }
        // (The model had the range in one VMA: its mremap succeeded.)
        if !self.procs.contains_key(&tpid) {
            return false;
        }
        let Some((_, _, at)) = self.latest_assumed_write(start, end) else { return false };
        self.learned.unwritten.insert(at, Bound { value: line, line });
        true
    }

    /// The latest write the replay assumed to a VMA overlapping `[start, end)` that no run
    /// disproved yet: that VMA's range when the write was assumed, and the write's line.
    fn latest_assumed_write(&self, start: u64, end: u64) -> Option<(u64, u64, u64)> {
        self.assumed_writes
            .iter()
            .rev()
            .find(|&&(a, b, l)| a < end && start < b && !self.learned.unwritten.contains_key(&l))
            .copied()
    }

    /// A call on `[start, end)` that the log shows succeed and the model refused because the
    /// range spans several VMAs (mremap takes one): when the VMAs there would be one had the
    /// memory the replay assumed written at one line not been (see [`never_written`]), that
    /// write did not happen. Binds it (the next run does not assume it); true when it did.
    pub(super) fn learn_unwritten_from_span(&mut self, tpid: TracePid, line: u64, start: u64, end: u64) -> bool {
        if self.opts.mode == Mode::Strict || end <= start {
            return false;
        }
        let Some(pid) = self.procs.get(&tpid).map(|p| p.pid) else { return false };
        let Ok(m) = self.k.mm(pid) else { return false };
        let vmas: Vec<Vma> =
            m.vmas.iter().skip_while(|v| v.end <= start).take_while(|v| v.start < end).cloned().collect();
        let contiguous = vmas.windows(2).all(|w| w[0].end == w[1].start);
        if vmas.len() < 2 || !contiguous || vmas[0].start > start || vmas[vmas.len() - 1].end < end {
            return false;
        }
        let Some((lo, hi, at)) = self.latest_assumed_write(start, end) else { return false };
        let as_if: Vec<Vma> =
            vmas.iter().map(|v| if v.start < hi && lo < v.end { never_written(v) } else { v.clone() }).collect();
        if !as_if.windows(2).all(|w| can_merge(&w[0], &w[1])) {
            return false;
        }
        self.learned.unwritten.insert(at, Bound { value: line, line });
        true
    }
}
