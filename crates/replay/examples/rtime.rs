// Temporary timing aid (not committed).
use replay::*;
use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let text = std::fs::read(&path).unwrap();
    let opts = Options { mode: Mode::Verify, keep_going: false, cwd: None, threads_unordered: false };
    if let Ok(what) = std::env::var("ONLY") {
        let ids = Identities::collect(&text[..]);
        let log = ParsedLog::parse(text.clone());
        let files = std::sync::Arc::new(Files::host());
        let t = Instant::now();
        for _ in 0..50 {
            match what.as_str() {
                "ids" => {
                    std::hint::black_box(Identities::collect(&text[..]));
                }
                "parse" => {
                    std::hint::black_box(ParsedLog::parse(text.clone()));
                }
                _ => {
                    std::hint::black_box(replay_parsed(&log, ids.clone(), opts.clone(), files.clone(), |_| {}));
                }
            }
        }
        println!("{what}: {:?} each", t.elapsed() / 50);
        return;
    }
    for _ in 0..3 {
        let t0 = Instant::now();
        let ids = Identities::collect(&text[..]);
        let t1 = Instant::now();
        let log = ParsedLog::parse(text.clone());
        let t2 = Instant::now();
        let files = std::sync::Arc::new(Files::host());
        let r = replay_parsed(&log, ids.clone(), opts.clone(), files.clone(), |_| {});
        let t3 = Instant::now();
        let r2 = replay_text(text.clone(), opts.clone(), files, |_| {});
        let t4 = Instant::now();
        println!(
            "ids {:?} parse {:?} replay(parsed) {:?} [{} lines, runs?] replay_text {:?} ({} {})",
            t1 - t0,
            t2 - t1,
            t3 - t2,
            r.lines,
            t4 - t3,
            r.failed,
            r2.failed
        );
    }
}
#[allow(dead_code)]
fn unused() {}
