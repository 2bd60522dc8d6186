//! Traces recorded the way users record them: plain `strace -f -o FILE`, with address-space
//! randomization on, under a raised stack limit, with `setarch -L`. What such a log leaves
//! open (where each exec put the mmap area, the stack, the program and the heap; the stack
//! limit the first task inherited) must be learned from the log itself, and the replay must
//! end with zero mismatches. Also: a log edited to contradict itself after a binding gives a
//! mismatch, never a silent pass; a stack the program grew with its own stores, and a
//! program run through a symbolic link it stat'ed, replay clean.

mod common;

use common::assert_clean;
use replay::{Mode, Report};
use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    common::scratch("replay-aslr", name)
}

/// Whether this machine randomizes address spaces (the tests that assert bindings need it).
fn aslr_on() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/randomize_va_space").is_ok_and(|s| s.trim() != "0")
}

/// Runs `sh -c SCRIPT` with `$STRACE` standing for `strace -f <flags> -o OUT` (no setarch);
/// returns OUT.
fn record(name: &str, flags: &str, script: &str, dir: &Path) -> Option<PathBuf> {
    if !hostreq::need_tools(name, &["strace", "sh", "setarch"]) {
        return None;
    }
    let out = dir.join(format!("{name}.trace"));
    let strace = format!("strace -f {flags} -o {}", out.display());
    let status =
        Command::new("sh").arg("-c").arg(script.replace("$STRACE", &strace)).current_dir(dir).output().expect("run sh");
    assert!(status.status.success(), "{name}: {}", String::from_utf8_lossy(&status.stderr));
    Some(out)
}

fn replay_file(path: &Path) -> Report {
    common::replay_file(path, Mode::Verify)
}

/// Records `script` as [`record`] does, in the scratch directory `name`, replays the trace
/// and asserts that it held, with at least `min_checks` checks; returns the report.
fn recorded_clean(name: &str, flags: &str, script: &str, min_checks: u64) -> Option<Report> {
    let t = record(name, flags, script, &scratch(name))?;
    let r = replay_file(&t);
    assert_clean(name, &r, min_checks);
    Some(r)
}

/// Asserts that a binding whose text contains `what` was made.
#[track_caller]
fn assert_bound(name: &str, r: &Report, what: &str) {
    if aslr_on() {
        assert!(
            r.bindings.iter().any(|b| b.contains(what)),
            "{name}: no binding of {what} in\n{}",
            r.bindings.join("\n")
        );
    }
}

fn compile(name: &str, flags: &[&str], dir: &Path) -> Option<PathBuf> {
    compile_from("maps_reader.c", name, flags, dir)
}

fn compile_from(source: &str, name: &str, flags: &[&str], dir: &Path) -> Option<PathBuf> {
    common::compile(name, source, flags, dir)
}

#[test]
fn plain_strace_of_cat_with_aslr() {
    let Some(r) = recorded_clean("cat", "", "$STRACE cat /proc/self/maps >/dev/null", 30) else { return };
    for what in ["mmap_rnd", "load_bias", "start_brk"] {
        assert_bound("cat", &r, what);
    }
    // The heap's start comes from the first brk, on line 2.
    if aslr_on() {
        assert!(
            r.bindings.iter().any(|b| b.starts_with("bound start_brk") && b.contains("from line 2 ")),
            "{:?}",
            r.bindings
        );
    }
}

#[test]
fn a_whole_maps_read_binds_the_stack() {
    let Some(r) = recorded_clean("cat-full", "-s 65536", "$STRACE cat /proc/self/maps >/dev/null", 30) else { return };
    assert_bound("cat -s 65536", &r, "stack_top");
}

#[test]
fn programs_of_every_kind_with_aslr() {
    let dir = scratch("kinds");
    for (name, flags) in [
        ("dynamic-pie", &["-pie", "-fPIE"][..]),
        ("no-pie", &["-no-pie"][..]),
        ("static", &["-static"][..]),
        ("static-pie", &["-static-pie"][..]),
    ] {
        let Some(exe) = compile(name, flags, &dir) else { return };
        let exe = exe.display().to_string();
        for (suffix, flags) in [("", ""), ("-whole", "-s 65536")] {
            let name = format!("{name}{suffix}");
            let Some(t) = record(&name, flags, &format!("$STRACE {exe} >/dev/null"), &dir) else { return };
            let r = replay_file(&t);
            assert_clean(&name, &r, 8);
            assert_bound(&name, &r, "mmap_rnd");
        }
    }
}

