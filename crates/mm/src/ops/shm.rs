//! SysV shared memory (ipc/shm.c): `shmget` makes a segment (a shmem object named
//! `/SYSV<key>`), `shmat` maps it shared, `shmdt` unmaps an attach, `shmctl` removes, reads
//! or changes a segment.
//!
//! Every task runs as root in the model, so the permission checks of the mode bits always
//! pass; the model has no clock, so the times `IPC_STAT` reports are 0.

use crate::file::{File, FileId, FileKind};
use crate::flags::VmFlags;
use crate::kernel::{Kernel, Pid};
use crate::layout::*;
use crate::sysv_shm::{slot_of, Segment, SHM_DEST, SHM_LOCKED};
use abi::*;

/// The attach alignment (SHMLBA): a page on x86.
const SHMLBA: u64 = PAGE_SIZE;
/// The size of `struct shmid64_ds` on x86-64.
pub const SHMID64_DS_SIZE: usize = 112;

/// What `shmctl(IPC_STAT)` reports of a segment (the fields the model knows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShmStat {
    /// `shm_perm.key`.
    pub key: i32,
    /// `shm_perm.mode`: the permission bits, SHM_DEST and SHM_LOCKED.
    pub mode: u32,
    /// `shm_segsz`.
    pub segsz: u64,
    /// `shm_cpid`.
    pub cpid: Pid,
    /// `shm_lpid`.
    pub lpid: Pid,
    /// `shm_nattch`.
    pub nattch: u64,
}

/// How `shmctl`'s structures are laid out in the caller's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShmLayout {
    /// `struct shmid64_ds` of x86-64 (112 bytes).
    Native64,
    /// The 32-bit `struct shmid64_ds` (84 bytes): an ia32 process asking with IPC_64, or a
    /// process of the i386 kernel.
    Ipc64x32,
    /// The old 32-bit `struct shmid_ds` (48 bytes: 16-bit ids and counts), asked for without
    /// IPC_64.
    Old32,
}

impl ShmLayout {
    /// The size of `struct shmid_ds` in this layout.
    pub fn size(self) -> usize {
        match self {
            ShmLayout::Native64 => SHMID64_DS_SIZE,
            ShmLayout::Ipc64x32 => 84,
            ShmLayout::Old32 => 48,
        }
    }

    /// Where `shm_perm.mode` is, and its width in bytes.
    fn mode_at(self) -> (usize, usize) {
        match self {
            ShmLayout::Native64 => (20, 4),
            ShmLayout::Ipc64x32 => (20, 2),
            ShmLayout::Old32 => (12, 2),
        }
    }
}

impl ShmStat {
    /// The bytes of the `struct shmid_ds` in `layout` holding it, as IPC_STAT copies them
    /// out: owner and creator root, times 0.
    pub fn to_bytes(&self, id: u32, layout: ShmLayout) -> Vec<u8> {
        let mut b = vec![0u8; layout.size()];
        let seq = (id >> crate::sysv_shm::SEQ_SHIFT) as u16;
        let mut put = |at: usize, bytes: &[u8]| b[at..at + bytes.len()].copy_from_slice(bytes);
        put(0, &self.key.to_le_bytes());
        match layout {
            ShmLayout::Native64 => {
                put(20, &self.mode.to_le_bytes());
                put(24, &seq.to_le_bytes());
                put(48, &self.segsz.to_le_bytes());
                put(80, &self.cpid.to_le_bytes());
                put(84, &self.lpid.to_le_bytes());
                put(88, &self.nattch.to_le_bytes());
            }
            ShmLayout::Ipc64x32 => {
                put(20, &(self.mode as u16).to_le_bytes());
                put(24, &seq.to_le_bytes());
                put(36, &(self.segsz as u32).to_le_bytes());
                put(64, &self.cpid.to_le_bytes());
                put(68, &self.lpid.to_le_bytes());
                put(72, &(self.nattch as u32).to_le_bytes());
            }
            ShmLayout::Old32 => {
                put(12, &(self.mode as u16).to_le_bytes());
                put(14, &seq.to_le_bytes());
                put(16, &(self.segsz as u32).to_le_bytes());
                put(32, &(self.cpid as u16).to_le_bytes());
                put(34, &(self.lpid as u16).to_le_bytes());
                put(36, &(self.nattch as u16).to_le_bytes());
            }
        }
        b
    }
}

