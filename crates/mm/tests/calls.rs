//! Behaviour tests of mremap, madvise, mlock, mincore and msync on the model, with every
//! invariant checked after every call (`Config::paranoid`).

use abi::*;
use mm::invariants::check_no_leaks;
use mm::{Config, Kernel, Pid};

const P: u64 = 4096;

fn setup() -> (Kernel, Pid) {
    let mut k = Kernel::new(Config { ram_bytes: 64 << 20, paranoid: true, ..Config::default() });
    let pid = k.spawn_empty("t").unwrap();
    (k, pid)
}

fn anon(k: &mut Kernel, pid: Pid, addr: u64, len: u64) -> u64 {
    k.mmap(pid, addr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0).unwrap()
}

fn finish(mut k: Kernel, pid: Pid) {
    k.exit(pid, 0).unwrap();
    k.reap(pid).unwrap();
    check_no_leaks(&k);
}

#[test]
fn mremap_move_carries_contents_and_frees_the_source() {
    let (mut k, pid) = setup();
    let a = anon(&mut k, pid, 0x1000_0000, 4 * P);
    k.store(pid, a, &[7; 4 * P as usize]).unwrap();
    let blocker = anon(&mut k, pid, a + 4 * P, P);
    let b = k.mremap(pid, a, 4 * P, 8 * P, MREMAP_MAYMOVE, 0).unwrap();
    assert_ne!(a, b);
    assert_eq!(k.load(pid, b, 4 * P).unwrap(), vec![7; 4 * P as usize]);
    assert_eq!(k.load(pid, b + 4 * P, 1).unwrap(), vec![0]);
    assert!(k.load(pid, a, 1).is_err());
    assert_eq!(k.mremap(pid, blocker, P, 2 * P, 0, 0), Ok(blocker));
    assert_eq!(k.mremap(pid, b, 8 * P, 2 * P, 0, 0), Ok(b));
    finish(k, pid);
}

#[test]
fn mremap_fixed_moves_several_vmas_keeping_gaps() {
    let (mut k, pid) = setup();
    let a = anon(&mut k, pid, 0x1000_0000, 8 * P);
    k.store(pid, a, &[1; 8 * P as usize]).unwrap();
    k.mprotect(pid, a + 2 * P, 2 * P, PROT_READ).unwrap();
    k.munmap(pid, a + 5 * P, P).unwrap();
    let dst = 0x2000_0000;
    assert_eq!(k.mremap(pid, a, 8 * P, 8 * P, MREMAP_MAYMOVE | MREMAP_FIXED, dst), Ok(dst));
    assert_eq!(k.load(pid, dst + 7 * P, 1).unwrap(), vec![1]);
    assert!(k.load(pid, dst + 5 * P, 1).is_err());
    assert_eq!(k.mm(pid).unwrap().vmas.range(dst, dst + 8 * P).count(), 4);
    finish(k, pid);
}

#[test]
fn dontunmap_leaves_an_empty_source() {
    let (mut k, pid) = setup();
    let a = anon(&mut k, pid, 0x1000_0000, 2 * P);
    k.store(pid, a, &[3; 2 * P as usize]).unwrap();
    k.mlock(pid, a, 2 * P).unwrap();
    let b = k.mremap(pid, a, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0).unwrap();
    assert_eq!(k.load(pid, b, 1).unwrap(), vec![3]);
    assert_eq!(k.load(pid, a, 1).unwrap(), vec![0]);
    // Linux keeps counting the old range in locked_vm.
    assert_eq!(k.mm(pid).unwrap().locked_vm.as_u64(), 4);
    finish(k, pid);
}

#[test]
fn madvise_dontneed_free_and_flag_splits() {
    let (mut k, pid) = setup();
    let a = anon(&mut k, pid, 0x1000_0000, 4 * P);
    k.store(pid, a, &[9; 4 * P as usize]).unwrap();
    k.madvise(pid, a, P, MADV_DONTNEED).unwrap();
    assert_eq!(k.load(pid, a, 1).unwrap(), vec![0]);
    k.madvise(pid, a + P, P, MADV_FREE).unwrap();
    assert_eq!(k.load(pid, a + P, 1).unwrap(), vec![9]);
    k.madvise(pid, a + P, P, MADV_DONTFORK).unwrap();
    assert_eq!(k.mm(pid).unwrap().vmas.len(), 3);
    k.madvise(pid, a + P, P, MADV_DOFORK).unwrap();
    assert_eq!(k.mm(pid).unwrap().vmas.len(), 1);
    assert_eq!(k.madvise(pid, a, 8 * P, MADV_NORMAL), Err(Errno::ENOMEM));
    assert_eq!(k.madvise(pid, a, P, 999), Err(Errno::EINVAL));
    assert_eq!(k.madvise(pid, a, P, MADV_POPULATE_WRITE), Ok(0));
    finish(k, pid);
}

