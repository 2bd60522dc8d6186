//! Random scripts for differential runs: sequences of the memory calls (mmap, munmap,
//! mprotect, brk, mremap, madvise, the mlock family, msync), accesses, forks and exits
//! that exercise placement, merging, splitting, COW and faults, with views of the result
//! (maps, smaps, status, mincore vectors, pagemap entries), built only from addresses the
//! script itself obtained (so they are meaningful on any machine).

use crate::host::{Addr, Fd, HostScript, Op, OpenMode};
use abi::*;

const PAGE: u64 = 4096;

/// A small deterministic generator (splitmix64), so a seed names a script everywhere.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// True with probability `pct`%.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    /// One of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

#[derive(Clone, Copy, Debug)]
struct Region {
    step: usize,
    pages: u64,
    /// Made as private anonymous memory (page-level LRU advice stays on such regions).
    anon: bool,
}
/// Pushes, in process 0, a PROT_NONE mapping that keeps the harness's own mappings (the vDSO
/// just above) apart from the script's: steps addressed relative to the script's mappings can
/// run past their ends, and must not reach memory the harness needs to keep running. (Not a
/// multiple of 2 MiB, so it is not THP-aligned away from the vDSO.) Returns its step.
pub fn push_harness_guard(s: &mut HostScript) -> usize {
    s.push(
        0,
        Op::Mmap {
            addr: Addr::Abs(0),
            len: (8 << 20) + PAGE,
            prot: PROT_NONE,
            flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
            fd: Fd::None,
            offset: 0,
        },
    )
}

/// Builds a random script of about `steps` steps from `seed`.
pub fn random_script(seed: u64, steps: usize) -> HostScript {
    generate(seed, steps, Plan { steps: Vec::new(), r: Rng::new(0) }, &[])
}

/// [`random_script`] on a machine with swap: one swap file, or two (one in three scripts),
/// of 40 KiB to 8 MiB with a priority or the kernel's default, activated early (`swapon`,
/// in process 0), shown (`/proc/swaps`) a few times, and in half the scripts deactivated
/// again before the end (`swapoff`, which brings every page on it back); between them,
/// process 0 writes and pages out (MADV_PAGEOUT) up to 64 pages of an anonymous region of
/// its own a few times, besides the script's own MADV_PAGEOUT and MADV_COLD steps, and its
/// loads and stores fault pages back.
/// Where and what is drawn from `seed` apart from the script's own steps: up to the first
/// of these steps, the script is [`random_script`]'s. The host side needs root
/// (docs/swap.md).
pub fn random_swap_script(seed: u64, steps: usize) -> HostScript {
    let mut r = Rng::new(seed ^ 0x5a5a_c0de_0000_5a5a);
    let n = steps.max(8) as u64;
    let two = r.chance(33);
    let size = |r: &mut Rng| crate::host::MIN_SWAP_FILE_SIZE + r.below(2048) * PAGE;
    let priority = |r: &mut Rng| if r.chance(50) { None } else { Some(r.below(100) as i32) };
    let mut files = vec![(size(&mut r), priority(&mut r))];
    let on = 2 + r.below(n / 4);
    let mut plan = vec![(on as usize, Planned::Op(Op::Swapon { device: 0 }))];
    if two {
        files.push((size(&mut r), priority(&mut r)));
        plan.push(((n / 4 + r.below(n / 4)) as usize, Planned::Op(Op::Swapon { device: 1 })));
    }
    for _ in 0..2 + r.below(4) {
        plan.push(((on + 1 + r.below(n - on)) as usize, Planned::Pageout));
    }
    for _ in 0..1 + r.below(3) {
        plan.push(((on + 1 + r.below(n - on)) as usize, Planned::Op(Op::Swaps)));
    }
    if r.chance(50) {
        let at = (n / 2 + r.below(n / 2 - n / 8)) as usize;
        plan.push((at, Planned::Op(Op::Swapoff { device: 0 })));
        plan.push((at + 1, Planned::Op(Op::Swaps)));
    }
    // A stable sort: a swapon comes before a step drawn for the same place.
    plan.sort_by_key(|(at, _)| *at);
    generate(seed, steps, Plan { steps: plan, r }, &files)
}

/// A step a [`Plan`] adds.
#[derive(Clone, Debug)]
enum Planned {
    /// This step.
    Op(Op),
    /// A store over one of process 0's anonymous regions (its first 64 pages at most), drawn
    /// then, and MADV_PAGEOUT of what was written.
    Pageout,
}

