//! Comparing the host's outcomes with the model's, with a readable report.

use crate::host::{HostRun, HostScript, Outcome};
use std::fmt::Write;

/// One difference between host and model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// Step index.
    pub step: usize,
    /// Human-readable description, with a diff for text.
    pub what: String,
}

/// Makes a maps/smaps text comparable: the inode of each shared anonymous object (`/dev/zero
/// (deleted)`) is a counter of the kernel's, not something a model can know.
pub fn normalize_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if line.ends_with("/dev/zero (deleted)") {
            let mut parts: Vec<&str> = line.splitn(6, ' ').collect();
            if parts.len() == 6 {
                parts[4] = "*";
                // Keep the padding width stable by not re-padding: compare the name only.
                let name = parts[5].trim_start();
                let _ = writeln!(out, "{} {} {} {} * {}", parts[0], parts[1], parts[2], parts[3], name);
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A line diff of two texts (lines only in one side, marked `-` host and `+` model).
pub fn diff_lines(host: &str, model: &str) -> String {
    procfs::parse::diff_lines("host", host, "model", model)
}

/// A diff of two maps or smaps texts record by record: records only on one side, and for
/// records on both sides the lines that differ.
pub fn diff_records(host: &str, model: &str) -> String {
    let h = smaps_records(host);
    let m = smaps_records(model);
    let mut out = String::new();
    for hr in &h {
        match m.iter().find(|r| r[0] == hr[0]) {
            None => {
                let _ = writeln!(out, "  - host only : {}", hr[0]);
            }
            Some(mr) if mr != hr => {
                let _ = writeln!(out, "  ~ differs   : {}", hr[0]);
                for (a, b) in hr.iter().zip(mr.iter()).skip(1) {
                    if a != b {
                        let _ = writeln!(out, "      host {a:<32} model {b}");
                    }
                }
            }
            Some(_) => {}
        }
    }
    for mr in &m {
        if !h.iter().any(|r| r[0] == mr[0]) {
            let _ = writeln!(out, "  + model only: {}", mr[0]);
        }
    }
    out
}

fn describe(o: &Outcome) -> String {
    match o {
        Outcome::Value(v) => format!("{v:#x}"),
        Outcome::Errno(e) => {
            abi::Errno::from_raw(*e).map(|e| e.name().to_string()).unwrap_or_else(|| format!("errno {e}"))
        }
        Outcome::Bytes(b) if b.len() <= 16 => format!("bytes {b:02x?}"),
        Outcome::Bytes(b) => format!("{} bytes starting {:02x?}", b.len(), &b[..16]),
        Outcome::Signal { signo, code, addr, done } => {
            format!("signal {signo} code {code} at {addr:#x} after {done} bytes")
        }
        Outcome::Text(_) => "text".into(),
        Outcome::Done => "done".into(),
        Outcome::Killed { signo } => format!("killed by signal {signo}"),
        Outcome::Gone => "not run (its process was gone)".into(),
    }
}

/// Splits an smaps text into records (header line plus its field lines).
fn smaps_records(text: &str) -> Vec<Vec<&str>> {
    let mut out: Vec<Vec<&str>> = Vec::new();
    for line in text.lines() {
        let is_header = line
            .split(' ')
            .next()
            .is_some_and(|r| r.contains('-') && r.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
        if is_header || out.is_empty() {
            out.push(vec![line]);
        } else if let Some(last) = out.last_mut() {
            last.push(line);
        }
    }
    out
}

/// Makes an smaps text comparable: records of mappings that existed before the script ran
/// keep only their header and VmFlags (the model cannot know their residency).
pub fn normalize_smaps(text: &str, init_ranges: &[(u64, u64)]) -> String {
    let mut out = String::new();
    for rec in smaps_records(text) {
        let range = crate::model::parse_maps_line(rec[0]).map(|p| (p.start, p.end));
        let inherited = range.is_some_and(|(s, e)| init_ranges.iter().any(|&(a, b)| s < b && a < e));
        // A vDSO page's share is the machine's: every process that touched that page maps it
        // (one page of a run's [vdso] read Pss 0 kB, another 1 kB), so its Pss lines say
        // how many did, which no model of the script's processes can know.
        let vdso = rec[0].ends_with(" [vdso]");
        for line in rec {
            if inherited && !(line == rec_header(line) || line.starts_with("VmFlags:") || line.starts_with("Size:")) {
                continue;
            }
            if vdso && line.starts_with("Pss") {
                continue;
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    normalize_text(&out)
}

fn rec_header(line: &str) -> &str {
    if crate::model::parse_maps_line(line).is_some() && line.split(' ').next().is_some_and(|r| r.contains('-')) {
        line
    } else {
        ""
    }
}

/// Makes pagemap entries comparable: a PFN is the host's physical address, not something a
/// model can know; only whether one is shown (non-zero) is kept, with the flag bits 55-63.
/// A swap entry (bit 62 without bit 63) is kept whole: its type and slot are the model's
/// business.
pub fn mask_pagemap(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            let e = u64::from_le_bytes(b);
            if e >> 62 == 1 {
                return e;
            }
            let pfn_shown = (e & ((1 << 55) - 1) != 0) as u64;
            (e & !((1 << 55) - 1)) | pfn_shown
        })
        .collect()
}

/// Keeps the `/proc/PID/status` lines that follow from the VMAs alone (VmSize, VmLck,
/// VmPin, VmData, VmStk) and VmSwap (the harness's own pages never go to swap); the others count the harness's own resident pages or its
/// history before the script, which a model built from its VMAs cannot know.
pub fn normalize_status(text: &str) -> String {
    let keep = ["VmSize:", "VmLck:", "VmPin:", "VmData:", "VmStk:", "VmSwap:"];
    text.lines().filter(|l| keep.iter().any(|k| l.starts_with(k))).map(|l| format!("{l}\n")).collect()
}

/// Compares every step; `smaps_residency` also compares the smaps residency lines (otherwise
/// only the maps lines and VmFlags of smaps texts).
pub fn compare(script: &HostScript, host: &HostRun, model: &[Outcome]) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let init_ranges: Vec<(u64, u64)> =
        host.init.maps.lines().filter_map(crate::model::parse_maps_line).map(|p| (p.start, p.end)).collect();
    // The host child's own mappings (its program, libraries, stack): which of their pages
    // it has touched is its C library's business (a fork reads ld.so's data, say), not the
    // script's, as for smaps' residency lines. The kernel's special mappings ([vdso],
    // [vvar]) are the model's to get right and stay compared.
    let harness_ranges: Vec<(u64, u64)> = host
        .init
        .maps
        .lines()
        .filter_map(crate::model::parse_maps_line)
        .filter(|p| !(p.name.starts_with('[') && p.name != "[heap]" && p.name != "[stack]"))
        .map(|p| (p.start, p.end))
        .collect();
    let norm = |op: &crate::host::Op, t: &str| match op {
        crate::host::Op::Smaps => normalize_smaps(t, &init_ranges),
        crate::host::Op::Status => normalize_status(t),
        _ => normalize_text(t),
    };
    for (i, (h, m)) in host.outcomes.iter().zip(model).enumerate() {
        let op = &script.steps[i].op;
        let ok = match (h, m) {
            (Outcome::Text(a), Outcome::Text(b)) => match op {
                crate::host::Op::CgroupRead { file, .. } => cgroup_texts_agree(file, a, b, online_cpus()),
                crate::host::Op::ProcRead { file } if file == "oom_score" => oom_scores_agree(a, b),
                _ => norm(op, a) == norm(op, b),
            },
            (Outcome::Bytes(a), Outcome::Bytes(b)) if matches!(op, crate::host::Op::Pagemap { .. }) => {
                let first = op.addr().map_or(0, |a| resolve_on_host(host, a)) >> 12;
                let harness = |k: usize| {
                    let at = (first.wrapping_add(k as u64)) << 12;
                    harness_ranges.iter().any(|&(s, e)| s <= at && at < e)
                };
                let keep = |v: Vec<u64>| {
                    v.into_iter().enumerate().map(|(k, e)| if harness(k) { 0 } else { e }).collect::<Vec<_>>()
                };
                keep(mask_pagemap(a)) == keep(mask_pagemap(b))
            }
            _ => h == m,
        };
        if !ok {
            let what = match (h, m) {
                (Outcome::Text(a), Outcome::Text(b)) if matches!(op, crate::host::Op::CgroupRead { .. }) => {
                    format!("{op:?}: text differs\n{}", diff_lines(a, b))
                }
                (Outcome::Text(a), Outcome::Text(b)) => {
                    format!("{op:?}: text differs\n{}", diff_records(&norm(op, a), &norm(op, b)))
                }
                _ => format!(
                    "{:?} (process {}): host {}, model {}",
                    script.steps[i].op,
                    script.steps[i].proc,
                    describe(h),
                    describe(m)
                ),
            };
            out.push(Mismatch { step: i, what });
        }
    }
    if host.outcomes.len() != model.len() {
        out.push(Mismatch {
            step: model.len().min(host.outcomes.len()),
            what: format!("host gave {} outcomes, model {}", host.outcomes.len(), model.len()),
        });
    }
    out
}

/// The address `a` stands for in the host's run (an earlier step's value plus an offset).
fn resolve_on_host(host: &HostRun, a: crate::host::Addr) -> u64 {
    match a {
        crate::host::Addr::Abs(v) => v,
        crate::host::Addr::Result { op, offset } => host
            .outcomes
            .get(op)
            .and_then(|o| o.value())
            .unwrap_or(crate::host::NO_VALUE_BASE)
            .wrapping_add(offset as u64),
    }
}

/// How far `/proc/self/oom_score` may differ: the host child's own resident pages (its
/// program, stack and buffers, which the model maps without holding) count in the host's
/// badness; on a machine of 2 GiB or more they move the score by a point or two.
pub const OOM_SCORE_TOLERANCE: u64 = 2;

/// Whether two `oom_score` texts agree within [`OOM_SCORE_TOLERANCE`].
pub fn oom_scores_agree(host: &str, model: &str) -> bool {
    match (host.trim().parse::<u64>(), model.trim().parse::<u64>()) {
        (Ok(h), Ok(m)) => h.abs_diff(m) <= OOM_SCORE_TOLERANCE,
        _ => host == model,
    }
}

pub use procfs::cgroup::{texts_agree as cgroup_texts_agree, USAGE_TOLERANCE as CGROUP_USAGE_TOLERANCE};

/// How many CPUs this machine has online, where its host children ran (each may keep a
/// charge batch of a memory cgroup: [`procfs::cgroup::usage_tolerance`]).
pub fn online_cpus() -> Option<u32> {
    std::fs::read_to_string(procfs::cgroup::ONLINE_CPUS).ok().and_then(|t| procfs::cgroup::cpu_list_count(&t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{Addr, HostInit, HostScript, Op};

    /// A pagemap read over the host child's own stack and its [vdso]: the stack's pages
    /// are the child's C library's business and may differ, the vDSO's may not.
    #[test]
    fn pagemap_entries_of_the_childs_own_mappings_are_not_compared() {
        let init = HostInit {
            maps: "7ffff7ffd000-7ffff7fff000 r-xp 00000000 00:00 0 [vdso]\n\
                   7ffffffbe000-7ffffffff000 rw-p 00000000 00:00 0 [stack]\n"
                .into(),
            smaps: String::new(),
            start_brk: 0,
            brk: 0,
            start_stack: 0,
            stack_rlimit: u64::MAX,
            sync_page: 0,
            files: Vec::new(),
            swap_files: Vec::new(),
        };
        let mut script = HostScript::default();
        script.push(0, Op::Pagemap { addr: Addr::Abs(0x7ffffffbe000), pages: 1 });
        script.push(0, Op::Pagemap { addr: Addr::Abs(0x7ffff7ffd000), pages: 1 });
        let present = (1u64 << 63 | 0x1234).to_le_bytes().to_vec();
        let absent = vec![0u8; 8];
        let host = HostRun { init, outcomes: vec![Outcome::Bytes(present.clone()), Outcome::Bytes(present)] };
        let model = [Outcome::Bytes(absent.clone()), Outcome::Bytes(absent)];
        let found = compare(&script, &host, &model);
        assert_eq!(found.iter().map(|m| m.step).collect::<Vec<_>>(), [1], "{found:?}");
    }
}
