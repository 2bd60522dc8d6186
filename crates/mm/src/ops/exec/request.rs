//! What a caller hands `execve`: the files, their parsed headers, the strings, and the facts
//! of the running kernel that shape the auxiliary vector.

use super::image::ElfImage;
use crate::file::FileId;

/// An executable file of the model together with its parsed headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecFile {
    /// The file in the model (its device and inode are what `maps` prints).
    pub file: FileId,
    /// Its ELF headers.
    pub image: ElfImage,
}

/// `AT_*` types of the auxiliary vector (include/uapi/linux/auxvec.h and asm/auxvec.h).
pub mod at {
    /// End of the vector.
    pub const NULL: u64 = 0;
    /// Program headers of the program.
    pub const PHDR: u64 = 3;
    /// Size of one program header.
    pub const PHENT: u64 = 4;
    /// Number of program headers.
    pub const PHNUM: u64 = 5;
    /// Page size.
    pub const PAGESZ: u64 = 6;
    /// Load address of the interpreter.
    pub const BASE: u64 = 7;
    /// Flags.
    pub const FLAGS: u64 = 8;
    /// Entry point of the program.
    pub const ENTRY: u64 = 9;
    /// Real uid.
    pub const UID: u64 = 11;
    /// Effective uid.
    pub const EUID: u64 = 12;
    /// Real gid.
    pub const GID: u64 = 13;
    /// Effective gid.
    pub const EGID: u64 = 14;
    /// Address of the platform string.
    pub const PLATFORM: u64 = 15;
    /// CPU capabilities.
    pub const HWCAP: u64 = 16;
    /// Clock ticks per second.
    pub const CLKTCK: u64 = 17;
    /// Secure mode (setuid and the like).
    pub const SECURE: u64 = 23;
    /// Address of the base platform string.
    pub const BASE_PLATFORM: u64 = 24;
    /// Address of the 16 random bytes.
    pub const RANDOM: u64 = 25;
    /// More CPU capabilities.
    pub const HWCAP2: u64 = 26;
    /// Size of the rseq area the kernel supports.
    pub const RSEQ_FEATURE_SIZE: u64 = 27;
    /// Alignment of the rseq area.
    pub const RSEQ_ALIGN: u64 = 28;
    /// Address of the file name passed to execve.
    pub const EXECFN: u64 = 31;
    /// Entry point of the 32-bit vDSO's system-call routine (ia32 only).
    pub const SYSINFO: u64 = 32;
    /// Address of the vDSO's ELF header.
    pub const SYSINFO_EHDR: u64 = 33;
    /// Minimal signal stack size.
    pub const MINSIGSTKSZ: u64 = 51;
}

/// The auxiliary vector a kernel emits, as a template: the entry types in the kernel's order
/// with the values that do not depend on the exec (hardware capabilities, credentials, clock
/// ticks). The values of the per-exec types — AT_SYSINFO_EHDR, AT_PHDR, AT_PHNUM, AT_BASE,
/// AT_ENTRY, AT_RANDOM, AT_EXECFN, AT_PLATFORM, AT_BASE_PLATFORM — are ignored and computed
/// by `execve`. The number of entries decides how much stack the vector takes, so the
/// template should be measured from the kernel being modelled (`/proc/self/auxv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuxvProfile {
    /// (type, value) pairs without the terminating AT_NULL.
    pub entries: Vec<(u64, u64)>,
    /// The platform string (ELF_PLATFORM, "x86_64"); written on the stack when the template
    /// has AT_PLATFORM.
    pub platform: Vec<u8>,
    /// The base platform string, for AT_BASE_PLATFORM (x86 has none).
    pub base_platform: Vec<u8>,
}

impl Default for AuxvProfile {
    /// The vector of Linux 6.18 on the x86-64 machine the facts were measured on, for a
    /// process run by root.
    fn default() -> Self {
        AuxvProfile {
            entries: vec![
                (at::SYSINFO_EHDR, 0),
                (at::MINSIGSTKSZ, 0xd30),
                (at::HWCAP, 0x178b_fbff),
                (at::PAGESZ, 4096),
                (at::CLKTCK, 100),
                (at::PHDR, 0),
                (at::PHENT, 56),
                (at::PHNUM, 0),
                (at::BASE, 0),
                (at::FLAGS, 0),
                (at::ENTRY, 0),
                (at::UID, 0),
                (at::EUID, 0),
                (at::GID, 0),
                (at::EGID, 0),
                (at::SECURE, 0),
                (at::RANDOM, 0),
                (at::HWCAP2, 2),
                (at::EXECFN, 0),
                (at::PLATFORM, 0),
                (at::RSEQ_FEATURE_SIZE, 0x1c),
                (at::RSEQ_ALIGN, 0x20),
            ],
            platform: b"x86_64".to_vec(),
            base_platform: Vec::new(),
        }
    }
}

