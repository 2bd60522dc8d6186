//! Builds the C half of the tester, `csrc/hostchild.c`, into `OUT_DIR`.
//!
//! The program must be a real process image of its own (an `execve` gives
//! the fresh address space the model starts from), so it is compiled with the
//! system C compiler rather than linked into the crate. A static binary is
//! preferred: it has no `ld.so` and no shared libraries, so its address space
//! is small and the same on every machine with the same compiler. If static
//! linking fails (no `libc.a`), a dynamic build is used instead.
//!
//! The path is exported as `MMSIM_HOSTCHILD`; it is empty when nothing could
//! be built, and `hostdiff::is_supported()` then returns false. Under
//! `MMSIM_REQUIRE_HOST=1` (as CI sets it) a child that cannot be built is an
//! error of the build, not a warning.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=csrc/hostchild.c");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=HOSTDIFF_CC");
    println!("cargo:rerun-if-env-changed=MMSIM_REQUIRE_HOST");

    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if target_os != "linux" || target_arch != "x86_64" {
        // The child uses Linux-only calls and x86-64 system call numbers.
        unbuilt(&format!("the host child needs Linux on x86-64, not {target_os} on {target_arch}"));
        return;
    }

    // `CC` is deliberately not consulted: it may name a cross compiler, but
    // this program runs on the build host's kernel.
    let cc = env::var("HOSTDIFF_CC").unwrap_or_else(|_| "cc".to_string());
    let source = Path::new("csrc/hostchild.c");
    let exe = out_dir.join("hostchild");
    let common = ["-O1", "-std=gnu11", "-Wall", "-Wextra"];

    let static_err = match compile(&cc, &common, &["-static"], source, &exe) {
        Ok(()) => return export_path(&exe),
        Err(e) => e,
    };
    match compile(&cc, &common, &[], source, &exe) {
        Ok(()) => {
            println!(
                "cargo:warning=hostdiff: static linking of hostchild failed, using a dynamic \
                 build (its maps include ld.so and libc): {}",
                first_line(&static_err)
            );
            export_path(&exe);
        }
        Err(e) => unbuilt(&format!("could not build the host child with C compiler `{cc}`: {}", first_line(&e))),
    }
}

/// Runs the compiler; on success forwards any diagnostics as warnings.
fn compile(cc: &str, common: &[&str], extra: &[&str], source: &Path, exe: &Path) -> Result<(), String> {
    let output = Command::new(cc)
        .args(common)
        .args(extra)
        .arg("-o")
        .arg(exe)
        .arg(source)
        .output()
        .map_err(|e| format!("cannot run `{cc}`: {e}"))?;
    let diagnostics = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("`{cc}` failed ({}): {diagnostics}", output.status));
    }
    for line in diagnostics.lines().filter(|l| !l.trim().is_empty()) {
        println!("cargo:warning=hostchild.c: {line}");
    }
    Ok(())
}

fn first_line(s: &str) -> &str {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s)
}

fn export_path(exe: &Path) {
    match exe.to_str() {
        Some(path) => export(path),
        None => unbuilt("OUT_DIR is not UTF-8"),
    }
}

/// No host child: a warning (host tests skip), or under `MMSIM_REQUIRE_HOST=1` a failed build.
fn unbuilt(reason: &str) {
    let required = env::var_os("MMSIM_REQUIRE_HOST").is_some_and(|v| !v.is_empty() && v != "0");
    if required {
        eprintln!("error: hostdiff: {reason} (MMSIM_REQUIRE_HOST=1 requires the host child)");
        std::process::exit(1);
    }
    println!("cargo:warning=hostdiff: {reason}; host differential tests will be skipped");
    export("");
}

fn export(value: &str) {
    println!("cargo:rustc-env=MMSIM_HOSTCHILD={value}");
}
