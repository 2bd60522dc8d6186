#!/usr/bin/env bash
# Builds one fuzz target with AFL++ instrumentation and fuzzes it for SECONDS seconds.
#
#   fuzz/run.sh TARGET SECONDS [INSTANCE]     TARGET: replay, script or calls
#
# INSTANCE names a further afl-fuzz on the same target (`-S INSTANCE`), to use another core:
# it shares the queue of the first (`default`) and of the others, and keeps its own state
# and findings in fuzz/out/TARGET/INSTANCE/. The executions of a target are the sum of its
# instances' execs_done.
#
# Needs cargo-afl (`cargo install cargo-afl`; it builds AFL++'s runtime on first use,
# `cargo afl config --build`). Runs at the lowest priority (nice 19); a second run of the
# same target resumes from its last state. Findings land in fuzz/out/TARGET/default/
# {crashes,hangs}; the seeds are fuzz/corpus/TARGET. At the end it prints afl-fuzz's
# execs_done, the number of executions, of this run.
set -euo pipefail
cd "$(dirname "$0")"

target=${1:?usage: fuzz/run.sh TARGET SECONDS (TARGET: replay, script or calls)}
seconds=${2:?usage: fuzz/run.sh TARGET SECONDS}
instance=${3:-default}
case "$target" in
    replay | script | calls) ;;
    *) echo "unknown target '$target' (replay, script or calls)" >&2; exit 2 ;;
esac

if ! cargo afl --version >/dev/null 2>&1; then
    echo "cargo-afl is missing: cargo install cargo-afl" >&2
    exit 2
fi
# AFL++'s runtime for this toolchain (built once; an error when it already is).
cargo afl config --build >/dev/null 2>&1 || true

# cargo-afl instruments every basic block (prune-blocks=0) and calls AFL's runtime at each;
# pruning the blocks that other blocks' coverage implies (LLVM's default) keeps the same
# edge coverage and runs the targets 20-40% faster (measured on the replay and script
# queues). The flags after cargo-afl's own win.
export RUSTFLAGS="${RUSTFLAGS:-} -C llvm-args=-sanitizer-coverage-prune-blocks=1"
# On stable Rust cargo-afl also traces every comparison (a call into AFL's runtime at each,
# for the CmpLog stage, which finds the values the input is compared with). Two builds, as
# AFL++ recommends: the fuzzing runs a binary without that tracing (2-3x the executions a
# second: calls went from ~235 to ~640 under AFL on this machine), and AFL runs the traced
# one only in its CmpLog stage (-c).
(cd afl && nice -n 19 cargo afl build --release --bin "$target")
(cd afl && CARGO_TARGET_DIR=target/plain \
    RUSTFLAGS="$RUSTFLAGS -C llvm-args=-sanitizer-coverage-trace-compares=false" \
    nice -n 19 cargo afl build --release --bin "$target")

out=out/$target
mkdir -p "$out"
# Each run adds to the same queue; one that stopped is resumed.
export AFL_AUTORESUME=1
# Not a dedicated machine: no CPU pinning, no governor check, no core-dump setup demanded.
export AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_NO_UI=1 AFL_QUIET=1
# The CmpLog stage (the slow binary) only for inputs found in this run, not again for
# every entry of a resumed queue; fewer calibration runs of each new entry.
export AFL_CMPLOG_ONLY_NEW=1 AFL_FAST_CAL=1
# An input that runs longer than 2 s is a hang; one that needs more than 2 GiB of address
# space is a crash (the replay's parser thread and the model's tables fit easily).
# The words of the input language, where it has them.
dict=()
[ -f "dict/$target.dict" ] && dict=(-x "dict/$target.dict")
role=()
[ "$instance" != default ] && role=(-S "$instance")
nice -n 19 cargo afl fuzz "${role[@]}" -V "$seconds" -t 2000 -m 2048 "${dict[@]}" -i "corpus/$target" -o "$out" \
    -c "afl/target/release/$target" -- "afl/target/plain/release/$target" || true

stats=$out/$instance/fuzzer_stats
if [ -f "$stats" ]; then
    grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs) ' "$stats"
    ls "$out/$instance/crashes" "$out/$instance/hangs" 2>/dev/null | grep -v README || true
fi
