//! The argument grammar: turns strace's C-like notation into [`Arg`] trees.
//!
//! A value is a primary (number, name, `NULL`, string, array, struct, call, comment, `...`)
//! followed by optional postfixes: `|`-joined flag operands, `*`/`<<` with a number, a `-y`
//! decoration `<…>`, a `/* comment */`, and `=> value` for in/out arguments.
//!
//! Lists are forgiving: when one element does not fit the grammar, that element alone becomes
//! [`Arg::Other`] holding its raw text up to the next `,` or closing bracket at the same
//! nesting depth. So new or odd notations (`{WIFEXITED(s) && WEXITSTATUS(s) == 0}`,
//! `&sin6_addr`) cost one opaque element, never the whole line.

use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::sync::Arc;

use crate::arg::{Arg, CallArg, Field, FlagSet, QuotedStr};
use crate::cursor::{ident_string, is_ident_byte, is_ident_start, parse_decimal, text_string, Cursor, Fail};
use crate::escape::{hex_digit, unescape};

/// Deeper nesting than this is parsed as raw text, so hostile input cannot exhaust the stack.
const MAX_DEPTH: u32 = 48;

/// Parses a comma-separated list of values up to and including `close`, pushing each to `out`.
///
/// With `eof_ok`, running out of input ends the list quietly (used for the first part of a
/// call that never resumed); otherwise it is an error.
pub(crate) fn parse_list(
    c: &mut Cursor<'_>,
    close: u8,
    eof_ok: bool,
    depth: u32,
    out: &mut impl PushArg,
) -> Result<(), Fail> {
    loop {
        c.skip_spaces();
        if c.eat(close) {
            return Ok(());
        }
        if c.at_end() {
            return if eof_ok { Ok(()) } else { Err(c.fail("the line ends inside a list")) };
        }
        // Some calls name their arguments: `clone(child_stack=NULL, flags=…)`.
        let name = parse_field_name(c);
        let item = parse_item(c, close, depth, false);
        let item = match name {
            Some(name) => Arg::Named(Box::new((name, item))),
            None => item,
        };
        out.push_arg(item);
        c.skip_spaces();
        if !c.eat(b',') && c.peek() != Some(close) && !c.at_end() {
            return Err(c.fail("expected `,` or a closing bracket"));
        }
    }
}

/// A list that parsed elements are pushed to (a `Vec` for nested lists, the inline
/// [`crate::Args`] for call arguments).
pub(crate) trait PushArg {
    fn push_arg(&mut self, arg: Arg);
}

impl PushArg for Vec<Arg> {
    fn push_arg(&mut self, arg: Arg) {
        self.push(arg);
    }
}

impl PushArg for crate::Args {
    fn push_arg(&mut self, arg: Arg) {
        self.push(arg);
    }
}

/// Parses one list element, falling back to raw text when it does not fit the grammar.
///
/// On return the cursor is at the delimiter after the element (`,`, `close`, or the end).
/// `space_separated` allows a name to be followed by another name, as in `[RTMIN RT_1]`.
fn parse_item(c: &mut Cursor<'_>, close: u8, depth: u32, space_separated: bool) -> Arg {
    let start = c.pos;
    if let Ok(value) = parse_value(c, depth) {
        let before_spaces = c.pos;
        let spaces = c.skip_spaces();
        let delimited = match c.peek() {
            None => true,
            Some(b) if b == b',' || b == close => true,
            Some(b) => {
                space_separated
                    && spaces > 0
                    && is_ident_byte(b)
                    && matches!(value.peeled(), Arg::Ident(_) | Arg::Int(_))
            }
        };
        if delimited {
            c.pos = before_spaces;
            return value;
        }
    }
    c.pos = start;
    let end = scan_raw(c.bytes, start, close);
    c.pos = end;
    Arg::Other(text_string(c.bytes[start..end].trim_ascii()))
}

/// Returns the offset of the first `,` or `close` at nesting depth 0 from `start` (or of an
/// unbalanced closing bracket, or the end), skipping over strings and nested brackets.
pub(crate) fn scan_raw(bytes: &[u8], start: usize, close: u8) -> usize {
    let mut depth: usize = 0;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                if depth == 0 {
                    return i;
                }
                depth -= 1;
            }
            b',' if depth == 0 => return i,
            b if b == close && depth == 0 => return i,
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

