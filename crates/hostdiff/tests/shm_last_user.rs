//! `shm_lpid`, the last process that used a SysV segment, on this machine's kernel and on
//! the model: Linux records the task it runs for each time an attach is opened or closed,
//! which a fork (the parent), an exit or munmap (the task leaving), and a split of an
//! attach (the caller) do, besides shmat and shmdt. A C child (`shm_last_user.c`) makes
//! those changes and prints, after each, whose pid shm_lpid holds (by role) and
//! shm_nattch; the model makes the same calls. Needs gcc; under MMSIM_REQUIRE_HOST=1 a
//! machine without it fails the test with the reason.

use abi::*;
use std::process::Command;

const CHILD: &str = include_str!("shm_last_user.c");
const P: u64 = 4096;

fn host() -> Option<String> {
    if !hostreq::need_tools("shm_lpid", &["gcc"]) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = hostdiff::cc::build_c("shm_last_user", CHILD, &[], dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(&bin).output().unwrap();
    assert!(out.status.success(), "the child failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn model() -> String {
    let mut k = mm::Kernel::new(mm::Config { paranoid: true, ..mm::Config::default() });
    let parent = k.spawn_empty("parent").unwrap();
    let mut out = String::new();
    let mut roles = vec![(parent, "parent")];
    let step = |k: &mm::Kernel, roles: &[(mm::Pid, &str)], id: u32, name: &str, out: &mut String| {
        let s = k.shm_stat(id).unwrap();
        let who = roles.iter().find(|r| r.0 == s.lpid).map_or("other", |r| r.1);
        out.push_str(&format!("{name} {who} {}\n", s.nattch));
    };
    let id = k.dispatch(parent, &mm::Call::Shmget { key: IPC_PRIVATE as i64, size: 3 * P, flags: IPC_CREAT | 0o600 });
    let id = id.unwrap();
    let a = k.dispatch(parent, &mm::Call::Shmat { shmid: id as i64, addr: 0, flags: 0 }).unwrap();
    let id = id as u32;
    step(&k, &roles, id, "attach", &mut out);
    let child = k.fork(parent).unwrap();
    roles.push((child, "child"));
    step(&k, &roles, id, "fork", &mut out);
    k.exit(child, 0).unwrap();
    k.reap(child).unwrap();
    step(&k, &roles, id, "child-exit", &mut out);
    let child2 = k.fork(parent).unwrap();
    roles.push((child2, "child2"));
    k.dispatch(child2, &mm::Call::Munmap { addr: a + P, len: P }).unwrap();
    k.exit(child2, 0).unwrap();
    k.reap(child2).unwrap();
    step(&k, &roles, id, "child2-munmap-exit", &mut out);
    k.dispatch(parent, &mm::Call::Mprotect { addr: a + P, len: P, prot: PROT_READ }).unwrap();
    step(&k, &roles, id, "mprotect-split", &mut out);
    out
}

#[test]
fn the_last_user_of_a_segment_is_whoever_opened_or_closed_an_attach() {
    let Some(host) = host() else { return };
    let model = model();
    assert_eq!(model, host, "model (left) and host (right)");
}
