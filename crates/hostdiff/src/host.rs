//! Runs a [`HostScript`] of memory system calls on the real kernel.
//!
//! - [`HostScript`] is what to run: files to create, fds to open in process 0
//!   and [`Step`]s, each an [`Op`] done by one process of the run.
//! - [`run_on_host`] runs it in fresh processes (ASLR off) and returns a
//!   [`HostRun`]: the starting state ([`HostInit`]) and one [`Outcome`] per
//!   step.
//! - [`file_byte`] is the content of the created files, so that a model can
//!   hold the same files.
//!
//! The real work happens in the C program `csrc/hostchild.c`, whose header
//! describes the protocol and how the processes take turns. This module
//! checks a script up front (every way a script can be wrong is reported as
//! [`HostError::InvalidStep`] before anything runs), plans the shared result
//! slots, starts the program under a time limit and turns its records into
//! outcomes.
//!
//! Process 0 is a fresh static binary started with `execveat(9, "",
//! ["hostchild", "child"], [], AT_EMPTY_PATH)` in the run's directory, so its
//! initial stack (argv, an empty environment, AT_EXECFN `/dev/fd/9`) is the
//! same wherever the binary and the directory are. Before [`HostInit`] is
//! taken it has disabled THP for itself (`PR_SET_THP_DISABLE`), grown its
//! stack by 256 KiB, mapped the one-page shared sync page and a one-page
//! private drain page (used to drain the per-CPU LRU batches after madvise,
//! see hostchild.c) and opened the fds of `opens` (3, 4, ...). The whole run
//! is pinned to one CPU.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::protocol;

/// The longest [`Op::KRead`] or [`Op::KWrite`]: one pipe's capacity, so the
/// child never blocks on its own pipe.
/// The base address of an [`Addr::Result`] whose step gave no value: far from every
/// mapping, so steps addressed relative to a failed mapping touch nothing.
pub const NO_VALUE_BASE: u64 = 0x2000_0000_0000;

/// The size of the writes the host child creates its files with (its IOBUF_SIZE); the page
/// cache's folio sizes follow from it.
pub const HOST_WRITE_CHUNK: usize = 65536;

/// Largest kernel copy.
pub const MAX_KERNEL_COPY: u64 = 64 * 1024;
/// The longest [`Op::Load`] or [`Op::Store`] (the host child touches bytes
/// one at a time, and a load's bytes all come back).
pub const MAX_USER_ACCESS: u64 = 64 << 20;
/// The largest [`FileSpec::size`]; files are written to a temporary directory.
pub const MAX_FILE_SIZE: u64 = 256 << 20;
/// The most steps in one script.
pub const MAX_STEPS: usize = 1 << 20;
/// The most entries in [`HostScript::opens`] (as in the C program).
pub const MAX_OPENS: usize = 256;
/// The most processes in one run, process 0 included.
pub const MAX_PROCESSES: usize = 256;
/// The most step results that later steps still need at any one time: the
/// slots of the shared page (as in the C program).
pub const MAX_LIVE_RESULTS: usize = 504;
/// The largest encoded script the C program accepts (its buffer, less the
/// terminating NUL).
const MAX_SCRIPT_BYTES: usize = (4 << 20) - 1;
/// The time limit of [`run_on_host`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// An address argument of a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Addr {
    /// This address.
    Abs(u64),
    /// The [`Outcome::Value`] of step `op` (an index into
    /// [`HostScript::steps`], of an earlier step) plus `offset`, wrapping; a
    /// step that gave no value counts as [`NO_VALUE_BASE`].
    Result {
        /// The index of the step whose value is the base.
        op: usize,
        /// Added to the base, wrapping around 2^64.
        offset: i64,
    },
}

/// A file descriptor argument of [`Op::Mmap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fd {
    /// -1, as for anonymous mappings.
    None,
    /// The fd opened for `opens[i]`.
    Slot(usize),
    /// This number, as is (for EBADF and the like).
    Raw(i64),
}

