//! process_vm_readv of a process's memory by another one (what a tracer such as strace does
//! to print a buffer). The pages are pinned for reading (pin_user_pages_remote, without
//! FOLL_FORCE), and a read pin of an anonymous page of a private mapping that another
//! address space may still map (not exclusive since a fork) unshares it first: a page
//! mapped elsewhere too is copied, and the copy is mapped write-protected and young, and
//! dirty on kernels that make it so whatever the shared entry was (see
//! [`crate::Config::unshare_copies_dirty`]), so that what the pin holds stays what this
//! process sees. A tracer's reads thus change the target's smaps (Private_Dirty, or
//! Private_Clean, where Shared_Dirty was).

use super::fault::Gup;
use crate::flags::VmFlags;
use crate::frame::{Owner, PageFlags};
use crate::kernel::{rss_add, Kernel, Pid, RssKind};
use crate::layout::*;
use crate::mm_table::MmId;
use crate::pgtable::Pte;
use abi::{Errno, SysResult};

impl Kernel {
    /// Reads `[addr, addr + len)` of `pid`'s memory as another process's process_vm_readv
    /// does: faults each page in for reading, unshares it (see the module) and marks the
    /// page it then maps accessed (a shared page the unshare replaced stays untouched),
    /// then copies.
    /// Returns the bytes up to the first page that cannot be read; EFAULT when that is the
    /// first.
    pub fn process_vm_read(&mut self, pid: Pid, addr: u64, len: u64) -> SysResult<Vec<u8>> {
        self.mm_id(pid)?;
        let end = addr.checked_add(len).ok_or(Errno::EFAULT)?;
        let mut page = addr & PAGE_MASK;
        while page < end {
            let gup = Gup { write: false, force: false, madv_populate: false, pin_unshare: true };
            if self.get_user_pages(pid, page, page + PAGE_SIZE, gup).is_err() {
                break;
            }
            page += PAGE_SIZE;
        }
        let readable = page.clamp(addr, end) - addr;
        if readable == 0 && len > 0 {
            return Err(Errno::EFAULT);
        }
        self.copy_from_user(pid, addr, readable)
    }

    /// FAULT_FLAG_UNSHARE at `va`: a present anonymous page of a private VMA that is not
    /// exclusive to this address space becomes so: kept when nothing else holds it, else
    /// replaced by a copy mapped read-only (dirty only as the module says).
    pub(crate) fn unshare_anon_page(&mut self, pid: Pid, id: MmId, va: u64) {
        let pte = self.pte(id, va);
        let Some(vma) = self.mms[id].vmas.containing(va).cloned() else { return };
        let pfn = pte.pfn();
        if !pte.present() || !vma.is_cow() || pfn == self.m.frames.zero_pfn() {
            return;
        }
        let meta = self.m.frames.meta(pfn);
        if meta.owner != Owner::Anon || meta.flags.contains(PageFlags::ANON_EXCLUSIVE) {
            return;
        }
        // A reference held by another CPU's lazy-free batch counts: this CPU cannot drain it.
        let batched = u32::from(meta.flags.contains(PageFlags::LAZYFREE_BATCHED));
        if meta.refcount + batched == 1 {
            self.m.frames.meta_mut(pfn).flags |= PageFlags::ANON_EXCLUSIVE;
            return;
        }
        let before = self.charging_as(pid);
        self.anon_vma_prepare(id, vma.start);
        let new = self.alloc_anon_page();
        self.m.frames.memcgs.charge_to = before;
        let Ok(new) = new else { return };
        self.m.frames.copy_frame(pfn, new);
        let flags = self.pte_flags_for(&vma, false, self.m.config.unshare_copies_dirty);
        if self.set_pte(id, va, Pte::new(new, flags)).is_err() {
            self.m.frames.put(new);
            return;
        }
        self.m.frames.meta_mut(new).mapcount += 1;
        let locked = vma.flags.contains(VmFlags::LOCKED);
        if locked {
            self.m.mlock_page(new);
            self.m.munlock_page(pfn);
        }
        let old_kind = self.m.rss_kind(pfn);
        rss_add(self.mm_mut(id), RssKind::Anon, 1);
        rss_add(self.mm_mut(id), old_kind, -1);
        self.m.frames.meta_mut(pfn).mapcount -= 1;
        self.m.frames.put(pfn);
    }
}
