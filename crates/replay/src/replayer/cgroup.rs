//! Memory cgroups as a trace shows them: the groups a program makes and removes (`mkdir`
//! and `rmdir` below the cgroup mount), its writes to their files (limits, `cgroup.procs`),
//! its reads of them, and the tasks a group's OOM killer ended.
//!
//! Which interface the recording machine had (v1, the memory controller at
//! `/sys/fs/cgroup/memory`, or v2) is an unknown, bound at the first path that shows it.
//! Groups the trace did not make (the one the traced program started in, systemd's slices,
//! the root) are out of its sight: what they hold and limit is the whole machine's, so
//! their files are not checked, and the model has them, unlimited, only as the parents of
//! groups the trace makes. Reads of the groups the trace made are compared by the rules
//! `mmsim check` compares a host's text with (docs/check.md); their usage follows the
//! pages tasks have, which only a `--strict` replay knows.
//!
//! A task the trace shows `killed by SIGKILL` that no traced call sent SIGKILL to, in a
//! group with a limit, ran into that limit with stores the trace cannot show. The replay
//! does what the program must have done: it writes the task's private writable memory, a
//! page at a time (the mappings the program made, newest first, then the rest), until the
//! model's OOM killer ends it, and checks that the killer chose that task. A kill no
//! limit explains came from outside the trace (`kill -9` from another terminal).

use super::*;
use mm::memcg::CgroupVersion;
use mm::VmFlags;
use trace::{Ret, Syscall};

use crate::unknowns::{CGROUP_VERSION, CPUS};

/// The v1 hierarchies of other controllers (and systemd's), which hold no memory cgroups.
const V1_OTHER_HIERARCHIES: &[&str] = &[
    "blkio",
    "cpu",
    "cpuacct",
    "cpu,cpuacct",
    "cpuset",
    "devices",
    "freezer",
    "hugetlb",
    "misc",
    "net_cls",
    "net_cls,net_prio",
    "net_prio",
    "perf_event",
    "pids",
    "rdma",
    "systemd",
    "unified",
];

/// What the report calls the files of groups the trace did not make.
const OUT_OF_SIGHT: &str = "memory cgroup files and groups made out of the trace's sight";
/// What the report calls the usage reads a verify replay cannot predict.
const USAGE: &str =
    "memory cgroup usage, and v1 limits refused for it, which follow stores the trace does not show (checked by --strict)";
/// What the report calls the cgroup files the model does not have or keeps at their default.
const NOT_MODELLED: &str =
    "cgroup files the model does not have (other controllers', pressure) or keeps at their default (writes)";
/// What the report calls a limit write whose result kernel memory decides.
const NEAR_USAGE: &str =
    "v1 limits written within the kernel memory a group may hold (which the model does not charge) of its usage";
/// What the report calls a usage read above the model's by more than two CPUs' charge batches
/// in a trace that shows no CPU count.
const CPUS_UNKNOWN: &str =
    "memory cgroup usage above the model's by more than two CPUs' charge batches, from a machine \
     whose CPU count the trace does not show (sched_getaffinity, /sys/devices/system/cpu/online)";
/// What the report calls a kill no traced call and no limit explains.
const KILLED_FROM_OUTSIDE: &str = "SIGKILL sent from out of the trace's sight";

/// A descriptor open on a file of a memory cgroup the trace made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct CgroupFile {
    /// The group, relative to the mount.
    pub group: String,
    /// The file's name.
    pub file: String,
    /// Whether the trace made the group. Of a group out of its sight only `cgroup.procs`
    /// (and v1 `tasks`) matters: a task written there leaves the trace's groups.
    pub made: bool,
}

/// The memory cgroup interface `learned` binds, if it binds one.
pub(super) fn bound_version(learned: &Learned) -> Option<CgroupVersion> {
    let b = learned.settings.get(CGROUP_VERSION)?;
    Some(if b.value == 1 { CgroupVersion::V1 } else { CgroupVersion::V2 })
}

