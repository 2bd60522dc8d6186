//! The model's execve against the host kernel's.
//!
//! Small C programs (tests/progs) are compiled here with gcc, without a C library (as 64-bit
//! programs, and with `-m32` as 32-bit ones, which run as ia32 compat processes), and run
//! under `setarch -R` with a controlled argv, environment and stack limit. At their entry
//! point, before anything else, they print /proc/self/maps, /proc/self/stat and their whole
//! initial stack. The same file is then exec'd in the model (imported with its real device
//! and inode) and the model's maps, mm fields and stack bytes must be the same, byte for byte.
//!
//! Skipped, with a note, where gcc or setarch is missing; failed instead under
//! `MMSIM_REQUIRE_HOST=1` (see the `hostreq` crate).

use mm::{at, Config, Kernel, Pid};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The compiled test programs, or None when the tools are missing.
struct Progs {
    dir: PathBuf,
    /// Whether the 32-bit programs could be built (gcc-multilib), or why not.
    m32: Result<(), String>,
}

impl Progs {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }
}

/// The compiled programs; when the tools are missing, a note (or under
/// `MMSIM_REQUIRE_HOST=1` a failure) and None.
#[track_caller]
fn progs() -> Option<&'static Progs> {
    static PROGS: OnceLock<Result<Progs, String>> = OnceLock::new();
    let built = PROGS
        .get_or_init(|| {
            hostreq::check_tools(&["gcc", "setarch"])?;
            let m32 = hostreq::check_gcc_m32();
            // One directory per test process under the target directory; those of finished
            // runs are removed.
            let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
            for old in std::fs::read_dir(tmp).into_iter().flatten().flatten() {
                let name = old.file_name().to_string_lossy().into_owned();
                if let Some(pid) = name.strip_prefix("exec-progs-") {
                    if !Path::new("/proc").join(pid).exists() {
                        let _ = std::fs::remove_dir_all(old.path());
                    }
                }
            }
            let dir = tmp.join(format!("exec-progs-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/progs");
            let dump = src.join("dump.c");
            let main = src.join("pie_main.c");
            let interp = dir.join("interp");
            let interp32 = dir.join("interp32");
            let with_m32 = |mut v: Vec<String>| {
                v.insert(0, "-m32".into());
                v
            };
            let builds: Vec<(&str, Vec<String>, &Path)> = vec![
                ("static", vec!["-static".into()], &dump),
                ("static_execstack", vec!["-static".into(), "-Wl,-z,execstack".into()], &dump),
                ("static_bigbss", vec!["-static".into(), "-DBIG_BSS".into()], &dump),
                ("spie", vec!["-static-pie".into(), "-fPIE".into()], &dump),
                ("spie_bigbss", vec!["-static-pie".into(), "-fPIE".into(), "-DBIG_BSS".into()], &dump),
                ("interp", vec!["-static-pie".into(), "-fPIE".into()], &dump),
                (
                    "pie",
                    vec!["-fPIE".into(), "-pie".into(), format!("-Wl,--dynamic-linker={}", interp.display())],
                    &main,
                ),
                (
                    "pie_bigbss",
                    vec![
                        "-fPIE".into(),
                        "-pie".into(),
                        "-DBIG_BSS".into(),
                        format!("-Wl,--dynamic-linker={}", interp.display()),
                    ],
                    &main,
                ),
                ("static32", with_m32(vec!["-static".into()]), &dump),
                ("static32_bigbss", with_m32(vec!["-static".into(), "-DBIG_BSS".into()]), &dump),
                ("static32_execstack", with_m32(vec!["-static".into(), "-Wl,-z,execstack".into()]), &dump),
                ("spie32", with_m32(vec!["-static-pie".into(), "-fPIE".into()]), &dump),
                ("interp32", with_m32(vec!["-static-pie".into(), "-fPIE".into()]), &dump),
                (
                    "pie32",
                    with_m32(vec![
                        "-fPIE".into(),
                        "-pie".into(),
                        format!("-Wl,--dynamic-linker={}", interp32.display()),
                    ]),
                    &main,
                ),
                (
                    "pie32_bigbss",
                    with_m32(vec![
                        "-fPIE".into(),
                        "-pie".into(),
                        "-DBIG_BSS".into(),
                        format!("-Wl,--dynamic-linker={}", interp32.display()),
                    ]),
                    &main,
                ),
            ];
            for (name, flags, source) in builds {
                if m32.is_err() && flags.first().is_some_and(|f| f == "-m32") {
                    continue;
                }
                let out = Command::new("gcc")
                    .args(["-O1", "-fno-stack-protector", "-fno-builtin", "-ffreestanding", "-fcf-protection=none"])
                    .arg("-nostdlib")
                    .args(&flags)
                    .arg("-o")
                    .arg(dir.join(name))
                    .arg(source)
                    .output()
                    .expect("run gcc");
                assert!(out.status.success(), "gcc {name}: {}", String::from_utf8_lossy(&out.stderr));
            }
            if m32.is_ok() {
                // The 32-bit static program without PT_GNU_STACK (ld cannot leave it out on
                // x86): its program header made PT_NULL.
                let mut bytes = std::fs::read(dir.join("static32")).expect("read static32");
                drop_pt_gnu_stack(&mut bytes);
                let path = dir.join("static32_nognustack");
                std::fs::write(&path, bytes).expect("write static32_nognustack");
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            }
            Ok(Progs { dir, m32 })
        })
        .as_ref();
    hostreq::need("a host exec comparison", built.map_err(String::clone))
}

