//! The call-dispatch target: bytes decoded into system calls with arbitrary arguments.
//!
//! Each step is an opcode byte and its arguments. A number is read as a selector byte and
//! what it asks for: an edge value from [`EDGES`] (0, page edges, the top of the user
//! address space, 2^63, 2^64 - 1, ...), a page count, an address in a small window where
//! mappings collide, or eight raw bytes. Flag words are bits chosen from the ABI's name
//! tables, or raw. The input running out ends the sequence (missing bytes read as zero).

use abi::*;
use mm::invariants::{check_kernel, check_no_leaks};
use mm::{Call, Config, Kernel, Pid, Rlimit};

/// Where the window of colliding fixed mappings starts.
const WINDOW: u64 = 0x2000_0000;

/// Values that break arithmetic on addresses and lengths.
const EDGES: [u64; 24] = [
    0,
    1,
    0xfff,
    0x1000,
    0x1001,
    0x20_0000,
    0x1_0000,
    0x40_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_e000,
    0x7fff_ffff_f000,
    0x7fff_ffff_ffff,
    0x8000_0000_0000,
    0x0000_4000_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    0xffff_8000_0000_0000,
    0xffff_ffff_ffff_f000,
    0xffff_ffff_ffff_fffe,
    u64::MAX,
    0x7fff_f7ff_f000,
];

/// Longest load, store or kernel copy a step makes: the caller's buffer is the fuzzer's
/// host allocation, not the model's.
const MAX_ACCESS: u64 = 3 * 4096 + 17;

/// The simulated RAM of [`run_calls`]: 4 MiB, 1,024 frames. Filling it takes a
/// populate of a few hundred pages, so the reclaim and OOM paths are reached as often as with
/// more, while the invariant check after every step (a walk over every frame and page
/// table) costs a quarter of what it did at 16 MiB: under AFL's instrumentation the
/// inputs that fill RAM ran 10-20 ms at 16 MiB and dominated the run.
pub const RAM: u64 = 4 << 20;

/// Most processes alive at once (forks beyond fail as if out of pids).
const MAX_PROCS: usize = 8;

/// A reader of the fuzzer's bytes.
struct Input<'a> {
    data: &'a [u8],
}

impl Input<'_> {
    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn raw(&mut self) -> u64 {
        let mut v = [0u8; 8];
        for b in &mut v {
            *b = self.byte();
        }
        u64::from_le_bytes(v)
    }

    /// An address, a length or an offset.
    fn num(&mut self) -> u64 {
        let sel = self.byte();
        match sel & 7 {
            0 | 1 => EDGES[usize::from(sel >> 3) % EDGES.len()],
            2 | 3 => u64::from(self.byte()) * 4096 + u64::from(sel >> 4),
            4 | 5 => WINDOW + u64::from(self.byte()) * 4096 + if sel & 0x80 != 0 { u64::from(sel >> 3 & 7) } else { 0 },
            6 => self.raw(),
            _ => EDGES[usize::from(self.byte()) % EDGES.len()].wrapping_add(u64::from(sel >> 3)).wrapping_sub(8),
        }
    }

    /// Bits chosen from a name table, or a raw word.
    fn flags(&mut self, names: &[(&str, u64)]) -> u64 {
        let sel = self.byte();
        if sel == 0xff {
            return self.raw();
        }
        let mask = u16::from(sel) | u16::from(self.byte()) << 8;
        names.iter().enumerate().filter(|(i, _)| mask & (1 << (i % 16)) != 0).fold(0, |acc, (_, (_, v))| acc | v)
    }

    /// One value from a name table, or a raw word.
    fn one_of(&mut self, names: &[(&str, u64)]) -> u64 {
        let sel = usize::from(self.byte());
        match names.get(sel) {
            Some(&(_, v)) => v,
            None if sel == 0xff => self.raw(),
            None => sel as u64,
        }
    }

    fn prot(&mut self) -> u64 {
        match self.byte() {
            0xff => self.raw(),
            b => {
                u64::from(b & 7)
                    | if b & 0x80 != 0 { PROT_GROWSDOWN } else { 0 }
                    | if b & 0x40 != 0 { PROT_SEM } else { 0 }
            }
        }
    }

    fn map_flags(&mut self) -> u64 {
        let b = self.byte();
        let ty = [MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE, 0, MAP_DROPPABLE, MAP_TYPE, MAP_PRIVATE, MAP_SHARED]
            [usize::from(b & 7)];
        let anon = if b & 8 == 0 { MAP_ANONYMOUS } else { 0 };
        let fixed = [0, MAP_FIXED, MAP_FIXED_NOREPLACE, 0][usize::from(b >> 4 & 3)];
        let rest = if b & 0x40 != 0 { self.flags(MAP_NAMES) } else { 0 };
        let raw = if b & 0x80 != 0 { self.raw() } else { 0 };
        ty | anon | fixed | rest | raw
    }

    fn fd(&mut self) -> i64 {
        match self.byte() {
            0xff => self.raw() as i64,
            b => i64::from(b % 8) - 1,
        }
    }
}

