//! The identity pass's shortcuts: lines cut down to what the pass reads before they are
//! parsed. A `newfstatat`, `fstat`, `stat` or `lstat` line printed with `-v` spends most
//! of its bytes on fields the pass never reads (mode, links, owners, block counts, three
//! time stamps with their comments), and those lines are most of what the pass parses
//! (1,391 of 2,223 lines, 590 of 733 KB, in the `python3` trace of the bench's
//! `replay-real` row); an `execve` line is mostly its argument and environment strings, of
//! which the pass reads only `PWD=`. Cutting them ([`push_stat`], [`push_execve`]) took the
//! pass over that trace from 3.8 to 2.8 ms. A line of any other shape is left whole for the
//! parser.

/// The fields of a stat result that the identity pass reads (see `crate::identity`): the mode
/// only to tell a symbolic link's own identity (an lstat's) from its target's.
const KEPT: [&[u8]; 5] = [b"st_dev", b"st_ino", b"st_mode", b"st_size", b"st_mtime"];

/// Appends `line` to `text` with the structure that is argument `arg` of the call whose
/// argument list opens at `open` (the index of its `(`) cut down to the [`KEPT`] fields.
/// Returns false, appending nothing, when the line does not have that shape: the arguments
/// before the structure are not plain words and strings, it is not a structure, or it holds
/// anything but plain fields (a string, a nested structure), or the line ends inside it.
pub(crate) fn push_stat(line: &[u8], open: usize, arg: usize, text: &mut Vec<u8>) -> bool {
    let Some((start, end)) = structure(line, open, arg) else { return false };
    let fields = &line[start + 1..end];
    text.extend_from_slice(&line[..=start]);
    let mut first = true;
    let mut keep = |field: &[u8]| {
        let name = field.split(|&b| b == b'=').next().unwrap_or_default();
        if KEPT.contains(&name) {
            if !first {
                text.extend_from_slice(b", ");
            }
            text.extend_from_slice(field);
            first = false;
        }
    };
    stat_fields(fields).for_each(&mut keep);
    text.extend_from_slice(&line[end..]);
    true
}

/// The fields of a stat structure's text (between its braces), each from its `st_` name to
/// the next `, st_`: a value such as `makedev(0xfe, 0)` or a time stamp's `/* … */` comment
/// may hold a comma, never a field name.
pub(crate) fn stat_fields(fields: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut from = Some(0);
    let mut at = 0;
    std::iter::from_fn(move || {
        let start = from?;
        while let Some(i) = memchr::memchr(b',', &fields[at..]) {
            let comma = at + i;
            at = comma + 1;
            if fields[comma + 1..].starts_with(b" st_") {
                from = Some(comma + 2);
                return Some(&fields[start..comma]);
            }
        }
        from = None;
        Some(&fields[start..])
    })
}

/// The indices of the `{` and `}` of argument `arg` of the list opening at `open`, when the
/// arguments before it are words (`AT_FDCWD`, `3`) or strings and it is a structure of
/// plain fields, each named `st_…`.
fn structure(line: &[u8], open: usize, arg: usize) -> Option<(usize, usize)> {
    let mut at = open.checked_add(1)?;
    for _ in 0..arg {
        if line.get(at) == Some(&b'"') {
            at = string_end(line, at + 1)?;
        } else {
            // A word: no brackets, quotes or `-y` decorations before its comma.
            let len = memchr::memchr(b',', line.get(at..)?)?;
            if line[at..at + len].iter().any(|b| b"\"<>()[]{}".contains(b)) {
                return None;
            }
            at += len;
        }
        at = at.checked_add(2).filter(|_| line.get(at..at + 2) == Some(b", "))?;
    }
    if line.get(at..at + 4) != Some(b"{st_") {
        return None;
    }
    let end = at + memchr::memchr(b'}', &line[at..])?;
    if memchr::memchr3(b'"', b'{', b'\n', &line[at + 1..end]).is_some() {
        return None;
    }
    Some((at, end))
}

/// Appends the `execve` line `line`, whose argument list opens at `open`, to `text` with its
/// argument strings left out and, of its environment, only the `PWD=` strings kept (what
/// the starting directory is learned from: see `crate::cwd`). Returns false, appending
/// nothing, when the line does not have that shape (a path, then two arrays of strings).
pub(crate) fn push_execve(line: &[u8], open: usize, text: &mut Vec<u8>) -> bool {
    let at = open + 1;
    if line.get(at) != Some(&b'"') {
        return false;
    }
    let Some(argv) = string_end(line, at + 1).filter(|&e| line.get(e..e + 2) == Some(b", ")).map(|e| e + 2) else {
        return false;
    };
    let Some((_, after_argv)) = strings(line, argv) else { return false };
    if line.get(after_argv..after_argv + 2) != Some(b", ") {
        return false;
    }
    let Some((env, end)) = strings(line, after_argv + 2) else { return false };
    text.extend_from_slice(&line[..argv]);
    text.extend_from_slice(b"[], [");
    let mut first = true;
    for s in env.into_iter().filter(|s| s.starts_with(b"\"PWD=")) {
        if !first {
            text.extend_from_slice(b", ");
        }
        text.extend_from_slice(s);
        first = false;
    }
    text.push(b']');
    text.extend_from_slice(&line[end..]);
    true
}

