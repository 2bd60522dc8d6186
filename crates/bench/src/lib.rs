//! `bench`: the workloads of `mmsim bench`, run on the model and (with `--vs-host`) on this
//! machine's kernel, with ns per operation for both and their ratio.
//!
//! Each workload does the same system calls and memory accesses on both sides: the host side
//! is `csrc/hostbench.c`, run as a child process with transparent huge pages disabled (the
//! model has none). Only the part that does the work is timed (not building the starting
//! state). Memory figures come from this process's own `/proc/self/status`.
//!
//! It depends on the model (`mm`), the replayer and `abi`; only the CLI depends on it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use abi::*;
use mm::{Call, Config, Kernel, Pid};
use serde::{Deserialize, Serialize};
use std::time::Instant;

const PAGE: u64 = 4096;

/// A benchmark workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Write every page of a private anonymous mapping.
    FaultAnon,
    /// Read every page of a file mapping whose pages are in the page cache.
    FaultFile,
    /// mmap/munmap pairs of 1-16 pages with NULL hints among many live VMAs.
    MmapMunmap,
    /// mprotect of single pages of a large mapping, alternating protections.
    MprotectSplit,
    /// fork of a process with written memory, a write to every page in the child, exit.
    ForkExit,
    /// mmap/munmap/find with a million VMAs, against the same with a thousand.
    Vma1m,
    /// fork of a process with 1 GiB of written memory, the child exiting at once, and the
    /// wait for it; one operation is one fork.
    ForkBig,
    /// MADV_PAGEOUT of written anonymous memory to a swap device; one operation is one page.
    SwapOut,
    /// Reading back anonymous memory paged out to a swap device and no longer in the swap
    /// cache (major faults with swap readahead); one operation is one page.
    SwapIn,
    /// Replaying (with --verify) a generated trace of mmap/munmap pairs; one operation is
    /// one trace line.
    Replay,
    /// Replaying (with --verify) traces of real programs recorded with strace when the
    /// bench starts (`cat`, a shell running `cat`, `python3` where installed), reading the
    /// programs' files from this machine; one operation is one trace line.
    ReplayReal,
    /// `mmsim check --random`: random scripts run on this machine's kernel and on the model
    /// and compared, one after the other on one thread; one operation is one script.
    CheckRandom,
}

impl Workload {
    /// Every workload, in table order.
    pub const ALL: [Workload; 12] = [
        Workload::FaultAnon,
        Workload::FaultFile,
        Workload::MmapMunmap,
        Workload::MprotectSplit,
        Workload::ForkExit,
        Workload::Vma1m,
        Workload::ForkBig,
        Workload::SwapOut,
        Workload::SwapIn,
        Workload::Replay,
        Workload::ReplayReal,
        Workload::CheckRandom,
    ];

    /// The name used on the command line and in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Workload::FaultAnon => "fault-anon",
            Workload::FaultFile => "fault-file",
            Workload::MmapMunmap => "mmap-munmap",
            Workload::MprotectSplit => "mprotect-split",
            Workload::ForkExit => "fork-exit",
            Workload::Vma1m => "vma-1m",
            Workload::ForkBig => "fork-1g",
            Workload::SwapOut => "swap-out",
            Workload::SwapIn => "swap-in",
            Workload::Replay => "replay",
            Workload::ReplayReal => "replay-real",
            Workload::CheckRandom => "check-random",
        }
    }

    /// The workload with this name.
    pub fn from_name(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }
}

/// Sizes of the workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    /// fault-anon mapping size in MiB.
    pub fault_anon_mb: u64,
    /// fault-file mapping size in MiB.
    pub fault_file_mb: u64,
    /// fault-file passes over the file, each through a new mapping.
    pub fault_file_passes: u64,
    /// mmap-munmap pairs.
    pub mmap_pairs: u64,
    /// mmap-munmap live VMAs.
    pub mmap_live: u64,
    /// mprotect-split calls.
    pub mprotect_calls: u64,
    /// mprotect-split mapping size in MiB.
    pub mprotect_mb: u64,
    /// fork-exit memory in MiB.
    pub fork_mb: u64,
    /// fork-1g memory in MiB.
    pub fork_big_mb: u64,
    /// fork-1g forks per run.
    pub fork_big_forks: u64,
    /// VMAs of the big vma-1m address space (model).
    pub vmas_big: u64,
    /// VMAs of the big address space on the host (within its max_map_count).
    pub host_vmas_big: u64,
    /// VMAs of the small address space.
    pub vmas_small: u64,
    /// Operations of vma-1m at each size.
    pub vma_ops: u64,
    /// Lines of the generated trace.
    pub replay_lines: u64,
    /// Replays of each recorded real program's trace (replay-real).
    pub replay_real_rounds: u64,
    /// Random scripts of check-random.
    pub check_scripts: u64,
    /// swap-out and swap-in mapping size in MiB.
    pub swap_mb: u64,
}

