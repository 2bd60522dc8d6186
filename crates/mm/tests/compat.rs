//! Behaviour tests of ia32 compat address spaces (32-bit programs on the 64-bit kernel) on
//! synthetic images: the layout exec builds and the 32-bit limits of the address-space calls.
//! The values were measured on Linux 6.18 x86-64 with `gcc -m32` programs; the loader's host
//! exec comparison and the replay tests ask the kernel again on every run.

use abi::*;
use mm::invariants::check_kernel;
use mm::{Abi, Config, ElfImage, ElfKind, Errno, ExecFile, ExecRequest, Kernel, LoadSegment, Machine, Pid, StackExec};

fn kernel() -> Kernel {
    Kernel::new(Config { ram_bytes: 64 << 20, paranoid: true, ..Config::default() })
}

fn seg(vaddr: u64, memsz: u64, filesz: u64, offset: u64, prot: u64) -> LoadSegment {
    LoadSegment { vaddr, memsz, filesz, offset, prot, align: 0x1000 }
}

/// A 32-bit image as `ld -m elf_i386` lays one out.
fn image32(kind: ElfKind, base: u64) -> ElfImage {
    ElfImage {
        kind,
        machine: Machine::I386,
        entry: base + 0x1000,
        phoff: 52,
        phnum: 3,
        segments: vec![
            seg(base, 0x1000, 0x1000, 0, PROT_READ),
            seg(base + 0x1000, 0x1000, 0x1000, 0x1000, PROT_READ | PROT_EXEC),
            seg(base + 0x2f00, 0x2200, 0x200, 0x2f00, PROT_READ | PROT_WRITE),
        ],
        interp: None,
        stack: StackExec::Disable,
        relro: None,
    }
}

fn spawn32(k: &mut Kernel, kind: ElfKind, base: u64) -> Pid {
    let file = k.create_file("/bin/prog32", &vec![0x5au8; 0x4000]);
    let req = ExecRequest::new("/bin/prog32", ExecFile { file, image: image32(kind, base) });
    let pid = k.spawn(&req).unwrap();
    check_kernel(k);
    pid
}

fn ranges(k: &Kernel, pid: Pid) -> Vec<(u64, u64)> {
    k.mm(pid).unwrap().vmas.iter().map(|v| (v.start, v.end)).collect()
}

#[test]
fn a_32_bit_static_program_gets_the_compat_layout() {
    let mut k = kernel();
    let pid = spawn32(&mut k, ElfKind::Exec, 0x0804_8000);
    let mm = k.mm(pid).unwrap();
    assert_eq!(mm.space.abi, Abi::Ia32Compat);
    assert_eq!(mm.space.task_size, 0xffff_e000);
    assert_eq!(mm.mmap_base, 0xf7ff_e000);
    assert_eq!(
        ranges(&k, pid),
        vec![
            (0x0804_8000, 0x0804_9000),
            (0x0804_9000, 0x0804_a000),
            (0x0804_a000, 0x0804_c000),
            (0x0804_c000, 0x0804_e000),
            // The vDSO ends at mmap_base (as the host shows for a static -m32 program).
            (0xf7ff_6000, 0xf7ff_a000),
            (0xf7ff_a000, 0xf7ff_c000),
            (0xf7ff_c000, 0xf7ff_e000),
            (0xfffd_d000, 0xffff_e000),
        ]
    );
    // No [vsyscall] gate page for a 32-bit process.
    assert!(!mm.space.vsyscall);
}

#[test]
fn a_32_bit_static_pie_loads_below_mmap_base_and_moves_its_heap_to_compat_elf_et_dyn_base() {
    let mut k = kernel();
    let pid = spawn32(&mut k, ElfKind::Dyn, 0);
    let mm = k.mm(pid).unwrap();
    assert_eq!(mm.start_brk, 0x5655_5000);
    let top = mm.vmas.iter().filter(|v| v.end <= mm.mmap_base).map(|v| v.end).max().unwrap();
    assert_eq!(top, mm.mmap_base);
}

#[test]
fn placement_stays_below_4_gib_and_large_requests_fail_with_enomem() {
    let mut k = kernel();
    let pid = spawn32(&mut k, ElfKind::Exec, 0x0804_8000);
    let anon = MAP_PRIVATE | MAP_ANONYMOUS;
    // Measured: mmap2(0xfffff000, 8192, ..., MAP_FIXED) and mmap2(NULL, 0xf0000000) fail.
    assert_eq!(k.mmap(pid, 0xffff_f000, 8192, PROT_READ, anon | MAP_FIXED, -1, 0), Err(Errno::ENOMEM));
    assert_eq!(k.mmap(pid, 0, 0xf000_0000, PROT_READ, anon, -1, 0), Err(Errno::ENOMEM));
    // A 2 MiB anonymous mapping is not THP-aligned in a compat call: it packs below the vDSO.
    let a = k.mmap(pid, 0, 2 << 20, PROT_READ | PROT_WRITE, anon, -1, 0).unwrap();
    assert_eq!(a, 0xf7ff_6000 - (2 << 20));
    // A hint above the 32-bit space is ignored.
    let b = k.mmap(pid, 0x1_0000_0000, 4096, PROT_READ, anon, -1, 0).unwrap();
    assert_eq!(b, a - 4096);
    // munmap and mremap check against the compat TASK_SIZE.
    assert_eq!(k.munmap(pid, 0xffff_f000, 4096), Err(Errno::EINVAL));
    assert_eq!(k.munmap(pid, 0xffff_e000, 4096), Err(Errno::EINVAL));
    assert_eq!(k.munmap(pid, 0xfff0_0000, 4096), Ok(0));
    let big = k.mremap(pid, a, 2 << 20, 0xf000_0000, MREMAP_MAYMOVE, 0);
    assert_eq!(big, Err(Errno::ENOMEM));
    // brk cannot pass TASK_SIZE.
    let brk = k.brk(pid, 0).unwrap();
    assert_eq!(k.brk(pid, 0xffff_f000).unwrap(), brk);
    check_kernel(&k);
}

