//! A setting of the recording machine that the log shows (here the THP mode) is learned
//! from the read that shows it, not taken from the model's defaults; and a 4 MiB anonymous
//! mapping is placed 2 MiB-aligned even with THP `never` (the kernel's build decides that,
//! not the mode). The test switches this machine's THP
//! mode to `never` for the length of one recording (as root), so it lives in its own test
//! binary: no other test records meanwhile.

mod common;

use replay::Mode;
use std::path::Path;
use std::process::Command;

const THP: &str = "/sys/kernel/mm/transparent_hugepage/enabled";

/// Puts the THP mode back when dropped.
struct Restore(String);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = std::fs::write(THP, &self.0);
    }
}

#[test]
fn the_thp_mode_is_learned_from_the_read_that_shows_it() {
    if !hostreq::need_tools("thp setting", &["strace", "gcc", "setarch"]) {
        return;
    }
    let Ok(was) = std::fs::read_to_string(THP) else {
        return hostreq::skip("thp setting", "no /sys/kernel/mm/transparent_hugepage");
    };
    let chosen = was.split('[').nth(1).and_then(|s| s.split(']').next()).unwrap_or("madvise").to_string();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("replay-settings");
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("thp_reader");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/progs/thp_reader.c");
    let out = Command::new("gcc").args(["-O1", "-o"]).arg(&exe).arg(&src).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let trace = dir.join("thp-never.trace");
    {
        if std::fs::write(THP, "never").is_err() {
            return hostreq::skip("thp setting", "cannot write the THP mode (not root?)");
        }
        let _restore = Restore(chosen);
        let status = Command::new("setarch")
            .args(["-R", "strace", "-f", "-s", "65536", "-o"])
            .arg(&trace)
            .arg(&exe)
            .output()
            .unwrap();
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    }
    let r = common::replay_file(&trace, Mode::Verify);
    common::assert_clean("thp never", &r, 10);
    assert!(r.bindings.iter().any(|b| b.starts_with(&format!("bound {THP} = 0 "))), "{:?}", r.bindings);
}
