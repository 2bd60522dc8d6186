//! What the curated differential tests share: a script under construction, with shortcuts
//! for the common steps (mapping, storing, advising, reading the views), addressed in pages
//! from an earlier step's result. Each test file uses part of it.
#![allow(dead_code)]

use abi::*;
use hostdiff::{Addr, Fd, HostScript, Op};

/// The page size of the scripts.
pub const P: u64 = 4096;

/// The address `pages` pages from the address step `op` returned.
pub fn at(op: usize, pages: i64) -> Addr {
    Addr::Result { op, offset: pages * P as i64 }
}

/// A script under construction. Steps run in process 0 unless `_on` says otherwise.
pub struct Script {
    pub s: HostScript,
}

impl Script {
    pub fn new() -> Self {
        let mut s = HostScript::new();
        hostdiff::gen::push_harness_guard(&mut s);
        Script { s }
    }
    pub fn op(&mut self, op: Op) -> usize {
        self.s.push(0, op)
    }
    pub fn on(&mut self, proc: usize, op: Op) -> usize {
        self.s.push(proc, op)
    }
    pub fn anon(&mut self, pages: u64, prot: u64) -> usize {
        self.map(pages, prot, MAP_PRIVATE | MAP_ANONYMOUS, Fd::None, 0)
    }
    pub fn map(&mut self, pages: u64, prot: u64, flags: u64, fd: Fd, offset: u64) -> usize {
        self.op(Op::Mmap { addr: Addr::Abs(0), len: pages * P, prot, flags, fd, offset })
    }
    pub fn store(&mut self, m: usize, page: i64, pages: u64) {
        self.store_on(0, m, page, pages, 0x5a);
    }
    pub fn store_on(&mut self, proc: usize, m: usize, page: i64, pages: u64, byte: u8) {
        self.on(proc, Op::Store { addr: at(m, page), len: pages * P, byte });
    }
    pub fn madvise(&mut self, m: usize, page: i64, pages: u64, advice: u64) {
        self.madvise_on(0, m, page, pages, advice);
    }
    pub fn madvise_on(&mut self, proc: usize, m: usize, page: i64, pages: u64, advice: u64) {
        self.on(proc, Op::Madvise { addr: at(m, page), len: pages * P, advice });
    }
    /// smaps, mincore, pagemap and status of `pages` pages at `m`.
    pub fn views(&mut self, m: usize, pages: u64) {
        self.views_on(0, m, pages);
    }
    pub fn views_on(&mut self, proc: usize, m: usize, pages: u64) {
        self.on(proc, Op::Smaps);
        self.on(proc, Op::Mincore { addr: at(m, 0), len: pages * P });
        self.on(proc, Op::Pagemap { addr: at(m, 0), pages });
        self.on(proc, Op::Status);
    }
}
