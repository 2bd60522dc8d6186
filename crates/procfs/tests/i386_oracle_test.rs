//! The model's kernel side against what real i386 kernels printed (tests/golden/i386/, made
//! by scripts/i386-oracle.sh: Debian's 6.1 `686` and `686-pae` kernels under QEMU with 1 GiB,
//! one CPU, ASLR off). What is exact and what is an invariant is listed in
//! tests/golden/i386/README.md.

use mm::kalloc::KernelArch;
use mm::{Config, Kernel};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The RAM the guest's e820 map gave Linux: usable up to 0x3ffdffff.
const ORACLE_RAM: u64 = 0x3ffe_0000;

const FLAVOURS: [(&str, KernelArch); 2] = [("686", KernelArch::I386), ("686-pae", KernelArch::I386Pae)];

fn golden(flavour: &str, name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "../../tests/golden/i386", flavour, name].iter().collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn kernel(arch: KernelArch) -> Kernel {
    Kernel::new(Config { ram_bytes: ORACLE_RAM, kernel_arch: arch, ..Config::default() })
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap_or_else(|_| panic!("not hex: {s}"))
}

/// `KEY=VALUE` pairs of the module's line that starts with `prefix`.
fn module_values(flavour: &str, prefix: &str) -> BTreeMap<String, String> {
    let text = golden(flavour, "module.txt");
    let line = text.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no `{prefix}` line"));
    line.split_whitespace().filter_map(|w| w.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn kernel_layout_is_what_the_oracle_module_printed() {
    for (flavour, arch) in FLAVOURS {
        let v = module_values(flavour, "mmsim: PAGE_OFFSET");
        let l = kernel(arch).kalloc().layout;
        let got = [
            ("PAGE_OFFSET", l.page_offset),
            ("high_memory", l.high_memory),
            ("VMALLOC_START", l.vmalloc_start),
            ("VMALLOC_END", l.vmalloc_end),
            ("PKMAP_BASE", l.pkmap_base.unwrap_or(0)),
            ("FIXADDR_START", l.fixaddr_start),
            ("TASK_SIZE", l.task_size),
        ];
        for (key, value) in got {
            assert_eq!(value, hex(&v[key]), "{flavour}: {key}");
        }
    }
}

#[test]
fn zones_span_what_the_oracle_zoneinfo_shows() {
    for (flavour, arch) in FLAVOURS {
        let spanned = |text: &str| -> Vec<(String, u64)> {
            let mut out = Vec::new();
            let mut zone = String::new();
            for line in text.lines() {
                if let Some(rest) = line.strip_prefix("Node 0, zone") {
                    zone = rest.trim().to_string();
                } else if let Some(n) = line.trim().strip_prefix("spanned") {
                    out.push((zone.clone(), n.trim().parse().unwrap()));
                }
            }
            out
        };
        let k = kernel(arch);
        assert_eq!(spanned(&procfs::zoneinfo(&k)), spanned(&golden(flavour, "zoneinfo.txt")), "{flavour}");
        // buddyinfo: the same populated zones, each with 11 orders.
        let shape = |text: &str| -> Vec<(String, usize)> {
            text.lines()
                .map(|l| {
                    let w: Vec<&str> = l.split_whitespace().collect();
                    (w[3].to_string(), w.len() - 4)
                })
                .collect()
        };
        assert_eq!(shape(&procfs::buddyinfo(&k)), shape(&golden(flavour, "buddyinfo-boot.txt")), "{flavour}");
        assert!(procfs::buddyinfo(&k).lines().all(|l| l.ends_with(' ')), "each line ends with a space, as Linux's");
    }
}

#[test]
fn kmalloc_caches_have_the_oracle_slab_geometry() {
    for (flavour, arch) in FLAVOURS {
        let geometry = |text: &str| -> Vec<Vec<String>> {
            text.lines()
                .filter(|l| l.starts_with("kmalloc-") && !l.starts_with("kmalloc-rcl") && !l.starts_with("kmalloc-cg"))
                .map(|l| {
                    let w: Vec<&str> = l.split_whitespace().collect();
                    vec![w[0].to_string(), w[3].to_string(), w[4].to_string(), w[5].to_string()]
                })
                .collect()
        };
        let model = procfs::slabinfo(&kernel(arch));
        assert!(
            model.starts_with(&golden(flavour, "slabinfo-before.txt").lines().take(2).collect::<Vec<_>>().join("\n"))
        );
        assert_eq!(geometry(&model), geometry(&golden(flavour, "slabinfo-before.txt")), "{flavour}");
    }
}

/// One parsed line of /proc/vmallocinfo.
struct Area {
    start: u64,
    size: u64,
    caller: String,
    pages: u64,
    kind: String,
    phys: Option<u64>,
}

fn parse_vmallocinfo(text: &str) -> Vec<Area> {
    text.lines()
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let (start, _) = w[0].split_once('-').unwrap();
            let field = |k: &str| w.iter().find_map(|x| x.strip_prefix(k));
            Area {
                start: hex(start),
                size: w[1].parse().unwrap(),
                caller: w[2].to_string(),
                pages: field("pages=").map_or(0, |n| n.parse().unwrap()),
                kind: w.iter().rev().find(|x| !x.contains('=')).unwrap().to_string(),
                phys: field("phys=").map(hex),
            }
        })
        .collect()
}

