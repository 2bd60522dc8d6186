//! The per-process settings the memory calls consult: `setrlimit(2)` for the memory limits,
//! dropping capabilities (`capset(2)` to an empty set), and `prctl(PR_SET_THP_DISABLE)`.
//! Limits are read when a call needs them (RLIMIT_STACK at each stack growth, the others
//! at each mapping), so a change applies from the next call on.

use crate::kernel::{Kernel, Pid, Rlimit};
use abi::{Errno, SysResult};

impl Kernel {
    /// `setrlimit(resource, {soft, unlimited})` for one of the memory limits: returns 0.
    pub fn setrlimit(&mut self, pid: Pid, resource: Rlimit, soft: u64) -> SysResult<u64> {
        let t = self.tasks.get_mut(&pid).filter(|t| t.exit_code.is_none()).ok_or(Errno::ESRCH)?;
        match resource {
            Rlimit::Stack => t.limits.stack = Some(soft),
            Rlimit::Data => t.limits.data = Some(soft),
            Rlimit::As => t.limits.as_ = Some(soft),
            Rlimit::Memlock => t.limits.memlock = Some(soft),
        }
        Ok(0)
    }

    /// The task gives up every capability (CAP_SYS_RAWIO, CAP_IPC_LOCK, CAP_SYS_ADMIN):
    /// from now on RLIMIT_MEMLOCK binds it, pagemap hides PFNs from it, the admin reserve
    /// of strict overcommit is kept from it. Its children inherit this.
    pub fn drop_capabilities(&mut self, pid: Pid) -> SysResult<u64> {
        let t = self.tasks.get_mut(&pid).filter(|t| t.exit_code.is_none()).ok_or(Errno::ESRCH)?;
        t.caps_dropped = true;
        Ok(0)
    }

    /// `personality(persona)`: sets the task's execution domain and flags and returns the
    /// old value; 0xffffffff only asks. The layout flags take effect at the next execve.
    pub fn personality(&mut self, pid: Pid, persona: u64) -> SysResult<u64> {
        let t = self.tasks.get_mut(&pid).filter(|t| t.exit_code.is_none()).ok_or(Errno::ESRCH)?;
        let old = t.personality;
        if persona != 0xffff_ffff {
            t.personality = persona as u32;
        }
        Ok(u64::from(old))
    }

    /// `prctl(PR_SET_THP_DISABLE, disable)`: no transparent huge pages for the address
    /// space (inherited across fork).
    pub fn set_thp_disable(&mut self, pid: Pid, disable: bool) -> SysResult<u64> {
        let id = self.mm_id(pid)?;
        self.mm_mut(id).thp_disabled = disable;
        Ok(0)
    }
}
