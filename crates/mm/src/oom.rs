//! The OOM killer: what happens when an allocation finds no free frame, or a memory cgroup
//! at its limit, and reclaim cannot make room.
//!
//! The protocol, as Linux runs it (mm/oom_kill.c, mm/memcontrol.c):
//! 1. An allocation fails: the buddy allocator is empty (a *global* OOM), or the charge
//!    would take a memory cgroup over `memory.max` (a *memcg* OOM, whose `max` event counts
//!    the refusal).
//! 2. Reclaim tries to free pages in that scope ([`Kernel::reclaim_for_allocation`], the
//!    LRU scan of [`crate::reclaim`]); if it frees some, the allocation is retried.
//! 3. Otherwise `out_of_memory` picks a victim among the tasks of the scope (every task, or
//!    the tasks of the cgroup and its descendants): the one with the highest
//!    [`Kernel::oom_badness`] — its resident pages, swap entries and page-table pages, plus
//!    `oom_score_adj` thousandths of the scope's memory. A task with `oom_score_adj` -1000
//!    is never chosen; on a tie the task met last (the newest) wins, as
//!    `select_bad_process` keeps a later equal score.
//! 4. The victim gets SIGKILL, and so does every other task sharing its address space; the
//!    kernel log gets Linux's report (the `invoked oom-killer` line, the task table, the
//!    `oom-kill:` constraint line and `Killed process ...`). Its address space is torn down
//!    at once (Linux's exit and oom_reaper do it moments later), freeing its frames; the
//!    parent sees a wait status of signal 9.
//! 5. The faulting task retries, unless it was the victim: then its access ends with
//!    [`crate::Signal::Kill`].
//!
//! Where Linux has no victim it panics (a global OOM) or retries the fault forever (a memcg
//! OOM); the model stops the access with SIGBUS instead and logs an `Oom` event.

use crate::config::Cap;
use crate::event::EventKind;
use crate::kernel::{Kernel, Pid};
use crate::layout::*;
use crate::memcg::{MemcgEvent, MemcgId, ROOT_MEMCG};
use crate::pages::PageCount;
use abi::{Errno, SysResult};
use std::fmt::Write;

/// Where memory ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OomScope {
    /// The whole machine: no free frame.
    Global,
    /// One memory cgroup at its limit.
    Memcg(MemcgId),
}

/// What [`Kernel::make_room`] achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Room {
    /// Memory was freed (by reclaim or by killing another task): retry the allocation.
    Retry,
    /// The task that needed the memory was the victim; it is gone.
    Killed,
    /// Nothing could be freed and no task could be killed.
    NoVictim,
}

/// `oom_score_adj` that makes a task unkillable.
pub const OOM_SCORE_ADJ_MIN: i16 = -1000;
/// The highest `oom_score_adj`.
pub const OOM_SCORE_ADJ_MAX: i16 = 1000;

/// Reclaim rounds a memcg charge retries before it invokes the OOM killer
/// (MAX_RECLAIM_RETRIES).
const MAX_RECLAIM_RETRIES: u32 = 16;

impl Kernel {
    /// The pages the OOM killer weighs a scope's badness against: RAM plus swap for the
    /// machine; the group's `memory.max` plus what it may swap for a cgroup
    /// (mem_cgroup_get_max), at least 1.
    pub fn oom_totalpages(&self, scope: OomScope) -> u64 {
        let swap = self.total_swap_pages();
        match scope {
            OomScope::Global => self.m.totalram_pages() + swap,
            OomScope::Memcg(id) => {
                let Some(g) = self.m.frames.memcgs.get(id) else { return 1 };
                let max = if g.max == crate::memcg::NO_LIMIT { self.m.totalram_pages() } else { g.max };
                max.saturating_add(g.swap_max.min(swap)).max(1)
            }
        }
    }

    /// Swap pages of the machine (total_swap_pages): every active device's usable slots.
    pub fn total_swap_pages(&self) -> u64 {
        self.m.swap.total_pages()
    }

