//! The machine's SysV shared memory segments (the IPC namespace's `shm_ids`): each segment
//! with its key, its shmem object and its state, and the allocator that numbers them.
//!
//! A segment's identifier is `seq << 15 | idx`: `idx` is a slot, taken cyclically (the
//! lowest free slot at or after the one after the last taken, below a bound that grows with
//! the number in use, then from 0), and `seq` is a sequence count that moves on each time the
//! slot taken is not past the last one. So on a machine just booted the first identifiers are
//! 0, 1, 2, ..., and a slot freed and taken again gets a new identifier. The segment's
//! shmem object takes the identifier as its inode number: maps shows it.

use crate::file::FileId;
use crate::kernel::Pid;
use std::collections::BTreeMap;

/// How far `idx` is shifted in an identifier (IPCMNI_SHIFT).
pub const SEQ_SHIFT: u32 = 15;
/// The largest sequence count before it wraps to 0 (INT_MAX >> 15).
pub const SEQ_MAX: u32 = i32::MAX as u32 >> SEQ_SHIFT;
/// The least bound of the cyclic slot search (the radix tree's node size).
const MIN_CYCLE: u32 = 64;

/// One segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Its identifier (what shmget returns and shmat takes).
    pub id: u32,
    /// Its key (0, IPC_PRIVATE, once removed).
    pub key: i32,
    /// The low nine bits of the creating shmget's flags, and SHM_DEST/SHM_LOCKED.
    pub mode: u32,
    /// The size asked for (`shm_segsz`); attaches map it rounded up to pages.
    pub segsz: u64,
    /// The shmem object holding its pages (`/SYSV%08x`, inode = `id`).
    pub file: FileId,
    /// The task that created it.
    pub cpid: Pid,
    /// The task that last attached or detached it.
    pub lpid: Pid,
}

impl Segment {
    /// IPC_RMID was asked (`SHM_DEST` in the mode): it goes when the last attach does.
    pub fn removed(&self) -> bool {
        self.mode & SHM_DEST != 0
    }
}

/// The slot of identifier `id`.
pub fn slot_of(id: u32) -> u32 {
    id & ((1 << SEQ_SHIFT) - 1)
}

/// `mode` bit: removal asked.
pub const SHM_DEST: u32 = 0o1000;
/// `mode` bit: locked in memory.
pub const SHM_LOCKED: u32 = 0o2000;

/// The segments of the machine and the identifier allocator's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShmIds {
    /// By slot.
    segs: BTreeMap<u32, Segment>,
    /// Keys other than IPC_PRIVATE → slot.
    keys: BTreeMap<i32, u32>,
    /// The current sequence count.
    seq: u32,
    /// The slot taken last (`None` before the first).
    last_idx: Option<u32>,
    /// Where the next cyclic search starts.
    next_idx: u32,
    /// The identifier the next segment gets whatever the search says (see
    /// [`ShmIds::set_next_id`]).
    forced: Option<u32>,
    /// Pages of all segments (`shm_tot`).
    pub total_pages: u64,
    /// The largest segment in bytes (`shmmax`).
    pub ctlmax: u64,
    /// The most pages all segments may hold (`shmall`).
    pub ctlall: u64,
    /// The most segments (`shmmni`).
    pub ctlmni: u32,
}

impl Default for ShmIds {
    fn default() -> Self {
        // Linux's defaults: SHMMAX and SHMALL are ULONG_MAX - 2^24, SHMMNI 4096.
        ShmIds {
            segs: BTreeMap::new(),
            keys: BTreeMap::new(),
            seq: 0,
            last_idx: None,
            next_idx: 0,
            forced: None,
            total_pages: 0,
            ctlmax: u64::MAX - (1 << 24),
            ctlall: u64::MAX - (1 << 24),
            ctlmni: 4096,
        }
    }
}

impl ShmIds {
    /// The segment with identifier `id` (its slot holds it and its sequence count matches).
    pub fn get(&self, id: i64) -> Option<&Segment> {
        let id = u32::try_from(id).ok().filter(|&i| i <= i32::MAX as u32)?;
        self.segs.get(&slot_of(id)).filter(|s| s.id == id)
    }

    pub(crate) fn get_mut(&mut self, id: i64) -> Option<&mut Segment> {
        let id = u32::try_from(id).ok().filter(|&i| i <= i32::MAX as u32)?;
        self.segs.get_mut(&slot_of(id)).filter(|s| s.id == id)
    }

    /// The segment with key `key` (not IPC_PRIVATE).
    pub fn by_key(&self, key: i32) -> Option<&Segment> {
        self.keys.get(&key).and_then(|i| self.segs.get(i))
    }

    /// Every segment, by slot.
    pub fn iter(&self) -> impl Iterator<Item = &Segment> {
        self.segs.values()
    }

    /// How many segments exist.
    pub fn len(&self) -> usize {
        self.segs.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.segs.is_empty()
    }

    /// Whether a segment was ever made (the allocator has moved from where it boots).
    pub fn allocated_any(&self) -> bool {
        self.last_idx.is_some() || self.forced.is_some()
    }

    /// The identifier of the segment made last (whether or not it still exists).
    pub fn last_id(&self) -> Option<u32> {
        self.last_idx.map(|i| self.seq << SEQ_SHIFT | i)
    }

