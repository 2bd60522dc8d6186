//! `cargo bench -p bench --bench replay_real`: the parts of the `replay-real` row (the
//! recorded real programs `mmsim bench` replays), each on its own: parsing the traces
//! (streamed, and whole into a `ParsedLog`), the file-identity pass (over the text, and over
//! a parsed log), the whole replay with --verify (streamed; parsed once beforehand; and
//! parsed by a thread as the first run goes, as the row and `mmsim replay` do), and the
//! maps text a replay renders and parses. Needs strace and setarch, as the row does.

use divan::counter::ItemsCount;

// As in the `mmsim` binary, whose allocator the row measures.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

fn traces() -> &'static [bench::RealTrace] {
    bench::real_traces().unwrap_or_else(|e| panic!("replay-real traces: {e}"))
}

fn lines(log: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', log).count()
}

#[divan::bench(args = ["cat", "sh", "python3"])]
fn parse(b: divan::Bencher, name: &str) {
    let Some((_, log)) = traces().iter().find(|(n, _)| *n == name) else { return };
    b.counter(ItemsCount::new(lines(log)))
        .bench(|| trace::Parser::new(divan::black_box(&log[..])).report_call_starts(true).count());
}

#[divan::bench(args = ["cat", "sh", "python3"])]
fn parse_whole(b: divan::Bencher, name: &str) {
    let Some((_, log)) = traces().iter().find(|(n, _)| *n == name) else { return };
    b.counter(ItemsCount::new(lines(log)))
        .bench(|| replay::ParsedLog::parse(divan::black_box(log.clone())).items().len());
}

#[divan::bench(args = ["cat", "sh", "python3"])]
fn identities_of_parsed(b: divan::Bencher, name: &str) {
    let Some((_, log)) = traces().iter().find(|(n, _)| *n == name) else { return };
    let parsed = replay::ParsedLog::parse(log.clone());
    b.counter(ItemsCount::new(lines(log))).bench(|| replay::Identities::of_parsed(divan::black_box(&parsed)).len());
}

#[divan::bench(args = ["cat", "sh", "python3"])]
fn replay_verify_parsed(b: divan::Bencher, name: &str) {
    let Some((_, log)) = traces().iter().find(|(n, _)| *n == name) else { return };
    let opts = replay::Options { mode: replay::Mode::Verify, keep_going: false, cwd: None, threads_unordered: false };
    b.counter(ItemsCount::new(lines(log))).bench(|| {
        let parsed = replay::ParsedLog::parse(log.clone());
        let ids = replay::Identities::of_parsed(&parsed);
        let files = std::sync::Arc::new(replay::Files::host());
        let r = replay::replay_parsed(&parsed, ids, opts.clone(), files, |_| {});
        assert_eq!(r.failed, 0, "{name}: {}", r.summary());
        r.lines
    });
}

#[divan::bench(args = ["cat", "sh", "python3"])]
fn replay_verify_text(b: divan::Bencher, name: &str) {
    let Some((_, log)) = traces().iter().find(|(n, _)| *n == name) else { return };
    let opts = replay::Options { mode: replay::Mode::Verify, keep_going: false, cwd: None, threads_unordered: false };
    b.counter(ItemsCount::new(lines(log))).bench(|| {
        let files = std::sync::Arc::new(replay::Files::host());
        let r = replay::replay_text(log.clone(), opts.clone(), files, |_| {});
        assert_eq!(r.failed, 0, "{name}: {}", r.summary());
        r.lines
    });
}

#[divan::bench(args = ["cat", "sh", "python3"])]
fn identities(b: divan::Bencher, name: &str) {
    let Some((_, log)) = traces().iter().find(|(n, _)| *n == name) else { return };
    b.counter(ItemsCount::new(lines(log))).bench(|| replay::Identities::collect(divan::black_box(&log[..])).len());
}

#[divan::bench(args = ["cat", "sh", "python3"])]
fn replay_verify(b: divan::Bencher, name: &str) {
    let Some((_, log)) = traces().iter().find(|(n, _)| *n == name) else { return };
    let opts = replay::Options { mode: replay::Mode::Verify, keep_going: false, cwd: None, threads_unordered: false };
    b.counter(ItemsCount::new(lines(log))).bench(|| {
        let ids = replay::Identities::collect(&log[..]);
        let r = replay::replay(|| Ok(std::io::Cursor::new(log.clone())), ids, opts.clone(), |_| {});
        assert_eq!(r.failed, 0, "{name}: {}", r.summary());
        r.lines
    });
}

/// A process's maps text rendered, then parsed back: a replay renders the model's text for
/// every maps read a program made, and parses both texts.
#[divan::bench(args = [100, 1000])]
fn maps_render_and_parse(b: divan::Bencher, vmas: u64) {
    use abi::*;
    let mut k = mm::Kernel::new(mm::Config { ram_bytes: 1 << 30, event_capacity: 0, ..mm::Config::default() });
    let p = k.spawn_empty("bench").unwrap();
    for i in 0..vmas {
        let prot = if i % 2 == 0 { PROT_READ | PROT_WRITE } else { PROT_READ };
        k.mmap(p, 0, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).unwrap();
    }
    b.counter(ItemsCount::new(vmas as usize)).bench_local(|| {
        let text = procfs::maps(&k, p).unwrap();
        procfs::parse::parse_maps(divan::black_box(&text)).len()
    });
}
