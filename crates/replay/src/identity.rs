//! File identity from the trace itself: a first pass over the log collects the device and
//! inode that stat-family calls reported for each path (and, through the descriptors the
//! trace opened, for each file behind an fd), wherever in the log they appear — also after
//! the file was mapped. The replay names files with these, and asks the host only for files
//! the trace never stat'ed.

use crate::cwd::{CwdLearner, StartCwd};
use crate::identity_direct::{Direct, Target};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::io::BufRead;
use trace::{Arg, EventKind, Parser, Syscall};

/// A file's identity as `ls -i` and maps show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Device major.
    pub major: u32,
    /// Device minor.
    pub minor: u32,
    /// Inode number.
    pub ino: u64,
}

/// What a stat-family call in the trace showed of a file besides its identity: for telling
/// whether the replaying machine's file is the one the program saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatFacts {
    /// The identity.
    pub id: Identity,
    /// `st_size`.
    pub size: Option<u64>,
    /// `st_mtime` (seconds).
    pub mtime: Option<i64>,
    /// The line of the call.
    pub line: u64,
}

/// Path → identity, as the trace reported it.
#[derive(Clone, Debug, Default)]
pub struct Identities {
    by_path: HashMap<String, Identity>,
    /// The directory the program started in, when the trace shows it.
    start_cwd: Option<StartCwd>,
    /// The first stat result of each path, with size and mtime.
    stats: HashMap<String, StatFacts>,
    /// Paths the trace opened for writing, created or truncated: their
    /// contents on the replaying machine need not be what the program first saw.
    written: HashSet<String>,
    /// Which calls that make or move mappings the log shows at all.
    shown: crate::ShownCalls,
}

impl Identities {
    /// The identity the trace showed for `path`.
    pub fn get(&self, path: &str) -> Option<Identity> {
        self.by_path.get(path).copied()
    }

    /// What the trace's first stat of `path` showed (size, mtime, identity, line).
    pub fn stat(&self, path: &str) -> Option<StatFacts> {
        self.stats.get(path).copied()
    }

    /// Which calls that make or move mappings the log shows at least once (see
    /// [`crate::ShownCalls`]).
    pub fn shown_calls(&self) -> crate::ShownCalls {
        self.shown
    }

    /// Whether the trace opened `path` for writing (or created or truncated it).
    pub fn written(&self, path: &str) -> bool {
        self.written.contains(path)
    }

    /// Records `id` for `path`, and the first stat facts of it.
    fn insert(&mut self, path: String, id: Identity, call: &Syscall, buf: usize, line: u64) {
        let (size, mtime) = stat_size_mtime(call, buf);
        self.insert_facts(path, StatFacts { id, size, mtime, line });
    }

    /// Records `facts.id` for `path`, and `facts` if they are the first of it.
    fn insert_facts(&mut self, path: String, facts: StatFacts) {
        if !self.stats.contains_key(&path) {
            self.stats.insert(path.clone(), facts);
        }
        self.by_path.insert(path, facts.id);
    }

    /// Adds an identity learned elsewhere (a `/proc` read) for a path no stat showed.
    pub(crate) fn learn(&mut self, path: &str, id: Identity) {
        self.by_path.entry(path.to_string()).or_insert(id);
    }

    /// The directory the traced program started in, and what showed it, when the trace
    /// does (collected in the same pass; see [`StartCwd`]).
    pub fn start_cwd(&self) -> Option<&StartCwd> {
        self.start_cwd.as_ref()
    }

    /// How many paths have one.
    pub fn len(&self) -> usize {
        self.by_path.len()
    }

