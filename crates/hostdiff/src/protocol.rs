//! The line protocol between this crate and `csrc/hostchild.c`.
//!
//! - [`encode`] writes a checked [`HostScript`] as the script text the C
//!   program reads on stdin.
//! - [`parse`] reads the records it writes on stdout into a [`Parsed`].
//!
//! The authoritative description of both directions is the header comment of
//! `hostchild.c`; the two must change together. Which system call each step makes is held
//! against the model's `Call` by the tests of `calls.rs` (through `hostchild calls`).

use std::fmt::Write as _;

use crate::host::{Addr, Fd, HostFile, HostInit, HostScript, Op, OpenMode, Outcome};

/// Returns the script text for `script`; `slots[i]` is the shared result slot
/// that step `i` fills (every step referenced by an [`Addr::Result`] has one).
/// `swap_paths[i]` is where swap file `i` was made.
pub(crate) fn encode(script: &HostScript, slots: &[Option<usize>], swap_paths: &[String]) -> String {
    // As long as the host runner's paths can be (its run group's name at its longest).
    let placeholders: Vec<String> = script
        .memcgs
        .iter()
        .map(|g| format!("/sys/fs/cgroup/memory/mmsim-run-{}-{}/{g}", u32::MAX, u64::MAX))
        .collect();
    encode_with_groups(script, slots, swap_paths, &placeholders)
}

