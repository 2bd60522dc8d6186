//! `mremap(2)`: resizing a mapping in place, or moving it with its page tables.
//!
//! The call follows Linux 6.18's order (mm/mremap.c):
//!
//! 1. Both lengths are page-aligned (an overflow gives 0), then the parameters are checked
//!    without looking at any VMA: flags, alignment, a zero or absurd new length, and for a
//!    call that names a new address (MREMAP_FIXED or MREMAP_DONTUNMAP) that address, the
//!    MAYMOVE requirement, DONTUNMAP's equal sizes, overlap and the map-count headroom.
//! 2. MREMAP_FIXED with equal sizes is a pure move, and since 6.17 may span several VMAs:
//!    each VMA's part of the range moves on its own, the gaps between them kept.
//! 3. Otherwise the VMA containing the old address is checked (check_prep_vma) and the call
//!    either resizes at the old address (shrink by unmapping the tail, grow in place when the
//!    range ends at the VMA's end and the space after it is free, else move if allowed) or
//!    moves to the new address (mremap_to).
//!
//! A move copies the VMA to its destination (merging with neighbours there, and giving an
//! untouched anonymous VMA the destination's page offset so that it can merge), moves the
//! page tables — whole PTE tables where a 2 MiB extent lines up, entries otherwise — and
//! unmaps the source, whose pages have left with the tables. With MREMAP_DONTUNMAP the
//! source stays mapped but empty and unlocked.

use crate::flags::VmFlags;
use crate::kernel::{can_merge, Kernel, Pid};
use crate::layout::*;
use crate::mm_table::MmId;
use crate::pages::PageCount;
use crate::pgtable::{self, Pte};
use crate::vma::Vma;
use abi::*;

/// How a request changes the size (enum mremap_type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RemapType {
    NoResize,
    Shrink,
    Expand,
}

/// One mremap request while it is carried out (struct vma_remap_struct).
#[derive(Clone, Copy, Debug)]
struct Remap {
    addr: u64,
    old_len: u64,
    new_len: u64,
    flags: u64,
    new_addr: u64,
    /// The grown part of a locked VMA must be populated afterwards.
    populate_expand: bool,
}

impl Remap {
    /// MREMAP_FIXED or MREMAP_DONTUNMAP: the call names where the mapping goes.
    fn implies_new_addr(&self) -> bool {
        self.flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0
    }

    fn kind(&self) -> RemapType {
        match self.old_len.cmp(&self.new_len) {
            std::cmp::Ordering::Equal => RemapType::NoResize,
            std::cmp::Ordering::Greater => RemapType::Shrink,
            std::cmp::Ordering::Less => RemapType::Expand,
        }
    }

    fn delta(&self) -> u64 {
        self.old_len.abs_diff(self.new_len)
    }

    fn overlaps(&self) -> bool {
        let end_old = self.addr.wrapping_add(self.old_len);
        let end_new = self.new_addr.wrapping_add(self.new_len);
        end_old > self.new_addr && end_new > self.addr
    }
}

/// PAGE_ALIGN as the kernel computes it: wrapping, so a length near 2^64 becomes 0.
fn page_align(len: u64) -> u64 {
    len.wrapping_add(PAGE_SIZE - 1) & PAGE_MASK
}

impl Kernel {
    /// `mremap(old_address, old_size, new_size, flags, new_address)`: returns the address of
    /// the mapping afterwards.
    pub fn mremap(
        &mut self,
        pid: Pid,
        addr: u64,
        old_len: u64,
        new_len: u64,
        flags: u64,
        new_addr: u64,
    ) -> SysResult<u64> {
        let id = self.mm_id(pid)?;
        let mut r = Remap {
            addr,
            old_len: page_align(old_len),
            new_len: page_align(new_len),
            flags,
            new_addr,
            populate_expand: false,
        };
        let res = self.do_mremap(id, &mut r);
        if let Ok(at) = res {
            // The grown part of a locked mapping is faulted in, as mlock promises.
            if r.populate_expand {
                let _ = self.mm_populate(pid, at + r.old_len, at + r.new_len, true);
            }
        }
        if self.m.config.paranoid {
            crate::invariants::check_kernel(self);
        }
        res
    }

