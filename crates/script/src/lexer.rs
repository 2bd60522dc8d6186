//! The lexer: one line of scenario text into [`Token`]s, each with the column it starts at.
//!
//! A scenario is line-oriented (a statement never spans lines), so the lexer works a line at
//! a time and the parser never has to care about newlines. Columns count characters from 1,
//! so an error caret lines up with what an editor shows for ASCII text.

use crate::error::ScriptError;

/// What a token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    /// A name: keyword, variable, process, constant or function.
    Ident(String),
    /// A number, size suffixes already applied.
    Num(u64),
    /// A string literal, escapes already decoded (it may hold any bytes).
    Str(Vec<u8>),
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `:`
    Colon,
    /// `=`
    Assign,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Star,
    /// `/`
    Slash,
    /// `%`
    Percent,
    /// `|`
    Pipe,
    /// `&`
    Amp,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
    /// `~`
    Tilde,
}

impl Tok {
    /// Returns how the token is shown in error messages.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Num(n) => format!("number {n}"),
            Tok::Str(_) => "a string".to_string(),
            other => format!("`{}`", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::Comma => ",",
            Tok::Colon => ":",
            Tok::Assign => "=",
            Tok::Eq => "==",
            Tok::Ne => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Percent => "%",
            Tok::Pipe => "|",
            Tok::Amp => "&",
            Tok::Shl => "<<",
            Tok::Shr => ">>",
            Tok::Tilde => "~",
            Tok::Ident(_) | Tok::Num(_) | Tok::Str(_) => "",
        }
    }
}

/// A token and where it is on its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// The token.
    pub tok: Tok,
    /// Column of its first character (1-based, in characters).
    pub col: usize,
    /// Column just after its last character.
    pub end: usize,
}

/// Splits one line (without its newline) into tokens; `#` starts a comment that runs to the
/// end of the line. `line` is only used for error positions.
pub fn lex_line(text: &str, line: usize) -> Result<Vec<Token>, ScriptError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |col: usize, msg: String| ScriptError::new(line, col, msg);
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' {
            break;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token { tok: Tok::Ident(chars[start..i].iter().collect()), col, end: i + 1 });
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let n = parse_number(&word).map_err(|m| err(col, m))?;
            out.push(Token { tok: Tok::Num(n), col, end: i + 1 });
            continue;
        }
        if c == '"' {
            let (bytes, next) = lex_string(&chars, i, line)?;
            out.push(Token { tok: Tok::Str(bytes), col, end: next + 1 });
            i = next;
            continue;
        }
        let next = chars.get(i + 1).copied();
        let (tok, len) = match (c, next) {
            ('=', Some('=')) => (Tok::Eq, 2),
            ('!', Some('=')) => (Tok::Ne, 2),
            ('<', Some('=')) => (Tok::Le, 2),
            ('>', Some('=')) => (Tok::Ge, 2),
            ('<', Some('<')) => (Tok::Shl, 2),
            ('>', Some('>')) => (Tok::Shr, 2),
            ('=', _) => (Tok::Assign, 1),
            ('<', _) => (Tok::Lt, 1),
            ('>', _) => (Tok::Gt, 1),
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            (',', _) => (Tok::Comma, 1),
            (':', _) => (Tok::Colon, 1),
            ('+', _) => (Tok::Plus, 1),
            ('-', _) => (Tok::Minus, 1),
            ('*', _) => (Tok::Star, 1),
            ('/', _) => (Tok::Slash, 1),
            ('%', _) => (Tok::Percent, 1),
            ('|', _) => (Tok::Pipe, 1),
            ('&', _) => (Tok::Amp, 1),
            ('~', _) => (Tok::Tilde, 1),
            _ => return Err(err(col, format!("unexpected character {c:?}"))),
        };
        i += len;
        out.push(Token { tok, col, end: i + 1 });
    }
    Ok(out)
}

