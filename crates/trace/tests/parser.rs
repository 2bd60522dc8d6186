//! Behaviour of the streaming parser on small hand-written traces: split calls, exits,
//! signals, pid attribution, and bad input.

use trace::{Arg, Event, EventKind, ParseError, Parser, Ret, Syscall};

fn parse(text: &str) -> Vec<Result<Event, ParseError>> {
    Parser::new(text.as_bytes()).collect()
}

#[track_caller]
fn events(text: &str) -> Vec<Event> {
    parse(text).into_iter().collect::<Result<_, _>>().expect("no parse errors")
}

#[track_caller]
fn call(event: &Event) -> &Syscall {
    event.syscall().unwrap_or_else(|| panic!("not a call: {event:?}"))
}

#[test]
fn split_calls_from_interleaved_pids_are_joined_with_both_line_numbers() {
    let all = events(
        "\
20209 munmap(0x7ffff4000000, 37748736 <unfinished ...>
20210 newfstatat(3, \"\",  <unfinished ...>
20211 getpid()                          = 20204
20210 <... newfstatat resumed>{st_dev=makedev(0, 0x15), st_ino=114817, st_mode=S_IFREG|0444}, AT_EMPTY_PATH) = 0
20209 <... munmap resumed>)             = 0
",
    );
    assert_eq!(all.len(), 3);
    assert_eq!(call(&all[0]).name, "getpid");
    let stat = call(&all[1]);
    assert_eq!((all[1].pid, all[1].line, stat.unfinished_line), (Some(20210), 4, Some(2)));
    assert_eq!(stat.args.len(), 4);
    assert_eq!(stat.arg_str(1), Some(&b""[..]));
    assert_eq!(stat.arg_struct_field(2, "st_ino").and_then(Arg::as_u64), Some(114817));
    assert_eq!(stat.arg(3).and_then(Arg::as_ident), Some("AT_EMPTY_PATH"));
    let munmap = call(&all[2]);
    assert_eq!((all[2].line, munmap.unfinished_line), (5, Some(1)));
    assert_eq!(
        (munmap.arg_u64(0), munmap.arg_u64(1), munmap.ret_u64()),
        (Some(0x7ffff4000000), Some(37748736), Some(0))
    );
    assert!(!munmap.incomplete);
}

#[test]
fn starts_of_split_calls_are_reported_when_asked_for() {
    let log = "\
7 read(3,  <unfinished ...>
8 mprotect(0x7fffe8000000, 135168, PROT_READ|PROT_WRITE) = 0
7 <... read resumed>\"abc\", 65536) = 3
";
    let plain: Vec<_> = events(log).into_iter().map(|e| e.line).collect();
    assert_eq!(plain, [2, 3], "not reported unless asked for");
    let all: Vec<Event> = Parser::new(log.as_bytes()).report_call_starts(true).collect::<Result<_, _>>().unwrap();
    assert_eq!(all.iter().map(|e| e.line).collect::<Vec<_>>(), [1, 2, 3]);
    match &all[0].kind {
        EventKind::CallStarted { name, args } => {
            assert_eq!((name.as_str(), all[0].pid), ("read", Some(7)));
            assert_eq!(args.iter().map(Arg::as_u64).collect::<Vec<_>>(), [Some(3)]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(call(&all[2]).unfinished_line, Some(1));
}

#[test]
fn an_in_out_argument_split_across_the_two_parts_is_joined() {
    let all = events(
        "\
20204 clone3({flags=CLONE_VM|CLONE_THREAD, child_tid=0x7ffff75d0990, exit_signal=0, stack=0x7ffff6dd0000, stack_size=0x7fff80} <unfinished ...>
20204 <... clone3 resumed> => {parent_tid=[20210]}, 88) = 20210
",
    );
    let clone3 = call(&all[0]);
    assert_eq!(clone3.args.len(), 2);
    assert_eq!(clone3.arg_struct_field(0, "stack_size").and_then(Arg::as_u64), Some(0x7fff80));
    let parent_tid = clone3.arg_struct_field(0, "parent_tid").and_then(Arg::as_array).unwrap();
    assert_eq!(parent_tid, &[Arg::Int(20210)]);
    assert_eq!(clone3.ret, Ret::Value(20210));
}

#[test]
fn calls_that_never_resume_are_reported_incomplete_at_the_end() {
    let all = events(
        "\
1 read(3,  <unfinished ...>
2 futex(0x7ffff7dd1990, FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME, 20209, NULL, FUTEX_BITSET_MATCH_ANY <unfinished ...>
1 +++ killed by SIGKILL +++
",
    );
    assert_eq!(all.len(), 3);
    // The read of the killed process comes out before its death, the futex at the end.
    let read = call(&all[0]);
    assert!(read.incomplete);
    assert_eq!((all[0].line, all[0].pid, read.unfinished_line), (1, Some(1), Some(1)));
    assert_eq!((read.arg_u64(0), read.ret.clone()), (Some(3), Ret::Unknown));
    assert_eq!(all[1].kind, EventKind::Killed { signal: "SIGKILL".into(), core: false });
    let futex = call(&all[2]);
    assert!(futex.incomplete);
    assert_eq!(futex.args.len(), 5);
}

#[test]
fn a_call_cut_short_by_death_resumes_with_unknown_result() {
    let all = events(
        "\
7 read(0,  <unfinished ...>
8 exit_group(0) = ?
7 <... read resumed> <unfinished ...>) = ?
7 +++ exited with 0 +++
8 +++ exited with 0 +++
",
    );
    let read = call(&all[1]);
    assert_eq!((read.name.as_ref(), read.ret.clone(), read.incomplete), ("read", Ret::Unknown, false));
    assert_eq!(read.args.len(), 1);
    assert_eq!(all[2].kind, EventKind::Exited { code: 0 });
}

#[test]
fn restarted_calls_keep_their_errno() {
    let all = events(
        "\
5 wait4(-1,  <unfinished ...>
5 <... wait4 resumed>0x7ffc, 0, NULL) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)
5 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=6, si_uid=0, si_status=0, si_utime=0, si_stime=0} ---
5 restart_syscall(<... resuming interrupted wait4 ...>) = 6
",
    );
    assert_eq!(call(&all[0]).errno(), Some("ERESTARTSYS"));
    match &all[1].kind {
        EventKind::Signal { signal, info: Some(info) } => {
            assert_eq!(signal, "SIGCHLD");
            assert_eq!(info.field("si_pid").and_then(Arg::as_u64), Some(6));
        }
        other => panic!("{other:?}"),
    }
    let restart = call(&all[2]);
    assert_eq!(restart.name, "restart_syscall");
    assert_eq!(restart.args[0], Arg::Other("<... resuming interrupted wait4 ...>".into()));
    assert_eq!(restart.ret_u64(), Some(6));
}

