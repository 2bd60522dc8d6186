//! `/proc/PID/smaps` and `smaps_rollup`: per-VMA residency computed page by page the way
//! smaps_account does it.

use crate::maps::header;
use mm::flags::VmFlags;
use mm::frame::{Owner, PageFlags};
use mm::pgtable::{self, Pte, PteFlags};
use mm::vma::Vma;
use mm::{Kernel, Mm, Pid, SysResult};
use std::fmt::Write;

/// Residency of a range, in bytes (Pss values in bytes << 12, as Linux keeps them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemUsage {
    /// Resident bytes.
    pub rss: u64,
    /// Proportional set size << 12.
    pub pss: u64,
    /// Dirty part of pss << 12.
    pub pss_dirty: u64,
    /// Anonymous part of pss << 12.
    pub pss_anon: u64,
    /// File part of pss << 12.
    pub pss_file: u64,
    /// Shmem part of pss << 12.
    pub pss_shmem: u64,
    /// Clean pages mapped elsewhere too.
    pub shared_clean: u64,
    /// Dirty pages mapped elsewhere too.
    pub shared_dirty: u64,
    /// Clean pages mapped only here.
    pub private_clean: u64,
    /// Dirty pages mapped only here.
    pub private_dirty: u64,
    /// Recently accessed.
    pub referenced: u64,
    /// Anonymous.
    pub anonymous: u64,
    /// Pss of locked pages << 12.
    pub pss_locked: u64,
    /// Clean anonymous pages MADV_FREE made lazily freeable.
    pub lazyfree: u64,
    /// Bytes of swap PTEs.
    pub swap: u64,
    /// Swap shared among the slots' users, fixed point (PSS_SHIFT).
    pub swap_pss: u64,
}

impl MemUsage {
    fn add(&mut self, o: &MemUsage) {
        self.rss += o.rss;
        self.pss += o.pss;
        self.pss_dirty += o.pss_dirty;
        self.pss_anon += o.pss_anon;
        self.pss_file += o.pss_file;
        self.pss_shmem += o.pss_shmem;
        self.shared_clean += o.shared_clean;
        self.shared_dirty += o.shared_dirty;
        self.private_clean += o.private_clean;
        self.private_dirty += o.private_dirty;
        self.referenced += o.referenced;
        self.anonymous += o.anonymous;
        self.pss_locked += o.pss_locked;
        self.lazyfree += o.lazyfree;
        self.swap += o.swap;
        self.swap_pss += o.swap_pss;
    }
}

const PSS_SHIFT: u32 = 12;

/// Walks the PTEs of one VMA and sums what smaps shows.
pub fn vma_usage(k: &Kernel, mm: &Mm, v: &Vma) -> MemUsage {
    let mut u = MemUsage::default();
    let zero = k.machine().frames.zero_pfn();
    let locked = v.flags.contains(VmFlags::LOCKED);
    for (base, table) in pgtable::leaf_tables(&k.machine().frames, mm.pgd, v.start, v.end) {
        let lo = v.start.max(base);
        let hi = v.end.min(base + pgtable::leaf_span(&k.machine().frames));
        for va in (lo..hi).step_by(4096) {
            let pte = Pte(k.machine().frames.table(table)[((va - base) >> 12) as usize]);
            if let Some((e, _)) = mm::swap::SwapEntry::from_pte(pte) {
                // smaps_pte_entry: a slot named by n PTEs counts 1/n to each.
                u.swap += 4096;
                u.swap_pss += (4096u64 << PSS_SHIFT) / u64::from(k.machine().swap.count(e).max(1));
                continue;
            }
            if !pte.mapped() || pte.pfn() == zero {
                continue;
            }
            let meta = k.machine().frames.meta(pte.pfn());
            let anon = meta.owner == Owner::Anon;
            let size = 4096u64;
            let dirty = pte.dirty() || meta.flags.contains(PageFlags::DIRTY);
            let (pss, private) = if v.special.is_some() {
                // A vDSO page is mapped by every process of the machine that touched it
                // (see the pagemap module), hundreds of them: shared, its share below a
                // byte's worth of a kB (measured on 6.18: a random host-differential
                // script, seed 3602996, moved its only process's [vdso] with mremap and
                // read Shared_Clean 4 kB, Pss 0 kB there).
                (0, false)
            } else if meta.refcount == 1 || meta.mapcount < 2 {
                (size << PSS_SHIFT, true)
            } else {
                ((size << PSS_SHIFT) / meta.mapcount as u64, false)
            };
            u.rss += size;
            if pte.flags().contains(PteFlags::ACCESSED) || meta.flags.contains(PageFlags::REFERENCED) {
                u.referenced += size;
            }
            if anon {
                u.anonymous += size;
                u.pss_anon += pss;
                if !meta.flags.contains(PageFlags::SWAPBACKED) && !dirty {
                    u.lazyfree += size;
                }
            } else if meta.flags.contains(PageFlags::SWAPBACKED) {
                u.pss_shmem += pss;
            } else {
                u.pss_file += pss;
            }
            u.pss += pss;
            if dirty {
                u.pss_dirty += pss;
                if private {
                    u.private_dirty += size;
                } else {
                    u.shared_dirty += size;
                }
            } else if private {
                u.private_clean += size;
            } else {
                u.shared_clean += size;
            }
            if locked {
                u.pss_locked += pss;
            }
        }
    }
    u.swap += shmem_swap(k, mm, v);
    u
}

