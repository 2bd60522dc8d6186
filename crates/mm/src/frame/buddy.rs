//! Binary buddy allocator of physical page frames.
//!
//! [`BuddyAllocator`] models the free lists of one Linux zone: it holds, for
//! each order `0..=MAX_ORDER`, the set of free naturally aligned blocks of
//! `2^order` frames, identified by their first page frame number (pfn). It
//! stores no page contents, only which frames are free.
//!
//! It works on plain frame numbers, since finding a buddy is bit arithmetic on
//! them (`pfn ^ 2^order`); its one user, the frame table, hands them out as
//! [`super::Pfn`]s.

use super::free_list::FreeList;

/// Largest block order: blocks range from `2^0 = 1` to `2^10 = 1024` frames.
pub const MAX_ORDER: u8 = 10;

const NR_ORDERS: usize = MAX_ORDER as usize + 1;

/// Number of frames in a block of `order`.
const fn block_frames(order: u8) -> u64 {
    1 << order
}

/// A buddy allocator over the frames `[0, total_frames)`.
///
/// Each order keeps an ordered set of free block start pfns. Ordered sets
/// (rather than Linux's intrusive lists) make allocation pick the
/// lowest-addressed block, so results are deterministic and packed low, and
/// let a buddy be removed from the middle of a free list in `O(log n)`
/// without per-frame metadata: memory is proportional to the number of free
/// blocks, not to the number of frames.
#[derive(Clone, Debug)]
pub struct BuddyAllocator {
    total_frames: u64,
    free_frames: u64,
    reserved_frames: u64,
    /// `free_lists[k]` holds the first pfn of every free block of order `k`.
    free_lists: [FreeList; NR_ORDERS],
    /// Half-open ranges passed to [`BuddyAllocator::reserve`], kept so that
    /// freeing a reserved frame can be caught.
    reserved: Vec<(u64, u64)>,
    /// First pfns of the zones after the first ([`BuddyAllocator::set_zone_boundaries`]):
    /// no free block straddles one, as Linux never merges buddies of different zones.
    boundaries: Vec<u64>,
}

impl BuddyAllocator {
    /// Manages frames [0, total_frames). total_frames need not be a multiple
    /// of 1024: the tail is split into the largest aligned blocks that fit.
    pub fn new(total_frames: u64) -> Self {
        let max_blocks = total_frames >> MAX_ORDER;
        let mut free_lists: [FreeList; NR_ORDERS] = std::array::from_fn(|_| FreeList::default());
        // Every largest block free, as a run rather than one entry each (see FreeList).
        free_lists[MAX_ORDER as usize] = FreeList::with_run(0, max_blocks << MAX_ORDER, block_frames(MAX_ORDER));
        let mut this = Self {
            total_frames,
            free_frames: max_blocks << MAX_ORDER,
            reserved_frames: 0,
            free_lists,
            reserved: Vec::new(),
            boundaries: Vec::new(),
        };
        this.free_range(max_blocks << MAX_ORDER, total_frames);
        this
    }

    /// Frames reserved at boot: marks [start, start+count) as not free (used
    /// for e.g. pfn 0 and the zero page). Only valid right after new(); may
    /// split blocks.
    ///
    /// Frames of the range that are already reserved are left as they are, so
    /// overlapping reservations are harmless.
    ///
    /// # Panics
    ///
    /// If the range does not lie inside `[0, total_frames)`.
    pub fn reserve(&mut self, start: u64, count: u64) {
        let end = start
            .checked_add(count)
            .filter(|&end| end <= self.total_frames)
            .unwrap_or_else(|| panic!("reserve({start}, {count}) exceeds the {} managed frames", self.total_frames));
        // A reservation over an allocated frame could not be honoured: the
        // later free() would hand the frame back to the free lists.
        debug_assert_eq!(
            self.free_frames + self.reserved_frames,
            self.total_frames,
            "reserve({start}, {count}) called while blocks are allocated"
        );
        if count == 0 {
            return;
        }

        let mut overlapping = Vec::new();
        for (order, list) in (0..=MAX_ORDER).zip(&self.free_lists) {
            let size = block_frames(order);
            let lowest = start.saturating_sub(size - 1);
            overlapping.extend(list.range(lowest..end).map(|pfn| (pfn, order)));
        }
        for (pfn, order) in overlapping {
            let block_end = pfn + block_frames(order);
            self.free_lists[order as usize].remove(&pfn);
            self.free_frames -= block_frames(order);
            // The pieces lie inside one free block whose buddy is not free,
            // so their greedy decomposition cannot produce a free buddy pair.
            let (cut_start, cut_end) = (start.max(pfn), end.min(block_end));
            self.reserved_frames += cut_end - cut_start;
            self.free_range(pfn, cut_start);
            self.free_range(cut_end, block_end);
        }
        self.reserved.push((start, end));
    }

