//! Differential test: random scripts run on the host kernel and on the model, compared step
//! by step (results, errno, bytes, signals, maps and smaps text, mincore vectors, pagemap
//! flags, status lines).
//!
//! `MMSIM_DIFF_CASES` sets the number of random scripts (default 150) and `MMSIM_DIFF_SEED`
//! the first seed, to run many more locally or to replay one.

use hostdiff::compare::compare;
use hostdiff::gen::{random_script, random_swap_script};
use hostdiff::model::run_on_model;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Seeds of 120-step scripts that once differed (`mmsim check --random 3000 --seed 777000
/// --steps 120`), run again on every test run: 777037 and 778484, a hole punched
/// (MADV_REMOVE) through part of a clean large folio, whose pages in the hole the model
/// kept cached; 777941, a fault in an executable mapping, which reads ahead from the page
/// on (see exec_readahead.rs); 778757, a large folio punched out whole and read back in
/// small folios, which the model still took for one (a write fault then mapped two pages);
/// 901463 (`--seed 900000`), the vDSO's pages read through pagemap, which are never mapped
/// by one process alone; 1500240 (`--seed 1500000`), a dirty page-cache page MADV_PAGEOUT
/// left flagged for reclaim, which fault-around passes over; 1502428, a page an mlocked
/// mapping faulted in, still referenced once that mapping is gone; 1200578 (`--seed
/// 1200000`), a large folio a child's mlockall mapped whole, which Linux mlocks; 902510, the
/// vDSO's first page, which the host child's C library read at startup (the model's
/// starting state left it unmapped); 1700161 (`--seed 1700000`), a dirty large folio cut by
/// a second hole that reached its last page with a dirty buffer, which ext4 then splits;
/// 779453, a child's write to MAP_LOCKED memory its parent had just unmapped, which copies
/// the page while its munlock waits in the mlock batch; 1900084 (`--seed 1900000`), a clean
/// large folio a hole cut, which folio_split leaves in pieces as large as they can be;
/// 2001701 (`--seed 2000000`), MADV_PAGEOUT of a large folio through a PROT_NONE mapping.
const FOUND: &[u64] =
    &[777037, 777941, 778484, 778757, 779453, 901463, 902510, 1200578, 1500240, 1502428, 1700161, 1900084, 2001701];

/// Seeds of 300 steps that once differed: 4001606 (`--seed 4000000 --steps 300`), an
/// exit's zap that activated a large folio, which moves the whole activate batch at once
/// (a small page's activation queued before it then completes).
const FOUND_LONG: &[u64] = &[4001606, 4101848];

