//! Random C programs that exercise the address space, one per seed: mappings of every kind
//! (anonymous and file, private and shared, placed, hinted and fixed, populated, of a
//! sparse file grown with ftruncate, of a memfd and of a /dev/shm file), unmapping,
//! protection changes, remapping, the heap, advice, locking, residency queries, syncs,
//! kernel copies to and from the mappings, stores, forks whose children touch memory, and
//! reads of the process's own maps and smaps; some calls with bad arguments; with
//! [`Features::sysv`], SysV shared memory segments too (made, attached where the kernel
//! places them and over other regions, detached, asked for their state). The program
//! touches memory directly only where it is sure it may (a region it has just mapped
//! writable), and otherwise through system calls, which fail with EFAULT instead of
//! killing it: every run ends normally, whatever the draw.
//!
//! The same seed gives the same program. The replay tests record each program on this
//! machine under strace and replay the log (see `replay_random.rs`).

use std::fmt::Write;

/// A small, seedable generator (xorshift64*): the programs must not change with a crate's
/// version.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// In `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Regions the program keeps pointers to (`slot[0..SLOTS]`).
const SLOTS: u64 = 6;

const PREAMBLE: &str = r#"#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

static char *slot[6];
/* SysV segments (-1: none) and their sizes. Each is removed right after its first attach,
 * so that it goes with its last attach: a run never leaves one behind. */
static int seg[3] = {-1, -1, -1};
static size_t seg_len[3];
static struct shmid_ds seg_ds;
static size_t len[6];
static char text[1 << 16];
static unsigned char vec[4096];

static void read_all(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return;
    while (read(fd, text, sizeof text) > 0)
        ;
    close(fd);
}

/* A region's page `page`, or an address nothing maps when the slot is empty. */
static char *at(int s, long page) {
    return slot[s] ? slot[s] + page * 4096 : (char *)0x10000;
}

/* Bytes of `want` from page `page` of region `s` that stay inside it (0 when none), so
 * that no call reaches a neighbour the program does not own (the C library, the stack). */
static size_t fit(int s, long page, size_t want) {
    if (!slot[s] || (size_t)page * 4096 >= len[s])
        return 0;
    size_t room = len[s] - (size_t)page * 4096;
    return want < room ? want : room;
}

/* Page `page` of region `s` when it is inside it, else an address nothing maps. */
static char *inside(int s, long page) {
    return fit(s, page, 1) ? at(s, page) : (char *)0x10000;
}

static long heap_added;

int main(void) {
    char name[64];
    snprintf(name, sizeof name, "randprog-%d.dat", (int)getpid());
    int file = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ftruncate(file, 16 * 4096);
    pwrite(file, "file page zero", 14, 0);
    pwrite(file, "file page five", 14, 5 * 4096);
    int mem = memfd_create("randprog", 0);
    ftruncate(mem, 8 * 4096);
    snprintf(text, sizeof text, "/dev/shm/randprog-%d", (int)getpid());
    int shm = open(text, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ftruncate(shm, 8 * 4096);
    unlink(text);
    int null = open("/dev/null", O_WRONLY);
    char *p;
"#;

const POSTAMBLE: &str = r#"    read_all("/proc/self/maps");
    read_all("/proc/self/smaps");
    unlink(name);
    return 0;
}
"#;

/// The program of `seed`, with `steps` random steps. With `stores`, it also stores to
/// memory directly; without, it touches its mappings through system calls only (what a
/// `--strict` replay needs: the model sees no store a log does not show).
pub fn program(seed: u64, steps: u32, stores: bool) -> String {
    program_with(seed, steps, stores, Features::default())
}

/// Calls a program may make besides the ones every program draws from. A seed's program
/// without them is the same whatever this says of the others.
#[derive(Clone, Copy, Debug, Default)]
pub struct Features {
    /// SysV shared memory: shmget, shmat, shmdt, shmctl.
    pub sysv: bool,
}

/// [`program`] with the calls of `features` among the draws.
pub fn program_with(seed: u64, steps: u32, stores: bool, features: Features) -> String {
    let mut r = Rng::new(seed);
    let mut c = String::from(PREAMBLE);
    for _ in 0..steps {
        step(&mut r, &mut c, stores, features);
    }
    c.push_str(POSTAMBLE);
    c
}

fn prot(r: &mut Rng) -> &'static str {
    r.pick(&["PROT_READ", "PROT_READ | PROT_WRITE", "PROT_NONE", "PROT_READ | PROT_EXEC", "PROT_WRITE"])
}

