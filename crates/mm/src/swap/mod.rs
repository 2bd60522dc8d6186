//! Swap: devices, the swap cache, and the paths that move anonymous and shmem pages out
//! to a device and back.
//!
//! * [`entry`]: swap entries and the non-present PTEs that hold them;
//! * [`device`]: one device's slots, counts, contents and slot allocator;
//! * [`Swap`] (here): the active devices by priority and the swap cache, the pages that
//!   are both in memory and in a slot (`SwapCached`);
//! * `swapout`: `shrink_folio_list` for an anonymous page (`add_to_swap`,
//!   `try_to_unmap`, `pageout`), used by MADV_PAGEOUT and by reclaim;
//! * `swapin`: `do_swap_page` with VMA-based swap readahead, and MADV_WILLNEED;
//! * `shmem`: shmem pages (tmpfs, memfd, shared anonymous memory) out to swap and back;
//! * `swapfile`: the `swapon` and `swapoff` calls (`try_to_unuse`).
//!
//! # Counts
//! A slot is held by each swap PTE and each shmem object's entry that names it (its
//! count), and by the swap-cache page that holds its contents, if any. A swap-cache page
//! holds one frame reference of its own, like a page-cache page. A slot with neither is
//! free; a page in the swap cache that no PTE maps and whose slot nothing names is
//! reclaimable at once.

pub mod device;
pub mod entry;
pub(crate) mod shmem;
mod swapfile;
mod swapin;
pub mod swapout;
mod unseen;

pub use device::{Slot, SwapDevice, SWAPFILE_CLUSTER};
pub use entry::{is_swap_pte, SwapEntry, MAX_SWAPFILES};
pub use swapfile::SwapSpec;

use crate::frame::{Owner, PageFlags, Pfn};
use crate::memcg::{MemcgId, Memcgs};
use std::collections::BTreeMap;

/// The VMA-based swap readahead state of a VMA (`swap_readahead_info`). The model keeps
/// it beside the VMA, keyed by address space and VMA start; a VMA that never swapped in
/// starts with 4 hits (GET_SWAP_RA_VAL), so its first major fault reads a window of 8.
/// (The table is not updated when a VMA is split, merged or moved: Linux copies the value
/// to both halves of a split, the model keeps it with the part that keeps the start.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwapReadahead {
    /// The page (virtual page number) of the last major swap fault.
    pub prev_vpn: u64,
    /// The window used then, in pages.
    pub win: u64,
    /// Readahead pages found in the swap cache since.
    pub hits: u64,
}

impl Default for SwapReadahead {
    fn default() -> Self {
        SwapReadahead { prev_vpn: 0, win: 0, hits: 4 }
    }
}

/// The swap subsystem of a machine.
#[derive(Clone, Debug, Default)]
pub struct Swap {
    /// Active devices by swap type (index); `None` for a type not in use.
    pub devices: Vec<Option<SwapDevice>>,
    /// The devices with free slots, in the order allocation tries them (Linux's
    /// `swap_avail_head`): highest priority first, devices of one priority in turn, each
    /// moved behind the others of its priority when an allocation tries it (on this
    /// machine's rotational disk every allocation takes that slow path: measured, five
    /// pages out to two swap files of one priority go 3 and 2).
    avail: Vec<u8>,
    /// The swap cache: slot → page. Hashed: each page swapped out goes in and out of it,
    /// and an ordered map's insert was a quarter of a MADV_PAGEOUT's time.
    cache: rustc_hash::FxHashMap<SwapEntry, Pfn>,
    /// The slot of each swap-cache page (`folio->swap`).
    slot_of: rustc_hash::FxHashMap<Pfn, SwapEntry>,
    /// Swap-cache pages brought in by readahead and not yet used (`PG_readahead`).
    readahead: std::collections::BTreeSet<Pfn>,
    /// Readahead state per (address space, VMA start).
    pub ra: BTreeMap<(crate::mm_table::MmId, u64), SwapReadahead>,
    /// The machine-wide state of the slot-based readahead that shmem swap-ins use
    /// (`swapin_nr_pages`'s `prev_offset`, `last_readahead_pages` and
    /// `swapin_readahead_hits`): `prev_vpn` holds the slot offset of the last major fault.
    pub cluster_ra: SwapReadahead,
    /// The priority the next swapon without one gets (Linux starts at -2 and counts down).
    pub least_priority: i32,
    /// vmstat pswpin: pages read from swap.
    pub pswpin: u64,
    /// vmstat pswpout: pages written to swap.
    pub pswpout: u64,
    /// vmstat swap_ra: pages read ahead.
    pub swap_ra: u64,
    /// vmstat swap_ra_hit: read-ahead pages later used.
    pub swap_ra_hit: u64,
}

