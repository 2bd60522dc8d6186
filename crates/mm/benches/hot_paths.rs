//! Benchmarks of the model's hot paths (`cargo bench -p mm`): page-table walk, VMA lookup,
//! free-gap search, the anonymous fault, the file read fault (fault-around), a load from and
//! a store to a mapped page, the munmap of a file mapping in large folios, the COW copy,
//! fork's copy of the page tables, fork plus exit, swap-out, and mmap/munmap among many
//! VMAs (alone, and with a random lookup as in a `vma-1m` round), a fresh model made and
//! dropped (what every replay starts with), and maps text rendered. They use the public API
//! only, and the allocator the `mmsim` binary uses; `mmsim bench` compares whole workloads
//! with the host kernel.

use abi::*;
use mm::{pgtable, Config, Kernel, Pid};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

const RW: u64 = PROT_READ | PROT_WRITE;
const ANON: u64 = MAP_PRIVATE | MAP_ANONYMOUS;

fn kernel() -> (Kernel, Pid) {
    let mut k =
        Kernel::new(Config { ram_bytes: 1 << 30, event_capacity: 0, max_map_count: 1 << 21, ..Config::default() });
    let p = k.spawn_empty("bench").unwrap();
    (k, p)
}

/// A process with `n` one-page VMAs that cannot merge; returns their addresses.
fn with_vmas(n: usize) -> (Kernel, Pid, Vec<u64>) {
    let (mut k, p) = kernel();
    let v = (0..n).map(|i| k.mmap(p, 0, 4096, if i % 2 == 0 { RW } else { PROT_READ }, ANON, -1, 0).unwrap()).collect();
    (k, p, v)
}

#[divan::bench(args = [1_000, 100_000, 1_000_000])]
fn vma_find(b: divan::Bencher, n: usize) {
    let (k, p, v) = with_vmas(n);
    let mm = k.mm(p).unwrap();
    let mut i = 0usize;
    b.bench_local(|| {
        i = (i + 7919) % v.len();
        divan::black_box(mm.vmas.find(v[i]))
    });
}

#[divan::bench(args = [1_000, 100_000, 1_000_000])]
fn gap_search_top_down(b: divan::Bencher, n: usize) {
    let (k, p, _) = with_vmas(n);
    let mm = k.mm(p).unwrap();
    b.bench_local(|| divan::black_box(mm.vmas.find_top_down(65536, mm.mmap_base, 3 * 4096, 4096, 0, 0)));
}

#[divan::bench]
fn page_table_walk(b: divan::Bencher) {
    let (mut k, p) = kernel();
    let a = k.mmap(p, 0, 64 << 20, RW, ANON, -1, 0).unwrap();
    for off in (0..64 << 20).step_by(4096) {
        k.store(p, a + off, &[1]).unwrap();
    }
    let pgd = k.mm(p).unwrap().pgd;
    let mut off = 0u64;
    b.bench_local(|| {
        off = (off + 4096 * 97) % (64 << 20);
        divan::black_box(pgtable::lookup(&k.machine().frames, pgd, a + off))
    });
}

#[divan::bench(args = [64, 4096])]
fn anonymous_write_fault(b: divan::Bencher, pages: u64) {
    b.counter(divan::counter::ItemsCount::new(pages as usize))
        .with_inputs(|| {
            let (mut k, p) = kernel();
            let a = k.mmap(p, 0, pages * 4096, RW, ANON, -1, 0).unwrap();
            (k, p, a)
        })
        .bench_local_values(|(mut k, p, a)| {
            for i in 0..pages {
                k.store(p, a + i * 4096, &[1]).unwrap();
            }
            k
        });
}

/// A read of one byte a page through a new private mapping of a cached file written in
/// 64 KiB pieces (16-page folios): one fault a folio, fault-around mapping the rest.
#[divan::bench(args = [64, 4096])]
fn file_read_fault(b: divan::Bencher, pages: u64) {
    b.counter(divan::counter::ItemsCount::new(pages as usize)).with_inputs(|| file_mapped(pages)).bench_local_values(
        |(mut k, p, a)| {
            read_a_byte_a_page(&mut k, p, a, pages);
            k
        },
    );
}