/// Parses one value: a primary and its postfixes.
pub(crate) fn parse_value(c: &mut Cursor<'_>, depth: u32) -> Result<Arg, Fail> {
    if depth > MAX_DEPTH {
        return Err(c.fail("nested too deeply"));
    }
    let start = c.pos;
    let mut value = match parse_flag_set(c)? {
        Some(set) => set,
        None => parse_primary(c, depth)?,
    };

    // Flag sets, products and shifts only follow names and numbers.
    if matches!(value, Arg::Ident(_) | Arg::Int(_) | Arg::Flags(_)) {
        if c.peek() == Some(b'|') {
            // A set led by a negative number (the common sets were taken whole above).
            while c.eat(b'|') {
                parse_flag_operand(c)?;
            }
            value = Arg::Flags(flag_set(&c.bytes[start..c.pos]));
        } else if let Arg::Int(left) = value {
            if c.peek() == Some(b'*') && c.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
                c.advance(1);
                let right = parse_unsigned(c)?;
                value = Arg::Int(left.checked_mul(right).ok_or_else(|| c.fail("product overflows"))?);
            } else if c.starts_with(b"<<") && c.peek_at(2).is_some_and(|b| b.is_ascii_digit()) {
                c.advance(2);
                let shift = parse_unsigned(c)?;
                let shifted = u32::try_from(shift).ok().and_then(|s| left.checked_shl(s));
                value = Arg::Int(shifted.ok_or_else(|| c.fail("shift overflows"))?);
            }
        }
        // `3</etc/passwd>`, `AT_FDCWD</tmp>`: the -y decoration sticks to the value.
        if c.peek() == Some(b'<') && c.peek_at(1) != Some(b'<') {
            let decoration = parse_decoration(c)?;
            value = Arg::Decorated(Box::new((value, decoration)));
        }
    }

    let after_value = c.pos;
    c.skip_spaces();
    if c.starts_with(b"/*") {
        let comment = parse_comment(c)?;
        value = Arg::Commented(Box::new((value, comment)));
    } else {
        c.pos = after_value;
    }

    let after_comment = c.pos;
    c.skip_spaces();
    if c.eat_str(b"=>") {
        c.skip_spaces();
        let output = parse_value(c, depth + 1)?;
        value = Arg::InOut(Box::new((value, output)));
    } else {
        c.pos = after_comment;
    }
    Ok(value)
}

fn parse_primary(c: &mut Cursor<'_>, depth: u32) -> Result<Arg, Fail> {
    match c.peek() {
        Some(b'"') => parse_string(c, false),
        Some(b'@') if c.peek_at(1) == Some(b'"') => {
            c.advance(1);
            parse_string(c, true)
        }
        Some(b'[') => parse_bracket(c, false, depth),
        Some(b'~') if c.peek_at(1) == Some(b'[') => {
            c.advance(1);
            parse_bracket(c, true, depth)
        }
        Some(b'{') => parse_struct(c, depth),
        Some(b'/') if c.peek_at(1) == Some(b'*') => parse_comment(c).map(Arg::Comment),
        Some(b'.') if c.eat_str(b"...") => Ok(Arg::Ellipsis),
        Some(b'-' | b'0'..=b'9') => parse_number(c).map(Arg::Int),
        Some(b) if is_ident_start(b) => {
            let name = c.take_ident_chars();
            if c.peek() == Some(b'(') {
                c.advance(1);
                let mut args = Vec::new();
                parse_list(c, b')', false, depth + 1, &mut args)?;
                return Ok(Arg::Call(Box::new(CallArg { name: ident_string(name), args })));
            }
            if name == b"NULL" {
                Ok(Arg::Null)
            } else {
                Ok(Arg::Ident(interned(name)))
            }
        }
        Some(_) => Err(c.fail("unexpected character")),
        None => Err(c.fail("missing value")),
    }
}

