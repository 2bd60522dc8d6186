//! LRU reclaim on the model: a process larger than RAM pages to swap and back, dirty file
//! pages are written back before eviction and read back by major faults, lazily freed
//! pages are discarded, referenced pages get their second chance, kswapd keeps free memory
//! above its watermarks, swappiness and drop_caches steer what goes, a memory cgroup at its
//! limit swaps instead of killing; and random scripts under a small RAM never panic, leak
//! a frame or a swap slot, or break an invariant (`Config::paranoid` checks every one after
//! every call).

use abi::*;
use mm::invariants::{check_kernel, check_no_leaks};
use mm::swap::{SwapEntry, SwapSpec};
use mm::{Config, Kernel, Pid};
use proptest::prelude::*;

const P: u64 = 4096;
const MIB: u64 = 1 << 20;
const RW: u64 = PROT_READ | PROT_WRITE;
const ANON: u64 = MAP_PRIVATE | MAP_ANONYMOUS;

fn kernel(ram: u64, swap: u64) -> Kernel {
    let mut k = Kernel::new(Config { ram_bytes: ram, paranoid: true, ..Config::default() });
    if swap > 0 {
        k.swapon(&SwapSpec { path: "/swapfile".into(), size: swap, priority: None, partition: false }).unwrap();
    }
    k
}

/// Writes a byte pattern naming each page into `pages` pages at `a`.
fn fill(k: &mut Kernel, pid: Pid, a: u64, pages: u64) {
    for i in 0..pages {
        k.store(pid, a + i * P, &(i as u32).to_le_bytes()).unwrap();
    }
}

/// Checks the pattern [`fill`] wrote.
fn check_fill(k: &mut Kernel, pid: Pid, a: u64, pages: u64) {
    for i in 0..pages {
        assert_eq!(k.load(pid, a + i * P, 4).unwrap(), (i as u32).to_le_bytes(), "page {i}");
    }
}

fn finish(mut k: Kernel, pids: &[Pid]) {
    for &p in pids {
        k.exit(p, 0).unwrap();
        k.reap(p).unwrap();
    }
    check_no_leaks(&k);
    let swap = &k.machine().swap;
    assert_eq!(swap.free_pages(), swap.total_pages(), "a swap slot leaked");
}

#[test]
fn a_process_larger_than_ram_pages_to_swap_and_back() {
    let mut k = kernel(16 * MIB, 32 * MIB);
    let p = k.spawn_empty("big").unwrap();
    let pages = 24 * MIB / P;
    let a = k.mmap(p, 0, pages * P, RW, ANON, -1, 0).unwrap();
    fill(&mut k, p, a, pages);
    let v = k.machine().vmstat;
    assert!(k.machine().swap.pswpout > 0 && v.pgsteal_anon > 0, "anonymous pages went to swap");
    assert_eq!(v.oom_kill, 0);
    assert!(v.pgscan_direct + v.pgscan_kswapd >= v.pgsteal_direct + v.pgsteal_kswapd);
    let majors = k.task(p).unwrap().maj_flt;
    check_fill(&mut k, p, a, pages);
    assert!(k.task(p).unwrap().maj_flt > majors, "pages came back by major faults");
    let v = &k.machine().vmstat;
    assert!(v.workingset_refault_anon > 0 && v.pgmajfault > 0);
    assert!(k.machine().events.iter().any(|e| e.to_string().contains("shrink_folio_list")), "the log explains reclaim");
    finish(k, &[p]);
}

#[test]
fn without_swap_anonymous_memory_cannot_go_and_the_oom_killer_runs() {
    let mut k = kernel(16 * MIB, 0);
    let p = k.spawn_empty("big").unwrap();
    // Two halves: one mapping larger than RAM plus swap fails the overcommit heuristic.
    for _ in 0..2 {
        let a = k.mmap(p, 0, 12 * MIB, RW, ANON, -1, 0).unwrap();
        let _ = k.store(p, a, &vec![1u8; (12 * MIB) as usize]);
    }
    assert_eq!(k.machine().vmstat.pgsteal_anon, 0);
    assert_eq!(k.task(p).unwrap().killed_by, Some(9));
    k.reap(p).unwrap();
    check_no_leaks(&k);
}

