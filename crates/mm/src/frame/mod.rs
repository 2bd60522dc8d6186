//! Physical memory: frame numbers ([`pfn`]), the buddy allocator of them ([`buddy`]) and the frame table, the
//! analogue of Linux's `struct page` array, holding each frame's counts, flags, owner and bytes
//! ([`table`]).

pub mod buddy;
mod free_list;
pub mod pfn;
pub mod table;

pub use buddy::{BuddyAllocator, MAX_ORDER};
pub use pfn::Pfn;
pub use table::{FrameData, FrameMeta, FrameTable, KernelUse, Owner, PageFlags};

/// No free frame was left for a page or a page table; the call that needed it fails with
/// ENOMEM, a fault with an OOM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfMemory;
