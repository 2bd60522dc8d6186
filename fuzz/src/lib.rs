//! `fuzz`: the fuzz targets of mmsim, as plain functions from bytes to nothing that must
//! never panic, hang or allocate beyond what the input justifies.
//!
//! - [`replay_trace`]: the bytes are a strace log; it is read for file identities
//!   ([`replay::Identities::collect`]) and replayed in verify mode, going on after errors.
//! - [`run_scenario`]: the bytes are a scenario; it is parsed and run as `mmsim run` does
//!   (up to its first error), with the model's invariants checked after every call.
//! - [`run_calls`]: the bytes are decoded into a sequence of system calls with arbitrary
//!   arguments (absurd ones included: near 2^64, unaligned, overflowing), loads and stores,
//!   forks and exits, applied to an [`mm::Kernel`]; [`mm::invariants::check_kernel`] runs
//!   after each, and nothing may leak once every task has exited.
//!
//! `fuzz/afl` (a crate outside the workspace, built with `cargo afl`) runs each under
//! AFL++; `fuzz/run.sh TARGET SECONDS` builds and runs one. The seed corpora are in
//! `fuzz/corpus/TARGET`; `tests/corpora.rs` runs every file there through its target, so the
//! corpora (and every input the fuzzer once found) are checked by `cargo test` without AFL.
//!
//! This crate depends on the model and its front ends and nothing depends on it.
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

mod calls;

pub use calls::{run_calls, run_calls_with_ram, RAM as CALLS_RAM};

/// A fuzz target: takes any bytes, and panics only on a bug.
pub type Target = fn(&[u8]);

/// The fuzz targets, by the name `fuzz/run.sh` and the corpus directories use.
pub const TARGETS: [(&str, Target); 3] = [("replay", replay_trace), ("script", run_scenario), ("calls", run_calls)];

/// The simulated RAM of the replay and scenario targets: enough for the programs of the
/// corpora, small enough that an input that populates everything (an `mlockall`, a
/// MAP_POPULATE of terabytes) runs out of memory, and is OOM-killed, within milliseconds.
/// A log or scenario that asks for more is run with this all the same.
pub const RAM: u64 = 64 << 20;

/// Replays `data` as a strace log the way `mmsim replay --verify --keep-going` reads a log
/// that fits in memory: parsed once ([`replay::ParsedLog`]), identities from its events, then
/// the replay itself in verify mode going on after errors, on a model with [`RAM`]. Relative
/// paths in the log are relative to `/`. The two other readers of a log run over it too:
/// the identity pass of a streamed log ([`replay::Identities::collect`]), and the streaming
/// parser, whose events must be those of the in-place parse.
pub fn replay_trace(data: &[u8]) {
    let _ = replay::Identities::collect(data);
    let streamed: Vec<_> = trace::Parser::new(data).report_call_starts(true).collect();
    let in_place: Vec<_> =
        trace::Parser::from_bytes(bytes::Bytes::copy_from_slice(data)).report_call_starts(true).collect();
    assert_eq!(streamed, in_place, "the streaming and in-place parsers disagree");
    drop((streamed, in_place));
    // Passing over the arguments of some calls, as `replay_text` does for the calls the
    // replay never reads.
    let unread = |name: &str| matches!(name, "newfstatat" | "rt_sigaction" | "ioctl" | "read");
    let _ = trace::Parser::from_bytes(bytes::Bytes::copy_from_slice(data)).skip_args_of(unread).count();
    let log = replay::ParsedLog::parse(data.to_vec());
    let ids = replay::Identities::of_parsed(&log);
    let opts = replay::Options {
        mode: replay::Mode::Verify,
        keep_going: true,
        cwd: Some("/".into()),
        threads_unordered: false,
    };
    let files = std::sync::Arc::new(replay::Files::host());
    let report = replay::replay_parsed_observed(&log, ids, opts, files, |_| {}, &mut SmallMachine);
    // Rendering the report is part of what a user sees.
    let _ = report.summary();
}

/// Watches nothing; asks for a model with [`RAM`].
#[derive(Debug)]
struct SmallMachine;

impl replay::Observer for SmallMachine {
    fn ram_bytes(&self) -> u64 {
        RAM
    }
    fn after(&mut self, _ev: &trace::Event, _r: &replay::Replayer) {}
}

/// Parses and runs `data` as a scenario (invalid UTF-8 is replaced, as a lossy reader
/// would), statement by statement until the first error, with the model's invariants
/// checked after every system call, on a machine of [`RAM`] unless the scenario sets
/// another (`set ram`); then renders nothing but counts the expects.
pub fn run_scenario(data: &[u8]) {
    let source = String::from_utf8_lossy(data);
    let Ok(program) = script::parse_program(&source) else { return };
    let mut interp = interpreter();
    let mut out = script::Transcript::default();
    for stmt in &program.stmts {
        if interp.run_stmt(stmt, &mut out).is_err() {
            break;
        }
    }
    let _ = interp.expect_counts();
}

/// A fresh paranoid interpreter on a machine of [`RAM`]; built once per thread and cloned
/// (a machine of the default 4 GiB costs more to build, and each invariant check walks
/// more of it).
fn interpreter() -> script::Interpreter {
    thread_local! {
        static TEMPLATE: script::Interpreter = {
            let mut interp = script::Interpreter::new(script::Options { paranoid: true });
            let set = script::parse_program(&format!("set ram {}", RAM)).expect("a valid statement");
            let mut out = script::Transcript::default();
            for stmt in &set.stmts {
                interp.run_stmt(stmt, &mut out).expect("a machine of RAM");
            }
            interp
        };
    }
    TEMPLATE.with(|t| t.clone())
}
