//! Where the native i386 kernels put a process, in every layout the oracle recorded
//! (tests/golden/i386/*/exam-*.txt, scripts/i386-oracle/init), against the model:
//!
//! * `exam-static-pie`: a static PIE (no interpreter) is mapped where mmap puts it, top-down
//!   below the stack gap, and its heap moves to ELF_ET_DYN_BASE (0x400000), even without
//!   randomization;
//! * `exam-dyn-pie`: a PIE with an interpreter is loaded at ELF_ET_DYN_BASE (0x400000), the
//!   interpreter top-down at mmap_base;
//! * `exam-unlimited-stack`: `ulimit -s unlimited` keeps the top-down layout (x86's
//!   mmap_is_legacy ignores the stack limit), with the largest gap: mmap_base 0x20000000;
//! * `exam-legacy`, `exam-static-pie-legacy`, `exam-dyn-pie-legacy`: `vm.legacy_va_layout=1`
//!   (the model: the ADDR_COMPAT_LAYOUT personality, which mmap_is_legacy treats alike):
//!   bottom-up from TASK_UNMAPPED_BASE 0x40000000;
//! * `exam-*-random-N`: `randomize_va_space=2`. Each run's random draws (the mmap_base
//!   offset, the stack top, the brk start, a PIE's load bias) are read from its maps, checked
//!   to lie in the ranges and alignments the model draws from, and given to the model's exec
//!   (`ExecPlacement`, what a replay does with a trace), which must then lay the process out
//!   exactly as the kernel did.
//!
//! Exact: every maps line of both dumps of the static programs (exam and static PIE), and
//! the lines the kernel's exec makes for the dynamic PIE (the program, ld-linux.so.2 after its
//! own RELRO mprotect, `[vvar]`, `[vdso]`, `[stack]`), its brk start. Not compared: the
//! libc.so.6 lines and the anonymous mappings ld.so makes (the model does not run ld.so).

mod i386_common;

use i386_common::*;
use mm::{ExecInfo, ExecPlacement};

/// What the exam builds are: the recorded head, the guest's path, the interpreter.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Build {
    Static,
    StaticPie,
    DynPie,
}

impl Build {
    fn head(self) -> &'static str {
        match self {
            Build::Static => "exam",
            Build::StaticPie => "exam-pie",
            Build::DynPie => "exam-dyn",
        }
    }
    fn path(self) -> &'static str {
        match self {
            Build::Static => "/exam",
            Build::StaticPie => "/exam-pie",
            Build::DynPie => "/exam-dyn",
        }
    }
}

/// How the guest ran it.
#[derive(Clone, Copy, Default)]
struct Setting {
    legacy: bool,
    unlimited_stack: bool,
    placement: ExecPlacement,
}

const LD_SO: &str = "/lib/ld-linux.so.2";

fn exec_build(arch: KernelArch, build: Build, setting: Setting, guest_maps: &str) -> (Kernel, Pid, ExecInfo) {
    let mut config = Config { ram_bytes: ORACLE_RAM, ..Config::default() }.with_kernel_arch(arch);
    if setting.unlimited_stack {
        config.rlimit_stack = u64::MAX;
    }
    let mut k = Kernel::new(config);
    let import = |k: &mut Kernel, head: &str, path: &str| {
        let bytes = program_bytes(head);
        let image = loader::parse(&bytes).expect("the recorded headers parse");
        let (major, minor, ino) = identity(guest_maps, path);
        ExecFile { file: k.import_file(path, major, minor, ino, bytes.into()), image }
    };
    let program = import(&mut k, build.head(), build.path());
    let mut req = ExecRequest::new(build.path(), program);
    if build == Build::DynPie {
        req = req.interp(import(&mut k, "ld-linux.so.2", LD_SO));
    }
    req.placement = setting.placement;
    let pid = k.spawn_empty("sh").unwrap();
    if setting.legacy {
        k.personality(pid, u64::from(abi::ADDR_COMPAT_LAYOUT)).unwrap();
    }
    let info = k.execve(pid, &req).expect("exec");
    (k, pid, info)
}