#[test]
fn mlock_populates_and_counts() {
    let (mut k, pid) = setup();
    let a = anon(&mut k, pid, 0x1000_0000, 4 * P);
    k.mlock(pid, a + 1, 10).unwrap();
    assert_eq!(k.mm(pid).unwrap().locked_vm.as_u64(), 1);
    assert_eq!(k.mm(pid).unwrap().rss.anon.as_u64(), 1);
    k.mlock2(pid, a + P, P, MLOCK_ONFAULT).unwrap();
    assert_eq!(k.mm(pid).unwrap().rss.anon.as_u64(), 1);
    k.munlock(pid, a, 4 * P).unwrap();
    assert_eq!(k.mm(pid).unwrap().locked_vm.as_u64(), 0);
    let n = k.mmap(pid, 0, P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).unwrap();
    assert_eq!(k.mlock(pid, n, P), Err(Errno::ENOMEM));
    assert_eq!(k.mlockall(pid, MCL_ONFAULT), Err(Errno::EINVAL));
    k.mlockall(pid, MCL_CURRENT | MCL_FUTURE).unwrap();
    k.munlockall(pid).unwrap();
    finish(k, pid);
}

#[test]
fn mincore_and_msync() {
    let (mut k, pid) = setup();
    k.create_file("/f", &vec![5u8; 3 * P as usize]);
    let fd = k.open(pid, "/f", O_RDWR).unwrap() as i64;
    let f = k.mmap(pid, 0, 4 * P, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0).unwrap();
    let a = anon(&mut k, pid, 0x1000_0000, 2 * P);
    k.load(pid, a, 1).unwrap();
    assert_eq!(k.mincore_vec(pid, a, 2 * P).unwrap(), (vec![1, 0], None));
    assert_eq!(k.mincore_vec(pid, f, 4 * P).unwrap(), (vec![1, 1, 1, 0], None));
    k.store(pid, f, &[1]).unwrap();
    assert_eq!(k.msync(pid, f, 4 * P, MS_SYNC), Ok(0));
    assert_eq!(k.msync(pid, f, P, MS_SYNC | MS_ASYNC), Err(Errno::EINVAL));
    k.store(pid, f, &[2]).unwrap();
    finish(k, pid);
}

#[test]
fn read_and_write_check_the_whole_buffer_before_copying() {
    // Measured on 6.18: write(fd, 0xffffffffffffffff, 100), write(fd, buf, SIZE_MAX) and a
    // copy of the stack's last page plus one byte all give EFAULT and copy nothing.
    let (mut k, pid) = setup();
    k.create_file("/f", &[1; 3 * P as usize]);
    let fd = k.open(pid, "/f", O_RDWR).unwrap() as i64;
    let a = anon(&mut k, pid, 0x7fff_ffff_d000, 2 * P);
    k.store(pid, a, &[9; 2 * P as usize]).unwrap();
    assert_eq!(k.write(pid, fd, u64::MAX, 100), Err(Errno::EFAULT));
    assert_eq!(k.write(pid, fd, a, u64::MAX), Err(Errno::EFAULT));
    assert_eq!(k.write(pid, fd, a, 2 * P + 1), Err(Errno::EFAULT));
    assert_eq!(k.read(pid, fd, a, 2 * P + 1), Err(Errno::EFAULT));
    assert_eq!(k.copy_from_user(pid, u64::MAX, 100), Err(Errno::EFAULT));
    assert_eq!(k.copy_to_user(pid, a + P, &[0; P as usize + 1]), Err(Errno::EFAULT));
    assert_eq!(k.load(pid, a, 2 * P).unwrap(), vec![9; 2 * P as usize]);
    assert_eq!(k.write(pid, fd, a, 2 * P), Ok(2 * P));
    finish(k, pid);
}

