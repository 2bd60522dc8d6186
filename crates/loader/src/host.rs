//! Bringing host files and host kernel facts into the model: an executable and its
//! interpreter imported with their real device and inode, the auxiliary-vector template
//! and the vDSO layout of the running kernel.

use crate::error::{LoadError, Role};
use mm::{at, AuxvProfile, Content, ExecFile, ExecRequest, FileId, Kernel, Source, VdsoLayout};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;

/// Why a host program could not be turned into an exec request.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// Reading or stat'ing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The kernel would refuse the file.
    #[error("{path}: {err}")]
    Load {
        /// The file.
        path: String,
        /// What is wrong with it.
        err: LoadError,
        /// Program or interpreter.
        role: Role,
    },
}

impl HostError {
    /// Returns the errno `execve` gives for this failure.
    pub fn errno(&self) -> abi::Errno {
        match self {
            HostError::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound => abi::Errno::ENOENT,
                std::io::ErrorKind::PermissionDenied => abi::Errno::EACCES,
                _ => abi::Errno::EIO,
            },
            HostError::Load { err, role, .. } => err.errno(*role),
        }
    }
}

/// Splits a `st_dev` into the (major, minor) pair `/proc/PID/maps` prints (the kernel's
/// new_decode_dev).
pub fn dev_major_minor(dev: u64) -> (u32, u32) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major as u32, minor as u32)
}

/// The `read_ahead_kb` of the block device holding `path` (its queue, or its whole disk's
/// for a partition): the largest readahead window of a file there.
pub fn read_ahead_kb(path: &std::path::Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    let (major, minor) = dev_major_minor(std::fs::metadata(path).ok()?.dev());
    let base = format!("/sys/dev/block/{major}:{minor}");
    [format!("{base}/queue/read_ahead_kb"), format!("{base}/../queue/read_ahead_kb")]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok()?.trim().parse().ok())
}

/// What kind of file `meta` describes, for messages.
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    match () {
        _ if t.is_dir() => "a directory",
        _ if t.is_fifo() => "a FIFO",
        _ if t.is_socket() => "a socket",
        _ if t.is_char_device() => "a character device",
        _ if t.is_block_device() => "a block device",
        _ => "not a regular file",
    }
}

/// Opens the host file at `path` for reading if it is a regular file, and only then: a FIFO,
/// a device or a directory is an error of kind `PermissionDenied` (execve's EACCES) that says
/// what it is, and nothing is opened that could block (a FIFO without a writer) or that has
/// no end (`/dev/zero`). The open is non-blocking, and the file's type is checked again on
/// the open file.
pub fn open_regular(path: &Path) -> std::io::Result<(std::fs::File, std::fs::Metadata)> {
    use std::os::unix::fs::OpenOptionsExt;
    let not_regular = |meta: &std::fs::Metadata| {
        std::io::Error::new(std::io::ErrorKind::PermissionDenied, file_kind(meta).to_string())
    };
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    let file = std::fs::OpenOptions::new().read(true).custom_flags(abi::O_NONBLOCK as i32).open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    Ok((file, meta))
}

/// Opens for reading the host file at `path` that a stat just showed to be a regular file
/// (see [`open_regular`], which stats it first): a file that is no longer one when opened
/// is an error, as there. The caller's stat stands for the first one, a path walk saved.
pub fn open_known_regular(path: &Path) -> std::io::Result<(std::fs::File, std::fs::Metadata)> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new().read(true).custom_flags(abi::O_NONBLOCK as i32).open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, file_kind(&meta).to_string()));
    }
    Ok((file, meta))
}

/// Reads the regular host file at `path` (see [`open_regular`]): at most the size it has
/// when opened, and an error of kind `InvalidData` when that is more than `max` bytes.
pub fn read_regular(path: &Path, max: u64) -> std::io::Result<(std::fs::Metadata, Vec<u8>)> {
    let (file, meta) = open_regular(path)?;
    if meta.len() > max {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("larger than {max} bytes")));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(meta.len()).read_to_end(&mut bytes)?;
    Ok((meta, bytes))
}

