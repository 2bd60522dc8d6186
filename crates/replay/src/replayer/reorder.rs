//! Threads whose lines strace printed in another order than the kernel ran them: calls
//! started and not finished, calls done ahead of their line, and whether some order of the
//! calls in flight explains what a read or a result showed.

use super::*;
use mm::PlacementSketch;

/// A read of `/proc` in progress in a threaded program. The kernel made its text at one
/// moment of the read, before or after each call other threads made meanwhile (strace's
/// order of lines is not the kernel's order), so the text of any state the address space
/// may have been in is a right answer.
#[derive(Clone, Debug)]
pub(super) struct ReadWindow {
    /// The replay when the read began (without windows of its own).
    pub(super) start: Box<Replayer>,
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

/// Why a thread's mapping and its maps text go unchecked in a log whose threads' calls
/// are not in order (see [`crate::Options::threads_unordered`]).
pub(super) const UNORDERED_PLACEMENT: &str =
    "placements, maps texts and ranges of threads in merged strace -ff files (their calls' order is unknown)";

/// Calls that change an address space's mappings.
pub(super) const CHANGES_MAPS: [&str; 9] =
    ["mmap", "munmap", "mprotect", "mremap", "brk", "madvise", "mlock", "munlock", "pkey_mprotect"];

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
            "mmap" => args.len() == 6,
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
        if self.applied_early.is_empty() || call.name != "mmap" {
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
            .filter(|(t, (name, _, _))| **t != tpid && (name == "mmap" || name == "mremap") && mm_of(t) == Some(mm))
            .map(|(&t, _)| t)
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
        if self.sketch_placement(&now, call, None.into_iter(), None.into_iter()) == Some(want) {
            return self.syscall(tpid, line, call_as_placed);
        }
        let early = self.concurrent_calls(tpid);
        // The calls that may have come after this one: those that ended meanwhile, and those
        // of other tasks done ahead of their line, with what each returned, in the order the
        // model did them (at one line, calls done ahead of theirs come before the call the
        // line ends).
        let mm = self.k.mm_id(pid).ok();
        let mut ended: Vec<((u64, bool), &Syscall, u64)> = ended
            .iter()
            .filter_map(|(c, done_at)| Some((done_at.key(), c, c.ret.value()?)))
            .chain(
                self.applied_early
                    .iter()
                    .filter(|(t, _)| **t != tpid && self.procs.get(t).and_then(|p| self.k.mm_id(p.pid).ok()) == mm)
                    .filter_map(|(_, (c, r, done_at))| Some((DoneAt::Early(*done_at).key(), c, r.ok()?))),
            )
            .collect();
        ended.sort_by_key(|e| e.0);
        let ended: Vec<(&Syscall, u64)> = ended.into_iter().map(|(_, c, r)| (c, r)).collect();
        let orders: Vec<Vec<usize>> = std::iter::once(Vec::new()).chain(early_orders(early.len().min(3))).collect();
        for set in late_sets(ended.len()) {
            for order in orders.iter().filter(|o| !set.is_empty() || !o.is_empty()) {
                let later = set.iter().map(|&i| ended[i]);
                let sooner = order.iter().map(|&i| &early[i]);
                if self.sketch_placement(&now, call, later, sooner) != Some(want) {
                    continue;
                }
                // The address must be free once the calls in progress this order does
                // first, and that place nothing, are done.
                let mut then = now.clone();
                let placing_nothing = || order.iter().map(|&i| &early[i]).filter(|(_, c)| c.name.as_ref() != "mmap");
                let mut possible = true;
                for (t, c) in placing_nothing() {
                    match (self.quiet_model_call(c), c.name.as_ref()) {
                        (Some(Call::Munmap { addr, len }), "munmap") => then.free(addr, len),
                        (_, "mremap") => possible &= self.sketch_remap(&mut then, *t, c).is_some(),
                        _ => {}
                    }
                }
                if !possible || !then.is_free(want, len) {
                    continue;
                }
                let first: Vec<(TracePid, Syscall)> = placing_nothing().cloned().collect();
                for (t, c) in &first {
                    self.apply_early(*t, c);
                }
                self.place_at = Some(want);
                self.syscall(tpid, line, call_as_placed);
                self.place_at = None;
                return;
            }
        }
        self.syscall(tpid, line, call_as_placed);
    }

