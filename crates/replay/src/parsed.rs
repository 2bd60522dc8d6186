//! A log parsed once and kept whole in memory: [`ParsedLog`]. The identity pass and every
//! run of the replay go over the same events, where reading a log as a stream parses it once
//! for the identities and again for each run. Long strings (the file contents of
//! `-s 1048576` reads) stay slices of the log's text, decoded only where a handler reads
//! them.
//!
//! Holding every event costs memory in proportion to the log, so the CLI takes this way for
//! logs up to [`ParsedLog::MAX_TEXT`] and streams larger ones.

use trace::{Event, EventKind, ParseError, Parser};

/// The events of a whole log, in order, with the lines that did not parse.
#[derive(Debug)]
pub struct ParsedLog {
    items: Vec<Result<Event, ParseError>>,
    /// The first process's pid, when its first lines had no pid prefix (strace writing to
    /// stderr without `-f`) and the parser learned it later from a call's result.
    unprefixed_root: Option<u32>,
}

impl ParsedLog {
    /// The largest log text the CLI parses whole (larger ones are streamed): its events take
    /// a few times the text's size.
    pub const MAX_TEXT: u64 = 64 << 20;

    /// Parses `text` as the replay reads a log: with the first parts of split calls
    /// reported, and old spellings normalized ([`crate::compat`]).
    pub fn parse(text: impl AsRef<[u8]> + Send + 'static) -> ParsedLog {
        let text = bytes::Bytes::from_owner(text);
        // About one item a line: sized once, the events are not copied over and over as the
        // vector grows (that copying was 5% of parsing the replay-real logs).
        let mut items = Vec::with_capacity(memchr::memchr_iter(b'\n', &text).count() + 1);
        let mut parser = Parser::from_bytes(text).report_call_starts(true);
        items.extend(parser.by_ref());
        let first_unprefixed = items.iter().find_map(|i| i.as_ref().ok()).is_some_and(|e| e.pid.is_none());
        let unprefixed_root = parser.root_pid().filter(|_| first_unprefixed);
        for item in &mut items {
            if let Ok(Event { kind: EventKind::Syscall(c), .. }) = item {
                crate::compat::normalize(c);
            }
        }
        ParsedLog { items, unprefixed_root }
    }

    /// The first process's pid when the log named it only after its first lines (see
    /// [`trace::Event::pid`]): the identity pass reads a log streamed without the calls
    /// that name it, and words what it found of that process without its pid.
    pub(crate) fn unprefixed_root(&self) -> Option<u32> {
        self.unprefixed_root
    }

    /// The events and errors, in the order the parser gave them.
    pub fn items(&self) -> &[Result<Event, ParseError>] {
        &self.items
    }

    /// The events alone.
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.items.iter().filter_map(|item| item.as_ref().ok())
    }
}
