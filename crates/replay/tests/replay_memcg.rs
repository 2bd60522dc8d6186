//! Replays of a program that makes a memory cgroup limited to 8 MiB, runs two children in
//! it (one of which its OOM killer ends), reads the group's files and removes it
//! (`progs/cgroup_oom.c`), recorded fresh on this machine as root with its own cgroup
//! interface (v1 or v2): with plain `strace -f -o` (ASLR on, strings cut at 32 bytes), with
//! `-s 4096` (whole texts), and, filling its memory in the kernel (MAP_POPULATE), as `mmsim
//! record --buffers` records, replayed `--strict` so that usage reads are compared too.
//! Every replay must end with zero mismatches, and an edited OOM count, limit or peak must
//! be a mismatch. Failed instead of skipped under `MMSIM_REQUIRE_HOST=1` where memory
//! cgroups cannot be made.

mod common;

use common::{assert_clean, compile, problems, replay_file, scratch};
use replay::{Mode, Report};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The program, built, where this machine has memory cgroups and this process may make
/// them (a failure under MMSIM_REQUIRE_HOST=1 otherwise).
fn program(dir: &Path) -> Option<PathBuf> {
    let what = "recording a program in a memory cgroup";
    let root = if effective_uid() == 0 { Ok(()) } else { Err("not root".to_string()) };
    hostreq::need(what, root)?;
    hostreq::need(
        what,
        hostdiff::host_memcg::machine_version()
            .ok_or_else(|| "no memory cgroup controller on this machine".to_string()),
    )?;
    compile("cgroup_oom", "cgroup_oom.c", &[], dir)
}

/// This process's effective user id, from /proc (no libc call needed).
fn effective_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|u| u.parse().ok())
        .unwrap_or(u32::MAX)
}

/// Runs `exe args` under plain `strace -f <flags> -o DIR/NAME.trace` (ASLR as the machine
/// has it).
fn record_plain(name: &str, flags: &[&str], exe: &Path, args: &[&str], dir: &Path) -> Option<PathBuf> {
    if !hostreq::need_tools(&format!("recording {name}"), &["strace"]) {
        return None;
    }
    let out = dir.join(format!("{name}.trace"));
    let run = Command::new("strace").arg("-f").args(flags).arg("-o").arg(&out).arg("--").arg(exe).args(args).output();
    let run = run.expect("run strace");
    assert!(run.status.success(), "{name}: {}", String::from_utf8_lossy(&run.stderr));
    Some(out)
}

/// A copy of the log at `path` with `from` replaced by `to` in the first read after each
/// open of `file`: must change something.
fn edited(path: &Path, file: &str, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut changed = 0;
    let mut opened = false;
    for line in &mut lines {
        if line.contains(&format!("/{file}\", O_RDONLY")) {
            opened = true;
        } else if opened && line.contains(" read(") {
            opened = false;
            if line.contains(from) {
                *line = line.replacen(from, to, 1);
                changed += 1;
            }
        }
    }
    assert!(changed > 0, "no read of {file} showing {from:?} in {}", path.display());
    let out = path.with_extension(format!("{}.trace", file.replace('.', "_")));
    std::fs::write(&out, lines.join("\n") + "\n").unwrap();
    out
}

/// The files the program reads for the OOM counts, the limit and the peak, by interface.
fn files(r: &Report) -> (&'static str, &'static str, &'static str) {
    if r.bindings.iter().any(|b| b.contains("memory cgroup interface (1: v1, 2: v2) = 1")) {
        ("memory.oom_control", "memory.limit_in_bytes", "memory.max_usage_in_bytes")
    } else {
        ("memory.events", "memory.max", "memory.peak")
    }
}

#[track_caller]
fn assert_mismatch(name: &str, r: &Report, about: &str) {
    let p = problems(r);
    assert!(
        r.failed >= 1 && p.iter().any(|m| m.contains(about)),
        "{name}: expected a mismatch about {about}:\n{}",
        p.join("\n")
    );
}