    /// For an `mremap` call `c` that moved an anonymous mapping (not to a fixed place): the
    /// `mmap` whose placement is the move's.
    pub(super) fn remap_probe(&self, pid: Pid, c: &Syscall) -> Option<Syscall> {
        let Some(Call::Mremap { old_addr, new_len, .. }) = self.quiet_model_call(c) else { return None };
        let vma = self.k.mm(pid).ok()?.vmas.find(old_addr).filter(|v| v.contains(old_addr))?;
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
    /// `mmap` of the new length would go (when it may move). `None` for a call it cannot
    /// tell (a file mapping's move, a range the model does not have as one mapping).
    fn sketch_remap(&self, sketch: &mut PlacementSketch, t: TracePid, c: &Syscall) -> Option<()> {
        let Some(Call::Mremap { old_addr, old_len, new_len, flags, new_addr }) = self.quiet_model_call(c) else {
            return None;
        };
        let (old_len, new_len) = (page_up(old_len)?, page_up(new_len)?);
        let pid = self.procs.get(&t)?.pid;
        let vma = self.k.mm(pid).ok()?.vmas.find(old_addr).filter(|v| v.contains(old_addr))?.clone();
        if old_len == 0 || old_addr.checked_add(old_len)? > vma.end {
            return None;
        }
        if flags & MREMAP_FIXED != 0 {
            sketch.free(old_addr, old_len);
            sketch.free(new_addr, new_len);
            sketch.occupy(new_addr, new_len).then_some(())
        } else if new_len <= old_len {
            sketch.free(old_addr + new_len, old_len - new_len);
            Some(())
        } else if sketch.is_free(old_addr + old_len, new_len - old_len) {
            sketch.occupy(old_addr + old_len, new_len - old_len).then_some(())
        } else if flags & MREMAP_MAYMOVE != 0 {
            let mut moved = c.clone();
            moved.ret = Ret::Value(u64::MAX);
            let probe = self.remap_probe(pid, &moved)?;
            let Some(Call::Mmap { addr, len, flags, fd, off, .. }) = self.quiet_model_call(&probe) else { return None };
            self.k.sketch_mmap(sketch, addr, len, flags, fd, off).ok()?;
            sketch.free(old_addr, old_len);
            Some(())
        } else {
            // ENOMEM: nothing changes.
            Some(())
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
    /// changes move nothing), then `sooner` are done in order. `None` when one of them
    /// cannot be undone or done so.
    pub(super) fn sketch_placement<'a>(
        &self,
        now: &PlacementSketch,
        call: &Syscall,
        later: impl DoubleEndedIterator<Item = (&'a Syscall, u64)>,
        sooner: impl Iterator<Item = &'a (TracePid, Syscall)>,
    ) -> Option<u64> {
        let mut sketch = now.clone();
        // Latest first, as each may have reused what an earlier one freed.
        for (c, result) in later.rev() {
            match (c.name.as_ref(), self.quiet_model_call(c)?) {
                ("munmap", Call::Munmap { addr, len }) if result == 0 => {
                    if !sketch.occupy(addr, len) {
                        return None;
                    }
                }
                ("mmap", Call::Mmap { len, .. }) => sketch.free(result, len),
                ("mremap", Call::Mremap { old_addr, old_len, new_len, .. }) => {
                    let (old_len, new_len) = (page_up(old_len)?, page_up(new_len)?);
                    if result != old_addr {
                        sketch.free(result, new_len);
                        if !sketch.occupy(old_addr, old_len) {
                            return None;
                        }
                    } else if new_len > old_len {
                        sketch.free(old_addr + old_len, new_len - old_len);
                    } else if old_len > new_len && !sketch.occupy(old_addr + new_len, old_len - new_len) {
                        return None;
                    }
                }
                ("mprotect" | "pkey_mprotect" | "madvise" | "mlock" | "munlock", _) => {}
                _ => return None,
            }
        }
        for (t, c) in sooner {
            match (c.name.as_ref(), self.quiet_model_call(c)?) {
                ("munmap", Call::Munmap { addr, len }) => sketch.free(addr, len),
                ("mmap", Call::Mmap { addr, len, flags, fd, off, .. }) => {
                    self.k.sketch_mmap(&mut sketch, addr, len, flags, fd, off).ok()?;
                }
                ("mremap", _) => self.sketch_remap(&mut sketch, *t, c)?,
                ("mprotect" | "pkey_mprotect" | "madvise" | "mlock" | "munlock", _) => {}
                _ => return None,
            }
        }
        match self.quiet_model_call(call)? {
            Call::Mmap { addr, len, flags, fd, off, .. } => {
                self.k.sketch_mmap(&mut sketch, addr, len, flags, fd, off).ok()
            }
            _ => None,
        }
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
        let base: &Replayer = window.map_or(self, |w| &w.start);
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
fn page_up(len: u64) -> Option<u64> {
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
