//! `/proc/PID/pagemap`: one 64-bit entry per virtual page (fs/proc/task_mmu.c,
//! pte_to_pagemap_entry).
//!
//! Bits 0-54 hold the PFN, shown only to a reader with CAP_SYS_ADMIN (0 otherwise); bit 55
//! is soft-dirty (never set: this kernel has no CONFIG_MEM_SOFT_DIRTY); bit 56 says the page
//! is mapped exactly once (its mapcount, not the anon-exclusive flag); bit 61 marks a
//! page-cache or shmem page; bit 62 a swap entry, whose type (bits 0-4) and
//! slot offset (bits 5-54) replace the PFN, shown under the same condition (a guard marker
//! is one, with bit 58); bit 63 a present PTE, PROT_NONE
//! ones included. The shared zero page is present with its PFN but neither file nor
//! exclusive, as it has no `struct page` to count; a vDSO page is never exclusive, every
//! process of the machine mapping it (measured on 6.18: a random host-differential script,
//! seed 901463 with 120 steps, read the two `[vdso]` pages of its only process as file
//! pages mapped more than once). Untouched pages read 0.

use mm::frame::Owner;
use mm::kernel::Cap;
use mm::pgtable::Pte;
use mm::{Kernel, Pid, SysResult};

/// The PFN field of an entry.
pub const PM_PFN_MASK: u64 = (1 << 55) - 1;
/// Soft-dirty.
pub const PM_SOFT_DIRTY: u64 = 1 << 55;
/// Mapped exactly once.
pub const PM_MMAP_EXCLUSIVE: u64 = 1 << 56;
/// uffd write-protected.
pub const PM_UFFD_WP: u64 = 1 << 57;
/// A guard region (MADV_GUARD_INSTALL).
pub const PM_GUARD_REGION: u64 = 1 << 58;
/// A page-cache or shared anonymous page.
pub const PM_FILE: u64 = 1 << 61;
/// Swapped out.
pub const PM_SWAP: u64 = 1 << 62;
/// Present.
pub const PM_PRESENT: u64 = 1 << 63;

/// The entries for `count` pages from virtual page number `vpn` of `pid`, as a reader in
/// process `reader` sees them (PFNs only with its CAP_SYS_ADMIN). Pages past the user
/// address space are not reported, as Linux stops reading there.
pub fn pagemap(k: &Kernel, pid: Pid, reader: Pid, vpn: u64, count: u64) -> SysResult<Vec<u64>> {
    let id = k.mm_id(pid)?;
    let show_pfn = k.mm_id(reader).map(|r| k.capable(r, Cap::SysAdmin)).unwrap_or(false);
    let mm = k.mm(pid)?;
    let last = mm::layout::TASK_SIZE >> 12;
    let end = vpn.saturating_add(count).min(last);
    let zero = k.machine().frames.zero_pfn();
    let mut out = Vec::with_capacity(end.saturating_sub(vpn).min(1 << 20) as usize);
    for v in vpn..end {
        let va = v << 12;
        let Some(vma) = mm.vmas.containing(va) else {
            out.push(0);
            continue;
        };
        if mm.is_guarded(va) {
            // A guard marker reads as a swap entry (the slot shown only to CAP_SYS_ADMIN).
            let slot = if show_pfn { mm::ops::guard::GUARD_PAGEMAP_BITS } else { 0 };
            out.push(PM_SWAP | PM_GUARD_REGION | slot);
            continue;
        }
        let pte: Pte = k.pte(id, va);
        if let Some((e, _)) = mm::swap::SwapEntry::from_pte(pte) {
            // The slot is shown only to CAP_SYS_ADMIN, like a PFN.
            out.push(PM_SWAP | if show_pfn { e.pagemap_bits() & PM_PFN_MASK } else { 0 });
            continue;
        }
        if !pte.mapped() {
            out.push(0);
            continue;
        }
        let pfn = pte.pfn();
        let mut e = PM_PRESENT;
        if show_pfn {
            e |= pfn.as_u64() & PM_PFN_MASK;
        }
        if pfn != zero {
            let meta = k.machine().frames.meta(pfn);
            if meta.owner != Owner::Anon {
                e |= PM_FILE;
            }
            // The vDSO's pages are mapped by every process of the machine that touched
            // them (init and its daemons at least), which the model does not have.
            if meta.mapcount == 1 && vma.special.is_none() {
                e |= PM_MMAP_EXCLUSIVE;
            }
        }
        out.push(e);
    }
    Ok(out)
}

/// The bytes a `pread` of `len` bytes at `offset` of `/proc/PID/pagemap` returns: both must
/// be multiples of 8 (EINVAL otherwise).
pub fn pagemap_read(k: &Kernel, pid: Pid, reader: Pid, offset: u64, len: u64) -> SysResult<Vec<u8>> {
    if !offset.is_multiple_of(8) || !len.is_multiple_of(8) {
        return Err(mm::Errno::EINVAL);
    }
    let entries = pagemap(k, pid, reader, offset / 8, len / 8)?;
    Ok(entries.iter().flat_map(|e| e.to_le_bytes()).collect())
}
