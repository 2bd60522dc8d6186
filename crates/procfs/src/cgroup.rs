//! The memory cgroup files (mm/memcontrol.c): v2's `memory.current`, `memory.max`,
//! `memory.high`, `memory.swap.max`, `memory.swap.current`, `memory.swap.peak`,
//! `memory.swap.events`, `memory.peak`, `memory.events`, `memory.stat` and `cgroup.procs`;
//! v1's `memory.usage_in_bytes`, `memory.limit_in_bytes`, `memory.max_usage_in_bytes`,
//! `memory.failcnt`, `memory.memsw.limit_in_bytes`, `memory.memsw.usage_in_bytes`,
//! `memory.memsw.max_usage_in_bytes`, `memory.memsw.failcnt`,
//! `memory.oom_control`, `memory.stat` and `tasks`; and `/proc/PID/oom_score`,
//! `oom_score_adj`.
//!
//! `memory.stat` holds the fields the model keeps, in Linux's order: sizes by kind of page
//! and LRU list, and the fault counters (v2 leaves out the kernel's slab, socket, zswap and
//! reclaim-scan lines, v1 the workingset ones).

use crate::frame_class::{classify, FrameUse, Lru};
use mm::memcg::files::{show_v1, show_v2, PAGE_COUNTER_MAX};
use mm::memcg::{CgroupVersion, MemcgEvents, MemcgId, NO_LIMIT};
use mm::{Kernel, Pid, SysResult};
use std::fmt::Write;

/// Pages charged to a group and its descendants, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemcgStat {
    /// Anonymous pages.
    pub anon: u64,
    /// Page-cache pages of regular files.
    pub file: u64,
    /// Shmem pages (counted in `file` too, as Linux does).
    pub shmem: u64,
    /// Page-table pages.
    pub pagetables: u64,
    /// File pages mapped by some process.
    pub file_mapped: u64,
    /// Dirty file pages.
    pub file_dirty: u64,
    /// Anonymous (and shmem) pages on the inactive list.
    pub inactive_anon: u64,
    /// ... on the active list.
    pub active_anon: u64,
    /// File pages on the inactive list.
    pub inactive_file: u64,
    /// ... on the active list.
    pub active_file: u64,
    /// mlocked pages.
    pub unevictable: u64,
    /// Pages in the swap cache.
    pub swapcached: u64,
}

/// Counts the frames charged to group `id` and its descendants.
pub fn memcg_stat(k: &Kernel, id: MemcgId) -> MemcgStat {
    let memcgs = &k.machine().frames.memcgs;
    let mut s = MemcgStat::default();
    for (pfn, m) in k.machine().frames.allocated() {
        if !memcgs.is_descendant(m.memcg, id) {
            continue;
        }
        s.swapcached += u64::from(k.machine().swap.slot_of(pfn).is_some());
        let class = classify(k, &m);
        match class.use_ {
            // NR_ANON_MAPPED: a page only the swap cache holds is not counted.
            FrameUse::Anon => s.anon += u64::from(class.mapped),
            FrameUse::File { shmem } => {
                s.file += 1;
                s.shmem += u64::from(shmem);
                s.file_mapped += u64::from(class.mapped);
                s.file_dirty += u64::from(class.dirty);
            }
            FrameUse::PageTable => s.pagetables += 1,
            // Kernel allocations are charged to no group (no __GFP_ACCOUNT in the model).
            FrameUse::Kernel(_) | FrameUse::None => {}
        }
        let slot = match class.lru {
            None => continue,
            Some(Lru::Unevictable) => &mut s.unevictable,
            Some(Lru::InactiveAnon) => &mut s.inactive_anon,
            Some(Lru::ActiveAnon) => &mut s.active_anon,
            Some(Lru::InactiveFile) => &mut s.inactive_file,
            Some(Lru::ActiveFile) => &mut s.active_file,
        };
        *slot += 1;
    }
    s
}

