//! Where a replay finds the files of the machine a trace was recorded on.
//!
//! A replay needs a few things of the files a log executes, opens and maps: whether a path
//! exists and what it resolves to, each file's type, identity, size and modification time,
//! and the bytes of the pages the model reads (ELF headers, program headers, the PT_INTERP
//! path, a `#!` line, and the pages a fault or a copy brings into the page cache), plus a few
//! facts of the kernel (the auxiliary-vector template, the vDSO layout, protection keys).
//! [`Files`] answers those questions from, in order:
//!
//! 1. a **bundle** recorded beside the trace (`X.trace.files`, see [`bundle_path`]), which
//!    holds every answer the replay needed when the trace was recorded, and only the pages
//!    it read (or whole files, when recorded with `--whole-files`);
//! 2. a **root** directory standing for the recording machine's `/` (an unpacked container
//!    image, a chroot): paths of the log resolve under it, symbolic links too;
//! 3. this machine's files.
//!
//! A question the bundle cannot answer falls back to the root or this machine, with a note
//! in the report. A file read from the root or this machine is compared with what the
//! recording saw — the bundle's record of it, or the trace's own stat results — and a file
//! whose size or modification time (or, with a bundle, recorded bytes) differs is reported
//! as one line that says which file and how ([`Files::differs`]).
//!
//! Nothing is read up front: a file's bytes come from the file itself, a page at a time,
//! when the model asks ([`mm::Content`]). Every answer is kept, so the runs of a replay over
//! its log ask each question once.
//!
//! # The bundle format
//!
//! One file: the line `mmsim-files 1`, then one line of JSON (the manifest: the answers, by
//! path as the replay asked, and for each file read, which pages of it follow), then the
//! bytes of those pages, one after another (a file's last page only up to its size).

use crate::identity::Identities;
use loader::host::{HostContent, KnownIdentity, Opened, Opener};
use mm::{AuxvProfile, Content, VdsoLayout};
use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// The first line of a bundle.
const MAGIC: &[u8] = b"mmsim-files 1\n";
/// The model's page size.
const PAGE: u64 = 4096;

/// The bundle kept beside `trace`: `TRACE.files`.
pub fn bundle_path(trace: &Path) -> PathBuf {
    let mut name = trace.as_os_str().to_owned();
    name.push(".files");
    PathBuf::from(name)
}

/// What kind of object a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// Anything else (device, FIFO, socket).
    Other,
}

/// What `stat` shows of a path (symbolic links followed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// Type.
    pub kind: Kind,
    /// Device major.
    pub major: u32,
    /// Device minor.
    pub minor: u32,
    /// Inode number.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds.
    pub mtime: i64,
    /// Modification time, nanoseconds.
    pub mtime_nsec: i64,
}

