//! What the replay tests share: a scratch directory per test, recording a command under
//! strace, building a test program, replaying a log (from a file or from bytes), and the
//! assertion that a replay ran clean. Each test file uses part of it.
#![allow(dead_code)]

use replay::{Identities, Mode, Options, Report};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh, empty directory `NAME` under the group `GROUP` of the test target's temporary
/// directory.
pub fn scratch(group: &str, name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(group).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `cmd` in `dir` under `setarch -R strace -f <flags> -o OUT` (ASLR off) and returns
/// OUT, `DIR/NAME.trace`; `None`, with the note `hostreq` gives, where strace or setarch is
/// missing.
pub fn record(name: &str, flags: &[&str], cmd: &[&str], dir: &Path) -> Option<PathBuf> {
    let out = dir.join(format!("{name}.trace"));
    strace_unrandomized(name, "-f", flags, &out, cmd, dir).then_some(out)
}

/// Runs `cmd` in `dir` under `setarch -R strace <follow> <flags> -o OUT` (ASLR off; `follow`
/// is `-f` or `-ff`); false, with the note `hostreq` gives, where strace or setarch is
/// missing.
pub fn strace_unrandomized(name: &str, follow: &str, flags: &[&str], out: &Path, cmd: &[&str], dir: &Path) -> bool {
    strace_unrandomized_under(&[], name, follow, flags, out, cmd, dir)
}

/// [`strace_unrandomized`] run under `wrapper` (e.g. `taskset -c 0`), which the tracer and
/// the program inherit.
pub fn strace_unrandomized_under(
    wrapper: &[&str],
    name: &str,
    follow: &str,
    flags: &[&str],
    out: &Path,
    cmd: &[&str],
    dir: &Path,
) -> bool {
    if !hostreq::need_tools(&format!("recording {name}"), &["strace", "setarch"]) {
        return false;
    }
    let (program, before) = wrapper.split_first().map_or(("setarch", &[][..]), |(p, rest)| (*p, rest));
    let setarch: &[&str] = if wrapper.is_empty() { &[] } else { &["setarch"] };
    let status = Command::new(program)
        .args(before)
        .args(setarch)
        .args(["x86_64", "-R", "strace", follow])
        .args(flags)
        .arg("-o")
        .arg(out)
        .arg("--")
        .args(cmd)
        .current_dir(dir)
        .output()
        .expect("run strace");
    assert!(status.status.success(), "{name}: {}", String::from_utf8_lossy(&status.stderr));
    true
}

/// Starts `exe ARGS` (under `setarch -R` when `unrandomized`), waits for the line "ready"
/// on its stdout, attaches `strace -f <flags> -o DIR/NAME.trace -p` to it, sends it a line
/// to go on, and returns the trace once both ended; `None`, with the note `hostreq` gives,
/// where strace or setarch is missing.
pub fn record_attached(
    name: &str,
    exe: &Path,
    args: &[&str],
    unrandomized: bool,
    flags: &[&str],
    dir: &Path,
) -> Option<PathBuf> {
    record_attached_many(name, &[(exe, args)], unrandomized, true, flags, dir)
}

/// [`record_attached`] of several programs at once: each is started and says "ready", one
/// strace attaches to all (`-p A -p B ...`, with `-f` when `follow`), then each is sent its
/// line to go on.
pub fn record_attached_many(
    name: &str,
    progs: &[(&Path, &[&str])],
    unrandomized: bool,
    follow: bool,
    flags: &[&str],
    dir: &Path,
) -> Option<PathBuf> {
    use std::io::{BufRead, Read, Write};
    use std::process::Stdio;
    if !hostreq::need_tools(name, &["strace", "setarch"]) {
        return None;
    }
    let out = dir.join(format!("{name}.trace"));
    let mut running = Vec::new();
    for (exe, args) in progs {
        let mut prog = if unrandomized {
            let mut c = Command::new("setarch");
            c.args(["x86_64", "-R"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        let mut prog = prog.args(*args).current_dir(dir).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        let mut ready = String::new();
        std::io::BufReader::new(prog.stdout.take().unwrap()).read_line(&mut ready).unwrap();
        assert_eq!(ready, "ready\n", "{name}");
        running.push(prog);
    }
    let mut strace = Command::new("strace");
    if follow {
        strace.arg("-f");
    }
    strace.args(flags).arg("-o").arg(&out);
    for prog in &running {
        strace.arg("-p").arg(prog.id().to_string());
    }
    let mut strace = strace.stderr(Stdio::piped()).spawn().unwrap();
    // strace says on stderr when it has attached to each process (and again for each task
    // a program starts: the pipe stays open until strace ends).
    let mut said = String::new();
    let mut stderr = std::io::BufReader::new(strace.stderr.take().unwrap());
    for _ in &running {
        let mut one = String::new();
        stderr.read_line(&mut one).unwrap();
        assert!(one.contains("attached"), "{name}: strace said {one:?}");
        said.push_str(&one);
    }
    for prog in &mut running {
        prog.stdin.take().unwrap().write_all(b"go\n").unwrap();
    }
    for prog in &mut running {
        assert!(prog.wait().unwrap().success(), "{name}");
    }
    stderr.read_to_string(&mut said).unwrap();
    assert!(strace.wait().unwrap().success(), "{name}: {said}");
    Some(out)
}

/// For recordings of one program whose replays may, rarely, meet an interleaving of
/// threads' calls the replay does not explain (each one is a different run of the
/// program): at least `clean` of `replays` (name, log, report) must be clean with at least
/// `min_checks` checks each; the message shows the others' mismatches. Returns the last
/// clean log.
#[allow(dead_code)]
pub fn assert_mostly_clean(replays: &[(String, PathBuf, Report)], clean: usize, min_checks: u64) -> Option<PathBuf> {
    // (What assert_clean asks of one replay.)
    let is_clean = |r: &Report| problems(r).is_empty() && r.failed == 0 && r.passed >= min_checks;
    let good: Vec<&PathBuf> = replays.iter().filter(|(_, _, r)| is_clean(r)).map(|(_, t, _)| t).collect();
    let others: Vec<String> = replays
        .iter()
        .filter(|(_, _, r)| !is_clean(r))
        .map(|(name, t, r)| format!("{name} ({}): {}\n{:?}", t.display(), r.summary(), problems(r)))
        .collect();
    assert!(
        good.len() >= clean,
        "{} of {} recordings replayed clean, {clean} wanted:\n{}",
        good.len(),
        replays.len(),
        others.join("\n")
    );
    good.last().map(|t| t.to_path_buf())
}

/// Builds `tests/progs/SOURCE` into `DIR/NAME` with `gcc -O1 <flags>`; `None`, with a
/// note, where gcc is missing or the build fails.
pub fn compile(name: &str, source: &str, flags: &[&str], dir: &Path) -> Option<PathBuf> {
    if !hostreq::need_tools(&format!("building {name}"), &["gcc"]) {
        return None;
    }
    let exe = dir.join(name);
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/progs").join(source);
    let out = Command::new("gcc").args(["-O1", "-o"]).arg(&exe).arg(&src).args(flags).output().unwrap();
    if !out.status.success() {
        hostreq::skip(&format!("building {name}"), &String::from_utf8_lossy(&out.stderr));
        return None;
    }
    Some(exe)
}

/// Replays the log at `path` in `mode`, stopping at the first error, with relative paths
/// relative to the log's directory (where it was recorded).
pub fn replay_file(path: &Path, mode: Mode) -> Report {
    let ids = Identities::collect(BufReader::new(std::fs::File::open(path).unwrap()));
    let opts =
        Options { mode, keep_going: false, cwd: Some(path.parent().unwrap().to_path_buf()), threads_unordered: false };
    replay::replay(|| std::fs::File::open(path).map(BufReader::new), ids, opts, |_| {})
}

/// Replays `text` as `mmsim replay` does (identities first, then the runs over the log).
pub fn replay_bytes(text: &[u8], opts: Options) -> Report {
    let ids = Identities::collect(text);
    let bytes = text.to_vec();
    replay::replay(|| Ok(std::io::Cursor::new(bytes.clone())), ids, opts, |_| {})
}

/// Every problem of a replay, one a line: mismatches, then errors.
pub fn problems(r: &Report) -> Vec<String> {
    r.mismatches.iter().map(|m| m.to_string()).chain(r.errors.iter().map(|e| e.to_string())).collect()
}

/// Asserts that a replay had no mismatch and no error and made at least `min_checks`
/// checks; the failure shows what the replay learned, its summary and every problem.
#[track_caller]
pub fn assert_clean(name: &str, r: &Report, min_checks: u64) {
    let problems = problems(r);
    assert!(problems.is_empty(), "{name}: {}\n{}\n{}", r.bindings.join("\n"), r.summary(), problems.join("\n"));
    assert!(r.passed >= min_checks, "{name}: only {} checks ran\n{}", r.passed, r.summary());
    assert_eq!(r.failed, 0);
}

pub mod randprog;
