//! `Kernel`: the whole simulated machine — physical memory, files, tasks and their address
//! spaces — and the system calls as methods.
//!
//! System calls live one per file under `ops/`, each an `impl Kernel` block; this file holds
//! the state, the registry of tasks and address spaces and the read-only views other crates
//! use. The machine below the processes is in [`crate::machine`], the settings in
//! [`crate::config`], the VMA machinery the calls share in [`crate::vma_edit`].

use crate::file::{File, FileId};
use crate::mm::Mm;
use crate::mm_table::{MmId, MmTable};
use crate::pgtable;
use abi::{Errno, SysResult};
use std::collections::{BTreeMap, BTreeSet};

pub use crate::accounting::{rss_add, vm_stat_account, RssKind};
pub use crate::config::{Cap, Config, Rlimit, ThpMode};
pub use crate::machine::{Machine, VmEvents};
pub use crate::signal::{Access, SegvCode, Signal};
pub use crate::task::{Task, TaskLimits};
pub use crate::vma_edit::can_merge;

/// A process id.
pub type Pid = u32;

/// The simulated machine.
#[derive(Clone, Debug)]
pub struct Kernel {
    /// Memory, files, settings.
    pub(crate) m: Machine,
    /// Address spaces by id.
    pub(crate) mms: MmTable,
    /// Tasks by pid (exited tasks stay, with `mm` None, until reaped).
    pub(crate) tasks: BTreeMap<Pid, Task>,
    /// The tasks using each address space, so that a call finds the limits and capabilities
    /// of its mm's task without scanning every task (twice per mmap).
    mm_tasks: BTreeMap<MmId, BTreeSet<Pid>>,
    next_pid: Pid,
    /// How many tasks a signal has ended so far (see [`Kernel::kills`]).
    pub(crate) kills: u64,
}

impl Kernel {
    /// A machine with no tasks.
    pub fn new(config: Config) -> Self {
        Kernel {
            m: Machine::new(config),
            mms: MmTable::default(),
            tasks: BTreeMap::new(),
            mm_tasks: BTreeMap::new(),
            next_pid: 1000,
            kills: 0,
        }
    }

    /// How many tasks a signal (the OOM killer's SIGKILL among them) has ended so far: a
    /// front end that reports such ends looks for them only when this has grown, instead of
    /// asking every task after every call.
    pub fn kills(&self) -> u64 {
        self.kills
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.m.config
    }

