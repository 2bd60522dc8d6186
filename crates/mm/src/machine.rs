//! The machine under the processes: physical frames, files and their page cache, open file
//! descriptions, the commit charge, event counters and the event log, with the page-level
//! operations on them (reading a page into the cache, marking folios dirty, accessed or
//! mlocked) that do not depend on any one address space.

use crate::accounting::RssKind;
use crate::config::Config;
use crate::event::{EventKind, EventLog};
use crate::file::{File, FileId, OpenFile, OpenFileId};
use crate::folio_batch::MlockEntry;
use crate::frame::{FrameTable, Owner, PageFlags, Pfn};
use crate::kernel::Pid;
use crate::layout::*;
use crate::vma::AnonVma;
use std::collections::BTreeMap;

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
    /// oom_kill: processes the OOM killer killed.
    pub oom_kill: u64,
    /// pgscan_kswapd: inactive pages kswapd scanned.
    pub pgscan_kswapd: u64,
    /// pgscan_direct: inactive pages direct and memcg reclaim scanned.
    pub pgscan_direct: u64,
    /// pgsteal_kswapd: pages kswapd freed.
    pub pgsteal_kswapd: u64,
    /// pgsteal_direct: pages direct and memcg reclaim freed.
    pub pgsteal_direct: u64,
    /// pgscan_anon: inactive anonymous pages scanned.
    pub pgscan_anon: u64,
    /// pgscan_file: inactive file pages scanned.
    pub pgscan_file: u64,
    /// pgsteal_anon: anonymous pages reclaimed.
    pub pgsteal_anon: u64,
    /// pgsteal_file: file pages reclaimed.
    pub pgsteal_file: u64,
    /// pgrefill: active pages scanned for aging.
    pub pgrefill: u64,
    /// pglazyfreed: lazily freed pages reclaim discarded.
    pub pglazyfreed: u64,
    /// workingset_refault_anon: reclaimed anonymous pages read back from swap.
    pub workingset_refault_anon: u64,
    /// workingset_refault_file: evicted file pages read back.
    pub workingset_refault_file: u64,
    /// pageoutrun: kswapd wake-ups.
    pub pageoutrun: u64,
    /// allocstall_normal: machine-wide direct reclaim runs.
    pub allocstall: u64,
    /// nr_vmscan_write: dirty pages reclaim wrote (to swap or to their file).
    pub nr_vmscan_write: u64,
    /// drop_pagecache: writes of 1 or 3 to drop_caches.
    pub drop_pagecache: u64,
    /// drop_slab: writes of 2 or 3 to drop_caches.
    pub drop_slab: u64,
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
    pub(crate) opens: Vec<Option<OpenFile>>,
    /// Path → file.
    pub(crate) namespace: BTreeMap<String, FileId>,
    /// Event log.
    pub events: EventLog,
    /// Pages charged to the commit limit (`vm_committed_as`, Committed_AS).
    pub committed: u64,
    /// Charges Linux never gives back (see [`Machine::vm_acct_leak`]); kept apart so the
    /// invariant checker can still balance the rest.
    pub(crate) committed_leaked: u64,
    /// Event counters.
    pub vmstat: VmEvents,
    /// Swap devices and the swap cache.
    pub swap: crate::swap::Swap,
    /// Reclaim's clock hands and kswapd's state.
    pub reclaim: crate::reclaim::ReclaimState,
    /// The kernel's copy of the vDSO code ([`Config::vdso_image`]), made when a process
    /// first faults on `[vdso]`: a file the machine holds open, whose pages every `[vdso]`
    /// VMA maps.
    pub(crate) vdso_file: Option<FileId>,
    /// The same for the compat vDSO ([`Config::vdso32_image`]), which the `[vdso]` of ia32
    /// compat processes maps.
    pub(crate) vdso32_file: Option<FileId>,
    /// The kernel log (`dmesg`): the lines the model prints as Linux would, e.g. the OOM
    /// killer's report.
    pub kmsg: Vec<String>,
    /// The kernel's own allocators (zones, slab, vmalloc, kmap) and its page tables.
    pub(crate) kalloc: crate::kalloc::KernelAlloc,
    /// This CPU's mlock folio batch: mlocked pages not yet moved to the unevictable list.
    pub mlock_fbatch: crate::folio_batch::FolioBatch,
    /// This CPU's activate batch (`lru_activate`): pages whose PG_active is yet to be set.
    pub lru_activate: crate::folio_batch::FolioBatch,
    /// Pages waiting in another CPU's `lru_add` batch, not on an LRU list yet, for the next
    /// madvise: the model runs on one CPU and has none of its own, but a replay learns
    /// from a read that the recording machine's MADV_PAGEOUT or MADV_COLD skipped pages
    /// so held ([`crate::Kernel::observe_batched_elsewhere`]). The next madvise empties it.
    pub(crate) batched_elsewhere: std::collections::BTreeSet<Pfn>,
    /// Pages that, on the recording machine, another CPU's activate batch held a reference
    /// to while they stayed on their LRU list ([`crate::Kernel::observe_held_elsewhere`]).
    /// The next madvise empties it.
    pub(crate) held_elsewhere: std::collections::BTreeSet<Pfn>,
    /// The pages [`crate::frame::PageFlags::LAZYFREE_BATCHED`] marks, each with the address
    /// space that freed it: its move waits in the batch of that process's CPU, and a drain
    /// that process makes ([`crate::Kernel::lru_add_drain_of`]) completes it. (A freed
    /// frame loses the flag; its entry is then ignored.)
    pub(crate) lazyfree_batched: std::collections::BTreeMap<Pfn, crate::mm_table::MmId>,
    /// The pages [`PageFlags::DEACTIVATE_BATCHED`] marks, each with the address space whose
    /// MADV_COLD queued it: the batch is on that process's CPU, and its own drains
    /// ([`crate::Kernel::lru_add_drain_of`]) empty it.
    pub(crate) lru_deactivate: std::collections::BTreeMap<Pfn, crate::mm_table::MmId>,
    next_anon_vma: u64,
    next_ino: u64,
    /// SysV shared memory segments (the IPC namespace's).
    pub shm: crate::sysv_shm::ShmIds,
    /// Segments an attach of which was opened or closed (shm_open, shm_close: a fork, a
    /// split, an unmap, an exit) since the task the kernel ran for was last recorded as
    /// their last user ([`crate::Kernel::shm_record_user`]).
    pub(crate) shm_touched: Vec<u32>,
    /// What the run so far depended on of the RAM's size.
    pub size_use: crate::size_use::SizeUse,
    /// Fault-around's list of the entries it fills (empty between faults): kept so that a
    /// fault allocates none.
    pub(crate) fault_around_slots: Vec<(usize, u64, Option<Pfn>)>,
}

