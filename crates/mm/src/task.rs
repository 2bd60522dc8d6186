//! Tasks (processes and threads): what each one holds besides its address space — its
//! descriptors, fault counters, the limits and capabilities it set for itself.

use crate::file::OpenFileId;
use crate::kernel::Pid;
use crate::mm_table::MmId;
use std::collections::{BTreeMap, BTreeSet};

/// A task (process or thread).
#[derive(Clone, Debug)]
pub struct Task {
    /// Its id.
    pub pid: Pid,
    /// Parent's id (0 for none).
    pub ppid: Pid,
    /// Its address space, while alive.
    pub mm: Option<MmId>,
    /// File descriptors.
    pub fds: BTreeMap<i32, OpenFileId>,
    /// Descriptors with FD_CLOEXEC: execve closes them.
    pub cloexec: BTreeSet<i32>,
    /// Exit status once exited.
    pub exit_code: Option<i32>,
    /// Minor faults.
    pub min_flt: u64,
    /// Major faults.
    pub maj_flt: u64,
    /// Command name.
    pub comm: String,
    /// Limits the task set itself with setrlimit.
    pub limits: TaskLimits,
    /// The task dropped every capability (capset to an empty set).
    pub caps_dropped: bool,
    /// Its execution domain and flags (`personality(2)`): ADDR_NO_RANDOMIZE,
    /// ADDR_COMPAT_LAYOUT, READ_IMPLIES_EXEC, ... Inherited across fork and exec.
    pub personality: u32,
}

/// Limits a task set for itself; `None` means the machine's default from [`Config`] (what
/// the shell that started it set), so `Config` changes still reach tasks that set nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskLimits {
    /// RLIMIT_STACK.
    pub stack: Option<u64>,
    /// RLIMIT_DATA.
    pub data: Option<u64>,
    /// RLIMIT_AS.
    pub as_: Option<u64>,
    /// RLIMIT_MEMLOCK.
    pub memlock: Option<u64>,
}
