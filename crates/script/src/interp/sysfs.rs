//! The files a scenario reads and writes by path (`cat`, `echo VALUE > PATH`, `mkdir`,
//! `rmdir`, `file_value`, `file_key`): `/proc/PID/...` (and `/proc/self/...`, the
//! statement's process), `/proc/meminfo`, `/proc/vmstat`, `/proc/sys/vm/swappiness`,
//! `min_free_kbytes` and `drop_caches`, and the memory cgroup file system
//! below `/sys/fs/cgroup` (v2) or `/sys/fs/cgroup/memory` (v1, after `set cgroup 1`); plus
//! the kernel log (`dmesg`) and the processes the OOM killer ends.

use super::{emit, fmt_result, Cx, Interpreter, RResult, Ret};
use crate::ast::{Expr, Func, Name, StmtKind};
use crate::error::Pos;
use crate::output::Output;
use crate::value::{self, Value};
use mm::ops::cgroup::split_cgroup_path;
use mm::{Errno, Pid};

impl Interpreter {
    /// Runs `cat`, `echo`, `mkdir`, `rmdir` and `dmesg`.
    pub(super) fn sysfs_stmt(&mut self, cx: Cx, kind: &StmtKind, out: &mut dyn Output) -> RResult<()> {
        match kind {
            StmtKind::Cat { path } => {
                let path = self.path(cx, path)?;
                let prefix = self.prefix(cx);
                match self.read_path(cx, &path) {
                    Ok(text) => {
                        emit(out, format!("{prefix}cat {path}"));
                        out.text(&text);
                    }
                    Err(e) => emit(out, format!("{prefix}cat {path}: {}", e)),
                }
            }
            StmtKind::Echo { value, path } => {
                let text = self.echo_text(cx, value)?;
                let path = self.path(cx, path)?;
                let prefix = self.prefix(cx);
                let r = self.write_path(cx, &path, &text).map(|()| 0);
                let shown = fmt_result(r, Ret::Dec);
                self.record(r);
                emit(out, format!("{prefix}echo {text} > {path} = {shown}"));
            }
            StmtKind::Mkdir { path } | StmtKind::Rmdir { path } => {
                let mkdir = matches!(kind, StmtKind::Mkdir { .. });
                let path = self.path(cx, path)?;
                let version = self.kernel.machine().frames.memcgs.version;
                let r = match split_cgroup_path(version, &path) {
                    Some((group, None)) if mkdir => self.kernel.cgroup_mkdir(&group).map(|_| 0),
                    Some((group, None)) => self.kernel.cgroup_rmdir(&group).map(|()| 0),
                    Some((_, Some(_))) => Err(if mkdir { Errno::EEXIST } else { Errno::ENOTDIR }),
                    None => Err(Errno::EPERM),
                };
                let shown = fmt_result(r, Ret::Dec);
                self.record(r);
                emit(out, format!("{}({path:?}) = {shown}", if mkdir { "mkdir" } else { "rmdir" }));
            }
            StmtKind::Dmesg => {
                let lines = &self.kernel.machine().kmsg[self.kmsg_shown.min(self.kernel.machine().kmsg.len())..];
                if lines.is_empty() {
                    emit(out, "dmesg: nothing new".into());
                } else {
                    emit(out, "dmesg:".into());
                    out.text(&lines.iter().map(|l| format!("  {l}\n")).collect::<String>());
                }
                self.kmsg_shown = self.kernel.machine().kmsg.len();
            }
            _ => unreachable!("not a file statement"),
        }
        Ok(())
    }

    /// `NAME: ` when the statement names its process, else nothing.
    fn prefix(&self, cx: Cx) -> String {
        cx.proc.map(|n| format!("{}: ", n.name)).unwrap_or_default()
    }

    /// The text `echo` writes: a number in decimal, a string as it is, a bare word (`max`)
    /// as written.
    fn echo_text(&mut self, cx: Cx, value: &Expr) -> RResult<String> {
        if let Expr::Var(n) = value {
            if !self.vars.contains_key(&n.name) && value::constant(&n.name).is_none() && !is_builtin(&n.name) {
                return Ok(n.name.clone());
            }
        }
        // A negative number (oom_score_adj -1000) is written as C would print an int.
        if let Expr::Unary { op: crate::ast::UnOp::Neg, expr, .. } = value {
            let v = self.int(cx, expr)?;
            return Ok(format!("-{v}"));
        }
        Ok(match self.eval(cx, value)? {
            Value::Int(n) => n.to_string(),
            Value::Str(s) => String::from_utf8_lossy(&s).into_owned(),
        })
    }

