//! A main-thread stack grown by the program's own stores.
//!
//! A process grows its `[stack]` VMA by touching memory below it: every deep call chain
//! and `alloca` does, and some runtimes reach their whole stack limit at start (Ruby's
//! `reserve_stack` writes a byte near the bottom so that no mapping takes that room). No
//! system call shows it, so the model's stack stays as small as the calls made it. When a
//! maps read shows the stack (the same end) starting lower than the model's, the replay
//! does the store that grew it, as the program's, before comparing: the growth is checked
//! by the kernel's rules (the limit, the guard gap, the room below), and a start those
//! rules refuse stays a mismatch. The read binds where the stack had reached, and decides
//! nothing before it.

use super::*;
use mm::VmFlags;

impl Replayer {
    /// Grows `target`'s stack down to where the maps lines in `data` (a read at offset
    /// `log_pos` of the log's text) show it starting, if they show it lower than the model.
    pub(super) fn learn_stack_growth(&mut self, target: TracePid, line: u64, log_pos: u64, data: &[u8]) {
        let Some(pid) = self.procs.get(&target).map(|p| p.pid) else { return };
        let text = String::from_utf8_lossy(data);
        // Whole lines only: a read that did not begin the text may begin inside a line.
        let skip_first = log_pos != 0;
        let whole = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        let shown = whole
            .lines()
            .skip(usize::from(skip_first))
            .filter(|l| l.ends_with(" [stack]"))
            .find_map(procfs::parse::parse_maps_line);
        let Some(shown) = shown else { return };
        let Ok(mm) = self.k.mm(pid) else { return };
        let Some(stack) = mm.vmas.find(mm.start_stack).filter(|v| v.contains(mm.start_stack)) else { return };
        if !stack.flags.contains(VmFlags::GROWSDOWN) || shown.end != stack.end || shown.start >= stack.start {
            return;
        }
        // A store of a zero byte: the page's contents are the program's, which nothing shows.
        if self.k.store(pid, shown.start, &[0]).is_err() {
            return;
        }
        let grown = self.k.mm(pid).ok().and_then(|m| m.vmas.find(shown.end - 1).map(|v| v.start));
        if grown == Some(shown.start) {
            self.learned.stack_grown_seen.push(Bound { value: (target.0, shown.start), line });
        }
    }
}
