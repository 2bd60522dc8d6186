//! `mremap`: where a mapping that may move went, and what the log leaves open about it.
//!
//! A move's destination is chosen like an `mmap`'s placement, so the same unknowns decide
//! it: in an address space whose start the log does not show, or whose calls a filter hid,
//! the mapping moves where the log says (unchecked); in merged `strace -ff` files, whose
//! threads' calls are not in order, it moves where the log says, and a call whose result
//! another thread's call explains (a mapping of theirs still in the way, or this one gone,
//! in the order of the lines) follows the log, unchecked. A failure the log shows changed
//! nothing in the kernel, so it changes nothing in the model either. Where threads' calls
//! overlapped in a plain `strace -f` log, [`Replayer::syscall_placed_first`] finds the order
//! that puts the mapping where the log says and leaves it in `place_at`.

use super::*;
use reorder::UNORDERED_PLACEMENT;

/// Why an `mremap(MREMAP_DONTUNMAP)` without `MREMAP_FIXED` goes unchecked.
pub(super) const HINT_PLACEMENT: &str =
    "mremap(MREMAP_DONTUNMAP) placements at the address of its fifth argument, which Linux takes as a hint \
     and strace does not print without MREMAP_FIXED (glibc passes whatever the register held)";

/// Whether `mremap` call `c` (with flags `flags`) had a fifth argument the kernel used and
/// the log does not show: with `MREMAP_DONTUNMAP` the kernel reads `new_addr` as a hint
/// (and refuses an unaligned one), but strace prints it only with `MREMAP_FIXED`.
pub(super) fn hint_not_shown(c: &Syscall, flags: u64) -> bool {
    flags & MREMAP_DONTUNMAP != 0 && flags & MREMAP_FIXED == 0 && c.args.len() < 5
}

impl Replayer {
    /// Replays `mremap` call `c` of task `tpid`.
    pub(super) fn mremap(&mut self, tpid: TracePid, line: u64, c: &Syscall) {
        let pid = self.mpid(tpid);
        let flags = self.flag_arg(c, 3);
        if c.ret.errno() == Some("EINVAL") && hint_not_shown(c, flags) {
            // The hint the log does not show was not page-aligned: nothing changed.
            return self.unchecked(HINT_PLACEMENT);
        }
        let unordered = self.threads_unordered_at(tpid);
        let moved = self.moved_where_the_log_says(tpid, c);
        let to = self.place_at.take().or(moved.map(|(to, _)| to));
        if c.ret.value().is_some() && (moved.is_some() || Self::grown_in_place(c)) {
            // Where the log says it went (or grew), a mapping of another thread may still be
            // in the model, which that thread's call in progress removes or moves: the kernel
            // had done that call first (a move that could have grown in place there moved).
            let place = match to {
                Some(to) => c.arg_u64(2).map(|len| (to, len)),
                None => self.remap_growth(c).map(|g| (g.above, g.len)),
            };
            if let Some((at, len)) = place {
                if self.k.placement_sketch(pid).is_ok_and(|s| len > 0 && !s.is_free(at, len)) {
                    self.run_removals_in_progress(tpid, at, len);
                }
            }
        }
        let before_failure = (unordered && c.ret.errno().is_some()).then(|| self.k.clone());
        let mut got = match to {
            Some(to) => {
                let mut placed = c.clone();
                placed.args.truncate(3);
                placed.args.extend([Arg::Int(flags | MREMAP_FIXED), Arg::Int(to)]);
                self.apply(pid, &placed)
            }
            None => self.apply(pid, c),
        };
        if let (Some(k), true) = (before_failure, got.is_ok()) {
            // The kernel refused it: the range was not one mapping when the call ran.
            self.k = k;
        }
        let mut followed = false;
        if let Some(r) = c.ret.value().filter(|&r| unordered && got != Ok(r)) {
            // A mapping of another thread's was in the way, or this one was gone: the merged
            // log puts that thread's unmap or move after this call, but the kernel did it
            // first. The mapping is where the log says now.
            self.follow_remap(pid, c, got, r);
            (got, followed) = (Ok(r), true);
        }
        if let (Some(old), Some(len), false) = (c.arg_u64(0), c.arg_u64(1), unordered) {
            if got.is_err() && c.ret.value().is_some() {
                self.learn_unwritten_from_span(tpid, line, old, old.saturating_add(len));
            } else if got.is_ok() && c.ret.errno() == Some("EFAULT") {
                self.learn_unwritten_from_merge(tpid, line, old, old.saturating_add(len));
            }
        }
        self.learn_from_result(tpid, line, c, (0, 0), &got);
        if let (Ok(new), Ok(id)) = (got, self.k.mm_id(pid)) {
            if self.started.contains(&id) {
                let new_len = c.arg_u64(2).unwrap_or(0);
                self.created.entry(id).or_default().push((new, new.saturating_add(new_len)));
            }
        }
        let failed_otherwise = unordered && c.ret.errno().is_some() && c.ret.errno() != got.err().map(Errno::name);
        if followed || failed_otherwise {
            self.unchecked(UNORDERED_PLACEMENT);
        } else if let Some((_, why)) = moved.filter(|&(to, _)| got == Ok(to)) {
            self.unchecked(why);
        } else {
            self.check(line, "mremap", &c.ret, got);
        }
    }

