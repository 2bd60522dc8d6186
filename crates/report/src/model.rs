//! The data a report page shows, as it is embedded in the page (JSON through serde).
//!
//! [`ReportData`] is the whole page: the timeline's series ([`Series`]) and [`Marker`]s, the
//! [`Stop`]s the scrubber can rest on (each an exact snapshot of every process), the address
//! spaces those stops show ([`Space`], stored once however many stops show the same one),
//! the processes' life stories ([`ProcessLife`]), the fault log ([`Fault`]) and, for a
//! replay, its mismatches ([`MismatchRow`]).
//!
//! Addresses are JSON numbers (user addresses are below 2^47, exact in a double); page-table
//! entries are hex strings, since their NX bit is bit 63.

use serde::Serialize;

/// Everything a report page shows.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ReportData {
    /// What the report is of (a file name).
    pub title: String,
    /// `trace` or `scenario`.
    pub source: String,
    /// What the timeline's x axis counts (`trace line`, `scenario line`).
    pub x_label: String,
    /// The timeline, downsampled.
    pub series: Series,
    /// Forks, execs, exits, big mmaps and mismatches, where they happened.
    pub markers: Vec<Marker>,
    /// Markers left out past the page's budget.
    pub markers_dropped: u64,
    /// The exact snapshots the scrubber moves between, in order.
    pub stops: Vec<Stop>,
    /// The address spaces the stops show (each distinct one once).
    pub spaces: Vec<Space>,
    /// The VMAs those address spaces hold (each distinct one once: most VMAs stay the same
    /// from one stop to the next).
    pub vmas: Vec<VmaView>,
    /// Every process seen during the run.
    pub processes: Vec<ProcessLife>,
    /// The fault log (the first [`crate::recorder::MAX_FAULTS`]).
    pub faults: Vec<Fault>,
    /// Faults in all, kept or not.
    pub faults_total: u64,
    /// For a replay: every mismatch kept by the replay.
    pub mismatches: Vec<MismatchRow>,
    /// Closing lines (a replay's summary, a scenario's expect counts).
    pub summary: String,
    /// The stop the page opens at: the last one where a process still had an address space.
    pub initial_stop: usize,
    /// The shape of the page-table walk the page draws (the kernel profile's geometry).
    pub walk: Walk,
}

/// The page-table geometry of the machine the report is of.
#[derive(Clone, Debug, Serialize)]
pub struct Walk {
    /// The levels, root first: `[name, lowest index bit, index bits, entry bytes]`.
    pub levels: Vec<(String, u32, u32, u32)>,
    /// The first address that is not a user address (TASK_SIZE of the profile).
    pub user_top: u64,
    /// How the model's stored tables stand for the drawn ones (empty on x86-64).
    pub note: String,
}

impl Walk {
    /// The walk of `k`'s kernel profile.
    pub fn of(k: &mm::Kernel) -> Walk {
        let arch = k.config().kernel_arch;
        let g = arch.page_table_geometry();
        let note = match g.levels.len() {
            4 => String::new(),
            3 => "PAE: the PDPT's four PMDs are allocated with the address space (a fifth, for page-table isolation's user copy of the kernel entry, is counted in VmPTE but is not on this walk).".to_string(),
            _ => "Without PAE a PTE table has 1024 four-byte entries mapping 4 MiB. Four-byte entries have no NX bit.".to_string(),
        };
        Walk {
            levels: g.levels.iter().map(|l| (l.name.to_string(), l.shift, l.bits, l.entry_bytes)).collect(),
            user_top: if arch.is_i386() { mm::space::I386_TASK_SIZE } else { mm::layout::TASK_SIZE },
            note,
        }
    }
}

impl Default for Walk {
    fn default() -> Self {
        Walk {
            levels: [("PGD", 39), ("PUD", 30), ("PMD", 21), ("PTE", 12)]
                .iter()
                .map(|&(n, shift)| (n.to_string(), shift, 9, 8))
                .collect(),
            user_top: mm::layout::TASK_SIZE,
            note: String::new(),
        }
    }
}

/// The timeline: one entry per kept step, all vectors of the same length. Sizes in KiB,
/// summed over the processes alive then (an address space shared by threads counted once).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Series {
    /// Trace line or scenario line.
    pub x: Vec<u64>,
    /// VmSize.
    pub vm_size: Vec<u64>,
    /// RssAnon.
    pub rss_anon: Vec<u64>,
    /// RssFile.
    pub rss_file: Vec<u64>,
    /// RssShmem.
    pub rss_shmem: Vec<u64>,
    /// VMAs.
    pub vmas: Vec<u64>,
    /// Minor faults so far (all processes, exited ones included).
    pub minflt: Vec<u64>,
    /// Major faults so far.
    pub majflt: Vec<u64>,
}

impl Series {
    /// Every column, the x axis first: a point is one entry of each.
    pub fn columns_mut(&mut self) -> [&mut Vec<u64>; 8] {
        [
            &mut self.x,
            &mut self.vm_size,
            &mut self.rss_anon,
            &mut self.rss_file,
            &mut self.rss_shmem,
            &mut self.vmas,
            &mut self.minflt,
            &mut self.majflt,
        ]
    }
}

/// Something worth marking on the timeline.
#[derive(Clone, Debug, Serialize)]
pub struct Marker {
    /// Where.
    pub x: u64,
    /// `start`, `fork`, `exec`, `exit`, `mmap`, `maps` (the trace read a maps text) or
    /// `mismatch`.
    pub kind: &'static str,
    /// The process.
    pub pid: u32,
    /// A short description.
    pub text: String,
    /// The stop at this point, if one was kept.
    pub stop: Option<usize>,
}

