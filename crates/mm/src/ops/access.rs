//! Memory accesses: the user path (a process's own loads and stores, which fault and may end
//! in a signal) and the kernel copy path (copy_to_user / copy_from_user, which end in EFAULT).

use crate::event::EventKind;
use crate::frame::Pfn;
use crate::kernel::{Access, Kernel, Pid, Signal};
use crate::layout::*;
use crate::pgtable::PteFlags;
use abi::{Errno, SysResult};

/// `[vsyscall]` is execute-only here: a data access faults with SEGV_MAPERR.
fn is_vsyscall(addr: u64) -> bool {
    (VSYSCALL_ADDR..VSYSCALL_ADDR + PAGE_SIZE).contains(&addr)
}

/// access_ok (x86-64): the whole user range `[addr, addr + len)` ends at or below the top of
/// the user address space and does not wrap around. System calls check it before they copy
/// anything, so such a range gives EFAULT even where its first bytes are mapped.
pub fn access_ok(addr: u64, len: u64) -> bool {
    addr.checked_add(len).is_some_and(|end| end <= TASK_SIZE)
}

impl Kernel {
    /// Makes the page of `addr` accessible for `access`, faulting if needed; returns the frame.
    #[inline]
    pub(crate) fn touch(&mut self, pid: Pid, addr: u64, access: Access) -> Result<Pfn, super::fault::FaultError> {
        match self.touch_mapped(pid, addr, access) {
            Some(pfn) => Ok(pfn),
            None => self.touch_slow(pid, addr, access),
        }
    }

    /// The TLB-hit path of [`Kernel::touch`], kept small enough to inline into every access:
    /// a user address whose PTE already allows `access` (its accessed and dirty bits set
    /// as the MMU sets them). `None` sends the access down the whole path, which decides
    /// everything again.
    #[inline(always)]
    fn touch_mapped(&mut self, pid: Pid, addr: u64, access: Access) -> Option<Pfn> {
        // Below TASK_SIZE an address is canonical and neither the kernel's nor vsyscall's.
        if addr >= TASK_SIZE {
            return None;
        }
        let id = self.tasks.get(&pid)?.mm?;
        let pgd = self.mms.get(id)?.pgd;
        let va = page_floor(addr);
        let table = crate::pgtable::leaf_table(&self.m.frames, pgd, va)?;
        let i = crate::pgtable::pte_index(&self.m.frames, va);
        let pte = crate::pgtable::Pte(self.m.frames.entry(table, i));
        if !Self::pte_allows(pte, access) {
            return None;
        }
        let mut p = pte.with(PteFlags::ACCESSED);
        if access == Access::Write {
            p = p.with(PteFlags::DIRTY);
        }
        if p != pte {
            self.m.frames.table_mut(table)[i] = p.0;
        }
        Some(pte.pfn())
    }

    /// [`Kernel::touch`] when [`Kernel::touch_mapped`] could not: the checks, then the
    /// fault.
    #[inline(never)]
    fn touch_slow(&mut self, pid: Pid, addr: u64, access: Access) -> Result<Pfn, super::fault::FaultError> {
        let id = self.mm_id(pid).map_err(|_| super::fault::FaultError::Segv(crate::SegvCode::MapErr))?;
        let va = page_floor(addr);
        if addr >= TASK_SIZE && !is_vsyscall(addr) && super::fault::canonical(addr) {
            // Kernel half: the user may not touch it.
            self.m.log(pid, addr, access == Access::Write, EventKind::SegvMaperr);
            return Err(super::fault::FaultError::Segv(crate::SegvCode::MapErr));
        }
        if is_vsyscall(addr) {
            self.m.log(pid, addr, access == Access::Write, EventKind::SegvMaperr);
            return Err(super::fault::FaultError::Segv(crate::SegvCode::MapErr));
        }
        // The MMU's walk without a fault was touch_mapped's, for every address that can get
        // this far (below TASK_SIZE, or not canonical and so never mapped).
        // The access is retried after the fault, as the CPU retries the instruction; reclaim
        // on the way out of the fault (memory.high) may have taken the page again.
        for _ in 0..=Self::MAX_FAULT_RETRIES {
            self.handle_fault(pid, addr, access)?;
            let pte = self.pte(id, va);
            if Self::pte_allows(pte, access) {
                return Ok(pte.pfn());
            }
        }
        Err(super::fault::FaultError::Oom)
    }