    /// The identifier the next segment gets, or `None` when every slot is taken.
    pub fn next_id(&self) -> Option<u32> {
        let (idx, seq) = self.next_slot()?;
        Some(seq << SEQ_SHIFT | idx)
    }

    fn next_slot(&self) -> Option<(u32, u32)> {
        if let Some(id) = self.forced {
            return Some((slot_of(id), id >> SEQ_SHIFT));
        }
        let in_use = self.segs.len() as u32;
        if in_use >= self.ctlmni {
            return None;
        }
        let bound = (in_use * 3 / 2).max(MIN_CYCLE).min(self.ctlmni);
        let free = |from: u32| (from..bound).find(|i| !self.segs.contains_key(i));
        let idx = free(self.next_idx.min(bound)).or_else(|| free(0))?;
        let seq = match self.last_idx {
            Some(last) if idx <= last => {
                if self.seq + 1 >= SEQ_MAX {
                    0
                } else {
                    self.seq + 1
                }
            }
            _ => self.seq,
        };
        Some((idx, seq))
    }

    /// Makes the next segment get identifier `id`, as if the machine's other segments (which
    /// a trace does not show) had moved the allocator there; the search goes on after it.
    /// Fails with EEXIST when the slot is taken, EINVAL for a number no identifier has.
    pub fn set_next_id(&mut self, id: u32) -> abi::SysResult<()> {
        let idx = slot_of(id);
        if id > i32::MAX as u32 {
            return Err(abi::Errno::EINVAL);
        }
        if self.segs.contains_key(&idx) {
            return Err(abi::Errno::EEXIST);
        }
        self.forced = Some(id);
        Ok(())
    }

    /// Adds a segment in the next slot; returns its identifier (the caller checked that a
    /// slot is free).
    pub(crate) fn add(&mut self, mut seg: Segment) -> u32 {
        let (idx, seq) = self.next_slot().expect("a free slot");
        self.forced = None;
        self.seq = seq;
        self.last_idx = Some(idx);
        self.next_idx = idx + 1;
        seg.id = seq << SEQ_SHIFT | idx;
        if seg.key != 0 {
            self.keys.insert(seg.key, idx);
        }
        self.segs.insert(idx, seg);
        seq << SEQ_SHIFT | idx
    }

    /// IPC_RMID: the key is free for a new segment from now on.
    pub(crate) fn forget_key(&mut self, id: u32) {
        if let Some(s) = self.get_mut(i64::from(id)) {
            let key = std::mem::take(&mut s.key);
            if key != 0 {
                self.keys.remove(&key);
            }
        }
    }

    /// Removes a segment; returns it.
    pub(crate) fn remove(&mut self, id: u32) -> Option<Segment> {
        let idx = slot_of(id);
        let seg = self.segs.remove(&idx)?;
        if seg.key != 0 {
            self.keys.remove(&seg.key);
        }
        Some(seg)
    }

    /// Checks that the key index and the slots agree.
    pub fn check_invariants(&self) {
        for (key, idx) in &self.keys {
            let s = self.segs.get(idx).expect("a key names a missing segment");
            assert_eq!(s.key, *key, "segment {} has key {} but is indexed under {key}", s.id, s.key);
        }
        for (idx, s) in &self.segs {
            assert_eq!(slot_of(s.id), *idx, "segment {} in slot {idx}", s.id);
            assert!(s.key == 0 || self.keys.get(&s.key) == Some(idx), "segment {}'s key is not indexed", s.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg() -> Segment {
        Segment { id: 0, key: 0, mode: 0o600, segsz: 1, file: FileId(0), cpid: 1, lpid: 1 }
    }

    #[test]
    fn identifiers_cycle_through_slots_and_count_reuse() {
        let mut ids = ShmIds::default();
        assert_eq!(ids.add(seg()), 0);
        assert_eq!(ids.add(seg()), 1);
        ids.remove(0);
        // The search goes on after the last slot taken, not back to the freed one.
        assert_eq!(ids.add(seg()), 2);
        ids.remove(1);
        for i in 3..64 {
            assert_eq!(ids.add(seg()), i);
            if i < 63 {
                ids.remove(i - 1);
            }
        }
        // Two in use: the search stops at slot 64 and wraps to slot 0, with the next
        // sequence count.
        assert_eq!(ids.len(), 2);
        assert_eq!(ids.add(seg()), 1 << SEQ_SHIFT);
        assert_eq!(ids.add(seg()), 1 << SEQ_SHIFT | 1);
        ids.check_invariants();
    }

    #[test]
    fn the_allocator_moves_to_an_identifier_seen() {
        let mut ids = ShmIds::default();
        ids.set_next_id(32769).expect("free");
        assert_eq!(ids.add(seg()), 32769);
        assert_eq!(ids.add(seg()), 32770);
        assert!(ids.set_next_id(32769).is_err());
        ids.set_next_id(200).expect("free");
        assert_eq!(ids.add(seg()), 200);
        assert_eq!(ids.get(200).map(|s| s.id), Some(200));
        assert!(ids.get(200 + (1 << SEQ_SHIFT)).is_none());
    }
}
