//! `mmsim check`: runs a scenario's system calls on this machine's kernel and on the model,
//! side by side, and reports every difference.
//!
//! The scenario is translated into a host script (`hostdiff::HostScript`): each call,
//! memory access, fork, exit and `/proc` view becomes one step, done by the process the
//! statement names. Addresses are kept symbolic — "the result of step k plus an offset" — so
//! that the host and the model each use their own results; an expression that mixes two
//! results, or a call the host runner does not know, is reported as not checkable. Both sides
//! start from the same address space: the host runner's own process, which the model imports.
//! Files declared with `file "PATH" SIZE` are created by the host runner (with its byte
//! pattern, whatever the scenario's contents) and opened by `open` calls, which are hoisted
//! before the first step. Swap files named by `swapon` are made by the host runner (as root)
//! and activated and deactivated by steps, mid-run as in the scenario (see docs/swap.md).
//! Memory cgroups named by `mkdir` are made by the host runner before the first step (as
//! root, below a group of its own); `echo` to and `cat` of their files, and `rmdir`, are
//! steps; a process the OOM killer ends is reported at its step, and `/proc/self/oom_score`
//! and `oom_score_adj` are read and written by the statement's process (see docs/check.md).
//! `expect` lines, `print`, `events` and other model-only views are skipped; use `mmsim run`
//! for them.

use crate::jobs::Shard;
use abi::Errno;
use hostdiff::compare::{compare, Mismatch};
use hostdiff::{Addr, Fd, HostScript, Op, OpenMode, Outcome};
use mm::memcg::CgroupVersion;
use script::ast::{BinOp, Expr, Func, Program, StmtKind, StoreData, Syscall, UnOp, View};
use std::collections::BTreeMap;
use std::fmt::Write;

/// A value as the translation knows it: a constant, or a step's result plus an offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sym {
    Const(u64),
    Step(usize, i64),
}

impl Sym {
    fn addr(self) -> Addr {
        match self {
            Sym::Const(v) => Addr::Abs(v),
            Sym::Step(op, offset) => Addr::Result { op, offset },
        }
    }
}

/// Why a statement cannot be checked against the host.
#[derive(Debug)]
pub struct Unsupported {
    /// Line of the statement.
    pub line: usize,
    /// What is not supported.
    pub what: String,
}

/// A translated scenario: the host script and, for each step, the scenario line it came from.
#[derive(Debug, Default)]
pub struct Translation {
    /// The steps.
    pub script: HostScript,
    /// Scenario line of each step.
    pub lines: Vec<usize>,
    /// Statements left out (model-only views, expects), with their lines.
    pub skipped: Vec<(usize, String)>,
}

#[derive(Default)]
struct Translator {
    t: Translation,
    vars: BTreeMap<String, Sym>,
    procs: BTreeMap<String, usize>,
    alive: Vec<bool>,
    current: Option<usize>,
    files: BTreeMap<Vec<u8>, usize>,
    fds: BTreeMap<u64, usize>,
    /// Swap files by the scenario's path: the host makes each once, at a path of its own.
    swaps: BTreeMap<Vec<u8>, usize>,
    /// The memory cgroup interface the scenario's paths are for (`set cgroup N`).
    cgroup_version: Option<CgroupVersion>,
    /// Memory cgroups by the scenario's path below the mount: the host makes each before
    /// the first step, below a group of the run's own.
    groups: BTreeMap<String, usize>,
}

fn unsupported<T>(line: usize, what: impl Into<String>) -> Result<T, Unsupported> {
    Err(Unsupported { line, what: what.into() })
}

