//! Memory cgroups: groups of tasks whose pages are charged against a limit of their own.
//!
//! Every frame the model hands out for user memory (anonymous, page-cache and shmem pages,
//! and the page tables that map them) is charged, when it is allocated, to the group of the
//! task that caused the allocation (Linux's `mem_cgroup_charge`, and `__GFP_ACCOUNT` for page
//! tables), and uncharged when the frame is freed, whichever task frees it. A charge counts
//! in the group and in every ancestor (`page_counter_try_charge` walks up the tree); it fails
//! at the nearest group whose `memory.max` it would exceed, and the caller then reclaims
//! inside that group and, failing that, runs the OOM killer on that group alone
//! ([`crate::oom`]).
//!
//! The root group has no limit, and frames charged to it are the machine's own (Linux does
//! not account the root group's `memory.current` either).
//!
//! [`Memcgs`] holds the groups; the kernel sets [`Memcgs::charge_to`] while it runs on behalf
//! of a task ([`crate::Kernel::charging_as`]).

pub mod files;
pub mod swap_charge;

pub use swap_charge::SwapEvents;

/// A memory cgroup's id: an index into [`Memcgs`]; 0 is the root group.
pub type MemcgId = u16;

/// The root group: every task starts in it; it has no limit.
pub const ROOT_MEMCG: MemcgId = 0;

/// "No limit" for a page count (Linux's PAGE_COUNTER_MAX, shown as `max`).
pub const NO_LIMIT: u64 = u64::MAX;

/// The events a group counts (`memory.events`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemcgEvents {
    /// `low`: reclaimed below memory.low (never: the model has no memory.low).
    pub low: u64,
    /// `high`: a charge left the group above memory.high.
    pub high: u64,
    /// `max`: a charge would have gone over memory.max.
    pub max: u64,
    /// `oom`: the group hit its limit and reclaim could not help, so the OOM killer ran.
    pub oom: u64,
    /// `oom_kill`: processes in the group killed by any OOM killer.
    pub oom_kill: u64,
}

/// Which event of [`MemcgEvents`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemcgEvent {
    /// `high`.
    High,
    /// `max`.
    Max,
    /// `oom`.
    Oom,
    /// `oom_kill`.
    OomKill,
}

impl MemcgEvents {
    fn bump(&mut self, e: MemcgEvent) {
        match e {
            MemcgEvent::High => self.high += 1,
            MemcgEvent::Max => self.max += 1,
            MemcgEvent::Oom => self.oom += 1,
            MemcgEvent::OomKill => self.oom_kill += 1,
        }
    }
}

/// One memory cgroup.
///
/// # Invariants
/// `usage` is the number of frames charged to this group or a descendant, `swap_usage` the
/// number of swap slots; `watermark` ≥ `usage`, `swap_watermark` ≥ `swap_usage`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Memcg {
    /// Its path below the hierarchy's root, without a leading slash ("" for the root).
    pub path: String,
    /// Its parent (None for the root).
    pub parent: Option<MemcgId>,
    /// `memory.max` (v1 `memory.limit_in_bytes`) in pages.
    pub max: u64,
    /// `memory.high` in pages.
    pub high: u64,
    /// `memory.swap.max` in pages (v1: `memory.memsw.limit_in_bytes` less `max`).
    pub swap_max: u64,
    /// `memory.swap.high` in pages (v2): above it, a task that charges memory counts a
    /// `high` swap event on its way back (and is throttled; see `handle_over_high`).
    pub swap_high: u64,
    /// Pages charged here or below (`memory.current`, v1 `memory.usage_in_bytes`).
    pub usage: u64,
    /// The highest `usage` reached (`memory.peak`, v1 `memory.max_usage_in_bytes`).
    pub watermark: u64,
    /// Charges refused at this group's limit (v1 `memory.failcnt`).
    pub failcnt: u64,
    /// Swap slots charged to this group or below (`memory.swap.current`; v1 counts them in
    /// `memory.memsw.usage_in_bytes`); see [`swap_charge`].
    pub swap_usage: u64,
    /// The highest `swap_usage` reached (`memory.swap.peak`).
    pub swap_watermark: u64,
    /// The highest `usage + swap_usage` a page charge reached (v1
    /// `memory.memsw.max_usage_in_bytes`).
    pub memsw_watermark: u64,
    /// `memory.swap.events` of this group and its descendants.
    pub swap_events: SwapEvents,
    /// Events in this group and its descendants (`memory.events`).
    pub events: MemcgEvents,
    /// Events of this group alone (`memory.events.local`).
    pub events_local: MemcgEvents,
    /// Pages charged to this group itself since it was made (v1 `pgpgin`).
    pub pgpgin: u64,
    /// Pages uncharged from it (v1 `pgpgout`).
    pub pgpgout: u64,
    /// Page faults of its tasks (`pgfault`).
    pub pgfault: u64,
    /// Major faults of its tasks (`pgmajfault`).
    pub pgmajfault: u64,
    /// v1 `memory.swappiness`, how its reclaim weighs anonymous memory against file
    /// memory: its parent's when it was made (the root's is the machine's `vm.swappiness`,
    /// [`crate::Kernel::memcg_swappiness`]); later changes above it do not reach it
    /// (measured on 6.18). v2 has no such file: its reclaim uses the machine's.
    pub swappiness: u32,
}