/// Imports the host file at `path` into the model under its canonical path (the name maps
/// prints, symbolic links resolved), with its device, inode and contents. Returns the model
/// file and its bytes.
pub fn import_file(k: &mut Kernel, path: &Path) -> Result<(FileId, Arc<[u8]>), HostError> {
    import_file_as(k, path, &|_| None)
}

/// A file's identity as (device major, device minor, inode), when the caller knows it
/// better than this machine does (a trace's stat results), by path as given or canonical.
pub type KnownIdentity<'a> = &'a dyn Fn(&str) -> Option<(u32, u32, u64)>;

/// [`import_file`] with the identity `known` gives for the path (as given, or canonical)
/// in place of the host's.
pub fn import_file_as(k: &mut Kernel, path: &Path, known: KnownIdentity) -> Result<(FileId, Arc<[u8]>), HostError> {
    let io = |source| HostError::Io { path: path.display().to_string(), source };
    let real = std::fs::canonicalize(path).map_err(io)?;
    let (meta, bytes) = read_regular(&real, u64::MAX).map_err(io)?;
    let bytes: Arc<[u8]> = bytes.into();
    let name = real.to_string_lossy().into_owned();
    let (major, minor, ino) = known(&path.to_string_lossy()).or_else(|| known(&name)).unwrap_or_else(|| {
        let (major, minor) = dev_major_minor(meta.dev());
        (major, minor, meta.ino())
    });
    let id = match k.lookup(&name) {
        // Already imported: the same inode keeps its page cache.
        Some(id) if k.file(id).ino == ino && k.file(id).major == major && k.file(id).minor == minor => id,
        _ => k.import_file(&name, major, minor, ino, bytes.clone()),
    };
    Ok((id, bytes))
}

/// A host file whose bytes are read when asked for ([`Content`]): nothing is read up front,
/// and a page the model never needs is never read. The length is the file's size when it
/// was opened; bytes the file no longer has (it shrank since) read as zeros.
#[derive(Debug)]
pub struct HostContent {
    file: std::fs::File,
    len: u64,
    /// The file's first [`HEAD`] bytes, read once at the first read that lies in them: every
    /// execve of a program reads its ELF and program headers, and a replay of a shell
    /// script runs the same few programs hundreds of times.
    head: std::sync::OnceLock<Box<[u8]>>,
}

/// How many of a file's first bytes [`HostContent`] keeps.
const HEAD: u64 = 4096;

impl HostContent {
    /// Wraps an open file of `len` bytes.
    pub fn new(file: std::fs::File, len: u64) -> HostContent {
        HostContent { file, len, head: std::sync::OnceLock::new() }
    }

    fn read_file_at(&self, offset: u64, buf: &mut [u8]) {
        use std::os::unix::fs::FileExt;
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], offset.saturating_add(done as u64)) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        buf[done..].fill(0);
    }
}

impl Content for HostContent {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) {
        match offset.checked_add(buf.len() as u64) {
            Some(end) if end <= HEAD.min(self.len) => {
                let head = self.head.get_or_init(|| {
                    let mut head = vec![0; HEAD.min(self.len) as usize];
                    self.read_file_at(0, &mut head);
                    head.into_boxed_slice()
                });
                buf.copy_from_slice(&head[offset as usize..end as usize]);
            }
            _ => self.read_file_at(offset, buf),
        }
    }
}

/// A regular file found for the model: the name maps prints (symbolic links resolved), its
/// identity, its size and modification time, and its bytes (read on demand).
#[derive(Clone, Debug)]
pub struct Opened {
    /// The canonical path.
    pub name: String,
    /// Device major, minor and inode number.
    pub id: (u32, u32, u64),
    /// Size in bytes.
    pub size: u64,
    /// Modification time (seconds, nanoseconds).
    pub mtime: (i64, i64),
    /// The bytes.
    pub content: std::sync::Arc<dyn Content>,
}

