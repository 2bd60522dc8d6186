//! Threads whose lines strace printed in another order than the kernel ran them: calls
//! started and not finished, calls done ahead of their line, and whether some order of the
//! calls in flight explains what a read or a result showed.

use super::*;
use mm::PlacementSketch;

/// A read of `/proc` in progress in a threaded program. The kernel made its text at one
/// moment of the read, before or after each call other threads made meanwhile (strace's
/// order of lines is not the kernel's order), so the text of any state the address space
/// may have been in is a right answer.
#[derive(Clone, Debug, Default)]
pub(super) struct ReadWindow {
    /// The task whose text is read.
    pub(super) target: TracePid,
    /// The replay as it was during the read before any other task's call changed mappings
    /// (without windows of its own); none while no call has. Taken when the first such
    /// call comes, not when the read begins: most reads see none, and a copy of the whole
    /// replay for each read of a /proc text was most of the time of a threaded program's
    /// replay (Chromium reads its maps in 1 KiB pieces). Shared by the copies of the
    /// replay that placements try orders in.
    pub(super) start: Option<std::rc::Rc<Replayer>>,
    /// Calls of other threads that ended while the read was in progress, in order.
    pub(super) since: Vec<(TracePid, Syscall)>,
}

/// When the model did a call: at its own line, or ahead of it at an earlier line (before
/// that line's own call: the order derived here is the order the model did them in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum DoneAt {
    /// Ahead of its line, at this line.
    Early(u64),
    /// At its own line.
    Own(u64),
}

impl DoneAt {
    /// The order in which the model did calls.
    fn key(self) -> (u64, bool) {
        match self {
            DoneAt::Early(line) => (line, false),
            DoneAt::Own(line) => (line, true),
        }
    }
}

/// The pages an `mremap` that grows its mapping would take above it, were they free (it
/// grows in place then, and moves otherwise).
#[derive(Clone, Copy, Debug)]
pub(super) struct Growth {
    /// The mapping's address (the call's result when it grows in place).
    pub(super) old_addr: u64,
    /// The end of the old range.
    pub(super) above: u64,
    /// How many bytes it grows by.
    pub(super) len: u64,
}

/// A call done in the model, by when ([`DoneAt::key`]), with its result and, for a move
/// done ahead of its line (where it went is open until that line), its task.
type DoneCall<'a> = ((u64, bool), &'a Syscall, u64, Option<TracePid>);

/// A call in progress that an order runs ahead of its line: its task, the call, and for a
/// move, where the order moved it.
type FirstCall = (TracePid, Syscall, Option<u64>);

/// A move done ahead of its line, to be put where an order of the calls around another
/// placement puts it: task `task`'s mapping of `len` bytes, at `from` in the model.
#[derive(Clone, Copy, Debug)]
pub(super) struct Relocation {
    task: TracePid,
    from: u64,
    to: u64,
    len: u64,
}

/// Why a thread's mapping and its maps text go unchecked in a log whose threads' calls
/// are not in order (see [`crate::Options::threads_unordered`]).
pub(super) const UNORDERED_PLACEMENT: &str =
    "placements, maps texts and ranges of threads in merged strace -ff files (their calls' order is unknown)";

/// Calls that change an address space's mappings.
pub(super) const CHANGES_MAPS: [&str; 10] =
    ["mmap", "mmap2", "munmap", "mprotect", "mremap", "brk", "madvise", "mlock", "munlock", "pkey_mprotect"];

/// Whether a call of this name is `mmap` (`mmap2`, an ia32 process's, counts as one).
pub(super) fn is_mmap(name: &str) -> bool {
    matches!(name, "mmap" | "mmap2")
}

/// A call known only from its start: its name and arguments, the result unknown.
pub(super) fn started_call(name: &str, args: &trace::Args) -> Syscall {
    Syscall {
        name: name.to_string().into(),
        args: args.clone(),
        ret: Ret::Unknown,
        ret_decoration: None,
        ret_note: None,
        duration: None,
        unfinished_line: None,
        incomplete: true,
        injected: false,
        ret_tracer_pid: None,
    }
}

impl Replayer {
    /// Whether the log leaves the order of `tpid`'s calls among other threads' unknown
    /// (`strace -ff` files without time stamps) in its address space: once two tasks have
    /// shared it, for good, as the merged log shows a thread's calls, its exit included,
    /// all before the calls its creator made meanwhile.
    pub(super) fn threads_unordered_at(&mut self, tpid: TracePid) -> bool {
        if !self.opts.threads_unordered {
            return false;
        }
        let mm_of = |t: &TracePid| self.procs.get(t).and_then(|p| self.k.mm_id(p.pid).ok());
        let Some(mm) = mm_of(&tpid) else { return false };
        if self.procs.keys().filter(|t| mm_of(t) == Some(mm)).nth(1).is_some() {
            self.unordered_mms.insert(mm);
        }
        self.unordered_mms.contains(&mm)
    }

