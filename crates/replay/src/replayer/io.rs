//! Reads and writes: results checked against the model's copies to and from user memory
//! (EFAULT where the buffer is not mapped, pipes in page-sized pieces), and the raw buffers
//! a `-e read=`/`-e write=` log dumps after its read and write lines.

use super::*;

/// The most one read or write transfers (Linux's MAX_RW_COUNT): a larger result cannot be
/// in a real log.
pub(super) const MAX_RW_COUNT: u64 = 0x7fff_f000;

/// The piece in which bytes a log does not show (counted, not dumped) are written to the
/// model and compared, so that no host buffer is as large as a count in the log.
pub(super) const IO_PIECE: u64 = 1 << 16;

/// A raw read of at most this many bytes hands its bytes, zero-padded to the count read, to
/// the `/proc` read check; a larger one, only the bytes dumped.
pub(super) const MAX_PADDED_READ: u64 = 1 << 24;

impl Replayer {
    /// A line of a `-e read=`/`-e write=` dump of the buffer of the raw read or write before
    /// it. strace prints the buffer's bytes in order, at most the call's count: anything else
    /// is not a dump of that call.
    pub(super) fn dump_line(&mut self, line: u64, offset: u64, bytes: &[u8]) {
        let Some(io) = &mut self.raw_io else { return };
        let count = io.call.arg_u64(2).unwrap_or(0).min(MAX_RW_COUNT);
        let next = io.bytes.len() as u64;
        let problem = if offset > next {
            Some(format!("dump offset {offset:#x} leaves a gap after the {next:#x} bytes dumped so far"))
        } else if offset.saturating_add(bytes.len() as u64) > count {
            Some(format!("dump offset {offset:#x} goes beyond the buffer of {count} bytes"))
        } else {
            None
        };
        if let Some(problem) = problem {
            let msg = format!("{problem} of the {} on line {}", io.call.name, io.line);
            self.raw_io = None;
            return self.error_at(line, 1, msg);
        }
        let at = offset as usize;
        let end = at + bytes.len();
        if io.bytes.len() < end {
            io.bytes.resize(end, 0);
        }
        io.bytes[at..end].copy_from_slice(bytes);
    }

    /// The byte count a read or write returned, when it is one the kernel can return (at most
    /// the count asked for, and at most MAX_RW_COUNT); otherwise an error, and None.
    pub(super) fn io_result(&mut self, line: u64, c: &Syscall) -> Option<u64> {
        let n = c.ret.value()?;
        let count = c.arg_u64(2).unwrap_or(0);
        if n > count || n > MAX_RW_COUNT {
            let most = count.min(MAX_RW_COUNT);
            self.error_at(line, 1, format!("{} returned {n}, more than the {most} bytes it can transfer", c.name));
            return None;
        }
        Some(n)
    }

    /// The check of a read or write that failed with EFAULT: the kernel checked the whole
    /// buffer with access_ok first, then copied (a pipe a page-sized piece at a time); the
    /// model must fault at the same point. Returns the model's result.
    pub(super) fn efault_copy(&mut self, pid: Pid, reading: bool, pipe: bool, buf: u64, len: u64) -> SysResult<u64> {
        if !mm::access_ok(buf, len) {
            return Err(Errno::EFAULT);
        }
        let len = len.clamp(1, 4096);
        match (reading, pipe) {
            (true, true) => self.k.pipe_copy_to_user(pid, buf, &vec![0; len as usize]),
            (true, false) => self.k.copy_to_user(pid, buf, &vec![0; len as usize]),
            (false, true) => self.k.pipe_copy_from_user(pid, buf, len).map(|b| b.len() as u64),
            (false, false) => self.k.copy_from_user(pid, buf, len).map(|b| b.len() as u64),
        }
    }

