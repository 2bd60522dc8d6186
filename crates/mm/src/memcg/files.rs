//! The text of the values written to a memory cgroup's limit files.
//!
//! cgroup v2 takes `max` or a byte count with an optional K/M/G/T suffix (memparse) in
//! `memory.max`, `memory.high` and `memory.swap.max`; v1 takes a byte count or `-1` in
//! `memory.limit_in_bytes` and `memory.memsw.limit_in_bytes`. Either way the count is rounded
//! down to whole pages (page_counter_memparse).

use super::NO_LIMIT;
use crate::layout::PAGE_SHIFT;
use abi::Errno;

/// Parses a limit written to a cgroup file into pages; `max` (v2) or `-1` (v1) means no
/// limit, and each interface takes its own word only (page_counter_memparse; measured: v1
/// refuses `max` with EINVAL). EINVAL for anything else that is not a number with an
/// optional suffix.
pub fn parse_limit(text: &str, version: super::CgroupVersion) -> Result<u64, Errno> {
    let t = text.trim();
    let unlimited = match version {
        super::CgroupVersion::V1 => "-1",
        super::CgroupVersion::V2 => "max",
    };
    if t == unlimited {
        return Ok(NO_LIMIT);
    }
    let pages = parse_bytes(t)? >> PAGE_SHIFT;
    Ok(if pages >= PAGE_COUNTER_MAX { NO_LIMIT } else { pages })
}

/// Parses a byte count with an optional K/M/G/T/P/E suffix (memparse, saturating), as
/// `memory.reclaim` takes it. EINVAL for anything else.
pub fn parse_bytes(text: &str) -> Result<u64, Errno> {
    let t = text.trim();
    let (digits, shift) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                'P' => 50,
                'E' => 60,
                _ => return Err(Errno::EINVAL),
            };
            (&t[..i], shift)
        }
        _ => (t, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Errno::EINVAL);
    }
    let n: u64 = digits.parse().map_err(|_| Errno::EINVAL)?;
    Ok(n.checked_shl(shift).filter(|b| b >> shift == n).unwrap_or(u64::MAX))
}

/// The largest page count a counter holds (LONG_MAX / PAGE_SIZE on 64-bit).
pub const PAGE_COUNTER_MAX: u64 = (i64::MAX as u64) >> PAGE_SHIFT;

/// A limit as v2 prints it: `max`, or bytes.
pub fn show_v2(pages: u64) -> String {
    if pages == NO_LIMIT {
        "max".into()
    } else {
        (pages << PAGE_SHIFT).to_string()
    }
}

/// A limit as v1 prints it: bytes, PAGE_COUNTER_MAX pages for no limit
/// (9223372036854771712).
pub fn show_v1(pages: u64) -> String {
    (pages.min(PAGE_COUNTER_MAX) << PAGE_SHIFT).to_string()
}

/// The files every non-root memory cgroup directory holds, by interface (a `mkdir` of one
/// of these names fails with EEXIST). v1: a group's listing on this machine's Linux 6.18
/// with the memory controller alone on its hierarchy; v2: the core files and the memory
/// controller's (Documentation/admin-guide/cgroup-v2.rst), with the pressure files.
pub fn interface_files(version: super::CgroupVersion) -> &'static [&'static str] {
    match version {
        super::CgroupVersion::V1 => &[
            "cgroup.clone_children",
            "cgroup.event_control",
            "cgroup.procs",
            "memory.failcnt",
            "memory.force_empty",
            "memory.kmem.failcnt",
            "memory.kmem.limit_in_bytes",
            "memory.kmem.max_usage_in_bytes",
            "memory.kmem.slabinfo",
            "memory.kmem.tcp.failcnt",
            "memory.kmem.tcp.limit_in_bytes",
            "memory.kmem.tcp.max_usage_in_bytes",
            "memory.kmem.tcp.usage_in_bytes",
            "memory.kmem.usage_in_bytes",
            "memory.limit_in_bytes",
            "memory.max_usage_in_bytes",
            "memory.memsw.failcnt",
            "memory.memsw.limit_in_bytes",
            "memory.memsw.max_usage_in_bytes",
            "memory.memsw.usage_in_bytes",
            "memory.move_charge_at_immigrate",
            "memory.numa_stat",
            "memory.oom_control",
            "memory.pressure_level",
            "memory.soft_limit_in_bytes",
            "memory.stat",
            "memory.swappiness",
            "memory.usage_in_bytes",
            "memory.use_hierarchy",
            "notify_on_release",
            "tasks",
        ],
        super::CgroupVersion::V2 => &[
            "cgroup.controllers",
            "cgroup.events",
            "cgroup.freeze",
            "cgroup.kill",
            "cgroup.max.depth",
            "cgroup.max.descendants",
            "cgroup.pressure",
            "cgroup.procs",
            "cgroup.stat",
            "cgroup.subtree_control",
            "cgroup.threads",
            "cgroup.type",
            "cpu.pressure",
            "cpu.stat",
            "cpu.stat.local",
            "io.pressure",
            "irq.pressure",
            "memory.current",
            "memory.events",
            "memory.events.local",
            "memory.high",
            "memory.low",
            "memory.max",
            "memory.min",
            "memory.numa_stat",
            "memory.oom.group",
            "memory.peak",
            "memory.pressure",
            "memory.reclaim",
            "memory.stat",
            "memory.swap.current",
            "memory.swap.events",
            "memory.swap.high",
            "memory.swap.max",
            "memory.swap.peak",
            "memory.zswap.current",
            "memory.zswap.max",
            "memory.zswap.writeback",
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_like_memparse_rounded_down_to_pages() {
        use super::super::CgroupVersion::{V1, V2};
        assert_eq!(parse_limit("max\n", V2), Ok(NO_LIMIT));
        assert_eq!(parse_limit("-1", V1), Ok(NO_LIMIT));
        assert_eq!(parse_limit("max", V1), Err(Errno::EINVAL));
        assert_eq!(parse_limit("-1", V2), Err(Errno::EINVAL));
        assert_eq!(parse_limit("16M", V2), Ok(4096));
        assert_eq!(parse_limit("4097", V1), Ok(1));
        assert_eq!(parse_limit("100k", V2), Ok(25));
        assert_eq!(parse_limit("99999999999999999999", V2), Err(Errno::EINVAL));
        assert_eq!(parse_limit("16E", V1), Ok(NO_LIMIT));
        for bad in ["", "x", "1.5M", "-2", "12Q"] {
            assert_eq!(parse_limit(bad, V2), Err(Errno::EINVAL), "{bad:?}");
        }
        assert_eq!(show_v1(NO_LIMIT), "9223372036854771712");
        assert_eq!(show_v2(NO_LIMIT), "max");
        assert_eq!(show_v2(4096), "16777216");
    }
}
