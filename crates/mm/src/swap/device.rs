//! One swap device (a swap file or partition): its slots, their reference counts
//! (Linux's `swap_map`), the bytes written to them, and the allocator that picks a free
//! slot.
//!
//! # Slot allocation
//! Linux (mm/swapfile.c, 6.x) groups slots in clusters of 512 (`SWAPFILE_CLUSTER`). On a
//! rotational disk, as this machine's, every CPU shares one allocation cursor
//! (`si->global_cluster`): the next free slot at or after the cursor in the cursor's
//! cluster; when that cluster has none, a new cluster is taken, a partly used one first
//! (the "nonfull" list, oldest first), else a free one (ascending at first, freed ones
//! queued behind). Slot 0 holds the swap header, so cluster 0 starts partly used and the
//! first slot handed out is 1. Slots freed behind the cursor are therefore not reused
//! until the cursor has left their cluster (measured: pages out at slots 1-8, unmapped,
//! the next pages out go to 9, 10, ...), or no other cluster is left: then the clusters
//! with holes are scanned from their start (a swap file of one cluster, its cursor at the
//! end, takes the slots freed behind it). The model follows these rules; Linux's
//! fragment lists for large folios and discards do not arise (4 KiB pages only).

use std::collections::{BTreeMap, VecDeque};

/// Slots per cluster.
pub const SWAPFILE_CLUSTER: u64 = 512;

/// What [`SwapDevice::pick_slot`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// A free slot, now taken.
    Free(u64),
    /// A slot only the swap cache holds, not taken.
    CacheOnly(u64),
}

/// One slot in use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Slot {
    /// Swap PTEs and shmem entries that refer to the slot (the count in `swap_map`).
    pub count: u32,
    /// A page of the swap cache holds the slot (`SWAP_HAS_CACHE`).
    pub cached: bool,
    /// The memory cgroup the slot is charged to, when it holds a charge (`swap_cgroup`):
    /// the group of the page swapped out (see [`crate::memcg::swap_charge`]).
    pub memcg: crate::memcg::MemcgId,
}

/// An active swap device.
#[derive(Clone, Debug)]
pub struct SwapDevice {
    /// The path given to swapon.
    pub path: String,
    /// Whether it is a block device ("partition" in /proc/swaps) or a file.
    pub partition: bool,
    /// Slots including the header (`si->max`).
    pub max: u64,
    /// Priority: higher is used first.
    pub prio: i32,
    /// The slots in use and the bytes last written to each, by cluster.
    slots: Slots,
    /// Used slots of each cluster that has any (the header counts).
    cluster_used: BTreeMap<u64, u64>,
    /// The allocation cursor: the next slot to try.
    next: Option<u64>,
    /// Partly used clusters not under the cursor, oldest first.
    nonfull: VecDeque<u64>,
    /// Clusters never used yet start here (ascending).
    fresh: u64,
    /// Clusters that became empty again, in the order they did.
    freed: VecDeque<u64>,
}

impl SwapDevice {
    /// A device of `pages` pages (header included), as swapon finds it after mkswap.
    pub fn new(path: &str, pages: u64, prio: i32, partition: bool) -> SwapDevice {
        let mut d = SwapDevice {
            path: path.to_string(),
            partition,
            max: pages,
            prio,
            slots: Slots::default(),
            cluster_used: BTreeMap::new(),
            next: None,
            nonfull: VecDeque::new(),
            fresh: 1,
            freed: VecDeque::new(),
        };
        // The header slot is never handed out: its cluster starts partly used.
        d.cluster_used.insert(0, 1);
        if pages > 1 {
            d.nonfull.push_back(0);
        }
        d
    }

    /// Usable slots (`si->pages`): all but the header.
    pub fn pages(&self) -> u64 {
        self.max.saturating_sub(1)
    }

    /// Slots in use (`si->inuse_pages`).
    pub fn inuse(&self) -> u64 {
        self.slots.len
    }

