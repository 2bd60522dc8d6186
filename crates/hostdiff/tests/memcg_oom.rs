//! The memory cgroup OOM kill, on this machine's kernel and on the model side by side.
//!
//! A C child joins a fresh memory cgroup (v2 `memory.max` with `memory.swap.max` 0, or v1
//! `memory.limit_in_bytes` with the same `memory.memsw.limit_in_bytes`) of 16 MiB and
//! writes 64 MiB of anonymous memory. Linux kills it; so does the model. Compared:
//! - exactly: the wait status (SIGKILL), the group's `oom_kill` count (1), its peak usage
//!   (the limit), and the prefix and field names of the kernel log's kill line;
//! - within a documented tolerance: the victim's anon-rss at the kill, within 256 KiB of
//!   each other. The host charges the group only from the moment the child joins it and
//!   counts kernel memory (page tables and more) in it; the model charges page tables and
//!   nothing else of the kernel's.
//!
//! The group is removed at the end, also when the test fails.

use hostdiff::host_memcg::{self, HostGroup};
use mm::memcg::CgroupVersion;
use std::process::{Command, Stdio};

const LIMIT: u64 = 16 << 20;
const TOUCH_MIB: u64 = 64;

/// Makes the group and limits it to [`LIMIT`] with no swap allowed.
fn limited_group(name: &str) -> Result<HostGroup, String> {
    let g = HostGroup::create(name)?;
    let limit = LIMIT.to_string();
    match g.version {
        CgroupVersion::V2 => {
            g.write("memory.max", &limit)?;
            if g.has("memory.swap.max") {
                g.write("memory.swap.max", "0")?;
            }
        }
        CgroupVersion::V1 => {
            g.write("memory.limit_in_bytes", &limit)?;
            if g.has("memory.memsw.limit_in_bytes") {
                g.write("memory.memsw.limit_in_bytes", &limit)?;
            } else if swap_total_kb() > 0 {
                return Err("swap is on and this v1 kernel has no memory+swap limit".into());
            }
        }
    }
    Ok(g)
}

fn swap_total_kb() -> u64 {
    let m = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    m.lines().find_map(|l| l.strip_prefix("SwapTotal:")?.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

/// The shape of a kill line: the text after `Killed process PID (COMM) ` with every number
/// replaced by `N`, so that the field names and their order compare.
fn shape(line: &str) -> String {
    let rest = line.split_once(") ").map_or(line, |(_, r)| r);
    let mut out = String::new();
    let mut in_num = false;
    for c in rest.chars() {
        if c.is_ascii_digit() {
            if !in_num {
                out.push('N');
            }
            in_num = true;
        } else {
            in_num = false;
            out.push(c);
        }
    }
    out
}

fn field_kb(line: &str, field: &str) -> u64 {
    let at = line.find(field).unwrap_or_else(|| panic!("no {field} in {line}"));
    let digits: String = line[at + field.len()..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().unwrap()
}

/// What the model does with the same scenario: (wait status, oom_kill, peak bytes, kill line).
fn model_run(group: &str, v: CgroupVersion) -> (i32, u64, u64, String) {
    let mut k = mm::Kernel::new(mm::Config { ram_bytes: 1 << 30, ..mm::Config::default() });
    k.set_cgroup_version(v).unwrap();
    k.cgroup_mkdir(group).unwrap();
    let p = k.spawn_empty(host_memcg::CHILD_COMM).unwrap();
    let v2 = v == CgroupVersion::V2;
    let (max_file, value) =
        if v2 { ("memory.max", LIMIT.to_string()) } else { ("memory.limit_in_bytes", LIMIT.to_string()) };
    k.cgroup_write(p, group, max_file, &value).unwrap();
    k.cgroup_attach(group, p).unwrap();
    let len = TOUCH_MIB << 20;
    let a = k.mmap(p, 0, len, abi::PROT_READ | abi::PROT_WRITE, abi::MAP_PRIVATE | abi::MAP_ANONYMOUS, -1, 0).unwrap();
    let mut killed = false;
    for off in (0..len).step_by(4096) {
        if k.store(p, a + off, &[1]) == Err(mm::Signal::Kill) {
            killed = true;
            break;
        }
    }
    assert!(killed, "the model let the child write {TOUCH_MIB} MiB in a 16 MiB group");
    let status = k.task(p).unwrap().wait_status().unwrap();
    let g = k.memcg_lookup(group).unwrap();
    let m = k.machine().frames.memcgs.get(g).unwrap();
    let line = k.machine().kmsg.iter().find(|l| l.contains("Killed process")).unwrap().clone();
    mm::invariants::check_kernel(&k);
    (status, m.events.oom_kill, m.watermark << 12, line)
}

#[test]
fn a_child_over_its_memory_cgroup_limit_is_killed_as_the_model_kills_it() {
    if !hostreq::need_tools("the memory cgroup OOM test", &["gcc", "dmesg"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = host_memcg::build_child(dir.path()).expect("building the child");
    let name = format!("mmsim-oom-test-{}", std::process::id());
    let Some(group) = hostreq::need("the memory cgroup OOM test", limited_group(&name)) else { return };
    let status = Command::new(&bin)
        .arg(group.dir.join("cgroup.procs"))
        .arg(TOUCH_MIB.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    let host_status = status.into_raw();
    let v = group.version;
    let (oom_file, peak_file) = if v == CgroupVersion::V2 {
        ("memory.events", "memory.peak")
    } else {
        ("memory.oom_control", "memory.max_usage_in_bytes")
    };
    let host_kills = group.key(oom_file, "oom_kill").expect("an oom_kill count");
    let host_peak: Option<u64> = group.read(peak_file).trim().parse().ok();
    let log = Command::new("dmesg").output().unwrap();
    let log = String::from_utf8_lossy(&log.stdout);
    let host_line = log
        .lines()
        .rev()
        .find(|l| l.contains("Killed process") && l.contains(&format!("({})", host_memcg::CHILD_COMM)))
        .map(|l| l.split_once("] ").map_or(l, |(_, r)| r).to_string());
    drop(group);

    let (model_status, model_kills, model_peak, model_line) = model_run(&name, v);
    assert_eq!(host_status, 9, "the host child was not SIGKILLed (status {host_status:#x})");
    assert_eq!(model_status, host_status, "wait status");
    assert_eq!((host_kills, model_kills), (1, 1), "oom_kill counts");
    if let Some(peak) = host_peak {
        assert_eq!(peak, LIMIT, "host peak usage");
    }
    assert_eq!(model_peak, LIMIT, "model peak usage");
    let host_line = host_line.expect("the host's kernel log has no kill line for the child (dmesg restricted?)");
    let prefix = "Memory cgroup out of memory: Killed process ";
    assert!(host_line.starts_with(prefix), "{host_line}");
    assert!(model_line.starts_with(prefix), "{model_line}");
    assert_eq!(shape(&model_line), shape(&host_line), "kill line fields:\n host  {host_line}\n model {model_line}");
    let (h, m) = (field_kb(&host_line, "anon-rss:"), field_kb(&model_line, "anon-rss:"));
    assert!(h.abs_diff(m) <= 256, "anon-rss at the kill: host {h} kB, model {m} kB");
}
