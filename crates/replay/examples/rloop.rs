// Temporary profiling aid (not committed).
use replay::*;
use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let n: u32 = std::env::args().nth(2).map_or(100, |s| s.parse().unwrap());
    let text: std::sync::Arc<[u8]> = std::fs::read(&path).unwrap().into();
    let opts = Options { mode: Mode::Verify, keep_going: false, cwd: None, threads_unordered: false };
    let t = Instant::now();
    let mut lines = 0;
    for _ in 0..n {
        let files = std::sync::Arc::new(Files::host());
        let r = replay_text(text.clone(), opts.clone(), files, |_| {});
        assert_eq!(r.failed, 0);
        lines += r.lines;
    }
    let e = t.elapsed();
    println!(
        "{:?} per replay, {:.0} ns/line ({} lines each)",
        e / n,
        e.as_nanos() as f64 / lines as f64,
        lines / n as u64
    );
}
