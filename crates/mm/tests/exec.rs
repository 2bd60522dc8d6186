//! Behaviour tests of `execve` on synthetic images: placement rules, the point of no return,
//! what happens to the old address space and to descriptors. (The byte-for-byte comparison
//! with the host kernel lives in the loader crate, which can compile real programs.)

use abi::*;
use mm::frame::Owner;
use mm::invariants::check_kernel;
use mm::{
    Config, ElfImage, ElfKind, Errno, ExecFile, ExecRequest, Kernel, LoadSegment, Pid, StackExec, EXEC_FATAL_STATUS,
};

fn kernel() -> Kernel {
    Kernel::new(Config { ram_bytes: 64 << 20, paranoid: true, ..Config::default() })
}

fn seg(vaddr: u64, memsz: u64, filesz: u64, offset: u64, prot: u64) -> LoadSegment {
    LoadSegment { vaddr, memsz, filesz, offset, prot, align: 0x1000 }
}

/// A linker-like image: headers r--, text r-x, data rw- with a partial last page and bss.
fn image(kind: ElfKind, base: u64, interp: Option<&str>) -> ElfImage {
    ElfImage {
        kind,
        machine: mm::Machine::X86_64,
        entry: base + 0x1000,
        phoff: 64,
        phnum: 4,
        segments: vec![
            seg(base, 0x1000, 0x1000, 0, PROT_READ),
            seg(base + 0x1000, 0x2000, 0x2000, 0x1000, PROT_READ | PROT_EXEC),
            seg(base + 0x3e10, 0x3200, 0x200, 0x3e10, PROT_READ | PROT_WRITE),
        ],
        interp: interp.map(str::to_string),
        stack: StackExec::Disable,
        relro: None,
    }
}

fn program(k: &mut Kernel, path: &str, img: ElfImage) -> ExecFile {
    let file = k.create_file(path, &vec![0x5au8; 0x5000]);
    ExecFile { file, image: img }
}

fn static_exec(k: &mut Kernel, path: &str) -> ExecRequest {
    let f = program(k, path, image(ElfKind::Exec, 0x40_0000, None));
    ExecRequest::new(path, f)
}

fn maps_starts(k: &Kernel, pid: Pid) -> Vec<(u64, u64)> {
    k.mm(pid).unwrap().vmas.iter().map(|v| (v.start, v.end)).collect()
}

fn anon_frames(k: &Kernel) -> usize {
    k.machine().frames.allocated().filter(|(_, m)| m.owner == Owner::Anon).count()
}

#[test]
fn a_static_program_is_laid_out_like_linux_does() {
    let mut k = kernel();
    let req = static_exec(&mut k, "/bin/prog");
    let pid = k.spawn(&req).unwrap();
    let mm = k.mm(pid).unwrap();
    let v: Vec<_> = mm.vmas.iter().map(|v| (v.start, v.end, v.file.is_some())).collect();
    assert_eq!(
        v,
        vec![
            (0x40_0000, 0x40_1000, true),
            (0x40_1000, 0x40_3000, true),
            (0x40_3000, 0x40_5000, true),
            // The bss pages after the last file page: anonymous, never merged with [heap].
            (0x40_5000, 0x40_8000, false),
            (0x7fff_f7ff_7000, 0x7fff_f7ff_b000, false),
            (0x7fff_f7ff_b000, 0x7fff_f7ff_d000, false),
            (0x7fff_f7ff_d000, 0x7fff_f7ff_f000, false),
            (0x7fff_fffd_e000, 0x7fff_ffff_f000, false),
        ]
    );
    assert_eq!((mm.start_brk, mm.brk), (0x40_8000, 0x40_8000));
    assert_eq!((mm.start_code, mm.end_code), (0x40_1000, 0x40_3000));
    assert_eq!((mm.start_data, mm.end_data), (0x40_3e10, 0x40_4010));
    // One stack page (strings and tables) and the bss page cleared by padzero.
    assert_eq!(mm.rss.anon.as_u64(), 2);
    // The tail of the last file page reads zero; the file bytes before it are the file's.
    assert_eq!(k.load(pid, 0x40_400f, 2).unwrap(), vec![0x5a, 0]);
    check_kernel(&k);
}

