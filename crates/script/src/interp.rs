//! The interpreter: runs [`Stmt`]s against an [`mm::Kernel`], keeping the script's state
//! (processes by name, the current process, variables, and the `errno`/`result`/`signal`
//! registers) and reporting to an [`Output`].
//!
//! The trace it writes is modelled on `strace -f`: every line a process causes starts with
//! the process's name, calls are spelled with C names and return values, and failures show
//! the errno and its text. Faults do not kill a simulated process: this is a teaching tool,
//! and seeing what happens after a SIGSEGV is more useful than a dead process. The OOM
//! killer's SIGKILL does end one ([`sysfs`] reports it).

use crate::ast::*;
use crate::error::{Pos, ScriptError};
use crate::output::{ExpectOutcome, Output};
use crate::program;
use crate::value::{self, show_bytes, Value};
use abi::{Errno, PAGE_MASK, PAGE_SIZE};
use mm::{Call, Config, Kernel, Pid, Signal, ThpMode};
use std::collections::{BTreeMap, HashMap};

mod expr;
mod spell;
mod sysfs;

use spell::{fmt_open_flags, fmt_result, mm_call, shown};

/// The most bytes one `load`, `store`, `read`, `write` or `file` may move. The model keeps
/// every touched page in host memory, so an accidental `store p 0 x 1T` must not take the
/// host down.
pub const MAX_TRANSFER: u64 = 64 << 20;

/// Smallest and largest simulated RAM `set ram` accepts.
pub const RAM_RANGE: (u64, u64) = (1 << 20, 1 << 40);

/// How a run behaves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Check every invariant of the model after every statement (and let the model check
    /// itself after every call). A violation is a bug in the model and panics.
    pub paranoid: bool,
}

/// What the script knows about one process it named.
#[derive(Clone, Debug)]
struct Proc {
    pid: Pid,
    /// The first event sequence number `events` has not shown yet.
    events_seq: u64,
    alive: bool,
    /// Its wait status once it ended (exit code << 8, or the signal that killed it).
    status: Option<i32>,
}

/// The state of a running script.
#[derive(Clone, Debug)]
pub struct Interpreter {
    kernel: Kernel,
    opts: Options,
    procs: BTreeMap<String, Proc>,
    current: Option<String>,
    vars: HashMap<String, Value>,
    errno: u64,
    result: u64,
    signal: u64,
    sigcode: u64,
    sigaddr: u64,
    passed: usize,
    failed: usize,
    /// Kernel log lines `dmesg` has shown.
    kmsg_shown: usize,
    /// The kernel's count of tasks signals ended, when kills were last looked for.
    kills_noticed: u64,
}

type RResult<T> = Result<T, ScriptError>;

/// How a call's return value is shown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ret {
    Hex,
    Dec,
}

impl Interpreter {
    /// A fresh machine with the default configuration (4 GiB of RAM, Linux's sysctls).
    pub fn new(opts: Options) -> Self {
        let config = Config { paranoid: opts.paranoid, ..Config::default() };
        Interpreter {
            kernel: Kernel::new(config),
            opts,
            procs: BTreeMap::new(),
            current: None,
            vars: HashMap::new(),
            errno: 0,
            result: 0,
            signal: 0,
            sigcode: 0,
            sigaddr: 0,
            passed: 0,
            failed: 0,
            kmsg_shown: 0,
            kills_noticed: 0,
        }
    }

    /// The simulated machine.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// How many expects passed and failed so far.
    pub fn expect_counts(&self) -> (usize, usize) {
        (self.passed, self.failed)
    }

    /// The pid of a named process that is still running.
    pub fn pid_of(&self, name: &str) -> Option<Pid> {
        self.procs.get(name).filter(|p| p.alive).map(|p| p.pid)
    }

    /// Runs every statement of `program` in order, stopping at the first error.
    pub fn run_program(&mut self, program: &Program, out: &mut dyn Output) -> RResult<()> {
        for stmt in &program.stmts {
            self.run_stmt(stmt, out)?;
        }
        Ok(())
    }

    /// Parses and runs one line (as the REPL does); `line` numbers it for errors.
    pub fn run_line(&mut self, text: &str, line: usize, out: &mut dyn Output) -> RResult<()> {
        match crate::parser::parse_line(text, line)? {
            Some(stmt) => self.run_stmt(&stmt, out),
            None => Ok(()),
        }
    }

