//! The window a fault reads into the page cache from a file not cached, by the mapping's
//! protection and advice, on this machine's kernel and in the model: a mapping without
//! PROT_EXEC reads around the page (the window centred on it), MADV_RANDOM the page alone,
//! an executable mapping (MADV_RANDOM or not) the window from the page on, up to the VMA's
//! end (do_sync_mmap_readahead's VM_EXEC case, Linux 6.16 on). The C child
//! (`exec_readahead.c`) prints which pages of a fresh sparse file each case leaves cached;
//! the model does the same and must print the same. A random host-differential script
//! (seed 777941 of `mmsim check --random`, 120 steps) found the executable case.
//!
//! Needs gcc; under MMSIM_REQUIRE_HOST=1 a machine without it fails the test.

use abi::*;
use std::process::Command;

const CHILD: &str = include_str!("exec_readahead.c");
/// The file's pages: more than any readahead window, so that each shows where it ends.
const PAGES: u64 = 4096;

/// PROT:VMA_FIRST_PAGE:VMA_PAGES:FAULT_PAGE[:r] (r: MADV_RANDOM), as the child takes them.
const CASES: &[&str] = &[
    "1:1000:2000:1048",
    "1:1000:2000:1048:r",
    "5:1000:2000:1048",
    "4:1000:2000:1048",
    "7:1000:2000:1048",
    "5:1000:2000:1048:r",
    "5:1000:1060:1048",
    "5:0:4096:100",
    "5:0:4096:4000",
    "5:40:8:7",
];

/// What the model leaves cached for one case, as the child prints it.
fn model_case(read_ahead_kb: u64, case: &str) -> String {
    let parts: Vec<&str> = case.split(':').collect();
    let n = |i: usize| parts[i].parse::<u64>().unwrap();
    let (prot, first, pages, fault) = (n(0), n(1), n(2), n(3));
    let mut k = mm::Kernel::new(mm::Config { read_ahead_kb, ..mm::Config::default() });
    let p = k.spawn_empty("child").unwrap();
    let f = k.create_file("/tmp/exec-ra", &[]);
    k.truncate_file(f, PAGES * 4096);
    let fd = k.open(p, "/tmp/exec-ra", O_RDWR).unwrap() as i64;
    let a = k.mmap(p, 0, pages * 4096, prot, MAP_PRIVATE, fd, first * 4096).unwrap();
    if parts.get(4) == Some(&"r") {
        k.madvise(p, a, pages * 4096, MADV_RANDOM).unwrap();
    }
    let mut byte = [0u8];
    k.load_into(p, a + fault * 4096, &mut byte).unwrap();
    mm::invariants::check_kernel(&k);
    let file = k.file(f);
    let mut out = String::new();
    let mut from = None;
    for i in 0..=PAGES {
        let cached = i < PAGES && file.page_cached(i);
        match (cached, from) {
            (true, None) => from = Some(i),
            (false, Some(s)) => {
                out += &if s == i - 1 { format!("{s} ") } else { format!("{s}-{} ", i - 1) };
                from = None;
            }
            _ => {}
        }
    }
    out
}

#[test]
fn a_fault_reads_the_window_its_mappings_protection_and_advice_ask_for() {
    let what = "fault readahead by protection";
    if !hostreq::need_tools(what, &["gcc"]) {
        return;
    }
    let dir = tempfile::tempdir_in(std::env::current_dir().unwrap()).unwrap();
    let built = hostdiff::cc::build_c("exec_readahead", CHILD, &[], dir.path());
    let Some(bin) = hostreq::need(what, built) else { return };
    let out = Command::new(&bin).arg(dir.path()).args(CASES).output().unwrap();
    assert!(out.status.success(), "the child failed: {:?}", out.status);
    let host = String::from_utf8_lossy(&out.stdout);
    let kb =
        loader::host::read_ahead_kb(dir.path()).expect("the readahead window of the disk holding the test's directory");
    let host: Vec<&str> = host.lines().collect();
    assert_eq!(host.len(), CASES.len(), "{host:?}");
    for (case, host) in CASES.iter().zip(host) {
        let model = model_case(kb, case);
        assert_eq!(model.trim(), host.trim(), "case {case}: model (left) and this kernel (right)");
    }
}
