//! From strace's parsed line to the model's [`Call`]: the one place where the replayer reads
//! the arguments of an address-space call.

use mm::Call;
use trace::{Arg, Syscall};

/// The model's [`Call`] for a line strace printed, or `None` for a call that is not one of
/// the address-space calls (or a `mincore` whose vector strace printed as its contents).
///
/// Read as the replayer always has: a missing or unreadable number is 0 (a missing
/// descriptor -1), a flag name the `abi` tables do not know adds no bits, an advice `madvise`
/// cannot know is `u64::MAX` (EINVAL). `mmap2` is read as `mmap` and `pkey_mprotect` as
/// `mprotect` (the model has no protection keys to assign).
pub fn call_of(c: &Syscall) -> Option<Call> {
    call_with(c, |c, i| c.arg(i).and_then(Arg::flags_value_known).map_or(0, |(value, _)| value))
}

/// [`call_of`] with flag word `i` of `c` read by `flag` (the replayer's reports the names it
/// does not know).
pub(crate) fn call_with(c: &Syscall, mut flag: impl FnMut(&Syscall, usize) -> u64) -> Option<Call> {
    let a = |i| c.arg_u64(i).unwrap_or(0);
    Some(match c.name.as_ref() {
        // i386's old mmap whose argument block strace could not read.
        "mmap" if c.args.len() == 1 => Call::OldMmap { args: a(0) },
        "mmap" | "mmap2" => Call::Mmap {
            addr: a(0),
            len: a(1),
            prot: flag(c, 2),
            flags: flag(c, 3),
            fd: c.arg_i64(4).unwrap_or(-1),
            off: a(5),
        },
        "munmap" => Call::Munmap { addr: a(0), len: a(1) },
        "mprotect" | "pkey_mprotect" => Call::Mprotect { addr: a(0), len: a(1), prot: flag(c, 2) },
        "mremap" => Call::Mremap { old_addr: a(0), old_len: a(1), new_len: a(2), flags: flag(c, 3), new_addr: a(4) },
        "brk" => Call::Brk { addr: a(0) },
        "madvise" => {
            Call::Madvise { addr: a(0), len: a(1), advice: c.arg(2).and_then(Arg::flags_value).unwrap_or(u64::MAX) }
        }
        "mlock" => Call::Mlock { addr: a(0), len: a(1) },
        "munlock" => Call::Munlock { addr: a(0), len: a(1) },
        "mlock2" => Call::Mlock2 { addr: a(0), len: a(1), flags: flag(c, 2) },
        "mlockall" => Call::Mlockall { flags: flag(c, 0) },
        "munlockall" => Call::Munlockall,
        "msync" => Call::Msync { addr: a(0), len: a(1), flags: flag(c, 2) },
        "mincore" => Call::Mincore { addr: a(0), len: a(1), vec: c.arg_u64(2)? },
        "ftruncate" => Call::Ftruncate { fd: c.arg_i64(0).unwrap_or(-1), len: a(1) },
        // The key is a C int (IPC_PRIVATE or hex); the mode sits in the flags in octal.
        "shmget" => Call::Shmget { key: i64::from(flag(c, 0) as i32), size: a(1), flags: flag(c, 2) },
        "shmat" => Call::Shmat { shmid: c.arg_i64(0).unwrap_or(-1), addr: a(1), flags: flag(c, 2) },
        "shmdt" => Call::Shmdt { addr: a(0) },
        // A structure strace decoded (IPC_STAT's result, IPC_SET's input) hides the buffer's
        // address: the call is not one the model can make.
        "shmctl" => Call::Shmctl {
            shmid: c.arg_i64(0).unwrap_or(-1),
            cmd: flag(c, 1),
            buf: if c.arg(2).is_some_and(|b| b.as_u64().is_none() && !b.is_null()) { return None } else { a(2) },
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use trace::Parser;

    fn parse(line: &str) -> Syscall {
        let text = format!("{line} = 0\n");
        let event = Parser::new(text.as_bytes()).next().expect("a line").expect("parses");
        event.syscall().expect("a call").clone()
    }

    fn int() -> impl Strategy<Value = u64> {
        prop_oneof![Just(0u64), 0..0x1_0000u64, any::<u64>(), (0..0x8000_0000u64).prop_map(|p| p << 12)]
    }

    fn bits() -> impl Strategy<Value = u64> {
        prop_oneof![Just(0u64), 0..0x40u64, any::<u32>().prop_map(u64::from)]
    }

    fn call() -> impl Strategy<Value = Call> {
        let fd = prop_oneof![Just(-1i64), 0..1024i64, any::<i32>().prop_map(i64::from)];
        prop_oneof![
            (int(), int(), bits(), bits(), fd.clone(), int())
                .prop_map(|(addr, len, prot, flags, fd, off)| Call::Mmap { addr, len, prot, flags, fd, off }),
            (int(), int()).prop_map(|(addr, len)| Call::Munmap { addr, len }),
            (int(), int(), bits()).prop_map(|(addr, len, prot)| Call::Mprotect { addr, len, prot }),
            (int(), int(), int(), bits(), int()).prop_map(|(old_addr, old_len, new_len, flags, new_addr)| {
                // strace shows the new address only with MREMAP_MAYMOVE|MREMAP_FIXED.
                let shown = flags & 3 == 3;
                Call::Mremap { old_addr, old_len, new_len, flags, new_addr: if shown { new_addr } else { 0 } }
            }),
            int().prop_map(|addr| Call::Brk { addr }),
            (int(), int(), bits()).prop_map(|(addr, len, advice)| Call::Madvise { addr, len, advice }),
            (int(), int()).prop_map(|(addr, len)| Call::Mlock { addr, len }),
            (int(), int()).prop_map(|(addr, len)| Call::Munlock { addr, len }),
            (int(), int(), bits()).prop_map(|(addr, len, flags)| Call::Mlock2 { addr, len, flags }),
            bits().prop_map(|flags| Call::Mlockall { flags }),
            Just(Call::Munlockall),
            (int(), int(), bits()).prop_map(|(addr, len, flags)| Call::Msync { addr, len, flags }),
            (int(), int(), int()).prop_map(|(addr, len, vec)| Call::Mincore { addr, len, vec }),
            (fd, int()).prop_map(|(fd, len)| Call::Ftruncate { fd, len }),
            (any::<i32>(), int(), bits()).prop_map(|(key, size, flags)| Call::Shmget {
                key: i64::from(key),
                size,
                flags
            }),
            (any::<i32>(), int(), bits()).prop_map(|(shmid, addr, flags)| Call::Shmat {
                shmid: i64::from(shmid),
                addr,
                flags
            }),
            int().prop_map(|addr| Call::Shmdt { addr }),
            (any::<i32>(), 0..20u64, int()).prop_map(|(shmid, cmd, buf)| Call::Shmctl {
                shmid: i64::from(shmid),
                cmd,
                buf
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn printed_then_parsed_is_the_same_call(call in call()) {
            let line = call.to_string();
            prop_assert_eq!(call_of(&parse(&line)), Some(call), "{}", line);
        }
    }

    #[test]
    fn reads_lines_strace_printed() {
        let cases = [
            "mmap(0x7f2cc9bff000, 1400832, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x26000)",
            "madvise(0xffffffffffffffff, 4096, 0x4d /* MADV_??? */)",
            "mremap(0xffffffffffffffff, 16384, 16384, MREMAP_MAYMOVE|MREMAP_FIXED, 0xfffff)",
            "mlock2(0x7f2cc9dc2000, 4096, 0)",
            "munlockall()",
            "shmget(IPC_PRIVATE, 10000, IPC_CREAT|0600)",
            "shmget(0x777, 0, 000)",
            "shmat(3, NULL, SHM_RDONLY|SHM_EXEC)",
            "shmdt(0x7f68f3712000)",
            "shmctl(3, IPC_RMID, NULL)",
        ];
        for line in cases {
            assert_eq!(call_of(&parse(line)).map(|c| c.to_string()).as_deref(), Some(line));
        }
        assert_eq!(call_of(&parse("mincore(0x7f2cc9dc2000, 8192, [1, 0])")), None);
        assert_eq!(call_of(&parse("getpid()")), None);
        assert_eq!(
            call_of(&parse("pkey_mprotect(0x1000, 4096, PROT_READ, 1)")),
            Some(Call::Mprotect { addr: 0x1000, len: 4096, prot: 1 })
        );
    }
}
