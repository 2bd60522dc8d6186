//! Traces recorded fresh on this machine in the recording modes users pick (plain `strace -f
//! -o`, `-s N`, `-v`, time stamps, `-y`/`-yy`, `-X`, `-k`, `-e trace=` filters, `-ff`), and
//! programs whose descriptor state the replay must follow (lseek and pread of /proc files,
//! dup*, close_range, chdir/fchdir and opens relative to a directory descriptor). Every
//! replay must end with zero mismatches. All run under `setarch -R` (ASLR off). Skipped, with
//! a note, where strace, setarch or gcc is missing; failed instead under
//! `MMSIM_REQUIRE_HOST=1` (see the `hostreq` crate).

mod common;

use common::{assert_clean, compile, record};
use replay::{Mode, Options, Report};
use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    common::scratch("replay-modes", name)
}

fn replay_text(text: Vec<u8>, cwd: Option<PathBuf>) -> Report {
    common::replay_bytes(&text, Options { mode: Mode::Verify, keep_going: false, cwd, threads_unordered: false })
}

fn replay_file(path: &Path) -> Report {
    common::replay_file(path, Mode::Verify)
}

/// How many times the trace reads a maps file (each one a checked comparison).
fn maps_reads(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let mut fds = Vec::new();
    let mut reads = 0;
    for l in text.lines() {
        // `-xx` prints every string byte as `\xNN`.
        let l = &unescape_hex(l);
        if l.contains("\"/proc/self/maps\"") {
            if let Some(fd) = l.rsplit("= ").next().and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next()) {
                fds.push(format!("read({fd}"));
            }
        }
        if fds.iter().any(|f| l.contains(f.as_str())) && l.contains("r--p") {
            reads += 1;
        }
    }
    reads
}

