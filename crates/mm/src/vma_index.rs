//! `VmaIndex`: the VMAs of an address space ordered by start address, stored in the tree.
//!
//! A B+tree with wide nodes kept in two [`Arena`]s (nodes addressed by `u32`), its
//! leaves linked both ways for in-order walks. The leaves hold the values themselves (the
//! VMAs), and a lookup compares the values' own keys: at a million VMAs the leaf a random
//! lookup lands in is not in cache, and with the values beside their keys that is the only
//! memory the lookup waits for (keys in the leaf and VMAs in a slab of their own cost a
//! second miss: a random lookup at a million VMAs measured 470-520 ns that way, 360-410
//! this way). It replaces `std`'s `BTreeMap` because at a million VMAs every lookup is a chain
//! of cache and TLB misses, one or two per level: inner nodes of 64 children make the tree
//! four levels deep where `BTreeMap`'s nodes of 11 make it seven, and the levels above the
//! leaves stay in cache.
//!
//! Inner nodes hold, for each child but the first, a lower bound of the keys below it (the
//! smallest key when the child was made; removals may leave it lower than the smallest key
//! left, never higher). A lookup of `x` goes to the last child whose bound is at most `x`.
//!
//! The leaf of the last lookup is remembered: one `mmap` or `munmap` looks up the same few
//! neighbouring VMAs a dozen times, and a walk from the root costs a level per lookup that
//! grows with the address space (three inner levels at a million VMAs, one at a thousand).

use std::cell::Cell;

use crate::arena::Arena;
use crate::gap_tree::split_point;

/// Entries per leaf: sixteen 64-byte VMAs, whose lines a lookup's scan fetches together.
const LEAF_CAP: usize = 16;
/// Smallest entry count of a leaf other than the root. A quarter rather than a half lets
/// splits be lopsided: address spaces grow in address order, up or down, and an even split
/// would leave every leaf half empty.
const LEAF_MIN: usize = LEAF_CAP / 4;
/// Children per inner node.
const INNER_CAP: usize = 64;
/// Smallest child count of an inner node other than the root.
const INNER_MIN: usize = INNER_CAP / 4;
/// Deepest tree the path arrays hold: 4 * 16^7 entries at the least, beyond any address space.
const MAX_HEIGHT: usize = 8;
/// No leaf (the ends of the leaf list).
const NIL: u32 = u32::MAX;

/// What the index stores: values that carry their own key.
pub trait Keyed {
    /// The value's place in the order; no two values in an index share one.
    fn key(&self) -> u64;
}

#[derive(Clone, Debug)]
struct Leaf<V> {
    len: usize,
    prev: u32,
    next: u32,
    /// `Some` below `len`, `None` from there on.
    items: [Option<V>; LEAF_CAP],
}

#[derive(Clone, Debug)]
struct Inner {
    len: usize,
    /// `bounds[i]` bounds the keys of `child[i]` from below; `bounds[0]` is not used.
    bounds: [u64; INNER_CAP],
    child: [u32; INNER_CAP],
}

impl<V: Keyed> Leaf<V> {
    fn empty() -> Leaf<V> {
        Leaf { len: 0, prev: NIL, next: NIL, items: std::array::from_fn(|_| None) }
    }

    fn key(&self, i: usize) -> u64 {
        self.items[i].as_ref().map_or(u64::MAX, Keyed::key)
    }

    fn item(&self, i: usize) -> &V {
        self.items[i].as_ref().expect("an entry below the leaf's length")
    }

