//! The syntax tree of a scenario: [`Program`] → [`Stmt`] → [`StmtKind`], with [`Expr`] for
//! values. Every node that can fail at run time keeps the [`Pos`] it came from.

use crate::error::Pos;

/// A parsed scenario.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Program {
    /// The statements, in order.
    pub stmts: Vec<Stmt>,
}

/// One statement (one line of the script).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stmt {
    /// Where it starts.
    pub pos: Pos,
    /// The process given with a `NAME:` prefix, if any.
    pub proc: Option<Name>,
    /// What it does.
    pub kind: StmtKind,
}

/// A name as written, with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    /// The name.
    pub name: String,
    /// Where it was written.
    pub pos: Pos,
}

/// What a statement does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StmtKind {
    /// `process NAME [empty | i386]`: a new process running the demo program (or with an
    /// empty address space, or the demo program built for i386, which runs as a 32-bit
    /// compat process); it becomes the current process.
    Process {
        /// Its name.
        name: Name,
        /// `empty`: no program, no VMAs.
        empty: bool,
        /// `i386`: the 32-bit demo program.
        i386: bool,
    },
    /// `use NAME`: makes a process the current one.
    Use(Name),
    /// `file "PATH" SIZE|"TEXT"`: a file in the model's file system.
    File {
        /// The path (a string expression).
        path: Expr,
        /// A size (patterned contents) or the contents as a string.
        contents: Expr,
    },
    /// `import "PATH"`: makes a file of this machine visible in the model, with its contents
    /// and its real device and inode numbers (read-only import).
    Import {
        /// The path (a string expression).
        path: Expr,
    },
    /// `set NAME VALUE`: a setting of the simulated machine.
    Set {
        /// The setting.
        name: Name,
        /// Its value; a bare word such as `always` or `unlimited` is an [`Expr::Var`].
        value: Expr,
    },
    /// `VAR = EXPR`: binds a variable.
    Let {
        /// The variable.
        var: Name,
        /// The value.
        value: Expr,
    },
    /// `[VAR =] call(args)`: a system call.
    Call {
        /// The variable that receives the result (for `fork`, the child's process name).
        var: Option<Name>,
        /// The call.
        call: Syscall,
        /// Its arguments.
        args: Vec<Expr>,
    },
    /// `store ADDR "text"` or `store ADDR BYTE x LEN`: the process writes its memory.
    Store {
        /// Address.
        addr: Expr,
        /// What to write.
        data: StoreData,
    },
    /// `load ADDR LEN`: the process reads its memory.
    Load {
        /// Address.
        addr: Expr,
        /// Byte count.
        len: Expr,
    },
    /// `exec ADDR`: the process fetches an instruction.
    Exec {
        /// Address.
        addr: Expr,
    },
    /// `maps`, `smaps`, `rollup`, `status`, `statm`, `events`, `faults` `[NAME]`.
    View {
        /// Which view.
        view: View,
        /// The process named after the view, if any.
        name: Option<Name>,
    },
    /// `free`: free and total frames of the machine.
    Free,
    /// `swapon "PATH" SIZE [priority N]`: activates a swap file of SIZE bytes (as if made
    /// by mkswap), with priority N or the next default one.
    Swapon {
        /// The path (a string expression).
        path: Expr,
        /// Its size in bytes, header page included.
        size: Expr,
        /// The priority given, if any.
        priority: Option<Expr>,
    },
    /// `swapoff "PATH"`: brings every page of the device back and deactivates it.
    Swapoff {
        /// The path (a string expression).
        path: Expr,
    },
    /// `swaps`: the text of `/proc/swaps`.
    Swaps,
    /// `print ITEM, ...`: prints strings as they are and values as `EXPR = N (0xN)`.
    Print(Vec<PrintItem>),
    /// `expect ...`: a check; a failure is reported and the run goes on.
    Expect(Expect),
    /// `cat PATH`: prints a file of `/proc` or of the memory cgroup file system.
    Cat {
        /// The path (a string expression).
        path: Expr,
    },
    /// `echo VALUE > PATH`: writes a value (a number, a string, or a bare word such as
    /// `max`) to a `/proc` or cgroup file.
    Echo {
        /// What is written.
        value: Expr,
        /// The file (a string expression).
        path: Expr,
    },
    /// `mkdir PATH`: creates a memory cgroup.
    Mkdir {
        /// The directory (a string expression).
        path: Expr,
    },
    /// `rmdir PATH`: removes a memory cgroup.
    Rmdir {
        /// The directory (a string expression).
        path: Expr,
    },
    /// `dmesg`: prints the kernel log lines not shown yet.
    Dmesg,
    /// `[VAR =] kmalloc(100)` and the other kernel allocator calls a module makes.
    Kernel {
        /// The variable that receives the result.
        var: Option<Name>,
        /// The call.
        call: KernelCall,
        /// Its arguments.
        args: Vec<Expr>,
    },
    /// `buddyinfo`, `zoneinfo`, `slabinfo`, `vmallocinfo`, `meminfo`, `sysvipc_shm`: machine-wide
    /// /proc files.
    KernelView(KernelView),
    /// `module vmas [NAME]` or `module alloc`: the seeds' two kernel modules.
    Module {
        /// Which module.
        module: Module,
        /// For `vmas`, the process whose VMAs are walked (else the current one).
        name: Option<Name>,
    },
    /// `explain ADDR`: why a kernel address is where it is.
    Explain(Expr),
    /// `report "FILE"`: writes the HTML report of the run so far to FILE (where the
    /// [`crate::Output`] can: `mmsim run` does).
    Report {
        /// The file (a string expression).
        path: Expr,
    },
}

