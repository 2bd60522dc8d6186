//! `--jobs` and `--shard` of `mmsim check --random` and of `mmsim replay` of many traces: the
//! output does not depend on the number of threads, and the shards of a run, one after the
//! other, are the run.

use std::path::{Path, PathBuf};
use std::process::Command;

fn mmsim(args: &[&str]) -> (Option<i32>, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_mmsim")).args(args).output().unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned())
}

/// Everything but the last line (a shard's count line).
fn body(out: &str) -> &str {
    let trimmed = out.strip_suffix('\n').unwrap_or(out);
    trimmed.rfind('\n').map_or("", |i| &out[..=i])
}

fn last_line(out: &str) -> &str {
    out.trim_end().lines().last().unwrap_or_default()
}

/// Random scripts whose seeds give differences would show them as lines: none of these do on
/// a correct model, so the check is on the count line, which has the total of steps.
#[test]
fn random_scripts_print_the_same_with_any_number_of_threads_and_shards_add_up() {
    if hostreq::need("`mmsim check` on the host", hostdiff::support()).is_none() {
        return;
    }
    let run = |extra: &[&str]| {
        let mut args = vec!["check", "--random", "7", "--seed", "900", "--steps", "30"];
        args.extend_from_slice(extra);
        mmsim(&args)
    };
    let (code, one) = run(&["--jobs", "1"]);
    assert_eq!(code, Some(0), "{one}");
    let (_, four) = run(&["--jobs", "4"]);
    assert_eq!(one, four);
    let whole = last_line(&one).to_string();
    assert!(whole.starts_with("7 random scripts ("), "{whole}");
    let steps = |line: &str| -> u64 {
        let inner = line.split('(').nth_back(0).unwrap_or_default();
        inner.split(' ').next().unwrap_or_default().parse().unwrap_or_else(|_| panic!("steps in {line}"))
    };
    let (mut scripts, mut total, mut lines) = (0, 0, String::new());
    for i in 1..=3 {
        let (code, out) = run(&["--shard", &format!("{i}/3"), "--jobs", "2"]);
        assert_eq!(code, Some(0), "{out}");
        let count = last_line(&out);
        assert!(count.starts_with(&format!("shard {i}/3 (seeds ")), "{count}");
        scripts += count.split("): ").nth(1).and_then(|r| r.split(' ').next()).unwrap().parse::<u64>().unwrap();
        total += steps(count);
        lines.push_str(body(&out));
    }
    assert_eq!((scripts, total), (7, steps(&whole)), "{whole}");
    assert_eq!(lines, body(&one));
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../replay/tests/corpus")
}

/// A directory of traces: each replayed on its own, reported in name order.
#[test]
fn many_traces_replay_the_same_with_any_number_of_threads_and_shards_add_up() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("parallel-traces");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let names = ["cat", "sh", "strict", "threads"];
    for name in names {
        std::fs::copy(corpus().join(format!("{name}.trace")), dir.join(format!("{name}.trace"))).unwrap();
    }
    let d = dir.to_str().unwrap();
    let (_, one) = mmsim(&["replay", "--verify", "--keep-going", d, "--jobs", "1"]);
    let (_, four) = mmsim(&["replay", "--verify", "--keep-going", d, "--jobs", "4"]);
    assert_eq!(one, four);
    let headers: Vec<&str> = one.lines().filter(|l| l.starts_with("== ")).collect();
    let want: Vec<String> = names.iter().map(|n| format!("== {}", dir.join(format!("{n}.trace")).display())).collect();
    assert_eq!(headers, want);
    assert!(last_line(&one).starts_with("4 traces replayed: "), "{one}");
    let mut joined = String::new();
    for i in 1..=3 {
        let (_, out) = mmsim(&["replay", "--verify", "--keep-going", d, "--shard", &format!("{i}/3")]);
        assert!(last_line(&out).starts_with(&format!("shard {i}/3 (traces ")), "{out}");
        joined.push_str(body(&out));
    }
    assert_eq!(joined, body(&one));
    // The same traces named one by one come out in the order given.
    let files: Vec<String> =
        ["sh", "cat"].iter().map(|n| dir.join(format!("{n}.trace")).display().to_string()).collect();
    let (_, given) = mmsim(&["replay", "--verify", "--keep-going", &files[0], &files[1]]);
    let headers: Vec<&str> = given.lines().filter(|l| l.starts_with("== ")).collect();
    assert_eq!(headers, vec![format!("== {}", files[0]), format!("== {}", files[1])]);
}

#[test]
fn bad_jobs_and_shards_are_refused() {
    for args in [["--jobs", "0"], ["--shard", "0/2"], ["--shard", "3/2"], ["--shard", "x"]] {
        let o = Command::new(env!("CARGO_BIN_EXE_mmsim")).args(["check", "--random", "1"]).args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }
}
