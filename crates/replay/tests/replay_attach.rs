//! Traces of a process strace attached to (`strace -p PID`), recorded here as a user
//! records them: the program runs, strace attaches, the program changes its address space
//! (mmap, mprotect, munmap of new and old mappings, brk) and someone reads its maps — or
//! nobody does. The state at the attach is an unknown: a maps read shows the state at that
//! read, and the trace's own calls before it, undone, give the state at the attach. Each
//! recording, 64-bit and `gcc -m32`, with address-space randomization on and off, must
//! replay with zero mismatches; a trace edited to contradict what was learned must not.

mod common;

use common::{assert_clean, problems, record_attached, replay_file};
use replay::{Mode, Report};
use std::path::{Path, PathBuf};

/// Who reads the program's maps, and when (see tests/progs/attach_changes.c).
const MODES: [&str; 6] = ["maps", "first", "none", "fork", "thread", "exec"];

/// Builds tests/progs/attach_changes.c with `gcc -O1 -pthread <flags>`.
fn build(name: &str, flags: &[&str], dir: &Path) -> Option<PathBuf> {
    let mut all = vec!["-pthread"];
    all.extend(flags);
    common::compile(name, "attach_changes.c", &all, dir)
}

/// The line number a binding names (`... from line N ...`).
fn bound_at(r: &Report, what: &str) -> Option<u64> {
    let b = r.bindings.iter().find(|b| b.contains(what))?;
    b.split("from line ").nth(1)?.split(' ').next()?.parse().ok()
}

/// The line of the trace at `path` (1-based) on which the first read of /proc/self/maps
/// whose text is whole returned.
fn first_maps_read(path: &Path) -> u64 {
    let text = std::fs::read_to_string(path).unwrap();
    let at = text
        .lines()
        .position(|l| (l.contains(" read(") || l.contains("read resumed>")) && l.contains("[stack]"))
        .expect("a whole maps read");
    at as u64 + 1
}

/// Records `exe` attached to in every mode, with ASLR on and off, replays each trace and
/// checks what it learned.
fn every_mode(bits: &str, exe: &Path, dir: &Path) {
    for mode in MODES {
        for unrandomized in [false, true] {
            let name = format!("{bits}-{mode}-{}", if unrandomized { "norandom" } else { "aslr" });
            let Some(t) = record_attached(&name, exe, &[mode], unrandomized, &["-v", "-s", "1048576"], dir) else {
                return;
            };
            let r = replay_file(&t, Mode::Verify);
            assert_clean(&name, &r, 9);
            assert!(r.bindings.iter().any(|b| b.contains("existed before the trace")), "{name}: {:?}", r.bindings);
            match mode {
                // A read of the process itself, a thread or a forked child: the state at
                // the attach is learned there, and everything is checked.
                "maps" | "first" | "fork" | "thread" => {
                    let read = first_maps_read(&t);
                    assert_eq!(bound_at(&r, "attached process's"), Some(read), "{name}: {:?}", r.bindings);
                    assert!(r.unchecked.is_empty(), "{name}: {}", r.summary());
                }
                // Nothing shows the process whole before its exec (or ever): the placements
                // that depend on what was mapped are said to be unchecked, never mismatches;
                // the mapping made before the trace that the program protects is learned
                // where the call shows it.
                _ => {
                    assert!(!r.unchecked.is_empty(), "{name}: {}", r.summary());
                    assert!(bound_at(&r, "a mapping").is_some(), "{name}: {:?}", r.bindings);
                    assert!(bound_at(&r, "attached process's").is_none(), "{name}: {:?}", r.bindings);
                }
            }
            if mode == "first" {
                // The read before any change shows no heap: the first brk gives it.
                assert!(bound_at(&r, "heap start and break").is_some(), "{name}: {:?}", r.bindings);
            }
            if mode == "maps" || mode == "fork" {
                // The heap was empty at the attach: its three sbrk calls are undone.
                let b = r.bindings.iter().find(|b| b.contains("attached process's")).unwrap();
                let heap: Vec<&str> = b.split("start_brk ").nth(1).unwrap().split([',', ')']).collect();
                assert_eq!(heap[0], heap[1].trim_start_matches(" brk "), "{name}: {b}");
            }
        }
    }
}

#[test]
fn a_64_bit_process_attached_to_in_every_mode() {
    let dir = common::scratch("replay-attach", "64");
    let Some(exe) = build("attach_changes", &[], &dir) else { return };
    every_mode("64", &exe, &dir);
}