#[test]
fn an_orphan_resumed_line_is_an_error_and_parsing_goes_on() {
    let results = parse("3 <... read resumed>\"x\", 1) = 1\n3 close(3) = 0\n");
    let error = results[0].as_ref().unwrap_err();
    assert_eq!((error.line, error.column), (1, 1));
    assert!(error.message.contains("read"));
    assert_eq!(call(results[1].as_ref().unwrap()).name, "close");
}

#[test]
fn the_execve_of_a_thread_resumes_under_the_leader_pid() {
    let all = events(
        "\
27774 execve(\"./tex\", [\"./tex\"], 0x7fffa30500c8 /* 35 vars */) = 0
27774 pause( <unfinished ...>
27775 execve(\"/bin/true\", [\"/bin/true\"], 0x7fff6455bfb8 /* 35 vars */ <unfinished ...>
27774 <... pause resumed>)              = ?
27774 +++ superseded by execve in pid 27775 +++
27774 <... execve resumed>)             = 0
27774 +++ exited with 0 +++
",
    );
    let kinds: Vec<_> = all.iter().map(|e| (e.pid, e.line)).collect();
    assert_eq!(kinds, vec![(Some(27774), 1), (Some(27774), 4), (Some(27774), 5), (Some(27774), 6), (Some(27774), 7)]);
    assert_eq!(all[2].kind, EventKind::SupersededByExecve { thread: 27775 });
    let execve = call(&all[3]);
    assert_eq!((execve.arg_str(0), execve.unfinished_line), (Some(&b"/bin/true"[..]), Some(3)));
    assert_eq!(execve.arg(2).and_then(Arg::comment), Some("35 vars"));
}

#[test]
fn an_unmatched_pause_resumed_line_is_the_only_error() {
    let results = parse("27774 <... pause resumed>) = ?\n27774 getpid() = 27774\n");
    assert!(results[0].is_err());
    assert!(results[1].is_ok());
}

