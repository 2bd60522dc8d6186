//! `PageCache`: a file's cached pages, page index → frame.
//!
//! Pages are kept in blocks of 64 consecutive indexes (an array of frames and a bit mask of
//! the ones present), the blocks in an ordered map. Fault-around looks up sixteen or more
//! neighbouring pages at each fault: with one map entry per page that was a walk down a
//! tree of ten-entry nodes and a hop between leaves scattered over the heap; with blocks it
//! is one lookup in a map 64 times smaller and two cache lines of one array. Files are
//! sparse as often as not (holes, `MADV_REMOVE`, a few pages read from a large file), so
//! the blocks are only made where pages are.

use std::collections::BTreeMap;
use std::ops::{Bound, RangeBounds};

use crate::frame::Pfn;

/// Pages per block.
const BLOCK: u64 = 64;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Block {
    /// Bit `i`: page `first + i` is present.
    present: u64,
    frames: [Pfn; BLOCK as usize],
}

/// The page cache of one file; see the module documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageCache {
    /// Blocks by their first page index divided by [`BLOCK`]; never empty.
    blocks: BTreeMap<u64, Box<Block>>,
    len: usize,
}

fn split(index: u64) -> (u64, usize) {
    (index / BLOCK, (index % BLOCK) as usize)
}

impl PageCache {
    /// An empty cache.
    pub fn new() -> PageCache {
        PageCache::default()
    }

    /// Number of cached pages.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no page is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The frame of page `index`.
    pub fn get(&self, index: u64) -> Option<Pfn> {
        let (b, i) = split(index);
        let block = self.blocks.get(&b)?;
        (block.present >> i & 1 == 1).then(|| block.frames[i])
    }

    /// Whether page `index` is cached.
    pub fn contains(&self, index: u64) -> bool {
        self.get(index).is_some()
    }

    /// Caches `pfn` as page `index`; returns the frame it replaces.
    pub fn insert(&mut self, index: u64, pfn: Pfn) -> Option<Pfn> {
        let (b, i) = split(index);
        let block = self
            .blocks
            .entry(b)
            .or_insert_with(|| Box::new(Block { present: 0, frames: [Pfn::default(); BLOCK as usize] }));
        let old = (block.present >> i & 1 == 1).then(|| block.frames[i]);
        block.present |= 1 << i;
        block.frames[i] = pfn;
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Drops page `index`; returns its frame.
    pub fn remove(&mut self, index: u64) -> Option<Pfn> {
        let (b, i) = split(index);
        let block = self.blocks.get_mut(&b)?;
        if block.present >> i & 1 == 0 {
            return None;
        }
        block.present &= !(1 << i);
        let pfn = block.frames[i];
        if block.present == 0 {
            self.blocks.remove(&b);
        }
        self.len -= 1;
        Some(pfn)
    }

    /// The cached pages with indexes in `range`, in order, as (index, frame).
    pub fn range(&self, range: impl RangeBounds<u64>) -> Range<'_> {
        let lo = match range.start_bound() {
            Bound::Included(&x) => x,
            Bound::Excluded(&x) => x.saturating_add(1),
            Bound::Unbounded => 0,
        };
        // `hi` is exclusive; an excluded `u64::MAX` start leaves the range empty.
        let empty = matches!(range.start_bound(), Bound::Excluded(&u64::MAX));
        let hi = match range.end_bound() {
            Bound::Included(&x) => x.checked_add(1),
            Bound::Excluded(&x) => Some(x),
            Bound::Unbounded => None,
        };
        let last_block = hi.map(|h| h.saturating_sub(1) / BLOCK);
        let mut r = Range { lo, hi, one: None, rest: None, block: None, first: 0, mask: 0 };
        if !empty && hi.is_none_or(|h| h > lo) {
            if last_block == Some(lo / BLOCK) {
                // Within one block (fault-around's case): a lookup, cheaper than a range walk.
                r.one = self.blocks.get(&(lo / BLOCK)).map(|b| (lo / BLOCK, &**b));
            } else {
                r.rest = Some(match last_block {
                    Some(l) => self.blocks.range(lo / BLOCK..=l),
                    None => self.blocks.range(lo / BLOCK..),
                });
            }
        }
        r
    }

    /// For each index of `lo..hi` in turn, its frame if cached: one map lookup a block of
    /// 64 pages, not one a page (fault-around asks this for each page of its window).
    pub fn frames_of(&self, lo: u64, hi: u64) -> FramesOf<'_> {
        FramesOf { cache: self, next: lo, hi, block: None }
    }

    /// The frames of pages `lo..hi` when every one of them is cached and they lie in one
    /// block (a folio always does): one lookup, and the frames side by side.
    pub fn all_in_one_block(&self, lo: u64, hi: u64) -> Option<&[Pfn]> {
        let ((b, i), (b_last, _)) = (split(lo), split(hi.checked_sub(1)?));
        if lo >= hi || b != b_last {
            return None;
        }
        let block = self.blocks.get(&b)?;
        let n = (hi - lo) as usize;
        let want = if n == BLOCK as usize { u64::MAX } else { ((1u64 << n) - 1) << i };
        (block.present & want == want).then(|| &block.frames[i..i + n])
    }

    /// Every cached page, in order, as (index, frame).
    pub fn iter(&self) -> impl Iterator<Item = (u64, Pfn)> + '_ {
        self.range(..)
    }

    /// Every cached frame, in page order.
    pub fn frames(&self) -> impl Iterator<Item = Pfn> + '_ {
        self.iter().map(|(_, p)| p)
    }

    /// Checks that no block is empty and the count is right.
    pub fn check_invariants(&self) {
        assert!(self.blocks.values().all(|b| b.present != 0), "page cache: an empty block is kept");
        let n: u32 = self.blocks.values().map(|b| b.present.count_ones()).sum();
        assert_eq!(n as usize, self.len, "page cache: page count");
    }
}