/// Machine-wide steps added to a random script (in process 0, which never exits) where it
/// reaches the given lengths, and the generator they draw from.
struct Plan {
    steps: Vec<(usize, Planned)>,
    r: Rng,
}

/// The steps of a random script, with `plan`'s and the swap files `files` (size, priority)
/// they name.
fn generate(seed: u64, steps: usize, mut plan: Plan, files: &[(u64, Option<i32>)]) -> HostScript {
    let mut r = Rng::new(seed);
    let mut s = HostScript::new();
    for &(size, priority) in files {
        s.add_swap_file(size, priority);
    }
    plan.steps.reverse();
    let small = s.add_file(3 * PAGE + 1000);
    let large = s.add_file(40 * PAGE);
    let huge = s.add_file(3 << 20);
    let small_rw = s.open(small, OpenMode::ReadWrite);
    let small_ro = s.open(small, OpenMode::ReadOnly);
    let large_rw = s.open(large, OpenMode::ReadWrite);
    let huge_ro = s.open(huge, OpenMode::ReadOnly);
    let fds = [(small_rw, 4u64), (small_ro, 4), (large_rw, 40), (huge_ro, 768)];
    // Per process: alive, and the regions it can name.
    let mut procs: Vec<Option<Vec<Region>>> = vec![Some(Vec::new())];
    let brk0 = s.push(0, Op::Brk { addr: Addr::Abs(0) });
    push_harness_guard(&mut s);
    let prots = [
        PROT_READ,
        PROT_READ | PROT_WRITE,
        PROT_NONE,
        PROT_READ | PROT_EXEC,
        PROT_WRITE,
        PROT_READ | PROT_WRITE | PROT_EXEC,
    ];
    while s.steps.len() < steps {
        while plan.steps.last().is_some_and(|&(at, _)| at <= s.steps.len()) {
            match plan.steps.pop() {
                Some((_, Planned::Op(op))) => {
                    s.push(0, op);
                }
                Some((_, Planned::Pageout)) => {
                    let own: Vec<Region> = procs[0].iter().flatten().filter(|g| g.anon).copied().collect();
                    if !own.is_empty() {
                        // Written first, so that there is something to swap (a store to a
                        // region made read-only since is a SIGSEGV, also compared).
                        let reg = own[plan.r.below(own.len() as u64) as usize];
                        let addr = Addr::Result { op: reg.step, offset: 0 };
                        let len = reg.pages.min(64) * PAGE;
                        s.push(0, Op::Store { addr, len, byte: 1 + plan.r.below(255) as u8 });
                        s.push(0, Op::Madvise { addr, len, advice: MADV_PAGEOUT });
                    }
                }
                None => {}
            }
        }
        let alive: Vec<usize> = procs.iter().enumerate().filter(|(_, p)| p.is_some()).map(|(i, _)| i).collect();
        let p = r.pick(&alive);
        let regions = procs[p].clone().unwrap_or_default();
        let at = |r: &mut Rng, regions: &[Region]| -> Option<(Addr, u64)> {
            if regions.is_empty() {
                return None;
            }
            let reg = regions[r.below(regions.len() as u64) as usize];
            let off = r.below(reg.pages + 2) as i64 - 1;
            Some((Addr::Result { op: reg.step, offset: off * PAGE as i64 }, reg.pages))
        };
        if r.chance(35) {
            if let Some(op) = new_call(&mut r, &regions, p) {
                let is_remap = matches!(op, Op::Mremap { .. });
                let step = s.push(p, op);
                if is_remap {
                    if let (Some(list), Some(Op::Mremap { new_len, .. })) =
                        (procs[p].as_mut(), s.steps.get(step).map(|st| &st.op))
                    {
                        list.push(Region { step, pages: new_len.div_ceil(PAGE).min(1024), anon: false });
                    }
                }
            }
            continue;
        }
        match r.below(100) {
            0..=29 => {
                let pages = match r.below(20) {
                    0 => 512,
                    1 => 1024,
                    2 => 600,
                    _ => 1 + r.below(16),
                };
                let prot = r.pick(&prots);
                let (mut flags, fd, mut offset) = match r.below(10) {
                    0..=4 => (MAP_PRIVATE | MAP_ANONYMOUS, Fd::None, 0),
                    5 => (MAP_SHARED | MAP_ANONYMOUS, Fd::None, 0),
                    6 | 7 => {
                        let (slot, fpages) = r.pick(&fds);
                        (MAP_PRIVATE, Fd::Slot(slot), r.below(fpages) * PAGE)
                    }
                    _ => {
                        let (slot, fpages) = r.pick(&fds);
                        (MAP_SHARED, Fd::Slot(slot), r.below(fpages) * PAGE)
                    }
                };
                if r.chance(8) {
                    flags |= r.pick(&[MAP_NORESERVE, MAP_STACK, MAP_POPULATE, MAP_GROWSDOWN, MAP_LOCKED]);
                }
                let mut addr = Addr::Abs(0);
                if r.chance(25) {
                    if let Some((a, _)) = at(&mut r, &regions) {
                        addr = a;
                        flags |= r.pick(&[MAP_FIXED, MAP_FIXED_NOREPLACE, 0]);
                    }
                }
                if r.chance(3) {
                    offset += r.pick(&[1, PAGE / 2]);
                }
                let len = if r.chance(3) {
                    r.pick(&[0, u64::MAX - PAGE, 1 << 47])
                } else {
                    pages * PAGE - r.below(2) * r.below(PAGE)
                };
                let anon = matches!(fd, Fd::None) && flags & MAP_TYPE == MAP_PRIVATE;
                let step = s.push(p, Op::Mmap { addr, len, prot, flags, fd, offset });
                if let Some(list) = procs[p].as_mut() {
                    list.push(Region { step, pages, anon });
                }
            }
            30..=39 => {
                if let Some((addr, pages)) = at(&mut r, &regions) {
                    let len = (1 + r.below(pages + 1)) * PAGE - r.below(2) * r.below(PAGE);
                    s.push(p, Op::Munmap { addr, len });
                }
            }
            40..=51 => {
                if let Some((addr, pages)) = at(&mut r, &regions) {
                    let len = (1 + r.below(pages + 1)) * PAGE;
                    let mut prot = r.pick(&prots);
                    if r.chance(3) {
                        prot |= PROT_GROWSDOWN;
                    }
                    s.push(p, Op::Mprotect { addr, len, prot });
                }
            }
            52..=65 => {
                if let Some((addr, _)) = at(&mut r, &regions) {
                    let addr = match addr {
                        Addr::Result { op, offset } => Addr::Result { op, offset: offset + r.below(PAGE) as i64 },
                        a => a,
                    };
                    s.push(p, Op::Store { addr, len: 1 + r.below(3 * PAGE), byte: 1 + r.below(255) as u8 });
                }
            }
            66..=77 => {
                if let Some((addr, _)) = at(&mut r, &regions) {
                    s.push(p, Op::Load { addr, len: 1 + r.below(2 * PAGE) });
                }
            }
            78..=81 => {
                if let Some((addr, _)) = at(&mut r, &regions) {
                    if r.chance(50) {
                        s.push(p, Op::KRead { addr, len: 1 + r.below(3 * PAGE) });
                    } else {
                        s.push(p, Op::KWrite { addr, len: 1 + r.below(3 * PAGE), byte: 0x5a });
                    }
                }
            }
            82..=85 => {
                if alive.len() < 3 && procs.len() < 8 {
                    s.push(p, Op::Fork);
                    procs.push(Some(regions.clone()));
                }
            }
            86..=87 => {
                if p != 0 {
                    s.push(p, Op::Exit);
                    procs[p] = None;
                }
            }
            88..=92 => {
                if p == 0 {
                    // Never below the harness's own break: its heap holds data it needs.
                    let delta = r.below(40) as i64;
                    s.push(
                        0,
                        Op::Brk {
                            addr: Addr::Result { op: brk0, offset: delta * PAGE as i64 + r.below(2) as i64 * 100 },
                        },
                    );
                }
            }
            _ => {
                s.push(p, if r.chance(50) { Op::Smaps } else { Op::Maps });
            }
        }
    }
    for (_, planned) in plan.steps.into_iter().rev() {
        if let Planned::Op(op) = planned {
            s.push(0, op);
        }
    }
    for (i, p) in procs.iter().enumerate() {
        if p.is_some() {
            s.push(i, Op::Smaps);
        }
    }
    s
}