#[test]
fn a_32_bit_process_attached_to_in_every_mode() {
    let dir = common::scratch("replay-attach", "32");
    if hostreq::need("building attach_changes with gcc -m32", hostreq::check_gcc_m32()).is_none() {
        return;
    }
    let Some(exe) = build("attach_changes32", &["-m32"], &dir) else { return };
    every_mode("32", &exe, &dir);
    // The process ran in 32-bit mode: its address space is an ia32 compat one, whose mmap
    // area lies below 4 GiB.
    let t = dir.join("32-maps-aslr.trace");
    let r = replay_file(&t, Mode::Verify);
    let b = r.bindings.iter().find(|b| b.contains("attached process's")).unwrap();
    let base = b.split("mmap_base 0x").nth(1).unwrap().split([',', ')']).next().unwrap();
    assert!(u64::from_str_radix(base, 16).unwrap() < 1 << 32, "{b}");
}

/// A trace edited after what it teaches is known: a brk result, and the first brk's (which
/// gives the heap of a process whose maps read showed none) made to contradict the read
/// that follows. Each is a mismatch, not something learned.
#[test]
fn an_edited_attached_trace_is_a_mismatch() {
    let dir = common::scratch("replay-attach", "edited");
    let Some(exe) = build("attach_changes", &[], &dir) else { return };
    let Some(t) = record_attached("first", &exe, &["first"], false, &["-v", "-s", "1048576"], &dir) else { return };
    let text = std::fs::read_to_string(&t).unwrap();
    let brks: Vec<(usize, &str)> = text.lines().enumerate().filter(|(_, l)| l.contains(" brk(")).collect();
    assert!(brks.len() >= 3, "{text}");
    // `brk(0x...) = 0x...`: a result one page above the break asked for.
    let moved = |line: &str| {
        let (call, result) = line.rsplit_once("= 0x").unwrap();
        let value = u64::from_str_radix(result.trim(), 16).unwrap() + 0x1000;
        format!("{call}= {value:#x}")
    };
    for (which, (at, line)) in [("second", brks[1]), ("first", brks[0])] {
        let edited: Vec<String> =
            text.lines().enumerate().map(|(i, l)| if i == at { moved(line) } else { l.to_string() }).collect();
        let path = dir.join(format!("edited-{which}-brk.trace"));
        std::fs::write(&path, edited.join("\n") + "\n").unwrap();
        let r = replay_file(&path, Mode::Verify);
        assert!(
            r.failed > 0 && r.errors.is_empty(),
            "{which} brk edited: {}\n{}",
            r.summary(),
            problems(&r).join("\n")
        );
    }
}

/// A real program attached to: python, waiting on stdin, then allocating (malloc's arenas
/// and the heap), mapping and unmapping, importing modules (which maps their libraries),
/// and reading its maps twice — a text of many lines, which python reads in several pieces
/// of odd sizes. The state at the attach is learned from the first read, less the calls
/// before it; everything is checked.
#[test]
fn python_attached_to() {
    if !hostreq::need_tools("python attached to", &["python3"]) {
        return;
    }
    let dir = common::scratch("replay-attach", "python");
    let code = "import sys, mmap\n\
        print('ready'); sys.stdin.readline()\n\
        a = [bytearray(300000) for i in range(20)]\n\
        m = mmap.mmap(-1, 1 << 20); m[0:1] = b'x'; m.close()\n\
        del a\n\
        import json, decimal\n\
        open('/proc/self/maps').read()\n\
        b = [bytearray(200000) for i in range(5)]\n\
        open('/proc/self/maps').read()\n";
    let python = hostreq::find_tool("python3").expect("python3");
    for unrandomized in [false, true] {
        let name = format!("python-{}", if unrandomized { "norandom" } else { "aslr" });
        let Some(t) =
            record_attached(&name, &python, &["-u", "-c", code], unrandomized, &["-v", "-s", "1048576"], &dir)
        else {
            return;
        };
        let r = replay_file(&t, Mode::Verify);
        assert_clean(&name, &r, 30);
        assert_eq!(bound_at(&r, "attached process's"), Some(first_maps_read(&t)), "{name}: {:?}", r.bindings);
        assert!(r.unchecked.is_empty(), "{name}: {}", r.summary());
    }
}

