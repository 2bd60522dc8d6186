//! The `mmsim` command as a user runs it: exit statuses, where messages go, and their form.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn mmsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mmsim"))
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// Writes a scenario to a scratch file and returns its path.
fn scenario(name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn run_an_example() {
    let o = mmsim().arg("run").arg(examples().join("fork-cow.mm")).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("process A: pid 1000, /usr/bin/A\n"), "{out}");
    assert!(out.contains("A: fork() = 1001 (B)\n"), "{out}");
    assert!(out.contains("COW copy"), "{out}");
    assert_eq!(stderr(&o), "");
}

#[test]
fn quiet_prints_nothing_when_all_is_well() {
    let o = mmsim().args(["run", "--quiet", "--paranoid"]).arg(examples().join("mprotect.mm")).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    assert_eq!(stderr(&o), "");
}

#[test]
fn a_failing_expect_names_its_line_and_exits_1() {
    let path = scenario("failing.mm", "process A\n# a comment\nexpect vmas(A) == 1\nmaps\nexpect errno == 0\n");
    let o = mmsim().arg("run").arg(&path).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let file = path.display().to_string();
    assert!(err.starts_with(&format!("{file}:3: expect failed: vmas(A) == 1 (got 9)\n")), "{err}");
    assert!(err.contains(&format!("{file}: 1 expects passed, 1 failed")), "{err}");
    // The run went on after the failure.
    assert!(stdout(&o).contains("[vsyscall]"), "{}", stdout(&o));
}

#[test]
fn a_syntax_error_exits_2_with_file_line_col() {
    let path = scenario("syntax.mm", "process A\nmaps\np = mmap(NULL, 4K\n");
    let o = mmsim().arg("run").arg(&path).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    let want = format!("{}:3:18: error: expected `,` or `)`, found end of line\n", path.display());
    assert!(err.starts_with(&want), "{err}");
    // Nothing ran: the whole file is checked first.
    assert_eq!(stdout(&o), "");
}

#[test]
fn a_runtime_error_stops_the_run_with_status_2() {
    let path = scenario("runtime.mm", "process A\nmaps B\nmaps\n");
    let o = mmsim().arg("run").arg(&path).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.starts_with(&format!("{}:2:6: error: unknown process `B`\n", path.display())), "{err}");
    assert!(!stdout(&o).contains("[vsyscall]"), "the run should have stopped at line 2");
}

