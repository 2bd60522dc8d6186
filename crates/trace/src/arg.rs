//! [`Arg`]: one decoded system call argument (or return annotation), as a small syntax tree.
//!
//! strace prints arguments in a C-like notation. This module keeps that notation's structure
//! (numbers, names, flag sets, strings, arrays, structs, calls such as `makedev(0xfe, 0)`) and
//! offers accessors that see through the decorations strace adds around a value
//! (`/* comments */` and `-y` paths), so consumers ask for "the number" or "the field `st_ino`"
//! without caring how it was printed.

use std::sync::Arc;

/// One argument value, as strace printed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    /// `NULL`.
    Null,
    /// An integer: decimal, hexadecimal (`0x…`) or octal (`0644`).
    ///
    /// Negative numbers are kept in two's complement, so `-1` is `u64::MAX`; use
    /// [`Arg::as_i64`] to read them back as signed. Products and shifts of two numbers
    /// (`8192*1024`, `1<<20`) are evaluated.
    Int(u64),
    /// A single symbolic name, such as `AT_FDCWD`, `PROT_NONE` or `SIGCHLD`.
    Ident(Arc<str>),
    /// Names and numbers joined by `|`, such as `PROT_READ|PROT_WRITE` or `S_IFREG|0644`,
    /// kept as printed with their value; see [`Arg::flag_parts`] and [`Arg::flags_value`].
    Flags(FlagSet),
    /// A quoted string, decoded to bytes.
    Str(QuotedStr),
    /// `[a, b, …]`. An elided tail shows up as an [`Arg::Ellipsis`] element.
    Array(Vec<Arg>),
    /// A signal set written with spaces or negated: `[RTMIN RT_1]`, `~[SIGCHLD]`, `~[]`.
    ///
    /// A one-element set without `~`, such as `[CHLD]`, cannot be told apart from an array and
    /// is an [`Arg::Array`]; [`Arg::sigset_names`] reads both.
    SigSet {
        /// `true` for `~[…]`: every signal except the listed ones.
        negated: bool,
        /// The signal names as printed (`RTMIN`, `SIGCHLD`, `KILL`).
        names: Box<[String]>,
    },
    /// `{key=value, bare value, …}`.
    Struct(Vec<Field>),
    /// A function-call-like value: `makedev(0x8, 0x1)`, `inet_addr("127.0.0.1")`, `htons(22)`.
    Call(Box<CallArg>),
    /// An in/out argument, `before => after` (e.g. `[4096 => 4096]`, or the `clone3` struct).
    InOut(Box<(Arg, Arg)>),
    /// A value followed by a comment, such as `0x7ffd1000 /* 3 entries */` or a time stamp
    /// with its date.
    Commented(Box<(Arg, String)>),
    /// A comment standing alone, such as `[/* 20 vars */]`.
    Comment(String),
    /// A value followed by a `-y`/`-yy` decoration: `3</etc/passwd>`, `AT_FDCWD</tmp>`,
    /// `1<pipe:[114835]>`. The decoration text is decoded like a string.
    Decorated(Box<(Arg, Vec<u8>)>),
    /// A named argument, as strace prints some calls' arguments:
    /// `clone(child_stack=NULL, flags=CLONE_VM|SIGCHLD, child_tidptr=0x7f…)`. Accessors look
    /// through the name to the value.
    Named(Box<(Arc<str>, Arg)>),
    /// `...`: strace left something out.
    Ellipsis,
    /// Text the parser did not recognize, kept verbatim (lossily converted to UTF-8).
    Other(String),
}

/// A flag set as printed (`PROT_READ|PROT_WRITE`), with its value in the `abi` tables.
///
/// The value is worked out when the set is parsed: a replay reads the flags of every `mmap`
/// and `mprotect` in the consumer's thread, while parsing runs in a thread of its own. The
/// text is shared (a trace repeats the same few sets), so a clone does not copy it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagSet(Arc<(Box<str>, Option<u64>)>);

