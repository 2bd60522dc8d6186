//! The `swapon` and `swapoff` calls (mm/swapfile.c).
//!
//! swapon adds a device made by mkswap: `pages` pages, the first one the header. Its
//! priority is the one given (0..=32767) or, without one, the next below every earlier
//! default (-2, -3, ...). Pages go to the highest-priority device with room.
//!
//! swapoff (`try_to_unuse`) brings every page of the device back: first the shmem pages,
//! into their objects' page caches, unmapped (`shmem_unuse`); then each swap PTE naming
//! it, in every address space, is replaced by a mapping of the page (`unuse_pte`:
//! read-only and old, exclusive if the swap PTE said so), reading the page in if the swap
//! cache does not hold it; then every swap-cache page of the device leaves the cache,
//! dirty. Not enough memory for that: ENOMEM and the device stays. Afterwards the
//! priorities of the default-priority devices below it move up by one, as Linux does.

use super::{SwapDevice, SwapEntry, MAX_SWAPFILES};
use crate::event::EventKind;
use crate::frame::{PageFlags, Pfn};
use crate::kernel::{rss_add, Kernel, RssKind};
use crate::layout::*;
use crate::pages::PageCount;
use crate::pgtable::{Pte, PteFlags};
use abi::{Errno, SysResult};

/// A swap device to activate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwapSpec {
    /// Its path (shown in /proc/swaps).
    pub path: String,
    /// Its size in bytes, header page included (the size of the file mkswap prepared).
    pub size: u64,
    /// `SWAP_FLAG_PREFER` with this priority; `None`: the next default one.
    pub priority: Option<i32>,
    /// A block device ("partition") rather than a file.
    pub partition: bool,
}

/// mkswap refuses anything smaller than 10 pages.
const MIN_SWAP_PAGES: u64 = 10;
/// Highest priority swapon accepts (SWAP_FLAG_PRIO_MASK).
const MAX_SWAP_PRIO: i32 = 0x7fff;

impl Kernel {
    /// swapon(2): activates a swap device.
    ///
    /// EBUSY if the path is already active, EINVAL for a device too small to hold a swap
    /// header and one page (or a priority out of range), EPERM when MAX_SWAPFILES are
    /// active.
    pub fn swapon(&mut self, spec: &SwapSpec) -> SysResult<()> {
        if spec.priority.is_some_and(|p| !(0..=MAX_SWAP_PRIO).contains(&p)) {
            return Err(Errno::EINVAL);
        }
        let swap = &mut self.m.swap;
        if swap.devices.iter().flatten().any(|d| d.path == spec.path) {
            return Err(Errno::EBUSY);
        }
        let pages = spec.size >> PAGE_SHIFT;
        if pages < MIN_SWAP_PAGES {
            return Err(Errno::EINVAL);
        }
        let t = match swap.devices.iter().position(Option::is_none) {
            Some(t) => t,
            None if swap.devices.len() < MAX_SWAPFILES => {
                swap.devices.push(None);
                swap.devices.len() - 1
            }
            None => return Err(Errno::EPERM),
        };
        let prio = match spec.priority {
            Some(p) => p,
            None => {
                swap.least_priority -= 1;
                swap.least_priority
            }
        };
        swap.devices[t] = Some(SwapDevice::new(&spec.path, pages, prio, spec.partition));
        swap.avail_add(t as u8);
        Ok(())
    }