/// A child writes 32 MiB with memset in a group limited to 8 MiB: the replay writes its
/// memory for it until the model's OOM killer ends it, and the limits and OOM counts read
/// after agree; the usage reads are left unchecked (plain stores decide them).
#[test]
fn a_child_killed_by_its_groups_oom_killer_with_plain_strace() {
    let dir = scratch("replay-memcg", "plain");
    let Some(exe) = program(&dir) else { return };
    let Some(plain) = record_plain("cgroup_oom-plain", &[], &exe, &[], &dir) else { return };
    let r = replay_file(&plain, Mode::Verify);
    assert_clean("cgroup_oom plain --verify", &r, 20);
    assert!(r.bindings.iter().any(|b| b.contains("memory cgroup interface")), "{}", r.bindings.join("\n"));
    assert!(r.unchecked.keys().any(|k| k.contains("memory cgroup usage")), "{:?}", r.unchecked);
    assert!(!r.unchecked.keys().any(|k| k.contains("SIGKILL")), "the kill is the OOM killer's: {:?}", r.unchecked);

    let Some(whole) = record_plain("cgroup_oom-whole", &["-s", "4096"], &exe, &[], &dir) else { return };
    let r = replay_file(&whole, Mode::Verify);
    assert_clean("cgroup_oom -s 4096 --verify", &r, 20);
    let (events, limit, _) = files(&r);
    let r2 = replay_file(&edited(&whole, events, "oom_kill 1", "oom_kill 0"), Mode::Verify);
    assert_mismatch("an OOM kill count edited", &r2, events);
    let r3 = replay_file(&edited(&whole, limit, "8388608", "8392704"), Mode::Verify);
    assert_mismatch("a limit edited", &r3, limit);
}

/// The children fill their memory with MAP_POPULATE: the OOM kill happens inside a call
/// the log shows, and `--strict` compares the usage, the statistics and the peak too.
#[test]
fn a_program_filling_its_memory_in_the_kernel_replays_strict() {
    let dir = scratch("replay-memcg", "strict");
    let Some(exe) = program(&dir) else { return };
    let flags = ["-v", "-s", "1048576", "-e", "raw=read,write,pread64,pwrite64", "-e", "read=all", "-e", "write=all"];
    let out = dir.join("cgroup_oom-strict.trace");
    if !common::strace_unrandomized("cgroup_oom", "-f", &flags, &out, &[exe.to_str().unwrap(), "populate"], &dir) {
        return;
    }
    let r = replay_file(&out, Mode::Strict);
    assert_clean("cgroup_oom populate --strict", &r, 25);
    assert!(!r.unchecked.keys().any(|k| k.contains("memory cgroup usage")), "{:?}", r.unchecked);
    // The usage may count a charge batch of each CPU the program read were online.
    let cpus = hostdiff::compare::online_cpus().expect("this machine's online CPUs");
    let bound = format!("bound CPUs the recording machine's tasks could run on = {cpus} from line");
    assert!(r.bindings.iter().any(|b| b.starts_with(&bound)), "{:?}", r.bindings);
    let (_, _, peak) = files(&r);
    // The peak read's bytes are in the dump line after it: edit the hex of "8388608".
    let text = std::fs::read_to_string(&out).unwrap();
    let hex = " 38 33 38 38 36 30 38 ";
    assert!(text.contains(hex), "no dump of 8388608 in {}", out.display());
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(&format!("/{peak}\", O_RDONLY")))
        .and_then(|i| (i..lines.len()).find(|&j| lines[j].contains(hex)))
        .expect("the peak read's dump");
    let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    edited[at] = edited[at].replacen(hex, " 34 31 39 34 33 30 34 ", 1);
    let halved = dir.join("cgroup_oom-strict-peak.trace");
    std::fs::write(&halved, edited.join("\n") + "\n").unwrap();
    assert_mismatch("a peak edited to 4194304", &replay_file(&halved, Mode::Strict), peak);
}