impl Replayer {
    /// The memory cgroup interface the trace shows, bound at the first path that shows it.
    fn cgroup_version(&mut self, line: u64, rest: &str) -> Option<CgroupVersion> {
        if let Some(v) = bound_version(&self.learned) {
            return Some(v);
        }
        let first = rest.trim_start_matches('/').split('/').next().unwrap_or("");
        let version = match first {
            "memory" => CgroupVersion::V1,
            // The root's own files, or another v1 controller's hierarchy: nothing bound.
            "" => return None,
            f if f.starts_with("cgroup.") || f.starts_with("memory.") => return None,
            f if V1_OTHER_HIERARCHIES.contains(&f) => return None,
            _ => CgroupVersion::V2,
        };
        let value = if version == CgroupVersion::V1 { 1 } else { 2 };
        self.learned.settings.insert(CGROUP_VERSION.into(), Bound { value, line });
        self.k.set_cgroup_version(version).ok()?;
        Some(version)
    }

    /// The path of `path` below the memory cgroup mount (no leading or trailing slash; ""
    /// for the root), or None when it names no memory cgroup or file.
    fn cgroup_rel(&mut self, line: u64, path: &str) -> Option<String> {
        let rest = path.strip_prefix("/sys/fs/cgroup")?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        let version = self.cgroup_version(line, rest)?;
        let rel = path.strip_prefix(version.mount())?;
        if !(rel.is_empty() || rel.starts_with('/')) {
            return None;
        }
        Some(rel.trim_matches('/').to_string())
    }

    /// Makes group `rel` and those above it that the model lacks: groups out of the
    /// trace's sight, unlimited in the model.
    fn out_of_sight_groups(&mut self, rel: &str) {
        if rel.is_empty() {
            return;
        }
        for end in rel.match_indices('/').map(|(i, _)| i).chain([rel.len()]) {
            if self.k.memcg_lookup(&rel[..end]).is_err() {
                let _ = self.k.cgroup_mkdir(&rel[..end]);
            }
        }
    }

    /// `mkdir`, `mkdirat` or `rmdir` of a path below the memory cgroup mount: done on the
    /// model and checked when the group is one the trace makes. False when the path names
    /// no memory cgroup.
    pub(super) fn cgroup_dir_call(&mut self, tpid: TracePid, line: u64, c: &Syscall) -> bool {
        let path = if c.name == "mkdirat" {
            self.path_arg_at(tpid, c, 0, 1)
        } else {
            self.path_arg_at(tpid, c, usize::MAX, 0)
        };
        let Some(rel) = path.and_then(|p| self.cgroup_rel(line, &p)) else { return false };
        if rel.is_empty() {
            return true;
        }
        let errno = c.ret.errno();
        if matches!(errno, Some("EACCES" | "EPERM" | "EROFS")) {
            // The recording user's rights over the hierarchy, which the trace does not show.
            *self.report.unchecked.entry(OUT_OF_SIGHT.into()).or_default() += 1;
            return true;
        }
        if c.name == "rmdir" {
            let got = self.k.cgroup_rmdir(&rel).map(|()| 0);
            if got.is_ok() {
                self.cgroup_writes_unmodelled.retain(|(group, _)| *group != rel);
            }
            if self.cgroups_made.remove(&rel) {
                self.check(line, "rmdir of a memory cgroup", &c.ret, got);
            } else {
                *self.report.unchecked.entry(OUT_OF_SIGHT.into()).or_default() += 1;
            }
            return true;
        }
        self.out_of_sight_groups(rel.rsplit_once('/').map_or("", |(parent, _)| parent));
        if errno == Some("EEXIST") && !self.cgroups_made.contains(&rel) {
            // A group made before the trace, or by a process it does not follow.
            self.out_of_sight_groups(&rel);
            *self.report.unchecked.entry(OUT_OF_SIGHT.into()).or_default() += 1;
            return true;
        }
        let got = self.k.cgroup_mkdir(&rel).map(|_| 0);
        if got.is_ok() {
            self.cgroups_made.insert(rel);
        }
        self.check(line, "mkdir of a memory cgroup", &c.ret, got);
        true
    }

