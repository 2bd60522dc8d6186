//! `/proc/PID/maps`.

use mm::vma::Vma;
use mm::{Kernel, Mm, Pid, SysResult};

/// The name column of a VMA, as get_vma_name chooses it: file path (with ` (deleted)`), a
/// special mapping's name, `[heap]`, `[stack]`, or nothing.
pub fn vma_name(k: &Kernel, mm: &Mm, v: &Vma) -> Option<String> {
    let mut s = String::new();
    name_of(k, mm, v)?.push_to(&mut s);
    Some(s)
}

/// A VMA's name column, borrowed from where it is kept.
enum Name<'a> {
    /// A file's path, and whether the file was deleted.
    Path(&'a str, bool),
    /// A fixed name (`[heap]`, `[vdso]`, ...).
    Fixed(&'a str),
}

impl Name<'_> {
    fn push_to(&self, s: &mut String) {
        match *self {
            Name::Path(path, deleted) => {
                // seq_path escapes a newline in a path.
                if path.contains('\n') {
                    s.push_str(&path.replace('\n', "\\012"));
                } else {
                    s.push_str(path);
                }
                if deleted {
                    s.push_str(" (deleted)");
                }
            }
            Name::Fixed(name) => s.push_str(name),
        }
    }
}

fn name_of<'a>(k: &'a Kernel, mm: &Mm, v: &Vma) -> Option<Name<'a>> {
    if let Some(f) = v.file {
        let file = k.file(f.file);
        return Some(Name::Path(&file.path, file.deleted()));
    }
    if let Some(sp) = v.special {
        return Some(Name::Fixed(sp.name()));
    }
    let heap = if mm.space.heap_name_touching {
        v.start <= mm.brk && v.end >= mm.start_brk
    } else {
        v.start < mm.brk && v.end > mm.start_brk
    };
    if heap {
        return Some(Name::Fixed("[heap]"));
    }
    if v.start <= mm.start_stack && v.end >= mm.start_stack {
        return Some(Name::Fixed("[stack]"));
    }
    None
}

/// One maps line (with its newline).
pub fn maps_line(k: &Kernel, mm: &Mm, v: &Vma) -> String {
    let mut s = String::with_capacity(96);
    push_maps_line(&mut s, k, mm, v);
    s
}

/// Appends one maps line (with its newline) to `s`: a whole text is written into one
/// buffer, as a replay makes one for each piece a program reads.
pub(crate) fn push_maps_line(s: &mut String, k: &Kernel, mm: &Mm, v: &Vma) {
    let (pgoff, major, minor, ino) = match v.file {
        Some(f) => {
            let file = k.file(f.file);
            (v.pgoff << 12, file.major, file.minor, file.ino)
        }
        None => (0, 0, 0, 0),
    };
    let p = v.flags.perms();
    let line = s.len();
    push_numbers(s, v.start, v.end, std::str::from_utf8(&p).unwrap_or("????"), pgoff, (major, minor), ino);
    if let Some(name) = name_of(k, mm, v) {
        pad_to_name(s, line, name_column(mm));
        name.push_to(s);
    }
    s.push('\n');
}