    /// Whether `buf` lies in a VMA the process can access but that lacks VM_READ, so that
    /// the tracer's process_vm_readv cannot read it while the kernel's own copy can.
    pub(super) fn unreadable_for_tracer(&self, pid: Pid, buf: u64) -> bool {
        let Ok(mm) = self.k.mm(pid) else { return false };
        mm.vmas.containing(buf).is_some_and(|v| {
            !v.flags.contains(mm::VmFlags::READ) && v.flags.intersects(mm::VmFlags::WRITE | mm::VmFlags::EXEC)
        })
    }

    /// Completes `data`, the bytes a read of `n` bytes dumped, from the model's copy of the
    /// regular file it read (at its offset: pread64's, or the descriptor's position), when
    /// the dump showed fewer (strace cannot read a buffer whose mapping lacks PROT_READ),
    /// for reads up to [`MAX_PADDED_READ`] bytes.
    fn fill_from_file(&mut self, tpid: TracePid, c: &Syscall, data: &mut Vec<u8>, n: u64) {
        if data.len() as u64 >= n || n > MAX_PADDED_READ {
            return;
        }
        let Some(fd) = c.arg_u64(0) else { return };
        let table = self.procs[&tpid].table;
        let Some(FdKind::File(file)) = self.tables[table].kinds.get(&(fd as i32)).cloned() else { return };
        let pid = self.mpid(tpid);
        let Some(o) = self.k.fd_description(pid, fd as i32) else { return };
        let offset = match c.name.as_ref() {
            "pread64" => c.arg_u64(3),
            "read" => Some(self.positions.get(&o).copied().unwrap_or(0)),
            _ => None,
        };
        let (Some(offset), Some(buf)) = (offset, c.arg_u64(1)) else { return };
        // The kernel copies a piece at a time, each read from the page cache as it goes: a
        // buffer in a shared mapping of the file sees the earlier pieces' bytes, so the rest
        // is copied the same way, after the bytes the log showed, and read back.
        let have = data.len() as u64;
        if have > 0 && self.k.copy_to_user(pid, buf, data).is_err() {
            return;
        }
        let at = buf.wrapping_add(have);
        if let Ok(rest) = self.k.file_read_to_user(pid, file, offset.saturating_add(have), at, n - have) {
            data.extend_from_slice(&rest);
        }
    }

    /// The bytes a write dumped from memory the loader or the C library mapped before the
    /// program started (anonymous private writable memory outside what the program mapped
    /// itself), on pages the model had none of when a dump first showed them: code the log
    /// does not show writes them, whenever it runs, so each dump binds them (they are
    /// copied into the model) rather than being checked. A page the program's own calls
    /// gave the model first stays checked.
    pub(super) fn bind_loader_bytes(&mut self, pid: Pid, buf: u64, data: &[u8]) {
        let Ok(id) = self.k.mm_id(pid) else { return };
        if !self.started.contains(&id) {
            return;
        }
        let created = self.created.get(&id).cloned().unwrap_or_default();
        let mut off = 0usize;
        while off < data.len() {
            let a = buf.wrapping_add(off as u64);
            let len = ((PAGE_SIZE - (a & !PAGE_MASK)) as usize).min(data.len() - off);
            let ours = created.iter().any(|&(s, e)| s <= a && a < e);
            let loaders = self.k.mm(pid).ok().and_then(|m| m.vmas.containing(a)).is_some_and(|v| {
                v.file.is_none()
                    && v.special.is_none()
                    && v.flags.contains(mm::VmFlags::WRITE)
                    && !v.flags.contains(mm::VmFlags::SHARED)
            });
            let page = a & PAGE_MASK;
            let unseen = !self.k.pte(id, page).present() || self.loader_pages.contains(&(id, page));
            if !ours && loaders && unseen && self.k.copy_to_user(pid, a, &data[off..off + len]).is_ok() {
                self.loader_pages.insert((id, page));
            }
            off += len;
        }
    }

