//! 32-bit (ia32 compat) programs on this machine's x86-64 kernel, recorded under strace and
//! replayed with `--verify`: the seeds' exam.c experiment built with `gcc -m32` as ET_EXEC,
//! PIE, static and static-pie, under the legacy layout (`setarch -L`), `linux32` and an
//! unlimited stack, and a 64-bit shell exec'ing a 32-bit program that execs a 64-bit one.
//! Every address-space result and every maps read must match, byte for byte. Without
//! gcc-multilib the tests are skipped with a note, and fail under `MMSIM_REQUIRE_HOST=1`.

mod common;

use common::{assert_clean, replay_file, scratch};
use replay::Mode;
use std::path::{Path, PathBuf};

/// Builds `tests/progs/exam32.c` with `gcc -m32 <flags>` into `DIR/NAME`.
fn exam32(name: &str, flags: &[&str], dir: &Path) -> Option<PathBuf> {
    hostreq::need(&format!("building {name} with gcc -m32"), hostreq::check_gcc_m32())?;
    let mut all = vec!["-m32"];
    all.extend_from_slice(flags);
    common::compile(name, "exam32.c", &all, dir)
}

/// Records `cmd` under `setarch -R strace -f -v -s 65536` in `dir` and replays it.
#[track_caller]
fn check(name: &str, cmd: &[&str], dir: &Path, min_checks: u64) -> Option<String> {
    let trace = common::record(name, &["-v", "-s", "65536"], cmd, dir)?;
    let r = replay_file(&trace, Mode::Verify);
    assert_clean(name, &r, min_checks);
    Some(std::fs::read_to_string(&trace).unwrap())
}

#[test]
fn the_exam_experiment_in_32_bits_replays_clean() {
    let dir = scratch("replay-ia32", "exam");
    let Some(_) = exam32("exam_nopie", &["-no-pie"], &dir) else { return };
    let log = check("exam_nopie", &["./exam_nopie"], &dir, 20).unwrap();
    // The program text at 0x08048000 and the stack just below 4 GiB, as the kernel said.
    assert!(log.contains("08048000-08049000 r--p"), "{log}");
    assert!(log.contains("fffdd000-ffffe000 rw-p"), "{log}");
    assert!(log.contains("mmap(0x10) "), "the old mmap with an unreadable block: {log}");
}

#[test]
fn pie_static_and_static_pie_32_bit_programs_replay_clean() {
    let dir = scratch("replay-ia32", "kinds");
    for (name, flags) in [("exam_pie", &["-pie"][..]), ("exam_static", &["-static"]), ("exam_spie", &["-static-pie"])] {
        let Some(_) = exam32(name, flags, &dir) else { return };
        check(name, &[&format!("./{name}")], &dir, 15);
    }
}

#[test]
fn legacy_layout_linux32_and_unlimited_stack_replay_clean() {
    let dir = scratch("replay-ia32", "layouts");
    let Some(_) = exam32("exam", &[], &dir) else { return };
    if !hostreq::need_tools("linux32", &["linux32", "sh"]) {
        return;
    }
    // setarch -L -R: bottom-up from 0x55555000; linux32 (ASLR back on): learned draws.
    let legacy = check("legacy", &["setarch", "-L", "-R", "./exam"], &dir, 20).unwrap();
    assert!(legacy.contains("= 0x555"), "the legacy base: {legacy}");
    check("linux32", &["linux32", "./exam"], &dir, 20);
    // An unlimited stack keeps the top-down layout, with mmap_base at 0x2aaab000.
    let unlimited = check("unlimited", &["sh", "-c", "ulimit -s unlimited && exec ./exam"], &dir, 20).unwrap();
    assert!(unlimited.contains("= 0x2aa"), "{unlimited}");
}

