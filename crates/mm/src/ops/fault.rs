//! The page-fault handler.
//!
//! A fault arrives with an address and an access (read, write, exec) from either the user
//! path or the kernel copy path. The handler finds the VMA (growing a stack VMA down if the
//! address is just below one), checks the access against the VMA (SEGV_ACCERR), then looks at
//! the PTE:
//!
//! * empty, anonymous private: a read maps the shared zero page read-only; a write maps a new
//!   zeroed page (do_anonymous_page);
//! * empty, file or shmem: a read maps the page-cache page and, for files, up to
//!   `fault_around_bytes` of neighbouring cached pages (do_read_fault); a write to a private
//!   mapping copies the page into a new anonymous one (do_cow_fault); a write to a shared
//!   mapping maps the cache page writable and dirties it (do_shared_fault). Pages wholly past
//!   EOF give SIGBUS;
//! * present but read-only on a write (do_wp_page): a shared mapping makes the page writable;
//!   a private one reuses the page if it is anonymous and exclusive to this process (or its
//!   only reference), and otherwise copies it.

mod outcome;

pub(crate) use outcome::{FaultInfo, FaultOutcome, Mapped, RssDelta};

use crate::event::EventKind;
use crate::file::FileKind;
use crate::flags::VmFlags;
use crate::frame::{Owner, PageFlags, Pfn};
use crate::kernel::{rss_add, vm_stat_account, Access, Kernel, Pid, RssKind, SegvCode, Signal};
use crate::layout::*;
use crate::mm_table::MmId;
use crate::pgtable::{self, Pte, PteFlags};
use crate::vma::Vma;
use abi::{Errno, SysResult};

/// Why a fault could not be resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaultError {
    /// SIGSEGV with this code.
    Segv(SegvCode),
    /// SIGBUS: beyond end of file.
    Bus,
    /// No memory, and the OOM killer found no task to kill.
    Oom,
    /// The OOM killer chose the faulting task itself: it is gone.
    Killed,
}

impl FaultError {
    pub(crate) fn signal(self, addr: u64) -> Signal {
        match self {
            FaultError::Segv(SegvCode::Kernel) => Signal::Segv { code: SegvCode::Kernel, addr: 0 },
            FaultError::Segv(code) => Signal::Segv { code, addr },
            FaultError::Bus | FaultError::Oom => Signal::Bus { addr },
            FaultError::Killed => Signal::Kill,
        }
    }
}

/// Whether `addr` is canonical on 48-bit x86-64.
pub(crate) fn canonical(addr: u64) -> bool {
    let top = addr >> 47;
    top == 0 || top == 0x1ffff
}

impl Kernel {
    /// Whether the PTE already allows `access` without a fault.
    pub(crate) fn pte_allows(pte: Pte, access: Access) -> bool {
        pte.present()
            && match access {
                Access::Read => true,
                Access::Write => pte.writable(),
                Access::Exec => !pte.flags().contains(PteFlags::NX),
            }
    }

    /// Handles a fault at `addr` in the mm of `pid` (handle_mm_fault plus the x86 entry).
    /// The pages it allocates are charged to the task's memory cgroup; when an allocation
    /// fails, reclaim and then the OOM killer make room and the fault starts over
    /// ([`crate::oom`]).
    /// How often an access faults the same page again because reclaim took it between the
    /// fault and the retried access, before the model gives up (Linux would keep retrying;
    /// a bound keeps a pathological script from spinning).
    pub(crate) const MAX_FAULT_RETRIES: u32 = 16;

    pub(crate) fn handle_fault(&mut self, pid: Pid, addr: u64, access: Access) -> Result<FaultOutcome, FaultError> {
        let before = self.charging_as(pid);
        // kswapd runs for what earlier allocations took, before this fault maps its page:
        // run after it, the model's synchronous kswapd could take the very page the access
        // is about to use (Linux's runs beside the task and finds that page young).
        self.wakeup_kswapd();
        let mut rounds = 0;
        let r = loop {
            match self.handle_fault_once(pid, addr, access) {
                Err(FaultError::Oom) => match self.make_room(pid, &mut rounds) {
                    crate::oom::Room::Retry => continue,
                    crate::oom::Room::Killed => break Err(FaultError::Killed),
                    crate::oom::Room::NoVictim => {
                        self.m.log(pid, addr, access == Access::Write, EventKind::Oom);
                        break Err(FaultError::Oom);
                    }
                },
                r => break r,
            }
        };
        if r.is_ok() {
            self.handle_over_high();
        }
        self.m.frames.memcgs.charge_to = before;
        r
    }

