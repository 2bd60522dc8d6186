//! SysV shared memory (shmget, shmat, shmdt, shmctl) of a real program
//! (`tests/progs/sysv_shm.c`) recorded on this machine's kernel and replayed: with address
//! randomization on and plain `strace -f` (as a user records), strict with every buffer
//! (contents and smaps residency), in 32 bits, and edited logs whose attach address, segment
//! identifier or attach count no kernel would have given.

mod common;

use common::{assert_clean, compile, replay_file, scratch};
use replay::{Mode, Report};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `exe` in `dir` under `strace -f <flags> -o DIR/NAME.trace` (address randomization
/// as the machine has it); returns the trace.
fn record_plain(name: &str, exe: &Path, flags: &[&str], dir: &Path) -> Option<PathBuf> {
    if !hostreq::need_tools(name, &["strace"]) {
        return None;
    }
    let out = dir.join(format!("{name}.trace"));
    let run = Command::new("strace").arg("-f").args(flags).arg("-o").arg(&out).arg(exe).current_dir(dir).output();
    let run = run.expect("run strace");
    assert!(run.status.success(), "{name}: {}", String::from_utf8_lossy(&run.stderr));
    Some(out)
}

/// Records `exe` as `mmsim record --buffers` does (no randomization, every buffer dumped).
fn record_strict(name: &str, exe: &Path, dir: &Path) -> Option<PathBuf> {
    let flags = ["-v", "-s", "1048576", "-e", "raw=read,write,pread64,pwrite64", "-e", "read=all", "-e", "write=all"];
    common::record(name, &flags, &[exe.to_str().unwrap()], dir)
}

/// How many of the log's lines are calls named `call`.
fn calls(log: &str, call: &str) -> usize {
    log.lines().filter(|l| l.split_once(' ').is_some_and(|(_, rest)| rest.trim_start().starts_with(call))).count()
}

#[test]
fn segments_replay_clean_with_address_randomization() {
    let dir = scratch("replay-sysv-shm", "aslr");
    let Some(exe) = compile("sysv_shm", "sysv_shm.c", &[], &dir) else { return };
    for (name, flags) in [("plain", &["-s", "65536"][..]), ("cut", &[][..])] {
        let Some(t) = record_plain(name, &exe, flags, &dir) else { return };
        let log = std::fs::read_to_string(&t).unwrap();
        assert!(calls(&log, "shmat(") >= 15 && calls(&log, "shmdt(") >= 10, "{log}");
        let r = replay_file(&t, Mode::Verify);
        assert_clean(name, &r, 75);
        assert!(r.bindings.iter().any(|b| b.contains("SysV segment identifier allocator")), "{name}: {:?}", r.bindings);
        // The segments' identities are checked, never learned.
        assert!(!r.bindings.iter().any(|b| b.contains("/SYSV")), "{name}: {:?}", r.bindings);
    }
}

#[test]
fn segments_replay_clean_strict() {
    let dir = scratch("replay-sysv-shm", "strict");
    let Some(exe) = compile("sysv_shm", "sysv_shm.c", &[], &dir) else { return };
    let Some(t) = record_strict("sysv_shm", &exe, &dir) else { return };
    assert_clean("strict", &replay_file(&t, Mode::Strict), 85);
}

#[test]
fn segments_of_a_32_bit_program_replay_clean_strict() {
    let dir = scratch("replay-sysv-shm", "ia32");
    if hostreq::need("building sysv_shm with gcc -m32", hostreq::check_gcc_m32()).is_none() {
        return;
    }
    let Some(exe) = compile("sysv_shm32", "sysv_shm.c", &["-m32"], &dir) else { return };
    let Some(t) = record_strict("sysv_shm32", &exe, &dir) else { return };
    let log = std::fs::read_to_string(&t).unwrap();
    // The C library asks for the 64-bit structure layouts.
    assert!(log.contains("IPC_64|IPC_STAT"), "{log}");
    assert_clean("strict, 32 bits", &replay_file(&t, Mode::Strict), 85);
}

/// Replays `log` written to `DIR/NAME.trace`.
fn replay_text(name: &str, log: &str, dir: &Path) -> Report {
    let path = dir.join(format!("{name}.trace"));
    std::fs::write(&path, log).unwrap();
    replay_file(&path, Mode::Verify)
}

/// The line of the log holding `what`, counted from 1.
fn line_of(log: &str, what: &str) -> u64 {
    log.lines().position(|l| l.contains(what)).expect("the edited line") as u64 + 1
}

/// The number after `= ` at the end of a line.
fn result(line: &str) -> u64 {
    let r = line.rsplit("= ").next().unwrap().trim();
    r.strip_prefix("0x").map_or_else(|| r.parse().unwrap(), |h| u64::from_str_radix(h, 16).unwrap())
}

#[test]
fn what_no_kernel_would_have_given_is_a_mismatch() {
    let dir = scratch("replay-sysv-shm", "edited");
    let Some(exe) = compile("sysv_shm", "sysv_shm.c", &[], &dir) else { return };
    let Some(t) = record_plain("recorded", &exe, &["-s", "65536"], &dir) else { return };
    let log = std::fs::read_to_string(&t).unwrap();
    assert_clean("recorded", &replay_file(&t, Mode::Verify), 75);

    // The first attach one page lower than the kernel put it.
    let first = log.lines().find(|l| l.contains("shmat(") && l.contains(", NULL, 0)")).unwrap();
    let moved = first.replace(&format!("{:#x}", result(first)), &format!("{:#x}", result(first) - 0x1000));
    let r = replay_text("moved", &log.replacen(first, &moved, 1), &dir);
    assert!(r.mismatches.iter().any(|m| m.line == line_of(&log, first) && m.call == "shmat"), "{}", r.summary());

    // A later segment with an identifier the allocator had passed.
    let gets: Vec<&str> = log.lines().filter(|l| l.contains("shmget(") && !l.contains("= -1")).collect();
    // Other processes (and the other tests of this binary) make segments too: b follows a
    // directly, or was already taken further on.
    let (a, b) = (result(gets[0]), result(gets[1]));
    let moved =
        |r: &Report| r.unchecked.iter().find(|(k, _)| k.contains("SysV segment identifiers")).map_or(0, |(_, n)| *n);
    let before = moved(&replay_file(&t, Mode::Verify));
    let renumber = |log: &str, from: u64, to: u64| {
        let lines: Vec<String> = log
            .lines()
            .map(|l| match l.rsplit_once("= ") {
                Some((head, r)) if l.contains("shmget(") && r == from.to_string() => format!("{head}= {to}"),
                _ => l.to_string(),
            })
            .collect();
        (lines.join("\n") + "\n")
            .replace(&format!("shmat({from}, "), &format!("shmat({to}, "))
            .replace(&format!("shmctl({from}, "), &format!("shmctl({to}, "))
            .replace(&format!(" 00:01 {from} "), &format!(" 00:01 {to} "))
    };
    // Segment b numbered below segment a: its shmget line is a mismatch, nothing else.
    let back = renumber(&log, b, a.wrapping_sub(1));
    let r = replay_text("back", &back, &dir);
    assert!(r.mismatches.iter().any(|m| m.call == "shmget identifier"), "{}", r.summary());
    assert_eq!(r.failed, 1, "{}", r.summary());
    // Segment b and those made after it numbered further on, as if other processes took
    // identifiers before b: b's is not checkable, and nothing differs.
    // (Every later segment moves with them, as the allocator would have given them.)
    let mut later: Vec<u64> = gets.iter().map(|l| result(l)).filter(|&id| id >= b).collect();
    later.sort_unstable();
    later.dedup();
    let on = later.iter().rev().fold(log.clone(), |text, &id| renumber(&text, id, id + 7));
    let r = replay_text("on", &on, &dir);
    assert_clean("identifiers taken by others", &r, 75);
    // (Where the allocator's pass over its slots ends depends on how many segments the whole
    // machine has, so whether c's is predicted from b's is not certain: at least b's moved.)
    assert!(moved(&r) >= before.max(1), "{}", r.summary());

    // IPC_STAT counting one attach fewer than the VMAs mapping the segment.
    let stat = log.lines().find(|l| l.contains("IPC_STAT")).unwrap();
    let n: u64 = stat.split("shm_nattch=").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
    let fewer = stat.replace(&format!("shm_nattch={n},"), &format!("shm_nattch={},", n - 1));
    let r = replay_text("nattch", &log.replacen(stat, &fewer, 1), &dir);
    assert!(r.mismatches.iter().any(|m| m.call.contains("shm_nattch")), "{}", r.summary());
    assert_eq!(r.failed, 1, "{}", r.summary());
}

/// The same program recorded in other strace modes: `-X verbose` (numbers with the names of
/// their bits in comments, `0x600 /* IPC_CREAT|IPC_EXCL */|0600`) and filters that hide the
/// forks, the mprotects that cut attaches, or the shmget calls that made the segments. What
/// the hidden calls decide is not checkable; nothing is a mismatch.
#[test]
fn segments_replay_clean_in_other_modes() {
    let dir = scratch("replay-sysv-shm", "modes");
    let Some(exe) = compile("sysv_shm", "sysv_shm.c", &[], &dir) else { return };
    let modes: [(&str, &[&str], u64); 4] = [
        ("verbose", &["-X", "verbose", "-s", "65536"], 75),
        ("ipc", &["-e", "trace=ipc"], 30),
        ("memory-ipc", &["-e", "trace=memory,ipc", "-s", "65536"], 40),
        ("attach-detach", &["-e", "trace=shmat,shmdt"], 5),
    ];
    for (name, flags, min_checks) in modes {
        let Some(t) = record_plain(name, &exe, flags, &dir) else { return };
        assert_clean(name, &replay_file(&t, Mode::Verify), min_checks);
    }
}

/// `/proc/sysvipc/shm` (what `ipcs -m` reads), asked of the kernel and of the model after the
/// same calls (tests/progs/sysvipc_list.c): every column but the ones that differ between
/// any two runs (identifier, pids, times) the same.
#[test]
fn the_sysvipc_shm_lines_are_the_kernels() {
    let dir = scratch("replay-sysv-shm", "sysvipc");
    let Some(exe) = compile("sysvipc_list", "sysvipc_list.c", &[], &dir) else { return };
    let out = Command::new(&exe).output().expect("run sysvipc_list");
    assert!(out.status.success());
    let host = String::from_utf8(out.stdout).unwrap();
    // The same calls on the model.
    let mut k = mm::Kernel::new(mm::Config::default());
    let pid = k.spawn_empty("sysvipc_list").expect("spawn");
    let a = k.shmget(pid, 0, 10000, abi::IPC_CREAT | 0o640).expect("shmget");
    let key = i64::from(
        host.lines().find(|l| l.starts_with("k ")).expect("the keyed segment's line")[2..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse::<i32>()
            .unwrap(),
    );
    let keyed = k.shmget(pid, key, 5000, abi::IPC_CREAT | 0o600).expect("shmget");
    let at = k.shmat(pid, a as i64, 0, 0).expect("shmat");
    k.store(pid, at, &[1]).expect("store");
    k.store(pid, at + 5000, &[2]).expect("store");
    let text = procfs::sysvipc_shm(&k);
    // key, shmid, perms, size, cpid, lpid, nattch, uid, gid, cuid, cgid, atime, dtime, ctime,
    // rss, swap: the identifier, pids and times are left out.
    let kept = |line: &str| -> Vec<String> {
        line.split_whitespace()
            .enumerate()
            .filter(|(i, _)| ![1, 4, 5, 11, 12, 13].contains(i))
            .map(|(_, w)| w.to_string())
            .collect()
    };
    let model_line = |id: u64| text.lines().find(|l| l.split_whitespace().nth(1) == Some(&id.to_string())).unwrap();
    for (name, id) in [("a", a), ("k", keyed)] {
        let host_line = host.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap()[2..].to_string();
        assert_eq!(kept(model_line(id)), kept(&host_line), "{name}:\n{host_line}\n{}", model_line(id));
    }
    assert!(text.starts_with(procfs::SYSVIPC_SHM_HEADER));
}
