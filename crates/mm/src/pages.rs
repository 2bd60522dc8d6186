//! [`PageCount`]: a number of pages, a type of its own so that the counters of an address
//! space (RSS, total_vm, locked_vm, ...) cannot be mixed up with byte lengths or addresses.
//!
//! A count becomes bytes or KiB only through [`PageCount::bytes`] and [`PageCount::kib`], the
//! two units `/proc` and the scripts show. A count never overflows: it counts pages of an
//! address space below 2^47 bytes (so below 2^35), or pages of the simulated RAM.

use crate::layout::{PAGE_SHIFT, PAGE_SIZE};
use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Sub, SubAssign};

/// A number of pages.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PageCount(u64);

impl PageCount {
    /// No pages.
    pub const ZERO: PageCount = PageCount(0);

    /// `n` pages.
    pub const fn new(n: u64) -> PageCount {
        PageCount(n)
    }

    /// The whole pages in `len` bytes (a length that is a multiple of the page size, or a
    /// limit in bytes, which counts its whole pages as Linux's `>> PAGE_SHIFT` does).
    pub const fn of_len(len: u64) -> PageCount {
        PageCount(len >> PAGE_SHIFT)
    }

    /// The number of pages.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// The same number of pages in bytes.
    pub const fn bytes(self) -> u64 {
        self.0 << PAGE_SHIFT
    }

    /// The same number of pages in KiB, as `/proc` shows sizes.
    pub const fn kib(self) -> u64 {
        self.0 * (PAGE_SIZE / 1024)
    }

    /// Moves the count by `delta` pages (a counter's update; the invariants check that the
    /// counter equals what it counts, so it never goes below zero).
    pub fn add_signed(&mut self, delta: i64) {
        self.0 = self.0.wrapping_add_signed(delta);
    }
}

impl Add for PageCount {
    type Output = PageCount;
    fn add(self, other: PageCount) -> PageCount {
        PageCount(self.0 + other.0)
    }
}

impl Sub for PageCount {
    type Output = PageCount;
    fn sub(self, other: PageCount) -> PageCount {
        PageCount(self.0 - other.0)
    }
}

impl AddAssign for PageCount {
    fn add_assign(&mut self, other: PageCount) {
        self.0 += other.0;
    }
}

impl SubAssign for PageCount {
    fn sub_assign(&mut self, other: PageCount) {
        self.0 -= other.0;
    }
}

impl Sum for PageCount {
    fn sum<I: Iterator<Item = PageCount>>(iter: I) -> PageCount {
        PageCount(iter.map(|c| c.0).sum())
    }
}

/// The number, as the kernel prints page counts (statm, the OOM report's table).
impl fmt::Display for PageCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The number, like a plain count.
impl fmt::Debug for PageCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_converts_to_bytes_and_kib() {
        let n = PageCount::of_len(3 * PAGE_SIZE);
        assert_eq!(n, PageCount::new(3));
        assert_eq!((n.bytes(), n.kib()), (3 * PAGE_SIZE, 12));
        assert_eq!(format!("{n} {n:?}"), "3 3");
    }

    #[test]
    fn counters_move_by_signed_deltas() {
        let mut c = PageCount::new(5);
        c.add_signed(-2);
        assert_eq!(c, PageCount::new(3));
        c.add_signed(4);
        assert_eq!(c + PageCount::new(1) - PageCount::new(2), PageCount::new(6));
        assert_eq!([c, c].into_iter().sum::<PageCount>(), PageCount::new(14));
    }
}