/// A cached file of `pages` pages written in 64 KiB pieces (16-page folios), mapped
/// privately: (kernel, pid, address).
fn file_mapped(pages: u64) -> (Kernel, Pid, u64) {
    let (mut k, p) = kernel();
    let f = k.create_file("/tmp/bench", &[]);
    let chunk = vec![7u8; 65536];
    for off in (0..pages * 4096).step_by(chunk.len()) {
        k.file_write(f, off, &chunk).unwrap();
    }
    let fd = k.open(p, "/tmp/bench", O_RDONLY).unwrap() as i64;
    let a = k.mmap(p, 0, pages * 4096, PROT_READ, MAP_PRIVATE, fd, 0).unwrap();
    (k, p, a)
}

/// Anonymous read-write memory of `pages` pages mapped in `p`, each page written (a byte of
/// 1): its address.
fn anon_written(k: &mut Kernel, p: Pid, pages: u64) -> u64 {
    let a = k.mmap(p, 0, pages * 4096, RW, ANON, -1, 0).unwrap();
    write_a_byte_a_page(k, p, a, pages, 1);
    a
}

/// Writes `byte` at the start of each of the `pages` pages at `a`.
fn write_a_byte_a_page(k: &mut Kernel, p: Pid, a: u64, pages: u64, byte: u8) {
    for i in 0..pages {
        k.store(p, a + i * 4096, &[byte]).unwrap();
    }
}

/// Reads one byte of each of the `pages` pages at `a`.
fn read_a_byte_a_page(k: &mut Kernel, p: Pid, a: u64, pages: u64) {
    let mut byte = [0u8];
    for i in 0..pages {
        k.load_into(p, a + i * 4096, &mut byte).unwrap();
    }
}

/// [`file_mapped`], read a byte a page so that every page is mapped.
fn file_mapped_in(pages: u64) -> (Kernel, Pid, u64) {
    let (mut k, p, a) = file_mapped(pages);
    read_a_byte_a_page(&mut k, p, a, pages);
    (k, p, a)
}

/// A one-byte load from a page already mapped (no fault): the MMU's walk and the read, the
/// call an emulator makes for each of its loads.
#[divan::bench(args = [64, 4096])]
fn load_mapped_byte(b: divan::Bencher, pages: u64) {
    let (mut k, p, a) = file_mapped_in(pages);
    b.counter(divan::counter::ItemsCount::new(pages as usize)).bench_local(|| read_a_byte_a_page(&mut k, p, a, pages));
}

/// A one-byte store to an anonymous page already written (no fault): the walk, the dirty
/// bit, the write; the call an emulator makes for each of its stores.
#[divan::bench(args = [64, 4096])]
fn store_mapped_byte(b: divan::Bencher, pages: u64) {
    let (mut k, p) = kernel();
    let a = anon_written(&mut k, p, pages);
    b.counter(divan::counter::ItemsCount::new(pages as usize)).bench_local(|| {
        write_a_byte_a_page(&mut k, p, a, pages, 2);
    });
}

/// munmap of a private file mapping whose every page is mapped, in 16-page folios: the
/// zap looks up each page's folio.
#[divan::bench(args = [64, 4096])]
fn munmap_file_folios(b: divan::Bencher, pages: u64) {
    b.counter(divan::counter::ItemsCount::new(pages as usize))
        .with_inputs(|| file_mapped_in(pages))
        .bench_local_values(|(mut k, p, a)| {
            k.munmap(p, a, pages * 4096).unwrap();
            k
        });
}

/// MADV_PAGEOUT of anonymous pages each written with one byte: the write of every page to
/// its swap slot (the swap-out row of `mmsim bench`).
#[divan::bench(args = [64, 4096])]
fn swap_out(b: divan::Bencher, pages: u64) {
    b.counter(divan::counter::ItemsCount::new(pages as usize))
        .with_inputs(|| {
            let (mut k, p) = kernel();
            let spec =
                mm::swap::SwapSpec { path: "/swap".into(), size: (pages + 1) * 4096, priority: None, partition: false };
            k.swapon(&spec).unwrap();
            let a = anon_written(&mut k, p, pages);
            (k, p, a)
        })
        .bench_local_values(|(mut k, p, a)| {
            k.madvise(p, a, pages * 4096, MADV_PAGEOUT).unwrap();
            k
        });
}

