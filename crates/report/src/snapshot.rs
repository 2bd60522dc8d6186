//! Exact snapshots of the model: every process, its VMAs with the state of each page read
//! from its page tables, the upper levels of those tables (for the page-table walk), and the
//! frames address spaces share.
//!
//! [`space`] takes one address space, [`sharing`] counts the frames each pair of address
//! spaces maps, [`vma_kind`] names what a VMA is for the drawing's colours.

use crate::model::{PageRun, PageState, Sharing, Space, VmaView};
use mm::frame::{PageFlags, Pfn};
use mm::kernel::RssKind;
use mm::pgtable::{self, Pte, PteFlags};
use mm::vma::{Special, Vma};
use mm::{Kernel, Mm, Pid, VmFlags};
use std::collections::HashMap;

/// The address space of process `pid` (names like `[heap]` depend on the address space, the
/// status lines on the process); `intern` stores each VMA and returns its index.
pub fn space(k: &Kernel, pid: Pid, mut intern: impl FnMut(VmaView) -> u32) -> Option<Space> {
    let mm = k.mm(pid).ok()?;
    let mut vmas = Vec::with_capacity(mm.map_count());
    let mut prev: Option<&Vma> = None;
    for v in mm.vmas.iter() {
        vmas.push(intern(vma_view(k, mm, v, prev)));
        prev = Some(v);
    }
    let status = procfs::status(k, pid)
        .map(|text| {
            text.lines()
                .filter_map(|l| {
                    let (name, rest) = l.split_once(':')?;
                    let kb = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
                    Some((name.to_string(), kb))
                })
                .collect()
        })
        .unwrap_or_default();
    let (root, tables) = upper_tables(k, mm.pgd);
    Some(Space { vmas, pgd: root.as_u64(), tables, status })
}

/// One VMA with its pages; `prev` is the VMA just below it (a bss follows its data).
fn vma_view(k: &Kernel, mm: &Mm, v: &Vma, prev: Option<&Vma>) -> VmaView {
    let (offset, dev, ino) = match v.file {
        Some(f) => {
            let file = k.file(f.file);
            (v.pgoff << 12, format!("{:02x}:{:02x}", file.major, file.minor), file.ino)
        }
        None => (0, "00:00".to_string(), 0),
    };
    let name = procfs::vma_name(k, mm, v).unwrap_or_default();
    VmaView {
        start: v.start,
        end: v.end,
        perms: String::from_utf8_lossy(&v.flags.perms()).into_owned(),
        offset,
        dev,
        ino,
        kind: vma_kind(v, &name, prev),
        name,
        locked: v.flags.contains(VmFlags::LOCKED),
        runs: page_runs(k, mm, v),
    }
}

/// What a VMA is, for its colour: `vdso` (vDSO and vvar), `stack`, `heap`, `guard` (no
/// access at all), `shared` (MAP_SHARED, file or anonymous), `text` (file, executable),
/// `data` (file, private and writable), `file` (other file mappings), `bss` (anonymous,
/// right after a data mapping), `anon`.
pub fn vma_kind(v: &Vma, name: &str, prev: Option<&Vma>) -> &'static str {
    let f = v.flags;
    if matches!(v.special, Some(Special::Vdso | Special::Vvar | Special::VvarVclock)) {
        return "vdso";
    }
    match name {
        "[stack]" => return "stack",
        "[heap]" => return "heap",
        _ => {}
    }
    if !f.intersects(VmFlags::READ | VmFlags::WRITE | VmFlags::EXEC) {
        return "guard";
    }
    if f.intersects(VmFlags::SHARED | VmFlags::MAYSHARE) {
        return "shared";
    }
    if v.file.is_some() {
        return if f.contains(VmFlags::EXEC) {
            "text"
        } else if f.contains(VmFlags::WRITE) {
            "data"
        } else {
            "file"
        };
    }
    let after_data = prev.is_some_and(|p| {
        p.end == v.start && p.file.is_some() && p.flags.contains(VmFlags::WRITE) && !p.flags.contains(VmFlags::SHARED)
    });
    if after_data {
        "bss"
    } else {
        "anon"
    }
}

