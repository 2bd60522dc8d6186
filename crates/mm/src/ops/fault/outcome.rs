//! What goes into the fault handler and what comes out of it.
//!
//! [`FaultInfo`] is the fault as the handler sees it once the VMA is known (Linux's
//! `struct vm_fault`): the address space, the task, the VMA, the address and the access.
//! Every path that resolves the fault answers with a [`FaultOutcome`]: whether it had to
//! wait for the disk (major) or not (minor), what it mapped ([`Mapped`]) and how the
//! process's RSS counters moved ([`RssDelta`]). The handler's entry point turns the outcome
//! into the fault counters and the event log, so no path keeps a side flag for them.

use crate::accounting::RssKind;
use crate::event::EventKind;
use crate::kernel::{Access, Pid};
use crate::mm_table::MmId;
use crate::pages::PageCount;
use crate::vma::Vma;

/// A fault the handler is resolving (`struct vm_fault`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FaultInfo<'a> {
    /// The faulting address space.
    pub id: MmId,
    /// The faulting task.
    pub pid: Pid,
    /// The VMA holding the address (after any stack growth).
    pub vma: &'a Vma,
    /// The faulting address.
    pub addr: u64,
    /// Its page.
    pub va: u64,
    /// What the access wanted.
    pub access: Access,
}

impl FaultInfo<'_> {
    /// Whether the access is a store.
    pub fn write(&self) -> bool {
        self.access == Access::Write
    }
}

/// What a resolved fault mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mapped {
    /// A new zeroed anonymous page, writable (do_anonymous_page on a write).
    AnonPage,
    /// The shared zero page, read-only (do_anonymous_page on a read).
    ZeroPage,
    /// Page-cache pages of a file or shmem object, the faulting one and those fault-around
    /// mapped with it (do_read_fault); `around` counts them all.
    FilePages {
        /// Pages mapped in all.
        around: u64,
    },
    /// A shmem page allocated on first touch of a read fault.
    ShmemPage,
    /// A private copy of a file page (do_cow_fault).
    CowFile,
    /// The page-cache page of a shared mapping, made writable and dirty (do_shared_fault,
    /// or do_wp_page on a shared mapping).
    SharedWrite,
    /// A new anonymous copy of a shared page (wp_page_copy).
    CowCopy,
    /// The same page made writable, nobody else seeing it (wp_page_reuse).
    CowReuse,
    /// A new zeroed page in place of the zero page (wp_page_copy of the zero page).
    ZeroCow,
    /// A page brought back from swap (do_swap_page).
    SwapIn {
        /// The device.
        swap_type: u8,
        /// The slot.
        offset: u64,
    },
    /// A page of a special mapping (the vDSO code).
    Special,
    /// Nothing new: the entry was already there and only its accessed/dirty bits were set
    /// (a spurious fault).
    Spurious,
}

/// How a fault moved the process's RSS counters (pages; MM_SWAPENTS included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RssDelta {
    /// MM_ANONPAGES.
    pub anon: i64,
    /// MM_FILEPAGES.
    pub file: i64,
    /// MM_SHMEMPAGES.
    pub shmem: i64,
    /// MM_SWAPENTS.
    pub swap: i64,
}

impl RssDelta {
    /// `pages` more of `kind`.
    pub fn add(&mut self, kind: RssKind, pages: i64) {
        match kind {
            RssKind::Anon => self.anon += pages,
            RssKind::File => self.file += pages,
            RssKind::Shmem => self.shmem += pages,
        }
    }

    /// One page more of `kind`.
    pub fn one(kind: RssKind) -> Self {
        let mut d = RssDelta::default();
        d.add(kind, 1);
        d
    }

    /// Both changes, one after the other.
    pub fn plus(self, other: RssDelta) -> Self {
        RssDelta {
            anon: self.anon + other.anon,
            file: self.file + other.file,
            shmem: self.shmem + other.shmem,
            swap: self.swap + other.swap,
        }
    }