/// A kernel allocator call, as a module makes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelCall {
    /// `__get_free_page()`: one lowmem page, its direct-map address.
    GetFreePage,
    /// `__get_free_pages(order)`.
    GetFreePages,
    /// `free_page(addr)`.
    FreePage,
    /// `free_pages(addr, order)`.
    FreePages,
    /// `alloc_page()`: one page with GFP_HIGHUSER (highmem first); its pfn.
    AllocPage,
    /// `__free_page(pfn)`.
    FreePagePfn,
    /// `kmalloc(size)`.
    Kmalloc,
    /// `kfree(addr)`.
    Kfree,
    /// `vmalloc(size)`.
    Vmalloc,
    /// `vfree(addr)`.
    Vfree,
    /// `kmap(pfn)`.
    Kmap,
    /// `kunmap(pfn)`.
    Kunmap,
}

impl KernelCall {
    /// Every call with its name and argument count.
    pub const ALL: [(KernelCall, &'static str, usize); 12] = [
        (KernelCall::GetFreePage, "__get_free_page", 0),
        (KernelCall::GetFreePages, "__get_free_pages", 1),
        (KernelCall::FreePage, "free_page", 1),
        (KernelCall::FreePages, "free_pages", 2),
        (KernelCall::AllocPage, "alloc_page", 0),
        (KernelCall::FreePagePfn, "__free_page", 1),
        (KernelCall::Kmalloc, "kmalloc", 1),
        (KernelCall::Kfree, "kfree", 1),
        (KernelCall::Vmalloc, "vmalloc", 1),
        (KernelCall::Vfree, "vfree", 1),
        (KernelCall::Kmap, "kmap", 1),
        (KernelCall::Kunmap, "kunmap", 1),
    ];

    /// The call with this name.
    pub fn from_name(name: &str) -> Option<KernelCall> {
        KernelCall::ALL.iter().find(|e| e.1 == name).map(|e| e.0)
    }

    /// The call's C name.
    pub fn name(self) -> &'static str {
        KernelCall::ALL.iter().find(|e| e.0 == self).map_or("?", |e| e.1)
    }

    /// How many arguments it takes.
    pub fn arity(self) -> usize {
        KernelCall::ALL.iter().find(|e| e.0 == self).map_or(0, |e| e.2)
    }
}

/// A machine-wide /proc file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelView {
    /// `/proc/buddyinfo`.
    Buddyinfo,
    /// `/proc/zoneinfo` (essentials).
    Zoneinfo,
    /// `/proc/slabinfo`.
    Slabinfo,
    /// `/proc/vmallocinfo`.
    Vmallocinfo,
    /// `/proc/meminfo`.
    Meminfo,
    /// `/proc/sysvipc/shm`.
    SysvipcShm,
}

impl KernelView {
    /// Every view with its keyword.
    pub const ALL: [(KernelView, &'static str); 6] = [
        (KernelView::Buddyinfo, "buddyinfo"),
        (KernelView::Zoneinfo, "zoneinfo"),
        (KernelView::Slabinfo, "slabinfo"),
        (KernelView::Vmallocinfo, "vmallocinfo"),
        (KernelView::Meminfo, "meminfo"),
        (KernelView::SysvipcShm, "sysvipc_shm"),
    ];

    /// The view a keyword names.
    pub fn from_keyword(word: &str) -> Option<KernelView> {
        KernelView::ALL.iter().find(|(_, k)| *k == word).map(|&(v, _)| v)
    }
}

/// The seeds' kernel modules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Module {
    /// Walks a process's VMAs with `for_each_vma` and prints each `vm_start`-`vm_end`.
    Vmas,
    /// Allocates with `__get_free_page`, `kmalloc(100)` and `vmalloc(1000000)` and prints the
    /// addresses, each explained.
    Alloc,
}

