//! SysV shared memory in a log (`shmget`, `shmat`, `shmdt`, `shmctl`).
//!
//! A segment's identifier comes from an allocator the whole machine shares: the log's first
//! new segment binds where it stands, and each later one is predicted. Processes outside the
//! trace may take identifiers meanwhile, which only moves the allocator forward (a higher
//! slot, or a later pass over the slots): such an identifier is accepted and counted as not
//! checkable; one the allocator could not have reached is a mismatch. The model then
//! follows the log. An attach is a mapping: placed, learned from and checked as mmap's are.
//! `IPC_STAT`'s report (decoded by strace, so its buffer's address is not shown) is checked
//! field by field against the model's segment.

use super::*;
use crate::unknowns::Bound;
use mm::sysv_shm::{slot_of, SEQ_SHIFT};

/// Why a segment identifier is not checked.
pub(super) const SHM_ID_TAKEN: &str = "SysV segment identifiers moved on by processes outside the trace";
/// Why an attach count or a detach is not checked.
pub(super) const SHM_HIDDEN: &str =
    "SysV segments, attaches and attach counts that calls the trace does not show made (a filter, or an attach)";
/// Why a segment is not checked.
pub(super) const SHM_BEFORE: &str =
    "SysV segments made before the trace (their size as a call asked or IPC_STAT said; attaches outside the trace)";

/// Whether the log says the call failed with EINVAL.
fn is_einval(ret: &Ret) -> bool {
    matches!(ret, Ret::Error { errno, .. } if errno == "EINVAL")
}

impl Replayer {
    pub(super) fn shmget(&mut self, tpid: TracePid, line: u64, c: &Syscall) {
        let pid = self.mpid(tpid);
        let Some(Call::Shmget { key, size, flags }) = self.model_call(c) else { return };
        let logged = c.ret.value().and_then(|v| u32::try_from(v).ok());
        // A segment from before the trace found under this key, while the log's segment
        // for it is another: the old one had been removed (its name keeps the key).
        let adopted = self.k.machine().shm.by_key(key as i32).map(|s| s.id).filter(|id| self.shm_adopted.contains(id));
        if let (Some(old), Some(new), true) = (adopted, logged, key != 0) {
            if old != new {
                self.adopted_shm_removed(pid, line, old);
            }
        }
        let known = key != 0 && self.k.machine().shm.by_key(key as i32).is_some();
        let creates = key == 0 || (!known && flags & IPC_CREAT != 0);
        if let (true, Some(id)) = (creates, logged) {
            self.follow_shm_id(line, id);
        }
        let mut got = self.k.dispatch(pid, &Call::Shmget { key, size, flags });
        if let (false, false, Some(id), Err(Errno::ENOENT)) = (known, creates, logged, got) {
            // The key's segment was made before the trace began: made now with the size
            // the call asked for (the real one may be larger; nothing in the log says).
            if self.k.shm_set_next_id(id).is_ok() {
                got = self.k.shmget(pid, key, size.max(1), IPC_CREAT | (flags & 0o777));
                self.unchecked(SHM_BEFORE);
            }
        }
        self.check(line, "shmget", &c.ret, got);
    }

    /// Moves the model's identifier allocator to `id`, the one the log's shmget at `line`
    /// got for a new segment: a binding for the first, a prediction checked loosely after.
    fn follow_shm_id(&mut self, line: u64, id: u32) {
        let shm = &self.k.machine().shm;
        let predicted = shm.next_id();
        if predicted == Some(id) && shm.allocated_any() {
            return;
        }
        if !shm.allocated_any() {
            self.learned.shm_ids.entry(line).or_insert(Bound { value: id, line });
        } else {
            // The allocator moves forward only: a higher slot than the last in this pass over
            // the slots, or a later pass. (Where a pass ends depends on how many segments the
            // whole machine has, which the log does not show.)
            let order = |v: u32| (v >> SEQ_SHIFT, slot_of(v));
            let last = shm.last_id();
            if last.is_some_and(|l| order(id) <= order(l)) && self.verify() {
                self.mismatch(Mismatch {
                    line,
                    call: "shmget identifier".into(),
                    expected: id.to_string(),
                    got: format!(
                        "{} (or one after {}: the allocator never goes back within a pass over its slots)",
                        predicted.unwrap_or(0),
                        last.unwrap_or(0)
                    ),
                    diff: None,
                    cause: None,
                });
            } else {
                self.unchecked(SHM_ID_TAKEN);
            }
        }
        if self.k.shm_set_next_id(id).is_err() {
            self.error(format!("line {line}: shmget returned {id}, a segment the model still has"));
        }
    }

