//! [`Pfn`]: the number of a physical page frame, a type of its own so that a frame cannot be
//! passed where an address, a page index or a count is meant.
//!
//! A frame number becomes a plain number in three places only, each with a method that says
//! which: the frame's physical address ([`Pfn::phys_addr`], for page-table entries and the
//! kernel's direct map), the number itself as Linux shows it ([`Pfn::as_u64`], for
//! `/proc/PID/pagemap`, scripts and reports), and the position of a frame inside a block of
//! frames ([`Pfn::frames_from`]). Frame numbers never overflow: they are below the simulated
//! RAM's frame count, which [`crate::frame::FrameTable::new`] bounds.

use crate::layout::PAGE_SHIFT;
use std::fmt;

/// A physical frame number: the frame's physical address shifted right by `PAGE_SHIFT`.
///
/// # Invariants
/// Below the frame count of the machine it came from: every `Pfn` the model holds was handed
/// out by the frame table or read back from an entry the model wrote. A number from outside
/// (a scenario's `__free_page(pfn)`) is made a `Pfn` at that boundary and checked by the call
/// that takes it (`free_pages_pfn`, `kmap` and `kunmap` refuse frames they do not know).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pfn(u64);

impl Pfn {
    /// The frame numbered `n`.
    pub const fn new(n: u64) -> Pfn {
        Pfn(n)
    }

    /// The frame holding physical address `pa`.
    pub const fn from_phys_addr(pa: u64) -> Pfn {
        Pfn(pa >> PAGE_SHIFT)
    }

    /// The number itself, as Linux prints it (pagemap, `page:… pfn:0x…` lines).
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// The physical address of the frame's first byte.
    pub const fn phys_addr(self) -> u64 {
        self.0 << PAGE_SHIFT
    }

    /// The frame `n` frames above this one (inside a block or a folio the caller holds, so
    /// within RAM).
    pub const fn plus(self, n: u64) -> Pfn {
        Pfn(self.0 + n)
    }

    /// How many frames this one lies above `base` (`base` at or below it).
    pub const fn frames_from(self, base: Pfn) -> u64 {
        debug_assert!(base.0 <= self.0);
        self.0 - base.0
    }

    /// The `count` frames from this one up.
    pub fn span(self, count: u64) -> impl DoubleEndedIterator<Item = Pfn> {
        (self.0..self.0 + count).map(Pfn)
    }

    /// The frames of `[start, end)`.
    pub fn range(start: Pfn, end: Pfn) -> impl DoubleEndedIterator<Item = Pfn> {
        (start.0..end.0).map(Pfn)
    }
}

/// `pfn:0x1a2b`, as the kernel's page dumps write it.
impl fmt::Debug for Pfn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pfn:{:#x}", self.0)
    }
}

/// The number in hexadecimal (`{:#x}` gives `0x1a2b`), for messages that name a frame.
impl fmt::LowerHex for Pfn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_number_is_its_address_over_the_page_size() {
        let pfn = Pfn::new(0x1a2b);
        assert_eq!(pfn.phys_addr(), 0x1a2b000);
        assert_eq!(Pfn::from_phys_addr(0x01a2_bfff), pfn);
        assert_eq!(format!("{pfn:?}"), "pfn:0x1a2b");
        assert_eq!(format!("{pfn:#x}"), "0x1a2b");
    }

    #[test]
    fn spans_and_offsets_count_frames() {
        let base = Pfn::new(512);
        let frames: Vec<Pfn> = base.span(3).collect();
        assert_eq!(frames, [Pfn::new(512), Pfn::new(513), Pfn::new(514)]);
        assert_eq!(base.plus(2).frames_from(base), 2);
        assert_eq!(Pfn::range(base, base.plus(2)).count(), 2);
    }
}