/// mincore walks a step at a time (at most a page of vector bytes, within one VMA) and copies
/// each step before the next, as Linux does: over a 64 TiB PROT_NONE mapping with a one-page
/// vector it fails with EFAULT at the second step, having written the first, and makes no
/// vector of the whole range. The argument checks come first: EINVAL, ENOMEM for the range,
/// EFAULT for a vector beyond the user address space (even with len 0). Measured on 6.18.
#[test]
fn mincore_of_a_huge_range_goes_step_by_step() {
    let (mut k, pid) = setup();
    let big = 64u64 << 40;
    let m = k.mmap(pid, 0, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0).unwrap();
    // Low, so that vec + 2^34 is inside the user address space (access_ok).
    let vec = anon(&mut k, pid, 0x1000_0000, 2 * P);
    k.munmap(pid, vec + P, P).unwrap();
    k.copy_to_user(pid, vec, &[7; P as usize]).unwrap();
    assert_eq!(k.mincore(pid, m, big, vec), Err(Errno::EFAULT));
    assert!(k.copy_from_user(pid, vec, P).unwrap() == vec![0; P as usize], "the first step was copied");
    k.copy_to_user(pid, vec, &[7; P as usize]).unwrap();
    assert_eq!(k.mincore(pid, m, big, vec + 1), Err(Errno::EFAULT));
    assert_eq!(k.copy_from_user(pid, vec, 2).unwrap(), vec![7, 0], "a partial copy of the first step");
    assert_eq!(k.mincore(pid, m, 4096 * P, vec), Ok(0));
    assert_eq!(k.mincore(pid, m, 4097 * P, vec), Err(Errno::EFAULT));
    assert_eq!(k.mincore(pid, 0x10000, P, 0xffff_8000_0000_0000), Err(Errno::EFAULT));
    assert_eq!(k.mincore(pid, 0x10000, 2 * P, 0x7fff_ffff_efff), Err(Errno::EFAULT));
    assert_eq!(k.mincore(pid, 0x10000, P, 0x7fff_ffff_efff), Err(Errno::ENOMEM), "vec + pages == TASK_SIZE");
    assert_eq!(k.mincore(pid, 0x10000, 0, 0x7fff_ffff_f000), Ok(0));
    assert_eq!(k.mincore(pid, m, 0, 0xffff_8000_0000_0000), Err(Errno::EFAULT));
    assert_eq!(k.mincore(pid, 0x10000, P, 0x20000), Err(Errno::ENOMEM));
    assert_eq!(k.mincore(pid, m, P, 0x20000), Err(Errno::EFAULT));
    assert_eq!(k.mincore(pid, m + big - P, 2 * P, vec), Err(Errno::ENOMEM));
    assert_eq!(k.mincore(pid, m + 1, P, vec), Err(Errno::EINVAL));
    assert_eq!(k.mincore(pid, m, 1 << 47, vec), Err(Errno::ENOMEM));
    // The vector alone, as far as asked: the error is the whole range's.
    assert_eq!(k.mincore_prefix(pid, m, big, 3).unwrap(), (vec![0, 0, 0], None));
    assert_eq!(k.mincore_prefix(pid, m + big - 2 * P, 3 * P, 5).unwrap(), (vec![0, 0], Some(Errno::ENOMEM)));
    finish(k, pid);
}

#[test]
fn a_file_created_in_dev_shm_is_tmpfs() {
    // As the curated host test measures: an extended tmpfs file has no pages in its hole.
    let (mut k, pid) = setup();
    let fd = k.open(pid, "/dev/shm/t", O_RDWR | O_CREAT).unwrap() as i64;
    k.ftruncate(pid, fd, 16 * P).unwrap();
    let m = k.mmap(pid, 0, 16 * P, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0).unwrap();
    assert_eq!(k.mincore_vec(pid, m, 16 * P).unwrap(), (vec![0; 16], None));
    k.store(pid, m + 3 * P, &[1]).unwrap();
    let (v, _) = k.mincore_vec(pid, m, 16 * P).unwrap();
    assert_eq!(v.iter().filter(|&&b| b == 1).count(), 1);
    let f = k.lookup("/dev/shm/t").unwrap();
    assert_eq!(k.file(f).kind, mm::FileKind::Shmem);
    finish(k, pid);
}

