//! What a trace does not determine, learned from the trace itself.
//!
//! A log recorded with ASLR on, or on a machine whose shell raised the stack limit, or of a
//! program whose files the replaying machine names differently, leaves values open that the
//! kernel chose before or outside the log: where each exec put the mmap area, the stack,
//! the program and the heap, which device and inode each mapped file has, which stack limit
//! the first task inherited. Each is an *unknown*. The replay binds an unknown at the first
//! line that reveals it (a result that only one value explains, or a `/proc` read that shows
//! it) and from then on checks every other line against the binding: a line that
//! contradicts it is a mismatch, like any other.
//!
//! A binding made at line N also decides what the model did before line N (an exec lays out
//! everything at once), so the replay runs again from the start with every binding known,
//! until a run binds nothing new; the last run's report is the replay's. Each value bound
//! must be one Linux could have drawn (its randomization range and alignment); otherwise
//! the binding is itself reported as a mismatch.

use crate::identity::Identity;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The setting that binds the recording machine's memory cgroup interface (1: v1, the
/// memory controller at /sys/fs/cgroup/memory; 2: v2), from the first path that shows it.
pub(crate) const CGROUP_VERSION: &str = "memory cgroup interface (1: v1, 2: v2)";

/// The setting that binds how many CPUs the recording machine's tasks could run on (the
/// most a `sched_getaffinity` result or a read of `/sys/devices/system/cpu/online` showed):
/// each CPU may keep a charge batch of a memory cgroup, which its usage counts
/// ([`procfs::cgroup::usage_tolerance`]).
pub(crate) const CPUS: &str = "CPUs the recording machine's tasks could run on";

/// A value bound from the log, and the line that revealed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound<T> {
    /// The value.
    pub value: T,
    /// The line of the log it was learned from.
    pub line: u64,
}

/// The randomized parts of one exec's layout. `None`: not revealed (yet).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecUnknowns {
    /// arch_mmap_rnd's draw: places the mmap area, the interpreter and the vDSO.
    pub mmap_rnd: Option<Bound<u64>>,
    /// `mmap_rnd` came from a 2 MiB-aligned placement, which many draws explain: a later
    /// line that pins it down replaces it.
    pub mmap_rnd_weak: bool,
    /// The stack's top.
    pub stack_top: Option<Bound<u64>>,
    /// A PIE program's load bias.
    pub load_bias: Option<Bound<u64>>,
    /// The start of the heap.
    pub start_brk: Option<Bound<u64>>,
    /// The line whose result only an unrandomized layout explains, once a heap start the
    /// program's end here does not give had made the exec look randomized: the exec was
    /// not randomized, and the heap starts where the trace says (so the program here is not
    /// the one recorded; see [`ExecUnknowns::randomized`]).
    pub not_randomized: Option<u64>,
}

impl ExecUnknowns {
    /// Whether anything is bound (then the exec was randomized).
    pub fn any(&self) -> bool {
        self.mmap_rnd.is_some() || self.stack_top.is_some() || self.load_bias.is_some() || self.start_brk.is_some()
    }

    /// Whether the exec is laid out randomized: something is bound, and no line showed
    /// that the layout had no random draw.
    pub fn randomized(&self) -> bool {
        self.any() && self.not_randomized.is_none()
    }
}

