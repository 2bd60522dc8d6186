//! shmem pages brought back from swap, on this machine's kernel and on the model side by
//! side. In each, the C child `shmem_swapin.c` in a memory cgroup puts pages of a shared anonymous mapping out
//! with MADV_PAGEOUT and empties its group (v1 `memory.force_empty`, v2 `memory.reclaim`)
//! so that the written pages leave the swap cache too; emptying a group is best effort on
//! the host, and a run where a page stayed in the swap cache is run again, up to five
//! times.
//!
//! - **MADV_WILLNEED** (`shmem_swapin.c willneed`): over pages 1 to 3 of six, they are read from
//!   the device into the swap cache (mincore shows them, pswpin counts them), not mapped,
//!   and the reads that follow are minor faults. Compared at each step: the mincore
//!   residency (exactly), this process's major faults (exactly), the machine's pswpin
//!   growth (the host's counts every process's swap-ins: at least the model's, at most 8
//!   more).
//! - **Readahead** (`shmem_swapin.c readahead`): 32 pages read in order. shmem swap-ins read
//!   ahead by slot, a window aligned around the faulting slot whose size comes from the
//!   machine-wide state of the previous such fault (`swapin_nr_pages`). The host's first
//!   windows depend on swap-ins before the test, the model starts from a fresh machine;
//!   compared: the window settles at 2^page-cluster = 8 slots (the last major faults are 8
//!   pages apart in both), and the host takes no more major faults than the model plus
//!   one, no fewer than the model minus three.
//!
//! Needs root, a memory cgroup, gcc and a swap file (made and removed here); under
//! MMSIM_REQUIRE_HOST=1 a machine without them fails the test with the reason.

use hostdiff::host_memcg::HostGroup;
use hostdiff::swapfile::HostSwap;
use mm::memcg::CgroupVersion;
use std::process::Command;

const CHILD: &str = include_str!("shmem_swapin.c");
const PAGE: u64 = 4096;

/// (step, mincore residency, pswpin growth, major faults) per step.
type Steps = Vec<(String, String, u64, u64)>;

fn parse(text: &str) -> Steps {
    text.lines()
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(w.len(), 4, "{l}");
            (w[0].to_string(), w[1].to_string(), w[2].parse().unwrap(), w[3].parse().unwrap())
        })
        .collect()
}

/// The group's file that empties it, and the value written to it.
fn emptier(v: CgroupVersion) -> (&'static str, &'static str) {
    match v {
        CgroupVersion::V1 => ("memory.force_empty", "0"),
        CgroupVersion::V2 => ("memory.reclaim", "64M"),
    }
}

