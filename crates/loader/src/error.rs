//! Why a file cannot be executed, and the errno `execve` returns for it.

use abi::Errno;

/// A file the kernel's ELF loader would refuse before the point of no return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The file does not start with `\x7fELF`.
    #[error("not an ELF file")]
    NotElf,
    /// `e_type` is neither ET_EXEC nor ET_DYN.
    #[error("ELF type {0} is not executable (only ET_EXEC and ET_DYN are)")]
    BadType(u16),
    /// `e_machine` is neither x86-64 nor i386 (the native and the compat loader).
    #[error("ELF machine {0} is neither x86-64 nor i386")]
    WrongMachine(u16),
    /// The program headers are missing, of the wrong entry size, too many, or past the end
    /// of the file.
    #[error("bad program headers: {0}")]
    BadProgramHeaders(&'static str),
    /// PT_INTERP is too short, too long or not NUL-terminated.
    #[error("bad PT_INTERP: {0}")]
    BadInterp(&'static str),
    /// A part the kernel reads lies past the end of the file.
    #[error("file too short: {0}")]
    ShortRead(&'static str),
}

/// Which file of an exec failed: the kernel reports a bad interpreter differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The program named by execve.
    Program,
    /// The interpreter named by its PT_INTERP.
    Interpreter,
}

impl LoadError {
    /// Returns the errno `execve` fails with for this problem in a file of `role`.
    pub fn errno(&self, role: Role) -> Errno {
        match (role, self) {
            // elf_read: a short read of the PT_INTERP string or of the interpreter's header.
            (_, LoadError::ShortRead(_)) => Errno::EIO,
            (Role::Program, _) => Errno::ENOEXEC,
            // load_elf_binary checks the interpreter's magic, machine and program headers
            // with -ELIBBAD in hand.
            (Role::Interpreter, _) => Errno::ELIBBAD,
        }
    }
}
