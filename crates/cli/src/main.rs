//! `mmsim`: the command line of the Linux address-space model.
//!
//! `run` runs a scenario file, `repl` reads scenario statements interactively, and `tour`
//! runs the built-in lessons. Exit status: 0 when everything ran and every expect held, 1
//! when an expect failed, 2 for an error in a script (or in its arguments), 3 when the model
//! itself broke (an internal invariant failed: a bug in mmsim).
//!
//! The binary depends on every library crate of the workspace; nothing depends on it.

mod check;
mod jobs;
mod record;
mod repl;
mod tour;

use anyhow::Context;
use clap::{Parser, Subcommand};
use script::{ExpectOutcome, Options, Output};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

// A replay moves every parsed event from the parser thread to the replayer thread, which frees
// it; glibc's allocator serialises such cross-thread frees on an arena lock, mimalloc does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// An executable model of the Linux x86-64 process address space.
#[derive(Debug, Parser)]
#[command(name = "mmsim", version)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario file (see docs/scenario-language.md).
    Run {
        /// The scenario, usually FILE.mm.
        file: PathBuf,
        #[command(flatten)]
        flags: RunFlags,
    },
    /// Type scenario statements interactively (history in ~/.mmsim_history).
    Repl {
        /// Check every invariant of the model after every statement.
        #[arg(long)]
        paranoid: bool,
    },
    /// Run a scenario's calls on this machine's kernel and on the model, and report every
    /// difference (results, errno, bytes, signals, maps and smaps text).
    Check {
        /// The scenario (FILE.mm); not needed with --random.
        file: Option<PathBuf>,
        /// Instead of a scenario, run this many random scripts.
        #[arg(long, value_name = "N")]
        random: Option<u64>,
        /// First seed of the random scripts.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Steps per random script.
        #[arg(long, default_value_t = 60)]
        steps: usize,
        /// With --random: scripts on a machine with swap (one or two swap files the host
        /// side makes, activates and removes between the steps; needs root).
        #[arg(long, requires = "random")]
        swap: bool,
        #[command(flatten)]
        spread: Spread,
    },
    /// Run a command under `setarch -R strace -f -v -s 1048576` and keep its trace, for
    /// `mmsim replay`.
    Record {
        /// Where to write the trace.
        #[arg(short, long, default_value = "mmsim.trace")]
        output: PathBuf,
        /// Also log the buffer address and the bytes of every read and write
        /// (`-e raw=read,write,pread64,pwrite64 -e read=all -e write=all`), so that
        /// `replay --strict` can check memory contents.
        #[arg(long)]
        buffers: bool,
        /// Keep whole files beside the trace, not only the pages the replay reads.
        #[arg(long)]
        whole_files: bool,
        /// The command and its arguments (after `--`).
        #[arg(required = true, last = true)]
        command: Vec<String>,
    },
    /// Rebuild a recorded program's address space on the model, call by call.
    Replay {
        #[command(flatten)]
        replay: ReplayFlags,
        /// The trace (from `mmsim record`, or `strace -f -o FILE`); for a trace written with
        /// `strace -ff -o PREFIX`, the PREFIX or the set of `PREFIX.PID` files, merged in a
        /// fixed order (by time stamps when every line has one; otherwise each child's file
        /// follows the line where its parent's clone/fork/vfork returned its pid).
        ///
        /// Several traces, or a directory of them, are replayed each on its own, in parallel
        /// (see --jobs and --shard), and reported in the order of the files (a directory's
        /// in name order); `PREFIX.PID` files of one `strace -ff` run count as one trace.
        #[arg(required = true, num_args = 1..)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        spread: Spread,
    },
    /// Write an HTML page of a run: the address space at any moment (with every page's
    /// state), a timeline, the processes and the frames they share, page-table walks, the
    /// fault log and, for a trace, the mismatches. The page is one file that works offline.
    Report {
        /// Where to write the page.
        #[arg(short, long, value_name = "FILE.html")]
        output: PathBuf,
        #[command(flatten)]
        replay: ReplayFlags,
        /// A scenario (FILE.mm), or a trace as `replay` takes it (one file, or the files of
        /// `strace -ff`).
        #[arg(required = true, num_args = 1..)]
        input: Vec<PathBuf>,
    },
    /// Time the model on memory workloads (with --vs-host, also this machine's kernel doing
    /// the same work) and print ns per operation and the host/model ratio.
    Bench {
        /// Also run every workload on the host kernel, in a child process.
        #[arg(long)]
        vs_host: bool,
        /// Also write the rows as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Tiny sizes (a smoke run, not a measurement).
        #[arg(long)]
        quick: bool,
        /// Runs per workload; the median is reported.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Only these workloads (fault-anon, fault-file, mmap-munmap, mprotect-split,
        /// fork-exit, vma-1m, fork-1g, swap-out, swap-in, replay, replay-real, check-random).
        workloads: Vec<String>,
        /// Measure in this process and print the rows as JSON lines (each workload otherwise
        /// runs in a fresh `mmsim` process of its own, as the host side does).
        #[arg(long, hide = true)]
        in_process: bool,
    },
    /// Run the built-in lessons: fork and copy-on-write, the four kinds of mmap, ...
    Tour {
        /// List the lessons instead of running them.
        #[arg(long)]
        list: bool,
        /// Also write an HTML report of each lesson into DIR (DIR/LESSON.html).
        #[arg(long, value_name = "DIR")]
        report: Option<PathBuf>,
        /// Run only this lesson.
        name: Option<String>,
        #[command(flatten)]
        flags: RunFlags,
    },
}