/// The pages glibc makes read-only after relocation: RELRO's whole pages (both ends rounded
/// down), at the load bias.
fn relro_pages(head: &str, bias: u64) -> (u64, u64) {
    let image = loader::parse(&program_bytes(head)).unwrap();
    let (start, len) = image.relro.expect("a RELRO segment");
    let (lo, hi) = ((bias + start) & !0xfff, (bias + start + len) & !0xfff);
    (lo, hi - lo)
}

/// The maps lines `keep` selects.
fn lines_of(maps: &str, keep: impl Fn(&str) -> bool) -> String {
    maps.lines().filter(|l| keep(l)).map(|l| format!("{l}\n")).collect()
}

/// Runs one recorded exam run in the model and compares it.
fn check_run(flavour: &str, arch: KernelArch, name: &str, build: Build, setting: Setting) {
    let exam = golden(flavour, &format!("{name}.txt"));
    let before = exam_maps(&exam, "after malloc and mmap");
    let (mut k, pid, info) = exec_build(arch, build, setting, &before);
    let what = format!("{flavour} {name}");
    if build == Build::DynPie {
        // ld.so protects its own RELRO, then the program's; what else it maps is its own.
        let (lo, len) = relro_pages("ld-linux.so.2", info.interp_base);
        k.mprotect(pid, lo, len, PROT_READ).unwrap();
        let (lo, len) = relro_pages(build.head(), info.load_bias);
        k.mprotect(pid, lo, len, PROT_READ).unwrap();
        let kernel_made = |l: &str| [build.path(), LD_SO, "[vvar]", "[vdso]", "[stack]"].iter().any(|n| l.ends_with(n));
        assert_eq!(lines_of(&maps(&k, pid), kernel_made), lines_of(&before, kernel_made), "{what}: maps");
        let heap = before.lines().find(|l| l.ends_with("[heap]")).expect("a heap line");
        let heap_start = u64::from_str_radix(&heap[..8], 16).unwrap();
        assert_eq!(k.brk(pid, 0).unwrap(), heap_start, "{what}: start_brk");
        mm::invariants::check_kernel(&k);
        return;
    }
    static_glibc_start(&mut k, pid, relro_pages(build.head(), info.load_bias));
    assert_eq!(k.brk(pid, 0).unwrap(), printed(&exam, "brk0"), "{what}: brk0");
    let anon = k.mmap(pid, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).unwrap();
    assert_eq!(anon, printed(&exam, "mmap"), "{what}: mmap");
    assert_eq!(maps(&k, pid), before, "{what}: maps after malloc and mmap");
    let big = k.mmap(pid, 0, 1 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).unwrap();
    assert_eq!(big, printed(&exam, "mmap1M"), "{what}: mmap1M");
    let b = k.brk(pid, 0).unwrap();
    assert_eq!(k.brk(pid, b + 65536).unwrap(), printed(&exam, "brk1"), "{what}: brk1");
    assert_eq!(maps(&k, pid), exam_maps(&exam, "after brk +64K and mmap 1M"), "{what}: maps at the end");
    mm::invariants::check_kernel(&k);
}

const BUILDS: [(Build, &str); 3] =
    [(Build::Static, "exam"), (Build::StaticPie, "exam-static-pie"), (Build::DynPie, "exam-dyn-pie")];

#[test]
fn pies_load_where_the_i386_kernels_loaded_them() {
    for (flavour, arch) in FLAVOURS {
        for (build, name) in BUILDS {
            check_run(flavour, arch, name, build, Setting::default());
        }
    }
}

#[test]
fn an_unlimited_stack_keeps_the_top_down_layout_with_the_largest_gap() {
    for (flavour, arch) in FLAVOURS {
        let setting = Setting { unlimited_stack: true, ..Setting::default() };
        check_run(flavour, arch, "exam-unlimited-stack", Build::Static, setting);
    }
}

