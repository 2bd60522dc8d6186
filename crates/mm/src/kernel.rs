//! `Kernel`: the whole simulated machine — physical memory, files, tasks and their address
//! spaces — and the system calls as methods.
//!
//! System calls live one per file under `ops/`, each an `impl Kernel` block; this file holds
//! the state, configuration, task bookkeeping and the shared VMA machinery (split, merge,
//! zap) that the calls are built from.

use crate::event::{EventKind, EventLog};
use crate::file::{File, FileId, OpenFile, OpenFileId};
use crate::flags::VmFlags;
use crate::frame::{FrameTable, Owner, PageFlags, Pfn};
use crate::layout::*;
use crate::mm::Mm;
use crate::pgtable::{self, Pte, PteFlags};
use crate::vma::{AnonVma, Vma};
use crate::vma_tree::VmaTree;
use abi::{Errno, SysResult};
use std::collections::{BTreeMap, BTreeSet};

/// A process id.
pub type Pid = u32;

/// Transparent huge page mode (`/sys/kernel/mm/transparent_hugepage/enabled`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThpMode {
    /// THP everywhere.
    Always,
    /// Only in MADV_HUGEPAGE regions.
    Madvise,
    /// Never.
    Never,
}

/// Settings of the simulated machine: sysctls, limits, capabilities.
#[derive(Clone, Debug)]
pub struct Config {
    /// Simulated RAM in bytes.
    pub ram_bytes: u64,
    /// `vm.max_map_count`.
    pub max_map_count: u64,
    /// `vm.mmap_min_addr`: MAP_FIXED below it needs CAP_SYS_RAWIO.
    pub mmap_min_addr: u64,
    /// The kernel's effective `mmap_min_addr` (max of the sysctl and the LSM value): hints
    /// are raised to it and top-down placement stops at it.
    pub lsm_mmap_min_addr: u64,
    /// `stack_guard_gap` in bytes.
    pub stack_guard_gap: u64,
    /// `fault_around_bytes`.
    pub fault_around_bytes: u64,
    /// The read-ahead window of the disk files are on (`read_ahead_kb` of its backing
    /// device), in KiB: how much a page-cache miss of a mapped file reads around the page.
    /// 128 is the kernel's default (VM_READAHEAD_PAGES); disks often set more.
    pub read_ahead_kb: u64,
    /// The process has CAP_SYS_RAWIO (root).
    pub cap_sys_rawio: bool,
    /// THP mode; with THP compiled in, large anonymous mappings are 2 MiB-aligned.
    pub thp: ThpMode,
    /// RLIMIT_STACK soft limit in bytes (u64::MAX = unlimited).
    pub rlimit_stack: u64,
    /// RLIMIT_DATA soft limit in bytes.
    pub rlimit_data: u64,
    /// RLIMIT_AS soft limit in bytes.
    pub rlimit_as: u64,
    /// RLIMIT_MEMLOCK soft limit in bytes.
    pub rlimit_memlock: u64,
    /// How many events the log keeps (0 = no log).
    pub event_capacity: usize,
    /// Run every invariant check after every system call (slow; for tests).
    pub paranoid: bool,
    /// The CPU has protection keys (smaps prints a ProtectionKey line).
    pub pkeys: bool,
    /// Pages of the vDSO parts execve maps.
    pub vdso: crate::ops::exec::VdsoLayout,
    /// The bytes of the vDSO's code pages (`[vdso]`), as the kernel being modelled has
    /// them (the caller reads them from the host, e.g. through `/proc/self/mem` at
    /// `AT_SYSINFO_EHDR`). `None`: the pages read as zeros.
    pub vdso_image: Option<std::sync::Arc<[u8]>>,
    /// Processes have CAP_IPC_LOCK (root): mlock ignores RLIMIT_MEMLOCK.
    pub cap_ipc_lock: bool,
    /// Processes have CAP_SYS_ADMIN (root): pagemap shows PFNs, and the overcommit check
    /// does not keep the admin reserve back.
    pub cap_sys_admin: bool,
    /// `vm.overcommit_memory`: 0 heuristic, 1 always, 2 never (strict accounting).
    pub overcommit_memory: u8,
    /// `vm.overcommit_ratio` (percent of RAM in the commit limit when `overcommit_kbytes` is 0).
    pub overcommit_ratio: u64,
    /// `vm.overcommit_kbytes` (0: use the ratio).
    pub overcommit_kbytes: u64,
    /// `vm.admin_reserve_kbytes`; `None` computes Linux's boot default from the RAM size.
    pub admin_reserve_kbytes: Option<u64>,
    /// `vm.user_reserve_kbytes`; `None` computes Linux's boot default from the RAM size.
    pub user_reserve_kbytes: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ram_bytes: 4 << 30,
            max_map_count: 65530,
            mmap_min_addr: 4096,
            lsm_mmap_min_addr: 65536,
            stack_guard_gap: 256 * PAGE_SIZE,
            fault_around_bytes: 64 << 10,
            read_ahead_kb: 128,
            cap_sys_rawio: true,
            thp: ThpMode::Madvise,
            rlimit_stack: 8 << 20,
            rlimit_data: u64::MAX,
            rlimit_as: u64::MAX,
            rlimit_memlock: 8 << 20,
            event_capacity: 100_000,
            paranoid: false,
            pkeys: true,
            vdso: Default::default(),
            vdso_image: None,
            cap_ipc_lock: true,
            cap_sys_admin: true,
            overcommit_memory: 0,
            overcommit_ratio: 50,
            overcommit_kbytes: 0,
            admin_reserve_kbytes: None,
            user_reserve_kbytes: None,
        }
    }
}

/// The resource limits (soft limits, in bytes) a task can set for itself with setrlimit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rlimit {
    /// RLIMIT_STACK: how far a stack may grow.
    Stack,
    /// RLIMIT_DATA: private writable memory and the heap.
    Data,
    /// RLIMIT_AS: the whole address space.
    As,
    /// RLIMIT_MEMLOCK: locked memory without CAP_IPC_LOCK.
    Memlock,
}