    /// Runs one statement.
    pub fn run_stmt(&mut self, stmt: &Stmt, out: &mut dyn Output) -> RResult<()> {
        let cx = Cx { proc: stmt.proc.as_ref(), pos: stmt.pos };
        match &stmt.kind {
            StmtKind::Process { name, empty, i386 } => self.process(name, *empty, *i386, out)?,
            StmtKind::Use(name) => {
                self.live(name)?;
                self.current = Some(name.name.clone());
            }
            StmtKind::File { path, contents } => self.file(cx, path, contents, out)?,
            StmtKind::Import { path } => self.import(cx, path, out)?,
            StmtKind::Report { path } => {
                let path = self.path(cx, path)?;
                let done =
                    out.report(&path).map_err(|e| cx.pos.error(format!("cannot write the report {path}: {e}")))?;
                emit(out, done);
            }
            StmtKind::Set { name, value } => self.set(cx, name, value)?,
            StmtKind::Let { var, value } => {
                let v = self.eval(cx, value)?;
                self.vars.insert(var.name.clone(), v);
            }
            StmtKind::Call { var, call, args } => self.call(cx, var.as_ref(), *call, args, out)?,
            StmtKind::Store { addr, data } => self.store(cx, addr, data, out)?,
            StmtKind::Load { addr, len } => {
                let (name, pid) = self.target(cx, None)?;
                let addr = self.int(cx, addr)?;
                let len = self.length(cx, len)?;
                let shown = match self.kernel.load(pid, addr, len) {
                    Ok(bytes) => {
                        self.clear_signal();
                        show_bytes(&bytes)
                    }
                    Err(sig) => self.fault(sig),
                };
                emit(out, format!("{name}: load {addr:#x} {len} = {shown}"));
            }
            StmtKind::Exec { addr } => {
                let (name, pid) = self.target(cx, None)?;
                let addr = self.int(cx, addr)?;
                let shown = match self.kernel.exec_at(pid, addr) {
                    Ok(()) => {
                        self.clear_signal();
                        "ok".to_string()
                    }
                    Err(sig) => self.fault(sig),
                };
                emit(out, format!("{name}: exec {addr:#x} = {shown}"));
            }
            StmtKind::View { view, name } => self.view(cx, *view, name.as_ref(), out)?,
            StmtKind::Free => {
                let f = &self.kernel.machine().frames;
                let (free, total) = (f.free_frames(), f.total_frames());
                emit(out, format!("free: {free} of {total} frames free ({} KiB of {} KiB)", free * 4, total * 4));
            }
            StmtKind::Swapon { path, size, priority } => {
                let path = String::from_utf8_lossy(&self.string(cx, path)?).into_owned();
                let size = self.int(cx, size)?;
                let priority = match priority {
                    Some(p) => Some(
                        i32::try_from(self.int(cx, p)? as i64).map_err(|_| p.pos().error("priority out of range"))?,
                    ),
                    None => None,
                };
                let spec = mm::swap::SwapSpec { path: path.clone(), size, priority, partition: false };
                match self.kernel.swapon(&spec) {
                    Ok(()) => emit(out, format!("swapon {path}: {} KiB of swap", (size >> 12).saturating_sub(1) * 4)),
                    Err(e) => emit(out, format!("swapon {path}: -1 {}", e.name())),
                }
            }
            StmtKind::Swapoff { path } => {
                let path = String::from_utf8_lossy(&self.string(cx, path)?).into_owned();
                match self.kernel.swapoff(&path) {
                    Ok(()) => emit(out, format!("swapoff {path}: every page back in memory")),
                    Err(e) => emit(out, format!("swapoff {path}: -1 {}", e.name())),
                }
            }
            StmtKind::Swaps => out.text(&procfs::swaps(&self.kernel)),
            StmtKind::Print(items) => {
                let mut parts = Vec::new();
                for item in items {
                    match self.eval(cx, &item.expr)? {
                        Value::Str(s) => parts.push(String::from_utf8_lossy(&s).into_owned()),
                        Value::Int(n) => parts.push(format!("{} = {n} ({n:#x})", item.text)),
                    }
                }
                emit(out, parts.join(" "));
            }
            StmtKind::Expect(e) => self.expect(cx, stmt.pos.line, e, out)?,
            k @ (StmtKind::Cat { .. }
            | StmtKind::Echo { .. }
            | StmtKind::Mkdir { .. }
            | StmtKind::Rmdir { .. }
            | StmtKind::Dmesg) => self.sysfs_stmt(cx, k, out)?,
            StmtKind::Kernel { var, call, args } => self.kernel_call(stmt.pos, var.as_ref(), *call, args, out)?,
            StmtKind::KernelView(view) => self.kernel_view(*view, out),
            StmtKind::Module { module, name } => self.module(stmt.pos, *module, name.as_ref(), out)?,
            StmtKind::Explain(addr) => self.explain(stmt.pos, addr, out)?,
        }
        self.notice_kills(out);
        if self.opts.paranoid {
            mm::invariants::check_kernel(&self.kernel);
        }
        Ok(())
    }