#[test]
fn setarch_3_and_l_shape_the_compat_space() {
    let mut k = kernel();
    let file = k.create_file("/bin/prog32", &vec![0x5au8; 0x4000]);
    let req = ExecRequest::new("/bin/prog32", ExecFile { file, image: image32(ElfKind::Exec, 0x0804_8000) });
    let pid = k.spawn_empty("sh").unwrap();
    k.personality(pid, u64::from(ADDR_LIMIT_3GB | ADDR_COMPAT_LAYOUT)).unwrap();
    k.execve(pid, &req).unwrap();
    let mm = k.mm(pid).unwrap();
    assert_eq!(mm.space.task_size, 0xc000_0000);
    assert!(mm.legacy_layout);
    // The stack at the 3 GiB top, the vDSO bottom-up from TASK_UNMAPPED_BASE.
    let v = ranges(&k, pid);
    assert_eq!(v.last(), Some(&(0xbffd_f000, 0xc000_0000)));
    assert_eq!(v[4], (0x4000_0000, 0x4000_4000));
    check_kernel(&k);
}

#[test]
fn exec_of_a_64_bit_program_from_a_32_bit_one_restores_the_64_bit_space() {
    let mut k = kernel();
    let pid = spawn32(&mut k, ElfKind::Exec, 0x0804_8000);
    let child = k.fork(pid).unwrap();
    assert_eq!(k.mm(child).unwrap().space.abi, Abi::Ia32Compat);
    let file = k.create_file("/bin/prog64", &vec![0x5au8; 0x4000]);
    let mut img = image32(ElfKind::Exec, 0x40_0000);
    img.machine = Machine::X86_64;
    k.execve(child, &ExecRequest::new("/bin/prog64", ExecFile { file, image: img })).unwrap();
    let mm = k.mm(child).unwrap();
    assert_eq!(mm.space.abi, Abi::X86_64);
    assert_eq!(mm.mmap_base, 0x7fff_f7ff_f000);
    assert!(mm.space.vsyscall);
    check_kernel(&k);
}

#[test]
fn an_interpreter_of_the_other_class_is_refused_before_the_point_of_no_return() {
    let mut k = kernel();
    let file = k.create_file("/bin/prog32", &vec![0x5au8; 0x4000]);
    let ld = k.create_file("/lib64/ld.so", &vec![0x5au8; 0x4000]);
    let mut img = image32(ElfKind::Dyn, 0);
    img.interp = Some("/lib64/ld.so".into());
    let mut ld_img = image32(ElfKind::Dyn, 0);
    ld_img.machine = Machine::X86_64;
    let req =
        ExecRequest::new("/bin/prog32", ExecFile { file, image: img }).interp(ExecFile { file: ld, image: ld_img });
    let pid = k.spawn_empty("sh").unwrap();
    assert_eq!(k.execve(pid, &req).unwrap_err(), Errno::ELIBBAD);
    assert!(k.task(pid).unwrap().exit_code.is_none());
}

#[test]
fn the_old_mmap_reads_its_arguments_from_memory() {
    let mut k = kernel();
    let pid = spawn32(&mut k, ElfKind::Exec, 0x0804_8000);
    let anon = MAP_PRIVATE | MAP_ANONYMOUS;
    let block = k.mmap(pid, 0, 4096, PROT_READ | PROT_WRITE, anon, -1, 0).unwrap();
    let words: [u32; 6] = [0, 8192, PROT_READ as u32, anon as u32, u32::MAX, 0];
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    k.copy_to_user(pid, block, &bytes).unwrap();
    let got = k.dispatch(pid, &mm::Call::OldMmap { args: block }).unwrap();
    assert_eq!(got, block - 8192);
    // An unreadable block: EFAULT, as the host gave for mmap(0x10).
    assert_eq!(k.dispatch(pid, &mm::Call::OldMmap { args: 0x10 }), Err(Errno::EFAULT));
    assert_eq!(mm::Call::OldMmap { args: 0x10 }.to_string(), "mmap(0x10)");
    check_kernel(&k);
}