/// Limits a task set for itself; `None` means the machine's default from [`Config`] (what
/// the shell that started it set), so `Config` changes still reach tasks that set nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskLimits {
    /// RLIMIT_STACK.
    pub stack: Option<u64>,
    /// RLIMIT_DATA.
    pub data: Option<u64>,
    /// RLIMIT_AS.
    pub as_: Option<u64>,
    /// RLIMIT_MEMLOCK.
    pub memlock: Option<u64>,
}

/// The capabilities the model knows about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cap {
    /// CAP_SYS_RAWIO: MAP_FIXED below `vm.mmap_min_addr`.
    SysRawio,
    /// CAP_IPC_LOCK: mlock beyond RLIMIT_MEMLOCK.
    IpcLock,
    /// CAP_SYS_ADMIN: PFNs in pagemap, the admin reserve of strict overcommit.
    SysAdmin,
}

/// System-wide event counters (`/proc/vmstat`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VmEvents {
    /// pgfault: every fault handled with a VMA found, successful or not (mm_account_fault).
    pub pgfault: u64,
    /// pgmajfault: faults that had to read a page in.
    pub pgmajfault: u64,
    /// pgalloc_normal: pages allocated for user memory and page tables.
    pub pgalloc: u64,
    /// pgfree: pages freed.
    pub pgfree: u64,
    /// unevictable_pgs_mlocked: pages that became mlocked.
    pub mlocked: u64,
    /// unevictable_pgs_munlocked: pages that stopped being mlocked.
    pub munlocked: u64,
    /// pglazyfree: pages MADV_FREE made lazily freeable.
    pub pglazyfree: u64,
    /// pgactivate: pages moved to the active LRU.
    pub pgactivate: u64,
    /// pgdeactivate: pages moved to the inactive LRU.
    pub pgdeactivate: u64,
    /// thp_fault_alloc stays 0 here; kept so the vmstat text lists it.
    pub thp_fault_alloc: u64,
}

/// A task (process or thread).
#[derive(Clone, Debug)]
pub struct Task {
    /// Its id.
    pub pid: Pid,
    /// Parent's id (0 for none).
    pub ppid: Pid,
    /// Its address space, while alive.
    pub mm: Option<usize>,
    /// File descriptors.
    pub fds: BTreeMap<i32, OpenFileId>,
    /// Descriptors with FD_CLOEXEC: execve closes them.
    pub cloexec: BTreeSet<i32>,
    /// Exit status once exited.
    pub exit_code: Option<i32>,
    /// Minor faults.
    pub min_flt: u64,
    /// Major faults.
    pub maj_flt: u64,
    /// Command name.
    pub comm: String,
    /// Limits the task set itself with setrlimit.
    pub limits: TaskLimits,
    /// The task dropped every capability (capset to an empty set).
    pub caps_dropped: bool,
    /// Its execution domain and flags (`personality(2)`): ADDR_NO_RANDOMIZE,
    /// ADDR_COMPAT_LAYOUT, READ_IMPLIES_EXEC, ... Inherited across fork and exec.
    pub personality: u32,
}

/// How a user access went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGSEGV with its si_code and si_addr.
    Segv {
        /// `si_code`.
        code: SegvCode,
        /// `si_addr`.
        addr: u64,
    },
    /// SIGBUS (BUS_ADRERR) at `addr`.
    Bus {
        /// `si_addr`.
        addr: u64,
    },
}

impl Signal {
    /// Signal number.
    pub fn signo(self) -> i32 {
        match self {
            Signal::Segv { .. } => 11,
            Signal::Bus { .. } => 7,
        }
    }
    /// `si_code`.
    pub fn code(self) -> i32 {
        match self {
            Signal::Segv { code, .. } => code as i32,
            Signal::Bus { .. } => 2,
        }
    }
    /// `si_addr`.
    pub fn addr(self) -> u64 {
        match self {
            Signal::Segv { addr, .. } | Signal::Bus { addr } => addr,
        }
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signal::Segv { code, addr } => write!(f, "SIGSEGV ({}) at {addr:#x}", code.name()),
            Signal::Bus { addr } => write!(f, "SIGBUS (BUS_ADRERR) at {addr:#x}"),
        }
    }
}

/// SIGSEGV `si_code` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegvCode {
    /// Address not mapped.
    MapErr = 1,
    /// Access not permitted.
    AccErr = 2,
    /// A non-canonical address (general protection fault).
    Kernel = 128,
}

impl SegvCode {
    /// C name.
    pub fn name(self) -> &'static str {
        match self {
            SegvCode::MapErr => "SEGV_MAPERR",
            SegvCode::AccErr => "SEGV_ACCERR",
            SegvCode::Kernel => "SI_KERNEL",
        }
    }
}

/// What a memory access asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A load.
    Read,
    /// A store.
    Write,
    /// An instruction fetch.
    Exec,
}

/// Everything but the tasks and address spaces: physical memory, files, settings, the log.
#[derive(Clone, Debug)]
pub struct Machine {
    /// Settings.
    pub config: Config,
    /// Physical frames.
    pub frames: FrameTable,
    /// Files by id (None once destroyed).
    pub files: Vec<Option<File>>,
    /// Open file descriptions by id.
    pub opens: Vec<Option<OpenFile>>,
    /// Path → file.
    pub namespace: BTreeMap<String, FileId>,
    /// Event log.
    pub events: EventLog,
    /// Pages charged to the commit limit (`vm_committed_as`, Committed_AS).
    pub committed: u64,
    /// Charges Linux never gives back (see [`Machine::vm_acct_leak`]); kept apart so the
    /// invariant checker can still balance the rest.
    pub committed_leaked: u64,
    /// Event counters.
    pub vmstat: VmEvents,
    /// Set when a page had to be read from the disk since the flag was last cleared (the
    /// fault handler turns it into a major fault).
    pub read_io: bool,
    /// The kernel's copy of the vDSO code ([`Config::vdso_image`]), made when a process
    /// first faults on `[vdso]`: a file the machine holds open, whose pages every `[vdso]`
    /// VMA maps.
    pub vdso_file: Option<FileId>,
    next_anon_vma: u64,
    next_ino: u64,
}

