//! `mmsim repl`: the scenario language, one line at a time, with line editing and history.
//!
//! Each line is parsed and run at once on the same machine, so a session builds up state as
//! a script does. An error is printed with a caret under its column and the session goes
//! on; `help` prints a summary and `quit` (or end of input) leaves.

use crate::guard_model;
use rustyline::error::ReadlineError;
use script::{ExpectOutcome, Interpreter, Options, Output};
use std::io::Write;
use std::path::PathBuf;

const HELP: &str = "\
Statements (one per line; `#` starts a comment):
  process A [empty]                 create a process (it becomes current); use A
  [A:] p = mmap(NULL, 16K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
  [A:] munmap(p, 4K)  mprotect(p, 4K, PROT_READ)  brk(0)  open(\"/f\", O_RDWR)  ...
  B = fork(A)    B: exit(0)
  [A:] store p \"text\"   store p 0x41 x 4K   load p 16   exec p
  file \"/tmp/data\" 16K            a file whose page N says \"page N\"
  maps smaps rollup status statm events faults [A]    free
  print rss(A), pfn(A, p)           expect rss(A) == 16K
  set ram 64M | max_map_count N | rlimit_stack 16M | thp never
Functions: rss anon file_rss shmem vmas vmsize minflt majflt pid pte_present pfn
  load_byte free_frames total_frames zero_pfn
REPL words: help, quit. The full reference is docs/scenario-language.md.";

/// Prints to the terminal: the trace on stdout, expect results right after it.
struct ReplOutput;

impl Output for ReplOutput {
    fn text(&mut self, text: &str) {
        let _ = std::io::stdout().write_all(text.as_bytes());
    }

    fn expect(&mut self, outcome: &ExpectOutcome) {
        if outcome.passed {
            println!("ok");
        } else {
            println!("{}", outcome.render("repl"));
        }
    }
}

fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".mmsim_history"))
}

/// Runs the REPL until `quit` or end of input.
pub fn run(opts: Options) -> anyhow::Result<()> {
    let mut editor = rustyline::DefaultEditor::new()?;
    let history = history_path();
    if let Some(h) = &history {
        // No history yet is the normal first run.
        let _ = editor.load_history(h);
    }
    let mut interp = Interpreter::new(opts);
    let mut out = ReplOutput;
    let mut line_no = 0;
    println!("mmsim repl: type scenario statements; `help` for a summary, `quit` to leave.");
    loop {
        let line = match editor.readline("mmsim> ") {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        line_no += 1;
        let trimmed = line.trim();
        if !trimmed.is_empty() {
            let _ = editor.add_history_entry(trimmed);
        }
        match trimmed {
            "quit" | "exit" => break,
            "help" => {
                println!("{HELP}");
                continue;
            }
            _ => {}
        }
        match guard_model(|| interp.run_line(&line, line_no, &mut out)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                println!("error: {}", e.message);
                println!("{}", e.caret(&line));
            }
            Err(msg) => {
                println!("internal error: the model broke an invariant (a bug in mmsim): {msg}");
                println!("the machine may be inconsistent from here on");
            }
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(())
}