impl Memcg {
    fn new(path: String, parent: Option<MemcgId>) -> Self {
        Memcg {
            path,
            parent,
            max: NO_LIMIT,
            high: NO_LIMIT,
            swap_max: NO_LIMIT,
            swap_high: NO_LIMIT,
            usage: 0,
            watermark: 0,
            failcnt: 0,
            swap_usage: 0,
            swap_watermark: 0,
            memsw_watermark: 0,
            swap_events: SwapEvents::default(),
            events: MemcgEvents::default(),
            events_local: MemcgEvents::default(),
            pgpgin: 0,
            pgpgout: 0,
            pgfault: 0,
            pgmajfault: 0,
            swappiness: 60,
        }
    }
}

/// Which interface the cgroup file system shows (`set cgroup 1|2` in scenarios).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CgroupVersion {
    /// cgroup v1: the memory controller mounted at `/sys/fs/cgroup/memory`.
    V1,
    /// cgroup v2: the unified hierarchy at `/sys/fs/cgroup`.
    V2,
}

impl CgroupVersion {
    /// Where the memory controller's hierarchy is mounted.
    pub fn mount(self) -> &'static str {
        match self {
            CgroupVersion::V1 => "/sys/fs/cgroup/memory",
            CgroupVersion::V2 => "/sys/fs/cgroup",
        }
    }
}

/// Why a charge was refused: the group whose limit it hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverLimit(pub MemcgId);

/// Every memory cgroup of the machine, and the one being charged.
#[derive(Clone, Debug)]
pub struct Memcgs {
    groups: Vec<Option<Memcg>>,
    /// The group new frames are charged to: the current task's while the kernel works for a
    /// task, else the root.
    pub charge_to: MemcgId,
    /// The group the last refused charge hit (read by the OOM path after a failed
    /// allocation).
    pub last_refusal: Option<OverLimit>,
    /// The interface shown.
    pub version: CgroupVersion,
}

impl Default for Memcgs {
    fn default() -> Self {
        Memcgs {
            groups: vec![Some(Memcg::new(String::new(), None))],
            charge_to: ROOT_MEMCG,
            last_refusal: None,
            version: CgroupVersion::V2,
        }
    }
}

impl Memcgs {
    /// The group with this id.
    pub fn get(&self, id: MemcgId) -> Option<&Memcg> {
        self.groups.get(usize::from(id)).and_then(|g| g.as_ref())
    }

    /// A write to one of v1's reset files: `memory.max_usage_in_bytes` and
    /// `memory.memsw.max_usage_in_bytes` restart their peak from the current usage,
    /// `memory.failcnt` from 0 (`memory.memsw.failcnt`, which the model keeps at 0 as Linux
    /// 6.18 does, has nothing to reset).
    pub fn reset_v1(&mut self, id: MemcgId, file: &str) {
        let g = self.get_mut(id);
        match file {
            "memory.max_usage_in_bytes" => g.watermark = g.usage,
            "memory.memsw.max_usage_in_bytes" => g.memsw_watermark = g.usage + g.swap_usage,
            "memory.failcnt" => g.failcnt = 0,
            _ => {}
        }
    }

    fn get_mut(&mut self, id: MemcgId) -> &mut Memcg {
        self.groups[usize::from(id)].as_mut().expect("dangling memcg id")
    }

