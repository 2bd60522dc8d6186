//! `ShownCalls`: which of the calls that make or move mappings a log shows at least once.
//! A filter (`strace -e trace=...`) hides calls by name, every call of a name or none, so a
//! name the whole log never shows may be one a filter hid; a name it shows once, it shows
//! every time. The replay uses this to tell a log that hides the calls behind a mapping
//! (`-e trace=!mmap`) from one that contradicts itself.

/// The calls of interest a log shows, as a set of bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShownCalls(u8);

/// A call that makes, moves or removes mappings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapCall {
    /// `mmap` or `mmap2`.
    Mmap,
    /// `mremap`.
    Mremap,
    /// `munmap`.
    Munmap,
    /// `shmat`.
    Shmat,
    /// Another call of strace's `%memory` class that changes mappings in place (`brk`,
    /// `mprotect`, `madvise`, ...): a log that shows one was most likely filtered by that
    /// class, if at all, which shows `mremap` too.
    OtherMemory,
}

impl MapCall {
    fn of(name: &[u8]) -> Option<MapCall> {
        Some(match name {
            b"mmap" | b"mmap2" => MapCall::Mmap,
            b"mremap" => MapCall::Mremap,
            b"munmap" => MapCall::Munmap,
            b"shmat" => MapCall::Shmat,
            b"brk" | b"mprotect" | b"pkey_mprotect" | b"madvise" | b"mlock" | b"mlock2" | b"munlock" | b"msync"
            | b"mincore" => MapCall::OtherMemory,
            _ => return None,
        })
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl ShownCalls {
    /// Notes a call of `name` in the log.
    pub fn saw(&mut self, name: &[u8]) {
        if let Some(c) = MapCall::of(name) {
            self.0 |= c.bit();
        }
    }

    /// Whether the log shows `call` at least once.
    pub fn shows(self, call: MapCall) -> bool {
        self.0 & call.bit() != 0
    }

    /// Whether a filter may have hidden every `mremap`: the log shows none, nor any other
    /// call of the `%memory` class but mmap and munmap (`-e trace=mmap,munmap`).
    pub fn mremap_may_be_hidden(self) -> bool {
        !self.shows(MapCall::Mremap) && !self.shows(MapCall::OtherMemory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_counts_once_seen() {
        let mut s = ShownCalls::default();
        assert!(!s.shows(MapCall::Mmap));
        s.saw(b"openat");
        s.saw(b"mmap2");
        assert!(s.shows(MapCall::Mmap));
        assert!(!s.shows(MapCall::Mremap) && !s.shows(MapCall::Munmap));
        s.saw(b"munmap");
        assert!(s.shows(MapCall::Munmap));
        assert!(s.mremap_may_be_hidden());
        s.saw(b"brk");
        assert!(!s.mremap_may_be_hidden(), "a %memory filter shows mremap");
    }
}
