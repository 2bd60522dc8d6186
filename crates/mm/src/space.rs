//! `UserSpace`: the shape of one address space — how far user addresses go and where exec
//! puts things — as the personality of the program that made it decides.
//!
//! On an x86-64 kernel an address space is either a 64-bit one (`TASK_SIZE` 2^47 − 4 KiB,
//! with the `[vsyscall]` gate page) or an ia32 compat one, made by exec of a 32-bit
//! (`ELFCLASS32`, `EM_386`) program: `TASK_SIZE` `0xffffe000`, or `0xc0000000` under the
//! `ADDR_LIMIT_3GB` personality (`setarch -3`), its own randomization ranges, 4-byte words
//! on the initial stack, no vsyscall page, no THP alignment of unplaced mappings. Each
//! [`crate::Mm`] carries its `UserSpace`; every check Linux makes against `TASK_SIZE`, and
//! every placement rule of exec and mmap, reads it from there.
//!
//! The numbers were measured on Linux 6.18 x86-64 with `gcc -m32` programs (maps under
//! `setarch -R`, `-L`, `-3`, `ulimit -s`); the host differential tests ask the kernel again.
//!
//! Reference: <https://elixir.bootlin.com/linux/v6.18/source/arch/x86/mm/mmap.c>

use crate::layout::{PAGE_MASK, PAGE_SIZE, TASK_SIZE};

/// Which system-call personality an address space runs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Abi {
    /// A 64-bit (x86-64) process.
    X86_64,
    /// A 32-bit process on the 64-bit kernel (ia32 compat: `gcc -m32` programs).
    Ia32Compat,
    /// A process of the native i386 kernel (`set arch i386` or `i386-pae`): the 3G/1G split.
    I386,
}

/// The layout constants of one address space.
///
/// # Invariants
/// `task_size` and every base are page-aligned; `unmapped_base < task_size`;
/// `elf_et_dyn_base < task_size`; `word_size` is 4 or 8.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UserSpace {
    /// The personality.
    pub abi: Abi,
    /// The top of user space (`TASK_SIZE`, `mm->task_size`): nothing is mapped at or above
    /// it, and every range check of the system calls is made against it.
    pub task_size: u64,
    /// Where the stack ends before randomization (`STACK_TOP`).
    pub stack_top: u64,
    /// Where the bottom-up (legacy) mmap area starts before randomization
    /// (`TASK_UNMAPPED_BASE`, a third of `task_size` rounded up to a page).
    pub unmapped_base: u64,
    /// Where a PIE program with an interpreter is loaded before randomization and alignment
    /// (`ELF_ET_DYN_BASE`, or `COMPAT_ELF_ET_DYN_BASE` for 32-bit programs), and where the
    /// heap of a program without interpreter moves to.
    pub elf_et_dyn_base: u64,
    /// Bits of page-granular randomization of the mmap area and a PIE's load bias
    /// (`mmap_rnd_bits`, or `mmap_rnd_compat_bits`).
    pub mmap_rnd_bits: u32,
    /// Mask of the stack top's randomization, in pages (`STACK_RND_MASK`).
    pub stack_rnd_mask: u64,
    /// How far above the bss `arch_randomize_brk` may move the heap.
    pub brk_rnd_range: u64,
    /// Bytes per word of the initial stack's pointers and auxiliary vector.
    pub word_size: u64,
    /// Whether `[vsyscall]` exists for this address space (shown last in maps).
    pub vsyscall: bool,
    /// Whether unplaced file and large anonymous mappings are 2 MiB-aligned for THP (Linux
    /// skips it in compat system calls).
    pub thp_align: bool,
    /// Whether a VMA that only touches the heap's bounds (ending at `start_brk`, as the rest
    /// of a static program's bss does) is named `[heap]` too: Linux 6.1, the native i386
    /// oracle, compares with `<=`/`>=`; 6.6 and later (the host) only name VMAs that overlap.
    pub heap_name_touching: bool,
}

