//! The replay loop: one model task per traced task, one descriptor table per group of tasks
//! that share one, and a handler per system call.

use crate::call::call_with;
use crate::files::Files;
use crate::identity::{Identities, Identity};
use crate::report::{Mismatch, Mode, Report};
mod learn;

use crate::unknowns::{Bound, Learned};
use abi::*;
use learn::{AttachedCalls, ExecCtx, ATTACHED, UNSEEN_PLACEMENT};
use mm::{Call, Config, FileId, Kernel, MmId, OpenFileId, Pid};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::mpsc;
use trace::{Arg, Event, EventKind, ParseError, Parser, Ret, Syscall};

mod blind;
mod fds;
mod seq;
pub(crate) use fds::join as join_path;

/// How a replay runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// What is checked.
    pub mode: Mode,
    /// Go on after a line that cannot be read or replayed (otherwise stop there).
    pub keep_going: bool,
    /// The directory the traced program started in (relative paths in the log are relative
    /// to it); when not given, what the trace shows of it ([`crate::StartCwd`]), else this
    /// process's own directory. The report's notes say which.
    pub cwd: Option<std::path::PathBuf>,
}

/// What a descriptor is, beyond the model's open file description.
#[derive(Clone, Debug)]
enum FdKind {
    /// A file the model has.
    File(FileId),
    /// A /proc text of a process: what, and whose (trace pid). How far it was read is the
    /// position of its open file description (shared with its duplicates).
    Proc { what: ProcText, target: u32 },
    /// A descriptor whose open the trace does not show (a filter such as `-e trace=memory`
    /// hid it, or the trace began later): a file the model knows nothing of but what the
    /// calls on it show.
    Unseen,
    /// A pipe end: its reads and writes copy page-sized pieces (see
    /// [`Kernel::pipe_copy_from_user`]).
    Pipe,
    /// Anything else (socket, directory, device).
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProcText {
    Maps,
    Smaps,
}

/// A descriptor table and the traced tasks that share it.
#[derive(Clone, Debug, Default)]
struct FdTable {
    members: Vec<u32>,
    kinds: BTreeMap<i32, FdKind>,
    /// The path each descriptor was opened by, where known (for `fchdir` and opens relative
    /// to a directory descriptor).
    paths: BTreeMap<i32, String>,
}

/// A read or write whose buffer address the log shows, with the bytes dumped after it.
#[derive(Clone, Debug)]
struct RawIo {
    tpid: u32,
    line: u64,
    call: Box<Syscall>,
    bytes: Vec<u8>,
}

#[derive(Clone, Debug)]
struct Proc {
    pid: Pid,
    table: usize,
    cwd: String,
}

/// Replays a log on a fresh model.
#[derive(Clone, Debug)]
pub struct Replayer {
    /// The recording machine's files.
    files: std::sync::Arc<Files>,
    k: Kernel,
    opts: Options,
    ids: Identities,
    procs: HashMap<u32, Proc>,
    tables: Vec<FdTable>,
    /// Events of tasks whose creating clone has not completed yet, in order.
    pending: HashMap<u32, Vec<Event>>,
    /// File positions by open file description (shared by dup'ed descriptors).
    positions: HashMap<OpenFileId, u64>,
    /// Where each reader of a /proc text is, as its seq_file keeps it (see `seq`).
    seqs: HashMap<OpenFileId, seq::SeqState>,
    /// Ranges the program itself mapped with mmap, per model address space, for strict
    /// residency checks.
    created: HashMap<MmId, Vec<(u64, u64)>>,
    /// Address spaces whose program has started (its C library registered rseq or a robust
    /// futex list, which it does right before main): mappings made before that are the
    /// loader's and the library's, whose residency depends on code the log does not show.
    started: HashSet<MmId>,
    /// The file every descriptor of an unmodelled kind (pipe, socket, device) opens, and the
    /// open description of it the replayer holds, so that the model keeps it while no task
    /// has one of those descriptors (after the last task exited, or closed them all).
    other_file: Option<(FileId, OpenFileId)>,
    root: Option<u32>,
    /// Tasks that exited (trace pid → the line of their `+++ exited` or `+++ killed`), until
    /// a clone makes a new task with the same id.
    exited: HashMap<u32, u64>,
    /// A read or write logged with its buffer address (`-e raw=`), waiting for the dump
    /// lines (`-e read=`/`-e write=`) that carry its bytes.
    raw_io: Option<RawIo>,
    /// Reads of `/proc/PID/maps` or `smaps` strace split, by reading task: the replay as it
    /// was when the read began, and the calls of other threads that ended since.
    read_starts: HashMap<u32, ReadWindow>,
    /// Calls strace showed started and not yet finished, by task: name and the arguments
    /// shown. A `/proc` read may see the effect of one of them before its line completes.
    in_progress: HashMap<u32, (String, trace::Args)>,
    /// Calls of other threads done ahead of their end line, by task, with their result.
    applied_early: HashMap<u32, (Syscall, SysResult<u64>)>,
    report: Report,
    stop: bool,
    /// Address spaces whose start the trace does not show, or that calls a filter hid
    /// changed (see `blind`).
    blind: HashSet<MmId>,
    /// What the replay saw of calls a filter hid.
    hidden: blind::Hidden,
    /// Unknowns bound so far: by earlier runs over the log, then by this one.
    learned: Learned,
    /// The exec that laid out each model address space, for learning its unknowns.
    execs: HashMap<MmId, ExecCtx>,
    /// Model tasks whose stack limit a call in the log set (theirs or a parent's): what
    /// they report of it is not what the first task inherited.
    stack_limit_set: HashSet<Pid>,
    /// For a log attached to a running process: what its calls showed before its first
    /// maps read.
    attached_calls: Option<AttachedCalls>,
    /// The maps text each reader has read of each target so far, from offset 0.
    maps_seen: HashMap<(u32, u32), String>,
}

/// Whether an event is an execve (the start of a trace that ran its program).
fn is_exec(ev: &Event) -> bool {
    match &ev.kind {
        EventKind::Syscall(c) => matches!(c.name.as_ref(), "execve" | "execveat"),
        EventKind::CallStarted { name, .. } => matches!(name.as_str(), "execve" | "execveat"),
        _ => false,
    }
}

/// Replays a log on a fresh model. `open` reads the log from its start; it is called again
/// for each further run over the log, as long as a run binds unknowns the earlier runs did
/// not know (see [`crate::unknowns`]); the last run's report is returned, with every
/// binding. `identities` are the file identities a first pass collected from the same log.
pub fn replay<R, F>(open: F, identities: Identities, opts: Options, progress: impl FnMut(u64)) -> Report
where
    R: BufRead + Send + 'static,
    F: FnMut() -> std::io::Result<R>,
{
    replay_with(open, identities, opts, std::sync::Arc::new(Files::host()), progress)
}

/// [`replay`] finding the recording machine's files through `files` (a bundle recorded
/// beside the trace, a root directory, this machine: see [`crate::files`]). The report
/// lists the files found different from the recording's, and notes where files came from.
pub fn replay_with<R, F>(
    mut open: F,
    identities: Identities,
    opts: Options,
    files: std::sync::Arc<Files>,
    mut progress: impl FnMut(u64),
) -> Report
where
    R: BufRead + Send + 'static,
    F: FnMut() -> std::io::Result<R>,
{
    files.set_trace(&identities);
    let done = |mut report: Report| {
        report.differs = files.differs();
        report.notes.extend(files.notes());
        report
    };
    let mut learned = Learned::default();
    let mut runs = 0;
    loop {
        runs += 1;
        let input = match open() {
            Ok(i) => i,
            Err(e) => {
                let mut report = Report::default();
                report.errors.push(format!("cannot read the log again: {e}"));
                return done(report);
            }
        };
        let (mut report, now) =
            replay_once(input, identities.clone(), opts.clone(), learned.clone(), files.clone(), &mut progress);
        // A run that bound nothing new replayed with everything it could know: it stands.
        // Each run binds at least one more value, and there are finitely many; the cap is
        // for logs that contradict themselves in ways that keep moving.
        if now == learned || runs == MAX_RUNS {
            report.bindings = now.lines();
            report.runs = runs;
            return done(report);
        }
        if std::env::var_os("MMSIM_DEBUG_LEARN").is_some() {
            eprintln!("run {runs} learned:\n{now}");
        }
        learned = now;
    }
}

/// At most this many runs over a log.
const MAX_RUNS: u32 = 8;

/// One run over the log with what earlier runs learned; returns its report and everything
/// known at its end. The parser runs in its own thread.
fn replay_once<R: BufRead + Send + 'static>(
    input: R,
    identities: Identities,
    opts: Options,
    learned: Learned,
    files: std::sync::Arc<Files>,
    progress: &mut impl FnMut(u64),
) -> (Report, Learned) {
    // Batches go to the replayer and come back to the parser thread, which drops their
    // events there: freeing memory in the thread that allocated it is the cheap case, and the
    // replayer thread, the slower of the two, is spared the work. A few small batches in
    // flight keep the events still in cache when the replayer reads them.
    let (tx, rx) = mpsc::sync_channel::<Vec<Result<Event, ParseError>>>(4);
    let (back_tx, back_rx) = mpsc::channel::<Vec<Result<Event, ParseError>>>();
    let parser = std::thread::spawn(move || {
        const BATCH: usize = 256;
        let mut batch = Vec::with_capacity(BATCH);
        for item in Parser::new(input).report_call_starts(true) {
            batch.push(item);
            if batch.len() == BATCH {
                let mut next = back_rx.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
                next.clear();
                if tx.send(std::mem::replace(&mut batch, next)).is_err() {
                    return;
                }
            }
        }
        let _ = tx.send(batch);
    });
    let mut r = Replayer::with_files(identities, opts, learned, files);
    'outer: for batch in rx {
        for (i, item) in batch.iter().enumerate() {
            if let Some(Ok(ahead)) = batch.get(i + LOOK_AHEAD) {
                warm(ahead);
            }
            match item {
                Ok(ev) => {
                    r.report.lines = r.report.lines.max(ev.line);
                    r.event(ev);
                }
                Err(e) => {
                    r.report.lines = r.report.lines.max(e.line);
                    r.error(format!("line {}:{}: {}", e.line, e.column, e.message));
                }
            }
            if r.stop {
                break 'outer;
            }
        }
        progress(r.report.lines);
        let _ = back_tx.send(batch);
    }
    drop(parser);
    r.finish()
}

