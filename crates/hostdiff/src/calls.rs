//! The model's call vocabulary ([`mm::Call`]) as host steps.
//!
//! [`call_of_op`] is the one place that says which call of the vocabulary a step of a
//! [`crate::HostScript`] makes; the model runner dispatches that call, and the C child
//! (`csrc/hostchild.c`, its `step_call`) makes the same system call on the host. The tests
//! below hold the three together: every variant of `Call` either has a step that carries it
//! (and then the C child, asked with `hostchild calls` what it would pass to the kernel for
//! that step, must name the same system call with the same arguments in the same order) or
//! a stated reason why the host runner never sends it. A new `Call` variant fails them until
//! one of the two is written.

use crate::host::{Addr, Fd, Op};
use mm::Call;

/// The fd the run gives open slot `i` ([`crate::HostScript::opens`]): the child opens them
/// in order before the first step, from 3.
pub(crate) fn slot_fd(i: usize) -> i64 {
    3 + i as i64
}

/// The call of the model's vocabulary that `op` makes, its addresses resolved by `resolve`;
/// `None` for a step that is not one such call (accesses, `/proc` reads, fork and exit,
/// mincore into the child's own vector, setrlimit, dropping capabilities, cgroup files).
pub(crate) fn call_of_op(op: &Op, resolve: impl Fn(Addr) -> u64) -> Option<Call> {
    let call = match *op {
        Op::Mmap { addr, len, prot, flags, fd, offset } => {
            let fd = match fd {
                Fd::None => -1,
                Fd::Slot(s) => slot_fd(s),
                Fd::Raw(r) => r,
            };
            Call::Mmap { addr: resolve(addr), len, prot, flags, fd, off: offset }
        }
        Op::Munmap { addr, len } => Call::Munmap { addr: resolve(addr), len },
        Op::Mprotect { addr, len, prot } => Call::Mprotect { addr: resolve(addr), len, prot },
        Op::Brk { addr } => Call::Brk { addr: resolve(addr) },
        Op::Ftruncate { fd, len } => Call::Ftruncate { fd: slot_fd(fd), len },
        Op::Mremap { addr, old_len, new_len, flags, new_addr } => {
            Call::Mremap { old_addr: resolve(addr), old_len, new_len, flags, new_addr: resolve(new_addr) }
        }
        Op::Madvise { addr, len, advice } => Call::Madvise { addr: resolve(addr), len, advice },
        // The host child calls mlock2 for every mlock step.
        Op::Mlock { addr, len, flags } => Call::Mlock2 { addr: resolve(addr), len, flags },
        Op::Munlock { addr, len } => Call::Munlock { addr: resolve(addr), len },
        Op::Mlockall { flags } => Call::Mlockall { flags },
        Op::Munlockall => Call::Munlockall,
        Op::Msync { addr, len, flags } => Call::Msync { addr: resolve(addr), len, flags },
        Op::Load { .. }
        | Op::Store { .. }
        | Op::KRead { .. }
        | Op::KWrite { .. }
        | Op::Fork
        | Op::Exit
        | Op::Maps
        | Op::Smaps
        | Op::Mincore { .. }
        | Op::Pagemap { .. }
        | Op::Status
        | Op::Setrlimit { .. }
        | Op::DropCaps
        | Op::Swapon { .. }
        | Op::Swapoff { .. }
        | Op::Swaps
        | Op::CgroupWrite { .. }
        | Op::CgroupRead { .. }
        | Op::CgroupRmdir { .. }
        | Op::ProcWrite { .. }
        | Op::ProcRead { .. } => return None,
    };
    Some(call)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{HostScript, OpenMode};

    /// Open slots of the scripts below: fds 3 and 4.
    const OPENS: usize = 2;

    /// The step that sends `call` to the host child, or why the host runner never sends it.
    /// No wildcard: a new variant does not compile until it is given one or the other.
    fn op_of_call(call: &Call) -> Result<Op, &'static str> {
        let fd_arg = |fd: i64| match fd {
            -1 => Fd::None,
            3..=4 => Fd::Slot((fd - 3) as usize),
            _ => Fd::Raw(fd),
        };
        let abs = Addr::Abs;
        Ok(match *call {
            Call::Mmap { addr, len, prot, flags, fd, off } => {
                Op::Mmap { addr: abs(addr), len, prot, flags, fd: fd_arg(fd), offset: off }
            }
            Call::OldMmap { .. } => return Err("i386's old mmap: the host child runs x86-64 calls"),
            Call::Munmap { addr, len } => Op::Munmap { addr: abs(addr), len },
            Call::Mprotect { addr, len, prot } => Op::Mprotect { addr: abs(addr), len, prot },
            Call::Mremap { old_addr, old_len, new_len, flags, new_addr } => {
                Op::Mremap { addr: abs(old_addr), old_len, new_len, flags, new_addr: abs(new_addr) }
            }
            Call::Brk { addr } => Op::Brk { addr: abs(addr) },
            Call::Madvise { addr, len, advice } => Op::Madvise { addr: abs(addr), len, advice },
            Call::Mlock { .. } => return Err("the host child makes every mlock an mlock2 (flags 0)"),
            Call::Mlock2 { addr, len, flags } => Op::Mlock { addr: abs(addr), len, flags },
            Call::Munlock { addr, len } => Op::Munlock { addr: abs(addr), len },
            Call::Mlockall { flags } => Op::Mlockall { flags },
            Call::Munlockall => Op::Munlockall,
            Call::Msync { addr, len, flags } => Op::Msync { addr: abs(addr), len, flags },
            // The vector is the child's own buffer, returned as the step's bytes.
            Call::Mincore { addr, len, .. } => Op::Mincore { addr: abs(addr), len },
            Call::Ftruncate { fd, len } => match fd_arg(fd) {
                Fd::Slot(slot) => Op::Ftruncate { fd: slot, len },
                _ => return Err("ftruncate steps name an fd the run opened"),
            },
            Call::Shmget { .. } | Call::Shmat { .. } | Call::Shmdt { .. } | Call::Shmctl { .. } => {
                return Err("SysV segments outlive the run's child and are compared by the replay of recorded \
                            programs (replay_sysv_shm), not by random host steps")
            }
        })
    }

    /// The system call's name and its arguments in C order, as the kernel receives them;
    /// `None` for a buffer the host child supplies itself.
    fn registers(call: &Call) -> (&'static str, Vec<Option<u64>>) {
        let v = |a: &[u64]| a.iter().map(|&x| Some(x)).collect::<Vec<_>>();
        let args = match *call {
            Call::Mmap { addr, len, prot, flags, fd, off } => v(&[addr, len, prot, flags, fd as u64, off]),
            Call::OldMmap { args } => v(&[args]),
            Call::Munmap { addr, len } | Call::Mlock { addr, len } | Call::Munlock { addr, len } => v(&[addr, len]),
            Call::Mprotect { addr, len, prot } => v(&[addr, len, prot]),
            Call::Mremap { old_addr, old_len, new_len, flags, new_addr } => {
                v(&[old_addr, old_len, new_len, flags, new_addr])
            }
            Call::Brk { addr } => v(&[addr]),
            Call::Madvise { addr, len, advice } => v(&[addr, len, advice]),
            Call::Mlock2 { addr, len, flags } | Call::Msync { addr, len, flags } => v(&[addr, len, flags]),
            Call::Mlockall { flags } => v(&[flags]),
            Call::Munlockall => Vec::new(),
            Call::Mincore { addr, len, .. } => vec![Some(addr), Some(len), None],
            Call::Ftruncate { fd, len } => v(&[fd as u64, len]),
            Call::Shmget { key, size, flags } => v(&[key as u64, size, flags]),
            Call::Shmat { shmid, addr, flags } => v(&[shmid as u64, addr, flags]),
            Call::Shmdt { addr } => v(&[addr]),
            Call::Shmctl { shmid, cmd, buf } => v(&[shmid as u64, cmd, buf]),
        };
        (call.name(), args)
    }

    /// One call of every variant, each argument a different number so that a swapped pair
    /// shows.
    fn samples() -> Vec<Call> {
        vec![
            Call::Mmap { addr: 0x1000_0000, len: 0x3000, prot: 3, flags: 0x22, fd: -1, off: 0x5000 },
            Call::Mmap { addr: 0x2000_0000, len: 0x4000, prot: 1, flags: 0x2, fd: 4, off: 0x6000 },
            Call::Mmap { addr: 0x2100_0000, len: 0x4100, prot: 5, flags: 0x1, fd: 17, off: 0x7000 },
            Call::OldMmap { args: 0x3000_0000 },
            Call::Munmap { addr: 0x1100_0000, len: 0x1000 },
            Call::Mprotect { addr: 0x1200_0000, len: 0x2000, prot: 7 },
            Call::Mremap { old_addr: 0x1300_0000, old_len: 0x1000, new_len: 0x2000, flags: 3, new_addr: 0x1400_0000 },
            Call::Brk { addr: 0x5555_0000_0000 },
            Call::Madvise { addr: 0x1500_0000, len: 0x3000, advice: 21 },
            Call::Mlock { addr: 0x1600_0000, len: 0x1000 },
            Call::Mlock2 { addr: 0x1700_0000, len: 0x5000, flags: 1 },
            Call::Munlock { addr: 0x1800_0000, len: 0x6000 },
            Call::Mlockall { flags: 5 },
            Call::Munlockall,
            Call::Msync { addr: 0x1900_0000, len: 0x7000, flags: 4 },
            Call::Mincore { addr: 0x1a00_0000, len: 0x8000, vec: 0x1b00_0000 },
            Call::Ftruncate { fd: 3, len: 0x9000 },
            Call::Shmget { key: 0x1234, size: 0xa000, flags: 0o1600 },
            Call::Shmat { shmid: 5, addr: 0x1c00_0000, flags: 0o10000 },
            Call::Shmdt { addr: 0x1d00_0000 },
            Call::Shmctl { shmid: 6, cmd: 2, buf: 0x1e00_0000 },
        ]
    }

    /// The variant names `pub enum Call` declares, read from its source.
    fn declared_variants() -> Vec<String> {
        let source = include_str!("../../mm/src/call.rs");
        let body = source.split("pub enum Call {").nth(1).and_then(|s| s.split("\n}").next()).expect("enum Call");
        body.lines()
            .filter(|l| l.starts_with("    ") && !l.starts_with("     "))
            .map(str::trim)
            .filter(|l| l.starts_with(|c: char| c.is_ascii_uppercase()))
            .map(|l| l.split([' ', ',', '{', '(']).next().unwrap_or_default().to_string())
            .collect()
    }

    fn variant(call: &Call) -> String {
        format!("{call:?}").split([' ', '{', '(']).next().unwrap_or_default().to_string()
    }

    #[test]
    fn every_call_variant_has_a_sample() {
        let declared = declared_variants();
        assert!(declared.len() >= 15, "read the variants of Call: {declared:?}");
        for name in &declared {
            assert!(
                samples().iter().any(|c| &variant(c) == name),
                "Call::{name} has no sample here: add one, and say in op_of_call how the host child runs it"
            );
        }
    }

    #[test]
    fn a_step_carries_the_call_it_was_made_from() {
        for call in samples() {
            let Ok(op) = op_of_call(&call) else { continue };
            match op {
                // The model runner takes the vector from mincore_vec, not through Call.
                Op::Mincore { .. } => assert_eq!(call_of_op(&op, |_| 0), None),
                _ => assert_eq!(call_of_op(&op, |a| if let Addr::Abs(v) = a { v } else { 0 }), Some(call)),
            }
        }
    }

    #[test]
    fn the_host_child_makes_the_system_call_of_each_step() {
        let Some(child) = hostreq::need("the host child's calls", crate::host::support()) else { return };
        let mut script = HostScript::new();
        let file = script.add_file(4096);
        for _ in 0..OPENS {
            script.open(file, OpenMode::ReadWrite);
        }
        let mut sent = Vec::new();
        for call in samples() {
            match op_of_call(&call) {
                Ok(op) => {
                    script.push(0, op);
                    sent.push(call);
                }
                Err(why) => assert!(!why.is_empty()),
            }
        }
        let slots = vec![None; script.steps.len()];
        let text = crate::protocol::encode(&script, &slots, &[]);
        let mut cmd = std::process::Command::new(child);
        cmd.arg("calls").stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
        let mut proc = cmd.spawn().expect("start the host child");
        std::io::Write::write_all(&mut proc.stdin.take().expect("stdin"), text.as_bytes()).expect("write the script");
        let out = proc.wait_with_output().expect("host child output");
        assert!(out.status.success(), "hostchild calls: {}", String::from_utf8_lossy(&out.stdout));
        let lines: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(String::from).collect();
        assert_eq!(lines.len(), sent.len(), "{lines:?}");
        for (call, line) in sent.iter().zip(&lines) {
            let (name, args) = registers(call);
            let want = std::iter::once(format!("call {name}"))
                .chain(args.iter().map(|a| a.map_or("own".to_string(), |v| v.to_string())))
                .collect::<Vec<_>>()
                .join(" ");
            assert_eq!(line, &want, "the host child's system call for {call}");
        }
    }
}
