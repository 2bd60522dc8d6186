//! Swap charged to memory cgroups: v2's `memory.swap.max`/`swap.current`/`swap.events`,
//! v1's memory+swap counter, and what a full swap allowance does to reclaim (only file
//! pages can go, then the group OOMs). `check_kernel` runs after every step, so the swap
//! charges are checked against the slots each time.

use abi::*;
use mm::invariants::check_kernel;
use mm::memcg::{CgroupVersion, Memcg};
use mm::swap::SwapSpec;
use mm::{Config, Kernel, Pid, Signal};

const RW: u64 = PROT_READ | PROT_WRITE;
const ANON: u64 = MAP_PRIVATE | MAP_ANONYMOUS;
const P: u64 = 4096;

/// A 64 MiB machine with 4 MiB of swap, a group "g" and a task "t" in it.
fn setup(version: CgroupVersion) -> (Kernel, Pid) {
    let mut k = Kernel::new(Config { ram_bytes: 64 << 20, paranoid: true, ..Config::default() });
    k.set_cgroup_version(version).unwrap();
    k.swapon(&SwapSpec { path: "/swapfile".into(), size: 4 << 20, priority: None, partition: false }).unwrap();
    k.cgroup_mkdir("g").unwrap();
    let p = k.spawn_empty("t").unwrap();
    k.cgroup_attach("g", p).unwrap();
    (k, p)
}

fn group(k: &Kernel) -> Memcg {
    let id = k.memcg_lookup("g").unwrap();
    k.machine().frames.memcgs.get(id).unwrap().clone()
}

/// Writes `pages` pages one at a time (each its page number), checking the model after
/// each; Err with the page the task was killed at.
fn touch(k: &mut Kernel, p: Pid, pages: u64) -> Result<u64, u64> {
    let a = k.mmap(p, 0, pages * P, RW, ANON, -1, 0).unwrap();
    for i in 0..pages {
        let r = k.store(p, a + i * P, &(i as u32 + 1).to_le_bytes());
        check_kernel(k);
        if r == Err(Signal::Kill) {
            return Err(i);
        }
    }
    Ok(a)
}

#[test]
fn v2_pages_beyond_memory_max_go_to_swap_charged_to_the_group() {
    let (mut k, p) = setup(CgroupVersion::V2);
    k.cgroup_write(p, "g", "memory.max", "256K").unwrap();
    let a = touch(&mut k, p, 192).unwrap();
    let g = group(&k);
    assert!(g.usage <= 64, "usage {} within memory.max", g.usage);
    // Every page written is either resident or in swap; the swap charge is those slots.
    let rss = k.mm(p).unwrap().rss;
    assert_eq!(rss.swap, mm::pages::PageCount::new(g.swap_usage), "VmSwap and memory.swap.current agree");
    assert!(g.swap_usage >= 192 - 64, "swap {}", g.swap_usage);
    for i in 0..192 {
        assert_eq!(k.load(p, a + i * P, 4).unwrap(), (i as u32 + 1).to_le_bytes(), "page {i}");
        check_kernel(&k);
    }
    // The slots are uncharged as they are freed.
    k.munmap(p, a, 192 * P).unwrap();
    check_kernel(&k);
    assert_eq!(group(&k).swap_usage, 0);
    assert!(group(&k).swap_watermark >= 128);
    let cur = procfs::cgroup::cgroup_file(&k, "g", "memory.swap.current").unwrap();
    assert_eq!(cur, "0\n");
}

#[test]
fn v2_a_group_out_of_swap_allowance_can_only_drop_file_pages_and_ooms() {
    let (mut k, p) = setup(CgroupVersion::V2);
    k.cgroup_write(p, "g", "memory.max", "256K").unwrap();
    k.cgroup_write(p, "g", "memory.swap.max", "128K").unwrap();
    let killed_at = touch(&mut k, p, 192).unwrap_err();
    let g = group(&k);
    // 64 pages of memory (page tables included) and 32 of swap hold what the task wrote.
    assert!((90..=96).contains(&killed_at), "killed at page {killed_at}");
    assert_eq!(g.swap_watermark, 32, "swap.peak is memory.swap.max");
    assert_eq!((g.events.oom, g.events.oom_kill), (1, 1));
    assert_eq!(g.swap_usage, 0, "the victim's slots are freed and uncharged");
    let ev = procfs::cgroup::cgroup_file(&k, "g", "memory.swap.events").unwrap();
    assert!(ev.starts_with("high 0\nmax "), "{ev}");
}

