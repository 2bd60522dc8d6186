//! Behaviour tests of the core calls on small address spaces.

use abi::*;
use mm::invariants::{check_kernel, check_no_leaks};
use mm::{Config, Kernel, Signal};

fn kernel() -> Kernel {
    Kernel::new(Config { ram_bytes: 64 << 20, paranoid: true, ..Config::default() })
}

const RW: u64 = PROT_READ | PROT_WRITE;
const ANON: u64 = MAP_PRIVATE | MAP_ANONYMOUS;

#[test]
fn anonymous_mappings_pack_down_from_mmap_base_and_merge() {
    let mut k = kernel();
    let p = k.spawn_empty("t").unwrap();
    let base = k.mm(p).unwrap().mmap_base;
    assert_eq!(base, 0x7fff_f7ff_f000);
    let a = k.mmap(p, 0, 8192, RW, ANON, -1, 0).unwrap();
    assert_eq!(a, base - 8192);
    let b = k.mmap(p, 0, 4096, RW, ANON, -1, 0).unwrap();
    assert_eq!(b, a - 4096);
    assert_eq!(k.mm(p).unwrap().map_count(), 1, "adjacent anonymous RW mappings merge");
    check_kernel(&k);
}

#[test]
fn fork_shares_pages_until_a_write_then_copies() {
    let mut k = kernel();
    let p = k.spawn_empty("t").unwrap();
    let a = k.mmap(p, 0, 2 * 4096, RW, ANON, -1, 0).unwrap();
    k.store(p, a, b"parent").unwrap();
    let c = k.fork(p).unwrap();
    assert_eq!(k.load(c, a, 6).unwrap(), b"parent");
    k.store(c, a, b"child!").unwrap();
    assert_eq!(k.load(p, a, 6).unwrap(), b"parent");
    assert_eq!(k.load(c, a, 6).unwrap(), b"child!");
    // The child copied; the parent's page is exclusive again only by refcount: reuse.
    k.store(p, a, b"again!").unwrap();
    let ev: Vec<_> = k.machine().events.iter().map(|e| e.kind.clone()).collect();
    assert!(ev.contains(&mm::EventKind::CowCopy));
    assert!(ev.contains(&mm::EventKind::CowReuse));
    k.exit(c, 0).unwrap();
    k.reap(c).unwrap();
    k.exit(p, 0).unwrap();
    k.reap(p).unwrap();
    check_no_leaks(&k);
}

#[test]
fn faults_give_the_right_signals() {
    let mut k = kernel();
    let p = k.spawn_empty("t").unwrap();
    let a = k.mmap(p, 0, 4096, PROT_READ, ANON, -1, 0).unwrap();
    assert_eq!(k.load(p, a, 1).unwrap(), [0]);
    assert!(matches!(k.store(p, a, b"x"), Err(Signal::Segv { code: mm::SegvCode::AccErr, .. })));
    assert!(matches!(k.load(p, 0x1000, 1), Err(Signal::Segv { code: mm::SegvCode::MapErr, .. })));
    assert_eq!(k.copy_from_user(p, 0x1000, 4), Err(Errno::EFAULT));
    let f = k.create_file("/tmp/f", &[7u8; 100]);
    let _ = f;
    let fd = k.open(p, "/tmp/f", O_RDONLY).unwrap() as i64;
    let m = k.mmap(p, 0, 3 * 4096, PROT_READ, MAP_PRIVATE, fd, 0).unwrap();
    assert_eq!(k.load(p, m + 99, 2).unwrap(), [7, 0]);
    assert!(matches!(k.load(p, m + 4096, 1), Err(Signal::Bus { .. })));
}

#[test]
fn munmap_in_the_middle_splits_and_mprotect_merges_back() {
    let mut k = kernel();
    let p = k.spawn_empty("t").unwrap();
    let a = k.mmap(p, 0, 3 * 4096, RW, ANON, -1, 0).unwrap();
    k.mprotect(p, a + 4096, 4096, PROT_READ).unwrap();
    assert_eq!(k.mm(p).unwrap().map_count(), 3);
    k.mprotect(p, a + 4096, 4096, RW).unwrap();
    assert_eq!(k.mm(p).unwrap().map_count(), 1);
    k.munmap(p, a + 4096, 4096).unwrap();
    assert_eq!(k.mm(p).unwrap().map_count(), 2);
}

#[test]
fn load_into_reads_what_load_reads_without_allocating() {
    let mut k = kernel();
    let p = k.spawn_empty("t").unwrap();
    let a = k.mmap(p, 0, 3 * 4096, RW, ANON, -1, 0).unwrap();
    k.store(p, a + 4090, b"across a page boundary").unwrap();
    let mut buf = [0u8; 22];
    k.load_into(p, a + 4090, &mut buf).unwrap();
    assert_eq!(&buf[..], &k.load(p, a + 4090, 22).unwrap()[..]);
    assert_eq!(&buf[..], b"across a page boundary");
    // A fault on the way gives the signal load gives, at the first unreadable address.
    k.munmap(p, a + 8192, 4096).unwrap();
    let mut big = [0u8; 8];
    let got = k.load_into(p, a + 8188, &mut big);
    assert!(matches!(got, Err(Signal::Segv { code: mm::SegvCode::MapErr, addr }) if addr == a + 8192), "{got:?}");
    assert_eq!(got.err(), k.load(p, a + 8188, 8).err());
    check_kernel(&k);
}
