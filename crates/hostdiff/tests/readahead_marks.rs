//! Where readahead puts its mark (PG_readahead) when the window it reads meets pages already
//! in the page cache, on this machine's kernel and in the model. page_cache_ra_order reads
//! the window a folio at a time and stops at the first page already cached; the rest of the
//! window is read from there with the mark placed again relative to the part of it inside
//! the file, so a cached page inside a window that EOF cuts moves the mark down (random
//! program 4322, strict: the model marked page 4 of a 16-page file where Linux marked page
//! 3, which the read then reached; fault-around later left page 4 unmapped in the model).
//! The same holds for a fault's read-around window.
//!
//! The C child (`readahead_marks.c`) writes some pages of a new file, reads its head twice
//! or faults one page of a mapping, then lets fault-around map the file block by block: it
//! skips a marked folio, so the cached pages left unmapped show the marks. The model does
//! the same calls.
//!
//! Needs gcc; under MMSIM_REQUIRE_HOST=1 a machine without it fails the test.

use abi::*;
use std::process::Command;

const CHILD: &str = include_str!("readahead_marks.c");
/// Where both sides map the file to probe it: fault-around windows cover it block by block.
const MAP_AT: u64 = 0x2000_0000_0000;
/// Where the "fault" cases map the file for their first fault.
const PROBE_AT: u64 = 0x3000_0000_0000;

/// One run of the child: `mode` ("read" or "fault"), the file's size in pages, the pages
/// written first, and the read's length or the faulting page.
struct Case {
    mode: &'static str,
    pages: u64,
    written: String,
    arg: u64,
}

/// The cases: reads of a 16-page file's head, and faults whose read-around window (the
/// device's whole readahead window, `ra` pages) EOF cuts, with and without a cached page
/// inside it.
fn cases(ra: u64) -> Vec<Case> {
    let read = |written: &str, len: u64| Case { mode: "read", pages: 16, written: written.into(), arg: len };
    let mut v = vec![
        read("0,2,5", 0x4000),
        read("0", 0x4000),
        read("0,5", 0x4000),
        read("0,2", 0x4000),
        read("2", 0x4000),
        read("1", 0x4000),
        read("3", 0x4000),
        read("0,9", 0x4000),
        read("0,6", 0x8000),
        read("4", 0x2000),
        read("0,2", 0x1000),
    ];
    let pages = ra - ra / 8;
    for written in [String::new(), "0".into(), (ra / 16).to_string()] {
        v.push(Case { mode: "fault", pages, written, arg: pages / 2 });
    }
    v
}

/// The model's answer to the child's calls: the cached pages left unmapped, as the child
/// prints them.
fn model_case(read_ahead_kb: u64, c: &Case) -> String {
    let mut k = mm::Kernel::new(mm::Config { read_ahead_kb, ..mm::Config::default() });
    let p = k.spawn_empty("child").unwrap();
    let f = k.create_file("/tmp/ra", &[]);
    k.truncate_file(f, c.pages * 4096);
    let fd = k.open(p, "/tmp/ra", O_RDWR).unwrap() as i64;
    for page in c.written.split(',').filter(|s| !s.is_empty()) {
        let page: u64 = page.parse().unwrap();
        k.pwrite_bytes(p, fd, &[7; 14], page * 4096).unwrap();
    }
    let map = |k: &mut mm::Kernel, addr: u64| {
        let flags = MAP_PRIVATE | MAP_FIXED_NOREPLACE;
        k.dispatch(p, &mm::Call::Mmap { addr, len: c.pages * 4096, prot: PROT_READ, flags, fd, off: 0 }).unwrap()
    };
    let mut byte = [0u8];
    if c.mode == "read" {
        let o = k.fd_description(p, fd as i32).unwrap();
        k.read_ahead(o, 0, 1, 1).unwrap();
        k.read_ahead(o, 0, c.arg, c.arg.min(c.pages * 4096)).unwrap();
    } else {
        let a = map(&mut k, PROBE_AT);
        k.load_into(p, a + c.arg * 4096, &mut byte).unwrap();
    }
    let a = map(&mut k, MAP_AT);
    let cached: Vec<bool> = (0..c.pages).map(|i| k.file(f).page_cached(i)).collect();
    for b in (0..c.pages).step_by(16) {
        let probe = (b + 15).min(c.pages - 1);
        if cached[probe as usize] {
            k.load_into(p, a + probe * 4096, &mut byte).unwrap();
        }
    }
    mm::invariants::check_kernel(&k);
    let id = k.mm_id(p).unwrap();
    let unmapped: Vec<String> = (0..c.pages)
        .filter(|&i| cached[i as usize] && k.pte(id, a + i * 4096).0 & 1 == 0)
        .map(|i| i.to_string())
        .collect();
    if unmapped.is_empty() {
        "-".into()
    } else {
        unmapped.join(" ")
    }
}

#[test]
fn readahead_marks_where_a_cached_page_cuts_the_window() {
    let what = "readahead marks";
    if !hostreq::need_tools(what, &["gcc"]) {
        return;
    }
    let dir = tempfile::tempdir_in(std::env::current_dir().unwrap()).unwrap();
    let built = hostdiff::cc::build_c("readahead_marks", CHILD, &["-O1"], dir.path());
    let Some(bin) = hostreq::need(what, built) else { return };
    let kb =
        loader::host::read_ahead_kb(dir.path()).expect("the readahead window of the disk holding the test's directory");
    let mut differing = Vec::new();
    for c in cases((kb / 4).max(16)) {
        // Another task holding a folio's lock for a moment (writeback, the kernel's page
        // aging) makes fault-around skip it too, never map one more: a page is counted
        // unmapped only when all of three runs left it so.
        let mut host: Option<Vec<String>> = None;
        for _ in 0..3 {
            let path = dir.path().join("ra.dat");
            let args = [path.to_str().unwrap(), c.mode, &c.pages.to_string(), &c.written, &c.arg.to_string()];
            let out = Command::new(&bin).args(args).output().unwrap();
            assert!(out.status.success(), "the child failed: {:?}", out.status);
            let run: Vec<String> = String::from_utf8_lossy(&out.stdout).split_whitespace().map(String::from).collect();
            host = Some(match host {
                None => run,
                Some(h) => h.into_iter().filter(|p| run.contains(p)).collect(),
            });
        }
        let host = host.unwrap_or_default().into_iter().filter(|p| p != "-").collect::<Vec<_>>();
        let host = if host.is_empty() { "-".to_string() } else { host.join(" ") };
        let model = model_case(kb, &c);
        if model != host {
            differing.push(format!(
                "{} of a {}-page file, pages [{}] written, {}: unmapped in the model {model}, on this kernel {host}",
                c.mode, c.pages, c.written, c.arg
            ));
        }
    }
    assert!(differing.is_empty(), "cached pages fault-around left unmapped differ:\n{}", differing.join("\n"));
}
