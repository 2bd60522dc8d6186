//! `VmFlags`, the `vm_flags` of a VMA, with Linux's bit values and the two-letter names that
//! `/proc/PID/smaps` prints.

use bitflags::bitflags;

bitflags! {
    /// Flags of a VMA (`vm_flags`), with the bit values of `include/linux/mm.h`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
    pub struct VmFlags: u64 {
        /// Pages may be read.
        const READ = 0x1;
        /// Pages may be written.
        const WRITE = 0x2;
        /// Pages may be executed.
        const EXEC = 0x4;
        /// Writes are shared (MAP_SHARED with write access possible now).
        const SHARED = 0x8;
        /// `mprotect` may add PROT_READ.
        const MAYREAD = 0x10;
        /// `mprotect` may add PROT_WRITE.
        const MAYWRITE = 0x20;
        /// `mprotect` may add PROT_EXEC.
        const MAYEXEC = 0x40;
        /// The mapping was made MAP_SHARED (the `s` in maps).
        const MAYSHARE = 0x80;
        /// A stack that grows down on faults below it.
        const GROWSDOWN = 0x100;
        /// userfaultfd missing-page tracking.
        const UFFD_MISSING = 0x200;
        /// Raw PFN mapping with no `struct page`.
        const PFNMAP = 0x400;
        /// Guard regions may have been installed here (MADV_GUARD_INSTALL): sticky, it
        /// stays through splits, merges, moves and forks, and never stops a merge.
        const MAYBE_GUARD = 0x800;
        /// userfaultfd write-protect tracking.
        const UFFD_WP = 0x1000;
        /// Pages are locked in memory (mlock).
        const LOCKED = 0x2000;
        /// Memory-mapped I/O.
        const IO = 0x4000;
        /// MADV_SEQUENTIAL.
        const SEQ_READ = 0x8000;
        /// MADV_RANDOM.
        const RAND_READ = 0x1_0000;
        /// Not copied on fork (MADV_DONTFORK).
        const DONTCOPY = 0x2_0000;
        /// Cannot be expanded by mremap.
        const DONTEXPAND = 0x4_0000;
        /// Lock pages when they are faulted in (mlock2 MLOCK_ONFAULT).
        const LOCKONFAULT = 0x8_0000;
        /// Charged to the commit limit (overcommit accounting).
        const ACCOUNT = 0x10_0000;
        /// MAP_NORESERVE: not charged.
        const NORESERVE = 0x20_0000;
        /// hugetlbfs mapping.
        const HUGETLB = 0x40_0000;
        /// MAP_SYNC.
        const SYNC = 0x80_0000;
        /// Architecture flag 1 (x86: PAT).
        const ARCH_1 = 0x100_0000;
        /// Child gets zeroed pages on fork (MADV_WIPEONFORK).
        const WIPEONFORK = 0x200_0000;
        /// Left out of core dumps (MADV_DONTDUMP).
        const DONTDUMP = 0x400_0000;
        /// Soft-dirty tracking.
        const SOFTDIRTY = 0x800_0000;
        /// Mixed PFN / page mapping.
        const MIXEDMAP = 0x1000_0000;
        /// MADV_HUGEPAGE.
        const HUGEPAGE = 0x2000_0000;
        /// MADV_NOHUGEPAGE (also set by MAP_STACK).
        const NOHUGEPAGE = 0x4000_0000;
        /// KSM may merge pages (MADV_MERGEABLE).
        const MERGEABLE = 0x8000_0000;
    }
}

