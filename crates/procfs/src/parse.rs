//! Reading `/proc` text back: the one parser of maps and smaps lines, and the one line diff,
//! that the replay, the host comparison and the loader share (a maps or smaps text of the
//! real kernel, or of the model, into fields).

use mm::VmFlags;
use std::fmt::Write;

/// The fields of one maps line (also an smaps record's header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapsLine {
    /// Start address.
    pub start: u64,
    /// End address.
    pub end: u64,
    /// The `rwxp` / `rwxs` column.
    pub perms: String,
    /// File offset in bytes.
    pub offset: u64,
    /// Device major.
    pub major: u32,
    /// Device minor.
    pub minor: u32,
    /// Inode.
    pub ino: u64,
    /// Name column (may be empty): a path, `[heap]`, `[stack]`, `[vdso]`, ...
    pub name: String,
}

/// Parses one maps line: `start-end perms offset maj:min inode [name]`: the first five
/// fields end at single spaces, and the name is the rest with its leading blanks gone.
/// Read byte by byte: a replay parses every maps text a program read, and the model's
/// rendering beside it (splitting at `char` patterns cost some 2,900 instructions a line).
pub fn parse_maps_line(line: &str) -> Option<MapsLine> {
    let bytes = line.as_bytes();
    let mut field = [""; 5];
    let mut at = 0;
    let mut name = "";
    for (k, f) in field.iter_mut().enumerate() {
        match memchr::memchr(b' ', &bytes[at..]) {
            Some(i) => {
                *f = &line[at..at + i];
                at += i + 1;
            }
            // Only the inode may end the line.
            None if k == 4 => {
                *f = &line[at..];
                at = line.len();
            }
            None => return None,
        }
    }
    if at < line.len() {
        name = line[at..].trim_start();
    }
    let [range, perms, offset, dev, ino] = field;
    let (s, e) = range.split_at_checked(range.bytes().position(|b| b == b'-')?)?;
    let (start, end) = (hex(s)?, hex(&e[1..])?);
    // Linux never shows a range that ends before it starts: not a maps line.
    if end < start {
        return None;
    }
    let colon = dev.bytes().position(|b| b == b':')?;
    Some(MapsLine {
        start,
        end,
        perms: perms.to_string(),
        offset: hex(offset)?,
        major: u32::try_from(hex(&dev[..colon])?).ok()?,
        minor: u32::try_from(hex(&dev[colon + 1..])?).ok()?,
        ino: ino.parse().ok()?,
        name: name.to_string(),
    })
}

/// A hexadecimal number as `u64::from_str_radix(s, 16)` reads it (a `+` may lead), without
/// its per-digit dispatch.
fn hex(s: &str) -> Option<u64> {
    hex_bytes(s.as_bytes())
}

/// [`hex`] of bytes (a part of a text cut at ASCII bytes).
pub fn hex_bytes(s: &[u8]) -> Option<u64> {
    let digits = s.strip_prefix(b"+").unwrap_or(s);
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        n.checked_mul(16)?.checked_add(u64::from(d))
    })
}

/// The whole lines of a maps text (a last line cut short by a read is left out).
pub fn parse_maps(text: &str) -> Vec<MapsLine> {
    let mut lines = Vec::new();
    let mut at = 0;
    while let Some(i) = memchr::memchr(b'\n', &text.as_bytes()[at..]) {
        lines.extend(parse_maps_line(&text[at..at + i]));
        at += i + 1;
    }
    lines
}

/// One VMA of an smaps text, with the fields the comparisons use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmapsVma {
    /// Its header line.
    pub maps: MapsLine,
    /// VmFlags.
    pub flags: VmFlags,
    /// Anonymous kB (tells whether the VMA has an anon_vma).
    pub anonymous_kb: u64,
    /// Rss kB (tells whether the VMA has page tables).
    pub rss_kb: u64,
}