    /// The state of `offset`, if in use.
    pub fn slot(&self, offset: u64) -> Option<Slot> {
        self.slots.get(offset).map(|e| e.slot)
    }

    /// Every slot in use, in offset order.
    pub fn slots(&self) -> impl Iterator<Item = (u64, Slot)> + '_ {
        self.slots.iter().map(|(o, e)| (o, e.slot))
    }

    fn clusters(&self) -> u64 {
        self.max.div_ceil(SWAPFILE_CLUSTER)
    }

    fn cluster_end(&self, c: u64) -> u64 {
        ((c + 1) * SWAPFILE_CLUSTER).min(self.max)
    }

    /// The first slot of cluster `c` at or after `from` that is free, or (with
    /// `reuse_cached`) that only the swap cache holds: `(offset, cache_only)`.
    fn scan(&self, c: u64, from: u64, reuse_cached: bool) -> Option<(u64, bool)> {
        let end = self.cluster_end(c);
        let o = from.max(c * SWAPFILE_CLUSTER).max(1);
        (o..end).find_map(|o| match self.slots.get(o) {
            None => Some((o, false)),
            Some(e) if reuse_cached && e.slot.count == 0 && e.slot.cached => Some((o, true)),
            Some(_) => None,
        })
    }

    /// Allocates a free slot for the swap cache (count 0, cached); `None` when full.
    pub fn alloc_slot(&mut self) -> Option<u64> {
        match self.pick_slot(false)? {
            Pick::Free(o) => Some(o),
            Pick::CacheOnly(_) => unreachable!("a cache-only slot picked without reuse"),
        }
    }

    /// The allocator's walk: the first slot at or after the cursor in its cluster, then in
    /// the clusters the lists give, that is free (taken, as [`SwapDevice::alloc_slot`]) or,
    /// with `reuse_cached`, that only the swap cache holds (returned untaken: the caller
    /// takes the page out of the swap cache, then [`SwapDevice::take_slot`]). Linux's
    /// cluster_scan_range reclaims such a slot where its scan meets it while swap is more
    /// than half full (`vm_swap_full`), before any free slot further on.
    pub fn pick_slot(&mut self, reuse_cached: bool) -> Option<Pick> {
        let mut found = self.next.and_then(|n| self.scan(n / SWAPFILE_CLUSTER, n, reuse_cached));
        while found.is_none() {
            let c = if let Some(c) = self.nonfull.pop_front() {
                c
            } else if self.fresh < self.clusters() {
                self.fresh += 1;
                self.fresh - 1
            } else if let Some(c) = self.freed.pop_front() {
                c
            } else {
                // Last, the clusters with holes that no list holds: those freed behind
                // the cursor, the cursor's own among them (Linux's fragment clusters, tried
                // after the free ones). Measured: a swap file of one cluster, its cursor
                // at the end, takes the slots freed behind it rather than fail.
                let holes = (0..self.clusters()).find(|&c| {
                    self.cluster_used.get(&c).copied().unwrap_or(0) < self.cluster_end(c) - c * SWAPFILE_CLUSTER
                })?;
                holes
            };
            found = self.scan(c, 0, reuse_cached);
        }
        let (o, cache_only) = found?;
        if cache_only {
            return Some(Pick::CacheOnly(o));
        }
        self.take_slot(o);
        Some(Pick::Free(o))
    }

    /// Takes the free slot `o` for the swap cache (count 0, cached), the cursor moving past
    /// it.
    pub fn take_slot(&mut self, o: u64) {
        debug_assert!(self.slots.get(o).is_none(), "slot {o} taken twice");
        self.slots.insert(o, Slot { count: 0, cached: true, memcg: crate::memcg::ROOT_MEMCG });
        *self.cluster_used.entry(o / SWAPFILE_CLUSTER).or_default() += 1;
        self.nonfull.retain(|&c| c != o / SWAPFILE_CLUSTER);
        // The cursor stays inside its cluster: past the end, the next allocation takes a
        // cluster from the lists.
        self.next = (!(o + 1).is_multiple_of(SWAPFILE_CLUSTER)).then_some(o + 1);
    }

    /// Changes a slot in use with `f`; frees it when no PTE and no cache page hold it any
    /// more. Returns the slot's new state (`None`: freed).
    pub fn update(&mut self, offset: u64, f: impl FnOnce(&mut Slot)) -> Option<Slot> {
        let s = &mut self.slots.get_mut(offset).expect("update of a free swap slot").slot;
        f(s);
        let s = *s;
        if s.count > 0 || s.cached {
            return Some(s);
        }
        self.slots.remove(offset);
        let c = offset / SWAPFILE_CLUSTER;
        let cursor_here = self.next.is_some_and(|n| n / SWAPFILE_CLUSTER == c && n < self.cluster_end(c));
        let size = self.cluster_end(c) - c * SWAPFILE_CLUSTER;
        let used = self.cluster_used.get_mut(&c).expect("cluster count of a used slot");
        let was_full = *used == size;
        *used -= 1;
        if *used == 0 {
            self.cluster_used.remove(&c);
            self.nonfull.retain(|&x| x != c);
            if !cursor_here {
                self.freed.push_back(c);
            }
        } else if was_full && !cursor_here {
            self.nonfull.push_back(c);
        }
        None
    }

    /// Moves the charge records of every slot charged to `from` to `to`.
    pub(crate) fn recharge_slots(&mut self, from: crate::memcg::MemcgId, to: crate::memcg::MemcgId) {
        for c in self.slots.clusters.iter_mut().flatten() {
            for e in c.entries.iter_mut().flatten().filter(|e| e.slot.memcg == from) {
                e.slot.memcg = to;
            }
        }
    }

    /// Stores the bytes of a page written to `offset`: `bytes` is the page, or a prefix of
    /// it when the rest is zero.
    pub fn write(&mut self, offset: u64, bytes: &[u8]) {
        let used = without_trailing_zeros(bytes).len();
        let e = self.slots.get_mut(offset).expect("a write to a free swap slot");
        e.data = (used > 0).then(|| bytes[..used].into());
    }

    /// The bytes stored at `offset` (trailing zeros omitted).
    pub fn read(&self, offset: u64) -> &[u8] {
        self.slots.get(offset).and_then(|e| e.data.as_deref()).unwrap_or(&[])
    }

    /// Host bytes held for page contents.
    pub fn data_bytes(&self) -> u64 {
        self.slots.iter().filter_map(|(_, e)| e.data.as_ref()).map(|b| b.len() as u64).sum()
    }

    /// Panics if the allocator's bookkeeping disagrees with the slots.
    pub fn check_invariants(&self) {
        let mut per_cluster: BTreeMap<u64, u64> = BTreeMap::new();
        per_cluster.insert(0, 1);
        let mut count = 0;
        for (o, e) in self.slots.iter() {
            let s = e.slot;
            assert!(o >= 1 && o < self.max, "swap slot {o} outside 1..{}", self.max);
            assert!(s.count > 0 || s.cached, "swap slot {o} held by nobody (leaked)");
            *per_cluster.entry(o / SWAPFILE_CLUSTER).or_default() += 1;
            count += 1;
        }
        assert_eq!(count, self.slots.len, "{}: slots in use miscounted", self.path);
        for (c, chunk) in self.slots.clusters.iter().enumerate() {
            if let Some(chunk) = chunk {
                let n = chunk.entries.iter().flatten().count() as u32;
                assert!(n > 0 && n == chunk.used, "{}: cluster {c} kept with {n} slots in use", self.path);
            }
        }
        assert_eq!(per_cluster, self.cluster_used, "{}: cluster counts disagree with the slots", self.path);
    }
}

