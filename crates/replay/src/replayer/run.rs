//! Running a replay: the parser in its own thread feeding batches of events to a
//! [`Replayer`] (or the events of a log parsed beforehand, [`ParsedLog`]), and the runs over
//! the log repeated while each one binds unknowns the last did not know.

use super::*;
use crate::parsed::ParsedLog;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// Where the events of one run over the log come from.
enum RunInput<'a, R> {
    /// A reader of the log's text, parsed as the run goes.
    Stream(R),
    /// A log's text held in memory, parsed in place as the run goes (long strings are
    /// slices of the text, not copies), the events kept in `.1` once the run went over all
    /// of them, for the runs after it.
    TextKeeping(bytes::Bytes, &'a std::sync::OnceLock<KeptLog>),
    /// The events of a parser already running (started before the identities were
    /// collected, so that the two overlap), not kept: each batch goes back to the parser
    /// thread, which frees it while the replay goes on (a log is most often replayed in one
    /// run; a second run parses the text again, as [`RunInput::TextKeeping`]).
    Started(ParserThread),
    /// The events a [`RunInput::TextKeeping`] run kept.
    Kept(&'a KeptLog),
    /// The events of a log parsed once for every run.
    Parsed(&'a ParsedLog),
}

/// The events of a log a run parsed as it went, in the batches the parser handed over.
struct KeptLog(Vec<Vec<Result<Event, ParseError>>>);

/// Replays a log on a fresh model. `open` reads the log from its start; it is called again
/// for each further run over the log, as long as a run binds unknowns the earlier runs did
/// not know (see [`crate::unknowns`]); the last run's report is returned, with every
/// binding. `identities` are the file identities a first pass collected from the same log.
pub fn replay<R, F>(open: F, identities: Identities, opts: Options, progress: impl FnMut(u64)) -> Report
where
    R: BufRead + Send + 'static,
    F: FnMut() -> std::io::Result<R>,
{
    replay_with(open, identities, opts, std::sync::Arc::new(Files::host()), progress)
}

/// [`replay`] finding the recording machine's files through `files` (a bundle recorded
/// beside the trace, a root directory, this machine: see [`crate::files`]). The report
/// lists the files found different from the recording's, and notes where files came from.
pub fn replay_with<R, F>(
    open: F,
    identities: Identities,
    opts: Options,
    files: std::sync::Arc<Files>,
    progress: impl FnMut(u64),
) -> Report
where
    R: BufRead + Send + 'static,
    F: FnMut() -> std::io::Result<R>,
{
    replay_observed(open, identities, opts, files, progress, &mut NoObserver)
}

/// Watches a replay event by event (`mmsim report` draws the address space from it).
pub trait Observer {
    /// How many fault events the model keeps in its event log; 0 (the default) keeps none,
    /// which is what a replay that shows no faults wants.
    fn event_capacity(&self) -> usize {
        0
    }
    /// The model's RAM ([`crate::DEFAULT_RAM`] unless the observer says otherwise): a fuzzer
    /// asks for less, so that a log that populates everything runs out of memory sooner.
    fn ram_bytes(&self) -> u64 {
        super::DEFAULT_RAM
    }
    /// A run over the log begins: what the observer saw of an earlier run is void (that run
    /// learned something and the replay starts again).
    fn run_started(&mut self) {}
    /// Event `ev` is about to be replayed on `r`.
    fn before(&mut self, _ev: &Event, _r: &Replayer) {}
    /// Event `ev` was replayed on `r`.
    fn after(&mut self, ev: &Event, r: &Replayer);
}

/// The observer of a replay nobody watches.
struct NoObserver;

impl Observer for NoObserver {
    fn after(&mut self, _ev: &Event, _r: &Replayer) {}
}

/// [`replay_with`] showing every event to `observer`, before and after it is replayed.
pub fn replay_observed<R, F>(
    mut open: F,
    identities: Identities,
    opts: Options,
    files: std::sync::Arc<Files>,
    mut progress: impl FnMut(u64),
    observer: &mut dyn Observer,
) -> Report
where
    R: BufRead + Send + 'static,
    F: FnMut() -> std::io::Result<R>,
{
    replay_runs(|| open().map(RunInput::Stream), identities, opts, files, &mut progress, observer)
}

/// Replays a log held in memory as [`replay_with`] does, collecting the file identities
/// itself ([`Identities::collect`]): the first run parses the text in a thread of its own
/// (its first events here: see [`ParserThread::start`]), started before the identities are
/// collected so that the two overlap, and replays the events as they come, handing each
/// batch back to that thread to be freed there; a second run, if any, parses the text
/// again, keeping the events for the runs after it.
pub fn replay_text(
    text: impl AsRef<[u8]> + Send + 'static,
    opts: Options,
    files: std::sync::Arc<Files>,
    mut progress: impl FnMut(u64),
) -> Report {
    let text = bytes::Bytes::from_owner(text);
    let parsing = text.clone();
    let started = ParserThread::start(move || in_memory_parser(parsing), false, Some(files.clone()));
    let identities = Identities::collect(&text[..]);
    let kept = std::sync::OnceLock::new();
    let mut first = Some(started);
    let open = || {
        Ok(match (first.take(), kept.get()) {
            (_, Some(log)) => RunInput::Kept(log),
            (Some(p), None) => RunInput::Started(p),
            (None, None) => RunInput::TextKeeping(text.clone(), &kept),
        })
    };
    let report = replay_runs::<std::io::Empty>(open, identities, opts, files, &mut progress, &mut NoObserver);
    // Freeing the events is work for the thread that made them; the caller need not wait.
    if let Some(log) = kept.into_inner() {
        std::thread::spawn(move || drop(log));
    }
    report
}

/// [`replay_observed`] of a log parsed beforehand ([`ParsedLog::parse`]): every run goes
/// over the same events, and no run parses the text again. Its report is the one
/// [`replay_observed`] gives for the same text.
pub fn replay_parsed(
    log: &ParsedLog,
    identities: Identities,
    opts: Options,
    files: std::sync::Arc<Files>,
    progress: impl FnMut(u64),
) -> Report {
    replay_parsed_observed(log, identities, opts, files, progress, &mut NoObserver)
}

/// [`replay_parsed`] with an [`Observer`] (which also chooses the simulated RAM), as
/// [`replay_observed`] is for a streamed log.
pub fn replay_parsed_observed(
    log: &ParsedLog,
    identities: Identities,
    opts: Options,
    files: std::sync::Arc<Files>,
    mut progress: impl FnMut(u64),
    observer: &mut dyn Observer,
) -> Report {
    let input = || Ok(RunInput::<std::io::Empty>::Parsed(log));
    replay_runs(input, identities, opts, files, &mut progress, observer)
}

/// The runs over a log, each reading it from `open`, until one learns nothing new.
fn replay_runs<'a, R: BufRead + Send + 'static>(
    mut open: impl FnMut() -> std::io::Result<RunInput<'a, R>>,
    identities: Identities,
    opts: Options,
    files: std::sync::Arc<Files>,
    progress: &mut impl FnMut(u64),
    observer: &mut dyn Observer,
) -> Report {
    files.set_trace(&identities);
    let done = |mut report: Report| {
        report.differs = files.differs();
        // A file found to differ late in the last run: the mismatches that name it follow
        // from it too.
        let differing = files.differing();
        for m in report.mismatches.iter_mut().filter(|m| m.cause.is_none()) {
            let text = [&m.call, &m.expected, &m.got].into_iter().chain(&m.diff);
            let named = |t: &String| differing.iter().find(|p| t.contains(p.as_str())).cloned();
            m.cause = text.into_iter().find_map(named);
        }
        report.notes.extend(files.notes());
        report
    };
    let mut learned = Learned::default();
    let mut runs = 0;
    loop {
        runs += 1;
        let input = match open() {
            Ok(i) => i,
            Err(e) => {
                let mut report = Report::default();
                report.errors.push(ReplayError {
                    line: 0,
                    column: 1,
                    message: format!("cannot read the log again: {e}"),
                });
                return done(report);
            }
        };
        observer.run_started();
        let (mut report, now, stands) =
            replay_once(input, identities.clone(), opts.clone(), learned.clone(), files.clone(), progress, observer);
        // A run that bound nothing new replayed with everything it could know: it stands.
        // Each run binds at least one more value, and there are finitely many; the cap is
        // for logs that contradict themselves in ways that keep moving.
        if !now.binds_more_than(&learned) || stands || runs == MAX_RUNS {
            report.bindings = now.lines();
            report.runs = runs;
            return done(report);
        }
        if std::env::var_os("MMSIM_DEBUG_LEARN").is_some() {
            eprintln!("run {runs} learned:\n{now}");
        }
        learned = now;
    }
}

/// At most this many runs over a log.
pub(super) const MAX_RUNS: u32 = 12;

/// One run over the log with what earlier runs learned; returns its report and everything
/// known at its end.
fn replay_once<R: BufRead + Send + 'static>(
    input: RunInput<'_, R>,
    identities: Identities,
    opts: Options,
    learned: Learned,
    files: std::sync::Arc<Files>,
    progress: &mut impl FnMut(u64),
    observer: &mut dyn Observer,
) -> (Report, Learned, bool) {
    let before = learned.clone();
    let mut r =
        Replayer::with_files(identities, opts, learned, files.clone(), observer.event_capacity(), observer.ram_bytes());
    match input {
        RunInput::Stream(input) => {
            let parse = move || Parser::new(input).report_call_starts(true);
            stream(parse, false, files, &mut r, progress, observer);
        }
        RunInput::TextKeeping(text, kept) => {
            let parse = move || in_memory_parser(text);
            if let Some(log) = stream(parse, true, files, &mut r, progress, observer) {
                let _ = kept.set(log);
            }
        }
        RunInput::Started(parser) => {
            parser.replay(false, &mut r, progress, observer);
        }
        RunInput::Kept(log) => replay_batches(log.0.iter().map(Vec::as_slice), &mut r, progress, observer),
        RunInput::Parsed(log) => replay_batches(log.items().chunks(BATCH), &mut r, progress, observer),
    }
    let stands = stands_despite_ram(&r, &before);
    let (report, learned) = r.finish();
    (report, learned, stands)
}

/// Whether a run whose one new binding is the recording machine's RAM (shown late in the
/// log, by /proc/meminfo or sysinfo) stands as it is: nothing it did depended on the size
/// (see [`mm::size_use`]), so a run with the size known from the start would go the same.
fn stands_despite_ram(r: &Replayer, before: &Learned) -> bool {
    let Some(ram) = r.learned.settings.get(learn::MEM_TOTAL) else { return false };
    // A swap whose size nothing showed is made as large as the RAM.
    let swap_follows_ram =
        r.learned.settings.contains_key(learn::SWAP_SHOWN) && !r.learned.settings.contains_key(learn::SWAP_TOTAL);
    if before.settings.contains_key(learn::MEM_TOTAL) || swap_follows_ram {
        return false;
    }
    let mut rest = r.learned.clone();
    rest.settings.remove(learn::MEM_TOTAL);
    !rest.binds_more_than(before) && r.k.would_go_the_same_with_ram(ram.value)
}

/// The file to open ahead ([`Files::prefetch`]) for `call`: what a successful open, or any
/// execve (the replay looks for the program of a failed one too: a shell's search of its
/// PATH), names.
fn prefetched_path(call: &trace::Syscall) -> Option<&str> {
    let path = match call.name.as_ref() {
        "openat" => 1,
        "open" => 0,
        "execve" => 0,
        _ => return None,
    };
    if call.ret.value().is_none() && call.name != "execve" {
        return None;
    }
    call.arg_str(path).and_then(|p| std::str::from_utf8(p).ok())
}

/// Opens ahead the files at `paths`, emptying it.
fn prefetch_all(files: Option<&Files>, paths: &mut Vec<String>) {
    for path in paths.drain(..) {
        if let Some(files) = files {
            files.prefetch(&path);
        }
    }
}

/// Events per batch: what the parser thread hands over at once, and how often progress is
/// told.
const BATCH: usize = 256;

/// Events parsed before the parser thread starts (see [`ParserThread::start`]).
const FIRST_BATCH: usize = 16;

/// Events the parser sends at once, before its batch is full, to a replay waiting for them.
const HUNGRY_BATCH: usize = 16;

/// Replays one event (or reports a line that did not parse); returns whether the replay
/// stops there.
fn step(r: &mut Replayer, item: &Result<Event, ParseError>, observer: &mut dyn Observer) -> bool {
    match item {
        Ok(ev) => {
            r.report.lines = r.report.lines.max(ev.line);
            observer.before(ev, r);
            r.event(ev);
            observer.after(ev, r);
        }
        Err(e) => {
            r.report.lines = r.report.lines.max(e.line);
            r.error_at(e.line, e.column, e.message.clone());
        }
    }
    r.stop
}

/// The parser of a log held in memory that [`replay_text`] replays: calls whose arguments the
/// replay never reads come out without them ([`super::dispatch::args_unread`]).
fn in_memory_parser(text: bytes::Bytes) -> Parser<std::io::Empty> {
    Parser::from_bytes(text).report_call_starts(true).skip_args_of(super::dispatch::args_unread)
}

/// Replays the events of the parser `parse` makes, run in a thread of its own. With `keep`, returns the
/// events when the run went over all of them (a run that stopped early leaves the rest
/// unparsed); without, hands each batch back to the parser thread.
fn stream<P: Iterator<Item = Result<Event, ParseError>> + Send + 'static>(
    parse: impl FnOnce() -> P,
    keep: bool,
    files: std::sync::Arc<Files>,
    r: &mut Replayer,
    progress: &mut impl FnMut(u64),
    observer: &mut dyn Observer,
) -> Option<KeptLog> {
    ParserThread::start(parse, !keep, Some(files)).replay(keep, r, progress, observer)
}

