//! Snapshot tests of the `/proc` texts for a process that has one mapping of every kind.
//!
//! The snapshots pin the exact text; that the text is Linux's is checked separately, by the
//! differential test against the host kernel (crates/hostdiff), which compares maps and smaps
//! byte for byte.

use abi::*;
use mm::{Config, ElfImage, ElfKind, ExecFile, ExecRequest, Kernel, LoadSegment, Pid, StackExec};

fn program(k: &mut Kernel) -> Pid {
    let file = k.create_file("/usr/bin/demo", &vec![0x90u8; 0x5000]);
    let seg = |vaddr, memsz, filesz, offset, prot| LoadSegment { vaddr, memsz, filesz, offset, prot, align: 0x1000 };
    let image = ElfImage {
        kind: ElfKind::Exec,
        machine: mm::Machine::X86_64,
        entry: 0x40_1000,
        phoff: 64,
        phnum: 4,
        segments: vec![
            seg(0x40_0000, 0x1000, 0x1000, 0, PROT_READ),
            seg(0x40_1000, 0x2000, 0x2000, 0x1000, PROT_READ | PROT_EXEC),
            seg(0x40_3000, 0x1000, 0x1000, 0x3000, PROT_READ),
            seg(0x40_4e10, 0x3200, 0x200, 0x3e10, PROT_READ | PROT_WRITE),
        ],
        interp: None,
        stack: StackExec::Disable,
        relro: None,
    };
    k.spawn(&ExecRequest::new("/usr/bin/demo", ExecFile { file, image })).unwrap()
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