/// The data of a `store`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreData {
    /// A string expression: its bytes.
    Bytes(Expr),
    /// `BYTE x LEN`: `LEN` copies of one byte.
    Fill {
        /// The byte value (0..=255).
        byte: Expr,
        /// How many.
        len: Expr,
    },
}

/// One item of a `print`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintItem {
    /// The value.
    pub expr: Expr,
    /// Its source text, shown before the value.
    pub text: String,
}

/// The views of a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// `/proc/PID/maps`.
    Maps,
    /// `/proc/PID/smaps`.
    Smaps,
    /// `/proc/PID/smaps_rollup`.
    Rollup,
    /// The memory lines of `/proc/PID/status`.
    Status,
    /// `/proc/PID/statm`.
    Statm,
    /// Fault events since the previous `events` for the process.
    Events,
    /// Minor and major fault counts.
    Faults,
}

impl View {
    /// Every view with its keyword.
    pub const ALL: [(View, &'static str); 7] = [
        (View::Maps, "maps"),
        (View::Smaps, "smaps"),
        (View::Rollup, "rollup"),
        (View::Status, "status"),
        (View::Statm, "statm"),
        (View::Events, "events"),
        (View::Faults, "faults"),
    ];

    /// Returns the view a keyword names.
    pub fn from_keyword(word: &str) -> Option<View> {
        View::ALL.iter().find(|(_, k)| *k == word).map(|&(v, _)| v)
    }

    /// Whether the view is /proc text that `expect VIEW contains` can search.
    pub fn is_text(self) -> bool {
        matches!(self, View::Maps | View::Smaps | View::Rollup | View::Status | View::Statm)
    }
}

/// An `expect` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expect {
    /// The condition's source text, quoted in the failure message.
    pub text: String,
    /// What is checked.
    pub check: Check,
}

/// What an `expect` checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    /// `expect EXPR OP EXPR`.
    Compare {
        /// Left side.
        left: Expr,
        /// Comparison.
        op: CmpOp,
        /// Right side.
        right: Expr,
    },
    /// `expect [NAME:] load ADDR LEN == "text"` (or `!=`): the process reads its memory.
    Load {
        /// The process prefix, if any.
        proc: Option<Name>,
        /// Address.
        addr: Expr,
        /// Length.
        len: Expr,
        /// `==` or `!=`.
        op: CmpOp,
        /// The expected bytes (a string expression).
        want: Expr,
    },
    /// `expect VIEW [NAME] [not] contains "text"`.
    Contains {
        /// Which /proc view.
        view: View,
        /// Process, if named.
        name: Option<Name>,
        /// `not contains`.
        negated: bool,
        /// The text searched for.
        text: Expr,
    },
    /// `expect VIEW [NAME] lines OP N`.
    Lines {
        /// Which /proc view.
        view: View,
        /// Process, if named.
        name: Option<Name>,
        /// Comparison.
        op: CmpOp,
        /// The line count to compare with.
        count: Expr,
    },
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// Returns whether `a OP b` holds.
    pub fn holds<T: PartialOrd>(self, a: &T, b: &T) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// The system calls a script can make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syscall {
    /// `mmap(addr, len, prot, flags, fd, offset)`
    Mmap,
    /// `munmap(addr, len)`
    Munmap,
    /// `mprotect(addr, len, prot)`
    Mprotect,
    /// `brk(addr)`
    Brk,
    /// `open("path", flags[, mode])`
    Open,
    /// `close(fd)`
    Close,
    /// `dup(fd)`
    Dup,
    /// `read(fd, addr, len)`
    Read,
    /// `write(fd, addr, len)`
    Write,
    /// `pwrite(fd, "data", offset)`
    Pwrite,
    /// `ftruncate(fd, len)`
    Ftruncate,
    /// `unlink("path")`
    Unlink,
    /// `memfd_create("name"[, flags])`
    MemfdCreate,
    /// `CHILD = fork([PARENT])`
    Fork,
    /// `exit(code)`
    Exit,
    /// `mremap(addr, old_len, new_len, flags[, new_addr])`
    Mremap,
    /// `madvise(addr, len, advice)`
    Madvise,
    /// `mlock(addr, len)`
    Mlock,
    /// `mlock2(addr, len, flags)`
    Mlock2,
    /// `munlock(addr, len)`
    Munlock,
    /// `mlockall(flags)`
    Mlockall,
    /// `munlockall()`
    Munlockall,
    /// `mincore(addr, len, vec)`: the vector goes to process memory at `vec`
    Mincore,
    /// `msync(addr, len, flags)`
    Msync,
    /// `shmget(key, size, flags)`
    Shmget,
    /// `shmat(shmid, addr, flags)`
    Shmat,
    /// `shmdt(addr)`
    Shmdt,
    /// `shmctl(shmid, cmd, buf)`
    Shmctl,
}

