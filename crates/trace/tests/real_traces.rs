//! Records fresh traces of real programs on this machine, the way `mmsim record` does
//! (`setarch -R strace -f -v -s 1048576 -o FILE -- CMD`), and parses every line of them.
//!
//! Every trace must parse without a single error, and the calls mmsim replays must come out
//! with correctly typed arguments: the addresses `mmap` returned show up in the process's own
//! later read of `/proc/self/maps`, the bytes a `read` returned decode to exactly as many bytes
//! as its result says, and so on. A trace is also parsed again cut at many places, as a log
//! of a killed recording would be. Skipped, with a note, where `strace` is not installed.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;
use trace::{Arg, Event, EventKind, Parser, Ret, Syscall};

/// How strace writes the trace.
#[derive(Clone, Copy, PartialEq)]
enum Output {
    /// `-o FILE`, as `mmsim record` does.
    File,
    /// stderr, where lines of a lone process carry no pid.
    Stderr,
}

/// Whether strace and setarch are here; otherwise a note (or, under `MMSIM_REQUIRE_HOST=1`,
/// a failure naming what is missing).
#[track_caller]
fn strace_available() -> bool {
    hostreq::need_tools("a real-trace test", &["strace", "setarch"])
}

/// Runs `command` under `setarch -R strace -f -v -s 1048576 EXTRA` and returns the log.
#[track_caller]
fn record(dir: &Path, name: &str, extra_flags: &[&str], output: Output, command: &[&str]) -> PathBuf {
    let log = dir.join(format!("{name}.strace"));
    let mut strace = Command::new("setarch");
    strace.args(["-R", "strace", "-f", "-v", "-s", "1048576"]).args(extra_flags);
    strace.stdout(Stdio::null());
    match output {
        Output::File => {
            strace.arg("-o").arg(&log).stderr(Stdio::null());
        }
        Output::Stderr => {
            strace.stderr(std::fs::File::create(&log).expect("create the log file"));
        }
    }
    let status = strace.arg("--").args(command).status().expect("run setarch and strace");
    assert!(status.success(), "{command:?} under strace failed: {status}");
    log
}

/// Parses a whole log, failing on any parse error.
#[track_caller]
fn parse_all(log: &Path) -> Vec<Event> {
    let file = std::fs::File::open(log).expect("open the log");
    let mut events = Vec::new();
    let mut errors = Vec::new();
    for item in Parser::new(std::io::BufReader::new(file)) {
        match item {
            Ok(event) => events.push(event),
            Err(error) => errors.push(error.to_string()),
        }
    }
    assert!(errors.is_empty(), "{}: {} parse errors:\n{}", log.display(), errors.len(), errors.join("\n"));
    // The same log held in one shared buffer, its long strings left in place, parses to
    // the same events.
    let text = std::fs::read(log).expect("read the log");
    let shared: Vec<Event> = Parser::from_bytes(text.into()).map(|item| item.expect("parsed as streamed")).collect();
    assert!(shared == events, "{}: a shared buffer parses differently", log.display());
    events
}

fn calls<'a>(events: &'a [Event], name: &'a str) -> impl Iterator<Item = (&'a Event, &'a Syscall)> + 'a {
    events.iter().filter_map(move |e| e.syscall().filter(|c| c.name == name && !c.incomplete).map(|c| (e, c)))
}

/// Returns the `start-end` ranges of a `/proc/PID/maps` text.
fn maps_ranges(text: &str) -> Vec<(u64, u64)> {
    text.lines()
        .filter_map(|line| {
            let (range, _) = line.split_once(' ')?;
            let (start, end) = range.split_once('-')?;
            Some((u64::from_str_radix(start, 16).ok()?, u64::from_str_radix(end, 16).ok()?))
        })
        .collect()
}

