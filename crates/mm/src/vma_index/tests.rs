//! Tests of [`VmaIndex`]: as an ordered map against a `BTreeMap`, and its gap searches
//! against a brute-force search over the gaps between the entries.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::ops::Bound::{Excluded, Unbounded};

const PAGE: u64 = 4096;

/// An entry of the tests: a range and a value.
#[derive(Clone, Debug, PartialEq)]
struct E {
    start: u64,
    end: u64,
    val: u32,
}

impl Span for E {
    fn start(&self) -> u64 {
        self.start
    }
    fn end(&self) -> u64 {
        self.end
    }
}

/// The model: start -> (end, value).
type Model = BTreeMap<u64, (u64, u32)>;

fn triple(e: &E) -> (u64, u64, u32) {
    (e.start, e.end, e.val)
}

fn model_triple((&s, &(e, v)): (&u64, &(u64, u32))) -> (u64, u64, u32) {
    (s, e, v)
}

/// Parameters of one gap search.
#[derive(Clone, Copy, Debug)]
struct Params {
    low: u64,
    high: u64,
    length: u64,
    align: u64,
    slack: u64,
    offset: u64,
}

/// The free gaps between the model's entries, the top one included.
fn naive_gaps(m: &Model) -> Vec<(u64, u64)> {
    let mut gaps = Vec::new();
    let mut prev = 0;
    for (&s, &(e, _)) in m {
        if prev < s {
            gaps.push((prev, s));
        }
        prev = e;
    }
    if prev < u64::MAX {
        gaps.push((prev, u64::MAX));
    }
    gaps
}

/// The gaps clipped to the window that are long enough, with their unclipped ends.
fn clipped(m: &Model, p: &Params) -> Option<Vec<(u64, u64, u64)>> {
    if p.low >= p.high || !p.align.is_power_of_two() {
        return None;
    }
    let need = p.length.checked_add(p.slack)?;
    let v = naive_gaps(m)
        .into_iter()
        .map(|(s, e)| (s.max(p.low), e.min(p.high), e))
        .filter(|&(cs, ce, _)| cs < ce && ce - cs >= need)
        .collect();
    Some(v)
}

/// Brute force top-down: the address and the end of its (unclipped) gap.
fn naive_top(m: &Model, p: &Params) -> Option<(u64, u64)> {
    let align = p.align as u128;
    clipped(m, p)?.iter().rev().find_map(|&(cs, ce, end)| {
        // Exact arithmetic in u128 as an independent cross-check.
        let a = (ce - p.length) as u128;
        let r = (a + (1u128 << 64) * align - p.offset as u128) % align;
        let a = a.checked_sub(r)?;
        (a >= cs as u128).then_some((a as u64, end))
    })
}

/// Brute force bottom-up.
fn naive_bottom(m: &Model, p: &Params) -> Option<(u64, u64)> {
    let align = p.align as u128;
    clipped(m, p)?.iter().find_map(|&(cs, ce, end)| {
        let r = (p.offset as u128 + (1u128 << 64) * align - cs as u128) % align;
        let a = cs as u128 + r;
        (a + p.length as u128 <= ce as u128).then_some((a as u64, end))
    })
}

/// The tree's answer in the naive form: the gap's end is the next entry's start, or the top.
fn found(r: Option<(u64, Option<&E>)>) -> Option<(u64, u64)> {
    r.map(|(a, next)| (a, next.map_or(u64::MAX, |e| e.start)))
}

fn check_search(t: &VmaIndex<E>, m: &Model, p: &Params) {
    let top = found(t.gap_top_down(GapRequest::new(p.low, p.high, p.length, p.align, p.slack, p.offset)));
    assert_eq!(top, naive_top(m, p), "top-down {p:x?}");
    let bottom = found(t.gap_bottom_up(GapRequest::new(p.low, p.high, p.length, p.align, p.slack, p.offset)));
    assert_eq!(bottom, naive_bottom(m, p), "bottom-up {p:x?}");
}

