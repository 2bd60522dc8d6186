//! `mmsim record` and `mmsim replay`: the edges of trace replay (running strace, reading the
//! file, the progress bar and the report).

use anyhow::Context;
use std::io::{BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Runs `command` under `setarch -R strace -f -v -s 1048576 -o OUTPUT` (with `buffers`,
/// also logging read and write buffers by address with their bytes), then keeps beside the
/// trace (`OUTPUT.files`) what a replay needs of this machine's files: the answers about
/// paths, and the pages of each file the replay reads (every page with `whole_files`).
pub fn record(output: &Path, buffers: bool, whole_files: bool, command: &[String]) -> anyhow::Result<ExitCode> {
    let arch = if cfg!(target_arch = "x86_64") { "x86_64" } else { std::env::consts::ARCH };
    let mut cmd = Command::new("setarch");
    cmd.args([arch, "-R", "strace", "-f", "-v", "-s", "1048576"]);
    if buffers {
        cmd.args(["-e", "raw=read,write,pread64,pwrite64", "-e", "read=all", "-e", "write=all"]);
    }
    let status = cmd
        .arg("-o")
        .arg(output)
        .arg("--")
        .args(command)
        .status()
        .context("cannot run `setarch -R strace` (install strace: `apt-get install strace`)")?;
    eprintln!("mmsim: trace written to {}", output.display());
    let bundle = replay::bundle_path(output);
    match keep_files(output, &bundle, whole_files) {
        Ok((n, bytes)) => eprintln!(
            "mmsim: the replay's answers about this machine's files, and {} KiB of pages of {n} files, kept in {}",
            bytes.div_ceil(1024),
            bundle.display()
        ),
        Err(e) => eprintln!("mmsim: cannot keep the files beside the trace: {e:#}"),
    }
    Ok(ExitCode::from(status.code().unwrap_or(1).clamp(0, 255) as u8))
}

/// Where a replay reads its trace: one file, streamed, or the per-process files of
/// `strace -ff`, merged in memory.
enum Input {
    File(PathBuf),
    Merged(Vec<u8>),
}

/// One trace among the files a replay was given: a file, or the `PREFIX.PID` files of one
/// `strace -ff` run.
#[derive(Clone, Debug, PartialEq, Eq)]
enum TraceFiles {
    One(PathBuf),
    PerPid(Vec<(u32, PathBuf)>),
}

/// The traces `files` name, in order: one file; for `strace -ff -o PREFIX`, the prefix (when
/// no file has that name) or the `PREFIX.PID` files themselves; several traces; directories
/// of traces (their files in name order, less the bundles `mmsim record` keeps beside them).
/// `PREFIX.PID` files with the same PREFIX are one trace.
fn traces(files: &[PathBuf]) -> anyhow::Result<Vec<TraceFiles>> {
    if let [prefix] = files {
        if !prefix.exists() {
            let found = trace::per_pid_files(prefix).unwrap_or_default();
            if found.is_empty() {
                anyhow::bail!("cannot open {}: no such file, nor {0}.PID files of `strace -ff`", prefix.display());
            }
            return Ok(vec![TraceFiles::PerPid(found)]);
        }
    }
    let mut listed = Vec::new();
    for f in files {
        if f.is_dir() {
            let mut inside = Vec::new();
            for entry in std::fs::read_dir(f).with_context(|| format!("cannot list {}", f.display()))? {
                let path = entry.with_context(|| format!("cannot list {}", f.display()))?.path();
                let bundle = path.extension().is_some_and(|e| e == "files") && path.with_extension("").is_file();
                if path.is_file() && !bundle {
                    inside.push(path);
                }
            }
            inside.sort();
            listed.extend(inside);
        } else {
            listed.push(f.clone());
        }
    }
    let mut out: Vec<TraceFiles> = Vec::new();
    for f in listed {
        match trace::pid_suffix(&f) {
            Some(pid) => {
                let prefix = f.with_extension("");
                let group = out.iter_mut().find_map(|t| match t {
                    TraceFiles::PerPid(v) if v[0].1.with_extension("") == prefix => Some(v),
                    _ => None,
                });
                match group {
                    Some(v) => v.push((pid, f)),
                    None => out.push(TraceFiles::PerPid(vec![(pid, f)])),
                }
            }
            None => out.push(TraceFiles::One(f)),
        }
    }
    anyhow::ensure!(
        !out.is_empty(),
        "no trace files in {}",
        files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
    );
    Ok(out)
}

/// Where the text of the trace `file` comes from: the file itself when it is a regular
/// file (read whole or streamed, and read again by each run); otherwise (a pipe, as
/// `<(strace ...)` gives, or a device) what comes out of it, read once, up to
/// [`replay::ParsedLog::MAX_TEXT`] bytes: an endless device such as /dev/zero is an error
/// then, not a read until the host's memory runs out.
fn one_input(file: &Path) -> anyhow::Result<Input> {
    use std::io::Read;
    let regular = std::fs::metadata(file).with_context(|| format!("cannot open {}", file.display()))?.is_file();
    if regular {
        return Ok(Input::File(file.to_path_buf()));
    }
    let limit = replay::ParsedLog::MAX_TEXT;
    let mut text = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(limit + 1).read_to_end(&mut text))
        .with_context(|| format!("cannot read {}", file.display()))?;
    anyhow::ensure!(
        text.len() as u64 <= limit,
        "cannot replay {}: not a regular file, and more than {} MiB came out of it (save the trace to a \
         file first)",
        file.display(),
        limit >> 20
    );
    Ok(Input::Merged(text))
}

/// A trace's name in the report, and where its text comes from. `notes` gets a line for a
/// merged `strace -ff` set.
/// Also whether the log orders the calls of threads running at the same time (not when
/// it merges `strace -ff` files: see [`replay::Options::threads_unordered`]).
fn input(t: &TraceFiles, notes: &mut Vec<(Stream, String)>) -> anyhow::Result<(String, Input, bool)> {
    let per_pid = match t {
        TraceFiles::One(f) => return Ok((f.display().to_string(), one_input(f)?, true)),
        TraceFiles::PerPid(v) => v,
    };
    let mut logs = Vec::new();
    for (pid, path) in per_pid {
        logs.push((*pid, std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?));
    }
    let label = per_pid[0].1.with_extension("").display().to_string();
    notes.push((
        Stream::Err,
        format!(
            "mmsim: merged {} per-process files of `strace -ff` ({label}.*); line numbers below are those of the merged log\n",
            per_pid.len()
        ),
    ));
    // Each file's lines are whole calls, stamped (if at all) when they began: how the calls
    // of threads sharing an address space interleaved in the kernel is not in the files.
    let (text, _) = trace::merge_per_pid_ordered(&logs);
    Ok((label, Input::Merged(text), per_pid.len() < 2))
}

/// Replays the trace just recorded on this machine's files, keeping what it asks of them,
/// and writes the bundle.
fn keep_files(trace: &Path, bundle: &Path, whole: bool) -> anyhow::Result<(usize, usize)> {
    let open = || std::fs::File::open(trace).with_context(|| format!("cannot open {}", trace.display()));
    let ids = replay::Identities::collect(BufReader::new(open()?));
    let cwd = std::env::current_dir().context("no current directory")?;
    let files = std::sync::Arc::new(replay::Files::recorder(whole));
    // Strict: it reads whatever the other modes read, and the memory contents too.
    let opts = replay::Options {
        mode: replay::Mode::Strict,
        keep_going: true,
        cwd: Some(cwd.clone()),
        threads_unordered: false,
    };
    let reopen = || open().map(|f| BufReader::with_capacity(1 << 20, f)).map_err(std::io::Error::other);
    replay::replay_with(reopen, ids, opts, files.clone(), |_| {});
    files
        .write_bundle(bundle, Some(&cwd.to_string_lossy()))
        .with_context(|| format!("cannot write {}", bundle.display()))
}

/// Where a replay takes the recording machine's files from.
#[derive(Clone, Debug, Default)]
pub struct FileOptions {
    /// A directory standing for the recording machine's root.
    pub root: Option<std::path::PathBuf>,
    /// Use the bundle beside the trace only to check the files read elsewhere.
    pub no_bundle: bool,
}

/// Where a line of a replay's report goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stream {
    Out,
    Err,
}