impl Syscall {
    /// Every call with its name and the argument counts it accepts.
    pub const ALL: [(Syscall, &'static str, usize, usize); 28] = [
        (Syscall::Mmap, "mmap", 6, 6),
        (Syscall::Munmap, "munmap", 2, 2),
        (Syscall::Mprotect, "mprotect", 3, 3),
        (Syscall::Brk, "brk", 1, 1),
        (Syscall::Open, "open", 2, 3),
        (Syscall::Close, "close", 1, 1),
        (Syscall::Dup, "dup", 1, 1),
        (Syscall::Read, "read", 3, 3),
        (Syscall::Write, "write", 3, 3),
        (Syscall::Pwrite, "pwrite", 3, 3),
        (Syscall::Ftruncate, "ftruncate", 2, 2),
        (Syscall::Unlink, "unlink", 1, 1),
        (Syscall::MemfdCreate, "memfd_create", 1, 2),
        (Syscall::Fork, "fork", 0, 1),
        (Syscall::Exit, "exit", 1, 1),
        (Syscall::Mremap, "mremap", 4, 5),
        (Syscall::Madvise, "madvise", 3, 3),
        (Syscall::Mlock, "mlock", 2, 2),
        (Syscall::Mlock2, "mlock2", 3, 3),
        (Syscall::Munlock, "munlock", 2, 2),
        (Syscall::Mlockall, "mlockall", 1, 1),
        (Syscall::Munlockall, "munlockall", 0, 0),
        (Syscall::Mincore, "mincore", 3, 3),
        (Syscall::Msync, "msync", 3, 3),
        (Syscall::Shmget, "shmget", 3, 3),
        (Syscall::Shmat, "shmat", 3, 3),
        (Syscall::Shmdt, "shmdt", 1, 1),
        (Syscall::Shmctl, "shmctl", 3, 3),
    ];

    /// Returns the call with this name.
    pub fn from_name(name: &str) -> Option<Syscall> {
        Syscall::ALL.iter().find(|e| e.1 == name).map(|e| e.0)
    }

    /// The call's C name.
    pub fn name(self) -> &'static str {
        Syscall::ALL.iter().find(|e| e.0 == self).map(|e| e.1).unwrap_or("?")
    }

    /// The fewest and most arguments the call takes.
    pub fn arity(self) -> (usize, usize) {
        Syscall::ALL.iter().find(|e| e.0 == self).map(|e| (e.2, e.3)).unwrap_or((0, 0))
    }
}

/// An expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// A number, and where it is written.
    Num(u64, Pos),
    /// A string literal, and where it is written.
    Str(Vec<u8>, Pos),
    /// A name: a variable, a built-in variable (`errno`, `result`, `signal`, ...) or a
    /// constant (`PROT_READ`, `ENOMEM`, `NULL`, ...).
    Var(Name),
    /// A query function such as `rss(A)` or `pfn(A, p)`.
    Func {
        /// Which function.
        func: Func,
        /// The process named as first argument, if given.
        proc: Option<Name>,
        /// The remaining arguments.
        args: Vec<Expr>,
        /// Where the call is written.
        pos: Pos,
    },
    /// A unary operation.
    Unary {
        /// The operator.
        op: UnOp,
        /// Its operand.
        expr: Box<Expr>,
        /// Where the operator is.
        pos: Pos,
    },
    /// A binary operation.
    Binary {
        /// The operator.
        op: BinOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
        /// Where the operator is.
        pos: Pos,
    },
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    /// `-x`: two's complement, so `-1` is the all-ones value C passes as fd -1.
    Neg,
    /// `~x`: bitwise not.
    Not,
}

/// Binary operators, C precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `+` (numbers; also joins strings)
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
    /// `&`
    And,
    /// `|`
    Or,
}

