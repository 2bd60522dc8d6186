//! The folios read(2)'s readahead makes, on this machine's kernel and in the model: a first
//! window of order-0 folios, then windows read ahead of need in folios two orders larger
//! each time, each folio cut to its index's alignment (page_cache_ra_order). The C child
//! (`readahead_folios.c`) reads the layout of a sparse file's page cache from
//! /proc/kpageflags after two reads; the model does the same reads and says its folios.
//! Folio sizes decide what fault-around maps, which folio a readahead mark skips whole, and
//! what a truncation's split unmaps.
//!
//! Needs gcc and root (kpageflags); under MMSIM_REQUIRE_HOST=1 a machine without them fails
//! the test with the reason.

use abi::*;
use std::process::Command;

const CHILD: &str = include_str!("readahead_folios.c");
const PAGES: u64 = 64;

/// The layout the model gives after the child's two reads, with the disk's readahead
/// window of `read_ahead_kb`: ranges of large folios, single pages alone, space-separated.
fn model_layout(read_ahead_kb: u64) -> String {
    let mut k = mm::Kernel::new(mm::Config { read_ahead_kb, ..mm::Config::default() });
    let p = k.spawn_empty("child").unwrap();
    let f = k.create_file("/tmp/ra", &[]);
    k.truncate_file(f, PAGES * 4096);
    let fd = k.open(p, "/tmp/ra", O_RDWR).unwrap();
    let o = k.fd_description(p, fd as i32).unwrap();
    k.read_ahead(o, 0, 1, 1).unwrap();
    k.read_ahead(o, 4096, 4 * 4096, 4 * 4096).unwrap();
    let file = k.file(f);
    let mut out = Vec::new();
    let mut i = 0;
    while i < PAGES {
        assert!(file.page_cached(i), "page {i} not cached in the model");
        let (start, order) = file.folio_of(i);
        assert_eq!(start, i, "folio of page {i} starts at {start}");
        let n = 1u64 << order;
        out.push(if n == 1 { format!("{i}") } else { format!("{i}-{}", i + n - 1) });
        i += n;
    }
    out.join(" ")
}

#[test]
fn readahead_windows_grow_their_folios_as_linux_does() {
    let what = "readahead folio layout";
    if !hostreq::need_tools(what, &["gcc"]) {
        return;
    }
    let dir = tempfile::tempdir_in(std::env::current_dir().unwrap()).unwrap();
    let built = hostdiff::cc::build_c("readahead_folios", CHILD, &[], dir.path());
    let Some(bin) = hostreq::need(what, built) else { return };
    let out = Command::new(&bin).arg(dir.path().join("ra.dat")).output().unwrap();
    let readable = out.status.code() != Some(4);
    let Some(()) = hostreq::need(what, if readable { Ok(()) } else { Err("/proc/kpageflags needs root".to_string()) })
    else {
        return;
    };
    assert!(out.status.success(), "the child failed: {:?}", out.status);
    let host = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let kb =
        loader::host::read_ahead_kb(dir.path()).expect("the readahead window of the disk holding the test's directory");
    let model = model_layout(kb);
    assert_eq!(model, host, "model (left) and this kernel (right)");
}