impl FlagSet {
    /// The set printed as `text`, its names looked up in the `abi` tables.
    pub fn new(text: &str) -> FlagSet {
        let value = evaluate_flags(text, abi::constant).and_then(|(v, unknown)| unknown.is_empty().then_some(v));
        FlagSet(Arc::new((text.into(), value)))
    }

    /// The set as printed.
    pub fn text(&self) -> &str {
        &self.0 .0
    }

    /// The value of the set in the `abi` tables; `None` if a name is not there.
    pub fn value(&self) -> Option<u64> {
        self.0 .1
    }
}

impl From<&str> for FlagSet {
    fn from(text: &str) -> FlagSet {
        FlagSet::new(text)
    }
}

/// A quoted string argument.
///
/// Its bytes are decoded from strace's C escapes when first asked for
/// ([`QuotedStr::bytes`]): a trace recorded with `-s 1048576` holds megabytes of file
/// contents in read buffers, printed mostly as escapes, which a replay seldom looks at.
#[derive(Clone, Debug, Default)]
pub struct QuotedStr {
    text: Text,
    /// `true` when strace printed `...` after the closing quote: the string was longer than
    /// its `-s` limit and its bytes are only its beginning.
    pub truncated: bool,
    /// `true` for `@"…"`, strace's spelling of an abstract Unix socket name.
    pub at_sign: bool,
}

/// The bytes of a [`QuotedStr`]: as they are, or as printed with escapes and decoded once
/// someone reads them.
#[derive(Clone, Debug)]
enum Text {
    Plain(Box<[u8]>),
    Escaped(Box<Escaped>),
}

impl Default for Text {
    fn default() -> Self {
        Text::Plain(Box::default())
    }
}

#[derive(Clone, Debug)]
struct Escaped {
    /// The text between the quotes: a slice of the parser's input when the whole input is
    /// one shared buffer ([`crate::Parser::from_bytes`]), so that the megabytes of a
    /// `-s 1048576` read are not copied; a copy of it otherwise.
    printed: bytes::Bytes,
    decoded: std::sync::OnceLock<Box<[u8]>>,
}

/// Escaped strings up to this long (most paths and names) are decoded right away; only
/// longer ones wait until their bytes are read.
const DECODE_AT_ONCE: usize = 64;

impl QuotedStr {
    /// A string of these bytes.
    pub fn new(bytes: impl Into<Box<[u8]>>, truncated: bool, at_sign: bool) -> QuotedStr {
        QuotedStr { text: Text::Plain(bytes.into()), truncated, at_sign }
    }

    /// A string as strace printed it between the quotes, C escapes and all; `shared` gives
    /// the same text as a slice of a shared buffer, when it is in one.
    pub(crate) fn printed(
        printed: &[u8],
        shared: impl FnOnce() -> Option<bytes::Bytes>,
        truncated: bool,
        at_sign: bool,
    ) -> QuotedStr {
        let text = if memchr::memchr(b'\\', printed).is_none() {
            Text::Plain(printed.into())
        } else if printed.len() <= DECODE_AT_ONCE {
            Text::Plain(crate::escape::unescape(printed).into())
        } else {
            let printed = shared().unwrap_or_else(|| bytes::Bytes::copy_from_slice(printed));
            Text::Escaped(Box::new(Escaped { printed, decoded: std::sync::OnceLock::new() }))
        };
        QuotedStr { text, truncated, at_sign }
    }

    /// The bytes, C escapes decoded.
    pub fn bytes(&self) -> &[u8] {
        match &self.text {
            Text::Plain(bytes) => bytes,
            Text::Escaped(e) => e.decoded.get_or_init(|| crate::escape::unescape(&e.printed).into()),
        }
    }
}

impl PartialEq for QuotedStr {
    fn eq(&self, other: &Self) -> bool {
        (self.truncated, self.at_sign) == (other.truncated, other.at_sign) && self.bytes() == other.bytes()
    }
}

impl Eq for QuotedStr {}

