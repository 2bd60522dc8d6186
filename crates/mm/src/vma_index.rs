//! `VmaIndex`: the VMAs of an address space ordered by start address, stored in one tree that
//! also indexes the free gaps between them.
//!
//! A B+tree with wide nodes kept in two [`Arena`]s (nodes addressed by `u32`), its leaves
//! linked both ways for in-order walks. The leaves hold the values themselves (the VMAs), and
//! a lookup compares the values' own starts: at a million VMAs the leaf a random lookup lands
//! in is not in cache, and with the values beside their keys that is the only memory the
//! lookup waits for (keys in the leaf and VMAs in a slab of their own cost a second miss: a
//! random lookup at a million VMAs measured 470-520 ns that way, 360-410 this way). Inner
//! nodes of 64 children make the tree four levels deep at a million VMAs where `BTreeMap`'s
//! nodes of 11 make it seven; the two levels above the lowest inner one stay in cache.
//!
//! **What a million VMAs cost.** Measured with `mmsim bench vma-1m`'s rounds (mmap of a
//! page, its munmap, a lookup of a random address) on the development machine, a 2-core VM
//! on an AMD EPYC where a chain of dependent loads through 64 MiB takes 160 ns a load and
//! the cache that one core gets to use holds about 4 MiB: a round costs 355-390 ns at a
//! thousand VMAs and 605-690 at a million, 1.68-1.77 times as much (before the changes of
//! issue 15: 540-570 and 925-990 ns, 1.68-1.75 times). Nearly all of the 250 ns between
//! them is the random lookup: about 35 for the walk through the lowest inner level (3 MiB of
//! nodes, partly in cache) and about 200 for the leaf, which comes from memory. 120 MB of
//! VMAs cannot be in cache, so a round at a million VMAs costs at least one load from
//! memory more than at a thousand, whatever the tree; the faster the rest of a round, the
//! larger that ratio.
//!
//! Inner nodes hold, for each child but the first, a lower bound of the keys below it (the
//! smallest key when the child was made; removals may leave it lower than the smallest key
//! left, never higher). A lookup of `x` goes to the last child whose bound is at most `x`.
//!
//! **The gaps.** Every value owns the free range below it: from the end of the value before
//! it (or address 0) to its own start; the range above the last value is the top gap. Each
//! leaf keeps the end of the value before its first one (`lo`), so a leaf knows all its gaps,
//! and each inner node keeps, for each child, the largest gap below any value in its subtree,
//! as Linux's maple tree keeps `gap` in its allocation-range nodes. The two gaps at the ends,
//! below the first value and above the last, are not in those maxima: the searches look at
//! them on their own, so that an address space with little room between its mappings (a
//! million VMAs side by side) is searched without a walk down the tree. The free-gap searches
//! (`unmapped_area_topdown`/`unmapped_area`, in [`search`]) skip every subtree whose largest
//! gap is too small, so they take O(log n). A value's bounds change only through
//! [`VmaIndex::insert`], [`VmaIndex::remove`] and [`VmaIndex::update`], which keep the gaps
//! of the leaves and the maxima above them up to date.
//!
//! The leaf of the last walk is remembered with the range of keys that lead there: one
//! `mmap` or `munmap` looks up the same few neighbouring VMAs a dozen times, and a walk from
//! the root costs a level per lookup that grows with the address space (three inner levels
//! at a million VMAs, one at a thousand). The range comes from the bounds on the walk, so
//! checking the hint reads no leaf (see [`VmaIndex::leaf_for`]). The two leaves at the ends
//! of the list, where every gap search starts, are remembered too.

use std::cell::Cell;

use crate::arena::Arena;

mod search;
pub use search::GapRequest;
#[cfg(test)]
mod tests;

/// Entries per leaf: eight 64-byte VMAs, whose lines a lookup's scan fetches together.
/// Sixteen cost more at both sizes of `mmsim bench vma-1m` (at a thousand VMAs each insert
/// and removal moves more of them; at a million a random lookup fetches more lines).
const LEAF_CAP: usize = 8;
/// Smallest entry count of a leaf other than the root. A quarter rather than a half lets
/// splits be lopsided: address spaces grow in address order, up or down, and an even split
/// would leave every leaf half empty.
const LEAF_MIN: usize = LEAF_CAP / 4;
/// Children per inner node.
const INNER_CAP: usize = 64;
/// Smallest child count of an inner node other than the root.
const INNER_MIN: usize = INNER_CAP / 4;
/// Deepest tree the path arrays hold: 2 * 16^7 entries at the least, beyond any address space.
const MAX_HEIGHT: usize = 8;
/// No leaf (the ends of the leaf list).
const NIL: u32 = u32::MAX;

/// What the index stores: values that cover a range `[start, end)` of addresses; the ranges
/// of the values in one index never overlap, and the start is the value's key.
pub trait Span {
    /// First address (the key).
    fn start(&self) -> u64;
    /// One past the last address.
    fn end(&self) -> u64;
}