#[test]
fn the_initial_stack_holds_argc_argv_envp_and_the_auxiliary_vector() {
    let mut k = kernel();
    let req = static_exec(&mut k, "./prog").args(["prog", "one"]).env(["A=1", "BB=22"]);
    let pid = k.spawn_empty("sh").unwrap();
    let info = k.execve(pid, &req).unwrap();
    let word = |k: &mut Kernel, a: u64| u64::from_le_bytes(k.load(pid, a, 8).unwrap().try_into().unwrap());
    let sp = info.sp;
    assert_eq!(sp % 16, 0);
    assert_eq!(word(&mut k, sp), 2);
    let argv0 = word(&mut k, sp + 8);
    assert_eq!(k.load(pid, argv0, 5).unwrap(), b"prog\0");
    assert_eq!(argv0, k.mm(pid).unwrap().arg_start);
    assert_eq!(word(&mut k, sp + 24), 0);
    let env1 = word(&mut k, sp + 40);
    assert_eq!(k.load(pid, env1, 6).unwrap(), b"BB=22\0");
    assert_eq!(word(&mut k, sp + 48), 0);
    // The auxiliary vector follows, as the template orders it.
    assert_eq!(word(&mut k, sp + 56), mm::at::SYSINFO_EHDR);
    let execfn = info.auxv.iter().find(|e| e.0 == mm::at::EXECFN).unwrap().1;
    assert_eq!(k.load(pid, execfn, 7).unwrap(), b"./prog\0");
    assert_eq!(execfn + 7 + 8, 0x7fff_ffff_f000, "the file name ends 8 bytes below the top");
    assert_eq!(k.mm(pid).unwrap().env_end, execfn);
    assert_eq!(k.task(pid).unwrap().comm, "prog");
}

#[test]
fn an_empty_argv_gets_an_empty_argv0() {
    let mut k = kernel();
    let req = static_exec(&mut k, "/bin/prog").args(Vec::<&str>::new());
    let pid = k.spawn(&req).unwrap();
    let sp = k.mm(pid).unwrap().start_stack;
    let argc = k.load(pid, sp, 8).unwrap();
    assert_eq!(u64::from_le_bytes(argc.try_into().unwrap()), 1);
    let arg0 = u64::from_le_bytes(k.load(pid, sp + 8, 8).unwrap().try_into().unwrap());
    assert_eq!(k.load(pid, arg0, 1).unwrap(), b"\0");
}

#[test]
fn a_pie_goes_to_elf_et_dyn_base_and_its_interpreter_ends_at_mmap_base() {
    let mut k = kernel();
    let prog = program(&mut k, "/bin/pie", image(ElfKind::Dyn, 0, Some("/lib/ld.so")));
    let ld = program(&mut k, "/lib/ld.so", image(ElfKind::Dyn, 0, None));
    let req = ExecRequest::new("/bin/pie", prog).interp(ld);
    let pid = k.spawn(&req).unwrap();
    let mm = k.mm(pid).unwrap();
    let v = maps_starts(&k, pid);
    assert_eq!(v[0], (0x5555_5555_4000, 0x5555_5555_5000));
    // ld.so (three file VMAs and its bss) is the first top-down allocation; the vDSO comes
    // right below it.
    let ld_end = v.iter().filter(|r| r.0 > 0x7000_0000_0000 && r.1 <= mm.mmap_base).map(|r| r.1).max().unwrap();
    assert_eq!(ld_end, mm.mmap_base);
    let vdso = mm.vmas.iter().find(|x| x.special == Some(mm::vma::Special::Vdso)).unwrap();
    let ld_start = mm.mmap_base - 0x8000;
    assert_eq!(vdso.end, ld_start);
    assert_eq!(mm.start_brk, 0x5555_5555_c000);
    let info_base = k.execve(pid, &req).unwrap().interp_base;
    assert_eq!(info_base, ld_start);
    check_kernel(&k);
}

#[test]
fn a_static_pie_loads_at_mmap_base_and_its_heap_moves_to_elf_et_dyn_base() {
    let mut k = kernel();
    let prog = program(&mut k, "/bin/spie", image(ElfKind::Dyn, 0, None));
    let pid = k.spawn(&ExecRequest::new("/bin/spie", prog)).unwrap();
    let mm = k.mm(pid).unwrap();
    let v = maps_starts(&k, pid);
    let top = v.iter().filter(|r| r.1 <= mm.mmap_base).map(|r| r.1).max().unwrap();
    assert_eq!(top, mm.mmap_base);
    // The whole image, bss included, right below mmap_base, and the vDSO right below it.
    let vdso = mm.vmas.iter().find(|x| x.special == Some(mm::vma::Special::Vvar)).unwrap();
    assert_eq!(v[0].0, vdso.start);
    assert_eq!(v[3], (mm.mmap_base - 0x8000, mm.mmap_base - 0x7000));
    assert_eq!(mm.start_brk, 0x5555_5555_5000);
}

