//! Native i386 processes against the i386 oracle (tests/golden/i386, made by
//! scripts/i386-oracle.sh on Debian's 6.1 686 and 686-pae kernels under QEMU, ASLR off).
//!
//! Each test execs, in the model under `KernelArch::I386` / `I386Pae`, the very program the
//! guest ran (its ELF headers are kept in tests/golden/i386/programs), makes the memory calls
//! the program makes (glibc's static start-up: the TLS block from brk, the RELRO mprotect,
//! malloc's first brk; then the program's own calls, as `strace` of the same binary shows on
//! the host), and compares what the guest printed:
//!
//! * **exact**: every maps line (addresses, permissions, offsets, names and the name column
//!   of a 32-bit kernel), the addresses exam.c printed for brk and its two mmaps, the VMA list
//!   the oracle module walked with `for_each_vma`, the `AT_SYSINFO`/`AT_SYSINFO_EHDR` of the
//!   auxiliary vector, and `VmPTE`, `VmSize`, `VmData`, `VmStk`, `VmExe`, `VmLib`;
//! * **taken as given**: the files' device and inode (the guest's initramfs; the model gives
//!   its files the numbers the guest's maps show);
//! * **not compared**: the resident counts (`VmRSS`, smaps `Rss`/`Pss`): the model runs no
//!   instructions, so it touches only the pages named below, not every page the program reads.

mod i386_common;

use i386_common::*;

#[test]
fn exam_lays_out_its_process_as_the_i386_kernels_did() {
    for (flavour, arch) in FLAVOURS {
        let exam = golden(flavour, "exam.txt");
        let before = exam_maps(&exam, "after malloc and mmap");
        let (mut k, pid) = exec(arch, "exam", "/exam", &["/exam"], &before);
        // Text at the program's own address, the stack ending at PAGE_OFFSET.
        k.exec_at(pid, 0x0804_95a0).unwrap();
        static_glibc_start(&mut k, pid, (0x080e_9000, 0x3000));
        assert_eq!(k.brk(pid, 0).unwrap(), printed(&exam, "brk0"), "{flavour}");
        let anon = k.mmap(pid, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).unwrap();
        assert_eq!(anon, printed(&exam, "mmap"), "{flavour}");
        assert_eq!(maps(&k, pid), before, "{flavour}: maps after malloc and mmap");
        let big = k.mmap(pid, 0, 1 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).unwrap();
        assert_eq!(big, printed(&exam, "mmap1M"), "{flavour}");
        let b = k.brk(pid, 0).unwrap();
        assert_eq!(k.brk(pid, b + 65536).unwrap(), printed(&exam, "brk1"), "{flavour}");
        assert_eq!(maps(&k, pid), exam_maps(&exam, "after brk +64K and mmap 1M"), "{flavour}: maps at the end");
        let local = printed(&exam, "local");
        let stack = k.mm(pid).unwrap().vmas.iter().next_back().map(|v| (v.start, v.end)).unwrap();
        assert!(stack.0 <= local && local < stack.1, "{flavour}: the local {local:#x} is on the stack {stack:x?}");
        mm::invariants::check_kernel(&k);
    }
}

/// busybox `cat /proc/self/maps`: its start-up, then a 64 KiB read buffer while it reads.
fn cat_self_maps(arch: KernelArch, guest_maps: &str) -> (Kernel, Pid) {
    let (mut k, pid) = exec(arch, "busybox", "/bin/busybox", &["cat", "/proc/self/maps"], guest_maps);
    k.exec_at(pid, 0x0804_9000).unwrap();
    static_glibc_start(&mut k, pid, (0x0823_a000, 0x4000));
    (k, pid)
}

