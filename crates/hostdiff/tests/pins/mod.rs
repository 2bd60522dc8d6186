//! Pinned outcomes of the curated scripts: what Linux gives, written down, so that a
//! curated test checks the host *and* the model against known values, not only against each
//! other (a changed host cannot make both agree on something wrong).
//!
//! Each step's outcome is summarized in a form that holds on any x86-64 machine: errno
//! names, plain values, addresses relative to an earlier result (`#3+2p`: step 3's address
//! plus two pages; `brk0`: the initial break), byte runs (`00*4095 01`), masked pagemap
//! entries (flag bits), signals, and for maps and smaps texts the script's own mappings
//! (relative start, size, permissions, file, residency fields and Referenced, VmFlags). The texts (also
//! status, whose VmLck after mlockall counts the harness's own pages) are compared in full
//! between host and model.
//!
//! The pins live in `curated.pins`, one block per script (`== NAME`, then a line per step).
//! A script without a block, or with a different outcome, fails with the block it got;
//! `MMSIM_PIN_PRINT=FILE` appends every block the host gives to FILE, to write new ones
//! from the host's (after checking them).

use hostdiff::compare::mask_pagemap;
use hostdiff::{HostInit, HostScript, Op, Outcome};
use std::collections::HashMap;
use std::fmt::Write;

const PAGE: u64 = 4096;

/// The pinned blocks, by script name.
pub fn pinned() -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let mut current: Option<String> = None;
    for line in include_str!("../curated.pins").lines() {
        if let Some(name) = line.strip_prefix("== ") {
            current = Some(name.to_string());
            out.entry(name.to_string()).or_default();
        } else if let Some(name) = &current {
            if !line.trim().is_empty() {
                out.get_mut(name).expect("inserted above").push(line.to_string());
            }
        }
    }
    out
}

/// One line per step (the continuation lines of a text start with spaces).
pub fn summarize(script: &HostScript, init: &HostInit, outcomes: &[Outcome]) -> Vec<String> {
    let mut bases: Vec<(String, u64)> = vec![("brk0".into(), init.start_brk)];
    let init_ranges: Vec<(u64, u64)> =
        init.maps.lines().filter_map(hostdiff::model::parse_maps_line).map(|p| (p.start, p.end)).collect();
    let mut lines = Vec::new();
    for (i, (step, o)) in script.steps.iter().zip(outcomes).enumerate() {
        let op = format!("{:?}", step.op);
        let op = op.split([' ', '{', '(']).next().unwrap_or("").to_string();
        let rel = |v: u64| relative(&bases, v);
        let text = match o {
            Outcome::Value(v) if is_placing(&step.op) && *v >= 0x10000 => rel(*v),
            Outcome::Value(v) => v.to_string(),
            Outcome::Errno(e) => abi::Errno::from_raw(*e).map_or_else(|| format!("errno {e}"), |e| e.name().into()),
            // Whether PFNs are shown at all depends on privilege, not on the kernel.
            Outcome::Bytes(b) if matches!(step.op, Op::Pagemap { .. }) => {
                let flags: Vec<u64> = mask_pagemap(b).iter().map(|e| e & !1).collect();
                runs(&flags, |e| format!("{e:x}"), usize::MAX)
            }
            Outcome::Bytes(b) => runs(b, |x| format!("{x:02x}"), 8).replace("too many", &fnv_text(b)),
            Outcome::Signal { signo, code, addr, done } => {
                let name = match signo {
                    7 => "SIGBUS".to_string(),
                    11 => "SIGSEGV".to_string(),
                    n => format!("signal {n}"),
                };
                format!("{name} code {code} at {} after {done}", rel(*addr))
            }
            Outcome::Text(t) => match step.op {
                Op::Maps | Op::Smaps => mappings(t, &init_ranges, init, &bases),
                _ => "text".into(),
            },
            Outcome::Done => "done".into(),
            Outcome::Killed { signo } => format!("killed by signal {signo}"),
            Outcome::Gone => "gone".into(),
        };
        if let (Outcome::Value(v), true) = (o, is_placing(&step.op)) {
            if *v >= 0x10000 {
                bases.push((format!("#{i}"), *v));
            }
        }
        lines.push(format!("{i} p{} {op}: {text}", step.proc));
    }
    lines
}

fn is_placing(op: &Op) -> bool {
    matches!(op, Op::Mmap { .. } | Op::Mremap { .. } | Op::Brk { .. })
}

