//! Constants of the x86-64 (4-level paging) address-space layout and small page arithmetic.

pub use abi::{PAGE_MASK, PAGE_SHIFT, PAGE_SIZE};

/// Top of the user address space with 4-level paging: 2^47 minus the last page, which Linux
/// keeps unmapped because of the SYSRET erratum.
pub const TASK_SIZE: u64 = 0x7fff_ffff_f000;
/// Entries in one page table at every level.
pub const PTRS_PER_TABLE: usize = 512;
/// Bytes mapped by one PTE table.
pub const PMD_SIZE: u64 = 1 << 21;
/// Bytes mapped by one PMD table.
pub const PUD_SIZE: u64 = 1 << 30;
/// Bytes mapped by one PUD table.
pub const PGDIR_SIZE: u64 = 1 << 39;
/// The `[vsyscall]` page, a gate area outside the VMA tree.
pub const VSYSCALL_ADDR: u64 = 0xffff_ffff_ff60_0000;
/// Where the bottom-up (legacy) mmap area starts before randomization: TASK_SIZE / 3,
/// page-aligned up.
pub const TASK_UNMAPPED_BASE: u64 = (TASK_SIZE / 3 + PAGE_SIZE - 1) & PAGE_MASK;
/// Where a PIE executable is loaded with ASLR off (2/3 of the 47-bit window, page-floored).
pub const ELF_ET_DYN_BASE: u64 = 0x5555_5555_4000;

/// The largest error code a system call returns; a return value in `[-MAX_ERRNO, -1]` is an
/// error (IS_ERR_VALUE).
pub const MAX_ERRNO: u64 = 4095;

/// Returns whether a raw return value `x` is an error code (IS_ERR_VALUE).
pub const fn is_err_value(x: u64) -> bool {
    x > u64::MAX - MAX_ERRNO
}

/// Rounds `x` down to a page boundary.
pub const fn page_floor(x: u64) -> u64 {
    x & PAGE_MASK
}

/// Rounds `x` up to a page boundary, or `None` if that overflows.
pub const fn page_ceil(x: u64) -> Option<u64> {
    match x.checked_add(PAGE_SIZE - 1) {
        Some(v) => Some(v & PAGE_MASK),
        None => None,
    }
}

/// Returns whether `x` is page-aligned.
pub const fn is_page_aligned(x: u64) -> bool {
    x & (PAGE_SIZE - 1) == 0
}

/// Number of pages in `len` bytes (`len` page-aligned).
pub const fn pages(len: u64) -> u64 {
    len >> PAGE_SHIFT
}
