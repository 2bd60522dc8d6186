//! Reads of `/proc/PID/maps` and `smaps` as a seq_file gives them. The kernel makes the text
//! at each read, one record (a mapping's line, or its smaps block) at a time: a read goes on
//! from the first mapping that ends above the last one it showed (by address, not by byte
//! offset into a text made anew, so mappings created or removed below the point read to do
//! not shift it), after the rest of a record a short read cut. A read at another offset
//! than where the last one ended (`lseek`, `pread64`) makes the text again from the start
//! up to that offset. (Behaviour measured on Linux 6.18 with tests/progs/seqfile.c.)

use super::TracePid;
use super::{FdKind, Replayer};
use mm::OpenFileId;
use trace::Syscall;

/// Where a seq_file reader is: the byte offset its next read starts at (`read_pos`), the end
/// address of the last record it showed (`None`: none yet), and how many bytes of that
/// record it has not shown yet (a read cut it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct SeqState {
    read_pos: u64,
    shown_to: Option<u64>,
    leftover: usize,
}

/// The records of a maps or smaps text, in order: (start offset, end offset, end address).
/// Made as they are asked for: a reader mostly wants the one where it stands, and reads go
/// through a text in small pieces (Chromium reads its maps 1 KiB at a time), so looking at
/// the records past it for each piece made reading a text cost the square of its length.
fn records(text: &str) -> impl Iterator<Item = (usize, usize, u64)> + '_ {
    let bytes = text.as_bytes();
    let line_end = |at: usize| memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i + 1);
    // The first header at or after `at`.
    let header_from = move |mut at: usize| {
        while at < bytes.len() {
            let end = line_end(at);
            if let Some(addr) = header_end(&bytes[at..end]) {
                return Some((at, end, addr));
            }
            at = end;
        }
        None
    };
    let mut next = header_from(0);
    std::iter::from_fn(move || {
        let (start, header_end, addr) = next?;
        // The lines up to the next header are the record's (an smaps block's fields).
        next = header_from(header_end);
        Some((start, next.map_or(bytes.len(), |n| n.0), addr))
    })
}

/// The end address of a record's header line (`START-END ...`, both hexadecimal), if
/// `line` is one. Read byte by byte: every read of a /proc text goes over all its lines.
fn header_end(line: &[u8]) -> Option<u64> {
    let range = &line[..memchr::memchr(b' ', line).unwrap_or(line.len())];
    let dash = memchr::memchr(b'-', range)?;
    procfs::parse::hex_bytes(&range[..dash])?;
    procfs::parse::hex_bytes(&range[dash + 1..])
}

/// The state of a reader that has had the first `offset` bytes of `text`.
fn state_at(text: &str, offset: u64) -> SeqState {
    let off = offset as usize;
    let mut st = SeqState { read_pos: offset, shown_to: None, leftover: 0 };
    if off == 0 {
        return st;
    }
    // The record the offset falls in, or the last one.
    let mut at = None;
    for r in records(text) {
        at = Some(r);
        if r.1 >= off {
            break;
        }
    }
    if let Some((_, end, addr)) = at {
        st.shown_to = Some(addr);
        st.leftover = end.saturating_sub(off);
    }
    st
}

/// Where in `text` a read that showed `data` began, when not at `pos`: the kernel goes on
/// from the first mapping above the last one it showed, so a read whose bytes begin with a
/// record's header began at that record, wherever the model's text puts it. The model's
/// offset can be off when it could not follow the recording's: an earlier read whose end
/// strace cut from the log, or threads that mapped and unmapped while it went on.
pub(super) fn resync(text: &str, pos: u64, data: &[u8]) -> u64 {
    let at = |o: usize| text.as_bytes().get(o..).is_some_and(|t| t.starts_with(data) || data.starts_with(t));
    if usize::try_from(pos).is_ok_and(at) {
        return pos;
    }
    // The header as shown: up to its end or strace's cut, and at least its address range.
    let header = data.split(|&b| b == b'\n').next().unwrap_or_default();
    let shown_range = header.iter().position(|&b| b == b' ').is_some_and(|i| header[..i].contains(&b'-'));
    if !shown_range {
        return pos;
    }
    let mut starts = records(text).map(|r| r.0);
    starts.find(|&o| text.as_bytes()[o..].starts_with(header)).map_or(pos, |o| o as u64)
}

/// The offset in `text` (the text now) where the reader in state `st` goes on.
fn offset_of(text: &str, st: SeqState) -> u64 {
    let Some(shown) = st.shown_to else { return 0 };
    // Records are in address order: the one shown last (if it is still there) comes right
    // before the first above it.
    let mut same = None;
    let mut next = text.len();
    for r in records(text) {
        if r.2 == shown {
            same = Some(r);
        }
        if r.2 > shown {
            next = r.0;
            break;
        }
    }
    // The rest of the record a read cut, when that record is still the same size.
    if let (true, Some((start, end, _))) = (st.leftover > 0, same) {
        if end - start >= st.leftover {
            return (end - st.leftover) as u64;
        }
    }
    next.saturating_sub(st.leftover) as u64
}