/// The simulated machine.
#[derive(Clone, Debug)]
pub struct Kernel {
    /// Memory, files, settings.
    pub(crate) m: Machine,
    /// Address spaces by id.
    pub(crate) mms: Vec<Option<Mm>>,
    /// Tasks by pid (exited tasks stay, with `mm` None, until reaped).
    pub(crate) tasks: BTreeMap<Pid, Task>,
    /// The tasks using each address space, so that a call finds the limits and capabilities
    /// of its mm's task without scanning every task (twice per mmap).
    mm_tasks: BTreeMap<usize, BTreeSet<Pid>>,
    next_pid: Pid,
}

impl Machine {
    /// A new anon_vma identity.
    pub fn new_anon_vma(&mut self, inherited: bool) -> AnonVma {
        self.next_anon_vma += 1;
        AnonVma { id: self.next_anon_vma, inherited }
    }

    /// A new inode number for a model-created file.
    pub fn new_ino(&mut self) -> u64 {
        self.next_ino += 1;
        self.next_ino
    }

    /// The file with this id.
    pub fn file(&self, id: FileId) -> &File {
        self.files[id.0 as usize].as_ref().expect("dangling file id")
    }

    /// The file with this id, mutably.
    pub fn file_mut(&mut self, id: FileId) -> &mut File {
        self.files[id.0 as usize].as_mut().expect("dangling file id")
    }

    /// The open file description with this id.
    pub fn open_file(&self, id: OpenFileId) -> &OpenFile {
        self.opens[id.0 as usize].as_ref().expect("dangling open file id")
    }

    /// Takes a reference on an open file description (a new fd or VMA uses it).
    pub fn get_open(&mut self, id: OpenFileId) {
        self.opens[id.0 as usize].as_mut().expect("dangling open file id").refs += 1;
    }

    /// Drops a reference on an open file description, releasing it (and maybe its file).
    pub fn put_open(&mut self, id: OpenFileId) {
        let o = self.opens[id.0 as usize].as_mut().expect("dangling open file id");
        o.refs -= 1;
        if o.refs == 0 {
            let file = o.file;
            self.opens[id.0 as usize] = None;
            let f = self.file_mut(file);
            f.opens -= 1;
            self.maybe_destroy_file(file);
        }
    }

    /// Adds a file; returns its id.
    pub fn add_file(&mut self, file: File) -> FileId {
        let id = FileId(self.files.len() as u32);
        self.files.push(Some(file));
        id
    }

    /// Opens a file description on `file`, with one reference.
    pub fn add_open(&mut self, file: FileId, readable: bool, writable: bool) -> OpenFileId {
        self.file_mut(file).opens += 1;
        let id = OpenFileId(self.opens.len() as u32);
        self.opens.push(Some(OpenFile { file, readable, writable, refs: 1, pos: 0 }));
        id
    }

    /// Frees a file's page cache and the file once it has no names and no users; a shmem
    /// object gives its commit charge back (shmem_evict_inode).
    pub fn maybe_destroy_file(&mut self, id: FileId) {
        let f = self.file(id);
        if f.nlink > 0 || f.opens > 0 {
            return;
        }
        let acct = f.acct_pages;
        let pages: Vec<Pfn> = f.cache.frames().collect();
        self.vm_unacct_memory(acct);
        for pfn in pages {
            self.frames.put(pfn);
        }
        self.files[id.0 as usize] = None;
    }

    /// The frame holding page `index` of `file`, reading it into the page cache if needed.
    /// `None` when out of memory.
    pub fn cache_page(&mut self, file: FileId, index: u64) -> Option<Pfn> {
        if let Some(pfn) = self.file(file).cache.get(index) {
            return Some(pfn);
        }
        // A regular-file page that was evicted is read back from the disk: a major fault.
        if self.file_mut(file).evicted.remove(&index) {
            self.read_io = true;
        }
        // A memfd charges each page it allocates (shmem_acct_blocks).
        if self.file(file).acct_per_page {
            self.vm_acct_memory(1);
            self.file_mut(file).acct_pages += 1;
        }
        let shmem = self.file(file).kind != crate::file::FileKind::Regular;
        let mut flags = PageFlags::UPTODATE;
        // Just-written initial contents are dirty; a hole read in is a clean page of zeros.
        if self.file(file).unwritten && index < self.file(file).source_pages() {
            flags |= PageFlags::DIRTY;
        }
        if shmem {
            flags |= PageFlags::SWAPBACKED;
        }
        // Flags are the folio's: a page of a large folio takes its siblings' LRU state and
        // dirtiness (which may differ from the file's initial state after a writeback).
        let (fstart, order) = self.file(file).folio_of(index);
        let sibling = (fstart..fstart + (1u64 << order)).find_map(|i| self.file(file).cache.get(i));
        if let Some(sib) = sibling {
            flags -= PageFlags::DIRTY;
            flags |= self.frames.meta(sib).flags & (PageFlags::REFERENCED | PageFlags::ACTIVE | PageFlags::DIRTY);
        }
        let pfn = self.frames.alloc(Owner::File { file: file.0, index: u32::try_from(index).ok()? }, flags)?;
        if !shmem {
            let data = self.file(file).source_page(index);
            self.frames.fill(pfn, &data);
        }
        self.file_mut(file).cache.insert(index, pfn);
        Some(pfn)
    }

    /// folio_mark_dirty: the whole folio holding `pfn` becomes dirty (smaps then counts
    /// every mapped page of it as dirty).
    pub fn folio_mark_dirty(&mut self, pfn: Pfn) {
        if pfn == self.frames.zero_pfn() {
            return;
        }
        self.update_folio(pfn, |m| m.flags |= PageFlags::DIRTY);
    }

    /// Applies `f` to the metadata of every frame of the folio holding `pfn`, without
    /// collecting them first (munmap of a file mapping does this once a folio).
    fn update_folio(&mut self, pfn: Pfn, mut f: impl FnMut(&mut crate::frame::FrameMeta)) {
        match self.large_folio(pfn) {
            Some((file, pages)) => {
                // `files` and `frames` borrowed apart: the folio's frames change as it is walked.
                let fl = self.files[file.0 as usize].as_ref().expect("file of a cached page");
                for (_, p) in fl.cache.range(pages) {
                    f(self.frames.meta_mut(p));
                }
            }
            None => f(self.frames.meta_mut(pfn)),
        }
    }

