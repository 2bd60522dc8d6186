//! A real swap file on the host for the swap comparisons, and the lock that keeps every
//! other host run apart from it.
//!
//! Swap is machine-wide: while a swap file is active, MADV_PAGEOUT of anonymous memory in
//! *any* host run sends pages to it, which the comparisons of scripts written for a
//! machine without swap do not expect, and their pages would take the slots a swap
//! comparison checks. So every host run holds a shared `flock` on [`LOCK_PATH`] while its
//! child runs, and a [`HostSwap`] holds it exclusively from `swapon` to `swapoff`. (Other
//! programs on the machine do not take the lock; on this machine DAMON pages idle unmapped
//! page-cache pages out and could put tmpfs pages into the swap file: [`HostSwap::used_kb`]
//! lets a test see that and run again.)
//!
//! The swap file is made as `mkswap` makes it, activated with priority 32767 (so it is
//! the one used even if the machine has other swap), and removed with `swapoff` when the
//! [`HostSwap`] is dropped, also when a test fails.
//!
//! A script can also bring swap files of its own ([`crate::HostScript::swap_files`]), which
//! its steps activate and deactivate in the middle of the run ([`crate::Op::Swapon`]):
//! [`ScriptSwaps`] makes them before the run, holds the lock exclusively while they exist,
//! and deactivates and removes them after it, whatever the run did.

use mm::swap::SwapSpec;
use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The lock file every host run and every host swap file takes.
pub const LOCK_PATH: &str = "/var/tmp/mmsim-hostswap.lock";

/// The priority the host swap file gets.
pub const HOST_SWAP_PRIORITY: i32 = 32767;

/// Set while this process has a host swap file active: its own host runs are the
/// comparisons that want it, so they do not take the shared lock.
static SWAP_ACTIVE_HERE: AtomicBool = AtomicBool::new(false);

fn open_lock() -> std::io::Result<File> {
    let f = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(LOCK_PATH)?;
    // Whoever creates it first: everybody may lock it.
    use std::os::unix::fs::PermissionsExt;
    let _ = f.set_permissions(std::fs::Permissions::from_mode(0o666));
    Ok(f)
}

/// Takes the shared lock for a host run (none while this process holds a swap file).
/// The lock goes when the returned file is dropped. A lock file that cannot be opened
/// (e.g. a read-only /var/tmp) means no swap comparison can run either: no lock needed.
pub(crate) fn shared_lock() -> Option<File> {
    if SWAP_ACTIVE_HERE.load(Ordering::SeqCst) {
        return None;
    }
    let f = open_lock().ok()?;
    rustix::fs::flock(&f, rustix::fs::FlockOperation::LockShared).ok()?;
    Some(f)
}

/// An active swap file on the host, removed on drop.
#[derive(Debug)]
pub struct HostSwap {
    path: PathBuf,
    _lock: File,
    /// What the model must activate to match it.
    pub spec: SwapSpec,
    /// Its swap type on the host (its line's place in /proc/swaps).
    pub swap_type: u8,
}

