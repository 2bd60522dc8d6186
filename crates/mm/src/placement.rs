//! What-if placement: where `mmap` would put a mapping if some ranges of an address space
//! were mapped or free, asked of a [`PlacementSketch`] (a copy of one address space's VMA
//! layout, without pages, frames or files) instead of the address space itself.
//!
//! A replayer of a threaded program's trace does not know in which order the kernel ran
//! calls whose lines overlap; it weighs each order by asking where a mapping would have gone
//! in it. A sketch costs what the address space's VMAs cost to copy, however much memory
//! the model holds, and the answer comes from the same get_unmapped_area `mmap` uses.

use crate::kernel::{Kernel, Pid};
use crate::layout::{page_ceil, PAGE_MASK};
use crate::ops::mmap::Placed;
use crate::vma::Vma;
use crate::vma_tree::VmaTree;
use crate::VmFlags;
use abi::*;

/// One address space's VMA layout, to change and place mappings in without touching the
/// address space (see the module's documentation).
#[derive(Clone, Debug)]
pub struct PlacementSketch {
    pid: Pid,
    vmas: VmaTree,
}

impl PlacementSketch {
    /// Whether `[start, start + len)` (`len` rounded up to a page) holds no mapping.
    pub fn is_free(&self, start: u64, len: u64) -> bool {
        match page_range(start, len) {
            Some((start, end)) => self.vmas.range(start, end).next().is_none(),
            None => false,
        }
    }

    /// Marks `[start, start + len)` mapped, as an unmapping not yet done would leave it;
    /// `false` (and no change) when part of it is mapped already or the range is not one.
    pub fn occupy(&mut self, start: u64, len: u64) -> bool {
        let Some((start, end)) = page_range(start, len) else { return false };
        if self.vmas.range(start, end).next().is_some() {
            return false;
        }
        self.vmas.insert(Vma {
            start,
            end,
            flags: VmFlags::empty(),
            pgoff: 0,
            file: None,
            anon_vma: None,
            special: None,
        });
        true
    }

    /// Marks `[start, start + len)` free, cutting the mappings that straddle its ends, as a
    /// mapping not yet made would leave it.
    pub fn free(&mut self, start: u64, len: u64) {
        let Some((start, end)) = page_range(start, len) else { return };
        let hit: Vec<Vma> = self.vmas.range(start, end).cloned().collect();
        for v in hit {
            self.vmas.remove(v.start);
            if v.start < start {
                self.vmas.insert(v.slice(v.start, start));
            }
            if end < v.end {
                self.vmas.insert(v.slice(end, v.end));
            }
        }
    }

    /// The layout's invariants (order, no overlap, the gaps it keeps).
    pub fn check_invariants(&self) {
        self.vmas.check_invariants();
    }
}

/// `[start, end)` of `len` bytes from `start`, a page-aligned range inside the 64-bit
/// address space.
fn page_range(start: u64, len: u64) -> Option<(u64, u64)> {
    let len = page_ceil(len).filter(|&l| l != 0)?;
    let end = start.checked_add(len)?;
    (start & !PAGE_MASK == 0).then_some((start, end))
}

impl Kernel {
    /// A sketch of the address space of task `pid` as it is now.
    pub fn placement_sketch(&self, pid: Pid) -> SysResult<PlacementSketch> {
        Ok(PlacementSketch { pid, vmas: self.mm(pid)?.vmas.clone() })
    }

    /// Where `mmap(addr, len, …, flags, fd, offset)` by the sketch's task would put its
    /// mapping were the address space laid out as `sketch` is (the argument checks that
    /// come before placement included, those after it not), and the range marked mapped in
    /// the sketch (what a fixed mapping replaces freed first).
    pub fn sketch_mmap(
        &self,
        sketch: &mut PlacementSketch,
        addr: u64,
        len: u64,
        flags: u64,
        fd: i64,
        offset: u64,
    ) -> SysResult<u64> {
        let id = self.mm_id(sketch.pid)?;
        if offset & !PAGE_MASK != 0 {
            return Err(Errno::EINVAL);
        }
        let file = if flags & MAP_ANONYMOUS == 0 { Some(self.fd_file(sketch.pid, fd)?) } else { None };
        match self.place_mmap(id, &sketch.vmas, file, addr, len, flags, offset >> crate::layout::PAGE_SHIFT)? {
            Placed::ErrorValue(v) => Ok(v),
            Placed::At(p) => {
                sketch.free(p.addr, p.len);
                sketch.occupy(p.addr, p.len);
                Ok(p.addr)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn a_sketch_places_as_mmap_does_and_leaves_the_address_space_alone() {
        let mut k = Kernel::new(Config { ram_bytes: 16 << 20, paranoid: true, ..Config::default() });
        let pid = k.spawn_empty("t").expect("a process");
        let anon = MAP_PRIVATE | MAP_ANONYMOUS;
        let a = k.mmap(pid, 0, 3 << 12, PROT_READ, anon, -1, 0).expect("mmap");
        let b = k.mmap(pid, 0, 2 << 12, PROT_READ, anon, -1, 0).expect("mmap");
        let layout = |k: &Kernel| k.mm(pid).expect("mm").vmas.iter().map(|v| (v.start, v.end)).collect::<Vec<_>>();
        let before = layout(&k);
        let mut sketch = k.placement_sketch(pid).expect("sketch");
        // As the model would place it now.
        let mut copy = k.clone();
        let want = copy.mmap(pid, 0, 4 << 12, PROT_READ, anon, -1, 0).expect("mmap");
        assert_eq!(k.sketch_mmap(&mut sketch.clone(), 0, 4 << 12, anon, -1, 0), Ok(want));
        // Had `b` not been made yet, a 2-page mapping would have gone where it is.
        sketch.free(b, 2 << 12);
        sketch.check_invariants();
        assert!(sketch.is_free(b, 2 << 12));
        assert_eq!(k.sketch_mmap(&mut sketch, 0, 2 << 12, anon, -1, 0), Ok(b));
        assert!(!sketch.is_free(b, 4096));
        // Had `a`'s middle page been unmapped, nothing fits there but one page.
        let mut sketch = k.placement_sketch(pid).expect("sketch");
        sketch.free(a + 4096, 4096);
        assert!(sketch.occupy(a + 4096, 4096));
        assert!(!sketch.occupy(a, 4096), "mapped already");
        assert!(!sketch.occupy(a + 1, 4096), "not a page");
        sketch.free(a + 4096, 4096);
        assert_eq!(k.sketch_mmap(&mut sketch, 0, 4096, anon, -1, 0), Ok(a + 4096));
        sketch.check_invariants();
        // Errors come before placement as mmap's do.
        assert_eq!(k.sketch_mmap(&mut sketch, 0, 0, anon, -1, 0), Err(Errno::EINVAL));
        assert_eq!(k.sketch_mmap(&mut sketch, 0, 4096, MAP_PRIVATE, 77, 0), Err(Errno::EBADF));
        // The address space itself is as it was.
        assert_eq!(layout(&k), before);
    }
}
