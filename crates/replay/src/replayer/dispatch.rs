//! Call dispatch: each system call of the log to its handler, the address-space calls
//! through [`mm::Call`] and [`Kernel::dispatch`], and the calls known to have no effect
//! on what the model tracks.

use super::*;

/// Whether the replay never reads the arguments of the call `name`: calls of
/// [`NO_MM_EFFECT`] that no handler, no learning rule and nothing the replay reports looks
/// into, whose argument lists are long or common (a verbose `stat` structure, a signal
/// action). The identity pass, which reads stat results and paths, parses on its own.
pub(crate) fn args_unread(name: &str) -> bool {
    matches!(
        name,
        "rt_sigaction"
            | "rt_sigprocmask"
            | "newfstatat"
            | "fstat"
            | "stat"
            | "lstat"
            | "statx"
            | "statfs"
            | "fstatfs"
            | "getdents64"
            | "ioctl"
            | "futex"
            | "getrandom"
            | "clock_gettime"
            | "clock_nanosleep"
            | "nanosleep"
            | "uname"
            | "poll"
            | "ppoll"
            | "epoll_wait"
    )
}

/// Calls with no effect on the address space or the descriptors the model tracks; they are
/// known, and not checked.
pub(super) const NO_MM_EFFECT: &[&str] = &[
    "access",
    "faccessat",
    "faccessat2",
    "arch_prctl",
    "set_thread_area",
    "get_thread_area",
    "set_tid_address",
    "set_robust_list",
    "rseq",
    "prlimit64",
    "getrlimit",
    "setrlimit",
    "getrandom",
    "futex",
    "futex_waitv",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sigaltstack",
    "sigaction",
    "sigprocmask",
    "sigsuspend",
    "signal",
    "getpid",
    "getppid",
    "gettid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getgroups",
    "uname",
    "ioctl",
    "newfstatat",
    "fstat",
    "stat",
    "lstat",
    "statx",
    "statfs",
    "fstatfs",
    "getdents64",
    "readlink",
    "readlinkat",
    "getcwd",
    "clock_gettime",
    "clock_getres",
    "clock_nanosleep",
    "nanosleep",
    "gettimeofday",
    "time",
    "sched_yield",
    "sched_getaffinity",
    "sched_setaffinity",
    "sched_getparam",
    "sched_getscheduler",
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "connect",
    "bind",
    "listen",
    "getsockname",
    "getpeername",
    "setsockopt",
    "getsockopt",
    "shutdown",
    "kill",
    "tgkill",
    "tkill",
    "getpgrp",
    "getpgid",
    "setpgid",
    "getsid",
    "setsid",
    "umask",
    "getpriority",
    "setpriority",
    "prctl",
    "capget",
    "capset",
    "getresuid",
    "getresgid",
    "setuid",
    "setgid",
    "setresuid",
    "setresgid",
    "flock",
    "utimensat",
    "fchmod",
    "fchmodat",
    "chmod",
    "fchown",
    "fchownat",
    "chown",
    "lchown",
    "mkdir",
    "mkdirat",
    "rmdir",
    "symlink",
    "symlinkat",
    "link",
    "linkat",
    "times",
    "getrusage",
    "wait4",
    "waitid",
    "exit",
    "exit_group",
    "restart_syscall",
    "pause",
    "alarm",
    "setitimer",
    "getitimer",
    "timer_create",
    "timer_settime",
    "timer_delete",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigqueueinfo",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "membarrier",
    "pkey_alloc",
    "pkey_free",
    "sendmsg",
    "recvmsg",
    "sendto",
    "recvfrom",
    "sendmmsg",
    "recvmmsg",
    "splice",
    "tee",
    "sendfile",
    "copy_file_range",
    "get_mempolicy",
    "set_mempolicy",
    "mbind",
    "getcpu",
    "personality",
    "ptrace",
    "seccomp",
    "write",
    "writev",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readv",
    "pread64",
    "preadv",
    "preadv2",
];