/// The most one read or write transfers (Linux's MAX_RW_COUNT): a larger result cannot be
/// in a real log.
const MAX_RW_COUNT: u64 = 0x7fff_f000;

/// The piece in which bytes a log does not show (counted, not dumped) are written to the
/// model and compared, so that no host buffer is as large as a count in the log.
const IO_PIECE: u64 = 1 << 16;

/// A raw read of at most this many bytes hands its bytes, zero-padded to the count read, to
/// the `/proc` read check; a larger one, only the bytes dumped.
const MAX_PADDED_READ: u64 = 1 << 24;

/// How many events ahead of the one being replayed [`warm`] reads.
const LOOK_AHEAD: usize = 4;

/// Reads a few words spread over an event the replayer will soon handle. The parser thread
/// wrote it, so it sits in another core's cache; loading it early, while other work goes on,
/// lets those transfers overlap instead of stalling the replayer one cache line at a time
/// (they were a third of its time).
fn warm(ev: &Event) {
    if let EventKind::Syscall(call) = &ev.kind {
        let args = call.args.len() + call.args.last().map_or(0, |a| usize::from(a.is_null()));
        let ret = usize::from(matches!(call.ret, Ret::Value(_)));
        std::hint::black_box(args + ret + call.name.len());
    }
}

/// A read of `/proc` in progress in a threaded program. The kernel made its text at one
/// moment of the read, before or after each call other threads made meanwhile (strace's
/// order of lines is not the kernel's order), so the text of any state the address space
/// may have been in is a right answer.
#[derive(Clone, Debug)]
struct ReadWindow {
    /// The replay when the read began (without windows of its own).
    start: Box<Replayer>,
    /// Calls of other threads that ended while the read was in progress, in order.
    since: Vec<(u32, Syscall)>,
}

/// Calls that change an address space's mappings.
const CHANGES_MAPS: [&str; 9] =
    ["mmap", "munmap", "mprotect", "mremap", "brk", "madvise", "mlock", "munlock", "pkey_mprotect"];

