//! The pagemap, meminfo, vmstat and smaps fields added for madvise, mlock and overcommit,
//! on small scenarios whose values follow from the rules in linux-mm-facts.md §5-§6.

use abi::*;
use mm::{Config, Kernel};

fn setup() -> (Kernel, mm::Pid) {
    let mut k = Kernel::new(Config { ram_bytes: 64 << 20, paranoid: true, ..Config::default() });
    let pid = k.spawn_empty("t").unwrap();
    (k, pid)
}

fn field(text: &str, name: &str) -> u64 {
    let line = text.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name} in\n{text}"));
    line[name.len()..].split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn pagemap_bits_follow_mapcount_and_kind() {
    let (mut k, pid) = setup();
    let a = k.mmap(pid, 0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).unwrap();
    k.load(pid, a, 1).unwrap();
    k.store(pid, a + 4096, &[1]).unwrap();
    let e = procfs::pagemap(&k, pid, pid, a >> 12, 3).unwrap();
    // The zero page: present with its PFN, neither exclusive nor file.
    assert_eq!(e[0] & !procfs::PM_PFN_MASK, procfs::PM_PRESENT);
    assert_ne!(e[0] & procfs::PM_PFN_MASK, 0);
    assert_eq!(e[1] & !procfs::PM_PFN_MASK, procfs::PM_PRESENT | procfs::PM_MMAP_EXCLUSIVE);
    assert_eq!(e[2], 0);
    let child = k.fork(pid).unwrap();
    let e = procfs::pagemap(&k, pid, pid, (a >> 12) + 1, 1).unwrap();
    assert_eq!(e[0] & !procfs::PM_PFN_MASK, procfs::PM_PRESENT);
    // Without CAP_SYS_ADMIN the PFN reads 0.
    k.drop_capabilities(child).unwrap();
    let e = procfs::pagemap(&k, child, child, (a >> 12) + 1, 1).unwrap();
    assert_eq!(e[0], procfs::PM_PRESENT);
    assert_eq!(procfs::pagemap_read(&k, pid, pid, 4, 8), Err(Errno::EINVAL));
}

#[test]
fn smaps_lazyfree_and_locked() {
    let (mut k, pid) = setup();
    let a = k.mmap(pid, 0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).unwrap();
    k.store(pid, a, &[1; 4 * 4096]).unwrap();
    k.madvise(pid, a, 2 * 4096, MADV_FREE).unwrap();
    let s = procfs::smaps(&k, pid).unwrap();
    assert_eq!(field(&s, "LazyFree:"), 8);
    assert_eq!(field(&s, "Private_Clean:"), 8);
    k.store(pid, a, &[2]).unwrap();
    let s = procfs::smaps(&k, pid).unwrap();
    assert_eq!(field(&s, "LazyFree:"), 4);
    k.mlock(pid, a, 4 * 4096).unwrap();
    let s = procfs::smaps(&k, pid).unwrap();
    assert_eq!(field(&s, "Locked:"), 16);
    let st = procfs::status(&k, pid).unwrap();
    assert_eq!(field(&st, "VmLck:"), 16);
}

#[test]
fn meminfo_and_vmstat_count_what_the_model_holds() {
    let (mut k, pid) = setup();
    let a = k.mmap(pid, 0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).unwrap();
    k.store(pid, a, &[1; 4 * 4096]).unwrap();
    k.mlock(pid, a, 2 * 4096).unwrap();
    let m = procfs::meminfo(&k);
    assert_eq!(field(&m, "MemTotal:"), 64 << 10);
    assert_eq!(field(&m, "AnonPages:"), 16);
    assert_eq!(field(&m, "Mlocked:"), 8);
    assert_eq!(field(&m, "Committed_AS:"), 16);
    assert_eq!(field(&m, "CommitLimit:"), 32 << 10);
    let v = procfs::vmstat(&k);
    assert_eq!(field(&v, "pgfault "), 4);
    assert_eq!(field(&v, "nr_mlock "), 2);
}

#[test]
fn strict_overcommit_refuses_beyond_the_commit_limit() {
    let mut k =
        Kernel::new(Config { ram_bytes: 64 << 20, overcommit_memory: 2, overcommit_ratio: 50, ..Config::default() });
    let pid = k.spawn_empty("t").unwrap();
    // CommitLimit is 32 MiB; the user reserve takes min(total_vm / 32, 2 MiB).
    assert!(k.mmap(pid, 0, 24 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).is_ok());
    assert_eq!(
        k.mmap(pid, 0, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
        Err(Errno::ENOMEM)
    );
    // Read-only private memory is not charged.
    assert!(k.mmap(pid, 0, 16 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).is_ok());
    let m = procfs::meminfo(&k);
    assert_eq!(field(&m, "Committed_AS:"), 24 << 10);
    // Mode 1 charges but never refuses; mode 0 refuses one request larger than RAM.
    k.config_mut().overcommit_memory = 1;
    assert!(k.mmap(pid, 0, 1 << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).is_ok());
    k.config_mut().overcommit_memory = 0;
    assert_eq!(k.mmap(pid, 0, 1 << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), Err(Errno::ENOMEM));
}