/// `PAGE_ALIGN(task_size / 3)` (`__TASK_UNMAPPED_BASE`).
const fn unmapped_base(task_size: u64) -> u64 {
    (task_size / 3 + PAGE_SIZE - 1) & PAGE_MASK
}

/// The compat `TASK_SIZE` (`IA32_PAGE_OFFSET`): all of 4 GiB but the last two pages.
pub const IA32_TASK_SIZE: u64 = 0xffff_e000;
/// The compat `TASK_SIZE` under the `ADDR_LIMIT_3GB` personality.
pub const IA32_TASK_SIZE_3GB: u64 = 0xc000_0000;
/// The native i386 kernel's `TASK_SIZE`, equal to its `PAGE_OFFSET` (the 3G/1G split).
pub const I386_TASK_SIZE: u64 = 0xc000_0000;
/// The native i386 `ELF_ET_DYN_BASE`: a 32-bit kernel loads a PIE with an interpreter at
/// 4 MiB (`mmap_is_ia32()` is always true there), not two thirds of the way up.
pub const I386_ELF_ET_DYN_BASE: u64 = 0x40_0000;

impl UserSpace {
    /// A 64-bit process's address space (4-level paging).
    pub const fn x86_64() -> Self {
        UserSpace {
            abi: Abi::X86_64,
            task_size: TASK_SIZE,
            stack_top: TASK_SIZE,
            unmapped_base: unmapped_base(TASK_SIZE),
            // Two thirds of the 47-bit window.
            elf_et_dyn_base: TASK_SIZE / 3 * 2,
            mmap_rnd_bits: 28,
            stack_rnd_mask: 0x3f_ffff,
            brk_rnd_range: 1 << 30,
            word_size: 8,
            vsyscall: true,
            thp_align: true,
            heap_name_touching: false,
        }
    }

    /// A 32-bit process's address space on the 64-bit kernel, for the personality `persona`
    /// the exec runs with (`ADDR_LIMIT_3GB` shrinks it to 3 GiB).
    pub const fn ia32_compat(persona: u32) -> Self {
        let task_size = if persona & abi::ADDR_LIMIT_3GB != 0 { IA32_TASK_SIZE_3GB } else { IA32_TASK_SIZE };
        let base = unmapped_base(task_size);
        UserSpace {
            abi: Abi::Ia32Compat,
            task_size,
            stack_top: task_size,
            unmapped_base: base,
            // COMPAT_ELF_ET_DYN_BASE: 16 MiB above the legacy base (0x56555000).
            elf_et_dyn_base: base + 0x100_0000,
            mmap_rnd_bits: 8,
            stack_rnd_mask: 0x7ff,
            brk_rnd_range: 32 << 20,
            word_size: 4,
            vsyscall: false,
            thp_align: false,
            heap_name_touching: false,
        }
    }

    /// A process's address space on the native i386 kernel (with or without PAE: the user
    /// layout is the same). User space ends at `PAGE_OFFSET` 0xc0000000, where the kernel's
    /// direct map starts; the stack ends there too (`STACK_TOP` = `TASK_SIZE`), the mmap area
    /// starts 128 MiB below it (0xb8000000 with an 8 MiB stack limit), the legacy one at
    /// 1 GiB. The randomization ranges are those of 32-bit x86 (`mmap_rnd_bits` 8, stack mask
    /// 0x7ff pages, 32 MiB of brk, like the compat space's). Linux 6.1 aligns no unplaced
    /// anonymous mapping, and a 32-bit kernel's THP alignment of files does not apply without
    /// huge pages in the page cache: no THP alignment either. Measured on Debian's 6.1 686
    /// and 686-pae kernels under QEMU (tests/golden/i386).
    pub const fn i386_native() -> Self {
        UserSpace {
            abi: Abi::I386,
            task_size: I386_TASK_SIZE,
            stack_top: I386_TASK_SIZE,
            unmapped_base: unmapped_base(I386_TASK_SIZE),
            elf_et_dyn_base: I386_ELF_ET_DYN_BASE,
            heap_name_touching: true,
            ..Self::ia32_compat(0)
        }
    }