/// Like [`encode`], with `group_paths[i]` the host directory of memory cgroup `i`.
pub(crate) fn encode_with_groups(
    script: &HostScript,
    slots: &[Option<usize>],
    swap_paths: &[String],
    group_paths: &[String],
) -> String {
    let mut out = String::new();
    // `write!` to a String cannot fail.
    let _ = writeln!(out, "mmsim-hostchild 1");
    let _ = writeln!(out, "files {}", script.files.len());
    for file in &script.files {
        let _ = writeln!(out, "{}", file.size);
    }
    let _ = writeln!(out, "opens {}", script.opens.len());
    for open in &script.opens {
        let mode = match open.mode {
            OpenMode::ReadOnly => "r",
            OpenMode::WriteOnly => "w",
            OpenMode::ReadWrite => "rw",
        };
        let _ = writeln!(out, "{} {mode}", open.file);
    }
    let _ = writeln!(out, "swaps {}", script.swap_files.len());
    for (spec, path) in script.swap_files.iter().zip(swap_paths) {
        // swapon(2)'s flags: SWAP_FLAG_PREFER and the priority, or nothing for the default.
        let flags = spec.priority.map_or(0, |p| 0x8000 | (p as u32 & 0x7fff));
        let _ = writeln!(out, "{flags} {path}");
    }
    let _ = writeln!(out, "groups {}", group_paths.len());
    for path in group_paths {
        let _ = writeln!(out, "{path}");
    }
    let _ = writeln!(out, "steps {}", script.steps.len());
    let addr = |a: Addr| match a {
        Addr::Abs(v) => format!("a{v}"),
        Addr::Result { op, offset } => {
            let slot = slots[op].expect("plan() gives every referenced step a slot");
            format!("r{slot}:{offset}")
        }
    };
    let fd = |f: Fd| match f {
        Fd::None => "x-1".to_string(),
        Fd::Slot(s) => format!("o{s}"),
        Fd::Raw(v) => format!("x{v}"),
    };
    for (i, step) in script.steps.iter().enumerate() {
        let save = slots[i].map_or_else(|| "-".to_string(), |s| s.to_string());
        let _ = write!(out, "{} {save} ", step.proc);
        let _ = match step.op {
            Op::Mmap { addr: a, len, prot, flags, fd: f, offset } => {
                write!(out, "mmap {} {len} {prot} {flags} {} {offset}", addr(a), fd(f))
            }
            Op::Munmap { addr: a, len } => write!(out, "munmap {} {len}", addr(a)),
            Op::Mprotect { addr: a, len, prot } => {
                write!(out, "mprotect {} {len} {prot}", addr(a))
            }
            Op::Brk { addr: a } => write!(out, "brk {}", addr(a)),
            Op::Load { addr: a, len } => write!(out, "load {} {len}", addr(a)),
            Op::Store { addr: a, len, byte } => write!(out, "store {} {len} {byte}", addr(a)),
            Op::KRead { addr: a, len } => write!(out, "kread {} {len}", addr(a)),
            Op::KWrite { addr: a, len, byte } => {
                write!(out, "kwrite {} {len} {byte}", addr(a))
            }
            Op::Fork => write!(out, "fork"),
            Op::Exit => write!(out, "exit"),
            Op::Maps => write!(out, "maps"),
            Op::Smaps => write!(out, "smaps"),
            Op::Ftruncate { fd: slot, len } => write!(out, "ftruncate {slot} {len}"),
            Op::Mremap { addr: a, old_len, new_len, flags, new_addr } => {
                write!(out, "mremap {} {old_len} {new_len} {flags} {}", addr(a), addr(new_addr))
            }
            Op::Madvise { addr: a, len, advice } => write!(out, "madvise {} {len} {advice}", addr(a)),
            Op::Mlock { addr: a, len, flags } => write!(out, "mlock {} {len} {flags}", addr(a)),
            Op::Munlock { addr: a, len } => write!(out, "munlock {} {len}", addr(a)),
            Op::Mlockall { flags } => write!(out, "mlockall {flags}"),
            Op::Munlockall => write!(out, "munlockall"),
            Op::Mincore { addr: a, len } => write!(out, "mincore {} {len}", addr(a)),
            Op::Msync { addr: a, len, flags } => write!(out, "msync {} {len} {flags}", addr(a)),
            Op::Pagemap { addr: a, pages } => write!(out, "pagemap {} {pages}", addr(a)),
            Op::Status => write!(out, "status"),
            Op::Setrlimit { resource, value } => write!(out, "setrlimit {resource} {value}"),
            Op::DropCaps => write!(out, "dropcaps"),
            Op::Swapon { device } => write!(out, "swapon {device}"),
            Op::Swapoff { device } => write!(out, "swapoff {device}"),
            Op::Swaps => write!(out, "swaps"),
            Op::CgroupWrite { group, ref file, ref value } => write!(out, "cgwrite {group} {file} {value}"),
            Op::CgroupRead { group, ref file } => write!(out, "cgread {group} {file}"),
            Op::CgroupRmdir { group } => write!(out, "cgrmdir {group}"),
            Op::ProcWrite { ref file, ref value } => write!(out, "pwrite {file} {value}"),
            Op::ProcRead { ref file } => write!(out, "pread {file}"),
        };
        out.push('\n');
    }
    out
}

/// Everything read from the child's stdout, as far as it went.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    /// The init block, once complete.
    pub init: Option<HostInit>,
    /// The outcomes, in step order.
    pub outcomes: Vec<Outcome>,
    /// (process index, pid) of every process of the run.
    pub pids: Vec<(usize, u32)>,
    /// The message of a `fail` record.
    pub fail: Option<String>,
    /// The first protocol violation; parsing stops there.
    pub error: Option<String>,
}

/// The init block while it is being read.
#[derive(Default)]
struct InitBuilder {
    numbers: Option<[u64; 5]>,
    nfiles: usize,
    files: Vec<HostFile>,
    maps: Option<String>,
    smaps: Option<String>,
}

/// Reads the child's records. Never fails: a violation is recorded in
/// [`Parsed::error`] together with what came before it, because the caller
/// may have a better explanation (a `fail` record, a death) to report.
pub(crate) fn parse(bytes: &[u8]) -> Parsed {
    let mut parsed = Parsed::default();
    if let Err(e) = parse_into(bytes, &mut parsed) {
        parsed.error = Some(e);
    }
    parsed
}

