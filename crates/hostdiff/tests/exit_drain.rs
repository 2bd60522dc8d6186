//! A process's exit does not drain its CPU's mlock batch (6.18's exit_mmap calls no
//! lru_add_drain): munlocks a parent's munmap queued still wait after a child's exit, on
//! this machine's kernel (`exit_drain.c`, read from /proc/kpageflags) and on the model.
//! Something else on a machine drains a CPU's batches now and then, so the host side runs
//! the probe until one run shows the munlocks waiting both before and after the exit (a
//! kernel whose exit drained would never show that); the model has nothing else and
//! must show it every time. Needs gcc and root; under MMSIM_REQUIRE_HOST=1 a machine
//! without them fails.

use abi::*;
use mm::frame::PageFlags;
use std::process::Command;

const CHILD: &str = include_str!("exit_drain.c");
const P: u64 = 4096;

/// The model's PG_mlocked of the reader's first page, before and after the exit.
fn model() -> (bool, bool) {
    let mut k = mm::Kernel::new(mm::Config { paranoid: true, ..mm::Config::default() });
    let parent = k.spawn_empty("exit_drain").unwrap();
    let x = k.mmap(parent, 0, 4 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).unwrap();
    k.dispatch(parent, &mm::Call::Mlock { addr: x, len: 4 * P }).unwrap();
    let reader = k.fork(parent).unwrap();
    let exiter = k.fork(parent).unwrap();
    k.munmap(parent, x, 4 * P).unwrap();
    let mlocked = |k: &mm::Kernel| {
        let id = k.mm_id(reader).unwrap();
        let pfn = k.pte(id, x).pfn();
        k.machine().frames.meta(pfn).flags.contains(PageFlags::MLOCKED)
    };
    let before = mlocked(&k);
    k.exit(exiter, 0).unwrap();
    k.reap(exiter).unwrap();
    let after = mlocked(&k);
    mm::invariants::check_kernel(&k);
    (before, after)
}

#[test]
fn an_exit_does_not_drain_the_mlock_batch() {
    assert_eq!(model(), (true, true), "the model's munlocks, before and after the exit");
    if !hostreq::need_tools("the exit drain test", &["gcc"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = hostdiff::cc::build_c("exit_drain", CHILD, &[], dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let mut seen = Vec::new();
    for _ in 0..60 {
        let out = Command::new(&bin).output().unwrap();
        assert!(out.status.success(), "the probe failed ({}): is this root?", out.status);
        let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if line == "11" {
            return;
        }
        seen.push(line);
    }
    panic!("no run showed the munlocks waiting after the exit: {seen:?}");
}