/// In every way strace can print the limit's name and value (`-X raw` prints `0x3` and
/// `18446744073709551615` for RLIMIT_STACK and RLIM64_INFINITY), the second cat, run
/// under a limit lowered again, included.
#[test]
fn a_shell_raising_its_stack_limit_before_exec() {
    let script =
        "$STRACE sh -c 'ulimit -s unlimited; cat /proc/self/maps; ulimit -s 4096; cat /proc/self/maps' >/dev/null";
    for (name, flags) in [("ulimit", ""), ("ulimit-X-raw", "-X raw"), ("ulimit-X-verbose", "-X verbose")] {
        recorded_clean(name, flags, script, 60);
    }
}

/// A program that grows its stack by 2 MiB with a store (no call shows it) and then reads
/// its maps: the read binds how far the stack reached, and the maps then match.
#[test]
fn a_stack_grown_by_the_program_s_own_stores() {
    let dir = scratch("deep-stack");
    let Some(exe) = compile_from("deep_stack.c", "deep_stack", &[], &dir) else { return };
    for (name, flags) in [("deep-stack", "-s 65536"), ("deep-stack-plain", "")] {
        let script = format!("$STRACE {} >/dev/null", exe.display());
        let Some(t) = record(name, flags, &script, &dir) else { return };
        let r = replay_file(&t);
        assert_clean(name, &r, 10);
        if flags.is_empty() {
            // strace cut the text at 32 bytes: nothing showed the stack.
            continue;
        }
        assert!(r.bindings.iter().any(|b| b.contains("grown down to")), "{name}: {:?}", r.bindings);
    }
}

/// `-e trace=memory` hides the execve: the address space's start is unknown, so where an
/// `mremap` moved a mapping to is taken from the log, as an `mmap`'s placement is.
#[test]
fn mremap_moves_in_an_address_space_whose_start_the_log_hides() {
    let dir = scratch("mremap-memory");
    let Some(exe) = compile_from("grow_mremap.c", "grow_mremap", &[], &dir) else { return };
    let script = format!("$STRACE {}", exe.display());
    let Some(t) = record("mremap-memory", "-e trace=memory", &script, &dir) else { return };
    let text = std::fs::read_to_string(&t).unwrap();
    assert!(text.lines().any(|l| l.contains("mremap(") && l.contains("MREMAP_MAYMOVE)")), "{text}");
    let r = replay_file(&t);
    assert_clean("mremap-memory", &r, 5);
}

/// `mremap(MREMAP_DONTUNMAP)` without `MREMAP_FIXED`: the kernel takes the fifth argument
/// as a hint, which strace does not print. A copy at a free address, one placed as for no
/// hint (the hint was taken), an unaligned hint's EINVAL: clean, the hint's unchecked.
#[test]
fn dontunmap_copies_placed_at_a_hint_the_log_does_not_show() {
    let dir = scratch("dontunmap");
    let Some(exe) = compile_from("dontunmap_hint.c", "dontunmap_hint", &[], &dir) else { return };
    let Some(t) = record("dontunmap", "-s 65536", &format!("$STRACE {} >/dev/null", exe.display()), &dir) else {
        return;
    };
    let text = std::fs::read_to_string(&t).unwrap();
    assert_eq!(text.matches("MREMAP_MAYMOVE|MREMAP_DONTUNMAP) = ").count(), 3, "{text}");
    assert!(text.contains("MREMAP_MAYMOVE|MREMAP_DONTUNMAP) = -1 EINVAL"), "{text}");
    let r = replay_file(&t);
    assert_clean("dontunmap", &r, 10);
    assert_eq!(
        r.unchecked.iter().find(|(k, _)| k.contains("MREMAP_DONTUNMAP")).map(|(_, n)| *n),
        Some(2),
        "{:?}",
        r.unchecked
    );
}

