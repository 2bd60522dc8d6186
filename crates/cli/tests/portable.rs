//! Portable replays: `mmsim record` keeps what the replay needs of this machine's files beside
//! the trace (`X.trace.files`), `mmsim replay` uses it when it is there, `--root DIR` replays
//! against a copy of the recording machine's files, and a file that is not the one recorded
//! is named in one line. Every trace is recorded fresh with the real strace (skipped, with a
//! note, where gcc, strace or setarch is missing; failed under `MMSIM_REQUIRE_HOST=1`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mmsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mmsim"))
}

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("portable").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A dynamic C program that maps the file named by its first argument (after fstat'ing it),
/// allocates `heap` bytes, and prints its maps.
const PROG: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
static volatile char bss[BSS];
const char pad[PAD] = {1};
int main(int argc, char **argv) {
    if (argc > 1) {
        int fd = open(argv[1], O_RDONLY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) return 1;
        void *m = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) return 1;
        close(fd);
    }
    char *p = malloc(200000);
    p[0] = bss[0] + pad[argc];
    FILE *f = fopen("/proc/self/maps", "r");
    char b[8192];
    size_t n;
    while ((n = fread(b, 1, sizeof b, f)) > 0) fwrite(b, 1, n, stdout);
    return 0;
}
"#;

/// Compiles [`PROG`] with a bss of `bss` bytes to `out`.
fn compile(out: &Path, bss: usize) -> bool {
    compile_padded(out, bss, 1, &[])
}

/// Compiles [`PROG`] with a bss of `bss` bytes and `pad` bytes of read-only data to `out`,
/// with `flags` for gcc.
fn compile_padded(out: &Path, bss: usize, pad: usize, flags: &[&str]) -> bool {
    if !hostreq::need_tools("portable replays", &["gcc", "strace", "setarch"]) {
        return false;
    }
    let src = out.with_extension("c");
    std::fs::write(&src, PROG).unwrap();
    let o = Command::new("gcc")
        .arg(format!("-DBSS={bss}"))
        .arg(format!("-DPAD={pad}"))
        .args(flags)
        .args(["-O1", "-o"])
        .arg(out)
        .arg(&src)
        .output()
        .unwrap();
    assert!(o.status.success(), "gcc: {}", text(&o));
    true
}

fn record(dir: &Path, trace: &Path, extra: &[&str], cmd: &[&str]) {
    // As a shell started in `dir` would run it (PWD tells where it started).
    let mut c = mmsim();
    c.arg("record").args(extra).arg("-o").arg(trace).arg("--").args(cmd);
    let o = c.current_dir(dir).env("PWD", dir).output().unwrap();
    assert!(o.status.success(), "record {cmd:?}: {}", text(&o));
    assert!(text(&o).contains("kept in"), "{}", text(&o));
}

fn replay(trace: &Path, extra: &[&str]) -> Output {
    // From another directory: the bundle says where the program started.
    mmsim().arg("replay").arg("--verify").args(extra).arg(trace).current_dir("/").output().unwrap()
}