fn agree(index: &VmaIndex<E>, model: &Model, probes: &[u64]) {
    index.check_invariants();
    assert_eq!(index.len(), model.len());
    assert!(index.iter().map(triple).eq(model.iter().map(model_triple)));
    assert!(index.iter().rev().map(triple).eq(model.iter().rev().map(model_triple)));
    assert_eq!(index.last_end(), model.values().next_back().map_or(0, |v| v.0));
    for &x in probes {
        let le = model.range(..=x).next_back().map(model_triple);
        let lt = model.range(..x).next_back().map(model_triple);
        let ge = model.range(x..).next().map(model_triple);
        let gt = model.range((Excluded(x), Unbounded)).next().map(model_triple);
        let got = [index.last_le(x), index.last_lt(x), index.first_ge(x), index.first_gt(x)].map(|e| e.map(triple));
        assert_eq!(got, [le, lt, ge, gt]);
        assert_eq!(index.get(x).map(triple), model.get_key_value(&x).map(model_triple));
        assert!(index.iter_from(x).take(70).map(triple).eq(model.range(x..).take(70).map(model_triple)));
    }
}

#[derive(Clone, Debug)]
enum Op {
    Insert(u64, u64),
    Remove(u64),
    Change(u64),
    Move(u64),
}

/// Entries live in slots of 4: slot `k` holds at most one entry, starting at `4k` or
/// `4k + 1` and ending at most at `4k + 4`.
fn op(slots: u64) -> impl Strategy<Value = Op> {
    prop_oneof![
        ((0..slots), (2..5u64)).prop_map(|(k, l)| Op::Insert(k, l)),
        (0..slots).prop_map(Op::Remove),
        (0..slots).prop_map(Op::Change),
        (0..slots).prop_map(Op::Move),
    ]
}

/// The start of the entry in slot `k`, if any.
fn in_slot(model: &Model, k: u64) -> Option<u64> {
    model.range(4 * k..4 * k + 4).next().map(|(&s, _)| s)
}

