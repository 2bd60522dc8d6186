//! The identity pass's fast lane: the commonest lines it wants, read where they lie instead
//! of being parsed. In a `strace -f -o` log nearly every line the pass keeps is an `openat`
//! of an absolute path or a stat of one (2,123 of 2,221 lines in the `python3` trace of the
//! bench's `replay-real` row); building a whole event for each (its argument list, strings,
//! structure fields, flag names looked up) was most of the pass. [`read`] takes such a line
//! apart by its shape alone and says what the pass would have learned from its event; a
//! line of any other shape (a relative path, an escape in a string, a string cut at `-s`, a
//! `-y` decoration, a time stamp, an unknown flag) is left to the parser, as is every line
//! of a log whose lines carry no pid (see `crate::identity`, which merges both in log order).

use crate::identity::Identity;

/// What one line showed the identity pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Direct {
    /// `open`/`openat` of `path` returned `fd`; `written` when its flags may write the file.
    Opened { pid: u32, fd: u64, path: String, written: bool },
    /// A stat of `target` showed the file `id`, with the size and modification time shown.
    Stat { pid: u32, target: Target, id: Identity, size: Option<u64>, mtime: Option<i64> },
    /// A stat whose result shows no identity (printed without `-v`): nothing to learn.
    Nothing,
}

/// The file a stat looked at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Path(String),
    /// The file behind a descriptor of the same process.
    Fd(u64),
}

/// Reads the line `line` of a call named `name` whose argument list opens at `open`, when it
/// has one of the shapes this lane knows; `None` leaves it to the parser. The line must be
/// `PID  NAME(` with nothing else before the name.
pub(crate) fn read(line: &[u8], name: &[u8], open: usize) -> Option<Direct> {
    let pid = pid_before(line, open.checked_sub(name.len())?)?;
    let mut c = Reader { line, at: open + 1 };
    let direct = match name {
        b"openat" => {
            c.dirfd()?;
            c.sep()?;
            opened(&mut c, pid)?
        }
        b"open" => opened(&mut c, pid)?,
        b"newfstatat" => {
            let dirfd = c.dirfd()?;
            c.sep()?;
            let path = c.string()?;
            let target = match (path.is_empty(), dirfd) {
                (true, Some(fd)) => Target::Fd(fd),
                (false, _) if path.starts_with('/') => Target::Path(path),
                _ => return None,
            };
            c.sep()?;
            let stat = c.stat()?;
            c.sep()?;
            c.word()?;
            c.result()?;
            stat.direct(pid, target)
        }
        b"fstat" => {
            let fd = c.number()?;
            c.sep()?;
            let stat = c.stat()?;
            c.result()?;
            stat.direct(pid, Target::Fd(fd))
        }
        b"stat" | b"lstat" => {
            let path = c.string().filter(|p| p.starts_with('/'))?;
            c.sep()?;
            let stat = c.stat()?;
            c.result()?;
            stat.direct(pid, Target::Path(path))
        }
        _ => return None,
    };
    Some(direct)
}

/// The rest of an `open`/`openat` line from its path on.
fn opened(c: &mut Reader<'_>, pid: u32) -> Option<Direct> {
    let path = c.string().filter(|p| p.starts_with('/'))?;
    c.sep()?;
    let written = open_flags_write(c.word()?)?;
    if c.peek() == Some(b',') {
        // The mode of a creating open.
        c.sep()?;
        c.number_octal()?;
    }
    let fd = c.result()?;
    Some(Direct::Opened { pid, fd, path, written })
}

/// The pid of a line whose call name starts at `name_at`: the line must begin with its
/// digits and then only spaces up to the name.
fn pid_before(line: &[u8], name_at: usize) -> Option<u32> {
    let head = line.get(..name_at)?;
    let digits = head.iter().take_while(|b| b.is_ascii_digit()).count();
    let spaces = &head[digits..];
    if digits == 0 || digits > 9 || spaces.is_empty() || spaces.iter().any(|&b| b != b' ') {
        return None;
    }
    std::str::from_utf8(&head[..digits]).ok()?.parse().ok()
}

