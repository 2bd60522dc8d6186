//! AFL++ harness of `fuzz::run_calls`: `fuzz/run.sh calls SECONDS`.
#![forbid(unsafe_code)]

fn main() {
    afl::fuzz!(|data: &[u8]| {
        fuzz::run_calls(data);
    });
}
