//! File system calls the address space depends on: open/close/dup, read/write/pwrite,
//! ftruncate, unlink, memfd_create, and importing host files.

use crate::file::{File, FileId, FileKind, Source};
use crate::flags::VmFlags;
use crate::kernel::{Kernel, Pid};
use crate::layout::*;
use crate::mm_table::MmId;
use abi::*;
use std::sync::Arc;

/// The largest size of a file on ext4 with 4 KiB blocks (s_maxbytes).
pub const EXT4_MAX_BYTES: u64 = 0xfff_ffff_f000;

/// The most one read or write transfers (MAX_RW_COUNT).
pub const MAX_RW_COUNT: usize = 0x7fff_f000;

/// Device numbers the model gives files it creates itself (an ext4-like disk).
pub const MODEL_DEV: (u32, u32) = (0xfe, 0x01);

/// The directories where tmpfs is mounted (`/dev/shm`, mounted `huge=never`): files there
/// are shmem objects, not ext4 files.
pub const TMPFS_DIRS: &[&str] = &["/dev/shm/"];

/// Device numbers the model gives files it creates on tmpfs (those of `/dev/shm` on the
/// machine the model was measured on).
pub const TMPFS_DEV: (u32, u32) = (0, 0x1b);

/// Whether `path` names a file on tmpfs ([`TMPFS_DIRS`]).
pub fn on_tmpfs(path: &str) -> bool {
    TMPFS_DIRS.iter().any(|d| path.starts_with(d))
}

impl Kernel {
    /// Creates (or replaces) a regular file at `path` with `contents`, as a filesystem would
    /// after the file was written. Returns its id. A path on tmpfs ([`on_tmpfs`]) gives a
    /// shmem file, whose pages are the ones written.
    pub fn create_file(&mut self, path: &str, contents: &[u8]) -> FileId {
        let id = self.create_file_raw(path, contents);
        // As if written with one write(2): that decides the page cache's folio sizes.
        self.m.file_mut(id).form_folios(0, contents.len() as u64, |_, _| false);
        self.materialize_shmem(id);
        id
    }

    fn create_file_raw(&mut self, path: &str, contents: &[u8]) -> FileId {
        if let Some(old) = self.m.namespace.remove(path) {
            self.m.file_mut(old).nlink -= 1;
            self.m.maybe_destroy_file(old);
        }
        let ino = self.m.new_ino();
        let tmpfs = on_tmpfs(path);
        let (dev, kind) = if tmpfs { (TMPFS_DEV, FileKind::Shmem) } else { (MODEL_DEV, FileKind::Regular) };
        let id = self.m.add_file(File {
            size: contents.len() as u64,
            source: Some(Source::bytes(Arc::from(contents))),
            nlink: 1,
            unwritten: true,
            // tmpfs files are VM_NORESERVE: each page is charged as it is allocated.
            acct_per_page: tmpfs,
            ..File::new(path.to_string(), dev, ino, kind)
        });
        self.m.namespace.insert(path.to_string(), id);
        id
    }

    /// A shmem file has only the pages something wrote: its initial contents become pages
    /// of the page cache now (dirty, as written), since it has no disk to read them from.
    fn materialize_shmem(&mut self, id: FileId) {
        let f = self.m.file_mut(id);
        if f.kind != FileKind::Shmem {
            return;
        }
        let Some(src) = f.source.take() else { return };
        // tmpfs contents live in memory: all of them become pages now.
        let mut data = vec![0u8; usize::try_from(src.len()).unwrap_or(0)];
        src.read_at(0, &mut data);
        let size = f.size;
        f.size = 0;
        // The contents were bounded by the caller's memory; a write cannot fail but by size.
        let _ = self.file_write(id, 0, &data);
        self.m.file_mut(id).size = size;
    }

    /// Makes a host file visible in the model with the host's identity (device, inode) and
    /// contents. Reading the host is the caller's job. A file on tmpfs ([`on_tmpfs`]) is a
    /// shmem file whose contents are all in pages.
    pub fn import_file(&mut self, path: &str, major: u32, minor: u32, ino: u64, contents: Arc<[u8]>) -> FileId {
        self.import_file_from(path, major, minor, ino, Source::bytes(contents))
    }

    /// [`Kernel::import_file`] with contents read on demand: a page's bytes are asked of
    /// `source` when the page first enters the page cache.
    pub fn import_file_from(&mut self, path: &str, major: u32, minor: u32, ino: u64, source: Source) -> FileId {
        let id = self.create_file_raw(path, &[]);
        let f = self.m.file_mut(id);
        f.major = major;
        f.minor = minor;
        f.ino = ino;
        f.size = source.len();
        f.source = Some(source);
        f.unwritten = false;
        self.materialize_shmem(id);
        id
    }