#[test]
fn the_stack_limit_sizes_the_stack_and_the_mmap_area() {
    for (limit, stack, base) in [
        (8u64 << 20, 0x21000, 0x7fff_f7ff_f000u64),
        (64 << 10, 0x10000, 0x7fff_f7ff_f000),
        (1000 << 20, 0x21000, 0x7fff_c16f_f000),
        (u64::MAX, 0x21000, 0x1555_5555_6000),
    ] {
        let mut k = Kernel::new(Config { ram_bytes: 64 << 20, rlimit_stack: limit, ..Config::default() });
        let req = static_exec(&mut k, "/bin/prog");
        let pid = k.spawn(&req).unwrap();
        let mm = k.mm(pid).unwrap();
        let s = mm.vmas.iter().last().unwrap();
        assert_eq!((s.end - s.start, mm.mmap_base), (stack, base), "limit {limit:#x}");
    }
}

#[test]
fn an_executable_stack_is_asked_for_with_pt_gnu_stack() {
    let mut k = kernel();
    let mut img = image(ElfKind::Exec, 0x40_0000, None);
    img.stack = StackExec::Enable;
    let f = program(&mut k, "/bin/x", img);
    let pid = k.spawn(&ExecRequest::new("/bin/x", f)).unwrap();
    let s = k.mm(pid).unwrap().vmas.iter().last().unwrap().clone();
    assert!(s.flags.contains(mm::VmFlags::EXEC | mm::VmFlags::GROWSDOWN));
}

#[test]
fn execve_tears_down_the_old_address_space() {
    let mut k = kernel();
    let req = static_exec(&mut k, "/bin/prog");
    let pid = k.spawn(&req).unwrap();
    let fresh = anon_frames(&k);
    let a = k.mmap(pid, 0, 64 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).unwrap();
    k.store(pid, a, &[1; 64 << 10]).unwrap();
    let brk = k.brk(pid, 0).unwrap();
    k.brk(pid, brk + 0x3000).unwrap();
    k.store(pid, brk, b"heap").unwrap();
    assert_eq!(anon_frames(&k), fresh + 17);
    let before = maps_starts(&k, pid);
    k.execve(pid, &req).unwrap();
    assert_eq!(anon_frames(&k), fresh, "the old pages are freed");
    assert_ne!(maps_starts(&k, pid), before);
    assert_eq!(k.mm(pid).unwrap().map_count(), 8);
    check_kernel(&k);
}

/// Makes a task that shares `parent`'s address space, as vfork or clone(CLONE_VM) does.
fn clone_vm(k: &mut Kernel, parent: Pid) -> Pid {
    k.clone_task(parent, true).unwrap()
}

#[test]
fn execve_in_a_vfork_child_leaves_the_parents_address_space_alone() {
    let mut k = kernel();
    let req = static_exec(&mut k, "/bin/prog");
    let parent = k.spawn(&req).unwrap();
    let a = k.mmap(parent, 0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).unwrap();
    k.store(parent, a, b"mine").unwrap();
    let before = maps_starts(&k, parent);
    let child = clone_vm(&mut k, parent);
    assert_eq!(k.mm(parent).unwrap().users, 2);
    let other = static_exec(&mut k, "/bin/other");
    k.execve(child, &other).unwrap();
    assert_eq!(k.mm(parent).unwrap().users, 1);
    assert_eq!(maps_starts(&k, parent), before);
    assert_eq!(k.load(parent, a, 4).unwrap(), b"mine");
    assert_ne!(k.task(child).unwrap().mm, k.task(parent).unwrap().mm);
    check_kernel(&k);
}

#[test]
fn close_on_exec_descriptors_are_closed_and_the_others_kept() {
    let mut k = kernel();
    let req = static_exec(&mut k, "/bin/prog");
    let pid = k.spawn(&req).unwrap();
    k.create_file("/tmp/f", b"data");
    let keep = k.open(pid, "/tmp/f", O_RDONLY).unwrap() as i64;
    let gone = k.open(pid, "/tmp/f", O_RDONLY | O_CLOEXEC).unwrap() as i64;
    let later = k.open(pid, "/tmp/f", O_RDONLY).unwrap() as i64;
    k.set_cloexec(pid, later, true).unwrap();
    let dup = k.dup(pid, gone).unwrap() as i64;
    k.execve(pid, &req).unwrap();
    let fds: Vec<i32> = k.task(pid).unwrap().fds.keys().copied().collect();
    assert_eq!(fds, vec![0, 1, 2, keep as i32, dup as i32], "dup does not copy FD_CLOEXEC");
    check_kernel(&k);
}