/// Turns the PT_GNU_STACK program header of a 32-bit little-endian ELF file into PT_NULL.
fn drop_pt_gnu_stack(elf: &mut [u8]) {
    const PT_GNU_STACK: u32 = 0x6474_e551;
    let word = |at: usize| u32::from_le_bytes(elf[at..at + 4].try_into().unwrap());
    let half = |at: usize| u16::from_le_bytes([elf[at], elf[at + 1]]) as usize;
    let (phoff, phentsize, phnum) = (word(0x1c) as usize, half(0x2a), half(0x2c));
    let at = (0..phnum).map(|i| phoff + i * phentsize).find(|&at| word(at) == PT_GNU_STACK).expect("PT_GNU_STACK");
    elf[at..at + 4].fill(0);
}

/// A stack limit as `ulimit -s` takes it (KiB or "unlimited") and as the model takes it.
#[derive(Clone, Copy, Debug)]
enum Stack {
    Kib(u64),
    Unlimited,
}

impl Stack {
    fn shell(self) -> String {
        match self {
            Stack::Kib(k) => k.to_string(),
            Stack::Unlimited => "unlimited".into(),
        }
    }
    fn bytes(self) -> u64 {
        match self {
            Stack::Kib(k) => k << 10,
            Stack::Unlimited => u64::MAX,
        }
    }
}

/// What one run printed.
struct HostRun {
    maps: String,
    stat: Vec<u64>,
    sp: u64,
    stack: Vec<u8>,
    /// The memory lines of /proc/self/status, read by the first instructions.
    status: String,
}

/// Runs `prog` with exactly `argv` (argv[0] is the path) and `envp`, no randomization,
/// and the stack limit.
fn run_host(prog: &str, args: &[String], envp: &[String], stack: Stack) -> Result<HostRun, String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -s {} && exec setarch x86_64 -R env -i \"$@\"", stack.shell()))
        .arg("sh")
        .args(envp)
        .arg(prog)
        // env passes the path as argv[0].
        .args(&args[1..])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("status {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr)));
    }
    parse_dump(&out.stdout).ok_or_else(|| "unreadable dump".to_string())
}

fn parse_dump(out: &[u8]) -> Option<HostRun> {
    fn header<'a>(out: &'a [u8], pos: &mut usize) -> Option<Vec<&'a str>> {
        let end = out[*pos..].iter().position(|&b| b == b'\n')? + *pos;
        let line = std::str::from_utf8(&out[*pos..end]).ok()?;
        *pos = end + 1;
        Some(line.split(' ').collect())
    }
    let hex = |s: &str| u64::from_str_radix(s, 16).ok();
    let mut pos = 0;
    let h = header(out, &mut pos)?;
    let n = hex(h.get(1)?)? as usize;
    let maps = String::from_utf8(out.get(pos..pos + n)?.to_vec()).ok()?;
    pos += n;
    let h = header(out, &mut pos)?;
    let n = hex(h.get(1)?)? as usize;
    let stat = std::str::from_utf8(out.get(pos..pos + n)?).ok()?;
    pos += n;
    // Fields after the command name, which may contain spaces: field 3 is index 0.
    let rest = &stat[stat.rfind(')')? + 2..];
    let stat: Vec<u64> = rest.split_whitespace().map(|f| f.parse::<i64>().map(|v| v as u64).unwrap_or(0)).collect();
    let h = header(out, &mut pos)?;
    let sp = hex(h.get(1)?)?;
    let n = hex(h.get(2)?)? as usize;
    let stack = out.get(pos..pos + n)?.to_vec();
    pos += n;
    let h = header(out, &mut pos)?;
    let n = hex(h.get(1)?)? as usize;
    let status = std::str::from_utf8(out.get(pos..pos + n)?).ok()?;
    let status =
        status.lines().filter(|l| l.starts_with("Vm") || l.starts_with("Rss")).map(|l| format!("{l}\n")).collect();
    Some(HostRun { maps, stat, sp, stack, status })
}