/// One memory operation, done by one process.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `mmap(addr, len, prot, flags, fd, offset)`, the raw system call.
    Mmap {
        /// The address argument.
        addr: Addr,
        /// The length argument.
        len: u64,
        /// PROT_* bits.
        prot: u64,
        /// MAP_* bits.
        flags: u64,
        /// The fd argument.
        fd: Fd,
        /// The file offset argument.
        offset: u64,
    },
    /// `munmap(addr, len)`.
    Munmap {
        /// The address argument.
        addr: Addr,
        /// The length argument.
        len: u64,
    },
    /// `mprotect(addr, len, prot)`.
    Mprotect {
        /// The address argument.
        addr: Addr,
        /// The length argument.
        len: u64,
        /// PROT_* bits.
        prot: u64,
    },
    /// The raw `brk(addr)`, which returns the new (or unchanged) break.
    Brk {
        /// The requested break.
        addr: Addr,
    },
    /// The process reads `len` bytes itself, one at a time (the user access
    /// path: page faults, SIGSEGV, SIGBUS).
    Load {
        /// The first byte.
        addr: Addr,
        /// At most [`MAX_USER_ACCESS`].
        len: u64,
    },
    /// The process writes `byte` to `len` bytes itself, one at a time.
    Store {
        /// The first byte.
        addr: Addr,
        /// At most [`MAX_USER_ACCESS`].
        len: u64,
        /// The value written to every byte.
        byte: u8,
    },
    /// The kernel copy path, reading: `write(pipe, addr, len)`, then the
    /// bytes that went through are read back.
    KRead {
        /// The source address.
        addr: Addr,
        /// At most [`MAX_KERNEL_COPY`].
        len: u64,
    },
    /// The kernel copy path, writing: a pipe is filled with `len` bytes of
    /// `byte`, then `read(pipe, addr, len)`.
    KWrite {
        /// The destination address.
        addr: Addr,
        /// At most [`MAX_KERNEL_COPY`].
        len: u64,
        /// The value of every byte in the pipe.
        byte: u8,
    },
    /// The process forks; the child is the next process index (1, 2, ... in
    /// the order of the Fork steps).
    Fork,
    /// The process exits (`_exit(0)`).
    Exit,
    /// The process's `/proc/self/maps`.
    Maps,
    /// The process's `/proc/self/smaps`.
    Smaps,
    /// `ftruncate(fd, len)` on the fd of `opens[fd]`.
    Ftruncate {
        /// An index into [`HostScript::opens`].
        fd: usize,
        /// The new size.
        len: u64,
    },
    /// `mremap(addr, old_len, new_len, flags, new_addr)`: the raw system call, so the fifth
    /// argument always reaches the kernel.
    Mremap {
        /// The old address.
        addr: Addr,
        /// The old length.
        old_len: u64,
        /// The new length.
        new_len: u64,
        /// MREMAP_* bits.
        flags: u64,
        /// The new address argument.
        new_addr: Addr,
    },
    /// `madvise(addr, len, advice)`.
    Madvise {
        /// The address argument.
        addr: Addr,
        /// The length argument.
        len: u64,
        /// MADV_* value.
        advice: u64,
    },
    /// `mlock2(addr, len, flags)` (flags 0 is `mlock`).
    Mlock {
        /// The address argument.
        addr: Addr,
        /// The length argument.
        len: u64,
        /// MLOCK_* bits.
        flags: u64,
    },
    /// `munlock(addr, len)`.
    Munlock {
        /// The address argument.
        addr: Addr,
        /// The length argument.
        len: u64,
    },
    /// `mlockall(flags)`.
    Mlockall {
        /// MCL_* bits.
        flags: u64,
    },
    /// `munlockall()`.
    Munlockall,
    /// `mincore(addr, len, vec)` into a buffer of the harness: [`Outcome::Bytes`] with the
    /// vector, or the errno.
    Mincore {
        /// The address argument.
        addr: Addr,
        /// The length argument, at most [`MAX_MINCORE_LEN`].
        len: u64,
    },
    /// `msync(addr, len, flags)`.
    Msync {
        /// The address argument.
        addr: Addr,
        /// The length argument.
        len: u64,
        /// MS_* bits.
        flags: u64,
    },
    /// The `/proc/self/pagemap` entries of `pages` pages from the page of `addr`:
    /// [`Outcome::Bytes`], 8 little-endian bytes per page.
    Pagemap {
        /// An address in the first page.
        addr: Addr,
        /// How many pages, at most [`MAX_PAGEMAP_PAGES`].
        pages: u64,
    },
    /// The process's `/proc/self/status`.
    Status,
    /// `setrlimit(resource, {value, unchanged hard limit})`; `u64::MAX` is RLIM_INFINITY.
    Setrlimit {
        /// RLIMIT_DATA 2, RLIMIT_STACK 3, RLIMIT_MEMLOCK 8, RLIMIT_AS 9.
        resource: u32,
        /// The new soft limit.
        value: u64,
    },
    /// The process drops every capability (`capset` to an empty set).
    DropCaps,
    /// `swapon(2)` of swap file `device` ([`HostScript::swap_files`]), with its priority.
    Swapon {
        /// An index into [`HostScript::swap_files`].
        device: usize,
    },
    /// `swapoff(2)` of swap file `device`: every page on it is brought back first.
    Swapoff {
        /// An index into [`HostScript::swap_files`].
        device: usize,
    },
    /// The text of `/proc/swaps`.
    Swaps,
    /// Writes `value` to `file` of memory cgroup `group` ([`HostScript::memcgs`]): open,
    /// write, close; [`Outcome::Value`] 0 or the errno. Writing `0` to `cgroup.procs` moves
    /// the writing process into the group.
    CgroupWrite {
        /// An index into [`HostScript::memcgs`].
        group: usize,
        /// The file's name, e.g. `memory.max` ([`MAX_CGROUP_WORD`] bytes at most, no
        /// whitespace or `/`).
        file: String,
        /// What is written (at most [`MAX_CGROUP_WORD`] bytes, no whitespace).
        value: String,
    },
    /// The text of `file` of memory cgroup `group`, or the errno.
    CgroupRead {
        /// An index into [`HostScript::memcgs`].
        group: usize,
        /// The file's name.
        file: String,
    },
    /// `rmdir(2)` of memory cgroup `group`.
    CgroupRmdir {
        /// An index into [`HostScript::memcgs`].
        group: usize,
    },
    /// Writes `value` to `file` of the process's own `/proc/self` ([`PROC_WRITABLE`]): open,
    /// write, close; [`Outcome::Value`] 0 or the errno.
    ProcWrite {
        /// The file's name.
        file: String,
        /// What is written (one word, at most [`MAX_CGROUP_WORD`] bytes).
        value: String,
    },
    /// The text of `file` of the process's own `/proc/self` ([`PROC_READABLE`]), or the
    /// errno.
    ProcRead {
        /// The file's name.
        file: String,
    },
}

