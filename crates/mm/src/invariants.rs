//! `check_invariants`: every invariant of the model, written once, checked by tests after
//! every operation (and by the kernel itself after every call when `Config::paranoid` is set).
//!
//! * frames: allocator and frame table agree; refcount ≥ mapcount; an anonymous page's
//!   references are exactly its mappings; a page-cache page has one more (the cache's own);
//!   each frame's mapcount equals the PTEs that map it across all address spaces;
//! * page tables: every mapped PTE lies inside a VMA that allows what the PTE allows (a
//!   writable PTE needs a writable VMA, and in a private mapping an exclusive anonymous
//!   page); the zero page only in private mappings; VmPTE equals the tables reachable;
//! * VMAs: sorted, disjoint, page-aligned, below TASK_SIZE; the gap index matches; no two
//!   neighbours that Linux would have merged (for VMAs created by the model's own rules);
//!   total/data/exec/stack/locked counters equal sums over VMAs; RSS counters equal the PTEs;
//! * files: open-file reference counts equal the descriptors and VMAs that hold them;
//! * accounting: Committed_AS equals the pages of accounted VMAs plus the charges shmem
//!   objects hold plus the charges Linux leaks; each frame's mlock count equals the PTEs
//!   that map it from VM_LOCKED VMAs plus the mappings that lost VM_LOCKED without
//!   munlocking it (MREMAP_DONTUNMAP), and PG_mlocked is set exactly while it is non-zero
//!   or the page was left mlocked with its count zeroed (or its munlock waits in the
//!   mlock batch), unless a drain's munlock left the page unmlocked under a newer locked
//!   mapping; a large page-cache folio counts
//!   its mlocks as a whole instead (one for each time a locked mapping mapped all of it),
//!   and its pages are mlocked exactly while that count is non-zero;
//! * memory cgroups: each group's usage equals the frames charged to it and its
//!   descendants (so no charge outlives its frame, and a machine whose tasks all exited
//!   and whose files are gone has nothing charged); every task and every charged frame
//!   belongs to a live group; the peak is at least the usage; a group's usage is within
//!   its limit unless it has no task the OOM killer could kill (a limit lowered below the
//!   usage of page cache alone).
//! * swap: each slot's count equals the swap PTEs naming it, in private anonymous memory
//!   only, plus the shmem objects' entries naming it (a shmem page out on swap is not in
//!   its object's cache, and its swap-cache page, if any, is used by nobody else; a
//!   memfd's per-page charge counts its pages cached or on swap); a slot in use is named
//!   by a PTE or an object or held by the swap cache (none leaked); the
//!   swap cache and the slots agree; an anonymous page's references are its mappings plus
//!   one if the swap cache holds it, and only a swap-cache page may be mapped nowhere;
//!   MM_SWAPENTS equals the swap PTEs.
//! * reclaim: only user pages carry LRU flags (active, referenced); the clock hands lie in
//!   RAM; kswapd's failure count stays within MAX_RECLAIM_RETRIES; reclaim's written-back
//!   copies are of regular files' pages below their end.

use crate::file::FileKind;
use crate::flags::VmFlags;
use crate::frame::{Owner, PageFlags, Pfn};
use crate::kernel::{Kernel, RssKind};
use crate::layout::*;
use crate::mm::{Mm, Rss};
use crate::mm_table::MmId;
use crate::pages::PageCount;
use crate::pgtable::{self, Pte};
use rustc_hash::FxHashMap as HashMap;