impl Scale {
    /// The sizes the issue names.
    pub fn full() -> Self {
        Scale {
            fault_anon_mb: 256,
            fault_file_mb: 64,
            fault_file_passes: 8,
            mmap_pairs: 100_000,
            mmap_live: 1_000,
            mprotect_calls: 100_000,
            mprotect_mb: 1024,
            fork_mb: 256,
            fork_big_mb: 1024,
            fork_big_forks: 5,
            vmas_big: 1_000_000,
            host_vmas_big: 60_000,
            vmas_small: 1_000,
            vma_ops: 100_000,
            replay_lines: 2_000_000,
            replay_real_rounds: 20,
            check_scripts: 100,
            swap_mb: 64,
        }
    }

    /// Tiny sizes, for a smoke run in CI.
    pub fn quick() -> Self {
        Scale {
            fault_anon_mb: 4,
            fault_file_mb: 2,
            fault_file_passes: 2,
            mmap_pairs: 1_000,
            mmap_live: 100,
            mprotect_calls: 1_000,
            mprotect_mb: 16,
            fork_mb: 4,
            fork_big_mb: 8,
            fork_big_forks: 2,
            vmas_big: 10_000,
            host_vmas_big: 10_000,
            vmas_small: 100,
            vma_ops: 1_000,
            replay_lines: 10_000,
            replay_real_rounds: 1,
            check_scripts: 2,
            swap_mb: 2,
        }
    }
}

/// One timed run: total nanoseconds and operations.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timing {
    /// Nanoseconds.
    pub ns: u64,
    /// Operations.
    pub ops: u64,
}

impl Timing {
    /// Nanoseconds per operation.
    pub fn per_op(self) -> f64 {
        self.ns as f64 / self.ops.max(1) as f64
    }

    /// Adds another timed stretch of the same work.
    pub fn add(&mut self, t: Timing) {
        self.ns += t.ns;
        self.ops += t.ops;
    }
}

/// What a model run measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelRun {
    /// The timed part.
    pub timing: Timing,
    /// For vma-1m: the same operations with few VMAs.
    pub small: Option<Timing>,
    /// Host memory (bytes) the model used per resident simulated page, where measured.
    pub bytes_per_page: Option<f64>,
    /// Host memory (bytes) per simulated page written whole, where measured.
    pub bytes_per_full_page: Option<f64>,
    /// Host memory (bytes) per resident simulated page beyond its 4096 bytes of contents:
    /// the metadata a page costs (frame table entry, page-table entry, allocator overhead).
    pub meta_bytes_per_page: Option<f64>,
    /// Host memory (bytes) per VMA, where measured.
    pub bytes_per_vma: Option<f64>,
    /// For replay-real: each program's timed rounds, by name.
    pub per_program: Vec<(&'static str, Timing)>,
    /// Peak resident memory of this process after the run, in KiB.
    pub peak_rss_kb: u64,
}

/// A row of the report, as the JSON shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Row {
    /// Workload name.
    pub workload: String,
    /// Host ns per operation (None without --vs-host).
    pub host_ns_per_op: Option<f64>,
    /// Model ns per operation.
    pub model_ns_per_op: f64,
    /// host / model.
    pub ratio: Option<f64>,
    /// Operations per run.
    pub ops: u64,
    /// vma-1m: model cost per operation at the big size over the cost at the small size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling: Option<f64>,
    /// vma-1m: the host's own scaling (its big size is within its max_map_count).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_scaling: Option<f64>,
    /// Host bytes per resident simulated page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_bytes_per_page: Option<f64>,
    /// Host bytes per resident simulated page written whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_bytes_per_full_page: Option<f64>,
    /// Host bytes of metadata per resident simulated page (a page written whole, less its
    /// 4096 bytes of contents).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_meta_bytes_per_page: Option<f64>,
    /// Host bytes per VMA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_bytes_per_vma: Option<f64>,
    /// replay-real: each program's ns per trace line (median of the runs), by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_program: Vec<(String, f64)>,
    /// Peak RSS of the process that ran the workload on the model (KiB).
    pub peak_rss_kb: u64,
}

