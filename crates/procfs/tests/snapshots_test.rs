//! Snapshot tests of the `/proc` texts for a process that has one mapping of every kind.
//!
//! The snapshots pin the exact text; that the text is Linux's is checked separately, by the
//! differential test against the host kernel (crates/hostdiff), which compares maps and smaps
//! byte for byte.

use abi::*;
use mm::{Config, ExecImage, ExecSegment, Kernel, Pid};

fn program(k: &mut Kernel) -> Pid {
    k.create_file("/usr/bin/demo", &vec![0x90u8; 0x5000]);
    let image = ExecImage {
        path: "/usr/bin/demo".into(),
        segments: vec![
            ExecSegment { vaddr: 0x40_0000, memsz: 0x1000, filesz: 0x1000, offset: 0, prot: PROT_READ },
            ExecSegment {
                vaddr: 0x40_1000,
                memsz: 0x2000,
                filesz: 0x2000,
                offset: 0x1000,
                prot: PROT_READ | PROT_EXEC,
            },
            ExecSegment { vaddr: 0x40_3000, memsz: 0x1000, filesz: 0x1000, offset: 0x3000, prot: PROT_READ },
            ExecSegment {
                vaddr: 0x40_4e10,
                memsz: 0x3200,
                filesz: 0x200,
                offset: 0x3e10,
                prot: PROT_READ | PROT_WRITE,
            },
        ],
        pie: false,
        stack_bytes: 0x400,
        exec_stack: false,
    };
    k.spawn("demo", &image).unwrap()
}

fn scenario() -> (Kernel, Pid, Pid) {
    let mut k = Kernel::new(Config { ram_bytes: 64 << 20, paranoid: true, ..Config::default() });
    let p = program(&mut k);
    let brk = k.brk(p, 0).unwrap();
    k.brk(p, brk + 0x21000).unwrap();
    k.store(p, brk, b"heap").unwrap();
    let anon = k.mmap(p, 0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).unwrap();
    k.store(p, anon, &[1; 8192]).unwrap();
    let shared = k.mmap(p, 0, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0).unwrap();
    k.store(p, shared, b"shared").unwrap();
    k.create_file("/tmp/data\nfile", &vec![7u8; 3 * 4096 + 100]);
    let fd = k.open(p, "/tmp/data\nfile", O_RDWR).unwrap() as i64;
    let file = k.mmap(p, 0, 4 * 4096, PROT_READ, MAP_PRIVATE, fd, 0).unwrap();
    k.load(p, file, 1).unwrap();
    k.unlink("/tmp/data\nfile").unwrap();
    k.mprotect(p, anon + 4096, 4096, PROT_READ).unwrap();
    let child = k.fork(p).unwrap();
    k.store(child, anon, b"child").unwrap();
    (k, p, child)
}

#[test]
fn maps_of_a_process_with_every_kind_of_mapping() {
    let (k, p, child) = scenario();
    insta::assert_snapshot!("maps_parent", procfs::maps(&k, p).unwrap());
    insta::assert_snapshot!("maps_child", procfs::maps(&k, child).unwrap());
}

#[test]
fn smaps_and_rollup_after_fork_and_cow() {
    let (k, p, child) = scenario();
    insta::assert_snapshot!("smaps_parent", procfs::smaps(&k, p).unwrap());
    insta::assert_snapshot!("rollup_child", procfs::smaps_rollup(&k, child).unwrap());
}

#[test]
fn status_and_statm() {
    let (k, p, _) = scenario();
    insta::assert_snapshot!("status_parent", procfs::status(&k, p).unwrap());
    insta::assert_snapshot!("statm_parent", procfs::statm(&k, p).unwrap());
}
