//! The replayer: one model task per traced task, one descriptor table per group of tasks
//! that share one, and a handler per system call. This file holds its state and the path of
//! one event (task bookkeeping, the result check); the handlers are in the modules below,
//! one concern each: [`run`] drives the runs over a log, [`dispatch`] sends each call to its
//! handler, [`process`] has execve, clone and exits, [`fds`] descriptors and paths, [`io`]
//! reads and writes with their raw buffers, [`procread`] and [`seq`] reads of `/proc`,
//! [`reorder`] threads whose lines strace printed out of order, [`learn`] the unknowns a log
//! binds, [`lazyfree`] the states of lazily freed pages reads show, [`attach`] (with
//! [`undo`]) the start of a process strace attached to, [`blind`] logs that do not show
//! every call.

use crate::call::call_with;
use crate::files::Files;
use crate::identity::{Identities, Identity};
use crate::report::{Mismatch, Mode, ReplayError, Report};
use crate::unknowns::{Bound, Learned};
use abi::*;
use attach::{ATTACHED, UNSEEN_PLACEMENT};
use learn::ExecCtx;
use mm::{Call, Config, FileId, Kernel, MmId, OpenFileId, Pid};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::sync::mpsc;
use trace::{Arg, Event, EventKind, ParseError, Parser, Ret, Syscall};

mod aged;
mod attach;
mod blind;
mod cgroup;
mod dispatch;
mod fds;
mod io;
mod lazyfree;
mod learn;
mod pageout;
mod process;
mod procread;
mod remap;
mod reorder;
mod run;
mod seq;
mod stack;
mod sysv;
mod undo;
mod unwritten;
pub(crate) use fds::is_plain_absolute;
pub(crate) use fds::join as join_path;
use process::*;
use reorder::*;
pub use run::{replay, replay_observed, replay_parsed, replay_parsed_observed, replay_text, replay_with, Observer};

/// The model's RAM in a replay: more than the programs one records use, so that memory
/// runs out where it ran out on the recording machine, or not at all.
pub const DEFAULT_RAM: u64 = 16 << 30;

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
    /// The log does not order the calls of threads sharing an address space: merged
    /// `strace -ff` files, whose lines are whole calls (stamped, if at all, when they began:
    /// a call may have run after calls of other threads that began later). Where a thread's
    /// mapping went then depends on an interleaving nothing in the log shows: once threads
    /// have shared an address space, its mappings go where the log says, unchecked, and
    /// reads of its maps are not compared (the report counts both).
    pub threads_unordered: bool,
}

/// A task as the log names it (the pid strace prints), as opposed to the model's pid for
/// it ([`Replayer::mpid`] maps one to the other): the two are both numbers, and mixing them
/// up would compile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct TracePid(pub(crate) u32);

/// The first process of a log whose first lines name no task, until a line names it.
pub(crate) const UNNAMED: TracePid = TracePid(0);

/// The report's reason for calls strace stopped and answered itself (`-e inject`, `-e fault`).
const INJECTED: &str = "calls whose result strace injected (-e inject, -e fault): the kernel did not run them";

impl std::fmt::Display for TracePid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What a descriptor is, beyond the model's open file description.
#[derive(Clone, Debug)]
enum FdKind {
    /// A file the model has.
    File(FileId),
    /// A /proc text of a process: what, and whose (trace pid). How far it was read is the
    /// position of its open file description (shared with its duplicates).
    Proc { what: ProcText, target: TracePid },
    /// A file of a memory cgroup the trace made.
    Cgroup(cgroup::CgroupFile),
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
    members: Vec<TracePid>,
    kinds: BTreeMap<i32, FdKind>,
    /// The path each descriptor was opened by, where known (for `fchdir` and opens relative
    /// to a directory descriptor).
    paths: BTreeMap<i32, String>,
}

