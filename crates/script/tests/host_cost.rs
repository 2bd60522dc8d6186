//! What a scenario costs the machine running mmsim, measured by counting this test
//! binary's heap allocations (the `cap` allocator wraps the system's): the bounds README's
//! "What mmsim costs its host" states. A simulated page costs its bytes only when they are
//! not all zero; besides that, every resident page costs a bounded amount of metadata, and
//! every process and fork a bounded amount beyond the simulated pages it holds.
//!
//! One test, so that nothing else allocates while it measures.

use cap::Cap;
use script::{ExpectOutcome, Interpreter, Options, Output};
use std::alloc::System;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

/// Drops the trace text: only the model's own memory is measured.
struct Discard;

impl Output for Discard {
    fn text(&mut self, _: &str) {}
    fn expect(&mut self, _: &ExpectOutcome) {}
}

/// Runs `lines` on `interp` and returns the host bytes it holds more afterwards.
fn grows_by(interp: &mut Interpreter, lines: &[String]) -> u64 {
    let before = ALLOCATOR.allocated() as u64;
    for (i, line) in lines.iter().enumerate() {
        interp.run_line(line, i + 1, &mut Discard).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
    (ALLOCATOR.allocated() as u64).saturating_sub(before)
}

/// Per resident page of zeros: metadata only (README: at most 64 B a page, with its share
/// of the page tables' host copies).
const ZERO_PAGE_BYTES: u64 = 80;
/// Per process a scenario starts: its simulated pages (the demo program's file in the page
/// cache, 20 KiB; its page tables, 28 KiB; its stack and bss, 8 KiB) and the model's
/// records of it.
const PROCESS_BYTES: u64 = 80 << 10;
/// Per fork of such a process: the copied page tables and records.
const FORK_BYTES: u64 = 40 << 10;

#[test]
fn what_a_scenario_costs_the_host() {
    const GIB: u64 = 1 << 30;
    let mut interp = Interpreter::new(Options::default());
    grows_by(&mut interp, &["set ram 1T".into(), "process A".into()]);

    // 4 GiB populated (written by the kernel with zeros): metadata only.
    let populate = "x = mmap(NULL, 4G, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_POPULATE, -1, 0)";
    let zeros = grows_by(&mut interp, &[populate.into()]);
    let pages = 4 * GIB / 4096;
    assert!(
        zeros <= pages * ZERO_PAGE_BYTES,
        "4 GiB of zero pages cost the host {zeros} B ({} B a page)",
        zeros / pages
    );

    // 64 MiB of them written with a non-zero byte: their bytes, and little more.
    let written = grows_by(&mut interp, &["store x 0x5a x 64M".into()]);
    let data = 64 << 20;
    assert!(written >= data, "64 MiB written but the host holds only {written} B more");
    assert!(written <= data + data / 64, "64 MiB written cost the host {written} B");
    grows_by(&mut interp, &["munmap(x, 4G)".into()]);

    let n = 2000;
    let procs: Vec<String> = (0..n).map(|i| format!("process P{i}")).collect();
    let per_process = grows_by(&mut interp, &procs) / n;
    assert!(per_process <= PROCESS_BYTES, "a process costs the host {per_process} B");

    let forks: Vec<String> = (0..n).map(|i| format!("C{i} = fork()")).collect();
    let per_fork = grows_by(&mut interp, &forks) / n;
    assert!(per_fork <= FORK_BYTES, "a fork costs the host {per_fork} B");
    eprintln!(
        "host cost: {} B a zero page, {} B a written page, {per_process} B a process, {per_fork} B a fork",
        zeros / pages,
        written / (data / 4096)
    );
}