    /// Allocates a 2^order-aligned block of 2^order frames; returns its first
    /// pfn, or None when no block of that order or larger is free.
    pub fn alloc(&mut self, order: u8) -> Option<u64> {
        if order > MAX_ORDER {
            return None;
        }
        let found = (order..=MAX_ORDER).find(|&o| !self.free_lists[o as usize].is_empty())?;
        let pfn = self.free_lists[found as usize].pop_first()?;
        // Keep the low half at every split so allocations stay packed low.
        for split in (order..found).rev() {
            self.free_lists[split as usize].insert(pfn + block_frames(split));
        }
        self.free_frames -= block_frames(order);
        Some(pfn)
    }

    /// Splits memory into zones at `boundaries` (first pfns of every zone but the first):
    /// free blocks that straddle one are cut in two, and a freed block never coalesces with
    /// a buddy across one. Only valid right after new() (with or without reservations).
    pub fn set_zone_boundaries(&mut self, boundaries: &[u64]) {
        let mut cut = Vec::new();
        for (order, list) in (0..=MAX_ORDER).zip(&self.free_lists) {
            let size = block_frames(order);
            for &b in boundaries {
                let lowest = b.saturating_sub(size - 1);
                cut.extend(list.range(lowest..b).filter(|&pfn| pfn < b && b < pfn + size).map(|pfn| (pfn, order)));
            }
        }
        self.boundaries = boundaries.to_vec();
        for (pfn, order) in cut {
            if self.free_lists[order as usize].remove(&pfn) {
                self.free_frames -= block_frames(order);
                let end = pfn + block_frames(order);
                let mut at = pfn;
                for &b in boundaries.iter().filter(|&&b| pfn < b && b < end) {
                    self.free_range(at, b);
                    at = b;
                }
                self.free_range(at, end);
            }
        }
    }

    /// Whether the block `[start, start + size)` contains a zone boundary inside it.
    fn straddles_zone(&self, start: u64, size: u64) -> bool {
        self.boundaries.iter().any(|&b| start < b && b < start + size)
    }

    /// Allocates like [`BuddyAllocator::alloc`], but only a block that starts in
    /// `[lo, hi)` (a zone, whose blocks never leave it): the lowest such block of the
    /// smallest order that has one.
    pub fn alloc_in(&mut self, order: u8, lo: u64, hi: u64) -> Option<u64> {
        if order > MAX_ORDER {
            return None;
        }
        let (found, pfn) =
            (order..=MAX_ORDER).find_map(|o| self.free_lists[o as usize].range(lo..hi).next().map(|p| (o, p)))?;
        self.free_lists[found as usize].remove(&pfn);
        for split in (order..found).rev() {
            self.free_lists[split as usize].insert(pfn + block_frames(split));
        }
        self.free_frames -= block_frames(order);
        Some(pfn)
    }

    /// Number of free blocks of each order that start in `[lo, hi)` (one zone's line of
    /// /proc/buddyinfo).
    pub fn free_blocks_in(&self, lo: u64, hi: u64) -> [u64; MAX_ORDER as usize + 1] {
        std::array::from_fn(|order| self.free_lists[order].range(lo..hi).count() as u64)
    }