    /// The file of a group the trace made that `path` names, for an open of it.
    pub(super) fn cgroup_file_at(&mut self, line: u64, path: &str) -> Option<CgroupFile> {
        let rel = self.cgroup_rel(line, path)?;
        let (group, file) = rel.rsplit_once('/').unwrap_or(("", &rel));
        if self.cgroups_made.contains(group) {
            return Some(CgroupFile { group: group.to_string(), file: file.to_string(), made: true });
        }
        if rel.is_empty() || self.cgroups_made.contains(&rel) {
            return None;
        }
        *self.report.unchecked.entry(OUT_OF_SIGHT.into()).or_default() += 1;
        if matches!(file, "cgroup.procs" | "tasks") {
            return Some(CgroupFile { group: group.to_string(), file: file.to_string(), made: false });
        }
        None
    }

    /// A write to a file of a memory cgroup the trace made: done on the model, the result
    /// checked. A pid written to `cgroup.procs` is the trace's: the model's task of it moves.
    pub(super) fn cgroup_write(&mut self, tpid: TracePid, line: u64, c: &Syscall, f: &CgroupFile, data: Option<&[u8]>) {
        // A write logged with its buffer's address whose bytes were not dumped (it failed,
        // or its task died in it): they are in the model's memory there.
        let count = c.arg_u64(2).unwrap_or(0);
        let pid = self.mpid(tpid);
        let fetched = match (data, c.arg(1).and_then(trace::Arg::as_u64)) {
            (None, Some(buf)) => self.k.copy_from_user(pid, buf, count.min(PAGE_SIZE)).ok(),
            _ => None,
        };
        let Some(data) = data.or(fetched.as_deref()) else {
            *self
                .report
                .unchecked
                .entry("writes to memory cgroup files whose bytes the trace does not show".into())
                .or_default() += 1;
            return;
        };
        if !f.made && c.ret.value().is_none() {
            return;
        }
        if !mm::ops::cgroup::models_write(self.k.machine().frames.memcgs.version, &f.file) {
            // Another controller's file, or a setting the model keeps at its default.
            *self.report.unchecked.entry(NOT_MODELLED.into()).or_default() += 1;
            if c.ret.value().is_some() {
                self.cgroup_writes_unmodelled.insert((f.group.clone(), f.file.clone()));
            }
            return;
        }
        let mut value = String::from_utf8_lossy(&data[..data.len().min(count as usize)]).into_owned();
        if matches!(f.file.as_str(), "cgroup.procs" | "tasks") {
            match value.trim().parse::<u32>() {
                Ok(0) | Err(_) => {}
                Ok(traced) => match self.procs.get(&TracePid(traced)) {
                    Some(p) => value = p.pid.to_string(),
                    None => {
                        // A process the trace does not follow moves: nothing the model has.
                        *self.report.unchecked.entry(OUT_OF_SIGHT.into()).or_default() += 1;
                        return;
                    }
                },
            }
        }
        if !f.made {
            // Into a group out of the trace's sight (the root, the one it started in): the
            // model has it, unlimited, and the task goes there.
            self.out_of_sight_groups(&f.group);
            let _ = self.k.cgroup_write(pid, &f.group, &f.file, &value);
            return;
        }
        let v1_limit = matches!(f.file.as_str(), "memory.limit_in_bytes" | "memory.memsw.limit_in_bytes");
        if v1_limit && c.ret.errno() == Some("EBUSY") && self.opts.mode < Mode::Strict {
            // Refused as the group held more than the new limit after reclaim: memory the
            // program wrote with plain stores, which only a --strict replay knows of. The
            // limit stays as it was.
            *self.report.unchecked.entry(USAGE.into()).or_default() += 1;
            return;
        }
        if v1_limit && self.within_kernel_memory(f, &value) {
            // Whether Linux could reclaim the group down to the new limit depends on the
            // kernel objects charged to it, which the model does not charge: the log's
            // result is taken (a refused limit is not set), unchecked.
            if c.ret.value().is_some() {
                let _ = self.k.cgroup_write(pid, &f.group, &f.file, &value);
            }
            *self.report.unchecked.entry(NEAR_USAGE.into()).or_default() += 1;
            return;
        }
        let got = self.k.cgroup_write(pid, &f.group, &f.file, &value).map(|()| c.ret.value().unwrap_or(count));
        self.check(line, &format!("write to {} of memory cgroup /{}", f.file, f.group), &c.ret, got);
    }