    /// The process reads `len` bytes at `addr` itself (user path). On a fault it cannot
    /// resolve, returns the signal the process would get.
    pub fn load(&mut self, pid: Pid, addr: u64, len: u64) -> Result<Vec<u8>, Signal> {
        let mut out = Vec::with_capacity(len.min(1 << 20) as usize);
        self.read_into(pid, addr, len, Access::Read, &mut out).map_err(|(e, at)| e.signal(at))?;
        Ok(out)
    }

    /// The process writes `data` at `addr` itself (user path).
    pub fn store(&mut self, pid: Pid, addr: u64, data: &[u8]) -> Result<(), Signal> {
        self.write_from(pid, addr, data, Access::Write).map_err(|(e, at, _)| e.signal(at))
    }

    /// Like [`Kernel::load`], but also returns the bytes read before a fault.
    pub fn load_partial(&mut self, pid: Pid, addr: u64, len: u64) -> (Vec<u8>, Option<Signal>) {
        let mut out = Vec::new();
        let r = self.read_into(pid, addr, len, Access::Read, &mut out);
        (out, r.err().map(|(e, at)| e.signal(at)))
    }

    /// Like [`Kernel::store`], but also returns how many bytes were written before a fault.
    pub fn store_partial(&mut self, pid: Pid, addr: u64, data: &[u8]) -> (u64, Option<Signal>) {
        match self.write_from(pid, addr, data, Access::Write) {
            Ok(()) => (data.len() as u64, None),
            Err((e, at, done)) => (done as u64, Some(e.signal(at))),
        }
    }

    /// The process executes at `addr` (only the permission and fault behaviour is modelled).
    pub fn exec_at(&mut self, pid: Pid, addr: u64) -> Result<(), Signal> {
        // vsyscall=xonly: a call to one of the three legacy entry points is emulated.
        if is_vsyscall(addr) && (addr - VSYSCALL_ADDR).is_multiple_of(0x400) && addr - VSYSCALL_ADDR < 0xc00 {
            return Ok(());
        }
        self.touch(pid, addr, Access::Exec).map(|_| ()).map_err(|e| e.signal(addr))
    }

    fn read_into(
        &mut self,
        pid: Pid,
        addr: u64,
        len: u64,
        access: Access,
        out: &mut Vec<u8>,
    ) -> Result<(), (super::fault::FaultError, u64)> {
        let mut a = addr;
        let end = addr.saturating_add(len);
        while a < end {
            let (pfn, off, n) = self.read_step(pid, a, end - a, access).map_err(|e| (e, a))?;
            self.m.frames.read_append(pfn, off, n, out);
            a += n as u64;
        }
        Ok(())
    }

    /// Makes the page of `a` readable for `access` and says where its bytes are: the frame,
    /// the offset of `a` in it, and how many bytes from there up to the end of the page (at
    /// most `max`).
    fn read_step(
        &mut self,
        pid: Pid,
        a: u64,
        max: u64,
        access: Access,
    ) -> Result<(Pfn, usize, usize), super::fault::FaultError> {
        let pfn = self.touch(pid, a, access)?;
        let off = (a & (PAGE_SIZE - 1)) as usize;
        let n = ((PAGE_SIZE as usize - off) as u64).min(max) as usize;
        Ok((pfn, off, n))
    }

    /// The process reads `buf.len()` bytes at `addr` into `buf` itself (user path), like
    /// [`Kernel::load`] but without allocating: the call an emulator makes for each load.
    pub fn load_into(&mut self, pid: Pid, addr: u64, buf: &mut [u8]) -> Result<(), Signal> {
        // A load within one page, as a CPU's loads nearly always are: one touch, one read.
        let off = (addr & (PAGE_SIZE - 1)) as usize;
        if !buf.is_empty() && buf.len() <= PAGE_SIZE as usize - off {
            let pfn = self.touch(pid, addr, Access::Read).map_err(|e| e.signal(addr))?;
            self.m.frames.read(pfn, off, buf);
            return Ok(());
        }
        let mut done = 0;
        while done < buf.len() {
            let a = addr.wrapping_add(done as u64);
            let (pfn, off, n) =
                self.read_step(pid, a, (buf.len() - done) as u64, Access::Read).map_err(|e| e.signal(a))?;
            self.m.frames.read(pfn, off, &mut buf[done..done + n]);
            done += n;
        }
        Ok(())
    }