impl Translator {
    fn eval(&self, line: usize, e: &Expr) -> Result<Sym, Unsupported> {
        match e {
            Expr::Num(v, _) => Ok(Sym::Const(*v)),
            Expr::Var(name) => {
                if let Some(v) = self.vars.get(&name.name) {
                    return Ok(*v);
                }
                if name.name == "NULL" {
                    return Ok(Sym::Const(0));
                }
                match abi::constant(&name.name).or_else(|| Errno::from_name(&name.name).map(|e| e as u64)) {
                    Some(v) => Ok(Sym::Const(v)),
                    None => unsupported(line, format!("unknown name `{}`", name.name)),
                }
            }
            Expr::Unary { op: UnOp::Neg, expr, .. } => match self.eval(line, expr)? {
                Sym::Const(v) => Ok(Sym::Const(v.wrapping_neg())),
                _ => unsupported(line, "negating a call result"),
            },
            Expr::Binary { op, left, right, .. } => {
                let (a, b) = (self.eval(line, left)?, self.eval(line, right)?);
                match (op, a, b) {
                    (_, Sym::Const(x), Sym::Const(y)) => {
                        let v = match op {
                            BinOp::Add => x.wrapping_add(y),
                            BinOp::Sub => x.wrapping_sub(y),
                            BinOp::Mul => x.wrapping_mul(y),
                            BinOp::Div if y != 0 => x / y,
                            BinOp::Rem if y != 0 => x % y,
                            BinOp::Shl => x.checked_shl(y as u32).unwrap_or(0),
                            BinOp::Shr => x.checked_shr(y as u32).unwrap_or(0),
                            BinOp::And => x & y,
                            BinOp::Or => x | y,
                            _ => return unsupported(line, "division by zero"),
                        };
                        Ok(Sym::Const(v))
                    }
                    (BinOp::Add, Sym::Step(k, o), Sym::Const(c)) | (BinOp::Add, Sym::Const(c), Sym::Step(k, o)) => {
                        Ok(Sym::Step(k, o.wrapping_add(c as i64)))
                    }
                    (BinOp::Sub, Sym::Step(k, o), Sym::Const(c)) => Ok(Sym::Step(k, o.wrapping_sub(c as i64))),
                    (BinOp::Sub, Sym::Step(k, o), Sym::Step(j, p)) if k == j => {
                        Ok(Sym::Const(o.wrapping_sub(p) as u64))
                    }
                    _ => unsupported(line, "arithmetic on call results other than `result ± constant`"),
                }
            }
            _ => unsupported(line, "an expression the host cannot evaluate (functions, strings)"),
        }
    }

    fn num(&self, line: usize, e: &Expr) -> Result<u64, Unsupported> {
        match self.eval(line, e)? {
            Sym::Const(v) => Ok(v),
            Sym::Step(..) => unsupported(line, "a call result where a constant is needed"),
        }
    }

    /// The process to make a machine-wide call (swapon, swapoff, a read of /proc/swaps): the
    /// current one, or any still alive.
    fn any_proc(&self, line: usize) -> Result<usize, Unsupported> {
        match self.current.filter(|&p| self.alive[p]).or_else(|| self.alive.iter().position(|&a| a)) {
            Some(p) => Ok(p),
            None => unsupported(line, "no process is alive to make the call"),
        }
    }

    /// The cgroup interface of the scenario's paths (v2 unless `set cgroup 1`).
    fn version(&self) -> CgroupVersion {
        self.cgroup_version.unwrap_or(CgroupVersion::V2)
    }

    /// The group (below the mount) and file a cgroup path names.
    fn cgroup_path(&self, line: usize, path: &Expr) -> Result<(String, Option<String>), Unsupported> {
        let Expr::Str(bytes, _) = path else { return unsupported(line, "a path that is not a string") };
        let text = String::from_utf8_lossy(bytes);
        match mm::ops::cgroup::split_cgroup_path(self.version(), &text) {
            Some((group, file)) if !group.is_empty() => Ok((group, file)),
            Some(_) => unsupported(line, "the root memory cgroup: the host's is its own"),
            None => unsupported(
                line,
                "a file by path other than a memory cgroup's: the host runner reads and writes only those",
            ),
        }
    }

    /// The number of a group the scenario made, and the file the path names in it.
    fn known_group(&self, line: usize, path: &Expr) -> Result<(usize, Option<String>), Unsupported> {
        let (group, file) = self.cgroup_path(line, path)?;
        match self.groups.get(&group) {
            Some(&g) => Ok((g, file)),
            None => unsupported(line, format!("the cgroup `{group}`, which the scenario did not make")),
        }
    }

    fn proc_of(&self, line: usize, name: Option<&script::ast::Name>) -> Result<usize, Unsupported> {
        let p = match name {
            Some(n) => *self
                .procs
                .get(&n.name)
                .ok_or_else(|| Unsupported { line, what: format!("unknown process `{}`", n.name) })?,
            None => self.current.ok_or_else(|| Unsupported { line, what: "no process yet".into() })?,
        };
        if !self.alive[p] {
            return unsupported(line, "the process has exited");
        }
        Ok(p)
    }