impl Swap {
    /// No device.
    pub fn new() -> Swap {
        Swap { least_priority: -1, cluster_ra: SwapReadahead { prev_vpn: 0, win: 0, hits: 0 }, ..Swap::default() }
    }

    /// Forgets the readahead state of a torn-down address space (its id may be reused).
    pub(crate) fn forget_mm(&mut self, id: crate::mm_table::MmId) {
        self.ra.retain(|&(m, _), _| m != id);
    }

    /// The device of swap type `t`.
    pub fn device(&self, t: u8) -> Option<&SwapDevice> {
        self.devices.get(t as usize).and_then(|d| d.as_ref())
    }

    fn device_mut(&mut self, t: u8) -> &mut SwapDevice {
        self.devices[t as usize].as_mut().expect("swap entry of an inactive device")
    }

    /// Total usable slots (SwapTotal in pages).
    pub fn total_pages(&self) -> u64 {
        self.devices.iter().flatten().map(|d| d.pages()).sum()
    }

    /// Free slots (SwapFree in pages).
    pub fn free_pages(&self) -> u64 {
        self.devices.iter().flatten().map(|d| d.pages() - d.inuse()).sum()
    }

    /// Pages in the swap cache (SwapCached).
    pub fn cached_pages(&self) -> u64 {
        self.cache.len() as u64
    }

    /// Whether more than half of swap is in use (`vm_swap_full`): then pages swapped back
    /// in give their slots up at once.
    pub fn vm_swap_full(&self) -> bool {
        self.free_pages() * 2 < self.total_pages()
    }

    /// The swap-cache page holding `e`, if any.
    pub fn lookup(&self, e: SwapEntry) -> Option<Pfn> {
        self.cache.get(&e).copied()
    }

    /// The slot whose contents the swap-cache page `pfn` holds, if it is one.
    pub fn slot_of(&self, pfn: Pfn) -> Option<SwapEntry> {
        self.slot_of.get(&pfn).copied()
    }