#[test]
fn swappiness_zero_keeps_anonymous_memory_while_file_pages_can_go() {
    let mut k = kernel(16 * MIB, 32 * MIB);
    k.set_swappiness(0).unwrap();
    let data: std::sync::Arc<[u8]> = vec![7u8; (8 * MIB) as usize].into();
    k.import_file("/data", 8, 1, 77, data);
    let p = k.spawn_empty("p").unwrap();
    let fd = k.open(p, "/data", O_RDONLY).unwrap();
    let m = k.mmap(p, 0, 8 * MIB, PROT_READ, MAP_PRIVATE, fd as i64, 0).unwrap();
    assert_eq!(k.load(p, m, 8 * MIB).unwrap(), vec![7u8; (8 * MIB) as usize]);
    let a = k.mmap(p, 0, 8 * MIB, RW, ANON, -1, 0).unwrap();
    fill(&mut k, p, a, 8 * MIB / P);
    assert_eq!(k.machine().swap.pswpout, 0, "swappiness 0: no anonymous page swapped");
    assert!(k.machine().vmstat.pgsteal_file > 0, "file pages were reclaimed instead");
    check_fill(&mut k, p, a, 8 * MIB / P);
    assert_eq!(k.set_swappiness(201), Err(Errno::EINVAL));
    finish(k, &[p]);
}

#[test]
fn dirty_shared_file_pages_are_written_back_then_read_back_by_major_faults() {
    let mut k = kernel(16 * MIB, 0);
    let len = 24 * MIB;
    let data: std::sync::Arc<[u8]> = vec![0u8; len as usize].into();
    k.import_file("/data", 8, 1, 77, data);
    let p = k.spawn_empty("writer").unwrap();
    let fd = k.open(p, "/data", O_RDWR).unwrap();
    let m = k.mmap(p, 0, len, RW, MAP_SHARED, fd as i64, 0).unwrap();
    fill(&mut k, p, m, len / P);
    let v = k.machine().vmstat;
    assert!(v.nr_vmscan_write > 0 && v.pgsteal_file > 0, "dirty pages written back and evicted");
    assert_eq!(v.oom_kill, 0);
    let majors = k.task(p).unwrap().maj_flt;
    check_fill(&mut k, p, m, len / P);
    assert!(k.task(p).unwrap().maj_flt > majors);
    assert!(k.machine().vmstat.workingset_refault_file > 0);
    // read() sees the written-back bytes too.
    let fid = k.fd_file(p, fd as i64).unwrap();
    assert_eq!(k.file_read(fid, 5 * P, 4).unwrap(), 5u32.to_le_bytes());
    // Truncation forgets the written-back copy of the pages it cuts.
    k.munmap(p, m, len).unwrap();
    k.truncate_file(fid, 0);
    k.truncate_file(fid, len);
    assert_eq!(k.file_read(fid, 5 * P, 4).unwrap(), vec![0; 4]);
    k.close(p, fd as i64).unwrap();
    finish(k, &[p]);
}

#[test]
fn lazily_freed_pages_are_discarded_under_pressure() {
    let mut k = kernel(16 * MIB, 32 * MIB);
    let p = k.spawn_empty("p").unwrap();
    let a = k.mmap(p, 0, 8 * MIB, RW, ANON, -1, 0).unwrap();
    fill(&mut k, p, a, 8 * MIB / P);
    k.madvise(p, a, 8 * MIB, MADV_FREE).unwrap();
    let b = k.mmap(p, 0, 12 * MIB, RW, ANON, -1, 0).unwrap();
    fill(&mut k, p, b, 12 * MIB / P);
    assert!(k.machine().vmstat.pglazyfreed > 0);
    // A discarded page reads as zeros; one that survived keeps its bytes.
    for i in 0..8 * MIB / P {
        let got = k.load(p, a + i * P, 4).unwrap();
        assert!(got == vec![0; 4] || got == (i as u32).to_le_bytes(), "page {i}: {got:?}");
    }
    finish(k, &[p]);
}