    /// The file and page range of the large page-cache folio holding `pfn`, if it is in one.
    fn large_folio(&self, pfn: Pfn) -> Option<(FileId, std::ops::Range<u64>)> {
        let Owner::File { file, index } = self.frames.meta(pfn).owner else { return None };
        let f = self.files.get(file as usize)?.as_ref()?;
        let (start, order) = f.folio_of(u64::from(index));
        (order > 0).then(|| (FileId(file), start..start + (1u64 << order)))
    }

    /// mark_page_accessed on the folio holding `pfn` (classic LRU): the first touch sets
    /// PG_referenced; the next activates the folio and clears it; later touches set it again.
    pub fn mark_accessed(&mut self, pfn: Pfn) {
        if pfn == self.frames.zero_pfn() {
            return;
        }
        let flags = self.frames.meta(pfn).flags;
        self.update_folio(pfn, |m| {
            if !flags.contains(PageFlags::REFERENCED) {
                m.flags |= PageFlags::REFERENCED;
            } else if flags.contains(PageFlags::MLOCKED) {
                // An mlocked folio sits on the unevictable list, which is never rotated:
                // a further access changes nothing.
            } else if !flags.contains(PageFlags::ACTIVE) {
                m.flags |= PageFlags::ACTIVE;
                m.flags -= PageFlags::REFERENCED;
            }
        });
    }

    /// Identifies the page-cache folio holding `pfn`: (file, first index).
    pub fn folio_key(&self, pfn: Pfn) -> (u32, u64) {
        match self.frames.meta(pfn).owner {
            Owner::File { file, index } => {
                let index = u64::from(index);
                let start = self.files.get(file as usize).and_then(|f| f.as_ref()).map(|f| f.folio_of(index).0);
                (file, start.unwrap_or(index))
            }
            _ => (u32::MAX, pfn),
        }
    }

    /// The frames of the folio holding `pfn` (a large page-cache folio, or just `pfn`).
    pub fn folio_pfns(&self, pfn: Pfn) -> Vec<Pfn> {
        match self.large_folio(pfn) {
            Some((file, pages)) => self.file(file).cache.range(pages).map(|(_, p)| p).collect(),
            None => vec![pfn],
        }
    }

    /// Brings page `index` of a regular file into the page cache if it is not there, the way
    /// a fault on it does: mmap read-around reads the read-ahead window centred on it
    /// ([`Config::read_ahead_kb`], pages past EOF excluded), each page in an order-0 folio;
    /// a never-written page (a hole) comes in as a clean page of zeros. Returns whether it
    /// had to (a major fault).
    pub fn read_around(&mut self, file: FileId, index: u64) -> Option<bool> {
        let f = self.file(file);
        if f.kind != crate::file::FileKind::Regular || f.page_cached(index) {
            return Some(false);
        }
        let window = (self.config.read_ahead_kb >> (PAGE_SHIFT - 10)).max(1);
        let lo = index.saturating_sub(window / 2);
        let hi = (lo + window).min(f.size_pages());
        for i in lo..hi {
            if !self.file(file).page_cached(i) {
                self.cache_page(file, i)?;
            }
        }
        // The fault that needed this is a major one.
        self.read_io = true;
        Some(true)
    }

    /// Charges `pages` to the commit limit without checking it (vm_acct_memory).
    pub fn vm_acct_memory(&mut self, pages: u64) {
        self.committed += pages;
    }

    /// Gives `pages` back (vm_unacct_memory).
    pub fn vm_unacct_memory(&mut self, pages: u64) {
        debug_assert!(self.committed >= pages, "commit charge underflow");
        self.committed = self.committed.saturating_sub(pages);
    }

    /// Records a charge Linux keeps although no VMA or object holds it any more (the old
    /// VMA of MREMAP_DONTUNMAP loses VM_ACCOUNT without an uncharge; a stack without
    /// VM_ACCOUNT is charged when it grows but never uncharged).
    pub fn vm_acct_leak(&mut self, pages: u64) {
        self.committed_leaked += pages;
    }

    /// RAM pages the kernel manages (totalram_pages, MemTotal).
    pub fn totalram_pages(&self) -> u64 {
        self.frames.total_frames()
    }

    /// `vm.admin_reserve_kbytes`: the boot default is min(3% of free memory, 8 MiB)
    /// (init_admin_reserve).
    pub fn admin_reserve_kbytes(&self) -> u64 {
        self.config.admin_reserve_kbytes.unwrap_or(((self.totalram_pages() * 4) / 32).min(8 << 10))
    }

    /// `vm.user_reserve_kbytes`: the boot default is min(3% of free memory, 128 MiB)
    /// (init_user_reserve).
    pub fn user_reserve_kbytes(&self) -> u64 {
        self.config.user_reserve_kbytes.unwrap_or(((self.totalram_pages() * 4) / 32).min(128 << 10))
    }

    /// CommitLimit in pages (vm_commit_limit): `overcommit_kbytes`, or `overcommit_ratio`
    /// percent of RAM; no swap in the model.
    pub fn commit_limit(&self) -> u64 {
        let c = &self.config;
        if c.overcommit_kbytes != 0 {
            c.overcommit_kbytes >> (PAGE_SHIFT - 10)
        } else {
            self.totalram_pages() * c.overcommit_ratio / 100
        }
    }