/// The elements of the array of strings that starts at `at` (each string as printed, with
/// its quotes and any `...` after them; an elided tail `...` left out) and the index just
/// past its `]`.
fn strings(line: &[u8], mut at: usize) -> Option<(Vec<&[u8]>, usize)> {
    if line.get(at) != Some(&b'[') {
        return None;
    }
    at += 1;
    let mut found = Vec::new();
    if line.get(at) == Some(&b']') {
        return Some((found, at + 1));
    }
    loop {
        match line.get(at)? {
            b'"' => {
                let mut end = string_end(line, at + 1)?;
                if line.get(end..end + 3) == Some(b"...") {
                    end += 3;
                }
                found.push(&line[at..end]);
                at = end;
            }
            b'.' if line.get(at..at + 3) == Some(b"...") => at += 3,
            _ => return None,
        }
        match line.get(at..at + 2)? {
            b", " => at += 2,
            [b']', _] => return Some((found, at + 1)),
            _ => return None,
        }
    }
}

/// The index just past the closing quote of a string whose text starts at `at`.
fn string_end(line: &[u8], mut at: usize) -> Option<usize> {
    loop {
        at += memchr::memchr2(b'"', b'\\', line.get(at..)?)?;
        if line[at] == b'"' {
            return Some(at + 1);
        }
        // An escape: the byte after the backslash is not the end.
        at += 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(line: &str, arg: usize) -> Option<String> {
        let open = line.find('(').unwrap();
        let mut text = Vec::new();
        push_stat(line.as_bytes(), open, arg, &mut text).then(|| String::from_utf8(text).unwrap())
    }

    #[test]
    fn a_verbose_stat_result_keeps_the_five_fields_the_pass_reads() {
        let line = "7 newfstatat(3, \"\", {st_dev=makedev(0xfe, 0), st_ino=326279, st_mode=S_IFREG|0755, \
                    st_nlink=2, st_uid=0, st_gid=0, st_blksize=4096, st_blocks=3768, st_size=1922136, \
                    st_atime=1733000000 /* 2024-11-30T20:53:20+0000 */, st_atime_nsec=0, \
                    st_mtime=1731000000 /* 2024-11-07T17:20:00, local */, st_mtime_nsec=0}, AT_EMPTY_PATH) = 0\n";
        assert_eq!(
            cut(line, 2).unwrap(),
            "7 newfstatat(3, \"\", {st_dev=makedev(0xfe, 0), st_ino=326279, st_mode=S_IFREG|0755, st_size=1922136, \
             st_mtime=1731000000 /* 2024-11-07T17:20:00, local */}, AT_EMPTY_PATH) = 0\n"
        );
        let fstat = "fstat(3, {st_mode=S_IFREG|0644, st_size=5, ...}) = 0\n";
        assert_eq!(cut(fstat, 1).unwrap(), "fstat(3, {st_mode=S_IFREG|0644, st_size=5, ...}) = 0\n");
    }

    #[test]
    fn strings_and_brackets_before_the_structure_are_stepped_over() {
        let line = "newfstatat(AT_FDCWD, \"/x, {st_ino=1}\\\", (y\", {st_ino=9, st_nlink=1}, 0) = 0";
        assert_eq!(cut(line, 2).unwrap(), "newfstatat(AT_FDCWD, \"/x, {st_ino=1}\\\", (y\", {st_ino=9}, 0) = 0");
        // A decoration may hold a comma.
        assert_eq!(cut("newfstatat(AT_FDCWD</a, {b>, \"x\", {st_ino=9, st_nlink=1}, 0) = 0", 2), None);
    }

    #[test]
    fn an_execve_keeps_only_its_pwd() {
        let cut = |line: &str| {
            let mut text = Vec::new();
            push_execve(line.as_bytes(), line.find('(').unwrap(), &mut text).then(|| String::from_utf8(text).unwrap())
        };
        let line = "9 execve(\"/bin/cat\", [\"cat\", \"a, b\\\"]\"], [\"A=1\", \"PWD=/w/x\", \"B=\"..., \
                    \"PWD=/y\"...]) = 0\n";
        assert_eq!(cut(line).unwrap(), "9 execve(\"/bin/cat\", [], [\"PWD=/w/x\", \"PWD=/y\"...]) = 0\n");
        assert_eq!(cut("execve(\"/x\", [\"x\"], [\"A=1\", ...]) = 0").unwrap(), "execve(\"/x\", [], []) = 0");
        assert_eq!(cut("execve(\"/x\", [], []) = 0").unwrap(), "execve(\"/x\", [], []) = 0");
        // Without -v: the environment is an address and a count.
        assert_eq!(cut("execve(\"/x\", [\"x\"], 0x7ffc /* 5 vars */) = 0"), None);
        assert_eq!(cut("execve(\"/x\", [\"x\"], [\"A=1\" <unfinished ...>"), None);
    }

    #[test]
    fn other_shapes_are_left_to_the_parser() {
        // A failed call's buffer is an address; an unfinished line ends inside.
        assert_eq!(cut("newfstatat(AT_FDCWD, \"/x\", 0x7ffc, 0) = -1 ENOENT (No such file)", 2), None);
        assert_eq!(cut("fstat(3, {st_dev=makedev(0xfe, 0), st_ino=1 <unfinished ...>", 1), None);
        assert_eq!(cut("fstat(3, {st_ino=1, st_x={1}}) = 0", 1), None);
        assert_eq!(cut("fstat(3, {st_ino=1, st_x=\"}\"}) = 0", 1), None);
        assert_eq!(cut("fstat(3) = 0", 1), None);
        assert_eq!(cut("fstat(3, \"unterminated", 1), None);
        assert_eq!(cut("newfstatat(3</x>, \"\", {st_ino=9, st_nlink=1}, 0) = 0", 2), None);
    }
}
