//! `munmap(2)`: splitting the VMAs at the edges of the range, zapping their pages and freeing
//! the page tables left empty.

use crate::kernel::{Kernel, Pid};
use crate::layout::*;
use crate::mm::Mm;
use crate::mm_table::MmId;
use crate::vma::Vma;
use abi::{Errno, SysResult};

impl Kernel {
    /// `munmap(addr, len)`.
    pub fn munmap(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<u64> {
        let id = self.mm_id(pid)?;
        let task_size = self.task_size(id);
        if addr & !PAGE_MASK != 0 || addr > task_size || len > task_size - addr {
            return Err(Errno::EINVAL);
        }
        let end = addr + page_ceil(len).ok_or(Errno::EINVAL)?;
        if end == addr {
            return Err(Errno::EINVAL);
        }
        self.do_munmap_range(id, addr, end)?;
        if self.m.config.paranoid {
            crate::invariants::check_kernel(self);
        }
        Ok(0)
    }

    /// The splits of vms_gather_munmap_vmas for unmapping `[start, end)`: the VMA the range
    /// starts inside is split at `start` (a cut in the middle of one VMA needs a free map
    /// slot), then the one it ends inside at `end`. Special mappings refuse to be split
    /// (EINVAL); a failure at the end leaves the first split done, as Linux does, and so do
    /// the failures of the callers' later checks.
    pub(crate) fn split_munmap_edges(&mut self, id: MmId, start: u64, end: u64) -> SysResult<()> {
        let mm = &self.mms[id];
        let Some((first, _)) = munmap_edges(mm, start, end) else {
            return Ok(());
        };
        if first.start < start {
            if end < first.end && mm.map_count() as u64 >= self.m.config.max_map_count {
                return Err(Errno::ENOMEM);
            }
            if first.special.is_some() {
                return Err(Errno::EINVAL);
            }
            self.split_at(id, start);
        }
        let mm = &self.mms[id];
        let Some((_, last)) = munmap_edges(mm, start, end) else {
            return Ok(());
        };
        if last.end > end {
            if last.special.is_some() {
                return Err(Errno::EINVAL);
            }
            self.split_at(id, end);
        }
        Ok(())
    }

    /// Unmaps `[start, end)` (page-aligned) in an mm: do_vmi_munmap.
    pub(crate) fn do_munmap_range(&mut self, id: MmId, start: u64, end: u64) -> SysResult<()> {
        let mm = &self.mms[id];
        let Some((first, last)) = munmap_edges(mm, start, end) else {
            return Ok(());
        };
        // Only a VMA that sticks out of the range is split (the usual unmap of whole VMAs
        // looks nothing up again).
        if first.start < start || last.end > end {
            self.split_munmap_edges(id, start, end)?;
        }
        let mm = self.mm_mut(id);
        mm.update_hiwater_vm();
        self.zap_range(id, start, end);
        // Every VMA the range touches now lies inside it; the one reaching `end` is the last
        // (no look-up after it).
        while let Some((s, e)) = self.mms[id].vmas.next_of(start).map(|v| (v.start, v.end)).filter(|&(s, _)| s < end) {
            self.vma_unlink(id, s);
            if e >= end {
                break;
            }
        }
        self.free_pgtables(id, start, end);
        Ok(())
    }
}

/// The first and last VMAs that `[start, end)` touches, if any.
fn munmap_edges(mm: &Mm, start: u64, end: u64) -> Option<(&Vma, &Vma)> {
    let first = mm.vmas.find(start).filter(|v| v.start < end)?;
    // Most unmaps fall inside one VMA: no walk to find the last.
    let last = if first.end >= end { first } else { mm.vmas.range(start, end).last().unwrap_or(first) };
    Some((first, last))
}
