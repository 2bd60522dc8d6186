//! AFL++ harness of `fuzz::replay_trace`: `fuzz/run.sh replay SECONDS`.
#![forbid(unsafe_code)]

fn main() {
    afl::fuzz!(|data: &[u8]| {
        fuzz::replay_trace(data);
    });
}