/// A slot in use and the bytes last written to it, without trailing zeros (a zero page
/// keeps none).
#[derive(Clone, Debug)]
struct Entry {
    slot: Slot,
    data: Option<Box<[u8]>>,
}

/// The slots in use, a cluster's worth at a time: each cluster that has one keeps an array
/// of its 512 (Linux's `swap_map` is such an array over the whole device). A swap-out takes
/// a slot and writes it, and a swap-in or a fork updates its count, each an index instead of
/// a search of an ordered map (a MADV_PAGEOUT spent a third of its time there).
#[derive(Clone, Debug, Default)]
struct Slots {
    clusters: Vec<Option<Box<ClusterSlots>>>,
    /// Slots in use.
    len: u64,
}

#[derive(Clone, Debug)]
struct ClusterSlots {
    entries: [Option<Entry>; SWAPFILE_CLUSTER as usize],
    /// Entries in use.
    used: u32,
}

impl Slots {
    fn at(offset: u64) -> (usize, usize) {
        ((offset / SWAPFILE_CLUSTER) as usize, (offset % SWAPFILE_CLUSTER) as usize)
    }

    fn get(&self, offset: u64) -> Option<&Entry> {
        let (c, i) = Self::at(offset);
        self.clusters.get(c)?.as_ref()?.entries[i].as_ref()
    }