/// Processes with a thread the trace never saw created (`strace -f -p` attaches every
/// thread of a process at once), one process or two (`-p A -p B`). A task whose start the
/// trace does not show is a process of its own until a maps read shows the mappings it
/// made in another's address space; then it is that process's thread, the calls of both
/// are undone to learn the start, and everything is checked. Two processes started alike
/// with randomization off map alike, so a read cannot tell whose thread made what: then
/// nothing is bound, the placements that depend on it are unchecked, and none is a
/// mismatch.
#[test]
fn threads_and_processes_attached_to_together() {
    let dir = common::scratch("replay-attach", "group");
    let Some(exe) = common::compile("attach_threads", "attach_threads.c", &["-pthread"], &dir) else { return };
    let maps: &[&str] = &["maps"];
    let quiet: &[&str] = &[];
    let shares = |r: &Report| r.bindings.iter().filter(|b| b.contains("shares the address space")).count();
    let starts = |r: &Report| r.bindings.iter().filter(|b| b.contains("attached process's")).count();
    for unrandomized in [false, true] {
        let aslr = if unrandomized { "norandom" } else { "aslr" };
        let record = |name: &str, progs: &[(&Path, &[&str])]| {
            common::record_attached_many(name, progs, unrandomized, true, &["-v", "-s", "1048576"], &dir)
        };

        let name = format!("one-{aslr}");
        let Some(t) = record(&name, &[(&exe, maps)]) else { return };
        let r = replay_file(&t, Mode::Verify);
        assert_clean(&name, &r, 10);
        assert_eq!((shares(&r), starts(&r)), (1, 1), "{name}: {:?}", r.bindings);
        assert!(r.unchecked.is_empty(), "{name}: {}", r.summary());
        assert_eq!(bound_at(&r, "attached process's"), Some(first_maps_read(&t)), "{name}: {:?}", r.bindings);

        let name = format!("unread-{aslr}");
        let Some(t) = record(&name, &[(&exe, quiet)]) else { return };
        let r = replay_file(&t, Mode::Verify);
        assert_clean(&name, &r, 3);
        assert_eq!((shares(&r), starts(&r)), (0, 0), "{name}: {:?}", r.bindings);
        assert!(!r.unchecked.is_empty(), "{name}: {}", r.summary());

        let name = format!("two-{aslr}");
        let Some(t) = record(&name, &[(&exe, maps), (&exe, maps)]) else { return };
        let r = replay_file(&t, Mode::Verify);
        assert_clean(&name, &r, 10);
        assert_eq!(starts(&r), 2, "{name}: {:?}", r.bindings);
        if !unrandomized {
            assert_eq!(shares(&r), 2, "{name}: {:?}", r.bindings);
            assert!(r.unchecked.is_empty(), "{name}: {}", r.summary());
        }
    }

    // What the thread's binding makes checkable is checked: the main thread's last mapping,
    // before its read, moved 1 GiB lower, is a mismatch.
    let t = dir.join("one-aslr.trace");
    let text = std::fs::read_to_string(&t).unwrap();
    let at = text.lines().position(|l| l.contains("mmap(NULL, 8192, PROT_READ,")).expect("the last mmap");
    let edited: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i != at {
                return l.to_string();
            }
            let (call, result) = l.rsplit_once("= 0x").unwrap();
            format!("{call}= {:#x}", u64::from_str_radix(result.trim(), 16).unwrap() - (1 << 30))
        })
        .collect();
    let path = dir.join("one-edited.trace");
    std::fs::write(&path, edited.join("\n") + "\n").unwrap();
    let r = replay_file(&path, Mode::Verify);
    assert!(r.failed > 0 && r.errors.is_empty(), "{}\n{}", r.summary(), problems(&r).join("\n"));
}

/// Memory made before the attach that Linux keeps apart from a plain new neighbour although
/// maps shows nothing that tells them apart (progs/attach_apart.c: MAP_NORESERVE). The first
/// read shows the new mapping unmerged next to it: the learned start keeps it apart, and the
/// mapping after it, which merges with the new one, is checked by the second read.
#[test]
fn memory_kept_apart_from_new_neighbours() {
    let dir = common::scratch("replay-attach", "apart");
    let Some(exe) = common::compile("attach_apart", "attach_apart.c", &[], &dir) else { return };
    for unrandomized in [false, true] {
        let name = format!("apart-{}", if unrandomized { "norandom" } else { "aslr" });
        let Some(t) = record_attached(&name, &exe, &[], unrandomized, &["-v", "-s", "1048576"], &dir) else {
            return;
        };
        let r = replay_file(&t, Mode::Verify);
        assert_clean(&name, &r, 6);
        assert!(r.bindings.iter().any(|b| b.contains("kept apart from new neighbours")), "{name}: {:?}", r.bindings);
        assert!(r.unchecked.is_empty(), "{name}: {}", r.summary());
    }
}