    /// Looks a path up.
    pub fn lookup(&self, path: &str) -> Option<FileId> {
        self.m.namespace.get(path).copied()
    }

    fn install_fd(&mut self, pid: Pid, o: crate::file::OpenFileId) -> SysResult<u64> {
        let task = self.tasks.get_mut(&pid).ok_or(Errno::ESRCH)?;
        debug_assert!(task.exit_code.is_none(), "a descriptor installed in exited task {pid}");
        let mut fd = 0;
        while task.fds.contains_key(&fd) {
            fd += 1;
        }
        task.fds.insert(fd, o);
        task.cloexec.remove(&fd);
        Ok(fd as u64)
    }

    /// `open(path, flags)`: returns the lowest free descriptor.
    pub fn open(&mut self, pid: Pid, path: &str, flags: u64) -> SysResult<u64> {
        // An exited task (a zombie the OOM killer left, say) makes no more calls: its
        // descriptors were closed at exit and nothing would close a new one.
        self.task(pid).filter(|t| t.exit_code.is_none()).ok_or(Errno::ESRCH)?;
        let id = match self.lookup(path) {
            Some(id) => {
                if flags & O_CREAT != 0 && flags & O_EXCL != 0 {
                    return Err(Errno::EEXIST);
                }
                id
            }
            None if flags & O_CREAT != 0 => self.create_file(path, &[]),
            None => return Err(Errno::ENOENT),
        };
        let acc = flags & O_ACCMODE;
        let readable = acc == O_RDONLY || acc == O_RDWR;
        let writable = acc == O_WRONLY || acc == O_RDWR;
        if flags & O_TRUNC != 0 && writable {
            self.truncate_file(id, 0);
        }
        let o = self.m.add_open(id, readable, writable);
        let fd = self.install_fd(pid, o)?;
        if flags & O_CLOEXEC != 0 {
            self.tasks.get_mut(&pid).ok_or(Errno::ESRCH)?.cloexec.insert(fd as i32);
        }
        Ok(fd)
    }

    /// Sets or clears FD_CLOEXEC on a descriptor (`fcntl(fd, F_SETFD, ...)`).
    pub fn set_cloexec(&mut self, pid: Pid, fd: i64, on: bool) -> SysResult<()> {
        self.fd_open(pid, fd)?;
        let task = self.tasks.get_mut(&pid).ok_or(Errno::ESRCH)?;
        if on {
            task.cloexec.insert(fd as i32);
        } else {
            task.cloexec.remove(&(fd as i32));
        }
        Ok(())
    }

    /// `memfd_create(name, flags)`: an anonymous shmem file, shown as `/memfd:NAME (deleted)`.
    pub fn memfd_create(&mut self, pid: Pid, name: &str, flags: u64) -> SysResult<u64> {
        self.task(pid).filter(|t| t.exit_code.is_none()).ok_or(Errno::ESRCH)?;
        let ino = self.m.new_ino();
        let id = self.m.add_file(File {
            always_deleted: true,
            unwritten: true,
            acct_per_page: true,
            ..File::new(format!("/memfd:{name}"), (0, 1), ino, FileKind::Shmem)
        });
        let o = self.m.add_open(id, true, true);
        let fd = self.install_fd(pid, o)?;
        if flags & MFD_CLOEXEC != 0 {
            self.tasks.get_mut(&pid).ok_or(Errno::ESRCH)?.cloexec.insert(fd as i32);
        }
        Ok(fd)
    }

    /// `close(fd)`.
    pub fn close(&mut self, pid: Pid, fd: i64) -> SysResult<u64> {
        let fd = i32::try_from(fd).map_err(|_| Errno::EBADF)?;
        let task = self.tasks.get_mut(&pid).ok_or(Errno::ESRCH)?;
        let o = task.fds.remove(&fd).ok_or(Errno::EBADF)?;
        task.cloexec.remove(&fd);
        self.m.put_open(o);
        Ok(0)
    }

    /// `dup(fd)`: a new descriptor for the same open file description.
    pub fn dup(&mut self, pid: Pid, fd: i64) -> SysResult<u64> {
        let o = self.fd_open(pid, fd)?;
        self.m.get_open(o);
        self.install_fd(pid, o)
    }