    fn get_mut(&mut self, offset: u64) -> Option<&mut Entry> {
        let (c, i) = Self::at(offset);
        self.clusters.get_mut(c)?.as_mut()?.entries[i].as_mut()
    }

    /// Puts `slot` in use at `offset` (free until now), with no bytes.
    fn insert(&mut self, offset: u64, slot: Slot) {
        let (c, i) = Self::at(offset);
        if self.clusters.len() <= c {
            self.clusters.resize_with(c + 1, || None);
        }
        let chunk = self.clusters[c]
            .get_or_insert_with(|| Box::new(ClusterSlots { entries: std::array::from_fn(|_| None), used: 0 }));
        debug_assert!(chunk.entries[i].is_none(), "slot {offset} taken twice");
        chunk.entries[i] = Some(Entry { slot, data: None });
        chunk.used += 1;
        self.len += 1;
    }

    /// Frees the slot at `offset` (in use) and its bytes; a cluster left empty gives back its
    /// array.
    fn remove(&mut self, offset: u64) {
        let (c, i) = Self::at(offset);
        let chunk = self.clusters[c].as_mut().expect("cluster of a slot in use");
        chunk.entries[i].take().expect("removal of a free swap slot");
        chunk.used -= 1;
        self.len -= 1;
        if chunk.used == 0 {
            self.clusters[c] = None;
        }
    }

    /// The slots in use, in offset order.
    fn iter(&self) -> impl Iterator<Item = (u64, &Entry)> + '_ {
        self.clusters.iter().enumerate().filter_map(|(c, chunk)| chunk.as_ref().map(|k| (c, k))).flat_map(|(c, k)| {
            k.entries
                .iter()
                .enumerate()
                .filter_map(move |(i, e)| e.as_ref().map(|e| (c as u64 * SWAPFILE_CLUSTER + i as u64, e)))
        })
    }
}