/// Populating a read-only private mapping maps the zero page everywhere; each leaf table so
/// filled shares one copy of its entries (no host memory a table), and stays a page table
/// of the model all the same (VmPTE, invariants). A write that breaks COW gives the table a
/// copy of its own; munmap frees them all.
#[test]
fn zero_page_tables_are_shared_and_unshared_on_write() {
    // Room for the 64 MiB mlockall makes resident (on a 64 MiB machine the OOM killer would
    // end the process).
    let mut k = Kernel::new(Config { ram_bytes: 256 << 20, paranoid: true, ..Config::default() });
    let pid = k.spawn_empty("t").unwrap();
    let len = 64u64 << 20;
    let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE;
    let a = k.mmap(pid, 0x4000_0000, len, PROT_READ, flags | MAP_FIXED, -1, 0).unwrap();
    assert_eq!(k.machine().frames.shared_tables(), 32, "one per 2 MiB");
    assert_eq!(k.load(pid, a + len - 1, 1).unwrap(), vec![0]);
    k.mprotect(pid, a, len, PROT_READ | PROT_WRITE).unwrap();
    k.store(pid, a + 5 * P, &[9]).unwrap();
    assert_eq!(k.machine().frames.shared_tables(), 31, "the written table has its own entries");
    assert_eq!(k.load(pid, a + 5 * P, 2).unwrap(), vec![9, 0]);
    assert_eq!(k.load(pid, a + 6 * P, 1).unwrap(), vec![0]);
    // mlockall populates a writable private mapping for writing: every zero page is
    // replaced by a page of its own, and no table maps the zero page any more.
    k.mlockall(pid, MCL_CURRENT).unwrap();
    assert_eq!(k.machine().frames.shared_tables(), 0);
    k.munmap(pid, a, len).unwrap();
    assert_eq!(k.machine().frames.shared_tables(), 0);
    finish(k, pid);
}

/// munmap of part of a shared zero-page table gives the table its own entries with the
/// range cleared (the rest still read as zero pages), and of all of it drops the table; the
/// reclaim that an allocation under pressure runs walks past such tables.
#[test]
fn zero_page_tables_are_cleared_in_part_or_whole() {
    let mut k = Kernel::new(Config { ram_bytes: 8 << 20, paranoid: true, ..Config::default() });
    let pid = k.spawn_empty("t").unwrap();
    let len = 8u64 << 20;
    let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE | MAP_FIXED;
    let a = k.mmap(pid, 0x4000_0000, len, PROT_READ, flags, -1, 0).unwrap();
    assert_eq!(k.machine().frames.shared_tables(), 4);
    k.munmap(pid, a + 3 * P, 2 * P).unwrap();
    assert_eq!(k.machine().frames.shared_tables(), 3, "the cut table has entries of its own");
    assert!(k.load(pid, a + 3 * P, 1).is_err(), "unmapped");
    assert_eq!(k.load(pid, a + 5 * P, 1).unwrap(), vec![0]);
    k.munmap(pid, a + (2 << 20), 2 << 20).unwrap();
    assert_eq!(k.machine().frames.shared_tables(), 2, "a whole table is dropped");
    // Fill the rest of RAM with anonymous pages until the OOM killer ends the process.
    let b =
        k.mmap(pid, 0, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0).unwrap();
    let mut killed = false;
    for i in 0..4096 {
        if k.store(pid, b + i * P, &[1]).is_err() {
            killed = true;
            break;
        }
    }
    assert!(killed, "16 MiB of anonymous pages fit in 8 MiB of RAM");
    mm::invariants::check_kernel(&k);
}

/// ftruncate splits the large page-cache folio that straddles the new end; the pages it
/// leaves below the end are small folios mapped by a locked VMA, so each counts that mapping
/// in its mlock count (found by fuzzing the calls: the invariant check failed, and a later
/// munlock would have found no count to drop).
#[test]
fn truncating_a_large_folio_under_a_locked_mapping_mlocks_the_pages_it_leaves() {
    let (mut k, pid) = setup();
    // One write of four pages makes one order-2 folio.
    k.create_file("/f", &[1u8; 4 * P as usize]);
    let fd = k.open(pid, "/f", O_RDWR).unwrap() as i64;
    let a = k.mmap(pid, 0, 4 * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, fd, 0).unwrap();
    k.ftruncate(pid, fd, P).unwrap();
    assert_eq!(k.load(pid, a, 1).unwrap(), vec![1]);
    k.munmap(pid, a, 4 * P).unwrap();
    finish(k, pid);
}