#[track_caller]
fn assert_clean(o: &Output, min_checks: u64) {
    let out = text(o);
    assert!(o.status.success(), "{out}");
    let last = out.lines().rev().find(|l| l.ends_with(" failed")).unwrap_or_default();
    let passed: u64 = last.split(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(last.ends_with(" 0 failed") && passed >= min_checks, "{out}");
}

#[test]
fn a_bundle_replays_programs_whose_files_are_gone() {
    let Some((dir, prog, trace)) = recorded("bundle", 4096, 1, 10000, &[]) else { return };
    // cat, from a path that will be gone too.
    let cat = dir.join("cat");
    std::fs::copy(hostreq::find_tool("cat").expect("cat"), &cat).unwrap();
    let cat_trace = dir.join("cat.trace");
    record(&dir, &cat_trace, &[], &[cat.to_str().unwrap(), "/proc/self/maps"]);
    // A script run by its `#!` line: the interpreter is found from the bundle's copy of it.
    let script = dir.join("maps.sh");
    std::fs::write(&script, "#!/bin/sh\ncat /proc/self/maps\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let script_trace = dir.join("script.trace");
    record(&dir, &script_trace, &[], &[script.to_str().unwrap()]);
    // The whole files, on request.
    let whole = dir.join("whole.trace");
    record(&dir, &whole, &["--whole-files"], &[prog.to_str().unwrap(), "data.bin"]);

    // Compact: the pages read, not the files (the C library alone is larger).
    let kept = std::fs::metadata(replay::bundle_path(&trace)).unwrap().len();
    let libc = std::fs::metadata("/lib/x86_64-linux-gnu/libc.so.6").map(|m| m.len()).unwrap_or(1 << 20);
    assert!(kept < libc / 4, "bundle of {kept} bytes");
    let kept_whole = std::fs::metadata(replay::bundle_path(&whole)).unwrap().len();
    assert!(kept_whole > libc, "whole-files bundle of {kept_whole} bytes");

    for f in ["prog", "cat", "data.bin", "prog.c", "maps.sh"] {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    for t in [&trace, &cat_trace, &script_trace, &whole] {
        let o = replay(t, &[]);
        assert_clean(&o, 5);
        assert!(!text(&o).contains("not in the bundle"), "{}", text(&o));
    }
    // Without the bundle, the programs are missing.
    std::fs::remove_file(replay::bundle_path(&trace)).unwrap();
    let o = replay(&trace, &[]);
    assert!(!o.status.success(), "{}", text(&o));
}

/// Makes `path` of this machine exist under `root` the way it exists here: each symbolic
/// link on the way as the same link, the file itself as a copy.
fn mirror(root: &Path, path: &Path) {
    let mut here = PathBuf::from("/");
    let comps: Vec<_> = path.components().skip(1).collect();
    for (i, c) in comps.iter().enumerate() {
        here.push(c);
        let inside = root.join(here.strip_prefix("/").unwrap());
        let meta = std::fs::symlink_metadata(&here).unwrap();
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&here).unwrap();
            std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
            if std::fs::symlink_metadata(&inside).is_err() {
                std::os::unix::fs::symlink(&target, &inside).unwrap();
            }
            let resolved = here.parent().unwrap().join(&target);
            let rest: PathBuf = comps[i + 1..].iter().collect();
            return mirror(root, &std::fs::canonicalize(resolved).unwrap().join(rest));
        }
        if i + 1 == comps.len() {
            // As an image unpacked from a tar file has it: the same bytes and time stamp.
            std::fs::copy(&here, &inside).unwrap();
            let mtime = std::fs::metadata(&here).unwrap().modified().unwrap();
            std::fs::File::options().write(true).open(&inside).unwrap().set_modified(mtime).unwrap();
        } else {
            std::fs::create_dir_all(&inside).unwrap();
        }
    }
}

/// The PT_INTERP path of an ELF program.
fn interp_of(prog: &Path) -> Option<PathBuf> {
    let b = std::fs::read(prog).ok()?;
    if !b.starts_with(b"\x7fELF") {
        return None;
    }
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) as usize;
    let (phoff, phnum) = (u64_at(0x20), u16::from_le_bytes([b[0x38], b[0x39]]) as usize);
    (0..phnum).map(|i| phoff + 56 * i).find(|&ph| b[ph..ph + 4] == [3, 0, 0, 0]).map(|ph| {
        let (off, len) = (u64_at(ph + 8), u64_at(ph + 32));
        PathBuf::from(String::from_utf8_lossy(&b[off..off + len - 1]).into_owned())
    })
}

/// The files a trace executed or opened (successfully), but /proc, and the interpreters.
fn files_of(trace: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for line in std::fs::read_to_string(trace).unwrap().lines() {
        let Some(i) =
            line.find("execve(\"").map(|i| i + 8).or_else(|| line.find("openat(AT_FDCWD, \"").map(|i| i + 18))
        else {
            continue;
        };
        let Some(len) = line[i..].find('"') else { continue };
        let p = &line[i..i + len];
        if p.starts_with('/') && !p.starts_with("/proc") && !line.contains("= -1") {
            v.extend(interp_of(Path::new(p)));
            v.push(PathBuf::from(p));
        }
    }
    v
}

