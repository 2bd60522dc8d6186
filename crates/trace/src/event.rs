//! The typed events a trace is made of: [`Event`], [`EventKind`], [`Syscall`] and [`Ret`].

use std::borrow::Cow;
use std::time::Duration;

use smallvec::SmallVec;

use crate::arg::{Arg, Field};

/// The arguments of one system call; most calls have at most six, which stay inline.
pub type Args = SmallVec<[Arg; 6]>;

/// One thing that happened in a traced process, from one line of the trace (or two, for a call
/// that strace split into `<unfinished ...>` and `<... resumed>` parts).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// 1-based line number of the line that completed the event (for a split call: the
    /// `<... resumed>` line; for an incomplete call: its `<unfinished ...>` line).
    pub line: u64,
    /// Byte offset of the start of that line in the input, for consumers that want to show
    /// the original text: seek there and read one line.
    pub offset: u64,
    /// The pid (thread id) the line belongs to: from its `[pid N]` or `N ` prefix, or, for a
    /// line without one, the pid of the only process traced at that point.
    ///
    /// strace leaves the prefix out while it traces a single process (when writing to stderr;
    /// `-o FILE` prefixes every line). `None` means the parser could not name that process
    /// yet: at the start of a trace it is the root, whose pid [`crate::Parser::root_pid`]
    /// tells once the parser has learned it (glibc's early `set_tid_address` gives it away).
    pub pid: Option<u32>,
    /// The `-t`/`-tt`/`-ttt`/`-r` time stamp, when the trace has them.
    pub timestamp: Option<Timestamp>,
    /// What happened.
    pub kind: EventKind,
}

/// What an [`Event`] reports.
#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// A system call with its arguments and result (boxed: it is much larger than the other
    /// kinds, and events are moved around a lot).
    Syscall(Box<Syscall>),
    /// `--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x1234} ---`: a signal was
    /// delivered.
    Signal {
        /// The signal name, such as `SIGSEGV`.
        signal: String,
        /// The `siginfo_t` struct, when printed.
        info: Option<Arg>,
    },
    /// The first part of a call strace split in two (`NAME(ARGS <unfinished ...>`), with the
    /// arguments it shows; only when asked for with [`crate::Parser::report_call_starts`]. The
    /// whole call comes later as a [`EventKind::Syscall`].
    CallStarted {
        /// The call name.
        name: String,
        /// The arguments printed before `<unfinished ...>`.
        args: Args,
    },
    /// `+++ exited with N +++`.
    Exited {
        /// The exit status.
        code: i32,
    },
    /// `+++ killed by SIGKILL +++`, possibly with `(core dumped)`.
    Killed {
        /// The signal name.
        signal: String,
        /// `true` when strace printed `(core dumped)`.
        core: bool,
    },
    /// `+++ superseded by execve in pid N +++`: thread `thread` of this process called
    /// `execve`, every other thread is gone, and `thread` goes on under this event's pid (the
    /// `<... execve resumed>` line that follows carries it).
    SupersededByExecve {
        /// The thread id that called `execve`.
        thread: u32,
    },
    /// `strace: Process N attached`; the event's pid is N.
    Attached,
    /// `strace: Process N detached`; the event's pid is N.
    Detached,
    /// Any other `strace: …` message, without the `strace: ` part.
    Diagnostic(String),
    /// A line of the hexadecimal dump `-e read=` / `-e write=` print after a call: `offset`
    /// of these bytes in the call's buffer. It belongs to the call printed just before.
    Dump {
        /// Offset of the first byte in the buffer.
        offset: u64,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// A line that is not an event but is not an error either (`[ Process PID=N runs in 32 bit
    /// mode. ]`, `-k` stack frames, `--- stopped by SIGSTOP ---`), kept verbatim.
    Other(String),
}

