//! The host kernel's compat vDSO (`vdso32`): an x86-64 kernel maps a separate 32-bit image
//! into ia32 compat processes, which no 64-bit process can map, so it is read from a 32-bit
//! child: a program of one page built here byte by byte (no 32-bit toolchain or libraries
//! needed, only the kernel's ia32 emulation) that waits on its stdin while the parent reads
//! its `[vdso]` through `/proc/PID/mem`.

/// A 32-bit x86 program of one page, written byte by byte: it writes a byte to its stdout
/// (its exec is complete), blocks in `read(0, sp, 1)` and then exits, so that a parent can
/// read its address space while it waits. It needs no
/// 32-bit toolchain or libraries, only the kernel's ia32 emulation.
fn ia32_waiter_elf() -> Vec<u8> {
    const BASE: u32 = 0x0804_8000;
    const EHDR: u32 = 52;
    const PHDR: u32 = 32;
    #[rustfmt::skip]
    let code: [u8; 44] = [
        0xb8, 4, 0, 0, 0, // mov eax, __NR_write
        0xbb, 1, 0, 0, 0, // mov ebx, 1 (stdout)
        0x89, 0xe1,       // mov ecx, esp
        0xba, 1, 0, 0, 0, // mov edx, 1
        0xcd, 0x80,       // int 0x80
        0xb8, 3, 0, 0, 0, // mov eax, __NR_read
        0x31, 0xdb,       // xor ebx, ebx (stdin)
        0x89, 0xe1,       // mov ecx, esp
        0xba, 1, 0, 0, 0, // mov edx, 1
        0xcd, 0x80,       // int 0x80
        0xb8, 1, 0, 0, 0, // mov eax, __NR_exit
        0x31, 0xdb,       // xor ebx, ebx
        0xcd, 0x80,       // int 0x80
    ];
    let size = EHDR + PHDR + code.len() as u32;
    let mut elf = Vec::with_capacity(size as usize);
    // e_ident: ELFCLASS32, little-endian, version 1, System V.
    elf.extend_from_slice(&[0x7f, b'E', b'L', b'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let half = |e: &mut Vec<u8>, v: u16| e.extend_from_slice(&v.to_le_bytes());
    let word = |e: &mut Vec<u8>, v: u32| e.extend_from_slice(&v.to_le_bytes());
    half(&mut elf, 2); // ET_EXEC
    half(&mut elf, 3); // EM_386
    word(&mut elf, 1);
    word(&mut elf, BASE + EHDR + PHDR); // e_entry: the code after the headers
    word(&mut elf, EHDR); // e_phoff
    word(&mut elf, 0); // e_shoff
    word(&mut elf, 0); // e_flags
    half(&mut elf, EHDR as u16);
    half(&mut elf, PHDR as u16);
    half(&mut elf, 1); // e_phnum
    half(&mut elf, 0);
    half(&mut elf, 0);
    half(&mut elf, 0);
    // One PT_LOAD of the whole file, read and execute.
    for v in [1, 0, BASE, BASE, size, size, 5, 0x1000] {
        word(&mut elf, v);
    }
    elf.extend_from_slice(&code);
    elf
}

/// The running kernel's 32-bit vDSO image (`vdso32`, what it maps into ia32 compat
/// processes): the bytes of `[vdso]` of a 32-bit child, read through its `/proc/PID/mem` while
/// it waits (for [`mm::Config::vdso32_image`]). Fails where the kernel runs no 32-bit
/// programs.
pub fn vdso32_image() -> std::io::Result<std::sync::Arc<[u8]>> {
    use std::io::{Read, Seek, SeekFrom};
    use std::os::unix::fs::PermissionsExt;
    use std::process::{Command, Stdio};
    let dir = std::env::temp_dir();
    let path = dir.join(format!("mmsim-ia32-waiter-{}-{:?}", std::process::id(), std::thread::current().id()));
    std::fs::write(&path, ia32_waiter_elf())?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))?;
    let spawned = Command::new(&path).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn();
    let _ = std::fs::remove_file(&path);
    let mut child = spawned?;
    let read = (|| {
        // spawn may return while the kernel is still loading the program (the parent of a
        // vfork is released as soon as the new mm is installed): its first byte tells that
        // the program, and so its vDSO, is in place.
        let mut ready = [0u8; 1];
        child.stdout.take().ok_or_else(|| std::io::Error::other("no pipe"))?.read_exact(&mut ready)?;
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", child.id()))?;
        let (start, end) = maps
            .lines()
            .filter(|l| l.ends_with("[vdso]"))
            .find_map(|l| {
                let (s, e) = l.split_whitespace().next()?.split_once('-')?;
                Some((u64::from_str_radix(s, 16).ok()?, u64::from_str_radix(e, 16).ok()?))
            })
            .ok_or_else(|| std::io::Error::other("no [vdso] in the 32-bit child's maps"))?;
        let mut mem = std::fs::File::open(format!("/proc/{}/mem", child.id()))?;
        mem.seek(SeekFrom::Start(start))?;
        let mut bytes = vec![0u8; (end - start) as usize];
        mem.read_exact(&mut bytes)?;
        Ok(std::sync::Arc::from(bytes))
    })();
    // Closing its stdin ends the child's read; it exits.
    drop(child.stdin.take());
    child.wait()?;
    read
}
