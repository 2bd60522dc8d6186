//! Traces no strace would write (mutated, cut, or not traces at all): each replays to an
//! error with its line, or to mismatches, never a panic, a hang or a host allocation sized
//! by a number in the log. One test per input that once crashed, hung or exhausted the host.

mod common;

use replay::{Identities, Mode, Options, Report};
use std::io::BufReader;

fn opts(keep_going: bool) -> Options {
    Options { mode: Mode::Strict, keep_going, cwd: Some(std::env::temp_dir()), threads_unordered: false }
}

/// Replays `text` (both passes, as `mmsim replay` does), catching a panic as a failure.
fn replay_text(text: &str) -> Report {
    let text = text.to_string();
    std::panic::catch_unwind(move || common::replay_bytes(text.as_bytes(), opts(false))).unwrap_or_else(|e| {
        let what = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()));
        panic!("replay panicked: {}", what.unwrap_or_default())
    })
}

#[track_caller]
fn assert_error(r: &Report, want: &str) {
    assert!(
        r.errors.iter().any(|e| e.to_string().contains(want)),
        "wanted an error with {want:?}, got {:?}\n{}",
        r.errors,
        r.summary()
    );
}

#[test]
fn a_line_after_the_exit_of_the_last_task_is_an_error() {
    let r = replay_text("100 exit_group(0) = ?\n100 +++ exited with 0 +++\n100 brk(NULL) = 0x555555560000\n");
    assert_error(&r, "3:1: task 100 exited on line 2; it has no lines after that");
}

#[test]
fn a_held_line_of_a_child_after_its_exit_is_an_error() {
    let r = replay_text(
        "100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>\n\
         101 +++ exited with 0 +++\n\
         101 brk(NULL) = 0x555555560000\n\
         100 <... clone resumed>, child_tidptr=0x7ffff7d8aa10) = 101\n",
    );
    assert_error(&r, "3:1: task 101 exited on line 2");
}