    /// Whether descriptor `fd` of task `tpid` is a device whose writes take the count and
    /// read nothing from the buffer (`/dev/null` and `/dev/zero`: write_null).
    pub(super) fn writes_discarded(&self, tpid: TracePid, fd: Option<u64>) -> bool {
        let table = self.procs[&tpid].table;
        let path = fd.and_then(|fd| self.tables[table].paths.get(&(fd as i32)));
        path.is_some_and(|p| p == "/dev/null" || p == "/dev/zero")
    }

    /// The kernel's copy of `n` bytes from `buf`, a piece at a time, for its faults only.
    pub(super) fn fault_in_user_bytes(&mut self, pid: Pid, buf: u64, n: u64) {
        let mut done = 0;
        while done < n {
            let len = (n - done).min(IO_PIECE);
            match self.k.copy_from_user(pid, buf.wrapping_add(done), len) {
                Ok(b) if b.len() as u64 == len => done += len,
                _ => break,
            }
        }
    }

    /// strace's process_vm_readv of `len` bytes at `buf` of `pid`'s memory, noting the
    /// pages its read pin replaced by a copy (see [`learn::UNSHARE_COPIES_DIRTY`]).
    fn tracer_pin(&mut self, pid: Pid, buf: u64, len: u64) -> SysResult<Vec<u8>> {
        let id = self.k.mm_id(pid)?;
        let first = buf & PAGE_MASK;
        let pages = buf.saturating_add(len).saturating_sub(first).div_ceil(PAGE_SIZE);
        let mapped = |k: &mm::Kernel, i: u64| {
            let pte = k.pte(id, first.saturating_add(i * PAGE_SIZE));
            pte.present().then(|| pte.pfn())
        };
        let before: Vec<_> = (0..pages).map(|i| mapped(&self.k, i)).collect();
        let read = self.k.process_vm_read(pid, buf, len);
        for (i, was) in before.into_iter().enumerate() {
            let now = mapped(&self.k, i as u64);
            if was.is_some() && now.is_some() && was != now {
                self.tracer_copied.insert((id, first + i as u64 * PAGE_SIZE));
            }
        }
        read
    }

    /// strace read the `n` bytes at `buf` to dump them (process_vm_readv) and printed
    /// nothing: it stopped at a page it could not read (unmapped, or without VM_READ; a
    /// write to /dev/null succeeds without reading its buffer), and the pages before that
    /// one were faulted in by its read.
    fn tracer_read_prefix(&mut self, pid: Pid, buf: u64, n: u64) {
        let mut done = 0;
        while done < n {
            let len = (n - done).min(IO_PIECE);
            match self.tracer_pin(pid, buf.wrapping_add(done), len) {
                Ok(b) if b.len() as u64 == len => done += len,
                _ => break,
            }
        }
    }

    /// The page-cache side of read or pread64 `c` of task `tpid` that copied `got` bytes
    /// (none for EFAULT: the pages are looked up, and read ahead, before the copy fails).
    fn read_ahead_of(&mut self, tpid: TracePid, c: &Syscall, got: u64) {
        let Some(fd) = c.arg_u64(0) else { return };
        let table = self.procs[&tpid].table;
        if !matches!(self.tables[table].kinds.get(&(fd as i32)), Some(FdKind::File(_))) {
            return;
        }
        let pid = self.mpid(tpid);
        let Some(o) = self.k.fd_description(pid, fd as i32) else { return };
        let at = match c.name.as_ref() {
            "pread64" => c.arg_u64(3),
            "read" => Some(self.positions.get(&o).copied().unwrap_or(0)),
            _ => None,
        };
        if let (Some(at), Some(count)) = (at, c.arg_u64(2)) {
            let _ = self.k.read_ahead_into(o, at, count, got, c.arg_u64(1).map(|buf| (pid, buf)));
        }
    }

