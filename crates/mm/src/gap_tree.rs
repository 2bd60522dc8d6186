//! Free-gap index of a process address space.
//!
//! The VMAs themselves live elsewhere; this structure only records the free
//! gaps between them, so that placement queries (Linux's
//! `unmapped_area_topdown` / `unmapped_area`) take O(log n) instead of a scan
//! over every gap.
//!
//! Implementation: a B+tree kept in two arenas ([`Arena`]s of fixed-size leaf and
//! inner nodes addressed by `u32`).  Leaves hold the gaps sorted by start;
//! every inner-node slot records its child's smallest gap start and largest
//! gap length.  A wide tree rather than a binary one because at a million
//! gaps the cost of every operation is dominated by cache and TLB misses, and
//! a depth of about 5 touches far fewer distinct pages than a binary tree's
//! depth of 25 or more.  Nothing depends on randomness, so behaviour is fully
//! deterministic.

use crate::arena::Arena;

/// Maximum number of gaps per leaf.
const LEAF_CAP: usize = 16;
/// Minimum number of gaps in a non-root leaf.  A quarter rather than the
/// textbook half so that splits can be lopsided: address spaces are mostly
/// built in ascending or descending order, and a balanced split would leave
/// every leaf half empty.  Any minimum up to half the capacity keeps the
/// rule that two leaves unable to lend to each other fit into one.
const LEAF_MIN: usize = LEAF_CAP / 4;
/// Maximum number of children per inner node.
const INNER_CAP: usize = 32;
/// Minimum number of children of a non-root inner node (see [`LEAF_MIN`]).
const INNER_MIN: usize = INNER_CAP / 4;

/// Where to split a full node of `cap` entries (`min` at least per node)
/// that is about to receive an entry at `pos`: the number of entries the
/// left half keeps.  Appends at either end keep the old node nearly full.
pub(crate) fn split_point(cap: usize, min: usize, pos: usize) -> usize {
    if pos == cap {
        cap + 1 - min
    } else if pos == 0 {
        min - 1
    } else {
        cap / 2
    }
}

#[derive(Clone, Debug)]
struct Leaf {
    len: usize,
    start: [u64; LEAF_CAP],
    end: [u64; LEAF_CAP],
}

impl Leaf {
    fn empty() -> Self {
        Leaf { len: 0, start: [0; LEAF_CAP], end: [0; LEAF_CAP] }
    }

    fn max_len(&self) -> u64 {
        (0..self.len).map(|j| self.end[j] - self.start[j]).max().unwrap_or(0)
    }
}

#[derive(Clone, Debug)]
struct Inner {
    len: usize,
    /// Smallest gap start in each child's subtree.  Because gaps are
    /// disjoint, `key[i + 1]` also bounds every gap end in child `i`.
    key: [u64; INNER_CAP],
    /// Largest gap length in each child's subtree.
    max: [u64; INNER_CAP],
    child: [u32; INNER_CAP],
}

impl Inner {
    fn empty() -> Self {
        Inner { len: 0, key: [0; INNER_CAP], max: [0; INNER_CAP], child: [0; INNER_CAP] }
    }

    fn max_len(&self) -> u64 {
        self.max[..self.len].iter().copied().max().unwrap_or(0)
    }

    /// Index of the child whose key range holds `x`: the last one with
    /// `key <= x`, or `None` if `x` precedes every key.
    #[inline]
    fn child_for(&self, x: u64) -> Option<usize> {
        self.key[..self.len].partition_point(|&k| k <= x).checked_sub(1)
    }

    /// Inserts a child entry at `pos`; the caller guarantees room.
    fn insert_at(&mut self, pos: usize, key: u64, max: u64, child: u32) {
        let n = self.len;
        self.key.copy_within(pos..n, pos + 1);
        self.max.copy_within(pos..n, pos + 1);
        self.child.copy_within(pos..n, pos + 1);
        self.key[pos] = key;
        self.max[pos] = max;
        self.child[pos] = child;
        self.len += 1;
    }

    fn remove_at(&mut self, pos: usize) -> (u64, u64, u32) {
        let n = self.len;
        let out = (self.key[pos], self.max[pos], self.child[pos]);
        self.key.copy_within(pos + 1..n, pos);
        self.max.copy_within(pos + 1..n, pos);
        self.child.copy_within(pos + 1..n, pos);
        self.len -= 1;
        out
    }
}

/// Index of the free gaps of an address space, supporting Linux-style
/// top-down and bottom-up placement searches in O(log n).
#[derive(Clone, Debug, Default)]
pub struct GapTree {
    leaves: Arena<Leaf>,
    inners: Arena<Inner>,
    /// Root node; meaningful only once `leaves` is non-empty.
    root: u32,
    /// Number of inner levels above the leaves (0: the root is a leaf).
    height: u32,
    len: usize,
}

/// Parameters of one placement search, validated once up front.
struct Query {
    low: u64,
    high: u64,
    length: u64,
    /// `length + align_slack`: the clipped length a gap needs to qualify.
    need: u64,
    mask: u64,
    offset: u64,
}

impl Query {
    /// `None` when no gap can ever qualify (empty window, overflowing size)
    /// or the alignment is not a power of two.
    fn new(low: u64, high: u64, length: u64, align: u64, align_slack: u64, align_offset: u64) -> Option<Self> {
        if low >= high || !align.is_power_of_two() {
            return None;
        }
        let need = length.checked_add(align_slack)?;
        if need > high - low {
            return None;
        }
        Some(Query { low, high, length, need, mask: align - 1, offset: align_offset })
    }

    /// Clips `[start, end)` to the window; `Some` only if the clipped part is
    /// non-empty and at least `need` long.
    #[inline]
    fn qualifying(&self, start: u64, end: u64) -> Option<(u64, u64)> {
        let cs = start.max(self.low);
        let ce = end.min(self.high);
        (cs < ce && ce - cs >= self.need).then_some((cs, ce))
    }

