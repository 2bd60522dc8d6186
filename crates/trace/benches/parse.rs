//! `cargo bench -p trace`: how fast the parser turns strace lines into events, on the simple
//! log `mmsim bench replay` replays (mmap/munmap pairs) and on lines with strings and structs.

use divan::counter::ItemsCount;
use trace::Parser;

fn main() {
    divan::main();
}

const LINES: usize = 10_000;

fn log(pattern: &[&str]) -> Vec<u8> {
    let mut text = Vec::new();
    for i in 0..LINES {
        text.extend_from_slice(pattern[i % pattern.len()].as_bytes());
        text.push(b'\n');
    }
    text
}

fn parse_all(b: divan::Bencher, text: &[u8]) {
    let lines = memchr::memchr_iter(b'\n', text).count();
    b.counter(ItemsCount::new(lines)).bench(|| Parser::new(divan::black_box(text)).filter(Result::is_ok).count());
}

/// The same, the text held in one shared buffer ([`Parser::from_bytes`]).
fn parse_all_shared(b: divan::Bencher, text: &[u8]) {
    let lines = memchr::memchr_iter(b'\n', text).count();
    let text = bytes::Bytes::copy_from_slice(text);
    b.counter(ItemsCount::new(lines))
        .bench(|| Parser::from_bytes(divan::black_box(text.clone())).filter(Result::is_ok).count());
}

#[divan::bench]
fn mmap_munmap(b: divan::Bencher) {
    let text = log(&[
        "1000  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffd000",
        "1000  munmap(0x7ffff7ffd000, 8192)     = 0",
    ]);
    parse_all(b, &text);
}

#[divan::bench]
fn strings_and_structs(b: divan::Bencher) {
    let text = log(&[
        "1000  openat(AT_FDCWD, \"/lib/x86_64-linux-gnu/libc.so.6\", O_RDONLY|O_CLOEXEC) = 3",
        "1000  read(3, \"\\177ELF\\2\\1\\1\\3\\0\\0\\0\\0\\0\\0\\0\\0\\3\\0>\\0\\1\\0\\0\\0\\220\\243\\2\\0\\0\\0\\0\\0\"..., 832) = 832",
        "1000  fstat(3, {st_dev=makedev(0xfe, 0x1), st_ino=1835398, st_mode=S_IFREG|0755, st_nlink=1, st_uid=0, st_gid=0, st_blksize=4096, st_blocks=4048, st_size=2072888, st_atime=1700000000 /* 2023-11-14T22:13:20+0000 */, st_atime_nsec=0, st_mtime=1700000000 /* 2023-11-14T22:13:20+0000 */, st_mtime_nsec=0, st_ctime=1700000000 /* 2023-11-14T22:13:20+0000 */, st_ctime_nsec=0}) = 0",
        "1000  mmap(NULL, 2125328, PROT_READ, MAP_PRIVATE|MAP_DENYWRITE, 3, 0) = 0x7ffff7c00000",
        "1000  close(3)                                = 0",
    ]);
    parse_all(b, &text);
}

/// Reads of 64 KiB of binary data, printed escaped (a `-s 1048576` trace of a program
/// reading compiled files): streamed, and from a shared buffer that keeps them in place.
fn big_reads() -> Vec<u8> {
    let data: String = (0..65536u32).map(|i| format!("\\{}", (i * 7) % 8)).collect();
    let line = format!("1000  read(3, \"{data}\", 65536) = 65536\n");
    line.repeat(200).into_bytes()
}

#[divan::bench(sample_count = 20)]
fn big_reads_streamed(b: divan::Bencher) {
    parse_all(b, &big_reads());
}

#[divan::bench(sample_count = 20)]
fn big_reads_shared(b: divan::Bencher) {
    parse_all_shared(b, &big_reads());
}