    /// How many entries have keys `<= x`. A scan from the front (see [`count_le`]).
    fn count_le(&self, x: u64) -> usize {
        (0..self.len).position(|i| self.key(i) > x).unwrap_or(self.len)
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

/// Puts `(key, val)` at `pos` of a node's two arrays of `len` entries, shifting the rest up.
fn insert_pair<const N: usize>(
    keys: &mut [u64; N],
    vals: &mut [u32; N],
    len: &mut usize,
    pos: usize,
    pair: (u64, u32),
) {
    keys.copy_within(pos..*len, pos + 1);
    vals.copy_within(pos..*len, pos + 1);
    (keys[pos], vals[pos]) = pair;
    *len += 1;
}

/// Takes the entry at `pos` out of a node's two arrays of `len` entries.
fn remove_pair<const N: usize>(keys: &mut [u64; N], vals: &mut [u32; N], len: &mut usize, pos: usize) -> (u64, u32) {
    let out = (keys[pos], vals[pos]);
    keys.copy_within(pos + 1..*len, pos);
    vals.copy_within(pos + 1..*len, pos);
    *len -= 1;
    out
}

impl Inner {
    fn empty() -> Inner {
        Inner { len: 0, bounds: [0; INNER_CAP], child: [0; INNER_CAP] }
    }

    /// The child to descend into for `x`.
    fn child_for(&self, x: u64) -> usize {
        count_le(&self.bounds[1..self.len], x)
    }

    fn insert_at(&mut self, pos: usize, bound: u64, child: u32) {
        insert_pair(&mut self.bounds, &mut self.child, &mut self.len, pos, (bound, child));
    }

    fn remove_at(&mut self, pos: usize) -> (u64, u32) {
        remove_pair(&mut self.bounds, &mut self.child, &mut self.len, pos)
    }
}

/// How many of the sorted `keys` are `<= x`: the index of the first one above it.
///
/// A scan from the front rather than a binary search: it reads the node's cache lines in
/// order, which the hardware fetches ahead, where a binary search waits for each probe's
/// line in turn.
fn count_le(keys: &[u64], x: u64) -> usize {
    keys.iter().position(|&k| k > x).unwrap_or(keys.len())
}

/// A position in the leaf list: leaf and entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pos {
    leaf: u32,
    at: usize,
}

/// Values ordered by key; see the module documentation.
#[derive(Clone, Debug)]
pub struct VmaIndex<V> {
    leaves: Arena<Leaf<V>>,
    inners: Arena<Inner>,
    root: u32,
    /// Levels of inner nodes above the leaves (0: the root is a leaf).
    height: usize,
    len: usize,
    /// The leaf the last lookup ended in (`NIL`: none); forgotten when a leaf is freed.
    hint: Cell<u32>,
}

impl<V: Keyed> Default for VmaIndex<V> {
    fn default() -> Self {
        VmaIndex::new()
    }
}

impl<V: Keyed> VmaIndex<V> {
    /// An empty index.
    pub fn new() -> VmaIndex<V> {
        let mut leaves = Arena::default();
        leaves.alloc(Leaf::empty());
        VmaIndex { leaves, inners: Arena::default(), root: 0, height: 0, len: 0, hint: Cell::new(NIL) }
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

    /// Whether the last key `<= x` is in `leaf` (true when `x` lies between the leaf's first
    /// key and the next leaf's), so that a lookup may start there instead of at the root.
    fn leaf_holds(&self, leaf: u32, x: u64) -> bool {
        let l = self.leaf(leaf);
        l.len > 0 && l.key(0) <= x && (l.next == NIL || x < self.leaf(l.next).key(0))
    }

    /// The leaf whose key range holds `x`, or the one after it when a stale bound misleads
    /// the walk (see [`VmaIndex::pos_le`]).
    fn leaf_for(&self, x: u64) -> u32 {
        let hint = self.hint.get();
        if hint != NIL && self.leaf_holds(hint, x) {
            return hint;
        }
        let mut node = self.root;
        for _ in 0..self.height {
            let inner = &self.inners[node];
            node = inner.child[inner.child_for(x)];
        }
        self.hint.set(node);
        node
    }

    /// The leaf at one end of the list.
    fn end_leaf(&self, last: bool) -> u32 {
        let mut node = self.root;
        for _ in 0..self.height {
            let inner = &self.inners[node];
            node = inner.child[if last { inner.len - 1 } else { 0 }];
        }
        node
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
            Some(p) if self.entry(p).key() == x => Some(p),
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
        let p = if self.entry(p).key() == x { self.step_back(p)? } else { p };
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
        self.last_le(key).filter(|v| v.key() == key)
    }

    /// The entry whose key is `key`, to change in ways that keep its key.
    pub fn get_mut(&mut self, key: u64) -> Option<&mut V> {
        let p = self.pos_le(key).filter(|&p| self.entry(p).key() == key)?;
        self.leaves[p.leaf].items[p.at].as_mut()
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
    fn walk_to(&self, key: u64) -> ([(u32, usize); MAX_HEIGHT], u32, usize) {
        let mut path = [(0u32, 0usize); MAX_HEIGHT];
        let mut node = self.root;
        for slot in path.iter_mut().take(self.height) {
            let inner = &self.inners[node];
            let c = inner.child_for(key);
            *slot = (node, c);
            node = inner.child[c];
        }
        self.hint.set(node);
        (path, node, self.leaf(node).count_lt(key))
    }

    /// Stores `v` under its key, returning the entry it replaces.
    pub fn insert(&mut self, v: V) -> Option<V> {
        let key = v.key();
        let (path, node, pos) = self.walk_to(key);
        let leaf = &mut self.leaves[node];
        if pos < leaf.len && leaf.key(pos) == key {
            return leaf.items[pos].replace(v);
        }
        self.len += 1;
        if leaf.len < LEAF_CAP {
            leaf.insert_at(pos, v);
            return None;
        }
        // Split the full leaf, then push the new right half's bound up the path.
        let keep = split_point(LEAF_CAP, LEAF_MIN, pos);
        let mut right = Leaf::empty();
        leaf.move_tail(keep, &mut right);
        right.prev = node;
        right.next = leaf.next;
        let right_id = self.leaves.alloc(right);
        let after = self.leaves[right_id].next;
        if after != NIL {
            self.leaves[after].prev = right_id;
        }
        self.leaves[node].next = right_id;
        if pos < keep {
            self.leaves[node].insert_at(pos, v);
        } else {
            self.leaves[right_id].insert_at(pos - keep, v);
        }
        let mut bound = self.leaves[right_id].key(0);
        let mut new_child = right_id;
        for level in (0..self.height).rev() {
            let (parent, c) = path[level];
            let p = &mut self.inners[parent];
            if p.len < INNER_CAP {
                p.insert_at(c + 1, bound, new_child);
                return None;
            }
            let keep = split_point(INNER_CAP, INNER_MIN, c + 1);
            let mut right = Inner::empty();
            right.len = INNER_CAP - keep;
            right.bounds[..right.len].copy_from_slice(&p.bounds[keep..]);
            right.child[..right.len].copy_from_slice(&p.child[keep..]);
            p.len = keep;
            let right_id = self.inners.alloc(right);
            if c + 1 < keep {
                self.inners[parent].insert_at(c + 1, bound, new_child);
            } else {
                self.inners[right_id].insert_at(c + 1 - keep, bound, new_child);
            }
            bound = self.inners[right_id].bounds[0];
            new_child = right_id;
        }
        // The root split: a new root above both halves.
        let mut root = Inner::empty();
        root.len = 2;
        root.child[0] = self.root;
        root.bounds[1] = bound;
        root.child[1] = new_child;
        self.root = self.inners.alloc(root);
        self.height += 1;
        None
    }

    /// Removes and returns the entry whose key is `key`.
    pub fn remove(&mut self, key: u64) -> Option<V> {
        let hint = self.hint.get();
        if hint != NIL && self.leaf_holds(hint, key) {
            let leaf = &mut self.leaves[hint];
            if self.height == 0 || leaf.len > LEAF_MIN {
                // The leaf stays big enough: no walk needed, and a bound left below the
                // leaf's new first key is allowed.
                let pos = leaf.count_lt(key);
                if pos == leaf.len || leaf.key(pos) != key {
                    return None;
                }
                self.len -= 1;
                return Some(leaf.remove_at(pos));
            }
        }
        let (path, node, pos) = self.walk_to(key);
        let leaf = &mut self.leaves[node];
        if pos == leaf.len || leaf.key(pos) != key {
            return None;
        }
        let val = leaf.remove_at(pos);
        self.len -= 1;
        if self.height == 0 || leaf.len >= LEAF_MIN {
            return Some(val);
        }
        // The leaf is short: borrow from a sibling, or merge with it and go up.
        let (parent, c) = path[self.height - 1];
        let mut merged = self.fix_leaf(parent, c);
        let mut level = self.height - 1;
        while merged && level > 0 && self.inners[path[level].0].len < INNER_MIN {
            let (grand, gc) = path[level - 1];
            merged = self.fix_inner(grand, gc);
            level -= 1;
        }
        let root = &self.inners[self.root];
        if self.height > 0 && root.len == 1 {
            let only = root.child[0];
            self.inners.release(self.root);
            self.root = only;
            self.height -= 1;
        }
        Some(val)
    }

    /// Refills the short leaf `child[c]` of `parent`; returns whether two leaves merged (the
    /// parent lost a child).
    fn fix_leaf(&mut self, parent: u32, c: usize) -> bool {
        let p = &self.inners[parent];
        let (left_c, right_c) = if c > 0 { (c - 1, c) } else { (c, c + 1) };
        let (left, right) = (p.child[left_c], p.child[right_c]);
        let (ll, rl) = (self.leaf(left).len, self.leaf(right).len);
        if c > 0 && ll > LEAF_MIN {
            // Borrow the left sibling's last entry.
            let v = self.leaves[left].remove_at(ll - 1);
            let k = v.key();
            self.leaves[right].insert_at(0, v);
            self.inners[parent].bounds[right_c] = k;
            return false;
        }
        if c == 0 && rl > LEAF_MIN {
            // Borrow the right sibling's first entry.
            let v = self.leaves[right].remove_at(0);
            self.leaves[left].insert_at(ll, v);
            self.inners[parent].bounds[right_c] = self.leaf(right).key(0);
            return false;
        }
        // Merge the right leaf into the left one.
        let mut r = std::mem::replace(&mut self.leaves[right], Leaf::empty());
        let l = &mut self.leaves[left];
        r.move_tail(0, l);
        l.next = r.next;
        if r.next != NIL {
            self.leaves[r.next].prev = left;
        }
        self.leaves.release(right);
        self.hint.set(NIL);
        self.inners[parent].remove_at(right_c);
        true
    }

    /// Refills the short inner node `child[c]` of `parent`, like [`VmaIndex::fix_leaf`].
    fn fix_inner(&mut self, parent: u32, c: usize) -> bool {
        let p = &self.inners[parent];
        let (left_c, right_c) = if c > 0 { (c - 1, c) } else { (c, c + 1) };
        let (left, right) = (p.child[left_c], p.child[right_c]);
        let between = p.bounds[right_c];
        let (ll, rl) = (self.inners[left].len, self.inners[right].len);
        if c > 0 && ll > INNER_MIN {
            // The left sibling's last child moves over; the old first child of this node
            // gets the bound that used to separate the two nodes.
            let (b, ch) = {
                let l = &mut self.inners[left];
                l.len -= 1;
                (l.bounds[l.len], l.child[l.len])
            };
            let r = &mut self.inners[right];
            r.bounds[0] = between;
            r.insert_at(0, b, ch);
            self.inners[parent].bounds[right_c] = b;
            return false;
        }
        if c == 0 && rl > INNER_MIN {
            let r = &mut self.inners[right];
            let (_, ch) = r.remove_at(0);
            let next_bound = r.bounds[0];
            let l = &mut self.inners[left];
            let n = l.len;
            l.insert_at(n, between, ch);
            self.inners[parent].bounds[right_c] = next_bound;
            return false;
        }
        let r = self.inners[right].clone();
        let l = &mut self.inners[left];
        l.bounds[ll] = between;
        l.child[ll] = r.child[0];
        l.bounds[ll + 1..ll + rl].copy_from_slice(&r.bounds[1..rl]);
        l.child[ll + 1..ll + rl].copy_from_slice(&r.child[1..rl]);
        l.len = ll + rl;
        self.inners.release(right);
        self.inners[parent].remove_at(right_c);
        true
    }

    /// Checks the structure: sizes, order, bounds, equal depth and the leaf list.
    pub fn check_invariants(&self) {
        let mut leaves_in_order = Vec::new();
        let count = self.check_node(self.root, self.height, true, None, None, &mut leaves_in_order);
        assert_eq!(count, self.len, "entry count");
        let mut prev = NIL;
        for (i, &leaf) in leaves_in_order.iter().enumerate() {
            let l = self.leaf(leaf);
            assert!(l.items[..l.len].iter().all(Option::is_some), "entries below a leaf's length");
            assert!(l.items[l.len..].iter().all(Option::is_none), "no entries past a leaf's length");
            assert_eq!(self.leaf(leaf).prev, prev, "leaf list back link");
            let next = leaves_in_order.get(i + 1).copied().unwrap_or(NIL);
            assert_eq!(self.leaf(leaf).next, next, "leaf list forward link");
            prev = leaf;
        }
        let hint = self.hint.get();
        assert!(hint == NIL || leaves_in_order.contains(&hint), "the lookup hint names a leaf in the tree");
    }

    /// Checks the subtree at `node` (`height` levels above the leaves) against the bounds
    /// `[lo, hi)` its parent gives it; returns its entry count.
    fn check_node(
        &self,
        node: u32,
        height: usize,
        is_root: bool,
        lo: Option<u64>,
        hi: Option<u64>,
        leaves: &mut Vec<u32>,
    ) -> usize {
        let within = |k: u64| lo.is_none_or(|lo| k >= lo) && hi.is_none_or(|hi| k < hi);
        if height == 0 {
            let l = self.leaf(node);
            assert!(l.len <= LEAF_CAP && (is_root || l.len >= LEAF_MIN), "leaf size {}", l.len);
            let keys: Vec<u64> = (0..l.len).map(|i| l.key(i)).collect();
            assert!(keys.windows(2).all(|w| w[0] < w[1]), "leaf keys in order");
            assert!(keys.iter().all(|&k| within(k)), "leaf keys within their bounds");
            leaves.push(node);
            return l.len;
        }
        let n = &self.inners[node];
        assert!(n.len <= INNER_CAP && n.len >= if is_root { 2 } else { INNER_MIN }, "inner size {}", n.len);
        assert!(n.bounds[1..n.len].windows(2).all(|w| w[0] < w[1]), "inner bounds in order");
        (0..n.len)
            .map(|i| {
                let clo = if i == 0 { lo } else { Some(n.bounds[i]) };
                let chi = if i + 1 < n.len { Some(n.bounds[i + 1]) } else { hi };
                if i > 0 {
                    assert!(within(n.bounds[i]), "inner bound within the parent's");
                }
                self.check_node(n.child[i], height - 1, false, clo, chi, leaves)
            })
            .sum()
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

impl<'a, V: Keyed> Iterator for Iter<'a, V> {
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

impl<V: Keyed> DoubleEndedIterator for Iter<'_, V> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::ops::Bound::{Excluded, Unbounded};

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u64),
        Remove(u64),
        Change(u64),
    }

    /// An entry of the tests: key and value.
    #[derive(Clone, Debug, PartialEq)]
    struct E(u64, u32);

    impl Keyed for E {
        fn key(&self) -> u64 {
            self.0
        }
    }

    fn pair(e: &E) -> (u64, u32) {
        (e.0, e.1)
    }

    fn op(space: u64) -> impl Strategy<Value = Op> {
        prop_oneof![(0..space).prop_map(Op::Insert), (0..space).prop_map(Op::Remove), (0..space).prop_map(Op::Change)]
    }

    fn agree(index: &VmaIndex<E>, model: &BTreeMap<u64, u32>, probes: &[u64]) {
        index.check_invariants();
        assert_eq!(index.len(), model.len());
        assert!(index.iter().map(pair).eq(model.iter().map(|(&k, &v)| (k, v))));
        assert!(index.iter().rev().map(pair).eq(model.iter().rev().map(|(&k, &v)| (k, v))));
        for &x in probes {
            let le = model.range(..=x).next_back().map(|(&k, &v)| (k, v));
            let lt = model.range(..x).next_back().map(|(&k, &v)| (k, v));
            let ge = model.range(x..).next().map(|(&k, &v)| (k, v));
            let gt = model.range((Excluded(x), Unbounded)).next().map(|(&k, &v)| (k, v));
            let got = [index.last_le(x), index.last_lt(x), index.first_ge(x), index.first_gt(x)].map(|e| e.map(pair));
            assert_eq!(got, [le, lt, ge, gt]);
            assert_eq!(index.get(x).map(|e| e.1), model.get(&x).copied());
            assert!(index.iter_from(x).take(70).map(pair).eq(model.range(x..).take(70).map(|(&k, &v)| (k, v))));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn behaves_like_a_btreemap(ops in prop::collection::vec(op(3000), 1..6000), probes in prop::collection::vec(0u64..3100, 8)) {
            let mut index = VmaIndex::new();
            let mut model = BTreeMap::new();
            for (i, op) in ops.iter().enumerate() {
                match *op {
                    Op::Insert(k) => assert_eq!(index.insert(E(k, i as u32)).map(|e| e.1), model.insert(k, i as u32)),
                    Op::Remove(k) => assert_eq!(index.remove(k).map(|e| e.1), model.remove(&k)),
                    Op::Change(k) => {
                        // In place, as the VMA code changes a VMA's flags.
                        if let Some(e) = index.get_mut(k) {
                            e.1 = e.1.wrapping_add(1);
                        }
                        if let Some(v) = model.get_mut(&k) {
                            *v = v.wrapping_add(1);
                        }
                    }
                }
                if i % 997 == 0 {
                    agree(&index, &model, &probes);
                }
            }
            agree(&index, &model, &probes);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]
        // Big enough for three levels, so inner nodes split, lend and merge too.
        #[test]
        fn deep_trees_shrink_like_a_btreemap(
            keys in prop::collection::vec(0u64..1_000_000, 5000..12_000),
            keep_one_in in 1usize..6,
            probes in prop::collection::vec(0u64..1_000_100, 8),
        ) {
            let mut index = VmaIndex::new();
            let mut model = BTreeMap::new();
            for (i, &k) in keys.iter().enumerate() {
                assert_eq!(index.insert(E(k, i as u32)).map(|e| e.1), model.insert(k, i as u32));
            }
            agree(&index, &model, &probes);
            for (i, &k) in keys.iter().rev().enumerate() {
                if i % keep_one_in != 0 || keep_one_in == 1 {
                    assert_eq!(index.remove(k).map(|e| e.1), model.remove(&k));
                }
                if i % 2999 == 0 {
                    agree(&index, &model, &probes);
                }
            }
            agree(&index, &model, &probes);
        }
    }

    #[test]
    fn grows_and_shrinks_in_address_order_both_ways() {
        let mut index = VmaIndex::new();
        let mut model = BTreeMap::new();
        for i in 0..20_000u64 {
            let k = (1 << 40) - i * 4096;
            index.insert(E(k, i as u32));
            model.insert(k, i as u32);
        }
        for i in 0..20_000u64 {
            let k = i * 4096 + (1 << 41);
            index.insert(E(k, i as u32));
            model.insert(k, i as u32);
        }
        agree(&index, &model, &[0, 4096, 1 << 40, (1 << 41) + 8192, u64::MAX]);
        // Appends keep leaves nearly full: far fewer than twice the minimum count.
        assert!(index.leaves.len() < 2 * 40_000 / (LEAF_CAP - LEAF_MIN), "{} leaves", index.leaves.len());
        for i in (0..40_000u64).step_by(3) {
            let k = if i < 20_000 { (1 << 40) - i * 4096 } else { (i - 20_000) * 4096 + (1 << 41) };
            assert_eq!(index.remove(k).map(|e| e.1), model.remove(&k));
        }
        agree(&index, &model, &[0, 4096, 1 << 40, (1 << 41) + 8192, u64::MAX]);
        for k in model.keys().copied().collect::<Vec<_>>() {
            index.remove(k);
        }
        index.check_invariants();
        assert!(index.is_empty() && index.iter().next().is_none() && index.last_le(u64::MAX).is_none());
    }
}
