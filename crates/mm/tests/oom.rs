//! The OOM killer and memory cgroups: who is killed, what is freed, what is counted.

use abi::*;
use mm::invariants::check_kernel;
use mm::{Config, Kernel, Pid, Signal};

const RW: u64 = PROT_READ | PROT_WRITE;
const ANON: u64 = MAP_PRIVATE | MAP_ANONYMOUS;
const MIB: u64 = 1 << 20;

fn kernel(ram: u64) -> Kernel {
    Kernel::new(Config { ram_bytes: ram, paranoid: true, ..Config::default() })
}

/// A process with `len` bytes of anonymous memory written (resident).
fn hog(k: &mut Kernel, name: &str, len: u64) -> (Pid, u64) {
    let p = k.spawn_empty(name).unwrap();
    if len == 0 {
        return (p, 0);
    }
    let a = k.mmap(p, 0, len, RW, ANON, -1, 0).unwrap();
    k.store(p, a, &vec![1u8; len as usize]).unwrap();
    (p, a)
}

#[test]
fn a_fault_with_no_free_frame_kills_the_largest_process_and_goes_on() {
    let mut k = kernel(16 * MIB);
    let (big, _) = hog(&mut k, "big", 8 * MIB);
    let (small, a) = hog(&mut k, "small", MIB);
    let free_before = k.machine().frames.free_frames();
    // small now wants more than is free: big is the worse process and dies.
    let more = k.mmap(small, 0, 8 * MIB, RW, ANON, -1, 0).unwrap();
    k.store(small, more, &vec![2u8; (8 * MIB) as usize]).unwrap();
    assert!(free_before < 2048, "the machine really was full");
    let t = k.task(big).unwrap();
    assert_eq!((t.killed_by, t.wait_status()), (Some(9), Some(9)), "SIGKILL, seen by wait");
    assert!(t.mm.is_none(), "its address space is gone");
    assert_eq!(k.load(small, a, 1).unwrap(), vec![1]);
    assert_eq!(k.machine().vmstat.oom_kill, 1);
    let log = k.machine().kmsg.join("\n");
    assert!(log.contains("small invoked oom-killer: gfp_mask="), "{log}");
    assert!(log.contains("oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/,task=big,pid="), "{log}");
    let killed =
        k.machine().kmsg.iter().find(|l| l.starts_with("Out of memory: Killed process ")).expect("the kill line");
    assert!(
        killed.contains(&format!(
            "Killed process {big} (big) total-vm:8192kB, anon-rss:8192kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:"
        )),
        "{killed}"
    );
    assert!(killed.ends_with("oom_score_adj:0"), "{killed}");
    k.reap(big).unwrap();
    check_kernel(&k);
}

#[test]
fn the_faulting_process_itself_can_be_the_victim() {
    let mut k = kernel(8 * MIB);
    let (p, _) = hog(&mut k, "p", 0);
    // Each mapping alone is within the heuristic overcommit limit (RAM); together they
    // are not.
    let a = k.mmap(p, 0, 6 * MIB, RW, ANON, -1, 0).unwrap();
    let b = k.mmap(p, 0, 6 * MIB, RW, ANON, -1, 0).unwrap();
    k.store(p, a, &vec![3u8; (6 * MIB) as usize]).unwrap();
    assert_eq!(k.store(p, b, &vec![3u8; (6 * MIB) as usize]), Err(Signal::Kill));
    assert_eq!(k.task(p).unwrap().wait_status(), Some(9));
    assert_eq!(k.machine().frames.free_frames() + 2, k.machine().frames.total_frames(), "every frame came back");
    k.reap(p).unwrap();
    check_kernel(&k);
}

