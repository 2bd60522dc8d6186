//! Parsing of one line of strace output, without memory of other lines.
//!
//! A line is `[pid N] ` or `N ` (optional), a time stamp (optional), then a body:
//! - `NAME(ARGS) = RET [annotations]`: a complete call;
//! - `NAME(ARGS <unfinished ...>`: the first part of a split call;
//! - `<... NAME resumed>REST) = RET`: its second part;
//! - `--- SIG… {…} ---`, `+++ exited with N +++`, `+++ killed by SIG… +++`,
//!   `+++ superseded by execve in pid N +++`, `strace: …`.
//!
//! Joining the parts of split calls is [`crate::parser`]'s job; this module only says which
//! kind of line it saw and parses complete calls (also the text the parser joins).

use std::time::Duration;

use crate::arg::Arg;
use crate::cursor::{ident_string, is_ident_byte, parse_decimal, Cursor, Fail};
use crate::event::{Args, EventKind, Ret, Syscall, Timestamp};
use crate::grammar::{parse_decoration, parse_list, parse_number, parse_value, string_end};
use crate::names::call_name;

const UNFINISHED: &[u8] = b"<unfinished ...>";
/// How strace ends the line of a call in progress when it detaches (`strace -p` stopped by
/// Ctrl-C): as an unfinished call that never resumes.
const DETACHED: &[u8] = b"<detached ...>";

/// What comes before the body of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Prefix {
    pub pid: Option<u32>,
    pub timestamp: Option<Timestamp>,
    /// Offset of the body in the line.
    pub body_start: usize,
}

