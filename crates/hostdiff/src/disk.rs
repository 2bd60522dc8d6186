//! What the host tests need to know of this machine's disks to give the model the same:
//! the readahead window of the disk holding a directory.

use std::path::Path;

/// The `read_ahead_kb` of the block device holding `dir` (its queue, or its whole disk's
/// for a partition): the largest readahead window, which the model must share with this
/// machine to read ahead as it does.
pub fn read_ahead_kb(dir: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    let dev = std::fs::metadata(dir).ok()?.dev();
    let major = ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0000_0fff);
    let minor = ((dev >> 12) & 0xffff_ff00) | (dev & 0x0000_00ff);
    let base = format!("/sys/dev/block/{major}:{minor}");
    [format!("{base}/queue/read_ahead_kb"), format!("{base}/../queue/read_ahead_kb")]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok()?.trim().parse().ok())
}