/// Checks every invariant of the whole machine; panics with a description on the first
/// violation.
pub fn check_kernel(k: &Kernel) {
    k.m.frames.check_invariants();
    k.m.swap.check_invariants();
    let mut swapcounts: HashMap<crate::swap::SwapEntry, u32> = HashMap::default();
    let mut mapcounts: HashMap<Pfn, u32> = HashMap::default();
    let mut lockcounts: HashMap<Pfn, u32> = HashMap::default();
    let mut accounted = 0u64;
    let mut open_refs: HashMap<u32, u32> = HashMap::default();
    let mut users: HashMap<MmId, u32> = HashMap::default();
    for t in k.tasks.values() {
        for o in t.fds.values() {
            *open_refs.entry(o.0).or_default() += 1;
        }
        if let Some(id) = t.mm {
            *users.entry(id).or_default() += 1;
            assert!(
                k.mm_tasks().get(&id).is_some_and(|s| s.contains(&t.pid)),
                "task {} missing from {id}'s tasks",
                t.pid
            );
            assert!(k.mms.get(id).is_some(), "task {} uses freed {id}", t.pid);
        }
    }
    let recorded: usize = k.mm_tasks().values().map(|s| s.len()).sum();
    assert_eq!(recorded, users.values().sum::<u32>() as usize, "tasks recorded as using an mm they do not use");
    for (id, mm) in k.mms.iter() {
        assert_eq!(mm.users, users.get(&id).copied().unwrap_or(0), "{id}: mm_users does not match its tasks");
        for v in mm.vmas.iter() {
            if let Some(f) = v.file {
                *open_refs.entry(f.open.0).or_default() += 1;
            }
            if v.flags.contains(VmFlags::ACCOUNT) {
                accounted += v.pages();
            }
        }
        check_mm(k, id, mm, &mut mapcounts, &mut lockcounts, &mut swapcounts);
    }
    // Every user page-table frame is a table of one address space in the profile's
    // geometry, or its root: the frames the tables take (MemFree) follow the geometry.
    let user_tables: u64 = k.mms.iter().map(|(_, mm)| mm.pgtable_pages + 1).sum();
    assert_eq!(k.m.frames.pagetable_frames, user_tables, "page-table frames that are no address space's tables");
    assert!(k.m.mlock_fbatch.len() < crate::folio_batch::FOLIO_BATCH_SIZE, "a full mlock batch was not drained");
    assert!(k.m.lru_activate.len() < crate::folio_batch::FOLIO_BATCH_SIZE, "a full activate batch was not drained");
    for f in k.m.files.iter().flatten() {
        for first in f.large_mlock.keys() {
            assert!(f.folios.contains_key(first), "an mlock count kept for a large folio at page {first} that is gone");
        }
    }
    let zero = k.m.frames.zero_pfn();
    for (pfn, meta) in k.m.frames.allocated() {
        let mapped = mapcounts.get(&pfn).copied().unwrap_or(0);
        assert_eq!(
            meta.mapcount, mapped,
            "pfn {pfn:#x} ({:?}): mapcount {} but {} PTEs map it",
            meta.owner, meta.mapcount, mapped
        );
        let locked = lockcounts.get(&pfn).copied().unwrap_or(0);
        let count = k.m.frames.mlock_count(pfn);
        let stranded = k.m.frames.mlock_stranded(pfn);
        let kept = stranded.unwrap_or(0);
        assert_eq!(
            count,
            locked + kept,
            "pfn {pfn:#x}: mlock count {count} but {locked} locked PTEs and {kept} stranded"
        );
        if let Some((file, pages)) = k.m.large_folio(pfn) {
            // A large folio's mlock count is the folio's, not its pages'.
            let mlocks = k.m.file(file).large_mlock.get(&pages.start).copied();
            assert!(mlocks != Some(0), "pfn {pfn:#x}: a large folio recorded with no mlock");
            assert!(count == 0 && stranded.is_none(), "pfn {pfn:#x}: a page of a large folio with a count of its own");
            assert_eq!(
                meta.flags.contains(PageFlags::MLOCKED),
                mlocks.is_some(),
                "pfn {pfn:#x}: PG_mlocked does not match its large folio's mlocks"
            );
        } else {
            let locked = count > 0 || stranded.is_some();
            let escaped = k.m.frames.mlock_escaped(pfn);
            assert!(!escaped || count > 0, "pfn {pfn:#x}: left unmlocked with no locked mapping");
            // A page whose last locked mapping went stays mlocked until the mlock batch it
            // waits in drains; one a drain's munlock left unmlocked is not mlocked.
            assert!(
                meta.flags.contains(PageFlags::MLOCKED) == (locked && !escaped)
                    || (!locked && k.m.mlock_fbatch.contains(pfn)),
                "pfn {pfn:#x}: PG_mlocked does not match its locked mappings"
            );
        }
        if meta.flags.contains(PageFlags::LAZYFREE_BATCHED) {
            assert!(
                meta.owner == Owner::Anon && meta.flags.contains(PageFlags::SWAPBACKED),
                "pfn {pfn:#x}: waiting to become lazily free but not a swap-backed anonymous page"
            );
            assert!(k.m.lazyfree_batched.contains_key(&pfn), "pfn {pfn:#x}: waiting to become lazily free in no batch");
        }
        if meta.flags.contains(PageFlags::DEACTIVATE_BATCHED) {
            assert!(k.m.lru_deactivate.contains_key(&pfn), "pfn {pfn:#x}: marked for deactivation but in no batch");
            assert!(
                !meta.flags.contains(PageFlags::ACTIVATE_BATCHED),
                "pfn {pfn:#x}: waiting in the activate and the deactivate batch at once"
            );
        }
        if meta.flags.contains(PageFlags::ACTIVATE_BATCHED) {
            assert!(k.m.lru_activate.contains(pfn), "pfn {pfn:#x}: marked for activation but in no activate batch");
        }
        // The mlock batch: an mlocked page is on the unevictable list, or its move there
        // still waits in the batch; only mlocked pages are on that list.
        if meta.flags.contains(PageFlags::UNEVICTABLE) {
            assert!(meta.flags.contains(PageFlags::MLOCKED), "pfn {pfn:#x}: PG_unevictable without PG_mlocked");
        } else if meta.flags.contains(PageFlags::MLOCKED) {
            assert!(
                k.m.mlock_fbatch.contains(pfn),
                "pfn {pfn:#x}: mlocked, not unevictable, and not waiting in the mlock batch"
            );
        }
        match meta.owner {
            Owner::Anon => {
                let cached = k.m.swap.slot_of(pfn).is_some();
                assert_eq!(
                    meta.refcount,
                    meta.mapcount + u32::from(cached),
                    "anonymous pfn {pfn:#x}: refcount must equal mapcount (+1 in the swap cache)"
                );
                assert!(meta.mapcount >= 1 || cached, "anonymous pfn {pfn:#x} mapped nowhere (leaked)");
                if meta.flags.contains(PageFlags::ANON_EXCLUSIVE) {
                    assert_eq!(meta.mapcount, 1, "exclusive anonymous pfn {pfn:#x} mapped {} times", meta.mapcount);
                }
            }
            Owner::File { file, index } => {
                let index = u64::from(index);
                let f = k.m.files.get(file as usize).and_then(|f| f.as_ref());
                let f = f.unwrap_or_else(|| panic!("page-cache pfn {pfn:#x} of destroyed file {file}"));
                assert_eq!(f.cache.get(index), Some(pfn), "pfn {pfn:#x} not in its file's cache at index {index}");
                assert_eq!(meta.refcount, meta.mapcount + 1, "page-cache pfn {pfn:#x}: refcount must be mappings + 1");
            }
            Owner::PageTable | Owner::Kernel(_) => {
                assert_eq!(meta.refcount, 1);
                assert!(
                    !meta.flags.intersects(PageFlags::ACTIVE | PageFlags::REFERENCED),
                    "pfn {pfn:#x} ({:?}) is on no LRU list but has LRU flags {:?}",
                    meta.owner,
                    meta.flags
                );
            }
            Owner::Free | Owner::Reserved => unreachable!(),
        }
        assert_ne!(pfn, zero);
    }
    for (i, f) in k.m.files.iter().enumerate() {
        let Some(f) = f else { continue };
        if !f.swapped.is_empty() {
            assert_eq!(f.kind, FileKind::Shmem, "file {i} ({}): swap entries in a non-shmem file", f.path);
        }
        for (&index, &e) in &f.swapped {
            assert!(!f.cache.contains(index), "file {i}: page {index} both cached and on swap");
            *swapcounts.entry(e).or_default() += 1;
            // Nobody maps the page while it is out; if the swap cache holds it, only that.
            if let Some(pfn) = k.m.swap.lookup(e) {
                let meta = k.m.frames.meta(pfn);
                assert!(
                    meta.mapcount == 0 && meta.refcount == 1,
                    "file {i}: swap-cache page {pfn:#x} of page {index} in use"
                );
            }
        }
        if f.acct_per_page {
            let held = f.cache.len() as u64 + f.swapped.len() as u64 + f.acct_dropped;
            assert_eq!(
                f.acct_pages, held,
                "file {i}: per-page commit charge against pages cached, on swap, or dropped and not recounted"
            );
        }
    }
    for (t, d) in k.m.swap.devices.iter().enumerate() {
        let Some(d) = d else { continue };
        for (offset, slot) in d.slots() {
            let e = crate::swap::SwapEntry { swap_type: t as u8, offset };
            let named = swapcounts.remove(&e).unwrap_or(0);
            assert_eq!(
                slot.count, named,
                "swap slot {t}:{offset}: count {} but {named} swap PTEs and shmem entries",
                slot.count
            );
        }
    }
    if let Some((e, n)) = swapcounts.iter().next() {
        panic!("{n} swap PTEs or shmem entries name free swap slot {}:{}", e.swap_type, e.offset);
    }
    k.m.kalloc.check_invariants(&k.m.frames);
    for (i, o) in k.m.opens.iter().enumerate() {
        if let Some(o) = o {
            assert_eq!(
                o.refs,
                open_refs.get(&(i as u32)).copied().unwrap_or(0),
                "open file {i}: refs do not match fds + VMAs"
            );
            assert!(k.m.files[o.file.0 as usize].is_some(), "open file {i} of a destroyed file");
        } else {
            assert!(!open_refs.contains_key(&(i as u32)), "closed open file {i} still referenced");
        }
    }
    check_memcgs(k);
    check_reclaim(k);
    check_sysv_shm(k);
    let shmem_charges: u64 = k.m.files.iter().flatten().map(|f| f.acct_pages).sum();
    assert_eq!(
        k.m.committed,
        accounted + shmem_charges + k.m.committed_leaked,
        "Committed_AS: accounted VMAs {accounted} + shmem {shmem_charges} + leaked {}",
        k.m.committed_leaked
    );
    for (i, f) in k.m.files.iter().enumerate() {
        let Some(f) = f else { continue };
        let opens = k.m.opens.iter().flatten().filter(|o| o.file.0 == i as u32).count() as u32;
        // The kernel holds its vDSO images for good.
        let held = [k.m.vdso_file, k.m.vdso32_file].iter().flatten().filter(|v| v.0 == i as u32).count() as u32;
        assert_eq!(f.opens, opens + held, "file {i} ({}): open count", f.path);
        f.cache.check_invariants();
        for (idx, pfn) in f.cache.iter() {
            assert_eq!(k.m.frames.meta(pfn).owner, Owner::File { file: i as u32, index: idx as u32 });
        }
        // A large folio is in the page cache whole or not at all: a record of one whose
        // pages left would make pages read back later one folio again.
        for (&start, &order) in &f.folios {
            let cached = (start..start + (1u64 << order)).filter(|&p| f.page_cached(p)).count() as u64;
            assert!(
                cached == 1u64 << order,
                "file {i} ({}): folio of pages {start}+{} has {cached} of them cached",
                f.path,
                1u64 << order
            );
        }
    }
}