/// The AT_RANDOM bytes of a dumped initial stack of words of `w` bytes.
fn random_bytes(run: &HostRun, w: usize) -> [u8; 16] {
    let word = |i: usize| {
        let mut b = [0u8; 8];
        b[..w].copy_from_slice(&run.stack[i * w..i * w + w]);
        u64::from_le_bytes(b)
    };
    let argc = word(0) as usize;
    let mut i = argc + 2;
    while word(i) != 0 {
        i += 1;
    }
    i += 1;
    while word(i) != at::NULL {
        if word(i) == at::RANDOM {
            let off = (word(i + 1) - run.sp) as usize;
            return run.stack[off..off + 16].try_into().unwrap();
        }
        i += 2;
    }
    panic!("no AT_RANDOM");
}

/// The model after the same exec, and the entry point.
fn run_model(prog: &str, args: &[String], envp: &[String], stack: Stack, random: [u8; 16]) -> (Kernel, Pid, u64) {
    let vdso = loader::host::vdso_layout().expect("read own maps");
    let mut k = Kernel::new(Config { ram_bytes: 1 << 30, rlimit_stack: stack.bytes(), vdso, ..Config::default() });
    let mut req = loader::host::exec_request(&mut k, prog, args, envp).expect("import program");
    req.random_bytes = random;
    let pid = k.spawn_empty("sh").unwrap();
    let info = k.execve(pid, &req).expect("model execve");
    mm::invariants::check_kernel(&k);
    (k, pid, info.entry)
}

/// Runs one case on both sides and compares everything the dump shows.
#[track_caller]
fn compare(prog: &str, extra_args: &[&str], envp: &[String], stack: Stack) {
    let Some(p) = progs() else { return };
    let word = if prog.contains("32") { 4 } else { 8 };
    if word == 4 && hostreq::need("a 32-bit host exec comparison", p.m32.clone()).is_none() {
        return;
    }
    let path = p.path(prog);
    let mut args = vec![path.clone()];
    args.extend(extra_args.iter().map(|s| s.to_string()));
    let what = format!(
        "{prog} args={extra_args:?} env={} bytes, ulimit -s {}",
        envp.iter().map(|e| e.len() + 1).sum::<usize>(),
        stack.shell()
    );
    let host = run_host(&path, &args, envp, stack).unwrap_or_else(|e| panic!("{what}: host run failed: {e}"));
    let (mut k, pid, entry) = run_model(&path, &args, envp, stack, random_bytes(&host, word));
    // The program's first instruction fetch, then its status read (tests/progs/dump.c).
    k.exec_at(pid, entry).expect("entry point executable");
    let status = procfs::status(&k, pid).unwrap();
    assert_eq!(status, host.status, "{what}: status memory lines differ\n--- host\n{}--- model\n{status}", host.status);
    let maps = procfs::maps(&k, pid).unwrap();
    assert_eq!(maps, host.maps, "{what}: maps differ\n--- host\n{}--- model\n{maps}", host.maps);
    let mm = k.mm(pid).unwrap().clone();
    // /proc/PID/stat fields 26-28 and 45-51, in order.
    let fields = [
        (26, "start_code", mm.start_code),
        (27, "end_code", mm.end_code),
        (28, "start_stack", mm.start_stack),
        (45, "start_data", mm.start_data),
        (46, "end_data", mm.end_data),
        (47, "start_brk", mm.start_brk),
        (48, "arg_start", mm.arg_start),
        (49, "arg_end", mm.arg_end),
        (50, "env_start", mm.env_start),
        (51, "env_end", mm.env_end),
    ];
    for (n, name, model) in fields {
        assert_eq!(
            model,
            host.stat[n - 3],
            "{what}: stat field {n} ({name}): model {model:#x}, host {:#x}",
            host.stat[n - 3]
        );
    }
    assert_eq!(mm.start_stack, host.sp, "{what}: initial stack pointer");
    let stack = k.load(pid, host.sp, host.stack.len() as u64).expect("model stack readable");
    if stack != host.stack {
        let first =
            stack.iter().zip(&host.stack).position(|(a, b)| a != b).unwrap_or(stack.len().min(host.stack.len()));
        panic!(
            "{what}: stack bytes differ first at sp+{first:#x} (len model {} host {})",
            stack.len(),
            host.stack.len()
        );
    }
}

fn env_of(total: usize) -> Vec<String> {
    // Several variables, the last one padded so that the strings take `total` bytes.
    let mut env = vec!["HOME=/root".to_string(), "PATH=/usr/bin:/bin".to_string()];
    let used: usize = env.iter().map(|e| e.len() + 1).sum();
    if total > used + 3 {
        env.push(format!("X={}", "x".repeat(total - used - 3)));
    }
    env
}

const LIMITS: [Stack; 4] = [Stack::Kib(8192), Stack::Kib(64), Stack::Unlimited, Stack::Kib(1_024_000)];