/// Checks the arguments and results of the calls mmsim replays, and that what the program read
/// from its maps agrees with the addresses the trace says it was given.
#[track_caller]
fn check_trace(events: &[Event], expect_maps_reads: usize) {
    let first = events.first().and_then(Event::syscall).expect("the trace starts with a call");
    assert_eq!(first.name, "execve");
    assert_eq!(first.ret, Ret::Value(0));
    assert!(first.arg_str(0).is_some_and(|path| path.starts_with(b"/") || path.starts_with(b".")));
    let argv = first.arg(1).and_then(Arg::as_array).expect("argv is an array");
    assert!(!argv.is_empty() && argv.iter().all(|a| a.as_bytes().is_some()), "{argv:?}");
    let envp = first.arg(2).and_then(Arg::as_array).expect("with -v, envp is an array");
    assert!(envp.iter().all(|a| a.as_bytes().is_some_and(|e| e.contains(&b'='))), "{envp:?}");

    let mut seen = HashSet::new();
    for event in events {
        let Some(call) = event.syscall() else { continue };
        if call.incomplete {
            continue;
        }
        seen.insert(call.name.to_string());
        check_call(call);
    }
    for name in ["execve", "brk", "mmap", "mprotect", "munmap", "openat", "read", "exit_group"] {
        assert!(seen.contains(name), "no complete {name} call in the trace");
    }

    // Pids returned by the process-creating calls show up as pids of later lines.
    let pids: HashSet<u32> = events.iter().filter_map(|e| e.pid).collect();
    for name in ["clone", "clone3", "fork", "vfork"] {
        for (_, call) in calls(events, name) {
            let child = call.ret_u64().and_then(|v| u32::try_from(v).ok()).expect("a child pid");
            assert!(pids.contains(&child), "{name} returned {child}, which never appears");
        }
    }

    check_maps_reads(events, expect_maps_reads);
}

#[track_caller]
fn check_call(call: &Syscall) {
    let context = || format!("{call:?}");
    match &*call.name {
        "mmap" => {
            assert_eq!(call.args.len(), 6, "{}", context());
            assert!(call.arg_u64(0).is_some() && call.arg_u64(1).is_some_and(|len| len > 0), "{}", context());
            assert!(call.arg_flags(2).is_some(), "unknown PROT_ flag: {}", context());
            assert!(call.arg_flags(3).is_some(), "unknown MAP_ flag: {}", context());
            assert!(call.arg_i64(4).is_some_and(|fd| fd >= -1), "{}", context());
            assert!(call.arg_u64(5).is_some_and(|offset| offset % 4096 == 0), "{}", context());
            if let Some(address) = call.ret_u64() {
                assert_eq!(address % 4096, 0, "{}", context());
            }
        }
        "mprotect" => {
            assert_eq!(call.args.len(), 3, "{}", context());
            assert!(call.arg_u64(0).is_some_and(|a| a % 4096 == 0) && call.arg_u64(1).is_some(), "{}", context());
            assert!(call.arg_flags(2).is_some(), "{}", context());
        }
        "munmap" => {
            assert_eq!(call.args.len(), 2, "{}", context());
            assert!(call.arg_u64(0).is_some() && call.arg_u64(1).is_some(), "{}", context());
        }
        "brk" => {
            assert!(call.arg_u64(0).is_some() && call.ret_u64().is_some(), "{}", context());
        }
        "openat" => {
            let dirfd = call.arg(0).expect("dirfd");
            assert!(dirfd.as_ident() == Some("AT_FDCWD") || dirfd.as_u64().is_some(), "{}", context());
            assert!(call.arg_str(1).is_some(), "{}", context());
            assert!(call.arg_flags(2).is_some(), "unknown O_ flag: {}", context());
        }
        "read" | "pread64" => {
            assert!(call.arg_u64(0).is_some() && call.arg_u64(2).is_some(), "{}", context());
            if let (Some(count), Some(data)) = (call.ret_u64(), call.arg(1).and_then(Arg::as_quoted)) {
                // With -s 1048576 nothing a program reads here is cut, so the decoded bytes
                // are exactly what the call returned.
                assert!(!data.truncated);
                assert_eq!(data.bytes().len() as u64, count, "{}", context());
            }
        }
        "write" => {
            if let (Some(count), Some(data)) = (call.ret_u64(), call.arg(1).and_then(Arg::as_quoted)) {
                assert_eq!(data.bytes().len() as u64, count, "{}", context());
            }
        }
        "newfstatat" | "fstat" | "stat" | "lstat" => {
            if let Some(fields) = call.args.iter().find_map(Arg::as_struct) {
                let field = |name: &str| fields.iter().find(|f| f.name.as_deref() == Some(name)).map(|f| &f.value);
                assert!(field("st_ino").and_then(Arg::as_u64).is_some(), "{}", context());
                let (makedev, parts) = field("st_dev").and_then(Arg::as_call).expect("st_dev=makedev(…)");
                assert_eq!((makedev, parts.len()), ("makedev", 2));
                assert!(field("st_mode").and_then(|m| m.flag_parts().next()).is_some(), "{}", context());
            }
        }
        "exit_group" => {
            assert!(call.arg_u64(0).is_some(), "{}", context());
            assert_eq!(call.ret, Ret::Unknown);
        }
        "execve" => {
            assert!(call.arg_str(0).is_some() && call.arg(1).and_then(Arg::as_array).is_some(), "{}", context());
        }
        "clone" => {
            assert!(call.arg_named("flags").is_some_and(|f| f.flag_parts().next().is_some()), "{}", context());
        }
        "clone3" => {
            let flags = call.arg_struct_field(0, "flags").expect("clone3 flags");
            assert!(flags.flag_parts().any(|p| p == trace::FlagPart::Name("CLONE_VM")), "{}", context());
            assert!(call.arg_struct_field(0, "stack").and_then(Arg::as_u64).is_some(), "{}", context());
        }
        _ => {}
    }
}

