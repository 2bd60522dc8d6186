//! What a replay found: checks passed and failed, each mismatch with its line, calls the
//! model does not know, and lines that could not be read.

use std::collections::BTreeMap;
use std::fmt;

/// How much a replay checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    /// Rebuild the address space only.
    Run,
    /// Check results, EFAULTs and /proc maps text.
    Verify,
    /// Also check the smaps residency of the log's own mappings.
    Strict,
}

/// One difference between the log and the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// Line of the log.
    pub line: u64,
    /// The call, as a short text.
    pub call: String,
    /// What the log says.
    pub expected: String,
    /// What the model did.
    pub got: String,
    /// For /proc text: the lines that differ.
    pub diff: Option<String>,
    /// The file, found not to be the one recorded, that this mismatch follows from: the
    /// program or interpreter of the process, or a file it maps, or one the text names.
    pub cause: Option<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: expected {}, got {}", self.line, self.call, self.expected, self.got)?;
        if let Some(c) = &self.cause {
            write!(f, " (follows from the differing {c})")?;
        }
        if let Some(d) = &self.diff {
            write!(f, "\n{}", d.trim_end())?;
        }
        Ok(())
    }
}

/// A line of the log that could not be read or replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayError {
    /// The line (from 1); 0 for a failure that is not about one line (the log could not be
    /// opened again for a further run).
    pub line: u64,
    /// The byte column (from 1) where the problem is: where the parser could go no further
    /// on a malformed line; 1 for a line that was read but cannot be replayed (a line of a
    /// task after its exit, a result no call can return), which the whole line is.
    pub column: u32,
    /// What went wrong.
    pub message: String,
}

/// `LINE:COLUMN: MESSAGE`, to follow a file name and a colon as compilers print it.
impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return f.write_str(&self.message);
        }
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// The outcome of a replay.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Lines read.
    pub lines: u64,
    /// Checks that held.
    pub passed: u64,
    /// Checks that failed.
    pub failed: u64,
    /// The failed checks (the first 1000).
    pub mismatches: Vec<Mismatch>,
    /// Calls the model does not know, by name, with counts.
    pub unknown: BTreeMap<String, u64>,
    /// Lines that could not be read or replayed, with their messages.
    pub errors: Vec<ReplayError>,
    /// Checks the trace made impossible (a filter hid the calls they need, the trace began
    /// late), by what, with counts: never reported as mismatches.
    pub unchecked: BTreeMap<String, u64>,
    /// What the replay took from the trace rather than from this machine, and from where
    /// (e.g. the directory the program started in).
    pub notes: Vec<String>,
    /// Files of the replaying machine (or of the root directory) found different from the
    /// ones the trace was recorded with, one line each: which file, and how.
    pub differs: Vec<String>,
    /// What the replay learned from the log (see [`crate::unknowns`]), one binding a line.
    pub bindings: Vec<String>,
    /// How many runs over the log it took to learn it.
    pub runs: u32,
}

impl Report {
    pub(crate) fn mismatch(&mut self, m: Mismatch) {
        self.failed += 1;
        if self.mismatches.len() < 1000 {
            self.mismatches.push(m);
        }
    }

    /// The closing lines: unknown calls, then `N passed, M failed`.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        for note in &self.notes {
            s.push_str(note);
            s.push('\n');
        }
        if !self.unchecked.is_empty() {
            let list: Vec<String> = self.unchecked.iter().map(|(k, v)| format!("{k} ({v})")).collect();
            s.push_str(&format!("not checkable from this trace: {}\n", list.join(", ")));
        }
        if !self.unknown.is_empty() {
            let list: Vec<String> = self.unknown.iter().map(|(k, v)| format!("{k} ({v})")).collect();
            s.push_str(&format!("calls not modelled: {}\n", list.join(", ")));
        }
        if !self.errors.is_empty() {
            s.push_str(&format!("{} lines could not be replayed\n", self.errors.len()));
        }
        if !self.differs.is_empty() {
            s.push_str(&format!("{} files differ from the recording's\n", self.differs.len()));
        }
        s.push_str(&format!("{} passed, {} failed\n", self.passed, self.failed));
        s
    }
}