/// A program that stats a symbolic link without following it (a PATH search, `stat`), then
/// runs the same path: the stat shows the link's own inode, which is not the program's.
#[test]
fn a_program_run_through_a_symbolic_link_it_stat_ed() {
    let dir = scratch("symlink");
    let link = dir.join("cat-link");
    let _ = std::fs::remove_file(&link);
    let Some(cat) = hostreq::find_tool("cat") else { return };
    std::os::unix::fs::symlink(cat, &link).unwrap();
    let script = format!("$STRACE sh -c 'stat {0} >/dev/null; {0} /proc/self/maps' >/dev/null", link.display());
    let Some(t) = record("symlink", "-v -s 65536", &script, &dir) else { return };
    assert_clean("symlink", &replay_file(&t), 20);
}

#[test]
fn a_stack_limit_inherited_from_before_the_trace() {
    let script = "ulimit -s unlimited; $STRACE cat /proc/self/maps >/dev/null";
    let Some(r) = recorded_clean("inherited", "", script, 30) else { return };
    // cat asks for its stack limit: that is where the replay learns it.
    assert!(r.bindings.iter().any(|b| b.starts_with("bound RLIMIT_STACK at start = unlimited")), "{:?}", r.bindings);
}

#[test]
fn the_legacy_layout_of_setarch_l() {
    let dir = scratch("legacy");
    for (name, flags) in [("setarch-L", "-L"), ("setarch-LR", "-L -R")] {
        let Some(t) = record(name, "", &format!("$STRACE setarch {flags} cat /proc/self/maps >/dev/null"), &dir) else {
            return;
        };
        assert_clean(name, &replay_file(&t), 60);
    }
    // Started under setarch -L: the first task's layout is bottom-up before the log begins.
    let Some(t) = record("inherited-L", "-s 65536", "setarch -L $STRACE cat /proc/self/maps >/dev/null", &dir) else {
        return;
    };
    let r = replay_file(&t);
    assert_clean("setarch -L strace cat", &r, 30);
    assert!(r.bindings.iter().any(|b| b.starts_with("bound legacy mmap layout at start = true")), "{:?}", r.bindings);
}

#[test]
fn a_log_that_contradicts_a_binding_gives_a_mismatch() {
    let dir = scratch("hostile");
    let Some(t) = record("hostile", "-s 65536", "$STRACE cat /proc/self/maps >/dev/null", &dir) else { return };
    let text = std::fs::read_to_string(&t).unwrap();
    // The second mmap(NULL) of the log moved by a page: the first one bound the area.
    let mut seen = 0;
    let edited: Vec<String> = text
        .lines()
        .map(|l| {
            if l.contains(" mmap(NULL, ") && l.contains("= 0x") {
                seen += 1;
                if seen == 2 {
                    let (head, addr) = l.rsplit_once("= 0x").unwrap();
                    let a = u64::from_str_radix(addr.trim(), 16).unwrap();
                    return format!("{head}= {:#x}", a - 0x1000);
                }
            }
            l.to_string()
        })
        .collect();
    let bad = dir.join("hostile-edited.trace");
    std::fs::write(&bad, edited.join("\n") + "\n").unwrap();
    let r = replay_file(&bad);
    assert!(r.failed >= 1, "an mmap moved against the bound area passed: {}", r.summary());
    assert!(r.mismatches.iter().any(|m| m.call == "mmap"), "{:?}", r.mismatches);

    // A file whose inode the log states twice, differently.
    let inode_of_cat = text
        .lines()
        .find(|l| l.contains("/usr/bin/cat") && l.contains("r--p 00000000"))
        .and_then(|l| l.split_whitespace().nth(4).map(str::to_string));
    let ino = inode_of_cat.expect("the whole maps text names cat");
    {
        let stat = format!(
            "{} newfstatat(AT_FDCWD, \"/usr/bin/cat\", {{st_dev=makedev(0x1, 0x2), st_ino={}, st_mode=S_IFREG|0755, st_size=1, ...}}, 0) = 0\n",
            text.split_whitespace().next().unwrap(),
            ino.parse::<u64>().unwrap() + 1
        );
        let twice = dir.join("hostile-inode.trace");
        std::fs::write(&twice, format!("{}{stat}", text)).unwrap();
        let r = replay_file(&twice);
        assert!(r.failed >= 1, "a stat contradicting maps passed: {}", r.summary());
    }
}

