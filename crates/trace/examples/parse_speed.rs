//! Measures parsing speed in lines per second, on a generated simple log or on a given file:
//! `cargo run --release -p trace --example parse_speed [-- LINES | FILE]`.
//!
//! The generated log is the design's benchmark: `mmap` lines with a pid prefix, like those of
//! `strace -f -o FILE`. Generation is not timed. Besides wall-clock time the example reports the
//! CPU time the parsing thread got (from `/proc/thread-self/schedstat`), which is the fairer
//! number on a machine busy with other work.

use std::io::Write;
use std::time::Instant;

fn generated_log(lines: usize) -> Vec<u8> {
    let mut log = Vec::with_capacity(lines * 100);
    for i in 0..lines {
        let address = 0x7fff_f7fc_3000u64 - (i as u64 % 4096) * 0x2000;
        writeln!(
            log,
            "{}  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = {address:#x}",
            1234 + i % 4
        )
        .expect("writing to a Vec cannot fail");
    }
    log
}

/// Returns the CPU time this thread has run, in seconds, when Linux tells it.
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(nanos as f64 / 1e9)
}

fn main() {
    let arg = std::env::args().nth(1);
    let (log, what) = match arg.as_deref().map(|a| (a, a.parse::<usize>())) {
        Some((path, Err(_))) => match std::fs::read(path) {
            Ok(bytes) => (bytes, path.to_string()),
            Err(e) => {
                eprintln!("{path}: {e}");
                std::process::exit(2);
            }
        },
        Some((_, Ok(lines))) => (generated_log(lines), format!("{lines} generated mmap lines")),
        None => (generated_log(2_000_000), "2000000 generated mmap lines".to_string()),
    };
    let lines = log.iter().filter(|&&b| b == b'\n').count().max(1);

    // Best of three runs, so a scheduling hiccup does not decide the number.
    let mut best = f64::INFINITY;
    let mut best_cpu = f64::INFINITY;
    let (mut events, mut errors) = (0usize, 0usize);
    for _ in 0..3 {
        let start = Instant::now();
        let cpu_start = thread_cpu_seconds();
        (events, errors) = (0, 0);
        for item in trace::Parser::new(&log[..]) {
            match item {
                Ok(_) => events += 1,
                Err(_) => errors += 1,
            }
        }
        best = best.min(start.elapsed().as_secs_f64());
        if let (Some(before), Some(after)) = (cpu_start, thread_cpu_seconds()) {
            best_cpu = best_cpu.min(after - before);
        }
    }
    println!(
        "{what}: {lines} lines, {events} events, {errors} errors in {:.3} s: {:.0} lines/s, {:.1} MB/s",
        best,
        lines as f64 / best,
        log.len() as f64 / best / 1e6
    );
    if best_cpu.is_finite() {
        println!("on CPU: {best_cpu:.3} s: {:.0} lines per CPU second", lines as f64 / best_cpu);
    }
}
