//! `mmsim report` pages checked in a real browser (headless Chromium through chromedriver):
//! the report of a program recorded here and now, and the report of every tour lesson.
//! Each page must load without an error, show every VMA of the final maps text with its
//! range, show the child and the pages it shares when the scrubber moves to a fork, show a
//! page-table walk when an address is clicked, and draw something (its screenshot is not
//! blank). A scenario with hundreds of short-lived children checks the lists that come a
//! page at a time (markers, fault rows, the process choice). One browser session serves
//! every page.
//!
//! Needs chromium, chromium-driver, strace and setarch: skipped with a note where they are
//! missing, failed under `MMSIM_REQUIRE_HOST=1` (see the `hostreq` crate).

use headless::Browser;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The levels of an x86-64 walk.
const X86_64_WALK: [&str; 4] = ["PGD", "PUD", "PMD", "PTE"];

fn mmsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mmsim"))
}

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Moves the scrubber to stop `i` as a user dragging it would (its value, then an input
/// event).
fn scrub_to(b: &Browser, i: u64) {
    b.eval(&format!(
        "const s = document.getElementById('scrubber'); s.value = '{i}'; s.dispatchEvent(new Event('input'));"
    ))
    .unwrap();
    assert_eq!(b.eval("return document.body.dataset.stop;").unwrap(), Value::String(i.to_string()));
}

/// The maps label of every VMA drawn now.
fn vma_labels(b: &Browser) -> Vec<String> {
    b.eval("return [...document.querySelectorAll('#space .vma .lbl')].map(e => e.textContent);")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// Every VMA line of `maps` (a maps text) is drawn, with its range.
#[track_caller]
fn assert_maps_drawn(b: &Browser, what: &str, maps: &str) {
    let labels = vma_labels(b);
    let mut n = 0;
    for line in maps.lines().filter(|l| !l.ends_with("[vsyscall]") && !l.trim().is_empty()) {
        let range = line.split(' ').next().unwrap();
        assert!(
            labels.iter().any(|l| l.starts_with(&format!("{range} "))),
            "{what}: the VMA {range} of the maps text is not drawn; drawn:\n{}",
            labels.join("\n")
        );
        n += 1;
    }
    assert!(n > 0, "{what}: an empty maps text");
}

/// Clicks a fork marker (which moves the scrubber there) and checks that the child is drawn
/// beside its parent and that they share frames copy-on-write.
#[track_caller]
fn assert_fork_shows_sharing(b: &Browser, what: &str) {
    b.click("#markers button.fork").unwrap_or_else(|e| panic!("{what}: {e}"));
    let heads = b
        .eval("return [...document.querySelectorAll('#space .col-head[data-pids]')].map(e => e.dataset.pids);")
        .unwrap();
    assert!(heads.as_array().unwrap().len() >= 2, "{what}: at the fork only {heads} are drawn");
    let cow = b
        .eval("return [...document.querySelectorAll('#sharing .share-row td[data-k=cow]')].map(e => Number(e.textContent));")
        .unwrap();
    assert!(
        cow.as_array().unwrap().iter().any(|v| v.as_u64().unwrap_or(0) > 0),
        "{what}: no copy-on-write frame shared at the fork ({cow})"
    );
}

/// Clicks the first VMA drawn and checks the walk: its levels are the machine's page-table
/// geometry (`names`), the root's index is that of its address, the address is in the VMA.
#[track_caller]
fn assert_click_walks(b: &Browser, what: &str, names: &[&str]) {
    b.click("#space .vma").unwrap_or_else(|e| panic!("{what}: {e}"));
    let walk = b
        .eval(
            "const rows = [...document.querySelectorAll('#walk tr.walk-level')].map(r => [r.dataset.level, r.children[1].textContent]);\
             return { rows, levels: mmsimReport.data.walk.levels, addr: document.getElementById('walk-addr').value, vma: (document.querySelector('#walk .walk-vma') || {}).textContent };",
        )
        .unwrap();
    let addr = u64::from_str_radix(walk["addr"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let rows = walk["rows"].as_array().unwrap();
    let levels = walk["levels"].as_array().unwrap();
    let level_names: Vec<&str> = levels.iter().map(|l| l[0].as_str().unwrap()).collect();
    assert_eq!(level_names, names, "{what}: the page's walk geometry");
    assert!(!rows.is_empty(), "{what}: no walk shown after a click: {walk}");
    assert_eq!(rows[0][0], names[0], "{what}: {walk}");
    let (shift, bits) = (levels[0][1].as_u64().unwrap(), levels[0][2].as_u64().unwrap());
    let index = (addr >> shift) & ((1 << bits) - 1);
    assert_eq!(rows[0][1].as_str().unwrap(), index.to_string(), "{what}: {} index of {addr:#x}", names[0]);
    assert!(walk["vma"].as_str().unwrap_or("").starts_with("in VMA"), "{what}: {walk}");
}

/// Clicks the first fault of the log and checks that the walk reaches a frame.
#[track_caller]
fn assert_fault_walks_to_a_frame(b: &Browser, what: &str) {
    b.click("#faults tr.fault").unwrap_or_else(|e| panic!("{what}: {e}"));
    let levels =
        b.eval("return [...document.querySelectorAll('#walk tr.walk-level')].map(r => r.dataset.level);").unwrap();
    assert_eq!(levels, serde_json::json!(["PGD", "PUD", "PMD", "PTE"]), "{what}: the walk of a faulted address");
    let frame = b.eval("return (document.querySelector('#walk .walk-frame') || {}).textContent || '';").unwrap();
    assert!(frame.as_str().unwrap().starts_with("frame 0x"), "{what}: {frame}");
}

#[track_caller]
fn assert_not_blank(b: &Browser, what: &str, dir: &Path) {
    assert_not_blank_with(b, what, dir, 0.05);
}

/// `min_ink`: the share of non-background pixels required. A run with no user process (a
/// kernel-side lesson) has no address space to draw, only the page's frame and timeline.
#[track_caller]
fn assert_not_blank_with(b: &Browser, what: &str, dir: &Path, min_ink: f64) {
    let shot = b.screenshot().unwrap();
    std::fs::write(dir.join(format!("{what}.png")), &shot).unwrap();
    let (colours, ink) = headless::png_variety(&shot).unwrap();
    assert!(
        colours >= 20 && ink >= min_ink,
        "{what}: the screenshot looks blank ({colours} colours, {:.1}% ink)",
        ink * 100.0
    );
}

/// A scenario whose report pages every long list: 310 children, each forked, faulting one
/// page and exiting, make 621 markers (the buttons come 300 at a time), 313 faults (the
/// table shows 200 rows at a time) by 311 processes (a choice list of over 300 entries is
/// filled when first opened).
fn many_children_scenario() -> String {
    let mut s = String::from(
        "process A\np = mmap(NULL, 4K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nstore p \"x\"\n",
    );
    for i in 0..310 {
        s.push_str(&format!("C{i} = fork(A)\nC{i}: store p \"y\"\nC{i}: exit(0)\n"));
    }
    s
}

/// How many elements `css` selects now.
fn count(b: &Browser, css: &str) -> u64 {
    b.eval(&format!("return document.querySelectorAll('{css}').length;")).unwrap().as_u64().unwrap()
}

/// Clicks the "show more" button of the list `list` until it is gone, checking that each
/// click adds `page` rows (fewer only at the end) of `rows` (a selector), up to `total`.
#[track_caller]
fn assert_pages_through(b: &Browser, list: &str, rows: &str, page: u64, total: u64) {
    let more = format!("{list} button.more");
    let mut shown = count(b, rows);
    assert_eq!(shown, page.min(total), "{list}: rows shown at first");
    while shown < total {
        let label = b.texts(&more).unwrap().join("");
        let left = total - shown;
        assert_eq!(label, format!("show {} more of the {left} left", page.min(left)), "{list}");
        b.click(&more).unwrap();
        let now = count(b, rows);
        assert_eq!(now, shown + page.min(left), "{list}: rows after a click on {label:?}");
        shown = now;
    }
    assert_eq!(count(b, &more), 0, "{list}: the button stays once every row is shown");
}

/// The report of [`many_children_scenario`]: every paged list pages.
fn assert_long_lists_page(b: &Browser, dir: &Path) {
    let scenario = dir.join("many-children.mm");
    std::fs::write(&scenario, many_children_scenario()).unwrap();
    let page = dir.join("many-children.html");
    let out = mmsim().arg("report").arg(&scenario).arg("-o").arg(&page).output().unwrap();
    assert!(out.status.success(), "report: {}", String::from_utf8_lossy(&out.stderr));
    b.open(&page).unwrap();
    let total = |what: &str| b.eval(&format!("return mmsimReport.data.{what}.length;")).unwrap().as_u64().unwrap();
    let (markers, faults) = (total("markers"), total("faults"));
    assert!(markers > 600 && faults > 200, "{markers} markers, {faults} faults: too few to page");
    assert_pages_through(b, "#markers", "#markers button.marker", 300, markers);
    assert_pages_through(b, "#faults", "#faults tr.fault", 200, faults);
    // The process choice: two entries until it is opened, then every faulting process.
    let pids = b.eval("return new Set(mmsimReport.data.faults.map(f => f[1])).size;").unwrap().as_u64().unwrap();
    assert!(pids > 300, "only {pids} processes fault");
    assert_eq!(count(b, "#f-pid option"), 2);
    b.click("#f-pid").unwrap();
    assert_eq!(count(b, "#f-pid option"), pids + 1, "the process choice once opened");
    // Choosing one process leaves its rows only.
    b.eval("const s = document.getElementById('f-pid'); s.value = s.options[5].value; s.dispatchEvent(new Event('change'));")
        .unwrap();
    let chosen = b.eval("return document.getElementById('f-pid').value;").unwrap();
    let pids_shown = b.eval("return [...new Set([...document.querySelectorAll('#faults tr.fault')].map(r => r.children[1].textContent))];").unwrap();
    assert_eq!(pids_shown, serde_json::json!([chosen]), "rows after choosing process {chosen}");
    assert_eq!(b.errors().unwrap(), Vec::<String>::new());
}

fn start_browser() -> Option<Browser> {
    if !hostreq::need_tools("browser tests of mmsim report", &["chromium", "chromedriver"]) {
        return None;
    }
    hostreq::need("browser tests of mmsim report", Browser::start(1400, 1800))
}

#[test]
fn reports_of_a_recorded_program_and_of_every_lesson_work_in_chromium() {
    if !hostreq::need_tools("recording a program for mmsim report", &["strace", "setarch", "sh", "cat"]) {
        return;
    }
    let Some(b) = start_browser() else { return };
    let dir = scratch("report-browser");

    // A real program, recorded now: a shell that forks a subshell (a real fork: dash runs
    // plain commands with vfork) that runs a `cat` of its own maps.
    let trace = dir.join("sh.trace");
    let rec = mmsim()
        .arg("record")
        .arg("-o")
        .arg(&trace)
        .args(["--", "sh", "-c", "(cat /proc/self/maps); echo done"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(rec.status.success(), "record: {}", String::from_utf8_lossy(&rec.stderr));
    let printed = String::from_utf8(rec.stdout).unwrap();
    let maps = printed.strip_suffix("done\n").expect("cat's output, then done");
    let page = dir.join("sh.html");
    let out =
        mmsim().arg("report").arg("--verify").arg(&trace).arg("-o").arg(&page).current_dir(&dir).output().unwrap();
    assert!(out.status.success(), "report: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(" 0 failed"), "{}", String::from_utf8_lossy(&out.stdout));

    b.open(&page).unwrap();
    // The stop where `cat` read its maps: the last maps text the program saw. (By its exit
    // it had unmapped its read buffer.)
    let cat_stop = b.eval("return mmsimReport.data.markers.filter(m => m.kind === 'maps').map(m => m.stop);").unwrap();
    let cat_stop = cat_stop.as_array().and_then(|a| a.last()).and_then(Value::as_u64).expect("a stop at the maps read");
    scrub_to(&b, cat_stop);
    assert_maps_drawn(&b, "sh.trace", maps);
    assert_not_blank(&b, "sh-trace", &dir);
    assert_fork_shows_sharing(&b, "sh.trace");
    assert_click_walks(&b, "sh.trace", &X86_64_WALK);
    assert_fault_walks_to_a_frame(&b, "sh.trace");
    let mismatches = b.texts("#mismatches").unwrap().join("");
    assert!(mismatches.contains("every check held"), "{mismatches}");
    // A replay's page says why most pages are drawn not present (a scenario's does not).
    let note = b.texts("#legend-note").unwrap().join("");
    assert!(note.contains("a trace records system calls only"), "{note}");
    assert_eq!(b.errors().unwrap(), Vec::<String>::new());

    // Lists long enough to come a page at a time.
    assert_long_lists_page(&b, &dir);

    // Every lesson of the tour.
    let pages = dir.join("tour");
    let tour = mmsim().args(["tour", "--quiet", "--report"]).arg(&pages).output().unwrap();
    assert!(tour.status.success(), "tour: {}", String::from_utf8_lossy(&tour.stderr));
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut lessons = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "mm") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let page = pages.join(format!("{name}.html"));
        assert!(page.exists(), "no report of the lesson {name}");
        b.open(&page).unwrap_or_else(|e| panic!("{name}: {e}"));
        lessons += 1;
        // The final maps of every process still running at the end of the lesson.
        let source = std::fs::read_to_string(&path).unwrap();
        let program = script::parse_program(&source).unwrap();
        let mut interp = script::Interpreter::new(script::Options::default());
        interp.run_program(&program, &mut script::Transcript::default()).unwrap();
        let k = interp.kernel();
        let live: Vec<u32> = k.tasks().filter(|t| t.mm.is_some()).map(|t| t.pid).collect();
        let last = b.eval("return mmsimReport.stops - 1;").unwrap().as_u64().unwrap();
        scrub_to(&b, last);
        let any_process = k.tasks().next().is_some();
        for pid in live {
            assert_maps_drawn(&b, &name, &procfs::maps(k, pid).unwrap());
        }
        assert_not_blank_with(&b, &name, &dir, if any_process { 0.05 } else { 0.02 });
        if any_process {
            // Each kernel profile's own page-table levels.
            let names: &[&str] = if source.contains("set arch i386-pae") {
                &["PDPT", "PMD", "PTE"]
            } else if source.contains("set arch i386\n") {
                &["PGD", "PTE"]
            } else {
                &X86_64_WALK
            };
            assert_click_walks(&b, &name, names);
        }
        if source.contains("fork()") {
            assert_fork_shows_sharing(&b, &name);
        }
        assert_eq!(b.texts("#legend-note").unwrap().join(""), "", "{name}");
        assert_eq!(b.errors().unwrap(), Vec::<String>::new(), "{name}");
    }
    assert!(lessons >= 7, "only {lessons} lessons found in {}", examples.display());
}