/// A maps file a process opened, and what it read from it.
struct MapsRead {
    text: Vec<u8>,
    /// The line where the first read began.
    first_start: u64,
    /// The line where the last read ended.
    last_end: u64,
}

/// Checks each maps text the program read (all reads of one open `/proc/self/maps`) against
/// the mmap results of the trace: every address mapped before the reading began, and not
/// unmapped before it ended, lies in a range of the text, and one of them starts a range.
///
/// Threads run concurrently, so time is taken from line numbers: a call began at its
/// `<unfinished ...>` line and ended at its result line.
#[track_caller]
fn check_maps_reads(events: &[Event], expected: usize) {
    let started = |e: &Event, c: &Syscall| c.unfinished_line.unwrap_or(e.line);
    let mut execs = Vec::new();
    let mut mapped = Vec::new();
    let mut unmapped = Vec::new();
    let mut open: HashMap<(Option<u32>, u64), MapsRead> = HashMap::new();
    let mut texts = Vec::new();
    for event in events {
        let Some(call) = event.syscall().filter(|c| !c.incomplete) else { continue };
        match &*call.name {
            "execve" if call.ret == Ret::Value(0) => execs.push(event.line),
            "mmap" => mapped.extend(call.ret_u64().map(|a| (event.line, a))),
            "munmap" if call.ret == Ret::Value(0) => {
                unmapped.push((started(event, call), call.arg_u64(0).unwrap(), call.arg_u64(1).unwrap()));
            }
            "mremap" if call.ret_u64().is_some() => {
                unmapped.push((started(event, call), call.arg_u64(0).unwrap(), call.arg_u64(1).unwrap()));
                mapped.push((event.line, call.ret_u64().unwrap()));
            }
            "openat" => {
                let path = call.arg_str(1).unwrap_or_default();
                if path.starts_with(b"/proc/") && path.ends_with(b"/maps") {
                    if let Some(fd) = call.ret_u64() {
                        let read = MapsRead { text: Vec::new(), first_start: u64::MAX, last_end: 0 };
                        open.insert((event.pid, fd), read);
                    }
                }
            }
            "read" => {
                let key = (event.pid, call.arg_u64(0).unwrap());
                if let (Some(maps), Some(data)) = (open.get_mut(&key), call.arg_str(1)) {
                    maps.text.extend_from_slice(data);
                    maps.first_start = maps.first_start.min(started(event, call));
                    maps.last_end = event.line;
                }
            }
            "close" => texts.extend(open.remove(&(event.pid, call.arg_u64(0).unwrap()))),
            _ => {}
        }
    }
    texts.extend(open.into_values());

    let mut checked = 0;
    for maps in texts.iter().filter(|m| !m.text.is_empty()) {
        let text = String::from_utf8_lossy(&maps.text);
        assert!(text.contains("[stack]"), "a maps text without [stack]:\n{text}");
        let ranges = maps_ranges(&text);
        let exec = execs.iter().copied().filter(|&l| l < maps.first_start).max().unwrap_or(0);
        let live: Vec<u64> = mapped
            .iter()
            .filter(|&&(line, _)| exec < line && line < maps.first_start)
            .filter(|&&(line, address)| {
                !unmapped.iter().any(|&(start, from, len)| {
                    line < start && start < maps.last_end && from <= address && address - from < len
                })
            })
            .map(|&(_, address)| address)
            .collect();
        assert!(!live.is_empty(), "line {}: nothing mapped before this maps read", maps.first_start);
        for address in &live {
            assert!(
                ranges.iter().any(|&(start, end)| start <= *address && *address < end),
                "line {}: mmap result {address:#x} is not in the maps text:\n{text}",
                maps.first_start
            );
        }
        assert!(
            live.iter().any(|a| ranges.iter().any(|&(start, _)| start == *a)),
            "line {}: no mmap result {live:x?} starts a range of\n{text}",
            maps.first_start
        );
        eprintln!("maps read at line {}: {} mmap results found in it", maps.first_start, live.len());
        checked += 1;
    }
    assert!(checked >= expected, "expected {expected} maps texts, found {checked}");
}