/// Populating a read-only private mapping (MAP_POPULATE, mlock, MADV_POPULATE_READ) fills a
/// page table's run of empty PTEs with the zero page at once; the result must be what a
/// read fault on each page, one after the other, gives (the reference: a load of each page,
/// then the same call, which finds nothing left to do): the same entries, the same fault
/// counts (pgfault, the task's minor faults), the same events (the log's last ones and its
/// sequence numbers) and the same page tables. The range starts and ends inside a page
/// table, crosses several, and (but for MAP_POPULATE of a new mapping) has pages already
/// mapped in its middle, which the runs stop at and resume after.
#[test]
fn populating_the_zero_page_equals_a_read_fault_a_page() {
    let len = 5 * (2 << 20) + 37 * P;
    let start = 0x4000_0000 + 300 * P;
    let written = [start + 5 * P, start + (2 << 20), start + 3 * (2 << 20) - 3 * P];
    for how in ["mlock", "madvise", "mmap"] {
        let run = |by_faults: bool| {
            let config = Config { ram_bytes: 256 << 20, paranoid: true, event_capacity: 700, ..Config::default() };
            let mut k = Kernel::new(config);
            let pid = k.spawn_empty("t").unwrap();
            let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
            k.mmap(pid, start, len, PROT_READ | PROT_WRITE, flags, -1, 0).unwrap();
            for &w in &written {
                k.store(pid, w, &[1]).unwrap();
            }
            k.mprotect(pid, start, len, PROT_READ).unwrap();
            if how == "mmap" {
                let populate = if by_faults { 0 } else { MAP_POPULATE };
                k.mmap(pid, start, len, PROT_READ, flags | populate, -1, 0).unwrap();
            }
            if by_faults {
                for va in (start..start + len).step_by(P as usize) {
                    k.load(pid, va, 1).unwrap();
                }
            }
            match how {
                "mlock" => {
                    k.mlock(pid, start, len).unwrap();
                }
                "madvise" => {
                    k.madvise(pid, start, len, MADV_POPULATE_READ).unwrap();
                }
                _ => {}
            }
            (k, pid)
        };
        let (a, pa) = run(false);
        let (b, pb) = run(true);
        let (ida, idb) = (a.mm_id(pa).unwrap(), b.mm_id(pb).unwrap());
        for va in (start - 400 * P..start + len + 600 * P).step_by(P as usize) {
            assert_eq!(a.pte(ida, va), b.pte(idb, va), "{how}: PTE at {va:#x}");
        }
        let zero = a.machine().frames.zero_pfn();
        assert_eq!(a.pte(ida, start + len - P).pfn(), zero, "{how}");
        assert_eq!(a.task(pa).unwrap().min_flt, b.task(pb).unwrap().min_flt, "{how}: minor faults");
        assert_eq!(a.machine().vmstat.pgfault, b.machine().vmstat.pgfault, "{how}: pgfault");
        assert_eq!(a.machine().events.next_seq(), b.machine().events.next_seq(), "{how}: event count");
        let ev = |k: &Kernel| k.machine().events.iter().map(|e| format!("{e:?}")).collect::<Vec<_>>();
        assert_eq!(ev(&a), ev(&b), "{how}: events");
        assert_eq!(a.mm(pa).unwrap().pgtable_pages, b.mm(pb).unwrap().pgtable_pages, "{how}: page tables");
        // Sharing a table's entries is host bookkeeping that populating does (loads do not):
        // comparable where the reference populated too.
        if how != "mmap" {
            assert_eq!(a.machine().frames.shared_tables(), b.machine().frames.shared_tables(), "{how}: shared");
        }
        finish(a, pa);
    }
}