/// How a run of many random scripts or traces is spread over threads and machines.
#[derive(Debug, Clone, Copy, clap::Args)]
struct Spread {
    /// Threads to run on (default: every core). The output does not depend on it.
    #[arg(long, value_name = "N", value_parser = jobs::parse_jobs)]
    jobs: Option<usize>,
    /// Run only the I-th of N equal slices of the seeds (or traces), for splitting a large run
    /// across machines: the outputs of shards 1/N to N/N, one after the other, are the whole
    /// run's (see docs/parallel-runs.md).
    #[arg(long, value_name = "I/N", default_value = "1/1")]
    shard: jobs::Shard,
}

impl Spread {
    fn jobs(self) -> usize {
        self.jobs.unwrap_or_else(jobs::all_cores)
    }
}

/// How a trace is replayed (`replay` and `report`).
#[derive(Debug, Clone, clap::Args)]
struct ReplayFlags {
    /// Check every result of an address-space call, every EFAULT, and every read of
    /// /proc/PID/maps against the trace.
    #[arg(long, conflicts_with = "strict")]
    verify: bool,
    /// Also check the smaps residency of the trace's own mappings (for programs that
    /// touch their mappings through system calls only).
    #[arg(long)]
    strict: bool,
    /// Go on after a line that cannot be read or replayed.
    #[arg(long)]
    keep_going: bool,
    /// The directory the program was recorded in (default: what the trace shows of it —
    /// a getcwd result, a -y decoration, the PWD of its execve — else the current one).
    #[arg(long, value_name = "DIR")]
    cwd: Option<PathBuf>,
    /// A copy of the recording machine's files (an unpacked container image, a chroot):
    /// paths in the trace resolve under DIR, for what the bundle beside the trace lacks.
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Read the files from this machine (or --root), not from the bundle beside the
    /// trace; the bundle then only serves to check that they are the recorded ones.
    #[arg(long)]
    no_bundle: bool,
}

impl ReplayFlags {
    fn options(&self) -> (replay::Options, record::FileOptions) {
        let mode = if self.strict {
            replay::Mode::Strict
        } else if self.verify {
            replay::Mode::Verify
        } else {
            replay::Mode::Run
        };
        (
            replay::Options { mode, keep_going: self.keep_going, cwd: self.cwd.clone(), threads_unordered: false },
            record::FileOptions { root: self.root.clone(), no_bundle: self.no_bundle },
        )
    }
}