/// A shell makes a group limited to 32 MiB, moves itself in (its own pid, as the trace
/// numbers it, written to cgroup.procs), runs python3 making a 64 MiB bytearray there (the
/// group's OOM killer ends python), reads the OOM counts, moves itself back to the root
/// group (a group out of the trace's sight) and removes the group. On the way it sets and
/// reads a setting the model keeps at its default (v1 `memory.soft_limit_in_bytes`, v2
/// `memory.oom.group`): not checked; and (v1) the group's `memory.swappiness`, which the
/// model keeps: checked.
#[test]
fn a_shell_moving_itself_into_a_group_where_python_is_oom_killed() {
    let dir = scratch("replay-memcg", "shell");
    if program(&dir).is_none() || !hostreq::need_tools("recording python3 in a memory cgroup", &["python3"]) {
        return;
    }
    let v1 = hostdiff::host_memcg::machine_version() == Some(mm::memcg::CgroupVersion::V1);
    let (mount, limits, events, setting) = if v1 {
        (
            "/sys/fs/cgroup/memory",
            ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"],
            "memory.oom_control",
            "memory.soft_limit_in_bytes",
        )
    } else {
        ("/sys/fs/cgroup", ["memory.max", "memory.swap.max"], "memory.events", "memory.oom.group")
    };
    let g = format!("{mount}/mmsim-replay-shell-{}", std::process::id());
    let swap_limit = if v1 { "32M" } else { "0" };
    let swappiness =
        if v1 { format!("echo 0x3c > {g}/memory.swappiness; cat {g}/memory.swappiness; ") } else { String::new() };
    let script = format!(
        "mkdir {g}; echo 32M > {g}/{}; echo {swap_limit} > {g}/{}; echo 1 > {g}/{setting}; cat {g}/{setting}; \
         {swappiness}echo $$ > {g}/cgroup.procs; \
         python3 -c 'x = bytearray(64 << 20)'; cat {g}/{events}; echo $$ > {mount}/cgroup.procs; rmdir {g}",
        limits[0], limits[1]
    );
    let Some(trace) = record_plain("shell-python", &["-s", "256"], Path::new("/bin/sh"), &["-c", &script], &dir) else {
        return;
    };
    let r = replay_file(&trace, Mode::Verify);
    let _ = std::fs::remove_dir(&g);
    assert_clean("a shell running python3 in a memory cgroup", &r, 200);
    assert!(!r.unchecked.keys().any(|k| k.contains("SIGKILL")), "the kill is the OOM killer's: {:?}", r.unchecked);
    assert!(r.unchecked.keys().any(|k| k.contains("keeps at their default")), "{:?}", r.unchecked);
    let r2 = replay_file(&edited(&trace, events, "oom_kill 1", "oom_kill 2"), Mode::Verify);
    assert_mismatch("an OOM kill count edited", &r2, events);
    if v1 {
        // The swappiness the shell wrote (0x3c) is read back as 60, and checked.
        let r3 = replay_file(&edited(&trace, "memory.swappiness", "\"60\\n\"", "\"61\\n\""), Mode::Verify);
        assert_mismatch("a swappiness edited", &r3, "memory.swappiness");
    }
}

/// A trace of the golden set `scripts/cgroup-v2-traces.sh` recorded with `mmsim record`
/// inside Debian's Linux 6.1 booted under QEMU with memory cgroup v2, replayed with the
/// bundle of its files (as `mmsim replay` uses the one beside a trace).
fn replay_golden_v2(name: &str, mode: Mode) -> Report {
    replay_bundled(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/cgroup-v2").join(name), mode)
}

/// Replays the trace at `trace` with the bundle beside it.
fn replay_bundled(trace: &Path, mode: Mode) -> Report {
    let bundle = replay::Bundle::read(&replay::bundle_path(trace)).expect("the bundle beside the trace");
    let cwd = bundle.cwd().map(PathBuf::from);
    let files = std::sync::Arc::new(replay::Files::host().with_bundle(bundle, false));
    let ids = replay::Identities::collect(std::io::BufReader::new(std::fs::File::open(trace).unwrap()));
    let opts = replay::Options { mode, keep_going: false, cwd, threads_unordered: false };
    let open = || std::fs::File::open(trace).map(std::io::BufReader::new);
    replay::replay_with(open, ids, opts, files, |_| {})
}

/// cgroup v2 as a machine with v1 cannot record it: the groups, limits (`memory.max`,
/// `memory.swap.max`), a pid written to `cgroup.procs`, `memory.events`, `memory.peak`,
/// `memory.current` and `memory.stat` read back, an OOM kill, and a setting the model does
/// not keep (`memory.oom.group`). The recording kernel (6.1) places large anonymous
/// mappings unaligned, which the replay learns from the first one.
#[test]
fn cgroup_v2_traces_recorded_under_qemu_replay_clean() {
    for (name, mode, checks) in
        [("oom.trace", Mode::Verify, 20), ("populate.trace", Mode::Strict, 25), ("shell.trace", Mode::Verify, 40)]
    {
        let r = replay_golden_v2(name, mode);
        assert_clean(name, &r, checks);
        let bound = r.bindings.join("\n");
        assert!(bound.contains("memory cgroup interface (1: v1, 2: v2) = 2"), "{name}: {bound}");
        assert!(bound.contains("large mappings placed 2 MiB-aligned"), "{name}: {bound}");
        assert!(!r.unchecked.keys().any(|k| k.contains("SIGKILL")), "{name}: {:?}", r.unchecked);
    }
    // The same log with the OOM kill count it read edited, beside the same bundle.
    let dir = scratch("replay-memcg", "golden-v2");
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/cgroup-v2");
    std::fs::copy(golden.join("oom.trace"), dir.join("oom.trace")).unwrap();
    let changed = edited(&dir.join("oom.trace"), "memory.events", "oom_kill 1", "oom_kill 0");
    std::fs::copy(golden.join("oom.trace.files"), replay::bundle_path(&changed)).unwrap();
    assert_mismatch("an OOM kill count edited (v2)", &replay_bundled(&changed, Mode::Verify), "memory.events");
}