    /// oom_badness: the task's resident pages, swap entries and page-table pages, plus
    /// `oom_score_adj` × (totalpages / 1000); None when the task may not be killed
    /// (`oom_score_adj` -1000, or already exited).
    pub fn oom_badness(&self, pid: Pid, totalpages: u64) -> Option<i64> {
        let t = self.tasks.get(&pid)?;
        let mm = self.mms.get(t.mm?)?;
        if t.oom_score_adj == OOM_SCORE_ADJ_MIN {
            return None;
        }
        let swapents = mm.rss.swap;
        let points = (mm.rss.total() + swapents + PageCount::new(self.m.pgtables_pages(mm))).as_u64() as i64;
        let adj = i64::from(t.oom_score_adj) * (totalpages / 1000) as i64;
        Some(points + adj)
    }

    /// `/proc/PID/oom_score`: the badness scaled to 0..2000 and then by 2/3, as
    /// proc_oom_score prints it (0 for an unkillable task). ESRCH for an unknown pid.
    pub fn oom_score(&self, pid: Pid) -> SysResult<u64> {
        self.tasks.get(&pid).ok_or(Errno::ESRCH)?;
        let total = self.oom_totalpages(OomScope::Global) as i64;
        Ok(match self.oom_badness(pid, total as u64) {
            Some(b) => ((1000 + b * 1000 / total) * 2 / 3).max(0) as u64,
            None => 0,
        })
    }

    /// `writer` writes `/proc/PID/oom_score_adj` of `pid`: -1000..=1000, else EINVAL. A
    /// writer without CAP_SYS_RESOURCE may not go below the task's floor (EACCES; measured:
    /// root without that capability cannot write -1000); one with it sets the floor too
    /// (__set_oom_adj). Every task sharing the address space takes the value (Linux keeps
    /// it per mm's users).
    pub fn set_oom_score_adj(&mut self, writer: Pid, pid: Pid, adj: i64) -> SysResult<()> {
        let t = self.tasks.get(&pid).filter(|t| t.exit_code.is_none()).ok_or(Errno::ESRCH)?;
        if !(i64::from(OOM_SCORE_ADJ_MIN)..=i64::from(OOM_SCORE_ADJ_MAX)).contains(&adj) {
            return Err(Errno::EINVAL);
        }
        let mm = t.mm;
        let floor = t.oom_score_adj_min;
        let capable = self.tasks.get(&writer).and_then(|w| w.mm).is_some_and(|id| self.capable(id, Cap::SysResource));
        if adj < i64::from(floor) && !capable {
            return Err(Errno::EACCES);
        }
        for t in self.tasks.values_mut().filter(|t| t.pid == pid || (mm.is_some() && t.mm == mm)) {
            t.oom_score_adj = adj as i16;
            if capable {
                t.oom_score_adj_min = adj as i16;
            }
        }
        Ok(())
    }

    /// The task a scope's OOM kill would choose now (select_bad_process), if any.
    pub fn oom_victim(&self, scope: OomScope) -> Option<Pid> {
        let total = self.oom_totalpages(scope);
        let mut chosen: Option<(Pid, i64)> = None;
        let mut seen_mms = std::collections::BTreeSet::new();
        for t in self.tasks.values() {
            let Some(mm) = t.mm else { continue };
            // One candidate per address space: the other tasks using it are its threads.
            if !seen_mms.insert(mm) {
                continue;
            }
            if let OomScope::Memcg(g) = scope {
                if !self.m.frames.memcgs.is_descendant(t.memcg, g) {
                    continue;
                }
            }
            let Some(points) = self.oom_badness(t.pid, total) else { continue };
            // A later task with equal points replaces the earlier one.
            let better = match chosen {
                None => true,
                Some((_, best)) => best <= points,
            };
            if better {
                chosen = Some((t.pid, points));
            }
        }
        chosen.map(|(p, _)| p)
    }

