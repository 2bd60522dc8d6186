//! The memory lines of `/proc/PID/status` (task_mem) and `/proc/PID/statm`.

use abi::Errno;
use mm::{Kernel, Pid, SysResult};
use std::fmt::Write;

fn line(s: &mut String, name: &str, kb: u64) {
    let _ = writeln!(s, "{name}:\t{kb:>8} kB");
}

/// The Vm*/Rss* lines of `/proc/PID/status`, in Linux's order.
pub fn status(k: &Kernel, pid: Pid) -> SysResult<String> {
    let mm = k.mm(pid)?;
    let kb = |pages: mm::pages::PageCount| pages.kib();
    let rss = mm.rss.total();
    let hiwater_rss = mm.hiwater_rss.max(rss);
    let hiwater_vm = mm.hiwater_vm.max(mm.total_vm);
    let text_bytes = {
        let t = ((mm.end_code + 4095) & !4095).saturating_sub(mm.start_code & !4095);
        t.min(mm.exec_vm.bytes())
    };
    let lib_bytes = mm.exec_vm.bytes() - text_bytes;
    let mut s = String::new();
    line(&mut s, "VmPeak", kb(hiwater_vm));
    line(&mut s, "VmSize", kb(mm.total_vm));
    line(&mut s, "VmLck", kb(mm.locked_vm));
    line(&mut s, "VmPin", kb(mm.pinned_vm));
    line(&mut s, "VmHWM", kb(hiwater_rss));
    line(&mut s, "VmRSS", kb(rss));
    line(&mut s, "RssAnon", kb(mm.rss.anon));
    line(&mut s, "RssFile", kb(mm.rss.file));
    line(&mut s, "RssShmem", kb(mm.rss.shmem));
    line(&mut s, "VmData", kb(mm.data_vm));
    line(&mut s, "VmStk", kb(mm.stack_vm));
    line(&mut s, "VmExe", text_bytes >> 10);
    line(&mut s, "VmLib", lib_bytes >> 10);
    line(&mut s, "VmPTE", k.machine().pgtables_pages(mm) * 4);
    line(&mut s, "VmSwap", kb(mm.rss.swap));
    Ok(s)
}

/// `/proc/PID/statm`: size resident shared text lib data dt, in pages.
pub fn statm(k: &Kernel, pid: Pid) -> SysResult<String> {
    let mm = k.mm(pid)?;
    let shared = mm.rss.file + mm.rss.shmem;
    let text = (((mm.end_code + 4095) & !4095).saturating_sub(mm.start_code & !4095)) >> 12;
    let resident = shared + mm.rss.anon;
    Ok(format!("{} {} {} {} 0 {} 0\n", mm.total_vm, resident, shared, text, mm.data_vm + mm.stack_vm))
}

/// `/proc/PID/personality`: the task's personality word, eight hex digits (proc_pid_personality).
pub fn personality(k: &Kernel, pid: Pid) -> SysResult<String> {
    let task = k.task(pid).filter(|t| t.exit_code.is_none()).ok_or(Errno::ESRCH)?;
    Ok(format!("{:08x}\n", task.personality))
}
