//! Logs written with `strace -ff -o PREFIX`: one file per process, `PREFIX.PID`, whose lines
//! carry no pid. [`merge_per_pid`] joins them into one log in the `strace -f -o` format (each
//! line prefixed by its pid), in an order that is the same on every run:
//!
//! - when every line has an absolute time stamp (`-t`, `-tt`, `-ttt`) and each file's time
//!   stamps never go back, by time stamp (ties: the file of the lower pid first);
//! - otherwise a child's file is spliced in whole right after the line where its parent's
//!   `clone`, `clone3`, `fork` or `vfork` returned the child's pid (children of children
//!   likewise), starting from the file no other file created; files whose creation no line
//!   shows (a filter hid it) follow, by pid.
//!
//! The second order is one the kernel may not have followed (a parent and its child run at
//! the same time), but a replay only needs each process's own order and every child after
//! its creation.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use crate::event::{EventKind, Ret, Timestamp};
use crate::line::parse_prefix;
use crate::parser::Parser;

/// The files `strace -ff -o PREFIX` wrote for `prefix`: every `PREFIX.N` with N a number,
/// as (pid, path), by pid.
pub fn per_pid_files(prefix: &Path) -> io::Result<Vec<(u32, PathBuf)>> {
    let dir = match prefix.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Some(stem) = prefix.file_name().map(|s| s.to_string_lossy().into_owned()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix(&stem).and_then(|r| r.strip_prefix('.')).and_then(pid_of) {
            out.push((pid, dir.join(&name)));
        }
    }
    out.sort();
    Ok(out)
}

/// The pid a `PREFIX.PID` file name ends with.
pub fn pid_suffix(path: &Path) -> Option<u32> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    pid_of(name.rsplit_once('.')?.1)
}

fn pid_of(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// One process's log.
struct Log<'a> {
    pid: u32,
    lines: Vec<&'a [u8]>,
    /// Line index (0-based) → pids its call created.
    creates: BTreeMap<usize, Vec<u32>>,
}

/// Joins per-process logs (pid, text) into one `strace -f -o` log; see the module
/// documentation for the order.
pub fn merge_per_pid(logs: &[(u32, Vec<u8>)]) -> Vec<u8> {
    merge_per_pid_ordered(logs).0
}