impl Kernel {
    /// `shmget(key, size, shmflg)`: the identifier of the segment with `key`, made if
    /// IPC_CREAT asks (always for IPC_PRIVATE).
    pub fn shmget(&mut self, pid: Pid, key: i64, size: u64, shmflg: u64) -> SysResult<u64> {
        self.mm_id(pid)?;
        // key_t is a C int.
        let key = key as i32;
        if key != IPC_PRIVATE as i32 {
            if let Some(s) = self.m.shm.by_key(key) {
                if shmflg & (IPC_CREAT | IPC_EXCL) == IPC_CREAT | IPC_EXCL {
                    return Err(Errno::EEXIST);
                }
                if s.segsz < size {
                    return Err(Errno::EINVAL);
                }
                return Ok(u64::from(s.id));
            }
            if shmflg & IPC_CREAT == 0 {
                return Err(Errno::ENOENT);
            }
        }
        self.shm_newseg(pid, key, size, shmflg)
    }

    /// newseg: a new segment of `size` bytes.
    fn shm_newseg(&mut self, pid: Pid, key: i32, size: u64, shmflg: u64) -> SysResult<u64> {
        let id = self.mm_id(pid)?;
        let ids = &self.m.shm;
        if size < 1 || size > ids.ctlmax {
            return Err(Errno::EINVAL);
        }
        let pages = size.div_ceil(PAGE_SIZE);
        match ids.total_pages.checked_add(pages) {
            Some(t) if t <= ids.ctlall => {}
            _ => return Err(Errno::ENOSPC),
        }
        // The model keeps no pool of huge pages: hugetlbfs has none to give.
        if shmflg & SHM_HUGETLB != 0 {
            return Err(Errno::ENOMEM);
        }
        // SHM_NORESERVE is honoured only while overcommit is allowed; otherwise the whole
        // size is charged now (shmem_acct_size).
        let noreserve = shmflg & SHM_NORESERVE != 0 && self.m.config.overcommit_memory != 2;
        let acct = if noreserve { 0 } else { pages };
        if acct > 0 && !self.may_commit(id, acct) {
            return Err(Errno::ENOMEM);
        }
        let shmid = self.m.shm.next_id().ok_or(Errno::ENOSPC)?;
        self.shm_insert(shmid, key, size, (shmflg & 0o777) as u32, noreserve, pid);
        Ok(u64::from(shmid))
    }

    /// Adds segment `shmid` (the allocator's next identifier) of `size` bytes under `key`,
    /// charging its pages unless `noreserve`; returns its shmem object.
    fn shm_insert(&mut self, shmid: u32, key: i32, size: u64, mode: u32, noreserve: bool, cpid: Pid) -> FileId {
        let pages = size.div_ceil(PAGE_SIZE);
        let acct = if noreserve { 0 } else { pages };
        let file = self.m.add_file(File {
            size,
            nlink: 1,
            always_deleted: true,
            acct_pages: acct,
            acct_per_page: noreserve,
            sysv_shm: Some(shmid),
            ..File::new(format!("/SYSV{:08x}", key as u32), (0, 1), u64::from(shmid), FileKind::Shmem)
        });
        self.m.vm_acct_memory(acct);
        self.m.shm.total_pages += pages;
        let got = self.m.shm.add(Segment { id: shmid, key, mode, segsz: size, file, cpid, lpid: 0 });
        debug_assert_eq!(got, shmid);
        file
    }

