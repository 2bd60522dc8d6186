//! Stress: the example scenarios (examples/, examples/check/), mutated line by line —
//! lines deleted, repeated, swapped, cut, numbers replaced by edge values, brackets and
//! operators inserted — and run. No run may panic, overflow the stack, hang or exhaust the
//! host; a script error (with its line and column) or failed expects are what mutated
//! scenarios are expected to give.
//!
//! Deterministic (a fixed seed); `MMSIM_MUTANTS=N` runs N mutants of each example instead
//! of the default, and `MMSIM_MUTANT_SEED=S` starts elsewhere.

use script::{run_source, Options, Transcript};
use std::path::Path;

/// Values that have broken the model and the interpreter: zero, page edges, the top of the
/// user address space, 2^63, 2^64 - 1, huge sizes.
const EDGES: [&str; 14] = [
    "0",
    "1",
    "4095",
    "4K",
    "-1",
    "0x7ffffffff000",
    "0x7fffffffffff",
    "0xffffffffffffffff",
    "18446744073709551615",
    "9223372036854775808",
    "1G",
    "64G",
    "0x1000",
    "-4096",
];

/// splitmix64: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The spans of numbers (with an optional size suffix) in `line`.
fn numbers(line: &str) -> Vec<(usize, usize)> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric()) {
                i += 1;
            }
            out.push((start, i));
        } else {
            i += 1;
        }
    }
    out
}

fn mutate(lines: &mut Vec<String>, rng: &mut Rng) {
    if lines.is_empty() {
        return;
    }
    let i = rng.below(lines.len());
    let other = rng.below(lines.len());
    match rng.below(8) {
        0 => {
            lines.remove(i);
        }
        1 => {
            let copy = lines[i].clone();
            lines.insert(other, copy);
        }
        2 => lines.swap(i, other),
        3 | 4 => {
            let spans = numbers(&lines[i]);
            if !spans.is_empty() {
                let (s, e) = spans[rng.below(spans.len())];
                lines[i].replace_range(s..e, EDGES[rng.below(EDGES.len())]);
            }
        }
        5 => {
            let cut = rng.below(lines[i].len() + 1);
            if lines[i].is_char_boundary(cut) {
                lines[i].truncate(cut);
            }
        }
        6 => {
            let at = rng.below(lines[i].len() + 1);
            let junk = ["(", ")", "-", "~", "+", "|", ",", "\"", "*", "/", " 0", "x", "\u{e9}", "#", "= "];
            if lines[i].is_char_boundary(at) {
                lines[i].insert_str(at, junk[rng.below(junk.len())]);
            }
        }
        _ => {
            // Another statement of the same script, with a number at an edge.
            let mut copy = lines[other].clone();
            let spans = numbers(&copy);
            if let Some(&(s, e)) = spans.get(rng.below(spans.len().max(1))) {
                copy.replace_range(s..e, EDGES[rng.below(EDGES.len())]);
            }
            lines.insert(i, copy);
        }
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[test]
fn mutated_examples_run_without_panics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut examples = Vec::new();
    for dir in [root.clone(), root.join("check")] {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "mm") {
                examples.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    examples.sort();
    assert!(examples.len() >= 8, "the examples are there");
    let mutants = env_u64("MMSIM_MUTANTS", 60);
    let mut rng = Rng(env_u64("MMSIM_MUTANT_SEED", 7));
    let mut failures = Vec::new();
    let mut ran = 0;
    for (name, text) in &examples {
        let original: Vec<String> = text.lines().map(str::to_string).collect();
        for m in 0..mutants {
            let mut lines = original.clone();
            for _ in 0..1 + rng.below(3) {
                mutate(&mut lines, &mut rng);
            }
            let mutant = lines.join("\n") + "\n";
            let src = mutant.clone();
            let caught = std::panic::catch_unwind(move || {
                let mut out = Transcript::default();
                let _ = run_source(&src, Options { paranoid: true }, &mut out);
            });
            ran += 1;
            if let Err(e) = caught {
                let what =
                    e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()));
                failures.push(format!("{name} mutant {m}: {}\n{mutant}", what.unwrap_or_default()));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {ran} mutated scenarios panicked:\n{}", failures.len(), failures.join("\n"));
}