    /// Tries to make room for an allocation by `pid` that just failed: reclaim in the scope
    /// the failure names, then the OOM killer. `rounds` counts the reclaim attempts of this
    /// allocation so far.
    pub(crate) fn make_room(&mut self, pid: Pid, rounds: &mut u32) -> Room {
        self.m.size_use.pressure();
        let scope = match self.m.frames.memcgs.last_refusal {
            Some(crate::memcg::OverLimit(g)) => OomScope::Memcg(g),
            None => OomScope::Global,
        };
        if *rounds < MAX_RECLAIM_RETRIES && self.reclaim_for_allocation(scope, 1) > 0 {
            *rounds += 1;
            return Room::Retry;
        }
        if let OomScope::Memcg(g) = scope {
            self.m.frames.memcgs.event(g, MemcgEvent::Oom);
        }
        let Some(victim) = self.oom_victim(scope) else { return Room::NoVictim };
        self.oom_kill_process(pid, victim, scope);
        let alive = self.tasks.get(&pid).is_some_and(|t| t.mm.is_some());
        if alive {
            Room::Retry
        } else {
            Room::Killed
        }
    }

    /// Frees at least `nr_pages` frames (a batch of SWAP_CLUSTER_MAX at least) in `scope`
    /// for an allocation that failed, if it can; returns how many it freed. This is the one
    /// place the OOM path asks reclaim for memory.
    ///
    /// The LRU scan ([`crate::reclaim`]) sends anonymous pages to swap, writes dirty file
    /// pages back and evicts them, unmapping what it takes; if it falls short, clean
    /// unmapped large page-cache folios, which the scan leaves alone, are dropped whole
    /// ([`crate::clean_cache`]).
    pub(crate) fn reclaim_for_allocation(&mut self, scope: OomScope, nr_pages: u64) -> u64 {
        self.direct_reclaim(scope, nr_pages)
    }

    /// Kills `victim` for an OOM in `scope` that task `current` ran into: logs Linux's
    /// report, counts the kill, sends SIGKILL to every task using the victim's address
    /// space and tears it down.
    fn oom_kill_process(&mut self, current: Pid, victim: Pid, scope: OomScope) {
        self.m.size_use.pressure();
        self.log_oom_report(current, victim, scope);
        let Some(mm) = self.tasks.get(&victim).and_then(|t| t.mm) else { return };
        let sharers: Vec<Pid> = self.tasks.values().filter(|t| t.mm == Some(mm)).map(|t| t.pid).collect();
        let memcg = self.tasks[&victim].memcg;
        self.m.vmstat.oom_kill += 1;
        self.m.frames.memcgs.event(memcg, MemcgEvent::OomKill);
        self.m.log(victim, 0, false, EventKind::OomKill { victim });
        for p in sharers {
            self.kill(p, 9);
        }
    }

    /// Ends task `pid` with signal `sig` (its exit code reads as 128 + sig, its wait status
    /// as `sig`); its address space is released like at exit.
    pub fn kill(&mut self, pid: Pid, sig: i32) {
        let Some(t) = self.tasks.get_mut(&pid) else { return };
        if t.exit_code.is_some() {
            return;
        }
        t.killed_by = Some(sig);
        self.kills += 1;
        let _ = self.exit(pid, 128 + sig);
    }

