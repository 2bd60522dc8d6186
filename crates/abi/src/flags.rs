//! Flag and command constants of the memory system calls (`asm-generic/mman-common.h`,
//! `linux/mman.h`, `asm/mman.h`), with tables that spell them.

macro_rules! consts {
    ($table:ident, $ty:ty, $doc:expr, { $($name:ident = $val:expr,)* }) => {
        $(#[allow(missing_docs)] pub const $name: $ty = $val;)*
        #[doc = $doc]
        pub const $table: &[(&str, $ty)] = &[$((stringify!($name), $val),)*];
    };
}

consts!(PROT_NAMES, u64, "Names of the `prot` bits.", {
    PROT_NONE = 0x0,
    PROT_READ = 0x1,
    PROT_WRITE = 0x2,
    PROT_EXEC = 0x4,
    PROT_SEM = 0x8,
    PROT_GROWSDOWN = 0x0100_0000,
    PROT_GROWSUP = 0x0200_0000,
});

consts!(MAP_NAMES, u64, "Names of the `mmap` flags (the type first, then modifiers).", {
    MAP_FILE = 0x00,
    MAP_SHARED = 0x01,
    MAP_PRIVATE = 0x02,
    MAP_SHARED_VALIDATE = 0x03,
    MAP_DROPPABLE = 0x08,
    MAP_TYPE = 0x0f,
    MAP_FIXED = 0x10,
    MAP_ANONYMOUS = 0x20,
    MAP_32BIT = 0x40,
    MAP_ABOVE4G = 0x80,
    MAP_GROWSDOWN = 0x0100,
    MAP_DENYWRITE = 0x0800,
    MAP_EXECUTABLE = 0x1000,
    MAP_LOCKED = 0x2000,
    MAP_NORESERVE = 0x4000,
    MAP_POPULATE = 0x8000,
    MAP_NONBLOCK = 0x1_0000,
    MAP_STACK = 0x2_0000,
    MAP_HUGETLB = 0x4_0000,
    MAP_SYNC = 0x8_0000,
    MAP_FIXED_NOREPLACE = 0x10_0000,
    MAP_UNINITIALIZED = 0x400_0000,
});

/// Where the log2 of a MAP_HUGETLB page size goes in the `mmap` flags.
pub const MAP_HUGE_SHIFT: u64 = 26;
/// The mask of that field (after the shift).
pub const MAP_HUGE_MASK: u64 = 0x3f;

/// `MAP_ANON`, the BSD spelling of [`MAP_ANONYMOUS`].
pub const MAP_ANON: u64 = MAP_ANONYMOUS;
/// The value `mmap` returns on failure, as a C program sees it.
pub const MAP_FAILED: u64 = u64::MAX;
/// The flags plain MAP_SHARED and MAP_PRIVATE keep (Linux `LEGACY_MAP_MASK`); others are
/// dropped silently, while MAP_SHARED_VALIDATE rejects them.
pub const LEGACY_MAP_MASK: u64 = MAP_SHARED
    | MAP_PRIVATE
    | MAP_FIXED
    | MAP_ANONYMOUS
    | MAP_DENYWRITE
    | MAP_EXECUTABLE
    | MAP_UNINITIALIZED
    | MAP_GROWSDOWN
    | MAP_LOCKED
    | MAP_NORESERVE
    | MAP_POPULATE
    | MAP_NONBLOCK
    | MAP_STACK
    | MAP_HUGETLB
    | MAP_32BIT
    | MAP_HUGE_MASK_BITS;
/// The flags `MAP_SHARED_VALIDATE` accepts (`LEGACY_MAP_MASK` plus the validated ones).
pub const MAP_VALIDATE_MASK: u64 = LEGACY_MAP_MASK | MAP_ABOVE4G | MAP_SYNC | MAP_FIXED_NOREPLACE;
const MAP_HUGE_MASK_BITS: u64 = 0x3f << 26;

consts!(MREMAP_NAMES, u64, "Names of the `mremap` flags.", {
    MREMAP_MAYMOVE = 1,
    MREMAP_FIXED = 2,
    MREMAP_DONTUNMAP = 4,
});

consts!(MADV_NAMES, u64, "Names of the `madvise` advice values.", {
    MADV_NORMAL = 0,
    MADV_RANDOM = 1,
    MADV_SEQUENTIAL = 2,
    MADV_WILLNEED = 3,
    MADV_DONTNEED = 4,
    MADV_FREE = 8,
    MADV_REMOVE = 9,
    MADV_DONTFORK = 10,
    MADV_DOFORK = 11,
    MADV_MERGEABLE = 12,
    MADV_UNMERGEABLE = 13,
    MADV_HUGEPAGE = 14,
    MADV_NOHUGEPAGE = 15,
    MADV_DONTDUMP = 16,
    MADV_DODUMP = 17,
    MADV_WIPEONFORK = 18,
    MADV_KEEPONFORK = 19,
    MADV_COLD = 20,
    MADV_PAGEOUT = 21,
    MADV_POPULATE_READ = 22,
    MADV_POPULATE_WRITE = 23,
    MADV_DONTNEED_LOCKED = 24,
    MADV_COLLAPSE = 25,
    MADV_HWPOISON = 100,
    MADV_SOFT_OFFLINE = 101,
    MADV_GUARD_INSTALL = 102,
    MADV_GUARD_REMOVE = 103,
});

consts!(MS_NAMES, u64, "Names of the `msync` flags.", {
    MS_ASYNC = 1,
    MS_INVALIDATE = 2,
    MS_SYNC = 4,
});

consts!(MCL_NAMES, u64, "Names of the `mlockall` flags.", {
    MCL_CURRENT = 1,
    MCL_FUTURE = 2,
    MCL_ONFAULT = 4,
});

consts!(MLOCK_NAMES, u64, "Names of the `mlock2` flags.", {
    MLOCK_ONFAULT = 1,
});

consts!(O_NAMES, u64, "Names of the `open` flags.", {
    O_RDONLY = 0,
    O_WRONLY = 1,
    O_RDWR = 2,
    O_ACCMODE = 3,
    O_CREAT = 0o100,
    O_EXCL = 0o200,
    O_NOCTTY = 0o400,
    O_TRUNC = 0o1000,
    O_APPEND = 0o2000,
    O_NONBLOCK = 0o4000,
    O_DSYNC = 0o10000,
    O_DIRECT = 0o40000,
    O_LARGEFILE = 0o100000,
    O_DIRECTORY = 0o200000,
    O_NOFOLLOW = 0o400000,
    O_NOATIME = 0o1000000,
    O_CLOEXEC = 0o2000000,
    O_PATH = 0o10000000,
    O_TMPFILE = 0o20200000,
});

consts!(MFD_NAMES, u64, "Names of the `memfd_create` flags.", {
    MFD_CLOEXEC = 1,
    MFD_ALLOW_SEALING = 2,
    MFD_HUGETLB = 4,
    MFD_NOEXEC_SEAL = 8,
    MFD_EXEC = 0x10,
});

consts!(IPC_KEY_NAMES, u64, "The one named SysV IPC key.", {
    IPC_PRIVATE = 0,
});

consts!(SHMGET_NAMES, u64, "Names of the `shmget` flags (the low nine bits are the mode).", {
    IPC_CREAT = 0o1000,
    IPC_EXCL = 0o2000,
    SHM_HUGETLB = 0o4000,
    SHM_NORESERVE = 0o10000,
});

consts!(SHMAT_NAMES, u64, "Names of the `shmat` flags.", {
    SHM_RDONLY = 0o10000,
    SHM_RND = 0o20000,
    SHM_REMAP = 0o40000,
    SHM_EXEC = 0o100000,
});

consts!(SHMCTL_NAMES, u64, "Names of the `shmctl` commands.", {
    IPC_RMID = 0,
    IPC_SET = 1,
    IPC_STAT = 2,
    IPC_INFO = 3,
    SHM_LOCK = 11,
    SHM_UNLOCK = 12,
    SHM_STAT = 13,
    SHM_INFO = 14,
    SHM_STAT_ANY = 15,
});

/// The bit of a `shmctl` command that asks for the 64-bit structure layouts (strace shows
/// it as `IPC_64|` in 32-bit processes' calls).
pub const IPC_64: u64 = 0x100;

consts!(POSIX_FADV_NAMES, u64, "Names of the `fadvise64` advice values.", {
    POSIX_FADV_NORMAL = 0,
    POSIX_FADV_RANDOM = 1,
    POSIX_FADV_SEQUENTIAL = 2,
    POSIX_FADV_WILLNEED = 3,
    POSIX_FADV_DONTNEED = 4,
    POSIX_FADV_NOREUSE = 5,
});

/// Every table above, for looking a name up without knowing which call it belongs to.
pub const ALL_NAMES: &[&[(&str, u64)]] = &[
    PROT_NAMES,
    MAP_NAMES,
    MREMAP_NAMES,
    MADV_NAMES,
    MS_NAMES,
    MCL_NAMES,
    MLOCK_NAMES,
    O_NAMES,
    MFD_NAMES,
    IPC_KEY_NAMES,
    SHMGET_NAMES,
    SHMAT_NAMES,
    SHMCTL_NAMES,
    POSIX_FADV_NAMES,
];

/// Returns the value of the constant called `name` in any table (`"MAP_ANON"` included).
pub fn constant(name: &str) -> Option<u64> {
    match name {
        "MAP_ANON" => return Some(MAP_ANON),
        "MAP_HUGE_SHIFT" => return Some(MAP_HUGE_SHIFT),
        "IPC_64" => return Some(IPC_64),
        _ => {}
    }
    ALL_NAMES.iter().flat_map(|t| t.iter()).find(|(n, _)| *n == name).map(|&(_, v)| v)
}

/// Spells a bit set the way strace does: the names of known bits joined by `|`, then any
/// unknown rest in hex; `zero` when nothing is set.
///
/// `table` holds single bits (or multi-bit fields listed before their parts); entries whose
/// value is 0 are used only for `zero`.
pub fn format_bits(value: u64, table: &[(&str, u64)], zero: &str) -> String {
    if value == 0 {
        return zero.to_string();
    }
    let mut parts = Vec::new();
    let mut rest = value;
    for &(name, bit) in table {
        if bit != 0 && bit.count_ones() == 1 && rest & bit == bit {
            parts.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    parts.join("|")
}

/// Spells `mmap` flags as strace does: the mapping type first (`MAP_FILE` for 0, the number
/// with a `MAP_???` comment for a type without a name), then the modifier bits, then the
/// huge page size field as `N<<MAP_HUGE_SHIFT`. Only the low 32 bits count: the argument is
/// a C `int`.
pub fn format_map_flags(flags: u64) -> String {
    let flags = flags & 0xffff_ffff;
    let ty = flags & MAP_TYPE;
    let mut parts = vec![match ty {
        MAP_FILE => "MAP_FILE".to_string(),
        MAP_SHARED => "MAP_SHARED".to_string(),
        MAP_PRIVATE => "MAP_PRIVATE".to_string(),
        MAP_SHARED_VALIDATE => "MAP_SHARED_VALIDATE".to_string(),
        MAP_DROPPABLE => "MAP_DROPPABLE".to_string(),
        t => format!("{t:#x} /* MAP_??? */"),
    }];
    let huge = (flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
    let rest = flags & !MAP_TYPE & !(MAP_HUGE_MASK << MAP_HUGE_SHIFT);
    let modifiers: Vec<_> = MAP_NAMES.iter().copied().filter(|&(_, v)| v > MAP_TYPE).collect();
    if rest != 0 {
        parts.push(format_bits(rest, &modifiers, "0"));
    }
    if huge != 0 {
        parts.push(format!("{huge}<<MAP_HUGE_SHIFT"));
    }
    parts.join("|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spells_flags_like_strace() {
        assert_eq!(format_bits(PROT_READ | PROT_WRITE, PROT_NAMES, "PROT_NONE"), "PROT_READ|PROT_WRITE");
        assert_eq!(format_bits(0, PROT_NAMES, "PROT_NONE"), "PROT_NONE");
        assert_eq!(format_map_flags(MAP_PRIVATE | MAP_ANONYMOUS), "MAP_PRIVATE|MAP_ANONYMOUS");
        assert_eq!(format_map_flags(MAP_SHARED_VALIDATE | 0x80_0000), "MAP_SHARED_VALIDATE|0x800000");
        assert_eq!(constant("MAP_FIXED_NOREPLACE"), Some(0x10_0000));
        assert_eq!(constant("MAP_ANON"), Some(0x20));
    }
}