    /// swapoff(2): brings every page of the device at `path` back into memory and
    /// deactivates it. EINVAL if no active device has that path; ENOMEM if memory runs
    /// out (the device then stays active, with what could not come back).
    pub fn swapoff(&mut self, path: &str) -> SysResult<()> {
        let t = self.m.swap.devices.iter().position(|d| d.as_ref().is_some_and(|d| d.path == path));
        let Some(t) = t else { return Err(Errno::EINVAL) };
        // No new page goes to the device while its pages come back; it takes pages again
        // if they cannot all come back.
        self.m.swap.avail_remove(t as u8);
        if let Err(e) = self.try_to_unuse(t as u8) {
            self.m.swap.avail_add(t as u8);
            return Err(e);
        }
        // The slots freed on the way put a device that was full back on the list.
        self.m.swap.avail_remove(t as u8);
        let dev = self.m.swap.devices[t].take().expect("active device");
        if dev.prio < 0 {
            for d in self.m.swap.devices.iter_mut().flatten() {
                if d.prio < dev.prio {
                    d.prio += 1;
                }
            }
            self.m.swap.least_priority += 1;
        }
        while self.m.swap.devices.last().is_some_and(Option::is_none) {
            self.m.swap.devices.pop();
        }
        Ok(())
    }

    /// try_to_unuse: maps back every page swapped to device `t` and empties its part of
    /// the swap cache.
    fn try_to_unuse(&mut self, t: u8) -> SysResult<()> {
        self.shmem_unuse(t)?;
        let ids: Vec<crate::mm_table::MmId> = self.mms.iter().map(|(id, _)| id).collect();
        for id in ids {
            let pgd = self.mms[id].pgd;
            let vmas: Vec<crate::vma::Vma> = self.mms[id].vmas.iter().cloned().collect();
            for v in vmas {
                // Swap PTEs are in private mappings only, file-backed ones included (their
                // written, copied pages are anonymous); a shared mapping's swapped pages
                // are its object's (shmem_unuse, above).
                if v.flags.contains(crate::flags::VmFlags::MAYSHARE) {
                    continue;
                }
                for (base, table) in crate::pgtable::leaf_tables(&self.m.frames, pgd, v.start, v.end) {
                    let (lo, hi) = (v.start.max(base), v.end.min(base + crate::pgtable::leaf_span(&self.m.frames)));
                    for va in (lo..hi).step_by(PAGE_SIZE as usize) {
                        let pte = Pte(self.m.frames.table(table)[((va - base) >> PAGE_SHIFT) as usize]);
                        let Some((e, exclusive)) = SwapEntry::from_pte(pte) else { continue };
                        if e.swap_type != t {
                            continue;
                        }
                        let pfn = self.swap_cache_page(e).ok_or(Errno::ENOMEM)?;
                        self.unuse_pte(id, &v, va, pfn, e, exclusive);
                    }
                }
            }
        }
        let cached: Vec<_> = self.m.swap.cache_iter().filter(|(e, _)| e.swap_type == t).map(|(_, p)| p).collect();
        for pfn in cached {
            self.folio_free_swap(pfn);
        }
        debug_assert_eq!(self.m.swap.device(t).map(|d| d.inuse()), Some(0), "swapoff left slots in use");
        Ok(())
    }

    /// unuse_pte: `va` in `id` named slot `e`; map its swap-cache page `pfn` there.
    fn unuse_pte(
        &mut self,
        id: crate::mm_table::MmId,
        v: &crate::vma::Vma,
        va: u64,
        pfn: Pfn,
        e: SwapEntry,
        exclusive: bool,
    ) {
        let flags = self.pte_flags_for(v, false, false) - PteFlags::ACCESSED;
        self.set_pte(id, va, Pte::new(pfn, flags)).expect("the PTE's table exists");
        self.m.frames.get(pfn);
        let m = self.m.frames.meta_mut(pfn);
        m.mapcount += 1;
        if exclusive {
            m.flags |= PageFlags::ANON_EXCLUSIVE;
        } else {
            m.flags -= PageFlags::ANON_EXCLUSIVE;
        }
        if v.flags.contains(crate::flags::VmFlags::LOCKED) {
            self.m.mlock_page(pfn);
        }
        self.m.swap_put(e);
        let mm = self.mm_mut(id);
        rss_add(mm, RssKind::Anon, 1);
        mm.rss.swap -= PageCount::new(1);
        let pid = self.task_of_mm(id).map_or(0, |t| t.pid);
        self.m.log(pid, va, false, EventKind::Unuse { swap_type: e.swap_type, offset: e.offset });
    }
}