#[test]
fn scripts_that_once_differed_match_the_host_kernel() {
    if hostreq::need("the differential test", hostdiff::support()).is_none() {
        return;
    }
    let mut failures = Vec::new();
    for (seed, steps) in FOUND.iter().map(|&s| (s, 120)).chain(FOUND_LONG.iter().map(|&s| (s, 300))) {
        let script = random_script(seed, steps);
        let host = hostdiff::run_on_host(&script).unwrap_or_else(|e| panic!("seed {seed}: host run failed: {e}"));
        match run_on_model(&script, &host.init) {
            Ok(model) => {
                if let Some(first) = compare(&script, &host, &model).first() {
                    failures.push(format!("seed {seed}: step {}: {}", first.step, first.what));
                }
            }
            Err(e) => failures.push(format!("seed {seed}: model run failed: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn random_scripts_match_the_host_kernel() {
    if hostreq::need("the differential test", hostdiff::support()).is_none() {
        return;
    }
    let cases = env_u64("MMSIM_DIFF_CASES", 150);
    let first = env_u64("MMSIM_DIFF_SEED", 1);
    let steps = env_u64("MMSIM_DIFF_STEPS", 60) as usize;
    let mut failures = Vec::new();
    for seed in first..first + cases {
        let script = random_script(seed, steps);
        let host = match hostdiff::run_on_host(&script) {
            Ok(h) => h,
            Err(e) => {
                let steps: Vec<String> =
                    script.steps.iter().enumerate().map(|(i, s)| format!("{i}: p{} {:?}", s.proc, s.op)).collect();
                panic!("seed {seed}: host run failed: {e}\n{}", steps.join("\n"))
            }
        };
        let model = match run_on_model(&script, &host.init) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("seed {seed}: model run failed: {e}"));
                continue;
            }
        };
        let mismatches = compare(&script, &host, &model);
        if let Some(first) = mismatches.first() {
            failures.push(format!("seed {seed}: step {}: {}", first.step, first.what));
        }
    }
    eprintln!("{} random differential cases, {} with mismatches", cases, failures.len());
    assert!(failures.is_empty(), "{} of {cases} cases differ:\n{}", failures.len(), failures.join("\n"));
}

/// Random scripts on a machine with swap ([`random_swap_script`]): swap files activated,
/// shown and deactivated between the steps, pages going out with MADV_PAGEOUT/MADV_COLD and
/// coming back on access or swapoff. `MMSIM_DIFF_SWAP_CASES` sets the number (default 40),
/// `MMSIM_DIFF_SWAP_SEED` the first seed. Needs root (a failure under
/// MMSIM_REQUIRE_HOST=1, a skip otherwise); each run holds the host swap lock, so the other
/// host runs wait (docs/swap.md).
///
/// What it found, each fixed with a test of its own: swapoff skipped the written copies of a
/// private file mapping (a model panic, seed 283) and put a full device back among those a
/// pageout tries (a panic, seed 592); devices of one priority take pages in turn (314); a
/// swap file's cursor at its end takes the slots freed behind it (550, 334); and the host
/// runs wait for a pageout's writes (with the vmstat counters refreshed) and drain every
/// CPU's LRU batches before the next step (16, 28, 91, 111, 218, 238, 319, 358). Seeds
/// 1-800 then matched, twice.
#[test]
fn random_swap_scripts_match_the_host_kernel() {
    let name = "the differential test with swap";
    if hostreq::need(name, hostdiff::support()).is_none() {
        return;
    }
    let cases = env_u64("MMSIM_DIFF_SWAP_CASES", 40);
    let first = env_u64("MMSIM_DIFF_SWAP_SEED", 1);
    let steps = env_u64("MMSIM_DIFF_STEPS", 60) as usize;
    let mut failures = Vec::new();
    let mut swapped = 0;
    for seed in first..first + cases {
        let script = random_swap_script(seed, steps);
        let host = match hostdiff::run_on_host(&script) {
            Ok(h) => h,
            Err(hostdiff::HostError::Unsupported(why)) => {
                hostreq::need::<()>(name, Err(why));
                return;
            }
            Err(e) => panic!("swap seed {seed}: host run failed: {e}"),
        };
        // That the host used its swap at all: some /proc/swaps read shows a slot in use.
        swapped += usize::from(script.steps.iter().zip(&host.outcomes).any(|(st, o)| {
            matches!(st.op, hostdiff::Op::Swaps)
                && matches!(o, hostdiff::Outcome::Text(t) if t.lines().skip(1).any(|l| {
                    l.split_whitespace().nth(3).is_some_and(|used| used != "0")
                }))
        }));
        let model = match std::panic::catch_unwind(|| run_on_model(&script, &host.init)) {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => {
                failures.push(format!("swap seed {seed}: model run failed: {e}"));
                continue;
            }
            Err(_) => {
                failures.push(format!("swap seed {seed}: the model panicked"));
                continue;
            }
        };
        let mismatches = compare(&script, &host, &model);
        if let Some(first) = mismatches.first() {
            failures.push(format!("swap seed {seed}: step {}: {}", first.step, first.what));
        }
    }
    eprintln!("{cases} random differential cases with swap ({swapped} used it), {} with mismatches", failures.len());
    assert!(failures.is_empty(), "{} of {cases} cases differ:\n{}", failures.len(), failures.join("\n"));
    // About a third do over many seeds (9 of seeds 1-40): at least one in five.
    assert!(cases < 10 || swapped * 5 >= cases as usize, "only {swapped} of {cases} scripts used their swap");
}

/// Prints the script, host and model outcomes of one seed: `MMSIM_DIFF_DEBUG=SEED cargo test
/// -p hostdiff --test differential debug_one_seed -- --nocapture` (with `MMSIM_DIFF_SWAP=1`,
/// the seed's script with swap). `MMSIM_DIFF_PROBE=STEP:OP[:PAGES]` runs the steps before
/// STEP, then mincore and pagemap of the mapping step OP made (PAGES pages, 10 by default)
/// around step STEP: where the page cache or the page tables parted.
/// `MMSIM_DIFF_SMAPS=N[,N…]` turns steps N (after `MMSIM_DIFF_MIN`'s cut, a harmless maps
/// read of some process) into smaps reads and prints both texts: a process's state in the
/// middle of a script, the later steps' indices unchanged. `MMSIM_DIFF_PM=1` prints every
/// pagemap entry of both sides (a changed PFN after a write fault: the page was copied).
#[test]
fn debug_one_seed() {
    let Some(seed) = std::env::var("MMSIM_DIFF_DEBUG").ok().and_then(|v| v.parse::<u64>().ok()) else { return };
    let steps = env_u64("MMSIM_DIFF_STEPS", 60) as usize;
    // MMSIM_DIFF_SWAP=1: the seed's script with swap.
    let mut script = if std::env::var_os("MMSIM_DIFF_SWAP").is_some() {
        random_swap_script(seed, steps)
    } else {
        random_script(seed, steps)
    };
    // MMSIM_DIFF_UPTO=N[:P]: keep the first N steps, then show process P's smaps (and with
    // MMSIM_DIFF_SWAPS=1, /proc/swaps).
    if let Ok(upto) = std::env::var("MMSIM_DIFF_UPTO") {
        let (n, p) = upto.split_once(':').unwrap_or((&upto, "0"));
        script.steps.truncate(n.parse().expect("MMSIM_DIFF_UPTO"));
        script.push(p.parse().expect("process"), hostdiff::Op::Smaps);
        if std::env::var_os("MMSIM_DIFF_SWAPS").is_some() {
            script.push(0, hostdiff::Op::Swaps);
        }
    }
    // MMSIM_DIFF_MIN=1: the shortest script found that still differs at its last step.
    if std::env::var_os("MMSIM_DIFF_MIN").is_some() {
        script = minimize(script);
    }
    let smaps_at: Vec<usize> = std::env::var("MMSIM_DIFF_SMAPS")
        .map(|v| v.split(',').map(|x| x.parse().unwrap()).collect())
        .unwrap_or_default();
    for &n in &smaps_at {
        script.steps[n].op = hostdiff::Op::Smaps;
    }
    println!("files {:?}\nopens {:?}\nswap files {:?}", script.files, script.opens, script.swap_files);
    if let Ok(at) = std::env::var("MMSIM_DIFF_PROBE") {
        let mut it = at.split(':').map(|v| v.parse::<usize>().unwrap());
        let (n, op, pages) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap_or(10) as u64);
        let step = script.steps[n].clone();
        script.steps.truncate(n);
        let a = hostdiff::Addr::Result { op, offset: 0 };
        script.push(step.proc, hostdiff::Op::Mincore { addr: a, len: pages * 4096 });
        script.push(step.proc, hostdiff::Op::Pagemap { addr: a, pages });
        script.steps.push(step.clone());
        script.push(step.proc, hostdiff::Op::Mincore { addr: a, len: pages * 4096 });
        script.push(step.proc, hostdiff::Op::Pagemap { addr: a, pages });
    }
    let host = hostdiff::run_on_host(&script).expect("host run");
    let model = run_on_model(&script, &host.init).expect("model run");
    let mismatches = compare(&script, &host, &model);
    // MMSIM_DIFF_SHOW=1: also the differing pagemap entries, and both texts of the last step.
    let show = std::env::var_os("MMSIM_DIFF_SHOW").is_some();
    for (i, st) in script.steps.iter().enumerate() {
        let fmt = |o: &hostdiff::Outcome| match o {
            hostdiff::Outcome::Text(_) => "text".to_string(),
            hostdiff::Outcome::Bytes(b) if b.len() <= 16 => format!("{b:?}"),
            hostdiff::Outcome::Bytes(b) => format!("{} bytes", b.len()),
            o => format!("{o:?}"),
        };
        println!("{i}: p{} {:?} -> {}", st.proc, st.op, fmt(&host.outcomes[i]));
        if std::env::var_os("MMSIM_DIFF_PM").is_some() && matches!(st.op, hostdiff::Op::Pagemap { .. }) {
            if let (hostdiff::Outcome::Bytes(h), hostdiff::Outcome::Bytes(m)) = (&host.outcomes[i], &model[i]) {
                for (x, y) in h.chunks(8).zip(m.chunks(8)) {
                    println!(
                        "     host {:016x} model {:016x}",
                        u64::from_le_bytes(x.try_into().unwrap()),
                        u64::from_le_bytes(y.try_into().unwrap())
                    );
                }
            }
        }
        if smaps_at.contains(&i) {
            for (who, outcomes) in [("host", &host.outcomes), ("model", &model)] {
                if let hostdiff::Outcome::Text(t) = &outcomes[i] {
                    println!("--- {who} at {i}:\n{t}");
                }
            }
        }
        for m in mismatches.iter().filter(|m| m.step == i) {
            println!("   MISMATCH {}", m.what);
            if let (hostdiff::Outcome::Bytes(h), hostdiff::Outcome::Bytes(m), true) =
                (&host.outcomes[i], &model[i], show)
            {
                for (k, (x, y)) in h.chunks(8).zip(m.chunks(8)).enumerate().filter(|(_, (x, y))| x != y) {
                    println!("     entry {k}: host {x:02x?} model {y:02x?}");
                }
            }
        }
    }
    if show {
        for (who, outcomes) in [("host", &host.outcomes), ("model", &model)] {
            if let Some(hostdiff::Outcome::Text(t)) = outcomes.last() {
                println!("--- {who}:\n{t}");
            }
        }
    }
}