#[test]
fn descriptors_of_unmodelled_kinds_outlive_every_task() {
    // The file behind pipes and sockets stays in the model when no task has one open.
    let r = replay_text(
        "100 close(0) = 0\n100 close(1) = 0\n100 close(2) = 0\n100 pipe2([0, 1], 0) = 0\n\
         100 socket(AF_UNIX, SOCK_STREAM, 0) = 2\n100 exit_group(0) = ?\n100 +++ exited with 0 +++\n",
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
}

#[test]
fn dump_offsets_must_follow_each_other_within_the_count() {
    let dump = |offset: &str| {
        format!(
            "100 read(0, 0x7fffffffe000, 16) = 16\n | {offset}  41 41 41 41 41 41 41 41  41 41 41 41 41 41 41 41  \
             AAAAAAAAAAAAAAAA |\n100 exit_group(0) = ?\n"
        )
    };
    assert_error(&replay_text(&dump("fffffffffffffff8")), "2:1: dump offset 0xfffffffffffffff8 leaves a gap");
    assert_error(&replay_text(&dump("7fffffffffff")), "2:1: dump offset 0x7fffffffffff leaves a gap");
    let r = replay_text(&dump("00000").replace("16) = 16", "8) = 8"));
    assert_error(&r, "2:1: dump offset 0x0 goes beyond the buffer of 8 bytes of the read on line 1");
    // In order and within the count: no error.
    assert!(replay_text(&dump("00000")).errors.is_empty());
}

#[test]
fn a_result_larger_than_any_read_or_write_can_return_is_an_error() {
    let r = replay_text("100 read(0, 0x7fffffffe000, 16) = 9223372036854775808\n");
    assert_error(&r, "1:1: read returned 9223372036854775808, more than the 16 bytes it can transfer");
    let path = std::env::temp_dir().join(format!("mmsim-untrusted-{}", std::process::id()));
    let r = replay_text(&format!(
        "100 openat(AT_FDCWD, \"{}\", O_WRONLY|O_CREAT, 0644) = 3\n100 write(3, \"\", 9233720368) = 9233720368\n",
        path.display()
    ));
    assert_error(&r, "2:1: write returned 9233720368, more than the 2147479552 bytes it can transfer");
    let r = replay_text("100 read(0, 0x7fffffffe000, 4096) = 8192\n");
    assert_error(&r, "1:1: read returned 8192, more than the 4096 bytes");
}

#[test]
fn a_large_raw_read_is_copied_in_pieces() {
    // 1 GiB read into a mapping of that size: the model takes the pages, the replayer
    // allocates no buffer of that size (it would not fail here either, but the mapping is
    // mostly beyond what the dumps show, and the copy must agree with the model's memory).
    let r = replay_text(
        "100 mmap(NULL, 1073741824, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = 0x7f0000000000\n\
         100 read(0, 0x7f0000000000, 1073741824) = 65552\n | 00000  41 41 41 41 41 41 41 41  41 41 41 41 41 41 41 41  AAAAAAAAAAAAAAAA |\n\
         100 write(1, 0x7f0000000000, 65552) = 65552\n | 00000  41 41 41 41 41 41 41 41  41 41 41 41 41 41 41 41  AAAAAAAAAAAAAAAA |\n\
         100 exit_group(0) = ?\n",
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
}

#[test]
fn an_endless_input_ends_at_the_line_length_limit() {
    // As `mmsim replay /dev/zero`: one line without end.
    let endless = || BufReader::new(std::io::repeat(0));
    let ids = Identities::collect(endless());
    assert!(ids.is_empty());
    let r = replay::replay(|| Ok(endless()), ids, opts(true), |_| {});
    let limit = trace::DEFAULT_MAX_LINE_LEN;
    assert_error(&r, &format!("1:{}: line longer than {limit} bytes, and no end of line", limit + 1));
}

#[test]
fn execve_of_a_device_or_a_fifo_fails_with_eacces_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for path in ["/dev/zero".to_string(), fifo.display().to_string()] {
        let r = replay_text(&format!("100 execve(\"{path}\", [\"x\"], []) = 0\n100 exit_group(0) = ?\n"));
        assert_eq!(r.failed, 1, "{path}: {}", r.summary());
        assert!(r.mismatches[0].got.contains("EACCES"), "{path}: {}", r.mismatches[0]);
    }
    // The host side: a FIFO is not opened for reading (that would block), /dev/zero not read.
    let err = loader::host::read_regular(&fifo, u64::MAX).unwrap_err();
    assert_eq!(err.to_string(), "a FIFO");
    let err = loader::host::read_regular(std::path::Path::new("/dev/zero"), u64::MAX).unwrap_err();
    assert_eq!(err.to_string(), "a character device");
}

#[test]
fn mincore_of_a_huge_range_makes_only_the_vector_the_log_shows() {
    // 64 TiB: the model's vector of it would be 16 GiB; the result comes from the VMAs, and
    // the vector compared is the three bytes shown.
    let r = replay_text(
        "100 mmap(0x100000000000, 70368744177664, PROT_NONE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = 0x100000000000\n\
         100 mincore(0x100000000000, 70368744177664, [0, 0, 0, ...]) = 0\n\
         100 mincore(0x100000000000, 70368744181760, 0x7fffffffe000) = -1 ENOMEM (Cannot allocate memory)\n\
         100 exit_group(0) = ?\n",
    );
    assert!(r.errors.is_empty() && r.failed == 0, "{:?}\n{}", r.errors, r.summary());
    assert_eq!(r.passed, 4, "{}", r.summary());
}

#[test]
fn lengths_near_2_64_in_a_trace_that_hides_calls_are_not_an_overflow() {
    // The recorded `cat` with its ld.so.cache open failing: the mmap of that descriptor shows
    // the trace hides something, and the replay follows the address space from there. A
    // length near 2^64 in a call it then follows was an overflow (found by tests/mutations).
    let lines: Vec<&str> = include_str!("corpus/cat.trace").lines().collect();
    assert!(lines[4].ends_with("O_RDONLY|O_CLOEXEC) = 3") && lines[26].contains("mprotect(0x7ffff7ffb000, 8192,"));
    for call in [
        "4392  mprotect(0x7ffff7ffb000, 0xfffffffffffffff8, PROT_READ) = 0",
        "4392  mmap(NULL, 0xfffffffffffffff8, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7f00000",
        "4392  mmap(NULL, 4096) = 0x7ffff7f00000",
    ] {
        let mut t: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        t[4] = t[4].replace("O_RDONLY|O_CLOEXEC) = 3", "O_RDONLY|O_CLOEXEC) = -1");
        t[26] = call.to_string();
        let text = t.join("\n") + "\n";
        let r = std::panic::catch_unwind(|| {
            let opts = Options {
                mode: Mode::Strict,
                keep_going: true,
                cwd: Some(std::env::temp_dir()),
                threads_unordered: false,
            };
            common::replay_bytes(text.as_bytes(), opts)
        });
        let r = r.unwrap_or_else(|_| panic!("{call}: the replay panicked"));
        assert!(r.lines >= 40, "{call}: {}", r.summary());
    }
}

// Found by fuzzing (fuzz/run.sh replay), minimized.

#[test]
fn a_short_mmap_line_in_an_address_space_the_trace_hides_is_not_a_panic() {
    // The first line (no pid) makes the second task's space one the trace does not show the
    // start of; an mmap line with two arguments there indexed its missing flags.
    let r = replay_text("brk(NULL) = 0x555555560000\n100 mmap(0x10000, 4096) = 0x10000\n");
    assert_eq!(r.lines, 2, "{}", r.summary());
}

#[test]
fn an_mmap_length_near_2_64_in_an_address_space_the_trace_hides_is_not_an_overflow() {
    let r = replay_text(
        "brk(NULL) = 0x555555560000\n\
         100 mmap(NULL, 18446744073709551615, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x10000\n",
    );
    assert_eq!(r.lines, 2, "{}", r.summary());
}

#[test]
fn a_maps_line_that_ends_before_it_starts_is_not_a_mapping() {
    // [vdso] shown from 0x7ffff7fc5000 to 0x7ffff7fc1000: its page count underflowed.
    let r = replay_text(
        "4392  execve(\"/usr/bin/cat\", [\"cat\", \"/proc/self/maps\"], [\"PATH=/usr/bin:/bin\"]) = 0\n\
         4392  openat(AT_FDCWD, \"/proc/self/maps\", O_RDONLY) = 3\n\
         4392  read(3, \"7ffff7fc5000-7ffff7fc1000 r-xp 00000000 00:00 0                          [vdso]\\n\", 131072) = 80\n",
    );
    assert!(r.failed > 0 || !r.errors.is_empty(), "{}", r.summary());
}

#[test]
fn a_stack_shown_beyond_the_top_of_the_address_space_is_a_mismatch_not_an_underflow() {
    // The `[stack]` end learned from the maps read became the exec's stack top on the next
    // run over the log, above STACK_TOP_MAX (found by fuzzing).
    let r = replay_text(
        "4392  execve(\"/usr/bin/cat\", [\"cat\", \"/proc/self/maps\"], [\"PATH=/usr/bin:/bin\"]) = 0\n\
         4392  openat(AT_FDCWD, \"/proc/self/maps\", O_RDONLY) = 3\n\
         4392  read(3, \"7ffffffde000-fffffffffffff000 rw-p 00000000 00:00 0                          [stack]\\n\", 131072) = 90\n",
    );
    assert_eq!(r.lines, 3, "{}", r.summary());
}

#[test]
fn a_stack_shown_ending_between_pages_is_a_mismatch_not_a_broken_model() {
    // The `[stack]` end learned from the maps read, not page-aligned, became the exec's stack
    // top: the model freed a page table that still mapped pages (found by fuzzing).
    let r = replay_text(
        "4392  execve(\"/usr/bin/cat\", [\"cat\", \"/proc/self/maps\"], [\"PATH=/usr/bin:/bin\"]) = 0\n\
         4392  openat(AT_FDCWD, \"/proc/self/maps\", O_RDONLY) = 3\n\
         4392  read(3, \"7fffff000-7ffffff00 rw-p 00000000 00:00 0                          [stack]\\n\", 131072) = 90\n\
         4392  +++ exited with 0 +++\n",
    );
    assert_eq!(r.lines, 4, "{}", r.summary());
}

#[test]
fn a_malformed_line_is_reported_at_the_column_where_reading_it_stopped() {
    let line = "100 mmap(NULL, 4096, PROT_READ";
    let r = replay_text(&format!("100 brk(NULL) = 0x555555560000\n{line}\n"));
    let e = r.errors.first().unwrap_or_else(|| panic!("no error\n{}", r.summary()));
    // The arguments end where the line does: the column just past its last byte.
    let column = line.len() as u32 + 1;
    assert_eq!((e.line, e.column), (2, column), "{e}");
    assert!(e.to_string().starts_with(&format!("2:{column}: ")), "{e}");
}

#[test]
fn a_huge_read_of_a_huge_sparse_file_reads_ahead_no_more_than_a_read_returns() {
    // Readahead covers what the read returned and one window past it, never what the log
    // claims was asked for (2^40 bytes of a file of 16 TiB, the most ext4 allows).
    let t = std::time::Instant::now();
    let r = replay_text(
        "100 openat(AT_FDCWD, \"/tmp/mmsim-untrusted-sparse\", O_RDWR|O_CREAT|O_TRUNC, 0600) = 3\n\
         100 ftruncate(3, 17592186040320) = 0\n\
         100 read(3, NULL, 1099511627776) = 8192\n\
         100 pread64(3, NULL, 18446744073709551615, 17592186036224) = 4096\n\
         100 exit_group(0) = ?\n100 +++ exited with 0 +++\n",
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(t.elapsed().as_secs() < 20, "took {:?}", t.elapsed());
}

/// An attached process's call that succeeded on a range past the end of user space (an
/// absurd length no kernel accepts) binds no mapping there: it is a mismatch, and the runs
/// do not go on learning it again to their cap.
#[test]
fn a_call_on_a_range_past_user_space_binds_no_mapping() {
    for call in [
        "mprotect(0x7f0000000000, 18446744073709551615, PROT_READ) = 0",
        "mremap(0x7f0000000000, 18446744073709551615, 4096, MREMAP_MAYMOVE) = 0x7f0000000000",
    ] {
        let r = replay_text(&format!("1 {call}\n1 mprotect(0x7f0000000000, 4096, PROT_READ) = 0\n"));
        assert_eq!(r.failed, 1, "{call}: {}", r.summary());
        assert!(!r.bindings.iter().any(|b| b.contains("-0xfffffffffffff000")), "{call}: {:?}", r.bindings);
        assert!(r.runs < 3, "{call}: {} runs", r.runs);
    }
}