    /// Whether none was found.
    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }

    /// Reads a whole log and collects identities. Lines that do not parse are skipped here;
    /// the replay itself reports them.
    pub fn collect<R: BufRead>(input: R) -> Identities {
        let kept = wanted_lines(input);
        let events = Parser::new(&kept.text[..]).flatten().map(|mut event| {
            if let EventKind::Syscall(c) = &mut event.kind {
                crate::compat::normalize(c);
            }
            event.line = kept.line_in_log(event.line);
            event
        });
        let mut from = FromEvents::default();
        // The lines read in place and the parsed events, in the order of their lines: the
        // order a pass parsing every line would see them in (an event comes out at its
        // last line, the one that completes it).
        let mut direct = kept.direct.iter().peekable();
        for event in events {
            while let Some((line, d)) = direct.next_if(|(line, _)| *line < event.line) {
                from.observe_direct(d, *line);
            }
            from.observe(&event);
        }
        for (line, d) in direct {
            from.observe_direct(d, *line);
        }
        from.ids.shown = kept.shown;
        from.finish()
    }

    /// [`Identities::collect`] from the events of a log parsed beforehand: no second parse.
    /// The calls looked at are those whose lines [`Identities::collect`] parses (by name:
    /// [`wanted_name`]), so that both find the same.
    pub fn of_parsed(log: &crate::ParsedLog) -> Identities {
        // The streamed pass never sees the calls that name an unprefixed log's first
        // process, so it knows that process's lines by no pid: so here.
        let mut from = FromEvents { unnamed_root: log.unprefixed_root(), ..FromEvents::default() };
        for event in log.events() {
            if let EventKind::Syscall(call) = &event.kind {
                from.ids.shown.saw(call.name.as_bytes());
                if wanted_name(call.name.as_bytes()) {
                    from.observe(event);
                }
            }
        }
        from.finish()
    }
}

/// Identities collected event by event.
#[derive(Default)]
struct FromEvents {
    ids: Identities,
    /// Per pid, descriptor → path, to attribute fstat results.
    fds: HashMap<(u32, u64), String>,
    cwd: CwdLearner,
    /// The pid of the first process of a log whose lines do not name it, read as none.
    unnamed_root: Option<u32>,
}

impl FromEvents {
    fn finish(mut self) -> Identities {
        self.ids.start_cwd = self.cwd.result();
        self.ids
    }

    /// What a line read in place ([`crate::identity_direct`]) showed, as [`FromEvents::observe`]
    /// takes it from the line's event.
    fn observe_direct(&mut self, d: &Direct, line: u64) {
        match d {
            Direct::Opened { pid, fd, path, written } => {
                if *written {
                    self.ids.written.insert(path.clone());
                }
                self.fds.insert((*pid, *fd), path.clone());
            }
            Direct::Stat { pid, target, id, size, mtime } => {
                let path = match target {
                    Target::Path(p) => p.clone(),
                    Target::Fd(fd) => match self.fds.get(&(*pid, *fd)) {
                        Some(p) => p.clone(),
                        None => return,
                    },
                };
                self.ids.insert_facts(path, StatFacts { id: *id, size: *size, mtime: *mtime, line });
            }
            Direct::Nothing => {}
        }
    }

    fn observe(&mut self, event: &trace::Event) {
        let FromEvents { ids, fds, cwd, unnamed_root } = self;
        let pid = event.pid.filter(|p| Some(*p) != *unnamed_root);
        cwd.observe(event, pid);
        let EventKind::Syscall(call) = &event.kind else { return };
        if call.injected {
            return;
        }
        let pid = pid.unwrap_or(0);
        match call.name.as_ref() {
            "openat" | "open" | "creat" => {
                let path_arg = if call.name == "openat" { 1 } else { 0 };
                if let (Some(path), Some(fd)) = (call.arg_str(path_arg), call.ret.value()) {
                    let path = String::from_utf8_lossy(path).into_owned();
                    let flags = if call.name == "creat" { 1 } else { call.arg_flags(path_arg + 1).unwrap_or(0) };
                    if flags & (abi::O_ACCMODE | abi::O_CREAT | abi::O_TRUNC) != 0 {
                        ids.written.insert(path.clone());
                    }
                    fds.insert((pid, fd), path);
                }
            }
            "fstat" => {
                if let (Some(fd), Some(id)) = (call.arg_u64(0), stat_identity(call, 1)) {
                    if let Some(p) = fds.get(&(pid, fd)) {
                        ids.insert(p.clone(), id, call, 1, event.line);
                    }
                }
            }
            "stat" | "lstat" => {
                if let (Some(path), Some(id)) = (call.arg_str(0), stat_identity(call, 1)) {
                    ids.insert(String::from_utf8_lossy(path).into_owned(), id, call, 1, event.line);
                }
            }
            "newfstatat" | "fstatat64" | "statx" => {
                // statx(dirfd, path, flags, mask, statxbuf); the others (dirfd, path, statbuf, flags).
                let buf = if call.name == "statx" { 4 } else { 2 };
                let Some(id) = stat_identity(call, buf) else { return };
                let path = call.arg_str(1).map(|p| String::from_utf8_lossy(p).into_owned()).unwrap_or_default();
                if path.is_empty() {
                    if let Some(fd) = call.arg_u64(0) {
                        if let Some(p) = fds.get(&(pid, fd)) {
                            ids.insert(p.clone(), id, call, buf, event.line);
                        }
                    }
                } else {
                    ids.insert(path, id, call, buf, event.line);
                }
            }
            _ => {}
        }
    }
}