/// The smaps `VmFlags:` letters, in bit order (fs/proc/task_mmu.c:show_smap_vma_flags).
const LETTERS: &[(VmFlags, &str)] = &[
    (VmFlags::READ, "rd"),
    (VmFlags::WRITE, "wr"),
    (VmFlags::EXEC, "ex"),
    (VmFlags::SHARED, "sh"),
    (VmFlags::MAYREAD, "mr"),
    (VmFlags::MAYWRITE, "mw"),
    (VmFlags::MAYEXEC, "me"),
    (VmFlags::MAYSHARE, "ms"),
    (VmFlags::GROWSDOWN, "gd"),
    (VmFlags::PFNMAP, "pf"),
    (VmFlags::MAYBE_GUARD, "gu"),
    (VmFlags::LOCKED, "lo"),
    (VmFlags::IO, "io"),
    (VmFlags::SEQ_READ, "sr"),
    (VmFlags::RAND_READ, "rr"),
    (VmFlags::DONTCOPY, "dc"),
    (VmFlags::DONTEXPAND, "de"),
    (VmFlags::LOCKONFAULT, "lf"),
    (VmFlags::ACCOUNT, "ac"),
    (VmFlags::NORESERVE, "nr"),
    (VmFlags::HUGETLB, "ht"),
    (VmFlags::SYNC, "sf"),
    (VmFlags::ARCH_1, "ar"),
    (VmFlags::WIPEONFORK, "wf"),
    (VmFlags::DONTDUMP, "dd"),
    (VmFlags::SOFTDIRTY, "sd"),
    (VmFlags::MIXEDMAP, "mm"),
    (VmFlags::HUGEPAGE, "hg"),
    (VmFlags::NOHUGEPAGE, "nh"),
    (VmFlags::MERGEABLE, "mg"),
    (VmFlags::UFFD_MISSING, "um"),
    (VmFlags::UFFD_WP, "uw"),
];

impl VmFlags {
    /// Flags that make a VMA special: never merged, never expanded (Linux `VM_SPECIAL`).
    pub const SPECIAL: VmFlags = VmFlags::IO.union(VmFlags::DONTEXPAND).union(VmFlags::PFNMAP).union(VmFlags::MIXEDMAP);

    /// READ, WRITE and EXEC (Linux `VM_ACCESS_FLAGS`).
    pub const ACCESS: VmFlags = VmFlags::READ.union(VmFlags::WRITE).union(VmFlags::EXEC);

    /// Flags a merged VMA keeps if either part had them (Linux `VM_STICKY`).
    pub const STICKY: VmFlags = VmFlags::SOFTDIRTY.union(VmFlags::MAYBE_GUARD);

    /// Flags ignored when deciding whether two neighbours can merge.
    pub const IGNORE_MERGE: VmFlags = VmFlags::STICKY;

    /// Returns the smaps `VmFlags:` text, each letter pair followed by a space.
    pub fn smaps_letters(self) -> String {
        let mut s = String::new();
        for &(flag, name) in LETTERS {
            if self.contains(flag) {
                s.push_str(name);
                s.push(' ');
            }
        }
        s
    }

    /// Parses smaps `VmFlags:` letters back into flags; unknown pairs are ignored.
    pub fn from_smaps_letters(text: &str) -> VmFlags {
        text.split_whitespace()
            .filter_map(|w| LETTERS.iter().find(|(_, n)| *n == w).map(|(f, _)| *f))
            .fold(VmFlags::empty(), |a, b| a | b)
    }

    /// Converts `PROT_*` bits to the READ/WRITE/EXEC flags (calc_vm_prot_bits).
    pub fn from_prot(prot: u64) -> VmFlags {
        let mut f = VmFlags::empty();
        if prot & abi::PROT_READ != 0 {
            f |= VmFlags::READ;
        }
        if prot & abi::PROT_WRITE != 0 {
            f |= VmFlags::WRITE;
        }
        if prot & abi::PROT_EXEC != 0 {
            f |= VmFlags::EXEC;
        }
        f
    }

    /// The `rwxp`/`rwxs` permission column of `/proc/PID/maps`.
    pub fn perms(self) -> [u8; 4] {
        [
            if self.contains(VmFlags::READ) { b'r' } else { b'-' },
            if self.contains(VmFlags::WRITE) { b'w' } else { b'-' },
            if self.contains(VmFlags::EXEC) { b'x' } else { b'-' },
            if self.contains(VmFlags::MAYSHARE) { b's' } else { b'p' },
        ]
    }

    /// READ, WRITE and EXEC only.
    pub fn access(self) -> VmFlags {
        self & (VmFlags::READ | VmFlags::WRITE | VmFlags::EXEC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smaps_letters_round_trip() {
        let f =
            VmFlags::READ | VmFlags::WRITE | VmFlags::MAYREAD | VmFlags::MAYWRITE | VmFlags::MAYEXEC | VmFlags::ACCOUNT;
        assert_eq!(f.smaps_letters(), "rd wr mr mw me ac ");
        assert_eq!(VmFlags::from_smaps_letters("rd wr mr mw me ac"), f);
        assert_eq!(&f.perms(), b"rw-p");
    }
}
