//! The system-wide event log: every fault and what the kernel did about it, in the kernel's
//! own words.

use std::collections::VecDeque;
use std::fmt;

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// Anonymous write fault on an empty PTE: a new zeroed page (do_anonymous_page).
    AnonPage,
    /// Anonymous read fault: the shared zero page mapped read-only.
    ZeroPage,
    /// A read fault on a file mapping; `around` pages mapped in total by fault-around.
    FileRead {
        /// Pages mapped, the faulting one included.
        around: u64,
    },
    /// A shmem page allocated on first touch of shared anonymous memory.
    ShmemPage,
    /// A write to a private file mapping copied the file page (do_cow_fault).
    CowFile,
    /// A write-protect fault copied a shared page (wp_page_copy).
    CowCopy,
    /// A write-protect fault found the page exclusive and reused it (wp_page_reuse).
    CowReuse,
    /// A write to the zero page: replaced by a new zeroed page.
    ZeroCow,
    /// A write fault on a shared mapping: the page-cache page made writable and dirty.
    SharedWrite,
    /// The stack VMA grew down to the faulting page.
    StackGrow {
        /// New start of the stack VMA.
        new_start: u64,
    },
    /// SIGSEGV with SEGV_MAPERR: no mapping.
    SegvMaperr,
    /// SIGSEGV with SEGV_ACCERR: the mapping forbids the access.
    SegvAccerr,
    /// SIGBUS with BUS_ADRERR: page beyond the end of the file.
    Sigbus,
    /// A kernel copy (copy_to_user / copy_from_user) failed: EFAULT.
    Efault,
    /// No memory left for a page, and no task the OOM killer could kill.
    Oom,
    /// The OOM killer killed `victim` to free memory (out_of_memory).
    OomKill {
        /// The task killed.
        victim: u32,
    },
    /// Reclaim gave an anonymous page a swap slot and put it in the swap cache
    /// (add_to_swap).
    AddToSwap {
        /// The device.
        swap_type: u8,
        /// The slot.
        offset: u64,
    },
    /// A dirty swap-cache page was written to its slot (pageout, swap_writepage).
    SwapWrite {
        /// The device.
        swap_type: u8,
        /// The slot.
        offset: u64,
    },
    /// A clean swap-cache page nothing maps was freed (shrink_folio_list,
    /// __remove_mapping).
    SwapCacheFreed {
        /// The device.
        swap_type: u8,
        /// The slot.
        offset: u64,
    },
    /// A fault on a swap PTE mapped the page back (do_swap_page).
    SwapIn {
        /// The device.
        swap_type: u8,
        /// The slot.
        offset: u64,
        /// The page had to be read from the device (not found in the swap cache).
        major: bool,
    },
    /// swapoff mapped a swapped-out page back (unuse_pte).
    Unuse {
        /// The device.
        swap_type: u8,
        /// The slot.
        offset: u64,
    },
    /// A reclaim run ended.
    Reclaim {
        /// Who ran it.
        run: ReclaimRun,
        /// Inactive pages scanned.
        scanned: u64,
        /// Frames freed.
        freed: u64,
    },
    /// Reclaim discarded a lazily freed page nobody wrote since MADV_FREE.
    LazyFreeDiscarded,
    /// Reclaim wrote a dirty page of a file back before evicting it.
    FileWriteback {
        /// The file's inode number.
        ino: u64,
        /// The page's index in the file.
        index: u64,
    },
    /// Reclaim dropped a clean page of a file from the page cache.
    FileEvicted {
        /// The file's inode number.
        ino: u64,
        /// The page's index in the file.
        index: u64,
    },
    /// Reclaim dropped a shmem page never written (all zeros) from its object instead of
    /// swapping it.
    ShmemDropped {
        /// The object's inode number.
        ino: u64,
        /// The page's index in the file.
        index: u64,
    },
}

/// Which reclaim an [`EventKind::Reclaim`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReclaimRun {
    /// kswapd, woken below the low watermark.
    Kswapd,
    /// Direct reclaim by a task whose allocation failed.
    Direct,
    /// Reclaim inside the memory cgroup with this id, at its limit or above `memory.high`.
    Memcg(u16),
}

/// One logged event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Sequence number.
    pub seq: u64,
    /// The task.
    pub pid: u32,
    /// Faulting address.
    pub addr: u64,
    /// Write access.
    pub write: bool,
    /// What happened.
    pub kind: EventKind,
}