/// The body of a line, classified.
#[derive(Debug, PartialEq)]
pub(crate) enum Body<'a> {
    /// A call line; `args_start` is the offset just after `(`. Its end tells whether it is
    /// complete or the first part of a split call.
    Call { name: &'a [u8], args_start: usize, unfinished: Option<usize> },
    /// `<... NAME resumed>`; `rest_start` is the offset of what follows `>`.
    Resumed { name: &'a [u8], rest_start: usize },
    /// A line that makes an event on its own.
    Event(EventKind),
}

/// Reads the `[pid N] ` / `N ` prefix and the time stamp.
///
/// A leading number followed by a space is a pid, one followed by `.` or `:` is a time stamp:
/// `-o FILE` writes `1234 ` before every line, `-tt` writes `12:34:56.789012 `, `-ttt`
/// `1795653895.935651 ` and `-r` `     0.000123 `.
pub(crate) fn parse_prefix(line: &[u8]) -> Prefix {
    let mut c = Cursor::new(line);
    let mut prefix = Prefix::default();
    c.skip_spaces();
    // strace writes a pid flush left and a time stamp flush right (`     0 brk(` with
    // `-r` in whole seconds): a number after spaces is no pid.
    let padded = c.pos > 0;
    let start = c.pos;
    if c.eat_str(b"[pid") {
        c.skip_spaces();
        let pid = parse_pid(&mut c);
        if let (Some(pid), true) = (pid, c.eat(b']')) {
            prefix.pid = Some(pid);
            c.skip_spaces();
        } else {
            c.pos = start;
        }
    } else if !padded && c.peek().is_some_and(|b| b.is_ascii_digit()) {
        match parse_pid(&mut c) {
            // A number too large for a pid is a time stamp in whole seconds.
            Some(pid) if c.peek() == Some(b' ') && pid <= PID_MAX_LIMIT => {
                prefix.pid = Some(pid);
                c.skip_spaces();
            }
            _ => c.pos = start,
        }
    }
    let before_time = c.pos;
    // Whole seconds are a stamp where a number can be nothing else: after a pid, or after
    // spaces.
    let whole_seconds = prefix.pid.is_some() || padded;
    match parse_timestamp(&mut c, whole_seconds) {
        Some(ts) if c.peek() == Some(b' ') => {
            prefix.timestamp = Some(ts);
            c.skip_spaces();
            skip_relative_time(&mut c);
        }
        _ => c.pos = before_time,
    }
    // `-i` prints the instruction pointer, `[00007ffff7fe3c8b] ` (question marks where there
    // is none, as on an exit line: `[????????????????] +++ exited with 0 +++`), and `-n` the
    // syscall number, `[  9] `; neither matters here.
    while c.peek() == Some(b'[') {
        let rest = c.rest();
        let inner = rest[1..].iter().take_while(|b| b.is_ascii_hexdigit() || matches!(**b, b' ' | b'?')).count();
        if inner > 0 && rest.get(1 + inner) == Some(&b']') && rest.get(2 + inner) == Some(&b' ') {
            c.advance(2 + inner);
            c.skip_spaces();
        } else {
            break;
        }
    }
    prefix.body_start = c.pos;
    prefix
}

/// Skips the time since the previous call that `-r` prints after an absolute time stamp
/// (`-r` with `-t`, `-tt` or `-ttt`: `1796678405.980644 (+     0.000305) brk(`): the absolute
/// stamp is the one kept, as it orders the lines of `-ff` files.
fn skip_relative_time(c: &mut Cursor<'_>) {
    let start = c.pos;
    if c.eat_str(b"(+") {
        c.skip_spaces();
        if parse_timestamp(c, true).is_some() && c.eat(b')') && c.peek() == Some(b' ') {
            c.skip_spaces();
            return;
        }
    }
    c.pos = start;
}

/// Parses a pid, and the `<comm>` that `--decode-pids=comm` adds after it.
fn parse_pid(c: &mut Cursor<'_>) -> Option<u32> {
    let pid = u32::try_from(parse_decimal(c.take_digits())?).ok()?;
    if c.peek() == Some(b'<') {
        // A command name is at most 15 bytes, so a `>` further away is something else.
        let end = c.rest().iter().take(18).position(|&b| b == b'>')?;
        c.advance(end + 1);
    }
    Some(pid)
}

/// The largest pid Linux gives (`PID_MAX_LIMIT` on 64-bit, 4M).
const PID_MAX_LIMIT: u32 = 1 << 22;

/// Parses `SECONDS.FRACTION` or `HH:MM:SS[.FRACTION]`, or whole seconds: since the epoch
/// (`--timestamps=unix,s`), a number too large for a pid, or any number where
/// `whole_seconds` says nothing else can be there.
fn parse_timestamp(c: &mut Cursor<'_>, whole_seconds: bool) -> Option<Timestamp> {
    let first = parse_decimal(c.take_digits())?;
    let seconds = if c.peek() == Some(b':') {
        c.advance(1);
        let minutes = parse_decimal(c.take_digits())?;
        if !c.eat(b':') {
            return None;
        }
        let secs = parse_decimal(c.take_digits())?;
        first.checked_mul(3600)?.checked_add(minutes.checked_mul(60)?)?.checked_add(secs)?
    } else if c.peek() == Some(b'.') {
        first
    } else if whole_seconds || first > u64::from(PID_MAX_LIMIT) {
        return Some(Timestamp { seconds: first, nanos: 0 });
    } else {
        return None;
    };
    let mut nanos = 0u32;
    if c.eat(b'.') {
        let digits = c.take_digits();
        if digits.is_empty() {
            return None;
        }
        // Keep nanosecond precision; more digits than that are dropped.
        for i in 0..9 {
            let d = digits.get(i).map_or(0, |d| u32::from(d - b'0'));
            nanos = nanos * 10 + d;
        }
    }
    Some(Timestamp { seconds, nanos })
}

/// Parses a line of strace's hex dump, `| 00010  68 65 6c 6c ...  hell... |`: a 5-digit
/// (or longer) hex offset, then up to 16 bytes in fixed columns (three characters a byte, one
/// more space after the eighth), then the same bytes as text.
fn parse_dump(body: &[u8]) -> Option<EventKind> {
    let rest = body.strip_prefix(b"| ")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits < 5 {
        return None;
    }
    let offset = u64::from_str_radix(std::str::from_utf8(&rest[..digits]).ok()?, 16).ok()?;
    let hex = rest.get(digits..)?.strip_prefix(b"  ")?;
    let mut bytes = Vec::with_capacity(16);
    for i in 0..16 {
        let at = i * 3 + usize::from(i >= 8);
        let pair = match hex.get(at..at + 2) {
            Some(p) if p.iter().all(u8::is_ascii_hexdigit) => p,
            _ => break,
        };
        let text = std::str::from_utf8(pair).ok()?;
        bytes.push(u8::from_str_radix(text, 16).ok()?);
    }
    (!bytes.is_empty()).then_some(EventKind::Dump { offset, bytes })
}

/// Whether `line` (trimmed) is the header of the summary table `strace -c`/`-C` print: the
/// first line of it, which the parser gives as an [`EventKind::Other`] like the rest.
pub fn is_summary_header(line: &[u8]) -> bool {
    line.starts_with(b"% time ")
}

/// Whether `line` is a line of the summary table `strace -c` prints instead of the calls
/// (and `-C` after them): its header (`% time     seconds  usecs/call     calls    errors
/// syscall`), a rule of dashes, or a row (`  0.00    0.000012           1        33        13
/// openat`, the errors column blank when there were none, `total` last).
pub(crate) fn is_summary_line(line: &[u8]) -> bool {
    let line = line.trim_ascii();
    if is_summary_header(line) {
        return true;
    }
    if !line.is_empty() && line.iter().all(|&b| b == b'-' || b == b' ') {
        return true;
    }
    let Ok(text) = std::str::from_utf8(line) else { return false };
    let words: Vec<&str> = text.split_ascii_whitespace().collect();
    let Some((name, numbers)) = words.split_last() else { return false };
    let decimal =
        |w: &str| w.split_once('.').is_some_and(|(a, b)| a.parse::<u64>().is_ok() && b.parse::<u64>().is_ok());
    (5..=6).contains(&words.len())
        && decimal(numbers[0])
        && decimal(numbers[1])
        && numbers[2..].iter().all(|w| w.parse::<u64>().is_ok())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Classifies the body of a line that starts at `body_start`.
pub(crate) fn classify(line: &[u8], body_start: usize) -> Result<Body<'_>, Fail> {
    let mut c = Cursor::new(line);
    c.pos = body_start;
    if c.eat_str(b"<... ") {
        let name_start = c.pos;
        let name = take_call_name(&mut c);
        if name.is_empty() {
            return Err(Fail { pos: name_start, message: "expected a call name after `<...`" });
        }
        c.skip_spaces();
        if !c.eat_str(b"resumed>") {
            return Err(c.fail("expected `resumed>`"));
        }
        return Ok(Body::Resumed { name, rest_start: c.pos });
    }
    if c.starts_with(b"--- ") {
        return Ok(Body::Event(parse_signal(&line[body_start..])));
    }
    if c.starts_with(b"+++ ") {
        return parse_exit(&line[body_start..]).map(Body::Event).ok_or(c.fail("unrecognized `+++` line"));
    }
    if c.eat_str(b"strace: ") {
        return Ok(Body::Event(parse_diagnostic(c.rest())));
    }
    if c.starts_with(b"| ") {
        return parse_dump(&line[body_start..]).map(Body::Event).ok_or(c.fail("unrecognized dump line"));
    }
    if c.starts_with(b"[ ") || c.starts_with(b"> ") {
        return Ok(Body::Event(EventKind::Other(lossy(&line[body_start..]))));
    }
    let name = take_call_name(&mut c);
    if name.is_empty() || !c.eat(b'(') {
        return Err(Fail { pos: body_start, message: "unrecognized line" });
    }
    let args_start = c.pos;
    let trimmed = line.trim_ascii_end();
    let unfinished =
        [UNFINISHED, DETACHED].iter().find(|end| trimmed.ends_with(end)).map(|end| trimmed.len() - end.len());
    Ok(Body::Call { name, args_start, unfinished: unfinished.filter(|&u| u >= args_start) })
}

/// Takes a call name: identifier bytes, and `?` which strace uses for unknown calls.
fn take_call_name<'a>(c: &mut Cursor<'a>) -> &'a [u8] {
    let start = c.pos;
    while c.peek().is_some_and(|b| is_ident_byte(b) || b == b'?') {
        c.advance(1);
    }
    &c.bytes[start..c.pos]
}

