//! What mmsim's host-kernel tests need from the machine they run on, and the one place
//! that decides what happens when something is missing.
//!
//! Tests that compare the model with this machine's kernel need a C compiler, the C host
//! child of `hostdiff`, `strace`, `setarch` and a few programs to trace. On a machine
//! without them such a test cannot run. By default it then prints a note and passes, so
//! the rest of the workspace can be tested anywhere; with `MMSIM_REQUIRE_HOST=1` (as CI
//! sets it) it fails instead, with the reason, so a run cannot pass by skipping.
//!
//! Every host-dependent test goes through [`skip`] (or [`need`] / [`need_tools`]); none
//! decides on its own. This crate depends on nothing but `std`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::ffi::OsString;
use std::path::PathBuf;

/// The environment variable that turns every skip into a failure.
pub const REQUIRE_VAR: &str = "MMSIM_REQUIRE_HOST";

/// Whether `MMSIM_REQUIRE_HOST` is set to something other than empty or `0`.
pub fn required() -> bool {
    std::env::var_os(REQUIRE_VAR).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Gives up on `what` because of `reason`: a note on stderr by default, a panic (a failed
/// test, with the reason) under `MMSIM_REQUIRE_HOST=1`.
#[track_caller]
pub fn skip(what: &str, reason: &str) {
    if required() {
        panic!("{what} cannot run on this host: {reason} ({REQUIRE_VAR}=1 makes this a failure instead of a skip)");
    }
    eprintln!("note: skipping {what}: {reason}");
}

/// The value of `available`, or `None` after [`skip`] with its error as the reason.
#[track_caller]
pub fn need<T>(what: &str, available: Result<T, String>) -> Option<T> {
    match available {
        Ok(v) => Some(v),
        Err(reason) => {
            skip(what, &reason);
            None
        }
    }
}

/// Whether every one of `tools` is found in `PATH`; otherwise [`skip`]s `what`, naming
/// the missing ones.
#[track_caller]
pub fn need_tools(what: &str, tools: &[&str]) -> bool {
    need(what, check_tools(tools)).is_some()
}

/// `Ok` when every one of `tools` is an executable file in `PATH`, otherwise the reason.
pub fn check_tools(tools: &[&str]) -> Result<(), String> {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| find_tool(t).is_none()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    Err(format!("{} not found in PATH ({})", missing.join(", "), path.to_string_lossy()))
}

/// `Ok` when `gcc -m32` builds and links 32-bit programs, dynamic and static (Debian's
/// `gcc-multilib`), otherwise the reason.
pub fn check_gcc_m32() -> Result<(), String> {
    use std::sync::OnceLock;
    static RESULT: OnceLock<Result<(), String>> = OnceLock::new();
    RESULT
        .get_or_init(|| {
            check_tools(&["gcc"])?;
            let dir = std::env::temp_dir().join(format!("mmsim-m32-check-{}", std::process::id()));
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let src = dir.join("t.c");
            std::fs::write(&src, "int main(void) { return 0; }\n").map_err(|e| e.to_string())?;
            let mut result = Ok(());
            for extra in [&[][..], &["-static"][..]] {
                let out = std::process::Command::new("gcc")
                    .arg("-m32")
                    .args(extra)
                    .arg("-o")
                    .arg(dir.join("t"))
                    .arg(&src)
                    .output()
                    .map_err(|e| e.to_string())?;
                if !out.status.success() {
                    result = Err(format!(
                        "gcc -m32 {} cannot build a 32-bit program (install gcc-multilib): {}",
                        extra.join(" "),
                        String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or("")
                    ));
                    break;
                }
            }
            let _ = std::fs::remove_dir_all(&dir);
            result
        })
        .clone()
}

/// The first executable file called `name` in the directories of `PATH`.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path: OsString = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_is_named_in_the_reason() {
        let err = check_tools(&["sh", "mmsim-no-such-tool-here"]).unwrap_err();
        assert!(err.starts_with("mmsim-no-such-tool-here not found in PATH"), "{err}");
        assert!(!err.contains("sh,"), "{err}");
        assert!(find_tool("sh").is_some());
    }
}