/// Whether open flags `word` may write the file (an access mode other than read-only,
/// `O_CREAT` or `O_TRUNC`, the bits the pass looks at); `None` for a name this lane does not
/// know (the parser evaluates it).
fn open_flags_write(word: &[u8]) -> Option<bool> {
    const READ: [&[u8]; 10] = [
        b"O_RDONLY",
        b"O_CLOEXEC",
        b"O_NONBLOCK",
        b"O_DIRECTORY",
        b"O_NOFOLLOW",
        b"O_NOCTTY",
        b"O_LARGEFILE",
        b"O_PATH",
        b"O_NOATIME",
        b"O_APPEND",
    ];
    const WRITE: [&[u8]; 4] = [b"O_WRONLY", b"O_RDWR", b"O_CREAT", b"O_TRUNC"];
    let mut written = false;
    for flag in word.split(|&b| b == b'|') {
        if WRITE.contains(&flag) {
            written = true;
        } else if !READ.contains(&flag) {
            return None;
        }
    }
    Some(written)
}

/// The four fields of a stat result the pass reads.
#[derive(Default)]
struct StatFields {
    dev: Option<(u32, u32)>,
    ino: Option<u64>,
    size: Option<u64>,
    mtime: Option<i64>,
    /// `st_mode` shows a symbolic link (see `crate::identity::symlink_mode_bits`).
    symlink: bool,
}

impl StatFields {
    fn direct(self, pid: u32, target: Target) -> Direct {
        match (self.dev, self.ino) {
            (Some((major, minor)), Some(ino)) if !self.symlink => {
                // As the pass reads an event: the time only beside a size.
                let mtime = self.size.and(self.mtime);
                Direct::Stat { pid, target, id: Identity { major, minor, ino }, size: self.size, mtime }
            }
            _ => Direct::Nothing,
        }
    }
}

/// A position in a line being read.
struct Reader<'l> {
    line: &'l [u8],
    at: usize,
}

impl<'l> Reader<'l> {
    fn peek(&self) -> Option<u8> {
        self.line.get(self.at).copied()
    }

    /// The `, ` between two arguments.
    fn sep(&mut self) -> Option<()> {
        (self.line.get(self.at..self.at + 2)? == b", ").then(|| self.at += 2)
    }

    /// A run of the characters of flag names (`O_RDONLY|O_CLOEXEC`, `AT_EMPTY_PATH`, `0`).
    fn word(&mut self) -> Option<&'l [u8]> {
        let rest = self.line.get(self.at..)?;
        let len = rest
            .iter()
            .take_while(|&&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'|')
            .count();
        (len > 0).then(|| {
            self.at += len;
            &rest[..len]
        })
    }

    /// A plain decimal number (no sign, no leading zero but for `0`).
    fn number(&mut self) -> Option<u64> {
        let rest = self.line.get(self.at..)?;
        let len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let digits = &rest[..len];
        if len == 0 || len > 19 || (len > 1 && digits[0] == b'0') {
            return None;
        }
        self.at += len;
        digits.iter().try_fold(0u64, |n, &d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
    }

    /// A mode as strace prints it (`0644`, `0`).
    fn number_octal(&mut self) -> Option<()> {
        let rest = self.line.get(self.at..)?;
        let len = rest.iter().take_while(|b| (b'0'..=b'7').contains(b)).count();
        (len > 0 && rest[0] == b'0').then(|| self.at += len)
    }

    /// A number in decimal or `0x` hexadecimal (a device number's parts).
    fn number_or_hex(&mut self) -> Option<u64> {
        let rest = self.line.get(self.at..)?;
        if let Some(hex) = rest.strip_prefix(b"0x") {
            let len = hex.iter().take_while(|b| b.is_ascii_hexdigit()).count();
            if len == 0 || len > 16 {
                return None;
            }
            self.at += 2 + len;
            return u64::from_str_radix(std::str::from_utf8(&hex[..len]).ok()?, 16).ok();
        }
        self.number()
    }

    /// `AT_FDCWD` (`None`) or a descriptor number.
    fn dirfd(&mut self) -> Option<Option<u64>> {
        if self.line.get(self.at..)?.starts_with(b"AT_FDCWD") {
            self.at += b"AT_FDCWD".len();
            return Some(None);
        }
        self.number().map(Some)
    }

    /// A string shown whole and without escapes.
    fn string(&mut self) -> Option<String> {
        let rest = self.line.get(self.at..)?.strip_prefix(b"\"")?;
        let len = memchr::memchr2(b'"', b'\\', rest)?;
        if rest[len] != b'"' || rest.get(len + 1) == Some(&b'.') {
            return None;
        }
        let text = std::str::from_utf8(&rest[..len]).ok()?.to_string();
        self.at += len + 2;
        Some(text)
    }

    /// A stat structure of plain `st_` fields.
    fn stat(&mut self) -> Option<StatFields> {
        let rest = self.line.get(self.at..)?.strip_prefix(b"{")?;
        if !rest.starts_with(b"st_") {
            return None;
        }
        let close = memchr::memchr(b'}', rest)?;
        // An elided tail (`, ...}`) is no field.
        let body = rest[..close].strip_suffix(b", ...").unwrap_or(&rest[..close]);
        if memchr::memchr3(b'"', b'{', b'\n', body).is_some() {
            return None;
        }
        let mut fields = StatFields::default();
        for text in crate::identity_cut::stat_fields(body) {
            field(text.strip_prefix(b"st_")?, &mut fields)?;
        }
        self.at += 1 + close + 1;
        Some(fields)
    }

    /// `) = N` closing the line, with nothing after `N` but spaces; returns `N`.
    fn result(&mut self) -> Option<u64> {
        self.line.get(self.at..)?.starts_with(b") = ").then(|| self.at += 4)?;
        let n = self.number()?;
        self.line[self.at..].iter().all(u8::is_ascii_whitespace).then_some(n)
    }
}

