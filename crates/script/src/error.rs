//! [`ScriptError`]: a problem in a script, with the line and column it points at.

use std::fmt;

/// An error in a script: bad syntax, an unknown name, a wrong argument, a runtime problem
/// such as division by zero or an unknown process. Failing system calls and failing `expect`s
/// are not errors: they are results the script can look at.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: error: {message}")]
pub struct ScriptError {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1, in characters.
    pub col: usize,
    /// What is wrong.
    pub message: String,
}

impl ScriptError {
    /// An error at `line`, `col`.
    pub fn new(line: usize, col: usize, message: String) -> Self {
        ScriptError { line, col, message }
    }

    /// Returns the error as `FILE:LINE:COL: error: message`, the form compilers use, so that
    /// editors can jump to it.
    pub fn render(&self, file: &str) -> String {
        format!("{file}:{self}")
    }

    /// Returns the offending source line with a caret under the column, for humans.
    pub fn caret(&self, source_line: &str) -> String {
        let pad: String =
            source_line.chars().take(self.col.saturating_sub(1)).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
        format!("    {source_line}\n    {pad}^")
    }
}

/// Where a statement or expression starts, for errors found while running it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub col: usize,
}

impl Pos {
    /// Returns an error at this position.
    pub fn error(self, message: impl Into<String>) -> ScriptError {
        ScriptError::new(self.line, self.col, message.into())
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_a_compiler() {
        let e = ScriptError::new(3, 7, "unknown process `B`".into());
        assert_eq!(e.render("x.mm"), "x.mm:3:7: error: unknown process `B`");
        assert_eq!(e.caret("  use   B"), "      use   B\n          ^");
    }
}