/// A read or write whose buffer address the log shows, with the bytes dumped after it.
#[derive(Clone, Debug)]
struct RawIo {
    tpid: TracePid,
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
    /// Whether the compat vDSO image was looked for (see `load_vdso32_image`).
    vdso32_tried: bool,
    /// Whether the report said that the log does not show clone3's flags.
    clone3_flags_noted: bool,
    k: Kernel,
    opts: Options,
    ids: Identities,
    procs: HashMap<TracePid, Proc>,
    tables: Vec<FdTable>,
    /// Events of tasks whose creating clone has not completed yet, in order.
    pending: HashMap<TracePid, Vec<Event>>,
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
    root: Option<TracePid>,
    /// Tasks that exited (trace pid → the line of their `+++ exited` or `+++ killed`), until
    /// a clone makes a new task with the same id.
    exited: HashMap<TracePid, u64>,
    /// A read or write logged with its buffer address (`-e raw=`), waiting for the dump
    /// lines (`-e read=`/`-e write=`) that carry its bytes.
    raw_io: Option<RawIo>,
    /// Reads of `/proc/PID/maps` or `smaps` strace split, by reading task: the replay as it
    /// was when the read began, and the calls of other threads that ended since.
    read_starts: HashMap<TracePid, ReadWindow>,
    /// Calls strace showed started and not yet finished, by task: name and the arguments
    /// shown, and the line that started it. A `/proc` read may see the effect of one of them
    /// before its line completes.
    in_progress: HashMap<TracePid, (String, trace::Args, u64)>,
    /// Calls of other threads done ahead of their end line, by task, with their result and
    /// the line at which the model did them.
    applied_early: HashMap<TracePid, (Syscall, SysResult<u64>, u64)>,
    /// By task with an `mmap` in progress: the mapping calls other tasks of its address
    /// space ended meanwhile (the kernel may have placed the mapping before them), with when
    /// the model did each (see [`reorder::DoneAt`]).
    ended_during: HashMap<TracePid, Vec<(Syscall, DoneAt)>>,
    /// The pages strace's reads (process_vm_readv, to print a buffer) gave a process its
    /// own copy of, by address space and page address: the read pin unshared them (see
    /// [`learn::UNSHARE_COPIES_DIRTY`]).
    tracer_copied: HashSet<(MmId, u64)>,
    /// This run learned the stack limit the first task inherited: its tasks laid their mmap
    /// areas out under another limit, so it binds no more draws (the next run does).
    stack_limit_learned_now: bool,
    /// Pages of the loader's and the C library's memory whose bytes dumps showed (see
    /// `bind_loader_bytes`), by address space and page address.
    loader_pages: HashSet<(MmId, u64)>,
    /// Pages a MADV_COLD in the trace made old (see `aged.rs`): Linux skips a page that is
    /// not on an LRU list yet, which the trace cannot show. Kept by frame, so that a page
    /// an mremap moved is still found.
    made_old_by_cold: BTreeSet<(MmId, mm::frame::Pfn)>,
    /// Pages a MADV_PAGEOUT in the trace took out of the model's address spaces, with the
    /// line of the call (see `pageout.rs`): Linux skips a page not yet on an LRU list.
    paged_out: BTreeMap<(MmId, u64), u64>,
    /// `place_at` replaces what is mapped there (MAP_FIXED), instead of failing.
    place_replacing: bool,
    /// Address spaces that threads have shared in a log that does not order their calls
    /// (see [`Options::threads_unordered`]).
    unordered_mms: HashSet<MmId>,
    /// Where the next `mmap` is to go, or `mremap` to move its mapping to (see
    /// `syscall_placed_first`), instead of where the model would place it.
    place_at: Option<u64>,
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
    execs: HashMap<MmId, std::sync::Arc<ExecCtx>>,
    /// Model tasks whose stack limit a call in the log set (theirs or a parent's): what
    /// they report of it is not what the first task inherited.
    stack_limit_set: HashSet<Pid>,
    /// For a log attached to a running process, until its state at the attach is known:
    /// by address space of that process (and of those forked from it), what the calls of
    /// the log did to its mappings, in order (see `attach`).
    attach_history: HashMap<MmId, Vec<undo::Effect>>,
    /// SysV segments the log never made, found attached in a process it attached to: their
    /// size is what its mappings showed (at least), their attaches in untraced processes
    /// unknown.
    shm_adopted: std::collections::BTreeSet<u32>,
    /// The attached processes (by the task that began each) whose start, learned by an
    /// earlier run, this run installed (the model's numbering of shared memory objects then
    /// follows that start).
    attached_installed: HashSet<TracePid>,
    /// The log attached to running processes: a task whose start it does not show is one
    /// more of them (or a thread of one), not a process a hidden fork made.
    attach_log: bool,
    /// The log's first line named no task: strace traced one task (no `-f`, one `-p`).
    unprefixed: bool,
    /// The tasks that began attached processes, in the order their first lines came, with
    /// the address space each began in (the key of its history).
    attached_began: Vec<(TracePid, MmId)>,
    /// This run found tasks begun apart sharing an address space: the histories it kept
    /// are not those of the next run, which starts them as one process.
    attached_regrouped: bool,
    /// A task of an attached log, shown with no start, was taken for a process that calls
    /// a filter hid made (see `process_calls_shown`).
    found_blind: bool,
    /// In an attached log: the tasks that called exit or exit_group themselves, and those
    /// whose exit_group is ending their thread group now (see `note_exits`).
    own_exit: HashSet<TracePid>,
    exiting_groups: Vec<TracePid>,
    /// The writes the replay assumed a program made with plain stores: the range of the VMA
    /// written then, and the line (see `unwritten`).
    assumed_writes: Vec<(u64, u64, u64)>,
    /// Tasks made at their first line, which came while the clone that made them was in
    /// progress (see `sole_clone_in_progress`), and the task of that clone.
    made_early: HashMap<TracePid, TracePid>,
    /// Children made when their clone returned, that no line has named yet, with the line
    /// of the clone (see `child_in_a_pid_namespace`).
    unclaimed_children: Vec<(TracePid, u64)>,
    /// The lowest task id the log's lines name.
    lowest_line_pid: u32,
    /// Tasks strace said run in 32-bit mode before their first call.
    compat_tasks: HashSet<TracePid>,
    /// The maps text each reader has read of each target so far, from offset 0.
    maps_seen: HashMap<(TracePid, TracePid), String>,
    /// The maps texts [`Replayer::learn_from_maps`] parsed last (see [`learn::MapsParses`]).
    maps_parses: learn::MapsParses,
    /// The smaps text each reader has read of each target so far, from offset 0.
    smaps_seen: HashMap<(TracePid, TracePid), String>,
    /// Pages MADV_FREE freed that a read showed still swap-backed (model pid, address): a
    /// later read may show them moved to the lazy-free list (see `lazyfree`).
    lazyfree_pending: std::collections::BTreeSet<(Pid, u64)>,
    /// The memory cgroups the trace made and has not removed, by path below the mount.
    cgroups_made: BTreeSet<String>,
    /// Files of those groups the trace wrote and the model did not (group, file): what
    /// reads of them show is the recording machine's.
    cgroup_writes_unmodelled: BTreeSet<(String, String)>,
    /// Tasks a traced kill, tgkill or tkill sent SIGKILL to (their `killed by SIGKILL` is
    /// not an OOM kill), and whether one sent it to a process group or to every process.
    sigkilled: HashSet<TracePid>,
    sigkill_broadcast: bool,
    /// The line of the event being replayed (what an error is about).
    line: u64,
    /// The task of the event being replayed (whose files a mismatch may follow from).
    at: Option<TracePid>,
}

