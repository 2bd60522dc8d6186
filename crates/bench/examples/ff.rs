//! Times read faults on a 64 MiB page-cached file through fresh private mappings, as the
//! bench's fault-file row does, for profiling (`PASSES=N`, 40; `NOUNMAP=1` keeps every
//! mapping, so munmap's cost stays out of a profile); prints ns a page.
use abi::*;
use mm::Call;
fn main() {
    let len: u64 = 64 << 20;
    let mut k =
        mm::Kernel::new(mm::Config { ram_bytes: 2 * len + (64 << 20), event_capacity: 0, ..mm::Config::default() });
    let p = k.spawn_empty("b").unwrap();
    let f = k.create_file("/tmp/bench", &[]);
    let chunk = vec![7u8; 65536];
    for off in (0..len).step_by(chunk.len()) {
        k.file_write(f, off, &chunk).unwrap();
    }
    let fd = k.open(p, "/tmp/bench", O_RDONLY).unwrap() as i64;
    let passes: u64 = std::env::var("PASSES").ok().and_then(|s| s.parse().ok()).unwrap_or(40);
    let mut total = std::time::Duration::ZERO;
    let mut mm_total = std::time::Duration::ZERO;
    for _ in 0..passes {
        let t0 = std::time::Instant::now();
        let a = k.dispatch(p, &Call::Mmap { addr: 0, len, prot: PROT_READ, flags: MAP_PRIVATE, fd, off: 0 }).unwrap();
        let t = std::time::Instant::now();
        let mut byte = [0u8];
        for off in (0..len).step_by(4096) {
            k.load_into(p, a + off, &mut byte).unwrap();
        }
        total += t.elapsed();
        if std::env::var_os("NOUNMAP").is_none() {
            k.dispatch(p, &Call::Munmap { addr: a, len }).unwrap();
        }
        mm_total += t0.elapsed();
    }
    let pages = (passes * len / 4096) as f64;
    println!(
        "{:.1} ns/page (with mmap+munmap {:.1})",
        total.as_nanos() as f64 / pages,
        mm_total.as_nanos() as f64 / pages
    );
}