/// The lines of `input` that may open or stat a file, or resume a call that may, or show the
/// starting directory: opens and stats are all that matter to identities, and skipping every
/// other line before parsing it keeps this pass cheap. Only the call name at the start of each
/// line is looked at ([`wanted_line`]), never the arguments: a read of a binary file is
/// megabytes of escaped text in which any spelling turns up.
fn wanted_lines<R: BufRead>(mut input: R) -> Kept {
    const BLOCK: usize = 1 << 20;
    let resumed = memchr::memmem::Finder::new(b" resumed>");
    let mut text = Kept::default();
    // The start of a line the reader's buffer cut; every whole line is searched in place.
    let mut carry: Vec<u8> = Vec::new();
    // The bytes of a line too long for the parser read so far (which skips it, and gives up
    // on the input after twice its limit): the same lines are left out here.
    let limit = trace::DEFAULT_MAX_LINE_LEN;
    let mut overlong: Option<usize> = None;
    loop {
        let buf = match input.fill_buf() {
            Ok([]) | Err(_) => break,
            Ok(buf) => buf,
        };
        let chunk = &buf[..buf.len().min(BLOCK)];
        if let Some(skipped) = &mut overlong {
            let end = memchr::memchr(b'\n', chunk);
            *skipped = skipped.saturating_add(end.unwrap_or(chunk.len()));
            if *skipped > limit.saturating_mul(2) {
                break;
            }
            let used = end.map_or(chunk.len(), |i| i + 1);
            if end.is_some() {
                overlong = None;
                text.seen += 1;
            }
            input.consume(used);
            continue;
        }
        if carry.len() > limit {
            overlong = Some(carry.len());
            carry = Vec::new();
            continue;
        }
        let used = if !carry.is_empty() {
            // Finish the cut line first.
            let end = memchr::memchr(b'\n', chunk).map_or(chunk.len(), |i| i + 1);
            carry.extend_from_slice(&chunk[..end]);
            if carry.ends_with(b"\n") {
                copy_wanted(&resumed, &carry, &mut text);
                carry.clear();
            }
            end
        } else {
            match memchr::memrchr(b'\n', chunk) {
                Some(i) => {
                    copy_wanted(&resumed, &chunk[..=i], &mut text);
                    i + 1
                }
                None => {
                    carry.extend_from_slice(chunk);
                    chunk.len()
                }
            }
        };
        input.consume(used);
    }
    if !carry.is_empty() {
        copy_wanted(&resumed, &carry, &mut text);
    }
    text
}

/// The lines [`wanted_lines`] kept, and where each was in the log.
#[derive(Default)]
struct Kept {
    text: Vec<u8>,
    /// The log's line number of each line of `text`.
    lines: Vec<u64>,
    /// How many lines of the log were looked at.
    seen: u64,
    /// What the lines read in place showed, by the log's line number (ascending).
    direct: Vec<(u64, Direct)>,
    /// No more lines are read in place (the log has a line without a pid).
    in_place_off: bool,
    /// The calls that make or move mappings that the lines show.
    shown: crate::ShownCalls,
}

impl Kept {
    /// Gives the lines read in place so far back to the parser, each where it was in the
    /// log (as a line that parses to the same call), and reads none in place from now on.
    fn give_back(&mut self) {
        self.in_place_off = true;
        if self.direct.is_empty() {
            return;
        }
        let text = std::mem::take(&mut self.text);
        let lines = std::mem::take(&mut self.lines);
        let mut direct = std::mem::take(&mut self.direct).into_iter().peekable();
        let mut at = 0;
        for line in lines {
            while let Some((l, d)) = direct.next_if(|(l, _)| *l < line) {
                self.push_given_back(l, &d);
            }
            let end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |i| at + i + 1);
            self.text.extend_from_slice(&text[at..end]);
            self.lines.push(line);
            at = end;
        }
        for (l, d) in direct {
            self.push_given_back(l, &d);
        }
    }

    fn push_given_back(&mut self, line: u64, d: &Direct) {
        if let Some(text) = d.to_line() {
            self.text.extend_from_slice(text.as_bytes());
            self.lines.push(line);
        }
    }

    /// The log's line number of line `line` (counted from 1) of the kept text.
    fn line_in_log(&self, line: u64) -> u64 {
        usize::try_from(line).ok().and_then(|l| self.lines.get(l.checked_sub(1)?)).copied().unwrap_or(line)
    }
}