    /// The address an `mremap` that may move (not to a fixed place) moved its mapping to,
    /// when it did and what decided where is not in the log, with the report's reason: the
    /// order of other threads' calls, or mappings the log never showed (an address space
    /// whose start it does not show, or whose calls a filter hid).
    pub(super) fn moved_where_the_log_says(&mut self, tpid: TracePid, c: &Syscall) -> Option<(u64, &'static str)> {
        let to = c.ret.value().filter(|_| Self::moved(c))?;
        if hint_not_shown(c, self.flag_arg(c, 3)) {
            // The kernel took the hint if that room was free; else it placed the mapping
            // as for no hint, which the model does and checks.
            let (pid, len) = (self.mpid(tpid), c.arg_u64(2)?.max(1));
            let now = self.k.placement_sketch(pid).ok()?;
            let as_for_no_hint =
                self.remap_probe(pid, c).and_then(|probe| self.sketch_placement(&now, &probe, None, &[], &[], &[]));
            if as_for_no_hint != Some(to) && now.is_free(to, len) {
                return Some((to, HINT_PLACEMENT));
            }
        }
        if self.threads_unordered_at(tpid) {
            Some((to, UNORDERED_PLACEMENT))
        } else if self.unseen_start(tpid) {
            Some((to, attach::UNSEEN_PLACEMENT))
        } else if self.blind_task(tpid) {
            Some((to, super::blind::PLACEMENT))
        } else {
            None
        }
    }

    /// The line of task `tpid`'s `mremap` call `c`, which the model did ahead of it (at
    /// `early_line`, with `result`), for another thread's call to come out as the log says.
    /// Where the log shows it went elsewhere: an order of the calls around it may explain
    /// that ([`Replayer::early_remap_placed`]); in an address space whose placements follow
    /// the log (see [`Self::moved_where_the_log_says`]), the mapping moves there, unchecked,
    /// when that room is free.
    pub(super) fn early_remap_line(
        &mut self,
        tpid: TracePid,
        line: u64,
        c: &Syscall,
        result: SysResult<u64>,
        early_line: u64,
        ended: &[(Syscall, reorder::DoneAt)],
    ) {
        let result = self.early_remap_placed(tpid, c, result, early_line, ended);
        if let (Ok(got), Some((to, why))) = (result, self.moved_where_the_log_says(tpid, c)) {
            let len = c.arg_u64(2).and_then(reorder::page_up).unwrap_or(0);
            let pid = self.mpid(tpid);
            let free = |r: &Self| {
                r.k.placement_sketch(pid).is_ok_and(|mut s| {
                    s.free(got, len);
                    s.is_free(to, len)
                })
            };
            // (A mapping another thread's call in progress removes may be in the way.)
            let free = free(self) || (self.run_removals_in_progress(tpid, to, len) && free(self));
            if got != to && len > 0 && free && self.move_mapping(pid, got, len, to) == Ok(to) {
                return self.unchecked(why);
            }
        }
        self.check(line, "mremap", &c.ret, result);
    }

    /// Whether `mremap` call `c` grew its mapping in place, by the log.
    fn grown_in_place(c: &Syscall) -> bool {
        c.arg_u64(0).is_some_and(|old| c.ret.value() == Some(old))
            && c.arg_u64(2).zip(c.arg_u64(1)).is_some_and(|(new, old)| new > old)
    }

    /// Makes the model's mapping that `mremap` call `c` moved or resized (or failed to) the
    /// mapping at `to` that the log shows: an anonymous one of the same protection and
    /// sharing, of the new length (its pages are the program's, which the log does not show).
    fn follow_remap(&mut self, pid: Pid, c: &Syscall, got: SysResult<u64>, to: u64) {
        let arg = |i| c.arg_u64(i).unwrap_or(0);
        let (at, len) = match got {
            Ok(at) => (at, arg(2)),
            Err(_) => (arg(0), arg(1)),
        };
        let shown = |v: &mm::vma::Vma| (v.flags.bits() & 7, v.flags.contains(mm::VmFlags::SHARED));
        let (prot, shared) = self
            .k
            .mm(pid)
            .ok()
            .and_then(|m| m.vmas.find(at).filter(|v| v.contains(at)).map(shown))
            .unwrap_or((PROT_READ | PROT_WRITE, false));
        let _ = self.k.munmap(pid, at, len);
        let kind = if shared { MAP_SHARED } else { MAP_PRIVATE };
        let _ = self.k.mmap(pid, to, arg(2), prot, kind | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    }
}
