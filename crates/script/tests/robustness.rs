//! No input makes the parser or the interpreter panic: random text, and random scripts
//! made of the language's own statements with awkward numbers.
//!
//! `PROPTEST_CASES=N` runs more cases; `MMSIM_PARANOID=1` also checks the model's invariants
//! after every statement (a violation panics: a bug in the model).

use proptest::prelude::*;
use script::{parse_line, parse_program, Interpreter, Options, Transcript};

/// Runs a script line by line (as the REPL does), going on after errors.
fn run_lines(src: &str) {
    let paranoid = std::env::var_os("MMSIM_PARANOID").is_some();
    let mut interp = Interpreter::new(Options { paranoid });
    let mut out = Transcript::default();
    for (i, line) in src.lines().enumerate() {
        let _ = interp.run_line(line, i + 1, &mut out);
    }
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        Just("1".to_string()),
        Just("4K".to_string()),
        Just("8K".to_string()),
        Just("2M".to_string()),
        Just("1G".to_string()),
        Just("-1".to_string()),
        Just("0x7ffffffff000".to_string()),
        Just("0xffffffffffffffff".to_string()),
        Just("0x8000000000000000".to_string()),
        Just("TASK_SIZE".to_string()),
        Just("p".to_string()),
        Just("q + 4K".to_string()),
        Just("p - 4K".to_string()),
        Just("4097".to_string()),
        Just("PROT_READ|PROT_WRITE".to_string()),
        Just("MAP_PRIVATE|MAP_ANONYMOUS".to_string()),
        Just("MAP_SHARED|MAP_ANONYMOUS".to_string()),
        Just("MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS".to_string()),
        Just("MAP_SHARED".to_string()),
        Just("MAP_PRIVATE".to_string()),
        Just("fd".to_string()),
        (0u64..70_000).prop_map(|n| n.to_string()),
    ]
}

fn proc_name() -> impl Strategy<Value = String> {
    prop_oneof![Just("A".to_string()), Just("B".to_string()), Just("C".to_string())]
}

/// One statement of the language with arbitrary arguments.
fn statement() -> impl Strategy<Value = String> {
    let n = number;
    prop_oneof![
        proc_name().prop_map(|p| format!("process {p}")),
        proc_name().prop_map(|p| format!("process {p} empty")),
        proc_name().prop_map(|p| format!("use {p}")),
        (proc_name(), proc_name()).prop_map(|(a, b)| format!("{b} = fork({a})")),
        proc_name().prop_map(|p| format!("{p}: exit(0)")),
        (n(), n(), n(), n(), n(), n()).prop_map(|(a, b, c, d, e, f)| format!("p = mmap({a}, {b}, {c}, {d}, {e}, {f})")),
        (n(), n(), n(), n()).prop_map(|(a, b, c, d)| format!("q = mmap({a}, {b}, {c}, {d}, -1, 0)")),
        (n(), n()).prop_map(|(a, b)| format!("munmap({a}, {b})")),
        (n(), n(), n()).prop_map(|(a, b, c)| format!("mprotect({a}, {b}, {c})")),
        n().prop_map(|a| format!("brk({a})")),
        Just("fd = open(\"/f\", O_RDWR|O_CREAT)".to_string()),
        Just("fd = memfd_create(\"m\")".to_string()),
        n().prop_map(|a| format!("close({a})")),
        n().prop_map(|a| format!("dup({a})")),
        (n(), n()).prop_map(|(a, b)| format!("read(fd, {a}, {b})")),
        (n(), n()).prop_map(|(a, b)| format!("write(fd, {a}, {b})")),
        n().prop_map(|a| format!("pwrite(fd, \"data\", {a})")),
        n().prop_map(|a| format!("ftruncate(fd, {a})")),
        Just("unlink(\"/f\")".to_string()),
        n().prop_map(|a| format!("file \"/f\" {a}")),
        (n(), "[a-z]{0,5}").prop_map(|(a, s)| format!("store {a} \"{s}\"")),
        (n(), 0u32..300, 0u32..20000).prop_map(|(a, b, l)| format!("store {a} {b} x {l}")),
        (n(), 0u32..9000).prop_map(|(a, l)| format!("load {a} {l}")),
        n().prop_map(|a| format!("exec {a}")),
        prop_oneof![
            Just("maps"),
            Just("smaps"),
            Just("rollup"),
            Just("status"),
            Just("statm"),
            Just("events"),
            Just("faults"),
            Just("free")
        ]
        .prop_map(str::to_string),
        n().prop_map(|a| format!("print rss(), pss(), pfn({a}), pte_present({a}), vmas(), vmsize(), minflt()")),
        n().prop_map(|a| format!("expect load_byte({a}) == 0")),
        (n(), n()).prop_map(|(a, b)| format!("expect {a} / {b} < {a} << {b}")),
        Just("expect maps contains \"[heap]\"".to_string()),
        Just("expect maps lines > 3".to_string()),
        n().prop_map(|a| format!("set max_map_count {a}")),
        n().prop_map(|a| format!("set rlimit_stack {a}")),
        n().prop_map(|a| format!("set ram {a}")),
        prop_oneof![Just("always"), Just("never"), Just("madvise")].prop_map(|m| format!("set thp {m}")),
    ]
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,120}(\n\\PC{0,60}){0,4}") {
        let _ = parse_program(&src);
        run_lines(&src);
    }

    #[test]
    fn token_soup_never_panics(words in prop::collection::vec(prop_oneof![
        Just("process"), Just("A"), Just("B"), Just(":"), Just("="), Just("mmap"), Just("fork"),
        Just("("), Just(")"), Just(","), Just("expect"), Just("load"), Just("store"), Just("x"),
        Just("maps"), Just("contains"), Just("lines"), Just("=="), Just("<"), Just("-"), Just("|"),
        Just("\"s\""), Just("4K"), Just("0x"), Just("1"), Just("rss"), Just("pfn"), Just("#"),
        Just("not"), Just("set"), Just("ram"), Just("empty"), Just("exit"), Just("\n"),
    ], 0..40)) {
        let src = words.join(" ");
        for (i, line) in src.lines().enumerate() {
            let _ = parse_line(line, i + 1);
        }
        run_lines(&src);
    }

    #[test]
    fn random_scenarios_never_panic(stmts in prop::collection::vec(statement(), 1..30)) {
        let src = format!("file \"/f\" 8K\nprocess A\nfd = 3\np = 0x7ffff7ff0000\nq = 0x400000\n{}", stmts.join("\n"));
        run_lines(&src);
    }
}