    /// Could a subtree whose gaps all lie within `[lo, hi)` hold a
    /// qualifying clipped gap, given its largest unclipped length?
    #[inline]
    fn may_fit(&self, max_len: u64, lo: u64, hi: u64) -> bool {
        max_len >= self.need
            && hi > self.low
            && lo < self.high
            && hi.min(self.high).saturating_sub(lo.max(self.low)) >= self.need
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

impl GapTree {
    /// Creates an empty index.
    pub fn new() -> Self {
        Self::default()
    }

    fn leaf(&self, i: u32) -> &Leaf {
        &self.leaves[i]
    }

    fn inner(&self, i: u32) -> &Inner {
        &self.inners[i]
    }

    /// Node count of node `i` at height `h` (leaf gaps or inner children).
    fn node_len(&self, i: u32, h: u32) -> usize {
        if h == 0 {
            self.leaf(i).len
        } else {
            self.inner(i).len
        }
    }

    /// Smallest gap start under a non-empty node.
    fn node_min(&self, i: u32, h: u32) -> u64 {
        if h == 0 {
            self.leaf(i).start[0]
        } else {
            self.inner(i).key[0]
        }
    }

    fn node_max(&self, i: u32, h: u32) -> u64 {
        if h == 0 {
            self.leaf(i).max_len()
        } else {
            self.inner(i).max_len()
        }
    }

    /// Inserts the free gap `[start, end)` (`start < end`).  Gaps never
    /// overlap; this is checked only in debug builds (an empty range is
    /// ignored in release builds).
    pub fn insert(&mut self, start: u64, end: u64) {
        debug_assert!(start < end, "GapTree::insert: empty gap [{start:#x}, {end:#x})");
        debug_assert!(
            self.overlap(start, end).is_none(),
            "GapTree::insert: [{start:#x}, {end:#x}) overlaps {:x?}",
            self.overlap(start, end)
        );
        if start >= end {
            return;
        }
        if self.leaves.is_empty() {
            self.root = self.leaves.alloc(Leaf::empty());
            self.height = 0;
        }
        if let Some((key, sib)) = self.insert_rec(self.root, self.height, start, end) {
            let (old, h) = (self.root, self.height);
            let mut n = Inner::empty();
            n.insert_at(0, self.node_min(old, h), self.node_max(old, h), old);
            n.insert_at(1, key, self.node_max(sib, h), sib);
            self.root = self.inners.alloc(n);
            self.height += 1;
        }
        self.len += 1;
    }

    /// Any stored gap overlapping `[start, end)`.  The last gap starting
    /// below `end` has the largest end of all such gaps (they are sorted and
    /// disjoint), so it is the only one that needs checking.
    fn overlap(&self, start: u64, end: u64) -> Option<(u64, u64)> {
        self.last_start_le(end.checked_sub(1)?).filter(|&(_, e)| e > start)
    }

    /// Inserts into the subtree of node `i` at height `h`; if the node had to
    /// split, returns the new right sibling and its smallest start.
    fn insert_rec(&mut self, i: u32, h: u32, start: u64, end: u64) -> Option<(u64, u32)> {
        if h == 0 {
            return self.leaf_insert(i, start, end);
        }
        let n = self.inner(i);
        let pos = n.child_for(start).unwrap_or(0);
        let c = n.child[pos];
        let split = self.insert_rec(c, h - 1, start, end);
        let n = &mut self.inners[i];
        n.key[pos] = n.key[pos].min(start);
        match split {
            None => {
                n.max[pos] = n.max[pos].max(end - start);
                None
            }
            Some((key, sib)) => {
                let cmax = self.node_max(c, h - 1);
                let smax = self.node_max(sib, h - 1);
                self.inners[i].max[pos] = cmax;
                self.inner_insert(i, pos + 1, key, smax, sib)
            }
        }
    }

    fn leaf_insert(&mut self, i: u32, start: u64, end: u64) -> Option<(u64, u32)> {
        let leaf = &mut self.leaves[i];
        let pos = leaf.start[..leaf.len].partition_point(|&s| s < start);
        if leaf.len < LEAF_CAP {
            leaf_put(leaf, pos, start, end);
            return None;
        }
        let mut right = Leaf::empty();
        let half = split_point(LEAF_CAP, LEAF_MIN, pos);
        right.start[..LEAF_CAP - half].copy_from_slice(&leaf.start[half..]);
        right.end[..LEAF_CAP - half].copy_from_slice(&leaf.end[half..]);
        right.len = LEAF_CAP - half;
        leaf.len = half;
        if pos <= half {
            leaf_put(leaf, pos, start, end);
        } else {
            leaf_put(&mut right, pos - half, start, end);
        }
        let key = right.start[0];
        Some((key, self.leaves.alloc(right)))
    }

    fn inner_insert(&mut self, i: u32, pos: usize, key: u64, max: u64, child: u32) -> Option<(u64, u32)> {
        let n = &mut self.inners[i];
        if n.len < INNER_CAP {
            n.insert_at(pos, key, max, child);
            return None;
        }
        let mut right = Inner::empty();
        let half = split_point(INNER_CAP, INNER_MIN, pos);
        right.key[..INNER_CAP - half].copy_from_slice(&n.key[half..]);
        right.max[..INNER_CAP - half].copy_from_slice(&n.max[half..]);
        right.child[..INNER_CAP - half].copy_from_slice(&n.child[half..]);
        right.len = INNER_CAP - half;
        n.len = half;
        if pos <= half {
            n.insert_at(pos, key, max, child);
        } else {
            right.insert_at(pos - half, key, max, child);
        }
        let rkey = right.key[0];
        Some((rkey, self.inners.alloc(right)))
    }

    /// Removes the gap that starts exactly at `start`; returns its end, or
    /// `None` if there is no such gap.
    pub fn remove(&mut self, start: u64) -> Option<u64> {
        if self.len == 0 {
            return None;
        }
        let end = self.remove_rec(self.root, self.height, start)?;
        self.len -= 1;
        if self.height > 0 && self.inner(self.root).len == 1 {
            let old = self.root;
            self.root = self.inner(old).child[0];
            self.height -= 1;
            self.inners.release(old);
        }
        Some(end)
    }

    /// Nothing is modified until the gap has been found, so a miss leaves
    /// the tree untouched.
    fn remove_rec(&mut self, i: u32, h: u32, start: u64) -> Option<u64> {
        if h == 0 {
            let leaf = &mut self.leaves[i];
            let n = leaf.len;
            let pos = leaf.start[..n].partition_point(|&s| s < start);
            if pos == n || leaf.start[pos] != start {
                return None;
            }
            let end = leaf.end[pos];
            leaf.start.copy_within(pos + 1..n, pos);
            leaf.end.copy_within(pos + 1..n, pos);
            leaf.len -= 1;
            return Some(end);
        }
        let pos = self.inner(i).child_for(start)?;
        let c = self.inner(i).child[pos];
        let end = self.remove_rec(c, h - 1, start)?;
        let clen = self.node_len(c, h - 1);
        // Non-root children keep at least MIN - 1 >= 1 entries here.
        let (cmin, cmax) = (self.node_min(c, h - 1), self.node_max(c, h - 1));
        let n = &mut self.inners[i];
        n.key[pos] = cmin;
        n.max[pos] = cmax;
        let min = if h == 1 { LEAF_MIN } else { INNER_MIN };
        if clen < min {
            self.rebalance(i, pos, h - 1);
        }
        Some(end)
    }

    /// Child `pos` of inner node `p` has dropped below the minimum fill:
    /// borrow one entry from a neighbour, or merge with it if the neighbour
    /// is at the minimum too.  Children live at height `ch`.
    fn rebalance(&mut self, p: u32, pos: usize, ch: u32) {
        let l = if pos > 0 { pos - 1 } else { pos };
        let (lc, rc) = {
            let n = self.inner(p);
            (n.child[l], n.child[l + 1])
        };
        let merged = if ch == 0 {
            let (a, b) = self.leaves.pair_mut(lc, rc);
            if a.len + b.len <= LEAF_CAP {
                a.start[a.len..a.len + b.len].copy_from_slice(&b.start[..b.len]);
                a.end[a.len..a.len + b.len].copy_from_slice(&b.end[..b.len]);
                a.len += b.len;
                b.len = 0;
                true
            } else {
                if a.len > b.len {
                    leaf_put(b, 0, a.start[a.len - 1], a.end[a.len - 1]);
                    a.len -= 1;
                } else {
                    let (s, e) = (b.start[0], b.end[0]);
                    b.start.copy_within(1..b.len, 0);
                    b.end.copy_within(1..b.len, 0);
                    b.len -= 1;
                    leaf_put(a, a.len, s, e);
                }
                false
            }
        } else {
            let (a, b) = self.inners.pair_mut(lc, rc);
            if a.len + b.len <= INNER_CAP {
                let (x, y) = (a.len, b.len);
                a.key[x..x + y].copy_from_slice(&b.key[..y]);
                a.max[x..x + y].copy_from_slice(&b.max[..y]);
                a.child[x..x + y].copy_from_slice(&b.child[..y]);
                a.len += y;
                b.len = 0;
                true
            } else {
                if a.len > b.len {
                    let (k, m, c) = a.remove_at(a.len - 1);
                    b.insert_at(0, k, m, c);
                } else {
                    let (k, m, c) = b.remove_at(0);
                    let at = a.len;
                    a.insert_at(at, k, m, c);
                }
                false
            }
        };
        if merged {
            self.inners[p].remove_at(l + 1);
            if ch == 0 {
                self.leaves.release(rc);
            } else {
                self.inners.release(rc);
            }
        } else {
            let (rmin, rmax) = (self.node_min(rc, ch), self.node_max(rc, ch));
            let n = &mut self.inners[p];
            n.key[l + 1] = rmin;
            n.max[l + 1] = rmax;
        }
        let (lmin, lmax) = (self.node_min(lc, ch), self.node_max(lc, ch));
        let n = &mut self.inners[p];
        n.key[l] = lmin;
        n.max[l] = lmax;
    }

    /// The gap starting exactly at `start`, if any: its end.
    pub fn get(&self, start: u64) -> Option<u64> {
        self.last_start_le(start).filter(|&(s, _)| s == start).map(|(_, e)| e)
    }

    /// The gap containing `addr` (`start <= addr < end`), as `(start, end)`.
    pub fn containing(&self, addr: u64) -> Option<(u64, u64)> {
        // Gaps are disjoint, so only the last gap starting at or below addr
        // can contain it.
        self.last_start_le(addr).filter(|&(_, e)| addr < e)
    }

    /// The last gap whose start is `<= x`.
    fn last_start_le(&self, x: u64) -> Option<(u64, u64)> {
        if self.len == 0 {
            return None;
        }
        let mut i = self.root;
        for _ in 0..self.height {
            let n = self.inner(i);
            i = n.child[n.child_for(x)?];
        }
        let leaf = self.leaf(i);
        let j = leaf.start[..leaf.len].partition_point(|&s| s <= x);
        let j = j.checked_sub(1)?;
        Some((leaf.start[j], leaf.end[j]))
    }

    /// Number of gaps stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if no gap is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Iterates the gaps in address order as `(start, end)`.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let mut it = Iter { tree: self, path: Vec::new(), leaf: 0, pos: 0, done: self.len == 0 };
        if !it.done {
            it.descend(self.root, self.height);
        }
        it
    }

    /// Top-down search, as Linux `unmapped_area_topdown`.
    ///
    /// Each gap is clipped to the window `[low, high)`.  Among the clipped
    /// gaps whose length is at least `length + align_slack`, the highest one
    /// is chosen and the highest address `a` is returned such that
    /// `[a, a + length)` lies inside it and `(a - align_offset) % align == 0`.
    /// If that address does not fit (possible when `align_slack` is smaller
    /// than `align - 1`), the gap is skipped and the next lower candidate is
    /// tried.  `align` must be a power of two (use 4096 with `align_slack`
    /// and `align_offset` 0 for page alignment); otherwise, or if the window
    /// is empty or no gap qualifies, returns `None`.
    pub fn find_top_down(
        &self,
        low: u64,
        high: u64,
        length: u64,
        align: u64,
        align_slack: u64,
        align_offset: u64,
    ) -> Option<u64> {
        let q = Query::new(low, high, length, align, align_slack, align_offset)?;
        if self.len == 0 {
            return None;
        }
        self.top_rec(&q, self.root, self.height, u64::MAX)
    }

    /// Searches node `i` at height `h`, whose gaps all end at or below `hi`,
    /// highest first.  Children are skipped when their bounds or maximum
    /// length rule them out; only children straddling `low` or `high` can
    /// pass that test without holding a fit, so the walk stays O(depth)
    /// nodes.
    fn top_rec(&self, q: &Query, i: u32, h: u32, hi: u64) -> Option<u64> {
        if h == 0 {
            let leaf = self.leaf(i);
            let mut j = leaf.start[..leaf.len].partition_point(|&s| s < q.high);
            while j > 0 {
                j -= 1;
                if leaf.end[j] <= q.low {
                    break;
                }
                if let Some((cs, ce)) = q.qualifying(leaf.start[j], leaf.end[j]) {
                    if let Some(a) = q.fit_top(cs, ce) {
                        return Some(a);
                    }
                }
            }
            return None;
        }
        let n = self.inner(i);
        let mut k = n.key[..n.len].partition_point(|&key| key < q.high);
        while k > 0 {
            k -= 1;
            let chi = if k + 1 < n.len { n.key[k + 1] } else { hi };
            if chi <= q.low {
                break;
            }
            if q.may_fit(n.max[k], n.key[k], chi) {
                if let Some(a) = self.top_rec(q, n.child[k], h - 1, chi) {
                    return Some(a);
                }
            }
        }
        None
    }

    /// Bottom-up search, as Linux `unmapped_area`.
    ///
    /// Each gap is clipped to the window `[low, high)`.  Among the clipped
    /// gaps whose length is at least `length + align_slack`, the lowest one is
    /// chosen and the lowest address `a >= clipped start` is returned with
    /// `(a - align_offset) % align == 0` and `[a, a + length)` inside the
    /// clipped gap; if it does not fit, the next higher candidate is tried.
    /// `align` must be a power of two; otherwise, or if the window is empty
    /// or nothing qualifies, returns `None`.
    pub fn find_bottom_up(
        &self,
        low: u64,
        high: u64,
        length: u64,
        align: u64,
        align_slack: u64,
        align_offset: u64,
    ) -> Option<u64> {
        let q = Query::new(low, high, length, align, align_slack, align_offset)?;
        if self.len == 0 {
            return None;
        }
        self.bottom_rec(&q, self.root, self.height, u64::MAX)
    }

    /// Mirror image of [`Self::top_rec`], lowest first.
    fn bottom_rec(&self, q: &Query, i: u32, h: u32, hi: u64) -> Option<u64> {
        if h == 0 {
            let leaf = self.leaf(i);
            let first = leaf.start[..leaf.len].partition_point(|&s| s <= q.low);
            for j in first.saturating_sub(1)..leaf.len {
                if leaf.start[j] >= q.high {
                    break;
                }
                if let Some((cs, ce)) = q.qualifying(leaf.start[j], leaf.end[j]) {
                    if let Some(a) = q.fit_bottom(cs, ce) {
                        return Some(a);
                    }
                }
            }
            return None;
        }
        let n = self.inner(i);
        let first = n.key[..n.len].partition_point(|&key| key <= q.low);
        for k in first.saturating_sub(1)..n.len {
            if n.key[k] >= q.high {
                break;
            }
            let chi = if k + 1 < n.len { n.key[k + 1] } else { hi };
            if q.may_fit(n.max[k], n.key[k], chi) {
                if let Some(a) = self.bottom_rec(q, n.child[k], h - 1, chi) {
                    return Some(a);
                }
            }
        }
        None
    }

    /// Panics with a descriptive message if an internal invariant is broken:
    /// address order, disjointness, non-empty gaps, node fill (the balance
    /// property: all leaves sit at the same depth by construction, and fill
    /// bounds keep that depth O(log n)), the per-child minimum starts and
    /// maximum lengths, the gap count, and that every arena slot is either
    /// reachable exactly once or on a free list.
    pub fn check_invariants(&self) {
        let mut leaf_seen = vec![false; self.leaves.len()];
        let mut inner_seen = vec![false; self.inners.len()];
        for &f in self.leaves.released() {
            let s = leaf_seen.get_mut(f as usize).unwrap_or_else(|| panic!("GapTree: free leaf {f} out of range"));
            assert!(!*s, "GapTree: leaf {f} on the free list twice");
            *s = true;
        }
        for &f in self.inners.released() {
            let s =
                inner_seen.get_mut(f as usize).unwrap_or_else(|| panic!("GapTree: free inner node {f} out of range"));
            assert!(!*s, "GapTree: inner node {f} on the free list twice");
            *s = true;
        }
        let mut count = 0;
        if self.leaves.is_empty() {
            assert!(
                self.len == 0 && self.height == 0 && self.inners.is_empty(),
                "GapTree: no root leaf but len/height/inner nodes present"
            );
        } else {
            let mut prev_end = None;
            let mut ctx = CheckCtx {
                leaf_seen: &mut leaf_seen,
                inner_seen: &mut inner_seen,
                prev_end: &mut prev_end,
                count: &mut count,
            };
            self.check_node(self.root, self.height, true, &mut ctx);
            if self.height > 0 {
                assert!(self.inner(self.root).len >= 2, "GapTree: inner root with a single child");
            }
        }
        assert_eq!(count, self.len, "GapTree: len field disagrees with gap count");
        assert!(
            leaf_seen.iter().all(|&s| s) && inner_seen.iter().all(|&s| s),
            "GapTree: arena slot neither reachable nor on a free list"
        );
    }

    /// Checks the subtree of node `i` at height `h`; returns its
    /// (smallest start, largest length).
    fn check_node(&self, i: u32, h: u32, is_root: bool, ctx: &mut CheckCtx<'_>) -> (u64, u64) {
        if h == 0 {
            let seen =
                ctx.leaf_seen.get_mut(i as usize).unwrap_or_else(|| panic!("GapTree: leaf link {i} out of range"));
            assert!(!*seen, "GapTree: leaf {i} reachable twice or also free");
            *seen = true;
            let leaf = self.leaf(i);
            assert!(leaf.len <= LEAF_CAP, "GapTree: leaf {i} overfull");
            assert!(is_root || leaf.len >= LEAF_MIN, "GapTree: leaf {i} underfull ({} gaps)", leaf.len);
            for j in 0..leaf.len {
                let (s, e) = (leaf.start[j], leaf.end[j]);
                assert!(s < e, "GapTree: empty gap [{s:#x}, {e:#x})");
                if let Some(pe) = *ctx.prev_end {
                    assert!(pe <= s, "GapTree: gap [{s:#x}, {e:#x}) out of order or overlapping previous end {pe:#x}");
                }
                *ctx.prev_end = Some(e);
            }
            *ctx.count += leaf.len;
            return (leaf.start[0], leaf.max_len());
        }
        let seen = ctx.inner_seen.get_mut(i as usize).unwrap_or_else(|| panic!("GapTree: inner link {i} out of range"));
        assert!(!*seen, "GapTree: inner node {i} reachable twice or also free");
        *seen = true;
        let n = self.inner(i);
        assert!(n.len <= INNER_CAP, "GapTree: inner node {i} overfull");
        assert!(is_root || n.len >= INNER_MIN, "GapTree: inner node {i} underfull ({} children)", n.len);
        for k in 0..n.len {
            let (min, max) = self.check_node(n.child[k], h - 1, false, ctx);
            assert_eq!(n.key[k], min, "GapTree: inner node {i} slot {k}: key is not the child's smallest start");
            assert_eq!(n.max[k], max, "GapTree: inner node {i} slot {k}: wrong maximum gap length");
        }
        (n.key[0], n.max_len())
    }
}

/// Inserts a gap at `pos` of a leaf with room for it.
fn leaf_put(leaf: &mut Leaf, pos: usize, start: u64, end: u64) {
    let n = leaf.len;
    leaf.start.copy_within(pos..n, pos + 1);
    leaf.end.copy_within(pos..n, pos + 1);
    leaf.start[pos] = start;
    leaf.end[pos] = end;
    leaf.len += 1;
}

/// Bookkeeping threaded through [`GapTree::check_node`].
struct CheckCtx<'a> {
    leaf_seen: &'a mut [bool],
    inner_seen: &'a mut [bool],
    prev_end: &'a mut Option<u64>,
    count: &'a mut usize,
}