/// `strace -f -p` (plain, randomization on) of a process whose four threads map, grow
/// with mremap and unmap at once (progs/threads_mapping.c with -DMOVE -DATTACH): its
/// mappings go where the log says, unchecked, as nothing shows the layout before the
/// attach; a place another thread's mapping still holds in the model, which that thread's
/// call in progress removes or moves, is taken once that call is done ahead of its line,
/// and a move done so goes where its own line says. Before, a recording of this program
/// showed 31 mismatches of ~800 checks (and of a version running twenty times as long,
/// 700-860 of ~16,000); after, 24 of 24 recordings clean. Four recordings, three at least
/// clean (see `threads_moving_mappings_at_once` in replay_aslr.rs for the rare orders left).
#[test]
fn threads_moving_mappings_attached_to() {
    let dir = common::scratch("replay-attach", "threads-moving");
    let flags = ["-pthread", "-DMOVE", "-DATTACH"];
    let Some(exe) = common::compile("threads_moving", "threads_mapping.c", &flags, &dir) else { return };
    let mut replays = Vec::new();
    for run in 0..4 {
        let name = format!("threads-moving-{run}");
        let Some(t) = record_attached(&name, &exe, &[], false, &[], &dir) else { return };
        replays.push((name, t.clone(), replay_file(&t, Mode::Verify)));
    }
    common::assert_mostly_clean(&replays, 3, 500);
}

/// A pool of threads made before the attach that map nothing (progs/attach_pool.c): one is
/// ended by the main thread's exit_group, one frees memory only the main thread's address
/// space maps, one opens a page of a reservation next to an arena (which merges with it).
/// With randomization on, each is learned to be the process's thread, and everything is
/// checked; with it off, memory another process started alike would map alike tells
/// nothing, and no line is a mismatch either way.
#[test]
fn a_pool_of_threads_that_map_nothing() {
    let dir = common::scratch("replay-attach", "pool");
    let Some(exe) = common::compile("attach_pool", "attach_pool.c", &["-pthread"], &dir) else { return };
    for unrandomized in [false, true] {
        let name = format!("pool-{}", if unrandomized { "norandom" } else { "aslr" });
        let Some(t) = record_attached(&name, &exe, &[], unrandomized, &["-v", "-s", "1048576"], &dir) else {
            return;
        };
        let r = replay_file(&t, Mode::Verify);
        assert_clean(&name, &r, 5);
        let by =
            |why: &str| r.bindings.iter().filter(|b| b.contains("shares the address space") && b.contains(why)).count();
        assert!(by("exit_group") >= 1, "{name}: {:?}", r.bindings);
        if !unrandomized {
            assert_eq!(by("memory only the other's"), 2, "{name}: {:?}", r.bindings);
            assert!(r.unchecked.is_empty(), "{name}: {}", r.summary());
        }
    }
}

/// `strace -p PID` without `-f` traces one thread: the process's other threads change its
/// address space with calls the trace does not show (progs/attach_threads.c: the worker
/// maps and unmaps between two maps reads of the main thread, which maps too). Once what
/// the log shows differs from what the traced calls explain,
/// the replay follows that address space, says why, and reports no mismatch.
#[test]
fn one_thread_of_a_threaded_process_attached_to() {
    let dir = common::scratch("replay-attach", "one-thread");
    let Some(exe) = common::compile("attach_threads", "attach_threads.c", &["-pthread"], &dir) else { return };
    for unrandomized in [false, true] {
        let name = format!("one-thread-{}", if unrandomized { "norandom" } else { "aslr" });
        let twice: &[&str] = &["twice"];
        let Some(t) =
            common::record_attached_many(&name, &[(&exe, twice)], unrandomized, false, &["-s", "1048576"], &dir)
        else {
            return;
        };
        let r = replay_file(&t, Mode::Verify);
        assert_clean(&name, &r, 3);
        assert!(r.bindings.iter().any(|b| b.contains("the traced process existed")), "{name}: {:?}", r.bindings);
        assert!(
            r.notes.iter().any(|n| n.contains("without -f traced one thread")),
            "{name}: {:?}\n{}",
            r.notes,
            r.summary()
        );
    }
}

/// A pool log (progs/attach_pool.c, recorded by this file's pool test in a CI run) whose
/// first line is a thread's, and where the thread that frees the main thread's memory
/// showed before the task whose address space the runs learn: each task found to be a
/// thread of a process begins that process when it shows first, and the others join it.
/// Before, the thread became a process of its own and its mprotect of the process's arena
/// failed (ENOMEM) in the model.
#[test]
fn a_thread_of_a_pool_that_shows_before_its_process() {
    let dir = common::scratch("replay-attach", "thread-first");
    let kept = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/attach_pool_thread_first.trace");
    let trace = dir.join("pool.trace");
    std::fs::copy(&kept, &trace).unwrap();
    let r = replay_file(&trace, Mode::Verify);
    assert_clean("thread-first", &r, 6);
    let shares = r.bindings.iter().filter(|b| b.contains("shares the address space")).count();
    assert_eq!(shares, 3, "{:?}", r.bindings);
}