/// A parser at work in a thread of its own, handing its events over in batches.
pub(super) struct ParserThread {
    /// The first events, parsed before the thread started.
    first: Vec<Result<Event, ParseError>>,
    batches: mpsc::Receiver<Vec<Result<Event, ParseError>>>,
    /// Set by the replay when it has run out of events and waits for the next batch: the
    /// parser then sends what it has at once rather than when its batch is full.
    hungry: std::sync::Arc<AtomicBool>,
    /// Batches the replay is done with, for the parser to fill again.
    back: mpsc::Sender<Vec<Result<Event, ParseError>>>,
    thread: std::thread::JoinHandle<bool>,
}

impl ParserThread {
    /// Starts the parser `parse` makes. `bounded`: it waits when a few batches are ahead of
    /// the replay (memory stays small when the events are not kept); otherwise it parses
    /// the whole log as fast as it can, however far ahead. With `files`, the thread also
    /// opens ahead the files the log shows opened ([`Files::prefetch`]).
    ///
    /// The first few events are parsed here, before the thread starts, so that the replay
    /// can begin at once: a new thread runs some time after its spawn (~90 us on the
    /// development machine, a 2-core VM) and parses its first lines slowly, its caches and
    /// heap cold; the replay of a 120-line `cat` log spent ~40% of its time waiting for them.
    fn start<P: Iterator<Item = Result<Event, ParseError>> + Send + 'static>(
        parse: impl FnOnce() -> P,
        bounded: bool,
        files: Option<std::sync::Arc<Files>>,
    ) -> ParserThread {
        let mut parser = parse();
        let mut first = Vec::with_capacity(FIRST_BATCH);
        let mut first_paths = Vec::new();
        for mut item in parser.by_ref().take(FIRST_BATCH) {
            if let Ok(Event { kind: trace::EventKind::Syscall(c), .. }) = &mut item {
                crate::compat::normalize(c);
                if files.is_some() {
                    first_paths.extend(prefetched_path(c).map(str::to_string));
                }
            }
            first.push(item);
        }
        // Batches go to the replayer and (unless kept) come back to the parser thread,
        // which drops their events there: freeing memory in the thread that allocated it is
        // the cheap case, and the replayer thread, the slower of the two, is spared the
        // work. A few small batches in flight keep the events still in cache when the
        // replayer reads them.
        let (tx, rx) = if bounded { Batches::bounded() } else { Batches::unbounded() };
        let (back_tx, back_rx) = mpsc::channel::<Vec<Result<Event, ParseError>>>();
        let hungry = std::sync::Arc::new(AtomicBool::new(false));
        let waiting = hungry.clone();
        let thread = std::thread::spawn(move || {
            // The first events' files first: the replay is about to open them (the
            // program's execve comes first, and takes a while).
            prefetch_all(files.as_deref(), &mut first_paths);
            let mut batch = Vec::with_capacity(BATCH);
            let send = |batch: &mut Vec<_>| {
                let mut next = back_rx.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
                next.clear();
                tx.send(std::mem::replace(batch, next))
            };
            for mut item in parser {
                if let Ok(Event { kind: trace::EventKind::Syscall(c), .. }) = &mut item {
                    crate::compat::normalize(c);
                    if let Some((files, path)) = files.as_deref().zip(prefetched_path(c)) {
                        // Opening ahead takes a few system calls: a replay that waits
                        // gets the events before this one first.
                        if !batch.is_empty() && waiting.swap(false, Relaxed) && !send(&mut batch) {
                            return false;
                        }
                        files.prefetch(path);
                    }
                }
                batch.push(item);
                let hungry = || batch.len() >= HUNGRY_BATCH && waiting.load(Relaxed) && waiting.swap(false, Relaxed);
                if (batch.len() == BATCH || hungry()) && !send(&mut batch) {
                    return false;
                }
            }
            let sent = tx.send(batch);
            // The batches the replay is done with come back until it ends (the events of
            // the rest of a log it stopped early in are freed here too): free them here.
            drop(tx);
            for returned in back_rx {
                drop(returned);
            }
            sent
        });
        ParserThread { first, batches: rx, hungry, back: back_tx, thread }
    }

    /// Replays the events as they come (see [`stream`]).
    fn replay(
        self,
        keep: bool,
        r: &mut Replayer,
        progress: &mut impl FnMut(u64),
        observer: &mut dyn Observer,
    ) -> Option<KeptLog> {
        let ParserThread { first, batches, hungry, back, thread } = self;
        let mut kept = Vec::new();
        let next = || match batches.try_recv() {
            Ok(batch) => Some(batch),
            Err(mpsc::TryRecvError::Disconnected) => None,
            Err(mpsc::TryRecvError::Empty) => {
                hungry.store(true, Relaxed);
                batches.recv().ok()
            }
        };
        let mut first = Some(first);
        while let Some(batch) = first.take().or_else(next) {
            if step_batch(r, &batch, observer) {
                // The parser thread ends at its next send.
                return None;
            }
            progress(r.report.lines);
            if keep {
                kept.push(batch);
            } else {
                let _ = back.send(batch);
            }
        }
        // The parser thread has sent everything: it ends once it has nothing more to free.
        drop(back);
        let finished = keep && thread.join().unwrap_or(false);
        finished.then_some(KeptLog(kept))
    }
}

