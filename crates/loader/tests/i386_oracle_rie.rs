//! READ_IMPLIES_EXEC on the i386 oracle: scripts/i386-oracle/rie.c run on Debian's 6.1 686 and
//! 686-pae kernels, built three ways (PT_GNU_STACK without PF_X, with PF_X, and without
//! PT_GNU_STACK), the last exec'ing the first. The model execs the same headers, makes the
//! probe's calls (glibc's static start-up; a PROT_READ mmap, a PROT_READ|PROT_WRITE one with
//! its first page mprotect'ed to PROT_READ, a PROT_NONE one mprotect'ed to PROT_READ, sbrk of
//! 64 KiB) and compares, exactly: the personality word (`/proc/PID/personality`), the
//! addresses the probe printed and every maps line. What the guest shows: a 32-bit program
//! without PT_GNU_STACK gets READ_IMPLIES_EXEC (every readable mapping executable: the
//! program's segments, which then merge, the RELRO after its mprotect, the anonymous
//! mappings, the bss and the heap, the stack; `[vvar]` stays `r--`), keeps it across an
//! exec of a program that has PT_GNU_STACK (whose stack is then not executable), and an
//! executable stack alone (`-z execstack`) makes only the stack executable.

mod i386_common;

use i386_common::*;

/// What one run of the probe printed.
struct Run {
    personality: u64,
    proc_personality: String,
    /// r, rw, none, brk.
    addresses: Vec<u64>,
    maps: String,
}

/// The runs of a golden file: the program's own and, after `--- exec`, the exec'd one's.
fn parse(text: &str) -> Vec<Run> {
    text.split("--- exec\n")
        .map(|part| {
            let mut lines = part.lines();
            let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
            let personality = hex(lines.next().unwrap().strip_prefix("personality ").unwrap());
            let proc_personality = lines.next().unwrap().strip_prefix("proc-personality ").unwrap().to_string();
            let words: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
            let addresses = words.chunks(2).map(|w| hex(w[1])).collect();
            assert_eq!(lines.next(), Some("--- maps"));
            let maps = lines.map(|l| format!("{l}\n")).collect();
            Run { personality, proc_personality, addresses, maps }
        })
        .collect()
}

/// The probe's calls after exec, in the model; returns the run as the model shows it.
fn probe(k: &mut Kernel, pid: Pid, name: &str) -> Run {
    let image = loader::parse(&program_bytes(name)).unwrap();
    k.exec_at(pid, image.entry).unwrap();
    let (relro, relro_len) = image.relro.expect("a RELRO segment");
    let relro_start = relro & !0xfff;
    static_glibc_start(k, pid, (relro_start, ((relro + relro_len) & !0xfff) - relro_start));
    let personality = k.personality(pid, 0xffff_ffff).unwrap();
    let proc_personality = procfs::personality(k, pid).unwrap().trim_end().to_string();
    let anon = MAP_PRIVATE | MAP_ANONYMOUS;
    let r = k.mmap(pid, 0, 4096, PROT_READ, anon, -1, 0).unwrap();
    let rw = k.mmap(pid, 0, 8192, PROT_READ | PROT_WRITE, anon, -1, 0).unwrap();
    k.mprotect(pid, rw, 4096, PROT_READ).unwrap();
    let none = k.mmap(pid, 0, 4096, 0, anon, -1, 0).unwrap();
    k.mprotect(pid, none, 4096, PROT_READ).unwrap();
    let cur = k.brk(pid, 0).unwrap();
    let brk = k.brk(pid, cur + 65536).unwrap();
    Run { personality, proc_personality, addresses: vec![r, rw, none, brk], maps: maps(k, pid) }
}

fn compare(flavour: &str, what: &str, model: &Run, guest: &Run) {
    assert_eq!(model.personality, guest.personality, "{flavour} {what}: personality");
    assert_eq!(model.proc_personality, guest.proc_personality, "{flavour} {what}: /proc/PID/personality");
    assert_eq!(model.addresses, guest.addresses, "{flavour} {what}: r, rw, none, brk");
    assert_eq!(model.maps, guest.maps, "{flavour} {what}: maps");
}

#[test]
fn a_program_with_pt_gnu_stack_gets_no_read_implies_exec() {
    for (flavour, arch) in FLAVOURS {
        let guest = parse(&golden(flavour, "rie.txt"));
        let (mut k, pid) = exec(arch, "rie", "/rie", &["/rie"], &guest[0].maps);
        compare(flavour, "rie", &probe(&mut k, pid, "rie"), &guest[0]);
        mm::invariants::check_kernel(&k);
    }
}

#[test]
fn an_executable_stack_alone_makes_only_the_stack_executable() {
    for (flavour, arch) in FLAVOURS {
        let guest = parse(&golden(flavour, "rie-execstack.txt"));
        let (mut k, pid) = exec(arch, "rie-execstack", "/rie-execstack", &["/rie-execstack"], &guest[0].maps);
        compare(flavour, "rie-execstack", &probe(&mut k, pid, "rie-execstack"), &guest[0]);
    }
}

#[test]
fn without_pt_gnu_stack_reads_imply_exec_and_the_flag_stays_across_exec() {
    for (flavour, arch) in FLAVOURS {
        let guest = parse(&golden(flavour, "rie-nostack.txt"));
        assert_eq!(guest.len(), 2, "the probe and the program it exec'd");
        let (mut k, pid) = exec(arch, "rie-nostack", "/rie-nostack", &["/rie-nostack", "/rie"], &guest[0].maps);
        compare(flavour, "rie-nostack", &probe(&mut k, pid, "rie-nostack"), &guest[0]);
        // The exec of /rie (PT_GNU_STACK without PF_X) from it.
        let bytes = program_bytes("rie");
        let image = loader::parse(&bytes).unwrap();
        let (major, minor, ino) = identity(&guest[1].maps, "/rie");
        let file = k.import_file("/rie", major, minor, ino, bytes.into());
        k.execve(pid, &ExecRequest::new("/rie", ExecFile { file, image }).args(["/rie"])).unwrap();
        compare(flavour, "rie exec'd by rie-nostack", &probe(&mut k, pid, "rie"), &guest[1]);
        mm::invariants::check_kernel(&k);
    }
}
