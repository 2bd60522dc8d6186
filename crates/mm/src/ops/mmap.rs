//! `mmap(2)`: argument checks in Linux's order, placement (get_unmapped_area), and the new
//! VMA with merging (mmap_region).

use crate::file::{File, FileKind, OpenFileId};
use crate::flags::VmFlags;
use crate::kernel::{can_merge, Cap, Kernel, Pid, Rlimit};
use crate::layout::*;
use crate::mm_table::MmId;
use crate::pages::PageCount;
use crate::vma::{Vma, VmaFile};
use crate::vma_tree::VmaTree;
use abi::*;

/// The last address of the default 47-bit mmap window.
const DEFAULT_MAP_WINDOW: u64 = TASK_SIZE;

/// Where `mmap` puts a mapping, as [`Kernel::place_mmap`] finds it.
pub(crate) enum Placed {
    /// At `addr`, with the length rounded and the flags as the rest of mmap reads them.
    At(Placement),
    /// A fixed address in the error range whose code has no name: returned as it is.
    ErrorValue(u64),
}

/// A placed mapping: its address and length, and the flags and offset mmap goes on with.
pub(crate) struct Placement {
    pub(crate) addr: u64,
    pub(crate) len: u64,
    pub(crate) flags: u64,
    pub(crate) pgoff: u64,
    pub(crate) anon_shared: bool,
}

impl Kernel {
    /// `mmap(addr, len, prot, flags, fd, offset)`: returns the address of the new mapping.
    #[allow(clippy::too_many_arguments)] // the system call's own six arguments, plus the pid
    pub fn mmap(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        prot: u64,
        flags: u64,
        fd: i64,
        offset: u64,
    ) -> SysResult<u64> {
        let id = self.mm_id(pid)?;
        // arch/x86/kernel/sys_x86_64.c: the byte offset must be page-aligned.
        if offset & !PAGE_MASK != 0 {
            return Err(Errno::EINVAL);
        }
        let open = if flags & MAP_ANONYMOUS == 0 {
            let fd = i32::try_from(fd).map_err(|_| Errno::EBADF)?;
            Some(*self.tasks[&pid].fds.get(&fd).ok_or(Errno::EBADF)?)
        } else {
            None
        };
        let len = if flags & MAP_HUGETLB != 0 {
            // Only a hugetlbfs file maps huge pages, and the model has none: a file is
            // refused. An anonymous mapping is one of huge pages of a size the CPU has, its
            // length rounded up to them (a length that wraps is no length at all).
            if open.is_some() {
                return Err(Errno::EINVAL);
            }
            let size = hugetlb_page_size(flags).ok_or(Errno::EINVAL)?;
            len.checked_next_multiple_of(size).unwrap_or(0)
        } else {
            len
        };
        let r = self.do_mmap(id, open, addr, len, prot, flags, offset >> PAGE_SHIFT);
        if let Some(a) = r.ok().filter(|&a| !is_err_value(a)) {
            if self.m.config.paranoid {
                crate::invariants::check_kernel(self);
            }
            // MAP_POPULATE (without MAP_NONBLOCK) or VM_LOCKED prefaults the range. VM_LOCKED
            // comes from MAP_LOCKED or mlockall(MCL_FUTURE) (a VMA merges only with one of
            // the same flags): without either, no look-up of the new VMA.
            let populate = flags & (MAP_POPULATE | MAP_NONBLOCK) == MAP_POPULATE;
            let may_lock = flags & MAP_LOCKED != 0 || self.mm(pid)?.def_flags.contains(VmFlags::LOCKED);
            let vma_flags = if populate || may_lock {
                self.mm(pid)?.vmas.containing(a).map(|v| v.flags).unwrap_or_default()
            } else {
                VmFlags::empty()
            };
            if populate || vma_flags.contains(VmFlags::LOCKED) {
                let len = page_ceil(len).unwrap_or(0);
                self.populate(
                    pid,
                    a,
                    a + len,
                    vma_flags.contains(VmFlags::WRITE) && !vma_flags.contains(VmFlags::SHARED),
                );
            }
        }
        r
    }

