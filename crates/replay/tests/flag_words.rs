//! Details of the calls as strace prints them, on short synthetic logs: flag words whose
//! names the model's tables lack do not turn into 0; pipes copy page-sized pieces, so an
//! EFAULT comes where Linux gives it; buffers strace cannot read are still read by the
//! kernel.

mod common;

use replay::{Mode, Options, Report};

fn replay_text(text: &str) -> Report {
    common::replay_bytes(
        text.as_bytes(),
        Options { mode: Mode::Verify, keep_going: true, cwd: Some(std::env::temp_dir()), threads_unordered: false },
    )
}

#[test]
fn an_unknown_flag_name_keeps_the_known_bits_and_is_listed() {
    // MAP_FILE (type 0) is known; MAP_SOMETHING_NEW is not: the mapping is still private and
    // anonymous, and lands where the trace says.
    let r = replay_text(
        "100 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_SOMETHING_NEW, -1, 0) = 0x7ffff7ffd000\n\
         100 mmap(NULL, 4096, PROT_NONE, MAP_FILE, -1, 0) = -1 EBADF (Bad file descriptor)\n\
         100 mmap(NULL, 4096, PROT_NONE, 0x4 /* MAP_??? */|MAP_ANONYMOUS, -1, 0) = -1 EINVAL (Invalid argument)\n\
         100 exit_group(0) = ?\n100 +++ exited with 0 +++\n",
    );
    assert_eq!(r.failed, 0, "{}\n{:?}", r.summary(), r.mismatches);
    assert_eq!(r.unknown.get("flag MAP_SOMETHING_NEW"), Some(&1), "{}", r.summary());
    assert!(r.passed >= 3, "{}", r.summary());
}

#[test]
fn a_pipe_write_faulting_in_its_first_page_sized_piece_is_efault() {
    // Measured on 6.18: a write to a pipe from a buffer whose first 4096 bytes (here all
    // 512) are not all readable fails with EFAULT, even though its first bytes are; to a
    // regular file the same write would copy those bytes. And a buffer that runs past the
    // top of the user address space fails as a whole (access_ok), for any descriptor.
    let r = replay_text(
        "100 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffe000\n\
         100 pipe2([3, 4], 0) = 0\n\
         100 write(4, 0x7ffff7ffef00, 512) = -1 EFAULT (Bad address)\n\
         100 read(3, 0x7ffff7ffef00, 512) = -1 EFAULT (Bad address)\n\
         100 write(1, 0x7ffffffff000, 1) = -1 EFAULT (Bad address)\n\
         100 exit_group(0) = ?\n100 +++ exited with 0 +++\n",
    );
    assert_eq!(r.failed, 0, "{}\n{:?}", r.summary(), r.mismatches);
    assert!(r.passed >= 4, "{}", r.summary());
}

#[test]
fn a_write_from_a_buffer_without_prot_read_faults_it_in() {
    // As strace shows it on 6.18 (static program, setarch -R): it cannot read a PROT_WRITE
    // buffer and prints its address, but the kernel's copy reads it and faults it in.
    let text = "\
100 mmap(NULL, 8192, PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffd000
100 pipe2([3, 4], 0) = 0
100 write(4, 0x7ffff7ffd000, 100) = 100
100 mincore(0x7ffff7ffd000, 8192, [1, 0]) = 0
100 exit_group(0) = ?
100 +++ exited with 0 +++
";
    let opts =
        Options { mode: Mode::Strict, keep_going: true, cwd: Some(std::env::temp_dir()), threads_unordered: false };
    let r = common::replay_bytes(text.as_bytes(), opts);
    assert_eq!(r.failed, 0, "{}\n{:?}", r.summary(), r.mismatches);
}

#[test]
fn map_fixed_at_an_error_value_replays_as_that_errno() {
    // As strace prints it on 6.18: the address comes back as an error code, with a name
    // where errno has one and as a bare number where it has none.
    let r = replay_text(
        "100 mmap(0xffffffffffffffff, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = -1 EPERM (Operation not permitted)\n\
         100 mmap(0xfffffffffffffff4, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = -1 ENOMEM (Cannot allocate memory)\n\
         100 mmap(0xfffffffffffff001, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = -1 (errno 4095)\n\
         100 mmap(0xffffffffffffffff, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0) = -1 EPERM (Operation not permitted)\n\
         100 exit_group(0) = ?\n100 +++ exited with 0 +++\n",
    );
    assert_eq!(r.failed, 0, "{}\n{:?}", r.summary(), r.mismatches);
    assert_eq!(r.passed, 4, "{}", r.summary());
}