/// Memory from before the attach that an mlock in the log splits (maps shows three lines
/// where there was one) and an munlock joins again (progs/attach_mlock.c): the start
/// learned from the first read undoes the split, so that the munlock's merge happens in the
/// model too and the second read matches.
#[test]
fn memory_from_before_the_attach_locked_and_unlocked() {
    let dir = common::scratch("replay-attach", "mlock");
    let Some(exe) = common::compile("attach_mlock", "attach_mlock.c", &[], &dir) else { return };
    for unrandomized in [false, true] {
        let name = format!("mlock-{}", if unrandomized { "norandom" } else { "aslr" });
        let Some(t) = record_attached(&name, &exe, &[], unrandomized, &["-v", "-s", "1048576"], &dir) else {
            return;
        };
        let r = replay_file(&t, Mode::Verify);
        assert_clean(&name, &r, 4);
        assert!(r.unchecked.is_empty(), "{name}: {}", r.summary());
    }
}

/// A process attached to with SysV segments attached from before the attach
/// (progs/attach_sysv.c): the segments its first maps read shows are made then, with the
/// identifiers and keys maps names, so that shmget of the key, IPC_STAT, shmdt of each
/// attach (one cut in two) and a new attach replay as the kernel ran them.
#[test]
fn sysv_segments_attached_before_the_attach() {
    let dir = common::scratch("replay-attach", "sysv");
    let Some(exe) = common::compile("attach_sysv", "attach_sysv.c", &[], &dir) else { return };
    for unrandomized in [false, true] {
        let name = format!("sysv-{}", if unrandomized { "norandom" } else { "aslr" });
        let Some(t) = record_attached(&name, &exe, &[], unrandomized, &["-v", "-s", "1048576"], &dir) else {
            return;
        };
        let r = replay_file(&t, Mode::Verify);
        assert_clean(&name, &r, 8);
        assert!(r.bindings.iter().any(|b| b.contains("SysV segment")), "{name}: {:?}", r.bindings);
    }
}

/// A block a process mapped before the trace attached, grown (and moved) with mremap in the
/// trace: the first mremap shows the old range was mapped, which the next run has, and the
/// growth is replayed on it.
#[test]
fn a_mapping_made_before_the_attach_grown_with_mremap() {
    let dir = common::scratch("replay-attach", "grow");
    let Some(exe) = common::compile("attach_grow", "attach_grow.c", &[], &dir) else { return };
    for (name, unrandomized) in [("grow-aslr", false), ("grow", true)] {
        let Some(t) = record_attached(name, &exe, &[], unrandomized, &[], &dir) else { return };
        let text = std::fs::read_to_string(&t).unwrap();
        assert!(text.contains("mremap("), "{text}");
        let r = replay_file(&t, Mode::Verify);
        assert_clean(name, &r, 3);
        assert!(r.bindings.iter().any(|b| b.starts_with("bound a mapping ")), "{:?}", r.bindings);
    }
}

/// strace stopped by Ctrl-C detaches, ending the line of the call in progress with
/// `<detached ...>`: a call that never finishes in the log, not a line that cannot be read.
#[test]
fn a_trace_ended_by_detaching_mid_call() {
    if !hostreq::need_tools("detaching strace", &["strace", "sleep", "kill"]) {
        return;
    }
    let dir = common::scratch("replay-attach", "detached");
    let mut sleeper = std::process::Command::new("sleep").arg("30").spawn().unwrap();
    let out = dir.join("detached.trace");
    let mut strace = std::process::Command::new("strace")
        .args(["-f", "-o"])
        .arg(&out)
        .args(["-p", &sleeper.id().to_string()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // `strace: Process N attached`; the call in progress is written when strace detaches.
    let mut said = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(strace.stderr.take().unwrap()), &mut said).unwrap();
    assert!(said.contains("attached"), "{said}");
    std::thread::sleep(std::time::Duration::from_millis(100));
    let pid = strace.id().to_string();
    assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    strace.wait().unwrap();
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.trim_end().ends_with("<detached ...>"), "{text}");
    let r = replay_file(&out, Mode::Verify);
    assert!(r.errors.is_empty() && r.failed == 0, "{}", r.summary());
}
