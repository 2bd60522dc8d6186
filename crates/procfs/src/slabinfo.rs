//! `/proc/slabinfo` (mm/slab_common.c, SLUB's version 2.1 format) for the kmalloc caches the
//! model has, largest first as Linux lists them (newest cache first; the kmalloc caches are
//! created smallest first). SLUB has no tunables, so those columns are 0, and the active
//! slab count equals the total.

use mm::Kernel;
use std::fmt::Write;

/// The two header lines.
pub const SLABINFO_HEADER: &str = "slabinfo - version: 2.1\n# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n";

/// `/proc/slabinfo`.
pub fn slabinfo(k: &Kernel) -> String {
    let mut s = String::from(SLABINFO_HEADER);
    for c in k.kalloc().caches.iter().rev() {
        let slabs = c.slabs.len() as u64;
        let _ = writeln!(
            s,
            "{:<17} {:>6} {:>6} {:>6} {:>4} {:>4} : tunables {:>4} {:>4} {:>4} : slabdata {:>6} {:>6} {:>6}",
            c.name,
            c.active_objects(),
            slabs * u64::from(c.objects),
            c.size,
            c.objects,
            1u32 << c.order,
            0,
            0,
            0,
            slabs,
            slabs,
            0
        );
    }
    s
}
