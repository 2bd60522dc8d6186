//! Curated differential scripts: the errno tables and behaviours of mremap, madvise, the
//! mlock family, mincore, msync, pagemap and the resource limits, each run on the host
//! kernel and on the model and compared step by step.

use abi::*;
use hostdiff::compare::compare;
use hostdiff::model::run_on_model;
use hostdiff::{Addr, Fd, Op, OpenMode};

mod common;
mod pins;

use common::{at, Script, P};

fn check(name: &str, s: Script) {
    if hostreq::need(name, hostdiff::support()).is_none() {
        return;
    }
    let mut script = s.s;
    script.push(0, Op::Smaps);
    script.push(0, Op::Status);
    let host = hostdiff::run_on_host(&script).unwrap_or_else(|e| panic!("{name}: host run failed: {e}"));
    let model = run_on_model(&script, &host.init).unwrap_or_else(|e| panic!("{name}: model run failed: {e}"));
    let mismatches = compare(&script, &host, &model);
    // MMSIM_DIFF_VERBOSE=1 prints every step with both outcomes.
    if std::env::var_os("MMSIM_DIFF_VERBOSE").is_some() {
        for (i, st) in script.steps.iter().enumerate() {
            let fmt = |o: &hostdiff::Outcome| match o {
                hostdiff::Outcome::Text(_) => "text".to_string(),
                hostdiff::Outcome::Bytes(b) if b.len() > 64 => format!("{} bytes", b.len()),
                o => format!("{o:?}"),
            };
            println!("{i}: p{} {:?} -> host {} / model {}", st.proc, st.op, fmt(&host.outcomes[i]), fmt(&model[i]));
        }
    }
    let report: Vec<String> = mismatches.iter().map(|m| format!("step {}: {}", m.step, m.what)).collect();
    // What Linux gives, pinned: the host and the model must each give it.
    let host_pins = pins::summarize(&script, &host.init, &host.outcomes);
    let model_pins = pins::summarize(&script, &host.init, &model);
    if let Some(path) = std::env::var_os("MMSIM_PIN_PRINT") {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("MMSIM_PIN_PRINT file");
        writeln!(f, "== {name}\n{}\n", host_pins.join("\n")).expect("write the pins");
    }
    assert!(report.is_empty(), "{name}: {} mismatches:\n{}", report.len(), report.join("\n"));
    pins::check(name, "host", &host_pins).unwrap_or_else(|e| panic!("{e}"));
    pins::check(name, "model", &model_pins).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn mremap_errno_table() {
    let mut s = Script::new();
    let a = s.anon(4, PROT_READ | PROT_WRITE);
    let mr = |addr, old_len, new_len, flags, new_addr| Op::Mremap { addr, old_len, new_len, flags, new_addr };
    s.op(mr(Addr::Result { op: a, offset: 1 }, P, P, 0, Addr::Abs(0)));
    s.op(mr(at(a, 0), P, P, 0x80, Addr::Abs(0)));
    s.op(mr(at(a, 0), P, P, MREMAP_FIXED, at(a, 100)));
    s.op(mr(at(a, 0), P, P, MREMAP_DONTUNMAP, Addr::Abs(0)));
    s.op(mr(at(a, 0), P, 2 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, Addr::Abs(0)));
    s.op(mr(at(a, 0), P, 0, MREMAP_MAYMOVE, Addr::Abs(0)));
    s.op(mr(at(a, 0), P, 1 << 47, 0, Addr::Abs(0)));
    s.op(mr(Addr::Abs(0x1_0000_0000), P, P, MREMAP_MAYMOVE, Addr::Abs(0)));
    s.op(mr(at(a, 0), 0, P, MREMAP_MAYMOVE, Addr::Abs(0)));
    s.op(mr(at(a, 0), 8 * P, 9 * P, MREMAP_MAYMOVE, Addr::Abs(0)));
    s.op(mr(at(a, 0), 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, at(a, 1)));
    s.op(mr(at(a, 0), P, P, MREMAP_MAYMOVE | MREMAP_FIXED, Addr::Result { op: a, offset: 100 * P as i64 + 1 }));
    s.op(mr(at(a, 0), P, P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, Addr::Result { op: a, offset: -(100 * P as i64) + 1 }));
    s.op(mr(at(a, 0), 4 * P, 4 * P, 0, Addr::Abs(0)));
    s.op(mr(at(a, 0), 8 * P, 8 * P, 0, Addr::Abs(0)));
    s.store(a, 0, 4);
    s.op(mr(at(a, 0), 4 * P, 2 * P, 0, Addr::Abs(0)));
    let g = s.anon(3, PROT_READ | PROT_WRITE);
    s.op(Op::Mprotect { addr: at(g, 1), len: P, prot: PROT_READ });
    s.op(mr(at(g, 0), P, 2 * P, 0, Addr::Abs(0)));
    let moved = s.op(mr(at(g, 0), P, 2 * P, MREMAP_MAYMOVE, Addr::Abs(0)));
    s.op(Op::Load { addr: at(moved, 0), len: 2 * P });
    s.op(Op::Maps);
    check("mremap errno table", s);
}

#[test]
fn mremap_moves_grow_and_merge() {
    let mut s = Script::new();
    // Several VMAs moved by one same-size MREMAP_FIXED, gaps kept.
    let m = s.anon(8, PROT_READ | PROT_WRITE);
    s.store(m, 0, 8);
    s.op(Op::Mprotect { addr: at(m, 2), len: 2 * P, prot: PROT_READ });
    s.op(Op::Munmap { addr: at(m, 5), len: P });
    let dst = s.anon(16, PROT_NONE);
    let mv = s.op(Op::Mremap {
        addr: at(m, 0),
        old_len: 8 * P,
        new_len: 8 * P,
        flags: MREMAP_MAYMOVE | MREMAP_FIXED,
        new_addr: at(dst, 4),
    });
    s.op(Op::Load { addr: at(mv, 0), len: 8 * P });
    s.views(dst, 16);
    // Untouched anonymous memory moved next to a compatible VMA merges with it.
    let u1 = s.anon(2, PROT_READ | PROT_WRITE);
    let u2 = s.anon(2, PROT_READ | PROT_WRITE);
    s.op(Op::Munmap { addr: at(u1, 2), len: 4 * P });
    s.op(Op::Mremap {
        addr: at(u2, 0),
        old_len: 2 * P,
        new_len: 2 * P,
        flags: MREMAP_MAYMOVE | MREMAP_FIXED,
        new_addr: at(u1, 2),
    });
    // In-place growth up to the next VMA, merging with it.
    let e = s.anon(6, PROT_READ | PROT_WRITE);
    s.op(Op::Munmap { addr: at(e, 2), len: 2 * P });
    s.op(Op::Mremap { addr: at(e, 0), old_len: 2 * P, new_len: 4 * P, flags: 0, new_addr: Addr::Abs(0) });
    // DONTUNMAP of a locked, written mapping: the source stays, empty and unlocked.
    let l = s.anon(4, PROT_READ | PROT_WRITE);
    s.store(l, 0, 4);
    s.op(Op::Mlock { addr: at(l, 0), len: 4 * P, flags: 0 });
    let d = s.op(Op::Mremap {
        addr: at(l, 0),
        old_len: 4 * P,
        new_len: 4 * P,
        flags: MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
        new_addr: Addr::Abs(0),
    });
    s.op(Op::Load { addr: at(l, 0), len: 4 });
    s.op(Op::Load { addr: at(d, 0), len: 4 });
    s.views(l, 4);
    // Shared anonymous memory duplicated with old_len 0.
    let sh = s.map(2, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, Fd::None, 0);
    s.store(sh, 0, 1);
    let dup =
        s.op(Op::Mremap { addr: at(sh, 0), old_len: 0, new_len: 2 * P, flags: MREMAP_MAYMOVE, new_addr: Addr::Abs(0) });
    s.op(Op::Load { addr: at(dup, 0), len: 8 });
    // A locked mapping grown in place is populated.
    let lg = s.anon(2, PROT_READ | PROT_WRITE);
    s.op(Op::Munmap { addr: at(lg, 2), len: 8 * P });
    s.op(Op::Mlock { addr: at(lg, 0), len: 2 * P, flags: 0 });
    s.op(Op::Mremap { addr: at(lg, 0), old_len: 2 * P, new_len: 4 * P, flags: 0, new_addr: Addr::Abs(0) });
    s.views(lg, 4);
    check("mremap moves", s);
}

#[test]
fn madvise_errno_table() {
    let mut s = Script::new();
    let file = s.s.add_file(16 * P);
    let ro = s.s.open(file, OpenMode::ReadOnly);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    let a = s.anon(4, PROT_READ | PROT_WRITE);
    s.op(Op::Madvise { addr: Addr::Result { op: a, offset: 1 }, len: P, advice: MADV_DONTNEED });
    s.madvise(a, 0, 0, MADV_DONTNEED);
    s.op(Op::Madvise { addr: at(a, 0), len: 1, advice: MADV_DONTNEED });
    s.madvise(a, 0, 1, 999);
    s.op(Op::Madvise { addr: Addr::Abs(0x1_0000_0000), len: P, advice: MADV_DONTNEED });
    s.op(Op::Madvise { addr: at(a, 0), len: u64::MAX, advice: MADV_NORMAL });
    let h = s.anon(3, PROT_READ | PROT_WRITE);
    s.op(Op::Munmap { addr: at(h, 1), len: P });
    s.madvise(h, 0, 3, MADV_DONTNEED);
    s.madvise(h, 0, 3, MADV_WILLNEED);
    s.madvise(h, 0, 3, MADV_DONTFORK);
    let l = s.anon(1, PROT_READ | PROT_WRITE);
    s.op(Op::Mlock { addr: at(l, 0), len: P, flags: 0 });
    for adv in [MADV_DONTNEED, MADV_FREE, MADV_REMOVE, MADV_COLD, MADV_PAGEOUT, MADV_DONTNEED_LOCKED] {
        s.madvise(l, 0, 1, adv);
    }
    let f = s.map(1, PROT_READ, MAP_PRIVATE, Fd::Slot(ro), 0);
    let sa = s.map(1, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, Fd::None, 0);
    let sf = s.map(1, PROT_READ | PROT_WRITE, MAP_SHARED, Fd::Slot(rw), 0);
    let sfr = s.map(1, PROT_READ, MAP_SHARED, Fd::Slot(ro), 0);
    for (m, adv) in [
        (f, MADV_FREE),
        (sa, MADV_FREE),
        (a, MADV_FREE),
        (f, MADV_WIPEONFORK),
        (sa, MADV_WIPEONFORK),
        (a, MADV_WIPEONFORK),
        (f, MADV_KEEPONFORK),
        (f, MADV_DONTFORK),
        (f, MADV_DOFORK),
        (a, MADV_REMOVE),
        (f, MADV_REMOVE),
        (sa, MADV_REMOVE),
        (sf, MADV_REMOVE),
        (sfr, MADV_REMOVE),
        (f, MADV_DONTNEED),
        (a, MADV_POPULATE_READ),
        (a, MADV_POPULATE_WRITE),
        (f, MADV_POPULATE_WRITE),
        (f, MADV_WILLNEED),
        (a, MADV_HUGEPAGE),
        (a, MADV_MERGEABLE),
        (sa, MADV_MERGEABLE),
        (a, MADV_COLLAPSE),
        (a, MADV_NOHUGEPAGE),
        (a, MADV_UNMERGEABLE),
    ] {
        s.madvise(m, 0, 1, adv);
    }
    let pn = s.anon(1, PROT_NONE);
    s.madvise(pn, 0, 1, MADV_POPULATE_READ);
    s.op(Op::Madvise { addr: Addr::Abs(0x1_0000_0000), len: P, advice: MADV_POPULATE_READ });
    let beof = s.map(32, PROT_READ, MAP_PRIVATE, Fd::Slot(ro), 0);
    s.madvise(beof, 0, 32, MADV_POPULATE_READ);
    s.views(beof, 32);
    check("madvise errno table", s);
}

#[test]
fn madvise_page_behaviours() {
    let mut s = Script::new();
    // DONTNEED: private anonymous pages read back as zeros.
    let a = s.anon(8, PROT_READ | PROT_WRITE);
    s.store(a, 0, 8);
    s.madvise(a, 2, 2, MADV_DONTNEED);
    s.op(Op::Load { addr: at(a, 0), len: 8 * P });
    // FREE: clean and lazily freeable; a later write dirties one page again.
    s.madvise(a, 4, 4, MADV_FREE);
    s.views(a, 8);
    s.op(Op::Store { addr: at(a, 5), len: 1, byte: 1 });
    s.op(Op::Load { addr: at(a, 6), len: 2 });
    s.views(a, 8);
    // COLD and PAGEOUT on populated anonymous memory.
    let c = s.anon(6, PROT_READ | PROT_WRITE);
    s.madvise(c, 0, 6, MADV_POPULATE_WRITE);
    s.madvise(c, 0, 3, MADV_COLD);
    s.madvise(c, 3, 3, MADV_PAGEOUT);
    s.views(c, 6);
    // Flag advice splits and re-merges.
    let f = s.anon(8, PROT_READ | PROT_WRITE);
    for adv in [MADV_DONTFORK, MADV_RANDOM, MADV_SEQUENTIAL, MADV_DONTDUMP, MADV_HUGEPAGE, MADV_WIPEONFORK] {
        s.madvise(f, 2, 2, adv);
        s.op(Op::Maps);
    }
    for adv in [MADV_DOFORK, MADV_NORMAL, MADV_DODUMP, MADV_NOHUGEPAGE, MADV_KEEPONFORK] {
        s.madvise(f, 2, 2, adv);
    }
    s.views(f, 8);
    // DONTFORK and WIPEONFORK seen by a child.
    let w = s.anon(4, PROT_READ | PROT_WRITE);
    s.store(w, 0, 4);
    s.madvise(w, 0, 1, MADV_DONTFORK);
    s.madvise(w, 1, 1, MADV_WIPEONFORK);
    s.op(Op::Fork);
    s.on(1, Op::Load { addr: at(w, 0), len: 1 });
    s.on(1, Op::Load { addr: at(w, 1), len: 2 * P });
    s.on(1, Op::Smaps);
    s.on(1, Op::Exit);
    // REMOVE on shared anonymous memory frees its pages.
    let sa = s.map(4, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, Fd::None, 0);
    s.store(sa, 0, 4);
    s.madvise(sa, 1, 2, MADV_REMOVE);
    s.op(Op::Load { addr: at(sa, 0), len: 4 * P });
    s.views(sa, 4);
    check("madvise behaviours", s);
}

#[test]
fn mlock_mincore_msync_tables() {
    let mut s = Script::new();
    let file = s.s.add_file(16 * P);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    let a = s.anon(4, PROT_READ | PROT_WRITE);
    s.op(Op::Mlock { addr: Addr::Result { op: a, offset: 1 }, len: 10, flags: 0 });
    s.op(Op::Mlock { addr: at(a, 0), len: 0, flags: 0 });
    s.op(Op::Mlock { addr: Addr::Abs(0x1_0000_0000), len: P, flags: 0 });
    s.op(Op::Munlock { addr: Addr::Abs(0x1_0000_0000), len: P });
    s.op(Op::Mlock { addr: at(a, 0), len: P, flags: 2 });
    s.op(Op::Mlock { addr: at(a, 1), len: P, flags: MLOCK_ONFAULT });
    s.op(Op::Mlockall { flags: 0 });
    s.op(Op::Mlockall { flags: MCL_ONFAULT });
    s.op(Op::Mlockall { flags: 0x10 });
    let pn = s.anon(1, PROT_NONE);
    s.op(Op::Mlock { addr: at(pn, 0), len: P, flags: 0 });
    let h = s.anon(3, PROT_READ | PROT_WRITE);
    s.op(Op::Munmap { addr: at(h, 1), len: P });
    s.op(Op::Mlock { addr: at(h, 0), len: 3 * P, flags: 0 });
    s.op(Op::Munlock { addr: at(h, 0), len: 3 * P });
    s.views(a, 4);
    s.op(Op::Store { addr: at(a, 1), len: 1, byte: 1 });
    s.views(a, 4);
    s.op(Op::Munlock { addr: at(a, 0), len: 4 * P });
    s.op(Op::Maps);
    // mincore.
    let m = s.anon(4, PROT_READ | PROT_WRITE);
    s.op(Op::Mincore { addr: Addr::Result { op: m, offset: 1 }, len: P });
    s.op(Op::Mincore { addr: at(m, 0), len: 0 });
    s.op(Op::Mincore { addr: Addr::Abs(0x1_0000_0000), len: P });
    s.op(Op::Mincore { addr: Addr::Abs(0x7fff_ffff_f000), len: 2 * P });
    s.op(Op::Load { addr: at(m, 0), len: 1 });
    s.op(Op::Store { addr: at(m, 1), len: 1, byte: 1 });
    s.op(Op::Mincore { addr: at(m, 0), len: 4 * P });
    s.op(Op::Mincore { addr: at(pn, 0), len: P });
    s.op(Op::Mincore { addr: at(h, 0), len: 3 * P });
    // msync.
    s.op(Op::Msync { addr: at(a, 0), len: P, flags: 8 });
    s.op(Op::Msync { addr: at(a, 0), len: P, flags: MS_ASYNC | MS_SYNC });
    s.op(Op::Msync { addr: at(a, 0), len: P, flags: 0 });
    s.op(Op::Msync { addr: Addr::Result { op: a, offset: 1 }, len: P, flags: MS_SYNC });
    s.op(Op::Msync { addr: at(a, 0), len: 0, flags: MS_SYNC });
    s.op(Op::Msync { addr: Addr::Abs(0x1_0000_0000), len: P, flags: MS_SYNC });
    s.op(Op::Msync { addr: at(h, 0), len: 3 * P, flags: MS_SYNC });
    s.op(Op::Msync { addr: at(h, 0), len: 3 * P, flags: MS_ASYNC });
    s.op(Op::Msync { addr: at(a, 0), len: u64::MAX, flags: MS_SYNC });
    let sf = s.map(4, PROT_READ | PROT_WRITE, MAP_SHARED, Fd::Slot(rw), 0);
    s.op(Op::Mlock { addr: at(sf, 0), len: P, flags: 0 });
    s.op(Op::Msync { addr: at(sf, 0), len: P, flags: MS_INVALIDATE });
    s.op(Op::Msync { addr: at(sf, 0), len: P, flags: MS_SYNC | MS_INVALIDATE });
    s.op(Op::Store { addr: at(sf, 1), len: 2 * P, byte: 3 });
    s.views(sf, 4);
    s.op(Op::Msync { addr: at(sf, 0), len: 4 * P, flags: MS_SYNC });
    s.views(sf, 4);
    s.op(Op::Store { addr: at(sf, 2), len: 1, byte: 4 });
    s.views(sf, 4);
    s.op(Op::Mlockall { flags: MCL_CURRENT | MCL_FUTURE });
    let after = s.anon(2, PROT_READ | PROT_WRITE);
    s.views(after, 2);
    s.op(Op::Munlockall);
    s.op(Op::Maps);
    check("mlock, mincore, msync", s);
}

#[test]
fn limits_and_capabilities() {
    let mut s = Script::new();
    s.op(Op::Setrlimit { resource: 2, value: 1 << 20 });
    s.anon(1024, PROT_READ | PROT_WRITE);
    s.anon(1024, PROT_READ);
    s.map(1024, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, Fd::None, 0);
    s.op(Op::Setrlimit { resource: 2, value: u64::MAX });
    s.op(Op::Setrlimit { resource: 9, value: 256 << 20 });
    s.anon(1 << 16, PROT_NONE);
    let g = s.anon(4, PROT_READ | PROT_WRITE);
    s.op(Op::Mremap {
        addr: at(g, 0),
        old_len: 4 * P,
        new_len: 1 << 28,
        flags: MREMAP_MAYMOVE,
        new_addr: Addr::Abs(0),
    });
    s.op(Op::Setrlimit { resource: 9, value: u64::MAX });
    // RLIMIT_MEMLOCK binds once CAP_IPC_LOCK is gone.
    s.op(Op::Fork);
    s.on(1, Op::DropCaps);
    s.on(1, Op::Mlock { addr: at(g, 0), len: P, flags: 0 });
    s.on(1, Op::Setrlimit { resource: 8, value: 2 * P });
    s.on(1, Op::Mlock { addr: at(g, 0), len: 4 * P, flags: 0 });
    s.on(1, Op::Mlock { addr: at(g, 0), len: 2 * P, flags: 0 });
    s.on(
        1,
        Op::Mmap {
            addr: Addr::Abs(0),
            len: 4 * P,
            prot: PROT_READ,
            flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED,
            fd: Fd::None,
            offset: 0,
        },
    );
    s.on(1, Op::Mlockall { flags: MCL_CURRENT });
    s.on(1, Op::Mlockall { flags: MCL_FUTURE });
    s.on(
        1,
        Op::Mmap {
            addr: Addr::Abs(0),
            len: 4 * P,
            prot: PROT_READ,
            flags: MAP_PRIVATE | MAP_ANONYMOUS,
            fd: Fd::None,
            offset: 0,
        },
    );
    s.on(1, Op::Brk { addr: Addr::Abs(0) });
    s.on(1, Op::Setrlimit { resource: 8, value: 0 });
    s.on(1, Op::Mlock { addr: at(g, 0), len: P, flags: 0 });
    s.on(1, Op::Munlock { addr: at(g, 0), len: P });
    s.on(1, Op::Pagemap { addr: at(g, 0), pages: 4 });
    s.on(1, Op::Status);
    s.on(1, Op::Exit);
    // A stack grows down to its rlimit.
    let st = s.map(1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, Fd::None, 0);
    s.op(Op::Setrlimit { resource: 3, value: 64 * P });
    s.op(Op::Store { addr: at(st, -10), len: 1, byte: 1 });
    s.op(Op::Store { addr: at(st, -63), len: 1, byte: 1 });
    s.op(Op::Store { addr: at(st, -64), len: 1, byte: 1 });
    s.op(Op::Maps);
    check("limits", s);
}

#[test]
fn pageout_takes_a_large_folio_whole_or_leaves_it() {
    let mut s = Script::new();
    // Written in one go, the file's pages form folios of 8, 2, 1 and 1 pages (ext4).
    let file = s.s.add_file(12 * P - 1000);
    let ro = s.s.open(file, OpenMode::ReadOnly);
    let m = s.map(12, PROT_READ | PROT_WRITE, MAP_PRIVATE, Fd::Slot(ro), 0);
    s.op(Op::Load { addr: at(m, 3), len: 1 });
    s.views(m, 12);
    // A range that cuts a folio leaves it mapped.
    s.madvise(m, 0, 2, MADV_PAGEOUT);
    s.views(m, 12);
    // One that holds the first folio whole and cuts the second unmaps the first only.
    s.madvise(m, 0, 9, MADV_PAGEOUT);
    s.views(m, 12);
    // Folios another mapping also maps stay.
    let other = s.map(12, PROT_READ, MAP_PRIVATE, Fd::Slot(ro), 0);
    s.op(Op::Load { addr: at(other, 0), len: 1 });
    s.op(Op::Load { addr: at(m, 0), len: 1 });
    s.madvise(m, 0, 12, MADV_PAGEOUT);
    s.views(m, 12);
    s.views(other, 12);
    check("pageout of large folios", s);
}

/// MADV_COLD of a large page-cache folio the range holds whole makes every PTE of it old and
/// its pages unreferenced (smaps Referenced drops by the folio); a range that cuts a folio
/// still dirty from its write leaves it as it was (its split fails). Found by `mmsim check
/// --random 200 --steps 300 --seed 77001` (seed 77188: the model left a whole folio alone).
#[test]
fn cold_makes_a_large_folio_old_whole_or_leaves_it() {
    let mut s = Script::new();
    // Written in one go, the file's pages form folios of 8, 2, 1 and 1 pages (ext4).
    let file = s.s.add_file(12 * P - 1000);
    let ro = s.s.open(file, OpenMode::ReadOnly);
    let m = s.map(12, PROT_READ, MAP_SHARED, Fd::Slot(ro), 0);
    s.op(Op::Load { addr: at(m, 0), len: 12 * P });
    s.views(m, 12);
    // A range that cuts the first folio leaves it referenced.
    s.madvise(m, 0, 2, MADV_COLD);
    s.views(m, 12);
    // One that holds it whole makes it old, and the 2-page folio after it too.
    s.madvise(m, 0, 10, MADV_COLD);
    s.views(m, 12);
    s.op(Op::Load { addr: at(m, 0), len: 12 * P });
    s.madvise(m, 0, 12, MADV_COLD);
    s.views(m, 12);
    check("cold of large folios", s);
}

/// msync(MS_SYNC) writes a shared file mapping's pages to the disk: bytes stored past EOF
/// in the last page are zeroed in the page cache (ext4 zeroes them at every writeback), and
/// what was stored below EOF survives the clean page's eviction (MADV_PAGEOUT) and comes
/// back from the disk. Found by `mmsim check --random 200 --steps 300 --seed 77001` (seed
/// 77067: the model kept the bytes past EOF after an msync).
#[test]
fn msync_writes_back_and_zeroes_past_eof() {
    let mut s = Script::new();
    let file = s.s.add_file(3 * P + 1000);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    let m = s.map(4, PROT_READ | PROT_WRITE, MAP_SHARED, Fd::Slot(rw), 0);
    // Below and past EOF in the last page.
    s.op(Op::Store { addr: Addr::Result { op: m, offset: 2 * P as i64 + 100 }, len: 2 * P - 100, byte: 0x69 });
    s.op(Op::Load { addr: at(m, 3), len: P });
    s.op(Op::Msync { addr: at(m, 0), len: 4 * P, flags: MS_SYNC });
    s.op(Op::Load { addr: at(m, 3), len: P });
    s.views(m, 4);
    s.madvise(m, 0, 4, MADV_PAGEOUT);
    s.views(m, 4);
    s.op(Op::Load { addr: at(m, 2), len: 2 * P });
    s.views(m, 4);
    check("msync writes back, zeroing past EOF", s);
}

/// A clean large page-cache folio that a MADV_COLD or MADV_PAGEOUT range cuts is split,
/// and the split unmaps all of it (its pages stay cached, mincore 1, and come back by
/// minor faults); a dirty one is left mapped (its split fails). Measured on 6.18, ext4.
fn a_cut_clean_large_folio_is_split(advice: u64, name: &str) {
    let mut s = Script::new();
    // Written in one go, the file's pages form folios of 8, 2, 1 and 1 pages (ext4).
    let file = s.s.add_file(12 * P - 1000);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    let m = s.map(12, PROT_READ | PROT_WRITE, MAP_SHARED, Fd::Slot(rw), 0);
    s.op(Op::Load { addr: at(m, 0), len: 12 * P });
    // Dirty: the cut folio stays mapped.
    s.madvise(m, 1, 2, advice);
    s.views(m, 12);
    // Written back (clean): the same cut splits it and unmaps its 8 pages.
    s.op(Op::Msync { addr: at(m, 0), len: 12 * P, flags: MS_SYNC });
    s.madvise(m, 1, 2, advice);
    s.views(m, 12);
    s.op(Op::Load { addr: at(m, 0), len: 12 * P });
    s.views(m, 12);
    check(name, s);
}

#[test]
fn cold_of_a_cut_clean_large_folio_splits_it() {
    a_cut_clean_large_folio_is_split(MADV_COLD, "a cut clean folio is split (cold)");
}

#[test]
fn pageout_of_a_cut_clean_large_folio_splits_it() {
    a_cut_clean_large_folio_is_split(MADV_PAGEOUT, "a cut clean folio is split (pageout)");
}

#[test]
fn mincore_of_a_file_mapping_split_by_mprotect() {
    let mut s = Script::new();
    let file = s.s.add_file(40 * P);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    // Pieces with different protections, a failed mlock across the end (it locks what it
    // reaches), a kernel read, then mincore within and across the pieces.
    let m = s.map(14, PROT_READ | PROT_WRITE, MAP_SHARED, Fd::Slot(rw), 35 * P);
    s.op(Op::Mprotect { addr: at(m, 6), len: 11 * P, prot: PROT_NONE });
    s.op(Op::Munlockall);
    s.op(Op::Mlock { addr: at(m, 8), len: 8 * P, flags: 0 });
    s.op(Op::Mprotect { addr: at(m, 3), len: 3 * P, prot: PROT_READ | PROT_WRITE | PROT_EXEC });
    s.op(Op::Mincore { addr: at(m, 0), len: 14 * P });
    s.op(Op::KRead { addr: at(m, 0), len: 337 });
    s.op(Op::Mincore { addr: at(m, 0), len: 14 * P });
    s.madvise(m, 2, 15, MADV_REMOVE);
    s.op(Op::Mincore { addr: at(m, 0), len: 14 * P });
    s.op(Op::Mprotect { addr: at(m, 13), len: 2 * P, prot: PROT_WRITE });
    s.op(Op::Load { addr: at(m, 7), len: 5716 });
    s.op(Op::Fork);
    s.op(Op::Fork);
    // Across an anonymous mapping placed just below and into the file mapping's pieces.
    let below = s.anon(13, PROT_READ | PROT_EXEC);
    s.op(Op::Mincore { addr: at(below, 4), len: 14 * P });
    s.op(Op::Maps);
    s.op(Op::Maps);
    check("mincore after mprotect splits", s);
}

#[test]
fn hole_punching_leaves_a_cut_large_folio_whole() {
    let mut s = Script::new();
    // 40 pages written at once: folios of 32 and 8 pages (ext4).
    let file = s.s.add_file(40 * P);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    let m = s.map(40, PROT_READ | PROT_WRITE, MAP_SHARED, Fd::Slot(rw), 0);
    s.op(Op::Load { addr: at(m, 0), len: 40 * P });
    // Pieces of the 8-page folio, then all but two pages of the 32-page one: both stay
    // cached (zeroed where punched); a whole folio goes.
    for (lo, n) in [(37, 1), (38, 2), (2, 1), (3, 29)] {
        s.madvise(m, lo, n, MADV_REMOVE);
        s.op(Op::Mincore { addr: at(m, 0), len: 40 * P });
    }
    s.op(Op::Load { addr: at(m, 0), len: 40 * P });
    s.views(m, 40);
    s.madvise(m, 32, 8, MADV_REMOVE);
    s.views(m, 40);
    check("hole punching in large folios", s);
}

/// The same cuts once the file is written back (msync MS_SYNC): a clean folio the hole cuts
/// is split, and its pages in the hole leave the cache (ext4 can release its buffers);
/// also the last page of a file whose end is not page-aligned, with the hole reaching past
/// EOF.
#[test]
fn hole_punching_splits_a_cut_large_folio_once_it_is_clean() {
    let mut s = Script::new();
    let file = s.s.add_file(40 * P);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    let m = s.map(40, PROT_READ | PROT_WRITE, MAP_SHARED, Fd::Slot(rw), 0);
    s.op(Op::Msync { addr: at(m, 0), len: 40 * P, flags: MS_SYNC });
    for (lo, n) in [(37, 1), (2, 1), (38, 2), (5, 20)] {
        s.madvise(m, lo, n, MADV_REMOVE);
        s.op(Op::Mincore { addr: at(m, 0), len: 40 * P });
    }
    s.op(Op::Load { addr: at(m, 0), len: 40 * P });
    s.views(m, 40);
    // 13,288 bytes: folios of pages 0-1 and 2-3, the last holding EOF.
    let small = s.s.add_file(13288);
    let rw = s.s.open(small, OpenMode::ReadWrite);
    let m = s.map(4, PROT_READ | PROT_WRITE, MAP_SHARED, Fd::Slot(rw), 0);
    s.op(Op::Msync { addr: at(m, 0), len: 4 * P, flags: MS_SYNC });
    s.madvise(m, 1, 3, MADV_REMOVE);
    s.op(Op::Mincore { addr: at(m, 0), len: 4 * P });
    s.views(m, 4);
    check("hole punching in clean large folios", s);
}

/// Runs one test of this binary again in a child process with `env` set (and
/// `MMSIM_REQUIRE_HOST` as `require` says); returns whether it passed and all it printed.
fn rerun_self(test: &str, env: &[(&str, &str)], require: bool) -> (bool, String) {
    let mut c = std::process::Command::new(std::env::current_exe().expect("the test binary"));
    c.args(["--exact", test, "--nocapture", "--test-threads=1"]).envs(env.iter().copied());
    if require {
        c.env(hostreq::REQUIRE_VAR, "1");
    } else {
        c.env_remove(hostreq::REQUIRE_VAR);
    }
    let out = c.output().expect("run the test binary");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// A host child that is not there makes a curated test skip with a note, and fail with
/// the reason under MMSIM_REQUIRE_HOST=1 (the child path is hidden through its run-time
/// override, so the real skip path runs).
#[test]
fn a_missing_host_child_skips_and_fails_under_require_host() {
    let hidden = [("MMSIM_HOSTCHILD", "/nonexistent/mmsim-hostchild")];
    let (passed, text) = rerun_self("mremap_errno_table", &hidden, false);
    assert!(passed, "without MMSIM_REQUIRE_HOST the test skips:\n{text}");
    assert!(
        text.contains("note: skipping mremap errno table: the C host child /nonexistent/mmsim-hostchild"),
        "{text}"
    );
    assert!(text.contains("1 passed"), "{text}");
    let (passed, text) = rerun_self("mremap_errno_table", &hidden, true);
    assert!(!passed, "under MMSIM_REQUIRE_HOST=1 the test fails:\n{text}");
    assert!(
        text.contains(
            "mremap errno table cannot run on this host: the C host child /nonexistent/mmsim-hostchild (from \
             MMSIM_HOSTCHILD) is not a file"
        ),
        "{text}"
    );
    assert!(text.contains("1 failed"), "{text}");
}

/// Process 0 is a static binary, so its vDSO ends at mmap_base and the harness's first
/// mapping (step 0 of every script, [`S::new`]) lies directly below `[vvar]`.
const VVAR: i64 = (8 << 20) + P as i64;

#[test]
fn map_fixed_noreplace_is_fixed_before_rounding() {
    let mut s = Script::new();
    let a = s.anon(8, PROT_READ | PROT_WRITE);
    s.op(Op::Munmap { addr: at(a, 4), len: 4 * P });
    let nr = |addr, len| Op::Mmap {
        addr,
        len,
        prot: PROT_READ | PROT_WRITE,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
        fd: Fd::None,
        offset: 0,
    };
    // Unaligned: EINVAL (not rounded down like a hint).
    s.op(nr(Addr::Result { op: a, offset: 4 * P as i64 + 1 }, P));
    // Any overlap: EEXIST.
    s.op(nr(at(a, 3), 2 * P));
    s.op(nr(at(a, 7), P));
    // Free: mapped where asked, merging with the neighbour below.
    s.op(nr(at(a, 4), 2 * P));
    // Below the 64 KiB hint floor (but above vm.mmap_min_addr): taken as it is.
    s.op(nr(Addr::Abs(0x8000), P));
    s.op(nr(Addr::Abs(0x8001), P));
    s.op(Op::Maps);
    check("MAP_FIXED_NOREPLACE", s);
}

/// MAP_HUGETLB on a machine with no huge pages set aside (vm.nr_hugepages 0, as a
/// machine has unless told; the model's): an anonymous mapping that reserves its pages fails
/// with ENOMEM once placed (PostgreSQL's `huge_pages=try` and the JVM's large pages see
/// this and map again without); a file that is not on hugetlbfs, or a page size the CPU
/// lacks, is EINVAL; a fixed address off a huge page boundary is EINVAL; the descriptor of
/// an anonymous one is ignored. (With MAP_NORESERVE the kernel maps it, `/anon_hugepage
/// (deleted)`: not modelled.)
#[test]
fn map_hugetlb_without_huge_pages() {
    let name = "MAP_HUGETLB without huge pages";
    let none_set_aside = ["hugepages-2048kB", "hugepages-1048576kB"].iter().all(|dir| {
        let path = format!("/sys/kernel/mm/hugepages/{dir}/nr_hugepages");
        std::fs::read_to_string(path).map_or(true, |n| n.trim() == "0")
    });
    let why = "this machine has huge pages set aside (vm.nr_hugepages), the model's has none";
    if hostreq::need(name, if none_set_aside { Ok(()) } else { Err(why.to_string()) }).is_none() {
        return;
    }
    let mut s = Script::new();
    let file = s.s.add_file(8 * P);
    let ro = s.s.open(file, OpenMode::ReadOnly);
    let anon = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB;
    let huge = |addr, len, flags, fd| Op::Mmap { addr, len, prot: PROT_READ | PROT_WRITE, flags, fd, offset: 0 };
    let a = Addr::Abs(0);
    s.op(huge(a, P, anon, Fd::None));
    s.op(huge(a, P, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, Fd::None));
    s.op(huge(a, P, anon | (21 << MAP_HUGE_SHIFT), Fd::None));
    s.op(huge(a, P, anon | (30 << MAP_HUGE_SHIFT), Fd::None));
    s.op(huge(a, P, anon | (16 << MAP_HUGE_SHIFT), Fd::None));
    s.op(huge(a, P, anon, Fd::Raw(99)));
    s.op(huge(a, 0, anon, Fd::None));
    s.op(huge(a, 1 << 46, anon, Fd::None));
    s.op(huge(a, 0u64.wrapping_sub(1 << 20), anon, Fd::None));
    s.op(huge(Addr::Abs(0x7f00_0000_1000), P, anon | MAP_FIXED, Fd::None));
    s.op(huge(Addr::Abs(0x7f00_0020_0000), P, anon | MAP_FIXED, Fd::None));
    s.op(huge(Addr::Abs(0x7f00_0000_1000), P, anon | MAP_FIXED | MAP_NORESERVE, Fd::None));
    let file_huge =
        |flags| Op::Mmap { addr: Addr::Abs(0), len: P, prot: PROT_READ, flags, fd: Fd::Slot(ro), offset: 0 };
    s.op(file_huge(MAP_PRIVATE | MAP_HUGETLB));
    s.op(file_huge(MAP_PRIVATE | MAP_HUGETLB | MAP_NORESERVE));
    s.op(Op::Maps);
    check(name, s);
}

#[test]
fn map_fixed_at_an_error_value_returns_it() {
    let mut s = Script::new();
    for flags in [MAP_FIXED, MAP_FIXED_NOREPLACE] {
        for addr in [u64::MAX, 0u64.wrapping_sub(11), 0u64.wrapping_sub(22), 0u64.wrapping_sub(4095)] {
            s.op(Op::Mmap {
                addr: Addr::Abs(addr),
                len: P,
                prot: PROT_READ,
                flags: MAP_PRIVATE | MAP_ANONYMOUS | flags,
                fd: Fd::None,
                offset: 0,
            });
        }
    }
    // The last page is no error value: ENOMEM.
    s.op(Op::Mmap {
        addr: Addr::Abs(0u64.wrapping_sub(4096)),
        len: P,
        prot: PROT_READ,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
        fd: Fd::None,
        offset: 0,
    });
    s.op(Op::Maps);
    check("MAP_FIXED at -4095..-1", s);
}

#[test]
fn kernel_copies_check_the_whole_range_first() {
    let mut s = Script::new();
    let a = s.anon(4, PROT_READ | PROT_WRITE);
    s.store(a, 0, 4);
    for addr in [u64::MAX, 0u64.wrapping_sub(4096), TASK_TOP, TASK_TOP - 99, 1 << 47] {
        s.op(Op::KRead { addr: Addr::Abs(addr), len: 100 });
        s.op(Op::KWrite { addr: Addr::Abs(addr), len: 100, byte: 1 });
    }
    // The stack ends at the top of the user space: a copy that starts in its pages and runs
    // one byte past the top fails as a whole instead of copying those pages.
    s.op(Op::KRead { addr: Addr::Abs(TASK_TOP - P), len: P + 1 });
    s.op(Op::KRead { addr: Addr::Abs(TASK_TOP - 2 * P), len: 2 * P + 1 });
    s.op(Op::KWrite { addr: Addr::Abs(TASK_TOP - 2 * P), len: 2 * P + 1, byte: 0 });
    check("access_ok", s);
}

/// The top of the user address space (TASK_SIZE, 4-level paging).
const TASK_TOP: u64 = 0x7fff_ffff_f000;

#[test]
fn mremap_fixed_that_unmaps_its_own_source_gives_efault() {
    let mut s = Script::new();
    let a = s.anon(16, PROT_READ | PROT_WRITE);
    s.store(a, 0, 16);
    let mr = |addr, old_len, new_len, new_addr| Op::Mremap {
        addr,
        old_len,
        new_len,
        flags: MREMAP_MAYMOVE | MREMAP_FIXED,
        new_addr,
    };
    // An old range that wraps past 2^64 escapes the overlap check; the destination's unmap
    // takes the source with it.
    s.op(mr(at(a, 2), 0u64.wrapping_sub(4097), 10 * P, at(a, 1)));
    s.op(Op::Maps);
    // The same with the destination elsewhere: the source stays, the shrink's unmap fails.
    let b = s.anon(16, PROT_READ | PROT_WRITE);
    let d = s.anon(16, PROT_READ | PROT_WRITE);
    s.op(mr(at(b, 2), 0u64.wrapping_sub(4097), 10 * P, at(d, 0)));
    s.op(mr(at(b, 2), 0u64.wrapping_sub(4097), 100 * P, at(d, 0)));
    s.op(Op::Maps);
    check("mremap wrapping old range", s);
}

#[test]
fn a_range_ending_inside_the_vdso_fails_after_the_first_split() {
    let mut s = Script::new();
    // Four pages right below [vvar], in the harness's reserved region.
    let low = |pages: i64| at(0, VVAR / P as i64 - pages);
    let fixed = |addr, len| Op::Mmap {
        addr,
        len,
        prot: PROT_READ | PROT_WRITE,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
        fd: Fd::None,
        offset: 0,
    };
    s.op(fixed(low(4), 4 * P));
    s.op(Op::Munmap { addr: low(2), len: 3 * P });
    s.op(Op::Maps);
    s.op(fixed(low(3), 4 * P));
    s.op(Op::Maps);
    s.op(Op::Mremap { addr: low(4), old_len: 5 * P, new_len: P, flags: 0, new_addr: Addr::Abs(0) });
    s.op(Op::Maps);
    let src = s.anon(2, PROT_READ | PROT_WRITE);
    s.op(Op::Mremap {
        addr: at(src, 0),
        old_len: 2 * P,
        new_len: 2 * P,
        flags: MREMAP_MAYMOVE | MREMAP_FIXED,
        new_addr: low(1),
    });
    s.op(Op::Maps);
    // Starting inside [vvar]: nothing is split.
    s.op(Op::Munmap { addr: at(0, VVAR / P as i64 + 1), len: 4 * P });
    // A mapping refused by RLIMIT_AS after its range was gathered leaves both cuts.
    let c = s.anon(8, PROT_READ | PROT_WRITE);
    s.op(Op::Setrlimit { resource: 9, value: 0 });
    s.op(Op::Mmap {
        addr: at(c, 6),
        len: 4 * P,
        prot: PROT_READ,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
        fd: Fd::None,
        offset: 0,
    });
    s.op(Op::Mmap {
        addr: at(c, 2),
        len: 2 * P,
        prot: PROT_READ,
        flags: MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
        fd: Fd::None,
        offset: 0,
    });
    s.op(Op::Setrlimit { resource: 9, value: u64::MAX });
    s.op(Op::Maps);
    check("splits left by failed unmaps", s);
}

#[test]
fn mincore_of_the_vdso_reports_every_page() {
    let mut s = Script::new();
    s.op(Op::Mincore { addr: at(0, VVAR / P as i64), len: 8 * P });
    s.op(Op::Mincore { addr: at(0, VVAR / P as i64 - 1), len: 9 * P });
    s.op(Op::Mincore { addr: at(0, VVAR / P as i64), len: 8 * P });
    check("mincore of the vDSO", s);
}

#[test]
fn brk_in_a_forked_child_does_not_extend_the_shared_heap() {
    let mut s = Script::new();
    let b0 = s.op(Op::Brk { addr: Addr::Abs(0) });
    s.op(Op::Brk { addr: Addr::Result { op: b0, offset: 4 * P as i64 } });
    s.op(Op::Store { addr: at(b0, 0), len: 8, byte: 1 });
    s.op(Op::Fork);
    s.on(1, Op::Brk { addr: Addr::Result { op: b0, offset: 8 * P as i64 } });
    s.on(1, Op::Store { addr: at(b0, 6), len: 8, byte: 2 });
    s.on(1, Op::Maps);
    s.on(1, Op::Smaps);
    s.on(1, Op::Brk { addr: Addr::Result { op: b0, offset: 2 * P as i64 } });
    s.on(1, Op::Brk { addr: Addr::Result { op: b0, offset: 12 * P as i64 } });
    s.on(1, Op::Maps);
    s.on(1, Op::Exit);
    // The parent's own heap, never shared after the child is gone, still grows in place;
    // a fresh heap of an untouched parent too.
    s.op(Op::Brk { addr: Addr::Result { op: b0, offset: 8 * P as i64 } });
    s.op(Op::Maps);
    check("brk after fork", s);
}

#[test]
fn vdso_data_pages_without_backing_fault() {
    let mut s = Script::new();
    let page = |i: i64| at(0, VVAR / P as i64 + i);
    // [vvar]'s time-namespace (1) and architecture (3) pages, [vvar_vclock]'s Hyper-V
    // page (5): SIGBUS for the process, EFAULT for a kernel copy.
    for i in [1, 3, 5] {
        s.op(Op::Load { addr: page(i), len: 8 });
        s.op(Op::KRead { addr: page(i), len: 64 });
        s.op(Op::KWrite { addr: page(i), len: 64, byte: 0 });
    }
    s.op(Op::KRead { addr: Addr::Result { op: 0, offset: VVAR + 2 * P as i64 - 64 }, len: 128 });
    s.op(Op::Smaps);
    check("unbacked vDSO data pages", s);
}

#[test]
fn a_write_through_a_writable_shared_pte_dirties_the_pte_only() {
    let mut s = Script::new();
    // Shared anonymous memory: a read fault maps the page writable but clean (shmem needs
    // no write notification); the store then dirties the PTE, not the folio. The child's
    // copy of the PTE is made clean, so it sees the page clean.
    let sa = s.map(4, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, Fd::None, 0);
    s.op(Op::Load { addr: at(sa, 0), len: 2 * P });
    s.op(Op::Store { addr: at(sa, 0), len: 8, byte: 1 });
    s.op(Op::Store { addr: at(sa, 2), len: 8, byte: 1 });
    s.views(sa, 4);
    s.op(Op::Fork);
    s.on(1, Op::Smaps);
    s.on(1, Op::Pagemap { addr: at(sa, 0), pages: 4 });
    // The child faults the parent's pages in: page 0 was dirtied through the parent's PTE
    // only, page 2 by a write fault (which dirties the folio).
    s.on(1, Op::Load { addr: at(sa, 0), len: 8 });
    s.on(1, Op::Load { addr: at(sa, 2), len: 8 });
    s.on(1, Op::Smaps);
    s.on(1, Op::Store { addr: at(sa, 1), len: 8, byte: 2 });
    s.on(1, Op::Store { addr: at(sa, 2), len: 8, byte: 2 });
    s.on(1, Op::Smaps);
    s.on(1, Op::Fork);
    s.on(2, Op::Smaps);
    s.on(2, Op::Store { addr: at(sa, 3), len: 8, byte: 2 });
    s.on(2, Op::Smaps);
    s.op(Op::Smaps);
    s.on(1, Op::Exit);
    s.on(2, Op::Exit);
    check("writes through writable shared PTEs", s);
}

#[test]
fn a_read_fault_on_a_hole_reads_ahead_and_maps_around() {
    let mut s = Script::new();
    // Four written pages, then a hole to page 64 and beyond (the read-ahead window of the
    // disk is measured by the model side from the host).
    let file = s.s.add_file(4 * P);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    s.op(Op::Ftruncate { fd: rw, len: 4096 * P });
    let m = s.map(64, PROT_READ | PROT_WRITE, MAP_SHARED, Fd::Slot(rw), 0);
    s.op(Op::Mincore { addr: at(m, 0), len: 64 * P });
    // The read fault reads zeroed folios in, and the retried fault maps them around.
    s.op(Op::Load { addr: at(m, 40), len: 8 });
    s.views(m, 64);
    // A private mapping far into the hole: the same, and a write copies a zero page.
    let p = s.map(64, PROT_READ | PROT_WRITE, MAP_PRIVATE, Fd::Slot(rw), 3000 * P);
    s.op(Op::Load { addr: at(p, 20), len: 8 });
    s.op(Op::Store { addr: at(p, 50), len: 8, byte: 3 });
    s.views(p, 64);
    // A kernel copy faults the same way.
    let q = s.map(16, PROT_READ, MAP_SHARED, Fd::Slot(rw), 2000 * P);
    s.op(Op::KRead { addr: at(q, 3), len: 100 });
    s.views(q, 16);
    check("read faults on a hole", s);
}

#[test]
fn files_in_dev_shm_are_tmpfs() {
    let mut s = Script::new();
    s.s.tmpfs = true;
    // Eight written pages, then a hole up to 4 MiB.
    let file = s.s.add_file(8 * P);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    s.op(Op::Ftruncate { fd: rw, len: 1024 * P });
    // No THP alignment of a 4 MiB mapping (huge=never).
    let m = s.map(1024, PROT_READ | PROT_WRITE, MAP_SHARED, Fd::Slot(rw), 0);
    // Never-written pages are not there: mincore 0, and a read fault maps only what exists.
    s.op(Op::Mincore { addr: at(m, 0), len: 32 * P });
    s.op(Op::Load { addr: at(m, 2), len: 8 });
    s.op(Op::Load { addr: at(m, 20), len: 8 });
    s.op(Op::Mincore { addr: at(m, 0), len: 32 * P });
    s.views(m, 32);
    // A write into the hole creates a page; no writeback cleans anything.
    s.op(Op::Store { addr: at(m, 24), len: 8, byte: 7 });
    s.op(Op::Msync { addr: at(m, 0), len: 1024 * P, flags: MS_SYNC });
    s.views(m, 32);
    // A private mapping: reads map the existing pages, a read of the hole allocates one.
    let p = s.map(32, PROT_READ | PROT_WRITE, MAP_PRIVATE, Fd::Slot(rw), 0);
    s.op(Op::Load { addr: at(p, 4), len: 8 });
    s.op(Op::Load { addr: at(p, 28), len: 8 });
    s.op(Op::KRead { addr: at(p, 29), len: 100 });
    s.views(p, 32);
    s.op(Op::Mincore { addr: at(m, 0), len: 32 * P });
    check("files in /dev/shm", s);
}

#[test]
fn the_vdso_holds_the_kernels_image() {
    let mut s = Script::new();
    let vdso = |off: i64| Addr::Result { op: 0, offset: VVAR + 6 * P as i64 + off };
    // The start of its ELF header (e_ident, e_type, e_machine: the same in every x86-64
    // kernel build, so they can be pinned), by the process and by a kernel copy; the whole
    // image, which differs between builds, is compared unpinned below.
    s.op(Op::Load { addr: vdso(0), len: 20 });
    s.op(Op::KRead { addr: vdso(0), len: 20 });
    s.op(Op::Mincore { addr: vdso(0), len: 2 * P });
    check("the vDSO image", s);
}

/// The whole vDSO image, loaded by the process and copied by the kernel, is the host's
/// (compared with the host only: it differs between kernel builds, so it is not pinned).
#[test]
fn the_whole_vdso_image_is_the_hosts() {
    if hostreq::need("the whole vDSO image", hostdiff::support()).is_none() {
        return;
    }
    let mut s = Script::new();
    let vdso = |off: i64| Addr::Result { op: 0, offset: VVAR + 6 * P as i64 + off };
    s.op(Op::Load { addr: vdso(0), len: 2 * P });
    s.op(Op::KRead { addr: vdso(100), len: 2 * P - 100 });
    let host = hostdiff::run_on_host(&s.s).expect("host run");
    let model = run_on_model(&s.s, &host.init).expect("model run");
    let mismatches = compare(&s.s, &host, &model);
    let report: Vec<String> = mismatches.iter().map(|m| format!("step {}: {}", m.step, m.what)).collect();
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn anon_vma_prepare_tries_the_next_vma_first() {
    let mut s = Script::new();
    // Three pieces of one mapping, the middle one write-only (flags that differ only in
    // access bits still share an anon_vma). The upper and lower pieces get anon_vmas of
    // their own; the middle one, touched last, takes its next neighbour's.
    let m = s.anon(3, PROT_READ | PROT_WRITE);
    s.op(Op::Mprotect { addr: at(m, 1), len: P, prot: PROT_WRITE });
    s.store(m, 2, 1);
    s.store(m, 0, 1);
    s.store(m, 1, 1);
    // Made alike again, the middle piece merges with the upper one only.
    s.op(Op::Mprotect { addr: at(m, 1), len: P, prot: PROT_READ | PROT_WRITE });
    s.op(Op::Maps);
    s.views(m, 3);
    check("anon_vma reuse order", s);
}

#[test]
fn mprotect_makes_shared_memory_ptes_writable_at_once() {
    let mut s = Script::new();
    // Shared anonymous memory has write permission in its page protection (no write
    // notification): after a round trip through PROT_READ the read-faulted PTEs are
    // writable again, so the store dirties the PTE only and the folio stays clean; a
    // forked child faulting the page in sees it clean.
    let sa = s.map(2, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, Fd::None, 0);
    s.op(Op::Load { addr: at(sa, 0), len: 2 * P });
    s.op(Op::Mprotect { addr: at(sa, 0), len: 2 * P, prot: PROT_READ });
    s.op(Op::Mprotect { addr: at(sa, 0), len: 2 * P, prot: PROT_WRITE });
    s.op(Op::Store { addr: at(sa, 0), len: 8, byte: 1 });
    s.views(sa, 2);
    s.op(Op::Fork);
    s.on(1, Op::Load { addr: at(sa, 0), len: 2 * P });
    s.on(1, Op::Smaps);
    s.on(1, Op::Exit);
    check("mprotect of shared memory", s);
}

#[test]
fn an_access_activates_a_page_whose_mlock_move_waits_in_the_batch() {
    // A page mlocked at fault time (MLOCK_ONFAULT) is PG_mlocked at once, but its move to
    // the unevictable list waits in the per-CPU mlock batch; nothing here drains it (munmap
    // does not), so a second mark_page_accessed activates it and clears PG_referenced.
    let mut s = Script::new();
    // Every step is pinned to the host; the smaps comparison sees PG_referenced through the
    // `seen` mapping, whose PTE MADV_COLD made old.
    // One page: an order-0 folio (a large folio is not mlocked at fault, and would not
    // wait in the batch anyway).
    let file = s.s.add_file(P);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    let shared = |s: &mut Script| s.map(1, PROT_READ | PROT_WRITE, MAP_SHARED, Fd::Slot(rw), 0);
    let seen = shared(&mut s);
    s.op(Op::Load { addr: at(seen, 0), len: 8 });
    // Old PTE, PG_referenced clear: what smaps of `seen` shows is the page flag alone.
    s.madvise(seen, 0, 1, MADV_COLD);
    let locked = shared(&mut s);
    s.op(Op::Mlock { addr: at(locked, 0), len: P, flags: MLOCK_ONFAULT });
    s.op(Op::Load { addr: at(locked, 0), len: 8 });
    // Each munmap of a young PTE marks the page accessed once.
    for _ in 0..2 {
        let other = shared(&mut s);
        s.op(Op::Load { addr: at(other, 0), len: 8 });
        s.op(Op::Munmap { addr: at(other, 0), len: P });
        s.views(seen, 1);
    }
    // A fork drains nothing here: two more accesses set PG_referenced and clear it again.
    s.op(Op::Fork);
    for _ in 0..2 {
        let other = shared(&mut s);
        s.op(Op::Load { addr: at(other, 0), len: 8 });
        s.op(Op::Munmap { addr: at(other, 0), len: P });
        s.views(seen, 1);
    }
    // MADV_POPULATE_READ touches the page once more, then drains: the page is now active
    // and unevictable, and later accesses set PG_referenced and leave it set.
    s.madvise(locked, 0, 1, MADV_POPULATE_READ);
    s.views(seen, 1);
    for _ in 0..2 {
        let other = shared(&mut s);
        s.op(Op::Load { addr: at(other, 0), len: 8 });
        s.op(Op::Munmap { addr: at(other, 0), len: P });
        s.views(seen, 1);
    }
    check("an access activates a page whose mlock move waits in the batch", s);
}

/// MADV_PAGEOUT of a dirty page-cache folio unmaps it and keeps it (only kswapd writes file
/// folios back), flagged PG_reclaim: the bit PG_readahead also uses, so fault-around skips
/// the folio as it skips a readahead mark, until the flag goes (a fault on the folio, its
/// writeback). Found by `mmsim check --random 3000 --seed 1500000 --steps 120` (seed
/// 1500240: the model mapped such a page by fault-around).
#[test]
fn pageout_of_a_dirty_folio_flags_it_for_reclaim() {
    let mut s = Script::new();
    // Written in one go (and dirty): folios of 8, 2, 1 and 1 pages (ext4).
    let file = s.s.add_file(12 * P - 1000);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    let m = s.map(12, PROT_READ | PROT_WRITE, MAP_SHARED, Fd::Slot(rw), 0);
    s.op(Op::Load { addr: at(m, 0), len: 12 * P });
    s.madvise(m, 10, 1, MADV_PAGEOUT);
    s.madvise(m, 8, 2, MADV_PAGEOUT);
    s.views(m, 12);
    // Fault-around of another mapping passes over the flagged folios.
    let p = s.map(12, PROT_READ, MAP_PRIVATE, Fd::Slot(rw), 0);
    s.op(Op::Load { addr: at(p, 0), len: 1 });
    s.views(p, 12);
    // A store through the shared mapping into one of them, then fault-around again.
    s.store(m, 10, 1);
    let q = s.map(12, PROT_READ, MAP_PRIVATE, Fd::Slot(rw), 0);
    s.op(Op::Load { addr: at(q, 0), len: 1 });
    s.views(q, 12);
    // A read fault on the other, then its writeback.
    s.op(Op::Load { addr: at(p, 9), len: 1 });
    s.views(p, 12);
    s.op(Op::Msync { addr: at(m, 0), len: 12 * P, flags: MS_SYNC });
    let r = s.map(12, PROT_READ, MAP_PRIVATE, Fd::Slot(rw), 0);
    s.op(Op::Load { addr: at(r, 0), len: 1 });
    s.views(r, 12);
    check("pageout of dirty folios", s);
}

/// A page-cache page an mlocked mapping faulted in (PG_referenced from the populate's
/// touch) keeps PG_referenced when that mapping goes, by exit or munmap: the unmap's access
/// finds the folio still unevictable, its munlock waiting in the mlock batch. A child
/// forked afterwards (its PTEs copied old) shows it Referenced; without the mlock it is
/// not. Found by `mmsim check --random 3000 --seed 1500000 --steps 120` (seed 1502428).
#[test]
fn an_unmapped_mlocked_page_keeps_its_referenced_flag() {
    let mut s = Script::new();
    // 13,288 bytes: folios of pages 0-1, 2 and 3 (ext4); the last two are mlocked below.
    let file = s.s.add_file(13288);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    // A private mapping with an anon_vma (its store past EOF prepares one), so that fork
    // copies its PTEs.
    let m = s.map(5, PROT_READ | PROT_WRITE, MAP_PRIVATE, Fd::Slot(rw), 0);
    s.store(m, 4, 1);
    s.op(Op::Fork);
    s.on(1, Op::Mlockall { flags: MCL_FUTURE });
    let one = |page| Op::Mmap {
        addr: Addr::Abs(0),
        len: P,
        prot: PROT_READ,
        flags: MAP_PRIVATE,
        fd: Fd::Slot(rw),
        offset: page * P,
    };
    s.on(1, one(2));
    let locked = s.on(1, one(3));
    s.on(1, Op::Munmap { addr: at(locked, 0), len: P });
    s.on(1, Op::Exit);
    s.op(Op::Load { addr: at(m, 0), len: 13288 });
    s.op(Op::Fork);
    s.views_on(2, m, 5);
    check("unmapped mlocked pages", s);
}

/// A large page-cache folio is mlocked only when a VM_LOCKED mapping maps all of it at
/// once (Linux 6.18), and then leaves the LRU lists: accesses while it is mlocked change
/// nothing, so once munlocked it is referenced but inactive, and the next access (an unmap
/// of young PTEs) activates it, clearing PG_referenced. A child forked after shows that
/// through another mapping whose PTEs it gets old. Without the mlock the accesses of the
/// populate would have activated it already, and it would stay referenced. Found by `mmsim
/// check --random 3000 --seed 1200000 --steps 120` (seed 1200578: a child's mlockall).
#[test]
fn a_large_folio_mapped_whole_by_a_locked_mapping_is_mlocked() {
    let mut s = Script::new();
    // Written in one go: folios of 32 and 8 pages (ext4).
    let file = s.s.add_file(40 * P);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    // The mapping the child shows (its store past EOF prepares an anon_vma, so that fork
    // copies its PTEs).
    let seen = s.map(42, PROT_READ | PROT_WRITE, MAP_PRIVATE, Fd::Slot(rw), 0);
    s.store(seen, 41, 1);
    s.op(Op::Load { addr: at(seen, 0), len: 40 * P });
    let locked = s.map(40, PROT_READ, MAP_SHARED, Fd::Slot(rw), 0);
    s.op(Op::Mlock { addr: at(locked, 0), len: 40 * P, flags: 0 });
    s.op(Op::Munlock { addr: at(locked, 0), len: 40 * P });
    s.op(Op::Munmap { addr: at(locked, 0), len: 40 * P });
    s.op(Op::Fork);
    s.views_on(1, seen, 42);
    // Faults in an MLOCK_ONFAULT range: a folio a fault-around maps whole is mlocked, one
    // it maps in part is not (the window stops at a page table's end or the VMA's).
    let onfault = s.map(40, PROT_READ, MAP_SHARED, Fd::Slot(rw), 0);
    s.op(Op::Mlock { addr: at(onfault, 0), len: 40 * P, flags: MLOCK_ONFAULT });
    s.op(Op::Load { addr: at(onfault, 0), len: 1 });
    s.op(Op::Load { addr: at(onfault, 39), len: 1 });
    s.op(Op::Munmap { addr: at(onfault, 0), len: 40 * P });
    s.op(Op::Fork);
    s.views_on(2, seen, 42);
    check("large folios of locked mappings", s);
}

/// A large folio that finish_fault maps whole in a VM_LOCKED mapping is mlocked, as one
/// fault-around maps whole is. In a process with no page table there yet, fault-around maps
/// nothing when the folio reaches EOF (the 8-page folio at the end of a 40-page file), and
/// finish_fault maps all of it (measured on 6.18 with MLOCK_ONFAULT reads and writes).
/// Mlocked, the populate's accesses leave it referenced but inactive, and the unmap after
/// the munlock activates it; had it stayed evictable, the populate would have activated
/// it and left it referenced. The parent shows it through a mapping whose PTEs its fork
/// made old. Found by `mmsim check --random 2500 --seed 2400000 --steps 300` (seed 2400698).
#[test]
fn a_large_folio_finish_fault_maps_whole_is_mlocked() {
    let mut s = Script::new();
    let file = s.s.add_file(40 * P);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    let ro = s.s.open(file, OpenMode::ReadOnly);
    // The child that locks, forked before anything is mapped near its mapping.
    s.op(Op::Fork);
    let seen = s.map(16, PROT_READ | PROT_WRITE, MAP_PRIVATE, Fd::Slot(rw), 28 * P);
    s.op(Op::Load { addr: at(seen, 7), len: 100 });
    // A store past EOF prepares an anon_vma, so that fork copies the PTEs.
    s.store(seen, 12, 1);
    let locked = s.on(
        1,
        Op::Mmap {
            addr: Addr::Abs(0),
            len: 8 * P,
            prot: PROT_READ,
            flags: MAP_SHARED,
            fd: Fd::Slot(ro),
            offset: 32 * P,
        },
    );
    s.on(1, Op::Mlock { addr: at(locked, 0), len: 8 * P, flags: 0 });
    s.on(1, Op::Munlock { addr: at(locked, 0), len: 8 * P });
    s.on(1, Op::Munmap { addr: at(locked, 0), len: 8 * P });
    s.op(Op::Fork);
    s.views_on(2, seen, 16);
    check("finish_fault mlocks a large folio it maps whole", s);
}

/// Linux unmaps a page table at a time, so a large folio whose pages sit on either side of
/// a table boundary is two runs: an exit with both PTEs young marks it accessed twice,
/// which activates it (PG_referenced cleared), where one run would leave it referenced.
/// Here the 2-page folio at the start of a 13,288-byte file is mapped at the last page
/// below 32 TiB. Found by `mmsim check --random 2500 --seed 2400000 --steps 300` (seed
/// 2400839).
#[test]
fn a_folio_across_a_page_table_boundary_is_two_runs() {
    let mut s = Script::new();
    let file = s.s.add_file(13288);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    s.op(Op::Fork);
    let m = s.on(
        1,
        Op::Mmap {
            addr: Addr::Abs(0x2000_0000_0000 - P),
            len: 16 * P,
            prot: PROT_READ | PROT_WRITE,
            flags: MAP_PRIVATE,
            fd: Fd::Slot(rw),
            offset: 0,
        },
    );
    // Past EOF: SIGBUS, and an anon_vma for fork to copy the PTEs by.
    s.on(1, Op::Store { addr: at(m, 5), len: 1, byte: 1 });
    s.on(1, Op::Load { addr: at(m, 0), len: 2 * P });
    s.on(1, Op::Fork);
    s.on(1, Op::Exit);
    s.views_on(2, m, 16);
    check("a folio across a page table boundary", s);
}

/// munlock_folio drains the CPU's mlock batch whenever a large folio passes through it,
/// mlocked or not. At this exit, a small page's munlock waits in the batch after its locked
/// VMA is unmapped (the access found it unevictable); the next VMA, locked, holds part of a
/// large folio, whose munlock drains the batch; the last one maps the small page with a
/// young PTE, which now finds it evictable and referenced and activates it. Without the
/// drain it would stay referenced. Found by `mmsim check --random 2500 --seed 2400000
/// --steps 300` (seed 2400734).
#[test]
fn a_large_folio_s_munlock_drains_the_mlock_batch() {
    let mut s = Script::new();
    // Folios of pages 0-1, 2 and 3; and a 40-page file of folios 0-15, 16-31, 32-39.
    let small = s.s.add_file(13288);
    let small_rw = s.s.open(small, OpenMode::ReadWrite);
    let big = s.s.add_file(40 * P);
    let big_ro = s.s.open(big, OpenMode::ReadOnly);
    // Mapped first, highest: unmapped last at exit.
    let seen = s.map(8, PROT_READ | PROT_WRITE, MAP_PRIVATE, Fd::Slot(small_rw), 3 * P);
    s.store(seen, 4, 1);
    s.op(Op::Fork);
    s.on(1, Op::Load { addr: at(seen, 0), len: 1 });
    s.on(1, Op::Fork);
    // Four pages of the first 16-page folio: mlocked mapping, folio not mlocked.
    let part = s.on(
        1,
        Op::Mmap {
            addr: Addr::Abs(0),
            len: 4 * P,
            prot: PROT_READ,
            flags: MAP_SHARED,
            fd: Fd::Slot(big_ro),
            offset: 0,
        },
    );
    s.on(1, Op::Mlock { addr: at(part, 0), len: 4 * P, flags: 0 });
    s.on(1, Op::Mlockall { flags: MCL_FUTURE });
    s.on(
        1,
        Op::Mmap {
            addr: Addr::Abs(0),
            len: P,
            prot: PROT_READ,
            flags: MAP_SHARED,
            fd: Fd::Slot(small_rw),
            offset: 3 * P,
        },
    );
    s.on(1, Op::Exit);
    s.views_on(2, seen, 8);
    check("a large folio's munlock drains the mlock batch", s);
}

/// Within one zap, a large folio's munlock comes when its batch of PTEs ends, before the
/// pages after it are unmapped: the mlock batch it drains holds only the munlocks queued
/// before it. Here a locked mapping's first page belongs to a 2-page folio and its next two
/// are small mlocked pages; their munlocks, queued after the drain, still wait when the
/// exit reaches a shared mapping where one of them has a young PTE, so that access leaves
/// it referenced. Found by `mmsim check --random 600 --seed 2500000 --steps 200 --swap`
/// (seed 2500145), after the drain above was first made at the end of the whole VMA.
#[test]
fn a_large_folio_s_munlock_drains_only_the_munlocks_before_it() {
    let mut s = Script::new();
    // Folios of pages 0-1, 2 and 3.
    let file = s.s.add_file(13288);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    let ro = s.s.open(file, OpenMode::ReadOnly);
    // The parent's view of pages 0-3 (mapped by a kernel read), and a shared mapping of
    // page 3 right above an anonymous one.
    let seen = s.map(14, PROT_WRITE, MAP_PRIVATE, Fd::Slot(ro), 0);
    s.map(3, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED, Fd::Slot(rw), 3 * P);
    s.op(Op::KRead { addr: at(seen, 0), len: 1160 });
    let anon = s.anon(7, PROT_READ | PROT_WRITE);
    s.op(Op::Fork);
    s.on(1, Op::Fork);
    // Past EOF: SIGBUS, and an anon_vma for fork to copy the PTEs by.
    s.store(seen, 9, 1);
    // A store running off the anonymous mapping's end into the shared one: page 3 gets a
    // young, dirty PTE there.
    s.on(2, Op::Store { addr: Addr::Result { op: anon, offset: 6 * P as i64 + 1901 }, len: 3656, byte: 3 });
    s.on(2, Op::Mlockall { flags: MCL_FUTURE });
    // Below everything else (unmapped first at exit): page 1 (folio 0-1), pages 2 and 3.
    s.on(
        2,
        Op::Mmap {
            addr: Addr::Abs(0x2000_0000_0000 - P),
            len: 10 * P,
            prot: PROT_READ | PROT_EXEC,
            flags: MAP_SHARED | MAP_FIXED,
            fd: Fd::Slot(rw),
            offset: P,
        },
    );
    s.on(2, Op::Exit);
    s.op(Op::Fork);
    s.views_on(3, seen, 14);
    check("a large folio's munlock drains the munlocks before it", s);
}

/// mprotect changes the PTEs of a large folio's consecutive pages a batch at a time and
/// gives every PTE of the batch the accessed and dirty bits any of them had: a child whose
/// fork left its PTEs of the folio old reads one page, and after mprotect all five of its
/// pages there count as referenced. Found by `mmsim check --random 3000 --seed 2600000
/// --steps 300` (seed 2601907).
#[test]
fn mprotect_gives_a_large_folio_s_ptes_the_batch_s_accessed_bit() {
    let mut s = Script::new();
    // Written in one go: folios of 32 and 8 pages (ext4); the mapping covers page 31 of the
    // first and pages 32-36 of the second.
    let file = s.s.add_file(40 * P);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    let m = s.map(6, PROT_READ | PROT_WRITE, MAP_PRIVATE, Fd::Slot(rw), 31 * P);
    s.op(Op::Load { addr: at(m, 5), len: 100 });
    // A private copy of page 31 (and an anon_vma, so that fork copies the PTEs).
    s.store(m, 0, 1);
    s.op(Op::Fork);
    s.on(1, Op::Load { addr: at(m, 1), len: 100 });
    s.views_on(1, m, 6);
    s.on(1, Op::Mprotect { addr: at(m, 0), len: 6 * P, prot: PROT_NONE });
    s.views_on(1, m, 6);
    s.on(1, Op::Mprotect { addr: at(m, 0), len: 6 * P, prot: PROT_READ });
    s.views_on(1, m, 6);
    check("mprotect batches a large folio's PTEs", s);
}

/// Fault-around finds no page it may map past EOF and returns before it touches the page
/// tables, for shmem as for a file: a read past the end of a shared anonymous object (its
/// mapping grown by mremap) installs no page table, so the next mapping in the same 2 MiB,
/// whose fault-around has only a file's EOF folio to map (which needs a table already
/// there), maps nothing before its own fault past EOF ends in SIGBUS. Found by `mmsim check
/// --random 3000 --seed 2600000 --steps 300` (seed 2602049).
#[test]
fn a_fault_past_eof_installs_no_page_table() {
    let mut s = Script::new();
    let file = s.s.add_file(13288);
    let ro = s.s.open(file, OpenMode::ReadOnly);
    // An empty 2 MiB region: no page table yet.
    let base = 0x6000_0000_0000;
    let fixed = |addr: u64, len, prot, flags, fd, offset| Op::Mmap {
        addr: Addr::Abs(addr),
        len,
        prot,
        flags: flags | MAP_FIXED,
        fd,
        offset,
    };
    let shared = s.op(fixed(base, 6 * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, Fd::None, 0));
    s.op(Op::Mremap { addr: at(shared, 0), old_len: 6 * P, new_len: 25 * P, flags: 0, new_addr: Addr::Abs(0) });
    s.op(Op::Load { addr: at(shared, 21), len: 1 });
    let m = s.op(fixed(base + 32 * P, 12 * P, PROT_READ | PROT_EXEC, MAP_PRIVATE, Fd::Slot(ro), 3 * P));
    s.op(Op::Load { addr: at(m, 11), len: 1 });
    s.op(Op::Mincore { addr: at(m, 0), len: 12 * P });
    s.op(Op::Pagemap { addr: at(m, 0), pages: 12 });
    // The same with the table there: fault-around maps the EOF folio.
    s.op(Op::Load { addr: at(shared, 0), len: 1 });
    s.op(Op::Load { addr: at(m, 11), len: 1 });
    s.op(Op::Mincore { addr: at(m, 0), len: 12 * P });
    s.op(Op::Pagemap { addr: at(m, 0), pages: 12 });
    check("a fault past EOF installs no page table", s);
}

/// Holes punched piece by piece through a dirty large folio (the 8-page folio at the end of
/// a 40-page file just written): ext4 cannot release a dirty buffer, so the folio stays
/// whole, zeroed where punched and still dirty, until the punch that reaches its last page
/// with a dirty buffer; that one splits it and frees its own pages, and the folio's
/// earlier-punched pages stay cached, clean. A store through a shared mapping dirties every
/// buffer again; a writeback (msync MS_SYNC) cleans them, and the next punch splits. Found
/// by `mmsim check --random 1500 --seed 1700000 --steps 300` (seed 1700161). A punch that
/// unmaps dirty PTEs of the folio outside its hole dirties every buffer again after it
/// discarded the hole's, so no later punch splits it (seed 4601972 of `--seed 4600000`).
#[test]
fn holes_punched_piece_by_piece_split_a_dirty_folio_at_the_last_piece() {
    let mut s = Script::new();
    let cases: &[&[(i64, u64)]] = &[
        &[(0, 2), (2, 2), (4, 3), (7, 1)],
        &[(2, 6), (0, 2)],
        &[(0, 2), (-1, 5), (2, 6)],
        &[(0, 2), (-2, 0), (2, 2)],
        &[(-1, 6), (0, 5), (5, 3)],
    ];
    for steps in cases {
        let file = s.s.add_file(40 * P);
        let rw = s.s.open(file, OpenMode::ReadWrite);
        let m = s.map(8, PROT_READ | PROT_WRITE, MAP_SHARED, Fd::Slot(rw), 32 * P);
        for &(page, pages) in steps.iter() {
            match page {
                // A store to page `pages` of the folio.
                -1 => s.store(m, pages as i64, 1),
                -2 => drop(s.op(Op::Msync { addr: at(m, 0), len: 8 * P, flags: MS_SYNC })),
                _ => s.madvise(m, page, pages, MADV_REMOVE),
            }
            s.op(Op::Mincore { addr: at(m, 0), len: 8 * P });
        }
        s.op(Op::Load { addr: at(m, 0), len: 8 * P });
        s.views(m, 8);
    }
    check("holes punched piece by piece", s);
}

/// mremap growing a VMA in place merges it with the VMA after it only: a fork leaves the
/// child two mergeable neighbours where the parent had an mlocked part (VM_LOCKED is not
/// inherited, and fork does not merge), and growing the upper one keeps them two; grown up
/// to an untouched VMA it absorbs it, although a fork gave it its anon_vma. Found by
/// `mmsim check --random 1500 --seed 1700000 --steps 300` (seed 1701190).
#[test]
fn mremap_growing_in_place_merges_with_the_next_vma_only() {
    let mut s = Script::new();
    let a = s.anon(10, PROT_READ | PROT_WRITE);
    s.op(Op::Munmap { addr: at(a, 8), len: 2 * P });
    // Locked on fault: no page, no anon_vma, so the child's two halves could merge.
    s.op(Op::Mlock { addr: at(a, 4), len: 4 * P, flags: MLOCK_ONFAULT });
    s.op(Op::Fork);
    s.on(1, Op::Maps);
    s.on(1, Op::Mremap { addr: at(a, 7), old_len: P, new_len: 2 * P, flags: 0, new_addr: Addr::Abs(0) });
    s.on(1, Op::Maps);
    // Growing into a neighbour that can merge: one VMA from there on.
    let b = s.on(
        1,
        Op::Mmap {
            addr: at(a, 10),
            len: P,
            prot: PROT_READ | PROT_WRITE,
            flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
            fd: Fd::None,
            offset: 0,
        },
    );
    s.on(1, Op::Mremap { addr: at(a, 8), old_len: P, new_len: 2 * P, flags: 0, new_addr: Addr::Abs(0) });
    s.on(1, Op::Maps);
    s.on(1, Op::Munmap { addr: at(b, 0), len: P });
    s.views_on(1, a, 11);
    // Two halves of one VMA that had pages (one anon_vma between them), split by mprotect:
    // fork gives each of the child's copies an anon_vma of its own, so that the child's
    // halves never merge again, neither by mprotect nor by growing the lower one up to the
    // upper. The parent's do.
    let c = s.anon(8, PROT_READ | PROT_WRITE);
    s.store(c, 0, 8);
    s.op(Op::Mprotect { addr: at(c, 4), len: 3 * P, prot: PROT_READ });
    s.op(Op::Munmap { addr: at(c, 7), len: P });
    s.op(Op::Fork);
    s.on(2, Op::Mprotect { addr: at(c, 4), len: 3 * P, prot: PROT_READ | PROT_WRITE });
    s.on(2, Op::Maps);
    s.on(2, Op::Munmap { addr: at(c, 3), len: P });
    s.on(2, Op::Mremap { addr: at(c, 2), old_len: P, new_len: 2 * P, flags: 0, new_addr: Addr::Abs(0) });
    s.on(2, Op::Maps);
    s.op(Op::Mprotect { addr: at(c, 4), len: 3 * P, prot: PROT_READ | PROT_WRITE });
    s.op(Op::Maps);
    check("mremap growth in place", s);
}

/// A small page whose last locked mapping goes stays mlocked and unevictable until this
/// CPU's mlock batch drains (munlock_folio only queues it), and the batch holds a reference
/// to it. So an access by another mapping's unmap in between leaves its PG_referenced set
/// (seed 1700991 of `mmsim check --random 1500 --seed 1700000 --steps 300`: an exit that
/// unmapped a locked mapping, then an unlocked one, of the same page), and a write to an
/// anonymous page shared with a parent that just unmapped its locked copy copies the page
/// instead of reusing it (seed 779453 of `--seed 777000 --steps 120`). Each shows as
/// Referenced in a child forked after, whose PTEs are old.
#[test]
fn a_munlocked_page_waits_in_the_mlock_batch() {
    let mut s = Script::new();
    // Small folios at pages 2 and 3 (ext4).
    let file = s.s.add_file(13288);
    let ro = s.s.open(file, OpenMode::ReadOnly);
    // The mapping children show (an anon_vma from its store past EOF: fork copies its PTEs).
    let seen = s.map(5, PROT_READ | PROT_WRITE, MAP_PRIVATE, Fd::Slot(ro), 0);
    s.store(seen, 4, 1);
    s.op(Op::Load { addr: at(seen, 0), len: 13288 });
    s.op(Op::Fork);
    // The unlocked mapping first (it lies above the locked one), its PTE young.
    let one = |page: u64| Op::Mmap {
        addr: Addr::Abs(0),
        len: P,
        prot: PROT_READ,
        flags: MAP_PRIVATE,
        fd: Fd::Slot(ro),
        offset: page * P,
    };
    let unlocked = s.on(1, one(2));
    s.on(1, Op::Load { addr: at(unlocked, 0), len: 1 });
    s.on(1, Op::Mlockall { flags: MCL_FUTURE });
    s.on(1, one(2));
    s.on(1, Op::Exit);
    s.op(Op::Fork);
    s.views_on(2, seen, 5);
    // MAP_LOCKED anonymous memory (populated: each page touched once), shared with a child;
    // the parent unmaps it, the child writes a page.
    let locked = s.map(2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, Fd::None, 0);
    s.op(Op::Fork);
    s.op(Op::Munmap { addr: at(locked, 0), len: 2 * P });
    s.on(3, Op::Store { addr: at(locked, 0), len: 1, byte: 7 });
    s.on(3, Op::Fork);
    s.views_on(4, locked, 2);
    check("munlock batch", s);
}

/// A hole that cuts a clean large folio splits it the way folio_split does: halves without
/// the hole's first page stay folios of their own (a 16-page folio cut at page 14 leaves
/// folios of pages 0-7, 8-11, 12-13 and 15), and the folio holding the page after the hole
/// is split again there. Fault-around maps such a folio whole when it reaches part of it,
/// so fresh mappings read at a few pages show where the pieces are. Found by `mmsim check
/// --random 2000 --seed 1900000 --steps 120` (seed 1900084: the model split to pages).
#[test]
fn a_hole_splits_a_clean_folio_into_buddies() {
    let mut s = Script::new();
    let file = s.s.add_file(40 * P);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    let m = s.map(40, PROT_READ | PROT_WRITE, MAP_SHARED, Fd::Slot(rw), 0);
    s.op(Op::Msync { addr: at(m, 0), len: 40 * P, flags: MS_SYNC });
    s.madvise(m, 14, 1, MADV_REMOVE);
    s.madvise(m, 18, 3, MADV_REMOVE);
    s.op(Op::Mincore { addr: at(m, 0), len: 40 * P });
    for (offset, pages, touch) in [(0u64, 40u64, 15i64), (1, 12, 11), (9, 8, 3), (5, 30, 12), (13, 20, 10)] {
        let r = s.map(pages, PROT_READ, MAP_SHARED, Fd::Slot(rw), offset * P);
        s.op(Op::Load { addr: at(r, touch), len: 1 });
        s.op(Op::Pagemap { addr: at(r, 0), pages });
        s.op(Op::Munmap { addr: at(r, 0), len: pages * P });
    }
    check("holes split clean folios into buddies", s);
}

/// Unmapping a file's pages for a hole (unmap_mapping_range) marks each folio whose PTEs
/// were young accessed, as every zap does, so a folio a read had just mapped comes out of
/// the punch referenced. A child forked after shows it through another mapping, whose PTEs
/// it gets old. Found by `mmsim check --random 1500 --seed 1800000 --steps 300` (seed
/// 1800726).
#[test]
fn a_hole_marks_the_folios_it_unmaps_accessed() {
    let mut s = Script::new();
    let file = s.s.add_file(40 * P);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    // The mapping the child shows (its store past EOF prepares an anon_vma).
    let seen = s.map(42, PROT_READ | PROT_WRITE, MAP_PRIVATE, Fd::Slot(rw), 0);
    s.store(seen, 41, 1);
    let m = s.map(5, PROT_READ | PROT_WRITE, MAP_SHARED, Fd::Slot(rw), 20 * P);
    s.op(Op::Load { addr: at(m, 4), len: 1 });
    s.madvise(m, 2, 2, MADV_REMOVE);
    // A hole through a folio nothing maps marks nothing.
    s.madvise(seen, 34, 1, MADV_REMOVE);
    // The punches unmapped the folios they cut; a read maps them again (not marking them).
    s.op(Op::Load { addr: at(seen, 0), len: 40 * P });
    s.op(Op::Fork);
    s.views_on(1, seen, 42);
    check("holes mark unmapped folios accessed", s);
}

/// MADV_PAGEOUT and MADV_COLD take a large folio whole through a PROT_NONE mapping too: its
/// PTEs are present to them (pte_present), only not accessible. Found by `mmsim check
/// --random 2000 --seed 2000000 --steps 120` (seed 2001701: the model left such a folio
/// mapped).
#[test]
fn pageout_takes_a_large_folio_whole_through_prot_none() {
    let mut s = Script::new();
    // 13,288 bytes: folios of pages 0-1, 2 and 3 (ext4).
    for advice in [MADV_PAGEOUT, MADV_COLD] {
        let file = s.s.add_file(13288);
        let rw = s.s.open(file, OpenMode::ReadWrite);
        let m = s.map(3, PROT_READ | PROT_WRITE, MAP_SHARED, Fd::Slot(rw), 0);
        s.op(Op::Load { addr: at(m, 2), len: 100 });
        s.op(Op::Mprotect { addr: at(m, 0), len: 2 * P, prot: PROT_NONE });
        s.madvise(m, 0, 3, advice);
        s.views(m, 3);
    }
    check("pageout through PROT_NONE", s);
}

/// Dropping pages from a file's page cache drains the CPU's LRU batches, the mlock batch
/// with them (truncation releases the pages a batch at a time, and the first release
/// drains): the munlocks a child queued for pages it shared with its parent complete, and
/// the parent's write to such a page reuses it, keeping its PG_referenced (populate marked
/// it accessed), which a later child's smaps shows. With no page to drop the munlock still
/// waits and holds a reference, and the write copies the page. The drops: the last close
/// of a shared anonymous mapping with a page in it (at the child's exit), a hole punched
/// in one (MADV_REMOVE), and an ftruncate of a file; each child queues its munlocks by
/// exiting or by unmapping its locked copy. Found by `mmsim check --random 3000 --seed
/// 3300000 --steps 300` (seed 3300283: a failed mlock had locked pages shared with the
/// parent, and the child had read a page of a shared anonymous mapping).
#[test]
fn a_page_cache_truncation_drains_the_mlock_batch() {
    #[derive(Clone, Copy, PartialEq)]
    enum Drop {
        LastClose,
        Nothing,
        Punch,
        Truncate,
    }
    let mut s = Script::new();
    let file = s.s.add_file(13288);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    let mut child = 0;
    for drop in [Drop::LastClose, Drop::Nothing, Drop::Punch, Drop::Truncate] {
        let m = s.map(4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, Fd::None, 0);
        s.op(Op::Fork);
        child += 1;
        s.on(child, Op::Mlock { addr: at(m, 0), len: 4 * P, flags: MLOCK_ONFAULT });
        let shared = s.on(
            child,
            Op::Mmap {
                addr: Addr::Abs(0),
                len: P,
                prot: PROT_READ,
                flags: MAP_SHARED | MAP_ANONYMOUS,
                fd: Fd::None,
                offset: 0,
            },
        );
        if drop != Drop::Nothing {
            s.on(child, Op::Load { addr: at(shared, 0), len: 1 });
        }
        match drop {
            Drop::LastClose | Drop::Nothing => {
                s.on(child, Op::Exit);
            }
            Drop::Punch => {
                s.on(child, Op::Munmap { addr: at(m, 0), len: 4 * P });
                s.madvise_on(child, shared, 0, 1, MADV_REMOVE);
            }
            Drop::Truncate => {
                s.on(child, Op::Munmap { addr: at(m, 0), len: 4 * P });
                s.on(child, Op::Ftruncate { fd: rw, len: 0 });
            }
        }
        s.store(m, 0, 1);
        s.op(Op::Fork);
        child += 1;
        s.views_on(child, m, 4);
        // The next part's mapping must not merge with this one.
        s.map(1, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, Fd::None, 0);
    }
    check("a page-cache truncation drains the mlock batch", s);
}

/// The vDSO moved by mremap (its special mapping allows a move of the whole of it): its
/// pages, which every process of the machine that touched them maps, stay shared, Shared_Clean
/// in smaps where the model's one process is their only mapper (the Pss lines, which say
/// how many processes of the machine touched each page, are not compared). Found by `mmsim
/// check --random 3000 --seed 3600000 --steps 300` (seed 3602996: the model counted the
/// moved page Private_Clean).
#[test]
fn a_moved_vdso_s_pages_stay_shared() {
    let mut s = Script::new();
    let place = s.map(4, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, Fd::None, 0);
    s.op(Op::Mremap {
        addr: Addr::Abs(0x7fff_f7ff_d000),
        old_len: 2 * P,
        new_len: 2 * P,
        flags: MREMAP_MAYMOVE | MREMAP_FIXED,
        new_addr: at(place, 1),
    });
    check("a moved vDSO's pages stay shared", s);
}

/// A munlock and an mlock of the same page waiting in one mlock batch are drained in the
/// order they came: the munlock (the last locked mapping gone) clears PG_mlocked, and the
/// mlock (a new locked mapping of the page) then finds the page evictable and leaves it so.
/// Here a process with MCL_FUTURE maps a file page shared (populated, mlocked) and maps the
/// same page again with MAP_FIXED over it: the populate drains the batch, and the page is
/// left evictable under the new locked mapping, so a child's access at its munmap
/// activates it, clearing PG_referenced, which a third process's inherited private
/// mapping of the page (its PTE made old by the fork) shows. Found by `mmsim check
/// --random 3000 --seed 3800000 --steps 300` (seed 3800615: the model kept the page
/// mlocked, the access did nothing, and smaps showed it referenced).
#[test]
fn a_munlock_drained_before_a_new_mlock_leaves_the_page_evictable() {
    let mut s = Script::new();
    let file = s.s.add_file(13288);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    // The viewer's mapping: pages 2-3, with an anonymous page so that a fork copies its
    // page table.
    let b = s.map(2, PROT_READ | PROT_WRITE, MAP_PRIVATE, Fd::Slot(rw), 2 * P);
    s.store(b, 0, 1);
    s.op(Op::Load { addr: at(b, 1), len: 1 });
    s.op(Op::Mlockall { flags: MCL_FUTURE });
    let d = s.map(1, PROT_READ | PROT_WRITE, MAP_SHARED, Fd::Slot(rw), 3 * P);
    s.op(Op::Fork);
    s.op(Op::Fork);
    s.madvise_on(2, d, 0, 1, MADV_POPULATE_WRITE);
    s.views_on(1, b, 2);
    s.op(Op::Mmap {
        addr: at(d, 0),
        len: P,
        prot: PROT_READ | PROT_WRITE,
        flags: MAP_SHARED | MAP_FIXED,
        fd: Fd::Slot(rw),
        offset: 3 * P,
    });
    s.views_on(1, b, 2);
    s.on(2, Op::Munmap { addr: at(d, 0), len: P });
    s.views_on(1, b, 2);
    check("a munlock drained before a new mlock leaves the page evictable", s);
}

/// mlock() drains the LRU batches before it locks a VMA's pages (mlock_vma_pages_range): a
/// page a parent munmapped, its munlock still waiting in the mlock batch, is mlocked again
/// by its child's mlock and stays unevictable, so the populate's access (a read) leaves its
/// PG_referenced set (the child's PTE, copied old by the fork, is not young). Were the munlock drained
/// together with the child's mlock, the page would end evictable and the access would
/// activate it, clearing PG_referenced (see
/// `a_munlock_drained_before_a_new_mlock_leaves_the_page_evictable`). Found by `mmsim
/// check --random 3000 --seed 4100000 --steps 300` (seed 4102652).
#[test]
fn mlock_completes_the_munlocks_waiting_before_it() {
    let mut s = Script::new();
    for child in 1..=2 {
        let m = s.map(2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, Fd::None, 0);
        s.store(m, 0, 2);
        s.op(Op::Mlock { addr: at(m, 0), len: 2 * P, flags: 0 });
        s.op(Op::Fork);
        s.op(Op::Munmap { addr: at(m, 0), len: 2 * P });
        // Read-only, so that the populate's access is a read: a write would copy the page
        // while the waiting munlock holds a reference to it.
        s.on(child, Op::Mprotect { addr: at(m, 0), len: 2 * P, prot: PROT_READ });
        s.on(child, Op::Mlock { addr: at(m, 0), len: P, flags: 0 });
        s.views_on(child, m, 2);
    }
    check("mlock completes the munlocks waiting before it", s);
}

/// An mlock that changes no VMA drains nothing: one that fails at once with ENOMEM (no
/// mapping at its start) leaves the munlocks a munmap queued waiting, and the references
/// they hold keep the child's write faults from reusing the pages it then maps alone: it
/// gets copies, without the PG_referenced the originals had from the mlock's populate, so a
/// grandchild (whose PTEs the fork made old) reads one page referenced, not three. Found by
/// `mmsim check --random 3000 --seed 4800000 --steps 300` (seed 4802311; the model drained
/// at every mlock call).
#[test]
fn a_failed_mlock_leaves_the_waiting_munlocks() {
    let mut s = Script::new();
    let m = s.anon(3, PROT_READ | PROT_WRITE);
    s.op(Op::Mlock { addr: at(m, 0), len: 3 * P, flags: 0 });
    s.op(Op::Fork);
    s.op(Op::Munmap { addr: at(m, 0), len: 3 * P });
    s.op(Op::Mlock { addr: at(m, 0), len: 3 * P, flags: MLOCK_ONFAULT });
    s.on(1, Op::Store { addr: Addr::Result { op: m, offset: 692 }, len: 6908, byte: 79 });
    s.on(1, Op::Fork);
    s.views_on(2, m, 3);
    check("a failed mlock leaves the waiting munlocks", s);
}

/// Every munlock waits in the mlock batch with a reference to its page, also one that
/// leaves the page locked by another mapping: a parent's pages, locked by its mlockall and
/// by its child's, are unmapped from the child by a MAP_FIXED mapping over them (after a
/// grandchild that shared them exits), and the parent's next write then copies the two
/// pages it touches instead of reusing them: a later fork's child reads those copies
/// unreferenced. Found by `mmsim check --random 3000 --seed 5100000 --steps 300` (seed
/// 5101673: the model queued a munlock only for a page's last locked mapping, reused the
/// pages, and read all six referenced).
#[test]
fn a_munlock_that_leaves_the_page_locked_still_holds_it() {
    let mut s = Script::new();
    let file = s.s.add_file(163840);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    let m = s.anon(6, PROT_READ | PROT_WRITE);
    s.op(Op::Mlockall { flags: MCL_CURRENT });
    s.op(Op::Fork);
    s.on(1, Op::Fork);
    s.on(1, Op::Mlockall { flags: MCL_CURRENT | MCL_ONFAULT });
    s.on(
        1,
        Op::Mmap {
            addr: at(m, -1),
            len: 13 * P,
            prot: PROT_WRITE,
            flags: MAP_SHARED | MAP_FIXED,
            fd: Fd::Slot(rw),
            offset: 25 * P,
        },
    );
    s.on(2, Op::Exit);
    s.op(Op::Store { addr: Addr::Result { op: m, offset: 1000 }, len: 5000, byte: 72 });
    s.op(Op::Fork);
    s.views_on(3, m, 6);
    s.views(m, 6);
    check("a munlock that leaves the page locked still holds it", s);
}

/// A hole punched through part of a large page-cache folio unmaps the folio whole, but only
/// a young PTE of a page in the hole marks it accessed (the rest is unmapped by
/// unmap_mapping_folio, which marks nothing). A 40-page file just written (16-page
/// folios); a shared mapping of pages 6-19 stores to page 7 (outside the hole), stores to
/// page 14 (inside), or loads page 7 (its fault-around maps pages 13-15 too);
/// MADV_REMOVE of pages 13-19; then a private mapping of pages 10-29 reads two pages and writes three (an
/// anon_vma, so a fork copies the PTEs, old), and the fork's child shows in smaps which
/// folios are PG_referenced. Found by `mmsim check --random 3000 --seed 5600000 --steps
/// 300` (seed 5600867: the model marked the folio accessed for the young PTE outside the
/// hole, and the child read 24 kB referenced where Linux shows none).
#[test]
fn a_hole_punch_marks_a_cut_folio_accessed_only_through_the_hole() {
    let mut s = Script::new();
    let mut child = 0;
    for (page, store) in [(1, true), (8, true), (1, false)] {
        let file = s.s.add_file(163840);
        let rw = s.s.open(file, OpenMode::ReadWrite);
        let a = s.map(14, PROT_READ | PROT_WRITE, MAP_SHARED, Fd::Slot(rw), 6 * P);
        if store {
            s.store(a, page, 1);
        } else {
            s.op(Op::Load { addr: at(a, page), len: 8 });
        }
        s.madvise(a, 7, 7, MADV_REMOVE);
        let b = s.map(20, PROT_READ | PROT_WRITE, MAP_PRIVATE, Fd::Slot(rw), 10 * P);
        s.op(Op::Load { addr: at(b, 0), len: 2 * P });
        s.store(b, 6, 3);
        s.op(Op::Fork);
        child += 1;
        s.views_on(child, b, 20);
        s.views(a, 14);
    }
    check("a hole punch marks a cut folio accessed only through the hole", s);
}

/// A hole punched inside a clean large folio splits it at the hole's first page and again at
/// the first page after the hole, even where that page starts a piece of the first split:
/// it becomes a folio of its own. A 40-page file just written (16-page folios), a shared
/// mapping of pages 16-31 written back by msync, MADV_REMOVE of page 29 (or of pages 28-29),
/// a store to page 30, then loads of every page: only page 30 is dirty. Found by `mmsim
/// check --random 3000 --seed 5800000 --steps 300` (seed 5800731: the model left pages
/// 30-31 one folio, and the store dirtied page 31 too).
#[test]
fn a_hole_splits_a_clean_folio_at_the_page_after_it() {
    let mut s = Script::new();
    for (hole_first, hole_pages) in [(13, 1), (12, 2), (8, 6)] {
        let file = s.s.add_file(163840);
        let rw = s.s.open(file, OpenMode::ReadWrite);
        let m = s.map(16, PROT_READ | PROT_WRITE, MAP_SHARED, Fd::Slot(rw), 16 * P);
        s.op(Op::Msync { addr: at(m, 0), len: 16 * P, flags: MS_SYNC });
        s.madvise(m, hole_first, hole_pages, MADV_REMOVE);
        s.op(Op::Store { addr: Addr::Result { op: m, offset: 14 * P as i64 + 100 }, len: 8, byte: 9 });
        s.op(Op::Load { addr: at(m, 0), len: 16 * P });
        s.views(m, 16);
    }
    check("a hole splits a clean folio at the page after it", s);
}

/// MADV_PAGEOUT (and MADV_COLD) leave a large page-cache folio alone when the range holds
/// all of it but another mapping maps some of it too, another VMA of the same process
/// included: the folio's mapcount is not its page count. The folio's other pages are
/// stepped over with it, not split off one by one. The file is written 64 KiB at a time
/// (16-page folios on ext4) and written back; the second mapping covers pages 12-20,
/// inside the folios of pages 0-15 and 16-31; a third part maps nothing else (the folio is
/// paged out whole).
/// Found by `mmsim check --random 3000 --seed 4300000 --steps 300` (seed 4300987: the
/// model split the folio at its second page, unmapping all of it from both mappings).
#[test]
fn madvise_pageout_leaves_a_folio_mapped_elsewhere_too() {
    let mut s = Script::new();
    let file = s.s.add_file(163840);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    for (other, advice) in [(true, MADV_PAGEOUT), (true, MADV_COLD), (false, MADV_PAGEOUT)] {
        let m2 = s.map(29, PROT_READ, MAP_SHARED, Fd::Slot(rw), 11 * P);
        s.op(Op::Load { addr: at(m2, 0), len: 29 * P });
        let m1 = other.then(|| {
            let m1 = s.map(9, PROT_READ, MAP_SHARED, Fd::Slot(rw), 12 * P);
            s.op(Op::Load { addr: at(m1, 0), len: 9 * P });
            m1
        });
        // Written back: a clean folio is one the model could split.
        s.op(Op::Msync { addr: at(m2, 0), len: 29 * P, flags: MS_SYNC });
        s.madvise(m2, 0, 29, advice);
        s.views(m2, 29);
        if let Some(m1) = m1 {
            s.views(m1, 9);
            s.op(Op::Munmap { addr: at(m1, 0), len: 9 * P });
        }
        s.op(Op::Munmap { addr: at(m2, 0), len: 29 * P });
    }
    check("madvise pageout leaves a folio mapped elsewhere too", s);
}

/// Guard regions (MADV_GUARD_INSTALL 102, MADV_GUARD_REMOVE 103, Linux 6.13+): the range's
/// pages go, an access there is a SIGSEGV, a kernel copy EFAULT, population EFAULT (mlock
/// ENOMEM, the VMA still locked); the markers stay through MADV_DONTNEED, MADV_FREE and
/// mprotect, move with mremap, are copied by fork (not into a WIPEONFORK mapping), go with
/// munmap and MADV_GUARD_REMOVE; a locked VMA refuses an install, not a removal; the VMA
/// gets the sticky `gu` flag and an anon_vma and is not split; pagemap shows a marker.
/// Private and shared anonymous, private and shared file mappings.
#[test]
fn guard_regions() {
    let mut s = Script::new();
    let a = s.anon(8, PROT_READ | PROT_WRITE);
    s.store(a, 0, 8);
    s.madvise(a, 2, 2, MADV_GUARD_INSTALL);
    s.views(a, 8);
    s.op(Op::Load { addr: at(a, 2), len: 1 });
    s.op(Op::Store { addr: at(a, 3), len: 1, byte: 1 });
    s.op(Op::Load { addr: at(a, 4), len: 1 });
    s.op(Op::KRead { addr: at(a, 2), len: 3 });
    s.op(Op::KWrite { addr: at(a, 1), len: 2 * P, byte: 2 });
    s.madvise(a, 0, 8, MADV_POPULATE_WRITE);
    s.madvise(a, 0, 8, MADV_DONTNEED);
    s.op(Op::Load { addr: at(a, 2), len: 1 });
    s.op(Op::Mlock { addr: at(a, 0), len: 8 * P, flags: 0 });
    s.views(a, 8);
    s.madvise(a, 5, 1, MADV_GUARD_INSTALL);
    s.madvise(a, 0, 8, MADV_GUARD_REMOVE);
    s.op(Op::Load { addr: at(a, 2), len: 2 * P });
    s.op(Op::Munlock { addr: at(a, 0), len: 8 * P });
    s.op(Op::Mprotect { addr: at(a, 6), len: P, prot: PROT_NONE });
    s.madvise(a, 6, 1, MADV_GUARD_INSTALL);
    s.madvise(a, 1, 1, MADV_GUARD_INSTALL);
    s.madvise(a, 1, 1, MADV_GUARD_INSTALL);
    s.op(Op::Mprotect { addr: at(a, 0), len: 6 * P, prot: PROT_READ });
    s.op(Op::Load { addr: at(a, 0), len: 2 * P });
    s.views(a, 8);
    // A new neighbour merges with a VMA that had guards (the flag is sticky).
    let c = s.anon(4, PROT_READ | PROT_WRITE);
    s.madvise(c, 0, 1, MADV_GUARD_INSTALL);
    s.madvise(c, 0, 1, MADV_GUARD_REMOVE);
    s.op(Op::Mmap {
        addr: at(c, -4),
        len: 4 * P,
        prot: PROT_READ | PROT_WRITE,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
        fd: Fd::None,
        offset: 0,
    });
    s.op(Op::Maps);
    // Moved, freed, unmapped and mapped again.
    let m = s.anon(4, PROT_READ | PROT_WRITE);
    s.store(m, 0, 4);
    s.madvise(m, 1, 1, MADV_GUARD_INSTALL);
    let moved = s.op(Op::Mremap {
        addr: at(m, 0),
        old_len: 4 * P,
        new_len: 8 * P,
        flags: MREMAP_MAYMOVE,
        new_addr: Addr::Abs(0),
    });
    s.op(Op::Load { addr: at(moved, 1), len: 1 });
    s.op(Op::Load { addr: at(moved, 0), len: 1 });
    s.madvise(moved, 0, 4, MADV_FREE);
    s.op(Op::Load { addr: at(moved, 1), len: 1 });
    s.views(moved, 8);
    s.op(Op::Munmap { addr: at(moved, 1), len: P });
    s.op(Op::Mmap {
        addr: at(moved, 1),
        len: P,
        prot: PROT_READ | PROT_WRITE,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
        fd: Fd::None,
        offset: 0,
    });
    s.op(Op::Load { addr: at(moved, 1), len: 1 });
    // Shared anonymous, private and shared file mappings; then a fork.
    let sa = s.map(4, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, Fd::None, 0);
    s.store(sa, 0, 4);
    s.madvise(sa, 1, 1, MADV_GUARD_INSTALL);
    let file = s.s.add_file(5 * P);
    let ro = s.s.open(file, OpenMode::ReadOnly);
    let f = s.map(4, PROT_READ, MAP_PRIVATE, Fd::Slot(ro), 0);
    s.op(Op::Load { addr: at(f, 0), len: 4 * P });
    s.madvise(f, 1, 1, MADV_GUARD_INSTALL);
    s.op(Op::Load { addr: at(f, 0), len: 1 });
    s.op(Op::Load { addr: at(f, 1), len: 1 });
    s.views(f, 4);
    let fs = s.map(4, PROT_READ, MAP_SHARED, Fd::Slot(ro), 0);
    s.madvise(fs, 2, 1, MADV_GUARD_INSTALL);
    s.op(Op::Load { addr: at(fs, 0), len: 4 * P });
    s.views(fs, 4);
    let w = s.anon(2, PROT_READ | PROT_WRITE);
    s.store(w, 0, 1);
    s.madvise(w, 0, 2, MADV_WIPEONFORK);
    s.madvise(w, 1, 1, MADV_GUARD_INSTALL);
    s.op(Op::Fork);
    s.on(1, Op::Load { addr: at(sa, 1), len: 1 });
    s.on(1, Op::Load { addr: at(sa, 0), len: 1 });
    s.on(1, Op::Load { addr: at(moved, 0), len: 1 });
    s.on(1, Op::Load { addr: at(w, 1), len: 1 });
    s.on(1, Op::Load { addr: at(a, 6), len: 1 });
    s.on(1, Op::Load { addr: at(a, 1), len: 1 });
    s.views_on(1, a, 8);
    s.on(1, Op::Exit);
    check("guard regions", s);
}

/// A guard installed inside a transparent huge page splits it: the pages around the marker
/// stay, the guarded one goes; removed, the page reads back as zeros.
#[test]
fn a_guard_region_inside_a_huge_page() {
    let mut s = Script::new();
    let a = s.anon(1024, PROT_READ | PROT_WRITE);
    s.madvise(a, 0, 1024, MADV_HUGEPAGE);
    s.store(a, 0, 1024);
    s.views(a, 1024);
    s.madvise(a, 600, 2, MADV_GUARD_INSTALL);
    s.views(a, 1024);
    s.op(Op::Load { addr: at(a, 599), len: 3 * P });
    s.madvise(a, 0, 1024, MADV_GUARD_REMOVE);
    s.op(Op::Load { addr: at(a, 599), len: 3 * P });
    s.views(a, 1024);
    check("a guard region inside a huge page", s);
}

/// Guard markers through the calls that move, shrink, split and page out what holds them:
/// an mremap shrink drops the tail's, a growth in place keeps them, a DONTUNMAP move takes
/// them along; mprotect splits and merges back around them; MADV_PAGEOUT and MADV_COLD pass
/// over them; an install over a page on swap frees its slot; MLOCK_ONFAULT locks around
/// them; the heap takes them and gives them up as brk shrinks.
#[test]
fn guard_markers_through_moves_splits_and_pageout() {
    let mut s = Script::new();
    let a = s.anon(8, PROT_READ | PROT_WRITE);
    s.store(a, 0, 8);
    s.madvise(a, 1, 1, MADV_GUARD_INSTALL);
    s.madvise(a, 6, 1, MADV_GUARD_INSTALL);
    let mr = |addr, old_len, new_len, flags, new_addr| Op::Mremap { addr, old_len, new_len, flags, new_addr };
    s.op(mr(at(a, 0), 8 * P, 5 * P, 0, Addr::Abs(0)));
    s.op(mr(at(a, 0), 5 * P, 7 * P, 0, Addr::Abs(0)));
    s.op(Op::Load { addr: at(a, 6), len: 1 });
    s.op(Op::Load { addr: at(a, 1), len: 1 });
    s.views(a, 7);
    let moved = s.op(mr(at(a, 0), 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, Addr::Abs(0)));
    s.op(Op::Load { addr: at(moved, 1), len: 1 });
    s.op(Op::Load { addr: at(a, 1), len: 1 });
    s.views(moved, 2);
    s.op(Op::Mprotect { addr: at(a, 2), len: 2 * P, prot: PROT_READ });
    s.op(Op::Mprotect { addr: at(a, 2), len: 2 * P, prot: PROT_READ | PROT_WRITE });
    s.madvise(a, 0, 7, MADV_COLD);
    s.madvise(a, 0, 7, MADV_PAGEOUT);
    s.views(a, 7);
    let l = s.anon(4, PROT_READ | PROT_WRITE);
    s.madvise(l, 2, 1, MADV_GUARD_INSTALL);
    s.op(Op::Mlock { addr: at(l, 0), len: 4 * P, flags: MLOCK_ONFAULT });
    s.store(l, 0, 2);
    s.op(Op::Store { addr: at(l, 3), len: 1, byte: 3 });
    s.views(l, 4);
    let brk0 = s.op(Op::Brk { addr: Addr::Abs(0) });
    s.op(Op::Brk { addr: Addr::Result { op: brk0, offset: 4 * P as i64 } });
    s.op(Op::Store { addr: at(brk0, 0), len: 4 * P, byte: 7 });
    s.madvise(brk0, 2, 2, MADV_GUARD_INSTALL);
    s.op(Op::Maps);
    s.op(Op::Brk { addr: Addr::Result { op: brk0, offset: 3 * P as i64 } });
    s.op(Op::Brk { addr: Addr::Result { op: brk0, offset: 4 * P as i64 } });
    s.op(Op::Load { addr: at(brk0, 2), len: 2 * P });
    s.views(brk0, 4);
    check("guard markers through moves, splits and pageout", s);
}