/// Reads one field of a stat structure, its `st_` gone (`dev=…`, `ino=…`), into `fields`;
/// `None` for a value of a shape this lane does not read. Other fields are passed over.
fn field(text: &[u8], fields: &mut StatFields) -> Option<()> {
    let eq = memchr::memchr(b'=', text)?;
    let (name, value) = (&text[..eq], &text[eq + 1..]);
    let mut c = Reader { line: value, at: 0 };
    let whole = |c: &Reader<'_>| c.at == value.len();
    match name {
        b"dev" => {
            if let Some(args) = value.strip_prefix(b"makedev(") {
                let mut c = Reader { line: args, at: 0 };
                let major = c.number_or_hex()?;
                c.sep()?;
                let minor = c.number_or_hex()?;
                (c.line.get(c.at..)? == b")").then_some(())?;
                fields.dev = Some((major as u32, minor as u32));
            } else {
                let dev = c.number_or_hex().filter(|_| whole(&c))?;
                fields.dev = Some(loader::host::dev_major_minor(dev));
            }
        }
        b"mode" => {
            let digits = value.strip_prefix(b"0").filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
            let octal = || u64::from_str_radix(std::str::from_utf8(digits?).ok()?, 8).ok();
            fields.symlink = value.starts_with(b"S_IFLNK|") || octal().is_some_and(crate::identity::symlink_mode_bits)
        }
        b"ino" => fields.ino = Some(c.number().filter(|_| whole(&c))?),
        b"size" => fields.size = Some(c.number().filter(|_| whole(&c))?),
        b"mtime" => {
            let negative = value.first() == Some(&b'-');
            c.at = usize::from(negative);
            let n = i64::try_from(c.number()?).ok()?;
            // A comment with the date may follow.
            let after = &value[c.at..];
            if !(after.is_empty() || after.starts_with(b" /*") && after.ends_with(b"*/")) {
                return None;
            }
            fields.mtime = Some(if negative { -n } else { n });
        }
        _ => {}
    }
    Some(())
}