#[test]
fn a_page_touched_between_every_fault_keeps_its_frame() {
    let mut k = kernel(16 * MIB, 32 * MIB);
    let p = k.spawn_empty("p").unwrap();
    let hot = k.mmap(p, 0, P, RW, ANON, -1, 0).unwrap();
    k.store(p, hot, b"hot").unwrap();
    let pages = 24 * MIB / P;
    let a = k.mmap(p, 0, pages * P, RW, ANON, -1, 0).unwrap();
    for i in 0..pages {
        k.store(p, a + i * P, &[1]).unwrap();
        // The access sets the PTE's accessed bit as the MMU would.
        k.load(p, hot, 1).unwrap();
    }
    assert!(k.machine().swap.pswpout > 0);
    let id = k.mm_id(p).unwrap();
    assert!(k.pte(id, hot).present(), "the hot page was never swapped out");
    assert!(SwapEntry::from_pte(k.pte(id, hot)).is_none());
    finish(k, &[p]);
}

#[test]
fn kswapd_wakes_below_low_and_reclaims_to_high() {
    let mut k = kernel(16 * MIB, 32 * MIB);
    let w = k.watermarks();
    // 16 MiB: min_free_kbytes = √(16 × 16384) = 512 KiB, 128 pages; low and high add
    // max(128 / 4, 4096 × 10 / 10000) = 32 pages each.
    assert_eq!((w.min, w.low, w.high), (128, 160, 192));
    let p = k.spawn_empty("p").unwrap();
    let free = k.machine().frames.free_frames();
    let a = k.mmap(p, 0, (free - 150) * P, RW, ANON, -1, 0).unwrap();
    fill(&mut k, p, a, free - 150);
    let v = &k.machine().vmstat;
    assert!(v.pageoutrun > 0 && v.pgsteal_kswapd > 0, "kswapd ran");
    assert_eq!(v.allocstall, 0, "no direct reclaim was needed");
    // Each fault that left free memory below low woke kswapd, which reclaimed up to high.
    assert!(k.machine().frames.free_frames() >= w.low);
    k.set_min_free_kbytes(1024).unwrap();
    assert_eq!(k.watermarks().min, 256);
    finish(k, &[p]);
}

#[test]
fn drop_caches_drops_clean_unmapped_page_cache_only() {
    let mut k = kernel(64 * MIB, 0);
    let data: std::sync::Arc<[u8]> = vec![3u8; (MIB) as usize].into();
    k.import_file("/data", 8, 1, 77, data);
    let p = k.spawn_empty("p").unwrap();
    let fd = k.open(p, "/data", O_RDONLY).unwrap();
    let fid = k.fd_file(p, fd as i64).unwrap();
    k.file_read(fid, 0, MIB).unwrap();
    let m = k.mmap(p, 0, P, PROT_READ, MAP_SHARED, fd as i64, 0).unwrap();
    k.load(p, m, 1).unwrap();
    assert_eq!(k.drop_caches(0), Err(Errno::EINVAL));
    assert_eq!(k.drop_caches(2), Ok(0));
    let dropped = k.drop_caches(1).unwrap();
    assert!(dropped > 0 && dropped < MIB / P, "the mapped page stays: {dropped}");
    assert_eq!(k.machine().file(fid).cache.len(), (MIB / P - dropped) as usize);
    assert_eq!(k.load(p, m, 1).unwrap(), vec![3]);
    assert_eq!(k.machine().vmstat.drop_pagecache, 1);
    k.close(p, fd as i64).unwrap();
    finish(k, &[p]);
}

