//! Building a fresh process image the way `execve` lays it out on x86-64: the stack at the
//! top, the program's segments (with bss), the program break after them, and the vDSO as the
//! first top-down mapping. The ELF parsing itself is the caller's (see [`ExecImage`]).

use crate::flags::VmFlags;
use crate::kernel::{Kernel, Pid};
use crate::layout::*;
use crate::vma::{Special, Vma};
use abi::*;

/// One PT_LOAD segment of a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecSegment {
    /// Virtual address (p_vaddr; for PIE relative to the load base).
    pub vaddr: u64,
    /// Size in memory (p_memsz).
    pub memsz: u64,
    /// Size in the file (p_filesz).
    pub filesz: u64,
    /// Offset in the file (p_offset).
    pub offset: u64,
    /// PROT_* bits from p_flags.
    pub prot: u64,
}

/// What `execve` needs to know about a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecImage {
    /// Path of the program in the model's file system.
    pub path: String,
    /// Loadable segments in address order.
    pub segments: Vec<ExecSegment>,
    /// Position-independent (ET_DYN): loaded at ELF_ET_DYN_BASE.
    pub pie: bool,
    /// Bytes the argument and environment strings, auxv and pointers take on the stack.
    pub stack_bytes: u64,
    /// PT_GNU_STACK asks for an executable stack.
    pub exec_stack: bool,
}

impl Kernel {
    /// Creates a process running `image`, laid out as a fresh `execve` does without ASLR.
    pub fn spawn(&mut self, comm: &str, image: &ExecImage) -> SysResult<Pid> {
        let pid = self.spawn_empty(comm)?;
        if let Err(e) = self.exec_into(pid, image) {
            let _ = self.exit(pid, 127);
            let _ = self.reap(pid);
            return Err(e);
        }
        Ok(pid)
    }