    /// One attempt at a fault; `Err(FaultError::Oom)` when an allocation failed.
    fn handle_fault_once(&mut self, pid: Pid, addr: u64, access: Access) -> Result<FaultOutcome, FaultError> {
        let id = self.mm_id(pid).map_err(|_| FaultError::Segv(SegvCode::MapErr))?;
        let write = access == Access::Write;
        if !canonical(addr) {
            return Err(FaultError::Segv(SegvCode::Kernel));
        }
        let mm = &self.mms[id];
        let vma = match mm.vmas.find(addr) {
            Some(v) if v.start <= addr => v.clone(),
            Some(v) if v.flags.contains(VmFlags::GROWSDOWN) => {
                let v = v.clone();
                self.expand_stack(id, pid, &v, addr, write).map_err(|_| {
                    self.m.log(pid, addr, write, EventKind::SegvMaperr);
                    FaultError::Segv(SegvCode::MapErr)
                })?
            }
            _ => {
                self.m.log(pid, addr, write, EventKind::SegvMaperr);
                return Err(FaultError::Segv(SegvCode::MapErr));
            }
        };
        let allowed = match access {
            Access::Read => vma.flags.intersects(VmFlags::ACCESS),
            Access::Write => vma.flags.contains(VmFlags::WRITE),
            Access::Exec => vma.flags.contains(VmFlags::EXEC),
        };
        if !allowed {
            self.m.log(pid, addr, write, EventKind::SegvAccerr);
            return Err(FaultError::Segv(SegvCode::AccErr));
        }
        // mm_account_fault: pgfault counts every fault that reached a VMA, failed or not.
        self.m.vmstat.pgfault += 1;
        let va = page_floor(addr);
        if self.mms[id].is_guarded(va) {
            self.m.log(pid, addr, write, EventKind::SegvMaperr);
            return Err(FaultError::Segv(SegvCode::MapErr));
        }
        let pte = self.pte(id, va);
        let f = FaultInfo { id, pid, vma: &vma, addr, va, access };
        let rss_before = self.mms[id].rss;
        let r = if crate::swap::is_swap_pte(pte) {
            self.do_swap_page(&f, pte)
        } else if !pte.mapped() && self.vdso_page_unbacked(&vma, va) {
            Err(FaultError::Bus)
        } else if !pte.mapped()
            && vma.special.is_some()
            && (self.m.config.vdso_image.is_some() || self.m.config.vdso32_image.is_some())
        {
            match self.vdso_fault(&f) {
                Ok(Some(outcome)) => Ok(outcome),
                Ok(None) => self.fault_none(&f),
                Err(e) => Err(e),
            }
        } else if !pte.mapped() {
            self.fault_none(&f)
        } else if write && !pte.writable() {
            self.fault_wp(&f, pte)
        } else {
            // The MMU would set accessed/dirty itself.
            let mut p = pte.with(PteFlags::ACCESSED);
            if write {
                p = p.with(PteFlags::DIRTY);
            }
            let _ = self.set_pte(id, va, p);
            Ok(FaultOutcome::minor(Mapped::Spurious, RssDelta::default()))
        };
        match r {
            Ok(outcome) => {
                debug_assert_eq!(
                    outcome.rss,
                    RssDelta::between(&rss_before, &self.mms[id].rss),
                    "the RSS change a fault reports is the one it made ({outcome:?})"
                );
                for kind in outcome.events() {
                    self.m.log(pid, addr, write, kind);
                }
                self.count_faults(pid, 1, outcome.major);
                Ok(outcome)
            }
            Err(FaultError::Bus) => {
                self.m.log(pid, addr, write, EventKind::Sigbus);
                Err(FaultError::Bus)
            }
            Err(e) => Err(e),
        }
    }

    /// Counts `n` resolved faults of `pid`, all major or all minor, where Linux's
    /// mm_account_fault does besides pgfault: pgmajfault, the task's min_flt or maj_flt
    /// and the memory cgroup being charged.
    fn count_faults(&mut self, pid: Pid, n: u64, major: bool) {
        let memcg = self.m.frames.memcgs.charge_to;
        self.m.frames.memcgs.count_faults(memcg, n, major);
        if let Some(t) = self.tasks.get_mut(&pid) {
            if major {
                t.maj_flt += n;
            } else {
                t.min_flt += n;
            }
        }
        if major {
            self.m.vmstat.pgmajfault += n;
        }
    }

    /// Grows a GROWSDOWN VMA down to the page of `addr` (expand_downwards).
    fn expand_stack(&mut self, id: MmId, pid: Pid, v: &Vma, addr: u64, write: bool) -> SysResult<Vma> {
        let cfg = &self.m.config;
        let new_start = page_floor(addr);
        if new_start < cfg.lsm_mmap_min_addr {
            return Err(Errno::EPERM);
        }
        let mm = &self.mms[id];
        if let Some(prev) = mm.vmas.before(v.start) {
            let guard_applies = !prev.flags.contains(VmFlags::GROWSDOWN) && prev.flags.intersects(VmFlags::ACCESS);
            if guard_applies && new_start.saturating_sub(prev.end) < cfg.stack_guard_gap || new_start < prev.end {
                return Err(Errno::ENOMEM);
            }
        }
        // expand_downwards prepares the anon_vma before the size checks, so even a refused
        // growth leaves the stack VMA with one.
        self.anon_vma_prepare(id, v.start);
        // acct_stack_growth, in its order: RLIMIT_AS/DATA, RLIMIT_STACK, RLIMIT_MEMLOCK,
        // and the commit charge last.
        let size = v.end - new_start;
        let grow = (v.start - new_start) >> PAGE_SHIFT;
        if !self.may_expand_vm(id, v.flags, grow) {
            return Err(Errno::ENOMEM);
        }
        if size > self.rlimit(id, crate::kernel::Rlimit::Stack) {
            return Err(Errno::ENOMEM);
        }
        if !self.mlock_future_ok(id, v.flags, grow << PAGE_SHIFT) {
            return Err(Errno::ENOMEM);
        }
        if !self.may_commit(id, grow) {
            return Err(Errno::ENOMEM);
        }
        // The growth is charged whether or not the VMA is accounted; a stack without
        // VM_ACCOUNT never gives it back.
        if v.flags.contains(VmFlags::ACCOUNT) {
            self.m.vm_acct_memory(grow);
        } else {
            self.m.vm_acct_memory(grow);
            self.m.vm_acct_leak(grow);
        }
        let mm = self.mm_mut(id);
        mm.vmas.update(v.start, |x| {
            x.start = new_start;
            x.pgoff = x.pgoff.wrapping_sub(grow);
        });
        vm_stat_account(mm, v.flags, grow as i64);
        self.m.log(pid, addr, write, EventKind::StackGrow { new_start });
        Ok(self.mms[id].vmas.get(new_start).cloned().expect("grown VMA"))
    }

