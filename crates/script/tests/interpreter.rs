//! Behaviour of the interpreter as a user sees it: the trace it prints, expects, errors.

use script::{run_source, Interpreter, Options, Transcript};

fn run(src: &str) -> (Transcript, Result<(usize, usize), script::ScriptError>) {
    let mut out = Transcript::default();
    let r = run_source(src, Options { paranoid: true }, &mut out);
    (out, r)
}

#[test]
fn calls_print_like_strace_and_set_errno() {
    let (out, r) = run("process A empty\n\
         p = mmap(NULL, 16K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n\
         munmap(p + 1, 4K)\n\
         expect errno == EINVAL\n\
         expect result == MAP_FAILED\n\
         mprotect(p, 4K, PROT_NONE)\n\
         expect errno == 0\n");
    assert_eq!(r.unwrap(), (3, 0));
    let want = "process A: pid 1000, an empty address space\n\
        A: mmap(NULL, 16384, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffb000\n\
        A: munmap(0x7ffff7ffb001, 4096) = -1 EINVAL (Invalid argument)\n\
        A: mprotect(0x7ffff7ffb000, 4096, PROT_NONE) = 0\n";
    assert_eq!(out.text, want);
}

#[test]
fn a_fault_is_reported_not_fatal() {
    let (out, r) = run("process A empty\nload 0x1000 1\nexpect signal == SIGSEGV\nexpect sigaddr == 0x1000\nmaps\n");
    assert_eq!(r.unwrap(), (2, 0));
    assert!(out.text.contains("A: load 0x1000 1 = SIGSEGV (SEGV_MAPERR) at 0x1000\n"), "{}", out.text);
}

#[test]
fn failed_expects_name_line_condition_and_value() {
    let (out, r) = run("process A empty\n\n expect vmas(A) == 3   # no VMAs yet\nexpect errno == ENOMEM\n");
    assert_eq!(r.unwrap(), (0, 2));
    let f: Vec<_> = out.failures().map(|f| f.render("t.mm")).collect();
    assert_eq!(f, ["t.mm:3: expect failed: vmas(A) == 3 (got 0)", "t.mm:4: expect failed: errno == ENOMEM (got 0)"]);
}

#[test]
fn relations_show_both_sides() {
    let (out, r) = run("process A empty\nprocess B empty\nexpect vmas(A) != vmas(B)\n");
    assert_eq!(r.unwrap(), (0, 1));
    let f = out.failures().next().unwrap().render("t.mm");
    assert_eq!(f, "t.mm:3: expect failed: vmas(A) != vmas(B) (got 0; right side is 0)");
}

#[test]
fn runtime_errors_have_positions() {
    let cases = [
        ("maps\n", 1, 1, "no process yet: create one with `process NAME`"),
        ("process A\nmaps B\n", 2, 6, "unknown process `B`"),
        ("process A\nx = 1 / (2 - 2)\n", 2, 7, "division by zero"),
        ("process A\nx = 0xffffffffffffffff + 1\n", 2, 24, "arithmetic overflow in `+`"),
        ("process A\nx = nope + 1\n", 2, 5, "unknown name `nope`"),
        ("process A\nopen(3, O_RDONLY)\n", 2, 6, "expected a string, found a number"),
        ("process A\nB = fork()\nB: exit(0)\nB: maps\n", 4, 1, "process `B` has exited"),
        ("process A\nprocess A\n", 2, 9, "process `A` already exists"),
        ("process A\nset ram 64M\n", 2, 5, "`set ram` must come before the first process or file"),
        ("set thp sometimes\n", 1, 9, "`set thp` takes always, madvise or never"),
        ("process A\nstore 0 0 x 1G\n", 2, 13, "length 1073741824 is over the simulator's limit of 64M per transfer"),
        ("process A\nprint A\n", 2, 7, "`A` is a process, not a value (its pid is `pid(A)`)"),
    ];
    for (src, line, col, msg) in cases {
        let (_, r) = run(src);
        let e = r.expect_err(src);
        assert_eq!((e.line, e.col, e.message.as_str()), (line, col, msg), "for {src:?}");
    }
}

#[test]
fn a_syntax_error_stops_before_anything_runs() {
    let (out, r) = run("process A\nmaps\nmmap(1, 2\n");
    assert_eq!(r.unwrap_err().line, 3);
    assert_eq!(out.text, "");
}