/// Where `execve` finds files and host facts: this machine, a directory standing for
/// another machine's root, a trace's bundle of recorded files.
pub trait Opener {
    /// The regular file at `path` (errors as `open` gives them: NotFound is ENOENT, a
    /// directory or device PermissionDenied).
    fn open(&self, path: &str) -> std::io::Result<Opened>;
    /// The auxiliary-vector template of the kernel the program ran on.
    fn auxv(&self) -> AuxvProfile {
        auxv_profile().unwrap_or_default()
    }
}

/// Opens host files lazily, with the identity `known` gives where it has one.
pub struct HostOpener<'a> {
    /// Identities known better than the host knows them.
    pub known: KnownIdentity<'a>,
}

/// Opens the regular host file at `path` without reading it: canonical name, metadata and
/// lazy content.
pub fn open_host(path: &Path) -> std::io::Result<(String, std::fs::Metadata, HostContent)> {
    let real = std::fs::canonicalize(path)?;
    let (file, meta) = open_regular(&real)?;
    let len = meta.len();
    Ok((real.to_string_lossy().into_owned(), meta, HostContent::new(file, len)))
}

impl Opener for HostOpener<'_> {
    fn open(&self, path: &str) -> std::io::Result<Opened> {
        let (name, meta, content) = open_host(Path::new(path))?;
        let id = (self.known)(path).or_else(|| (self.known)(&name)).unwrap_or_else(|| {
            let (major, minor) = dev_major_minor(meta.dev());
            (major, minor, meta.ino())
        });
        Ok(Opened {
            name,
            id,
            size: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            content: std::sync::Arc::new(content),
        })
    }
}

/// Makes `opened` a model file (reusing the model file of the same name and identity, with
/// its page cache).
pub fn import_opened(k: &mut Kernel, opened: &Opened) -> FileId {
    let (major, minor, ino) = opened.id;
    match k.lookup(&opened.name) {
        Some(id) if k.file(id).ino == ino && k.file(id).major == major && k.file(id).minor == minor => id,
        _ => k.import_file_from(&opened.name, major, minor, ino, Source::new(opened.content.clone())),
    }
}

/// [`exec_request`] finding the program and interpreter through `opener`; only the ELF
/// headers, program headers and interpreter path are read, the rest of the files when the
/// model needs their pages.
pub fn exec_request_with(
    k: &mut Kernel,
    path: &str,
    argv: &[impl AsRef<[u8]>],
    envp: &[impl AsRef<[u8]>],
    opener: &dyn Opener,
) -> Result<ExecRequest, HostError> {
    fn io(path: &str) -> impl Fn(std::io::Error) -> HostError + '_ {
        move |source| HostError::Io { path: path.to_string(), source }
    }
    let prog = opener.open(path).map_err(io(path))?;
    let file = import_opened(k, &prog);
    let image = crate::parse_content(&*prog.content).map_err(|err| HostError::Load {
        path: path.to_string(),
        err,
        role: Role::Program,
    })?;
    let interp = match &image.interp {
        Some(ipath) => {
            let it = opener.open(ipath).map_err(io(ipath))?;
            let ifile = import_opened(k, &it);
            let iimage = crate::parse_interpreter_content(&*it.content).map_err(|err| HostError::Load {
                path: ipath.clone(),
                err,
                role: Role::Interpreter,
            })?;
            Some(ExecFile { file: ifile, image: iimage })
        }
        None => None,
    };
    let mut req = ExecRequest::new(path, ExecFile { file, image }).args(argv).env(envp);
    req.interp = interp;
    req.auxv = opener.auxv();
    Ok(req)
}

/// Builds the request for `execve(path, argv, envp)` of a host program: the program and
/// its interpreter imported into `k`, the auxiliary vector of the running kernel, and
/// `filename` exactly as given.
pub fn exec_request(
    k: &mut Kernel,
    path: &str,
    argv: &[impl AsRef<[u8]>],
    envp: &[impl AsRef<[u8]>],
) -> Result<ExecRequest, HostError> {
    exec_request_as(k, path, argv, envp, &|_| None)
}