/// One member of a struct: `name=value`, or a bare value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The member name, or `None` for a value printed without one. Names are shared: a
    /// trace repeats the same few (`st_ino`, `sa_handler`) over and over.
    pub name: Option<Arc<str>>,
    /// The member value.
    pub value: Arg,
}

/// A function-call-like value: a name and its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallArg {
    /// The function name (`makedev`, `inet_addr`, …).
    pub name: String,
    /// Its arguments.
    pub args: Vec<Arg>,
}

/// One operand of a flag set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagPart<'a> {
    /// A symbolic name.
    Name(&'a str),
    /// A number (strace prints the bits it has no name for as one).
    Number(u64),
}

impl Arg {
    /// Returns the value under any comment, `-y` decoration or argument name around it.
    pub fn peeled(&self) -> &Arg {
        let mut arg = self;
        loop {
            match arg {
                Arg::Commented(inner) => arg = &inner.0,
                Arg::Decorated(inner) => arg = &inner.0,
                Arg::Named(inner) => arg = &inner.1,
                _ => return arg,
            }
        }
    }

    /// Returns the integer value (`NULL` counts as 0), through comments and decorations.
    pub fn as_u64(&self) -> Option<u64> {
        match self.peeled() {
            Arg::Int(v) => Some(*v),
            Arg::Null => Some(0),
            _ => None,
        }
    }

    /// Returns the integer value read as signed (so `-1` is `-1`).
    pub fn as_i64(&self) -> Option<i64> {
        // Reinterpreting the bits is the point: negatives are stored in two's complement.
        self.as_u64().map(|v| v as i64)
    }

