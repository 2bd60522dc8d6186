//! `spawn`: a new process running a program, as a shell leaves one after fork and execve —
//! descriptors 0, 1 and 2 open on a terminal, then the exec.

use super::exec::ExecRequest;
use crate::kernel::{Kernel, Pid};
use abi::*;

impl Kernel {
    /// Creates a process and runs `req` in it. On failure no process is left behind.
    pub fn spawn(&mut self, req: &ExecRequest) -> SysResult<Pid> {
        let comm = req.filename.rsplit('/').next().unwrap_or("");
        let pid = self.spawn_empty(comm)?;
        // Standard streams, so a program's first open() returns 3 as on a real system.
        if self.lookup("/dev/pts/0").is_none() {
            let tty = self.create_file("/dev/pts/0", &[]);
            self.m.file_mut(tty).kind = crate::file::FileKind::Unmappable;
        }
        for _ in 0..3 {
            self.open(pid, "/dev/pts/0", O_RDWR)?;
        }
        if let Err(e) = self.execve(pid, req) {
            if self.task(pid).is_some_and(|t| t.exit_code.is_none()) {
                let _ = self.exit(pid, 127);
            }
            let _ = self.reap(pid);
            return Err(e);
        }
        Ok(pid)
    }
}
