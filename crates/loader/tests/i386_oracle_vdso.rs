//! The native i386 profiles' vDSO against the QEMU oracle (tests/golden/i386/*/vdso.txt,
//! printed by the static scripts/i386-oracle/vdso.c: its `[vdso]` maps line,
//! AT_SYSINFO_EHDR, AT_SYSINFO and the bytes of the image). The model execs the same program
//! (its recorded headers, tests/golden/i386/programs/vdso.head) and must show the same line,
//! give the same auxiliary-vector entries and read the same bytes there, on both kernels.
//! Also: the offset of `__kernel_vsyscall` the model adds for AT_SYSINFO is the one each
//! image's dynamic symbol table gives (the 6.1 images, and the host's compat image).

mod i386_common;

use i386_common::*;
use mm::{at, ExecFile, ExecRequest, Kernel};

/// The value of the dynamic symbol `name` of a 32-bit ELF shared object (the vDSO is linked
/// at 0, so it is the symbol's offset in the image).
fn dynamic_symbol(image: &[u8], name: &str) -> Option<u64> {
    let u16_at = |o: usize| usize::from(u16::from_le_bytes([image[o], image[o + 1]]));
    let u32_at = |o: usize| u32::from_le_bytes(image[o..o + 4].try_into().unwrap()) as usize;
    let (shoff, shentsize, shnum) = (u32_at(32), u16_at(46), u16_at(48));
    const SHT_DYNSYM: usize = 11;
    for i in 0..shnum {
        let sh = shoff + i * shentsize;
        if u32_at(sh + 4) != SHT_DYNSYM {
            continue;
        }
        let (off, size, link, entsize) = (u32_at(sh + 16), u32_at(sh + 20), u32_at(sh + 24), u32_at(sh + 36));
        let strings = u32_at(shoff + link * shentsize + 16);
        for sym in (off..off + size).step_by(entsize) {
            let at = strings + u32_at(sym);
            let end = at + image[at..].iter().position(|&b| b == 0)?;
            if &image[at..end] == name.as_bytes() {
                return Some(u32_at(sym + 4) as u64);
            }
        }
    }
    None
}

/// What vdso.txt holds: the maps line, AT_SYSINFO_EHDR, AT_SYSINFO and the image.
fn guest_dump(flavour: &str) -> (String, u64, u64, Vec<u8>) {
    let text = golden(flavour, "vdso.txt");
    let mut lines = text.lines();
    let line = lines.next().unwrap().to_string();
    let mut entry = |name: &str| {
        let l = lines.next().unwrap();
        u64::from_str_radix(l.strip_prefix(name).unwrap().trim(), 16).unwrap()
    };
    let (ehdr, sysinfo) = (entry("AT_SYSINFO_EHDR"), entry("AT_SYSINFO"));
    let bytes = lines
        .flat_map(|l| l.as_bytes().chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap()))
        .collect();
    (line, ehdr, sysinfo, bytes)
}

#[test]
fn a_static_program_reads_the_vdso_the_i386_kernels_mapped() {
    for (flavour, arch) in FLAVOURS {
        let (line, ehdr, sysinfo, image) = guest_dump(flavour);
        assert_eq!(image.len(), 2 * 4096, "{flavour}: two pages");
        let mut k = Kernel::new(mm::Config { ram_bytes: ORACLE_RAM, ..mm::Config::default() }.with_kernel_arch(arch));
        let bytes = program_bytes("vdso");
        let elf = loader::parse(&bytes).expect("the recorded headers parse");
        let file = k.import_file("/vdso", 0, 2, 30, bytes.into());
        let pid = k.spawn_empty("sh").unwrap();
        let info = k.execve(pid, &ExecRequest::new("/vdso", ExecFile { file, image: elf }).args(["/vdso"])).unwrap();
        let value = |t: u64| info.auxv.iter().find(|p| p.0 == t).map(|p| p.1);
        assert_eq!(value(at::SYSINFO_EHDR), Some(ehdr), "{flavour}: AT_SYSINFO_EHDR");
        assert_eq!(value(at::SYSINFO), Some(sysinfo), "{flavour}: AT_SYSINFO");
        let maps = maps(&k, pid);
        assert!(maps.lines().any(|l| l == line), "{flavour}: no line {line:?} in\n{maps}");
        let got = k.load(pid, ehdr, image.len() as u64).expect("[vdso] readable");
        let first = got.iter().zip(&image).position(|(a, b)| a != b);
        assert_eq!(first, None, "{flavour}: the model's [vdso] differs from the guest's at byte {first:?}");
        mm::invariants::check_kernel(&k);
    }
}

#[test]
fn the_system_call_entry_is_where_each_image_puts_kernel_vsyscall() {
    for (flavour, _) in FLAVOURS {
        let (_, ehdr, sysinfo, image) = guest_dump(flavour);
        assert_eq!(dynamic_symbol(&image, "__kernel_vsyscall"), Some(sysinfo - ehdr), "{flavour}");
        assert_eq!(sysinfo - ehdr, mm::ops::exec::vdso::I386_LINUX_6_1_SYSINFO_OFFSET, "{flavour}");
    }
    // The host's compat image, where this machine runs 32-bit programs.
    let Some(compat) = hostreq::need("the host's compat vDSO", loader::host::vdso32_image().map_err(|e| e.to_string()))
    else {
        return;
    };
    assert_eq!(dynamic_symbol(&compat, "__kernel_vsyscall"), Some(mm::ops::exec::vdso::VDSO32_SYSINFO_OFFSET));
}