/// [`merge_per_pid`], and whether the time stamps ordered the lines of different files
/// (false: each child's file was spliced in whole after its creation, so the log does not
/// say how the calls of processes or threads running at the same time interleaved).
pub fn merge_per_pid_ordered(logs: &[(u32, Vec<u8>)]) -> (Vec<u8>, bool) {
    let mut parsed: Vec<Log<'_>> = logs
        .iter()
        .map(|(pid, text)| {
            let lines: Vec<&[u8]> = text
                .split(|&b| b == b'\n')
                .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
                .filter(|l| !l.trim_ascii().is_empty())
                .collect();
            Log { pid: *pid, lines, creates: BTreeMap::new() }
        })
        .collect();
    parsed.sort_by_key(|l| l.pid);
    let pids: BTreeSet<u32> = parsed.iter().map(|l| l.pid).collect();
    for log in &mut parsed {
        // Parse the lines as kept (blank ones dropped), so event lines index `lines`.
        let mut text = Vec::new();
        for l in &log.lines {
            text.extend_from_slice(l);
            text.push(b'\n');
        }
        for event in Parser::new(&text[..]).flatten() {
            let EventKind::Syscall(call) = &event.kind else { continue };
            if !matches!(call.name.as_ref(), "clone" | "clone3" | "fork" | "vfork") {
                continue;
            }
            if let Ret::Value(child) = call.ret {
                if let Ok(child) = u32::try_from(child) {
                    if pids.contains(&child) {
                        log.creates.entry(event.line as usize - 1).or_default().push(child);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    let order = by_time_stamps(&parsed);
    let ordered = order.is_some() || parsed.len() < 2;
    match order {
        Some(order) => {
            // A child's first lines may be stamped before its parent's clone returned; they
            // wait for that line, so that each child follows its creation in the log too.
            let index: BTreeMap<u32, usize> = parsed.iter().enumerate().map(|(i, l)| (l.pid, i)).collect();
            let created: BTreeSet<usize> = parsed
                .iter()
                .flat_map(|l| l.creates.values().flatten())
                .filter_map(|c| index.get(c).copied())
                .collect();
            let mut released: Vec<bool> = (0..parsed.len()).map(|i| !created.contains(&i)).collect();
            let mut held: Vec<Vec<usize>> = vec![Vec::new(); parsed.len()];
            for (file, line) in order {
                if !released[file] {
                    held[file].push(line);
                    continue;
                }
                let mut todo = vec![(file, line)];
                while let Some((f, l)) = todo.pop() {
                    push_line(&mut out, parsed[f].pid, parsed[f].lines[l]);
                    for child in parsed[f].creates.get(&l).into_iter().flatten() {
                        if let Some(&c) = index.get(child) {
                            if !released[c] {
                                released[c] = true;
                                // In their order, before anything later.
                                todo.extend(std::mem::take(&mut held[c]).into_iter().rev().map(|l| (c, l)));
                            }
                        }
                    }
                }
            }
            // Files whose creating line never came (a cut log): at the end, in order.
            for (f, lines) in held.iter().enumerate() {
                for &l in lines {
                    push_line(&mut out, parsed[f].pid, parsed[f].lines[l]);
                }
            }
        }
        None => {
            let created: BTreeSet<u32> = parsed.iter().flat_map(|l| l.creates.values().flatten().copied()).collect();
            let index: BTreeMap<u32, usize> = parsed.iter().enumerate().map(|(i, l)| (l.pid, i)).collect();
            let mut done = vec![false; parsed.len()];
            // Roots first (files nobody created), then any file left (a cycle of bad logs).
            let roots = parsed.iter().enumerate().filter(|(_, l)| !created.contains(&l.pid)).map(|(i, _)| i);
            let order: Vec<usize> = roots.chain(0..parsed.len()).collect();
            for start in order {
                splice(&parsed, &index, start, &mut done, &mut out);
            }
        }
    }
    (out, ordered)
}

/// Emits file `start` and, after each line that created a child with a file, that child's
/// file (depth first, without recursion so deep process trees cannot overflow the stack).
fn splice(parsed: &[Log<'_>], index: &BTreeMap<u32, usize>, start: usize, done: &mut [bool], out: &mut Vec<u8>) {
    if done[start] {
        return;
    }
    done[start] = true;
    let mut stack = vec![(start, 0usize)];
    while let Some((file, line)) = stack.pop() {
        let log = &parsed[file];
        let Some(text) = log.lines.get(line) else { continue };
        push_line(out, log.pid, text);
        stack.push((file, line + 1));
        if let Some(children) = log.creates.get(&line) {
            // The first child is spliced first: push in reverse.
            for child in children.iter().rev() {
                if let Some(&c) = index.get(child) {
                    if !done[c] {
                        done[c] = true;
                        stack.push((c, 0));
                    }
                }
            }
        }
    }
}

/// The order by time stamps, when every line has one and no file's go back.
fn by_time_stamps(parsed: &[Log<'_>]) -> Option<Vec<(usize, usize)>> {
    let mut all: Vec<(Timestamp, usize, usize)> = Vec::new();
    for (file, log) in parsed.iter().enumerate() {
        let mut last = Timestamp::default();
        for (i, line) in log.lines.iter().enumerate() {
            let ts = parse_prefix(line).timestamp?;
            if ts < last {
                return None;
            }
            last = ts;
            all.push((ts, file, i));
        }
    }
    all.sort();
    Some(all.into_iter().map(|(_, f, l)| (f, l)).collect())
}

fn push_line(out: &mut Vec<u8>, pid: u32, line: &[u8]) {
    out.extend_from_slice(pid.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(line);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged(logs: &[(u32, &str)]) -> String {
        let logs: Vec<(u32, Vec<u8>)> = logs.iter().map(|(p, t)| (*p, t.as_bytes().to_vec())).collect();
        String::from_utf8(merge_per_pid(&logs)).unwrap()
    }

    #[test]
    fn children_are_spliced_where_they_are_created() {
        let parent = "execve(\"/bin/sh\", [\"sh\"], 0x1 /* 2 vars */) = 0\nclone(child_stack=NULL, flags=SIGCHLD) = 12\nwait4(-1, NULL, 0, NULL) = 12\nvfork() = 13\nexit_group(0) = ?\n+++ exited with 0 +++\n";
        let child = "execve(\"/bin/cat\", [\"cat\"], 0x1 /* 2 vars */) = 0\n+++ exited with 0 +++\n";
        let grandchild = "brk(NULL) = 0x1000\n+++ exited with 0 +++\n";
        let text = merged(&[(13, grandchild), (12, child), (11, parent)]);
        let pids: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap()).collect();
        assert_eq!(pids, ["11", "11", "12", "12", "11", "11", "13", "13", "11", "11"], "{text}");
        assert!(text.starts_with("11 execve(\"/bin/sh\""));
    }

    #[test]
    fn time_stamps_order_the_lines_when_every_line_has_one() {
        let parent = "10:00:00.000001 clone(child_stack=NULL, flags=SIGCHLD) = 12\n10:00:00.000005 exit_group(0) = ?\n";
        let child = "10:00:00.000002 brk(NULL) = 0x1000\n10:00:00.000009 exit_group(0) = ?\n";
        let text = merged(&[(11, parent), (12, child)]);
        let pids: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap()).collect();
        assert_eq!(pids, ["11", "12", "11", "12"], "{text}");
        // A child that ran before its parent's clone returned still follows that line.
        let early = "10:00:00.000000 brk(NULL) = 0x1000\n10:00:00.000009 exit_group(0) = ?\n";
        let text = merged(&[(11, parent), (12, early)]);
        let pids: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap()).collect();
        assert_eq!(pids, ["11", "12", "11", "12"], "{text}");
        // A file whose stamps go back (relative ones, `-r`) makes the splice order apply.
        let parent = "     0.000000 clone(child_stack=NULL, flags=SIGCHLD) = 12\n     0.000004 wait4(-1, NULL, 0, NULL) = 12\n     0.000001 exit_group(0) = ?\n";
        let text = merged(&[(11, parent), (12, child)]);
        let pids: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap()).collect();
        assert_eq!(pids, ["11", "12", "12", "11", "11"], "{text}");
    }

    #[test]
    fn file_names_give_pids() {
        assert_eq!(pid_suffix(Path::new("/tmp/x.trace.123")), Some(123));
        assert_eq!(pid_suffix(Path::new("/tmp/x.trace")), None);
    }
}
