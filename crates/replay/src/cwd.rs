//! The directory the traced program started in, learned from the trace: relative paths in a
//! log are relative to it, and the names of the files they open show up in `/proc` maps.
//!
//! Before the first `chdir`/`fchdir` of the trace, every process is still in the starting
//! directory, so the first of these that the log shows gives it:
//! - a `getcwd` result;
//! - a `-y` decoration of `AT_FDCWD` (`openat(AT_FDCWD</tmp/x>, …)`);
//! - a relative path opened whose `-y` decoration of the result is the absolute path
//!   (`openat(AT_FDCWD, "data", …) = 3</tmp/x/data>`);
//! - a `readlink` of `/proc/self/cwd` (or the caller's own `/proc/PID/cwd`).
//!
//! Failing those, the `PWD` variable of the first `execve` (which shells keep; `-v` shows
//! it) — but a program started by another program may inherit a stale one, so it is taken
//! only when the first relative path the trace opened or stat'ed successfully (without
//! creating it) exists under it on this machine. Without any, the replay takes its own
//! directory, and says so.

use trace::{Arg, Event, EventKind, Syscall};

/// Where the starting directory came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartCwd {
    /// The directory.
    pub path: String,
    /// What showed it, e.g. `a getcwd result`.
    pub source: String,
}

/// Collects the evidence, event by event, in trace order.
#[derive(Clone, Debug, Default)]
pub(crate) struct CwdLearner {
    found: Option<StartCwd>,
    pwd: Option<StartCwd>,
    /// A chdir or fchdir succeeded: later evidence is of another directory.
    moved: bool,
    /// The first relative path opened or stat'ed successfully, not created, before then.
    first_relative: Option<String>,
}

fn absolute(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes).into_owned();
    (text.starts_with('/') && !text.contains('\0')).then_some(text)
}

fn is_at_fdcwd(arg: Option<&Arg>) -> bool {
    arg.is_some_and(|a| a.as_ident() == Some("AT_FDCWD") || a.as_i64() == Some(-100))
}

impl CwdLearner {
    /// Looks at one event of the trace (any event; only calls matter), of task `pid` (none:
    /// the first process, in a log whose lines do not name it).
    pub(crate) fn observe(&mut self, event: &Event, pid: Option<u32>) {
        if self.found.is_some() || self.moved {
            return;
        }
        let EventKind::Syscall(call) = &event.kind else { return };
        if call.ret.value().is_none() || call.injected {
            return;
        }
        let name = call.name.as_ref();
        let who = pid.map_or_else(String::new, |p| format!(" of pid {p}"));
        let found = match name {
            "chdir" | "fchdir" => {
                self.moved = true;
                return;
            }
            "getcwd" => full_string(call, 0).and_then(|p| absolute(&p)).map(|p| (p, format!("the getcwd result{who}"))),
            "readlink" | "readlinkat" => {
                let (path, buf) = if name == "readlink" { (0, 1) } else { (1, 2) };
                let own = pid.map(|p| format!("/proc/{p}/cwd"));
                match call.arg_str(path) {
                    Some(p)
                        if p == b"/proc/self/cwd"
                            || p == b"/proc/thread-self/cwd"
                            || own.as_deref().map(str::as_bytes) == Some(p) =>
                    {
                        full_string(call, buf)
                            .and_then(|b| absolute(&b))
                            .map(|d| (d, format!("the readlink of /proc/self/cwd{who}")))
                    }
                    _ => None,
                }
            }
            "execve" | "execveat" => {
                if self.pwd.is_none() {
                    let env = call.arg(2).and_then(Arg::as_array).unwrap_or_default();
                    self.pwd = env.iter().filter_map(|v| v.as_quoted()).filter(|q| !q.truncated).find_map(|q| {
                        let text = q.bytes().strip_prefix(b"PWD=")?;
                        absolute(text)
                            .map(|path| StartCwd { path, source: format!("the PWD variable of the execve{who}") })
                    });
                }
                None
            }
            _ => None,
        };
        let found = found.or_else(|| decorated_cwd(call).map(|p| (p, format!("the -y decoration of a {name}{who}"))));
        if self.first_relative.is_none() {
            self.first_relative = relative_use(call);
        }
        if let Some((path, source)) = found {
            self.found = Some(StartCwd { path: crate::replayer::join_path("/", &path), source });
        }
    }

    /// The starting directory, if the trace showed it.
    pub(crate) fn result(self) -> Option<StartCwd> {
        let rel = self.first_relative;
        let pwd = self.pwd.filter(|p| rel.as_ref().map_or(true, |r| std::path::Path::new(&p.path).join(r).exists()));
        self.found.or(pwd)
    }
}