/// `bytes` up to its last byte that is not zero. Whole words are tested first: a page
/// written near its start is thousands of zeros, which a byte-at-a-time scan from the end
/// walks one by one.
fn without_trailing_zeros(bytes: &[u8]) -> &[u8] {
    const WORD: usize = std::mem::size_of::<u64>();
    let mut end = bytes.len();
    while end > 0 && end & (WORD - 1) != 0 && bytes[end - 1] == 0 {
        end -= 1;
    }
    if end & (WORD - 1) == 0 {
        let zero_words = bytes[..end]
            .chunks_exact(WORD)
            .rev()
            .take_while(|w| u64::from_ne_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]) == 0)
            .count();
        end -= zero_words * WORD;
    }
    while end > 0 && bytes[end - 1] == 0 {
        end -= 1;
    }
    &bytes[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_slots_follow_the_header_in_order() {
        let mut d = SwapDevice::new("/swap", 16384, -2, false);
        let got: Vec<u64> = (0..8).map(|_| d.alloc_slot().unwrap()).collect();
        assert_eq!(got, (1..=8).collect::<Vec<_>>());
        // Freed slots behind the cursor are not reused while it stays in their cluster.
        for o in 1..=8 {
            assert_eq!(d.update(o, |s| s.cached = false), None);
        }
        assert_eq!(d.alloc_slot(), Some(9));
        d.check_invariants();
    }

    #[test]
    fn a_full_device_refuses_and_frees_make_room() {
        let mut d = SwapDevice::new("/swap", 5, -2, false);
        let got: Vec<u64> = std::iter::from_fn(|| d.alloc_slot()).collect();
        assert_eq!(got, [1, 2, 3, 4]);
        d.update(2, |s| s.cached = false);
        assert_eq!(d.alloc_slot(), Some(2));
        assert_eq!(d.inuse(), 4);
        d.check_invariants();
    }

    #[test]
    fn a_file_of_one_cluster_takes_the_slots_freed_behind_its_cursor_at_the_end() {
        // 85 slots (340 KiB): the cursor runs to the end, then the holes are reused rather
        // than the device refusing (random swap script 550 put the rest on another file).
        let mut d = SwapDevice::new("/swap", 85, -2, false);
        for _ in 0..60 {
            d.alloc_slot().unwrap();
        }
        for o in 2..=11 {
            d.update(o, |s| s.cached = false);
        }
        let got: Vec<u64> = std::iter::from_fn(|| d.alloc_slot()).collect();
        let mut want: Vec<u64> = (61..85).collect();
        want.extend(2..=11);
        assert_eq!(got, want);
        d.check_invariants();
    }

    #[test]
    fn a_full_cluster_with_a_hole_is_reused_before_a_fresh_one() {
        let mut d = SwapDevice::new("/swap", 3 * SWAPFILE_CLUSTER, -2, false);
        for _ in 1..SWAPFILE_CLUSTER {
            d.alloc_slot().unwrap();
        }
        // Cluster 0 is full and the cursor left it: a slot freed there makes it the
        // first partly used cluster, taken before a fresh one.
        d.update(5, |s| s.cached = false);
        assert_eq!(d.alloc_slot(), Some(5));
        assert_eq!(d.alloc_slot(), Some(SWAPFILE_CLUSTER));
        d.update(7, |s| s.cached = false);
        assert_eq!(d.alloc_slot(), Some(SWAPFILE_CLUSTER + 1));
        d.check_invariants();
    }

    #[test]
    fn contents_keep_only_non_zero_bytes() {
        let mut d = SwapDevice::new("/swap", 64, 0, false);
        let o = d.alloc_slot().unwrap();
        let mut page = [0u8; 4096];
        page[10] = 7;
        d.write(o, &page);
        assert_eq!(d.read(o).len(), 11);
        assert_eq!(d.data_bytes(), 11);
        d.write(o, &[0; 4096]);
        assert_eq!(d.read(o), &[] as &[u8]);
    }

    #[test]
    fn trailing_zeros_go_at_every_length_and_position() {
        // Against the byte-at-a-time definition, for every length up to three words and
        // every position of the last byte that is not zero.
        for len in 0..=24 {
            for last in (0..len).map(Some).chain([None]) {
                let mut bytes = vec![0u8; len];
                if let Some(i) = last {
                    bytes[i] = 7;
                    bytes[..i].iter_mut().step_by(3).for_each(|b| *b = 1);
                }
                let expect = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
                assert_eq!(without_trailing_zeros(&bytes).len(), expect, "len {len}, last {last:?}");
            }
        }
        let mut page = vec![0u8; 4096];
        page[0] = 1;
        assert_eq!(without_trailing_zeros(&page), &[1]);
    }
}