impl Meta {
    fn of(m: &std::fs::Metadata) -> Meta {
        use std::os::unix::fs::MetadataExt;
        let kind = if m.is_file() {
            Kind::File
        } else if m.is_dir() {
            Kind::Dir
        } else {
            Kind::Other
        };
        let (major, minor) = loader::host::dev_major_minor(m.dev());
        Meta { kind, major, minor, ino: m.ino(), size: m.len(), mtime: m.mtime(), mtime_nsec: m.mtime_nsec() }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Manifest {
    /// The directory the traced program started in.
    cwd: Option<String>,
    /// Path asked → the path it resolves to (symbolic links followed), none if it does not exist.
    canonical: BTreeMap<String, Option<String>>,
    /// Path asked → what stat showed, none if it does not exist.
    stat: BTreeMap<String, Option<Meta>>,
    /// Canonical path → the pages of it kept.
    contents: BTreeMap<String, Pages>,
    /// The auxiliary-vector template of the recording kernel.
    auxv: Option<Auxv>,
    /// Whether the recording kernel shows protection keys in smaps.
    pkeys: Option<bool>,
    /// The vDSO layout: [vvar] pages, [vvar_vclock] pages, [vdso] pages, unbacked bits.
    vdso: Option<[u64; 4]>,
    /// The vDSO image: where its bytes are after the manifest, and how many.
    #[serde(default)]
    vdso_image: Option<(u64, u64)>,
    /// How many CPUs the recording machine had online.
    #[serde(default)]
    cpus: Option<u32>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Pages {
    /// The file's size.
    size: u64,
    /// Every page is kept.
    whole: bool,
    /// (page index, offset of its bytes after the manifest).
    pages: Vec<(u64, u64)>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Auxv {
    entries: Vec<(u64, u64)>,
    platform: Vec<u8>,
    base_platform: Vec<u8>,
}

/// A bundle read from disk.
#[derive(Debug)]
pub struct Bundle {
    manifest: Manifest,
    blob: Arc<[u8]>,
}

impl Bundle {
    /// Reads the bundle at `path`.
    pub fn read(path: &Path) -> std::io::Result<Bundle> {
        let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not a bundle: {what}"));
        let data = std::fs::read(path)?;
        let rest = data.strip_prefix(MAGIC).ok_or_else(|| bad("no `mmsim-files 1` line"))?;
        let end = memchr::memchr(b'\n', rest).ok_or_else(|| bad("no manifest"))?;
        let manifest: Manifest = serde_json::from_slice(&rest[..end]).map_err(|e| bad(&e.to_string()))?;
        let blob: Arc<[u8]> = Arc::from(&rest[end + 1..]);
        for p in manifest.contents.values() {
            if p.pages.iter().any(|&(_, off)| off.saturating_add(PAGE.min(p.size)) > blob.len() as u64 + PAGE) {
                return Err(bad("a page past the end"));
            }
        }
        Ok(Bundle { manifest, blob })
    }

    /// The directory the traced program started in, as recorded.
    pub fn cwd(&self) -> Option<&str> {
        self.manifest.cwd.as_deref()
    }

    /// How many files it has pages of, and how many bytes of pages.
    pub fn size(&self) -> (usize, usize) {
        (self.manifest.contents.len(), self.blob.len())
    }
}

/// A file's bytes from a bundle: the pages kept, and zeros (with a note) for any other.
#[derive(Debug)]
struct BundleContent {
    name: String,
    size: u64,
    pages: HashMap<u64, u64>,
    blob: Arc<[u8]>,
    notes: Arc<Mutex<BTreeSet<String>>>,
}

impl Content for BundleContent {
    fn len(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) {
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset.saturating_add(done as u64);
            let index = pos / PAGE;
            let in_page = (pos % PAGE) as usize;
            let n = (PAGE as usize - in_page).min(buf.len() - done);
            let out = &mut buf[done..done + n];
            out.fill(0);
            if pos < self.size {
                match self.pages.get(&index) {
                    Some(&at) => {
                        let page_len = (self.size - index * PAGE).min(PAGE) as usize;
                        let start = (at as usize).saturating_add(in_page).min(self.blob.len());
                        let avail = page_len.saturating_sub(in_page).min(n).min(self.blob.len() - start);
                        out[..avail].copy_from_slice(&self.blob[start..start + avail]);
                    }
                    None => {
                        lock(&self.notes)
                            .insert(format!("{}: page {index} is not in the bundle (read as zeros)", self.name));
                    }
                }
            }
            done += n;
        }
    }
}

/// A host file being recorded: which pages were read.
#[derive(Debug)]
struct Recorded {
    inner: HostContent,
    pages: Mutex<BTreeSet<u64>>,
}

impl Content for Recorded {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) {
        let end = offset.saturating_add(buf.len() as u64).min(self.inner.len());
        if offset < end {
            lock(&self.pages).extend(offset / PAGE..end.div_ceil(PAGE));
        }
        self.inner.read_at(offset, buf)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// At most this many files opened ahead of the replay ([`Files::prefetch`]) at a time.
const OPENED_AHEAD: usize = 64;

/// Answers kept, by path asked.
#[derive(Default)]
struct State {
    canonical: HashMap<String, Option<String>>,
    stat: HashMap<String, Option<Meta>>,
    contents: HashMap<String, Option<Arc<dyn Content>>>,
    /// Recorded files, by canonical path (recording only).
    recorded: BTreeMap<String, Arc<Recorded>>,
    /// Files found different from the recording's, by path: the message.
    differs: BTreeMap<String, String>,
    auxv: Option<AuxvProfile>,
    pkeys: Option<bool>,
    vdso: Option<VdsoLayout>,
    vdso_image: Option<Option<Arc<[u8]>>>,
    /// Regular files [`Files::prefetch`] opened ahead of the replay, by canonical path, until
    /// the replay asks for their content.
    opened_ahead: HashMap<String, (std::fs::File, std::fs::Metadata)>,
}

impl State {
    /// Whether a descriptor of the file `name` may be held for the replay: its content is
    /// not read yet, none is held, and the descriptors held stay few however far ahead the
    /// parser is.
    fn may_hold(&self, name: &str) -> bool {
        !self.contents.contains_key(name)
            && !self.opened_ahead.contains_key(name)
            && self.opened_ahead.len() < OPENED_AHEAD
    }
}

/// Where the kernel makes files, whose opening may do something: never opened ahead, and
/// named through an `O_PATH` descriptor only.
const KERNEL_MADE: [&str; 3] = ["/dev/", "/proc/", "/sys/"];

/// The recording machine's files, as a replay sees them (see the module documentation).
pub struct Files {
    root: Option<PathBuf>,
    bundle: Option<Bundle>,
    /// The bundle only tells what the files were (to check this machine's), not their bytes.
    reference_only: bool,
    /// Keep what is asked, to write a bundle; whole files when `whole`.
    recording: bool,
    whole: bool,
    trace: Mutex<Option<Arc<Identities>>>,
    state: Mutex<State>,
    notes: Arc<Mutex<BTreeSet<String>>>,
    /// This machine's directories resolved so far (no root), by path as asked.
    dirs: Mutex<HashMap<String, HostDir>>,
}

impl std::fmt::Debug for Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Files")
            .field("root", &self.root)
            .field("bundle", &self.bundle.is_some())
            .field("recording", &self.recording)
            .finish()
    }
}

impl Default for Files {
    fn default() -> Self {
        Files::host()
    }
}

impl Files {
    /// This machine's files.
    pub fn host() -> Files {
        Files {
            root: None,
            bundle: None,
            reference_only: false,
            recording: false,
            whole: false,
            trace: Mutex::new(None),
            state: Mutex::new(State::default()),
            notes: Arc::default(),
            dirs: Mutex::default(),
        }
    }

    /// The files under `dir`, which stands for the recording machine's root directory.
    pub fn rooted(dir: &Path) -> Files {
        Files { root: Some(dir.to_path_buf()), ..Files::host() }
    }

    /// Answers from `bundle` first (the rest as before). With `reference_only`, the bundle
    /// only serves to check the files read elsewhere.
    pub fn with_bundle(mut self, bundle: Bundle, reference_only: bool) -> Files {
        self.bundle = Some(bundle);
        self.reference_only = reference_only;
        self
    }

    /// This machine's files, keeping every answer and the pages read (every page with
    /// `whole`) for [`Files::write_bundle`].
    pub fn recorder(whole: bool) -> Files {
        Files { recording: true, whole, ..Files::host() }
    }

    /// Gives the trace's stat results, to check files against.
    pub fn set_trace(&self, ids: &Identities) {
        *lock(&self.trace) = Some(Arc::new(ids.clone()));
    }

    /// The bundle whose answers come first, if any (and not for reference only).
    fn answers(&self) -> Option<&Manifest> {
        self.bundle.as_ref().filter(|_| !self.reference_only).map(|b| &b.manifest)
    }

    fn note(&self, s: String) {
        lock(&self.notes).insert(s);
    }

    fn not_in_bundle(&self, path: &str) {
        if self.answers().is_some() {
            let place = if self.root.is_some() { "the root directory" } else { "this machine" };
            self.note(format!("{path}: not in the bundle; taken from {place}"));
        }
    }

    /// The path as it is on the base (this machine, or under the root).
    fn base_path(&self, canonical: &str) -> PathBuf {
        match &self.root {
            Some(r) => r.join(canonical.trim_start_matches('/')),
            None => PathBuf::from(canonical),
        }
    }

    fn base_canonical(&self, path: &str) -> Option<String> {
        match &self.root {
            None => {
                let found = self.host_found(path)?;
                // The descriptor that named the file stat'ed it too: that answer is kept for
                // the name (unless a bundle has answers of its own), a path walk saved; and
                // a regular file's descriptor, open for reading, waits for its content.
                if let (Some(m), None) = (&found.meta, &self.bundle) {
                    let mut state = lock(&self.state);
                    state.stat.entry(found.name.clone()).or_insert(Some(Meta::of(m)));
                    if let Some(file) = found.readable.filter(|_| !self.recording && state.may_hold(&found.name)) {
                        state.opened_ahead.insert(found.name.clone(), (file, m.clone()));
                    }
                }
                Some(found.name)
            }
            Some(root) => resolve_under(root, path),
        }
    }

    /// What `path` resolves to (symbolic links followed, `.` and `..` gone), if it exists.
    pub fn canonical(&self, path: &str) -> Option<String> {
        if let Some(a) = lock(&self.state).canonical.get(path) {
            return a.clone();
        }
        let answer = match self.answers().and_then(|m| m.canonical.get(path)) {
            Some(a) => a.clone(),
            None => {
                self.not_in_bundle(path);
                self.base_canonical(path)
            }
        };
        let mut state = lock(&self.state);
        // A canonical name is its own: the model imports files by it, and asks again.
        if let Some(name) = answer.as_ref().filter(|n| *n != path && self.bundle.is_none()) {
            state.canonical.entry(name.clone()).or_insert_with(|| Some(name.clone()));
        }
        state.canonical.insert(path.to_string(), answer.clone());
        answer
    }

    /// What stat shows of `path`, if it exists.
    pub fn stat(&self, path: &str) -> Option<Meta> {
        if let Some(a) = lock(&self.state).stat.get(path) {
            return *a;
        }
        let answer = match self.answers().and_then(|m| m.stat.get(path)) {
            Some(a) => *a,
            None => {
                self.not_in_bundle(path);
                match &self.root {
                    None => std::fs::metadata(path).ok().map(|m| Meta::of(&m)),
                    Some(_) => self
                        .base_canonical(path)
                        .and_then(|c| std::fs::metadata(self.base_path(&c)).ok())
                        .map(|m| Meta::of(&m)),
                }
            }
        };
        lock(&self.state).stat.insert(path.to_string(), answer);
        answer
    }

    /// The bytes of the regular file whose canonical path is `canonical`, read on demand;
    /// a file read from the root or this machine is checked against the recording's (the
    /// trace's stats are looked up by `names` too).
    fn content(&self, canonical: &str, names: &[&str]) -> Option<Arc<dyn Content>> {
        if let Some(a) = lock(&self.state).contents.get(canonical) {
            return a.clone();
        }
        let answer: Option<Arc<dyn Content>> = match self.answers().and_then(|m| m.contents.get(canonical)) {
            Some(p) => {
                let blob = self.bundle.as_ref().map(|b| b.blob.clone()).unwrap_or_else(|| Arc::from(&[][..]));
                Some(Arc::new(BundleContent {
                    name: canonical.to_string(),
                    size: p.size,
                    pages: p.pages.iter().copied().collect(),
                    blob,
                    notes: self.notes.clone(),
                }))
            }
            None => {
                // The bundle may know the file without having any page of it (the replay
                // read none when it was recorded): then it has its answers to stat.
                if self.answers().is_some_and(|m| !m.stat.contains_key(canonical)) {
                    self.not_in_bundle(canonical);
                }
                let base = self.base_path(canonical);
                let ahead = lock(&self.state).opened_ahead.remove(canonical);
                // Only [`Files::open`] asks, after its stat found a regular file.
                match ahead.map_or_else(|| loader::host::open_known_regular(&base), Ok) {
                    Ok((file, m)) => {
                        let inner = HostContent::new(file, m.len());
                        let here = Meta::of(&m);
                        if self.recording {
                            let r = Arc::new(Recorded { inner, pages: Mutex::default() });
                            lock(&self.state).recorded.insert(canonical.to_string(), r.clone());
                            Some(r as Arc<dyn Content>)
                        } else {
                            let c: Arc<dyn Content> = Arc::new(inner);
                            self.check(canonical, names, &here, &*c);
                            Some(c)
                        }
                    }
                    Err(_) => None,
                }
            }
        };
        lock(&self.state).contents.insert(canonical.to_string(), answer.clone());
        answer
    }

    /// Compares a file read from the base with what the recording saw of it: the bundle's
    /// record, else the trace's first stat of it. A different size, different recorded
    /// bytes, or (where no recorded page was compared) a different modification time make it
    /// a differing file.
    fn check(&self, canonical: &str, names: &[&str], here: &Meta, content: &dyn Content) {
        // Kernel-made files (sysfs, procfs, devices, runtime state) change by themselves.
        if ["/sys/", "/proc/", "/dev/", "/run/"].iter().any(|d| canonical.starts_with(d)) {
            return;
        }
        let where_ = if self.root.is_some() { "under the root" } else { "here" };
        if let Some(b) = &self.bundle {
            let m = &b.manifest;
            let was = m.stat.get(canonical).copied().flatten();
            if let Some(was) = was {
                if was.size != here.size {
                    return self.differ(
                        canonical,
                        format!("{} bytes when recorded (the bundle), {} bytes {where_}", was.size, here.size),
                    );
                }
            }
            if let Some(p) = m.contents.get(canonical) {
                let mut buf = vec![0u8; PAGE as usize];
                for &(index, at) in &p.pages {
                    let len = (p.size.saturating_sub(index * PAGE)).min(PAGE) as usize;
                    let at = at as usize;
                    let Some(rec) = b.blob.get(at..at + len) else { continue };
                    content.read_at(index * PAGE, &mut buf[..len]);
                    if buf[..len] != *rec {
                        return self.differ(
                            canonical,
                            format!("page {index} {where_} is not the page recorded in the bundle"),
                        );
                    }
                }
            }
            if let Some(was) = was {
                // Recorded pages that are the same say more than a time stamp; without any,
                // the time stamp is all there is to tell another version of the file by.
                if (was.mtime, was.mtime_nsec) != (here.mtime, here.mtime_nsec) && !p_checked(m, canonical) {
                    self.differ(
                        canonical,
                        format!(
                            "modified at {} when recorded (the bundle), at {} {where_} (same size; no page of it \
                             recorded to compare)",
                            was.mtime, here.mtime
                        ),
                    );
                }
                return;
            }
        }
        let trace = lock(&self.trace).clone();
        let Some(ids) = trace else { return };
        let mut names = names.to_vec();
        names.push(canonical);
        if names.iter().any(|n| ids.written(n)) {
            return;
        }
        let Some(st) = names.iter().find_map(|n| ids.stat(n)) else { return };
        // The trace's stat tells the file the program saw: another size or modification time
        // here is another version of it (its device and inode are the trace's anyway).
        let mut was = Vec::new();
        let mut now = Vec::new();
        if let Some(size) = st.size.filter(|&s| s != here.size) {
            was.push(format!("{size} bytes"));
            now.push(format!("{} bytes", here.size));
        }
        if let Some(mtime) = st.mtime.filter(|&t| t != here.mtime) {
            was.push(format!("modified at {mtime}"));
            now.push(format!("modified at {}", here.mtime));
        }
        if !was.is_empty() {
            self.differ(
                canonical,
                format!("{} in the trace (line {}), {} {where_}", was.join(", "), st.line, now.join(", ")),
            );
        }
    }

    /// Records that the file at `path` is not the one the trace recorded, and how (the
    /// first reason found stands).
    pub(crate) fn differ(&self, path: &str, how: String) {
        lock(&self.state).differs.entry(path.to_string()).or_insert_with(|| format!("file differs: {path}: {how}"));
    }

    /// Opens the regular file at `path` (absolute): its canonical name, identity from `known`
    /// or its own, size, mtime and content. `also` are other names the trace gave it.
    pub fn open(&self, path: &str, also: &[&str], known: KnownIdentity) -> std::io::Result<Opened> {
        let not_found = || std::io::Error::from(std::io::ErrorKind::NotFound);
        let name = self.canonical(path).ok_or_else(not_found)?;
        let meta = self.stat(&name).ok_or_else(not_found)?;
        match meta.kind {
            Kind::File => {}
            Kind::Dir => return Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, "a directory")),
            Kind::Other => return Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, "not a regular file")),
        }
        let mut names = also.to_vec();
        names.push(path);
        let content = self.content(&name, &names).ok_or_else(not_found)?;
        let id = known(path).or_else(|| known(&name)).unwrap_or((meta.major, meta.minor, meta.ino));
        Ok(Opened { name, id, size: meta.size, mtime: (meta.mtime, meta.mtime_nsec), content })
    }

    /// Does ahead of the replay the host's part of opening the file at `path` (absolute), which
    /// a later [`Files::open`] of it would do: resolving its name, stat'ing it and opening
    /// it. The parser thread calls this for the files the log shows opened, so that those
    /// system calls (a fifth of the replay of a program that opens many files) overlap the
    /// replay instead of stalling it. Only the answers of the files themselves are kept,
    /// never a judgement: whether the file differs from the trace's is still decided when
    /// the replay opens it. Files of a bundle, and kernel-made files, are left alone.
    pub fn prefetch(&self, path: &str) {
        if self.bundle.is_some() || self.recording || !path.starts_with('/') {
            return;
        }
        if KERNEL_MADE.iter().any(|d| path.starts_with(d)) {
            return;
        }
        let Some(name) = self.canonical(path) else { return };
        if !self.stat(&name).is_some_and(|m| m.kind == Kind::File) || !lock(&self.state).may_hold(&name) {
            return;
        }
        if let Ok(opened) = loader::host::open_known_regular(&self.base_path(&name)) {
            lock(&self.state).opened_ahead.entry(name).or_insert(opened);
        }
    }

    /// The first bytes (at most `n`) of the regular file at `path`, if it is one.
    pub fn head(&self, path: &str, n: usize) -> Option<Vec<u8>> {
        let f = self.open(path, &[], &|_| None).ok()?;
        let len = (f.content.len().min(n as u64)) as usize;
        let mut buf = vec![0u8; len];
        f.content.read_at(0, &mut buf);
        Some(buf)
    }

    /// The auxiliary-vector template of the recording kernel.
    pub fn auxv(&self) -> AuxvProfile {
        if let Some(a) = &lock(&self.state).auxv {
            return a.clone();
        }
        let a = match self.answers().and_then(|m| m.auxv.clone()) {
            Some(a) => AuxvProfile { entries: a.entries, platform: a.platform, base_platform: a.base_platform },
            None => host_facts().auxv.clone(),
        };
        lock(&self.state).auxv = Some(a.clone());
        a
    }

    /// The readahead window of the recording machine's disk, in KiB: nothing in a trace
    /// shows it, so this machine's (the disk holding `/`), when it has one.
    pub fn read_ahead_kb(&self) -> Option<u64> {
        host_facts().read_ahead_kb
    }

    /// How many CPUs the recording machine had online, as its bundle says (a bundle
    /// `mmsim record` kept; none without one: this machine's would be a guess).
    pub fn recorded_cpus(&self) -> Option<u32> {
        self.bundle.as_ref().and_then(|b| b.manifest.cpus)
    }

    /// Whether the recording kernel shows protection keys in smaps.
    pub fn pkeys(&self) -> bool {
        if let Some(p) = lock(&self.state).pkeys {
            return p;
        }
        let p = match self.answers().and_then(|m| m.pkeys) {
            Some(p) => p,
            None => host_facts().pkeys,
        };
        lock(&self.state).pkeys = Some(p);
        p
    }

    /// The vDSO layout of the recording kernel, if known.
    pub fn vdso(&self) -> Option<VdsoLayout> {
        if let Some(v) = lock(&self.state).vdso {
            return Some(v);
        }
        let v = match self.answers().and_then(|m| m.vdso) {
            Some([vvar, vclock, vdso, unbacked]) => {
                Some(VdsoLayout { vvar_pages: vvar, vvar_vclock_pages: vclock, vdso_pages: vdso, unbacked })
            }
            None => host_facts().vdso,
        };
        lock(&self.state).vdso = v;
        v
    }

    /// The vDSO image of the recording kernel, if known.
    pub fn vdso_image(&self) -> Option<Arc<[u8]>> {
        if let Some(v) = &lock(&self.state).vdso_image {
            return v.clone();
        }
        let v = match (self.answers().and_then(|m| m.vdso_image), &self.bundle) {
            (Some((at, len)), Some(b)) => b.blob.get(at as usize..(at + len) as usize).map(Arc::from),
            _ => host_facts().vdso_image.clone(),
        };
        lock(&self.state).vdso_image = Some(v.clone());
        v
    }

    /// The compat vDSO image (`vdso32`) of the recording kernel, if known: this machine's,
    /// when the recording kernel's 64-bit image is this machine's (the same kernel build;
    /// the bundle keeps the 64-bit image only).
    pub fn vdso32_image(&self) -> Option<Arc<[u8]>> {
        let native = self.vdso_image()?;
        let host = host_facts();
        if host.vdso_image.as_ref() != Some(&native) {
            return None;
        }
        host.vdso32_image.get_or_init(|| loader::host::vdso32_image().ok()).clone()
    }

    /// The files found to differ from the recording's, one line each.
    pub fn differs(&self) -> Vec<String> {
        lock(&self.state).differs.values().cloned().collect()
    }

    /// The paths of the files found to differ from the recording's.
    pub fn differing(&self) -> BTreeSet<String> {
        lock(&self.state).differs.keys().cloned().collect()
    }

    /// Notes on where answers came from (files the bundle lacks, pages it lacks, files
    /// modified since).
    pub fn notes(&self) -> Vec<String> {
        lock(&self.notes).iter().cloned().collect()
    }

    /// Writes what a recording replay asked as a bundle at `path`; `cwd` is the directory
    /// the program started in. Returns how many files it has pages of and the bytes of
    /// pages.
    pub fn write_bundle(&self, path: &Path, cwd: Option<&str>) -> std::io::Result<(usize, usize)> {
        let st = lock(&self.state);
        let mut m = Manifest {
            cwd: cwd.map(str::to_string),
            canonical: st.canonical.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            stat: st.stat.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            contents: BTreeMap::new(),
            auxv: st.auxv.as_ref().map(|a| Auxv {
                entries: a.entries.clone(),
                platform: a.platform.clone(),
                base_platform: a.base_platform.clone(),
            }),
            pkeys: st.pkeys,
            vdso: st.vdso.map(|v| [v.vvar_pages, v.vvar_vclock_pages, v.vdso_pages, v.unbacked]),
            vdso_image: None,
            cpus: host_facts().cpus,
        };
        let mut blob = Vec::new();
        if let Some(Some(img)) = &st.vdso_image {
            m.vdso_image = Some((0, img.len() as u64));
            blob.extend_from_slice(img);
        }
        let mut buf = vec![0u8; PAGE as usize];
        for (name, r) in &st.recorded {
            let size = r.inner.len();
            let pages: Vec<u64> =
                if self.whole { (0..size.div_ceil(PAGE)).collect() } else { lock(&r.pages).iter().copied().collect() };
            let mut kept = Pages { size, whole: self.whole, pages: Vec::new() };
            for index in pages {
                let len = size.saturating_sub(index * PAGE).min(PAGE) as usize;
                if len == 0 {
                    continue;
                }
                r.inner.read_at(index * PAGE, &mut buf[..len]);
                kept.pages.push((index, blob.len() as u64));
                blob.extend_from_slice(&buf[..len]);
            }
            m.contents.insert(name.clone(), kept);
        }
        let json = serde_json::to_vec(&m).map_err(std::io::Error::other)?;
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        out.write_all(MAGIC)?;
        out.write_all(&json)?;
        out.write_all(b"\n")?;
        out.write_all(&blob)?;
        out.flush()?;
        Ok((m.contents.len(), blob.len()))
    }
}