/// `line` with each `\xNN` escape replaced by its byte (as a character).
fn unescape_hex(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("\\x") {
        out.push_str(&rest[..at]);
        match rest.get(at + 2..at + 4).and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(b) => {
                out.push(char::from(b));
                rest = &rest[at + 4..];
            }
            None => {
                out.push_str("\\x");
                rest = &rest[at + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The modes that change how lines look, each on `cat` and on a shell running two.
const LOOKS: &[(&str, &[&str])] = &[
    ("plain", &[]),
    ("s64", &["-s", "64"]),
    ("v", &["-v", "-s", "1048576"]),
    ("tt", &["-tt"]),
    ("ttt-T", &["-ttt", "-T", "-v"]),
    ("r", &["-r"]),
    // Both stamps: `1796678405.980644 (+     0.000305) brk(`.
    ("r-ttt", &["-r", "-ttt"]),
    // Whole seconds since the epoch: `3918  1796691535 brk(`.
    ("ttt-s", &["--timestamps=unix,s", "-T"]),
    // `-r` in whole seconds, flush right: `2562       0 brk(`.
    ("r-s", &["--relative-timestamps=s"]),
    ("y", &["-y", "-s", "4096"]),
    ("yy", &["-yy", "-v", "-s", "4096"]),
    ("X-raw", &["-X", "raw", "-s", "4096"]),
    ("X-verbose", &["-X", "verbose", "-s", "4096"]),
    ("k", &["-k", "-s", "4096"]),
    // The instruction pointer (question marks on the exit lines) and the syscall number.
    ("i-n", &["-i", "-n", "-s", "4096"]),
    ("a-xx", &["-a", "20", "-xx"]),
    // The summary table of the calls after them, and each pid's command name.
    ("C", &["-C", "-s", "4096"]),
    ("Y", &["-Y", "-tt", "-s", "4096"]),
];

#[test]
fn every_line_format_of_cat_and_a_shell() {
    let dir = scratch("looks");
    for (mode, flags) in LOOKS {
        let name = format!("cat-{mode}");
        let Some(t) = record(&name, flags, &["cat", "/proc/self/maps"], &dir) else { return };
        assert_eq!(maps_reads(&t), 1, "{name}");
        assert_clean(&name, &replay_file(&t), 20);
        let name = format!("sh-{mode}");
        let Some(t) = record(&name, flags, &["sh", "-c", "cat /proc/self/maps; cat /proc/self/maps"], &dir) else {
            return;
        };
        assert_eq!(maps_reads(&t), 2, "{name}");
        assert_clean(&name, &replay_file(&t), 50);
    }
}

/// Plain strace shows 32 bytes of each read: the maps text is compared on that prefix.
#[test]
fn a_truncated_maps_read_compares_the_prefix_it_shows() {
    let dir = scratch("truncated");
    let Some(t) = record("cat", &[], &["cat", "/proc/self/maps"], &dir) else { return };
    let text = std::fs::read_to_string(&t).unwrap();
    assert!(text.lines().any(|l| l.contains("read(3, \"555555554000-") && l.contains("\"...")), "{text}");
    assert_clean("cat", &replay_file(&t), 20);
    // A prefix that differs is still a mismatch.
    let bad = text.replace("read(3, \"555555554000-", "read(3, \"555555554000+");
    let r = replay_text(bad.into_bytes(), Some(dir));
    assert_eq!(r.failed, 1, "{}", r.summary());
}

/// Filters hide calls: opens and closes (an mmap of a descriptor never seen opened is an
/// unknown file, said so in the report), forks, execve (the start of the address space is
/// unknown: the replay follows the calls and checks what they determine), munmap and brk
/// (the address space differs from the model's from the first mmap that shows it), every
/// mmap (a log that shows none has mappings the model lacks from the first call on a range
/// it does not map: the libraries'), everything but reads and opens (a maps read shows an
/// address space the model never saw begin). Where mremap may be hidden too (the log shows
/// no call of the `%memory` class but mmap and munmap), a placed mmap is not checked to be
/// in a hole: a hidden move may have made it.
/// `-e inject` and `-e fault`: strace stops the call from reaching the kernel and answers
/// itself, marking the line `(INJECTED)`. The call changed nothing: a failed munmap left its
/// mapping (the maps reads after show it), an mmap "placed" at a made-up address took no
/// room, a made-up failure ends a program the model must not have mapped anything for, a
/// brk said to fail left the break where it was.
#[test]
fn results_strace_injected() {
    let dir = scratch("injected");
    let two_reads: &[&str] = &["sh", "-c", "cat /proc/self/maps; cat /proc/self/maps"];
    let cases: &[(&str, &[&str], &[&str], u64)] = &[
        ("fault-munmap", &["-e", "fault=munmap"], two_reads, 30),
        ("mmap-enomem", &["-e", "inject=mmap:error=ENOMEM:when=12"], two_reads, 10),
        // A made-up address for a library's segment, and a call only held back (`(DELAYED)`).
        (
            "mmap-retval",
            &["-e", "inject=mmap:retval=4096:when=5", "-e", "inject=brk:delay_enter=1000"],
            &["cat", "/proc/self/maps"],
            3,
        ),
        // A break that never moves (malloc goes on with mmap).
        ("brk-retval", &["-e", "inject=brk:retval=0:when=2+"], two_reads, 30),
    ];
    for (name, flags, cmd, min) in cases {
        let Some(t) = record(name, flags, cmd, &dir) else { return };
        assert!(std::fs::read_to_string(&t).unwrap().contains("(INJECTED)"), "{name}: nothing injected");
        let r = replay_file(&t);
        assert_clean(name, &r, *min);
        assert!(r.summary().contains("calls whose result strace injected"), "{name}: {}", r.summary());
    }
}

/// A program run in a PID namespace of its own (`unshare -p`): its calls see pids from 1,
/// strace's lines name tasks by strace's pids. With `--pidns-translation` strace adds
/// each pid a result names, its own way (`= 2 /* 18527 in strace's PID NS */`); without
/// it, a fork's result is not the number the child's lines go by, and each child is bound
/// to its lines (whether they come before its fork returned or after), not taken for a
/// process a hidden fork made.
#[test]
fn a_program_in_a_pid_namespace() {
    let dir = scratch("pidns");
    if !hostreq::need_tools("a PID namespace", &["unshare"]) {
        return;
    }
    // The shell forks for `&`, vforks for the second cat and runs the last in its place.
    let script = "cat /proc/self/maps & wait; echo $$; cat /proc/self/maps";
    let cmd = ["unshare", "-p", "-f", "--mount-proc", "sh", "-c", script];
    for (name, flags) in [("translated", &["--pidns-translation"][..]), ("plain", &[][..])] {
        let Some(t) = record(name, flags, &cmd, &dir) else { return };
        let text = std::fs::read_to_string(&t).unwrap();
        assert_eq!(text.contains("in strace's PID NS */"), name == "translated", "{name}");
        let r = replay_file(&t);
        assert_clean(name, &r, 40);
        assert_eq!(maps_reads(&t), 2, "{name}");
        assert!(!r.summary().contains("a fork the trace does not show"), "{name}: {}", r.summary());
        let paired = r.bindings.iter().filter(|b| b.contains("in the traced program's PID namespace")).count();
        // The shell's two children (unshare's own is outside the namespace).
        assert_eq!(paired, if name == "plain" { 2 } else { 0 }, "{name}: {:?}", r.bindings);
        if name == "plain" {
            // The first child edited down to its end alone, as a child killed before its
            // first call shows: it is still the first fork's.
            let mut pids: Vec<&str> = Vec::new();
            for l in text.lines() {
                let pid = l.split(' ').next().unwrap_or_default();
                if !pids.contains(&pid) {
                    pids.push(pid);
                }
            }
            let first_child = pids[2];
            let edited: String = text
                .lines()
                .filter(|l| l.split(' ').next() != Some(first_child) || l.contains("+++ exited"))
                .flat_map(|l| [l, "\n"])
                .collect();
            let r = replay_text(edited.into_bytes(), Some(dir.clone()));
            assert_clean("plain, first child silent", &r, 20);
            let paired = r.bindings.iter().filter(|b| b.contains("in the traced program's PID namespace")).count();
            assert_eq!(paired, 2, "{:?}", r.bindings);
        }
    }
}

/// `strace -A -o FILE` run twice: the second run's first process comes after every task of
/// the first ended, and starts anew as the first did (not as a child of a fork the log
/// hides: its calls are checked).
#[test]
fn two_runs_appended_to_one_log() {
    let dir = scratch("appended");
    let _ = std::fs::remove_file(dir.join("both.trace"));
    let Some(t) = record("both", &["-A"], &["cat", "/proc/self/maps"], &dir) else { return };
    let Some(_) = record("both", &["-A"], &["sh", "-c", "cat /proc/self/maps"], &dir) else { return };
    assert_eq!(maps_reads(&t), 2);
    let r = replay_file(&t);
    assert_clean("appended", &r, 60);
    assert!(!r.summary().contains("a fork the trace does not show"), "{}", r.summary());
    assert!(r.notes.iter().any(|n| n.contains("strace -A")), "{}", r.summary());
}

#[test]
fn filtered_traces() {
    let dir = scratch("filters");
    let cases: &[(&str, &[&str], u64, &str)] = &[
        ("no-open-close", &["-e", "trace=!openat,close"], 50, "file name and identity of an mmap"),
        ("memory-execve", &["-e", "trace=%memory,execve"], 30, "file name and identity of an mmap"),
        ("memory-process-read", &["-e", "trace=%memory,%process,read", "-s", "4096"], 50, "file name and identity"),
        (
            "memory-execve-y",
            &["-e", "trace=%memory,execve,read", "-y", "-s", "4096"],
            30,
            "a fork the trace does not show",
        ),
        ("memory", &["-e", "trace=memory"], 30, "placement of mmap in an address space the trace does not show whole"),
        ("mmap-read-execve", &["-e", "trace=mmap,read,execve", "-s", "4096"], 10, "(a filter hid them) made differ"),
        ("mmap-munmap-read-y", &["-e", "trace=mmap,munmap,read", "-y", "-s", "4096"], 5, "reads of /proc files opened"),
        ("not-mmap", &["-e", "trace=!mmap"], 10, "address spaces that calls the trace does not show"),
        ("read-openat", &["-e", "trace=read,openat"], 0, "reads of /proc/PID/maps of an address space whose start"),
        // Every argument as a number: execve's and openat's paths are addresses.
        ("raw-all", &["-e", "raw=all"], 20, "calls in an address space whose start (execve) the trace does not show"),
    ];
    for (name, flags, min, unchecked) in cases {
        let Some(t) = record(name, flags, &["sh", "-c", "cat /proc/self/maps; cat /proc/self/maps"], &dir) else {
            return;
        };
        let r = replay_file(&t);
        assert_clean(name, &r, *min);
        assert!(r.summary().contains(unchecked), "{name}: {}", r.summary());
    }
    // `%desc` shows the calls on descriptors (mmap among them) and hides munmap, mprotect,
    // brk and execve: a placement over a mapping the log made goes where the log says.
    let Some(t) = record("desc", &["-e", "trace=%desc"], &["cat", "/proc/self/maps"], &dir) else { return };
    let r = replay_file(&t);
    assert_clean("desc", &r, 3);
    assert!(r.summary().contains("placements and maps text of a process attached to"), "{}", r.summary());
    // A log that shows no munmap at all is taken to show them all (one edited to map over a
    // live mapping must not pass); where placements then differ, the report names the
    // filter that would explain them.
    let Some(t) = record("not-munmap", &["-e", "trace=!munmap"], &["cat", "/proc/self/maps"], &dir) else { return };
    let r = replay_file(&t);
    assert!(r.failed > 0, "{}", r.summary());
    assert!(r.notes.iter().any(|n| n.contains("shows no munmap at all")), "{}", r.summary());
}

/// Where the trace does not show the start of an address space (here `-e trace=memory`
/// hides the execve), an mmap the kernel placed over a mapping the trace made and never
/// unmapped is still a mismatch.
#[test]
fn a_filtered_trace_edited_to_overlap_a_live_mapping_is_a_mismatch() {
    let dir = scratch("filters-hostile");
    let Some(t) = record("memory", &["-e", "trace=memory"], &["cat", "/proc/self/maps"], &dir) else { return };
    let text = std::fs::read_to_string(&t).unwrap();
    // The C library's anonymous 8 KiB mapping stays until the end.
    let first = text
        .lines()
        .find(|l| l.contains("mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x"))
        .unwrap();
    let (pid, rest) = first.split_once(' ').unwrap();
    let addr = rest.rsplit("= ").next().unwrap();
    let exit = text[..text.find("+++ exited").unwrap()].rfind('\n').unwrap() + 1;
    let mut bad = text.clone();
    bad.insert_str(exit, &format!("{pid} mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = {addr}\n"));
    assert!(bad.contains("munmap("), "the trace shows munmap calls");
    let r = replay_text(bad.into_bytes(), Some(dir));
    assert_eq!(r.failed, 1, "{}", r.summary());
    assert_eq!(r.mismatches[0].call, "mmap", "{}", r.mismatches[0]);
}

/// `-e trace=mmap,munmap` hides an mremap that moved a mapping: the kernel then maps again
/// where it was, over a mapping the trace never showed going away. The log shows no other
/// call of the `%memory` class, so a filter may have hidden every mremap: the mmap goes
/// where the log says.
#[test]
fn a_filter_that_hides_mremap_moves_mappings_out_of_sight() {
    let dir = scratch("filters-mremap");
    let Some(exe) = compile("moved_then_reused", "moved_then_reused.c", &[], &dir) else { return };
    let Some(t) = record("mmap-munmap", &["-e", "trace=mmap,munmap"], &[exe.to_str().unwrap()], &dir) else {
        return;
    };
    let text = std::fs::read_to_string(&t).unwrap();
    let placed: Vec<&str> =
        text.lines().filter(|l| l.contains("mmap(NULL, 1048576,")).filter_map(|l| l.rsplit("= ").next()).collect();
    assert_eq!(placed.len(), 3, "{text}");
    assert_eq!(placed[1], placed[2], "the third mapping goes where the moved one was: {text}");
    assert!(!text.contains("mremap("), "{text}");
    assert_clean("mmap-munmap", &replay_file(&t), 5);
}

/// `-e verbose=none` prints clone3's argument structure as an address: the flags that tell
/// a thread from a process are not in the log. glibc's clone3 calls are threads' and
/// posix_spawn's (whose child runs a program at once): each child is taken for a thread.
#[test]
fn clone3_without_its_flags_makes_a_thread() {
    let dir = scratch("verbose-none");
    let Some(exe) = compile("threads", "threads.c", &["-lpthread"], &dir) else { return };
    let Some(t) = record("threads", &["-e", "verbose=none"], &[exe.to_str().unwrap()], &dir) else { return };
    let text = std::fs::read_to_string(&t).unwrap();
    assert!(text.contains("clone3(0x"), "{text}");
    let r = replay_file(&t);
    assert_clean("threads", &r, 20);
    assert!(r.notes.iter().any(|n| n.contains("does not show clone3's flags")), "{}", r.summary());
    // A shell spawning programs (posix_spawn is clone3 too, where the shell uses it) and a
    // program whose children run others replay clean as well.
    let Some(t) = record("sh", &["-e", "verbose=none"], &["sh", "-c", "cat /proc/self/maps; true"], &dir) else {
        return;
    };
    assert_clean("sh", &replay_file(&t), 20);
}

/// strace without -f follows one task: a thread's calls are not in the log, and the mapping
/// a thread kept moves the main thread's next one. From the first call the model cannot
/// explain, the replay follows that address space.
#[test]
fn threads_strace_did_not_follow() {
    let dir = scratch("no-follow");
    let Some(exe) = compile("thread_keeps_mapping", "thread_keeps_mapping.c", &["-lpthread"], &dir) else { return };
    // `-q` in the place of `-f`: one task followed.
    let out = dir.join("kept.trace");
    if !common::strace_unrandomized("kept", "-q", &[], &out, &[exe.to_str().unwrap()], &dir) {
        return;
    }
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.matches("mmap(NULL, 1048576,").count(), 1, "the thread's mmap is not in the log: {text}");
    let r = replay_file(&out);
    assert_clean("kept", &r, 10);
    assert!(r.notes.iter().any(|n| n.contains("made a thread, and the log follows one task")), "{}", r.summary());
}

/// lseek and pread64 of /proc/self/maps, dup/dup2/dup3/F_DUPFD*, close_range, chdir,
/// fchdir and openat relative to directory descriptors (the mapped files' full paths are in
/// the maps text), in several recording modes.
#[test]
fn descriptor_state() {
    let dir = scratch("fds");
    let Some(exe) = compile("fds", "fds.c", &[], &dir) else { return };
    let exe = exe.to_str().unwrap();
    let modes: &[(&str, &[&str])] = &[
        ("v", &["-v", "-s", "1048576"]),
        ("plain", &[]),
        ("yy", &["-yy", "-s", "1048576"]),
        ("X-raw", &["-X", "raw", "-s", "1048576"]),
    ];
    for (mode, flags) in modes {
        let run = dir.join(mode);
        std::fs::create_dir_all(&run).unwrap();
        let name = format!("fds-{mode}");
        let Some(t) = record(&name, flags, &[exe], &run) else { return };
        let text = std::fs::read_to_string(&t).unwrap();
        for call in ["lseek(", "pread64(", "dup2(", "dup3(", "fcntl(", "close_range(", "fchdir("] {
            assert!(text.contains(call), "{name}: no {call}");
        }
        assert_clean(&name, &replay_file(&t), 35);
    }
}

/// `grep` rewinds its maps file with `lseek(3, 0, SEEK_SET)` and reads it again.
#[test]
fn grep_rewinding_its_maps() {
    if !hostreq::need_tools("grep_rewinding_its_maps", &["grep"]) {
        return;
    }
    let dir = scratch("grep");
    let Some(t) = record("grep", &["-v", "-s", "1048576"], &["grep", "-c", "-e", "r", "/proc/self/maps"], &dir) else {
        return;
    };
    assert!(std::fs::read_to_string(&t).unwrap().contains("lseek(3, 0, SEEK_SET)"));
    assert_clean("grep", &replay_file(&t), 30);
}

/// Runs `cmd` in `dir` under `setarch -R strace -ff <flags> -o PREFIX`; returns the merged
/// log of the per-process files and how many there were.
fn record_ff(name: &str, flags: &[&str], cmd: &[&str], dir: &Path) -> Option<(Vec<u8>, usize)> {
    let prefix = dir.join(name);
    if !common::strace_unrandomized(name, "-ff", flags, &prefix, cmd, dir) {
        return None;
    }
    let files = trace::per_pid_files(&prefix).unwrap();
    let logs: Vec<(u32, Vec<u8>)> = files.iter().map(|(pid, p)| (*pid, std::fs::read(p).unwrap())).collect();
    Some((trace::merge_per_pid(&logs), files.len()))
}

/// `-ff`: one file per process, merged (by time stamps when they are absolute, otherwise
/// each child after the call that created it), for a shell running two programs, and for
/// threads (whose files the merge orders; the program runs them one at a time).
#[test]
fn per_process_files_of_strace_ff() {
    let dir = scratch("ff");
    let sh = ["sh", "-c", "cat /proc/self/maps; cat /proc/self/maps"];
    for (mode, flags) in [("plain", &[][..]), ("v", &["-v", "-s", "4096"][..]), ("tt", &["-tt", "-s", "4096"][..])] {
        let name = format!("sh-{mode}");
        let Some((text, files)) = record_ff(&name, flags, &sh, &dir) else { return };
        assert_eq!(files, 3, "{name}");
        assert_clean(&name, &replay_text(text, Some(dir.clone())), 50);
    }
    let Some(exe) = compile("threads", "threads.c", &["-pthread"], &dir) else { return };
    for (mode, flags) in [("plain", &["-s", "100000"][..]), ("ttt", &["-ttt", "-s", "100000"][..])] {
        let name = format!("threads-{mode}");
        let Some((text, files)) = record_ff(&name, flags, &[exe.to_str().unwrap()], &dir) else { return };
        assert_eq!(files, 4, "{name}");
        assert_clean(&name, &replay_text(text, Some(dir.clone())), 20);
    }
}

/// Without `--cwd`, the starting directory comes from the trace: a getcwd result (the shell
/// asks for it when PWD is unset), a `-y` decoration, or the PWD variable execve shows; the
/// program opens and maps files by relative paths and reads its maps, so a wrong directory
/// would show as mismatches. The report says where the directory came from.
#[test]
fn the_starting_directory_comes_from_the_trace() {
    let dir = scratch("cwd");
    let Some(exe) = compile("fds", "fds.c", &[], &dir) else { return };
    let exe = exe.to_str().unwrap();
    let cases: &[(&str, &[&str], Option<&str>, &str)] = &[
        ("getcwd", &["-s", "4096"], None, "from the getcwd result"),
        ("decoration", &["-y", "-s", "4096"], None, "from the -y decoration of a"),
        ("pwd", &["-v", "-s", "4096"], Some("PWD"), "from the PWD variable of the execve"),
    ];
    for (name, flags, pwd, source) in cases {
        if !hostreq::need_tools(&format!("recording {name}"), &["strace", "setarch"]) {
            return;
        }
        let run = dir.join(name);
        std::fs::create_dir_all(&run).unwrap();
        let out = run.join("t.trace");
        let mut c = Command::new("setarch");
        c.args(["x86_64", "-R", "strace", "-f"]).args(*flags).arg("-o").arg(&out).arg("--");
        if *name == "getcwd" {
            c.args(["sh", "-c", &format!("exec {exe}")]);
        } else {
            c.arg(exe);
        }
        c.current_dir(&run).env_remove("PWD");
        if pwd.is_some() {
            c.env("PWD", &run);
        }
        let status = c.output().expect("run strace");
        assert!(status.status.success(), "{name}: {}", String::from_utf8_lossy(&status.stderr));
        let r = replay_text(std::fs::read(&out).unwrap(), None);
        let note = format!("starting directory {} ({source}", run.display());
        assert!(r.notes.iter().any(|n| n.starts_with(&note)), "{name}: {:?}, want {note}", r.notes);
        assert_clean(name, &r, 35);
    }
    // A stale PWD (the files the program opens by relative paths are not under it) is not
    // taken for the directory.
    let run = dir.join("stale");
    std::fs::create_dir_all(&run).unwrap();
    let out = run.join("t.trace");
    let status = Command::new("setarch")
        .args(["x86_64", "-R", "strace", "-f", "-v", "-o"])
        .arg(&out)
        .arg("--")
        .arg(exe)
        .current_dir(&run)
        .env("PWD", &dir)
        .output()
        .expect("run strace");
    assert!(status.status.success());
    let r = replay_text(std::fs::read(&out).unwrap(), None);
    assert!(r.notes.iter().any(|n| n.contains("(not in the trace")), "{:?}", r.notes);
}

/// A program run by a relative path from a directory nothing in the trace shows (no PWD,
/// getcwd or `-y`): replayed elsewhere, the program is not found, and the report says so
/// once, as a file that differs, naming the directory taken and `--cwd`; with `--cwd`, the
/// replay is clean.
#[test]
fn a_program_run_by_a_relative_path_from_an_unknown_directory() {
    let dir = scratch("relative-exec");
    let Some(exe) = compile("fds", "fds.c", &[], &dir) else { return };
    if !hostreq::need_tools("recording a relative execve", &["strace", "setarch"]) {
        return;
    }
    let run = dir.join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::copy(&exe, run.join("prog")).unwrap();
    let out = run.join("t.trace");
    let status = Command::new("setarch")
        .args(["x86_64", "-R", "strace", "-f", "-o"])
        .arg(&out)
        .args(["--", "./prog"])
        .current_dir(&run)
        .env_remove("PWD")
        .output()
        .expect("run strace");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let text = std::fs::read(&out).unwrap();
    let r = replay_text(text.clone(), None);
    assert!(r.notes.iter().any(|n| n.contains("(not in the trace")), "{:?}", r.notes);
    assert!(r.differs.iter().any(|d| d.contains("./prog: not found from") && d.contains("--cwd")), "{:?}", r.differs);
    assert_clean("relative-exec --cwd", &replay_text(text, Some(run)), 35);
}

/// /proc/self/maps read in short pieces while the program maps and unmaps below and above
/// the point read to: each read goes on by address after the rest of a cut line, as a
/// seq_file does; lseek and pread64 at other offsets make the text again from the start.
#[test]
fn maps_read_in_pieces_as_a_seq_file() {
    let dir = scratch("seqfile");
    let Some(exe) = compile("seqfile", "seqfile.c", &[], &dir) else { return };
    for (mode, flags) in [("v", &["-v", "-s", "1048576"][..]), ("plain", &[][..])] {
        let name = format!("seqfile-{mode}");
        let Some(t) = record(&name, flags, &[exe.to_str().unwrap()], &dir) else { return };
        let reads = std::fs::read_to_string(&t).unwrap().matches("read64(3, \"").count()
            + std::fs::read_to_string(&t).unwrap().matches(" read(3, \"").count();
        assert!(reads >= 10, "{name}: {reads} reads");
        assert_clean(&name, &replay_file(&t), 12);
    }
}

/// A thread's chdir moves the whole process: the main thread's relative open after it is in
/// the new directory (its mapping is named by that path in the maps text).
#[test]
fn a_thread_changes_the_directory_of_its_process() {
    let dir = scratch("thread-chdir");
    let Some(exe) = compile("thread_chdir", "thread_chdir.c", &["-pthread"], &dir) else { return };
    let Some(t) = record("thread_chdir", &["-v", "-s", "1048576"], &[exe.to_str().unwrap()], &dir) else { return };
    let text = std::fs::read_to_string(&t).unwrap();
    assert!(text.contains("/sub/file\\n"), "the maps read shows the file");
    assert_clean("thread_chdir", &replay_file(&t), 10);
}

/// The starting directory's source as the streamed identity pass and the parsed-once one
/// word it, for a log's text.
fn cwd_sources(text: &[u8]) -> (String, String) {
    let streamed = replay::Identities::collect(text).start_cwd().map(|c| c.source.clone()).unwrap_or_default();
    let log = replay::ParsedLog::parse(text.to_vec());
    let parsed = replay::Identities::of_parsed(&log).start_cwd().map(|c| c.source.clone()).unwrap_or_default();
    (streamed, parsed)
}

/// strace writing to stderr without `-f` prefixes no line with a pid; the parser names the
/// process once a result shows its pid (`set_tid_address`). Both ways of reading a log say
/// where the directory came from in the same words, naming no pid the lines do not show;
/// a prefixed log names the task.
#[test]
fn an_unprefixed_log_names_no_pid_for_its_starting_directory() {
    let unprefixed = b"execve(\"/bin/true\", [\"true\"], 0x7ffd0 /* 3 vars */) = 0\n\
        brk(NULL) = 0x555555559000\n\
        set_tid_address(0x7ffff7fcea10) = 4321\n\
        getcwd(\"/tmp/x\", 4096) = 7\n\
        exit_group(0) = ?\n\
        +++ exited with 0 +++\n";
    let (streamed, parsed) = cwd_sources(unprefixed);
    assert_eq!((streamed.as_str(), parsed.as_str()), ("the getcwd result", "the getcwd result"));
    let prefixed = String::from_utf8_lossy(unprefixed).lines().map(|l| format!("4321  {l}\n")).collect::<String>();
    let (streamed, parsed) = cwd_sources(prefixed.as_bytes());
    assert_eq!(streamed, "the getcwd result of pid 4321");
    assert_eq!(parsed, streamed);
}

/// The same kind of log recorded: `strace` without `-f` writing to stderr. Its lines name the
/// process only once the parser learned its pid; the replay must take them for one process
/// (not a second one that appeared without a fork), streamed or parsed once, and check
/// everything.
#[test]
fn an_unprefixed_stderr_log_is_one_process() {
    if !hostreq::need_tools("strace to stderr", &["strace", "setarch", "sh", "cat"]) {
        return;
    }
    let dir = scratch("stderr");
    let out = dir.join("stderr.trace");
    let status = Command::new("setarch")
        .args(["x86_64", "-R", "strace", "-s", "65536", "sh", "-c"])
        .arg(format!("cd {}; exec cat /proc/self/maps", dir.display()))
        .current_dir(&dir)
        .env_remove("PWD")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&out).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read(&out).unwrap();
    assert!(text.starts_with(b"execve("), "no prefix expected: {}", String::from_utf8_lossy(&text[..40]));
    let (streamed, parsed) = cwd_sources(&text);
    assert_eq!(streamed, parsed);
    let log = replay::ParsedLog::parse(text.clone());
    let opts = Options { mode: Mode::Verify, keep_going: false, cwd: None, threads_unordered: false };
    let files = std::sync::Arc::new(replay::Files::host());
    let once = replay::replay_parsed(&log, replay::Identities::of_parsed(&log), opts, files, |_| {});
    for (how, r) in [("streamed", replay_text(text.clone(), None)), ("parsed once", once)] {
        assert_clean(how, &r, 10);
        assert!(r.unchecked.is_empty(), "{how}: {}", r.summary());
        assert!(!r.notes.iter().any(|n| n.contains("does not show how")), "{how}: {:?}", r.notes);
    }
}

/// A program that runs itself again through `/proc/self/exe`: the link names the traced
/// program (not the replaying process's own executable), so the second image's maps read
/// checks clean. Its sysinfo result shows the recording machine's RAM, which is bound from
/// that line (in bytes: totalram × mem_unit).
#[test]
fn a_program_reexecuted_through_proc_self_exe() {
    let dir = scratch("reexec");
    let Some(exe) = compile("reexec", "reexec.c", &[], &dir) else { return };
    for (mode, flags) in [("v", &["-v", "-s", "1048576"][..]), ("plain", &[][..])] {
        let name = format!("reexec-{mode}");
        let Some(t) = record(&name, flags, &[exe.to_str().unwrap()], &dir) else { return };
        let text = std::fs::read_to_string(&t).unwrap();
        assert_eq!(text.matches("execve(").count(), 2, "{name}: {text}");
        let r = replay_file(&t);
        assert_clean(&name, &r, 10);
        assert!(r.unchecked.is_empty(), "{name}: {}", r.summary());
        let (at, sysinfo) = text.lines().enumerate().find(|(_, l)| l.contains("sysinfo({")).expect("a sysinfo line");
        let field = |f: &str| -> u64 {
            sysinfo.split(&format!("{f}=")).nth(1).unwrap().split([',', '}']).next().unwrap().parse().unwrap()
        };
        let ram = field("totalram") * field("mem_unit");
        let want = format!("bound MemTotal in /proc/meminfo (bytes) = {ram} from line {}", at + 1);
        assert!(r.bindings.contains(&want) || ram == replay::DEFAULT_RAM, "{name}: {want}\n{:?}", r.bindings);
    }
}

/// `-ff` files of threads mapping, moving and unmapping at once (tests/progs/threads_mapping.c
/// built with -DMOVE), without and with time stamps, replayed as `mmsim replay PREFIX`
/// replays them: their lines are whole calls, so how the threads' calls interleaved in the
/// kernel is not in the files (`threads_unordered`). Each thread's mappings go (and move)
/// where its file says, unchecked, and the report counts them; everything before the threads
/// start, and every call's own result where the order cannot matter, is still checked. Two
/// recordings of each, all clean.
#[test]
fn per_thread_files_of_threads_mapping_at_once() {
    let dir = scratch("ff-threads");
    let Some(exe) = compile("threads_moving", "threads_mapping.c", &["-pthread", "-DMOVE"], &dir) else { return };
    for (mode, flags) in [("plain", &[][..]), ("tt", &["-tt"][..])] {
        for run in 0..2 {
            let name = format!("threads-mapping-{mode}-{run}");
            let Some((text, files)) = record_ff(&name, flags, &[exe.to_str().unwrap()], &dir) else { return };
            assert_eq!(files, 6, "{name}: the process and its five threads");
            let opts =
                Options { mode: Mode::Verify, keep_going: false, cwd: Some(dir.clone()), threads_unordered: true };
            let r = common::replay_bytes(&text, opts);
            assert_clean(&name, &r, 100);
            assert!(r.unchecked.keys().any(|k| k.contains("strace -ff")), "{name}: {:?}", r.unchecked);
        }
    }
}
