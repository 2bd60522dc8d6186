//! Swap charged to memory cgroups: which swap slots count against which group, and the
//! limits on them.
//!
//! A slot records the group it is charged to ([`crate::swap::Slot::memcg`]): the group of
//! the page (anonymous or shmem) that was swapped out to it. When it counts differs between
//! the two interfaces, as it does in Linux:
//!
//! * **cgroup v2** keeps memory and swap apart. A slot is charged to the swap counter
//!   (`memory.swap.current`) from the moment it is allocated for a page (`add_to_swap`,
//!   `__mem_cgroup_try_charge_swap`) until it is freed, swap-cache page or not. A charge
//!   that would take the group or an ancestor over `memory.swap.max` is refused: the group
//!   counts `max` and `fail` in `memory.swap.events`, the slot is given back and the page
//!   stays in memory.
//! * **cgroup v1** has one memory+swap counter (`memory.memsw.usage_in_bytes`) that each
//!   page charge raises along with the memory counter. Swapping a page out moves its charge
//!   from memory to swap when the page leaves the swap cache (`mem_cgroup_swapout`), so a
//!   slot is charged only while no swap-cache page holds it; a page read back from swap
//!   takes the charge back from the slot (`mem_cgroup_swapin_uncharge_swap`). A page charge
//!   that would take memory+swap over `memory.memsw.limit_in_bytes` is refused before the
//!   memory limit is even looked at, and the reclaim it leads to may not swap (swapping
//!   does not lower memory+swap): only file pages can go, then the group OOMs. On the
//!   6.18 kernel this was written against, such a refusal does not count in
//!   `memory.memsw.failcnt` (only the memory counter keeps a failcnt; a probe as root
//!   showed it 0 after memsw-limited OOM kills).
//!
//! `swap_usage` in [`super::Memcg`] is hierarchical like `usage`: the slots charged to the
//! group or below.

use super::{CgroupVersion, Memcg, MemcgId, Memcgs, NO_LIMIT, ROOT_MEMCG};
use crate::swap::Slot;

/// The events of `memory.swap.events` (v2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SwapEvents {
    /// `high`: a task that charged memory found the group's swap above memory.swap.high on
    /// its way back (swap_find_max_overage).
    pub high: u64,
    /// `max`: a swap charge would have gone over memory.swap.max.
    pub max: u64,
    /// `fail`: a swap-out failed because of that.
    pub fail: u64,
}

impl Memcg {
    /// v1's memory+swap limit in pages (`memory.memsw.limit_in_bytes`); NO_LIMIT for none.
    pub fn memsw_max(&self) -> u64 {
        self.max.saturating_add(self.swap_max)
    }

    /// v1's memory+swap usage in pages.
    pub fn memsw_usage(&self) -> u64 {
        self.usage + self.swap_usage
    }

    /// Whether a charge of `pages` more memory would exceed the memory+swap limit.
    pub(super) fn memsw_full(&self, pages: u64) -> bool {
        let max = self.memsw_max();
        max != NO_LIMIT && self.memsw_usage().saturating_add(pages) > max
    }

    /// Notes the peaks after a page charge (the memory+swap counter is raised only then:
    /// a swap-out moves a charge from memory to swap without raising it).
    pub(super) fn note_watermarks(&mut self) {
        self.watermark = self.watermark.max(self.usage);
        self.memsw_watermark = self.memsw_watermark.max(self.memsw_usage());
    }
}

impl Memcgs {
    /// Whether `slot` holds a swap charge now (see the module text).
    pub fn slot_charged(&self, slot: &Slot) -> bool {
        match self.version {
            CgroupVersion::V2 => true,
            CgroupVersion::V1 => !slot.cached,
        }
    }

    /// Charges a slot newly allocated for a page of group `owner` (v2; v1 charges at
    /// swap-out, through [`Memcgs::slot_changed`]). Refused at the nearest group whose
    /// `memory.swap.max` it would exceed: `max` and `fail` are then counted in `owner` and
    /// its ancestors, as `__mem_cgroup_try_charge_swap` does.
    pub fn try_charge_swap(&mut self, owner: MemcgId) -> Result<(), super::OverLimit> {
        if owner == ROOT_MEMCG || self.version == CgroupVersion::V1 {
            return Ok(());
        }
        let chain = self.ancestry(owner);
        if let Some(&over) = chain.iter().find(|&&g| {
            let g = self.get(g).expect("memcg in ancestry");
            g.swap_usage.saturating_add(1) > g.swap_max
        }) {
            for g in chain.into_iter().filter(|&g| g != ROOT_MEMCG) {
                let e = &mut self.get_mut(g).swap_events;
                e.max += 1;
                e.fail += 1;
            }
            return Err(super::OverLimit(over));
        }
        self.swap_charge(owner, 1);
        Ok(())
    }