/// The `/proc/self` files a [`Op::ProcRead`] reads.
pub const PROC_READABLE: &[&str] = &["oom_score", "oom_score_adj"];
/// The `/proc/self` files a [`Op::ProcWrite`] writes.
pub const PROC_WRITABLE: &[&str] = &["oom_score_adj"];

/// The longest file name or value of a cgroup step (as in the C program, less its NUL).
pub const MAX_CGROUP_WORD: usize = 63;
/// The most memory cgroups of one script (as in the C program).
pub const MAX_CGROUPS: usize = 32;

/// The longest [`Op::Mincore`] range: one vector byte per page of the harness's buffer.
pub const MAX_MINCORE_LEN: u64 = 65536 * 4096;
/// The most pages of one [`Op::Pagemap`].
pub const MAX_PAGEMAP_PAGES: u64 = 8192;

impl Op {
    /// Returns the (first) address argument, if the operation has one.
    pub fn addr(&self) -> Option<Addr> {
        self.addrs().first().copied()
    }

    /// Returns every address argument.
    pub fn addrs(&self) -> Vec<Addr> {
        match *self {
            Op::Mmap { addr, .. }
            | Op::Munmap { addr, .. }
            | Op::Mprotect { addr, .. }
            | Op::Brk { addr }
            | Op::Load { addr, .. }
            | Op::Store { addr, .. }
            | Op::KRead { addr, .. }
            | Op::KWrite { addr, .. }
            | Op::Madvise { addr, .. }
            | Op::Mlock { addr, .. }
            | Op::Munlock { addr, .. }
            | Op::Mincore { addr, .. }
            | Op::Msync { addr, .. }
            | Op::Pagemap { addr, .. } => vec![addr],
            Op::Mremap { addr, new_addr, .. } => vec![addr, new_addr],
            Op::Fork
            | Op::Exit
            | Op::Maps
            | Op::Smaps
            | Op::Status
            | Op::Ftruncate { .. }
            | Op::Mlockall { .. }
            | Op::Munlockall
            | Op::Setrlimit { .. }
            | Op::DropCaps
            | Op::Swapon { .. }
            | Op::Swapoff { .. }
            | Op::Swaps
            | Op::CgroupWrite { .. }
            | Op::CgroupRead { .. }
            | Op::CgroupRmdir { .. }
            | Op::ProcWrite { .. }
            | Op::ProcRead { .. } => vec![],
        }
    }
}

/// A step of a script: process `proc` does `op`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Step {
    /// The process index: 0, or a child made by an earlier [`Op::Fork`].
    pub proc: usize,
    /// What it does.
    pub op: Op,
}

/// A file created for the run; its number is its index in
/// [`HostScript::files`] and its content is [`file_byte`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileSpec {
    /// The size in bytes, at most [`MAX_FILE_SIZE`].
    pub size: u64,
}

/// How a file is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpenMode {
    /// O_RDONLY.
    ReadOnly,
    /// O_WRONLY.
    WriteOnly,
    /// O_RDWR.
    ReadWrite,
}

/// An fd that process 0 opens before the run; its slot is its index in
/// [`HostScript::opens`]. Forked processes inherit it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OpenSpec {
    /// An index into [`HostScript::files`].
    pub file: usize,
    /// The access mode.
    pub mode: OpenMode,
}

/// A complete script for [`run_on_host`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct HostScript {
    /// Files to create, numbered by index.
    pub files: Vec<FileSpec>,
    /// Fds to open in process 0, numbered by index.
    pub opens: Vec<OpenSpec>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Create the files on tmpfs (in a directory under `/dev/shm`) instead of the temporary
    /// directory's disk.
    pub tmpfs: bool,
    /// Swap files to make (as mkswap makes them) for [`Op::Swapon`], numbered by index. A
    /// script with any needs root; see [`run_on_host`].
    pub swap_files: Vec<SwapFileSpec>,
    /// Memory cgroups to make before the first step, numbered by index, for the cgroup
    /// steps: paths relative to a group of the run's own (`a`, `a/b`), each after its
    /// parent. A script with any needs root and a machine whose memory cgroup interface is
    /// [`HostScript::memcg_version`]; its run is kill-tolerant: a process the OOM killer
    /// ends during its own step gives [`Outcome::Killed`] there and [`Outcome::Gone`] for
    /// its later steps (and those of the children it can no longer fork).
    pub memcgs: Vec<String>,
    /// The cgroup interface the cgroup steps' file names are written for.
    pub memcg_version: Option<mm::memcg::CgroupVersion>,
}

/// A swap file a script activates with [`Op::Swapon`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SwapFileSpec {
    /// Its size in bytes, the header page included; at least [`MIN_SWAP_FILE_SIZE`], at
    /// most [`MAX_SWAP_FILE_SIZE`].
    pub size: u64,
    /// The priority swapon gives it (0 to 32767), or none for the kernel's next default.
    pub priority: Option<i32>,
}

