//! The reverse map reclaim needs: for each frame, the PTEs that map it.
//!
//! Linux finds them through `anon_vma` chains and the file's `i_mmap` tree
//! (`rmap_walk`). The model keeps no such structures: one walk over every address space's
//! page tables, done once per reclaim run, gives the same answer. Entries can go stale
//! while the run unmaps pages, so users check each PTE still maps the frame.

use crate::frame::Pfn;
use crate::kernel::Kernel;
use crate::mm_table::MmId;
use crate::pgtable::{self, Pte};

/// Frame → the (address space, virtual address) of each PTE mapping it: one flat list
/// sorted by frame (the PTEs of a frame in walk order), searched by bisection. A reclaim
/// run under memory pressure builds one for every fault, so it is built with one
/// allocation and no hashing.
#[derive(Debug, Default)]
pub(crate) struct Rmap {
    entries: Vec<(Pfn, MmId, u64)>,
}

impl Rmap {
    /// The PTEs that mapped `pfn` when the map was built.
    pub(crate) fn get(&self, pfn: Pfn) -> &[(Pfn, MmId, u64)] {
        let lo = self.entries.partition_point(|e| e.0 < pfn);
        let hi = lo + self.entries[lo..].partition_point(|e| e.0 == pfn);
        &self.entries[lo..hi]
    }
}

impl Kernel {
    /// The reverse map of every mapped frame but the zero page.
    pub(crate) fn build_rmap(&self) -> Rmap {
        let zero = self.m.frames.zero_pfn();
        let mut entries = Vec::new();
        for (id, mm) in self.mms.iter() {
            for (base, table) in pgtable::leaf_tables(&self.m.frames, mm.pgd, 0, crate::layout::TASK_SIZE) {
                // A populated read-only mapping's tables map nothing but the zero page.
                if self.m.frames.is_shared_zero_table(table) {
                    continue;
                }
                for (i, &e) in self.m.frames.table(table).iter().enumerate() {
                    let pte = Pte(e);
                    if pte.mapped() && pte.pfn() != zero {
                        let va = base + ((i as u64) << crate::layout::PAGE_SHIFT);
                        entries.push((pte.pfn(), id, va));
                    }
                }
            }
        }
        // Stable: the PTEs of one frame stay in walk order.
        entries.sort_by_key(|e| e.0);
        Rmap { entries }
    }

    /// The mappings among `maps` that still map `pfn`.
    pub(crate) fn live_maps(&self, pfn: Pfn, maps: &[(Pfn, MmId, u64)]) -> Vec<(MmId, u64)> {
        maps.iter()
            .map(|&(_, id, va)| (id, va))
            .filter(|&(id, va)| {
                self.mms.get(id).is_some() && {
                    let pte = self.pte(id, va);
                    pte.mapped() && pte.pfn() == pfn
                }
            })
            .collect()
    }
}