    /// Whether descriptor `fd` of task `tpid` is a pipe end.
    pub(super) fn is_pipe(&self, tpid: TracePid, fd: Option<u64>) -> bool {
        let table = self.procs[&tpid].table;
        fd.is_some_and(|fd| matches!(self.tables[table].kinds.get(&(fd as i32)), Some(FdKind::Pipe)))
    }

    /// A read or pread64; `dumped` is the bytes a raw read's dump lines showed, otherwise
    /// the buffer argument holds them (decoded only when something looks at them).
    pub(super) fn read(&mut self, tpid: TracePid, line: u64, c: &Syscall, dumped: Option<&[u8]>) {
        let data = || dumped.or_else(|| c.arg_str(1));
        let Some(fd) = c.arg_u64(0) else { return };
        if c.ret.value().is_some() && self.io_result(line, c).is_none() {
            return;
        }
        let table = self.procs[&tpid].table;
        let kind = self.tables[table].kinds.get(&(fd as i32)).cloned();
        let window = self.read_starts.remove(&tpid).filter(|_| c.unfinished_line.is_some());
        if let (Some(FdKind::Proc { what, target }), Some(n)) = (&kind, c.ret.value()) {
            let (what, target) = (*what, *target);
            let data = data().unwrap_or_default();
            // read continues from the file position; pread64 reads at its offset and leaves
            // the position alone.
            let open = self.k.fd_description(self.mpid(tpid), fd as i32);
            let pread = c.name == "pread64";
            if self.verify() {
                // As the check below would before making the text: the same text serves both.
                self.name_shmem_objects();
            }
            let pread_at = if pread { Some(c.arg_u64(3).unwrap_or(0)) } else { None };
            // The byte offset in the text the recording machine made: where the read began
            // in the log's own text (`pos` below is an offset in the model's).
            let log_pos = pread_at.unwrap_or_else(|| open.and_then(|o| self.positions.get(&o).copied()).unwrap_or(0));
            if self.verify() {
                self.learn_stack_growth(target, line, log_pos, data);
            }
            let text = self.proc_text_now(what, target);
            let pos = self.seq_read_start(open, text.as_deref(), pread_at);
            let pos = match &text {
                Some(t) if !pread => super::seq::resync(t, pos, data),
                _ => pos,
            };
            if what == ProcText::Smaps {
                self.learn_swap(line, "smaps", data);
            }
            // A maps text made above is the one the check compares (smaps is made again:
            // what learn_swap bound may change it).
            let maps_now = if what == ProcText::Maps { text.as_deref() } else { None };
            if what == ProcText::Maps {
                self.maps_show_unseen_start(target, line, maps_now, pos, data);
            }
            if self.blind_maps_read(target) {
                // Not comparable, but what it shows is still learned.
                let (passed, failed, shown) = (self.report.passed, self.report.failed, self.report.mismatches.len());
                self.check_proc_read(tpid, line, (what, target, maps_now), (pos, log_pos), data, window);
                (self.report.passed, self.report.failed) = (passed, failed);
                self.report.mismatches.truncate(shown);
            } else {
                self.check_proc_read(tpid, line, (what, target, maps_now), (pos, log_pos), data, window);
            }
            if what == ProcText::Maps {
                self.learn_attached_start(tpid, target, line, log_pos, data);
            }
            self.seq_read_done(open, text.as_deref(), pos, n);
            if let (false, Some(o)) = (pread, open) {
                *self.positions.entry(o).or_default() += n;
            }
            return;
        }
        if let Some(FdKind::Cgroup(f)) = &kind {
            if let Some(n) = c.ret.value() {
                let open = self.k.fd_description(self.mpid(tpid), fd as i32);
                let at = match c.name.as_ref() {
                    "pread64" => c.arg_u64(3).unwrap_or(0),
                    _ => open.and_then(|o| self.positions.get(&o).copied()).unwrap_or(0),
                };
                self.cgroup_read(line, f, at, data().unwrap_or_default(), n);
                if let (Some(o), "read") = (open, c.name.as_ref()) {
                    *self.positions.entry(o).or_default() += n;
                }
            }
            return;
        }
        let proc_path = |d: &[u8]| d.starts_with(b"/proc/") && (d.ends_with(b"/maps") || d.ends_with(b"/smaps"));
        if !matches!(kind, Some(FdKind::Proc { .. })) && c.arg(0).and_then(Arg::decoration).is_some_and(proc_path) {
            // A /proc file opened out of the trace's sight: where the read began is unknown.
            *self.report.unchecked.entry("reads of /proc files opened out of the trace's sight".into()).or_default() +=
                1;
        }
        // A read that failed with EFAULT names its buffer: the model must fault there too.
        if let Ret::Error { errno, .. } = &c.ret {
            if errno == "EFAULT" {
                if let Some(buf) = c.arg_u64(1) {
                    let len = c.arg_u64(2).unwrap_or(1);
                    let pid = self.mpid(tpid);
                    let pipe = self.is_pipe(tpid, c.arg_u64(0));
                    let got = self.efault_copy(pid, true, pipe, buf, len).map(|_| 0);
                    self.check(line, &format!("{}(EFAULT buffer)", c.name), &c.ret, got);
                }
            }
            return;
        }
        if let Some(FdKind::File(f)) = &kind {
            let path = &self.k.file(*f).path;
            if learn::is_setting(path) {
                if let Some(d) = data() {
                    let path = path.clone();
                    self.learn_setting(line, &path, d);
                }
            } else if path == procfs::cgroup::ONLINE_CPUS {
                // The whole text (strace may cut it: `0-1` of `0-15`).
                let whole = data().filter(|d| c.ret.value() == Some(d.len() as u64));
                if let Some(n) = whole.and_then(|d| procfs::cgroup::cpu_list_count(&String::from_utf8_lossy(d))) {
                    self.bind_cpus(u64::from(n), line);
                }
            }
        }
        // A read that may show the recording machine's swap.
        let shows_swap = |p: &str| {
            p == learn::PROC_SWAPS
                || p.strip_prefix("/proc/").and_then(|r| r.split_once('/')).is_some_and(|(_, f)| f == "status")
        };
        if let Some(path) = self.tables[table].paths.get(&(fd as i32)).filter(|p| shows_swap(p)).cloned() {
            if let Some(d) = data() {
                self.learn_swap(line, &path, d);
            }
        }
        // The pages the read and its readahead brought into the page cache (a read whose
        // buffer was dumped had them brought in before its bytes were copied).
        if let (Some(got), None) = (c.ret.value(), dumped) {
            self.read_ahead_of(tpid, c, got);
        }
        // Advance the file position of ordinary reads.
        if let (Some(FdKind::File(_)), Some(n), "read") = (&kind, c.ret.value(), c.name.as_ref()) {
            let pid = self.mpid(tpid);
            if let Some(o) = self.k.fd_description(pid, fd as i32) {
                *self.positions.entry(o).or_default() += n;
            }
        }
    }

