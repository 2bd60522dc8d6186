//! The demo program every `process NAME` runs: a small static, non-PIE x86-64 executable as
//! a linker lays one out, so that a fresh process has the segments a textbook draws.
//!
//! | Segment | Address | File offset | Size |
//! |---|---|---|---|
//! | ELF headers, `r--` | `0x400000` | `0x0` | 1 page |
//! | `.text`, `r-x` | `0x401000` | `0x1000` | 2 pages |
//! | `.rodata`, `r--` | `0x403000` | `0x3000` | 1 page |
//! | `.data` + `.bss`, `rw-` | `0x404e10` | `0x3e10` | 0x200 in the file, 0x3200 in memory |
//!
//! The data segment does not start on a page boundary (linkers pack it right after the
//! previous one in the file), so its first page is mapped from file offset `0x3000`; its last
//! file page is partly bss, which exec clears with a write, and the rest of the bss is
//! anonymous memory. The program break starts right after the bss, at `0x409000`.

use abi::{PROT_EXEC, PROT_READ, PROT_WRITE};
use mm::{ElfImage, ElfKind, LoadSegment, StackExec};

/// Size of the program file: headers, text, rodata, data and a symbol table after them.
pub const PROGRAM_SIZE: usize = 0x5000;

/// Where the initialized data (`"hello, world\n"`) starts in memory.
pub const DATA_ADDR: u64 = 0x404e10;

/// Returns the path of the program file of process `name`.
pub fn program_path(name: &str) -> String {
    format!("/usr/bin/{name}")
}

/// Returns the bytes of the program file of process `name`. Each region holds text that
/// says what it is, so that loads show where their bytes came from.
pub fn program_bytes(name: &str) -> Vec<u8> {
    let mut f = vec![0u8; PROGRAM_SIZE];
    fill(&mut f[..0x1000], format!("ELF header of /usr/bin/{name}\n").as_bytes());
    f[..8].copy_from_slice(b"\x7fELF\x02\x01\x01\x00");
    // .text: NOPs ending in RET, which is what the model "executes".
    f[0x1000..0x3000].fill(0x90);
    f[0x2fff] = 0xc3;
    fill(&mut f[0x3000..0x3e10], b"rodata\n");
    let data = b"hello, world\n";
    f[0x3e10..0x3e10 + data.len()].copy_from_slice(data);
    // Past the data segment's file bytes: a symbol table, which must not show in memory
    // beyond the segment's end (exec zeroes the rest of that page).
    fill(&mut f[0x4010..], b"symtab\n");
    f
}

fn fill(dst: &mut [u8], pattern: &[u8]) {
    for (d, s) in dst.iter_mut().zip(pattern.iter().cycle()) {
        *d = *s;
    }
}

/// Returns the headers of the demo program, as an ELF loader reads them: a static ET_EXEC
/// with its entry point at the start of `.text`.
pub fn program_image() -> ElfImage {
    let seg = |vaddr, memsz, filesz, offset, prot| LoadSegment { vaddr, memsz, filesz, offset, prot, align: 0x1000 };
    ElfImage {
        kind: ElfKind::Exec,
        machine: mm::Machine::X86_64,
        entry: 0x401000,
        phoff: 64,
        phnum: 4,
        segments: vec![
            seg(0x400000, 0x1000, 0x1000, 0x0, PROT_READ),
            seg(0x401000, 0x2000, 0x2000, 0x1000, PROT_READ | PROT_EXEC),
            seg(0x403000, 0x1000, 0x1000, 0x3000, PROT_READ),
            seg(DATA_ADDR, 0x3200, 0x200, 0x3e10, PROT_READ | PROT_WRITE),
        ],
        interp: None,
        stack: StackExec::Disable,
        relro: None,
    }
}

/// How far the i386 build of the demo program is linked above the x86-64 one: its headers
/// at 0x08048000, where `ld -m elf_i386` puts an executable.
pub const I386_SHIFT: u64 = 0x0804_8000 - 0x40_0000;

/// Returns the headers of the demo program built for i386 (`gcc -m32 -no-pie -static`): the
/// same segments and file, linked at 0x08048000, with 32-bit program headers. Exec makes it
/// an ia32 compat process: a 4 GiB address space, no `[vsyscall]`.
pub fn program_image_i386() -> ElfImage {
    let mut img = program_image();
    img.machine = mm::Machine::I386;
    img.entry += I386_SHIFT;
    img.phoff = 52;
    for s in &mut img.segments {
        s.vaddr += I386_SHIFT;
    }
    img
}

/// Returns the contents `file "PATH" SIZE` gives a file: each page says `page N` on every
/// line, so a load shows which page of the file a mapping reaches.
pub fn patterned_contents(size: usize) -> Vec<u8> {
    let mut out = vec![0u8; size];
    for (i, page) in out.chunks_mut(abi::PAGE_SIZE as usize).enumerate() {
        fill(page, format!("page {i}\n").as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_file_has_its_sections_where_the_image_says() {
        let f = program_bytes("A");
        assert_eq!(&f[..4], b"\x7fELF");
        assert_eq!(&f[0x3e10..0x3e1d], b"hello, world\n");
        let img = program_image();
        let last = img.segments.last().unwrap();
        assert_eq!(last.offset % 4096, last.vaddr % 4096);
        assert!(last.offset + last.filesz <= f.len() as u64);
    }

    #[test]
    fn patterned_files_name_their_pages() {
        let c = patterned_contents(8192 + 10);
        assert_eq!(&c[..7], b"page 0\n");
        assert_eq!(&c[4096..4103], b"page 1\n");
        assert_eq!(&c[8192..8199], b"page 2\n");
        assert_eq!(c.len(), 8202);
    }
}
