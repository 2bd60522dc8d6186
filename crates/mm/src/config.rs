//! The settings of the simulated machine: sysctls, the limits a shell hands its children,
//! capabilities, the THP mode. Tasks may override the limits for themselves (see
//! [`crate::task::TaskLimits`]).

use crate::layout::*;

/// Transparent huge page mode (`/sys/kernel/mm/transparent_hugepage/enabled`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThpMode {
    /// THP everywhere.
    Always,
    /// Only in MADV_HUGEPAGE regions.
    Madvise,
    /// Never.
    Never,
}

/// Settings of the simulated machine: sysctls, limits, capabilities.
#[derive(Clone, Debug)]
pub struct Config {
    /// Simulated RAM in bytes.
    pub ram_bytes: u64,
    /// `vm.max_map_count`.
    pub max_map_count: u64,
    /// `vm.mmap_min_addr`: MAP_FIXED below it needs CAP_SYS_RAWIO.
    pub mmap_min_addr: u64,
    /// The kernel's effective `mmap_min_addr` (max of the sysctl and the LSM value): hints
    /// are raised to it and top-down placement stops at it.
    pub lsm_mmap_min_addr: u64,
    /// `stack_guard_gap` in bytes.
    pub stack_guard_gap: u64,
    /// `fault_around_bytes`.
    pub fault_around_bytes: u64,
    /// Whether the kernel places large mappings 2 MiB-aligned (thp_get_unmapped_area for
    /// anonymous mappings of a multiple of 2 MiB and for regular files): Linux 6.7 and
    /// later do; older kernels place them where the search finds room (measured on 6.1).
    pub thp_aligned_placement: bool,
    /// The read-ahead window of the disk files are on (`read_ahead_kb` of its backing
    /// device), in KiB: how much a page-cache miss of a mapped file reads around the page.
    /// 128 is the kernel's default (VM_READAHEAD_PAGES); disks often set more.
    pub read_ahead_kb: u64,
    /// The process has CAP_SYS_RAWIO (root).
    pub cap_sys_rawio: bool,
    /// THP mode; with THP compiled in, large anonymous mappings are 2 MiB-aligned.
    pub thp: ThpMode,
    /// RLIMIT_STACK soft limit in bytes (u64::MAX = unlimited).
    pub rlimit_stack: u64,
    /// RLIMIT_DATA soft limit in bytes.
    pub rlimit_data: u64,
    /// RLIMIT_AS soft limit in bytes.
    pub rlimit_as: u64,
    /// RLIMIT_MEMLOCK soft limit in bytes.
    pub rlimit_memlock: u64,
    /// How many events the log keeps (0 = no log).
    pub event_capacity: usize,
    /// Run every invariant check after every system call (slow; for tests).
    pub paranoid: bool,
    /// The CPU has protection keys (smaps prints a ProtectionKey line).
    pub pkeys: bool,
    /// smaps prints a `KSM` line in each record: the x86-64 host's kernel does, the 6.1
    /// kernels of the i386 profiles do not (tests/golden/i386/*/cat-self-smaps.txt).
    pub smaps_ksm_line: bool,
    /// mprotect taking write permission away from a private anonymous VMA that never had a
    /// page (no anon_vma) also stops charging it (drops VM_ACCOUNT), as the x86-64 host's
    /// kernel does; the 6.1 kernels of the i386 profiles keep the charge, so such a VMA does
    /// not merge with a neighbour that was never writable (tests/golden/i386/*/rie.txt: a
    /// PROT_NONE page mprotect'ed to PROT_READ and the PROT_READ|PROT_WRITE page after it
    /// mprotect'ed to PROT_READ stay two VMAs).
    pub mprotect_unaccounts_unfaulted: bool,
    /// A read pin (a tracer's process_vm_readv) that gives a process its own copy of an
    /// anonymous page it still shared since a fork maps the copy dirty, whatever the shared
    /// entry's dirty bit, so that smaps counts it Private_Dirty: the 6.18.44 kernel does
    /// (`tests/progs/tracer_unshare.c` in `replay`, recorded when its test runs: a page
    /// written before the fork, and one MADV_FREE cleaned), an earlier 6.18 build mapped the
    /// copy clean (Private_Clean). A replay learns which from the log's smaps.
    pub unshare_copies_dirty: bool,
    /// The inode number after which the model numbers the objects it makes (shared memory,
    /// memfd, pipes): the first gets `first_ino + 1`. Linux hands them out from a counter
    /// shared by the whole machine (each CPU takes batches of it), so no number is
    /// predictable; a replay starts above every number Linux can give (they are 32-bit),
    /// so that the model's numbers, which name the objects until a read shows theirs, never
    /// equal a number the log shows.
    pub first_ino: u64,
    /// Pages of the vDSO parts execve maps.
    pub vdso: crate::ops::exec::VdsoLayout,
    /// The bytes of the vDSO's code pages (`[vdso]`), as the kernel being modelled has
    /// them (the caller reads them from the host, e.g. through `/proc/self/mem` at
    /// `AT_SYSINFO_EHDR`). `None`: the pages read as zeros.
    pub vdso_image: Option<std::sync::Arc<[u8]>>,
    /// The bytes of the 32-bit vDSO's code pages an x86-64 kernel maps into ia32 compat
    /// processes (its `vdso32` image, built apart from the 64-bit one: a 32-bit process of
    /// the host can read it from its own `[vdso]`). `None`: those pages read as zeros. The
    /// native i386 profiles have no compat processes: their image is `vdso_image`.
    pub vdso32_image: Option<std::sync::Arc<[u8]>>,
    /// Processes have CAP_IPC_LOCK (root): mlock ignores RLIMIT_MEMLOCK.
    pub cap_ipc_lock: bool,
    /// Processes have CAP_SYS_ADMIN (root): pagemap shows PFNs, and the overcommit check
    /// does not keep the admin reserve back.
    pub cap_sys_admin: bool,
    /// Whether tasks hold CAP_SYS_RESOURCE (see [`Cap::SysResource`]).
    pub cap_sys_resource: bool,
    /// `vm.page-cluster`: swap readahead reads at most 2^page_cluster pages (at most 32).
    pub page_cluster: u32,
    /// `vm.swappiness` (0-200): how much of reclaim's scan goes to anonymous memory.
    pub swappiness: u32,
    /// `vm.min_free_kbytes`; `None` computes Linux's boot default from the RAM size.
    pub min_free_kbytes: Option<u64>,
    /// `vm.overcommit_memory`: 0 heuristic, 1 always, 2 never (strict accounting).
    pub overcommit_memory: u8,
    /// `vm.overcommit_ratio` (percent of RAM in the commit limit when `overcommit_kbytes` is 0).
    pub overcommit_ratio: u64,
    /// `vm.overcommit_kbytes` (0: use the ratio).
    pub overcommit_kbytes: u64,
    /// `vm.admin_reserve_kbytes`; `None` computes Linux's boot default from the RAM size.
    pub admin_reserve_kbytes: Option<u64>,
    /// `vm.user_reserve_kbytes`; `None` computes Linux's boot default from the RAM size.
    pub user_reserve_kbytes: Option<u64>,
    /// Which kernel the machine runs: x86-64 (default), or native i386 with or without PAE
    /// (the kernel half's layout, zones and page-table format; see [`crate::kalloc`]).
    pub kernel_arch: crate::kalloc::KernelArch,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ram_bytes: 4 << 30,
            max_map_count: 65530,
            mmap_min_addr: 4096,
            lsm_mmap_min_addr: 65536,
            stack_guard_gap: 256 * PAGE_SIZE,
            fault_around_bytes: 64 << 10,
            thp_aligned_placement: true,
            read_ahead_kb: 128,
            cap_sys_rawio: true,
            thp: ThpMode::Madvise,
            rlimit_stack: 8 << 20,
            rlimit_data: u64::MAX,
            rlimit_as: u64::MAX,
            rlimit_memlock: 8 << 20,
            event_capacity: 100_000,
            paranoid: false,
            pkeys: true,
            smaps_ksm_line: true,
            mprotect_unaccounts_unfaulted: true,
            unshare_copies_dirty: true,
            first_ino: 1000,
            vdso: Default::default(),
            vdso_image: None,
            vdso32_image: None,
            cap_ipc_lock: true,
            cap_sys_admin: true,
            cap_sys_resource: true,
            page_cluster: 3,
            swappiness: 60,
            min_free_kbytes: None,
            overcommit_memory: 0,
            overcommit_ratio: 50,
            overcommit_kbytes: 0,
            admin_reserve_kbytes: None,
            user_reserve_kbytes: None,
            kernel_arch: crate::kalloc::KernelArch::X86_64,
        }
    }
}