    /// Returns the decoded bytes of a quoted string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self.peeled() {
            Arg::Str(s) => Some(s.bytes()),
            _ => None,
        }
    }

    /// Returns the quoted string with its truncation flag.
    pub fn as_quoted(&self) -> Option<&QuotedStr> {
        match self.peeled() {
            Arg::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Returns the name of a single symbolic value such as `AT_FDCWD`.
    pub fn as_ident(&self) -> Option<&str> {
        match self.peeled() {
            Arg::Ident(name) => Some(&**name),
            _ => None,
        }
    }

    /// Returns the elements of an array.
    pub fn as_array(&self) -> Option<&[Arg]> {
        match self.peeled() {
            Arg::Array(items) => Some(items),
            _ => None,
        }
    }

    /// Returns the members of a struct.
    pub fn as_struct(&self) -> Option<&[Field]> {
        match self.peeled() {
            Arg::Struct(fields) => Some(fields),
            _ => None,
        }
    }

    /// Returns the call name and arguments of a value like `makedev(0xfe, 0)`.
    pub fn as_call(&self) -> Option<(&str, &[Arg])> {
        match self.peeled() {
            Arg::Call(call) => Some((&call.name, &call.args)),
            _ => None,
        }
    }

    /// Returns the value before `=>` of an in/out argument, or the value itself otherwise.
    pub fn input(&self) -> &Arg {
        match self.peeled() {
            Arg::InOut(pair) => &pair.0,
            other => other,
        }
    }

    /// Returns the value after `=>` of an in/out argument, or the value itself otherwise.
    pub fn output(&self) -> &Arg {
        match self.peeled() {
            Arg::InOut(pair) => &pair.1,
            other => other,
        }
    }

    /// Returns the struct member called `name`.
    ///
    /// For an in/out argument the value before `=>` is searched first, then the one after.
    pub fn field(&self, name: &str) -> Option<&Arg> {
        fn find<'a>(arg: &'a Arg, name: &str) -> Option<&'a Arg> {
            arg.as_struct()?.iter().find(|f| f.name.as_deref() == Some(name)).map(|f| &f.value)
        }
        match self.peeled() {
            Arg::InOut(pair) => find(&pair.0, name).or_else(|| find(&pair.1, name)),
            other => find(other, name),
        }
    }

    /// Returns the name of a named argument (`flags` in `flags=CLONE_VM`).
    pub fn name(&self) -> Option<&str> {
        match self {
            Arg::Named(inner) => Some(&*inner.0),
            _ => None,
        }
    }

    /// Returns the `-y` decoration (usually a path) attached to this value.
    pub fn decoration(&self) -> Option<&[u8]> {
        let mut arg = self;
        loop {
            match arg {
                Arg::Decorated(inner) => return Some(&inner.1),
                Arg::Commented(inner) => arg = &inner.0,
                Arg::Named(inner) => arg = &inner.1,
                _ => return None,
            }
        }
    }

    /// Returns the comment attached to this value (`/* 3 entries */` gives `3 entries`).
    pub fn comment(&self) -> Option<&str> {
        let mut arg = self;
        loop {
            match arg {
                Arg::Commented(inner) => return Some(&inner.1),
                Arg::Comment(text) => return Some(text),
                Arg::Decorated(inner) => arg = &inner.0,
                Arg::Named(inner) => arg = &inner.1,
                _ => return None,
            }
        }
    }

    /// Returns the operands of a flag set; a single name or number counts as a set of one.
    ///
    /// Yields nothing for values that are not flags, names or numbers.
    pub fn flag_parts(&self) -> impl Iterator<Item = FlagPart<'_>> {
        let (text, number) = match self.peeled() {
            Arg::Flags(set) => (set.text(), None),
            Arg::Ident(text) => (&**text, None),
            Arg::Int(v) => ("", Some(*v)),
            _ => ("", None),
        };
        number.map(FlagPart::Number).into_iter().chain(flag_operands(text))
    }

    /// Returns the numeric value of a flag set, looking names up in the `abi` crate's tables
    /// (`PROT_*`, `MAP_*`, `O_*`, …); `None` if a name is unknown there.
    ///
    /// `NULL` and plain numbers evaluate to themselves.
    pub fn flags_value(&self) -> Option<u64> {
        match self.peeled() {
            Arg::Flags(set) => set.value(),
            _ => self.flags_value_with(abi::constant),
        }
    }

    /// Returns the numeric value of a flag set, looking names up with `lookup`.
    ///
    /// Besides names and numbers, an operand may be a number with strace's comment for bits
    /// it has no name for (`0x4 /* MAP_??? */|MAP_ANONYMOUS`) or a shifted field
    /// (`16<<MAP_HUGE_SHIFT`).
    pub fn flags_value_with(&self, lookup: impl Fn(&str) -> Option<u64>) -> Option<u64> {
        let (value, unknown) = self.flags_value_known_with(lookup)?;
        unknown.is_empty().then_some(value)
    }

    /// Like [`Arg::flags_value`], but an operand whose name the `abi` tables do not know
    /// does not make the whole value unknown: returns the value of the operands that are
    /// known, and the names of those that are not (for the caller to report).
    pub fn flags_value_known(&self) -> Option<(u64, Vec<&str>)> {
        match self.peeled() {
            Arg::Flags(set) => match set.value() {
                Some(v) => Some((v, Vec::new())),
                None => self.flags_value_known_with(abi::constant),
            },
            _ => self.flags_value_known_with(abi::constant),
        }
    }

    /// [`Arg::flags_value_known`] with names looked up with `lookup`.
    pub fn flags_value_known_with(&self, lookup: impl Fn(&str) -> Option<u64>) -> Option<(u64, Vec<&str>)> {
        match self.peeled() {
            Arg::Null => Some((0, Vec::new())),
            Arg::Int(v) => Some((*v, Vec::new())),
            Arg::Flags(set) => evaluate_flags(set.text(), lookup),
            Arg::Ident(name) => evaluate_flags(name, lookup),
            // What the grammar could not type: a flag set with comments or shifts in it.
            Arg::Other(text) if text.contains('|') || text.contains("<<") => evaluate_flags(text, lookup),
            _ => None,
        }
    }

    /// Returns the signal names of a signal set (`[CHLD]`, `[RTMIN RT_1]`, `~[]`) and whether
    /// it is negated.
    pub fn sigset_names(&self) -> Option<(bool, Vec<&str>)> {
        match self.peeled() {
            Arg::SigSet { negated, names } => Some((*negated, names.iter().map(String::as_str).collect())),
            Arg::Array(items) => {
                let names = items.iter().map(|a| a.as_ident()).collect::<Option<Vec<_>>>()?;
                Some((false, names))
            }
            _ => None,
        }
    }

    /// Returns `true` for `NULL`.
    pub fn is_null(&self) -> bool {
        matches!(self.peeled(), Arg::Null)
    }
}