/// Everything a replay learned, carried from one run over the log to the next.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Learned {
    /// By the line of the execve that laid the address space out.
    pub execs: BTreeMap<u64, ExecUnknowns>,
    /// File identities no stat in the log showed, learned from `/proc` reads, by the
    /// canonical path maps prints.
    pub files: BTreeMap<String, Bound<Identity>>,
    /// Inode numbers of shared memory objects (`/dev/zero (deleted)`, memfd, SysV shm), by
    /// the number the model gave the object. Linux takes them from a counter every CPU
    /// draws batches from for pipes, sockets and shmem of the whole machine, so the next
    /// number is not determined by the trace: each object's is bound when a read first
    /// shows it, and checked from then on.
    pub shmem_inos: BTreeMap<u64, Bound<u64>>,
    /// Where the machine's SysV identifier allocator stood: the identifier the log's first
    /// new segment got, by the line of its shmget.
    pub shm_ids: BTreeMap<u64, Bound<u32>>,
    /// SysV segments made before the trace (found attached in a process it attached to)
    /// that a later line showed had been removed (IPC_RMID) before it: by identifier.
    pub shm_removed: BTreeMap<u32, Bound<()>>,
    /// The sizes in pages of `[vvar]`, `[vvar_vclock]` and `[vdso]` on the recording
    /// machine's kernel, from the first maps read that shows them.
    pub vdso_pages: Option<Bound<(u64, u64, u64)>>,
    /// Settings of the recording machine that reads in the log showed, by the file read
    /// (`/sys/kernel/mm/transparent_hugepage/enabled`, `/proc/sys/vm/overcommit_memory`,
    /// ...), with the value as the replay uses it.
    pub settings: BTreeMap<String, Bound<u64>>,
    /// The stack limit the first task inherited (u64::MAX: unlimited).
    pub start_rlimit_stack: Option<Bound<u64>>,
    /// Whether the first task inherited the legacy mmap layout (an unlimited stack or
    /// ADDR_COMPAT_LAYOUT, before the log starts).
    pub start_legacy: Option<Bound<bool>>,
    /// Processes the trace attached to (`strace -p`), by the trace's id of the task whose
    /// first line began one: what the log showed of each one's address space before it.
    pub attached: BTreeMap<u32, AttachedUnknowns>,
    /// Tasks of an attached log whose start the log does not show (`strace -f -p` attaches
    /// every thread of a process; `-p A -p B` names several): the task whose address space
    /// each shares, where a read of that address space showed the mappings the task made.
    /// A task not here is a process of its own.
    pub attached_threads: BTreeMap<u32, Bound<(u32, SameProcess)>>,
    /// In a log whose first task began before it (no execve): the line of the first call
    /// that makes, replaces or ends a task. A filter would have hidden it, so the tasks
    /// the log shows no start of were attached to too (`strace -p`), not started by calls
    /// a filter hid.
    pub process_calls_shown: Option<u64>,
    /// Writes the replay assumed a program made with plain stores (by the line that made
    /// the mapping) that a maps read showed did not happen: a fork's copy of the memory
    /// merged with a new neighbour, as a copy of memory never written does. The value is
    /// the line of that read.
    pub unwritten: BTreeMap<u64, Bound<u64>>,
    /// States of pages MADV_FREE freed that smaps reads showed differing from the model's:
    /// the move to the lazy-free list waits in a per-CPU batch until something drains it,
    /// and reclaim may discard a lazily free page or make it swap-backed again, each at a
    /// moment the trace does not show.
    pub lazyfree_seen: Vec<Bound<LazyFreeSeen>>,
    /// Swapped-out pages whose presence in the swap cache a mincore read showed differing
    /// from the model's: whether a page written out is still cached depends on when its
    /// write completed, reclaim elsewhere frees clean cached pages, and readahead windows
    /// depend on history before the trace. Each is (the page's address, cached or not).
    pub swap_cache_seen: Vec<Bound<(u64, bool)>>,
    /// Mappings an smaps read showed with fewer pages referenced than the model had (their
    /// accessed bits cleared by what the trace does not show: DAMON's monitoring, idle page
    /// tracking, reclaim's aging): start, end, and how many pages.
    pub aged_seen: Vec<Bound<(u64, u64, u64)>>,
    /// Main-thread stacks a maps read showed reaching lower than the model's: the program
    /// grew them with its own stores (deep calls, alloca), which no call shows. The trace's
    /// task and the stack's start the read showed.
    pub stack_grown_seen: Vec<Bound<(u32, u64)>>,
    /// Mappings an smaps read showed with more pages referenced than the model had, as
    /// many as a MADV_COLD made old there (Linux skips a page not yet on an LRU list):
    /// start, end, and how many pages.
    pub cold_skipped_seen: Vec<Bound<(u64, u64, u64)>>,
    /// Children made in a PID namespace of the traced program's own (`unshare -p`, a
    /// sandbox), which a log recorded without `--pidns-translation` shows by two numbers:
    /// the one their clone returned in the namespace, and strace's, which names their
    /// lines. By the line of the clone: the pid in the namespace and strace's pid, bound
    /// at the child's first line.
    pub namespaced_children: BTreeMap<u64, Bound<(u32, u32)>>,
    /// Pages a MADV_PAGEOUT left as they were, by the line of the call: pages not yet on an
    /// LRU list, waiting in another CPU's per-CPU batch, which an smaps read later showed
    /// still resident. The next run's call skips them.
    pub pageout_skipped: BTreeMap<u64, Bound<BTreeSet<u64>>>,
    /// Pages a MADV_PAGEOUT unmapped but could not free, by the line of the call: queued
    /// for activation in another CPU's batch (a second access made there, such as the
    /// tracer's read of the page), whose reference kept them in the page cache, as a
    /// mincore vector later showed. The next run's call keeps them.
    pub pageout_held: BTreeMap<u64, Bound<BTreeSet<u64>>>,
}