    /// A call on segment `shmid` that the log says failed with EINVAL, where the model has
    /// the segment from before the trace and nothing attaches it: it had been removed
    /// before the trace, and went with its last attach.
    fn gone_unless_attached(&mut self, pid: Pid, line: u64, shmid: i64, ret: &Ret) {
        let Ok(id) = u32::try_from(shmid) else { return };
        let einval = is_einval(ret);
        let unattached = self.k.shm_stat(id).is_some_and(|s| s.nattch == 0);
        if einval && unattached && self.shm_adopted.contains(&id) {
            self.adopted_shm_removed(pid, line, id);
        }
    }

    /// Segment `id`, made before the trace, had been removed before it (IPC_RMID): bound
    /// at `line`, and removed in the model too.
    fn adopted_shm_removed(&mut self, pid: Pid, line: u64, id: u32) {
        self.learned.shm_removed.entry(id).or_insert(Bound { value: (), line });
        self.shm_adopted.remove(&id);
        let _ = self.k.shmctl(pid, i64::from(id), IPC_RMID, 0);
    }

    pub(super) fn shmat(&mut self, tpid: TracePid, line: u64, c: &Syscall) {
        let pid = self.mpid(tpid);
        let Some(Call::Shmat { shmid, addr, flags }) = self.model_call(c) else { return };
        let logged = c.ret.value();
        self.gone_unless_attached(pid, line, shmid, &c.ret);
        let unknown = u32::try_from(shmid).ok().and_then(|id| self.k.shm_stat(id)).is_none();
        if unknown && !is_einval(&c.ret) && self.shm_partly_seen() {
            // A segment made by a call the log does not show: its size, and so the attach
            // (or why it failed), is unknown.
            self.unchecked(SHM_HIDDEN);
            return;
        }
        // Where an attach goes without an address depends, like an mmap's, on mappings the
        // log never showed (an attached process) or on how threads' calls interleaved.
        let unknowable = if addr != 0 || logged.is_none() {
            None
        } else if self.unseen_start(tpid) {
            Some(UNSEEN_PLACEMENT)
        } else if self.threads_unordered_at(tpid) {
            Some(reorder::UNORDERED_PLACEMENT)
        } else {
            None
        };
        let (call, why) = match (unknowable, logged) {
            (Some(why), Some(r)) => (Call::Shmat { shmid, addr: r, flags: flags & !SHM_REMAP }, Some(why)),
            _ => (Call::Shmat { shmid, addr, flags }, None),
        };
        let got = self.k.dispatch(pid, &call);
        self.learn_from_result(tpid, line, c, (0, 0), &got);
        if let Ok(a) = got {
            if let Ok(id) = self.k.mm_id(pid) {
                if self.started.contains(&id) {
                    let size = self.k.machine().shm.get(shmid).map_or(0, |s| s.segsz);
                    self.created.entry(id).or_default().push((a, a.saturating_add(size)));
                }
            }
        }
        match why {
            Some(why) if got.ok() == logged => self.unchecked(why),
            _ => self.check(line, "shmat", &c.ret, got),
        }
    }

