//! The address space a process had when strace attached to it (`strace -p`), from a maps
//! read later in the trace. The read shows the mappings at its line; the calls the trace
//! shows between the attach and the read made some of them. Undoing those calls, last
//! first, on the read's lines gives the mappings at the attach:
//!
//! - an mmap's range was not mapped before it (a placed mmap went into a hole; what a
//!   `MAP_FIXED` one replaced nothing in the trace shows, and it is taken to be a hole);
//! - a munmap's range held something or nothing (munmap of a hole succeeds too): programs
//!   unmap what they mapped, so what of it the trace did not map before (those mmaps are
//!   undone next, leaving their holes) was mapped at the attach, taken to be anonymous
//!   read-write memory (an allocator's arena, a freed thread stack); a hole there would
//!   draw the placements of the mmaps before the munmap into it;
//! - an mprotect's range was mapped whole (else ENOMEM): where the undone state has a hole
//!   there (a later munmap emptied it), it held anonymous memory with the call's protection;
//!   the protection before the call is not in the trace, and the read's is kept;
//! - an mremap's pages go back to the old range, its grown part is dropped and a shrunk
//!   part comes back as the rest of the same mapping;
//! - an mlock, munlock or madvise that changes VMA flags maps does not show split the
//!   mappings at its range's ends: where the read shows, across such an end, two lines that
//!   could be one (same permissions and object, contiguous), they were one;
//! - brk: the heap at the attach ends at the break the first brk call saw (its result when
//!   it asked for nothing or failed; when it moved the break, the break it asked for, so
//!   that the first call is one that changed nothing visible).
//!
//! A guess stands for what nothing in the trace shows; every later line is checked against
//! the result, so a guess no line confirms is never the reason for a pass.

use crate::unknowns::MapsLine;
use abi::*;
use mm::Call;

/// What one successful call the trace shows did to the mappings of an address space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Effect {
    /// mmap made `[start, end)`.
    Map { start: u64, end: u64 },
    /// munmap emptied `[start, end)`.
    Unmap { start: u64, end: u64 },
    /// mprotect gave `[start, end)`, mapped whole before, protection `prot`.
    Protect { start: u64, end: u64, prot: u64 },
    /// mremap moved `[old, old + old_len)` to `[new, new + new_len)`; `keep_old`: the old
    /// range stayed mapped (`MREMAP_DONTUNMAP`, or a zero `old_len` that duplicates).
    Remap { old: u64, old_len: u64, new: u64, new_len: u64, keep_old: bool },
    /// brk(`arg`) returned `result`.
    Brk { arg: u64, result: u64 },
    /// mlock, munlock or a madvise that changes VMA flags over `[start, end)`: mappings
    /// split at its ends.
    Flags { start: u64, end: u64 },
}

/// `len` rounded up to whole pages (saturating: an absurd length fails in the kernel, and
/// failed calls have no effect here).
fn pages(len: u64) -> u64 {
    len.saturating_add(PAGE_SIZE - 1) & PAGE_MASK
}

/// The effect of address-space call `call` that returned `result`, if it changed mappings.
pub(super) fn effect_of(call: &Call, result: Option<u64>) -> Option<Effect> {
    let r = result?;
    Some(match *call {
        Call::Mmap { len, .. } => Effect::Map { start: r, end: r.saturating_add(pages(len)) },
        Call::Munmap { addr, len } => Effect::Unmap { start: addr, end: addr.saturating_add(pages(len)) },
        Call::Mprotect { addr, len, prot } => {
            Effect::Protect { start: addr, end: addr.saturating_add(pages(len)), prot }
        }
        Call::Mremap { old_addr, old_len, new_len, flags, .. } => Effect::Remap {
            old: old_addr,
            old_len: pages(old_len),
            new: r,
            new_len: pages(new_len),
            keep_old: old_len == 0 || flags & MREMAP_DONTUNMAP != 0,
        },
        Call::Brk { addr } => Effect::Brk { arg: addr, result: r },
        Call::Mlock { addr, len } | Call::Munlock { addr, len } | Call::Mlock2 { addr, len, .. } => Effect::Flags {
            start: addr & PAGE_MASK,
            end: addr.saturating_add(len).saturating_add(PAGE_SIZE - 1) & PAGE_MASK,
        },
        Call::Madvise { addr, len, advice } if mm::ops::advice_changes_vma_flags(advice) => {
            Effect::Flags { start: addr, end: addr.saturating_add(pages(len)) }
        }
        _ => return None,
    })
}