/// The relative path a successful open (not creating) or stat of the current directory
/// names.
fn relative_use(call: &Syscall) -> Option<String> {
    let (dirfd, path) = match call.name.as_ref() {
        "openat" | "newfstatat" | "statx" | "faccessat" | "faccessat2" => (Some(0), 1),
        "open" | "stat" | "lstat" | "access" => (None, 0),
        _ => return None,
    };
    if dirfd.is_some_and(|i| !is_at_fdcwd(call.arg(i))) {
        return None;
    }
    if call.name.starts_with("open")
        && call.arg(path + 1).and_then(Arg::flags_value).map_or(true, |f| f & abi::O_CREAT != 0)
    {
        return None;
    }
    let rel = full_string(call, path)?;
    (!rel.is_empty() && !rel.starts_with(b"/")).then(|| String::from_utf8_lossy(&rel).into_owned())
}

/// A string argument shown whole (not cut at strace's `-s` limit).
fn full_string(call: &Syscall, index: usize) -> Option<Vec<u8>> {
    let q = call.arg(index)?.as_quoted()?;
    (!q.truncated).then(|| q.bytes().to_vec())
}

/// The directory a `-y` decoration shows: of `AT_FDCWD` itself, or of a relative path opened
/// from it (the result's decoration less the relative path).
fn decorated_cwd(call: &Syscall) -> Option<String> {
    let first = call.arg(0);
    if is_at_fdcwd(first) {
        if let Some(dir) = first.and_then(Arg::decoration).and_then(absolute) {
            return Some(dir);
        }
    }
    let (dirfd, path) = match call.name.as_ref() {
        "openat" | "openat2" => (Some(0), 1),
        "open" | "creat" => (None, 0),
        _ => return None,
    };
    if dirfd.is_some_and(|i| !is_at_fdcwd(call.arg(i))) {
        return None;
    }
    let rel = full_string(call, path)?;
    if rel.starts_with(b"/") || rel.is_empty() || rel.split(|&b| b == b'/').any(|c| c == b".." || c == b".") {
        return None;
    }
    let full = absolute(call.ret_decoration.as_deref()?)?;
    let rel = String::from_utf8_lossy(&rel).into_owned();
    let dir = full.strip_suffix(rel.trim_end_matches('/'))?.strip_suffix('/')?;
    Some(if dir.is_empty() { "/".to_string() } else { dir.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn learn(log: &str) -> Option<StartCwd> {
        let mut l = CwdLearner::default();
        for ev in trace::Parser::new(log.as_bytes()).flatten() {
            l.observe(&ev, ev.pid);
        }
        l.result()
    }

    #[test]
    fn each_source_and_the_first_wins() {
        let exec = "1 execve(\"/bin/x\", [\"x\"], [\"PWD=/from/env\"]) = 0\n";
        assert_eq!(learn(exec).unwrap().path, "/from/env");
        let log = format!("{exec}1 getcwd(\"/tmp/a\", 4096) = 7\n1 getcwd(\"/tmp/b\", 4096) = 7\n");
        let got = learn(&log).unwrap();
        assert_eq!((got.path.as_str(), got.source.as_str()), ("/tmp/a", "the getcwd result of pid 1"));
        let log = "1 openat(AT_FDCWD</w/d>, \"x\", O_RDONLY) = 3</w/d/x>\n";
        assert_eq!(learn(log).unwrap().path, "/w/d");
        let log = "1 openat(AT_FDCWD, \"sub/x\", O_RDONLY) = 3</w/e/sub/x>\n";
        assert_eq!(learn(log).unwrap().path, "/w/e");
        let log = "7 readlink(\"/proc/self/cwd\", \"/srv\", 4095) = 4\n";
        assert_eq!(learn(log).unwrap().path, "/srv");
    }

    #[test]
    fn a_pwd_without_the_files_the_trace_opens_there_is_stale() {
        let exec = |pwd: &str| format!("1 execve(\"/bin/x\", [\"x\"], [\"PWD={pwd}\"]) = 0\n");
        let log = format!("{}1 openat(AT_FDCWD, \"etc\", O_RDONLY|O_DIRECTORY) = 3\n", exec("/"));
        assert_eq!(learn(&log).unwrap().path, "/");
        let log = format!("{}1 openat(AT_FDCWD, \"etc\", O_RDONLY|O_DIRECTORY) = 3\n", exec("/no/such/dir"));
        assert_eq!(learn(&log), None);
        // A file the trace creates tells nothing.
        let log = format!("{}1 openat(AT_FDCWD, \"new\", O_RDWR|O_CREAT, 0600) = 3\n", exec("/no/such/dir"));
        assert_eq!(learn(&log).unwrap().path, "/no/such/dir");
    }

    #[test]
    fn nothing_after_a_chdir_and_nothing_cut_short() {
        assert_eq!(learn("1 chdir(\"/x\") = 0\n1 getcwd(\"/x\", 4096) = 3\n"), None);
        assert_eq!(learn("1 getcwd(\"/a/very/long/directory/name/cut/by\"..., 4096) = 60\n"), None);
        assert_eq!(learn("2 readlink(\"/proc/1/cwd\", \"/\", 4095) = 1\n"), None);
    }
}