/// Appends to `kept` the lines of `block` (whole lines) that [`wanted_line`] wants.
fn copy_wanted(resumed: &memchr::memmem::Finder<'_>, block: &[u8], kept: &mut Kept) {
    let mut start = 0;
    while start < block.len() {
        let end = memchr::memchr(b'\n', &block[start..]).map_or(block.len(), |i| start + i + 1);
        let line = &block[start..end];
        kept.seen += 1;
        if let Some(wanted) = wanted_line(resumed, line, &mut kept.shown) {
            if !kept.in_place_off {
                if !pid_prefixed(line) {
                    // A log whose lines may lack a pid: the parser follows which process
                    // such a line is, from every line it reads, so it reads them all.
                    kept.give_back();
                } else if !wanted.resumed {
                    if let Some(d) = crate::identity_direct::read(line, wanted.name, wanted.open) {
                        kept.direct.push((kept.seen, d));
                        start = end;
                        continue;
                    }
                }
            }
            kept.lines.push(kept.seen);
            let text = &mut kept.text;
            // Stat results and execve lines are cut to what this pass reads before they are parsed.
            let cut = match (wanted.resumed, wanted.name) {
                (false, b"newfstatat" | b"fstatat64") => crate::identity_cut::push_stat(line, wanted.open, 2, text),
                (false, b"fstat" | b"stat" | b"lstat" | b"fstat64" | b"stat64" | b"lstat64") => {
                    crate::identity_cut::push_stat(line, wanted.open, 1, text)
                }
                (false, b"execve") => crate::identity_cut::push_execve(line, wanted.open, text),
                _ => false,
            };
            if !cut {
                text.extend_from_slice(line);
            }
            if !text.ends_with(b"\n") {
                text.push(b'\n');
            }
        }
        start = end;
    }
}

/// Whether a line names its process: `PID ` or `[pid PID] ` first.
fn pid_prefixed(line: &[u8]) -> bool {
    let digits = line.iter().take_while(|b| b.is_ascii_digit()).count();
    (digits > 0 && line.get(digits) == Some(&b' ')) || line.starts_with(b"[pid ")
}

/// How far into a line its call name can start: after a pid, time stamps, `-i`/`-n`
/// brackets and a `--decode-pids=comm` name, all short.
const NAME_WITHIN: usize = 256;

/// Whether a whole call line failed (`= -1 ENOENT (No such file or directory)`, perhaps with
/// a `-T` duration after) or had its result made up by strace (`(INJECTED)`): nothing it
/// shows is an identity or a directory (programs that search a path fail many opens and
/// stats).
fn failed(line: &[u8]) -> bool {
    let line = line.trim_ascii_end();
    if line.ends_with(b"<unfinished ...>") {
        return false;
    }
    let tail = &line[line.len().saturating_sub(TAIL)..];
    // The last `) = ` is the result's: a path that holds one comes before it.
    let mut end = tail.len();
    while let Some(i) = memchr::memrchr(b')', &tail[..end]) {
        if tail[i..].starts_with(b") = ") {
            let result = &tail[i + 4..];
            return result.starts_with(b"-1 E") || memchr::memmem::find(result, b" (INJECTED)").is_some();
        }
        end = i;
    }
    false
}

/// How far from its end a line's result is: an errno name and its message, a duration.
const TAIL: usize = 160;