/// SysV segments: each one's object names it back and has its identifier as inode number,
/// its attach count is the number of VMAs mapping it, the pages of all add up to `shm_tot`,
/// and no object claims a segment that is gone.
fn check_sysv_shm(k: &Kernel) {
    k.m.shm.check_invariants();
    let mut vmas_of: HashMap<u32, u32> = HashMap::default();
    for (_, mm) in k.mms.iter() {
        for v in mm.vmas.iter() {
            if let Some(f) = v.file {
                *vmas_of.entry(f.file.0).or_default() += 1;
            }
        }
    }
    let mut pages = 0;
    for s in k.m.shm.iter() {
        let f = k.m.files[s.file.0 as usize].as_ref().expect("a segment's object was freed");
        assert_eq!(f.sysv_shm, Some(s.id), "segment {}'s object names another", s.id);
        assert_eq!(f.ino, u64::from(s.id), "segment {}'s inode number", s.id);
        assert_eq!(f.size, s.segsz, "segment {}'s object size", s.id);
        let mapped = vmas_of.get(&s.file.0).copied().unwrap_or(0);
        assert_eq!(f.shm_attaches, mapped, "segment {}: shm_nattch against the VMAs mapping it", s.id);
        assert!(!s.removed() || mapped > 0, "segment {} was removed with nothing attached, yet lives", s.id);
        pages += s.segsz.div_ceil(crate::layout::PAGE_SIZE);
    }
    assert_eq!(k.m.shm.total_pages, pages, "shm_tot");
    for f in k.m.files.iter().flatten() {
        if let Some(id) = f.sysv_shm {
            assert!(k.m.shm.get(i64::from(id)).is_some(), "{} claims segment {id}, which is gone", f.path);
        }
    }
}