#[test]
fn unprefixed_lines_learn_the_root_pid_and_get_it_later() {
    let text = "\
execve(\"/usr/bin/sh\", [\"sh\"], 0x7ffd /* 3 vars */) = 0
set_tid_address(0x7ffff7dd2a10)   = 19986
vfork(strace: Process 19987 attached
 <unfinished ...>
[pid 19987] execve(\"/usr/bin/cat\", [\"cat\"], 0x7ffd /* 3 vars */ <unfinished ...>
[pid 19986] <... vfork resumed>)        = 19987
[pid 19987] <... execve resumed>)       = 0
[pid 19986] wait4(-1,  <unfinished ...>
[pid 19987] exit_group(0)               = ?
[pid 19987] +++ exited with 0 +++
<... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 19987
";
    let mut parser = Parser::new(text.as_bytes());
    let first: Vec<_> = parser.by_ref().take(2).map(Result::unwrap).collect();
    assert_eq!((first[0].pid, first[1].pid), (None, None));
    assert_eq!(parser.root_pid(), Some(19986));
    let rest: Vec<Event> = parser.collect::<Result<_, _>>().unwrap();
    let pids: Vec<_> = rest.iter().map(|e| e.pid).collect();
    assert_eq!(pids, vec![Some(19987), Some(19986), Some(19987), Some(19987), Some(19987), Some(19986)]);
    let vfork = call(&rest[1]);
    assert_eq!((vfork.name.as_ref(), vfork.unfinished_line, vfork.ret_u64()), ("vfork", Some(3), Some(19987)));
    let wait4 = call(&rest[5]);
    assert_eq!((wait4.name.as_ref(), wait4.ret_u64()), ("wait4", Some(19987)));
    assert!(matches!(wait4.arg(1).and_then(Arg::as_array), Some([status]) if status.as_struct().is_some()));
}

#[test]
fn a_line_interrupted_by_an_attach_message_is_joined_with_its_rest() {
    let text = "\
set_tid_address(0x7ffff7dd2a10)   = 3988
clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLDstrace: Process 3990 attached
, child_tidptr=0x7f862e81ba10) = 3990
[pid  3990] set_robust_list(0x7f862e81ba20, 24) = 0
";
    let all = events(text);
    assert_eq!(all[1].kind, EventKind::Attached);
    assert_eq!(all[1].pid, Some(3990));
    let clone = call(&all[2]);
    assert_eq!((all[2].pid, all[2].line), (Some(3988), 2));
    assert_eq!(clone.arg_named("child_tidptr").and_then(Arg::as_u64), Some(0x7f862e81ba10));
    assert_eq!(clone.arg_named("flags").map(|f| f.flag_parts().count()), Some(3));
    assert_eq!(clone.ret_u64(), Some(3990));
    assert_eq!(all[3].pid, Some(3990));
}

#[test]
fn unprefixed_resumed_lines_find_the_call_of_the_lone_process() {
    let all = events(
        "\
set_tid_address(0x1) = 100
[pid 100] wait4(-1,  <unfinished ...>
[pid 101] exit_group(0) = ?
[pid 101] +++ exited with 0 +++
<... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 101
exit_group(0) = ?
",
    );
    let wait4 = call(&all[3]);
    assert_eq!((all[3].pid, wait4.unfinished_line, wait4.ret_u64()), (Some(100), Some(2), Some(101)));
    assert_eq!(all[4].pid, Some(100));
}

#[test]
fn time_stamps_durations_and_decorations_from_other_flags() {
    let all = events(
        "\
[pid 20243] 00:44:55.955861 newfstatat(1<pipe:[114835]>, \"\", {st_mode=S_IFIFO|0600, st_size=0, ...}, AT_EMPTY_PATH) = 0 <0.000012>
1795653895.936460 openat(AT_FDCWD</tmp/tr>, \"/etc/ld.so.cache\", O_RDONLY|O_CLOEXEC) = 3</etc/ld.so.cache> <0.000033>
",
    );
    assert_eq!(all[0].timestamp.map(|t| t.seconds), Some(44 * 60 + 55));
    let stat = call(&all[0]);
    assert_eq!(stat.arg_decoration(0), Some(&b"pipe:[114835]"[..]));
    assert_eq!(stat.arg_struct(2).map(|f| f.len()), Some(3));
    let open = call(&all[1]);
    assert_eq!(open.arg_flags(2), Some(abi::O_RDONLY | abi::O_CLOEXEC));
    assert_eq!(open.ret_decoration.as_deref(), Some(&b"/etc/ld.so.cache"[..]));
}

#[test]
fn bad_lines_are_errors_with_positions_and_the_rest_still_parses() {
    let results = parse(
        "\
1 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000
this is not strace output
1 mmap(NULL, 4096) = what
\u{0}\u{1}\u{2}
1 munmap(0x7f0000000000, 4096) = 0
",
    );
    let summary: Vec<_> = results.iter().map(|r| r.as_ref().map(|e| e.line).map_err(|e| (e.line, e.column))).collect();
    assert_eq!(summary, vec![Ok(1), Err((2, 1)), Err((3, 22)), Err((4, 1)), Ok(5)]);
}

#[test]
fn bytes_that_are_not_utf8_are_decoded_or_reported_not_panicked_on() {
    let mut text = b"1 write(1, \"\xff\xfe\\xff\", 3) = 3\n1 \xc3(\n".to_vec();
    text.extend_from_slice(b"1 openat(AT_FDCWD, \"/tmp/\xe9\", O_RDONLY) = 3\n");
    let results: Vec<_> = Parser::new(&text[..]).collect();
    let write = call(results[0].as_ref().unwrap());
    assert_eq!(write.arg_str(1), Some(&[0xff, 0xfe, 0xff][..]));
    assert!(results[1].is_err());
    assert_eq!(call(results[2].as_ref().unwrap()).arg_str(1), Some(&b"/tmp/\xe9"[..]));
}

#[test]
fn a_log_cut_in_the_middle_of_a_line_reports_that_line() {
    let results = parse("1 brk(NULL) = 0x555555560000\n1 mmap(NULL, 8192, PROT_READ|PROT_WR");
    assert!(results[0].is_ok());
    let error = results[1].as_ref().unwrap_err();
    assert_eq!(error.line, 2);
    assert_eq!(results.len(), 2);
}

#[test]
fn windows_line_endings_and_blank_lines_are_accepted() {
    let all = events("1 getpid() = 1\r\n\r\n\n1 getppid() = 0\r\n");
    assert_eq!(all.iter().map(|e| e.line).collect::<Vec<_>>(), vec![1, 4]);
}

#[test]
fn overlong_lines_are_skipped_with_an_error() {
    let long = format!("1 write(1, \"{}\", 100) = 100\n1 close(1) = 0\n", "x".repeat(100));
    let results: Vec<_> = Parser::new(long.as_bytes()).max_line_len(50).collect();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].as_ref().unwrap_err().line, 1);
    assert_eq!(results[1].as_ref().unwrap().line, 2);
}

