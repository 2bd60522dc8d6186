//! Reading an ELF file's headers the way `load_elf_binary` reads them.
//!
//! The kernel trusts little: it reads the header from the first bytes of the file
//! (zero-padded if the file is shorter), checks the magic, the type and the machine, then
//! reads `e_phnum` program headers of exactly the machine's size at `e_phoff`, at most one
//! page of them. It does not look at the class or byte-order bytes of `e_ident`, nor at
//! section headers. An x86-64 kernel has two ELF loaders: the native one for `EM_X86_64`
//! (64-byte header, 56-byte program headers) and the compat one for `EM_386` (52-byte header,
//! 32-byte program headers), which makes a 32-bit process; `e_type` and `e_machine` sit at
//! the same offsets in both layouts, so the machine picks the layout. This module does the
//! same with the `object` crate's ELF structures, so that a file the kernel accepts parses
//! here and one it refuses fails here with the same errno.

use crate::error::LoadError;
use mm::{Content, ElfImage, ElfKind, LoadSegment, Machine, StackExec};
use object::elf::{self, FileHeader32, FileHeader64};
use object::read::elf::{FileHeader, ProgramHeader};
use object::{LittleEndian as LE, Pod, ReadRef};

/// The longest PT_INTERP the kernel accepts (PATH_MAX).
const PATH_MAX: u64 = 4096;
/// The most program-header bytes the kernel reads (ELF_MIN_ALIGN, one page).
const MAX_PHDR_BYTES: usize = 4096;
/// Offset of `e_machine` in both header layouts.
const E_MACHINE_OFFSET: u64 = 18;

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
    match machine(bytes)? {
        Machine::X86_64 => parse_program::<FileHeader64<LE>>(bytes, Machine::X86_64),
        Machine::I386 => parse_program::<FileHeader32<LE>>(bytes, Machine::I386),
    }
}

/// The program's header in the layout of its machine, then its program headers.
fn parse_program<H: FileHeader<Endian = LE> + Pod>(bytes: &dyn Content, m: Machine) -> Result<ElfImage, LoadError> {
    let header = header::<H>(bytes)?;
    let kind = match header.e_type(LE) {
        elf::ET_EXEC => ElfKind::Exec,
        elf::ET_DYN => ElfKind::Dyn,
        t => return Err(LoadError::BadType(t)),
    };
    image(bytes, &header, kind, m)
}

