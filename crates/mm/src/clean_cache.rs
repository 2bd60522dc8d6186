//! The cheapest reclaim there is: dropping clean page-cache pages of regular files that no
//! process maps. Their bytes are on the disk, so a later access reads them back (a major
//! fault); nothing is written and no page table changes.
//!
//! Linux's shrink_folio_list frees such folios first, coldest first along its LRU lists.
//! The model walks inactive folios before active ones, file by file in index order: which
//! clean pages go first is not Linux's LRU order, only which kind of page goes. Dirty pages,
//! shmem, anonymous memory and mapped pages need writeback or swap and are left alone.

use crate::file::{FileId, FileKind};
use crate::frame::{PageFlags, Pfn};
use crate::kernel::Kernel;
use crate::oom::OomScope;

/// Pages one reclaim attempt asks for at least (SWAP_CLUSTER_MAX).
pub const SWAP_CLUSTER_MAX: u64 = 32;

impl Kernel {
    /// Drops clean, unmapped page-cache folios charged inside `scope` until `nr_pages` are
    /// freed or none is left; returns how many pages were freed.
    pub(crate) fn drop_clean_cache(&mut self, scope: OomScope, nr_pages: u64) -> u64 {
        let mut freed = 0;
        for active_pass in [false, true] {
            let victims = self.clean_folios(scope, active_pass);
            for (file, first, count) in victims {
                if freed >= nr_pages {
                    return freed;
                }
                freed += self.evict_clean_folio(file, first, first + count);
            }
        }
        freed
    }

    /// Drops the clean, unmapped folio of pages `first..end` of `file` from the page cache
    /// (its bytes are on the disk); returns how many frames were freed.
    pub(crate) fn evict_clean_folio(&mut self, file: FileId, first: u64, end: u64) -> u64 {
        let pfns: Vec<Pfn> = (first..end).filter_map(|i| self.m.file(file).cache.get(i)).collect();
        self.m.remove_folio(file, first);
        let f = self.m.file_mut(file);
        for i in first..end {
            f.cache.remove(i);
            f.evicted.insert(i);
            f.ra_marks.remove(&i);
        }
        let freed = pfns.len() as u64;
        for p in pfns {
            self.m.frames.put(p);
        }
        freed
    }

    /// The folios that may be dropped, as (file, first index, pages), on the active or the
    /// inactive list.
    fn clean_folios(&self, scope: OomScope, active: bool) -> Vec<(FileId, u64, u64)> {
        let memcgs = &self.m.frames.memcgs;
        let mut out = Vec::new();
        for (i, f) in self.m.files.iter().enumerate() {
            let Some(f) = f else { continue };
            if f.kind != FileKind::Regular || f.unwritten {
                continue;
            }
            let mut seen_first = None;
            for (index, _) in f.cache.iter() {
                let (first, order) = f.folio_of(index);
                if seen_first == Some(first) {
                    continue;
                }
                seen_first = Some(first);
                let count = 1u64 << order;
                let droppable = (first..first + count).all(|j| {
                    f.cache.get(j).is_some_and(|p| {
                        let m = self.m.frames.meta(p);
                        let in_scope = match scope {
                            OomScope::Global => true,
                            OomScope::Memcg(g) => memcgs.is_descendant(m.memcg, g),
                        };
                        in_scope
                            && m.mapcount == 0
                            && m.refcount == 1
                            && !m.flags.intersects(PageFlags::DIRTY | PageFlags::MLOCKED)
                            && m.flags.contains(PageFlags::ACTIVE) == active
                    })
                });
                if droppable {
                    out.push((FileId(i as u32), first, count));
                }
            }
        }
        out
    }
}