/// The operands of the flag set printed as `text`; strace's comment on a number it has no
/// name for (`0x4 /* MAP_??? */`) is dropped.
fn flag_operands(text: &str) -> impl Iterator<Item = FlagPart<'_>> {
    split_outside_comments(text).map(strip_comment).filter(|s| !s.is_empty()).map(|part| {
        match parse_flag_number(part) {
            Some(v) => FlagPart::Number(v),
            None => FlagPart::Name(part),
        }
    })
}

/// `text` split at each `|` that is not inside a `/* ... */` comment (`-X verbose` writes
/// the names of a number's bits there: `0x600 /* IPC_CREAT|IPC_EXCL */|0600`).
fn split_outside_comments(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    let mut in_comment = false;
    std::iter::from_fn(move || {
        if start > text.len() {
            return None;
        }
        while i < bytes.len() {
            match bytes[i] {
                b'/' if !in_comment && bytes.get(i + 1) == Some(&b'*') => {
                    in_comment = true;
                    i += 2;
                    continue;
                }
                b'*' if in_comment && bytes.get(i + 1) == Some(&b'/') => {
                    in_comment = false;
                    i += 2;
                    continue;
                }
                b'|' if !in_comment => {
                    let part = &text[start..i];
                    i += 1;
                    start = i;
                    return Some(part);
                }
                _ => i += 1,
            }
        }
        let part = &text[start..];
        start = text.len() + 1;
        Some(part)
    })
}

/// `part` without a trailing `/* ... */` comment, trimmed.
fn strip_comment(part: &str) -> &str {
    let part = part.trim();
    match part.find("/*") {
        Some(i) if part.ends_with("*/") => part[..i].trim_end(),
        _ => part,
    }
}

/// The value of the flag set printed as `text`, names looked up with `lookup`, and the
/// names `lookup` does not know (they add nothing to the value). `None` when an operand is
/// neither a name, a number nor a shifted field.
fn evaluate_flags(text: &str, lookup: impl Fn(&str) -> Option<u64>) -> Option<(u64, Vec<&str>)> {
    let mut value = 0u64;
    let mut unknown = Vec::new();
    for part in flag_operands(text) {
        match part {
            FlagPart::Number(v) => value |= v,
            FlagPart::Name(name) => {
                if let Some((n, field)) = name.split_once("<<") {
                    // `16<<MAP_HUGE_SHIFT`: a number shifted by a named (or numeric) amount.
                    let n = parse_flag_number(n.trim())?;
                    let field = field.trim();
                    let shift = parse_flag_number(field).or_else(|| lookup(field));
                    match shift {
                        Some(sh) if sh < 64 => value |= n.checked_shl(sh as u32)?,
                        Some(_) => return None,
                        None => unknown.push(field),
                    }
                } else if !is_name(name) {
                    return None;
                } else {
                    match lookup(name) {
                        Some(v) => value |= v,
                        None => unknown.push(name),
                    }
                }
            }
        }
    }
    Some((value, unknown))
}

