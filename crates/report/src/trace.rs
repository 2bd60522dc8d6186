//! Reports of replays: a [`replay::Observer`] that feeds a [`Recorder`] event by event, and
//! [`report_trace`], which replays a trace with it and fills in the trace lines the page
//! quotes (stops, markers and mismatches), read back from the trace afterwards.

use crate::model::{MismatchRow, ReportData};
use crate::recorder::{shorten, Recorder, StopPolicy};
use mm::Kernel;
use std::collections::BTreeMap;
use std::io::BufRead;
use trace::{Event, EventKind};

/// Events the model keeps between two steps; faults past that within one trace line are
/// counted, not listed.
const EVENT_CAPACITY: usize = 1 << 14;

/// Feeds a replay to a [`Recorder`].
#[derive(Debug)]
pub struct TraceObserver {
    title: String,
    steps: u64,
    rec: Recorder,
    failed: u64,
    /// The stop taken at each mismatch's line.
    mismatch_stops: BTreeMap<u64, usize>,
    /// Stops taken at reads of maps texts.
    maps_reads: usize,
}

impl TraceObserver {
    /// An observer for a trace of about `lines` lines, titled `title`.
    pub fn new(title: &str, lines: u64) -> Self {
        TraceObserver {
            title: title.to_string(),
            steps: lines,
            rec: Self::recorder(title, lines),
            failed: 0,
            mismatch_stops: BTreeMap::new(),
            maps_reads: 0,
        }
    }

    fn recorder(title: &str, lines: u64) -> Recorder {
        Recorder::new(title, "trace", "trace line", StopPolicy::spread(lines))
    }

    /// The page's data, once the replay gave `report`.
    pub fn finish(self, report: &replay::Report) -> ReportData {
        let mut summary = String::new();
        for b in &report.bindings {
            summary.push_str(b);
            summary.push('\n');
        }
        for e in report.errors.iter().take(20) {
            summary.push_str(&e.to_string());
            summary.push('\n');
        }
        summary.push_str(&format!("{} lines; ", report.lines));
        summary.push_str(&report.summary());
        let mut data = self.rec.data(summary.trim_end());
        data.mismatches = report
            .mismatches
            .iter()
            .map(|m| MismatchRow {
                line: m.line,
                call: m.call.clone(),
                expected: m.expected.clone(),
                got: m.got.clone(),
                diff: m.diff.clone(),
                text: String::new(),
                stop: self.mismatch_stops.get(&m.line).copied(),
            })
            .collect();
        data
    }

    fn is_exit(ev: &Event) -> bool {
        match &ev.kind {
            EventKind::Exited { .. } | EventKind::Killed { .. } => true,
            EventKind::Syscall(c) => matches!(c.name.as_ref(), "exit" | "exit_group" | "execve" | "execveat"),
            _ => false,
        }
    }
}

impl replay::Observer for TraceObserver {
    fn event_capacity(&self) -> usize {
        EVENT_CAPACITY
    }

    fn run_started(&mut self) {
        self.rec = Self::recorder(&self.title, self.steps);
        self.failed = 0;
        self.mismatch_stops.clear();
        self.maps_reads = 0;
    }

    fn before(&mut self, ev: &Event, r: &replay::Replayer) {
        // An exit (or an exec) takes the address space away: keep it as it was just before.
        if Self::is_exit(ev) && has_space(r.kernel()) {
            self.rec.before(r.kernel(), ev.line, "");
        }
    }

    fn after(&mut self, ev: &Event, r: &replay::Replayer) {
        if r.kernel().tasks().count() != self.rec.tasks_seen() {
            self.rec.set_trace_pids(r.trace_pids());
        }
        let failed = r.report().failed;
        let force = if failed > self.failed && self.mismatch_stops.len() < 100 {
            Some(("mismatch", format!("mismatch at line {}", ev.line)))
        } else if reads_maps_text(ev) && self.maps_reads < MAX_MAPS_STOPS {
            // The trace shows the address space here: a moment worth stopping at.
            self.maps_reads += 1;
            Some(("maps", format!("{} read a maps text", ev.pid.unwrap_or(0))))
        } else {
            None
        };
        let mismatch = force.is_some();
        self.failed = failed;
        if let Some(stop) = self.rec.step(r.kernel(), ev.line, "", force) {
            if mismatch {
                self.mismatch_stops.insert(ev.line, stop);
            }
        }
    }
}

/// The most stops taken at reads of maps texts.
const MAX_MAPS_STOPS: usize = 50;

