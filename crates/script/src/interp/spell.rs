//! How the interpreter spells what a call did: the model's [`Call`] for an address-space
//! call statement, its arguments as the scenario's output shows them (close to strace), and
//! addresses, offsets, `open` flags and results.

use super::Ret;
use crate::ast::Syscall;
use abi::Errno;
use mm::Call;

/// The model's call for an address-space call statement whose arguments evaluated to `v`
/// (the parser checked their number; a missing one reads as 0).
pub(super) fn mm_call(call: Syscall, v: &[u64]) -> Option<Call> {
    let at = |i: usize| v.get(i).copied().unwrap_or(0);
    Some(match call {
        Syscall::Mmap => {
            Call::Mmap { addr: at(0), len: at(1), prot: at(2), flags: at(3), fd: at(4) as i64, off: at(5) }
        }
        Syscall::Munmap => Call::Munmap { addr: at(0), len: at(1) },
        Syscall::Mprotect => Call::Mprotect { addr: at(0), len: at(1), prot: at(2) },
        Syscall::Brk => Call::Brk { addr: at(0) },
        Syscall::Ftruncate => Call::Ftruncate { fd: at(0) as i64, len: at(1) },
        Syscall::Mremap => {
            Call::Mremap { old_addr: at(0), old_len: at(1), new_len: at(2), flags: at(3), new_addr: at(4) }
        }
        Syscall::Madvise => Call::Madvise { addr: at(0), len: at(1), advice: at(2) },
        Syscall::Mlock => Call::Mlock { addr: at(0), len: at(1) },
        Syscall::Munlock => Call::Munlock { addr: at(0), len: at(1) },
        Syscall::Mlock2 => Call::Mlock2 { addr: at(0), len: at(1), flags: at(2) },
        Syscall::Mlockall => Call::Mlockall { flags: at(0) },
        Syscall::Munlockall => Call::Munlockall,
        Syscall::Mincore => Call::Mincore { addr: at(0), len: at(1), vec: at(2) },
        Syscall::Msync => Call::Msync { addr: at(0), len: at(1), flags: at(2) },
        Syscall::Shmget => Call::Shmget { key: at(0) as i64, size: at(1), flags: at(2) },
        Syscall::Shmat => Call::Shmat { shmid: at(0) as i64, addr: at(1), flags: at(2) },
        Syscall::Shmdt => Call::Shmdt { addr: at(0) },
        Syscall::Shmctl => Call::Shmctl { shmid: at(0) as i64, cmd: at(1), buf: at(2) },
        _ => return None,
    })
}

/// The arguments of an address-space call as a scenario's output shows them (close to
/// strace's spelling, but addresses always in hex and an unnamed advice in decimal).
pub(super) fn shown(c: &Call) -> String {
    match *c {
        Call::Mmap { addr, len, prot, flags, fd, off } => format!(
            "{}, {len}, {}, {}, {fd}, {}",
            fmt_addr(addr),
            abi::format_bits(prot, abi::PROT_NAMES, "PROT_NONE"),
            abi::format_map_flags(flags),
            fmt_off(off)
        ),
        Call::Munmap { addr, len } | Call::Mlock { addr, len } | Call::Munlock { addr, len } => {
            format!("{addr:#x}, {len}")
        }
        Call::Mprotect { addr, len, prot } => {
            format!("{addr:#x}, {len}, {}", abi::format_bits(prot, abi::PROT_NAMES, "PROT_NONE"))
        }
        Call::Brk { addr } | Call::OldMmap { args: addr } => fmt_addr(addr),
        Call::Ftruncate { fd, len } => format!("{fd}, {len}"),
        Call::Mremap { old_addr, old_len, new_len, flags, new_addr } => format!(
            "{old_addr:#x}, {old_len}, {new_len}, {}, {}",
            abi::format_bits(flags, abi::MREMAP_NAMES, "0"),
            fmt_addr(new_addr)
        ),
        Call::Madvise { addr, len, advice } => {
            let name = abi::MADV_NAMES.iter().find(|(_, x)| *x == advice).map(|(n, _)| n.to_string());
            format!("{addr:#x}, {len}, {}", name.unwrap_or_else(|| advice.to_string()))
        }
        Call::Mlock2 { addr, len, flags } => {
            format!("{addr:#x}, {len}, {}", abi::format_bits(flags, abi::MLOCK_NAMES, "0"))
        }
        Call::Mlockall { flags } => abi::format_bits(flags, abi::MCL_NAMES, "0"),
        Call::Munlockall => String::new(),
        Call::Mincore { addr, len, vec } => format!("{addr:#x}, {len}, {vec:#x}"),
        Call::Msync { addr, len, flags } => {
            format!("{addr:#x}, {len}, {}", abi::format_bits(flags, abi::MS_NAMES, "0"))
        }
        // As strace prints them, without the name and parentheses.
        Call::Shmget { .. } | Call::Shmat { .. } | Call::Shmdt { .. } | Call::Shmctl { .. } => {
            let text = c.to_string();
            let inner = text.split_once('(').map_or("", |(_, rest)| rest);
            inner.strip_suffix(')').unwrap_or(inner).to_string()
        }
    }
}

fn fmt_addr(v: u64) -> String {
    if v == 0 {
        "NULL".to_string()
    } else {
        format!("{v:#x}")
    }
}

fn fmt_off(v: u64) -> String {
    if v == 0 {
        "0".to_string()
    } else {
        format!("{v:#x}")
    }
}

/// Spells `open` flags as strace does: the access mode, then the other flags.
pub(super) fn fmt_open_flags(flags: u64) -> String {
    let mode = match flags & abi::O_ACCMODE {
        abi::O_RDONLY => "O_RDONLY",
        abi::O_WRONLY => "O_WRONLY",
        abi::O_RDWR => "O_RDWR",
        _ => "O_ACCMODE",
    };
    let rest = flags & !abi::O_ACCMODE;
    if rest == 0 {
        mode.to_string()
    } else {
        format!("{mode}|{}", abi::format_bits(rest, abi::O_NAMES, "0"))
    }
}

pub(super) fn fmt_result(r: Result<u64, Errno>, ret: Ret) -> String {
    match r {
        Ok(v) if ret == Ret::Hex => format!("{v:#x}"),
        Ok(v) => v.to_string(),
        Err(e) => format!("-1 {e}"),
    }
}
