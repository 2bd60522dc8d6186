//! One vocabulary for the address-space system calls: a typed [`Call`] holding the arguments
//! as Linux takes them, [`Kernel::dispatch`] to run one on the model, and a `Display` that
//! prints it as strace does (`mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS,
//! -1, 0)`).
//!
//! Front ends (the scenario language, the replayer, the host comparison, the bench) translate
//! into a `Call` and let [`Kernel::dispatch`] pick the method, so a new call is added here once.

use crate::kernel::{Kernel, Pid};
use abi::*;
use std::fmt;

/// An address-space system call with its arguments, in C order, as the kernel receives them
/// (flag words are the raw bits; nothing is validated until the call runs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Call {
    /// `mmap(addr, len, prot, flags, fd, offset)`.
    Mmap {
        /// The hint, or the fixed address.
        addr: u64,
        /// The length in bytes.
        len: u64,
        /// `PROT_*` bits.
        prot: u64,
        /// `MAP_*` bits.
        flags: u64,
        /// The file descriptor (-1 for anonymous memory).
        fd: i64,
        /// The byte offset in the file.
        off: u64,
    },
    /// i386's old `mmap(struct mmap_arg_struct *args)` (system call 90 of a 32-bit
    /// process): the six arguments are 32-bit words in the caller's memory at `args`.
    /// strace shows the call as `mmap` with the words when it could read them, which is
    /// [`Call::Mmap`], and as `mmap(ADDR)` when it could not.
    OldMmap {
        /// Address of the six words.
        args: u64,
    },
    /// `munmap(addr, len)`.
    Munmap {
        /// Start of the range.
        addr: u64,
        /// Length in bytes.
        len: u64,
    },
    /// `mprotect(addr, len, prot)`.
    Mprotect {
        /// Start of the range.
        addr: u64,
        /// Length in bytes.
        len: u64,
        /// `PROT_*` bits.
        prot: u64,
    },
    /// `mremap(old_address, old_size, new_size, flags, new_address)`.
    Mremap {
        /// The mapping's current address.
        old_addr: u64,
        /// Its current length.
        old_len: u64,
        /// The length wanted.
        new_len: u64,
        /// `MREMAP_*` bits.
        flags: u64,
        /// Where it goes with `MREMAP_FIXED` (ignored otherwise).
        new_addr: u64,
    },
    /// `brk(addr)`.
    Brk {
        /// The new break (0 asks for the current one).
        addr: u64,
    },
    /// `madvise(addr, len, advice)`.
    Madvise {
        /// Start of the range.
        addr: u64,
        /// Length in bytes.
        len: u64,
        /// A `MADV_*` value.
        advice: u64,
    },
    /// `mlock(addr, len)`.
    Mlock {
        /// Start of the range.
        addr: u64,
        /// Length in bytes.
        len: u64,
    },
    /// `mlock2(addr, len, flags)`.
    Mlock2 {
        /// Start of the range.
        addr: u64,
        /// Length in bytes.
        len: u64,
        /// `MLOCK_*` bits.
        flags: u64,
    },
    /// `munlock(addr, len)`.
    Munlock {
        /// Start of the range.
        addr: u64,
        /// Length in bytes.
        len: u64,
    },
    /// `mlockall(flags)`.
    Mlockall {
        /// `MCL_*` bits.
        flags: u64,
    },
    /// `munlockall()`.
    Munlockall,
    /// `msync(addr, len, flags)`.
    Msync {
        /// Start of the range.
        addr: u64,
        /// Length in bytes.
        len: u64,
        /// `MS_*` bits.
        flags: u64,
    },
    /// `mincore(addr, len, vec)`: one byte per page is written at `vec`.
    Mincore {
        /// Start of the range.
        addr: u64,
        /// Length in bytes.
        len: u64,
        /// The user address of the vector.
        vec: u64,
    },
    /// `ftruncate(fd, len)`.
    Ftruncate {
        /// The file descriptor.
        fd: i64,
        /// The new size in bytes.
        len: u64,
    },
    /// `shmget(key, size, shmflg)`.
    Shmget {
        /// The key (`IPC_PRIVATE` is 0); a C `int`.
        key: i64,
        /// The size in bytes.
        size: u64,
        /// `IPC_CREAT`, `IPC_EXCL`, `SHM_*` bits and the mode in the low nine bits.
        flags: u64,
    },
    /// `shmat(shmid, shmaddr, shmflg)`.
    Shmat {
        /// The segment's identifier.
        shmid: i64,
        /// Where to attach it (0: where the kernel chooses).
        addr: u64,
        /// `SHM_RDONLY`, `SHM_RND`, `SHM_REMAP`, `SHM_EXEC` bits.
        flags: u64,
    },
    /// `shmdt(shmaddr)`.
    Shmdt {
        /// The address the attach begins at.
        addr: u64,
    },
    /// `shmctl(shmid, cmd, buf)`.
    Shmctl {
        /// The segment's identifier (a slot for `SHM_STAT`).
        shmid: i64,
        /// An `IPC_*` or `SHM_*` command.
        cmd: u64,
        /// The user address of the structure the command reads or writes.
        buf: u64,
    },
}

