//! The compat vDSO against the host: a `gcc -m32` program writes its own `[vdso]` bytes,
//! where the kernel put it and its maps (tests/progs/vdso_dump.c, run with ASLR off); the
//! model, given the image `loader::host::vdso32_image` reads from a 32-bit child of its own,
//! execs the same program, and its `[vdso]` must hold the same bytes at the same place, with
//! the same size. The 64-bit image is another one: a 64-bit process of the same model still
//! gets it.

use mm::{Config, Kernel};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the program printed: the `[vdso]` range, its bytes, AT_SYSINFO_EHDR and the maps.
struct Dump {
    start: u64,
    end: u64,
    bytes: Vec<u8>,
    ehdr: u64,
    maps: String,
}

fn parse(out: &[u8]) -> Dump {
    let line_end = |from: usize| out[from..].iter().position(|&b| b == b'\n').unwrap() + from;
    let hex = |s: &str| u64::from_str_radix(s, 16).unwrap();
    let first = line_end(0);
    let head = std::str::from_utf8(&out[..first]).unwrap();
    let f: Vec<&str> = head.split(' ').collect();
    assert_eq!(f[0], "vdso", "{head}");
    let (start, end) = (hex(f[1]), hex(f[2]));
    let at = first + 1 + (end - start) as usize;
    let bytes = out[first + 1..at].to_vec();
    let rest = std::str::from_utf8(&out[at..]).unwrap();
    let mut lines = rest.splitn(3, '\n');
    let ehdr = hex(lines.next().unwrap().strip_prefix("auxv ").unwrap());
    let len = hex(lines.next().unwrap().strip_prefix("maps ").unwrap()) as usize;
    let maps = lines.next().unwrap()[..len].to_string();
    Dump { start, end, bytes, ehdr, maps }
}

fn build(dir: &Path) -> Option<PathBuf> {
    hostreq::need("the compat vDSO", hostreq::check_tools(&["gcc", "setarch", "sh"]))?;
    hostreq::need("the compat vDSO", hostreq::check_gcc_m32())?;
    std::fs::create_dir_all(dir).unwrap();
    let exe = dir.join("vdso_dump32");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/progs/vdso_dump.c");
    let out = Command::new("gcc").args(["-m32", "-static", "-O1", "-o"]).arg(&exe).arg(src).output().unwrap();
    assert!(out.status.success(), "gcc: {}", String::from_utf8_lossy(&out.stderr));
    Some(exe)
}

/// The lines of the vDSO's parts and of the stack, whose placement exec decides alone.
fn exec_placed(maps: &str) -> Vec<&str> {
    maps.lines().filter(|l| l.contains("[vvar") || l.contains("[vdso]") || l.contains("[stack]")).collect()
}

#[test]
fn a_32_bit_process_reads_the_hosts_compat_vdso_in_the_model_too() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("vdso32-{}", std::process::id()));
    let Some(exe) = build(&dir) else { return };
    let path = exe.to_str().unwrap().to_string();
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -s 8192 && exec setarch x86_64 -R env -i \"$0\"")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let host = parse(&out.stdout);
    assert_eq!(host.ehdr, host.start, "AT_SYSINFO_EHDR is the start of [vdso]");
    assert_eq!(&host.bytes[..5], b"\x7fELF\x01", "an ELFCLASS32 image");

    let image = loader::host::vdso32_image().expect("read a 32-bit child's vDSO");
    let native = loader::host::vdso_image().expect("read this process's vDSO");
    assert_ne!(image, native, "the compat image is not the 64-bit one");
    let vdso = loader::host::vdso_layout().expect("read own maps");
    let config = Config {
        ram_bytes: 1 << 30,
        rlimit_stack: 8 << 20,
        vdso,
        vdso_image: Some(native.clone()),
        vdso32_image: Some(image),
        ..Config::default()
    };
    let mut k = Kernel::new(config);
    let req = loader::host::exec_request(&mut k, &path, &[&path], &[] as &[&str]).unwrap();
    let pid = k.spawn_empty("sh").unwrap();
    k.execve(pid, &req).unwrap();
    let maps = procfs::maps(&k, pid).unwrap();
    assert_eq!(exec_placed(&maps), exec_placed(&host.maps), "--- model\n{maps}--- host\n{}", host.maps);
    let mm = k.mm(pid).unwrap().clone();
    let got = k.load(pid, host.start, host.end - host.start).expect("model [vdso] readable");
    assert_eq!(got.len(), host.bytes.len());
    let first = got.iter().zip(&host.bytes).position(|(a, b)| a != b);
    assert_eq!(first, None, "the model's compat [vdso] differs from the host's at byte {first:?}");
    assert!(mm.space.is_32bit());
    mm::invariants::check_kernel(&k);

    // A 64-bit process of the same machine maps the 64-bit image.
    let sixty_four = "/bin/true";
    let req = loader::host::exec_request(&mut k, sixty_four, &[sixty_four], &[] as &[&str]).unwrap();
    let pid64 = k.spawn_empty("sh").unwrap();
    let info = k.execve(pid64, &req).unwrap();
    let _ = info;
    let maps64 = procfs::maps(&k, pid64).unwrap();
    let line = maps64.lines().find(|l| l.ends_with("[vdso]")).unwrap();
    let start = u64::from_str_radix(&line[..line.find('-').unwrap()], 16).unwrap();
    assert_eq!(k.load(pid64, start, native.len() as u64).unwrap(), native.to_vec());
    mm::invariants::check_kernel(&k);
    let _ = std::fs::remove_dir_all(&dir);
}
