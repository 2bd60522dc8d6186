//! Memory cgroup steps in a host script (what `mmsim check` runs for a scenario's `mkdir`,
//! `echo` and `cat` of cgroup files), on this machine's kernel and on the model side by
//! side: a forked child joins a group limited to 8 MiB and writes 32 MiB, and the OOM killer
//! ends it in that step on both; its later steps are not run; its parent reads the group's
//! files and removes it. Compared as `compare` does it (docs/check.md): the kill and the
//! steps after it exactly, the limit and the OOM counts exactly, the usage within the
//! documented tolerance.

use abi::*;
use hostdiff::host_memcg::machine_version;
use hostdiff::{Addr, Fd, HostScript, Op, Outcome};
use mm::memcg::CgroupVersion;

const LIMIT: u64 = 8 << 20;
const NAME: &str = "memory cgroup steps";

/// This machine's memory cgroup interface, when host runs and groups can be had (a failure
/// under MMSIM_REQUIRE_HOST=1 otherwise).
fn host_version() -> Option<CgroupVersion> {
    hostreq::need(NAME, hostdiff::support())?;
    hostreq::need(NAME, machine_version().ok_or_else(|| "no memory cgroup controller on this machine".to_string()))
}

/// A script with one group, "box", limited to [`LIMIT`] with no swap where the kernel lets
/// that be said (the host may have swap on); returns it and the group.
fn limited_box(version: CgroupVersion) -> (HostScript, usize) {
    let mut s = HostScript::new();
    hostdiff::gen::push_harness_guard(&mut s);
    s.memcg_version = Some(version);
    let g = s.add_memcg("box");
    let mut write = |file: &str, value: String| s.push(0, Op::CgroupWrite { group: g, file: file.into(), value });
    match version {
        CgroupVersion::V2 => {
            write("memory.max", LIMIT.to_string());
            if std::path::Path::new("/sys/fs/cgroup/memory.swap.current").exists() {
                write("memory.swap.max", "0".into());
            }
        }
        CgroupVersion::V1 => {
            write("memory.limit_in_bytes", LIMIT.to_string());
            if std::path::Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists() {
                write("memory.memsw.limit_in_bytes", LIMIT.to_string());
            }
        }
    }
    (s, g)
}

/// An anonymous private read-write mapping of `len` bytes.
fn anon(len: u64) -> Op {
    Op::Mmap {
        addr: Addr::Abs(0),
        len,
        prot: PROT_READ | PROT_WRITE,
        flags: MAP_PRIVATE | MAP_ANONYMOUS,
        fd: Fd::None,
        offset: 0,
    }
}

fn script(version: CgroupVersion) -> HostScript {
    let (mut s, g) = limited_box(version);
    let read =
        |s: &mut HostScript, proc: usize, file: &str| s.push(proc, Op::CgroupRead { group: g, file: file.into() });
    let (limit, events, peak) = match version {
        CgroupVersion::V2 => ("memory.max", "memory.events", "memory.peak"),
        CgroupVersion::V1 => ("memory.limit_in_bytes", "memory.oom_control", "memory.max_usage_in_bytes"),
    };
    read(&mut s, 0, limit);
    s.push(0, Op::Fork);
    s.push(1, Op::CgroupWrite { group: g, file: "cgroup.procs".into(), value: "0".into() });
    read(&mut s, 0, "cgroup.procs");
    let m = s.push(1, anon(32 << 20));
    s.push(1, Op::Store { addr: Addr::Result { op: m, offset: 0 }, len: 32 << 20, byte: 0x5a });
    s.push(1, Op::Maps);
    s.push(1, Op::Fork);
    read(&mut s, 0, events);
    read(&mut s, 0, peak);
    read(&mut s, 0, "cgroup.procs");
    s.push(0, Op::CgroupRmdir { group: g });
    s.push(0, Op::Maps);
    s
}

/// Runs `s` on the host (`None` when the host cannot, under the rules of `hostreq`) and on
/// the model, and fails on any difference; returns the host's run.
fn matches_the_host(s: &HostScript) -> Option<hostdiff::HostRun> {
    let host = match hostdiff::run_on_host(s) {
        Ok(h) => h,
        Err(hostdiff::HostError::Unsupported(why)) => return hostreq::need(NAME, Err(why)),
        Err(e) => panic!("host run failed: {e}"),
    };
    let model = hostdiff::model::run_on_model(s, &host.init).expect("model run");
    let mismatches = hostdiff::compare::compare(s, &host, &model);
    let report: Vec<String> = mismatches.iter().map(|m| format!("step {}: {}", m.step, m.what)).collect();
    assert!(report.is_empty(), "{} mismatches:\n{}", report.len(), report.join("\n"));
    Some(host)
}

#[test]
fn an_oom_kill_in_a_limited_group_matches_the_host() {
    let Some(version) = host_version() else { return };
    let s = script(version);
    let Some(host) = matches_the_host(&s) else { return };
    let store = s.steps.iter().position(|st| matches!(st.op, Op::Store { .. })).unwrap();
    assert_eq!(host.outcomes[store], Outcome::Killed { signo: 9 }, "the host's child was not OOM-killed in its store");
    assert_eq!(host.outcomes[store + 1], Outcome::Gone);
    assert_eq!(host.outcomes[store + 2], Outcome::Gone);
}

