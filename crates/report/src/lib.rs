//! `report`: the address space of a run as one self-contained HTML page (`mmsim report`).
//!
//! A run (a replayed trace, or a scenario) is watched step by step by a
//! [`recorder::Recorder`], which keeps a downsampled timeline, markers (fork, exec, exit,
//! big mmaps, mismatches), exact snapshots at the scrubber's stops ([`snapshot`]) and the
//! fault log in the kernel's words. [`html::render`] turns the result ([`model::ReportData`])
//! into a page that embeds its data, its script and its charting library, and loads nothing.
//!
//! Modules: [`model`] (the page's data), [`snapshot`] (reading the model), [`recorder`]
//! (watching a run), [`trace`] (replays), [`scenario`] (scenarios and the `report`
//! statement), [`html`] (the page).
//!
//! It depends on the model (`mm`), `procfs`, the strace parser, the replayer and the scenario
//! language, since it watches runs of both; only the CLI depends on it. It must not depend on
//! the host comparison, the bench or the browser driver (`headless` is for its tests only).
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

pub mod html;
pub mod model;
pub mod recorder;
pub mod scenario;
pub mod snapshot;
pub mod trace;

pub use model::ReportData;
pub use scenario::{report_scenario, ScenarioReporter};
pub use trace::report_trace;

/// Writes the page for `data` to `path`.
pub fn write(path: &std::path::Path, data: &ReportData) -> std::io::Result<()> {
    std::fs::write(path, html::render(data))
}
