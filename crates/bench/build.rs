//! Builds `csrc/hostbench.c`, the host side of `mmsim bench --vs-host`, into `OUT_DIR` and
//! exports its path as `MMSIM_HOSTBENCH` (empty when no C compiler is available).

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=csrc/hostbench.c");
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("hostbench");
    let linux_x86 = env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("x86_64");
    let built = linux_x86
        && Command::new("cc")
            .args(["-O2", "-std=gnu11", "-Wall", "-o"])
            .arg(&out)
            .arg("csrc/hostbench.c")
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
    if !built && linux_x86 {
        println!("cargo:warning=bench: could not build csrc/hostbench.c; --vs-host will be unavailable");
    }
    println!("cargo:rustc-env=MMSIM_HOSTBENCH={}", if built { out.display().to_string() } else { String::new() });
}