    /// The configuration, to change a setting (a sysctl, a limit the shell set) between
    /// calls. Changes reach tasks that did not set their own limits; the RAM size is fixed
    /// once the machine is made.
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.m.config
    }

    /// Physical memory, files, counters and the event log, read-only: what /proc views and
    /// front ends show. Changes go through the kernel's calls.
    pub fn machine(&self) -> &Machine {
        &self.m
    }

    /// The file with this id (it must not have been destroyed).
    pub fn file(&self, id: FileId) -> &File {
        self.m.file(id)
    }

    /// Every file that still exists, with its id.
    pub fn files(&self) -> impl Iterator<Item = (FileId, &File)> {
        self.m.files.iter().enumerate().filter_map(|(i, f)| Some((FileId(i as u32), f.as_ref()?)))
    }

    /// Every task, exited ones not yet reaped included, by pid.
    pub fn tasks(&self) -> impl Iterator<Item = &Task> {
        self.tasks.values()
    }

    /// The mm id of a live task, or ESRCH.
    pub fn mm_id(&self, pid: Pid) -> SysResult<MmId> {
        self.tasks.get(&pid).and_then(|t| t.mm).ok_or(Errno::ESRCH)
    }

    /// The address space of a live task.
    pub fn mm(&self, pid: Pid) -> SysResult<&Mm> {
        let id = self.mm_id(pid)?;
        Ok(&self.mms[id])
    }

    /// The page-table pages below the roots of every address space, in the profile's
    /// page-table geometry: the processes' share of meminfo's `PageTables`.
    pub fn user_pgtables_pages(&self) -> u64 {
        self.mms.iter().map(|(_, mm)| self.m.pgtables_pages(mm)).sum()
    }

    /// A task.
    pub fn task(&self, pid: Pid) -> Option<&Task> {
        self.tasks.get(&pid)
    }

    /// The task whose address space is `id` (the one a system call on that mm runs in).
    pub(crate) fn task_of_mm(&self, id: MmId) -> Option<&Task> {
        let pid = self.mm_tasks.get(&id)?.first()?;
        self.tasks.get(pid)
    }

    /// Records that task `pid` now uses mm `id` (its `mm` field is set by the caller).
    pub(crate) fn attach_mm(&mut self, pid: Pid, id: MmId) {
        self.mm_tasks.entry(id).or_default().insert(pid);
    }

    /// Records that task `pid` no longer uses mm `id`.
    pub(crate) fn detach_mm(&mut self, pid: Pid, id: MmId) {
        if let Some(set) = self.mm_tasks.get_mut(&id) {
            set.remove(&pid);
            if set.is_empty() {
                self.mm_tasks.remove(&id);
            }
        }
    }

    /// The tasks using each mm, as recorded (for the invariant check).
    pub(crate) fn mm_tasks(&self) -> &BTreeMap<MmId, BTreeSet<Pid>> {
        &self.mm_tasks
    }

    /// The soft limit `r` of the task using mm `id`, in bytes (u64::MAX = unlimited).
    pub fn rlimit(&self, id: MmId, r: Rlimit) -> u64 {
        let [limit] = self.rlimits(id, [r]);
        limit
    }

    /// Several of [`Kernel::rlimit`]'s limits with one look-up of the task.
    pub(crate) fn rlimits<const N: usize>(&self, id: MmId, rs: [Rlimit; N]) -> [u64; N] {
        let own = self.task_of_mm(id).map(|t| t.limits).unwrap_or_default();
        let c = &self.m.config;
        rs.map(|r| match r {
            Rlimit::Stack => own.stack.unwrap_or(c.rlimit_stack),
            Rlimit::Data => own.data.unwrap_or(c.rlimit_data),
            Rlimit::As => own.as_.unwrap_or(c.rlimit_as),
            Rlimit::Memlock => own.memlock.unwrap_or(c.rlimit_memlock),
        })
    }

    /// Whether the task using mm `id` has capability `cap`.
    pub fn capable(&self, id: MmId, cap: Cap) -> bool {
        if self.task_of_mm(id).is_some_and(|t| t.caps_dropped) {
            return false;
        }
        let c = &self.m.config;
        match cap {
            Cap::SysRawio => c.cap_sys_rawio,
            Cap::IpcLock => c.cap_ipc_lock,
            Cap::SysAdmin => c.cap_sys_admin,
            Cap::SysResource => c.cap_sys_resource,
        }
    }

    /// Whether the task using mm `id` runs with the READ_IMPLIES_EXEC personality: mmap and
    /// mprotect then add PROT_EXEC to PROT_READ, and brk, the bss and a stack that did not ask
    /// otherwise are executable (TASK_EXEC in the data and stack defaults).
    pub(crate) fn read_implies_exec(&self, id: MmId) -> bool {
        self.task_of_mm(id).is_some_and(|t| t.personality & abi::READ_IMPLIES_EXEC != 0)
    }

    /// security_vm_enough_memory_mm for mm `id`: whether `pages` more may be committed
    /// (the check only; the charge follows from the VMA or object that takes the pages).
    pub(crate) fn may_commit(&self, id: MmId, pages: u64) -> bool {
        let total_vm = self.mms.get(id).map(|m| m.total_vm.as_u64());
        self.m.vm_enough_memory(pages, total_vm, self.capable(id, Cap::SysAdmin))
    }

    /// The top of user space of address space `id` (`TASK_SIZE` as its system calls see it).
    pub(crate) fn task_size(&self, id: MmId) -> u64 {
        self.mms[id].space.task_size
    }

    pub(crate) fn mm_mut(&mut self, id: MmId) -> &mut Mm {
        &mut self.mms[id]
    }

    /// Allocates a pid.
    pub(crate) fn alloc_pid(&mut self) -> Pid {
        let p = self.next_pid;
        self.next_pid += 1;
        p
    }

    /// The mmap_base Linux computes without ASLR for a stack rlimit (arch/x86/mm/mmap.c).
    pub fn mmap_base_for(rlimit_stack: u64, guard_gap: u64) -> u64 {
        crate::ops::exec::mmap_base(rlimit_stack, guard_gap, false, 0)
    }

    /// Creates a process with an empty address space (no VMAs), as a starting point for
    /// scenarios and for `exec`.
    pub fn spawn_empty(&mut self, comm: &str) -> SysResult<Pid> {
        let id = self.new_mm()?;
        let pid = self.alloc_pid();
        self.tasks.insert(
            pid,
            Task {
                pid,
                ppid: 0,
                mm: Some(id),
                fds: BTreeMap::new(),
                cloexec: BTreeSet::new(),
                exit_code: None,
                min_flt: 0,
                maj_flt: 0,
                comm: comm.to_string(),
                limits: TaskLimits::default(),
                caps_dropped: false,
                personality: 0,
                memcg: crate::memcg::ROOT_MEMCG,
                oom_score_adj: 0,
                oom_score_adj_min: 0,
                killed_by: None,
            },
        );
        self.attach_mm(pid, id);
        Ok(pid)
    }

    /// Allocates an address space with no VMAs and one user (mm_alloc), laid out for the
    /// configured stack limit without randomization.
    pub(crate) fn new_mm(&mut self) -> SysResult<MmId> {
        let roots = pgtable::pgd_alloc(&mut self.m.frames).ok_or(Errno::ENOMEM)?;
        let base = Self::mmap_base_for(self.m.config.rlimit_stack, self.m.config.stack_guard_gap);
        let mm = Mm::new(roots, self.m.config.stack_guard_gap, base);
        Ok(self.insert_mm(mm))
    }

    pub(crate) fn insert_mm(&mut self, mm: Mm) -> MmId {
        self.mms.insert(mm)
    }
}