/// The interpreter line of a `#!` script on this machine: (interpreter, optional argument).
/// The value of a personality flag name strace prints.
pub(super) fn personality_flag(name: &str) -> Option<u64> {
    PERSONALITY_NAMES.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

/// The report's reason for an old i386 mmap whose argument structure strace did not print.
const OLD_MMAP_UNSHOWN: &str = "old i386 mmap calls whose argument structure the log does not show";

impl Replayer {
    /// The value of flag-word argument `i`: a name the `abi` tables do not know adds no bits
    /// (instead of making the whole word 0) and is listed among what is not modelled.
    pub(super) fn flag_arg(&mut self, c: &Syscall, i: usize) -> u64 {
        let Some((value, unknown)) = c.arg(i).and_then(Arg::flags_value_known) else { return 0 };
        for name in unknown {
            *self.report.unknown.entry(format!("flag {name}")).or_default() += 1;
        }
        value
    }

    /// The model's [`Call`] for line `c`, flag names the `abi` tables do not know reported
    /// by [`Self::flag_arg`]; `None` when `c` is not an address-space call.
    pub(super) fn model_call(&mut self, c: &Syscall) -> Option<Call> {
        call_with(c, |c, i| self.flag_arg(c, i))
    }

    /// Does the address-space call of line `c` on the model (ENOSYS for another call).
    pub(super) fn apply(&mut self, pid: Pid, c: &Syscall) -> SysResult<u64> {
        match self.model_call(c) {
            Some(call) => self.k.dispatch(pid, &call),
            None => Err(Errno::ENOSYS),
        }
    }

    pub(super) fn syscall(&mut self, tpid: TracePid, line: u64, c: &Syscall) {
        if c.name == "mmap2" && self.attach_log {
            self.ia32_by_its_calls(tpid, line);
        }
        if self.attach_log {
            self.note_call_on_other_memory(tpid, line, c);
        }
        self.note_attached_effect(tpid, c);
        if self.blind_call(tpid, line, c) {
            return;
        }
        let name = c.name.as_ref();
        let pid = self.mpid(tpid);
        match name {
            "execve" | "execveat" => self.execve(tpid, line, c),
            "brk" if self.unseen_start(tpid) => {
                // The heap of a process whose start the trace does not show (attached to, or
                // its execve filtered out): the break is what the log says, unchecked.
                let got = self.apply(pid, c);
                self.learn_from_result(tpid, line, c, (0, 0), &got);
                if let (Some(r), true) = (c.ret.value(), got != Ok(c.ret.value().unwrap_or(0))) {
                    let start = self.k.mm(pid).map(|m| m.start_brk).unwrap_or(0);
                    let start = if start == 0 || c.arg_u64(0) == Some(0) { r } else { start.min(r) };
                    let _ = self.k.adopt_heap(pid, start, r);
                }
                *self.report.unchecked.entry(UNSEEN_PLACEMENT.into()).or_default() += 1;
            }
            "brk" => {
                let (start, old) = self.k.mm(pid).map(|m| (m.start_brk, m.brk)).unwrap_or((0, 0));
                let got = self.apply(pid, c);
                self.learn_from_result(tpid, line, c, (start, old), &got);
                if let Ok(new) = got {
                    if new > old && old > 0 {
                        self.program_writes(pid, old.saturating_sub(1).max(new - 1));
                    }
                }
                self.check(line, "brk", &c.ret, got);
            }
            "mmap" | "mmap2" if self.placed_in_an_unknown_order(tpid, c) => {
                // Where a thread's mapping went depends on how its calls interleaved with
                // other threads', which the log does not say: it goes where the log says
                // if that is free, unchecked.
                let r = c.ret.value().unwrap_or(0);
                self.place_at = Some(r);
                let (what, mut got) = self.maps_call(tpid, c);
                if got == Err(Errno::EEXIST) {
                    // Taken in the model by a mapping another thread removes at a line the
                    // merged log puts later: the kernel had removed it by then.
                    (self.place_at, self.place_replacing) = (Some(r), true);
                    got = self.maps_call(tpid, c).1;
                    self.place_replacing = false;
                }
                self.place_at = None;
                self.learn_from_result(tpid, line, c, (0, 0), &got);
                if got == Ok(r) {
                    *self.report.unchecked.entry(UNORDERED_PLACEMENT.into()).or_default() += 1;
                } else {
                    self.check(line, what, &c.ret, got);
                }
            }
            "mmap" if c.args.len() == 1 && c.ret.value().is_some() => {
                // The old i386 mmap, its arguments in a structure strace did not print
                // (`-e raw=all`): what it mapped, and how much, the log does not say.
                self.unchecked(OLD_MMAP_UNSHOWN);
            }
            "mmap" | "mmap2" if self.placed_by_the_unknown(tpid, c) => {
                // Where an attached process's mapping goes depends on mappings the trace
                // never showed: it goes where the log says, unchecked.
                let (mut placed, r) = (c.clone(), c.ret.value().unwrap_or(0));
                let flags = self.flag_arg(c, 3) | MAP_FIXED_NOREPLACE;
                if placed.args.len() > 3 {
                    placed.args[0] = Arg::Int(r);
                    placed.args[3] = Arg::Int(flags);
                }
                let (what, mut got) = self.maps_call(tpid, &placed);
                let len = c.arg_u64(1).unwrap_or(0);
                if got == Err(Errno::EEXIST) && self.run_removals_in_progress(tpid, r, len) {
                    // Taken in the model by a mapping another thread's call in progress
                    // removes: the kernel had done that call first.
                    got = self.maps_call(tpid, &placed).1;
                }
                if got == Err(Errno::EEXIST) && self.removals_hidden() {
                    // Taken in the model by a mapping a call the trace hides (an munmap, an
                    // mremap that moved it) may have removed.
                    let _ = self.k.munmap(pid, r, len);
                    got = self.maps_call(tpid, &placed).1;
                }
                self.learn_from_result(tpid, line, c, (0, 0), &got);
                if got == Ok(r) {
                    *self.report.unchecked.entry(UNSEEN_PLACEMENT.into()).or_default() += 1;
                } else {
                    self.check(line, what, &c.ret, got);
                }
            }
            "mmap" | "mmap2" | "munmap" | "mprotect" | "pkey_mprotect" => {
                let (what, got) = self.maps_call(tpid, c);
                self.learn_from_result(tpid, line, c, (0, 0), &got);
                let failed = self.report.failed;
                self.check_unless_unordered(tpid, line, what, c, got);
                if self.report.failed > failed && c.name.starts_with("mmap") {
                    self.note_removal_unseen(tpid, line, c);
                }
            }
            "mremap" => self.mremap(tpid, line, c),
            "madvise" | "mlock" | "munlock" | "mlock2" => {
                let advice = if c.name == "madvise" { c.arg(2).and_then(Arg::flags_value) } else { None };
                let referenced =
                    if advice == Some(abi::MADV_COLD) { self.referenced_pages(pid, c) } else { Vec::new() };
                let mapped = if advice == Some(abi::MADV_PAGEOUT) { self.before_pageout(pid, c) } else { Vec::new() };
                let got = self.apply(pid, c);
                if got.is_ok() {
                    self.note_made_old(pid, referenced);
                    self.note_paged_out(line, mapped);
                }
                self.learn_from_result(tpid, line, c, (0, 0), &got);
                self.check_unless_unordered(tpid, line, &c.name, c, got);
            }
            "mlockall" | "munlockall" | "msync" => {
                let got = self.apply(pid, c);
                self.check(line, &c.name, &c.ret, got);
            }
            "mincore" => self.mincore(tpid, line, c),
            "shmget" => self.shmget(tpid, line, c),
            "shmat" => self.shmat(tpid, line, c),
            "shmdt" => self.shmdt(tpid, line, c),
            "shmctl" => self.shmctl(tpid, line, c),
            "prlimit64" | "setrlimit" | "getrlimit" => {
                self.learn_stack_limit(tpid, line, c);
                if c.name != "getrlimit" {
                    self.setrlimit(tpid, c);
                }
            }
            "personality" => {
                if let (Some(p), Ret::Value(_)) = (c.arg(0).and_then(|a| a.flags_value_with(personality_flag)), &c.ret)
                {
                    let _ = self.k.personality(pid, p);
                }
            }
            "openat" | "open" | "creat" => self.open(tpid, line, c),
            "close" => self.close(tpid, c),
            "dup" | "dup2" | "dup3" => self.dup(tpid, c),
            "fcntl" => self.fcntl(tpid, c),
            "pipe" | "pipe2" | "socketpair" => self.pipe(tpid, c),
            "socket" | "eventfd" | "eventfd2" | "epoll_create" | "epoll_create1" | "timerfd_create" | "signalfd4"
            | "inotify_init1" | "pidfd_open" | "accept" | "accept4" | "userfaultfd" | "perf_event_open" => {
                if let Some(fd) = c.ret.value() {
                    self.install_other(tpid, fd as i32, false);
                }
            }
            "memfd_create" => self.memfd(tpid, c),
            "read" | "pread64" | "write" | "pwrite64" if c.arg(1).and_then(Arg::as_u64).is_some() => {
                // Logged raw: the bytes follow as dump lines.
                self.raw_io = Some(RawIo { tpid, line, call: Box::new(c.clone()), bytes: Vec::new() });
            }
            "read" | "pread64" => self.read(tpid, line, c, None),
            "write" | "pwrite64" => {
                let data = c.arg_str(1).map(<[u8]>::to_vec);
                self.write(tpid, line, c, data);
            }
            "fsync" | "fdatasync" => {
                if let (Some(fd), Ret::Value(_)) = (c.arg_u64(0), &c.ret) {
                    let _ = self.k.fsync(pid, fd as i64);
                }
            }
            "sync" | "syncfs" => {
                if let Ret::Value(_) = &c.ret {
                    self.k.sync();
                }
            }
            "fadvise64" => {
                let advice = c.arg(3).and_then(Arg::flags_value);
                if let (Some(fd), Some(off), Some(len), Some(advice), Ret::Value(_)) =
                    (c.arg_u64(0), c.arg_i64(1), c.arg_i64(2), advice, &c.ret)
                {
                    let _ = self.k.fadvise(pid, fd as i64, off, len, advice);
                }
            }
            "ftruncate" => {
                if let (Some(fd), Some(len), Ret::Value(_)) = (c.arg_u64(0), c.arg_u64(1), &c.ret) {
                    let _ = self.k.ftruncate(pid, fd as i64, len);
                }
            }
            "lseek" => self.lseek(tpid, c),
            "unlink" | "unlinkat" => {
                let path = if name == "unlinkat" {
                    self.path_arg_at(tpid, c, 0, 1)
                } else {
                    self.path_arg_at(tpid, c, usize::MAX, 0)
                };
                if let (Some(path), Ret::Value(_)) = (path, &c.ret) {
                    let _ = self.k.unlink(&path);
                }
            }
            "rename" | "renameat" | "renameat2" => {
                let (from, to) = if name == "rename" {
                    (self.path_arg_at(tpid, c, usize::MAX, 0), self.path_arg_at(tpid, c, usize::MAX, 1))
                } else {
                    (self.path_arg_at(tpid, c, 0, 1), self.path_arg_at(tpid, c, 2, 3))
                };
                if let (Some(from), Some(to), Ret::Value(_)) = (from, to, &c.ret) {
                    let _ = self.k.rename(&from, &to);
                }
            }
            "chdir" | "fchdir" => self.chdir(tpid, c),
            "mkdir" | "mkdirat" | "rmdir" if self.cgroup_dir_call(tpid, line, c) => {}
            "kill" | "tgkill" | "tkill" => self.note_sigkill(c),
            "sysinfo" => self.learn_sysinfo(line, c),
            "sched_getaffinity" => self.learn_affinity(line, c),
            "close_range" => self.close_range(tpid, c),
            "clone" | "clone3" | "fork" | "vfork" => self.clone(tpid, line, c),
            "rseq" | "set_robust_list" => {
                if let Ok(id) = self.k.mm_id(pid) {
                    self.started.insert(id);
                }
            }
            _ if NO_MM_EFFECT.contains(&name) => {}
            _ => *self.report.unknown.entry(name.to_string()).or_default() += 1,
        }
    }

    /// mincore: the result is checked; in strict mode also the vector the log shows (for
    /// programs whose residency follows from their system calls alone).
    pub(super) fn mincore(&mut self, tpid: TracePid, line: u64, c: &Syscall) {
        let pid = self.mpid(tpid);
        let (a, l) = (c.arg_u64(0).unwrap_or(0), c.arg_u64(1).unwrap_or(0));
        let logged: Option<Vec<u8>> =
            c.arg(2).and_then(Arg::as_array).map(|v| v.iter().filter_map(|b| b.as_u64().map(|x| x as u8)).collect());
        // The vector as far as the log shows it (its length is the input's, not the call's).
        let shown = logged.as_ref().map_or(0, |v| v.len() as u64);
        let model = self.k.mincore_prefix(pid, a, l, shown);
        let got = match (&model, c.arg(2).and_then(Arg::as_u64)) {
            (Ok((_, Some(e))), _) => Err(*e),
            (Ok(_), _) => Ok(0),
            (Err(e), _) => Err(*e),
        };
        self.check(line, "mincore", &c.ret, got);
        if self.opts.mode >= Mode::Strict {
            if let (Some(want), Ok((have, None))) = (logged, model) {
                let n = want.len().min(have.len());
                let mut have: Vec<u8> = have[..n].iter().map(|b| b & 1).collect();
                if want[..n] != have[..]
                    && (self.swap_cache_explains(pid, line, a, &want[..n], &have)
                        || self.pageout_skip_explains_mincore(pid, line, a, &want[..n], &have))
                {
                    have = want[..n].to_vec();
                }
                if want[..n] == have[..] {
                    self.report.passed += 1;
                } else {
                    self.mismatch(Mismatch {
                        line,
                        call: "mincore vector".into(),
                        expected: residency(&want[..n]),
                        got: residency(&have),
                        diff: None,
                        cause: None,
                    });
                }
            }
        }
    }

    /// A mincore vector differing from the model's only in swapped-out pages, present in
    /// the swap cache or not: their states are bound as the log shows them (see
    /// [`crate::unknowns::Learned::swap_cache_seen`]). False, changing nothing, when another
    /// page differs.
    fn swap_cache_explains(&mut self, pid: Pid, line: u64, start: u64, want: &[u8], have: &[u8]) -> bool {
        let differing: Vec<(u64, bool)> = (0u64..)
            .zip(want.iter().zip(have))
            .filter(|(_, (w, h))| w != h)
            .map(|(i, (w, _))| (start + i * PAGE_SIZE, *w == 1))
            .collect();
        if differing.iter().any(|&(va, _)| self.k.swap_cached_at(pid, va).is_none()) {
            return false;
        }
        for &(va, cached) in &differing {
            if !self.k.set_swap_cached_at(pid, va, cached) {
                return false;
            }
            let b = Bound { value: (va, cached), line };
            if !self.learned.swap_cache_seen.contains(&b) {
                self.learned.swap_cache_seen.push(b);
            }
        }
        true
    }

    /// Checks a call's result, except that where threads' calls are not in order (see
    /// [`crate::Options::threads_unordered`]) a range the log found mapped and the model
    /// does not (ENOMEM for the log's success) is one whose mapping another thread's call,
    /// at a line the merged log puts elsewhere, had made or removed: not checkable.
    pub(super) fn check_unless_unordered(
        &mut self,
        tpid: TracePid,
        line: u64,
        what: &str,
        c: &Syscall,
        got: SysResult<u64>,
    ) {
        if got == Err(Errno::ENOMEM) && c.ret.value().is_some() && self.threads_unordered_at(tpid) {
            *self.report.unchecked.entry(UNORDERED_PLACEMENT.into()).or_default() += 1;
            return;
        }
        self.check(line, what, &c.ret, got);
    }

    /// A real program writes the private writable memory it maps (heap, bss, relocations,
    /// stacks) with plain stores the trace cannot show; those first writes give the VMA an
    /// anon_vma, which decides how later neighbours merge. In verify mode the replay assumes
    /// them; strict mode is for programs that touch memory only through system calls, and
    /// assumes them only of what the loader and the C library map before the program starts
    /// (their code is not the program's: a forked child's copy of such a VMA then merges with
    /// no new neighbour, as it does not on Linux).
    pub(super) fn program_writes(&mut self, pid: Pid, addr: u64) {
        let before_start = self.k.mm_id(pid).is_ok_and(|id| !self.started.contains(&id));
        if (self.opts.mode != Mode::Strict || before_start) && !self.write_disproved() {
            let _ = self.k.assume_written(pid, addr);
            self.note_assumed_write(pid, addr);
        }
    }

    /// Does an `mmap`, `munmap` or `mprotect` call on the model, with the replay's
    /// bookkeeping; returns the name its result is checked under, and the result.
    pub(super) fn maps_call(&mut self, tpid: TracePid, c: &Syscall) -> (&'static str, SysResult<u64>) {
        let pid = self.mpid(tpid);
        let Some(mut call) = self.model_call(c) else { return ("mmap", Err(Errno::ENOSYS)) };
        match (self.place_at.take(), &mut call) {
            (Some(at), Call::Mmap { addr, flags, .. }) => {
                let fixed = if self.place_replacing { MAP_FIXED } else { MAP_FIXED_NOREPLACE };
                (*addr, *flags) = (at, *flags | fixed);
            }
            // A move done ahead of its line, in an order that put it at `at`.
            (Some(at), Call::Mremap { flags, new_addr, .. }) if *flags & MREMAP_MAYMOVE != 0 => {
                (*new_addr, *flags) = (at, *flags | MREMAP_FIXED);
            }
            _ => {}
        }
        match call {
            Call::Mprotect { addr, prot, .. } => {
                let got = self.k.dispatch(pid, &call);
                if got.is_ok() && prot & PROT_WRITE != 0 {
                    self.program_writes(pid, addr);
                }
                ("mprotect", got)
            }
            Call::Mmap { len, prot, flags, fd, .. } => {
                if flags & MAP_ANONYMOUS == 0 && fd >= 0 && c.ret.value().is_some() {
                    self.unseen_fd(tpid, c, fd as i32);
                }
                let got = self.k.dispatch(pid, &call);
                if let Ok(a) = got {
                    if let Ok(id) = self.k.mm_id(pid) {
                        if self.started.contains(&id) {
                            self.created.entry(id).or_default().push((a, a.saturating_add(len)));
                        }
                    }
                    if prot & PROT_WRITE != 0 && flags & MAP_TYPE == MAP_PRIVATE {
                        self.program_writes(pid, a);
                    }
                }
                ("mmap", got)
            }
            other => (other.name(), self.k.dispatch(pid, &other)),
        }
    }
}

/// A mincore vector as a mismatch shows it: as strace prints it when short, else as the
/// ranges of resident pages (a vector of thousands of entries is unreadable).
fn residency(v: &[u8]) -> String {
    if v.len() <= 32 {
        return format!("{v:?}");
    }
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < v.len() {
        if v[i] & 1 == 0 {
            i += 1;
            continue;
        }
        let start = i;
        while i < v.len() && v[i] & 1 == 1 {
            i += 1;
        }
        ranges.push(if i - start == 1 { start.to_string() } else { format!("{start}-{}", i - 1) });
    }
    if ranges.is_empty() {
        return format!("no page resident (of {})", v.len());
    }
    format!("pages {} resident (of {})", ranges.join(", "), v.len())
}

#[cfg(test)]
mod residency_tests {
    use super::residency;

    #[test]
    fn long_vectors_are_shown_as_ranges() {
        let mut v = vec![0u8; 40];
        v[0..4].fill(1);
        v[7] = 1;
        v[39] = 1;
        assert_eq!(residency(&v), "pages 0-3, 7, 39 resident (of 40)");
        assert_eq!(residency(&[0; 33]), "no page resident (of 33)");
        assert_eq!(residency(&[1, 0]), "[1, 0]");
    }
}