#[test]
fn a_missing_file_is_an_error() {
    let o = mmsim().args(["run", "/nonexistent/x.mm"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read /nonexistent/x.mm"), "{}", stderr(&o));
}

#[test]
fn tour_lists_and_runs_the_lessons() {
    let o = mmsim().args(["tour", "--list"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let list = stdout(&o);
    for name in ["segments", "fork-cow", "four-mmaps", "munmap-split", "mprotect", "demand-paging", "zero-page"] {
        assert!(list.contains(name), "{name} missing from {list}");
    }
    let o = mmsim().args(["tour", "zero-page"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("=== zero-page (examples/zero-page.mm) ===\n# The zero page"), "{}", stdout(&o));
    let o = mmsim().args(["tour", "nosuch"]).output().unwrap();
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("no lesson called `nosuch`"), "{}", stderr(&o));
}

#[test]
fn the_whole_tour_passes() {
    let o = mmsim().args(["tour", "--quiet"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
}

#[test]
fn the_repl_reports_errors_and_goes_on() {
    let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join("repl-home");
    std::fs::create_dir_all(&home).unwrap();
    let mut child = mmsim()
        .arg("repl")
        .env("HOME", &home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"process A\nbogus 1\nexpect vmas(A) == 9\nexpect vmas(A) == 1\nmaps\nquit\n").unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("error: unknown statement `bogus`"), "{out}");
    assert!(out.contains("ok\n"), "{out}");
    assert!(out.contains("repl:4: expect failed: vmas(A) == 1 (got 9)"), "{out}");
    assert!(out.contains("[vsyscall]"), "the session went on after the error: {out}");
}

/// Whether this machine can run scenarios on its own kernel (Linux x86-64 with the C child);
/// otherwise a note, or under `MMSIM_REQUIRE_HOST=1` a failure with the reason.
#[track_caller]
fn host_supported() -> bool {
    hostreq::need("`mmsim check` on the host", hostdiff::support()).is_some()
}

#[test]
fn check_runs_a_scenario_on_the_host_and_the_model() {
    if !host_supported() {
        return;
    }
    let o = mmsim().arg("check").arg(examples().join("check/basics.mm")).output().unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.ends_with("34 steps, 0 differences\n"), "{out}");
    assert!(out.contains("basics.mm:8: [same] p0 Mmap"), "{out}");
}

/// Truncation into a large page-cache folio unmaps the folio's pages below the new end
/// (examples/check/truncate.mm): host and model agree step by step, and the model's smaps
/// shows the mapped page gone after the truncation.
#[test]
fn check_a_truncation_that_splits_a_large_folio() {
    let o = mmsim().arg("run").arg(examples().join("check/truncate.mm")).output().unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    // The Rss of the file's mapping in each smaps: one page, none, then the fault-around
    // of a new fault (the host shows the same, below).
    let mut rss = Vec::new();
    let mut in_file = false;
    for l in out.lines() {
        if l.contains(" r--p ") && l.contains("-") {
            in_file = l.ends_with(" big");
        } else if in_file && l.starts_with("Rss:") {
            rss.push(l.split_whitespace().nth(1).unwrap_or("").to_string());
            in_file = false;
        }
    }
    assert_eq!(rss, ["4", "0", "16"], "{out}");
    if !host_supported() {
        return;
    }
    let o = mmsim().arg("check").arg(examples().join("check/truncate.mm")).output().unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.ends_with("7 steps, 0 differences\n"), "{out}");
}

/// Swap mid-run (examples/check/swap.mm): the host side makes a real swap file, the steps
/// activate it, page out to it, fork, swap in and deactivate it, and the model agrees on
/// every step (smaps' Swap lines, mincore, /proc/swaps with its Used column).
#[test]
fn check_runs_swap_statements_on_the_host() {
    if !host_supported() {
        return;
    }
    if !rustix::process::geteuid().is_root() {
        hostreq::skip("`mmsim check` with swap files", "making a swap file active needs root");
        return;
    }
    let o = mmsim().arg("check").arg(examples().join("check/swap.mm")).output().unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.ends_with("21 steps, 0 differences\n"), "{out}");
    assert!(out.contains("swap.mm:12: [same] p0 Swapon"), "{out}");
}

/// Memory cgroups in `mmsim check` (examples/check/cgroup.mm, or cgroup-v1.mm on a machine
/// with the v1 interface): the host side makes the group, a forked child joins it and is
/// OOM-killed in its store on both sides, and the parent's reads of the group's files agree.
#[test]
fn check_runs_cgroup_statements_on_the_host() {
    if !host_supported() {
        return;
    }
    if !rustix::process::geteuid().is_root() {
        hostreq::skip("`mmsim check` with memory cgroups", "making a memory cgroup needs root");
        return;
    }
    let example = match hostdiff::host_memcg::machine_version() {
        Some(mm::memcg::CgroupVersion::V1) => "check/cgroup-v1.mm",
        Some(mm::memcg::CgroupVersion::V2) => "check/cgroup.mm",
        None => {
            hostreq::skip("`mmsim check` with memory cgroups", "this machine has no memory cgroup controller");
            return;
        }
    };
    let child = mmsim()
        .arg("check")
        .arg(examples().join(example))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let o = child.wait_with_output().unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.ends_with("11 steps, 0 differences\n"), "{out}");
    assert!(out.contains("[same] p1 Store") && out.contains("-> host killed by signal 9"), "{out}");
    // The groups are gone afterwards.
    let mount = if example.ends_with("v1.mm") { "/sys/fs/cgroup/memory" } else { "/sys/fs/cgroup" };
    let left: Vec<_> = std::fs::read_dir(mount)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&format!("mmsim-run-{pid}-")))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// `/proc/self/oom_score_adj` written and read, and `oom_score` read, on both sides: the
/// model takes the host's capabilities, so a write below the floor agrees whether or not
/// this machine's root holds CAP_SYS_RESOURCE.
#[test]
fn check_runs_oom_score_adj_on_the_host() {
    if !host_supported() {
        return;
    }
    let path = scenario(
        "adj.mm",
        "process A\ncat \"/proc/self/oom_score\"\necho 500 > \"/proc/self/oom_score_adj\"\n\
         cat \"/proc/self/oom_score_adj\"\necho -1 > \"/proc/self/oom_score_adj\"\necho 1001 > \"/proc/self/oom_score_adj\"\n\
         cat \"/proc/self/oom_score\"\n",
    );
    let o = mmsim().arg("check").arg(&path).output().unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.ends_with("6 steps, 0 differences\n"), "{out}");
    assert!(out.contains("ProcWrite { file: \"oom_score_adj\", value: \"1001\" } -> host -1 EINVAL"), "{out}");
}