    /// The pid a `/proc/self` or `/proc/N` path names.
    fn proc_pid(&self, cx: Cx, which: &str) -> Result<Pid, Errno> {
        if which == "self" {
            return self.target(cx, None).map(|(_, p)| p).map_err(|_| Errno::ENOENT);
        }
        let pid: Pid = which.parse().map_err(|_| Errno::ENOENT)?;
        self.kernel.task(pid).filter(|t| t.exit_code.is_none()).map(|_| pid).ok_or(Errno::ENOENT)
    }

    /// The text of the file at `path`.
    pub(super) fn read_path(&self, cx: Cx, path: &str) -> Result<String, Errno> {
        let k = &self.kernel;
        match path {
            "/proc/meminfo" => return Ok(procfs::meminfo(k)),
            "/proc/vmstat" => return Ok(procfs::vmstat(k)),
            "/proc/sys/vm/swappiness" => return Ok(format!("{}\n", k.machine().config.swappiness)),
            "/proc/sys/vm/min_free_kbytes" => return Ok(format!("{}\n", k.min_free_kbytes())),
            // Mode 0200: not even root may read it.
            "/proc/sys/vm/drop_caches" => return Err(Errno::EACCES),
            _ => {}
        }
        if let Some(rest) = path.strip_prefix("/proc/") {
            let (which, file) = rest.split_once('/').ok_or(Errno::ENOENT)?;
            let pid = self.proc_pid(cx, which)?;
            return match file {
                "maps" => procfs::maps(k, pid),
                "smaps" => procfs::smaps(k, pid),
                "smaps_rollup" => procfs::smaps_rollup(k, pid),
                "status" => procfs::status(k, pid),
                "statm" => procfs::statm(k, pid),
                "personality" => procfs::personality(k, pid),
                "oom_score" => procfs::cgroup::oom_score(k, pid),
                "oom_score_adj" => procfs::cgroup::oom_score_adj(k, pid),
                _ => Err(Errno::ENOENT),
            };
        }
        match split_cgroup_path(k.machine().frames.memcgs.version, path) {
            Some((group, Some(file))) => procfs::cgroup::cgroup_file(k, &group, &file),
            Some((_, None)) => Err(Errno::EISDIR),
            None => Err(Errno::ENOENT),
        }
    }

    /// Writes `text` to the file at `path`, as the statement's process if it has one.
    fn write_path(&mut self, cx: Cx, path: &str, text: &str) -> Result<(), Errno> {
        let writer = self.target(cx, None).map(|(_, p)| p).unwrap_or(0);
        if let Some(name) = path.strip_prefix("/proc/sys/vm/") {
            // proc_dointvec_minmax: an int, within the file's range, else EINVAL.
            let v: i64 = text.trim().parse().map_err(|_| Errno::EINVAL)?;
            let v = u64::try_from(v).map_err(|_| Errno::EINVAL)?;
            return match name {
                "swappiness" => self.kernel.set_swappiness(u32::try_from(v).map_err(|_| Errno::EINVAL)?),
                "min_free_kbytes" => self.kernel.set_min_free_kbytes(v),
                "drop_caches" => self.kernel.drop_caches(u32::try_from(v).map_err(|_| Errno::EINVAL)?).map(|_| ()),
                _ => Err(Errno::ENOENT),
            };
        }
        if let Some(rest) = path.strip_prefix("/proc/") {
            let (which, file) = rest.split_once('/').ok_or(Errno::ENOENT)?;
            let pid = self.proc_pid(cx, which)?;
            return match file {
                "oom_score_adj" => {
                    let t = text.trim();
                    let v: i64 = t.parse().map_err(|_| Errno::EINVAL)?;
                    self.kernel.set_oom_score_adj(writer, pid, v)
                }
                "maps" | "smaps" | "smaps_rollup" | "status" | "statm" | "oom_score" => Err(Errno::EACCES),
                _ => Err(Errno::ENOENT),
            };
        }
        match split_cgroup_path(self.kernel.machine().frames.memcgs.version, path) {
            Some((group, Some(file))) => self.kernel.cgroup_write(writer, &group, &file, text),
            Some((_, None)) => Err(Errno::EISDIR),
            None => Err(Errno::EACCES),
        }
    }