/// Whether an event is an execve of a program the log names (the start of a trace that ran
/// its program): an execve whose path strace printed as an address (`-e raw=all`) starts an
/// address space the log does not show, as a filtered-out execve does.
fn is_exec(ev: &Event) -> bool {
    match &ev.kind {
        EventKind::Syscall(c) => match c.name.as_ref() {
            "execve" => c.arg_str(0).is_some(),
            "execveat" => c.arg_str(1).is_some(),
            _ => false,
        },
        EventKind::CallStarted { name, .. } => matches!(name.as_str(), "execve" | "execveat"),
        _ => false,
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

impl Replayer {
    /// A replayer with a fresh model configured like this machine.
    pub fn new(ids: Identities, opts: Options) -> Self {
        Self::with_learned(ids, opts, Learned::default())
    }

    /// A replayer that knows the unknowns `learned` binds.
    pub fn with_learned(ids: Identities, opts: Options, learned: Learned) -> Self {
        Replayer::with_files(ids, opts, learned, std::sync::Arc::new(Files::host()), 0, DEFAULT_RAM)
    }

    fn with_files(
        mut ids: Identities,
        opts: Options,
        learned: Learned,
        files: std::sync::Arc<Files>,
        event_capacity: usize,
        ram_bytes: u64,
    ) -> Self {
        for (path, b) in &learned.files {
            ids.learn(path, b.value);
        }
        let mut config = Config {
            event_capacity,
            pkeys: files.pkeys(),
            ram_bytes,
            // Shared memory objects are known by the model's number until a read shows
            // theirs (Learned::shmem_inos): the two kinds of number must never meet.
            first_ino: 1 << 32,
            ..Config::default()
        };
        // The recording machine's vDSO, where a maps read showed it; else the bundle's, else
        // this machine's.
        if let Some(v) = files.vdso() {
            config.vdso = v;
        }
        if let Some(kb) = files.read_ahead_kb() {
            config.read_ahead_kb = kb;
        }
        learn::apply_settings(&mut config, &learned);
        if let Some(b) = learned.vdso_pages {
            (config.vdso.vvar_pages, config.vdso.vvar_vclock_pages, config.vdso.vdso_pages) = b.value;
        }
        // The recording machine's vDSO code (the bundle's, else this machine's), where it
        // has the recording machine's size.
        config.vdso_image = files.vdso_image().filter(|img| img.len() as u64 == config.vdso.vdso_pages * PAGE_SIZE);
        let mut k = Kernel::new(config);
        // The recording machine's swap, as one device of the size a read showed (its header
        // page besides), so that what counts swap counts the same; where reads showed only
        // that pages were swapped, one as large as the RAM.
        let swap_size = match (learned.settings.get(learn::SWAP_TOTAL), learned.settings.get(learn::SWAP_SHOWN)) {
            (Some(b), _) => b.value,
            (None, Some(_)) => k.config().ram_bytes,
            (None, None) => 0,
        };
        if swap_size > 0 {
            let spec = mm::swap::SwapSpec {
                path: "/recorded-swap".into(),
                size: swap_size.saturating_add(PAGE_SIZE),
                priority: None,
                partition: true,
            };
            let _ = k.swapon(&spec);
        }
        if let Some(v) = cgroup::bound_version(&learned) {
            let _ = k.set_cgroup_version(v);
        }
        Replayer {
            files,
            vdso32_tried: false,
            clone3_flags_noted: false,
            k,
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
            ended_during: HashMap::default(),
            place_at: None,
            unordered_mms: HashSet::default(),
            place_replacing: false,
            loader_pages: HashSet::default(),
            made_old_by_cold: BTreeSet::new(),
            paged_out: BTreeMap::new(),
            stack_limit_learned_now: false,
            tracer_copied: HashSet::default(),
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
            attach_history: HashMap::default(),
            shm_adopted: Default::default(),
            attached_installed: HashSet::default(),
            attach_log: false,
            unprefixed: false,
            attached_began: Vec::new(),
            attached_regrouped: false,
            found_blind: false,
            own_exit: HashSet::default(),
            exiting_groups: Vec::new(),
            assumed_writes: Vec::new(),
            made_early: HashMap::default(),
            unclaimed_children: Vec::new(),
            lowest_line_pid: u32::MAX,
            compat_tasks: HashSet::default(),
            maps_seen: HashMap::default(),
            maps_parses: learn::MapsParses::default(),
            smaps_seen: HashMap::default(),
            lazyfree_pending: Default::default(),
            cgroups_made: BTreeSet::new(),
            cgroup_writes_unmodelled: BTreeSet::new(),
            sigkilled: HashSet::default(),
            sigkill_broadcast: false,
            line: 0,
            at: None,
        }
    }

    /// Counts a mismatch, with the differing file it follows from when the task it is about
    /// runs one as its program or interpreter, or maps one.
    fn mismatch(&mut self, mut m: Mismatch) {
        if m.cause.is_none() {
            m.cause = self.differing_file_in_use();
        }
        self.report.mismatch(m);
    }

    /// The first differing file (see [`Files::differs`]) that the current task's program or
    /// interpreter is, or that its address space maps.
    fn differing_file_in_use(&self) -> Option<String> {
        let differing = self.files.differing();
        if differing.is_empty() {
            return None;
        }
        let tpid = self.at?;
        if let Some((_, ctx)) = self.exec_of(tpid) {
            let mut run = [ctx.program, ctx.interp].into_iter().flatten().map(|f| &self.k.file(f).path);
            if let Some(p) = run.find(|p| differing.contains(*p)) {
                return Some(p.clone());
            }
        }
        let mm = self.k.mm(self.procs.get(&tpid)?.pid).ok()?;
        mm.vmas
            .iter()
            .filter_map(|v| v.file)
            .map(|o| &self.k.file(o.file).path)
            .find(|p| differing.contains(*p))
            .cloned()
    }

    /// The model after (part of) the replay.
    pub fn kernel(&self) -> &Kernel {
        &self.k
    }

    /// What the replay found so far.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// The traced tasks the replay knows, as (pid in the trace, pid in the model).
    pub fn trace_pids(&self) -> impl Iterator<Item = (u32, Pid)> + '_ {
        self.procs.iter().map(|(t, p)| (t.0, p.pid))
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

    /// Reports that the line being replayed cannot be (see [`ReplayError`]).
    fn error(&mut self, msg: String) {
        self.error_at(self.line, 1, msg);
    }

    /// Reports that line `line` cannot be read or replayed from `column` on.
    fn error_at(&mut self, line: u64, column: u32, message: String) {
        self.report.errors.push(ReplayError { line, column, message });
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
            self.mismatch(Mismatch {
                line,
                call: what.to_string(),
                expected: ret_text(expected),
                got: result_text(&got),
                diff: None,
                cause: None,
            });
        }
    }

    /// Handles one event, holding back those of tasks whose clone has not returned yet.
    pub fn event(&mut self, ev: &Event) {
        self.line = ev.line;
        if let EventKind::Dump { offset, bytes } = &ev.kind {
            self.dump_line(ev.line, *offset, bytes);
            return;
        }
        self.flush_raw_io();
        if let EventKind::Other(text) = &ev.kind {
            // `-k` stack frames and notes: nothing happened (and after a task's exit they
            // must not start a new one). A task in 32-bit mode is said before its calls.
            if trace::is_summary_header(text.as_bytes()) {
                self.report.notes.push(format!(
                    "line {}: the summary table of strace -c/-C (counts of calls, not calls) is not replayed",
                    ev.line
                ));
            }
            if let Some(t) = attach::runs_in_32_bit_mode(text) {
                self.compat_tasks.insert(t);
                if ev.pid.is_none() && matches!(self.root, None | Some(UNNAMED)) {
                    // Of the first process, before a line names it.
                    self.compat_tasks.insert(UNNAMED);
                }
            }
            return;
        }
        let tpid = match ev.pid {
            Some(p) => TracePid(p),
            None => self.root.unwrap_or_default(),
        };
        if !self.unclaimed_children.is_empty() {
            self.unclaimed_children.retain(|(t, _)| *t != tpid);
        }
        if let Some(p) = ev.pid {
            self.lowest_line_pid = self.lowest_line_pid.min(p);
        }
        if self.names_the_root(tpid) {
            self.name_root(tpid);
        }
        if !self.procs.contains_key(&tpid) {
            if let (true, Some(&exit)) = (self.procs.is_empty(), self.exited.get(&tpid)) {
                // No task is left to clone a new one with this id.
                return self.after_exit(ev.line, tpid, exit);
            }
            // After every task ended, a task whose first line runs a program starts anew (a
            // second run appended to the log, `strace -A`): no traced task made it, and what
            // it inherited from an untraced parent, exec left behind.
            let anew = self.root.is_some()
                && self.procs.is_empty()
                && self.pending.is_empty()
                && !self.attach_log
                && is_exec(ev);
            if anew {
                self.report.notes.push(format!(
                    "line {}: task {tpid} runs a program after every task before it ended: taken for a new \
                     process started as the first was (a log appended to with strace -A)",
                    ev.line
                ));
            }
            if self.root.is_none() || (self.procs.is_empty() && self.root == Some(tpid)) || anew {
                let first = self.root.is_none();
                self.start_root(tpid);
                if first {
                    self.unprefixed = ev.pid.is_none();
                }
                if first && !is_exec(ev) {
                    self.attach_log = true;
                    self.start_attached(tpid);
                }
            } else if let Some(child) = self.child_in_a_pid_namespace(tpid, ev) {
                self.rename_task(child, tpid);
            } else if self.attach_log && self.learned.process_calls_shown.is_some() && self.creation_hidden(tpid, ev) {
                self.start_found(tpid, is_exec(ev));
            } else if self.creation_hidden(tpid, ev) {
                self.found_blind |= self.attach_log;
                self.adopt(tpid);
                self.check_start_shown(tpid, ev);
            } else if let Some((parent, flags)) =
                self.sole_clone_in_progress().filter(|_| !self.exited.contains_key(&tpid))
            {
                self.make_child_early(parent, tpid, flags, ev.line);
            } else if self.attach_log
                && matches!(ev.kind, EventKind::Exited { .. })
                && self.creation_hidden_at_exit(tpid)
            {
                // A task attached to that did nothing the log shows but end.
                self.unseen_task_exited(tpid, ev.line);
                return;
            } else {
                self.pending.entry(tpid).or_default().push(ev.clone());
                return;
            }
        }
        self.dispatch(tpid, ev);
    }

    fn dispatch(&mut self, tpid: TracePid, ev: &Event) {
        self.line = ev.line;
        self.at = Some(tpid);
        if !self.procs.contains_key(&tpid) {
            // Held until its clone returned, then its task exited before this line.
            let exit = self.exited.get(&tpid).copied().unwrap_or(0);
            return self.after_exit(ev.line, tpid, exit);
        }
        if self.attach_log && self.learned.process_calls_shown.is_none() {
            let name = match &ev.kind {
                EventKind::CallStarted { name, .. } => Some(name.as_str()),
                EventKind::Syscall(c) => Some(c.name.as_ref()),
                _ => None,
            };
            if name.is_some_and(attach::a_process_call) {
                self.learned.process_calls_shown = Some(ev.line);
                if self.found_blind {
                    // The tasks begun with no start shown were taken for processes a hidden
                    // fork made: a start learned with them so is not learned here.
                    for u in self.learned.attached.values_mut() {
                        u.start = None;
                        u.brk = None;
                    }
                    self.attached_regrouped = true;
                }
            }
        }
        if self.attach_log {
            self.note_exits(tpid, ev);
        }
        match &ev.kind {
            EventKind::CallStarted { name, args } => {
                if name == "read" || name == "pread64" {
                    self.read_started(tpid, args.first().and_then(Arg::as_u64));
                }
                self.in_progress.insert(tpid, (name.clone(), args.clone(), ev.line));
            }
            EventKind::Syscall(call) => {
                self.in_progress.remove(&tpid);
                // Before the replay of the call moves any mapping: its own, or those of the
                // calls of its address space done ahead of their lines or moved out of its
                // way to place it (all of them are in the address space this call changes).
                self.keep_read_windows(tpid, &call.name);
                let ended_during = self.ended_during.remove(&tpid).unwrap_or_default();
                let done_at =
                    self.applied_early.get(&tpid).map_or(DoneAt::Own(ev.line), |early| DoneAt::Early(early.2));
                if call.injected {
                    // strace answered in the kernel's place: the call changed nothing.
                    self.unchecked(INJECTED);
                } else if let Some((_, result, at)) = self.applied_early.remove(&tpid) {
                    // Done already, ahead of its line (see `syscall_reordered`).
                    match call.name.as_ref() {
                        "mremap" if self.verify() => {
                            self.early_remap_line(tpid, ev.line, call, result, at, &ended_during)
                        }
                        _ => self.check(ev.line, &call.name, &call.ret, result),
                    }
                } else if let Some(twin) = self.early_twin(tpid, call) {
                    // Another thread's identical mmap, done ahead, made the mapping this one
                    // returned: this call made it, and the other one is still to come.
                    let (_, result, _) = self.applied_early.remove(&twin).expect("found above");
                    self.check(ev.line, &call.name, &call.ret, result);
                } else if self.verify()
                    && (reorder::is_mmap(&call.name) || Self::moved(call))
                    && (!ended_during.is_empty() || !self.concurrent_calls(tpid).is_empty())
                {
                    self.syscall_placed_first(tpid, ev.line, call, &ended_during);
                } else if self.verify()
                    && matches!(call.name.as_ref(), "mmap" | "mmap2" | "mremap" | "brk")
                    && !self.concurrent_calls(tpid).is_empty()
                {
                    self.syscall_reordered(tpid, ev.line, call);
                } else {
                    self.syscall(tpid, ev.line, call);
                }
                self.note_call_during_reads(tpid, call);
                self.note_call_during_placements(tpid, call, done_at);
            }
            EventKind::Exited { .. } | EventKind::Killed { .. } => {
                if matches!(&ev.kind, EventKind::Killed { signal, .. } if signal == "SIGKILL") {
                    self.killed_by_sigkill(tpid, ev.line);
                }
                self.exited.insert(tpid, ev.line);
                self.task_exit(tpid);
            }
            _ => {}
        }
    }

    /// Whether `tpid`, a task the replay does not know, is the first process of a log whose
    /// first lines did not name it (strace writing to stderr without `-f` prefixes no line;
    /// the parser names their task once a result shows its pid): no clone made it, and the
    /// process the replay calls [`UNNAMED`] is the only one and not in a clone that may.
    fn names_the_root(&self, tpid: TracePid) -> bool {
        let cloning = self
            .in_progress
            .get(&UNNAMED)
            .is_some_and(|(name, _, _)| matches!(name.as_str(), "clone" | "clone3" | "fork" | "vfork"));
        tpid != UNNAMED
            && self.root == Some(UNNAMED)
            && self.procs.len() == 1
            && self.procs.contains_key(&UNNAMED)
            && !self.pending.contains_key(&tpid)
            && !cloning
    }

    /// The first process, known so far as [`UNNAMED`], is `tpid`.
    fn name_root(&mut self, tpid: TracePid) {
        self.rename_task(UNNAMED, tpid);
        self.root = Some(tpid);
    }

    /// Task `from` is task `to` in the log's lines from now on.
    fn rename_task(&mut self, from: TracePid, to: TracePid) {
        let rename = |t: &mut TracePid| {
            if *t == from {
                *t = to;
            }
        };
        fn rekey<V>(map: &mut HashMap<TracePid, V>, from: TracePid, to: TracePid) {
            if let Some(v) = map.remove(&from) {
                map.insert(to, v);
            }
        }
        rekey(&mut self.procs, from, to);
        rekey(&mut self.in_progress, from, to);
        rekey(&mut self.applied_early, from, to);
        rekey(&mut self.ended_during, from, to);
        rekey(&mut self.read_starts, from, to);
        for table in &mut self.tables {
            table.members.iter_mut().for_each(rename);
            for kind in table.kinds.values_mut() {
                if let FdKind::Proc { target, .. } = kind {
                    rename(target);
                }
            }
        }
        for seen in [&mut self.maps_seen, &mut self.smaps_seen] {
            *seen = std::mem::take(seen)
                .into_iter()
                .map(|((mut reader, mut target), text)| {
                    rename(&mut reader);
                    rename(&mut target);
                    ((reader, target), text)
                })
                .collect();
        }
        if self.compat_tasks.remove(&from) {
            self.compat_tasks.insert(to);
        }
    }

    /// The child that task `tpid`, new in the log at event `ev`, is when the traced program
    /// made it in a PID namespace of its own and the log does not translate pids: its
    /// clone returned a number lower than any task id the log's lines name (the namespace
    /// counts from 1), which no line has named since, and no clone is in progress to
    /// explain the new task otherwise. The oldest such child is the one.
    fn child_in_a_pid_namespace(&mut self, tpid: TracePid, ev: &Event) -> Option<TracePid> {
        if self.unclaimed_children.is_empty() {
            return None;
        }
        // (A child that made no call shows only its end.)
        let ended =
            matches!(ev.kind, EventKind::Exited { .. } | EventKind::Killed { .. }) && !self.pending.contains_key(&tpid);
        if !ended && !self.creation_hidden(tpid, ev) {
            return None;
        }
        let i = self.unclaimed_children.iter().position(|(t, _)| t.0 < self.lowest_line_pid)?;
        let (child, line) = self.unclaimed_children.remove(i);
        if !self.procs.contains_key(&child) {
            return None;
        }
        self.learned.namespaced_children.insert(line, Bound { value: (child.0, tpid.0), line: ev.line });
        Some(child)
    }

    fn mpid(&self, tpid: TracePid) -> Pid {
        self.procs[&tpid].pid
    }

    /// The address space of task `tpid`, if the model has the task and it has one.
    fn space_of(&self, tpid: TracePid) -> Option<MmId> {
        self.procs.get(&tpid).and_then(|p| self.k.mm_id(p.pid).ok())
    }
}
