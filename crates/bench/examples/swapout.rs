//! Times MADV_PAGEOUT of 64 MiB of written anonymous memory to a model swap device, 40
//! times (each written again in between), for profiling swap-out; prints ns a page.
use abi::*;
fn main() {
    let len: u64 = 64 << 20;
    let mut k = mm::Kernel::new(mm::Config { ram_bytes: 4 * len, event_capacity: 0, ..mm::Config::default() });
    let p = k.spawn_empty("b").unwrap();
    let spec = mm::swap::SwapSpec { path: "/swap".into(), size: 2 * len + 4096, priority: None, partition: false };
    k.swapon(&spec).unwrap();
    let a = k.mmap(p, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).unwrap();
    for off in (0..len).step_by(4096) {
        k.store(p, a + off, &[1]).unwrap();
    }
    let mut total = std::time::Duration::ZERO;
    for _ in 0..40 {
        let t = std::time::Instant::now();
        k.madvise(p, a, len, MADV_PAGEOUT).unwrap();
        total += t.elapsed();
        for off in (0..len).step_by(4096) {
            k.store(p, a + off, &[2]).unwrap();
        }
    }
    println!("{:.1} ns/page", total.as_nanos() as f64 / (40 * len / 4096) as f64);
}
