//! AFL++ harness of `fuzz::run_scenario`: `fuzz/run.sh script SECONDS`.
#![forbid(unsafe_code)]

fn main() {
    afl::fuzz!(|data: &[u8]| {
        fuzz::run_scenario(data);
    });
}
