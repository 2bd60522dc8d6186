//! Swap, compared with the host kernel on a real swap file: MADV_PAGEOUT of anonymous
//! memory to swap, swap-in on access, slots shared after fork, MADV_FREE and MADV_DONTNEED
//! of swapped-out pages, lazily freed pages dropped instead of swapped, and the slot
//! allocator's order. Each script runs with a fresh swap file (made, activated and removed
//! by [`HostSwap`]), so its slot numbers are deterministic; the views compared are the
//! smaps residency and Swap/SwapPss lines, pagemap (swap type and offset included),
//! mincore and VmSwap.
//!
//! What is left out, because Linux is not deterministic there: the major-fault count and
//! the swap readahead window after a pageout (both depend on whether the asynchronous
//! swap write has finished when the page is touched again), and anything after a second
//! pageout of a page still under writeback. See docs/swap.md.

use abi::*;
use hostdiff::compare::compare;
use hostdiff::model::run_on_model_with;
use hostdiff::swapfile::HostSwap;
use hostdiff::{Fd, Op, OpenMode};

mod common;

use common::{at, Script, P};

/// 4 MiB: 1023 usable slots, two clusters.
const SWAP_SIZE: u64 = 4 << 20;

/// Runs `s` on the host with a fresh swap file and on the model with the same device,
/// and compares. A run that differs while the swap file still has slots in use once the
/// script's process is gone is run again (up to three times): those are pages that are
/// not the script's (DAMON's pageout of idle tmpfs pages), or swap-cache pages still under
/// writeback when their last swap PTE went, which keep their slots until reclaim.
fn check(name: &str, s: Script) {
    if hostreq::need(name, hostdiff::support()).is_none() {
        return;
    }
    let script = s.s;
    for attempt in 1..=3 {
        let Some(swap) = hostreq::need(name, HostSwap::new(SWAP_SIZE)) else { return };
        let host = hostdiff::run_on_host(&script).unwrap_or_else(|e| panic!("{name}: host run failed: {e}"));
        let left_over = swap.used_kb();
        let model = run_on_model_with(&script, &host.init, &|k| swap.activate_in(k))
            .unwrap_or_else(|e| panic!("{name}: model run failed: {e}"));
        let mismatches = compare(&script, &host, &model);
        let report: Vec<String> = mismatches.iter().map(|m| format!("step {}: {}", m.step, m.what)).collect();
        if !report.is_empty() && left_over != Some(0) && attempt < 3 {
            eprintln!("{name}: differs with {left_over:?} kB left in the swap file; running again");
            continue;
        }
        assert!(report.is_empty(), "{name}: {} mismatches:\n{}", report.len(), report.join("\n"));
        return;
    }
}

#[test]
fn proc_swaps_line_matches_the_host() {
    let Some(swap) = hostreq::need("/proc/swaps", HostSwap::new(SWAP_SIZE)) else { return };
    let mut k = mm::Kernel::new(mm::Config::default());
    swap.activate_in(&mut k).unwrap();
    let host = swap.proc_swaps_line().expect("our line in /proc/swaps");
    let model = procfs::swaps(&k);
    let line = model.lines().find(|l| l.starts_with(&swap.spec.path)).map(|l| format!("{l}\n"));
    assert_eq!(line.as_deref(), Some(host.as_str()));
}

#[test]
fn pageout_to_swap_and_back() {
    let mut s = Script::new();
    let m = s.anon(8, PROT_READ | PROT_WRITE);
    s.store_on(0, m, 0, 8, 0x11);
    s.madvise_on(0, m, 0, 8, MADV_PAGEOUT);
    s.views_on(0, m, 8);
    // A read maps the page back from the swap cache, writable (it is exclusive).
    s.op(Op::Load { addr: at(m, 2), len: 8 });
    s.store_on(0, m, 3, 1, 0x22);
    s.views_on(0, m, 8);
    s.op(Op::Load { addr: at(m, 0), len: 8 * P });
    // Slots freed behind the allocation cursor are not reused yet.
    let n = s.anon(4, PROT_READ | PROT_WRITE);
    s.store_on(0, n, 0, 4, 0x33);
    s.op(Op::Munmap { addr: at(m, 0), len: 8 * P });
    s.madvise_on(0, n, 0, 4, MADV_PAGEOUT);
    s.views_on(0, n, 4);
    s.op(Op::Load { addr: at(n, 0), len: 4 * P });
    check("pageout to swap and back", s);
}

