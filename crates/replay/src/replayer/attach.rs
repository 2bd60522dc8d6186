//! A process the trace attached to (`strace -p`): no execve shows how its address space
//! was built. Its state when the trace began is an unknown ([`crate::unknowns`]):
//!
//! - a whole read of its maps (by itself, a thread, or a child forked inside the trace)
//!   shows the state at that read; the calls the trace shows between the attach and the
//!   read, in that address space and in the ones it was forked from, undone on the read's
//!   lines (see [`undo`](super::undo)), give the state at the attach, which the next run
//!   installs before the first line; later reads are checks;
//! - without one, the process starts empty, the first result that contradicts that binds
//!   that it existed before, placements go where the trace says (not checkable), and each
//!   range a call finds mapped where the model has nothing is learned as it is touched.
//!
//! `[ Process PID=N runs in 32 bit mode. ]` before its first call makes the attached
//! process an ia32 compat one.

use super::undo::{covers, effect_of, kept_apart, made_by, overlap, undo};
use super::*;
use crate::unknowns::{AttachedStart, AttachedUnknowns, MapsLine, SameProcess};
use mm::layout::page_floor;
use procfs::parse::parse_maps;

/// The key of the unknowns of a process the trace attached to (no execve line).
pub(super) const ATTACHED: u64 = 0;

/// What the report calls the checks an attached process's unseen mappings make impossible.
pub(super) const UNSEEN_PLACEMENT: &str =
    "placements and maps text of a process attached to before the trace showed its mappings";

/// The lines of a maps text when it is whole: it ends with the last mapping of an address
/// space (`[vsyscall]` of a 64-bit one, or `[stack]`, the highest of a 32-bit one, after
/// which a 64-bit text has only `[vsyscall]`, which is not installed).
fn whole_maps(text: &str) -> Option<Vec<MapsLine>> {
    let text = &text[..text.rfind('\n')? + 1];
    let lines = parse_maps(text);
    let last = lines.last()?;
    matches!(last.name.as_str(), "[vsyscall]" | "[stack]").then_some(lines)
}

/// The task a `[ Process PID=N runs in 32 bit mode. ]` line is about.
pub(super) fn runs_in_32_bit_mode(text: &str) -> Option<TracePid> {
    let rest = text.trim().strip_prefix("[ Process PID=")?;
    let (pid, mode) = rest.split_once(' ')?;
    (mode.trim_end() == "runs in 32 bit mode. ]").then_some(TracePid(pid.parse().ok()?))
}

/// Whether a call named `name` is one of those that make, replace or end tasks, which a
/// filter that hides how a task began (`-e trace=memory`) hides too: a log that shows one
/// and no start of a task attached to that task (`strace -p`).
pub(super) fn a_process_call(name: &str) -> bool {
    matches!(
        name,
        "clone" | "clone3" | "fork" | "vfork" | "execve" | "execveat" | "exit" | "exit_group" | "wait4" | "waitid"
    )
}

impl Replayer {
    /// The task that began the attached process `tpid` is in (the key of its unknowns),
    /// while its address space is the one it had at the attach (no execve since).
    /// None, too, for a process this run found to be another's thread: what it would learn
    /// of its own is moot, and the next run starts it as that thread.
    pub(super) fn attached_key(&self, tpid: TracePid) -> Option<TracePid> {
        self.exec_of(tpid)
            .and_then(|(_, ctx)| ctx.attached)
            .filter(|k| !self.learned.attached_threads.contains_key(&k.0))
    }

    /// What the runs have learned of the attached process that task `key` began.
    fn attached_unknowns(&self, key: TracePid) -> Option<&AttachedUnknowns> {
        self.learned.attached.get(&key.0)
    }

    /// The unknowns of the attached process `key`, to bind one.
    fn attached_unknowns_mut(&mut self, key: TracePid) -> &mut AttachedUnknowns {
        self.learned.attached.entry(key.0).or_default()
    }

    /// Whether the attached process `key` is known to have existed before the log, and no
    /// whole maps read has shown its address space.
    fn start_unseen(&self, key: TracePid) -> bool {
        self.attached_unknowns(key).is_some_and(|u| u.start.is_none() && u.before.is_some())
    }