/// Where seq_pad starts the name column: 25 + 6 * sizeof(void *) - 1, so column 72 on a
/// 64-bit kernel (ia32 compat processes included) and column 48 on a native i386 one.
pub fn name_column(mm: &Mm) -> usize {
    let long_bytes = if mm.space.native_32bit_kernel() { 4 } else { 8 };
    25 + 6 * long_bytes - 1
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn header(
    start: u64,
    end: u64,
    perms: &str,
    pgoff: u64,
    major: u32,
    minor: u32,
    ino: u64,
    name: Option<&str>,
    name_column: usize,
) -> String {
    let mut s = String::with_capacity(96);
    push_numbers(&mut s, start, end, perms, pgoff, (major, minor), ino);
    if let Some(name) = name {
        pad_to_name(&mut s, 0, name_column);
        s.push_str(name);
    }
    s.push('\n');
    s
}

/// Appends a line's columns before the name: `START-END PERMS OFFSET MAJ:MIN INO `. Written
/// into bytes on the stack and appended at once: a replay makes a whole text for each piece
/// of one a program reads.
fn push_numbers(s: &mut String, start: u64, end: u64, perms: &str, pgoff: u64, (major, minor): (u32, u32), ino: u64) {
    let mut buf = Columns::default();
    buf.hex(start, 8);
    buf.push(b"-");
    buf.hex(end, 8);
    buf.push(b" ");
    buf.push(perms.as_bytes());
    buf.push(b" ");
    buf.hex(pgoff, 8);
    buf.push(b" ");
    buf.hex(u64::from(major), 2);
    buf.push(b":");
    buf.hex(u64::from(minor), 2);
    buf.push(b" ");
    buf.decimal(ino);
    buf.push(b" ");
    s.push_str(buf.text());
}

/// The columns of a line, as they are written.
struct Columns {
    bytes: [u8; 96],
    len: usize,
}

impl Default for Columns {
    fn default() -> Self {
        Columns { bytes: [0; 96], len: 0 }
    }
}

impl Columns {
    /// What was written (ASCII only).
    fn text(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }

    fn push(&mut self, b: &[u8]) {
        // (Longer than any line's columns: 2 * 16 + 4 + 16 + 2 * 8 + 20 and separators.)
        let end = (self.len + b.len()).min(self.bytes.len());
        self.bytes[self.len..end].copy_from_slice(&b[..end - self.len]);
        self.len = end;
    }

    /// `n` in lowercase hexadecimal, zero-padded to `width` digits (`{n:0width$x}`):
    /// written by hand, as every replay renders the model's maps text beside each one a
    /// program read (the formatting machinery was a tenth of replaying `cat /proc/self/maps`).
    fn hex(&mut self, n: u64, width: usize) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let digits = (16 - n.leading_zeros() as usize / 4).max(1).max(width).min(16);
        let mut b = [0u8; 16];
        for (i, d) in b[..digits].iter_mut().enumerate() {
            *d = DIGITS[((n >> (4 * (digits - 1 - i))) & 0xf) as usize];
        }
        self.push(&b[..digits]);
    }

    /// `n` in decimal.
    fn decimal(&mut self, n: u64) {
        let mut b = [0u8; 20];
        let mut at = b.len();
        let mut n = n;
        loop {
            at -= 1;
            b[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&b[at..]);
    }
}

/// seq_pad: the name of the line that began at `line` starts after `name_column`, with at
/// least the one space already written.
fn pad_to_name(s: &mut String, line: usize, name_column: usize) {
    const SPACES: &str = "                                                                                ";
    let short = (line + name_column).saturating_sub(s.len());
    s.push_str(&SPACES[..short.min(SPACES.len())]);
    s.push(' ');
}

/// The `[vsyscall]` gate line every 64-bit process shows last.
pub const VSYSCALL_LINE: &str = "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

/// `/proc/PID/maps`.
pub fn maps(k: &Kernel, pid: Pid) -> SysResult<String> {
    let mm = k.mm(pid)?;
    let mut s = String::with_capacity(mm.vmas.len() * 100 + VSYSCALL_LINE.len());
    for v in mm.vmas.iter() {
        push_maps_line(&mut s, k, mm, v);
    }
    // A 32-bit process has no vsyscall page.
    if mm.space.vsyscall {
        s.push_str(VSYSCALL_LINE);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_the_formatter_writes_them() {
        for n in [0u64, 1, 9, 10, 15, 16, 255, 256, 0xfe, 0x1000, 0x7fff_ffff_f000, 0xffff_ffff_ff60_0000, u64::MAX] {
            for width in [2, 8, 16] {
                let mut c = Columns::default();
                c.hex(n, width);
                assert_eq!(c.text(), format!("{n:0width$x}"), "{n:#x} width {width}");
            }
            let mut c = Columns::default();
            c.decimal(n);
            assert_eq!(c.text(), n.to_string());
        }
    }
}