/// The text of `file` in the group at `path` (relative to the mount), as the machine's
/// cgroup version shows it. ENOENT for a file that version does not have.
pub fn cgroup_file(k: &Kernel, path: &str, file: &str) -> SysResult<String> {
    let id = k.memcg_lookup(path)?;
    let memcgs = &k.machine().frames.memcgs;
    let g = memcgs.get(id).expect("looked-up memcg");
    let root = id == mm::memcg::ROOT_MEMCG;
    let bytes = |pages: u64| (pages << 12).to_string() + "\n";
    let procs = || {
        let mut s = String::new();
        for t in k.tasks().filter(|t| t.memcg == id && t.exit_code.is_none()) {
            let _ = writeln!(s, "{}", t.pid);
        }
        s
    };
    let text = match (memcgs.version, file) {
        (_, "cgroup.procs") | (CgroupVersion::V1, "tasks") => procs(),
        (CgroupVersion::V2, "memory.current") if !root => bytes(g.usage),
        (CgroupVersion::V2, "memory.peak") if !root => bytes(g.watermark),
        (CgroupVersion::V2, "memory.max") if !root => show_v2(g.max) + "\n",
        (CgroupVersion::V2, "memory.high") if !root => show_v2(g.high) + "\n",
        (CgroupVersion::V2, "memory.low" | "memory.min") if !root => "0\n".into(),
        (CgroupVersion::V2, "memory.swap.max") if !root => show_v2(g.swap_max) + "\n",
        (CgroupVersion::V2, "memory.swap.current") if !root => bytes(g.swap_usage),
        (CgroupVersion::V2, "memory.swap.peak") if !root => bytes(g.swap_watermark),
        (CgroupVersion::V2, "memory.swap.high") if !root => show_v2(g.swap_high) + "\n",
        (CgroupVersion::V2, "memory.swap.events") if !root => {
            format!("high {}\nmax {}\nfail {}\n", g.swap_events.high, g.swap_events.max, g.swap_events.fail)
        }
        (CgroupVersion::V2, "memory.events") if !root => events(&g.events),
        (CgroupVersion::V2, "memory.events.local") if !root => events(&g.events_local),
        (CgroupVersion::V2, "memory.stat") => stat_v2(k, id),
        (CgroupVersion::V1, "memory.usage_in_bytes") => bytes(g.usage),
        (CgroupVersion::V1, "memory.memsw.usage_in_bytes") => bytes(g.memsw_usage()),
        (CgroupVersion::V1, "memory.max_usage_in_bytes") => bytes(g.watermark),
        (CgroupVersion::V1, "memory.memsw.max_usage_in_bytes") => bytes(g.memsw_watermark),
        // Linux 6.18 keeps a failcnt for the memory counter alone.
        (CgroupVersion::V1, "memory.memsw.failcnt") => "0\n".into(),
        (CgroupVersion::V1, "memory.limit_in_bytes") => show_v1(g.max) + "\n",
        (CgroupVersion::V1, "memory.memsw.limit_in_bytes") => show_v1(g.memsw_max()) + "\n",
        (CgroupVersion::V1, "memory.failcnt") => format!("{}\n", g.failcnt),
        (CgroupVersion::V1, "memory.oom_control") => {
            format!("oom_kill_disable 0\nunder_oom 0\noom_kill {}\n", g.events.oom_kill)
        }
        (CgroupVersion::V1, "memory.stat") => stat_v1(k, id),
        (CgroupVersion::V1, "memory.numa_stat") => numa_stat(k, id),
        // Settings the model keeps at Linux's defaults (measured on 6.18): no soft limit,
        // charges that stay behind when a task moves, the hierarchy always on.
        (CgroupVersion::V1, "memory.soft_limit_in_bytes") => show_v1(NO_LIMIT) + "\n",
        (CgroupVersion::V1, "memory.move_charge_at_immigrate") => "0\n".into(),
        (CgroupVersion::V1, "memory.use_hierarchy") => "1\n".into(),
        (CgroupVersion::V1, "memory.swappiness") => format!("{}\n", k.memcg_swappiness(id)),
        (CgroupVersion::V1, "cgroup.clone_children") => "0\n".into(),
        // Write-only: a read is EINVAL (measured).
        (CgroupVersion::V1, "memory.force_empty") => return Err(mm::Errno::EINVAL),
        _ => return Err(mm::Errno::ENOENT),
    };
    Ok(text)
}