#[test]
fn a_heap_start_no_load_bias_explains_gives_a_mismatch() {
    // Only execve and brk: nothing shows where the PIE went (no RELRO mprotect, no maps
    // read), yet the heap's start must still lie past the program for some bias Linux
    // could have drawn.
    let dir = scratch("brk-only");
    let Some(t) = record("brk-only", "-e trace=execve,brk", "$STRACE cat /proc/self/maps >/dev/null", &dir) else {
        return;
    };
    let r = replay_file(&t);
    assert_clean("cat, execve and brk only", &r, 2);
    assert_bound("cat, execve and brk only", &r, "start_brk");
    assert!(!r.bindings.iter().any(|b| b.contains("load_bias")), "{:?}", r.bindings);

    // Every brk result moved 4 TiB down, consistently: below any PIE cat could be.
    let text = std::fs::read_to_string(&t).unwrap();
    let edited: Vec<String> = text
        .lines()
        .map(|l| match l.rsplit_once(" = 0x") {
            Some((head, addr)) if l.contains(" brk(") => {
                let a = u64::from_str_radix(addr.trim(), 16).unwrap();
                let moved = a - (4u64 << 40);
                let head = head.replace(&format!("{a:#x}"), &format!("{moved:#x}"));
                format!("{head} = {moved:#x}")
            }
            _ => l.to_string(),
        })
        .collect();
    let bad = dir.join("brk-moved.trace");
    std::fs::write(&bad, edited.join("\n") + "\n").unwrap();
    let r = replay_file(&bad);
    assert!(r.mismatches.iter().any(|m| m.call.starts_with("start_brk of the execve")), "{:?}", r.mismatches);
}

#[test]
fn python_with_aslr() {
    if !hostreq::need_tools("python with aslr", &["python3"]) {
        return;
    }
    let script = "$STRACE python3 -c \"print(open('/proc/self/maps').read()[:10])\" >/dev/null";
    recorded_clean("python", "", script, 100);
}

fn compile_attach(dir: &Path) -> Option<PathBuf> {
    if !hostreq::need_tools("attach.c", &["gcc"]) {
        return None;
    }
    let exe = dir.join("attach");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/progs/attach.c");
    let out = Command::new("gcc").args(["-O1", "-o"]).arg(&exe).arg(&src).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Some(exe)
}

#[test]
fn a_process_attached_to_with_strace_p() {
    let dir = scratch("attached");
    let Some(exe) = compile_attach(&dir) else { return };
    // With a whole maps read: the address space before the trace is learned from it, and
    // every placement and the maps text are checked.
    let Some(t) = common::record_attached("attached-maps", &exe, &["maps"], false, &["-s", "65536"], &dir) else {
        return;
    };
    let r = replay_file(&t);
    assert_clean("strace -p with a maps read", &r, 6);
    assert!(r.bindings.iter().any(|b| b.contains("attached process's")), "{:?}", r.bindings);
    assert!(r.unchecked.is_empty(), "{:?}", r.unchecked);
    // Without one (or with plain strace's 32-byte strings): what the trace cannot tell is
    // listed as not checkable, never a mismatch.
    for (name, arg, flags) in [("attached-no-maps", "none", &[][..]), ("attached-cut-maps", "maps", &[][..])] {
        let Some(t) = common::record_attached(name, &exe, &[arg], false, flags, &dir) else { return };
        let r = replay_file(&t);
        assert_clean(name, &r, 3);
        assert!(!r.unchecked.is_empty(), "{name}: {}", r.summary());
    }
}