    /// Frees a block previously returned by alloc with the same order,
    /// coalescing with free buddies up to MAX_ORDER.
    ///
    /// # Panics
    ///
    /// If `order > MAX_ORDER`, `pfn` is not aligned to the order, or the block
    /// extends past `total_frames`. With debug assertions, also if any frame
    /// of the block is already free (double free) or reserved.
    pub fn free(&mut self, pfn: u64, order: u8) {
        assert!(order <= MAX_ORDER, "free({pfn}, {order}): order > {MAX_ORDER}");
        let size = block_frames(order);
        assert!(pfn.is_multiple_of(size), "free({pfn}, {order}): pfn not aligned to the order");
        assert!(
            pfn < self.total_frames && size <= self.total_frames - pfn,
            "free({pfn}, {order}): block exceeds the {} managed frames",
            self.total_frames
        );
        debug_assert!(
            self.first_free_overlap(pfn, pfn + size).is_none(),
            "free({pfn}, {order}): overlaps free block {:?} (double free?)",
            self.first_free_overlap(pfn, pfn + size)
        );
        debug_assert!(
            !self.reserved.iter().any(|&(start, end)| start < pfn + size && pfn < end),
            "free({pfn}, {order}): overlaps a reserved range"
        );

        let (mut pfn, mut order) = (pfn, order);
        while order < MAX_ORDER {
            let buddy = pfn ^ block_frames(order);
            if self.straddles_zone(pfn.min(buddy), 2 * block_frames(order))
                || !self.free_lists[order as usize].remove(&buddy)
            {
                break;
            }
            pfn = pfn.min(buddy);
            order += 1;
        }
        self.free_lists[order as usize].insert(pfn);
        self.free_frames += size;
    }

    /// Number of frames managed, free or not.
    pub fn total_frames(&self) -> u64 {
        self.total_frames
    }

    /// Number of frames currently in free blocks.
    pub fn free_frames(&self) -> u64 {
        self.free_frames
    }

    /// Number of free blocks of each order 0..=MAX_ORDER, like one line of
    /// /proc/buddyinfo.
    pub fn free_blocks(&self) -> [u64; MAX_ORDER as usize + 1] {
        std::array::from_fn(|order| self.free_lists[order].len() as u64)
    }

    /// Panics with a clear message if an internal invariant is broken (free
    /// blocks aligned, disjoint, inside range, buddies of equal order never
    /// both free, counters match).
    pub fn check_invariants(&self) {
        let mut blocks = Vec::new();
        let mut free_sum = 0u64;
        for (order, list) in (0..=MAX_ORDER).zip(&self.free_lists) {
            let size = block_frames(order);
            for pfn in list.iter() {
                assert!(pfn % size == 0, "free block {pfn} of order {order} is not aligned");
                assert!(
                    pfn < self.total_frames && size <= self.total_frames - pfn,
                    "free block {pfn} of order {order} exceeds the {} managed frames",
                    self.total_frames
                );
                if order < MAX_ORDER && !self.straddles_zone(pfn.min(pfn ^ size), 2 * size) {
                    let buddy = pfn ^ size;
                    assert!(
                        !list.contains(&buddy),
                        "free blocks {pfn} and {buddy} of order {order} are buddies but not coalesced"
                    );
                }
                for &(start, end) in &self.reserved {
                    assert!(
                        end <= pfn || pfn + size <= start,
                        "free block {pfn} of order {order} overlaps reserved range [{start}, {end})"
                    );
                }
                assert!(!self.straddles_zone(pfn, size), "free block {pfn} of order {order} straddles a zone boundary");
                free_sum += size;
                blocks.push((pfn, order));
            }
        }
        blocks.sort_unstable();
        for pair in blocks.windows(2) {
            let ((a, a_order), (b, b_order)) = (pair[0], pair[1]);
            assert!(
                a + block_frames(a_order) <= b,
                "free block {a} of order {a_order} overlaps free block {b} of order {b_order}"
            );
        }
        assert_eq!(free_sum, self.free_frames, "free frame counter disagrees with the free lists");
        assert!(
            self.free_frames + self.reserved_frames <= self.total_frames,
            "{} free + {} reserved frames exceed the {} managed frames",
            self.free_frames,
            self.reserved_frames,
            self.total_frames
        );
    }