    // ---- helpers for the kernel-side statements (kernel_stmt.rs) ----

    pub(crate) fn kernel_mut(&mut self) -> &mut Kernel {
        &mut self.kernel
    }

    pub(crate) fn int_at(&mut self, pos: Pos, e: &Expr) -> RResult<u64> {
        self.int(Cx { proc: None, pos }, e)
    }

    pub(crate) fn set_var(&mut self, name: &str, v: Value) {
        self.vars.insert(name.to_string(), v);
    }

    pub(crate) fn process_for(&self, pos: Pos, named: Option<&Name>) -> RResult<(String, Pid)> {
        self.target(Cx { proc: None, pos }, named)
    }

    // ---- processes ----

    fn process(&mut self, name: &Name, empty: bool, i386: bool, out: &mut dyn Output) -> RResult<()> {
        if self.procs.get(&name.name).is_some_and(|p| p.alive) {
            return Err(name.pos.error(format!("process `{}` already exists", name.name)));
        }
        // A native i386 kernel runs only i386 programs: there the demo program is its i386 build.
        let native_i386 = self.kernel.machine().config.kernel_arch.is_i386();
        let i386 = i386 || native_i386;
        let events_seq = self.kernel.machine().events.next_seq();
        let spawned = if empty {
            self.kernel.spawn_empty(&name.name)
        } else {
            let path = program::program_path(&name.name);
            let file = self.kernel.create_file(&path, &program::program_bytes(&name.name));
            let image = if i386 { program::program_image_i386() } else { program::program_image() };
            self.kernel.spawn(&mm::ExecRequest::new(&path, mm::ExecFile { file, image }))
        };
        let pid = spawned.map_err(|e| name.pos.error(format!("cannot create process `{}`: {e}", name.name)))?;
        self.procs.insert(name.name.clone(), Proc { pid, events_seq, alive: true, status: None });
        self.current = Some(name.name.clone());
        let what = match (empty, i386) {
            (true, _) => "an empty address space".to_string(),
            (false, true) if native_i386 => format!("{} (i386, 3G/1G split)", program::program_path(&name.name)),
            (false, true) => format!("{} (32-bit)", program::program_path(&name.name)),
            (false, false) => program::program_path(&name.name),
        };
        emit(out, format!("process {}: pid {pid}, {what}", name.name));
        Ok(())
    }

    /// The pid of a named process, which must be running.
    fn live(&self, name: &Name) -> RResult<Pid> {
        match self.procs.get(&name.name) {
            Some(p) if p.alive => Ok(p.pid),
            Some(_) => Err(name.pos.error(format!("process `{}` has exited", name.name))),
            None => Err(name.pos.error(format!("unknown process `{}`", name.name))),
        }
    }

    /// The process a statement acts on: the one named, else the `NAME:` prefix, else the
    /// current one.
    fn target(&self, cx: Cx, named: Option<&Name>) -> RResult<(String, Pid)> {
        if let Some(n) = named.or(cx.proc) {
            return Ok((n.name.clone(), self.live(n)?));
        }
        match &self.current {
            Some(c) => match self.procs.get(c) {
                Some(p) if p.alive => Ok((c.clone(), p.pid)),
                _ => Err(cx.pos.error(format!("no current process (`{c}` has exited); name one with `use NAME`"))),
            },
            None => Err(cx.pos.error("no process yet: create one with `process NAME`")),
        }
    }

    // ---- settings and files ----