impl Machine {
    /// The page-table pages of `mm` in the profile's page-table geometry
    /// (`mm_pgtables_bytes` / 4 KiB): what VmPTE, the OOM report and OOM badness count.
    pub fn pgtables_pages(&self, mm: &crate::Mm) -> u64 {
        mm.pgtable_pages
    }

    /// A machine with `config`'s RAM free, no files and an empty event log.
    pub(crate) fn new(config: Config) -> Self {
        let mut frames = FrameTable::new(config.ram_bytes / PAGE_SIZE);
        frames.set_page_table_geometry(config.page_table_geometry());
        let kalloc = crate::kalloc::KernelAlloc::boot(config.kernel_arch, &mut frames);
        let events = EventLog::new(config.event_capacity);
        let next_ino = config.first_ino;
        Machine {
            config,
            frames,
            files: Vec::new(),
            opens: Vec::new(),
            namespace: BTreeMap::new(),
            events,
            committed: 0,
            committed_leaked: 0,
            vmstat: VmEvents::default(),
            swap: crate::swap::Swap::new(),
            reclaim: Default::default(),
            vdso_file: None,
            vdso32_file: None,
            kmsg: Vec::new(),
            kalloc,
            mlock_fbatch: Default::default(),
            batched_elsewhere: Default::default(),
            held_elsewhere: Default::default(),
            lazyfree_batched: Default::default(),
            lru_deactivate: Default::default(),
            lru_activate: Default::default(),
            next_anon_vma: 0,
            next_ino,
            shm: Default::default(),
            shm_touched: Vec::new(),
            size_use: Default::default(),
            fault_around_slots: Vec::new(),
        }
    }

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

    /// An open file description, to change its position or readahead state.
    pub(crate) fn open_file_mut(&mut self, id: OpenFileId) -> &mut OpenFile {
        self.opens[id.0 as usize].as_mut().expect("dangling open file id")
    }

    /// Takes a reference on an open file description (a new fd or VMA uses it).
    pub fn get_open(&mut self, id: OpenFileId) {
        let o = self.opens[id.0 as usize].as_mut().expect("dangling open file id");
        o.refs += 1;
        let file = o.file;
        let f = self.file_mut(file);
        if let Some(shmid) = f.sysv_shm {
            // A VMA of an attach was copied (split, fork): one more attach (shm_open).
            f.shm_attaches += 1;
            self.shm_touched.push(shmid);
        }
    }

