//! Building an address space from outside observations: the VMAs and layout fields of a
//! real process (its `/proc/PID/smaps`), so that later calls can be compared with the host.

use crate::file::{FileId, FileKind, OpenFileId};
use crate::kernel::{Kernel, Pid};
use crate::layout::*;
use crate::vma::AnonVma;
use crate::vma::Vma;
use abi::{Errno, SysResult};

impl Kernel {
    /// Inserts `vma` as it is (flags, offset, file, anon_vma) into the address space of `pid`.
    /// The range must be free and page-aligned; a file VMA must name a live open file.
    pub fn import_vma(&mut self, pid: Pid, vma: Vma) -> SysResult<()> {
        let id = self.mm_id(pid)?;
        if vma.start >= vma.end
            || vma.start & !PAGE_MASK != 0
            || vma.end & !PAGE_MASK != 0
            || vma.end > self.task_size(id)
        {
            return Err(Errno::EINVAL);
        }
        if self.mms[id].vmas.range(vma.start, vma.end).next().is_some() {
            return Err(Errno::EEXIST);
        }
        if let Some(f) = vma.file {
            if self.m.opens.get(f.open.0 as usize).and_then(|o| o.as_ref()).is_none_or(|o| o.file != f.file) {
                return Err(Errno::EBADF);
            }
        }
        self.vma_link(id, vma);
        Ok(())
    }

    /// Records that the process has written to the private mapping holding `addr`, without
    /// saying where: the VMA gets its anon_vma as a first write fault would give it. A trace
    /// replay uses this for memory a real program writes with plain stores, which no system
    /// call shows but which decides later merges.
    pub fn assume_written(&mut self, pid: Pid, addr: u64) -> SysResult<()> {
        let id = self.mm_id(pid)?;
        let vma = self.mms[id].vmas.containing(addr).cloned().ok_or(Errno::EFAULT)?;
        if vma.flags.contains(crate::flags::VmFlags::SHARED) || vma.special.is_some() {
            return Ok(());
        }
        self.anon_vma_prepare(id, vma.start);
        Ok(())
    }

    /// Gives `[start, end)` of `pid`'s address space page tables down to the PTE level, as a
    /// real process has them where it has resident pages (their entries stay empty: the
    /// model does not know those pages). Table existence is observable: fault-around maps
    /// nothing at EOF without one, and mremap builds tables where the source had some.
    pub fn import_page_tables(&mut self, pid: Pid, start: u64, end: u64) -> SysResult<()> {
        let id = self.mm_id(pid)?;
        let pgd = self.mms[id].pgd;
        let span = crate::pgtable::leaf_span(&self.m.frames);
        let mut va = start & !(span - 1);
        while va < end {
            let mut new = 0;
            let t = crate::pgtable::leaf_table_alloc(&mut self.m.frames, pgd, va, &mut new);
            self.mm_mut(id).pgtable_pages += new;
            t.ok_or(Errno::ENOMEM)?;
            va += span;
        }
        Ok(())
    }

    /// Sets the brk and stack fields of an address space (as /proc/PID/stat shows them).
    pub fn set_layout(&mut self, pid: Pid, start_brk: u64, brk: u64, start_stack: u64) -> SysResult<()> {
        let id = self.mm_id(pid)?;
        let mm = self.mm_mut(id);
        mm.start_brk = start_brk;
        mm.brk = brk;
        mm.start_stack = start_stack;
        Ok(())
    }

    /// Opens a file description on `file` that no descriptor holds yet; the caller passes it
    /// to [`Kernel::import_vma`] and then drops this reference with [`Kernel::release_open`].
    pub fn open_description(&mut self, file: FileId, readable: bool, writable: bool) -> OpenFileId {
        self.m.add_open(file, readable, writable)
    }

    /// Drops a reference taken by [`Kernel::open_description`].
    pub fn release_open(&mut self, open: OpenFileId) {
        self.m.put_open(open);
    }

    /// Gives a file the identity (device and inode) the observed machine showed for it.
    pub fn set_file_identity(&mut self, file: FileId, major: u32, minor: u32, ino: u64) {
        let f = self.m.file_mut(file);
        (f.major, f.minor, f.ino) = (major, minor, ino);
    }

    /// Makes a file that nothing maps yet stand for an object of another kind (`/dev/null`
    /// as an unmappable device, say).
    pub fn set_file_kind(&mut self, file: FileId, kind: FileKind) {
        self.m.file_mut(file).kind = kind;
    }

    /// Describes an imported file as the observed process's maps showed it: the path maps
    /// prints, its size and, for a deleted file (an unlinked tmpfs object, a memfd), that it
    /// is a shmem object that shows as deleted whose size covers the mapping (`size`).
    pub fn set_file_as_mapped(&mut self, file: FileId, path: &str, size: u64, deleted: bool) {
        let f = self.m.file_mut(file);
        f.path = path.to_string();
        f.size = size;
        if deleted {
            f.always_deleted = true;
            f.kind = FileKind::Shmem;
        }
    }

    /// A new anon_vma identity for a VMA being imported (see [`Kernel::import_vma`]).
    pub fn new_anon_vma(&mut self) -> AnonVma {
        self.m.new_anon_vma(false)
    }
}