/// Where a full node of `cap` entries (`min` at least per node) that is about to receive an
/// entry at `pos` splits: the number of entries the left half keeps. Appends at either end
/// keep the old node nearly full. Position 1 counts as the front: when the first leaf of an
/// address space that grows downwards splits, its new right half goes in after it, at
/// position 1 of the parent; split in the middle, those parents stayed half full (32
/// children of 64 at a million VMAs, and half as many again of them to keep in cache).
fn split_point(cap: usize, min: usize, pos: usize) -> usize {
    if pos == cap {
        cap + 1 - min
    } else if pos <= 1 && pos < min - 1 {
        // The new entry goes to the left half, which has `min` entries with it.
        min - 1
    } else {
        cap / 2
    }
}

/// A leaf. Aligned to a cache line and with the entries first, so that each 64-byte VMA
/// fills one line of its own (unaligned, most of them straddled two, and a lookup fetched
/// both).
#[derive(Clone, Debug)]
#[repr(C, align(64))]
struct Leaf<V> {
    /// `Some` below `len`, `None` from there on.
    items: [Option<V>; LEAF_CAP],
    len: usize,
    prev: u32,
    next: u32,
    /// The end of the value before this leaf's first one (0 for the first leaf): where the
    /// gap below the first value starts.
    lo: u64,
}

/// One child of an inner node, with what the node knows of it.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    /// Bounds the keys of `child` from below (not used in the first slot).
    bound: u64,
    child: u32,
    /// The largest gap below a value in `child`'s subtree, in [`squeeze`]d form.
    gap: u32,
}

/// An inner node. Each child's bound, address and gap share a slot, four slots to a cache
/// line, so that a lookup's scan of the bounds has already fetched the child it descends
/// into: at a million VMAs the nodes above the leaves are in L3 at best, and a child array
/// of its own cost a second wait per level.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
struct Inner {
    /// First, so that it shares a cache line with the first slots.
    len: usize,
    slots: [Slot; INNER_CAP],
}

impl<V: Span> Leaf<V> {
    fn empty() -> Leaf<V> {
        Leaf { len: 0, prev: NIL, next: NIL, lo: 0, items: std::array::from_fn(|_| None) }
    }

    fn key(&self, i: usize) -> u64 {
        self.items[i].as_ref().map_or(u64::MAX, Span::start)
    }

    fn item(&self, i: usize) -> &V {
        self.items[i].as_ref().expect("an entry below the leaf's length")
    }

    /// Where the gap below entry `i` starts.
    fn gap_start(&self, i: usize) -> u64 {
        if i == 0 {
            self.lo
        } else {
            self.item(i - 1).end()
        }
    }

    /// The end of the last entry (`lo` for an empty leaf).
    fn last_end(&self) -> u64 {
        if self.len == 0 {
            self.lo
        } else {
            self.item(self.len - 1).end()
        }
    }

    /// Entries whose gaps the tree indexes start here: the gap below the very first entry
    /// (at the front of the first leaf) is left to the searches, like the top gap.
    fn first_indexed(&self) -> usize {
        usize::from(self.prev == NIL)
    }

    /// The largest indexed gap below an entry of this leaf.
    fn max_gap(&self) -> u64 {
        let first = self.first_indexed();
        if self.len <= first {
            return 0;
        }
        let mut prev = self.gap_start(first);
        let mut max = 0;
        for v in self.items[first..self.len].iter().flatten() {
            max = max.max(v.start().saturating_sub(prev));
            prev = v.end();
        }
        max
    }

    /// How many entries have keys `<= x`. A scan from the front (see [`Inner::child_for`])
    /// that stops at the first empty slot, so that it does not read `len`: that sits in the
    /// leaf's last cache line, one more line for a random lookup to wait for.
    fn count_le(&self, x: u64) -> usize {
        self.items.iter().position(|v| v.as_ref().is_none_or(|v| v.start() > x)).unwrap_or(LEAF_CAP)
    }

    /// How many entries have keys `< x`.
    fn count_lt(&self, x: u64) -> usize {
        (0..self.len).position(|i| self.key(i) >= x).unwrap_or(self.len)
    }

    fn insert_at(&mut self, pos: usize, v: V) {
        self.items[pos..=self.len].rotate_right(1);
        self.items[pos] = Some(v);
        self.len += 1;
    }

    fn remove_at(&mut self, pos: usize) -> V {
        let v = self.items[pos].take().expect("an entry below the leaf's length");
        self.items[pos..self.len].rotate_left(1);
        self.len -= 1;
        v
    }

    /// Moves the entries from `from` on into `to`, after its own.
    fn move_tail(&mut self, from: usize, to: &mut Leaf<V>) {
        for i in from..self.len {
            to.items[to.len] = self.items[i].take();
            to.len += 1;
        }
        self.len = from;
    }
}

impl Inner {
    fn empty() -> Inner {
        Inner { len: 0, slots: [Slot::default(); INNER_CAP] }
    }

    fn bound(&self, i: usize) -> u64 {
        self.slots[i].bound
    }

