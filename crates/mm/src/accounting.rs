//! Per-address-space counters: the RSS counters by kind of page, and the VM counters
//! (total, locked, data, exec, stack) a VMA's pages count in.

use crate::flags::VmFlags;
use crate::mm::Mm;

/// The three RSS counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RssKind {
    /// Anonymous pages.
    Anon,
    /// File pages.
    File,
    /// Shmem pages.
    Shmem,
}

/// Adds `delta` pages to one RSS counter.
pub fn rss_add(mm: &mut Mm, kind: RssKind, delta: i64) {
    if delta < 0 {
        mm.update_hiwater_rss();
    }
    let c = match kind {
        RssKind::Anon => &mut mm.rss.anon,
        RssKind::File => &mut mm.rss.file,
        RssKind::Shmem => &mut mm.rss.shmem,
    };
    c.add_signed(delta);
}

/// Accounts `pages` of a VMA with `flags` to the mm's per-kind counters (vm_stat_account).
pub fn vm_stat_account(mm: &mut Mm, flags: VmFlags, pages: i64) {
    if pages < 0 {
        mm.update_hiwater_vm();
    }
    mm.total_vm.add_signed(pages);
    if flags.contains(VmFlags::LOCKED) {
        mm.locked_vm.add_signed(pages);
    }
    let stack = flags.contains(VmFlags::GROWSDOWN);
    if flags.contains(VmFlags::EXEC) && !flags.contains(VmFlags::WRITE) && !stack {
        mm.exec_vm.add_signed(pages);
    } else if stack {
        mm.stack_vm.add_signed(pages);
    } else if flags & (VmFlags::WRITE | VmFlags::SHARED) == VmFlags::WRITE {
        mm.data_vm.add_signed(pages);
    }
}
