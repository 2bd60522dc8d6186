//! `execve(2)`: replacing a process's address space with a program, laid out as
//! `fs/exec.c` and `fs/binfmt_elf.c:load_elf_binary` lay it out on x86-64.
//!
//! # The protocol
//!
//! 1. **Checks that leave the caller intact.** The program must be an ELF executable or
//!    shared object for this machine (the caller parsed it: [`ElfImage`]); its interpreter,
//!    if it names one, must have been found; the strings must fit the argument limits
//!    (E2BIG). A failure here is an ordinary error return.
//! 2. **The point of no return.** A new address space replaces the old one (exec_mmap): the
//!    old one loses a user and is torn down if that was the last (a vfork parent or another
//!    CLONE_VM task keeps it alive). Close-on-exec descriptors are closed; the command name
//!    becomes the file name's last component. From here on a failure kills the process
//!    ([`EXEC_FATAL_STATUS`]), as Linux sends it SIGSEGV.
//! 3. **Layout** (setup_new_exec, setup_arg_pages): mmap_base from the stack limit; the stack
//!    VMA at the top, covering the pages the strings span plus 128 KiB, capped by the stack
//!    limit; the strings written into it.
//! 4. **The program** (PT_LOAD loop): ET_EXEC at its addresses (MAP_FIXED_NOREPLACE); a PIE
//!    with an interpreter at ELF_ET_DYN_BASE aligned to its largest segment alignment; a
//!    loader without one (static-pie, ld.so run directly) top-down in the mmap area. Each
//!    segment's bss clears the tail of its last file page with a user write and maps the
//!    rest as anonymous memory.
//! 5. **The interpreter**, as the first top-down allocation, so it ends at mmap_base.
//! 6. **The vDSO**, the next top-down allocation.
//! 7. **The tables** (create_elf_tables): platform string, random bytes, auxiliary vector,
//!    envp, argv, argc; the mm's code, data, argument and environment bounds; the program
//!    break right after the bss (or at ELF_ET_DYN_BASE for a loader), with no VMA yet.
//!
//! Without ASLR this reproduces the host byte for byte; with a seed it draws the same kinds
//! of random offsets Linux draws, from the seed.
//!
//! Reference: <https://elixir.bootlin.com/linux/v6.18/source/fs/binfmt_elf.c>

mod args;
mod elf;
pub mod image;
mod random;
pub mod request;
pub mod vdso;
pub mod vdso_i386;

pub use image::{ElfImage, ElfKind, LoadSegment, Machine, StackExec};
pub use request::{at, AuxvProfile, ExecFile, ExecInfo, ExecPlacement, ExecRequest};
pub use vdso::VdsoLayout;

use crate::file::{FileId, FileKind, OpenFileId};
use crate::flags::VmFlags;
use crate::kernel::{Kernel, Pid};
use crate::layout::*;
use crate::mm_table::MmId;
use crate::space::UserSpace;
use crate::vma::Vma;
use abi::{Errno, SysResult};
use args::STACK_TOP_MAX;
use random::ExecRng;

/// The exit status a process is left with when its exec fails after the point of no return
/// (Linux kills it with SIGSEGV; this is the shell's 128 + 11).
pub const EXEC_FATAL_STATUS: i32 = 128 + 11;

/// How far setup_arg_pages grows the stack beyond the strings (128 KiB).
const STACK_INITIAL_EXPANSION: u64 = 128 << 10;

/// The range of arch_mmap_rnd's draw for a 64-bit process (mmap_rnd_bits pages): how far
/// ASLR moves the mmap area and a PIE.
pub const MMAP_RND_RANGE: u64 = 1 << (UserSpace::x86_64().mmap_rnd_bits + PAGE_SHIFT);
/// How far randomize_stack_top may lower the stack of a 64-bit process.
pub const STACK_RND_RANGE: u64 = UserSpace::x86_64().stack_rnd_mask << PAGE_SHIFT;

/// The length of a task's command name (TASK_COMM_LEN less the NUL).
const COMM_LEN: usize = 15;

/// The mmap_base arch_pick_mmap_layout computes for a 64-bit process (see
/// [`UserSpace::mmap_base`]).
pub fn mmap_base(rlimit_stack: u64, guard_gap: u64, randomized: bool, rnd: u64) -> u64 {
    UserSpace::x86_64().mmap_base(rlimit_stack, guard_gap, randomized, rnd)
}

