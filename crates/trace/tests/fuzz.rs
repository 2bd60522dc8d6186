//! Property tests: no input makes the parser panic, and every error and event it reports
//! points at a line that exists.
//!
//! Inputs are arbitrary bytes, arbitrary text over strace's punctuation, and real trace lines
//! mutated by cutting, splicing and inserting strace's own tokens.

use proptest::prelude::*;
use trace::Parser;

/// Real lines of each kind, from traces recorded with various flags.
const CORPUS: &[&str] = &[
    r#"19980 execve("/usr/bin/cat", ["cat", "/proc/self/maps"], ["SHELL=/bin/bash", "LANG=C.UTF-8"]) = 0"#,
    "19980 brk(NULL)                         = 0x555555560000",
    "19980 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7fc0000",
    r#"19980 access("/etc/ld.so.preload", R_OK) = -1 ENOENT (No such file or directory)"#,
    r#"19980 openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3"#,
    r#"19980 newfstatat(3, "", {st_dev=makedev(0xfe, 0), st_ino=672, st_mode=S_IFREG|0644, st_nlink=1, st_size=33699, st_atime=1795651408 /* 2026-11-26T00:03:28.952794103+0000 */, st_atime_nsec=952794103}, AT_EMPTY_PATH) = 0"#,
    r#"19980 read(3, "\177ELF\2\1\1\3\0\0\0\0\0\0\0\0\3\0>\0\1\0\0\0\20t\2\0\0\0\0\0@\0\0\0\0\0\0\0XT\35\0\0\0\0\0\0\0\0\0@\08\0\16\0@\0@\0?\0\6\0\0\0\4\0\0\0@\0\0\0\0\00007", 832) = 832"#,
    "19980 mmap(0x7ffff7dfb000, 1400832, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x26000) = 0x7ffff7dfb000",
    "19980 arch_prctl(ARCH_SET_FS, 0x7ffff7dd2740) = 0",
    "19980 rseq(0x7ffff7dd3060, 0x20, 0, 0x53053053) = 0",
    "19986 prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0",
    "19986 rt_sigaction(SIGCHLD, {sa_handler=0x555555566dc0, sa_mask=~[RTMIN RT_1], sa_flags=SA_RESTORER, sa_restorer=0x7ffff7e11050}, NULL, 8) = 0",
    r#"19986 getrandom("\xb3\x61\x07\x72\x6f\x11\x9e\xc2", 8, GRND_NONBLOCK) = 8"#,
    "19986 vfork( <unfinished ...>",
    "19987 rt_sigprocmask(SIG_SETMASK, [], ~[KILL STOP RTMIN RT_1], 8) = 0",
    "19986 <... vfork resumed>)              = 19987",
    "19986 wait4(-1,  <unfinished ...>",
    "19986 <... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 19991",
    "19986 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=19991, si_uid=0, si_status=0, si_utime=0, si_stime=0} ---",
    "19986 rt_sigreturn({mask=[]})           = 19991",
    "19991 exit_group(0)                     = ?",
    "19991 +++ exited with 0 +++",
    "20204 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7ffff75d0990, parent_tid=0x7ffff75d0990, exit_signal=0, stack=0x7ffff6dd0000, stack_size=0x7fff80, tls=0x7ffff75d06c0} <unfinished ...>",
    "20204 <... clone3 resumed> => {parent_tid=[20211]}, 88) = 20211",
    "20209 munmap(0x7ffff4000000, 37748736 <unfinished ...>",
    "20209 <... munmap resumed>)             = 0",
    "20210 read(3,  <unfinished ...>",
    r#"20210 <... read resumed>"555555554000-555555555000 r--p 00000000 fe:00 10166635                   /tmp/tr/thr\n", 5120) = 89"#,
    "20204 futex(0x7ffff7dd1990, FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME, 20209, NULL, FUTEX_BITSET_MATCH_ANY <unfinished ...>",
    "27774 +++ superseded by execve in pid 27775 +++",
    "[pid 20243] 00:44:55.955861 newfstatat(1<pipe:[114835]>, \"\", {st_mode=S_IFIFO|0600, st_size=0, ...}, AT_EMPTY_PATH) = 0",
    "1795653895.936460 openat(AT_FDCWD</tmp/tr>, \"/etc/ld.so.cache\", O_RDONLY|O_CLOEXEC) = 3</etc/ld.so.cache> <0.000033>",
    "1795654334.035274 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLDstrace: Process 3990 attached",
    ", child_tidptr=0x7f862e81ba10) = 3990 <0.000199>",
    "strace: Process 3989 attached",
    "00:44:55.957269 +++ killed by SIGSEGV (core dumped) +++",
    "--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x1234} ---",
    "read(0, 0x7ffc, 10) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)",
    "fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)",
    r#"connect(3, {sa_family=AF_UNIX, sun_path=@"/tmp/.X11-unix/X0"}, 20) = -1 ECONNREFUSED (Connection refused)"#,
    r#"connect(4, {sa_family=AF_INET, sin_port=htons(22), sin_addr=inet_addr("127.0.0.1")}, 16) = 0"#,
    "getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4 => 4]) = 0",
    "close(3<TCP:[127.0.0.1:41234->127.0.0.1:22]>) = 0",
    "ioctl(0</dev/pts/0<char 136:0>>, TCGETS, {c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR, c_cc=\"\\x03\\x1c\\x7f\\x15\\x04\\x00\\x01\\x00\"}) = 0",
    "execve(\"/bin/ls\", [\"ls\"], 0x7ffd3b0e4a88 /* 30 vars */) = 0",
    "restart_syscall(<... resuming interrupted wait4 ...>) = 6",
];