/// Reads a `kB` field of this process's /proc/self/status.
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn kernel(ram: u64) -> (Kernel, Pid) {
    let mut k = Kernel::new(Config { ram_bytes: ram, event_capacity: 0, ..Config::default() });
    let p = k.spawn_empty("bench").expect("spawn");
    (k, p)
}

/// The xorshift generator the host side uses too, so both do the same operations.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn timed(f: impl FnOnce() -> u64) -> Timing {
    let t = Instant::now();
    let ops = f();
    Timing { ns: t.elapsed().as_nanos() as u64, ops }
}

const RW: u64 = PROT_READ | PROT_WRITE;
const ANON: u64 = MAP_PRIVATE | MAP_ANONYMOUS;

fn make_vmas(k: &mut Kernel, p: Pid, n: u64) -> Vec<u64> {
    (0..n)
        .map(|i| {
            k.dispatch(
                p,
                &Call::Mmap {
                    addr: 0,
                    len: PAGE,
                    prot: if i & 1 == 1 { PROT_READ } else { RW },
                    flags: ANON,
                    fd: -1,
                    off: 0,
                },
            )
            .expect("mmap")
        })
        .collect()
}

/// Runs a workload on the model.
pub fn run_model(w: Workload, s: &Scale) -> ModelRun {
    let mut out = ModelRun::default();
    match w {
        Workload::SwapOut | Workload::SwapIn => {
            let len = s.swap_mb << 20;
            let (mut k, p) = kernel(2 * len + (64 << 20));
            let spec =
                mm::swap::SwapSpec { path: "/swap".into(), size: 2 * len + PAGE, priority: None, partition: false };
            k.swapon(&spec).expect("swapon");
            let a = k.mmap(p, 0, len, RW, ANON, -1, 0).expect("mmap");
            for off in (0..len).step_by(PAGE as usize) {
                k.store(p, a + off, &[1]).expect("store");
            }
            if w == Workload::SwapOut {
                out.timing = timed(|| {
                    k.madvise(p, a, len, MADV_PAGEOUT).expect("madvise");
                    len / PAGE
                });
            } else {
                k.madvise(p, a, len, MADV_PAGEOUT).expect("madvise");
                k.load(p, a, len).expect("load");
                k.madvise(p, a, len, MADV_PAGEOUT).expect("madvise");
                out.timing = timed(|| {
                    for off in (0..len).step_by(PAGE as usize) {
                        k.load(p, a + off, 1).expect("load");
                    }
                    len / PAGE
                });
            }
        }
        Workload::FaultAnon => {
            let len = s.fault_anon_mb << 20;
            let (mut k, p) = kernel(2 * len + (64 << 20));
            let a = k.dispatch(p, &Call::Mmap { addr: 0, len, prot: RW, flags: ANON, fd: -1, off: 0 }).expect("mmap");
            let before = status_kb("VmRSS:");
            out.timing = timed(|| {
                for off in (0..len).step_by(PAGE as usize) {
                    k.store(p, a + off, &[1]).expect("store");
                }
                len / PAGE
            });
            let after = status_kb("VmRSS:");
            out.bytes_per_page = Some((after.saturating_sub(before) * 1024) as f64 / (len / PAGE) as f64);
            // As many other pages written whole (untimed): the host memory a full page costs.
            // Fresh pages, not the same ones rewritten: a rewrite frees each page's small
            // box of bytes, which the allocator keeps (64 B a page counted as metadata).
            let b = k.dispatch(p, &Call::Mmap { addr: 0, len, prot: RW, flags: ANON, fd: -1, off: 0 }).expect("mmap");
            let full = vec![0x5au8; PAGE as usize];
            let full_before = status_kb("VmRSS:");
            for off in (0..len).step_by(PAGE as usize) {
                k.store(p, b + off, &full).expect("store");
            }
            let full_after = status_kb("VmRSS:");
            let full = (full_after.saturating_sub(full_before) * 1024) as f64 / (len / PAGE) as f64;
            out.bytes_per_full_page = Some(full);
            out.meta_bytes_per_page = Some(full - PAGE as f64);
        }
        Workload::FaultFile => {
            let len = s.fault_file_mb << 20;
            let (mut k, p) = kernel(2 * len + (64 << 20));
            // Written in 64 KiB pieces, as the host side writes its file.
            let f = k.create_file("/tmp/bench", &[]);
            let chunk = vec![7u8; 65536];
            for off in (0..len).step_by(chunk.len()) {
                k.file_write(f, off, &chunk).expect("write");
            }
            let fd = k.open(p, "/tmp/bench", O_RDONLY).expect("open") as i64;
            // Several passes, each through a new mapping, as the host side does: one pass
            // takes a few milliseconds, short enough for one hiccup of the machine to show.
            // Every pass is timed, the first too, on both sides: each side's first mapping of
            // the cached pages is the slower (the host's ~200 ns a page against ~96 for the
            // next ones on the development machine; the model's 45-49 against 27-38, with
            // the same instructions, and as slow for a second file after the first one's
            // passes), and a fresh process pays both.
            for _ in 0..s.fault_file_passes {
                let a = k
                    .dispatch(p, &Call::Mmap { addr: 0, len, prot: PROT_READ, flags: MAP_PRIVATE, fd, off: 0 })
                    .expect("mmap");
                out.timing.add(timed(|| {
                    // One byte a page, as the host side reads, into a buffer of the caller's.
                    let mut byte = [0u8];
                    for off in (0..len).step_by(PAGE as usize) {
                        k.load_into(p, a + off, &mut byte).expect("load");
                    }
                    len / PAGE
                }));
                k.dispatch(p, &Call::Munmap { addr: a, len }).expect("munmap");
            }
        }
        Workload::MmapMunmap => {
            let (mut k, p) = kernel(1 << 30);
            make_vmas(&mut k, p, s.mmap_live);
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
            out.timing = timed(|| {
                for _ in 0..s.mmap_pairs {
                    let len = (1 + rng.next() % 16) * PAGE;
                    let a = k
                        .dispatch(p, &Call::Mmap { addr: 0, len, prot: RW, flags: ANON, fd: -1, off: 0 })
                        .expect("mmap");
                    k.dispatch(p, &Call::Munmap { addr: a, len }).expect("munmap");
                }
                s.mmap_pairs
            });
        }
        Workload::MprotectSplit => {
            let len = s.mprotect_mb << 20;
            let (mut k, p) = kernel(1 << 30);
            let a = k
                .dispatch(p, &Call::Mmap { addr: 0, len, prot: RW, flags: ANON | MAP_NORESERVE, fd: -1, off: 0 })
                .expect("mmap");
            let pages = len / PAGE;
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
            let mut page = 0;
            out.timing = timed(|| {
                for i in 0..s.mprotect_calls {
                    if i & 1 == 0 {
                        page = rng.next() % pages;
                    }
                    let prot = if i & 1 == 1 { RW } else { PROT_READ };
                    k.dispatch(p, &Call::Mprotect { addr: a + page * PAGE, len: PAGE, prot }).expect("mprotect");
                }
                s.mprotect_calls
            });
        }
        Workload::ForkExit => {
            let len = s.fork_mb << 20;
            let (mut k, p) = kernel(3 * len + (64 << 20));
            let a = k.dispatch(p, &Call::Mmap { addr: 0, len, prot: RW, flags: ANON, fd: -1, off: 0 }).expect("mmap");
            for off in (0..len).step_by(PAGE as usize) {
                k.store(p, a + off, &[1]).expect("store");
            }
            out.timing = timed(|| {
                let c = k.fork(p).expect("fork");
                for off in (0..len).step_by(PAGE as usize) {
                    k.store(c, a + off, &[2]).expect("store");
                }
                k.exit(c, 0).expect("exit");
                k.reap(c).expect("reap");
                len / PAGE
            });
        }
        Workload::ForkBig => {
            let len = s.fork_big_mb << 20;
            let (mut k, p) = kernel(2 * len + (64 << 20));
            let a = k.mmap(p, 0, len, RW, ANON, -1, 0).expect("mmap");
            for off in (0..len).step_by(PAGE as usize) {
                k.store(p, a + off, &[1]).expect("store");
            }
            for _ in 0..s.fork_big_forks {
                out.timing.add(timed(|| {
                    let c = k.fork(p).expect("fork");
                    k.exit(c, 0).expect("exit");
                    k.reap(c).expect("reap");
                    1
                }));
            }
        }
        Workload::Replay => {
            let mut log = Vec::new();
            for _ in 0..s.replay_lines / 2 {
                log.extend_from_slice(b"1000  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffd000\n");
                log.extend_from_slice(b"1000  munmap(0x7ffff7ffd000, 8192)     = 0\n");
            }
            let opts =
                replay::Options { mode: replay::Mode::Verify, keep_going: false, cwd: None, threads_unordered: false };
            let log: std::sync::Arc<[u8]> = log.into();
            out.timing = timed(|| {
                let ids = replay::Identities::collect(&log[..]);
                let r = replay::replay(|| Ok(std::io::Cursor::new(log.clone())), ids, opts, |_| {});
                assert_eq!(r.failed, 0, "{}", r.summary());
                r.lines
            });
        }
        Workload::ReplayReal => {
            let traces = match real_traces() {
                Ok(t) => t,
                Err(e) => panic!("replay-real: {e}"),
            };
            let opts =
                replay::Options { mode: replay::Mode::Verify, keep_going: false, cwd: None, threads_unordered: false };
            // One untimed round first: it brings the files into the page cache (the row is
            // of a warm page cache) and this process's heap up to its size, whose first
            // touch the kernel pays for once per process (a first replay of the python3
            // trace took 2-5x as long as the next ones).
            for (rounds, timed_rounds) in [(1, false), (s.replay_real_rounds, true)] {
                for (name, log) in (0..rounds).flat_map(|_| traces.iter()) {
                    // As `mmsim replay` takes a log of this size: the identities from the text
                    // while a thread parses it, then runs whose first replays the events as
                    // they come, keeping them.
                    let t = timed(|| {
                        let files = std::sync::Arc::new(replay::Files::host());
                        let r = replay::replay_text(log.clone(), opts.clone(), files, |_| {});
                        assert_eq!(r.failed, 0, "replay-real {name}: {}", r.summary());
                        r.lines
                    });
                    if timed_rounds {
                        out.timing.add(t);
                        match out.per_program.iter_mut().find(|(n, _)| n == name) {
                            Some((_, sum)) => sum.add(t),
                            None => out.per_program.push((name, t)),
                        }
                    }
                }
            }
        }
        Workload::CheckRandom => {
            out.timing = timed(|| {
                for seed in 1..=s.check_scripts {
                    let script = hostdiff::gen::random_script(seed, CHECK_STEPS);
                    let host = hostdiff::run_on_host(&script).unwrap_or_else(|e| panic!("seed {seed}: host run: {e}"));
                    let model = hostdiff::model::run_on_model(&script, &host.init)
                        .unwrap_or_else(|e| panic!("seed {seed}: model run: {e}"));
                    std::hint::black_box(hostdiff::compare::compare(&script, &host, &model));
                }
                s.check_scripts
            });
        }
        Workload::Vma1m => {
            let before = status_kb("VmRSS:");
            let mut big = VmaSpace::build(s.vmas_big);
            let after = status_kb("VmRSS:");
            out.bytes_per_vma = Some((after.saturating_sub(before) * 1024) as f64 / s.vmas_big as f64);
            let mut small = VmaSpace::build(s.vmas_small);
            // The two sizes take turns in blocks, so that both costs are measured under the
            // same machine conditions: on a shared machine the same code's speed drifts by up
            // to a factor of two within seconds, and two measurements taken one after the
            // other gave ratios anywhere from 1.3x to 2.1x.
            const BLOCKS: u64 = 20;
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
            let (mut big_t, mut small_t) = (Timing::default(), Timing::default());
            for b in 0..BLOCKS {
                let n = s.vma_ops / BLOCKS + u64::from(b < s.vma_ops % BLOCKS);
                small_t.add(timed(|| small.rounds(n, &mut rng)));
                big_t.add(timed(|| big.rounds(n, &mut rng)));
            }
            out.timing = big_t;
            out.small = Some(small_t);
        }
    }
    out.peak_rss_kb = status_kb("VmHWM:");
    out
}

