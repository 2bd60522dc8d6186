//! The kernel-side statements: results, their errors with positions, and `set arch`.

use script::{run_source, Options, Transcript};

fn run(src: &str) -> (Transcript, Result<(usize, usize), script::ScriptError>) {
    let mut out = Transcript::default();
    let r = run_source(src, Options { paranoid: true }, &mut out);
    (out, r)
}

#[test]
fn module_alloc_sets_page_obj_and_area_and_explains_each() {
    let (out, r) = run("module alloc\n\
         expect area == 0xffffc90000000000\n\
         expect obj % 128 == 0\n\
         x = kmalloc(0)\n\
         expect x == 16\n\
         kfree(x)\n");
    assert_eq!(r.unwrap(), (3, 0), "{}", out.text);
    assert!(out.text.contains("is in the direct map"), "{}", out.text);
    assert!(out.text.contains("245 page(s) and a guard page"), "{}", out.text);
}

#[test]
fn freeing_twice_is_an_error_at_its_line() {
    let (_, r) = run("p = kmalloc(8)\nkfree(p)\nkfree(p)\n");
    let e = r.unwrap_err();
    assert_eq!((e.line, e.col), (3, 1), "{e}");
    assert!(e.message.contains("was not allocated"), "{e}");
    let (_, r) = run("vfree(0xffffc90000001000)\n");
    assert!(r.is_err());
}

#[test]
fn set_arch_chooses_the_kernel_and_its_processes() {
    let (out, r) = run("set arch i386-pae\nset ram 0x3ffe0000\nv = vmalloc(1)\nexpect v == 0xf77fe000\n");
    assert_eq!(r.unwrap(), (1, 0), "{}", out.text);
    // A native i386 process: the i386 build of the demo program, the stack ending at
    // PAGE_OFFSET, the name column of a 32-bit kernel's maps.
    let (out, r) = run(
        "set arch i386\nprocess A\nmaps\nexpect maps contains \"bffdf000-c0000000 rw-p 00000000 00:00 0          [stack]\"\n",
    );
    assert_eq!(r.unwrap(), (1, 0), "{}", out.text);
    let (_, r) = run("set arch arm64\n");
    assert!(r.unwrap_err().message.contains("x86_64, i386 or i386-pae"));
    let (_, r) = run("process A\nset arch i386\n");
    assert!(r.unwrap_err().message.contains("before the first process"));
}

#[test]
fn module_vmas_walks_the_current_process_in_address_order() {
    let (_, r) = run("process A\nmodule vmas\nmodule nothing\n");
    let e = r.unwrap_err();
    assert_eq!((e.line, e.col), (3, 8), "{e}");
    let (out, r) = run("process A\nmodule vmas\n");
    r.unwrap();
    let lines: Vec<&str> = out.text.lines().filter(|l| l.starts_with("  vma ")).collect();
    assert!(lines.len() >= 5, "{}", out.text);
    let starts: Vec<u64> =
        lines.iter().map(|l| u64::from_str_radix(&l[8..l.find('-').unwrap()], 16).unwrap()).collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]));
}