#[test]
fn oom_score_adj_steers_the_choice_and_minus_1000_protects() {
    let mut k = kernel(16 * MIB);
    let (big, _) = hog(&mut k, "big", 6 * MIB);
    let (mid, _) = hog(&mut k, "mid", 2 * MIB);
    assert_eq!(k.oom_victim(mm::oom::OomScope::Global), Some(big));
    k.set_oom_score_adj(big, big, -1000).unwrap();
    assert_eq!(k.oom_score(big), Ok(0));
    assert_eq!(k.oom_victim(mm::oom::OomScope::Global), Some(mid));
    k.set_oom_score_adj(mid, mid, -500).unwrap();
    let (tiny, _) = hog(&mut k, "tiny", 0);
    assert_eq!(k.oom_victim(mm::oom::OomScope::Global), Some(tiny), "-500 outweighs 2 MiB on 16 MiB");
    assert_eq!(k.set_oom_score_adj(tiny, tiny, 1001), Err(Errno::EINVAL));
    assert_eq!(k.set_oom_score_adj(tiny, tiny, -1001), Err(Errno::EINVAL));
    // proc_oom_score: (1000 + badness * 1000 / totalpages) * 2 / 3.
    k.set_oom_score_adj(tiny, tiny, 0).unwrap();
    let pages = k.mm(tiny).unwrap().rss.total().as_u64() + k.mm(tiny).unwrap().pgtable_pages;
    assert_eq!(k.oom_score(tiny), Ok((1000 + pages * 1000 / 4096) * 2 / 3));
    // Equal badness: the task met last (the newest) is chosen.
    let mut k = kernel(16 * MIB);
    let (_, _) = hog(&mut k, "a", MIB);
    let (b, _) = hog(&mut k, "b", MIB);
    assert_eq!(k.oom_victim(mm::oom::OomScope::Global), Some(b));
}

#[test]
fn a_memcg_at_its_limit_kills_inside_the_group_only() {
    let mut k = kernel(64 * MIB);
    let (outside, _) = hog(&mut k, "outside", 16 * MIB);
    let g = k.cgroup_mkdir("box").unwrap();
    let (inside, _) = hog(&mut k, "inside", 0);
    k.cgroup_attach("box", inside).unwrap();
    k.cgroup_write(inside, "box", "memory.max", "4M").unwrap();
    let b = k.mmap(inside, 0, 8 * MIB, RW, ANON, -1, 0).unwrap();
    assert_eq!(k.store(inside, b, &vec![1u8; (8 * MIB) as usize]), Err(Signal::Kill));
    assert!(k.task(outside).unwrap().exit_code.is_none(), "the bigger process outside the group lives");
    let m = k.machine().frames.memcgs.get(g).unwrap();
    assert_eq!((m.events.max, m.events.oom, m.events.oom_kill), (1, 1, 1));
    assert_eq!(m.usage, 0, "the victim's charges went with its frames");
    assert_eq!(m.watermark, 1024, "the group reached its limit exactly");
    assert!(k
        .machine()
        .kmsg
        .iter()
        .any(|l| l.starts_with(&format!("Memory cgroup out of memory: Killed process {inside} (inside)"))));
    assert!(k
        .machine()
        .kmsg
        .iter()
        .any(|l| l.contains("constraint=CONSTRAINT_MEMCG") && l.contains("oom_memcg=/box,task_memcg=/box")));
    assert_eq!(k.cgroup_rmdir("box"), Ok(()));
    check_kernel(&k);
}

#[test]
fn lowering_memory_max_below_the_usage_kills_until_it_fits() {
    let mut k = kernel(64 * MIB);
    k.cgroup_mkdir("g").unwrap();
    let (a, _) = hog(&mut k, "a", 0);
    k.cgroup_attach("g", a).unwrap();
    let x = k.mmap(a, 0, 4 * MIB, RW, ANON, -1, 0).unwrap();
    k.store(a, x, &vec![1u8; (4 * MIB) as usize]).unwrap();
    let g = k.memcg_lookup("g").unwrap();
    assert!(k.machine().frames.memcgs.get(g).unwrap().usage >= 1024);
    k.cgroup_write(a, "g", "memory.max", "1M").unwrap();
    assert_eq!(k.task(a).unwrap().wait_status(), Some(9));
    assert_eq!(k.machine().frames.memcgs.get(g).unwrap().usage, 0);
    assert_eq!(k.cgroup_write(a, "g", "memory.max", "lots"), Err(Errno::EINVAL));
    check_kernel(&k);
}