/// Bytes of the VMA's shmem object that are out on swap where the VMA maps nothing
/// (shmem_swap_usage, or the hole-by-hole count of a private writable mapping, whose COW
/// copies hide the object's pages). They count in Swap, not in SwapPss (the object, not
/// the process, holds the slot).
fn shmem_swap(k: &Kernel, mm: &Mm, v: &Vma) -> u64 {
    let Some(f) = v.file else { return 0 };
    let file = k.machine().file(f.file);
    let last = v.pgoff.saturating_add(v.pages());
    let holes = file
        .swapped
        .range(v.pgoff..last)
        .filter(|(&index, _)| {
            let va = v.start + ((index - v.pgoff) << 12);
            let pte = pgtable::lookup(&k.machine().frames, mm.pgd, va);
            !pte.mapped() && mm::swap::SwapEntry::from_pte(pte).is_none()
        })
        .count();
    holes as u64 * 4096
}

fn kb(s: &mut String, name: &str, bytes: u64) {
    let _ = writeln!(s, "{:<16}{:>8} kB", format!("{name}:"), bytes >> 10);
}

fn usage_lines(s: &mut String, k: &Kernel, u: &MemUsage, rollup: bool) {
    kb(s, "Rss", u.rss);
    kb(s, "Pss", u.pss >> PSS_SHIFT);
    kb(s, "Pss_Dirty", u.pss_dirty >> PSS_SHIFT);
    if rollup {
        kb(s, "Pss_Anon", u.pss_anon >> PSS_SHIFT);
        kb(s, "Pss_File", u.pss_file >> PSS_SHIFT);
        kb(s, "Pss_Shmem", u.pss_shmem >> PSS_SHIFT);
    }
    kb(s, "Shared_Clean", u.shared_clean);
    kb(s, "Shared_Dirty", u.shared_dirty);
    kb(s, "Private_Clean", u.private_clean);
    kb(s, "Private_Dirty", u.private_dirty);
    kb(s, "Referenced", u.referenced);
    kb(s, "Anonymous", u.anonymous);
    if k.config().smaps_ksm_line {
        kb(s, "KSM", 0);
    }
    kb(s, "LazyFree", u.lazyfree);
    kb(s, "AnonHugePages", 0);
    kb(s, "ShmemPmdMapped", 0);
    kb(s, "FilePmdMapped", 0);
    kb(s, "Shared_Hugetlb", 0);
    kb(s, "Private_Hugetlb", 0);
    kb(s, "Swap", u.swap);
    kb(s, "SwapPss", u.swap_pss >> PSS_SHIFT);
    kb(s, "Locked", u.pss_locked >> PSS_SHIFT);
}

/// Whether THP could back this VMA (the THPeligible line): anonymous memory the THP mode
/// allows (VM_HUGEPAGE in madvise mode, anything but VM_NOHUGEPAGE in always mode) with room
/// for an aligned 2 MiB page, in an address space that did not disable THP.
fn thp_eligible(k: &Kernel, mm: &Mm, v: &Vma) -> bool {
    if mm.thp_disabled {
        return false;
    }
    use mm::ThpMode;
    let mode_ok = match k.config().thp {
        ThpMode::Always => !v.flags.contains(VmFlags::NOHUGEPAGE),
        ThpMode::Madvise => v.flags.contains(VmFlags::HUGEPAGE),
        ThpMode::Never => false,
    };
    let start = (v.start + (1 << 21) - 1) & !((1 << 21) - 1);
    mode_ok && v.file.is_none() && v.special.is_none() && start + (1 << 21) <= v.end
}

/// One smaps record after its header line.
fn record(s: &mut String, k: &Kernel, size: u64, usage: &MemUsage, thp: bool, flags: VmFlags) {
    kb(s, "Size", size);
    kb(s, "KernelPageSize", 4096);
    kb(s, "MMUPageSize", 4096);
    usage_lines(s, k, usage, false);
    let _ = writeln!(s, "THPeligible:    {:>8}", thp as u8);
    if k.config().pkeys {
        let _ = writeln!(s, "ProtectionKey:  {:>8}", 0);
    }
    let _ = writeln!(s, "VmFlags: {}", flags.smaps_letters());
}

/// `/proc/PID/smaps`, ending with the `[vsyscall]` gate area as Linux prints it.
pub fn smaps(k: &Kernel, pid: Pid) -> SysResult<String> {
    let mm = k.mm(pid)?;
    let mut s = String::new();
    for v in mm.vmas.iter() {
        crate::maps::push_maps_line(&mut s, k, mm, v);
        record(&mut s, k, v.len(), &vma_usage(k, mm, v), thp_eligible(k, mm, v), v.flags);
    }
    if mm.space.vsyscall {
        s.push_str(crate::maps::VSYSCALL_LINE);
        record(&mut s, k, 4096, &MemUsage::default(), false, VmFlags::EXEC);
    }
    Ok(s)
}

/// `/proc/PID/smaps_rollup`.
pub fn smaps_rollup(k: &Kernel, pid: Pid) -> SysResult<String> {
    let mm = k.mm(pid)?;
    let mut total = MemUsage::default();
    for v in mm.vmas.iter() {
        total.add(&vma_usage(k, mm, v));
    }
    let first = mm.vmas.iter().next().map(|v| v.start).unwrap_or(0);
    let last = mm.vmas.iter().next_back().map(|v| v.end).unwrap_or(0);
    let mut s = header(first, last, "---p", 0, 0, 0, 0, Some("[rollup]"), crate::maps::name_column(mm));
    usage_lines(&mut s, k, &total, true);
    Ok(s)
}
