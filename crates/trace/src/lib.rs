//! A streaming parser of `strace -f -v -s N` output into typed events.
//!
//! mmsim replays real programs from their strace logs (`mmsim record` writes them with
//! `setarch -R strace -f -v -s 1048576`). This crate turns such a log, line by line, into
//! [`Event`]s: system calls with their arguments as small syntax trees ([`Arg`]) and their
//! results ([`Ret`]), signals, exits. It never panics, whatever the input (including bytes that
//! are not UTF-8): a line it cannot read becomes a [`ParseError`] with its line and column, and
//! parsing goes on with the next line.
//!
//! - [`Parser`] reads any [`std::io::BufRead`] lazily and joins calls that strace split into
//!   `<unfinished ...>` and `<... resumed>` parts.
//! - [`Event`], [`EventKind`], [`Syscall`], [`Ret`]: what comes out.
//! - [`Arg`]: one argument, with accessors (`as_u64`, `as_bytes`, `field`, `flags_value`) that
//!   see through strace's comments and `-y` decorations.
//!
//! It accepts what users add to the recording flags: `-tt`/`-ttt`/`-r` time stamps, `-T`
//! durations, `-y`/`-yy` fd decorations, `-X verbose` comments, `-i`/`-n` brackets,
//! `--decode-pids=comm`, and both `-o FILE` and stderr output (where strace omits the pid of
//! a lone process, and may cut a line in two with `strace: Process N attached`).
//!
//! # Not supported
//!
//! - C expressions inside arguments, such as wait statuses `{WIFEXITED(s) && WEXITSTATUS(s) ==
//!   0}`, `&sin6_addr` or `restart_syscall`'s `<... resuming interrupted read ...>`, are kept
//!   as raw text ([`Arg::Other`]) element by element.
//! - Output of the traced program mixed into strace's stderr, and the `-c`/`-C` summary table,
//!   are not trace lines: they come out as errors.
//! - Whole-second time stamps (`--absolute-timestamps=precision:s` with the Unix format) look
//!   like pids and are read as such; fractional ones are fine.
//! - `-ff` writes one file per process without pids; each file parses on its own, with
//!   [`Event::pid`] `None` until the pid is learned. [`merge_per_pid`] joins such files into
//!   one log with pids ([`per_pid_files`] finds them from the `-o` prefix).
//!
//! ```
//! use trace::{Parser, Ret};
//!
//! let log = "1234  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7fc3000\n";
//! let event = Parser::new(log.as_bytes()).next().unwrap().unwrap();
//! let mmap = event.syscall().unwrap();
//! assert_eq!(event.pid, Some(1234));
//! assert_eq!(mmap.arg_u64(1), Some(8192));
//! assert_eq!(mmap.arg_flags(2), Some(abi::PROT_READ | abi::PROT_WRITE));
//! assert_eq!(mmap.ret, Ret::Value(0x7ffff7fc3000));
//! ```
//!
//! It depends on `abi` only (for flag names), not on the model: a log is parsed the same
//! whatever replays it. The replayer and the CLI depend on it.
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

mod arg;
mod cursor;
mod error;
mod escape;
mod event;
mod grammar;
mod line;
mod names;
mod parser;
mod perpid;

pub use arg::{Arg, CallArg, Field, FlagPart, FlagSet, QuotedStr};
pub use error::ParseError;
pub use event::{Args, Event, EventKind, Ret, Syscall, Timestamp};
pub use line::is_summary_header;
pub use parser::{Parser, DEFAULT_MAX_LINE_LEN};
pub use perpid::{merge_per_pid, merge_per_pid_ordered, per_pid_files, pid_suffix};

/// Parses the argument list of one call, `text` being what strace printed between the
/// parentheses (for consumers that hold argument text from elsewhere, and for tests).
///
/// Elements that do not fit the grammar come out as [`Arg::Other`].
pub fn parse_args(text: &[u8]) -> Args {
    let mut cursor = cursor::Cursor::new(text);
    let mut args = Args::new();
    // With `eof_ok` the only error left is a stray character after an element, which the
    // element-level fallback already turned into text.
    let _ = grammar::parse_list(&mut cursor, b')', true, 0, &mut args);
    args
}