/// Group names may hold dots (systemd's slices and scopes); a name that is one of the
/// parent's files is EEXIST (measured on v1: `tasks` and `cgroup.procs` so, while
/// `memory.max`, not a v1 file, makes a group).
#[test]
fn group_names_with_dots_and_names_of_files() {
    let mut k = kernel(64 * MIB);
    k.set_cgroup_version(mm::memcg::CgroupVersion::V1).unwrap();
    assert!(k.cgroup_mkdir("user.slice").is_ok());
    assert!(k.cgroup_mkdir("user.slice/run-u7.scope").is_ok());
    assert!(k.cgroup_mkdir("memory.max").is_ok());
    assert_eq!(k.cgroup_mkdir("tasks"), Err(Errno::EEXIST));
    assert_eq!(k.cgroup_mkdir("user.slice/cgroup.procs"), Err(Errno::EEXIST));
    // A `..` goes up from a group that must exist (hostdiff's memcg_paths asks the host).
    assert_eq!(k.cgroup_mkdir("a/../b"), Err(Errno::ENOENT));
    assert!(k.cgroup_mkdir("user.slice/../b").is_ok() && k.memcg_lookup("b").is_ok());
    let a = k.spawn_empty("a").unwrap();
    assert!(!k.memcg_limited(a));
    k.cgroup_attach("user.slice/run-u7.scope", a).unwrap();
    k.cgroup_write(a, "user.slice", "memory.limit_in_bytes", "8M").unwrap();
    assert!(k.memcg_limited(a), "a limit above the task's group counts");
    check_kernel(&k);
}

/// Without CAP_SYS_RESOURCE a task may raise its oom_score_adj but not lower it below the
/// floor the last privileged write set (EACCES; measured as root without the capability);
/// with it, a write sets the floor too, which a fork inherits.
#[test]
fn oom_score_adj_below_the_floor_needs_cap_sys_resource() {
    let mut k =
        Kernel::new(Config { ram_bytes: 64 * MIB, paranoid: true, cap_sys_resource: false, ..Config::default() });
    let (a, _) = hog(&mut k, "a", 0);
    assert_eq!(k.set_oom_score_adj(a, a, -1000), Err(Errno::EACCES));
    k.set_oom_score_adj(a, a, 500).unwrap();
    k.set_oom_score_adj(a, a, 0).unwrap();
    assert_eq!(k.set_oom_score_adj(a, a, -1), Err(Errno::EACCES));
    let mut k = kernel(64 * MIB);
    let (a, _) = hog(&mut k, "a", 0);
    k.set_oom_score_adj(a, a, -500).unwrap();
    let b = k.fork(a).unwrap();
    k.drop_capabilities(b).unwrap();
    k.set_oom_score_adj(b, b, -200).unwrap();
    k.set_oom_score_adj(b, b, -500).unwrap();
    assert_eq!(k.set_oom_score_adj(b, b, -501), Err(Errno::EACCES));
}

/// Writing 0 to `cgroup.procs` moves the writer itself (measured: `sh -c 'echo 0 >
/// .../cgroup.procs'` puts the shell in the group); another pid moves that process.
#[test]
fn zero_written_to_cgroup_procs_moves_the_writer() {
    let mut k = kernel(64 * MIB);
    let g = k.cgroup_mkdir("g").unwrap();
    let (a, _) = hog(&mut k, "a", 0);
    let (b, _) = hog(&mut k, "b", 0);
    k.cgroup_write(a, "g", "cgroup.procs", "0").unwrap();
    assert_eq!(k.task(a).unwrap().memcg, g);
    assert_ne!(k.task(b).unwrap().memcg, g);
    k.cgroup_write(a, "g", "cgroup.procs", &b.to_string()).unwrap();
    assert_eq!(k.task(b).unwrap().memcg, g);
}

#[test]
fn v1_limits_refuse_what_v2_would_kill_for() {
    let mut k = kernel(64 * MIB);
    k.set_cgroup_version(mm::memcg::CgroupVersion::V1).unwrap();
    k.cgroup_mkdir("g").unwrap();
    let (a, _) = hog(&mut k, "a", 0);
    k.cgroup_attach("g", a).unwrap();
    let x = k.mmap(a, 0, 2 * MIB, RW, ANON, -1, 0).unwrap();
    k.store(a, x, &vec![1u8; (2 * MIB) as usize]).unwrap();
    assert_eq!(k.cgroup_write(a, "g", "memory.limit_in_bytes", "1048576"), Err(Errno::EBUSY));
    k.cgroup_write(a, "g", "memory.limit_in_bytes", "16M").unwrap();
    assert_eq!(k.cgroup_write(a, "g", "memory.memsw.limit_in_bytes", "8M"), Err(Errno::EINVAL));
    k.cgroup_write(a, "g", "memory.memsw.limit_in_bytes", "16M").unwrap();
    assert_eq!(k.cgroup_write(a, "g", "memory.limit_in_bytes", "32M"), Err(Errno::EINVAL), "above memsw");
    assert_eq!(k.cgroup_write(a, "g", "memory.max", "1M"), Err(Errno::EACCES), "a v2 file in v1");
    assert_eq!(k.cgroup_rmdir("g"), Err(Errno::EBUSY), "a task is in it");
    check_kernel(&k);
}