#[test]
fn a_memory_cgroup_at_its_limit_swaps_its_pages_instead_of_killing() {
    let mut k = kernel(64 * MIB, 32 * MIB);
    k.cgroup_mkdir("g").unwrap();
    let p = k.spawn_empty("p").unwrap();
    k.cgroup_attach("g", p).unwrap();
    k.cgroup_write(p, "g", "memory.max", "4M").unwrap();
    let a = k.mmap(p, 0, 8 * MIB, RW, ANON, -1, 0).unwrap();
    fill(&mut k, p, a, 8 * MIB / P);
    let g = k.memcg_lookup("g").unwrap();
    assert!(k.machine().frames.memcgs.get(g).unwrap().usage <= 1024);
    assert_eq!(k.machine().vmstat.oom_kill, 0);
    assert!(k.machine().swap.pswpout >= 1024, "at least the excess went to swap");
    assert_eq!(k.machine().vmstat.allocstall, 0, "limit reclaim is not machine-wide direct reclaim");
    check_fill(&mut k, p, a, 8 * MIB / P);
    check_kernel(&k);
    finish(k, &[p]);
}

#[derive(Clone, Debug)]
enum Op {
    Map { pages: u64, shared: bool },
    Touch { area: usize, page: u64, write: bool },
    Pageout { area: usize },
    Free { area: usize },
    Unmap { area: usize },
    Fork,
    Exit,
    Mlock { area: usize },
    Swappiness(u32),
    DropCaches,
    FileMap { pages: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (1u64..600, any::<bool>()).prop_map(|(pages, shared)| Op::Map { pages, shared }),
        4 => (0usize..8, 0u64..600, any::<bool>()).prop_map(|(area, page, write)| Op::Touch { area, page, write }),
        1 => (0usize..8).prop_map(|area| Op::Pageout { area }),
        1 => (0usize..8).prop_map(|area| Op::Free { area }),
        1 => (0usize..8).prop_map(|area| Op::Unmap { area }),
        1 => Just(Op::Fork),
        1 => Just(Op::Exit),
        1 => (0usize..8).prop_map(|area| Op::Mlock { area }),
        1 => (0u32..=200).prop_map(Op::Swappiness),
        1 => Just(Op::DropCaches),
        1 => (1u64..600).prop_map(|pages| Op::FileMap { pages }),
    ]
}

