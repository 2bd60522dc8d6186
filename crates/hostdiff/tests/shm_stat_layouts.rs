//! The bytes of `shmctl(IPC_STAT)` in each layout, on this machine's kernel and in the
//! model's [`ShmLayout`]s: x86-64's `struct shmid64_ds` (a 64-bit program's shmctl),
//! the 32-bit `struct shmid64_ds` (a `gcc -m32` program through the ipc() multiplexer with
//! IPC_64, as glibc calls it, and through the direct i386 shmctl, which takes that layout
//! without the flag) and the old 32-bit `struct shmid_ds` (ipc() without IPC_64).
//!
//! A C child (`shm_stat_layouts.c`, built both ways) makes a private 12,345-byte segment
//! with mode 0600, attaches it and prints the structures. The model makes the same segment
//! and lays its status out; compared byte for byte, all but the times (the model has no
//! clock: they are 0) and with the creator's and last user's pid taken from the child.
//!
//! Needs gcc with 32-bit support (gcc-multilib); under MMSIM_REQUIRE_HOST=1 a machine
//! without it fails the test with the reason.

use mm::ops::shm::{ShmLayout, ShmStat};
use std::process::Command;

const CHILD: &str = include_str!("shm_stat_layouts.c");
const SIZE: u64 = 12345;

/// What the child printed: its pid, the segment's identifier, and each layout's name and
/// bytes.
type HostRun = (u32, u32, Vec<(String, Vec<u8>)>);

/// Builds the child with `flags` and runs it: (pid, identifier, [(layout name, bytes)]).
fn host(flags: &[&str], dir: &std::path::Path) -> Option<HostRun> {
    let what = format!("shmctl layouts ({})", if flags.is_empty() { "64-bit" } else { "32-bit" });
    if !hostreq::need_tools(&what, &["gcc"]) {
        return None;
    }
    let name = format!("shm_stat_layouts{}", flags.len());
    let built = hostdiff::cc::build_c(&name, CHILD, flags, dir).map_err(|e| format!("{e} (no gcc-multilib?)"));
    let bin = hostreq::need(&what, built)?;
    let out = Command::new(&bin).arg(SIZE.to_string()).output().unwrap();
    assert!(out.status.success(), "the child failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().expect("a first line").split_whitespace().collect();
    let (pid, id) = (head[1].parse().unwrap(), head[3].parse().unwrap());
    let dumps = lines
        .map(|l| {
            let (name, hex) = l.split_once(' ').unwrap();
            let bytes = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
            (name.to_string(), bytes)
        })
        .collect();
    Some((pid, id, dumps))
}

/// The model's status of a segment made and attached as the child does, with its pids.
fn model_stat(pid: u32) -> ShmStat {
    let mut k = mm::Kernel::new(mm::Config::default());
    let p = k.spawn_empty("child").unwrap();
    let id = k.shmget(p, abi::IPC_PRIVATE as i64, SIZE, abi::IPC_CREAT | 0o600).unwrap();
    k.shmat(p, id as i64, 0, 0).unwrap();
    let mut stat = k.shm_stat(id as u32).unwrap();
    stat.cpid = pid;
    stat.lpid = pid;
    stat
}

/// Where the times are in a layout: the bytes not compared.
fn times(layout: ShmLayout) -> std::ops::Range<usize> {
    match layout {
        ShmLayout::Native64 => 56..80,
        ShmLayout::Ipc64x32 => 40..64,
        ShmLayout::Old32 => 20..32,
    }
}

fn compare(name: &str, layout: ShmLayout, host: &[u8], pid: u32, id: u32) {
    let model = model_stat(pid).to_bytes(id, layout);
    assert_eq!(host.len(), model.len(), "{name}: size");
    let t = times(layout);
    assert!(host[t.clone()].iter().any(|&b| b != 0), "{name}: the host's times are set");
    let masked =
        |b: &[u8]| -> Vec<u8> { b.iter().enumerate().map(|(i, &x)| if t.contains(&i) { 0 } else { x }).collect() };
    assert_eq!(masked(host), masked(&model), "{name}: host (above) and model bytes, times left out");
}

#[test]
fn shmctl_ipc_stat_lays_out_its_structure_as_linux_does() {
    let dir = tempfile::tempdir().unwrap();
    let Some((pid, id, dumps)) = host(&[], dir.path()) else { return };
    assert_eq!(dumps.len(), 1);
    compare("x86-64 shmid64_ds", ShmLayout::Native64, &dumps[0].1, pid, id);
    let Some((pid, id, dumps)) = host(&["-m32"], dir.path()) else { return };
    let by_name = |n: &str| &dumps.iter().find(|d| d.0 == n).unwrap_or_else(|| panic!("no {n} line")).1;
    compare("32-bit shmid64_ds (ipc, IPC_64)", ShmLayout::Ipc64x32, by_name("ipc64x32"), pid, id);
    compare("old 32-bit shmid_ds (ipc)", ShmLayout::Old32, by_name("old32"), pid, id);
    compare("32-bit shmid64_ds (direct shmctl)", ShmLayout::Ipc64x32, by_name("direct32"), pid, id);
}
