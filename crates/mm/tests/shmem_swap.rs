//! shmem on swap, on the model: MADV_PAGEOUT and reclaim of shared anonymous memory and
//! memfd pages to swap, the page only read dropped instead, swap-in by a fault (minor
//! from the swap cache, major from the device) or by read(2), the slot freed as the page
//! comes back, truncation and the object's end freeing slots, swapoff reading pages back
//! into the object, and no swap at all keeping them. Every invariant after every call
//! (`Config::paranoid`: slot counts against swap PTEs plus shmem entries), nothing leaked.
//! The host comparison of the same behaviour is crates/hostdiff/tests/swap.rs.

use abi::*;
use mm::invariants::check_no_leaks;
use mm::swap::SwapSpec;
use mm::{Config, Kernel, Pid};

const P: u64 = 4096;
const MIB: u64 = 1 << 20;
const RW: u64 = PROT_READ | PROT_WRITE;

fn kernel(ram: u64, swap: u64) -> (Kernel, Pid) {
    let mut k = Kernel::new(Config { ram_bytes: ram, paranoid: true, ..Config::default() });
    if swap > 0 {
        k.swapon(&SwapSpec { path: "/swapfile".into(), size: swap, priority: None, partition: false }).unwrap();
    }
    let pid = k.spawn_empty("t").unwrap();
    (k, pid)
}

fn shared_anon(k: &mut Kernel, pid: Pid, pages: u64) -> u64 {
    k.mmap(pid, 0, pages * P, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0).unwrap()
}

/// Writes 6 of 8 pages (page i holds i + 1) and reads the 7th.
fn touch_six_write_one_read(k: &mut Kernel, pid: Pid, a: u64) {
    for i in 0..6 {
        k.store(pid, a + i * P, &[i as u8 + 1]).unwrap();
    }
    k.load(pid, a + 6 * P, 1).unwrap();
}

/// The shmem object behind the mapping at `a`.
fn object(k: &Kernel, pid: Pid, a: u64) -> mm::file::FileId {
    k.mm(pid).unwrap().vmas.find(a).and_then(|v| v.file).expect("a file mapping").file
}

fn finish(mut k: Kernel, pid: Pid) {
    k.exit(pid, 0).unwrap();
    k.reap(pid).unwrap();
    check_no_leaks(&k);
    let swap = &k.machine().swap;
    assert_eq!(swap.free_pages(), swap.total_pages(), "a swap slot leaked");
}

#[test]
fn pageout_of_shared_anonymous_memory_swaps_written_pages_and_drops_the_read_one() {
    let (mut k, pid) = kernel(64 * MIB, 4 * MIB);
    let a = shared_anon(&mut k, pid, 8);
    touch_six_write_one_read(&mut k, pid, a);
    let free = k.machine().swap.free_pages();
    k.madvise(pid, a, 8 * P, MADV_PAGEOUT).unwrap();
    let f = object(&k, pid, a);
    let file = k.machine().file(f);
    assert_eq!(file.swapped.keys().copied().collect::<Vec<_>>(), (0..6).collect::<Vec<_>>());
    assert!(file.cache.is_empty(), "the read page was dropped, the others are in the swap cache");
    assert_eq!(k.machine().swap.free_pages(), free - 6);
    assert_eq!(k.machine().swap.pswpout, 6);
    assert_eq!(k.machine().swap.cached_pages(), 6, "written, still in the swap cache");
    let rss = k.mm(pid).unwrap().rss;
    assert_eq!((rss.shmem.as_u64(), rss.swap.as_u64()), (0, 0), "no PTE left, and no swap PTE either");
    let (vec, _) = k.mincore_vec(pid, a, 8 * P).unwrap();
    assert_eq!(vec, [1, 1, 1, 1, 1, 1, 0, 0]);
    // Back from the swap cache: minor faults, the slot freed at once.
    let (maj, min) = (k.task(pid).unwrap().maj_flt, k.task(pid).unwrap().min_flt);
    assert_eq!(k.load(pid, a, 1).unwrap(), [1]);
    k.store(pid, a + 2 * P, &[9]).unwrap();
    assert_eq!(k.task(pid).unwrap().maj_flt, maj);
    assert_eq!(k.task(pid).unwrap().min_flt, min + 2);
    assert_eq!(k.machine().swap.free_pages(), free - 4);
    assert_eq!(k.mm(pid).unwrap().rss.shmem.as_u64(), 2);
    // The page only read reads back as zeros.
    assert_eq!(k.load(pid, a + 6 * P, 1).unwrap(), [0]);
    finish(k, pid);
}