/// Facts of this machine's kernel a replay needs, read once per process (reading them is
/// most of the cost of replaying a short trace).
struct HostFacts {
    auxv: AuxvProfile,
    pkeys: bool,
    vdso: Option<VdsoLayout>,
    vdso_image: Option<Arc<[u8]>>,
    /// Read on first use only: it runs a 32-bit child.
    vdso32_image: std::sync::OnceLock<Option<Arc<[u8]>>>,
    /// The readahead window of the disk holding `/`, in KiB.
    read_ahead_kb: Option<u64>,
    /// How many CPUs are online.
    cpus: Option<u32>,
}

fn host_facts() -> &'static HostFacts {
    static FACTS: std::sync::OnceLock<HostFacts> = std::sync::OnceLock::new();
    FACTS.get_or_init(|| HostFacts {
        auxv: loader::host::auxv_profile().unwrap_or_default(),
        pkeys: std::fs::read_to_string("/proc/self/smaps").map(|s| s.contains("ProtectionKey:")).unwrap_or(false),
        vdso: loader::host::vdso_layout().ok(),
        vdso_image: loader::host::vdso_image().ok(),
        vdso32_image: std::sync::OnceLock::new(),
        read_ahead_kb: loader::host::read_ahead_kb(Path::new("/")),
        cpus: std::fs::read_to_string(procfs::cgroup::ONLINE_CPUS)
            .ok()
            .and_then(|t| procfs::cgroup::cpu_list_count(&t)),
    })
}

