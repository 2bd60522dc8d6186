//! Reports of two traces of about 1,000,000 lines: how long making the report takes, how
//! large the page is against its 25 MB budget, and how long Chromium takes from navigation
//! to the page's ready signal against its 2 s budget (`cargo bench -p report`). Prints
//! ratios; asserts nothing about time.
//!
//! - `synthetic`: made here from the model itself (so the replay checks every result): a
//!   process that keeps mapping 1 MiB regions and splitting them with mprotect (2,000 VMAs
//!   by the end) between 499 mmap/munmap pairs of 8 KiB per 1,000 lines.
//! - `recorded`: a real run recorded on this machine as `mmsim record` records
//!   (`setarch -R strace -f -v -s 1048576`): a shell loop running `cat /proc/self/maps` and
//!   `ls /` 3,300 times each (6,600 processes, each a fork, an exec, ld.so's mappings and a
//!   maps read the replay checks). Left out, with a note, where strace or setarch is missing.

use abi::{MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

const LINES: usize = 1_000_000;
const SIZE_BUDGET: f64 = 25e6;
const LOAD_BUDGET_MS: f64 = 2000.0;
/// Iterations of the recorded shell loop: about 305 trace lines each.
const LOOPS: usize = 3300;

fn synthetic_trace() -> String {
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

/// Records the shell loop in `dir`; `None`, with the reason, where it cannot.
fn recorded_trace(dir: &Path) -> Result<PathBuf, String> {
    hostreq::check_tools(&["strace", "setarch"])?;
    let out = dir.join("loop.trace");
    let script = format!("for i in $(seq {LOOPS}); do cat /proc/self/maps >/dev/null; ls / >/dev/null; done");
    let run = std::process::Command::new("setarch")
        .args(["x86_64", "-R", "strace", "-f", "-v", "-s", "1048576", "-o"])
        .arg(&out)
        .args(["--", "sh", "-c", &script])
        .current_dir(dir)
        // Cargo's library path would add a failed openat per directory to every exec.
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .map_err(|e| format!("cannot run strace: {e}"))?;
    if !run.status.success() {
        return Err(format!("strace failed: {}", String::from_utf8_lossy(&run.stderr)));
    }
    Ok(out)
}

/// Reports `text` (recorded in `cwd`), writes the page to `dir/NAME.html`, and prints the
/// numbers.
fn measure(name: &str, text: Arc<[u8]>, cwd: Option<PathBuf>, dir: &Path, browser: Option<&headless::Browser>) {
    let lines = report::trace::count_lines(&text[..]).expect("count");
    let opts = replay::Options { mode: replay::Mode::Verify, keep_going: true, cwd, threads_unordered: false };
    let files = Arc::new(replay::Files::host());

    let started = Instant::now();
    let ids = replay::Identities::collect(&text[..]);
    let plain = replay::replay(|| Ok(std::io::Cursor::new(text.clone())), ids, opts.clone(), |_| {});
    let replay_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let (data, rep) =
        report::report_trace(&format!("{name}.trace"), || Ok(std::io::Cursor::new(text.clone())), lines, opts, files)
            .expect("report");
    let page = dir.join(format!("{name}.html"));
    report::write(&page, &data).expect("write");
    let report_s = started.elapsed().as_secs_f64();
    let size = std::fs::metadata(&page).expect("page").len() as f64;

    println!("{name}: {lines} lines, {:.1} MB of trace", text.len() as f64 / 1e6);
    println!("  replay: {}", plain.summary().trim());
    println!("  report: {}", rep.summary().trim());
    println!(
        "  replay alone {replay_s:.2} s ({:.0} lines/s); replay + report {report_s:.2} s ({:.2}x the replay)",
        lines as f64 / replay_s,
        report_s / replay_s
    );
    println!(
        "  page {:.2} MB = {:.3} of the 25 MB budget ({} stops, {} address spaces, {} distinct VMAs, {} processes, \
         {} timeline points, {} markers, {} of {} faults listed)",
        size / 1e6,
        size / SIZE_BUDGET,
        data.stops.len(),
        data.spaces.len(),
        data.vmas.len(),
        data.processes.len(),
        data.series.x.len(),
        data.markers.len(),
        data.faults.len(),
        data.faults_total
    );
    match browser {
        None => println!("  load time not measured (no browser)"),
        Some(b) => {
            let mut times = Vec::new();
            for _ in 0..3 {
                let wall = Instant::now();
                let loaded = b.open(&page).expect("the page loads");
                times.push((loaded.ready_ms, wall.elapsed().as_secs_f64() * 1e3));
            }
            times.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (ready, wall) = times[1];
            println!(
                "  Chromium: ready {ready:.0} ms after navigation = {:.3} of the 2 s budget (median of 3; {wall:.0} ms as the driver saw it)",
                ready / LOAD_BUDGET_MS
            );
        }
    }
}

fn main() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-bench");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let browser = match headless::Browser::start(1400, 1000) {
        Ok(b) => Some(b),
        Err(e) => {
            println!("load times not measured: {e}");
            None
        }
    };
    measure("synthetic", synthetic_trace().into_bytes().into(), None, &dir, browser.as_ref());
    let started = Instant::now();
    match recorded_trace(&dir) {
        Err(e) => println!("recorded: not measured: {e}"),
        Ok(path) => {
            println!("recorded: {LOOPS} loops recorded in {:.1} s", started.elapsed().as_secs_f64());
            let text: Arc<[u8]> = std::fs::read(&path).expect("the trace").into();
            measure("recorded", text, Some(dir.clone()), &dir, browser.as_ref());
        }
    }
}