/// Pages MADV_FREE freed in one mapping whose states an smaps read showed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LazyFreeSeen {
    /// The mapping (its range as smaps showed it).
    pub start: u64,
    /// Its end.
    pub end: u64,
    /// Lazily free pages discarded (no longer resident).
    pub discarded: u64,
    /// Lazily free pages still (or again) swap-backed.
    pub kept: u64,
    /// Pages an earlier read showed swap-backed, now lazily free (their move done).
    pub moved: u64,
    /// Of the kept pages, how many the read showed referenced.
    pub referenced: u64,
    /// Of the kept pages, how many the read showed dirty: pages MADV_FREE passed over
    /// because another task held their folio's lock.
    pub dirty: u64,
}

/// What showed that two tasks a log attached to are threads of one process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SameProcess {
    /// A whole maps read of one shows every mapping the other made and still has.
    MapsRead,
    /// One ended without calling exit or exit_group while the other's exit_group ran.
    ExitGroup,
    /// A call of one succeeded on memory that only the other's address space maps.
    CallOnItsMemory,
}

impl fmt::Display for SameProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SameProcess::MapsRead => "a maps read shows the mappings one made in the other's address space",
            SameProcess::ExitGroup => "one ended, without an exit of its own, by the other's exit_group",
            SameProcess::CallOnItsMemory => "a call of one succeeded on memory only the other's address space maps",
        })
    }
}

/// What the log showed of one process's address space from before strace attached to it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttachedUnknowns {
    /// Results show the process had mappings before the log began.
    pub before: Option<Bound<bool>>,
    /// Its address space at the attach, from its first whole maps read.
    pub start: Option<Bound<AttachedStart>>,
    /// Where its maps read showed no heap: the program break then (and the heap's start),
    /// from the first brk call after the read that changed nothing.
    pub brk: Option<Bound<u64>>,
    /// Without a maps read: ranges calls showed mapped (a successful mprotect, madvise,
    /// mlock ... where the model had nothing), with the protection the call gave them.
    pub touched: Vec<Bound<(u64, u64, u64)>>,
    /// The process runs in 32-bit mode, shown by a call only ia32 processes make (`mmap2`),
    /// where strace did not say so (`-e raw=all`).
    pub ia32: Option<Bound<bool>>,
}

impl AttachedUnknowns {
    fn len(&self) -> usize {
        usize::from(self.before.is_some())
            + usize::from(self.ia32.is_some())
            + usize::from(self.start.is_some())
            + usize::from(self.brk.is_some())
            + self.touched.len()
    }
}

