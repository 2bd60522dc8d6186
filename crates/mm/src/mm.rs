//! `Mm`: one address space (`mm_struct`): its VMAs, page-table root, layout fields and
//! counters.

use crate::frame::Pfn;
use crate::pages::PageCount;
use crate::vma_tree::VmaTree;

/// Resident-page counters of an address space (Linux `mm_rss_stat`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rss {
    /// MM_ANONPAGES.
    pub anon: PageCount,
    /// MM_FILEPAGES.
    pub file: PageCount,
    /// MM_SHMEMPAGES.
    pub shmem: PageCount,
    /// MM_SWAPENTS: swap PTEs (not resident, so not in [`Rss::total`]).
    pub swap: PageCount,
}

impl Rss {
    /// All resident pages.
    pub fn total(&self) -> PageCount {
        self.anon + self.file + self.shmem
    }
}

/// An address space.
///
/// # Invariants
/// VMAs are sorted and disjoint (kept by [`VmaTree`]); `total_vm` is the sum of VMA pages;
/// the RSS counters equal the present, non-zero-page PTEs of each kind; `pgtable_pages` is the
/// number of PUD, PMD and PTE tables reachable from `pgd`.
#[derive(Clone, Debug)]
pub struct Mm {
    /// The VMAs.
    pub vmas: VmaTree,
    /// Root page table (PGD) frame.
    pub pgd: Pfn,
    /// Tasks using this address space (`mm_users`).
    pub users: u32,
    /// References to the structure (`mm_count`): 1 for all users together plus lazy holders.
    pub count: u32,
    /// The shape of this address space: 64-bit or ia32 compat, its TASK_SIZE and where
    /// exec and mmap put things.
    pub space: crate::space::UserSpace,
    /// Top of the top-down mmap area.
    pub mmap_base: u64,
    /// Base of the bottom-up (legacy) mmap area.
    pub mmap_legacy_base: u64,
    /// Whether unplaced mappings go bottom-up from `mmap_legacy_base` (the legacy layout
    /// exec picks for an unlimited stack or ADDR_COMPAT_LAYOUT) instead of top-down.
    pub legacy_layout: bool,
    /// Start of the brk heap.
    pub start_brk: u64,
    /// Current program break (not page-rounded).
    pub brk: u64,
    /// Address inside the initial stack VMA (`[stack]` is the VMA containing it).
    pub start_stack: u64,
    /// Start of the code segment.
    pub start_code: u64,
    /// End of the code segment.
    pub end_code: u64,
    /// Start of the data segment.
    pub start_data: u64,
    /// End of the data segment.
    pub end_data: u64,
    /// Argument strings.
    pub arg_start: u64,
    /// End of argument strings.
    pub arg_end: u64,
    /// Environment strings.
    pub env_start: u64,
    /// End of environment strings.
    pub env_end: u64,
    /// Pages in all VMAs.
    pub total_vm: PageCount,
    /// Pages of VM_LOCKED VMAs, plus `locked_vm_stale`.
    pub locked_vm: PageCount,
    /// Pages that stay counted in `locked_vm` although no VMA holds them locked any more:
    /// MREMAP_DONTUNMAP unlocks the old VMA without uncounting it, as Linux does.
    pub locked_vm_stale: PageCount,
    /// Pages pinned.
    pub pinned_vm: PageCount,
    /// Pages of private writable non-stack VMAs.
    pub data_vm: PageCount,
    /// Pages of executable, non-writable, non-stack VMAs.
    pub exec_vm: PageCount,
    /// Pages of stack VMAs.
    pub stack_vm: PageCount,
    /// Highest total_vm seen (VmPeak).
    pub hiwater_vm: PageCount,
    /// Highest RSS seen (VmHWM).
    pub hiwater_rss: PageCount,
    /// Resident pages.
    pub rss: Rss,
    /// Page-table pages below the PGD (`mm_pgtables_bytes` in pages), `pti_pmd` included.
    pub pgtable_pages: u64,
    /// PAE with page-table isolation: the PMD of the user copy of the PDPT's kernel entry,
    /// made with the root and freed with it, outside the user walk.
    pub pti_pmd: Option<Pfn>,
    /// THP is disabled for this address space (prctl PR_SET_THP_DISABLE, MMF_DISABLE_THP):
    /// smaps says THPeligible 0 and MADV_COLLAPSE fails.
    pub thp_disabled: bool,
    /// Flags applied to every new mapping (VM_LOCKED after mlockall(MCL_FUTURE)).
    pub def_flags: crate::flags::VmFlags,
    /// Pages that hold a guard marker (MADV_GUARD_INSTALL): no page, and an access is a
    /// SIGSEGV. Linux keeps the marker in the PTE; here it is beside the page tables, whose
    /// PTE at the address stays empty (see `ops::guard`).
    pub guards: std::collections::BTreeSet<u64>,
}

impl Mm {
    /// An address space with no VMAs and one user, with the page tables `roots` (the root
    /// and what the geometry preallocates with it), laid out top-down from `mmap_base`.
    pub(crate) fn new(roots: crate::pgtable::RootTables, stack_guard_gap: u64, mmap_base: u64) -> Mm {
        Mm {
            vmas: VmaTree::new(stack_guard_gap),
            pgd: roots.root,
            pti_pmd: roots.pti_pmd,
            users: 1,
            count: 1,
            space: crate::space::UserSpace::x86_64(),
            mmap_base,
            mmap_legacy_base: crate::layout::TASK_UNMAPPED_BASE,
            legacy_layout: false,
            start_brk: 0,
            brk: 0,
            start_stack: 0,
            start_code: 0,
            end_code: 0,
            start_data: 0,
            end_data: 0,
            arg_start: 0,
            arg_end: 0,
            env_start: 0,
            env_end: 0,
            total_vm: PageCount::ZERO,
            locked_vm: PageCount::ZERO,
            locked_vm_stale: PageCount::ZERO,
            pinned_vm: PageCount::ZERO,
            data_vm: PageCount::ZERO,
            exec_vm: PageCount::ZERO,
            stack_vm: PageCount::ZERO,
            hiwater_vm: PageCount::ZERO,
            hiwater_rss: PageCount::ZERO,
            rss: Default::default(),
            pgtable_pages: roots.counted,
            thp_disabled: false,
            def_flags: crate::flags::VmFlags::empty(),
            guards: std::collections::BTreeSet::new(),
        }
    }

    /// An address space with nothing in it, for unit tests that need one.
    #[cfg(test)]
    pub(crate) fn empty_for_tests() -> Mm {
        Mm::new(crate::pgtable::RootTables::NONE, 0, 0)
    }

    /// Gives this address space the page tables `roots` (a fork's child, made without any).
    pub(crate) fn set_roots(&mut self, roots: crate::pgtable::RootTables) {
        debug_assert_eq!(self.pgtable_pages, 0, "an address space gets its roots once");
        self.pgd = roots.root;
        self.pti_pmd = roots.pti_pmd;
        self.pgtable_pages = roots.counted;
    }

    /// Number of VMAs (`map_count`).
    pub fn map_count(&self) -> usize {
        self.vmas.len()
    }

    /// Records a new RSS high-water mark before the RSS drops (Linux updates VmHWM lazily).
    pub fn update_hiwater_rss(&mut self) {
        self.hiwater_rss = self.hiwater_rss.max(self.rss.total());
    }

    /// Records a new total_vm high-water mark before it drops.
    pub fn update_hiwater_vm(&mut self) {
        self.hiwater_vm = self.hiwater_vm.max(self.total_vm);
    }
}