#[test]
fn strict_overcommit_fails_mmap_before_any_oom() {
    let mut k = kernel(16 * MIB);
    k.config_mut().overcommit_memory = 2;
    let (p, _) = hog(&mut k, "p", 0);
    // CommitLimit is half of RAM: 8 MiB of private writable memory cannot be committed.
    assert_eq!(k.mmap(p, 0, 9 * MIB, RW, ANON, -1, 0), Err(Errno::ENOMEM));
    let a = k.mmap(p, 0, 6 * MIB, RW, ANON, -1, 0).unwrap();
    k.store(p, a, &vec![1u8; (6 * MIB) as usize]).unwrap();
    assert!(k.machine().kmsg.is_empty() && k.machine().vmstat.oom_kill == 0, "no OOM under strict accounting");
}

/// Random programs under a small RAM and a small memory cgroup: no panic, the invariants
/// (charges included) after every step, and nothing left once every process is gone.
#[test]
fn random_scripts_under_memory_pressure_never_panic_or_leak() {
    let mut kills = 0;
    for seed in 1..=12u64 {
        let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut next = |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let mut k = kernel(4 * MIB);
        k.cgroup_mkdir("g").unwrap();
        k.cgroup_write(0, "g", "memory.max", "1M").unwrap();
        let mut pids: Vec<Pid> = Vec::new();
        let mut maps: Vec<(Pid, u64)> = Vec::new();
        for _ in 0..120 {
            let live: Vec<Pid> = pids.iter().copied().filter(|p| k.task(*p).is_some_and(|t| t.mm.is_some())).collect();
            match next(7) {
                0 if live.len() < 6 => {
                    let p = k.spawn_empty("r").unwrap();
                    if next(2) == 0 {
                        k.cgroup_attach("g", p).unwrap();
                    }
                    if next(3) == 0 {
                        k.set_oom_score_adj(p, p, -1000).unwrap();
                    }
                    pids.push(p);
                }
                1 if !live.is_empty() => {
                    let p = live[next(live.len() as u64) as usize];
                    if let Ok(c) = k.fork(p) {
                        pids.push(c);
                    }
                }
                2 | 3 if !live.is_empty() => {
                    let p = live[next(live.len() as u64) as usize];
                    let len = (1 + next(512)) * 4096;
                    let shared = if next(4) == 0 { MAP_SHARED | MAP_ANONYMOUS } else { ANON };
                    if let Ok(a) = k.mmap(p, 0, len, RW, shared, -1, 0) {
                        maps.push((p, a));
                    }
                }
                4 | 5 if !maps.is_empty() => {
                    let (p, a) = maps[next(maps.len() as u64) as usize];
                    let len = (1 + next(256)) * 4096;
                    let _ = k.store(p, a, &vec![7u8; len as usize]);
                }
                6 if !live.is_empty() => {
                    let p = live[next(live.len() as u64) as usize];
                    let _ = k.exit(p, 0);
                }
                _ => {}
            }
            check_kernel(&k);
        }
        kills += k.machine().vmstat.oom_kill;
        for p in pids {
            let _ = k.exit(p, 0);
        }
        check_kernel(&k);
        let g = k.memcg_lookup("g").unwrap();
        assert_eq!(k.machine().frames.memcgs.get(g).unwrap().usage, 0, "seed {seed}: charges left");
        assert_eq!(
            k.machine().frames.free_frames() + 2,
            k.machine().frames.total_frames(),
            "seed {seed}: frames leaked"
        );
    }
    assert!(kills > 0, "the scripts never reached the OOM killer");
}

