//! `VmaTree`: the VMAs of one address space, ordered by address, with a free-gap index for
//! O(log n) placement.
//!
//! VMAs live in a [`VmaIndex`] (a B+tree holding them) ordered by start address; the gaps between them live in a
//! [`GapTree`] augmented with subtree maxima, the role Linux's maple tree plays for
//! `unmapped_area_topdown`. The stack guard gap is applied the way Linux applies it: a gap
//! found just below a GROWSDOWN VMA lowers the search's upper limit to the guard's start and
//! the search starts again, which also skips every other gap above that limit.

use crate::flags::VmFlags;
use crate::gap_tree::GapTree;
use crate::vma::Vma;
use crate::vma_index::{Keyed, VmaIndex};

impl Keyed for Vma {
    fn key(&self) -> u64 {
        self.start
    }
}

/// The VMAs of an address space plus the index of the room between them.
#[derive(Clone, Debug)]
pub struct VmaTree {
    vmas: VmaIndex<Vma>,
    gaps: GapTree,
    guard_gap: u64,
}

impl VmaTree {
    /// An empty address space; the whole range is one gap.
    pub fn new(guard_gap: u64) -> Self {
        let mut gaps = GapTree::new();
        gaps.insert(0, u64::MAX);
        VmaTree { vmas: VmaIndex::new(), gaps, guard_gap }
    }

    /// The stack guard gap this tree keeps below GROWSDOWN VMAs.
    pub fn guard_gap(&self) -> u64 {
        self.guard_gap
    }

    /// Number of VMAs (`map_count`).
    pub fn len(&self) -> usize {
        self.vmas.len()
    }

    /// Whether there are no VMAs.
    pub fn is_empty(&self) -> bool {
        self.vmas.is_empty()
    }