    fn child(&self, i: usize) -> u32 {
        self.slots[i].child
    }

    fn gap(&self, i: usize) -> u32 {
        self.slots[i].gap
    }

    /// The child to descend into for `x`: how many of the bounds after the first are `<= x`.
    ///
    /// A scan from the front rather than a binary search: it reads the node's cache lines in
    /// order, which the hardware fetches ahead, where a binary search waits for each probe's
    /// line in turn.
    fn child_for(&self, x: u64) -> usize {
        let bounds = &self.slots[1..self.len];
        bounds.iter().position(|s| s.bound > x).unwrap_or(bounds.len())
    }

    /// The keys `[lo, hi)` that lead to child `c`, where `[lo, hi)` lead to this node.
    fn child_keys(&self, c: usize, lo: u64, hi: u64) -> (u64, u64) {
        let lo = if c > 0 { self.bound(c) } else { lo };
        let hi = if c + 1 < self.len { self.bound(c + 1) } else { hi };
        (lo, hi)
    }

    /// The largest gap below a value in this subtree.
    fn max_gap(&self) -> u32 {
        self.slots[..self.len].iter().map(|s| s.gap).max().unwrap_or(0)
    }

    fn insert_at(&mut self, pos: usize, bound: u64, child: u32, gap: u32) {
        self.slots.copy_within(pos..self.len, pos + 1);
        self.slots[pos] = Slot { bound, child, gap };
        self.len += 1;
    }

    fn remove_at(&mut self, pos: usize) -> (u64, u32, u32) {
        let Slot { bound, child, gap } = self.slots[pos];
        self.slots.copy_within(pos + 1..self.len, pos);
        self.len -= 1;
        (bound, child, gap)
    }
}

/// A gap's length as inner nodes keep it: in pages, rounded up, at most `u32::MAX`. Half
/// the size of the length in bytes, so that a child's bound, address and gap fit a 16-byte
/// [`Slot`], four to a cache line; as it never decreases as the length
/// grows, the largest squeezed gap is the squeezed largest gap, and a gap of at least `n`
/// bytes has a squeezed length of at least `squeeze(n)`.
pub(crate) fn squeeze(len: u64) -> u32 {
    u32::try_from(len.div_ceil(1 << 12)).unwrap_or(u32::MAX)
}

/// A position in the leaf list: leaf and entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pos {
    leaf: u32,
    at: usize,
}

/// The inner nodes a walk passed, each with the child it took.
type Path = [(u32, usize); MAX_HEIGHT];

/// The leaf a walk from the root ended in, with the keys `[lo, hi)` that every walk sends
/// there, as the bounds on its path give them.
#[derive(Clone, Copy, Debug)]
struct Hint {
    leaf: u32,
    lo: u64,
    hi: u64,
}

impl Hint {
    const NONE: Hint = Hint { leaf: NIL, lo: 0, hi: 0 };
}

/// Values ordered by start, with their gaps; see the module documentation.
#[derive(Clone, Debug)]
pub struct VmaIndex<V> {
    leaves: Arena<Leaf<V>>,
    inners: Arena<Inner>,
    root: u32,
    /// Levels of inner nodes above the leaves (0: the root is a leaf).
    height: usize,
    len: usize,
    /// The first and the last leaf of the list. The first is the leaf the index starts
    /// with, as a merge keeps the left leaf of two; the last changes with splits and merges.
    /// Kept so that the gap searches, which start at both ends of the address space on every
    /// `mmap`, do not walk down to them (three inner levels at a million VMAs).
    ends: [u32; 2],
    /// The largest gap below a value in the whole tree, in [`squeeze`]d form: what a parent
    /// of the root would hold. The gap searches look at it before they scan the root's
    /// children (at a million VMAs side by side, 60 children with no gap, a third of the
    /// cost of a search).
    top_gap: u32,
    /// The leaf the last walk ended in and the keys that lead there (`NIL`: none);
    /// forgotten whenever a bound changes.
    hint: Cell<Hint>,
}

impl<V: Span> Default for VmaIndex<V> {
    fn default() -> Self {
        VmaIndex::new()
    }
}