#[test]
fn a_shmem_page_read_from_the_device_is_a_major_fault() {
    let (mut k, pid) = kernel(64 * MIB, 4 * MIB);
    let a = shared_anon(&mut k, pid, 4);
    for i in 0..4 {
        k.store(pid, a + i * P, &[0x40 + i as u8; 64]).unwrap();
    }
    k.madvise(pid, a, 4 * P, MADV_PAGEOUT).unwrap();
    // Writeback done and the swap-cache pages reclaimed (memory.reclaim of the root
    // group): only the device has them.
    k.cgroup_write(pid, "", "memory.reclaim", "16K").unwrap();
    assert_eq!(k.machine().swap.cached_pages(), 0);
    let maj = k.task(pid).unwrap().maj_flt;
    assert_eq!(k.load(pid, a + 3 * P, 64).unwrap(), vec![0x43; 64]);
    assert_eq!(k.task(pid).unwrap().maj_flt, maj + 1);
    assert_eq!(k.machine().swap.pswpin, 1);
    finish(k, pid);
}

#[test]
fn willneed_reads_a_shmem_range_from_the_device_into_the_swap_cache() {
    let (mut k, pid) = kernel(64 * MIB, 4 * MIB);
    let a = shared_anon(&mut k, pid, 6);
    for i in 0..6 {
        k.store(pid, a + i * P, &[0x50 + i as u8; 8]).unwrap();
    }
    k.madvise(pid, a, 6 * P, MADV_PAGEOUT).unwrap();
    k.cgroup_write(pid, "", "memory.reclaim", "24K").unwrap();
    assert_eq!(k.machine().swap.cached_pages(), 0);
    assert_eq!(k.mincore_vec(pid, a, 6 * P).unwrap().0, [0; 6]);
    // Pages 1 to 3: read into the swap cache, still the object's swap entries, mapped
    // nowhere.
    k.madvise(pid, a + P, 3 * P, MADV_WILLNEED).unwrap();
    assert_eq!(k.machine().swap.pswpin, 3);
    assert_eq!(k.machine().swap.cached_pages(), 3);
    assert_eq!(k.mincore_vec(pid, a, 6 * P).unwrap().0, [0, 1, 1, 1, 0, 0]);
    assert_eq!(k.machine().file(object(&k, pid, a)).swapped.len(), 6);
    assert_eq!(k.mm(pid).unwrap().rss.shmem.as_u64(), 0);
    // Taken from the swap cache: minor faults, each freeing its slot.
    let (maj, free) = (k.task(pid).unwrap().maj_flt, k.machine().swap.free_pages());
    for i in 1..4 {
        assert_eq!(k.load(pid, a + i * P, 8).unwrap(), vec![0x50 + i as u8; 8]);
    }
    assert_eq!(k.task(pid).unwrap().maj_flt, maj);
    assert_eq!(k.machine().swap.free_pages(), free + 3);
    finish(k, pid);
}

#[test]
fn memfd_pages_come_back_by_read_and_go_with_truncate_and_close() {
    let (mut k, pid) = kernel(64 * MIB, 4 * MIB);
    let fd = k.memfd_create(pid, "m", 0).unwrap() as i64;
    k.ftruncate(pid, fd, 8 * P).unwrap();
    let a = k.mmap(pid, 0, 8 * P, RW, MAP_SHARED, fd, 0).unwrap();
    touch_six_write_one_read(&mut k, pid, a);
    k.madvise(pid, a, 8 * P, MADV_PAGEOUT).unwrap();
    let f = k.fd_file(pid, fd).unwrap();
    assert_eq!(k.machine().file(f).swapped.len(), 6);
    // read(2) brings page 3 back into the page cache, unmapped.
    assert_eq!(k.file_read(f, 3 * P, 1).unwrap(), [4]);
    assert_eq!(k.machine().file(f).swapped.len(), 5);
    assert!(k.machine().file(f).cache.contains(3));
    // Cutting the object to 2 pages frees the slots of pages 2, 4 and 5.
    k.munmap(pid, a, 8 * P).unwrap();
    k.ftruncate(pid, fd, 2 * P).unwrap();
    assert_eq!(k.machine().file(f).swapped.keys().copied().collect::<Vec<_>>(), [0, 1]);
    assert_eq!(k.machine().swap.total_pages() - k.machine().swap.free_pages(), 2);
    assert_eq!(k.file_read(f, 0, 2 * P).unwrap()[..1], [1]);
    k.close(pid, fd).unwrap();
    finish(k, pid);
}