#[test]
fn static_exec_matches_host() {
    for stack in LIMITS {
        compare("static", &[], &[], stack);
        compare("static", &["one", "two"], &env_of(200), stack);
        compare("static", &["a"], &env_of(20_000), stack);
    }
}

#[test]
fn strings_crossing_page_boundaries_match_host() {
    // Sizes around one page of strings: the tables then spill onto the next page down.
    for total in (3700..4300).step_by(37) {
        compare("static", &["arg"], &env_of(total), Stack::Kib(8192));
    }
    for total in [8000, 8150, 8192, 12_300, 65_000] {
        compare("static", &[], &env_of(total), Stack::Kib(8192));
    }
}

#[test]
fn static_pie_matches_host() {
    for stack in LIMITS {
        compare("spie", &[], &[], stack);
        compare("spie", &["x"], &env_of(5000), stack);
    }
}

#[test]
fn pie_with_interpreter_matches_host() {
    for stack in LIMITS {
        compare("pie", &[], &[], stack);
        compare("pie", &["p", "q", "r"], &env_of(9000), stack);
    }
}

#[test]
fn executable_stack_matches_host() {
    compare("static_execstack", &[], &[], Stack::Kib(8192));
    compare("static_execstack", &["z"], &env_of(300), Stack::Unlimited);
}

#[test]
fn large_bss_matches_host() {
    for stack in [Stack::Kib(8192), Stack::Unlimited] {
        compare("static_bigbss", &[], &[], stack);
        compare("spie_bigbss", &[], &[], stack);
        compare("pie_bigbss", &[], &env_of(100), stack);
    }
}

#[test]
fn too_long_strings_fail_with_e2big_on_both() {
    let Some(p) = progs() else { return };
    let path = p.path("static");
    let args = vec![path.clone()];
    // 100 KB of strings: within the 128 KiB every stack limit allows for arguments, but more
    // than a 64 KiB stack can grow to while they are copied.
    let envp = env_of(100_000);
    let host = run_host(&path, &args, &envp, Stack::Kib(64));
    let err = host.err().expect("the host exec should fail");
    assert!(err.contains("Argument list too long"), "{err}");
    let mut k = Kernel::new(Config { ram_bytes: 1 << 30, rlimit_stack: 64 << 10, ..Config::default() });
    let req = loader::host::exec_request(&mut k, &path, &args, &envp).unwrap();
    let pid = k.spawn_empty("sh").unwrap();
    assert_eq!(k.execve(pid, &req).unwrap_err(), mm::Errno::E2BIG);
    // The failure comes before the point of no return: the caller is intact.
    assert!(k.task(pid).unwrap().exit_code.is_none());
    // With the default limit the same strings fit, on both sides.
    compare("static", &[], &envp, Stack::Kib(8192));
}

#[test]
fn ia32_static_exec_matches_host() {
    for stack in LIMITS {
        compare("static32", &[], &[], stack);
        compare("static32", &["one", "two"], &env_of(200), stack);
        compare("static32", &["a"], &env_of(20_000), stack);
    }
    compare("static32_execstack", &[], &[], Stack::Kib(8192));
}

/// An ia32 program without PT_GNU_STACK runs with READ_IMPLIES_EXEC (personality 0x400000 on
/// the host, as `/proc/self/personality` shows it): its readable segments are executable
/// (merging into one r-x VMA), and so is its stack.
#[test]
fn ia32_without_pt_gnu_stack_reads_imply_exec_as_on_host() {
    compare("static32_nognustack", &[], &[], Stack::Kib(8192));
    let Some(p) = progs() else { return };
    if hostreq::need("a 32-bit host exec comparison", p.m32.clone()).is_none() {
        return;
    }
    let path = p.path("static32_nognustack");
    let (k, pid, _) = run_model(&path, std::slice::from_ref(&path), &[], Stack::Kib(8192), [0; 16]);
    assert_eq!(procfs::personality(&k, pid).unwrap(), "00400000\n");
    assert!(
        procfs::maps(&k, pid).unwrap().lines().all(|l| l.contains("[vvar") || !l.contains(" r--")),
        "readable is executable"
    );
}

#[test]
fn ia32_static_pie_matches_host() {
    for stack in LIMITS {
        compare("spie32", &[], &[], stack);
        compare("spie32", &["x"], &env_of(5000), stack);
    }
}

#[test]
fn ia32_pie_with_interpreter_matches_host() {
    for stack in LIMITS {
        compare("pie32", &[], &[], stack);
        compare("pie32", &["p", "q", "r"], &env_of(9000), stack);
    }
}

#[test]
fn ia32_large_bss_matches_host() {
    for stack in [Stack::Kib(8192), Stack::Unlimited] {
        compare("static32_bigbss", &[], &[], stack);
        compare("pie32_bigbss", &[], &env_of(100), stack);
    }
}