fn events(e: &MemcgEvents) -> String {
    format!("low {}\nhigh {}\nmax {}\noom {}\noom_kill {}\noom_group_kill 0\n", e.low, e.high, e.max, e.oom, e.oom_kill)
}

fn stat_v2(k: &Kernel, id: MemcgId) -> String {
    let s = memcg_stat(k, id);
    let b = |p: u64| p << 12;
    let lines: [(&str, u64); 26] = [
        ("anon", b(s.anon)),
        ("file", b(s.file)),
        ("kernel", b(s.pagetables)),
        ("kernel_stack", 0),
        ("pagetables", b(s.pagetables)),
        ("sec_pagetables", 0),
        ("percpu", 0),
        ("sock", 0),
        ("vmalloc", 0),
        ("shmem", b(s.shmem)),
        ("file_mapped", b(s.file_mapped)),
        ("file_dirty", b(s.file_dirty)),
        ("file_writeback", 0),
        ("swapcached", b(s.swapcached)),
        ("anon_thp", 0),
        ("file_thp", 0),
        ("shmem_thp", 0),
        ("inactive_anon", b(s.inactive_anon)),
        ("active_anon", b(s.active_anon)),
        ("inactive_file", b(s.inactive_file)),
        ("active_file", b(s.active_file)),
        ("unevictable", b(s.unevictable)),
        ("slab_reclaimable", 0),
        ("slab_unreclaimable", 0),
        ("pgfault", subtree(k, id, |m| m.pgfault)),
        ("pgmajfault", subtree(k, id, |m| m.pgmajfault)),
    ];
    let mut out = String::new();
    for (name, v) in lines {
        let _ = writeln!(out, "{name} {v}");
    }
    out
}

/// A counter summed over a group and its descendants.
fn subtree(k: &Kernel, id: MemcgId, f: impl Fn(&mm::memcg::Memcg) -> u64) -> u64 {
    let memcgs = &k.machine().frames.memcgs;
    memcgs.iter().filter(|(g, _)| memcgs.is_descendant(*g, id)).map(|(_, m)| f(m)).sum()
}

/// The counts of a group's own frames (v1's local numbers): its stat less its children's.
fn local_stat(k: &Kernel, id: MemcgId) -> MemcgStat {
    let memcgs = &k.machine().frames.memcgs;
    let mut local = memcg_stat(k, id);
    for c in memcgs.children(id) {
        let cs = memcg_stat(k, c);
        local.anon -= cs.anon;
        local.file -= cs.file;
        local.shmem -= cs.shmem;
        local.file_mapped -= cs.file_mapped;
        local.file_dirty -= cs.file_dirty;
        local.inactive_anon -= cs.inactive_anon;
        local.active_anon -= cs.active_anon;
        local.inactive_file -= cs.inactive_file;
        local.active_file -= cs.active_file;
        local.unevictable -= cs.unevictable;
        local.swapcached -= cs.swapcached;
    }
    local
}

/// v1 `memory.numa_stat`: the group's pages on each LRU kind, its own and with its
/// descendants', in pages, on the model's one node.
fn numa_stat(k: &Kernel, id: MemcgId) -> String {
    let (local, total) = (local_stat(k, id), memcg_stat(k, id));
    let mut out = String::new();
    for (prefix, s) in [("", &local), ("hierarchical_", &total)] {
        let file = s.inactive_file + s.active_file;
        let anon = s.inactive_anon + s.active_anon;
        for (name, pages) in
            [("total", file + anon + s.unevictable), ("file", file), ("anon", anon), ("unevictable", s.unevictable)]
        {
            let _ = writeln!(out, "{prefix}{name}={pages} N0={pages}");
        }
    }
    out
}