/// Whether maps lines `lo` and `hi` (adjacent, `lo` below) could be one mapping: the same
/// permissions and object, its offset going on.
fn one_mapping(lo: &MapsLine, hi: &MapsLine) -> bool {
    let offset_goes_on = if is_file(lo) { lo.offset.wrapping_add(lo.end - lo.start) == hi.offset } else { true };
    lo.end == hi.start
        && (lo.perms.as_str(), lo.major, lo.minor, lo.ino, lo.name.as_str())
            == (hi.perms.as_str(), hi.major, hi.minor, hi.ino, hi.name.as_str())
        && offset_goes_on
        && !lo.name.starts_with('[')
}

/// Makes the lines on both sides of `at` one, where they could be (see [`one_mapping`]).
fn join_at(lines: &mut Vec<MapsLine>, at: u64) {
    let Some(i) = lines.iter().position(|l| l.end == at) else { return };
    if i + 1 < lines.len() && one_mapping(&lines[i], &lines[i + 1]) {
        let hi = lines.remove(i + 1);
        lines[i].end = hi.end;
    }
}

/// Whether a maps line shows a file (its offset moves with its start).
fn is_file(l: &MapsLine) -> bool {
    l.ino != 0
}

/// `l` cut to `[start, end)` (inside it).
fn piece(l: &MapsLine, start: u64, end: u64) -> MapsLine {
    let offset = if is_file(l) { l.offset + (start - l.start) } else { l.offset };
    MapsLine { start, end, offset, ..l.clone() }
}

/// Removes `[start, end)` from `lines`, splitting the lines it cuts; returns the removed
/// pieces.
fn cut(lines: &mut Vec<MapsLine>, start: u64, end: u64) -> Vec<MapsLine> {
    let mut kept = Vec::with_capacity(lines.len() + 1);
    let mut removed = Vec::new();
    for l in lines.drain(..) {
        if l.end <= start || l.start >= end {
            kept.push(l);
            continue;
        }
        if l.start < start {
            kept.push(piece(&l, l.start, start));
        }
        removed.push(piece(&l, l.start.max(start), l.end.min(end)));
        if l.end > end {
            kept.push(piece(&l, end, l.end));
        }
    }
    *lines = kept;
    removed
}

/// Inserts `new` (over a hole) keeping `lines` sorted.
fn insert(lines: &mut Vec<MapsLine>, new: MapsLine) {
    let at = lines.partition_point(|l| l.start < new.start);
    lines.insert(at, new);
}

/// Makes the line that starts at `start` reach `end` (over a hole).
fn extend(lines: &mut [MapsLine], start: u64, end: u64) {
    if let Some(l) = lines.iter_mut().find(|l| l.start == start) {
        l.end = end;
    }
}

/// An anonymous private mapping of `[start, end)` with protection `prot`.
fn anon(start: u64, end: u64, prot: u64) -> MapsLine {
    let perms = format!(
        "{}{}{}p",
        if prot & PROT_READ != 0 { 'r' } else { '-' },
        if prot & PROT_WRITE != 0 { 'w' } else { '-' },
        if prot & PROT_EXEC != 0 { 'x' } else { '-' }
    );
    MapsLine { start, end, perms, offset: 0, major: 0, minor: 0, ino: 0, name: String::new() }
}

/// Puts anonymous read-write memory in the hole `[start, end)` of `lines`, as part of the
/// anonymous read-write lines next to it: the kernel would have merged it with them (one
/// VMA, one anon_vma, which the mappings the trace makes there later merge with too).
fn fill_anon(lines: &mut Vec<MapsLine>, start: u64, end: u64) {
    let mergeable = |l: &MapsLine| l.ino == 0 && l.name.is_empty() && l.perms == "rw-p";
    let below = lines.iter().position(|l| l.end == start && mergeable(l));
    let above = lines.iter().position(|l| l.start == end && mergeable(l));
    match (below, above) {
        (Some(b), Some(a)) => {
            lines[b].end = lines[a].end;
            lines.remove(a);
        }
        (Some(b), None) => lines[b].end = end,
        (None, Some(a)) => lines[a].start = start,
        (None, None) => insert(lines, anon(start, end, PROT_READ | PROT_WRITE)),
    }
}

