//! Parses a trace file and prints every parse error and a count of events, for trying the
//! parser on logs by hand: `cargo run -p trace --example check_trace -- FILE`.

use std::fs::File;
use std::io::BufReader;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: check_trace FILE");
        return ExitCode::from(2);
    };
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    let verbose = std::env::args().any(|a| a == "-v");
    let (mut events, mut errors) = (0u64, 0u64);
    let mut parser = trace::Parser::new(BufReader::new(file));
    for item in parser.by_ref() {
        match item {
            Ok(event) => {
                events += 1;
                if verbose {
                    println!("{event:?}");
                }
            }
            Err(e) => {
                errors += 1;
                println!("{path}: {e}");
            }
        }
    }
    println!("{events} events, {errors} errors, root pid {:?}", parser.root_pid());
    if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
