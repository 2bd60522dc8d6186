//! Address spaces the model did not see being built: a process a trace attached to
//! (`strace -p`) already had mappings when the log begins. [`Kernel::adopt_vma`] installs
//! one mapping as `/proc/PID/maps` showed it, and [`Kernel::adopt_layout`] sets the bounds
//! that placement and maps read (mmap_base, the heap, the stack).
//!
//! An adopted VMA keeps its own identity: neighbours are not merged into it, as the kernel
//! did not merge them (they showed as separate lines), and a private writable one gets an
//! anon_vma of its own, as a mapping whose pages were written has.

use crate::file::FileId;
use crate::flags::VmFlags;
use crate::kernel::{Kernel, Pid};
use crate::layout::*;
use crate::vma::{Vma, VmaFile};
use abi::*;

/// A mapping found existing, as one line of maps shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdoptedVma {
    /// First address.
    pub start: u64,
    /// One past the last.
    pub end: u64,
    /// PROT_* bits.
    pub prot: u64,
    /// `s` in maps: a shared mapping.
    pub shared: bool,
    /// The file behind it, and the offset of `start` in it (bytes).
    pub file: Option<(FileId, u64)>,
    /// A stack that grows down (`[stack]`).
    pub grows_down: bool,
    /// Private memory that a mapping placed right next to it, alike in all maps shows, was
    /// not merged with: something maps does not show sets it apart. It is given an
    /// anon_vma that a fork passed down, which Linux never merges with a neighbour that
    /// has none (a new mapping), and which is the one such state that changes nothing else.
    pub apart: bool,
}

impl Kernel {
    /// Installs a mapping `pid`'s address space already had. EINVAL for a range that is
    /// empty, unaligned or beyond TASK_SIZE; EEXIST if it overlaps a VMA.
    pub fn adopt_vma(&mut self, pid: Pid, v: AdoptedVma) -> SysResult<()> {
        let id = self.mm_id(pid)?;
        if v.start >= v.end || v.start & !PAGE_MASK != 0 || v.end & !PAGE_MASK != 0 || v.end > self.task_size(id) {
            return Err(Errno::EINVAL);
        }
        let mm = &self.mms[id];
        if mm.vmas.find(v.start).is_some_and(|o| o.start < v.end) {
            return Err(Errno::EEXIST);
        }
        let mut flags = VmFlags::from_prot(v.prot) | VmFlags::MAYREAD | VmFlags::MAYWRITE | VmFlags::MAYEXEC;
        if v.shared {
            flags |= VmFlags::SHARED | VmFlags::MAYSHARE;
        } else if v.prot & PROT_WRITE != 0 || (v.file.is_none() && v.prot != PROT_NONE) {
            // Maps cannot tell whether a private mapping was writable when it was made
            // (which charges it, VM_ACCOUNT, for good): anonymous memory that is readable is
            // taken to have been (heaps, arenas, stacks made read-only later), a PROT_NONE
            // reservation not.
            flags |= VmFlags::ACCOUNT;
        }
        if v.grows_down {
            flags |= VmFlags::GROWSDOWN;
        }
        let (file, pgoff) = match v.file {
            Some((f, off)) => {
                let open = self.m.add_open(f, true, v.shared && v.prot & PROT_WRITE != 0);
                (Some(VmaFile { file: f, open }), off >> PAGE_SHIFT)
            }
            None => (None, v.start >> PAGE_SHIFT),
        };
        // Private memory that may have been written has pages of its own, so an anon_vma; a
        // PROT_NONE reservation was never touched (else a later mprotect that opens part of
        // it could not merge that part with the memory next to it, as Linux does).
        let touched = v.prot & PROT_WRITE != 0 || (file.is_none() && v.prot != PROT_NONE);
        let anon_vma = (!v.shared && touched).then(|| self.m.new_anon_vma(v.apart));
        self.vma_link(id, Vma { start: v.start, end: v.end, flags, pgoff, file, anon_vma, special: None });
        if let Some(f) = file {
            self.m.put_open(f.open);
        }
        Ok(())
    }

    /// Sets the bounds of an adopted address space: where unplaced mappings go below
    /// (`mmap_base`), the heap (`start_brk`..`brk`) and an address in the stack.
    pub fn adopt_layout(
        &mut self,
        pid: Pid,
        mmap_base: u64,
        heap: Option<(u64, u64)>,
        stack: Option<u64>,
    ) -> SysResult<()> {
        let id = self.mm_id(pid)?;
        let mm = self.mm_mut(id);
        mm.mmap_base = mmap_base.min(mm.space.task_size);
        if let Some((start, end)) = heap {
            mm.start_brk = start;
            mm.brk = end;
        }
        if let Some(s) = stack {
            mm.start_stack = s;
        }
        Ok(())
    }