/// The address space a traced process had when the trace attached to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachedStart {
    /// Its mappings, as maps showed them, less what calls in the log made before the read.
    pub vmas: Vec<MapsLine>,
    /// Where unplaced mappings went below: the top of the mmap area.
    pub mmap_base: u64,
    /// The heap (`start_brk`) and the program break when the log began.
    pub heap: Option<(u64, u64)>,
    /// How many calls of the log before the read were undone to get there.
    pub undone: usize,
    /// The starts of the mappings that a mapping the log placed right next to them, alike
    /// in what maps shows, did not merge with (something maps does not show sets them
    /// apart).
    pub apart: Vec<u64>,
}

impl Learned {
    /// How many values are bound.
    pub fn len(&self) -> usize {
        let execs: usize = self
            .execs
            .values()
            .map(|e| {
                usize::from(e.mmap_rnd.is_some())
                    + usize::from(e.stack_top.is_some())
                    + usize::from(e.load_bias.is_some())
                    + usize::from(e.start_brk.is_some())
                    + usize::from(e.not_randomized.is_some())
            })
            .sum();
        execs
            + self.files.len()
            + self.shmem_inos.len()
            + self.shm_ids.len()
            + self.shm_removed.len()
            + usize::from(self.vdso_pages.is_some())
            + self.settings.len()
            + usize::from(self.start_rlimit_stack.is_some())
            + usize::from(self.start_legacy.is_some())
            + self.attached.values().map(AttachedUnknowns::len).sum::<usize>()
            + self.attached_threads.len()
            + usize::from(self.process_calls_shown.is_some())
            + self.unwritten.len()
            + self.lazyfree_seen.len()
            + self.swap_cache_seen.len()
            + self.aged_seen.len()
            + self.stack_grown_seen.len()
            + self.namespaced_children.len()
            + self.cold_skipped_seen.len()
            + self.pageout_skipped.len()
            + self.pageout_held.len()
    }

    /// Whether `self` binds something `before` did not that decides lines before the one
    /// it was learned from, so that the log must be replayed again. The states of lazily
    /// freed pages and of swap-cache pages are bound where a read shows them and decide
    /// nothing before it.
    pub fn binds_more_than(&self, before: &Learned) -> bool {
        // An exec or attached process with nothing bound yet (an entry made on the way to
        // binding something that then was not) binds nothing.
        let earlier = |l: &Learned| Learned {
            lazyfree_seen: Vec::new(),
            swap_cache_seen: Vec::new(),
            aged_seen: Vec::new(),
            stack_grown_seen: Vec::new(),
            cold_skipped_seen: Vec::new(),
            // Paired at the child's first line, which nothing before it depends on.
            namespaced_children: BTreeMap::new(),
            // Bound at the first cgroup path, and used by nothing before it; the CPUs change
            // only how far a usage read may exceed the model's, and a read before their
            // binding that exceeded it by more than two CPUs' batches was left unchecked.
            settings: l
                .settings
                .iter()
                .filter(|(k, _)| *k != CGROUP_VERSION && *k != CPUS)
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            execs: l.execs.iter().filter(|(_, u)| **u != ExecUnknowns::default()).map(|(k, u)| (*k, *u)).collect(),
            attached: l
                .attached
                .iter()
                .filter(|(_, u)| **u != AttachedUnknowns::default())
                .map(|(k, u)| (*k, u.clone()))
                .collect(),
            ..l.clone()
        };
        earlier(self) != earlier(before)
    }

