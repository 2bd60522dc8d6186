//! The system calls, one per file, each an `impl Kernel` block.

mod access;
pub mod adopt;
mod brk;
pub mod cgroup;
pub mod exec;
mod exit;
pub(crate) mod fault;
mod fdtable;
pub(crate) mod files;
mod fork;
pub mod guard;
mod import;
mod limits;
mod madvise;
pub use madvise::advice_changes_vma_flags;
mod mincore;
mod mlock;
pub(crate) mod mmap;
mod mprotect;
mod mremap;
mod msync;
mod munmap;
mod remote;
pub mod shm;
mod spawn;
mod sync;
mod task;

pub use access::access_ok;