impl Direct {
    /// The line of a log that the parser reads as the same call (for a log where the pass
    /// gives its lines back to the parser: see `crate::identity`).
    pub(crate) fn to_line(&self) -> Option<String> {
        Some(match self {
            Direct::Opened { pid, fd, path, written } => {
                let flags = if *written { "O_RDWR" } else { "O_RDONLY" };
                format!("{pid} openat(AT_FDCWD, \"{path}\", {flags}) = {fd}\n")
            }
            Direct::Stat { pid, target, id, size, mtime } => {
                let mut st = format!("{{st_dev=makedev({:#x}, {:#x}), st_ino={}", id.major, id.minor, id.ino);
                if let Some(s) = size {
                    st.push_str(&format!(", st_size={s}"));
                }
                if let Some(t) = mtime {
                    st.push_str(&format!(", st_mtime={t}"));
                }
                st.push('}');
                match target {
                    Target::Path(p) => format!("{pid} newfstatat(AT_FDCWD, \"{p}\", {st}, 0) = 0\n"),
                    Target::Fd(fd) => format!("{pid} fstat({fd}, {st}) = 0\n"),
                }
            }
            Direct::Nothing => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(line: &str) -> Option<Direct> {
        let open = line.find('(').unwrap();
        let start = line[..open].rfind(' ').map_or(0, |i| i + 1);
        read(line.as_bytes(), &line.as_bytes()[start..open], open)
    }

    #[test]
    fn opens_and_stats_of_absolute_paths_are_read_in_place() {
        assert_eq!(
            direct("7  openat(AT_FDCWD, \"/lib/libc.so.6\", O_RDONLY|O_CLOEXEC) = 3\n"),
            Some(Direct::Opened { pid: 7, fd: 3, path: "/lib/libc.so.6".into(), written: false })
        );
        assert_eq!(
            direct("7 openat(AT_FDCWD, \"/tmp/x\", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 4"),
            Some(Direct::Opened { pid: 7, fd: 4, path: "/tmp/x".into(), written: true })
        );
        let id = Identity { major: 0xfe, minor: 1, ino: 326279 };
        assert_eq!(
            direct(
                "9 newfstatat(AT_FDCWD, \"/a\", {st_dev=makedev(0xfe, 0x1), st_ino=326279, st_mode=S_IFREG|0755, \
                 st_size=1922136, st_atime=1733000000 /* 2024-11-30T20:53:20+0000 */, \
                 st_mtime=1731000000 /* 2024-11-07T17:20:00, local */, st_mtime_nsec=0}, 0) = 0\n"
            ),
            Some(Direct::Stat {
                pid: 9,
                target: Target::Path("/a".into()),
                id,
                size: Some(1922136),
                mtime: Some(1731000000)
            })
        );
        assert_eq!(
            direct("9 fstat(3, {st_dev=0xfe01, st_ino=326279, st_size=5, ...}) = 0"),
            Some(Direct::Stat { pid: 9, target: Target::Fd(3), id, size: Some(5), mtime: None })
        );
        assert_eq!(
            direct("9 newfstatat(3, \"\", {st_dev=makedev(0xfe, 0x1), st_ino=326279}, AT_EMPTY_PATH) = 0"),
            Some(Direct::Stat { pid: 9, target: Target::Fd(3), id, size: None, mtime: None })
        );
        assert_eq!(direct("9 stat(\"/a\", {st_mode=S_IFREG|0644, st_size=5, ...}) = 0"), Some(Direct::Nothing));
    }

    #[test]
    fn other_shapes_are_left_to_the_parser() {
        for line in [
            "openat(AT_FDCWD, \"/a\", O_RDONLY) = 3",
            "[pid 7] openat(AT_FDCWD, \"/a\", O_RDONLY) = 3",
            "7 12:00:00 openat(AT_FDCWD, \"/a\", O_RDONLY) = 3",
            "7 openat(AT_FDCWD, \"a\", O_RDONLY) = 3",
            "7 openat(AT_FDCWD, \"/a\\n\", O_RDONLY) = 3",
            "7 openat(AT_FDCWD, \"/usr/lib/x86_64-linux-gnu/libc.s\"..., O_RDONLY) = 3",
            "7 openat(AT_FDCWD</w>, \"/a\", O_RDONLY) = 3</a>",
            "7 openat(AT_FDCWD, \"/a\", O_RDONLY|0x800000) = 3",
            "7 openat(AT_FDCWD, \"/a\", O_RDONLY) = 3 <0.000012>",
            "7 openat(AT_FDCWD, \"/a\", O_RDONLY <unfinished ...>",
            "7 newfstatat(AT_FDCWD, \"\", {st_dev=makedev(0xfe, 0x1), st_ino=1}, AT_EMPTY_PATH) = 0",
            "7 newfstatat(AT_FDCWD, \"/a\", {st_dev=makedev(0xfe, 0x1), st_ino=01}, 0) = 0",
            "7 newfstatat(AT_FDCWD, \"/a\", {st_dev=makedev(0xfe, 0x1), st_ino=1, st_x={1}}, 0) = 0",
            "7 fstat(3, {st_dev=makedev(0xfe, 0x1), st_ino=1, st_mtime=5 junk}) = 0",
            "7 fstat(3, {st_dev=makedev(0xfe, 0x1), st_ino=1}) = 0 extra",
        ] {
            assert_eq!(direct(line), None, "{line}");
        }
    }

    #[test]
    fn a_read_line_written_back_reads_the_same() {
        for line in [
            "7 openat(AT_FDCWD, \"/tmp/x\", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 4\n",
            "7 openat(AT_FDCWD, \"/a\", O_RDONLY) = 3\n",
            "9 fstat(3, {st_dev=0xfe01, st_ino=326279, st_size=5, st_mtime=-3 /* x */}) = 0\n",
            "9 newfstatat(AT_FDCWD, \"/a\", {st_dev=makedev(0x103, 0x100001), st_ino=2}, 0) = 0\n",
        ] {
            let d = direct(line).unwrap();
            assert_eq!(direct(&d.to_line().unwrap()), Some(d), "{line}");
        }
    }
}
