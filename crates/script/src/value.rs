//! Values ([`Value`]: a number or a string), the named constants a script can use, and how
//! values and memory bytes are shown.

use std::fmt::Write;

/// A value: a 64-bit unsigned number (addresses, lengths, flags, counts) or a byte string
/// (paths, memory contents).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A number.
    Int(u64),
    /// A byte string.
    Str(Vec<u8>),
}

impl Value {
    /// What kind of value it is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Int(_) => "a number",
            Value::Str(_) => "a string",
        }
    }

    /// Returns the value as shown in an expect failure or a `print`.
    pub fn show(&self) -> String {
        match self {
            Value::Int(n) => show_int(*n),
            Value::Str(s) => quote(s),
        }
    }
}

/// Shows a number: decimal when small, hex when it looks like an address.
pub fn show_int(n: u64) -> String {
    if n >= 1 << 32 {
        format!("{n:#x}")
    } else {
        n.to_string()
    }
}

/// The signal numbers and codes a script can compare with `signal` and `sigcode`.
const SIGNALS: &[(&str, u64)] = &[
    ("SIGKILL", 9),
    ("SIGBUS", 7),
    ("SIGSEGV", 11),
    ("SEGV_MAPERR", 1),
    ("SEGV_ACCERR", 2),
    ("BUS_ADRERR", 2),
    ("SI_KERNEL", 128),
];

/// Returns the value of a named constant: `NULL`, `PAGE_SIZE`, `TASK_SIZE`, `MAP_FAILED`,
/// every C flag name `abi` knows (`PROT_*`, `MAP_*`, `O_*`, `MADV_*`, ...), the errno names
/// (`ENOMEM` is 12) and the signal names and codes (`SIGSEGV`, `SEGV_ACCERR`, ...).
pub fn constant(name: &str) -> Option<u64> {
    match name {
        "NULL" => return Some(0),
        "PAGE_SIZE" => return Some(abi::PAGE_SIZE),
        "TASK_SIZE" => return Some(mm::layout::TASK_SIZE),
        "MAP_FAILED" => return Some(abi::MAP_FAILED),
        _ => {}
    }
    if let Some(v) = abi::constant(name) {
        return Some(v);
    }
    if let Some(e) = abi::Errno::from_name(name) {
        return Some(e as i32 as u64);
    }
    SIGNALS.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

/// Returns the name of a signal number (`SIGSEGV`), or the number.
pub fn signal_name(signo: u64) -> String {
    match signo {
        0 => "0".to_string(),
        7 => "SIGBUS".to_string(),
        9 => "SIGKILL".to_string(),
        11 => "SIGSEGV".to_string(),
        n => n.to_string(),
    }
}

/// Returns the name of an errno value (`ENOMEM`), or the number.
pub fn errno_name(errno: u64) -> String {
    i32::try_from(errno)
        .ok()
        .and_then(abi::Errno::from_raw)
        .map(|e| e.name().to_string())
        .unwrap_or_else(|| errno.to_string())
}

/// Quotes bytes as a C string literal (`"a\n\x00"`).
pub fn quote(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for &b in bytes {
        match b {
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\r' => s.push_str("\\r"),
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s.push('"');
    s
}

/// How many bytes of a load are shown before the rest is summarized.
pub const SHOW_BYTES: usize = 64;

/// Shows bytes read from memory: as a quoted string when every byte is printable ASCII (or
/// a newline or tab), otherwise as hex bytes; long results are cut after [`SHOW_BYTES`].
pub fn show_bytes(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(SHOW_BYTES)];
    let printable = bytes.iter().all(|&b| matches!(b, 0x20..=0x7e | b'\n' | b'\t'));
    let mut s = if printable && !bytes.is_empty() {
        quote(shown)
    } else {
        let mut h = String::new();
        for (i, b) in shown.iter().enumerate() {
            if i > 0 {
                h.push(' ');
            }
            let _ = write!(h, "{b:02x}");
        }
        h
    };
    if bytes.is_empty() {
        s.push_str("\"\"");
    }
    if bytes.len() > shown.len() {
        let _ = write!(s, "... ({} bytes)", bytes.len());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_cover_flags_errnos_and_signals() {
        assert_eq!(constant("NULL"), Some(0));
        assert_eq!(constant("PROT_WRITE"), Some(2));
        assert_eq!(constant("MAP_ANON"), Some(0x20));
        assert_eq!(constant("ENOMEM"), Some(12));
        assert_eq!(constant("SIGSEGV"), Some(11));
        assert_eq!(constant("SEGV_ACCERR"), Some(2));
        assert_eq!(constant("nope"), None);
    }

    #[test]
    fn bytes_show_as_text_or_hex() {
        assert_eq!(show_bytes(b"hi\n"), "\"hi\\n\"");
        assert_eq!(show_bytes(&[0, 0x41]), "00 41");
        assert_eq!(show_bytes(&[]), "\"\"");
        let long = vec![b'a'; 100];
        assert!(show_bytes(&long).ends_with("... (100 bytes)"));
        assert_eq!(quote(b"\x01\""), "\"\\x01\\\"\"");
    }
}