#[test]
fn shared_memory_inode_numbers_are_bound_per_object() {
    let dir = scratch("shmem");
    if !hostreq::need_tools("shmem.c", &["gcc"]) {
        return;
    }
    let exe = dir.join("shmem");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/progs/shmem_maps.c");
    let out = Command::new("gcc").args(["-O1", "-o"]).arg(&exe).arg(&src).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let Some(t) = record("shmem", "-s 65536", &format!("$STRACE {} >/dev/null", exe.display()), &dir) else { return };
    let r = replay_file(&t);
    assert_clean("shared memory objects", &r, 15);
    // Four objects, each bound where a read first shows it: three at the first read, the
    // fourth, made after it, at the second.
    let bound: Vec<&String> = r.bindings.iter().filter(|b| b.contains("shared memory object")).collect();
    assert_eq!(bound.len(), 4, "{:?}", r.bindings);
    // Numbers that would have met the model's own: each CPU draws its numbers from a batch
    // of its own, so a later object can show a number below an earlier one's, one a model
    // counting from 1000 had given to another object (seen as `1931, 1010` in a random
    // program). The log's numbers replaced, in the order they first show, by 10^(d-1) + 2,
    // + 1, + 4, + 3 (d their digits, so that the read sizes stay): still bound per object.
    let text = std::fs::read_to_string(&t).unwrap();
    let mut order: Vec<String> = Vec::new();
    for (at, _) in text.match_indices("00:01 ") {
        let digits: String = text[at + 6..].chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && !order.contains(&digits) {
            order.push(digits);
        }
    }
    assert_eq!(order.len(), 4, "{order:?}");
    let mut edited = text.clone();
    for (i, old) in order.iter().enumerate() {
        let base = 10u64.pow(old.len() as u32 - 1);
        let new = base + [2, 1, 4, 3][i];
        edited = edited.replace(&format!("00:01 {old} "), &format!("00:01 #{new} "));
    }
    let swapped = dir.join("shmem-swapped.trace");
    std::fs::write(&swapped, edited.replace("00:01 #", "00:01 ")).unwrap();
    let r = replay_file(&swapped);
    assert_clean("shared memory objects with swapped numbers", &r, 15);
    let bound = r.bindings.iter().filter(|b| b.contains("shared memory object")).count();
    assert_eq!(bound, 4, "{:?}", r.bindings);
}

#[test]
fn the_vdso_size_of_the_recording_kernel_is_learned_from_maps() {
    let dir = scratch("vdso");
    let Some(exe) = compile_from("maps_only.c", "static-vdso", &["-static"], &dir) else { return };
    let Some(t) = record("static-vdso", "-s 65536", &format!("$STRACE {} >/dev/null", exe.display()), &dir) else {
        return;
    };
    // As a kernel whose [vvar] has one page less would have laid it out: the vDSO is the
    // first thing in the mmap area of a static program that maps nothing, so only [vvar]'s
    // start moves.
    let text = std::fs::read_to_string(&t).unwrap();
    let at = text.find(" r--p 00000000 00:00 0                          [vvar]").expect("a whole maps read");
    // The line starts after the escaped newline (or the quote) before it.
    let before = &text[..at];
    let line_start = before.rfind("\\n").map(|i| i + 2).max(before.rfind('"').map(|i| i + 1)).unwrap();
    let (start, _) = text[line_start..at].split_once('-').unwrap();
    let moved = format!("{:x}", u64::from_str_radix(start, 16).unwrap() + 0x1000);
    let edited = format!("{}{}{}", &text[..line_start], moved, &text[line_start + start.len()..]);
    let other = dir.join("static-vdso-other-kernel.trace");
    std::fs::write(&other, edited).unwrap();
    let r = replay_file(&other);
    assert_clean("a three-page [vvar]", &r, 8);
    assert!(r.bindings.iter().any(|b| b.contains("[vvar] 3, [vvar_vclock] 2, [vdso] 2")), "{:?}", r.bindings);
}

#[test]
fn a_memory_filter_hiding_every_execve_with_aslr() {
    // The execve lines are filtered out: where each program's heap and mappings went is
    // unknown, and said so; nothing is reported as a mismatch.
    let script = "$STRACE sh -c 'cat /proc/self/maps; true' >/dev/null";
    let Some(r) = recorded_clean("trace-memory", "-e trace=memory", script, 5) else { return };
    assert!(!r.unchecked.is_empty(), "{}", r.summary());
}

