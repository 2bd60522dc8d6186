//! [`Recorder`]: watches a run step by step (a trace line, a scenario statement) and keeps
//! what the page shows: the timeline, downsampled; the markers; exact snapshots at the
//! stops; the processes' lives; the fault log.
//!
//! A step costs a pass over the tasks (a few counters each); a stop costs a walk of every
//! page table, so stops are rationed ([`StopPolicy`]) and identical address spaces are
//! stored once.

use crate::model::*;
use crate::snapshot;
use mm::{Kernel, MmId, Pid};
use std::collections::{BTreeMap, HashMap};

/// The most faults the page lists (the count of all is kept).
pub const MAX_FAULTS: usize = 20_000;
/// The most points the timeline keeps; past it, every other point goes.
pub const MAX_POINTS: usize = 4096;
/// The most markers the page lists.
pub const MAX_MARKERS: usize = 2000;
/// The most VMAs all stops together may list (some 5 bytes each in the page, the VMAs
/// themselves stored once); past it no more stops are taken.
pub const MAX_VMA_REFS: u64 = 2_000_000;
/// A step that grows VmSize by at least this much (KiB) is marked as a big mmap.
pub const BIG_MMAP_KB: u64 = 1024;

/// When to take exact snapshots.
#[derive(Clone, Copy, Debug)]
pub struct StopPolicy {
    /// A stop every this many steps (1: every step).
    pub every: u64,
    /// The most stops taken because of markers (forks, execs, exits, big mmaps, mismatches).
    pub marker_stops: usize,
    /// The most stops in all.
    pub max_stops: usize,
}

impl StopPolicy {
    /// A stop at every step, up to `max` (a scenario).
    pub fn every_step(max: usize) -> Self {
        StopPolicy { every: 1, marker_stops: max, max_stops: max }
    }

    /// For a run of about `steps` steps: some 200 stops spread evenly, plus one at each of
    /// the first 300 markers.
    pub fn spread(steps: u64) -> Self {
        StopPolicy { every: (steps / 200).max(1), marker_stops: 300, max_stops: 600 }
    }
}

/// What the recorder remembers of a task between steps.
#[derive(Clone, Debug)]
struct TaskSeen {
    mm: Option<MmId>,
    exited: bool,
    minflt: u64,
    majflt: u64,
    /// Its entry in `processes`.
    life: usize,
}

/// Watches a run and builds its [`ReportData`].
#[derive(Debug)]
pub struct Recorder {
    data: ReportData,
    policy: StopPolicy,
    tasks: BTreeMap<Pid, TaskSeen>,
    /// Faults of tasks already reaped.
    gone_minflt: u64,
    gone_majflt: u64,
    last_vm_kb: u64,
    events_seq: u64,
    spaces: HashMap<Space, usize>,
    /// The page's number of each address space seen (the model's ids are opaque).
    mm_numbers: HashMap<MmId, usize>,
    vma_index: HashMap<VmaView, u32>,
    /// VMAs listed by all the stops' address spaces so far (the bulk of a page's size).
    vma_refs: u64,
    steps: u64,
    next_uniform: u64,
    marker_stops: usize,
    series_stride: u64,
    /// Per series point: whether it must stay (a stop or a marker is there).
    pinned: Vec<bool>,
    /// The trace's pid of each model pid, for a replay.
    trace_pids: HashMap<Pid, u32>,
}

impl Recorder {
    /// A recorder for a run of `source` (`trace` or `scenario`) titled `title`.
    pub fn new(title: &str, source: &str, x_label: &str, policy: StopPolicy) -> Self {
        Recorder {
            data: ReportData {
                title: title.to_string(),
                source: source.to_string(),
                x_label: x_label.to_string(),
                ..ReportData::default()
            },
            policy,
            tasks: BTreeMap::new(),
            gone_minflt: 0,
            gone_majflt: 0,
            last_vm_kb: 0,
            events_seq: 1,
            spaces: HashMap::new(),
            mm_numbers: HashMap::new(),
            vma_index: HashMap::new(),
            vma_refs: 0,
            steps: 0,
            next_uniform: 0,
            marker_stops: 0,
            series_stride: 1,
            pinned: Vec::new(),
            trace_pids: HashMap::new(),
        }
    }

