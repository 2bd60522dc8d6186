//! The model side of a differential run: builds a model process from the host's initial
//! address space ([`HostInit`]), runs the same steps on it, and returns outcomes in the
//! host's terms, so the two can be compared field by field.

use crate::host::{file_byte, Addr, HostInit, HostScript, Op, OpenMode, Outcome};
use abi::*;
use mm::file::FileKind;
use mm::vma::{Special, Vma, VmaFile};
use mm::{Config, Kernel, Pid, VmFlags};
use std::collections::BTreeMap;
use std::sync::Arc;

pub use procfs::parse::{parse_maps_line, parse_smaps, MapsLine, SmapsVma};

/// A model process set up like the host's process 0, plus the fds of the script's opens.
#[derive(Debug)]
pub struct ModelRun {
    /// The model.
    pub kernel: Kernel,
    /// Model pid of each process index (None once exited).
    pub pids: Vec<Option<Pid>>,
}

/// Builds the model's process 0 from the host's initial state.
pub fn build_model(script: &HostScript, init: &HostInit) -> Result<ModelRun, String> {
    let config = Config {
        rlimit_stack: init.stack_rlimit,
        pkeys: init.smaps.contains("ProtectionKey:"),
        // The host's RAM size, so that the overcommit heuristic refuses what the host does.
        ram_bytes: host_ram_bytes().unwrap_or(1 << 30),
        // The read-ahead window of the disk the script's files are on.
        read_ahead_kb: init
            .files
            .first()
            .and_then(|f| host_read_ahead_kb(f.major, f.minor))
            .unwrap_or(Config::default().read_ahead_kb),
        // The host child runs on this kernel: its vDSO is this process's.
        vdso_image: host_vdso_image(),
        ..Config::default()
    };
    // The host child has this process's capabilities (root in a container may lack some).
    let config = match host_capabilities() {
        Some(caps) => {
            let has = |bit: u32| caps >> bit & 1 == 1;
            Config {
                cap_ipc_lock: has(14),
                cap_sys_rawio: has(17),
                cap_sys_admin: has(21),
                cap_sys_resource: has(24),
                ..config
            }
        }
        None => config,
    };
    let mut k = Kernel::new(config);
    let pid = k.spawn_empty("hostchild").map_err(|e| e.to_string())?;
    // The host child disabled THP for itself (PR_SET_THP_DISABLE) before the init block.
    k.set_thp_disable(pid, true).map_err(|e| e.to_string())?;
    // Descriptors 0-2 exist in the host child; the script's opens come after them.
    let null = k.create_file("/dev/null", &[]);
    k.set_file_kind(null, FileKind::Unmappable);
    for _ in 0..3 {
        k.open(pid, "/dev/null", O_RDWR).map_err(|e| e.to_string())?;
    }
    for (i, f) in init.files.iter().enumerate() {
        let bytes: Vec<u8> = (0..f.size).map(|o| file_byte(i, o)).collect();
        let id = k.import_file(&f.path, f.major, f.minor, f.ino, Arc::from(Vec::new()));
        // The supervisor wrote them just now, in chunks of its buffer size: the same writes
        // give the model the same page-cache folios, all dirty.
        for (n, chunk) in bytes.chunks(crate::host::HOST_WRITE_CHUNK).enumerate() {
            k.file_write(id, (n * crate::host::HOST_WRITE_CHUNK) as u64, chunk).map_err(|e| e.to_string())?;
        }
    }
    for o in &script.opens {
        let flags = match o.mode {
            OpenMode::ReadOnly => O_RDONLY,
            OpenMode::WriteOnly => O_WRONLY,
            OpenMode::ReadWrite => O_RDWR,
        };
        let path = &init.files.get(o.file).ok_or("open of a missing file")?.path;
        k.open(pid, path, flags).map_err(|e| e.to_string())?;
    }
    // One open file description per mapped path, as a loader opens each library once.
    let mut opened: BTreeMap<String, (mm::FileId, mm::OpenFileId)> = BTreeMap::new();
    let mut prev: Option<Vma> = None;
    for v in parse_smaps(&init.smaps) {
        let special = match v.maps.name.as_str() {
            "[vvar]" => Some(Special::Vvar),
            "[vvar_vclock]" => Some(Special::VvarVclock),
            "[vdso]" => Some(Special::Vdso),
            _ => None,
        };
        if v.maps.start >= mm::layout::TASK_SIZE {
            continue; // [vsyscall] is not a VMA
        }
        let file = if v.maps.ino != 0 || v.maps.name.starts_with('/') {
            let key = v.maps.name.clone();
            let (fid, oid) = match opened.get(&key) {
                Some(&x) => x,
                None => {
                    let path = v.maps.name.trim_end_matches(" (deleted)").to_string();
                    let fid = match k.lookup(&path) {
                        Some(f) if !v.maps.name.ends_with(" (deleted)") => f,
                        _ => {
                            let size = std::fs::metadata(&path)
                                .map(|m| m.len())
                                .unwrap_or(v.maps.offset + (v.maps.end - v.maps.start));
                            let fid = k.import_file(
                                &format!("{path}\u{0}{}", v.maps.ino),
                                v.maps.major,
                                v.maps.minor,
                                v.maps.ino,
                                Arc::from(vec![0u8; 0]),
                            );
                            if v.maps.name.ends_with(" (deleted)") {
                                let size = v.maps.offset + (v.maps.end - v.maps.start);
                                k.set_file_as_mapped(fid, &path, size, true);
                            } else {
                                k.set_file_as_mapped(fid, &path, size, false);
                            }
                            fid
                        }
                    };
                    let oid = k.open_description(fid, true, true);
                    opened.insert(key, (fid, oid));
                    (fid, oid)
                }
            };
            Some(VmaFile { file: fid, open: oid })
        } else {
            None
        };
        let pgoff = if file.is_some() { v.maps.offset >> 12 } else { v.maps.start >> 12 };
        let has_anon = v.anonymous_kb > 0 || v.maps.perms.starts_with("rw") && file.is_none() && special.is_none();
        // anon_vma_prepare gives a VMA its neighbour's anon_vma when the two could merge
        // but for it (the program's bss and the heap above it, say), so such neighbours
        // share one and merge once their flags agree.
        let shared = prev.as_ref().and_then(|p: &Vma| {
            let compatible = p.end == v.maps.start
                && p.anon_vma.is_some()
                && p.file.is_none()
                && file.is_none()
                && special.is_none()
                && p.special.is_none()
                && (p.flags - VmFlags::ACCESS) == (v.flags - VmFlags::ACCESS)
                && p.pgoff + ((p.end - p.start) >> 12) == pgoff;
            compatible.then_some(p.anon_vma).flatten()
        });
        let anon_vma = has_anon.then(|| shared.unwrap_or_else(|| k.new_anon_vma()));
        let vma = Vma { start: v.maps.start, end: v.maps.end, flags: v.flags, pgoff, file, anon_vma, special };
        prev = Some(vma.clone());
        k.import_vma(pid, vma).map_err(|e| format!("importing {:#x}-{:#x}: {e}", v.maps.start, v.maps.end))?;
        if v.rss_kb > 0 {
            k.import_page_tables(pid, v.maps.start, v.maps.end).map_err(|e| e.to_string())?;
        }
        if special == Some(Special::Vdso) {
            // The host child's C library read the vDSO's ELF header and symbols at startup
            // (a static glibc finds its functions there), so the image's first pages, as
            // many as its Rss says, are mapped in the child's page table from the start
            // (pagemap shows them); they read from the beginning of the image.
            for page in 0..(v.rss_kb / 4).min((v.maps.end - v.maps.start) >> 12) {
                let _ = k.load_partial(pid, v.maps.start + (page << 12), 1);
            }
        }
    }
    for (_, (_, oid)) in opened {
        k.release_open(oid);
    }
    k.set_layout(pid, init.start_brk, init.brk, init.start_stack).map_err(|e| e.to_string())?;
    // The script's memory cgroups exist before the first step, as the host runner makes them.
    if let Some(version) = script.memcg_version {
        k.set_cgroup_version(version).map_err(|e| format!("cgroup version: {e}"))?;
    }
    for path in &script.memcgs {
        k.cgroup_mkdir(path).map_err(|e| format!("mkdir of memory cgroup {path}: {e}"))?;
    }
    Ok(ModelRun { kernel: k, pids: vec![Some(pid)] })
}