/// The holes of `lines` inside `[start, end)`.
fn holes(lines: &[MapsLine], start: u64, end: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut at = start;
    for l in lines.iter().filter(|l| l.end > start && l.start < end) {
        if l.start > at {
            out.push((at, l.start));
        }
        at = at.max(l.end);
    }
    if at < end {
        out.push((at, end));
    }
    out
}

/// The ranges the calls `effects` mapped (or moved mappings to) that are still mapped after
/// the last of them, in address order.
pub(super) fn made_by(effects: &[Effect]) -> Vec<(u64, u64)> {
    let mut made: Vec<(u64, u64)> = Vec::new();
    let remove = |made: &mut Vec<(u64, u64)>, start: u64, end: u64| {
        let mut kept = Vec::with_capacity(made.len() + 1);
        for &(s, e) in made.iter() {
            if e <= start || s >= end {
                kept.push((s, e));
                continue;
            }
            if s < start {
                kept.push((s, start));
            }
            if e > end {
                kept.push((end, e));
            }
        }
        *made = kept;
    };
    for e in effects {
        match *e {
            Effect::Map { start, end } => {
                remove(&mut made, start, end);
                made.push((start, end));
            }
            Effect::Unmap { start, end } => remove(&mut made, start, end),
            Effect::Remap { old, old_len, new, new_len, keep_old } => {
                if !keep_old {
                    remove(&mut made, old, old.saturating_add(old_len));
                }
                remove(&mut made, new, new.saturating_add(new_len));
                made.push((new, new.saturating_add(new_len)));
            }
            Effect::Protect { .. } | Effect::Brk { .. } | Effect::Flags { .. } => {}
        }
    }
    made.retain(|&(s, e)| s < e);
    made.sort_unstable();
    made
}