    /// A fault on an empty PTE.
    fn fault_none(&mut self, f: &FaultInfo) -> Result<FaultOutcome, FaultError> {
        let (id, vma, va, write) = (f.id, f.vma, f.va, f.write());
        let Some(mapping) = vma.file else {
            return self.do_anonymous_page(f);
        };
        let file_id = mapping.file;
        let index = vma.page_index(va);
        if write && !vma.flags.contains(VmFlags::SHARED) {
            // do_cow_fault prepares the anon_vma before it looks the page up, so the VMA
            // gets one even when the fault then fails with SIGBUS.
            let start = self.vma_start_of(id, va);
            self.anon_vma_prepare(id, start);
        }
        let file = self.m.file(file_id);
        let beyond_eof = match file.kind {
            FileKind::Regular | FileKind::Shmem => index >= file.size_pages(),
            _ => false,
        };
        if beyond_eof {
            // Fault-around runs before the page itself is looked up, so the cached pages
            // around a SIGBUS address still get mapped.
            if !write {
                self.fault_around(id, vma, va, true)?;
            }
            return Err(FaultError::Bus);
        }
        if !write {
            return self.do_read_fault(f);
        }
        if !vma.flags.contains(VmFlags::SHARED) {
            // do_cow_fault: a private copy of the file page.
            self.fault_async_readahead(vma, index).ok_or(FaultError::Oom)?;
            let read = self.fault_sync_readahead(vma, index).ok_or(FaultError::Oom)?;
            let (src, read_page) = self.m.cache_page_read(file_id, index).ok_or(FaultError::Oom)?;
            let start = self.vma_start_of(id, va);
            self.anon_vma_prepare(id, start);
            let new = self.alloc_anon_page()?;
            self.m.frames.copy_frame(src, new);
            let kind = self.map_page(id, vma, va, new, true, true)?;
            return Ok(FaultOutcome::new(read || read_page, Mapped::CowFile, RssDelta::one(kind)));
        }
        // do_shared_fault: finish_fault maps the folio writable and dirty.
        self.fault_async_readahead(vma, index).ok_or(FaultError::Oom)?;
        let mut major = self.fault_sync_readahead(vma, index).ok_or(FaultError::Oom)?;
        let mut rss = RssDelta::default();
        let (lo, count) = self.finish_fault_span(id, vma, va);
        for i in 0..count {
            let a = lo + (i << PAGE_SHIFT);
            let (pfn, read) = self.m.cache_page_read(file_id, vma.page_index(a)).ok_or(FaultError::Oom)?;
            major |= read;
            self.m.folio_mark_dirty(pfn);
            self.m.frames.get(pfn);
            rss.add(self.map_page(id, vma, a, pfn, true, true)?, 1);
        }
        self.mlock_if_mapped_whole(id, vma, lo, count);
        Ok(FaultOutcome::new(major, Mapped::SharedWrite, rss))
    }

    /// The pages finish_fault maps for a fault at `va` of a file VMA: the whole large folio
    /// when it fits the VMA and page table and none of its PTEs is set yet, otherwise the
    /// faulting page alone. Returns the first address and the page count.
    fn finish_fault_span(&self, id: MmId, vma: &Vma, va: u64) -> (u64, u64) {
        let Some(f) = vma.file else { return (va, 1) };
        let file = self.m.file(f.file);
        let index = vma.page_index(va);
        let (fstart, order) = file.folio_of(index);
        let n = 1u64 << order;
        let folio_va = va.checked_sub((index - fstart) << PAGE_SHIFT);
        let whole = order > 0
            && file.kind == FileKind::Regular
            && folio_va.is_some_and(|a| {
                Self::folio_fits(vma, a, a + (n << PAGE_SHIFT), pgtable::leaf_span(&self.m.frames))
                    && (0..n).all(|i| !self.pte(id, a + (i << PAGE_SHIFT)).mapped())
            });
        match folio_va {
            Some(a) if whole => (a, n),
            _ => (va, 1),
        }
    }

    /// After finish_fault mapped `count` pages from `lo` in one go: a large folio mapped
    /// whole that way by a VM_LOCKED VMA is mlocked, as when fault-around maps it whole
    /// (measured on 6.18: a read or a write fault in an mlock2(MLOCK_ONFAULT) range of a
    /// process with no page table there yet, whose fault-around maps nothing because the
    /// folio reaches EOF, maps the 8-page folio and mlocks it).
    fn mlock_if_mapped_whole(&mut self, id: MmId, vma: &Vma, lo: u64, count: u64) {
        if count > 1 && vma.flags.contains(VmFlags::LOCKED) {
            self.m.mlock_large_folio(self.pte(id, lo).pfn());
        }
    }

    /// A new anonymous page, exclusive to the process that faults it in.
    pub(super) fn alloc_anon_page(&mut self) -> Result<Pfn, FaultError> {
        let flags = PageFlags::ANON | PageFlags::ANON_EXCLUSIVE | PageFlags::UPTODATE | PageFlags::SWAPBACKED;
        self.m.frames.alloc(Owner::Anon, flags).ok_or(FaultError::Oom)
    }

    /// Start of the VMA containing `va` now (it may have changed through stack growth).
    fn vma_start_of(&self, id: MmId, va: u64) -> u64 {
        self.mms[id].vmas.containing(va).map(|v| v.start).unwrap_or(va)
    }

    /// Maps a page of a special mapping (the vDSO code) read-only, as its fault handler does;
    /// returns the RSS counter it went to.
    pub(crate) fn map_special_page(&mut self, id: MmId, vma: &Vma, va: u64, pfn: Pfn) -> Result<RssKind, FaultError> {
        self.map_page(id, vma, va, pfn, false, false)
    }

    /// Installs a PTE for `pfn` (whose reference the caller already holds for this mapping)
    /// and does the rmap and RSS accounting; returns the RSS counter the page went to.
    fn map_page(
        &mut self,
        id: MmId,
        vma: &Vma,
        va: u64,
        pfn: Pfn,
        writable: bool,
        dirty: bool,
    ) -> Result<RssKind, FaultError> {
        let flags = self.pte_flags_for(vma, writable, dirty);
        if self.set_pte(id, va, Pte::new(pfn, flags)).is_err() {
            self.m.frames.put(pfn);
            return Err(FaultError::Oom);
        }
        self.m.frames.meta_mut(pfn).mapcount += 1;
        if vma.flags.contains(VmFlags::LOCKED) {
            self.m.mlock_page(pfn);
        }
        let kind = self.m.rss_kind(pfn);
        rss_add(self.mm_mut(id), kind, 1);
        Ok(kind)
    }