    fn set(&mut self, cx: Cx, name: &Name, value: &Expr) -> RResult<()> {
        let word = match value {
            Expr::Var(n) if !self.vars.contains_key(&n.name) && value::constant(&n.name).is_none() => {
                Some(n.name.as_str())
            }
            _ => None,
        };
        let vpos = value.pos();
        let limit = |this: &mut Self| -> RResult<u64> {
            match word {
                Some("unlimited" | "RLIM_INFINITY") => Ok(u64::MAX),
                _ => this.int(cx, value),
            }
        };
        match name.name.as_str() {
            "max_map_count" => self.kernel.config_mut().max_map_count = self.int(cx, value)?,
            "swappiness" => {
                let v = self.int(cx, value)?;
                let v = u32::try_from(v).map_err(|_| vpos.error("swappiness must be 0 to 200"))?;
                self.kernel.set_swappiness(v).map_err(|_| vpos.error("swappiness must be 0 to 200"))?;
            }
            "min_free_kbytes" => {
                let v = self.int(cx, value)?;
                self.kernel
                    .set_min_free_kbytes(v)
                    .map_err(|_| vpos.error("min_free_kbytes must be 0 to 2147483647"))?;
            }
            "page_cluster" => {
                let v = self.int(cx, value)?;
                self.kernel.config_mut().page_cluster = u32::try_from(v)
                    .ok()
                    .filter(|&v| v <= 31)
                    .ok_or_else(|| vpos.error("page_cluster must be 0 to 31"))?;
            }
            // Only whole pages of the stack limit matter to Linux (exec masks it with
            // PAGE_MASK, mmap_base rounds its gap to pages, stack sizes are whole pages), and
            // the model expects it page-aligned, so it is stored rounded down.
            "rlimit_stack" => {
                let v = limit(self)?;
                self.kernel.config_mut().rlimit_stack = if v == u64::MAX { v } else { v & PAGE_MASK };
            }
            "rlimit_data" => self.kernel.config_mut().rlimit_data = limit(self)?,
            "rlimit_as" => self.kernel.config_mut().rlimit_as = limit(self)?,
            "thp" => {
                self.kernel.config_mut().thp = match word {
                    Some("always") => ThpMode::Always,
                    Some("madvise") => ThpMode::Madvise,
                    Some("never") => ThpMode::Never,
                    _ => return Err(vpos.error("`set thp` takes always, madvise or never")),
                }
            }
            "fault_around_bytes" => {
                let v = self.int(cx, value)?;
                // Linux accepts powers of two up to one page table's worth of pages.
                if v < PAGE_SIZE || !v.is_power_of_two() || v > 512 * PAGE_SIZE {
                    return Err(vpos.error("fault_around_bytes must be a power of two from 4K to 2M"));
                }
                self.kernel.config_mut().fault_around_bytes = v;
            }
            "ram" => {
                let v = self.int(cx, value)?;
                if !(RAM_RANGE.0..=RAM_RANGE.1).contains(&v) {
                    return Err(vpos.error("ram must be between 1M and 1T"));
                }
                if self.kernel.tasks().next().is_some() || !self.kernel.machine().files.is_empty() {
                    return Err(name.pos.error("`set ram` must come before the first process or file"));
                }
                let config = Config { ram_bytes: v & PAGE_MASK, ..self.kernel.machine().config.clone() };
                self.kernel = Kernel::new(config);
            }
            "cgroup" => {
                let v = self.int(cx, value)?;
                self.set_cgroup_version(v, vpos)?;
            }
            "overcommit_memory" => {
                let v = self.int(cx, value)?;
                if v > 2 {
                    return Err(vpos.error("overcommit_memory takes 0, 1 or 2"));
                }
                self.kernel.config_mut().overcommit_memory = v as u8;
            }
            "arch" => {
                // `i386-pae` lexes as a subtraction of two words; take it as the name it spells.
                let spelled = match value {
                    Expr::Binary { op: BinOp::Sub, left, right, .. } => match (&**left, &**right) {
                        (Expr::Var(a), Expr::Var(b)) => Some(format!("{}-{}", a.name, b.name)),
                        _ => None,
                    },
                    _ => word.map(str::to_string),
                };
                let arch = spelled
                    .as_deref()
                    .and_then(mm::kalloc::KernelArch::from_name)
                    .ok_or_else(|| vpos.error("`set arch` takes x86_64, i386 or i386-pae"))?;
                if self.kernel.tasks().next().is_some() || !self.kernel.machine().files.is_empty() {
                    return Err(name.pos.error("`set arch` must come before the first process or file"));
                }
                let config = self.kernel.machine().config.clone().with_kernel_arch(arch);
                self.kernel = Kernel::new(config);
            }
            other => {
                return Err(name.pos.error(format!(
                    "unknown setting `{other}` (known: arch, max_map_count, ram, rlimit_stack, rlimit_data, \
                     rlimit_as, thp, fault_around_bytes, cgroup, overcommit_memory, page_cluster, swappiness, \
                     min_free_kbytes)"
                )))
            }
        }
        Ok(())
    }

