//! The binding rule of each unknown, on short logs written here (no strace needed): a
//! value is bound at the first line that reveals it, checked on every later line, and bound
//! only when Linux could have drawn it. The logs exec this machine's `/bin/true`; where the
//! model puts things by default is asked from the model (a first replay), not typed in.

mod common;

use replay::{Mode, Options, Report};

fn replay_text(text: &str) -> Report {
    common::replay_bytes(
        text.as_bytes(),
        Options { mode: Mode::Verify, keep_going: true, cwd: Some("/".into()), threads_unordered: false },
    )
}

const EXEC: &str = "100 execve(\"/bin/true\", [\"true\"], 0x7ffc00000000 /* 0 vars */) = 0\n";
const MMAP: &str = "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)";

/// What the model returns for `call` right after the exec, without randomization: the
/// `got` of a mismatch against a result no draw explains (not page-aligned).
fn model_default(call: &str) -> u64 {
    let r = replay_text(&format!("{EXEC}100 {call} = 0x1001\n"));
    let m = r.mismatches.iter().find(|m| m.line == 2).unwrap_or_else(|| panic!("{}", r.summary()));
    u64::from_str_radix(m.got.trim_start_matches("0x"), 16).unwrap()
}

fn need_true() -> bool {
    std::path::Path::new("/bin/true").exists() || {
        hostreq::skip("unknowns rules", "no /bin/true");
        false
    }
}

#[test]
fn the_first_brk_binds_the_heap_and_later_ones_are_checked() {
    if !need_true() {
        return;
    }
    let base = model_default("brk(NULL)");
    let moved = base + 0x1234000;
    let r = replay_text(&format!("{EXEC}100 brk(NULL) = {moved:#x}\n100 brk(NULL) = {moved:#x}\n"));
    assert_eq!(r.failed, 0, "{}\n{:?}", r.summary(), r.mismatches);
    assert!(
        r.bindings.iter().any(|b| b.starts_with(&format!("bound start_brk = {moved:#x} from line 2 "))),
        "{:?}",
        r.bindings
    );
    // Bound once: a later line that disagrees is a mismatch, not a new binding.
    let r = replay_text(&format!("{EXEC}100 brk(NULL) = {moved:#x}\n100 brk(NULL) = {:#x}\n", moved + 0x1000));
    assert_eq!(r.failed, 1, "{}", r.summary());
    assert_eq!(r.mismatches[0].line, 3);
}

#[test]
fn the_first_unplaced_mmap_binds_the_mmap_area_within_linux_s_range() {
    if !need_true() {
        return;
    }
    let base = model_default(MMAP);
    // 64 GiB lower: a draw Linux can make (below 2^40), once the randomized layout's
    // 16 GiB stack pad is counted.
    let low = base - (64 << 30);
    let r = replay_text(&format!("{EXEC}100 {MMAP} = {low:#x}\n100 {MMAP} = {:#x}\n", low - 0x2000));
    assert_eq!(r.failed, 0, "{}\n{:?}", r.summary(), r.mismatches);
    assert!(
        r.bindings.iter().any(|b| b.starts_with("bound mmap_rnd = ") && b.contains("from line 2 ")),
        "{:?}",
        r.bindings
    );
    // The second allocation is checked against the bound area: off by a page, a mismatch.
    let r = replay_text(&format!("{EXEC}100 {MMAP} = {low:#x}\n100 {MMAP} = {:#x}\n", low - 0x3000));
    assert_eq!(r.failed, 1, "{}", r.summary());
    // An address no draw explains (2^41 below) binds nothing and is a mismatch.
    let far = base - (2 << 40);
    let r = replay_text(&format!("{EXEC}100 {MMAP} = {far:#x}\n"));
    assert_eq!(r.failed, 1, "{}", r.summary());
    assert!(!r.bindings.iter().any(|b| b.contains("mmap_rnd")), "{:?}", r.bindings);
}