/// One exact snapshot.
#[derive(Clone, Debug, Serialize)]
pub struct Stop {
    /// Trace line or scenario line after which (or, with `before`, before which) it was taken.
    pub x: u64,
    /// Taken just before the step at `x` (a process is about to exit), not after it.
    pub before: bool,
    /// The trace line or the statement, as written (shortened).
    pub text: String,
    /// The processes alive then.
    pub procs: Vec<ProcAt>,
    /// Frames that several address spaces map, by pair of address spaces.
    pub sharing: Vec<Sharing>,
    /// How many faults of the fault log happened up to this stop.
    pub faults_upto: usize,
}

/// A process at a stop.
#[derive(Clone, Debug, Serialize)]
pub struct ProcAt {
    /// Pid (the model's).
    pub pid: u32,
    /// Parent pid.
    pub ppid: u32,
    /// Command name.
    pub comm: String,
    /// Pid in the trace, for a replay.
    pub trace_pid: Option<u32>,
    /// Its address space: an index into [`ReportData::spaces`] (none for a zombie).
    pub space: Option<usize>,
    /// The model's id of that address space (threads share one).
    pub mm: Option<usize>,
    /// Minor and major faults so far.
    pub minflt: u64,
    /// Major faults so far.
    pub majflt: u64,
}

/// Frames two address spaces both map.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Sharing {
    /// The model's id of the first address space.
    pub mm_a: usize,
    /// The model's id of the second.
    pub mm_b: usize,
    /// Anonymous frames both map: copy-on-write pages inherited by fork.
    pub cow: u64,
    /// Page-cache frames of regular files both map.
    pub file: u64,
    /// Shared-memory (shmem) frames both map.
    pub shmem: u64,
}

/// One address space at one moment.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, Hash)]
pub struct Space {
    /// Its VMAs, in address order: indices into [`ReportData::vmas`].
    pub vmas: Vec<u32>,
    /// The frame of the walk's root table.
    pub pgd: u64,
    /// Entries of the levels above the PTE level that are set, in the profile's geometry
    /// ([`Walk`]): (levels above the PTE level, e.g. 3 = PGD, 2 = PUD, 1 = PMD on x86-64; the
    /// first address the entry covers; the entry in hex, as wide as the geometry's entries).
    pub tables: Vec<(u8, u64, String)>,
    /// VmSize, RSS and page-table KiB (as `/proc/PID/status` shows them).
    pub status: Vec<(String, u64)>,
}

/// One VMA.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, Hash)]
pub struct VmaView {
    /// First address.
    pub start: u64,
    /// One past the last.
    pub end: u64,
    /// `rw-p` as maps prints it.
    pub perms: String,
    /// File offset in bytes (0 for anonymous memory).
    pub offset: u64,
    /// `major:minor` as maps prints it.
    pub dev: String,
    /// Inode.
    pub ino: u64,
    /// The name maps shows (path, `[heap]`, `[stack]`, `[vdso]`...), if any.
    pub name: String,
    /// What it is, for its colour: `text`, `data`, `bss`, `heap`, `anon`, `file`, `shared`,
    /// `stack`, `vdso`, `guard`.
    pub kind: &'static str,
    /// Locked (VM_LOCKED).
    pub locked: bool,
    /// Its pages that have a page-table entry, in runs ([`PageRun`]); pages in no run are
    /// not present.
    pub runs: Vec<PageRun>,
}

/// Consecutive pages of a VMA in the same state, mapping consecutive frames:
/// `[first page (index in the VMA), pages, state, first frame (-1: none), mapcount, locked,
/// first entry in hex]`.
pub type PageRun = (u64, u64, PageState, i64, u32, bool, String);

/// What a page of a VMA is.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum PageState {
    /// Mapped to the shared zero page (read before any write).
    Zero,
    /// Resident, mapped once, clean.
    Clean,
    /// Resident, mapped once, dirty.
    Dirty,
    /// An anonymous or private page mapped by several address spaces: copy-on-write after
    /// fork; a write copies it.
    Cow,
    /// A page of a file or of shared memory mapped by several address spaces.
    Shared,
    /// A page-table entry that maps nothing but is not empty: a swap entry.
    Swapped,
}

/// A process over the whole run.
#[derive(Clone, Debug, Serialize)]
pub struct ProcessLife {
    /// Pid (the model's).
    pub pid: u32,
    /// Parent pid.
    pub ppid: u32,
    /// Command name when last seen.
    pub comm: String,
    /// Pid in the trace, for a replay.
    pub trace_pid: Option<u32>,
    /// Where it appeared.
    pub born: u64,
    /// Where it ran execve.
    pub execs: Vec<u64>,
    /// Where it exited.
    pub exited: Option<u64>,
}

/// One fault of the model's event log: `[x, pid, address, write, kind, explanation, vma]`:
/// the kind is [`mm::EventKind::name`], the explanation the kind's text, the VMA as maps
/// would name it (or its range).
pub type Fault = (u64, u32, u64, bool, &'static str, String, String);

/// A replay mismatch, with the trace line it is about.
#[derive(Clone, Debug, Serialize)]
pub struct MismatchRow {
    /// Trace line.
    pub line: u64,
    /// The call.
    pub call: String,
    /// What the trace says.
    pub expected: String,
    /// What the model did.
    pub got: String,
    /// For /proc text: the lines that differ.
    pub diff: Option<String>,
    /// The trace line as written (shortened).
    pub text: String,
    /// The stop at this line.
    pub stop: Option<usize>,
}
