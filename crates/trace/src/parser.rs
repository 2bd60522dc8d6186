//! [`Parser`]: the streaming reader that turns a trace into [`Event`]s.
//!
//! It reads one line at a time into a reused buffer, so memory stays bounded by the longest
//! line (and [`Parser::max_line_len`] bounds that). Split calls are joined here: the first
//! part of a call (`NAME(ARGS <unfinished ...>`) waits, keyed by pid, until its
//! `<... NAME resumed>REST` line arrives; then the text of both parts is parsed as one call,
//! which also handles arguments split across the two parts such as `clone3`'s `{…} => {…}`.
//! Calls still waiting at the end of the input, or when their process exits, come out as
//! incomplete events.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, BufRead};

use bytes::Bytes;

use crate::cursor::Cursor;
use crate::error::ParseError;
use crate::event::{Event, EventKind, Ret, Syscall, Timestamp};
use crate::line::{classify, diagnostic_pid, parse_call_tail, parse_prefix, Body, Prefix};

/// Lines longer than this are skipped with an error unless [`Parser::max_line_len`] says
/// otherwise. strace's `-s 1048576` strings take up to 4 MiB once escaped, so real lines stay
/// far below it, while a file that is not a trace cannot make the parser hold gigabytes.
/// A line that has not ended after twice the limit ends the input (with an error): an endless
/// input such as `/dev/zero` cannot keep the parser reading forever.
pub const DEFAULT_MAX_LINE_LEN: usize = 256 << 20;

const UNFINISHED: &[u8] = b"<unfinished ...>";

/// A streaming strace parser over any [`BufRead`], yielding events in trace order.
///
/// Each item is an [`Event`] or a [`ParseError`]; after an error the parser goes on with the
/// next line. An I/O error ends the stream after being reported as a [`ParseError`] on the line
/// that could not be read.
///
/// ```
/// let log = "\
/// 100 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7fc0000
/// 100 read(3,  <unfinished ...>
/// 101 exit_group(0) = ?
/// 100 <... read resumed>\"hi\\n\", 4096) = 3
/// ";
/// let events: Vec<_> = trace::Parser::new(log.as_bytes()).collect::<Result<_, _>>().unwrap();
/// let read = events[2].syscall().unwrap();
/// assert_eq!(read.name, "read");
/// assert_eq!(read.arg_str(1), Some(&b"hi\n"[..]));
/// assert_eq!((events[2].line, read.unfinished_line), (4, Some(2)));
/// ```
#[derive(Debug)]
pub struct Parser<R> {
    reader: R,
    /// The whole input, when it is one shared buffer ([`Parser::from_bytes`]): lines are
    /// then read in place, and long strings are slices of it rather than copies.
    shared: Option<Bytes>,
    /// In a shared input, where the next line starts, and where the line being parsed is.
    shared_pos: usize,
    shared_line: std::ops::Range<usize>,
    /// The line being parsed, reused from line to line (when the input is not shared).
    line: Vec<u8>,
    /// Scratch space for joining the two parts of a split call.
    joined: Vec<u8>,
    /// Number of the last line read (1-based).
    line_no: u64,
    /// Byte offset of the next line.
    next_offset: u64,
    /// First parts of split calls, by pid, waiting for their second part.
    pending: HashMap<Option<u32>, Pending, PidHash>,
    /// Events and errors ready to be handed out.
    ready: VecDeque<Result<Event, ParseError>>,
    pids: Pids,
    /// The start of a line interrupted by a `strace:` message.
    carry: Option<Carry>,
    max_line_len: usize,
    /// Whether the first part of a split call makes an [`EventKind::CallStarted`] event.
    report_call_starts: bool,
    /// Calls whose arguments are passed over, not parsed (see [`Parser::skip_args_of`]).
    skip_args: Option<fn(&str) -> bool>,
    finished: bool,
}

