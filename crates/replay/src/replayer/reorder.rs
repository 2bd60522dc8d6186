//! Threads whose lines strace printed in another order than the kernel ran them: calls
//! started and not finished, calls done ahead of their line, and whether some order of the
//! calls in flight explains what a read or a result showed.

use super::*;

/// A read of `/proc` in progress in a threaded program. The kernel made its text at one
/// moment of the read, before or after each call other threads made meanwhile (strace's
/// order of lines is not the kernel's order), so the text of any state the address space
/// may have been in is a right answer.
#[derive(Clone, Debug)]
pub(super) struct ReadWindow {
    /// The replay when the read began (without windows of its own).
    pub(super) start: Box<Replayer>,
    /// Calls of other threads that ended while the read was in progress, in order.
    pub(super) since: Vec<(TracePid, Syscall)>,
}

/// Calls that change an address space's mappings.
pub(super) const CHANGES_MAPS: [&str; 9] =
    ["mmap", "munmap", "mprotect", "mremap", "brk", "madvise", "mlock", "munlock", "pkey_mprotect"];

/// A call known only from its start: its name and arguments, the result unknown.
pub(super) fn started_call(name: &str, args: &trace::Args) -> Syscall {
    Syscall {
        name: name.to_string().into(),
        args: args.clone(),
        ret: Ret::Unknown,
        ret_decoration: None,
        ret_note: None,
        duration: None,
        unfinished_line: None,
        incomplete: true,
    }
}

impl Replayer {
    /// The calls that tasks other than `except`, sharing `task`'s address space, have in
    /// progress and `wanted` picks (by name and the arguments shown), as calls, in task order.
    pub(super) fn calls_in_progress(
        &self,
        task: TracePid,
        except: TracePid,
        wanted: impl Fn(&str, &trace::Args) -> bool,
    ) -> Vec<(TracePid, Syscall)> {
        let mm_of = |t: &TracePid| self.procs.get(t).and_then(|p| self.k.mm_id(p.pid).ok());
        let Some(mm) = mm_of(&task) else { return Vec::new() };
        let mut calls: Vec<_> = self
            .in_progress
            .iter()
            .filter(|(t, (name, args))| **t != except && wanted(name, args) && mm_of(t) == Some(mm))
            .map(|(&t, (name, args))| (t, started_call(name, args)))
            .collect();
        calls.sort_by_key(|c| c.0);
        calls
    }

    /// The `mmap`, `munmap` and `mprotect` calls that tasks sharing `tpid`'s address space
    /// have in progress (their arguments are all shown when they start).
    pub(super) fn concurrent_calls(&self, tpid: TracePid) -> Vec<(TracePid, Syscall)> {
        self.calls_in_progress(tpid, tpid, |name, args| match name {
            "mmap" => args.len() == 6,
            "munmap" => args.len() == 2,
            "mprotect" => args.len() == 3,
            _ => false,
        })
    }

    /// Replays a placing call (`mmap`, `mremap`, `brk`) made while other threads had mapping
    /// calls in progress. The kernel may have done those first, though strace prints their
    /// ends later: when the call's result does not match in the order of the lines, the
    /// replay tries again with them done first, and keeps that order if it matches (their
    /// own results are checked when their lines come).
    pub(super) fn syscall_reordered(&mut self, tpid: TracePid, line: u64, call: &Syscall) {
        let before = Clone::clone(&*self);
        let failed = self.report.failed;
        self.syscall(tpid, line, call);
        if self.report.failed == failed {
            return;
        }
        // Which of them went first is unknown: try the smaller sets first, each in task
        // order. A handful of threads at most are ever caught in the middle of such calls.
        let early = before.concurrent_calls(tpid);
        let n = early.len().min(4);
        let mut sets: Vec<u32> = (1..1u32 << n).collect();
        sets.sort_by_key(|set| set.count_ones());
        for set in sets {
            let mut other = Clone::clone(&before);
            for (i, (t, call)) in early.iter().take(n).enumerate() {
                if set & (1 << i) != 0 {
                    other.apply_early(*t, call);
                }
            }
            other.syscall(tpid, line, call);
            if other.report.failed == failed {
                *self = other;
                return;
            }
        }
    }

    /// Does task `t`'s call, known from its start, ahead of its line; its result is checked
    /// when the line comes.
    pub(super) fn apply_early(&mut self, t: TracePid, early: &Syscall) {
        if !self.procs.contains_key(&t) {
            return;
        }
        let (_, result) = self.maps_call(t, early);
        self.in_progress.remove(&t);
        self.applied_early.insert(t, (early.clone(), result));
    }

