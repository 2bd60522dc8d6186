//! Model-based test: random sequences of mmap/munmap/mprotect/mremap/madvise(DONTNEED,
//! PAGEOUT, COLD, WILLNEED)/loads/stores/fork/exit/swapoff+swapon applied to the model, with
//! a swap device, and to a simple reference (a map from page to its protection and
//! contents, which swapping must not change), comparing every result and every byte, and
//! checking the model's invariants (swap counts and slots included) after every step.

use abi::*;
use mm::invariants::{check_kernel, check_no_leaks};
use mm::{Config, Kernel, Pid, SegvCode, Signal};
use proptest::prelude::*;
use std::collections::BTreeMap;

const WINDOW: u64 = 0x2000_0000;
const WINDOW_PAGES: u64 = 48;
const FILE_PAGES: u64 = 6;
const FILE_SIZE: u64 = FILE_PAGES * 4096 - 2048;
const PAGE: usize = 4096;

#[derive(Clone, Copy, Debug)]
enum Kind {
    PrivAnon,
    SharedAnon,
    PrivFile,
    SharedFile,
}

#[derive(Clone, Debug)]
enum Op {
    Mmap {
        page: u64,
        pages: u64,
        prot: u64,
        kind: Kind,
        file_page: u64,
    },
    Munmap {
        page: u64,
        pages: u64,
    },
    Mprotect {
        page: u64,
        pages: u64,
        prot: u64,
    },
    /// A same-size MREMAP_FIXED move of a whole mapped range.
    Mremap {
        page: u64,
        pages: u64,
        to: u64,
    },
    /// MADV_DONTNEED.
    Dontneed {
        page: u64,
        pages: u64,
    },
    Store {
        proc: usize,
        page: u64,
        off: u64,
        len: u64,
        byte: u8,
    },
    Load {
        proc: usize,
        page: u64,
        off: u64,
        len: u64,
    },
    KRead {
        proc: usize,
        page: u64,
        len: u64,
    },
    Fork {
        proc: usize,
    },
    /// MADV_PAGEOUT, MADV_COLD or MADV_WILLNEED by one process.
    Advise {
        proc: usize,
        page: u64,
        pages: u64,
        advice: u64,
    },
    /// swapoff then swapon of the swap device.
    SwapCycle,
    Exit {
        proc: usize,
    },
}

fn prot() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(PROT_NONE),
        Just(PROT_READ),
        Just(PROT_READ | PROT_WRITE),
        Just(PROT_WRITE),
        Just(PROT_READ | PROT_EXEC)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let kind = prop_oneof![Just(Kind::PrivAnon), Just(Kind::SharedAnon), Just(Kind::PrivFile), Just(Kind::SharedFile)];
    prop_oneof![
        4 => (0..WINDOW_PAGES, 1..8u64, prot(), kind, 0..FILE_PAGES).prop_map(|(page, pages, prot, kind, file_page)| Op::Mmap { page, pages, prot, kind, file_page }),
        2 => (0..WINDOW_PAGES, 1..6u64).prop_map(|(page, pages)| Op::Munmap { page, pages }),
        2 => (0..WINDOW_PAGES, 1..6u64, prot()).prop_map(|(page, pages, prot)| Op::Mprotect { page, pages, prot }),
        1 => (0..WINDOW_PAGES, 1..6u64, 0..WINDOW_PAGES).prop_map(|(page, pages, to)| Op::Mremap { page, pages, to }),
        1 => (0..WINDOW_PAGES, 1..6u64).prop_map(|(page, pages)| Op::Dontneed { page, pages }),
        6 => (0..4usize, 0..WINDOW_PAGES, 0..4096u64, 1..6000u64, any::<u8>()).prop_map(|(proc, page, off, len, byte)| Op::Store { proc, page, off, len, byte }),
        4 => (0..4usize, 0..WINDOW_PAGES, 0..4096u64, 1..6000u64).prop_map(|(proc, page, off, len)| Op::Load { proc, page, off, len }),
        1 => (0..4usize, 0..WINDOW_PAGES, 1..9000u64).prop_map(|(proc, page, len)| Op::KRead { proc, page, len }),
        1 => (0..4usize).prop_map(|proc| Op::Fork { proc }),
        3 => (0..4usize, 0..WINDOW_PAGES, 1..12u64, prop_oneof![Just(MADV_PAGEOUT), Just(MADV_COLD), Just(MADV_WILLNEED)])
            .prop_map(|(proc, page, pages, advice)| Op::Advise { proc, page, pages, advice }),
        1 => Just(Op::SwapCycle),
        1 => (1..4usize).prop_map(|proc| Op::Exit { proc }),
    ]
}