    /// Every page of the swap cache with its slot, in slot order.
    pub fn cache_iter(&self) -> impl Iterator<Item = (SwapEntry, Pfn)> + '_ {
        let mut all: Vec<(SwapEntry, Pfn)> = self.cache.iter().map(|(&e, &p)| (e, p)).collect();
        all.sort_unstable();
        all.into_iter()
    }

    /// The count of swap PTEs and shmem entries naming `e` (0 for a free or cache-only
    /// slot).
    pub fn count(&self, e: SwapEntry) -> u32 {
        self.device(e.swap_type).and_then(|d| d.slot(e.offset)).map_or(0, |s| s.count)
    }

    /// Allocates a slot on the highest-priority device with room (`folio_alloc_swap`),
    /// marked as held by the swap cache, for a page of group `owner`, and charges it
    /// (v2): `None` when no device has room or the charge is refused (the slot is then
    /// given back).
    pub(crate) fn alloc(
        &mut self,
        memcgs: &mut Memcgs,
        owner: MemcgId,
        page_memcg: impl Fn(Pfn) -> MemcgId,
        reclaimed: &mut Vec<Pfn>,
    ) -> Option<SwapEntry> {
        let mut found = None;
        for t in self.avail.clone() {
            self.avail_requeue(t);
            // More than half of all swap in use: a slot only the swap cache holds is taken
            // where the scan meets it, its page leaving the swap cache (cluster_scan_range,
            // then __try_to_reclaim_swap, which dirties the page).
            let reuse = self.vm_swap_full();
            let offset = match self.device_mut(t).pick_slot(reuse) {
                Some(device::Pick::Free(o)) => Some(o),
                Some(device::Pick::CacheOnly(o)) => {
                    let e = SwapEntry { swap_type: t, offset: o };
                    let pfn = self.cache[&e];
                    self.cache_remove(memcgs, pfn, page_memcg(pfn));
                    reclaimed.push(pfn);
                    self.device_mut(t).take_slot(o);
                    Some(o)
                }
                None => None,
            };
            let d = self.device_mut(t);
            if d.inuse() >= d.pages() {
                self.avail_remove(t);
            }
            if let Some(offset) = offset {
                found = Some(SwapEntry { swap_type: t, offset });
                break;
            }
        }
        let e = found?;
        self.device_mut(e.swap_type).update(e.offset, |s| s.memcg = owner);
        if memcgs.try_charge_swap(owner).is_err() {
            self.release(e, |s| s.cached = false);
            return None;
        }
        Some(e)
    }

    /// Puts active device `t` on the list allocation tries, behind the devices of its
    /// priority and above (`add_to_avail_list`: a swapon, a full device with a slot free).
    pub(crate) fn avail_add(&mut self, t: u8) {
        if self.avail.contains(&t) {
            return;
        }
        let prio = self.device_mut(t).prio;
        let at = self.avail.iter().position(|&u| self.devices[u as usize].as_ref().is_some_and(|d| d.prio < prio));
        self.avail.insert(at.unwrap_or(self.avail.len()), t);
    }

    /// Takes device `t` off the list allocation tries (full, or being swapped off).
    pub(crate) fn avail_remove(&mut self, t: u8) {
        self.avail.retain(|&u| u != t);
    }

    /// Moves device `t` behind the other devices of its priority (`plist_requeue`).
    fn avail_requeue(&mut self, t: u8) {
        self.avail_remove(t);
        self.avail_add(t);
    }

    /// Changes slot `e` with `f` on its device alone; a full device with a slot freed
    /// takes pages again.
    fn release(&mut self, e: SwapEntry, f: impl FnOnce(&mut Slot)) -> Option<Slot> {
        let d = self.device_mut(e.swap_type);
        let was_full = d.inuse() >= d.pages();
        let after = d.update(e.offset, f);
        if after.is_none() && was_full {
            self.avail_add(e.swap_type);
        }
        after
    }

    /// Changes slot `e` with `f`, moving its memory cgroup charge along.
    fn change(&mut self, memcgs: &mut Memcgs, e: SwapEntry, f: impl FnOnce(&mut Slot)) -> Option<Slot> {
        let before = self.device_mut(e.swap_type).slot(e.offset).expect("change of a free swap slot");
        let after = self.release(e, f);
        memcgs.slot_changed(&before, after.as_ref());
        after
    }

    /// Marks slot `e` as held by a swap-cache page again (a page read back from it); in v1
    /// the page takes the slot's charge.
    pub(crate) fn mark_cached(&mut self, memcgs: &mut Memcgs, e: SwapEntry) {
        self.change(memcgs, e, |s| s.cached = true);
    }

    /// Moves the charges of the slots charged to `from` to `to` (a removed group's parent).
    pub(crate) fn recharge_slots(&mut self, from: MemcgId, to: MemcgId) {
        for d in self.devices.iter_mut().flatten() {
            d.recharge_slots(from, to);
        }
    }

    /// Puts `pfn` in the swap cache as the page of `e` (whose slot is already marked cached).
    pub(crate) fn cache_insert(&mut self, e: SwapEntry, pfn: Pfn) {
        let old = self.cache.insert(e, pfn);
        debug_assert!(old.is_none(), "swap cache already holds {e:?}");
        self.slot_of.insert(pfn, e);
    }

    /// Takes `pfn`, a page of group `page_memcg`, out of the swap cache
    /// (`__delete_from_swap_cache`), releasing the cache's hold on the slot; the caller
    /// drops the frame reference. In v1 a slot still in use takes the page's charge then
    /// (`mem_cgroup_swapout`).
    pub(crate) fn cache_remove(&mut self, memcgs: &mut Memcgs, pfn: Pfn, page_memcg: MemcgId) -> SwapEntry {
        let e = self.slot_of.remove(&pfn).expect("page not in the swap cache");
        self.cache.remove(&e);
        self.readahead.remove(&pfn);
        let v1 = memcgs.version == crate::memcg::CgroupVersion::V1;
        self.change(memcgs, e, |s| {
            s.cached = false;
            if v1 {
                s.memcg = page_memcg;
            }
        });
        e
    }

    /// One more PTE names `e` (`swap_duplicate`).
    pub(crate) fn dup(&mut self, e: SwapEntry) {
        self.device_mut(e.swap_type).update(e.offset, |s| s.count += 1);
    }

    /// One PTE naming `e` fewer (`swap_free`). Returns the PTEs still naming it.
    pub(crate) fn put(&mut self, memcgs: &mut Memcgs, e: SwapEntry) -> u32 {
        self.change(memcgs, e, |s| s.count -= 1).map_or(0, |s| s.count)
    }

    /// Marks `pfn` as brought in by readahead.
    pub(crate) fn mark_readahead(&mut self, pfn: Pfn) {
        self.readahead.insert(pfn);
    }

    /// Clears the readahead mark of `pfn`; true if it had one (a readahead hit).
    pub(crate) fn take_readahead(&mut self, pfn: Pfn) -> bool {
        self.readahead.remove(&pfn)
    }

    /// Panics if the swap cache and the devices disagree: each cached page's slot is in
    /// use and marked cached, and each slot marked cached has its page.
    pub fn check_invariants(&self) {
        for d in self.devices.iter().flatten() {
            d.check_invariants();
        }
        // The allocation list: every active device with a free slot, once, by priority.
        let mut want: Vec<u8> =
            (0..self.devices.len() as u8).filter(|&t| self.device(t).is_some_and(|d| d.inuse() < d.pages())).collect();
        want.sort_unstable();
        let mut have = self.avail.clone();
        have.sort_unstable();
        assert_eq!(have, want, "the devices allocation tries are not the active ones with room");
        let prios: Vec<i32> = self.avail.iter().filter_map(|&t| self.device(t)).map(|d| d.prio).collect();
        assert!(prios.windows(2).all(|w| w[0] >= w[1]), "allocation order not by priority: {prios:?}");
        assert_eq!(self.cache.len(), self.slot_of.len(), "swap cache maps disagree");
        for (&e, &pfn) in &self.cache {
            assert_eq!(self.slot_of.get(&pfn), Some(&e), "swap cache page {pfn:#x} does not name {e:?}");
            let slot = self.device(e.swap_type).and_then(|d| d.slot(e.offset));
            assert!(slot.is_some_and(|s| s.cached), "swap cache page {pfn:#x}: slot {e:?} not marked cached");
        }
        for (t, d) in self.devices.iter().enumerate() {
            let Some(d) = d else { continue };
            for (o, s) in d.slots() {
                let e = SwapEntry { swap_type: t as u8, offset: o };
                assert_eq!(s.cached, self.cache.contains_key(&e), "{e:?}: cached flag without a cache page");
            }
        }
        for p in &self.readahead {
            assert!(self.slot_of.contains_key(p), "readahead mark on pfn {p:#x} outside the swap cache");
        }
    }
}

