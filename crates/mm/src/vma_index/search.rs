//! The free-gap searches of a [`VmaIndex`]: Linux's `unmapped_area_topdown` and
//! `unmapped_area` over the gaps the tree keeps (see the parent module), in O(log n).
//!
//! A subtree is entered only when its largest gap could hold the request and the part of
//! its address range inside the window is long enough; only subtrees straddling the window's
//! ends can pass that test without holding a fit, so a search visits O(height) nodes.

use super::{squeeze, Pos, Span, VmaIndex};

/// What a placement search looks for: `length` bytes inside the window `[low, high)`, at an
/// address `a` with `(a - align_offset) % align == 0`, in a gap at least `length +
/// align_slack` long once clipped to the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GapRequest {
    /// The window's lowest address.
    pub low: u64,
    /// The window's end (exclusive).
    pub high: u64,
    /// How many bytes to place.
    pub length: u64,
    /// The alignment, a power of two.
    pub align: u64,
    /// How much longer than `length` a gap must be to be chosen.
    pub align_slack: u64,
    /// The address's remainder modulo `align`.
    pub align_offset: u64,
}

impl GapRequest {
    /// The request with these fields.
    pub const fn new(low: u64, high: u64, length: u64, align: u64, align_slack: u64, align_offset: u64) -> Self {
        GapRequest { low, high, length, align, align_slack, align_offset }
    }
}

/// Parameters of one placement search, validated once up front.
struct Query {
    low: u64,
    high: u64,
    length: u64,
    /// `length + align_slack`: the clipped length a gap needs to qualify.
    need: u64,
    /// `need` as inner nodes keep gaps: a subtree whose largest gap is below it holds no fit.
    need_squeezed: u32,
    mask: u64,
    offset: u64,
}

impl Query {
    /// `None` when no gap can ever qualify (empty window, overflowing size) or the alignment
    /// is not a power of two.
    fn new(r: GapRequest) -> Option<Self> {
        let GapRequest { low, high, length, align, align_slack, align_offset } = r;
        if low >= high || !align.is_power_of_two() {
            return None;
        }
        let need = length.checked_add(align_slack)?;
        if need > high - low {
            return None;
        }
        Some(Query { low, high, length, need, need_squeezed: squeeze(need), mask: align - 1, offset: align_offset })
    }

    /// Clips `[start, end)` to the window; `Some` only if the clipped part is non-empty and
    /// at least `need` long.
    #[inline]
    fn qualifying(&self, start: u64, end: u64) -> Option<(u64, u64)> {
        let cs = start.max(self.low);
        let ce = end.min(self.high);
        (cs < ce && ce - cs >= self.need).then_some((cs, ce))
    }

    /// Could a subtree whose gaps all lie within `[lo, hi)` hold a qualifying clipped gap?
    #[inline]
    fn may_fit(&self, lo: u64, hi: u64) -> bool {
        hi > self.low && lo < self.high && hi.min(self.high).saturating_sub(lo.max(self.low)) >= self.need
    }

    /// Highest aligned address for the clipped gap `[cs, ce)`.
    #[inline]
    fn fit_top(&self, cs: u64, ce: u64) -> Option<u64> {
        // ce - cs >= need >= length, so this cannot underflow.
        let a = ce - self.length;
        // Wrapping is exact here: 2^64 is a multiple of every power of two.
        let down = a.wrapping_sub(self.offset) & self.mask;
        a.checked_sub(down).filter(|&a| a >= cs)
    }

    /// Lowest aligned address for the clipped gap `[cs, ce)`.
    #[inline]
    fn fit_bottom(&self, cs: u64, ce: u64) -> Option<u64> {
        let up = self.offset.wrapping_sub(cs) & self.mask;
        let a = cs.checked_add(up)?;
        let e = a.checked_add(self.length)?;
        (e <= ce).then_some(a)
    }
}

/// The bounds a parent knows of one child's subtree.
#[derive(Clone, Copy)]
struct Bounds {
    /// No key below it is smaller.
    key_lo: u64,
    /// No gap below it starts lower.
    gap_lo: u64,
    /// No gap below it ends higher.
    gap_hi: u64,
}

impl<V: Span> VmaIndex<V> {
    /// Top-down search, as Linux `unmapped_area_topdown`, over the gaps below each entry and
    /// the top gap `[last end, u64::MAX)`.
    ///
    /// Each gap is clipped to the request's window. Among the clipped gaps whose length is
    /// at least `length + align_slack`, the highest one is chosen and the highest address
    /// `a` is returned such that `[a, a + length)` lies inside it and
    /// `(a - align_offset) % align == 0`, with the entry just above the gap (`None` for the
    /// top gap). If that address does not fit (possible when `align_slack` is smaller than
    /// `align - 1`), the gap is skipped and the next lower candidate is tried. `align` must be
    /// a power of two; otherwise, or if the window is empty or no gap qualifies, returns
    /// `None`.
    pub fn gap_top_down(&self, r: GapRequest) -> Option<(u64, Option<&V>)> {
        let q = Query::new(r)?;
        let top = self.last_end();
        if let Some(a) = q.qualifying(top, u64::MAX).and_then(|(cs, ce)| q.fit_top(cs, ce)) {
            return Some((a, None));
        }
        if self.len == 0 {
            return None;
        }
        let b = Bounds { key_lo: 0, gap_lo: 0, gap_hi: top };
        if let Some((a, p)) = self.indexed_gaps(&q).then(|| self.top_rec(&q, self.root, self.height, b)).flatten() {
            return Some((a, Some(self.entry(p))));
        }
        let first = self.leaf(self.end_leaf(false)).item(0);
        let a = q.qualifying(0, first.start()).and_then(|(cs, ce)| q.fit_top(cs, ce))?;
        Some((a, Some(first)))
    }