    /// `set cgroup 1|2`: which memory cgroup interface the machine has.
    pub(super) fn set_cgroup_version(&mut self, v: u64, pos: Pos) -> RResult<()> {
        let version = match v {
            1 => mm::memcg::CgroupVersion::V1,
            2 => mm::memcg::CgroupVersion::V2,
            _ => return Err(pos.error("`set cgroup` takes 1 or 2")),
        };
        self.kernel
            .set_cgroup_version(version)
            .map_err(|_| pos.error("`set cgroup` must come before the first `mkdir` of a group"))
    }

    /// The functions about files, the log and ended processes; None for the others.
    pub(super) fn sysfs_func(
        &mut self,
        cx: Cx,
        func: Func,
        proc: Option<&Name>,
        args: &[Expr],
        pos: Pos,
    ) -> RResult<Option<u64>> {
        Ok(Some(match func {
            Func::WaitStatus => {
                let name = match proc.or(cx.proc) {
                    Some(n) => n.name.clone(),
                    None => self.current.clone().ok_or_else(|| pos.error("no process yet"))?,
                };
                let p = self.procs.get(&name).ok_or_else(|| pos.error(format!("unknown process `{name}`")))?;
                match p.status {
                    Some(s) => s as u64,
                    None => return Err(pos.error(format!("process `{name}` is still running"))),
                }
            }
            Func::FileValue | Func::FileKey => {
                let path = self.path(cx, &args[0])?;
                let text = self.read_path(cx, &path).map_err(|e| pos.error(format!("cannot read {path}: {e}")))?;
                let token = if func == Func::FileKey {
                    let key = self.path(cx, &args[1])?;
                    let line = text.lines().find(|l| l.split_whitespace().next() == Some(key.as_str()));
                    line.and_then(|l| l.split_whitespace().nth(1))
                        .ok_or_else(|| pos.error(format!("{path} has no line `{key}`")))?
                        .to_string()
                } else {
                    text.split_whitespace().next().unwrap_or("").to_string()
                };
                match token.as_str() {
                    "max" => u64::MAX,
                    t => t
                        .parse::<i64>()
                        .map(|v| v as u64)
                        .or_else(|_| t.parse::<u64>())
                        .map_err(|_| pos.error(format!("{path}: `{t}` is not a number")))?,
                }
            }
            Func::DmesgCount => {
                let needle = self.path(cx, &args[0])?;
                self.kernel.machine().kmsg.iter().filter(|l| l.contains(&needle)).count() as u64
            }
            _ => return Ok(None),
        }))
    }

    /// Notices the named processes the OOM killer ended during the last statement: each is
    /// reported as the shell would (`+++ B killed by SIGKILL +++`), reaped, and its wait
    /// status kept for `wait_status`.
    pub(super) fn notice_kills(&mut self, out: &mut dyn Output) {
        if self.kernel.kills() == self.kills_noticed {
            return;
        }
        self.kills_noticed = self.kernel.kills();
        let mut ended = Vec::new();
        for (name, p) in self.procs.iter_mut().filter(|(_, p)| p.alive) {
            let Some(status) = self.kernel.task(p.pid).and_then(|t| t.killed_by.and(t.wait_status())) else { continue };
            p.alive = false;
            p.status = Some(status);
            ended.push((name.clone(), p.pid, status));
        }
        for (name, pid, status) in ended {
            let _ = self.kernel.reap(pid);
            emit(out, format!("+++ {name} killed by {} +++", value::signal_name(status as u64)));
        }
    }
}

/// Whether a bare word is one of the built-in variables (so `echo result > ...` writes its
/// value).
fn is_builtin(name: &str) -> bool {
    matches!(name, "result" | "errno" | "signal" | "sigcode" | "sigaddr")
}