/// In-order iterator over a [`GapTree`].
struct Iter<'a> {
    tree: &'a GapTree,
    /// Inner nodes from the root down, each with the index of the next child
    /// to visit.
    path: Vec<(u32, usize)>,
    leaf: u32,
    pos: usize,
    done: bool,
}

impl Iter<'_> {
    /// Walks from node `i` at height `h` down to its leftmost leaf.
    fn descend(&mut self, mut i: u32, h: u32) {
        for _ in 0..h {
            self.path.push((i, 1));
            i = self.tree.inner(i).child[0];
        }
        self.leaf = i;
        self.pos = 0;
    }
}

impl Iterator for Iter<'_> {
    type Item = (u64, u64);

    fn next(&mut self) -> Option<(u64, u64)> {
        if self.done {
            return None;
        }
        loop {
            let leaf = self.tree.leaf(self.leaf);
            if self.pos < leaf.len {
                self.pos += 1;
                return Some((leaf.start[self.pos - 1], leaf.end[self.pos - 1]));
            }
            loop {
                let Some(&mut (n, ref mut k)) = self.path.last_mut() else {
                    self.done = true;
                    return None;
                };
                let inner = self.tree.inner(n);
                if *k < inner.len {
                    let c = inner.child[*k];
                    *k += 1;
                    let below = self.tree.height - self.path.len() as u32;
                    self.descend(c, below);
                    break;
                }
                self.path.pop();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const PAGE: u64 = 4096;

    /// Naive model with the documented semantics, scanning every gap.
    #[derive(Default)]
    struct Naive {
        gaps: BTreeMap<u64, u64>,
    }

    struct Params {
        low: u64,
        high: u64,
        length: u64,
        align: u64,
        slack: u64,
        offset: u64,
    }

    impl Naive {
        fn clipped(&self, p: &Params) -> Option<(Vec<(u64, u64)>, u64)> {
            if p.low >= p.high || !p.align.is_power_of_two() {
                return None;
            }
            let need = p.length.checked_add(p.slack)?;
            let v = self
                .gaps
                .iter()
                .map(|(&s, &e)| (s.max(p.low), e.min(p.high)))
                .filter(|&(cs, ce)| cs < ce && ce - cs >= need)
                .collect();
            Some((v, need))
        }

        fn top(&self, p: &Params) -> Option<u64> {
            let (v, _) = self.clipped(p)?;
            let align = p.align as u128;
            v.iter().rev().find_map(|&(cs, ce)| {
                // Exact arithmetic in u128 as an independent cross-check.
                let a = (ce - p.length) as u128;
                let off = p.offset as u128;
                let r = (a + (1u128 << 64) * align - off) % align;
                let a = a.checked_sub(r)?;
                (a >= cs as u128).then_some(a as u64)
            })
        }

        fn bottom(&self, p: &Params) -> Option<u64> {
            let (v, _) = self.clipped(p)?;
            let align = p.align as u128;
            v.iter().find_map(|&(cs, ce)| {
                let cs128 = cs as u128;
                let off = p.offset as u128;
                let r = (off + (1u128 << 64) * align - cs128) % align;
                let a = cs128 + r;
                (a + p.length as u128 <= ce as u128).then_some(a as u64)
            })
        }

        fn overlaps(&self, s: u64, e: u64) -> bool {
            self.gaps.range(..e).next_back().is_some_and(|(_, &pe)| pe > s)
        }
    }

    fn tree_of(gaps: &[(u64, u64)]) -> GapTree {
        let mut t = GapTree::new();
        for &(s, e) in gaps {
            t.insert(s, e);
            t.check_invariants();
        }
        t
    }

    fn top(t: &GapTree, low: u64, high: u64, len: u64) -> Option<u64> {
        t.find_top_down(low, high, len, PAGE, 0, 0)
    }

    fn bottom(t: &GapTree, low: u64, high: u64, len: u64) -> Option<u64> {
        t.find_bottom_up(low, high, len, PAGE, 0, 0)
    }

    #[test]
    fn empty_tree() {
        let t = GapTree::new();
        t.check_invariants();
        assert!(t.is_empty());
        assert_eq!(t.len(), 0);
        assert_eq!(t.get(0), None);
        assert_eq!(t.containing(0), None);
        assert_eq!(t.iter().count(), 0);
        assert_eq!(top(&t, 0, u64::MAX, PAGE), None);
        assert_eq!(bottom(&t, 0, u64::MAX, PAGE), None);
        let mut d = GapTree::default();
        assert_eq!(d.remove(0), None);
        d.check_invariants();
    }

    #[test]
    fn insert_get_len_iter() {
        let t = tree_of(&[(0x5000, 0x6000), (0x1000, 0x2000), (0x3000, 0x4000)]);
        assert_eq!(t.len(), 3);
        assert!(!t.is_empty());
        assert_eq!(t.get(0x3000), Some(0x4000));
        assert_eq!(t.get(0x3001), None);
        assert_eq!(t.iter().collect::<Vec<_>>(), vec![(0x1000, 0x2000), (0x3000, 0x4000), (0x5000, 0x6000)]);
    }

    #[test]
    fn adjacent_gaps_allowed() {
        let t = tree_of(&[(0x1000, 0x2000), (0x2000, 0x3000)]);
        assert_eq!(t.containing(0x2000), Some((0x2000, 0x3000)));
        assert_eq!(t.containing(0x1fff), Some((0x1000, 0x2000)));
    }

    #[test]
    fn remove_returns_end_and_reuses_slots() {
        let mut t = tree_of(&[(0x1000, 0x2000), (0x3000, 0x4000)]);
        assert_eq!(t.remove(0x1001), None);
        assert_eq!(t.remove(0x1000), Some(0x2000));
        t.check_invariants();
        assert_eq!(t.remove(0x1000), None);
        assert_eq!(t.len(), 1);
        let arena = (t.leaves.len(), t.inners.len());
        for i in 0..1000u64 {
            t.insert(0x10_0000 + i * 0x2000, 0x10_1000 + i * 0x2000);
            assert_eq!(t.remove(0x10_0000 + i * 0x2000), Some(0x10_1000 + i * 0x2000));
        }
        t.check_invariants();
        assert_eq!((t.leaves.len(), t.inners.len()), arena, "arena grew under churn");
        assert_eq!(t.remove(0x3000), Some(0x4000));
        t.check_invariants();
        assert!(t.is_empty());
    }

    #[test]
    fn containing_boundaries() {
        let t = tree_of(&[(0x1000, 0x2000), (0x4000, 0x8000)]);
        assert_eq!(t.containing(0xfff), None);
        assert_eq!(t.containing(0x1000), Some((0x1000, 0x2000)));
        assert_eq!(t.containing(0x2000), None);
        assert_eq!(t.containing(0x7fff), Some((0x4000, 0x8000)));
        assert_eq!(t.containing(0x8000), None);
        assert_eq!(t.containing(u64::MAX), None);
    }

    #[test]
    fn top_down_picks_highest_fitting_gap() {
        let t = tree_of(&[(0x1000, 0x9000), (0xa000, 0xc000), (0x10000, 0x11000)]);
        assert_eq!(top(&t, 0, u64::MAX, 0x1000), Some(0x10000));
        assert_eq!(top(&t, 0, u64::MAX, 0x2000), Some(0xa000));
        assert_eq!(top(&t, 0, u64::MAX, 0x3000), Some(0x6000));
        assert_eq!(top(&t, 0, u64::MAX, 0x9000), None);
    }

    #[test]
    fn bottom_up_picks_lowest_fitting_gap() {
        let t = tree_of(&[(0x1000, 0x2000), (0x3000, 0x5000), (0x8000, 0x10000)]);
        assert_eq!(bottom(&t, 0, u64::MAX, 0x1000), Some(0x1000));
        assert_eq!(bottom(&t, 0, u64::MAX, 0x2000), Some(0x3000));
        assert_eq!(bottom(&t, 0, u64::MAX, 0x3000), Some(0x8000));
        assert_eq!(bottom(&t, 0, u64::MAX, 0x9000), None);
    }

    #[test]
    fn window_clips_gaps() {
        let t = tree_of(&[(0x1000, 0x9000), (0x10000, 0x20000)]);
        // The high gap is clipped to [0x10000, 0x12000): too small for 3 pages.
        assert_eq!(top(&t, 0, 0x12000, 0x3000), Some(0x6000));
        assert_eq!(top(&t, 0, 0x12000, 0x2000), Some(0x10000));
        // Clipped from below: [0x1e000, 0x20000).
        assert_eq!(bottom(&t, 0x1e000, u64::MAX, 0x2000), Some(0x1e000));
        assert_eq!(bottom(&t, 0x1f000, u64::MAX, 0x2000), None);
        // Window entirely inside one gap.
        assert_eq!(top(&t, 0x2000, 0x5000, 0x3000), Some(0x2000));
        assert_eq!(top(&t, 0x2000, 0x5000, 0x4000), None);
        assert_eq!(bottom(&t, 0x2000, 0x5000, 0x1000), Some(0x2000));
        // Window between gaps, and degenerate windows.
        assert_eq!(top(&t, 0x9000, 0x10000, 0x1000), None);
        assert_eq!(top(&t, 0x5000, 0x5000, 0), None);
        assert_eq!(bottom(&t, 0x6000, 0x5000, 0x1000), None);
    }

    #[test]
    fn alignment_and_offset() {
        let t = tree_of(&[(0x1000, 0x40_0000)]);
        let m2 = 0x20_0000;
        // Linux style: slack = align - page.
        assert_eq!(t.find_top_down(0, u64::MAX, 0x1000, m2, m2 - PAGE, 0), Some(0x20_0000));
        assert_eq!(t.find_bottom_up(0, u64::MAX, 0x1000, m2, m2 - PAGE, 0), Some(0x20_0000));
        // With an offset the congruence class shifts.
        assert_eq!(t.find_top_down(0, u64::MAX, 0x1000, m2, m2 - PAGE, 0x3000), Some(0x20_3000));
        assert_eq!(t.find_bottom_up(0, u64::MAX, 0x1000, m2, m2 - PAGE, 0x3000), Some(0x3000));
        // Offsets larger than the alignment act modulo the alignment.
        assert_eq!(t.find_bottom_up(0, u64::MAX, 0x1000, m2, 0, 0x7_0020_3000), Some(0x3000));
        // Non-power-of-two alignment is rejected rather than misbehaving.
        assert_eq!(t.find_top_down(0, u64::MAX, 0x1000, 3 * PAGE, 0, 0), None);
        assert_eq!(t.find_bottom_up(0, u64::MAX, 0x1000, 0, 0, 0), None);
    }

    #[test]
    fn skips_gap_when_aligned_address_does_not_fit() {
        // Upper gap is big enough by length but holds no 64K-aligned slot;
        // the lower gap does.
        let k64 = 0x1_0000;
        let t = tree_of(&[(0x10_0000, 0x12_0000), (0x20_1000, 0x20_3000)]);
        assert_eq!(t.find_top_down(0, u64::MAX, 0x1000, k64, 0, 0), Some(0x11_0000));
        assert_eq!(t.find_top_down(0, u64::MAX, 0x2000, k64, 0, 0), Some(0x11_0000));
        let t = tree_of(&[(0x1000, 0x3000), (0x10_0000, 0x12_0000)]);
        assert_eq!(t.find_bottom_up(0, u64::MAX, 0x2000, k64, 0, 0), Some(0x10_0000));
        // Nothing aligned fits anywhere.
        let t = tree_of(&[(0x1000, 0x3000), (0x5000, 0x7000)]);
        assert_eq!(t.find_top_down(0, u64::MAX, 0x2000, k64, 0, 0), None);
        assert_eq!(t.find_bottom_up(0, u64::MAX, 0x2000, k64, 0, 0), None);
    }

    #[test]
    fn slack_is_part_of_need() {
        let t = tree_of(&[(0x1000, 0x3000), (0x10000, 0x11000)]);
        // The upper gap is exactly one page: with slack it no longer qualifies.
        assert_eq!(t.find_top_down(0, u64::MAX, 0x1000, PAGE, 0, 0), Some(0x10000));
        assert_eq!(t.find_top_down(0, u64::MAX, 0x1000, PAGE, 0x1000, 0), Some(0x2000));
        assert_eq!(t.find_top_down(0, u64::MAX, 0x1000, PAGE, 0x2000, 0), None);
    }

    #[test]
    fn extreme_values_near_u64_max() {
        let top_gap = (u64::MAX - 0x10_0000, u64::MAX);
        let t = tree_of(&[(0, 0x1000), top_gap]);
        assert_eq!(t.containing(u64::MAX - 1), Some(top_gap));
        assert_eq!(t.containing(u64::MAX), None);
        assert_eq!(t.get(top_gap.0), Some(u64::MAX));
        // u64::MAX is odd, so the page-aligned top slot ends below it.
        assert_eq!(top(&t, 0, u64::MAX, 0x1000), Some(u64::MAX - 0x1fff));
        assert_eq!(bottom(&t, 0x1000, u64::MAX, 0x1000), Some(u64::MAX - 0xf_ffff));
        // Overflowing sizes and offsets never panic.
        assert_eq!(t.find_top_down(0, u64::MAX, u64::MAX, PAGE, u64::MAX, 0), None);
        assert_eq!(t.find_bottom_up(0, u64::MAX, u64::MAX, PAGE, 1, u64::MAX), None);
        assert_eq!(t.find_top_down(0, u64::MAX, 1, 1 << 63, 0, u64::MAX), None);
        assert_eq!(t.find_bottom_up(0, u64::MAX, 1, 1 << 63, 0, u64::MAX), None);
        assert_eq!(t.find_top_down(0, u64::MAX, 0x1000, PAGE, 0, u64::MAX), Some(u64::MAX - 0x1000));
        // The whole address space as one gap.
        let whole = tree_of(&[(0, u64::MAX)]);
        assert_eq!(whole.find_top_down(0, u64::MAX, u64::MAX, 1, 0, 0), Some(0));
        assert_eq!(whole.find_bottom_up(0, u64::MAX, u64::MAX, 1, 0, 0), Some(0));
        assert_eq!(whole.find_bottom_up(1, u64::MAX, u64::MAX - 1, 1 << 63, 0, 0), None);
        assert_eq!(whole.find_top_down(0, u64::MAX, 1, 1 << 63, 0, 0), Some(1 << 63));
        assert_eq!(whole.find_bottom_up(1, u64::MAX, 1, 1 << 63, 0, 0), Some(1 << 63));
    }

    #[test]
    fn churn_grow_and_shrink() {
        // Enough gaps for four levels, so inner nodes split, borrow and merge
        // and the root grows and collapses; then everything is removed in a
        // scrambled order.
        let mut r = Rng(0x1234_5678);
        let mut t = GapTree::new();
        let mut n = Naive::default();
        let mut keys = Vec::new();
        for i in 0..60_000u64 {
            let s = i * 4 * PAGE;
            let e = s + (r.below(3) + 1) * PAGE;
            t.insert(s, e);
            n.gaps.insert(s, e);
            keys.push(s);
            if i % 997 == 0 {
                t.check_invariants();
            }
        }
        t.check_invariants();
        assert!(t.height >= 3, "height {}", t.height);
        let arena = (t.leaves.len(), t.inners.len());
        for i in (1..keys.len()).rev() {
            keys.swap(i, r.below(i as u64 + 1) as usize);
        }
        for (k, &s) in keys.iter().enumerate() {
            assert_eq!(t.remove(s), n.gaps.remove(&s));
            if k % 499 == 0 {
                t.check_invariants();
                let p = Params { low: 0, high: u64::MAX, length: 2 * PAGE, align: PAGE, slack: 0, offset: 0 };
                assert_eq!(t.find_top_down(0, u64::MAX, 2 * PAGE, PAGE, 0, 0), n.top(&p));
                assert_eq!(t.find_bottom_up(0, u64::MAX, 2 * PAGE, PAGE, 0, 0), n.bottom(&p));
                assert!(t.iter().eq(n.gaps.iter().map(|(&s, &e)| (s, e))));
            }
        }
        t.check_invariants();
        assert!(t.is_empty());
        assert_eq!(t.height, 0);
        // Refilling in the original order reuses the released slots instead
        // of growing the arenas.
        keys.sort_unstable();
        for &s in &keys {
            t.insert(s, s + PAGE);
        }
        t.check_invariants();
        assert!(t.leaves.len() <= arena.0 && t.inners.len() <= arena.1);
    }

    /// xorshift64*: deterministic test randomness without dependencies.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// An address from a small universe so that collisions, adjacency and
    /// the top of the address space are all exercised.
    fn addr(r: &mut Rng) -> u64 {
        match r.below(8) {
            0 => u64::MAX - r.below(64) * PAGE / 2,
            1 => r.below(1 << 16),
            _ => r.below(1024) * PAGE,
        }
    }

    fn random_params(r: &mut Rng) -> Params {
        let mut low = addr(r);
        let mut high = addr(r);
        if r.below(4) == 0 {
            low = 0;
            high = u64::MAX;
        } else if low > high && r.below(4) != 0 {
            std::mem::swap(&mut low, &mut high);
        }
        let align = 1u64 << r.below(20);
        let length = match r.below(10) {
            0 => r.next(),
            1 => 0,
            _ => (r.below(16) + 1) * PAGE - r.below(2),
        };
        let slack = match r.below(4) {
            0 => 0,
            1 => align - 1,
            2 => r.below(align),
            _ => r.below(3) * PAGE,
        };
        let offset = if r.below(3) == 0 { r.next() } else { r.below(4) * PAGE };
        Params { low, high, length, align, slack, offset }
    }

    fn check_queries(t: &GapTree, n: &Naive, r: &mut Rng) {
        let p = random_params(r);
        assert_eq!(
            t.find_top_down(p.low, p.high, p.length, p.align, p.slack, p.offset),
            n.top(&p),
            "top-down low={:#x} high={:#x} len={:#x} align={:#x} slack={:#x} off={:#x}",
            p.low,
            p.high,
            p.length,
            p.align,
            p.slack,
            p.offset
        );
        assert_eq!(
            t.find_bottom_up(p.low, p.high, p.length, p.align, p.slack, p.offset),
            n.bottom(&p),
            "bottom-up low={:#x} high={:#x} len={:#x} align={:#x} slack={:#x} off={:#x}",
            p.low,
            p.high,
            p.length,
            p.align,
            p.slack,
            p.offset
        );
        let a = addr(r);
        let want = n.gaps.range(..=a).next_back().filter(|(_, &e)| a < e).map(|(&s, &e)| (s, e));
        assert_eq!(t.containing(a), want, "containing({a:#x})");
        assert_eq!(t.get(a), n.gaps.get(&a).copied(), "get({a:#x})");
    }

    fn random_op(t: &mut GapTree, n: &mut Naive, r: &mut Rng) {
        match r.below(10) {
            0..=5 => {
                let s = addr(r);
                let e = match r.below(10) {
                    0 => addr(r),
                    1 => s.saturating_add(r.below(PAGE) + 1),
                    _ => s.saturating_add((r.below(8) + 1) * PAGE),
                };
                if s < e && !n.overlaps(s, e) {
                    t.insert(s, e);
                    n.gaps.insert(s, e);
                }
            }
            6..=7 => {
                let s = if r.below(4) != 0 && !n.gaps.is_empty() {
                    let k = r.below(n.gaps.len() as u64) as usize;
                    *n.gaps.keys().nth(k).unwrap()
                } else {
                    addr(r)
                };
                assert_eq!(t.remove(s), n.gaps.remove(&s), "remove({s:#x})");
            }
            _ => check_queries(t, n, r),
        }
        t.check_invariants();
        assert_eq!(t.len(), n.gaps.len());
        assert_eq!(t.is_empty(), n.gaps.is_empty());
    }

    #[test]
    fn differential_against_naive() {
        for seed in 1..=40u64 {
            let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let mut t = GapTree::new();
            let mut n = Naive::default();
            for _ in 0..2_000 {
                random_op(&mut t, &mut n, &mut r);
                check_queries(&t, &n, &mut r);
            }
            assert!(t.iter().eq(n.gaps.iter().map(|(&s, &e)| (s, e))));
        }
    }

    #[test]
    fn differential_dense_page_gaps() {
        // Many small gaps split by one-page VMAs, queried with Linux-style
        // parameters, to exercise the pruning on larger trees.
        let mut r = Rng(0xDEAD_BEEF);
        let mut t = GapTree::new();
        let mut n = Naive::default();
        let mut a = 0x1_0000u64;
        for _ in 0..3_000 {
            let len = (r.below(24) + 1) * PAGE;
            t.insert(a, a + len);
            n.gaps.insert(a, a + len);
            a += len + (r.below(3) + 1) * PAGE;
        }
        t.check_invariants();
        for _ in 0..3_000 {
            let align = PAGE << r.below(6);
            let low = r.below(a / PAGE) * PAGE;
            let high = low + r.below(a / PAGE + 1) * PAGE + 1;
            let p = Params {
                low,
                high,
                length: (r.below(20) + 1) * PAGE,
                align,
                slack: if r.below(2) == 0 { align - PAGE } else { 0 },
                offset: r.below(8) * PAGE,
            };
            assert_eq!(t.find_top_down(p.low, p.high, p.length, p.align, p.slack, p.offset), n.top(&p));
            assert_eq!(t.find_bottom_up(p.low, p.high, p.length, p.align, p.slack, p.offset), n.bottom(&p));
            // Carve the found range out of its gap, as mmap would.
            if let Some(x) = n.top(&p) {
                let (s, e) = t.containing(x).unwrap();
                assert_eq!(t.remove(s), n.gaps.remove(&s));
                for (gs, ge) in [(s, x), (x + p.length, e)] {
                    if gs < ge {
                        t.insert(gs, ge);
                        n.gaps.insert(gs, ge);
                    }
                }
                t.check_invariants();
            }
        }
        assert!(t.iter().eq(n.gaps.iter().map(|(&s, &e)| (s, e))));
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn proptest_ops_match_naive(seed in any::<u64>(), steps in 1usize..300) {
                let mut r = Rng(seed | 1);
                let mut t = GapTree::new();
                let mut n = Naive::default();
                for _ in 0..steps {
                    random_op(&mut t, &mut n, &mut r);
                }
                for _ in 0..32 {
                    check_queries(&t, &n, &mut r);
                }
                prop_assert!(t.iter().eq(n.gaps.iter().map(|(&s, &e)| (s, e))));
            }
        }
    }
}