/// The OOM killer's victim is not the process whose step runs (the child holds more than its
/// parent, whose allocation goes over the limit): the moment of that kill is the kernel's,
/// not the script's, so the host run ends with an error that says so.
#[test]
fn a_kill_outside_the_victims_turn_ends_the_host_run_with_a_reason() {
    let Some(version) = host_version() else { return };
    let (mut s, g) = limited_box(version);
    s.push(0, Op::Fork);
    for p in [0, 1] {
        s.push(p, Op::CgroupWrite { group: g, file: "cgroup.procs".into(), value: "0".into() });
    }
    let big = s.push(1, anon(6 << 20));
    s.push(1, Op::Store { addr: Addr::Result { op: big, offset: 0 }, len: 6 << 20, byte: 1 });
    let more = s.push(0, anon(4 << 20));
    s.push(0, Op::Store { addr: Addr::Result { op: more, offset: 0 }, len: 4 << 20, byte: 2 });
    match hostdiff::run_on_host(&s) {
        Err(hostdiff::HostError::Child { stderr, .. }) => {
            assert!(stderr.contains("while another process ran its step"), "{stderr}")
        }
        Err(hostdiff::HostError::Unsupported(why)) => hostreq::need::<()>(NAME, Err(why)).unwrap_or(()),
        other => panic!("the host run should have ended at the kill of the child: {other:?}"),
    }
}

/// The words each interface takes for "no limit" (v1 `-1` only, v2 `max` only), v1's
/// reset files (a write of anything restarts `memory.max_usage_in_bytes` from the current
/// usage, `memory.failcnt` from 0) and its settings at their defaults, against the host.
#[test]
fn limit_words_and_v1_resets_match_the_host() {
    let Some(version) = host_version() else { return };
    let mut s = HostScript::new();
    hostdiff::gen::push_harness_guard(&mut s);
    s.memcg_version = Some(version);
    let g = s.add_memcg("box");
    let write = |s: &mut HostScript, proc: usize, file: &str, value: &str| {
        s.push(proc, Op::CgroupWrite { group: g, file: file.into(), value: value.into() })
    };
    let read = |s: &mut HostScript, file: &str| s.push(0, Op::CgroupRead { group: g, file: file.into() });
    let (limit, peak) = match version {
        CgroupVersion::V2 => ("memory.max", "memory.peak"),
        CgroupVersion::V1 => ("memory.limit_in_bytes", "memory.max_usage_in_bytes"),
    };
    for word in ["16M", "max", "-1", "12582912", "max", "-1"] {
        write(&mut s, 0, limit, word);
        read(&mut s, limit);
    }
    s.push(0, Op::Fork);
    write(&mut s, 1, "cgroup.procs", "0");
    let m = s.push(1, anon(4 << 20));
    s.push(1, Op::Store { addr: Addr::Result { op: m, offset: 0 }, len: 4 << 20, byte: 3 });
    s.push(1, Op::Munmap { addr: Addr::Result { op: m, offset: 0 }, len: 4 << 20 });
    read(&mut s, peak);
    if version == CgroupVersion::V1 {
        write(&mut s, 0, "memory.max_usage_in_bytes", "0");
        read(&mut s, peak);
        write(&mut s, 0, "memory.failcnt", "0");
        read(&mut s, "memory.failcnt");
        for file in [
            "memory.numa_stat",
            "memory.soft_limit_in_bytes",
            "memory.move_charge_at_immigrate",
            "memory.use_hierarchy",
            "memory.swappiness",
            "memory.force_empty",
            "cgroup.clone_children",
        ] {
            read(&mut s, file);
        }
    }
    s.push(1, Op::Exit);
    matches_the_host(&s);
}

/// `oom_score_adj` chooses the victim: of two processes in a limited group, the smaller
/// one, with oom_score_adj 1000, is killed in its own store. Its `oom_score`, and the
/// bigger one's attempt at -1000 (EACCES where the host lacks CAP_SYS_RESOURCE, as root in
/// a container may: the model takes the host's capabilities), compare too.
#[test]
fn oom_score_adj_chooses_the_victim_in_a_group() {
    let Some(version) = host_version() else { return };
    let (mut s, g) = limited_box(version);
    let adj = |s: &mut HostScript, proc: usize, v: &str| {
        s.push(proc, Op::ProcWrite { file: "oom_score_adj".into(), value: v.into() })
    };
    let read = |s: &mut HostScript, proc: usize, f: &str| s.push(proc, Op::ProcRead { file: f.into() });
    read(&mut s, 0, "oom_score");
    s.push(0, Op::Fork);
    s.push(1, Op::CgroupWrite { group: g, file: "cgroup.procs".into(), value: "0".into() });
    let m = s.push(1, anon(4 << 20));
    s.push(1, Op::Store { addr: Addr::Result { op: m, offset: 0 }, len: 4 << 20, byte: 1 });
    read(&mut s, 1, "oom_score");
    adj(&mut s, 1, "-1000");
    read(&mut s, 1, "oom_score_adj");
    adj(&mut s, 1, "-1001");
    s.push(1, Op::Fork);
    adj(&mut s, 2, "1000");
    read(&mut s, 2, "oom_score");
    let n = s.push(2, anon(8 << 20));
    s.push(2, Op::Store { addr: Addr::Result { op: n, offset: 0 }, len: 8 << 20, byte: 2 });
    read(&mut s, 1, "oom_score");
    s.push(0, Op::CgroupRead { group: g, file: "cgroup.procs".into() });
    s.push(1, Op::Exit);
    let Some(host) = matches_the_host(&s) else { return };
    assert!(host.outcomes.contains(&Outcome::Killed { signo: 9 }), "nothing was killed on the host");
}