    fn write_from(
        &mut self,
        pid: Pid,
        addr: u64,
        data: &[u8],
        access: Access,
    ) -> Result<(), (super::fault::FaultError, u64, usize)> {
        // A store within one page, as a CPU's stores nearly always are: one touch, one write.
        let off = (addr & (PAGE_SIZE - 1)) as usize;
        if !data.is_empty() && data.len() <= PAGE_SIZE as usize - off {
            let pfn = self.touch(pid, addr, access).map_err(|e| (e, addr, 0))?;
            self.m.frames.write(pfn, off, data);
            return Ok(());
        }
        let mut done = 0usize;
        while done < data.len() {
            let a = addr.wrapping_add(done as u64);
            let pfn = self.touch(pid, a, access).map_err(|e| (e, a, done))?;
            let off = (a & (PAGE_SIZE - 1)) as usize;
            let n = (PAGE_SIZE as usize - off).min(data.len() - done);
            self.m.frames.write(pfn, off, &data[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// copy_from_user: the kernel reads user memory for a system call such as `write`.
    /// Returns the bytes readable from the start (fewer than `len` if a fault stopped the
    /// copy), or EFAULT if not even the first byte could be read or the range fails
    /// [`access_ok`].
    pub fn copy_from_user(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<Vec<u8>> {
        if !access_ok(addr, len) {
            self.m.log(pid, addr, false, EventKind::Efault);
            return Err(Errno::EFAULT);
        }
        let mut out = Vec::new();
        match self.read_into(pid, addr, len, Access::Read, &mut out) {
            Ok(()) => Ok(out),
            // The OOM killer took the task: the call never returns to it.
            Err((super::fault::FaultError::Killed, _)) => Err(Errno::EINTR),
            Err((_, at)) => {
                self.m.log(pid, at, false, EventKind::Efault);
                if out.is_empty() {
                    Err(Errno::EFAULT)
                } else {
                    Ok(out)
                }
            }
        }
    }

    /// The kernel's copy of a structure from user memory (`copy_from_user` of a fixed size,
    /// as mmap's old argument block or shmctl's IPC_SET buffer): all `len` bytes, or EFAULT
    /// when any of them cannot be read (a buffer that runs into a hole fails whole, where a
    /// `write` would take the part before it).
    pub fn copy_struct_from_user(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<Vec<u8>> {
        let raw = self.copy_from_user(pid, addr, len)?;
        if (raw.len() as u64) < len {
            return Err(Errno::EFAULT);
        }
        Ok(raw)
    }

    /// What `write` to a pipe takes from `[addr, addr + len)` (pipe_write): the buffer is
    /// copied a page-sized piece at a time from its start, and a piece that faults part-way
    /// is dropped with everything after it. Returns the bytes of the whole pieces, or EFAULT
    /// when the first piece faults (or the range fails [`access_ok`]).
    pub fn pipe_copy_from_user(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<Vec<u8>> {
        let mut bytes = self.copy_from_user(pid, addr, len)?;
        if (bytes.len() as u64) < len {
            bytes.truncate(bytes.len() / PAGE_SIZE as usize * PAGE_SIZE as usize);
        }
        if bytes.is_empty() && len > 0 {
            return Err(Errno::EFAULT);
        }
        Ok(bytes)
    }

    /// What `read` from a pipe gives into `[addr, addr + data.len())` (pipe_read), the data
    /// having been written to the pipe in page-sized buffers: a buffer whose copy faults
    /// part-way counts for nothing and ends the read. Returns the bytes counted, or EFAULT
    /// when the first buffer's copy faults (or the range fails [`access_ok`]).
    pub fn pipe_copy_to_user(&mut self, pid: Pid, addr: u64, data: &[u8]) -> SysResult<u64> {
        let done = self.copy_to_user(pid, addr, data)?;
        let n = if done < data.len() as u64 { done / PAGE_SIZE * PAGE_SIZE } else { done };
        if n == 0 && !data.is_empty() {
            return Err(Errno::EFAULT);
        }
        Ok(n)
    }

    /// copy_to_user: the kernel writes user memory for a system call such as `read`.
    /// Returns how many bytes were written from the start, or EFAULT if none or if the range
    /// fails [`access_ok`].
    pub fn copy_to_user(&mut self, pid: Pid, addr: u64, data: &[u8]) -> SysResult<u64> {
        if !access_ok(addr, data.len() as u64) {
            self.m.log(pid, addr, true, EventKind::Efault);
            return Err(Errno::EFAULT);
        }
        match self.write_from(pid, addr, data, Access::Write) {
            Ok(()) => Ok(data.len() as u64),
            Err((super::fault::FaultError::Killed, _, _)) => Err(Errno::EINTR),
            Err((_, at, done)) => {
                self.m.log(pid, at, true, EventKind::Efault);
                if done == 0 {
                    Err(Errno::EFAULT)
                } else {
                    Ok(done as u64)
                }
            }
        }
    }
}