#[test]
fn v2_pageout_past_swap_max_counts_max_and_fail_and_keeps_the_page() {
    let (mut k, p) = setup(CgroupVersion::V2);
    k.cgroup_write(p, "g", "memory.swap.max", "8K").unwrap();
    let a = touch(&mut k, p, 4).unwrap();
    k.madvise(p, a, 4 * P, MADV_PAGEOUT).unwrap();
    check_kernel(&k);
    let g = group(&k);
    assert_eq!(g.swap_usage, 2);
    assert_eq!((g.swap_events.max, g.swap_events.fail), (2, 2));
    assert_eq!(k.mm(p).unwrap().rss.swap, mm::pages::PageCount::new(2));
    assert_eq!(procfs::cgroup::cgroup_file(&k, "g", "memory.swap.events").unwrap(), "high 0\nmax 2\nfail 2\n");
}

#[test]
fn v2_shmem_pages_are_charged_to_the_group_that_swapped_them() {
    let (mut k, p) = setup(CgroupVersion::V2);
    let a = k.mmap(p, 0, 8 * P, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0).unwrap();
    k.store(p, a, &vec![7u8; 8 * P as usize]).unwrap();
    k.madvise(p, a, 8 * P, MADV_PAGEOUT).unwrap();
    check_kernel(&k);
    assert_eq!(group(&k).swap_usage, 8);
    // Reading them back takes them out of swap: the object gives up its slots.
    assert_eq!(k.load(p, a, 8 * P).unwrap(), vec![7u8; 8 * P as usize]);
    check_kernel(&k);
    assert_eq!(group(&k).swap_usage, 0);
}

#[test]
fn v1_memsw_counts_memory_plus_swap_and_a_full_memsw_ooms() {
    let (mut k, p) = setup(CgroupVersion::V1);
    k.cgroup_write(p, "g", "memory.limit_in_bytes", "256K").unwrap();
    assert_eq!(k.cgroup_write(p, "g", "memory.memsw.limit_in_bytes", "128K"), Err(Errno::EINVAL));
    k.cgroup_write(p, "g", "memory.memsw.limit_in_bytes", "512K").unwrap();
    assert_eq!(k.cgroup_write(p, "g", "memory.limit_in_bytes", "-1"), Err(Errno::EINVAL), "above memsw");
    let a = touch(&mut k, p, 96).unwrap();
    let g = group(&k);
    assert_eq!(
        k.mm(p).unwrap().rss.swap,
        mm::pages::PageCount::new(g.swap_usage),
        "slots leave the swap cache charged"
    );
    assert!(g.swap_usage >= 32 && g.memsw_usage() <= 128, "swap {} memsw {}", g.swap_usage, g.memsw_usage());
    let usage = procfs::cgroup::cgroup_file(&k, "g", "memory.memsw.usage_in_bytes").unwrap();
    assert_eq!(usage, format!("{}\n", g.memsw_usage() * P));
    let stat = procfs::cgroup::cgroup_file(&k, "g", "memory.stat").unwrap();
    assert!(stat.contains(&format!("\nswap {}\n", g.swap_usage * P)), "{stat}");
    // Lowering memsw below its usage cannot swap: EBUSY, and the limit stays.
    assert_eq!(k.cgroup_write(p, "g", "memory.memsw.limit_in_bytes", "300K"), Err(Errno::EBUSY));
    assert_eq!(group(&k).memsw_max(), 128);
    k.munmap(p, a, 96 * P).unwrap();
    check_kernel(&k);
    assert_eq!(group(&k).swap_usage, 0);
    let killed_at = touch(&mut k, p, 192).unwrap_err();
    let g = group(&k);
    assert!((120..=128).contains(&killed_at), "killed at page {killed_at}");
    assert_eq!(g.memsw_watermark, 128, "memsw.max_usage is the memsw limit");
    assert_eq!(g.events.oom_kill, 1);
    assert_eq!(procfs::cgroup::cgroup_file(&k, "g", "memory.memsw.failcnt").unwrap(), "0\n");
    assert!(g.failcnt > 0);
}

