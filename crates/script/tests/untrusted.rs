//! Scenarios no one would write: nesting and chains deep enough to overflow a recursive
//! parser or evaluator, and imports of host files that never end or block. Each gives an
//! error with its line and column, never a stack overflow (an abort no test can catch) or
//! a hang.

use script::{run_source, Options, ScriptError, Transcript};

fn run(src: &str) -> Result<(usize, usize), ScriptError> {
    let mut out = Transcript::default();
    run_source(src, Options { paranoid: false }, &mut out)
}

const TOO_DEEP: &str = "expression nested too deeply: more than 256 levels";

#[track_caller]
fn assert_too_deep(src: &str, line: usize, col: usize) {
    let e = run(src).expect_err("too deep");
    assert!(e.message.starts_with(TOO_DEEP), "{e}");
    assert_eq!((e.line, e.col), (line, col), "{e}");
}

#[test]
fn deep_parentheses_are_an_error_with_a_position() {
    let deep = |n: usize| format!("process A empty\nx = {}1{}\n", "(".repeat(n), ")".repeat(n));
    assert_too_deep(&deep(3500), 2, 5 + 256);
    assert_too_deep(&deep(257), 2, 5 + 256);
    assert_eq!(run(&(deep(255) + "expect x == 1\n")).unwrap(), (1, 0));
}

#[test]
fn long_unary_chains_are_an_error_with_a_position() {
    assert_too_deep(&format!("x = {}1\n", "-".repeat(30_000)), 1, 5 + 256);
    assert_too_deep(&format!("x = {}1\n", "~".repeat(300)), 1, 5 + 256);
    assert_eq!(run(&format!("x = {}1\nexpect x == 1\n", "-".repeat(200))).unwrap(), (1, 0));
}

#[test]
fn long_operator_chains_are_an_error_not_a_deep_recursion() {
    let chain = |n: usize| vec!["1"; n].join("+");
    // The 256th `+` (column 4 + 2 * 256) would make the tree 257 deep.
    assert_too_deep(&format!("x = {}\n", chain(20_000)), 1, 4 + 2 * 256);
    assert_too_deep(&format!("\nexpect {} == 0\n", chain(300)), 2, 7 + 2 * 256);
    assert_eq!(run(&format!("x = {}\nexpect x == 256\n", chain(256))).unwrap(), (1, 0));
    // Mixed levels and function arguments count together.
    let mixed = format!("x = {}\n", vec!["1*1"; 300].join("+"));
    assert!(run(&mixed).unwrap_err().message.starts_with(TOO_DEEP));
    let nested = format!("process A empty\nx = {}0{}\n", "pfn(A, ".repeat(300), ")".repeat(300));
    assert!(run(&nested).unwrap_err().message.starts_with(TOO_DEEP));
}

#[test]
fn import_reads_only_regular_files() {
    let dir = std::env::temp_dir().join(format!("mmsim-script-untrusted-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo");
    let _ = std::fs::remove_file(&fifo);
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    for (path, what) in [
        ("/dev/zero".to_string(), "a character device"),
        (fifo.display().to_string(), "a FIFO"),
        (dir.display().to_string(), "a directory"),
    ] {
        let e = run(&format!("\nimport \"{path}\"\n")).unwrap_err();
        assert_eq!((e.line, e.col), (2, 1), "{e}");
        assert_eq!(e.message, format!("cannot import {path}: {what}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
