//! Linux x86-64 ABI numbers and names, as the uapi headers define them.
//!
//! Like `object`'s `elf.rs`, this crate is a transcription: C names, C values. The idiomatic
//! types of the model live in `mm`; this crate only says what the numbers are and how they are
//! spelled, so that the scenario language, the strace parser and the host comparison all read
//! and print flags the same way.
//!
//! It depends on no other crate of the workspace, and must not: every other crate depends on
//! it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod errno;
mod flags;
mod personality;

pub use errno::{Errno, SysResult};
pub use flags::*;
pub use personality::*;

/// Size of a base page on x86-64.
pub const PAGE_SIZE: u64 = 4096;
/// log2 of [`PAGE_SIZE`].
pub const PAGE_SHIFT: u32 = 12;
/// Mask that clears the offset inside a page.
pub const PAGE_MASK: u64 = !(PAGE_SIZE - 1);
