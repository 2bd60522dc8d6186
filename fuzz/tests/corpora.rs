//! Every file of the checked-in corpora (`fuzz/corpus/TARGET/`: the seeds, and the inputs
//! fuzzing found that once crashed or hung) runs through its target: no panic, quickly.
//! This is what the fuzzer checks, without AFL.

use std::path::Path;
use std::time::{Duration, Instant};

#[test]
fn every_corpus_input_runs_through_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (name, target) in fuzz::TARGETS {
        let dir = root.join(name);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no corpus for {name}");
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let start = Instant::now();
            let r = std::panic::catch_unwind(|| target(&data));
            assert!(r.is_ok(), "{name}: {} panicked", file.display());
            // A generous bound: the fuzzer's own hang timeout is far lower in release builds.
            assert!(start.elapsed() < Duration::from_secs(20), "{name}: {} took {:?}", file.display(), start.elapsed());
        }
    }
}

/// The calls corpus holds inputs that crashed the model on the 16 MiB machine the fuzzer
/// used before [`fuzz::CALLS_RAM`] became 4 MiB; they still run there too.
#[test]
fn the_calls_corpus_runs_on_the_larger_machine_it_was_found_on() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/calls");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for file in files {
        let data = std::fs::read(&file).unwrap();
        let r = std::panic::catch_unwind(|| fuzz::run_calls_with_ram(&data, 16 << 20));
        assert!(r.is_ok(), "calls at 16 MiB: {} panicked", file.display());
    }
}