    /// do_anonymous_page: the zero page for a read, a new zeroed page for a write.
    fn do_anonymous_page(&mut self, f: &FaultInfo) -> Result<FaultOutcome, FaultError> {
        let (id, vma, va) = (f.id, f.vma, f.va);
        if !f.write() {
            let zero = self.m.frames.zero_pfn();
            let flags = self.pte_flags_for(vma, false, false) | PteFlags::SPECIAL;
            self.set_pte(id, va, Pte::new(zero, flags)).map_err(|_| FaultError::Oom)?;
            return Ok(FaultOutcome::minor(Mapped::ZeroPage, RssDelta::default()));
        }
        let start = self.vma_start_of(id, va);
        self.anon_vma_prepare(id, start);
        let pfn = self.alloc_anon_page()?;
        let kind = self.map_page(id, vma, va, pfn, true, true)?;
        Ok(FaultOutcome::minor(Mapped::AnonPage, RssDelta::one(kind)))
    }

    /// Whether read faults of this VMA map its pages writable at once: shared writable
    /// mappings of shmem have no write-notify.
    pub(crate) fn read_maps_writable(&self, vma: &Vma) -> bool {
        let kind = vma.file.map(|f| self.m.file(f.file).kind);
        vma.flags.contains(VmFlags::SHARED) && vma.flags.contains(VmFlags::WRITE) && kind != Some(FileKind::Regular)
    }

