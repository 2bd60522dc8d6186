//! Learning the unknowns of a replay (see [`crate::unknowns`]): each exec's random draws,
//! the first task's inherited limits, the address space of a process the trace attached
//! to, the vDSO's size, file and shared-memory identities. Each is bound at the first line
//! that reveals it.

use super::*;
use crate::unknowns::ExecUnknowns;
use crate::unknowns::MapsLine;
use crate::unknowns::CPUS;
use procfs::parse::parse_maps;

/// Whether a maps name is that of a shared memory object whose inode number comes from the
/// machine-wide counter (a SysV segment's is its identifier, which shmget showed).
pub(super) fn is_shmem_name(path: &str) -> bool {
    path == "/dev/zero (deleted)" || (path.starts_with("/memfd:") && path.ends_with(" (deleted)"))
}

/// Whether a maps name is that of a SysV shared memory segment (`/SYSV%08x (deleted)`).
pub(super) fn is_sysv_name(path: &str) -> bool {
    path.strip_prefix("/SYSV")
        .and_then(|rest| rest.strip_suffix(" (deleted)"))
        .is_some_and(|key| key.len() == 8 && key.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The exec behind an address space: what the learning of its unknowns needs.
#[derive(Clone, Debug)]
pub(super) struct ExecCtx {
    /// The line of the execve (the key of its unknowns).
    pub(super) line: u64,
    pub(super) info: mm::ExecInfo,
    /// The program's model file (none for a process the trace attached to), and the
    /// interpreter's.
    pub(super) program: Option<FileId>,
    pub(super) interp: Option<FileId>,
    /// The program's PT_GNU_RELRO start (link-time address).
    pub(super) relro: Option<u64>,
    /// By path, the span of the maps lines naming the program and the interpreter right
    /// after the exec (from the first page to the last): their ELF layouts here.
    pub(super) spans: Vec<(String, u64)>,
    /// For a process the trace attached to (`line` is [`ATTACHED`]): the task whose first
    /// line began it, the key of its unknowns.
    pub(super) attached: Option<TracePid>,
}

/// The span from the first page to the last of the first run of maps lines naming `path`
/// one after the other (an exec's segments; a later mmap of the same file, such as node's
/// second mapping of its own text, lies elsewhere), when the run begins at the file's start
/// and the text shows what follows it (a partial read may stop inside it).
pub(super) fn maps_span(lines: &[MapsLine], path: &str) -> Option<u64> {
    let first = lines.iter().position(|l| l.name == path)?;
    let run = lines[first..].iter().take_while(|l| l.name == path).count();
    let last = first + run - 1;
    (lines[first].offset == 0 && last + 1 < lines.len()).then(|| lines[last].end.wrapping_sub(lines[first].start))
}

/// The model's maps line that begins at byte `at` of its text, if one does.
fn maps_line_at(text: &str, at: usize) -> Option<MapsLine> {
    if at > 0 && text.as_bytes().get(at - 1) != Some(&b'\n') {
        return None;
    }
    let rest = text.get(at..)?;
    procfs::parse::parse_maps_line(rest.split('\n').next()?)
}

/// The end address of a maps line as a cut text shows it.
#[derive(Debug, PartialEq, Eq)]
enum CutEnd {
    Whole(u64),
    /// The hex digits shown before the cut.
    Prefix(String),
}

/// The address range at the start of `text`, a maps line possibly cut short: the start
/// must be whole (followed by `-`), the end may be cut.
fn cut_maps_range(text: &str) -> Option<(u64, CutEnd)> {
    let (start, rest) = text.split_once('-')?;
    if start.is_empty() || start.len() > 16 || !start.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let start = u64::from_str_radix(start, 16).ok()?;
    let digits: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    if digits.len() > 16 {
        return None;
    }
    let end = match rest[digits.len()..].chars().next() {
        Some(' ') if !digits.is_empty() => CutEnd::Whole(u64::from_str_radix(&digits, 16).ok()?),
        None => CutEnd::Prefix(digits),
        _ => return None,
    };
    Some((start, end))
}

/// Whether `piece`, what strace showed of a read of a maps text at byte `pos` (cut inside
/// its first line), could be text `text` there but for where that mapping lies: `text`
/// has a line beginning at `pos` with the permissions and size the piece shows (its
/// addresses are what a read there binds).
pub(super) fn piece_fits_line(text: &str, pos: u64, piece: &[u8]) -> bool {
    let piece = String::from_utf8_lossy(piece);
    if piece.contains('\n') {
        // Not a piece strace cut inside its first line: whole lines are compared whole.
        return false;
    }
    let (Some(model), Some((start, end))) =
        (usize::try_from(pos).ok().and_then(|p| maps_line_at(text, p)), cut_maps_range(&piece))
    else {
        return false;
    };
    let size = model.end.wrapping_sub(model.start);
    let size_fits = match end {
        CutEnd::Whole(e) => e.wrapping_sub(start) == size,
        CutEnd::Prefix(digits) => format!("{:x}", start.wrapping_add(size)).starts_with(&digits),
    };
    size_fits && model.perms.starts_with(shown_perms(&piece))
}

pub(super) use mm::layout::page_floor;
use mm::layout::PMD_SIZE;

impl Replayer {
    /// After an exec that used bound values: each must be one Linux could have drawn.
    pub(super) fn check_placement(&mut self, line: u64, ctx: &ExecCtx, u: &ExecUnknowns) {
        if !self.verify() {
            return;
        }
        let info = &ctx.info;
        let aligned = |v: u64| v % PAGE_SIZE == 0;
        let mut wrong = Vec::new();
        // The heap starts past the program's end, wherever the program went: while a PIE's
        // load bias is unknown, any bias Linux could draw widens the range.
        if let Some(b) = u.start_brk {
            let (lo, hi) = self.start_brk_range(info, u);
            if !(lo..hi).contains(&b.value) || !aligned(b.value) {
                let want = if hi == lo + 1 { format!("{lo:#x}") } else { format!("a page in [{lo:#x}, {hi:#x})") };
                wrong.push((b.line, "start_brk", want, b.value));
                self.program_differs(ctx, b, lo, u.not_randomized);
            }
        }
        if let Some(b) = u.load_bias {
            match info.load_bias_range {
                Some((lo, hi)) if (lo..hi).contains(&b.value) && aligned(b.value) => {}
                Some((lo, hi)) => wrong.push((b.line, "load_bias", format!("a page in [{lo:#x}, {hi:#x})"), b.value)),
                None => wrong.push((b.line, "load_bias", "none: the program is not a PIE".into(), b.value)),
            }
        }
        // The ranges of the address space the exec built (64-bit or ia32 compat).
        let space = info.space;
        let rnd_range = space.mmap_rnd_range();
        if let Some(b) = u.mmap_rnd {
            if b.value >= rnd_range || !aligned(b.value) {
                wrong.push((b.line, "mmap_rnd", format!("a page below {rnd_range:#x}"), b.value));
            }
        }
        if let Some(b) = u.stack_top {
            let top = space.stack_top;
            let lo = top - space.stack_max_random() - 2 * PAGE_SIZE;
            if !(lo..=top).contains(&b.value) || !aligned(b.value) {
                wrong.push((b.line, "stack_top", format!("a page in [{lo:#x}, {top:#x}]"), b.value));
            }
        }
        for (at, what, range, value) in wrong {
            self.mismatch(Mismatch {
                line: at,
                call: format!("{what} of the execve at line {line} (learned here)"),
                expected: range,
                got: format!("{value:#x}"),
                diff: None,
                cause: None,
            });
        }
    }

    /// Where Linux could have put the start of the heap after the exec `info`, given what
    /// is bound of it: the program's end (a page further when randomized) plus the heap's
    /// random offset, over every load bias still possible.
    pub(super) fn start_brk_range(&self, info: &mm::ExecInfo, u: &ExecUnknowns) -> (u64, u64) {
        let (lo, hi) = info.brk_range;
        match (info.load_bias_range, u.load_bias) {
            (Some((bias_lo, bias_hi)), None) if u.not_randomized.is_none() => {
                // The model placed the program at `info.load_bias`: the heap's range moves
                // with the bias, by as much as the bias can.
                let past_bias = lo.wrapping_sub(info.load_bias);
                (
                    bias_lo.saturating_add(past_bias),
                    (bias_hi - PAGE_SIZE).saturating_add(past_bias).saturating_add(hi - lo),
                )
            }
            _ => (lo, hi),
        }
    }

    /// A heap start the program's own end here (which puts the heap at `here`) does not
    /// give: below it, the program here is larger than the one the trace ran; above it, in
    /// an exec that line `unrandomized` showed had no random draws, smaller. Said once, as a
    /// differing file, so that the mismatches that follow read as its consequences.
    fn program_differs(&self, ctx: &ExecCtx, start_brk: Bound<u64>, here: u64, unrandomized: Option<u64>) {
        let Some(f) = ctx.program else { return };
        let past_bias = ctx.info.brk_range.0.wrapping_sub(ctx.info.load_bias);
        let (at, why, run) = match unrandomized {
            _ if start_brk.value < here => (format!("at {here:#x} or above"), String::new(), "smaller"),
            Some(line) => {
                (format!("at {here:#x}"), format!(" in a layout without random draws (line {line})"), "larger")
            }
            None => return,
        };
        self.files.differ(
            &self.k.file(f).path,
            format!(
                "its ELF layout here puts the heap at least {past_bias:#x} bytes past its load address, {at}; the \
                 trace's heap starts at {:#x} (line {}){why}: the program run when recording was {run}",
                start_brk.value, start_brk.line
            ),
        );
    }

    /// The exec behind `tpid`'s address space, with the model's id of that space.
    pub(super) fn exec_of(&self, tpid: TracePid) -> Option<(MmId, std::sync::Arc<ExecCtx>)> {
        let pid = self.procs.get(&tpid)?.pid;
        let id = self.k.mm_id(pid).ok()?;
        Some((id, self.execs.get(&id)?.clone()))
    }

    pub(super) fn unknowns(&mut self, exec: u64) -> &mut ExecUnknowns {
        self.learned.execs.entry(exec).or_default()
    }

    /// The mmap_rnd the address space `pid` was laid out with.
    pub(super) fn mmap_rnd_now(&self, pid: Pid, ctx: &ExecCtx) -> Option<u64> {
        let m = self.k.mm(pid).ok()?;
        if m.legacy_layout {
            return Some(m.mmap_legacy_base.wrapping_sub(m.space.unmapped_base));
        }
        let base0 = m.space.mmap_base(ctx.info.rlimit_stack, self.k.config().stack_guard_gap, true, 0);
        Some(base0.wrapping_sub(m.mmap_base))
    }

    /// Binds the mmap area's draw so that an allocation the model put at `got` lands at
    /// `want` (the area moves as a whole); false if no draw Linux could make does that.
    pub(super) fn bind_mmap_area(&mut self, tpid: TracePid, line: u64, want: u64, got: u64, weak: bool) -> bool {
        let Some((_, ctx)) = self.exec_of(tpid) else { return false };
        let known = self.learned.execs.get(&ctx.line).copied().unwrap_or_default();
        if known.mmap_rnd.is_some() && (weak || !known.mmap_rnd_weak) {
            return false;
        }
        if ctx.line == ATTACHED || self.stack_limit_learned_now {
            return false;
        }
        let pid = self.mpid(tpid);
        let Ok(m) = self.k.mm(pid) else { return false };
        let legacy = m.legacy_layout;
        let (rnd_range, unmapped_base) = (m.space.mmap_rnd_range(), m.space.unmapped_base);
        let Some(now) = self.mmap_rnd_now(pid, &ctx) else { return false };
        let delta = want.wrapping_sub(got);
        // Top-down, a larger draw moves the area down; bottom-up, up.
        let rnd = if legacy { now.wrapping_add(delta) } else { now.wrapping_sub(delta) };
        if rnd < rnd_range && rnd % PAGE_SIZE == 0 {
            let u = self.unknowns(ctx.line);
            u.mmap_rnd = Some(Bound { value: rnd, line });
            u.mmap_rnd_weak = weak;
            return true;
        }
        // Only the heap's start made the exec look randomized, yet the mmap area is where an
        // unrandomized layout has it (a draw explains that once in 2^28): the exec was not
        // randomized, and the heap's start came from a program other than the one here.
        let only_brk = known.start_brk.is_some()
            && known.mmap_rnd.is_none()
            && known.stack_top.is_none()
            && known.load_bias.is_none()
            && known.not_randomized.is_none();
        if !legacy && only_brk {
            let plain = m.space.mmap_base(ctx.info.rlimit_stack, self.k.config().stack_guard_gap, false, 0);
            if plain.wrapping_sub(m.mmap_base) == delta {
                self.unknowns(ctx.line).not_randomized = Some(line);
                return true;
            }
        }
        // An address in the bottom-up area where the model went top-down: the first task
        // came with the legacy layout (an unlimited stack, or ADDR_COMPAT_LAYOUT).
        let in_legacy_area = (unmapped_base..unmapped_base + 2 * rnd_range).contains(&want);
        if !legacy && in_legacy_area && self.learned.start_legacy.is_none() && !self.stack_limit_set.contains(&pid) {
            self.learned.start_legacy = Some(Bound { value: true, line });
            return true;
        }
        false
    }

    /// A result of an address-space call that the model did not predict: binds the
    /// unknown that explains it, if one is still open.
    pub(super) fn learn_from_result(
        &mut self,
        tpid: TracePid,
        line: u64,
        c: &Syscall,
        before: (u64, u64),
        got: &SysResult<u64>,
    ) {
        let want = match c.ret {
            Ret::Value(v) => Ok(v),
            Ret::Error { .. } => Err(()),
            Ret::Unknown => return,
        };
        let Some((_, ctx)) = self.exec_of(tpid) else { return };
        if ctx.line == ATTACHED {
            return self.learn_attached_result(tpid, line, c, want, got);
        }
        let addr = c.arg_u64(0).unwrap_or(0);
        let is_mprotect = matches!(c.name.as_ref(), "mprotect" | "pkey_mprotect");
        if want.ok() == got.ok() && want.is_ok() && !is_mprotect {
            return;
        }
        match c.name.as_ref() {
            "brk" => {
                // brk(NULL) before the heap moved tells where it starts.
                let (start_brk, brk) = before;
                if let (Ok(r), 0, true) = (want, addr, start_brk == brk) {
                    let u = self.unknowns(ctx.line);
                    if u.start_brk.is_none() && r % PAGE_SIZE == 0 {
                        u.start_brk = Some(Bound { value: r, line });
                    }
                }
            }
            "mmap" | "mmap2" | "mremap" | "shmat" => {
                let flags = if c.name == "mremap" {
                    0
                } else if c.name == "shmat" {
                    // An attach at an address is a fixed mapping.
                    if addr != 0 {
                        MAP_FIXED
                    } else {
                        0
                    }
                } else {
                    c.arg(3).and_then(Arg::flags_value_known).map_or(0, |(v, _)| v)
                };
                let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
                if let (Ok(r), Ok(g), false, false) = (want, got, fixed, c.name == "mremap") {
                    // A mapping of 2 MiB or more may be placed 2 MiB-aligned (THP), which
                    // hides the low bits of the draw.
                    // shmem (an attach) is never placed 2 MiB-aligned.
                    let len = if c.name == "shmat" { 0 } else { c.arg_u64(1).unwrap_or(0) };
                    let explained = self.bind_mmap_area(tpid, line, r, *g, len >= PMD_SIZE);
                    // The model aligned an anonymous mapping down to 2 MiB where the log
                    // shows it right above that, unaligned, in a layout whose draw is known
                    // (or was not randomized): a kernel before 6.7.
                    let u = self.learned.execs.get(&ctx.line).copied().unwrap_or_default();
                    let layout_known = !u.any() || u.mmap_rnd.is_some_and(|_| !u.mmap_rnd_weak);
                    let anon = flags & MAP_ANONYMOUS != 0 && flags & MAP_TYPE == MAP_PRIVATE;
                    let aligned_down = *g % PMD_SIZE == 0 && r % PMD_SIZE != 0 && r > *g && r - *g < PMD_SIZE;
                    let large = len > 0 && len % PMD_SIZE == 0;
                    if !explained && layout_known && anon && addr == 0 && large && aligned_down {
                        self.learned.settings.entry(THP_PLACEMENT.into()).or_insert(Bound { value: 0, line });
                    }
                }
            }
            "mprotect" | "pkey_mprotect" => {
                // ld.so (or a static-pie's own start code) makes the program's RELRO
                // read-only: that reveals the load bias.
                let Some(relro) = ctx.relro else { return };
                let agreed = want.ok() == got.ok();
                let Some((lo, hi)) = ctx.info.load_bias_range else {
                    if agreed {
                        return;
                    }
                    // A program without an interpreter that is its own loader sits in the
                    // mmap area: its RELRO shows where the area is.
                    let model_at = ctx.info.load_bias.wrapping_add(page_floor(relro));
                    if ctx.info.load_bias != 0 && want.is_ok() {
                        self.bind_mmap_area(tpid, line, addr, model_at, false);
                    }
                    return;
                };
                let bias = addr.wrapping_sub(page_floor(relro));
                // The model's mprotect may succeed at the wrong address too, when the
                // program's bss there is large enough (a 32-bit PIE's small draw): a RELRO
                // elsewhere than the model's still tells the bias.
                if agreed && bias == ctx.info.load_bias {
                    return;
                }
                let u = self.unknowns(ctx.line);
                if want.is_ok() && u.load_bias.is_none() && (lo..hi).contains(&bias) && bias % PAGE_SIZE == 0 {
                    u.load_bias = Some(Bound { value: bias, line });
                }
            }
            _ => {}
        }
    }

    /// A `/proc/PID/maps` read the model did not predict: binds what it shows of the
    /// layout (stack, heap, program, interpreter or vDSO) and of file identities, where
    /// still open.
    pub(super) fn learn_from_maps(&mut self, target: TracePid, line: u64, log_text: &str, model_text: &str) {
        let Some((_, ctx)) = self.exec_of(target) else { return };
        if ctx.attached.is_some_and(|a| !self.attached_installed.contains(&a)) {
            // A run that learned an attached process's start midway: the model's objects
            // are not those of a run that installs it from the first line.
            return;
        }
        // Only whole lines: a read may end inside one.
        let mut parses = std::mem::take(&mut self.maps_parses);
        let (log, model) = parses.parse(&log_text[..log_text.rfind('\n').map_or(0, |i| i + 1)], model_text);
        self.learn_from_parsed_maps(target, line, &ctx, log, model);
        self.maps_parses = parses;
    }

    /// [`Replayer::learn_from_maps`] of the texts' lines.
    fn learn_from_parsed_maps(
        &mut self,
        target: TracePid,
        line: u64,
        ctx: &ExecCtx,
        log: &[crate::unknowns::MapsLine],
        model: &[crate::unknowns::MapsLine],
    ) {
        self.learn_identities_from_maps(line, log, model);
        if ctx.line == ATTACHED {
            // No exec placed it: its layout comes from its first whole read (see `attach`).
            return;
        }
        self.check_elf_spans(ctx, line, log);
        let by_path = |lines: &[crate::unknowns::MapsLine], path: &str| {
            lines.iter().find(|l| l.name == path && (l.offset == 0 || path.starts_with('['))).cloned()
        };
        if self.learned.vdso_pages.is_none() {
            let pages = |lines: &[crate::unknowns::MapsLine], name: &str| {
                lines.iter().find(|l| l.name == name).map_or(0, |l| (l.end - l.start) / PAGE_SIZE)
            };
            let shown = (pages(log, "[vvar]"), pages(log, "[vvar_vclock]"), pages(log, "[vdso]"));
            let have = (pages(model, "[vvar]"), pages(model, "[vvar_vclock]"), pages(model, "[vdso]"));
            // A read of part of the text may show some of the three lines only.
            if shown.0 != 0 && shown.2 != 0 && shown != have {
                self.learned.vdso_pages = Some(Bound { value: shown, line });
            }
        }
        let u = self.learned.execs.get(&ctx.line).copied().unwrap_or_default();
        if u.stack_top.is_none() {
            if let Some(l) = by_path(log, "[stack]") {
                if by_path(model, "[stack]").map(|m| m.end) != Some(l.end) {
                    self.unknowns(ctx.line).stack_top = Some(Bound { value: l.end, line });
                }
            }
        }
        if u.start_brk.is_none() {
            if let Some(l) = by_path(log, "[heap]") {
                if by_path(model, "[heap]").map(|m| m.start) != Some(l.start) {
                    self.unknowns(ctx.line).start_brk = Some(Bound { value: l.start, line });
                }
            }
        }
        let name = |k: &Kernel, f: FileId| k.file(f).path.clone();
        let program = ctx.program.map(|f| name(&self.k, f)).unwrap_or_default();
        if let (None, Some(range)) = (u.load_bias, ctx.info.load_bias_range) {
            if let (Some(l), Some(m)) = (by_path(log, &program), by_path(model, &program)) {
                let bias = ctx.info.load_bias.wrapping_add(l.start.wrapping_sub(m.start));
                if l.start != m.start && possible_bias(range, bias) {
                    self.unknowns(ctx.line).load_bias = Some(Bound { value: bias, line });
                }
            }
        }
        if u.mmap_rnd.is_none() || u.mmap_rnd_weak {
            // The interpreter (or, for a static program, the vDSO) is the first thing in the
            // mmap area.
            let first = ctx.interp.map(|f| name(&self.k, f)).unwrap_or_else(|| "[vdso]".into());
            if let (Some(l), Some(m)) = (by_path(log, &first), by_path(model, &first)) {
                if l.start != m.start {
                    self.bind_mmap_area(target, line, l.start, m.start, false);
                }
            }
        }
    }

    /// What a maps read shows of identities: the inode numbers of shared memory objects
    /// (from the machine-wide counter) and of files no stat showed.
    fn learn_identities_from_maps(&mut self, line: u64, log: &[MapsLine], model: &[MapsLine]) {
        for l in log {
            if is_shmem_name(&l.name) {
                // The object the model has at the same place, under the same name.
                let Some(m) = model.iter().find(|m| m.start == l.start && m.name == l.name) else { continue };
                // Live objects have distinct numbers: a number bound to another object is that
                // object's, seen by a read that began before a thread replaced it here.
                // A model object already given a number is named.
                let taken = |ino: u64| self.learned.shmem_inos.values().any(|b| b.value == ino);
                if m.ino != l.ino && !taken(l.ino) && !taken(m.ino) && !self.learned.shmem_inos.contains_key(&m.ino) {
                    self.learned.shmem_inos.insert(m.ino, Bound { value: l.ino, line });
                }
                continue;
            }
            // A SysV segment's number is its identifier, which the log's shmget showed: checked,
            // not learned (and several segments share a name).
            if is_sysv_name(&l.name) {
                continue;
            }
            // A file unlinked since it was mapped shows as `PATH (deleted)`: its identity is
            // that of the file the trace opened as PATH.
            let path = l.name.strip_suffix(" (deleted)").unwrap_or(&l.name);
            if !path.starts_with('/') || l.ino == 0 || self.learned.files.contains_key(path) {
                continue;
            }
            let Some(m) = model.iter().find(|m| m.name == l.name) else { continue };
            let (got, want) = ((m.major, m.minor, m.ino), (l.major, l.minor, l.ino));
            // A stat in the log wins: then a different identity here is a mismatch.
            if got != want && self.ids.get(path).is_none() {
                let id = Identity { major: l.major, minor: l.minor, ino: l.ino };
                self.learned.files.insert(path.to_string(), Bound { value: id, line });
            }
        }
    }

    /// A maps read whose text strace cut short (`-s`, 32 bytes by default) shows only the
    /// first bytes of what the kernel returned: often the start of a line, whose name is cut
    /// off. Where the model's text has a line beginning at the same offset (so everything
    /// before it has the same length), that line's name says which mapping the log's
    /// addresses are of, and the unknown they reveal is bound as a whole line would bind it.
    pub(super) fn learn_from_maps_piece(
        &mut self,
        target: TracePid,
        line: u64,
        pos: u64,
        data: &[u8],
        model_text: &str,
    ) {
        let Some((_, ctx)) = self.exec_of(target) else { return };
        if ctx.line == ATTACHED {
            return;
        }
        let piece = String::from_utf8_lossy(data);
        // The whole lines the piece shows, from the first that surely begins a line.
        let aligned = usize::try_from(pos).ok().and_then(|p| maps_line_at(model_text, p)).is_some();
        let first_line = if aligned { Some(0) } else { piece.find('\n').map(|i| i + 1) };
        if let Some(k) = first_line.filter(|&k| k < piece.len()) {
            self.learn_from_maps(target, line, &piece[k..], model_text);
        }
        let line_starts = std::iter::once(0).chain(piece.match_indices('\n').map(|(i, _)| i + 1));
        let mut found = Vec::new();
        for k in line_starts {
            let Some(at) = usize::try_from(pos).ok().and_then(|p| p.checked_add(k)) else { continue };
            let (Some(model), Some((start, end))) = (maps_line_at(model_text, at), cut_maps_range(&piece[k..])) else {
                continue;
            };
            // The line the model has at the same offset is the log's only if what the log
            // shows of its permissions agrees (the texts before may differ and still have
            // the same length).
            if !model.perms.starts_with(shown_perms(&piece[k..])) {
                continue;
            }
            if start != model.start {
                found.push((model, start, end));
            }
        }
        for (model, start, end) in found {
            let end = match end {
                // Offsets and permissions agree by chance, too (a text before that differs
                // and has the same length): the mapping's size must agree as well.
                CutEnd::Whole(e) if e.wrapping_sub(start) != model.end - model.start => continue,
                CutEnd::Whole(e) => e,
                // The mapping's size here, checked against the digits the log shows.
                CutEnd::Prefix(digits) => {
                    let e = start.wrapping_add(model.end.wrapping_sub(model.start));
                    if !format!("{e:x}").starts_with(&digits) {
                        continue;
                    }
                    e
                }
            };
            self.learn_layout_line(target, line, &ctx, &model, start, end);
        }
    }

    /// One maps line of the log at `start`-`end` that the model has as `model`: binds what
    /// it reveals of the exec's random draws (the stack's top, the heap's start, the
    /// program's load bias, the mmap area's draw), where still open.
    fn learn_layout_line(
        &mut self,
        target: TracePid,
        line: u64,
        ctx: &ExecCtx,
        model: &MapsLine,
        start: u64,
        end: u64,
    ) {
        let u = self.learned.execs.get(&ctx.line).copied().unwrap_or_default();
        let name = |k: &Kernel, f: Option<FileId>| f.map(|f| k.file(f).path.clone());
        let program = name(&self.k, ctx.program);
        // The interpreter (or, for a static program, the vDSO) is the first thing in the
        // mmap area.
        let first = name(&self.k, ctx.interp).unwrap_or_else(|| "[vdso]".into());
        let whole_file = model.offset == 0 || model.name.starts_with('[');
        match model.name.as_str() {
            "[stack]" if u.stack_top.is_none() && end != model.end => {
                self.unknowns(ctx.line).stack_top = Some(Bound { value: end, line });
            }
            "[heap]" if u.start_brk.is_none() && start != model.start => {
                self.unknowns(ctx.line).start_brk = Some(Bound { value: start, line });
            }
            n if Some(n) == program.as_deref()
                && whole_file
                && u.load_bias.is_none()
                && ctx.info.load_bias_range.is_some_and(|r| {
                    possible_bias(r, ctx.info.load_bias.wrapping_add(start.wrapping_sub(model.start)))
                })
                && start != model.start =>
            {
                let bias = ctx.info.load_bias.wrapping_add(start.wrapping_sub(model.start));
                self.unknowns(ctx.line).load_bias = Some(Bound { value: bias, line });
            }
            n if n == first && whole_file && (u.mmap_rnd.is_none() || u.mmap_rnd_weak) && start != model.start => {
                self.bind_mmap_area(target, line, start, model.start, false);
            }
            _ => {}
        }
    }

    /// For each of `files`, its path and the span from the first page to the last of the
    /// VMAs of `pid` that map it, when the first maps its start (what [`maps_span`] finds in
    /// a maps text, without writing one).
    pub(super) fn mapped_spans(&self, pid: Pid, files: [Option<FileId>; 2]) -> Vec<(String, u64)> {
        let Ok(mm) = self.k.mm(pid) else { return Vec::new() };
        files
            .into_iter()
            .flatten()
            .filter_map(|f| {
                let mut of_file = mm.vmas.iter().filter(|v| v.file.is_some_and(|o| o.file == f));
                let first = of_file.next()?;
                let last = of_file.next_back().unwrap_or(first);
                (first.pgoff == 0).then(|| (self.k.file(f).path.clone(), last.end - first.start))
            })
            .collect()
    }

    /// The program's and the interpreter's lines in a maps read against their ELF layouts
    /// here (as the exec mapped them, before any later call could move them): the span from
    /// a file's first page to its last is its layout's whatever the random draws, so another
    /// span means the file here is not the one the trace ran.
    fn check_elf_spans(&self, ctx: &ExecCtx, line: u64, log: &[MapsLine]) {
        for (path, here) in &ctx.spans {
            let Some(shown) = maps_span(log, path) else { continue };
            if shown != *here {
                self.files.differ(
                    path,
                    format!(
                        "its ELF layout here maps {here:#x} bytes from its first page to its last; the maps read \
                         at line {line} shows {shown:#x} bytes"
                    ),
                );
            }
        }
    }

    /// What a prlimit64/getrlimit in the log showed of RLIMIT_STACK: the limit the first
    /// task inherited, if no call in the log set it before.
    pub(super) fn learn_stack_limit(&mut self, tpid: TracePid, line: u64, c: &Syscall) {
        let Ret::Value(_) = c.ret else { return };
        let pid = self.mpid(tpid);
        let (resource, new, old) = match c.name.as_ref() {
            "prlimit64" if c.arg_u64(0).map_or(true, |p| p == 0) => (c.arg(1), c.arg(2), c.arg(3)),
            "getrlimit" => (c.arg(0), None, c.arg(1)),
            "setrlimit" => (c.arg(0), c.arg(1), None),
            _ => return,
        };
        if resource.and_then(super::process::rlimit_resource) != Some(mm::Rlimit::Stack) {
            return;
        }
        if let Some(v) = old.and_then(|o| o.field("rlim_cur")).and_then(rlim_value) {
            let set = self.stack_limit_set.contains(&pid);
            if !set && self.learned.start_rlimit_stack.is_none() {
                let now = self.k.mm_id(pid).map(|id| self.k.rlimit(id, mm::Rlimit::Stack)).unwrap_or(0);
                if now != v {
                    self.learned.start_rlimit_stack = Some(Bound { value: v, line });
                    // The draws bound so far were worked out from where the mmap area would
                    // start under the limit assumed until now, which the limit moves, and
                    // so are those of this run's execs to come (their tasks inherited the
                    // assumed limit): they are learned again by the next run, whose tasks
                    // start with this one.
                    for e in self.learned.execs.values_mut() {
                        if e.mmap_rnd.is_some_and(|b| b.line < line) {
                            (e.mmap_rnd, e.mmap_rnd_weak) = (None, false);
                        }
                    }
                    self.stack_limit_learned_now = true;
                }
            }
        }
        if new.is_some_and(|n| !n.is_null()) {
            self.stack_limit_set.insert(pid);
        }
    }

    /// Gives shared memory objects the inode numbers reads showed (see
    /// [`Learned::shmem_inos`]).
    pub(super) fn name_shmem_objects(&mut self) {
        if self.learned.shmem_inos.is_empty() {
            return;
        }
        let renamed: Vec<(FileId, u32, u32, u64)> = self
            .k
            .files()
            .filter_map(|(id, f)| {
                let b = self.learned.shmem_inos.get(&f.ino)?;
                let shmem = is_shmem_name(&f.path) || f.path.starts_with("/dev/zero") || f.path.starts_with("/memfd:");
                shmem.then_some((id, f.major, f.minor, b.value))
            })
            .collect();
        for (id, major, minor, ino) in renamed {
            self.k.set_file_identity(id, major, minor, ino);
        }
    }

    /// A read of a file that shows a setting of the recording machine (THP mode,
    /// overcommit, fault-around): binds it, where it differs from what the model assumed.
    pub(super) fn learn_setting(&mut self, line: u64, path: &str, data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        if path == MEMINFO {
            // RAM and swap: what mmap's overcommit heuristic and the commit limit count.
            for (field, key) in [("MemTotal:", MEM_TOTAL), ("SwapTotal:", SWAP_TOTAL)] {
                let Some(kb) = meminfo_kb(&text, field) else { continue };
                self.bind_memory_size(key, kb.saturating_mul(1024), line);
            }
            return;
        }
        let Some(value) = setting_value(path, &text) else { return };
        if self.learned.settings.contains_key(path) {
            return;
        }
        if setting_now(self.k.config(), path) != Some(value) {
            self.learned.settings.insert(path.to_string(), Bound { value, line });
        }
    }
}

impl Replayer {
    /// A sysinfo result: `totalram` and `totalswap` (in units of `mem_unit`) are the
    /// recording machine's RAM and swap, the facts /proc/meminfo's MemTotal and SwapTotal
    /// show, bound the same way (whichever the log shows first).
    pub(super) fn learn_sysinfo(&mut self, line: u64, c: &Syscall) {
        let Some(info) = c.arg(0).filter(|_| c.ret.value() == Some(0)) else { return };
        let unit = info.field("mem_unit").and_then(Arg::as_u64).unwrap_or(1).max(1);
        for (field, key) in [("totalram", MEM_TOTAL), ("totalswap", SWAP_TOTAL)] {
            if let Some(v) = info.field(field).and_then(Arg::as_u64) {
                self.bind_memory_size(key, v.saturating_mul(unit), line);
            }
        }
    }

    /// A sched_getaffinity result: the CPUs its mask lists (`[0 1]`) are CPUs the task
    /// could run on.
    pub(super) fn learn_affinity(&mut self, line: u64, c: &Syscall) {
        let Some(mask) = c.arg(2).filter(|_| c.ret.value().is_some()) else { return };
        let Some((false, cpus)) = mask.sigset_names() else { return };
        if cpus.iter().all(|n| n.parse::<u32>().is_ok()) {
            self.bind_cpus(cpus.len() as u64, line);
        }
    }

    /// Binds the CPUs the recording machine's tasks could run on ([`CPUS`]) to `n`, seen
    /// on `line`, unless a larger number is bound already.
    pub(super) fn bind_cpus(&mut self, n: u64, line: u64) {
        if n > self.learned.settings.get(CPUS).map_or(0, |b| b.value) {
            self.learned.settings.insert(CPUS.to_string(), Bound { value: n, line });
        }
    }

    /// Binds the recording machine's RAM or swap size (`key`) to `bytes`, seen on `line`,
    /// unless bound already or the model's value already.
    fn bind_memory_size(&mut self, key: &str, bytes: u64, line: u64) {
        let now = if key == MEM_TOTAL { self.k.config().ram_bytes } else { 0 };
        if !self.learned.settings.contains_key(key) && bytes != now {
            self.learned.settings.insert(key.to_string(), Bound { value: bytes, line });
        }
    }

    /// A read that shows the recording machine's swap: `/proc/swaps` (its devices' sizes,
    /// the SwapTotal meminfo shows), or a status or smaps text with swapped pages (swap was
    /// there; its size nothing in the trace shows). Binds it once, at the first such read.
    pub(super) fn learn_swap(&mut self, line: u64, path: &str, data: &[u8]) {
        if self.learned.settings.contains_key(SWAP_TOTAL) {
            return;
        }
        let text = String::from_utf8_lossy(data);
        if path == PROC_SWAPS {
            if let Some(kb) = proc_swaps_kb(&text).filter(|&kb| kb > 0) {
                self.learned.settings.insert(SWAP_TOTAL.to_string(), Bound { value: kb.saturating_mul(1024), line });
            }
            return;
        }
        let swapped = |field: &str| {
            text.lines()
                .filter_map(|l| l.strip_prefix(field)?.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
                .any(|kb| kb > 0)
        };
        if !self.learned.settings.contains_key(SWAP_SHOWN) && (swapped("Swap:") || swapped("VmSwap:")) {
            self.learned.settings.insert(SWAP_SHOWN.to_string(), Bound { value: 1, line });
        }
    }
}

impl Replayer {
    /// An smaps read of `target` that differs from the model's text only in how much of
    /// mappings in which strace's reads made the model copy a page is clean or dirty: the recording kernel copies a
    /// page a read pin unshares the other way than the model (see [`UNSHARE_COPIES_DIRTY`]).
    /// Bound once, at the first such read; the next run replays with the other behaviour
    /// and checks it on every read from then on.
    pub(super) fn learn_unshare_dirt(&mut self, target: TracePid, line: u64, want: &str, got: &str) {
        if self.learned.settings.contains_key(UNSHARE_COPIES_DIRTY) {
            return;
        }
        let Some(id) = self.procs.get(&target).and_then(|p| self.k.mm_id(p.pid).ok()) else { return };
        let read =
            |start: u64, end: u64| self.tracer_copied.iter().any(|&(m, page)| m == id && start <= page && page < end);
        if differ_in_dirt_of(want, got, &read) {
            let value = u64::from(!self.k.config().unshare_copies_dirty);
            self.learned.settings.insert(UNSHARE_COPIES_DIRTY.to_string(), Bound { value, line });
        }
    }
}

/// Whether `bias` is a load bias the exec could have drawn (a page in `range`): a maps line
/// that would bind another is not the program's first (the program mapped its own file
/// elsewhere, say, and the lines before it differ from the model's).
fn possible_bias((lo, hi): (u64, u64), bias: u64) -> bool {
    (lo..hi).contains(&bias) && bias % PAGE_SIZE == 0
}

/// What a maps line cut anywhere shows of its permissions (`r-` of `1000-2000 r-`; nothing
/// when the cut comes before them).
pub(super) fn shown_perms(line: &str) -> &str {
    let line = line.lines().next().unwrap_or("");
    line.split_once(' ').map_or("", |(_, rest)| rest.get(..rest.len().min(4)).unwrap_or(""))
}

/// The file listing the recording machine's swap devices.
pub(super) const PROC_SWAPS: &str = "/proc/swaps";
/// The setting's name for swap a status or smaps read showed in use, its size not shown
/// by any read: the replay then gives the model a swap device as large as its RAM.
pub(super) const SWAP_SHOWN: &str = "swap in use (a read shows swapped pages; its size unknown)";

/// The swap /proc/swaps lists, in KiB: the sum of its devices' sizes (pages past each
/// header page), as meminfo's SwapTotal counts; `None` when the text does not show its
/// header and every line whole.
fn proc_swaps_kb(text: &str) -> Option<u64> {
    let mut lines = text.split_inclusive('\n');
    if !lines.next()?.starts_with("Filename") {
        return None;
    }
    let mut kb = 0u64;
    for l in lines {
        if !l.ends_with('\n') {
            return None;
        }
        kb = kb.saturating_add(l.split_whitespace().nth(2)?.parse::<u64>().ok()?);
    }
    Some(kb)
}

/// The files whose contents are settings the model has, and how each reads.
const SETTINGS: [&str; 4] = [
    "/sys/kernel/mm/transparent_hugepage/enabled",
    "/proc/sys/vm/overcommit_memory",
    "/proc/sys/vm/overcommit_ratio",
    "/sys/kernel/debug/fault_around_bytes",
];

/// Whether `path` is one of the files whose contents are settings the model has.
pub(super) fn is_setting(path: &str) -> bool {
    SETTINGS.contains(&path) || path == MEMINFO
}

/// The file that shows the recording machine's RAM and swap.
const MEMINFO: &str = "/proc/meminfo";
/// The settings' names of the RAM and the swap a read of /proc/meminfo (`MemTotal`,
/// `SwapTotal`), of /proc/swaps, or a sysinfo result (`totalram`, `totalswap`) showed, in
/// bytes.
/// (The names say meminfo's fields, whichever line showed them.)
pub(super) const MEM_TOTAL: &str = "MemTotal in /proc/meminfo (bytes)";
/// The setting that says whether the recording kernel placed large mappings 2 MiB-aligned
/// (see [`mm::Config::thp_aligned_placement`]): bound to 0 by the first anonymous mapping
/// of a multiple of 2 MiB the log shows placed just above where the model aligned it.
pub(super) const THP_PLACEMENT: &str = "large mappings placed 2 MiB-aligned (0: as before Linux 6.7)";
pub(super) const SWAP_TOTAL: &str = "SwapTotal in /proc/meminfo (bytes)";
/// Whether the recording kernel maps the copy a read pin makes of a page a fork left shared
/// dirty (1) or clean (0) (see
/// [`mm::Config::unshare_copies_dirty`]): smaps shows which, for a page strace read to
/// print a buffer.
pub(super) const UNSHARE_COPIES_DIRTY: &str = "a page a read pin unshared is dirty (smaps)";

/// The smaps fields in which a page copied dirty and one copied clean differ.
const DIRTY_OR_CLEAN: [&str; 5] = ["Pss_Dirty:", "Private_Clean:", "Private_Dirty:", "Shared_Clean:", "Shared_Dirty:"];

/// Whether smaps texts `want` and `got` differ only in how much of some mappings is clean
/// or dirty, and only in mappings that hold a page `read` says strace read.
pub(super) fn differ_in_dirt_of(want: &str, got: &str, read: &dyn Fn(u64, u64) -> bool) -> bool {
    let (want, got): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    if want.len() != got.len() || want == got {
        return false;
    }
    let mut record = None;
    for (w, g) in want.iter().zip(&got) {
        if let Some(m) = procfs::parse::parse_maps_line(w) {
            record = Some((m.start, m.end));
        }
        if w == g {
            continue;
        }
        let field = |l: &str| DIRTY_OR_CLEAN.iter().find(|f| l.starts_with(**f)).copied();
        match (field(w), field(g), record) {
            (Some(a), Some(b), Some((start, end))) if a == b && read(start, end) => {}
            _ => return false,
        }
    }
    true
}

/// The value in kB of `field` (`MemTotal:`) in a meminfo text, when the text shows the
/// whole line.
fn meminfo_kb(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(field))?;
    line.strip_prefix(field)?.trim().strip_suffix("kB")?.trim().parse().ok()
}

/// The value a read of setting file `path` shows (THP: 0 never, 1 madvise, 2 always).
pub(super) fn setting_value(path: &str, text: &str) -> Option<u64> {
    if !is_setting(path) {
        return None;
    }
    if path.ends_with("transparent_hugepage/enabled") {
        let chosen = text.split('[').nth(1)?.split(']').next()?;
        return match chosen {
            "never" => Some(0),
            "madvise" => Some(1),
            "always" => Some(2),
            _ => None,
        };
    }
    text.trim().parse().ok()
}

/// The model's value of setting `path`.
fn setting_now(c: &mm::Config, path: &str) -> Option<u64> {
    Some(match path {
        "/sys/kernel/mm/transparent_hugepage/enabled" => match c.thp {
            mm::ThpMode::Never => 0,
            mm::ThpMode::Madvise => 1,
            mm::ThpMode::Always => 2,
        },
        "/proc/sys/vm/overcommit_memory" => u64::from(c.overcommit_memory),
        "/proc/sys/vm/overcommit_ratio" => c.overcommit_ratio,
        "/sys/kernel/debug/fault_around_bytes" => c.fault_around_bytes,
        _ => return None,
    })
}

/// Sets what the log showed of the recording machine's settings in a model configuration.
pub(super) fn apply_settings(c: &mut mm::Config, learned: &Learned) {
    for (path, b) in &learned.settings {
        let v = b.value;
        match path.as_str() {
            "/sys/kernel/mm/transparent_hugepage/enabled" => {
                c.thp = [mm::ThpMode::Never, mm::ThpMode::Madvise, mm::ThpMode::Always][v.min(2) as usize];
            }
            "/proc/sys/vm/overcommit_memory" => c.overcommit_memory = v.min(2) as u8,
            "/proc/sys/vm/overcommit_ratio" => c.overcommit_ratio = v,
            "/sys/kernel/debug/fault_around_bytes" => c.fault_around_bytes = v,
            MEM_TOTAL => c.ram_bytes = v.max(PAGE_SIZE << 10),
            UNSHARE_COPIES_DIRTY => c.unshare_copies_dirty = v != 0,
            THP_PLACEMENT => c.thp_aligned_placement = v != 0,
            _ => {}
        }
    }
}

/// The maps texts [`Replayer::learn_from_maps`] parsed last, with their lines: a program's
/// read of its maps comes in pieces, and each piece is learned from with the text read so
/// far (whose lines up to the last piece are parsed already) and the model's text (the same
/// for every piece of one read, unless a call came between).
#[derive(Clone, Debug, Default)]
pub(super) struct MapsParses {
    log: (String, Vec<crate::unknowns::MapsLine>),
    model: (String, Vec<crate::unknowns::MapsLine>),
}

impl MapsParses {
    /// The lines of `log` (whole lines only) and of `model`.
    fn parse(&mut self, log: &str, model: &str) -> (&[crate::unknowns::MapsLine], &[crate::unknowns::MapsLine]) {
        match log.strip_prefix(self.log.0.as_str()) {
            Some(rest) => {
                self.log.1.extend(parse_maps(rest));
                self.log.0.push_str(rest);
            }
            None => self.log = (log.to_string(), parse_maps(log)),
        }
        if self.model.0 != model {
            self.model = (model.to_string(), parse_maps(model));
        }
        (&self.log.1, &self.model.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_line_shows_what_it_shows_of_its_permissions() {
        assert_eq!(shown_perms("7f2baa0ac000-7f2baa0ad000 r--p 0"), "r--p");
        assert_eq!(shown_perms("7f2baa0ac000-7f2baa0ad000 rw"), "rw");
        assert_eq!(shown_perms("7f2baa0ac000-7f2baa0ad000"), "");
        assert_eq!(shown_perms("1000-2000 rw-p 00000000 00:00 0\n3000-4000 r--p"), "rw-p");
    }

    #[test]
    fn only_dirt_of_a_read_mapping_tells_how_an_unshared_copy_is_mapped() {
        let record = |clean: u64, dirty: u64| {
            format!(
                "7f0000000000-7f0000002000 rwxp 00000000 00:00 0 \nRss:                   8 kB\nPss_Dirty:             {dirty} kB\nShared_Dirty:          4 kB\nPrivate_Clean:         {clean} kB\nPrivate_Dirty:         {dirty} kB\n"
            )
        };
        let (log, model) = (record(0, 4), record(4, 0));
        let read_there = |start: u64, end: u64| start <= 0x7f0000000000 && 0x7f0000000000 < end;
        assert!(differ_in_dirt_of(&log, &model, &read_there));
        // Nothing strace read there, the same text, or another field differing: no.
        assert!(!differ_in_dirt_of(&log, &model, &|_, _| false));
        assert!(!differ_in_dirt_of(&log, &log, &read_there));
        let rss = model.replace("Rss:                   8 kB", "Rss:                   4 kB");
        assert!(!differ_in_dirt_of(&log, &rss, &read_there));
        let moved = model.replace("Private_Clean:         4 kB", "Private_Dirty:         4 kB");
        assert!(!differ_in_dirt_of(&log, &moved, &read_there), "a field for another");
    }

    #[test]
    fn a_file_s_span_is_its_first_run_of_lines() {
        let text = "\
00400000-00b6f000 r--p 00000000 fe:00 7 /usr/bin/node
00b72000-025fe000 r-xp 00772000 fe:00 7 /usr/bin/node
0563e000-0565d000 rw-p 0523d000 fe:00 7 /usr/bin/node
0565d000-0567d000 rw-p 00000000 00:00 0 
7fffefe40000-7fffeffd2000 r-xp 014c4000 fe:00 7 /usr/bin/node
7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 [stack]
";
        let lines: Vec<_> = text.lines().filter_map(procfs::parse::parse_maps_line).collect();
        // The later mapping of the program's own text is not part of its exec's layout.
        assert_eq!(maps_span(&lines, "/usr/bin/node"), Some(0x565d000 - 0x400000));
        // A read that stops after the run's last line does not show where it ends.
        assert_eq!(maps_span(&lines[..3], "/usr/bin/node"), None);
        assert_eq!(maps_span(&lines[1..], "/usr/bin/node"), None, "the run does not begin at the file's start");
    }

    #[test]
    fn a_cut_maps_line_shows_its_start_and_part_of_its_end() {
        assert_eq!(cut_maps_range("7ffc95c9f000-7ffc95cc"), Some((0x7ffc95c9f000, CutEnd::Prefix("7ffc95cc".into()))));
        assert_eq!(cut_maps_range("1000-2000 r--p 0"), Some((0x1000, CutEnd::Whole(0x2000))));
        assert_eq!(cut_maps_range("1000-"), Some((0x1000, CutEnd::Prefix(String::new()))));
        // The start cut, or not a range at all.
        assert_eq!(cut_maps_range("7ffc95c9"), None);
        assert_eq!(cut_maps_range("so.6\n7f00-"), None);
        assert_eq!(cut_maps_range("1000-2000x"), None);
    }

    #[test]
    fn the_model_line_at_an_offset_must_begin_there() {
        let text =
            "1000-2000 r--p 00000000 00:00 0 \n3000-4000 rw-p 00000000 00:00 0                          [stack]\n";
        assert_eq!(maps_line_at(text, 0).map(|l| l.start), Some(0x1000));
        assert_eq!(maps_line_at(text, 33).map(|l| l.name), Some("[stack]".to_string()));
        assert!(maps_line_at(text, 5).is_none());
    }

    #[test]
    fn settings_read_as_linux_prints_them() {
        assert_eq!(setting_value("/sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never\n"), Some(1));
        assert_eq!(setting_value("/sys/kernel/mm/transparent_hugepage/enabled", "[always] madvise never\n"), Some(2));
        assert_eq!(setting_value("/proc/sys/vm/overcommit_memory", "2\n"), Some(2));
        assert_eq!(setting_value("/proc/sys/vm/overcommit_ratio", "50\n"), Some(50));
        assert_eq!(setting_value("/etc/passwd", "2\n"), None);
        let mut c = mm::Config::default();
        let mut l = Learned::default();
        l.settings.insert("/proc/sys/vm/overcommit_memory".into(), Bound { value: 2, line: 7 });
        l.settings.insert("/sys/kernel/mm/transparent_hugepage/enabled".into(), Bound { value: 0, line: 9 });
        apply_settings(&mut c, &l);
        assert_eq!((c.overcommit_memory, c.thp), (2, mm::ThpMode::Never));
        let meminfo = "MemTotal:       24683792 kB\nMemFree:  1 kB\nSwapTotal:        524284 kB\n";
        assert_eq!(meminfo_kb(meminfo, "MemTotal:"), Some(24683792));
        assert_eq!(meminfo_kb(meminfo, "SwapTotal:"), Some(524284));
        assert_eq!(meminfo_kb("MemTotal:       2468", "MemTotal:"), None, "a line cut short");
        let swaps = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/var/tmp/a.swap                         file\t\t65532\t\t0\t\t32767\n/dev/vdb partition\t1024\t0\t-2\n";
        assert_eq!(proc_swaps_kb(swaps), Some(66556));
        assert_eq!(proc_swaps_kb("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"), Some(0), "no swap");
        assert_eq!(proc_swaps_kb(&swaps[..60]), None, "a line cut short");
        assert_eq!(proc_swaps_kb("Filenam"), None);
    }
}