/// Whether a line is a call (or the resumption of one) that may open or stat a file
/// (`open`, and names ending in `at`, `stat` or `statx`: `openat`, `newfstatat`,
/// `fstat`, `lstat`, ...) or show the starting directory (`getcwd`, `readlink`, `chdir`,
/// `fchdir`, `execve`; see [`CwdLearner`]); judged by the name alone.
fn wanted_line<'l>(
    resumed: &memchr::memmem::Finder<'_>,
    line: &'l [u8],
    shown: &mut crate::ShownCalls,
) -> Option<Wanted<'l>> {
    let head = &line[..line.len().min(NAME_WITHIN)];
    let paren = memchr::memchr(b'(', head);
    // `<... NAME resumed>`, before any parenthesis of the line.
    let wanted = match resumed.find(&head[..paren.unwrap_or(head.len())]) {
        Some(r) => {
            let open = memchr::memmem::rfind(&head[..r], b"<... ")?;
            Wanted { name: &head[open + 5..r], resumed: true, open: r }
        }
        _ => {
            let p = paren?;
            let start = head[..p].iter().rposition(|&b| !(b.is_ascii_alphanumeric() || b == b'_')).map_or(0, |i| i + 1);
            // A failed call shows its name too (a filter would have hidden it).
            shown.saw(&head[start..p]);
            if failed(line) {
                return None;
            }
            Wanted { name: &head[start..p], resumed: false, open: p }
        }
    };
    wanted_name(wanted.name).then_some(wanted)
}

/// A line [`wanted_line`] wants: its call's name, whether it resumes the call, and where
/// the call's argument list opens (for a line that does not resume one).
struct Wanted<'l> {
    name: &'l [u8],
    resumed: bool,
    open: usize,
}

/// Whether a call of this name may open or stat a file or show the starting directory (see
/// [`wanted_line`]).
fn wanted_name(name: &[u8]) -> bool {
    name.ends_with(b"at")
        || name.ends_with(b"stat")
        || name.ends_with(b"statx")
        // The stat calls of 32-bit processes (`fstat64`, `lstat64`, `fstatat64`).
        || name.ends_with(b"stat64")
        || name.ends_with(b"at64")
        || name == b"open"
        || [&b"getcwd"[..], b"readlink", b"chdir", b"execve"].iter().any(|n| name.ends_with(n))
}

/// The identity in a `stat` or `statx` result structure at argument `index`, if the call
/// succeeded.
/// The size and modification time (seconds) a stat-family result shows.
fn stat_size_mtime(call: &Syscall, index: usize) -> (Option<u64>, Option<i64>) {
    let Some(st) = call.arg(index) else { return (None, None) };
    if let Some(size) = st.field("st_size") {
        return (size.as_u64(), st.field("st_mtime").and_then(Arg::as_i64));
    }
    let size = st.field("stx_size").and_then(Arg::as_u64);
    let mtime = st.field("stx_mtime").and_then(|t| t.field("tv_sec")).and_then(Arg::as_i64);
    (size, mtime)
}

fn stat_identity(call: &Syscall, index: usize) -> Option<Identity> {
    call.ret.value()?;
    let st = call.arg(index)?;
    if ["st_mode", "stx_mode"].iter().any(|m| st.field(m).is_some_and(mode_is_symlink)) {
        return None;
    }
    if let (Some(ino), Some(dev)) = (st.field("st_ino").and_then(Arg::as_u64), st.field("st_dev")) {
        let (major, minor) = match dev.as_call() {
            Some(("makedev", args)) if args.len() == 2 => (args[0].as_u64()? as u32, args[1].as_u64()? as u32),
            _ => loader::host::dev_major_minor(dev.as_u64()?),
        };
        return Some(Identity { major, minor, ino });
    }
    // statx: stx_ino, stx_dev_major, stx_dev_minor.
    let ino = st.field("stx_ino")?.as_u64()?;
    let major = st.field("stx_dev_major")?.as_u64()? as u32;
    let minor = st.field("stx_dev_minor")?.as_u64()? as u32;
    Some(Identity { major, minor, ino })
}

/// Whether a stat's mode shows a symbolic link. An lstat, or a `newfstatat` with
/// `AT_SYMLINK_NOFOLLOW` (a shell's search of PATH), of a link describes the link itself:
/// its inode is not that of the file an exec or open of the same path reaches.
fn mode_is_symlink(mode: &Arg) -> bool {
    mode.flag_parts().any(|p| match p {
        trace::FlagPart::Name(n) => n == "S_IFLNK",
        trace::FlagPart::Number(n) => symlink_mode_bits(n),
    })
}