    /// The lines Linux's OOM killer prints (dump_header, the task dump, the constraint line
    /// and `Killed process`), appended to the kernel log.
    fn log_oom_report(&mut self, current: Pid, victim: Pid, scope: OomScope) {
        let memcgs = &self.m.frames.memcgs;
        // The writer of a memory.max that had to kill may have no task in the model.
        let Some(cur) = self.tasks.get(&current).or_else(|| self.tasks.get(&victim)) else { return };
        let (cur_comm, cur_adj) = (cur.comm.clone(), cur.oom_score_adj);
        let mut lines = Vec::new();
        let gfp = match scope {
            OomScope::Global => "0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO)",
            OomScope::Memcg(_) => "0xcc0(GFP_KERNEL)",
        };
        lines.push(format!("{cur_comm} invoked oom-killer: gfp_mask={gfp}, order=0, oom_score_adj={cur_adj}"));
        if let OomScope::Memcg(g) = scope {
            let m = memcgs.get(g).expect("memcg of an OOM");
            let limit = if m.max == crate::memcg::NO_LIMIT { crate::memcg::files::PAGE_COUNTER_MAX } else { m.max };
            lines.push(format!("memory: usage {}kB, limit {}kB, failcnt {}", m.usage * 4, limit * 4, m.failcnt));
        }
        lines.push("Tasks state (memory values in pages):".into());
        lines.push(
            "[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name"
                .into(),
        );
        let mut seen = std::collections::BTreeSet::new();
        for t in self.tasks.values() {
            let Some(id) = t.mm else { continue };
            if let OomScope::Memcg(g) = scope {
                if !memcgs.is_descendant(t.memcg, g) {
                    continue;
                }
            }
            if !seen.insert(id) {
                continue;
            }
            let mm = &self.mms[id];
            let mut l = String::new();
            let _ = write!(
                l,
                "[{:>7}] {:>5} {:>5} {:>8} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8}         {:>5} {}",
                t.pid,
                0,
                t.pid,
                mm.total_vm,
                mm.rss.total(),
                mm.rss.anon,
                mm.rss.file,
                mm.rss.shmem,
                self.m.pgtables_pages(mm) * PAGE_SIZE,
                mm.rss.swap,
                t.oom_score_adj,
                t.comm
            );
            lines.push(l);
        }
        let path = |g: MemcgId| format!("/{}", memcgs.get(g).map(|m| m.path.as_str()).unwrap_or(""));
        let v = &self.tasks[&victim];
        let (constraint, oom_memcg) = match scope {
            OomScope::Global => ("CONSTRAINT_NONE", "global_oom".to_string()),
            OomScope::Memcg(g) => ("CONSTRAINT_MEMCG", format!("oom_memcg={}", path(g))),
        };
        lines.push(format!(
            "oom-kill:constraint={constraint},nodemask=(null),cpuset=/,mems_allowed=0,{oom_memcg},task_memcg={},task={},pid={},uid=0",
            path(v.memcg),
            v.comm,
            v.pid
        ));
        let mm = &self.mms[v.mm.expect("victim's mm")];
        let who = match scope {
            OomScope::Global => "Out of memory",
            OomScope::Memcg(_) => "Memory cgroup out of memory",
        };
        lines.push(format!(
            "{who}: Killed process {} ({}) total-vm:{}kB, anon-rss:{}kB, file-rss:{}kB, shmem-rss:{}kB, UID:0 pgtables:{}kB oom_score_adj:{}",
            v.pid,
            v.comm,
            mm.total_vm.kib(),
            mm.rss.anon.kib(),
            mm.rss.file.kib(),
            mm.rss.shmem.kib(),
            self.m.pgtables_pages(mm) * 4,
            v.oom_score_adj
        ));
        self.m.kmsg.extend(lines);
    }

    /// mem_cgroup_handle_over_high, on the way back to the task after a fault: each group of
    /// the task's chain that is above its `memory.high` counts a `high` event and reclaims
    /// its excess; then each one whose swap is above its `memory.swap.high` (the reclaim may
    /// have swapped) counts a `high` swap event, as swap_find_max_overage does. The task is not throttled (the model has no time to spend).
    pub(crate) fn handle_over_high(&mut self) {
        let charge_to = self.m.frames.memcgs.charge_to;
        // The root has no memory.high: nothing to look at for its tasks (every fault asks).
        if charge_to == ROOT_MEMCG {
            return;
        }
        let memory = self.m.frames.memcgs.above_high(charge_to);
        let swap = self.m.frames.memcgs.above_swap_high(charge_to);
        if memory.is_empty() && swap.is_empty() {
            return;
        }
        for (g, excess) in memory {
            self.m.frames.memcgs.event(g, MemcgEvent::High);
            self.reclaim_for_allocation(OomScope::Memcg(g), excess);
        }
        for g in self.m.frames.memcgs.above_swap_high(charge_to) {
            self.m.frames.memcgs.swap_high_event(g);
        }
    }

    /// Sets the group new frames are charged to for work done for `pid` (its task's group;
    /// the root for a pid that has none). Returns the previous one, to be put back.
    pub fn charging_as(&mut self, pid: Pid) -> MemcgId {
        let g = self.tasks.get(&pid).map_or(ROOT_MEMCG, |t| t.memcg);
        std::mem::replace(&mut self.m.frames.memcgs.charge_to, g)
    }
}
