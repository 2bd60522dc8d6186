//! `mincore(2)`: which pages of a range are resident (mm/mincore.c).
//!
//! A mapped PTE (the zero page and PROT_NONE pages included) counts as resident; an empty
//! one in a file VMA asks the page cache, in an anonymous VMA it is not resident (no swap
//! here). The special mappings (`[vvar]`, `[vvar_vclock]`, `[vdso]`) report every page
//! resident. The vector is filled VMA by VMA, so a hole ends the call with ENOMEM after the
//! VMAs before it were reported.

use crate::kernel::{Kernel, Pid};
use crate::layout::*;
use crate::mm_table::MmId;
use abi::*;

/// The most pages one step of the walk covers: Linux fills one page of bytes at a time
/// (`do_mincore` over at most PAGE_SIZE pages, then copy_to_user), so a bad vector is found
/// at the first step that reaches it, and no buffer is larger than a page.
const CHUNK_PAGES: u64 = PAGE_SIZE;

impl Kernel {
    /// `mincore(addr, len, vec)`: writes one byte per page at `vec` in the process's memory
    /// (through copy_to_user, so a bad vector gives EFAULT). As Linux, a step at a time: the
    /// bytes of at most a page's worth of pages of one VMA, then their copy; a hole ends the
    /// call with ENOMEM, a copy that faults with EFAULT, each after the steps before it were
    /// copied.
    pub fn mincore(&mut self, pid: Pid, start: u64, len: u64, vec: u64) -> SysResult<u64> {
        let id = self.mm_id(pid)?;
        let pages = check_args(start, len)?;
        // access_ok on the vector.
        if vec > TASK_SIZE || pages > TASK_SIZE - vec {
            return Err(Errno::EFAULT);
        }
        let mut buf = Vec::with_capacity(pages.min(CHUNK_PAGES) as usize);
        let (mut at, mut vec, end) = (start, vec, start + pages * PAGE_SIZE);
        while at < end {
            buf.clear();
            self.mincore_step(id, at, end, &mut buf)?;
            let n = self.copy_to_user(pid, vec, &buf)?;
            if n < buf.len() as u64 {
                return Err(Errno::EFAULT);
            }
            at += n * PAGE_SIZE;
            vec += n;
        }
        Ok(0)
    }

    /// The vector `mincore` would write for `[start, start + len)`: the bytes of the VMAs
    /// reached, and the error that stopped the walk, if any. Argument errors come as `Err`.
    pub fn mincore_vec(&self, pid: Pid, start: u64, len: u64) -> SysResult<(Vec<u8>, Option<Errno>)> {
        self.mincore_prefix(pid, start, len, u64::MAX)
    }

    /// Like [`Kernel::mincore_vec`], but only the first `max` bytes of the vector are made
    /// (the error is that of the whole range, found from the VMAs alone): a range of many
    /// pages costs no more than the bytes asked for.
    pub fn mincore_prefix(&self, pid: Pid, start: u64, len: u64, max: u64) -> SysResult<(Vec<u8>, Option<Errno>)> {
        let id = self.mm_id(pid)?;
        let pages = check_args(start, len)?;
        let end = start + pages * PAGE_SIZE;
        // A hole anywhere in the range ends the walk there.
        let mm = &self.mms[id];
        let mut reached = start;
        while reached < end {
            match mm.vmas.containing(reached) {
                Some(v) => reached = v.end.min(end),
                None => break,
            }
        }
        let err = (reached < end).then_some(Errno::ENOMEM);
        let upto = start + pages.min(max).min((reached - start) / PAGE_SIZE) * PAGE_SIZE;
        let mut out = Vec::with_capacity(((upto - start) / PAGE_SIZE).min(1 << 20) as usize);
        let mut at = start;
        while at < upto {
            at += self.mincore_step(id, at, upto, &mut out).expect("inside the VMAs found above") * PAGE_SIZE;
        }
        Ok((out, err))
    }

    /// One step of the walk (Linux's do_mincore): appends the bytes of the pages from `at`
    /// to the end of its VMA, `end`, or [`CHUNK_PAGES`] pages, whichever comes first, and
    /// returns how many; ENOMEM when no VMA holds `at`.
    fn mincore_step(&self, id: MmId, at: u64, end: u64, out: &mut Vec<u8>) -> SysResult<u64> {
        let mm = &self.mms[id];
        let Some(v) = mm.vmas.containing(at) else { return Err(Errno::ENOMEM) };
        let to = v.end.min(end).min(at + CHUNK_PAGES * PAGE_SIZE);
        let n = (to - at) >> PAGE_SHIFT;
        // can_do_mincore: a VMA that is neither anonymous nor a file's ([vvar],
        // [vvar_vclock], [vdso]) is not looked at; every page is reported resident.
        if v.special.is_some() {
            out.resize(out.len() + n as usize, 1);
            return Ok(n);
        }
        let mut page = at;
        while page < to {
            let pte = self.pte(id, page);
            let resident = if pte.mapped() {
                true
            } else if let Some((e, _)) = crate::swap::SwapEntry::from_pte(pte) {
                // A swapped-out page is resident while the swap cache holds it.
                self.m.swap.lookup(e).is_some()
            } else if let Some(f) = v.file {
                // A shmem page out on swap likewise (filemap_get_incore_folio).
                let file = self.m.file(f.file);
                let index = v.page_index(page);
                file.page_cached(index) || file.swapped.get(&index).is_some_and(|&e| self.m.swap.lookup(e).is_some())
            } else {
                false
            };
            out.push(resident as u8);
            page += PAGE_SIZE;
        }
        Ok(n)
    }
}

/// Checks mincore's range (aligned start, inside the user address space) and returns its
/// number of pages.
fn check_args(start: u64, len: u64) -> SysResult<u64> {
    if start & !PAGE_MASK != 0 {
        return Err(Errno::EINVAL);
    }
    // access_ok on the range.
    if start > TASK_SIZE || len > TASK_SIZE - start {
        return Err(Errno::ENOMEM);
    }
    Ok(len.div_ceil(PAGE_SIZE))
}