    pub(crate) fn fd_open(&self, pid: Pid, fd: i64) -> SysResult<crate::file::OpenFileId> {
        let fd = i32::try_from(fd).map_err(|_| Errno::EBADF)?;
        self.task(pid).ok_or(Errno::ESRCH)?.fds.get(&fd).copied().ok_or(Errno::EBADF)
    }

    /// The file behind a descriptor.
    pub fn fd_file(&self, pid: Pid, fd: i64) -> SysResult<FileId> {
        Ok(self.m.open_file(self.fd_open(pid, fd)?).file)
    }

    /// Writes `data` into a file's page cache at `offset` (the data path of write/pwrite).
    pub fn file_write(&mut self, file: FileId, offset: u64, data: &[u8]) -> SysResult<u64> {
        // ext4's largest file (s_maxbytes with 4 KiB blocks): writes stop there.
        if offset >= EXT4_MAX_BYTES {
            return Err(Errno::EFBIG);
        }
        let data = &data[..data.len().min((EXT4_MAX_BYTES - offset) as usize).min(MAX_RW_COUNT)];
        let end = offset.checked_add(data.len() as u64).ok_or(Errno::EFBIG)?;
        self.m.file_mut(file).form_folios(offset, data.len() as u64, |f, i| f.page_cached(i));
        // shmem_write_begin looks each page up for writing, which marks it accessed; ext4's
        // write_begin does not (measured with kpageflags: a tmpfs page written once is
        // referenced, twice active; an ext4 page written is neither).
        let shmem = self.m.file(file).kind == FileKind::Shmem;
        let mut done = 0usize;
        while done < data.len() {
            let pos = offset + done as u64;
            let index = pos >> PAGE_SHIFT;
            let pfn = self.m.cache_page(file, index).ok_or(Errno::ENOSPC)?;
            let off = (pos & (PAGE_SIZE - 1)) as usize;
            let n = (PAGE_SIZE as usize - off).min(data.len() - done);
            self.m.frames.write(pfn, off, &data[done..done + n]);
            self.m.folio_mark_dirty(pfn);
            if shmem {
                self.m.mark_accessed(pfn);
            }
            done += n;
        }
        let f = self.m.file_mut(file);
        f.size = f.size.max(end);
        Ok(data.len() as u64)
    }

    /// Reads up to `len` bytes of a file at `offset` through the page cache.
    pub fn file_read(&mut self, file: FileId, offset: u64, len: u64) -> SysResult<Vec<u8>> {
        let size = self.m.file(file).size;
        let end = offset.saturating_add(len).min(size);
        let mut out = Vec::new();
        let mut pos = offset;
        let shmem = self.m.file(file).kind == FileKind::Shmem;
        while pos < end {
            let index = pos >> PAGE_SHIFT;
            let off = (pos & (PAGE_SIZE - 1)) as usize;
            let n = ((PAGE_SIZE - off as u64).min(end - pos)) as usize;
            let f = self.m.file(file);
            if shmem && !f.cache.contains(index) && !f.swapped.contains_key(&index) {
                // shmem_file_read_iter copies a hole's zeros from the zero page: no page is
                // allocated into the object (nor charged, nor counted resident).
                out.resize(out.len() + n, 0);
            } else {
                let pfn = self.m.cache_page(file, index).ok_or(Errno::ENOMEM)?;
                self.m.frames.read_append(pfn, off, n, &mut out);
            }
            pos += n as u64;
        }
        Ok(out)
    }