/// Reclaim's state: clock hands inside RAM, kswapd's failure count bounded, written-back
/// copies only of pages of regular files below their end.
fn check_reclaim(k: &Kernel) {
    let end = k.m.frames.end_pfn();
    for hand in k.m.reclaim.hands {
        assert!(hand <= end, "reclaim clock hand {hand:?} past the last frame ({end:?} is one past it)");
    }
    assert!(k.m.reclaim.kswapd_failures <= crate::reclaim::MAX_RECLAIM_RETRIES);
    for f in k.m.files.iter().flatten() {
        if let Some((&last, _)) = f.written_back.iter().next_back() {
            assert_eq!(f.kind, FileKind::Regular, "{}: written back but not a regular file", f.path);
            assert!(last < f.size_pages(), "{}: written-back page {last} past the end", f.path);
        }
    }
}

fn check_memcgs(k: &Kernel) {
    let memcgs = &k.m.frames.memcgs;
    // With no group but the root (whose usage is not kept) there is nothing to add up.
    let groups = memcgs.iter().any(|(id, _)| id != crate::memcg::ROOT_MEMCG);
    let mut charged: HashMap<crate::memcg::MemcgId, u64> = HashMap::default();
    for (pfn, meta) in k.m.frames.allocated() {
        assert!(memcgs.get(meta.memcg).is_some(), "pfn {pfn:#x} charged to removed memcg {}", meta.memcg);
        if groups {
            for g in memcgs.ancestry(meta.memcg) {
                *charged.entry(g).or_default() += 1;
            }
        }
    }
    for t in k.tasks.values() {
        assert!(memcgs.get(t.memcg).is_some(), "task {} in removed memcg {}", t.pid, t.memcg);
    }
    // Swap charges: each slot holding one counts in its group and every ancestor.
    let mut swap_charged: HashMap<crate::memcg::MemcgId, u64> = HashMap::default();
    for (t, d) in k.m.swap.devices.iter().enumerate() {
        for (o, slot) in d.iter().flat_map(|d| d.slots()) {
            assert!(memcgs.get(slot.memcg).is_some(), "swap slot {t}:{o} charged to removed memcg {}", slot.memcg);
            if groups && memcgs.slot_charged(&slot) {
                for g in memcgs.ancestry(slot.memcg) {
                    *swap_charged.entry(g).or_default() += 1;
                }
            }
        }
    }
    for (id, g) in memcgs.iter() {
        if id == crate::memcg::ROOT_MEMCG {
            continue;
        }
        let want = charged.get(&id).copied().unwrap_or(0);
        assert_eq!(g.usage, want, "memcg /{}: usage {} but {want} frames charged to it and below", g.path, g.usage);
        assert!(g.watermark >= g.usage, "memcg /{}: peak below usage", g.path);
        let swap = swap_charged.get(&id).copied().unwrap_or(0);
        assert_eq!(
            g.swap_usage, swap,
            "memcg /{}: swap usage {} but {swap} slots charged to it and below",
            g.path, g.swap_usage
        );
        assert!(g.swap_watermark >= g.swap_usage, "memcg /{}: swap peak below swap usage", g.path);
        assert!(g.swappiness <= 200, "memcg /{}: swappiness {} above 200", g.path, g.swappiness);
        assert!(g.swap_events.max >= g.swap_events.fail, "memcg /{}: more swap fails than max events", g.path);
        if g.usage > g.max {
            let killable = k.tasks.values().any(|t| {
                t.mm.is_some() && memcgs.is_descendant(t.memcg, id) && t.oom_score_adj != crate::oom::OOM_SCORE_ADJ_MIN
            });
            assert!(!killable, "memcg /{}: usage {} over its limit {} with killable tasks", g.path, g.usage, g.max);
        }
    }
}

