//! Robustness: mutated ELF files never make the parser or the model's execve panic, and
//! whatever the parser accepts, the model either loads with its invariants intact or
//! refuses with an errno.

use mm::{Config, ExecFile, ExecRequest, Kernel};
use proptest::prelude::*;

/// A small valid x86-64 ET_DYN program with an interpreter, built by hand: header, seven
/// program headers (PHDR-less: LOAD r--, LOAD r-x, LOAD rw- with bss, INTERP, GNU_STACK,
/// GNU_RELRO, NOTE) and three pages of contents.
fn synthetic_elf() -> Vec<u8> {
    let mut f = vec![0u8; 0x3000 + 0x180];
    let w16 = |f: &mut Vec<u8>, at: usize, v: u16| f[at..at + 2].copy_from_slice(&v.to_le_bytes());
    let w32 = |f: &mut Vec<u8>, at: usize, v: u32| f[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let w64 = |f: &mut Vec<u8>, at: usize, v: u64| f[at..at + 8].copy_from_slice(&v.to_le_bytes());
    f[..16].copy_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    w16(&mut f, 16, 3); // ET_DYN
    w16(&mut f, 18, 62); // EM_X86_64
    w32(&mut f, 20, 1);
    w64(&mut f, 24, 0x1000); // e_entry
    w64(&mut f, 32, 64); // e_phoff
    w16(&mut f, 52, 64);
    w16(&mut f, 54, 56);
    w16(&mut f, 56, 7);
    let phdrs: [(u32, u32, u64, u64, u64, u64, u64); 7] = [
        // (type, flags, offset, vaddr, filesz, memsz, align)
        (1, 4, 0, 0, 0x1000, 0x1000, 0x1000),
        (1, 5, 0x1000, 0x1000, 0x1000, 0x1000, 0x1000),
        (1, 6, 0x2e00, 0x3e00, 0x300, 0x5000, 0x1000),
        (3, 4, 0x300, 0x300, 12, 12, 1),
        (0x6474_e551, 6, 0, 0, 0, 0, 16),
        (0x6474_e552, 4, 0x2e00, 0x3e00, 0x200, 0x200, 1),
        (4, 4, 0x320, 0x320, 0x20, 0x20, 4),
    ];
    for (i, (t, fl, off, va, fs, ms, al)) in phdrs.into_iter().enumerate() {
        let at = 64 + i * 56;
        w32(&mut f, at, t);
        w32(&mut f, at + 4, fl);
        w64(&mut f, at + 8, off);
        w64(&mut f, at + 16, va);
        w64(&mut f, at + 24, va);
        w64(&mut f, at + 32, fs);
        w64(&mut f, at + 40, ms);
        w64(&mut f, at + 48, al);
    }
    f[0x300..0x30c].copy_from_slice(b"/lib/ld.so\0\0");
    f
}

fn bases() -> Vec<Vec<u8>> {
    let mut v = vec![synthetic_elf()];
    // Real binaries of this machine, when present.
    for p in ["/bin/true", "/usr/bin/env"] {
        if let Ok(b) = std::fs::read(p) {
            v.push(b);
        }
    }
    v
}

/// Loads `bytes` as a program (and, if it names one, as its own interpreter) in a fresh
/// model; returns whether the exec succeeded.
fn exec_in_model(bytes: &[u8]) -> bool {
    let Ok(image) = loader::parse(bytes) else { return false };
    let mut k = Kernel::new(Config { ram_bytes: 64 << 20, ..Config::default() });
    let file = k.create_file("/prog", bytes);
    let mut req = ExecRequest::new("/prog", ExecFile { file, image: image.clone() }).args(["prog", "-x"]).env(["A=1"]);
    if image.interp.is_some() {
        match loader::parse_interpreter(bytes) {
            Ok(i) => req.interp = Some(ExecFile { file, image: i }),
            Err(e) => {
                assert_ne!(e.errno(loader::Role::Interpreter) as i32, 0);
                return false;
            }
        }
    }
    let pid = k.spawn_empty("fuzz").unwrap();
    let ok = k.execve(pid, &req).is_ok();
    mm::invariants::check_kernel(&k);
    if ok {
        // A fresh image can be torn down again without leaking anything.
        k.exit(pid, 0).unwrap();
        mm::invariants::check_kernel(&k);
    }
    ok
}

#[test]
fn unmodified_inputs_parse_and_load() {
    let s = synthetic_elf();
    let img = loader::parse(&s).unwrap();
    assert_eq!(img.segments.len(), 3);
    assert_eq!(img.interp.as_deref(), Some("/lib/ld.so"));
    assert_eq!(img.relro, Some((0x3e00, 0x200)));
    assert!(exec_in_model(&s));
}

#[test]
fn a_good_share_of_light_mutations_still_loads() {
    // A deterministic sweep of one- and two-byte changes in the headers: the model must
    // load many of them (so the property below exercises execve, not just the parser).
    let base = synthetic_elf();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let (mut loaded, total) = (0, 400);
    for _ in 0..total {
        let mut b = base.clone();
        for _ in 0..1 + next() % 2 {
            let at = (next() % 456) as usize;
            b[at] = next() as u8;
        }
        loaded += usize::from(exec_in_model(&b));
    }
    assert!(loaded * 4 > total, "only {loaded} of {total} mutated files loaded");
}

proptest! {
    #[test]
    fn mutated_elf_files_never_panic(
        which in 0usize..3,
        muts in prop::collection::vec((0usize..1024, any::<u8>()), 0..12),
        wide in prop::collection::vec((0usize..8192, any::<u8>()), 0..4),
        cut in prop::option::of(0usize..0x4000),
    ) {
        let bases = bases();
        let mut bytes = bases[which % bases.len()].clone();
        // Most mutations hit the headers, where the loader looks.
        for (at, v) in muts.into_iter().chain(wide) {
            if at < bytes.len() {
                bytes[at] = v;
            }
        }
        if let Some(n) = cut {
            bytes.truncate(n);
        }
        let _ = loader::parse_interpreter(&bytes);
        exec_in_model(&bytes);
    }

    #[test]
    fn arbitrary_bytes_are_not_elf(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if !bytes.starts_with(b"\x7fELF") {
            prop_assert_eq!(loader::parse(&bytes), Err(loader::LoadError::NotElf));
        }
    }
}