/// The pages of `v` that have a page-table entry, in runs of the same state over
/// consecutive frames, read from the leaf tables.
fn page_runs(k: &Kernel, mm: &Mm, v: &Vma) -> Vec<PageRun> {
    let frames = &k.machine().frames;
    let zero = frames.zero_pfn();
    let shared_vma = v.flags.intersects(VmFlags::SHARED | VmFlags::MAYSHARE);
    let mut runs: Vec<PageRun> = Vec::new();
    let span = pgtable::leaf_span(frames);
    for (base, table) in pgtable::leaf_tables(frames, mm.pgd, v.start, v.end) {
        let entries = frames.table(table);
        let (lo, hi) = (v.start.max(base), v.end.min(base + span));
        for va in (lo..hi).step_by(4096) {
            let pte = Pte(entries[((va - base) >> 12) as usize]);
            if pte.is_none() {
                continue;
            }
            let page = (va - v.start) >> 12;
            let (state, pfn, count, locked) = if pte.mapped() {
                let pfn = pte.pfn();
                let meta = frames.meta(pfn);
                let locked = v.flags.contains(VmFlags::LOCKED) || meta.flags.contains(PageFlags::MLOCKED);
                let state = if pfn == zero {
                    PageState::Zero
                } else if meta.mapcount > 1 {
                    if shared_vma {
                        PageState::Shared
                    } else {
                        PageState::Cow
                    }
                } else if pte.dirty() || meta.flags.contains(PageFlags::DIRTY) {
                    PageState::Dirty
                } else {
                    PageState::Clean
                };
                (state, pfn.as_u64() as i64, meta.mapcount, locked)
            } else {
                (PageState::Swapped, -1, 0, false)
            };
            if let Some(last) = runs.last_mut() {
                let next_pfn = if last.3 < 0 { -1 } else { last.3 + last.1 as i64 };
                let same_flags = Pte(u64::from_str_radix(&last.6, 16).unwrap_or(0)).flags() == pte.flags();
                if last.0 + last.1 == page
                    && last.2 == state
                    && next_pfn == pfn
                    && last.4 == count
                    && last.5 == locked
                    && same_flags
                    && state != PageState::Swapped
                {
                    last.1 += 1;
                    continue;
                }
            }
            runs.push((page, 1, state, pfn, count, locked, format!("{:x}", pte.0)));
        }
    }
    runs
}

/// The walk's root table and the set entries of every table above the PTE level, in the
/// kernel profile's page-table geometry, as stored: (the table's height above the PTE
/// tables: 3 = PGD of x86-64 ... 1 = the level pointing at PTE tables; first address
/// covered; the entry in hex, as wide as the geometry's entries: without PAE the four bytes
/// the i386 MMU reads).
fn upper_tables(k: &Kernel, pgd: Pfn) -> (Pfn, Vec<(u8, u64, String)>) {
    let frames = &k.machine().frames;
    let geometry = frames.page_table_geometry();
    let mask = if geometry.leaf().entry_bytes == 4 { 0xffff_ffff } else { u64::MAX };
    let mut out = Vec::new();
    let mut stack = vec![(pgd, geometry.depth() - 1, 0u64)];
    while let Some((table, height, base)) = stack.pop() {
        let level = geometry.table_level(height);
        for (i, &e) in frames.table(table)[..level.entries() as usize].iter().enumerate() {
            let pte = Pte(e);
            if !pte.flags().contains(PteFlags::PRESENT) {
                continue;
            }
            let va = base + i as u64 * level.entry_span();
            out.push((height as u8, va, format!("{:x}", e & mask)));
            if height > 1 {
                stack.push((pte.pfn(), height - 1, va));
            }
        }
    }
    out.sort_by_key(|&(height, va, _)| (std::cmp::Reverse(height), va));
    (pgd, out)
}