#[test]
fn a_64_bit_shell_execs_a_32_bit_program_that_execs_a_64_bit_one() {
    let dir = scratch("replay-ia32", "chain");
    let Some(_) = exam32("exam", &["-no-pie"], &dir) else { return };
    let Some(_) = common::compile("maps64", "maps_only.c", &["-static"], &dir) else { return };
    let log = check("chain", &["sh", "-c", "./exam ./maps64; true"], &dir, 25).unwrap();
    assert!(log.contains("execve(\"./maps64\""), "{log}");
}

/// Builds `tests/progs/calls32.c` with `gcc -m32 <flags>` into `DIR/NAME`.
fn calls32(name: &str, flags: &[&str], dir: &Path) -> Option<PathBuf> {
    hostreq::need(&format!("building {name} with gcc -m32"), hostreq::check_gcc_m32())?;
    let mut all = vec!["-m32", "-O1"];
    all.extend_from_slice(flags);
    common::compile(name, "calls32.c", &all, dir)
}

/// A copy of the 32-bit ELF `exe` at `to` whose PT_GNU_STACK program header is turned into
/// PT_NULL, as a program linked without one (ld has no switch to leave it out on x86): the
/// kernel then gives the process READ_IMPLIES_EXEC.
fn without_gnu_stack(exe: &Path, to: &Path) {
    const PT_GNU_STACK: u32 = 0x6474_e551;
    let mut elf = std::fs::read(exe).unwrap();
    assert_eq!(elf[4], 1, "{}: not ELFCLASS32", exe.display());
    let u16_at = |e: &[u8], at: usize| usize::from(u16::from_le_bytes([e[at], e[at + 1]]));
    let phoff = u32::from_le_bytes(elf[28..32].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(&elf, 42), u16_at(&elf, 44));
    let mut dropped = 0;
    for i in 0..phnum {
        let at = phoff + i * phentsize;
        if u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) == PT_GNU_STACK {
            elf[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
            dropped += 1;
        }
    }
    assert_eq!(dropped, 1, "{}: one PT_GNU_STACK", exe.display());
    std::fs::write(to, elf).unwrap();
    let mut perm = std::fs::metadata(to).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(to, perm).unwrap();
}

/// Runs `sh -c SCRIPT` in `dir` with `$STRACE` standing for `strace -f <flags> -o NAME.trace`
/// (no setarch: address-space randomization as the machine has it), replays the trace with
/// `--verify` and asserts zero mismatches; returns the trace's text.
#[track_caller]
fn user_recording(name: &str, flags: &str, script: &str, dir: &Path, min_checks: u64) -> Option<String> {
    if !hostreq::need_tools(name, &["strace", "sh", "setarch", "linux32"]) {
        return None;
    }
    let out = dir.join(format!("{name}.trace"));
    let strace = format!("strace -f {flags} -o {}", out.display());
    let run = std::process::Command::new("sh")
        .arg("-c")
        .arg(script.replace("$STRACE", &strace))
        .current_dir(dir)
        .output()
        .expect("run sh");
    assert!(run.status.success(), "{name}: {}", String::from_utf8_lossy(&run.stderr));
    let r = replay_file(&out, Mode::Verify);
    assert_clean(name, &r, min_checks);
    Some(std::fs::read_to_string(&out).unwrap())
}