/// The same when the page tables of the populated range do not fit in RAM: the OOM killer
/// ends the task at the same page either way, after the same faults and events.
#[test]
fn populating_the_zero_page_past_the_ram_ends_as_a_fault_a_page_does() {
    let len = 8u64 << 30;
    let run = |by_faults: bool| {
        let config = Config { ram_bytes: 8 << 20, paranoid: false, event_capacity: 300, ..Config::default() };
        let mut k = Kernel::new(config);
        let pid = k.spawn_empty("t").unwrap();
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
        let a = k.mmap(pid, 0, len, PROT_READ, flags, -1, 0).unwrap();
        let mut loaded = 0;
        if by_faults {
            while k.load(pid, a + loaded * P, 1).is_ok() {
                loaded += 1;
            }
        } else {
            assert!(k.mlock(pid, a, len).is_err());
        }
        let ended = k.task(pid).map(|t| t.exit_code.is_some());
        assert_ne!(ended, Some(false), "the OOM killer ended the task");
        k
    };
    let (a, b) = (run(false), run(true));
    assert!(a.machine().vmstat.pgfault > 512 * 1000, "a thousand page tables filled first");
    assert_eq!(a.machine().vmstat.pgfault, b.machine().vmstat.pgfault, "pgfault");
    assert_eq!(a.machine().events.next_seq(), b.machine().events.next_seq(), "event count");
    let ev = |k: &Kernel| k.machine().events.iter().map(|e| format!("{e:?}")).collect::<Vec<_>>();
    assert_eq!(ev(&a), ev(&b), "events");
    assert_eq!(a.machine().frames.free_frames(), b.machine().frames.free_frames(), "free frames");
    mm::invariants::check_kernel(&a);
}

/// Found by AFL (`fuzz/corpus/calls/dontunmap-part-of-a-locked-vma`): MREMAP_DONTUNMAP of
/// the first page of a locked two-page VMA. The source VMA loses VM_LOCKED whole, so the
/// page that stayed behind is mapped only unlocked: it must not stay mlocked.
#[test]
fn dontunmap_of_part_of_a_locked_vma_unlocks_the_pages_left_behind() {
    let (mut k, pid) = setup();
    let rw = PROT_READ | PROT_WRITE;
    let a = k.mmap(pid, 0x2000_0000, 36 * P, rw, MAP_SHARED | MAP_ANONYMOUS, -1, 0).unwrap();
    k.mlock(pid, a, 2 * P).unwrap();
    let to = 0x3000_0000;
    let flags = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP;
    assert_eq!(k.mremap(pid, a, P, P, flags, to), Ok(to));
    let locked = |k: &Kernel, at: u64| k.mm(pid).unwrap().vmas.find(at).unwrap().flags.contains(mm::VmFlags::LOCKED);
    assert!(locked(&k, to), "the moved page's VMA stays locked");
    assert!(!locked(&k, a), "the source loses VM_LOCKED");
    // Config::paranoid checked after the call that every mlocked page has a locked mapping.
    finish(k, pid);
}

/// Found by AFL: a memfd-like segment charged page by page (SysV SHM_NORESERVE) mapped
/// under mlockall(MCL_FUTURE) is populated until memory runs out; the page whose frame
/// never came is not charged.
#[test]
fn a_page_that_found_no_frame_is_not_charged() {
    // Not paranoid: the OOM kill inside shmat checks the kernel while shmat still holds
    // the attach's open file description, which only the end of the call gives back.
    let mut k = Kernel::new(Config { ram_bytes: 16 << 20, ..Config::default() });
    let pid = k.spawn_empty("t").unwrap();
    let id = k.shmget(pid, IPC_PRIVATE as i64, 4 << 30, IPC_CREAT | SHM_NORESERVE | 0o600).unwrap();
    k.mlockall(pid, MCL_FUTURE).unwrap();
    // The populate runs out of memory (the OOM killer may take the task).
    let _ = k.shmat(pid, id as i64, 0, 0);
    mm::invariants::check_kernel(&k);
}