/// The smallest swap file: mkswap wants ten pages.
pub const MIN_SWAP_FILE_SIZE: u64 = 10 * 4096;
/// The largest swap file a script may make (it is written out in full on the host's disk).
pub const MAX_SWAP_FILE_SIZE: u64 = 1 << 30;
/// The most swap files of one script (as in the C program).
pub const MAX_SWAP_FILES: usize = 32;

impl HostScript {
    /// Returns an empty script.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file of `size` bytes and returns its number.
    pub fn add_file(&mut self, size: u64) -> usize {
        self.files.push(FileSpec { size });
        self.files.len() - 1
    }

    /// Adds an fd of `file` opened with `mode` and returns its slot.
    pub fn open(&mut self, file: usize, mode: OpenMode) -> usize {
        self.opens.push(OpenSpec { file, mode });
        self.opens.len() - 1
    }

    /// Adds a swap file of `size` bytes with `priority` and returns its number.
    pub fn add_swap_file(&mut self, size: u64, priority: Option<i32>) -> usize {
        self.swap_files.push(SwapFileSpec { size, priority });
        self.swap_files.len() - 1
    }

    /// Adds a memory cgroup (a path relative to the run's own group, after its parent) and
    /// returns its number.
    pub fn add_memcg(&mut self, path: &str) -> usize {
        self.memcgs.push(path.to_string());
        self.memcgs.len() - 1
    }

    /// Adds a step and returns its index (for [`Addr::Result`]).
    pub fn push(&mut self, proc: usize, op: Op) -> usize {
        self.steps.push(Step { proc, op });
        self.steps.len() - 1
    }
}

/// What one step did on the host.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A system call's non-error return (mmap's address, 0, brk's break,
    /// KWrite's byte count), or Fork's child index.
    Value(u64),
    /// The system call failed with this (positive) errno.
    Errno(i32),
    /// The bytes of a Load, or of a KRead (only those that went through the
    /// pipe, if `write` returned a short count).
    Bytes(Vec<u8>),
    /// A user access faulted.
    Signal {
        /// SIGSEGV (11) or SIGBUS (7).
        signo: i32,
        /// `si_code`: SEGV_MAPERR 1, SEGV_ACCERR 2, BUS_ADRERR 2, SI_KERNEL
        /// 128, ...
        code: i32,
        /// `si_addr`.
        addr: u64,
        /// How many bytes were accessed before the faulting one.
        done: u64,
    },
    /// The text of Maps, Smaps, Status or a cgroup file.
    Text(String),
    /// A Store or Exit that completed.
    Done,
    /// The process died of this signal during the step (the OOM killer's SIGKILL).
    Killed {
        /// The signal.
        signo: i32,
    },
    /// Not run: the step's process had died before it (or was never born, its parent
    /// having died before the fork).
    Gone,
}

impl Outcome {
    /// Returns the value of [`Outcome::Value`].
    pub fn value(&self) -> Option<u64> {
        match *self {
            Outcome::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// The state of process 0 just before the first step.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostInit {
    /// Its `/proc/self/maps`.
    pub maps: String,
    /// Its `/proc/self/smaps`.
    pub smaps: String,
    /// `start_brk` (field 47 of `/proc/self/stat`).
    pub start_brk: u64,
    /// The current break (`brk(0)`: it is not in `/proc/self/stat`).
    pub brk: u64,
    /// `start_stack` (field 28 of `/proc/self/stat`).
    pub start_stack: u64,
    /// The RLIMIT_STACK soft limit (`u64::MAX` for unlimited).
    pub stack_rlimit: u64,
    /// The address of the harness's shared page (one `rw-s` shared anonymous
    /// page that the processes use to take turns). Steps must leave it alone.
    pub sync_page: u64,
    /// The created files, by number.
    pub files: Vec<HostFile>,
    /// The paths of the swap files made for [`HostScript::swap_files`], by number: a model
    /// activates its devices under the same names, so that `/proc/swaps` reads the same.
    pub swap_files: Vec<String>,
}

/// The identity of a created file, as `/proc/PID/maps` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostFile {
    /// Its absolute path.
    pub path: String,
    /// Major number of `st_dev`.
    pub major: u32,
    /// Minor number of `st_dev`.
    pub minor: u32,
    /// `st_ino`.
    pub ino: u64,
    /// Its size in bytes when the run started.
    pub size: u64,
}

/// The result of [`run_on_host`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostRun {
    /// The starting state.
    pub init: HostInit,
    /// `outcomes[i]` is what `steps[i]` did.
    pub outcomes: Vec<Outcome>,
}