    /// Whether `value`, written to a v1 limit file of group `f`, is a limit at or so little
    /// above the model's usage of the group that the kernel memory Linux also charges (up
    /// to [`procfs::cgroup::USAGE_TOLERANCE`]) decides whether the write succeeds.
    fn within_kernel_memory(&self, f: &CgroupFile, value: &str) -> bool {
        let groups = &self.k.machine().frames.memcgs;
        let Some(g) = self.k.memcg_lookup(&f.group).ok().and_then(|id| groups.get(id)) else { return false };
        let Ok(limit) = mm::memcg::files::parse_limit(value, groups.version) else { return false };
        let usage = if f.file == "memory.limit_in_bytes" { g.usage } else { g.memsw_usage() };
        // Below the model's usage the write fails on both (reclaim permitting); at or above
        // it by less than what kernel objects may add, only Linux may refuse it.
        limit != mm::memcg::NO_LIMIT
            && limit >= usage
            && (limit << PAGE_SHIFT) < (usage << PAGE_SHIFT).saturating_add(procfs::cgroup::USAGE_TOLERANCE)
    }

    /// A read of a file of a memory cgroup the trace made, compared with the model's text
    /// from where the read began (`at`). `data` is what the log shows of the bytes read,
    /// `n` how many there were (strace cuts long strings: then the whole lines shown count).
    pub(super) fn cgroup_read(&mut self, line: u64, f: &CgroupFile, at: u64, data: &[u8], n: u64) {
        if !self.verify() || n == 0 || at > 0 || !f.made {
            return;
        }
        if self.cgroup_writes_unmodelled.contains(&(f.group.clone(), f.file.clone())) {
            *self.report.unchecked.entry(NOT_MODELLED.into()).or_default() += 1;
            return;
        }
        let usage = procfs::cgroup::follows_residency(&f.file);
        if usage && self.opts.mode < Mode::Strict {
            *self.report.unchecked.entry(USAGE.into()).or_default() += 1;
            return;
        }
        let model = match procfs::cgroup::cgroup_file(&self.k, &f.group, &f.file) {
            Ok(t) => t,
            Err(_) => {
                // A file the model does not show (another controller's, v2's
                // cgroup.controllers, the pressure files).
                *self.report.unchecked.entry(NOT_MODELLED.into()).or_default() += 1;
                return;
            }
        };
        let shown = String::from_utf8_lossy(data);
        let (want, got) = if (data.len() as u64) < n {
            // Cut short: the whole lines shown, and as many of the model's.
            let whole = shown.rfind('\n').map_or("", |i| &shown[..=i]);
            let lines = whole.lines().count();
            let model: String = model.lines().take(lines).flat_map(|l| [l, "\n"]).collect();
            (whole.to_string(), model)
        } else {
            (shown.into_owned(), model)
        };
        if want.is_empty() {
            return;
        }
        // The CPUs whose charge batches the host's usage may count: as the trace showed
        // them, else as the recording machine's bundle says; unknown, a usage two CPUs'
        // batches cannot explain is not one the trace could have predicted.
        let cpus = match self.learned.settings.get(CPUS) {
            Some(b) => Some(u32::try_from(b.value).unwrap_or(u32::MAX)),
            None => self.files.recorded_cpus(),
        };
        if procfs::cgroup::texts_agree(&f.file, &want, &got, Some(cpus.unwrap_or(procfs::cgroup::ASSUMED_CPUS))) {
            self.report.passed += 1;
        } else if cpus.is_none() && procfs::cgroup::texts_agree(&f.file, &want, &got, None) {
            *self.report.unchecked.entry(CPUS_UNKNOWN.into()).or_default() += 1;
        } else {
            self.mismatch(Mismatch {
                line,
                call: format!("read of {} of memory cgroup /{}", f.file, f.group),
                expected: want.trim_end().replace('\n', "; "),
                got: got.trim_end().replace('\n', "; "),
                diff: None,
                cause: None,
            });
        }
    }

