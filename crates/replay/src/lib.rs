//! `replay`: rebuilds a real program's address space from its `strace` log, call by call, on
//! the mmsim model, and checks every result the kernel gave along the way.
//!
//! [`replay`] reads a log as `mmsim record` writes it (`setarch -R strace -f -v -s N`),
//! streaming: a parser thread turns lines into events while the model applies them. With
//! [`Mode::Verify`] every result of an address-space call (mmap, munmap, mprotect, brk, ...)
//! is compared with the log, so is every EFAULT of a read/write-style call, and every read of
//! `/proc/self/maps` or `/proc/PID/maps` is compared byte for byte with the model's rendering
//! at that point. [`Mode::Strict`] adds what holds only for programs that touch their mappings
//! through system calls alone: the smaps residency of mappings the log created with mmap.
//!
//! File identity (device, inode) comes from the log's own stat results ([`Identities`],
//! collected by a first pass); file contents come from this machine's files, so a log
//! replays on any machine that has the same files.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cwd;
mod identity;
mod replayer;
mod report;
pub mod unknowns;

pub use cwd::StartCwd;
pub use identity::{Identities, Identity};
pub use replayer::{replay, Options, Replayer};
pub use report::{Mismatch, Mode, Report};