/// The first part of a split call.
#[derive(Debug)]
struct Pending {
    name: Vec<u8>,
    line: u64,
    offset: u64,
    timestamp: Option<Timestamp>,
    /// The argument text between `NAME(` and `<unfinished ...>`.
    text: Vec<u8>,
    /// Where `text` starts on its line, for error columns.
    text_column: usize,
}

/// What the parser knows about pids, to attribute lines that carry none.
///
/// strace leaves the `[pid N]` prefix out whenever it traces a single process (when writing
/// to stderr; `-o FILE` prefixes every line). Such a line belongs to the one live process,
/// which the parser can name once it knows the pids of the processes alive at that point.
#[derive(Debug, Default)]
struct Pids {
    /// The first process of the trace, once learned.
    root: Option<u32>,
    saw_first_line: bool,
    saw_unprefixed: bool,
    /// Pids known to be children of the unprefixed process, so not the root.
    children: Vec<u32>,
    /// Processes (threads) seen and not yet gone.
    live: HashSet<u32, PidHash>,
    /// The pid of the last prefixed line, known to be in `live` unless it left since.
    last_prefixed: Option<u32>,
}

impl Pids {
    fn learn_root(&mut self, pid: u32) {
        if self.root.is_none() {
            self.root = Some(pid);
            self.live.insert(pid);
        }
    }

    /// Returns the pid a line belongs to, given its prefix.
    fn resolve(&self, prefix: Option<u32>) -> Option<u32> {
        match prefix {
            Some(pid) => Some(pid),
            // Without a known root, a lone live pid may be a child whose parent's lines are
            // still unprefixed, so only guess once the root is known.
            None if self.root.is_some() && self.live.len() == 1 => self.live.iter().next().copied(),
            None => None,
        }
    }

    /// Takes note of the prefix of a line that makes an event.
    fn on_line(&mut self, prefix: Option<u32>) {
        let first = !self.saw_first_line;
        self.saw_first_line = true;
        match prefix {
            None => self.saw_unprefixed = true,
            Some(pid) => {
                // Most lines come from the same few pids; skip the hashing for a repeat.
                if self.last_prefixed != Some(pid) {
                    self.last_prefixed = Some(pid);
                    self.live.insert(pid);
                }
                if self.root.is_none() && (first || (self.saw_unprefixed && !self.children.contains(&pid))) {
                    // With `-o FILE` every line is prefixed, and the first is the root's. After
                    // unprefixed lines, the first prefixed line that is not a known child is
                    // the formerly lone process, prefixed now that a second one appeared.
                    self.learn_root(pid);
                }
            }
        }
    }

    /// Looks at a complete call of an unprefixed line for the pid and children of its process.
    fn on_unprefixed_call(&mut self, call: &Syscall) {
        let Ret::Value(value) = call.ret else { return };
        let Ok(value) = u32::try_from(value) else { return };
        // In a PID namespace, as strace numbers the task (and prefixes its lines).
        let value = call.ret_tracer_pid.unwrap_or(value);
        match &*call.name {
            // The main thread's tid is the pid.
            "getpid" | "gettid" | "set_tid_address" if self.live.is_empty() => self.learn_root(value),
            "clone" | "clone3" | "fork" | "vfork" if self.root.is_none() => self.children.push(value),
            _ => {}
        }
    }

    fn on_attached(&mut self, pid: u32) {
        if self.root.is_none() {
            self.children.push(pid);
        }
        self.live.insert(pid);
    }

    fn on_gone(&mut self, pid: Option<u32>) {
        if let Some(pid) = pid {
            self.live.remove(&pid);
            if self.last_prefixed == Some(pid) {
                self.last_prefixed = None;
            }
        }
    }
}

/// A hasher for pids: std's default SipHash guards against hostile keys, which pids chosen by
/// the kernel are not, and it showed in the profile of multi-threaded traces.
#[derive(Clone, Copy, Debug, Default)]
struct PidHash;

