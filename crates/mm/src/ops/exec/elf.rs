//! Mapping an ELF image: the program's PT_LOAD segments (load_elf_binary), the
//! interpreter's (load_elf_interp), and the pieces both use (elf_map, elf_load, padzero, the
//! bss through vm_brk_flags).
//!
//! A segment's file part is a private file mapping from its page-aligned offset; if the
//! segment has bss, the rest of the last file page is cleared by a write through the user
//! copy path (so that page becomes a private dirty copy), and the whole pages after it are an
//! anonymous VMA made the way brk makes one. The first segment of a position-independent
//! image is mapped with the size of the whole image, and the excess unmapped again, so that
//! the search finds room for all of it.

use super::image::{ElfImage, ElfKind, LoadSegment};
use crate::file::OpenFileId;
use crate::flags::VmFlags;
use crate::kernel::{Kernel, Pid};
use crate::layout::*;
use crate::mm_table::MmId;
use abi::*;

/// Byte offset of `v` in its page (ELF_PAGEOFFSET).
fn page_offset(v: u64) -> u64 {
    v & (PAGE_SIZE - 1)
}

/// Rounds up to a page, wrapping like the kernel's macro (ELF_PAGEALIGN).
fn page_align_wrapping(v: u64) -> u64 {
    v.wrapping_add(PAGE_SIZE - 1) & PAGE_MASK
}

/// Where the program landed, in final addresses.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ProgramLayout {
    /// The load bias (0 for ET_EXEC).
    pub load_bias: u64,
    /// e_entry plus the bias.
    pub entry: u64,
    /// Address of the program headers in memory (AT_PHDR).
    pub phdr: u64,
    /// End of the highest segment in memory.
    pub elf_brk: u64,
    /// mm->start_code.
    pub start_code: u64,
    /// mm->end_code.
    pub end_code: u64,
    /// mm->start_data.
    pub start_data: u64,
    /// mm->end_data.
    pub end_data: u64,
    /// The range a PIE's load bias is drawn from, for a PIE with an interpreter.
    pub load_bias_range: Option<(u64, u64)>,
}

impl Kernel {
    /// vm_mmap of a file for exec: checks the offset as vm_mmap does, then do_mmap.
    #[allow(clippy::too_many_arguments)]
    fn exec_vm_mmap(
        &mut self,
        id: MmId,
        open: OpenFileId,
        addr: u64,
        len: u64,
        prot: u64,
        flags: u64,
        off: u64,
    ) -> SysResult<u64> {
        if off.checked_add(page_align_wrapping(len)).is_none() || page_offset(off) != 0 {
            return Err(Errno::EINVAL);
        }
        self.do_mmap(id, Some(open), addr, len, prot, flags, off >> PAGE_SHIFT)
    }

    /// vm_munmap with its argument checks (callers in exec ignore the result, as Linux does).
    pub(crate) fn exec_vm_munmap(&mut self, id: MmId, start: u64, len: u64) -> SysResult<()> {
        let task_size = self.task_size(id);
        if page_offset(start) != 0 || start > task_size || len > task_size - start {
            return Err(Errno::EINVAL);
        }
        let end = start + page_align_wrapping(len);
        if end == start {
            return Err(Errno::EINVAL);
        }
        self.do_munmap_range(id, start, end)
    }

    /// elf_map: maps the file part of `seg` at `addr` (page-floored). With `total_size`,
    /// the first mapping reserves the whole image and gives back what lies past this
    /// segment's file part.
    #[allow(clippy::too_many_arguments)]
    fn elf_map(
        &mut self,
        id: MmId,
        open: OpenFileId,
        addr: u64,
        seg: &LoadSegment,
        prot: u64,
        flags: u64,
        total_size: u64,
    ) -> SysResult<u64> {
        let size = page_align_wrapping(seg.filesz.wrapping_add(page_offset(seg.vaddr)));
        let off = seg.offset.wrapping_sub(page_offset(seg.vaddr));
        let addr = page_floor(addr);
        // A segment with no file bytes maps nothing (mmap would refuse a zero length).
        if size == 0 {
            return Ok(addr);
        }
        if total_size != 0 {
            let total = page_align_wrapping(total_size);
            let map = self.exec_vm_mmap(id, open, addr, total, prot, flags, off)?;
            let _ = self.exec_vm_munmap(id, map.wrapping_add(size), total.wrapping_sub(size));
            Ok(map)
        } else {
            self.exec_vm_mmap(id, open, addr, size, prot, flags, off)
        }
    }