/// Parses a flag set led by a name or an unsigned number (`PROT_READ|PROT_WRITE`,
/// `S_IFREG|0644`) without building its first operand on its own; `None`, with the cursor
/// unmoved, when the value ahead is not such a set.
fn parse_flag_set(c: &mut Cursor<'_>) -> Result<Option<Arg>, Fail> {
    // Most values are not sets: find the first operand's extent without parsing it, and
    // parse (and check) the operands only when a `|` follows.
    let rest = c.rest();
    let first_len = match c.peek() {
        Some(b) if is_ident_start(b) => rest.iter().take_while(|&&b| is_ident_byte(b)).count(),
        Some(b'0'..=b'9') => rest.iter().take_while(|b| b.is_ascii_alphanumeric()).count(),
        _ => return Ok(None),
    };
    if rest.get(first_len) != Some(&b'|') {
        return Ok(None);
    }
    let start = c.pos;
    parse_flag_operand(c)?;
    while c.eat(b'|') {
        parse_flag_operand(c)?;
    }
    Ok(Some(Arg::Flags(flag_set(&c.bytes[start..c.pos]))))
}

/// The flag set printed as `text`, from a per-thread table of the sets seen so far: a trace
/// repeats a few dozen sets (`PROT_READ|PROT_WRITE`, `O_RDONLY|O_CLOEXEC`) over and over, and
/// the table spares each repeat its allocation and its name lookups.
fn flag_set(text: &[u8]) -> FlagSet {
    /// Sets beyond this many are built each time, so odd input cannot grow the table.
    const MAX_SETS: usize = 4096;
    thread_local! {
        static SEEN: RefCell<FxHashMap<Box<[u8]>, FlagSet>> = RefCell::new(FxHashMap::default());
    }
    SEEN.with_borrow_mut(|seen| {
        if let Some(set) = seen.get(text) {
            return set.clone();
        }
        let set = FlagSet::new(&text_string(text));
        if seen.len() < MAX_SETS {
            seen.insert(text.into(), set.clone());
        }
        set
    })
}

/// The identifier `name`, from a per-thread table of those seen so far (as [`flag_set`]
/// does for flag sets): names and struct members repeat on every line, and sharing them
/// spares an allocation each.
fn interned(name: &[u8]) -> Arc<str> {
    /// Names beyond this many are built each time, so odd input cannot grow the table.
    const MAX_NAMES: usize = 8192;
    thread_local! {
        static SEEN: RefCell<FxHashMap<Box<[u8]>, Arc<str>>> = RefCell::new(FxHashMap::default());
    }
    SEEN.with_borrow_mut(|seen| {
        if let Some(n) = seen.get(name) {
            return n.clone();
        }
        let n: Arc<str> = ident_string(name).into();
        if seen.len() < MAX_NAMES {
            seen.insert(name.into(), n.clone());
        }
        n
    })
}

/// Consumes one operand after a `|`: a name or a number.
fn parse_flag_operand(c: &mut Cursor<'_>) -> Result<(), Fail> {
    match c.peek() {
        Some(b) if is_ident_start(b) => {
            c.take_ident_chars();
            Ok(())
        }
        Some(b'0'..=b'9') => parse_number(c).map(drop),
        _ => Err(c.fail("expected a flag name or number after `|`")),
    }
}

/// Parses an integer: `-12`, `0x7fff`, `0644`, `0`.
pub(crate) fn parse_number(c: &mut Cursor<'_>) -> Result<u64, Fail> {
    let negative = c.eat(b'-');
    let magnitude = parse_unsigned(c)?;
    if negative {
        // strace prints small negatives (-1, -100); anything below i64::MIN is not a C value.
        let signed = i64::try_from(magnitude).map(|m| -m).or_else(|_| {
            if magnitude == 1 << 63 {
                Ok(i64::MIN)
            } else {
                Err(c.fail("number out of range"))
            }
        })?;
        // Two's complement is the documented representation of negative numbers.
        Ok(signed as u64)
    } else {
        Ok(magnitude)
    }
}

