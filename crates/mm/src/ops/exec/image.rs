//! The exec description of one ELF file: what `load_elf_binary` takes from its headers.
//!
//! [`ElfImage`] is plain data; the `loader` crate fills it from a file's bytes, and tests or
//! scenarios may build one by hand. Addresses are the file's own (`p_vaddr`): a
//! position-independent image is relocated by the load bias `execve` chooses.

use crate::layout::*;

/// The ELF file type (`e_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfKind {
    /// `ET_EXEC`: loaded at its link addresses.
    Exec,
    /// `ET_DYN`: a PIE program, a static-pie program, or a dynamic loader.
    Dyn,
    /// Any other type. A program of this type is refused before exec starts (ENOEXEC); an
    /// interpreter of this type is only refused once the old address space is gone, so the
    /// exec is fatal.
    Other(u16),
}

/// The instruction set an ELF file is for (`e_machine`, with the matching `EI_CLASS`
/// header layout).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Machine {
    /// `EM_X86_64`, 64-bit headers: a 64-bit process.
    #[default]
    X86_64,
    /// `EM_386`, 32-bit headers: on the x86-64 kernel, an ia32 compat process.
    I386,
}

/// What the program asks for its stack (PT_GNU_STACK).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StackExec {
    /// No PT_GNU_STACK: the architecture's default, a non-executable stack on x86-64.
    #[default]
    Default,
    /// PT_GNU_STACK with PF_X: an executable stack.
    Enable,
    /// PT_GNU_STACK without PF_X.
    Disable,
}

/// One PT_LOAD program header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadSegment {
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_memsz`: the bytes past `filesz` are the zero-filled bss.
    pub memsz: u64,
    /// `p_filesz`.
    pub filesz: u64,
    /// `p_offset`.
    pub offset: u64,
    /// PROT_READ/WRITE/EXEC from `p_flags` (PF_R/PF_W/PF_X).
    pub prot: u64,
    /// `p_align`.
    pub align: u64,
}

/// An ELF executable or interpreter, as `execve` needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfImage {
    /// `e_type`.
    pub kind: ElfKind,
    /// `e_machine`: which kind of process the program becomes.
    pub machine: Machine,
    /// `e_entry`.
    pub entry: u64,
    /// `e_phoff`: where the program headers are in the file (for AT_PHDR).
    pub phoff: u64,
    /// `e_phnum` (AT_PHNUM).
    pub phnum: u16,
    /// The PT_LOAD headers in program-header order (the order the kernel maps them in).
    pub segments: Vec<LoadSegment>,
    /// The path in the first PT_INTERP, without its NUL.
    pub interp: Option<String>,
    /// PT_GNU_STACK (the last one wins, as in the kernel).
    pub stack: StackExec,
    /// PT_GNU_RELRO as (p_vaddr, p_memsz). The kernel ignores it; the dynamic loader
    /// mprotects that range read-only after relocating, which is where the extra `r--p`
    /// VMA of a dynamically linked program comes from.
    pub relro: Option<(u64, u64)>,
}

impl ElfImage {
    /// Returns the span from the first PT_LOAD page to the end of the highest segment
    /// (total_mapping_size), or 0 without PT_LOAD.
    pub fn total_mapping_size(&self) -> u64 {
        let lo = self.segments.iter().map(|s| page_floor(s.vaddr)).min();
        let hi = self.segments.iter().map(|s| s.vaddr.wrapping_add(s.memsz)).max();
        match (lo, hi) {
            (Some(lo), Some(hi)) => hi.wrapping_sub(lo),
            _ => 0,
        }
    }

    /// Returns the largest power-of-two `p_align` of the PT_LOAD headers, page-aligned up
    /// (maximum_alignment); 0 when no segment has one.
    pub fn max_align(&self) -> u64 {
        let a = self.segments.iter().map(|s| s.align).filter(|a| a.is_power_of_two()).max().unwrap_or(0);
        page_ceil(a).unwrap_or(0)
    }
}