/// A replay's report: its lines in order, each to stdout or stderr, and whether it was clean.
#[derive(Debug, Default)]
struct Replayed {
    /// The trace's name.
    label: String,
    lines: Vec<(Stream, String)>,
    ok: bool,
}

impl Replayed {
    fn print(&self) {
        use std::io::Write;
        for (stream, text) in &self.lines {
            match stream {
                Stream::Out => {
                    print!("{text}");
                }
                Stream::Err => {
                    let _ = std::io::stdout().flush();
                    eprint!("{text}");
                }
            }
        }
        let _ = std::io::stdout().flush();
    }
}

/// Replays traces and prints every mismatch, then the summary; exit status 0 only when
/// nothing failed. The bundle beside a trace (`TRACE.files`), when there is one, answers
/// what the replay asks of the recording machine's files; then `--root`, then this machine.
/// Several traces are replayed each on its own, on `jobs` threads (only `shard`'s slice of
/// them), and reported in order, with a count at the end.
pub fn replay(
    files: &[PathBuf],
    opts: replay::Options,
    fopts: FileOptions,
    jobs: usize,
    shard: crate::jobs::Shard,
) -> anyhow::Result<ExitCode> {
    let all = traces(files)?;
    if all.len() == 1 && !shard.is_part() {
        let r = replay_one(&all[0], opts, &fopts, std::io::stderr().is_terminal())?;
        r.print();
        return Ok(if r.ok { ExitCode::SUCCESS } else { ExitCode::from(1) });
    }
    let part = shard.range(all.len() as u64);
    let mine = &all[part.start as usize..part.end as usize];
    let (mut clean, mut failed) = (0, 0);
    crate::jobs::run_ordered(
        mine.len() as u64,
        jobs,
        |i| replay_one(&mine[i as usize], opts.clone(), &fopts, false),
        |_, r| {
            match r {
                Ok(r) => {
                    println!("== {}", r.label);
                    r.print();
                    if r.ok {
                        clean += 1;
                    } else {
                        failed += 1;
                    }
                }
                Err(e) => {
                    println!("mmsim: error: {e:#}");
                    failed += 1;
                }
            }
            true
        },
    );
    let which = if shard.is_part() {
        let range = if mine.is_empty() { "none".to_string() } else { format!("{} to {}", part.start + 1, part.end) };
        format!("shard {shard} (traces {range} of {}): ", all.len())
    } else {
        String::new()
    };
    println!("{which}{} traces replayed: {clean} clean, {failed} with mismatches or errors", mine.len());
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Replays one trace; with `bar`, showing its progress on the terminal.
fn replay_one(t: &TraceFiles, opts: replay::Options, fopts: &FileOptions, bar: bool) -> anyhow::Result<Replayed> {
    let mut notes = Vec::new();
    let (label, input, opts, found) = prepare(t, opts, fopts, &mut notes)?;
    let started = std::time::Instant::now();
    let keep_going = opts.keep_going;
    // A log of moderate size is read whole: its first run parses it in a thread of its own
    // while it replays, keeping the events for any run after it; a larger one is streamed
    // (parsed by each run), so that memory stays bounded.
    let whole = match input {
        Input::File(file) => {
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            if size <= replay::ParsedLog::MAX_TEXT {
                Ok(std::fs::read(&file).with_context(|| format!("cannot open {}", file.display()))?)
            } else {
                Err(Input::File(file))
            }
        }
        Input::Merged(text) if text.len() as u64 <= replay::ParsedLog::MAX_TEXT => Ok(text),
        big => Err(big),
    };
    let mut r = match whole {
        Ok(text) => {
            let size = text.len() as u64;
            run(&label, started, size, keep_going, bar, |progress| replay::replay_text(text, opts, found, progress))
        }
        Err(Input::File(file)) => {
            let open = || std::fs::File::open(&file).with_context(|| format!("cannot open {}", file.display()));
            let ids = replay::Identities::collect(BufReader::new(open()?));
            let size = open()?.metadata().map(|m| m.len()).unwrap_or(0);
            let reopen = || open().map(|f| BufReader::with_capacity(1 << 20, f)).map_err(std::io::Error::other);
            run(&label, started, size, keep_going, bar, |progress| {
                replay::replay_with(reopen, ids, opts, found, progress)
            })
        }
        Err(Input::Merged(text)) => {
            let ids = replay::Identities::collect(&text[..]);
            let size = text.len() as u64;
            let text: std::sync::Arc<[u8]> = text.into();
            run(&label, started, size, keep_going, bar, |progress| {
                replay::replay_with(|| Ok(std::io::Cursor::new(text.clone())), ids, opts, found, progress)
            })
        }
    };
    notes.append(&mut r.lines);
    r.lines = notes;
    r.label = label;
    Ok(r)
}

/// `mmsim report TRACE -o FILE`: replays the trace as `replay` does and writes the HTML
/// report of the run; prints the replay's summary. Exit status 0 when the page was written.
pub fn report(files: &[PathBuf], opts: replay::Options, fopts: FileOptions, output: &Path) -> anyhow::Result<ExitCode> {
    let all = traces(files)?;
    anyhow::ensure!(all.len() == 1, "a report is of one trace (or one `strace -ff` set), not {}", all.len());
    let mut notes = Vec::new();
    let (label, input, opts, found) = prepare(&all[0], opts, &fopts, &mut notes)?;
    for (_, note) in &notes {
        eprint!("{note}");
    }
    let title = Path::new(&label).file_name().map_or(label.clone(), |n| n.to_string_lossy().into_owned());
    let (data, summary) = match input {
        Input::File(file) => {
            let open = || {
                std::fs::File::open(&file)
                    .map(|f| BufReader::with_capacity(1 << 20, f))
                    .map_err(|e| std::io::Error::new(e.kind(), format!("cannot open {}: {e}", file.display())))
            };
            let lines = report::trace::count_lines(open()?)?;
            let (data, rep) = report::report_trace(&title, open, lines, opts, found)?;
            (data, rep.summary())
        }
        Input::Merged(text) => {
            let text: std::sync::Arc<[u8]> = text.into();
            let lines = report::trace::count_lines(&text[..])?;
            let (data, rep) =
                report::report_trace(&title, || Ok(std::io::Cursor::new(text.clone())), lines, opts, found)?;
            (data, rep.summary())
        }
    };
    report::write(output, &data).with_context(|| format!("cannot write {}", output.display()))?;
    print!("{summary}");
    eprintln!(
        "mmsim: report of {label} written to {} ({} stops, {} faults)",
        output.display(),
        data.stops.len(),
        data.faults_total
    );
    Ok(ExitCode::SUCCESS)
}

/// The trace's name and input, the options completed by the bundle beside it, and where
/// the recording machine's files come from: the bundle, `--root`, this machine.
fn prepare(
    t: &TraceFiles,
    mut opts: replay::Options,
    fopts: &FileOptions,
    notes: &mut Vec<(Stream, String)>,
) -> anyhow::Result<(String, Input, replay::Options, std::sync::Arc<replay::Files>)> {
    let (label, input, ordered) = input(t, notes)?;
    opts.threads_unordered = !ordered;
    let mut found = match &fopts.root {
        Some(dir) => {
            anyhow::ensure!(dir.is_dir(), "--root {}: not a directory", dir.display());
            replay::Files::rooted(dir)
        }
        None => replay::Files::host(),
    };
    let bundle_file = replay::bundle_path(Path::new(&label));
    if bundle_file.exists() {
        let bundle =
            replay::Bundle::read(&bundle_file).with_context(|| format!("cannot read {}", bundle_file.display()))?;
        if opts.cwd.is_none() {
            opts.cwd = bundle.cwd().map(std::path::PathBuf::from);
        }
        found = found.with_bundle(bundle, fopts.no_bundle);
    }
    Ok((label, input, opts, std::sync::Arc::new(found)))
}

/// Runs `replay` (given the progress callback) and turns its report into the lines to print;
/// `started` is when reading the trace began.
fn run(
    file: &str,
    started: std::time::Instant,
    size: u64,
    keep_going: bool,
    bar: bool,
    replay: impl FnOnce(&mut dyn FnMut(u64)) -> replay::Report,
) -> Replayed {
    let bar = if bar {
        let b = indicatif::ProgressBar::new(size);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };
    let report = replay(&mut |lines| {
        if let Some(b) = &bar {
            b.set_message(format!("{lines} lines"));
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut out = Replayed::default();
    let mut say = |stream, text: String| out.lines.push((stream, text + "\n"));
    for e in &report.errors {
        if e.line > 0 {
            say(Stream::Err, format!("{file}:{e}"));
        } else {
            say(Stream::Err, format!("{file}: {e}"));
        }
    }
    for b in &report.bindings {
        say(Stream::Out, format!("{file}: {b}"));
    }
    for d in &report.differs {
        say(Stream::Out, format!("{file}: {d}"));
    }
    // Mismatches that follow from a differing file are its consequences: show a few.
    let shown = if report.differs.is_empty() { report.mismatches.len() } else { 3 };
    for m in report.mismatches.iter().take(shown) {
        say(Stream::Out, format!("{file}:{m}"));
    }
    if report.failed > shown as u64 {
        let rest = &report.mismatches[shown.min(report.mismatches.len())..];
        let following = rest.iter().filter(|m| m.cause.is_some()).count() as u64;
        let more = report.failed - shown as u64;
        let why = if following == more {
            ", all following from the differing files above".to_string()
        } else {
            format!(" ({following} of them follow from the differing files above, the others likely too)")
        };
        say(Stream::Out, format!("{file}: ... and {more} more mismatches{why}"));
    }
    let secs = started.elapsed().as_secs_f64();
    let runs = if report.runs > 1 { format!(", {} runs to learn the unknowns", report.runs) } else { String::new() };
    say(
        Stream::Err,
        format!("{} lines in {:.2} s ({:.0} lines/s{runs})", report.lines, secs, report.lines as f64 / secs.max(1e-9)),
    );
    out.lines.push((Stream::Out, report.summary()));
    out.ok = report.failed == 0 && report.differs.is_empty() && (keep_going || report.errors.is_empty());
    out
}