#[test]
fn check_refuses_cgroup_files_of_groups_it_did_not_make() {
    let path =
        scenario("foreign-group.mm", "process A\nmkdir \"/sys/fs/cgroup/a\"\ncat \"/sys/fs/cgroup/b/memory.max\"\n");
    let o = mmsim().arg("check").arg(&path).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("foreign-group.mm:3: cannot check: the cgroup `b`, which the scenario did not make"),
        "{}",
        stderr(&o)
    );
    let path = scenario("proc-echo.mm", "process A\ncat \"/proc/meminfo\"\n");
    let o = mmsim().arg("check").arg(&path).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("proc-echo.mm:2: cannot check: a file by path other than a memory cgroup's"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn check_reports_what_it_cannot_run_on_the_host() {
    let path = scenario("uncheckable.mm", "process A\np = mmap(NULL, 4K, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nq = mmap(NULL, 4K, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nmunmap(p, 4K)\nmunmap(p + q, 4K)\n");
    let o = mmsim().arg("check").arg(&path).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("uncheckable.mm:5: cannot check: arithmetic on call results"), "{}", stderr(&o));
}

#[test]
fn check_random_scripts_agree() {
    if !host_supported() {
        return;
    }
    let o = mmsim().args(["check", "--random", "10", "--seed", "500"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).ends_with("10 random scripts (") || stdout(&o).contains("0 with differences"), "{}", stdout(&o));
}

/// `mmsim check --random N --swap`: the random scripts with swap files (as root), the
/// seeds 314 and 550 among them (devices of one priority in turn; a file's holes reused).
#[test]
fn check_random_scripts_with_swap_agree() {
    if !host_supported() {
        return;
    }
    let o = mmsim().args(["check", "--random", "8", "--seed", "311", "--swap"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("8 random scripts with swap ("), "{}", stdout(&o));
    assert!(stdout(&o).contains(", 0 with differences"), "{}", stdout(&o));
    let o = mmsim().args(["check", "--random", "2", "--seed", "548", "--swap"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = mmsim().args(["check", "--swap", "x.mm"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "--swap without --random: {}", stderr(&o));
}

/// `mmsim replay` takes the `-o` prefix of `strace -ff`, or its files, and merges them.
#[test]
fn replay_merges_the_files_of_strace_ff() {
    if !hostreq::need_tools("recording with strace -ff", &["strace", "setarch"]) {
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-tests/ff");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let prefix = dir.join("sh.trace");
    let o = Command::new("setarch")
        .args(["x86_64", "-R", "strace", "-ff", "-o"])
        .arg(&prefix)
        .args(["sh", "-c", "cat /proc/self/maps; cat /proc/self/maps"])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 3);
    for args in [vec![prefix.clone()], files] {
        let o = mmsim().args(["replay", "--verify", "--cwd"]).arg(&dir).args(&args).output().unwrap();
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
        assert!(out.ends_with(" passed, 0 failed\n") && !out.ends_with("\n0 passed, 0 failed\n"), "{out}");
        assert!(stderr(&o).contains("merged 3 per-process files"), "{}", stderr(&o));
    }
}

/// Files that are not scenarios and arguments out of range are errors with a reason (exit
/// status 2), never a hang on a device or a FIFO, nor an overflow.
#[test]
fn bad_files_and_arguments_are_errors() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo.mm");
    let _ = std::fs::remove_file(&fifo);
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let fifo = fifo.display().to_string();
    let endless = "mmsim: error: cannot replay /dev/zero: not a regular file, and more than 64 MiB came out of it \
                   (save the trace to a file first)\n";
    let cases: [(&[&str], String); 8] = [
        (&["run", "/dev/zero"], "mmsim: error: cannot read /dev/zero: a character device\n".into()),
        (&["replay", "/dev/zero"], endless.into()),
        (&["report", "/dev/zero", "-o", "/dev/null"], endless.into()),
        (&["check", "/dev/zero"], "mmsim: error: cannot read /dev/zero: a character device\n".into()),
        (&["run", &fifo], format!("mmsim: error: cannot read {fifo}: a FIFO\n")),
        (&["run", "/"], "mmsim: error: cannot read /: a directory\n".into()),
        (
            &["check", "--random", "2", "--seed", "18446744073709551615"],
            "mmsim: error: --seed 18446744073709551615 with --random 2: the last seed would be beyond \
             18446744073709551615\n"
                .into(),
        ),
        (
            &["check", "--random", "1", "--steps", "100000000"],
            "mmsim: error: --steps 100000000: at most 1048576 steps a script\n".into(),
        ),
    ];
    for (args, want) in cases {
        let o = mmsim().args(args).stdin(Stdio::null()).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), want, "{args:?}");
    }
    let binary = scenario("binary.mm", "");
    std::fs::write(&binary, b"process A\n\xff\n").unwrap();
    let o = mmsim().arg("run").arg(&binary).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).ends_with("binary.mm: not UTF-8 text (byte 11)\n"), "{}", stderr(&o));
}