/// A page of zeros goes out without I/O (6.12's zeromap): MADV_PAGEOUT leaves a swap PTE
/// and frees the page at once, where a page with data stays in the swap cache while its
/// write runs (mincore: resident). Both read back as they were. Found by `mmsim check
/// --random 800 --seed 2800000 --steps 300 --swap` (seed 2800045: a page populated by
/// mlock, never written, paged out by a child); the model wrote every page.
#[test]
fn a_zero_filled_page_is_freed_at_pageout() {
    let mut s = Script::new();
    let m = s.anon(6, PROT_READ | PROT_WRITE);
    // Pages 0-1 written with zeros, 2-3 with data, 4 read only (the zero page), 5 untouched.
    s.store_on(0, m, 0, 2, 0);
    s.store_on(0, m, 2, 2, 0x66);
    s.op(Op::Load { addr: at(m, 4), len: 8 });
    s.madvise_on(0, m, 0, 6, MADV_PAGEOUT);
    s.views_on(0, m, 6);
    s.op(Op::Load { addr: at(m, 0), len: 6 * P });
    s.views_on(0, m, 6);
    // A page the populate of a write-only mapping made (zeros), left behind by a parent's
    // copy-on-write and paged out by the child that still maps it.
    let w = s.map(3, PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, Fd::None, 0);
    s.op(Op::Mlock { addr: at(w, 0), len: 3 * P, flags: 0 });
    s.op(Op::Fork);
    s.store_on(0, w, 1, 1, 0x77);
    s.madvise_on(1, w, 0, 3, MADV_PAGEOUT);
    s.views_on(1, w, 3);
    check("a zero-filled page is freed at pageout", s);
}

#[test]
fn swapped_pages_after_fork() {
    let mut s = Script::new();
    let m = s.anon(4, PROT_READ | PROT_WRITE);
    s.store_on(0, m, 0, 4, 0x44);
    s.madvise_on(0, m, 0, 4, MADV_PAGEOUT);
    s.op(Op::Fork);
    // Both share each slot: SwapPss is half of Swap.
    s.views_on(1, m, 4);
    s.views_on(0, m, 4);
    // The child writes one page: its own copy; the parent keeps the slot.
    s.store_on(1, m, 1, 1, 0x55);
    s.views_on(1, m, 4);
    s.views_on(0, m, 4);
    s.on(0, Op::Load { addr: at(m, 0), len: 4 * P });
    s.on(1, Op::Load { addr: at(m, 0), len: 4 * P });
    s.on(1, Op::Exit);
    s.views_on(0, m, 4);
    check("swapped pages after fork", s);
}

#[test]
fn free_and_dontneed_of_swapped_pages() {
    let mut s = Script::new();
    let m = s.anon(8, PROT_READ | PROT_WRITE);
    s.store_on(0, m, 0, 8, 0x66);
    s.madvise_on(0, m, 0, 8, MADV_PAGEOUT);
    s.madvise_on(0, m, 0, 2, MADV_FREE);
    s.madvise_on(0, m, 2, 2, MADV_DONTNEED);
    s.views_on(0, m, 8);
    s.op(Op::Load { addr: at(m, 0), len: 8 * P });
    s.views_on(0, m, 8);
    check("free and dontneed of swapped pages", s);
}

#[test]
fn lazily_freed_pages_are_dropped_not_swapped() {
    let mut s = Script::new();
    let m = s.anon(6, PROT_READ | PROT_WRITE);
    s.store_on(0, m, 0, 6, 0x77);
    s.madvise_on(0, m, 0, 6, MADV_FREE);
    // One written again since: swap-backed again, so it goes to swap.
    s.store_on(0, m, 5, 1, 0x78);
    s.madvise_on(0, m, 0, 6, MADV_PAGEOUT);
    s.views_on(0, m, 6);
    s.madvise_on(0, m, 0, 6, MADV_COLD);
    s.op(Op::Load { addr: at(m, 0), len: 6 * P });
    s.views_on(0, m, 6);
    check("lazily freed pages are dropped, not swapped", s);
}

