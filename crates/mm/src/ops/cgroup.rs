//! The memory cgroup file system as a task uses it: `mkdir` and `rmdir` of a group, writing
//! a pid to `cgroup.procs` (v1 `tasks` too) to move a task, and writing the limit files.
//!
//! Moving a task does not move the charges of the pages it already has (cgroup v2 never
//! does; v1 only with `memory.move_charge_at_immigrate`, off by default): its next pages
//! are charged to the new group.
//!
//! Lowering `memory.max` below the group's usage reclaims, then (v2) OOM-kills tasks of the
//! group until the usage fits (memory_max_write); v1's `memory.limit_in_bytes` refuses with
//! EBUSY instead (mem_cgroup_resize_max).

use crate::kernel::{Kernel, Pid};
use crate::memcg::files::parse_limit;
use crate::memcg::{CgroupVersion, Limit, MemcgId, NO_LIMIT};
use crate::oom::{OomScope, Room};
use abi::{Errno, SysResult};

/// A path below the cgroup mount split into the group (relative path, "" for the root) and
/// the file name, if it names a file; None when the path is not below the mount. A last
/// component names a file when it is one of a group's files or looks like one (`memory.`,
/// `cgroup.`); otherwise a group, dots and all (`user.slice`).
pub fn split_cgroup_path(version: CgroupVersion, path: &str) -> Option<(String, Option<String>)> {
    let rest = path.strip_prefix(version.mount())?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    let is_file = |name: &str| {
        crate::memcg::files::interface_files(version).contains(&name)
            || name.starts_with("memory.")
            || name.starts_with("cgroup.")
    };
    match parts.split_last() {
        Some((last, dirs)) if is_file(last) => Some((dirs.join("/"), Some(last.to_string()))),
        _ => Some((parts.join("/"), None)),
    }
}

/// Whether the model carries out a write to `file` of a group (the files
/// [`Kernel::cgroup_write`] takes); writes to other files (other controllers', v2's
/// `cgroup.subtree_control`, v1's `memory.oom_control`) it refuses
/// with EACCES, as Linux refuses a file without write permission.
pub fn models_write(version: CgroupVersion, file: &str) -> bool {
    match version {
        CgroupVersion::V1 => matches!(
            file,
            "cgroup.procs"
                | "tasks"
                | "memory.force_empty"
                | "memory.max_usage_in_bytes"
                | "memory.memsw.max_usage_in_bytes"
                | "memory.failcnt"
                | "memory.memsw.failcnt"
                | "memory.limit_in_bytes"
                | "memory.memsw.limit_in_bytes"
                | "memory.swappiness"
        ),
        CgroupVersion::V2 => matches!(
            file,
            "cgroup.procs" | "memory.reclaim" | "memory.max" | "memory.high" | "memory.swap.max" | "memory.swap.high"
        ),
    }
}