impl<V: Span> VmaIndex<V> {
    /// An empty index.
    pub fn new() -> VmaIndex<V> {
        let mut leaves = Arena::default();
        let first = leaves.alloc(Leaf::empty());
        VmaIndex {
            leaves,
            inners: Arena::default(),
            root: first,
            height: 0,
            len: 0,
            ends: [first; 2],
            top_gap: 0,
            hint: Cell::new(Hint::NONE),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn leaf(&self, i: u32) -> &Leaf<V> {
        &self.leaves[i]
    }

    /// The leaf whose key range holds `x`, or the one after it when a stale bound misleads
    /// the walk (see [`VmaIndex::pos_le`]).
    ///
    /// The hint is checked against the keys that lead to its leaf, which the walk read in
    /// the inner nodes, not against the keys of the leaf and the next one: after a lookup of
    /// a random address at a million VMAs those are lines from memory that the next `mmap`'s
    /// first lookup waited for (checked this way, an mmap/munmap pair took 25-30 ns less at
    /// both sizes).
    fn leaf_for(&self, x: u64) -> u32 {
        let hint = self.hint.get();
        if hint.leaf != NIL && hint.lo <= x && x < hint.hi {
            return hint.leaf;
        }
        let (mut node, mut lo, mut hi) = (self.root, 0, u64::MAX);
        for _ in 0..self.height {
            let inner = &self.inners[node];
            let c = inner.child_for(x);
            (lo, hi) = inner.child_keys(c, lo, hi);
            node = inner.child(c);
        }
        self.hint.set(Hint { leaf: node, lo, hi });
        node
    }

    /// The leaf at one end of the list.
    fn end_leaf(&self, last: bool) -> u32 {
        self.ends[usize::from(last)]
    }

    /// The end of the last entry (0 when there is none): where the top gap starts.
    pub fn last_end(&self) -> u64 {
        self.leaf(self.end_leaf(true)).last_end()
    }

    fn entry(&self, p: Pos) -> &V {
        self.leaf(p.leaf).item(p.at)
    }

    fn step_back(&self, p: Pos) -> Option<Pos> {
        if p.at > 0 {
            return Some(Pos { leaf: p.leaf, at: p.at - 1 });
        }
        let prev = self.leaf(p.leaf).prev;
        (prev != NIL).then(|| Pos { leaf: prev, at: self.leaf(prev).len - 1 })
    }

    fn step_forward(&self, p: Pos) -> Option<Pos> {
        if p.at + 1 < self.leaf(p.leaf).len {
            return Some(Pos { leaf: p.leaf, at: p.at + 1 });
        }
        let next = self.leaf(p.leaf).next;
        (next != NIL).then_some(Pos { leaf: next, at: 0 })
    }

    /// The position of the last key `<= x`.
    fn pos_le(&self, x: u64) -> Option<Pos> {
        if self.len == 0 {
            return None;
        }
        let leaf = self.leaf_for(x);
        let n = self.leaf(leaf).count_le(x);
        if n > 0 {
            return Some(Pos { leaf, at: n - 1 });
        }
        // A stale bound sent the walk to a leaf whose keys all exceed `x`: the answer, if
        // any, ends the leaf before (an empty root leaf has no neighbours).
        let prev = self.leaf(leaf).prev;
        (prev != NIL).then(|| Pos { leaf: prev, at: self.leaf(prev).len - 1 })
    }

    /// The position of the first key `>= x`.
    fn pos_ge(&self, x: u64) -> Option<Pos> {
        match self.pos_le(x) {
            Some(p) if self.entry(p).start() == x => Some(p),
            Some(p) => self.step_forward(p),
            None if self.len == 0 => None,
            None => Some(Pos { leaf: self.end_leaf(false), at: 0 }),
        }
    }

    /// The entry with the largest key `<= x`.
    pub fn last_le(&self, x: u64) -> Option<&V> {
        self.pos_le(x).map(|p| self.entry(p))
    }

    /// The entry with the largest key `< x`.
    pub fn last_lt(&self, x: u64) -> Option<&V> {
        let p = self.pos_le(x)?;
        let p = if self.entry(p).start() == x { self.step_back(p)? } else { p };
        Some(self.entry(p))
    }

    /// The entry with the smallest key `>= x`.
    pub fn first_ge(&self, x: u64) -> Option<&V> {
        self.pos_ge(x).map(|p| self.entry(p))
    }

    /// The entry with the smallest key `> x`.
    pub fn first_gt(&self, x: u64) -> Option<&V> {
        match x.checked_add(1) {
            Some(y) => self.first_ge(y),
            None => None,
        }
    }

    /// The entry whose key is `key`.
    pub fn get(&self, key: u64) -> Option<&V> {
        self.last_le(key).filter(|v| v.start() == key)
    }

    /// Entries with keys `>= x`, in order.
    pub fn iter_from(&self, x: u64) -> Iter<'_, V> {
        let front = self.pos_ge(x);
        let remaining = match front {
            // Counted lazily: the walk ends at the list's end.
            Some(_) => usize::MAX,
            None => 0,
        };
        Iter { index: self, front, back: None, remaining }
    }

    /// Every entry, in order (both ways).
    pub fn iter(&self) -> Iter<'_, V> {
        if self.len == 0 {
            return Iter { index: self, front: None, back: None, remaining: 0 };
        }
        let last = self.end_leaf(true);
        let back = Pos { leaf: last, at: self.leaf(last).len - 1 };
        Iter {
            index: self,
            front: Some(Pos { leaf: self.end_leaf(false), at: 0 }),
            back: Some(back),
            remaining: self.len,
        }
    }