/// Parses `ARGS) = RET …` from the cursor (just after the `(`), filling in a [`Syscall`].
///
/// With `eof_ok` the text may end inside the arguments (a call that never resumed); the
/// result is then [`Ret::Unknown`].
///
/// The call is built in its box from the start, so its arguments are parsed in place rather
/// than moved there afterwards.
pub(crate) fn parse_call_tail(
    c: &mut Cursor<'_>,
    name: &[u8],
    eof_ok: bool,
    skip_args: bool,
) -> Result<Box<Syscall>, Fail> {
    let mut call = Box::new(Syscall {
        name: call_name(name),
        args: Args::new(),
        ret: Ret::Unknown,
        ret_decoration: None,
        ret_note: None,
        duration: None,
        unfinished_line: None,
        incomplete: false,
        injected: false,
        ret_tracer_pid: None,
    });
    if skip_args {
        skip_list(c, eof_ok)?;
    } else {
        parse_list(c, b')', eof_ok, 0, &mut call.args)?;
    }
    c.skip_spaces();
    if c.at_end() && eof_ok {
        return Ok(call);
    }
    if !c.eat(b'=') {
        return Err(c.fail("expected `=` and a return value after `)`"));
    }
    c.skip_spaces();
    parse_ret(c, &mut call)?;
    Ok(call)
}

