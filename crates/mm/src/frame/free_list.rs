//! `FreeList`: the first pfns of a buddy allocator's free blocks of one order, in order.
//!
//! A fresh allocator has every largest block free: 4,096 of them for the 16 GiB a replay
//! models, and building and freeing a tree of them was a twelfth of replaying a 120-line
//! trace (`cat /proc/self/maps`). Blocks never taken since are kept as a run (`lo`,
//! `lo + step`, ... below `hi`) instead, and the tree holds the others; a block taken from
//! the middle of the run (a reservation, a zone's allocation) turns the run into tree
//! entries first. No tree entry lies inside the run: an entry there would be a block free
//! twice.

use std::collections::BTreeSet;
use std::ops::{Bound, RangeBounds};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct FreeList {
    set: BTreeSet<u64>,
    /// The run `lo, lo + step, ...` below `hi` (empty when `lo == hi`).
    lo: u64,
    hi: u64,
    step: u64,
}

impl FreeList {
    /// The blocks `lo, lo + step, ...` below `hi`, all free.
    pub(super) fn with_run(lo: u64, hi: u64, step: u64) -> FreeList {
        debug_assert!(step > 0 && (hi - lo).is_multiple_of(step));
        FreeList { set: BTreeSet::new(), lo, hi, step }
    }

    fn run_len(&self) -> u64 {
        if self.lo < self.hi {
            (self.hi - self.lo) / self.step
        } else {
            0
        }
    }

    fn in_run(&self, pfn: u64) -> bool {
        self.lo <= pfn && pfn < self.hi && (pfn - self.lo).is_multiple_of(self.step)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.set.is_empty() && self.run_len() == 0
    }

    pub(super) fn len(&self) -> usize {
        self.set.len() + self.run_len() as usize
    }

    pub(super) fn contains(&self, pfn: &u64) -> bool {
        self.set.contains(pfn) || self.in_run(*pfn)
    }

    pub(super) fn insert(&mut self, pfn: u64) -> bool {
        debug_assert!(!self.in_run(pfn), "block {pfn} is free already");
        self.set.insert(pfn)
    }

    pub(super) fn remove(&mut self, pfn: &u64) -> bool {
        if self.set.remove(pfn) {
            return true;
        }
        if !self.in_run(*pfn) {
            return false;
        }
        if *pfn == self.lo {
            self.lo += self.step;
        } else if *pfn + self.step == self.hi {
            self.hi -= self.step;
        } else {
            let (lo, hi, step) = (self.lo, self.hi, self.step);
            self.set.extend((lo..hi).step_by(step as usize).filter(|p| p != pfn));
            self.lo = 0;
            self.hi = 0;
        }
        true
    }

    /// Takes the lowest block.
    pub(super) fn pop_first(&mut self) -> Option<u64> {
        if self.run_len() == 0 {
            return self.set.pop_first();
        }
        // The run's first block, unless the tree has a lower one (tree entries lie below
        // the run or above it).
        match self.set.first() {
            Some(&s) if s < self.lo => self.set.pop_first(),
            _ => {
                let first = self.lo;
                self.lo += self.step;
                Some(first)
            }
        }
    }

    /// The blocks whose first pfn lies in `range`, in order.
    pub(super) fn range(&self, range: impl RangeBounds<u64>) -> impl DoubleEndedIterator<Item = u64> + '_ {
        let a = match range.start_bound() {
            Bound::Included(&x) => x,
            Bound::Excluded(&x) => x.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let b = match range.end_bound() {
            Bound::Included(&x) => x.saturating_add(1),
            Bound::Excluded(&x) => x,
            Bound::Unbounded => u64::MAX,
        };
        let set_range = |from: u64, to: u64| self.set.range(from..to.max(from)).copied();
        // Tree entries lie below the run or from its end on (none inside it).
        let (run_lo, run_hi) = if self.run_len() > 0 { (self.lo, self.hi) } else { (u64::MAX, u64::MAX) };
        let below = set_range(a, b.min(run_lo));
        let first = if a <= run_lo { 0 } else { (a - run_lo).div_ceil(self.step) };
        let last = if b <= run_lo { 0 } else { (b - run_lo).div_ceil(self.step).min(self.run_len()) };
        let step = self.step;
        let run = (first..last.max(first)).map(move |i| run_lo + i * step);
        let above = set_range(a.max(run_hi), b);
        below.chain(run).chain(above)
    }

    pub(super) fn iter(&self) -> impl DoubleEndedIterator<Item = u64> + '_ {
        self.range(..)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation on a list with a run, against a plain ordered set of the same blocks.
    #[test]
    fn a_run_behaves_as_the_blocks_it_stands_for() {
        let step = 1024;
        let fresh =
            || (FreeList::with_run(4 * step, 12 * step, step), (4..12).map(|i| i * step).collect::<BTreeSet<u64>>());
        let same = |list: &FreeList, set: &BTreeSet<u64>| {
            assert_eq!(list.iter().collect::<Vec<_>>(), set.iter().copied().collect::<Vec<_>>());
            assert_eq!(list.len(), set.len());
            assert_eq!(list.is_empty(), set.is_empty());
            for (lo, hi) in
                [(0, 5 * step), (5 * step + 1, 9 * step), (9 * step, u64::MAX), (0, 0), (11 * step, 3 * step)]
            {
                let want: Vec<u64> = if lo <= hi { set.range(lo..hi).copied().collect() } else { Vec::new() };
                assert_eq!(list.range(lo..hi).collect::<Vec<_>>(), want, "{lo}..{hi}");
                assert_eq!(list.range(lo..hi).next_back(), want.last().copied(), "{lo}..{hi} from the back");
            }
            for p in (0..14).map(|i| i * step) {
                assert_eq!(list.contains(&p), set.contains(&p), "{p}");
            }
        };
        // Taken from the front, the back, the middle; others added below and above.
        let (mut list, mut set) = fresh();
        for p in [4 * step, 11 * step, 7 * step, 2 * step, 13 * step] {
            if set.remove(&p) {
                assert!(list.remove(&p));
            } else {
                set.insert(p);
                assert!(list.insert(p));
            }
            same(&list, &set);
        }
        assert!(!list.remove(&(1 << 40)));
        while let Some(p) = list.pop_first() {
            assert_eq!(Some(p), set.pop_first());
            same(&list, &set);
        }
        let (mut list, mut set) = fresh();
        list.insert(step);
        set.insert(step);
        assert_eq!(list.pop_first(), Some(step));
        assert_eq!(list.pop_first(), Some(4 * step));
        set.pop_first();
        set.pop_first();
        same(&list, &set);
    }
}