    /// Copies up to `count` bytes of `file` from `offset` into `pid`'s memory at `buf` the
    /// way filemap_read does: a piece at a time, each read from the page cache just before
    /// it is copied (pieces end at page boundaries of the file and of the buffer). A buffer
    /// in a shared mapping of the same file therefore sees the earlier pieces' bytes: a
    /// read of file pages 0-1 into a mapping of pages 1-2 copies page 0's bytes into both
    /// (measured on 6.18, random program 3760: page 2 then read `file page zero`). Returns
    /// the bytes copied; EFAULT when the first piece cannot be.
    pub fn file_read_to_user(
        &mut self,
        pid: Pid,
        file: FileId,
        offset: u64,
        buf: u64,
        count: u64,
    ) -> SysResult<Vec<u8>> {
        let end = offset.saturating_add(count).min(self.m.file(file).size);
        let total = end.saturating_sub(offset);
        let mut done = 0u64;
        let mut copied = Vec::new();
        while done < total {
            let (src, dst) = (offset + done, buf.wrapping_add(done));
            let piece =
                (PAGE_SIZE - (src & (PAGE_SIZE - 1))).min(PAGE_SIZE - (dst & (PAGE_SIZE - 1))).min(total - done);
            let data = match self.file_read(file, src, piece) {
                Ok(d) if !d.is_empty() => d,
                Ok(_) => break,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            };
            match self.copy_to_user(pid, dst, &data) {
                Ok(w) => {
                    done += w;
                    copied.extend_from_slice(&data[..w as usize]);
                    if w < data.len() as u64 {
                        break;
                    }
                }
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(copied)
    }

    /// `pwrite(fd, <data>, offset)` with the data given directly (not from process memory).
    pub fn pwrite_bytes(&mut self, pid: Pid, fd: i64, data: &[u8], offset: u64) -> SysResult<u64> {
        let o = self.fd_open(pid, fd)?;
        // ksys_pwrite64: a negative offset is invalid.
        if offset > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        let of = self.m.open_file(o).clone();
        if !of.writable {
            return Err(Errno::EBADF);
        }
        let before = self.charging_as(pid);
        let n = self.file_write(of.file, offset, data);
        self.m.frames.memcgs.charge_to = before;
        n
    }

    /// `write(fd, buf, len)`: copies from process memory into the file at its position.
    pub fn write(&mut self, pid: Pid, fd: i64, buf: u64, len: u64) -> SysResult<u64> {
        let o = self.fd_open(pid, fd)?;
        let of = self.m.open_file(o).clone();
        if !of.writable {
            return Err(Errno::EBADF);
        }
        // vfs_write checks the whole buffer before anything is copied.
        if !super::access_ok(buf, len) {
            return Err(Errno::EFAULT);
        }
        let data = self.copy_from_user(pid, buf, len.min(MAX_RW_COUNT as u64))?;
        // Page-cache pages the write allocates are charged to the writer's memory cgroup.
        let before = self.charging_as(pid);
        let n = self.file_write(of.file, of.pos, &data);
        self.m.frames.memcgs.charge_to = before;
        let n = n?;
        self.m.opens[o.0 as usize].as_mut().expect("open file").pos += n;
        Ok(n)
    }

    /// `read(fd, buf, len)`: copies from the file at its position into process memory.
    pub fn read(&mut self, pid: Pid, fd: i64, buf: u64, len: u64) -> SysResult<u64> {
        let o = self.fd_open(pid, fd)?;
        let of = self.m.open_file(o).clone();
        if !of.readable {
            return Err(Errno::EBADF);
        }
        // vfs_read checks the whole buffer before anything is copied.
        if !super::access_ok(buf, len) {
            return Err(Errno::EFAULT);
        }
        let before = self.charging_as(pid);
        let count = len.min(MAX_RW_COUNT as u64);
        // Out of memory, readahead stops short; the read itself then says so.
        let _ = self.read_ahead_into(o, of.pos, count, count, Some((pid, buf)));
        let n = self.file_read_to_user(pid, of.file, of.pos, buf, count);
        self.m.frames.memcgs.charge_to = before;
        let n = n?.len() as u64;
        self.m.opens[o.0 as usize].as_mut().expect("open file").pos += n;
        Ok(n)
    }

    /// `ftruncate(fd, len)`.
    pub fn ftruncate(&mut self, pid: Pid, fd: i64, len: u64) -> SysResult<u64> {
        let o = self.fd_open(pid, fd)?;
        let of = self.m.open_file(o).clone();
        if !of.writable {
            return Err(Errno::EINVAL);
        }
        if len > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        self.truncate_file(of.file, len);
        Ok(0)
    }

    /// The virtual ranges where address space `id` (if still there) maps the pages
    /// `[first, last)` of `file`.
    pub(crate) fn file_page_ranges(&self, id: MmId, file: FileId, first: u64, last: u64) -> Vec<(u64, u64)> {
        let Some(mm) = self.mms.get(id) else { return Vec::new() };
        mm.vmas
            .iter()
            .filter(|v| v.file.is_some_and(|f| f.file == file))
            .filter_map(|v| {
                let lo = first.max(v.pgoff);
                let hi = last.min(v.pgoff + v.pages());
                (lo < hi).then(|| (v.start + ((lo - v.pgoff) << PAGE_SHIFT), v.start + ((hi - v.pgoff) << PAGE_SHIFT)))
            })
            .collect()
    }

    /// Sets a file's size; pages wholly beyond the new end are unmapped from every process
    /// (private copies included, as truncate does) and dropped from the page cache.
    pub fn truncate_file(&mut self, file: FileId, len: u64) {
        let old = self.m.file(file).size;
        let keep_pages = len.div_ceil(PAGE_SIZE);
        if len < old {
            for id in self.mms.ids() {
                for (s, e) in self.file_page_ranges(id, file, keep_pages, u64::MAX) {
                    self.zap_range(id, s, e);
                }
            }
            // The large folio that straddles the new end is split (truncate_inode_partial_folio):
            // its pages below the end become small folios. The split unmaps the whole folio
            // first, and a page-cache folio is not mapped back after (measured on 6.18: a
            // 64 KiB file written at once, eight pages of it mapped, truncated to 20 KiB,
            // leaves none of the eight mapped; truncated to 64 KiB, all).
            let (straddling, order) = self.m.file(file).folio_of(len >> PAGE_SHIFT);
            if order > 0 && straddling.saturating_mul(PAGE_SIZE) < len {
                self.unmap_file_range(file, straddling, keep_pages, true);
            }
            let split_from = self.m.file(file).folio_of(keep_pages).0.min(keep_pages);
            let f = self.m.file_mut(file);
            f.drop_folios_from(keep_pages);
            let dropped: Vec<_> = f.cache.range(keep_pages..).collect();
            for (i, _) in &dropped {
                f.cache.remove(*i);
            }
            f.evicted = f.evicted.split_off(&0).into_iter().filter(|&i| i < keep_pages).collect();
            f.written_back.split_off(&keep_pages);
            // Bytes past the new end in a written-back last page read as zero afterwards.
            if let Some(w) = f.written_back.get_mut(&(len >> PAGE_SHIFT)) {
                let keep = ((len % PAGE_SIZE) as usize).min(w.len());
                *w = w[..keep].into();
            }
            if !dropped.is_empty() {
                self.m.truncation_drain();
            }
            let swapped = self.m.shmem_free_swap(file, keep_pages, u64::MAX);
            let f = self.m.file_mut(file);
            if f.acct_per_page {
                let n = dropped.len() as u64 + swapped;
                f.acct_pages -= n;
                self.m.vm_unacct_memory(n);
                self.m.shmem_recalc(file);
            }
            for (_, p) in dropped {
                self.m.frames.put(p);
            }
            self.mlock_split_pages(file, split_from, keep_pages);
            // The bytes past EOF in the last page read as zero afterwards.
            if !len.is_multiple_of(PAGE_SIZE) {
                // A shmem page out on swap is read back to be cut (shmem_get_partial_folio).
                if self.m.file(file).swapped.contains_key(&(len >> PAGE_SHIFT)) {
                    let _ = self.m.shmem_swapin(file, len >> PAGE_SHIFT);
                }
                if let Some(pfn) = self.m.file(file).cache.get(len >> PAGE_SHIFT) {
                    self.m.frames.zero_from(pfn, (len % PAGE_SIZE) as usize);
                }
            }
        }
        let f = self.m.file_mut(file);
        if len < old {
            if let Some(src) = &mut f.source {
                src.truncate(len);
            }
        }
        f.size = len;
    }

    /// Pages `[first, end)` of `file` just became small folios (a split large folio): each
    /// mapping of one in a VM_LOCKED VMA now mlocks it, as mlock_vma_folio does for small
    /// folios. Linux leaves them on the evictable list until an rmap walk (reclaim's
    /// folio_referenced_one) finds them in the locked VMA; the model does that at once, so
    /// that every small page a locked VMA maps counts that mapping in its mlock count.
    fn mlock_split_pages(&mut self, file: FileId, first: u64, end: u64) {
        for index in first..end {
            let Some(pfn) = self.m.file(file).cache.get(index) else { continue };
            let mut locked = 0;
            for (id, mm) in self.mms.iter() {
                for v in mm.vmas.iter().filter(|v| v.flags.contains(VmFlags::LOCKED)) {
                    let maps_file = v.file.is_some_and(|f| f.file == file);
                    if !maps_file || index < v.pgoff || index >= v.pgoff + v.pages() {
                        continue;
                    }
                    let pte = self.pte(id, v.start + ((index - v.pgoff) << PAGE_SHIFT));
                    if pte.mapped() && pte.pfn() == pfn {
                        locked += 1;
                    }
                }
            }
            for _ in 0..locked {
                self.m.mlock_page(pfn);
            }
        }
    }

    /// `unlink(path)`: the name goes; the file lives on while open or mapped.
    pub fn unlink(&mut self, path: &str) -> SysResult<u64> {
        let id = self.m.namespace.remove(path).ok_or(Errno::ENOENT)?;
        self.m.file_mut(id).nlink -= 1;
        self.m.maybe_destroy_file(id);
        Ok(0)
    }
}
