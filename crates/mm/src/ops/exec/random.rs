//! Randomization of an exec when ASLR is on: the draws Linux makes, taken from a seeded
//! generator so that a run can be repeated. The values cannot equal the host kernel's; the
//! ranges and alignments do.

use crate::layout::*;
use crate::space::UserSpace;

/// A splitmix64 stream standing in for `get_random_long()`.
#[derive(Clone, Debug)]
pub(crate) struct ExecRng(u64);

impl ExecRng {
    pub(crate) fn new(seed: u64) -> Self {
        ExecRng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// arch_mmap_rnd: a page-aligned offset below 2^bits pages (28 bits for a 64-bit
    /// process, 8 for a compat one).
    pub(crate) fn mmap_rnd(&mut self, space: &UserSpace) -> u64 {
        (self.next() & ((1 << space.mmap_rnd_bits) - 1)) << PAGE_SHIFT
    }

    /// randomize_stack_top's drop: a page-aligned offset within the space's stack mask
    /// (16 GiB for a 64-bit process, 8 MiB for a compat one).
    pub(crate) fn stack_rnd(&mut self, space: &UserSpace) -> u64 {
        (self.next() & space.stack_rnd_mask) << PAGE_SHIFT
    }

    /// arch_align_stack's drop: below 8 KiB.
    pub(crate) fn align_stack_rnd(&mut self) -> u64 {
        self.next() % 8192
    }

    /// randomize_page(start, range): a page in `[start, start + range)`.
    pub(crate) fn randomize_page(&mut self, start: u64, range: u64) -> u64 {
        let mut start = start;
        let mut range = range;
        if !is_page_aligned(start) {
            let up = page_ceil(start).unwrap_or(start);
            range = range.saturating_sub(up - start);
            start = up;
        }
        if start > u64::MAX - range {
            range = u64::MAX - start;
        }
        let pages = range >> PAGE_SHIFT;
        if pages == 0 {
            return start;
        }
        start + ((self.next() % pages) << PAGE_SHIFT)
    }
}