    fn file(&mut self, cx: Cx, path: &Expr, contents: &Expr, out: &mut dyn Output) -> RResult<()> {
        let path = self.path(cx, path)?;
        let bytes = match self.eval(cx, contents)? {
            Value::Str(s) => s,
            Value::Int(n) => {
                if n > MAX_TRANSFER {
                    return Err(contents.pos().error("a file can be at most 64M"));
                }
                program::patterned_contents(n as usize)
            }
        };
        self.kernel.create_file(&path, &bytes);
        emit(out, format!("file {}: {} bytes", path, bytes.len()));
        Ok(())
    }

    /// Reads a host file (the one place the interpreter touches the host's file system) and
    /// imports it read-only with its real identity.
    fn import(&mut self, cx: Cx, path: &Expr, out: &mut dyn Output) -> RResult<()> {
        use std::os::unix::fs::MetadataExt;
        let path = self.path(cx, path)?;
        // A regular file only, read up to its size: a FIFO would block, /dev/zero never end.
        let (meta, bytes) = loader::host::read_regular(std::path::Path::new(&path), MAX_TRANSFER)
            .map_err(|e| cx.pos.error(format!("cannot import {path}: {e}")))?;
        // Linux's new_encode_dev layout of st_dev.
        let dev = meta.dev();
        let major = (((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)) as u32;
        let minor = ((dev & 0xff) | ((dev >> 12) & !0xff)) as u32;
        self.kernel.import_file(&path, major, minor, meta.ino(), std::sync::Arc::from(bytes));
        emit(out, format!("import {path}: {} bytes, device {major:02x}:{minor:02x}, inode {}", meta.len(), meta.ino()));
        Ok(())
    }

    // ---- system calls ----

    fn call(&mut self, cx: Cx, var: Option<&Name>, call: Syscall, args: &[Expr], out: &mut dyn Output) -> RResult<()> {
        // The parser checks this; a syntax tree built by hand might not have been.
        let (lo, hi) = call.arity();
        if args.len() < lo || args.len() > hi {
            return Err(cx.pos.error(format!("`{}` takes {lo} to {hi} arguments, got {}", call.name(), args.len())));
        }
        if call == Syscall::Fork {
            return self.fork(cx, var, args, out);
        }
        let (name, pid) = self.target(cx, None)?;
        if call == Syscall::Exit {
            let code = self.int(cx, &args[0])? as i32;
            emit(out, format!("{name}: exit({code}) = ?"));
            let k = &mut self.kernel;
            let status =
                k.exit(pid, code).and_then(|_| k.reap(pid)).map_err(|e| cx.pos.error(format!("exit failed: {e}")))?;
            if let Some(p) = self.procs.get_mut(&name) {
                p.alive = false;
                p.status = Some((status & 0xff) << 8);
            }
            emit(out, format!("+++ {name} exited with {} +++", status & 0xff));
            return Ok(());
        }
        let (shown, r, ret) = match call {
            Syscall::Mmap
            | Syscall::Munmap
            | Syscall::Mprotect
            | Syscall::Brk
            | Syscall::Ftruncate
            | Syscall::Mremap
            | Syscall::Madvise
            | Syscall::Mlock
            | Syscall::Munlock
            | Syscall::Mlock2
            | Syscall::Mlockall
            | Syscall::Munlockall
            | Syscall::Mincore
            | Syscall::Msync
            | Syscall::Shmget
            | Syscall::Shmat
            | Syscall::Shmdt
            | Syscall::Shmctl => {
                let v = self.ints(cx, args)?;
                let Some(c) = mm_call(call, &v) else {
                    return Err(cx.pos.error(format!("`{}` is not an address-space call", call.name())));
                };
                let ret =
                    if matches!(c, Call::Mmap { .. } | Call::Mremap { .. } | Call::Brk { .. } | Call::Shmat { .. }) {
                        Ret::Hex
                    } else {
                        Ret::Dec
                    };
                (shown(&c), self.kernel.dispatch(pid, &c), ret)
            }
            Syscall::Open => {
                let path = self.path(cx, &args[0])?;
                let flags = self.int(cx, &args[1])?;
                let mut shown = format!("{}, {}", value::quote(path.as_bytes()), fmt_open_flags(flags));
                if let Some(mode) = args.get(2) {
                    shown.push_str(&format!(", {:#o}", self.int(cx, mode)?));
                }
                (shown, self.kernel.open(pid, &path, flags), Ret::Dec)
            }
            Syscall::Close => {
                let fd = self.int(cx, &args[0])? as i64;
                (fd.to_string(), self.kernel.close(pid, fd), Ret::Dec)
            }
            Syscall::Dup => {
                let fd = self.int(cx, &args[0])? as i64;
                (fd.to_string(), self.kernel.dup(pid, fd), Ret::Dec)
            }
            Syscall::Read | Syscall::Write => {
                let fd = self.int(cx, &args[0])? as i64;
                let buf = self.int(cx, &args[1])?;
                let len = self.length(cx, &args[2])?;
                let r = if call == Syscall::Read {
                    self.kernel.read(pid, fd, buf, len)
                } else {
                    self.kernel.write(pid, fd, buf, len)
                };
                (format!("{fd}, {buf:#x}, {len}"), r, Ret::Dec)
            }
            Syscall::Pwrite => {
                let fd = self.int(cx, &args[0])? as i64;
                let data = self.string(cx, &args[1])?;
                let off = self.int(cx, &args[2])?;
                let shown = format!("{fd}, {}, {off}", value::quote(&data[..data.len().min(value::SHOW_BYTES)]));
                // Linux: ksys_pwrite64 rejects a negative loff_t with EINVAL before anything
                // else. Answered here because the model overflows on such offsets.
                let r = if off > i64::MAX as u64 {
                    Err(Errno::EINVAL)
                } else {
                    self.kernel.pwrite_bytes(pid, fd, &data, off)
                };
                (shown, r, Ret::Dec)
            }
            Syscall::Unlink => {
                let path = self.path(cx, &args[0])?;
                (value::quote(path.as_bytes()), self.kernel.unlink(&path), Ret::Dec)
            }
            Syscall::MemfdCreate => {
                let mname = self.path(cx, &args[0])?;
                let flags = match args.get(1) {
                    Some(f) => self.int(cx, f)?,
                    None => 0,
                };
                let shown =
                    format!("{}, {}", value::quote(mname.as_bytes()), abi::format_bits(flags, abi::MFD_NAMES, "0"));
                (shown, self.kernel.memfd_create(pid, &mname, flags), Ret::Dec)
            }
            Syscall::Fork | Syscall::Exit => unreachable!("handled above"),
        };
        let value = self.record(r);
        emit(out, format!("{name}: {}({shown}) = {}", call.name(), fmt_result(r, ret)));
        if let Some(v) = var {
            self.vars.insert(v.name.clone(), Value::Int(value));
        }
        Ok(())
    }

    /// Sets `errno` and `result` from a call's outcome; returns the value a C program would
    /// see (-1 on failure).
    fn record(&mut self, r: Result<u64, Errno>) -> u64 {
        match r {
            Ok(v) => {
                self.errno = 0;
                self.result = v;
            }
            Err(e) => {
                self.errno = e as i32 as u64;
                self.result = u64::MAX;
            }
        }
        self.result
    }

    fn fork(&mut self, cx: Cx, var: Option<&Name>, args: &[Expr], out: &mut dyn Output) -> RResult<()> {
        let Some(child) = var else {
            return Err(cx.pos.error("`fork` needs a name for the child: `CHILD = fork()`"));
        };
        let named = match args.first() {
            Some(Expr::Var(n)) => Some(n),
            _ => None,
        };
        if let (Some(a), Some(b)) = (named, cx.proc) {
            if a.name != b.name {
                return Err(a.pos.error(format!("the parent is given twice (`{}:` and `{}`)", b.name, a.name)));
            }
        }
        let (parent, ppid) = self.target(cx, named)?;
        if self.procs.get(&child.name).is_some_and(|p| p.alive) {
            return Err(child.pos.error(format!("process `{}` already exists", child.name)));
        }
        let events_seq = self.kernel.machine().events.next_seq();
        let r = self.kernel.fork(ppid).map(u64::from);
        self.record(r);
        match r {
            Ok(pid) => {
                self.procs.insert(child.name.clone(), Proc { pid: pid as Pid, events_seq, alive: true, status: None });
                emit(out, format!("{parent}: fork() = {pid} ({})", child.name));
            }
            Err(_) => emit(out, format!("{parent}: fork() = {}", fmt_result(r, Ret::Dec))),
        }
        Ok(())
    }

    // ---- memory ----

    fn store(&mut self, cx: Cx, addr: &Expr, data: &StoreData, out: &mut dyn Output) -> RResult<()> {
        let (name, pid) = self.target(cx, None)?;
        let addr = self.int(cx, addr)?;
        let (bytes, what) = match data {
            StoreData::Bytes(e) => {
                let s = self.string(cx, e)?;
                if s.len() as u64 > MAX_TRANSFER {
                    return Err(e.pos().error("a store can write at most 64M"));
                }
                let what = value::quote(&s[..s.len().min(value::SHOW_BYTES)]);
                (s, what)
            }
            StoreData::Fill { byte, len } => {
                let b = self.int(cx, byte)?;
                let b = u8::try_from(b).map_err(|_| byte.pos().error("the fill byte must be 0..255"))?;
                let n = self.length(cx, len)?;
                (vec![b; n as usize], format!("{b:#04x} x {n}"))
            }
        };
        let shown = match self.kernel.store(pid, addr, &bytes) {
            Ok(()) => {
                self.clear_signal();
                "ok".to_string()
            }
            Err(sig) => self.fault(sig),
        };
        emit(out, format!("{name}: store {addr:#x} {what} = {shown}"));
        Ok(())
    }

    fn clear_signal(&mut self) {
        self.signal = 0;
        self.sigcode = 0;
        self.sigaddr = 0;
    }

    /// Records a signal in `signal`, `sigcode` and `sigaddr`; returns how it is shown.
    fn fault(&mut self, sig: Signal) -> String {
        self.signal = sig.signo() as u64;
        self.sigcode = sig.code() as u64;
        self.sigaddr = sig.addr();
        sig.to_string()
    }

    // ---- views ----

    fn view_text(&mut self, cx: Cx, view: View, named: Option<&Name>) -> RResult<(String, Pid, String)> {
        let (name, pid) = self.target(cx, named)?;
        let k = &self.kernel;
        let text = match view {
            View::Maps => procfs::maps(k, pid),
            View::Smaps => procfs::smaps(k, pid),
            View::Rollup => procfs::smaps_rollup(k, pid),
            View::Status => procfs::status(k, pid),
            View::Statm => procfs::statm(k, pid),
            View::Events | View::Faults => Ok(String::new()),
        }
        .map_err(|e| cx.pos.error(format!("cannot read the view: {e}")))?;
        Ok((name, pid, text))
    }

    fn view(&mut self, cx: Cx, view: View, named: Option<&Name>, out: &mut dyn Output) -> RResult<()> {
        let (name, pid, text) = self.view_text(cx, view, named)?;
        match view {
            View::Events => {
                let seq = self.procs.get(&name).map(|p| p.events_seq).unwrap_or(0);
                let lines: Vec<String> = self
                    .kernel
                    .machine()
                    .events
                    .since(seq)
                    .filter(|e| e.pid == pid)
                    .map(|e| format!("  {e}\n"))
                    .collect();
                let next = self.kernel.machine().events.next_seq();
                if let Some(p) = self.procs.get_mut(&name) {
                    p.events_seq = next;
                }
                if lines.is_empty() {
                    emit(out, format!("{name}: events: none"));
                } else {
                    emit(out, format!("{name}: events:"));
                    out.text(&lines.concat());
                }
            }
            View::Faults => {
                let t = self.kernel.task(pid);
                let (min, maj) = t.map(|t| (t.min_flt, t.maj_flt)).unwrap_or((0, 0));
                emit(out, format!("{name}: faults: min_flt {min}, maj_flt {maj}"));
            }
            _ => {
                let file = match view {
                    View::Maps => "maps",
                    View::Smaps => "smaps",
                    View::Rollup => "smaps_rollup",
                    View::Status => "status",
                    _ => "statm",
                };
                emit(out, format!("{name}: cat /proc/{pid}/{file}"));
                out.text(&text);
            }
        }
        Ok(())
    }

    // ---- expect ----

    fn expect(&mut self, cx: Cx, line: usize, e: &Expect, out: &mut dyn Output) -> RResult<()> {
        let failure: Option<String> = match &e.check {
            Check::Compare { left, op, right } => {
                let a = self.eval(cx, left)?;
                let b = self.eval(cx, right)?;
                let holds = match (&a, &b) {
                    (Value::Int(x), Value::Int(y)) => op.holds(x, y),
                    (Value::Str(x), Value::Str(y)) => op.holds(x, y),
                    _ => {
                        let p = right.pos();
                        return Err(p.error(format!("cannot compare {} with {}", a.kind(), b.kind())));
                    }
                };
                (!holds).then(|| {
                    let got = self.show_hinted(left, &a);
                    if right.is_literal() {
                        format!("got {got}")
                    } else {
                        format!("got {got}; right side is {}", self.show_hinted(right, &b))
                    }
                })
            }
            Check::Load { proc, addr, len, op, want } => {
                let cx2 = Cx { proc: proc.as_ref(), pos: cx.pos };
                let (_, pid) = self.target(cx2, None)?;
                let addr = self.int(cx, addr)?;
                let len = self.length(cx, len)?;
                let want = self.string(cx, want)?;
                match self.kernel.load(pid, addr, len) {
                    Ok(bytes) => {
                        self.clear_signal();
                        (!op.holds(&bytes, &want)).then(|| format!("got {}", show_bytes(&bytes)))
                    }
                    Err(sig) => Some(format!("got {}", self.fault(sig))),
                }
            }
            Check::Contains { view, name, negated, text } => {
                let needle = self.string(cx, text)?;
                let (pname, _, hay) = self.view_text(cx, *view, name.as_ref())?;
                let found = hay.contains(String::from_utf8_lossy(&needle).as_ref());
                (found == *negated).then(|| {
                    let how = if *negated { "found" } else { "not found" };
                    format!("{how} in {} of {pname}\n{}", view_keyword(*view), indent(&hay))
                })
            }
            Check::Lines { view, name, op, count } => {
                let want = self.int(cx, count)?;
                let (pname, _, hay) = self.view_text(cx, *view, name.as_ref())?;
                let n = hay.lines().count() as u64;
                (!op.holds(&n, &want))
                    .then(|| format!("got {n} lines in {} of {pname}\n{}", view_keyword(*view), indent(&hay)))
            }
        };
        let outcome = ExpectOutcome {
            line,
            passed: failure.is_none(),
            condition: e.text.clone(),
            detail: failure.unwrap_or_default(),
        };
        if outcome.passed {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        out.expect(&outcome);
        Ok(())
    }

    /// Shows a value the way its expression suggests: `errno` as a name, `signal` as a
    /// signal name, other numbers as numbers.
    fn show_hinted(&self, e: &Expr, v: &Value) -> String {
        match (e, v) {
            (Expr::Var(n), Value::Int(x)) if n.name == "errno" => value::errno_name(*x),
            (Expr::Var(n), Value::Int(x)) if n.name == "signal" => value::signal_name(*x),
            _ => v.show(),
        }
    }
}

/// What a statement's expressions need to know: its process prefix and its position.
#[derive(Clone, Copy)]
struct Cx<'a> {
    proc: Option<&'a Name>,
    pos: Pos,
}

fn emit(out: &mut dyn Output, mut line: String) {
    line.push('\n');
    out.text(&line);
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

fn view_keyword(view: View) -> &'static str {
    View::ALL.iter().find(|(v, _)| *v == view).map(|(_, k)| *k).unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::expr::arith;
    use super::*;

    #[test]
    fn arithmetic_is_checked() {
        let p = Pos { line: 1, col: 5 };
        assert_eq!(arith(BinOp::Add, 1, 2, p).unwrap(), 3);
        assert!(arith(BinOp::Add, u64::MAX, 1, p).is_err());
        assert!(arith(BinOp::Sub, 1, 2, p).is_err());
        assert_eq!(arith(BinOp::Div, 7, 0, p).unwrap_err().message, "division by zero");
        assert!(arith(BinOp::Shl, 1, 64, p).is_err());
        assert!(arith(BinOp::Shl, 3, 63, p).is_err());
        assert_eq!(arith(BinOp::Shl, 1, 63, p).unwrap(), 1 << 63);
        assert_eq!(arith(BinOp::Shr, 1, 99, p).unwrap(), 0);
    }

    #[test]
    fn open_flags_spell_the_access_mode() {
        assert_eq!(fmt_open_flags(abi::O_RDONLY), "O_RDONLY");
        assert_eq!(fmt_open_flags(abi::O_RDWR | abi::O_CREAT), "O_RDWR|O_CREAT");
    }
}
