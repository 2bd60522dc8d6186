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
    /// The memory cgroup the task belongs to (inherited across fork).
    pub memcg: crate::memcg::MemcgId,
    /// `/proc/PID/oom_score_adj`, -1000 (never killed) to 1000 (inherited across fork).
    pub oom_score_adj: i16,
    /// The lowest `oom_score_adj` the task may set without CAP_SYS_RESOURCE: the value of
    /// the last write by a task holding it (signal->oom_score_adj_min; inherited across fork).
    pub oom_score_adj_min: i16,
    /// The signal that killed the task, once it was killed (the OOM killer's SIGKILL).
    pub killed_by: Option<i32>,
}

impl Task {
    /// The status `wait4` reports for the exited task: the signal number when a signal
    /// killed it, else the exit code shifted left by 8 (None while it runs).
    pub fn wait_status(&self) -> Option<i32> {
        match (self.killed_by, self.exit_code) {
            (Some(sig), _) => Some(sig),
            (None, Some(code)) => Some((code & 0xff) << 8),
            (None, None) => None,
        }
    }
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