fn parse_unsigned(c: &mut Cursor<'_>) -> Result<u64, Fail> {
    let start = c.pos;
    let value = if c.starts_with(b"0x") || c.starts_with(b"0X") {
        c.advance(2);
        let digits = c.rest().iter().take_while(|b| b.is_ascii_hexdigit()).count();
        if digits == 0 {
            return Err(Fail { pos: start, message: "expected hex digits after 0x" });
        }
        let text = &c.rest()[..digits];
        // Sixteen digits always fit; longer runs only with leading zeros.
        let significant = &text[text.iter().take_while(|&&b| b == b'0').count()..];
        if significant.len() > 16 {
            return Err(c.fail("number out of range"));
        }
        let value = significant.iter().fold(0u64, |v, &b| v << 4 | u64::from(hex_digit(b).unwrap_or(0)));
        c.advance(digits);
        value
    } else if c.peek() == Some(b'0') && c.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
        c.advance(1);
        let mut value: u64 = 0;
        while let Some(d @ b'0'..=b'7') = c.peek() {
            value = value.checked_mul(8).ok_or_else(|| c.fail("number out of range"))? | u64::from(d - b'0');
            c.advance(1);
        }
        value
    } else {
        let digits = c.take_digits();
        parse_decimal(digits).ok_or(Fail { pos: start, message: "expected a number" })?
    };
    // `123abc`, `0x12g` and `1.5` are not numbers of this grammar.
    if c.peek().is_some_and(|b| is_ident_byte(b) || b == b'.') {
        return Err(c.fail("unexpected character in a number"));
    }
    Ok(value)
}

/// Parses a quoted string starting at `"`, then the `...` that marks truncation. The bytes
/// are kept as printed (see [`QuotedStr`]): finding the closing quote is all the parsing a
/// string needs, since a quote inside is escaped by an odd run of backslashes before it.
fn parse_string(c: &mut Cursor<'_>, at_sign: bool) -> Result<Arg, Fail> {
    let open = c.pos;
    c.advance(1);
    let rest = c.rest();
    let end = string_end(rest).ok_or(Fail { pos: open, message: "unterminated string" })?;
    c.advance(end + 1);
    let truncated = c.eat_str(b"...");
    let printed = &rest[..end];
    Ok(Arg::Str(QuotedStr::printed(printed, || c.share(printed), truncated, at_sign)))
}

/// Where the string whose text `text` begins (just after its opening quote) ends: the
/// index of its first quote that no backslash escapes (one after an even run of them);
/// None when it does not end.
pub(crate) fn string_end(text: &[u8]) -> Option<usize> {
    let mut from = 0;
    loop {
        let quote = from + memchr::memchr(b'"', &text[from..])?;
        // The run cannot reach back past `from`: the byte before it is a quote.
        let backslashes = text[from..quote].iter().rev().take_while(|&&b| b == b'\\').count();
        if backslashes % 2 == 0 {
            return Some(quote);
        }
        from = quote + 1;
    }
}