/// The effective capability set of this process (`CapEff` of /proc/self/status).
fn host_capabilities() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = text.lines().find_map(|l| l.strip_prefix("CapEff:"))?.trim();
    u64::from_str_radix(hex, 16).ok()
}

/// MemTotal of the host, in bytes (the model's RAM for differential runs).
fn host_ram_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The bytes of this process's `[vdso]` (read through `/proc/self/mem`), which are the
/// running kernel's vDSO image.
pub fn host_vdso_image() -> Option<Arc<[u8]>> {
    use std::io::{Read, Seek, SeekFrom};
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let line = maps.lines().find(|l| l.ends_with("[vdso]"))?;
    let m = parse_maps_line(line)?;
    let mut mem = std::fs::File::open("/proc/self/mem").ok()?;
    mem.seek(SeekFrom::Start(m.start)).ok()?;
    let mut bytes = vec![0u8; (m.end - m.start) as usize];
    mem.read_exact(&mut bytes).ok()?;
    Some(Arc::from(bytes))
}

/// `read_ahead_kb` of the backing device of a filesystem (its bdi, named by the device
/// numbers files on it report).
fn host_read_ahead_kb(major: u32, minor: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/sys/class/bdi/{major}:{minor}/read_ahead_kb")).ok()?;
    text.trim().parse().ok()
}

