//! Decoding of the C-style escapes strace uses inside quoted strings and `-y` decorations.

/// Returns the value of a hexadecimal digit.
pub(crate) fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes the escape sequence that starts right after a backslash at `src[0..]`, appending the
/// byte it stands for to `out`; returns how many bytes of `src` it used.
///
/// strace writes octal escapes with up to three digits (`\0`, `\33`, `\177`) and pads them to
/// three digits only when a digit follows, so at most three digits are taken. An unknown escape
/// keeps the escaped byte as it is, which is also what a C compiler does for `\q`.
pub(crate) fn decode_escape(src: &[u8], out: &mut Vec<u8>) -> usize {
    let Some(&first) = src.first() else {
        // A lone backslash at the end: keep it rather than lose a byte.
        out.push(b'\\');
        return 0;
    };
    let simple = match first {
        b'n' => Some(b'\n'),
        b't' => Some(b'\t'),
        b'r' => Some(b'\r'),
        b'v' => Some(0x0b),
        b'f' => Some(0x0c),
        b'a' => Some(0x07),
        b'b' => Some(0x08),
        b'e' => Some(0x1b),
        b'\\' | b'"' | b'\'' | b'?' => Some(first),
        _ => None,
    };
    if let Some(byte) = simple {
        out.push(byte);
        return 1;
    }
    match first {
        b'x' => {
            let mut value: u8 = 0;
            let mut used = 1;
            // Two digits at most: strace always writes exactly two after `\x`.
            while used < 3 {
                match src.get(used).copied().and_then(hex_digit) {
                    Some(d) => value = (value << 4) | d,
                    None => break,
                }
                used += 1;
            }
            if used == 1 {
                out.push(b'x');
            } else {
                out.push(value);
            }
            used
        }
        b'0'..=b'7' => {
            let mut value: u32 = 0;
            let mut used = 0;
            while used < 3 {
                match src.get(used) {
                    Some(&d @ b'0'..=b'7') => value = value * 8 + u32::from(d - b'0'),
                    _ => break,
                }
                used += 1;
            }
            // `\777` does not fit a byte; C truncates, and so do we.
            out.push((value & 0xff) as u8);
            used
        }
        other => {
            out.push(other);
            1
        }
    }
}

/// Decodes every escape in `src` (which has no surrounding quotes).
pub(crate) fn unescape(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len());
    let mut i = 0;
    while let Some(found) = memchr::memchr(b'\\', &src[i..]) {
        out.extend_from_slice(&src[i..i + found]);
        i += found + 1;
        i += decode_escape(&src[i..], &mut out);
    }
    out.extend_from_slice(&src[i..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_escapes_decode_to_their_bytes() {
        assert_eq!(unescape(br#"a\nb\tc\"d\\e"#), b"a\nb\tc\"d\\e");
    }

    #[test]
    fn octal_escapes_take_at_most_three_digits() {
        assert_eq!(unescape(br"\0\33\177\00007"), vec![0, 0o33, 0o177, 0, b'0', b'7']);
    }

    #[test]
    fn hex_escapes_take_two_digits() {
        assert_eq!(unescape(br"\xb3\x61\x0g"), vec![0xb3, 0x61, 0x0, b'g']);
    }

    #[test]
    fn a_trailing_backslash_is_kept() {
        assert_eq!(unescape(br"ab\"), b"ab\\");
    }

    #[test]
    fn x_without_digits_is_kept_as_x() {
        assert_eq!(unescape(br"\xzz"), b"xzz");
    }
}