#[test]
fn busybox_cat_shows_the_maps_status_and_auxv_the_i386_kernels_showed() {
    for (flavour, arch) in FLAVOURS {
        let guest = golden(flavour, "cat-self-maps.txt");
        let (mut k, pid) = cat_self_maps(arch, &guest);
        let buf = k.mmap(pid, 0, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).unwrap();
        k.store(pid, buf, b"08048000-08049000").unwrap();
        // The vDSO's code runs (AT_SYSINFO's __kernel_vsyscall makes every system call).
        let vdso =
            k.mm(pid).unwrap().vmas.iter().find(|v| v.special.is_some_and(|s| s.name() == "[vdso]")).unwrap().start;
        k.exec_at(pid, vdso).unwrap();
        assert_eq!(maps(&k, pid), guest, "{flavour}: cat /proc/self/maps");

        let status = procfs::status(&k, pid).unwrap();
        let guest_status = golden(flavour, "cat-self-status.txt");
        for field in ["VmPeak", "VmSize", "VmData", "VmStk", "VmExe", "VmLib", "VmPTE"] {
            let pick = |s: &str| s.lines().find(|l| l.starts_with(&format!("{field}:"))).map(str::to_string);
            assert_eq!(pick(&status), pick(&guest_status), "{flavour}: {field}");
        }
        mm::invariants::check_kernel(&k);
    }
}

#[test]
fn the_module_walks_the_vmas_of_insmod_as_the_model_lists_them() {
    for (flavour, arch) in FLAVOURS {
        let guest = golden(flavour, "cat-self-maps.txt");
        let module = golden(flavour, "module.txt");
        let walked: Vec<&str> = module.lines().filter_map(|l| l.strip_prefix("mmsim: vma ")).collect();
        assert!(!walked.is_empty(), "{flavour}: the golden has the walk");
        // insmod is busybox too, and maps nothing more than its start-up before the module's
        // init runs in its context.
        let (k, pid) = cat_self_maps(arch, &guest);
        let model: Vec<String> =
            k.mm(pid).unwrap().vmas.iter().map(|v| format!("{:#x}-{:#x}", v.start, v.end)).collect();
        assert_eq!(model, walked, "{flavour}: for_each_vma");
    }
}

#[test]
fn the_auxiliary_vector_points_at_the_i386_vdso() {
    for (flavour, arch) in FLAVOURS {
        let guest = golden(flavour, "cat-self-maps.txt");
        let auxv_dump = golden(flavour, "cat-self-auxv.txt");
        // od -t x4: offset, then four words; the vector's (type, value) pairs.
        let words: Vec<u64> = auxv_dump
            .lines()
            .flat_map(|l| l.split_whitespace().skip(1).map(|w| u64::from_str_radix(w, 16).unwrap()).collect::<Vec<_>>())
            .collect();
        let guest_auxv: Vec<(u64, u64)> = words.chunks(2).filter(|c| c.len() == 2).map(|c| (c[0], c[1])).collect();
        let (mut k, pid) = cat_self_maps(arch, &guest);
        // The model's initial stack: argc, argv, NULL, envp, NULL, then the pairs (4-byte words).
        let sp = k.mm(pid).unwrap().start_stack;
        let bytes = k.load(pid, sp, (0xc000_0000 - sp).min(1024)).unwrap();
        let stack: Vec<u64> = bytes.chunks(4).map(|c| u64::from(u32::from_le_bytes(c.try_into().unwrap()))).collect();
        let argc = stack[0] as usize;
        let envp = 1 + argc + 1;
        let auxv = envp + stack[envp..].iter().position(|&w| w == 0).unwrap() + 1;
        let model_auxv: Vec<(u64, u64)> =
            stack[auxv..].chunks(2).map(|c| (c[0], c[1])).take_while(|p| p.0 != 0).collect();
        let value = |v: &[(u64, u64)], t: u64| v.iter().find(|p| p.0 == t).map(|p| p.1);
        let vdso =
            k.mm(pid).unwrap().vmas.iter().find(|v| v.special.is_some_and(|s| s.name() == "[vdso]")).unwrap().start;
        for (name, t) in [("AT_SYSINFO", 32), ("AT_SYSINFO_EHDR", 33), ("AT_PHDR", 3), ("AT_PHNUM", 5), ("AT_ENTRY", 9)]
        {
            assert_eq!(value(&model_auxv, t), value(&guest_auxv, t), "{flavour}: {name}");
        }
        assert_eq!(value(&model_auxv, 33), Some(vdso));
    }
}