    /// do_mmap up to and including get_unmapped_area: the argument checks that come before
    /// placement, then where the mapping goes, in address space `id` as if its VMAs were
    /// `vmas` (its own, or a what-if copy: see [`crate::placement`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn place_mmap(
        &self,
        id: MmId,
        vmas: &VmaTree,
        file: Option<crate::file::FileId>,
        addr: u64,
        len: u64,
        mut flags: u64,
        pgoff: u64,
    ) -> SysResult<Placed> {
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        // MAP_FIXED_NOREPLACE is MAP_FIXED from here on (before the hint rounding): an
        // unaligned address fails, and a low one is taken as it is.
        if flags & MAP_FIXED_NOREPLACE != 0 {
            flags |= MAP_FIXED;
        }
        let mut addr = addr;
        if flags & MAP_FIXED == 0 {
            addr = self.round_hint_to_min(addr);
        }
        let len = match page_ceil(len) {
            Some(l) if l != 0 => l,
            _ => return Err(Errno::ENOMEM),
        };
        if pgoff.checked_add(len >> PAGE_SHIFT).is_none() {
            return Err(Errno::EOVERFLOW);
        }
        if vmas.len() as u64 > self.m.config.max_map_count {
            return Err(Errno::ENOMEM);
        }
        // Anonymous shared memory is a shmem object of its own; its pgoff is 0.
        let anon_shared = file.is_none() && flags & MAP_TYPE == MAP_SHARED;
        // hugetlbfs places its mappings on huge page boundaries, and takes a fixed address
        // only there.
        if flags & (MAP_HUGETLB | MAP_FIXED) == MAP_HUGETLB | MAP_FIXED
            && file.is_none()
            && hugetlb_page_size(flags).is_some_and(|size| !addr.is_multiple_of(size))
        {
            return Err(Errno::EINVAL);
        }
        // __get_unmapped_area hands a fixed address through unchanged and then takes one in
        // the last 4095 bytes for an error code (IS_ERR_VALUE): mmap returns it as it is, so
        // the caller sees errno -addr. A code the model has no name for comes back as the raw
        // value the kernel returns.
        if flags & MAP_FIXED != 0 && len <= self.task_size(id) && is_err_value(addr) {
            return match i32::try_from(addr.wrapping_neg()).ok().and_then(Errno::from_raw) {
                Some(e) => Err(e),
                None => Ok(Placed::ErrorValue(addr)),
            };
        }
        let addr = self.unmapped_area_in(id, vmas, file, addr, len, pgoff, flags, anon_shared)?;
        if flags & MAP_FIXED_NOREPLACE != 0 && vmas.range(addr, addr + len).next().is_some() {
            return Err(Errno::EEXIST);
        }
        Ok(Placed::At(Placement { addr, len, flags, pgoff, anon_shared }))
    }

    /// i386's old `mmap(args)`: reads the six 32-bit arguments from the caller's memory
    /// (EFAULT when it cannot), then maps as `mmap` does (the offset in bytes, page-aligned
    /// or EINVAL; the descriptor a signed 32-bit number).
    pub fn old_mmap(&mut self, pid: Pid, args: u64) -> SysResult<u64> {
        let raw = self.copy_struct_from_user(pid, args, 24)?;
        let word =
            |i: usize| u64::from(u32::from_le_bytes([raw[4 * i], raw[4 * i + 1], raw[4 * i + 2], raw[4 * i + 3]]));
        let fd = i64::from(word(4) as u32 as i32);
        self.mmap(pid, word(0), word(1), word(2), word(3), fd, word(5))
    }

    /// do_mmap: everything after the file lookup.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn do_mmap(
        &mut self,
        id: MmId,
        open: Option<OpenFileId>,
        addr: u64,
        len: u64,
        prot: u64,
        flags: u64,
        pgoff: u64,
    ) -> SysResult<u64> {
        let file = open.map(|o| self.m.open_file(o).file);
        let Placement { addr, len, mut flags, mut pgoff, anon_shared } =
            match self.place_mmap(id, &self.mms[id].vmas, file, addr, len, flags, pgoff)? {
                Placed::At(p) => p,
                Placed::ErrorValue(v) => return Ok(v),
            };
        // READ_IMPLIES_EXEC: a readable mapping is executable too, but of a file on a noexec
        // mount.
        let noexec = file.is_some_and(|f| self.m.file(f).noexec);
        let prot = if prot & PROT_READ != 0 && !noexec && self.read_implies_exec(id) { prot | PROT_EXEC } else { prot };
        let mut vm_flags = VmFlags::from_prot(prot) | VmFlags::MAYREAD | VmFlags::MAYWRITE | VmFlags::MAYEXEC;
        if flags & MAP_GROWSDOWN != 0 {
            vm_flags |= VmFlags::GROWSDOWN;
        }
        if flags & MAP_LOCKED != 0 {
            vm_flags |= VmFlags::LOCKED;
        }
        if flags & MAP_SYNC != 0 {
            vm_flags |= VmFlags::SYNC;
        }
        if flags & MAP_STACK != 0 {
            vm_flags |= VmFlags::NOHUGEPAGE;
        }
        vm_flags |= self.mms[id].def_flags;
        if flags & MAP_LOCKED != 0 && !self.can_do_mlock(id) {
            return Err(Errno::EPERM);
        }
        // mlock_future_ok: VM_LOCKED from MAP_LOCKED or from mlockall(MCL_FUTURE).
        if !self.mlock_future_ok(id, vm_flags, len) {
            return Err(Errno::EAGAIN);
        }
        if let Some(o) = open {
            let of = self.m.open_file(o).clone();
            let f = self.m.file(of.file);
            match flags & MAP_TYPE {
                MAP_SHARED | MAP_SHARED_VALIDATE => {
                    if flags & MAP_TYPE == MAP_SHARED {
                        flags &= LEGACY_MAP_MASK;
                    }
                    let supported = LEGACY_MAP_MASK | if f.kind == FileKind::Regular { MAP_SYNC } else { 0 };
                    if flags & !supported != 0 {
                        return Err(Errno::EOPNOTSUPP);
                    }
                    if prot & PROT_WRITE != 0 && !of.writable {
                        return Err(Errno::EACCES);
                    }
                    vm_flags |= VmFlags::SHARED | VmFlags::MAYSHARE;
                    if !of.writable {
                        vm_flags -= VmFlags::MAYWRITE | VmFlags::SHARED;
                    }
                    self.check_private_file(&of, f, &mut vm_flags)?;
                }
                MAP_PRIVATE => self.check_private_file(&of, f, &mut vm_flags)?,
                _ => return Err(Errno::EINVAL),
            }
            // ext4 without DAX refuses MAP_SYNC mappings.
            if vm_flags.contains(VmFlags::SYNC)
                && f.kind == FileKind::Regular
                && flags & MAP_TYPE == MAP_SHARED_VALIDATE
            {
                return Err(Errno::EOPNOTSUPP);
            }
        } else {
            match flags & MAP_TYPE {
                MAP_SHARED => {
                    if vm_flags.contains(VmFlags::GROWSDOWN) {
                        return Err(Errno::EINVAL);
                    }
                    pgoff = 0;
                    vm_flags |= VmFlags::SHARED | VmFlags::MAYSHARE;
                }
                MAP_PRIVATE => pgoff = addr >> PAGE_SHIFT,
                _ => return Err(Errno::EINVAL),
            }
        }
        // MAP_NORESERVE is honoured only while overcommit is allowed.
        if flags & MAP_NORESERVE != 0 && self.m.config.overcommit_memory != 2 {
            vm_flags |= VmFlags::NORESERVE;
        }
        if flags & MAP_HUGETLB != 0 && open.is_none() && flags & MAP_NORESERVE == 0 {
            // hugetlbfs reserves the mapping's huge pages when it is made (MAP_NORESERVE
            // alone leaves that to the faults), and the model's machine has none set aside
            // (vm.nr_hugepages 0, as a machine has unless told).
            return Err(Errno::ENOMEM);
        }
        self.mmap_region(id, open, addr, len, vm_flags, pgoff, anon_shared)
    }

    fn check_private_file(&self, of: &crate::file::OpenFile, f: &File, vm_flags: &mut VmFlags) -> SysResult<()> {
        if !of.readable {
            return Err(Errno::EACCES);
        }
        if f.noexec {
            if vm_flags.contains(VmFlags::EXEC) {
                return Err(Errno::EPERM);
            }
            *vm_flags -= VmFlags::MAYEXEC;
        }
        if f.kind == FileKind::Unmappable {
            return Err(Errno::ENODEV);
        }
        if vm_flags.contains(VmFlags::GROWSDOWN) {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }

    /// round_hint_to_min: a non-fixed hint is page-floored and raised to mmap_min_addr.
    fn round_hint_to_min(&self, hint: u64) -> u64 {
        let hint = hint & PAGE_MASK;
        let min = self.m.config.lsm_mmap_min_addr;
        if hint != 0 && hint < min {
            return page_ceil(min).unwrap_or(min);
        }
        hint
    }

    /// Checks RLIMIT_AS and RLIMIT_DATA for `pages` more of a VMA with `flags` (may_expand_vm).
    pub(crate) fn may_expand_vm(&self, id: MmId, flags: VmFlags, pages: u64) -> bool {
        let mm = &self.mms[id];
        // One look-up of the task for both limits: this runs for every mmap.
        let [as_limit, data_limit] = self.rlimits(id, [Rlimit::As, Rlimit::Data]);
        if mm.total_vm + PageCount::new(pages) > PageCount::of_len(as_limit) {
            return false;
        }
        let data = flags & (VmFlags::WRITE | VmFlags::SHARED | VmFlags::GROWSDOWN) == VmFlags::WRITE;
        // Linux lets a soft limit of 0 pass while the hard limit allows (the Valgrind
        // workaround); the model's hard limits are unlimited.
        if data && mm.data_vm + PageCount::new(pages) > PageCount::of_len(data_limit) && data_limit != 0 {
            return false;
        }
        true
    }

    /// can_do_mlock: a non-zero RLIMIT_MEMLOCK or CAP_IPC_LOCK.
    pub(crate) fn can_do_mlock(&self, id: MmId) -> bool {
        self.rlimit(id, Rlimit::Memlock) != 0 || self.capable(id, Cap::IpcLock)
    }

    /// mlock_future_ok: whether `bytes` more of a VMA with `flags` may be locked.
    pub(crate) fn mlock_future_ok(&self, id: MmId, flags: VmFlags, bytes: u64) -> bool {
        if !flags.contains(VmFlags::LOCKED) || self.capable(id, Cap::IpcLock) {
            return true;
        }
        let locked = PageCount::of_len(bytes) + self.mms[id].locked_vm;
        locked <= PageCount::of_len(self.rlimit(id, Rlimit::Memlock))
    }

    /// get_unmapped_area: where a mapping of `len` bytes goes.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn get_unmapped_area(
        &self,
        id: MmId,
        file: Option<crate::file::FileId>,
        addr: u64,
        len: u64,
        pgoff: u64,
        flags: u64,
        anon_shared: bool,
    ) -> SysResult<u64> {
        self.unmapped_area_in(id, &self.mms[id].vmas, file, addr, len, pgoff, flags, anon_shared)
    }

    /// get_unmapped_area of address space `id` as if its VMAs were `vmas` (its own, or a
    /// what-if copy: see [`crate::placement`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn unmapped_area_in(
        &self,
        id: MmId,
        vmas: &VmaTree,
        file: Option<crate::file::FileId>,
        addr: u64,
        len: u64,
        pgoff: u64,
        flags: u64,
        anon_shared: bool,
    ) -> SysResult<u64> {
        let mm = &self.mms[id];
        let task_size = mm.space.task_size;
        if len > task_size {
            return Err(Errno::ENOMEM);
        }
        let result = if flags & MAP_FIXED != 0 {
            addr
        } else {
            // Which helper Linux picks decides whether the result is 2 MiB-aligned. The
            // choice follows the kernel's build (CONFIG_TRANSPARENT_HUGEPAGE), not the THP
            // mode: with `never`, a 4 MiB file or anonymous mapping is still placed 2 MiB-
            // aligned (measured on 6.18). A compat (32-bit) call never aligns.
            let thp_align = mm.space.thp_align
                && self.m.config.thp_aligned_placement
                && match file {
                    Some(f) => self.m.file(f).kind == FileKind::Regular,
                    None => !anon_shared && addr == 0 && len.is_multiple_of(PMD_SIZE),
                };
            let pgoff = if file.is_none() { 0 } else { pgoff };
            let mut found = None;
            if thp_align {
                found = self.thp_unmapped_area(mm, vmas, addr, len, pgoff << PAGE_SHIFT);
            }
            match found {
                Some(a) => a,
                None => self.arch_unmapped_area(mm, vmas, addr, len)?,
            }
        };
        if result > task_size - len {
            return Err(Errno::ENOMEM);
        }
        if result & !PAGE_MASK != 0 {
            return Err(Errno::EINVAL);
        }
        if result < self.m.config.mmap_min_addr && !self.capable(id, Cap::SysRawio) {
            return Err(Errno::EPERM);
        }
        Ok(result)
    }

    /// __thp_get_unmapped_area: search with 2 MiB of slack, then align the result so the
    /// file offset and the address agree modulo 2 MiB.
    fn thp_unmapped_area(&self, mm: &crate::mm::Mm, vmas: &VmaTree, addr: u64, len: u64, off: u64) -> Option<u64> {
        let size = PMD_SIZE;
        let off_end = off.checked_add(len)?;
        let off_align = off.checked_add(size - 1)? & !(size - 1);
        if off_end <= off_align || off_end - off_align < size {
            return None;
        }
        let len_pad = len.checked_add(size)?;
        off.checked_add(len_pad)?;
        let ret = self.arch_unmapped_area(mm, vmas, addr, len_pad).ok()?;
        if ret == addr {
            return Some(addr);
        }
        let off_sub = off.wrapping_sub(ret) & (size - 1);
        // An aligned result moves up by a whole huge page only in the top-down layout (the
        // padded search found the top of its range there); bottom-up it stands.
        if off_sub == 0 && !mm.legacy_layout {
            return Some(ret + size);
        }
        Some(ret + off_sub)
    }

    /// The address space's own placement: top-down below mmap_base, or bottom-up in the
    /// legacy layout.
    fn arch_unmapped_area(&self, mm: &crate::mm::Mm, vmas: &VmaTree, addr: u64, len: u64) -> SysResult<u64> {
        if mm.legacy_layout {
            self.arch_unmapped_area_bottom_up(mm, vmas, addr, len)
        } else {
            self.arch_unmapped_area_topdown(mm, vmas, addr, len)
        }
    }

    /// arch_get_unmapped_area (x86-64, the legacy layout): a usable hint rounded up to a
    /// page, else the lowest gap above the legacy base.
    fn arch_unmapped_area_bottom_up(&self, mm: &crate::mm::Mm, vmas: &VmaTree, addr: u64, len: u64) -> SysResult<u64> {
        // 4-level paging: the 64-bit window is all of TASK_SIZE; a compat call ends at its own.
        let end = mm.space.task_size;
        if len > end {
            return Err(Errno::ENOMEM);
        }
        if addr != 0 {
            if let Some(a) = page_ceil(addr) {
                if end - len >= a {
                    match vmas.find(a) {
                        None => return Ok(a),
                        Some(v) if a + len <= vmas.start_gap(v) => return Ok(a),
                        _ => {}
                    }
                }
            }
        }
        let low = mm.mmap_legacy_base.max(self.m.config.lsm_mmap_min_addr);
        vmas.find_bottom_up(low, end, len, PAGE_SIZE, 0, 0).ok_or(Errno::ENOMEM)
    }

    /// arch_get_unmapped_area_topdown (x86-64): honour a usable hint, else the highest gap
    /// below mmap_base, else bottom-up from the legacy base.
    fn arch_unmapped_area_topdown(&self, mm: &crate::mm::Mm, vmas: &VmaTree, addr: u64, len: u64) -> SysResult<u64> {
        let task_size = mm.space.task_size;
        if len > task_size {
            return Err(Errno::ENOMEM);
        }
        if addr != 0 {
            let a = addr & PAGE_MASK;
            let valid = task_size - len >= a && (a > DEFAULT_MAP_WINDOW) == (a + len > DEFAULT_MAP_WINDOW);
            if valid {
                match vmas.find(a) {
                    None => return Ok(a),
                    Some(v) if a + len <= vmas.start_gap(v) => return Ok(a),
                    _ => {}
                }
            }
        }
        let low = PAGE_SIZE.max(self.m.config.lsm_mmap_min_addr);
        if let Some(a) = vmas.find_top_down(low, mm.mmap_base, len, PAGE_SIZE, 0, 0) {
            return Ok(a);
        }
        // A failed top-down search falls back to bottom-up from the legacy base.
        let low = mm.mmap_legacy_base.max(self.m.config.lsm_mmap_min_addr);
        vmas.find_bottom_up(low, task_size, len, PAGE_SIZE, 0, 0).ok_or(Errno::ENOMEM)
    }

    /// mmap_region: unmap what a fixed mapping replaces, then merge or insert the VMA.
    #[allow(clippy::too_many_arguments)]
    fn mmap_region(
        &mut self,
        id: MmId,
        open: Option<OpenFileId>,
        addr: u64,
        len: u64,
        mut vm_flags: VmFlags,
        pgoff: u64,
        anon_shared: bool,
    ) -> SysResult<u64> {
        let end = addr + len;
        let pages = len >> PAGE_SHIFT;
        // __mmap_prepare: the VMAs a fixed mapping replaces are gathered first, which splits
        // the ones it cuts (a middle cut needs a free map slot), then RLIMIT_AS/DATA and the
        // commit charge are checked counting the replaced pages as freed; any failure leaves
        // them in place, but split.
        let mm = &self.mms[id];
        // A hinted or fixed mapping may replace others; one placed in a gap (the usual case)
        // has nothing to gather or unmap.
        let replaces = mm.vmas.find(addr).is_some_and(|v| v.start < end);
        let (mut overlap, mut overlap_acct) = (0, 0);
        if replaces {
            for v in mm.vmas.range(addr, end) {
                let n = (v.end.min(end) - v.start.max(addr)) >> PAGE_SHIFT;
                overlap += n;
                if v.flags.contains(VmFlags::ACCOUNT) {
                    overlap_acct += n;
                }
            }
            self.split_munmap_edges(id, addr, end)?;
        }
        if !self.may_expand_vm(id, vm_flags, pages - overlap) {
            return Err(Errno::ENOMEM);
        }
        // accountable_mapping: private writable memory is charged (VM_ACCOUNT).
        if vm_flags & (VmFlags::NORESERVE | VmFlags::SHARED | VmFlags::WRITE) == VmFlags::WRITE {
            if pages > overlap_acct && !self.may_commit(id, pages - overlap_acct) {
                return Err(Errno::ENOMEM);
            }
            vm_flags |= VmFlags::ACCOUNT;
        }
        // shmem_zero_setup: a shared anonymous object charges its whole size unless
        // MAP_NORESERVE (shmem_acct_size).
        let shmem_acct = if anon_shared && !vm_flags.contains(VmFlags::NORESERVE) { pages } else { 0 };
        if shmem_acct > 0 && !self.may_commit(id, shmem_acct) {
            return Err(Errno::ENOMEM);
        }
        if replaces {
            self.do_munmap_range(id, addr, end)?;
        }
        let file = if anon_shared {
            let ino = self.m.new_ino();
            let f = self.m.add_file(File {
                size: len,
                always_deleted: true,
                acct_pages: shmem_acct,
                ..File::new("/dev/zero".into(), (0, 1), ino, FileKind::Shmem)
            });
            self.m.vm_acct_memory(shmem_acct);
            let o = self.m.add_open(f, true, true);
            Some(VmaFile { file: f, open: o })
        } else {
            open.map(|o| VmaFile { file: self.m.open_file(o).file, open: o })
        };
        let vma = Vma { start: addr, end, flags: vm_flags, pgoff, file, anon_vma: None, special: None };
        let mm = &self.mms[id];
        let prev = mm.vmas.prev_of(addr).filter(|p| can_merge(p, &vma)).map(|p| p.start);
        let next = mm.vmas.next_of(end).filter(|n| can_merge(&vma, n)).map(|n| n.start);
        self.vma_link(id, vma);
        if anon_shared {
            // The VMA holds the only reference to its fresh shmem object.
            self.m.put_open(file.expect("shmem file").open);
        }
        if prev.is_some() || next.is_some() {
            self.try_merge_around(id, addr);
        }
        Ok(addr)
    }
}

/// The size of the huge pages a MAP_HUGETLB mapping with `flags` asks for: the log2 in
/// the flags' MAP_HUGE field, or the default (2 MiB) when it is 0. x86-64 has 2 MiB and
/// 1 GiB pages; another size is none.
fn hugetlb_page_size(flags: u64) -> Option<u64> {
    match (flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK {
        0 | 21 => Some(2 << 20),
        30 => Some(1 << 30),
        _ => None,
    }
}
