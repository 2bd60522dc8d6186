//! `VmaTree`: the VMAs of one address space, ordered by address, with the free gaps between
//! them indexed for O(log n) placement.
//!
//! One structure, a [`VmaIndex`], holds the VMAs in its leaves and, in its inner nodes, the
//! largest free gap below each subtree, the role Linux's maple tree plays for `find_vma` and
//! `unmapped_area_topdown`. A VMA's bounds change only through this type's methods, so the
//! gaps cannot go stale. The stack guard gap is applied the way Linux applies it: a gap
//! found just below a GROWSDOWN VMA lowers the search's upper limit to the guard's start and
//! the search starts again, which also skips every other gap above that limit.

use crate::flags::VmFlags;
use crate::vma::Vma;
use crate::vma_index::{GapRequest, Span, VmaIndex};

impl Span for Vma {
    fn start(&self) -> u64 {
        self.start
    }

    fn end(&self) -> u64 {
        self.end
    }
}

/// The VMAs of an address space and the room between them.
#[derive(Clone, Debug)]
pub struct VmaTree {
    vmas: VmaIndex<Vma>,
    guard_gap: u64,
}

impl VmaTree {
    /// An empty address space; the whole range is one gap.
    pub fn new(guard_gap: u64) -> Self {
        VmaTree { vmas: VmaIndex::new(), guard_gap }
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

    /// Inserts a VMA; the range must be free.
    pub fn insert(&mut self, vma: Vma) {
        debug_assert!(vma.start < vma.end);
        debug_assert!(self.find(vma.start).is_none_or(|v| v.start >= vma.end), "insert over an existing VMA");
        self.vmas.insert(vma);
    }

    /// Takes every VMA at once, leaving the tree empty (an exiting address space: one
    /// removal at a time would rebalance the index for nothing).
    pub fn take_all(&mut self) -> VmaTree {
        std::mem::replace(self, VmaTree::new(self.guard_gap))
    }

    /// Removes and returns the VMA starting at `start`.
    pub fn remove(&mut self, start: u64) -> Option<Vma> {
        self.vmas.remove(start)
    }

    /// Changes the VMA starting at `start` through `f`, which may move its bounds (its new
    /// range must not overlap another VMA): the one way to change a VMA in place.
    pub fn update(&mut self, start: u64, f: impl FnOnce(&mut Vma)) {
        let found = self.vmas.update(start, f);
        assert!(found, "update of a missing VMA at {start:#x}");
    }

    /// Highest free address range `[a, a+len)` in `[low, high)` (unmapped_area_topdown).
    pub fn find_top_down(&self, low: u64, high: u64, len: u64, align: u64, slack: u64, offset: u64) -> Option<u64> {
        let mut high = high;
        loop {
            let (a, next) = self.vmas.gap_top_down(GapRequest::new(low, high, len, align, slack, offset))?;
            match next {
                // Linux lowers the limit to the stack guard and searches again from there.
                Some(next)
                    if next.flags.contains(VmFlags::GROWSDOWN) && self.start_gap(next) < high.min(next.start) =>
                {
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
            let (a, next) = self.vmas.gap_bottom_up(GapRequest::new(low, high, len, align, slack, offset))?;
            match next {
                // A stack's guard overlapping the candidate moves the search above that stack.
                Some(next) if next.flags.contains(VmFlags::GROWSDOWN) && self.start_gap(next) < a + len => {
                    low = next.end;
                }
                _ => return Some(a),
            }
        }
    }

    /// The free gaps `[start, end)` in address order, the top one (up to `u64::MAX`) last.
    pub fn gaps(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let mut prev_end = 0;
        self.vmas
            .iter()
            .filter_map(move |v| {
                let gap = (prev_end, v.start);
                prev_end = v.end;
                (gap.0 < gap.1).then_some(gap)
            })
            .chain(std::iter::once((self.vmas.last_end(), u64::MAX)).filter(|g| g.0 < g.1))
    }

    /// Checks ordering, non-overlap, and the gaps the tree keeps against a recomputation
    /// from the VMAs.
    pub fn check_invariants(&self) {
        self.vmas.check_invariants();
    }
}