/// Whether the bundle kept pages of `canonical` (then they were compared).
fn p_checked(m: &Manifest, canonical: &str) -> bool {
    m.contents.get(canonical).is_some_and(|p| !p.pages.is_empty())
}

/// [`Opener`] over [`Files`], with the identities the trace showed.
pub(crate) struct FilesOpener<'a> {
    pub files: &'a Files,
    pub known: KnownIdentity<'a>,
}

impl Opener for FilesOpener<'_> {
    fn open(&self, path: &str) -> std::io::Result<Opened> {
        self.files.open(path, &[], self.known)
    }

    fn auxv(&self) -> AuxvProfile {
        self.files.auxv()
    }
}

/// Links followed at most while resolving one directory (the kernel's limit).
const MAX_LINKS: u32 = 40;

/// What [`Files::host_dir`] found of a directory of this machine.
#[derive(Clone)]
enum HostDir {
    /// Its canonical name (empty for the root).
    Found(Arc<str>),
    /// It does not exist, or is not a directory.
    Missing,
    /// Its name takes a way the shortcut does not follow (`..` in a link, no right to look).
    Other,
}

impl Files {
    /// [`host_canonical_stat`], with a shortcut for the commonest path, an absolute one with
    /// nothing to resolve but symbolic links, outside the kernel-made directories: its
    /// directory's canonical name is found once ([`Files::host_dir`]: a replay opens many
    /// files in few directories), and the file is opened by that name and its own without
    /// following a link at its end. Opened, it is no link, so that is its canonical name:
    /// one open and one stat, where the long way also reads the name back from `/proc`. A
    /// link at the end, or any other failure than absence, takes the long way.
    fn host_found(&self, path: &str) -> Option<HostFound> {
        use rustix::fs::{Mode, OFlags};
        let simple = crate::replayer::is_plain_absolute(path) && !KERNEL_MADE.iter().any(|d| path.starts_with(d));
        let Some(cut) = path.rfind('/').filter(|_| simple && path.len() > 1) else {
            return host_canonical_stat(path);
        };
        let full = match self.host_dir(&path[..cut], 0) {
            HostDir::Found(dir) => format!("{dir}/{}", &path[cut + 1..]),
            HostDir::Missing => return None,
            HostDir::Other => return host_canonical_stat(path),
        };
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let file = match rustix::fs::open(full.as_str(), flags, Mode::empty()) {
            Ok(fd) => std::fs::File::from(fd),
            Err(e) if e == rustix::io::Errno::NOENT || e == rustix::io::Errno::NOTDIR => return None,
            Err(_) => return host_canonical_stat(path),
        };
        let meta = file.metadata().ok();
        let regular = meta.as_ref().is_some_and(|m| m.is_file());
        Some(HostFound { name: full, meta, readable: regular.then_some(file) })
    }