fn parse_into(bytes: &[u8], parsed: &mut Parsed) -> Result<(), String> {
    let mut pos = 0;
    let mut pending: Vec<u8> = Vec::new();
    let mut init = Some(InitBuilder::default());
    while pos < bytes.len() {
        let end = bytes[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|n| pos + n)
            .ok_or("the output ends in the middle of a line")?;
        let line =
            std::str::from_utf8(&bytes[pos..end]).map_err(|_| format!("a record header is not UTF-8 at byte {pos}"))?;
        pos = end + 1;
        let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));

        if kind == "C" {
            let n: usize = number(rest, line)?;
            let data = bytes.get(pos..pos + n).ok_or("the output ends in the middle of a data chunk")?;
            pending.extend_from_slice(data);
            pos += n;
            continue;
        }
        // Every other record ends the pending data: it takes it or drops it.
        let data = std::mem::take(&mut pending);
        let fields: Vec<&str> = rest.split(' ').filter(|f| !f.is_empty()).collect();

        match kind {
            "fail" => {
                parsed.fail = Some(rest.to_string());
                return Ok(());
            }
            "pid" => {
                let [index, pid] = fields_n(&fields, line)?;
                parsed.pids.push((number(index, line)?, number(pid, line)?));
                continue;
            }
            _ => {}
        }

        if let Some(builder) = init.as_mut() {
            match kind {
                "init" => {
                    let [a, b, c, d, e, f] = fields_n(&fields, line)?;
                    builder.numbers = Some([
                        number(a, line)?,
                        number(b, line)?,
                        number(c, line)?,
                        number(d, line)?,
                        number(e, line)?,
                    ]);
                    builder.nfiles = number(f, line)?;
                }
                "file" => {
                    let [i, major, minor, ino, size] = fields_n(&fields, line)?;
                    if number::<usize>(i, line)? != builder.files.len() {
                        return Err(format!("file record out of order: {line:?}"));
                    }
                    builder.files.push(HostFile {
                        path: text(data),
                        major: number(major, line)?,
                        minor: number(minor, line)?,
                        ino: number(ino, line)?,
                        size: number(size, line)?,
                    });
                }
                "maps" => builder.maps = Some(text(data)),
                "smaps" => builder.smaps = Some(text(data)),
                "ready" => {
                    let b = init.take().expect("inside the init block");
                    let (Some([start_brk, brk, start_stack, stack_rlimit, sync_page]), Some(maps), Some(smaps)) =
                        (b.numbers, b.maps, b.smaps)
                    else {
                        return Err("the init block is incomplete".into());
                    };
                    if b.files.len() != b.nfiles {
                        return Err(format!("{} file records for {} files", b.files.len(), b.nfiles));
                    }
                    parsed.init = Some(HostInit {
                        maps,
                        smaps,
                        start_brk,
                        brk,
                        start_stack,
                        stack_rlimit,
                        sync_page,
                        files: b.files,
                        swap_files: Vec::new(),
                    });
                }
                _ => return Err(format!("unexpected record in the init block: {line:?}")),
            }
            continue;
        }

        let Some((step, fields)) = fields.split_first() else {
            return Err(format!("a record without a step: {line:?}"));
        };
        if number::<usize>(step, line)? != parsed.outcomes.len() {
            return Err(format!("record for step {step} where step {} was due: {line:?}", parsed.outcomes.len()));
        }
        let outcome = match kind {
            "val" => {
                let [v] = fields_n(fields, line)?;
                Outcome::Value(number(v, line)?)
            }
            "err" => {
                let [e] = fields_n(fields, line)?;
                Outcome::Errno(number(e, line)?)
            }
            "bytes" => {
                fields_n::<0>(fields, line)?;
                Outcome::Bytes(data)
            }
            "text" => {
                fields_n::<0>(fields, line)?;
                Outcome::Text(text(data))
            }
            "done" => {
                fields_n::<0>(fields, line)?;
                Outcome::Done
            }
            "kill" => {
                let [signo] = fields_n(fields, line)?;
                Outcome::Killed { signo: number(signo, line)? }
            }
            "gone" => {
                fields_n::<0>(fields, line)?;
                Outcome::Gone
            }
            "sig" => {
                let [signo, code, addr, done] = fields_n(fields, line)?;
                Outcome::Signal {
                    signo: number(signo, line)?,
                    code: number(code, line)?,
                    addr: number(addr, line)?,
                    done: number(done, line)?,
                }
            }
            _ => return Err(format!("unknown record: {line:?}")),
        };
        parsed.outcomes.push(outcome);
    }
    if !pending.is_empty() {
        return Err("the output ends with data that no record took".into());
    }
    Ok(())
}

