//! Address spaces the trace does not show whole: a process that appears with no call
//! creating it and no execve (a filter such as `-e trace=memory` hid both), or one whose
//! calls a filter hid (`-e trace=mmap,read` hides munmap and brk; an mmap of a descriptor
//! never seen opened, or a process no traced call created, shows the trace is filtered).
//! The model's state stands until a call it cannot explain (an mmap the kernel placed
//! elsewhere, a call that succeeded on a range the model does not map); from there the
//! replay follows that address space instead of predicting it, and checks only what the
//! trace determines:
//!
//! - an `mmap` placed by the kernel (no `MAP_FIXED`) goes where the trace says; when the
//!   trace shows munmap calls, what is checked is that nothing the trace mapped (and did not
//!   unmap) was there; an `mremap` that moved a mapping moves it where the trace says;
//! - `munmap`, whose result depends on its arguments only, is checked as usual, so are calls
//!   on ranges the trace mapped itself; calls on ranges it never showed are followed where
//!   they can be and not checked;
//! - `brk`: a break the model never had (no execve) is taken from the first result;
//! - reads of `/proc/PID/maps` are not compared (what they learn is still learned).
//!
//! The first process of a trace without an execve (`strace -p`, or a filter that hides it)
//! is learned over several runs instead (see `learn`). The report's `not checkable from
//! this trace` line counts each kind. A later `execve` starts a known address space again.

use super::Replayer;
use super::TracePid;
use crate::report::Mismatch;
use crate::MapCall;
use abi::*;
use mm::MmId;
use rustc_hash::FxHashSet as HashSet;
use trace::{Arg, Event, EventKind, Ret, Syscall};

/// What the replay saw of calls a filter hid.
#[derive(Clone, Debug, Default)]
pub(super) struct Hidden {
    /// Some call was hidden: a descriptor was used that the trace never showed opened, or
    /// a process appeared that no traced call created.
    pub(super) calls_hidden: bool,
    /// The address spaces of processes that appeared with no execve and no call creating
    /// them: the model's empty one stands for each until the trace shows otherwise.
    unshown_starts: HashSet<MmId>,
    /// The report said the log shows no munmap or mremap (see
    /// [`Replayer::note_removal_unseen`]).
    removal_unseen_noted: bool,
    /// Address spaces shared with threads whose calls the log does not show (see
    /// [`Replayer::thread_untraced`]).
    untraced_threads: HashSet<MmId>,
}

const HIDDEN: &str = "address spaces that calls the trace does not show (a filter hid them) made differ from the model";
const UNSEEN_START: &str = "calls in an address space whose start (execve) the trace does not show";
pub(super) const PLACEMENT: &str =
    "placement of mmap in an address space the trace does not show whole (its start, or calls a filter hid)";
const MAPS_READ: &str = "reads of /proc/PID/maps of an address space whose start the trace does not show";

impl Replayer {
    /// After the first task started: when its first event is not an `execve`, its address
    /// space is one the trace does not show the start of.
    pub(super) fn check_start_shown(&mut self, tpid: TracePid, ev: &Event) {
        let execve = match &ev.kind {
            EventKind::Syscall(c) => c.name == "execve" || c.name == "execveat",
            EventKind::CallStarted { name, .. } => name == "execve" || name == "execveat",
            _ => false,
        };
        if execve || !self.procs.contains_key(&tpid) {
            return;
        }
        self.hidden.calls_hidden = true;
        self.mark_start_unshown(tpid);
        self.report.notes.push(format!(
            "the trace does not show how pid {tpid}'s program started (no execve: a filter hid it, or strace \
             attached later): from the first call the model's empty start cannot explain, the replay follows it"
        ));
    }

    /// The model's empty address space of task `tpid` stands for one the trace does not show
    /// the start of, until a call shows otherwise.
    fn mark_start_unshown(&mut self, tpid: TracePid) {
        if let Some(id) = self.space_of(tpid) {
            self.hidden.unshown_starts.insert(id);
        }
    }