/// The sending end of a parser thread's channel, bounded or not.
enum Batches {
    Bounded(mpsc::SyncSender<Vec<Result<Event, ParseError>>>),
    Unbounded(mpsc::Sender<Vec<Result<Event, ParseError>>>),
}

impl Batches {
    fn bounded() -> (Batches, mpsc::Receiver<Vec<Result<Event, ParseError>>>) {
        let (tx, rx) = mpsc::sync_channel(4);
        (Batches::Bounded(tx), rx)
    }

    fn unbounded() -> (Batches, mpsc::Receiver<Vec<Result<Event, ParseError>>>) {
        let (tx, rx) = mpsc::channel();
        (Batches::Unbounded(tx), rx)
    }

    /// Sends a batch; false when the replay has gone.
    fn send(&self, batch: Vec<Result<Event, ParseError>>) -> bool {
        match self {
            Batches::Bounded(tx) => tx.send(batch).is_ok(),
            Batches::Unbounded(tx) => tx.send(batch).is_ok(),
        }
    }
}

/// Replays batches of events parsed beforehand until the replay stops.
fn replay_batches<'b>(
    batches: impl Iterator<Item = &'b [Result<Event, ParseError>]>,
    r: &mut Replayer,
    progress: &mut impl FnMut(u64),
    observer: &mut dyn Observer,
) {
    for batch in batches {
        if step_batch(r, batch, observer) {
            return;
        }
        progress(r.report.lines);
    }
}

/// Replays one batch of events, reading a few ahead of the one being replayed (see
/// [`warm`]); returns whether the replay stops there.
fn step_batch(r: &mut Replayer, batch: &[Result<Event, ParseError>], observer: &mut dyn Observer) -> bool {
    for (i, item) in batch.iter().enumerate() {
        if let Some(Ok(ahead)) = batch.get(i + LOOK_AHEAD) {
            warm(ahead);
        }
        if step(r, item, observer) {
            return true;
        }
    }
    false
}

/// How many events ahead of the one being replayed [`warm`] reads.
pub(super) const LOOK_AHEAD: usize = 4;

/// Reads a few words spread over an event the replayer will soon handle. The parser thread
/// wrote it, so it sits in another core's cache; loading it early, while other work goes on,
/// lets those transfers overlap instead of stalling the replayer one cache line at a time
/// (they were a third of its time).
pub(super) fn warm(ev: &Event) {
    if let EventKind::Syscall(call) = &ev.kind {
        let args = call.args.len() + call.args.last().map_or(0, |a| usize::from(a.is_null()));
        let ret = usize::from(matches!(call.ret, Ret::Value(_)));
        std::hint::black_box(args + ret + call.name.len());
    }
}