    /// Whether `pages` more may be committed (__vm_enough_memory): always in mode 1; in
    /// mode 0 unless a single request exceeds RAM plus swap; in mode 2 while Committed_AS
    /// stays below the commit limit less the admin reserve (without CAP_SYS_ADMIN) and less
    /// a user reserve of min(total_vm / 32, user_reserve_kbytes). Does not charge.
    pub fn vm_enough_memory(&self, pages: u64, total_vm: Option<u64>, cap_sys_admin: bool) -> bool {
        match self.config.overcommit_memory {
            1 => true,
            2 => {
                let mut allowed = self.commit_limit() as i64;
                if !cap_sys_admin {
                    allowed -= (self.admin_reserve_kbytes() >> (PAGE_SHIFT - 10)) as i64;
                }
                if let Some(total_vm) = total_vm {
                    let reserve = self.user_reserve_kbytes() >> (PAGE_SHIFT - 10);
                    allowed -= (total_vm / 32).min(reserve) as i64;
                }
                ((self.committed + pages) as i64) < allowed
            }
            _ => pages <= self.totalram_pages(),
        }
    }

    /// Whether `pfn` belongs to a large page-cache folio. Linux mlocks such a folio only when
    /// one mlock() covers all of it, and never at fault time; the model leaves them all
    /// unlocked.
    pub fn in_large_folio(&self, pfn: Pfn) -> bool {
        self.large_folio(pfn).is_some()
    }

    /// Marks a frame mapped once more from a VM_LOCKED VMA (mlock_vma_folio): the first such
    /// mapping sets PG_mlocked.
    pub fn mlock_page(&mut self, pfn: Pfn) {
        if pfn == self.frames.zero_pfn() || self.in_large_folio(pfn) {
            return;
        }
        self.frames.mlock_count_inc(pfn);
        let m = self.frames.meta_mut(pfn);
        if !m.flags.contains(PageFlags::MLOCKED) {
            m.flags |= PageFlags::MLOCKED;
            self.vmstat.mlocked += 1;
        }
    }

    /// Undoes [`Machine::mlock_page`] (munlock_vma_folio): the last locked mapping gone
    /// clears PG_mlocked.
    pub fn munlock_page(&mut self, pfn: Pfn) {
        if pfn == self.frames.zero_pfn() || self.in_large_folio(pfn) {
            return;
        }
        debug_assert!(self.frames.mlock_count(pfn) > 0, "munlock of a page that is not mlocked");
        let left = self.frames.mlock_count_dec(pfn);
        let m = self.frames.meta_mut(pfn);
        if left == 0 && m.flags.contains(PageFlags::MLOCKED) {
            m.flags -= PageFlags::MLOCKED;
            self.vmstat.munlocked += 1;
        }
    }

    /// Logs an event.
    pub fn log(&mut self, pid: Pid, addr: u64, write: bool, kind: EventKind) {
        self.events.push(pid, addr, write, kind);
    }

    /// Which RSS counter a mapped frame belongs to.
    pub fn rss_kind(&self, pfn: Pfn) -> RssKind {
        match self.frames.meta(pfn).owner {
            Owner::Anon => RssKind::Anon,
            Owner::File { file, .. } => match self.files[file as usize].as_ref().map(|f| f.kind) {
                Some(crate::file::FileKind::Regular) | None => RssKind::File,
                Some(_) => RssKind::Shmem,
            },
            _ => RssKind::File,
        }
    }
}

/// The three RSS counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RssKind {
    /// Anonymous pages.
    Anon,
    /// File pages.
    File,
    /// Shmem pages.
    Shmem,
}

/// Adds `delta` pages to one RSS counter.
pub fn rss_add(mm: &mut Mm, kind: RssKind, delta: i64) {
    if delta < 0 {
        mm.update_hiwater_rss();
    }
    let c = match kind {
        RssKind::Anon => &mut mm.rss.anon,
        RssKind::File => &mut mm.rss.file,
        RssKind::Shmem => &mut mm.rss.shmem,
    };
    *c = c.wrapping_add_signed(delta);
}

/// Accounts `pages` of a VMA with `flags` to the mm's per-kind counters (vm_stat_account).
pub fn vm_stat_account(mm: &mut Mm, flags: VmFlags, pages: i64) {
    if pages < 0 {
        mm.update_hiwater_vm();
    }
    mm.total_vm = mm.total_vm.wrapping_add_signed(pages);
    if flags.contains(VmFlags::LOCKED) {
        mm.locked_vm = mm.locked_vm.wrapping_add_signed(pages);
    }
    let stack = flags.contains(VmFlags::GROWSDOWN);
    if flags.contains(VmFlags::EXEC) && !flags.contains(VmFlags::WRITE) && !stack {
        mm.exec_vm = mm.exec_vm.wrapping_add_signed(pages);
    } else if stack {
        mm.stack_vm = mm.stack_vm.wrapping_add_signed(pages);
    } else if flags & (VmFlags::WRITE | VmFlags::SHARED) == VmFlags::WRITE {
        mm.data_vm = mm.data_vm.wrapping_add_signed(pages);
    }
}

/// Whether the anon_vmas of two neighbours allow a merge (is_mergeable_anon_vma).
fn anon_compatible(a: Option<AnonVma>, b: Option<AnonVma>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => x.id == y.id,
        (Some(x), None) | (None, Some(x)) => !x.inherited,
    }
}

/// Whether `lo` and `hi` (adjacent, `lo` below) can be one VMA (Linux's merge rules).
pub fn can_merge(lo: &Vma, hi: &Vma) -> bool {
    lo.end == hi.start
        && lo.special.is_none()
        && hi.special.is_none()
        && !lo.flags.intersects(VmFlags::SPECIAL)
        && (lo.flags - VmFlags::IGNORE_MERGE) == (hi.flags - VmFlags::IGNORE_MERGE)
        && lo.file == hi.file
        && lo.pgoff.wrapping_add(lo.pages()) == hi.pgoff
        && anon_compatible(lo.anon_vma, hi.anon_vma)
}

impl Kernel {
    /// A machine with no tasks.
    pub fn new(config: Config) -> Self {
        let frames = FrameTable::new(config.ram_bytes / PAGE_SIZE);
        let events = EventLog::new(config.event_capacity);
        Kernel {
            m: Machine {
                config,
                frames,
                files: Vec::new(),
                opens: Vec::new(),
                namespace: BTreeMap::new(),
                events,
                committed: 0,
                committed_leaked: 0,
                vmstat: VmEvents::default(),
                read_io: false,
                vdso_file: None,
                next_anon_vma: 0,
                next_ino: 1000,
            },
            mms: Vec::new(),
            tasks: BTreeMap::new(),
            mm_tasks: BTreeMap::new(),
            next_pid: 1000,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.m.config
    }

    /// The configuration, to change a setting (a sysctl, a limit the shell set) between
    /// calls. Changes reach tasks that did not set their own limits; the RAM size is fixed
    /// once the machine is made.
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.m.config
    }

