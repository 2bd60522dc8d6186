//! Reports of scenarios: [`ScenarioReporter`] wraps the [`Output`] a scenario runs with,
//! records the model after each statement (every statement is a stop), and answers the
//! language's `report FILE` statement by writing the page of the run so far.

use crate::model::ReportData;
use crate::recorder::{Recorder, StopPolicy};
use script::ast::Stmt;
use script::{ExpectOutcome, Output};

/// The most statements a scenario report keeps a snapshot of.
pub const MAX_STOPS: usize = 5000;

/// The most characters of a statement's output a stop quotes.
const MAX_STOP_TEXT: usize = 4000;

/// Watches a scenario statement by statement; passes its output on to `inner`.
pub struct ScenarioReporter<'a> {
    inner: &'a mut dyn Output,
    rec: Recorder,
    lines: Vec<String>,
    /// Output of the statement running now.
    pending: String,
    passed: usize,
    failed: usize,
}

impl std::fmt::Debug for ScenarioReporter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScenarioReporter").field("rec", &self.rec).finish_non_exhaustive()
    }
}

impl<'a> ScenarioReporter<'a> {
    /// A reporter for the scenario `source`, titled `title`, passing output on to `inner`.
    pub fn new(title: &str, source: &str, inner: &'a mut dyn Output) -> Self {
        ScenarioReporter {
            inner,
            rec: Recorder::new(title, "scenario", "scenario line", StopPolicy::every_step(MAX_STOPS)),
            lines: source.lines().map(str::to_string).collect(),
            pending: String::new(),
            passed: 0,
            failed: 0,
        }
    }

    /// Records the model `k` after `stmt` ran.
    pub fn after(&mut self, k: &mm::Kernel, stmt: &Stmt) {
        let line = stmt.pos.line;
        let mut text = self.lines.get(line.saturating_sub(1)).map(|l| l.trim().to_string()).unwrap_or_default();
        if !self.pending.is_empty() {
            text.push('\n');
            text.push_str(self.pending.trim_end());
            self.pending.clear();
        }
        if text.len() > MAX_STOP_TEXT {
            let mut end = MAX_STOP_TEXT;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            text.push('…');
        }
        self.rec.step(k, line as u64, &text, None);
    }

    /// The page's data so far.
    pub fn data(&self) -> ReportData {
        self.rec.data(&format!("{} expects passed, {} failed", self.passed, self.failed))
    }
}

impl Output for ScenarioReporter<'_> {
    fn text(&mut self, text: &str) {
        self.pending.push_str(text);
        self.inner.text(text);
    }

    fn expect(&mut self, outcome: &ExpectOutcome) {
        if outcome.passed {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        self.pending.push_str(&format!(
            "expect {}: {}\n",
            if outcome.passed { "held" } else { "FAILED" },
            outcome.condition
        ));
        self.inner.expect(outcome);
    }

    fn report(&mut self, path: &str) -> Result<String, String> {
        let data = self.data();
        crate::write(std::path::Path::new(path), &data).map_err(|e| e.to_string())?;
        Ok(format!("report: {path} written ({} stops)", data.stops.len()))
    }
}

/// Runs the scenario `source` on a fresh model and returns its report's data, with the
/// transcript of the run. A script error stops the run where it happened (the report shows
/// the run up to there) and is returned too.
pub fn report_scenario(title: &str, source: &str) -> (ReportData, script::Transcript, Option<script::ScriptError>) {
    let mut transcript = script::Transcript::default();
    let program = match script::parse_program(source) {
        Ok(p) => p,
        Err(e) => return (ReportData::default(), transcript, Some(e)),
    };
    let mut interp = script::Interpreter::new(script::Options::default());
    let mut rep = ScenarioReporter::new(title, source, &mut transcript);
    let mut error = None;
    for stmt in &program.stmts {
        let r = interp.run_stmt(stmt, &mut rep);
        rep.after(interp.kernel(), stmt);
        if let Err(e) = r {
            error = Some(e);
            break;
        }
    }
    let data = rep.data();
    (data, transcript, error)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORK_COW: &str = "process A empty\n\
        p = mmap(NULL, 3 * 4K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n\
        store p 1 x 12K\n\
        B = fork()\n\
        B: store p 2 x 1\n\
        exit(0)\n";

    #[test]
    fn every_statement_is_a_stop_and_the_fork_shows_the_shared_pages() {
        let (data, _, err) = report_scenario("fork", FORK_COW);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(data.stops.len(), 6);
        let fork = data.markers.iter().find(|m| m.kind == "fork" && m.x == 4).expect("fork marked");
        let at_fork = &data.stops[fork.stop.expect("a stop at the fork")];
        assert_eq!(at_fork.procs.len(), 2);
        assert_eq!(at_fork.sharing[0].cow, 3);
        assert_eq!(data.stops[4].sharing[0].cow, 2, "the child's write copied one page");
        assert!(data.markers.iter().any(|m| m.kind == "exit"));
        assert!(data.faults.iter().any(|f| f.4 == "CowCopy" && f.0 == 5));
        assert_eq!(data.stops[5].procs.len(), 1, "A exited, B goes on");
        assert_eq!(data.initial_stop, 5, "the last stop with an address space");
    }

    #[test]
    fn the_report_statement_writes_the_run_so_far() {
        let dir = std::env::temp_dir().join(format!("mmsim-report-stmt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let page = dir.join("early.html");
        let src = format!(
            "process A empty\nreport \"{}\"\np = mmap(NULL, 4K, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n",
            page.display()
        );
        let (data, transcript, err) = report_scenario("stmt", &src);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(data.stops.len(), 3);
        assert!(transcript.text.contains("written (1 stops)"), "{}", transcript.text);
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(html.contains("\"source\":\"scenario\""));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_output_that_keeps_no_history_refuses_the_report_statement() {
        let err =
            script::run_source("report \"x.html\"\n", script::Options::default(), &mut script::Transcript::default())
                .expect_err("refused");
        assert_eq!(err.line, 1);
        assert!(err.message.contains("keeps no history"), "{}", err.message);
    }

    #[test]
    fn a_script_error_ends_the_report_where_it_happened() {
        let (data, _, err) = report_scenario("bad", "process A empty\nmunmap(q, 4K)\n");
        assert_eq!(err.expect("an error").line, 2);
        assert_eq!(data.stops.len(), 2);
    }
}
