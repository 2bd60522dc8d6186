//! `procfs`: pure functions from the model's state to the exact text Linux prints in
//! `/proc/PID/maps`, `smaps`, `smaps_rollup`, `status` (the Vm and Rss lines) and `statm`
//! (fs/proc/task_mmu.c, fs/proc/array.c).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod maps;
mod smaps;
mod status;

pub use maps::{maps, maps_line, vma_name};
pub use smaps::{smaps, smaps_rollup, vma_usage, MemUsage};
pub use status::{statm, status};
