//! Runs every scenario under `examples/` and requires each to finish without an error and
//! with every `expect` holding, with the model's invariants checked after every statement.

use script::{run_source, Options, Transcript};
use std::path::PathBuf;

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn run_example(name: &str) -> Transcript {
    let path = examples_dir().join(name);
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Transcript::default();
    match run_source(&source, Options { paranoid: true }, &mut out) {
        Ok((passed, failed)) => {
            let failures: Vec<_> = out.failures().map(|f| f.render(name)).collect();
            assert!(failed == 0, "{name}: {failed} expects failed:\n{}", failures.join("\n"));
            assert!(passed > 0, "{name} checks nothing: add expect lines");
        }
        Err(e) => panic!("{}\n--- output so far ---\n{}", e.render(name), out.text),
    }
    out
}

#[test]
fn every_example_runs_and_its_expects_hold() {
    let mut names: Vec<String> = std::fs::read_dir(examples_dir())
        .expect("examples/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".mm"))
        .collect();
    names.sort();
    assert!(names.len() >= 7, "expected the seven lessons, found {names:?}");
    for name in &names {
        run_example(name);
    }
}

#[test]
fn the_classic_lessons_are_all_there() {
    for name in [
        "segments.mm",
        "fork-cow.mm",
        "four-mmaps.mm",
        "munmap-split.mm",
        "mprotect.mm",
        "demand-paging.mm",
        "zero-page.mm",
    ] {
        assert!(examples_dir().join(name).exists(), "missing examples/{name}");
    }
}

#[test]
fn fork_cow_shows_the_copy_and_the_reuse() {
    let out = run_example("fork-cow.mm");
    assert!(out.text.contains("COW copy"), "{}", out.text);
    assert!(out.text.contains("COW reuse"), "{}", out.text);
}