/// Runs `ops` on a 2 MiB machine with 1 MiB of swap (paranoid: every invariant after
/// every call), then exits everything and checks nothing leaked.
fn run(ops: Vec<Op>) {
    let mut k = kernel(2 * MIB, MIB);
    let data: std::sync::Arc<[u8]> = vec![9u8; (3 * MIB) as usize].into();
    k.import_file("/data", 8, 1, 77, data);
    let mut pids = vec![k.spawn_empty("p").unwrap()];
    let mut areas: Vec<(u64, u64)> = Vec::new();
    for op in ops {
        pids.retain(|&p| k.task(p).is_some_and(|t| t.mm.is_some()));
        let Some(&p) = pids.last() else { break };
        let area = |i: usize| areas.get(i % areas.len().max(1)).copied();
        match op {
            Op::Map { pages, shared } => {
                let flags = if shared { MAP_SHARED | MAP_ANONYMOUS } else { ANON };
                if let Ok(a) = k.mmap(p, 0, pages * P, RW, flags, -1, 0) {
                    areas.push((a, pages));
                }
            }
            Op::FileMap { pages } => {
                let fd = k.open(p, "/data", O_RDWR).unwrap();
                if let Ok(a) = k.mmap(p, 0, pages * P, RW, MAP_SHARED, fd as i64, 0) {
                    areas.push((a, pages));
                }
                k.close(p, fd as i64).unwrap();
            }
            Op::Touch { area: i, page, write } => {
                if let Some((a, pages)) = area(i) {
                    // A run of up to 256 pages, so that the small RAM fills up.
                    let first = page % pages;
                    for va in (a + first * P..a + pages.min(first + 256) * P).step_by(P as usize) {
                        let _ = if write { k.store(p, va, &[page as u8]) } else { k.load(p, va, 1).map(|_| ()) };
                    }
                }
            }
            Op::Pageout { area: i } => {
                if let Some((a, pages)) = area(i) {
                    let _ = k.madvise(p, a, pages * P, MADV_PAGEOUT);
                }
            }
            Op::Free { area: i } => {
                if let Some((a, pages)) = area(i) {
                    let _ = k.madvise(p, a, pages * P, MADV_FREE);
                }
            }
            Op::Unmap { area: i } => {
                if let Some((a, pages)) = area(i) {
                    let _ = k.munmap(p, a, pages * P);
                }
            }
            Op::Mlock { area: i } => {
                if let Some((a, pages)) = area(i) {
                    let _ = k.mlock(p, a, pages.min(64) * P);
                }
            }
            Op::Fork => {
                if let Ok(c) = k.fork(p) {
                    pids.push(c);
                }
            }
            Op::Exit => {
                if pids.len() > 1 {
                    k.exit(p, 0).unwrap();
                    k.reap(p).unwrap();
                    pids.pop();
                }
            }
            Op::Swappiness(s) => k.set_swappiness(s).unwrap(),
            Op::DropCaches => {
                k.drop_caches(3).unwrap();
            }
        }
        check_kernel(&k);
    }
    for p in pids {
        if k.task(p).is_some_and(|t| t.exit_code.is_none()) {
            k.exit(p, 0).unwrap();
        }
        let _ = k.reap(p);
    }
    // Reap what the OOM killer killed.
    let dead: Vec<Pid> = k.tasks().filter(|t| t.exit_code.is_some()).map(|t| t.pid).collect();
    for p in dead {
        let _ = k.reap(p);
    }
    check_no_leaks(&k);
    let swap = &k.machine().swap;
    assert_eq!(swap.free_pages() + swap.cached_pages(), swap.total_pages(), "a swap slot leaked");
}

/// The configuration of the random-script tests. A fixed `seed` keeps CI deterministic;
/// `MMSIM_RANDOM_SCRIPTS=1` draws a fresh seed each run instead, to hunt for new failures
/// (with `PROPTEST_CASES` for more than the default cases).
fn scripts(seed: u64) -> ProptestConfig {
    use proptest::test_runner::RngSeed;
    let random = std::env::var_os("MMSIM_RANDOM_SCRIPTS").is_some_and(|v| v != "0");
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() { ProptestConfig::default().cases } else { 64 };
    ProptestConfig {
        cases,
        rng_seed: if random { RngSeed::Random } else { RngSeed::Fixed(seed) },
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(scripts(1))]
    #[test]
    fn random_scripts_under_a_small_ram_never_panic_or_leak(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops);
    }
}

proptest! {
    #![proptest_config(scripts(2))]
    #[test]
    fn random_scripts_second_seed(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops);
    }
}

proptest! {
    #![proptest_config(scripts(3))]
    #[test]
    fn random_scripts_third_seed(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops);
    }
}

/// The first case the random scripts found for the fault-around bug: an imported file page
/// whose frame could not be allocated ended fault-around with an error after some pages
/// were mapped, their PTEs set but the file RSS counter not raised (4 pages short here),
/// until an OOM kill's unmap took the counter below zero.
#[test]
fn regression_file_rss_under_reclaim_of_a_shared_file_map() {
    use Op::*;
    run(vec![
        Map { pages: 1, shared: false },
        Map { pages: 562, shared: false },
        Touch { area: 1, page: 0, write: true },
        Touch { area: 1, page: 190, write: true },
        Map { pages: 405, shared: true },
        FileMap { pages: 3 },
        FileMap { pages: 64 },
        Fork,
        Touch { area: 6, page: 13, write: true },
        Mlock { area: 4 },
    ]);
}