fn check_mm(
    k: &Kernel,
    id: MmId,
    mm: &Mm,
    mapcounts: &mut HashMap<Pfn, u32>,
    lockcounts: &mut HashMap<Pfn, u32>,
    swapcounts: &mut HashMap<crate::swap::SwapEntry, u32>,
) {
    mm.vmas.check_invariants();
    // A guard marker is a page of a VMA that had one installed, with an empty PTE in an
    // existing PTE table (the marker's place in Linux).
    for &g in &mm.guards {
        assert!(g.is_multiple_of(PAGE_SIZE), "mm {id}: unaligned guard marker {g:#x}");
        let v = mm.vmas.containing(g).unwrap_or_else(|| panic!("mm {id}: guard marker {g:#x} outside every VMA"));
        assert!(v.flags.contains(VmFlags::MAYBE_GUARD), "mm {id}: guard marker {g:#x} in a VMA without VM_MAYBE_GUARD");
        assert!(k.pte(id, g).is_none(), "mm {id}: guard marker {g:#x} over a PTE");
        assert!(
            crate::pgtable::leaf_table(&k.m.frames, mm.pgd, g).is_some(),
            "mm {id}: guard marker {g:#x} without its PTE table"
        );
    }
    let zero = PageCount::ZERO;
    let (mut total, mut data, mut exec, mut stack, mut locked) = (zero, zero, zero, zero, zero);
    for v in mm.vmas.iter() {
        assert!(
            v.start.is_multiple_of(PAGE_SIZE) && v.end.is_multiple_of(PAGE_SIZE),
            "mm {id}: unaligned VMA {:#x}-{:#x}",
            v.start,
            v.end
        );
        assert!(v.end <= mm.space.task_size, "mm {id}: VMA above TASK_SIZE");
        assert!(!v.flags.contains(VmFlags::SHARED) || v.flags.contains(VmFlags::MAYSHARE));
        let p = PageCount::new(v.pages());
        total += p;
        if v.flags.contains(VmFlags::LOCKED) {
            locked += p;
        }
        let st = v.flags.contains(VmFlags::GROWSDOWN);
        if v.flags.contains(VmFlags::EXEC) && !v.flags.contains(VmFlags::WRITE) && !st {
            exec += p;
        } else if st {
            stack += p;
        } else if v.flags & (VmFlags::WRITE | VmFlags::SHARED) == VmFlags::WRITE {
            data += p;
        }
    }
    let s = &mm.space;
    assert!(
        s.task_size.is_multiple_of(PAGE_SIZE)
            && s.unmapped_base < s.task_size
            && s.elf_et_dyn_base < s.task_size
            && matches!(s.word_size, 4 | 8)
            && s.task_size <= TASK_SIZE,
        "mm {id}: inconsistent user space {s:?}"
    );
    assert!(mm.mmap_base <= s.task_size, "mm {id}: mmap_base {:#x} above TASK_SIZE", mm.mmap_base);
    assert_eq!(mm.total_vm, total, "mm {id}: total_vm");
    assert_eq!(mm.data_vm, data, "mm {id}: data_vm");
    assert_eq!(mm.exec_vm, exec, "mm {id}: exec_vm");
    assert_eq!(mm.stack_vm, stack, "mm {id}: stack_vm");
    assert_eq!(mm.locked_vm, locked + mm.locked_vm_stale, "mm {id}: locked_vm");
    // The tables are stored in the profile's geometry: VmPTE is the tables the walk reaches
    // below the root, and the one PAE's page-table isolation keeps outside it.
    let geometry = k.m.frames.page_table_geometry();
    assert_eq!(
        mm.pti_pmd.is_some(),
        geometry.preallocated_outside_walk > 0,
        "mm {id}: the isolation PMD does not follow the geometry"
    );
    if let Some(pmd) = mm.pti_pmd {
        assert_eq!(k.m.frames.meta(pmd).owner, Owner::PageTable, "mm {id}: the isolation PMD is not a page table");
    }
    let (tables, leaves) = pgtable::tables_and_leaves(&k.m.frames, mm.pgd);
    assert_eq!(
        mm.pgtable_pages,
        tables + u64::from(mm.pti_pmd.is_some()),
        "mm {id}: VmPTE does not match the tables reachable"
    );
    // The root uses only its level's entries (a PAE PDPT has four), and the leaves lie
    // below the addresses the walk translates.
    let root_entries = geometry.levels[0].entries() as usize;
    assert!(
        k.m.frames.table(mm.pgd)[root_entries..].iter().all(|&e| e == 0),
        "mm {id}: entries past the root level's {root_entries}"
    );
    let reach = 1u64 << geometry.address_bits();
    // The leaves the walk found lie below TASK_SIZE as the walk's range did.
    assert!(leaves.iter().all(|&(va, _)| va < TASK_SIZE), "mm {id}: a leaf table above TASK_SIZE");
    assert!(leaves.iter().all(|&(va, _)| va < reach), "mm {id}: a leaf table beyond the profile's address width");
    let zero = k.m.frames.zero_pfn();
    let mut rss = Rss::default();
    // The PTEs come in address order, so the VMA of the last one usually holds the next.
    let mut last: Option<&crate::vma::Vma> = None;
    let span = pgtable::leaf_span(&k.m.frames);
    for (base, table) in leaves {
        if k.m.frames.is_shared_zero_table(table) {
            // All its entries are one read-only zero-page PTE: what the loop below checks of
            // each holds for all once every page of its span lies in private anonymous VMAs.
            let pte = Pte(k.m.frames.table(table)[0]);
            assert!(
                pte.present() && pte.pfn() == zero && !pte.writable(),
                "mm {id}: shared table {table:?} at {base:#x}"
            );
            let mut at = base;
            while at < base + span {
                let v = mm.vmas.containing(at).unwrap_or_else(|| panic!("mm {id}: PTE at {at:#x} outside every VMA"));
                assert!(
                    !v.flags.contains(VmFlags::SHARED) && v.file.is_none(),
                    "mm {id}: zero page in a shared or file mapping at {at:#x}"
                );
                at = v.end;
            }
            continue;
        }
        pgtable::for_each_set(k.m.frames.table(table), |i, e| {
            let pte = Pte(e);
            if pte.is_none() {
                return;
            }
            let va = base + ((i as u64) << PAGE_SHIFT);
            let v = match last {
                Some(v) if v.start <= va && va < v.end => v,
                _ => mm.vmas.containing(va).unwrap_or_else(|| panic!("mm {id}: PTE at {va:#x} outside every VMA")),
            };
            last = Some(v);
            if let Some((e, _)) = crate::swap::SwapEntry::from_pte(pte) {
                assert!(
                    v.anon_vma.is_some() && !v.flags.contains(VmFlags::SHARED),
                    "mm {id}: swap PTE at {va:#x} outside private anonymous memory"
                );
                *swapcounts.entry(e).or_default() += 1;
                rss.swap += PageCount::new(1);
                return;
            }
            let pfn = pte.pfn();
            if pte.writable() {
                assert!(v.flags.contains(VmFlags::WRITE), "mm {id}: writable PTE at {va:#x} in a VMA without write");
                if v.is_cow() {
                    let meta = k.m.frames.meta(pfn);
                    assert!(
                        meta.flags.contains(PageFlags::ANON_EXCLUSIVE),
                        "mm {id}: writable PTE at {va:#x} on a non-exclusive page in a private mapping"
                    );
                }
            }
            if pfn == zero {
                assert!(
                    !v.flags.contains(VmFlags::SHARED) && v.file.is_none(),
                    "mm {id}: zero page in a shared or file mapping at {va:#x}"
                );
                assert!(!pte.writable(), "mm {id}: writable zero page at {va:#x}");
                return;
            }
            *mapcounts.entry(pfn).or_default() += 1;
            if v.flags.contains(VmFlags::LOCKED) && !k.m.in_large_folio(pfn) {
                *lockcounts.entry(pfn).or_default() += 1;
            }
            let meta = k.m.frames.meta(pfn);
            if let Owner::File { file, index } = meta.owner {
                if v.special.is_some() {
                    // The vDSO image's pages, in [vdso] only, at their page of it.
                    // A compat process maps the 32-bit image, any other the kernel's own.
                    let image =
                        if mm.space.abi == crate::space::Abi::Ia32Compat { k.m.vdso32_file } else { k.m.vdso_file };
                    assert_eq!(image.map(|f| f.0), Some(file), "mm {id}: special mapping maps another file's page");
                    assert_eq!(v.special, Some(crate::vma::Special::Vdso), "mm {id}: vDSO page outside [vdso]");
                    assert_eq!((va - v.start) >> 12, u64::from(index), "mm {id}: wrong vDSO page at {va:#x}");
                    assert!(!pte.writable(), "mm {id}: writable vDSO page at {va:#x}");
                    match k.m.rss_kind(pfn) {
                        RssKind::Anon => rss.anon += PageCount::new(1),
                        RssKind::File => rss.file += PageCount::new(1),
                        RssKind::Shmem => rss.shmem += PageCount::new(1),
                    }
                    return;
                }
                let f = v.file.unwrap_or_else(|| panic!("mm {id}: page-cache page in an anonymous VMA at {va:#x}"));
                assert_eq!(f.file.0, file, "mm {id}: PTE at {va:#x} maps another file's page");
                assert_eq!(v.page_index(va), u64::from(index), "mm {id}: PTE at {va:#x} maps the wrong file page");
                if v.flags.contains(VmFlags::SHARED) || !v.flags.contains(VmFlags::WRITE) {
                    // fine: shared or read-only views of the cache
                } else {
                    assert!(!pte.writable(), "mm {id}: writable PTE on a page-cache page of a private mapping");
                }
            } else {
                assert_eq!(meta.owner, Owner::Anon, "mm {id}: PTE at {va:#x} maps a {:?} frame", meta.owner);
                assert!(v.anon_vma.is_some(), "mm {id}: anonymous page at {va:#x} in a VMA without anon_vma");
                assert!(!v.flags.contains(VmFlags::SHARED), "mm {id}: anonymous page in a shared mapping");
            }
            match k.m.rss_kind(pfn) {
                RssKind::Anon => rss.anon += PageCount::new(1),
                RssKind::File => rss.file += PageCount::new(1),
                RssKind::Shmem => rss.shmem += PageCount::new(1),
            }
        });
    }
    assert_eq!(mm.rss, rss, "mm {id}: RSS counters do not match the page tables");
    let _ = FileKind::Regular;
}

/// After every task has exited and been reaped: no anonymous page, page table or address
/// space is left; only page-cache pages of files that still exist, and what the kernel allocated
/// for itself, remain.
pub fn check_no_leaks(k: &Kernel) {
    check_kernel(k);
    assert!(k.mms.is_empty(), "an address space outlived its tasks");
    for (pfn, meta) in k.m.frames.allocated() {
        // The kernel's own allocations outlive tasks; check_kernel accounted for each.
        assert!(matches!(meta.owner, Owner::File { .. } | Owner::Kernel(_)), "pfn {pfn:#x} ({:?}) leaked", meta.owner);
    }
    for d in k.m.swap.devices.iter().flatten() {
        assert_eq!(d.inuse(), 0, "{}: {} swap slots leaked", d.path, d.inuse());
    }
}