/// The frames of a [`PageCache::frames_of`].
#[derive(Debug)]
pub struct FramesOf<'a> {
    cache: &'a PageCache,
    next: u64,
    hi: u64,
    /// The block of the last index given (its number, and the block if it exists).
    block: Option<(u64, Option<&'a Block>)>,
}

impl Iterator for FramesOf<'_> {
    type Item = Option<Pfn>;

    fn next(&mut self) -> Option<Option<Pfn>> {
        if self.next >= self.hi {
            return None;
        }
        let (b, i) = split(self.next);
        self.next += 1;
        let block = match self.block {
            Some((cur, block)) if cur == b => block,
            _ => {
                let block = self.cache.blocks.get(&b).map(|x| &**x);
                self.block = Some((b, block));
                block
            }
        };
        Some(block.filter(|x| x.present >> i & 1 == 1).map(|x| x.frames[i]))
    }
}

/// The pages of a [`PageCache::range`].
#[derive(Debug)]
pub struct Range<'a> {
    lo: u64,
    hi: Option<u64>,
    /// The only block, when the range lies in one.
    one: Option<(u64, &'a Block)>,
    /// The blocks, when it spans several.
    rest: Option<std::collections::btree_map::Range<'a, u64, Box<Block>>>,
    /// The block being walked, its first page index, and its pages in range not yet given.
    block: Option<&'a Block>,
    first: u64,
    mask: u64,
}

impl Iterator for Range<'_> {
    type Item = (u64, Pfn);

    fn next(&mut self) -> Option<(u64, Pfn)> {
        loop {
            if self.mask != 0 {
                let i = self.mask.trailing_zeros() as u64;
                self.mask &= self.mask - 1;
                let block = self.block.expect("a mask comes with its block");
                return Some((self.first + i, block.frames[i as usize]));
            }
            let (b, block) = match self.one.take() {
                Some(one) => one,
                None => self.rest.as_mut()?.next().map(|(&b, block)| (b, &**block))?,
            };
            self.first = b * BLOCK;
            self.block = Some(block);
            let mut mask = block.present;
            // Keep the bits of pages in [lo, hi) only.
            if self.lo > self.first {
                mask &= u64::MAX << (self.lo - self.first);
            }
            if let Some(h) = self.hi {
                if h - self.first < BLOCK {
                    mask &= (1u64 << (h - self.first)) - 1;
                }
            }
            self.mask = mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::ops::Bound::{Excluded, Included, Unbounded};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn behaves_like_a_btreemap(
            ops in prop::collection::vec((any::<bool>(), 0u64..700, 0u64..1000), 1..400),
            ranges in prop::collection::vec((0u64..720, 0u64..720, 0u8..3, 0u8..3), 6),
        ) {
            let mut cache = PageCache::new();
            let mut model = BTreeMap::new();
            for &(insert, index, pfn) in &ops {
                let pfn = Pfn::new(pfn);
                if insert {
                    prop_assert_eq!(cache.insert(index, pfn), model.insert(index, pfn));
                } else {
                    prop_assert_eq!(cache.remove(index), model.remove(&index));
                }
                cache.check_invariants();
            }
            prop_assert_eq!(cache.len(), model.len());
            prop_assert!(cache.iter().eq(model.iter().map(|(&i, &p)| (i, p))));
            for i in 0..720 {
                prop_assert_eq!(cache.get(i), model.get(&i).copied());
            }
            for &(a, b, _, _) in &ranges {
                let got: Vec<_> = cache.frames_of(a, b).collect();
                let want: Vec<_> = (a..b.max(a)).map(|i| model.get(&i).copied()).collect();
                prop_assert_eq!(got, want);
            }
            for &(a, b, sk, ek) in &ranges {
                let start = [Included(a), Excluded(a), Unbounded][sk as usize];
                let end = [Included(b), Excluded(b), Unbounded][ek as usize];
                // BTreeMap panics on an empty-by-construction range; the cache gives nothing.
                let valid = match (start, end) {
                    (Included(s) | Excluded(s), Included(e) | Excluded(e)) => {
                        s < e || (s == e && !matches!((start, end), (Excluded(_), Excluded(_))))
                    }
                    _ => true,
                };
                let got: Vec<_> = cache.range((start, end)).collect();
                let want: Vec<_> =
                    if valid { model.range((start, end)).map(|(&i, &p)| (i, p)).collect() } else { Vec::new() };
                prop_assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn the_ends_of_the_index_space() {
        let mut cache = PageCache::new();
        cache.insert(u64::MAX, Pfn::new(7));
        cache.insert(0, Pfn::new(1));
        assert_eq!(cache.range((Excluded(u64::MAX), Unbounded)).count(), 0);
        assert_eq!(cache.range(u64::MAX..).collect::<Vec<_>>(), [(u64::MAX, Pfn::new(7))]);
        assert_eq!(cache.range(..=0).collect::<Vec<_>>(), [(0, Pfn::new(1))]);
        assert_eq!(cache.iter().count(), 2);
    }
}
