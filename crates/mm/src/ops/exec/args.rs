//! The initial stack: where execve puts the strings (copy_strings, before the point of no
//! return) and the tables (create_elf_tables, at the end).
//!
//! From the top of the stack down, Linux writes:
//!
//! | What | Size |
//! |---|---|
//! | 8 bytes left zero | 8 |
//! | the file name given to execve (AT_EXECFN points here) | len + 1 |
//! | the environment strings, in order | each len + 1 |
//! | the argument strings, in order (`arg_start` is the first) | each len + 1 |
//! | padding to 16 bytes (plus up to 8 KiB more with ASLR) | |
//! | the platform string "x86_64" (AT_PLATFORM) | 7 |
//! | the 16 random bytes (AT_RANDOM) | 16 |
//! | padding so that the stack pointer is 16-byte aligned | 0–15 |
//! | the auxiliary vector, AT_NULL included | 2 words per entry |
//! | envp pointers, NULL | a word each |
//! | argv pointers, NULL | a word each |
//! | argc (the initial stack pointer points here) | a word |
//!
//! A word is 8 bytes in a 64-bit process and 4 in a 32-bit one (the platform string is then
//! "i686").
//!
//! The strings are copied first, into a temporary stack at the top of the address space
//! (STACK_TOP_MAX), which grows page by page as they are written; then the stack moves to its
//! final top (the same place without ASLR) and gets its initial expansion; the tables come
//! last.

use super::random::ExecRng;
use super::request::{at, AuxvProfile};
use crate::layout::*;
use abi::Errno;

/// Where the temporary stack of a new exec ends: the top of the user address space the
/// architecture supports (4-level paging here).
pub(crate) const STACK_TOP_MAX: u64 = TASK_SIZE;
/// The longest single argument or environment string, NUL included (MAX_ARG_STRLEN).
pub(crate) const MAX_ARG_STRLEN: u64 = 32 * PAGE_SIZE;
/// Arguments of up to this size are accepted whatever the stack limit (ARG_MAX).
const ARG_MAX: u64 = 32 * PAGE_SIZE;
/// The default stack limit (_STK_LIM); 3/4 of it caps the strings.
const STK_LIM: u64 = 8 << 20;

/// The strings of an exec, laid out as copy_strings leaves them below the temporary top.
#[derive(Clone, Debug)]
pub(crate) struct ArgStrings {
    /// argv strings, environment strings and the file name, each NUL-terminated, from the
    /// lowest address up.
    pub bytes: Vec<u8>,
    /// Offsets of the argv strings in `bytes`.
    pub argv: Vec<u64>,
    /// Offsets of the environment strings in `bytes`.
    pub envp: Vec<u64>,
    /// Offset of the end of the argv strings.
    pub arg_end: u64,
    /// Offset of the end of the environment strings (= the file name).
    pub env_end: u64,
}

impl ArgStrings {
    /// Lowest string address below the temporary top (`bprm->p` after copying).
    pub fn low(&self) -> u64 {
        STACK_TOP_MAX - 8 - self.bytes.len() as u64
    }
}

/// Cuts a C string at its first NUL (the kernel reads strings with strnlen_user).
fn c_str(s: &[u8]) -> &[u8] {
    match s.iter().position(|&b| b == 0) {
        Some(n) => &s[..n],
        None => s,
    }
}

