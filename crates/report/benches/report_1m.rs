//! The report of a 1,000,000-line trace: how long recording it takes, how large the page
//! is against its 25 MB budget, and how long Chromium takes to open it against its 2 s
//! budget (`cargo bench -p report`). Prints ratios; asserts nothing about time.
//!
//! The trace is made here: a process that keeps mapping 1 MiB regions and splitting them
//! with mprotect (2,000 VMAs by the end) between 499 mmap/munmap pairs of 8 KiB per 1,000
//! lines. Its results come from the model itself, so the replay checks every one of them.

use abi::{MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE};
use std::fmt::Write;
use std::time::Instant;

const LINES: usize = 1_000_000;
const SIZE_BUDGET: f64 = 25e6;
const LOAD_BUDGET_MS: f64 = 2000.0;

fn make_trace() -> String {
    let mut k = mm::Kernel::new(mm::Config::default());
    let p = k.spawn_empty("gen").expect("a process");
    let (rw, anon) = (PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    let mut t = String::with_capacity(LINES * 100);
    let mut lines = 0;
    while lines < LINES {
        let kept = k.mmap(p, 0, 1 << 20, rw, anon, -1, 0).expect("mmap");
        let _ = writeln!(
            t,
            "1000  mmap(NULL, 1048576, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = {kept:#x}"
        );
        k.mprotect(p, kept + 8 * 4096, 4096, PROT_READ).expect("mprotect");
        let _ = writeln!(t, "1000  mprotect({:#x}, 4096, PROT_READ) = 0", kept + 8 * 4096);
        lines += 2;
        for _ in 0..499 {
            let a = k.mmap(p, 0, 8192, rw, anon, -1, 0).expect("mmap");
            k.munmap(p, a, 8192).expect("munmap");
            let _ = writeln!(
                t,
                "1000  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = {a:#x}\n1000  munmap({a:#x}, 8192) = 0"
            );
            lines += 2;
        }
    }
    t
}

fn main() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-bench");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let text: std::sync::Arc<[u8]> = make_trace().into_bytes().into();
    let lines = report::trace::count_lines(&text[..]).expect("count");
    let opts = replay::Options { mode: replay::Mode::Verify, keep_going: true, cwd: None };
    let files = std::sync::Arc::new(replay::Files::host());

    let started = Instant::now();
    let ids = replay::Identities::collect(&text[..]);
    let plain = replay::replay(|| Ok(std::io::Cursor::new(text.clone())), ids, opts.clone(), |_| {});
    let replay_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let (data, rep) = report::report_trace("1m.trace", || Ok(std::io::Cursor::new(text.clone())), lines, opts, files)
        .expect("report");
    let page = dir.join("1m.html");
    report::write(&page, &data).expect("write");
    let report_s = started.elapsed().as_secs_f64();
    let size = std::fs::metadata(&page).expect("page").len() as f64;

    println!("trace: {lines} lines; replay {}; report {}", plain.summary().trim(), rep.summary().trim());
    println!(
        "replay alone {replay_s:.2} s ({:.0} lines/s); replay + report {report_s:.2} s ({:.2}x the replay)",
        lines as f64 / replay_s,
        report_s / replay_s
    );
    println!(
        "page {:.2} MB = {:.3} of the 25 MB budget ({} stops, {} distinct VMAs, {} timeline points, {} markers)",
        size / 1e6,
        size / SIZE_BUDGET,
        data.stops.len(),
        data.vmas.len(),
        data.series.x.len(),
        data.markers.len()
    );
    match headless::Browser::start(1400, 1000) {
        Err(e) => println!("load time not measured: {e}"),
        Ok(b) => {
            let mut times = Vec::new();
            for _ in 0..3 {
                let wall = Instant::now();
                let loaded = b.open(&page).expect("the page loads");
                times.push((loaded.ready_ms, wall.elapsed().as_secs_f64() * 1e3));
            }
            times.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (ready, wall) = times[1];
            println!(
                "Chromium: ready {ready:.0} ms after navigation = {:.3} of the 2 s budget (median of 3; {wall:.0} ms as the driver saw it)",
                ready / LOAD_BUDGET_MS
            );
        }
    }
}