    pub(super) fn write(&mut self, tpid: TracePid, line: u64, c: &Syscall, data: Option<Vec<u8>>) {
        let Some(fd) = c.arg_u64(0) else { return };
        let table = self.procs[&tpid].table;
        if let Some(FdKind::Cgroup(f)) = self.tables[table].kinds.get(&(fd as i32)).cloned() {
            return self.cgroup_write(tpid, line, c, &f, data.as_deref());
        }
        let Some(n) = self.io_result(line, c) else { return };
        let Some(FdKind::File(file)) = self.tables[table].kinds.get(&(fd as i32)).cloned() else { return };
        let pid = self.mpid(tpid);
        let Some(o) = self.k.fd_description(pid, fd as i32) else { return };
        let mut data = data.unwrap_or_default();
        data.truncate(n as usize);
        let offset =
            if c.name == "pwrite64" { c.arg_u64(3).unwrap_or(0) } else { *self.positions.get(&o).unwrap_or(&0) };
        // The bytes the log shows, then zeros for those it does not, a piece at a time.
        let mut done = 0;
        if !data.is_empty() {
            done = self.k.file_write(file, offset, &data).unwrap_or(n);
        }
        let zeros = vec![0u8; (n - done).min(IO_PIECE) as usize];
        while done < n {
            let len = (n - done).min(IO_PIECE) as usize;
            match self.k.file_write(file, offset.saturating_add(done), &zeros[..len]) {
                Ok(w) if w > 0 => done += w,
                _ => break,
            }
        }
        if c.name == "write" {
            *self.positions.entry(o).or_default() += n;
        }
    }