    /// An `mmap` with a result, not fixed, whose placement the order of other threads' calls
    /// decides, and the log does not show that order.
    pub(super) fn placed_in_an_unknown_order(&mut self, tpid: TracePid, c: &Syscall) -> bool {
        let flags = c.arg(3).and_then(Arg::flags_value_known).map_or(0, |(v, _)| v);
        c.ret.value().is_some() && flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) == 0 && self.threads_unordered_at(tpid)
    }

    /// The calls that tasks other than `except`, sharing `task`'s address space, have in
    /// progress and `wanted` picks (by name and the arguments shown), as calls, in the order
    /// they started (the order in which they most likely reached the kernel).
    pub(super) fn calls_in_progress(
        &self,
        task: TracePid,
        except: TracePid,
        wanted: impl Fn(&str, &trace::Args) -> bool,
    ) -> Vec<(TracePid, Syscall)> {
        let mm_of = |t: &TracePid| self.procs.get(t).and_then(|p| self.k.mm_id(p.pid).ok());
        let Some(mm) = mm_of(&task) else { return Vec::new() };
        let mut calls: Vec<_> = self
            .in_progress
            .iter()
            .filter(|(t, (name, args, _))| **t != except && wanted(name, args) && mm_of(t) == Some(mm))
            .map(|(&t, (name, args, started))| (*started, t, started_call(name, args)))
            .collect();
        calls.sort_by_key(|c| (c.0, c.1));
        calls.into_iter().map(|(_, t, call)| (t, call)).collect()
    }

    /// The `mmap`, `munmap` and `mprotect` calls that tasks sharing `tpid`'s address space
    /// have in progress (their arguments are all shown when they start).
    pub(super) fn concurrent_calls(&self, tpid: TracePid) -> Vec<(TracePid, Syscall)> {
        self.calls_in_progress(tpid, tpid, |name, args| match name {
            "mmap" | "mmap2" => args.len() == 6,
            "munmap" => args.len() == 2,
            "mremap" => args.len() >= 4,
            "mprotect" => args.len() == 3,
            _ => false,
        })
    }

    /// Replays a placing call (`mmap`, `mremap`, `brk`) made while other threads had mapping
    /// calls in progress. The kernel may have done those first, though strace prints their
    /// ends later: when the call's result does not match in the order of the lines, the
    /// replay tries again with some of them done first, and keeps the first order that
    /// matches (their own results are checked when their lines come). Which of them went
    /// first, and in which order, is unknown: smaller sets first, each in the order the
    /// calls started, then (for a few calls) in every other order.
    pub(super) fn syscall_reordered(&mut self, tpid: TracePid, line: u64, call: &Syscall) {
        let before = Clone::clone(&*self);
        let failed = self.report.failed;
        self.syscall(tpid, line, call);
        if self.report.failed == failed {
            return;
        }
        let early = before.concurrent_calls(tpid);
        // A handful of threads at most are ever caught in the middle of such calls.
        let n = early.len().min(4);
        for order in early_orders(n) {
            let mut other = Clone::clone(&before);
            for &i in &order {
                let (t, call) = &early[i];
                other.apply_early(*t, call);
            }
            other.syscall(tpid, line, call);
            if other.report.failed == failed {
                *self = other;
                return;
            }
        }
    }

    /// The result at its line of task `tpid`'s `mremap` call `c`, which the model did ahead
    /// of that line (at `early_line`, with `result`) for another thread's call to come out
    /// as the log says. Its own result was not known then: the model grew or moved the
    /// mapping as the order of the lines had it. When the log shows another result, the
    /// mapping goes there if some order of the calls explains it: undone as far as placement
    /// goes, with any of the calls done after it (`ended`, in the model's order) undone too
    /// and any of those still in progress done first, the mapping could not grow where it
    /// was and an `mmap` of its new length lands where the log says (or it grows in place,
    /// when the log says so). The calls done after it were checked against the log with
    /// the mapping where the model had it; they touched other addresses, so the order
    /// leaves the same mappings.
    pub(super) fn early_remap_placed(
        &mut self,
        tpid: TracePid,
        c: &Syscall,
        result: SysResult<u64>,
        early_line: u64,
        ended: &[(Syscall, DoneAt)],
    ) -> SysResult<u64> {
        let (Some(want), Ok(got)) = (c.ret.value(), result) else { return result };
        let Some(Call::Mremap { new_len, flags, .. }) = self.quiet_model_call(c) else { return result };
        if want == got || flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 || flags & MREMAP_MAYMOVE == 0 {
            return result;
        }
        let Some(new_len) = page_up(new_len) else { return result };
        let pid = self.mpid(tpid);
        // (Where it grows in place, the sketch says so before it places anything.)
        let growth = self.remap_growth(c);
        // (The probe stands for a move; for a call that grew in place by the log, one it
        // would have made had the pages above been taken.)
        let as_moved = Syscall { ret: Ret::Value(u64::MAX), ..c.clone() };
        let probe = growth.and_then(|_| self.remap_probe_of(pid, &as_moved, got));
        let (Some(probe), Ok(now)) = (probe, self.k.placement_sketch(pid)) else { return result };
        let as_done = Syscall { ret: Ret::Value(got), ..c.clone() };
        // The calls that ended while it was in progress, before or after the model did it.
        let others: Vec<((u64, bool), &Syscall, u64)> =
            self.calls_done_meanwhile(tpid, ended).into_iter().map(|(at, c, r, _)| (at, c, r)).collect();
        let itself = (DoneAt::Early(early_line).key(), &as_done, got);
        let early = self.concurrent_calls(tpid);
        // The move itself is undone in every set, and not done again before itself.
        for (set, order, redo) in candidate_orders(others.len(), &moves_of(&early)) {
            let mut undone: Vec<((u64, bool), &Syscall, u64)> =
                set.iter().map(|&i| others[i]).chain(std::iter::once(itself)).collect();
            undone.sort_by_key(|a| a.0);
            let later: Vec<(&Syscall, u64)> = undone.iter().map(|&(_, c, r)| (c, r)).collect();
            let redone: Vec<(&Syscall, u64)> =
                later.iter().copied().filter(|&(c, _)| !std::ptr::eq(c, &as_done)).collect();
            let sooner: Vec<&(TracePid, Syscall)> = order.iter().map(|&i| &early[i]).collect();
            if self.sketch_placement(&now, &probe, growth, &later, &sooner, &redone[..redo]) != Some(want) {
                continue;
            }
            let mut vacated = now.clone();
            vacated.free(got, new_len);
            let want_len = (want, new_len);
            // The calls this order runs first went before the move, or (the order's moves
            // needing the place the model has the mapping at) around it: the mapping steps
            // aside while they run.
            if let Some((first, _)) =
                self.first_calls(&now, &vacated, &early, &order, &later, &redone[..redo], want_len, true)
            {
                let mut moved = result;
                self.run_first(first, |r| {
                    moved = r.move_mapping(pid, got, new_len, want);
                });
                return moved;
            }
            // (`want` is free once they ran: first_calls says so.)
            let Some((first, _)) =
                self.first_calls(&now, &vacated, &early, &order, &later, &redone[..redo], want_len, false)
            else {
                continue;
            };
            let itself = Relocation { task: tpid, from: got, to: want, len: new_len };
            let keep_free = self.ranges_of(&first, want_len);
            return self.relocate(vec![itself], &keep_free, |r| r.run_first(first, |_| {})).remove(0);
        }
        result
    }

    /// The ranges the calls `first` leave or take, and `want`'s: what a mapping stepping
    /// aside while they run must keep clear of (see [`Self::relocate`]).
    fn ranges_of(&self, first: &[FirstCall], want: (u64, u64)) -> Vec<(u64, u64)> {
        let mut ranges = vec![want];
        for (_, c, to) in first {
            match self.quiet_model_call(c) {
                Some(Call::Mremap { old_addr, old_len, new_len, .. }) => {
                    ranges.push((old_addr, old_len));
                    ranges.extend(to.map(|to| (to, new_len)));
                }
                Some(Call::Munmap { addr, len }) => ranges.push((addr, len)),
                _ => {}
            }
        }
        ranges
    }

    /// Does ahead of their lines the calls in progress of tasks other than `tpid`, sharing
    /// its address space, that unmap or move mappings from `[start, start + len)`: where a
    /// mapping went there (in an address space whose placements follow the log), the kernel
    /// had done them first. Returns whether there were any.
    pub(super) fn run_removals_in_progress(&mut self, tpid: TracePid, start: u64, len: u64) -> bool {
        let end = start.saturating_add(len.max(1));
        let removing: Vec<(TracePid, Syscall)> = self
            .concurrent_calls(tpid)
            .into_iter()
            .filter(|(_, c)| match self.quiet_model_call(c) {
                Some(Call::Munmap { addr, len }) if c.name.as_ref() == "munmap" => {
                    addr < end && start < addr.saturating_add(len)
                }
                Some(Call::Mremap { old_addr, old_len, .. }) => {
                    old_addr < end && start < old_addr.saturating_add(old_len)
                }
                _ => false,
            })
            .collect();
        for (t, c) in &removing {
            // A move that may grow in place, and would so keep the range, moved: the range
            // was free. Where to, its own line says; until then, a free place outside it.
            let mut moved_off = None;
            if let (Some(Call::Mremap { old_addr, new_len, flags, .. }), Some(p)) =
                (self.quiet_model_call(c), self.procs.get(t))
            {
                let keeps = old_addr < end && start < old_addr.saturating_add(new_len);
                if flags & MREMAP_MAYMOVE != 0 && flags & MREMAP_FIXED == 0 && keeps {
                    moved_off = self.k.placement_sketch(p.pid).ok().and_then(|mut sketch| {
                        sketch.occupy(start, end - start);
                        self.k.sketch_mmap(&mut sketch, 0, new_len, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).ok()
                    });
                }
            }
            self.apply_early_at(*t, c, moved_off);
        }
        !removing.is_empty()
    }

    /// [`Self::apply_early`] of a move (or mapping) that goes `at` a place an order of the
    /// calls chose, when it says one, rather than where the model's own order would put it.
    fn apply_early_at(&mut self, t: TracePid, early: &Syscall, at: Option<u64>) {
        self.place_at = at;
        self.apply_early(t, early);
        self.place_at = None;
    }

    /// Does task `t`'s call, known from its start, ahead of its line; its result is checked
    /// when the line comes.
    pub(super) fn apply_early(&mut self, t: TracePid, early: &Syscall) {
        if !self.procs.contains_key(&t) {
            return;
        }
        let (_, result) = self.maps_call(t, early);
        self.in_progress.remove(&t);
        self.applied_early.insert(t, (early.clone(), result, self.line));
    }

    /// A task other than `tpid` whose `mmap`, done ahead of its line with the same arguments
    /// as `call`, returned what `call` did in the trace. Identical anonymous calls cannot be
    /// told apart until their results come, so the early one may have been the other's.
    pub(super) fn early_twin(&self, tpid: TracePid, call: &Syscall) -> Option<TracePid> {
        if self.applied_early.is_empty() || !is_mmap(&call.name) {
            return None;
        }
        let want = call.ret.value()?;
        self.applied_early
            .iter()
            .filter(|(&t, (early, result, _))| t != tpid && early.args == call.args && *result == Ok(want))
            .map(|(&t, _)| t)
            .min()
    }

    /// After task `tpid`'s call ended (the model did it at `done_at`): other tasks of
    /// its address space with an `mmap` in progress may have had their mapping placed before
    /// this call changed the mappings.
    pub(super) fn note_call_during_placements(&mut self, tpid: TracePid, call: &Syscall, done_at: DoneAt) {
        if !self.verify() || !CHANGES_MAPS.contains(&call.name.as_ref()) || call.ret.value().is_none() {
            return;
        }
        let mm_of = |t: &TracePid| self.procs.get(t).and_then(|p| self.k.mm_id(p.pid).ok());
        let Some(mm) = mm_of(&tpid) else { return };
        let placing: Vec<TracePid> = self
            .in_progress
            .iter()
            .filter(|(t, (name, _, _))| **t != tpid && (is_mmap(name) || name == "mremap") && mm_of(t) == Some(mm))
            .map(|(&t, _)| t)
            // An mremap done ahead of its line: where it went is open until its line comes
            // (see `early_remap_placed`).
            .chain(
                self.applied_early
                    .iter()
                    .filter(|(t, (c, _, _))| **t != tpid && c.name.as_ref() == "mremap" && mm_of(t) == Some(mm))
                    .map(|(&t, _)| t),
            )
            .collect();
        for t in placing {
            self.ended_during.entry(t).or_default().push((call.clone(), done_at));
        }
    }

    /// Replays an `mmap` made while other tasks of its address space changed the mappings:
    /// calls of theirs that ended while it was in progress (`ended`), and calls still in
    /// progress. strace's order of lines is not the kernel's: the mapping may have been
    /// placed before some of the ended calls ran, and after some of those in progress. When
    /// the order of the lines does not put it where the log says, the replay asks where it
    /// would have gone in each such order (smaller sets first; see [`late_sets`],
    /// [`early_orders`] and [`Self::sketch_placement`]), on sketches of the address space
    /// rather than copies of the model. If an order puts it where the log says, it goes
    /// there: the address is free now, and the calls it overtook touched other addresses, so
    /// the order leaves the same mappings. Calls in progress that place nothing (an
    /// `munmap`, an `mprotect`) are done ahead of their line when the order needs them; an
    /// `mmap` in progress is not, as where it went is checked, the same way, at its line.
    pub(super) fn syscall_placed_first(
        &mut self,
        tpid: TracePid,
        line: u64,
        call: &Syscall,
        ended: &[(Syscall, DoneAt)],
    ) {
        let pid = self.mpid(tpid);
        // The placement in question: an mmap's own, or, for an mremap that moved its mapping,
        // that of an mmap of the new length (the kernel looks for room with the old range
        // still mapped).
        let probe = if call.name.as_ref() == "mremap" { self.remap_probe(pid, call) } else { Some(call.clone()) };
        let (Some(want), Some(probe)) = (call.ret.value(), probe) else {
            return self.syscall(tpid, line, call);
        };
        let (Some(Call::Mmap { len, .. }), Ok(now)) = (self.quiet_model_call(&probe), self.k.placement_sketch(pid))
        else {
            return self.syscall(tpid, line, call);
        };
        let call_as_placed = call;
        let call = &probe;
        // A moved mapping could not grow where it was: the order must have had the pages
        // above it taken when the call ran.
        let growth = self.remap_growth(call_as_placed);
        if self.sketch_placement(&now, call, growth, &[], &[], &[]) == Some(want) {
            return self.syscall(tpid, line, call_as_placed);
        }
        let early = self.concurrent_calls(tpid);
        // The calls that may have come after this one.
        let ended = self.calls_done_meanwhile(tpid, ended);
        let open_moves: Vec<Option<TracePid>> = ended.iter().map(|e| e.3).collect();
        let ended: Vec<(&Syscall, u64)> = ended.into_iter().map(|(_, c, r, _)| (c, r)).collect();
        for (set, order, redo) in candidate_orders(ended.len(), &moves_of(&early)) {
            let later: Vec<(&Syscall, u64)> = set.iter().map(|&i| ended[i]).collect();
            let sooner: Vec<&(TracePid, Syscall)> = order.iter().map(|&i| &early[i]).collect();
            if self.sketch_placement(&now, call, growth, &later, &sooner, &later[..redo]) != Some(want) {
                continue;
            }
            // Moves done ahead of their lines that this order does after the placement
            // go where it puts them.
            let open: Vec<Option<TracePid>> = set.iter().map(|&i| open_moves[i]).collect();
            let Some((relocated, after)) = self.relocated_moves(&now, &later, &sooner, redo, &open, (want, len)) else {
                continue;
            };
            let Some((first, then)) =
                self.first_calls(&now, &after, &early, &order, &later, &later[..redo], (want, len), false)
            else {
                continue;
            };
            if !Self::relocations_fit(&then, &relocated, (want, len)) {
                continue;
            }
            // Out of the way of the calls run first: the places those calls leave or take,
            // and the placement's own.
            let keep_free = self.ranges_of(&first, (want, len));
            self.relocate(relocated, &keep_free, |r| r.run_first(first, |_| {}));
            self.place_at = Some(want);
            self.syscall(tpid, line, call_as_placed);
            self.place_at = None;
            return;
        }
        self.syscall(tpid, line, call_as_placed);
    }

    /// The calls that may have come after task `tpid`'s call in progress: those that ended
    /// meanwhile (`ended`), and those of other tasks of its address space done ahead of their
    /// line, with what each returned, in the order the model did them (at one line, calls
    /// done ahead of theirs come before the call the line ends). A move done ahead of its
    /// line comes with its task: where it went is not known until that line.
    fn calls_done_meanwhile<'a>(&'a self, tpid: TracePid, ended: &'a [(Syscall, DoneAt)]) -> Vec<DoneCall<'a>> {
        let mm_of = |t: &TracePid| self.procs.get(t).and_then(|p| self.k.mm_id(p.pid).ok());
        let mm = mm_of(&tpid);
        let mut calls: Vec<DoneCall> = ended
            .iter()
            .filter_map(|(c, done_at)| Some((done_at.key(), c, c.ret.value()?, None)))
            .chain(self.applied_early.iter().filter(|(t, _)| **t != tpid && mm_of(t) == mm).filter_map(
                |(t, (c, r, done_at))| {
                    let open = (c.name.as_ref() == "mremap").then_some(*t);
                    Some((DoneAt::Early(*done_at).key(), c, r.ok()?, open))
                },
            ))
            .collect();
        calls.sort_by_key(|e| e.0);
        calls
    }

    /// Once an order of the calls around a placement put the mapping at `want` (`.0`, of
    /// length `.1`) on a sketch: the calls in progress that the order ran first (indexes
    /// `order` into `early`) and that place nothing of their own (an `munmap`, an
    /// `mprotect`; an `mremap`, with where the order moved it), to be done ahead of their
    /// lines ([`Self::run_first`]: those that move nothing, then the moves), when the model
    /// allows it (`model`: its layout as the caller is about to leave it): `want` free once
    /// they are done, or, with `placed_between`, free once those that move nothing are done,
    /// and the moves' places free with the mapping at `want` (the caller puts it there in
    /// between). An `mmap` in progress is not among them: where it went is checked, the
    /// same way, at its line. With them, the model's layout once they are done.
    #[allow(clippy::too_many_arguments)]
    fn first_calls(
        &self,
        now: &PlacementSketch,
        model: &PlacementSketch,
        early: &[(TracePid, Syscall)],
        order: &[usize],
        later: &[(&Syscall, u64)],
        redone: &[(&Syscall, u64)],
        want: (u64, u64),
        placed_between: bool,
    ) -> Option<(Vec<FirstCall>, PlacementSketch)> {
        let sooner: Vec<&(TracePid, Syscall)> = order.iter().map(|&i| &early[i]).collect();
        let (_, moved_to) = self.sketch_order(now, later, &sooner, redone)?;
        let mut then = model.clone();
        let mut first = Vec::new();
        let mut moves = Vec::new();
        for (&&(t, ref c), &to) in sooner.iter().zip(&moved_to).filter(|((_, c), _)| !is_mmap(&c.name)) {
            match self.quiet_model_call(c) {
                Some(Call::Munmap { addr, len }) if c.name.as_ref() == "munmap" => then.free(addr, len),
                Some(Call::Mremap { old_addr, old_len, new_len, .. }) => {
                    // A move goes where the order put it, not where the model's own order
                    // would.
                    moves.push((
                        (t, c.clone(), Some(to).filter(|&to| to != old_addr)),
                        (old_addr, old_len, to, new_len),
                    ));
                    continue;
                }
                _ => {}
            }
            first.push((t, c.clone(), None));
        }
        if placed_between && !then.occupy(want.0, want.1) {
            return None;
        }
        for (call, (old_addr, old_len, to, new_len)) in moves {
            then.free(old_addr, old_len);
            if !then.occupy(to, new_len) {
                return None;
            }
            first.push(call);
        }
        (placed_between || then.is_free(want.0, want.1)).then_some((first, then))
    }

    /// For an order of the calls around a placement at `want` (`.0`, of length `.1`), in
    /// which some moves the model did ahead of their lines (`open[i]` names the task of
    /// `later[i]`, when it is one) come after the placement: where each of those moves
    /// goes in that order, for those it changes, with the model's layout without those
    /// mappings (they take their places after the calls the order runs first: see
    /// [`Self::relocate`]). After the placement, the calls of `later` from `redo` on are
    /// done again, each move placed anew from where it was: the moves first (they were in
    /// progress, and the model did them ahead of calls that had ended by their lines), else
    /// in the model's order. `None` when neither order can be.
    fn relocated_moves(
        &self,
        now: &PlacementSketch,
        later: &[(&Syscall, u64)],
        sooner: &[&(TracePid, Syscall)],
        redo: usize,
        open: &[Option<TracePid>],
        want: (u64, u64),
    ) -> Option<(Vec<Relocation>, PlacementSketch)> {
        if !open[redo..].iter().any(Option::is_some) {
            return Some((Vec::new(), now.clone()));
        }
        let (mut placed, _) = self.sketch_order(now, later, sooner, &later[..redo])?;
        if !placed.occupy(want.0, want.1) {
            return None;
        }
        let after: Vec<(&(&Syscall, u64), &Option<TracePid>)> = later[redo..].iter().zip(&open[redo..]).collect();
        let moves_first: Vec<_> =
            after.iter().filter(|a| a.1.is_some()).chain(after.iter().filter(|a| a.1.is_none())).copied().collect();
        [moves_first, after].into_iter().find_map(|sequence| {
            let mut sketch = placed.clone();
            let mut model = now.clone();
            let mut relocated = Vec::new();
            for (&(c, result), t) in sequence {
                match t {
                    Some(t) => {
                        let Some(Call::Mremap { new_len, .. }) = self.quiet_model_call(c) else { return None };
                        let new_len = page_up(new_len)?;
                        let to = self.sketch_remap_of(&mut sketch, *t, c, Some(result))?;
                        if to != result {
                            model.free(result, new_len);
                            relocated.push(Relocation { task: *t, from: result, to, len: new_len });
                        }
                    }
                    None => sketch = self.sketch_order(&sketch, &[], &[], &[(c, result)])?.0,
                }
            }
            Some((relocated, model))
        })
    }

    /// Whether the places [`Self::relocated_moves`] chose are free in `model` (the model's
    /// layout once the calls the order runs first are done), apart from `want` and from
    /// each other.
    fn relocations_fit(model: &PlacementSketch, relocated: &[Relocation], want: (u64, u64)) -> bool {
        let mut then = model.clone();
        then.occupy(want.0, want.1) && relocated.iter().all(|r| then.occupy(r.to, r.len))
    }

    /// Moves the mappings [`Self::relocated_moves`] chose, around `between` (the calls the
    /// order runs first, which may need their places): out of the way first, to places
    /// free of every range in `keep_free` and of their own new places, then to those once
    /// `between` ran; takes their new places for the results of those calls done ahead of
    /// their lines.
    fn relocate(
        &mut self,
        relocated: Vec<Relocation>,
        keep_free: &[(u64, u64)],
        between: impl FnOnce(&mut Self),
    ) -> Vec<SysResult<u64>> {
        let mut aside: Vec<u64> = Vec::new();
        for (i, r) in relocated.iter().enumerate() {
            let pid = self.mpid(r.task);
            let spare = self.k.placement_sketch(pid).ok().and_then(|mut sketch| {
                for &(at, len) in keep_free {
                    sketch.occupy(at, len);
                }
                for other in &relocated {
                    sketch.occupy(other.to, other.len);
                }
                for (other, &at) in relocated.iter().zip(&aside).take(i) {
                    sketch.occupy(at, other.len);
                }
                self.k.sketch_mmap(&mut sketch, 0, r.len, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).ok()
            });
            let at = match spare {
                Some(spare) if self.move_mapping(pid, r.from, r.len, spare) == Ok(spare) => spare,
                _ => r.from,
            };
            aside.push(at);
        }
        between(self);
        let mut results = Vec::with_capacity(relocated.len());
        for (r, at) in relocated.iter().zip(aside) {
            let pid = self.mpid(r.task);
            let got = self.move_mapping(pid, at, r.len, r.to);
            if let Some(early) = self.applied_early.get_mut(&r.task) {
                early.1 = got;
            }
            results.push(got);
        }
        results
    }

    /// Moves the model's mapping `[from, from + len)` of `pid`, pages and all, to `to`, as
    /// a move done ahead of its line would have put it there in the first place. The
    /// kernel refuses a move onto an overlapping range: such a one goes by a place free of
    /// both.
    pub(super) fn move_mapping(&mut self, pid: Pid, from: u64, len: u64, to: u64) -> SysResult<u64> {
        let fixed = MREMAP_MAYMOVE | MREMAP_FIXED;
        if from < to.saturating_add(len) && to < from.saturating_add(len) {
            let mut sketch = self.k.placement_sketch(pid)?;
            let (lo, hi) = (from.min(to), from.max(to) + len);
            sketch.free(from, len);
            sketch.occupy(lo, hi - lo);
            let by = self.k.sketch_mmap(&mut sketch, 0, len, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
            self.k.mremap(pid, from, len, len, fixed, by)?;
            return self.k.mremap(pid, by, len, len, fixed, to);
        }
        self.k.mremap(pid, from, len, len, fixed, to)
    }

    /// Does the calls [`Self::first_calls`] chose ahead of their lines: those that move
    /// nothing, then `between`, then the moves.
    fn run_first(&mut self, first: Vec<FirstCall>, between: impl FnOnce(&mut Self)) {
        let moves_at = first.iter().position(|(_, c, _)| c.name.as_ref() == "mremap").unwrap_or(first.len());
        let mut first = first.into_iter();
        for (t, c, moved) in first.by_ref().take(moves_at) {
            self.apply_early_at(t, &c, moved);
        }
        between(self);
        for (t, c, moved) in first {
            self.apply_early_at(t, &c, moved);
        }
    }

    /// For an `mremap` call `c` that grows its mapping (not to a fixed place): the pages it
    /// would take above the old range had it grown in place.
    pub(super) fn remap_growth(&self, c: &Syscall) -> Option<Growth> {
        let Call::Mremap { old_addr, old_len, new_len, flags, .. } = self.quiet_model_call(c)? else { return None };
        let (old_len, new_len) = (page_up(old_len)?, page_up(new_len)?);
        if flags & MREMAP_FIXED != 0 || new_len <= old_len {
            return None;
        }
        Some(Growth { old_addr, above: old_addr.checked_add(old_len)?, len: new_len - old_len })
    }

    /// For an `mremap` call `c` that moved an anonymous mapping (not to a fixed place): the
    /// `mmap` whose placement is the move's.
    pub(super) fn remap_probe(&self, pid: Pid, c: &Syscall) -> Option<Syscall> {
        let Some(Call::Mremap { old_addr, .. }) = self.quiet_model_call(c) else { return None };
        self.remap_probe_of(pid, c, old_addr)
    }

    /// [`Self::remap_probe`] of a mapping that the model has at `now_at`.
    fn remap_probe_of(&self, pid: Pid, c: &Syscall, now_at: u64) -> Option<Syscall> {
        let Some(Call::Mremap { new_len, .. }) = self.quiet_model_call(c) else { return None };
        let vma = self.k.mm(pid).ok()?.vmas.find(now_at).filter(|v| v.contains(now_at))?;
        if !Self::moved(c) || vma.file.is_some() && !vma.flags.contains(mm::VmFlags::SHARED) {
            return None;
        }
        let kind = if vma.flags.contains(mm::VmFlags::SHARED) { MAP_SHARED } else { MAP_PRIVATE };
        let mut probe = c.clone();
        probe.name = "mmap".into();
        probe.args.clear();
        probe
            .args
            .extend([0, new_len, PROT_READ | PROT_WRITE, kind | MAP_ANONYMOUS, u64::MAX, 0].into_iter().map(Arg::Int));
        Some(probe)
    }

    /// Does on `sketch` what `mremap` call `c` of task `t`, whose result is not known yet,
    /// would do now: shrink, grow in place when the pages above are free, else move where an
    /// `mmap` of the new length would go (when it may move). Returns where the mapping is
    /// then. `None` for a call it cannot tell (a file mapping's move, a range the model does
    /// not have as one mapping).
    fn sketch_remap(&self, sketch: &mut PlacementSketch, t: TracePid, c: &Syscall) -> Option<u64> {
        self.sketch_remap_of(sketch, t, c, None)
    }

    /// [`Self::sketch_remap`] of a call the model did already, ahead of its line: its
    /// mapping is at `moved_to` in the model (the sketch has it back where it was).
    fn sketch_remap_of(
        &self,
        sketch: &mut PlacementSketch,
        t: TracePid,
        c: &Syscall,
        moved_to: Option<u64>,
    ) -> Option<u64> {
        let Some(Call::Mremap { old_addr, old_len, new_len, flags, new_addr }) = self.quiet_model_call(c) else {
            return None;
        };
        let (old_len, new_len) = (page_up(old_len)?, page_up(new_len)?);
        let pid = self.procs.get(&t)?.pid;
        if old_len == 0 {
            return None;
        }
        if moved_to.is_none() {
            let vma = self.k.mm(pid).ok()?.vmas.find(old_addr).filter(|v| v.contains(old_addr))?;
            if old_addr.checked_add(old_len)? > vma.end {
                return None;
            }
        }
        if flags & MREMAP_FIXED != 0 {
            sketch.free(old_addr, old_len);
            sketch.free(new_addr, new_len);
            sketch.occupy(new_addr, new_len).then_some(new_addr)
        } else if new_len <= old_len {
            sketch.free(old_addr + new_len, old_len - new_len);
            Some(old_addr)
        } else if sketch.is_free(old_addr + old_len, new_len - old_len) {
            sketch.occupy(old_addr + old_len, new_len - old_len).then_some(old_addr)
        } else if flags & MREMAP_MAYMOVE != 0 {
            let mut moved = c.clone();
            moved.ret = Ret::Value(u64::MAX);
            let probe = self.remap_probe_of(pid, &moved, moved_to.unwrap_or(old_addr))?;
            let Some(Call::Mmap { addr, len, flags, fd, off, .. }) = self.quiet_model_call(&probe) else { return None };
            let to = self.k.sketch_mmap(sketch, addr, len, flags, fd, off).ok()?;
            sketch.free(old_addr, old_len);
            Some(to)
        } else {
            // ENOMEM: nothing changes.
            Some(old_addr)
        }
    }

    /// Whether `c` is an `mremap` that moved its mapping, not to a fixed place (the
    /// placement question [`Self::syscall_placed_first`] answers for threads' overlapping
    /// calls).
    pub(super) fn moved(c: &Syscall) -> bool {
        let flags = c.arg(3).and_then(Arg::flags_value_known).map_or(0, |(v, _)| v);
        c.name.as_ref() == "mremap"
            && flags & MREMAP_MAYMOVE != 0
            && flags & MREMAP_FIXED == 0
            && c.ret.value().is_some_and(|r| Some(r) != c.arg_u64(0))
    }

    /// The model's [`Call`] for line `c`, flag names it does not know reported nowhere (for
    /// what-if questions; the line's own replay reports them).
    fn quiet_model_call(&self, c: &Syscall) -> Option<Call> {
        crate::call::call_with(c, |c, i| c.arg(i).and_then(Arg::flags_value_known).map_or(0, |(value, _)| value))
    }

    /// Where `call` (an `mmap`) would have put its mapping had the calls `later` (done in
    /// the model before it, each with its result, in the order the model did them) not been
    /// done yet, and the calls in progress `sooner` been done: on a copy of the address
    /// space's layout (`now`), each of `later` is undone, latest first, as far as placement
    /// goes (an unmapped range taken again, a made mapping removed; protection and advice
    /// changes move nothing), then `sooner` are done in order. With `growth` (`call` stands
    /// for an `mremap` that may grow in place), the mapping's old address when the pages
    /// above it are free then: it grew where it was. `None` when one of them cannot be
    /// undone or done so.
    pub(super) fn sketch_placement<'a>(
        &self,
        now: &PlacementSketch,
        call: &Syscall,
        growth: Option<Growth>,
        later: &[(&'a Syscall, u64)],
        sooner: &[&'a (TracePid, Syscall)],
        redone: &[(&'a Syscall, u64)],
    ) -> Option<u64> {
        let (mut sketch, _) = self.sketch_order(now, later, sooner, redone)?;
        if let Some(g) = growth.filter(|g| sketch.is_free(g.above, g.len)) {
            return Some(g.old_addr);
        }
        match self.quiet_model_call(call)? {
            Call::Mmap { addr, len, flags, fd, off, .. } => {
                self.k.sketch_mmap(&mut sketch, addr, len, flags, fd, off).ok()
            }
            _ => None,
        }
    }

    /// Does (`forward`) or undoes on `sketch`, as far as placement goes, call `c`, which
    /// returned `result`: each call frees a range or takes one, or both (an unmap frees, a
    /// mapping takes, a move frees the old range and takes the new, a resize in place takes
    /// or frees its tail; protection and advice changes move nothing), and undoing it
    /// swaps the two. `None` when a range to take is not free, or the call is not one of
    /// those.
    fn sketch_known(&self, sketch: &mut PlacementSketch, c: &Syscall, result: u64, forward: bool) -> Option<()> {
        let (freed, taken) = match (c.name.as_ref(), self.quiet_model_call(c)?) {
            ("munmap", Call::Munmap { addr, len }) if result == 0 => (Some((addr, len)), None),
            ("mmap" | "mmap2", Call::Mmap { len, .. }) => (None, Some((result, len))),
            ("mremap", Call::Mremap { old_addr, old_len, new_len, .. }) => {
                let (old_len, new_len) = (page_up(old_len)?, page_up(new_len)?);
                if result != old_addr {
                    (Some((old_addr, old_len)), Some((result, new_len)))
                } else if new_len > old_len {
                    (None, Some((old_addr + old_len, new_len - old_len)))
                } else if old_len > new_len {
                    (Some((old_addr + new_len, old_len - new_len)), None)
                } else {
                    (None, None)
                }
            }
            ("mprotect" | "pkey_mprotect" | "madvise" | "mlock" | "munlock", _) => (None, None),
            _ => return None,
        };
        let (free, take) = if forward { (freed, taken) } else { (taken, freed) };
        if let Some((at, len)) = free {
            sketch.free(at, len);
        }
        match take {
            Some((at, len)) => sketch.occupy(at, len).then_some(()),
            None => Some(()),
        }
    }

    /// The layout `now` with the calls `later` undone, `sooner` done and `redone` done again
    /// (see [`Self::sketch_placement`]), and where each of `sooner` left its mapping (an
    /// `mremap`'s new address; 0 for the others). `None` when one of them cannot be undone
    /// or done so.
    fn sketch_order<'a>(
        &self,
        now: &PlacementSketch,
        later: &[(&'a Syscall, u64)],
        sooner: &[&'a (TracePid, Syscall)],
        redone: &[(&'a Syscall, u64)],
    ) -> Option<(PlacementSketch, Vec<u64>)> {
        let mut sketch = now.clone();
        let mut moved_to = Vec::with_capacity(sooner.len());
        // Latest first, as each may have reused what an earlier one freed.
        for &(c, result) in later.iter().rev() {
            self.sketch_known(&mut sketch, c, result, false)?;
        }
        for (t, c) in sooner.iter().copied() {
            match (c.name.as_ref(), self.quiet_model_call(c)?) {
                ("munmap", Call::Munmap { addr, len }) => sketch.free(addr, len),
                ("mmap" | "mmap2", Call::Mmap { addr, len, flags, fd, off, .. }) => {
                    self.k.sketch_mmap(&mut sketch, addr, len, flags, fd, off).ok()?;
                }
                ("mremap", _) => {
                    moved_to.push(self.sketch_remap(&mut sketch, *t, c)?);
                    continue;
                }
                ("mprotect" | "pkey_mprotect" | "madvise" | "mlock" | "munlock", _) => {}
                _ => return None,
            }
            moved_to.push(0);
        }
        // Calls undone above that ran again after those: their results are known.
        for &(c, result) in redone {
            self.sketch_known(&mut sketch, c, result, true)?;
        }
        Some((sketch, moved_to))
    }

    /// Whether the text a `/proc` read of `target` by `reader` gave (`fits` tells) is the
    /// text of a state the address space may have been in during the read: the state when
    /// it began (`window`, for a split read; now, otherwise) with any of the calls other
    /// threads ended meanwhile or still have in progress done, in their order.
    pub(super) fn concurrent_state_explains(
        &self,
        reader: TracePid,
        what: ProcText,
        target: TracePid,
        window: Option<&ReadWindow>,
        shown: Option<&str>,
        fits: &dyn Fn(&str) -> bool,
    ) -> bool {
        let mut calls: Vec<(TracePid, Syscall)> = window.map(|w| w.since.clone()).unwrap_or_default();
        calls.extend(self.calls_in_progress(target, reader, |name, _| CHANGES_MAPS.contains(&name)));
        if calls.is_empty() {
            return false;
        }
        let base: &Replayer = window.and_then(|w| w.start.as_deref()).unwrap_or(self);
        // The inode numbers of the shared memory objects that already exist or that reads
        // named: any other object is one a call made while the read went on.
        let known: HashSet<u64> =
            base.k.files().map(|(_, f)| f.ino).chain(self.learned.shmem_inos.values().map(|b| b.value)).collect();
        // At most a handful of calls overlap one read; beyond six, only the first six vary.
        let n = calls.len().min(6);
        (0..1u32 << n).any(|set| {
            let mut copy = Clone::clone(base);
            copy.in_progress.clear();
            copy.read_starts.clear();
            for (i, (t, call)) in calls.iter().take(n).enumerate() {
                // (A task made after the read began is not in its state.)
                if set & (1 << i) != 0 && copy.procs.contains_key(t) {
                    copy.syscall(*t, 0, call);
                }
            }
            copy.proc_text_now(what, target).is_some_and(|text| match shown {
                Some(shown) => fits(&made_meanwhile_as_shown(&text, shown, &|ino| known.contains(&ino))),
                None => fits(&text),
            })
        })
    }
}

/// `text`, a maps text of a state the model went through, with the line of each shared
/// memory object made while the read went on (its inode number neither one that existed
/// nor one a read named: `known` tells) replaced by the line `shown` has for the same
/// mapping, when the two differ in that number only. The recording machine's counter gave
/// the object a number that nothing before this read tells, and the line's padding keeps
/// its length whatever the number.
pub(super) fn made_meanwhile_as_shown(text: &str, shown: &str, known: &dyn Fn(u64) -> bool) -> String {
    use procfs::parse::parse_maps_line;
    let shown_lines: Vec<(&str, crate::unknowns::MapsLine)> = shown
        .split_inclusive('\n')
        .filter_map(|l| Some((l, parse_maps_line(l.strip_suffix('\n')?)?)))
        .filter(|(_, l)| super::learn::is_shmem_name(&l.name))
        .collect();
    if shown_lines.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let made = line.strip_suffix('\n').and_then(parse_maps_line).filter(|m| !known(m.ino));
        let same_but_number = |l: &crate::unknowns::MapsLine, m: &crate::unknowns::MapsLine| {
            (l.start, l.end, &l.perms, l.offset, l.major, l.minor, &l.name)
                == (m.start, m.end, &m.perms, m.offset, m.major, m.minor, &m.name)
        };
        let instead = made.and_then(|m| shown_lines.iter().find(|(_, l)| same_but_number(l, &m)).map(|(s, _)| *s));
        out.push_str(instead.filter(|s| s.len() == line.len()).unwrap_or(line));
    }
    out
}

/// The orders in which some of `n` calls in progress may have been done first, by index in
/// the order they started: every non-empty subset in that order, smaller subsets first; then
/// every other order of each subset of two or more.
fn early_orders(n: usize) -> Vec<Vec<usize>> {
    let mut sets: Vec<u32> = (1..1u32 << n).collect();
    sets.sort_by_key(|set| set.count_ones());
    let members = |set: u32| (0..n).filter(|i| set & (1 << i) != 0).collect::<Vec<usize>>();
    let mut orders: Vec<Vec<usize>> = sets.iter().map(|&set| members(set)).collect();
    for &set in sets.iter().filter(|set| set.count_ones() >= 2) {
        let mut others = Vec::new();
        permutations(&mut members(set), 0, &mut others);
        orders.extend(others.into_iter().skip(1));
    }
    orders
}

/// The sets of `n` calls done in order that may have come after a call placed while they
/// ran, by index, the empty set first. The call was placed at one moment: the calls that
/// the model did after that moment are a tail of the order, so every tail comes first
/// (shortest first); then, as a call may end after that moment though the kernel did it
/// before, every other set of the last four. Bounded: at most `n` + 11 sets.
fn late_sets(n: usize) -> Vec<Vec<usize>> {
    let mut sets: Vec<Vec<usize>> = (0..=n).map(|k| (n - k..n).collect()).collect();
    let last = n.min(4);
    let mut others: Vec<Vec<usize>> = (1..1u32 << last)
        .map(|bits| (0..last).filter(|i| bits & (1 << i) != 0).map(|i| n - last + i).collect())
        .filter(|set: &Vec<usize>| !sets.contains(set))
        .collect();
    others.sort_by_key(|set| set.len());
    sets.extend(others);
    sets
}

/// The orders of the calls around a placement that the search tries, smaller changes to
/// the order of the lines first: a set of the `ended` calls (done in the model before it)
/// that ran after it ([`late_sets`]), an order of some of the calls in progress that ran
/// before it ([`early_orders`], at most three of them varied), and how many of that set,
/// from its earliest, ran before it too, though after those calls in progress (a mapping
/// placed in the room a call in progress left, or lacked, before a call that ended
/// meanwhile freed or took its own). `moves[i]` says whether call in progress `i` is an
/// `mremap`: orders that run one of those first come after all the others, as where it
/// went is the model's guess until its line (an order that needs no guess is the likelier
/// one when both explain the placement; a wrong guess shows only later).
fn candidate_orders(ended: usize, moves: &[bool]) -> Vec<(Vec<usize>, Vec<usize>, usize)> {
    let orders: Vec<Vec<usize>> = std::iter::once(Vec::new()).chain(early_orders(moves.len().min(3))).collect();
    let mut out = Vec::new();
    for set in late_sets(ended) {
        for order in orders.iter().filter(|o| !set.is_empty() || !o.is_empty()) {
            let redos = if order.is_empty() { 0 } else { set.len() };
            out.extend((0..=redos).map(|redo| (set.clone(), order.clone(), redo)));
        }
    }
    out.sort_by_key(|(_, order, _)| order.iter().any(|&i| moves[i]));
    out
}

/// Which of the calls in progress `early` are moves (`mremap`), for [`candidate_orders`].
fn moves_of(early: &[(TracePid, Syscall)]) -> Vec<bool> {
    early.iter().map(|(_, c)| c.name.as_ref() == "mremap").collect()
}

/// Every order of `items[k..]` after `items[..k]`, the given order first.
fn permutations(items: &mut Vec<usize>, k: usize, out: &mut Vec<Vec<usize>>) {
    if k + 1 >= items.len() {
        out.push(items.clone());
        return;
    }
    for i in k..items.len() {
        items.swap(k, i);
        permutations(items, k + 1, out);
        items.swap(k, i);
    }
}

/// `len` rounded up to whole pages, as the kernel takes a length.
pub(super) fn page_up(len: u64) -> Option<u64> {
    len.checked_add(PAGE_SIZE - 1).map(|l| l & !(PAGE_SIZE - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_sets_try_every_tail_first_then_other_sets_of_the_last_four() {
        let sets = late_sets(5);
        assert_eq!(&sets[..6], &[vec![], vec![4], vec![3, 4], vec![2, 3, 4], vec![1, 2, 3, 4], vec![0, 1, 2, 3, 4]]);
        // The 15 non-empty sets of the last four, less the 4 tails among them.
        assert_eq!(sets.len(), 6 + 11);
        assert!(sets.contains(&vec![1, 3]));
        assert!(!sets.contains(&vec![0, 2]), "beyond the last four, only tails");
        assert_eq!(late_sets(0), vec![Vec::<usize>::new()]);
    }

    #[test]
    fn early_orders_try_each_set_in_start_order_before_any_other_order() {
        let orders = early_orders(3);
        assert_eq!(&orders[..7], &[vec![0], vec![1], vec![2], vec![0, 1], vec![0, 2], vec![1, 2], vec![0, 1, 2]]);
        // Each order once: 3 + 3 * 2 + 3! = 15.
        assert_eq!(orders.len(), 15);
        let mut unique = orders.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 15);
        assert!(orders[7..].contains(&vec![2, 1, 0]));
        assert!(early_orders(0).is_empty());
    }

    #[test]
    fn an_object_made_during_a_read_takes_the_number_the_read_shows() {
        let pad = |ino: u64| {
            let head = format!("7f0000001000-7f0000003000 rw-s 00000000 00:01 {ino}");
            format!("{head:<73}/dev/zero (deleted)\n")
        };
        let anon = "7f0000003000-7f0000004000 rw-p 00000000 00:00 0 \n";
        let model = format!("{}{anon}", pad(1028));
        let shown = format!("{}{anon}", pad(221014));
        // Made meanwhile: the shown number stands.
        assert_eq!(made_meanwhile_as_shown(&model, &shown, &|_| false), shown);
        // An object that existed (or was named) keeps the model's number: a mismatch.
        assert_eq!(made_meanwhile_as_shown(&model, &shown, &|ino| ino == 1028), model);
        // Another mapping is not taken for it.
        let elsewhere = shown.replacen("7f0000001000", "7f0000000000", 1);
        assert_eq!(made_meanwhile_as_shown(&model, &elsewhere, &|_| false), model);
    }
}