/// Picks a region and an address in it (or just past it): the step whose value is the
/// region's start, an offset of whole pages, and the region's size in pages.
fn pick_at(r: &mut Rng, regions: &[Region]) -> Option<(Addr, Region)> {
    if regions.is_empty() {
        return None;
    }
    let reg = regions[r.below(regions.len() as u64) as usize];
    let off = r.below(reg.pages + 2) as i64 - 1;
    Some((Addr::Result { op: reg.step, offset: off * PAGE as i64 }, reg))
}

/// A random step of the calls beyond mmap/munmap/mprotect/brk, or None when there is no
/// region to aim at.
fn new_call(r: &mut Rng, regions: &[Region], proc: usize) -> Option<Op> {
    let (addr, reg) = pick_at(r, regions)?;
    let len = |r: &mut Rng, reg: Region| -> u64 {
        match r.below(12) {
            0 => 0,
            1 => r.below(PAGE) + 1,
            2 => u64::MAX - r.below(2) * PAGE,
            _ => (1 + r.below(reg.pages + 1)) * PAGE,
        }
    };
    Some(match r.below(100) {
        0..=17 => {
            let old_len = if r.chance(5) { 0 } else { len(r, reg) };
            let new_len = match r.below(4) {
                0 => old_len,
                1 => old_len / PAGE / 2 * PAGE,
                _ => (1 + r.below(2 * reg.pages + 2)) * PAGE,
            };
            let flags = r.pick(&[
                0,
                0,
                MREMAP_MAYMOVE,
                MREMAP_MAYMOVE,
                MREMAP_MAYMOVE | MREMAP_FIXED,
                MREMAP_MAYMOVE | MREMAP_FIXED,
                MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
                MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
                MREMAP_FIXED,
                0x80,
            ]);
            let (new_addr, _) = pick_at(r, regions)?;
            let new_addr = match new_addr {
                Addr::Result { op, offset } => {
                    Addr::Result { op, offset: offset + r.below(3) as i64 * 1000 * PAGE as i64 }
                }
                a => a,
            };
            Op::Mremap { addr, old_len, new_len, flags, new_addr }
        }
        18..=44 => {
            let mut advice = r.pick(&[
                MADV_NORMAL,
                MADV_RANDOM,
                MADV_SEQUENTIAL,
                MADV_WILLNEED,
                MADV_DONTNEED,
                MADV_DONTNEED,
                MADV_FREE,
                MADV_FREE,
                MADV_REMOVE,
                MADV_DONTFORK,
                MADV_DOFORK,
                MADV_MERGEABLE,
                MADV_UNMERGEABLE,
                MADV_HUGEPAGE,
                MADV_NOHUGEPAGE,
                MADV_DONTDUMP,
                MADV_DODUMP,
                MADV_WIPEONFORK,
                MADV_KEEPONFORK,
                MADV_POPULATE_READ,
                MADV_POPULATE_WRITE,
                MADV_DONTNEED_LOCKED,
                MADV_COLLAPSE,
                999,
            ]);
            // LRU advice only where the pages are anonymous: the model does not split the
            // large page-cache folios of the test files as Linux does.
            if reg.anon && r.chance(15) {
                advice = r.pick(&[MADV_COLD, MADV_PAGEOUT]);
            }
            let len = len(r, reg);
            let len = if advice == MADV_COLD || advice == MADV_PAGEOUT { len.min((reg.pages + 1) * PAGE) } else { len };
            Op::Madvise { addr, len, advice }
        }
        45..=56 => Op::Mlock { addr, len: len(r, reg), flags: r.pick(&[0, 0, MLOCK_ONFAULT, 2]) },
        57..=63 => Op::Munlock { addr, len: len(r, reg) },
        64..=65 => Op::Mlockall {
            flags: r.pick(&[MCL_CURRENT, MCL_FUTURE, MCL_CURRENT | MCL_ONFAULT, MCL_FUTURE | MCL_ONFAULT, 0]),
        },
        66..=68 => Op::Munlockall,
        69..=77 => Op::Msync {
            addr,
            len: len(r, reg),
            flags: r.pick(&[MS_SYNC, MS_SYNC, MS_ASYNC, MS_INVALIDATE, MS_SYNC | MS_INVALIDATE, 0, 8]),
        },
        78..=86 => {
            let l = len(r, reg);
            Op::Mincore { addr, len: if l > crate::host::MAX_MINCORE_LEN { (reg.pages + 1) * PAGE } else { l } }
        }
        87..=94 => Op::Pagemap { addr, pages: 1 + r.below(reg.pages + 1) },
        95..=96 => Op::Status,
        97..=98 => {
            let resource = r.pick(&[2u32, 9]);
            let value = if r.chance(50) { u64::MAX } else { (64 + r.below(4096)) << 20 };
            Op::Setrlimit { resource, value }
        }
        _ => {
            if proc == 0 {
                Op::Status
            } else {
                Op::DropCaps
            }
        }
    })
}
