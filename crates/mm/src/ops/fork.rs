//! `fork(2)`: a copy of the address space that shares every page until one side writes.
//!
//! dup_mmap walks the parent's VMAs in order. DONTCOPY VMAs are left out (the child has a
//! hole); WIPEONFORK VMAs are copied without pages; mlock state is not inherited. Page tables
//! are copied only for VMAs that have anonymous pages (an anon_vma): shared and untouched file
//! mappings fault their pages in again in the child. In private writable VMAs both parent and
//! child PTEs are write-protected and the pages lose their anon-exclusive mark, so the first
//! write on either side takes a COW fault.

use crate::flags::VmFlags;
use crate::frame::{PageFlags, Pfn};
use crate::kernel::{rss_add, Kernel, Pid, RssKind, Task};
use crate::layout::*;
use crate::mm_table::MmId;
use crate::pages::PageCount;
use crate::pgtable::{self, Pte, PteFlags};
use abi::{Errno, SysResult};

impl Kernel {
    /// `fork()`: returns the child's pid. The pages and page tables the copy allocates are
    /// charged to the parent's memory cgroup, which the child joins.
    pub fn fork(&mut self, pid: Pid) -> SysResult<Pid> {
        let before = self.charging_as(pid);
        let r = self.dup_process(pid);
        self.m.frames.memcgs.charge_to = before;
        // The parent's copies of its attaches opened them (shm_lpid).
        self.shm_record_user(pid);
        r
    }

    fn dup_process(&mut self, pid: Pid) -> SysResult<Pid> {
        let pid_mm = self.mm_id(pid)?;
        let parent = self.mms[pid_mm].clone_shell();
        let roots = pgtable::pgd_alloc(&mut self.m.frames).ok_or(Errno::ENOMEM)?;
        let mut child = parent;
        child.set_roots(roots);
        let cid = self.insert_mm(child);
        let vmas: Vec<_> = self.mms[pid_mm].vmas.iter().cloned().collect();
        for v in vmas {
            if v.flags.contains(VmFlags::DONTCOPY) {
                continue;
            }
            // dup_mmap charges every accounted VMA it copies.
            if v.flags.contains(VmFlags::ACCOUNT) && !self.may_commit(pid_mm, v.pages()) {
                self.exit_mmap(cid);
                self.mms.remove(cid);
                return Err(Errno::ENOMEM);
            }
            let mut c = v.clone();
            c.flags -= VmFlags::LOCKED | VmFlags::LOCKONFAULT;
            let wipe = v.flags.contains(VmFlags::WIPEONFORK);
            c.anon_vma = if wipe || v.anon_vma.is_none() { None } else { Some(self.m.new_anon_vma(true)) };
            self.vma_link(cid, c.clone());
            let copy = !wipe && (v.anon_vma.is_some() || v.flags.intersects(VmFlags::PFNMAP | VmFlags::MIXEDMAP));
            if copy {
                let marks = self.mms[pid_mm].guards_in(v.start, v.end);
                self.mm_mut(cid).guards.extend(marks);
            }
            if copy && self.copy_page_range(pid_mm, cid, &v).is_err() {
                self.exit_mmap(cid);
                self.mms.remove(cid);
                return Err(Errno::ENOMEM);
            }
        }
        let cm = self.mm_mut(cid);
        cm.hiwater_rss = cm.rss.total();
        cm.hiwater_vm = cm.total_vm;
        let child_pid = self.alloc_pid();
        let parent_task = self.tasks[&pid].clone();
        for &o in parent_task.fds.values() {
            self.m.get_open(o);
        }
        self.tasks.insert(
            child_pid,
            Task {
                pid: child_pid,
                ppid: pid,
                mm: Some(cid),
                fds: parent_task.fds,
                cloexec: parent_task.cloexec,
                exit_code: None,
                min_flt: 0,
                maj_flt: 0,
                comm: parent_task.comm,
                limits: parent_task.limits,
                caps_dropped: parent_task.caps_dropped,
                personality: parent_task.personality,
                memcg: parent_task.memcg,
                oom_score_adj: parent_task.oom_score_adj,
                oom_score_adj_min: parent_task.oom_score_adj_min,
                killed_by: None,
            },
        );
        self.attach_mm(child_pid, cid);
        if self.m.config.paranoid {
            crate::invariants::check_kernel(self);
        }
        Ok(child_pid)
    }