impl BuildHasher for PidHash {
    type Hasher = PidHasher;

    fn build_hasher(&self) -> PidHasher {
        PidHasher(0)
    }
}

/// Multiplies in each word written, spreading consecutive pids over the table.
#[derive(Debug)]
struct PidHasher(u64);

impl Hasher for PidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u32(&mut self, value: u32) {
        self.write_u64(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }
}

/// The start of a line that strace interrupted with a `strace: Process N attached` message
/// (stderr output only); the rest of the line follows on the next line.
#[derive(Debug)]
struct Carry {
    text: Vec<u8>,
    line: u64,
    offset: u64,
    /// The pid the fragment belongs to, resolved before the message changed the live set.
    pid: Option<u32>,
}

/// Where the line being parsed came from, to give errors the right line and column.
#[derive(Clone, Copy, Debug)]
struct Origin {
    /// The line the text begins on.
    line: u64,
    /// For text joined from a carried fragment: the fragment's length, and the number of the
    /// line holding the rest.
    continued: Option<(usize, u64)>,
}

impl Origin {
    fn error(self, pos: usize, message: impl Into<String>) -> ParseError {
        match self.continued {
            Some((carried, rest_line)) if pos >= carried => ParseError::at(rest_line, pos - carried, message),
            _ => ParseError::at(self.line, pos, message),
        }
    }
}

impl<R: BufRead> Parser<R> {
    /// Returns a parser reading `reader`.
    pub fn new(reader: R) -> Self {
        Parser {
            reader,
            shared: None,
            shared_pos: 0,
            shared_line: 0..0,
            line: Vec::new(),
            joined: Vec::new(),
            line_no: 0,
            next_offset: 0,
            pending: HashMap::default(),
            ready: VecDeque::new(),
            pids: Pids::default(),
            carry: None,
            max_line_len: DEFAULT_MAX_LINE_LEN,
            report_call_starts: false,
            skip_args: None,
            finished: false,
        }
    }

    /// Sets the longest line the parser accepts; longer lines are skipped with an error.
    pub fn max_line_len(mut self, bytes: usize) -> Self {
        self.max_line_len = bytes;
        self
    }

    /// Also reports where split calls start: each `NAME(ARGS <unfinished ...>` line makes an
    /// [`EventKind::CallStarted`] event with the arguments shown so far, before the whole call
    /// comes out at its `<... NAME resumed>` line. A consumer that needs to know what else
    /// happened while a call was in progress (in another thread) asks for these.
    pub fn report_call_starts(mut self, yes: bool) -> Self {
        self.report_call_starts = yes;
        self
    }

    /// Calls for which `unread` is true (by name) come out with no arguments: the parser
    /// passes over their argument lists without building them (a consumer that never reads
    /// them is spared the cost; their results are parsed as ever). A malformed list is then
    /// not reported unless it leaves the `)` or a string unclosed.
    pub fn skip_args_of(mut self, unread: fn(&str) -> bool) -> Self {
        self.skip_args = Some(unread);
        self
    }

    /// Whether the arguments of the call named `name` are passed over.
    fn skips(&self, name: &[u8]) -> bool {
        self.skip_args.is_some_and(|unread| std::str::from_utf8(name).is_ok_and(unread))
    }

    /// Returns the pid of the first process of the trace, once the parser has learned it.
    ///
    /// strace omits the pid prefix while it traces one process (unless it writes to a file),
    /// so the first lines of a trace may have none. The parser learns the root's pid from the
    /// first line when that is prefixed, from the result of `set_tid_address`, `getpid` or
    /// `gettid` on an unprefixed line, or from the first prefixed line of a process that is not
    /// a known child. Events before that have [`Event::pid`] `None`.
    pub fn root_pid(&self) -> Option<u32> {
        self.pids.root
    }

