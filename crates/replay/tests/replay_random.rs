//! Random address-space programs (see `common/randprog.rs`), compiled and recorded on this
//! machine, replayed with zero mismatches: with plain `strace -f` and ASLR on (`--verify`),
//! and as `mmsim record --buffers` records them (ASLR off, every buffer) with `--strict`.
//! `MMSIM_RANDPROG_SEEDS=A..B` runs other seeds (the default set, see [`seeds`], runs on
//! every test run), and `MMSIM_RANDPROG_STEPS=N` makes longer programs.

mod common;

use common::randprog::Features;
use common::{problems, randprog, replay_file, scratch};
use replay::Mode;
use std::path::Path;
use std::process::Command;

/// The seeds of a test run and their steps: `MMSIM_RANDPROG_SEEDS=A..B` (with
/// `MMSIM_RANDPROG_STEPS`, default 40), or a fixed set: seeds 1-12 of 40 steps, and longer
/// seeds that once found a bug (46: read(2) readahead; 47: a write to /dev/null faulting in a
/// page it never reads; 101: readahead; 156: a write from memory the C library wrote;
/// 194: a read into memory without PROT_READ, whose bytes strace could not dump; 82: strace
/// faulting in the first page of a buffer it could not dump whole; 48: a read that failed
/// with EFAULT moving the readahead position; 133: the readahead mark past the end of the
/// file, which fault-around leaves unmapped; 19: a mark left by a page truncation took out
/// of the cache), and six of 250 steps (1420: a write fault on a readahead mark; 1496:
/// MADV_WILLNEED of never-read pages; 1669: a tracer's read pin touching the page it
/// unshares; 3389: a MAP_FIXED mapping assumed written over the start of a neighbour, whose
/// never-written part an mprotect then merged with the neighbour's rest: the write to
/// disprove is found by the VMA it went to, not by its first address; 5050: strace reading
/// a read's buffer back to dump it, which marks a lazily freed page accessed; 5248: pages a
/// MADV_COLD skipped, found again after an mremap moved them).
fn seeds() -> Vec<(u64, u32)> {
    seeds_from("MMSIM_RANDPROG_SEEDS", 40).unwrap_or_else(|| {
        (1..13)
            .map(|s| (s, 40))
            .chain([19, 46, 47, 48, 82, 101, 133, 156, 194].map(|s| (s, 80)))
            .chain([1420, 1496, 1669, 3389, 5050, 5248].map(|s| (s, 250)))
            .collect()
    })
}

/// The seeds `A..B` of environment variable `var`, each of `MMSIM_RANDPROG_STEPS` steps
/// (default `steps`); `None` when it is not set.
fn seeds_from(var: &str, steps: u32) -> Option<Vec<(u64, u32)>> {
    let steps = std::env::var("MMSIM_RANDPROG_STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(steps);
    let text = std::env::var(var).ok()?;
    let (a, b) = text.split_once("..")?;
    let range: std::ops::Range<u64> = a.parse().ok()?..b.parse().ok()?;
    Some(range.map(|s| (s, steps)).collect())
}

/// Writes and builds seed `seed`'s program with `features` in `dir` (with direct stores, or
/// touching memory through system calls only); `None` where gcc is missing.
fn build_with(seed: u64, steps: u32, stores: bool, features: Features, dir: &Path) -> Option<std::path::PathBuf> {
    if !hostreq::need_tools("building random programs", &["gcc"]) {
        return None;
    }
    let name = if stores { format!("rand{seed}") } else { format!("rand{seed}-calls") };
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, randprog::program_with(seed, steps, stores, features)).unwrap();
    let exe = dir.join(name);
    let out = Command::new("gcc").args(["-O1", "-w", "-o"]).arg(&exe).arg(&src).output().unwrap();
    assert!(out.status.success(), "seed {seed}: {}", String::from_utf8_lossy(&out.stderr));
    Some(exe)
}

/// Records `exe` with plain `strace -f` (ASLR as the machine has it) into `out`.
fn record_plain(exe: &Path, out: &Path, dir: &Path) -> bool {
    if !hostreq::need_tools("recording random programs", &["strace"]) {
        return false;
    }
    let status = Command::new("strace").arg("-f").arg("-o").arg(out).arg(exe).current_dir(dir).output().unwrap();
    assert!(status.status.success(), "{}: {}", exe.display(), String::from_utf8_lossy(&status.stderr));
    true
}