#[test]
fn vmalloc_of_a_million_bytes_lands_where_the_oracle_put_it() {
    for (flavour, arch) in FLAVOURS {
        let want = hex(&module_values(flavour, "mmsim: vmalloc(1000000)")["vmalloc(1000000)"]);
        let after = golden(flavour, "vmallocinfo-after.txt");
        let mut k = kernel(arch);
        // Every area the kernel had when the module called vmalloc: all of "after" but the
        // module's own vmalloc.
        let mut caller = String::new();
        for a in parse_vmallocinfo(&after) {
            if a.start == want {
                caller = a.caller;
                continue;
            }
            assert!(k.vmap_adopt(a.start, a.size, a.pages, &a.caller, &a.kind, a.phys), "{flavour}: {:#x}", a.start);
        }
        let before_used = procfs::meminfo(&k);
        let got = k.vmalloc(1_000_000, &caller).unwrap();
        assert_eq!(got, want, "{flavour}: the lowest free range of 245 pages and a guard page");
        assert_eq!(procfs::vmallocinfo(&k), after, "{flavour}: /proc/vmallocinfo after the module's vmalloc");
        let used = |t: &str| t.lines().find(|l| l.starts_with("VmallocUsed")).map(str::to_string);
        let delta = |t: &str| used(t).and_then(|l| l.split_whitespace().nth(1).map(|n| n.parse::<u64>().unwrap()));
        let oracle_delta = delta(&golden(flavour, "meminfo-after.txt")).unwrap()
            - delta(&golden(flavour, "meminfo-before.txt")).unwrap();
        let model_delta = delta(&procfs::meminfo(&k)).unwrap() - delta(&before_used).unwrap();
        // The oracle's delta also has the module's own 5 pages (load_module's area).
        assert_eq!(model_delta + 5 * 4, oracle_delta, "{flavour}: VmallocUsed grows by the pages only");
        let first = k.kalloc().vmap.find(got).unwrap().pages[0];
        let oracle_first = mm::frame::Pfn::new(hex(&module_values(flavour, "mmsim: vmalloc(1000000)")["first_pfn"]));
        let l = k.kalloc().layout;
        assert!(
            first >= l.max_low_pfn && oracle_first >= l.max_low_pfn,
            "{flavour}: vmalloc's pages come from HighMem"
        );
        mm::invariants::check_kernel(&k);
    }
}

#[test]
fn the_other_module_addresses_satisfy_the_oracle_invariants() {
    for (flavour, arch) in FLAVOURS {
        let mut k = kernel(arch);
        let l = k.kalloc().layout;
        let lowmem = l.page_offset..l.high_memory;
        // __get_free_page: a page-aligned lowmem address, pa = va - PAGE_OFFSET.
        let page = k.get_free_pages(0).unwrap();
        let v = module_values(flavour, "mmsim: __get_free_page");
        let oracle_page = hex(&v["__get_free_page"]);
        for (who, a) in [("model", page), ("oracle", oracle_page)] {
            assert!(lowmem.contains(&a) && a % 4096 == 0, "{flavour} {who}: {a:#x}");
        }
        assert_eq!(oracle_page - l.page_offset, hex(&v["pa"]));
        // kmalloc(100): an object of kmalloc-128, so 128-byte aligned, in lowmem.
        let obj = k.kmalloc(100).unwrap();
        let v = module_values(flavour, "mmsim: kmalloc(100)");
        let oracle_obj = hex(&v["kmalloc(100)"]);
        assert_eq!(v["ksize"], "128");
        for (who, a) in [("model", obj), ("oracle", oracle_obj)] {
            assert!(lowmem.contains(&a) && a % 128 == 0, "{flavour} {who}: {a:#x}");
        }
        // kmap of a highmem page: the first kmap takes slot 1 of the window (exact).
        let v = module_values(flavour, "mmsim: alloc_page(GFP_HIGHUSER)");
        let high = k.alloc_pages(mm::kalloc::Gfp::HighUser, 0).unwrap();
        assert!(high >= l.max_low_pfn && mm::frame::Pfn::new(hex(&v["pfn"])) >= l.max_low_pfn);
        assert_eq!(k.kmap(high), Some(hex(&v["kmap"])), "{flavour}");
        mm::invariants::check_kernel(&k);
    }
}
