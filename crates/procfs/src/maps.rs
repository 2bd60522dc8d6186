//! `/proc/PID/maps`.

use mm::vma::Vma;
use mm::{Kernel, Mm, Pid, SysResult};

/// The name column of a VMA, as get_vma_name chooses it: file path (with ` (deleted)`), a
/// special mapping's name, `[heap]`, `[stack]`, or nothing.
pub fn vma_name(k: &Kernel, mm: &Mm, v: &Vma) -> Option<String> {
    if let Some(f) = v.file {
        let file = k.file(f.file);
        let mut s = file.path.replace('\n', "\\012");
        if file.deleted() {
            s.push_str(" (deleted)");
        }
        return Some(s);
    }
    if let Some(sp) = v.special {
        return Some(sp.name().to_string());
    }
    let heap = if mm.space.heap_name_touching {
        v.start <= mm.brk && v.end >= mm.start_brk
    } else {
        v.start < mm.brk && v.end > mm.start_brk
    };
    if heap {
        return Some("[heap]".into());
    }
    if v.start <= mm.start_stack && v.end >= mm.start_stack {
        return Some("[stack]".into());
    }
    None
}

/// One maps line (with its newline).
pub fn maps_line(k: &Kernel, mm: &Mm, v: &Vma) -> String {
    let (pgoff, major, minor, ino) = match v.file {
        Some(f) => {
            let file = k.file(f.file);
            (v.pgoff << 12, file.major, file.minor, file.ino)
        }
        None => (0, 0, 0, 0),
    };
    let p = v.flags.perms();
    header(
        v.start,
        v.end,
        std::str::from_utf8(&p).unwrap_or("????"),
        pgoff,
        major,
        minor,
        ino,
        vma_name(k, mm, v).as_deref(),
        name_column(mm),
    )
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
    push_hex(&mut s, start, 8);
    s.push('-');
    push_hex(&mut s, end, 8);
    s.push(' ');
    s.push_str(perms);
    s.push(' ');
    push_hex(&mut s, pgoff, 8);
    s.push(' ');
    push_hex(&mut s, u64::from(major), 2);
    s.push(':');
    push_hex(&mut s, u64::from(minor), 2);
    s.push(' ');
    push_decimal(&mut s, ino);
    s.push(' ');
    if let Some(name) = name {
        // seq_pad: the name starts after `name_column`, with at least the one space already
        // written.
        while s.len() < name_column {
            s.push(' ');
        }
        s.push(' ');
        s.push_str(name);
    }
    s.push('\n');
    s
}

/// Appends `n` in lowercase hexadecimal, zero-padded to `width` digits (`{n:0width$x}`):
/// written by hand, as every replay renders the model's maps text beside each one a program
/// read (the formatting machinery was a tenth of replaying `cat /proc/self/maps`).
fn push_hex(s: &mut String, n: u64, width: usize) {
    let digits = (16 - n.leading_zeros() as usize / 4).max(1).max(width);
    for i in (0..digits).rev() {
        let d = ((n >> (4 * i)) & 0xf) as u8;
        s.push(char::from(if d < 10 { b'0' + d } else { b'a' + d - 10 }));
    }
}

/// Appends `n` in decimal.
fn push_decimal(s: &mut String, n: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut n = n;
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    s.extend(buf[at..].iter().map(|&b| char::from(b)));
}

/// The `[vsyscall]` gate line every 64-bit process shows last.
pub const VSYSCALL_LINE: &str = "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

/// `/proc/PID/maps`.
pub fn maps(k: &Kernel, pid: Pid) -> SysResult<String> {
    let mm = k.mm(pid)?;
    let mut s = String::new();
    for v in mm.vmas.iter() {
        s.push_str(&maps_line(k, mm, v));
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
                let mut s = String::new();
                push_hex(&mut s, n, width);
                assert_eq!(s, format!("{n:0width$x}"), "{n:#x} width {width}");
            }
            let mut s = String::new();
            push_decimal(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }
}
