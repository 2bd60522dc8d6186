//! `Arena`: a growable array of tree nodes, addressed by `u32`, that never moves what it
//! holds.
//!
//! A `Vec` doubles by copying: at a million VMAs the node arrays are tens of MiB, so one
//! insert in a million would stop for a copy of all of them, and the allocator keeps the old
//! copy resident for a while (measured: 240 instead of 92 bytes per VMA right after building
//! a million). Chunks of a fixed size grow without either. The first chunk grows as a `Vec`
//! does, so that the many small address spaces (a few dozen VMAs each) stay small. Slots the
//! tree releases are kept on a free list and handed out again before the arena grows, so
//! insert/remove churn runs in constant memory.

use std::ops::{Index, IndexMut};

/// Nodes per chunk: a power of two, so that an address splits with a shift and a mask (and
/// the first chunk's doublings end exactly at it); a few MiB of VMA-index leaves, where the
/// allocator's rounding and bookkeeping per chunk are lost in the size (measured at a
/// million VMAs: 110-120 bytes per VMA with chunks of 64 nodes, 91-99 with 4096).
const CHUNK: usize = 4096;
const CHUNK_SHIFT: u32 = CHUNK.trailing_zeros();

/// Nodes in chunks of [`CHUNK`]; see the module documentation.
#[derive(Debug)]
pub struct Arena<T> {
    /// Every chunk but the first has room for `CHUNK` nodes from the start, so pushes never
    /// reallocate it.
    chunks: Vec<Vec<T>>,
    len: usize,
    /// Released slots, reused first.
    free: Vec<u32>,
}

impl<T: Clone> Clone for Arena<T> {
    /// Keeps each chunk's room (a derived clone would fit the last chunk to its length, and
    /// its next push would copy it).
    fn clone(&self) -> Self {
        let chunks = self
            .chunks
            .iter()
            .map(|c| {
                let mut copy = Vec::with_capacity(c.capacity());
                copy.extend_from_slice(c);
                copy
            })
            .collect();
        Arena { chunks, len: self.len, free: self.free.clone() }
    }
}

impl<T> Default for Arena<T> {
    fn default() -> Self {
        Arena { chunks: Vec::new(), len: 0, free: Vec::new() }
    }
}

impl<T> Arena<T> {
    /// Number of slots, released ones included.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores `node` in a released slot, or a new one; returns its address.
    pub fn alloc(&mut self, node: T) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self[i] = node;
                i
            }
            None => self.push(node),
        }
    }

    /// Hands slot `i` back for reuse; its node stays there until then.
    pub fn release(&mut self, i: u32) {
        self.free.push(i);
    }

    /// The released slots.
    pub fn released(&self) -> &[u32] {
        &self.free
    }

    /// Appends `node` in a new slot, returning its address.
    fn push(&mut self, node: T) -> u32 {
        if self.len.is_multiple_of(CHUNK) {
            let room = if self.chunks.is_empty() { 0 } else { CHUNK };
            self.chunks.push(Vec::with_capacity(room));
        }
        self.chunks.last_mut().expect("a chunk with room").push(node);
        self.len += 1;
        u32::try_from(self.len - 1).expect("fewer than 2^32 nodes")
    }

    /// Two different nodes at once, to move entries between siblings.
    pub fn pair_mut(&mut self, a: u32, b: u32) -> (&mut T, &mut T) {
        assert_ne!(a, b, "pair_mut: the same node twice");
        let split = |i: u32| ((i >> CHUNK_SHIFT) as usize, i as usize & (CHUNK - 1));
        let ((ca, ia), (cb, ib)) = (split(a), split(b));
        if ca == cb {
            let (low, high) = self.chunks[ca].split_at_mut(ia.max(ib));
            return if ia < ib { (&mut low[ia], &mut high[0]) } else { (&mut high[0], &mut low[ib]) };
        }
        let (low, high) = self.chunks.split_at_mut(ca.max(cb));
        if ca < cb {
            (&mut low[ca][ia], &mut high[0][ib])
        } else {
            (&mut high[0][ia], &mut low[cb][ib])
        }
    }
}

impl<T> Index<u32> for Arena<T> {
    type Output = T;

    fn index(&self, i: u32) -> &T {
        &self.chunks[(i >> CHUNK_SHIFT) as usize][i as usize & (CHUNK - 1)]
    }
}

impl<T> IndexMut<u32> for Arena<T> {
    fn index_mut(&mut self, i: u32) -> &mut T {
        &mut self.chunks[(i >> CHUNK_SHIFT) as usize][i as usize & (CHUNK - 1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_stay_valid_across_chunks() {
        let mut a = Arena::default();
        assert!(a.is_empty());
        for i in 0..(3 * CHUNK as u32 + 5) {
            assert_eq!(a.alloc(i * 7), i);
        }
        assert_eq!(a.len(), 3 * CHUNK + 5);
        a[CHUNK as u32] = 1;
        assert!((0..a.len() as u32).all(|i| a[i] == if i == CHUNK as u32 { 1 } else { i * 7 }));
        assert!(a.chunks[1..].iter().all(|c| c.capacity() == CHUNK), "chunks after the first never grow");
        assert_eq!(a.chunks[0].capacity(), CHUNK, "the first grows up to a chunk exactly");
        let b = a.clone();
        assert!(b.chunks.iter().zip(&a.chunks).all(|(x, y)| x == y && x.capacity() == y.capacity()));
    }

    #[test]
    fn released_slots_are_reused_before_growing() {
        let mut a = Arena::default();
        let (x, y) = (a.alloc('x'), a.alloc('y'));
        a.release(x);
        assert_eq!(a.released(), [x]);
        assert_eq!(a.alloc('z'), x);
        assert!(a.released().is_empty());
        assert_eq!((a.len(), a[x], a[y]), (2, 'z', 'y'));
    }

    #[test]
    fn pairs_within_and_across_chunks() {
        let mut a = Arena::default();
        for i in 0..(2 * CHUNK as u32) {
            a.alloc(i);
        }
        for (x, y) in [(3, 9), (9, 3), (5, CHUNK as u32 + 1), (CHUNK as u32 + 1, 5)] {
            let (p, q) = a.pair_mut(x, y);
            assert_eq!((*p, *q), (x, y));
            std::mem::swap(p, q);
            assert_eq!((a[x], a[y]), (y, x));
            let (p, q) = a.pair_mut(x, y);
            std::mem::swap(p, q);
        }
    }
}
