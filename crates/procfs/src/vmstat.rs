//! `/proc/vmstat`: page counts and event counters, one `name value` per line
//! (mm/vmstat.c), the subset the model keeps.

use crate::meminfo::mem_counts;
use mm::Kernel;
use std::fmt::Write;

/// `/proc/vmstat`.
pub fn vmstat(k: &Kernel) -> String {
    let c = mem_counts(k);
    let e = &k.machine().vmstat;
    let lines: [(&str, u64); 49] = [
        ("nr_free_pages", c.free),
        ("nr_inactive_anon", c.inactive_anon),
        ("nr_active_anon", c.active_anon),
        ("nr_inactive_file", c.inactive_file),
        ("nr_active_file", c.active_file),
        ("nr_unevictable", c.mlocked),
        ("nr_mlock", c.mlocked),
        ("nr_anon_pages", c.anon),
        ("nr_mapped", c.mapped),
        ("nr_file_pages", c.file_pages),
        ("nr_dirty", c.dirty),
        ("nr_shmem", c.shmem),
        ("nr_page_table_pages", c.page_tables),
        ("nr_writeback", 0),
        ("nr_swapcached", c.swap_cached),
        ("pgalloc_normal", k.machine().frames.allocs),
        ("pgfree", k.machine().frames.frees),
        ("pgactivate", e.pgactivate),
        ("pgdeactivate", e.pgdeactivate),
        ("pglazyfree", e.pglazyfree),
        ("pswpin", k.machine().swap.pswpin),
        ("pswpout", k.machine().swap.pswpout),
        ("pgfault", e.pgfault),
        ("pgmajfault", e.pgmajfault),
        ("pgrefill", e.pgrefill),
        ("pgsteal_kswapd", e.pgsteal_kswapd),
        ("pgsteal_direct", e.pgsteal_direct),
        ("pgscan_kswapd", e.pgscan_kswapd),
        ("pgscan_direct", e.pgscan_direct),
        ("pgscan_anon", e.pgscan_anon),
        ("pgscan_file", e.pgscan_file),
        ("pgsteal_anon", e.pgsteal_anon),
        ("pgsteal_file", e.pgsteal_file),
        ("pglazyfreed", e.pglazyfreed),
        ("workingset_refault_anon", e.workingset_refault_anon),
        ("workingset_refault_file", e.workingset_refault_file),
        ("nr_vmscan_write", e.nr_vmscan_write),
        ("pageoutrun", e.pageoutrun),
        ("allocstall_normal", e.allocstall),
        ("drop_pagecache", e.drop_pagecache),
        ("drop_slab", e.drop_slab),
        ("oom_kill", e.oom_kill),
        ("unevictable_pgs_mlocked", e.mlocked),
        ("unevictable_pgs_munlocked", e.munlocked),
        ("unevictable_pgs_cleared", k.machine().frames.mlock_cleared),
        ("thp_fault_alloc", e.thp_fault_alloc),
        ("thp_collapse_alloc", 0),
        ("swap_ra", k.machine().swap.swap_ra),
        ("swap_ra_hit", k.machine().swap.swap_ra_hit),
    ];
    let mut s = String::new();
    for (name, v) in lines {
        let _ = writeln!(s, "{name} {v}");
    }
    s
}
