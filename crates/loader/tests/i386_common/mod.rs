//! What the i386 oracle tests share: the goldens (tests/golden/i386, made by
//! scripts/i386-oracle.sh), the recorded program headers, and exec of those programs in a
//! model of the oracle's shape.
#![allow(dead_code)]

pub use mm::kalloc::KernelArch;
pub use mm::{Config, ExecFile, ExecRequest, Kernel, Pid};
use std::path::PathBuf;

pub const FLAVOURS: [(&str, KernelArch); 2] = [("686", KernelArch::I386), ("686-pae", KernelArch::I386Pae)];
/// The oracle guest's usable RAM (tests/golden/i386/README.md).
pub const ORACLE_RAM: u64 = 0x3ffe_0000;
pub const PROT_READ: u64 = 1;
pub const PROT_WRITE: u64 = 2;
pub const MAP_PRIVATE: u64 = 2;
pub const MAP_ANONYMOUS: u64 = 0x20;

pub fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/i386")
}

pub fn golden(flavour: &str, name: &str) -> String {
    let p = golden_dir().join(flavour).join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A program's recorded head (`size N`, then its first bytes in hex), as a file of its real
/// size whose first bytes are the recorded ones.
pub fn program_bytes(name: &str) -> Vec<u8> {
    let p = golden_dir().join("programs").join(format!("{name}.head"));
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut lines = text.lines();
    let size: usize =
        lines.next().and_then(|l| l.strip_prefix("size ")).and_then(|n| n.parse().ok()).expect("size line");
    let mut bytes: Vec<u8> =
        lines.flat_map(|l| l.split_whitespace()).map(|h| u8::from_str_radix(h, 16).expect("hex byte")).collect();
    assert!(bytes.len() <= size);
    bytes.resize(size, 0);
    bytes
}

/// The device and inode the guest's maps give `path`.
pub fn identity(maps: &str, path: &str) -> (u32, u32, u64) {
    let line = maps.lines().find(|l| l.ends_with(path)).expect("the program's line");
    let f: Vec<&str> = line.split_whitespace().collect();
    let (maj, min) = f[3].split_once(':').unwrap();
    (u32::from_str_radix(maj, 16).unwrap(), u32::from_str_radix(min, 16).unwrap(), f[4].parse().unwrap())
}

/// A kernel of the oracle's shape running `path` (argv as given) from the recorded headers,
/// the file having the device and inode the guest's maps show.
pub fn exec(arch: KernelArch, name: &str, path: &str, argv: &[&str], guest_maps: &str) -> (Kernel, Pid) {
    exec_as(arch, name, path, argv, identity(guest_maps, path))
}

/// Like [`exec`], the file having the device and inode `(major, minor, ino)`.
pub fn exec_as(arch: KernelArch, name: &str, path: &str, argv: &[&str], id: (u32, u32, u64)) -> (Kernel, Pid) {
    let mut k = Kernel::new(Config { ram_bytes: ORACLE_RAM, ..Config::default() }.with_kernel_arch(arch));
    let bytes = program_bytes(name);
    let image = loader::parse(&bytes).expect("the recorded headers parse");
    let (major, minor, ino) = id;
    let file = k.import_file(path, major, minor, ino, bytes.into());
    let pid = k.spawn(&ExecRequest::new(path, ExecFile { file, image }).args(argv.iter().copied())).expect("exec");
    (k, pid)
}

/// glibc's static start-up: the TLS block from brk (0x880 bytes, written), malloc's first
/// brk (132 KiB, rounded to the page), and the RELRO segment made read-only.
pub fn static_glibc_start(k: &mut Kernel, pid: Pid, relro: (u64, u64)) {
    let start = k.brk(pid, 0).unwrap();
    assert_eq!(k.brk(pid, start + 0x880).unwrap(), start + 0x880);
    k.store(pid, start + 0x380, &[1; 0x80]).unwrap();
    let cur = k.brk(pid, 0).unwrap();
    k.brk(pid, cur + 0x21000).unwrap();
    k.brk(pid, (cur + 0x21000 + 0xfff) & !0xfff).unwrap();
    k.mprotect(pid, relro.0, relro.1, PROT_READ).unwrap();
}

pub fn maps(k: &Kernel, pid: Pid) -> String {
    procfs::maps(k, pid).unwrap()
}

/// The maps block after `--- maps TITLE` in exam.txt, up to the next line that is not a
/// maps line.
pub fn exam_maps(exam: &str, title: &str) -> String {
    let start = exam.find(&format!("--- maps {title}\n")).expect(title);
    exam[start..]
        .lines()
        .skip(1)
        .take_while(|l| l.len() > 17 && l.as_bytes()[8] == b'-')
        .map(|l| format!("{l}\n"))
        .collect()
}

pub fn printed(exam: &str, what: &str) -> u64 {
    let line = exam.lines().find(|l| l.split_whitespace().next() == Some(what)).expect(what);
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap().trim_start_matches("0x"), 16).unwrap()
}