    fn push(&mut self, line: usize, proc: usize, op: Op) -> usize {
        self.t.lines.push(line);
        self.t.script.push(proc, op)
    }

    fn stmt(&mut self, line: usize, proc_name: Option<&script::ast::Name>, kind: &StmtKind) -> Result<(), Unsupported> {
        let proc = proc_name;
        match kind {
            StmtKind::Process { i386: true, .. } => {
                return unsupported(line, "`process NAME i386`: the host side runs the 64-bit child only");
            }
            StmtKind::Process { name, .. } => {
                if !self.procs.is_empty() {
                    return unsupported(line, "a second `process`: the host side has one root process (use fork)");
                }
                self.procs.insert(name.name.clone(), 0);
                self.alive.push(true);
                self.current = Some(0);
            }
            StmtKind::Use(name) => self.current = Some(self.proc_of(line, Some(name))?),
            StmtKind::File { path, contents } => {
                let Expr::Str(path, _) = path else { return unsupported(line, "a file path that is not a string") };
                let size = match contents {
                    Expr::Str(bytes, _) => bytes.len() as u64,
                    e => self.num(line, e)?,
                };
                let f = self.t.script.add_file(size);
                self.files.insert(path.clone(), f);
            }
            StmtKind::Import { .. } => {
                return unsupported(line, "`import`: the host runner maps only the files the scenario declares")
            }
            StmtKind::Set { name, value } if name.name == "cgroup" => {
                if !self.groups.is_empty() {
                    return unsupported(line, "`set cgroup` after a `mkdir` of a cgroup");
                }
                self.cgroup_version = match self.num(line, value)? {
                    1 => Some(CgroupVersion::V1),
                    2 => Some(CgroupVersion::V2),
                    _ => return unsupported(line, "`set cgroup` to other than 1 or 2"),
                };
            }
            StmtKind::Set { name, .. } => {
                return unsupported(line, format!("`set {}`: the host's settings are its own", name.name))
            }
            StmtKind::Mkdir { path } => {
                let group = self.cgroup_path(line, path)?.0;
                if self.groups.contains_key(&group) {
                    return unsupported(line, "a second mkdir of one cgroup: the host makes each once, before the run");
                }
                if let Some((parent, _)) = group.rsplit_once('/') {
                    if !self.groups.contains_key(parent) {
                        return unsupported(line, "a cgroup below one the scenario did not make");
                    }
                }
                if self.groups.len() >= hostdiff::MAX_CGROUPS {
                    return unsupported(line, "more memory cgroups than the host runner makes");
                }
                let g = self.t.script.add_memcg(&group);
                self.t.script.memcg_version = Some(self.version());
                self.groups.insert(group, g);
            }
            StmtKind::Rmdir { path } => {
                let g = self.known_group(line, path)?.0;
                let p = self.any_proc(line)?;
                self.push(line, p, Op::CgroupRmdir { group: g });
            }
            StmtKind::Echo { value, path } if proc_self_file(path).is_some() => {
                let file = proc_self_file(path).unwrap_or_default();
                if !hostdiff::PROC_WRITABLE.contains(&file.as_str()) {
                    return unsupported(
                        line,
                        format!("a write to /proc/self/{file}: the host runner writes oom_score_adj only"),
                    );
                }
                // oom_score_adj is signed: a negative value is written as C prints an int.
                let text = (self.num(line, value)? as i64).to_string();
                let p = self.proc_of(line, proc_name)?;
                self.push(line, p, Op::ProcWrite { file, value: text });
            }
            StmtKind::Cat { path } if proc_self_file(path).is_some() => {
                let file = proc_self_file(path).unwrap_or_default();
                if !hostdiff::PROC_READABLE.contains(&file.as_str()) {
                    return unsupported(line, format!("a read of /proc/self/{file}: the host runner reads oom_score and oom_score_adj (and the views smaps, maps, status)"));
                }
                let p = self.proc_of(line, proc_name)?;
                self.push(line, p, Op::ProcRead { file });
            }
            StmtKind::Echo { value, path } => {
                let (group, file) = self.known_group(line, path)?;
                let Some(file) = file else { return unsupported(line, "`echo` to a cgroup directory") };
                if file == "cgroup.procs" || file == "tasks" {
                    // The process moved writes 0 (itself): its pid is each side's own.
                    let mover = match value {
                        Expr::Func { func: Func::Pid, proc, args, .. } if args.is_empty() => {
                            self.proc_of(line, proc.as_ref().or(proc_name))?
                        }
                        _ => return unsupported(line, "a pid other than `pid(NAME)` written to cgroup.procs"),
                    };
                    self.push(line, mover, Op::CgroupWrite { group, file, value: "0".into() });
                    return Ok(());
                }
                let text = match value {
                    Expr::Str(bytes, _) => String::from_utf8_lossy(bytes).into_owned(),
                    Expr::Var(n) if !self.vars.contains_key(&n.name) && abi::constant(&n.name).is_none() => {
                        n.name.clone()
                    }
                    e => self.num(line, e)?.to_string(),
                };
                if !hostdiff::cgroup_word(&text, false) {
                    return unsupported(line, "a cgroup value that is not one short word");
                }
                let p = self.proc_of(line, proc_name)?;
                self.push(line, p, Op::CgroupWrite { group, file, value: text });
            }
            StmtKind::Cat { path } => {
                let (group, file) = self.known_group(line, path)?;
                let Some(file) = file else { return unsupported(line, "`cat` of a cgroup directory") };
                let p = self.proc_of(line, proc_name)?;
                self.push(line, p, Op::CgroupRead { group, file });
            }
            StmtKind::Dmesg => return unsupported(line, "`dmesg`: the host's kernel log is its own"),
            StmtKind::Let { var, value } => {
                let v = self.eval(line, value)?;
                self.vars.insert(var.name.clone(), v);
            }
            StmtKind::Call { var, call, args } => self.call(line, proc, var.as_ref(), *call, args)?,
            StmtKind::Store { addr, data } => {
                let p = self.proc_of(line, proc)?;
                let addr = self.eval(line, addr)?.addr();
                let (len, byte) = match data {
                    StoreData::Fill { byte, len } => (self.num(line, len)?, self.num(line, byte)? as u8),
                    StoreData::Bytes(Expr::Str(bytes, _)) => match bytes.first() {
                        Some(&b) if bytes.iter().all(|&x| x == b) => (bytes.len() as u64, b),
                        _ => {
                            return unsupported(
                                line,
                                "storing a string of different bytes (use `store ADDR BYTE x LEN`)",
                            )
                        }
                    },
                    StoreData::Bytes(_) => return unsupported(line, "storing a computed value"),
                };
                self.push(line, p, Op::Store { addr, len, byte });
            }
            StmtKind::Load { addr, len } => {
                let p = self.proc_of(line, proc)?;
                let addr = self.eval(line, addr)?.addr();
                let len = self.num(line, len)?;
                self.push(line, p, Op::Load { addr, len });
            }
            StmtKind::View { view, name } => {
                let p = self.proc_of(line, name.as_ref().or(proc))?;
                match view {
                    View::Maps => {
                        self.push(line, p, Op::Maps);
                    }
                    View::Smaps => {
                        self.push(line, p, Op::Smaps);
                    }
                    _ => self.t.skipped.push((line, "a view only the model has".into())),
                }
            }
            StmtKind::Swapon { path, size, priority } => {
                let Expr::Str(path, _) = path else {
                    return unsupported(line, "a swap file path that is not a string");
                };
                let size = self.num(line, size)?;
                let priority = match priority {
                    None => None,
                    Some(e) => match i32::try_from(self.num(line, e)?) {
                        Ok(p) if p <= 32767 => Some(p),
                        _ => {
                            return unsupported(
                                line,
                                "a swap priority outside 0..=32767: swapon(2)'s flags cannot carry it",
                            )
                        }
                    },
                };
                let device = match self.swaps.get(path) {
                    Some(&d) if self.t.script.swap_files[d] == hostdiff::SwapFileSpec { size, priority } => d,
                    Some(_) => return unsupported(line, "a second swapon of a path with another size or priority"),
                    None => {
                        if !(hostdiff::MIN_SWAP_FILE_SIZE..=hostdiff::MAX_SWAP_FILE_SIZE).contains(&size) {
                            return unsupported(
                                line,
                                format!(
                                    "a swap file of {size} bytes: the host makes them between {} and {} bytes",
                                    hostdiff::MIN_SWAP_FILE_SIZE,
                                    hostdiff::MAX_SWAP_FILE_SIZE
                                ),
                            );
                        }
                        if self.swaps.len() >= hostdiff::MAX_SWAP_FILES {
                            return unsupported(line, "more swap files than the host runner makes");
                        }
                        let d = self.t.script.add_swap_file(size, priority);
                        self.swaps.insert(path.clone(), d);
                        d
                    }
                };
                let p = self.any_proc(line)?;
                self.push(line, p, Op::Swapon { device });
            }
            StmtKind::Swapoff { path } => {
                let Expr::Str(path, _) = path else {
                    return unsupported(line, "a swap file path that is not a string");
                };
                let Some(&device) = self.swaps.get(path) else {
                    return unsupported(line, "swapoff of a path no earlier swapon of the scenario named");
                };
                let p = self.any_proc(line)?;
                self.push(line, p, Op::Swapoff { device });
            }
            StmtKind::Swaps => {
                let p = self.any_proc(line)?;
                self.push(line, p, Op::Swaps);
            }
            StmtKind::Exec { .. }
            | StmtKind::Free
            | StmtKind::Print(_)
            | StmtKind::Expect(_)
            | StmtKind::Report { .. } => {
                self.t.skipped.push((line, "model-only statement".into()));
            }
            StmtKind::Kernel { .. } | StmtKind::KernelView(_) | StmtKind::Module { .. } | StmtKind::Explain(_) => {
                return unsupported(line, "a kernel-side statement: the host runner runs user code only");
            }
        }
        Ok(())
    }