    /// Whether nothing is bound.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bindings as the report lists them, one a line.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(b) = self.start_rlimit_stack {
            let v = if b.value == u64::MAX { "unlimited".to_string() } else { format!("{}", b.value) };
            out.push(format!("bound RLIMIT_STACK at start = {v} from line {}", b.line));
        }
        if let Some(b) = self.start_legacy {
            out.push(format!("bound legacy mmap layout at start = {} from line {}", b.value, b.line));
        }
        for (clone_line, b) in &self.namespaced_children {
            let (inner, outer) = b.value;
            out.push(format!(
                "bound the child of the clone at line {clone_line} (pid {inner} in the traced program's PID \
                 namespace) = task {outer} from line {}",
                b.line
            ));
        }
        for (pid, a) in &self.attached {
            // The key 0: the task of a log whose lines name none (one task traced).
            let whose = if *pid == 0 { "the traced".to_string() } else { format!("task {pid}'s") };
            if let Some(b) = a.before {
                out.push(format!("bound {whose} process existed before the trace (attached) from line {}", b.line));
            }
            if let Some(b) = a.ia32 {
                out.push(format!("bound {whose} process runs in 32-bit mode (its mmap2) from line {}", b.line));
            }
            if let Some(b) = &a.start {
                let s = &b.value;
                let heap = s.heap.map_or(String::new(), |(s, b)| format!(", start_brk {s:#x}, brk {b:#x}"));
                let apart = if s.apart.is_empty() {
                    String::new()
                } else {
                    let at: Vec<String> = s.apart.iter().map(|a| format!("{a:#x}")).collect();
                    format!(", kept apart from new neighbours: {}", at.join(" "))
                };
                out.push(format!(
                    "bound the attached process's {} mappings (task {pid}, mmap_base {:#x}{heap}{apart}) at the attach \
                     from line {} less the {} calls before it",
                    s.vmas.len(),
                    s.mmap_base,
                    b.line,
                    s.undone
                ));
            }
            if let Some(b) = a.brk {
                out.push(format!(
                    "bound the attached process's heap start and break = {:#x} (task {pid}: its maps read showed no \
                     heap) from line {}",
                    b.value, b.line
                ));
            }
            for b in &a.touched {
                let (s, e, _) = b.value;
                out.push(format!(
                    "bound a mapping {s:#x}-{e:#x} of the attached process of task {pid} from line {}",
                    b.line
                ));
            }
        }
        if let Some(line) = self.process_calls_shown {
            out.push(format!(
                "bound no filter hid how tasks began (a call that starts or ends one is shown) from line {line}: \
                 tasks shown with no start were attached to"
            ));
        }
        for (at, b) in &self.unwritten {
            out.push(format!(
                "bound the memory the call at line {at} made was not written (a maps read, or a call that needs \
                 one VMA there, shows a merge only memory never written allows, or a call fails where only \
                 memory never written keeps two VMAs apart) from line {}",
                b.line
            ));
        }
        for (task, b) in &self.attached_threads {
            out.push(format!(
                "bound task {task} shares the address space of attached task {} ({}) from line {}",
                b.value.0, b.value.1, b.line
            ));
        }
        for (exec, u) in &self.execs {
            let at = format!("(execve at line {exec})");
            if let Some(b) = u.mmap_rnd {
                out.push(format!("bound mmap_rnd = {:#x} from line {} {at}", b.value, b.line));
            }
            if let Some(b) = u.load_bias {
                out.push(format!("bound load_bias = {:#x} from line {} {at}", b.value, b.line));
            }
            if let Some(b) = u.start_brk {
                out.push(format!("bound start_brk = {:#x} from line {} {at}", b.value, b.line));
            }
            if let Some(b) = u.stack_top {
                out.push(format!("bound stack_top = {:#x} from line {} {at}", b.value, b.line));
            }
            if let Some(line) = u.not_randomized {
                out.push(format!("bound no address randomization from line {line} {at}"));
            }
        }
        if let Some(b) = self.vdso_pages {
            let (a, c, d) = b.value;
            out.push(format!(
                "bound the vDSO's pages = [vvar] {a}, [vvar_vclock] {c}, [vdso] {d} from line {}",
                b.line
            ));
        }
        for (file, b) in &self.settings {
            out.push(format!("bound {file} = {} from line {}", b.value, b.line));
        }
        for b in self.shm_ids.values() {
            out.push(format!("bound the SysV segment identifier allocator = {} from line {}", b.value, b.line));
        }
        for (id, b) in &self.shm_removed {
            out.push(format!(
                "bound SysV segment {id} (made before the trace) was removed before it, from line {}",
                b.line
            ));
        }
        for (model, b) in &self.shmem_inos {
            out.push(format!("bound the inode of shared memory object {model} = {} from line {}", b.value, b.line));
        }
        for b in &self.lazyfree_seen {
            let r = b.value;
            out.push(format!(
                "bound the states of MADV_FREE'd pages of {:#x}-{:#x}: {} discarded, {} still swap-backed ({} \
                 referenced, {} dirty), {} moved to the lazy-free list since, from line {}",
                r.start, r.end, r.discarded, r.kept, r.referenced, r.dirty, r.moved, b.line
            ));
        }
        for b in &self.swap_cache_seen {
            let (va, cached) = b.value;
            let state = if cached { "in the swap cache" } else { "out of the swap cache" };
            out.push(format!("bound swapped-out page {va:#x} {state} from line {}", b.line));
        }
        for b in &self.aged_seen {
            let (start, end, n) = b.value;
            out.push(format!(
                "bound {n} pages of {start:#x}-{end:#x} not referenced (their accessed bits cleared by what the trace \
                 does not show: DAMON, idle page tracking, reclaim) from line {}",
                b.line
            ));
        }
        for b in &self.stack_grown_seen {
            let (task, start) = b.value;
            out.push(format!(
                "bound the stack of task {task} grown down to {start:#x} by the program's own stores (no call shows \
                 them) from line {}",
                b.line
            ));
        }
        for b in &self.cold_skipped_seen {
            let (start, end, n) = b.value;
            out.push(format!(
                "bound {n} pages of {start:#x}-{end:#x} still referenced after MADV_COLD (Linux leaves a page not \
                 yet on an LRU list, in a per-CPU batch, as it is) from line {}",
                b.line
            ));
        }
        for (at, b) in &self.pageout_skipped {
            let pages: Vec<String> = b.value.iter().map(|va| format!("{va:#x}")).collect();
            out.push(format!(
                "bound the MADV_PAGEOUT at line {at} left page{} {} as {} (not yet on an LRU list: in another \
                 CPU's per-CPU batch) from line {}",
                if pages.len() == 1 { "" } else { "s" },
                pages.join(", "),
                if pages.len() == 1 { "it was" } else { "they were" },
                b.line
            ));
        }
        for (at, b) in &self.pageout_held {
            let pages: Vec<String> = b.value.iter().map(|va| format!("{va:#x}")).collect();
            out.push(format!(
                "bound the MADV_PAGEOUT at line {at} unmapped page{} {} but left {} cached (queued for activation in \
                 another CPU's per-CPU batch, whose reference it could not drop) from line {}",
                if pages.len() == 1 { "" } else { "s" },
                pages.join(", "),
                if pages.len() == 1 { "it" } else { "them" },
                b.line
            ));
        }
        for (path, b) in &self.files {
            let i = b.value;
            out.push(format!("bound {path} = {:02x}:{:02x} {} from line {}", i.major, i.minor, i.ino, b.line));
        }
        out
    }
}

impl fmt::Display for Learned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for l in self.lines() {
            writeln!(f, "{l}")?;
        }
        Ok(())
    }
}

pub use procfs::parse::MapsLine;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_are_listed_with_their_lines() {
        let mut l = Learned::default();
        l.execs.entry(1).or_default().mmap_rnd = Some(Bound { value: 0x7000, line: 3 });
        l.execs.entry(1).or_default().start_brk = Some(Bound { value: 0x5555_6000_0000, line: 2 });
        let text = l.to_string();
        assert!(text.contains("bound mmap_rnd = 0x7000 from line 3 (execve at line 1)"), "{text}");
        assert!(text.contains("bound start_brk = 0x555560000000 from line 2"), "{text}");
        assert_eq!(l.len(), 2);
    }
}
