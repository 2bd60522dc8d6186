//! Stress: traces recorded on a real machine (tests/corpus, recorded with `env -i` so they
//! carry no environment), mutated line by line — lines deleted, repeated, swapped or moved,
//! numbers replaced by edge values, lines cut, bytes changed, pids exchanged, dump offsets
//! changed — and replayed in strict mode, going on after errors. No replay may panic (in any
//! thread: a panic hook counts them), hang, or exhaust the host; errors and mismatches are
//! what mutated traces are expected to give.
//!
//! Deterministic (a fixed seed); `MMSIM_MUTANTS=N` runs N mutants of each trace instead of
//! the default, and `MMSIM_MUTANT_SEED=S` starts elsewhere.

mod common;

use replay::{Mode, Options};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

const CORPUS: [(&str, &str); 5] = [
    ("cat", include_str!("corpus/cat.trace")),
    ("sh", include_str!("corpus/sh.trace")),
    ("threads", include_str!("corpus/threads.trace")),
    ("strict", include_str!("corpus/strict.trace")),
    // A shell making a memory cgroup whose OOM killer ends a `tail` in it.
    ("cgroup_oom", include_str!("corpus/cgroup_oom.trace")),
];

/// Values that have broken parsers and replayers: zero, page edges, the top of the user
/// address space, 2^63, 2^64 - 1, MAX_RW_COUNT, negative numbers.
const EDGES: [&str; 16] = [
    "0",
    "1",
    "4095",
    "4096",
    "65536",
    "-1",
    "0x7fffffffe000",
    "0x7ffffffff000",
    "0x7fffffffffff",
    "0xfffffffffffffff8",
    "0xffffffffffffffff",
    "18446744073709551615",
    "9223372036854775808",
    "2147479552",
    "70368744177664",
    "0x555555560000",
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

/// The spans of numbers (decimal or 0x hex) in `line`.
fn numbers(line: &str) -> Vec<(usize, usize)> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            let start = i;
            if b[i] == b'0' && b.get(i + 1) == Some(&b'x') {
                i += 2;
                while i < b.len() && b[i].is_ascii_hexdigit() {
                    i += 1;
                }
            } else {
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            out.push((start, i));
        } else {
            i += 1;
        }
    }
    out
}

/// One mutation of `lines`, at a line chosen mostly among those that are not dump lines.
fn mutate(lines: &mut Vec<String>, rng: &mut Rng) {
    if lines.is_empty() {
        return;
    }
    let calls: Vec<usize> = (0..lines.len()).filter(|&i| !lines[i].starts_with(" |")).collect();
    let i = if calls.is_empty() || rng.below(5) == 0 { rng.below(lines.len()) } else { calls[rng.below(calls.len())] };
    let other = rng.below(lines.len());
    let pid = |l: &str| l.split_whitespace().next().filter(|p| p.parse::<u32>().is_ok()).map(str::to_string);
    match rng.below(12) {
        0 => {
            lines.remove(i);
        }
        1 => {
            let copy = lines[i].clone();
            lines.insert(other, copy);
        }
        2 => lines.swap(i, other),
        3 => {
            let line = lines.remove(i);
            lines.insert(other.min(lines.len()), line);
        }
        4 | 5 => {
            let spans = numbers(&lines[i]);
            if !spans.is_empty() {
                let (s, e) = spans[rng.below(spans.len())];
                let edge = EDGES[rng.below(EDGES.len())];
                lines[i].replace_range(s..e, edge);
            }
        }
        6 => {
            let cut = rng.below(lines[i].len() + 1);
            if lines[i].is_char_boundary(cut) {
                lines[i].truncate(cut);
            }
        }
        7 => {
            let at = rng.below(lines[i].len() + 1);
            let junk = ["(", ")", "[", "]", "{", "\"", ",", " = ", "<unfinished ...>", "\\", "...", "\0", "\u{fffd}"];
            if lines[i].is_char_boundary(at) {
                lines[i].insert_str(at, junk[rng.below(junk.len())]);
            }
        }
        8 => {
            // Another task's line: take the pid of a random other line.
            if let (Some(old), Some(new)) = (pid(&lines[i]), pid(&lines[other])) {
                lines[i] = lines[i].replacen(&old, &new, 1);
            }
        }
        9 => {
            // A task's end, or a signal, anywhere.
            if let Some(p) = pid(&lines[other]) {
                let event = [
                    format!("{p} +++ exited with 0 +++"),
                    format!("{p} +++ killed by SIGKILL +++"),
                    format!("{p} --- SIGSEGV {{si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x10}} ---"),
                    format!("{p} +++ superseded by execve in pid {p} +++"),
                ];
                lines.insert(i, event[rng.below(event.len())].clone());
            }
        }
        10 => {
            // A call split in two, its end elsewhere.
            if let (Some(p), Some(open)) = (pid(&lines[i]), lines[i].find('(')) {
                let name = lines[i][..open].split_whitespace().last().unwrap_or("read").to_string();
                let (head, tail) = lines[i].split_at(open + 1);
                let (head, tail) = (format!("{head} <unfinished ...>"), format!("{p} <... {name} resumed>{tail}"));
                lines[i] = head;
                lines.insert(other.max(i + 1).min(lines.len()), tail);
            }
        }
        _ => {
            // A dump line at an edge offset, right after a call.
            let offset = ["fffffffffffffff8", "7fffffffffff", "00000", "00010", "100000000"][rng.below(5)];
            let dump = format!(" | {offset}  41 41 41 41 41 41 41 41  41 41 41 41 41 41 41 41  AAAAAAAAAAAAAAAA |");
            lines.insert((i + 1).min(lines.len()), dump);
        }
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

static PANICS: AtomicUsize = AtomicUsize::new(0);
static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

#[test]
fn mutated_traces_replay_without_panics() {
    // Count panics in every thread (the parser runs in its own), keeping the last message.
    std::panic::set_hook(Box::new(|info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut m) = LAST_PANIC.lock() {
            *m = info.to_string();
        }
    }));
    let mutants = env_u64("MMSIM_MUTANTS", 0);
    let mut rng = Rng(env_u64("MMSIM_MUTANT_SEED", 11));
    let dir = std::env::temp_dir().join(format!("mmsim-mutations-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (name, text) in CORPUS {
        // The long strict trace costs more per replay: fewer of its mutants by default.
        let count = if mutants > 0 {
            mutants
        } else if name == "strict" {
            25
        } else {
            150
        };
        let original: Vec<String> = text.lines().map(str::to_string).collect();
        for m in 0..count {
            let mut lines = original.clone();
            for _ in 0..1 + rng.below(3) {
                mutate(&mut lines, &mut rng);
            }
            let mutant = lines.join("\n") + "\n";
            let before = PANICS.load(Ordering::SeqCst);
            let cwd = Some(dir.clone());
            let text = mutant.clone();
            let caught = std::panic::catch_unwind(move || {
                common::replay_bytes(
                    text.as_bytes(),
                    Options { mode: Mode::Strict, keep_going: true, cwd, threads_unordered: false },
                )
            });
            replayed += 1;
            if caught.is_err() || PANICS.load(Ordering::SeqCst) != before {
                let path = dir.join(format!("{name}-{m}.trace"));
                std::fs::write(&path, &mutant).unwrap();
                let msg = LAST_PANIC.lock().map(|m| m.clone()).unwrap_or_default();
                failures.push(format!("{name} mutant {m} (kept as {}): {msg}", path.display()));
            }
        }
    }
    let _ = std::panic::take_hook();
    assert!(failures.is_empty(), "{} of {replayed} mutated replays panicked:\n{}", failures.len(), failures.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
}