#[test]
fn the_32_bit_address_space_calls_recorded_with_aslr_replay_clean() {
    // Plain `strace -f -o` shows 32 bytes of each maps read: the replay learns each exec's
    // draws from the calls (a 32-bit PIE's bias from its RELRO mprotect even where the
    // model's mprotect at its own guess succeeds too, inside a large bss).
    let dir = scratch("replay-ia32", "aslr");
    for (name, flags) in [
        ("calls_pie", &[][..]),
        ("calls_nopie", &["-no-pie"]),
        ("calls_static", &["-static"]),
        ("calls_spie", &["-static-pie"]),
    ] {
        let Some(_) = calls32(name, flags, &dir) else { return };
        for round in 0..3 {
            user_recording(&format!("{name}-{round}"), "", &format!("$STRACE ./{name}"), &dir, 40);
        }
    }
    user_recording("linux32", "", "$STRACE linux32 ./calls_pie", &dir, 40);
    user_recording("legacy", "", "$STRACE setarch -L ./calls_pie", &dir, 40);
    user_recording("legacy-3gb", "", "$STRACE setarch i386 -L -3 ./calls_spie", &dir, 40);
    user_recording("unlimited", "", "ulimit -s unlimited && $STRACE ./calls_pie", &dir, 40);
    user_recording("unlimited-static", "", "ulimit -s unlimited && $STRACE ./calls_static", &dir, 40);
    // 32 bits to 32 bits to 64 bits, each exec learned on its own.
    user_recording("chain", "", "$STRACE ./calls_pie ./calls_static /bin/true", &dir, 80);
    // Every argument as a number: mmap2's offset is its count of pages, as the call takes
    // it (decoded, strace prints bytes).
    let log = user_recording("raw-all", "-e raw=all", "$STRACE ./calls_pie", &dir, 5).unwrap();
    assert!(log.lines().any(|l| l.contains("mmap2(0x") && l.contains(", 0x3, 0x")), "{log}");
}

#[test]
fn read_implies_exec_in_32_bit_programs_without_pt_gnu_stack_matches_the_kernel() {
    // The whole maps text of each read is in the trace (-s 65536) and compared line by line:
    // every readable mapping executable (program, heap, anonymous and file mmaps, mprotects
    // to PROT_READ, the stack) but [vvar]; the flag kept across the exec of a 32-bit program
    // that has PT_GNU_STACK, dropped by the exec of a 64-bit one.
    let dir = scratch("replay-ia32", "rie");
    let Some(dynamic) = calls32("calls_dyn", &[], &dir) else { return };
    let Some(stat) = calls32("calls_static", &["-static"], &dir) else { return };
    without_gnu_stack(&dynamic, &dir.join("nostack"));
    without_gnu_stack(&stat, &dir.join("nostack_static"));
    let Some(_) = common::compile("maps64", "maps_only.c", &["-static"], &dir) else { return };
    for (name, launch) in
        [("rie", ""), ("rie-legacy", "linux32 -L "), ("rie-3gb", "setarch i386 -3 "), ("rie-norandom", "setarch -R ")]
    {
        for prog in ["nostack", "nostack_static"] {
            let name = format!("{name}-{prog}");
            let script = format!("$STRACE {launch}./{prog} ./calls_static ./maps64");
            let Some(log) = user_recording(&name, "-s 65536", &script, &dir, 90) else { return };
            assert!(log.contains("r-xp 00000000 00:00 0 \\n"), "{name}: a PROT_READ mmap is executable: {log}");
            assert!(log.contains("rwxp 00000000 00:00 0                                  [stack]"), "{name}: {log}");
            assert!(
                log.contains("rw-p 00000000 00:00 0                          [stack]"),
                "{name}: the 64-bit exec: {log}"
            );
        }
    }
}

#[test]
fn strict_replays_of_32_bit_programs() {
    let dir = scratch("replay-ia32", "strict");
    for (name, flags) in [("strict_dyn", &["-m32"][..]), ("strict_static", &["-m32", "-static"])] {
        let Some(_) = hostreq::need(&format!("building {name} with gcc -m32"), hostreq::check_gcc_m32()) else {
            return;
        };
        let Some(exe) = common::compile(name, "strict.c", flags, &dir) else { return };
        let buffers =
            ["-v", "-s", "1048576", "-e", "raw=read,write,pread64,pwrite64", "-e", "read=all", "-e", "write=all"];
        let Some(t) = common::record(name, &buffers, &[exe.to_str().unwrap()], &dir) else { return };
        assert_clean(name, &replay_file(&t, Mode::Strict), 25);
    }
}