    /// Finishes a read or write logged with its buffer address: the bytes read go into the
    /// model's memory at that address (the kernel copy path, which can fault), and in strict
    /// mode the bytes written must be what the model's memory holds there.
    pub(super) fn flush_raw_io(&mut self) {
        let Some(io) = self.raw_io.take() else { return };
        let c = &io.call;
        let Some(buf) = c.arg_u64(1) else { return };
        if !self.procs.contains_key(&io.tpid) {
            return;
        }
        let pid = self.mpid(io.tpid);
        let reading = c.name.starts_with("read") || c.name.starts_with("pread");
        match c.ret {
            Ret::Value(_) => {
                let Some(n) = self.io_result(io.line, c) else { return };
                let mut data = io.bytes.clone();
                data.truncate(n as usize);
                if reading {
                    // The kernel looks the pages up (reading ahead) before it copies them.
                    self.read_ahead_of(io.tpid, c, n);
                    // Bytes strace could not dump (a buffer without PROT_READ) that came from
                    // a file the model has: the file's bytes.
                    self.fill_from_file(io.tpid, c, &mut data, n);
                    // The bytes not dumped are taken as zeros, copied a piece at a time.
                    let got = self.copy_to_user_padded(pid, buf, &data, n);
                    if got.is_err() {
                        if !self.fault_unseen_memory(io.tpid) {
                            self.check(io.line, &format!("{} into {buf:#x}", c.name), &c.ret, got);
                        }
                    } else if n > 0 {
                        // strace then reads the buffer back to dump it (process_vm_readv, a
                        // read pin: each page marked accessed, as for a write's buffer), up to
                        // a page it cannot read. Measured: a page a fork had write-protected,
                        // read into after the child exited, then lazily freed again, reads
                        // Referenced in smaps under strace only (random program 5050).
                        self.tracer_read_prefix(pid, buf, n);
                    }
                    if n <= MAX_PADDED_READ {
                        data.resize(n as usize, 0);
                    }
                    self.read(io.tpid, io.line, c, Some(&data));
                } else {
                    // No dump means strace could not read the buffer. Where its VMA lacks
                    // VM_READ (PROT_WRITE or PROT_EXEC only) the kernel still could: its
                    // pages are faulted in, unless the file takes the count without reading
                    // a byte (/dev/null, /dev/zero). Otherwise there is nothing to check.
                    let discards = self.writes_discarded(io.tpid, c.arg_u64(0));
                    if io.bytes.is_empty() && n > 0 && !discards && self.unreadable_for_tracer(pid, buf) {
                        self.fault_in_user_bytes(pid, buf, n);
                    }
                    if io.bytes.is_empty() && n > 0 {
                        // strace's try read the pages before the first it could not.
                        self.tracer_read_prefix(pid, buf, n);
                    }
                    if self.opts.mode >= Mode::Strict && !io.bytes.is_empty() {
                        self.bind_loader_bytes(pid, buf, &data);
                        let got = self.user_bytes_differ(pid, buf, &data, n);
                        let what = format!("{} from {buf:#x} (memory contents)", c.name);
                        match got {
                            Ok(None) => self.report.passed += 1,
                            Ok(Some((want, bytes))) => self.mismatch(Mismatch {
                                line: io.line,
                                call: what,
                                expected: format!("{want:02x?}"),
                                got: format!("{bytes:02x?}"),
                                diff: None,
                                cause: None,
                            }),
                            Err(e) => self.mismatch(Mismatch {
                                line: io.line,
                                call: what,
                                expected: format!("{n} bytes"),
                                got: format!("-1 {}", e.name()),
                                diff: None,
                                cause: None,
                            }),
                        }
                    }
                    self.write(io.tpid, io.line, c, Some(data));
                }
            }
            Ret::Error { ref errno, .. } if errno == "EFAULT" => {
                let len = c.arg_u64(2).unwrap_or(1);
                if reading && mm::access_ok(buf, len) {
                    self.read_ahead_of(io.tpid, c, 0);
                }
                let pipe = self.is_pipe(io.tpid, c.arg_u64(0));
                let got = self.efault_copy(pid, reading, pipe, buf, len);
                self.check(io.line, &format!("{} at {buf:#x}", c.name), &c.ret, got.map(|_| 0));
            }
            // A failed or unfinished write shows no bytes; one to a cgroup file still counts.
            Ret::Error { .. } | Ret::Unknown if !reading => self.write(io.tpid, io.line, c, None),
            _ => {}
        }
    }

