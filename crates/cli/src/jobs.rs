//! Spreading a run of many independent items (random scripts, traces) over the cores of this
//! machine (`--jobs N`) and over machines (`--shard I/N`), with output that does not depend
//! on either: items are numbered, each shard takes a fixed slice of the numbers, and results
//! come out in number order however the threads finish.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;

/// The `I`-th of `N` disjoint slices of a run (`--shard I/N`, 1 ≤ I ≤ N). Slice `I` is the
/// `I`-th block of consecutive items, so the outputs of shards 1 to N, one after the other,
/// are the output of the whole run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Which slice, from 1.
    pub index: u64,
    /// How many slices.
    pub count: u64,
}

impl Shard {
    /// The positions, among `len` items, of this slice's items.
    pub fn range(self, len: u64) -> Range<u64> {
        let at = |i: u64| (u128::from(len) * u128::from(i) / u128::from(self.count)) as u64;
        at(self.index - 1)..at(self.index)
    }

    /// Whether this is a slice of a larger run.
    pub fn is_part(self) -> bool {
        self.count > 1
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("`{s}`: expected I/N with 1 <= I <= N, e.g. 2/8");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u64, u64) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// Parses `--jobs`: a number of threads, at least 1.
pub fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{s}`: expected a number of threads, at least 1")),
    }
}

/// The default of `--jobs`: every core this process may run on.
pub fn all_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `work` on items `0..count` on up to `jobs` threads, and hands each result to `emit`
/// in item order, as soon as it and every earlier one are done. When `emit` returns `false`
/// no further item is started, and no further result is emitted.
pub fn run_ordered<R: Send>(
    count: u64,
    jobs: usize,
    work: impl Fn(u64) -> R + Sync,
    mut emit: impl FnMut(u64, R) -> bool,
) {
    let jobs = jobs.max(1).min(usize::try_from(count).unwrap_or(usize::MAX));
    if jobs <= 1 {
        for i in 0..count {
            if !emit(i, work(i)) {
                return;
            }
        }
        return;
    }
    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(u64, R)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (next, stop, work) = (&next, &stop, &work);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count || tx.send((i, work(i))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // Results that came before an earlier one, until it comes.
        let mut waiting = std::collections::BTreeMap::new();
        let mut due = 0;
        for (i, r) in rx {
            waiting.insert(i, r);
            while let Some(r) = waiting.remove(&due) {
                if !emit(due, r) {
                    stop.store(true, Ordering::Relaxed);
                    return;
                }
                due += 1;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_disjoint_blocks_that_cover_the_run() {
        for len in [0, 1, 7, 10, 1000] {
            for n in 1..=12 {
                let mut covered = Vec::new();
                for i in 1..=n {
                    covered.extend(Shard { index: i, count: n }.range(len));
                }
                assert_eq!(covered, (0..len).collect::<Vec<_>>(), "{len} items in {n} shards");
            }
        }
        let huge = Shard { index: 3, count: 3 }.range(u64::MAX);
        assert_eq!(huge.end, u64::MAX);
    }

    #[test]
    fn shard_syntax() {
        assert_eq!("2/8".parse::<Shard>(), Ok(Shard { index: 2, count: 8 }));
        for bad in ["0/4", "5/4", "1", "a/b", "1/0", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert!(parse_jobs("0").is_err());
        assert_eq!(parse_jobs("3"), Ok(3));
    }

    #[test]
    fn results_come_in_item_order_whatever_the_threads_do() {
        for jobs in [1, 2, 4, 9] {
            let mut seen = Vec::new();
            // Early items take longest, so later ones finish first.
            run_ordered(
                40,
                jobs,
                |i| {
                    std::thread::sleep(std::time::Duration::from_micros((40 - i) * 50));
                    i * i
                },
                |i, r| {
                    seen.push((i, r));
                    true
                },
            );
            assert_eq!(seen, (0..40).map(|i| (i, i * i)).collect::<Vec<_>>(), "jobs {jobs}");
        }
    }

    #[test]
    fn emit_can_stop_the_run() {
        let started = AtomicU64::new(0);
        let mut seen = Vec::new();
        run_ordered(
            10_000,
            4,
            |i| {
                started.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_micros(100));
                i
            },
            |i, _| {
                seen.push(i);
                i < 5
            },
        );
        assert_eq!(seen, vec![0, 1, 2, 3, 4, 5]);
        assert!(started.load(Ordering::Relaxed) < 10_000);
    }
}
