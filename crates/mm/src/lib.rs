//! `mm`: an executable model of the Linux x86-64 process address space.
//!
//! A [`Kernel`] owns physical memory ([`frame`]), files and their page cache ([`file`]),
//! tasks and their address spaces ([`Mm`], made of [`Vma`]s in a [`VmaTree`], with real
//! four-level page tables in [`pgtable`]). System calls are methods of [`Kernel`] that take a
//! pid and return `Result<_, Errno>` exactly as Linux would; memory accesses go through the
//! user path ([`Kernel::load`], [`Kernel::store`]: faults and signals) or the kernel copy path
//! ([`Kernel::copy_from_user`], [`Kernel::copy_to_user`]: EFAULT).
//!
//! [`Call`] names each address-space call with its arguments as Linux takes them;
//! [`Kernel::dispatch`] runs one, and its `Display` prints it as strace does. Front ends (the
//! scenario language, the replayer, the host comparison) translate into it.
//!
//! The kernel's state is private to this crate: other crates read it through
//! [`Kernel::machine`], [`Kernel::mm`], [`Kernel::task`], [`Kernel::tasks`], [`Kernel::file`]
//! and [`Kernel::files`], and change it only through calls. Address spaces are named by a
//! generational [`MmId`].
//!
//! The model has no I/O and no `unsafe`, and is deterministic.
//!
//! **Overflow policy.** A number from outside is checked once, where it comes in: each system
//! call checks its arguments in Linux's order before it changes anything, rounding lengths
//! with [`layout::page_ceil`] and ending ranges with `checked_add`, and comparing them with the
//! address space's task size, so that a length near 2^64, an unaligned start or a range that
//! wraps gets the errno Linux gives (`EINVAL`, `ENOMEM`, `EFAULT`, per call). What passed the
//! check is small by construction: user addresses are below the task size (2^47), page counts
//! below 2^35, frame numbers ([`frame::Pfn`], a type of its own) below the simulated RAM's frame
//! count; so arithmetic inside the model on such values cannot overflow and uses the plain
//! operators, with no checked arithmetic on hot paths. A debug build (every test and fuzz run)
//! traps an overflow there as the bug it would be, and `debug_assert!` states the bound where the
//! proof is local. Counters that move by signed deltas (RSS, the VM counters) add them with
//! `wrapping_add_signed`, and [`invariants`] checks that they equal what they count after every
//! operation. The address space's counters (RSS and the VM counters) are a [`pages::PageCount`];
//! addresses, VMA sizes in pages and the other page counts (page-table pages, file charges) are
//! still plain `u64` inside the model (issue 11 asks for newtypes for them too); a front end
//! that builds a value out of a trace or a script goes through the same system-call checks.
//!
//! It depends only on `abi` (and `bitflags`); it must not depend on any front end (scenario
//! language, replay, host comparison, `/proc` text), which all depend on it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod accounting;
pub mod arena;
pub mod call;
pub mod clean_cache;
pub mod config;
pub mod event;
pub mod file;
pub mod flags;
pub mod folio_batch;
pub mod frame;
pub mod invariants;
pub mod kalloc;
pub mod kernel;
pub mod layout;
pub mod machine;
pub mod memcg;
pub mod mm;
pub mod mm_table;
pub mod oom;
pub mod ops;
pub mod page_cache;
pub mod pages;
pub mod pgtable;
pub mod pgtable_geometry;
pub mod placement;
pub mod readahead;
pub mod reclaim;
pub mod signal;
pub mod size_use;
pub mod space;
pub mod swap;
pub mod sysv_shm;
pub mod task;
pub mod vma;
pub mod vma_edit;
pub mod vma_index;
pub mod vma_tree;

pub use abi::{Errno, SysResult};
pub use call::Call;
pub use event::{Event, EventKind};
pub use file::{Content, FileId, FileKind, OpenFileId, Source};
pub use flags::VmFlags;
pub use kernel::{Access, Cap, Config, Kernel, Pid, Rlimit, SegvCode, Signal, ThpMode};
pub use mm::Mm;
pub use mm_table::MmId;
pub use ops::access_ok;
pub use ops::adopt::AdoptedVma;
pub use ops::exec::{
    at, exec_space, mmap_base, AuxvProfile, ElfImage, ElfKind, ExecFile, ExecInfo, ExecPlacement, ExecRequest,
    LoadSegment, Machine, StackExec, VdsoLayout, EXEC_FATAL_STATUS, MMAP_RND_RANGE, STACK_RND_RANGE,
};
pub use placement::PlacementSketch;
pub use space::{Abi, UserSpace};
pub use vma::Vma;
pub use vma_tree::VmaTree;