    /// `shmat(shmid, shmaddr, shmflg)`: maps the segment shared (read-only with SHM_RDONLY)
    /// where the kernel places it, or at `shmaddr` (rounded down with SHM_RND; over what is
    /// there only with SHM_REMAP). Returns the address.
    pub fn shmat(&mut self, pid: Pid, shmid: i64, shmaddr: u64, shmflg: u64) -> SysResult<u64> {
        let id = self.mm_id(pid)?;
        if shmid < 0 {
            return Err(Errno::EINVAL);
        }
        let mut addr = shmaddr;
        let mut flags = MAP_SHARED;
        if addr != 0 {
            if addr & (SHMLBA - 1) != 0 {
                if shmflg & SHM_RND == 0 {
                    return Err(Errno::EINVAL);
                }
                addr &= !(SHMLBA - 1);
                if addr == 0 && shmflg & SHM_REMAP != 0 {
                    return Err(Errno::EINVAL);
                }
            }
            flags |= MAP_FIXED;
        } else if shmflg & SHM_REMAP != 0 {
            return Err(Errno::EINVAL);
        }
        let (mut prot, writable) =
            if shmflg & SHM_RDONLY != 0 { (PROT_READ, false) } else { (PROT_READ | PROT_WRITE, true) };
        if shmflg & SHM_EXEC != 0 {
            prot |= PROT_EXEC;
        }
        let seg = self.m.shm.get(shmid).ok_or(Errno::EINVAL)?;
        let (file, size, shmid) = (seg.file, seg.segsz, seg.id);
        // Each attach has an open file description of its own; while it is being mapped it
        // counts as an attach (so a removal meanwhile cannot free the segment).
        let open = self.m.add_open(file, true, writable);
        let r = if addr != 0
            && shmflg & SHM_REMAP == 0
            && addr.checked_add(size).is_none_or(|end| self.mms[id].vmas.range(addr, end).next().is_some())
        {
            Err(Errno::EINVAL)
        } else {
            self.do_mmap(id, Some(open), addr, size, prot, flags, 0)
        };
        if let Ok(a) = r {
            let locked = self.mm(pid)?.vmas.containing(a).is_some_and(|v| v.flags.contains(VmFlags::LOCKED));
            if locked {
                self.populate(pid, a, a + page_ceil(size).unwrap_or(0), false);
            }
            if let Some(s) = self.m.shm.get_mut(i64::from(shmid)) {
                s.lpid = pid;
            }
        }
        self.m.put_open(open);
        if r.is_ok() && self.m.config.paranoid {
            crate::invariants::check_kernel(self);
        }
        r
    }

    /// Records `pid` as the last user (`shm_lpid`) of every segment an attach of which it
    /// opened or closed since the last record: by attaching or detaching, and also by a
    /// fork, a split, an unmap or its exit (shm_open and shm_close, as measured on 6.18).
    /// The model has no thread groups: a thread records its own pid where Linux records
    /// its group leader's.
    #[inline]
    pub(crate) fn shm_record_user(&mut self, pid: Pid) {
        if self.m.shm_touched.is_empty() {
            return;
        }
        for id in std::mem::take(&mut self.m.shm_touched) {
            if let Some(s) = self.m.shm.get_mut(i64::from(id)) {
                s.lpid = pid;
            }
        }
    }

    /// `shmdt(shmaddr)`: unmaps the attach that begins at `shmaddr`: the first VMA of a
    /// segment at or above it whose offset in the segment is its distance from `shmaddr`,
    /// then every other piece of the same attach within the segment's size (mprotect or
    /// munmap may have cut it up).
    pub fn shmdt(&mut self, pid: Pid, shmaddr: u64) -> SysResult<u64> {
        let id = self.mm_id(pid)?;
        if shmaddr & !PAGE_MASK != 0 {
            return Err(Errno::EINVAL);
        }
        let is_piece = |k: &Kernel, v: &crate::vma::Vma| {
            v.file.is_some_and(|f| k.m.file(f.file).sysv_shm.is_some())
                && (v.start.wrapping_sub(shmaddr) >> PAGE_SHIFT) == v.pgoff
        };
        let vmas = &self.mms[id].vmas;
        let Some(first) = vmas.find(shmaddr).and_then(|v| {
            std::iter::once(v)
                .chain(std::iter::successors(vmas.after(v.start), |v| vmas.after(v.start)))
                .find(|v| is_piece(self, v))
        }) else {
            return Err(Errno::EINVAL);
        };
        let (start, end, file) = (first.start, first.end, first.file.expect("a segment's VMA").file);
        let size = page_ceil(self.m.file(file).size).unwrap_or(u64::MAX);
        self.do_munmap_range(id, start, end)?;
        // The other pieces can lie no further than the segment's size from shmaddr.
        let vmas = &self.mms[id].vmas;
        let rest: Vec<(u64, u64)> = std::iter::successors(vmas.next_of(end), |v| vmas.after(v.start))
            .take_while(|v| v.end - shmaddr <= size)
            .filter(|v| is_piece(self, v) && v.file.map(|f| f.file) == Some(file))
            .map(|v| (v.start, v.end))
            .collect();
        for (s, e) in rest {
            self.do_munmap_range(id, s, e)?;
        }
        if let Some(shmid) = self.m.files[file.0 as usize].as_ref().and_then(|f| f.sysv_shm) {
            if let Some(s) = self.m.shm.get_mut(i64::from(shmid)) {
                s.lpid = pid;
            }
        }
        Ok(0)
    }