fn stat_v1(k: &Kernel, id: MemcgId) -> String {
    let memcgs = &k.machine().frames.memcgs;
    let g = memcgs.get(id).expect("memcg");
    let total = memcg_stat(k, id);
    let local = local_stat(k, id);
    let swap_local =
        g.swap_usage - memcgs.children(id).filter_map(|c| memcgs.get(c)).map(|c| c.swap_usage).sum::<u64>();
    let b = |p: u64| p << 12;
    let rows = |s: &MemcgStat, swap: u64, pgpgin: u64, pgpgout: u64, pgfault: u64, pgmajfault: u64| {
        [
            ("cache", b(s.file)),
            ("rss", b(s.anon)),
            ("rss_huge", 0),
            ("shmem", b(s.shmem)),
            ("mapped_file", b(s.file_mapped)),
            ("dirty", b(s.file_dirty)),
            ("writeback", 0),
            ("swap", b(swap)),
            ("swapcached", b(s.swapcached)),
            ("pgpgin", pgpgin),
            ("pgpgout", pgpgout),
            ("pgfault", pgfault),
            ("pgmajfault", pgmajfault),
            ("inactive_anon", b(s.inactive_anon)),
            ("active_anon", b(s.active_anon)),
            ("inactive_file", b(s.inactive_file)),
            ("active_file", b(s.active_file)),
            ("unevictable", b(s.unevictable)),
        ]
    };
    let mut out = String::new();
    for (name, v) in rows(&local, swap_local, g.pgpgin, g.pgpgout, g.pgfault, g.pgmajfault) {
        let _ = writeln!(out, "{name} {v}");
    }
    // hierarchical_*: the lowest limit on the way to the root.
    let chain = memcgs.ancestry(id);
    let lowest = |f: &dyn Fn(&mm::memcg::Memcg) -> u64| {
        chain.iter().filter_map(|&c| memcgs.get(c)).map(f).min().unwrap_or(NO_LIMIT).min(PAGE_COUNTER_MAX)
    };
    let _ = writeln!(out, "hierarchical_memory_limit {}", lowest(&|m| m.max) << 12);
    let _ = writeln!(out, "hierarchical_memsw_limit {}", lowest(&|m| m.memsw_max()) << 12);
    let totals = rows(
        &total,
        g.swap_usage,
        subtree(k, id, |m| m.pgpgin),
        subtree(k, id, |m| m.pgpgout),
        subtree(k, id, |m| m.pgfault),
        subtree(k, id, |m| m.pgmajfault),
    );
    for (name, v) in totals {
        let _ = writeln!(out, "total_{name} {v}");
    }
    out
}

/// `/proc/PID/oom_score`.
pub fn oom_score(k: &Kernel, pid: Pid) -> SysResult<String> {
    Ok(format!("{}\n", k.oom_score(pid)?))
}

/// `/proc/PID/oom_score_adj`.
pub fn oom_score_adj(k: &Kernel, pid: Pid) -> SysResult<String> {
    let t = k.task(pid).ok_or(mm::Errno::ESRCH)?;
    Ok(format!("{}\n", t.oom_score_adj))
}

/// Whether the text of memory cgroup file `file` follows the pages its tasks have in memory
/// and in swap (usage, peaks, the statistics): what a replay of a trace that cannot show
/// plain stores does not know.
pub fn follows_residency(file: &str) -> bool {
    matches!(
        file,
        "memory.current"
            | "memory.peak"
            | "memory.swap.current"
            | "memory.swap.peak"
            | "memory.stat"
            | "memory.numa_stat"
            | "memory.usage_in_bytes"
            | "memory.max_usage_in_bytes"
            | "memory.memsw.usage_in_bytes"
            | "memory.memsw.max_usage_in_bytes"
    )
}

/// The bytes a CPU keeps charged to a memory cgroup ahead of use (memcg's per-CPU stock of
/// a charge batch, 64 pages): a group's usage counter includes the stock of every CPU its
/// tasks charged from, which the model does not keep.
pub const CHARGE_BATCH_BYTES: u64 = 64 << 12;