    /// The walk down to `key`'s leaf: the inner nodes passed with the child taken in each,
    /// the leaf, and where `key` is or would go in it.
    fn walk_to(&self, key: u64) -> (Path, u32, usize) {
        let mut path = [(0u32, 0usize); MAX_HEIGHT];
        let (mut node, mut lo, mut hi) = (self.root, 0, u64::MAX);
        for slot in path.iter_mut().take(self.height) {
            let inner = &self.inners[node];
            let c = inner.child_for(key);
            *slot = (node, c);
            (lo, hi) = inner.child_keys(c, lo, hi);
            node = inner.child(c);
        }
        self.hint.set(Hint { leaf: node, lo, hi });
        (path, node, self.leaf(node).count_lt(key))
    }

    /// Recomputes the largest gap of `leaf`, reached by `path`, and of the nodes above it.
    /// With `early` (right when the rest of the tree is up to date), see [`VmaIndex::lift`];
    /// without, every node on the path is scanned.
    fn refresh(&mut self, path: &Path, leaf: u32, early: bool) {
        let gap = squeeze(self.leaf(leaf).max_gap());
        if early {
            return self.lift(path, self.height, gap);
        }
        let mut gap = gap;
        for &(parent, c) in path[..self.height].iter().rev() {
            let p = &mut self.inners[parent];
            p.slots[c].gap = gap;
            gap = p.max_gap();
        }
        self.top_gap = gap;
    }

    /// Records `gap` as the new largest gap of the node `depth` levels below the root on
    /// `path`, where the rest of the tree is up to date: stops at the first level whose value
    /// did not change, and works out each node's new largest gap from its old one (which its
    /// parent holds) without a scan of its children, unless the child that changed held the
    /// largest gap and it shrank. The root's largest gap is `top_gap`.
    fn lift(&mut self, path: &Path, depth: usize, mut gap: u32) {
        for level in (0..depth).rev() {
            let (parent, c) = path[level];
            let p = &mut self.inners[parent];
            let old = p.gap(c);
            if old == gap {
                return;
            }
            p.slots[c].gap = gap;
            let was = match level.checked_sub(1) {
                Some(up) => {
                    let (grand, gc) = path[up];
                    self.inners[grand].gap(gc)
                }
                None => self.top_gap,
            };
            gap = if gap >= was {
                gap
            } else if old < was {
                was
            } else {
                self.inners[parent].max_gap()
            };
        }
        self.top_gap = gap;
    }

    /// Sets the `lo` of `leaf` (the end of the entry before it) and, if it changed, the
    /// gaps above the leaf.
    fn sync_lo(&mut self, leaf: u32) {
        if leaf == NIL {
            return;
        }
        let l = self.leaf(leaf);
        let lo = if l.prev == NIL { 0 } else { self.leaf(l.prev).last_end() };
        if l.lo == lo || l.len == 0 {
            self.leaves[leaf].lo = lo;
            return;
        }
        let key = l.key(0);
        self.leaves[leaf].lo = lo;
        let (path, node, _) = self.walk_to(key);
        debug_assert_eq!(node, leaf, "a walk to a leaf's first key ends in it");
        self.refresh(&path, node, true);
    }

    /// Stores `v` under its start, returning the entry it replaces.
    pub fn insert(&mut self, v: V) -> Option<V> {
        let key = v.start();
        let (path, node, pos) = self.walk_to(key);
        let leaf = &mut self.leaves[node];
        if pos < leaf.len && leaf.key(pos) == key {
            let old = leaf.items[pos].replace(v);
            let next = (pos + 1 == leaf.len).then_some(leaf.next);
            self.refresh(&path, node, true);
            if let Some(next) = next {
                self.sync_lo(next);
            }
            return old;
        }
        self.len += 1;
        if leaf.len < LEAF_CAP {
            leaf.insert_at(pos, v);
            let next = (pos + 1 == leaf.len).then_some(leaf.next);
            self.refresh(&path, node, true);
            if let Some(next) = next {
                self.sync_lo(next);
            }
            return None;
        }
        // Split the full leaf, then push the new right half's bound up the path. The keys
        // that lead to the leaf change.
        self.hint.set(Hint::NONE);
        let keep = split_point(LEAF_CAP, LEAF_MIN, pos);
        let mut right = Leaf::empty();
        leaf.move_tail(keep, &mut right);
        right.prev = node;
        right.next = leaf.next;
        let right_id = self.leaves.alloc(right);
        let after = self.leaves[right_id].next;
        if after != NIL {
            self.leaves[after].prev = right_id;
        } else {
            self.ends[1] = right_id;
        }
        self.leaves[node].next = right_id;
        if pos < keep {
            self.leaves[node].insert_at(pos, v);
        } else {
            self.leaves[right_id].insert_at(pos - keep, v);
        }
        self.leaves[right_id].lo = self.leaf(node).last_end();
        let mut child_gap = squeeze(self.leaf(node).max_gap());
        let mut carry = Some((self.leaf(right_id).key(0), right_id, squeeze(self.leaf(right_id).max_gap())));
        for level in (0..self.height).rev() {
            let (parent, c) = path[level];
            let p = &mut self.inners[parent];
            p.slots[c].gap = child_gap;
            if let Some((bound, new_child, new_gap)) = carry.take() {
                if p.len < INNER_CAP {
                    p.insert_at(c + 1, bound, new_child, new_gap);
                } else {
                    let keep = split_point(INNER_CAP, INNER_MIN, c + 1);
                    let mut right = Inner::empty();
                    right.len = INNER_CAP - keep;
                    right.slots[..right.len].copy_from_slice(&p.slots[keep..]);
                    p.len = keep;
                    if c + 1 < keep {
                        p.insert_at(c + 1, bound, new_child, new_gap);
                    } else {
                        right.insert_at(c + 1 - keep, bound, new_child, new_gap);
                    }
                    let (rb, rg) = (right.bound(0), right.max_gap());
                    carry = Some((rb, self.inners.alloc(right), rg));
                }
            }
            child_gap = self.inners[parent].max_gap();
        }
        if let Some((bound, new_child, new_gap)) = carry {
            // The root split: a new root above both halves.
            let mut root = Inner::empty();
            root.len = 2;
            root.slots[0] = Slot { bound: 0, child: self.root, gap: child_gap };
            root.slots[1] = Slot { bound, child: new_child, gap: new_gap };
            self.root = self.inners.alloc(root);
            self.height += 1;
        }
        self.top_gap = self.inners[self.root].max_gap();
        let next = self.leaf(right_id).next;
        self.sync_lo(next);
        None
    }