/// Parses `log` cut at many places and checks that only the cut line may fail.
#[track_caller]
fn check_cuts(log: &Path) {
    let text = std::fs::read(log).expect("read the log");
    let steps = 60;
    for i in 1..steps {
        let cut = &text[..text.len() * i / steps];
        let last_line = cut.split(|&b| b == b'\n').count() as u64;
        for item in Parser::new(cut) {
            if let Err(error) = item {
                assert_eq!(error.line, last_line, "cut at byte {}: {error}", cut.len());
            }
        }
    }
}

#[test]
fn cat_reading_its_own_maps() {
    if !strace_available() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let log = record(dir.path(), "cat", &[], Output::File, &["cat", "/proc/self/maps"]);
    let events = parse_all(&log);
    check_trace(&events, 1);
    assert!(matches!(events.last().map(|e| &e.kind), Some(EventKind::Exited { code: 0 })));
    check_cuts(&log);
}

#[test]
fn a_shell_running_two_cats() {
    if !strace_available() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let log = record(dir.path(), "sh", &[], Output::File, &["sh", "-c", "cat /proc/self/maps; cat /proc/self/maps"]);
    let events = parse_all(&log);
    check_trace(&events, 2);
    let creators = ["clone", "clone3", "fork", "vfork"].iter().map(|n| calls(&events, n).count()).sum::<usize>();
    assert!(creators >= 1, "the shell started its commands somehow");
    check_cuts(&log);
}

#[test]
fn python_reading_its_maps() {
    if !strace_available() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let log =
        record(dir.path(), "python", &[], Output::File, &["python3", "-c", "print(open('/proc/self/maps').read())"]);
    let events = parse_all(&log);
    check_trace(&events, 1);
}

#[test]
fn perl_reading_its_maps() {
    if !strace_available() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let log = record(dir.path(), "perl", &[], Output::File, &["perl", "-e", "open F, '/proc/self/maps'; print <F>"]);
    let events = parse_all(&log);
    check_trace(&events, 1);
}

const THREADS_C: &str = r#"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *worker(void *arg) {
    char *scratch = malloc(100000);
    memset(scratch, 1, 100000);
    FILE *maps = fopen("/proc/self/maps", "r");
    static __thread char text[65536];
    size_t n = fread(text, 1, sizeof text, maps);
    fclose(maps);
    free(scratch);
    return (void *)n;
}

int main(void) {
    pthread_t threads[3];
    for (int i = 0; i < 3; i++) pthread_create(&threads[i], NULL, worker, NULL);
    for (int i = 0; i < 3; i++) pthread_join(threads[i], NULL);
    puts("done");
    return 0;
}
"#;

#[test]
fn a_multi_threaded_c_program() {
    if !strace_available() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let source = dir.path().join("threads.c");
    let binary = dir.path().join("threads");
    std::fs::write(&source, THREADS_C).unwrap();
    let compiled = Command::new("gcc").arg("-O1").arg("-pthread").arg("-o").arg(&binary).arg(&source).status();
    match compiled {
        Ok(status) => assert!(status.success(), "gcc failed"),
        Err(e) => {
            hostreq::skip("the threaded program", &format!("cannot run gcc: {e}"));
            return;
        }
    }
    let log = record(dir.path(), "threads", &[], Output::File, &[binary.to_str().unwrap()]);
    let events = parse_all(&log);
    check_trace(&events, 3);
    let threads = calls(&events, "clone3").count() + calls(&events, "clone").count();
    assert_eq!(threads, 3);
    let pids: HashSet<u32> = events.iter().filter_map(|e| e.pid).collect();
    assert_eq!(pids.len(), 4, "the main thread and three workers");
    let split = events.iter().filter_map(Event::syscall).filter(|c| c.unfinished_line.is_some()).count();
    eprintln!("{} events, {split} joined from split lines", events.len());
    check_cuts(&log);
}

