//! Interned names of frequent system calls, so most [`crate::Syscall`]s cost no allocation
//! for their name.

use std::borrow::Cow;

use crate::cursor::text_string;

/// The calls that make up most of a typical trace (program start-up, memory management, file
/// I/O, threads, signals). Sorted, for binary search.
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

/// Returns the name as a `Cow`, borrowed from the table when it is a frequent one.
pub(crate) fn call_name(bytes: &[u8]) -> Cow<'static, str> {
    match FREQUENT.binary_search_by(|probe| probe.as_bytes().cmp(bytes)) {
        Ok(index) => Cow::Borrowed(FREQUENT[index]),
        Err(_) => Cow::Owned(text_string(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_for_binary_search() {
        assert!(FREQUENT.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn frequent_names_are_borrowed_and_others_owned() {
        assert!(matches!(call_name(b"mmap"), Cow::Borrowed("mmap")));
        assert!(matches!(call_name(b"syscall_0x1c3"), Cow::Owned(ref s) if s == "syscall_0x1c3"));
    }
}
