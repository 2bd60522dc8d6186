//! Tasks and processes: the first task, execve (with `#!` scripts), clone/fork/vfork, exits,
//! and the stack limit a task sets for itself and its children.

use super::*;

pub(super) const CLONE_VM: u64 = 0x100;
pub(super) const CLONE_FILES: u64 = 0x400;
pub(super) const CLONE_VFORK: u64 = 0x4000;
pub(super) const SIGCHLD_FLAGS: u64 = 17;

/// Flag names of clone that the abi tables do not have.
pub(super) trait CloneFlags {
    fn flags_value_with_clone(&self) -> Option<u64>;
}

impl CloneFlags for Arg {
    fn flags_value_with_clone(&self) -> Option<u64> {
        self.flags_value_with(|name| {
            Some(match name {
                "CLONE_VM" => CLONE_VM,
                "CLONE_FS" => 0x200,
                "CLONE_FILES" => CLONE_FILES,
                "CLONE_SIGHAND" => 0x800,
                "CLONE_PIDFD" => 0x1000,
                "CLONE_PTRACE" => 0x2000,
                "CLONE_VFORK" => CLONE_VFORK,
                "CLONE_PARENT" => 0x8000,
                "CLONE_THREAD" => 0x10000,
                "CLONE_NEWNS" => 0x20000,
                "CLONE_SYSVSEM" => 0x40000,
                "CLONE_SETTLS" => 0x80000,
                "CLONE_PARENT_SETTID" => 0x10_0000,
                "CLONE_CHILD_CLEARTID" => 0x20_0000,
                "CLONE_DETACHED" => 0x40_0000,
                "CLONE_UNTRACED" => 0x80_0000,
                "CLONE_CHILD_SETTID" => 0x100_0000,
                "CLONE_NEWCGROUP" => 0x200_0000,
                "CLONE_NEWUTS" => 0x400_0000,
                "CLONE_NEWIPC" => 0x800_0000,
                "CLONE_NEWUSER" => 0x1000_0000,
                "CLONE_NEWPID" => 0x2000_0000,
                "CLONE_NEWNET" => 0x4000_0000,
                "CLONE_IO" => 0x8000_0000,
                _ if name.starts_with("SIG") => 0,
                _ => return abi::constant(name),
            })
        })
    }
}

/// The memory limit a prlimit64/getrlimit/setrlimit names, by name or (`-X raw`) by number.
pub(super) fn rlimit_resource(arg: &Arg) -> Option<mm::Rlimit> {
    let number = match arg.as_ident() {
        Some("RLIMIT_DATA") => 2,
        Some("RLIMIT_STACK") => 3,
        Some("RLIMIT_MEMLOCK") => 8,
        Some("RLIMIT_AS") => 9,
        Some(_) => return None,
        None => arg.as_u64()?,
    };
    mm::Rlimit::from_resource(number)
}

/// A limit as strace prints it: a number, `N*1024`, or RLIM64_INFINITY.
pub(super) fn rlim_value(cur: &Arg) -> Option<u64> {
    match cur.as_ident() {
        Some("RLIM64_INFINITY") | Some("RLIM_INFINITY") => Some(u64::MAX),
        _ => match cur.as_u64() {
            Some(v) => Some(v),
            None => {
                // strace prints multiples of 1024 as `N*1024`.
                let text = format!("{cur:?}");
                let digits: String = text.chars().filter(|ch| ch.is_ascii_digit() || *ch == '*').collect();
                let mut it = digits.split('*').filter_map(|d| d.parse::<u64>().ok());
                match (it.next(), it.next()) {
                    (Some(a), Some(b)) => Some(a.saturating_mul(b)),
                    (Some(a), None) => Some(a),
                    _ => None,
                }
            }
        },
    }
}

pub(super) fn shebang(head: &[u8]) -> Option<(String, Option<String>)> {
    let rest = head.strip_prefix(b"#!")?;
    let line = rest.split(|&b| b == b'\n').next()?;
    let line = String::from_utf8_lossy(line);
    let line = line.trim_matches(|c| c == ' ' || c == '\t');
    let (interp, arg) = match line.find([' ', '\t']) {
        Some(i) => (&line[..i], Some(line[i..].trim_matches(|c| c == ' ' || c == '\t').to_string())),
        None => (line, None),
    };
    (!interp.is_empty()).then(|| (interp.to_string(), arg.filter(|a| !a.is_empty())))
}