/// Found by AFL: an mprotect that makes a locked private VMA writable populates it, and
/// the OOM killer took the calling task in the middle: the call ends there.
#[test]
fn an_mprotect_whose_populate_kills_its_task_ends_there() {
    let mut k = Kernel::new(Config { ram_bytes: 16 << 20, paranoid: true, ..Config::default() });
    let pid = k.spawn_empty("t").unwrap();
    let a = k.mmap(pid, 0, 1 << 30, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_NORESERVE, -1, 0);
    let Ok(a) = a else { return };
    let _ = k.mmap(pid, a + (1 << 30), P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    let _ = k.mprotect(pid, a, (1 << 30) + P, PROT_READ | PROT_WRITE);
    mm::invariants::check_kernel(&k);
}

/// A same-size MREMAP_FIXED move whose old range wraps past the top of the address space
/// meets no VMA: EFAULT, and the destination stays mapped (measured on 6.18: mremap of
/// 0xfffffffffffff000, 278,532 bytes, to a mapped 0x20044000). Found by fuzzing the calls:
/// the model's walk over the range overflowed computing its end.
#[test]
fn a_move_of_a_range_wrapping_past_the_top_is_efault() {
    let mut k = Kernel::new(Config { paranoid: true, ..Config::default() });
    let pid = k.spawn_empty("t").unwrap();
    let dest = 0x2004_4000;
    let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    k.mmap(pid, dest, 0x45000, PROT_READ | PROT_WRITE, flags, -1, 0).unwrap();
    let call = mm::Call::Mremap {
        old_addr: 0xffff_ffff_ffff_f000,
        old_len: 278_532,
        new_len: 278_532,
        flags: MREMAP_MAYMOVE | MREMAP_FIXED,
        new_addr: dest,
    };
    assert_eq!(k.dispatch(pid, &call), Err(abi::Errno::EFAULT));
    assert_eq!(k.load(pid, dest, 1).unwrap(), vec![0], "the destination stays mapped");
    finish(k, pid);
}

/// The kernel copies a structure from user memory whole or not at all: mmap's old argument
/// block and shmctl's IPC_SET buffer running from a mapped page into a hole are EFAULT (a
/// `write` from such a buffer takes the part before the hole). Found by fuzzing the
/// replayer: a block cut by a hole was read short and indexed past its end.
#[test]
fn a_structure_cut_by_a_hole_is_efault() {
    let mut k = Kernel::new(Config { paranoid: true, ..Config::default() });
    let pid = k.spawn_empty("t").unwrap();
    let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    let page = k.mmap(pid, 0x1000_0000, P, PROT_READ | PROT_WRITE, flags, -1, 0).unwrap();
    let tail = page + P - 8;
    assert_eq!(k.old_mmap(pid, tail), Err(abi::Errno::EFAULT));
    let id = k.dispatch(pid, &mm::Call::Shmget { key: IPC_PRIVATE as i64, size: P, flags: IPC_CREAT | 0o600 }).unwrap();
    let set = mm::Call::Shmctl { shmid: id as i64, cmd: IPC_SET, buf: tail };
    assert_eq!(k.dispatch(pid, &set), Err(abi::Errno::EFAULT));
    let rmid = mm::Call::Shmctl { shmid: id as i64, cmd: IPC_RMID, buf: 0 };
    k.dispatch(pid, &rmid).unwrap();
    finish(k, pid);
}

/// A same-size MREMAP_FIXED|MREMAP_DONTUNMAP move of the first page of a locked VMA to just
/// past it: the walk over the source range ends after its one VMA, though the source's
/// remains, the rest of the VMA and the destination merge into one (measured on 6.18:
/// mremap returns 0x20002000 and maps shows 20000000-20003000 and 20003000-2002c000).
/// Found by fuzzing the calls: the walk went on into the merged VMA and its offset
/// underflowed.
#[test]
fn a_dontunmap_move_ends_its_walk_at_the_range_end() {
    let mut k = Kernel::new(Config { paranoid: true, ..Config::default() });
    let pid = k.spawn_empty("t").unwrap();
    let prot = PROT_READ | PROT_EXEC | PROT_SEM | PROT_GROWSDOWN;
    let a = k.mmap(pid, 0x2000_0000, 180_224, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).unwrap();
    assert_eq!(a, 0x2000_0000);
    k.mlock(pid, a, 2 * P).unwrap();
    k.madvise(pid, a, 2 * P, MADV_RANDOM).unwrap();
    let call = mm::Call::Mremap {
        old_addr: a,
        old_len: P,
        new_len: 4089,
        flags: MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
        new_addr: a + 2 * P,
    };
    assert_eq!(k.dispatch(pid, &call), Ok(a + 2 * P));
    let spans: Vec<(u64, u64)> = k.mm(pid).unwrap().vmas.iter().map(|v| (v.start, v.end)).collect();
    assert!(spans.contains(&(a, a + 3 * P)), "{spans:x?}");
    assert!(spans.contains(&(a + 3 * P, a + 180_224)), "{spans:x?}");
    finish(k, pid);
}
