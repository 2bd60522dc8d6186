//! `loader`: reads ELF executables into the exec description the `mm` model loads.
//!
//! * [`parse`] and [`parse_interpreter`] turn a file's bytes into an [`mm::ElfImage`]
//!   (type, PT_LOAD segments, PT_INTERP, PT_GNU_STACK, PT_GNU_RELRO, entry, program-header
//!   position), refusing what the kernel refuses with a [`LoadError`] that knows its errno.
//!   They never panic, whatever the bytes.
//! * [`host`] imports host executables into a [`mm::Kernel`] with their real identity and
//!   measures the running kernel's auxiliary vector and vDSO, so that an exec in the model
//!   can be compared with the same exec on the host.
//!
//! It depends on the model (`mm`), `procfs` and `abi`; the scenario language, the replayer and
//! the CLI depend on it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod elf;
mod error;
pub mod host;
mod host_vdso32;

pub use elf::{parse, parse_content, parse_interpreter, parse_interpreter_content};
pub use error::{LoadError, Role};