    /// Removes and returns the entry whose key is `key`.
    pub fn remove(&mut self, key: u64) -> Option<V> {
        let (path, node, pos) = self.walk_to(key);
        let leaf = &self.leaves[node];
        if pos == leaf.len || leaf.key(pos) != key {
            return None;
        }
        Some(self.remove_at(&path, node, pos, key))
    }

    /// Removes the entry at `pos` of `node`, reached by `path` from a walk to `key` (the
    /// entry's start in the order, which [`VmaIndex::update`] may have changed since).
    fn remove_at(&mut self, path: &Path, node: u32, pos: usize, key: u64) -> V {
        let leaf = &mut self.leaves[node];
        let val = leaf.remove_at(pos);
        self.len -= 1;
        if self.height == 0 || leaf.len >= LEAF_MIN {
            let next = (pos == leaf.len).then_some(leaf.next);
            self.refresh(path, node, true);
            if let Some(next) = next {
                self.sync_lo(next);
            }
            return val;
        }
        // The leaf is short: borrow from a sibling, or merge with it and go up. Either moves
        // a bound or takes one away.
        self.hint.set(Hint::NONE);
        let was_last = pos == leaf.len;
        let (parent, c) = path[self.height - 1];
        let mut merged = self.fix_leaf(parent, c);
        if !merged {
            // Two leaves under one parent changed: its largest gap goes up from there.
            let gap = self.inners[parent].max_gap();
            self.lift(path, self.height - 1, gap);
            if was_last {
                // The entry after the removed one starts the next leaf (after a borrow from
                // the right it moved here, and the right leaf's lo is already its end).
                let next = self.leaf(node).next;
                self.sync_lo(next);
            }
            return val;
        }
        let mut level = self.height - 1;
        while merged && level > 0 && self.inners[path[level].0].len < INNER_MIN {
            let (grand, gc) = path[level - 1];
            merged = self.fix_inner(grand, gc);
            level -= 1;
        }
        let root = &self.inners[self.root];
        if self.height > 0 && root.len == 1 {
            let only = root.child(0);
            self.inners.release(self.root);
            self.root = only;
            self.height -= 1;
        }
        // Every node that changed is on the walk to `key` or a sibling of one, whose gap
        // its parent on the walk got from `fix_*`: the walk recomputes the rest.
        let (path, node, _) = self.walk_to(key);
        self.refresh(&path, node, false);
        // The entry after the removed one has a new gap below it.
        if let Some(p) = self.pos_ge(key) {
            if p.at == 0 {
                self.sync_lo(p.leaf);
            }
        }
        val
    }

    /// Changes the entry whose key is `key` through `f`, which may move its bounds (its new
    /// range must not overlap another entry); returns false when there is no such entry.
    pub fn update(&mut self, key: u64, f: impl FnOnce(&mut V)) -> bool {
        let (path, node, pos) = self.walk_to(key);
        let leaf = &mut self.leaves[node];
        if pos == leaf.len || leaf.key(pos) != key {
            return false;
        }
        let item = leaf.items[pos].as_mut().expect("an entry below the leaf's length");
        let end = item.end();
        f(item);
        let (new_start, new_end) = (item.start(), item.end());
        if new_start != key {
            // It moves in the order: out, and in again under its new key.
            let v = self.remove_at(&path, node, pos, key);
            self.insert(v);
        } else if new_end != end {
            debug_assert!(pos + 1 == leaf.len || new_end <= leaf.key(pos + 1), "update over the next entry");
            let next = (pos + 1 == leaf.len).then_some(leaf.next);
            self.refresh(&path, node, true);
            if let Some(next) = next {
                self.sync_lo(next);
            }
        }
        true
    }

