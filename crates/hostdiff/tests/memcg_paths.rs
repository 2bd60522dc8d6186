//! Paths with `.` and `..` in `mkdir` and `rmdir` of memory cgroups, on this machine's kernel
//! and on the model side by side: each path, relative to a group made for the test, is
//! walked as Linux walks it (a `..` goes up from a group that must exist; a last component
//! `.` or `..` names a directory that exists), and each call's result (0 or the errno) must
//! be the same on both. A failure under MMSIM_REQUIRE_HOST=1 where memory cgroups cannot be
//! made (not root, no controller).

use hostdiff::host_memcg::HostGroup;

/// mkdir or rmdir of a path relative to the test's group, in order.
const STEPS: &[(&str, &str)] = &[
    ("mkdir", "a"),
    ("mkdir", "a/../b"),
    ("mkdir", "a/./c"),
    ("mkdir", "nope/../d"),
    ("mkdir", "a/.."),
    ("mkdir", "a/c/."),
    ("mkdir", "a"),
    ("mkdir", "a/c/../e"),
    ("mkdir", "b/../a/c/../f"),
    ("mkdir", "a/nope/.."),
    ("rmdir", "a/e/."),
    ("rmdir", "a/e/.."),
    ("rmdir", "a/nope/."),
    ("rmdir", "a/e/../c"),
    ("rmdir", "a/./e"),
    ("rmdir", "a/c"),
    ("rmdir", "b/../a/f"),
    ("rmdir", "a/../b"),
    ("rmdir", "a/.."),
    ("rmdir", "a"),
    ("rmdir", "a"),
];

#[test]
fn dot_and_dot_dot_in_cgroup_paths_walk_as_on_linux() {
    let what = "cgroup paths with . and ..";
    let name = format!("mmsim-memcg-paths-{}", std::process::id());
    let Some(base) = hostreq::need(what, HostGroup::create(&name)) else { return };
    let mut k = mm::Kernel::new(mm::Config::default());
    k.set_cgroup_version(base.version).unwrap();
    k.cgroup_mkdir(&name).unwrap();
    let mut made = Vec::new();
    for &(op, rel) in STEPS {
        let path = base.dir.join(rel);
        let host = match op {
            "mkdir" => std::fs::create_dir(&path),
            _ => std::fs::remove_dir(&path),
        };
        if host.is_ok() && op == "mkdir" {
            made.push(path.clone());
        }
        let host = host.map_err(|e| e.raw_os_error().unwrap_or(0));
        let in_model = format!("{name}/{rel}");
        let model = match op {
            "mkdir" => k.cgroup_mkdir(&in_model).map(|_| ()),
            _ => k.cgroup_rmdir(&in_model),
        }
        .map_err(|e| e as i32);
        mm::invariants::check_kernel(&k);
        assert_eq!(model, host, "{op} {rel}: model {model:?}, host {host:?} (errno)");
    }
    // Whatever a failed run left: the deepest first.
    for path in made.iter().rev() {
        let _ = std::fs::remove_dir(path);
    }
    drop(base);
}