/// The steps of a script that differs from the host's kernel, cut down while the
/// difference stays: the script ends at its first differing step, and earlier steps are
/// made harmless (a maps read of the same process, so that later steps' indices and the
/// processes stay as they were) a block at a time, then one at a time, where the last step
/// still differs. Forks stay: their children's steps need them.
fn minimize(mut script: hostdiff::HostScript) -> hostdiff::HostScript {
    let first_difference = |s: &hostdiff::HostScript| -> Option<usize> {
        let host = hostdiff::run_on_host(s).ok()?;
        let model = run_on_model(s, &host.init).ok()?;
        compare(s, &host, &model).first().map(|m| m.step)
    };
    let Some(last) = first_difference(&script) else { return script };
    script.steps.truncate(last + 1);
    let harmless = |op: &hostdiff::Op| matches!(op, hostdiff::Op::Maps | hostdiff::Op::Fork);
    let mut block = 32;
    while block > 0 {
        let mut end = last;
        while end > 0 {
            let start = end.saturating_sub(block);
            let mut trial = script.clone();
            let mut changed = false;
            for st in &mut trial.steps[start..end] {
                if !harmless(&st.op) {
                    st.op = hostdiff::Op::Maps;
                    changed = true;
                }
            }
            if changed && first_difference(&trial) == Some(last) {
                script = trial;
            }
            end = start;
        }
        block /= 2;
    }
    script
}