    /// Refills the short leaf in slot `c` of `parent`; returns whether two leaves merged (the
    /// parent lost a child). Sets the parent's gaps of the leaves it changes.
    fn fix_leaf(&mut self, parent: u32, c: usize) -> bool {
        let p = &self.inners[parent];
        let (left_c, right_c) = if c > 0 { (c - 1, c) } else { (c, c + 1) };
        let (left, right) = (p.child(left_c), p.child(right_c));
        let (ll, rl) = (self.leaf(left).len, self.leaf(right).len);
        let merged = if c > 0 && ll > LEAF_MIN {
            // Borrow the left sibling's last entry.
            let v = self.leaves[left].remove_at(ll - 1);
            let k = v.start();
            self.leaves[right].insert_at(0, v);
            self.leaves[right].lo = self.leaf(left).last_end();
            self.inners[parent].slots[right_c].bound = k;
            false
        } else if c == 0 && rl > LEAF_MIN {
            // Borrow the right sibling's first entry.
            let v = self.leaves[right].remove_at(0);
            self.leaves[left].insert_at(ll, v);
            self.leaves[right].lo = self.leaf(left).last_end();
            self.inners[parent].slots[right_c].bound = self.leaf(right).key(0);
            false
        } else {
            // Merge the right leaf into the left one.
            let mut r = std::mem::replace(&mut self.leaves[right], Leaf::empty());
            let l = &mut self.leaves[left];
            r.move_tail(0, l);
            l.next = r.next;
            if r.next != NIL {
                self.leaves[r.next].prev = left;
            } else {
                self.ends[1] = left;
            }
            self.leaves.release(right);
            self.inners[parent].remove_at(right_c);
            true
        };
        let gl = squeeze(self.leaf(left).max_gap());
        self.inners[parent].slots[left_c].gap = gl;
        if !merged {
            let gr = squeeze(self.leaf(right).max_gap());
            self.inners[parent].slots[right_c].gap = gr;
        }
        merged
    }

    /// Refills the short inner node in slot `c` of `parent`, like [`VmaIndex::fix_leaf`].
    fn fix_inner(&mut self, parent: u32, c: usize) -> bool {
        let p = &self.inners[parent];
        let (left_c, right_c) = if c > 0 { (c - 1, c) } else { (c, c + 1) };
        let (left, right) = (p.child(left_c), p.child(right_c));
        let between = p.bound(right_c);
        let (ll, rl) = (self.inners[left].len, self.inners[right].len);
        let merged = if c > 0 && ll > INNER_MIN {
            // The left sibling's last child moves over; the old first child of this node
            // gets the bound that used to separate the two nodes.
            let (b, ch, g) = {
                let l = &mut self.inners[left];
                l.len -= 1;
                let Slot { bound, child, gap } = l.slots[l.len];
                (bound, child, gap)
            };
            let r = &mut self.inners[right];
            r.slots[0].bound = between;
            r.insert_at(0, b, ch, g);
            self.inners[parent].slots[right_c].bound = b;
            false
        } else if c == 0 && rl > INNER_MIN {
            let r = &mut self.inners[right];
            let (_, ch, g) = r.remove_at(0);
            let next_bound = r.bound(0);
            let l = &mut self.inners[left];
            let n = l.len;
            l.insert_at(n, between, ch, g);
            self.inners[parent].slots[right_c].bound = next_bound;
            false
        } else {
            let r = self.inners[right].clone();
            let l = &mut self.inners[left];
            l.slots[ll..ll + rl].copy_from_slice(&r.slots[..rl]);
            l.slots[ll].bound = between;
            l.len = ll + rl;
            self.inners.release(right);
            self.inners[parent].remove_at(right_c);
            true
        };
        let gl = self.inners[left].max_gap();
        self.inners[parent].slots[left_c].gap = gl;
        if !merged {
            let gr = self.inners[right].max_gap();
            self.inners[parent].slots[right_c].gap = gr;
        }
        merged
    }