/// Copies the file name, environment and arguments as do_execveat_common does, with its
/// limits: E2BIG when a string is longer than MAX_ARG_STRLEN, when all of them (with their
/// pointers) exceed a quarter of the stack limit (at least ARG_MAX, at most 6 MiB), or when
/// the temporary stack would have to grow past RLIMIT_STACK or RLIMIT_AS.
pub(crate) fn copy_strings(
    filename: &str,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    rlimit_stack: u64,
    rlimit_as: u64,
) -> Result<ArgStrings, Errno> {
    // bprm_stack_limits: room for the strings, less the pointer arrays.
    let limit = (STK_LIM / 4 * 3).min(rlimit_stack / 4).max(ARG_MAX);
    let ptrs = (argv.len().max(1) as u64).checked_add(envp.len() as u64).and_then(|n| n.checked_mul(8));
    let limit = match ptrs {
        Some(p) if p < limit => limit - p,
        _ => return Err(Errno::E2BIG),
    };
    let top = STACK_TOP_MAX - 8;
    let argmin = top - limit;
    // A zero-length argv gets "" as argv[0], so programs never walk envp by mistake.
    let empty: [Vec<u8>; 1] = [Vec::new()];
    let argv = if argv.is_empty() { &empty[..] } else { argv };
    let mut p = top;
    let mut push = |s: &[u8]| -> Result<(), Errno> {
        let len = s.len() as u64 + 1;
        if len > MAX_ARG_STRLEN {
            return Err(Errno::E2BIG);
        }
        p -= len;
        if p < argmin {
            return Err(Errno::E2BIG);
        }
        Ok(())
    };
    let filename = c_str(filename.as_bytes());
    push(filename)?;
    for s in envp.iter().rev().chain(argv.iter().rev()) {
        push(c_str(s))?;
    }
    // get_arg_page grows the one-page temporary stack down to each page it writes; the
    // growth is refused past the stack or address-space limit.
    let size = STACK_TOP_MAX - page_floor(p);
    if size > PAGE_SIZE && (size > rlimit_stack || size >> PAGE_SHIFT > rlimit_as >> PAGE_SHIFT) {
        return Err(Errno::E2BIG);
    }
    let mut out = ArgStrings { bytes: Vec::new(), argv: Vec::new(), envp: Vec::new(), arg_end: 0, env_end: 0 };
    for s in argv {
        out.argv.push(out.bytes.len() as u64);
        out.bytes.extend_from_slice(c_str(s));
        out.bytes.push(0);
    }
    out.arg_end = out.bytes.len() as u64;
    for s in envp {
        out.envp.push(out.bytes.len() as u64);
        out.bytes.extend_from_slice(c_str(s));
        out.bytes.push(0);
    }
    out.env_end = out.bytes.len() as u64;
    out.bytes.extend_from_slice(filename);
    out.bytes.push(0);
    debug_assert_eq!(out.low(), p);
    Ok(out)
}

/// arch_align_stack: 16-byte alignment, after a random drop of up to 8 KiB with ASLR.
pub(crate) fn arch_align_stack(sp: u64, rng: Option<&mut ExecRng>) -> u64 {
    let sp = match rng {
        Some(r) => sp - r.align_stack_rnd(),
        None => sp,
    };
    sp & !0xf
}

/// The tables create_elf_tables writes below the strings, with their final addresses.
#[derive(Clone, Debug)]
pub(crate) struct StackTables {
    /// The initial stack pointer (`bprm->p`, mm->start_stack): argc is here.
    pub sp: u64,
    /// The platform string and its address, if written.
    pub platform: Option<(u64, Vec<u8>)>,
    /// The base platform string and its address, if written.
    pub base_platform: Option<(u64, Vec<u8>)>,
    /// Address of the random bytes.
    pub random: u64,
    /// Number of words in the auxiliary vector, AT_NULL pair included (ei_index).
    pub auxv_words: u64,
}

/// Places the platform strings, the random bytes and the tables below `strings_low` (the
/// lowest string byte in its final place) for `argc`/`envc` strings and the vector of
/// `profile`.
pub(crate) fn place_tables(
    strings_low: u64,
    argc: u64,
    envc: u64,
    profile: &AuxvProfile,
    word_size: u64,
    rng: Option<&mut ExecRng>,
) -> StackTables {
    let has = |t: u64| profile.entries.iter().any(|&(k, _)| k == t);
    let mut p = arch_align_stack(strings_low, rng);
    let mut platform = None;
    if has(at::PLATFORM) {
        let mut s = profile.platform.clone();
        s.push(0);
        p -= s.len() as u64;
        platform = Some((p, s));
    }
    let mut base_platform = None;
    if has(at::BASE_PLATFORM) {
        let mut s = profile.base_platform.clone();
        s.push(0);
        p -= s.len() as u64;
        base_platform = Some((p, s));
    }
    p -= 16;
    let random = p;
    let auxv_words = 2 * (profile.entries.len() as u64 + 1);
    let items = (argc + 1) + (envc + 1) + 1;
    // STACK_ADD then STACK_ROUND: room for the vector and the pointers, aligned down to 16.
    let sp = (p - word_size * auxv_words - word_size * items) & !0xf;
    StackTables { sp, platform, base_platform, random, auxv_words }
}
