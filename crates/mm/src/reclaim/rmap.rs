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
use std::collections::HashMap;

/// Frame → the (address space, virtual address) of each PTE mapping it.
pub(crate) type Rmap = HashMap<Pfn, Vec<(MmId, u64)>>;

impl Kernel {
    /// The reverse map of every mapped frame but the zero page.
    pub(crate) fn build_rmap(&self) -> Rmap {
        let zero = self.m.frames.zero_pfn();
        let mut map: Rmap = HashMap::new();
        for (id, mm) in self.mms.iter() {
            for (base, table) in pgtable::leaf_tables(&self.m.frames, mm.pgd, 0, crate::layout::TASK_SIZE) {
                for (i, &e) in self.m.frames.table(table).iter().enumerate() {
                    let pte = Pte(e);
                    if pte.mapped() && pte.pfn() != zero {
                        let va = base + ((i as u64) << crate::layout::PAGE_SHIFT);
                        map.entry(pte.pfn()).or_default().push((id, va));
                    }
                }
            }
        }
        map
    }

    /// The mappings among `maps` that still map `pfn`.
    pub(crate) fn live_maps(&self, pfn: Pfn, maps: &[(MmId, u64)]) -> Vec<(MmId, u64)> {
        maps.iter()
            .copied()
            .filter(|&(id, va)| {
                self.mms.get(id).is_some() && {
                    let pte = self.pte(id, va);
                    pte.mapped() && pte.pfn() == pfn
                }
            })
            .collect()
    }
}