    fn do_mremap(&mut self, id: MmId, r: &mut Remap) -> SysResult<u64> {
        self.check_mremap_params(id, r)?;
        // A same-size MREMAP_FIXED is a move, and may take several VMAs along.
        if r.flags & MREMAP_FIXED != 0 && r.old_len == r.new_len {
            return self.remap_move(id, r);
        }
        let vma = self.mms[id].vmas.containing(r.addr).cloned();
        let vma = vma.ok_or(Errno::EFAULT)?;
        self.check_prep_vma(id, &vma, r)?;
        if r.implies_new_addr() {
            self.mremap_to(id, r)
        } else {
            self.mremap_at(id, &vma, r)
        }
    }

    /// check_mremap_params: everything that needs no VMA.
    fn check_mremap_params(&self, id: MmId, r: &Remap) -> SysResult<()> {
        if r.flags & !(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP) != 0 {
            return Err(Errno::EINVAL);
        }
        if r.addr & !PAGE_MASK != 0 {
            return Err(Errno::EINVAL);
        }
        let task_size = self.task_size(id);
        // A zero old length is allowed (duplicating a shared mapping); a zero new one not.
        if r.new_len == 0 || r.new_len > task_size {
            return Err(Errno::EINVAL);
        }
        if !r.implies_new_addr() {
            return Ok(());
        }
        if r.new_addr > task_size - r.new_len || r.new_addr & !PAGE_MASK != 0 {
            return Err(Errno::EINVAL);
        }
        if r.flags & MREMAP_MAYMOVE == 0 {
            return Err(Errno::EINVAL);
        }
        if r.flags & MREMAP_DONTUNMAP != 0 && r.old_len != r.new_len {
            return Err(Errno::EINVAL);
        }
        if r.overlaps() {
            return Err(Errno::EINVAL);
        }
        // The worst case splits both the source and the destination in three; the move must
        // stay four maps below the limit (move_vma's own check).
        let count = self.mms[id].map_count() as u64;
        if count + 2 >= self.m.config.max_map_count.saturating_sub(3) {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    /// check_prep_vma: the checks against the VMA holding the old address, for requests
    /// that grow or move it.
    fn check_prep_vma(&self, id: MmId, vma: &Vma, r: &mut Remap) -> SysResult<()> {
        if !r.implies_new_addr() {
            r.new_addr = r.addr;
        }
        let kind = r.kind();
        if kind != RemapType::Expand && !r.implies_new_addr() {
            return Ok(());
        }
        // Duplicating with old_len 0 only means something for shared memory.
        if r.old_len == 0 && !vma.flags.intersects(VmFlags::SHARED | VmFlags::MAYSHARE) {
            return Err(Errno::EINVAL);
        }
        if r.flags & MREMAP_DONTUNMAP != 0 && vma.flags.intersects(VmFlags::DONTEXPAND | VmFlags::PFNMAP) {
            return Err(Errno::EINVAL);
        }
        // The range may not cross the VMA's end, except for the part a shrink unmaps.
        let old_len = if kind == RemapType::Shrink { r.new_len } else { r.old_len };
        if old_len > vma.end - r.addr {
            return Err(Errno::EFAULT);
        }
        if r.new_len == old_len {
            return Ok(());
        }
        if vma.flags.contains(VmFlags::LOCKED) {
            r.populate_expand = true;
        }
        let pgoff = vma.page_index(r.addr);
        if pgoff.checked_add(r.new_len >> PAGE_SHIFT).is_none() {
            return Err(Errno::EINVAL);
        }
        if vma.flags.intersects(VmFlags::DONTEXPAND | VmFlags::PFNMAP) {
            return Err(Errno::EFAULT);
        }
        if !self.mlock_future_ok(id, vma.flags, r.delta()) {
            return Err(Errno::EAGAIN);
        }
        if !self.may_expand_vm(id, vma.flags, r.delta() >> PAGE_SHIFT) {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    /// mremap_at: resize at the old address, moving only if growing in place fails.
    fn mremap_at(&mut self, id: MmId, vma: &Vma, r: &mut Remap) -> SysResult<u64> {
        match r.kind() {
            RemapType::NoResize => Ok(r.addr),
            RemapType::Shrink => {
                self.unmap_checked(id, r.addr + r.new_len, r.delta())?;
                Ok(r.addr)
            }
            RemapType::Expand => self.expand_vma(id, vma, r),
        }
    }

    /// do_vmi_munmap's own argument checks, then the unmap.
    fn unmap_checked(&mut self, id: MmId, start: u64, len: u64) -> SysResult<()> {
        let task_size = self.task_size(id);
        if start & !PAGE_MASK != 0 || start > task_size || len > task_size - start {
            return Err(Errno::EINVAL);
        }
        let len = page_ceil(len).ok_or(Errno::EINVAL)?;
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        self.do_munmap_range(id, start, start + len)
    }

    /// expand_vma: grow in place when the range ends at the VMA's end and the space after it
    /// is free, else move (MREMAP_MAYMOVE) or fail with ENOMEM.
    fn expand_vma(&mut self, id: MmId, vma: &Vma, r: &mut Remap) -> SysResult<u64> {
        if vma.end - r.addr == r.old_len && self.vma_expandable(id, vma, r.delta()) {
            if vma.flags.contains(VmFlags::ACCOUNT) && !self.may_commit(id, r.delta() >> PAGE_SHIFT) {
                return Err(Errno::ENOMEM);
            }
            self.extend_vma(id, vma.start, r.delta());
            return Ok(r.addr);
        }
        if r.flags & MREMAP_MAYMOVE == 0 {
            return Err(Errno::ENOMEM);
        }
        self.set_new_addr(id, vma, r)?;
        self.move_vma(id, r)
    }

    /// vma_expandable: nothing in the way and the grown VMA still a valid fixed mapping.
    fn vma_expandable(&self, id: MmId, vma: &Vma, delta: u64) -> bool {
        let Some(end) = vma.end.checked_add(delta) else { return false };
        let mm = &self.mms[id];
        if mm.vmas.range(vma.end, end).next().is_some() {
            return false;
        }
        let len = end - vma.start;
        len <= mm.space.task_size && vma.start <= mm.space.task_size - len
    }

    /// vma_merge_extend: the VMA starting at `start` grows by `delta` bytes (charged and
    /// counted) and absorbs the next VMA if they are now compatible neighbours. The VMA
    /// before it is left alone even when the two could merge (the new range is merged with
    /// the growing VMA as its `prev`, and only what follows is looked at): a random script
    /// (seed 1701190, `--seed 1700000 --steps 300`) grew the second of two such neighbours,
    /// which stayed two VMAs on 6.18; and a forked child's VMA grown up to an untouched
    /// one absorbs it.
    fn extend_vma(&mut self, id: MmId, start: u64, delta: u64) {
        let pages = delta >> PAGE_SHIFT;
        let mm = self.mm_mut(id);
        let flags = mm.vmas.get(start).expect("VMA to extend").flags;
        mm.vmas.update(start, |v| v.end += delta);
        crate::kernel::vm_stat_account(mm, flags, pages as i64);
        if flags.contains(VmFlags::ACCOUNT) {
            self.m.vm_acct_memory(pages);
        }
        let mm = self.mm_mut(id);
        let mut cur = mm.vmas.get(start).cloned().expect("extended VMA");
        if let Some(next) = mm.vmas.after(start).cloned() {
            // The grown range is merged as a new range with no VMA of its own
            // (is_mergeable_anon_vma with no `middle`): taking the growing VMA's anon_vma
            // into a neighbour without one is allowed even when a fork gave it that anon_vma,
            // which a merge of an existing VMA refuses.
            if next.anon_vma.is_none() {
                if let Some(a) = cur.anon_vma.as_mut() {
                    a.inherited = false;
                }
            }
            if crate::kernel::can_merge(&cur, &next) {
                self.merge_pair(id, cur.start, next.start);
            }
        }
    }

    /// vrm_set_new_addr: where the moved mapping goes (get_unmapped_area with the VMA's file
    /// and offset; MREMAP_FIXED makes it MAP_FIXED, MREMAP_DONTUNMAP alone a hint).
    fn set_new_addr(&mut self, id: MmId, vma: &Vma, r: &mut Remap) -> SysResult<()> {
        let pgoff = vma.page_index(r.addr);
        let hint = if r.implies_new_addr() { r.new_addr } else { 0 };
        let mut map_flags = 0;
        if r.flags & MREMAP_FIXED != 0 {
            map_flags |= MAP_FIXED;
        }
        if vma.flags.contains(VmFlags::MAYSHARE) {
            map_flags |= MAP_SHARED;
        }
        let file = vma.file.map(|f| f.file);
        r.new_addr = self.get_unmapped_area(id, file, hint, r.new_len, pgoff, map_flags, false)?;
        Ok(())
    }

    /// mremap_to: move to the address the call names (or hints at, with DONTUNMAP alone).
    fn mremap_to(&mut self, id: MmId, r: &mut Remap) -> SysResult<u64> {
        if r.flags & MREMAP_FIXED != 0 {
            self.unmap_checked(id, r.new_addr, r.new_len)?;
            // Unmapping the destination may have taken the source with it (an old range that
            // wraps past the end of the address space escapes the overlap check): the VMA is
            // looked up again at once.
            if self.mms[id].vmas.containing(r.addr).is_none() {
                return Err(Errno::EFAULT);
            }
        }
        if r.kind() == RemapType::Shrink {
            self.unmap_checked(id, r.addr + r.new_len, r.delta())?;
            r.old_len = r.new_len;
        }
        // The destination may have cut the source VMA; look it up again.
        let vma = self.mms[id].vmas.containing(r.addr).cloned();
        let vma = vma.ok_or(Errno::EFAULT)?;
        if r.flags & MREMAP_DONTUNMAP != 0 && !self.may_expand_vm(id, vma.flags, r.old_len >> PAGE_SHIFT) {
            return Err(Errno::ENOMEM);
        }
        self.set_new_addr(id, &vma, r)?;
        self.move_vma(id, r)
    }

    /// remap_move: a same-size MREMAP_FIXED over `[addr, addr + old_len)`, VMA by VMA, each
    /// part landing at the destination with the source's gaps kept between them. The range
    /// must start inside a VMA; a failure part-way leaves the parts already moved.
    fn remap_move(&mut self, id: MmId, r: &mut Remap) -> SysResult<u64> {
        let start = r.addr;
        // A range that wraps past the top of the address space meets no VMA from its start
        // on: EFAULT, as Linux's walk (whose end wraps the same way) finds.
        let end = r.addr.wrapping_add(r.old_len);
        let mut target = r.new_addr;
        let mut result = Err(Errno::EFAULT);
        let mut last_end = 0;
        let mut cursor = start;
        let mut seen = false;
        // The walk resumes where the last VMA it moved ended: once that is past the range, it
        // is over, even if the move merged that VMA's remains (DONTUNMAP) with what now lies
        // after them (measured on 6.18: a one-page DONTUNMAP move whose destination abuts
        // its source returns the destination, and the three pieces merge).
        while cursor < end {
            let mm = &self.mms[id];
            let Some(vma) = mm.vmas.find(cursor).filter(|v| v.start < end).cloned() else { break };
            if !seen && start < vma.start {
                return Err(Errno::EFAULT);
            }
            let a = vma.start.max(start);
            let len = end.min(vma.end) - a;
            let offset = if seen { vma.start - last_end } else { 0 };
            last_end = vma.end;
            // The walk goes on after this VMA (which DONTUNMAP leaves in place).
            cursor = vma.end;
            let mut part = Remap { addr: a, old_len: len, new_len: len, new_addr: target + offset, ..*r };
            self.check_prep_vma(id, &vma, &mut part)?;
            let moved = self.mremap_to(id, &mut part)?;
            if !seen {
                result = Ok(moved);
            }
            seen = true;
            target = moved + len;
        }
        result
    }

    /// move_vma: copy the VMA to `new_addr`, move its page tables, then unmap the source (or,
    /// with DONTUNMAP, leave it empty and unlocked).
    fn move_vma(&mut self, id: MmId, r: &mut Remap) -> SysResult<u64> {
        let mm = &self.mms[id];
        // prep_move_vma: room for splitting the source in three.
        if mm.map_count() as u64 >= self.m.config.max_map_count.saturating_sub(3) {
            return Err(Errno::ENOMEM);
        }
        let vma = mm.vmas.containing(r.addr).cloned().ok_or(Errno::EFAULT)?;
        // Special mappings refuse to be split (special_mapping_split).
        if vma.special.is_some() && (vma.start != r.addr || vma.end != r.addr + r.old_len) {
            return Err(Errno::EINVAL);
        }
        // vrm_calc_charge: a grown accounted mapping is charged the growth; one that stays
        // behind (DONTUNMAP) is charged the whole new copy.
        let charge = if r.flags & MREMAP_DONTUNMAP != 0 { r.new_len } else { r.delta() };
        if vma.flags.contains(VmFlags::ACCOUNT) && !self.may_commit(id, charge >> PAGE_SHIFT) {
            return Err(Errno::ENOMEM);
        }
        let hiwater_vm = self.mms[id].hiwater_vm;
        self.copy_vma(id, &vma, r.addr, r.new_addr, r.new_len);
        self.move_page_tables(id, r.addr, r.new_addr, r.old_len);
        self.move_guards(id, r.addr, r.new_addr, r.old_len);
        if r.flags & MREMAP_DONTUNMAP != 0 {
            self.dontunmap_complete(id, r);
        } else {
            // The source may fail to split (out of map slots); Linux then leaves it.
            let _ = self.unmap_checked(id, r.addr, r.old_len);
        }
        // The momentary double counting of the move is not a new high-water mark.
        self.mm_mut(id).hiwater_vm = hiwater_vm;
        Ok(r.new_addr)
    }

    /// copy_vma: a VMA like `vma` (the part from `addr`) at `[new_addr, new_addr + len)`,
    /// merged into a compatible neighbour where possible. An anonymous VMA that never had a
    /// page takes the destination's page offset, so that it can merge there.
    fn copy_vma(&mut self, id: MmId, vma: &Vma, addr: u64, new_addr: u64, len: u64) {
        let mut pgoff = vma.page_index(addr);
        if vma.is_private_anon() && vma.anon_vma.is_none() {
            pgoff = new_addr >> PAGE_SHIFT;
        }
        let copy = Vma { start: new_addr, end: new_addr + len, pgoff, ..vma.clone() };
        let mm = &self.mms[id];
        let prev = mm.vmas.prev_of(new_addr).filter(|p| can_merge(p, &copy)).map(|p| p.start);
        let next_ok = mm.vmas.next_of(copy.end).is_some_and(|n| can_merge(&copy, n));
        // Merging with both neighbours would remove the next one, which a VMA with a close
        // hook (a SysV attach) forbids: the copy then joins the previous one only.
        let sysv = copy.file.is_some_and(|f| self.m.file(f.file).sysv_shm.is_some());
        self.vma_link(id, copy);
        match prev {
            Some(p) if sysv && next_ok => self.merge_pair(id, p, new_addr),
            _ if prev.is_some() || next_ok => {
                self.try_merge_around(id, new_addr);
            }
            _ => {}
        }
    }

    /// move_page_tables: the PTEs of `[old, old + len)` move to `new`. Where the source has
    /// a table, the destination gets one at that level; a PTE table covering a whole aligned
    /// extent (2 MiB, or 4 MiB without PAE) on both sides moves as it is (move_normal_pmd).
    fn move_page_tables(&mut self, id: MmId, old: u64, new: u64, len: u64) {
        let pgd = self.mms[id].pgd;
        let span = pgtable::leaf_span(&self.m.frames);
        let mut done = 0;
        while done < len {
            let (o, n) = (old + done, new + done);
            let extent = (span - (o & (span - 1))).min(span - (n & (span - 1))).min(len - done);
            done += extent;
            // get_old_pud / alloc_new_pud: a PMD table in the source means a PUD table in the
            // destination; get_old_pmd / alloc_new_pmd: a PTE table means a PMD table.
            if pgtable::table_at(&self.m.frames, pgd, o, 1).is_none() {
                continue;
            }
            let mut new_tables = 0;
            if pgtable::table_at_alloc(&mut self.m.frames, pgd, n, 2, &mut new_tables).is_none() {
                break;
            }
            self.mm_mut(id).pgtable_pages += new_tables;
            let Some(old_pte) = pgtable::table_at(&self.m.frames, pgd, o, 0) else { continue };
            let old_pmd = pgtable::table_at(&self.m.frames, pgd, o, 1).expect("PMD table of a PTE table");
            let mut new_tables = 0;
            let Some(new_pmd) = pgtable::table_at_alloc(&mut self.m.frames, pgd, n, 1, &mut new_tables) else {
                break;
            };
            self.mm_mut(id).pgtable_pages += new_tables;
            if extent == span && pgtable::table_at(&self.m.frames, pgd, n, 0).is_none() {
                pgtable::set_table_entry(&mut self.m.frames, old_pmd, o, 0, None);
                pgtable::set_table_entry(&mut self.m.frames, new_pmd, n, 0, Some(old_pte));
                continue;
            }
            let mut new_tables = 0;
            let Some(new_pte) = pgtable::table_at_alloc(&mut self.m.frames, pgd, n, 0, &mut new_tables) else {
                break;
            };
            self.mm_mut(id).pgtable_pages += new_tables;
            for off in (0..extent).step_by(PAGE_SIZE as usize) {
                let (oi, ni) =
                    (pgtable::pte_index(&self.m.frames, o + off), pgtable::pte_index(&self.m.frames, n + off));
                let pte = Pte(self.m.frames.table(old_pte)[oi]);
                if pte.is_none() {
                    continue;
                }
                self.m.frames.table_mut(old_pte)[oi] = 0;
                self.m.frames.table_mut(new_pte)[ni] = pte.0;
            }
        }
    }

    /// dontunmap_complete: the source VMA stays, unlocked (its locked pages still counted in
    /// locked_vm, as Linux leaves them), and loses its anon_vma if it moved whole.
    fn dontunmap_complete(&mut self, id: MmId, r: &Remap) {
        let mm = self.mm_mut(id);
        let Some(old) = mm.vmas.containing(r.addr).cloned() else { return };
        let whole = old.start == r.addr && old.end == r.addr + r.old_len;
        mm.vmas.update(old.start, |v| {
            v.flags -= VmFlags::LOCKED | VmFlags::LOCKONFAULT;
            if whole {
                v.anon_vma = None;
            }
        });
        if old.flags.contains(VmFlags::LOCKED) {
            mm.locked_vm_stale += PageCount::new(old.pages());
            // Pages of the source that did not move (a part of the VMA was moved) are
            // mapped only unlocked now, and Linux leaves them mlocked (on the unevictable
            // list, skipped by reclaim and MADV_PAGEOUT) until they are freed: their
            // count stays, stranded.
            self.strand_present_pages(id, old.start, old.end);
        }
    }
}
