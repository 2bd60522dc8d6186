//! Smoke tests of the host runner on the real kernel.
//!
//! They run where [`hostdiff::is_supported`] is true (Linux x86-64 with the C
//! child built) and print a note and pass elsewhere, so a machine without a C
//! compiler still builds and tests the rest of the workspace; under
//! `MMSIM_REQUIRE_HOST=1` they fail there instead (see the `hostreq` crate).

use std::process::Command;
use std::time::Instant;

use hostdiff::{Addr, Fd, HostRun, HostScript, Op, OpenMode, Outcome};

const PAGE: u64 = 4096;
const PROT_READ: u64 = 1;
const PROT_WRITE: u64 = 2;
const MAP_PRIVATE: u64 = 0x02;
const MAP_ANONYMOUS: u64 = 0x20;
const SIGBUS: i32 = 7;
const SIGSEGV: i32 = 11;
const SEGV_MAPERR: i32 = 1;
const SEGV_ACCERR: i32 = 2;
const BUS_ADRERR: i32 = 2;
const EFAULT: i32 = 14;
const EINVAL: i32 = 22;

/// The size of the test file: one full page and part of a second.
const FILE_SIZE: u64 = 6000;

#[track_caller]
fn supported() -> bool {
    hostreq::need("a host smoke test", hostdiff::support()).is_some()
}

fn at(op: usize, offset: i64) -> Addr {
    Addr::Result { op, offset }
}

/// Step indices of the smoke script that the checks refer to.
struct Smoke {
    script: HostScript,
    anon: usize,
    file_map: usize,
}

fn smoke_script() -> Smoke {
    let mut s = HostScript::new();
    let file = s.add_file(FILE_SIZE);
    let fd = s.open(file, OpenMode::ReadOnly);

    // Three private anonymous pages, all written, then a hole in the middle.
    let anon = s.push(
        0,
        Op::Mmap {
            addr: Addr::Abs(0),
            len: 3 * PAGE,
            prot: PROT_READ | PROT_WRITE,
            flags: MAP_PRIVATE | MAP_ANONYMOUS,
            fd: Fd::None,
            offset: 0,
        },
    );
    s.push(0, Op::Store { addr: at(anon, 0), len: 3 * PAGE, byte: 0xaa });
    s.push(0, Op::Load { addr: at(anon, 0), len: 16 });
    s.push(0, Op::Munmap { addr: at(anon, PAGE as i64), len: PAGE });
    s.push(0, Op::Load { addr: at(anon, PAGE as i64), len: 1 });
    // A load that runs into the hole: two bytes, then the fault.
    s.push(0, Op::Load { addr: at(anon, PAGE as i64 - 2), len: 4 });

    // Fork: the child writes, both read; the parent keeps its bytes (COW).
    s.push(0, Op::Fork);
    s.push(1, Op::Store { addr: at(anon, 0), len: 8, byte: 0xbb });
    s.push(1, Op::Load { addr: at(anon, 0), len: 8 });
    s.push(0, Op::Load { addr: at(anon, 0), len: 8 });

    // A private read-only file mapping of three pages over a 6000-byte file.
    let file_map = s.push(
        0,
        Op::Mmap {
            addr: Addr::Abs(0),
            len: 3 * PAGE,
            prot: PROT_READ,
            flags: MAP_PRIVATE,
            fd: Fd::Slot(fd),
            offset: 0,
        },
    );
    s.push(0, Op::Load { addr: at(file_map, 0), len: FILE_SIZE });
    s.push(0, Op::Load { addr: at(file_map, FILE_SIZE as i64), len: 2 * PAGE - FILE_SIZE });
    s.push(0, Op::Load { addr: at(file_map, 2 * PAGE as i64), len: 1 });
    s.push(0, Op::Store { addr: at(file_map, 0), len: 1, byte: 1 });

    // The kernel copy path.
    s.push(0, Op::KRead { addr: at(anon, PAGE as i64), len: 16 });
    s.push(0, Op::KRead { addr: at(anon, 0), len: 8 });
    s.push(1, Op::KWrite { addr: at(anon, 2 * PAGE as i64), len: 10, byte: 0xcc });
    s.push(1, Op::Load { addr: at(anon, 2 * PAGE as i64), len: 12 });

    s.push(
        0,
        Op::Mmap {
            addr: Addr::Abs(0),
            len: 0,
            prot: PROT_READ,
            flags: MAP_PRIVATE | MAP_ANONYMOUS,
            fd: Fd::None,
            offset: 0,
        },
    );
    s.push(0, Op::Brk { addr: Addr::Abs(0) });
    s.push(0, Op::Maps);
    s.push(1, Op::Maps);
    s.push(1, Op::Smaps);
    s.push(1, Op::Exit);
    s.push(0, Op::Smaps);
    Smoke { script: s, anon, file_map }
}

