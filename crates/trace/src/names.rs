//! Interned names of frequent system calls, so most [`crate::Syscall`]s cost no allocation
//! for their name.

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::cursor::text_string;

/// The calls that make up most of a typical trace (program start-up, memory management, file
/// I/O, threads, signals), sorted to make duplicates easy to spot.
const FREQUENT: &[&str] = &[
    "access",
    "arch_prctl",
    "brk",
    "clock_gettime",
    "clock_nanosleep",
    "clone",
    "clone3",
    "close",
    "dup",
    "dup2",
    "dup3",
    "epoll_wait",
    "execve",
    "exit",
    "exit_group",
    "faccessat2",
    "fadvise64",
    "fcntl",
    "fstat",
    "futex",
    "getdents64",
    "getegid",
    "geteuid",
    "getgid",
    "getpid",
    "getppid",
    "getrandom",
    "gettid",
    "getuid",
    "ioctl",
    "lseek",
    "lstat",
    "madvise",
    "mincore",
    "mlock",
    "mmap",
    "mprotect",
    "mremap",
    "msync",
    "munlock",
    "munmap",
    "nanosleep",
    "newfstatat",
    "open",
    "openat",
    "pipe2",
    "poll",
    "pread64",
    "prlimit64",
    "pwrite64",
    "read",
    "readlink",
    "readv",
    "recvfrom",
    "rseq",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sched_yield",
    "sendto",
    "set_robust_list",
    "set_tid_address",
    "stat",
    "statx",
    "sysinfo",
    "uname",
    "vfork",
    "wait4",
    "write",
    "writev",
];

/// Slots of the open-addressing index over [`FREQUENT`]; a power of two well above its length
/// so probes stay short.
const SLOTS: usize = 256;

/// Returns the name as a `Cow`, borrowed from the table when it is a frequent one.
pub(crate) fn call_name(bytes: &[u8]) -> Cow<'static, str> {
    // One hash and usually one comparison: a binary search costs several comparisons per
    // line, which shows in the parser's profile.
    let index = INDEX.get_or_init(build_index);
    let mut slot = hash(bytes) % SLOTS;
    while let Some(entry) = index[slot] {
        let name = FREQUENT[usize::from(entry)];
        if name.as_bytes() == bytes {
            return Cow::Borrowed(name);
        }
        slot = (slot + 1) % SLOTS;
    }
    Cow::Owned(text_string(bytes))
}

static INDEX: OnceLock<[Option<u8>; SLOTS]> = OnceLock::new();

fn build_index() -> [Option<u8>; SLOTS] {
    let mut index = [None; SLOTS];
    for (i, name) in FREQUENT.iter().enumerate() {
        let mut slot = hash(name.as_bytes()) % SLOTS;
        while index[slot].is_some() {
            slot = (slot + 1) % SLOTS;
        }
        index[slot] = u8::try_from(i).ok();
    }
    index
}

/// FNV-1a, which is plenty for a few dozen short names.
fn hash(bytes: &[u8]) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    // Only the low bits pick a slot; truncating to usize is the intent.
    h as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_fits_the_index() {
        assert!(FREQUENT.windows(2).all(|w| w[0] < w[1]));
        assert!(FREQUENT.len() < SLOTS / 2 && FREQUENT.len() <= usize::from(u8::MAX));
    }

    #[test]
    fn every_frequent_name_is_found() {
        for name in FREQUENT {
            assert!(matches!(call_name(name.as_bytes()), Cow::Borrowed(found) if found == *name));
        }
        assert!(matches!(call_name(b""), Cow::Owned(_)));
    }

    #[test]
    fn frequent_names_are_borrowed_and_others_owned() {
        assert!(matches!(call_name(b"mmap"), Cow::Borrowed("mmap")));
        assert!(matches!(call_name(b"syscall_0x1c3"), Cow::Owned(ref s) if s == "syscall_0x1c3"));
    }
}
