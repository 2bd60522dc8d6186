//! Flag words as strace prints them: names the model's tables lack do not turn a whole word
//! into 0.

use replay::{Identities, Mode, Options, Report};

fn replay_text(text: &str) -> Report {
    let ids = Identities::collect(text.as_bytes());
    let opts = Options { mode: Mode::Verify, keep_going: true, cwd: Some(std::env::temp_dir()) };
    replay::replay(|| Ok(std::io::Cursor::new(text.as_bytes().to_vec())), ids, opts, |_| {})
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