/// The bytes of kernel objects Linux charges to a group of the tests' programs and the model
/// does not (the task, its kernel stack, VMAs, slab): 32 pages.
pub const KERNEL_OBJECTS_BYTES: u64 = 32 << 12;

/// How far a memory cgroup's usage may differ between the host and the model when its
/// tasks could run on `cpus` CPUs: a charge batch a CPU, and the kernel objects. (A task
/// of the tests that ran on both CPUs of a 2-CPU machine showed 130 pages more than the
/// model: two batches and two pages.)
pub const fn usage_tolerance(cpus: u32) -> u64 {
    let cpus = if cpus == 0 { 1 } else { cpus as u64 };
    cpus * CHARGE_BATCH_BYTES + KERNEL_OBJECTS_BYTES
}

/// The CPUs a check assumes where it cannot know them: two, what the machines the tests
/// record on have.
pub const ASSUMED_CPUS: u32 = 2;

/// [`usage_tolerance`] of [`ASSUMED_CPUS`]: the margin of a count per-CPU stocks do not
/// change (the pages of `memory.stat`) and of a limit write near the usage.
pub const USAGE_TOLERANCE: u64 = usage_tolerance(ASSUMED_CPUS);

/// The file that lists the online CPUs (`0-1`; see [`cpu_list_count`]).
pub const ONLINE_CPUS: &str = "/sys/devices/system/cpu/online";

/// The number of CPUs a kernel CPU list names (`0-3,8,10-11`: 7), as [`ONLINE_CPUS`] shows
/// them; `None` if `text` is not one.
pub fn cpu_list_count(text: &str) -> Option<u32> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut n = 0u32;
    for part in text.split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((lo, hi)) => (lo.parse::<u32>().ok()?, hi.parse::<u32>().ok()?),
            None => {
                let one = part.parse::<u32>().ok()?;
                (one, one)
            }
        };
        n = n.checked_add(hi.checked_sub(lo)?.checked_add(1)?)?;
    }
    Some(n)
}

