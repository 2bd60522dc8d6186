//! [`Cursor`]: a position in a line of bytes, with the few look-ahead helpers the grammar needs.

/// A failed parse at byte offset `pos` of the text being parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fail {
    pub pos: usize,
    pub message: &'static str,
}

/// A read position in a byte slice.
#[derive(Clone, Debug)]
pub(crate) struct Cursor<'a> {
    pub bytes: &'a [u8],
    pub pos: usize,
    /// The shared buffer `bytes` lies in, when it does: long strings are then kept as
    /// slices of it instead of copies (see [`Cursor::share`]).
    pub owner: Option<&'a bytes::Bytes>,
}

impl<'a> Cursor<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, pos: 0, owner: None }
    }

    /// A cursor over `bytes`, a part of `owner`.
    pub fn within(bytes: &'a [u8], owner: Option<&'a bytes::Bytes>) -> Self {
        Cursor { bytes, pos: 0, owner }
    }

    /// `part` (of this cursor's text) as a slice of the shared buffer, when the text lies
    /// in one; `None` otherwise.
    pub fn share(&self, part: &[u8]) -> Option<bytes::Bytes> {
        let owner = self.owner?;
        let (start, end) = (owner.as_ptr() as usize, owner.as_ptr() as usize + owner.len());
        let (from, to) = (part.as_ptr() as usize, part.as_ptr() as usize + part.len());
        (start <= from && to <= end).then(|| owner.slice(from - start..to - start))
    }

    pub fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    pub fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos.checked_add(ahead)?).copied()
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    pub fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or(&[])
    }

    pub fn starts_with(&self, prefix: &[u8]) -> bool {
        self.rest().starts_with(prefix)
    }

    pub fn advance(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.bytes.len());
    }

    /// Consumes `byte` if it is next.
    pub fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes `prefix` if it is next.
    pub fn eat_str(&mut self, prefix: &[u8]) -> bool {
        if self.starts_with(prefix) {
            self.pos += prefix.len();
            true
        } else {
            false
        }
    }

    /// Skips spaces (strace pads with spaces only; tabs are accepted too); returns how many.
    pub fn skip_spaces(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Consumes a run of identifier bytes (`[A-Za-z0-9_]`) and returns it.
    pub fn take_ident_chars(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(is_ident_byte) {
            self.pos += 1;
        }
        &self.bytes[start..self.pos]
    }

    /// Consumes a run of ASCII digits and returns it.
    pub fn take_digits(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        &self.bytes[start..self.pos]
    }

    pub fn fail(&self, message: &'static str) -> Fail {
        Fail { pos: self.pos, message }
    }
}

pub(crate) fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

pub(crate) fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Returns the identifier bytes as a `String`; they are ASCII by construction.
pub(crate) fn ident_string(bytes: &[u8]) -> String {
    text_string(bytes)
}

/// Returns `bytes` as a `String`, replacing invalid UTF-8 (checking valid text is much
/// cheaper than `from_utf8_lossy`'s chunking, and valid text is the common case).
pub(crate) fn text_string(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Parses a run of decimal digits that fits a `u64`.
pub(crate) fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &d in digits {
        value = value.checked_mul(10)?.checked_add(u64::from(d.wrapping_sub(b'0')))?;
    }
    Some(value)
}