    /// Tells which trace pid each model pid stands for.
    pub fn set_trace_pids(&mut self, pids: impl Iterator<Item = (u32, Pid)>) {
        self.trace_pids = pids.map(|(t, m)| (m, t)).collect();
        for life in &mut self.data.processes {
            if let Some(&t) = self.trace_pids.get(&life.pid) {
                life.trace_pid.get_or_insert(t);
            }
        }
    }

    /// The number of model tasks the recorder has seen.
    pub fn tasks_seen(&self) -> usize {
        self.tasks.len()
    }

    /// Records the step at `x` (done on `k`); `text` is what it was, `force_stop` asks for an
    /// exact snapshot there (a mismatch). Returns the stop taken, if any.
    pub fn step(
        &mut self,
        k: &Kernel,
        x: u64,
        text: &str,
        force_stop: Option<(&'static str, String)>,
    ) -> Option<usize> {
        self.steps += 1;
        self.drain_faults(k, x);
        let mut marks = self.diff_tasks(k, x);
        let totals = Totals::of(k);
        let total_fl = (totals.minflt + self.gone_minflt, totals.majflt + self.gone_majflt);
        if totals.vm_kb >= self.last_vm_kb + BIG_MMAP_KB {
            let grew = totals.vm_kb - self.last_vm_kb;
            marks.push(("mmap", 0, format!("VmSize +{}", kib_text(grew))));
        }
        self.last_vm_kb = totals.vm_kb;
        let forced = force_stop.is_some();
        if let Some((kind, t)) = force_stop {
            marks.push((kind, 0, t));
        }
        let uniform = self.steps >= self.next_uniform;
        let want_marker_stop = !marks.is_empty() && self.marker_stops < self.policy.marker_stops;
        let stop = if (uniform || want_marker_stop || forced) && self.has_room() {
            if uniform {
                self.next_uniform = self.steps + self.policy.every;
            } else {
                self.marker_stops += 1;
            }
            Some(self.take_stop(k, x, false, text))
        } else {
            None
        };
        for (kind, pid, t) in marks {
            if self.data.markers.len() < MAX_MARKERS {
                self.data.markers.push(Marker { x, kind, pid, text: t, stop });
            } else {
                self.data.markers_dropped += 1;
            }
        }
        let pin = stop.is_some() || self.data.markers.last().is_some_and(|m| m.x == x);
        if pin || self.steps % self.series_stride == 0 {
            self.push_point(x, &totals, total_fl, pin);
        }
        stop
    }

    /// Takes a snapshot before the step at `x` (a process is about to exit and its address
    /// space with it), if the budget allows.
    pub fn before(&mut self, k: &Kernel, x: u64, text: &str) -> Option<usize> {
        if !self.has_room() || self.marker_stops >= self.policy.marker_stops {
            return None;
        }
        self.marker_stops += 1;
        self.drain_faults(k, x);
        Some(self.take_stop(k, x, true, text))
    }

    /// Whether another stop fits: the policy's count, and the page's size (address spaces
    /// of many VMAs make large stops).
    fn has_room(&self) -> bool {
        self.data.stops.len() < self.policy.max_stops && self.vma_refs < MAX_VMA_REFS
    }

    /// The page's data so far, with `summary` as its closing lines.
    pub fn data(&self, summary: &str) -> ReportData {
        let mut d = self.data.clone();
        d.summary = summary.to_string();
        d.initial_stop = d.stops.iter().rposition(|s| s.procs.iter().any(|p| p.space.is_some())).unwrap_or(0);
        d
    }

    /// The mutable data, for the driver's own additions (mismatches, line texts).
    pub fn data_mut(&mut self) -> &mut ReportData {
        &mut self.data
    }

    fn push_point(&mut self, x: u64, t: &Totals, faults: (u64, u64), pin: bool) {
        let s = &mut self.data.series;
        if s.x.last() == Some(&x) {
            // Two steps on one line (a split call): the later one stands.
            pop_point(s);
            self.pinned.pop();
        }
        s.x.push(x);
        s.vm_size.push(t.vm_kb);
        s.rss_anon.push(t.anon_kb);
        s.rss_file.push(t.file_kb);
        s.rss_shmem.push(t.shmem_kb);
        s.vmas.push(t.vmas);
        s.minflt.push(faults.0);
        s.majflt.push(faults.1);
        self.pinned.push(pin);
        if s.x.len() > MAX_POINTS {
            self.thin_series();
        }
    }

    /// Drops every other unpinned point and halves the sampling rate from now on.
    fn thin_series(&mut self) {
        let s = &mut self.data.series;
        let keep: Vec<bool> =
            self.pinned.iter().enumerate().map(|(i, &p)| p || i % 2 == 0 || i + 1 == self.pinned.len()).collect();
        for v in s.columns_mut() {
            let mut i = 0;
            v.retain(|_| {
                i += 1;
                keep[i - 1]
            });
        }
        let mut i = 0;
        self.pinned.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        self.series_stride *= 2;
    }

    fn take_stop(&mut self, k: &Kernel, x: u64, before: bool, text: &str) -> usize {
        if self.data.stops.is_empty() {
            self.data.walk = crate::model::Walk::of(k);
        }
        let mut procs = Vec::new();
        let mut spaces: Vec<(usize, Pid)> = Vec::new();
        for t in k.tasks() {
            let pid = t.pid;
            if t.exit_code.is_some() && t.mm.is_none() {
                continue;
            }
            let (vmas, vma_index) = (&mut self.data.vmas, &mut self.vma_index);
            let space =
                t.mm.and_then(|_| {
                    snapshot::space(k, pid, |v| {
                        *vma_index.entry(v.clone()).or_insert_with(|| {
                            vmas.push(v);
                            vmas.len() as u32 - 1
                        })
                    })
                })
                .map(|s| {
                    self.vma_refs += s.vmas.len() as u64;
                    self.intern(s)
                });
            let mm = t.mm.map(|id| {
                let next = self.mm_numbers.len();
                *self.mm_numbers.entry(id).or_insert(next)
            });
            if let Some(n) = mm {
                if !spaces.iter().any(|&(m, _)| m == n) {
                    spaces.push((n, pid));
                }
            }
            procs.push(ProcAt {
                pid,
                ppid: t.ppid,
                comm: t.comm.clone(),
                trace_pid: self.trace_pids.get(&pid).copied(),
                space,
                mm,
                minflt: t.min_flt,
                majflt: t.maj_flt,
            });
        }
        let sharing = snapshot::sharing(k, &spaces);
        self.data.stops.push(Stop {
            x,
            before,
            text: text.to_string(),
            procs,
            sharing,
            faults_upto: self.data.faults.len(),
        });
        self.data.stops.len() - 1
    }

    fn intern(&mut self, s: Space) -> usize {
        if let Some(&i) = self.spaces.get(&s) {
            return i;
        }
        let i = self.data.spaces.len();
        self.data.spaces.push(s.clone());
        self.spaces.insert(s, i);
        i
    }

    /// Moves the model's new fault events into the fault log.
    fn drain_faults(&mut self, k: &Kernel, x: u64) {
        let events = &k.machine().events;
        let next = events.next_seq();
        if next == self.events_seq {
            return;
        }
        let new: Vec<&mm::Event> = events.iter().rev().take_while(|e| e.seq >= self.events_seq).collect();
        self.data.faults_total += next - self.events_seq;
        for e in new.into_iter().rev() {
            if self.data.faults.len() >= MAX_FAULTS {
                break;
            }
            let (kind, explanation) = (e.kind.name(), e.kind.to_string());
            self.data.faults.push((x, e.pid, e.addr, e.write, kind, explanation, vma_label(k, e.pid, e.addr)));
        }
        self.events_seq = next;
    }

    /// Compares the tasks with the last step's: births, execs, exits.
    fn diff_tasks(&mut self, k: &Kernel, x: u64) -> Vec<(&'static str, u32, String)> {
        let mut marks = Vec::new();
        if k.tasks().count() == self.tasks.len()
            && k.tasks()
                .zip(&self.tasks)
                .all(|(t, (q, s))| t.pid == *q && t.mm == s.mm && t.exit_code.is_some() == s.exited)
        {
            for t in k.tasks() {
                if let Some(s) = self.tasks.get_mut(&t.pid) {
                    (s.minflt, s.majflt) = (t.min_flt, t.maj_flt);
                }
            }
            return marks;
        }
        let gone: Vec<Pid> = self.tasks.keys().filter(|&&p| k.task(p).is_none()).copied().collect();
        for p in gone {
            let s = self.tasks.remove(&p).expect("listed");
            self.gone_minflt += s.minflt;
            self.gone_majflt += s.majflt;
            if !s.exited {
                self.data.processes[s.life].exited = Some(x);
                marks.push(("exit", p, format!("{p} exited")));
            }
        }
        for t in k.tasks() {
            let p = t.pid;
            let exited = t.exit_code.is_some();
            match self.tasks.get_mut(&p) {
                None => {
                    let life = self.data.processes.len();
                    self.data.processes.push(ProcessLife {
                        pid: p,
                        ppid: t.ppid,
                        comm: t.comm.clone(),
                        trace_pid: self.trace_pids.get(&p).copied(),
                        born: x,
                        execs: Vec::new(),
                        exited: if exited { Some(x) } else { None },
                    });
                    if self.tasks.contains_key(&t.ppid) {
                        marks.push(("fork", p, format!("{} forked {p}", t.ppid)));
                    } else {
                        marks.push(("start", p, format!("{p} ({}) started", t.comm)));
                    }
                    self.tasks.insert(p, TaskSeen { mm: t.mm, exited, minflt: t.min_flt, majflt: t.maj_flt, life });
                }
                Some(s) => {
                    let life = &mut self.data.processes[s.life];
                    life.comm.clone_from(&t.comm);
                    if !exited && s.mm.is_some() && t.mm.is_some() && s.mm != t.mm {
                        life.execs.push(x);
                        marks.push(("exec", p, format!("{p} exec {}", t.comm)));
                    }
                    if exited && !s.exited {
                        life.exited = Some(x);
                        let code = t.exit_code.unwrap_or(0);
                        marks.push(("exit", p, format!("{p} exited ({code})")));
                    }
                    (s.mm, s.exited, s.minflt, s.majflt) = (t.mm, exited, t.min_flt, t.maj_flt);
                }
            }
        }
        marks
    }
}

fn pop_point(s: &mut Series) {
    for v in s.columns_mut() {
        v.pop();
    }
}

/// The sums the timeline plots, over the live address spaces (each once) and all tasks.
#[derive(Default)]
struct Totals {
    vm_kb: u64,
    anon_kb: u64,
    file_kb: u64,
    shmem_kb: u64,
    vmas: u64,
    minflt: u64,
    majflt: u64,
}

impl Totals {
    fn of(k: &Kernel) -> Totals {
        let mut t = Totals::default();
        let mut seen: Vec<MmId> = Vec::new();
        for task in k.tasks() {
            t.minflt += task.min_flt;
            t.majflt += task.maj_flt;
            let Some(id) = task.mm else { continue };
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            if let Ok(mm) = k.mm(task.pid) {
                t.vm_kb += mm.total_vm.kib();
                t.anon_kb += mm.rss.anon.kib();
                t.file_kb += mm.rss.file.kib();
                t.shmem_kb += mm.rss.shmem.kib();
                t.vmas += mm.map_count() as u64;
            }
        }
        t
    }
}

/// The VMA holding `addr` in `pid`'s address space, named as maps names it (or by its range).
fn vma_label(k: &Kernel, pid: Pid, addr: u64) -> String {
    let Ok(mm) = k.mm(pid) else { return String::new() };
    match mm.vmas.containing(addr) {
        Some(v) => match procfs::vma_name(k, mm, v) {
            Some(n) => n,
            None => format!("{:x}-{:x}", v.start, v.end),
        },
        None => "(no VMA)".to_string(),
    }
}

/// A size in KiB as `12 KiB`, `3.5 MiB`, `2.0 GiB`.
pub fn kib_text(kb: u64) -> String {
    if kb < 1024 {
        format!("{kb} KiB")
    } else if kb < 1 << 20 {
        format!("{:.1} MiB", kb as f64 / 1024.0)
    } else {
        format!("{:.1} GiB", kb as f64 / (1u64 << 20) as f64)
    }
}

/// At most 300 characters of a line (a trace line may hold a megabyte of buffer).
pub fn shorten(text: &str) -> String {
    const MAX: usize = 300;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
