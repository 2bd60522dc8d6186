//! Replays of programs paging their memory to swap and back, recorded fresh on this
//! machine with a swap file active (made here and removed after each recording; see
//! `hostdiff::swapfile`, whose lock keeps other host runs apart from it). Each program is
//! recorded as `mmsim record --buffers` records (replayed `--strict`) and with plain
//! `strace -f -o` (ASLR on, strings cut at 32 bytes; replayed `--verify`). Every replay must
//! end with zero mismatches, learning the machine's swap from the reads that show it.
//! Failed instead of skipped under `MMSIM_REQUIRE_HOST=1` where swap cannot be made.

mod common;

use common::{assert_clean, compile, replay_file, scratch};
use hostdiff::swapfile::HostSwap;
use replay::{Mode, Report};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// One swap file at a time in this process (the lock file allows one per machine).
static SWAP: Mutex<()> = Mutex::new(());

/// Records `cmd` twice while a 64 MiB swap file is active: under `setarch -R strace -f -v -s
/// 1048576` with the buffers of reads and writes (as `mmsim record --buffers`), and under
/// plain `strace -f -o`; `None`, with the note `hostreq` gives, where that cannot run.
///
/// Both run on one CPU (`taskset -c 0`). MADV_PAGEOUT takes only pages on an LRU list, and
/// drains only its own CPU's batch of pages not yet there: a page faulted in just before,
/// on another CPU, stays resident (seen once in CI, under load: one page of 16 left in).
/// The replay learns such a skip from the smaps read that shows it (`pageout.rs`), but
/// these tests check the whole round trip of every page, so the batch drained must always
/// be the right one: on one CPU it is.
fn record_with_swap(name: &str, cmd: &[&str], dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let tools = ["strace", "setarch", "taskset", "mkswap", "swapon", "swapoff"];
    if !hostreq::need_tools(&format!("recording {name}"), &tools) {
        return None;
    }
    let _one = SWAP.lock().unwrap_or_else(|e| e.into_inner());
    let _swap = hostreq::need(&format!("recording {name} with swap"), HostSwap::new(64 << 20))?;
    let flags = ["-v", "-s", "1048576", "-e", "raw=read,write,pread64,pwrite64", "-e", "read=all", "-e", "write=all"];
    let one_cpu = ["taskset", "-c", "0"];
    let strict = dir.join(format!("{name}-buffers.trace"));
    common::strace_unrandomized_under(&one_cpu, name, "-f", &flags, &strict, cmd, dir).then_some(())?;
    let plain = dir.join(format!("{name}-plain.trace"));
    let mut strace = Command::new("taskset");
    strace.args(["-c", "0", "strace", "-f", "-o"]).arg(&plain).arg("--").args(cmd).current_dir(dir);
    let out = strace.output().expect("run strace");
    assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    Some((strict, plain))
}

/// The bindings of a replay, one a line.
fn bindings(r: &Report) -> String {
    r.bindings.join("\n")
}

/// Private anonymous and shmem pages out with MADV_PAGEOUT and back through system calls,
/// a fork after the swap-out; the program reads /proc/swaps and /proc/meminfo, so the
/// replay learns the swap's size from them.
#[test]
fn pages_to_swap_and_back_with_the_swap_shown() {
    let dir = scratch("replay-swap", "pages_to_swap_and_back_with_the_swap_shown");
    let Some(exe) = compile("swap_roundtrip", "swap_roundtrip.c", &[], &dir) else { return };
    let Some((strict, plain)) = record_with_swap("swap_roundtrip", &[exe.to_str().unwrap()], &dir) else { return };
    let r = replay_file(&strict, Mode::Strict);
    assert_clean("swap_roundtrip --strict", &r, 120);
    assert!(bindings(&r).contains("SwapTotal in /proc/meminfo (bytes) = 67"), "{}", bindings(&r));
    assert!(bindings(&r).contains("bound the inode of shared memory object"), "{}", bindings(&r));
    assert_clean("swap_roundtrip --verify", &replay_file(&plain, Mode::Verify), 25);
}

/// The same program reading neither /proc/swaps nor /proc/meminfo: the replay learns that
/// the machine swaps from the first smaps read showing swapped pages.
#[test]
fn pages_to_swap_and_back_learning_the_swap_from_smaps() {
    let dir = scratch("replay-swap", "pages_to_swap_and_back_learning_the_swap_from_smaps");
    let Some(exe) = compile("swap_roundtrip", "swap_roundtrip.c", &[], &dir) else { return };
    let Some((strict, plain)) = record_with_swap("swap_quiet", &[exe.to_str().unwrap(), "quiet"], &dir) else {
        return;
    };
    let r = replay_file(&strict, Mode::Strict);
    assert_clean("swap_roundtrip quiet --strict", &r, 120);
    assert!(bindings(&r).contains("bound swap in use (a read shows swapped pages"), "{}", bindings(&r));
    assert_clean("swap_roundtrip quiet --verify", &replay_file(&plain, Mode::Verify), 25);
}

/// SysV segments under MADV_PAGEOUT (tests/progs/sysv_swap.c): one SHM_LOCKed keeps its
/// pages, the other's go to swap, and the first's go too once unlocked; mincore and smaps
/// show where each page is, and the bytes come back through system calls.
#[test]
fn sysv_segments_locked_and_not_under_pageout() {
    let dir = scratch("replay-swap", "sysv_segments_locked_and_not_under_pageout");
    let Some(exe) = compile("sysv_swap", "sysv_swap.c", &[], &dir) else { return };
    let Some((strict, plain)) = record_with_swap("sysv_swap", &[exe.to_str().unwrap()], &dir) else { return };
    let r = replay_file(&strict, Mode::Strict);
    assert_clean("sysv_swap --strict", &r, 70);
    assert!(bindings(&r).contains("bound swap in use"), "{}", bindings(&r));
    assert_clean("sysv_swap --verify", &replay_file(&plain, Mode::Verify), 30);
}