/// Why a host run gave no result.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// Not Linux x86-64, or the C program could not be built.
    #[error("host runs are not supported here: {0}")]
    Unsupported(String),
    /// The script is wrong at this step (checked before anything runs).
    #[error("invalid host script, step {step}: {reason}")]
    InvalidStep {
        /// The index of the step.
        step: usize,
        /// What is wrong.
        reason: String,
    },
    /// The script is wrong as a whole (files, opens, size).
    #[error("invalid host script: {0}")]
    InvalidScript(String),
    /// Starting or talking to the host child failed.
    #[error("could not run the host child: {0}")]
    Io(#[from] std::io::Error),
    /// The run did not finish in time; all its processes were killed.
    #[error("the host run did not finish within {after:?}; it was killed{}", stderr_suffix(stderr))]
    Timeout {
        /// The time limit.
        after: Duration,
        /// What the host child wrote to stderr.
        stderr: String,
    },
    /// The host child reported an error, or one of its processes died.
    #[error("the host run failed: {message}{}", stderr_suffix(stderr))]
    Child {
        /// What went wrong.
        message: String,
        /// What the host child wrote to stderr.
        stderr: String,
    },
    /// The host child's output did not follow the protocol.
    #[error("the host child broke the protocol: {0}")]
    Protocol(String),
}

fn stderr_suffix(stderr: &str) -> String {
    let stderr = stderr.trim();
    if stderr.is_empty() {
        String::new()
    } else {
        format!(" (stderr: {stderr})")
    }
}

/// Returns the content byte at `offset` of file number `file`.
///
/// The same function is in `csrc/hostchild.c`, which writes the host's
/// files; a model uses it to hold identical files. It is a hash of the file
/// number, the page and the offset in the page, so different files and pages
/// differ, and the first byte of every page is odd, so no page is all zero
/// (a zero-filled page would look like anonymous memory).
pub fn file_byte(file: usize, offset: u64) -> u8 {
    let mut x = (file as u64).wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= (offset >> 12).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= (offset & 0xfff).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    x = x.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    x ^= x >> 32;
    let b = x as u8;
    if offset & 0xfff == 0 {
        b | 1
    } else {
        b
    }
}

/// Returns the path of the C host child, if it was built.
///
/// The `MMSIM_HOSTCHILD` environment variable, when set at run time,
/// overrides the path chosen at build time (for an installed binary whose
/// build directory is gone).
pub fn host_child_path() -> Option<PathBuf> {
    support().ok()
}

/// The path of the C host child when [`run_on_host`] can work here (Linux x86-64 with the
/// child built, or `MMSIM_HOSTCHILD` naming it), otherwise why not.
pub fn support() -> Result<PathBuf, String> {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return Err("host runs need Linux on x86-64".into());
    }
    let (path, source) = match std::env::var_os("MMSIM_HOSTCHILD") {
        Some(p) if !p.is_empty() => (PathBuf::from(p), "MMSIM_HOSTCHILD"),
        _ => (PathBuf::from(env!("MMSIM_HOSTCHILD")), "the build"),
    };
    if path.as_os_str().is_empty() {
        return Err("the C host child was not built (see hostdiff's build warnings: is a C compiler installed?)".into());
    }
    if !path.is_file() {
        return Err(format!("the C host child {} (from {source}) is not a file", path.display()));
    }
    Ok(path)
}

/// Returns whether [`run_on_host`] can work here: Linux x86-64 with the C
/// host child built. [`support`] says why not.
pub fn is_supported() -> bool {
    support().is_ok()
}

/// Runs `script` on the host kernel within [`DEFAULT_TIMEOUT`].
pub fn run_on_host(script: &HostScript) -> Result<HostRun, HostError> {
    run_on_host_with_timeout(script, DEFAULT_TIMEOUT)
}

/// Runs `script` on the host kernel; after `timeout` every process of the
/// run is killed and [`HostError::Timeout`] returned.
pub fn run_on_host_with_timeout(script: &HostScript, timeout: Duration) -> Result<HostRun, HostError> {
    let slots = plan(script)?;
    // The swap files' paths are not known yet: placeholders of the longest length.
    let placeholders = vec![crate::swapfile::longest_swap_path(); script.swap_files.len()];
    let input = protocol::encode(script, &slots, &placeholders);
    if input.len() > MAX_SCRIPT_BYTES {
        return Err(HostError::InvalidScript(format!(
            "the encoded script has {} bytes, more than the host child's {MAX_SCRIPT_BYTES}",
            input.len()
        )));
    }
    let child = support().map_err(HostError::Unsupported)?;
    // A fresh directory per run: the files are new, so no page of them is
    // cached by an earlier run's mappings.
    let mut builder = tempfile::Builder::new();
    builder.prefix("mmsim-host");
    let dir = if script.tmpfs { builder.tempdir_in("/dev/shm")? } else { builder.tempdir()? };
    // Kept apart from any host swap file another test has active (see swapfile.rs); a
    // script with swap files of its own holds the lock alone while they exist.
    let swaps = match script.swap_files.is_empty() {
        true => None,
        false => Some(crate::swapfile::ScriptSwaps::make(&script.swap_files).map_err(HostError::Unsupported)?),
    };
    let _lock = if swaps.is_none() { crate::swapfile::shared_lock() } else { None };
    let paths = swaps.as_ref().map(|s| s.paths.clone()).unwrap_or_default();
    // Dropped (every group removed, leftover processes killed first) when the run is over.
    let groups = match script.memcgs.is_empty() {
        true => None,
        false => Some(crate::host_memcg::ScriptGroups::make(script).map_err(HostError::Unsupported)?),
    };
    let group_paths = groups.as_ref().map(|g| g.paths()).unwrap_or_default();
    let input = protocol::encode_with_groups(script, &slots, &paths, &group_paths);
    let raw = run_child(&child, dir.path(), input.into_bytes(), timeout)?;
    let mut run = interpret(raw, script.steps.len())?;
    run.init.swap_files = paths;
    Ok(run)
}