    /// Returns the number of the last line read (1-based; 0 before the first).
    pub fn line_number(&self) -> u64 {
        self.line_no
    }

    /// Returns the text of the last line read, without its line ending. It is the line of the
    /// event just returned, except for split calls (their other part), incomplete calls
    /// reported late, and lines interrupted by a `strace:` message.
    pub fn current_line(&self) -> &[u8] {
        match &self.shared {
            Some(text) => &text[self.shared_line.clone()],
            None => &self.line,
        }
    }

    /// Reads the next line into `self.line`; returns `Ok(false)` at the end of the input (also
    /// when a line is endless: longer than twice the limit, which ends the input with an
    /// error).
    fn read_line(&mut self) -> io::Result<bool> {
        if let Some(text) = self.shared.take() {
            let more = self.read_shared_line(&text);
            self.shared = Some(text);
            return Ok(more);
        }
        self.line.clear();
        let mut read_any = false;
        let mut too_long = false;
        let mut length = 0usize;
        loop {
            if too_long && length > self.max_line_len.saturating_mul(2) {
                let message = format!(
                    "line longer than {} bytes, and no end of line after {length} bytes: reading stops here",
                    self.max_line_len
                );
                self.ready.push_back(Err(ParseError::at(self.line_no + 1, self.max_line_len, message)));
                self.line.clear();
                return Ok(false);
            }
            let available = match self.reader.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            read_any = true;
            let (chunk_len, ends_line) = match memchr::memchr(b'\n', available) {
                Some(i) => (i + 1, true),
                None => (available.len(), false),
            };
            let content = &available[..chunk_len - usize::from(ends_line)];
            length = length.saturating_add(content.len());
            if !too_long && self.line.len() + content.len() <= self.max_line_len {
                self.line.extend_from_slice(content);
            } else {
                too_long = true;
                self.line = Vec::new();
            }
            self.reader.consume(chunk_len);
            self.next_offset += chunk_len as u64;
            if ends_line {
                break;
            }
        }
        if too_long {
            self.line.clear();
            let message = format!("line longer than {} bytes, skipped", self.max_line_len);
            self.ready.push_back(Err(ParseError::at(self.line_no + 1, self.max_line_len, message)));
        }
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        Ok(read_any)
    }

    /// [`Parser::read_line`] for a shared input: the same lines and the same errors, without
    /// copying the line.
    fn read_shared_line(&mut self, text: &Bytes) -> bool {
        let start = self.shared_pos;
        self.shared_line = start..start;
        let rest = &text[start.min(text.len())..];
        if rest.is_empty() {
            return false;
        }
        let (chunk_len, ends_line) = match memchr::memchr(b'\n', rest) {
            Some(i) => (i + 1, true),
            None => (rest.len(), false),
        };
        let length = chunk_len - usize::from(ends_line);
        self.shared_pos += chunk_len;
        self.next_offset += chunk_len as u64;
        if length > self.max_line_len {
            if !ends_line && length > self.max_line_len.saturating_mul(2) {
                let message = format!(
                    "line longer than {} bytes, and no end of line after {length} bytes: reading stops here",
                    self.max_line_len
                );
                self.ready.push_back(Err(ParseError::at(self.line_no + 1, self.max_line_len, message)));
                return false;
            }
            let message = format!("line longer than {} bytes, skipped", self.max_line_len);
            self.ready.push_back(Err(ParseError::at(self.line_no + 1, self.max_line_len, message)));
            return true;
        }
        let end = start + length - usize::from(rest[..length].last() == Some(&b'\r'));
        self.shared_line = start..end;
        true
    }

    /// Queues the events of the line just read (into `self.line`, or in place in a shared
    /// input).
    fn process_line(&mut self, offset: u64) {
        match self.shared.take() {
            Some(text) => {
                let line = &text[self.shared_line.clone()];
                self.process_text(line, offset, Some(&text));
                self.shared = Some(text);
            }
            None => {
                let line = std::mem::take(&mut self.line);
                self.process_text(&line, offset, None);
                self.line = line;
            }
        }
    }