    /// Every live group with its id, the root first, then in creation order.
    pub fn iter(&self) -> impl Iterator<Item = (MemcgId, &Memcg)> + '_ {
        self.groups.iter().enumerate().filter_map(|(i, g)| g.as_ref().map(|g| (i as MemcgId, g)))
    }

    /// Whether any group besides the root exists (otherwise nothing is ever refused).
    pub fn any_limits(&self) -> bool {
        self.groups.len() > 1
    }

    /// The group at `path` (relative to the hierarchy's root, no leading or trailing slash).
    pub fn lookup(&self, path: &str) -> Option<MemcgId> {
        self.iter().find(|(_, g)| g.path == path).map(|(i, _)| i)
    }

    /// `id` and its ancestors up to the root, nearest first.
    pub fn ancestry(&self, id: MemcgId) -> Vec<MemcgId> {
        self.ancestors(id).collect()
    }

    /// [`Memcgs::ancestry`] as it is walked, with nothing allocated (every fault asks).
    pub fn ancestors(&self, id: MemcgId) -> impl Iterator<Item = MemcgId> + '_ {
        std::iter::successors(Some(id), move |&g| self.get(g).and_then(|g| g.parent))
    }

    /// Whether `id` is `ancestor` or lies below it.
    pub fn is_descendant(&self, id: MemcgId, ancestor: MemcgId) -> bool {
        self.ancestry(id).contains(&ancestor)
    }

    /// The direct children of `id`.
    pub fn children(&self, id: MemcgId) -> impl Iterator<Item = MemcgId> + '_ {
        self.iter().filter(move |(_, g)| g.parent == Some(id)).map(|(i, _)| i)
    }

    /// `mkdir`: a new group at `path` under its existing parent. EEXIST if it exists,
    /// ENOENT without a parent, ENOSPC when 65535 groups exist.
    pub fn create(&mut self, path: &str) -> Result<MemcgId, abi::Errno> {
        if path.is_empty() || self.lookup(path).is_some() {
            return Err(abi::Errno::EEXIST);
        }
        let parent_path = path.rsplit_once('/').map_or("", |(p, _)| p);
        let parent = self.lookup(parent_path).ok_or(abi::Errno::ENOENT)?;
        let g = Memcg::new(path.to_string(), Some(parent));
        match self.groups.iter().position(|g| g.is_none()) {
            Some(i) => {
                self.groups[i] = Some(g);
                Ok(i as MemcgId)
            }
            None if self.groups.len() < usize::from(MemcgId::MAX) => {
                self.groups.push(Some(g));
                Ok((self.groups.len() - 1) as MemcgId)
            }
            None => Err(abi::Errno::ENOSPC),
        }
    }

    /// `rmdir`: removes an empty group (the caller checks it has no tasks: EBUSY). Its
    /// remaining charges (pages its tasks left in the page cache) move to the parent, as
    /// Linux reparents the charges of an offlined group.
    pub fn remove(&mut self, id: MemcgId) -> Result<MemcgId, abi::Errno> {
        let g = self.get(id).ok_or(abi::Errno::ENOENT)?;
        let parent = g.parent.ok_or(abi::Errno::EBUSY)?;
        if self.children(id).next().is_some() {
            return Err(abi::Errno::EBUSY);
        }
        self.groups[usize::from(id)] = None;
        if self.charge_to == id {
            self.charge_to = parent;
        }
        Ok(parent)
    }

    /// Charges one page to `charge_to` and its ancestors, or refuses it at the nearest group
    /// whose limit it would exceed (counting a `max` event and a failure there). Returns the
    /// group charged.
    pub fn try_charge(&mut self, pages: u64) -> Result<MemcgId, OverLimit> {
        let id = self.charge_to;
        if id == ROOT_MEMCG {
            return Ok(id);
        }
        let chain = self.ancestry(id);
        // v1 tries the memory+swap counter first; a refusal there counts no failcnt
        // (see swap_charge).
        let memsw_over = (self.version == CgroupVersion::V1)
            .then(|| chain.iter().copied().find(|&g| self.get(g).expect("memcg in ancestry").memsw_full(pages)))
            .flatten();
        let over = memsw_over.or_else(|| {
            let over = chain.iter().copied().find(|&g| {
                let g = self.get(g).expect("memcg in ancestry");
                g.usage.saturating_add(pages) > g.max
            })?;
            self.get_mut(over).failcnt += 1;
            Some(over)
        });
        if let Some(over) = over {
            self.event(over, MemcgEvent::Max);
            self.last_refusal = Some(OverLimit(over));
            return Err(OverLimit(over));
        }
        for g in chain {
            let m = self.get_mut(g);
            m.usage += pages;
            m.note_watermarks();
        }
        self.get_mut(id).pgpgin += pages;
        Ok(id)
    }

    /// Gives back `pages` charged to `id` (the frame's group, recorded at allocation).
    pub fn uncharge(&mut self, id: MemcgId, pages: u64) {
        if id == ROOT_MEMCG {
            return;
        }
        self.get_mut(id).pgpgout += pages;
        for g in self.ancestry(id) {
            let m = self.get_mut(g);
            debug_assert!(m.usage >= pages, "memcg {g} uncharged below zero");
            m.usage = m.usage.saturating_sub(pages);
        }
    }

    /// The groups among `id` and its ancestors whose swap usage is above memory.swap.high.
    pub fn above_swap_high(&self, id: MemcgId) -> Vec<MemcgId> {
        self.ancestors(id)
            .filter(|&g| g != ROOT_MEMCG)
            .filter(|&g| self.get(g).is_some_and(|m| m.swap_usage > m.swap_high))
            .collect()
    }

    /// The groups among `id` and its ancestors whose usage is above memory.high.
    pub fn above_high(&self, id: MemcgId) -> Vec<(MemcgId, u64)> {
        self.ancestors(id)
            .filter(|&g| g != ROOT_MEMCG)
            .filter_map(|g| {
                let m = self.get(g)?;
                (m.usage > m.high).then(|| (g, m.usage - m.high))
            })
            .collect()
    }

    /// Counts `e` in `id` (local) and in `id` and each ancestor below the root
    /// (memcg_memory_event).
    pub fn event(&mut self, id: MemcgId, e: MemcgEvent) {
        if id == ROOT_MEMCG {
            return;
        }
        self.get_mut(id).events_local.bump(e);
        for g in self.ancestry(id) {
            if g != ROOT_MEMCG {
                self.get_mut(g).events.bump(e);
            }
        }
    }

    /// Counts `n` page faults of tasks in `id`, all major ones if `major`.
    pub fn count_faults(&mut self, id: MemcgId, n: u64, major: bool) {
        if let Some(Some(g)) = self.groups.get_mut(usize::from(id)) {
            g.pgfault += n;
            if major {
                g.pgmajfault += n;
            }
        }
    }

    /// Sets group `id`'s v1 `memory.swappiness`.
    pub fn set_swappiness(&mut self, id: MemcgId, value: u32) {
        self.get_mut(id).swappiness = value;
    }

    /// Sets a limit in pages.
    pub fn set_limit(&mut self, id: MemcgId, which: Limit, pages: u64) {
        let g = self.get_mut(id);
        match which {
            Limit::Max => g.max = pages,
            Limit::High => g.high = pages,
            Limit::SwapMax => g.swap_max = pages,
            Limit::SwapHigh => g.swap_high = pages,
        }
    }
}