    /// do_fault_around: maps the cached pages in the `fault_around_bytes` window around `va`
    /// (aligned on the PTE index, clamped to the VMA, the page table and EOF). Returns how
    /// many pages it mapped. `past_eof`: the fault itself is past EOF (it ends in SIGBUS).
    fn fault_around(&mut self, id: MmId, vma: &Vma, va: u64, past_eof: bool) -> Result<u64, FaultError> {
        let f = vma.file.expect("file VMA");
        // A SysV attach's vm_ops have no map_pages: its faults map one page each.
        if self.m.file(f.file).sysv_shm.is_some() {
            return Ok(0);
        }
        let kind = self.m.file(f.file).kind;
        let writable_now = self.read_maps_writable(vma);
        let mut mapped = 0;
        let nr = self.m.config.fault_around_bytes >> PAGE_SHIFT;
        if nr <= 1 {
            return Ok(0);
        }
        // The window is aligned on the PTE index and clamped to the VMA and page table.
        let pte_off = pgtable::pte_index(&self.m.frames, va) as u64;
        let span = pgtable::leaf_span(&self.m.frames);
        let vma_off = (va - vma.start) >> PAGE_SHIFT;
        let from = (pte_off & !(nr - 1)).max(pte_off - pte_off.min(vma_off));
        let to = (from + nr).min(span >> PAGE_SHIFT).min(pte_off + vma.pages() - vma_off);
        let table_base = va & !(span - 1);
        let (win_lo, win_hi) = (table_base + (from << PAGE_SHIFT), table_base + (to << PAGE_SHIFT));
        let size_pages = self.m.file(f.file).size_pages();
        let first = vma.page_index(win_lo);
        // filemap_map_pages looks for the first folio it can map in the window (cached, not
        // marked for readahead, not past EOF); with none it returns before it touches the
        // page tables. Large folios may be mapped whole (and a missing page table installed)
        // only when the file extends past that folio (always for shmem), so that nothing
        // maps across EOF; otherwise, without a page table it maps nothing at all. Measured
        // on 6.18: a fault past EOF, ending in SIGBUS, installs no page table, so a later
        // fault of a mapping beside it with only the EOF folio to map maps nothing.
        let mut can_map_large = true;
        // The first page's folio, looked up once for both uses below.
        let mut first_folio = None;
        if matches!(kind, FileKind::Regular | FileKind::Shmem) {
            let last = vma.page_index(win_hi - PAGE_SIZE).min(size_pages.saturating_sub(1));
            if first >= size_pages {
                return Ok(0);
            }
            let file = self.m.file(f.file);
            let mappable = |i: u64| {
                file.page_cached(i) && (file.ra_marks.is_empty() || !file.ra_marks.contains(&file.folio_of(i).0))
            };
            let found = (first..=last).find(|&i| mappable(i));
            // With nothing to map, a fault past EOF ends here, leaving no page table; one
            // inside the file goes on to read the page in, and the page table Linux
            // allocated before calling map_pages (charged then, installed by finish_fault)
            // is made here as before.
            if found.is_none() && past_eof {
                return Ok(0);
            }
            let (fstart, order) = file.folio_of(found.unwrap_or(first));
            if found.is_none_or(|i| i == first) {
                first_folio = Some((fstart, order));
            }
            can_map_large = kind == FileKind::Shmem || fstart + (1u64 << order) < size_pages;
            let pgd = self.mms[id].pgd;
            if !can_map_large && pgtable::leaf_table(&self.m.frames, pgd, va).is_none() {
                return Ok(0);
            }
        }
        // Every page mapped here lies in the faulting address's page table (a folio mapped
        // whole never crosses one): find or make it once and fill its entries directly.
        let pgd = self.mms[id].pgd;
        let mut new_tables = 0;
        // Upper tables allocated before a failure stay in the tree: count them either way.
        let table = pgtable::leaf_table_alloc(&mut self.m.frames, pgd, va, &mut new_tables);
        self.mm_mut(id).pgtable_pages += new_tables;
        let table = table.ok_or(FaultError::Oom)?;
        let pte_flags = self.pte_flags_for(vma, writable_now, false);
        let locked = vma.flags.contains(VmFlags::LOCKED);
        // The entries to fill, in the machine's buffer: kept from one fault to the next (one
        // allocation a fault otherwise), given back below.
        let mut to_map = std::mem::take(&mut self.m.fault_around_slots);
        // Entries holding a guard marker are not empty: nothing is mapped there.
        let guarded: Vec<usize> =
            self.mms[id].guards.range(win_lo..win_hi).map(|&g| ((g - table_base) >> PAGE_SHIFT) as usize).collect();
        let mut pva = win_lo;
        while pva < win_hi {
            let index = vma.page_index(pva);
            if kind == FileKind::Regular && index >= size_pages {
                break;
            }
            let file = self.m.files[f.file.0 as usize].as_ref().expect("dangling file id");
            // A large folio that lies wholly inside the VMA, one page table and the file is
            // mapped whole, even beyond the window; otherwise only its pages in the window.
            let (fstart, order) = match first_folio.take() {
                Some(folio) if index == first => folio,
                _ => file.folio_of(index),
            };
            let n = 1u64 << order;
            let folio_va = pva.checked_sub((index - fstart) << PAGE_SHIFT);
            let folio_end = folio_va.map(|a| a + (n << PAGE_SHIFT));
            // Each folio mapped whole must also end before the page holding EOF, so that no
            // PTE is set across i_size (filemap_map_pages checks it folio by folio).
            let ends_before_eof = kind != FileKind::Regular || fstart + n < size_pages;
            let whole = match (folio_va, folio_end) {
                (Some(a), Some(e)) => {
                    can_map_large && ends_before_eof && order > 0 && Self::folio_fits(vma, a, e, span)
                }
                _ => false,
            };
            let (lo, hi) = if whole {
                (folio_va.unwrap_or(pva), folio_end.unwrap_or(pva))
            } else {
                let e = folio_end.unwrap_or(pva + PAGE_SIZE).min(win_hi);
                let eof = vma.start + ((size_pages.saturating_sub(vma.pgoff)) << PAGE_SHIFT);
                (pva, if kind == FileKind::Regular { e.min(eof.max(pva)) } else { e })
            };
            // The cached frames of the span, found with a map lookup a block of pages rather
            // than one a page.
            let idx_lo = vma.page_index(lo);
            let idx_hi = idx_lo + (hi.saturating_sub(lo) >> PAGE_SHIFT);
            // The common span: every page cached in one block (`index` among them), none
            // marked for readahead.
            let all_cached = if file.ra_marks.is_empty() { file.cache.all_in_one_block(idx_lo, idx_hi) } else { None };
            if all_cached.is_none() && !file.page_cached(index) {
                pva += PAGE_SIZE;
                continue;
            }
            let first_entry = ((lo - table_base) >> PAGE_SHIFT) as usize;
            // The commonest span of all, a whole folio cached and not mapped yet: its frames
            // are counted and entered straight from the page cache's block. (The file and
            // the frames are two fields of the machine: borrowed apart.)
            if let (Some(block), false) = (all_cached, locked) {
                let frames = &mut self.m.frames;
                let n = block.len();
                let no_guard = !guarded.iter().any(|&g| (first_entry..first_entry + n).contains(&g));
                if no_guard && frames.table(table)[first_entry..first_entry + n].iter().all(|&e| e == 0) {
                    frames.update_metas(block.iter().copied(), |meta| {
                        meta.refcount += 1;
                        meta.mapcount += 1;
                    });
                    let entries = &mut frames.table_mut(table)[first_entry..first_entry + n];
                    for (e, &pfn) in entries.iter_mut().zip(block) {
                        *e = Pte::new(pfn, pte_flags).0;
                    }
                    mapped += n as u64;
                    pva = hi.max(pva + PAGE_SIZE);
                    continue;
                }
            }
            // First the empty entries of the span and what goes in them (read with one look
            // at the table), then the frames' counts, then the entries (written in one go).
            to_map.clear();
            let entries = self.m.frames.table(table);
            let all_were_cached = all_cached.is_some();
            let in_cache = file.cache.frames_of(idx_lo, if all_were_cached { idx_lo } else { idx_hi });
            for (k, &pfn) in all_cached.unwrap_or_default().iter().enumerate() {
                if entries[first_entry + k] == 0 && !guarded.contains(&(first_entry + k)) {
                    to_map.push((first_entry + k, idx_lo + k as u64, Some(pfn)));
                }
            }
            for (idx, cached) in (idx_lo..).zip(in_cache) {
                let i = ((lo + ((idx - idx_lo) << PAGE_SHIFT) - table_base) >> PAGE_SHIFT) as usize;
                // A page readahead marked is left for a real fault, which starts the next
                // window (filemap_map_pages skips PG_readahead folios).
                let marked = !file.ra_marks.is_empty() && file.ra_marks.contains(&file.folio_of(idx).0);
                if entries[i] == 0 && !marked && !guarded.contains(&i) {
                    match cached {
                        Some(pfn) => to_map.push((i, idx, Some(pfn))),
                        None if file.page_cached(idx) => to_map.push((i, idx, None)),
                        None => {}
                    }
                }
            }
            // An imported page not read in yet gets its frame now. Linux's fault-around maps
            // only pages already in memory and never allocates, so a failed allocation ends
            // the window where it is: what was mapped so far stays mapped and counted, and
            // the faulting page itself, if it is beyond, takes the fault's own path (with
            // reclaim and a retry) rather than this one returning half done.
            let mut short = false;
            // (Every frame is known when the whole span was cached.)
            for n in 0..if all_were_cached { 0 } else { to_map.len() } {
                if to_map[n].2.is_none() {
                    match self.m.cache_page(f.file, to_map[n].1) {
                        Some(pfn) => to_map[n].2 = Some(pfn),
                        None => {
                            to_map.truncate(n);
                            short = true;
                            break;
                        }
                    }
                }
            }
            self.m.frames.update_metas(to_map.iter().map(|slot| slot.2.expect("resolved above")), |meta| {
                meta.refcount += 1;
                meta.mapcount += 1;
            });
            if locked {
                for slot in &to_map {
                    self.m.mlock_page(slot.2.expect("resolved above"));
                }
                // A large folio is mlocked when this maps all of it at once.
                if order > 0 && to_map.len() as u64 == 1u64 << order {
                    self.m.mlock_large_folio(to_map[0].2.expect("resolved above"));
                }
            }
            let entries = self.m.frames.table_mut(table);
            for &(i, _, pfn) in &to_map {
                entries[i] = Pte::new(pfn.expect("resolved above"), pte_flags).0;
            }
            mapped += to_map.len() as u64;
            if short {
                break;
            }
            pva = hi.max(pva + PAGE_SIZE);
        }
        to_map.clear();
        self.m.fault_around_slots = to_map;
        let rss = if kind == FileKind::Regular { RssKind::File } else { RssKind::Shmem };
        rss_add(self.mm_mut(id), rss, mapped as i64);
        Ok(mapped)
    }