/// How a scenario run reports.
#[derive(Debug, Clone, Copy, clap::Args)]
struct RunFlags {
    /// Check every invariant of the model after every statement (slow).
    #[arg(long)]
    paranoid: bool,
    /// Print only failed expects and errors.
    #[arg(long, conflicts_with = "verbose")]
    quiet: bool,
    /// Also print the expects that hold.
    #[arg(long)]
    verbose: bool,
}

/// Exit statuses.
const EXIT_EXPECT_FAILED: u8 = 1;
const EXIT_SCRIPT_ERROR: u8 = 2;
const EXIT_MODEL_BUG: u8 = 3;

/// Measures one workload in a fresh `mmsim` process, so that no workload runs on the heap
/// another one left behind (the model's memory layout, and its peak RSS, are its own).
fn measure_isolated(w: bench::Workload, quick: bool, runs: usize, vs_host: bool) -> anyhow::Result<bench::Row> {
    let exe = std::env::current_exe().context("cannot find the mmsim executable")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["bench", "--in-process", "--runs", &runs.to_string(), w.name()]);
    if quick {
        cmd.arg("--quick");
    }
    if vs_host {
        cmd.arg("--vs-host");
    }
    let out = cmd.stderr(std::process::Stdio::inherit()).output().context("cannot run mmsim bench")?;
    if !out.status.success() {
        anyhow::bail!("the {} workload failed ({})", w.name(), out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("unexpected output of the {} workload: {line}", w.name()))
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mmsim: error: {e:#}");
            ExitCode::from(EXIT_SCRIPT_ERROR)
        }
    }
}

/// The most a scenario file may hold.
const MAX_SCENARIO_BYTES: u64 = 64 << 20;