/// The limits a group has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// `memory.max`.
    Max,
    /// `memory.high`.
    High,
    /// `memory.swap.max`.
    SwapMax,
    /// `memory.swap.high`.
    SwapHigh,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_charge_counts_up_the_tree_and_is_refused_at_the_nearest_full_group() {
        let mut m = Memcgs::default();
        let a = m.create("a").unwrap();
        let b = m.create("a/b").unwrap();
        assert_eq!(m.create("x/y"), Err(abi::Errno::ENOENT));
        assert_eq!(m.create("a"), Err(abi::Errno::EEXIST));
        m.set_limit(a, Limit::Max, 3);
        m.set_limit(b, Limit::Max, 10);
        m.charge_to = b;
        for _ in 0..3 {
            assert_eq!(m.try_charge(1), Ok(b));
        }
        assert_eq!(m.try_charge(1), Err(OverLimit(a)));
        assert_eq!((m.get(a).unwrap().usage, m.get(b).unwrap().usage), (3, 3));
        assert_eq!(m.get(a).unwrap().events.max, 1);
        assert_eq!(m.get(b).unwrap().events.max, 0, "the event is counted where the limit was hit and above");
        m.uncharge(b, 2);
        assert_eq!((m.get(a).unwrap().usage, m.get(b).unwrap().watermark), (1, 3));
        assert_eq!(m.remove(a), Err(abi::Errno::EBUSY), "a group with children stays");
        assert_eq!(m.remove(b), Ok(a));
        assert_eq!(m.charge_to, a);
    }
}