/// One system call.
#[derive(Clone, Debug, PartialEq)]
pub struct Syscall {
    /// The call name as strace prints it (`mmap`, `clone3`, `syscall_0x1c3`); frequent names
    /// are borrowed from a static table, so reading a trace does not allocate each one.
    pub name: Cow<'static, str>,
    /// The arguments, in C order, joined from both parts of a split call.
    pub args: Args,
    /// The result.
    pub ret: Ret,
    /// The `-y` decoration of the result, e.g. `/etc/passwd` for `= 3</etc/passwd>`.
    pub ret_decoration: Option<Vec<u8>>,
    /// The text in parentheses after a successful result, e.g. `flags FD_CLOEXEC` or
    /// `Timeout`. (After an error it is the [`Ret::Error`] message instead.)
    pub ret_note: Option<String>,
    /// The `-T` time spent in the call.
    pub duration: Option<Duration>,
    /// For a call strace split in two, the line number of its `<unfinished ...>` part.
    pub unfinished_line: Option<u64>,
    /// `true` when the call never finished in the trace (its `<unfinished ...>` line has no
    /// `<... resumed>` line: the process was killed, or the log was cut). `ret` is then
    /// [`Ret::Unknown`] and `args` holds only what the first part showed.
    pub incomplete: bool,
    /// `true` when strace made the result up and marked it `(INJECTED)` (`-e inject=…` with
    /// `error=` or `retval=`, `-e fault=…`): strace stopped the kernel from running the
    /// call, so it changed nothing, and what `ret` says is not the kernel's answer.
    pub injected: bool,
    /// With `--pidns-translation`, the task id the result names, as strace's own PID
    /// namespace numbers it (`= 2 /* 18527 in strace's PID NS */`): the number the log's
    /// lines name that task by, where the traced process saw `ret`.
    pub ret_tracer_pid: Option<u32>,
}

/// The result of a system call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ret {
    /// A number (decimal or hexadecimal), in two's complement when negative.
    Value(u64),
    /// A failure: `-1 ENOMEM (Cannot allocate memory)`, also `? ERESTARTSYS (To be restarted if
    /// SA_RESTART is set)` for a call interrupted and restarted.
    Error {
        /// The errno name (`ENOMEM`, `ERESTARTSYS`).
        errno: String,
        /// The explanation strace printed in parentheses, or empty.
        message: String,
    },
    /// `?`: the call has no result (`exit_group`, `execve` in a killed process, a call cut
    /// short).
    Unknown,
}

impl Ret {
    /// Returns the value of a successful result.
    pub fn value(&self) -> Option<u64> {
        match self {
            Ret::Value(v) => Some(*v),
            _ => None,
        }
    }

    /// Returns the errno name of a failed call.
    pub fn errno(&self) -> Option<&str> {
        match self {
            Ret::Error { errno, .. } => Some(errno),
            _ => None,
        }
    }
}

/// A time stamp as strace printed it.
///
/// With `-ttt` it counts from the Unix epoch, with `-t`/`-tt` from the local midnight, with
/// `-r` from the previous line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Timestamp {
    /// Whole seconds.
    pub seconds: u64,
    /// Nanoseconds within the second.
    pub nanos: u32,
}

impl Syscall {
    /// Returns argument `index` (0-based).
    pub fn arg(&self, index: usize) -> Option<&Arg> {
        self.args.get(index)
    }

    /// Returns the argument printed as `name=value` (`clone`'s `flags`, `child_stack`, …).
    pub fn arg_named(&self, name: &str) -> Option<&Arg> {
        self.args.iter().find(|a| a.name() == Some(name))
    }

    /// Returns argument `index` as an unsigned number (`NULL` is 0; `-1` is `u64::MAX`).
    pub fn arg_u64(&self, index: usize) -> Option<u64> {
        self.arg(index)?.as_u64()
    }

    /// Returns argument `index` as a signed number.
    pub fn arg_i64(&self, index: usize) -> Option<i64> {
        self.arg(index)?.as_i64()
    }

    /// Returns the decoded bytes of string argument `index`.
    pub fn arg_str(&self, index: usize) -> Option<&[u8]> {
        self.arg(index)?.as_bytes()
    }

    /// Returns the numeric value of flag argument `index`, names looked up in the `abi` tables.
    pub fn arg_flags(&self, index: usize) -> Option<u64> {
        self.arg(index)?.flags_value()
    }

    /// Returns member `field` of struct argument `index` (e.g. `st_ino` of a `newfstatat`).
    pub fn arg_struct_field(&self, index: usize, field: &str) -> Option<&Arg> {
        self.arg(index)?.field(field)
    }

    /// Returns the members of struct argument `index`.
    pub fn arg_struct(&self, index: usize) -> Option<&[Field]> {
        self.arg(index)?.as_struct()
    }

    /// Returns the `-y` decoration (path) of argument `index`, e.g. of the fd in `read(3</x>, …)`.
    pub fn arg_decoration(&self, index: usize) -> Option<&[u8]> {
        self.arg(index)?.decoration()
    }

    /// Returns the result value of a successful call.
    pub fn ret_u64(&self) -> Option<u64> {
        self.ret.value()
    }

    /// Returns the errno name of a failed call.
    pub fn errno(&self) -> Option<&str> {
        self.ret.errno()
    }
}

impl Event {
    /// Returns the system call, if this event is one.
    pub fn syscall(&self) -> Option<&Syscall> {
        match &self.kind {
            EventKind::Syscall(call) => Some(call),
            _ => None,
        }
    }
}