    /// Drops a reference on an open file description, releasing it (and maybe its file).
    pub fn put_open(&mut self, id: OpenFileId) {
        let o = self.opens[id.0 as usize].as_mut().expect("dangling open file id");
        o.refs -= 1;
        let (refs, file) = (o.refs, o.file);
        if let Some(shmid) = self.file(file).sysv_shm {
            // One attach fewer (shm_close): a segment marked for removal goes with its last.
            self.shm_touched.push(shmid);
            let f = self.file_mut(file);
            f.shm_attaches -= 1;
            if f.shm_attaches == 0 {
                self.shm_may_destroy(shmid);
            }
        }
        let o = self.opens[id.0 as usize].as_mut().expect("dangling open file id");
        if refs == 0 {
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
        let f = self.file_mut(file);
        f.opens += 1;
        if let Some(shmid) = f.sysv_shm {
            // An attach being made (shmat, or a VMA found existing): it counts from now on.
            f.shm_attaches += 1;
            self.shm_touched.push(shmid);
        }
        let id = OpenFileId(self.opens.len() as u32);
        self.opens.push(Some(OpenFile {
            file,
            readable,
            writable,
            refs: 1,
            pos: 0,
            ra: Default::default(),
            ra_pages: None,
            random: false,
        }));
        id
    }

    /// Removes SysV segment `id` if IPC_RMID asked for it and nothing attaches it any more
    /// (shm_may_destroy): its object goes with its pages and its commit charge.
    pub(crate) fn shm_may_destroy(&mut self, id: u32) {
        let Some(seg) = self.shm.get(i64::from(id)) else { return };
        if !seg.removed() || self.file(seg.file).shm_attaches > 0 {
            return;
        }
        let Some(seg) = self.shm.remove(id) else { return };
        self.shm.total_pages -= seg.segsz.div_ceil(PAGE_SIZE);
        let f = self.file_mut(seg.file);
        f.nlink = 0;
        f.sysv_shm = None;
        self.maybe_destroy_file(seg.file);
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
        self.shmem_free_swap(id, 0, u64::MAX);
        if !pages.is_empty() {
            self.truncation_drain();
        }
        for pfn in pages {
            self.frames.put(pfn);
        }
        self.files[id.0 as usize] = None;
    }

    /// The frame holding page `index` of `file`, reading it into the page cache if needed.
    /// `None` when out of memory.
    pub fn cache_page(&mut self, file: FileId, index: u64) -> Option<Pfn> {
        self.cache_page_read(file, index).map(|(pfn, _)| pfn)
    }

    /// Like [`Machine::cache_page`], and says whether the page had to be read back from the
    /// disk (which makes the fault that needed it a major one).
    pub(crate) fn cache_page_read(&mut self, file: FileId, index: u64) -> Option<(Pfn, bool)> {
        if let Some(pfn) = self.file(file).cache.get(index) {
            return Some((pfn, false));
        }
        // A shmem page out on swap comes back from there (it keeps its commit charge).
        if self.file(file).swapped.contains_key(&index) {
            return self.shmem_swapin(file, index);
        }
        // A regular-file page that was evicted is read back from the disk (once a frame
        // holds it: a failed allocation leaves the file as it was).
        let read = self.file(file).evicted.contains(&index);
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
            let folio_wide = PageFlags::REFERENCED
                | PageFlags::ACTIVE
                | PageFlags::DIRTY
                | PageFlags::MLOCKED
                | PageFlags::UNEVICTABLE;
            flags |= self.frames.meta(sib).flags & folio_wide;
        }
        let pfn = self.frames.alloc(Owner::File { file: file.0, index: u32::try_from(index).ok()? }, flags)?;
        if read {
            self.file_mut(file).evicted.remove(&index);
            self.vmstat.workingset_refault_file += 1;
        }
        // A memfd charges each page it allocates (shmem_acct_blocks; Linux charges first
        // and gives the charge back when no page comes: the same once done).
        if self.file(file).acct_per_page {
            self.vm_acct_memory(1);
            self.file_mut(file).acct_pages += 1;
            // A page added to the object recounts it (measured on 6.18: the first fault
            // after reclaim dropped 256 clean pages of a memfd gave back 1,020 kB).
            self.shmem_recalc(file);
        }
        if !shmem {
            let mut data = [0u8; crate::layout::PAGE_SIZE as usize];
            self.file(file).read_source_page(index, &mut data);
            self.frames.fill(pfn, &data);
        }
        let f = self.file_mut(file);
        f.cache.insert(index, pfn);
        // A readahead mark went with the page when it left the cache; a page read in anew
        // carries none unless the window reading it sets one (see `readahead`).
        f.ra_marks.remove(&index);
        Some((pfn, read))
    }