/// Passes over an argument list and its closing `)` without building the arguments (for a
/// call whose arguments the consumer never reads: a verbose `stat` structure or a signal
/// action costs more to parse than anything a replay does with the line). Strings,
/// comments and nesting are minded, so that a `)` inside them does not end the list.
fn skip_list(c: &mut Cursor<'_>, eof_ok: bool) -> Result<(), Fail> {
    let open = c.pos;
    let mut depth = 0u32;
    while let Some(b) = c.peek() {
        match b {
            b'"' => {
                let Some(end) = string_end(&c.rest()[1..]) else {
                    return Err(Fail { pos: c.pos, message: "unterminated string" });
                };
                c.advance(end + 2);
                continue;
            }
            b'/' if c.peek_at(1) == Some(b'*') => {
                let Some(end) = crate::grammar::comment_end(c.rest()) else {
                    return Err(Fail { pos: c.pos, message: "unterminated comment" });
                };
                c.advance(end + 2);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' if depth == 0 => {
                c.advance(1);
                return Ok(());
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        c.advance(1);
    }
    if eof_ok {
        Ok(())
    } else {
        Err(Fail { pos: open, message: "unclosed `(`" })
    }
}

/// Parses the return value and what may follow it: an errno with its message, a `-y`
/// decoration, a note in parentheses, a `-T` duration.
/// Whether `text` is how strace names an error code without a name: `errno 4095`.
fn is_unnamed_errno(text: &str) -> bool {
    text.strip_prefix("errno ").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn parse_ret(c: &mut Cursor<'_>, call: &mut Syscall) -> Result<(), Fail> {
    if c.eat(b'?') {
        call.ret = Ret::Unknown;
    } else if c.peek().is_some_and(|b| b == b'-' || b.is_ascii_digit()) {
        call.ret = Ret::Value(parse_number(c)?);
        // `= 3</etc/passwd>`: the -y path of a returned fd sticks to the number, while a -T
        // duration comes after a space.
        if c.peek() == Some(b'<') {
            call.ret_decoration = Some(parse_decoration(c)?);
        }
    } else {
        return Err(c.fail("expected a return value"));
    }
    loop {
        c.skip_spaces();
        match c.peek() {
            None => return Ok(()),
            Some(b'E') if matches!(call.ret, Ret::Value(_) | Ret::Unknown) => {
                let errno = ident_string(c.take_ident_chars());
                call.ret = Ret::Error { errno, message: String::new() };
            }
            Some(b'(') => {
                let text = take_parenthesized(c)?;
                // strace's marks of `-e inject` (after the errno's message, if any): a result
                // it made up, or a call it held back for a while.
                match text.as_str() {
                    "INJECTED" => {
                        call.injected = true;
                        continue;
                    }
                    "DELAYED" => continue,
                    _ => {}
                }
                match &mut call.ret {
                    Ret::Error { message, .. } if message.is_empty() => *message = text,
                    // `-1 (errno 4095)`: an error code errno has no name for.
                    Ret::Value(u64::MAX) if is_unnamed_errno(&text) => {
                        call.ret = Ret::Error { errno: text, message: String::new() };
                    }
                    _ => call.ret_note = Some(text),
                }
            }
            Some(b'/') if c.rest().starts_with(b"/*") => {
                let comment = crate::grammar::parse_comment(c)?;
                if let Some(pid) = comment.strip_suffix(" in strace's PID NS") {
                    call.ret_tracer_pid = pid.parse().ok();
                }
            }
            Some(b'<') => {
                let start = c.pos;
                let end = memchr::memchr(b'>', c.rest()).ok_or(c.fail("unterminated `<`"))?;
                let inner = &c.rest()[1..end];
                c.advance(end + 1);
                if inner != b"unavailable" {
                    call.duration =
                        Some(parse_duration(inner).ok_or(Fail { pos: start, message: "bad `-T` duration" })?);
                }
            }
            Some(_) => return Err(c.fail("unexpected text after the return value")),
        }
    }
}

/// Takes `(…)` with nested parentheses and strings, returning the text inside.
fn take_parenthesized(c: &mut Cursor<'_>) -> Result<String, Fail> {
    let open = c.pos;
    let bytes = c.bytes;
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    c.pos = i + 1;
                    return Ok(lossy(&bytes[open + 1..i]));
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(Fail { pos: open, message: "unclosed `(` after the return value" })
}

/// Parses the inside of a `-T` duration, `0.000012`.
fn parse_duration(text: &[u8]) -> Option<Duration> {
    let mut c = Cursor::new(text);
    let seconds = parse_decimal(c.take_digits())?;
    let mut nanos = 0u32;
    if c.eat(b'.') {
        let digits = c.take_digits();
        for i in 0..9 {
            nanos = nanos * 10 + digits.get(i).map_or(0, |d| u32::from(d - b'0'));
        }
    }
    c.at_end().then(|| Duration::new(seconds, nanos))
}

/// Parses `--- SIGNAME {siginfo} ---` (other `---` lines become [`EventKind::Other`]).
fn parse_signal(body: &[u8]) -> EventKind {
    let inner = body.trim_ascii_end();
    let inner = inner.strip_prefix(b"--- ").unwrap_or(inner);
    let inner = inner.strip_suffix(b" ---").unwrap_or(inner);
    let mut c = Cursor::new(inner);
    let name = c.take_ident_chars();
    if !name.starts_with(b"SIG") {
        return EventKind::Other(lossy(body));
    }
    c.skip_spaces();
    let info = if c.peek() == Some(b'{') {
        match parse_value(&mut c, 0) {
            Ok(value) => Some(value),
            Err(_) => Some(Arg::Other(lossy(c.rest()))),
        }
    } else if c.at_end() {
        None
    } else {
        // Old strace versions print `(Child exited) @ 0 (0)` instead of a struct.
        Some(Arg::Other(lossy(c.rest())))
    };
    EventKind::Signal { signal: ident_string(name), info }
}

/// Parses the `+++ … +++` lines.
fn parse_exit(body: &[u8]) -> Option<EventKind> {
    let inner = body.trim_ascii_end().strip_prefix(b"+++ ")?.strip_suffix(b" +++")?;
    if let Some(code) = inner.strip_prefix(b"exited with ") {
        let mut c = Cursor::new(code);
        let value = parse_number(&mut c).ok()?;
        // Exit statuses are 0..=255; a negative one would still be an i32.
        return c.at_end().then(|| EventKind::Exited { code: value as i64 as i32 });
    }
    if let Some(rest) = inner.strip_prefix(b"killed by ") {
        let mut c = Cursor::new(rest);
        let signal = ident_string(c.take_ident_chars());
        c.skip_spaces();
        let core = c.eat_str(b"(core dumped)");
        c.skip_spaces();
        return (!signal.is_empty() && c.at_end()).then_some(EventKind::Killed { signal, core });
    }
    if let Some(pid) = inner.strip_prefix(b"superseded by execve in pid ") {
        let thread = u32::try_from(parse_decimal(pid)?).ok()?;
        return Some(EventKind::SupersededByExecve { thread });
    }
    None
}

/// Parses what follows `strace: `.
fn parse_diagnostic(text: &[u8]) -> EventKind {
    let text = text.trim_ascii_end();
    if let Some(rest) = text.strip_prefix(b"Process ") {
        let mut c = Cursor::new(rest);
        if parse_decimal(c.take_digits()).is_some() {
            match c.rest() {
                b" attached" => return EventKind::Attached,
                b" detached" => return EventKind::Detached,
                _ => {}
            }
        }
    }
    EventKind::Diagnostic(lossy(text))
}

/// Returns the pid named by `strace: Process N …`, which belongs to the event, not the line.
pub(crate) fn diagnostic_pid(line: &[u8], body_start: usize) -> Option<u32> {
    let rest = line.get(body_start..)?.strip_prefix(b"strace: Process ")?;
    let mut c = Cursor::new(rest);
    u32::try_from(parse_decimal(c.take_digits())?).ok()
}

pub(crate) fn lossy(bytes: &[u8]) -> String {
    crate::cursor::text_string(bytes)
}

/// Parses one complete call line body (for tests and simple consumers).
#[cfg(test)]
fn parse_complete(line: &str) -> Result<Box<Syscall>, Fail> {
    let prefix = parse_prefix(line.as_bytes());
    match classify(line.as_bytes(), prefix.body_start)? {
        Body::Call { name, args_start, unfinished: None } => {
            let mut c = Cursor::new(line.as_bytes());
            c.pos = args_start;
            parse_call_tail(&mut c, name, false, false)
        }
        other => panic!("not a complete call: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_in_every_form() {
        let p = parse_prefix(b"[pid 20209] mmap(");
        assert_eq!((p.pid, p.timestamp, p.body_start), (Some(20209), None, 12));
        let p = parse_prefix(b"[pid  123] 00:44:55.955767 close(3) = 0");
        assert_eq!(p.pid, Some(123));
        assert_eq!(p.timestamp, Some(Timestamp { seconds: 2695, nanos: 955_767_000 }));
        let p = parse_prefix(b"19980 brk(NULL)");
        assert_eq!((p.pid, p.body_start), (Some(19980), 6));
        let p = parse_prefix(b"1795653895.935651 execve(");
        assert_eq!((p.pid, p.timestamp), (None, Some(Timestamp { seconds: 1795653895, nanos: 935_651_000 })));
        let p = parse_prefix(b"19980  1795653895.935651 brk(");
        assert_eq!(p.pid, Some(19980));
        assert_eq!(&b"19980  1795653895.935651 brk("[p.body_start..], b"brk(");
        // `--timestamps=unix,s`: whole seconds, with a pid and without.
        let line = b"3918  1796691535 brk(NULL) = 0x55b9cdcdf000";
        let p = parse_prefix(line);
        assert_eq!((p.pid, p.timestamp), (Some(3918), Some(Timestamp { seconds: 1796691535, nanos: 0 })));
        assert_eq!(&line[p.body_start..], b"brk(NULL) = 0x55b9cdcdf000");
        let p = parse_prefix(b"1796691535 brk(NULL) = 0x55b9cdcdf000");
        assert_eq!((p.pid, p.timestamp), (None, Some(Timestamp { seconds: 1796691535, nanos: 0 })));
        // `-r` in whole seconds, flush right: with a pid and without.
        let line = b"2562       0 brk(NULL) = 0x1000";
        let p = parse_prefix(line);
        assert_eq!((p.pid, p.timestamp), (Some(2562), Some(Timestamp { seconds: 0, nanos: 0 })));
        assert_eq!(&line[p.body_start..], b"brk(NULL) = 0x1000");
        let p = parse_prefix(b"     3 brk(NULL) = 0x1000");
        assert_eq!((p.pid, p.timestamp), (None, Some(Timestamp { seconds: 3, nanos: 0 })));
        let p = parse_prefix(b"     0.000123 brk(NULL) = 0x1000");
        assert_eq!(p.timestamp, Some(Timestamp { seconds: 0, nanos: 123_000 }));
        let line = b"16210 1796678405.980644 (+     0.000305) brk(NULL) = 0x3ac06000";
        let p = parse_prefix(line);
        assert_eq!((p.pid, p.timestamp), (Some(16210), Some(Timestamp { seconds: 1796678405, nanos: 980_644_000 })));
        assert_eq!(&line[p.body_start..], b"brk(NULL) = 0x3ac06000");
        let line = b"[pid 7] 12:00:01.000002 (+     1.500000) close(3) = 0";
        let p = parse_prefix(line);
        assert_eq!((p.pid, p.timestamp), (Some(7), Some(Timestamp { seconds: 43201, nanos: 2_000 })));
        assert_eq!(&line[p.body_start..], b"close(3) = 0");
        let p = parse_prefix(b"[pid 1234<thr>] [00007ffff7fe3c8b] brk(NULL) = 0x1000");
        assert_eq!(p.pid, Some(1234));
        assert_eq!(&b"[pid 1234<thr>] [00007ffff7fe3c8b] brk(NULL) = 0x1000"[p.body_start..], b"brk(NULL) = 0x1000");
        let exit = b"13426 [????????????????] +++ exited with 0 +++";
        let p = parse_prefix(exit);
        assert_eq!((p.pid, &exit[p.body_start..]), (Some(13426), &b"+++ exited with 0 +++"[..]));
        let p = parse_prefix(b"1234<cat> [  9] mmap(");
        assert_eq!((p.pid, p.body_start), (Some(1234), 16));
        let p = parse_prefix(b"[ Process PID=1234 runs in 32 bit mode. ]");
        assert_eq!(p.body_start, 0);
        let p = parse_prefix(b"brk(NULL) = 0x1000");
        assert_eq!((p.pid, p.timestamp, p.body_start), (None, None, 0));
    }

    #[test]
    fn a_simple_mmap_line() {
        let call = parse_complete(
            "1234  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7fc3000",
        )
        .unwrap();
        assert_eq!(call.name, "mmap");
        assert_eq!(call.args.len(), 6);
        assert_eq!(call.arg_u64(1), Some(8192));
        assert_eq!(call.arg_flags(2), Some(3));
        assert_eq!(call.arg_flags(3), Some(0x22));
        assert_eq!(call.arg_i64(4), Some(-1));
        assert_eq!(call.ret, Ret::Value(0x7ffff7fc3000));
    }

    #[test]
    fn errors_with_errno_and_message() {
        let call =
            parse_complete(r#"access("/etc/ld.so.preload", R_OK) = -1 ENOENT (No such file or directory)"#).unwrap();
        assert_eq!(call.ret, Ret::Error { errno: "ENOENT".into(), message: "No such file or directory".into() });
        let call =
            parse_complete("mmap(0xfffffffffffff001, 4096, PROT_READ, MAP_PRIVATE|MAP_FIXED, -1, 0) = -1 (errno 4095)")
                .unwrap();
        assert_eq!(call.ret, Ret::Error { errno: "errno 4095".into(), message: String::new() });
        let call = parse_complete("mmap(NULL, 1, PROT_READ, MAP_PRIVATE, -1, 0) = -1 ENOMEM (Cannot allocate memory)")
            .unwrap();
        assert_eq!(call.errno(), Some("ENOMEM"));
    }

    #[test]
    fn results_strace_injected() {
        let call = parse_complete(
            "mmap(NULL, 1974096, PROT_READ, MAP_PRIVATE|MAP_DENYWRITE, 3, 0) = -1 ENOMEM (Cannot allocate memory) (INJECTED)",
        )
        .unwrap();
        assert_eq!(call.errno(), Some("ENOMEM"));
        assert!(call.injected);
        let call =
            parse_complete("mmap(0x7f00, 4096, PROT_READ, MAP_PRIVATE, 3, 0) = 0x1000 (INJECTED) <0.000011>").unwrap();
        assert_eq!((call.ret_u64(), call.ret_note.as_deref(), call.injected), (Some(0x1000), None, true));
        assert!(call.duration.is_some());
        // Held back (`delay_enter=`), then run by the kernel: its own result.
        let call = parse_complete("fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC) (DELAYED)").unwrap();
        assert_eq!((call.ret_note.as_deref(), call.injected), (Some("flags FD_CLOEXEC"), false));
        let call = parse_complete("brk(NULL) = 0x5555 (INJECTED) (DELAYED)").unwrap();
        assert!(call.injected);
    }

    #[test]
    fn results_numbered_in_strace_s_pid_namespace() {
        let call = parse_complete("getpid() = 1 /* 18526 in strace's PID NS */").unwrap();
        assert_eq!((call.ret_u64(), call.ret_tracer_pid), (Some(1), Some(18526)));
        let call = parse_complete("vfork() = 2 /* 18527 in strace's PID NS */ <0.000120>").unwrap();
        assert_eq!((call.ret_u64(), call.ret_tracer_pid), (Some(2), Some(18527)));
        assert!(call.duration.is_some());
    }

    #[test]
    fn restarted_calls_and_unknown_results() {
        let call =
            parse_complete("read(0, 0x7ffc, 10) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)").unwrap();
        assert_eq!(call.errno(), Some("ERESTARTSYS"));
        let call = parse_complete("exit_group(0)                     = ?").unwrap();
        assert_eq!(call.ret, Ret::Unknown);
        let call = parse_complete("exit_group(0) = ? <unavailable>").unwrap();
        assert_eq!((call.ret, call.duration), (Ret::Unknown, None));
    }

    #[test]
    fn annotations_after_the_value() {
        let call = parse_complete("fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)").unwrap();
        assert_eq!((call.ret_u64(), call.ret_note.as_deref()), (Some(1), Some("flags FD_CLOEXEC")));
        let call = parse_complete("poll([{fd=3, events=POLLIN}], 1, 0) = 1 ([{fd=3, revents=POLLIN}])").unwrap();
        assert_eq!(call.ret_note.as_deref(), Some("[{fd=3, revents=POLLIN}]"));
        let call = parse_complete(
            r#"openat(AT_FDCWD</tmp/tr>, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3</etc/ld.so.cache> <0.000033>"#,
        )
        .unwrap();
        assert_eq!(call.ret_u64(), Some(3));
        assert_eq!(call.ret_decoration.as_deref(), Some(&b"/etc/ld.so.cache"[..]));
        assert_eq!(call.duration, Some(Duration::from_micros(33)));
        assert_eq!(call.arg_decoration(0), Some(&b"/tmp/tr"[..]));
        let call =
            parse_complete("select(1, [0], NULL, NULL, {tv_sec=0, tv_usec=0}) = 0 (Timeout) <0.000010>").unwrap();
        assert_eq!((call.ret_note.as_deref(), call.duration), (Some("Timeout"), Some(Duration::from_micros(10))));
    }

    #[test]
    fn unfinished_and_resumed_lines_are_recognized() {
        let line = b"16611 pselect6(0, NULL, NULL, NULL, {tv_sec=0, tv_nsec=3000000}, NULL <detached ...>";
        let prefix = parse_prefix(line);
        match classify(line, prefix.body_start).unwrap() {
            Body::Call { name, unfinished: Some(at), .. } => {
                assert_eq!((name, &line[at..]), (&b"pselect6"[..], &b"<detached ...>"[..]));
            }
            other => panic!("{other:?}"),
        }
        let line = b"20209 munmap(0x7ffff4000000, 37748736 <unfinished ...>";
        let prefix = parse_prefix(line);
        match classify(line, prefix.body_start).unwrap() {
            Body::Call { name, unfinished: Some(end), args_start } => {
                assert_eq!(name, b"munmap");
                assert_eq!(&line[args_start..end], b"0x7ffff4000000, 37748736 ");
            }
            other => panic!("{other:?}"),
        }
        let line = b"20204 <... clone3 resumed> => {parent_tid=[20211]}, 88) = 20211";
        match classify(line, parse_prefix(line).body_start).unwrap() {
            Body::Resumed { name, rest_start } => {
                assert_eq!(name, b"clone3");
                assert_eq!(&line[rest_start..], b" => {parent_tid=[20211]}, 88) = 20211");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn signals_exits_and_diagnostics() {
        let kind = |line: &str| match classify(line.as_bytes(), 0).unwrap() {
            Body::Event(kind) => kind,
            other => panic!("{other:?}"),
        };
        match kind("--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x1234} ---") {
            EventKind::Signal { signal, info: Some(info) } => {
                assert_eq!(signal, "SIGSEGV");
                assert_eq!(info.field("si_addr").and_then(Arg::as_u64), Some(0x1234));
                assert_eq!(info.field("si_code").and_then(Arg::as_ident), Some("SEGV_MAPERR"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(kind("+++ exited with 3 +++"), EventKind::Exited { code: 3 });
        assert_eq!(kind("+++ killed by SIGKILL +++"), EventKind::Killed { signal: "SIGKILL".into(), core: false });
        assert_eq!(
            kind("+++ killed by SIGSEGV (core dumped) +++"),
            EventKind::Killed { signal: "SIGSEGV".into(), core: true }
        );
        assert_eq!(kind("+++ superseded by execve in pid 27775 +++"), EventKind::SupersededByExecve { thread: 27775 });
        assert_eq!(kind("strace: Process 20209 attached"), EventKind::Attached);
        assert_eq!(kind("strace: Process 20209 detached"), EventKind::Detached);
        assert_eq!(kind("strace: exec of 'x' failed"), EventKind::Diagnostic("exec of 'x' failed".into()));
        assert_eq!(kind("--- stopped by SIGSTOP ---"), EventKind::Other("--- stopped by SIGSTOP ---".into()));
        for summary in [
            "% time     seconds  usecs/call     calls    errors syscall",
            "------ ----------- ----------- --------- --------- ----------------",
            "  0.00    0.000000           0        33        13 openat",
            " 23.81    0.000005           5         1           munmap",
            "100.00    0.000021           0       182        24 total",
        ] {
            assert!(is_summary_line(summary.as_bytes()), "{summary}");
        }
        for call in ["brk(NULL) = 0x1000", "123 0.5 0.5 1 2 x(", "12:00:00.000001 mmap(NULL, 4096) = 0x1000"] {
            assert!(!is_summary_line(call.as_bytes()), "{call}");
        }
        assert_eq!(diagnostic_pid(b"strace: Process 20209 attached", 0), Some(20209));
    }

    #[test]
    fn garbage_is_an_error_with_a_position() {
        assert!(classify(b"hello world", 0).is_err());
        let err = parse_complete("mmap(NULL, 4096) = zzz").unwrap_err();
        assert_eq!(err.pos, 19);
    }
}