    /// Queues the events of `line`, a part of `owner` when that is given.
    fn process_text(&mut self, line: &[u8], offset: u64, owner: Option<&Bytes>) {
        if let Some(split) = find_interrupting_message(line) {
            // `vfork(strace: Process 3989 attached`: report the message now, keep the start of
            // the call for the next line, which holds its rest.
            let fragment = &line[..split];
            if self.carry.is_none() {
                let pid = self.pids.resolve(parse_prefix(fragment).pid);
                self.carry = Some(Carry { text: Vec::new(), line: self.line_no, offset, pid });
            }
            if let Some(carry) = &mut self.carry {
                carry.text.extend_from_slice(fragment);
            }
            let message = &line[split..];
            self.process(message, offset, Origin { line: self.line_no, continued: None }, parse_prefix(message), None);
        } else if let Some(carry) = self.carry.take() {
            let mut joined = carry.text;
            let carried = joined.len();
            joined.extend_from_slice(line);
            let origin = Origin { line: carry.line, continued: Some((carried, self.line_no)) };
            let mut prefix = parse_prefix(&joined);
            prefix.pid = prefix.pid.or(carry.pid);
            self.process(&joined, carry.offset, origin, prefix, None);
        } else if !line.trim_ascii().is_empty() {
            self.process(line, offset, Origin { line: self.line_no, continued: None }, parse_prefix(line), owner);
        }
    }

    fn process(&mut self, line: &[u8], offset: u64, origin: Origin, prefix: Prefix, owner: Option<&Bytes>) {
        let body = match classify(line, prefix.body_start) {
            Ok(body) => body,
            Err(_) if crate::line::is_summary_line(line) => {
                // The table `-c`/`-C` print at the end: counts of the calls, not calls.
                let kind = EventKind::Other(String::from_utf8_lossy(line.trim_ascii()).into_owned());
                self.ready.push_back(Ok(Event { line: origin.line, offset, pid: None, timestamp: None, kind }));
                return;
            }
            Err(fail) => {
                self.ready.push_back(Err(origin.error(fail.pos, fail.message)));
                return;
            }
        };
        let event = |pid, kind| Event { line: origin.line, offset, pid, timestamp: prefix.timestamp, kind };
        match body {
            Body::Event(kind) => {
                let pid = match kind {
                    EventKind::Attached | EventKind::Detached => diagnostic_pid(line, prefix.body_start),
                    _ => {
                        self.pids.on_line(prefix.pid);
                        self.pids.resolve(prefix.pid)
                    }
                };
                match kind {
                    EventKind::Attached => {
                        if let Some(child) = pid {
                            self.pids.on_attached(child);
                        }
                    }
                    EventKind::Detached | EventKind::Exited { .. } | EventKind::Killed { .. } => {
                        self.flush_pending(pid);
                        self.pids.on_gone(pid);
                    }
                    EventKind::SupersededByExecve { thread } => {
                        // The execve of `thread` resumes under this pid; the other threads,
                        // this pid's old thread included, are gone.
                        self.flush_pending(pid);
                        if let Some(call) = self.pending.remove(&Some(thread)) {
                            self.pending.insert(pid, call);
                        }
                        self.pids.on_gone(Some(thread));
                    }
                    _ => {}
                }
                self.ready.push_back(Ok(event(pid, kind)));
            }
            Body::Call { name, args_start, unfinished: Some(end) } => {
                self.pids.on_line(prefix.pid);
                let pid = self.pids.resolve(prefix.pid);
                self.flush_pending(pid);
                if self.report_call_starts {
                    let started = EventKind::CallStarted {
                        name: String::from_utf8_lossy(name).into_owned(),
                        args: crate::parse_args(&line[args_start..end]),
                    };
                    self.ready.push_back(Ok(event(pid, started)));
                }
                let pending = Pending {
                    name: name.to_vec(),
                    line: origin.line,
                    offset,
                    timestamp: prefix.timestamp,
                    text: line[args_start..end].to_vec(),
                    text_column: args_start,
                };
                self.pending.insert(pid, pending);
            }
            Body::Call { name, args_start, unfinished: None } => {
                self.pids.on_line(prefix.pid);
                let pid = self.pids.resolve(prefix.pid);
                self.flush_pending(pid);
                let mut c = Cursor::within(line, owner);
                c.pos = args_start;
                match parse_call_tail(&mut c, name, false, self.skips(name)) {
                    Ok(call) => {
                        if prefix.pid.is_none() {
                            self.pids.on_unprefixed_call(&call);
                        }
                        self.ready.push_back(Ok(event(pid, EventKind::Syscall(call))));
                    }
                    Err(fail) => self.ready.push_back(Err(origin.error(fail.pos, fail.message))),
                }
            }
            Body::Resumed { name, rest_start } => {
                self.pids.on_line(prefix.pid);
                self.resume(line, name, rest_start, prefix.pid, origin, event);
            }
        }
    }