/// One step: a call (or a few that belong together) on a random slot.
fn step(r: &mut Rng, c: &mut String, stores: bool, features: Features) {
    // A store, or a kernel copy into the same bytes from the file.
    let store = |at: &str, byte: u64| {
        if stores {
            format!("{at} = {byte};")
        } else {
            format!("pread(file, &{at}, 1, 0);")
        }
    };
    let s = r.below(SLOTS);
    let t = r.below(SLOTS);
    let pages = 1 + r.below(8);
    let off = r.below(4);
    let kinds = if features.sysv { 26 } else { 22 };
    match r.below(kinds) {
        22..=23 => {
            // A new segment (a page-multiple or not), attached where the kernel places it or
            // read-only, then removed: it lives while attached.
            let k = r.below(3);
            let size = pages * 4096 - if r.chance(30) { 100 } else { 0 };
            let flags = r.pick(&["0", "0", "SHM_RDONLY"]);
            let _ = writeln!(
                c,
                "    seg[{k}] = shmget(IPC_PRIVATE, {size}, IPC_CREAT | 0600); seg_len[{k}] = {pages} * 4096;\n    if (seg[{k}] >= 0) {{ p = shmat(seg[{k}], NULL, {flags}); if (p != (void *)-1) {{ slot[{s}] = p; len[{s}] = seg_len[{k}];{} }} shmctl(seg[{k}], IPC_RMID, NULL); }}",
                if flags == "0" { format!(" {}", store("p[0]", 4)) } else { String::new() }
            );
        }
        24 => {
            // Another attach of a segment still attached somewhere: where the kernel places
            // it, or over part of a region (SHM_REMAP, only where the whole segment fits in
            // the region: beyond it could be the C library's memory), or at an address taken
            // (EINVAL).
            let k = r.below(3);
            let addr = r.pick(&["NULL", "at", "at_remap"]);
            let (a, f) = match addr {
                "NULL" => ("NULL".to_string(), "0"),
                "at" => (format!("inside({t}, {off})"), "0"),
                _ => (
                    format!("(fit({t}, {off}, seg_len[{k}]) == seg_len[{k}] ? at({t}, {off}) : (char *)0x10000)"),
                    "SHM_REMAP",
                ),
            };
            let _ = writeln!(
                c,
                "    if (seg[{k}] >= 0) {{ p = shmat(seg[{k}], {a}, {f}); if (p != (void *)-1) {{ slot[{s}] = p; len[{s}] = seg_len[{k}]; }} shmctl(seg[{k}], IPC_STAT, &seg_ds); }}"
            );
        }
        25 => {
            // Detach the attach a region begins with (EINVAL if it is none).
            let _ = writeln!(c, "    if (slot[{s}]) shmdt(at({s}, {off}));");
            if off == 0 && r.chance(50) {
                let _ = writeln!(c, "    slot[{s}] = 0;");
            }
        }
        0..=3 => {
            // A fresh anonymous mapping, stored to when writable.
            let shared = if r.chance(30) { "MAP_SHARED" } else { "MAP_PRIVATE" };
            let extra = r.pick(&["", " | MAP_POPULATE", "", " | MAP_NORESERVE"]);
            let pr = prot(r);
            let _ = writeln!(
                c,
                "    p = mmap(NULL, {pages} * 4096, {pr}, {shared} | MAP_ANONYMOUS{extra}, -1, 0);\n    if (p != MAP_FAILED) {{ slot[{s}] = p; len[{s}] = {pages} * 4096;{} }}",
                if pr.contains("WRITE") { format!(" {} {}", store("p[0]", 1), store(&format!("p[len[{s}] - 1]"), 2)) } else { String::new() }
            );
        }
        4..=5 => {
            // A file mapping: the sparse file, the memfd or the /dev/shm file.
            let fd = r.pick(&["file", "mem", "shm"]);
            let shared = if r.chance(50) { "MAP_SHARED" } else { "MAP_PRIVATE" };
            let pr = r.pick(&["PROT_READ", "PROT_READ | PROT_WRITE"]);
            let fo = r.below(4);
            let _ = writeln!(
                c,
                "    p = mmap(NULL, {pages} * 4096, {pr}, {shared}, {fd}, {fo} * 4096);\n    if (p != MAP_FAILED) {{ slot[{s}] = p; len[{s}] = {pages} * 4096; }}"
            );
        }
        6 => {
            // A fixed mapping over part of another region (or wherever it points).
            let flags = r.pick(&["MAP_FIXED", "MAP_FIXED_NOREPLACE"]);
            let _ = writeln!(
                c,
                "    if (fit({t}, {off}, {pages} * 4096)) mmap(at({t}, {off}), fit({t}, {off}, {pages} * 4096), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | {flags}, -1, 0);"
            );
        }
        7 => {
            let _ = writeln!(c, "    if (fit({s}, {off}, 1)) munmap(at({s}, {off}), fit({s}, {off}, {pages} * 4096));");
            if off == 0 && r.chance(50) {
                let _ = writeln!(c, "    slot[{s}] = 0;");
            }
        }
        8..=9 => {
            let pr = prot(r);
            let _ = writeln!(
                c,
                "    if (fit({s}, {off}, 1)) mprotect(at({s}, {off}), fit({s}, {off}, {pages} * 4096), {pr});"
            );
        }
        10 => {
            let grow = 1 + r.below(12);
            let _ = writeln!(
                c,
                "    if (slot[{s}]) {{ p = mremap(slot[{s}], len[{s}], {grow} * 4096, MREMAP_MAYMOVE); if (p != MAP_FAILED) {{ slot[{s}] = p; len[{s}] = {grow} * 4096; }} }}"
            );
        }
        11 => {
            let adv = r.pick(&[
                "MADV_DONTNEED",
                "MADV_FREE",
                "MADV_WILLNEED",
                "MADV_COLD",
                "MADV_PAGEOUT",
                "MADV_NORMAL",
                "MADV_RANDOM",
            ]);
            let _ = writeln!(
                c,
                "    if (fit({s}, {off}, 1)) madvise(at({s}, {off}), fit({s}, {off}, {pages} * 4096), {adv});"
            );
        }
        12 => {
            let call = r.pick(&["mlock", "munlock"]);
            let _ = writeln!(c, "    if (fit({s}, {off}, 1)) {call}(at({s}, {off}), fit({s}, {off}, {pages} * 4096));");
        }
        13 => {
            let _ = writeln!(
                c,
                "    mincore(inside({s}, 0), fit({s}, 0, {pages} * 4096) ? fit({s}, 0, {pages} * 4096) : 4096, vec);"
            );
        }
        14 => {
            let flag = r.pick(&["MS_SYNC", "MS_ASYNC", "MS_INVALIDATE"]);
            let _ = writeln!(c, "    if (fit({s}, 0, 1)) msync(at({s}, 0), fit({s}, 0, {pages} * 4096), {flag});");
        }
        15 => {
            // Kernel copies: into the region from the file, and out of it to /dev/null.
            let n = 1 + r.below(3 * 4096);
            let _ = writeln!(c, "    pread(file, inside({s}, {off}), fit({s}, {off}, {n}) ? fit({s}, {off}, {n}) : 1, 0);\n    write(null, at({t}, 0), {n});");
        }
        16 => {
            // The heap grows, or gives back what the program added (never the C library's).
            let delta = r.below(5) as i64 - 1;
            let _ = writeln!(
                c,
                "    if ({delta} >= 0 || heap_added >= 4096) {{ sbrk({delta} * 4096); heap_added += {delta} * 4096; }}"
            );
            if r.chance(30) {
                let _ = writeln!(c, "    p = sbrk(0); if (brk(p + 3 * 4096) == 0) heap_added += 3 * 4096;");
            }
        }
        17 => {
            // A child that stores to a region it has just mapped, reads its maps and exits;
            // the parent waits, then stores to one of its own.
            let _ = writeln!(
                c,
                "    if (fork() == 0) {{ p = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); if (p != MAP_FAILED) {{ {} }} write(null, at({s}, 0), 100); read_all(\"/proc/self/maps\"); _exit(0); }}\n    wait(NULL);",
                store("p[0]", 3)
            );
        }
        18 => {
            let what = r.pick(&["/proc/self/maps", "/proc/self/smaps", "/proc/self/maps"]);
            let _ = writeln!(c, "    read_all(\"{what}\");");
        }
        19 => {
            let size = r.below(24);
            let fd = r.pick(&["file", "mem", "shm"]);
            let _ = writeln!(c, "    ftruncate({fd}, {size} * 4096);");
        }
        20 => {
            // Bad arguments: unaligned, zero length, wrapping, unknown advice.
            let bad = r.pick(&[
                "mmap((void *)0x1001, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);",
                "mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);",
                "munmap((void *)0x1001, 4096);",
                "mprotect((void *)-4096L, 8192, PROT_READ);",
                "madvise(NULL, 4096, 12345);",
                "mremap(NULL, 4096, 8192, 0);",
                "mlock((void *)-4096L, 8192);",
            ]);
            let _ = writeln!(c, "    {bad}");
        }
        _ => {
            // Stores through a pointer known to be writable: a fresh private mapping.
            let fill = if stores {
                format!("memset(p, {}, {pages} * 4096 / 2);", 1 + r.below(200))
            } else {
                format!("pread(file, p, {pages} * 4096 / 2, 0);")
            };
            let _ = writeln!(
                c,
                "    p = mmap(NULL, {pages} * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);\n    if (p != MAP_FAILED) {{ {fill} slot[{s}] = p; len[{s}] = {pages} * 4096; }}"
            );
        }
    }
}