/// The starts of the anonymous private mappings at the attach (`start`) that a mapping the
/// trace placed right next to them, with the same permissions, did not merge with: the read
/// shows the edge between them, and no other call of the trace has an edge there (an
/// mprotect or munmap would have made one).
pub(super) fn kept_apart(read: &[MapsLine], effects: &[Effect], start: &[MapsLine]) -> Vec<u64> {
    let plain = |l: &MapsLine| l.ino == 0 && l.name.is_empty() && l.perms.ends_with('p');
    let edges = |e: &Effect| -> Vec<u64> {
        match *e {
            Effect::Map { start, end }
            | Effect::Unmap { start, end }
            | Effect::Protect { start, end, .. }
            | Effect::Flags { start, end } => vec![start, end],
            Effect::Remap { old, old_len, new, new_len, .. } => {
                vec![old, old.saturating_add(old_len), new, new.saturating_add(new_len)]
            }
            Effect::Brk { .. } => Vec::new(),
        }
    };
    let mut out = Vec::new();
    for (i, e) in effects.iter().enumerate() {
        let Effect::Map { start: s, end: e_ } = *e else { continue };
        for at in [s, e_] {
            let others = effects.iter().enumerate().any(|(j, o)| j != i && edges(o).contains(&at));
            let below = read.iter().find(|l| l.end == at);
            let above = read.iter().find(|l| l.start == at);
            let (Some(below), Some(above)) = (below, above) else { continue };
            if others || !plain(below) || !plain(above) || below.perms != above.perms {
                continue;
            }
            // The side the trace did not map is the one at the attach.
            let old = if at == s { start.iter().find(|l| l.end == at) } else { start.iter().find(|l| l.start == at) };
            if let Some(old) = old.filter(|l| plain(l) && l.perms == below.perms) {
                out.push(old.start);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether the mappings `lines` cover every range of `ranges`.
pub(super) fn covers(lines: &[MapsLine], ranges: &[(u64, u64)]) -> bool {
    let mut sorted: Vec<MapsLine> = lines.to_vec();
    sorted.sort_by_key(|l| l.start);
    ranges.iter().all(|&(s, e)| holes(&sorted, s, e).is_empty())
}

/// Whether some range of `a` overlaps some range of `b`.
pub(super) fn overlap(a: &[(u64, u64)], b: &[(u64, u64)]) -> bool {
    a.iter().any(|&(s, e)| b.iter().any(|&(t, f)| s < f && t < e))
}

/// The mappings `read` shows, with `effects` (the calls between the attach and the read, in
/// order) undone: the mappings at the attach, and the heap then.
pub(super) fn undo(read: &[MapsLine], effects: &[Effect]) -> (Vec<MapsLine>, Option<(u64, u64)>) {
    let mut lines: Vec<MapsLine> = read.to_vec();
    lines.sort_by_key(|l| l.start);
    // The heap as the read shows it, before the brk calls are undone.
    let heap_lines: Vec<(u64, u64)> = lines.iter().filter(|l| l.name == "[heap]").map(|l| (l.start, l.end)).collect();
    // The ranges a munmap emptied, guessed to have held anonymous memory.
    let mut guessed: Vec<(u64, u64)> = Vec::new();
    for e in effects.iter().rev() {
        match *e {
            Effect::Map { start, end } => {
                cut(&mut lines, start, end);
            }
            Effect::Unmap { start, end } => {
                for (s, e) in holes(&lines, start, end) {
                    fill_anon(&mut lines, s, e);
                    guessed.push((s, e));
                }
            }
            Effect::Protect { start, end, prot } => {
                // What a munmap after this call emptied had this protection then (its
                // guessed one is replaced), as had every hole.
                for &(s, e) in &guessed {
                    if s.max(start) < e.min(end) {
                        cut(&mut lines, s.max(start), e.min(end));
                    }
                }
                for (s, e) in holes(&lines, start, end) {
                    insert(&mut lines, anon(s, e, prot));
                }
            }
            Effect::Remap { old, old_len, new, new_len, keep_old } => {
                let moved = cut(&mut lines, new, new.saturating_add(new_len));
                if keep_old {
                    continue;
                }
                let kept = old_len.min(new_len);
                let mut last: Option<MapsLine> = None;
                for m in moved.into_iter().filter(|m| m.start < new + kept) {
                    let (s, e) = (m.start - new + old, m.end.min(new + kept) - new + old);
                    let back = MapsLine { start: s, end: e, ..piece(&m, m.start, m.end.min(new + kept)) };
                    cut(&mut lines, s, e);
                    insert(&mut lines, back.clone());
                    last = Some(back);
                }
                // A shrink unmapped the old range's tail: it was the rest of its last mapping.
                if let (true, Some(l)) = (old_len > new_len, last) {
                    let end = old.saturating_add(old_len);
                    if l.end == old + kept {
                        cut(&mut lines, l.end, end);
                        extend(&mut lines, l.start, end);
                    }
                }
            }
            Effect::Brk { .. } => {}
            Effect::Flags { start, end } => {
                join_at(&mut lines, start);
                join_at(&mut lines, end);
            }
        }
    }
    let heap = heap_at_attach(&mut lines, &heap_lines, effects);
    (lines, heap)
}

/// The heap at the attach (start_brk, break), with the heap's lines of `lines` trimmed or
/// extended to it: the read's `[heap]` lines `heap_lines` give its start, the first brk call
/// its break.
fn heap_at_attach(lines: &mut Vec<MapsLine>, heap_lines: &[(u64, u64)], effects: &[Effect]) -> Option<(u64, u64)> {
    let first_brk = effects.iter().find_map(|e| match *e {
        Effect::Brk { result, .. } => Some(result),
        _ => None,
    });
    let last_brk = effects.iter().rev().find_map(|e| match *e {
        Effect::Brk { result, .. } => Some(result),
        _ => None,
    });
    let start = match (heap_lines.first(), last_brk) {
        (Some(&(s, _)), _) => s,
        // No heap at the read: the break was at its start then (page-aligned).
        (None, Some(b)) => pages(b),
        (None, None) => return None,
    };
    let read_end = heap_lines.last().map_or(start, |&(_, e)| e);
    let brk = first_brk.unwrap_or(read_end).max(start);
    let end = pages(brk);
    if end < read_end {
        cut(lines, end, read_end);
    } else if end > read_end {
        // The trace shrank the heap: it reached further at the attach.
        cut(lines, read_end, end);
        match lines.iter().find(|l| l.name == "[heap]" && l.end == read_end).map(|l| l.start) {
            Some(last) => extend(lines, last, end),
            None => insert(lines, MapsLine { name: "[heap]".into(), ..anon(start, end, PROT_READ | PROT_WRITE) }),
        }
    }
    Some((start, brk))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(start: u64, end: u64, perms: &str, name: &str) -> MapsLine {
        let ino = u64::from(name.starts_with('/'));
        MapsLine { start, end, perms: perms.into(), offset: 0, major: 0, minor: 0, ino, name: name.into() }
    }

    fn ranges(lines: &[MapsLine]) -> Vec<(u64, u64, &str)> {
        lines.iter().map(|l| (l.start, l.end, l.perms.as_str())).collect()
    }

    #[test]
    fn what_calls_made_is_what_they_mapped_less_what_they_unmapped() {
        let effects = [
            Effect::Map { start: 0x10000, end: 0x20000 },
            Effect::Map { start: 0x30000, end: 0x34000 },
            Effect::Unmap { start: 0x14000, end: 0x15000 },
            Effect::Remap { old: 0x30000, old_len: 0x4000, new: 0x50000, new_len: 0x8000, keep_old: false },
            Effect::Protect { start: 0x10000, end: 0x11000, prot: PROT_READ },
        ];
        assert_eq!(made_by(&effects), vec![(0x10000, 0x14000), (0x15000, 0x20000), (0x50000, 0x58000)]);
        let read = [
            line(0x10000, 0x14000, "rw-p", ""),
            line(0x15000, 0x20000, "rw-p", ""),
            line(0x50000, 0x60000, "rw-p", ""),
        ];
        assert!(covers(&read, &made_by(&effects)));
        assert!(!covers(&read[..2], &made_by(&effects)));
        assert!(overlap(&[(0x1000, 0x3000)], &[(0x2000, 0x2001)]));
        assert!(!overlap(&[(0x1000, 0x3000)], &[(0x3000, 0x4000)]));
    }

    #[test]
    fn a_new_neighbour_left_unmerged_sets_the_old_mapping_apart() {
        let read = [
            line(0x10000, 0x20000, "rw-p", ""),
            line(0x20000, 0x22000, "rw-p", ""),
            line(0x22000, 0x30000, "rw-p", ""),
            line(0x40000, 0x50000, "rw-p", ""),
            line(0x50000, 0x52000, "rw-p", ""),
        ];
        // The trace mapped 0x10000 next to 0x20000 (apart), 0x22000 above it (apart too),
        // and 0x40000 below 0x50000, then protected the page at the edge (the edge is the
        // mprotect's, not proof of anything).
        let effects = [
            Effect::Map { start: 0x10000, end: 0x20000 },
            Effect::Map { start: 0x22000, end: 0x30000 },
            Effect::Map { start: 0x40000, end: 0x50000 },
            Effect::Protect { start: 0x4f000, end: 0x50000, prot: PROT_READ | PROT_WRITE },
        ];
        let (start, _) = undo(&read, &effects);
        assert_eq!(kept_apart(&read, &effects, &start), vec![0x20000]);
        // A new mapping with other permissions says nothing.
        let read = [line(0x10000, 0x20000, "r--p", ""), line(0x20000, 0x22000, "rw-p", "")];
        let effects = [Effect::Map { start: 0x10000, end: 0x20000 }];
        let (start, _) = undo(&read, &effects);
        assert!(kept_apart(&read, &effects, &start).is_empty());
    }

    #[test]
    fn a_mapping_an_mlock_split_was_one() {
        let read = [
            line(0x10000, 0x11000, "rw-p", ""),
            line(0x11000, 0x12000, "rw-p", ""),
            line(0x12000, 0x13000, "rw-p", ""),
            line(0x13000, 0x14000, "r--p", ""),
        ];
        let (start, _) = undo(&read, &[Effect::Flags { start: 0x11000, end: 0x12000 }]);
        assert_eq!(ranges(&start), vec![(0x10000, 0x13000, "rw-p"), (0x13000, 0x14000, "r--p")]);
        // Across another permission nothing is joined, nor at an edge no such call made.
        let (start, _) = undo(&read, &[Effect::Flags { start: 0x13000, end: 0x14000 }]);
        assert_eq!(ranges(&start).len(), 4);
    }

    #[test]
    fn a_read_before_any_change_is_the_start() {
        let read = vec![line(0x1000, 0x3000, "r--p", "/bin/x"), line(0x7000, 0x9000, "rw-p", "")];
        assert_eq!(undo(&read, &[]), (read.clone(), None));
    }

    #[test]
    fn mappings_the_trace_made_are_taken_out_and_merged_neighbours_split() {
        // An mmap of 16 pages merged with a mapping that existed before; its first page was
        // made read-only, its third and fourth unmapped.
        let read = vec![
            line(0x10000, 0x11000, "r--p", ""),
            line(0x11000, 0x12000, "rw-p", ""),
            line(0x14000, 0x23000, "rw-p", ""),
        ];
        let effects = [
            Effect::Map { start: 0x10000, end: 0x20000 },
            Effect::Protect { start: 0x10000, end: 0x11000, prot: PROT_READ },
            Effect::Unmap { start: 0x12000, end: 0x14000 },
        ];
        let (start, heap) = undo(&read, &effects);
        assert_eq!(ranges(&start), vec![(0x20000, 0x23000, "rw-p")]);
        assert_eq!(heap, None);
    }

    #[test]
    fn a_range_protected_then_unmapped_was_mapped() {
        let effects = [
            Effect::Protect { start: 0x5000, end: 0x7000, prot: PROT_READ },
            Effect::Unmap { start: 0x5000, end: 0x7000 },
        ];
        let (start, _) = undo(&[], &effects);
        assert_eq!(ranges(&start), vec![(0x5000, 0x7000, "r--p")]);
    }

    #[test]
    fn a_range_the_trace_unmapped_without_mapping_it_was_mapped() {
        // mmap of 16 pages placed below a mapping made before the trace, then that mapping
        // unmapped: it was there at the attach (else the mmap would have gone into it).
        let read = vec![line(0x10000, 0x20000, "rw-p", "")];
        let effects = [Effect::Map { start: 0x10000, end: 0x20000 }, Effect::Unmap { start: 0x20000, end: 0x30000 }];
        let (start, _) = undo(&read, &effects);
        assert_eq!(ranges(&start), vec![(0x20000, 0x30000, "rw-p")]);
        // Next to anonymous memory, it was part of it.
        let (start, _) = undo(&[line(0x30000, 0x38000, "rw-p", "")], &effects[1..]);
        assert_eq!(ranges(&start), vec![(0x20000, 0x38000, "rw-p")]);
        // What the trace mapped and then unmapped was a hole before.
        let effects = [Effect::Map { start: 0x40000, end: 0x50000 }, Effect::Unmap { start: 0x40000, end: 0x50000 }];
        let (start, _) = undo(&read, &effects[..]);
        assert_eq!(ranges(&start), vec![(0x10000, 0x20000, "rw-p")]);
    }

    #[test]
    fn the_heap_goes_back_to_the_first_break() {
        let read = vec![line(0x5555_5555_9000, 0x5555_5555_f000, "rw-p", "[heap]")];
        let effects = [
            Effect::Brk { arg: 0, result: 0x5555_5555_9000 },
            Effect::Brk { arg: 0x5555_5555_b000, result: 0x5555_5555_b000 },
            Effect::Brk { arg: 0x5555_5555_f000, result: 0x5555_5555_f000 },
        ];
        let (start, heap) = undo(&read, &effects);
        assert!(start.is_empty(), "{start:?}");
        assert_eq!(heap, Some((0x5555_5555_9000, 0x5555_5555_9000)));
        // A heap the trace shrank reached further.
        let effects = [
            Effect::Brk { arg: 0, result: 0x5555_5556_0800 },
            Effect::Brk { arg: 0x5555_5555_f000, result: 0x5555_5555_f000 },
        ];
        let (start, heap) = undo(&read, &effects);
        assert_eq!(ranges(&start), vec![(0x5555_5555_9000, 0x5555_5556_1000, "rw-p")]);
        assert_eq!(heap, Some((0x5555_5555_9000, 0x5555_5556_0800)));
    }

    #[test]
    fn a_moved_mapping_goes_back_and_a_shrunk_one_regrows() {
        let mut lib = line(0x9000, 0xa000, "rw-p", "/lib/y");
        lib.offset = 0x2000;
        let read = vec![lib];
        // mremap(0x4000, 0x2000, 0x1000, MAYMOVE) = 0x9000: the first page moved, the
        // second was unmapped.
        let effects = [Effect::Remap { old: 0x4000, old_len: 0x2000, new: 0x9000, new_len: 0x1000, keep_old: false }];
        let (start, _) = undo(&read, &effects);
        assert_eq!(ranges(&start), vec![(0x4000, 0x6000, "rw-p")]);
        assert_eq!(start[0].offset, 0x2000);
    }
}