/// [`exec_request`] with the program's and interpreter's identities from `known` where it
/// has them.
pub fn exec_request_as(
    k: &mut Kernel,
    path: &str,
    argv: &[impl AsRef<[u8]>],
    envp: &[impl AsRef<[u8]>],
    known: KnownIdentity,
) -> Result<ExecRequest, HostError> {
    exec_request_with(k, path, argv, envp, &HostOpener { known })
}

/// Reads the auxiliary vector of this process as a template for the model: the entry types
/// in the kernel's order, with this process's values, and the platform strings they point
/// to.
pub fn auxv_profile() -> std::io::Result<AuxvProfile> {
    let raw = std::fs::read("/proc/self/auxv")?;
    let mut entries = Vec::new();
    for pair in raw.chunks_exact(16) {
        let t = u64::from_le_bytes(pair[..8].try_into().expect("8 bytes"));
        let v = u64::from_le_bytes(pair[8..].try_into().expect("8 bytes"));
        if t == at::NULL {
            break;
        }
        entries.push((t, v));
    }
    let string_at = |t: u64| -> std::io::Result<Vec<u8>> {
        match entries.iter().find(|e| e.0 == t) {
            Some(&(_, addr)) => read_c_string(addr),
            None => Ok(Vec::new()),
        }
    };
    let platform = string_at(at::PLATFORM)?;
    let base_platform = string_at(at::BASE_PLATFORM)?;
    Ok(AuxvProfile { entries, platform, base_platform })
}

/// Reads a NUL-terminated string of this process's memory through /proc/self/mem.
fn read_c_string(addr: u64) -> std::io::Result<Vec<u8>> {
    let mut f = std::fs::File::open("/proc/self/mem")?;
    f.seek(SeekFrom::Start(addr))?;
    let mut buf = vec![0u8; 256];
    let n = f.read(&mut buf)?;
    buf.truncate(n);
    if let Some(end) = buf.iter().position(|&b| b == 0) {
        buf.truncate(end);
    }
    Ok(buf)
}

/// Measures the vDSO parts of this process from its maps.
pub fn vdso_layout() -> std::io::Result<VdsoLayout> {
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    Ok(vdso_layout_from_maps(&maps))
}

/// The running kernel's vDSO image: the bytes of this process's `[vdso]`, read through
/// `/proc/self/mem` (for [`mm::Config::vdso_image`]).
pub fn vdso_image() -> std::io::Result<std::sync::Arc<[u8]>> {
    use std::io::{Read, Seek, SeekFrom};
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let range = procfs::parse::parse_maps(&maps)
        .into_iter()
        .find(|l| l.name == "[vdso]")
        .map(|l| (l.start, l.end))
        .filter(|(a, b)| a < b && b - a <= 1 << 20)
        .ok_or_else(|| std::io::Error::other("no [vdso] in /proc/self/maps"))?;
    let mut mem = std::fs::File::open("/proc/self/mem")?;
    mem.seek(SeekFrom::Start(range.0))?;
    let mut bytes = vec![0u8; (range.1 - range.0) as usize];
    mem.read_exact(&mut bytes)?;
    Ok(std::sync::Arc::from(bytes))
}

pub use crate::host_vdso32::vdso32_image;

/// Reads the vDSO parts from a maps text (absent parts count 0 pages).
pub fn vdso_layout_from_maps(maps: &str) -> VdsoLayout {
    let mut layout = VdsoLayout { vvar_pages: 0, vvar_vclock_pages: 0, vdso_pages: 0, ..VdsoLayout::default() };
    for line in maps.lines().filter_map(procfs::parse::parse_maps_line) {
        let pages = line.end.saturating_sub(line.start) / abi::PAGE_SIZE;
        match line.name.as_str() {
            "[vvar]" => layout.vvar_pages += pages,
            "[vvar_vclock]" => layout.vvar_vclock_pages += pages,
            "[vdso]" => layout.vdso_pages += pages,
            _ => {}
        }
    }
    layout
}