impl AuxvProfile {
    /// The vector the same kernel gives a 32-bit (ia32 compat) program, derived from this
    /// 64-bit one as Linux derives it: AT_SYSINFO (the 32-bit vDSO's entry) before
    /// AT_SYSINFO_EHDR (ARCH_DLINFO_IA32), 32-byte program headers (AT_PHENT), and the
    /// platform string "i686"; the capabilities, credentials and the rest are the same.
    pub fn ia32(&self) -> AuxvProfile {
        let mut entries = Vec::with_capacity(self.entries.len() + 1);
        for &(t, v) in &self.entries {
            match t {
                at::SYSINFO => continue,
                at::SYSINFO_EHDR => entries.extend([(at::SYSINFO, 0), (t, v)]),
                at::PHENT => entries.push((t, 32)),
                _ => entries.push((t, v)),
            }
        }
        AuxvProfile { entries, platform: b"i686".to_vec(), base_platform: self.base_platform.clone() }
    }
}

/// An `execve(filename, argv, envp)` as the model runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecRequest {
    /// The path string execve was given (`bprm->filename`): copied to the top of the stack,
    /// pointed to by AT_EXECFN, and the source of the new command name.
    pub filename: String,
    /// The program.
    pub program: ExecFile,
    /// The interpreter named by the program's PT_INTERP, already looked up by the caller.
    pub interp: Option<ExecFile>,
    /// Argument strings (a NUL ends a string early, as in C).
    pub argv: Vec<Vec<u8>>,
    /// Environment strings.
    pub envp: Vec<Vec<u8>>,
    /// The auxiliary-vector template of the modelled kernel.
    pub auxv: AuxvProfile,
    /// The 16 bytes AT_RANDOM points to.
    pub random_bytes: [u8; 16],
    /// `None` for a process without address-space randomization (`setarch -R`, or
    /// `randomize_va_space` 0); `Some(seed)` randomizes as `randomize_va_space` 2 does, with
    /// random numbers drawn from `seed`.
    pub aslr: Option<u64>,
    /// Randomized parts of the layout the caller already knows (a replay that learned them
    /// from a trace); each one given replaces Linux's draw.
    pub placement: ExecPlacement,
}

/// Where a randomized exec puts things, for a caller that knows: each value replaces the
/// random draw (or, without randomization, the fixed value) Linux would use. Values that
/// Linux could not have drawn are taken as given; [`ExecInfo`] reports the ranges Linux
/// draws from, so the caller can tell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecPlacement {
    /// Lay out as `randomize_va_space` 2 does (the mmap gap padded for stack
    /// randomization, a page between bss and brk) even without a seed; draws not given
    /// below are then 0.
    pub randomized: bool,
    /// arch_mmap_rnd's draw for the mmap area: mmap_base = the unrandomized base less it,
    /// the legacy base = TASK_UNMAPPED_BASE plus it.
    pub mmap_rnd: Option<u64>,
    /// The stack's final top (page-aligned), after randomize_stack_top and arch_align_stack.
    pub stack_top: Option<u64>,
    /// A PIE program's load bias.
    pub load_bias: Option<u64>,
    /// The start of the program break.
    pub start_brk: Option<u64>,
}

impl ExecRequest {
    /// Returns a request to run `program` as `filename` with `argv = [filename]`, no
    /// environment, this machine's auxiliary vector, and no randomization.
    pub fn new(filename: &str, program: ExecFile) -> Self {
        ExecRequest {
            filename: filename.to_string(),
            program,
            interp: None,
            argv: vec![filename.as_bytes().to_vec()],
            envp: Vec::new(),
            auxv: AuxvProfile::default(),
            random_bytes: [0; 16],
            aslr: None,
            placement: ExecPlacement::default(),
        }
    }

    /// Replaces the argument strings.
    pub fn args<I, S>(mut self, argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        self.argv = argv.into_iter().map(|s| s.as_ref().to_vec()).collect();
        self
    }

    /// Replaces the environment strings.
    pub fn env<I, S>(mut self, envp: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        self.envp = envp.into_iter().map(|s| s.as_ref().to_vec()).collect();
        self
    }

    /// Sets the interpreter.
    pub fn interp(mut self, interp: ExecFile) -> Self {
        self.interp = Some(interp);
        self
    }
}

/// What `execve` reports about the new image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecInfo {
    /// Where the task starts: the interpreter's entry point if there is one, else the
    /// program's.
    pub entry: u64,
    /// The initial stack pointer (it points at argc).
    pub sp: u64,
    /// The program's load bias (0 for ET_EXEC).
    pub load_bias: u64,
    /// The interpreter's load address (AT_BASE; 0 without one).
    pub interp_base: u64,
    /// The auxiliary vector written on the stack, without AT_NULL.
    pub auxv: Vec<(u64, u64)>,
    /// Whether the layout was randomized.
    pub randomized: bool,
    /// Whether unplaced mappings go bottom-up (the legacy layout).
    pub legacy_layout: bool,
    /// The stack limit the layout was computed for.
    pub rlimit_stack: u64,
    /// The stack's top.
    pub stack_top: u64,
    /// The start of the program break, and the range `[low, high)` Linux draws it from
    /// (one value when not randomized).
    pub start_brk: u64,
    /// See `start_brk`.
    pub brk_range: (u64, u64),
    /// The range a PIE's load bias is drawn from, for a PIE with an interpreter.
    pub load_bias_range: Option<(u64, u64)>,
    /// The shape of the new address space (64-bit or ia32 compat).
    pub space: crate::space::UserSpace,
}