/// An MREMAP_DONTUNMAP of part of a locked mapping clears VM_LOCKED on the whole source
/// VMA but munlocks none of the pages left there: they stay mlocked, on the unevictable
/// list, and MADV_PAGEOUT passes over them; a page faulted in since is not mlocked and goes
/// out. Locking the range again and unlocking it leaves them mlocked still (the count kept
/// for the mapping that stopped being locked stays). Random swap script seed 827 found it.
#[test]
fn pages_a_dontunmap_move_leaves_behind_stay_mlocked() {
    let mut s = Script::new();
    let m = s.map(16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, Fd::None, 0);
    s.store_on(0, m, 0, 16, 0x31);
    s.op(Op::Mremap {
        addr: at(m, 4),
        old_len: 2 * P,
        new_len: 2 * P,
        flags: MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
        new_addr: hostdiff::Addr::Abs(0),
    });
    s.views_on(0, m, 16);
    s.store_on(0, m, 5, 1, 0x32);
    s.madvise_on(0, m, 0, 16, MADV_PAGEOUT);
    s.views_on(0, m, 16);
    s.op(Op::Mlock { addr: at(m, 0), len: 4 * P, flags: 0 });
    s.op(Op::Munlock { addr: at(m, 0), len: 4 * P });
    s.madvise_on(0, m, 0, 16, MADV_PAGEOUT);
    s.views_on(0, m, 16);
    // Unmapped and freed while mlocked: nothing is left behind.
    s.op(Op::Munmap { addr: at(m, 0), len: 3 * P });
    s.store_on(0, m, 3, 1, 0x33);
    s.views_on(0, m, 16);
    check("pages a DONTUNMAP move leaves behind stay mlocked", s);
}

/// Six written pages and one only read of a shmem mapping at `m` (8 pages) go out with
/// MADV_PAGEOUT; then a read and a write bring two back, and a read of everything the rest.
fn shmem_pageout_and_back(s: &mut Script, m: usize) {
    s.store_on(0, m, 0, 6, 0x21);
    s.op(Op::Load { addr: at(m, 6), len: 8 });
    // The written pages go to swap, their PTEs cleared (pagemap empty, Rss 0, no VmSwap:
    // the object holds the slots, so smaps shows Swap but no SwapPss); they stay in the
    // swap cache while written (mincore 1). The page only read is dropped (mincore 0).
    s.madvise_on(0, m, 0, 8, MADV_PAGEOUT);
    s.views_on(0, m, 8);
    // Minor faults from the swap cache; each page's slot is freed as it comes back.
    s.op(Op::Load { addr: at(m, 0), len: 8 });
    s.store_on(0, m, 2, 1, 0x22);
    s.views_on(0, m, 8);
    s.op(Op::Load { addr: at(m, 0), len: 8 * P });
    s.views_on(0, m, 8);
}

#[test]
fn shared_anonymous_pages_to_swap_and_back() {
    let mut s = Script::new();
    let m = s.map(8, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, Fd::None, 0);
    shmem_pageout_and_back(&mut s, m);
    check("shared anonymous pages to swap and back", s);
}

#[test]
fn tmpfs_file_pages_to_swap_and_back() {
    let mut s = Script::new();
    s.s.tmpfs = true;
    let file = s.s.add_file(0);
    let rw = s.s.open(file, OpenMode::ReadWrite);
    s.op(Op::Ftruncate { fd: rw, len: 8 * P });
    let m = s.map(8, PROT_READ | PROT_WRITE, MAP_SHARED, Fd::Slot(rw), 0);
    shmem_pageout_and_back(&mut s, m);
    // A private mapping of the object: its reads find the pages in the object, and a
    // pageout of a page it only reads is refused while the shared mapping maps it too.
    let p = s.map(8, PROT_READ, MAP_PRIVATE, Fd::Slot(rw), 0);
    s.op(Op::Load { addr: at(p, 0), len: 8 * P });
    s.madvise_on(0, p, 0, 8, MADV_PAGEOUT);
    s.views_on(0, p, 8);
    check("tmpfs file pages to swap and back", s);
}

