//! [`Parser`]: the streaming reader that turns a trace into [`Event`]s.
//!
//! It reads one line at a time into a reused buffer, so memory stays bounded by the longest
//! line (and [`Parser::max_line_len`] bounds that). Split calls are joined here: the first
//! part of a call (`NAME(ARGS <unfinished ...>`) waits, keyed by pid, until its
//! `<... NAME resumed>REST` line arrives; then the text of both parts is parsed as one call,
//! which also handles arguments split across the two parts such as `clone3`'s `{…} => {…}`.
//! Calls still waiting at the end of the input, or when their process exits, come out as
//! incomplete events.

use std::collections::{HashMap, VecDeque};
use std::io::{self, BufRead};

use crate::cursor::Cursor;
use crate::error::ParseError;
use crate::event::{Event, EventKind, Ret, Syscall, Timestamp};
use crate::line::{classify, diagnostic_pid, parse_call_tail, parse_prefix, Body};

/// Lines longer than this are skipped with an error unless [`Parser::max_line_len`] says
/// otherwise. strace's `-s 1048576` strings take up to 4 MiB once escaped, so real lines stay
/// far below it, while a file that is not a trace cannot make the parser hold gigabytes.
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
    /// The line being parsed, reused from line to line.
    line: Vec<u8>,
    /// Scratch space for joining the two parts of a split call.
    joined: Vec<u8>,
    /// Number of the last line read (1-based).
    line_no: u64,
    /// Byte offset of the next line.
    next_offset: u64,
    /// First parts of split calls, by pid, waiting for their second part.
    pending: HashMap<Option<u32>, Pending>,
    /// Events and errors ready to be handed out.
    ready: VecDeque<Result<Event, ParseError>>,
    root: RootPid,
    max_line_len: usize,
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

/// What the parser has learned about the pid of the lines that carry none.
#[derive(Debug, Default)]
struct RootPid {
    pid: Option<u32>,
    saw_first_line: bool,
    saw_unprefixed: bool,
    /// Pids known to be children of the unprefixed process, so not the root.
    children: Vec<u32>,
}

impl RootPid {
    fn learn(&mut self, pid: u32) {
        self.pid.get_or_insert(pid);
    }

    /// Looks at the pid prefix of each line that makes an event.
    fn on_line(&mut self, pid: Option<u32>) {
        let first = !self.saw_first_line;
        self.saw_first_line = true;
        match pid {
            None => self.saw_unprefixed = true,
            // With `-o FILE` every line is prefixed, and the first is the root's.
            Some(pid) if first => self.learn(pid),
            // The first prefixed line that is not a known child is the formerly unprefixed
            // process, now prefixed because a second process appeared.
            Some(pid) if self.saw_unprefixed && !self.children.contains(&pid) => self.learn(pid),
            Some(_) => {}
        }
    }

    /// Looks at complete calls of the unprefixed process for its pid and its children.
    fn on_unprefixed_call(&mut self, call: &Syscall) {
        let Ret::Value(value) = call.ret else { return };
        let Ok(value) = u32::try_from(value) else { return };
        match call.name.as_str() {
            // The main thread's tid is the pid.
            "getpid" | "gettid" | "set_tid_address" => self.learn(value),
            "clone" | "clone3" | "fork" | "vfork" => self.children.push(value),
            _ => {}
        }
    }
}

impl<R: BufRead> Parser<R> {
    /// Returns a parser reading `reader`.
    pub fn new(reader: R) -> Self {
        Parser {
            reader,
            line: Vec::new(),
            joined: Vec::new(),
            line_no: 0,
            next_offset: 0,
            pending: HashMap::new(),
            ready: VecDeque::new(),
            root: RootPid::default(),
            max_line_len: DEFAULT_MAX_LINE_LEN,
            finished: false,
        }
    }

    /// Sets the longest line the parser accepts; longer lines are skipped with an error.
    pub fn max_line_len(mut self, bytes: usize) -> Self {
        self.max_line_len = bytes;
        self
    }

    /// Returns the pid of the process whose lines carry no pid prefix, once the parser has
    /// seen it: strace omits the prefix while it traces one process, and at the start of a
    /// trace that process is the root.
    ///
    /// The parser learns it from the first line when that is prefixed (`-o FILE`), from the
    /// result of `set_tid_address`/`getpid`/`gettid` on an unprefixed line, or from the first
    /// prefixed line of a process that is not a known child.
    pub fn root_pid(&self) -> Option<u32> {
        self.root.pid
    }

    /// Returns the number of the last line read (1-based; 0 before the first).
    pub fn line_number(&self) -> u64 {
        self.line_no
    }

    /// Returns the text of the last line read, without its line ending; this is the line of
    /// the event just returned, except for incomplete calls flushed at the end.
    pub fn current_line(&self) -> &[u8] {
        &self.line
    }