    /// elf_load: the file part, then the bss (the rest of the last file page zeroed by a
    /// user write, whole pages as anonymous memory). Returns where the segment's first page
    /// went.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn elf_load(
        &mut self,
        pid: Pid,
        id: MmId,
        open: OpenFileId,
        addr: u64,
        seg: &LoadSegment,
        prot: u64,
        flags: u64,
        total_size: u64,
    ) -> SysResult<u64> {
        let (map_addr, mut zero_start, mut zero_end);
        if seg.filesz != 0 {
            map_addr = self.elf_map(id, open, addr, seg, prot, flags, total_size)?;
            zero_start = map_addr.wrapping_add(page_offset(seg.vaddr)).wrapping_add(seg.filesz);
            zero_end = map_addr.wrapping_add(page_offset(seg.vaddr)).wrapping_add(seg.memsz);
            // Linux tries the clear even on a read-only segment; it fails there without
            // effect, and the failure only matters for a writable one.
            if seg.memsz > seg.filesz && prot & PROT_WRITE != 0 && !self.padzero(pid, zero_start) {
                return Err(Errno::EFAULT);
            }
        } else {
            map_addr = page_floor(addr);
            zero_start = map_addr;
            zero_end = zero_start.wrapping_add(page_offset(seg.vaddr)).wrapping_add(seg.memsz);
        }
        if seg.memsz > seg.filesz {
            zero_start = page_align_wrapping(zero_start);
            zero_end = page_align_wrapping(zero_end);
            self.vm_brk_flags(id, zero_start, zero_end.wrapping_sub(zero_start), prot & PROT_EXEC != 0)?;
        }
        Ok(map_addr)
    }

    /// padzero: clears from `addr` to the end of its page through the user copy path.
    /// Returns false if the write faulted.
    fn padzero(&mut self, pid: Pid, addr: u64) -> bool {
        let n = page_offset(addr);
        if n == 0 {
            return true;
        }
        let zeros = vec![0u8; (PAGE_SIZE - n) as usize];
        matches!(self.copy_to_user(pid, addr, &zeros), Ok(w) if w == zeros.len() as u64)
    }

    /// vm_brk_flags: anonymous memory at a fixed place, replacing what was there, made as
    /// brk makes it (the data-segment flags plus VM_ACCOUNT, extending a mergeable
    /// predecessor). Only the bss of exec uses it.
    pub(crate) fn vm_brk_flags(&mut self, id: MmId, addr: u64, request: u64, exec: bool) -> SysResult<()> {
        let len = page_ceil(request).ok_or(Errno::ENOMEM)?;
        if len == 0 {
            return Ok(());
        }
        // check_brk_limits: the generic checks of a MAP_FIXED placement.
        let task_size = self.task_size(id);
        if len > task_size || addr > task_size - len {
            return Err(Errno::ENOMEM);
        }
        if page_offset(addr) != 0 {
            return Err(Errno::EINVAL);
        }
        if addr < self.m.config.mmap_min_addr && !self.m.config.cap_sys_rawio {
            return Err(Errno::EPERM);
        }
        self.do_munmap_range(id, addr, addr + len)?;
        let extra = if exec { VmFlags::EXEC } else { VmFlags::empty() };
        // The limit checks and the commit charge fail alike with ENOMEM.
        self.do_brk_flags(id, addr, len, extra, 0)
    }

    /// The PT_LOAD loop of load_elf_binary: maps the program and returns where it went.
    /// `has_interp` decides where a position-independent program goes: at ELF_ET_DYN_BASE
    /// when an interpreter will run it, in the mmap area when it runs itself.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn load_program(
        &mut self,
        pid: Pid,
        id: MmId,
        open: OpenFileId,
        image: &ElfImage,
        has_interp: bool,
        mut rng: Option<&mut super::random::ExecRng>,
        given_bias: Option<u64>,
    ) -> SysResult<ProgramLayout> {
        let space = self.mms[id].space;
        let task_size = space.task_size;
        let mut load_bias_range = None;
        let mut first = true;
        let mut load_bias: u64 = 0;
        let mut phdr: u64 = 0;
        let mut elf_brk: u64 = 0;
        let (mut start_code, mut end_code, mut start_data, mut end_data) = (u64::MAX, 0u64, 0u64, 0u64);
        for seg in &image.segments {
            let prot = seg.prot;
            let mut flags = MAP_PRIVATE;
            let vaddr = seg.vaddr;
            let mut total_size = 0;
            if !first {
                // The first mapping reserved the range: the rest replace parts of it.
                flags |= MAP_FIXED;
            } else if image.kind == ElfKind::Exec {
                flags |= MAP_FIXED_NOREPLACE;
            } else if image.kind == ElfKind::Dyn {
                total_size = image.total_mapping_size();
                if total_size == 0 {
                    return Err(Errno::EINVAL);
                }
                let alignment = image.max_align();
                if has_interp {
                    // A PIE program: offset from ELF_ET_DYN_BASE, away from the mmap area
                    // where its loader goes.
                    load_bias = space.elf_et_dyn_base;
                    if let Some(r) = rng.as_deref_mut() {
                        load_bias += r.mmap_rnd(&space);
                    }
                    if alignment != 0 {
                        load_bias &= !(alignment - 1);
                    }
                    let low = page_floor(space.elf_et_dyn_base & !(alignment.max(1) - 1));
                    load_bias_range = Some((low, low + space.mmap_rnd_range()));
                    if let Some(b) = given_bias {
                        // The final bias is what the caller knows: undo the step below.
                        load_bias = b.wrapping_add(vaddr);
                    }
                    flags |= MAP_FIXED_NOREPLACE;
                } else if alignment > PAGE_SIZE {
                    // A loader asking for large alignment: find room by mapping at no
                    // particular address, give it back, and map again aligned.
                    let probe = self.elf_load(pid, id, open, 0, seg, prot, flags, total_size)?;
                    if probe >= task_size {
                        return Err(Errno::EINVAL);
                    }
                    let _ = self.exec_vm_munmap(id, probe, total_size);
                    load_bias = probe & !(alignment - 1);
                    flags |= MAP_FIXED_NOREPLACE;
                } else {
                    // A loader (static-pie, or ld.so run directly): wherever the mmap area
                    // puts it.
                    load_bias = 0;
                }
                load_bias = page_floor(load_bias.wrapping_sub(vaddr));
            }
            let map = self.elf_load(pid, id, open, load_bias.wrapping_add(vaddr), seg, prot, flags, total_size)?;
            if map >= task_size {
                return Err(Errno::EINVAL);
            }
            if first {
                first = false;
                if image.kind == ElfKind::Dyn {
                    load_bias = load_bias.wrapping_add(map.wrapping_sub(page_floor(load_bias.wrapping_add(vaddr))));
                }
            }
            // The segment that holds the program headers tells where they are in memory.
            if seg.offset <= image.phoff && image.phoff < seg.offset.wrapping_add(seg.filesz) {
                phdr = (image.phoff - seg.offset).wrapping_add(seg.vaddr);
            }
            let k = seg.vaddr;
            let x = prot & PROT_EXEC != 0;
            if x && k < start_code {
                start_code = k;
            }
            if start_data < k {
                start_data = k;
            }
            if k >= task_size || seg.filesz > seg.memsz || seg.memsz > task_size || task_size - seg.memsz < k {
                return Err(Errno::EINVAL);
            }
            let k = seg.vaddr + seg.filesz;
            if x && end_code < k {
                end_code = k;
            }
            if end_data < k {
                end_data = k;
            }
            elf_brk = elf_brk.max(seg.vaddr + seg.memsz);
        }
        Ok(ProgramLayout {
            load_bias_range,
            load_bias,
            entry: image.entry.wrapping_add(load_bias),
            phdr: phdr.wrapping_add(load_bias),
            elf_brk: elf_brk.wrapping_add(load_bias),
            start_code: start_code.wrapping_add(load_bias),
            end_code: end_code.wrapping_add(load_bias),
            start_data: start_data.wrapping_add(load_bias),
            end_data: end_data.wrapping_add(load_bias),
        })
    }

    /// load_elf_interp: maps the interpreter (a position-independent one as the first
    /// top-down allocation, so that it ends at mmap_base) and returns its load address.
    /// `no_base` is the program's load bias.
    pub(crate) fn load_interp(
        &mut self,
        pid: Pid,
        id: MmId,
        open: OpenFileId,
        image: &ElfImage,
        no_base: u64,
    ) -> SysResult<u64> {
        if !matches!(image.kind, ElfKind::Exec | ElfKind::Dyn) {
            return Err(Errno::ELIBBAD);
        }
        let task_size = self.task_size(id);
        let mut total_size = image.total_mapping_size();
        if total_size == 0 {
            return Err(Errno::EINVAL);
        }
        let mut load_addr: u64 = 0;
        let mut load_addr_set = false;
        for seg in &image.segments {
            let mut flags = MAP_PRIVATE;
            let vaddr = seg.vaddr;
            if image.kind == ElfKind::Exec || load_addr_set {
                flags |= MAP_FIXED;
            } else if no_base != 0 && image.kind == ElfKind::Dyn {
                load_addr = vaddr.wrapping_neg();
            }
            let map = self.elf_load(pid, id, open, load_addr.wrapping_add(vaddr), seg, seg.prot, flags, total_size)?;
            total_size = 0;
            if map >= task_size {
                return Err(Errno::EINVAL);
            }
            if !load_addr_set && image.kind == ElfKind::Dyn {
                load_addr = map.wrapping_sub(page_floor(vaddr));
                load_addr_set = true;
            }
            let k = load_addr.wrapping_add(seg.vaddr);
            if k >= task_size || seg.filesz > seg.memsz || seg.memsz > task_size || task_size - seg.memsz < k {
                return Err(Errno::ENOMEM);
            }
        }
        Ok(load_addr)
    }
}