/// Whether `ev` is a read that returned the start of a maps text (`ADDR-ADDR perms ...`).
fn reads_maps_text(ev: &Event) -> bool {
    let EventKind::Syscall(c) = &ev.kind else { return false };
    if !matches!(c.name.as_ref(), "read" | "pread64") {
        return false;
    }
    let Some(bytes) = c.arg(1).and_then(trace::Arg::as_bytes) else { return false };
    let head = &bytes[..bytes.len().min(40)];
    let Some(dash) = head.iter().position(|&b| b == b'-') else { return false };
    dash >= 8
        && head[..dash].iter().all(u8::is_ascii_hexdigit)
        && head[dash + 1..].iter().take_while(|b| b.is_ascii_hexdigit()).count() >= 8
}

fn has_space(k: &Kernel) -> bool {
    k.tasks().any(|t| t.mm.is_some())
}

/// Fills in the texts of the trace lines the page quotes, reading the trace once more.
pub fn fill_lines(data: &mut ReportData, trace: impl BufRead) {
    let mut wanted: BTreeMap<u64, String> = BTreeMap::new();
    for s in &data.stops {
        wanted.insert(s.x, String::new());
    }
    for m in &data.mismatches {
        wanted.insert(m.line, String::new());
    }
    let Some(&last) = wanted.keys().next_back() else { return };
    let mut buf = Vec::new();
    let mut reader = trace;
    for n in 1..=last {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if let Some(t) = wanted.get_mut(&n) {
            let line = String::from_utf8_lossy(&buf[..buf.len().min(1024)]);
            *t = shorten(line.trim_end());
        }
    }
    for s in &mut data.stops {
        if let Some(t) = wanted.get(&s.x) {
            s.text.clone_from(t);
        }
    }
    for m in &mut data.mismatches {
        if let Some(t) = wanted.get(&m.line) {
            m.text.clone_from(t);
        }
    }
}

/// Replays the trace `open` reads (from its start, each time it is called) and returns the
/// page's data with the replay's report. `lines` is about how many lines it has (it spreads
/// the stops).
pub fn report_trace<R, F>(
    title: &str,
    mut open: F,
    lines: u64,
    opts: replay::Options,
    files: std::sync::Arc<replay::Files>,
) -> std::io::Result<(ReportData, replay::Report)>
where
    R: BufRead + Send + 'static,
    F: FnMut() -> std::io::Result<R>,
{
    let ids = replay::Identities::collect(open()?);
    let mut observer = TraceObserver::new(title, lines);
    let report = replay::replay_observed(&mut open, ids, opts, files, |_| {}, &mut observer);
    let mut data = observer.finish(&report);
    fill_lines(&mut data, open()?);
    Ok((data, report))
}

/// Counts the lines of a trace (to spread the stops over it).
pub fn count_lines(mut r: impl BufRead) -> std::io::Result<u64> {
    let mut n = 0;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(n);
        }
        n += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        let len = buf.len();
        r.consume(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(line: &str) -> Event {
        trace::Parser::new(line.as_bytes()).next().expect("an event").expect("parsed")
    }

    #[test]
    fn a_read_of_maps_text_is_recognised() {
        let maps = r#"1000  read(3, "555555554000-555555556000 r--p 00000000 fe:00 123 /usr/bin/cat\n", 131072) = 64"#;
        assert!(reads_maps_text(&event(maps)));
        let other = r#"1000  read(3, "hello-world 1234", 131072) = 16"#;
        assert!(!reads_maps_text(&event(other)));
        let write = r#"1000  write(1, "555555554000-555555556000 r--p", 29) = 29"#;
        assert!(!reads_maps_text(&event(write)));
    }

    #[test]
    fn quoted_lines_are_read_back_from_the_trace() {
        let mut data = ReportData::default();
        data.stops.push(crate::model::Stop {
            x: 2,
            before: false,
            text: String::new(),
            procs: Vec::new(),
            sharing: Vec::new(),
            faults_upto: 0,
        });
        data.mismatches.push(MismatchRow {
            line: 3,
            call: "brk".into(),
            expected: "1".into(),
            got: "2".into(),
            diff: None,
            text: String::new(),
            stop: None,
        });
        fill_lines(&mut data, "one\ntwo\nthree\nfour\n".as_bytes());
        assert_eq!(data.stops[0].text, "two");
        assert_eq!(data.mismatches[0].text, "three");
    }

    #[test]
    fn lines_are_counted() {
        assert_eq!(count_lines("a\nb\nc\n".as_bytes()).unwrap(), 3);
        assert_eq!(count_lines("".as_bytes()).unwrap(), 0);
    }
}