/// MADV_FREE of anonymous pages still in the swap cache (paged out, read back) left them
/// there, lazily freeable: reclaim then discarded them by unmapping alone, and the swap
/// cache's reference kept each frame, and its slot, forever.
#[test]
fn regression_madv_free_of_pages_in_the_swap_cache() {
    use Op::*;
    run(vec![
        FileMap { pages: 1 },
        FileMap { pages: 295 },
        Map { pages: 26, shared: false },
        Touch { area: 2, page: 26, write: true },
        Map { pages: 507, shared: false },
        FileMap { pages: 1 },
        FileMap { pages: 1 },
        Touch { area: 7, page: 0, write: false },
        Pageout { area: 2 },
        Touch { area: 2, page: 0, write: false },
        Free { area: 2 },
        Free { area: 0 },
        Touch { area: 3, page: 0, write: true },
    ]);
}

/// A fork that ran out of memory for a page table part-way through a VMA tore the
/// half-made child down with the entries already copied not yet counted in its RSS and
/// swap counters (they were added once the whole VMA was copied): MM_SWAPENTS went below
/// zero.
#[test]
fn regression_fork_out_of_memory_in_the_middle_of_a_vma() {
    use Op::*;
    run(vec![
        Map { pages: 397, shared: true },
        Touch { area: 0, page: 139, write: false },
        Map { pages: 438, shared: false },
        FileMap { pages: 181 },
        Touch { area: 7, page: 0, write: false },
        Fork,
        Touch { area: 7, page: 438, write: true },
        Unmap { area: 2 },
        Map { pages: 212, shared: false },
        Exit,
        Fork,
        Touch { area: 0, page: 136, write: true },
        Mlock { area: 0 },
        Touch { area: 1, page: 200, write: true },
        Fork,
        Touch { area: 3, page: 250, write: true },
        Pageout { area: 2 },
        Swappiness(91),
        Touch { area: 4, page: 414, write: true },
        Map { pages: 8, shared: true },
        FileMap { pages: 1 },
        Touch { area: 7, page: 343, write: true },
        Swappiness(0),
        Touch { area: 4, page: 248, write: false },
        Touch { area: 0, page: 141, write: false },
        Fork,
    ]);
}

/// The states a replay learns for lazily freed pages (mm::reclaim::observed): a page read
/// as still swap-backed leaves LazyFree and can move there later; a lazily free one can be
/// discarded, and then reads as zeros. Anything else is refused with EINVAL. Every
/// invariant holds after each.
#[test]
fn lazily_freed_pages_take_the_states_a_replay_observes() {
    use mm::reclaim::LazyFreeFate::{Discarded, Moved, SwapBacked};
    let mut k = kernel(16 * MIB, 0);
    let p = k.spawn_empty("p").unwrap();
    let a = k.mmap(p, 0, 4 * P, RW, ANON, -1, 0).unwrap();
    fill(&mut k, p, a, 4);
    k.madvise(p, a + P, 2 * P, MADV_FREE).unwrap();
    let lazy = |k: &Kernel| k.lazyfree_pages(p, a, a + 4 * P, true).unwrap();
    assert_eq!(lazy(&k), vec![a + P, a + 2 * P]);
    // Pages MADV_FREE did not free cannot take these states.
    assert_eq!(k.observe_lazyfree(p, a, Discarded), Err(Errno::EINVAL));
    assert_eq!(k.observe_lazyfree(p, a + P, Moved), Err(Errno::EINVAL));
    k.observe_lazyfree(p, a + P, SwapBacked { referenced: true, dirty: false }).unwrap();
    check_kernel(&k);
    assert_eq!(lazy(&k), vec![a + 2 * P]);
    assert_eq!(k.observe_lazyfree(p, a + P, Discarded), Err(Errno::EINVAL));
    k.observe_lazyfree(p, a + P, Moved).unwrap();
    check_kernel(&k);
    assert_eq!(lazy(&k), vec![a + P, a + 2 * P]);
    k.observe_lazyfree(p, a + 2 * P, Discarded).unwrap();
    check_kernel(&k);
    assert_eq!(lazy(&k), vec![a + P]);
    assert_eq!(k.load(p, a + 2 * P, 4).unwrap(), vec![0; 4]);
    assert_eq!(k.load(p, a + 3 * P, 4).unwrap(), 3u32.to_le_bytes());
    finish(k, &[p]);
}