fn apply(index: &mut VmaIndex<E>, model: &mut Model, op: &Op, i: u32) {
    match *op {
        Op::Insert(k, len) => {
            let s = in_slot(model, k).unwrap_or(4 * k);
            let e = E { start: s, end: (s + len).min(4 * k + 4), val: i };
            let old = model.insert(s, (e.end, i)).map(|(end, val)| E { start: s, end, val });
            assert_eq!(index.insert(e), old);
        }
        Op::Remove(k) => {
            let s = in_slot(model, k).unwrap_or(4 * k);
            let want = model.remove(&s).map(|(end, val)| E { start: s, end, val });
            assert_eq!(index.remove(s), want);
        }
        Op::Change(k) => {
            // In place: the value and the end move, as mprotect and brk change a VMA.
            let s = in_slot(model, k).unwrap_or(4 * k);
            let found = index.update(s, |e| {
                e.val = e.val.wrapping_add(1);
                e.end = if e.end == 4 * k + 4 { e.start + 1 } else { e.end + 1 };
            });
            assert_eq!(found, model.contains_key(&s));
            if let Some(v) = model.get_mut(&s) {
                v.1 = v.1.wrapping_add(1);
                v.0 = if v.0 == 4 * k + 4 { s + 1 } else { v.0 + 1 };
            }
        }
        Op::Move(k) => {
            // The start moves, as a stack grows down.
            let Some(s) = in_slot(model, k) else {
                assert!(!index.update(4 * k, |_| ()));
                return;
            };
            let (end, val) = model[&s];
            let to = if s == 4 * k { 4 * k + 1 } else { 4 * k };
            if to >= end {
                return;
            }
            assert!(index.update(s, |e| e.start = to));
            model.remove(&s);
            model.insert(to, (end, val));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn behaves_like_a_btreemap(ops in prop::collection::vec(op(3000), 1..6000), probes in prop::collection::vec(0u64..12_100, 8)) {
        let mut index = VmaIndex::new();
        let mut model = Model::new();
        for (i, op) in ops.iter().enumerate() {
            apply(&mut index, &mut model, op, i as u32);
            if i % 997 == 0 {
                agree(&index, &model, &probes);
            }
        }
        agree(&index, &model, &probes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    // Big enough for three levels, so inner nodes split, lend and merge too.
    #[test]
    fn deep_trees_shrink_like_a_btreemap(
        keys in prop::collection::vec(0u64..1_000_000, 5000..12_000),
        keep_one_in in 1usize..6,
        probes in prop::collection::vec(0u64..4_000_400, 8),
    ) {
        let mut index = VmaIndex::new();
        let mut model = Model::new();
        for (i, &k) in keys.iter().enumerate() {
            apply(&mut index, &mut model, &Op::Insert(k, 2 + k % 3), i as u32);
        }
        agree(&index, &model, &probes);
        for (i, &k) in keys.iter().rev().enumerate() {
            if i % keep_one_in != 0 || keep_one_in == 1 {
                apply(&mut index, &mut model, &Op::Remove(k), 0);
            } else if i % 3 == 0 {
                apply(&mut index, &mut model, &Op::Move(k), 0);
            }
            if i % 2999 == 0 {
                agree(&index, &model, &probes);
                let p = Params { low: 0, high: u64::MAX, length: 3, align: 1, slack: 0, offset: 0 };
                check_search(&index, &model, &p);
            }
        }
        agree(&index, &model, &probes);
    }
}

#[test]
fn grows_and_shrinks_in_address_order_both_ways() {
    let mut index = VmaIndex::new();
    let mut model = Model::new();
    let key = |i: u64| if i < 20_000 { (1 << 40) - i * 8192 } else { (i - 20_000) * 8192 + (1 << 41) };
    for i in 0..40_000u64 {
        let k = key(i);
        index.insert(E { start: k, end: k + PAGE, val: i as u32 });
        model.insert(k, (k + PAGE, i as u32));
    }
    let probes = [0, 4096, 1 << 40, (1 << 41) + 8192, u64::MAX];
    agree(&index, &model, &probes);
    // Appends keep leaves nearly full: far fewer than twice the minimum count.
    assert!(index.leaves.len() < 2 * 40_000 / (LEAF_CAP - LEAF_MIN), "{} leaves", index.leaves.len());
    for i in (0..40_000u64).step_by(3) {
        let k = key(i);
        assert_eq!(index.remove(k).map(|e| e.start), model.remove(&k).map(|_| k));
    }
    agree(&index, &model, &probes);
    let p = Params { low: 0, high: 1 << 42, length: 2 * PAGE, align: PAGE, slack: 0, offset: 0 };
    check_search(&index, &model, &p);
    for k in model.keys().copied().collect::<Vec<_>>() {
        index.remove(k);
    }
    index.check_invariants();
    assert!(index.is_empty() && index.iter().next().is_none() && index.last_le(u64::MAX).is_none());
    assert_eq!(
        index.gap_top_down(GapRequest::new(0, u64::MAX, PAGE, PAGE, 0, 0)).map(|r| r.0),
        Some(u64::MAX - 2 * PAGE + 1)
    );
}

/// An index whose free gaps are exactly `gaps` (sorted, disjoint, not adjacent), and its
/// model: entries fill the rest, up to `u64::MAX` when the last gap ends below it.
fn tree_of(gaps: &[(u64, u64)]) -> (VmaIndex<E>, Model) {
    let mut t = VmaIndex::new();
    let mut m = Model::new();
    let mut prev = 0;
    let last = gaps.last().map_or(0, |g| g.1);
    let top = (last < u64::MAX).then_some((u64::MAX, u64::MAX));
    for (i, &(s, e)) in gaps.iter().chain(top.iter()).enumerate() {
        assert!(s < e || top.is_some() && i == gaps.len());
        assert!(s > prev || i == 0);
        if prev < s {
            t.insert(E { start: prev, end: s, val: 0 });
            m.insert(prev, (s, 0));
        }
        prev = e;
    }
    t.check_invariants();
    assert_eq!(naive_gaps(&m), gaps.iter().copied().filter(|g| g.0 < g.1).collect::<Vec<_>>());
    (t, m)
}

fn top(t: &VmaIndex<E>, low: u64, high: u64, len: u64) -> Option<u64> {
    t.gap_top_down(GapRequest::new(low, high, len, PAGE, 0, 0)).map(|r| r.0)
}

fn bottom(t: &VmaIndex<E>, low: u64, high: u64, len: u64) -> Option<u64> {
    t.gap_bottom_up(GapRequest::new(low, high, len, PAGE, 0, 0)).map(|r| r.0)
}

#[test]
fn empty_tree_is_one_gap() {
    let t: VmaIndex<E> = VmaIndex::new();
    t.check_invariants();
    assert_eq!(t.last_end(), 0);
    assert_eq!(top(&t, 0, u64::MAX, PAGE), Some(u64::MAX - 2 * PAGE + 1));
    assert_eq!(bottom(&t, 0, u64::MAX, PAGE), Some(0));
    assert_eq!(t.gap_bottom_up(GapRequest::new(0, u64::MAX, PAGE, PAGE, 0, 0)).map(|r| r.1.is_none()), Some(true));
}

#[test]
fn top_down_picks_highest_fitting_gap() {
    let (t, _) = tree_of(&[(0x1000, 0x9000), (0xa000, 0xc000), (0x10000, 0x11000)]);
    assert_eq!(top(&t, 0, u64::MAX, 0x1000), Some(0x10000));
    assert_eq!(top(&t, 0, u64::MAX, 0x2000), Some(0xa000));
    assert_eq!(top(&t, 0, u64::MAX, 0x3000), Some(0x6000));
    assert_eq!(top(&t, 0, u64::MAX, 0x9000), None);
    assert_eq!(
        t.gap_top_down(GapRequest::new(0, u64::MAX, 0x2000, PAGE, 0, 0)).map(|r| r.1.map(|e| e.start)),
        Some(Some(0xc000))
    );
}

#[test]
fn bottom_up_picks_lowest_fitting_gap() {
    let (t, _) = tree_of(&[(0x1000, 0x2000), (0x3000, 0x5000), (0x8000, 0x10000)]);
    assert_eq!(bottom(&t, 0, u64::MAX, 0x1000), Some(0x1000));
    assert_eq!(bottom(&t, 0, u64::MAX, 0x2000), Some(0x3000));
    assert_eq!(bottom(&t, 0, u64::MAX, 0x3000), Some(0x8000));
    assert_eq!(bottom(&t, 0, u64::MAX, 0x9000), None);
}

#[test]
fn window_clips_gaps() {
    let (t, _) = tree_of(&[(0x1000, 0x9000), (0x10000, 0x20000)]);
    // The high gap is clipped to [0x10000, 0x12000): too small for 3 pages.
    assert_eq!(top(&t, 0, 0x12000, 0x3000), Some(0x6000));
    assert_eq!(top(&t, 0, 0x12000, 0x2000), Some(0x10000));
    // Clipped from below: [0x1e000, 0x20000).
    assert_eq!(bottom(&t, 0x1e000, u64::MAX, 0x2000), Some(0x1e000));
    assert_eq!(bottom(&t, 0x1f000, u64::MAX, 0x2000), None);
    // Window entirely inside one gap.
    assert_eq!(top(&t, 0x2000, 0x5000, 0x3000), Some(0x2000));
    assert_eq!(top(&t, 0x2000, 0x5000, 0x4000), None);
    assert_eq!(bottom(&t, 0x2000, 0x5000, 0x1000), Some(0x2000));
    // Window between gaps, and degenerate windows.
    assert_eq!(top(&t, 0x9000, 0x10000, 0x1000), None);
    assert_eq!(top(&t, 0x5000, 0x5000, 0), None);
    assert_eq!(bottom(&t, 0x6000, 0x5000, 0x1000), None);
}

#[test]
fn alignment_and_offset() {
    let (t, _) = tree_of(&[(0x1000, 0x40_0000)]);
    let m2 = 0x20_0000;
    // Linux style: slack = align - page.
    assert_eq!(t.gap_top_down(GapRequest::new(0, u64::MAX, 0x1000, m2, m2 - PAGE, 0)).map(|r| r.0), Some(0x20_0000));
    assert_eq!(t.gap_bottom_up(GapRequest::new(0, u64::MAX, 0x1000, m2, m2 - PAGE, 0)).map(|r| r.0), Some(0x20_0000));
    // With an offset the congruence class shifts.
    assert_eq!(
        t.gap_top_down(GapRequest::new(0, u64::MAX, 0x1000, m2, m2 - PAGE, 0x3000)).map(|r| r.0),
        Some(0x20_3000)
    );
    assert_eq!(t.gap_bottom_up(GapRequest::new(0, u64::MAX, 0x1000, m2, m2 - PAGE, 0x3000)).map(|r| r.0), Some(0x3000));
    // Offsets larger than the alignment act modulo the alignment.
    assert_eq!(t.gap_bottom_up(GapRequest::new(0, u64::MAX, 0x1000, m2, 0, 0x7_0020_3000)).map(|r| r.0), Some(0x3000));
    // Non-power-of-two alignment is rejected rather than misbehaving.
    assert!(t.gap_top_down(GapRequest::new(0, u64::MAX, 0x1000, 3 * PAGE, 0, 0)).is_none());
    assert!(t.gap_bottom_up(GapRequest::new(0, u64::MAX, 0x1000, 0, 0, 0)).is_none());
}

#[test]
fn skips_gap_when_aligned_address_does_not_fit() {
    // The upper gap is big enough by length but holds no 64K-aligned slot; the lower does.
    let k64 = 0x1_0000;
    let (t, _) = tree_of(&[(0x10_0000, 0x12_0000), (0x20_1000, 0x20_3000)]);
    assert_eq!(t.gap_top_down(GapRequest::new(0, u64::MAX, 0x1000, k64, 0, 0)).map(|r| r.0), Some(0x11_0000));
    assert_eq!(t.gap_top_down(GapRequest::new(0, u64::MAX, 0x2000, k64, 0, 0)).map(|r| r.0), Some(0x11_0000));
    let (t, _) = tree_of(&[(0x1000, 0x3000), (0x10_0000, 0x12_0000)]);
    assert_eq!(t.gap_bottom_up(GapRequest::new(0, u64::MAX, 0x2000, k64, 0, 0)).map(|r| r.0), Some(0x10_0000));
    // Nothing aligned fits anywhere.
    let (t, _) = tree_of(&[(0x1000, 0x3000), (0x5000, 0x7000)]);
    assert!(t.gap_top_down(GapRequest::new(0, u64::MAX, 0x2000, k64, 0, 0)).is_none());
    assert!(t.gap_bottom_up(GapRequest::new(0, u64::MAX, 0x2000, k64, 0, 0)).is_none());
}

#[test]
fn slack_is_part_of_need() {
    let (t, _) = tree_of(&[(0x1000, 0x3000), (0x10000, 0x11000)]);
    // The upper gap is exactly one page: with slack it no longer qualifies.
    assert_eq!(t.gap_top_down(GapRequest::new(0, u64::MAX, 0x1000, PAGE, 0, 0)).map(|r| r.0), Some(0x10000));
    assert_eq!(t.gap_top_down(GapRequest::new(0, u64::MAX, 0x1000, PAGE, 0x1000, 0)).map(|r| r.0), Some(0x2000));
    assert!(t.gap_top_down(GapRequest::new(0, u64::MAX, 0x1000, PAGE, 0x2000, 0)).is_none());
}

#[test]
fn extreme_values_near_u64_max() {
    let (t, m) = tree_of(&[(0, 0x1000), (u64::MAX - 0x10_0000, u64::MAX)]);
    // u64::MAX is odd, so the page-aligned top slot ends below it.
    assert_eq!(top(&t, 0, u64::MAX, 0x1000), Some(u64::MAX - 0x1fff));
    assert_eq!(bottom(&t, 0x1000, u64::MAX, 0x1000), Some(u64::MAX - 0xf_ffff));
    // Overflowing sizes and offsets never panic.
    for p in [
        Params { low: 0, high: u64::MAX, length: u64::MAX, align: PAGE, slack: u64::MAX, offset: 0 },
        Params { low: 0, high: u64::MAX, length: u64::MAX, align: PAGE, slack: 1, offset: u64::MAX },
        Params { low: 0, high: u64::MAX, length: 1, align: 1 << 63, slack: 0, offset: u64::MAX },
        Params { low: 0, high: u64::MAX, length: 0x1000, align: PAGE, slack: 0, offset: u64::MAX },
    ] {
        check_search(&t, &m, &p);
    }
    assert_eq!(
        t.gap_top_down(GapRequest::new(0, u64::MAX, 0x1000, PAGE, 0, u64::MAX)).map(|r| r.0),
        Some(u64::MAX - 0x1000)
    );
    // The whole address space as one gap.
    let (whole, _) = tree_of(&[(0, u64::MAX)]);
    assert_eq!(whole.gap_top_down(GapRequest::new(0, u64::MAX, u64::MAX, 1, 0, 0)).map(|r| r.0), Some(0));
    assert_eq!(whole.gap_bottom_up(GapRequest::new(0, u64::MAX, u64::MAX, 1, 0, 0)).map(|r| r.0), Some(0));
    assert!(whole.gap_bottom_up(GapRequest::new(1, u64::MAX, u64::MAX - 1, 1 << 63, 0, 0)).is_none());
    assert_eq!(whole.gap_top_down(GapRequest::new(0, u64::MAX, 1, 1 << 63, 0, 0)).map(|r| r.0), Some(1 << 63));
    assert_eq!(whole.gap_bottom_up(GapRequest::new(1, u64::MAX, 1, 1 << 63, 0, 0)).map(|r| r.0), Some(1 << 63));
    // An entry up to the top: no top gap.
    let (full, m) = tree_of(&[(0x1000, 0x2000)]);
    assert_eq!(full.last_end(), u64::MAX);
    check_search(&full, &m, &Params { low: 0, high: u64::MAX, length: PAGE, align: PAGE, slack: 0, offset: 0 });
}

/// xorshift64*: deterministic test randomness without dependencies.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// An address from a small universe so that collisions, adjacency and the top of the
/// address space are all exercised.
fn addr(r: &mut Rng) -> u64 {
    match r.below(8) {
        0 => u64::MAX - r.below(64) * PAGE / 2,
        1 => r.below(1 << 16),
        _ => r.below(1024) * PAGE,
    }
}

fn random_params(r: &mut Rng) -> Params {
    let mut low = addr(r);
    let mut high = addr(r);
    if r.below(4) == 0 {
        low = 0;
        high = u64::MAX;
    } else if low > high && r.below(4) != 0 {
        std::mem::swap(&mut low, &mut high);
    }
    let align = 1u64 << r.below(20);
    let length = match r.below(10) {
        0 => r.next(),
        1 => 0,
        _ => (r.below(16) + 1) * PAGE - r.below(2),
    };
    let slack = match r.below(4) {
        0 => 0,
        1 => align - 1,
        2 => r.below(align),
        _ => r.below(3) * PAGE,
    };
    let offset = if r.below(3) == 0 { r.next() } else { r.below(4) * PAGE };
    Params { low, high, length, align, slack, offset }
}

/// A random insert of a free range, removal, bound change or query.
fn random_op(t: &mut VmaIndex<E>, m: &mut Model, r: &mut Rng) {
    let free = |m: &Model, s: u64, e: u64| s < e && m.range(..e).next_back().is_none_or(|(_, &(pe, _))| pe <= s);
    match r.below(10) {
        0..=4 => {
            let s = addr(r);
            let e = match r.below(10) {
                0 => addr(r),
                1 => s.saturating_add(r.below(PAGE) + 1),
                _ => s.saturating_add((r.below(8) + 1) * PAGE),
            };
            if free(m, s, e) {
                t.insert(E { start: s, end: e, val: 0 });
                m.insert(s, (e, 0));
            }
        }
        5..=6 => {
            let s = if r.below(4) != 0 && !m.is_empty() {
                *m.keys().nth(r.below(m.len() as u64) as usize).unwrap()
            } else {
                addr(r)
            };
            assert_eq!(t.remove(s).map(|e| e.end), m.remove(&s).map(|v| v.0), "remove({s:#x})");
        }
        7..=8 if !m.is_empty() => {
            // Move one bound of an entry within the room it has.
            let s = *m.keys().nth(r.below(m.len() as u64) as usize).unwrap();
            let (e, v) = m.remove(&s).unwrap();
            let below = m.range(..s).next_back().map_or(0, |(_, &(pe, _))| pe);
            let above = m.range(s..).next().map_or(u64::MAX, |(&ns, _)| ns);
            let (ns, ne) =
                if r.below(2) == 0 { (below + r.below(e - below), e) } else { (s, s + 1 + r.below(above - s)) };
            assert!(t.update(s, |x| (x.start, x.end) = (ns, ne)));
            m.insert(ns, (ne, v));
        }
        _ => {
            let p = random_params(r);
            check_search(t, m, &p);
        }
    }
    t.check_invariants();
    assert_eq!(t.len(), m.len());
}

#[test]
fn differential_against_brute_force() {
    for seed in 1..=40u64 {
        let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut t = VmaIndex::new();
        let mut m = Model::new();
        for _ in 0..2_000 {
            random_op(&mut t, &mut m, &mut r);
            let p = random_params(&mut r);
            check_search(&t, &m, &p);
        }
        assert!(t.iter().map(triple).eq(m.iter().map(model_triple)));
    }
}

#[test]
fn differential_dense_page_gaps() {
    // Many small gaps between one-page entries, queried with Linux-style parameters, to
    // exercise the pruning on a tree of three levels; found ranges are then mapped.
    let mut r = Rng(0xDEAD_BEEF);
    let mut t = VmaIndex::new();
    let mut m = Model::new();
    let mut a = 0x1_0000u64;
    for i in 0..30_000 {
        let len = (r.below(24) + 1) * PAGE;
        t.insert(E { start: a, end: a + len, val: i });
        m.insert(a, (a + len, i));
        a += len + (r.below(3) + 1) * PAGE;
    }
    t.check_invariants();
    assert!(t.height >= 2, "height {}", t.height);
    for i in 0..3_000 {
        let align = PAGE << r.below(6);
        let low = r.below(a / PAGE) * PAGE;
        let high = low + r.below(a / PAGE + 1) * PAGE + 1;
        let slack = if r.below(2) == 0 { align - PAGE } else { 0 };
        let p = Params { low, high, length: (r.below(20) + 1) * PAGE, align, slack, offset: r.below(8) * PAGE };
        check_search(&t, &m, &p);
        if let Some((x, _)) = naive_top(&m, &p) {
            t.insert(E { start: x, end: x + p.length, val: i });
            m.insert(x, (x + p.length, i));
            if i % 100 == 0 {
                t.check_invariants();
            }
        }
    }
    t.check_invariants();
    assert!(t.iter().map(triple).eq(m.iter().map(model_triple)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// The gap searches agree with a brute-force search over the gaps between a random set
    /// of entries, built and changed by random inserts, removals and bound changes.
    #[test]
    fn gap_searches_match_brute_force(seed in any::<u64>(), steps in 1usize..300) {
        let mut r = Rng(seed | 1);
        let mut t = VmaIndex::new();
        let mut m = Model::new();
        for _ in 0..steps {
            random_op(&mut t, &mut m, &mut r);
        }
        for _ in 0..32 {
            let p = random_params(&mut r);
            check_search(&t, &m, &p);
        }
        prop_assert!(t.iter().map(triple).eq(m.iter().map(model_triple)));
    }

    /// The same over page-aligned entries dense enough for inner nodes.
    #[test]
    fn gap_searches_match_brute_force_on_deep_trees(
        starts in prop::collection::btree_set(0u64..20_000, 1..3_000),
        queries in prop::collection::vec((0u64..20_010, 0u64..20_010, 1u64..6, 0u32..4, any::<bool>()), 16),
    ) {
        let mut t = VmaIndex::new();
        let mut m = Model::new();
        let mut prev_end = 0;
        for (i, &s) in starts.iter().enumerate() {
            let start = s * PAGE;
            if start < prev_end {
                continue;
            }
            let end = start + PAGE * (1 + (s % 3));
            t.insert(E { start, end, val: i as u32 });
            m.insert(start, (end, i as u32));
            prev_end = end;
        }
        t.check_invariants();
        for &(lo, hi, len, align, top_only) in &queries {
            let (low, high) = (lo.min(hi) * PAGE, lo.max(hi) * PAGE + if top_only { 0 } else { PAGE });
            let p = Params { low, high, length: len * PAGE, align: PAGE << align, slack: 0, offset: 0 };
            check_search(&t, &m, &p);
        }
    }
}

/// An address space growing downwards (mmap's top-down placement) adds each new leaf at
/// position 1 of its parent: those parents split lopsided too, so that inner nodes stay
/// three-quarters full instead of half.
#[test]
fn downward_growth_keeps_inner_nodes_full() {
    let mut index = VmaIndex::new();
    for i in 0..200_000u64 {
        let k = (1 << 40) - i * PAGE;
        index.insert(E { start: k, end: k + PAGE, val: 0 });
    }
    index.check_invariants();
    let (leaves, inners) = (index.leaves.len(), index.inners.len());
    // Half-full inner nodes would number a 32nd of the leaves, and more above them.
    assert!(inners < leaves / 40, "{inners} inner nodes above {leaves} leaves");
}