/// A script that brings its own swap files: activated mid-run by a step (before it,
/// MADV_PAGEOUT of anonymous memory has nowhere to go), used, and deactivated by another
/// step, which brings every page back. The host run makes the files and removes them; the
/// model activates devices of the same names, so `/proc/swaps` reads the same; both agree
/// step by step, and the host really swapped (its `/proc/swaps` showed slots in use).
#[test]
fn swap_files_of_the_script_activated_mid_run() {
    let name = "swap files of the script";
    if hostreq::need(name, hostdiff::support()).is_none() {
        return;
    }
    let mut s = Script::new();
    let first = s.s.add_swap_file(SWAP_SIZE, None);
    let second = s.s.add_swap_file(64 * P, Some(7));
    let m = s.anon(8, PROT_READ | PROT_WRITE);
    s.store_on(0, m, 0, 8, 0x11);
    s.madvise_on(0, m, 0, 2, MADV_PAGEOUT);
    s.views_on(0, m, 8);
    s.op(Op::Swapon { device: first });
    s.op(Op::Swapon { device: second });
    // Twice: EBUSY.
    s.op(Op::Swapon { device: second });
    s.madvise_on(0, m, 0, 6, MADV_PAGEOUT);
    let used = s.op(Op::Swaps);
    s.views_on(0, m, 8);
    s.op(Op::Load { addr: at(m, 1), len: 8 });
    s.op(Op::Swapoff { device: second });
    s.views_on(0, m, 8);
    s.op(Op::Swapoff { device: first });
    s.op(Op::Swapoff { device: first });
    let after = s.op(Op::Swaps);
    s.views_on(0, m, 8);
    s.op(Op::Load { addr: at(m, 0), len: 8 * P });
    let Some(host) = run_with_swap_files(name, &s.s) else { return };
    let text = |i: usize| match &host.outcomes[i] {
        hostdiff::Outcome::Text(t) => t.clone(),
        o => panic!("{name}: step {i} gave {o:?}"),
    };
    // The second file has the higher priority: the six pages went there.
    let line = text(used).lines().find(|l| l.starts_with(&host.init.swap_files[second])).map(String::from);
    let used_kb = line.as_deref().and_then(|l| l.split_whitespace().nth(3)).and_then(|u| u.parse::<u64>().ok());
    assert_eq!(used_kb, Some(24), "{name}: {}", text(used));
    assert_eq!(text(after).lines().count(), 1, "{name}: swap left active: {}", text(after));
    for path in &host.init.swap_files {
        assert!(!std::path::Path::new(path).exists(), "{name}: {path} was not removed");
    }
}

/// Runs `script`, which makes swap files of its own, on the host and the model, and returns
/// the host's run once both agree step by step (at most three runs: another program may
/// have used the files); `None` when the host cannot make swap files (not root, no mkswap:
/// a skip, or a failure under MMSIM_REQUIRE_HOST=1).
fn run_with_swap_files(name: &str, script: &hostdiff::HostScript) -> Option<hostdiff::HostRun> {
    for attempt in 1..=3 {
        let host = match hostdiff::run_on_host(script) {
            Ok(h) => h,
            Err(hostdiff::HostError::Unsupported(why)) => {
                hostreq::need::<()>(name, Err(why));
                return None;
            }
            Err(e) => panic!("{name}: host run failed: {e}"),
        };
        let model = hostdiff::model::run_on_model(script, &host.init)
            .unwrap_or_else(|e| panic!("{name}: model run failed: {e}"));
        let report: Vec<String> =
            compare(script, &host, &model).iter().map(|m| format!("step {}: {}", m.step, m.what)).collect();
        if !report.is_empty() && attempt < 3 {
            eprintln!("{name}: differs, running again (another program may have used the swap files)");
            continue;
        }
        assert!(report.is_empty(), "{name}: {} mismatches:\n{}", report.len(), report.join("\n"));
        return Some(host);
    }
    unreachable!("the third run returns or fails")
}