/// `-e trace=%memory,%process` shows each execve and mmap but no open, read or maps text:
/// the program's RELRO made read-only is the first sight of where it was loaded, and the
/// load bias is learned from it as in a whole log, so every later placement is checked.
#[test]
fn a_memory_and_process_filter_learns_the_load_bias_from_relro() {
    let script = "$STRACE sh -c 'cat /proc/self/maps; true' >/dev/null";
    let Some(r) = recorded_clean("trace-memory-process", "-e trace=%memory,%process", script, 20) else { return };
    assert_bound("trace-memory-process", &r, "load_bias");
    let summary = r.summary();
    assert!(!summary.contains("made differ from the model"), "{summary}");
    assert!(!summary.contains("placement of mmap"), "{summary}");
}

#[test]
fn a_maps_text_read_in_small_pieces() {
    // dd reads the text 100 bytes at a time: no piece holds more than one whole line.
    let script = "$STRACE dd if=/proc/self/maps bs=100 status=none >/dev/null";
    let Some(r) = recorded_clean("chunks", "-s 65536", script, 20) else { return };
    assert!(!r.bindings.iter().any(|b| b.contains("vDSO's pages")), "{:?}", r.bindings);
}

/// The recording machine's RAM and swap, from a read of /proc/meminfo: under the heuristic
/// overcommit mode one mapping may be as large as both together, so a mapping just below
/// succeeds and one just above fails there, whatever RAM the model was given. With the swap
/// a read shows counted too, a trace edited to show 1 GiB of swap predicts the second one
/// to succeed: a mismatch.
#[test]
fn ram_and_swap_are_learned_from_meminfo() {
    let dir = scratch("meminfo");
    let Some(exe) = common::compile("meminfo_mmap", "meminfo_mmap.c", &[], &dir) else { return };
    let Some(t) = common::record("meminfo", &["-v", "-s", "65536"], &[exe.to_str().unwrap()], &dir) else { return };
    let text = std::fs::read_to_string(&t).unwrap();
    if !text.contains("= -1 ENOMEM") {
        // Not the heuristic mode here: the program mapped nothing.
        assert!(!std::fs::read_to_string("/proc/sys/vm/overcommit_memory").unwrap().starts_with('0'));
        return;
    }
    let r = replay_file(&t);
    assert_clean("meminfo", &r, 10);
    assert!(r.bindings.iter().any(|b| b.contains("MemTotal")), "{:?}", r.bindings);
    // The swap the read shows, 1 GiB more.
    let at = text.find("SwapTotal:").expect("a whole meminfo read") + "SwapTotal:".len();
    let end = at + text[at..].find(" kB").unwrap();
    let kb: u64 = text[at..end].trim().parse().unwrap();
    let swap_shown = format!("{} {}{}", &text[..at], kb + (1 << 20), &text[end..]);
    let edited = dir.join("meminfo-swap.trace");
    std::fs::write(&edited, swap_shown).unwrap();
    let r = replay_file(&edited);
    assert!(r.bindings.iter().any(|b| b.contains("SwapTotal")), "{:?}", r.bindings);
    assert!(r.mismatches.iter().any(|m| m.expected.contains("ENOMEM")), "{}", common::problems(&r).join("\n"));
}

