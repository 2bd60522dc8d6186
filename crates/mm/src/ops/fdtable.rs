//! Descriptor-table edits by number, for callers that are told which descriptor a call
//! returned (a trace replay) rather than letting the model choose: install an open file
//! description at a given number, look one up, and give non-file objects (pipes, sockets,
//! event fds) a description that cannot be mapped.

use crate::file::{File, FileId, FileKind, OpenFileId};
use crate::kernel::{Kernel, Pid};
use abi::{Errno, SysResult};

impl Kernel {
    /// Puts `open` at descriptor `fd` of `pid` (closing what was there), taking a reference.
    pub fn fd_install_at(&mut self, pid: Pid, fd: i32, open: OpenFileId, cloexec: bool) -> SysResult<()> {
        if fd < 0 {
            return Err(Errno::EBADF);
        }
        // Not in an exited task: nothing would close it (exit closed the others).
        let task = self.tasks.get_mut(&pid).filter(|t| t.exit_code.is_none()).ok_or(Errno::ESRCH)?;
        let old = task.fds.insert(fd, open);
        self.m.get_open(open);
        if cloexec {
            task.cloexec.insert(fd);
        } else {
            task.cloexec.remove(&fd);
        }
        if let Some(old) = old {
            self.m.put_open(old);
        }
        Ok(())
    }

    /// The open file description at descriptor `fd` of `pid`.
    pub fn fd_description(&self, pid: Pid, fd: i32) -> Option<OpenFileId> {
        self.tasks.get(&pid)?.fds.get(&fd).copied()
    }

    /// A file standing for an object that is not a regular file (a pipe, socket, event fd,
    /// directory): it can be held by descriptors, and mmap of it fails with ENODEV.
    pub fn unmappable_file(&mut self, name: &str) -> FileId {
        let ino = self.m.new_ino();
        self.m.add_file(File::new(name.to_string(), (0, 0xe), ino, FileKind::Unmappable))
    }

    /// `rename(from, to)` in the model's namespace.
    pub fn rename(&mut self, from: &str, to: &str) -> SysResult<u64> {
        let id = self.m.namespace.remove(from).ok_or(Errno::ENOENT)?;
        if let Some(old) = self.m.namespace.insert(to.to_string(), id) {
            if old != id {
                self.m.file_mut(old).nlink -= 1;
                self.m.maybe_destroy_file(old);
            }
        }
        self.m.file_mut(id).path = to.to_string();
        Ok(0)
    }
}