    /// copy_to_user of `data` and then zeros, `n` bytes in all, the zeros a piece at a time
    /// (a count in the log is not a size to allocate on this host). Like one copy_to_user:
    /// the bytes copied from the start, or EFAULT when not even the first one was.
    pub(super) fn copy_to_user_padded(&mut self, pid: Pid, buf: u64, data: &[u8], n: u64) -> SysResult<u64> {
        let head = &data[..data.len().min(n as usize)];
        let mut done = 0;
        if !head.is_empty() {
            done = self.k.copy_to_user(pid, buf, head)?;
            if done < head.len() as u64 {
                return Ok(done);
            }
        }
        let zeros = vec![0u8; (n - done).min(IO_PIECE) as usize];
        while done < n {
            let len = (n - done).min(IO_PIECE) as usize;
            match self.k.copy_to_user(pid, buf.wrapping_add(done), &zeros[..len]) {
                Ok(w) => {
                    done += w;
                    if w < len as u64 {
                        break;
                    }
                }
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    /// Whether the `n` bytes of user memory at `buf` are `data` followed by zeros, read a
    /// piece at a time as strace read them to print them (process_vm_readv, which unshares
    /// pages a fork left shared): None when they are, otherwise the first 32 bytes expected
    /// and the first 32 read; EFAULT when not even the first byte can be read.
    #[allow(clippy::type_complexity)]
    pub(super) fn user_bytes_differ(
        &mut self,
        pid: Pid,
        buf: u64,
        data: &[u8],
        n: u64,
    ) -> SysResult<Option<(Vec<u8>, Vec<u8>)>> {
        let want_at = |at: u64, len: usize| -> Vec<u8> {
            (at..at + len as u64).map(|i| data.get(i as usize).copied().unwrap_or(0)).collect()
        };
        let heads = |first: &[u8]| (want_at(0, (n as usize).min(32)), first[..first.len().min(32)].to_vec());
        let mut done = 0u64;
        let mut first = Vec::new();
        while done < n {
            let len = (n - done).min(IO_PIECE);
            let piece = match self.tracer_pin(pid, buf.wrapping_add(done), len) {
                Ok(p) => p,
                Err(e) if done == 0 => return Err(e),
                Err(_) => Vec::new(),
            };
            if done == 0 {
                first = piece[..piece.len().min(32)].to_vec();
            }
            if piece.len() as u64 != len || piece != want_at(done, len as usize) {
                return Ok(Some(heads(&first)));
            }
            done += len;
        }
        Ok(None)
    }
}
