//! `script`: the mmsim scenario language.
//!
//! A scenario is a small text file that creates processes, makes system calls with their C
//! names and argument order, reads and writes memory, shows `/proc` views, and checks results
//! with `expect` lines. This crate parses scenarios ([`parse_program`], [`parse_line`]) and
//! runs them on the [`mm`] model ([`Interpreter`]), reporting to an [`Output`].
//!
//! ```
//! use script::{run_source, Options, Transcript};
//!
//! let src = "process A empty\n\
//!            p = mmap(NULL, 16K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n\
//!            expect p == 0x7ffff7ffb000\n";
//! let mut out = Transcript::default();
//! let (passed, failed) = run_source(src, Options::default(), &mut out).unwrap();
//! assert_eq!((passed, failed), (1, 0));
//! assert!(out.text.contains("A: mmap(NULL, 16384, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffb000"));
//! ```
//!
//! Modules: [`lexer`] (tokens), [`parser`] (statements, with line and column errors),
//! [`ast`] (the syntax tree), [`interp`] (running it), [`value`] (values, constants and how
//! they are shown), [`program`] (the demo program a `process` runs), [`output`] (where
//! results go), [`error`] ([`ScriptError`]).
//!
//! The rest of this page is the language reference, also found in
//! `docs/scenario-language.md`.
//!
//!
//! It depends on the model (`mm`), `procfs`, the ELF `loader` and `abi`; only the CLI and the
//! fuzz targets depend on it, and it must not depend on the replay or the host comparison.
#![doc = include_str!("../../../docs/scenario-language.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

pub mod ast;
pub mod error;
pub mod interp;
mod kernel_stmt;
pub mod lexer;
pub mod output;
pub mod parser;
pub mod program;
pub mod value;

pub use error::{Pos, ScriptError};
pub use interp::{Interpreter, Options};
pub use output::{ExpectOutcome, Output, Transcript};
pub use parser::{parse_line, parse_program};

/// Parses and runs a whole script on a fresh machine. Returns how many expects passed and
/// failed, or the first error (a syntax error stops the script before anything runs).
pub fn run_source(source: &str, opts: Options, out: &mut dyn Output) -> Result<(usize, usize), ScriptError> {
    let program = parse_program(source)?;
    let mut interp = Interpreter::new(opts);
    interp.run_program(&program, out)?;
    Ok(interp.expect_counts())
}