impl crate::machine::Machine {
    /// [`Swap::alloc`] for page `pfn`, charged to the page's group.
    pub(crate) fn swap_alloc(&mut self, pfn: Pfn) -> Option<SwapEntry> {
        let owner = self.frames.meta(pfn).memcg;
        let mut reclaimed = Vec::new();
        let (memcgs, page_memcg) = self.frames.memcgs_and_groups();
        let e = self.swap.alloc(memcgs, owner, page_memcg, &mut reclaimed);
        // Out of the swap cache (which loses its reference), the page is the only copy of
        // its contents: dirty, as folio_free_swap leaves it.
        for p in reclaimed {
            self.frames.meta_mut(p).flags |= PageFlags::DIRTY;
            self.frames.put(p);
        }
        e
    }

    /// Allocates the page slot `e`'s contents come back into, charged to the group the slot
    /// records while that group exists, whichever task faults (`mem_cgroup_swapin_charge_folio`
    /// looks the slot's record up first); otherwise to the group being charged.
    pub(crate) fn alloc_swapin(&mut self, e: SwapEntry, owner: Owner, flags: PageFlags) -> Option<Pfn> {
        let recorded = self.swap.device(e.swap_type).and_then(|d| d.slot(e.offset)).map(|s| s.memcg);
        let before = self.frames.memcgs.charge_to;
        if let Some(g) = recorded.filter(|&g| self.frames.memcgs.get(g).is_some()) {
            self.frames.memcgs.charge_to = g;
        }
        let pfn = self.frames.alloc(owner, flags);
        self.frames.memcgs.charge_to = before;
        pfn
    }

    /// [`Swap::cache_remove`] of page `pfn`.
    pub(crate) fn swap_cache_remove(&mut self, pfn: Pfn) -> SwapEntry {
        let page_memcg = self.frames.meta(pfn).memcg;
        self.swap.cache_remove(&mut self.frames.memcgs, pfn, page_memcg)
    }

    /// [`Swap::put`] of slot `e`.
    pub(crate) fn swap_put(&mut self, e: SwapEntry) -> u32 {
        self.swap.put(&mut self.frames.memcgs, e)
    }
}