/// A process in a group reads a file through a mapping, unmaps it, then needs anonymous
/// memory: reclaim drops the clean, unmapped page cache charged to the group instead of
/// killing, and the file reads back from the disk (a major fault).
#[test]
fn a_group_at_its_limit_drops_clean_page_cache_before_killing() {
    let mut k = kernel(64 * MIB);
    let data: std::sync::Arc<[u8]> = vec![5u8; (3 * MIB) as usize].into();
    k.import_file("/data", 8, 1, 77, data);
    k.cgroup_mkdir("g").unwrap();
    let p = k.spawn_empty("reader").unwrap();
    k.cgroup_attach("g", p).unwrap();
    k.cgroup_write(p, "g", "memory.max", "4M").unwrap();
    let fd = k.open(p, "/data", O_RDONLY).unwrap();
    let m = k.mmap(p, 0, 3 * MIB, PROT_READ, MAP_PRIVATE, fd as i64, 0).unwrap();
    for off in (0..3 * MIB).step_by(4096) {
        k.load(p, m + off, 1).unwrap();
    }
    let g = k.memcg_lookup("g").unwrap();
    assert!(k.machine().frames.memcgs.get(g).unwrap().usage >= 768, "the file pages are charged to the group");
    k.munmap(p, m, 3 * MIB).unwrap();
    let a = k.mmap(p, 0, 3 * MIB, RW, ANON, -1, 0).unwrap();
    k.store(p, a, &vec![1u8; (3 * MIB) as usize]).unwrap();
    assert!(k.task(p).unwrap().exit_code.is_none(), "reclaim made room: nobody was killed");
    assert_eq!(k.machine().vmstat.oom_kill, 0);
    let m = k.mmap(p, 0, 3 * MIB, PROT_READ, MAP_PRIVATE, fd as i64, 0).unwrap();
    let majors = k.task(p).unwrap().maj_flt;
    // Which pages reclaim dropped is reclaim order, not checked (docs/reclaim.md).
    assert_eq!(k.load(p, m, 3 * MIB).unwrap(), vec![5; (3 * MIB) as usize]);
    assert!(k.task(p).unwrap().maj_flt > majors, "dropped pages come back from the disk");
    check_kernel(&k);
}

#[test]
fn going_over_memory_high_counts_high_events_and_never_kills() {
    let mut k = kernel(64 * MIB);
    k.cgroup_mkdir("g").unwrap();
    let p = k.spawn_empty("p").unwrap();
    k.cgroup_attach("g", p).unwrap();
    k.cgroup_write(p, "g", "memory.high", "1M").unwrap();
    let a = k.mmap(p, 0, 2 * MIB, RW, ANON, -1, 0).unwrap();
    k.store(p, a, &vec![1u8; (2 * MIB) as usize]).unwrap();
    let g = k.machine().frames.memcgs.get(k.memcg_lookup("g").unwrap()).unwrap();
    assert!(g.events.high > 0 && g.events.max == 0 && g.events.oom_kill == 0, "{:?}", g.events);
    assert!(g.usage > 256, "high is not a hard limit");
}

/// A task the OOM killer ended but nobody reaped yet makes no more calls: opening a file,
/// creating a memfd or installing a descriptor fails with ESRCH, and reaping it leaves
/// nothing behind (found by fuzzing the calls: an `open` on such a task succeeded, and the
/// description it made outlived the task, as no exit would close it again).
#[test]
fn an_oom_killed_task_opens_nothing() {
    let mut k = kernel(16 * MIB);
    k.create_file("/data", b"x");
    let p = k.spawn_empty("hog").unwrap();
    k.open(p, "/data", O_RDONLY).unwrap();
    let flags = ANON | MAP_POPULATE | MAP_NORESERVE;
    let _ = k.mmap(p, 0, 64 * MIB, RW, flags, -1, 0);
    assert_eq!(k.task(p).unwrap().killed_by, Some(9), "killed, not reaped");
    assert_eq!(k.open(p, "/data", O_RDONLY), Err(Errno::ESRCH));
    assert_eq!(k.memfd_create(p, "m", 0), Err(Errno::ESRCH));
    let other = k.spawn_empty("other").unwrap();
    let fd2 = k.open(other, "/data", O_RDONLY).unwrap() as i32;
    let open2 = k.fd_description(other, fd2).unwrap();
    assert_eq!(k.fd_install_at(p, 5, open2, false), Err(Errno::ESRCH));
    assert_eq!(k.fd_install_at(Pid::MAX, 5, open2, false), Err(Errno::ESRCH));
    check_kernel(&k);
    k.reap(p).unwrap();
    k.exit(other, 0).unwrap();
    k.reap(other).unwrap();
    mm::invariants::check_no_leaks(&k);
}