#[test]
fn shared_anonymous_memory_larger_than_ram_goes_to_swap_under_pressure() {
    let (mut k, pid) = kernel(16 * MIB, 32 * MIB);
    let pages = 24 * MIB / P;
    let a = shared_anon(&mut k, pid, pages);
    for i in 0..pages {
        k.store(pid, a + i * P, &(i as u32).to_le_bytes()).unwrap();
    }
    let v = k.machine().vmstat;
    assert_eq!(v.oom_kill, 0);
    assert!(k.machine().swap.pswpout > 0 && v.pgsteal_anon > 0, "shmem pages reclaimed to swap");
    let maj = k.task(pid).unwrap().maj_flt;
    for i in 0..pages {
        assert_eq!(k.load(pid, a + i * P, 4).unwrap(), (i as u32).to_le_bytes(), "page {i}");
    }
    assert!(k.task(pid).unwrap().maj_flt > maj, "pages came back by major faults");
    finish(k, pid);
}

#[test]
fn swapoff_reads_shmem_pages_back_into_their_object_unmapped() {
    let (mut k, pid) = kernel(64 * MIB, 4 * MIB);
    let a = shared_anon(&mut k, pid, 8);
    touch_six_write_one_read(&mut k, pid, a);
    k.madvise(pid, a, 8 * P, MADV_PAGEOUT).unwrap();
    k.cgroup_write(pid, "", "memory.reclaim", "24K").unwrap();
    k.swapoff("/swapfile").unwrap();
    let f = object(&k, pid, a);
    assert!(k.machine().file(f).swapped.is_empty());
    assert_eq!(k.machine().file(f).cache.len(), 6);
    assert_eq!(k.mm(pid).unwrap().rss.shmem.as_u64(), 0, "back in the object, mapped by nobody");
    for i in 0..6 {
        assert_eq!(k.load(pid, a + i * P, 1).unwrap(), [i as u8 + 1]);
    }
    finish(k, pid);
}

#[test]
fn without_a_free_slot_shmem_pages_stay_in_memory() {
    let (mut k, pid) = kernel(64 * MIB, 0);
    let a = shared_anon(&mut k, pid, 8);
    touch_six_write_one_read(&mut k, pid, a);
    k.madvise(pid, a, 8 * P, MADV_PAGEOUT).unwrap();
    let f = object(&k, pid, a);
    assert_eq!(k.machine().file(f).cache.len(), 6, "written pages kept, the read one dropped");
    for i in 0..6 {
        assert_eq!(k.load(pid, a + i * P, 1).unwrap(), [i as u8 + 1]);
    }
    finish(k, pid);
}

/// Reads of 32 pages out on swap, in order, from a fresh machine: the slot-based readahead
/// starts at one page, grows on adjacent faults and on pages it read being used, and
/// settles at 2^page-cluster = 8 slots aligned (the host's pattern once past its first
/// faults, whose window depends on swap-ins before: crates/hostdiff/tests/shmem_swapin.rs).
#[test]
fn sequential_shmem_major_faults_read_ahead_by_slot() {
    let (mut k, pid) = kernel(64 * MIB, 4 * MIB);
    let a = shared_anon(&mut k, pid, 32);
    for i in 0..32 {
        k.store(pid, a + i * P, &[0x50 + i as u8; 8]).unwrap();
    }
    k.madvise(pid, a, 32 * P, MADV_PAGEOUT).unwrap();
    k.cgroup_write(pid, "", "memory.reclaim", "128K").unwrap();
    assert_eq!(k.machine().swap.cached_pages(), 0);
    let mut majors = String::new();
    for i in 0..32 {
        let m = k.task(pid).unwrap().maj_flt;
        assert_eq!(k.load(pid, a + i * P, 8).unwrap(), vec![0x50 + i as u8; 8]);
        majors.push(if k.task(pid).unwrap().maj_flt > m { '1' } else { '0' });
    }
    // Slots 1 to 32: a window of 2 at slot 1 (the header is not read), 2 at slot 2 (slot 3
    // read ahead), 4 at slot 4 after that hit, then 8.
    assert_eq!(majors, "11010001000000010000000100000001");
    let swap = &k.machine().swap;
    assert_eq!((swap.pswpin, swap.swap_ra, swap.swap_ra_hit), (32, 25, 25));
    finish(k, pid);
}
