//! `exit(2)`: a task leaves; when the last user of an address space goes, exit_mmap tears
//! down every VMA, page and page table.

use crate::kernel::{Kernel, Pid};
use crate::mm_table::MmId;
use abi::{Errno, SysResult};

impl Kernel {
    /// `exit(code)`: the task ends; its fds are closed and its mm released.
    pub fn exit(&mut self, pid: Pid, code: i32) -> SysResult<()> {
        let task = self.tasks.get_mut(&pid).ok_or(Errno::ESRCH)?;
        if task.exit_code.is_some() {
            return Err(Errno::ESRCH);
        }
        task.exit_code = Some(code);
        let fds = std::mem::take(&mut task.fds);
        task.cloexec.clear();
        let mm = task.mm.take();
        for (_, o) in fds {
            self.m.put_open(o);
        }
        if let Some(id) = mm {
            self.detach_mm(pid, id);
            self.mmput(id);
        }
        // The last user of an address space closed its attaches (shm_lpid).
        self.shm_record_user(pid);
        if self.m.config.paranoid {
            crate::invariants::check_kernel(self);
        }
        Ok(())
    }

    /// Drops one user of an mm; the last one tears it down.
    pub(crate) fn mmput(&mut self, id: MmId) {
        let mm = self.mm_mut(id);
        mm.users -= 1;
        if mm.users == 0 {
            self.exit_mmap(id);
            self.mms.remove(id);
            self.m.swap.forget_mm(id);
        }
    }

    /// Unmaps everything and frees every page table, the PGD included. No LRU batch is
    /// drained: 6.18's exit_mmap does not call lru_add_drain (measured, one CPU: the
    /// munlocks a parent's munmap queued were still pending after a child's exit in four
    /// of six runs where nothing else had drained them, and a child's MADV_COLD drained
    /// them in eleven of eleven), so a page whose last lock went stays held by the mlock
    /// batch, and a write to it after its other mappings went copies it.
    pub(crate) fn exit_mmap(&mut self, id: MmId) {
        self.zap_range(id, 0, crate::layout::TASK_SIZE);
        let vmas = self.mms[id].vmas.take_all();
        for vma in vmas.iter() {
            self.vma_unlinked(id, vma);
        }
        let pgd = self.mms[id].pgd;
        let freed = crate::pgtable::free_tables(&mut self.m.frames, pgd, 0, 0, 0, 0);
        let mm = self.mm_mut(id);
        mm.pgtable_pages -= freed;
        if let Some(pmd) = mm.pti_pmd.take() {
            mm.pgtable_pages -= 1;
            self.m.frames.free(pmd);
        }
        self.m.frames.free(pgd);
    }

    /// Removes an exited task from the task table (wait4 reaping it). Returns its exit code.
    pub fn reap(&mut self, pid: Pid) -> SysResult<i32> {
        let code = self.tasks.get(&pid).ok_or(Errno::ECHILD)?.exit_code.ok_or(Errno::EAGAIN)?;
        self.tasks.remove(&pid);
        Ok(code)
    }
}