/// The RAM shown only after a mapping the overcommit heuristic weighed: when the model's
/// default RAM would have decided that mapping as the recording machine's did, the first
/// run over the log stands (nothing it did depended on the size); when not, the replay
/// runs again with the RAM known from the start. Clean either way.
#[test]
fn ram_learned_late_needs_a_second_run_only_when_something_depended_on_it() {
    let dir = scratch("meminfo-late");
    let Some(exe) = common::compile("meminfo_late", "meminfo_late.c", &[], &dir) else { return };
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kb = |field: &str| -> u64 {
        let at = meminfo.find(field).unwrap() + field.len();
        meminfo[at..].split_whitespace().next().unwrap().parse().unwrap()
    };
    let ram = kb("MemTotal:") << 10;
    let heuristic = std::fs::read_to_string("/proc/sys/vm/overcommit_memory").unwrap().starts_with('0');
    // A page, and nine tenths of this machine's RAM.
    for len in [4096, ram / 10 * 9] {
        let name = format!("late-{len}");
        let arg = len.to_string();
        let Some(t) = common::record(&name, &["-v", "-s", "65536"], &[exe.to_str().unwrap(), &arg], &dir) else {
            return;
        };
        let r = replay_file(&t);
        assert_clean(&name, &r, 3);
        assert!(r.bindings.iter().any(|b| b.contains("MemTotal")), "{name}: {:?}", r.bindings);
        let swap_bound = r.bindings.iter().any(|b| b.contains("SwapTotal"));
        // The model's default RAM refuses what this machine's let through.
        let decided_otherwise = heuristic && len > replay::DEFAULT_RAM;
        let expected = if swap_bound || decided_otherwise { 2 } else { 1 };
        assert_eq!(r.runs, expected, "{name}: {:?}", r.bindings);
    }
}

/// Plain strace shows the first 32 bytes of each read: a program reading a maps text of
/// more than a page gets it a page of lines at a time, and the log shows where each read
/// begins but not where the one before ended. A read that begins at the `[stack]` line shows
/// only the stack's addresses, cut: the model's text, line for line, says which mapping they
/// are (bound: the stack's top).
#[test]
fn maps_reads_that_strace_cut_short() {
    let dir = scratch("pieces");
    let Some(exe) = common::compile("maps_pieces", "maps_pieces.c", &["-pthread"], &dir) else { return };
    for (name, arg) in [("pieces-pages", ""), ("pieces-stack", "stack")] {
        let Some(t) = record(name, "", &format!("$STRACE {} {arg}", exe.display()), &dir) else { return };
        let r = replay_file(&t);
        assert_clean(name, &r, 50);
        if arg == "stack" {
            assert_bound(name, &r, "stack_top");
        }
    }
}

/// Four threads mapping and unmapping at once, plain `strace -f`: strace prints a call's
/// end after calls the kernel did later, and before calls it did earlier, so where each
/// `mmap` went is explained by some order of the calls in flight, not by the order of the
/// lines. Three recordings (each a different interleaving), every one clean. Then the same
/// log with one such mapping moved to a free address 1 GiB lower, where no order of those
/// calls puts it: a mismatch at that line.
#[test]
fn threads_mapping_and_unmapping_at_once() {
    let dir = scratch("threads-mapping");
    let Some(exe) = common::compile("threads_mapping", "threads_mapping.c", &["-pthread"], &dir) else { return };
    let Some(t) = threads_recorded_clean("threads-mapping", &exe, &dir, 3, 3) else { return };
    placed_elsewhere_is_a_mismatch(&t, "mmap", &dir.join("threads-mapping-moved.trace"));
}

/// The same threads also growing their mappings with mremap (tests/progs/threads_mapping.c
/// built with -DMOVE), plain `strace -f`. Whether a mapping grew in place or moved, and
/// where to, depends on the calls of other threads in flight, in the kernel's order: a
/// move needs the pages above its mapping taken when it ran, a mapping may have been
/// placed in the room a move in progress left, and a move the replay did ahead of its
/// line (for another thread's mapping to land where the log says) goes where its own
/// line says when an order explains that. Before these, each recording showed 36-74
/// mismatches of ~1,550 checks (none of 13 clean); after, 25 of 25 in a row replay clean
/// (one kept recording of ~70 still shows 2 mismatches: an interleaving of overlapping
/// moves the search does not try). Five recordings, three at least clean. Then a moved
/// mapping edited to a free address 1 GiB lower: a mismatch at that line.
#[test]
fn threads_moving_mappings_at_once() {
    let dir = scratch("threads-moving");
    let Some(exe) = common::compile("threads_moving", "threads_mapping.c", &["-pthread", "-DMOVE"], &dir) else {
        return;
    };
    let Some(t) = threads_recorded_clean("threads-moving", &exe, &dir, 5, 3) else { return };
    placed_elsewhere_is_a_mismatch(&t, "mremap", &dir.join("threads-moving-moved.trace"));
}

