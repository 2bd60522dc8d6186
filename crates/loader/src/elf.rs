//! Reading an ELF file's headers the way `load_elf_binary` reads them.
//!
//! The kernel trusts little: it reads the 64-byte header from the first bytes of the file
//! (zero-padded if the file is shorter), checks the magic, the type and the machine, then
//! reads `e_phnum` program headers of exactly 56 bytes at `e_phoff`, at most one page of
//! them. It does not look at the class or byte-order bytes of `e_ident`, nor at section
//! headers. This module does the same with the `object` crate's ELF structures, so that a
//! file the kernel accepts parses here and one it refuses fails here with the same errno.

use crate::error::LoadError;
use mm::{Content, ElfImage, ElfKind, LoadSegment, StackExec};
use object::elf::{self, FileHeader64, ProgramHeader64};
use object::read::elf::{FileHeader, ProgramHeader};
use object::{LittleEndian as LE, ReadRef};

/// The longest PT_INTERP the kernel accepts (PATH_MAX).
const PATH_MAX: u64 = 4096;
/// The most program-header bytes the kernel reads (ELF_MIN_ALIGN, one page).
const MAX_PHDR_BYTES: usize = 4096;
/// Size of one 64-bit program header.
const PHENT_SIZE: usize = 56;

/// Parses the program named by `execve`.
///
/// Errors are those the kernel reports before the point of no return; see
/// [`LoadError::errno`] with [`Role::Program`].
pub fn parse(bytes: &[u8]) -> Result<ElfImage, LoadError> {
    parse_content(&bytes)
}

/// [`parse`] reading only the parts of the file the kernel reads (the ELF header, the
/// program headers and the PT_INTERP path), from a file whose bytes come on demand.
pub fn parse_content(bytes: &dyn Content) -> Result<ElfImage, LoadError> {
    let header = header(bytes)?;
    let kind = match header.e_type(LE) {
        elf::ET_EXEC => ElfKind::Exec,
        elf::ET_DYN => ElfKind::Dyn,
        t => return Err(LoadError::BadType(t)),
    };
    check_machine(&header)?;
    image(bytes, &header, kind)
}

/// Parses an interpreter (the file a program's PT_INTERP names).
///
/// Its type is only checked after the point of no return, so an interpreter of another
/// type parses (as [`ElfKind::Other`]) and makes the exec fatal. Errors map to errno with
/// [`Role::Interpreter`].
pub fn parse_interpreter(bytes: &[u8]) -> Result<ElfImage, LoadError> {
    parse_interpreter_content(&bytes)
}

/// [`parse_interpreter`] reading only what the kernel reads, from a file whose bytes come
/// on demand.
pub fn parse_interpreter_content(bytes: &dyn Content) -> Result<ElfImage, LoadError> {
    // The interpreter's header is read with a plain read, which must return 64 bytes.
    if bytes.len() < std::mem::size_of::<FileHeader64<LE>>() as u64 {
        return Err(LoadError::ShortRead("the interpreter's ELF header"));
    }
    let header = header(bytes)?;
    check_machine(&header)?;
    let kind = match header.e_type(LE) {
        elf::ET_EXEC => ElfKind::Exec,
        elf::ET_DYN => ElfKind::Dyn,
        t => ElfKind::Other(t),
    };
    image(bytes, &header, kind)
}

/// The 64-byte header from the start of the file, zero-padded like the kernel's buffer,
/// with the magic checked.
fn header(bytes: &dyn Content) -> Result<FileHeader64<LE>, LoadError> {
    let mut buf = [0u8; std::mem::size_of::<FileHeader64<LE>>()];
    // Zero-padded past the end of a short file.
    bytes.read_at(0, &mut buf);
    let header: FileHeader64<LE> =
        *<&[u8] as ReadRef>::read_at::<FileHeader64<LE>>(&buf[..], 0).map_err(|()| LoadError::NotElf)?;
    if header.e_ident().magic != elf::ELFMAG {
        return Err(LoadError::NotElf);
    }
    Ok(header)
}