    /// Notes a SIGKILL a traced call sent (kill, tgkill, tkill): the task it ends was not
    /// the OOM killer's.
    pub(super) fn note_sigkill(&mut self, c: &Syscall) {
        let Ret::Value(_) = c.ret else { return };
        let (target, sig) = match c.name.as_ref() {
            "tgkill" => (c.arg_i64(1), c.arg(2)),
            _ => (c.arg_i64(0), c.arg(1)),
        };
        let is_kill = sig.is_some_and(|s| s.as_ident() == Some("SIGKILL") || s.as_u64() == Some(9));
        match target {
            _ if !is_kill => {}
            Some(t) if t > 0 => {
                self.sigkilled.insert(TracePid(t as u32));
            }
            // A process group, or every process: any task may have been one.
            _ => self.sigkill_broadcast = true,
        }
    }

    /// Task `tpid` ended `killed by SIGKILL`: when nothing in the trace sent it, the OOM
    /// killer of its memory cgroup did (see the module's comment).
    pub(super) fn killed_by_sigkill(&mut self, tpid: TracePid, line: u64) {
        let Some(pid) = self.procs.get(&tpid).map(|p| p.pid) else { return };
        if self.sigkilled.remove(&tpid) || self.sigkill_broadcast {
            return;
        }
        let dead = |k: &Kernel, p: Pid| k.task(p).map_or(true, |t| t.exit_code.is_some());
        if dead(&self.k, pid) {
            // The model's OOM killer ended it already (a limit written lower than the
            // usage): the same kill.
            if self.verify() {
                self.report.passed += 1;
            }
            return;
        }
        if !self.k.memcg_limited(pid) {
            *self.report.unchecked.entry(KILLED_FROM_OUTSIDE.into()).or_default() += 1;
            return;
        }
        let alive: Vec<(TracePid, Pid)> =
            self.procs.iter().filter(|(_, p)| !dead(&self.k, p.pid)).map(|(t, p)| (*t, p.pid)).collect();
        self.write_until_killed(pid);
        let mut others: Vec<u32> =
            alive.iter().filter(|(t, p)| *t != tpid && dead(&self.k, *p)).map(|(t, _)| t.0).collect();
        others.sort_unstable();
        if dead(&self.k, pid) && others.is_empty() {
            if self.verify() {
                self.report.passed += 1;
            }
            return;
        }
        if others.is_empty() {
            // Every page written and no OOM: the kill came from elsewhere.
            *self.report.unchecked.entry(KILLED_FROM_OUTSIDE.into()).or_default() += 1;
            return;
        }
        let victims: Vec<String> = others.iter().map(|t| format!("task {t}")).collect();
        self.mismatch(Mismatch {
            line,
            call: "OOM kill".into(),
            expected: format!("task {} killed by its memory cgroup's OOM killer", tpid.0),
            got: format!("the OOM killer chose {}", victims.join(", ")),
            diff: None,
            cause: None,
        });
    }

    /// Writes task `pid`'s private writable memory a page at a time until it ends: the
    /// mappings its program made, newest first, then every other one from the lowest.
    fn write_until_killed(&mut self, pid: Pid) {
        let Ok(id) = self.k.mm_id(pid) else { return };
        let Ok(mm) = self.k.mm(pid) else { return };
        let private: Vec<(u64, u64)> = mm
            .vmas
            .iter()
            .filter(|v| v.flags.contains(VmFlags::WRITE) && !v.flags.contains(VmFlags::SHARED))
            .map(|v| (v.start, v.end))
            .collect();
        let made = self.created.get(&id).cloned().unwrap_or_default();
        let mut order: Vec<(u64, u64)> = Vec::new();
        for &(s, e) in made.iter().rev() {
            order.extend(private.iter().filter(|&&(vs, ve)| vs < e && s < ve).map(|&(vs, ve)| (vs.max(s), ve.min(e))));
        }
        order.extend(private);
        for (start, end) in order {
            let mut va = start;
            while va < end {
                if self.k.task(pid).map_or(true, |t| t.exit_code.is_some()) {
                    return;
                }
                // A zero byte: the page becomes the task's own at no cost to this host.
                let _ = self.k.store(pid, va, &[0]);
                va += PAGE_SIZE;
            }
        }
    }
}