/// Where a reference page's bytes live.
#[derive(Clone, Debug)]
enum Backing {
    /// The process's own bytes (anonymous, or a private file page already copied).
    Own(Vec<u8>),
    /// A shared object page (shared anonymous object or the file), by object and index.
    Shared(usize, u64),
    /// A private file page not yet written: it reads the file.
    FileView(u64),
}

#[derive(Clone, Debug)]
struct Page {
    prot: u64,
    backing: Backing,
    /// The file page a private file mapping shows until written (for MADV_DONTNEED).
    origin: Option<u64>,
}

/// Object 0 is the file; the others are shared anonymous objects.
#[derive(Default)]
struct Reference {
    procs: Vec<Option<BTreeMap<u64, Page>>>,
    objects: Vec<Vec<Vec<u8>>>,
}

impl Reference {
    fn page_bytes(&self, p: &Page) -> Option<Vec<u8>> {
        match &p.backing {
            Backing::Own(b) => Some(b.clone()),
            Backing::Shared(o, i) => {
                if *o == 0 && *i >= FILE_PAGES {
                    return None;
                }
                Some(self.objects[*o][*i as usize].clone())
            }
            Backing::FileView(i) => (*i < FILE_PAGES).then(|| self.objects[0][*i as usize].clone()),
        }
    }

    /// A user access: Ok(bytes) or the signal (page index of the fault, code).
    fn access(
        &mut self,
        proc: usize,
        page: u64,
        off: u64,
        len: u64,
        store: Option<u8>,
    ) -> Result<Vec<u8>, (u64, Signal)> {
        let mut out = Vec::new();
        let mut pos = page * 4096 + off;
        let end = pos + len;
        while pos < end {
            let vpn = pos / 4096;
            let addr = WINDOW + pos;
            let Some(p) = self.procs[proc].as_ref().unwrap().get(&vpn).cloned() else {
                return Err((vpn, Signal::Segv { code: SegvCode::MapErr, addr }));
            };
            let allowed = if store.is_some() { p.prot & PROT_WRITE != 0 } else { p.prot != PROT_NONE };
            if !allowed {
                return Err((vpn, Signal::Segv { code: SegvCode::AccErr, addr }));
            }
            let Some(mut bytes) = self.page_bytes(&p) else {
                return Err((vpn, Signal::Bus { addr }));
            };
            let o = (pos % 4096) as usize;
            let n = (4096 - o).min((end - pos) as usize);
            if let Some(b) = store {
                bytes[o..o + n].fill(b);
                match p.backing {
                    Backing::Shared(obj, i) => self.objects[obj][i as usize] = bytes,
                    _ => self.procs[proc].as_mut().unwrap().get_mut(&vpn).unwrap().backing = Backing::Own(bytes),
                }
            } else {
                out.extend_from_slice(&bytes[o..o + n]);
            }
            pos += n as u64;
        }
        Ok(out)
    }
}

fn file_contents() -> Vec<u8> {
    (0..FILE_SIZE).map(|i| (i / 4096 * 17 + i % 251) as u8 | 1).collect()
}