    pub(super) fn shmctl(&mut self, tpid: TracePid, line: u64, c: &Syscall) {
        let pid = self.mpid(tpid);
        self.gone_unless_attached(pid, line, c.arg_i64(0).unwrap_or(-1), &c.ret);
        if let Some(call) = self.model_call(c) {
            let got = self.k.dispatch(pid, &call);
            if !self.decided_by_hidden_calls(&c.ret, &got) {
                self.check(line, "shmctl", &c.ret, got);
            }
            return;
        }
        // IPC_STAT with the structure strace read back: the call's result, then what the
        // structure says of the segment.
        let cmd = self.flag_arg(c, 1) & !IPC_64;
        let shmid = c.arg_i64(0).unwrap_or(-1);
        let stat = u32::try_from(shmid).ok().and_then(|id| self.k.shm_stat(id));
        if cmd != IPC_STAT {
            return;
        }
        let got = match stat {
            Some(_) => Ok(0),
            None => Err(Errno::EINVAL),
        };
        if self.decided_by_hidden_calls(&c.ret, &got) {
            return;
        }
        self.check(line, "shmctl", &c.ret, got);
        let (Some(s), Some(buf), Ret::Value(_)) = (stat, c.arg(2), &c.ret) else { return };
        if self.shm_adopted.contains(&(shmid as u32)) {
            // A segment from before the trace: its size is learned here (its mappings showed
            // only how far they reach), and untraced processes may hold attaches of it.
            if let Some(size) = buf.field("shm_segsz").and_then(Arg::as_u64) {
                if size >= s.segsz {
                    let _ = self.k.shm_adopt(s.key, shmid as u32, size);
                    self.unchecked(SHM_BEFORE);
                    return;
                }
            }
        }
        // shm_perm's mode (SHM_DEST and SHM_LOCKED above the permission bits) and key (0 once
        // removed); the pids and times are the recording's own.
        let perm = buf.field("shm_perm");
        let perm_field = |name: &str| perm.and_then(|p| p.field(name)).and_then(|v| v.flags_value());
        let fields = [
            ("shm_segsz", buf.field("shm_segsz").and_then(Arg::as_u64), s.segsz),
            ("shm_nattch", buf.field("shm_nattch").and_then(Arg::as_u64), s.nattch),
            ("shm_perm.mode", perm_field("mode"), u64::from(s.mode)),
            ("shm_perm.key", perm_field("key").map(|k| u64::from(k as u32)), u64::from(s.key as u32)),
        ];
        for (name, want, have) in fields {
            let Some(want) = want else { continue };
            if name == "shm_nattch" && self.shm_partly_seen() {
                // Calls a filter hid (forks, mprotects that cut attaches) change the count.
                self.unchecked(SHM_HIDDEN);
                continue;
            }
            self.check(line, &format!("shmctl IPC_STAT {name}"), &Ret::Value(want), Ok(have));
        }
    }

    /// Whether calls the log does not show may have changed the SysV state: a filter hid
    /// some, or the trace attached to processes that had attaches before it.
    fn shm_partly_seen(&self) -> bool {
        self.hidden.calls_hidden || self.attach_log
    }

    /// Whether the model's result `got` differs from the log's `ret` where calls the log
    /// does not show may have decided it (see [`Self::shm_partly_seen`]): then counted as
    /// not checkable.
    fn decided_by_hidden_calls(&mut self, ret: &Ret, got: &SysResult<u64>) -> bool {
        let hidden = got.ok() != ret.value() && self.shm_partly_seen();
        if hidden {
            self.unchecked(SHM_HIDDEN);
        }
        hidden
    }

    pub(super) fn shmdt(&mut self, tpid: TracePid, line: u64, c: &Syscall) {
        let pid = self.mpid(tpid);
        let got = self.apply(pid, c);
        // The attach may come from calls a filter hid (a fork, an mremap).
        if !self.decided_by_hidden_calls(&c.ret, &got) {
            self.check_unless_unordered(tpid, line, "shmdt", c, got);
        }
    }
}