    /// folio_mark_dirty: the whole folio holding `pfn` becomes dirty (smaps then counts
    /// every mapped page of it as dirty).
    pub fn folio_mark_dirty(&mut self, pfn: Pfn) {
        if pfn == self.frames.zero_pfn() {
            return;
        }
        self.update_folio(pfn, |m| m.flags |= PageFlags::DIRTY);
        // block_dirty_folio dirties every buffer of the folio, those a hole discarded too.
        if let Some((file, pages)) = self.large_folio(pfn) {
            self.file_mut(file).forget_clean_buffers(pages);
        }
    }

    /// Whether ext4 can release the buffers of the large folio `[first, end)` of `file`
    /// once those of `hole` are discarded, which a split needs: it can unless the folio is
    /// dirty and a page of it, within the file, still has a dirty buffer (measured on 6.18:
    /// a 32-page folio just written, punched at pages 0-1, 2-3, then 4-7, is split by the
    /// third punch only; after an fsync, by the first). A dirty folio whose buffers all
    /// go is clean (try_to_free_buffers cancels its dirt): that is done here.
    pub(crate) fn release_large_folio(
        &mut self,
        file: FileId,
        first: u64,
        end: u64,
        hole: std::ops::Range<u64>,
    ) -> bool {
        let f = self.file(file);
        let pfns: Vec<Pfn> = f.cache.range(first..end).map(|(_, p)| p).collect();
        let dirty = pfns.iter().any(|&p| self.frames.meta(p).flags.contains(PageFlags::DIRTY));
        if !dirty {
            return true;
        }
        let within = end.min(f.size_pages().max(first + 1));
        if !(first..within).all(|i| hole.contains(&i) || f.clean_buffers.contains(&i)) {
            return false;
        }
        for p in pfns {
            self.frames.meta_mut(p).flags -= PageFlags::DIRTY;
        }
        true
    }

