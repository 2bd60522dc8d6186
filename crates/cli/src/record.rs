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

/// The trace `files` name: one file; or, for `strace -ff -o PREFIX`, the prefix (when no
/// file has that name) or the `PREFIX.PID` files themselves.
fn input(files: &[PathBuf]) -> anyhow::Result<(String, Input)> {
    let per_pid: Vec<(u32, PathBuf)> = match files {
        [one] if one.exists() => return Ok((one.display().to_string(), Input::File(one.clone()))),
        [prefix] => {
            let found = trace::per_pid_files(prefix).unwrap_or_default();
            if found.is_empty() {
                anyhow::bail!("cannot open {}: no such file, nor {0}.PID files of `strace -ff`", prefix.display());
            }
            found
        }
        many => many
            .iter()
            .map(|f| {
                trace::pid_suffix(f)
                    .map(|pid| (pid, f.clone()))
                    .with_context(|| format!("{}: several files are `strace -ff` files, named PREFIX.PID", f.display()))
            })
            .collect::<anyhow::Result<_>>()?,
    };
    let mut logs = Vec::new();
    for (pid, path) in &per_pid {
        logs.push((*pid, std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?));
    }
    let label = per_pid[0].1.with_extension("").display().to_string();
    eprintln!(
        "mmsim: merged {} per-process files of `strace -ff` ({label}.*); line numbers below are those of the merged log",
        per_pid.len()
    );
    Ok((label, Input::Merged(trace::merge_per_pid(&logs))))
}

/// Replays the trace just recorded on this machine's files, keeping what it asks of them,
/// and writes the bundle.
fn keep_files(trace: &Path, bundle: &Path, whole: bool) -> anyhow::Result<(usize, usize)> {
    let open = || std::fs::File::open(trace).with_context(|| format!("cannot open {}", trace.display()));
    let ids = replay::Identities::collect(BufReader::new(open()?));
    let cwd = std::env::current_dir().context("no current directory")?;
    let files = std::sync::Arc::new(replay::Files::recorder(whole));
    // Strict: it reads whatever the other modes read, and the memory contents too.
    let opts = replay::Options { mode: replay::Mode::Strict, keep_going: true, cwd: Some(cwd.clone()) };
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

/// Replays a trace and prints every mismatch, then the summary; exit status 0 only when
/// nothing failed. The bundle beside the trace (`TRACE.files`), when there is one, answers
/// what the replay asks of the recording machine's files; then `--root`, then this machine.
pub fn replay(files: &[PathBuf], mut opts: replay::Options, fopts: FileOptions) -> anyhow::Result<ExitCode> {
    let (label, input) = input(files)?;
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
    let found = std::sync::Arc::new(found);
    match input {
        Input::File(file) => {
            let open = || std::fs::File::open(&file).with_context(|| format!("cannot open {}", file.display()));
            let ids = replay::Identities::collect(BufReader::new(open()?));
            let size = open()?.metadata().map(|m| m.len()).unwrap_or(0);
            let reopen = || open().map(|f| BufReader::with_capacity(1 << 20, f)).map_err(std::io::Error::other);
            run(&label, reopen, ids, size, opts, found)
        }
        Input::Merged(text) => {
            let ids = replay::Identities::collect(&text[..]);
            let size = text.len() as u64;
            let text: std::sync::Arc<[u8]> = text.into();
            run(&label, || Ok(std::io::Cursor::new(text.clone())), ids, size, opts, found)
        }
    }
}

fn run<R: std::io::BufRead + Send + 'static>(
    file: &str,
    reopen: impl FnMut() -> std::io::Result<R>,
    ids: replay::Identities,
    size: u64,
    opts: replay::Options,
    found: std::sync::Arc<replay::Files>,
) -> anyhow::Result<ExitCode> {
    let keep_going = opts.keep_going;
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(size);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };
    let started = std::time::Instant::now();
    let report = replay::replay_with(reopen, ids, opts, found, |lines| {
        if let Some(b) = &bar {
            b.set_message(format!("{lines} lines"));
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    for e in &report.errors {
        if e.line > 0 {
            eprintln!("{file}:{e}");
        } else {
            eprintln!("{file}: {e}");
        }
    }
    for b in &report.bindings {
        println!("{file}: {b}");
    }
    for d in &report.differs {
        println!("{file}: {d}");
    }
    // Mismatches that follow from a differing file are its consequences: show a few.
    let shown = if report.differs.is_empty() { report.mismatches.len() } else { 3 };
    for m in report.mismatches.iter().take(shown) {
        println!("{file}:{m}");
    }
    if report.failed > shown as u64 {
        println!(
            "{file}: ... and {} more mismatches, likely consequences of the differing files above",
            report.failed - shown as u64
        );
    }
    let secs = started.elapsed().as_secs_f64();
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let runs = if report.runs > 1 { format!(", {} runs to learn the unknowns", report.runs) } else { String::new() };
    eprintln!("{} lines in {:.2} s ({:.0} lines/s{runs})", report.lines, secs, report.lines as f64 / secs.max(1e-9));
    print!("{}", report.summary());
    let _ = std::io::stdout().flush();
    let ok = report.failed == 0 && report.differs.is_empty() && (keep_going || report.errors.is_empty());
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