/// Which loader takes the file: the magic, then `e_machine` (elf_check_arch of each).
fn machine(bytes: &dyn Content) -> Result<Machine, LoadError> {
    let mut ident = [0u8; 20];
    bytes.read_at(0, &mut ident);
    if ident[..4] != elf::ELFMAG {
        return Err(LoadError::NotElf);
    }
    let o = E_MACHINE_OFFSET as usize;
    match u16::from_le_bytes([ident[o], ident[o + 1]]) {
        elf::EM_X86_64 => Ok(Machine::X86_64),
        elf::EM_386 => Ok(Machine::I386),
        m => Err(LoadError::WrongMachine(m)),
    }
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
///
/// The interpreter is read in the layout of its own machine; `execve` refuses one whose
/// machine differs from the program's (ELIBBAD), as the program's loader would.
pub fn parse_interpreter_content(bytes: &dyn Content) -> Result<ElfImage, LoadError> {
    match machine(bytes) {
        Ok(Machine::I386) => parse_interp::<FileHeader32<LE>>(bytes, Machine::I386),
        Ok(Machine::X86_64) => parse_interp::<FileHeader64<LE>>(bytes, Machine::X86_64),
        Err(e) => {
            // The header is read with a plain read first, which must return all of it.
            if bytes.len() < std::mem::size_of::<FileHeader64<LE>>() as u64 {
                return Err(LoadError::ShortRead("the interpreter's ELF header"));
            }
            Err(e)
        }
    }
}

/// An interpreter's header in the layout of its machine, then its program headers.
fn parse_interp<H: FileHeader<Endian = LE> + Pod>(bytes: &dyn Content, m: Machine) -> Result<ElfImage, LoadError> {
    // The interpreter's header is read with a plain read, which must return all of it.
    if bytes.len() < std::mem::size_of::<H>() as u64 {
        return Err(LoadError::ShortRead("the interpreter's ELF header"));
    }
    let header = header::<H>(bytes)?;
    let kind = match header.e_type(LE) {
        elf::ET_EXEC => ElfKind::Exec,
        elf::ET_DYN => ElfKind::Dyn,
        t => ElfKind::Other(t),
    };
    image(bytes, &header, kind, m)
}

/// The header from the start of the file, zero-padded like the kernel's buffer, with the
/// magic checked.
fn header<H: FileHeader<Endian = LE> + Pod>(bytes: &dyn Content) -> Result<H, LoadError> {
    let mut buf = vec![0u8; std::mem::size_of::<H>()];
    // Zero-padded past the end of a short file.
    bytes.read_at(0, &mut buf);
    let header: H = *<&[u8] as ReadRef>::read_at::<H>(&buf[..], 0).map_err(|()| LoadError::NotElf)?;
    if header.e_ident().magic != elf::ELFMAG {
        return Err(LoadError::NotElf);
    }
    Ok(header)
}

/// The program headers (load_elf_phdrs) and what exec takes from them.
fn image<H: FileHeader<Endian = LE> + Pod>(
    bytes: &dyn Content,
    header: &H,
    kind: ElfKind,
    machine: Machine,
) -> Result<ElfImage, LoadError> {
    let phent_size = std::mem::size_of::<H::ProgramHeader>();
    if usize::from(header.e_phentsize(LE)) != phent_size {
        return Err(LoadError::BadProgramHeaders(if phent_size == 56 {
            "e_phentsize is not 56"
        } else {
            "e_phentsize is not 32"
        }));
    }
    let phnum = header.e_phnum(LE);
    let size = usize::from(phnum) * phent_size;
    if size == 0 || size > MAX_PHDR_BYTES {
        return Err(LoadError::BadProgramHeaders("none, or more than one page of them"));
    }
    let phoff: u64 = header.e_phoff(LE).into();
    let table =
        read_exact_at(bytes, phoff, size as u64).ok_or(LoadError::BadProgramHeaders("past the end of the file"))?;
    let phdrs: &[H::ProgramHeader] = table[..]
        .read_slice_at(0, usize::from(phnum))
        .map_err(|()| LoadError::BadProgramHeaders("past the end of the file"))?;
    let mut img = ElfImage {
        kind,
        machine,
        entry: header.e_entry(LE).into(),
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
                vaddr: ph.p_vaddr(LE).into(),
                memsz: ph.p_memsz(LE).into(),
                filesz: ph.p_filesz(LE).into(),
                offset: ph.p_offset(LE).into(),
                prot: prot(ph.p_flags(LE)),
                align: ph.p_align(LE).into(),
            }),
            // Only the first PT_INTERP counts.
            elf::PT_INTERP if img.interp.is_none() => img.interp = Some(interp(bytes, ph)?),
            elf::PT_GNU_STACK => {
                img.stack = if ph.p_flags(LE) & elf::PF_X != 0 { StackExec::Enable } else { StackExec::Disable };
            }
            elf::PT_GNU_RELRO => img.relro = Some((ph.p_vaddr(LE).into(), ph.p_memsz(LE).into())),
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
fn interp<P: ProgramHeader<Endian = LE>>(bytes: &dyn Content, ph: &P) -> Result<String, LoadError> {
    let len: u64 = ph.p_filesz(LE).into();
    if !(2..=PATH_MAX).contains(&len) {
        return Err(LoadError::BadInterp("length not within 2..=PATH_MAX"));
    }
    let data = read_exact_at(bytes, ph.p_offset(LE).into(), len).ok_or(LoadError::ShortRead("the PT_INTERP path"))?;
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