fn fields_n<'a, const N: usize>(fields: &[&'a str], line: &str) -> Result<[&'a str; N], String> {
    fields.try_into().map_err(|_| format!("expected {N} fields after the step: {line:?}"))
}

fn number<T: std::str::FromStr>(s: &str, line: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("bad number {s:?} in {line:?}"))
}

/// /proc text is UTF-8 unless a path is not; keep what can be kept.
fn text(data: Vec<u8>) -> String {
    String::from_utf8(data).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Step;

    #[test]
    fn encodes_addresses_fds_and_slots() {
        let script = HostScript {
            files: vec![crate::FileSpec { size: 5 }],
            opens: vec![crate::OpenSpec { file: 0, mode: OpenMode::ReadWrite }],
            steps: vec![
                Step {
                    proc: 0,
                    op: Op::Mmap { addr: Addr::Abs(0), len: 4096, prot: 1, flags: 2, fd: Fd::Slot(0), offset: 0 },
                },
                Step { proc: 0, op: Op::Load { addr: Addr::Result { op: 0, offset: -4 }, len: 8 } },
            ],
            tmpfs: false,
            swap_files: vec![crate::SwapFileSpec { size: 40960, priority: Some(5) }],
            memcgs: Vec::new(),
            memcg_version: None,
        };
        let text = encode(&script, &[Some(3), None], &["/s0".to_string()]);
        assert_eq!(
            text,
            "mmsim-hostchild 1\nfiles 1\n5\nopens 1\n0 rw\nswaps 1\n32773 /s0\ngroups 0\nsteps 2\n\
             0 3 mmap a0 4096 1 2 o0 0\n0 - load r3:-4 8\n"
        );
    }

    #[test]
    fn parses_records_and_chunks() {
        let out = b"pid 0 7\ninit 1 2 3 4 5 1\nC 3\n/f0file 0 254 1 99 10\nC 2\nm\nmaps\nsmaps\nready\n\
val 0 42\nC 2\nabbytes 1\nC 5\nxxxxxsig 2 11 1 4096 0\nerr 3 14\nC 1\nttext 4\ndone 5\nkill 6 9\ngone 7\n";
        let p = parse(out);
        assert_eq!(p.error, None);
        let init = p.init.unwrap();
        assert_eq!(init.maps, "m\n");
        assert_eq!(init.smaps, "");
        assert_eq!(init.files[0].path, "/f0");
        assert_eq!((init.files[0].major, init.files[0].minor, init.files[0].ino), (254, 1, 99));
        assert_eq!(
            p.outcomes,
            vec![
                Outcome::Value(42),
                Outcome::Bytes(b"ab".to_vec()),
                Outcome::Signal { signo: 11, code: 1, addr: 4096, done: 0 },
                Outcome::Errno(14),
                Outcome::Text("t".into()),
                Outcome::Done,
                Outcome::Killed { signo: 9 },
                Outcome::Gone,
            ]
        );
        assert_eq!(p.pids, vec![(0, 7)]);
    }

    #[test]
    fn reports_truncation_and_disorder() {
        assert!(parse(b"init 1 2 3 4 5 0\nmaps\nsmaps\nready\nval 1 0\n").error.is_some());
        assert!(parse(b"C 10\nabc").error.is_some());
        assert!(parse(b"init 1 2").error.is_some());
        let p = parse(b"fail something broke\n");
        assert_eq!(p.fail.as_deref(), Some("something broke"));
    }
}
