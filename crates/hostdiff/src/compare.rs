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
    let h: Vec<&str> = host.lines().collect();
    let m: Vec<&str> = model.lines().collect();
    let mut out = String::new();
    for l in &h {
        if !m.contains(l) {
            let _ = writeln!(out, "  - host : {l}");
        }
    }
    for l in &m {
        if !h.contains(l) {
            let _ = writeln!(out, "  + model: {l}");
        }
    }
    out
}

fn describe(o: &Outcome) -> String {
    match o {
        Outcome::Value(v) => format!("{v:#x}"),
        Outcome::Errno(e) => abi::Errno::from_raw(*e).map(|e| e.name().to_string()).unwrap_or_else(|| format!("errno {e}")),
        Outcome::Bytes(b) if b.len() <= 16 => format!("bytes {b:02x?}"),
        Outcome::Bytes(b) => format!("{} bytes starting {:02x?}", b.len(), &b[..16]),
        Outcome::Signal { signo, code, addr, done } => format!("signal {signo} code {code} at {addr:#x} after {done} bytes"),
        Outcome::Text(_) => "text".into(),
        Outcome::Done => "done".into(),
    }
}

/// Compares every step; `smaps_residency` also compares the smaps residency lines (otherwise
/// only the maps lines and VmFlags of smaps texts).
pub fn compare(script: &HostScript, host: &HostRun, model: &[Outcome]) -> Vec<Mismatch> {
    let mut out = Vec::new();
    for (i, (h, m)) in host.outcomes.iter().zip(model).enumerate() {
        let ok = match (h, m) {
            (Outcome::Text(a), Outcome::Text(b)) => normalize_text(a) == normalize_text(b),
            _ => h == m,
        };
        if !ok {
            let what = match (h, m) {
                (Outcome::Text(a), Outcome::Text(b)) => {
                    format!("{:?}: text differs\n{}", script.steps[i].op, diff_lines(&normalize_text(a), &normalize_text(b)))
                }
                _ => format!("{:?} (process {}): host {}, model {}", script.steps[i].op, script.steps[i].proc, describe(h), describe(m)),
            };
            out.push(Mismatch { step: i, what });
        }
    }
    if host.outcomes.len() != model.len() {
        out.push(Mismatch { step: model.len().min(host.outcomes.len()), what: format!("host gave {} outcomes, model {}", host.outcomes.len(), model.len()) });
    }
    out
}