/// Parses a number word: decimal, `0x` hex, `0o` octal or `0b` binary, `_` separators, and
/// an optional size suffix `K`, `M`, `G` or `T` (powers of 1024, either case).
fn parse_number(word: &str) -> Result<u64, String> {
    let bad = || format!("invalid number `{word}`");
    let clean: String = word.chars().filter(|&c| c != '_').collect();
    let (radix, digits) = match clean.get(..2) {
        Some("0x") | Some("0X") => (16, &clean[2..]),
        Some("0o") | Some("0O") => (8, &clean[2..]),
        Some("0b") | Some("0B") => (2, &clean[2..]),
        _ => (10, &clean[..]),
    };
    // A size suffix is never a hex digit, so it can follow hex numbers too (0x10K).
    let (digits, shift) = match digits.chars().last() {
        Some('k' | 'K') => (&digits[..digits.len() - 1], 10),
        Some('m' | 'M') => (&digits[..digits.len() - 1], 20),
        Some('g' | 'G') => (&digits[..digits.len() - 1], 30),
        Some('t' | 'T') => (&digits[..digits.len() - 1], 40),
        _ => (digits, 0),
    };
    if digits.is_empty() {
        return Err(bad());
    }
    let value = u64::from_str_radix(digits, radix).map_err(|e| match e.kind() {
        std::num::IntErrorKind::PosOverflow => format!("number `{word}` does not fit in 64 bits"),
        _ => bad(),
    })?;
    value.checked_mul(1u64 << shift).ok_or_else(|| format!("number `{word}` does not fit in 64 bits"))
}

/// Lexes a string literal starting at the quote `chars[start]`; returns its bytes and the
/// index after the closing quote.
fn lex_string(chars: &[char], start: usize, line: usize) -> Result<(Vec<u8>, usize), ScriptError> {
    let mut bytes = Vec::new();
    let mut i = start + 1;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(ScriptError::new(line, start + 1, "unterminated string".to_string()));
        };
        match c {
            '"' => return Ok((bytes, i + 1)),
            '\\' => {
                let esc_col = i + 1;
                let Some(&e) = chars.get(i + 1) else {
                    return Err(ScriptError::new(line, start + 1, "unterminated string".to_string()));
                };
                i += 2;
                match e {
                    'n' => bytes.push(b'\n'),
                    't' => bytes.push(b'\t'),
                    'r' => bytes.push(b'\r'),
                    '0' => bytes.push(0),
                    '\\' => bytes.push(b'\\'),
                    '"' => bytes.push(b'"'),
                    'x' => {
                        let hex: String = chars.iter().skip(i).take(2).collect();
                        let v = (hex.len() == 2)
                            .then(|| u8::from_str_radix(&hex, 16).ok())
                            .flatten()
                            .ok_or_else(|| ScriptError::new(line, esc_col, "`\\x` needs two hex digits".to_string()))?;
                        bytes.push(v);
                        i += 2;
                    }
                    other => {
                        return Err(ScriptError::new(line, esc_col, format!("unknown escape `\\{other}`")));
                    }
                }
            }
            other => {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex_line(s, 1).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn sizes_and_radixes() {
        assert_eq!(toks("4K 16k 1M 2G 1T"), [4096, 16384, 1 << 20, 2 << 30, 1 << 40].map(Tok::Num));
        assert_eq!(toks("0x10 0x10K 0o17 0b101 1_000"), [16, 16 << 10, 15, 5, 1000].map(Tok::Num));
    }

    #[test]
    fn numbers_that_overflow_or_are_malformed_are_errors_at_their_column() {
        let e = lex_line("x = 99999999999999999999", 3).unwrap_err();
        assert_eq!((e.line, e.col), (3, 5));
        assert!(e.message.contains("64 bits"), "{e}");
        let e = lex_line("  12Q", 1).unwrap_err();
        assert_eq!(e.col, 3);
        assert!(lex_line("0x", 1).is_err());
        assert!(lex_line("16777216T", 1).is_err());
    }

    #[test]
    fn strings_decode_escapes() {
        assert_eq!(toks(r#""a\n\t\\\"\x41\0""#), [Tok::Str(b"a\n\t\\\"A\0".to_vec())]);
        assert_eq!(toks("\"é\""), [Tok::Str("é".as_bytes().to_vec())]);
    }

    #[test]
    fn string_errors_point_at_the_problem() {
        let e = lex_line(r#"store p "abc"#, 2).unwrap_err();
        assert_eq!((e.line, e.col), (2, 9));
        let e = lex_line(r#"store p "a\q""#, 1).unwrap_err();
        assert_eq!(e.col, 11);
        let e = lex_line(r#"store p "\xg1""#, 1).unwrap_err();
        assert_eq!(e.col, 10);
    }

    #[test]
    fn operators_and_comments() {
        assert_eq!(
            toks("a<=b<<2 != c # comment \"unclosed"),
            [
                Tok::Ident("a".into()),
                Tok::Le,
                Tok::Ident("b".into()),
                Tok::Shl,
                Tok::Num(2),
                Tok::Ne,
                Tok::Ident("c".into())
            ]
        );
        assert_eq!(toks("\"#not a comment\""), [Tok::Str(b"#not a comment".to_vec())]);
        let e = lex_line("a $ b", 1).unwrap_err();
        assert_eq!(e.col, 3);
    }
}