/// Whether a real kernel's text (`host`) and the model's of the memory cgroup file `file`
/// agree as far as Linux determines it (docs/check.md):
/// - limits and settings: exactly;
/// - event files (`memory.events`, `.local`, `memory.swap.events`, v1 `memory.oom_control`):
///   the OOM counts and settings exactly, the `low`/`high`/`max`/`fail` counts not at all
///   (Linux counts per charge batch, the model per charging fault);
/// - usage (`memory.current`, `memory.peak`, `memory.usage_in_bytes`, ...): within
///   [`usage_tolerance`] of `cpus`, the CPUs the group's tasks could run on; with `cpus`
///   unknown (`None`), the host's may exceed the model's by any amount, and fall short of
///   it by [`USAGE_TOLERANCE`] at most;
/// - `memory.stat`: its page counts of anonymous, file and shmem
///   memory (v1: rss, cache, shmem, mapped_file, swap) within [`USAGE_TOLERANCE`], the rest not at all; v1
///   `memory.numa_stat`: every count within it (the host child's own code, which the model
///   does not run, breaks COW on a few pages of its stack and data once in a group);
/// - `cgroup.procs`, `tasks`: the number of processes (the pids are each side's own);
/// - `memory.failcnt`, `memory.memsw.failcnt`: not at all (per charge batch on Linux).
pub fn texts_agree(file: &str, host: &str, model: &str, cpus: Option<u32>) -> bool {
    let number = |t: &str| t.trim().parse::<u64>().ok();
    let keyed = |t: &str| -> Vec<(String, u64)> {
        t.lines()
            .filter_map(|l| {
                let (k, v) = l.split_once(' ')?;
                Some((k.to_string(), v.trim().parse().ok()?))
            })
            .collect()
    };
    let key_of = |kv: &[(String, u64)], key: &str| kv.iter().find(|(k, _)| k == key).map(|&(_, v)| v);
    let near = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) => a.abs_diff(b) <= USAGE_TOLERANCE,
        (a, b) => a == b,
    };
    match file {
        "memory.events" | "memory.events.local" | "memory.swap.events" | "memory.oom_control" => {
            let (h, m) = (keyed(host), keyed(model));
            let exact = ["oom", "oom_kill", "oom_group_kill", "oom_kill_disable", "under_oom"];
            let names = |kv: &[(String, u64)]| kv.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
            names(&h) == names(&m) && exact.iter().all(|k| key_of(&h, k) == key_of(&m, k))
        }
        "memory.stat" => {
            let (h, m) = (keyed(host), keyed(model));
            let pages = [
                "anon",
                "file",
                "shmem",
                "rss",
                "cache",
                "mapped_file",
                "swap",
                "total_rss",
                "total_cache",
                "total_shmem",
                "total_swap",
            ];
            pages.iter().all(|k| near(key_of(&h, k), key_of(&m, k)))
        }
        "memory.numa_stat" => {
            // `name=PAGES N0=PAGES` lines, page counts of the LRU lists.
            let pages = |t: &str| -> Vec<(String, Option<u64>)> {
                t.lines()
                    .filter_map(|l| {
                        let (k, rest) = l.split_once('=')?;
                        let v = rest.split_whitespace().next()?.parse::<u64>().ok();
                        Some((k.to_string(), v.map(|p| p << 12)))
                    })
                    .collect()
            };
            let (h, m) = (pages(host), pages(model));
            h.len() == m.len() && h.iter().zip(&m).all(|((hk, hv), (mk, mv))| hk == mk && near(*hv, *mv))
        }
        // The usage and peak counters, one number each: they count the CPUs' stocks.
        f if follows_residency(f) => match (number(host), number(model)) {
            (Some(h), Some(m)) if h >= m => cpus.is_none_or(|n| h - m <= usage_tolerance(n)),
            (h, m) => near(h, m),
        },
        "cgroup.procs" | "tasks" => host.lines().count() == model.lines().count(),
        "memory.failcnt" | "memory.memsw.failcnt" => true,
        _ => host == model,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_count_their_cpus() {
        assert_eq!(cpu_list_count("0-1\n"), Some(2));
        assert_eq!(cpu_list_count("0"), Some(1));
        assert_eq!(cpu_list_count("0-3,8,10-11"), Some(7));
        for bad in ["", "\n", "a", "3-1", "0-", "1,,2", "0-4294967295,1"] {
            assert_eq!(cpu_list_count(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn usage_may_exceed_the_model_by_a_charge_batch_a_cpu() {
        let model = 100 << 20;
        let read = |extra_pages: u64| format!("{}\n", model + (extra_pages << 12));
        let m = format!("{model}\n");
        // Two CPUs: two batches and the kernel objects.
        assert!(texts_agree("memory.current", &read(160), &m, Some(2)));
        assert!(!texts_agree("memory.current", &read(161), &m, Some(2)));
        // Eight: eight batches.
        assert!(texts_agree("memory.usage_in_bytes", &read(8 * 64 + 32), &m, Some(8)));
        assert!(!texts_agree("memory.usage_in_bytes", &read(8 * 64 + 33), &m, Some(8)));
        // Unknown: any excess, but no more than two CPUs' margin short of the model.
        assert!(texts_agree("memory.current", &read(100_000), &m, None));
        let short = |pages: u64| format!("{}\n", model - (pages << 12));
        assert!(texts_agree("memory.current", &short(160), &m, None));
        assert!(!texts_agree("memory.current", &short(161), &m, None));
        assert!(!texts_agree("memory.current", &short(161), &m, Some(64)));
        // The page counts of memory.stat are not per-CPU stocks: two CPUs' margin whatever
        // the count.
        let stat = |anon: u64| format!("anon {anon}\nfile 0\n");
        assert!(!texts_agree("memory.stat", &stat(model + (161 << 12)), &stat(model), None));
    }
}