    /// The directory `dir` of this machine (absolute and plain; empty for the root), resolved
    /// as `realpath` resolves it, a component at a time, each directory once per [`Files`]:
    /// a new directory in a known one costs one `lstat` (and a `readlink` if it is a link),
    /// not a walk of the whole path.
    fn host_dir(&self, dir: &str, links: u32) -> HostDir {
        if dir.is_empty() {
            return HostDir::Found("".into());
        }
        if let Some(d) = lock(&self.dirs).get(dir) {
            return d.clone();
        }
        let cut = dir.rfind('/').unwrap_or(0);
        let parent = match self.host_dir(&dir[..cut], links) {
            HostDir::Found(p) => p,
            other => return other,
        };
        let here = format!("{parent}/{}", &dir[cut + 1..]);
        let found = match std::fs::symlink_metadata(&here) {
            Ok(m) if m.is_dir() => HostDir::Found(here.into()),
            Ok(m) if m.is_symlink() && links < MAX_LINKS => match std::fs::read_link(&here) {
                Ok(target) => match target.to_str() {
                    Some(t) if t.starts_with('/') && crate::replayer::is_plain_absolute(t) => {
                        self.host_dir(t.strip_suffix('/').unwrap_or(t), links + 1)
                    }
                    Some(t) if !t.starts_with('/') && crate::replayer::is_plain_absolute(&format!("/{t}")) => {
                        self.host_dir(&format!("{parent}/{t}"), links + 1)
                    }
                    _ => HostDir::Other,
                },
                Err(_) => HostDir::Other,
            },
            Ok(m) if m.is_symlink() => HostDir::Other,
            Ok(_) => HostDir::Missing,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => HostDir::Missing,
            Err(_) => HostDir::Other,
        };
        if !matches!(found, HostDir::Other) {
            lock(&self.dirs).insert(dir.to_string(), found.clone());
        }
        found
    }
}

