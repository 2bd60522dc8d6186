//! The host-kernel side of mmsim's differential tester.
//!
//! A [`HostScript`] lists memory system calls (mmap, munmap, mprotect, brk, mremap,
//! madvise, mlock and its family, msync, mincore, setrlimit, dropping capabilities),
//! memory accesses by the process itself ([`Op::Load`], [`Op::Store`]) and by
//! the kernel on its behalf ([`Op::KRead`], [`Op::KWrite`]), forks, exits and
//! `/proc` views (maps, smaps, status, pagemap), each done by one numbered
//! process. [`run_on_host`] runs it on the real kernel and returns exactly
//! what happened, step by step, so a model can be held against it.
//!
//! How it works: a small C program (`csrc/hostchild.c`, built by `build.rs`)
//! is started under `setarch -R`, so addresses are reproducible. Its
//! supervisor creates the files and execs process 0 fresh; process 0 reports
//! its initial address space ([`HostInit`]) and then all processes of the run
//! take turns through a counter in one shared page, so the steps happen in
//! script order and their records come out in that order. Faults of user
//! accesses are caught and reported as [`Outcome::Signal`]. The whole run is
//! under a time limit and killed as one process group if it overruns.
//!
//! ```no_run
//! use hostdiff::{Addr, Fd, HostScript, Op, Outcome};
//!
//! let mut script = HostScript::new();
//! let map = script.push(
//!     0,
//!     Op::Mmap { addr: Addr::Abs(0), len: 8192, prot: 3, flags: 0x22, fd: Fd::None, offset: 0 },
//! );
//! script.push(0, Op::Store { addr: Addr::Result { op: map, offset: 0 }, len: 4, byte: 7 });
//! script.push(0, Op::Load { addr: Addr::Result { op: map, offset: 0 }, len: 4 });
//! let run = hostdiff::run_on_host(&script)?;
//! assert_eq!(run.outcomes[2], Outcome::Bytes(vec![7; 4]));
//! # Ok::<(), hostdiff::HostError>(())
//! ```
//!
//! It depends on the model (`mm`), `procfs` and `abi`; only the CLI (`mmsim check`) and tests
//! depend on it, and it must not depend on the scenario language or the replay (the CLI
//! translates scenarios into host scripts).
#![warn(missing_docs, missing_debug_implementations)]
#![forbid(unsafe_code)]

mod calls;
pub mod cc;
pub mod compare;
pub mod gen;
mod host;
pub mod host_memcg;
pub mod model;
mod protocol;
pub mod swapfile;

pub use host::{
    cgroup_word, file_byte, host_child_path, is_supported, run_on_host, run_on_host_with_timeout, support, Addr, Fd,
    FileSpec, HostError, HostFile, HostInit, HostRun, HostScript, Op, OpenMode, OpenSpec, Outcome, Step, SwapFileSpec,
    DEFAULT_TIMEOUT, MAX_CGROUPS, MAX_CGROUP_WORD, MAX_FILE_SIZE, MAX_KERNEL_COPY, MAX_LIVE_RESULTS, MAX_MINCORE_LEN,
    MAX_OPENS, MAX_PAGEMAP_PAGES, MAX_PROCESSES, MAX_STEPS, MAX_SWAP_FILES, MAX_SWAP_FILE_SIZE, MAX_USER_ACCESS,
    MIN_SWAP_FILE_SIZE, NO_VALUE_BASE, PROC_READABLE, PROC_WRITABLE,
};