impl EventKind {
    /// The kind's name without its data (`"FileRead"`, `"SwapIn"`), the key tools group
    /// events by.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::AnonPage => "AnonPage",
            EventKind::ZeroPage => "ZeroPage",
            EventKind::FileRead { .. } => "FileRead",
            EventKind::ShmemPage => "ShmemPage",
            EventKind::CowFile => "CowFile",
            EventKind::CowCopy => "CowCopy",
            EventKind::CowReuse => "CowReuse",
            EventKind::ZeroCow => "ZeroCow",
            EventKind::SharedWrite => "SharedWrite",
            EventKind::StackGrow { .. } => "StackGrow",
            EventKind::SegvMaperr => "SegvMaperr",
            EventKind::SegvAccerr => "SegvAccerr",
            EventKind::Sigbus => "Sigbus",
            EventKind::Efault => "Efault",
            EventKind::Oom => "Oom",
            EventKind::OomKill { .. } => "OomKill",
            EventKind::AddToSwap { .. } => "AddToSwap",
            EventKind::SwapWrite { .. } => "SwapWrite",
            EventKind::SwapCacheFreed { .. } => "SwapCacheFreed",
            EventKind::SwapIn { .. } => "SwapIn",
            EventKind::Unuse { .. } => "Unuse",
            EventKind::Reclaim { .. } => "Reclaim",
            EventKind::LazyFreeDiscarded => "LazyFreeDiscarded",
            EventKind::FileWriteback { .. } => "FileWriteback",
            EventKind::FileEvicted { .. } => "FileEvicted",
            EventKind::ShmemDropped { .. } => "ShmemDropped",
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rw = if self.write { "write" } else { "read" };
        write!(f, "#{} pid {} {rw} {:#x}: {}", self.seq, self.pid, self.addr, self.kind)
    }
}

/// What the kernel did, in its own words (the part of an [`Event`]'s line after the task
/// and the address).
impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventKind::AnonPage => write!(f, "anonymous page: new zeroed page mapped (do_anonymous_page)"),
            EventKind::ZeroPage => write!(f, "zero page mapped read-only (do_anonymous_page, read)"),
            EventKind::FileRead { around } => {
                write!(f, "read fault on file page, fault-around mapped {around} page(s) (do_read_fault)")
            }
            EventKind::ShmemPage => write!(f, "shmem page allocated and mapped (shmem_fault)"),
            EventKind::CowFile => write!(f, "write to private file mapping: page copied (do_cow_fault)"),
            EventKind::CowCopy => write!(f, "COW copy: page shared, copied for this process (wp_page_copy)"),
            EventKind::CowReuse => write!(f, "COW reuse: page exclusive, made writable in place (wp_page_reuse)"),
            EventKind::ZeroCow => write!(f, "write to zero page: new zeroed page (wp_page_copy)"),
            EventKind::SharedWrite => {
                write!(f, "shared write: page-cache page made writable and dirty (do_shared_fault)")
            }
            EventKind::StackGrow { new_start } => write!(f, "stack grew down to {new_start:#x} (expand_downwards)"),
            EventKind::SegvMaperr => write!(f, "SIGSEGV SEGV_MAPERR: address not mapped"),
            EventKind::SegvAccerr => write!(f, "SIGSEGV SEGV_ACCERR: access not permitted by the mapping"),
            EventKind::Sigbus => write!(f, "SIGBUS BUS_ADRERR: page beyond end of file"),
            EventKind::Efault => write!(f, "kernel copy failed: EFAULT"),
            EventKind::Oom => write!(f, "out of memory: no free frame and no task to kill (out_of_memory)"),
            EventKind::OomKill { victim } => {
                write!(f, "out of memory: killed process {victim} to free its memory (out_of_memory, oom_kill_process)")
            }
            EventKind::AddToSwap { swap_type, offset } => {
                write!(f, "page given swap slot {swap_type}:{offset} and added to the swap cache (add_to_swap)")
            }
            EventKind::SwapWrite { swap_type, offset } => {
                write!(f, "page unmapped and written to swap slot {swap_type}:{offset} (shrink_folio_list, pageout)")
            }
            EventKind::SwapCacheFreed { swap_type, offset } => {
                write!(f, "clean swap-cache page of slot {swap_type}:{offset} freed (shrink_folio_list)")
            }
            EventKind::SwapIn { swap_type, offset, major: true } => {
                write!(f, "major fault: page read back from swap slot {swap_type}:{offset} (do_swap_page)")
            }
            EventKind::SwapIn { swap_type, offset, major: false } => {
                write!(f, "minor fault: swap slot {swap_type}:{offset} found in the swap cache (do_swap_page)")
            }
            EventKind::Unuse { swap_type, offset } => {
                write!(f, "swapoff: page of swap slot {swap_type}:{offset} mapped back (unuse_pte)")
            }
            EventKind::Reclaim { run, scanned, freed } => {
                let (who, func) = match run {
                    ReclaimRun::Kswapd => ("kswapd woke below the low watermark".to_string(), "balance_pgdat"),
                    ReclaimRun::Direct => ("direct reclaim: no free frame".to_string(), "try_to_free_pages"),
                    ReclaimRun::Memcg(g) => (format!("memory cgroup {g} at its limit"), "try_to_free_mem_cgroup_pages"),
                };
                write!(f, "{who}: scanned {scanned} inactive page(s), freed {freed} ({func}, shrink_folio_list)")
            }
            EventKind::LazyFreeDiscarded => {
                write!(f, "lazily freed page still clean: discarded, not swapped (shrink_folio_list)")
            }
            EventKind::FileWriteback { ino, index } => {
                write!(f, "dirty page {index} of inode {ino} written back before eviction (shrink_folio_list, pageout)")
            }
            EventKind::FileEvicted { ino, index } => {
                write!(f, "clean page {index} of inode {ino} dropped from the page cache (shrink_folio_list, __remove_mapping)")
            }
            EventKind::ShmemDropped { ino, index } => {
                write!(f, "clean shmem page {index} of inode {ino} dropped, not swapped: it reads back as zeros (shrink_folio_list, __remove_mapping)")
            }
        }
    }
}