    /// copy_page_range for one VMA.
    fn copy_page_range(&mut self, from: MmId, to: MmId, v: &crate::vma::Vma) -> Result<(), crate::frame::OutOfMemory> {
        let pgd = self.mms[from].pgd;
        let cow = v.is_cow();
        let shared = v.flags.contains(VmFlags::SHARED);
        let zero = self.m.frames.zero_pfn();
        let span = pgtable::leaf_span(&self.m.frames);
        let mut mapped: Vec<Pfn> = Vec::new();
        for (base, table) in pgtable::leaf_tables(&self.m.frames, pgd, v.start, v.end) {
            // Counted a table at a time (copy_pte_range's add_mm_rss_vec): a later table
            // that cannot be allocated leaves the entries already copied counted, so that
            // the teardown of the half-made child uncounts exactly them.
            let (mut anon, mut file, mut shmem, mut swap) = (0i64, 0i64, 0i64, 0u64);
            // copy_pte_range allocates the child's table for every table the parent has in
            // the range, whether or not any entry in it is copied.
            let child_pgd = self.mms[to].pgd;
            let mut new = 0;
            // Tables allocated before a failure stay in the tree: count them either way.
            let child_table = pgtable::leaf_table_alloc(&mut self.m.frames, child_pgd, v.start.max(base), &mut new);
            self.mm_mut(to).pgtable_pages += new;
            let child_table = child_table.ok_or(crate::frame::OutOfMemory)?;
            let lo = v.start.max(base);
            let hi = v.end.min(base + span);
            let (first, last) = (((lo - base) >> PAGE_SHIFT) as usize, ((hi - 1 - base) >> PAGE_SHIFT) as usize);
            // The VMA's entries of both tables are copied out at once, read and changed
            // there, and written back at once: not looked up again for each entry.
            let mut parent = self.m.frames.table(table)[first..=last].to_vec();
            let mut child = self.m.frames.table(child_table)[first..=last].to_vec();
            let (mut parent_changed, mut child_changed) = (false, false);
            for i in 0..parent.len() {
                let mut pte = Pte(parent[i]);
                if let Some((e, exclusive)) = crate::swap::SwapEntry::from_pte(pte) {
                    // copy_nonpresent_pte: both now share the slot, neither exclusively.
                    self.m.swap.dup(e);
                    if exclusive {
                        parent[i] = e.to_pte(false).0;
                        parent_changed = true;
                    }
                    child[i] = e.to_pte(false).0;
                    child_changed = true;
                    swap += 1;
                    continue;
                }
                if !pte.mapped() {
                    continue;
                }
                let pfn = pte.pfn();
                if cow && pte.writable() {
                    pte = pte.without(PteFlags::WRITABLE);
                    parent[i] = pte.0;
                    parent_changed = true;
                }
                let mut child_pte = pte.without(PteFlags::ACCESSED);
                if shared {
                    child_pte = child_pte.without(PteFlags::DIRTY);
                }
                if pfn != zero {
                    mapped.push(pfn);
                }
                child[i] = child_pte.0;
                child_changed = true;
            }
            // The frames now mapped once more, their metadata changed a chunk at a time
            // (making a shared chunk one's own is an atomic operation; a table's frames
            // are most often in one or two chunks), each counted in the child's RSS.
            let files = &self.m.files;
            self.m.frames.update_metas(mapped.drain(..), |meta| {
                match crate::machine::rss_kind_of(meta.owner, files) {
                    RssKind::Anon => anon += 1,
                    RssKind::File => file += 1,
                    RssKind::Shmem => shmem += 1,
                }
                meta.refcount += 1;
                meta.mapcount += 1;
                if cow {
                    meta.flags -= PageFlags::ANON_EXCLUSIVE;
                }
            });
            if parent_changed {
                self.m.frames.table_mut(table)[first..=last].copy_from_slice(&parent);
            }
            if child_changed {
                self.m.frames.table_mut(child_table)[first..=last].copy_from_slice(&child);
            }
            let mm = self.mm_mut(to);
            rss_add(mm, RssKind::Anon, anon);
            rss_add(mm, RssKind::File, file);
            rss_add(mm, RssKind::Shmem, shmem);
            mm.rss.swap += PageCount::new(swap);
        }
        Ok(())
    }
}

impl crate::mm::Mm {
    /// The start of a forked child's mm (dup_mm): the parent's layout on a new mm's empty
    /// VMA tree, page tables and counters ([`Mm::new`](crate::mm::Mm::new) says what those
    /// start at). A field added to `Mm` starts fresh in the child unless it is copied here.
    fn clone_shell(&self) -> crate::mm::Mm {
        crate::mm::Mm {
            space: self.space,
            mmap_base: self.mmap_base,
            mmap_legacy_base: self.mmap_legacy_base,
            legacy_layout: self.legacy_layout,
            start_brk: self.start_brk,
            brk: self.brk,
            start_stack: self.start_stack,
            start_code: self.start_code,
            end_code: self.end_code,
            start_data: self.start_data,
            end_data: self.end_data,
            arg_start: self.arg_start,
            arg_end: self.arg_end,
            env_start: self.env_start,
            env_end: self.env_end,
            thp_disabled: self.thp_disabled,
            ..crate::mm::Mm::new(crate::pgtable::RootTables::NONE, self.vmas.guard_gap(), self.mmap_base)
        }
    }
}
