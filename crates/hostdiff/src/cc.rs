//! Builds the small C programs the host tests run beside the host child (memory cgroup
//! children, SysV and shmem probes): one source, gcc, a binary in a directory of the test's.

use std::path::{Path, PathBuf};

/// Writes `source` to `dir/NAME.c` and builds it with `gcc -O1` and `flags` into
/// `dir/NAME`; the binary's path, or why not (gcc's own message).
pub fn build_c(name: &str, source: &str, flags: &[&str], dir: &Path) -> Result<PathBuf, String> {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).map_err(|e| format!("{}: {e}", src.display()))?;
    let bin = dir.join(name);
    let out = std::process::Command::new("gcc")
        .args(flags)
        .args(["-O1", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .map_err(|e| format!("gcc: {e}"))?;
    if !out.status.success() {
        return Err(format!("gcc {flags:?}: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(bin)
}