#[test]
fn random_programs_replay_clean() {
    replay_clean("programs", &seeds(), Features::default());
}

/// The seeds of the programs with SysV segments: `MMSIM_RANDPROG_SYSV_SEEDS=A..B` (with
/// `MMSIM_RANDPROG_STEPS`, default 60), or seeds 1-6 of 60 steps and longer seeds that once
/// found a bug (26: an mprotect merging an attach's pieces into one VMA, which Linux never
/// does to a VMA with a close hook; 55: a maps read strace cut after lines whose numbers the
/// log never showed; 58: fault-around in an attach, whose faults map one page each).
fn sysv_seeds() -> Vec<(u64, u32)> {
    seeds_from("MMSIM_RANDPROG_SYSV_SEEDS", 60)
        .unwrap_or_else(|| (1..7).map(|s| (s, 60)).chain([26, 55, 58].map(|s| (s, 80))).collect())
}

#[test]
fn random_programs_with_sysv_segments_replay_clean() {
    replay_clean("sysv-programs", &sysv_seeds(), Features { sysv: true });
}

/// Builds, records and replays the program of each of `seeds` (in the scratch directory
/// `group`), and asserts that every log replayed clean.
fn replay_clean(group: &str, seeds: &[(u64, u32)], features: Features) {
    let dir = scratch("replay-random", group);
    let mut failures = Vec::new();
    let mut checks = 0;
    for &(seed, steps) in seeds {
        let Some(exe) = build_with(seed, steps, true, features, &dir) else { return };
        let Some(calls_only) = build_with(seed, steps, false, features, &dir) else { return };
        let plain = dir.join(format!("rand{seed}.trace"));
        if !record_plain(&exe, &plain, &dir) {
            return;
        }
        let name = format!("rand{seed}");
        let flags =
            ["-v", "-s", "1048576", "-e", "raw=read,write,pread64,pwrite64", "-e", "read=all", "-e", "write=all"];
        let Some(strict) = common::record(&format!("{name}-buffers"), &flags, &[calls_only.to_str().unwrap()], &dir)
        else {
            return;
        };
        for (log, mode) in [(&plain, Mode::Verify), (&strict, Mode::Strict)] {
            let r = replay_file(log, mode);
            checks += r.passed;
            let p = problems(&r);
            if !p.is_empty() {
                failures.push(format!("{} ({mode:?}):\n  {}", log.display(), p.join("\n  ")));
            }
        }
    }
    assert!(failures.is_empty(), "{} of the logs did not replay clean:\n{}", failures.len(), failures.join("\n"));
    assert!(checks >= 100 * seeds.len() as u64, "only {checks} checks");
}

/// A plain `strace -f` log (ASLR on, strings cut at 32 bytes) of seed 2503 (250 steps),
/// kept: its last maps read comes in three pieces, and the third begins with a line at the
/// byte offset where the model's text, shorter before it, has the `[stack]` line, with the
/// same permissions. Taken for the stack's line, it bound a stack top outside any draw,
/// and every later placement failed. A line of a cut read now binds only where its size
/// agrees with the model's line too. The program is rebuilt here as the recording built it
/// (the log's execve names it `./rand2503`), in a directory whose path is as long as the
/// recording's (`/work/wt-coord/target/tmp/replay-random/programs`), so that the model's
/// maps text lines up with the log's as it did.
#[test]
fn a_cut_maps_read_whose_piece_lines_up_with_another_line() {
    let recorded = "/work/wt-coord/target/tmp/replay-random/programs";
    let prefix = "/tmp/mmsim-cut-maps-2503-";
    let dir = std::path::PathBuf::from(format!("{prefix}{}", "x".repeat(recorded.len() - prefix.len())));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let Some(_) = build_with(2503, 250, true, Features::default(), &dir) else { return };
    let kept = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/rand2503_cut_maps.trace");
    let trace = dir.join("rand2503.trace");
    std::fs::copy(&kept, &trace).unwrap();
    let report = replay_file(&trace, Mode::Verify);
    let problems = problems(&report);
    assert!(problems.is_empty(), "{}\n{}", report.summary(), problems.join("\n"));
    assert!(report.passed >= 250, "{}", report.summary());
    let _ = std::fs::remove_dir_all(&dir);
}