fn value(run: &HostRun, step: usize) -> u64 {
    match run.outcomes[step] {
        Outcome::Value(v) => v,
        ref other => panic!("step {step}: expected a value, got {other:?}"),
    }
}

fn text(run: &HostRun, step: usize) -> &str {
    match &run.outcomes[step] {
        Outcome::Text(t) => t,
        other => panic!("step {step}: expected text, got {other:?}"),
    }
}

/// The start of the maps line of an anonymous private mapping.
fn anon_line(start: u64, end: u64, perms: &str) -> String {
    format!("{start:08x}-{end:08x} {perms} 00000000 00:00 0 ")
}

#[test]
fn smoke_script_matches_what_linux_does() {
    if !supported() {
        return;
    }
    let smoke = smoke_script();
    let t0 = Instant::now();
    let run = hostdiff::run_on_host(&smoke.script).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("one run of the smoke script took {:?}", t0.elapsed());
    let o = &run.outcomes;
    let m = value(&run, smoke.anon);
    let f = value(&run, smoke.file_map);
    assert_eq!(m % PAGE, 0);
    assert_eq!(f % PAGE, 0);

    // Anonymous memory, the hole, and a fault after two bytes.
    assert_eq!(o[1], Outcome::Done);
    assert_eq!(o[2], Outcome::Bytes(vec![0xaa; 16]));
    assert_eq!(o[3], Outcome::Value(0));
    let maperr = |addr, done| Outcome::Signal { signo: SIGSEGV, code: SEGV_MAPERR, addr, done };
    assert_eq!(o[4], maperr(m + PAGE, 0));
    assert_eq!(o[5], maperr(m + PAGE, 2));

    // Fork and COW.
    assert_eq!(o[6], Outcome::Value(1));
    assert_eq!(o[7], Outcome::Done);
    assert_eq!(o[8], Outcome::Bytes(vec![0xbb; 8]));
    assert_eq!(o[9], Outcome::Bytes(vec![0xaa; 8]), "the parent must keep its bytes");

    // The file mapping: contents, zeros past EOF in the EOF page, SIGBUS
    // beyond it, SEGV_ACCERR for a store to a read-only mapping.
    let expected: Vec<u8> = (0..FILE_SIZE).map(|off| hostdiff::file_byte(0, off)).collect();
    assert_eq!(o[11], Outcome::Bytes(expected));
    assert_eq!(o[12], Outcome::Bytes(vec![0; (2 * PAGE - FILE_SIZE) as usize]));
    assert_eq!(o[13], Outcome::Signal { signo: SIGBUS, code: BUS_ADRERR, addr: f + 2 * PAGE, done: 0 });
    assert_eq!(o[14], Outcome::Signal { signo: SIGSEGV, code: SEGV_ACCERR, addr: f, done: 0 });

    // The kernel copy path: EFAULT from a hole, bytes otherwise, and a
    // kernel write into the child's memory.
    assert_eq!(o[15], Outcome::Errno(EFAULT));
    assert_eq!(o[16], Outcome::Bytes(vec![0xaa; 8]));
    assert_eq!(o[17], Outcome::Value(10));
    let mut cc = vec![0xcc; 10];
    cc.extend([0xaa, 0xaa]);
    assert_eq!(o[18], Outcome::Bytes(cc));

    assert_eq!(o[19], Outcome::Errno(EINVAL), "mmap with len 0");
    assert_eq!(o[20], Outcome::Value(run.init.brk), "brk(0) gives the break");

    // maps of both processes.
    let file = &run.init.files[0];
    assert_eq!(file.size, FILE_SIZE);
    let file_line =
        format!("{f:08x}-{:08x} r--p 00000000 {:02x}:{:02x} {}", f + 3 * PAGE, file.major, file.minor, file.ino);
    let parent = text(&run, 21);
    let child = text(&run, 22);
    for (who, maps) in [("parent", parent), ("child", child)] {
        assert!(maps.contains(&anon_line(m, m + PAGE, "rw-p")), "{who} maps lacks the first anonymous page:\n{maps}");
        assert!(
            maps.contains(&anon_line(m + 2 * PAGE, m + 3 * PAGE, "rw-p")),
            "{who} maps lacks the third anonymous page:\n{maps}"
        );
        assert!(!maps.contains(&format!("{:08x}-", m + PAGE)), "{who} maps shows the hole as mapped:\n{maps}");
        assert!(maps.contains("[stack]") && maps.contains("[vdso]"), "{maps}");
    }
    let line = parent
        .lines()
        .find(|l| l.starts_with(&file_line))
        .unwrap_or_else(|| panic!("no line {file_line:?} in the parent's maps:\n{parent}"));
    assert!(line.ends_with(&file.path), "{line}");
    assert!(!child.contains(&file.path), "the child forked before the file mapping:\n{child}");
    assert!(text(&run, 23).contains("Private_Dirty:"));
    assert_eq!(o[24], Outcome::Done);
    assert!(text(&run, 25).contains("VmFlags:"));

    // The init block.
    let init = &run.init;
    assert!(init.maps.contains("[stack]"), "{}", init.maps);
    assert!(init.smaps.contains("Rss:"));
    assert!(init.start_brk > 0 && init.brk >= init.start_brk);
    assert!(init.start_stack > init.start_brk);
    assert!(init.maps.contains(&format!("{:08x}-", init.sync_page)));
}