#[test]
fn a_stack_limit_shown_before_any_call_set_it_is_the_inherited_one() {
    if !need_true() {
        return;
    }
    let shown = "100 prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=RLIM64_INFINITY, rlim_max=RLIM64_INFINITY}) = 0\n";
    let r = replay_text(&format!("{EXEC}{shown}"));
    assert!(r.bindings.iter().any(|b| b == "bound RLIMIT_STACK at start = unlimited from line 2"), "{:?}", r.bindings);
    // After the log set the limit itself, what it shows is not what was inherited.
    let set = "100 prlimit64(0, RLIMIT_STACK, {rlim_cur=16384*1024, rlim_max=RLIM64_INFINITY}, NULL) = 0\n";
    let r = replay_text(&format!("{EXEC}{set}{shown}"));
    assert!(!r.bindings.iter().any(|b| b.contains("RLIMIT_STACK")), "{:?}", r.bindings);
}

/// A task of a log that attached to a running process (`strace -f -p`) whose only line is
/// its end: an idle thread blocked in a call strace attached to without printing it (seen
/// under load). It called no exit of its own, so the one exit_group under way ended it: it
/// is bound to that process, as a task with calls of its own would be.
#[test]
fn a_task_whose_only_line_is_its_end_belongs_to_the_exiting_group() {
    let r = replay_text(
        "200   write(1, \"x\", 1)                = 1\n200   exit_group(0)                     = ?\n201   +++ exited with 0 +++\n200   +++ exited with 0 +++\n",
    );
    assert!(r.errors.is_empty() && r.failed == 0, "{}", r.summary());
    assert!(
        r.bindings
            .iter()
            .any(|b| b.contains("task 201 shares the address space of attached task 200") && b.contains("exit_group")),
        "{:?}",
        r.bindings
    );
    // A task that ends on its own call is no evidence of anything.
    let r = replay_text(
        "200   write(1, \"x\", 1)                = 1\n200   exit_group(0)                     = ?\n201   exit(0) = ?\n201   +++ exited with 0 +++\n200   +++ exited with 0 +++\n",
    );
    assert!(!r.bindings.iter().any(|b| b.contains("task 201 shares")), "{:?}", r.bindings);
}

/// The CPUs the recording machine's tasks could run on (how many memory cgroup charge
/// batches a usage read may count) are bound by the largest number a sched_getaffinity
/// mask or a read of /sys/devices/system/cpu/online shows; a cut read binds nothing.
#[test]
fn the_cpu_count_is_the_largest_a_mask_or_the_online_list_shows() {
    if !need_true() {
        return;
    }
    let cpus = |r: &Report| -> Vec<String> {
        r.bindings.iter().filter(|b| b.contains("CPUs the recording machine")).cloned().collect()
    };
    let r = replay_text(&format!(
        "{EXEC}100 sched_getaffinity(0, 128, [0 1]) = 8\n100 sched_getaffinity(0, 128, [3]) = 8\n\
         100 sched_getaffinity(0, 128, [0 1 2 5]) = 8\n"
    ));
    assert_eq!(cpus(&r), ["bound CPUs the recording machine's tasks could run on = 4 from line 4"], "{}", r.summary());
    let online = "100 openat(AT_FDCWD, \"/sys/devices/system/cpu/online\", O_RDONLY|O_CLOEXEC) = 3\n";
    let r = replay_text(&format!("{EXEC}{online}100 read(3, \"0-3,8-11\\n\", 1024) = 9\n100 close(3) = 0\n"));
    assert_eq!(cpus(&r), ["bound CPUs the recording machine's tasks could run on = 8 from line 3"], "{}", r.summary());
    // strace cut the text (`-s 3`): nothing is bound from it.
    let r = replay_text(&format!("{EXEC}{online}100 read(3, \"0-1\"..., 1024) = 5\n100 close(3) = 0\n"));
    assert!(cpus(&r).is_empty(), "{:?}", r.bindings);
    // A failed call, or a mask of names, binds nothing.
    let r = replay_text(&format!("{EXEC}100 sched_getaffinity(0, 4, 0x7ffc0000) = -1 EINVAL (Invalid argument)\n"));
    assert!(cpus(&r).is_empty(), "{:?}", r.bindings);
}
