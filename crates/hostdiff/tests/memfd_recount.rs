//! A memfd's commit charge for the pages reclaim dropped, on this machine's kernel and on
//! the model. A memfd charges each page it allocates (`Committed_AS`); MADV_PAGEOUT without
//! swap drops its clean pages, and Linux gives their charge back only at the object's next
//! recount (`shmem_recalc_inode`): a page allocated into it (a fault or a write of a hole),
//! a truncation or a hole punched; not at a read, a fault of a page still there, a growing
//! truncate or an munmap. The C child (`memfd_recount.c`) prints the changes of
//! `Committed_AS` around each step; the model takes the same steps. `Committed_AS` counts
//! the whole machine, so a host run that another process disturbed is run again (three
//! runs at most). Needs gcc; under MMSIM_REQUIRE_HOST=1 a machine without it fails.

use abi::*;
use std::process::Command;

const CHILD: &str = include_str!("memfd_recount.c");
const P: u64 = 4096;
const PAGES: u64 = 256;
const STEPS: [&str; 9] =
    ["fault-hole", "fault-present", "write-hole", "read-hole", "shrink", "grow", "madv-remove", "munmap", "none"];

fn model() -> String {
    let mut k = mm::Kernel::new(mm::Config { paranoid: true, ..mm::Config::default() });
    let pid = k.spawn_empty("recount").unwrap();
    let committed_kb = |k: &mm::Kernel| k.machine().committed as i64 * 4;
    // The child's one-byte buffer lives on its stack: a page already there.
    let buf = k.mmap(pid, 0, P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).unwrap();
    k.store(pid, buf, &[1]).unwrap();
    let mut out = String::new();
    for step in STEPS {
        let fd = k.memfd_create(pid, "recount", 0).unwrap() as i64;
        k.dispatch(pid, &mm::Call::Ftruncate { fd, len: PAGES * P }).unwrap();
        let p = k.mmap(pid, 0, PAGES * P, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0).unwrap();
        let c0 = committed_kb(&k);
        for i in 0..PAGES {
            k.load(pid, p + i * P, 1).unwrap();
        }
        k.store(pid, p + 7 * P, &[1]).unwrap();
        let c1 = committed_kb(&k);
        k.madvise(pid, p, PAGES * P, MADV_PAGEOUT).unwrap();
        let c2 = committed_kb(&k);
        match step {
            "fault-hole" => drop(k.load(pid, p, 1).unwrap()),
            "fault-present" => drop(k.load(pid, p + 7 * P, 1).unwrap()),
            "write-hole" => assert_eq!(k.write(pid, fd, buf, 1), Ok(1)),
            "read-hole" => assert_eq!(k.read(pid, fd, buf, 1), Ok(1)),
            "shrink" => drop(k.dispatch(pid, &mm::Call::Ftruncate { fd, len: (PAGES - 1) * P }).unwrap()),
            "grow" => drop(k.dispatch(pid, &mm::Call::Ftruncate { fd, len: (PAGES + 1) * P }).unwrap()),
            "madv-remove" => drop(k.madvise(pid, p + 200 * P, P, MADV_REMOVE).unwrap()),
            "munmap" => drop(k.munmap(pid, p, PAGES * P).unwrap()),
            _ => {}
        }
        let c3 = committed_kb(&k);
        out.push_str(&format!("{step} faults {:+} pageout {:+} step {:+}\n", c1 - c0, c2 - c1, c3 - c2));
        if step != "munmap" {
            k.munmap(pid, p, PAGES * P).unwrap();
        }
        k.close(pid, fd).unwrap();
        mm::invariants::check_kernel(&k);
    }
    out
}

#[test]
fn a_memfd_gives_back_the_charge_of_dropped_pages_at_its_next_recount() {
    if !hostreq::need_tools("the memfd recount test", &["gcc"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = hostdiff::cc::build_c("memfd_recount", CHILD, &[], dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let model = model();
    let mut host = String::new();
    for _ in 0..3 {
        let out = Command::new(&bin).args(STEPS).output().unwrap();
        assert!(out.status.success(), "the child failed: {}", String::from_utf8_lossy(&out.stderr));
        host = String::from_utf8_lossy(&out.stdout).into_owned();
        if host == model {
            break;
        }
    }
    assert_eq!(model, host, "model (left) and host (right)");
}