    /// Whether any gap in the tree's maxima (all but the two at the ends) may be long enough.
    fn indexed_gaps(&self, q: &Query) -> bool {
        self.top_gap >= q.need_squeezed
    }

    /// Searches node `node` at `height`, highest gap first.
    fn top_rec(&self, q: &Query, node: u32, height: usize, b: Bounds) -> Option<(u64, Pos)> {
        if height == 0 {
            let l = self.leaf(node);
            for j in (l.first_indexed()..l.len).rev() {
                let end = l.key(j);
                if end <= q.low {
                    break;
                }
                let fit = q.qualifying(l.gap_start(j), end).and_then(|(cs, ce)| q.fit_top(cs, ce));
                if let Some(a) = fit {
                    return Some((a, Pos { leaf: node, at: j }));
                }
            }
            return None;
        }
        let n = &self.inners[node];
        let key_lo = |k: usize| if k == 0 { b.key_lo } else { n.bound(k) };
        let mut k = n.len;
        loop {
            // Children whose largest gap is too small first, in a tight loop.
            loop {
                if k == 0 {
                    return None;
                }
                k -= 1;
                if n.gap(k) >= q.need_squeezed {
                    break;
                }
            }
            let c = Bounds {
                key_lo: key_lo(k),
                gap_lo: if k == 0 { b.gap_lo } else { key_lo(k - 1) },
                gap_hi: if k + 1 < n.len { n.bound(k + 1) } else { b.gap_hi },
            };
            if c.gap_hi <= q.low {
                return None;
            }
            if c.gap_lo < q.high && q.may_fit(c.gap_lo, c.gap_hi) {
                if let Some(found) = self.top_rec(q, n.child(k), height - 1, c) {
                    return Some(found);
                }
            }
        }
    }

    /// Bottom-up search, as Linux `unmapped_area`: the mirror image of
    /// [`VmaIndex::gap_top_down`], lowest gap first, returning the lowest aligned address in
    /// the chosen clipped gap.
    pub fn gap_bottom_up(&self, r: GapRequest) -> Option<(u64, Option<&V>)> {
        let q = Query::new(r)?;
        let top = self.last_end();
        if self.len > 0 {
            let first = self.leaf(self.end_leaf(false)).item(0);
            if let Some(a) = q.qualifying(0, first.start()).and_then(|(cs, ce)| q.fit_bottom(cs, ce)) {
                return Some((a, Some(first)));
            }
            let b = Bounds { key_lo: 0, gap_lo: 0, gap_hi: top };
            if let Some((a, p)) =
                self.indexed_gaps(&q).then(|| self.bottom_rec(&q, self.root, self.height, b)).flatten()
            {
                return Some((a, Some(self.entry(p))));
            }
        }
        let a = q.qualifying(top, u64::MAX).and_then(|(cs, ce)| q.fit_bottom(cs, ce))?;
        Some((a, None))
    }

    /// Searches node `node` at `height`, lowest gap first.
    fn bottom_rec(&self, q: &Query, node: u32, height: usize, b: Bounds) -> Option<(u64, Pos)> {
        if height == 0 {
            let l = self.leaf(node);
            for j in l.first_indexed()..l.len {
                let start = l.gap_start(j);
                if start >= q.high {
                    break;
                }
                let fit = q.qualifying(start, l.key(j)).and_then(|(cs, ce)| q.fit_bottom(cs, ce));
                if let Some(a) = fit {
                    return Some((a, Pos { leaf: node, at: j }));
                }
            }
            return None;
        }
        let n = &self.inners[node];
        let key_lo = |k: usize| if k == 0 { b.key_lo } else { n.bound(k) };
        // Children whose successor's keys start at or below `low` hold no gap above it.
        let mut k = (1..n.len).take_while(|&i| n.bound(i) <= q.low).count();
        while k < n.len {
            if n.gap(k) < q.need_squeezed {
                k += 1;
                continue;
            }
            let c = Bounds {
                key_lo: key_lo(k),
                gap_lo: if k == 0 { b.gap_lo } else { key_lo(k - 1) },
                gap_hi: if k + 1 < n.len { n.bound(k + 1) } else { b.gap_hi },
            };
            if c.gap_lo >= q.high {
                return None;
            }
            if q.may_fit(c.gap_lo, c.gap_hi) {
                if let Some(found) = self.bottom_rec(q, n.child(k), height - 1, c) {
                    return Some(found);
                }
            }
            k += 1;
        }
        None
    }
}