    /// Writes page `index` of regular file `file`, cached in frame `pfn`, to the disk and
    /// cleans it (the filesystem's writepage): the part of the page past EOF is zeroed in
    /// the page cache first (ext4 zeroes it at every writeback, since a shared mapping
    /// may have stored there), and the disk keeps what is below EOF.
    pub fn write_back_page(&mut self, file: FileId, index: u64, pfn: Pfn) {
        let valid = self.file(file).size.saturating_sub(index.saturating_mul(crate::layout::PAGE_SIZE));
        if valid < crate::layout::PAGE_SIZE {
            self.frames.zero_from(pfn, valid as usize);
        }
        let page = self.frames.page(pfn);
        let f = self.file_mut(file);
        f.write_back(index, &page);
        // PG_readahead is PG_reclaim's bit, which the end of a folio's writeback clears
        // (measured: a page a read marked, written and fsync'ed, is mapped by fault-around
        // afterwards; written only, it is still skipped).
        f.ra_marks.remove(&index);
        self.frames.meta_mut(pfn).flags -= PageFlags::DIRTY;
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
    pub(crate) fn large_folio(&self, pfn: Pfn) -> Option<(FileId, std::ops::Range<u64>)> {
        let Owner::File { file, index } = self.frames.meta(pfn).owner else { return None };
        let f = self.files.get(file as usize)?.as_ref()?;
        let (start, order) = f.folio_of(u64::from(index));
        (order > 0).then(|| (FileId(file), start..start + (1u64 << order)))
    }

    /// How many of `slots` (mapped PTEs in address order), from the first, map consecutive
    /// pages of one large page-cache folio within one page table, each also accepted by
    /// `alike` (compared with the first): the batch Linux's PTE walks take a folio by
    /// (folio_pte_batch; mlock's folio_mlock_step; zap's and mprotect's batches). 1 for a
    /// page of no large folio.
    pub(crate) fn folio_pte_batch(
        &self,
        slots: &[crate::pgtable::PteSlot],
        alike: impl Fn(&crate::pgtable::PteSlot, &crate::pgtable::PteSlot) -> bool,
    ) -> usize {
        let first = &slots[0];
        let Some((file, pages)) = self.large_folio(first.pte.pfn()) else { return 1 };
        let index = |p: Pfn| match self.frames.meta(p).owner {
            Owner::File { file: f, index } if f == file.0 => Some(u64::from(index)),
            _ => None,
        };
        let Some(start) = index(first.pte.pfn()) else { return 1 };
        let span = crate::pgtable::leaf_span(&self.frames);
        let mut n = 1;
        while let Some(next) = slots.get(n) {
            let expected = start + n as u64;
            let fits = next.va == first.va + ((n as u64) << crate::layout::PAGE_SHIFT)
                && !next.va.is_multiple_of(span)
                && pages.contains(&expected)
                && index(next.pte.pfn()) == Some(expected)
                && alike(first, next);
            if !fits {
                break;
            }
            n += 1;
        }
        n
    }

    /// mark_page_accessed on the folio holding `pfn` (classic LRU): the first touch sets
    /// PG_referenced; the next activates the folio and clears it; later touches set it again.
    /// A small folio's activation waits in this CPU's activate batch (a large one is never
    /// batched): until it drains, the folio is off the LRU and a further second touch only
    /// clears PG_referenced again, as it does for a folio waiting in another batch.
    pub fn mark_accessed(&mut self, pfn: Pfn) {
        if pfn == self.frames.zero_pfn() {
            return;
        }
        let flags = self.frames.meta(pfn).flags;
        if !flags.contains(PageFlags::REFERENCED) {
            self.update_folio(pfn, |m| m.flags |= PageFlags::REFERENCED);
        } else if flags.contains(PageFlags::UNEVICTABLE) {
            // The unevictable list is never rotated: a further access changes nothing. An
            // mlocked folio whose move there still waits in the mlock batch is activated
            // like any other (the mlock drain then takes PG_active off again).
        } else if !flags.contains(PageFlags::ACTIVE) {
            if self.large_folio(pfn).is_some() {
                // A large folio is never left waiting in a batch: adding it moves the whole
                // activate batch at once, the folios queued before it first (measured on
                // 6.18: an exit whose zap activated a 2-page file folio completed a small
                // page's activation queued earlier; random script seed 4001606).
                self.lru_activate_drain();
                self.update_folio(pfn, |m| m.flags = (m.flags | PageFlags::ACTIVE) - PageFlags::REFERENCED);
                return;
            }
            let m = self.frames.meta_mut(pfn);
            m.flags -= PageFlags::REFERENCED;
            // A folio waiting in another batch (deactivate, lazy-free) is off the LRU too:
            // Linux only looks for it in this CPU's lru_add batch, so it is not queued for
            // activation (every batch takes the folio off the LRU as it queues it, 6.11+).
            let batched = PageFlags::ACTIVATE_BATCHED | PageFlags::DEACTIVATE_BATCHED | PageFlags::LAZYFREE_BATCHED;
            if !m.flags.intersects(batched) {
                m.flags |= PageFlags::ACTIVATE_BATCHED;
                if self.lru_activate.add(pfn) {
                    self.lru_activate_drain();
                }
            }
        }
    }

    /// Drains this CPU's activate batch: each page still waiting is put back on the LRU,
    /// on the active list unless it is unevictable by now. (Freed pages lost the mark and
    /// are skipped.)
    fn lru_activate_drain(&mut self) {
        for pfn in self.lru_activate.take() {
            let m = self.frames.meta_mut(pfn);
            if m.flags.contains(PageFlags::ACTIVATE_BATCHED) {
                m.flags -= PageFlags::ACTIVATE_BATCHED;
                if !m.flags.contains(PageFlags::UNEVICTABLE) {
                    m.flags |= PageFlags::ACTIVE;
                }
            }
        }
    }

    /// Identifies the page-cache folio holding `pfn`: (file, first index).
    pub fn folio_key(&self, pfn: Pfn) -> (u32, u64) {
        match self.frames.meta(pfn).owner {
            Owner::File { file, index } => {
                let index = u64::from(index);
                let start = self.files.get(file as usize).and_then(|f| f.as_ref()).map(|f| f.folio_of(index).0);
                (file, start.unwrap_or(index))
            }
            _ => (u32::MAX, pfn.as_u64()),
        }
    }

    /// The frames of the folio holding `pfn` (a large page-cache folio, or just `pfn`).
    pub fn folio_pfns(&self, pfn: Pfn) -> Vec<Pfn> {
        match self.large_folio(pfn) {
            Some((file, pages)) => self.file(file).cache.range(pages).map(|(_, p)| p).collect(),
            None => vec![pfn],
        }
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
    /// percent of RAM, plus all swap.
    pub fn commit_limit(&self) -> u64 {
        let c = &self.config;
        let ram = if c.overcommit_kbytes != 0 {
            c.overcommit_kbytes >> (PAGE_SHIFT - 10)
        } else {
            self.totalram_pages() * c.overcommit_ratio / 100
        };
        ram + self.swap.total_pages()
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
                self.size_use.commit_limit();
                ((self.committed + pages) as i64) < allowed
            }
            _ => {
                let ok = pages <= self.totalram_pages() + self.swap.total_pages();
                self.size_use.heuristic(pages, ok);
                ok
            }
        }
    }