/// A lazily freed page seen still swap-backed waits in the batch of the CPU of the process
/// that freed it: another process's drain leaves it waiting, the process's own (a
/// MADV_COLD anywhere) completes the move.
#[test]
fn a_page_waiting_in_the_lazy_free_batch_moves_when_its_process_drains() {
    use mm::reclaim::LazyFreeFate::SwapBacked;
    let mut k = kernel(16 * MIB, 0);
    let p = k.spawn_empty("p").unwrap();
    let q = k.spawn_empty("q").unwrap();
    let a = k.mmap(p, 0, 2 * P, RW, ANON, -1, 0).unwrap();
    let b = k.mmap(q, 0, P, RW, ANON, -1, 0).unwrap();
    fill(&mut k, p, a, 2);
    fill(&mut k, q, b, 1);
    k.madvise(p, a, 2 * P, MADV_FREE).unwrap();
    k.observe_lazyfree(p, a, SwapBacked { referenced: false, dirty: false }).unwrap();
    check_kernel(&k);
    let lazy = |k: &Kernel| k.lazyfree_pages(p, a, a + 2 * P, true).unwrap();
    assert_eq!(lazy(&k), vec![a + P]);
    k.madvise(q, b, P, MADV_COLD).unwrap();
    check_kernel(&k);
    assert_eq!(lazy(&k), vec![a + P]);
    k.madvise(p, a + P, P, MADV_COLD).unwrap();
    check_kernel(&k);
    assert_eq!(lazy(&k), vec![a, a + P]);
    finish(k, &[p, q]);
}

/// A page MADV_FREE passed over (its folio locked by another task) is seen dirty and
/// swap-backed: it is no longer lazily free, cannot move there later, and reclaim must
/// swap it, not discard it: its bytes survive a MADV_PAGEOUT.
#[test]
fn a_lazily_freed_page_seen_dirty_was_passed_over() {
    use mm::reclaim::LazyFreeFate::{Moved, SwapBacked};
    let mut k = kernel(16 * MIB, 16 * MIB);
    let p = k.spawn_empty("p").unwrap();
    let a = k.mmap(p, 0, 2 * P, RW, ANON, -1, 0).unwrap();
    fill(&mut k, p, a, 2);
    k.madvise(p, a, 2 * P, MADV_FREE).unwrap();
    k.observe_lazyfree(p, a + P, SwapBacked { referenced: false, dirty: true }).unwrap();
    check_kernel(&k);
    assert_eq!(k.lazyfree_pages(p, a, a + 2 * P, true).unwrap(), vec![a]);
    assert_eq!(k.lazyfree_pages(p, a, a + 2 * P, false).unwrap(), vec![]);
    assert_eq!(k.observe_lazyfree(p, a + P, Moved), Err(Errno::EINVAL));
    k.madvise(p, a, 2 * P, MADV_PAGEOUT).unwrap();
    check_kernel(&k);
    assert_eq!(k.load(p, a, 4).unwrap(), vec![0; 4]);
    assert_eq!(k.load(p, a + P, 4).unwrap(), 1u32.to_le_bytes());
    finish(k, &[p]);
}