/// The address space an exec of `prog` builds on the kernel `arch`, for the personality the
/// task has (SET_PERSONALITY: on x86-64 a 32-bit program gets the compat space), or `None`
/// when that kernel cannot run the program (an x86-64 program on a native i386 kernel, which
/// its `elf_check_arch` refuses with ENOEXEC).
pub fn exec_space(prog: &ElfImage, personality: u32, arch: crate::kalloc::KernelArch) -> Option<UserSpace> {
    match (arch.is_i386(), prog.machine) {
        (false, Machine::X86_64) => Some(UserSpace::x86_64()),
        (false, Machine::I386) => Some(UserSpace::ia32_compat(personality)),
        (true, Machine::I386) => Some(UserSpace::i386_native()),
        (true, Machine::X86_64) => None,
    }
}

impl Kernel {
    /// `execve(filename, argv, envp)` by `pid`, with the program (and interpreter) already
    /// read and parsed by the caller.
    ///
    /// Errors before the point of no return (ENOEXEC, ENOENT for a missing interpreter,
    /// EACCES, E2BIG, ENOMEM) leave the process untouched. Errors after it leave the
    /// process exited with [`EXEC_FATAL_STATUS`].
    pub fn execve(&mut self, pid: Pid, req: &ExecRequest) -> SysResult<ExecInfo> {
        let r = self.do_execve(pid, req);
        // The old address space's attaches closed with it (shm_lpid).
        self.shm_record_user(pid);
        r
    }

    fn do_execve(&mut self, pid: Pid, req: &ExecRequest) -> SysResult<ExecInfo> {
        let task = self.tasks.get(&pid).ok_or(Errno::ESRCH)?;
        if task.exit_code.is_some() {
            return Err(Errno::ESRCH);
        }
        self.check_exec_file(req.program.file)?;
        let prog = &req.program.image;
        if !matches!(prog.kind, ElfKind::Exec | ElfKind::Dyn)
            || exec_space(prog, task.personality, self.m.config.kernel_arch).is_none()
        {
            return Err(Errno::ENOEXEC);
        }
        // The kernel opens the interpreter named by PT_INTERP; the caller found it.
        let interp = match (&prog.interp, &req.interp) {
            (None, _) => None,
            (Some(_), None) => return Err(Errno::ENOENT),
            (Some(_), Some(i)) => {
                self.check_exec_file(i.file)?;
                // The interpreter must be for the same architecture as the program (the
                // binary format's elf_check_arch), checked before the point of no return.
                if i.image.machine != prog.machine {
                    return Err(Errno::ELIBBAD);
                }
                Some(i)
            }
        };
        let cfg = &self.m.config;
        // The task's own stack limit, as setrlimit left it before the exec.
        let rlimit_stack = task.limits.stack.unwrap_or(cfg.rlimit_stack);
        let rlimit_as = task.limits.as_.unwrap_or(cfg.rlimit_as);
        let strings = args::copy_strings(&req.filename, &req.argv, &req.envp, rlimit_stack, rlimit_as)?;
        // The point of no return.
        let new = self.exec_mmap(pid)?;
        let base = req.filename.rsplit('/').next().unwrap_or("");
        // __set_task_comm keeps the first TASK_COMM_LEN - 1 bytes.
        let mut cut = base.len().min(COMM_LEN);
        while !base.is_char_boundary(cut) {
            cut -= 1;
        }
        let comm = base[..cut].to_string();
        self.tasks.get_mut(&pid).expect("checked above").comm = comm;

        // The exec holds its own references on the files it maps until it is done.
        let mut opens = Vec::new();
        let r = self.exec_image(pid, new, req, interp, &strings, &mut opens);
        for o in opens {
            self.m.put_open(o);
        }
        match r {
            Ok(info) => {
                if self.m.config.paranoid {
                    crate::invariants::check_kernel(self);
                }
                Ok(info)
            }
            Err(e) => {
                let _ = self.exit(pid, EXEC_FATAL_STATUS);
                Err(e)
            }
        }
    }