#[test]
fn an_endless_line_ends_the_input_with_an_error_at_the_limit() {
    // Like /dev/zero: the parser gives up after twice the limit instead of reading forever.
    let endless = std::io::BufReader::new(std::io::repeat(b'x'));
    let results: Vec<_> = Parser::new(endless).max_line_len(1000).collect();
    assert_eq!(results.len(), 1);
    let e = results[0].as_ref().unwrap_err();
    assert_eq!((e.line, e.column), (1, 1001));
    assert!(e.message.starts_with("line longer than 1000 bytes, and no end of line after"), "{e}");
    // A line just over the limit is skipped, and the next one read.
    let long = format!("1 getpid() = 1\n{}\n1 getppid() = 0\n", "y".repeat(1500));
    let results: Vec<_> = Parser::new(long.as_bytes()).max_line_len(1000).collect();
    assert_eq!(results.len(), 3);
    let e = results[1].as_ref().unwrap_err();
    assert_eq!((e.line, e.column), (2, 1001));
    assert_eq!(results[2].as_ref().unwrap().line, 3);
}

#[test]
fn offsets_point_at_the_start_of_each_line() {
    let text = "1 getpid() = 1\n1 getppid() = 0\n";
    let all = events(text);
    assert_eq!(all[1].offset, 15);
    assert!(text[all[1].offset as usize..].starts_with("1 getppid"));
}

#[test]
fn other_lines_and_diagnostics_are_events_not_errors() {
    let all = events(
        "\
[ Process PID=1234 runs in 32 bit mode. ]
strace: Process 1234 detached
1 --- stopped by SIGSTOP ---
strace: ptrace(PTRACE_SEIZE, 1): Operation not permitted
",
    );
    assert!(matches!(&all[0].kind, EventKind::Other(text) if text.contains("32 bit")));
    assert_eq!((all[1].pid, &all[1].kind), (Some(1234), &EventKind::Detached));
    assert!(matches!(&all[2].kind, EventKind::Other(_)));
    assert!(matches!(&all[3].kind, EventKind::Diagnostic(text) if text.starts_with("ptrace")));
}

