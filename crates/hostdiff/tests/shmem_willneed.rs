//! MADV_WILLNEED over shmem whose pages are out on swap and out of the swap cache, on this
//! machine's kernel and on the model: the pages of the range are read from the device into
//! the swap cache (mincore shows them, pswpin counts them), not mapped, and the reads that
//! follow are minor faults.
//!
//! A C child (`shmem_willneed.c`) in a memory cgroup puts six pages of a shared anonymous
//! mapping out with MADV_PAGEOUT and empties its group (v1 `memory.force_empty`, v2
//! `memory.reclaim`) so that the written pages leave the swap cache; then MADV_WILLNEED
//! over pages 1 to 3, and reads of them. Compared at each step: the six pages' mincore
//! residency (exactly), this process's major faults (exactly), and the machine's pswpin
//! growth (the host's counts every process's swap-ins: at least the model's, at most 8
//! more). Emptying a group is best effort on the host: a run where a page stayed in the
//! swap cache is run again, up to five times.
//!
//! Needs root, a memory cgroup, gcc and a swap file (made and removed here); under
//! MMSIM_REQUIRE_HOST=1 a machine without them fails the test with the reason.

use hostdiff::host_memcg::HostGroup;
use hostdiff::swapfile::HostSwap;
use mm::memcg::CgroupVersion;
use std::process::Command;

const CHILD: &str = include_str!("shmem_willneed.c");
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

fn host_run(what: &str) -> Option<(Steps, CgroupVersion)> {
    if !hostreq::need_tools(what, &["gcc", "mkswap", "swapon", "swapoff"]) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("shmem_willneed.c");
    std::fs::write(&src, CHILD).unwrap();
    let bin = dir.path().join("shmem_willneed");
    let cc = Command::new("gcc").args(["-O1", "-o"]).arg(&bin).arg(&src).output().unwrap();
    assert!(cc.status.success(), "gcc: {}", String::from_utf8_lossy(&cc.stderr));
    let _swap = hostreq::need(what, HostSwap::new(32 << 20))?;
    let mut last = None;
    for attempt in 0..5 {
        let g = hostreq::need(what, HostGroup::create(&format!("mmsim-willneed-{}-{attempt}", std::process::id())))?;
        let (file, value) = emptier(g.version);
        let out = Command::new(&bin).arg(g.dir.join("cgroup.procs")).arg(g.dir.join(file)).arg(value).output().unwrap();
        assert!(out.status.success(), "the child failed: {}", String::from_utf8_lossy(&out.stderr));
        let steps = parse(&String::from_utf8_lossy(&out.stdout));
        let emptied = steps.first().is_some_and(|s| s.1 == "000000");
        last = Some((steps, g.version));
        if emptied {
            break;
        }
        eprintln!("{what}: the group kept a page in the swap cache; running again");
    }
    last
}

fn model_run(v: CgroupVersion) -> Steps {
    let mut k = mm::Kernel::new(mm::Config { ram_bytes: 1 << 30, paranoid: true, ..mm::Config::default() });
    k.set_cgroup_version(v).unwrap();
    let spec = mm::swap::SwapSpec { path: "/swapfile".into(), size: 32 << 20, priority: None, partition: false };
    k.swapon(&spec).unwrap();
    k.cgroup_mkdir("g").unwrap();
    let p = k.spawn_empty("shmem_willneed").unwrap();
    k.cgroup_attach("g", p).unwrap();
    let rw = abi::PROT_READ | abi::PROT_WRITE;
    let a = k.mmap(p, 0, 6 * PAGE, rw, abi::MAP_SHARED | abi::MAP_ANONYMOUS, -1, 0).unwrap();
    for i in 0..6 {
        k.store(p, a + i * PAGE, &[0x50 + i as u8; 8]).unwrap();
    }
    k.madvise(p, a, 6 * PAGE, abi::MADV_PAGEOUT).unwrap();
    let (file, value) = emptier(v);
    // memory.reclaim answers EAGAIN when it frees less than asked, as on the host.
    let _ = k.cgroup_write(p, "g", file, value);
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
    let Some((host, v)) = host_run(what) else { return };
    let model = model_run(v);
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
