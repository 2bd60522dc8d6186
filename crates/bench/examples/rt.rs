//! Times replays of real traces, for profiling the replayer (`perf record` around it): the
//! bench's replay-real traces, or the trace files given as arguments. `ROUNDS=N` rounds
//! (20), `ONLY=ids|parse|rp` times one phase alone (the identity pass, the parse, the replay
//! of a parsed log); prints the median and fastest ns a line.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let owned: Vec<(&'static str, std::sync::Arc<[u8]>)> = if args.is_empty() {
        bench::real_traces().unwrap().to_vec()
    } else {
        args.iter().map(|a| (&*Box::leak(a.clone().into_boxed_str()), std::fs::read(a).unwrap().into())).collect()
    };
    let traces = &owned;
    // `DUMP=DIR` writes the traces there (the bench's own, recorded at start), to replay
    // them again later or elsewhere.
    if let Some(dir) = std::env::var_os("DUMP") {
        for (name, log) in traces {
            std::fs::write(std::path::Path::new(&dir).join(format!("{name}.trace")), &log[..]).unwrap();
        }
    }
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let only = std::env::var("ONLY").unwrap_or_default();
    let opts = replay::Options { mode: replay::Mode::Verify, keep_going: false, cwd: None, threads_unordered: false };
    let (mut tot_ns, mut tot_lines) = (0f64, 0u64);
    for (name, log) in traces {
        let lines = memchr::memchr_iter(b'\n', log).count();
        let mut v = Vec::new();
        for _ in 0..rounds {
            let t = std::time::Instant::now();
            match only.as_str() {
                "ids" => {
                    std::hint::black_box(replay::Identities::collect(&log[..]).len());
                }
                "rp" => {
                    let parsed = replay::ParsedLog::parse(log.clone());
                    let ids = replay::Identities::of_parsed(&parsed);
                    let files = std::sync::Arc::new(replay::Files::host());
                    let t2 = std::time::Instant::now();
                    let r = replay::replay_parsed(&parsed, ids, opts.clone(), files, |_| {});
                    assert_eq!(r.failed, 0);
                    v.push(t2.elapsed().as_nanos() as f64);
                    continue;
                }
                "parse" => {
                    std::hint::black_box(replay::ParsedLog::parse(log.clone()).items().len());
                }
                _ => {
                    let files = std::sync::Arc::new(replay::Files::host());
                    let r = replay::replay_text(log.clone(), opts.clone(), files, |_| {});
                    assert_eq!(r.failed, 0, "{name}: {}", r.summary());
                }
            }
            v.push(t.elapsed().as_nanos() as f64);
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let med = v[v.len() / 2];
        println!(
            "{name:8} lines {lines:6} bytes {:8} median {:9.0} ns  {:6.0} ns/line  min {:6.0}",
            log.len(),
            med,
            med / lines as f64,
            v[0] / lines as f64
        );
        tot_ns += med;
        tot_lines += lines as u64;
    }
    println!("all: {:.0} ns/line", tot_ns / tot_lines as f64);
}