fn run(ops: Vec<Op>) {
    let mut k = Kernel::new(Config { ram_bytes: 32 << 20, paranoid: true, ..Config::default() });
    let swap = mm::swap::SwapSpec { path: "/swap".into(), size: 1 << 20, priority: None, partition: false };
    k.swapon(&swap).unwrap();
    let data = file_contents();
    k.create_file("/data", &data);
    let p0 = k.spawn_empty("t").unwrap();
    let fd = k.open(p0, "/data", O_RDWR).unwrap() as i64;
    let mut r = Reference::default();
    let mut file_obj: Vec<Vec<u8>> = data
        .chunks(PAGE)
        .map(|c| {
            let mut v = c.to_vec();
            v.resize(PAGE, 0);
            v
        })
        .collect();
    file_obj.resize(FILE_PAGES as usize, vec![0; PAGE]);
    r.objects.push(file_obj);
    r.procs.push(Some(BTreeMap::new()));
    let mut pids: Vec<Option<Pid>> = vec![Some(p0)];
    for (step, op) in ops.into_iter().enumerate() {
        let ctx = format!("step {step}: {op:?}");
        match op {
            Op::Mmap { page, pages, prot, kind, file_page } => {
                let pages = pages.min(WINDOW_PAGES - page);
                let (flags, fdv, off) = match kind {
                    Kind::PrivAnon => (MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                    Kind::SharedAnon => (MAP_SHARED | MAP_ANONYMOUS, -1, 0),
                    Kind::PrivFile => (MAP_PRIVATE, fd, file_page * 4096),
                    Kind::SharedFile => (MAP_SHARED, fd, file_page * 4096),
                };
                let got = k.mmap(p0, WINDOW + page * 4096, pages * 4096, prot, flags | MAP_FIXED, fdv, off);
                assert_eq!(got, Ok(WINDOW + page * 4096), "{ctx}");
                let obj = if let Kind::SharedAnon = kind {
                    r.objects.push(vec![vec![0; PAGE]; pages as usize]);
                    r.objects.len() - 1
                } else {
                    0
                };
                let m = r.procs[0].as_mut().unwrap();
                for i in 0..pages {
                    let backing = match kind {
                        Kind::PrivAnon => Backing::Own(vec![0; PAGE]),
                        Kind::SharedAnon => Backing::Shared(obj, i),
                        Kind::PrivFile => Backing::FileView(file_page + i),
                        Kind::SharedFile => Backing::Shared(0, file_page + i),
                    };
                    let origin = matches!(kind, Kind::PrivFile).then_some(file_page + i);
                    m.insert(page + i, Page { prot, backing, origin });
                }
            }
            Op::Munmap { page, pages } => {
                assert_eq!(k.munmap(p0, WINDOW + page * 4096, pages * 4096), Ok(0), "{ctx}");
                let m = r.procs[0].as_mut().unwrap();
                for i in page..page + pages {
                    m.remove(&i);
                }
            }
            Op::Mprotect { page, pages, prot } => {
                let got = k.mprotect(p0, WINDOW + page * 4096, pages * 4096, prot);
                let m = r.procs[0].as_mut().unwrap();
                let mut want = Ok(0);
                for i in page..page + pages {
                    match m.get_mut(&i) {
                        Some(p) => p.prot = prot,
                        None => {
                            want = Err(Errno::ENOMEM);
                            break;
                        }
                    }
                }
                assert_eq!(got, want, "{ctx}");
            }
            Op::Mremap { page, pages, to } => {
                let pages = pages.min(WINDOW_PAGES - page).min(WINDOW_PAGES - to);
                let m = r.procs[0].as_mut().unwrap();
                let all_mapped = (page..page + pages).all(|p| m.contains_key(&p));
                let overlap = page < to + pages && to < page + pages;
                let got = k.mremap(
                    p0,
                    WINDOW + page * 4096,
                    pages * 4096,
                    pages * 4096,
                    MREMAP_MAYMOVE | MREMAP_FIXED,
                    WINDOW + to * 4096,
                );
                let starts_mapped = m.contains_key(&page);
                if overlap {
                    assert_eq!(got, Err(Errno::EINVAL), "{ctx}");
                } else if !starts_mapped {
                    assert_eq!(got, Err(Errno::EFAULT), "{ctx}");
                } else {
                    // Each mapped page lands at the same offset from `to`; the destination's
                    // pages facing the source's holes stay as they were.
                    assert_eq!(got, Ok(WINDOW + to * 4096), "{ctx}");
                    let _ = all_mapped;
                    let moved: Vec<(u64, Page)> =
                        (page..page + pages).filter_map(|p| m.remove(&p).map(|pg| (p, pg))).collect();
                    for (p, pg) in moved {
                        m.insert(p - page + to, pg);
                    }
                }
            }
            Op::Dontneed { page, pages } => {
                let got = k.madvise(p0, WINDOW + page * 4096, pages * 4096, MADV_DONTNEED);
                let m = r.procs[0].as_mut().unwrap();
                let all_mapped = (page..page + pages).all(|p| m.contains_key(&p));
                assert_eq!(got, if all_mapped { Ok(0) } else { Err(Errno::ENOMEM) }, "{ctx}");
                for p in page..page + pages {
                    if let Some(pg) = m.get_mut(&p) {
                        // Private pages lose their own bytes: anonymous memory reads zeros
                        // again, a private file page the file's bytes.
                        if let Backing::Own(_) = pg.backing {
                            pg.backing = match &pg.origin {
                                Some(i) => Backing::FileView(*i),
                                None => Backing::Own(vec![0; PAGE]),
                            };
                        }
                    }
                }
            }
            Op::Store { proc, .. } | Op::Load { proc, .. } if pids.get(proc).copied().flatten().is_none() => {}
            Op::Store { proc, page, off, len, byte } => {
                let pid = pids[proc].unwrap();
                let want = r.access(proc, page, off, len, Some(byte));
                let got = k.store(pid, WINDOW + page * 4096 + off, &vec![byte; len as usize]);
                match want {
                    Ok(_) => assert_eq!(got, Ok(()), "{ctx}"),
                    Err((_, sig)) => assert_eq!(got, Err(sig), "{ctx}"),
                }
            }
            Op::Load { proc, page, off, len } => {
                let pid = pids[proc].unwrap();
                let want = r.access(proc, page, off, len, None).map_err(|e| e.1);
                let got = k.load(pid, WINDOW + page * 4096 + off, len);
                assert_eq!(got, want, "{ctx}");
            }
            Op::KRead { proc, page, len } => {
                let Some(pid) = pids.get(proc).copied().flatten() else { continue };
                let got = k.copy_from_user(pid, WINDOW + page * 4096, len);
                let want = match r.access(proc, page, 0, len, None) {
                    Ok(b) => Ok(b),
                    Err((vpn, _)) if vpn == page => Err(Errno::EFAULT),
                    Err((vpn, _)) => Ok(r.access(proc, page, 0, (vpn - page) * 4096, None).unwrap()),
                };
                assert_eq!(got, want, "{ctx}");
            }
            Op::Fork { proc } => {
                let Some(pid) = pids.get(proc).copied().flatten() else { continue };
                if pids.len() >= 4 {
                    continue;
                }
                let c = k.fork(pid).unwrap();
                pids.push(Some(c));
                let copy = r.procs[proc].clone();
                r.procs.push(copy);
            }
            Op::Advise { proc, page, pages, advice } => {
                let Some(pid) = pids.get(proc).copied().flatten() else { continue };
                let pages = pages.min(WINDOW_PAGES - page);
                let got = k.madvise(pid, WINDOW + page * 4096, pages * 4096, advice);
                let m = r.procs[proc].as_ref().unwrap();
                let all_mapped = (page..page + pages).all(|p| m.contains_key(&p));
                assert_eq!(got, if all_mapped { Ok(0) } else { Err(Errno::ENOMEM) }, "{ctx}");
            }
            Op::SwapCycle => {
                assert_eq!(k.swapoff("/swap"), Ok(()), "{ctx}");
                assert_eq!(k.swapon(&swap), Ok(()), "{ctx}");
            }
            Op::Exit { proc } => {
                let Some(pid) = pids.get(proc).copied().flatten() else { continue };
                k.exit(pid, 0).unwrap();
                k.reap(pid).unwrap();
                pids[proc] = None;
                r.procs[proc] = None;
            }
        }
        check_kernel(&k);
        // The model's VMAs cover exactly the reference's pages, with their protections.
        for (i, pid) in pids.iter().enumerate() {
            let Some(pid) = pid else { continue };
            let mm = k.mm(*pid).unwrap();
            let mut mapped = BTreeMap::new();
            for v in mm.vmas.range(WINDOW, WINDOW + WINDOW_PAGES * 4096) {
                for a in (v.start..v.end).step_by(PAGE) {
                    mapped.insert((a - WINDOW) / 4096, v.flags.bits() & 7);
                }
            }
            let want: BTreeMap<u64, u64> = r.procs[i].as_ref().unwrap().iter().map(|(&p, pg)| (p, pg.prot)).collect();
            assert_eq!(mapped, want, "after {ctx}: process {i} VMAs differ from the reference");
        }
    }
    for pid in pids.into_iter().flatten() {
        k.exit(pid, 0).unwrap();
        k.reap(pid).unwrap();
    }
    check_no_leaks(&k);
    assert_eq!(k.machine().swap.free_pages(), k.machine().swap.total_pages(), "swap slots leaked");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    #[test]
    fn model_matches_reference(ops in proptest::collection::vec(op(), 1..40)) {
        run(ops);
    }
}