#[test]
fn a_32_bit_program_writing_its_vdso_replays_strict() {
    // One write(2) of the whole [vdso]: the strict replay compares its bytes with the
    // model's compat image (this machine's vdso32, read from a 32-bit child), and for the
    // 64-bit build with the 64-bit image.
    let dir = scratch("replay-ia32", "vdso");
    let buffers = ["-v", "-s", "1048576", "-e", "raw=read,write,pread64,pwrite64", "-e", "read=all", "-e", "write=all"];
    for (name, flags) in [("vdso32", &["-m32"][..]), ("vdso32_static", &["-m32", "-static"]), ("vdso64", &[])] {
        if flags.contains(&"-m32")
            && hostreq::need(&format!("building {name} with gcc -m32"), hostreq::check_gcc_m32()).is_none()
        {
            return;
        }
        let Some(exe) = common::compile(name, "vdso_write.c", flags, &dir) else { return };
        let Some(t) = common::record(name, &buffers, &[exe.to_str().unwrap()], &dir) else { return };
        let log = std::fs::read_to_string(&t).unwrap();
        let class = if name.starts_with("vdso32") { "01 01 01" } else { "02 01 01" };
        assert!(log.contains(&format!("| 00000  7f 45 4c 46 {class}")), "{name}: the vDSO written: {log}");
        assert_clean(name, &replay_file(&t, Mode::Strict), 8);
    }
}

/// A 32-bit PIE whose random load bias the kernel drew as 0 (1 exec in 256): the program
/// sits where an unrandomized exec puts it, so its RELRO mprotect agrees with the model's
/// guess and binds nothing. A later maps read, cut at 32 bytes, begins with a line the
/// program's own `mremap(MREMAP_FIXED)` made; taken for the program's first line, it bound
/// a bias of 0x30000000, outside any draw, and the replay failed. A maps line binds only a
/// bias the exec could have drawn. The trace was recorded with plain `strace -f` (ASLR on)
/// of calls32.c built as `gcc -m32 -O1`, the same build this test makes.
#[test]
fn a_32_bit_pie_whose_bias_was_drawn_as_zero() {
    let dir = scratch("replay-ia32", "bias-zero");
    let Some(_) = calls32("calls_pie", &[], &dir) else { return };
    let kept = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/ia32_pie_bias_zero.trace");
    let trace = dir.join("bias-zero.trace");
    std::fs::copy(&kept, &trace).unwrap();
    assert_clean("bias-zero", &replay_file(&trace, Mode::Verify), 40);
}

/// A 32-bit program whose four threads map, grow with mremap and unmap at once
/// (progs/threads_mapping.c built with `-m32 -DMOVE`), plain `strace -f` with randomization
/// on: its calls are `mmap2`, which the search for the order of the calls in flight takes
/// for the `mmap` it is. Before, 238-358 mismatches of ~1,400-1,550 checks; after, 25 of
/// 25 in a row replay clean (rare interleavings of overlapping moves remain: see
/// `threads_moving_mappings_at_once` in replay_aslr.rs). Five recordings, three at least
/// clean.
#[test]
fn threads_of_a_32_bit_program_mapping_at_once() {
    let dir = scratch("replay-ia32", "threads");
    let Some(()) = hostreq::need("building threads32 with gcc -m32", hostreq::check_gcc_m32()) else { return };
    let flags = ["-m32", "-pthread", "-DMOVE"];
    let Some(exe) = common::compile("threads32", "threads_mapping.c", &flags, &dir) else { return };
    if !hostreq::need_tools("recording threads32", &["strace"]) {
        return;
    }
    let mut replays = Vec::new();
    for run in 0..5 {
        let t = dir.join(format!("threads32-{run}.trace"));
        let out = std::process::Command::new("strace").arg("-f").arg("-o").arg(&t).arg("--").arg(&exe).output();
        assert!(out.expect("run strace").status.success());
        replays.push((format!("threads32-{run}"), t.clone(), replay_file(&t, Mode::Verify)));
    }
    common::assert_mostly_clean(&replays, 3, 1000);
}