    /// Reads the next line into `self.line`; returns `Ok(false)` at the end of the input.
    fn read_line(&mut self) -> io::Result<bool> {
        self.line.clear();
        let mut read_any = false;
        let mut too_long = false;
        loop {
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
            if self.line.len() + content.len() <= self.max_line_len {
                self.line.extend_from_slice(content);
            } else {
                too_long = true;
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
            self.ready.push_back(Err(ParseError::at(self.line_no + 1, 0, message)));
        }
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        Ok(read_any)
    }

    /// Queues the events of the line in `self.line`.
    fn process_line(&mut self, offset: u64) {
        let line = std::mem::take(&mut self.line);
        if !line.trim_ascii().is_empty() {
            self.process(&line, offset);
        }
        self.line = line;
    }

    fn process(&mut self, line: &[u8], offset: u64) {
        let line_no = self.line_no;
        let prefix = parse_prefix(line);
        let pid = prefix.pid;
        let body = match classify(line, prefix.body_start) {
            Ok(body) => body,
            Err(fail) => {
                self.ready.push_back(Err(ParseError::at(line_no, fail.pos, fail.message)));
                return;
            }
        };
        let event = |kind| Event { line: line_no, offset, pid, timestamp: prefix.timestamp, kind };
        match body {
            Body::Event(kind) => {
                let pid = match kind {
                    EventKind::Attached | EventKind::Detached => diagnostic_pid(line, prefix.body_start),
                    _ => pid,
                };
                match kind {
                    EventKind::Attached => {
                        if let Some(child) = pid {
                            self.root.children.push(child);
                        }
                    }
                    EventKind::Exited { .. } | EventKind::Killed { .. } => {
                        self.root.on_line(pid);
                        self.flush_pending(pid);
                    }
                    EventKind::SupersededByExecve { thread } => {
                        self.root.on_line(pid);
                        // The execve of `thread` resumes under this pid.
                        self.flush_pending(pid);
                        if let Some(call) = self.pending.remove(&Some(thread)) {
                            self.pending.insert(pid, call);
                        }
                    }
                    _ => self.root.on_line(pid),
                }
                self.ready.push_back(Ok(Event { pid, ..event(kind) }));
            }
            Body::Call { name, args_start, unfinished: Some(end) } => {
                self.root.on_line(pid);
                self.flush_pending(pid);
                let pending = Pending {
                    name: name.to_vec(),
                    line: line_no,
                    offset,
                    timestamp: prefix.timestamp,
                    text: line[args_start..end].to_vec(),
                    text_column: args_start,
                };
                self.pending.insert(pid, pending);
            }
            Body::Call { name, args_start, unfinished: None } => {
                self.root.on_line(pid);
                self.flush_pending(pid);
                let mut c = Cursor::new(line);
                c.pos = args_start;
                match parse_call_tail(&mut c, name, false) {
                    Ok(call) => {
                        if pid.is_none() {
                            self.root.on_unprefixed_call(&call);
                        }
                        self.ready.push_back(Ok(event(EventKind::Syscall(call))));
                    }
                    Err(fail) => self.ready.push_back(Err(ParseError::at(line_no, fail.pos, fail.message))),
                }
            }
            Body::Resumed { name, rest_start } => {
                self.root.on_line(pid);
                self.resume(line, name, rest_start, pid, event(EventKind::Other(String::new())));
            }
        }
    }

    /// Joins a `<... NAME resumed>` line with the first part of its call.
    fn resume(&mut self, line: &[u8], name: &[u8], mut rest_start: usize, pid: Option<u32>, template: Event) {
        let line_no = self.line_no;
        let mut key = pid;
        if !self.pending.contains_key(&key) && pid.is_some() {
            // The call began while its process was the only one traced, so unprefixed.
            if self.pending.get(&None).is_some_and(|p| p.name == name) {
                key = None;
                if let Some(pid) = pid {
                    self.root.learn(pid);
                }
            }
        }
        let Some(first) = self.pending.remove(&key) else {
            let message = format!("`<... {} resumed>` without its `<unfinished ...>` line", String::from_utf8_lossy(name));
            self.ready.push_back(Err(ParseError::at(line_no, 0, message)));
            return;
        };
        if first.name != name {
            let message = format!(
                "`<... {} resumed>` while `{}` was unfinished",
                String::from_utf8_lossy(name),
                String::from_utf8_lossy(&first.name)
            );
            self.push_incomplete(key, first);
            self.ready.push_back(Err(ParseError::at(line_no, 0, message)));
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
        match parse_call_tail(&mut c, name, false) {
            Ok(mut call) => {
                call.unfinished_line = Some(first.line);
                if key.is_none() && pid.is_none() {
                    self.root.on_unprefixed_call(&call);
                }
                self.ready.push_back(Ok(Event { kind: EventKind::Syscall(call), ..template }));
            }
            Err(fail) => {
                let error = if fail.pos < first.text.len() {
                    ParseError::at(first.line, first.text_column + fail.pos, fail.message)
                } else {
                    ParseError::at(line_no, rest_start + (fail.pos - first.text.len()), fail.message)
                };
                self.ready.push_back(Err(error));
            }
        }
        self.joined = joined;
    }

    /// Reports the unfinished call of `pid`, if any, as incomplete.
    fn flush_pending(&mut self, pid: Option<u32>) {
        if let Some(first) = self.pending.remove(&pid) {
            self.push_incomplete(pid, first);
        }
    }

    fn push_incomplete(&mut self, pid: Option<u32>, first: Pending) {
        let mut c = Cursor::new(&first.text);
        match parse_call_tail(&mut c, &first.name, true) {
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

    /// Reports every call still unfinished, in the order they began.
    fn flush_all_pending(&mut self) {
        let mut left: Vec<_> = self.pending.drain().collect();
        left.sort_by_key(|(_, p)| p.line);
        for (pid, first) in left {
            self.push_incomplete(pid, first);
        }
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
                    self.flush_all_pending();
                }
                Err(e) => {
                    self.finished = true;
                    self.ready.push_back(Err(ParseError::at(self.line_no + 1, 0, format!("read error: {e}"))));
                    self.flush_all_pending();
                }
            }
        }
    }
}
