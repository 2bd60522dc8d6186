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
//! What the log does not determine (ASLR's draws, inherited limits, identities no stat
//! showed, the address space of a process attached to) is learned from the log itself
//! ([`unknowns`]): bound at the first line that reveals it, checked on every later line; the
//! replay runs over the log again until a run learns nothing new.
//!
//! File identity (device, inode) comes from the log's own stat results ([`Identities`],
//! collected by a first pass); everything else about files comes from [`Files`]: the bundle
//! `mmsim record` keeps beside the trace, a copy of the recording machine's root, or this
//! machine's files, read a page at a time when the model needs it (see [`files`]).
//!
//! This crate depends on the model (`mm`), its `/proc` renderers (`procfs`), the ELF
//! loader and the strace parser; nothing depends on it but the CLI and the bench.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod call;
pub mod compat;
mod cwd;
pub mod files;
mod identity;
mod identity_cut;
mod identity_direct;
mod parsed;
mod replayer;
mod report;
mod shown_calls;
pub mod unknowns;

pub use call::call_of;
pub use cwd::StartCwd;
pub use files::{bundle_path, Bundle, Files};
pub use identity::{Identities, Identity, StatFacts};
pub use parsed::ParsedLog;
pub use replayer::{
    replay, replay_observed, replay_parsed, replay_parsed_observed, replay_text, replay_with, Observer, Options,
    Replayer, DEFAULT_RAM,
};
pub use report::{Mismatch, Mode, ReplayError, Report};
pub use shown_calls::{MapCall, ShownCalls};