impl Call {
    /// The system call's name as strace prints it.
    pub fn name(&self) -> &'static str {
        match self {
            Call::Mmap { .. } | Call::OldMmap { .. } => "mmap",
            Call::Munmap { .. } => "munmap",
            Call::Mprotect { .. } => "mprotect",
            Call::Mremap { .. } => "mremap",
            Call::Brk { .. } => "brk",
            Call::Madvise { .. } => "madvise",
            Call::Mlock { .. } => "mlock",
            Call::Mlock2 { .. } => "mlock2",
            Call::Munlock { .. } => "munlock",
            Call::Mlockall { .. } => "mlockall",
            Call::Munlockall => "munlockall",
            Call::Msync { .. } => "msync",
            Call::Mincore { .. } => "mincore",
            Call::Ftruncate { .. } => "ftruncate",
            Call::Shmget { .. } => "shmget",
            Call::Shmat { .. } => "shmat",
            Call::Shmdt { .. } => "shmdt",
            Call::Shmctl { .. } => "shmctl",
        }
    }
}

impl Kernel {
    /// Runs `call` as task `pid`: the same as calling the method of that name.
    #[inline]
    pub fn dispatch(&mut self, pid: Pid, call: &Call) -> SysResult<u64> {
        let r = self.dispatch_call(pid, call);
        self.shm_record_user(pid);
        r
    }

    fn dispatch_call(&mut self, pid: Pid, call: &Call) -> SysResult<u64> {
        match *call {
            Call::Mmap { addr, len, prot, flags, fd, off } => self.mmap(pid, addr, len, prot, flags, fd, off),
            Call::OldMmap { args } => self.old_mmap(pid, args),
            Call::Munmap { addr, len } => self.munmap(pid, addr, len),
            Call::Mprotect { addr, len, prot } => self.mprotect(pid, addr, len, prot),
            Call::Mremap { old_addr, old_len, new_len, flags, new_addr } => {
                self.mremap(pid, old_addr, old_len, new_len, flags, new_addr)
            }
            Call::Brk { addr } => self.brk(pid, addr),
            Call::Madvise { addr, len, advice } => self.madvise(pid, addr, len, advice),
            Call::Mlock { addr, len } => self.mlock(pid, addr, len),
            Call::Mlock2 { addr, len, flags } => self.mlock2(pid, addr, len, flags),
            Call::Munlock { addr, len } => self.munlock(pid, addr, len),
            Call::Mlockall { flags } => self.mlockall(pid, flags),
            Call::Munlockall => self.munlockall(pid),
            Call::Msync { addr, len, flags } => self.msync(pid, addr, len, flags),
            Call::Mincore { addr, len, vec } => self.mincore(pid, addr, len, vec),
            Call::Ftruncate { fd, len } => self.ftruncate(pid, fd, len),
            Call::Shmget { key, size, flags } => self.shmget(pid, key, size, flags),
            Call::Shmat { shmid, addr, flags } => self.shmat(pid, shmid, addr, flags),
            Call::Shmdt { addr } => self.shmdt(pid, addr),
            Call::Shmctl { shmid, cmd, buf } => self.shmctl(pid, shmid, cmd, buf),
        }
    }
}