    /// Whether a folio at virtual `[start, end)` lies inside the VMA and one page table
    /// (spanning `table_span` bytes).
    fn folio_fits(vma: &Vma, start: u64, end: u64, table_span: u64) -> bool {
        start >= vma.start && end <= vma.end && start & !(table_span - 1) == (end - 1) & !(table_span - 1)
    }

    /// do_read_fault: fault-around, then the faulting page itself if still unmapped.
    fn do_read_fault(&mut self, f: &FaultInfo) -> Result<FaultOutcome, FaultError> {
        let (id, vma, va) = (f.id, f.vma, f.va);
        let file_id = vma.file.expect("file VMA").file;
        let kind = self.m.file(file_id).kind;
        let rss_kind = if kind == FileKind::Regular { RssKind::File } else { RssKind::Shmem };
        let writable_now = self.read_maps_writable(vma);
        let mut mapped = self.fault_around(id, vma, va, false)?;
        // Only fault-around sets the entry below: it is looked at again after each one.
        let mut here = mapped > 0 && self.pte(id, va).mapped();
        let index = vma.page_index(va);
        // The page readahead marked, reached by a fault: the next window is read ahead
        // through the mapping's open file. filemap_fault drops the mmap lock for that and
        // asks for a retry, whose fault-around maps the window's cached pages, the faulting
        // one among them now that it is unmarked (measured on 6.18: a GUP read of the first
        // of five pages of a private mapping, whose first page is marked, maps all five).
        if !here && self.fault_async_readahead(vma, index).ok_or(FaultError::Oom)? {
            let more = self.fault_around(id, vma, va, false)?;
            mapped += more;
            here = more > 0 && self.pte(id, va).mapped();
        }
        let mut major = false;
        if !here && self.fault_sync_readahead(vma, index).ok_or(FaultError::Oom)? {
            // filemap_fault dropped the mmap lock to read the window in and asked for a
            // retry: the retried fault's fault-around maps the window's pages now cached.
            major = true;
            let more = self.fault_around(id, vma, va, false)?;
            mapped += more;
            here = more > 0 && self.pte(id, va).mapped();
        }
        let mut rss = RssDelta::default();
        rss.add(rss_kind, mapped as i64);
        if !here {
            let fresh =
                !self.m.file(file_id).cache.contains(index) && !self.m.file(file_id).swapped.contains_key(&index);
            let (lo, count) = self.finish_fault_span(id, vma, va);
            for i in 0..count {
                let a = lo + (i << PAGE_SHIFT);
                let (pfn, read) = self.m.cache_page_read(file_id, vma.page_index(a)).ok_or(FaultError::Oom)?;
                major |= read;
                self.m.frames.get(pfn);
                rss.add(self.map_page(id, vma, a, pfn, writable_now, false)?, 1);
                mapped += 1;
            }
            self.mlock_if_mapped_whole(id, vma, lo, count);
            if fresh && kind == FileKind::Shmem {
                return Ok(FaultOutcome::new(major, Mapped::ShmemPage, rss));
            }
        }
        Ok(FaultOutcome::new(major, Mapped::FilePages { around: mapped }, rss))
    }

    /// do_wp_page: a write to a present, write-protected PTE in a writable VMA.
    pub(crate) fn fault_wp(&mut self, f: &FaultInfo, pte: Pte) -> Result<FaultOutcome, FaultError> {
        let (id, vma, va) = (f.id, f.vma, f.va);
        let pfn = pte.pfn();
        if vma.flags.contains(VmFlags::SHARED) {
            self.m.folio_mark_dirty(pfn);
            self.set_pte(id, va, pte.with(PteFlags::WRITABLE | PteFlags::DIRTY | PteFlags::ACCESSED))
                .map_err(|_| FaultError::Oom)?;
            return Ok(FaultOutcome::minor(Mapped::SharedWrite, RssDelta::default()));
        }
        let zero = self.m.frames.zero_pfn();
        let mut meta = self.m.frames.meta(pfn);
        if pfn != zero && meta.owner == Owner::Anon {
            // wp_can_reuse_anon_folio: a page held only by this PTE and the swap cache, whose
            // slot no swap PTE names any more, leaves the swap cache and is reused (else it
            // would be copied and its old frame left in the swap cache, mapped by no one).
            if !meta.flags.contains(PageFlags::ANON_EXCLUSIVE) && meta.refcount == 2 {
                if let Some(e) = self.m.swap.slot_of(pfn) {
                    if self.m.swap.count(e) == 0 {
                        self.folio_free_swap(pfn);
                        meta = self.m.frames.meta(pfn);
                    }
                }
            }
            // Reuse when no one else can see the page. A page whose mlock or munlock waits in
            // the mlock batch has a reference of the batch's there: it is copied (measured:
            // MAP_LOCKED memory a parent unmaps after a fork is copied by the child's write
            // until something drains the batch).
            let exclusive = meta.flags.contains(PageFlags::ANON_EXCLUSIVE)
                || (meta.refcount == 1 && !self.m.held_by_mlock_batch(pfn));
            if exclusive {
                self.m.frames.meta_mut(pfn).flags |= PageFlags::ANON_EXCLUSIVE;
                self.set_pte(id, va, pte.with(PteFlags::WRITABLE | PteFlags::DIRTY | PteFlags::ACCESSED))
                    .map_err(|_| FaultError::Oom)?;
                return Ok(FaultOutcome::minor(Mapped::CowReuse, RssDelta::default()));
            }
        }
        // wp_page_copy: a new anonymous page replaces the shared one.
        let start = self.vma_start_of(id, va);
        self.anon_vma_prepare(id, start);
        let new = self.alloc_anon_page()?;
        self.m.frames.copy_frame(pfn, new);
        let flags = self.pte_flags_for(vma, true, true);
        self.set_pte(id, va, Pte::new(new, flags)).map_err(|_| FaultError::Oom)?;
        self.m.frames.meta_mut(new).mapcount += 1;
        let locked = vma.flags.contains(VmFlags::LOCKED);
        if locked {
            self.m.mlock_page(new);
        }
        rss_add(self.mm_mut(id), RssKind::Anon, 1);
        let mut rss = RssDelta::one(RssKind::Anon);
        if pfn == zero {
            return Ok(FaultOutcome::minor(Mapped::ZeroCow, rss));
        }
        let old_kind = self.m.rss_kind(pfn);
        rss_add(self.mm_mut(id), old_kind, -1);
        rss.add(old_kind, -1);
        if locked {
            self.m.munlock_page(pfn);
        }
        self.m.frames.meta_mut(pfn).mapcount -= 1;
        self.m.frames.put(pfn);
        Ok(FaultOutcome::minor(Mapped::CowCopy, rss))
    }