/// A kernel and its live processes.
type Machine = (Kernel, Vec<Pid>);

/// A fresh machine: a small RAM of `ram` bytes (every populate, OOM kill and invariant
/// check is bounded by it), a file `/data` of six and a half pages, two processes (one
/// running the scenario language's demo program, one empty) each with `/data` open
/// read-write as fd 3 and read-only as fd 4. Built once per thread and RAM size and cloned
/// for each input: building it (the program's image, the files) costs more than most
/// inputs' calls.
fn machine(ram: u64) -> Machine {
    thread_local! {
        static TEMPLATES: std::cell::RefCell<Vec<(u64, Machine)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    TEMPLATES.with(|t| {
        let mut t = t.borrow_mut();
        if let Some((_, m)) = t.iter().find(|(r, _)| *r == ram) {
            return m.clone();
        }
        let m = build_machine(ram);
        t.push((ram, m.clone()));
        m
    })
}

fn build_machine(ram: u64) -> Machine {
    let mut k = Kernel::new(Config { ram_bytes: ram, event_capacity: 64, ..Config::default() });
    let data: Vec<u8> = (0..6 * 4096 + 2048).map(|i: u32| (i / 4096 * 17 + i % 251) as u8 | 1).collect();
    k.create_file("/data", &data);
    let path = script::program::program_path("a");
    let file = k.create_file(&path, &script::program::program_bytes("a"));
    let image = script::program::program_image();
    let mut pids = Vec::new();
    if let Ok(p) = k.spawn(&mm::ExecRequest::new(&path, mm::ExecFile { file, image })) {
        pids.push(p);
    }
    if let Ok(p) = k.spawn_empty("b") {
        pids.push(p);
    }
    for &p in &pids {
        let _ = k.open(p, "/data", O_RDWR);
        let _ = k.open(p, "/data", O_RDONLY);
    }
    (k, pids)
}

/// Runs one address-space call through the model's one entry for them, and prints it as
/// strace would (the printing must not fail on any arguments either).
fn call(k: &mut Kernel, pid: Pid, call: Call) {
    let _ = call.to_string();
    let _ = k.dispatch(pid, &call);
}

/// Decodes `data` into calls and applies them on a machine of [`RAM`]; see the module's
/// documentation.
pub fn run_calls(data: &[u8]) {
    run_calls_with_ram(data, RAM);
}

/// [`run_calls`] on a machine of `ram` bytes (the corpus test also runs every input at the
/// 16 MiB the fuzzer once used, where some of the inputs it found first crashed).
pub fn run_calls_with_ram(data: &[u8], ram: u64) {
    let mut inp = Input { data };
    let (mut k, mut pids) = machine(ram);
    check_kernel(&k);
    let mut steps = 0;
    while !inp.is_empty() && steps < 256 && !pids.is_empty() {
        steps += 1;
        let op = inp.byte();
        let who = usize::from(op >> 5) % pids.len();
        let pid = pids[who];
        match op & 31 {
            0 | 1 => {
                let (addr, len, prot, flags, fd, off) =
                    (inp.num(), inp.num(), inp.prot(), inp.map_flags(), inp.fd(), inp.num());
                call(&mut k, pid, Call::Mmap { addr, len, prot, flags, fd, off });
            }
            2 => {
                call(&mut k, pid, Call::Munmap { addr: inp.num(), len: inp.num() });
            }
            3 => {
                call(&mut k, pid, Call::Mprotect { addr: inp.num(), len: inp.num(), prot: inp.prot() });
            }
            4 => {
                let (addr, old, new, flags, to) = (inp.num(), inp.num(), inp.num(), inp.flags(MREMAP_NAMES), inp.num());
                call(&mut k, pid, Call::Mremap { old_addr: addr, old_len: old, new_len: new, flags, new_addr: to });
            }
            5 => {
                call(&mut k, pid, Call::Brk { addr: inp.num() });
            }
            6 => {
                let (addr, len, advice) = (inp.num(), inp.num(), inp.one_of(MADV_NAMES));
                call(&mut k, pid, Call::Madvise { addr, len, advice });
            }
            7 => {
                call(&mut k, pid, Call::Mlock { addr: inp.num(), len: inp.num() });
            }
            8 => {
                let (addr, len, flags) = (inp.num(), inp.num(), inp.flags(MLOCK_NAMES));
                call(&mut k, pid, Call::Mlock2 { addr, len, flags });
            }
            9 => {
                call(&mut k, pid, Call::Munlock { addr: inp.num(), len: inp.num() });
            }
            10 => {
                call(&mut k, pid, Call::Mlockall { flags: inp.flags(MCL_NAMES) });
            }
            11 => {
                call(&mut k, pid, Call::Munlockall);
            }
            12 => {
                let (addr, len, vec) = (inp.num(), inp.num(), inp.num());
                call(&mut k, pid, Call::Mincore { addr, len, vec });
            }
            13 => {
                let (addr, len, flags) = (inp.num(), inp.num(), inp.flags(MS_NAMES));
                call(&mut k, pid, Call::Msync { addr, len, flags });
            }
            14 => {
                if pids.len() < MAX_PROCS {
                    if let Ok(child) = k.fork(pid) {
                        pids.push(child);
                    }
                }
            }
            15 => {
                if pids.len() < MAX_PROCS {
                    if let Ok(t) = k.clone_task(pid, true) {
                        pids.push(t);
                    }
                }
            }
            16 => {
                let _ = k.exit(pid, 0);
                let _ = k.reap(pid);
                pids.remove(who);
            }
            17 | 18 => {
                let (addr, len) = (inp.num(), inp.num() % MAX_ACCESS);
                let _ = k.load(pid, addr, len);
            }
            19 | 20 => {
                let (addr, len, byte) = (inp.num(), inp.num() % MAX_ACCESS, inp.byte());
                let _ = k.store(pid, addr, &vec![byte; len as usize]);
            }
            21 => {
                let (addr, len) = (inp.num(), inp.num() % MAX_ACCESS);
                let _ = k.copy_from_user(pid, addr, len);
            }
            22 => {
                let (addr, len, byte) = (inp.num(), inp.num() % MAX_ACCESS, inp.byte());
                let _ = k.copy_to_user(pid, addr, &vec![byte; len as usize]);
            }
            23 => {
                let (addr, len) = (inp.num(), inp.num() % MAX_ACCESS);
                let _ = k.load_partial(pid, addr, len);
                let _ = k.exec_at(pid, addr);
            }
            24 => {
                let (addr, len, byte) = (inp.num(), inp.num() % MAX_ACCESS, inp.byte());
                let _ = k.store_partial(pid, addr, &vec![byte; len as usize]);
            }
            25 => {
                let r = [Rlimit::Stack, Rlimit::Data, Rlimit::As, Rlimit::Memlock][usize::from(inp.byte() & 3)];
                let _ = k.setrlimit(pid, r, inp.num());
            }
            26 => {
                let (fd, buf, len) = (inp.fd(), inp.num(), inp.num() % MAX_ACCESS);
                if inp.byte() & 1 == 0 {
                    let _ = k.read(pid, fd, buf, len);
                } else {
                    let _ = k.write(pid, fd, buf, len);
                }
            }
            27 => {
                let (fd, len) = (inp.fd(), inp.num());
                call(&mut k, pid, Call::Ftruncate { fd, len });
            }
            28 => match inp.byte() % 4 {
                0 => {
                    let _ = k.open(pid, "/data", inp.flags(O_NAMES));
                }
                1 => {
                    let _ = k.close(pid, inp.fd());
                }
                2 => {
                    let _ = k.dup(pid, inp.fd());
                }
                _ => {
                    let _ = k.memfd_create(pid, "fuzz", inp.flags(MFD_NAMES));
                }
            },
            29 => {
                let _ = k.personality(pid, inp.num());
            }
            30 => {
                let b = inp.byte();
                if b & 4 != 0 {
                    // SysV shared memory: identifiers are small (the machine's first is 0).
                    let shmid = i64::from(inp.byte() % 4) - i64::from(b & 8 != 0);
                    let c = match (b >> 4) % 4 {
                        0 => Call::Shmget {
                            key: if b & 8 != 0 { 0x77 } else { 0 },
                            size: inp.num(),
                            flags: inp.flags(SHMGET_NAMES) | 0o600,
                        },
                        1 => Call::Shmat { shmid, addr: inp.num(), flags: inp.flags(SHMAT_NAMES) },
                        2 => Call::Shmdt { addr: inp.num() },
                        _ => Call::Shmctl { shmid, cmd: inp.one_of(SHMCTL_NAMES), buf: inp.num() },
                    };
                    call(&mut k, pid, c);
                } else if b & 1 == 0 {
                    let _ = k.set_thp_disable(pid, b & 2 != 0);
                } else {
                    let _ = k.drop_capabilities(pid);
                }
            }
            _ => {
                let (addr, len, fd) = (inp.num(), inp.num() % MAX_ACCESS, inp.fd());
                let _ = k.pipe_copy_from_user(pid, addr, len);
                let _ = k.pipe_copy_to_user(pid, addr, &vec![0x5a; len as usize]);
                let _ = k.set_cloexec(pid, fd, true);
            }
        }
        check_kernel(&k);
    }
    for pid in pids {
        let _ = k.exit(pid, 0);
        let _ = k.reap(pid);
    }
    check_no_leaks(&k);
}