/// The name alone of [`Files::host_found`] (the tests hold it to `realpath`'s).
#[cfg(test)]
fn host_canonical(files: &Files, path: &str) -> Option<String> {
    files.host_found(path).map(|found| found.name)
}

/// What [`host_canonical_stat`] found of a path on this machine.
struct HostFound {
    /// The canonical name.
    name: String,
    /// What stat shows of the file, when the descriptor that named it could tell.
    meta: Option<std::fs::Metadata>,
    /// That descriptor, when the file is a regular one opened for reading: the replay reads
    /// the file through it rather than opening it a second time.
    readable: Option<std::fs::File>,
}

/// What `path` resolves to on this machine, if it exists: the name the kernel gives a
/// descriptor of it, read back through `/proc/self/fd`, where `realpath` takes a `readlink`
/// per component (a replay-real run made 3,500 readlinks instead of 23,180). The answer is
/// `realpath`'s for a name the descriptor cannot give (no `/proc`, a root out of reach, a
/// name that is not UTF-8). With the name, what stat shows of the file (asked of the same
/// descriptor, where a stat of the name would walk the path again).
///
/// The descriptor is opened for reading, so that a regular file (what a replay resolves
/// nearly every time: the programs and libraries it maps) needs no second open: three
/// system calls and a close instead of six and two closes. Kernel-made files
/// ([`KERNEL_MADE`]) and files this process may not read are named through an `O_PATH`
/// descriptor, which opens nothing.
fn host_canonical_stat(path: &str) -> Option<HostFound> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let realpath = || {
        std::fs::canonicalize(path).ok().map(|p| HostFound {
            name: p.to_string_lossy().into_owned(),
            meta: None,
            readable: None,
        })
    };
    let special = KERNEL_MADE.iter().any(|d| path.starts_with(d));
    let open = |flags: i32| std::fs::OpenOptions::new().read(true).custom_flags(flags).open(path);
    let readable_flags = abi::O_NONBLOCK as i32 | libc::O_NOCTTY;
    let (file, readable) = match if special { open(libc::O_PATH) } else { open(readable_flags) } {
        Ok(f) => (f, !special),
        // ENOENT and ENOTDIR are realpath's answers too; anything else, let it say, after a
        // try that needs no right to read.
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => return None,
        Err(_) if !special => match open(libc::O_PATH) {
            Ok(f) => (f, false),
            Err(_) => return realpath(),
        },
        Err(_) => return realpath(),
    };
    match std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())) {
        Ok(name) => match name.to_str() {
            Some(n) if n.starts_with('/') && !n.ends_with(" (deleted)") => {
                let meta = file.metadata().ok();
                let regular = meta.as_ref().is_some_and(|m| m.is_file());
                Some(HostFound { name: n.to_string(), meta, readable: (readable && regular).then_some(file) })
            }
            _ => realpath(),
        },
        Err(_) => realpath(),
    }
}