    /// Returns the key of the pending first part that a `<... NAME resumed>` line of `pid`
    /// continues.
    fn pending_key_for(&mut self, pid: Option<u32>, name: &[u8]) -> Option<Option<u32>> {
        if self.pending.contains_key(&pid) {
            return Some(pid);
        }
        match pid {
            // The call began while its process was alone and before its pid was known.
            Some(pid) if self.pending.get(&None).is_some_and(|p| p.name == name) => {
                self.pids.learn_root(pid);
                Some(None)
            }
            Some(_) => None,
            // An unprefixed line whose process the parser cannot name: take the only call of
            // that name waiting.
            None => {
                let mut candidates = self.pending.iter().filter(|(_, p)| p.name == name).map(|(key, _)| *key);
                let first = candidates.next()?;
                candidates.next().is_none().then_some(first)
            }
        }
    }

    /// Joins a `<... NAME resumed>` line with the first part of its call; `event` makes the
    /// event of this line.
    fn resume(
        &mut self,
        line: &[u8],
        name: &[u8],
        mut rest_start: usize,
        prefix_pid: Option<u32>,
        origin: Origin,
        event: impl FnOnce(Option<u32>, EventKind) -> Event,
    ) {
        let pid = self.pids.resolve(prefix_pid);
        let Some(key) = self.pending_key_for(pid, name) else {
            let message =
                format!("`<... {} resumed>` without its `<unfinished ...>` line", String::from_utf8_lossy(name));
            self.ready.push_back(Err(origin.error(0, message)));
            return;
        };
        let Some(first) = self.pending.remove(&key) else { return };
        if first.name != name {
            let message = format!(
                "`<... {} resumed>` while `{}` was unfinished",
                String::from_utf8_lossy(name),
                String::from_utf8_lossy(&first.name)
            );
            self.push_incomplete(key, first);
            self.ready.push_back(Err(origin.error(0, message)));
            return;
        }
        // A call cut short by the death of its process: `<... read resumed> <unfinished ...>) = ?`.
        let mut rest = Cursor::new(line);
        rest.pos = rest_start;
        rest.skip_spaces();
        if rest.eat_str(UNFINISHED) {
            rest_start = rest.pos;
        }
        let mut joined = std::mem::take(&mut self.joined);
        joined.clear();
        joined.extend_from_slice(&first.text);
        joined.extend_from_slice(&line[rest_start..]);
        let mut c = Cursor::new(&joined);
        match parse_call_tail(&mut c, name, false, self.skips(name)) {
            Ok(mut call) => {
                call.unfinished_line = Some(first.line);
                if prefix_pid.is_none() {
                    self.pids.on_unprefixed_call(&call);
                }
                self.ready.push_back(Ok(event(pid.or(key), EventKind::Syscall(call))));
            }
            Err(fail) => {
                let error = if fail.pos < first.text.len() {
                    ParseError::at(first.line, first.text_column + fail.pos, fail.message)
                } else {
                    origin.error(rest_start + (fail.pos - first.text.len()), fail.message)
                };
                self.ready.push_back(Err(error));
            }
        }
        self.joined = joined;
    }