#[test]
fn lines_in_the_formats_of_older_and_newer_strace_versions() {
    // strace 4.x: padded pids, signals without siginfo, positional sigaction structs,
    // `[/* N vars */]` environments; strace 6.x options: -X verbose, -n, -i, --decode-pids.
    let all = events(
        "\
execve(\"/bin/ls\", [\"ls\"], [/* 30 vars */]) = 0
[pid  1234] rt_sigaction(SIGINT, {SIG_IGN, [], SA_RESTORER, 0x7f0a1b2c3d40}, {SIG_DFL, [], 0}, 8) = 0
[pid  1234] --- SIGCHLD (Child exited) @ 0 (0) ---
[pid  1234] fstat(3, {st_mode=S_IFREG|0644, st_size=12345, ...}) = 0
[pid  1234] mmap(NULL, 8192, 0x3 /* PROT_READ|PROT_WRITE */, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0) = 0x7f0000000000
[pid  1234] [  9] mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000002000
[pid 1234<ls>] [00007ffff7fe3c8b] munmap(0x7f0000002000, 4096) = 0
1234  1795653895.935651123 brk(NULL) = 0x555555560000
",
    );
    assert_eq!(call(&all[0]).arg(2).and_then(Arg::as_array), Some(&[Arg::Comment("30 vars".into())][..]));
    let sigaction = call(&all[1]);
    let new_action = sigaction.arg_struct(1).unwrap();
    assert_eq!(new_action[0].value.as_ident(), Some("SIG_IGN"));
    assert_eq!(new_action[3].value.as_u64(), Some(0x7f0a1b2c3d40));
    match &all[2].kind {
        EventKind::Signal { signal, info } => {
            assert_eq!(signal, "SIGCHLD");
            assert_eq!(info, &Some(Arg::Other("(Child exited) @ 0 (0)".into())));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(call(&all[3]).arg_struct(1).map(|s| s.len()), Some(3));
    let verbose = call(&all[4]);
    assert_eq!((verbose.arg_flags(2), verbose.arg(2).and_then(Arg::comment)), (Some(3), Some("PROT_READ|PROT_WRITE")));
    assert_eq!(call(&all[5]).arg_u64(1), Some(4096));
    assert_eq!((all[6].pid, call(&all[6]).name.as_ref()), (Some(1234), "munmap"));
    assert_eq!(all[7].timestamp.map(|t| t.nanos), Some(935_651_123));
}

#[test]
fn hex_dump_lines_follow_raw_reads_and_writes() {
    let log = "7  write(0x4, 0x7ffff7fbe000, 0xb)   = 0xb\n | 00000  68 65 6c 6c 6f 20 77 6f  72 6c 64                 hello world      |\n | 00010  41 42                                             AB               |\n";
    let events: Vec<_> = trace::Parser::new(log.as_bytes()).collect::<Result<_, _>>().unwrap();
    assert_eq!(events.len(), 3);
    match &events[1].kind {
        trace::EventKind::Dump { offset, bytes } => {
            assert_eq!(*offset, 0);
            assert_eq!(bytes, b"hello world");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&events[2].kind, trace::EventKind::Dump { offset: 0x10, bytes } if bytes == b"AB"));
}

#[test]
fn calls_whose_arguments_are_unread_come_out_without_them_and_with_their_results() {
    let text = "\
100 newfstatat(3, \"a) b\\\" (\", {st_mode=S_IFREG|0644, st_atime=1 /* 2026) */}, 0) = 0
100 rt_sigaction(SIGINT, {sa_handler=0x1, sa_mask=[], sa_flags=SA_RESTORER}, NULL, 8) = 0
100 newfstatat(AT_FDCWD, \"/nowhere\", 0x7ffe0, 0) = -1 ENOENT (No such file or directory)
100 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000
100 newfstatat(4, \"x\", <unfinished ...>
100 <... newfstatat resumed>{st_mode=S_IFDIR|0755}, 0) = 0
";
    let unread = |name: &str| matches!(name, "newfstatat" | "rt_sigaction");
    let all: Vec<Event> = Parser::new(text.as_bytes()).skip_args_of(unread).collect::<Result<_, _>>().expect("parses");
    assert_eq!(all.len(), 5);
    for (i, ret) in [(0, Ret::Value(0)), (1, Ret::Value(0)), (4, Ret::Value(0))] {
        assert!(call(&all[i]).args.is_empty(), "{:?}", all[i]);
        assert_eq!(call(&all[i]).ret, ret);
    }
    assert_eq!(call(&all[2]).errno(), Some("ENOENT"));
    assert_eq!(call(&all[3]).args.len(), 6, "other calls keep their arguments");
    // An argument list left unclosed is still an error.
    let bad: Vec<_> = Parser::new(&b"100 newfstatat(3, \"a\", {st_mode=0 = 0\n"[..]).skip_args_of(unread).collect();
    assert!(bad.iter().any(Result::is_err), "{bad:?}");
}
