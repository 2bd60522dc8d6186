//! `personality(2)` flags (`linux/personality.h`) that change how exec lays out memory.

/// No randomization of the address space (`setarch -R`).
pub const ADDR_NO_RANDOMIZE: u32 = 0x0004_0000;
/// The legacy bottom-up mmap layout (`setarch -L`).
pub const ADDR_COMPAT_LAYOUT: u32 = 0x0020_0000;
/// PROT_READ implies PROT_EXEC.
pub const READ_IMPLIES_EXEC: u32 = 0x0040_0000;
/// Map page 0 read-only.
pub const MMAP_PAGE_ZERO: u32 = 0x0010_0000;
/// Addresses limited to 32 bits.
pub const ADDR_LIMIT_32BIT: u32 = 0x0080_0000;
/// Addresses limited to 3 GiB.
pub const ADDR_LIMIT_3GB: u32 = 0x0800_0000;
/// Short inode numbers.
pub const SHORT_INODE: u32 = 0x0100_0000;
/// Whole seconds in time values.
pub const WHOLE_SECONDS: u32 = 0x0200_0000;
/// Sticky timeouts.
pub const STICKY_TIMEOUTS: u32 = 0x0400_0000;
/// Uname reports 2.6.x.
pub const UNAME26: u32 = 0x0002_0000;
/// FDPIC function pointers.
pub const FDPIC_FUNCPTRS: u32 = 0x0008_0000;

/// The names strace prints for the flag bits, for parsing `personality(PER_LINUX|...)`.
pub const PERSONALITY_NAMES: &[(&str, u64)] = &[
    ("PER_LINUX", 0),
    ("PER_LINUX32", 0x0008),
    ("UNAME26", UNAME26 as u64),
    ("ADDR_NO_RANDOMIZE", ADDR_NO_RANDOMIZE as u64),
    ("FDPIC_FUNCPTRS", FDPIC_FUNCPTRS as u64),
    ("MMAP_PAGE_ZERO", MMAP_PAGE_ZERO as u64),
    ("ADDR_COMPAT_LAYOUT", ADDR_COMPAT_LAYOUT as u64),
    ("READ_IMPLIES_EXEC", READ_IMPLIES_EXEC as u64),
    ("ADDR_LIMIT_32BIT", ADDR_LIMIT_32BIT as u64),
    ("SHORT_INODE", SHORT_INODE as u64),
    ("WHOLE_SECONDS", WHOLE_SECONDS as u64),
    ("STICKY_TIMEOUTS", STICKY_TIMEOUTS as u64),
    ("ADDR_LIMIT_3GB", ADDR_LIMIT_3GB as u64),
];