/// elf_check_arch: x86-64 only.
fn check_machine(header: &FileHeader64<LE>) -> Result<(), LoadError> {
    match header.e_machine(LE) {
        elf::EM_X86_64 => Ok(()),
        m => Err(LoadError::WrongMachine(m)),
    }
}

/// The program headers (load_elf_phdrs) and what exec takes from them.
fn image(bytes: &dyn Content, header: &FileHeader64<LE>, kind: ElfKind) -> Result<ElfImage, LoadError> {
    if usize::from(header.e_phentsize(LE)) != PHENT_SIZE {
        return Err(LoadError::BadProgramHeaders("e_phentsize is not 56"));
    }
    let phnum = header.e_phnum(LE);
    let size = usize::from(phnum) * PHENT_SIZE;
    if size == 0 || size > MAX_PHDR_BYTES {
        return Err(LoadError::BadProgramHeaders("none, or more than one page of them"));
    }
    let phoff = header.e_phoff(LE);
    let table =
        read_exact_at(bytes, phoff, size as u64).ok_or(LoadError::BadProgramHeaders("past the end of the file"))?;
    let phdrs: &[ProgramHeader64<LE>] = table[..]
        .read_slice_at(0, usize::from(phnum))
        .map_err(|()| LoadError::BadProgramHeaders("past the end of the file"))?;
    let mut img = ElfImage {
        kind,
        entry: header.e_entry(LE),
        phoff,
        phnum,
        segments: Vec::new(),
        interp: None,
        stack: StackExec::Default,
        relro: None,
    };
    for ph in phdrs {
        match ph.p_type(LE) {
            elf::PT_LOAD => img.segments.push(LoadSegment {
                vaddr: ph.p_vaddr(LE),
                memsz: ph.p_memsz(LE),
                filesz: ph.p_filesz(LE),
                offset: ph.p_offset(LE),
                prot: prot(ph.p_flags(LE)),
                align: ph.p_align(LE),
            }),
            // Only the first PT_INTERP counts.
            elf::PT_INTERP if img.interp.is_none() => img.interp = Some(interp(bytes, ph)?),
            elf::PT_GNU_STACK => {
                img.stack = if ph.p_flags(LE) & elf::PF_X != 0 { StackExec::Enable } else { StackExec::Disable };
            }
            elf::PT_GNU_RELRO => img.relro = Some((ph.p_vaddr(LE), ph.p_memsz(LE))),
            _ => {}
        }
    }
    Ok(img)
}

/// PROT_* from PF_* (make_prot).
fn prot(flags: u32) -> u64 {
    let mut p = 0;
    if flags & elf::PF_R != 0 {
        p |= abi::PROT_READ;
    }
    if flags & elf::PF_W != 0 {
        p |= abi::PROT_WRITE;
    }
    if flags & elf::PF_X != 0 {
        p |= abi::PROT_EXEC;
    }
    p
}

/// The interpreter path of a PT_INTERP header: 2 to PATH_MAX bytes, the last one NUL; the
/// path is the C string at its start.
fn interp(bytes: &dyn Content, ph: &ProgramHeader64<LE>) -> Result<String, LoadError> {
    let len = ph.p_filesz(LE);
    if !(2..=PATH_MAX).contains(&len) {
        return Err(LoadError::BadInterp("length not within 2..=PATH_MAX"));
    }
    let data = read_exact_at(bytes, ph.p_offset(LE), len).ok_or(LoadError::ShortRead("the PT_INTERP path"))?;
    if data[data.len() - 1] != 0 {
        return Err(LoadError::BadInterp("not NUL-terminated"));
    }
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    Ok(String::from_utf8_lossy(&data[..end]).into_owned())
}

/// The `len` bytes at `offset`, or `None` when the file ends before their end.
fn read_exact_at(bytes: &dyn Content, offset: u64, len: u64) -> Option<Vec<u8>> {
    let end = offset.checked_add(len)?;
    if end > bytes.len() {
        return None;
    }
    let mut buf = vec![0u8; usize::try_from(len).ok()?];
    bytes.read_at(offset, &mut buf);
    Some(buf)
}