#[test]
fn root_dir_stands_for_the_recording_machine() {
    let dir = scratch("root");
    let prog = dir.join("prog");
    if !compile(&prog, 4096) {
        return;
    }
    let trace = dir.join("prog.trace");
    record(&dir, &trace, &[], &[prog.to_str().unwrap()]);
    let root = dir.join("root");
    for f in files_of(&trace) {
        mirror(&root, &f);
    }
    // The program exists only under the root now; the bundle is gone.
    std::fs::remove_file(&prog).unwrap();
    let kept = dir.join("kept.files");
    std::fs::rename(replay::bundle_path(&trace), &kept).unwrap();
    assert_clean(&replay(&trace, &["--root", root.to_str().unwrap()]), 5);
    // With the bundle for reference only: the copies are checked, and they are the same.
    std::fs::rename(&kept, replay::bundle_path(&trace)).unwrap();
    let o = replay(&trace, &["--root", root.to_str().unwrap(), "--no-bundle"]);
    assert_clean(&o, 5);
    assert!(!text(&o).contains("differs"), "{}", text(&o));
}

#[test]
fn a_changed_file_is_named_in_one_line() {
    let Some((dir, prog, trace)) = recorded("changed", 4096, 1, 10000, &[]) else { return };

    // The program rebuilt with a larger bss: its brk moves. The bundle still replays it;
    // this machine's file is named as the one that differs, with how.
    assert!(compile(&prog, 3 << 20));
    assert_clean(&replay(&trace, &[]), 5);
    named_once(&replay(&trace, &["--no-bundle"]), &format!("{}: ", prog.display()));

    // No bundle at all: the trace's own fstat of the data file tells its size.
    assert!(compile(&prog, 4096));
    std::fs::remove_file(replay::bundle_path(&trace)).unwrap();
    std::fs::write(dir.join("data.bin"), vec![7u8; 20000]).unwrap();
    let o = mmsim().args(["replay", "--verify"]).arg(&trace).current_dir(&dir).output().unwrap();
    let line = named_once(&o, "data.bin: 10000 bytes");
    // (Rewritten, it may also have another modification time: said after the size.)
    assert!(line.contains(" in the trace (line ") && line.contains("), 20000 bytes"), "{line}");
    assert!(line.ends_with(" here"), "{line}");
}

/// [`recorded`] without the program's gcc flags, then without the bundle (so that replays
/// read this machine's files), checked to replay cleanly. None where the tools are missing.
fn recorded_without_bundle(name: &str, bss: usize, pad: usize, data: usize) -> Option<(PathBuf, PathBuf, PathBuf)> {
    recorded_with_flags(name, bss, pad, data, &[])
}

/// [`recorded_without_bundle`], the program built with `flags` for gcc.
fn recorded_with_flags(
    name: &str,
    bss: usize,
    pad: usize,
    data: usize,
    flags: &[&str],
) -> Option<(PathBuf, PathBuf, PathBuf)> {
    let (dir, prog, trace) = recorded(name, bss, pad, data, flags)?;
    std::fs::remove_file(replay::bundle_path(&trace)).unwrap();
    assert_clean(&replay(&trace, &[]), 5);
    Some((dir, prog, trace))
}

/// A scratch directory `name` holding the program compiled with `bss` and `pad` bytes and
/// `flags` for gcc (and, unless `data` is 0, a file `data.bin` of that many bytes that it
/// maps), and its trace recorded there, with its bundle: (directory, program, trace).
fn recorded(name: &str, bss: usize, pad: usize, data: usize, flags: &[&str]) -> Option<(PathBuf, PathBuf, PathBuf)> {
    let dir = scratch(name);
    let prog = dir.join("prog");
    if !compile_padded(&prog, bss, pad, flags) {
        return None;
    }
    let trace = dir.join("prog.trace");
    let mut cmd = vec![prog.to_str().unwrap()];
    if data > 0 {
        std::fs::write(dir.join("data.bin"), vec![7u8; data]).unwrap();
        cmd.push("data.bin");
    }
    record(&dir, &trace, &[], &cmd);
    Some((dir, prog, trace))
}

#[test]
fn a_changed_program_without_bundle_is_named_by_its_layout() {
    // No stat of the program is in the trace (execve and ld.so never stat it): only its
    // layout, against the calls, can tell that it changed.
    let Some((_dir, prog, trace)) = recorded_without_bundle("changed-layout", 4096, 1, 0) else { return };

    // Rebuilt with a 3 MiB bss: its heap cannot start where the trace's brk(NULL) says.
    assert!(compile(&prog, 3 << 20));
    let line = named_once(&replay(&trace, &[]), &format!("{}: its ELF layout here puts the heap", prog.display()));
    assert!(line.contains("the program run when recording was smaller"), "{line}");
}