/// The clone flags of `c`, a clone, clone3, fork or vfork (its start or its whole line).
fn clone_flags(c: &Syscall) -> u64 {
    match c.name.as_ref() {
        "fork" => SIGCHLD_FLAGS,
        "vfork" => CLONE_VM | CLONE_VFORK,
        // `-e verbose=none` prints the argument structure as an address: taken for a
        // thread's (see `Replayer::clone`).
        "clone3" if clone3_flags_unshown(c) => CLONE_VM | CLONE_FILES,
        "clone3" => c.arg(0).and_then(|a| a.field("flags")).and_then(Arg::flags_value_with_clone).unwrap_or(0),
        _ => c.arg_named("flags").or_else(|| c.arg(1)).and_then(Arg::flags_value_with_clone).unwrap_or(0),
    }
}

/// Whether `c`, a clone3, shows its argument structure as an address (`-e verbose=none`).
fn clone3_flags_unshown(c: &Syscall) -> bool {
    c.arg(0).is_some_and(|a| a.as_u64().is_some())
}

impl Replayer {
    /// Gives the model the recording kernel's compat vDSO image, where known, before the
    /// first exec of a 32-bit program (reading this machine's runs a 32-bit child, so only
    /// traces with ia32 processes pay for it).
    fn load_vdso32_image(&mut self) {
        let config = self.k.config();
        if config.vdso32_image.is_some() || self.vdso32_tried {
            return;
        }
        self.vdso32_tried = true;
        let pages = config.vdso.vdso_pages;
        let image = self.files.vdso32_image().filter(|img| img.len() as u64 == pages * abi::PAGE_SIZE);
        self.k.config_mut().vdso32_image = image;
    }
}

impl Replayer {
    pub(super) fn start_root(&mut self, tpid: TracePid) {
        self.root = Some(tpid);
        let Some(pid) = self.new_process(tpid) else { return };
        // And what the log showed of its limits and personality from before it started.
        if let Some(b) = self.learned.start_rlimit_stack {
            let _ = self.k.setrlimit(pid, mm::Rlimit::Stack, b.value);
        }
        let unlimited = self.learned.start_rlimit_stack.is_some_and(|b| b.value == u64::MAX);
        if self.learned.start_legacy.is_some_and(|b| b.value) && !unlimited {
            let _ = self.k.personality(pid, u64::from(ADDR_COMPAT_LAYOUT));
        }
    }

    /// Starts task `tpid` as a process of its own with an empty address space, the standard
    /// descriptors (a traced program inherits stdin, stdout and stderr), in the directory
    /// the first task started in.
    pub(super) fn new_process(&mut self, tpid: TracePid) -> Option<Pid> {
        let pid = match self.k.spawn_empty("strace-child") {
            Ok(p) => p,
            Err(e) => {
                self.error(format!("cannot create task {tpid}: {e}"));
                return None;
            }
        };
        let cwd = self.start_cwd();
        self.tables.push(FdTable { members: vec![tpid], ..FdTable::default() });
        self.procs.insert(tpid, Proc { pid, table: self.tables.len() - 1, cwd });
        for fd in 0..3 {
            self.install_other(tpid, fd, false);
        }
        Some(pid)
    }

    /// A line of task `tpid` after its exit on line `exit`, which no clone has reused.
    pub(super) fn after_exit(&mut self, line: u64, tpid: TracePid, exit: u64) {
        self.error_at(line, 1, format!("task {tpid} exited on line {exit}; it has no lines after that"));
    }

    pub(super) fn task_exit(&mut self, tpid: TracePid) {
        self.in_progress.remove(&tpid);
        self.applied_early.remove(&tpid);
        self.ended_during.remove(&tpid);
        self.read_starts.remove(&tpid);
        let Some(p) = self.procs.remove(&tpid) else { return };
        self.tables[p.table].members.retain(|&m| m != tpid);
        // A task the model's OOM killer ended has exited already.
        let ended = self.k.task(p.pid).is_some_and(|t| t.exit_code.is_some());
        if let (false, Err(e)) = (ended, self.k.exit(p.pid, 0)) {
            self.error(format!("exit of task {tpid}: {e}"));
        }
        let _ = self.k.reap(p.pid);
    }