/// Parses an smaps text into its VMAs.
pub fn parse_smaps(text: &str) -> Vec<SmapsVma> {
    let mut out: Vec<SmapsVma> = Vec::new();
    let kb = |rest: &str| rest.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
    for line in text.lines() {
        if let Some(m) = parse_maps_line(line) {
            out.push(SmapsVma { maps: m, flags: VmFlags::empty(), anonymous_kb: 0, rss_kb: 0 });
            continue;
        }
        let Some(last) = out.last_mut() else { continue };
        if let Some(rest) = line.strip_prefix("VmFlags:") {
            last.flags = VmFlags::from_smaps_letters(rest);
        } else if let Some(rest) = line.strip_prefix("Anonymous:") {
            last.anonymous_kb = kb(rest);
        } else if let Some(rest) = line.strip_prefix("Rss:") {
            last.rss_kb = kb(rest);
        }
    }
    out
}

/// The lines only in `left` (marked `- LEFT:`) and only in `right` (`+ RIGHT:`), each side
/// in its order; the labels are padded to one width.
///
/// Two texts of one shape (as many lines, each pair both maps lines or both fields of one
/// name: smaps records whose counters differ, a maps line whose range moved) are compared
/// line by line instead: each pair that differs is shown side by
/// side, under the maps line of the mapping it belongs to (`  in 7f…-7f… rw-p …`) when that
/// line is the same on both sides, since an smaps field such as `Rss:` says nothing alone.
pub fn diff_lines(left_label: &str, left: &str, right_label: &str, right: &str) -> String {
    let l: Vec<&str> = left.lines().collect();
    let r: Vec<&str> = right.lines().collect();
    let width = left_label.len().max(right_label.len());
    let mut out = String::new();
    // Two lines of one shape: both maps lines, or fields of one name (`Rss:`).
    let same_shape = |x: &&str, y: &&str| {
        x == y
            || (parse_maps_line(x).is_some() && parse_maps_line(y).is_some())
            || matches!((x.split_once(':'), y.split_once(':')), (Some((a, _)), Some((b, _))) if a == b)
    };
    if l.len() == r.len() && l.iter().zip(&r).all(|(x, y)| same_shape(x, y)) {
        let mut header: Option<&str> = None;
        let mut shown: Option<&str> = None;
        for (x, y) in l.iter().zip(&r) {
            if x == y {
                if parse_maps_line(x).is_some() {
                    header = Some(x);
                }
                continue;
            }
            if let Some(h) = header.filter(|h| parse_maps_line(x).is_none() && shown != Some(*h)) {
                let _ = writeln!(out, "  in {h}");
                shown = Some(h);
            }
            let _ = writeln!(out, "  - {left_label:<width$}: {x}");
            let _ = writeln!(out, "  + {right_label:<width$}: {y}");
        }
        return out;
    }
    for x in l.iter().filter(|x| !r.contains(x)) {
        let _ = writeln!(out, "  - {left_label:<width$}: {x}");
    }
    for x in r.iter().filter(|x| !l.contains(x)) {
        let _ = writeln!(out, "  + {right_label:<width$}: {x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_maps_lines_parse_as_splitting_at_spaces_parses_them() {
        // The reading by `str` patterns this parser replaced, as the reference.
        fn by_patterns(line: &str) -> Option<MapsLine> {
            let mut it = line.splitn(6, ' ');
            let range = it.next()?;
            let perms = it.next()?.to_string();
            let offset = u64::from_str_radix(it.next()?, 16).ok()?;
            let dev = it.next()?;
            let ino = it.next()?.parse().ok()?;
            let name = it.next().unwrap_or("").trim_start().to_string();
            let (s, e) = range.split_once('-')?;
            let (maj, min) = dev.split_once(':')?;
            let (start, end) = (u64::from_str_radix(s, 16).ok()?, u64::from_str_radix(e, 16).ok()?);
            (end >= start).then_some(())?;
            let (major, minor) = (u32::from_str_radix(maj, 16).ok()?, u32::from_str_radix(min, 16).ok()?);
            Some(MapsLine { start, end, perms, offset, major, minor, ino, name })
        }
        for line in [
            "1000-2000 r--p 00000000 fe:00 247030                     /usr/bin/cat",
            "1000-2000 r--p 00000000 fe:00 247030 ",
            "1000-2000 r--p 00000000 fe:00 247030",
            "1000-2000 r--p 00000000 fe:00",
            "1000-2000 r--p 0 fe:00 1 \t/a b  c ",
            "1000-2000  r--p 0 fe:00 1 x",
            "1000-2000-3000 r--p 0 fe:00 1 x",
            "+1000-2000 r--p +0 fe:+00 +1 x",
            "1000-2000 r--p 0 fe:00:1 1 x",
            "1000 r--p 0 fe:00 1 x",
            "2000-1000 r--p 0 fe:00 1 x",
            "1000-2000 r--p 0 fe00 1 x",
            "",
            " ",
            "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]",
            "0-ffffffffffffffffff r--p 0 fe:00 1 x",
            "0-1 r--p 0 100000000:00 1 x",
            "0-1 r--p 0 fe:ffffffff 1 x",
            "0-+ r--p 0 fe:00 1 x",
            "0-AbC r--p 0 fe:00 1 x",
            "0-1g r--p 0 fe:00 1 x",
        ] {
            assert_eq!(parse_maps_line(line), by_patterns(line), "{line:?}");
        }
    }

    #[test]
    fn maps_lines_parse_and_a_cut_line_is_left_out() {
        let text = "55b1d9419000-55b1d941b000 r--p 00000000 fe:00 247030                     /usr/bin/cat\n\
                    7ffc18998000-7ffc189b9000 rw-p 00000000 00:00 0                          [stack]\n\
                    7ffc189b9000-7ffc18";
        let lines = parse_maps(text);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].start, 0x55b1d9419000);
        assert_eq!((lines[0].major, lines[0].minor, lines[0].ino), (0xfe, 0, 247030));
        assert_eq!(lines[0].name, "/usr/bin/cat");
        assert_eq!(lines[1].name, "[stack]");
        assert_eq!(lines[1].end, 0x7ffc189b9000);
    }

    #[test]
    fn a_range_that_ends_before_it_starts_is_not_a_maps_line() {
        // Found by fuzzing the replay: a page count of such a line underflowed.
        assert_eq!(parse_maps_line("7ffff7fc5000-7ffff7fc1000 r-xp 00000000 00:00 0 [vdso]"), None);
        assert!(parse_maps_line("7ffff7fc1000-7ffff7fc5000 r-xp 00000000 00:00 0 [vdso]").is_some());
    }

    #[test]
    fn the_diff_lists_each_side_s_own_lines() {
        let d = diff_lines("log", "a\nb\nc\n", "model", "a\nc\nd\n");
        assert_eq!(d, "  - log  : b\n  + model: d\n");
    }

    #[test]
    fn texts_of_as_many_lines_are_compared_line_by_line_under_their_mapping() {
        let head = "7ffff7d89000-7ffff7d8c000 ---p 00002000 fe:00 12 /f";
        let log = format!("{head}\nSize: 12 kB\nRss: 12 kB\nPss: 12 kB\n");
        let model = format!("{head}\nSize: 12 kB\nRss: 8 kB\nPss: 8 kB\n");
        let d = diff_lines("log", &log, "model", &model);
        assert_eq!(
            d,
            format!(
                "  in {head}\n  - log  : Rss: 12 kB\n  + model: Rss: 8 kB\n  - log  : Pss: 12 kB\n  + model: Pss: 8 kB\n"
            )
        );
        // A maps line that differs is its own context.
        let d = diff_lines("host", "a\n1000-2000 r--p 0 00:00 0\n", "model", "a\n1000-3000 r--p 0 00:00 0\n");
        assert_eq!(d, "  - host : 1000-2000 r--p 0 00:00 0\n  + model: 1000-3000 r--p 0 00:00 0\n");
    }
}