    /// Whether this address space belongs to a native 32-bit kernel, whose `unsigned long`
    /// (and so every field `/proc` sizes by `sizeof(void *)`) is 4 bytes wide.
    pub fn native_32bit_kernel(&self) -> bool {
        self.abi == Abi::I386
    }

    /// Whether this is a 32-bit address space.
    pub fn is_32bit(&self) -> bool {
        self.word_size == 4
    }

    /// The range of `arch_mmap_rnd`'s draw: how far ASLR moves the mmap area and a PIE.
    pub fn mmap_rnd_range(&self) -> u64 {
        1 << (self.mmap_rnd_bits + crate::layout::PAGE_SHIFT)
    }

    /// The room Linux keeps for stack randomization when it sizes the mmap gap
    /// (`stack_maxrandom_size`), and the most `randomize_stack_top` lowers the stack.
    pub fn stack_max_random(&self) -> u64 {
        self.stack_rnd_mask << crate::layout::PAGE_SHIFT
    }

    /// The mmap_base `arch_pick_mmap_layout` computes: below the stack limit, the stack's
    /// randomization range (with ASLR) and the guard gap, clamped to [128 MiB, 5/6 of the
    /// address space], less the random offset `rnd`.
    pub fn mmap_base(&self, rlimit_stack: u64, guard_gap: u64, randomized: bool, rnd: u64) -> u64 {
        let pad = guard_gap + if randomized { self.stack_max_random() } else { 0 };
        let mut gap = rlimit_stack;
        // Limits close to RLIM_INFINITY would overflow: then the pad is left out.
        if let Some(g) = gap.checked_add(pad) {
            gap = g;
        }
        let gap = gap.clamp(128 << 20, self.task_size / 6 * 5);
        crate::layout::page_ceil(self.task_size - gap - rnd.min(self.task_size - gap)).unwrap_or(self.task_size)
    }
}

impl Default for UserSpace {
    fn default() -> Self {
        UserSpace::x86_64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compat_bases_are_those_measured() {
        let s = UserSpace::ia32_compat(0);
        assert_eq!(s.unmapped_base, 0x5555_5000);
        assert_eq!(s.elf_et_dyn_base, 0x5655_5000);
        // Default 8 MiB stack: the gap is clamped to 128 MiB.
        assert_eq!(s.mmap_base(8 << 20, 1 << 20, false, 0), 0xf7ff_e000);
        // An unlimited stack stays top-down, at the 5/6 clamp.
        assert_eq!(s.mmap_base(u64::MAX, 1 << 20, false, 0), 0x2aaa_b000);
        assert_eq!(s.mmap_base(1000 << 20, 1 << 20, false, 0), 0xc16f_e000);
        let s3 = UserSpace::ia32_compat(abi::ADDR_LIMIT_3GB);
        assert_eq!((s3.unmapped_base, s3.mmap_base(8 << 20, 1 << 20, false, 0)), (0x4000_0000, 0xb800_0000));
    }

    #[test]
    fn the_native_i386_bases_are_those_the_oracle_printed() {
        let s = UserSpace::i386_native();
        // tests/golden/i386/*/exam.txt: the vDSO (4 + 2 pages) ends at 0xb8000000.
        assert_eq!(s.mmap_base(8 << 20, 1 << 20, false, 0), 0xb800_0000);
        assert_eq!(s.unmapped_base, 0x4000_0000);
        assert!(s.native_32bit_kernel() && s.is_32bit() && !s.vsyscall);
    }

    #[test]
    fn the_64_bit_space_keeps_its_constants() {
        let s = UserSpace::x86_64();
        assert_eq!(s.unmapped_base, crate::layout::TASK_UNMAPPED_BASE);
        assert_eq!(s.elf_et_dyn_base, 0x5555_5555_4aaa);
        assert_eq!(s.mmap_base(8 << 20, 1 << 20, false, 0), 0x7fff_f7ff_f000);
    }
}