    /// Whether `pfn` belongs to a large page-cache folio (mlocked as a whole: see
    /// [`Machine::mlock_large_folio`]).
    pub fn in_large_folio(&self, pfn: Pfn) -> bool {
        self.large_folio(pfn).is_some()
    }

    /// The large folio holding `pfn` was mapped whole at once by a VM_LOCKED mapping (a
    /// fault that mapped all its pages, or mlock finding them all mapped in its range):
    /// Linux 6.18 mlocks a large folio only then (a partial mapping could leave pages
    /// outside the locked range unevictable). It counts one more mlock and, the first
    /// time, goes straight to the unevictable list (a large folio never waits in the mlock
    /// batch): PG_mlocked and PG_unevictable set, PG_active cleared. Measured: a read fault
    /// in an mlock2(MLOCK_ONFAULT) range maps a 32-page folio whole and mlocks it, and the
    /// 8-page folio after it, mapped two pages at a time there, stays evictable.
    pub fn mlock_large_folio(&mut self, pfn: Pfn) {
        let Some((file, pages)) = self.large_folio(pfn) else { return };
        // mlock_folio drains this CPU's mlock batch whenever a large folio enters it.
        self.mlock_drain_local();
        let count = self.file_mut(file).large_mlock.entry(pages.start).or_default();
        *count += 1;
        if *count == 1 {
            self.update_folio(pfn, |m| {
                m.flags = (m.flags | PageFlags::MLOCKED | PageFlags::UNEVICTABLE) - PageFlags::ACTIVE
            });
            self.vmstat.mlocked += pages.end - pages.start;
        }
    }

    /// munlock_folio for the large folio holding `pfn`, which a run of its pages left a
    /// VM_LOCKED mapping (an unmap, a COW, munlock): one mlock fewer; at none it leaves the
    /// unevictable list. A folio that was never mlocked is left as it is, but the mlock
    /// batch drains all the same: munlock_folio drains it whenever a large folio enters it
    /// (measured on 6.18: a small page whose munlock waited in the batch, unmapped at exit,
    /// is evictable again once the exit has unmapped a locked VMA's part of a large folio
    /// that was never mlocked, and the next young PTE of it activates it).
    pub fn munlock_large_folio(&mut self, pfn: Pfn) {
        let Some((file, pages)) = self.large_folio(pfn) else { return };
        self.mlock_drain_local();
        let mlocks = &mut self.file_mut(file).large_mlock;
        let Some(count) = mlocks.get_mut(&pages.start) else { return };
        *count -= 1;
        if *count == 0 {
            mlocks.remove(&pages.start);
            self.update_folio(pfn, |m| m.flags -= PageFlags::MLOCKED | PageFlags::UNEVICTABLE);
            self.vmstat.munlocked += pages.end - pages.start;
        }
    }

    /// Splits the large folio of `file` that starts at page `first` so that page `at` is in
    /// a folio of its own ([`crate::file::File::split_folio_at`]); if it was mlocked, it is
    /// munlocked first (see [`Machine::remove_folio`]).
    pub fn split_folio_at(&mut self, file: FileId, first: u64, at: u64) {
        self.munlock_folio_fully(file, first);
        self.file_mut(file).split_folio_at(first, at);
    }

    /// Munlocks the large folio of `file` at page `first` however many mlocks it has.
    fn munlock_folio_fully(&mut self, file: FileId, first: u64) {
        if self.file(file).large_mlock.contains_key(&first) {
            let (_, order) = self.file(file).folio_of(first);
            let cached = self.file(file).cache.range(first..first + (1u64 << order)).next();
            if let Some((_, pfn)) = cached {
                self.file_mut(file).large_mlock.insert(first, 1);
                self.munlock_large_folio(pfn);
            }
        }
    }