/// Whether `text` can be a C identifier.
fn is_name(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Parses one numeric operand of a flag set (`0644`, `0x40`, `12`).
fn parse_flag_number(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if !bytes.first()?.is_ascii_digit() {
        return None;
    }
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if bytes.len() > 1 && bytes[0] == b'0' {
        u64::from_str_radix(&text[1..], 8).ok()
    } else {
        text.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(text: &str) -> Arg {
        Arg::Flags(text.into())
    }

    #[test]
    fn flag_sets_evaluate_with_the_abi_tables() {
        assert_eq!(flags("PROT_READ|PROT_WRITE").flags_value(), Some(3));
        assert_eq!(flags("MAP_PRIVATE|MAP_ANONYMOUS").flags_value(), Some(0x22));
        assert_eq!(Arg::Ident("PROT_NONE".into()).flags_value(), Some(0));
        assert_eq!(flags("MAP_PRIVATE|0x40").flags_value(), Some(0x42));
    }

    #[test]
    fn unknown_flag_names_make_the_value_unknown() {
        assert_eq!(flags("PROT_READ|NOT_A_FLAG").flags_value(), None);
    }

    #[test]
    fn unknown_flag_names_leave_the_known_part() {
        let f = flags("MAP_PRIVATE|MAP_ANONYMOUS|MAP_WHATEVER");
        assert_eq!(f.flags_value_known(), Some((0x22, vec!["MAP_WHATEVER"])));
        assert_eq!(Arg::Other("0x4 /* MAP_??? */|MAP_ANONYMOUS".into()).flags_value(), Some(0x24));
        assert_eq!(Arg::Other("MAP_PRIVATE|16<<MAP_HUGE_SHIFT".into()).flags_value(), Some(0x4000_0002));
        assert_eq!(Arg::Ident("MAP_FILE".into()).flags_value(), Some(0));
        assert_eq!(Arg::Other("a b|c".into()).flags_value_known(), None);
    }

    #[test]
    fn a_comment_naming_several_bits_is_one_operand() {
        // `strace -X verbose`: a number whose comment names its bits, then the mode.
        assert_eq!(Arg::Other("0x600 /* IPC_CREAT|IPC_EXCL */|0600".into()).flags_value(), Some(0o3600));
        assert_eq!(Arg::Other("0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */".into()).flags_value(), Some(0x22));
        assert_eq!(Arg::Other("0x200 /* IPC_CREAT */|0600".into()).flags_value(), Some(0o1600));
    }

    #[test]
    fn custom_lookups_evaluate_other_tables() {
        let lookup = |name: &str| (name == "S_IFREG").then_some(0o100000);
        assert_eq!(flags("S_IFREG|0755").flags_value_with(lookup), Some(0o100755));
    }

    #[test]
    fn flag_parts_split_names_and_numbers() {
        let arg = flags("S_IFREG|0644");
        let parts: Vec<_> = arg.flag_parts().collect();
        assert_eq!(parts, vec![FlagPart::Name("S_IFREG"), FlagPart::Number(0o644)]);
    }

    #[test]
    fn accessors_see_through_comments_and_decorations() {
        let arg = Arg::Commented(Box::new((Arg::Decorated(Box::new((Arg::Int(3), b"/etc".to_vec()))), "x".into())));
        assert_eq!(arg.as_u64(), Some(3));
        assert_eq!(arg.decoration(), Some(&b"/etc"[..]));
        assert_eq!(arg.comment(), Some("x"));
    }

    #[test]
    fn negative_numbers_read_back_as_signed() {
        assert_eq!(Arg::Int((-1i64) as u64).as_i64(), Some(-1));
    }

    #[test]
    fn in_out_fields_are_found_on_either_side() {
        let input = Arg::Struct(vec![Field { name: Some("flags".into()), value: Arg::Int(1) }]);
        let output = Arg::Struct(vec![Field { name: Some("parent_tid".into()), value: Arg::Int(7) }]);
        let arg = Arg::InOut(Box::new((input, output)));
        assert_eq!(arg.field("flags").and_then(Arg::as_u64), Some(1));
        assert_eq!(arg.field("parent_tid").and_then(Arg::as_u64), Some(7));
        assert_eq!(arg.field("nope"), None);
    }

    #[test]
    fn one_element_arrays_of_names_read_as_sigsets() {
        let arg = Arg::Array(vec![Arg::Ident("CHLD".into())]);
        assert_eq!(arg.sigset_names(), Some((false, vec!["CHLD"])));
    }
}