    fn call(
        &mut self,
        line: usize,
        proc: Option<&script::ast::Name>,
        var: Option<&script::ast::Name>,
        call: Syscall,
        args: &[Expr],
    ) -> Result<(), Unsupported> {
        let p = self.proc_of(line, proc)?;
        let step = match call {
            Syscall::Mmap => {
                let addr = self.eval(line, &args[0])?.addr();
                let len = self.num(line, &args[1])?;
                let prot = self.num(line, &args[2])?;
                let flags = self.num(line, &args[3])?;
                let fdv = self.num(line, &args[4])? as i64;
                let offset = self.num(line, &args[5])?;
                let fd = if flags & abi::MAP_ANONYMOUS != 0 && fdv == -1 {
                    Fd::None
                } else {
                    match self.fds.get(&(fdv as u64)) {
                        Some(&slot) => Fd::Slot(slot),
                        None => Fd::Raw(fdv),
                    }
                };
                Some(self.push(line, p, Op::Mmap { addr, len, prot, flags, fd, offset }))
            }
            Syscall::Munmap => {
                let addr = self.eval(line, &args[0])?.addr();
                let len = self.num(line, &args[1])?;
                Some(self.push(line, p, Op::Munmap { addr, len }))
            }
            Syscall::Mprotect => {
                let addr = self.eval(line, &args[0])?.addr();
                let len = self.num(line, &args[1])?;
                let prot = self.num(line, &args[2])?;
                Some(self.push(line, p, Op::Mprotect { addr, len, prot }))
            }
            Syscall::Brk => {
                let addr = self.eval(line, &args[0])?.addr();
                Some(self.push(line, p, Op::Brk { addr }))
            }
            Syscall::Open => {
                let Expr::Str(path, _) = &args[0] else {
                    return unsupported(line, "an open path that is not a string");
                };
                let Some(&file) = self.files.get(path) else {
                    return unsupported(line, "open of a file not declared with `file` in the scenario");
                };
                let flags = self.num(line, &args[1])?;
                let mode = match flags & abi::O_ACCMODE {
                    abi::O_RDONLY => OpenMode::ReadOnly,
                    abi::O_WRONLY => OpenMode::WriteOnly,
                    _ => OpenMode::ReadWrite,
                };
                let slot = self.t.script.open(file, mode);
                // The host runner opens every file before the first step, in order, from 3.
                let fd = 3 + slot as u64;
                self.fds.insert(fd, slot);
                if let Some(v) = var {
                    self.vars.insert(v.name.clone(), Sym::Const(fd));
                }
                None
            }
            Syscall::Ftruncate => {
                let fd = self.num(line, &args[0])?;
                let Some(&slot) = self.fds.get(&fd) else {
                    return unsupported(line, "ftruncate of an fd not opened by the scenario");
                };
                let len = self.num(line, &args[1])?;
                Some(self.push(line, p, Op::Ftruncate { fd: slot, len }))
            }
            Syscall::Fork => {
                self.push(line, p, Op::Fork);
                let child = self.alive.len();
                self.alive.push(true);
                if let Some(v) = var {
                    self.procs.insert(v.name.clone(), child);
                    self.current = Some(child);
                }
                return Ok(());
            }
            Syscall::Exit => {
                self.push(line, p, Op::Exit);
                self.alive[p] = false;
                None
            }
            Syscall::Mremap => {
                let addr = self.eval(line, &args[0])?.addr();
                let old_len = self.num(line, &args[1])?;
                let new_len = self.num(line, &args[2])?;
                let flags = self.num(line, &args[3])?;
                let new_addr = match args.get(4) {
                    Some(e) => self.eval(line, e)?.addr(),
                    None => Addr::Abs(0),
                };
                Some(self.push(line, p, Op::Mremap { addr, old_len, new_len, flags, new_addr }))
            }
            Syscall::Madvise => {
                let addr = self.eval(line, &args[0])?.addr();
                let (len, advice) = (self.num(line, &args[1])?, self.num(line, &args[2])?);
                Some(self.push(line, p, Op::Madvise { addr, len, advice }))
            }
            Syscall::Mlock | Syscall::Mlock2 => {
                let addr = self.eval(line, &args[0])?.addr();
                let len = self.num(line, &args[1])?;
                let flags = match args.get(2) {
                    Some(e) => self.num(line, e)?,
                    None => 0,
                };
                Some(self.push(line, p, Op::Mlock { addr, len, flags }))
            }
            Syscall::Munlock => {
                let addr = self.eval(line, &args[0])?.addr();
                let len = self.num(line, &args[1])?;
                Some(self.push(line, p, Op::Munlock { addr, len }))
            }
            Syscall::Mlockall => {
                let flags = self.num(line, &args[0])?;
                Some(self.push(line, p, Op::Mlockall { flags }))
            }
            Syscall::Munlockall => Some(self.push(line, p, Op::Munlockall)),
            Syscall::Mincore => {
                // The host runner keeps the vector itself; the scenario's vector address is
                // not used there.
                let addr = self.eval(line, &args[0])?.addr();
                let len = self.num(line, &args[1])?;
                Some(self.push(line, p, Op::Mincore { addr, len }))
            }
            Syscall::Msync => {
                let addr = self.eval(line, &args[0])?.addr();
                let (len, flags) = (self.num(line, &args[1])?, self.num(line, &args[2])?);
                Some(self.push(line, p, Op::Msync { addr, len, flags }))
            }
            other => return unsupported(line, format!("`{}` is not run on the host by check yet", other.name())),
        };
        if let (Some(v), Some(s)) = (var, step) {
            self.vars.insert(v.name.clone(), Sym::Step(s, 0));
        }
        Ok(())
    }
}