    /// Counts a `high` event in `memory.swap.events` of `id` and its ancestors below the
    /// root (memcg_memory_event of MEMCG_SWAP_HIGH).
    pub fn swap_high_event(&mut self, id: MemcgId) {
        for g in self.ancestry(id).into_iter().filter(|&g| g != ROOT_MEMCG) {
            self.get_mut(g).swap_events.high += 1;
        }
    }

    /// A slot changed from `before` to `after` (`None`: freed): its charge follows.
    pub fn slot_changed(&mut self, before: &Slot, after: Option<&Slot>) {
        if self.slot_charged(before) {
            self.swap_charge(before.memcg, -1);
        }
        if let Some(a) = after.filter(|a| self.slot_charged(a)) {
            self.swap_charge(a.memcg, 1);
        }
    }

    /// Adds `delta` slots to the swap charge of `id` and its ancestors.
    fn swap_charge(&mut self, id: MemcgId, delta: i64) {
        if id == ROOT_MEMCG || self.get(id).is_none() {
            return;
        }
        for g in self.ancestry(id) {
            let m = self.get_mut(g);
            debug_assert!(delta > 0 || m.swap_usage > 0, "memcg {g}: swap uncharged below zero");
            m.swap_usage = m.swap_usage.saturating_add_signed(delta);
            m.swap_watermark = m.swap_watermark.max(m.swap_usage);
        }
    }

    /// Whether reclaim on behalf of group `id` may swap (the group's part of
    /// `can_reclaim_anon_pages`): v2, while every group from `id` up has room under its
    /// `memory.swap.max`; v1, unless a group from `id` up has its memory+swap counter full
    /// (then the charge that asked for reclaim was refused there, and a swap-out would not
    /// lower it).
    pub fn may_swap(&self, id: MemcgId) -> bool {
        self.ancestry(id).into_iter().filter(|&g| g != ROOT_MEMCG).filter_map(|g| self.get(g)).all(|g| {
            match self.version {
                CgroupVersion::V2 => g.swap_usage < g.swap_max,
                CgroupVersion::V1 => !g.memsw_full(1),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Limit;
    use super::*;

    fn slot(cached: bool, count: u32, memcg: MemcgId) -> Slot {
        Slot { count, cached, memcg }
    }

    #[test]
    fn v2_charges_a_slot_from_allocation_to_free_and_refuses_past_swap_max() {
        let mut m = Memcgs::default();
        let a = m.create("a").unwrap();
        let b = m.create("a/b").unwrap();
        m.set_limit(a, Limit::SwapMax, 1);
        assert_eq!(m.try_charge_swap(b), Ok(()));
        assert_eq!((m.get(a).unwrap().swap_usage, m.get(b).unwrap().swap_usage), (1, 1));
        assert_eq!(m.try_charge_swap(b), Err(super::super::OverLimit(a)));
        assert_eq!(m.get(b).unwrap().swap_events, SwapEvents { high: 0, max: 1, fail: 1 });
        assert!(!m.may_swap(b));
        // Leaving the swap cache keeps the charge; freeing the slot drops it.
        m.slot_changed(&slot(true, 1, b), Some(&slot(false, 1, b)));
        assert_eq!(m.get(a).unwrap().swap_usage, 1);
        m.slot_changed(&slot(false, 1, b), None);
        assert_eq!((m.get(a).unwrap().swap_usage, m.get(a).unwrap().swap_watermark), (0, 1));
        assert!(m.may_swap(b));
    }

    #[test]
    fn v1_charges_a_slot_only_while_no_swap_cache_page_holds_it() {
        let mut m = Memcgs { version: CgroupVersion::V1, ..Memcgs::default() };
        let a = m.create("a").unwrap();
        m.set_limit(a, Limit::Max, 2);
        m.set_limit(a, Limit::SwapMax, 1);
        m.charge_to = a;
        assert_eq!(m.try_charge_swap(a), Ok(()), "v1 charges no swap at allocation");
        assert_eq!(m.get(a).unwrap().swap_usage, 0);
        m.try_charge(2).unwrap();
        // Swap-out: the slot is charged as its page leaves the cache, and the page's frame
        // is uncharged when freed.
        m.slot_changed(&slot(true, 1, a), Some(&slot(false, 1, a)));
        m.uncharge(a, 1);
        assert_eq!((m.get(a).unwrap().memsw_usage(), m.get(a).unwrap().memsw_watermark), (2, 2));
        assert!(m.may_swap(a));
        m.try_charge(1).unwrap();
        assert!(!m.may_swap(a), "memory+swap is full: swapping would not help");
        assert_eq!(m.try_charge(1), Err(super::super::OverLimit(a)));
        assert_eq!(m.get(a).unwrap().failcnt, 0, "a memsw refusal is not a memory failcnt");
        // Swap-in: the page takes the charge back from the slot.
        m.slot_changed(&slot(false, 1, a), Some(&slot(true, 0, a)));
        assert_eq!(m.get(a).unwrap().swap_usage, 0);
    }
}