    /// Physical memory, files, counters and the event log, read-only: what /proc views and
    /// front ends show. Changes go through the kernel's calls.
    pub fn machine(&self) -> &Machine {
        &self.m
    }

    /// The file with this id (it must not have been destroyed).
    pub fn file(&self, id: FileId) -> &File {
        self.m.file(id)
    }

    /// Every file that still exists, with its id.
    pub fn files(&self) -> impl Iterator<Item = (FileId, &File)> {
        self.m.files.iter().enumerate().filter_map(|(i, f)| Some((FileId(i as u32), f.as_ref()?)))
    }

    /// Every task, exited ones not yet reaped included, by pid.
    pub fn tasks(&self) -> impl Iterator<Item = &Task> {
        self.tasks.values()
    }

    /// The mm id of a live task, or ESRCH.
    pub fn mm_id(&self, pid: Pid) -> SysResult<usize> {
        self.tasks.get(&pid).and_then(|t| t.mm).ok_or(Errno::ESRCH)
    }

    /// The address space of a live task.
    pub fn mm(&self, pid: Pid) -> SysResult<&Mm> {
        let id = self.mm_id(pid)?;
        Ok(self.mms[id].as_ref().expect("task points at a freed mm"))
    }

    /// A task.
    pub fn task(&self, pid: Pid) -> Option<&Task> {
        self.tasks.get(&pid)
    }

    /// The task whose address space is `id` (the one a system call on that mm runs in).
    pub(crate) fn task_of_mm(&self, id: usize) -> Option<&Task> {
        let pid = self.mm_tasks.get(&id)?.first()?;
        self.tasks.get(pid)
    }

    /// Records that task `pid` now uses mm `id` (its `mm` field is set by the caller).
    pub(crate) fn attach_mm(&mut self, pid: Pid, id: usize) {
        self.mm_tasks.entry(id).or_default().insert(pid);
    }

    /// Records that task `pid` no longer uses mm `id`.
    pub(crate) fn detach_mm(&mut self, pid: Pid, id: usize) {
        if let Some(set) = self.mm_tasks.get_mut(&id) {
            set.remove(&pid);
            if set.is_empty() {
                self.mm_tasks.remove(&id);
            }
        }
    }

    /// The tasks using each mm, as recorded (for the invariant check).
    pub(crate) fn mm_tasks(&self) -> &BTreeMap<usize, BTreeSet<Pid>> {
        &self.mm_tasks
    }

    /// The soft limit `r` of the task using mm `id`, in bytes (u64::MAX = unlimited).
    pub fn rlimit(&self, id: usize, r: Rlimit) -> u64 {
        let own = self.task_of_mm(id).map(|t| t.limits).unwrap_or_default();
        let c = &self.m.config;
        match r {
            Rlimit::Stack => own.stack.unwrap_or(c.rlimit_stack),
            Rlimit::Data => own.data.unwrap_or(c.rlimit_data),
            Rlimit::As => own.as_.unwrap_or(c.rlimit_as),
            Rlimit::Memlock => own.memlock.unwrap_or(c.rlimit_memlock),
        }
    }

    /// Whether the task using mm `id` has capability `cap`.
    pub fn capable(&self, id: usize, cap: Cap) -> bool {
        if self.task_of_mm(id).is_some_and(|t| t.caps_dropped) {
            return false;
        }
        let c = &self.m.config;
        match cap {
            Cap::SysRawio => c.cap_sys_rawio,
            Cap::IpcLock => c.cap_ipc_lock,
            Cap::SysAdmin => c.cap_sys_admin,
        }
    }

    /// security_vm_enough_memory_mm for mm `id`: whether `pages` more may be committed
    /// (the check only; the charge follows from the VMA or object that takes the pages).
    pub(crate) fn may_commit(&self, id: usize, pages: u64) -> bool {
        let total_vm = self.mms.get(id).and_then(|m| m.as_ref()).map(|m| m.total_vm);
        self.m.vm_enough_memory(pages, total_vm, self.capable(id, Cap::SysAdmin))
    }

    pub(crate) fn mm_mut(&mut self, id: usize) -> &mut Mm {
        self.mms[id].as_mut().expect("freed mm")
    }

    /// Allocates a pid.
    pub(crate) fn alloc_pid(&mut self) -> Pid {
        let p = self.next_pid;
        self.next_pid += 1;
        p
    }

    /// The mmap_base Linux computes without ASLR for a stack rlimit (arch/x86/mm/mmap.c).
    pub fn mmap_base_for(rlimit_stack: u64, guard_gap: u64) -> u64 {
        crate::ops::exec::mmap_base(rlimit_stack, guard_gap, false, 0)
    }

    /// Creates a process with an empty address space (no VMAs), as a starting point for
    /// scenarios and for `exec`.
    pub fn spawn_empty(&mut self, comm: &str) -> SysResult<Pid> {
        let id = self.new_mm()?;
        let pid = self.alloc_pid();
        self.tasks.insert(
            pid,
            Task {
                pid,
                ppid: 0,
                mm: Some(id),
                fds: BTreeMap::new(),
                cloexec: BTreeSet::new(),
                exit_code: None,
                min_flt: 0,
                maj_flt: 0,
                comm: comm.to_string(),
                limits: TaskLimits::default(),
                caps_dropped: false,
                personality: 0,
            },
        );
        self.attach_mm(pid, id);
        Ok(pid)
    }

