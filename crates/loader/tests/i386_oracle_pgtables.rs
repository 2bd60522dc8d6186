//! Page-table pages of native i386 processes against the i386 oracle: what the pgtables probe
//! (scripts/i386-oracle/pgtables.c) printed on Debian's 6.1 686 (two-level tables, 4 MiB per
//! PTE table) and 686-pae (three-level, 2 MiB per PTE table, five PMDs preallocated) kernels,
//! made again in the model, call for call:
//!
//! * **exact**: `VmPTE` after each step (start-up, fork, a densely touched 16 MiB mapping, one
//!   page touched every 4 MiB of 64 MiB and every 2 MiB of 32 MiB, partial and whole
//!   munmaps), the child's `VmPTE` after fork, every address mmap returned, and how much
//!   `/proc/meminfo`'s `PageTables` moved between steps (the guest's absolute value also holds
//!   its shell's tables and the kernel's own, which the model does not run);
//! * the probe folds the per-CPU vmstat batches (`/proc/sys/vm/stat_refresh`) before each
//!   reading, so the guest's `PageTables` is exact, not batched.

mod i386_common;

use i386_common::*;

/// One reading of the probe: step name, meminfo `PageTables` kB, `VmPTE` kB.
type Reading = (String, u64, u64);

struct Probe {
    readings: Vec<Reading>,
    child_vmpte: u64,
    mmaps: Vec<(String, u64, u64)>,
}

fn parse(text: &str) -> Probe {
    let mut p = Probe { readings: Vec::new(), child_vmpte: 0, mmaps: Vec::new() };
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
        match f.as_slice() {
            ["child", "VmPTE", kb] => p.child_vmpte = kb.parse().unwrap(),
            ["mmap", name, len, addr] => p.mmaps.push((name.to_string(), hex(len), hex(addr))),
            [step, "PageTables", pt, "VmPTE", vmpte] => {
                p.readings.push((step.to_string(), pt.parse().unwrap(), vmpte.parse().unwrap()))
            }
            _ => panic!("unexpected line {line:?}"),
        }
    }
    p
}

fn kb_field(text: &str, key: &str) -> u64 {
    let line = text.lines().find(|l| l.starts_with(&format!("{key}:"))).expect(key);
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn reading(k: &Kernel, pid: Pid, step: &str) -> Reading {
    let meminfo = procfs::meminfo(k);
    let status = procfs::status(k, pid).unwrap();
    (step.to_string(), kb_field(&meminfo, "PageTables"), kb_field(&status, "VmPTE"))
}

fn touch(k: &mut Kernel, pid: Pid, start: u64, len: u64, step: u64) {
    for off in (0..len).step_by(step as usize) {
        k.store(pid, start + off, &[1]).unwrap();
    }
}

#[test]
fn page_table_pages_follow_the_i386_geometries() {
    for (flavour, arch) in FLAVOURS {
        let guest = parse(&golden(flavour, "pgtables.txt"));
        let image = loader::parse(&program_bytes("pgtables")).unwrap();
        let (mut k, pid) = exec_as(arch, "pgtables", "/pgtables", &["/pgtables"], (0, 2, 6));
        // Start-up: the text runs, glibc's static start (TLS and malloc's brk, RELRO), and
        // every system call goes through the vDSO's __kernel_vsyscall.
        k.exec_at(pid, image.entry).unwrap();
        // glibc protects the RELRO segment's whole pages (_dl_protect_relro rounds both ends down).
        let (relro, relro_len) = image.relro.expect("a RELRO segment");
        let relro_start = relro & !0xfff;
        static_glibc_start(&mut k, pid, (relro_start, ((relro + relro_len) & !0xfff) - relro_start));
        let vdso =
            k.mm(pid).unwrap().vmas.iter().find(|v| v.special.is_some_and(|s| s.name() == "[vdso]")).unwrap().start;
        k.exec_at(pid, vdso).unwrap();

        let mut model = vec![reading(&k, pid, "start")];
        let child = k.fork(pid).unwrap();
        let child_vmpte = kb_field(&procfs::status(&k, child).unwrap(), "VmPTE");
        model.push(reading(&k, pid, "child-alive"));
        k.exit(child, 0).unwrap();
        k.reap(child).unwrap();
        model.push(reading(&k, pid, "child-gone"));

        let mut mapped = Vec::new();
        let mut map = |k: &mut Kernel, name: &str, len: u64| {
            let a = k.mmap(pid, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).unwrap();
            mapped.push((name.to_string(), len, a));
            a
        };
        let dense = map(&mut k, "dense", 16 << 20);
        touch(&mut k, pid, dense, 16 << 20, 4096);
        model.push(reading(&k, pid, "dense-16M-touched"));
        let sparse4 = map(&mut k, "sparse4", 64 << 20);
        touch(&mut k, pid, sparse4, 64 << 20, 4 << 20);
        model.push(reading(&k, pid, "sparse-64M-every-4M"));
        let sparse2 = map(&mut k, "sparse2", 32 << 20);
        touch(&mut k, pid, sparse2, 32 << 20, 2 << 20);
        model.push(reading(&k, pid, "sparse-32M-every-2M"));
        k.munmap(pid, dense, 16 << 20).unwrap();
        model.push(reading(&k, pid, "dense-unmapped"));
        k.munmap(pid, sparse4 + (4 << 20), 60 << 20).unwrap();
        model.push(reading(&k, pid, "sparse4-but-first-unmapped"));
        k.munmap(pid, sparse4, 4 << 20).unwrap();
        k.munmap(pid, sparse2, 32 << 20).unwrap();
        model.push(reading(&k, pid, "all-unmapped"));
        mm::invariants::check_kernel(&k);

        assert_eq!(mapped, guest.mmaps, "{flavour}: mmap addresses");
        assert_eq!(child_vmpte, guest.child_vmpte, "{flavour}: the child's VmPTE after fork");
        let steps = |r: &[Reading]| r.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
        assert_eq!(steps(&model), steps(&guest.readings), "{flavour}: the same steps");
        for (m, g) in model.iter().zip(&guest.readings) {
            assert_eq!(m.2, g.2, "{flavour}: VmPTE at {}", g.0);
            let moved = |r: &Reading, first: &Reading| r.1 as i64 - first.1 as i64;
            assert_eq!(
                moved(m, &model[0]),
                moved(g, &guest.readings[0]),
                "{flavour}: PageTables moved by as much at {}",
                g.0
            );
        }
    }
}