/// The frames each pair of address spaces both map, by kind (anonymous copy-on-write, file
/// page cache, shared memory); `spaces` names each address space (its number in the page)
/// by one process using it. The zero page is not counted.
pub fn sharing(k: &Kernel, spaces: &[(usize, Pid)]) -> Vec<Sharing> {
    let frames = &k.machine().frames;
    let zero = frames.zero_pfn();
    let mut owners: HashMap<Pfn, Vec<usize>> = HashMap::new();
    for &(id, pid) in spaces {
        let Ok(mm) = k.mm(pid) else { continue };
        for v in mm.vmas.iter() {
            for slot in pgtable::mapped_ptes(frames, mm.pgd, v.start, v.end) {
                let pfn = slot.pte.pfn();
                if pfn == zero || frames.meta(pfn).mapcount < 2 {
                    continue;
                }
                let list = owners.entry(pfn).or_default();
                if list.last() != Some(&id) {
                    list.push(id);
                }
            }
        }
    }
    let mut pairs: HashMap<(usize, usize), Sharing> = HashMap::new();
    for (pfn, list) in owners {
        let mut list = list;
        list.sort_unstable();
        list.dedup();
        if list.len() < 2 {
            continue;
        }
        let kind = k.machine().rss_kind(pfn);
        for (i, &a) in list.iter().enumerate() {
            for &b in &list[i + 1..] {
                let s = pairs.entry((a, b)).or_insert(Sharing { mm_a: a, mm_b: b, cow: 0, file: 0, shmem: 0 });
                match kind {
                    RssKind::Anon => s.cow += 1,
                    RssKind::File => s.file += 1,
                    RssKind::Shmem => s.shmem += 1,
                }
            }
        }
    }
    let mut out: Vec<Sharing> = pairs.into_values().collect();
    out.sort_by_key(|s| (s.mm_a, s.mm_b));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mm::{Config, Kernel};

    const RW: u64 = 3;
    const PRIVATE_ANON: u64 = 0x22;

    fn keep(all: &mut Vec<VmaView>) -> impl FnMut(VmaView) -> u32 + '_ {
        |v| {
            all.push(v);
            all.len() as u32 - 1
        }
    }

    fn machine() -> (Kernel, Pid) {
        let mut k = Kernel::new(Config::default());
        let p = k.spawn_empty("a").unwrap();
        (k, p)
    }

    #[test]
    fn pages_show_zero_dirty_and_not_present_from_the_page_table() {
        let (mut k, p) = machine();
        let a = k.mmap(p, 0, 4 << 12, RW, PRIVATE_ANON, -1, 0).unwrap();
        k.load(p, a, 1).unwrap();
        k.store(p, a + 2 * 4096, &[1]).unwrap();
        let mut all = Vec::new();
        let s = space(&k, p, keep(&mut all)).unwrap();
        let v = &all[s.vmas[0] as usize];
        assert_eq!(v.kind, "anon");
        let states: Vec<(u64, u64, PageState)> = v.runs.iter().map(|r| (r.0, r.1, r.2)).collect();
        assert_eq!(states, vec![(0, 1, PageState::Zero), (2, 1, PageState::Dirty)]);
        assert!(s.tables.iter().any(|t| t.0 == 3), "the PGD entry is listed");
        assert!(s.tables.iter().any(|t| t.0 == 1), "the PMD entry is listed");
        assert!(s.status.iter().any(|(n, kb)| n == "VmSize" && *kb == 16));
    }

    #[test]
    fn fork_shares_anonymous_pages_until_a_write_copies_one() {
        let (mut k, p) = machine();
        let a = k.mmap(p, 0, 3 << 12, RW, PRIVATE_ANON, -1, 0).unwrap();
        for i in 0..3 {
            k.store(p, a + i * 4096, &[1]).unwrap();
        }
        let c = k.fork(p).unwrap();
        let ids = [(0, p), (1, c)];
        let shared = sharing(&k, &ids);
        assert_eq!(shared.len(), 1);
        assert_eq!(shared[0].cow, 3);
        let mut all = Vec::new();
        let child = space(&k, c, keep(&mut all)).unwrap();
        let v = &all[child.vmas[0] as usize];
        assert_eq!(v.runs[0].2, PageState::Cow);
        assert_eq!(v.runs[0].4, 2, "mapped by two");
        k.store(c, a, &[2]).unwrap();
        assert_eq!(sharing(&k, &ids)[0].cow, 2);
    }

    #[test]
    fn an_inaccessible_mapping_is_a_guard() {
        let (mut k, p) = machine();
        k.mmap(p, 0, 4096, 0, PRIVATE_ANON, -1, 0).unwrap();
        let mut all = Vec::new();
        space(&k, p, keep(&mut all)).unwrap();
        assert_eq!(all[0].kind, "guard");
    }
}

#[cfg(test)]
mod i386_tests {
    use super::*;
    use mm::kalloc::KernelArch;
    use mm::{Config, Kernel};

    /// A process of `arch` with 8 MiB mapped at 4 MiB and its first page and the page 2 MiB
    /// in touched.
    fn touched(arch: KernelArch) -> (Kernel, Pid) {
        let mut k = Kernel::new(Config::default().with_kernel_arch(arch));
        let p = k.spawn_empty("a").unwrap();
        let a = k.mmap(p, 0x40_0000, 8 << 20, 3, 0x22 | 0x10, -1, 0).unwrap();
        k.store(p, a, &[1]).unwrap();
        k.store(p, a + (2 << 20), &[1]).unwrap();
        (k, p)
    }

    #[test]
    fn without_pae_one_directory_entry_points_at_the_4_mib_pte_table() {
        let (k, p) = touched(KernelArch::I386);
        let (root, tables) = upper_tables(&k, k.mm(p).unwrap().pgd);
        assert_eq!(root, k.mm(p).unwrap().pgd);
        assert_eq!(tables.len(), 1, "{tables:x?}");
        let (level, va, entry) = &tables[0];
        assert_eq!((*level, *va), (1, 0x40_0000));
        assert!(entry.len() <= 8, "a four-byte entry: {entry}");
        // Both touched pages are in that one table of 1024 entries.
        let pte_table = Pfn::new(u64::from_str_radix(entry, 16).unwrap() >> 12);
        let entries = k.machine().frames.table(pte_table);
        assert_eq!(entries.len(), 1024);
        assert_eq!(entries.iter().filter(|&&e| e != 0).count(), 2);
        assert_ne!(entries[512], 0, "the page 2 MiB in is entry 512");
    }

    #[test]
    fn with_pae_the_pdpt_has_its_four_preallocated_entries() {
        let (k, p) = touched(KernelArch::I386Pae);
        let (root, tables) = upper_tables(&k, k.mm(p).unwrap().pgd);
        assert_eq!(root, k.mm(p).unwrap().pgd, "the PDPT is the root");
        let pdpt: Vec<_> = tables.iter().filter(|t| t.0 == 2).map(|t| t.1).collect();
        assert_eq!(pdpt, vec![0, 1 << 30, 2 << 30, 3 << 30]);
        let pmd: Vec<u64> = tables.iter().filter(|t| t.0 == 1).map(|t| t.1).collect();
        assert_eq!(pmd, vec![0x40_0000, 0x60_0000]);
    }
}