    /// Checks the structure (sizes, order, bounds, equal depth, the leaf list) and the gaps:
    /// each leaf's `lo` and each inner node's largest gaps against a recomputation from the
    /// entries.
    pub fn check_invariants(&self) {
        let mut leaves_in_order = Vec::new();
        let (count, gap) = self.check_node(self.root, self.height, true, None, None, &mut leaves_in_order);
        assert_eq!(count, self.len, "entry count");
        assert_eq!(self.top_gap, squeeze(gap), "the largest gap of the tree");
        let mut prev = NIL;
        let mut prev_end = 0;
        for (i, &leaf) in leaves_in_order.iter().enumerate() {
            let l = self.leaf(leaf);
            assert!(l.items[..l.len].iter().all(Option::is_some), "entries below a leaf's length");
            assert!(l.items[l.len..].iter().all(Option::is_none), "no entries past a leaf's length");
            assert_eq!(l.prev, prev, "leaf list back link");
            let next = leaves_in_order.get(i + 1).copied().unwrap_or(NIL);
            assert_eq!(l.next, next, "leaf list forward link");
            assert_eq!(l.lo, prev_end, "a leaf's lo is the end of the entry before it");
            for v in l.items[..l.len].iter().flatten() {
                assert!(v.start() < v.end(), "empty entry at {:#x}", v.start());
                assert!(v.start() >= prev_end, "entries overlap at {:#x}", v.start());
                prev_end = v.end();
            }
            prev = leaf;
        }
        assert_eq!(self.last_end(), prev_end, "the top gap's start");
        assert_eq!(self.ends[0], leaves_in_order[0], "the first leaf");
        assert_eq!(self.ends[1], leaves_in_order[leaves_in_order.len() - 1], "the last leaf");
        let hint = self.hint.get();
        if hint.leaf != NIL {
            assert!(leaves_in_order.contains(&hint.leaf), "the lookup hint names a leaf in the tree");
            assert!(hint.lo < hint.hi, "the lookup hint's keys");
            for x in [hint.lo, hint.hi - 1] {
                let (_, leaf, _) = self.walk_to(x);
                assert_eq!(leaf, hint.leaf, "the lookup hint's keys lead to its leaf");
            }
            self.hint.set(hint);
        }
    }

    /// Checks the subtree at `node` (`height` levels above the leaves) against the bounds
    /// `[lo, hi)` its parent gives it; returns its entry count and its largest gap, computed
    /// from the entries.
    fn check_node(
        &self,
        node: u32,
        height: usize,
        is_root: bool,
        lo: Option<u64>,
        hi: Option<u64>,
        leaves: &mut Vec<u32>,
    ) -> (usize, u64) {
        let within = |k: u64| lo.is_none_or(|lo| k >= lo) && hi.is_none_or(|hi| k < hi);
        if height == 0 {
            let l = self.leaf(node);
            assert!(l.len <= LEAF_CAP && (is_root || l.len >= LEAF_MIN), "leaf size {}", l.len);
            let keys: Vec<u64> = (0..l.len).map(|i| l.key(i)).collect();
            assert!(keys.windows(2).all(|w| w[0] < w[1]), "leaf keys in order");
            assert!(keys.iter().all(|&k| within(k)), "leaf keys within their bounds");
            leaves.push(node);
            let gap = (l.first_indexed()..l.len).map(|i| l.key(i).saturating_sub(l.gap_start(i))).max().unwrap_or(0);
            return (l.len, gap);
        }
        let n = &self.inners[node];
        assert!(n.len <= INNER_CAP && n.len >= if is_root { 2 } else { INNER_MIN }, "inner size {}", n.len);
        assert!(n.slots[1..n.len].windows(2).all(|w| w[0].bound < w[1].bound), "inner bounds in order");
        let (mut count, mut gap) = (0, 0);
        for i in 0..n.len {
            let clo = if i == 0 { lo } else { Some(n.bound(i)) };
            let chi = if i + 1 < n.len { Some(n.bound(i + 1)) } else { hi };
            if i > 0 {
                assert!(within(n.bound(i)), "inner bound within the parent's");
            }
            let (c, g) = self.check_node(n.child(i), height - 1, false, clo, chi, leaves);
            assert_eq!(n.gap(i), squeeze(g), "inner node {node} child {i}: largest gap out of date");
            count += c;
            gap = gap.max(g);
        }
        (count, gap)
    }
}

/// An in-order walk over a [`VmaIndex`], from the front and (for [`VmaIndex::iter`]) the back.
#[derive(Clone, Debug)]
pub struct Iter<'a, V> {
    index: &'a VmaIndex<V>,
    front: Option<Pos>,
    back: Option<Pos>,
    /// Entries left between `front` and `back` (`usize::MAX`: up to the end of the list).
    remaining: usize,
}

impl<'a, V: Span> Iterator for Iter<'a, V> {
    type Item = &'a V;

    fn next(&mut self) -> Option<&'a V> {
        if self.remaining == 0 {
            return None;
        }
        let p = self.front?;
        if self.remaining != usize::MAX {
            self.remaining -= 1;
        }
        self.front = self.index.step_forward(p);
        if self.front.is_none() {
            self.remaining = 0;
        }
        Some(self.index.entry(p))
    }
}

impl<V: Span> DoubleEndedIterator for Iter<'_, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let back = match self.back {
            Some(b) => b,
            None => {
                // A walk from a key: its back is the last entry.
                let last = self.index.end_leaf(true);
                Pos { leaf: last, at: self.index.leaf(last).len - 1 }
            }
        };
        if self.remaining == usize::MAX {
            // Count the entries from the front to the back once, to know where they meet.
            let mut n = 0;
            let mut p = self.front;
            while let Some(q) = p {
                n += 1;
                if q == back {
                    break;
                }
                p = self.index.step_forward(q);
            }
            self.remaining = n;
            if n == 0 {
                return None;
            }
        }
        self.remaining -= 1;
        self.back = self.index.step_back(back);
        Some(self.index.entry(back))
    }
}
