//! `/proc/sysvipc/shm` (ipc/shm.c, `sysvipc_shm_proc_show`): one line per SysV segment, in
//! slot order, as `ipcs -m` reads it. Every task of the model is root and the model has no
//! clock, so the owner columns and the times are 0.

use mm::Kernel;
use std::fmt::Write;

/// The header line of `/proc/sysvipc/shm` on a 64-bit kernel.
pub const SYSVIPC_SHM_HEADER: &str = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n";

/// `/proc/sysvipc/shm`: key, identifier, mode (octal, with SHM_DEST and SHM_LOCKED), size,
/// creator and last pid, attach count, owners, times, and the bytes resident and on swap.
pub fn sysvipc_shm(k: &Kernel) -> String {
    let mut s = String::from(SYSVIPC_SHM_HEADER);
    for seg in k.machine().shm.iter() {
        let Some(stat) = k.shm_stat(seg.id) else { continue };
        let f = k.file(seg.file);
        let rss = f.cache.len() as u64 * mm::layout::PAGE_SIZE;
        let swap = f.swapped.len() as u64 * mm::layout::PAGE_SIZE;
        let _ = writeln!(
            s,
            "{:>10} {:>10}  {:>4o} {:>21} {:>5} {:>5}  {:>5} {:>5} {:>5} {:>5} {:>5} {:>10} {:>10} {:>10} {:>21} {:>21}",
            stat.key, seg.id, stat.mode, stat.segsz, stat.cpid, stat.lpid, stat.nattch, 0, 0, 0, 0, 0, 0, 0, rss, swap
        );
    }
    s
}