#[test]
fn fork_and_exit_manage_processes() {
    let (out, r) = run("process A\nB = fork(A)\nA: C = fork()\nB: exit(3)\nuse C\nexpect pid() == pid(C)\n");
    assert_eq!(r.unwrap(), (1, 0));
    assert!(out.text.contains("A: fork() = 1001 (B)\n"), "{}", out.text);
    assert!(out.text.contains("A: fork() = 1002 (C)\n"), "{}", out.text);
    assert!(out.text.contains("B: exit(3) = ?\n+++ B exited with 3 +++\n"), "{}", out.text);
}

#[test]
fn events_show_each_fault_once() {
    let mut i = Interpreter::new(Options::default());
    let mut out = Transcript::default();
    for (n, line) in
        ["process A empty", "p = mmap(0, 8K, 3, 0x22, -1, 0)", "store p 1 x 8K", "events", "events"].iter().enumerate()
    {
        i.run_line(line, n + 1, &mut out).unwrap();
    }
    assert_eq!(out.text.matches("do_anonymous_page").count(), 2, "{}", out.text);
    assert!(out.text.ends_with("A: events: none\n"), "{}", out.text);
}

#[test]
fn strings_and_fills() {
    let (out, r) = run("process A empty\n\
         p = mmap(0, 4K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n\
         s = \"ab\" + \"\\x00c\"\n\
         store p s\n\
         load p 4\n\
         store p + 8 0x41 x 3\n\
         expect load p + 8 3 == \"AAA\"\n\
         expect load_byte(p + 2) == 0\n\
         print \"hex:\", hex(p)\n");
    assert_eq!(r.unwrap(), (2, 0));
    assert!(out.text.contains("A: store 0x7ffff7ffe000 \"ab\\x00c\" = ok\n"), "{}", out.text);
    assert!(out.text.contains("A: load 0x7ffff7ffe000 4 = 61 62 00 63\n"), "{}", out.text);
    assert!(
        out.text.contains("hex: hex(p) = \"7ffff7ffe000\"\n") || out.text.contains("hex: 7ffff7ffe000\n"),
        "{}",
        out.text
    );
}

#[test]
fn files_and_file_calls() {
    let (out, r) = run("file \"/f\" 8K\n\
         process A\n\
         fd = open(\"/f\", O_RDWR)\n\
         pwrite(fd, \"XY\", 4K)\n\
         m = mmap(NULL, 8K, PROT_READ, MAP_SHARED, fd, 0)\n\
         expect load m + 4K 4 == \"XYge\"\n\
         ftruncate(fd, 4K)\n\
         load m + 4K 1\n\
         expect signal == SIGBUS\n\
         close(fd)\n\
         close(fd)\n\
         expect errno == EBADF\n\
         unlink(\"/f\")\n\
         expect maps contains \"/f (deleted)\"\n\
         memfd_create(\"buf\", MFD_CLOEXEC)\n");
    assert_eq!(r.unwrap(), (4, 0), "{}", out.text);
    assert!(out.text.contains("A: pwrite(3, \"XY\", 4096) = 2\n"), "{}", out.text);
    assert!(out.text.contains("A: memfd_create(\"buf\", MFD_CLOEXEC) = 3\n"), "{}", out.text);
}

#[test]
fn settings_change_the_machine() {
    let (_, r) = run("set ram 16M\nprocess A\nexpect total_frames() == 4096\n\
         set max_map_count 10\nset rlimit_stack unlimited\nprocess B empty\n\
         p = mmap(0, 4K, 3, 0x22, -1, 0)\nexpect p < 0x200000000000\n");
    assert_eq!(r.unwrap(), (2, 0));
}

#[test]
fn import_takes_a_host_file_with_its_identity() {
    use std::os::unix::fs::MetadataExt;
    let path = std::env::current_exe().unwrap();
    let meta = std::fs::metadata(&path).unwrap();
    let src = format!(
        "import \"{p}\"\nprocess A empty\nfd = open(\"{p}\", O_RDONLY)\nm = mmap(NULL, 4K, PROT_READ, MAP_PRIVATE, fd, 0)\nexpect A: load m 4 == \"\\x7fELF\"\nexpect maps A contains \" {ino} \"\n",
        p = path.display(),
        ino = meta.ino()
    );
    let mut out = script::Transcript::default();
    let (passed, failed) = script::run_source(&src, script::Options::default(), &mut out).unwrap();
    assert_eq!((passed, failed), (2, 0), "{:?}", out);
}