/// Checks `script` and assigns a shared result slot to every step whose
/// value a later step uses; returns the slot of each step.
///
/// A slot is reused once the last step that reads it is past, so only the
/// results alive at the same time count against [`MAX_LIVE_RESULTS`].
fn plan(script: &HostScript) -> Result<Vec<Option<usize>>, HostError> {
    if script.steps.len() > MAX_STEPS {
        return Err(HostError::InvalidScript(format!("{} steps, more than {MAX_STEPS}", script.steps.len())));
    }
    if script.opens.len() > MAX_OPENS {
        return Err(HostError::InvalidScript(format!("{} opens, more than {MAX_OPENS}", script.opens.len())));
    }
    for (i, file) in script.files.iter().enumerate() {
        if file.size > MAX_FILE_SIZE {
            return Err(HostError::InvalidScript(format!(
                "file {i} has {} bytes, more than {MAX_FILE_SIZE}",
                file.size
            )));
        }
    }
    if script.swap_files.len() > MAX_SWAP_FILES {
        return Err(HostError::InvalidScript(format!(
            "{} swap files, more than {MAX_SWAP_FILES}",
            script.swap_files.len()
        )));
    }
    for (i, swap) in script.swap_files.iter().enumerate() {
        if !(MIN_SWAP_FILE_SIZE..=MAX_SWAP_FILE_SIZE).contains(&swap.size) {
            return Err(HostError::InvalidScript(format!(
                "swap file {i} has {} bytes, not between {MIN_SWAP_FILE_SIZE} and {MAX_SWAP_FILE_SIZE}",
                swap.size
            )));
        }
        if swap.priority.is_some_and(|p| !(0..=32767).contains(&p)) {
            return Err(HostError::InvalidScript(format!("swap file {i} has a priority outside 0..=32767")));
        }
    }
    if script.memcgs.len() > MAX_CGROUPS {
        return Err(HostError::InvalidScript(format!(
            "{} memory cgroups, more than {MAX_CGROUPS}",
            script.memcgs.len()
        )));
    }
    if !script.memcgs.is_empty() && script.memcg_version.is_none() {
        return Err(HostError::InvalidScript("memory cgroups without a cgroup version".into()));
    }
    for (i, path) in script.memcgs.iter().enumerate() {
        let parts_ok = !path.is_empty()
            && path.len() <= 128
            && path
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != ".." && c.bytes().all(|b| b.is_ascii_graphic()));
        let parent_ok = match path.rsplit_once('/') {
            Some((parent, _)) => script.memcgs[..i].iter().any(|p| p == parent),
            None => true,
        };
        if !parts_ok || !parent_ok || script.memcgs[..i].contains(path) {
            return Err(HostError::InvalidScript(format!(
                "memory cgroup {i} ({path:?}) is not a new relative path below an earlier one"
            )));
        }
    }
    for (i, open) in script.opens.iter().enumerate() {
        if open.file >= script.files.len() {
            return Err(HostError::InvalidScript(format!(
                "open {i} names file {}, but there are {} files",
                open.file,
                script.files.len()
            )));
        }
    }

    let n = script.steps.len();
    let mut alive = vec![true]; // process 0
    let mut last_use: Vec<Option<usize>> = vec![None; n];
    for (i, step) in script.steps.iter().enumerate() {
        let bad = |reason: String| HostError::InvalidStep { step: i, reason };
        match alive.get(step.proc) {
            None => return Err(bad(format!("process {} does not exist yet", step.proc))),
            Some(false) => return Err(bad(format!("process {} has exited", step.proc))),
            Some(true) => {}
        }
        for a in step.op.addrs() {
            if let Addr::Result { op, .. } = a {
                if op >= i {
                    return Err(bad(format!("the address uses the result of step {op}, which is not an earlier step")));
                }
                last_use[op] = Some(i);
            }
        }
        let check_len = |len: u64, max: u64, what: &str| {
            if len > max {
                Err(bad(format!("{what} of {len} bytes is longer than {max}")))
            } else {
                Ok(())
            }
        };
        match step.op {
            Op::Mmap { fd: Fd::Slot(s), .. } | Op::Ftruncate { fd: s, .. } if s >= script.opens.len() => {
                return Err(bad(format!("fd slot {s} does not exist ({} opens)", script.opens.len())));
            }
            Op::Swapon { device } | Op::Swapoff { device } if device >= script.swap_files.len() => {
                return Err(bad(format!("swap file {device} does not exist ({})", script.swap_files.len())));
            }
            Op::CgroupWrite { group, .. } | Op::CgroupRead { group, .. } | Op::CgroupRmdir { group }
                if group >= script.memcgs.len() =>
            {
                return Err(bad(format!("memory cgroup {group} does not exist ({})", script.memcgs.len())));
            }
            Op::CgroupWrite { ref file, ref value, .. } if !cgroup_word(file, true) || !cgroup_word(value, false) => {
                return Err(bad(format!("a cgroup write of {value:?} to {file:?}: not one short word each")));
            }
            Op::CgroupRead { ref file, .. } if !cgroup_word(file, true) => {
                return Err(bad(format!("a cgroup read of {file:?}: not a file name")));
            }
            Op::ProcWrite { ref file, ref value }
                if !PROC_WRITABLE.contains(&file.as_str()) || !cgroup_word(value, false) =>
            {
                return Err(bad(format!("a write of {value:?} to /proc/self/{file}: not one the host runner makes")));
            }
            Op::ProcRead { ref file } if !PROC_READABLE.contains(&file.as_str()) => {
                return Err(bad(format!("a read of /proc/self/{file}: not one the host runner makes")));
            }
            Op::Load { len, .. } => check_len(len, MAX_USER_ACCESS, "a load")?,
            Op::Store { len, .. } => check_len(len, MAX_USER_ACCESS, "a store")?,
            Op::KRead { len, .. } => check_len(len, MAX_KERNEL_COPY, "a kernel read")?,
            Op::KWrite { len, .. } => check_len(len, MAX_KERNEL_COPY, "a kernel write")?,
            Op::Mincore { len, .. } => check_len(len, MAX_MINCORE_LEN, "a mincore")?,
            Op::Pagemap { pages, .. } => check_len(pages, MAX_PAGEMAP_PAGES, "a pagemap read (pages)")?,
            Op::Fork => {
                if alive.len() >= MAX_PROCESSES {
                    return Err(bad(format!("more than {MAX_PROCESSES} processes")));
                }
                alive.push(true);
            }
            Op::Exit => alive[step.proc] = false,
            _ => {}
        }
    }

    let mut free: Vec<usize> = (0..MAX_LIVE_RESULTS).rev().collect();
    let mut live: Vec<(usize, usize)> = Vec::new(); // (last use, slot)
    let mut slots = vec![None; n];
    for i in 0..n {
        live.retain(|&(last, slot)| {
            let keep = last >= i;
            if !keep {
                free.push(slot);
            }
            keep
        });
        if let Some(last) = last_use[i] {
            let slot = free.pop().ok_or_else(|| HostError::InvalidStep {
                step: i,
                reason: format!("more than {MAX_LIVE_RESULTS} step results are in use at once"),
            })?;
            slots[i] = Some(slot);
            live.push((last, slot));
        }
    }
    Ok(slots)
}

