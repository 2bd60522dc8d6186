//! `mmsim tour`: the lessons under `examples/`, built into the binary so the tour works from
//! anywhere.
//!
//! Each lesson runs on a fresh machine under a header naming it, and its comments are
//! printed as it goes, so the lesson explains itself. The first comment line of a lesson is
//! its title in `--list`.

use crate::{run_scenario, Console, RunFlags};
use anyhow::Context;
use std::path::Path;
use std::process::ExitCode;

/// The lessons, in teaching order: (name, source).
pub const LESSONS: &[(&str, &str)] = &[
    ("segments", include_str!("../../../examples/segments.mm")),
    ("demand-paging", include_str!("../../../examples/demand-paging.mm")),
    ("zero-page", include_str!("../../../examples/zero-page.mm")),
    ("fork-cow", include_str!("../../../examples/fork-cow.mm")),
    ("four-mmaps", include_str!("../../../examples/four-mmaps.mm")),
    ("sysv-shm", include_str!("../../../examples/sysv-shm.mm")),
    ("munmap-split", include_str!("../../../examples/munmap-split.mm")),
    ("mprotect", include_str!("../../../examples/mprotect.mm")),
    ("oom-killer", include_str!("../../../examples/oom-killer.mm")),
    ("memory-pressure", include_str!("../../../examples/memory-pressure.mm")),
    ("kernel-x86_64", include_str!("../../../examples/kernel-x86_64.mm")),
    ("kernel-i386", include_str!("../../../examples/kernel-i386.mm")),
    ("ia32", include_str!("../../../examples/ia32.mm")),
    ("i386-process", include_str!("../../../examples/i386-process.mm")),
];

/// The title of a lesson: its first comment line.
fn title(source: &str) -> &str {
    source.lines().find_map(|l| l.trim().strip_prefix('#')).map(str::trim).unwrap_or("")
}

/// Runs `mmsim tour`.
/// With `report_dir`, each lesson's HTML report is written there as `LESSON.html`.
pub fn run(list: bool, name: Option<&str>, flags: RunFlags, report_dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    if list {
        for (n, src) in LESSONS {
            println!("{n:<14} {}", title(src));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(d) = report_dir {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let chosen: Vec<_> = match name {
        Some(n) => {
            let n = n.strip_suffix(".mm").unwrap_or(n);
            let found: Vec<_> = LESSONS.iter().filter(|(l, _)| *l == n).collect();
            if found.is_empty() {
                let names: Vec<_> = LESSONS.iter().map(|(l, _)| *l).collect();
                anyhow::bail!("no lesson called `{n}` (lessons: {})", names.join(", "));
            }
            found
        }
        None => LESSONS.iter().collect(),
    };
    let mut worst = ExitCode::SUCCESS;
    for (i, (n, src)) in chosen.iter().enumerate() {
        if !flags.quiet {
            if i > 0 {
                println!();
            }
            println!("=== {n} (examples/{n}.mm) ===");
        }
        let file = format!("examples/{n}.mm");
        let mut out = Console::new(&file, flags);
        let page = report_dir.map(|d| d.join(format!("{n}.html")));
        let code = run_scenario(&file, src, flags, true, &mut out, page.as_deref());
        if let Some(p) = &page {
            if !flags.quiet {
                println!("report: {}", p.display());
            }
        }
        if code != ExitCode::SUCCESS {
            worst = code;
        }
    }
    Ok(worst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lesson_has_a_title() {
        for (n, src) in LESSONS {
            assert!(!title(src).is_empty(), "{n} has no title comment");
        }
    }
}