#[test]
fn the_legacy_layout_goes_bottom_up_from_1_gib() {
    for (flavour, arch) in FLAVOURS {
        let setting = Setting { legacy: true, ..Setting::default() };
        for (build, name) in [
            (Build::Static, "exam-legacy"),
            (Build::StaticPie, "exam-static-pie-legacy"),
            (Build::DynPie, "exam-dyn-pie-legacy"),
        ] {
            check_run(flavour, arch, name, build, setting);
        }
    }
}

fn range_of(line: &str) -> (u64, u64) {
    let (a, b) = line.split_whitespace().next().unwrap().split_once('-').unwrap();
    (u64::from_str_radix(a, 16).unwrap(), u64::from_str_radix(b, 16).unwrap())
}

/// The random draws of one randomized run, read from its first maps dump, each checked
/// against the range and alignment the model draws it from (`UserSpace::i386_native`).
fn draws(maps: &str, build: Build, what: &str) -> ExecPlacement {
    let space = mm::space::UserSpace::i386_native();
    let stack = maps.lines().find(|l| l.ends_with("[stack]")).map(range_of).expect("a stack");
    // The first mapping made top-down ends at mmap_base: the highest end below the stack.
    let top_down_end = maps.lines().map(range_of).filter(|r| r.1 < stack.0).map(|r| r.1).max().unwrap();
    // The unrandomized base with the stack's randomization room kept free (8 MiB stack).
    let unrandomized = space.mmap_base(8 << 20, 256 * 4096, true, 0);
    let mmap_rnd = unrandomized - top_down_end;
    assert!(
        mmap_rnd < space.mmap_rnd_range() && mmap_rnd.is_multiple_of(4096),
        "{what}: mmap_base offset {mmap_rnd:#x}"
    );
    let drop = space.stack_top - stack.1;
    assert!(drop <= space.stack_max_random() && drop.is_multiple_of(4096), "{what}: stack top {:#x}", stack.1);
    let program = maps.lines().find(|l| l.ends_with(build.path())).map(range_of).unwrap();
    let heap = maps.lines().find(|l| l.ends_with("[heap]")).map(range_of).expect("a heap");
    let load_bias = match build {
        Build::Static => None,
        Build::StaticPie => Some(program.0),
        Build::DynPie => {
            let bias = program.0 - space.elf_et_dyn_base;
            assert!(bias < space.mmap_rnd_range() && bias.is_multiple_of(4096), "{what}: PIE at {:#x}", program.0);
            Some(program.0)
        }
    };
    // arch_randomize_brk: a page within 32 MiB above the end of the program (its bss), or
    // above ELF_ET_DYN_BASE for a static PIE.
    let brk_floor = match build {
        Build::StaticPie => space.elf_et_dyn_base,
        _ => maps.lines().filter(|l| l.contains(build.path())).map(range_of).map(|r| r.1).max().unwrap(),
    };
    assert!(heap.0 >= brk_floor && heap.0 - brk_floor < space.brk_rnd_range, "{what}: brk at {:#x}", heap.0);
    ExecPlacement {
        randomized: true,
        mmap_rnd: Some(mmap_rnd),
        stack_top: Some(stack.1),
        load_bias,
        start_brk: Some(heap.0),
    }
}

#[test]
fn randomized_layouts_replay_exactly_from_their_draws() {
    let mut runs = 0;
    for (flavour, arch) in FLAVOURS {
        for (build, name) in BUILDS {
            for i in 1..=6 {
                let name = format!("{name}-random-{i}");
                let exam = golden(flavour, &format!("{name}.txt"));
                let placement = draws(&exam_maps(&exam, "after malloc and mmap"), build, &format!("{flavour} {name}"));
                check_run(flavour, arch, &name, build, Setting { placement, ..Setting::default() });
                runs += 1;
            }
        }
    }
    assert_eq!(runs, 36);
}