    fn exec_into(&mut self, pid: Pid, image: &ExecImage) -> SysResult<()> {
        let id = self.mm_id(pid)?;
        // Standard streams, so a program's first open() returns 3 as on a real system.
        if self.lookup("/dev/pts/0").is_none() {
            let tty = self.create_file("/dev/pts/0", &[]);
            self.m.file_mut(tty).kind = crate::file::FileKind::Unmappable;
        }
        for _ in 0..3 {
            self.open(pid, "/dev/pts/0", O_RDWR)?;
        }
        // The stack: the pages the strings and tables span, plus 128 KiB, capped by the rlimit.
        let stack_top = TASK_SIZE;
        let used = page_ceil(image.stack_bytes.max(1)).ok_or(Errno::E2BIG)?;
        // setup_arg_pages: grow by 128 KiB, but not past the (page-floored) stack rlimit.
        let rlimit = page_floor(self.m.config.rlimit_stack);
        let size = if used + (128 << 10) > rlimit { rlimit.max(used) } else { used + (128 << 10) };
        let mut sflags = VmFlags::READ
            | VmFlags::WRITE
            | VmFlags::MAYREAD
            | VmFlags::MAYWRITE
            | VmFlags::MAYEXEC
            | VmFlags::GROWSDOWN
            | VmFlags::ACCOUNT;
        if image.exec_stack {
            sflags |= VmFlags::EXEC;
        }
        let sstart = stack_top - size;
        self.vma_link(
            id,
            Vma {
                start: sstart,
                end: stack_top,
                flags: sflags,
                pgoff: sstart >> PAGE_SHIFT,
                file: None,
                anon_vma: None,
                special: None,
            },
        );
        // The program's segments, through one open file description as exec has.
        let fd = self.open(pid, &image.path, O_RDONLY)? as i64;
        let base = if image.pie { ELF_ET_DYN_BASE } else { 0 };
        let mut end_all = 0;
        let (mut start_code, mut end_code, mut start_data, mut end_data) = (u64::MAX, 0, u64::MAX, 0);
        for s in &image.segments {
            let va = base + s.vaddr;
            let map_start = page_floor(va);
            let file_end = page_ceil(va + s.filesz).ok_or(Errno::ENOMEM)?;
            let mem_end = page_ceil(va + s.memsz).ok_or(Errno::ENOMEM)?;
            if file_end > map_start {
                let off = page_floor(s.offset);
                let r = self.mmap(
                    pid,
                    map_start,
                    file_end - map_start,
                    s.prot,
                    MAP_PRIVATE | MAP_FIXED_NOREPLACE,
                    fd,
                    off,
                )?;
                debug_assert_eq!(r, map_start);
            }
            if s.memsz > s.filesz {
                // padzero: the tail of the last file page is cleared by a user write, so that
                // page becomes a private copy.
                let tail = va + s.filesz;
                if tail % PAGE_SIZE != 0 && s.prot & PROT_WRITE != 0 {
                    let n = (PAGE_SIZE - tail % PAGE_SIZE) as usize;
                    self.copy_to_user(pid, tail, &vec![0u8; n]).map_err(|_| Errno::EFAULT)?;
                }
                if mem_end > file_end {
                    let mut f = VmFlags::READ
                        | VmFlags::WRITE
                        | VmFlags::MAYREAD
                        | VmFlags::MAYWRITE
                        | VmFlags::MAYEXEC
                        | VmFlags::ACCOUNT;
                    if s.prot & PROT_EXEC != 0 {
                        f |= VmFlags::EXEC;
                    }
                    self.vma_link(
                        id,
                        Vma {
                            start: file_end,
                            end: mem_end,
                            flags: f,
                            pgoff: file_end >> PAGE_SHIFT,
                            file: None,
                            anon_vma: None,
                            special: None,
                        },
                    );
                }
            }
            if s.prot & PROT_EXEC != 0 {
                start_code = start_code.min(va);
                end_code = end_code.max(va + s.filesz);
            } else {
                start_data = start_data.min(va);
                end_data = end_data.max(va + s.filesz);
            }
            end_all = end_all.max(va + s.memsz);
        }
        self.close(pid, fd)?;
        // vDSO: one 8-page top-down allocation split into [vvar], [vvar_vclock], [vdso].
        let mm = self.mms[id].as_ref().expect("freed mm");
        let vbase = mm
            .vmas
            .find_top_down(self.m.config.lsm_mmap_min_addr, mm.mmap_base, 8 * PAGE_SIZE, PAGE_SIZE, 0, 0)
            .ok_or(Errno::ENOMEM)?;
        let data =
            VmFlags::READ | VmFlags::MAYREAD | VmFlags::PFNMAP | VmFlags::IO | VmFlags::DONTEXPAND | VmFlags::DONTDUMP;
        let code = VmFlags::READ
            | VmFlags::EXEC
            | VmFlags::MAYREAD
            | VmFlags::MAYWRITE
            | VmFlags::MAYEXEC
            | VmFlags::DONTEXPAND;
        for (off, pages, flags, sp) in
            [(0, 4, data, Special::Vvar), (4, 2, data, Special::VvarVclock), (6, 2, code, Special::Vdso)]
        {
            let start = vbase + off * PAGE_SIZE;
            self.vma_link(
                id,
                Vma {
                    start,
                    end: start + pages * PAGE_SIZE,
                    flags,
                    pgoff: 0,
                    file: None,
                    anon_vma: None,
                    special: Some(sp),
                },
            );
        }
        // execve writes the argument and environment strings and the ELF tables at the top
        // of the stack, so those pages are resident and dirty in a fresh process.
        let top = stack_top - image.stack_bytes.max(8);
        self.copy_to_user(pid, top, &vec![0u8; (stack_top - top) as usize]).map_err(|_| Errno::EFAULT)?;
        let brk = page_ceil(end_all).ok_or(Errno::ENOMEM)?;
        let mm = self.mm_mut(id);
        mm.start_brk = brk;
        mm.brk = brk;
        mm.start_stack = stack_top - image.stack_bytes.max(8);
        mm.start_code = if start_code == u64::MAX { 0 } else { start_code };
        mm.end_code = end_code;
        mm.start_data = if start_data == u64::MAX { 0 } else { start_data };
        mm.end_data = end_data;
        Ok(())
    }
}
