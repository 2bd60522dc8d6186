//! `mincore(2)`: which pages of a range are resident (mm/mincore.c).
//!
//! A mapped PTE (the zero page and PROT_NONE pages included) counts as resident; an empty
//! one in a file VMA asks the page cache, in an anonymous VMA it is not resident (no swap
//! here). The special mappings (`[vvar]`, `[vvar_vclock]`, `[vdso]`) report every page
//! resident. The vector is filled VMA by VMA, so a hole ends the call with ENOMEM after the
//! VMAs before it were reported.

use crate::kernel::{Kernel, Pid};
use crate::layout::*;
use abi::*;

impl Kernel {
    /// `mincore(addr, len, vec)`: writes one byte per page at `vec` in the process's memory
    /// (through copy_to_user, so a bad vector gives EFAULT).
    pub fn mincore(&mut self, pid: Pid, start: u64, len: u64, vec: u64) -> SysResult<u64> {
        let (bytes, err) = self.mincore_vec(pid, start, len)?;
        if !bytes.is_empty() {
            // The kernel copies each VMA's part as it goes; one copy here gives the same
            // result for a vector that is writable at all.
            let n = self.copy_to_user(pid, vec, &bytes)?;
            if n < bytes.len() as u64 {
                return Err(Errno::EFAULT);
            }
        }
        match err {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }

    /// The vector `mincore` would write for `[start, start + len)`: the bytes of the VMAs
    /// reached, and the error that stopped the walk, if any. Argument errors come as `Err`.
    pub fn mincore_vec(&self, pid: Pid, start: u64, len: u64) -> SysResult<(Vec<u8>, Option<Errno>)> {
        let id = self.mm_id(pid)?;
        if start & !PAGE_MASK != 0 {
            return Err(Errno::EINVAL);
        }
        // access_ok on the range.
        if start > TASK_SIZE || len > TASK_SIZE - start {
            return Err(Errno::ENOMEM);
        }
        let pages = len.div_ceil(PAGE_SIZE);
        let mm = self.mms[id].as_ref().expect("freed mm");
        let mut out = Vec::with_capacity(pages.min(1 << 20) as usize);
        let end = start + pages * PAGE_SIZE;
        let mut at = start;
        while at < end {
            let Some(v) = mm.vmas.containing(at) else { return Ok((out, Some(Errno::ENOMEM))) };
            let to = v.end.min(end);
            // can_do_mincore: a VMA that is neither anonymous nor a file's ([vvar],
            // [vvar_vclock], [vdso]) is not looked at; every page is reported resident.
            if v.special.is_some() {
                out.resize(out.len() + ((to - at) >> PAGE_SHIFT) as usize, 1);
                at = to;
                continue;
            }
            while at < to {
                let pte = self.pte(id, at);
                let resident = if pte.mapped() {
                    true
                } else if let Some(f) = v.file {
                    self.m.file(f.file).page_cached(v.page_index(at))
                } else {
                    false
                };
                out.push(resident as u8);
                at += PAGE_SIZE;
            }
        }
        Ok((out, None))
    }
}
