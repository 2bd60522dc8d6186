//! Descriptors and paths: open, close, dup, fcntl, pipe and memfd_create in the model and in
//! the replayer's own descriptor tables (what each descriptor is beyond its open file
//! description), the path behind each descriptor (so `fchdir` and opens relative to a
//! directory descriptor resolve as the kernel resolved them), `chdir`, `lseek`,
//! `close_range`, and descriptors whose open the trace does not show.

use super::*;
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
    if is_plain_absolute(path) {
        return path.to_string();
    }
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

/// Whether `path` is absolute with nothing for [`join`] to resolve: no empty, `.` or `..`
/// component, no `/` at the end (most paths a program opens are such).
pub(crate) fn is_plain_absolute(path: &str) -> bool {
    let b = path.as_bytes();
    if b.first() != Some(&b'/') || (b.len() > 1 && b.ends_with(b"/")) {
        return false;
    }
    // Each `/` starts a component that must be neither empty nor a run of one or two dots.
    memchr::memchr_iter(b'/', b).all(|i| {
        let rest = &b[i + 1..];
        let end = memchr::memchr(b'/', rest).unwrap_or(rest.len());
        let part = &rest[..end];
        !(part.is_empty() && b.len() > 1) && part != b"." && part != b".."
    })
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
    fn dir_of(&self, tpid: TracePid, c: &Syscall, dirfd: usize) -> Option<String> {
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
    pub(super) fn path_arg_at(&self, tpid: TracePid, c: &Syscall, dirfd: usize, path: usize) -> Option<String> {
        let raw = String::from_utf8_lossy(c.arg_str(path)?).into_owned();
        if raw.starts_with('/') {
            return Some(join("/", &raw));
        }
        Some(join(&self.dir_of(tpid, c, dirfd)?, &raw))
    }

    /// Remembers the path descriptor `fd` was opened by.
    pub(super) fn set_fd_path(&mut self, tpid: TracePid, fd: i32, path: String) {
        let table = self.procs[&tpid].table;
        self.tables[table].paths.insert(fd, path);
    }

    /// `chdir(path)` and `fchdir(fd)`.
    pub(super) fn chdir(&mut self, tpid: TracePid, c: &Syscall) {
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
    pub(super) fn lseek(&mut self, tpid: TracePid, c: &Syscall) {
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
    pub(super) fn close_range(&mut self, tpid: TracePid, c: &Syscall) {
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
    pub(super) fn unshare_table(&mut self, tpid: TracePid) {
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

    /// Whether the directory the traced program started in is this process's own, for want
    /// of anything in the trace or on the command line that says it (see
    /// [`Self::start_cwd`]).
    pub(super) fn start_cwd_unknown(&self) -> bool {
        self.opts.cwd.is_none() && self.ids.start_cwd().is_none()
    }

    /// Whether `ev`, the first event of a task the replay does not know, starts a process
    /// whose creation a filter hid: a call while no task has a clone, fork or vfork in
    /// progress (when one has, the task is its child, held back until the call returns).
    /// strace prints the start of a creating call before any line of the child.
    pub(super) fn creation_hidden(&self, tpid: TracePid, ev: &Event) -> bool {
        let call = matches!(ev.kind, EventKind::Syscall(_) | EventKind::CallStarted { .. });
        call && !self.pending.contains_key(&tpid)
            && !self
                .in_progress
                .values()
                .any(|(name, _, _)| matches!(name.as_str(), "clone" | "clone3" | "fork" | "vfork"))
    }

    /// Starts task `tpid` as a process of its own, with the standard descriptors, in the
    /// directory the first task started in.
    pub(super) fn adopt(&mut self, tpid: TracePid) {
        self.hidden.calls_hidden = true;
        if self.new_process(tpid).is_none() {
            return;
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
    pub(super) fn unseen_fd(&mut self, tpid: TracePid, c: &Syscall, fd: i32) {
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

impl Replayer {
    pub(super) fn abs_path(&self, tpid: TracePid, path: &str) -> String {
        let cwd = self.procs.get(&tpid).map(|p| p.cwd.as_str()).unwrap_or("/");
        fds::join(cwd, path)
    }

    // ---- processes ----

    pub(super) fn other_file(&mut self) -> FileId {
        match self.other_file {
            Some((f, _)) => f,
            None => {
                let f = self.k.unmappable_file("anon_inode:[other]");
                let held = self.k.open_description(f, true, true);
                self.other_file = Some((f, held));
                f
            }
        }
    }

    /// Installs an open file description at `fd` in every task sharing `tpid`'s table.
    pub(super) fn install(&mut self, tpid: TracePid, fd: i32, open: OpenFileId, kind: FdKind, cloexec: bool) {
        let table = self.procs[&tpid].table;
        let members = self.tables[table].members.clone();
        for m in members {
            if let Some(p) = self.procs.get(&m) {
                let _ = self.k.fd_install_at(p.pid, fd, open, cloexec);
            }
        }
        self.tables[table].kinds.insert(fd, kind);
        self.tables[table].paths.remove(&fd);
    }

    pub(super) fn install_other(&mut self, tpid: TracePid, fd: i32, cloexec: bool) {
        self.install_unmodelled(tpid, fd, cloexec, FdKind::Other);
    }

    pub(super) fn install_unmodelled(&mut self, tpid: TracePid, fd: i32, cloexec: bool, kind: FdKind) {
        let f = self.other_file();
        let o = self.k.open_description(f, true, true);
        self.install(tpid, fd, o, kind, cloexec);
        self.k.release_open(o);
    }

    pub(super) fn close_fd(&mut self, tpid: TracePid, fd: i32) {
        let table = self.procs[&tpid].table;
        let members = self.tables[table].members.clone();
        for m in members {
            if let Some(p) = self.procs.get(&m) {
                let _ = self.k.close(p.pid, fd as i64);
            }
        }
        self.tables[table].kinds.remove(&fd);
        self.tables[table].paths.remove(&fd);
    }

    pub(super) fn close(&mut self, tpid: TracePid, c: &Syscall) {
        if let (Some(fd), Ret::Value(_)) = (c.arg_u64(0), &c.ret) {
            self.close_fd(tpid, fd as i32);
        }
    }

    pub(super) fn dup(&mut self, tpid: TracePid, c: &Syscall) {
        let (Some(old), Some(new)) = (c.arg_u64(0), c.ret.value()) else { return };
        let cloexec = c.name == "dup3" && c.arg_flags(2).is_some_and(|f| f & O_CLOEXEC != 0);
        self.dup_to(tpid, old as i32, new as i32, cloexec);
    }

    pub(super) fn dup_to(&mut self, tpid: TracePid, old: i32, new: i32, cloexec: bool) {
        if old == new {
            return;
        }
        let pid = self.mpid(tpid);
        let table = self.procs[&tpid].table;
        let Some(open) = self.k.fd_description(pid, old) else { return };
        let kind = self.tables[table].kinds.get(&old).cloned().unwrap_or(FdKind::Other);
        let path = self.tables[table].paths.get(&old).cloned();
        self.install(tpid, new, open, kind, cloexec);
        if let Some(path) = path {
            self.tables[table].paths.insert(new, path);
        }
    }

    pub(super) fn fcntl(&mut self, tpid: TracePid, c: &Syscall) {
        let Some(fd) = c.arg_u64(0) else { return };
        // `-X raw` prints the command as a number.
        let cmd =
            match c.arg(1).and_then(|a| a.as_ident().map(str::to_string).or_else(|| a.as_u64().map(|n| n.to_string())))
            {
                Some(cmd) => cmd,
                None => return,
            };
        let cmd = match cmd.as_str() {
            "0" => "F_DUPFD",
            "1030" => "F_DUPFD_CLOEXEC",
            "2" => "F_SETFD",
            other => other,
        };
        match cmd {
            "F_DUPFD" | "F_DUPFD_CLOEXEC" => {
                if let Some(new) = c.ret.value() {
                    self.dup_to(tpid, fd as i32, new as i32, cmd == "F_DUPFD_CLOEXEC");
                }
            }
            "F_SETFD" => {
                if let (Some(flags), Ret::Value(_)) = (c.arg_flags(2), &c.ret) {
                    let table = self.procs[&tpid].table;
                    for m in self.tables[table].members.clone() {
                        if let Some(p) = self.procs.get(&m) {
                            let _ = self.k.set_cloexec(p.pid, fd as i64, flags & 1 != 0);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    pub(super) fn pipe(&mut self, tpid: TracePid, c: &Syscall) {
        let Ret::Value(_) = c.ret else { return };
        let arg = if c.name == "socketpair" { 3 } else { 0 };
        let cloexec = c.arg_flags(if c.name == "pipe2" { 1 } else { 9 }).is_some_and(|f| f & O_CLOEXEC != 0);
        let fds: Vec<u64> =
            c.arg(arg).and_then(Arg::as_array).map(|a| a.iter().filter_map(Arg::as_u64).collect()).unwrap_or_default();
        let kind = if c.name == "socketpair" { FdKind::Other } else { FdKind::Pipe };
        for fd in fds {
            self.install_unmodelled(tpid, fd as i32, cloexec, kind.clone());
        }
    }

    pub(super) fn memfd(&mut self, tpid: TracePid, c: &Syscall) {
        let (Some(name), Some(fd)) = (c.arg_str(0), c.ret.value()) else { return };
        let name = String::from_utf8_lossy(name).into_owned();
        let flags = c.arg_flags(1).unwrap_or(0);
        let pid = self.mpid(tpid);
        // The model picks the lowest free number; move it to the one the log shows.
        match self.k.memfd_create(pid, &name, flags) {
            Ok(got) if got as i32 != fd as i32 => {
                let o = self.k.fd_description(pid, got as i32).expect("just created");
                let file = self.k.machine().open_file(o).file;
                self.install(tpid, fd as i32, o, FdKind::File(file), flags & MFD_CLOEXEC != 0);
                let _ = self.k.close(pid, got as i64);
            }
            Ok(got) => {
                let o = self.k.fd_description(pid, got as i32).expect("just created");
                let file = self.k.machine().open_file(o).file;
                let table = self.procs[&tpid].table;
                self.tables[table].kinds.insert(fd as i32, FdKind::File(file));
            }
            Err(e) => self.error(format!("memfd_create in the model failed: {e}")),
        }
    }

    /// The model file for a path the log opened: already known, imported from this machine
    /// (identity from the log's stat results when it has them), or new and empty.
    pub(super) fn file_for(&mut self, path: &str, raw: &str, create: bool) -> Option<FileId> {
        let real = self.files.canonical(path).unwrap_or_else(|| path.to_string());
        if let Some(id) = self.k.lookup(&real) {
            return Some(id);
        }
        let meta = self.files.stat(&real);
        if create || meta.is_none() {
            // A file the program creates: its identity is what the log's stat calls showed,
            // else the device of the directory it is in (the inode cannot be known).
            let id = self.k.create_file(&real, &[]);
            let known = self.ids.get(raw).or_else(|| self.ids.get(path)).or_else(|| self.ids.get(&real));
            let dir = std::path::Path::new(&real).parent().and_then(|d| self.files.stat(&d.to_string_lossy()));
            if let Some(i) = known {
                self.k.set_file_identity(id, i.major, i.minor, i.ino);
            } else if let Some(d) = dir {
                let ino = self.k.file(id).ino;
                self.k.set_file_identity(id, d.major, d.minor, ino);
            }
            return Some(id);
        }
        let ids = &self.ids;
        let known = |p: &str| ids.get(p).map(|i| (i.major, i.minor, i.ino));
        let known =
            |p: &str| if p == real { known(raw).or_else(|| known(path)).or_else(|| known(p)) } else { known(p) };
        let opened = self.files.open(&real, &[raw, path], &known).ok()?;
        Some(self.k.import_file_from(&real, opened.id.0, opened.id.1, opened.id.2, mm::Source::new(opened.content)))
    }

    pub(super) fn open(&mut self, tpid: TracePid, line: u64, c: &Syscall) {
        let Some(fd) = c.ret.value() else { return };
        let fd = fd as i32;
        let (path_arg, flags_arg) = match c.name.as_ref() {
            "openat" => (1, 2),
            "creat" => (0, usize::MAX),
            _ => (0, 1),
        };
        let Some(raw) = c.arg_str(path_arg) else {
            // strace printed the path as an address (`-e raw=all`): the file is unknown, and
            // an mmap of it is one of a descriptor opened out of the trace's sight (the
            // number was free, or the kernel would not have given it).
            if self.k.fd_description(self.mpid(tpid), fd).is_some() {
                self.close_fd(tpid, fd);
            }
            return;
        };
        let raw = String::from_utf8_lossy(raw).into_owned();
        let dirfd = if c.name == "openat" { 0 } else { usize::MAX };
        let Some(path) = self.path_arg_at(tpid, c, dirfd, path_arg) else {
            // Relative to a directory the replay cannot name: the file is unknown.
            return self.install_other(tpid, fd, false);
        };
        let flags = if c.name == "creat" { O_CREAT | O_WRONLY | O_TRUNC } else { c.arg_flags(flags_arg).unwrap_or(0) };
        let cloexec = flags & O_CLOEXEC != 0;
        // Kernel-made texts the replay makes itself: a memory cgroup's file, a /proc text.
        let made_here = match self.cgroup_file_at(line, &path) {
            Some(f) => Some(FdKind::Cgroup(f)),
            None => self.proc_text(tpid, &path).map(|(what, target)| FdKind::Proc { what, target }),
        };
        if let Some(kind) = made_here {
            let f = self.other_file();
            let o = self.k.open_description(f, true, false);
            self.install(tpid, fd, o, kind, cloexec);
            self.k.release_open(o);
            self.set_fd_path(tpid, fd, path);
            return;
        }
        let created = flags & O_CREAT != 0 && self.k.lookup(&path).is_none() && self.files.stat(&path).is_none();
        match self.file_for(&path, &raw, created) {
            Some(file) => {
                if flags & O_TRUNC != 0 && flags & O_ACCMODE != O_RDONLY {
                    self.k.truncate_file(file, 0);
                }
                let acc = flags & O_ACCMODE;
                let o = self.k.open_description(file, acc != O_WRONLY, acc != O_RDONLY);
                self.install(tpid, fd, o, FdKind::File(file), cloexec);
                self.k.release_open(o);
            }
            None => {
                self.install_other(tpid, fd, cloexec);
            }
        }
        self.set_fd_path(tpid, fd, path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_absolute_path_joins_to_itself_and_nothing_else_is_taken_for_one() {
        for path in
            ["/", "/a", "/a/b.c", "/a/...", "/.a/b..", "//", "/a/", "/a//b", "/./a", "/a/.", "/a/..", "/../a", "a", ""]
        {
            // The long way round: what join gives when the shortcut is not taken.
            let mut parts: Vec<&str> = Vec::new();
            for part in path.split('/') {
                match part {
                    "" | "." => {}
                    ".." => {
                        parts.pop();
                    }
                    p => parts.push(p),
                }
            }
            let long = if parts.is_empty() { "/".to_string() } else { parts.iter().map(|p| format!("/{p}")).collect() };
            if is_plain_absolute(path) {
                assert_eq!(long, path, "{path:?}");
            }
            if path.starts_with('/') {
                assert_eq!(join("/x", path), long, "{path:?}");
            }
        }
        assert!(is_plain_absolute("/usr/lib/x86_64-linux-gnu/libc.so.6"));
        assert!(!is_plain_absolute("/usr//lib"));
    }

    #[test]
    fn paths_join_lexically() {
        assert_eq!(join("/tmp/a", "b/c"), "/tmp/a/b/c");
        assert_eq!(join("/tmp/a", "/etc//passwd"), "/etc/passwd");
        assert_eq!(join("/tmp/a/b", "../../x/./y"), "/tmp/x/y");
        assert_eq!(join("/", ".."), "/");
        assert_eq!(join("/tmp/", "."), "/tmp");
    }
}
