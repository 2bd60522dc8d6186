// Temporary debugging aid (not committed): prints the PTEs of [lo, hi) after each line that changes them.
use replay::*;
use std::io::BufReader;
struct Obs {
    lo: u64,
    hi: u64,
    last: String,
}
impl Observer for Obs {
    fn after(&mut self, ev: &trace::Event, r: &Replayer) {
        let k = r.kernel();
        let mut s = String::new();
        for (tp, pid) in r.trace_pids() {
            let Ok(id) = k.mm_id(pid) else { continue };
            s += &format!("{tp}:");
            let mut va = self.lo;
            while va < self.hi {
                let p = k.pte(id, va);
                if p.present() {
                    s += &format!(
                        " {:x}={:x}{}",
                        (va >> 12) & 0xfff,
                        p.pfn(),
                        if p.flags().contains(mm::pgtable::PteFlags::DIRTY) { "d" } else { "" }
                    );
                } else {
                    s += " .";
                }
                va += 4096;
            }
        }
        for (_, f) in k.files() {
            if f.path.contains("mini.dat") && !f.path.contains("XX") {
                let c: Vec<String> = (0..16)
                    .map(|i| {
                        if f.page_cached(i) {
                            let (st, o) = f.folio_of(i);
                            format!(
                                "{}{}{}",
                                i,
                                if o > 0 { format!("/{st}o{o}") } else { String::new() },
                                if f.ra_marks.contains(&i) { "M" } else { "" }
                            )
                        } else {
                            "-".into()
                        }
                    })
                    .collect();
                s += &format!(" | {}: {}", f.path.rsplit('/').next().unwrap_or(""), c.join(" "));
            }
        }
        if s != self.last {
            println!("line {}: {}", ev.line, s);
            self.last = s;
        }
    }
}
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let path = a[1].clone();
    let lo = u64::from_str_radix(&a[3], 16).unwrap();
    let hi = u64::from_str_radix(&a[4], 16).unwrap();
    let open = || std::fs::File::open(&path).map(BufReader::new);
    let ids = Identities::collect(open().unwrap());
    let opts =
        Options { mode: Mode::Strict, keep_going: true, cwd: Some(a[2].clone().into()), threads_unordered: false };
    let mut o = Obs { lo, hi, last: String::new() };
    let rep = replay_observed(open, ids, opts, std::sync::Arc::new(Files::host()), |_| {}, &mut o);
    println!("{} mismatches", rep.mismatches.len());
}
