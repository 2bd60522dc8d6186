//! How a user access goes wrong: the access kinds and the signals (SIGSEGV with its
//! si_code, SIGBUS) a fault delivers.

/// How a user access went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGSEGV with its si_code and si_addr.
    Segv {
        /// `si_code`.
        code: SegvCode,
        /// `si_addr`.
        addr: u64,
    },
    /// SIGBUS (BUS_ADRERR) at `addr`.
    Bus {
        /// `si_addr`.
        addr: u64,
    },
    /// SIGKILL: the OOM killer chose the task while its access waited for memory; the task
    /// is gone.
    Kill,
}

impl Signal {
    /// Signal number.
    pub fn signo(self) -> i32 {
        match self {
            Signal::Segv { .. } => 11,
            Signal::Bus { .. } => 7,
            Signal::Kill => 9,
        }
    }
    /// `si_code`.
    pub fn code(self) -> i32 {
        match self {
            Signal::Segv { code, .. } => code as i32,
            Signal::Bus { .. } => 2,
            Signal::Kill => 0,
        }
    }
    /// `si_addr`.
    pub fn addr(self) -> u64 {
        match self {
            Signal::Segv { addr, .. } | Signal::Bus { addr } => addr,
            Signal::Kill => 0,
        }
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signal::Segv { code, addr } => write!(f, "SIGSEGV ({}) at {addr:#x}", code.name()),
            Signal::Bus { addr } => write!(f, "SIGBUS (BUS_ADRERR) at {addr:#x}"),
            Signal::Kill => write!(f, "SIGKILL (killed by the OOM killer)"),
        }
    }
}

/// SIGSEGV `si_code` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegvCode {
    /// Address not mapped.
    MapErr = 1,
    /// Access not permitted.
    AccErr = 2,
    /// A non-canonical address (general protection fault).
    Kernel = 128,
}

impl SegvCode {
    /// C name.
    pub fn name(self) -> &'static str {
        match self {
            SegvCode::MapErr => "SEGV_MAPERR",
            SegvCode::AccErr => "SEGV_ACCERR",
            SegvCode::Kernel => "SI_KERNEL",
        }
    }
}

/// What a memory access asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A load.
    Read,
    /// A store.
    Write,
    /// An instruction fetch.
    Exec,
}