#[test]
fn errors_before_the_point_of_no_return_leave_the_caller_intact() {
    let mut k = kernel();
    let req = static_exec(&mut k, "/bin/prog");
    let pid = k.spawn(&req).unwrap();
    let before = maps_starts(&k, pid);
    // More than a quarter of the 8 MiB stack limit of strings.
    let big = vec![b'x'; 100_000];
    let e2big = req.clone().env(vec![big; 25]);
    assert_eq!(k.execve(pid, &e2big).unwrap_err(), Errno::E2BIG);
    let mut bad = req.clone();
    bad.program.image.kind = ElfKind::Other(4);
    assert_eq!(k.execve(pid, &bad).unwrap_err(), Errno::ENOEXEC);
    let mut no_interp = req.clone();
    no_interp.program.image.interp = Some("/lib/missing.so".into());
    assert_eq!(k.execve(pid, &no_interp).unwrap_err(), Errno::ENOENT);
    let long = req.clone().args([vec![b'a'; 200_000]]);
    assert_eq!(k.execve(pid, &long).unwrap_err(), Errno::E2BIG, "one string over MAX_ARG_STRLEN");
    assert_eq!(maps_starts(&k, pid), before);
    assert!(k.task(pid).unwrap().exit_code.is_none());
    check_kernel(&k);
}

#[test]
fn a_failure_after_the_point_of_no_return_kills_the_process() {
    let mut k = kernel();
    let req = static_exec(&mut k, "/bin/prog");
    let pid = k.spawn(&req).unwrap();
    let prog = program(&mut k, "/bin/pie", image(ElfKind::Dyn, 0, Some("/lib/bad.so")));
    let bad = program(&mut k, "/lib/bad.so", image(ElfKind::Other(1), 0, None));
    let r = k.execve(pid, &ExecRequest::new("/bin/pie", prog).interp(bad));
    assert!(r.is_err());
    assert_eq!(k.task(pid).unwrap().exit_code, Some(EXEC_FATAL_STATUS));
    assert!(k.mm(pid).is_err());
    check_kernel(&k);
    // A segment on top of the stack: MAP_FIXED_NOREPLACE refuses it, fatally.
    let pid = k.spawn(&req).unwrap();
    let mut img = image(ElfKind::Exec, 0x40_0000, None);
    img.segments[0].vaddr = 0x7fff_ffff_e000;
    let f = program(&mut k, "/bin/clash", img);
    assert_eq!(k.execve(pid, &ExecRequest::new("/bin/clash", f)).unwrap_err(), Errno::EEXIST);
    assert_eq!(k.task(pid).unwrap().exit_code, Some(EXEC_FATAL_STATUS));
    check_kernel(&k);
}

#[test]
fn aslr_draws_from_the_seed_within_linux_ranges() {
    let layout = |seed: u64| {
        let mut k = kernel();
        let prog = program(&mut k, "/bin/pie", image(ElfKind::Dyn, 0, Some("/lib/ld.so")));
        let ld = program(&mut k, "/lib/ld.so", image(ElfKind::Dyn, 0, None));
        let mut req = ExecRequest::new("/bin/pie", prog).interp(ld);
        req.aslr = Some(seed);
        let pid = k.spawn(&req).unwrap();
        check_kernel(&k);
        let mm = k.mm(pid).unwrap();
        (maps_starts(&k, pid), mm.start_brk, mm.start_stack, mm.mmap_base)
    };
    assert_eq!(layout(7), layout(7));
    let mut distinct = std::collections::BTreeSet::new();
    for seed in 0..40 {
        let (v, brk, sp, base) = layout(seed);
        distinct.insert(v[0].0);
        // PIE base: ELF_ET_DYN_BASE plus up to 2^28 pages.
        assert!((0x5555_5555_4000..0x5655_5555_4000).contains(&v[0].0), "{:#x}", v[0].0);
        // brk: a page past the bss, then up to 1 GiB more.
        assert!(brk >= v[0].0 + 0x9000 && brk < v[0].0 + 0x9000 + (1 << 30));
        // The stack top drops by up to 16 GiB, then up to 8 KiB more.
        let top = v.last().unwrap().1;
        assert!(top <= 0x7fff_ffff_f000 && top > 0x7fff_ffff_f000 - (16 << 30) - 0x3000);
        assert!(sp < top && sp % 16 == 0);
        // mmap_base leaves the stack's random range and guard gap free.
        assert!(base <= 0x7fff_ffff_f000 - (128 << 20));
    }
    assert!(distinct.len() > 30);
}