#[test]
fn an_i386_kernel_refuses_an_x86_64_program_and_leaves_the_caller_intact() {
    for (_, arch) in FLAVOURS {
        let guest = golden("686", "cat-self-maps.txt");
        let (mut k, pid) = cat_self_maps(arch, &guest);
        let before = maps(&k, pid);
        // The x86-64 demo program's headers: elf_check_arch of the i386 kernel says no.
        let mut image = loader::parse(&program_bytes("busybox")).unwrap();
        image.machine = mm::Machine::X86_64;
        let file = k.create_file("/x86_64", &[0; 4096]);
        let r = k.execve(pid, &ExecRequest::new("/x86_64", ExecFile { file, image }));
        assert_eq!(r.err(), Some(abi::Errno::ENOEXEC));
        assert_eq!(maps(&k, pid), before);
    }
}

/// The smaps fields the model knows without running the program's instructions: compared
/// exactly. The rest (`Rss`, `Pss`, `Pss_Dirty`, `Shared_*`, `Private_*`, `Referenced`,
/// `Anonymous`) count the pages the program touched by executing and, for the busybox file,
/// the page-cache pages it shares with the guest's shell: the model runs no instructions and
/// no shell, so they are tolerated (only their presence and order are compared).
const SMAPS_EXACT: [&str; 14] = [
    "Size",
    "KernelPageSize",
    "MMUPageSize",
    "LazyFree",
    "AnonHugePages",
    "ShmemPmdMapped",
    "FilePmdMapped",
    "Shared_Hugetlb",
    "Private_Hugetlb",
    "Swap",
    "SwapPss",
    "Locked",
    "THPeligible",
    "VmFlags",
];

/// smaps text as (header line, [(field, value)]) per VMA.
fn smaps_entries(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in text.lines() {
        match line.split_once(':') {
            Some((field, value)) if !field.contains(' ') && !field.contains('-') => {
                let entry = out.last_mut().expect("a header first");
                entry.1.push((field.to_string(), value.trim().to_string()));
            }
            _ => out.push((line.to_string(), Vec::new())),
        }
    }
    out
}

#[test]
fn busybox_cat_shows_the_smaps_the_i386_kernels_showed() {
    for (flavour, arch) in FLAVOURS {
        let guest_maps = golden(flavour, "cat-self-maps.txt");
        let (mut k, pid) = cat_self_maps(arch, &guest_maps);
        let buf = k.mmap(pid, 0, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).unwrap();
        k.store(pid, buf, b"08048000-08049000").unwrap();
        let vdso =
            k.mm(pid).unwrap().vmas.iter().find(|v| v.special.is_some_and(|s| s.name() == "[vdso]")).unwrap().start;
        k.exec_at(pid, vdso).unwrap();
        let guest = smaps_entries(&golden(flavour, "cat-self-smaps.txt"));
        let model = smaps_entries(&procfs::smaps(&k, pid).unwrap());
        let headers = |e: &[(String, Vec<(String, String)>)]| e.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
        assert_eq!(headers(&model), headers(&guest), "{flavour}: the smaps headers");
        for ((header, g), (_, m)) in guest.iter().zip(&model) {
            let names = |f: &[(String, String)]| f.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
            assert_eq!(names(m), names(g), "{flavour}: the fields of {header}");
            for ((name, gv), (_, mv)) in g.iter().zip(m) {
                if SMAPS_EXACT.contains(&name.as_str()) {
                    assert_eq!(mv, gv, "{flavour}: {name} of {header}");
                }
            }
        }
    }
}