impl Config {
    /// This configuration on the kernel `arch`: a native i386 kernel also brings the vDSO
    /// its processes get (Linux 6.1 i386: four `[vvar]` pages, two `[vdso]` pages, and the
    /// image of the kernel build, PAE or not, the QEMU oracle dumped).
    /// Protection keys and the smaps `KSM` line go too: an i386 kernel cannot have protection
    /// keys (the option needs x86-64), and its 6.1 smaps has no `KSM` line; its mprotect
    /// keeps charging an unfaulted VMA it makes read-only.
    pub fn with_kernel_arch(self, arch: crate::kalloc::KernelArch) -> Config {
        if arch.is_i386() {
            let vdso = crate::ops::exec::VdsoLayout::I386_LINUX_6_1;
            let pae = arch == crate::kalloc::KernelArch::I386Pae;
            Config {
                kernel_arch: arch,
                vdso,
                vdso_image: crate::ops::exec::vdso_i386::i386_linux_6_1_image(pae),
                pkeys: false,
                smaps_ksm_line: false,
                mprotect_unaccounts_unfaulted: false,
                ..self
            }
        } else {
            Config { kernel_arch: arch, ..self }
        }
    }

    /// The shape of the page tables the kernel profile has (what page-table counts and walks
    /// are told in).
    pub fn page_table_geometry(&self) -> crate::pgtable_geometry::PageTableGeometry {
        self.kernel_arch.page_table_geometry()
    }
}

