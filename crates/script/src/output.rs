//! Where a run's output goes: the [`Output`] trait, and [`Transcript`], which keeps it all.
//!
//! The interpreter does not print: it hands each piece to an [`Output`], so the command line
//! can send the trace to stdout and failures to stderr, `--quiet` can drop the trace, and
//! tests can look at everything.

/// The outcome of one `expect`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectOutcome {
    /// Line of the `expect`.
    pub line: usize,
    /// Whether it held.
    pub passed: bool,
    /// The condition as written.
    pub condition: String,
    /// For a failure, what was found instead (`got 8192`), and maybe more lines of context.
    pub detail: String,
}

impl ExpectOutcome {
    /// Returns the report line: `FILE:LINE: expect failed: COND (DETAIL)` or
    /// `FILE:LINE: ok: COND`.
    pub fn render(&self, file: &str) -> String {
        if self.passed {
            format!("{file}:{}: ok: {}", self.line, self.condition)
        } else {
            let (first, rest) = match self.detail.split_once('\n') {
                Some((a, b)) => (a, Some(b)),
                None => (self.detail.as_str(), None),
            };
            let mut s = format!("{file}:{}: expect failed: {} ({first})", self.line, self.condition);
            if let Some(rest) = rest {
                s.push('\n');
                s.push_str(rest.trim_end_matches('\n'));
            }
            s
        }
    }
}

/// Receives a run's output.
pub trait Output {
    /// Trace text: one or more complete lines, each ending in `\n`.
    fn text(&mut self, text: &str);
    /// The outcome of an `expect`.
    fn expect(&mut self, outcome: &ExpectOutcome);
    /// `report FILE`: writes the HTML report of the run so far to `path`; returns the line
    /// to show. Only an output that watches the run statement by statement can (the
    /// `mmsim` command's, with the `report` crate); others refuse.
    fn report(&mut self, path: &str) -> Result<String, String> {
        let _ = path;
        Err("this way of running scenarios keeps no history to report (use `mmsim run` or `mmsim report`)".into())
    }
}

/// An [`Output`] that keeps everything: the trace text and every expect outcome.
#[derive(Clone, Debug, Default)]
pub struct Transcript {
    /// All trace text.
    pub text: String,
    /// Every expect outcome, in order.
    pub expects: Vec<ExpectOutcome>,
}

impl Transcript {
    /// The failed expects.
    pub fn failures(&self) -> impl Iterator<Item = &ExpectOutcome> {
        self.expects.iter().filter(|e| !e.passed)
    }
}

impl Output for Transcript {
    fn text(&mut self, text: &str) {
        self.text.push_str(text);
    }

    fn expect(&mut self, outcome: &ExpectOutcome) {
        self.expects.push(outcome.clone());
    }
}
