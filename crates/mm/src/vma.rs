//! `Vma`: one virtual memory area (`vm_area_struct`).

use crate::file::{FileId, OpenFileId};
use crate::flags::VmFlags;
use crate::layout::PAGE_SHIFT;

/// The file behind a mapping: which file, through which open file description.
///
/// Linux merges neighbours only when they share the same `struct file`, so the open file
/// description is part of a mapping's identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VmaFile {
    /// The file (inode).
    pub file: FileId,
    /// The open file description (`struct file`) the mapping was made through.
    pub open: OpenFileId,
}

/// The anonymous-memory identity of a VMA (its `anon_vma`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AnonVma {
    /// Identity of the `anon_vma`.
    pub id: u64,
    /// True when the VMA's anon_vma chain holds more than its own anon_vma (it was
    /// inherited on fork); Linux then refuses to merge it with a VMA that has none.
    pub inherited: bool,
}

/// Mappings the kernel installs itself, with their own names and rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Special {
    /// `[vvar]`: vDSO data pages.
    Vvar,
    /// `[vvar_vclock]`: clock pages.
    VvarVclock,
    /// `[vdso]`: vDSO code.
    Vdso,
}

impl Special {
    /// The name `/proc/PID/maps` prints.
    pub fn name(self) -> &'static str {
        match self {
            Special::Vvar => "[vvar]",
            Special::VvarVclock => "[vvar_vclock]",
            Special::Vdso => "[vdso]",
        }
    }
}

/// A virtual memory area.
///
/// # Invariants
/// `start < end`, both page-aligned and at most `TASK_SIZE`. Anonymous private VMAs have
/// `pgoff == start >> 12` when created (it moves with mremap). A VMA with `VmFlags::SHARED`
/// also has `MAYSHARE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vma {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Flags.
    pub flags: VmFlags,
    /// Offset in pages into the file (for anonymous memory, the virtual page number at
    /// creation).
    pub pgoff: u64,
    /// The backing file, if any (shared anonymous memory has a shmem file).
    pub file: Option<VmaFile>,
    /// The anon_vma, once the VMA has anonymous pages (or inherited one).
    pub anon_vma: Option<AnonVma>,
    /// A kernel-installed special mapping.
    pub special: Option<Special>,
}

impl Vma {
    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Never true: VMAs are non-empty. Present for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Number of pages.
    pub fn pages(&self) -> u64 {
        self.len() >> PAGE_SHIFT
    }

    /// Whether `addr` lies inside.
    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }

    /// The file page index of virtual address `addr` (linear_page_index).
    pub fn page_index(&self, addr: u64) -> u64 {
        ((addr - self.start) >> PAGE_SHIFT).wrapping_add(self.pgoff)
    }

    /// Whether this is an anonymous mapping (no file, or a shared-anonymous shmem file
    /// counts as file here; see [`Vma::is_anonymous`]).
    pub fn is_private_anon(&self) -> bool {
        self.file.is_none() && self.special.is_none()
    }

    /// A private mapping that may become writable: writes copy (is_cow_mapping).
    pub fn is_cow(&self) -> bool {
        !self.flags.contains(VmFlags::SHARED) && self.flags.contains(VmFlags::MAYWRITE)
    }

    /// Returns the part `[from, to)` of this VMA as a new VMA (pgoff adjusted).
    pub fn slice(&self, from: u64, to: u64) -> Vma {
        debug_assert!(self.start <= from && from < to && to <= self.end);
        Vma { start: from, end: to, pgoff: self.page_index(from), ..self.clone() }
    }
}