    /// Task `tpid` ran, at `line`, a program the log does not name (see
    /// [`Replayer::execve_unseen`]).
    pub(super) fn start_unshown(&mut self, tpid: TracePid, line: u64) {
        self.hidden.calls_hidden = true;
        self.mark_start_unshown(tpid);
        self.unchecked(UNSEEN_START);
        self.report.notes.push(format!(
            "line {line}: the log does not name the program pid {tpid} ran (strace printed its path as an \
             address): from the first call the model's empty start cannot explain, the replay follows it"
        ));
    }

    /// Whether `tpid` is the one task of a log that attached to a running process without
    /// following its threads (strace printed no task ids: `strace -p PID` without `-f`), and
    /// its start is known: the process's other threads may change its address space with
    /// calls the trace does not show.
    pub(super) fn others_untraced(&self, tpid: TracePid) -> bool {
        let shared = || self.space_of(tpid).is_some_and(|id| self.hidden.untraced_threads.contains(&id));
        (self.attach_log
            && self.unprefixed
            && self.attached_key(tpid).and_then(|k| self.learned.attached.get(&k.0)).is_some_and(|u| u.start.is_some()))
            || shared()
    }

    /// After task `tpid` of a log that follows one task (no `-f`) made a thread (a clone
    /// sharing its memory, not a vfork's child, which only runs a program): the thread's
    /// calls are not in the log, and may change the address space they share.
    pub(super) fn thread_untraced(&mut self, tpid: TracePid, line: u64) {
        let Some(id) = self.space_of(tpid) else { return };
        if self.hidden.untraced_threads.insert(id) {
            self.report.notes.push(format!(
                "line {line}: pid {tpid} made a thread, and the log follows one task (strace without -f): from the \
                 first call the model cannot explain, the replay follows that address space"
            ));
        }
    }

    /// A maps read of `target` that the model's text does not match, where the process's
    /// other threads are not traced (see [`Self::others_untraced`]): from here on the replay
    /// follows that address space, and the read is not checkable. True when so.
    pub(super) fn maps_changed_by_untraced(&mut self, reader: TracePid, target: TracePid, line: u64) -> bool {
        if !self.others_untraced(target) {
            return false;
        }
        let Some(pid) = self.procs.get(&target).map(|p| p.pid) else { return false };
        let Ok(id) = self.k.mm_id(pid) else { return false };
        self.blind.insert(id);
        self.unchecked(MAPS_READ);
        self.report.notes.push(format!(
            "line {line}: pid {reader}'s maps read shows an address space the model does not have, and strace -p \
             without -f traced one thread of a process whose other threads' calls are not in the trace: from \
             here on the replay follows that address space"
        ));
        true
    }

    /// A read of `target`'s maps, at `pos` of the model's `text`, showing `data`: when the
    /// process appeared with no execve and no call creating it, and the model's text is not
    /// what the read shows, the read shows an address space the model does not have: from
    /// here on the replay follows it (the read and those after it are not compared).
    pub(super) fn maps_show_unseen_start(
        &mut self,
        target: TracePid,
        line: u64,
        text: Option<&str>,
        pos: u64,
        data: &[u8],
    ) {
        let Some(id) = self.space_of(target) else { return };
        if !self.hidden.unshown_starts.contains(&id) || self.blind.contains(&id) {
            return;
        }
        let model = text.map(str::as_bytes).and_then(|t| t.get(usize::try_from(pos).ok()?..)).unwrap_or(&[]);
        if model.starts_with(data) {
            return;
        }
        self.blind.insert(id);
        self.report.notes.push(format!(
            "line {line}: pid {target}'s maps read shows an address space the model does not have, and the trace \
             does not show how that process started: from here on the replay follows that address space"
        ));
    }