/// Parses `[…]` (the `~` already consumed when `negated`): an array, or a signal set when
/// negated or space-separated.
fn parse_bracket(c: &mut Cursor<'_>, negated: bool, depth: u32) -> Result<Arg, Fail> {
    c.advance(1);
    let mut items = Vec::new();
    let mut space_separated = false;
    loop {
        c.skip_spaces();
        if c.eat(b']') {
            break;
        }
        if c.at_end() {
            return Err(c.fail("unclosed `[`"));
        }
        items.push(parse_item(c, b']', depth + 1, true));
        c.skip_spaces();
        if c.eat(b',') || c.peek() == Some(b']') {
            continue;
        }
        if c.peek().is_some_and(is_ident_byte) {
            space_separated = true;
            continue;
        }
        if !c.at_end() {
            return Err(c.fail("expected `,` or `]`"));
        }
    }
    if !(negated || space_separated) {
        return Ok(Arg::Array(items));
    }
    let names = items
        .into_iter()
        .map(|item| match item {
            Arg::Ident(name) => Ok(name.to_string()),
            Arg::Int(number) => Ok(number.to_string()),
            _ => Err(c.fail("a signal set holds names or numbers")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Arg::SigSet { negated, names: names.into_boxed_slice() })
}

/// Parses `{…}`: members `name=value` or bare values.
fn parse_struct(c: &mut Cursor<'_>, depth: u32) -> Result<Arg, Fail> {
    c.advance(1);
    let mut fields = Vec::new();
    loop {
        c.skip_spaces();
        if c.eat(b'}') {
            break;
        }
        if c.at_end() {
            return Err(c.fail("unclosed `{`"));
        }
        let name = parse_field_name(c);
        let value = parse_item(c, b'}', depth + 1, false);
        fields.push(Field { name, value });
        c.skip_spaces();
        if !c.eat(b',') && c.peek() != Some(b'}') && !c.at_end() {
            return Err(c.fail("expected `,` or `}`"));
        }
    }
    Ok(Arg::Struct(fields))
}

/// Consumes `name=` if it is next (but not `name==` or `name=>`), and returns the name.
fn parse_field_name(c: &mut Cursor<'_>) -> Option<Arc<str>> {
    if !c.peek().is_some_and(is_ident_start) {
        return None;
    }
    let start = c.pos;
    let name = c.take_ident_chars();
    if c.peek() == Some(b'=') && !matches!(c.peek_at(1), Some(b'=' | b'>')) {
        c.advance(1);
        Some(interned(name))
    } else {
        c.pos = start;
        None
    }
}

/// Where the first `*/` in `text` starts. A comment is short and ends at the first `*`
/// most often: a scan for `*` beats building a substring searcher for each (which the
/// one-shot `memmem::find` does, a twentieth of parsing a `-v` trace).
pub(crate) fn comment_end(text: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'*', text).find(|&i| text.get(i + 1) == Some(&b'/'))
}

/// Parses `/* text */` and returns the trimmed text.
pub(crate) fn parse_comment(c: &mut Cursor<'_>) -> Result<String, Fail> {
    let open = c.pos;
    c.advance(2);
    let rest = c.rest();
    let end = comment_end(rest).ok_or(Fail { pos: open, message: "unterminated comment" })?;
    let text = text_string(rest[..end].trim_ascii());
    c.advance(end + 2);
    Ok(text)
}

/// Parses a `-y`/`-yy` decoration `<…>` and returns its decoded text.
///
/// Decorations nest (`</dev/pts/0<char 136:0>>`) and socket ones contain `->`
/// (`<TCP:[127.0.0.1:22->127.0.0.1:41234]>`), so a `>` right after `-` closes only when the
/// decoration cannot go on (a delimiter or the end follows).
pub(crate) fn parse_decoration(c: &mut Cursor<'_>) -> Result<Vec<u8>, Fail> {
    let open = c.pos;
    let bytes = c.bytes;
    let start = open + 1;
    let mut depth = 1usize;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'<' => depth += 1,
            b'>' => {
                let arrow = i > start && bytes[i - 1] == b'-';
                let ends_here = matches!(bytes.get(i + 1), None | Some(b',' | b')' | b']' | b'}' | b' ' | b'>'));
                if !arrow || ends_here {
                    depth -= 1;
                    if depth == 0 {
                        let out = unescape(&bytes[start..i]);
                        c.pos = i + 1;
                        return Ok(out);
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(Fail { pos: open, message: "unterminated `<` decoration" })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_comment_ends_where_a_substring_search_finds_its_end() {
        for text in [&b"/* x */"[..], b"/*/ x */", b"/* a * b */ c */", b"/* ***/", b"/* no end", b"*", b"", b"*/"] {
            assert_eq!(
                super::comment_end(text),
                memchr::memmem::find(text, b"*/"),
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    use super::*;

    fn args(text: &str) -> Vec<Arg> {
        let mut c = Cursor::new(text.as_bytes());
        let mut out = Vec::new();
        parse_list(&mut c, b')', true, 0, &mut out).unwrap();
        out
    }

    fn one(text: &str) -> Arg {
        let mut all = args(text);
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0)
    }

    fn ident(name: &str) -> Arg {
        Arg::Ident(name.into())
    }

    fn string(bytes: &[u8]) -> Arg {
        Arg::Str(QuotedStr::new(bytes, false, false))
    }

    #[test]
    fn an_argument_fits_in_four_words() {
        // Calls keep six arguments inline, so the size of one matters for speed.
        assert_eq!(std::mem::size_of::<Arg>(), 32);
    }

    #[test]
    fn integers_in_every_base() {
        assert_eq!(
            args("0, 42, -1, 0x7fff0000, 0644, 18446744073709551615"),
            vec![
                Arg::Int(0),
                Arg::Int(42),
                Arg::Int(u64::MAX),
                Arg::Int(0x7fff0000),
                Arg::Int(0o644),
                Arg::Int(u64::MAX),
            ]
        );
    }

    #[test]
    fn out_of_range_numbers_fall_back_to_text() {
        assert_eq!(one("18446744073709551616"), Arg::Other("18446744073709551616".into()));
        assert_eq!(one("-9223372036854775808"), Arg::Int(i64::MIN as u64));
    }

    #[test]
    fn null_names_and_flag_sets() {
        assert_eq!(
            args("NULL, AT_FDCWD, PROT_READ|PROT_WRITE, S_IFREG|0644"),
            vec![
                Arg::Null,
                ident("AT_FDCWD"),
                Arg::Flags("PROT_READ|PROT_WRITE".into()),
                Arg::Flags("S_IFREG|0644".into()),
            ]
        );
    }

    #[test]
    fn strings_decode_c_escapes() {
        assert_eq!(one(r#""a\nb\t\"\\\x41\101\0""#), string(b"a\nb\t\"\\AA\0"));
    }

    #[test]
    fn long_strings_decode_when_read_as_short_ones_do() {
        // Past the length decoded at once, with escaped quotes and backslashes at the ends.
        let printed = r#"\"\\\0\x41\177ELF\2\1\1\3\0\0 text \"quoted\" \\\\ and more text to make it long\\"#;
        let arg = args(&format!("\"{printed}\", 3")).remove(0);
        let short: Vec<u8> =
            [&b"\"\\\0A\x7fELF\x02\x01\x01\x03\0\0 text \"quoted\" \\\\ and more"[..], b" text to make it long\\"]
                .concat();
        assert_eq!(arg.as_bytes(), Some(&short[..]));
        assert_eq!(arg, string(&short));
        assert_eq!(one(&format!("\"{printed}\"...")).as_quoted().map(|q| q.truncated), Some(true));
    }

    #[test]
    fn truncated_strings_are_flagged() {
        let arg = one(r#""\177ELF"..."#);
        assert_eq!(arg.as_quoted().unwrap(), &QuotedStr::new(&b"\x7fELF"[..], true, false));
    }

    #[test]
    fn abstract_socket_names_keep_the_at_sign() {
        let arg = one(r#"{sa_family=AF_UNIX, sun_path=@"/tmp/.X11-unix/X0"}"#);
        let path = arg.field("sun_path").unwrap().as_quoted().unwrap();
        assert!(path.at_sign);
        assert_eq!(path.bytes(), b"/tmp/.X11-unix/X0");
    }

    #[test]
    fn arrays_nest_and_keep_elisions() {
        assert_eq!(
            one(r#"["cat", ["x"], [], ...]"#),
            Arg::Array(vec![string(b"cat"), Arg::Array(vec![string(b"x")]), Arg::Array(vec![]), Arg::Ellipsis,])
        );
    }

    #[test]
    fn structs_have_named_and_bare_members() {
        let arg = one("{st_dev=makedev(0xfe, 0), st_ino=672, st_mode=S_IFREG|0644, {1, 2}, ...}");
        let fields = arg.as_struct().unwrap();
        assert_eq!(fields.len(), 5);
        assert_eq!(arg.field("st_ino"), Some(&Arg::Int(672)));
        let (name, dev) = arg.field("st_dev").unwrap().as_call().unwrap();
        assert_eq!((name, dev), ("makedev", &[Arg::Int(0xfe), Arg::Int(0)][..]));
        assert_eq!(fields[3].name, None);
        assert_eq!(fields[4], Field { name: None, value: Arg::Ellipsis });
    }

    #[test]
    fn comments_attach_to_values_or_stand_alone() {
        let arg = one("0x7ffd1000 /* 3 entries */");
        assert_eq!(arg.as_u64(), Some(0x7ffd1000));
        assert_eq!(arg.comment(), Some("3 entries"));
        assert_eq!(one("[/* 20 vars */]"), Arg::Array(vec![Arg::Comment("20 vars".into())]));
        let stat = one("{st_atime=1795651408 /* 2026-11-26T00:03:28.952794103+0000 */, st_atime_nsec=1}");
        assert_eq!(stat.field("st_atime").and_then(Arg::as_u64), Some(1795651408));
    }

    #[test]
    fn in_out_arguments_keep_both_sides() {
        let arg = one("[4096 => 4096]");
        let inner = &arg.as_array().unwrap()[0];
        assert_eq!(inner, &Arg::InOut(Box::new((Arg::Int(4096), Arg::Int(4096)))));
        let clone3 = one("{flags=CLONE_VM, exit_signal=0} => {parent_tid=[20211]}");
        assert_eq!(clone3.field("parent_tid").unwrap().as_array(), Some(&[Arg::Int(20211)][..]));
        assert_eq!(clone3.field("exit_signal").and_then(Arg::as_u64), Some(0));
    }

    #[test]
    fn signal_sets_with_spaces_or_negation() {
        let sigset =
            |negated, names: &[&str]| Arg::SigSet { negated, names: names.iter().map(|n| n.to_string()).collect() };
        assert_eq!(one("~[RTMIN RT_1]"), sigset(true, &["RTMIN", "RT_1"]));
        assert_eq!(one("[KILL STOP]"), sigset(false, &["KILL", "STOP"]));
        assert_eq!(one("~[]"), sigset(true, &[]));
        assert_eq!(one("[CHLD]"), Arg::Array(vec![ident("CHLD")]));
        let action = one("{sa_handler=SIG_DFL, sa_mask=~[RTMIN RT_1], sa_flags=SA_RESTORER}");
        assert_eq!(action.field("sa_mask").unwrap().sigset_names(), Some((true, vec!["RTMIN", "RT_1"])));
    }

    #[test]
    fn decorations_from_dash_y() {
        let arg = one("3</etc/passwd>");
        assert_eq!((arg.as_u64(), arg.decoration()), (Some(3), Some(&b"/etc/passwd"[..])));
        assert_eq!(one("AT_FDCWD</tmp/tr>").decoration(), Some(&b"/tmp/tr"[..]));
        assert_eq!(one("1<pipe:[114835]>").decoration(), Some(&b"pipe:[114835]"[..]));
        let tcp = one("3<TCP:[127.0.0.1:41234->127.0.0.1:22]>");
        assert_eq!(tcp.decoration(), Some(&b"TCP:[127.0.0.1:41234->127.0.0.1:22]"[..]));
        let tty = one("0</dev/pts/0<char 136:0>>");
        assert_eq!(tty.decoration(), Some(&b"/dev/pts/0<char 136:0>"[..]));
        assert_eq!(one(r"3</tmp/a\x20b>").decoration(), Some(&b"/tmp/a b"[..]));
    }

    #[test]
    fn calls_as_values() {
        let arg = one(r#"{sa_family=AF_INET, sin_port=htons(22), sin_addr=inet_addr("127.0.0.1")}"#);
        assert_eq!(arg.field("sin_port").unwrap().as_call(), Some(("htons", &[Arg::Int(22)][..])));
        let (name, args) = arg.field("sin_addr").unwrap().as_call().unwrap();
        assert_eq!((name, args[0].as_bytes()), ("inet_addr", Some(&b"127.0.0.1"[..])));
    }

    #[test]
    fn products_and_shifts_are_evaluated() {
        assert_eq!(one("{rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}").field("rlim_cur"), Some(&Arg::Int(8 << 20)));
        assert_eq!(one("1<<20"), Arg::Int(1 << 20));
    }

    #[test]
    fn unknown_notation_costs_only_its_own_element() {
        let arg = one("[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]");
        let inner = &arg.as_array().unwrap()[0];
        assert_eq!(inner.as_struct().unwrap()[0].value, Arg::Other("WIFEXITED(s) && WEXITSTATUS(s) == 0".into()));
        assert_eq!(
            args("AF_INET6, &sin6_addr, 5"),
            vec![ident("AF_INET6"), Arg::Other("&sin6_addr".into()), Arg::Int(5)]
        );
    }

    #[test]
    fn named_arguments_keep_their_names() {
        let all = args("child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD, child_tidptr=0x7ffff7d9fa10");
        assert_eq!(all[0].name(), Some("child_stack"));
        assert!(all[0].is_null());
        assert_eq!(all[1].flag_parts().count(), 2);
        assert_eq!(all[2].as_u64(), Some(0x7ffff7d9fa10));
    }

    #[test]
    fn deep_nesting_degrades_to_text() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let arg = one(&deep);
        assert!(matches!(arg, Arg::Array(_) | Arg::Other(_)));
    }

    #[test]
    fn unclosed_brackets_degrade_to_text() {
        assert_eq!(args(r#"{a=1, "x"#), vec![Arg::Other(r#"{a=1, "x"#.into())]);
    }
}
