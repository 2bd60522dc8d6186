//! Swap entries: which slot of which swap device holds a page, and how a non-present PTE
//! says so.
//!
//! x86-64 Linux keeps the device number (the swap "type") in the top five bits of a
//! non-present PTE and the slot offset, bit-inverted (the L1TF mitigation: a stale entry
//! then never names memory that exists), in bits 9-58; bit 3 carries `_PAGE_SWP_EXCLUSIVE`,
//! set when the page was exclusive to this mapping when it went out. The present bit and
//! `_PAGE_PROTNONE` (bit 8) are clear, so neither the MMU nor `pte_present` sees a page.
//! The model encodes its swap PTEs the same way.

use crate::pgtable::Pte;

/// How many swap devices can be active at once (Linux's MAX_SWAPFILES on x86-64 with
/// device-private and migration entries compiled in: 32 minus the types those use).
pub const MAX_SWAPFILES: usize = 29;

/// Bits of a swap PTE that hold the inverted offset.
const OFFSET_SHIFT: u32 = 9;
const OFFSET_BITS: u32 = 50;
const OFFSET_MASK: u64 = (1 << OFFSET_BITS) - 1;
const TYPE_SHIFT: u32 = 59;
/// `_PAGE_SWP_EXCLUSIVE`.
const SWP_EXCLUSIVE: u64 = 1 << 3;

/// A swap slot: device `swap_type`, page `offset` of it (Linux `swp_entry_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SwapEntry {
    /// The device's index in the swap table (`swp_type`).
    pub swap_type: u8,
    /// The slot within the device (`swp_offset`); slot 0 is the header and never used.
    pub offset: u64,
}

impl SwapEntry {
    /// The non-present PTE that records this entry (`swp_entry_to_pte`), with
    /// `_PAGE_SWP_EXCLUSIVE` when `exclusive`.
    pub fn to_pte(self, exclusive: bool) -> Pte {
        let inverted = !self.offset & OFFSET_MASK;
        let excl = if exclusive { SWP_EXCLUSIVE } else { 0 };
        Pte((u64::from(self.swap_type) << TYPE_SHIFT) | (inverted << OFFSET_SHIFT) | excl)
    }

    /// The entry a swap PTE records and whether it is marked exclusive; `None` for an
    /// empty or mapped PTE (`is_swap_pte`).
    pub fn from_pte(pte: Pte) -> Option<(SwapEntry, bool)> {
        if pte.is_none() || pte.mapped() {
            return None;
        }
        let offset = !(pte.0 >> OFFSET_SHIFT) & OFFSET_MASK;
        let swap_type = (pte.0 >> TYPE_SHIFT) as u8;
        Some((SwapEntry { swap_type, offset }, pte.0 & SWP_EXCLUSIVE != 0))
    }

    /// The entry as `/proc/PID/pagemap` shows it in bits 0-54: the type in the low five
    /// bits, the offset above them.
    pub fn pagemap_bits(self) -> u64 {
        u64::from(self.swap_type) | (self.offset << 5)
    }
}

/// Whether `pte` records a swap entry.
pub fn is_swap_pte(pte: Pte) -> bool {
    !pte.is_none() && !pte.mapped()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_pte_round_trips_and_is_not_present() {
        for (t, off, excl) in [(0u8, 1u64, false), (3, 12345, true), (28, OFFSET_MASK, false), (0, 0, true)] {
            let e = SwapEntry { swap_type: t, offset: off };
            let pte = e.to_pte(excl);
            assert!(!pte.present() && !pte.mapped() && !pte.is_none(), "{pte:?}");
            assert!(is_swap_pte(pte));
            assert_eq!(SwapEntry::from_pte(pte), Some((e, excl)));
        }
        assert_eq!(SwapEntry::from_pte(Pte(0)), None);
    }

    #[test]
    fn pagemap_bits_put_type_low_and_offset_above() {
        assert_eq!(SwapEntry { swap_type: 0, offset: 1 }.pagemap_bits(), 0x20);
        assert_eq!(SwapEntry { swap_type: 2, offset: 8 }.pagemap_bits(), 0x102);
    }
}