/// The resource limits (soft limits, in bytes) a task can set for itself with setrlimit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rlimit {
    /// RLIMIT_STACK: how far a stack may grow.
    Stack,
    /// RLIMIT_DATA: private writable memory and the heap.
    Data,
    /// RLIMIT_AS: the whole address space.
    As,
    /// RLIMIT_MEMLOCK: locked memory without CAP_IPC_LOCK.
    Memlock,
}

impl Rlimit {
    /// The limit Linux's resource number `resource` (RLIMIT_*, as setrlimit takes it) names,
    /// if it is one the model keeps.
    pub fn from_resource(resource: u64) -> Option<Rlimit> {
        match resource {
            2 => Some(Rlimit::Data),
            3 => Some(Rlimit::Stack),
            8 => Some(Rlimit::Memlock),
            9 => Some(Rlimit::As),
            _ => None,
        }
    }
}

/// The capabilities the model knows about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cap {
    /// CAP_SYS_RAWIO: MAP_FIXED below `vm.mmap_min_addr`.
    SysRawio,
    /// CAP_IPC_LOCK: mlock beyond RLIMIT_MEMLOCK.
    IpcLock,
    /// CAP_SYS_ADMIN: PFNs in pagemap, the admin reserve of strict overcommit.
    SysAdmin,
    /// CAP_SYS_RESOURCE: lowering `oom_score_adj` below the floor the task's last
    /// privileged write set (root in a container may lack it).
    SysResource,
}