    /// Whether `tpid`'s process existed before the log showed how it began (attached to,
    /// or its execve filtered out) and no whole maps read has shown its address space.
    pub(super) fn unseen_start(&self, tpid: TracePid) -> bool {
        self.attached_key(tpid).is_some_and(|k| self.start_unseen(k))
    }

    /// Whether `c` is an mmap of a process the trace attached to, placed by the kernel (no
    /// MAP_FIXED), while nothing in the log has shown that process's whole address space.
    pub(super) fn placed_by_the_unknown(&self, tpid: TracePid, c: &Syscall) -> bool {
        let flags = c.arg(3).and_then(Arg::flags_value_known).map_or(0, |(v, _)| v);
        c.ret.value().is_some() && flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) == 0 && self.unseen_start(tpid)
    }

    /// A process the trace attached to: its address space existed before the first line.
    /// What earlier runs learned of it is installed now; what this run learns comes from
    /// its first maps read, or from the calls that touch it.
    pub(super) fn start_attached(&mut self, tpid: TracePid) {
        self.start_attached_as(tpid, tpid);
    }

    /// Before an `mmap2` (a call of ia32 processes only) of task `tpid`: an attached process
    /// whose address space the model has as a 64-bit one (strace did not say it runs in
    /// 32-bit mode, as with `-e raw=all`) runs in 32-bit mode; the next run starts it so.
    pub(super) fn ia32_by_its_calls(&mut self, tpid: TracePid, line: u64) {
        let Some(key) = self.attached_key(tpid) else { return };
        let Some(pid) = self.procs.get(&tpid).map(|p| p.pid) else { return };
        if self.k.mm(pid).is_ok_and(|mm| mm.space.task_size > 1 << 32) {
            let u = self.attached_unknowns_mut(key);
            if u.ia32.is_none() {
                u.ia32 = Some(Bound { value: true, line });
            }
        }
    }

    /// [`Self::start_attached`] of task `tpid`, the first of the attached process `key`
    /// (itself, or a task a run found to share its address space) to show in the log.
    fn start_attached_as(&mut self, tpid: TracePid, key: TracePid) {
        let pid = self.mpid(tpid);
        let ia32_call = self.attached_unknowns(key).is_some_and(|u| u.ia32.is_some());
        if self.compat_tasks.contains(&tpid) || ia32_call {
            // strace said the process runs in 32-bit mode, or an earlier run saw a call that
            // only ia32 processes make: an ia32 compat address space.
            let _ = self.k.adopt_space(pid, mm::UserSpace::ia32_compat(0));
        }
        let Ok(id) = self.k.mm_id(pid) else { return };
        self.attach_history.insert(id, Vec::new());
        self.attached_began.push((key, id));
        let rlimit_stack = self.k.rlimit(id, mm::Rlimit::Stack);
        let space = self.k.mm(pid).map(|m| m.space).unwrap_or_default();
        let info = mm::ExecInfo {
            entry: 0,
            sp: 0,
            load_bias: 0,
            interp_base: 0,
            auxv: Vec::new(),
            randomized: true,
            legacy_layout: false,
            rlimit_stack,
            stack_top: space.stack_top,
            start_brk: 0,
            brk_range: (0, u64::MAX),
            load_bias_range: None,
            space,
        };
        let ctx = ExecCtx {
            line: ATTACHED,
            info,
            program: None,
            interp: None,
            relro: None,
            spans: Vec::new(),
            attached: Some(key),
        };
        self.execs.insert(id, std::sync::Arc::new(ctx));
        let gap = self.k.config().stack_guard_gap;
        let known = self.attached_unknowns(key).cloned().unwrap_or_default();
        if let Some(b) = known.start {
            self.attached_installed.insert(key);
            let a = b.value;
            for v in &a.vmas {
                self.adopt_line(pid, v, a.apart.contains(&v.start));
            }
            // (A `[stack]` line ending below one page is not one Linux prints: no stack top.)
            let stack = a.vmas.iter().find(|v| v.name == "[stack]").and_then(|v| v.end.checked_sub(PAGE_SIZE));
            let heap = a.heap.or(known.brk.map(|b| (b.value, b.value)));
            let _ = self.k.adopt_layout(pid, a.mmap_base, heap, stack);
            return;
        }
        for b in known.touched {
            let (start, end, prot) = b.value;
            let v = mm::AdoptedVma { start, end, prot, shared: false, file: None, grows_down: false, apart: false };
            let _ = self.k.adopt_vma(pid, v);
        }
        if let Some(b) = self.learned.execs.get(&ATTACHED).and_then(|u| u.mmap_rnd) {
            let base = space.mmap_base(rlimit_stack, gap, true, b.value);
            let _ = self.k.adopt_layout(pid, base, None, None);
        }
    }

    /// A task of a log that attached to running processes, whose start the log does not
    /// show: strace attached to it too (`strace -f -p` attaches every thread of a process,
    /// `-p A -p B` several processes). It is a thread of the attached process a maps read
    /// showed it sharing (see `learn_attached_threads`); until then, a process of its own,
    /// whose address space at the attach is learned as the first one's is.
    pub(super) fn start_found(&mut self, tpid: TracePid, execs: bool) {
        // The process it is a thread of, as the runs found it (the task that begins it in
        // the log may come later: then this one begins it).
        let mut key = tpid;
        for _ in 0..self.learned.attached_threads.len() {
            match self.learned.attached_threads.get(&key.0) {
                Some(b) => key = TracePid(b.value.0),
                None => break,
            }
        }
        let mut live: Vec<(TracePid, Proc)> = self.procs.iter().map(|(t, p)| (*t, p.clone())).collect();
        live.sort_by_key(|(t, _)| *t);
        if let Some((_, with)) = live.into_iter().find(|(t, _)| self.attached_key(*t) == Some(key)) {
            if let Ok(pid) = self.k.clone_task(with.pid, true) {
                self.tables[with.table].members.push(tpid);
                self.procs.insert(tpid, Proc { pid, table: with.table, cwd: with.cwd });
                return;
            }
        }
        if self.new_process(tpid).is_some() && !execs {
            self.start_attached_as(tpid, key);
        }
    }

    /// Installs one mapping of an attached process as its maps line shows it.
    /// `apart`: a mapping the trace placed next to it was not merged with it (see
    /// [`mm::AdoptedVma::apart`]).
    pub(super) fn adopt_line(&mut self, pid: Pid, v: &crate::unknowns::MapsLine, apart: bool) {
        let p = v.perms.as_bytes();
        let prot = (if p.first() == Some(&b'r') { PROT_READ } else { 0 })
            | (if p.get(1) == Some(&b'w') { PROT_WRITE } else { 0 })
            | (if p.get(2) == Some(&b'x') { PROT_EXEC } else { 0 });
        let shared = p.get(3) == Some(&b's');
        let file = if learn::is_sysv_name(&v.name) {
            // A SysV attach: its segment is made with the identifier (the inode) and key
            // maps shows, as large as its mappings reach.
            let key = u32::from_str_radix(&v.name[5..13], 16).unwrap_or(0) as i32;
            let reach = v.offset.saturating_add(v.end - v.start);
            u32::try_from(v.ino).ok().and_then(|id| {
                let made_by_the_log = self.k.shm_stat(id).is_some() && !self.shm_adopted.contains(&id);
                let f = self.k.shm_adopt(key, id, reach).ok()?;
                if !made_by_the_log {
                    self.shm_adopted.insert(id);
                }
                Some((f, v.offset))
            })
        } else if v.name.starts_with('/') && v.ino != 0 {
            let path = v.name.trim_end_matches(" (deleted)").to_string();
            self.file_for(&path, &path, false).map(|f| (f, v.offset))
        } else {
            None
        };
        match v.name.as_str() {
            "[vvar]" => {
                let _ = self.k.adopt_vdso(pid, v.start);
            }
            "[vvar_vclock]" | "[vdso]" | "[vsyscall]" => {}
            _ => {
                let grows_down = v.name == "[stack]";
                let a = mm::AdoptedVma { start: v.start, end: v.end, prot, shared, file, grows_down, apart };
                if let Err(e) = self.k.adopt_vma(pid, a) {
                    self.error(format!(
                        "cannot install the attached process's mapping {:#x}-{:#x}: {e}",
                        v.start, v.end
                    ));
                }
            }
        }
    }

    /// A call of an attached task that succeeded on a range its own address space has only
    /// because an earlier run learned it was mapped before the log (`touched`), while
    /// exactly one other attached process maps it: the task is that process's thread.
    pub(super) fn note_call_on_other_memory(&mut self, tpid: TracePid, line: u64, c: &Syscall) {
        let ranged = matches!(
            c.name.as_ref(),
            "mprotect" | "pkey_mprotect" | "madvise" | "mlock" | "munlock" | "mlock2" | "msync"
        );
        if !ranged || c.ret.value().is_none() || self.attached_began.len() < 2 {
            return;
        }
        let Some(key) = self.attached_key(tpid) else { return };
        let (addr, len) = (page_floor(c.arg_u64(0).unwrap_or(0)), c.arg_u64(1).unwrap_or(0));
        let end = addr.saturating_add(len).saturating_add(PAGE_SIZE - 1) & PAGE_MASK;
        let learned = self
            .attached_unknowns(key)
            .is_some_and(|u| u.touched.iter().any(|b| b.value.0 <= addr && end <= b.value.1));
        if !learned {
            return;
        }
        let Some(owner) = self.sole_other_mapping(key, addr, end) else { return };
        // Other attached processes whose address spaces are not known may map the range
        // too: only where the owner's layout was randomized is that not to be expected
        // (processes started alike with randomization off have alike layouts).
        let randomized = self.attached_unknowns(owner).and_then(|u| u.start.as_ref()).is_some_and(|b| {
            let Some(pid) = self.live_task_of(owner) else { return false };
            let Ok(id) = self.k.mm_id(pid) else { return false };
            let (Ok(m), rlimit) = (self.k.mm(pid), self.k.rlimit(id, mm::Rlimit::Stack)) else { return false };
            b.value.mmap_base != m.space.mmap_base(rlimit, self.k.config().stack_guard_gap, false, 0)
        });
        if randomized {
            self.bind_same_process(key, owner, SameProcess::CallOnItsMemory, line);
        }
    }

    /// Notes, in the history of `tpid`'s address space, what a call it made did to its
    /// mappings, while the attach-time state is still to learn.
    pub(super) fn note_attached_effect(&mut self, tpid: TracePid, c: &Syscall) {
        let start_known = |k| self.attached_unknowns(k).is_some_and(|u| u.start.is_some());
        if self.attach_history.is_empty() || self.attached_key(tpid).map_or(true, start_known) {
            return;
        }
        let Some(p) = self.procs.get(&tpid) else { return };
        let Ok(id) = self.k.mm_id(p.pid) else { return };
        let Some(history) = self.attach_history.get_mut(&id) else { return };
        if let Some(e) = crate::call::call_of(c).and_then(|call| effect_of(&call, c.ret.value())) {
            history.push(e);
        }
    }

    /// The first brk call of an attached process whose whole maps read showed no heap: with
    /// none, the break was at the heap's start, and a call that did not move it (brk(NULL),
    /// or one that failed) shows where. True when that binds it.
    pub(super) fn bind_attached_brk(&mut self, tpid: TracePid, line: u64, c: &Syscall) -> bool {
        let Some(key) = self.attached_key(tpid) else { return false };
        let Some(u) = self.attached_unknowns(key) else { return false };
        let (Some(a), None) = (&u.start, u.brk) else { return false };
        let Some(now) = c.ret.value() else { return false };
        let unmoved = c.arg_u64(0).is_some_and(|arg| arg == 0 || arg != now);
        if a.value.heap.is_some() || !unmoved {
            return false;
        }
        self.attached_unknowns_mut(key).brk = Some(Bound { value: now, line });
        true
    }

    /// A process forked inside the trace from an attached one: its history so far is its
    /// parent's.
    pub(super) fn fork_attached_history(&mut self, from: MmId, to: MmId) {
        if let Some(h) = self.attach_history.get(&from).cloned() {
            self.attach_history.insert(to, h);
        }
    }

    /// After an execve: the address space is a known one from now on.
    pub(super) fn end_attached_history(&mut self, id: MmId) {
        self.attach_history.remove(&id);
    }

    /// A result of a call of an attached process (no execve line) that the model did not
    /// predict. The process is taken to start empty, with the layout of a fresh exec, until
    /// a result shows it had mappings before the log; then, until a maps read shows them,
    /// an mmap goes where the trace says, and a range a call finds mapped where the model
    /// has nothing is learned as a mapping that existed before.
    pub(super) fn learn_attached_result(
        &mut self,
        tpid: TracePid,
        line: u64,
        c: &Syscall,
        want: Result<u64, ()>,
        got: &SysResult<u64>,
    ) {
        let contradicted = match (want, got) {
            (Ok(a), Ok(b)) => a != *b,
            (Ok(_), Err(_)) | (Err(_), Ok(_)) => true,
            _ => false,
        };
        let Some(key) = self.attached_key(tpid) else { return };
        let known = self.attached_unknowns(key).cloned().unwrap_or_default();
        if contradicted && known.before.is_none() {
            self.attached_unknowns_mut(key).before = Some(Bound { value: true, line });
        }
        if known.start.is_some() {
            return;
        }
        let pid = self.mpid(tpid);
        let (addr, len) = (c.arg_u64(0).unwrap_or(0), c.arg_u64(1).unwrap_or(0));
        // The end of the range a call found mapped, where the model has nothing; a range
        // past the end of user space (a log edited to an absurd length) was never mapped,
        // and binds nothing.
        let end = addr.saturating_add(len).saturating_add(PAGE_SIZE - 1) & PAGE_MASK;
        let user_range = addr.checked_add(len).is_some_and(|e| self.k.mm(pid).is_ok_and(|m| e <= m.space.task_size));
        let flags = c.arg(3).and_then(Arg::flags_value_known).map_or(0, |(v, _)| v);
        match (c.name.as_ref(), want, got) {
            ("mmap" | "mmap2", Ok(at), Ok(model_at)) if at != *model_at && flags & MAP_FIXED == 0 => {
                // The model's empty start put it elsewhere: it goes where the trace says,
                // so that the calls on it that follow find it.
                let _ = self.k.munmap(pid, *model_at, len);
                let mut placed = c.clone();
                if placed.args.len() > 3 {
                    placed.args[0] = Arg::Int(at);
                    placed.args[3] = Arg::Int(flags | MAP_FIXED_NOREPLACE);
                }
                let _ = self.maps_call(tpid, &placed);
            }
            ("mprotect" | "pkey_mprotect" | "madvise" | "mlock" | "munlock" | "mlock2" | "msync", Ok(_), Err(_))
                if user_range =>
            {
                // Success on a range the model does not map (the trace's own mappings are
                // where the trace put them): it was mapped before the trace.
                let prot = if c.name.contains("mprotect") {
                    c.arg(2).and_then(Arg::flags_value).unwrap_or(0)
                } else {
                    PROT_READ | PROT_WRITE
                };
                self.attached_unknowns_mut(key).touched.push(Bound { value: (page_floor(addr), end, prot), line });
            }
            ("mremap", Ok(_), Err(_)) if page_floor(addr) == addr && len > 0 && user_range => {
                // Grown, shrunk or moved from a range the model does not map: the old range
                // was mapped before the trace. Taken for memory a program reads and writes
                // (what it grows with mremap: a heap's large blocks); the call does not say.
                let value = (addr, end, PROT_READ | PROT_WRITE);
                self.attached_unknowns_mut(key).touched.push(Bound { value, line });
            }
            _ => {}
        }
    }

    /// A whole maps read `read` of the address space `id` of the attached process `key`:
    /// another task of the log whose start it does not show (begun as a process of its
    /// own) shares that address space when the read shows every mapping that task made
    /// and still has, and none of them is where `key`'s own calls mapped (two mappings
    /// cannot be at one place in one address space). Binds the later-begun task to the
    /// earlier; true when one was bound.
    fn learn_attached_threads(&mut self, key: TracePid, id: MmId, read: &[MapsLine], line: u64) -> bool {
        let made = |r: &Self, id: MmId| r.attach_history.get(&id).map(|h| made_by(h)).unwrap_or_default();
        let own = made(self, id);
        let mut shown: Vec<(TracePid, Vec<(u64, u64)>)> = Vec::new();
        for (other, theirs_id) in self.attached_began.clone() {
            if other == key || theirs_id == id || self.learned.attached_threads.contains_key(&other.0) {
                continue;
            }
            // (The other task may have exited since: what it made then went with it, unless
            // it shared this address space.)
            let theirs = made(self, theirs_id);
            if !theirs.is_empty() && covers(read, &theirs) && !overlap(&own, &theirs) {
                shown.push((other, theirs));
            }
        }
        let mut bound = false;
        for (other, theirs) in &shown {
            // Two tasks that made mappings at one place are not both in this address space
            // (processes started alike, with randomization off, map alike): neither is taken.
            if shown.iter().any(|(o, t)| o != other && overlap(t, theirs)) {
                continue;
            }
            bound |= self.bind_same_process(key, *other, SameProcess::MapsRead, line);
        }
        self.attached_regrouped |= bound;
        bound
    }

    /// In a log that attached to running processes, what the exits show of who shares an
    /// address space: a task that ends (`+++ exited`) without having called exit or
    /// exit_group itself was ended by another thread of its group calling exit_group, so
    /// while exactly one task's exit_group is under way, the two are threads of one
    /// process. Binds the later-begun one's process to the earlier's (see
    /// `learn_attached_threads`).
    pub(super) fn note_exits(&mut self, tpid: TracePid, ev: &Event) {
        let name = match &ev.kind {
            EventKind::CallStarted { name, .. } => name.as_str(),
            EventKind::Syscall(c) => c.name.as_ref(),
            EventKind::Exited { .. } => {
                self.exiting_groups.retain(|&t| t != tpid);
                if !self.own_exit.contains(&tpid) {
                    if let [by] = self.exiting_groups[..] {
                        if let (Some(a), Some(b)) = (self.attached_key(tpid), self.attached_key(by)) {
                            self.bind_same_process(a, b, SameProcess::ExitGroup, ev.line);
                        }
                    }
                }
                return;
            }
            EventKind::Killed { .. } => {
                self.exiting_groups.retain(|&t| t != tpid);
                return;
            }
            _ => return,
        };
        match name {
            "exit" => {
                self.own_exit.insert(tpid);
            }
            "exit_group" => {
                self.own_exit.insert(tpid);
                if !self.exiting_groups.contains(&tpid) {
                    self.exiting_groups.push(tpid);
                }
            }
            _ => {}
        }
    }

    /// Whether task `tpid`, unknown to the replay, whose first line is its end, was there
    /// before the log (attached to) rather than made by a clone still under way.
    pub(super) fn creation_hidden_at_exit(&self, tpid: TracePid) -> bool {
        !self.pending.contains_key(&tpid)
            && !self
                .in_progress
                .values()
                .any(|(name, _, _)| matches!(name.as_str(), "clone" | "clone3" | "fork" | "vfork"))
    }

    /// A task attached to whose only line is its end (`+++ exited`), as an idle thread
    /// blocked in a call strace did not print shows: with no exit or exit_group of its
    /// own, it was ended by the one exit_group under way, so it was a thread of that
    /// process. That is bound; nothing else of it is known or needed.
    pub(super) fn unseen_task_exited(&mut self, tpid: TracePid, line: u64) {
        let [by] = self.exiting_groups[..] else { return };
        let Some(key) = self.attached_key(by) else { return };
        if key == tpid || self.learned.attached_threads.contains_key(&tpid.0) {
            return;
        }
        self.learned.attached_threads.insert(tpid.0, Bound { value: (key.0, SameProcess::ExitGroup), line });
    }

    /// The attached processes begun by tasks `a` and `b` are one, as line `line` shows
    /// (`why`): the later-begun is bound to be a thread of the earlier. True when bound.
    fn bind_same_process(&mut self, a: TracePid, b: TracePid, why: SameProcess, line: u64) -> bool {
        let order = |t: TracePid| self.attached_began.iter().position(|&(x, _)| x == t);
        let (Some(oa), Some(ob)) = (order(a), order(b)) else { return false };
        if a == b {
            return false;
        }
        let (later, earlier) = if oa > ob { (a, b) } else { (b, a) };
        if self.learned.attached_threads.contains_key(&later.0) {
            return false;
        }
        // What one side learned of the process's start stands for both when the other
        // side's calls changed no mapping; otherwise it is learned again with them.
        let changed = |t: TracePid| {
            let id = self.attached_began.iter().find(|&&(x, _)| x == t).map(|&(_, id)| id);
            id.and_then(|id| self.attach_history.get(&id)).is_some_and(|h| !h.is_empty())
        };
        let (later_changed, earlier_changed) = (changed(later), changed(earlier));
        let theirs = self.learned.attached.remove(&later.0).unwrap_or_default();
        let ours = self.learned.attached.entry(earlier.0).or_default();
        if ours.start.is_none() && theirs.start.is_some() && !earlier_changed {
            ours.start = theirs.start;
            ours.brk = theirs.brk;
        } else if later_changed {
            ours.start = None;
            ours.brk = None;
        }
        if ours.before.is_none() {
            ours.before = theirs.before;
        }
        if ours.start.is_some() {
            // The whole address space supersedes what single calls showed of it.
            ours.touched.clear();
        }
        self.learned.attached_threads.insert(later.0, Bound { value: (earlier.0, why), line });
        self.attached_regrouped = true;
        true
    }

    /// A task still alive in the attached process that task `key` began, and its model pid.
    fn live_task_of(&self, key: TracePid) -> Option<Pid> {
        let mut live: Vec<(&TracePid, &Proc)> = self.procs.iter().collect();
        live.sort_by_key(|(t, _)| **t);
        live.into_iter().find(|(t, _)| self.attached_key(**t) == Some(key)).map(|(_, p)| p.pid)
    }

    /// The one attached process other than `key`'s that maps all of `[start, end)`, when
    /// exactly one does.
    fn sole_other_mapping(&self, key: TracePid, start: u64, end: u64) -> Option<TracePid> {
        let maps_whole = |pid: Pid| {
            let Ok(m) = self.k.mm(pid) else { return false };
            let mut at = start;
            for v in m.vmas.range(start, end) {
                if v.start > at {
                    return false;
                }
                at = v.end;
            }
            at >= end
        };
        let mut found: Option<TracePid> = None;
        for &(other, _) in &self.attached_began {
            if other == key || self.attached_key(other).is_some_and(|k| k != other) {
                continue;
            }
            let Some(pid) = self.live_task_of(other) else { continue };
            if !maps_whole(pid) {
                continue;
            }
            if found.is_some() {
                return None;
            }
            found = Some(other);
        }
        found
    }

    /// A read of an attached process's maps before its state at the attach is known: the
    /// text read so far from offset 0 by `reader` (`pos`: where this read began in the
    /// log's text), once whole, gives it (see [`undo`]).
    pub(super) fn learn_attached_start(
        &mut self,
        reader: TracePid,
        target: TracePid,
        line: u64,
        pos: u64,
        data: &[u8],
    ) {
        let Some(key) = self.attached_key(target) else { return };
        if !self.start_unseen(key) || !self.verify() || self.attached_regrouped {
            return;
        }
        let seen = self.maps_seen.entry((reader, target)).or_default();
        if pos == 0 {
            seen.clear();
        }
        if pos != seen.len() as u64 {
            return;
        }
        seen.push_str(&String::from_utf8_lossy(data));
        let Some(read) = whole_maps(seen) else { return };
        let Some(pid) = self.procs.get(&target).map(|p| p.pid) else { return };
        let (Ok(id), Ok(task_size)) = (self.k.mm_id(pid), self.k.mm(pid).map(|m| m.space.task_size)) else { return };
        if self.learn_attached_threads(key, id, &read, line) {
            // The read's address space is that of several tasks begun apart: the next run
            // starts them as one process and undoes all their calls.
            return;
        }
        let Some(history) = self.attach_history.get(&id) else { return };
        let (vmas, heap) = undo(&read, history);
        // The mmap area ends where the highest mapping below the stack ends (the
        // interpreter, or the vDSO of a static program, went first below mmap_base).
        let stack_start = vmas.iter().find(|v| v.name == "[stack]").map_or(task_size, |v| v.start);
        let mmap_base = vmas.iter().filter(|v| v.end <= stack_start).map(|v| v.end).max().unwrap_or(task_size);
        // The identities maps shows are the files'.
        for v in &vmas {
            if v.name.starts_with('/') && v.ino != 0 && self.ids.get(&v.name).is_none() && !learn::is_sysv_name(&v.name)
            {
                let id = Identity { major: v.major, minor: v.minor, ino: v.ino };
                self.learned.files.entry(v.name.clone()).or_insert(Bound { value: id, line });
            }
        }
        let undone = history.len();
        let apart = kept_apart(&read, history, &vmas);
        let u = self.attached_unknowns_mut(key);
        u.start = Some(Bound { value: AttachedStart { vmas, mmap_base, heap, undone, apart }, line });
        // The whole address space supersedes what single calls showed of it.
        u.touched.clear();
    }
}