/// A bounded log of events (the oldest are dropped past the capacity).
#[derive(Clone, Debug)]
pub struct EventLog {
    events: VecDeque<Event>,
    capacity: usize,
    next_seq: u64,
}

impl EventLog {
    /// A log keeping at most `capacity` events.
    pub fn new(capacity: usize) -> Self {
        EventLog { events: VecDeque::new(), capacity, next_seq: 1 }
    }

    /// Appends an event.
    pub fn push(&mut self, pid: u32, addr: u64, write: bool, kind: EventKind) {
        if self.capacity == 0 {
            self.next_seq += 1;
            return;
        }
        if self.events.len() == self.capacity {
            self.events.pop_front();
        }
        self.events.push_back(Event { seq: self.next_seq, pid, addr, write, kind });
        self.next_seq += 1;
    }

    /// Appends `count` events of the same kind at `addr`, `addr + 4096`, ... (one a page,
    /// as a run of faults logs them), making only those the log keeps.
    pub fn push_run(&mut self, pid: u32, addr: u64, count: u64, write: bool, kind: EventKind) {
        let kept = count.min(self.capacity as u64);
        self.next_seq += count - kept;
        for i in count - kept..count {
            self.push(pid, addr + i * crate::layout::PAGE_SIZE, write, kind.clone());
        }
    }

    /// Events in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Event> + '_ {
        self.events.iter()
    }

    /// Events with sequence numbers at or after `seq`.
    pub fn since(&self, seq: u64) -> impl Iterator<Item = &Event> + '_ {
        self.events.iter().filter(move |e| e.seq >= seq)
    }

    /// The sequence number the next event will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tools keyed events by the variant's name before `name` existed: it must stay that.
    #[test]
    fn kind_name_is_the_variant_name() {
        let kinds = [
            EventKind::AnonPage,
            EventKind::ZeroPage,
            EventKind::FileRead { around: 16 },
            EventKind::ShmemPage,
            EventKind::CowFile,
            EventKind::CowCopy,
            EventKind::CowReuse,
            EventKind::ZeroCow,
            EventKind::SharedWrite,
            EventKind::StackGrow { new_start: 0x7ffd_0000_0000 },
            EventKind::SegvMaperr,
            EventKind::SegvAccerr,
            EventKind::Sigbus,
            EventKind::Efault,
            EventKind::Oom,
            EventKind::OomKill { victim: 7 },
            EventKind::AddToSwap { swap_type: 0, offset: 1 },
            EventKind::SwapWrite { swap_type: 0, offset: 1 },
            EventKind::SwapCacheFreed { swap_type: 0, offset: 1 },
            EventKind::SwapIn { swap_type: 0, offset: 1, major: true },
            EventKind::Unuse { swap_type: 0, offset: 1 },
            EventKind::Reclaim { run: ReclaimRun::Memcg(3), scanned: 4, freed: 2 },
            EventKind::LazyFreeDiscarded,
            EventKind::FileWriteback { ino: 9, index: 1 },
            EventKind::FileEvicted { ino: 9, index: 1 },
            EventKind::ShmemDropped { ino: 9, index: 1 },
        ];
        for kind in kinds {
            let debug = format!("{kind:?}");
            assert_eq!(kind.name(), debug.split([' ', '{']).next().unwrap(), "{debug}");
        }
    }

    #[test]
    fn event_line_is_the_task_the_address_then_the_kind() {
        let e = Event { seq: 3, pid: 100, addr: 0x1000, write: true, kind: EventKind::CowCopy };
        assert_eq!(e.to_string(), format!("#3 pid 100 write 0x1000: {}", e.kind));
    }
}