    /// Forgets the large folio of `file` that starts at page `first` (split or dropped);
    /// if it was still mlocked, its pages are munlocked (see [`crate::file::File::remove_folio`]).
    pub fn remove_folio(&mut self, file: FileId, first: u64) {
        self.munlock_folio_fully(file, first);
        self.file_mut(file).remove_folio(first);
    }

    /// Marks a frame mapped once more from a VM_LOCKED VMA (mlock_vma_folio): the first such
    /// mapping sets PG_mlocked.
    pub fn mlock_page(&mut self, pfn: Pfn) {
        if pfn == self.frames.zero_pfn() || self.in_large_folio(pfn) {
            return;
        }
        if self.frames.mlock_count(pfn) == 0 && !self.frames.meta(pfn).flags.contains(PageFlags::MLOCKED) {
            // A munlock still queued for this frame was of the page that used it before:
            // Linux's batch holds a reference that keeps such a page from being freed until
            // it drains; the model freed it, and this is another page.
            self.mlock_fbatch.forget_munlocks(pfn);
        }
        self.frames.mlock_count_inc(pfn);
        // A page whose PG_mlocked an earlier drain cleared is mlocked by this mapping:
        // mlock_folio sets the flag again.
        self.frames.mlock_escape(pfn, false);
        let m = self.frames.meta_mut(pfn);
        if !m.flags.contains(PageFlags::MLOCKED) {
            m.flags |= PageFlags::MLOCKED;
            self.vmstat.mlocked += 1;
        }
        if self.mlock_fbatch.add(pfn) {
            self.mlock_drain_local();
        }
    }

    /// Whether this CPU's mlock batch holds a reference to `pfn`: an mlock or munlock of it
    /// waits there (Linux takes a reference for every entry until the batch drains).
    pub fn held_by_mlock_batch(&self, pfn: Pfn) -> bool {
        self.mlock_fbatch.contains(pfn)
    }

    /// mlock_drain_local: the pages waiting in this CPU's mlock batch move, entry by entry in
    /// the order they came: an mlock puts a page still mlocked on the unevictable list
    /// (PG_unevictable set, PG_active cleared); a munlock (queued when the last locked
    /// mapping went) puts it back on the evictable lists (PG_mlocked and PG_unevictable
    /// cleared: __munlock_folio), and an mlock queued after it then finds the page evictable
    /// and leaves it so, even though a locked mapping maps it again
    /// ([`FrameTable::mlock_escape`]; random script 3800615: a MAP_FIXED over a locked shared
    /// mapping in a process with MCL_FUTURE, which maps the same file page again, leaves it
    /// evictable, and another process's access then activates it). (Linux skips a page
    /// that is off the LRU in another batch when a full mlock batch drains; the model moves
    /// it anyway.)
    ///
    /// [`FrameTable::mlock_escape`]: crate::frame::FrameTable::mlock_escape
    pub fn mlock_drain_local(&mut self) {
        for (pfn, entry) in self.mlock_fbatch.take_entries() {
            let munlock = match entry {
                MlockEntry::Mlock => false,
                MlockEntry::Munlock => true,
                MlockEntry::MunlockStillLocked => continue,
            };
            let locked = self.frames.mlock_count(pfn) > 0 || self.frames.mlock_stranded(pfn).is_some();
            let m = self.frames.meta_mut(pfn);
            if m.owner == Owner::Free {
                continue;
            }
            if !m.flags.contains(PageFlags::MLOCKED) {
                // Evictable: an mlock finding it so leaves it on (or moves it to) an
                // evictable list.
                m.flags -= PageFlags::UNEVICTABLE;
                continue;
            }
            if locked && !munlock {
                m.flags |= PageFlags::UNEVICTABLE;
                m.flags -= PageFlags::ACTIVE;
            } else {
                m.flags -= PageFlags::MLOCKED | PageFlags::UNEVICTABLE;
                self.vmstat.munlocked += 1;
                if locked {
                    self.frames.mlock_escape(pfn, true);
                }
            }
        }
    }

    /// Drains the deactivate batch of `owner`'s CPU (every one's for `None`): each page still
    /// waiting, if active and evictable, loses PG_active and PG_referenced
    /// (lru_deactivate_fn; measured: a page MADV_COLD queued, then referenced by a child's
    /// access, reads unreferenced in smaps after the caller's next mlock drains the batch).
    pub(crate) fn lru_deactivate_drain(&mut self, owner: Option<crate::mm_table::MmId>) {
        if self.lru_deactivate.is_empty() {
            return;
        }
        for pfn in take_owned(&mut self.lru_deactivate, owner) {
            let m = self.frames.meta_mut(pfn);
            if !m.flags.contains(PageFlags::DEACTIVATE_BATCHED) {
                continue;
            }
            m.flags -= PageFlags::DEACTIVATE_BATCHED;
            if m.flags.contains(PageFlags::ACTIVE) && !m.flags.contains(PageFlags::UNEVICTABLE) {
                m.flags -= PageFlags::ACTIVE | PageFlags::REFERENCED;
                self.vmstat.pgdeactivate += 1;
            }
        }
    }