    /// A task other than `tpid` whose `mmap`, done ahead of its line with the same arguments
    /// as `call`, returned what `call` did in the trace. Identical anonymous calls cannot be
    /// told apart until their results come, so the early one may have been the other's.
    pub(super) fn early_twin(&self, tpid: TracePid, call: &Syscall) -> Option<TracePid> {
        if self.applied_early.is_empty() || call.name != "mmap" {
            return None;
        }
        let want = call.ret.value()?;
        self.applied_early
            .iter()
            .filter(|(&t, (early, result))| t != tpid && early.args == call.args && *result == Ok(want))
            .map(|(&t, _)| t)
            .min()
    }

    /// Whether the text a `/proc` read of `target` by `reader` gave (`fits` tells) is the
    /// text of a state the address space may have been in during the read: the state when
    /// it began (`window`, for a split read; now, otherwise) with any of the calls other
    /// threads ended meanwhile or still have in progress done, in their order.
    pub(super) fn concurrent_state_explains(
        &self,
        reader: TracePid,
        what: ProcText,
        target: TracePid,
        window: Option<&ReadWindow>,
        shown: Option<&str>,
        fits: &dyn Fn(&str) -> bool,
    ) -> bool {
        let mut calls: Vec<(TracePid, Syscall)> = window.map(|w| w.since.clone()).unwrap_or_default();
        calls.extend(self.calls_in_progress(target, reader, |name, _| CHANGES_MAPS.contains(&name)));
        if calls.is_empty() {
            return false;
        }
        let base: &Replayer = window.map_or(self, |w| &w.start);
        // The inode numbers of the shared memory objects that already exist or that reads
        // named: any other object is one a call made while the read went on.
        let known: HashSet<u64> =
            base.k.files().map(|(_, f)| f.ino).chain(self.learned.shmem_inos.values().map(|b| b.value)).collect();
        // At most a handful of calls overlap one read; beyond six, only the first six vary.
        let n = calls.len().min(6);
        (0..1u32 << n).any(|set| {
            let mut copy = Clone::clone(base);
            copy.in_progress.clear();
            copy.read_starts.clear();
            for (i, (t, call)) in calls.iter().take(n).enumerate() {
                if set & (1 << i) != 0 {
                    copy.syscall(*t, 0, call);
                }
            }
            copy.proc_text_now(what, target).is_some_and(|text| match shown {
                Some(shown) => fits(&made_meanwhile_as_shown(&text, shown, &|ino| known.contains(&ino))),
                None => fits(&text),
            })
        })
    }
}

/// `text`, a maps text of a state the model went through, with the line of each shared
/// memory object made while the read went on (its inode number neither one that existed
/// nor one a read named: `known` tells) replaced by the line `shown` has for the same
/// mapping, when the two differ in that number only. The recording machine's counter gave
/// the object a number that nothing before this read tells, and the line's padding keeps
/// its length whatever the number.
pub(super) fn made_meanwhile_as_shown(text: &str, shown: &str, known: &dyn Fn(u64) -> bool) -> String {
    use procfs::parse::parse_maps_line;
    let shown_lines: Vec<(&str, crate::unknowns::MapsLine)> = shown
        .split_inclusive('\n')
        .filter_map(|l| Some((l, parse_maps_line(l.strip_suffix('\n')?)?)))
        .filter(|(_, l)| super::learn::is_shmem_name(&l.name))
        .collect();
    if shown_lines.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let made = line.strip_suffix('\n').and_then(parse_maps_line).filter(|m| !known(m.ino));
        let same_but_number = |l: &crate::unknowns::MapsLine, m: &crate::unknowns::MapsLine| {
            (l.start, l.end, &l.perms, l.offset, l.major, l.minor, &l.name)
                == (m.start, m.end, &m.perms, m.offset, m.major, m.minor, &m.name)
        };
        let instead = made.and_then(|m| shown_lines.iter().find(|(_, l)| same_but_number(l, &m)).map(|(s, _)| *s));
        out.push_str(instead.filter(|s| s.len() == line.len()).unwrap_or(line));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_made_during_a_read_takes_the_number_the_read_shows() {
        let pad = |ino: u64| {
            let head = format!("7f0000001000-7f0000003000 rw-s 00000000 00:01 {ino}");
            format!("{head:<73}/dev/zero (deleted)\n")
        };
        let anon = "7f0000003000-7f0000004000 rw-p 00000000 00:00 0 \n";
        let model = format!("{}{anon}", pad(1028));
        let shown = format!("{}{anon}", pad(221014));
        // Made meanwhile: the shown number stands.
        assert_eq!(made_meanwhile_as_shown(&model, &shown, &|_| false), shown);
        // An object that existed (or was named) keeps the model's number: a mismatch.
        assert_eq!(made_meanwhile_as_shown(&model, &shown, &|ino| ino == 1028), model);
        // Another mapping is not taken for it.
        let elsewhere = shown.replacen("7f0000001000", "7f0000000000", 1);
        assert_eq!(made_meanwhile_as_shown(&model, &elsewhere, &|_| false), model);
    }
}