/// Reads a scenario: a regular file only (a FIFO would block, `/dev/zero` never end), of
/// at most [`MAX_SCENARIO_BYTES`], in UTF-8.
fn read_scenario(file: &std::path::Path) -> anyhow::Result<String> {
    let (_, bytes) = loader::host::read_regular(file, MAX_SCENARIO_BYTES)
        .with_context(|| format!("cannot read {}", file.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!("cannot read {}: not UTF-8 text (byte {})", file.display(), e.utf8_error().valid_up_to() + 1)
    })
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Run { file, flags } => {
            let source = read_scenario(&file)?;
            let shown = file.display().to_string();
            let mut out = Console::new(&shown, flags);
            Ok(run_scenario(&shown, &source, flags, false, &mut out, None))
        }
        Command::Repl { paranoid } => {
            repl::run(Options { paranoid })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Tour { list, report, name, flags } => tour::run(list, name.as_deref(), flags, report.as_deref()),
        Command::Record { output, buffers, whole_files, command } => {
            record::record(&output, buffers, whole_files, &command)
        }
        Command::Replay { replay, files, spread } => {
            let (opts, fopts) = replay.options();
            record::replay(&files, opts, fopts, spread.jobs(), spread.shard)
        }
        Command::Report { output, replay, input } => {
            let is_scenario = matches!(&input[..], [one] if one.extension().is_some_and(|e| e == "mm"));
            if is_scenario {
                let file = &input[0];
                let source = read_scenario(file)?;
                let shown = file.display().to_string();
                let flags = RunFlags { paranoid: false, quiet: true, verbose: false };
                let mut out = Console::new(&shown, flags);
                let code = run_scenario(&shown, &source, flags, false, &mut out, Some(&output));
                eprintln!("mmsim: report of {shown} written to {}", output.display());
                Ok(code)
            } else {
                let (opts, fopts) = replay.options();
                record::report(&input, opts, fopts, &output)
            }
        }
        Command::Bench { vs_host, json, quick, runs, workloads, in_process } => {
            let scale = if quick { bench::Scale::quick() } else { bench::Scale::full() };
            let chosen: Vec<bench::Workload> = if workloads.is_empty() {
                bench::Workload::ALL.to_vec()
            } else {
                workloads
                    .iter()
                    .map(|w| bench::Workload::from_name(w).ok_or_else(|| anyhow::anyhow!("unknown workload `{w}`")))
                    .collect::<anyhow::Result<_>>()?
            };
            if in_process {
                for w in chosen {
                    let row = bench::measure(w, &scale, runs, vs_host).map_err(|e| anyhow::anyhow!(e))?;
                    println!("{}", serde_json::to_string(&row)?);
                }
                return Ok(ExitCode::SUCCESS);
            }
            let mut rows = Vec::new();
            for w in chosen {
                eprintln!("running {} ...", w.name());
                match measure_isolated(w, quick, runs, vs_host) {
                    Ok(row) => rows.push(row),
                    // It needs strace to record its programs: a note where it cannot run.
                    Err(e) if matches!(w, bench::Workload::ReplayReal | bench::Workload::CheckRandom) => {
                        eprintln!("note: {e:#}")
                    }
                    Err(e) => return Err(e),
                }
            }
            print!("{}", bench::table(&rows));
            if let Some(path) = json {
                let text = serde_json::to_string_pretty(&rows)?;
                std::fs::write(&path, text + "\n").with_context(|| format!("cannot write {}", path.display()))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { file, random, seed, steps, swap, spread } => {
            let report = match (file, random) {
                (_, Some(n)) => check::run_random(n, seed, steps, swap, spread.jobs(), spread.shard)?,
                (Some(file), None) => {
                    let source = read_scenario(&file)?;
                    let shown = file.display().to_string();
                    let program = match script::parse_program(&source) {
                        Ok(p) => p,
                        Err(e) => {
                            report_error(&shown, &source, &e);
                            return Ok(ExitCode::from(EXIT_SCRIPT_ERROR));
                        }
                    };
                    let t = match check::translate(&program) {
                        Ok(t) => t,
                        Err(u) => {
                            eprintln!("{shown}:{}: cannot check: {}", u.line, u.what);
                            return Ok(ExitCode::from(EXIT_SCRIPT_ERROR));
                        }
                    };
                    check::run_check(&shown, &t)?
                }
                (None, None) => anyhow::bail!("give a scenario file or --random N"),
            };
            print!("{}", report.text);
            Ok(if report.differences == 0 { ExitCode::SUCCESS } else { ExitCode::from(EXIT_EXPECT_FAILED) })
        }
    }
}

/// Runs one scenario to the end, printing as it goes; returns the exit status. With
/// `narrate`, the comment lines before each statement are printed before it runs, so that a
/// lesson explains itself.
///
/// With `report_to`, or when the scenario has a `report` statement, the run is recorded
/// statement by statement for the HTML report; with `report_to`, the report of the whole
/// run is written there at the end (also after an error, up to it).
fn run_scenario(
    file: &str,
    source: &str,
    flags: RunFlags,
    narrate: bool,
    out: &mut Console,
    report_to: Option<&std::path::Path>,
) -> ExitCode {
    let program = match script::parse_program(source) {
        Ok(p) => p,
        Err(e) => {
            report_error(file, source, &e);
            return ExitCode::from(EXIT_SCRIPT_ERROR);
        }
    };
    let mut interp = script::Interpreter::new(Options { paranoid: flags.paranoid });
    let lines: Vec<&str> = source.lines().collect();
    let mut shown_upto = 0;
    let reports = program.stmts.iter().any(|s| matches!(s.kind, script::ast::StmtKind::Report { .. }));
    let title = std::path::Path::new(file).file_name().map_or(file.to_string(), |n| n.to_string_lossy().into_owned());
    let mut sink = if reports || report_to.is_some() {
        Sink::Recorded(Box::new(report::ScenarioReporter::new(&title, source, out)))
    } else {
        Sink::Plain(out)
    };
    let result = guard_model(|| {
        for stmt in &program.stmts {
            let out: &mut dyn Output = match &mut sink {
                Sink::Plain(c) => &mut **c,
                Sink::Recorded(r) => &mut **r,
            };
            if narrate {
                let line = stmt.pos.line - 1;
                let notes = comment_block(&lines[shown_upto.min(line)..line]);
                if !notes.is_empty() {
                    out.text(&notes);
                }
                shown_upto = stmt.pos.line;
            }
            let r = interp.run_stmt(stmt, out);
            if let Sink::Recorded(rec) = &mut sink {
                rec.after(interp.kernel(), stmt);
            }
            r?;
        }
        Ok(())
    });
    if let (Some(path), Sink::Recorded(rec)) = (report_to, &sink) {
        if let Err(e) = report::write(path, &rec.data()) {
            eprintln!("{file}: cannot write the report {}: {e}", path.display());
            return ExitCode::from(EXIT_SCRIPT_ERROR);
        }
    }
    let status = match result {
        Ok(Ok(())) => None,
        Ok(Err(e)) => {
            report_error(file, source, &e);
            Some(EXIT_SCRIPT_ERROR)
        }
        Err(msg) => {
            eprintln!("{file}: internal error: the model broke an invariant (a bug in mmsim): {msg}");
            Some(EXIT_MODEL_BUG)
        }
    };
    let (passed, failed) = interp.expect_counts();
    if failed > 0 || (flags.verbose && passed > 0) {
        eprintln!("{file}: {passed} expects passed, {failed} failed");
    }
    match status {
        Some(code) => ExitCode::from(code),
        None if failed > 0 => ExitCode::from(EXIT_EXPECT_FAILED),
        None => ExitCode::SUCCESS,
    }
}

/// The comment lines that end just before a statement (the last paragraph of comments in
/// `lines`), ready to print.
fn comment_block(lines: &[&str]) -> String {
    let start = lines.iter().rposition(|l| !l.trim_start().starts_with('#')).map_or(0, |i| i + 1);
    lines[start..].iter().map(|l| format!("{}\n", l.trim())).collect()
}

/// Runs `f`, turning a panic inside the model into an error message. The model panics only
/// when one of its own invariants breaks, which is a bug to report, not a crash to show.
fn guard_model<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    r.map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".to_string())
    })
}