/// Swap file `device` of the script and the path the host made it at.
fn swap_file(script: &HostScript, init: &HostInit, device: usize) -> Result<(crate::SwapFileSpec, String), String> {
    match (script.swap_files.get(device), init.swap_files.get(device)) {
        (Some(spec), Some(path)) => Ok((*spec, path.clone())),
        _ => Err(format!("swap file {device}: the host run made no such file")),
    }
}

/// Runs every step on the model; returns outcomes in the host's terms.
pub fn run_on_model(script: &HostScript, init: &HostInit) -> Result<Vec<Outcome>, String> {
    run_on_model_with(script, init, &|_| Ok(()))
}

/// Like [`run_on_model`], with `prepare` run on the model kernel before the first step
/// (e.g. to activate the swap device the host has).
pub fn run_on_model_with(
    script: &HostScript,
    init: &HostInit,
    prepare: &dyn Fn(&mut Kernel) -> Result<(), String>,
) -> Result<Vec<Outcome>, String> {
    let mut run = build_model(script, init)?;
    prepare(&mut run.kernel)?;
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(script.steps.len());
    for (i, step) in script.steps.iter().enumerate() {
        let Some(&slot) = run.pids.get(step.proc) else {
            return Err(format!("step {i}: process {} does not exist", step.proc));
        };
        // A process the OOM killer ended (plan() rules out steps after an exit): its steps
        // are not run, and a fork of it leaves its child unborn.
        let Some(pid) = slot else {
            if matches!(step.op, Op::Fork) {
                run.pids.push(None);
            }
            outcomes.push(Outcome::Gone);
            continue;
        };
        let resolve = |a: Addr| match a {
            Addr::Abs(v) => v,
            Addr::Result { op, offset } => outcomes
                .get(op)
                .and_then(|o: &Outcome| o.value())
                .unwrap_or(crate::host::NO_VALUE_BASE)
                .wrapping_add(offset as u64),
        };
        let k = &mut run.kernel;
        let val = |r: SysResult<u64>| match r {
            // A raw error code the model has no name for (mmap's MAP_FIXED at -4095, say):
            // the host's syscall() turns it into errno.
            Ok(v) if mm::layout::is_err_value(v) => Outcome::Errno(v.wrapping_neg() as i32),
            Ok(v) => Outcome::Value(v),
            Err(e) => Outcome::Errno(e as i32),
        };
        // The address-space calls, as the model's one vocabulary has them.
        let call = crate::calls::call_of_op(&step.op, resolve);
        let out = match &step.op {
            Op::Mmap { .. }
            | Op::Munmap { .. }
            | Op::Mprotect { .. }
            | Op::Brk { .. }
            | Op::Ftruncate { .. }
            | Op::Mremap { .. }
            | Op::Madvise { .. }
            | Op::Mlock { .. }
            | Op::Munlock { .. }
            | Op::Mlockall { .. }
            | Op::Munlockall
            | Op::Msync { .. } => {
                let r = val(call.map_or(Err(Errno::ENOSYS), |c| k.dispatch(pid, &c)));
                if matches!(step.op, Op::Madvise { .. }) {
                    // The host child drains its CPU's LRU batches after every madvise step
                    // (MADV_POPULATE_READ of its drain page, see hostchild.c).
                    k.lru_add_drain();
                }
                r
            }
            Op::Load { addr, len } => {
                let a = resolve(*addr);
                match k.load_partial(pid, a, *len) {
                    (b, None) => Outcome::Bytes(b),
                    (b, Some(sig)) => {
                        Outcome::Signal { signo: sig.signo(), code: sig.code(), addr: sig.addr(), done: b.len() as u64 }
                    }
                }
            }
            Op::Store { addr, len, byte } => {
                let a = resolve(*addr);
                match k.store_partial(pid, a, &vec![*byte; *len as usize]) {
                    (_, None) => Outcome::Done,
                    (done, Some(sig)) => {
                        Outcome::Signal { signo: sig.signo(), code: sig.code(), addr: sig.addr(), done }
                    }
                }
            }
            // The host child's kernel copies are a write to a pipe and a read from one.
            Op::KRead { addr, len } => match k.pipe_copy_from_user(pid, resolve(*addr), *len) {
                Ok(b) => Outcome::Bytes(b),
                Err(e) => Outcome::Errno(e as i32),
            },
            Op::KWrite { addr, len, byte } => {
                val(k.pipe_copy_to_user(pid, resolve(*addr), &vec![*byte; *len as usize]))
            }
            Op::Fork => {
                let c = k.fork(pid).map_err(|e| format!("step {i}: fork failed in the model: {e}"))?;
                run.pids.push(Some(c));
                Outcome::Value((run.pids.len() - 1) as u64)
            }
            Op::Exit => {
                k.exit(pid, 0).map_err(|e| e.to_string())?;
                k.reap(pid).map_err(|e| e.to_string())?;
                run.pids[step.proc] = None;
                Outcome::Done
            }
            Op::Maps => Outcome::Text(procfs::maps(k, pid).map_err(|e| e.to_string())?),
            Op::Smaps => Outcome::Text(procfs::smaps(k, pid).map_err(|e| e.to_string())?),
            Op::Mincore { addr, len } => match k.mincore_vec(pid, resolve(*addr), *len) {
                Ok((v, None)) => Outcome::Bytes(v),
                Ok((_, Some(e))) | Err(e) => Outcome::Errno(e as i32),
            },
            Op::Pagemap { addr, pages } => {
                let page = resolve(*addr) / 4096;
                match procfs::pagemap_read(k, pid, pid, page.wrapping_mul(8), pages * 8) {
                    Ok(b) => Outcome::Bytes(b),
                    Err(e) => Outcome::Errno(e as i32),
                }
            }
            Op::Status => Outcome::Text(procfs::status(k, pid).map_err(|e| e.to_string())?),
            Op::Setrlimit { resource, value } => match mm::Rlimit::from_resource(u64::from(*resource)) {
                Some(r) => val(k.setrlimit(pid, r, *value)),
                None => return Err(format!("step {i}: resource {resource} is not modelled")),
            },
            Op::DropCaps => val(k.drop_capabilities(pid)),
            Op::Swapon { device } => {
                let (spec, path) = swap_file(script, init, *device)?;
                let spec = mm::swap::SwapSpec { path, size: spec.size, priority: spec.priority, partition: false };
                val(k.swapon(&spec).map(|()| 0))
            }
            Op::Swapoff { device } => {
                let (_, path) = swap_file(script, init, *device)?;
                val(k.swapoff(&path).map(|()| 0))
            }
            Op::Swaps => Outcome::Text(procfs::swaps(k)),
            Op::CgroupWrite { group, file, value } => {
                val(k.cgroup_write(pid, &script.memcgs[*group], file, value).map(|()| 0))
            }
            Op::CgroupRead { group, file } => match procfs::cgroup::cgroup_file(k, &script.memcgs[*group], file) {
                Ok(t) => Outcome::Text(t),
                Err(e) => Outcome::Errno(e as i32),
            },
            Op::CgroupRmdir { group } => val(k.cgroup_rmdir(&script.memcgs[*group]).map(|()| 0)),
            Op::ProcWrite { file, value } => match file.as_str() {
                "oom_score_adj" => val(value
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| Errno::EINVAL)
                    .and_then(|v| k.set_oom_score_adj(pid, pid, v))
                    .map(|()| 0)),
                _ => Outcome::Errno(Errno::EACCES as i32),
            },
            Op::ProcRead { file } => {
                let text = match file.as_str() {
                    "oom_score" => procfs::cgroup::oom_score(k, pid),
                    "oom_score_adj" => procfs::cgroup::oom_score_adj(k, pid),
                    _ => Err(Errno::ENOENT),
                };
                match text {
                    Ok(t) => Outcome::Text(t),
                    Err(e) => Outcome::Errno(e as i32),
                }
            }
        };
        // The processes the OOM killer ended during the step are reaped (the host's
        // supervisor reaps its children at once); the step of a victim is its death.
        let mut out = out;
        for (index, slot) in run.pids.iter_mut().enumerate() {
            let Some(p) = *slot else { continue };
            let Some(signo) = k.task(p).and_then(|t| t.killed_by) else { continue };
            k.reap(p).map_err(|e| format!("step {i}: reaping a killed process: {e}"))?;
            *slot = None;
            if index == step.proc {
                out = Outcome::Killed { signo };
            }
        }
        outcomes.push(out);
    }
    Ok(outcomes)
}
