//! Runs inputs through one fuzz target without AFL and says which panic, and where:
//! `cargo run -p fuzz --example triage TARGET FILE...` (TARGET: replay, script or calls;
//! FILE may be a fuzzer's `crashes/id:*`). Each panic's message and location are printed by
//! the panic hook as it happens; a line per input that panicked follows them. A debug build,
//! as AFL's checks integer overflow (a release build would let an overflow wrap and pass).

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(name) = args.next() else {
        eprintln!("usage: triage TARGET FILE... (TARGET: replay, script or calls)");
        std::process::exit(2);
    };
    let Some(&(_, target)) = fuzz::TARGETS.iter().find(|(n, _)| *n == name) else {
        eprintln!("unknown target '{name}' (replay, script or calls)");
        std::process::exit(2);
    };
    let mut panicked = 0;
    for file in args {
        let data = match std::fs::read(&file) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{file}: {e}");
                continue;
            }
        };
        if std::panic::catch_unwind(|| target(&data)).is_err() {
            eprintln!("PANIC: {file}");
            panicked += 1;
        }
    }
    eprintln!("{panicked} input(s) panicked");
    std::process::exit(i32::from(panicked > 0));
}