    /// After a mismatch of the mmap `c` the kernel placed: where the log's address is on a
    /// mapping the model still has, and the log shows no munmap, or no mremap, at all, such
    /// a log is taken to show every one (a program that never unmaps, or a log edited to map
    /// over a live mapping, must not pass), but a filter that hides them (`-e trace=!munmap`,
    /// an explicit list without mremap) gives the same log; the report says so once.
    pub(super) fn note_removal_unseen(&mut self, tpid: TracePid, line: u64, c: &Syscall) {
        let shown = self.ids.shown_calls();
        let hidden =
            [(MapCall::Munmap, "munmap"), (MapCall::Mremap, "mremap")].into_iter().find(|(m, _)| !shown.shows(*m));
        let Some((_, name)) = hidden.filter(|_| !self.hidden.removal_unseen_noted) else { return };
        let (Ret::Value(at), Some(len)) = (&c.ret, c.arg_u64(1)) else { return };
        let end = at.saturating_add(len.div_ceil(PAGE_SIZE).saturating_mul(PAGE_SIZE));
        let Ok(mm) = self.k.mm(self.mpid(tpid)) else { return };
        if mm.vmas.range(*at, end).next().is_none() {
            return;
        }
        self.hidden.removal_unseen_noted = true;
        self.report.notes.push(format!(
            "line {line}: the log shows no {name} at all, so an mmap the kernel placed over a mapping it shows \
             made is a mismatch; if it was recorded with a filter that hides {name}, the calls it hid may explain \
             the placements found different"
        ));
    }

    /// In the address space of a process the trace attached to (or whose execve it hides),
    /// whether a mapping may have gone by a call the trace does not show: the log shows no
    /// munmap at all, or it hides calls (see [`Hidden::calls_hidden`]) and may hide every
    /// mremap (see [`crate::ShownCalls::mremap_may_be_hidden`]).
    pub(super) fn removals_hidden(&self) -> bool {
        let shown = self.ids.shown_calls();
        !shown.shows(MapCall::Munmap) || (self.hidden.calls_hidden && shown.mremap_may_be_hidden())
    }

    /// After a copy into task `tpid`'s memory that faulted in the model: when its address
    /// space may hold memory the model lacks (its start, or calls changing it, out of the
    /// trace's sight), the copy is counted as not checkable, and true is returned.
    pub(super) fn fault_unseen_memory(&mut self, tpid: TracePid) -> bool {
        let unseen = self.unseen_start(tpid) || self.blind_task(tpid);
        if unseen {
            self.unchecked(UNSEEN_START);
        }
        unseen
    }

    /// Whether task `tpid`'s address space is one whose start the trace does not show.
    pub(super) fn blind_task(&self, tpid: TracePid) -> bool {
        self.space_of(tpid).is_some_and(|id| self.blind.contains(&id))
    }

    /// A read of `target`'s maps that cannot be compared; true when that is so.
    pub(super) fn blind_maps_read(&mut self, target: TracePid) -> bool {
        let blind = self.blind_task(target);
        if blind {
            self.unchecked(MAPS_READ);
        }
        blind
    }

    /// Counts one check the trace cannot decide, under `what` (the report's reason).
    pub(super) fn unchecked(&mut self, what: &str) {
        *self.report.unchecked.entry(what.to_string()).or_default() += 1;
    }

    /// Whether the model maps every page of `[start, start + len)` of task `tpid`.
    fn all_known(&self, tpid: TracePid, start: u64, len: u64) -> bool {
        let Ok(mm) = self.k.mm(self.mpid(tpid)) else { return false };
        let end = start.saturating_add(len.div_ceil(PAGE_SIZE).saturating_mul(PAGE_SIZE));
        let mut at = start;
        for v in mm.vmas.range(start, end) {
            if v.start > at {
                return false;
            }
            at = v.end;
        }
        at >= end
    }