/// A number as the kernel's `kstrtoull` with base 0 reads one, what a cgroup file of one
/// number takes: an optional `+`, then decimal, octal after `0`, or hexadecimal after `0x`,
/// and one newline at most after it (measured on 6.18 with `memory.swappiness`: `0x10` is
/// 16, `010` is 8, `+5` is 5, ` 5`, `7x`, `-1` and `0b1` are EINVAL).
fn parse_u64_like_kstrtoull(text: &str) -> Option<u64> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let text = text.strip_prefix('+').unwrap_or(text);
    let (digits, radix) = if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        (hex, 16)
    } else if text.len() > 1 && text.starts_with('0') {
        (&text[1..], 8)
    } else {
        (text, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

impl Kernel {
    /// Chooses the cgroup interface (v1 or v2); EBUSY once a group exists.
    pub fn set_cgroup_version(&mut self, version: CgroupVersion) -> SysResult<()> {
        if self.m.frames.memcgs.any_limits() {
            return Err(Errno::EBUSY);
        }
        self.m.frames.memcgs.version = version;
        Ok(())
    }

    /// The group at `path` (relative to the mount), or ENOENT.
    pub fn memcg_lookup(&self, path: &str) -> SysResult<MemcgId> {
        let path = self.cgroup_walk(path, true)?;
        self.m.frames.memcgs.lookup(&path).ok_or(Errno::ENOENT)
    }

    /// The group path `path` (relative to the mount) names once its `.` and `..` are
    /// followed as the path walk follows them: every group the walk goes through (all
    /// components but the last, and the last too with `whole`) must exist, ENOENT
    /// otherwise (measured on 6.18: `mkdir g/../x` makes `x`, `mkdir nope/../x` is ENOENT).
    /// A `..` above the mount leaves the cgroup file system, which the model does not
    /// have: EINVAL.
    fn cgroup_walk(&self, path: &str, whole: bool) -> SysResult<String> {
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        if !parts.iter().any(|&p| p == "." || p == "..") {
            return Ok(parts.join("/"));
        }
        let groups = &self.m.frames.memcgs;
        let mut at: Vec<&str> = Vec::new();
        for (i, &part) in parts.iter().enumerate() {
            match part {
                "." => {}
                ".." => {
                    at.pop().ok_or(Errno::EINVAL)?;
                }
                name => at.push(name),
            }
            let last = i + 1 == parts.len();
            if (!last || whole) && groups.lookup(&at.join("/")).is_none() {
                return Err(Errno::ENOENT);
            }
        }
        Ok(at.join("/"))
    }

    /// `mkdir` of a group below the cgroup mount. A name may hold dots (systemd's
    /// `user.slice`, `run-u7.scope`); one that names an interface file of the parent is
    /// EEXIST (measured on v1: `mkdir tasks` and `mkdir cgroup.procs` fail so, `mkdir
    /// memory.max` makes a group).
    pub fn cgroup_mkdir(&mut self, path: &str) -> SysResult<MemcgId> {
        let resolved = self.cgroup_walk(path, false)?;
        let last = path.split('/').rfind(|p| !p.is_empty()).unwrap_or("");
        // The mount itself, or a name that is `.` or `..`: a directory that exists.
        if resolved.is_empty() || last == "." || last == ".." {
            return Err(Errno::EEXIST);
        }
        let path = resolved.as_str();
        let name = path.rsplit('/').next().unwrap_or(path);
        if crate::memcg::files::interface_files(self.m.frames.memcgs.version).contains(&name) {
            return Err(Errno::EEXIST);
        }
        let id = self.m.frames.memcgs.create(path)?;
        let parent = self.m.frames.memcgs.get(id).and_then(|g| g.parent).unwrap_or(crate::memcg::ROOT_MEMCG);
        let inherited = self.memcg_swappiness(parent);
        self.m.frames.memcgs.set_swappiness(id, inherited);
        Ok(id)
    }

    /// The swappiness reclaim in group `id` uses: v1's `memory.swappiness` of the group,
    /// the machine's `vm.swappiness` for the root group and under v2 (which has no
    /// per-group swappiness).
    pub fn memcg_swappiness(&self, id: MemcgId) -> u32 {
        let groups = &self.m.frames.memcgs;
        match groups.get(id) {
            Some(g) if id != crate::memcg::ROOT_MEMCG && groups.version == CgroupVersion::V1 => g.swappiness,
            _ => self.m.config.swappiness,
        }
    }

    /// Whether task `pid`'s memory cgroup, or one above it, limits its memory: then its
    /// group can run out and OOM-kill it (a v1 memory+swap limit is never below the memory
    /// limit, and a swap limit alone never OOM-kills).
    pub fn memcg_limited(&self, pid: Pid) -> bool {
        let Some(t) = self.tasks.get(&pid) else { return false };
        let groups = &self.m.frames.memcgs;
        groups.ancestry(t.memcg).into_iter().filter_map(|id| groups.get(id)).any(|g| g.max != NO_LIMIT)
    }

    /// `rmdir` of a group: EBUSY while a task is in it or it has children. Pages still
    /// charged to it (page cache its tasks left) are charged to its parent from then on.
    pub fn cgroup_rmdir(&mut self, path: &str) -> SysResult<()> {
        // rmdir of `x/.` is EINVAL, of `x/..` ENOTEMPTY, once `x` is found.
        if let Some(last @ ("." | "..")) = path.split('/').rfind(|p| !p.is_empty()) {
            self.cgroup_walk(path, true)?;
            return Err(if last == "." { Errno::EINVAL } else { Errno::ENOTEMPTY });
        }
        let id = self.memcg_lookup(path)?;
        if self.tasks.values().any(|t| t.memcg == id && t.exit_code.is_none()) {
            return Err(Errno::EBUSY);
        }
        let parent = self.m.frames.memcgs.remove(id)?;
        self.m.frames.recharge_frames(id, parent);
        self.m.swap.recharge_slots(id, parent);
        for t in self.tasks.values_mut().filter(|t| t.memcg == id) {
            t.memcg = parent;
        }
        Ok(())
    }

    /// Moves task `pid` into the group at `path` (writing its pid to `cgroup.procs`).
    pub fn cgroup_attach(&mut self, path: &str, pid: Pid) -> SysResult<()> {
        let id = self.memcg_lookup(path)?;
        let t = self.tasks.get_mut(&pid).filter(|t| t.exit_code.is_none()).ok_or(Errno::ESRCH)?;
        t.memcg = id;
        Ok(())
    }

    /// Writes `value` to the file `file` of the group at `path`, as task `writer` (whose
    /// name the OOM report shows if the write has to kill). The writable files are
    /// `memory.max`, `memory.high`, `memory.swap.max`, `memory.reclaim` (v2), `memory.limit_in_bytes`,
    /// `memory.memsw.limit_in_bytes`, `memory.force_empty` (v1), and `cgroup.procs` (v1 `tasks` too).
    pub fn cgroup_write(&mut self, writer: Pid, path: &str, file: &str, value: &str) -> SysResult<()> {
        let id = self.memcg_lookup(path)?;
        if !models_write(self.m.frames.memcgs.version, file) {
            return Err(Errno::EACCES);
        }
        let v1 = self.m.frames.memcgs.version == CgroupVersion::V1;
        match (file, v1) {
            ("cgroup.procs", _) | ("tasks", true) => {
                let pid: Pid = value.trim().parse().map_err(|_| Errno::EINVAL)?;
                // 0 is the writer itself (measured: `echo 0 > cgroup.procs` moves the shell).
                return self.cgroup_attach(path, if pid == 0 { writer } else { pid });
            }
            ("memory.reclaim", false) => return self.memory_reclaim(id, value),
            ("memory.swappiness", true) => {
                let v = parse_u64_like_kstrtoull(value).filter(|&v| v <= 200).ok_or(Errno::EINVAL)? as u32;
                // The root group's is the machine's vm.swappiness.
                if id == crate::memcg::ROOT_MEMCG {
                    return self.set_swappiness(v);
                }
                self.m.frames.memcgs.set_swappiness(id, v);
                return Ok(());
            }
            _ if id == crate::memcg::ROOT_MEMCG => return Err(Errno::EINVAL),
            ("memory.force_empty", true) => {
                self.force_empty(id);
                return Ok(());
            }
            // v1's resets take any text (mem_cgroup_reset; measured: writing 0 to
            // memory.max_usage_in_bytes leaves the current usage there).
            (
                "memory.max_usage_in_bytes"
                | "memory.memsw.max_usage_in_bytes"
                | "memory.failcnt"
                | "memory.memsw.failcnt",
                true,
            ) => {
                self.m.frames.memcgs.reset_v1(id, file);
                return Ok(());
            }
            _ => {}
        }
        let pages = parse_limit(value, self.m.frames.memcgs.version)?;
        let g = self.m.frames.memcgs.get(id).expect("looked-up memcg").clone();
        match (file, v1) {
            ("memory.max", false) => {
                self.m.frames.memcgs.set_limit(id, Limit::Max, pages);
                self.shrink_to_limit(writer, id);
            }
            ("memory.high", false) => self.m.frames.memcgs.set_limit(id, Limit::High, pages),
            ("memory.swap.max", false) => self.m.frames.memcgs.set_limit(id, Limit::SwapMax, pages),
            ("memory.swap.high", false) => self.m.frames.memcgs.set_limit(id, Limit::SwapHigh, pages),
            ("memory.limit_in_bytes", true) => {
                // v1 keeps memory+swap at or above memory: the memsw limit is max + swap_max.
                let memsw = g.max.saturating_add(g.swap_max);
                if pages > memsw && memsw != NO_LIMIT {
                    return Err(Errno::EINVAL);
                }
                if g.usage > pages {
                    self.reclaim_for_allocation(OomScope::Memcg(id), g.usage - pages);
                    if self.m.frames.memcgs.get(id).is_some_and(|g| g.usage > pages) {
                        return Err(Errno::EBUSY);
                    }
                }
                let swap = if memsw == NO_LIMIT { NO_LIMIT } else { memsw - pages };
                self.m.frames.memcgs.set_limit(id, Limit::Max, pages);
                self.m.frames.memcgs.set_limit(id, Limit::SwapMax, swap);
            }
            ("memory.memsw.limit_in_bytes", true) => {
                if pages < g.max {
                    return Err(Errno::EINVAL);
                }
                // Below the memory+swap usage: reclaim, EBUSY if that is not enough
                // (mem_cgroup_resize_max). With the new limit in place the reclaim may not
                // swap, which would not lower the usage.
                if g.memsw_usage() > pages {
                    self.m.frames.memcgs.set_limit(id, Limit::SwapMax, pages - g.max);
                    self.reclaim_for_allocation(OomScope::Memcg(id), g.memsw_usage() - pages);
                    if self.m.frames.memcgs.get(id).is_some_and(|g| g.memsw_usage() > pages) {
                        self.m.frames.memcgs.set_limit(id, Limit::SwapMax, g.swap_max);
                        return Err(Errno::EBUSY);
                    }
                }
                let swap = if pages == NO_LIMIT { NO_LIMIT } else { pages - g.max };
                self.m.frames.memcgs.set_limit(id, Limit::SwapMax, swap);
            }
            _ => return Err(Errno::EACCES),
        }
        Ok(())
    }

    /// `memory.reclaim` (v2, the root included): proactive reclaim of the bytes written
    /// from the group and its descendants, in batches of SWAP_CLUSTER_MAX; EAGAIN once 16
    /// batches in a row free nothing before the amount is reached (memory_reclaim).
    fn memory_reclaim(&mut self, id: MemcgId, value: &str) -> SysResult<()> {
        let bytes = crate::memcg::files::parse_bytes(value)?;
        let want = bytes.div_ceil(crate::layout::PAGE_SIZE);
        let (mut freed, mut retries) = (0, crate::reclaim::MAX_RECLAIM_RETRIES);
        while freed < want {
            let batch = (want - freed).min(crate::clean_cache::SWAP_CLUSTER_MAX);
            let got = self.direct_reclaim(OomScope::Memcg(id), batch).min(want - freed);
            if got == 0 {
                if retries == 0 {
                    return Err(Errno::EAGAIN);
                }
                retries -= 1;
            }
            freed += got;
        }
        Ok(())
    }

    /// v1 `memory.force_empty` (mem_cgroup_force_empty): reclaim from the group until it
    /// holds nothing, or until reclaim has come back empty-handed MAX_RECLAIM_RETRIES times
    /// (pages it cannot free: mlocked, or anonymous with no swap). The write succeeds
    /// either way, whatever was written.
    fn force_empty(&mut self, id: MemcgId) {
        self.m.lru_add_drain();
        let mut retries = crate::reclaim::MAX_RECLAIM_RETRIES;
        while retries > 0 && self.m.frames.memcgs.get(id).is_some_and(|g| g.usage > 0) {
            if self.direct_reclaim(OomScope::Memcg(id), crate::clean_cache::SWAP_CLUSTER_MAX) == 0 {
                retries -= 1;
            }
        }
    }

    /// memory_max_write's loop: reclaim, then OOM-kill tasks of the group, until its usage
    /// fits its new limit or nothing is left to kill.
    fn shrink_to_limit(&mut self, writer: Pid, id: MemcgId) {
        let mut rounds = 0;
        loop {
            let Some(g) = self.m.frames.memcgs.get(id) else { return };
            if g.usage <= g.max {
                return;
            }
            self.m.frames.memcgs.last_refusal = Some(crate::memcg::OverLimit(id));
            if self.make_room(writer, &mut rounds) == Room::NoVictim {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_paths_split_into_group_and_file() {
        let v2 = CgroupVersion::V2;
        assert_eq!(
            split_cgroup_path(v2, "/sys/fs/cgroup/a/b/memory.max"),
            Some(("a/b".into(), Some("memory.max".into())))
        );
        assert_eq!(split_cgroup_path(v2, "/sys/fs/cgroup/a/"), Some(("a".into(), None)));
        assert_eq!(split_cgroup_path(v2, "/sys/fs/cgroup/memory.stat"), Some(("".into(), Some("memory.stat".into()))));
        assert_eq!(split_cgroup_path(v2, "/sys/fs/cgroupx/a"), None);
        let v1 = CgroupVersion::V1;
        assert_eq!(split_cgroup_path(v1, "/sys/fs/cgroup/memory/g/tasks"), Some(("g".into(), Some("tasks".into()))));
        assert_eq!(split_cgroup_path(v2, "/sys/fs/cgroup/user.slice"), Some(("user.slice".into(), None)));
        assert_eq!(
            split_cgroup_path(v2, "/sys/fs/cgroup/user.slice/run-u7.scope/memory.max"),
            Some(("user.slice/run-u7.scope".into(), Some("memory.max".into())))
        );
    }

    #[test]
    fn numbers_read_as_kstrtoull_with_base_0_reads_them() {
        for (text, want) in [("5", Some(5)), ("5\n", Some(5)), ("+5", Some(5)), ("0x10", Some(16)), ("010", Some(8))] {
            assert_eq!(parse_u64_like_kstrtoull(text), want, "{text:?}");
        }
        assert_eq!(parse_u64_like_kstrtoull("0"), Some(0));
        for bad in ["", " 5", "7x", "-1", "0b1", "5\n\n", "08", "0x", "+"] {
            assert_eq!(parse_u64_like_kstrtoull(bad), None, "{bad:?}");
        }
    }

    /// The values measured on 6.18 (v1): a group takes its parent's swappiness when made and
    /// keeps its own from then on; the root's is vm.swappiness.
    #[test]
    fn a_v1_group_copies_its_parents_swappiness_when_made() {
        let mut k = Kernel::new(crate::Config::default());
        k.set_cgroup_version(CgroupVersion::V1).unwrap();
        let p = k.spawn_empty("sh").unwrap();
        let show = |k: &Kernel, g: &str| k.memcg_swappiness(k.memcg_lookup(g).unwrap());
        k.cgroup_mkdir("g").unwrap();
        assert_eq!(show(&k, "g"), 60);
        k.cgroup_write(p, "g", "memory.swappiness", "30").unwrap();
        k.cgroup_mkdir("g/c").unwrap();
        k.cgroup_write(p, "g", "memory.swappiness", "40\n").unwrap();
        assert_eq!((show(&k, "g"), show(&k, "g/c")), (40, 30));
        k.set_swappiness(10).unwrap();
        assert_eq!((show(&k, ""), show(&k, "g")), (10, 40));
        k.cgroup_mkdir("n").unwrap();
        assert_eq!(show(&k, "n"), 10);
        k.cgroup_write(p, "", "memory.swappiness", "25").unwrap();
        assert_eq!(k.config().swappiness, 25);
        for bad in ["201", "-1", "abc", " 5"] {
            assert_eq!(k.cgroup_write(p, "g", "memory.swappiness", bad), Err(Errno::EINVAL), "{bad:?}");
        }
        assert_eq!(k.cgroup_write(p, "g", "memory.swappiness", "200"), Ok(()));
        crate::invariants::check_kernel(&k);
        // v2 has no per-group swappiness: its groups reclaim with the machine's.
        let mut k = Kernel::new(crate::Config::default());
        k.cgroup_mkdir("g").unwrap();
        let p = k.spawn_empty("sh").unwrap();
        assert_eq!(k.cgroup_write(p, "g", "memory.swappiness", "0"), Err(Errno::EACCES));
        assert_eq!(show(&k, "g"), 60);
    }
}
