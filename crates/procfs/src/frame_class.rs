//! What one allocated frame counts as in the memory summaries: what it holds (anonymous
//! memory, a page of a regular file or of shmem, a page table, a kernel allocation), the
//! LRU list it sits on, whether some process maps it and whether it is dirty page cache.
//! `/proc/meminfo` (and vmstat) and a memory cgroup's `memory.stat` add up the same
//! classification, each over its own frames.

use mm::file::FileKind;
use mm::frame::{FrameMeta, KernelUse, Owner, PageFlags};
use mm::Kernel;

/// What a frame holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FrameUse {
    /// Anonymous memory.
    Anon,
    /// A page-cache page; `shmem` for tmpfs, memfd, SysV shm and shared anonymous memory.
    File { shmem: bool },
    /// A page table of a process (the kernel's own are `Kernel`).
    PageTable,
    /// An allocation of the kernel's own.
    Kernel(KernelUse),
    /// Free or reserved.
    None,
}

/// The LRU list a frame is on (reclaim's view: swap-backed pages go on the anon lists,
/// the others, lazily freed anonymous pages included, on the file lists).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lru {
    InactiveAnon,
    ActiveAnon,
    InactiveFile,
    ActiveFile,
    /// mlocked.
    Unevictable,
}

/// One frame, classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameClass {
    pub use_: FrameUse,
    /// None for page tables, kernel and free frames.
    pub lru: Option<Lru>,
    /// Some process maps it.
    pub mapped: bool,
    /// A dirty page of a regular file (shmem pages are never written back, so never
    /// counted dirty).
    pub dirty: bool,
}

/// Classifies the allocated frame `meta` of `k`.
pub(crate) fn classify(k: &Kernel, meta: &FrameMeta) -> FrameClass {
    let use_ = match meta.owner {
        Owner::Anon => FrameUse::Anon,
        Owner::File { file, .. } => {
            let shmem = k
                .machine()
                .files
                .get(file as usize)
                .and_then(|f| f.as_ref())
                .is_some_and(|f| f.kind != FileKind::Regular);
            FrameUse::File { shmem }
        }
        Owner::PageTable => FrameUse::PageTable,
        Owner::Kernel(u) => FrameUse::Kernel(u),
        Owner::Free | Owner::Reserved => FrameUse::None,
    };
    let swap_backed = match use_ {
        FrameUse::Anon => Some(meta.flags.contains(PageFlags::SWAPBACKED)),
        FrameUse::File { shmem } => Some(shmem),
        _ => None,
    };
    let active = meta.flags.contains(PageFlags::ACTIVE);
    let lru = swap_backed.map(|anon_list| match (meta.flags.contains(PageFlags::MLOCKED), anon_list, active) {
        (true, _, _) => Lru::Unevictable,
        (false, true, false) => Lru::InactiveAnon,
        (false, true, true) => Lru::ActiveAnon,
        (false, false, false) => Lru::InactiveFile,
        (false, false, true) => Lru::ActiveFile,
    });
    let dirty = use_ == FrameUse::File { shmem: false } && meta.flags.contains(PageFlags::DIRTY);
    FrameClass { use_, lru, mapped: meta.mapcount > 0, dirty }
}
