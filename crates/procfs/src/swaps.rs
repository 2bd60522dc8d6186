//! `/proc/swaps` (swap_show in mm/swapfile.c): a header, then one line per active device in
//! swap-type order: path padded to 40 columns, type, size and used in KiB, priority.

use mm::Kernel;
use std::fmt::Write;

/// The text of `/proc/swaps`.
pub fn swaps(k: &Kernel) -> String {
    let mut s = String::from("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
    for d in k.machine().swap.devices.iter().flatten() {
        let size = d.pages() << 2;
        let used = d.inuse() << 2;
        let pad = 40usize.saturating_sub(d.path.len()).max(1);
        let kind = if d.partition { "partition" } else { "file\t" };
        // Numbers below 10,000,000 get an extra tab to keep the columns.
        let tab = |n: u64| if n < 10_000_000 { "\t" } else { "" };
        let _ = writeln!(s, "{}{:pad$}{kind}\t{size}\t{}{used}\t{}{}", d.path, "", tab(size), tab(used), d.prio);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use mm::swap::SwapSpec;
    use mm::{Config, Kernel};

    #[test]
    fn one_file_as_linux_prints_it() {
        let mut k = Kernel::new(Config::default());
        let spec = SwapSpec { path: "/var/tmp/probe.swap".into(), size: 64 << 20, priority: None, partition: false };
        k.swapon(&spec).unwrap();
        assert_eq!(
            swaps(&k),
            "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n\
             /var/tmp/probe.swap                     file\t\t65532\t\t0\t\t-2\n"
        );
    }
}