/// The query functions usable in expressions. Those that take a process accept it as the
/// first argument or, when it is left out, use the current process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    /// Resident bytes (VmRSS).
    Rss,
    /// Proportional set size in bytes (the Pss of smaps_rollup, unrounded).
    Pss,
    /// Resident anonymous bytes (RssAnon).
    Anon,
    /// Resident file bytes (RssFile).
    FileRss,
    /// Resident shmem bytes (RssShmem).
    Shmem,
    /// Number of VMAs (map_count).
    Vmas,
    /// Mapped bytes (VmSize).
    Vmsize,
    /// Minor faults.
    Minflt,
    /// Major faults.
    Majflt,
    /// The process id.
    Pid,
    /// Free frames of the machine.
    FreeFrames,
    /// All frames of the machine.
    TotalFrames,
    /// The shared zero page's frame number.
    ZeroPfn,
    /// The attach count (`shm_nattch`) of a SysV segment, by identifier.
    ShmNattch,
    /// 1 if a page-table entry maps the page at the address (Linux `pte_present`).
    PtePresent,
    /// The frame mapped at the address, or 0.
    Pfn,
    /// The byte at the address, read by the process itself (it may fault the page in).
    LoadByte,
    /// A number as a string of at least 8 lowercase hex digits, as maps prints addresses.
    Hex,
    /// The status `wait` gave for a process that ended (exit code << 8, or the signal).
    WaitStatus,
    /// The number a `/proc` or cgroup file holds.
    FileValue,
    /// The number after a key in a `key value` file (memory.stat, memory.events).
    FileKey,
    /// How many kernel log lines contain a text.
    DmesgCount,
}

/// Whether a function takes a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcArg {
    /// No process.
    None,
    /// A process first, optional (the current one when left out).
    Optional,
}

impl Func {
    /// Every function: name, process argument, and the number of other arguments.
    pub const ALL: [(Func, &'static str, ProcArg, usize); 22] = [
        (Func::Rss, "rss", ProcArg::Optional, 0),
        (Func::Pss, "pss", ProcArg::Optional, 0),
        (Func::Anon, "anon", ProcArg::Optional, 0),
        (Func::FileRss, "file_rss", ProcArg::Optional, 0),
        (Func::Shmem, "shmem", ProcArg::Optional, 0),
        (Func::Vmas, "vmas", ProcArg::Optional, 0),
        (Func::Vmsize, "vmsize", ProcArg::Optional, 0),
        (Func::Minflt, "minflt", ProcArg::Optional, 0),
        (Func::Majflt, "majflt", ProcArg::Optional, 0),
        (Func::Pid, "pid", ProcArg::Optional, 0),
        (Func::FreeFrames, "free_frames", ProcArg::None, 0),
        (Func::TotalFrames, "total_frames", ProcArg::None, 0),
        (Func::ZeroPfn, "zero_pfn", ProcArg::None, 0),
        (Func::ShmNattch, "shm_nattch", ProcArg::None, 1),
        (Func::PtePresent, "pte_present", ProcArg::Optional, 1),
        (Func::Pfn, "pfn", ProcArg::Optional, 1),
        (Func::LoadByte, "load_byte", ProcArg::Optional, 1),
        (Func::Hex, "hex", ProcArg::None, 1),
        (Func::WaitStatus, "wait_status", ProcArg::Optional, 0),
        (Func::FileValue, "file_value", ProcArg::None, 1),
        (Func::FileKey, "file_key", ProcArg::None, 2),
        (Func::DmesgCount, "dmesg_count", ProcArg::None, 1),
    ];

    /// Returns the function with this name, its process argument kind and other argument
    /// count.
    pub fn lookup(name: &str) -> Option<(Func, ProcArg, usize)> {
        Func::ALL.iter().find(|e| e.1 == name).map(|e| (e.0, e.2, e.3))
    }

    /// The function's name.
    pub fn name(self) -> &'static str {
        Func::ALL.iter().find(|e| e.0 == self).map(|e| e.1).unwrap_or("?")
    }
}

impl Expr {
    /// Where the expression is (for an operation: its operator).
    pub fn pos(&self) -> Pos {
        match self {
            Expr::Num(_, pos) | Expr::Str(_, pos) => *pos,
            Expr::Var(n) => n.pos,
            Expr::Func { pos, .. } | Expr::Unary { pos, .. } | Expr::Binary { pos, .. } => *pos,
        }
    }

    /// Whether the expression is a literal or a constant (no variables, no functions), so
    /// that an expect failure need not repeat its value.
    pub fn is_literal(&self) -> bool {
        match self {
            Expr::Num(..) | Expr::Str(..) => true,
            Expr::Var(n) => crate::value::constant(&n.name).is_some(),
            Expr::Func { .. } => false,
            Expr::Unary { expr, .. } => expr.is_literal(),
            Expr::Binary { left, right, .. } => left.is_literal() && right.is_literal(),
        }
    }
}