#[test]
fn decorations_and_time_stamps_from_extra_flags() {
    if !strace_available() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let command = ["sh", "-c", "cat /proc/self/maps; cat /proc/self/maps"];
    for (name, flags) in [("tt", &["-tt", "-T", "-yy"][..]), ("ttt", &["-ttt", "-y"][..]), ("r", &["-r"][..])] {
        let log = record(dir.path(), name, flags, Output::File, &command);
        let events = parse_all(&log);
        check_trace(&events, 2);
        if name != "r" {
            assert!(events.iter().all(|e| e.timestamp.is_some()), "{name}: every line has a time stamp");
        }
        if flags.contains(&"-yy") || flags.contains(&"-y") {
            let (_, open) = calls(&events, "openat").find(|(_, c)| c.ret_u64().is_some()).expect("an openat");
            assert!(open.ret_decoration.is_some(), "{name}: -y shows the path of the returned fd");
            assert_eq!(open.arg_decoration(0).map(|d| d.starts_with(b"/")), Some(true));
        }
    }
}

#[test]
fn stderr_output_without_prefixes_for_a_lone_process() {
    if !strace_available() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let log =
        record(dir.path(), "stderr", &[], Output::Stderr, &["sh", "-c", "cat /proc/self/maps; cat /proc/self/maps"]);
    let events = parse_all(&log);
    check_trace(&events, 2);
    assert_eq!(events[0].pid, None, "the first lines carry no pid");
    let unnamed = events.iter().take_while(|e| e.pid.is_none()).count();
    assert!(events[unnamed..].iter().all(|e| e.pid.is_some()), "once the root is known, every line has a pid");
}

const MMAP_FLAGS_C: &str = r#"
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        syscall(SYS_mmap, 0, 7 * 4096, 0, strtoul(argv[i], 0, 0), -1, 0);
    return 0;
}
"#;

/// The `mmap` flag words strace prints for map types without a name (0 is `MAP_FILE`, others
/// a number with a `MAP_???` comment), huge page size fields and unnamed bits evaluate back
/// to the flags the program passed, and `abi::format_map_flags` spells them as strace does.
#[test]
fn mmap_flag_words_as_strace_prints_them() {
    if !strace_available() || !hostreq::need_tools("the mmap flags program", &["gcc"]) {
        return;
    }
    let dir = TempDir::new().unwrap();
    let source = dir.path().join("mmap_flags.c");
    let binary = dir.path().join("mmap_flags");
    std::fs::write(&source, MMAP_FLAGS_C).unwrap();
    let status = Command::new("gcc").arg("-O1").arg("-o").arg(&binary).arg(&source).status().expect("run gcc");
    assert!(status.success(), "gcc failed");
    let flags: [u64; 12] =
        [0, 0x20, 0x30, 0x24, 0x5, 0x2f, 0x20_0000, 0x4000_0022, 0x8000_0022, 0x422, 0x23, 0x0c00_0021];
    let mut command = vec![binary.to_str().unwrap().to_string()];
    command.extend(flags.iter().map(|f| format!("{f:#x}")));
    let command: Vec<&str> = command.iter().map(String::as_str).collect();
    let log = record(dir.path(), "mmap_flags", &[], Output::File, &command);
    let events = parse_all(&log);
    let ours: Vec<&Syscall> =
        calls(&events, "mmap").map(|(_, c)| c).filter(|c| c.arg_u64(1) == Some(7 * 4096)).collect();
    assert_eq!(ours.len(), flags.len(), "one mmap line per flag word");
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("mmap(NULL, 28672, PROT_NONE, ")).collect();
    for ((call, &want), line) in ours.iter().zip(&flags).zip(&lines) {
        assert_eq!(call.arg(3).and_then(Arg::flags_value), Some(want), "{line}");
        let printed = line.split("PROT_NONE, ").nth(1).and_then(|r| r.split(", -1, 0)").next()).unwrap();
        assert_eq!(abi::format_map_flags(want), printed, "{line}");
    }
}