    pub(super) fn execve(&mut self, tpid: TracePid, line: u64, c: &Syscall) {
        let Some(file) = c.arg_str(0).map(|p| String::from_utf8_lossy(p).into_owned()) else {
            return self.execve_unseen(tpid, line, c);
        };
        // Borrowed from the call: the request copies them once, where it keeps them.
        fn strings(a: Option<&Arg>) -> Vec<std::borrow::Cow<'_, [u8]>> {
            a.and_then(Arg::as_array)
                .map(|v| v.iter().filter_map(|s| s.as_bytes().map(std::borrow::Cow::Borrowed)).collect())
                .unwrap_or_default()
        }
        let mut argv = strings(c.arg(1));
        let envp = strings(c.arg(2));
        let mut path = self.abs_path(tpid, &file);
        if let Some(program) = self.proc_exe_target(tpid, &path) {
            path = program;
        }
        // binfmt_script: `#!INTERPRETER [ARG]` runs the interpreter with the script's path
        // in place of argv[0] (nested up to the kernel's limit of four levels).
        let mut name = file.clone();
        for _ in 0..4 {
            let Some((interp, arg)) = self.files.head(&path, 256).as_deref().and_then(shebang) else { break };
            let mut next = vec![std::borrow::Cow::Owned(interp.clone().into_bytes())];
            next.extend(arg.map(|a| std::borrow::Cow::Owned(a.into_bytes())));
            next.push(std::borrow::Cow::Owned(name.clone().into_bytes()));
            next.extend(argv.iter().skip(1).cloned());
            argv = next;
            name = interp.clone();
            path = interp;
        }
        let pid = self.mpid(tpid);
        let unknowns = self.learned.execs.get(&line).copied().unwrap_or_default();
        let ids = &self.ids;
        let known = |p: &str| ids.get(p).map(|i| (i.major, i.minor, i.ino));
        let mut ctx = None;
        let opener = crate::files::FilesOpener { files: &self.files, known: &known };
        let got = match loader::host::exec_request_with(&mut self.k, &path, &argv, &envp, &opener) {
            Ok(mut req) => {
                req.filename = file.clone();
                req.placement = mm::ExecPlacement {
                    randomized: unknowns.randomized(),
                    mmap_rnd: unknowns.mmap_rnd.map(|b| b.value),
                    stack_top: unknowns.stack_top.map(|b| b.value),
                    load_bias: unknowns.load_bias.map(|b| b.value),
                    start_brk: unknowns.start_brk.map(|b| b.value),
                };
                if req.program.image.machine == mm::Machine::I386 {
                    self.load_vdso32_image();
                }
                let r = self.k.execve(pid, &req);
                if let Ok(info) = &r {
                    let program = req.program.file;
                    let interp = req.interp.as_ref().map(|i| i.file);
                    let spans =
                        if self.verify() { self.mapped_spans(pid, [Some(program), interp]) } else { Vec::new() };
                    ctx = Some(ExecCtx {
                        line,
                        info: info.clone(),
                        program: Some(program),
                        interp,
                        relro: req.program.image.relro.map(|r| r.0),
                        spans,
                        attached: None,
                    });
                }
                r.map(|_| 0)
            }
            Err(e) => Err(e.errno()),
        };
        if let Some(ctx) = ctx {
            self.check_placement(line, &ctx, &unknowns);
            if let Ok(id) = self.k.mm_id(pid) {
                self.execs.insert(id, std::sync::Arc::new(ctx));
            }
        }
        if got.is_ok() {
            self.exec_descriptors(tpid);
            if let Ok(id) = self.k.mm_id(pid) {
                self.created.remove(&id);
                self.started.remove(&id);
                self.end_attached_history(id);
            }
        }
        if got == Err(Errno::ENOENT) && c.ret.value().is_some() && !file.starts_with('/') && self.start_cwd_unknown() {
            // Every later mismatch of this process follows from it: say why, once.
            let here = self.start_cwd();
            self.files.differ(
                &file,
                format!(
                    "not found from {here}, taken for the directory the program started in (the trace does not \
                     show it): replay in the directory it was recorded in, or give it with --cwd"
                ),
            );
        }
        self.check(line, "execve", &c.ret, got);
    }

    /// After task `tpid` ran a program: its descriptor table is its own (exec unshares one
    /// a thread or a clone shared) and keeps the descriptors that were not close-on-exec.
    fn exec_descriptors(&mut self, tpid: TracePid) {
        self.unshare_table(tpid);
        let pid = self.mpid(tpid);
        let table = self.procs[&tpid].table;
        let open: Vec<i32> = self.tables[table].kinds.keys().copied().collect();
        for fd in open {
            if self.k.fd_description(pid, fd).is_none() {
                self.tables[table].kinds.remove(&fd);
            }
        }
    }

    /// An execve whose program strace printed as an address (`-e raw=all`): the address
    /// space it starts is one the trace does not show, as a filtered-out execve's is (the
    /// first process's is learned as an attached one's: see `is_exec`).
    fn execve_unseen(&mut self, tpid: TracePid, line: u64, c: &Syscall) {
        if c.ret.value().is_none() || !self.procs.contains_key(&tpid) {
            return;
        }
        let pid = self.mpid(tpid);
        let attached = self.k.mm_id(pid).is_ok_and(|id| self.execs.get(&id).is_some_and(|e| e.line == ATTACHED));
        if attached && self.k.mm(pid).is_ok_and(|m| m.users == 1) {
            // The first process (not a vfork's child sharing its memory), whose start the
            // runs learn.
            return;
        }
        if self.k.exec_unseen(pid).is_err() {
            return;
        }
        self.exec_descriptors(tpid);
        self.start_unshown(tpid, line);
    }

    /// The program a `/proc/self/exe` (or `/proc/thread-self/exe`, `/proc/PID/exe` of a
    /// traced PID) link names: the one the process's last execve loaded, on the recording
    /// machine, never the replaying machine's own executable that the link names here.
    fn proc_exe_target(&self, tpid: TracePid, path: &str) -> Option<String> {
        let whose = match path.strip_prefix("/proc/")?.strip_suffix("/exe")? {
            "self" | "thread-self" => tpid,
            pid => TracePid(pid.parse().ok()?),
        };
        let program = self.exec_of(whose)?.1.program?;
        Some(self.k.file(program).path.clone())
    }

    pub(super) fn clone(&mut self, tpid: TracePid, line: u64, c: &Syscall) {
        let Some(child_tid) = c.ret.value() else { return };
        if c.name == "clone3" && clone3_flags_unshown(c) && !self.clone3_flags_noted {
            // glibc's clone3 calls are a thread's (pthread_create) or a spawned child's that
            // runs a program at once (posix_spawn), which exec then gives an address space
            // and descriptor table of its own.
            self.clone3_flags_noted = true;
            self.report.notes.push(format!(
                "line {line}: the log does not show clone3's flags (`-e verbose=none`): each such child is taken \
                 for a thread, sharing its parent's memory and descriptors until it runs a program"
            ));
        }
        // In a PID namespace, the log's lines name the child as strace numbers it.
        let inner = child_tid;
        let mut child_tid = TracePid(c.ret_tracer_pid.unwrap_or(child_tid as u32));
        if !self.made_early.contains_key(&child_tid) && child_tid.0 < self.lowest_line_pid {
            // A pid in a PID namespace, not the number the child's lines go by. Its first
            // line came while this call was in progress: the child was made then, or its
            // lines were held (other tasks' clones were in progress too) for a call to
            // return its number.
            let started = c.unfinished_line.unwrap_or(line);
            let held = || {
                self.pending
                    .iter()
                    .filter_map(|(t, events)| Some((events.first()?.line, *t)))
                    .filter(|(first, _)| *first > started)
                    .min()
                    .map(|(_, t)| t)
            };
            let early = self.made_early.iter().find(|(_, parent)| **parent == tpid).map(|(c, _)| *c);
            if let Some(early) = early.or_else(held) {
                let bound = Bound { value: (inner as u32, early.0), line };
                self.learned.namespaced_children.insert(line, bound);
                child_tid = early;
            }
        }
        if self.made_early.remove(&child_tid).is_some() {
            // Made at its first line, which came while this call was in progress; lines it
            // had after it exited were held for now (and are errors).
            if let Some(events) = self.pending.remove(&child_tid) {
                for ev in events {
                    self.dispatch(child_tid, &ev);
                }
            }
            return;
        }
        let flags = clone_flags(c);
        if self.unprefixed && !self.attach_log && flags & CLONE_VM != 0 && flags & CLONE_VFORK == 0 {
            self.thread_untraced(tpid, line);
        }
        self.make_child(tpid, child_tid, flags, line);
        if child_tid.0 < self.lowest_line_pid && !self.pending.contains_key(&child_tid) {
            // A number lower than any the lines use: maybe a pid in a namespace.
            self.unclaimed_children.push((child_tid, line));
        }
        if let Some(events) = self.pending.remove(&child_tid) {
            for ev in events {
                self.dispatch(child_tid, &ev);
            }
        }
    }

    /// The task whose clone, clone3, fork or vfork is in progress, and its flags, when
    /// exactly one is: a task the log has not shown yet whose line comes now is its child,
    /// which the kernel made before the call returned (and which runs meanwhile: its calls
    /// come before those the log shows after the parent's return).
    pub(super) fn sole_clone_in_progress(&self) -> Option<(TracePid, u64)> {
        let mut cloning = self
            .in_progress
            .iter()
            .filter(|(_, (name, _, _))| matches!(name.as_str(), "clone" | "clone3" | "fork" | "vfork"));
        let (t, (name, args, _)) = cloning.next()?;
        if cloning.next().is_some() {
            return None;
        }
        Some((*t, clone_flags(&reorder::started_call(name, args))))
    }

    /// Task `tpid`, a new task the log shows before the call that made it returned: made now
    /// as that call's child (see [`Self::sole_clone_in_progress`]).
    pub(super) fn make_child_early(&mut self, parent: TracePid, tpid: TracePid, flags: u64, line: u64) {
        self.make_child(parent, tpid, flags, line);
        if self.procs.contains_key(&tpid) {
            self.made_early.insert(tpid, parent);
        }
    }

    /// Makes task `child_tid` as a clone with `flags` of task `tpid`.
    fn make_child(&mut self, tpid: TracePid, child_tid: TracePid, flags: u64, line: u64) {
        let pid = self.mpid(tpid);
        let child = match self.k.clone_task(pid, flags & CLONE_VM != 0) {
            Ok(p) => p,
            Err(e) => return self.error_at(line, 1, format!("clone in the model failed: {e}")),
        };
        let parent = self.procs[&tpid].clone();
        let table = if flags & CLONE_FILES != 0 {
            self.tables[parent.table].members.push(child_tid);
            parent.table
        } else {
            let copy = FdTable { members: vec![child_tid], ..self.tables[parent.table].clone() };
            self.tables.push(copy);
            self.tables.len() - 1
        };
        if self.stack_limit_set.contains(&pid) {
            self.stack_limit_set.insert(child);
        }
        // A forked child runs the same program: its own mappings are the parent's.
        if let (Ok(from), Ok(to)) = (self.k.mm_id(pid), self.k.mm_id(child)) {
            if from != to {
                if let Some(ctx) = self.execs.get(&from).cloned() {
                    self.execs.insert(to, ctx);
                }
                if self.started.contains(&from) {
                    self.started.insert(to);
                }
                if self.blind.contains(&from) {
                    self.blind.insert(to);
                }
                if let Some(r) = self.created.get(&from).cloned() {
                    self.created.insert(to, r);
                }
                self.fork_attached_history(from, to);
            }
        }
        self.procs.insert(child_tid, Proc { pid: child, table, cwd: parent.cwd });
        self.exited.remove(&child_tid);
    }

    // ---- descriptors ----

    /// prlimit64/setrlimit of the memory limits: later calls (and execs) obey them.
    pub(super) fn setrlimit(&mut self, tpid: TracePid, c: &Syscall) {
        let Ret::Value(_) = c.ret else { return };
        let (resource, new) = if c.name == "prlimit64" {
            if c.arg_u64(0).is_some_and(|p| p != 0) {
                return;
            }
            (c.arg(1), c.arg(2))
        } else {
            (c.arg(0), c.arg(1))
        };
        let Some(which) = resource.and_then(rlimit_resource) else { return };
        let Some(value) = new.and_then(|n| n.field("rlim_cur")).and_then(rlim_value) else { return };
        let pid = self.mpid(tpid);
        let _ = self.k.setrlimit(pid, which, value);
    }

    // ---- memory ----
}