/// An address as strace prints it (`printaddr`): `NULL` for 0, else hexadecimal.
struct Addr(u64);

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("NULL"),
            a => write!(f, "{a:#x}"),
        }
    }
}

/// A value of a table of alternatives (`printxval`): its name, or the number in hex with a
/// `/* PREFIX??? */` comment.
fn xval(value: u64, table: &[(&str, u64)], unknown: &str) -> String {
    match table.iter().find(|&&(_, v)| v == value) {
        Some(&(name, _)) => name.to_string(),
        None => format!("{value:#x} /* {unknown} */"),
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name();
        match *self {
            Call::Mmap { addr, len, prot, flags, fd, off } => {
                let (prot, flags) = (format_bits(prot & 0xffff_ffff, PROT_NAMES, "PROT_NONE"), format_map_flags(flags));
                let off = if off == 0 { "0".to_string() } else { format!("{off:#x}") };
                write!(f, "{name}({}, {len}, {prot}, {flags}, {fd}, {off})", Addr(addr))
            }
            Call::OldMmap { args } => write!(f, "{name}({})", Addr(args)),
            Call::Munmap { addr, len } | Call::Mlock { addr, len } | Call::Munlock { addr, len } => {
                write!(f, "{name}({}, {len})", Addr(addr))
            }
            Call::Mprotect { addr, len, prot } => {
                write!(f, "{name}({}, {len}, {})", Addr(addr), format_bits(prot & 0xffff_ffff, PROT_NAMES, "PROT_NONE"))
            }
            Call::Mremap { old_addr, old_len, new_len, flags, new_addr } => {
                let bits = format_bits(flags & 0xffff_ffff, MREMAP_NAMES, "0");
                write!(f, "{name}({}, {old_len}, {new_len}, {bits}", Addr(old_addr))?;
                // strace shows the new address only when the kernel reads it.
                if flags & (MREMAP_MAYMOVE | MREMAP_FIXED) == MREMAP_MAYMOVE | MREMAP_FIXED {
                    write!(f, ", {}", Addr(new_addr))?;
                }
                f.write_str(")")
            }
            Call::Brk { addr } => write!(f, "{name}({})", Addr(addr)),
            Call::Madvise { addr, len, advice } => {
                write!(f, "{name}({}, {len}, {})", Addr(addr), xval(advice & 0xffff_ffff, MADV_NAMES, "MADV_???"))
            }
            Call::Mlock2 { addr, len, flags } => {
                write!(f, "{name}({}, {len}, {})", Addr(addr), format_bits(flags & 0xffff_ffff, MLOCK_NAMES, "0"))
            }
            Call::Mlockall { flags } => write!(f, "{name}({})", format_bits(flags & 0xffff_ffff, MCL_NAMES, "0")),
            Call::Munlockall => write!(f, "{name}()"),
            Call::Msync { addr, len, flags } => {
                write!(f, "{name}({}, {len}, {})", Addr(addr), format_bits(flags & 0xffff_ffff, MS_NAMES, "0"))
            }
            Call::Mincore { addr, len, vec } => write!(f, "{name}({}, {len}, {})", Addr(addr), Addr(vec)),
            // off_t: strace prints it signed.
            Call::Ftruncate { fd, len } => write!(f, "{name}({fd}, {})", len as i64),
            Call::Shmget { key, size, flags } => {
                let key = key as i32;
                let key = if key == 0 { "IPC_PRIVATE".to_string() } else { format!("{:#x}", key as u32) };
                let flags = flags & 0xffff_ffff;
                let bits = flags & !0o777;
                // C's "%#03o": a leading 0, at least three digits.
                let mode = match flags & 0o777 {
                    0 => "000".to_string(),
                    m => format!("{:0>3}", format!("0{m:o}")),
                };
                if bits == 0 {
                    write!(f, "{name}({key}, {size}, {mode})")
                } else {
                    write!(f, "{name}({key}, {size}, {}|{mode})", format_bits(bits, SHMGET_NAMES, "0"))
                }
            }
            Call::Shmat { shmid, addr, flags } => {
                write!(
                    f,
                    "{name}({}, {}, {})",
                    shmid as i32,
                    Addr(addr),
                    format_bits(flags & 0xffff_ffff, SHMAT_NAMES, "0")
                )
            }
            Call::Shmdt { addr } => write!(f, "{name}({})", Addr(addr)),
            Call::Shmctl { shmid, cmd, buf } => {
                let cmd = cmd & 0xffff_ffff;
                let ver = if cmd & IPC_64 != 0 { "IPC_64|" } else { "" };
                write!(
                    f,
                    "{name}({}, {ver}{}, {})",
                    shmid as i32,
                    xval(cmd & !IPC_64, SHMCTL_NAMES, "IPC_???"),
                    Addr(buf)
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    /// Lines strace 6.x printed for a small C program and `cat /proc/self/maps` (results cut).
    #[test]
    fn prints_as_strace_does() {
        let cases: &[(Call, &str)] = &[
            (
                Call::Mmap {
                    addr: 0,
                    len: 8192,
                    prot: PROT_READ | PROT_WRITE,
                    flags: MAP_PRIVATE | MAP_ANONYMOUS,
                    fd: -1,
                    off: 0,
                },
                "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)",
            ),
            (
                Call::Mmap {
                    addr: 0x7f2cc9bff000,
                    len: 1400832,
                    prot: PROT_READ | PROT_EXEC,
                    flags: MAP_PRIVATE | MAP_FIXED | MAP_DENYWRITE,
                    fd: 3,
                    off: 0x26000,
                },
                "mmap(0x7f2cc9bff000, 1400832, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x26000)",
            ),
            (
                Call::Mmap { addr: 0, len: 33699, prot: PROT_READ, flags: MAP_PRIVATE, fd: 3, off: 0 },
                "mmap(NULL, 33699, PROT_READ, MAP_PRIVATE, 3, 0)",
            ),
            (
                Call::Mmap {
                    addr: 0x10000000,
                    len: 4096,
                    prot: PROT_READ | PROT_EXEC,
                    flags: MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                    fd: -1,
                    off: 0,
                },
                "mmap(0x10000000, 4096, PROT_READ|PROT_EXEC, MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0)",
            ),
            (
                Call::Mmap {
                    addr: 0,
                    len: 4096,
                    prot: PROT_READ | 0x10,
                    flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                    fd: -1,
                    off: 0,
                },
                "mmap(NULL, 4096, PROT_READ|0x10, MAP_PRIVATE|MAP_ANONYMOUS|MAP_POPULATE, -1, 0)",
            ),
            (
                Call::Mprotect { addr: 0x7f2cc9da8000, len: 16384, prot: PROT_READ },
                "mprotect(0x7f2cc9da8000, 16384, PROT_READ)",
            ),
            (Call::Mprotect { addr: 0x7f2cc9dc2000, len: 4096, prot: 0 }, "mprotect(0x7f2cc9dc2000, 4096, PROT_NONE)"),
            (Call::Munmap { addr: 0x7f2cc9dbb000, len: 33699 }, "munmap(0x7f2cc9dbb000, 33699)"),
            (Call::Munmap { addr: u64::MAX, len: 16384 }, "munmap(0xffffffffffffffff, 16384)"),
            (
                Call::Madvise { addr: 0x7f2cc9dc2000, len: 8192, advice: MADV_DONTNEED },
                "madvise(0x7f2cc9dc2000, 8192, MADV_DONTNEED)",
            ),
            (
                Call::Madvise { addr: u64::MAX, len: 4096, advice: 77 },
                "madvise(0xffffffffffffffff, 4096, 0x4d /* MADV_??? */)",
            ),
            (Call::Mlock { addr: 0x7f2cc9dc3000, len: 4096 }, "mlock(0x7f2cc9dc3000, 4096)"),
            (Call::Munlock { addr: 0x7f2cc9dc3000, len: 4096 }, "munlock(0x7f2cc9dc3000, 4096)"),
            (
                Call::Mlock2 { addr: 0x7f2cc9dc2000, len: 4096, flags: MLOCK_ONFAULT },
                "mlock2(0x7f2cc9dc2000, 4096, MLOCK_ONFAULT)",
            ),
            (Call::Mlock2 { addr: 0x7f2cc9dc2000, len: 4096, flags: 0 }, "mlock2(0x7f2cc9dc2000, 4096, 0)"),
            (Call::Msync { addr: 0x7f2cc9dc2000, len: 4096, flags: MS_SYNC }, "msync(0x7f2cc9dc2000, 4096, MS_SYNC)"),
            (
                Call::Msync { addr: 0x7f2cc9dc2000, len: 4096, flags: MS_ASYNC | MS_INVALIDATE },
                "msync(0x7f2cc9dc2000, 4096, MS_ASYNC|MS_INVALIDATE)",
            ),
            (Call::Mlockall { flags: MCL_CURRENT | MCL_FUTURE }, "mlockall(MCL_CURRENT|MCL_FUTURE)"),
            (Call::Munlockall, "munlockall()"),
            (
                Call::Mremap {
                    old_addr: 0x7f2cc9dc2000,
                    old_len: 8192,
                    new_len: 16384,
                    flags: MREMAP_MAYMOVE,
                    new_addr: 0,
                },
                "mremap(0x7f2cc9dc2000, 8192, 16384, MREMAP_MAYMOVE)",
            ),
            (
                Call::Mremap {
                    old_addr: u64::MAX,
                    old_len: 16384,
                    new_len: 16384,
                    flags: MREMAP_MAYMOVE | MREMAP_FIXED,
                    new_addr: 0xfffff,
                },
                "mremap(0xffffffffffffffff, 16384, 16384, MREMAP_MAYMOVE|MREMAP_FIXED, 0xfffff)",
            ),
            (
                Call::Mremap { old_addr: u64::MAX, old_len: 4096, new_len: 4096, flags: 0, new_addr: 0 },
                "mremap(0xffffffffffffffff, 4096, 4096, 0)",
            ),
            (
                Call::Mincore { addr: u64::MAX, len: 4096, vec: 0x7fff9867a17c },
                "mincore(0xffffffffffffffff, 4096, 0x7fff9867a17c)",
            ),
            (Call::Brk { addr: 0 }, "brk(NULL)"),
            (Call::Brk { addr: 0x55a6a621e000 }, "brk(0x55a6a621e000)"),
            (Call::Ftruncate { fd: 3, len: 8192 }, "ftruncate(3, 8192)"),
            (
                Call::Shmget { key: 0, size: 10000, flags: IPC_CREAT | 0o600 },
                "shmget(IPC_PRIVATE, 10000, IPC_CREAT|0600)",
            ),
            (Call::Shmget { key: 0x777, size: 0, flags: 0 }, "shmget(0x777, 0, 000)"),
            (
                Call::Shmget { key: 0, size: 104857600, flags: IPC_CREAT | SHM_NORESERVE | 0o600 },
                "shmget(IPC_PRIVATE, 104857600, IPC_CREAT|SHM_NORESERVE|0600)",
            ),
            (Call::Shmat { shmid: 1, addr: 0, flags: 0 }, "shmat(1, NULL, 0)"),
            (Call::Shmat { shmid: 4, addr: 0, flags: SHM_RDONLY | SHM_EXEC }, "shmat(4, NULL, SHM_RDONLY|SHM_EXEC)"),
            (Call::Shmat { shmid: 3, addr: 0x123, flags: SHM_RND | SHM_REMAP }, "shmat(3, 0x123, SHM_RND|SHM_REMAP)"),
            (Call::Shmdt { addr: 0x7f68f3712000 }, "shmdt(0x7f68f3712000)"),
            (Call::Shmctl { shmid: 3, cmd: IPC_RMID, buf: 0 }, "shmctl(3, IPC_RMID, NULL)"),
            (Call::Shmctl { shmid: 3, cmd: IPC_STAT, buf: 0x7ffee7187f60 }, "shmctl(3, IPC_STAT, 0x7ffee7187f60)"),
        ];
        for (call, line) in cases {
            assert_eq!(call.to_string(), *line);
        }
    }

    /// Every variant, succeeding and failing, on a process with a file open as descriptor `fd`.
    fn sample(heap: u64, at: u64, fd: i64) -> Vec<Call> {
        vec![
            Call::Brk { addr: 0 },
            Call::Brk { addr: heap + 0x21000 },
            Call::Mmap {
                addr: at,
                len: 0x8000,
                prot: PROT_READ | PROT_WRITE,
                flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                fd: -1,
                off: 0,
            },
            Call::Mmap { addr: 0, len: 0x2000, prot: PROT_READ, flags: MAP_SHARED, fd, off: 0 },
            Call::Mmap { addr: 0, len: 0x2000, prot: PROT_READ, flags: MAP_SHARED, fd: 9, off: 0 },
            Call::Mprotect { addr: at, len: 0x1000, prot: PROT_NONE },
            Call::Mprotect { addr: at + 1, len: 0x1000, prot: PROT_READ },
            Call::Madvise { addr: at, len: 0x2000, advice: MADV_DONTNEED },
            Call::Madvise { addr: at, len: 0x2000, advice: 77 },
            Call::Mlock { addr: at + 0x2000, len: 0x1000 },
            Call::Munlock { addr: at + 0x2000, len: 0x1000 },
            Call::Mlock2 { addr: at + 0x2000, len: 0x1000, flags: MLOCK_ONFAULT },
            Call::Mlock2 { addr: at + 0x2000, len: 0x1000, flags: 8 },
            Call::Msync { addr: at, len: 0x1000, flags: MS_SYNC },
            Call::Msync { addr: at, len: 0x1000, flags: MS_ASYNC | MS_SYNC },
            Call::Mlockall { flags: MCL_CURRENT },
            Call::Munlockall,
            Call::OldMmap { args: 0x10 },
            Call::OldMmap { args: at },
            Call::Mincore { addr: at + 0x2000, len: 0x2000, vec: at + 0x3000 },
            Call::Mincore { addr: at, len: 0x2000, vec: 0 },
            Call::Mremap {
                old_addr: at + 0x4000,
                old_len: 0x1000,
                new_len: 0x3000,
                flags: MREMAP_MAYMOVE,
                new_addr: 0,
            },
            Call::Mremap {
                old_addr: at + 0x5000,
                old_len: 0x1000,
                new_len: 0x1000,
                flags: MREMAP_MAYMOVE | MREMAP_FIXED,
                new_addr: at + 0x20000,
            },
            Call::Ftruncate { fd, len: 0x3000 },
            Call::Ftruncate { fd: 7, len: 0 },
            Call::Munmap { addr: at + 0x1000, len: 0x1000 },
            Call::Munmap { addr: at + 1, len: 0x1000 },
            Call::Shmget { key: 0, size: 10000, flags: IPC_CREAT | 0o600 },
            Call::Shmget { key: 0x777, size: 10, flags: 0 },
            Call::Shmat { shmid: 0, addr: 0, flags: 0 },
            Call::Shmat { shmid: 0, addr: at + 0x40000, flags: SHM_RDONLY },
            Call::Shmat { shmid: 0, addr: at + 0x40000, flags: 0 },
            Call::Shmat { shmid: -1, addr: 0, flags: 0 },
            Call::Shmctl { shmid: 0, cmd: IPC_STAT, buf: at + 0x2000 },
            Call::Shmctl { shmid: 0, cmd: IPC_RMID, buf: 0 },
            Call::Shmdt { addr: at + 0x40000 },
            Call::Shmdt { addr: at + 0x40000 },
            Call::Shmctl { shmid: 0, cmd: 99, buf: 0 },
        ]
    }

    #[test]
    fn dispatch_is_the_method() {
        let setup = || {
            let mut k = Kernel::new(Config { ram_bytes: 64 << 20, paranoid: true, ..Config::default() });
            let pid = k.spawn_empty("t").expect("spawn");
            let fd = k.memfd_create(pid, "f", 0).expect("memfd");
            k.ftruncate(pid, fd as i64, 0x2000).expect("ftruncate");
            (k, pid, fd as i64)
        };
        let (mut a, pid, fd) = setup();
        let (mut b, _, _) = setup();
        let heap = a.mm(pid).map(|m| m.start_brk).unwrap_or(0);
        let at = 0x1000_0000;
        for call in sample(heap, at, fd) {
            let by_dispatch = a.dispatch(pid, &call);
            let direct = match call {
                Call::Mmap { addr, len, prot, flags, fd, off } => b.mmap(pid, addr, len, prot, flags, fd, off),
                Call::OldMmap { args } => b.old_mmap(pid, args),
                Call::Munmap { addr, len } => b.munmap(pid, addr, len),
                Call::Mprotect { addr, len, prot } => b.mprotect(pid, addr, len, prot),
                Call::Mremap { old_addr, old_len, new_len, flags, new_addr } => {
                    b.mremap(pid, old_addr, old_len, new_len, flags, new_addr)
                }
                Call::Brk { addr } => b.brk(pid, addr),
                Call::Madvise { addr, len, advice } => b.madvise(pid, addr, len, advice),
                Call::Mlock { addr, len } => b.mlock(pid, addr, len),
                Call::Mlock2 { addr, len, flags } => b.mlock2(pid, addr, len, flags),
                Call::Munlock { addr, len } => b.munlock(pid, addr, len),
                Call::Mlockall { flags } => b.mlockall(pid, flags),
                Call::Munlockall => b.munlockall(pid),
                Call::Msync { addr, len, flags } => b.msync(pid, addr, len, flags),
                Call::Mincore { addr, len, vec } => b.mincore(pid, addr, len, vec),
                Call::Ftruncate { fd, len } => b.ftruncate(pid, fd, len),
                Call::Shmget { key, size, flags } => b.shmget(pid, key, size, flags),
                Call::Shmat { shmid, addr, flags } => b.shmat(pid, shmid, addr, flags),
                Call::Shmdt { addr } => b.shmdt(pid, addr),
                Call::Shmctl { shmid, cmd, buf } => b.shmctl(pid, shmid, cmd, buf),
            };
            assert_eq!(by_dispatch, direct, "{call}");
            let maps =
                |k: &Kernel| k.mm(pid).map(|m| m.vmas.iter().map(|v| (v.start, v.end, v.flags)).collect::<Vec<_>>());
            assert_eq!(maps(&a), maps(&b), "after {call}");
        }
    }
}
