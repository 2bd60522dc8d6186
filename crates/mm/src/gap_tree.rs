//! TEMPORARY naive gap index (linear search); replaced by the augmented tree.
use std::collections::BTreeMap;
#[derive(Clone, Debug, Default)]
pub struct GapTree { m: BTreeMap<u64, u64> }
impl GapTree {
    pub fn new() -> Self { Self::default() }
    pub fn insert(&mut self, start: u64, end: u64) { self.m.insert(start, end); }
    pub fn remove(&mut self, start: u64) -> Option<u64> { self.m.remove(&start) }
    pub fn get(&self, start: u64) -> Option<u64> { self.m.get(&start).copied() }
    pub fn containing(&self, addr: u64) -> Option<(u64, u64)> { self.m.range(..=addr).next_back().filter(|(_, &e)| e > addr).map(|(&s, &e)| (s, e)) }
    pub fn len(&self) -> usize { self.m.len() }
    pub fn is_empty(&self) -> bool { self.m.is_empty() }
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ { self.m.iter().map(|(&s, &e)| (s, e)) }
    pub fn find_top_down(&self, low: u64, high: u64, length: u64, align: u64, slack: u64, off: u64) -> Option<u64> {
        for (&s, &e) in self.m.iter().rev() {
            let s = s.max(low); let e = e.min(high);
            if e <= s || e - s < length.checked_add(slack)? { continue; }
            let a = e - length; let a = a - (a.wrapping_sub(off) & (align - 1));
            if a >= s { return Some(a); }
        }
        None
    }
    pub fn find_bottom_up(&self, low: u64, high: u64, length: u64, align: u64, slack: u64, off: u64) -> Option<u64> {
        for (&s, &e) in self.m.iter() {
            let s = s.max(low); let e = e.min(high);
            if e <= s || e - s < length.checked_add(slack)? { continue; }
            let a = s + (off.wrapping_sub(s) & (align - 1));
            if a.checked_add(length)? <= e { return Some(a); }
        }
        None
    }
    pub fn check_invariants(&self) {}
}