    /// Allocates an address space with no VMAs and one user (mm_alloc), laid out for the
    /// configured stack limit without randomization.
    pub(crate) fn new_mm(&mut self) -> SysResult<usize> {
        let pgd = pgtable::alloc_root(&mut self.m.frames).ok_or(Errno::ENOMEM)?;
        let base = Self::mmap_base_for(self.m.config.rlimit_stack, self.m.config.stack_guard_gap);
        let mm = Mm {
            vmas: VmaTree::new(self.m.config.stack_guard_gap),
            pgd,
            users: 1,
            count: 1,
            mmap_base: base,
            mmap_legacy_base: TASK_UNMAPPED_BASE,
            legacy_layout: false,
            start_brk: 0,
            brk: 0,
            start_stack: 0,
            start_code: 0,
            end_code: 0,
            start_data: 0,
            end_data: 0,
            arg_start: 0,
            arg_end: 0,
            env_start: 0,
            env_end: 0,
            total_vm: 0,
            locked_vm: 0,
            locked_vm_stale: 0,
            pinned_vm: 0,
            data_vm: 0,
            exec_vm: 0,
            stack_vm: 0,
            hiwater_vm: 0,
            hiwater_rss: 0,
            rss: Default::default(),
            pgtable_pages: 0,
            thp_disabled: false,
            def_flags: VmFlags::empty(),
        };
        Ok(self.insert_mm(mm))
    }

    pub(crate) fn insert_mm(&mut self, mm: Mm) -> usize {
        if let Some(i) = self.mms.iter().position(|m| m.is_none()) {
            self.mms[i] = Some(mm);
            i
        } else {
            self.mms.push(Some(mm));
            self.mms.len() - 1
        }
    }

    // ---- VMA machinery shared by the calls ----

    /// Inserts a VMA into an mm, taking the file reference and accounting its pages.
    pub(crate) fn vma_link(&mut self, id: usize, vma: Vma) {
        if let Some(f) = vma.file {
            self.m.get_open(f.open);
        }
        // An accounted VMA holds its pages' commit charge; callers that must check the
        // limit (mmap, fork, brk) do so before linking.
        if vma.flags.contains(VmFlags::ACCOUNT) {
            self.m.vm_acct_memory(vma.pages());
        }
        let mm = self.mms[id].as_mut().expect("freed mm");
        vm_stat_account(mm, vma.flags, vma.pages() as i64);
        mm.vmas.insert(vma);
    }

    /// Removes a VMA (whose pages must already be zapped), dropping its file reference and
    /// accounting.
    pub(crate) fn vma_unlink(&mut self, id: usize, start: u64) -> Vma {
        let mm = self.mms[id].as_mut().expect("freed mm");
        let vma = mm.vmas.remove(start).expect("unlink of a missing VMA");
        vm_stat_account(mm, vma.flags, -(vma.pages() as i64));
        if vma.flags.contains(VmFlags::ACCOUNT) {
            self.m.vm_unacct_memory(vma.pages());
        }
        if let Some(f) = vma.file {
            self.m.put_open(f.open);
        }
        vma
    }

    /// Splits the VMA containing `at` so that a VMA starts at `at` (no map_count check: the
    /// caller decides). No-op if a VMA already starts there or none contains it.
    pub(crate) fn split_at(&mut self, id: usize, at: u64) {
        let mm = self.mm_mut(id);
        let Some(v) = mm.vmas.containing(at).cloned() else { return };
        if v.start == at {
            return;
        }
        let upper = v.slice(at, v.end);
        mm.vmas.update(v.start, |x| x.end = at);
        if let Some(f) = upper.file {
            self.m.get_open(f.open);
        }
        self.mm_mut(id).vmas.insert(upper);
    }

    /// Merges the VMA starting at `start` with its neighbours where Linux would.
    /// Returns the start of the resulting VMA.
    pub(crate) fn try_merge_around(&mut self, id: usize, start: u64) -> u64 {
        let mut start = start;
        let mm = self.mm_mut(id);
        let cur = mm.vmas.get(start).cloned().expect("merge of a missing VMA");
        if let Some(prev) = mm.vmas.before(start).cloned() {
            if can_merge(&prev, &cur) {
                self.merge_pair(id, prev.start, cur.start);
                start = prev.start;
            }
        }
        let mm = self.mm_mut(id);
        let cur = mm.vmas.get(start).cloned().expect("merged VMA vanished");
        if let Some(next) = mm.vmas.after(start).cloned() {
            if can_merge(&cur, &next) {
                self.merge_pair(id, cur.start, next.start);
            }
        }
        start
    }

    /// Joins two adjacent mergeable VMAs into the lower one.
    fn merge_pair(&mut self, id: usize, lo: u64, hi: u64) {
        let mm = self.mm_mut(id);
        let upper = mm.vmas.remove(hi).expect("merge of a missing VMA");
        let anon = upper.anon_vma;
        mm.vmas.update(lo, |v| {
            v.end = upper.end;
            if v.anon_vma.is_none() {
                v.anon_vma = anon;
            }
        });
        if let Some(f) = upper.file {
            self.m.put_open(f.open);
        }
    }

    /// Clears every PTE in `[start, end)` of an mm, dropping page references and RSS
    /// (zap_page_range). Page tables stay; see [`Kernel::free_pgtables`].
    pub(crate) fn zap_range(&mut self, id: usize, start: u64, end: u64) {
        // Per VMA, because unmapping a young PTE of a page-cache page counts as an access
        // of that page unless the VMA declared its access pattern (vma_has_recency).
        let vmas: Vec<(u64, u64, VmFlags)> = self.mms[id]
            .as_ref()
            .expect("freed mm")
            .vmas
            .range(start, end)
            .map(|v| (v.start.max(start), v.end.min(end), v.flags))
            .collect();
        for (lo, hi, flags) in vmas {
            self.zap_vma_range(id, lo, hi, flags);
        }
    }