/// Whether the file-type bits of a numeric mode (`-X raw`: `0120777`) are a symbolic link's.
pub(crate) fn symlink_mode_bits(mode: u64) -> bool {
    mode & 0o170000 == 0o120000
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    const LOG: &str = "\
100 openat(AT_FDCWD, \"/lib/libc.so.6\", O_RDONLY|O_CLOEXEC) = 3
100 fstat(3, {st_dev=makedev(0xfe, 0x1), st_ino=1835398, st_mode=S_IFREG|0755, st_size=2072888}) = 0
100 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffd000
100 newfstatat(AT_FDCWD, \"/etc/ld.so.cache\", {st_dev=makedev(0xfe, 0x2), st_ino=77, st_mode=S_IFREG|0644, st_size=5}, 0) = 0
100 statx(AT_FDCWD, \"/tmp/x\", AT_STATX_SYNC_AS_STAT, STATX_ALL, <unfinished ...>
101 munmap(0x7ffff7ffd000, 8192) = 0
100 <... statx resumed>{stx_mask=STATX_ALL, stx_ino=99, stx_dev_major=254, stx_dev_minor=3}) = 0";

    #[test]
    fn lines_are_wanted_by_their_call_name_only() {
        let finder = memchr::memmem::Finder::new(b" resumed>");
        let wanted = |line: &str| wanted_line(&finder, line.as_bytes(), &mut crate::ShownCalls::default()).is_some();
        assert!(wanted("100 openat(AT_FDCWD, \"/x\", O_RDONLY) = 3"));
        assert!(wanted("[pid 7] 12:00:00.000001 newfstatat(3, \"\", {st_ino=1}, AT_EMPTY_PATH) = 0"));
        assert!(wanted("100 <... statx resumed>{stx_ino=99}) = 0"));
        assert!(wanted("fstat(3, {st_ino=1}) = 0"));
        assert!(wanted("100 execve(\"/bin/true\", [\"true\"], []) = 0"));
        assert!(!wanted("100 read(3, \"openat(AT_FDCWD, <... stat resumed>\", 40) = 40"));
        assert!(!wanted("100 <... read resumed>\"stat(x)\", 7) = 7"));
        assert!(!wanted("100 +++ exited with 0 +++"));
        assert!(!wanted("100 openat(AT_FDCWD, \"/x\", O_RDONLY) = -1 ENOENT (No such file or directory)"));
        assert!(!wanted(
            "100 newfstatat(AT_FDCWD, \"/x\", 0x7ffc, 0) = -1 ENOENT (No such file or directory) <0.000011>"
        ));
        assert!(wanted("100 openat(AT_FDCWD, \"/x\", O_RDONLY <unfinished ...>"));
        assert!(wanted("100 openat(AT_FDCWD, \"/a) = -1 Eb\", O_RDONLY) = 3"));
    }

    /// Everything a pass found, in a fixed order.
    fn found(ids: &Identities) -> String {
        let mut by_path: Vec<_> = ids.by_path.iter().collect();
        by_path.sort_by(|a, b| a.0.cmp(b.0));
        let mut stats: Vec<_> = ids.stats.iter().collect();
        stats.sort_by(|a, b| a.0.cmp(b.0));
        let mut written: Vec<_> = ids.written.iter().collect();
        written.sort();
        format!("{by_path:?}\n{stats:?}\n{written:?}\n{:?}", ids.start_cwd)
    }

    #[test]
    fn cutting_stat_results_finds_what_parsing_them_whole_finds() {
        // The text pass cuts stat structures and execve lines ([`crate::identity_cut`]); the pass
        // over parsed events sees them whole.
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
        let mut texts: Vec<Vec<u8>> =
            std::fs::read_dir(&corpus).unwrap().map(|e| std::fs::read(e.unwrap().path()).unwrap()).collect();
        texts.push(LOG.as_bytes().to_vec());
        texts.push(
            b"7 execve(\"/bin/x\", [\"x\", \"PWD=/v\"], [\"A=1\", \"PWD=/w\"]) = 0\n\
              7 newfstatat(AT_FDCWD, \"/a\", {st_dev=makedev(0x8, 0x1), st_ino=5, st_mode=S_IFREG|0644, \
              st_nlink=1, st_size=10, st_atime=1 /* x, y */, st_mtime=1700000000 /* 2023-11-14T22:13:20+0000 */, \
              st_mtime_nsec=5}, 0) = 0\n7 stat(\"/b\", {st_dev=0x801, st_ino=6, st_size=3, ...}) = 0\n\
              7 lstat(\"/c\", {st_mode=S_IFLNK|0777, st_size=3, ...}) = 0\n"
                .to_vec(),
        );
        // Lines read in place, then a line without a pid: the parser is given them back.
        texts.push(
            b"7 openat(AT_FDCWD, \"/a\", O_RDONLY) = 3\n\
              7 fstat(3, {st_dev=makedev(0x8, 0x1), st_ino=5, st_size=10, st_mtime=1}) = 0\n\
              8 newfstatat(AT_FDCWD, \"/b\", {st_dev=makedev(0x8, 0x1), st_ino=6}, 0) = 0\n\
              8 openat(AT_FDCWD, \"/c\", O_RDWR <unfinished ...>\n\
              7 stat(\"/b\", {st_dev=makedev(0x8, 0x2), st_ino=9, st_size=1, ...}) = 0\n\
              8 <... openat resumed>) = 4\n\
              openat(AT_FDCWD, \"/d\", O_RDONLY) = 5\n\
              fstat(5, {st_dev=makedev(0x8, 0x1), st_ino=7}) = 0\n\
              7 fstat(4, {st_dev=makedev(0x8, 0x1), st_ino=8}) = 0\n"
                .to_vec(),
        );
        let (mut with_stats, mut with_pwd) = (0, 0);
        for text in texts {
            let whole = Identities::of_parsed(&crate::ParsedLog::parse(text.clone()));
            let cut = Identities::collect(&text[..]);
            with_stats += usize::from(!whole.stats.is_empty());
            with_pwd += usize::from(whole.start_cwd.as_ref().is_some_and(|c| c.path == "/w"));
            assert_eq!(found(&cut), found(&whole), "{}", String::from_utf8_lossy(&text[..text.len().min(300)]));
        }
        assert!(with_stats >= 5, "{with_stats}");
        assert_eq!(with_pwd, 1);
    }

    fn all(ids: &Identities) -> Vec<(String, Identity)> {
        let mut v: Vec<_> = ids.by_path.iter().map(|(p, i)| (p.clone(), *i)).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    #[test]
    fn a_symbolic_link_stat_ed_itself_gives_its_target_no_identity() {
        // A shell's search of PATH stats each candidate without following links; the
        // exec of that path then maps the file behind the link, whose inode is another.
        let log = "\
7 newfstatat(AT_FDCWD, \"/usr/bin/php\", {st_dev=makedev(0xfe, 0), st_ino=5, st_mode=S_IFLNK|0777, st_nlink=1, \
st_size=21}, AT_SYMLINK_NOFOLLOW) = 0
7 lstat(\"/a\", {st_dev=makedev(0xfe, 0), st_ino=6, st_mode=S_IFLNK|0777, st_size=3}) = 0
7 newfstatat(AT_FDCWD, \"/b\", {st_dev=0xfe00, st_ino=7, st_mode=0120777, st_size=3}, 0x100) = 0
7 statx(AT_FDCWD, \"/c\", AT_SYMLINK_NOFOLLOW, STATX_ALL, {stx_mask=STATX_ALL, stx_mode=S_IFLNK|0777, stx_ino=8, \
stx_dev_major=254, stx_dev_minor=0}) = 0
7 newfstatat(AT_FDCWD, \"/usr/bin/php8.2\", {st_dev=makedev(0xfe, 0), st_ino=9, st_mode=S_IFREG|0755, st_size=5}, 0) = 0
";
        let parsed = Identities::of_parsed(&crate::ParsedLog::parse(log.as_bytes().to_vec()));
        for ids in [Identities::collect(log.as_bytes()), parsed] {
            for path in ["/usr/bin/php", "/a", "/b", "/c"] {
                assert_eq!(ids.get(path), None, "{path}");
                assert_eq!(ids.stat(path), None, "{path}");
            }
            assert_eq!(ids.get("/usr/bin/php8.2"), Some(Identity { major: 0xfe, minor: 0, ino: 9 }));
        }
    }

    #[test]
    fn lines_cut_by_the_reader_buffer_are_searched_whole() {
        let whole = Identities::collect(LOG.as_bytes());
        assert_eq!(whole.len(), 3, "{:?}", all(&whole));
        assert_eq!(whole.get("/lib/libc.so.6"), Some(Identity { major: 0xfe, minor: 1, ino: 1835398 }));
        assert_eq!(whole.get("/tmp/x"), Some(Identity { major: 254, minor: 3, ino: 99 }));
        for capacity in [1, 2, 7, 13, 64, 100, 4096] {
            let cut = Identities::collect(BufReader::with_capacity(capacity, LOG.as_bytes()));
            assert_eq!(all(&cut), all(&whole), "buffer of {capacity} bytes");
        }
    }
}