    /// Adds `[start, end)` to the free lists as the largest aligned blocks
    /// that fit. Greedy from the left never yields two free buddies below
    /// MAX_ORDER, because a buddy pair would have fit as one larger block.
    fn free_range(&mut self, start: u64, end: u64) {
        let mut pfn = start;
        while pfn < end {
            let align = if pfn == 0 { MAX_ORDER } else { pfn.trailing_zeros().min(u32::from(MAX_ORDER)) as u8 };
            let fit = (end - pfn).ilog2().min(u32::from(MAX_ORDER)) as u8;
            let order = align.min(fit);
            self.free_lists[order as usize].insert(pfn);
            self.free_frames += block_frames(order);
            pfn += block_frames(order);
        }
    }

    /// Returns a free block `(pfn, order)` sharing a frame with
    /// `[start, end)`, if any.
    fn first_free_overlap(&self, start: u64, end: u64) -> Option<(u64, u8)> {
        (0..=MAX_ORDER).zip(&self.free_lists).find_map(|(order, list)| {
            // Free blocks of one order are disjoint and equally sized, so the
            // last one starting before `end` is the only candidate.
            let pfn = list.range(..end).next_back()?;
            (pfn + block_frames(order) > start).then_some((pfn, order))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const EMPTY: [u64; NR_ORDERS] = [0; NR_ORDERS];

    fn one_of_each_below(order: u8) -> [u64; NR_ORDERS] {
        let mut counts = EMPTY;
        counts[..order as usize].fill(1);
        counts
    }

    #[test]
    fn split_and_coalesce() {
        let mut buddy = BuddyAllocator::new(1024);
        assert_eq!(buddy.free_blocks(), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

        assert_eq!(buddy.alloc(0), Some(0));
        buddy.check_invariants();
        // Splitting 1024 down to 1 leaves the upper half of every level free.
        assert_eq!(buddy.free_blocks(), one_of_each_below(MAX_ORDER));
        assert_eq!(buddy.free_frames(), 1023);

        assert_eq!(buddy.alloc(0), Some(1));
        assert_eq!(buddy.alloc(1), Some(2));
        assert_eq!(buddy.alloc(3), Some(8));
        buddy.check_invariants();

        buddy.free(1, 0);
        buddy.free(8, 3);
        buddy.free(0, 0);
        buddy.check_invariants();
        assert_eq!(buddy.free_blocks()[MAX_ORDER as usize], 0);
        buddy.free(2, 1);
        buddy.check_invariants();
        assert_eq!(buddy.free_blocks(), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(buddy.free_frames(), 1024);
    }

    #[test]
    fn max_order_blocks_do_not_coalesce_further() {
        let mut buddy = BuddyAllocator::new(4096);
        let blocks: Vec<_> = (0..4).map(|_| buddy.alloc(MAX_ORDER).unwrap()).collect();
        assert_eq!(blocks, [0, 1024, 2048, 3072]);
        for pfn in blocks {
            buddy.free(pfn, MAX_ORDER);
        }
        buddy.check_invariants();
        assert_eq!(buddy.free_blocks(), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]);
    }

    #[test]
    fn exhaustion_returns_none() {
        let mut buddy = BuddyAllocator::new(4);
        assert_eq!(buddy.alloc(3), None);
        assert_eq!(buddy.alloc(MAX_ORDER + 1), None);
        assert_eq!(buddy.alloc(2), Some(0));
        assert_eq!(buddy.alloc(0), None);
        buddy.free(0, 2);

        let pfns: Vec<_> = (0..4).map(|_| buddy.alloc(0).unwrap()).collect();
        assert_eq!(pfns, [0, 1, 2, 3]);
        assert_eq!(buddy.alloc(0), None);
        assert_eq!(buddy.free_frames(), 0);
        buddy.check_invariants();

        let mut empty = BuddyAllocator::new(0);
        assert_eq!(empty.alloc(0), None);
        assert_eq!(empty.free_blocks(), EMPTY);
        empty.check_invariants();
    }

    #[test]
    fn fragmentation_blocks_larger_orders() {
        let mut buddy = BuddyAllocator::new(8);
        let pfns: Vec<_> = (0..8).map(|_| buddy.alloc(0).unwrap()).collect();
        // Free every other frame: 4 frames free, but no two are buddies.
        for &pfn in pfns.iter().step_by(2) {
            buddy.free(pfn, 0);
        }
        buddy.check_invariants();
        assert_eq!(buddy.free_frames(), 4);
        assert_eq!(buddy.alloc(1), None);
        assert_eq!(buddy.free_blocks()[0], 4);
    }

    #[test]
    fn reserve_removes_frames_and_splits_blocks() {
        let mut buddy = BuddyAllocator::new(2048);
        buddy.reserve(0, 1);
        buddy.reserve(1030, 3);
        buddy.reserve(1031, 1); // already reserved: no effect
        buddy.reserve(5, 0);
        buddy.check_invariants();
        assert_eq!(buddy.free_frames(), 2048 - 4);
        // [1, 1024) and [1024, 1030) + [1033, 2048) decompose greedily.
        assert_eq!(buddy.free_blocks(), [2, 3, 3, 1, 2, 2, 2, 2, 2, 2, 0]);

        let mut live = Vec::new();
        while let Some(pfn) = buddy.alloc(0) {
            live.push(pfn);
        }
        assert_eq!(live.len(), 2048 - 4);
        assert!(!live.contains(&0));
        assert!(!live.iter().any(|pfn| (1030..1033).contains(pfn)));
        for pfn in live {
            buddy.free(pfn, 0);
        }
        buddy.check_invariants();
        assert_eq!(buddy.free_blocks(), [2, 3, 3, 1, 2, 2, 2, 2, 2, 2, 0]);
    }

    #[test]
    fn reserve_whole_blocks() {
        let mut buddy = BuddyAllocator::new(4096);
        buddy.reserve(1024, 2048);
        buddy.check_invariants();
        assert_eq!(buddy.free_blocks(), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        assert_eq!(buddy.alloc(MAX_ORDER), Some(0));
        assert_eq!(buddy.alloc(MAX_ORDER), Some(3072));
        assert_eq!(buddy.alloc(0), None);
    }

    #[test]
    #[should_panic(expected = "exceeds")]
    fn reserve_out_of_range_panics() {
        BuddyAllocator::new(100).reserve(90, 11);
    }

    #[test]
    fn lowest_first_determinism() {
        let run = || {
            let mut buddy = BuddyAllocator::new(2048);
            let mut out = Vec::new();
            for order in [0u8, 2, 0, 1, 5, 0, 3] {
                out.push(buddy.alloc(order).unwrap());
            }
            buddy.free(out[1], 2);
            out.push(buddy.alloc(1).unwrap());
            out.push(buddy.alloc(0).unwrap());
            out
        };
        let first = run();
        assert_eq!(first, [0, 4, 1, 2, 32, 8, 16, 10, 9]);
        assert_eq!(first, run());
    }

    #[test]
    fn freed_low_block_is_reused_first() {
        let mut buddy = BuddyAllocator::new(1 << 20);
        let pfns: Vec<_> = (0..100).map(|_| buddy.alloc(0).unwrap()).collect();
        assert_eq!(pfns, (0..100).collect::<Vec<_>>());
        buddy.free(42, 0);
        buddy.free(7, 0);
        assert_eq!(buddy.alloc(0), Some(7));
        assert_eq!(buddy.alloc(0), Some(42));
        assert_eq!(buddy.alloc(0), Some(100));
    }

    #[test]
    fn non_power_of_two_total() {
        // 3 * 1024 + 300, and 300 = 256 + 32 + 8 + 4.
        let total = 3 * 1024 + 300;
        let mut buddy = BuddyAllocator::new(total);
        buddy.check_invariants();
        assert_eq!(buddy.total_frames(), total);
        assert_eq!(buddy.free_frames(), total);
        assert_eq!(buddy.free_blocks(), [0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 3]);

        assert_eq!(buddy.alloc(9), Some(0));
        assert_eq!(buddy.alloc(8), Some(3072));
        assert_eq!(buddy.alloc(8), Some(512));
        buddy.free(3072, 8);
        buddy.free(0, 9);
        buddy.free(512, 8);
        buddy.check_invariants();
        assert_eq!(buddy.free_blocks(), [0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 3]);

        let odd = BuddyAllocator::new(1_000_003);
        odd.check_invariants();
        assert_eq!(odd.free_frames(), 1_000_003);
    }

    #[test]
    fn large_models_construct_with_one_entry_per_max_block() {
        let buddy = BuddyAllocator::new(16 << 20); // 64 GiB of 4 KiB frames
        assert_eq!(buddy.free_blocks(), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16384]);
        assert_eq!(buddy.free_frames(), 16 << 20);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "double free")]
    fn double_free_is_caught() {
        let mut buddy = BuddyAllocator::new(64);
        let pfn = buddy.alloc(0).unwrap();
        buddy.free(pfn, 0);
        buddy.free(pfn, 0);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "double free")]
    fn free_of_partly_free_block_is_caught() {
        let mut buddy = BuddyAllocator::new(64);
        let pfn = buddy.alloc(0).unwrap();
        buddy.free(pfn, 1);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "reserved")]
    fn free_of_reserved_frame_is_caught() {
        let mut buddy = BuddyAllocator::new(64);
        buddy.reserve(0, 1);
        buddy.free(0, 0);
    }

    #[test]
    #[should_panic(expected = "not aligned")]
    fn misaligned_free_panics() {
        let mut buddy = BuddyAllocator::new(64);
        buddy.alloc(2).unwrap();
        buddy.free(2, 2);
    }

    /// Deterministic xorshift64 so failures reproduce without a seed log.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn assert_disjoint_insert(live: &mut BTreeMap<u64, u8>, pfn: u64, order: u8) {
        let end = pfn + block_frames(order);
        if let Some((&prev, &prev_order)) = live.range(..end).next_back() {
            assert!(
                prev + block_frames(prev_order) <= pfn,
                "block {pfn}/{order} overlaps live block {prev}/{prev_order}"
            );
        }
        live.insert(pfn, order);
    }