/// Steps of each check-random script (`mmsim check --random`'s default).
const CHECK_STEPS: usize = 60;

/// An address space of `count` one-page VMAs for the vma-1m rounds.
struct VmaSpace {
    k: Kernel,
    p: Pid,
    /// The lowest VMA's start; they cover `pages` pages from there, side by side.
    lo: u64,
    pages: u64,
}

impl VmaSpace {
    fn build(count: u64) -> VmaSpace {
        let mut k = Kernel::new(Config {
            ram_bytes: 1 << 30,
            event_capacity: 0,
            max_map_count: count * 2 + 100,
            ..Config::default()
        });
        let p = k.spawn_empty("bench").expect("spawn");
        let vmas = make_vmas(&mut k, p, count);
        let lo = vmas.iter().copied().min().expect("VMAs");
        let pages = (vmas.iter().copied().max().expect("VMAs") + PAGE - lo) / PAGE;
        // The model places them side by side, so every page of the span is in one of them.
        assert_eq!(pages, count, "the VMAs cover one span");
        VmaSpace { k, p, lo, pages }
    }

    /// `n` rounds of mmap(NULL) + munmap + find; returns `n`.
    ///
    /// The address found is a random page of the span, computed rather than read from the
    /// table of the VMAs' addresses: at a million VMAs that table is 8 MiB, and reading it
    /// would add a cache miss of the benchmark's own to every round at the big size only.
    fn rounds(&mut self, n: u64, rng: &mut Rng) -> u64 {
        let VmaSpace { k, p, lo, pages } = self;
        for _ in 0..n {
            let a = k
                .dispatch(
                    *p,
                    &Call::Mmap { addr: 0, len: PAGE, prot: PROT_READ, flags: ANON | MAP_NORESERVE, fd: -1, off: 0 },
                )
                .expect("mmap");
            k.dispatch(*p, &Call::Munmap { addr: a, len: PAGE }).expect("munmap");
            let target = *lo + rng.next() % *pages * PAGE;
            let found = k.mm(*p).expect("mm").vmas.find(target).is_some_and(|v| v.contains(target));
            assert!(found, "no VMA holds {target:#x}");
        }
        n
    }
}