impl HostSwap {
    /// Makes and activates a swap file of `size` bytes (header included). Needs root and
    /// `mkswap`, `swapon` and `swapoff` in PATH; the reason otherwise.
    pub fn new(size: u64) -> Result<HostSwap, String> {
        if !rustix::process::geteuid().is_root() {
            return Err("activating a swap file needs root".into());
        }
        let lock = open_lock().map_err(|e| format!("{LOCK_PATH}: {e}"))?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).map_err(|e| format!("flock: {e}"))?;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = PathBuf::from(format!(
            "/var/tmp/mmsim-{}-{}.swap",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let spec = SwapSpec {
            path: path.to_string_lossy().into_owned(),
            size,
            priority: Some(HOST_SWAP_PRIORITY),
            partition: false,
        };
        let run = |cmd: &str, args: &[&str]| -> Result<(), String> {
            let out = Command::new(cmd).args(args).output().map_err(|e| format!("{cmd}: {e}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!("{cmd} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
            }
        };
        if let Err(e) = make_swap_file(&spec.path, size) {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        if let Err(e) = run("swapon", &["-p", &HOST_SWAP_PRIORITY.to_string(), &spec.path]) {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        SWAP_ACTIVE_HERE.store(true, Ordering::SeqCst);
        let mut this = HostSwap { path, _lock: lock, spec, swap_type: 0 };
        let lines = std::fs::read_to_string("/proc/swaps").map_err(|e| e.to_string())?;
        let place = lines.lines().skip(1).position(|l| l.split_whitespace().next() == Some(&this.spec.path));
        this.swap_type = place.ok_or("the swap file is missing from /proc/swaps")? as u8;
        Ok(this)
    }

    /// The "Used" column of its /proc/swaps line, in KiB.
    pub fn used_kb(&self) -> Option<u64> {
        let lines = std::fs::read_to_string("/proc/swaps").ok()?;
        let line = lines.lines().find(|l| l.split_whitespace().next() == Some(&self.spec.path))?;
        line.split_whitespace().nth(3)?.parse().ok()
    }

    /// Its line of /proc/swaps as the host prints it.
    pub fn proc_swaps_line(&self) -> Option<String> {
        let lines = std::fs::read_to_string("/proc/swaps").ok()?;
        lines.lines().find(|l| l.split_whitespace().next() == Some(&self.spec.path)).map(|l| format!("{l}\n"))
    }

    /// Activates the same device in a model, at the same swap type (smaller placeholders
    /// stand for the host's other swap devices, which the priority keeps unused).
    pub fn activate_in(&self, k: &mut mm::Kernel) -> Result<(), String> {
        for i in 0..self.swap_type {
            let filler =
                SwapSpec { path: format!("(host swap {i})"), size: 40960, priority: Some(0), partition: false };
            k.swapon(&filler).map_err(|e| e.to_string())?;
        }
        k.swapon(&self.spec).map_err(|e| e.to_string())
    }
}

/// The swap files of one script's run: made with mkswap (not active), removed on drop.
#[derive(Debug)]
pub(crate) struct ScriptSwaps {
    /// Their paths, by number.
    pub paths: Vec<String>,
    _lock: File,
}

/// The longest path [`ScriptSwaps::make`] gives a swap file.
pub(crate) fn longest_swap_path() -> String {
    script_swap_path(u32::MAX, u64::MAX)
}

fn script_swap_path(pid: u32, n: u64) -> String {
    // /var/tmp is on a disk (swapon refuses files on tmpfs) and kept across reboots.
    format!("/var/tmp/mmsim-script-{pid}-{n}.swap")
}

impl ScriptSwaps {
    /// Makes the swap files `specs` asks for, with the lock held exclusively. Needs root and
    /// `mkswap`; the reason otherwise.
    pub(crate) fn make(specs: &[crate::SwapFileSpec]) -> Result<ScriptSwaps, String> {
        if !rustix::process::geteuid().is_root() {
            return Err("a script with swap files needs root".into());
        }
        let lock = open_lock().map_err(|e| format!("{LOCK_PATH}: {e}"))?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).map_err(|e| format!("flock: {e}"))?;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let mut this = ScriptSwaps { paths: Vec::new(), _lock: lock };
        for spec in specs {
            let path = script_swap_path(std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
            this.paths.push(path.clone());
            make_swap_file(&path, spec.size)?;
        }
        Ok(this)
    }
}

/// Writes a swap file of `size` bytes at `path` (mode 0600, replacing any file there) as
/// mkswap makes it:
/// zeros first, since swapon refuses files with holes.
fn make_swap_file(path: &str, size: u64) -> Result<(), String> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{path}: {e}"))?;
    // A file left by an earlier run under the same name keeps its mode otherwise.
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(|e| format!("{path}: {e}"))?;
    let mut left = size;
    let zeros = vec![0u8; 1 << 20];
    let mut w = std::io::BufWriter::new(file);
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        std::io::Write::write_all(&mut w, &zeros[..n]).map_err(|e| format!("{path}: {e}"))?;
        left -= n as u64;
    }
    std::io::Write::flush(&mut w).map_err(|e| format!("{path}: {e}"))?;
    let out = Command::new("mkswap").arg(path).output().map_err(|e| format!("mkswap: {e}"))?;
    if !out.status.success() {
        return Err(format!("mkswap {path}: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(())
}

impl Drop for ScriptSwaps {
    fn drop(&mut self) {
        for path in &self.paths {
            // Still active if the run stopped before its swapoff step; an error otherwise.
            let _ = Command::new("swapoff").arg(path).stderr(std::process::Stdio::null()).status();
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Drop for HostSwap {
    fn drop(&mut self) {
        let _ = Command::new("swapoff").arg(&self.path).status();
        let _ = std::fs::remove_file(&self.path);
        SWAP_ACTIVE_HERE.store(false, Ordering::SeqCst);
    }
}