    /// An execve of a program the caller cannot name (a trace that printed its path as an
    /// address): past the point of no return as [`Kernel::execve`] goes, the task gets a
    /// new, empty address space (the old one released) and its close-on-exec descriptors
    /// close; what the program maps is left for the caller to adopt or replay.
    pub fn exec_unseen(&mut self, pid: Pid) -> SysResult<()> {
        let task = self.tasks.get(&pid).ok_or(Errno::ESRCH)?;
        if task.exit_code.is_some() {
            return Err(Errno::ESRCH);
        }
        self.exec_mmap(pid)?;
        self.shm_record_user(pid);
        if self.m.config.paranoid {
            crate::invariants::check_kernel(self);
        }
        Ok(())
    }

    /// Gives live task `pid` a new, empty address space in place of its old one (released),
    /// and closes its close-on-exec descriptors (exec_mmap and do_close_on_exec); returns
    /// the new address space.
    fn exec_mmap(&mut self, pid: Pid) -> SysResult<MmId> {
        let new = self.new_mm()?;
        let old = self.tasks.get_mut(&pid).ok_or(Errno::ESRCH)?.mm.replace(new);
        self.attach_mm(pid, new);
        if let Some(old) = old {
            self.detach_mm(pid, old);
            self.mmput(old);
        }
        self.close_on_exec(pid);
        Ok(new)
    }

    /// Checks that a file may be executed: a regular or memory file on an exec mount.
    fn check_exec_file(&self, file: FileId) -> SysResult<()> {
        let f = self.m.files.get(file.0 as usize).and_then(|f| f.as_ref()).ok_or(Errno::ENOENT)?;
        if !matches!(f.kind, FileKind::Regular | FileKind::Shmem) || f.noexec {
            return Err(Errno::EACCES);
        }
        Ok(())
    }

    /// do_close_on_exec: closes every descriptor marked FD_CLOEXEC.
    fn close_on_exec(&mut self, pid: Pid) {
        let task = self.tasks.get_mut(&pid).expect("live task");
        let fds: Vec<i32> = std::mem::take(&mut task.cloexec).into_iter().collect();
        let opens: Vec<OpenFileId> = fds.iter().filter_map(|fd| task.fds.remove(fd)).collect();
        for o in opens {
            self.m.put_open(o);
        }
    }