    /// In a trace that hid calls, whether call `c` shows that the address space is not what
    /// the model has: an mmap the kernel placed elsewhere than the model would (a hidden
    /// munmap, brk, ... explains that), a break the model never had (a hidden execve), a
    /// call that succeeded on a range the model does not map. Then from there on the replay follows that
    /// address space (`Some(false)`: `c` is still to do). An mmap placed where the model
    /// puts it is done and checked as usual (`Some(true)`). `None`: nothing to see.
    fn hidden_changes(&mut self, tpid: TracePid, line: u64, c: &Syscall) -> Option<bool> {
        let pid = self.mpid(tpid);
        let id = self.k.mm_id(pid).ok()?;
        if c.name == "brk" {
            // A break the model never had (the execve that set it is not in the trace):
            // the result gives it.
            let Ret::Value(now) = c.ret else { return None };
            if self.k.mm(pid).ok()?.start_brk != 0 {
                return None;
            }
            self.k.adopt_heap(pid, now, now).ok()?;
            if self.bind_attached_brk(tpid, line, c) {
                return Some(true);
            }
            self.unchecked(UNSEEN_START);
            return Some(true);
        }
        // A process attached to (`strace -p`) is learned by the runs (see `learn`), until
        // its start is known; then, where strace traced only one of its threads, the others'
        // calls are what the trace hides.
        let untraced = self.others_untraced(tpid);
        let attached = self.execs.get(&id).is_some_and(|e| e.line == super::ATTACHED);
        // A log that shows no mmap at all, of a process with mappings the model lacks (a
        // library's, say), is one that hides them: `-e trace=!mmap`. (In a log that shows
        // mmap calls, every one is there, and a call on a range none of them made is a
        // contradiction, checked as such. A log that shows no munmap cannot be told from
        // one edited to map over a live mapping: see [`Replayer::note_removal_unseen`].)
        let mmaps_hidden = !self.ids.shown_calls().shows(MapCall::Mmap);
        if !untraced && (!(self.hidden.calls_hidden || mmaps_hidden) || attached) {
            return None;
        }
        let arg = |i| c.arg_u64(i).unwrap_or(0);
        match c.name.as_ref() {
            "mmap" | "mmap2" => {
                let flags = c.arg(3).and_then(Arg::flags_value_known).map_or(0, |(v, _)| v);
                let Ret::Value(want) = c.ret else { return None };
                if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0 {
                    return None;
                }
                let (what, got) = self.maps_call(tpid, c);
                self.learn_from_result(tpid, line, c, (0, 0), &got);
                if got == Ok(want) {
                    self.check(line, what, &c.ret, got);
                    return Some(true);
                }
                if let Ok(at) = got {
                    let _ = self.k.munmap(pid, at, arg(1));
                }
            }
            "mprotect" | "pkey_mprotect" | "madvise" | "mlock" | "munlock" | "mlock2" | "msync" | "mincore"
            | "mremap" => {
                // Success on a range the model does not map; an error it explains itself.
                if c.ret.value().is_none() || self.all_known(tpid, arg(0), arg(1)) {
                    return None;
                }
                // A layout unknown (the program's RELRO made read-only gives the load bias)
                // is learned from the call as in a whole trace; the next run then maps there.
                self.learn_from_result(tpid, line, c, (0, 0), &Err(Errno::ENOMEM));
            }
            _ => return None,
        }
        {
            self.blind.insert(id);
            self.unchecked(HIDDEN);
            let why = if untraced {
                "strace without -f traced one thread of a process whose other threads' calls are not in the \
                 trace"
            } else {
                "the trace hides calls"
            };
            self.report.notes.push(format!(
                "line {line}: pid {tpid}'s {} shows an address space the model does not have, and {why}: from \
                 here on the replay follows that address space",
                c.name
            ));
        }
        Some(false)
    }