/// Prints an error as `FILE:LINE:COL: error: message`, then the line with a caret.
fn report_error(file: &str, source: &str, e: &script::ScriptError) {
    eprintln!("{}", e.render(file));
    if let Some(line) = source.lines().nth(e.line.saturating_sub(1)) {
        eprintln!("{}", e.caret(line));
    }
}

/// Where a scenario's output goes: the terminal, or the terminal through a recorder for
/// the HTML report.
enum Sink<'a> {
    Plain(&'a mut Console),
    Recorded(Box<report::ScenarioReporter<'a>>),
}

/// Output to the terminal: the trace on stdout, expect failures on stderr.
struct Console {
    file: String,
    flags: RunFlags,
}

impl Console {
    fn new(file: &str, flags: RunFlags) -> Self {
        Console { file: file.to_string(), flags }
    }
}

impl Output for Console {
    fn text(&mut self, text: &str) {
        if !self.flags.quiet {
            // A closed pipe (`mmsim run x.mm | head`) is not an error worth reporting.
            let _ = std::io::stdout().write_all(text.as_bytes());
        }
    }

    fn expect(&mut self, outcome: &ExpectOutcome) {
        if !outcome.passed {
            let _ = std::io::stdout().flush();
            eprintln!("{}", outcome.render(&self.file));
        } else if self.flags.verbose {
            println!("{}", outcome.render(&self.file));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_app() {
        Args::command().debug_assert();
    }

    #[test]
    fn narration_takes_the_comments_just_before_a_statement() {
        let lines = ["# old", "x = 1", "", "# first", "  # second"];
        assert_eq!(comment_block(&lines), "# first\n# second\n");
        assert_eq!(comment_block(&lines[..2]), "");
        assert_eq!(comment_block(&lines[..1]), "# old\n");
    }
}