#[divan::bench(args = [64, 4096])]
fn cow_copy_after_fork(b: divan::Bencher, pages: u64) {
    b.counter(divan::counter::ItemsCount::new(pages as usize))
        .with_inputs(|| {
            let (mut k, p) = kernel();
            let a = k.mmap(p, 0, pages * 4096, RW, ANON, -1, 0).unwrap();
            k.store(p, a, &vec![1u8; (pages * 4096) as usize]).unwrap();
            let c = k.fork(p).unwrap();
            (k, c, a)
        })
        .bench_local_values(|(mut k, c, a)| {
            for i in 0..pages {
                k.store(c, a + i * 4096, &[2]).unwrap();
            }
            k
        });
}

#[divan::bench(args = [64, 4096, 65536])]
fn fork_page_tables(b: divan::Bencher, pages: u64) {
    b.counter(divan::counter::ItemsCount::new(pages as usize))
        .with_inputs(|| {
            let (mut k, p) = kernel();
            anon_written(&mut k, p, pages);
            (k, p)
        })
        .bench_local_values(|(mut k, p)| {
            k.fork(p).unwrap();
            k
        });
}

/// fork of a process with `pages` written pages, the child's exit and its reaping: the
/// copy of the page tables and their zap.
#[divan::bench(args = [4096, 65536])]
fn fork_exit_populated(b: divan::Bencher, pages: u64) {
    let (mut k, p) = kernel();
    anon_written(&mut k, p, pages);
    b.counter(divan::counter::ItemsCount::new(pages as usize)).bench_local(|| {
        let c = k.fork(p).unwrap();
        k.exit(c, 0).unwrap();
        k.reap(c).unwrap();
    });
}

/// One mmap(NULL) of a page and its munmap among `n` live VMAs: the placing half of `vma-1m`.
#[divan::bench(args = [1_000, 1_000_000])]
fn mmap_munmap_among(b: divan::Bencher, n: usize) {
    let (mut k, p, _) = with_vmas(n);
    b.bench_local(|| {
        let a = k.mmap(p, 0, 4096, PROT_READ, ANON | MAP_NORESERVE, -1, 0).unwrap();
        k.munmap(p, a, 4096).unwrap();
    });
}

/// One round of `mmsim bench vma-1m` among `n` one-page VMAs side by side: mmap(NULL) of a
/// page, its munmap, and a lookup of a random address in the span. At a million VMAs the
/// lookup's leaf comes from memory, and the mmap after it must not wait for it.
#[divan::bench(args = [1_000, 1_000_000])]
fn vma_round_among(b: divan::Bencher, n: usize) {
    let (mut k, p, v) = with_vmas(n);
    let lo = *v.iter().min().unwrap();
    let pages = n as u64;
    assert_eq!(*v.iter().max().unwrap() + 4096 - lo, pages * 4096, "the VMAs cover one span");
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    b.bench_local(|| {
        let a = k.mmap(p, 0, 4096, PROT_READ, ANON | MAP_NORESERVE, -1, 0).unwrap();
        k.munmap(p, a, 4096).unwrap();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let target = lo + rng % pages * 4096;
        divan::black_box(k.mm(p).unwrap().vmas.find(target).map(|v| v.end))
    });
}

/// mmap/munmap in the newest of `n` processes: the cost must not grow with the task count.
#[divan::bench(args = [1, 1_000])]
fn mmap_munmap_beside_tasks(b: divan::Bencher, n: usize) {
    let (mut k, _) = kernel();
    for _ in 1..n {
        k.spawn_empty("other").unwrap();
    }
    let p = k.spawn_empty("newest").unwrap();
    b.bench_local(|| {
        let a = k.mmap(p, 0, 4096, PROT_READ, ANON, -1, 0).unwrap();
        k.munmap(p, a, 4096).unwrap();
    });
}

/// A fresh model of `gib` GiB made and dropped: every replay and scenario starts with one.
#[divan::bench(args = [1, 16, 64])]
fn kernel_new_and_drop(b: divan::Bencher, gib: u64) {
    b.bench(|| Kernel::new(Config { ram_bytes: gib << 30, event_capacity: 0, ..Config::default() }));
}
