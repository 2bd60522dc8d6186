//! A memory cgroup on the host for the cgroup comparisons, removed when dropped (also when
//! a test fails).
//!
//! The interface is the one the machine mounts: cgroup v2 when the unified hierarchy at
//! `/sys/fs/cgroup` offers the memory controller (it is then enabled for the root's
//! children), else the v1 memory hierarchy at `/sys/fs/cgroup/memory`. The model is set to
//! the same version ([`HostGroup::version`]).
//!
//! [`build_child`] builds the C child the memory cgroup tests run in a group.

use mm::memcg::CgroupVersion;
use std::path::{Path, PathBuf};

/// The memory cgroup interface this machine mounts: v2 when the unified hierarchy at
/// `/sys/fs/cgroup` offers the memory controller, else v1 when `/sys/fs/cgroup/memory` is
/// the v1 memory hierarchy, else none.
pub fn machine_version() -> Option<CgroupVersion> {
    let controllers = std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers").unwrap_or_default();
    if controllers.split_whitespace().any(|w| w == "memory") {
        Some(CgroupVersion::V2)
    } else if Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists() {
        Some(CgroupVersion::V1)
    } else {
        None
    }
}

/// A memory cgroup made on the host.
#[derive(Debug)]
pub struct HostGroup {
    /// Its directory.
    pub dir: PathBuf,
    /// The interface it has.
    pub version: CgroupVersion,
}

impl HostGroup {
    /// Makes the group `name` below the memory hierarchy's root. Err with the reason when
    /// the machine has no memory controller or the caller may not make groups.
    pub fn create(name: &str) -> Result<HostGroup, String> {
        if !rustix::process::geteuid().is_root() {
            return Err("making a memory cgroup needs root".into());
        }
        let v2 = machine_version() == Some(CgroupVersion::V2);
        let v1_root = Path::new("/sys/fs/cgroup/memory");
        let (root, version) = if v2 {
            let sub = Path::new("/sys/fs/cgroup/cgroup.subtree_control");
            let on = std::fs::read_to_string(sub).unwrap_or_default();
            if !on.split_whitespace().any(|w| w == "memory") {
                std::fs::write(sub, "+memory").map_err(|e| format!("enabling the memory controller: {e}"))?;
            }
            (PathBuf::from("/sys/fs/cgroup"), CgroupVersion::V2)
        } else if v1_root.join("memory.limit_in_bytes").exists() {
            (v1_root.to_path_buf(), CgroupVersion::V1)
        } else {
            return Err("no memory cgroup controller (neither cgroup v2 with memory nor v1 memory)".into());
        };
        let dir = root.join(name);
        std::fs::create_dir(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        Ok(HostGroup { dir, version })
    }

    /// Whether the group has the file `file` (v1 `memory.memsw.*` needs swap accounting).
    pub fn has(&self, file: &str) -> bool {
        self.dir.join(file).exists()
    }

    /// Writes `value` to `file`; Err with the errno's text.
    pub fn write(&self, file: &str, value: &str) -> Result<(), String> {
        std::fs::write(self.dir.join(file), value).map_err(|e| format!("writing {value} to {file}: {e}"))
    }

    /// The text of `file` ("" if it cannot be read).
    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.join(file)).unwrap_or_default()
    }

    /// The number a one-number file holds.
    pub fn number(&self, file: &str) -> Option<u64> {
        self.read(file).trim().parse().ok()
    }

    /// The value of the line `key N` of a flat-keyed file (memory.stat, memory.events).
    pub fn key(&self, file: &str, key: &str) -> Option<u64> {
        self.read(file).lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
    }
}

impl HostGroup {
    /// Makes the group `name` below `parent` (in v2 with the memory controller enabled
    /// for the parent's children).
    pub fn create_in(parent: &HostGroup, name: &str) -> Result<HostGroup, String> {
        if parent.version == CgroupVersion::V2 {
            let on = parent.read("cgroup.subtree_control");
            if !on.split_whitespace().any(|w| w == "memory") {
                parent.write("cgroup.subtree_control", "+memory")?;
            }
        }
        let dir = parent.dir.join(name);
        std::fs::create_dir(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        Ok(HostGroup { dir, version: parent.version })
    }
}

/// The memory cgroups of a script ([`crate::HostScript::memcgs`]), made below a group of
/// the run's own (`mmsim-run-PID-N` below the hierarchy's root); all removed when dropped,
/// children first, their leftover processes killed.
#[derive(Debug)]
pub struct ScriptGroups {
    /// The run's own group, then the script's, in the script's order.
    groups: Vec<HostGroup>,
}

impl ScriptGroups {
    /// Makes the groups of `script`. Err when this machine cannot (not root, no memory
    /// controller) or mounts another interface than the script's file names are for.
    pub fn make(script: &crate::HostScript) -> Result<ScriptGroups, String> {
        static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let root = HostGroup::create(&format!("mmsim-run-{}-{n}", std::process::id()))?;
        let name = |v: CgroupVersion| match v {
            CgroupVersion::V1 => "cgroup v1",
            CgroupVersion::V2 => "cgroup v2",
        };
        if Some(root.version) != script.memcg_version {
            return Err(format!(
                "the memory cgroup files are {}'s (`set cgroup 1` chooses v1), and this machine mounts {}",
                script.memcg_version.map_or("no interface", name),
                name(root.version)
            ));
        }
        let mut groups = vec![root];
        for path in &script.memcgs {
            let (parent, name) = match path.rsplit_once('/') {
                Some((parent, name)) => (1 + script.memcgs.iter().position(|p| p == parent).expect("checked"), name),
                None => (0, path.as_str()),
            };
            let g = HostGroup::create_in(&groups[parent], name)?;
            groups.push(g);
        }
        Ok(ScriptGroups { groups })
    }

    /// The directory of each of the script's groups.
    pub fn paths(&self) -> Vec<String> {
        self.groups[1..].iter().map(|g| g.dir.display().to_string()).collect()
    }
}

impl Drop for ScriptGroups {
    fn drop(&mut self) {
        while let Some(g) = self.groups.pop() {
            drop(g);
        }
    }
}

impl Drop for HostGroup {
    fn drop(&mut self) {
        // Leftover tasks (a failed run) are killed, then the group goes.
        for pid in self.read("cgroup.procs").split_whitespace() {
            if let Ok(pid) = pid.parse::<i32>() {
                if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
            }
        }
        for _ in 0..100 {
            if std::fs::remove_dir(&self.dir).is_ok() || !self.dir.exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        eprintln!("could not remove {}", self.dir.display());
    }
}

/// The child of the memory cgroup tests (`memcg_child.c`): joins the group whose
/// `cgroup.procs` is its first argument, maps as many MiB of private anonymous memory as
/// its second says, writes one byte in each page, prints the mapping's address and waits
/// for its stdin to close.
pub const CHILD_SOURCE: &str = include_str!("memcg_child.c");

/// The command name of the child [`build_child`] builds (as kill lines show it).
pub const CHILD_COMM: &str = "memcgchild";

/// Builds [`CHILD_SOURCE`] into `dir` with gcc; the binary's path, or why not.
pub fn build_child(dir: &Path) -> Result<PathBuf, String> {
    crate::cc::build_c(CHILD_COMM, CHILD_SOURCE, &[], dir)
}