impl Replayer {
    /// The offset in the model's text now at which a read (or `pread64` at `at`) of the
    /// /proc text of descriptor `open` starts.
    pub(super) fn seq_read_start(
        &mut self,
        open: Option<OpenFileId>,
        text: Option<&str>,
        pread_at: Option<u64>,
    ) -> u64 {
        let Some(o) = open else { return pread_at.unwrap_or(0) };
        let Some(text) = text else { return pread_at.unwrap_or_else(|| self.positions.get(&o).copied().unwrap_or(0)) };
        let want = pread_at.unwrap_or_else(|| self.positions.get(&o).copied().unwrap_or(0));
        let st = self.seqs.get(&o).copied().unwrap_or_default();
        if st.read_pos != want {
            let fresh = state_at(text, want);
            self.seqs.insert(o, fresh);
            return want;
        }
        offset_of(text, st)
    }

    /// After a read of `n` bytes that started at `start` in the model's text `text`.
    pub(super) fn seq_read_done(&mut self, open: Option<OpenFileId>, text: Option<&str>, start: u64, n: u64) {
        let Some(o) = open else { return };
        let read_pos = self.seqs.get(&o).map_or(0, |s| s.read_pos) + n;
        let mut st = match text {
            Some(text) => state_at(text, start + n),
            None => SeqState::default(),
        };
        st.read_pos = read_pos;
        self.seqs.insert(o, st);
    }

    /// `lseek` of a /proc text: a new offset makes the text again up to it.
    pub(super) fn seq_lseek(&mut self, tpid: TracePid, c: &Syscall, o: OpenFileId, pos: u64) {
        let (Some(fd), Some(p)) = (c.arg_i64(0), self.procs.get(&tpid)) else { return };
        let Some(FdKind::Proc { what, target }) = self.tables[p.table].kinds.get(&(fd as i32)).cloned() else { return };
        if self.seqs.get(&o).map_or(0, |s| s.read_pos) == pos {
            return;
        }
        let st = match self.proc_text_now(what, target) {
            Some(text) => state_at(&text, pos),
            None => SeqState { read_pos: pos, ..SeqState::default() },
        };
        self.seqs.insert(o, st);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "1000-2000 r--p 0 00:00 0\n3000-4000 rw-p 0 00:00 0\n5000-6000 r-xp 0 00:00 0\n";

    #[test]
    fn a_reader_goes_on_by_address() {
        // Read 30 bytes: the first line (25) and 5 of the second.
        let st = state_at(TEXT, 30);
        assert_eq!(st, SeqState { read_pos: 30, shown_to: Some(0x4000), leftover: 20 });
        assert_eq!(offset_of(TEXT, st), 30);
        // A mapping below appears: the reader goes on with the rest of the cut line.
        let more = format!("0100-0200 r--p 0 00:00 0\n{TEXT}");
        assert_eq!(offset_of(&more, st), 30 + 25);
        // The cut line's mapping goes away: the next one follows, after what was kept.
        let fewer = "1000-2000 r--p 0 00:00 0\n5000-6000 r-xp 0 00:00 0\n";
        assert_eq!(offset_of(fewer, st), 5);
        assert_eq!(state_at(TEXT, 0), SeqState::default());
        assert_eq!(state_at(TEXT, 50), SeqState { read_pos: 50, shown_to: Some(0x4000), leftover: 0 });
    }

    #[test]
    fn record_headers_are_ranges_of_two_hexadecimal_numbers() {
        assert_eq!(header_end(b"7f00-7f10 r--p 0 00:00 0 x\n"), Some(0x7f10));
        assert_eq!(header_end(b"+7f00-+7F10\n"), None);
        assert_eq!(header_end(b"+7f00-+7F10 x"), Some(0x7f10));
        for not in [&b"Rss: 4 kB\n"[..], b"-10 x", b"10- x", b"1x-20 y", b"", b"ffffffffffffffffff-1 x"] {
            assert_eq!(header_end(not), None, "{:?}", String::from_utf8_lossy(not));
        }
        assert_eq!(header_end(b"10-20"), Some(0x20));
        assert_eq!(records("a\n1-2 x\nRss: 1\n3-4 y\n").collect::<Vec<_>>(), vec![(2, 15, 2), (15, 21, 4)]);
    }

    #[test]
    fn a_read_that_shows_a_header_began_at_that_record() {
        // Where the model's offset agrees, or the bytes do not begin with a range: kept.
        assert_eq!(resync(TEXT, 25, b"3000-4000 rw-p 0"), 25);
        assert_eq!(resync(TEXT, 25, b"00 rw-p 0 00:00 0\n"), 25);
        // A read whose bytes begin with the third line's header began there.
        assert_eq!(resync(TEXT, 25, b"5000-6000 r-xp 0"), 50);
        // A header the text does not hold: kept, and the comparison reports it.
        assert_eq!(resync(TEXT, 25, b"7000-8000 r-xp 0"), 25);
    }
}
