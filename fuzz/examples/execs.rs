//! Measures how many executions per second each fuzz target's harness makes over its
//! corpus, without AFL's instrumentation (which costs 5-15x more):
//! `cargo run --release -p fuzz --example execs [SECONDS [TARGET [DIR]]]` (default 3 s a
//! target, every target, `fuzz/corpus/TARGET`; DIR may be a fuzzer's queue). Prints, per
//! target, the executions per second and the dozen slowest inputs, so that a slow harness
//! (setup done for every input, work no bound limits) shows before a long run does.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn main() {
    let seconds: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let only = std::env::args().nth(2);
    let dir = std::env::args().nth(3).map(PathBuf::from);
    for (name, target) in fuzz::TARGETS {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let from = dir.clone().unwrap_or_else(|| root.join(name));
        let listing = std::fs::read_dir(&from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
        let mut files: Vec<PathBuf> = listing.flatten().map(|e| e.path()).collect();
        files.sort();
        let inputs: Vec<(PathBuf, Vec<u8>)> =
            files.into_iter().filter(|f| f.is_file()).filter_map(|f| std::fs::read(&f).ok().map(|d| (f, d))).collect();
        if inputs.is_empty() {
            println!("{name}: no inputs in {}", from.display());
            continue;
        }
        let mut per_input = vec![Duration::ZERO; inputs.len()];
        let mut runs = vec![0u32; inputs.len()];
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed().as_secs_f64() < seconds {
            let i = (n as usize) % inputs.len();
            let t = Instant::now();
            target(&inputs[i].1);
            per_input[i] += t.elapsed();
            runs[i] += 1;
            n += 1;
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        println!("{name}: {n} execs, {rate:.0}/s");
        let mut order: Vec<usize> = (0..inputs.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(per_input[i] / runs[i].max(1)));
        for &i in order.iter().take(12) {
            let (f, d) = &inputs[i];
            if runs[i] > 0 {
                println!(
                    "   {:>9.1?} {:>6} B {}",
                    per_input[i] / runs[i],
                    d.len(),
                    f.file_name().unwrap().to_string_lossy()
                );
            }
        }
    }
}