    /// Reports the unfinished call of `pid`, if any, as incomplete.
    fn flush_pending(&mut self, pid: Option<u32>) {
        if self.pending.is_empty() {
            return;
        }
        if let Some(first) = self.pending.remove(&pid) {
            self.push_incomplete(pid, first);
        }
    }

    fn push_incomplete(&mut self, pid: Option<u32>, first: Pending) {
        let mut c = Cursor::new(&first.text);
        match parse_call_tail(&mut c, &first.name, true, self.skips(&first.name)) {
            Ok(mut call) => {
                call.unfinished_line = Some(first.line);
                call.incomplete = true;
                call.ret = Ret::Unknown;
                self.ready.push_back(Ok(Event {
                    line: first.line,
                    offset: first.offset,
                    pid,
                    timestamp: first.timestamp,
                    kind: EventKind::Syscall(call),
                }));
            }
            Err(fail) => {
                self.ready.push_back(Err(ParseError::at(first.line, first.text_column + fail.pos, fail.message)));
            }
        }
    }

    /// Handles the end of the input: a carried fragment, then every call still unfinished, in
    /// the order they began.
    fn finish(&mut self) {
        if let Some(carry) = self.carry.take() {
            let origin = Origin { line: carry.line, continued: None };
            let mut prefix = parse_prefix(&carry.text);
            prefix.pid = prefix.pid.or(carry.pid);
            self.process(&carry.text, carry.offset, origin, prefix, None);
        }
        let mut left: Vec<_> = self.pending.drain().collect();
        left.sort_by_key(|(_, p)| p.line);
        for (pid, first) in left {
            self.push_incomplete(pid, first);
        }
    }
}

/// Returns where a `strace: Process N attached` (or `detached`) message starts when it
/// interrupts a line instead of starting one.
fn find_interrupting_message(line: &[u8]) -> Option<usize> {
    const MESSAGE: &[u8] = b"strace: Process ";
    if !(line.ends_with(b" attached") || line.ends_with(b" detached")) {
        return None;
    }
    let start = memchr::memmem::rfind(line, MESSAGE)?;
    if start == 0 {
        return None;
    }
    let rest = &line[start + MESSAGE.len()..];
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let tail = &rest[digits..];
    (digits > 0 && (tail == b" attached" || tail == b" detached")).then_some(start)
}

impl Parser<io::Empty> {
    /// Returns a parser of a log held whole in one shared buffer: it yields what
    /// [`Parser::new`] over the same bytes does, but reads lines in place, and keeps long
    /// escaped strings (the file contents of `-s 1048576` reads) as slices of `text`
    /// instead of copying them, so they cost nothing until someone reads their bytes.
    pub fn from_bytes(text: Bytes) -> Self {
        let mut parser = Parser::new(io::empty());
        parser.shared = Some(text);
        parser
    }
}

impl<R: BufRead> Iterator for Parser<R> {
    type Item = Result<Event, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(item);
            }
            if self.finished {
                return None;
            }
            let offset = self.next_offset;
            match self.read_line() {
                Ok(true) => {
                    self.line_no += 1;
                    self.process_line(offset);
                }
                Ok(false) => {
                    self.finished = true;
                    self.finish();
                }
                Err(e) => {
                    self.finished = true;
                    self.ready.push_back(Err(ParseError::at(self.line_no + 1, 0, format!("read error: {e}"))));
                    self.finish();
                }
            }
        }
    }
}