    /// Gives an adopted address space that has no mapping yet the shape `space` (a 32-bit
    /// process attached to is an ia32 compat one); EBUSY once it maps anything, whose
    /// checks were made against the old shape.
    pub fn adopt_space(&mut self, pid: Pid, space: crate::space::UserSpace) -> SysResult<()> {
        let id = self.mm_id(pid)?;
        if self.mms[id].vmas.iter().next().is_some() {
            return Err(Errno::EBUSY);
        }
        let mm = self.mm_mut(id);
        mm.space = space;
        mm.mmap_base = mm.mmap_base.min(space.task_size);
        Ok(())
    }

    /// Sets the heap of an adopted address space to `start`..`brk` as a log showed it (an
    /// execve the log does not show may have moved it); a heap VMA beyond the new break
    /// stays until the log's calls remove it.
    pub fn adopt_heap(&mut self, pid: Pid, start: u64, brk: u64) -> SysResult<()> {
        let id = self.mm_id(pid)?;
        let mm = self.mm_mut(id);
        mm.start_brk = start;
        mm.brk = brk;
        Ok(())
    }

    /// Maps the vDSO and its data pages with the data pages starting at `base`, as an
    /// adopted address space showed them. EINVAL for an unaligned base or one that puts
    /// them beyond TASK_SIZE; EEXIST if they would overlap a VMA (a maps text whose lines
    /// overlap, which no kernel writes, must not corrupt the model).
    pub fn adopt_vdso(&mut self, pid: Pid, base: u64) -> SysResult<u64> {
        let id = self.mm_id(pid)?;
        let layout = self.m.config.vdso;
        let pages = layout.vvar_pages + layout.vvar_vclock_pages + layout.vdso_pages;
        let end = pages.checked_mul(PAGE_SIZE).and_then(|len| base.checked_add(len));
        let end = end.filter(|&e| base & !PAGE_MASK == 0 && e <= self.task_size(id)).ok_or(Errno::EINVAL)?;
        if self.mms[id].vmas.find(base).is_some_and(|o| o.start < end) {
            return Err(Errno::EEXIST);
        }
        self.link_vdso(id, layout, base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// The vDSO of an adopted address space goes only where nothing is mapped (a fuzzed
    /// maps text with overlapping lines put it over an adopted library, and the VMA tree
    /// held two VMAs over the same pages).
    #[test]
    fn the_vdso_is_adopted_only_where_the_range_is_free() {
        let mut k = Kernel::new(Config { ram_bytes: 16 << 20, paranoid: true, ..Config::default() });
        let pid = k.spawn_empty("t").unwrap();
        let lib = AdoptedVma {
            start: 0x7fff_f7df_b000,
            end: 0x7fff_fef5_1000,
            prot: PROT_READ | PROT_EXEC,
            shared: false,
            file: None,
            grows_down: false,
            apart: false,
        };
        k.adopt_vma(pid, lib).unwrap();
        assert_eq!(k.adopt_vdso(pid, 0x7fff_f7fc_2000), Err(Errno::EEXIST));
        assert_eq!(k.adopt_vdso(pid, 0x7fff_f7df_a000), Err(Errno::EEXIST), "its last pages overlap");
        assert_eq!(k.adopt_vdso(pid, 0x7fff_f7fc_2001), Err(Errno::EINVAL));
        assert_eq!(k.adopt_vdso(pid, PAGE_MASK), Err(Errno::EINVAL));
        assert_eq!(k.mm(pid).unwrap().vmas.iter().count(), 1);
        assert!(k.adopt_vdso(pid, 0x7fff_ff00_0000).is_ok());
        crate::invariants::check_kernel(&k);
    }

    /// An empty adopted address space takes a 32-bit shape; one that maps something keeps
    /// its own.
    #[test]
    fn an_empty_adopted_space_becomes_a_compat_one() {
        let mut k = Kernel::new(Config { ram_bytes: 16 << 20, paranoid: true, ..Config::default() });
        let pid = k.spawn_empty("t").unwrap();
        let compat = crate::space::UserSpace::ia32_compat(0);
        k.adopt_space(pid, compat).unwrap();
        assert_eq!(k.mm(pid).unwrap().space, compat);
        let stack = AdoptedVma {
            start: 0xfffd_d000,
            end: 0xffff_e000,
            prot: PROT_READ | PROT_WRITE,
            shared: false,
            file: None,
            grows_down: true,
            apart: false,
        };
        k.adopt_vma(pid, stack).unwrap();
        assert_eq!(k.adopt_space(pid, crate::space::UserSpace::x86_64()), Err(Errno::EBUSY));
        crate::invariants::check_kernel(&k);
    }
}