/// A call known only from its start: its name and arguments, the result unknown.
fn started_call(name: &str, args: &trace::Args) -> Syscall {
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

fn ret_text(ret: &Ret) -> String {
    match ret {
        Ret::Value(v) => format!("{v:#x}"),
        Ret::Error { errno, .. } => format!("-1 {errno}"),
        Ret::Unknown => "?".into(),
    }
}

fn result_text(r: &SysResult<u64>) -> String {
    match r {
        Ok(v) => format!("{v:#x}"),
        Err(e) => format!("-1 {}", e.name()),
    }
}

/// Calls with no effect on the address space or the descriptors the model tracks; they are
/// known, and not checked.
const NO_MM_EFFECT: &[&str] = &[
    "access",
    "faccessat",
    "faccessat2",
    "arch_prctl",
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
    "sysinfo",
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
    "fadvise64",
    "fsync",
    "fdatasync",
    "sync",
    "syncfs",
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

impl Replayer {
    /// A replayer with a fresh model configured like this machine.
    pub fn new(ids: Identities, opts: Options) -> Self {
        Self::with_learned(ids, opts, Learned::default())
    }

    /// A replayer that knows the unknowns `learned` binds.
    pub fn with_learned(ids: Identities, opts: Options, learned: Learned) -> Self {
        Replayer::with_files(ids, opts, learned, std::sync::Arc::new(Files::host()))
    }

    fn with_files(mut ids: Identities, opts: Options, learned: Learned, files: std::sync::Arc<Files>) -> Self {
        for (path, b) in &learned.files {
            ids.learn(path, b.value);
        }
        let mut config = Config { event_capacity: 0, pkeys: files.pkeys(), ram_bytes: 16 << 30, ..Config::default() };
        // The recording machine's vDSO, where a maps read showed it; else the bundle's, else
        // this machine's.
        if let Some(v) = files.vdso() {
            config.vdso = v;
        }
        learn::apply_settings(&mut config, &learned);
        if let Some(b) = learned.vdso_pages {
            (config.vdso.vvar_pages, config.vdso.vvar_vclock_pages, config.vdso.vdso_pages) = b.value;
        }
        // The recording machine's vDSO code (the bundle's, else this machine's), where it
        // has the recording machine's size.
        config.vdso_image = files.vdso_image().filter(|img| img.len() as u64 == config.vdso.vdso_pages * PAGE_SIZE);
        Replayer {
            files,
            k: Kernel::new(config),
            opts,
            ids,
            procs: HashMap::default(),
            tables: Vec::new(),
            pending: HashMap::default(),
            positions: HashMap::default(),
            seqs: HashMap::default(),
            created: HashMap::default(),
            started: Default::default(),
            read_starts: HashMap::default(),
            in_progress: HashMap::default(),
            applied_early: HashMap::default(),
            other_file: None,
            root: None,
            exited: HashMap::default(),
            raw_io: None,
            report: Report::default(),
            stop: false,
            blind: HashSet::default(),
            hidden: blind::Hidden::default(),
            learned,
            execs: HashMap::default(),
            stack_limit_set: HashSet::default(),
            attached_calls: None,
            maps_seen: HashMap::default(),
        }
    }

    /// The model after (part of) the replay.
    pub fn kernel(&self) -> &Kernel {
        &self.k
    }

    fn finish(mut self) -> (Report, Learned) {
        self.flush_raw_io();
        let orphans: usize = self.pending.values().map(Vec::len).sum();
        if orphans > 0 {
            self.report
                .unchecked
                .insert("events of tasks whose creation the trace does not show".into(), orphans as u64);
        }
        (self.report, self.learned)
    }

    fn error(&mut self, msg: String) {
        self.report.errors.push(msg);
        if !self.opts.keep_going {
            self.stop = true;
        }
    }

    fn verify(&self) -> bool {
        self.opts.mode >= Mode::Verify
    }

    fn check(&mut self, line: u64, what: &str, expected: &Ret, got: SysResult<u64>) {
        if !self.verify() {
            return;
        }
        let ok = match (expected, &got) {
            (Ret::Value(v), Ok(g)) => v == g,
            (Ret::Error { errno, .. }, Err(e)) => errno == e.name(),
            // An error code the model returns raw because errno has no name for it, which
            // strace prints as `-1 (errno N)`.
            (Ret::Error { errno, .. }, Ok(g)) if mm::layout::is_err_value(*g) => {
                *errno == format!("errno {}", g.wrapping_neg())
            }
            (Ret::Unknown, _) => return,
            _ => false,
        };
        if ok {
            self.report.passed += 1;
        } else {
            self.report.mismatch(Mismatch {
                line,
                call: what.to_string(),
                expected: ret_text(expected),
                got: result_text(&got),
                diff: None,
            });
        }
    }

    /// Handles one event, holding back those of tasks whose clone has not returned yet.
    pub fn event(&mut self, ev: &Event) {
        if let EventKind::Dump { offset, bytes } = &ev.kind {
            self.dump_line(ev.line, *offset, bytes);
            return;
        }
        self.flush_raw_io();
        if matches!(ev.kind, EventKind::Other(_)) {
            // `-k` stack frames and notes: nothing happened (and after a task's exit they
            // must not start a new one).
            return;
        }
        let tpid = match ev.pid {
            Some(p) => p,
            None => self.root.unwrap_or_default(),
        };
        if !self.procs.contains_key(&tpid) {
            if let (true, Some(&exit)) = (self.procs.is_empty(), self.exited.get(&tpid)) {
                // No task is left to clone a new one with this id.
                return self.after_exit(ev.line, tpid, exit);
            }
            if self.root.is_none() || (self.procs.is_empty() && self.root == Some(tpid)) {
                let first = self.root.is_none();
                self.start_root(tpid);
                if first && !is_exec(ev) {
                    self.start_attached(tpid);
                }
            } else if self.creation_hidden(tpid, ev) {
                self.adopt(tpid);
                self.check_start_shown(tpid, ev);
            } else {
                self.pending.entry(tpid).or_default().push(ev.clone());
                return;
            }
        }
        self.dispatch(tpid, ev);
    }

    fn start_root(&mut self, tpid: u32) {
        self.root = Some(tpid);
        let pid = match self.k.spawn_empty("strace-child") {
            Ok(p) => p,
            Err(e) => return self.error(format!("cannot create the first task: {e}")),
        };
        let cwd = self.start_cwd();
        self.tables.push(FdTable { members: vec![tpid], ..FdTable::default() });
        self.procs.insert(tpid, Proc { pid, table: self.tables.len() - 1, cwd });
        // The traced program inherits stdin, stdout and stderr.
        for fd in 0..3 {
            self.install_other(tpid, fd, false);
        }
        // And what the log showed of its limits and personality from before it started.
        if let Some(b) = self.learned.start_rlimit_stack {
            let _ = self.k.setrlimit(pid, mm::Rlimit::Stack, b.value);
        }
        let unlimited = self.learned.start_rlimit_stack.is_some_and(|b| b.value == u64::MAX);
        if self.learned.start_legacy.is_some_and(|b| b.value) && !unlimited {
            let _ = self.k.personality(pid, u64::from(ADDR_COMPAT_LAYOUT));
        }
    }

    /// A line of task `tpid` after its exit on line `exit`, which no clone has reused.
    fn after_exit(&mut self, line: u64, tpid: u32, exit: u64) {
        self.error(format!("line {line}: task {tpid} exited on line {exit}; it has no lines after that"));
    }

    /// A line of a `-e read=`/`-e write=` dump of the buffer of the raw read or write before
    /// it. strace prints the buffer's bytes in order, at most the call's count: anything else
    /// is not a dump of that call.
    fn dump_line(&mut self, line: u64, offset: u64, bytes: &[u8]) {
        let Some(io) = &mut self.raw_io else { return };
        let count = io.call.arg_u64(2).unwrap_or(0).min(MAX_RW_COUNT);
        let next = io.bytes.len() as u64;
        let problem = if offset > next {
            Some(format!("dump offset {offset:#x} leaves a gap after the {next:#x} bytes dumped so far"))
        } else if offset.saturating_add(bytes.len() as u64) > count {
            Some(format!("dump offset {offset:#x} goes beyond the buffer of {count} bytes"))
        } else {
            None
        };
        if let Some(problem) = problem {
            let msg = format!("line {line}: {problem} of the {} on line {}", io.call.name, io.line);
            self.raw_io = None;
            return self.error(msg);
        }
        let at = offset as usize;
        let end = at + bytes.len();
        if io.bytes.len() < end {
            io.bytes.resize(end, 0);
        }
        io.bytes[at..end].copy_from_slice(bytes);
    }

    /// The byte count a read or write returned, when it is one the kernel can return (at most
    /// the count asked for, and at most MAX_RW_COUNT); otherwise an error, and None.
    fn io_result(&mut self, line: u64, c: &Syscall) -> Option<u64> {
        let n = c.ret.value()?;
        let count = c.arg_u64(2).unwrap_or(0);
        if n > count || n > MAX_RW_COUNT {
            let most = count.min(MAX_RW_COUNT);
            self.error(format!("line {line}: {} returned {n}, more than the {most} bytes it can transfer", c.name));
            return None;
        }
        Some(n)
    }

    fn dispatch(&mut self, tpid: u32, ev: &Event) {
        if !self.procs.contains_key(&tpid) {
            // Held until its clone returned, then its task exited before this line.
            let exit = self.exited.get(&tpid).copied().unwrap_or(0);
            return self.after_exit(ev.line, tpid, exit);
        }
        match &ev.kind {
            EventKind::CallStarted { name, args } => {
                if name == "read" || name == "pread64" {
                    self.read_started(tpid, args.first().and_then(Arg::as_u64));
                }
                self.in_progress.insert(tpid, (name.clone(), args.clone()));
            }
            EventKind::Syscall(call) => {
                self.in_progress.remove(&tpid);
                if let Some((_, result)) = self.applied_early.remove(&tpid) {
                    // Done already, ahead of its line (see `syscall_reordered`).
                    self.check(ev.line, &call.name, &call.ret, result);
                } else if let Some(twin) = self.early_twin(tpid, call) {
                    // Another thread's identical mmap, done ahead, made the mapping this one
                    // returned: this call made it, and the other one is still to come.
                    let (_, result) = self.applied_early.remove(&twin).expect("found above");
                    self.check(ev.line, &call.name, &call.ret, result);
                } else if self.verify()
                    && matches!(call.name.as_ref(), "mmap" | "mremap" | "brk")
                    && !self.concurrent_calls(tpid).is_empty()
                {
                    self.syscall_reordered(tpid, ev.line, call);
                } else {
                    self.syscall(tpid, ev.line, call);
                }
                self.note_call_during_reads(tpid, call);
            }
            EventKind::Exited { .. } | EventKind::Killed { .. } => {
                self.exited.insert(tpid, ev.line);
                self.task_exit(tpid);
            }
            _ => {}
        }
    }

    fn task_exit(&mut self, tpid: u32) {
        self.in_progress.remove(&tpid);
        self.applied_early.remove(&tpid);
        self.read_starts.remove(&tpid);
        let Some(p) = self.procs.remove(&tpid) else { return };
        self.tables[p.table].members.retain(|&m| m != tpid);
        if let Err(e) = self.k.exit(p.pid, 0) {
            self.error(format!("exit of task {tpid}: {e}"));
        }
        let _ = self.k.reap(p.pid);
    }

    /// The value of flag-word argument `i`: a name the `abi` tables do not know adds no bits
    /// (instead of making the whole word 0) and is listed among what is not modelled.
    fn flag_arg(&mut self, c: &Syscall, i: usize) -> u64 {
        let Some((value, unknown)) = c.arg(i).and_then(Arg::flags_value_known) else { return 0 };
        for name in unknown {
            *self.report.unknown.entry(format!("flag {name}")).or_default() += 1;
        }
        value
    }

    /// The model's [`Call`] for line `c`, flag names the `abi` tables do not know reported
    /// by [`Self::flag_arg`]; `None` when `c` is not an address-space call.
    fn model_call(&mut self, c: &Syscall) -> Option<Call> {
        call_with(c, |c, i| self.flag_arg(c, i))
    }

    /// Does the address-space call of line `c` on the model (ENOSYS for another call).
    fn apply(&mut self, pid: Pid, c: &Syscall) -> SysResult<u64> {
        match self.model_call(c) {
            Some(call) => self.k.dispatch(pid, &call),
            None => Err(Errno::ENOSYS),
        }
    }

    fn mpid(&self, tpid: u32) -> Pid {
        self.procs[&tpid].pid
    }

    fn syscall(&mut self, tpid: u32, line: u64, c: &Syscall) {
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
            "mmap" | "mmap2" if self.placed_by_the_unknown(tpid, c) => {
                // Where an attached process's mapping goes depends on mappings the trace
                // never showed: it goes where the log says, unchecked.
                let (mut placed, r) = (c.clone(), c.ret.value().unwrap_or(0));
                let flags = self.flag_arg(c, 3) | MAP_FIXED_NOREPLACE;
                if placed.args.len() > 3 {
                    placed.args[0] = Arg::Int(r);
                    placed.args[3] = Arg::Int(flags);
                }
                let (what, got) = self.maps_call(tpid, &placed);
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
                self.check(line, what, &c.ret, got);
            }
            "mremap" => {
                let got = self.apply(pid, c);
                self.learn_from_result(tpid, line, c, (0, 0), &got);
                if let Ok(new) = got {
                    if let Ok(id) = self.k.mm_id(pid) {
                        if self.started.contains(&id) {
                            let new_len = c.arg_u64(2).unwrap_or(0);
                            self.created.entry(id).or_default().push((new, new.saturating_add(new_len)));
                        }
                    }
                }
                self.check(line, "mremap", &c.ret, got);
            }
            "madvise" | "mlock" | "munlock" | "mlock2" => {
                let got = self.apply(pid, c);
                self.learn_from_result(tpid, line, c, (0, 0), &got);
                self.check(line, &c.name, &c.ret, got);
            }
            "mlockall" | "munlockall" | "msync" => {
                let got = self.apply(pid, c);
                self.check(line, &c.name, &c.ret, got);
            }
            "mincore" => self.mincore(tpid, line, c),
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
            "read" | "pread64" => {
                let data = c.arg_str(1).map(<[u8]>::to_vec);
                self.read(tpid, line, c, data);
            }
            "write" | "pwrite64" => {
                let data = c.arg_str(1).map(<[u8]>::to_vec);
                self.write(tpid, line, c, data);
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

    fn abs_path(&self, tpid: u32, path: &str) -> String {
        let cwd = self.procs.get(&tpid).map(|p| p.cwd.as_str()).unwrap_or("/");
        fds::join(cwd, path)
    }

    // ---- processes ----

    fn execve(&mut self, tpid: u32, line: u64, c: &Syscall) {
        let Some(file) = c.arg_str(0).map(|p| String::from_utf8_lossy(p).into_owned()) else { return };
        let strings = |a: Option<&Arg>| -> Vec<Vec<u8>> {
            a.and_then(Arg::as_array)
                .map(|v| v.iter().filter_map(|s| s.as_bytes().map(<[u8]>::to_vec)).collect())
                .unwrap_or_default()
        };
        let mut argv = strings(c.arg(1));
        let envp = strings(c.arg(2));
        let mut path = self.abs_path(tpid, &file);
        // binfmt_script: `#!INTERPRETER [ARG]` runs the interpreter with the script's path
        // in place of argv[0] (nested up to the kernel's limit of four levels).
        let mut name = file.clone();
        for _ in 0..4 {
            let Some((interp, arg)) = self.files.head(&path, 256).as_deref().and_then(shebang) else { break };
            let mut next = vec![interp.clone().into_bytes()];
            next.extend(arg.map(String::into_bytes));
            next.push(name.clone().into_bytes());
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
                    randomized: unknowns.any(),
                    mmap_rnd: unknowns.mmap_rnd.map(|b| b.value),
                    stack_top: unknowns.stack_top.map(|b| b.value),
                    load_bias: unknowns.load_bias.map(|b| b.value),
                    start_brk: unknowns.start_brk.map(|b| b.value),
                };
                let r = self.k.execve(pid, &req);
                if let Ok(info) = &r {
                    ctx = Some(ExecCtx {
                        line,
                        info: info.clone(),
                        program: Some(req.program.file),
                        interp: req.interp.as_ref().map(|i| i.file),
                        relro: req.program.image.relro.map(|r| r.0),
                    });
                }
                r.map(|_| 0)
            }
            Err(e) => Err(e.errno()),
        };
        if let Some(ctx) = ctx {
            self.check_placement(line, &ctx, &unknowns);
            if let Ok(id) = self.k.mm_id(pid) {
                self.execs.insert(id, ctx);
            }
        }
        if got.is_ok() {
            // The new image keeps the descriptors that were not close-on-exec.
            let table = self.procs[&tpid].table;
            let open: Vec<i32> = self.tables[table].kinds.keys().copied().collect();
            for fd in open {
                if self.k.fd_description(pid, fd).is_none() {
                    self.tables[table].kinds.remove(&fd);
                }
            }
            if let Ok(id) = self.k.mm_id(pid) {
                self.created.remove(&id);
                self.started.remove(&id);
            }
        }
        self.check(line, "execve", &c.ret, got);
    }

    fn clone(&mut self, tpid: u32, line: u64, c: &Syscall) {
        let Some(child_tid) = c.ret.value() else { return };
        let child_tid = child_tid as u32;
        let flags = match c.name.as_ref() {
            "fork" => SIGCHLD_FLAGS,
            "vfork" => CLONE_VM | CLONE_VFORK,
            "clone3" => c.arg(0).and_then(|a| a.field("flags")).and_then(Arg::flags_value_with_clone).unwrap_or(0),
            _ => c.arg_named("flags").or_else(|| c.arg(1)).and_then(Arg::flags_value_with_clone).unwrap_or(0),
        };
        let pid = self.mpid(tpid);
        let child = match self.k.clone_task(pid, flags & CLONE_VM != 0) {
            Ok(p) => p,
            Err(e) => return self.error(format!("line {line}: clone in the model failed: {e}")),
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
            }
        }
        self.procs.insert(child_tid, Proc { pid: child, table, cwd: parent.cwd });
        self.exited.remove(&child_tid);
        if let Some(events) = self.pending.remove(&child_tid) {
            for ev in events {
                self.dispatch(child_tid, &ev);
            }
        }
    }

    // ---- descriptors ----

    fn other_file(&mut self) -> FileId {
        match self.other_file {
            Some((f, _)) => f,
            None => {
                let f = self.k.unmappable_file("anon_inode:[other]");
                let held = self.k.open_description(f, true, true);
                self.other_file = Some((f, held));
                f
            }
        }
    }

    /// Installs an open file description at `fd` in every task sharing `tpid`'s table.
    fn install(&mut self, tpid: u32, fd: i32, open: OpenFileId, kind: FdKind, cloexec: bool) {
        let table = self.procs[&tpid].table;
        let members = self.tables[table].members.clone();
        for m in members {
            if let Some(p) = self.procs.get(&m) {
                let _ = self.k.fd_install_at(p.pid, fd, open, cloexec);
            }
        }
        self.tables[table].kinds.insert(fd, kind);
        self.tables[table].paths.remove(&fd);
    }

    fn install_other(&mut self, tpid: u32, fd: i32, cloexec: bool) {
        self.install_unmodelled(tpid, fd, cloexec, FdKind::Other);
    }

    fn install_unmodelled(&mut self, tpid: u32, fd: i32, cloexec: bool, kind: FdKind) {
        let f = self.other_file();
        let o = self.k.open_description(f, true, true);
        self.install(tpid, fd, o, kind, cloexec);
        self.k.release_open(o);
    }

    fn close_fd(&mut self, tpid: u32, fd: i32) {
        let table = self.procs[&tpid].table;
        let members = self.tables[table].members.clone();
        for m in members {
            if let Some(p) = self.procs.get(&m) {
                let _ = self.k.close(p.pid, fd as i64);
            }
        }
        self.tables[table].kinds.remove(&fd);
        self.tables[table].paths.remove(&fd);
    }

    fn close(&mut self, tpid: u32, c: &Syscall) {
        if let (Some(fd), Ret::Value(_)) = (c.arg_u64(0), &c.ret) {
            self.close_fd(tpid, fd as i32);
        }
    }

    fn dup(&mut self, tpid: u32, c: &Syscall) {
        let (Some(old), Some(new)) = (c.arg_u64(0), c.ret.value()) else { return };
        let cloexec = c.name == "dup3" && c.arg_flags(2).is_some_and(|f| f & O_CLOEXEC != 0);
        self.dup_to(tpid, old as i32, new as i32, cloexec);
    }

    fn dup_to(&mut self, tpid: u32, old: i32, new: i32, cloexec: bool) {
        if old == new {
            return;
        }
        let pid = self.mpid(tpid);
        let table = self.procs[&tpid].table;
        let Some(open) = self.k.fd_description(pid, old) else { return };
        let kind = self.tables[table].kinds.get(&old).cloned().unwrap_or(FdKind::Other);
        let path = self.tables[table].paths.get(&old).cloned();
        self.install(tpid, new, open, kind, cloexec);
        if let Some(path) = path {
            self.tables[table].paths.insert(new, path);
        }
    }

    fn fcntl(&mut self, tpid: u32, c: &Syscall) {
        let Some(fd) = c.arg_u64(0) else { return };
        // `-X raw` prints the command as a number.
        let cmd =
            match c.arg(1).and_then(|a| a.as_ident().map(str::to_string).or_else(|| a.as_u64().map(|n| n.to_string())))
            {
                Some(cmd) => cmd,
                None => return,
            };
        let cmd = match cmd.as_str() {
            "0" => "F_DUPFD",
            "1030" => "F_DUPFD_CLOEXEC",
            "2" => "F_SETFD",
            other => other,
        };
        match cmd {
            "F_DUPFD" | "F_DUPFD_CLOEXEC" => {
                if let Some(new) = c.ret.value() {
                    self.dup_to(tpid, fd as i32, new as i32, cmd == "F_DUPFD_CLOEXEC");
                }
            }
            "F_SETFD" => {
                if let (Some(flags), Ret::Value(_)) = (c.arg_flags(2), &c.ret) {
                    let table = self.procs[&tpid].table;
                    for m in self.tables[table].members.clone() {
                        if let Some(p) = self.procs.get(&m) {
                            let _ = self.k.set_cloexec(p.pid, fd as i64, flags & 1 != 0);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn pipe(&mut self, tpid: u32, c: &Syscall) {
        let Ret::Value(_) = c.ret else { return };
        let arg = if c.name == "socketpair" { 3 } else { 0 };
        let cloexec = c.arg_flags(if c.name == "pipe2" { 1 } else { 9 }).is_some_and(|f| f & O_CLOEXEC != 0);
        let fds: Vec<u64> =
            c.arg(arg).and_then(Arg::as_array).map(|a| a.iter().filter_map(Arg::as_u64).collect()).unwrap_or_default();
        let kind = if c.name == "socketpair" { FdKind::Other } else { FdKind::Pipe };
        for fd in fds {
            self.install_unmodelled(tpid, fd as i32, cloexec, kind.clone());
        }
    }

    /// The check of a read or write that failed with EFAULT: the kernel checked the whole
    /// buffer with access_ok first, then copied (a pipe a page-sized piece at a time); the
    /// model must fault at the same point. Returns the model's result.
    fn efault_copy(&mut self, pid: Pid, reading: bool, pipe: bool, buf: u64, len: u64) -> SysResult<u64> {
        if !mm::access_ok(buf, len) {
            return Err(Errno::EFAULT);
        }
        let len = len.clamp(1, 4096);
        match (reading, pipe) {
            (true, true) => self.k.pipe_copy_to_user(pid, buf, &vec![0; len as usize]),
            (true, false) => self.k.copy_to_user(pid, buf, &vec![0; len as usize]),
            (false, true) => self.k.pipe_copy_from_user(pid, buf, len).map(|b| b.len() as u64),
            (false, false) => self.k.copy_from_user(pid, buf, len).map(|b| b.len() as u64),
        }
    }

    /// Whether `buf` lies in a VMA the process can access but that lacks VM_READ, so that
    /// the tracer's process_vm_readv cannot read it while the kernel's own copy can.
    fn unreadable_for_tracer(&self, pid: Pid, buf: u64) -> bool {
        let Ok(mm) = self.k.mm(pid) else { return false };
        mm.vmas.containing(buf).is_some_and(|v| {
            !v.flags.contains(mm::VmFlags::READ) && v.flags.intersects(mm::VmFlags::WRITE | mm::VmFlags::EXEC)
        })
    }

    /// The kernel's copy of `n` bytes from `buf`, a piece at a time, for its faults only.
    fn fault_in_user_bytes(&mut self, pid: Pid, buf: u64, n: u64) {
        let mut done = 0;
        while done < n {
            let len = (n - done).min(IO_PIECE);
            match self.k.copy_from_user(pid, buf.wrapping_add(done), len) {
                Ok(b) if b.len() as u64 == len => done += len,
                _ => break,
            }
        }
    }

    /// Whether descriptor `fd` of task `tpid` is a pipe end.
    fn is_pipe(&self, tpid: u32, fd: Option<u64>) -> bool {
        let table = self.procs[&tpid].table;
        fd.is_some_and(|fd| matches!(self.tables[table].kinds.get(&(fd as i32)), Some(FdKind::Pipe)))
    }

    fn memfd(&mut self, tpid: u32, c: &Syscall) {
        let (Some(name), Some(fd)) = (c.arg_str(0), c.ret.value()) else { return };
        let name = String::from_utf8_lossy(name).into_owned();
        let flags = c.arg_flags(1).unwrap_or(0);
        let pid = self.mpid(tpid);
        // The model picks the lowest free number; move it to the one the log shows.
        match self.k.memfd_create(pid, &name, flags) {
            Ok(got) if got as i32 != fd as i32 => {
                let o = self.k.fd_description(pid, got as i32).expect("just created");
                let file = self.k.machine().open_file(o).file;
                self.install(tpid, fd as i32, o, FdKind::File(file), flags & MFD_CLOEXEC != 0);
                let _ = self.k.close(pid, got as i64);
            }
            Ok(got) => {
                let o = self.k.fd_description(pid, got as i32).expect("just created");
                let file = self.k.machine().open_file(o).file;
                let table = self.procs[&tpid].table;
                self.tables[table].kinds.insert(fd as i32, FdKind::File(file));
            }
            Err(e) => self.error(format!("memfd_create in the model failed: {e}")),
        }
    }

    /// The model file for a path the log opened: already known, imported from this machine
    /// (identity from the log's stat results when it has them), or new and empty.
    fn file_for(&mut self, path: &str, raw: &str, create: bool) -> Option<FileId> {
        let real = self.files.canonical(path).unwrap_or_else(|| path.to_string());
        if let Some(id) = self.k.lookup(&real) {
            return Some(id);
        }
        let meta = self.files.stat(&real);
        if create || meta.is_none() {
            // A file the program creates: its identity is what the log's stat calls showed,
            // else the device of the directory it is in (the inode cannot be known).
            let id = self.k.create_file(&real, &[]);
            let known = self.ids.get(raw).or_else(|| self.ids.get(path)).or_else(|| self.ids.get(&real));
            let dir = std::path::Path::new(&real).parent().and_then(|d| self.files.stat(&d.to_string_lossy()));
            if let Some(i) = known {
                self.k.set_file_identity(id, i.major, i.minor, i.ino);
            } else if let Some(d) = dir {
                let ino = self.k.file(id).ino;
                self.k.set_file_identity(id, d.major, d.minor, ino);
            }
            return Some(id);
        }
        let ids = &self.ids;
        let known = |p: &str| ids.get(p).map(|i| (i.major, i.minor, i.ino));
        let known =
            |p: &str| if p == real { known(raw).or_else(|| known(path)).or_else(|| known(p)) } else { known(p) };
        let opened = self.files.open(&real, &[raw, path], &known).ok()?;
        Some(self.k.import_file_from(&real, opened.id.0, opened.id.1, opened.id.2, mm::Source::new(opened.content)))
    }

    fn open(&mut self, tpid: u32, line: u64, c: &Syscall) {
        let Some(fd) = c.ret.value() else { return };
        let fd = fd as i32;
        let (path_arg, flags_arg) = match c.name.as_ref() {
            "openat" => (1, 2),
            "creat" => (0, usize::MAX),
            _ => (0, 1),
        };
        let Some(raw) = c.arg_str(path_arg) else { return };
        let raw = String::from_utf8_lossy(raw).into_owned();
        let dirfd = if c.name == "openat" { 0 } else { usize::MAX };
        let Some(path) = self.path_arg_at(tpid, c, dirfd, path_arg) else {
            // Relative to a directory the replay cannot name: the file is unknown.
            return self.install_other(tpid, fd, false);
        };
        let flags = if c.name == "creat" { O_CREAT | O_WRONLY | O_TRUNC } else { c.arg_flags(flags_arg).unwrap_or(0) };
        let cloexec = flags & O_CLOEXEC != 0;
        if let Some((what, target)) = self.proc_text(tpid, &path) {
            let f = self.other_file();
            let o = self.k.open_description(f, true, false);
            self.install(tpid, fd, o, FdKind::Proc { what, target }, cloexec);
            self.k.release_open(o);
            self.set_fd_path(tpid, fd, path);
            return;
        }
        let created = flags & O_CREAT != 0 && self.k.lookup(&path).is_none() && self.files.stat(&path).is_none();
        match self.file_for(&path, &raw, created) {
            Some(file) => {
                if flags & O_TRUNC != 0 && flags & O_ACCMODE != O_RDONLY {
                    self.k.truncate_file(file, 0);
                }
                let acc = flags & O_ACCMODE;
                let o = self.k.open_description(file, acc != O_WRONLY, acc != O_RDONLY);
                self.install(tpid, fd, o, FdKind::File(file), cloexec);
                self.k.release_open(o);
            }
            None => {
                let _ = line;
                self.install_other(tpid, fd, cloexec);
            }
        }
        self.set_fd_path(tpid, fd, path);
    }

    /// Whether `path` is a /proc text the replay checks: (which, whose trace pid).
    fn proc_text(&self, tpid: u32, path: &str) -> Option<(ProcText, u32)> {
        let rest = path.strip_prefix("/proc/")?;
        let (who, what) = rest.split_once('/')?;
        let what = match what {
            "maps" => ProcText::Maps,
            "smaps" => ProcText::Smaps,
            _ => return None,
        };
        let target = match who {
            "self" | "thread-self" => tpid,
            n => n.parse().ok()?,
        };
        Some((what, target))
    }

    // ---- reads and writes ----

    /// The model's text of `/proc/PID/maps` or `smaps` for `target`, now.
    fn proc_text_now(&self, what: ProcText, target: u32) -> Option<String> {
        let p = self.procs.get(&target)?;
        match what {
            ProcText::Maps => procfs::maps(&self.k, p.pid).ok(),
            ProcText::Smaps => procfs::smaps(&self.k, p.pid).ok(),
        }
    }

    /// A split read started: if it reads `/proc`, remember the replay as it is now.
    fn read_started(&mut self, tpid: u32, fd: Option<u64>) {
        self.read_starts.remove(&tpid);
        self.name_shmem_objects();
        let (Some(fd), Some(p)) = (fd, self.procs.get(&tpid)) else { return };
        if let (true, Some(FdKind::Proc { .. })) = (self.verify(), self.tables[p.table].kinds.get(&(fd as i32))) {
            let mut start = Clone::clone(self);
            start.read_starts.clear();
            self.read_starts.insert(tpid, ReadWindow { start: Box::new(start), since: Vec::new() });
        }
    }

    /// After task `tpid`'s call ended: the reads of `/proc` other tasks have in progress
    /// may have seen the address space before or after it.
    fn note_call_during_reads(&mut self, tpid: u32, call: &Syscall) {
        if self.read_starts.is_empty() || !CHANGES_MAPS.contains(&call.name.as_ref()) {
            return;
        }
        for (&reader, window) in self.read_starts.iter_mut() {
            if reader != tpid {
                window.since.push((tpid, call.clone()));
            }
        }
    }

    fn read(&mut self, tpid: u32, line: u64, c: &Syscall, data: Option<Vec<u8>>) {
        let Some(fd) = c.arg_u64(0) else { return };
        if c.ret.value().is_some() && self.io_result(line, c).is_none() {
            return;
        }
        let table = self.procs[&tpid].table;
        let kind = self.tables[table].kinds.get(&(fd as i32)).cloned();
        let window = self.read_starts.remove(&tpid).filter(|_| c.unfinished_line.is_some());
        if let (Some(FdKind::Proc { what, target }), Some(n)) = (&kind, c.ret.value()) {
            let (what, target) = (*what, *target);
            let data = data.unwrap_or_default();
            // read continues from the file position; pread64 reads at its offset and leaves
            // the position alone.
            let open = self.k.fd_description(self.mpid(tpid), fd as i32);
            let pread = c.name == "pread64";
            let text = self.proc_text_now(what, target);
            let pread_at = if pread { Some(c.arg_u64(3).unwrap_or(0)) } else { None };
            let pos = self.seq_read_start(open, text.as_deref(), pread_at);
            if self.blind_maps_read(target) {
                // Not comparable, but what it shows is still learned.
                let (passed, failed, shown) = (self.report.passed, self.report.failed, self.report.mismatches.len());
                self.check_proc_read(tpid, line, what, target, pos, &data, window);
                (self.report.passed, self.report.failed) = (passed, failed);
                self.report.mismatches.truncate(shown);
            } else {
                self.check_proc_read(tpid, line, what, target, pos, &data, window);
            }
            self.seq_read_done(open, text.as_deref(), pos, n);
            if let (false, Some(o)) = (pread, open) {
                *self.positions.entry(o).or_default() += n;
            }
            return;
        }
        let proc_path = |d: &[u8]| d.starts_with(b"/proc/") && (d.ends_with(b"/maps") || d.ends_with(b"/smaps"));
        if !matches!(kind, Some(FdKind::Proc { .. })) && c.arg(0).and_then(Arg::decoration).is_some_and(proc_path) {
            // A /proc file opened out of the trace's sight: where the read began is unknown.
            *self.report.unchecked.entry("reads of /proc files opened out of the trace's sight".into()).or_default() +=
                1;
        }
        // A read that failed with EFAULT names its buffer: the model must fault there too.
        if let Ret::Error { errno, .. } = &c.ret {
            if errno == "EFAULT" {
                if let Some(buf) = c.arg_u64(1) {
                    let len = c.arg_u64(2).unwrap_or(1);
                    let pid = self.mpid(tpid);
                    let pipe = self.is_pipe(tpid, c.arg_u64(0));
                    let got = self.efault_copy(pid, true, pipe, buf, len).map(|_| 0);
                    self.check(line, &format!("{}(EFAULT buffer)", c.name), &c.ret, got);
                }
            }
            return;
        }
        if let (Some(FdKind::File(f)), Some(d)) = (&kind, &data) {
            let path = self.k.file(*f).path.clone();
            self.learn_setting(line, &path, d);
        }
        // Advance the file position of ordinary reads.
        if let (Some(FdKind::File(_)), Some(n), "read") = (&kind, c.ret.value(), c.name.as_ref()) {
            let pid = self.mpid(tpid);
            if let Some(o) = self.k.fd_description(pid, fd as i32) {
                *self.positions.entry(o).or_default() += n;
            }
        }
    }

    fn write(&mut self, tpid: u32, line: u64, c: &Syscall, data: Option<Vec<u8>>) {
        let Some(fd) = c.arg_u64(0) else { return };
        let Some(n) = self.io_result(line, c) else { return };
        let table = self.procs[&tpid].table;
        let Some(FdKind::File(file)) = self.tables[table].kinds.get(&(fd as i32)).cloned() else { return };
        let pid = self.mpid(tpid);
        let Some(o) = self.k.fd_description(pid, fd as i32) else { return };
        let mut data = data.unwrap_or_default();
        data.truncate(n as usize);
        let offset =
            if c.name == "pwrite64" { c.arg_u64(3).unwrap_or(0) } else { *self.positions.get(&o).unwrap_or(&0) };
        // The bytes the log shows, then zeros for those it does not, a piece at a time.
        let mut done = 0;
        if !data.is_empty() {
            done = self.k.file_write(file, offset, &data).unwrap_or(n);
        }
        let zeros = vec![0u8; (n - done).min(IO_PIECE) as usize];
        while done < n {
            let len = (n - done).min(IO_PIECE) as usize;
            match self.k.file_write(file, offset.saturating_add(done), &zeros[..len]) {
                Ok(w) if w > 0 => done += w,
                _ => break,
            }
        }
        if c.name == "write" {
            *self.positions.entry(o).or_default() += n;
        }
    }

    /// The calls that tasks other than `except`, sharing `task`'s address space, have in
    /// progress and `wanted` picks (by name and the arguments shown), as calls, in task order.
    fn calls_in_progress(
        &self,
        task: u32,
        except: u32,
        wanted: impl Fn(&str, &trace::Args) -> bool,
    ) -> Vec<(u32, Syscall)> {
        let mm_of = |t: &u32| self.procs.get(t).and_then(|p| self.k.mm_id(p.pid).ok());
        let Some(mm) = mm_of(&task) else { return Vec::new() };
        let mut calls: Vec<_> = self
            .in_progress
            .iter()
            .filter(|(t, (name, args))| **t != except && wanted(name, args) && mm_of(t) == Some(mm))
            .map(|(&t, (name, args))| (t, started_call(name, args)))
            .collect();
        calls.sort_by_key(|c| c.0);
        calls
    }

    /// The `mmap`, `munmap` and `mprotect` calls that tasks sharing `tpid`'s address space
    /// have in progress (their arguments are all shown when they start).
    fn concurrent_calls(&self, tpid: u32) -> Vec<(u32, Syscall)> {
        self.calls_in_progress(tpid, tpid, |name, args| match name {
            "mmap" => args.len() == 6,
            "munmap" => args.len() == 2,
            "mprotect" => args.len() == 3,
            _ => false,
        })
    }

    /// Replays a placing call (`mmap`, `mremap`, `brk`) made while other threads had mapping
    /// calls in progress. The kernel may have done those first, though strace prints their
    /// ends later: when the call's result does not match in the order of the lines, the
    /// replay tries again with them done first, and keeps that order if it matches (their
    /// own results are checked when their lines come).
    fn syscall_reordered(&mut self, tpid: u32, line: u64, call: &Syscall) {
        let before = Clone::clone(&*self);
        let failed = self.report.failed;
        self.syscall(tpid, line, call);
        if self.report.failed == failed {
            return;
        }
        // Which of them went first is unknown: try the smaller sets first, each in task
        // order. A handful of threads at most are ever caught in the middle of such calls.
        let early = before.concurrent_calls(tpid);
        let n = early.len().min(4);
        let mut sets: Vec<u32> = (1..1u32 << n).collect();
        sets.sort_by_key(|set| set.count_ones());
        for set in sets {
            let mut other = Clone::clone(&before);
            for (i, (t, call)) in early.iter().take(n).enumerate() {
                if set & (1 << i) != 0 {
                    other.apply_early(*t, call);
                }
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
    fn apply_early(&mut self, t: u32, early: &Syscall) {
        if !self.procs.contains_key(&t) {
            return;
        }
        let (_, result) = self.maps_call(t, early);
        self.in_progress.remove(&t);
        self.applied_early.insert(t, (early.clone(), result));
    }

    /// A task other than `tpid` whose `mmap`, done ahead of its line with the same arguments
    /// as `call`, returned what `call` did in the trace. Identical anonymous calls cannot be
    /// told apart until their results come, so the early one may have been the other's.
    fn early_twin(&self, tpid: u32, call: &Syscall) -> Option<u32> {
        if self.applied_early.is_empty() || call.name != "mmap" {
            return None;
        }
        let want = call.ret.value()?;
        self.applied_early
            .iter()
            .filter(|(&t, (early, result))| t != tpid && early.args == call.args && *result == Ok(want))
            .map(|(&t, _)| t)
            .min()
    }

    /// Whether the text a `/proc` read of `target` by `reader` gave (`fits` tells) is the
    /// text of a state the address space may have been in during the read: the state when
    /// it began (`window`, for a split read; now, otherwise) with any of the calls other
    /// threads ended meanwhile or still have in progress done, in their order.
    fn concurrent_state_explains(
        &self,
        reader: u32,
        what: ProcText,
        target: u32,
        window: Option<&ReadWindow>,
        fits: &dyn Fn(&str) -> bool,
    ) -> bool {
        let mut calls: Vec<(u32, Syscall)> = window.map(|w| w.since.clone()).unwrap_or_default();
        calls.extend(self.calls_in_progress(target, reader, |name, _| CHANGES_MAPS.contains(&name)));
        if calls.is_empty() {
            return false;
        }
        let base: &Replayer = window.map_or(self, |w| &w.start);
        // At most a handful of calls overlap one read; beyond six, only the first six vary.
        let n = calls.len().min(6);
        (0..1u32 << n).any(|set| {
            let mut copy = Clone::clone(base);
            copy.in_progress.clear();
            copy.read_starts.clear();
            for (i, (t, call)) in calls.iter().take(n).enumerate() {
                if set & (1 << i) != 0 {
                    copy.syscall(*t, 0, call);
                }
            }
            copy.proc_text_now(what, target).is_some_and(|text| fits(&text))
        })
    }

    /// Checks the bytes a read of `/proc/PID/maps` or `smaps` gave against the model's text
    /// now, or, when other threads' calls overlap the read, against the states the address
    /// space may have been in (see [`Replayer::concurrent_state_explains`]).
    #[allow(clippy::too_many_arguments)]
    fn check_proc_read(
        &mut self,
        reader: u32,
        line: u64,
        what: ProcText,
        target: u32,
        pos: u64,
        data: &[u8],
        window: Option<ReadWindow>,
    ) {
        if !self.verify() {
            return;
        }
        self.name_shmem_objects();
        let Some(p) = self.procs.get(&target) else {
            return self.error(format!("line {line}: read of /proc of an unknown task {target}"));
        };
        let Some(text) = self.proc_text_now(what, target) else { return };
        let attached = self.exec_of(target).is_some_and(|(_, c)| c.line == ATTACHED);
        if attached && self.learned.attached_before.is_none() && self.learned.attached.is_none() {
            let (want, got) = (String::from_utf8_lossy(data), text.as_bytes().get(pos as usize..).unwrap_or(&[]));
            if !got.starts_with(want.as_bytes()) {
                self.learned.attached_before = Some(Bound { value: true, line });
            }
        }
        if attached && self.learned.attached.is_none() && self.learned.attached_before.is_some() {
            // The text shows mappings made before the trace, which it never showed whole.
            if what == ProcText::Maps && pos == 0 {
                self.learn_attached_start(line, &String::from_utf8_lossy(data));
            }
            *self.report.unchecked.entry(UNSEEN_PLACEMENT.into()).or_default() += 1;
            return;
        }
        if what == ProcText::Smaps && self.opts.mode < Mode::Strict {
            return;
        }
        let created = self.k.mm_id(p.pid).ok().and_then(|id| self.created.get(&id)).cloned().unwrap_or_default();
        // The part of a text this read covers, as compared (smaps: the fields checked).
        let view = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes);
            if what == ProcText::Smaps {
                smaps_of(&text, &created)
            } else {
                text.into_owned()
            }
        };
        let part = |text: &str| {
            let start = (pos as usize).min(text.len());
            let end = (start + data.len()).min(text.len());
            view(&text.as_bytes()[start..end])
        };
        let (want, got) = (view(data), part(&text));
        let earlier_matches = want != got
            && self.concurrent_state_explains(reader, what, target, window.as_ref(), &|t: &str| part(t) == want);
        let name = if what == ProcText::Maps { "read(/proc/PID/maps)" } else { "read(/proc/PID/smaps)" };
        if what == ProcText::Maps && !earlier_matches {
            // The text read so far, from offset 0: a line a small read cut in two is whole
            // once the next read brings its end.
            let seen = self.maps_seen.entry((reader, target)).or_default();
            if pos == 0 {
                seen.clear();
            }
            if pos == seen.len() as u64 {
                seen.push_str(&String::from_utf8_lossy(data));
                let seen = seen.clone();
                self.learn_from_maps(target, line, &seen, &text);
            }
        }
        if want == got || earlier_matches {
            self.report.passed += 1;
        } else {
            self.report.mismatch(Mismatch {
                line,
                call: name.into(),
                expected: format!("{} bytes of text", want.len()),
                got: format!("{} bytes", got.len()),
                diff: Some(diff(&want, &got)),
            });
        }
    }

    /// Finishes a read or write logged with its buffer address: the bytes read go into the
    /// model's memory at that address (the kernel copy path, which can fault), and in strict
    /// mode the bytes written must be what the model's memory holds there.
    fn flush_raw_io(&mut self) {
        let Some(io) = self.raw_io.take() else { return };
        let c = &io.call;
        let Some(buf) = c.arg_u64(1) else { return };
        if !self.procs.contains_key(&io.tpid) {
            return;
        }
        let pid = self.mpid(io.tpid);
        let reading = c.name.starts_with("read") || c.name.starts_with("pread");
        match c.ret {
            Ret::Value(_) => {
                let Some(n) = self.io_result(io.line, c) else { return };
                let mut data = io.bytes.clone();
                data.truncate(n as usize);
                if reading {
                    // The bytes not dumped are taken as zeros, copied a piece at a time.
                    let got = self.copy_to_user_padded(pid, buf, &data, n);
                    if got.is_err() {
                        self.check(io.line, &format!("{} into {buf:#x}", c.name), &c.ret, got);
                    }
                    if n <= MAX_PADDED_READ {
                        data.resize(n as usize, 0);
                    }
                    self.read(io.tpid, io.line, c, Some(data));
                } else {
                    // No dump means strace could not read the buffer. Where its VMA lacks
                    // VM_READ (PROT_WRITE or PROT_EXEC only) the kernel still could: its
                    // pages are faulted in. Otherwise (a write to /dev/null reads nothing)
                    // there is nothing to check.
                    if io.bytes.is_empty() && n > 0 && self.unreadable_for_tracer(pid, buf) {
                        self.fault_in_user_bytes(pid, buf, n);
                    }
                    if self.opts.mode >= Mode::Strict && !io.bytes.is_empty() {
                        let got = self.user_bytes_differ(pid, buf, &data, n);
                        let what = format!("{} from {buf:#x} (memory contents)", c.name);
                        match got {
                            Ok(None) => self.report.passed += 1,
                            Ok(Some((want, bytes))) => self.report.mismatch(Mismatch {
                                line: io.line,
                                call: what,
                                expected: format!("{want:02x?}"),
                                got: format!("{bytes:02x?}"),
                                diff: None,
                            }),
                            Err(e) => self.report.mismatch(Mismatch {
                                line: io.line,
                                call: what,
                                expected: format!("{n} bytes"),
                                got: format!("-1 {}", e.name()),
                                diff: None,
                            }),
                        }
                    }
                    self.write(io.tpid, io.line, c, Some(data));
                }
            }
            Ret::Error { ref errno, .. } if errno == "EFAULT" => {
                let len = c.arg_u64(2).unwrap_or(1);
                let pipe = self.is_pipe(io.tpid, c.arg_u64(0));
                let got = self.efault_copy(pid, reading, pipe, buf, len);
                self.check(io.line, &format!("{} at {buf:#x}", c.name), &c.ret, got.map(|_| 0));
            }
            _ => {}
        }
    }

    /// copy_to_user of `data` and then zeros, `n` bytes in all, the zeros a piece at a time
    /// (a count in the log is not a size to allocate on this host). Like one copy_to_user:
    /// the bytes copied from the start, or EFAULT when not even the first one was.
    fn copy_to_user_padded(&mut self, pid: Pid, buf: u64, data: &[u8], n: u64) -> SysResult<u64> {
        let head = &data[..data.len().min(n as usize)];
        let mut done = 0;
        if !head.is_empty() {
            done = self.k.copy_to_user(pid, buf, head)?;
            if done < head.len() as u64 {
                return Ok(done);
            }
        }
        let zeros = vec![0u8; (n - done).min(IO_PIECE) as usize];
        while done < n {
            let len = (n - done).min(IO_PIECE) as usize;
            match self.k.copy_to_user(pid, buf.wrapping_add(done), &zeros[..len]) {
                Ok(w) => {
                    done += w;
                    if w < len as u64 {
                        break;
                    }
                }
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    /// Whether the `n` bytes of user memory at `buf` are `data` followed by zeros, read a
    /// piece at a time: None when they are, otherwise the first 32 bytes expected and the
    /// first 32 read; EFAULT when not even the first byte can be read.
    #[allow(clippy::type_complexity)]
    fn user_bytes_differ(&mut self, pid: Pid, buf: u64, data: &[u8], n: u64) -> SysResult<Option<(Vec<u8>, Vec<u8>)>> {
        let want_at = |at: u64, len: usize| -> Vec<u8> {
            (at..at + len as u64).map(|i| data.get(i as usize).copied().unwrap_or(0)).collect()
        };
        let heads = |first: &[u8]| (want_at(0, (n as usize).min(32)), first[..first.len().min(32)].to_vec());
        let mut done = 0u64;
        let mut first = Vec::new();
        while done < n {
            let len = (n - done).min(IO_PIECE);
            let piece = match self.k.copy_from_user(pid, buf.wrapping_add(done), len) {
                Ok(p) => p,
                Err(e) if done == 0 => return Err(e),
                Err(_) => Vec::new(),
            };
            if done == 0 {
                first = piece[..piece.len().min(32)].to_vec();
            }
            if piece.len() as u64 != len || piece != want_at(done, len as usize) {
                return Ok(Some(heads(&first)));
            }
            done += len;
        }
        Ok(None)
    }

    /// mincore: the result is checked; in strict mode also the vector the log shows (for
    /// programs whose residency follows from their system calls alone).
    fn mincore(&mut self, tpid: u32, line: u64, c: &Syscall) {
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
                let have: Vec<u8> = have[..n].iter().map(|b| b & 1).collect();
                if want[..n] == have[..] {
                    self.report.passed += 1;
                } else {
                    self.report.mismatch(Mismatch {
                        line,
                        call: "mincore vector".into(),
                        expected: format!("{:?}", &want[..n]),
                        got: format!("{have:?}"),
                        diff: None,
                    });
                }
            }
        }
    }

    /// prlimit64/setrlimit of the memory limits: later calls (and execs) obey them.
    fn setrlimit(&mut self, tpid: u32, c: &Syscall) {
        let Ret::Value(_) = c.ret else { return };
        let (resource, new) = if c.name == "prlimit64" {
            if c.arg_u64(0).is_some_and(|p| p != 0) {
                return;
            }
            (c.arg(1), c.arg(2))
        } else {
            (c.arg(0), c.arg(1))
        };
        let Some(res) = resource.and_then(Arg::as_ident) else { return };
        let which = match res {
            "RLIMIT_STACK" => mm::Rlimit::Stack,
            "RLIMIT_DATA" => mm::Rlimit::Data,
            "RLIMIT_AS" => mm::Rlimit::As,
            "RLIMIT_MEMLOCK" => mm::Rlimit::Memlock,
            _ => return,
        };
        let Some(value) = new.and_then(|n| n.field("rlim_cur")).and_then(rlim_value) else { return };
        let pid = self.mpid(tpid);
        let _ = self.k.setrlimit(pid, which, value);
    }

    // ---- memory ----

    /// A real program writes the private writable memory it maps (heap, bss, relocations,
    /// stacks) with plain stores the trace cannot show; those first writes give the VMA an
    /// anon_vma, which decides how later neighbours merge. In verify mode the replay assumes
    /// them; strict mode is for programs that touch memory only through system calls.
    fn program_writes(&mut self, pid: Pid, addr: u64) {
        if self.opts.mode != Mode::Strict {
            let _ = self.k.assume_written(pid, addr);
        }
    }

    /// Does an `mmap`, `munmap` or `mprotect` call on the model, with the replay's
    /// bookkeeping; returns the name its result is checked under, and the result.
    fn maps_call(&mut self, tpid: u32, c: &Syscall) -> (&'static str, SysResult<u64>) {
        let pid = self.mpid(tpid);
        let Some(call) = self.model_call(c) else { return ("mmap", Err(Errno::ENOSYS)) };
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

const CLONE_VM: u64 = 0x100;
const CLONE_FILES: u64 = 0x400;
const CLONE_VFORK: u64 = 0x4000;
const SIGCHLD_FLAGS: u64 = 17;

/// Flag names of clone that the abi tables do not have.
trait CloneFlags {
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

/// The interpreter line of a `#!` script on this machine: (interpreter, optional argument).
/// The value of a personality flag name strace prints.
fn personality_flag(name: &str) -> Option<u64> {
    PERSONALITY_NAMES.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

/// A limit as strace prints it: a number, `N*1024`, or RLIM64_INFINITY.
fn rlim_value(cur: &Arg) -> Option<u64> {
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

fn shebang(head: &[u8]) -> Option<(String, Option<String>)> {
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

/// The smaps records (header and residency lines) of mappings inside `created`.
fn smaps_of(text: &str, created: &[(u64, u64)]) -> String {
    let mut out = String::new();
    let mut keep = false;
    for line in text.lines() {
        if let Some(h) = procfs::parse::parse_maps_line(line) {
            keep = created.iter().any(|&(a, b)| h.start >= a && h.end <= b);
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Lines only in the log (`-`) or only in the model (`+`).
fn diff(want: &str, got: &str) -> String {
    procfs::parse::diff_lines("log", want, "model", got)
}