/// `v` as the nearest base plus a distance (pages when aligned), or `addr` when no base is
/// within 1 TiB.
fn relative(bases: &[(String, u64)], v: u64) -> String {
    // Below the 64 KiB hint floor only a fixed address lands: shown as it is, not against a
    // base whose distance depends on the size of the host child's own binary.
    if v < 0x10000 {
        return format!("{v:#x}");
    }
    let Some((name, base)) = bases.iter().rev().min_by_key(|(_, b)| b.abs_diff(v)) else { return "addr".into() };
    let d = v.abs_diff(*base);
    if d > 1 << 40 {
        return "addr".into();
    }
    let sign = if v >= *base { '+' } else { '-' };
    match d {
        0 => name.clone(),
        _ if d % PAGE == 0 => format!("{name}{sign}{}p", d / PAGE),
        _ => format!("{name}{sign}{d:#x}"),
    }
}

/// Runs of equal items, `x*n` (or `x` alone), or "too many" past `max` runs.
fn runs<T: PartialEq + Copy>(items: &[T], show: impl Fn(T) -> String, max: usize) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < items.len() {
        let n = items[i..].iter().take_while(|&&x| x == items[i]).count();
        out.push(if n == 1 { show(items[i]) } else { format!("{}*{n}", show(items[i])) });
        if out.len() > max {
            return "too many".into();
        }
        i += n;
    }
    if out.is_empty() {
        "none".into()
    } else {
        out.join(" ")
    }
}

fn fnv_text(b: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in b {
        h = (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3);
    }
    format!("{} bytes fnv {h:016x}", b.len())
}

fn squash(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The script's own mappings of a maps or smaps text, one continuation line each.
fn mappings(text: &str, init_ranges: &[(u64, u64)], init: &HostInit, bases: &[(String, u64)]) -> String {
    const FIELDS: [&str; 10] = [
        "Rss:",
        "Shared_Clean:",
        "Shared_Dirty:",
        "Private_Clean:",
        "Private_Dirty:",
        "Anonymous:",
        "Swap:",
        "Referenced:",
        "Locked:",
        "VmFlags:",
    ];
    let mut out = String::from("mappings");
    let mut inherited = false;
    for line in text.lines() {
        if let Some(m) = hostdiff::model::parse_maps_line(line).filter(|_| !line.contains(": ")) {
            inherited = init_ranges.iter().any(|&(a, b)| m.start < b && a < m.end);
            if inherited {
                continue;
            }
            let name = match init.files.iter().position(|f| f.path == m.name) {
                Some(i) => format!(" file{i}@{}p", m.offset / PAGE),
                None if m.name.is_empty() => String::new(),
                None if m.name.ends_with("/dev/zero (deleted)") => " shmem".into(),
                None => format!(" {}", m.name),
            };
            let _ = write!(out, "\n    {} {}p {}{name}", relative(bases, m.start), (m.end - m.start) / PAGE, m.perms);
        } else if !inherited {
            if let Some(f) = FIELDS.iter().find(|f| line.starts_with(**f)) {
                let v = squash(&line[f.len()..]);
                if v != "0 kB" {
                    let _ = write!(
                        out,
                        " {}{}",
                        f.trim_end_matches(':'),
                        if *f == "VmFlags:" { format!("=[{v}]") } else { format!("={}", v.trim_end_matches(" kB")) }
                    );
                }
            }
        }
    }
    out
}

/// Checks `got` (of `side`) against the pinned block of `name`.
pub fn check(name: &str, side: &str, got: &[String]) -> Result<(), String> {
    let pins = pinned();
    let block = || format!("== {name}\n{}", got.join("\n"));
    let Some(want) = pins.get(name) else {
        return Err(format!(
            "{name}: no pinned outcomes in tests/curated.pins; the {side} gave (check them, then add them):\n{}",
            block()
        ));
    };
    let got_lines: Vec<&str> = got.iter().flat_map(|l| l.lines()).collect();
    let want_lines: Vec<&str> = want.iter().map(String::as_str).collect();
    if got_lines == want_lines {
        return Ok(());
    }
    let mut diff = String::new();
    let n = got_lines.len().max(want_lines.len());
    for i in 0..n {
        let (w, g) = (want_lines.get(i).copied().unwrap_or("(none)"), got_lines.get(i).copied().unwrap_or("(none)"));
        if w != g {
            let _ = writeln!(diff, "  pinned: {w}\n  {side:>6}: {g}");
        }
    }
    Err(format!("{name}: the {side} differs from the pinned outcomes:\n{diff}whole block of the {side}:\n{}", block()))
}