/// Checks that a replay failed with exactly one `file differs` line, which says `what`, and
/// at most three mismatches, each attributed to the file; returns that line.
#[track_caller]
fn named_once(o: &Output, what: &str) -> String {
    let out = text(o);
    assert!(!o.status.success(), "{out}");
    let lines: Vec<&str> = out.lines().filter(|l| l.contains("file differs: ")).collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(lines[0].contains(what), "{out}");
    let shown: Vec<&str> = out.lines().filter(|l| l.contains(": expected ")).collect();
    assert!(shown.len() <= 3, "{out}");
    // Each is attributed to the file: it is the process's program or interpreter, or mapped.
    assert!(shown.iter().all(|l| l.contains(" (follows from the differing /")), "{out}");
    lines[0].to_string()
}

#[test]
fn a_shrunk_program_without_bundle_is_named_by_its_layout() {
    // Recorded with a 3 MiB bss, replayed with a 4 KiB one: the trace's heap starts 3 MiB
    // past where this program ends. A heap start inside the brk randomization range could be
    // a random draw, but the trace's mmaps sit where only an unrandomized layout puts them.
    let Some((_dir, prog, trace)) = recorded_without_bundle("shrunk", 3 << 20, 1, 0) else { return };
    assert!(compile(&prog, 4096));
    let o = replay(&trace, &[]);
    let line = named_once(&o, &format!("{}: its ELF layout here puts the heap", prog.display()));
    assert!(line.contains("the program run when recording was larger"), "{line}");
    assert!(text(&o).contains("bound no address randomization from line"), "{}", text(&o));
}

#[test]
fn a_program_whose_segments_changed_is_named_by_its_maps_lines() {
    // Rebuilt with more, then less, read-only data than when recorded: the trace's maps
    // read shows the program's pages spanning another length than its ELF layout here.
    let Some((_dir, prog, trace)) = recorded_without_bundle("segments", 4096, 100_000, 0) else { return };
    for pad in [20_000, 300_000] {
        assert!(compile_padded(&prog, 4096, pad, &[]));
        named_once(&replay(&trace, &[]), &format!("{}: its ELF layout here maps ", prog.display()));
    }
}

#[test]
fn a_file_touched_since_the_trace_is_named_with_its_times() {
    // Same bytes, another modification time than the trace's fstat showed: without a bundle
    // nothing else tells it from another version of the file.
    let Some((dir, _prog, trace)) = recorded_without_bundle("touched", 4096, 1, 10000) else { return };
    let data = dir.join("data.bin");
    let then = std::fs::metadata(&data).unwrap().modified().unwrap();
    let later = then + std::time::Duration::from_secs(3600);
    std::fs::File::options().write(true).open(&data).unwrap().set_modified(later).unwrap();
    let secs = |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let line = named_once(&replay(&trace, &[]), &format!("data.bin: modified at {} in the trace (line ", secs(then)));
    assert!(line.ends_with(&format!("modified at {} here", secs(later))), "{line}");
}

#[test]
fn an_interpreter_replaced_since_the_trace_is_named_by_its_maps_lines() {
    // The program names its own copy of the dynamic loader as its interpreter; after the
    // recording another shared object (the C library: any ELF the kernel can load as one)
    // takes its place. The maps read shows the loader's lines, whose span is not the
    // replacement's.
    if !hostreq::need_tools("portable replays", &["gcc", "strace", "setarch"]) {
        return;
    }
    let loader = scratch("interp-loader").join("ld.so");
    let system = ["/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("an x86-64 dynamic loader");
    std::fs::copy(system, &loader).unwrap();
    let flag = format!("-Wl,--dynamic-linker={}", loader.display());
    let Some((_dir, _prog, trace)) = recorded_with_flags("interp", 4096, 1, 0, &[&flag]) else { return };
    std::fs::copy("/lib/x86_64-linux-gnu/libc.so.6", &loader).unwrap();
    named_once(&replay(&trace, &[]), &format!("{}: its ELF layout here maps ", loader.display()));
}
