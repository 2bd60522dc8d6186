//! Randomization of an exec when ASLR is on: the draws Linux makes, taken from a seeded
//! generator so that a run can be repeated. The values cannot equal the host kernel's; the
//! ranges and alignments do.

use crate::layout::*;

/// Stack top randomization mask, in pages (STACK_RND_MASK on x86-64: 22 bits, 16 GiB).
const STACK_RND_MASK: u64 = 0x3f_ffff;
/// Bits of mmap randomization on x86-64, in pages (mmap_rnd_bits default).
pub(crate) const MMAP_RND_BITS: u32 = 28;

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

    /// arch_mmap_rnd: a page-aligned offset below 2^28 pages.
    pub(crate) fn mmap_rnd(&mut self) -> u64 {
        (self.next() & ((1 << MMAP_RND_BITS) - 1)) << PAGE_SHIFT
    }

    /// randomize_stack_top's drop: a page-aligned offset below 16 GiB.
    pub(crate) fn stack_rnd(&mut self) -> u64 {
        (self.next() & STACK_RND_MASK) << PAGE_SHIFT
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

/// The vertical space Linux keeps for stack randomization when it sizes the mmap gap
/// (stack_maxrandom_size).
pub(crate) const STACK_MAX_RANDOM: u64 = STACK_RND_MASK << PAGE_SHIFT;