/// The file a `/proc/self/FILE` path names (the statement's own process).
fn proc_self_file(path: &Expr) -> Option<String> {
    let Expr::Str(bytes, _) = path else { return None };
    let file = std::str::from_utf8(bytes).ok()?.strip_prefix("/proc/self/")?;
    (!file.is_empty() && !file.contains('/')).then(|| file.to_string())
}

/// Translates a parsed scenario; stops at the first statement that cannot be checked.
pub fn translate(program: &Program) -> Result<Translation, Unsupported> {
    let mut tr = Translator::default();
    for stmt in &program.stmts {
        tr.stmt(stmt.pos.line, stmt.proc.as_ref(), &stmt.kind)?;
    }
    Ok(tr.t)
}

fn describe(o: &Outcome) -> String {
    match o {
        Outcome::Value(v) => format!("{v:#x}"),
        Outcome::Errno(e) => {
            Errno::from_raw(*e).map(|e| format!("-1 {}", e.name())).unwrap_or_else(|| format!("errno {e}"))
        }
        Outcome::Bytes(b) => format!("{} bytes", b.len()),
        Outcome::Signal { signo, code, addr, .. } => format!("signal {signo} (code {code}) at {addr:#x}"),
        Outcome::Text(t) => format!("{} lines of text", t.lines().count()),
        Outcome::Done => "ok".into(),
        Outcome::Killed { signo } => format!("killed by signal {signo}"),
        Outcome::Gone => "not run: the process was gone".into(),
    }
}

