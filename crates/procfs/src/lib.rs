//! `procfs`: pure functions from the model's state to the exact text Linux prints in
//! `/proc/PID/maps`, `smaps`, `smaps_rollup`, `status` (the Vm and Rss lines), `statm`, `personality` and
//! `pagemap` (fs/proc/task_mmu.c, fs/proc/array.c), and in `/proc/meminfo` and
//! `/proc/vmstat`, `/proc/swaps`, the kernel-allocator views `/proc/buddyinfo`, `/proc/zoneinfo`
//! (essentials), `/proc/slabinfo` and `/proc/vmallocinfo`, `/proc/sysvipc/shm`; and the memory cgroup files and
//! `/proc/PID/oom_score` ([`cgroup`]).
//!
//! It depends on the model (`mm`) and `abi` only, and reads the model through `Kernel`'s read
//! API; the front ends (scenarios, replay, host comparison, loader) depend on it, never the
//! other way.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cgroup;
mod frame_class;
mod maps;
mod meminfo;
mod pagemap;
pub mod parse;
mod slabinfo;
mod smaps;
mod status;
mod swaps;
mod sysvipc;
mod vmallocinfo;
mod vmstat;
mod zones;

pub use maps::{maps, maps_line, vma_name};
pub use meminfo::{mem_counts, meminfo, MemCounts};
pub use pagemap::{
    pagemap, pagemap_read, PM_FILE, PM_GUARD_REGION, PM_MMAP_EXCLUSIVE, PM_PFN_MASK, PM_PRESENT, PM_SOFT_DIRTY,
    PM_SWAP, PM_UFFD_WP,
};
pub use slabinfo::{slabinfo, SLABINFO_HEADER};
pub use smaps::{smaps, smaps_rollup, vma_usage, MemUsage};
pub use status::{personality, statm, status};
pub use swaps::swaps;
pub use sysvipc::{sysvipc_shm, SYSVIPC_SHM_HEADER};
pub use vmallocinfo::vmallocinfo;
pub use vmstat::vmstat;
pub use zones::{buddyinfo, zone_free_pages, zoneinfo};