    /// Replays call `c` of task `tpid` when its address space is one whose start the trace
    /// does not show; returns false when the call is to be replayed (and checked) as usual.
    pub(super) fn blind_call(&mut self, tpid: TracePid, line: u64, c: &Syscall) -> bool {
        if !self.blind_task(tpid) {
            match self.hidden_changes(tpid, line, c) {
                None => return false,
                Some(done) if done => return true,
                Some(_) => {}
            }
        }
        let pid = self.mpid(tpid);
        let arg = |i| c.arg_u64(i).unwrap_or(0);
        match c.name.as_ref() {
            "mmap" | "mmap2" => {
                let Ret::Value(at) = c.ret else {
                    // Which error the kernel gave may depend on what the trace does not show.
                    self.unchecked(UNSEEN_START);
                    return true;
                };
                let flags = c.arg(3).and_then(Arg::flags_value_known).map_or(0, |(v, _)| v);
                let len = arg(1).div_ceil(PAGE_SIZE).saturating_mul(PAGE_SIZE);
                let placed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) == 0;
                if placed {
                    self.unchecked(PLACEMENT);
                }
                let shown = self.ids.shown_calls();
                if placed && shown.shows(MapCall::Munmap) && !shown.mremap_may_be_hidden() {
                    // The kernel put it in a hole: nothing the trace mapped (and did not
                    // unmap or move away: munmap calls are traced, all of them since some
                    // are, and so are mremaps) may be there.
                    let over = self
                        .k
                        .mm(pid)
                        .ok()
                        .and_then(|mm| mm.vmas.range(at, at.saturating_add(len)).next().map(|v| (v.start, v.end)));
                    match over {
                        None => self.report.passed += 1,
                        Some((s, e)) => self.mismatch(Mismatch {
                            line,
                            call: "mmap".into(),
                            expected: format!("{at:#x} (in a hole)"),
                            got: format!("a mapping at {s:#x}-{e:#x} that the trace made there and did not unmap"),
                            diff: None,
                            cause: None,
                        }),
                    }
                }
                let mut fixed = c.clone();
                if fixed.args.len() > 3 {
                    fixed.args[0] = Arg::Int(at);
                    fixed.args[3] = Arg::Int((flags & !MAP_FIXED_NOREPLACE) | MAP_FIXED);
                }
                let (_, got) = self.maps_call(tpid, &fixed);
                if got != Ok(at) {
                    self.unchecked(UNSEEN_START);
                }
                true
            }
            "munmap" => false,
            "mprotect" | "pkey_mprotect" | "madvise" | "mlock" | "munlock" | "mlock2" | "msync" | "mincore"
                if self.all_known(tpid, arg(0), arg(1)) =>
            {
                false
            }
            "mremap" if self.all_known(tpid, arg(0), arg(1)) => false,
            "mprotect" | "pkey_mprotect" | "madvise" | "mlock" | "munlock" | "mlock2" | "msync" | "mincore" => {
                self.unchecked(UNSEEN_START);
                true
            }
            "mremap" => {
                // Moved or grown from a range the trace never showed: it is now at the result.
                if let Ret::Value(new) = c.ret {
                    let _ = self.k.munmap(pid, arg(0), arg(1));
                    let anon = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
                    let _ = self.k.mmap(pid, new, arg(2), PROT_READ | PROT_WRITE, anon, -1, 0);
                }
                self.unchecked(UNSEEN_START);
                true
            }
            "shmat" if arg(1) == 0 => {
                // Placed by the kernel among mappings the trace does not show: it goes where
                // the trace says, if that is free.
                let Ret::Value(at) = c.ret else {
                    self.unchecked(UNSEEN_START);
                    return true;
                };
                let flags = c.arg(2).and_then(Arg::flags_value_known).map_or(0, |(v, _)| v) & !SHM_REMAP;
                let got = self.k.shmat(pid, c.arg_i64(0).unwrap_or(-1), at, flags);
                self.unchecked(if got == Ok(at) { PLACEMENT } else { UNSEEN_START });
                true
            }
            "shmdt" => {
                // The attach may be one the process had before the trace showed it (a fork
                // the trace does not show passed it down): what the model has is checked.
                let got = self.apply(pid, c);
                if got.ok() == c.ret.value() {
                    self.report.passed += 1;
                } else {
                    self.unchecked(UNSEEN_START);
                }
                true
            }
            "brk" => {
                if let (Ret::Value(now), Ok(mm)) = (&c.ret, self.k.mm(pid)) {
                    let known = mm.start_brk != 0;
                    if known {
                        let _ = self.k.brk(pid, arg(0));
                    }
                    if let Ok(mm) = self.k.mm(pid) {
                        let start = if known { mm.start_brk } else { *now };
                        let _ = self.k.adopt_heap(pid, start, *now);
                    }
                }
                self.unchecked(UNSEEN_START);
                true
            }
            _ => false,
        }
    }
}