/// Resolves `path` (absolute) as the kernel would with `root` as the root directory:
/// symbolic links followed (absolute targets under `root`), `..` stopping at the root.
/// Returns the path inside the root, if it exists.
pub fn resolve_under(root: &Path, path: &str) -> Option<String> {
    let mut todo: Vec<String> = path.split('/').filter(|c| !c.is_empty()).rev().map(str::to_string).collect();
    let mut done: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(c) = todo.pop() {
        match c.as_str() {
            "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        let here = root.join(done.join("/")).join(&c);
        let meta = std::fs::symlink_metadata(&here).ok()?;
        if meta.file_type().is_symlink() {
            links += 1;
            if links > 40 {
                return None;
            }
            let target = std::fs::read_link(&here).ok()?;
            let target = target.to_string_lossy().into_owned();
            if target.starts_with('/') {
                done.clear();
            }
            todo.extend(target.split('/').filter(|c| !c.is_empty()).rev().map(str::to_string));
        } else {
            done.push(c);
        }
    }
    Some(format!("/{}", done.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_under_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("usr/lib")).unwrap();
        std::fs::write(root.join("usr/lib/libx.so.1"), b"x").unwrap();
        std::os::unix::fs::symlink("usr/lib", root.join("lib")).unwrap();
        std::os::unix::fs::symlink("/usr/lib/libx.so.1", root.join("usr/lib/libx.so")).unwrap();
        assert_eq!(resolve_under(root, "/lib/libx.so").as_deref(), Some("/usr/lib/libx.so.1"));
        assert_eq!(resolve_under(root, "/lib/../lib/./libx.so.1").as_deref(), Some("/usr/lib/libx.so.1"));
        assert_eq!(resolve_under(root, "/../../usr/lib").as_deref(), Some("/usr/lib"));
        assert_eq!(resolve_under(root, "/nothing"), None);
    }

    #[test]
    fn host_paths_resolve_as_realpath_resolves_them() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("usr/lib")).unwrap();
        std::fs::write(d.join("usr/lib/libx.so.1"), b"x").unwrap();
        std::os::unix::fs::symlink("usr/lib", d.join("lib")).unwrap();
        std::os::unix::fs::symlink(d.join("usr/lib/libx.so.1"), d.join("usr/lib/libx.so")).unwrap();
        std::os::unix::fs::symlink("nowhere", d.join("dangling")).unwrap();
        std::os::unix::fs::symlink("loop", d.join("loop")).unwrap();
        // Directories reached through links: absolute, chained, with `..`, looping, dangling.
        std::os::unix::fs::symlink(d.join("usr"), d.join("abs")).unwrap();
        std::os::unix::fs::symlink("lib", d.join("usr/chain")).unwrap();
        std::os::unix::fs::symlink("../usr/lib", d.join("usr/up")).unwrap();
        std::os::unix::fs::symlink("dirloop", d.join("dirloop")).unwrap();
        std::fs::create_dir_all(d.join("usr/lib/sub")).unwrap();
        std::fs::write(d.join("usr/lib/sub/f"), b"f").unwrap();
        let at = |p: &str| format!("{}/{p}", d.display());
        let mut paths: Vec<String> =
            ["lib/libx.so", "lib/../lib/./libx.so.1", "lib/", "usr/lib/libx.so.1/", "dangling", "loop"]
                .iter()
                .map(|p| at(p))
                .chain(["/proc/self/exe", "/proc/self/maps", "/dev/null", "/", "/nothing", "", "/.."].map(String::from))
                .collect();
        paths.push(at("missing/x"));
        paths.push(at("usr/lib/libx.so.1/x"));
        paths.push(at("lib/libx.so.1"));
        paths.push(at("lib/dangling"));
        paths.push(at("usr"));
        paths.push(at("usr/lib/libx.so"));
        for p in ["abs/lib/libx.so.1", "abs/chain/sub/f", "usr/up/sub/f", "usr/up/libx.so", "dirloop/x", "dangling/x"] {
            paths.push(at(p));
        }
        paths.push(at("abs/lib/sub/missing"));
        paths.push("/usr".into());
        paths.push("/etc/passwd".into());
        // Asked twice of one set of files: the second time, the directories are known.
        let files = Files::host();
        for p in paths.iter().chain(&paths) {
            let realpath = std::fs::canonicalize(p).ok().map(|c| c.to_string_lossy().into_owned());
            assert_eq!(host_canonical(&files, p), realpath, "{p:?}");
        }
    }

    #[test]
    fn a_file_opened_ahead_is_the_one_the_replay_opens() {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for i in 0..OPENED_AHEAD + 3 {
            let p = dir.path().join(format!("f{i}"));
            std::fs::write(&p, format!("file {i}")).unwrap();
            paths.push(p.to_string_lossy().into_owned());
        }
        let files = Files::host();
        for p in &paths {
            files.prefetch(p);
        }
        // No more descriptors are held than the cap, however many files were asked for.
        assert_eq!(lock(&files.state).opened_ahead.len(), OPENED_AHEAD);
        files.prefetch(&dir.path().to_string_lossy());
        files.prefetch("relative/path");
        for (i, p) in paths.iter().enumerate() {
            let f = files.open(p, &[], &|_| None).unwrap();
            let mut buf = vec![0u8; f.size as usize];
            f.content.read_at(0, &mut buf);
            assert_eq!(buf, format!("file {i}").as_bytes());
        }
        assert!(lock(&files.state).opened_ahead.is_empty());
    }

    #[test]
    fn a_bundle_gives_back_the_pages_read_and_zeros_with_a_note_for_others() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data");
        let bytes: Vec<u8> = (0..3 * PAGE + 100).map(|i| (i % 251) as u8).collect();
        std::fs::write(&file, &bytes).unwrap();
        let path = file.to_string_lossy().into_owned();
        let rec = Files::recorder(false);
        let f = rec.open(&path, &[], &|_| None).unwrap();
        let mut buf = vec![0u8; 10];
        f.content.read_at(PAGE + 5, &mut buf);
        f.content.read_at(3 * PAGE + 90, &mut buf);
        let out = dir.path().join("t.files");
        assert_eq!(rec.write_bundle(&out, Some("/w")).unwrap(), (1, (PAGE + 100) as usize));
        std::fs::remove_file(&file).unwrap();
        let files = Files::host().with_bundle(Bundle::read(&out).unwrap(), false);
        assert_eq!(files.bundle.as_ref().unwrap().cwd(), Some("/w"));
        // The recording machine's online CPUs are kept too (none without a bundle).
        let online = std::fs::read_to_string(procfs::cgroup::ONLINE_CPUS).unwrap();
        assert_eq!(files.recorded_cpus(), procfs::cgroup::cpu_list_count(&online));
        assert!(files.recorded_cpus().is_some());
        assert_eq!(Files::host().recorded_cpus(), None);
        let g = files.open(&path, &[], &|_| None).unwrap();
        assert_eq!(g.size, bytes.len() as u64);
        let mut page = vec![0u8; PAGE as usize];
        g.content.read_at(PAGE, &mut page);
        assert_eq!(page, bytes[PAGE as usize..2 * PAGE as usize]);
        g.content.read_at(3 * PAGE, &mut page);
        assert_eq!(page[..100], bytes[3 * PAGE as usize..]);
        assert!(page[100..].iter().all(|&b| b == 0));
        assert!(files.notes().is_empty(), "{:?}", files.notes());
        g.content.read_at(0, &mut page);
        assert!(page.iter().all(|&b| b == 0));
        assert_eq!(files.notes().len(), 1, "{:?}", files.notes());
    }
}
