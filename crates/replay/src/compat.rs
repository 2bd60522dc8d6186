//! The system calls of 32-bit processes as strace prints them, read as the x86-64 calls they
//! act as on what the model tracks.
//!
//! strace names a 32-bit (ia32 compat) process's calls by the i386 table (it says so with
//! `[ Process PID=N runs in 32 bit mode. ]`): `mmap2`, `fstat64`, `_llseek`, `ugetrlimit`,
//! `getuid32`, `clock_gettime64` and the like. Most take the same arguments as the x86-64
//! call of the other name (strace prints 64-bit offsets whole, and `mmap2`'s page offset in
//! bytes), so they are renamed once here, before any pass of the replay looks at them.
//! `_llseek` prints its result through a pointer (`_llseek(3, 0, [4096], SEEK_CUR) = 0`); it
//! becomes the `lseek` that returns that position. `mmap2` keeps its name (the reports say
//! what the log said) and is read as `mmap` by [`crate::call`]; the old `mmap` of i386, whose
//! arguments sit in a structure in memory, is `mmap` with the structure's fields when strace
//! could read them and `mmap(ADDR)` when it could not (see [`crate::call`]).
//!
//! `set_thread_area`, `get_thread_area` and the old signal calls have no effect on the
//! address space; they are in the replayer's list of such calls.

use trace::{Arg, Ret, Syscall};

/// The ia32 names that act as an x86-64 call of the same arguments, and that call's name.
const RENAMED: &[(&str, &str)] = &[
    ("fstat64", "fstat"),
    ("stat64", "stat"),
    ("lstat64", "lstat"),
    ("fstatat64", "newfstatat"),
    ("fcntl64", "fcntl"),
    ("ugetrlimit", "getrlimit"),
    ("ftruncate64", "ftruncate"),
    ("truncate64", "truncate"),
    ("statfs64", "statfs"),
    ("fstatfs64", "fstatfs"),
    ("sendfile64", "sendfile"),
    ("fadvise64_64", "fadvise64"),
    ("getuid32", "getuid"),
    ("geteuid32", "geteuid"),
    ("getgid32", "getgid"),
    ("getegid32", "getegid"),
    ("getresuid32", "getresuid"),
    ("getresgid32", "getresgid"),
    ("setuid32", "setuid"),
    ("setgid32", "setgid"),
    ("setresuid32", "setresuid"),
    ("setresgid32", "setresgid"),
    ("getgroups32", "getgroups"),
    ("chown32", "chown"),
    ("fchown32", "fchown"),
    ("lchown32", "lchown"),
    ("clock_gettime64", "clock_gettime"),
    ("clock_getres_time64", "clock_getres"),
    ("clock_nanosleep_time64", "clock_nanosleep"),
    ("futex_time64", "futex"),
    ("ppoll_time64", "ppoll"),
    ("pselect6_time64", "pselect6"),
    ("_newselect", "select"),
    ("rt_sigtimedwait_time64", "rt_sigtimedwait"),
    ("timer_settime64", "timer_settime"),
    ("utimensat_time64", "utimensat"),
    ("waitpid", "wait4"),
    ("sigreturn", "rt_sigreturn"),
];

/// Rewrites a 32-bit personality's call `c` into the x86-64 call it acts as, in place;
/// other calls are left as they are.
pub fn normalize(c: &mut Syscall) {
    let name = c.name.as_ref();
    if let Some(&(_, to)) = RENAMED.iter().find(|(from, _)| *from == name) {
        c.name = to.into();
    } else if name == "_llseek" {
        llseek_as_lseek(c);
    } else if name == "mmap2" {
        raw_page_offset_in_bytes(c);
    }
}

/// strace prints `mmap2`'s offset in bytes, except with `-e raw=all` (or `raw=mmap2`), which
/// prints the call's own argument, a count of pages: an offset that is not a whole number
/// of pages can only be that. (A raw count that is a multiple of 4096 pages, 16 MiB into a
/// file, reads as bytes: the log does not tell.)
fn raw_page_offset_in_bytes(c: &mut Syscall) {
    if let Some(Arg::Int(pages)) = c.args.get(5) {
        if pages % 4096 != 0 {
            if let Some(bytes) = pages.checked_mul(4096) {
                c.args[5] = Arg::Int(bytes);
            }
        }
    }
}

/// Returns the x86-64 name an ia32 call name is read as (itself if it has none).
pub fn normalized_name(name: &str) -> &str {
    RENAMED.iter().find(|(from, _)| *from == name).map_or(name, |&(_, to)| to)
}

/// `_llseek(fd, offset, [result], whence) = 0` as `lseek(fd, offset, whence) = result`.
fn llseek_as_lseek(c: &mut Syscall) {
    if c.args.len() != 4 {
        return;
    }
    let pos = c.args[2].as_array().and_then(|a| a.first()).and_then(Arg::as_u64);
    let whence = c.args.remove(3);
    c.args.truncate(2);
    c.args.push(whence);
    c.name = "lseek".into();
    if let (Ret::Value(0), Some(pos)) = (&c.ret, pos) {
        c.ret = Ret::Value(pos);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trace::Parser;

    fn parse(line: &str) -> Syscall {
        let event = Parser::new(format!("{line}\n").as_bytes()).next().expect("a line").expect("parses");
        event.syscall().expect("a call").clone()
    }

    #[test]
    fn llseek_becomes_the_lseek_that_returns_the_position() {
        let mut c = parse("_llseek(3, 4096, [8192], SEEK_CUR) = 0");
        normalize(&mut c);
        assert_eq!(c.name, "lseek");
        assert_eq!(c.arg_u64(0), Some(3));
        assert_eq!(c.arg_u64(1), Some(4096));
        assert_eq!(c.ret, Ret::Value(8192));
        assert_eq!(c.args.len(), 3);
        let mut failed = parse("_llseek(3, -1, 0xffd0, SEEK_SET) = -1 EINVAL (Invalid argument)");
        normalize(&mut failed);
        assert_eq!(failed.name, "lseek");
        assert!(failed.ret.errno().is_some());
    }

    #[test]
    fn renamed_calls_keep_their_arguments() {
        let mut c = parse("fstat64(3, {st_dev=makedev(0xfe, 0), st_ino=12, st_mode=S_IFREG|0644, st_size=5}) = 0");
        normalize(&mut c);
        assert_eq!((c.name.as_ref(), c.arg_u64(0)), ("fstat", Some(3)));
        let mut r = parse("ugetrlimit(RLIMIT_STACK, {rlim_cur=RLIM_INFINITY, rlim_max=RLIM_INFINITY}) = 0");
        normalize(&mut r);
        assert_eq!(r.name, "getrlimit");
        let mut m = parse("mmap2(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0xf7fbf000");
        normalize(&mut m);
        assert_eq!(m.name, "mmap2");
        // `-e raw=all`: the offset in pages.
        let mut m = parse("mmap2(0xf7cc6000, 0x179000, 0x5, 0x812, 0x3, 0x22) = 0xf7cc6000");
        normalize(&mut m);
        assert_eq!(m.args[5].as_u64(), Some(0x22000));
        assert_eq!(normalized_name("fstatat64"), "newfstatat");
        assert_eq!(normalized_name("brk"), "brk");
    }
}