    /// The change from `before` to `after`.
    pub fn between(before: &crate::mm::Rss, after: &crate::mm::Rss) -> Self {
        let diff = |a: PageCount, b: PageCount| b.as_u64().wrapping_sub(a.as_u64()) as i64;
        RssDelta {
            anon: diff(before.anon, after.anon),
            file: diff(before.file, after.file),
            shmem: diff(before.shmem, after.shmem),
            swap: diff(before.swap, after.swap),
        }
    }
}

/// What a fault did: the handler's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FaultOutcome {
    /// The fault waited for a page to be read from a file or a swap device.
    pub major: bool,
    /// What it mapped.
    pub mapped: Mapped,
    /// What a second step of the same fault did: a write to a page just swapped in that
    /// others may still see goes on to the write-protect fault (copy or reuse).
    pub then: Option<Mapped>,
    /// How the RSS counters moved.
    pub rss: RssDelta,
}

impl FaultOutcome {
    /// A minor fault that mapped `mapped` and moved the counters by `rss`.
    pub fn minor(mapped: Mapped, rss: RssDelta) -> Self {
        FaultOutcome { major: false, mapped, then: None, rss }
    }

    /// A fault `major` or not that mapped `mapped` and moved the counters by `rss`.
    pub fn new(major: bool, mapped: Mapped, rss: RssDelta) -> Self {
        FaultOutcome { major, mapped, then: None, rss }
    }

    /// This step followed by `next` (whose own second step, if any, is dropped: a fault has
    /// at most two).
    pub fn followed_by(self, next: FaultOutcome) -> Self {
        FaultOutcome {
            major: self.major || next.major,
            mapped: self.mapped,
            then: Some(next.mapped),
            rss: self.rss.plus(next.rss),
        }
    }

    /// The events the fault logs, in order (a spurious or special-mapping step logs none).
    pub fn events(&self) -> impl Iterator<Item = EventKind> {
        let major = self.major;
        let event = move |m: Mapped| match m {
            Mapped::AnonPage => Some(EventKind::AnonPage),
            Mapped::ZeroPage => Some(EventKind::ZeroPage),
            Mapped::FilePages { around } => Some(EventKind::FileRead { around }),
            Mapped::ShmemPage => Some(EventKind::ShmemPage),
            Mapped::CowFile => Some(EventKind::CowFile),
            Mapped::SharedWrite => Some(EventKind::SharedWrite),
            Mapped::CowCopy => Some(EventKind::CowCopy),
            Mapped::CowReuse => Some(EventKind::CowReuse),
            Mapped::ZeroCow => Some(EventKind::ZeroCow),
            Mapped::SwapIn { swap_type, offset } => Some(EventKind::SwapIn { swap_type, offset, major }),
            Mapped::Special | Mapped::Spurious => None,
        };
        event(self.mapped).into_iter().chain(self.then.and_then(event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_swap_in_then_a_copy_logs_both_in_order() {
        let swap_in = FaultOutcome::new(true, Mapped::SwapIn { swap_type: 0, offset: 7 }, RssDelta::one(RssKind::Anon));
        let o = swap_in.followed_by(FaultOutcome::minor(Mapped::CowCopy, RssDelta::default()));
        assert_eq!(o.rss.anon, 1);
        let events: Vec<EventKind> = o.events().collect();
        assert_eq!(events, [EventKind::SwapIn { swap_type: 0, offset: 7, major: true }, EventKind::CowCopy]);
    }

    #[test]
    fn spurious_and_special_faults_log_nothing() {
        for mapped in [Mapped::Spurious, Mapped::Special] {
            assert_eq!(FaultOutcome::minor(mapped, RssDelta::default()).events().count(), 0);
        }
    }

    #[test]
    fn rss_delta_between_counts_drops_as_negative() {
        let before = crate::mm::Rss {
            anon: PageCount::new(3),
            file: PageCount::new(5),
            shmem: PageCount::ZERO,
            swap: PageCount::new(2),
        };
        let after = crate::mm::Rss {
            anon: PageCount::new(4),
            file: PageCount::new(5),
            shmem: PageCount::ZERO,
            swap: PageCount::new(1),
        };
        let d = RssDelta::between(&before, &after);
        assert_eq!(d, RssDelta { anon: 1, file: 0, shmem: 0, swap: -1 });
    }
}