/// Builds the C child and runs it in `mode` in a fresh memory cgroup with a swap file, again
/// while `emptied` says its output shows a page left in the swap cache (five runs at
/// most); returns the last output and the group's interface.
fn host_run(what: &str, mode: &str, emptied: impl Fn(&str) -> bool) -> Option<(String, CgroupVersion)> {
    if !hostreq::need_tools(what, &["gcc", "mkswap", "swapon", "swapoff"]) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = hostdiff::cc::build_c("shmem_swapin", CHILD, &[], dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let _swap = hostreq::need(what, HostSwap::new(32 << 20))?;
    let mut last = None;
    for attempt in 0..5 {
        let g =
            hostreq::need(what, HostGroup::create(&format!("mmsim-shmem-swapin-{}-{attempt}", std::process::id())))?;
        let (file, value) = emptier(g.version);
        let out = Command::new(&bin)
            .arg(mode)
            .arg(g.dir.join("cgroup.procs"))
            .arg(g.dir.join(file))
            .arg(value)
            .output()
            .unwrap();
        assert!(out.status.success(), "the child failed: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let done = emptied(&text);
        last = Some((text, g.version));
        if done {
            break;
        }
        eprintln!("{what}: the group kept a page in the swap cache; running again");
    }
    last
}

/// A model machine as the host test's: 1 GiB, a 32 MiB swap file, the cgroup interface
/// `v`, and a task in group `g`.
fn model_machine(v: CgroupVersion) -> (mm::Kernel, mm::Pid) {
    let mut k = mm::Kernel::new(mm::Config { ram_bytes: 1 << 30, paranoid: true, ..mm::Config::default() });
    k.set_cgroup_version(v).unwrap();
    let spec = mm::swap::SwapSpec { path: "/swapfile".into(), size: 32 << 20, priority: None, partition: false };
    k.swapon(&spec).unwrap();
    k.cgroup_mkdir("g").unwrap();
    let p = k.spawn_empty("child").unwrap();
    k.cgroup_attach("g", p).unwrap();
    (k, p)
}

/// Maps `pages` shared anonymous pages, writes them, puts them out and empties the group,
/// as the C children do; returns the mapping's address.
fn model_paged_out(k: &mut mm::Kernel, p: mm::Pid, v: CgroupVersion, pages: u64) -> u64 {
    let rw = abi::PROT_READ | abi::PROT_WRITE;
    let a = k.mmap(p, 0, pages * PAGE, rw, abi::MAP_SHARED | abi::MAP_ANONYMOUS, -1, 0).unwrap();
    for i in 0..pages {
        k.store(p, a + i * PAGE, &[0x50 + i as u8; 8]).unwrap();
    }
    k.madvise(p, a, pages * PAGE, abi::MADV_PAGEOUT).unwrap();
    let (file, value) = emptier(v);
    // memory.reclaim answers EAGAIN when it frees less than asked, as on the host.
    let _ = k.cgroup_write(p, "g", file, value);
    a
}

fn model_willneed(v: CgroupVersion) -> Steps {
    let (mut k, p) = model_machine(v);
    let a = model_paged_out(&mut k, p, v, 6);
    let (in0, maj0) = (k.machine().swap.pswpin, k.task(p).unwrap().maj_flt);
    let step = |k: &mm::Kernel, name: &str| {
        let (vec, _) = k.mincore_vec(p, a, 6 * PAGE).unwrap();
        let s: String = vec.iter().map(|b| char::from(b'0' + (b & 1))).collect();
        (name.to_string(), s, k.machine().swap.pswpin - in0, k.task(p).unwrap().maj_flt - maj0)
    };
    let mut steps = vec![step(&k, "emptied")];
    k.madvise(p, a + PAGE, 3 * PAGE, abi::MADV_WILLNEED).unwrap();
    steps.push(step(&k, "willneed"));
    for i in 1..4 {
        assert_eq!(k.load(p, a + i * PAGE, 1).unwrap(), [0x50 + i as u8]);
    }
    steps.push(step(&k, "read"));
    steps
}

#[test]
fn willneed_reads_swapped_shmem_into_the_swap_cache() {
    let what = "the shmem MADV_WILLNEED test";
    let emptied = |text: &str| text.lines().next().is_some_and(|l| l.split_whitespace().nth(1) == Some("000000"));
    let Some((text, v)) = host_run(what, "willneed", emptied) else { return };
    let host = parse(&text);
    let model = model_willneed(v);
    eprintln!("host  {host:?}\nmodel {model:?}");
    assert_eq!(host.len(), model.len(), "steps");
    for (h, m) in host.iter().zip(&model) {
        assert_eq!((&h.0, &h.1, h.3), (&m.0, &m.1, m.3), "step {}: name, mincore, major faults", h.0);
        assert!(
            (m.2..=m.2 + 8).contains(&h.2),
            "step {}: pswpin grew by {} on the host, {} on the model",
            h.0,
            h.2,
            m.2
        );
    }
    assert_eq!(model[1].1, "011100", "the model's residency after MADV_WILLNEED");
}

/// The pages whose reads were major faults, from a string of one 0/1 per page.
fn majors(s: &str) -> Vec<usize> {
    s.char_indices().filter(|&(_, c)| c == '1').map(|(i, _)| i).collect()
}

#[test]
fn sequential_shmem_swapins_read_ahead_by_slot() {
    const N: u64 = 32;
    let what = "the shmem swap readahead test";
    let emptied = |text: &str| text.split_whitespace().next().is_some_and(|r| r.bytes().all(|b| b == b'0'));
    let Some((text, v)) = host_run(what, "readahead", emptied) else { return };
    let w: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(w.len(), 2, "{text}");
    let host = majors(w[1]);
    let (mut k, p) = model_machine(v);
    let a = model_paged_out(&mut k, p, v, N);
    let mut model_text = String::new();
    for i in 0..N {
        let before = k.task(p).unwrap().maj_flt;
        assert_eq!(k.load(p, a + i * PAGE, 1).unwrap(), [0x50 + i as u8]);
        model_text.push(if k.task(p).unwrap().maj_flt > before { '1' } else { '0' });
    }
    let model = majors(&model_text);
    eprintln!("host  {}\nmodel {model_text}", w[1]);
    for (side, m) in [("host", &host), ("model", &model)] {
        assert!(m.len() >= 3, "{side}: major faults at {m:?}");
        let gaps: Vec<usize> = m.windows(2).map(|p| p[1] - p[0]).collect();
        assert_eq!(gaps[gaps.len() - 2..], [8, 8], "{side}: the window settles at 8 pages: majors at {m:?}");
    }
    assert!(
        host.len() <= model.len() + 1 && host.len() + 3 >= model.len(),
        "major faults: host {host:?}, model {model:?}"
    );
}
