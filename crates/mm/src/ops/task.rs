//! Tasks that share an address space: threads (`clone` with CLONE_VM|CLONE_THREAD) and
//! vfork-style children (CLONE_VM without a thread group). They use the same `Mm`, counted
//! in `mm_users`; the last one to exit (or to execve into a new address space) releases it.

use crate::kernel::{Kernel, Pid, Task};
use abi::{Errno, SysResult};

impl Kernel {
    /// `clone` of `pid`: with `share_vm` the new task uses the same address space (a thread,
    /// or a vfork child until it execs or exits); without it, this is `fork`. The new task
    /// starts with a copy of the descriptor table. Returns the new task's pid.
    pub fn clone_task(&mut self, pid: Pid, share_vm: bool) -> SysResult<Pid> {
        if !share_vm {
            return self.fork(pid);
        }
        let parent = self.tasks.get(&pid).ok_or(Errno::ESRCH)?.clone();
        let id = parent.mm.ok_or(Errno::ESRCH)?;
        self.mm_mut(id).users += 1;
        for &o in parent.fds.values() {
            self.m.get_open(o);
        }
        let child = self.alloc_pid();
        self.tasks.insert(
            child,
            Task { pid: child, ppid: pid, min_flt: 0, maj_flt: 0, exit_code: None, killed_by: None, ..parent },
        );
        self.attach_mm(child, id);
        if self.m.config.paranoid {
            crate::invariants::check_kernel(self);
        }
        Ok(child)
    }
}