    /// Faults in every page of `[start, end)` the way mm_populate does for MAP_POPULATE,
    /// MAP_LOCKED, mlockall and locked VMAs made writable: VMA by VMA, skipping what cannot
    /// be populated and continuing after a failure at the next VMA.
    pub(crate) fn populate(&mut self, pid: Pid, start: u64, end: u64, _write: bool) {
        let _ = self.mm_populate(pid, start, end, true);
    }

    /// __mm_populate over `[start, end)`: for each VMA (VM_IO and VM_PFNMAP skipped),
    /// populate_vma_page_range. Returns the first error unless `ignore_errors`.
    pub(crate) fn mm_populate(&mut self, pid: Pid, start: u64, end: u64, ignore_errors: bool) -> Result<(), Errno> {
        let Ok(id) = self.mm_id(pid) else { return Ok(()) };
        let mut at = start;
        while at < end {
            let mm = &self.mms[id];
            let Some(v) = mm.vmas.find(at).filter(|v| v.start < end).cloned() else { break };
            let lo = at.max(v.start);
            let hi = end.min(v.end);
            at = hi;
            if v.flags.intersects(VmFlags::IO | VmFlags::PFNMAP) {
                continue;
            }
            // populate_vma_page_range: LOCKONFAULT VMAs fault nothing now; inaccessible ones
            // fail; writable private VMAs are written to break COW, the rest read (FOLL_FORCE).
            let r = if v.flags.contains(VmFlags::LOCKONFAULT) {
                Ok(())
            } else if !v.flags.intersects(VmFlags::ACCESS) {
                Err(Errno::EFAULT)
            } else {
                let write = v.flags & (VmFlags::WRITE | VmFlags::SHARED) == VmFlags::WRITE;
                let r = self.get_user_pages(
                    pid,
                    lo,
                    hi,
                    Gup { write, force: !write, madv_populate: false, pin_unshare: false },
                );
                // populate_vma_page_range drains this CPU's LRU batches after its GUP
                // (measured: pages MAP_POPULATE or mlock faulted in are unevictable at once).
                self.lru_add_drain_of(id);
                r
            };
            if let Err(e) = r {
                // EINTR: the OOM killer took the task (and its address space).
                if !ignore_errors || e == Errno::EINTR {
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// __get_user_pages without a pages array: faults `[start, end)` in for `gup.write`,
    /// marking each page accessed (FOLL_TOUCH). Stops at the first page it cannot get,
    /// leaving the earlier ones mapped.
    pub(crate) fn get_user_pages(&mut self, pid: Pid, start: u64, end: u64, gup: Gup) -> Result<(), Errno> {
        let id = self.mm_id(pid)?;
        let access = if gup.write { Access::Write } else { Access::Read };
        let mut va = start;
        let mut retries = 0;
        while va < end {
            let mm = &self.mms[id];
            let Some(v) = mm.vmas.containing(va).cloned() else {
                return Err(if gup.madv_populate { Errno::ENOMEM } else { Errno::EFAULT });
            };
            if let Err(e) = Self::check_vma_flags(&v, gup) {
                return Err(if gup.madv_populate { Errno::EINVAL } else { e });
            }
            let pte = self.pte(id, va);
            // Pages after `va` that were faulted in along with it (see zero_run).
            let mut more = 0;
            if !Self::pte_allows(pte, access) {
                match self.handle_fault(pid, va, access) {
                    Ok(_) => {}
                    Err(FaultError::Oom) => return Err(Errno::ENOMEM),
                    // A fatal signal stops GUP with EINTR; the task is gone.
                    Err(FaultError::Killed) => return Err(Errno::EINTR),
                    Err(_) => return Err(Errno::EFAULT),
                }
                if !Self::pte_allows(self.pte(id, va), access) {
                    // Reclaim on the way out of the fault (memory.high) took the page again:
                    // GUP faults it once more, as the retried access would.
                    retries += 1;
                    if retries > Self::MAX_FAULT_RETRIES {
                        return Err(Errno::ENOMEM);
                    }
                    continue;
                }
                if pte.is_none() && !gup.write {
                    more = self.zero_run(id, pid, va, end);
                }
            } else if gup.write && !pte.dirty() {
                // FOLL_TOUCH on a writable but clean PTE dirties the folio instead.
                let pfn = pte.pfn();
                if pfn != self.m.frames.zero_pfn() {
                    self.m.folio_mark_dirty(pfn);
                }
            }
            if gup.pin_unshare {
                self.unshare_anon_page(pid, id, va);
            }
            let pfn = self.pte(id, va).pfn();
            self.m.mark_accessed(pfn);
            va += (1 + more) * PAGE_SIZE;
            if !gup.pin_unshare && va < end.min(v.end) {
                // The pages after it in the same VMA and leaf table that are mapped already
                // need only their access marked: read from the table directly instead of a
                // VMA lookup and a page-table walk each (a second mlockall of a populated
                // gigabyte went through 262,144 of both).
                va = self.gup_mapped_run(id, va, end.min(v.end), access, gup.write);
            }
            // A leaf table just filled with the zero page (a populated read-only mapping)
            // shares one copy with all such tables: no host memory a table.
            if pfn == self.m.frames.zero_pfn() && (va & (pgtable::leaf_span(&self.m.frames) - 1) == 0 || va >= end) {
                let pgd = self.mms[id].pgd;
                if let Some(t) = crate::pgtable::leaf_table(&self.m.frames, pgd, va - PAGE_SIZE) {
                    self.m.frames.share_zero_table(t);
                }
            }
        }
        Ok(())
    }

    /// From `va` (below `end`, in one VMA), the pages mapped already so that `access` needs
    /// no fault (and, for a write, dirty already), up to the end of `va`'s leaf table: marks
    /// each accessed, as GUP does page by page, and returns the address of the first page
    /// it did not take. A table left mapping nothing but the zero page shares its entries
    /// ([`crate::frame::FrameTable::share_zero_table`]).
    fn gup_mapped_run(&mut self, id: MmId, mut va: u64, end: u64, access: Access, write: bool) -> u64 {
        let Some(table) = pgtable::leaf_table(&self.m.frames, self.mms[id].pgd, va) else { return va };
        let span = pgtable::leaf_span(&self.m.frames);
        let stop = end.min((va | (span - 1)) + 1);
        let zero = self.m.frames.zero_pfn();
        let mut last = None;
        while va < stop {
            let pte = Pte(self.m.frames.table(table)[pgtable::pte_index(&self.m.frames, va)]);
            if !Self::pte_allows(pte, access) || (write && !pte.dirty()) {
                break;
            }
            self.m.mark_accessed(pte.pfn());
            last = Some(pte.pfn());
            va += PAGE_SIZE;
        }
        if last == Some(zero) && (va & (span - 1) == 0 || va >= end) {
            self.m.frames.share_zero_table(table);
        }
        va
    }

    /// After a read fault at `va` (whose PTE was empty) mapped the zero page: the empty PTEs
    /// that follow it in the same VMA and `[va, end)` would each fault the same way, one
    /// after the other (a read of an empty PTE of an anonymous private VMA maps the zero
    /// page with the bits the VMA gives it, allocating the page table first where there is
    /// none), and nothing between those faults changes that. This does them all at once: the
    /// same entry written in every slot, the tables allocated as those faults would, and
    /// what each fault counts (pgfault, the task's minor faults, its memory cgroup's faults,
    /// one zero-page event a page, of which only those the event log keeps are made). So
    /// populating a huge read-only mapping costs a page-table allocation a table, bounded by
    /// the simulated RAM, instead of a fault a page; the result is the same. Returns how many
    /// pages after `va` it mapped; the caller faults the next one (which may need the OOM
    /// killer) as usual. Does nothing where the faults would differ: another kind of VMA, a
    /// page that is not empty, a memory cgroup above its high limit (each fault would then
    /// reclaim); and stays in the one page table when the task is in a memory cgroup (a
    /// table it allocates could take the group above its high limit).
    fn zero_run(&mut self, id: MmId, pid: Pid, va: u64, end: u64) -> u64 {
        let zero = self.m.frames.zero_pfn();
        let entry = self.pte(id, va);
        let Some(vma) = self.mms[id].vmas.containing(va) else { return 0 };
        if !entry.present() || entry.pfn() != zero || !vma.is_private_anon() {
            return 0;
        }
        let run_end = end.min(vma.end);
        let pgd = self.mms[id].pgd;
        let before = self.charging_as(pid);
        let memcg = self.m.frames.memcgs.charge_to;
        if !self.m.frames.memcgs.above_high(memcg).is_empty() {
            self.m.frames.memcgs.charge_to = before;
            return 0;
        }
        let mut done = 0;
        let mut at = va + PAGE_SIZE;
        while at < run_end {
            let table_end = (at | (pgtable::leaf_span(&self.m.frames) - 1)) + 1;
            let span_end = run_end.min(table_end);
            let table = match pgtable::leaf_table(&self.m.frames, pgd, at) {
                Some(t) => t,
                None if memcg == crate::memcg::ROOT_MEMCG => {
                    // The fault at `at` would allocate the table (charged as the fault's).
                    let mut new = 0;
                    let t = pgtable::leaf_table_alloc(&mut self.m.frames, pgd, at, &mut new);
                    self.mm_mut(id).pgtable_pages += new;
                    match t {
                        Some(t) => t,
                        None => break,
                    }
                }
                None => break,
            };
            let first = pgtable::pte_index(&self.m.frames, at);
            let count = ((span_end - at) >> PAGE_SHIFT) as usize;
            let slots = &self.m.frames.table(table)[first..first + count];
            let n = slots.iter().take_while(|&&e| Pte(e).is_none()).count();
            self.m.frames.table_mut(table)[first..first + n].fill(entry.0);
            done += n as u64;
            if n < count {
                break;
            }
            at = span_end;
            if at == table_end && at < run_end {
                // A table left behind full of the zero page (the caller shares the last one).
                self.m.frames.share_zero_table(table);
            }
        }
        self.m.vmstat.pgfault += done;
        self.count_faults(pid, done, false);
        self.m.frames.memcgs.charge_to = before;
        self.m.log_run(pid, va + PAGE_SIZE, done, false, EventKind::ZeroPage);
        done
    }

    /// check_vma_flags: what GUP may do in a VMA.
    fn check_vma_flags(v: &Vma, gup: Gup) -> Result<(), Errno> {
        if v.flags.intersects(VmFlags::IO | VmFlags::PFNMAP) {
            return Err(Errno::EFAULT);
        }
        if gup.write {
            let may = v.flags.contains(VmFlags::WRITE) || gup.force && v.is_cow();
            if !may {
                return Err(Errno::EFAULT);
            }
        } else {
            let may = v.flags.contains(VmFlags::READ) || gup.force && v.flags.contains(VmFlags::MAYREAD);
            if !may {
                return Err(Errno::EFAULT);
            }
        }
        Ok(())
    }
}

/// How [`Kernel::get_user_pages`] runs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Gup {
    /// FOLL_WRITE.
    pub write: bool,
    /// FOLL_FORCE: access a VMA its protections would refuse (mlock's read population).
    pub force: bool,
    /// FOLL_MADV_POPULATE: a missing VMA is ENOMEM and a refused one EINVAL.
    pub madv_populate: bool,
    /// FOLL_PIN for reading: an anonymous page another address space may still map is
    /// unshared before it is taken (and touched: the copy is marked accessed, not the
    /// shared page, which follow_page_pte turns away before its FOLL_TOUCH).
    pub pin_unshare: bool,
}
