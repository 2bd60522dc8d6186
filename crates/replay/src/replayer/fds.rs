//! Descriptor state beyond open and close: the path behind each descriptor (so `fchdir` and
//! opens relative to a directory descriptor resolve as the kernel resolved them), `chdir`,
//! `lseek`, `close_range`, and descriptors whose open the trace does not show.

use super::{FdKind, Replayer};
use trace::{Arg, Event, EventKind, Ret, Syscall};

/// `CLOSE_RANGE_UNSHARE` and `CLOSE_RANGE_CLOEXEC` (linux/close_range.h).
const CLOSE_RANGE_UNSHARE: u64 = 1 << 1;
const CLOSE_RANGE_CLOEXEC: u64 = 1 << 2;

/// What the report calls a mapping of a file the trace never showed opened.
const UNSEEN: &str = "file name and identity of an mmap of a descriptor opened out of the trace's sight";

/// `AT_FDCWD` as a number (strace prints it so with `-X raw`).
const AT_FDCWD: i64 = -100;

/// `path` resolved against the directory `base` (when relative), with `.` and empty
/// components dropped and `..` taken lexically (a trace shows no symlinks).
pub(crate) fn join(base: &str, path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let whole = if path.starts_with('/') { [path, ""] } else { [base, path] };
    for piece in whole {
        for part in piece.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                p => parts.push(p),
            }
        }
    }
    let mut out = String::with_capacity(path.len() + base.len() + 1);
    for p in &parts {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// The `-y` decoration of an argument when it names a path.
fn decorated_path(arg: Option<&Arg>) -> Option<String> {
    let text = String::from_utf8_lossy(arg?.decoration()?).into_owned();
    text.starts_with('/').then_some(text)
}

impl Replayer {
    /// The directory a `*at` call's directory argument `dirfd` names (`usize::MAX`: the
    /// call has none, the current directory): its `-y` decoration when the log has one,
    /// else the path the replay knows for that descriptor, or the task's directory.
    fn dir_of(&self, tpid: u32, c: &Syscall, dirfd: usize) -> Option<String> {
        let cwd = || self.procs.get(&tpid).map(|p| p.cwd.clone());
        if dirfd == usize::MAX {
            return cwd();
        }
        let arg = c.arg(dirfd)?;
        if let Some(path) = decorated_path(Some(arg)) {
            return Some(path);
        }
        if arg.as_ident() == Some("AT_FDCWD") || arg.as_i64() == Some(AT_FDCWD) {
            return cwd();
        }
        let fd = i32::try_from(arg.as_i64()?).ok()?;
        let p = self.procs.get(&tpid)?;
        self.tables[p.table].paths.get(&fd).cloned()
    }

    /// The absolute path a call names by its directory argument `dirfd` (`usize::MAX`:
    /// none) and path argument `path`; `None` when it is relative to a directory the replay
    /// cannot name.
    pub(super) fn path_arg_at(&self, tpid: u32, c: &Syscall, dirfd: usize, path: usize) -> Option<String> {
        let raw = String::from_utf8_lossy(c.arg_str(path)?).into_owned();
        if raw.starts_with('/') {
            return Some(join("/", &raw));
        }
        Some(join(&self.dir_of(tpid, c, dirfd)?, &raw))
    }

    /// Remembers the path descriptor `fd` was opened by.
    pub(super) fn set_fd_path(&mut self, tpid: u32, fd: i32, path: String) {
        let table = self.procs[&tpid].table;
        self.tables[table].paths.insert(fd, path);
    }

    /// `chdir(path)` and `fchdir(fd)`.
    pub(super) fn chdir(&mut self, tpid: u32, c: &Syscall) {
        let Ret::Value(_) = c.ret else { return };
        let dir = if c.name == "fchdir" {
            decorated_path(c.arg(0)).or_else(|| {
                let fd = i32::try_from(c.arg_i64(0)?).ok()?;
                self.tables[self.procs.get(&tpid)?.table].paths.get(&fd).cloned()
            })
        } else {
            self.path_arg_at(tpid, c, usize::MAX, 0)
        };
        match dir {
            Some(dir) => {
                // Threads share their directory (CLONE_FS) as they share descriptors
                // (CLONE_FILES): pthreads ask for both, fork and vfork for neither.
                let table = self.procs[&tpid].table;
                for m in self.tables[table].members.clone() {
                    if let Some(p) = self.procs.get_mut(&m) {
                        p.cwd = dir.clone();
                    }
                }
            }
            None => {
                *self
                    .report
                    .unchecked
                    .entry("fchdir to a directory opened out of the trace's sight".into())
                    .or_default() += 1
            }
        }
    }

    /// `lseek`: the new position of the open file description (shared with duplicates).
    pub(super) fn lseek(&mut self, tpid: u32, c: &Syscall) {
        let (Some(fd), Some(pos)) = (c.arg_i64(0), c.ret.value()) else { return };
        let Ok(fd) = i32::try_from(fd) else { return };
        if let Some(o) = self.k.fd_description(self.mpid(tpid), fd) {
            self.positions.insert(o, pos);
            self.seq_lseek(tpid, c, o, pos);
        }
    }

    /// `close_range(first, last, flags)`: closes the descriptors in the range, or with
    /// `CLOSE_RANGE_CLOEXEC` marks them close-on-exec; `CLOSE_RANGE_UNSHARE` first gives the
    /// task a table of its own.
    pub(super) fn close_range(&mut self, tpid: u32, c: &Syscall) {
        let Ret::Value(_) = c.ret else { return };
        let (Some(first), Some(last)) = (c.arg_u64(0), c.arg_u64(1)) else { return };
        let flags = c
            .arg(2)
            .and_then(|a| {
                a.flags_value_with(|name| match name {
                    "CLOSE_RANGE_UNSHARE" => Some(CLOSE_RANGE_UNSHARE),
                    "CLOSE_RANGE_CLOEXEC" => Some(CLOSE_RANGE_CLOEXEC),
                    _ => None,
                })
            })
            .unwrap_or(0);
        if flags & CLOSE_RANGE_UNSHARE != 0 {
            self.unshare_table(tpid);
        }
        let table = self.procs[&tpid].table;
        let (first, last) = (first.min(i32::MAX as u64) as i32, last.min(i32::MAX as u64) as i32);
        if first > last {
            return;
        }
        let fds: Vec<i32> = self.tables[table].kinds.range(first..=last).map(|(&fd, _)| fd).collect();
        for fd in fds {
            if flags & CLOSE_RANGE_CLOEXEC != 0 {
                for m in self.tables[table].members.clone() {
                    if let Some(p) = self.procs.get(&m) {
                        let _ = self.k.set_cloexec(p.pid, fd as i64, true);
                    }
                }
            } else {
                self.close_fd(tpid, fd);
            }
        }
    }

    /// Gives `tpid` a copy of the descriptor table it shares with other tasks.
    fn unshare_table(&mut self, tpid: u32) {
        let table = self.procs[&tpid].table;
        if self.tables[table].members.len() <= 1 {
            return;
        }
        self.tables[table].members.retain(|&m| m != tpid);
        let copy = super::FdTable { members: vec![tpid], ..self.tables[table].clone() };
        self.tables.push(copy);
        if let Some(p) = self.procs.get_mut(&tpid) {
            p.table = self.tables.len() - 1;
        }
    }

    /// The directory the traced program started in: `--cwd` when given, else what the trace
    /// showed (see [`crate::StartCwd`]), else this process's own; the report says which.
    pub(super) fn start_cwd(&mut self) -> String {
        const NOTE: &str = "starting directory";
        let (path, from) = match (&self.opts.cwd, self.ids.start_cwd()) {
            (Some(dir), _) => {
                let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
                (dir.display().to_string(), "given with --cwd".to_string())
            }
            (None, Some(learned)) => (learned.path.clone(), format!("from {}", learned.source)),
            (None, None) => {
                let here = std::env::current_dir().map_or_else(|_| "/".to_string(), |p| p.display().to_string());
                (here, "not in the trace: this process's own".to_string())
            }
        };
        if !self.report.notes.iter().any(|n| n.starts_with(NOTE)) {
            self.report.notes.push(format!("{NOTE} {path} ({from})"));
        }
        path
    }

    /// Whether `ev`, the first event of a task the replay does not know, starts a process
    /// whose creation a filter hid: a call while no task has a clone, fork or vfork in
    /// progress (when one has, the task is its child, held back until the call returns).
    /// strace prints the start of a creating call before any line of the child.
    pub(super) fn creation_hidden(&self, tpid: u32, ev: &Event) -> bool {
        let call = matches!(ev.kind, EventKind::Syscall(_) | EventKind::CallStarted { .. });
        call && !self.pending.contains_key(&tpid)
            && !self
                .in_progress
                .values()
                .any(|(name, _)| matches!(name.as_str(), "clone" | "clone3" | "fork" | "vfork"))
    }

    /// Starts task `tpid` as a process of its own, with the standard descriptors, in the
    /// directory the first task started in.
    pub(super) fn adopt(&mut self, tpid: u32) {
        self.hidden.calls_hidden = true;
        let pid = match self.k.spawn_empty("strace-child") {
            Ok(p) => p,
            Err(e) => return self.error(format!("cannot create task {tpid}: {e}")),
        };
        let cwd = self.start_cwd();
        self.tables.push(super::FdTable { members: vec![tpid], ..Default::default() });
        self.procs.insert(tpid, super::Proc { pid, table: self.tables.len() - 1, cwd });
        for fd in 0..3 {
            self.install_other(tpid, fd, false);
        }
        *self
            .report
            .unchecked
            .entry("descriptors and memory a process inherited by a fork the trace does not show".into())
            .or_default() += 1;
    }

    /// Before an `mmap` of descriptor `fd` that succeeded in the trace: when the replay never
    /// saw `fd` opened (a filter such as `-e trace=memory` hid the open, or the trace began
    /// later), it stands for an unknown file: the one its `-y` decoration names when the log
    /// has one, else a placeholder. Its name, identity and contents are then unchecked.
    pub(super) fn unseen_fd(&mut self, tpid: u32, c: &Syscall, fd: i32) {
        let pid = self.mpid(tpid);
        let table = self.procs[&tpid].table;
        let decorated = decorated_path(c.arg(4));
        match self.tables[table].kinds.get(&fd) {
            // A hidden close and open may have put another file there; the decoration tells.
            Some(FdKind::Unseen) if decorated.is_none() => {
                *self.report.unchecked.entry(UNSEEN.into()).or_default() += 1;
                return;
            }
            Some(FdKind::Unseen) if decorated.as_ref() == self.tables[table].paths.get(&fd) => return,
            Some(FdKind::Unseen) => {}
            _ if self.k.fd_description(pid, fd).is_some() => return,
            _ => {}
        }
        let file = match &decorated {
            Some(path) => self.file_for(path, path, false),
            None => None,
        };
        let file = match file {
            Some(f) => f,
            None => {
                *self.report.unchecked.entry(UNSEEN.into()).or_default() += 1;
                let name = format!("/[unknown file at fd {fd}]");
                self.k.create_file(&name, &[])
            }
        };
        self.hidden.calls_hidden = true;
        let o = self.k.open_description(file, true, true);
        self.install(tpid, fd, o, FdKind::Unseen, false);
        self.k.release_open(o);
        if let Some(path) = decorated {
            self.set_fd_path(tpid, fd, path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::join;

    #[test]
    fn paths_join_lexically() {
        assert_eq!(join("/tmp/a", "b/c"), "/tmp/a/b/c");
        assert_eq!(join("/tmp/a", "/etc//passwd"), "/etc/passwd");
        assert_eq!(join("/tmp/a/b", "../../x/./y"), "/tmp/x/y");
        assert_eq!(join("/", ".."), "/");
        assert_eq!(join("/tmp/", "."), "/tmp");
    }
}
