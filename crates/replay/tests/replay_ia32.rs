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