/// The result of checking: the report text and the number of differences.
pub struct CheckReport {
    /// Human-readable report.
    pub text: String,
    /// Steps (or random scripts) that differed.
    pub differences: usize,
}

/// Runs a translated scenario on the host and on the model and compares.
pub fn run_check(name: &str, t: &Translation) -> anyhow::Result<CheckReport> {
    if let Err(reason) = hostdiff::support() {
        anyhow::bail!("cannot compare with the host kernel: {reason}");
    }
    let host = hostdiff::run_on_host(&t.script).map_err(|e| anyhow::anyhow!("host run failed: {e}"))?;
    let model =
        hostdiff::model::run_on_model(&t.script, &host.init).map_err(|e| anyhow::anyhow!("model run failed: {e}"))?;
    let mismatches: Vec<Mismatch> = compare(&t.script, &host, &model);
    let mut text = String::new();
    for (i, step) in t.script.steps.iter().enumerate() {
        let line = t.lines.get(i).copied().unwrap_or(0);
        let mark = if mismatches.iter().any(|m| m.step == i) { "DIFF" } else { "same" };
        let _ = writeln!(
            text,
            "{name}:{line}: [{mark}] p{} {:?} -> host {}",
            step.proc,
            step.op,
            describe(&host.outcomes[i])
        );
        for m in mismatches.iter().filter(|m| m.step == i) {
            let _ = writeln!(text, "    model differs: {}", m.what.trim_end().replace('\n', "\n    "));
        }
    }
    for (line, why) in &t.skipped {
        let _ = writeln!(text, "{name}:{line}: skipped ({why})");
    }
    let _ = writeln!(text, "{} steps, {} differences", t.script.steps.len(), mismatches.len());
    Ok(CheckReport { text, differences: mismatches.len() })
}

