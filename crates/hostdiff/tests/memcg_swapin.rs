//! Which memory cgroup a page read back from swap is charged to, on this machine's kernel
//! and on the model side by side: the group its swap slot records (the group of the task
//! that swapped it out), not the faulting task's, as `mem_cgroup_swapin_charge_folio`
//! looks the slot's record up first.
//!
//! A C child (`memcg_swapin_charge.c`) in group A writes 256 private anonymous pages and
//! puts them out on swap (out of the swap cache too), then forks; its child moves to group
//! B and reads the pages (256 swap-ins), then writes them (256 copies on write). Compared,
//! in mapped anonymous pages of memory.stat (v1 `rss`, v2 `anon`):
//! - after the reads: A holds the 256 swapped-in pages, B none;
//! - after the writes: B holds the 256 copies.
//!
//! Tolerance: on the host, A also holds the pages the forked child copied on write before
//! it left A (its stack and heap: at most 32), and B those it copies after joining (at most
//! 8); the model's processes have no pages but the mapping.
//!
//! Needs root, a memory cgroup, gcc and a swap file (made and removed here); under
//! MMSIM_REQUIRE_HOST=1 a machine without them fails the test with the reason.

use hostdiff::host_memcg::HostGroup;
use hostdiff::swapfile::HostSwap;
use mm::memcg::CgroupVersion;
use std::process::Command;

const PAGES: u64 = 256;
const PAGE: u64 = 4096;

const CHILD: &str = include_str!("memcg_swapin_charge.c");

/// The mapped anonymous pages of A and of B after each step, by step name.
type Steps = Vec<(String, u64, u64)>;

fn anon_key(v: CgroupVersion) -> &'static str {
    match v {
        CgroupVersion::V1 => "rss",
        CgroupVersion::V2 => "anon",
    }
}

fn host_run(what: &str) -> Option<(Steps, CgroupVersion)> {
    if !hostreq::need_tools(what, &["gcc", "mkswap", "swapon", "swapoff"]) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = hostdiff::cc::build_c("swapin_charge", CHILD, &[], dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let _swap = hostreq::need(what, HostSwap::new(32 << 20))?;
    let pid = std::process::id();
    let a = hostreq::need(what, HostGroup::create(&format!("mmsim-swapin-a-{pid}")))?;
    let b = hostreq::need(what, HostGroup::create(&format!("mmsim-swapin-b-{pid}")))?;
    let v = a.version;
    let out = Command::new(&bin)
        .arg(a.dir.join("cgroup.procs"))
        .arg(b.dir.join("cgroup.procs"))
        .arg(a.dir.join("memory.stat"))
        .arg(b.dir.join("memory.stat"))
        .arg(anon_key(v))
        .output()
        .unwrap();
    assert!(out.status.success(), "the child failed: {}", String::from_utf8_lossy(&out.stderr));
    let steps = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(w.len(), 3, "{l}");
            (w[0].to_string(), w[1].parse().unwrap(), w[2].parse().unwrap())
        })
        .collect();
    Some((steps, v))
}

fn model_run(v: CgroupVersion) -> Steps {
    let mut k = mm::Kernel::new(mm::Config { ram_bytes: 1 << 30, ..mm::Config::default() });
    k.set_cgroup_version(v).unwrap();
    let spec = mm::swap::SwapSpec { path: "/swapfile".into(), size: 32 << 20, priority: None, partition: false };
    k.swapon(&spec).unwrap();
    k.cgroup_mkdir("a").unwrap();
    k.cgroup_mkdir("b").unwrap();
    let p = k.spawn_empty("swapin_charge").unwrap();
    k.cgroup_attach("a", p).unwrap();
    let len = PAGES * PAGE;
    let m = k.mmap(p, 0, len, abi::PROT_READ | abi::PROT_WRITE, abi::MAP_PRIVATE | abi::MAP_ANONYMOUS, -1, 0).unwrap();
    let each = |k: &mut mm::Kernel, pid, write: bool| {
        for i in 0..PAGES {
            if write {
                k.store(pid, m + i * PAGE, &[3]).unwrap();
            } else {
                k.load(pid, m + i * PAGE, 1).unwrap();
            }
        }
        mm::invariants::check_kernel(k);
    };
    let anon = |k: &mm::Kernel, group: &str| {
        let stat = procfs::cgroup::cgroup_file(k, group, "memory.stat").unwrap();
        let key = anon_key(v);
        stat.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse::<u64>().ok()).unwrap() / PAGE
    };
    each(&mut k, p, true);
    k.madvise(p, m, len, abi::MADV_PAGEOUT).unwrap();
    each(&mut k, p, false);
    k.madvise(p, m, len, abi::MADV_PAGEOUT).unwrap();
    mm::invariants::check_kernel(&k);
    let mut steps = vec![("paged-out".to_string(), anon(&k, "a"), anon(&k, "b"))];
    let c = k.fork(p).unwrap();
    k.cgroup_attach("b", c).unwrap();
    each(&mut k, c, false);
    steps.push(("child-read".into(), anon(&k, "a"), anon(&k, "b")));
    each(&mut k, c, true);
    steps.push(("child-wrote".into(), anon(&k, "a"), anon(&k, "b")));
    steps
}

#[test]
fn a_page_read_back_from_swap_is_charged_to_the_group_that_swapped_it_out() {
    let what = "the swap-in charge test";
    let Some((host, v)) = host_run(what) else { return };
    let model = model_run(v);
    eprintln!("host  {host:?}\nmodel {model:?}");
    let names: Vec<&str> = host.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(names, ["paged-out", "child-read", "child-wrote"], "host steps");
    let (h, m) = (&host[1], &model[1]);
    assert!((PAGES..=PAGES + 32).contains(&h.1) && h.2 <= 8, "host after the reads: A {} B {}", h.1, h.2);
    assert_eq!((m.1, m.2), (PAGES, 0), "model after the reads: A, B");
    let (h, m) = (&host[2], &model[2]);
    assert!((PAGES..=PAGES + 8).contains(&h.2) && h.1 <= 32, "host after the writes: A {} B {}", h.1, h.2);
    assert_eq!((m.1, m.2), (0, PAGES), "model after the writes: A, B");
    assert!(
        host[0].1 <= 32 && model[0].1 == 0,
        "nothing mapped after the pageout: host {:?} model {:?}",
        host[0],
        model[0]
    );
}