    /// The drain of a page-cache truncation (truncate_inode_pages_range, shmem_undo_range,
    /// mapping_try_invalidate): they hand the folios they took out of the cache back a batch
    /// at a time, and releasing a batch that holds a folio first drains this CPU's LRU
    /// batches (__folio_batch_release), the mlock batch with them. Swap entries alone do
    /// not. So the last close of a shared anonymous mapping with pages in it completes the
    /// munlocks its exiting process queued (measured on 6.18: a parent's write then reuses
    /// the page its child had mlocked, where with no shmem page to free it copies it).
    pub(crate) fn truncation_drain(&mut self) {
        self.lru_add_drain();
    }

    /// lru_add_drain: empties this CPU's LRU batches, the activate batch before the mlock
    /// one as Linux does. The model keeps these two (the other batches' moves, e.g.
    /// lru_add, lazyfree and deactivate, are taken as done at once).
    pub fn lru_add_drain(&mut self) {
        self.lru_activate_drain();
        self.mlock_drain_local();
    }

    /// Undoes [`Machine::mlock_page`] (munlock_vma_folio): the last locked mapping gone
    /// clears PG_mlocked.
    pub fn munlock_page(&mut self, pfn: Pfn) {
        if pfn == self.frames.zero_pfn() {
            return;
        }
        if self.in_large_folio(pfn) {
            self.munlock_large_folio(pfn);
            return;
        }
        debug_assert!(self.frames.mlock_count(pfn) > 0, "munlock of a page that is not mlocked");
        let left = self.frames.mlock_count_dec(pfn);
        if self.frames.meta(pfn).flags.contains(PageFlags::MLOCKED) {
            // munlock_folio queues the page in this CPU's mlock batch: the last locked
            // mapping gone, it stays mlocked and unevictable until the batch drains (an
            // access meanwhile finds it unevictable); in every case the batch's reference
            // keeps a COW from reusing it (random script 5101673: a child's munmap of pages
            // its parent keeps locked makes the parent's next write copy them).
            let entry = if left == 0 { MlockEntry::Munlock } else { MlockEntry::MunlockStillLocked };
            if self.mlock_fbatch.add_entry(pfn, entry) {
                self.mlock_drain_local();
            }
        }
    }

    /// Logs an event.
    pub fn log(&mut self, pid: Pid, addr: u64, write: bool, kind: EventKind) {
        self.events.push(pid, addr, write, kind);
    }

    /// Logs `count` events of one kind, a page apart from `addr` ([`EventLog::push_run`]).
    pub fn log_run(&mut self, pid: Pid, addr: u64, count: u64, write: bool, kind: EventKind) {
        self.events.push_run(pid, addr, count, write, kind);
    }

    /// Which RSS counter a mapped frame belongs to.
    pub fn rss_kind(&self, pfn: Pfn) -> RssKind {
        rss_kind_of(self.frames.meta(pfn).owner, &self.files)
    }
}

/// Which RSS counter a mapped frame owned by `owner` belongs to, `files` being the
/// machine's files (for a caller that holds the frame's metadata already).
pub(crate) fn rss_kind_of(owner: Owner, files: &[Option<File>]) -> RssKind {
    match owner {
        Owner::Anon => RssKind::Anon,
        Owner::File { file, .. } => match files[file as usize].as_ref().map(|f| f.kind) {
            Some(crate::file::FileKind::Regular) | None => RssKind::File,
            Some(_) => RssKind::Shmem,
        },
        _ => RssKind::File,
    }
}

/// Takes out of a batch kept per address space (page → the address space that queued it)
/// the pages `owner` queued (every page for `None`).
pub(crate) fn take_owned(
    batch: &mut BTreeMap<Pfn, crate::mm_table::MmId>,
    owner: Option<crate::mm_table::MmId>,
) -> Vec<Pfn> {
    let due: Vec<Pfn> = batch.iter().filter(|&(_, &o)| owner.is_none_or(|w| w == o)).map(|(&p, _)| p).collect();
    for pfn in &due {
        batch.remove(pfn);
    }
    due
}