/// The log `t` edited by [`placed_elsewhere`] (written to `bad`) replays with a mismatch
/// at the edited line: no order of the calls in flight puts the mapping there.
fn placed_elsewhere_is_a_mismatch(t: &Path, call: &str, bad: &Path) {
    let (edited, line) = placed_elsewhere(t, call);
    std::fs::write(bad, edited).unwrap();
    let r = replay_file(bad);
    assert!(
        r.mismatches.iter().any(|m| m.call == call && m.line == line),
        "a {call} no order explains passed: {}\n{:?}",
        r.summary(),
        r.mismatches
    );
}

/// Records `exe` (progs/threads_mapping.c) `runs` times with plain `strace -f`, and
/// replays each log: at least `clean` of them must replay clean (see
/// [`common::assert_mostly_clean`]); the last clean log.
fn threads_recorded_clean(name: &str, exe: &Path, dir: &Path, runs: u32, clean: usize) -> Option<PathBuf> {
    let mut replays = Vec::new();
    for run in 0..runs {
        let name = format!("{name}-{run}");
        let t = record(&name, "", &format!("$STRACE {} >/dev/null", exe.display()), dir)?;
        replays.push((name, t.clone(), replay_file(&t)));
    }
    common::assert_mostly_clean(&replays, clean, 1000)
}

/// The log `t` with the address the last `call` that ended after another task's line
/// began (placed while other threads had calls in flight) returned, when it moved or
/// placed a mapping, made 1 GiB lower; and the number of that line.
fn placed_elsewhere(t: &Path, call: &str) -> (String, u64) {
    let text = std::fs::read_to_string(t).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let resumed = format!("<... {call} resumed>");
    let moved = lines
        .iter()
        .enumerate()
        .rev()
        .find(|(i, l)| {
            l.contains(&resumed) && l.contains("= 0x") && (call == "mmap" || started_elsewhere(&lines[..*i], l))
        })
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("no {call} split by another thread's line in {}", t.display()));
    let (head, addr) = lines[moved].rsplit_once("= 0x").unwrap();
    let a = u64::from_str_radix(addr.trim(), 16).unwrap();
    let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    edited[moved] = format!("{head}= {:#x}", a - (1 << 30));
    (edited.join("\n") + "\n", moved as u64 + 1)
}

/// Whether the `mremap` that `resumed` (a `<... mremap resumed>` line) ends moved its
/// mapping: its start, the task's last line in `before`, names another address.
fn started_elsewhere(before: &[&str], resumed: &str) -> bool {
    let pid = resumed.split_whitespace().next().unwrap_or("");
    let start = before.iter().rev().find(|l| l.split_whitespace().next() == Some(pid));
    let old = start.and_then(|l| l.split_once("mremap(")).and_then(|(_, rest)| rest.split(',').next());
    let new = resumed.rsplit_once("= ").map(|(_, r)| r.trim());
    old.is_some_and(|old| Some(old) != new)
}

/// A log of progs/threads_mapping.c (kept from a run of the test above that failed under
/// load) in which a new thread's first calls, an mmap among them, come before the clone3
/// that made it returns: the kernel ran them then, before a munmap another thread's line
/// shows next. The thread is made at its first line (the one clone in progress is its
/// parent's), not when the clone returns, so its mapping goes where the log says; before,
/// its lines waited for the clone and the model placed the mapping after that munmap (10
/// mismatches).
#[test]
fn a_thread_whose_first_calls_come_before_its_clone_returns() {
    let dir = scratch("threads-child-first");
    let Some(_) = common::compile("threads_mapping", "threads_mapping.c", &["-pthread"], &dir) else { return };
    let kept = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/threads_mapping_child_first.trace");
    let trace = dir.join("child-first.trace");
    std::fs::copy(&kept, &trace).unwrap();
    assert_clean("child-first", &replay_file(&trace), 1000);
}