/// The host side: where `csrc/hostbench.c` was built, if it was.
pub fn host_bench_path() -> Option<&'static str> {
    let p = env!("MMSIM_HOSTBENCH");
    (!p.is_empty()).then_some(p)
}

fn host(args: &[String]) -> Result<Timing, String> {
    let exe = host_bench_path().ok_or("the host benchmark program was not built (no C compiler)")?;
    let out = std::process::Command::new(exe).args(args).output().map_err(|e| format!("cannot run {exe}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{exe} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace().map(|v| v.parse::<u64>());
    match (it.next(), it.next()) {
        (Some(Ok(ns)), Some(Ok(ops))) => Ok(Timing { ns, ops }),
        _ => Err(format!("unexpected output from {exe}: {text}")),
    }
}

/// Runs a workload on the host kernel; for vma-1m returns (big, small).
pub fn run_host(w: Workload, s: &Scale) -> Result<(Timing, Option<Timing>), String> {
    let a = |v: u64| v.to_string();
    Ok(match w {
        Workload::FaultAnon => (host(&["fault-anon".into(), a(s.fault_anon_mb)])?, None),
        Workload::FaultFile => {
            let dir = std::env::temp_dir().display().to_string();
            (host(&["fault-file".into(), a(s.fault_file_mb), dir, a(s.fault_file_passes)])?, None)
        }
        Workload::MmapMunmap => (host(&["mmap-munmap".into(), a(s.mmap_pairs), a(s.mmap_live)])?, None),
        Workload::MprotectSplit => (host(&["mprotect-split".into(), a(s.mprotect_calls), a(s.mprotect_mb)])?, None),
        Workload::ForkExit => (host(&["fork-exit".into(), a(s.fork_mb)])?, None),
        Workload::ForkBig => (host(&["fork-big".into(), a(s.fork_big_mb), a(s.fork_big_forks)])?, None),
        Workload::SwapOut | Workload::SwapIn => {
            // A swap file twice the mapping, active only while the host side runs.
            let _swap = hostdiff::swapfile::HostSwap::new(2 * (s.swap_mb << 20) + PAGE)?;
            (host(&[w.name().into(), a(s.swap_mb)])?, None)
        }
        Workload::Replay | Workload::ReplayReal => return Err("replay has no host side (it replays a log)".into()),
        Workload::CheckRandom => return Err("check-random runs on the host and the model at once".into()),
        Workload::Vma1m => {
            let big = host(&["vma-ops".into(), a(s.host_vmas_big), a(s.vma_ops)])?;
            let small = host(&["vma-ops".into(), a(s.vmas_small), a(s.vma_ops)])?;
            (big, Some(small))
        }
    })
}

/// The real programs replay-real records: name and command line.
fn real_programs() -> Vec<(&'static str, Vec<String>)> {
    let on_path = |tool: &str| {
        std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
    };
    let mut v = vec![
        ("cat", vec!["cat".to_string(), "/proc/self/maps".to_string()]),
        ("sh", vec!["sh".into(), "-c".into(), "cat /proc/self/maps; cat /proc/self/maps > /dev/null".into()]),
    ];
    if on_path("python3") {
        v.push(("python3", vec!["python3".into(), "-c".into(), "open('/proc/self/maps').read()".into()]));
    }
    v
}

/// A recorded real program's trace: the program's name and the trace's text.
pub type RealTrace = (&'static str, std::sync::Arc<[u8]>);

/// The traces of [`real_programs`], recorded once per process (`setarch -R strace -f -v -s
/// 1048576`, as `mmsim record` does) in a temporary directory: name and text.
pub fn real_traces() -> Result<&'static [RealTrace], String> {
    static TRACES: std::sync::OnceLock<Result<Vec<RealTrace>, String>> = std::sync::OnceLock::new();
    let r = TRACES.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("mmsim-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut out = Vec::new();
        for (name, cmd) in real_programs() {
            let file = dir.join(format!("{name}.trace"));
            let status = std::process::Command::new("setarch")
                .args(["x86_64", "-R", "strace", "-f", "-v", "-s", "1048576", "-o"])
                .arg(&file)
                .arg("--")
                .args(&cmd)
                .current_dir(&dir)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .map_err(|e| format!("cannot run `setarch -R strace` (are strace and setarch installed?): {e}"))?;
            if !status.success() {
                return Err(format!("recording {name} with strace failed ({status})"));
            }
            let text = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            out.push((name, text.into()));
        }
        let _ = std::fs::remove_dir_all(&dir);
        Ok(out)
    });
    r.as_deref().map_err(Clone::clone)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Runs a workload `runs` times on the model (and host) and builds its row from the medians.
pub fn measure(w: Workload, s: &Scale, runs: usize, vs_host: bool) -> Result<Row, String> {
    let runs = runs.max(1);
    if w == Workload::ReplayReal {
        real_traces()?;
    }
    if w == Workload::CheckRandom {
        hostdiff::support().map_err(|e| format!("check-random cannot run on this host: {e}"))?;
    }
    let with_host = vs_host && !matches!(w, Workload::Replay | Workload::ReplayReal | Workload::CheckRandom);
    let (mut model, mut scalings, mut host, mut host_small) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut programs: Vec<(String, Vec<f64>)> = Vec::new();
    let mut last = ModelRun::default();
    let mut first: Option<ModelRun> = None;
    // The model's and the host's runs take turns, so that both medians sample the same
    // stretch of the machine's drifting speed (it varies by up to 2x within seconds here).
    for _ in 0..runs {
        last = run_model(w, s);
        // Memory is measured on a fresh process only: later runs reuse freed host memory.
        first.get_or_insert_with(|| last.clone());
        model.push(last.timing.per_op());
        for (name, t) in &last.per_program {
            match programs.iter_mut().find(|(n, _)| n == name) {
                Some((_, v)) => v.push(t.per_op()),
                None => programs.push((name.to_string(), vec![t.per_op()])),
            }
        }
        if let Some(t) = last.small {
            scalings.push(last.timing.per_op() / t.per_op());
        }
        if with_host {
            let (big, small) = run_host(w, s)?;
            host.push(big.per_op());
            host_small.extend(small.map(Timing::per_op));
        }
    }
    let model_ns = median(model);
    // Each run's big and small costs were measured side by side (see vma-1m): the median of
    // the runs' ratios, not a ratio of medians taken at different times.
    let scaling = (!scalings.is_empty()).then(|| median(scalings));
    let host_ns = (!host.is_empty()).then(|| median(host));
    let host_scaling = host_ns.filter(|_| !host_small.is_empty()).map(|h| h / median(host_small));
    Ok(Row {
        workload: w.name().into(),
        host_ns_per_op: host_ns,
        model_ns_per_op: model_ns,
        ratio: host_ns.map(|h| h / model_ns),
        ops: last.timing.ops,
        scaling,
        host_scaling,
        model_bytes_per_page: first.as_ref().and_then(|f| f.bytes_per_page),
        model_bytes_per_full_page: first.as_ref().and_then(|f| f.bytes_per_full_page),
        model_meta_bytes_per_page: first.as_ref().and_then(|f| f.meta_bytes_per_page),
        model_bytes_per_vma: first.as_ref().and_then(|f| f.bytes_per_vma),
        per_program: programs.into_iter().map(|(n, v)| (n, median(v))).collect(),
        peak_rss_kb: last.peak_rss_kb,
    })
}

/// The report as a table.
pub fn table(rows: &[Row]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "{:<16} {:>14} {:>14} {:>11}  notes", "workload", "host ns/op", "model ns/op", "host/model");
    for r in rows {
        let host = r.host_ns_per_op.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into());
        let ratio = r.ratio.map(|v| format!("{v:.2}x")).unwrap_or_else(|| "-".into());
        let mut notes = Vec::new();
        if let Some(sc) = r.scaling {
            notes.push(format!("model cost at big/small size {sc:.2}x"));
        }
        if let Some(sc) = r.host_scaling {
            notes.push(format!("host {sc:.2}x"));
        }
        if let Some(b) = r.model_bytes_per_page {
            notes.push(format!("{b:.0} B/resident page"));
        }
        if let Some(b) = r.model_bytes_per_full_page {
            notes.push(format!("{b:.0} B/page written whole"));
        }
        if let Some(b) = r.model_meta_bytes_per_page {
            notes.push(format!("{b:.0} B metadata/resident page"));
        }
        if let Some(b) = r.model_bytes_per_vma {
            notes.push(format!("{b:.0} B/VMA"));
        }
        if !r.per_program.is_empty() {
            let each: Vec<String> = r.per_program.iter().map(|(n, ns)| format!("{n} {ns:.0}")).collect();
            notes.push(format!("ns/line {}", each.join(" ")));
        }
        if r.workload == Workload::CheckRandom.name() {
            notes.push(format!("{:.1} scripts/s on one thread", 1e9 / r.model_ns_per_op));
        }
        notes.push(format!("peak RSS {} MiB", r.peak_rss_kb / 1024));
        let _ = writeln!(
            s,
            "{:<16} {:>14} {:>14.1} {:>11}  {}",
            r.workload,
            host,
            r.model_ns_per_op,
            ratio,
            notes.join(", ")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_runs_on_the_model_at_quick_size() {
        for w in Workload::ALL {
            if w == Workload::ReplayReal && !hostreq::need_tools("replay-real", &["strace", "setarch"]) {
                continue;
            }
            if w == Workload::CheckRandom && hostreq::need("check-random", hostdiff::support()).is_none() {
                continue;
            }
            let r = measure(w, &Scale::quick(), 1, false).unwrap();
            assert!(r.ops > 0 && r.model_ns_per_op > 0.0, "{r:?}");
            assert_eq!(Workload::from_name(w.name()), Some(w));
        }
    }

    #[test]
    fn the_json_rows_have_the_documented_fields() {
        let r = measure(Workload::MmapMunmap, &Scale::quick(), 1, false).unwrap();
        let v = serde_json::to_value(&r).unwrap();
        for key in ["workload", "host_ns_per_op", "model_ns_per_op", "ratio"] {
            assert!(v.get(key).is_some(), "{key} missing in {v}");
        }
    }
}