    #[test]
    fn randomized_alloc_free_keeps_invariants() {
        let configs: [(u64, &[(u64, u64)]); 4] = [
            (1024, &[]),
            (5000, &[(0, 1), (1, 1), (4095, 7)]),
            (3 * 1024 + 777, &[(100, 900), (2048, 1)]),
            (37, &[(36, 1)]),
        ];
        for (seed, &(total, reserves)) in (1u64..).zip(&configs) {
            let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ seed);
            let mut buddy = BuddyAllocator::new(total);
            for &(start, count) in reserves {
                buddy.reserve(start, count);
            }
            buddy.check_invariants();
            let initial_blocks = buddy.free_blocks();
            let initial_free = buddy.free_frames();
            let reserved_count: u64 = {
                let mut frames: Vec<u64> = reserves.iter().flat_map(|&(s, c)| s..s + c).collect();
                frames.sort_unstable();
                frames.dedup();
                frames.len() as u64
            };
            assert_eq!(initial_free, total - reserved_count);

            let mut live = BTreeMap::new();
            for step in 0..4000 {
                let grow = live.is_empty() || rng.below(100) < 55;
                if grow {
                    // Favour small orders, as real workloads do.
                    let order = (rng.below(u64::from(MAX_ORDER) + 1) * rng.below(4) / 3) as u8;
                    if let Some(pfn) = buddy.alloc(order) {
                        assert_eq!(pfn % block_frames(order), 0);
                        assert!(pfn + block_frames(order) <= total);
                        for &(start, count) in reserves {
                            assert!(pfn + block_frames(order) <= start || start + count <= pfn);
                        }
                        assert_disjoint_insert(&mut live, pfn, order);
                    } else {
                        assert!(buddy.free_blocks()[order as usize..].iter().all(|&n| n == 0));
                    }
                } else {
                    let nth = rng.below(live.len() as u64) as usize;
                    let (&pfn, &order) = live.iter().nth(nth).unwrap();
                    live.remove(&pfn);
                    buddy.free(pfn, order);
                }
                let live_frames: u64 = live.values().map(|&o| block_frames(o)).sum();
                assert_eq!(buddy.free_frames() + live_frames, initial_free);
                if step % 16 == 0 {
                    buddy.check_invariants();
                }
            }
            for (pfn, order) in std::mem::take(&mut live) {
                buddy.free(pfn, order);
            }
            buddy.check_invariants();
            assert_eq!(buddy.free_frames(), total - reserved_count);
            assert_eq!(buddy.free_blocks(), initial_blocks);
        }
    }
}
