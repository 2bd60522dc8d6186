//! The registry of address spaces: each live [`Mm`] under an [`MmId`].
//!
//! A slot freed when an address space's last user goes away may later hold another one; the
//! id carries the slot's generation, so an id kept past its address space's end never names
//! the next one (looking it up finds nothing instead).

use crate::mm::Mm;

/// Names one address space for as long as it lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MmId {
    slot: u32,
    generation: u32,
}

impl std::fmt::Display for MmId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "mm {}.{}", self.slot, self.generation)
    }
}

/// The live address spaces by id.
#[derive(Clone, Debug, Default)]
pub(crate) struct MmTable {
    slots: Vec<Slot>,
}

#[derive(Clone, Debug)]
struct Slot {
    generation: u32,
    mm: Option<Mm>,
}

impl MmTable {
    /// Stores `mm` in the lowest free slot (so ids, like Linux's allocations, depend only on
    /// the history of calls) and returns its id.
    pub(crate) fn insert(&mut self, mm: Mm) -> MmId {
        match self.slots.iter().position(|s| s.mm.is_none()) {
            Some(i) => {
                let s = &mut self.slots[i];
                s.generation = s.generation.wrapping_add(1);
                s.mm = Some(mm);
                MmId { slot: i as u32, generation: s.generation }
            }
            None => {
                self.slots.push(Slot { generation: 0, mm: Some(mm) });
                MmId { slot: (self.slots.len() - 1) as u32, generation: 0 }
            }
        }
    }

    fn slot(&self, id: MmId) -> Option<&Slot> {
        self.slots.get(id.slot as usize).filter(|s| s.generation == id.generation)
    }

    /// The address space `id` names, if it still exists.
    pub(crate) fn get(&self, id: MmId) -> Option<&Mm> {
        self.slot(id)?.mm.as_ref()
    }

    /// The address space `id` names, mutably, if it still exists.
    pub(crate) fn get_mut(&mut self, id: MmId) -> Option<&mut Mm> {
        let s = self.slots.get_mut(id.slot as usize).filter(|s| s.generation == id.generation)?;
        s.mm.as_mut()
    }

    /// Takes the address space out of the table (its last user is gone).
    pub(crate) fn remove(&mut self, id: MmId) -> Option<Mm> {
        let s = self.slots.get_mut(id.slot as usize).filter(|s| s.generation == id.generation)?;
        s.mm.take()
    }

    /// Every live address space with its id, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (MmId, &Mm)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| {
            let mm = s.mm.as_ref()?;
            Some((MmId { slot: i as u32, generation: s.generation }, mm))
        })
    }

    /// The ids of every live address space, in slot order (collected: the caller may change
    /// the table while it walks them).
    pub(crate) fn ids(&self) -> Vec<MmId> {
        self.iter().map(|(id, _)| id).collect()
    }

    /// Whether no address space is live.
    pub(crate) fn is_empty(&self) -> bool {
        self.slots.iter().all(|s| s.mm.is_none())
    }
}

/// Every id the kernel's code holds for a live task or call names a live address space (the
/// invariant checker verifies that each task's does); indexing with one that does not is a
/// bug in the model, not an input error.
impl std::ops::Index<MmId> for MmTable {
    type Output = Mm;
    fn index(&self, id: MmId) -> &Mm {
        self.get(id).unwrap_or_else(|| panic!("{id} is used after its address space ended"))
    }
}

impl std::ops::IndexMut<MmId> for MmTable {
    fn index_mut(&mut self, id: MmId) -> &mut Mm {
        self.get_mut(id).unwrap_or_else(|| panic!("{id} is used after its address space ended"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_slot_does_not_answer_to_the_old_id() {
        let mut t = MmTable::default();
        let a = t.insert(Mm::empty_for_tests());
        let b = t.insert(Mm::empty_for_tests());
        assert!(t.remove(a).is_some());
        let c = t.insert(Mm::empty_for_tests());
        assert_ne!(a, c, "same slot, new generation");
        assert!(t.get(a).is_none());
        assert!(t.get(c).is_some() && t.get(b).is_some());
        assert_eq!(t.iter().map(|(id, _)| id).collect::<Vec<_>>(), vec![c, b]);
    }
}