/// Whether `w` can be a cgroup step's file name (`file`) or value: one word of
/// [`MAX_CGROUP_WORD`] printable bytes at most, and no `/` in a file name.
pub fn cgroup_word(w: &str, file: bool) -> bool {
    !w.is_empty() && w.len() <= MAX_CGROUP_WORD && w.bytes().all(|b| b.is_ascii_graphic() && !(file && b == b'/'))
}

/// What the host child left behind.
struct RawRun {
    stdout: Vec<u8>,
    stderr: String,
    status: ExitStatus,
}

/// Runs the supervisor with `input` on stdin and collects its output, killing
/// the whole run after `timeout`.
fn run_child(child_path: &Path, dir: &Path, input: Vec<u8>, timeout: Duration) -> Result<RawRun, HostError> {
    use std::os::unix::process::CommandExt;

    let mut cmd = match find_setarch() {
        Some(setarch) => {
            let mut c = Command::new(setarch);
            c.arg(machine()).arg("-R").arg(child_path);
            c
        }
        // The supervisor sets ADDR_NO_RANDOMIZE itself as well.
        None => Command::new(child_path),
    };
    // The supervisor's own limit is a backstop for when this process is
    // gone; ours comes first and gives the better message.
    let backstop = timeout.as_secs().saturating_add(10);
    cmd.arg("supervise")
        .arg(dir)
        .arg(backstop.to_string())
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A group of its own: on timeout the whole group is killed, and that
        // must never reach us.
        .process_group(0);
    let mut child = cmd.spawn()?;

    let (Some(mut stdin), Some(mut stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        kill_run(&mut child);
        return Err(HostError::Protocol("the child's pipes are missing".into()));
    };
    let (done_tx, done_rx) = mpsc::channel();
    let out_thread = thread::spawn(move || {
        let mut buf = Vec::new();
        let result = stdout.read_to_end(&mut buf).map(|_| buf);
        // The receiver may be gone after a timeout; nothing to do then.
        let _ = done_tx.send(());
        result
    });
    let err_thread = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    });
    // In a thread too, so that a child that stops reading cannot hold us past
    // the time limit. A write error means the supervisor died early; its
    // stderr says why, so the error itself is not needed.
    let in_thread = thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });

    let start = Instant::now();
    let timed_out = matches!(done_rx.recv_timeout(timeout), Err(mpsc::RecvTimeoutError::Timeout));
    let status = if timed_out {
        kill_run(&mut child);
        None
    } else {
        // stdout is closed once every process of the run has exited; the
        // supervisor exits right after its last child.
        wait_until(&mut child, start + timeout)?
    };
    let _ = in_thread.join();
    let stderr_text = err_thread.join().unwrap_or_default();
    let stdout = out_thread.join().map_err(|_| HostError::Protocol("the stdout reader panicked".into()))??;
    match status {
        Some(status) => Ok(RawRun { stdout, stderr: stderr_text, status }),
        None => Err(HostError::Timeout { after: timeout, stderr: stderr_text }),
    }
}

