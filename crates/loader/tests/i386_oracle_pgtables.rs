//! Page-table pages of native i386 processes against the i386 oracle: what the pgtables probe
//! (scripts/i386-oracle/pgtables.c) printed on Debian's 6.1 686 (two-level tables, 4 MiB per
//! PTE table) and 686-pae (three-level, 2 MiB per PTE table, five PMDs preallocated) kernels,
//! made again in the model, call for call:
//!
//! * **exact**: `VmPTE` after each step (start-up, fork, a densely touched 16 MiB mapping, one
//!   page touched every 4 MiB of 64 MiB and every 2 MiB of 32 MiB, partial and whole
//!   munmaps), then the three cases where a two-level table (4 MiB) and the 2 MiB halves a
//!   wrong geometry would keep part ways: unmapping the half that held a table's only page
//!   (the table stays, its other half still mapped), fork copying a private mapping that owns
//!   only a table's empty half (the child gets the table), and mremap moving that empty half
//!   (the destination gets a table); the children's `VmPTE` after each fork, every address
//!   mmap and mremap returned, and how much
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
    children: Vec<(String, u64)>,
    mmaps: Vec<(String, u64, u64)>,
}

fn parse(text: &str) -> Probe {
    let mut p = Probe { readings: Vec::new(), children: Vec::new(), mmaps: Vec::new() };
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
        match f.as_slice() {
            [who, "VmPTE", kb] => p.children.push((who.to_string(), kb.parse().unwrap())),
            [call @ ("mmap" | "mremap"), name, len, addr] => {
                p.mmaps.push((format!("{call} {name}"), hex(len), hex(addr)))
            }
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

const MIB4: u64 = 4 << 20;
const MIB2: u64 = 2 << 20;
const MAP_SHARED: u64 = 1;
const MAP_FIXED: u64 = 0x10;
const MREMAP_MAYMOVE: u64 = 1;
const MREMAP_FIXED: u64 = 2;

/// The first 4 MiB boundary at or above `a`.
fn up4(a: u64) -> u64 {
    (a + MIB4 - 1) & !(MIB4 - 1)
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
        let mut children = Vec::new();
        let child = k.fork(pid).unwrap();
        children.push(("child".to_string(), kb_field(&procfs::status(&k, child).unwrap(), "VmPTE")));
        model.push(reading(&k, pid, "child-alive"));
        k.exit(child, 0).unwrap();
        k.reap(child).unwrap();
        model.push(reading(&k, pid, "child-gone"));

        let mut mapped = Vec::new();
        let mut map_at = |k: &mut Kernel, name: &str, at: u64, len: u64, prot: u64, flags: u64| {
            let a = k.mmap(pid, at, len, prot, flags | MAP_ANONYMOUS, -1, 0).unwrap();
            mapped.push((format!("mmap {name}"), len, a));
            a
        };
        let mut map =
            |k: &mut Kernel, name: &str, len: u64| map_at(k, name, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE);
        let dense = map(&mut k, "dense", 16 << 20);
        touch(&mut k, pid, dense, 16 << 20, 4096);
        model.push(reading(&k, pid, "dense-16M-touched"));
        let free_before = kb_field(&procfs::meminfo(&k), "MemFree");
        let sparse4 = map(&mut k, "sparse4", 64 << 20);
        touch(&mut k, pid, sparse4, 64 << 20, 4 << 20);
        model.push(reading(&k, pid, "sparse-64M-every-4M"));
        // The frames are the geometry's tables: 16 pages touched and a PTE table for each
        // (one page each, whether it maps 4 MiB or 2 MiB), as much as PageTables rose.
        let free_after = kb_field(&procfs::meminfo(&k), "MemFree");
        let tables_kb = model[model.len() - 1].1 - model[model.len() - 2].1;
        assert_eq!((tables_kb, free_before - free_after), (16 * 4, 16 * 4 + tables_kb), "{flavour}: MemFree");
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

        // Half an unmapped table.
        let m = map(&mut k, "half", 12 << 20);
        let x = up4(m) + MIB4;
        touch(&mut k, pid, x + MIB2, 1, 1);
        model.push(reading(&k, pid, "half-upper-touched"));
        k.munmap(pid, x + MIB2, MIB2).unwrap();
        model.push(reading(&k, pid, "half-upper-unmapped"));
        k.munmap(pid, m, 12 << 20).unwrap();
        model.push(reading(&k, pid, "half-all-unmapped"));
        mm::invariants::check_kernel(&k);

        // A private mapping owning only a table's empty half: fork, then mremap that half.
        let m = map(&mut k, "split", 12 << 20);
        let x = up4(m) + MIB4;
        map_at(&mut k, "split-shared", x + MIB2, MIB2, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED);
        touch(&mut k, pid, x - 4096, 1, 1);
        touch(&mut k, pid, x + MIB2, 1, 1);
        model.push(reading(&k, pid, "split-touched"));
        let child = k.fork(pid).unwrap();
        children.push(("child-of-split".to_string(), kb_field(&procfs::status(&k, child).unwrap(), "VmPTE")));
        mm::invariants::check_kernel(&k);
        k.exit(child, 0).unwrap();
        k.reap(child).unwrap();
        model.push(reading(&k, pid, "split-child-gone"));
        let r = map_at(&mut k, "reserve", 0, 8 << 20, 0, MAP_PRIVATE);
        let moved = k.mremap(pid, x, MIB2, MIB2, MREMAP_MAYMOVE | MREMAP_FIXED, up4(r)).unwrap();
        mapped.push(("mremap split-lower".to_string(), MIB2, moved));
        model.push(reading(&k, pid, "split-lower-moved"));
        k.munmap(pid, m, 12 << 20).unwrap();
        k.munmap(pid, x + MIB2, MIB2).unwrap();
        k.munmap(pid, r, 8 << 20).unwrap();
        model.push(reading(&k, pid, "split-all-unmapped"));
        mm::invariants::check_kernel(&k);

        assert_eq!(mapped, guest.mmaps, "{flavour}: mmap and mremap addresses");
        assert_eq!(children, guest.children, "{flavour}: the children's VmPTE after each fork");
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