/// Two swap files of one priority take pages in turn: Linux tries its devices of the highest
/// priority one after the other, moving each behind the others of its priority when an
/// allocation tries it (on a rotational disk every allocation goes that way). Five pages out
/// go 3 and 2 (found by random swap script 314, where the model had put all five on the first
/// file); a third file of a higher priority then takes the next pages alone.
#[test]
fn swap_files_of_one_priority_take_pages_in_turn() {
    let name = "swap files of one priority";
    if hostreq::need(name, hostdiff::support()).is_none() {
        return;
    }
    let mut s = Script::new();
    let first = s.s.add_swap_file(64 * P, Some(5));
    let second = s.s.add_swap_file(64 * P, Some(5));
    let third = s.s.add_swap_file(64 * P, Some(9));
    let m = s.anon(8, PROT_READ | PROT_WRITE);
    s.store_on(0, m, 0, 8, 0x22);
    s.op(Op::Swapon { device: first });
    s.op(Op::Swapon { device: second });
    s.madvise_on(0, m, 0, 5, MADV_PAGEOUT);
    let split = s.op(Op::Swaps);
    s.views_on(0, m, 8);
    s.op(Op::Swapon { device: third });
    s.madvise_on(0, m, 5, 3, MADV_PAGEOUT);
    let later = s.op(Op::Swaps);
    s.views_on(0, m, 8);
    s.op(Op::Load { addr: at(m, 0), len: 8 * P });
    let Some(host) = run_with_swap_files(name, &s.s) else { return };
    let used = |step: usize, file: usize| -> Option<u64> {
        let hostdiff::Outcome::Text(t) = &host.outcomes[step] else { return None };
        let line = t.lines().find(|l| l.starts_with(&host.init.swap_files[file]))?;
        line.split_whitespace().nth(3)?.parse().ok()
    };
    assert_eq!((used(split, first), used(split, second)), (Some(12), Some(8)), "{name}: the first five pages");
    assert_eq!(used(later, third), Some(12), "{name}: the higher priority file");
}

/// A slot only the swap cache holds (its page swapped in by a read, still mapped) is taken
/// for a new page where the allocator's scan meets it before a free slot, once more than
/// half of swap is in use; the page leaves the swap cache dirty (cluster_scan_range, then
/// __try_to_reclaim_swap). A swap file of 100 slots: pages out at slots 1-10; pages 2-5
/// read back (slots 3-6 now held by the cache alone); the slots of pages 0-1 freed; slots
/// 11-100 filled, which moves the cursor off the end; slot 50 freed. The next four pages
/// out take slots 1 and 2, then 3 and 4 from the cache, not 50 (so the device never fills
/// and no asynchronous reclaim is scheduled: the outcome does not depend on timing).
#[test]
fn a_cache_only_slot_the_scan_meets_is_taken_when_swap_is_more_than_half_full() {
    let name = "cache-only slot reused";
    if hostreq::need(name, hostdiff::support()).is_none() {
        return;
    }
    let mut s = Script::new();
    let dev = s.s.add_swap_file(101 * P, None);
    let m = s.anon(104, PROT_READ | PROT_WRITE);
    s.store_on(0, m, 0, 104, 0x5a);
    s.op(Op::Swapon { device: dev });
    s.madvise_on(0, m, 0, 10, MADV_PAGEOUT);
    s.op(Op::Load { addr: at(m, 2), len: 4 * P });
    s.madvise_on(0, m, 0, 2, MADV_DONTNEED);
    s.madvise_on(0, m, 10, 90, MADV_PAGEOUT);
    s.op(Op::Swaps);
    s.madvise_on(0, m, 49, 1, MADV_DONTNEED);
    s.views_on(0, m, 12);
    s.madvise_on(0, m, 100, 4, MADV_PAGEOUT);
    s.op(Op::Swaps);
    s.views_on(0, m, 12);
    s.views_on(0, m, 104);
    s.op(Op::Swapoff { device: dev });
    s.views_on(0, m, 104);
    run_with_swap_files(name, &s.s);
}