/// Waits for `child` until `deadline`; kills the run and returns `None` if
/// it is still there.
fn wait_until(child: &mut Child, deadline: Instant) -> Result<Option<ExitStatus>, HostError> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            kill_run(child);
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Kills every process of the run (they share the supervisor's process
/// group) and reaps the supervisor.
fn kill_run(child: &mut Child) {
    let pgid = rustix::process::Pid::from_child(child);
    // Errors mean the group is already gone.
    let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
    let _ = child.kill();
    let _ = child.wait();
}

/// Returns `setarch` from PATH (or the usual places when PATH is unset).
fn find_setarch() -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;

    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join("setarch"))
        .find(|p| p.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false))
}

/// Returns `uname -m`, the architecture name setarch expects.
fn machine() -> String {
    rustix::system::uname().machine().to_string_lossy().into_owned()
}

/// Turns the child's output into a [`HostRun`], or the most telling error.
fn interpret(raw: RawRun, nsteps: usize) -> Result<HostRun, HostError> {
    let parsed = protocol::parse(&raw.stdout);
    if let Some(message) = parsed.fail {
        return Err(HostError::Child { message, stderr: raw.stderr });
    }
    if !raw.status.success() {
        let mut message =
            format!("the host child ended with {} after {} of {nsteps} steps", raw.status, parsed.outcomes.len());
        // The supervisor names processes by pid: say which process that is.
        for (index, pid) in &parsed.pids {
            if raw.stderr.contains(&format!("pid {pid} ")) {
                message.push_str(&format!("; pid {pid} is process {index}"));
            }
        }
        return Err(HostError::Child { message, stderr: raw.stderr });
    }
    if let Some(error) = parsed.error {
        return Err(HostError::Protocol(error));
    }
    let Some(init) = parsed.init else {
        return Err(HostError::Protocol("no init block".into()));
    };
    if parsed.outcomes.len() != nsteps {
        return Err(HostError::Protocol(format!("{} outcomes for {nsteps} steps", parsed.outcomes.len())));
    }
    Ok(HostRun { init, outcomes: parsed.outcomes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mmap_anon(len: u64) -> Op {
        Op::Mmap { addr: Addr::Abs(0), len, prot: 3, flags: 0x22, fd: Fd::None, offset: 0 }
    }

    #[test]
    fn file_byte_never_gives_a_zero_page_and_differs_between_pages() {
        for file in 0..4 {
            for page in 0..64u64 {
                assert_eq!(file_byte(file, page << 12) & 1, 1);
            }
            let page = |p: u64| (0..4096).map(|o| file_byte(file, (p << 12) + o)).collect::<Vec<_>>();
            assert_ne!(page(0), page(1));
        }
        assert_ne!(file_byte(0, 5), file_byte(1, 5));
    }

    #[test]
    fn steps_of_unborn_or_dead_processes_are_rejected() {
        let mut s = HostScript::new();
        s.push(1, Op::Maps);
        assert!(matches!(plan(&s), Err(HostError::InvalidStep { step: 0, .. })));

        let mut s = HostScript::new();
        s.push(0, Op::Fork);
        s.push(1, Op::Exit);
        s.push(0, Op::Maps);
        s.push(1, Op::Maps);
        let err = plan(&s).unwrap_err();
        assert!(matches!(err, HostError::InvalidStep { step: 3, .. }), "{err}");
    }

    #[test]
    fn forward_results_bad_slots_and_long_copies_are_rejected() {
        let mut s = HostScript::new();
        s.push(0, Op::Load { addr: Addr::Result { op: 0, offset: 0 }, len: 1 });
        assert!(plan(&s).is_err());

        let mut s = HostScript::new();
        s.push(0, Op::Ftruncate { fd: 0, len: 0 });
        assert!(plan(&s).is_err());

        let mut s = HostScript::new();
        s.push(0, Op::KRead { addr: Addr::Abs(0), len: MAX_KERNEL_COPY + 1 });
        assert!(plan(&s).is_err());

        let mut s = HostScript::new();
        s.add_file(10);
        s.open(1, OpenMode::ReadOnly);
        assert!(matches!(plan(&s), Err(HostError::InvalidScript(_))));
    }

    #[test]
    fn result_slots_are_reused_after_their_last_use() {
        let mut s = HostScript::new();
        for _ in 0..2 * MAX_LIVE_RESULTS {
            let m = s.push(0, mmap_anon(4096));
            s.push(0, Op::Munmap { addr: Addr::Result { op: m, offset: 0 }, len: 4096 });
        }
        let slots = plan(&s).unwrap();
        assert!(slots.iter().flatten().all(|&slot| slot < 2));

        let mut s = HostScript::new();
        let first: Vec<usize> = (0..=MAX_LIVE_RESULTS).map(|_| s.push(0, mmap_anon(4096))).collect();
        for m in first {
            s.push(0, Op::Munmap { addr: Addr::Result { op: m, offset: 0 }, len: 4096 });
        }
        assert!(plan(&s).is_err());
    }
}