/// Replaces what legitimately differs between two runs: the temporary
/// directory, the inode numbers in maps lines (new files, and the shmem inode
/// of the shared page) and the padding that depends on their width.
fn normalize(text: &str, run: &HostRun) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let is_maps_line =
            fields.len() >= 5 && fields[0].contains('-') && fields[1].len() == 4 && fields[3].contains(':');
        if is_maps_line {
            let mut fields = fields;
            if fields[3] != "00:00" {
                fields[4] = "INODE";
            }
            out.push_str(&fields.join(" "));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    for (i, file) in run.init.files.iter().enumerate() {
        out = out.replace(&file.path, &format!("<file {i}>"));
    }
    out
}

/// Drops the smaps lines that depend on who else maps a page: the harness's own text pages
/// are shared with whatever other runs are alive at the same moment (tests run in parallel).
fn without_sharing(text: &str) -> String {
    // How much of the child's own executable is resident depends on the host's page cache,
    // which no script controls (reclaim evicted one page of it between two runs here), so
    // its mappings' Rss and Referenced are left out.
    let mut in_executable = false;
    text.lines()
        .filter(|l| {
            if l.split_whitespace().next().is_some_and(|range| range.contains('-') && !range.ends_with(':')) {
                in_executable = l.ends_with("/hostchild");
            }
            let residency = l.starts_with("Rss:") || l.starts_with("Referenced:");
            !(in_executable && residency)
        })
        .filter(|l| !l.starts_with("Pss") && !l.starts_with("Shared_") && !l.starts_with("Private_"))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn normalized(run: &HostRun) -> (Vec<u64>, Vec<String>, Vec<Outcome>) {
    let init = &run.init;
    let numbers = vec![init.start_brk, init.brk, init.start_stack, init.stack_rlimit, init.sync_page];
    let texts = vec![normalize(&init.maps, run), normalize(&without_sharing(&init.smaps), run)];
    let outcomes = run
        .outcomes
        .iter()
        .map(|o| match o {
            Outcome::Text(t) => Outcome::Text(normalize(&without_sharing(t), run)),
            other => other.clone(),
        })
        .collect();
    (numbers, texts, outcomes)
}

#[test]
fn the_same_script_gives_the_same_outcomes_twice() {
    if !supported() {
        return;
    }
    let smoke = smoke_script();
    let first = hostdiff::run_on_host(&smoke.script).unwrap_or_else(|e| panic!("{e}"));
    let second = hostdiff::run_on_host(&smoke.script).unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (normalized(&first), normalized(&second));
    assert_eq!(a.0, b.0, "init numbers differ");
    assert_eq!(a.1, b.1, "init texts differ");
    for (i, (x, y)) in a.2.iter().zip(&b.2).enumerate() {
        assert_eq!(x, y, "step {i} differs between runs");
    }
}

#[test]
fn c_and_rust_file_byte_agree() {
    if !supported() {
        return;
    }
    let child = hostdiff::host_child_path().expect("supported");
    for (file, offset, len) in [(0usize, 0u64, 3 * PAGE), (1, 4090, 300), (7, 1 << 30, 5000)] {
        let out = Command::new(&child)
            .args(["file-bytes", &file.to_string(), &offset.to_string(), &len.to_string()])
            .output()
            .expect("run the host child");
        assert!(out.status.success());
        let expected: Vec<u8> = (0..len).map(|k| hostdiff::file_byte(file, offset + k)).collect();
        assert_eq!(out.stdout, expected, "file {file} at {offset}");
    }
}

#[test]
fn a_process_that_dies_is_reported_not_waited_for() {
    if !supported() {
        return;
    }
    // Unmapping the harness's own stack kills process 0 at its next
    // instruction; the run must fail quickly with a readable error.
    let mut s = HostScript::new();
    s.push(0, Op::Maps);
    let run = hostdiff::run_on_host(&s).unwrap_or_else(|e| panic!("{e}"));
    let stack = run.init.maps.lines().find(|l| l.ends_with("[stack]")).expect("a stack line");
    let (range, _) = stack.split_once(' ').expect("a range");
    let (lo, hi) = range.split_once('-').expect("start-end");
    let lo = u64::from_str_radix(lo, 16).expect("hex");
    let hi = u64::from_str_radix(hi, 16).expect("hex");

    let mut s = HostScript::new();
    s.push(0, Op::Munmap { addr: Addr::Abs(lo), len: hi - lo });
    s.push(0, Op::Maps);
    let t0 = Instant::now();
    let err = hostdiff::run_on_host(&s).expect_err("process 0 cannot survive that");
    assert!(t0.elapsed().as_secs() < 10, "took {:?}", t0.elapsed());
    let msg = err.to_string();
    assert!(msg.contains("signal"), "{msg}");
}

#[test]
fn invalid_scripts_are_rejected_before_running() {
    let mut s = HostScript::new();
    s.push(0, Op::Exit);
    s.push(0, Op::Maps);
    let err = hostdiff::run_on_host(&s).expect_err("process 0 has exited");
    assert!(err.to_string().contains("step 1"), "{err}");
}

#[test]
fn a_run_over_its_time_limit_is_killed() {
    if !supported() {
        return;
    }
    let mut s = HostScript::new();
    let m = s.push(
        0,
        Op::Mmap {
            addr: Addr::Abs(0),
            len: hostdiff::MAX_USER_ACCESS,
            prot: PROT_READ | PROT_WRITE,
            flags: MAP_PRIVATE | MAP_ANONYMOUS,
            fd: Fd::None,
            offset: 0,
        },
    );
    s.push(0, Op::Fork);
    s.push(1, Op::Store { addr: at(m, 0), len: hostdiff::MAX_USER_ACCESS, byte: 1 });
    let t0 = Instant::now();
    let err = hostdiff::run_on_host_with_timeout(&s, std::time::Duration::from_millis(20))
        .expect_err("cannot finish in 20 ms");
    assert!(matches!(err, hostdiff::HostError::Timeout { .. }), "{err}");
    assert!(t0.elapsed().as_secs() < 5, "took {:?}", t0.elapsed());
}