/// strace's own tokens, which make mutations reach the parser's less common paths.
const TOKENS: &[&str] = &[
    " <unfinished ...>",
    "<... read resumed>",
    "<... mmap resumed>",
    "\"",
    "\\",
    "\\x",
    "\\777",
    "[",
    "]",
    "{",
    "}",
    "(",
    ")",
    "<",
    ">",
    "/*",
    "*/",
    " => ",
    " = ",
    "...",
    "|",
    "~[",
    "@\"",
    "[pid 5] ",
    "5 ",
    "+++ ",
    " +++",
    "--- ",
    " ---",
    "strace: Process 3 attached",
    "12:00:00.123456 ",
    "0x",
    "-",
    "18446744073709551616",
    "99999999999999999999999",
    "\n",
    "\r",
    "\u{0}",
    "\u{ff}",
];

/// Parses `input` and checks that it did not panic and that every location is in the input.
fn check(input: &[u8]) -> Result<(), TestCaseError> {
    let lines = input.split(|&b| b == b'\n').count() as u64;
    for item in Parser::new(input) {
        match item {
            Ok(event) => {
                prop_assert!((1..=lines).contains(&event.line), "event line {} of {lines}", event.line);
                prop_assert!(event.offset <= input.len() as u64);
            }
            Err(error) => {
                prop_assert!((1..=lines).contains(&error.line), "error line {} of {lines}: {error}", error.line);
                prop_assert!(error.column >= 1);
                prop_assert!(!error.message.is_empty());
            }
        }
    }
    Ok(())
}

/// Checks that a parser of `input` held in one shared buffer yields what a parser reading it
/// through `BufRead` does, line limits included.
fn same_when_shared(input: &[u8], max_line_len: usize) -> Result<(), TestCaseError> {
    let streamed: Vec<_> = Parser::new(input).max_line_len(max_line_len).collect();
    let shared: Vec<_> = Parser::from_bytes(bytes::Bytes::copy_from_slice(input)).max_line_len(max_line_len).collect();
    prop_assert_eq!(streamed, shared);
    Ok(())
}

/// One edit of a trace text.
#[derive(Clone, Debug)]
enum Mutation {
    Delete { at: usize, len: usize },
    InsertToken { at: usize, token: usize },
    InsertBytes { at: usize, bytes: Vec<u8> },
    Duplicate { at: usize, len: usize },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..40usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, token)| Mutation::InsertToken { at, token }),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::InsertBytes { at, bytes }),
        (any::<usize>(), 1..60usize).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn apply(text: &mut Vec<u8>, mutation: &Mutation) {
    let position = |at: usize, len: usize| if len == 0 { 0 } else { at % (len + 1) };
    match mutation {
        Mutation::Delete { at, len } => {
            let start = position(*at, text.len());
            let end = (start + len).min(text.len());
            text.drain(start..end);
        }
        Mutation::InsertToken { at, token } => {
            let start = position(*at, text.len());
            text.splice(start..start, TOKENS[*token].bytes());
        }
        Mutation::InsertBytes { at, bytes } => {
            let start = position(*at, text.len());
            text.splice(start..start, bytes.iter().copied());
        }
        Mutation::Duplicate { at, len } => {
            let start = position(*at, text.len());
            let end = (start + len).min(text.len());
            let copy = text[start..end].to_vec();
            text.splice(end..end, copy);
        }
        Mutation::Truncate { at } => {
            let end = position(*at, text.len());
            text.truncate(end);
        }
    }
}

/// 2000 cases by default; `PROPTEST_CASES` asks for a longer run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(2000)
}

#[test]
fn the_corpus_itself_parses_without_errors() {
    let text = CORPUS.join("\n");
    let errors: Vec<_> = Parser::new(text.as_bytes()).filter_map(Result::err).collect();
    assert!(errors.is_empty(), "{errors:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..600)) {
        check(&input)?;
    }

    #[test]
    fn arbitrary_strace_like_text_never_panics(input in "[a-zA-Z0-9_ (){}\\[\\]<>\",.=|~@?:+*/\\\\\n-]{0,400}") {
        check(input.as_bytes())?;
    }

    #[test]
    fn mutated_real_lines_never_panic(
        picks in proptest::collection::vec(0..CORPUS.len(), 1..12),
        mutations in proptest::collection::vec(mutation(), 0..8),
    ) {
        let mut text = picks.iter().map(|&i| CORPUS[i]).collect::<Vec<_>>().join("\n").into_bytes();
        for m in &mutations {
            apply(&mut text, m);
        }
        check(&text)?;
    }

    #[test]
    fn a_shared_input_parses_as_a_streamed_one(
        picks in proptest::collection::vec(0..CORPUS.len(), 1..12),
        mutations in proptest::collection::vec(mutation(), 0..8),
        max_line_len in prop_oneof![Just(trace::DEFAULT_MAX_LINE_LEN), 1usize..200],
    ) {
        let mut text = picks.iter().map(|&i| CORPUS[i]).collect::<Vec<_>>().join("\n").into_bytes();
        for m in &mutations {
            apply(&mut text, m);
        }
        same_when_shared(&text, max_line_len)?;
    }

    #[test]
    fn arguments_of_any_text_parse_without_panic(input in "\\PC{0,200}") {
        let _ = trace::parse_args(input.as_bytes());
    }
}