#[test]
fn random_scripts_with_swap_limits_keep_the_charges_straight() {
    for (seed, version) in (1..=8u64).zip([CgroupVersion::V1, CgroupVersion::V2].into_iter().cycle()) {
        let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut next = |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let mut k = Kernel::new(Config { ram_bytes: 2 << 20, paranoid: true, ..Config::default() });
        k.set_cgroup_version(version).unwrap();
        k.swapon(&SwapSpec { path: "/s".into(), size: 1 << 20, priority: None, partition: false }).unwrap();
        k.cgroup_mkdir("g").unwrap();
        k.cgroup_mkdir("g/h").unwrap();
        let (max, swap) = match version {
            CgroupVersion::V2 => ("memory.max", "memory.swap.max"),
            CgroupVersion::V1 => ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes"),
        };
        k.cgroup_write(0, "g", max, "512K").unwrap();
        k.cgroup_write(0, "g", swap, if version == CgroupVersion::V2 { "256K" } else { "768K" }).unwrap();
        let mut maps: Vec<(Pid, u64, u64)> = Vec::new();
        for _ in 0..80 {
            let live: Vec<Pid> = k.tasks().filter(|t| t.mm.is_some()).map(|t| t.pid).collect();
            match next(6) {
                0 if live.len() < 4 => {
                    let p = k.spawn_empty("r").unwrap();
                    let _ = k.cgroup_attach(["g", "g/h", ""][next(3) as usize], p);
                }
                1 | 2 if !live.is_empty() => {
                    let p = live[next(live.len() as u64) as usize];
                    let pages = 1 + next(96);
                    let flags = if next(3) == 0 { MAP_SHARED | MAP_ANONYMOUS } else { ANON };
                    if let Ok(a) = k.mmap(p, 0, pages * P, RW, flags, -1, 0) {
                        let _ = k.store(p, a, &vec![3u8; (pages * P) as usize]);
                        maps.push((p, a, pages));
                    }
                }
                3 if !maps.is_empty() => {
                    let (p, a, pages) = maps[next(maps.len() as u64) as usize];
                    let _ = k.madvise(p, a, pages * P, MADV_PAGEOUT);
                }
                4 if !maps.is_empty() => {
                    let (p, a, pages) = maps.swap_remove(next(maps.len() as u64) as usize);
                    if next(2) == 0 {
                        let _ = k.munmap(p, a, pages * P);
                    } else {
                        let _ = k.load(p, a, pages * P);
                    }
                }
                5 if !live.is_empty() && next(4) == 0 => {
                    let _ = k.exit(live[next(live.len() as u64) as usize], 0);
                }
                _ => {}
            }
            check_kernel(&k);
        }
        for p in k.tasks().filter(|t| t.mm.is_some()).map(|t| t.pid).collect::<Vec<_>>() {
            let _ = k.exit(p, 0);
        }
        check_kernel(&k);
        assert_eq!(group(&k).swap_usage, 0, "seed {seed}: swap charge left after every task exited");
        let _ = k.cgroup_rmdir("g/h");
        check_kernel(&k);
    }
}

/// v2's `memory.swap.high`: no limit on swapping, but a task that charges memory while its
/// group's swap is above it counts a `high` swap event on its way back (the kernel then
/// throttles it; the model has no time to spend). Before the swap passes the mark no event
/// is counted; charges after it count events; the file shows the mark as written. (How
/// many events: Linux charges in batches of 64 pages through a per-CPU stock and counts at
/// most one a batch, the model one a charging fault, as it does for `memory.high`; this
/// machine's cgroups are v1, so the count is not checked against it.)
#[test]
fn v2_memory_swap_high_counts_a_high_event_for_each_charge_above_it() {
    let (mut k, p) = setup(CgroupVersion::V2);
    k.cgroup_write(p, "g", "memory.max", "256K").unwrap();
    k.cgroup_write(p, "g", "memory.swap.high", "128K").unwrap();
    assert_eq!(procfs::cgroup::cgroup_file(&k, "g", "memory.swap.high").unwrap(), "131072\n");
    touch(&mut k, p, 64).unwrap();
    assert_eq!(group(&k).swap_events.high, 0, "swap below the mark: {}", group(&k).swap_usage);
    // Beyond memory.max the group swaps; once more than 32 pages are out, every page the
    // task charges counts an event.
    touch(&mut k, p, 64).unwrap();
    let g = group(&k);
    assert!(g.swap_usage > 32, "swap {}", g.swap_usage);
    assert!(g.swap_events.high > 0 && g.swap_events.high < 64, "high events {}", g.swap_events.high);
    let before = g.swap_events.high;
    touch(&mut k, p, 8).unwrap();
    let after = group(&k).swap_events.high;
    assert!(after > before, "more charges above the mark count more events");
    let events = procfs::cgroup::cgroup_file(&k, "g", "memory.swap.events").unwrap();
    assert!(events.starts_with(&format!("high {after}\n")), "{events}");
    assert_eq!(group(&k).swap_events.max, 0, "no memory.swap.max to reach");
}