    /// Zaps `[start, end)`, which lies in one VMA with flags `vm_flags`.
    pub(crate) fn zap_vma_range(&mut self, id: usize, start: u64, end: u64, vm_flags: VmFlags) {
        let recency = !vm_flags.intersects(VmFlags::SEQ_READ | VmFlags::RAND_READ);
        let locked = vm_flags.contains(VmFlags::LOCKED);
        let pgd = self.mms[id].as_ref().expect("freed mm").pgd;
        let tables = pgtable::leaf_tables(&self.m.frames, pgd, start, end);
        let zero = self.m.frames.zero_pfn();
        let mut anon = 0i64;
        let mut file = 0i64;
        let mut shmem = 0i64;
        let mut batch: Option<((u32, u64), u64, bool, Pfn)> = None;
        for (base, table) in tables {
            let lo = start.max(base);
            let hi = end.min(base + PMD_SIZE);
            for va in (lo..hi).step_by(PAGE_SIZE as usize) {
                let i = pgtable::index(va, 0);
                let pte = Pte(self.m.frames.table(table)[i]);
                if pte.is_none() {
                    continue;
                }
                self.m.frames.table_mut(table)[i] = 0;
                let pfn = pte.pfn();
                if pfn == zero {
                    continue;
                }
                match self.m.rss_kind(pfn) {
                    RssKind::Anon => anon -= 1,
                    RssKind::File => file -= 1,
                    RssKind::Shmem => shmem -= 1,
                }
                if locked {
                    self.m.munlock_page(pfn);
                }
                let meta = self.m.frames.meta_mut(pfn);
                meta.mapcount -= 1;
                let is_file = matches!(meta.owner, Owner::File { .. });
                if pte.dirty() && is_file {
                    self.m.folio_mark_dirty(pfn);
                }
                if is_file && recency {
                    // zap handles the PTEs of one folio as a batch: one access for the batch
                    // if any of them is young.
                    let key = self.m.folio_key(pfn);
                    let young = pte.flags().contains(PteFlags::ACCESSED);
                    match &mut batch {
                        Some((k, end, y, _)) if *k == key && *end == va => {
                            *y |= young;
                            *end = va + PAGE_SIZE;
                        }
                        _ => {
                            if let Some((_, _, true, p)) = batch.take() {
                                self.m.mark_accessed(p);
                            }
                            batch = Some((key, va + PAGE_SIZE, young, pfn));
                        }
                    }
                }
                self.m.frames.put(pfn);
            }
        }
        if let Some((_, _, true, p)) = batch {
            self.m.mark_accessed(p);
        }
        let mm = self.mm_mut(id);
        rss_add(mm, RssKind::Anon, anon);
        rss_add(mm, RssKind::File, file);
        rss_add(mm, RssKind::Shmem, shmem);
    }

    /// Frees page tables left without any VMA between the neighbours of a hole (free_pgtables).
    pub(crate) fn free_pgtables(&mut self, id: usize, hole_start: u64, hole_end: u64) {
        let mm = self.mms[id].as_ref().expect("freed mm");
        let floor = mm.vmas.prev_of(hole_start).map(|v| v.end).unwrap_or(0);
        let ceiling = mm.vmas.next_of(hole_end).map(|v| v.start).unwrap_or(0);
        let pgd = mm.pgd;
        let freed = pgtable::free_tables(&mut self.m.frames, pgd, hole_start, hole_end, floor, ceiling);
        self.mm_mut(id).pgtable_pages -= freed;
    }

    /// Gives a VMA an anon_vma if it has none (anon_vma_prepare), reusing a mergeable
    /// neighbour's as Linux does so that the two can still merge.
    pub(crate) fn anon_vma_prepare(&mut self, id: usize, start: u64) {
        let mm = self.mms[id].as_ref().expect("freed mm");
        let v = mm.vmas.get(start).expect("missing VMA");
        if v.anon_vma.is_some() {
            return;
        }
        let mut reuse = None;
        let mut probe = v.clone();
        // find_mergeable_anon_vma tries the next VMA first, then the previous one.
        for n in [mm.vmas.after(start), mm.vmas.before(start)].into_iter().flatten() {
            if let Some(a) = n.anon_vma {
                if a.inherited {
                    continue;
                }
                probe.anon_vma = Some(a);
                let (lo, hi) = if n.start < v.start { (n, &probe) } else { (&probe, n) };
                let ok = lo.end == hi.start
                    && (lo.flags - VmFlags::IGNORE_MERGE - VmFlags::ACCESS)
                        == (hi.flags - VmFlags::IGNORE_MERGE - VmFlags::ACCESS)
                    && lo.file == hi.file
                    && lo.pgoff.wrapping_add(lo.pages()) == hi.pgoff;
                if ok {
                    reuse = Some(a);
                    break;
                }
            }
        }
        let a = match reuse {
            Some(a) => a,
            None => self.m.new_anon_vma(false),
        };
        self.mm_mut(id).vmas.update(start, |v| v.anon_vma = Some(a));
    }

    /// Installs a PTE at `va`, allocating page tables. `Err(())` when out of memory.
    pub(crate) fn set_pte(&mut self, id: usize, va: u64, pte: Pte) -> Result<(), ()> {
        let pgd = self.mms[id].as_ref().expect("freed mm").pgd;
        let mut new = 0;
        let t = pgtable::leaf_table_alloc(&mut self.m.frames, pgd, va, &mut new).ok_or(())?;
        self.mm_mut(id).pgtable_pages += new;
        self.m.frames.table_mut(t)[pgtable::index(va, 0)] = pte.0;
        Ok(())
    }

    /// The PTE mapping `va` in an mm.
    pub fn pte(&self, id: usize, va: u64) -> Pte {
        let pgd = self.mms[id].as_ref().expect("freed mm").pgd;
        pgtable::lookup(&self.m.frames, pgd, va)
    }

    /// The PTE flags a VMA's pages get when mapped for `write` (vm_page_prot plus the
    /// write/dirty bits of the faulting access).
    pub(crate) fn pte_flags_for(&self, vma: &Vma, writable: bool, dirty: bool) -> PteFlags {
        let mut f = PteFlags::USER | PteFlags::ACCESSED;
        if vma.flags.intersects(VmFlags::READ | VmFlags::WRITE | VmFlags::EXEC) {
            f |= PteFlags::PRESENT;
        } else {
            f |= crate::pgtable::PROTNONE;
        }
        if writable {
            f |= PteFlags::WRITABLE;
        }
        if dirty {
            f |= PteFlags::DIRTY;
        }
        if !vma.flags.contains(VmFlags::EXEC) {
            f |= PteFlags::NX;
        }
        f
    }
}