    /// Everything after the point of no return, into the fresh mm `id` of `pid`.
    fn exec_image(
        &mut self,
        pid: Pid,
        id: MmId,
        req: &ExecRequest,
        interp: Option<&ExecFile>,
        strings: &args::ArgStrings,
        opens: &mut Vec<OpenFileId>,
    ) -> SysResult<ExecInfo> {
        let cfg = self.m.config.clone();
        let prog = &req.program.image;
        let place = req.placement;
        let mut rng = req.aslr.map(ExecRng::new);
        let randomized = rng.is_some() || place.randomized;
        let task = self.tasks.get(&pid).expect("live task");
        let rlimit_stack = task.limits.stack.unwrap_or(cfg.rlimit_stack);
        // SET_PERSONALITY: the program's class decides the address space's shape.
        let space = exec_space(prog, task.personality, cfg.kernel_arch).ok_or(Errno::ENOEXEC)?;
        let task_size = space.task_size;
        // mmap_is_legacy on x86: ADDR_COMPAT_LAYOUT only (vm.legacy_va_layout is 0). An
        // unlimited stack keeps the top-down layout, with mmap_base at the lowest the gap
        // clamp allows (TASK_SIZE / 6).
        let legacy = task.personality & abi::ADDR_COMPAT_LAYOUT != 0;
        // SET_PERSONALITY and elf_read_implies_exec: a 64-bit program drops
        // READ_IMPLIES_EXEC (set_personality_64bit), a 32-bit one keeps what it inherited and
        // gets it when it has no PT_GNU_STACK (mmap_is_ia32 with EXSTACK_DEFAULT), on the
        // native i386 kernels and in compat alike. Measured: tests/golden/i386/*/rie*.txt,
        // and host_exec's ia32 program without PT_GNU_STACK.
        let mut personality = task.personality;
        if !space.is_32bit() {
            personality &= !abi::READ_IMPLIES_EXEC;
        } else if prog.stack == StackExec::Default {
            personality |= abi::READ_IMPLIES_EXEC;
        }
        self.tasks.get_mut(&pid).expect("live task").personality = personality;

        // setup_new_exec: the mmap layout for this stack limit.
        let drawn = rng.as_mut().map_or(0, |r| r.mmap_rnd(&space));
        let rnd = place.mmap_rnd.unwrap_or(drawn);
        let mm = self.mm_mut(id);
        mm.space = space;
        mm.mmap_base = space.mmap_base(rlimit_stack, cfg.stack_guard_gap, randomized, rnd);
        mm.mmap_legacy_base = space.unmapped_base.wrapping_add(rnd).min(task_size - PAGE_SIZE);
        mm.legacy_layout = legacy;

        // setup_arg_pages: the stack's final top, its VMA, its initial expansion.
        let mut stack_top = space.stack_top;
        if let Some(r) = rng.as_mut() {
            stack_top -= r.stack_rnd(&space);
        }
        let stack_top = page_ceil(args::arch_align_stack(stack_top, rng.as_mut())).unwrap_or(space.stack_top);
        // A top above the highest Linux can draw, or not page-aligned (a log that shows one),
        // cannot be taken as given: the stack would end outside the address space or between
        // pages.
        let stack_top = place.stack_top.filter(|&t| t <= space.stack_top && t % PAGE_SIZE == 0).unwrap_or(stack_top);
        let shift = STACK_TOP_MAX - stack_top;
        let tmp_start = page_floor(strings.low()).min(STACK_TOP_MAX - PAGE_SIZE);
        let stack_size = STACK_TOP_MAX - tmp_start;
        let min_addr = cfg.lsm_mmap_min_addr;
        if stack_top < min_addr || stack_size >= stack_top - min_addr {
            return Err(Errno::ENOMEM);
        }
        let rlim = rlimit_stack & PAGE_MASK;
        let stack_base = stack_top - rlim.min(stack_size + STACK_INITIAL_EXPANSION);
        let mut start = tmp_start - shift;
        if stack_base < start {
            if stack_base < min_addr {
                return Err(Errno::EFAULT);
            }
            start = stack_base;
        }
        let mut flags = VmFlags::READ
            | VmFlags::WRITE
            | VmFlags::MAYREAD
            | VmFlags::MAYWRITE
            | VmFlags::MAYEXEC
            | VmFlags::GROWSDOWN
            | VmFlags::ACCOUNT;
        // VM_STACK_FLAGS has TASK_EXEC (executable under READ_IMPLIES_EXEC); PT_GNU_STACK
        // then decides: PF_X makes it executable, its absence of PF_X not.
        if personality & abi::READ_IMPLIES_EXEC != 0 {
            flags |= VmFlags::EXEC;
        }
        match prog.stack {
            StackExec::Enable => flags |= VmFlags::EXEC,
            StackExec::Disable => flags -= VmFlags::EXEC,
            StackExec::Default => {}
        }
        self.vma_link(
            id,
            Vma { start, end: stack_top, flags, pgoff: start >> PAGE_SHIFT, file: None, anon_vma: None, special: None },
        );
        let low = strings.low() - shift;
        self.write_stack(pid, low, &strings.bytes)?;

        // The program, then its interpreter.
        let open = self.m.add_open(req.program.file, true, false);
        opens.push(open);
        let layout = self.load_program(pid, id, open, prog, interp.is_some(), rng.as_mut(), place.load_bias)?;
        let mut interp_base = 0;
        let entry = match interp {
            Some(i) => {
                let iopen = self.m.add_open(i.file, true, false);
                opens.push(iopen);
                interp_base = self.load_interp(pid, id, iopen, &i.image, layout.load_bias)?;
                interp_base.wrapping_add(i.image.entry)
            }
            None => layout.entry,
        };
        if entry >= task_size {
            return Err(Errno::EINVAL);
        }

        // The vDSO.
        let vdso = if cfg.vdso.is_empty() { 0 } else { self.map_vdso(id, cfg.vdso)? };

        // create_elf_tables.
        let argc = strings.argv.len() as u64;
        let envc = strings.envp.len() as u64;
        let auxv_profile = if space.is_32bit() { req.auxv.ia32() } else { req.auxv.clone() };
        let tables = args::place_tables(low, argc, envc, &auxv_profile, space.word_size, rng.as_mut());
        // The tables may reach below the stack VMA when the strings already filled a small
        // stack limit: the first write grows the stack (find_extend_vma), or fails the exec.
        if let Some((addr, s)) = &tables.platform {
            self.write_stack(pid, *addr, s)?;
        }
        if let Some((addr, s)) = &tables.base_platform {
            self.write_stack(pid, *addr, s)?;
        }
        self.write_stack(pid, tables.random, &req.random_bytes)?;
        let execfn = low + strings.env_end;
        let auxv: Vec<(u64, u64)> = auxv_profile
            .entries
            .iter()
            .map(|&(t, v)| {
                let v = match t {
                    at::SYSINFO_EHDR => vdso,
                    // The 32-bit vDSO's system-call entry (__kernel_vsyscall).
                    at::SYSINFO if space.native_32bit_kernel() => vdso + vdso::I386_LINUX_6_1_SYSINFO_OFFSET,
                    at::SYSINFO => vdso + vdso::VDSO32_SYSINFO_OFFSET,
                    at::PHDR => layout.phdr,
                    at::PHNUM => u64::from(prog.phnum),
                    at::BASE => interp_base,
                    at::ENTRY => layout.entry,
                    at::RANDOM => tables.random,
                    at::EXECFN => execfn,
                    at::PLATFORM => tables.platform.as_ref().map_or(0, |p| p.0),
                    at::BASE_PLATFORM => tables.base_platform.as_ref().map_or(0, |p| p.0),
                    _ => v,
                };
                (t, v)
            })
            .collect();
        let mut words = Vec::with_capacity((argc + envc + 3) as usize + 2 * auxv.len() + 2);
        words.push(argc);
        words.extend(strings.argv.iter().map(|o| low + o));
        words.push(0);
        words.extend(strings.envp.iter().map(|o| low + o));
        words.push(0);
        for &(t, v) in &auxv {
            words.push(t);
            words.push(v);
        }
        words.extend([at::NULL, 0]);
        let bytes: Vec<u8> = if space.is_32bit() {
            // elf_addr_t is 32 bits wide in a compat process: the values are truncated.
            words.iter().flat_map(|&w| (w as u32).to_le_bytes()).collect()
        } else {
            words.iter().flat_map(|w| w.to_le_bytes()).collect()
        };
        debug_assert_eq!(words.len() as u64, argc + envc + 3 + tables.auxv_words);
        self.write_stack(pid, tables.sp, &bytes)?;

        // The mm's bounds, then the program break.
        let mm = self.mm_mut(id);
        mm.start_code = layout.start_code;
        mm.end_code = layout.end_code;
        mm.start_data = layout.start_data;
        mm.end_data = layout.end_data;
        mm.start_stack = tables.sp;
        mm.arg_start = low;
        mm.arg_end = low + strings.arg_end;
        mm.env_start = low + strings.arg_end;
        mm.env_end = execfn;
        let mut elf_brk = layout.elf_brk;
        let mut brk_moved = false;
        if prog.kind == ElfKind::Dyn && interp.is_none() {
            // A loader's heap goes where PIE programs would be, away from the mmap area.
            elf_brk = space.elf_et_dyn_base;
            brk_moved = true;
        }
        let mut brk = page_ceil(elf_brk).unwrap_or(elf_brk);
        let mut brk_range = (brk, brk.saturating_add(1));
        if randomized {
            if !brk_moved {
                brk += PAGE_SIZE;
            }
            brk_range = (brk, brk.saturating_add(space.brk_rnd_range));
            if let Some(r) = rng.as_mut() {
                brk = r.randomize_page(brk, space.brk_rnd_range);
            }
        }
        let brk = place.start_brk.unwrap_or(brk);
        let mm = self.mm_mut(id);
        mm.start_brk = brk;
        mm.brk = brk;
        Ok(ExecInfo {
            entry,
            sp: tables.sp,
            load_bias: layout.load_bias,
            interp_base,
            auxv,
            randomized,
            legacy_layout: legacy,
            rlimit_stack,
            stack_top,
            start_brk: brk,
            brk_range,
            load_bias_range: layout.load_bias_range,
            space,
        })
    }

    /// Writes what exec puts on the new stack through the kernel copy path (the pages become
    /// resident and dirty).
    fn write_stack(&mut self, pid: Pid, addr: u64, bytes: &[u8]) -> SysResult<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        match self.copy_to_user(pid, addr, bytes) {
            Ok(n) if n == bytes.len() as u64 => Ok(()),
            _ => Err(Errno::EFAULT),
        }
    }
}