/// Runs `count` random scripts from `seed` on both sides (only `shard`'s slice of them, on
/// `jobs` threads), with swap files when `swap` (`hostdiff::gen::random_swap_script`);
/// returns the report, the same whatever `jobs`: a line for each script that differed, in
/// seed order, then the count.
pub fn run_random(
    count: u64,
    seed: u64,
    steps: usize,
    swap: bool,
    jobs: usize,
    shard: Shard,
) -> anyhow::Result<CheckReport> {
    if let Err(reason) = hostdiff::support() {
        anyhow::bail!("cannot compare with the host kernel: {reason}");
    }
    if steps > hostdiff::MAX_STEPS {
        anyhow::bail!("--steps {steps}: at most {} steps a script", hostdiff::MAX_STEPS);
    }
    if seed.checked_add(count.saturating_sub(1)).is_none() {
        anyhow::bail!("--seed {seed} with --random {count}: the last seed would be beyond {}", u64::MAX);
    }
    let part = shard.range(count);
    let first = seed + part.start;
    let n = part.end - part.start;
    let mut text = String::new();
    let mut differences = 0;
    let mut total = 0;
    let mut failed = None;
    crate::jobs::run_ordered(
        n,
        jobs,
        |i| one_random(first + i, steps, swap),
        |_, result| match result {
            Ok((steps, difference)) => {
                total += steps;
                if let Some(line) = difference {
                    differences += 1;
                    text.push_str(&line);
                }
                true
            }
            Err(e) => {
                failed = Some(e);
                false
            }
        },
    );
    if let Some(e) = failed {
        return Err(e);
    }
    if shard.is_part() {
        let seeds = if n == 0 { "no seeds".to_string() } else { format!("seeds {first} to {}", first + n - 1) };
        let _ = write!(text, "shard {shard} ({seeds}): ");
    }
    let with = if swap { " with swap" } else { "" };
    let _ = writeln!(text, "{n} random scripts{with} ({total} steps), {differences} with differences");
    Ok(CheckReport { text, differences })
}

/// Runs the random script of `seed` on both sides: its number of steps, and the line that
/// reports its first difference, if any.
fn one_random(seed: u64, steps: usize, swap: bool) -> anyhow::Result<(usize, Option<String>)> {
    let script =
        if swap { hostdiff::gen::random_swap_script(seed, steps) } else { hostdiff::gen::random_script(seed, steps) };
    let host = hostdiff::run_on_host(&script).map_err(|e| anyhow::anyhow!("seed {seed}: host run failed: {e}"))?;
    let model = hostdiff::model::run_on_model(&script, &host.init)
        .map_err(|e| anyhow::anyhow!("seed {seed}: model run failed: {e}"))?;
    let m = compare(&script, &host, &model);
    let line = m.first().map(|first| format!("seed {seed}: step {}: {}\n", first.step, first.what.trim_end()));
    Ok((script.steps.len(), line))
}