    /// Iterates VMAs in address order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Vma> + '_ {
        self.vmas.iter()
    }

    /// VMAs that intersect `[start, end)`, in order.
    pub fn range(&self, start: u64, end: u64) -> impl Iterator<Item = &Vma> + '_ {
        let first = self.find(start).map(|v| v.start).unwrap_or(u64::MAX);
        self.vmas.iter_from(first).take_while(move |v| v.start < end)
    }

    /// Starts of the VMAs that intersect `[start, end)`.
    pub fn starts_in(&self, start: u64, end: u64) -> Vec<u64> {
        self.range(start, end).map(|v| v.start).collect()
    }

    /// The first VMA with `end > addr` (Linux `find_vma`): the one containing `addr` or the
    /// next one above it.
    pub fn find(&self, addr: u64) -> Option<&Vma> {
        if let Some(v) = self.vmas.last_le(addr) {
            if v.end > addr {
                return Some(v);
            }
        }
        self.vmas.first_gt(addr)
    }

    /// The VMA containing `addr`.
    pub fn containing(&self, addr: u64) -> Option<&Vma> {
        self.vmas.last_le(addr).filter(|v| v.end > addr)
    }

    /// The VMA starting exactly at `start`.
    pub fn get(&self, start: u64) -> Option<&Vma> {
        self.vmas.get(start)
    }

    /// The last VMA that ends at or below `addr`.
    pub fn prev_of(&self, addr: u64) -> Option<&Vma> {
        self.vmas.last_lt(addr).filter(|v| v.end <= addr)
    }

    /// The first VMA that starts at or above `addr`.
    pub fn next_of(&self, addr: u64) -> Option<&Vma> {
        self.vmas.first_ge(addr)
    }

    /// The VMA just below the one starting at `start`.
    pub fn before(&self, start: u64) -> Option<&Vma> {
        self.vmas.last_lt(start)
    }

    /// The VMA just above the one starting at `start`.
    pub fn after(&self, start: u64) -> Option<&Vma> {
        self.vmas.first_gt(start)
    }

    /// Where the gap below `vma` must end for a new mapping (Linux vm_start_gap).
    pub fn start_gap(&self, vma: &Vma) -> u64 {
        if vma.flags.contains(VmFlags::GROWSDOWN) {
            vma.start.saturating_sub(self.guard_gap)
        } else {
            vma.start
        }
    }

    /// Indexes the free range between the VMA ending at `from` (or address 0) and the one
    /// starting at `next` (or the top of the address space).
    fn index_gap(&mut self, from: u64, next: Option<u64>) {
        let end = next.unwrap_or(u64::MAX);
        if end > from {
            self.gaps.insert(from, end);
        }
    }

    /// Inserts a VMA; the range must be free.
    pub fn insert(&mut self, vma: Vma) {
        debug_assert!(vma.start < vma.end);
        debug_assert!(self.find(vma.start).is_none_or(|v| v.start >= vma.end), "insert over an existing VMA");
        let below = self.vmas.last_lt(vma.start).map(|v| v.end).unwrap_or(0);
        let next = self.vmas.first_ge(vma.start).map(|v| v.start);
        self.gaps.remove(below);
        self.index_gap(below, Some(vma.start));
        self.index_gap(vma.end, next);
        self.vmas.insert(vma);
    }

    /// Removes and returns the VMA starting at `start`.
    pub fn remove(&mut self, start: u64) -> Option<Vma> {
        let vma = self.vmas.remove(start)?;
        let below = self.vmas.last_lt(start).map(|v| v.end).unwrap_or(0);
        let next = self.vmas.first_ge(start).map(|v| v.start);
        self.gaps.remove(below);
        self.gaps.remove(vma.end);
        self.index_gap(below, next);
        Some(vma)
    }

    /// Changes a VMA through `f`; its new range must not overlap another VMA.
    pub fn update(&mut self, start: u64, f: impl FnOnce(&mut Vma)) {
        let mut vma = self.remove(start).expect("update of a missing VMA");
        f(&mut vma);
        self.insert(vma);
    }

    /// Mutable access to a VMA's fields that do not move it (flags, anon_vma, ...).
    pub fn get_mut_in_place(&mut self, start: u64) -> Option<&mut Vma> {
        self.vmas.get_mut(start)
    }

    /// Highest free address range `[a, a+len)` in `[low, high)` (unmapped_area_topdown).
    pub fn find_top_down(&self, low: u64, high: u64, len: u64, align: u64, slack: u64, offset: u64) -> Option<u64> {
        let mut high = high;
        loop {
            let a = self.gaps.find_top_down(low, high, len, align, slack, offset)?;
            let (_, gap_end) = self.gaps.containing(a)?;
            match self.vmas.get(gap_end) {
                // Linux lowers the limit to the stack guard and searches again from there.
                Some(next) if next.flags.contains(VmFlags::GROWSDOWN) && self.start_gap(next) < high.min(gap_end) => {
                    high = self.start_gap(next);
                }
                _ => return Some(a),
            }
        }
    }

    /// Lowest free address range `[a, a+len)` in `[low, high)` (unmapped_area).
    pub fn find_bottom_up(&self, low: u64, high: u64, len: u64, align: u64, slack: u64, offset: u64) -> Option<u64> {
        let mut low = low;
        loop {
            let a = self.gaps.find_bottom_up(low, high, len, align, slack, offset)?;
            let (_, gap_end) = self.gaps.containing(a)?;
            match self.vmas.get(gap_end) {
                // A stack's guard overlapping the candidate moves the search above that stack.
                Some(next) if next.flags.contains(VmFlags::GROWSDOWN) && self.start_gap(next) < a + len => {
                    low = next.end;
                }
                _ => return Some(a),
            }
        }
    }

    /// The free-gap index.
    pub fn gaps(&self) -> &GapTree {
        &self.gaps
    }

    /// Checks ordering, non-overlap and that the gap index matches the VMAs exactly.
    pub fn check_invariants(&self) {
        self.gaps.check_invariants();
        let mut expect = Vec::new();
        let mut prev_end = 0u64;
        let mut first = true;
        self.vmas.check_invariants();
        for v in self.vmas.iter() {
            assert!(v.start < v.end, "empty VMA at {:#x}", v.start);
            assert!(first || v.start >= prev_end, "VMAs overlap at {:#x}", v.start);
            let end = v.start;
            if end > prev_end {
                expect.push((prev_end, end));
            }
            prev_end = v.end;
            first = false;
        }
        expect.push((prev_end, u64::MAX));
        let got: Vec<_> = self.gaps.iter().collect();
        assert_eq!(got, expect, "gap index out of date");
    }
}
