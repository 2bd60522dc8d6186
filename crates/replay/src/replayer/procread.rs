//! Reads of `/proc/PID/maps` and `smaps`: which text a descriptor reads, where a read
//! began, and the check of what the log shows against the model's text.

use super::*;

/// Why a maps read is not checked (see [`Replayer::cut_after_unknown_widths`]).
pub(super) const CUT_AFTER_UNKNOWN_WIDTHS: &str =
    "maps reads that began after text strace cut from the log, of lines whose numbers it never showed";

/// The smaps records (header and residency lines) of mappings inside `created`.
pub(super) fn smaps_of(text: &str, created: &[(u64, u64)]) -> String {
    let mut out = String::new();
    let mut keep = false;
    for line in text.lines() {
        if let Some(h) = procfs::parse::parse_maps_line(line) {
            keep = created.iter().any(|&(a, b)| h.start >= a && h.end <= b);
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Lines only in the log (`-`) or only in the model (`+`).
pub(super) fn diff(want: &str, got: &str) -> String {
    procfs::parse::diff_lines("log", want, "model", got)
}

impl Replayer {
    /// Whether `path` is a /proc text the replay checks: (which, whose trace pid).
    pub(super) fn proc_text(&self, tpid: TracePid, path: &str) -> Option<(ProcText, TracePid)> {
        let rest = path.strip_prefix("/proc/")?;
        let (who, what) = rest.split_once('/')?;
        let what = match what {
            "maps" => ProcText::Maps,
            "smaps" => ProcText::Smaps,
            _ => return None,
        };
        let target = match who {
            "self" | "thread-self" => tpid,
            n => TracePid(n.parse().ok()?),
        };
        Some((what, target))
    }

    // ---- reads and writes ----

    /// The model's text of `/proc/PID/maps` or `smaps` for `target`, now.
    pub(super) fn proc_text_now(&self, what: ProcText, target: TracePid) -> Option<String> {
        let p = self.procs.get(&target)?;
        match what {
            ProcText::Maps => procfs::maps(&self.k, p.pid).ok(),
            ProcText::Smaps => procfs::smaps(&self.k, p.pid).ok(),
        }
    }

    /// A split read started: if it reads `/proc`, remember the replay as it is now.
    pub(super) fn read_started(&mut self, tpid: TracePid, fd: Option<u64>) {
        self.read_starts.remove(&tpid);
        self.name_shmem_objects();
        let (Some(fd), Some(p)) = (fd, self.procs.get(&tpid)) else { return };
        if let (true, Some(&FdKind::Proc { target, .. })) =
            (self.verify(), self.tables[p.table].kinds.get(&(fd as i32)))
        {
            self.read_starts.insert(tpid, ReadWindow { target, ..ReadWindow::default() });
        }
    }

    /// The readers other than task `tpid` whose `/proc` read in progress shows the address
    /// space `tpid`'s calls change (another's calls cannot change the text they read).
    fn readers_of_space_of(&self, tpid: TracePid) -> Vec<TracePid> {
        let Some(space) = self.space_of(tpid) else { return Vec::new() };
        self.read_starts
            .iter()
            .filter(|&(&reader, w)| reader != tpid && self.space_of(w.target) == Some(space))
            .map(|(&reader, _)| reader)
            .collect()
    }

    /// Before task `tpid`'s call `name` changes mappings: the reads of `/proc` other tasks
    /// have in progress keep the replay as it is until now, if nothing did before.
    pub(super) fn keep_read_windows(&mut self, tpid: TracePid, name: &str) {
        if self.read_starts.is_empty() || !CHANGES_MAPS.contains(&name) {
            return;
        }
        let mut readers = self.readers_of_space_of(tpid);
        readers.retain(|r| self.read_starts[r].start.is_none());
        if readers.is_empty() {
            return;
        }
        let mut now = Clone::clone(self);
        now.read_starts.clear();
        let now = std::rc::Rc::new(now);
        for reader in readers {
            if let Some(window) = self.read_starts.get_mut(&reader) {
                window.start = Some(now.clone());
            }
        }
    }

    /// After task `tpid`'s call ended: the reads of `/proc` other tasks have in progress
    /// may have seen the address space before or after it.
    pub(super) fn note_call_during_reads(&mut self, tpid: TracePid, call: &Syscall) {
        if self.read_starts.is_empty() || !CHANGES_MAPS.contains(&call.name.as_ref()) {
            return;
        }
        for reader in self.readers_of_space_of(tpid) {
            if let Some(window) = self.read_starts.get_mut(&reader) {
                window.since.push((tpid, call.clone()));
            }
        }
    }

    /// Whether a maps read that began at `log_pos` of the recording's text, after bytes the
    /// log never showed (strace cut an earlier read), follows lines whose length the model
    /// cannot know: numbers nothing in the log showed yet (the inode of a file no stat and
    /// no read showed, of a shared memory object). Where the recording's text was by then,
    /// and so which line the read began with, is then not known either.
    fn cut_after_unknown_widths(
        &self,
        reader: TracePid,
        target: TracePid,
        (pos, log_pos): (u64, u64),
        shown: u64,
        text: &str,
    ) -> bool {
        // The text seen so far, this read's bytes included when they continued it.
        let seen = self.maps_seen.get(&(reader, target)).map_or(0, String::len) as u64;
        if log_pos == 0 || seen == log_pos + shown {
            return false;
        }
        let before = &text[..(pos as usize).min(text.len())];
        before.lines().filter_map(procfs::parse::parse_maps_line).any(|l| {
            if !l.name.starts_with('/') || l.ino == 0 || learn::is_sysv_name(&l.name) {
                return false;
            }
            if learn::is_shmem_name(&l.name) {
                return !self.learned.shmem_inos.contains_key(&l.ino);
            }
            let path = l.name.strip_suffix(" (deleted)").unwrap_or(&l.name);
            self.ids.get(path).is_none() && !self.learned.files.contains_key(path)
        })
    }

    /// Checks the bytes a read of `/proc/PID/maps` or `smaps` gave against the model's text
    /// now, or, when other threads' calls overlap the read, against the states the address
    /// space may have been in (see [`Replayer::concurrent_state_explains`]).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn check_proc_read(
        &mut self,
        reader: TracePid,
        line: u64,
        (what, target, text_now): (ProcText, TracePid, Option<&str>),
        (pos, log_pos): (u64, u64),
        data: &[u8],
        window: Option<ReadWindow>,
    ) {
        if !self.verify() {
            return;
        }
        self.name_shmem_objects();
        let Some(target_pid) = self.procs.get(&target).map(|p| p.pid) else {
            return self.error_at(line, 1, format!("read of /proc of an unknown task {target}"));
        };
        let text = match text_now {
            Some(t) => std::borrow::Cow::Borrowed(t),
            None => match self.proc_text_now(what, target) {
                Some(t) => std::borrow::Cow::Owned(t),
                None => return,
            },
        };
        if let Some(key) = self.attached_key(target) {
            let u = self.learned.attached.get(&key.0);
            if u.map_or(true, |u| u.before.is_none() && u.start.is_none()) {
                let (want, got) = (String::from_utf8_lossy(data), text.as_bytes().get(pos as usize..).unwrap_or(&[]));
                if !got.starts_with(want.as_bytes()) {
                    self.learned.attached.entry(key.0).or_default().before = Some(Bound { value: true, line });
                }
            }
        }
        if self.unseen_start(target) {
            // The text shows mappings made before the trace, which it never showed whole
            // (what it shows is learned once the read is done: see `learn_attached_start`).
            *self.report.unchecked.entry(UNSEEN_PLACEMENT.into()).or_default() += 1;
            return;
        }
        if what == ProcText::Smaps && self.opts.mode < Mode::Strict {
            return;
        }
        if self.threads_unordered_at(target) {
            *self.report.unchecked.entry(UNORDERED_PLACEMENT.into()).or_default() += 1;
            return;
        }
        let created = self.k.mm_id(target_pid).ok().and_then(|id| self.created.get(&id)).cloned().unwrap_or_default();
        // The part of a text this read covers, as compared (smaps: the fields checked).
        let view = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes);
            if what == ProcText::Smaps {
                smaps_of(&text, &created)
            } else {
                text.into_owned()
            }
        };
        let part = |text: &str| {
            let start = (pos as usize).min(text.len());
            let end = (start + data.len()).min(text.len());
            view(&text.as_bytes()[start..end])
        };
        let (want, got) = (view(data), part(&text));
        // A maps read whose place in the recording's text is not known: no state explains
        // it better than another (and trying them all copies the replay dozens of times).
        let place_unknown = want != got
            && what == ProcText::Maps
            && self.cut_after_unknown_widths(reader, target, (pos, log_pos), data.len() as u64, &text);
        let earlier_matches = want != got
            && !place_unknown
            && (self.concurrent_state_explains(
                reader,
                what,
                target,
                window.as_ref(),
                (what == ProcText::Maps).then_some(want.as_str()),
                &|t: &str| part(t) == want,
            ) || (what == ProcText::Smaps && self.lazyfree_state_explains(target, line, &want, &got, &part))
                || (what == ProcText::Smaps && self.aging_explains(target, line, &want, &got, &part))
                || (what == ProcText::Smaps && self.pageout_skip_explains(target, line, &want, &got)));
        let name = if what == ProcText::Maps { "read(/proc/PID/maps)" } else { "read(/proc/PID/smaps)" };
        if what == ProcText::Maps && !earlier_matches {
            // The text read so far, from offset 0: a line a small read cut in two is whole
            // once the next read brings its end.
            let seen = self.maps_seen.entry((reader, target)).or_default();
            if log_pos == 0 {
                seen.clear();
            }
            if log_pos == seen.len() as u64 {
                seen.push_str(&String::from_utf8_lossy(data));
                let seen = seen.clone();
                self.learn_from_maps(target, line, &seen, &text);
                // The read may have shown a mapping another thread removed meanwhile: the
                // objects of the state when it began can be learned too.
                if let Some(then) = window.as_ref().and_then(|w| w.start.as_ref()?.proc_text_now(what, target)) {
                    self.learn_from_maps(target, line, &seen, &then);
                }
            }
            // A read that does not continue the text from offset 0 (strace cut an earlier
            // one short, or the read began elsewhere), or that strace cut itself.
            self.learn_from_maps_piece(target, line, pos, data, &text);
        }
        if what == ProcText::Smaps && !earlier_matches {
            // An smaps text's header lines are its maps lines: what they show (the inode of
            // a shared memory object, ...) is learned as from a maps read.
            let seen = self.smaps_seen.entry((reader, target)).or_default();
            if pos == 0 {
                seen.clear();
            }
            seen.push_str(&String::from_utf8_lossy(data));
            let whole_lines = &seen[..seen.rfind('\n').map_or(0, |i| i + 1)];
            let headers: String = whole_lines
                .lines()
                .filter(|l| procfs::parse::parse_maps_line(l).is_some())
                .flat_map(|l| [l, "\n"])
                .collect();
            if let Some(maps) = self.proc_text_now(ProcText::Maps, target) {
                self.learn_from_maps(target, line, &headers, &maps);
            }
        }
        if want != got
            && !earlier_matches
            && what == ProcText::Maps
            && self.maps_changed_by_untraced(reader, target, line)
        {
            return;
        }
        // (Asked again: the read may have taught the widths.)
        if want != got
            && !earlier_matches
            && what == ProcText::Maps
            && self.cut_after_unknown_widths(reader, target, (pos, log_pos), data.len() as u64, &text)
        {
            self.unchecked(CUT_AFTER_UNKNOWN_WIDTHS);
            return;
        }
        if want == got || earlier_matches {
            self.report.passed += 1;
        } else {
            if what == ProcText::Maps {
                // (Or fits a line there that the read binds the addresses of.)
                let fits = |t: &str| part(t) == want || learn::piece_fits_line(t, pos, data);
                if !fits(&text) {
                    self.learn_unwritten(target, line, &text, &fits);
                }
            }
            if what == ProcText::Smaps {
                self.learn_unshare_dirt(target, line, &want, &got);
            }
            self.mismatch(Mismatch {
                line,
                call: name.into(),
                expected: format!("{} bytes of text", want.len()),
                got: format!("{} bytes", got.len()),
                diff: Some(diff(&want, &got)),
                cause: None,
            });
        }
    }
}
