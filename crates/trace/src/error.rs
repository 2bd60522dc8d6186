//! [`ParseError`]: what went wrong on which line, and where on it.

use thiserror::Error;

/// A line (or part of a line) the parser could not understand.
///
/// The parser reports the error and goes on with the next line, so one bad line never hides
/// the rest of a trace.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    /// 1-based line number in the input.
    pub line: u64,
    /// 1-based byte column on that line.
    pub column: u32,
    /// A short description of the problem.
    pub message: String,
}

impl ParseError {
    /// Returns an error at `line`, byte offset `offset` (0-based) of that line.
    pub(crate) fn at(line: u64, offset: usize, message: impl Into<String>) -> Self {
        let column = u32::try_from(offset.saturating_add(1)).unwrap_or(u32::MAX);
        ParseError { line, column, message: message.into() }
    }
}
