//! A short fuzz run that needs no AFL, for every CI run: each target's harness over
//! deterministic mutations of its corpus (a fixed seed, so a failure names an input that
//! can be made again). The mutations are the ones a fuzzer starts with: bit flips,
//! interesting bytes, deletions, duplications, words of the input language from the AFL
//! dictionaries, splices of two corpus files, and numbers replaced by edge values. Every
//! mutant must run without a panic and within the time bound; a failing one is written to
//! the test's temporary directory and named in the failure.
//!
//! `MMSIM_FUZZ_SMOKE=N` runs N mutants of the scenario and call targets and 4N of the replay
//! target (default 1,000: about 25 s in all on a loaded 2-core machine); `MMSIM_FUZZ_SEED`
//! changes the seed. The slowest mutant of each target is kept beside the failures.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// xorshift64*: a small generator with a fixed sequence for a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Bytes that break parsers: separators of both languages, ends of lines, sign bits.
const INTERESTING: &[u8] = b"\0\n\r\t ()[]{},=\"\\|<>-+*/#0x7f\x80\xff";

/// Numbers that break arithmetic on addresses, lengths and counts.
const EDGES: &[&str] = &[
    "0",
    "1",
    "-1",
    "4095",
    "4096",
    "0x1000",
    "0x7fffffffffff",
    "0x7ffffffff000",
    "0x800000000000",
    "0xfffffffffffff000",
    "0xffffffffffffffff",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775808",
    "2147479552",
    "99999999999999999999999",
];

/// Longest mutant: inputs beyond this say nothing the shorter ones do not.
const MAX_LEN: usize = 1 << 16;

/// The words of an AFL dictionary (`"word"` lines, with `\xNN`, `\"` and `\\` escapes).
fn dictionary(path: &Path) -> Vec<Vec<u8>> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    let mut words = Vec::new();
    for line in text.lines() {
        let (Some(open), Some(close)) = (line.find('"'), line.rfind('"')) else { continue };
        if close <= open {
            continue;
        }
        let body = &line.as_bytes()[open + 1..close];
        let mut word = Vec::new();
        let mut i = 0;
        while i < body.len() {
            match (body[i], body.get(i + 1)) {
                (b'\\', Some(b'x')) if i + 3 < body.len() + 1 => {
                    let hex = std::str::from_utf8(&body[i + 2..(i + 4).min(body.len())]).unwrap_or("");
                    word.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                    i += 4;
                }
                (b'\\', Some(&c)) => {
                    word.push(c);
                    i += 2;
                }
                (c, _) => {
                    word.push(c);
                    i += 1;
                }
            }
        }
        words.push(word);
    }
    words
}

/// The spans of decimal and hexadecimal numbers in `data`.
fn numbers(data: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < data.len() {
        if data[i].is_ascii_digit() {
            let start = i;
            i += 1;
            if data[start] == b'0' && data.get(i) == Some(&b'x') {
                i += 1;
            }
            while i < data.len() && data[i].is_ascii_hexdigit() {
                i += 1;
            }
            spans.push((start, i));
        } else {
            i += 1;
        }
    }
    spans
}

/// One mutation of `data` (never longer than [`MAX_LEN`]).
fn mutate(data: &mut Vec<u8>, rng: &mut Rng, words: &[Vec<u8>], others: &[Vec<u8>]) {
    let len = data.len();
    match rng.below(8) {
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = INTERESTING[rng.below(INTERESTING.len())];
        }
        2 if len > 0 => {
            let i = rng.below(len);
            let n = (1 + rng.below(16)).min(len - i);
            data.drain(i..i + n);
        }
        3 if len > 0 => {
            let i = rng.below(len);
            let n = (1 + rng.below(64)).min(len - i);
            let copy: Vec<u8> = data[i..i + n].to_vec();
            let at = rng.below(len + 1);
            data.splice(at..at, copy);
        }
        4 if !words.is_empty() => {
            let w = &words[rng.below(words.len())];
            let at = rng.below(len + 1);
            data.splice(at..at, w.iter().copied());
        }
        5 if !others.is_empty() => {
            let other = &others[rng.below(others.len())];
            let (cut, from) = (rng.below(len + 1), rng.below(other.len() + 1));
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
        6 => {
            let spans = numbers(data);
            if !spans.is_empty() {
                let (s, e) = spans[rng.below(spans.len())];
                data.splice(s..e, EDGES[rng.below(EDGES.len())].bytes());
            }
        }
        _ => {
            // A line (or statement) repeated: loops of calls, held lines, deep nesting.
            let lines: Vec<usize> = std::iter::once(0)
                .chain(data.iter().enumerate().filter(|(_, &b)| b == b'\n').map(|(i, _)| i + 1))
                .collect();
            let k = rng.below(lines.len());
            let (s, e) = (lines[k], lines.get(k + 1).copied().unwrap_or(len));
            let copy: Vec<u8> = data[s..e].to_vec();
            for _ in 0..1 + rng.below(8) {
                data.splice(s..s, copy.iter().copied());
            }
        }
    }
    data.truncate(MAX_LEN);
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

#[test]
fn mutated_corpus_inputs_never_panic() {
    let scale = env_u64("MMSIM_FUZZ_SMOKE", 1000);
    let seed = env_u64("MMSIM_FUZZ_SEED", 0x5eed_f022);
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-smoke");
    std::fs::create_dir_all(&out).unwrap();
    // Panics are caught and reported below; their messages would only bury the summary.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    for (name, target) in fuzz::TARGETS {
        // The replay target is the cheapest per input and has the largest language.
        let count = if name == "replay" { 4 * scale } else { scale };
        let seeds = corpus(name);
        let words = dictionary(&Path::new(env!("CARGO_MANIFEST_DIR")).join("dict").join(format!("{name}.dict")));
        let mut rng = Rng(seed ^ name.bytes().fold(0u64, |h, b| h.rotate_left(8) ^ u64::from(b)) | 1);
        let started = Instant::now();
        let mut slowest = (Duration::ZERO, Vec::new());
        for n in 0..count {
            let mut data = seeds[n as usize % seeds.len()].clone();
            for _ in 0..1 + rng.below(4) {
                mutate(&mut data, &mut rng, &words, &seeds);
            }
            let t = Instant::now();
            let r = std::panic::catch_unwind(|| target(&data));
            let took = t.elapsed();
            if took > slowest.0 {
                slowest = (took, data.clone());
            }
            // The fuzzer's hang bound is 2 s on a release build; a debug build is ~10x slower.
            if r.is_err() || took > Duration::from_secs(20) {
                let path = out.join(format!("{name}-{n}"));
                std::fs::write(&path, &data).unwrap();
                let what = if r.is_err() { "panicked" } else { "ran too long" };
                failures.push(format!("{name}: mutant {n} {what} ({took:?}): {}", path.display()));
            }
        }
        let slow_path = out.join(format!("{name}-slowest"));
        std::fs::write(&slow_path, &slowest.1).unwrap();
        eprintln!(
            "{name}: {count} mutants in {:.1?}, slowest {:.1?} ({})",
            started.elapsed(),
            slowest.0,
            slow_path.display()
        );
    }
    std::panic::set_hook(default_hook);
    assert!(failures.is_empty(), "seed {seed:#x}:\n{}", failures.join("\n"));
}