    /// `shmctl(shmid, cmd, buf)`: IPC_RMID, IPC_STAT, SHM_STAT(_ANY), IPC_SET, IPC_INFO,
    /// SHM_INFO, SHM_LOCK and SHM_UNLOCK, with the structures at `buf` as the caller's ABI
    /// lays them out.
    ///
    /// A 32-bit process's C library reaches it through the `ipc()` multiplexer, which takes
    /// the IPC_64 bit off the command to pick the structures' layout (strace shows the call
    /// as `shmctl` either way, so the model takes every 32-bit call so); a 64-bit process's
    /// command has no such bit, and one with it set is unknown (EINVAL). (The direct i386
    /// shmctl, which only raw `syscall()` uses, lays the structure out as IPC_64 does
    /// without the flag; strace prints it as it prints ipc() without IPC_64, so a log cannot
    /// tell the two apart. The three layouts are compared with this kernel's bytes in
    /// crates/hostdiff/tests/shm_stat_layouts.rs.)
    pub fn shmctl(&mut self, pid: Pid, shmid: i64, cmd: u64, buf: u64) -> SysResult<u64> {
        let id = self.mm_id(pid)?;
        let (cmd, layout) = match self.mms[id].space.abi {
            crate::space::Abi::X86_64 => (cmd, ShmLayout::Native64),
            _ if cmd & IPC_64 != 0 => (cmd ^ IPC_64, ShmLayout::Ipc64x32),
            _ => (cmd, ShmLayout::Old32),
        };
        let wide = layout == ShmLayout::Native64;
        if shmid < 0 || cmd > i32::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        match cmd {
            IPC_RMID => {
                let s = self.m.shm.get_mut(shmid).ok_or(Errno::EINVAL)?;
                s.mode |= SHM_DEST;
                let id = s.id;
                self.m.shm.forget_key(id);
                self.m.shm_may_destroy(id);
                Ok(0)
            }
            IPC_STAT | SHM_STAT | SHM_STAT_ANY => {
                // SHM_STAT names a slot, not an identifier, and returns the identifier.
                let seg = if cmd == IPC_STAT {
                    self.m.shm.get(shmid)
                } else {
                    self.m.shm.iter().find(|s| i64::from(slot_of(s.id)) == shmid)
                };
                let seg = seg.ok_or(Errno::EINVAL)?;
                let id = seg.id;
                let stat = self.shm_stat(id).expect("the segment exists");
                self.copy_to_user(pid, buf, &stat.to_bytes(id, layout))?;
                Ok(if cmd == IPC_STAT { 0 } else { u64::from(id) })
            }
            IPC_SET => {
                self.m.shm.get(shmid).ok_or(Errno::EINVAL)?;
                let raw = self.copy_struct_from_user(pid, buf, layout.size() as u64)?;
                let (at, width) = layout.mode_at();
                let mode = raw[at..at + width].iter().rev().fold(0u32, |m, &b| m << 8 | u32::from(b));
                let s = self.m.shm.get_mut(shmid).ok_or(Errno::EINVAL)?;
                s.mode = (s.mode & !0o777) | (mode & 0o777);
                Ok(0)
            }
            IPC_INFO => {
                let ids = &self.m.shm;
                // struct shminfo64: shmmax, shmmin, shmmni, shmseg, shmall, four unused.
                // 32-bit layouts have 32-bit words, the limits clamped to what they hold.
                let words = [ids.ctlmax, 1, u64::from(ids.ctlmni), u64::from(ids.ctlmni), ids.ctlall, 0, 0, 0, 0];
                let bytes: Vec<u8> = if wide {
                    words.iter().flat_map(|w| w.to_le_bytes()).collect()
                } else {
                    words.iter().flat_map(|&w| (w.min(u64::from(u32::MAX)) as u32).to_le_bytes()).collect()
                };
                let max = self.shm_max_idx();
                self.copy_to_user(pid, buf, &bytes)?;
                Ok(max)
            }
            SHM_INFO => {
                // struct shm_info: used_ids, then shm_tot, shm_rss, shm_swp and two unused.
                let ids = &self.m.shm;
                let (rss, swp) = ids.iter().fold((0, 0), |(r, s), seg| {
                    let f = self.m.file(seg.file);
                    (r + f.cache.len() as u64, s + f.swapped.len() as u64)
                });
                let mut bytes = Vec::with_capacity(48);
                bytes.extend_from_slice(&(ids.len() as u32).to_le_bytes());
                if wide {
                    bytes.extend_from_slice(&[0; 4]);
                }
                for w in [ids.total_pages, rss, swp, 0, 0] {
                    if wide {
                        bytes.extend_from_slice(&w.to_le_bytes());
                    } else {
                        bytes.extend_from_slice(&(w as u32).to_le_bytes());
                    }
                }
                let max = self.shm_max_idx();
                self.copy_to_user(pid, buf, &bytes)?;
                Ok(max)
            }
            SHM_LOCK | SHM_UNLOCK => {
                // Every task is root (CAP_IPC_LOCK): RLIMIT_MEMLOCK does not limit it.
                let s = self.m.shm.get_mut(shmid).ok_or(Errno::EINVAL)?;
                let locked = cmd == SHM_LOCK;
                if locked {
                    s.mode |= SHM_LOCKED;
                } else {
                    s.mode &= !SHM_LOCKED;
                }
                let file = s.file;
                self.m.file_mut(file).unevictable = locked;
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// Makes the next new segment get identifier `shmid`, as if segments the model does not
    /// know of had moved the machine's allocator there (a replayed log shows where it
    /// stood). Fails with EEXIST when the model has a segment in that slot.
    pub fn shm_set_next_id(&mut self, shmid: u32) -> SysResult<()> {
        self.m.shm.set_next_id(shmid)
    }

    /// A segment that existed before what the model was shown (the attaches a process a
    /// trace attached to had): made with identifier `shmid`, key `key` and at least `size`
    /// bytes, or grown to `size` if made already. Returns its shmem object, for the VMAs
    /// that map it. EINVAL for a size no segment has, EEXIST if another segment has the
    /// slot.
    pub fn shm_adopt(&mut self, key: i32, shmid: u32, size: u64) -> SysResult<FileId> {
        if let Some(s) = self.m.shm.get(i64::from(shmid)) {
            let (file, old) = (s.file, s.segsz);
            if size > old {
                let grown = size.div_ceil(PAGE_SIZE) - old.div_ceil(PAGE_SIZE);
                if size > self.m.shm.ctlmax {
                    return Err(Errno::EINVAL);
                }
                self.m.shm.total_pages += grown;
                self.m.shm.get_mut(i64::from(shmid)).expect("found").segsz = size;
                let f = self.m.file_mut(file);
                f.size = size;
                if !f.acct_per_page {
                    f.acct_pages += grown;
                    self.m.vm_acct_memory(grown);
                }
            }
            return Ok(file);
        }
        if size < 1 || size > self.m.shm.ctlmax {
            return Err(Errno::EINVAL);
        }
        self.m.shm.set_next_id(shmid)?;
        Ok(self.shm_insert(shmid, key, size, 0o600, false, 0))
    }

    /// What IPC_STAT reports of segment `shmid`.
    pub fn shm_stat(&self, shmid: u32) -> Option<ShmStat> {
        let s = self.m.shm.get(i64::from(shmid))?;
        Some(ShmStat {
            key: s.key,
            mode: s.mode,
            segsz: s.segsz,
            cpid: s.cpid,
            lpid: s.lpid,
            nattch: u64::from(self.m.file(s.file).shm_attaches),
        })
    }

    /// The highest slot in use, or 0 (what IPC_INFO and SHM_INFO return).
    fn shm_max_idx(&self) -> u64 {
        self.m.shm.iter().map(|s| u64::from(slot_of(s.id))).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn machine() -> (Kernel, Pid) {
        let mut k = Kernel::new(Config { ram_bytes: 64 << 20, paranoid: true, ..Config::default() });
        let pid = k.spawn_empty("t").expect("spawn");
        (k, pid)
    }

    #[test]
    fn a_removed_segment_goes_with_its_last_attach_in_any_process() {
        let (mut k, a) = machine();
        let id = k.shmget(a, 0, 3 * PAGE_SIZE, IPC_CREAT | 0o600).expect("shmget");
        let at = k.shmat(a, id as i64, 0, 0).expect("shmat");
        k.store(a, at, b"x").expect("store");
        let b = k.fork(a).expect("fork");
        assert_eq!(k.shm_stat(id as u32).map(|s| s.nattch), Some(2));
        k.shmctl(a, id as i64, IPC_RMID, 0).expect("rmid");
        // Removed, not gone: the key is free, the identifier still attaches.
        assert_eq!(k.shm_stat(id as u32).map(|s| s.mode & SHM_DEST), Some(SHM_DEST));
        k.shmdt(a, at).expect("shmdt");
        assert_eq!(k.shmdt(a, at), Err(Errno::EINVAL));
        let used = k.machine().frames.free_frames();
        k.exit(b, 0).expect("exit");
        k.reap(b).expect("reap");
        assert!(k.shm_stat(id as u32).is_none(), "gone with the child's attach");
        assert!(k.machine().frames.free_frames() > used, "its page was freed");
        assert_eq!(k.shmat(a, id as i64, 0, 0), Err(Errno::EINVAL));
        k.exit(a, 0).expect("exit");
        k.reap(a).expect("reap");
        crate::invariants::check_no_leaks(&k);
    }

    #[test]
    fn shmdt_finds_the_attach_from_its_start_even_with_the_first_piece_gone() {
        let (mut k, a) = machine();
        let id = k.shmget(a, 0, 4 * PAGE_SIZE, IPC_CREAT | 0o600).expect("shmget") as i64;
        let at = k.shmat(a, id, 0, 0).expect("shmat");
        k.mprotect(a, at + 2 * PAGE_SIZE, PAGE_SIZE, PROT_READ).expect("mprotect");
        assert_eq!(k.shm_stat(id as u32).map(|s| s.nattch), Some(3));
        k.munmap(a, at, PAGE_SIZE).expect("munmap");
        // A piece whose offset is its distance from the address named: the second page.
        assert_eq!(k.shmdt(a, at + PAGE_SIZE), Err(Errno::EINVAL));
        assert_eq!(k.shmdt(a, at), Ok(0));
        assert_eq!(k.shm_stat(id as u32).map(|s| s.nattch), Some(0));
        assert!(k.mm(a).expect("mm").vmas.range(at, at + 4 * PAGE_SIZE).next().is_none());
    }

    #[test]
    fn identifiers_and_errors_in_linux_order() {
        let (mut k, a) = machine();
        assert_eq!(k.shmget(a, 0, 0, IPC_CREAT), Err(Errno::EINVAL));
        assert_eq!(k.shmget(a, 0x77, 1, 0), Err(Errno::ENOENT));
        assert_eq!(k.shmget(a, 0, 1, IPC_CREAT | SHM_HUGETLB), Err(Errno::ENOMEM));
        assert_eq!(k.shmget(a, 0x77, 5000, IPC_CREAT | 0o600), Ok(0));
        assert_eq!(k.shmget(a, 0x77, 5000, IPC_CREAT | IPC_EXCL), Err(Errno::EEXIST));
        assert_eq!(k.shmget(a, 0x77, 5001, 0), Err(Errno::EINVAL));
        assert_eq!(k.shmget(a, 0x77, 0, 0), Ok(0));
        assert_eq!(k.shmget(a, 0, 1, IPC_CREAT), Ok(1));
        let committed = k.machine().committed;
        assert_eq!(k.shmget(a, 0, 100 * PAGE_SIZE, IPC_CREAT | SHM_NORESERVE), Ok(2));
        assert_eq!(k.machine().committed, committed, "SHM_NORESERVE charges nothing up front");
        assert_eq!(k.shmget(a, 0, 100 * PAGE_SIZE, IPC_CREAT), Ok(3));
        assert_eq!(k.machine().committed, committed + 100);
        assert_eq!(k.shmat(a, -1, 0, 0), Err(Errno::EINVAL));
        assert_eq!(k.shmat(a, 0, 0, SHM_REMAP), Err(Errno::EINVAL));
        assert_eq!(k.shmat(a, 0, 0x1000_0007, 0), Err(Errno::EINVAL));
        assert_eq!(k.shmat(a, 0, 0x1000_0007, SHM_RND), Ok(0x1000_0000));
        assert_eq!(k.shmat(a, 0, 0x1000_1000, 0), Err(Errno::EINVAL), "over the first attach");
        assert_eq!(k.shmat(a, 0, 0x1000_1000, SHM_REMAP), Ok(0x1000_1000));
        assert_eq!(k.shmctl(a, 0, IPC_64 | IPC_RMID, 0), Err(Errno::EINVAL), "a 64-bit process has no IPC_64");
        assert_eq!(k.shmctl(a, 0, 99, 0), Err(Errno::EINVAL));
        for id in 0..4 {
            k.shmctl(a, id, IPC_RMID, 0).expect("rmid");
        }
        // Each charge goes with its segment; segment 0 stays while attached (one page of
        // segment 1 goes, and all of 2 and 3).
        assert_eq!(k.machine().committed, committed - 1, "the charge goes with the segment");
        assert!(k.shm_stat(0).is_some() && k.shm_stat(1).is_none());
    }
}
