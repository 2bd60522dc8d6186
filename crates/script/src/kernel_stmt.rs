//! The kernel-side statements: allocator calls a module makes (`kmalloc`, `vmalloc`, …), the
//! machine-wide /proc files (`buddyinfo`, `slabinfo`, …), the seeds' two modules (`module
//! vmas`, `module alloc`) and `explain`.

use crate::ast::{Expr, KernelCall, KernelView, Module, Name};
use crate::error::Pos;
use crate::interp::Interpreter;
use crate::output::Output;
use crate::value::Value;
use mm::frame::Pfn;
use mm::kalloc::{explain, Gfp};
use mm::Kernel;

/// A kernel call's outcome: the value for the variable, and how it is shown.
enum Outcome {
    /// An address or pfn (0 is NULL).
    Value(u64),
    /// A void call that worked.
    Done,
}

impl Interpreter {
    /// Runs `[VAR =] CALL(ARGS)` of the kernel allocators.
    pub(crate) fn kernel_call(
        &mut self,
        pos: Pos,
        var: Option<&Name>,
        call: KernelCall,
        args: &[Expr],
        out: &mut dyn Output,
    ) -> Result<(), crate::ScriptError> {
        let mut v = Vec::new();
        for a in args {
            v.push(self.int_at(pos, a)?);
        }
        if v.len() != call.arity() {
            return Err(pos.error(format!("`{}` takes {} argument(s)", call.name(), call.arity())));
        }
        let order = |x: u64| -> Result<u8, crate::ScriptError> {
            u8::try_from(x)
                .ok()
                .filter(|&o| o <= mm::frame::MAX_ORDER)
                .ok_or_else(|| pos.error("order must be 0 to 10"))
        };
        let k: &mut Kernel = self.kernel_mut();
        let freed = |r: Result<(), mm::kalloc::ops::KfreeError>| {
            r.map(|_| Outcome::Done).map_err(|e| pos.error(format!("{}: {e}", call.name())))
        };
        let outcome = match call {
            KernelCall::GetFreePage => Outcome::Value(k.get_free_pages(0).unwrap_or(0)),
            KernelCall::GetFreePages => Outcome::Value(k.get_free_pages(order(v[0])?).unwrap_or(0)),
            KernelCall::FreePage => freed(k.free_pages(v[0], 0))?,
            KernelCall::FreePages => freed(k.free_pages(v[0], order(v[1])?))?,
            KernelCall::AllocPage => Outcome::Value(k.alloc_pages(Gfp::HighUser, 0).map_or(0, Pfn::as_u64)),
            KernelCall::FreePagePfn => freed(k.free_pages_pfn(Pfn::new(v[0]), 0))?,
            KernelCall::Kmalloc => Outcome::Value(k.kmalloc(v[0]).unwrap_or(0)),
            KernelCall::Kfree => freed(k.kfree(v[0]))?,
            KernelCall::Vmalloc => Outcome::Value(k.vmalloc(v[0], "script_vmalloc [scenario]").unwrap_or(0)),
            KernelCall::Vfree => freed(k.vfree(v[0]))?,
            KernelCall::Kmap => Outcome::Value(k.kmap(Pfn::new(v[0])).unwrap_or(0)),
            KernelCall::Kunmap => freed(k.kunmap(Pfn::new(v[0])))?,
        };
        let shown: Vec<String> = v.iter().map(|x| format!("{x:#x}")).collect();
        let line = format!("kernel: {}({})", call.name(), shown.join(", "));
        match outcome {
            Outcome::Value(x) => {
                let what = if x == 0 { "NULL".to_string() } else { format!("{x:#x}") };
                let unit = if matches!(call, KernelCall::AllocPage) && x != 0 { " (pfn)" } else { "" };
                emit(out, format!("{line} = {what}{unit}"));
                if let Some(var) = var {
                    self.set_var(&var.name, Value::Int(x));
                }
            }
            Outcome::Done => emit(out, line),
        }
        Ok(())
    }

    /// Prints a machine-wide /proc file.
    pub(crate) fn kernel_view(&mut self, view: KernelView, out: &mut dyn Output) {
        let k = self.kernel_mut();
        let (file, text) = match view {
            KernelView::Buddyinfo => ("buddyinfo", procfs::buddyinfo(k)),
            KernelView::Zoneinfo => ("zoneinfo", procfs::zoneinfo(k)),
            KernelView::Slabinfo => ("slabinfo", procfs::slabinfo(k)),
            KernelView::Vmallocinfo => ("vmallocinfo", procfs::vmallocinfo(k)),
            KernelView::Meminfo => ("meminfo", procfs::meminfo(k)),
            KernelView::SysvipcShm => ("sysvipc/shm", procfs::sysvipc_shm(k)),
        };
        emit(out, format!("kernel: cat /proc/{file}"));
        out.text(&text);
    }

    /// Runs one of the seeds' modules.
    pub(crate) fn module(
        &mut self,
        pos: Pos,
        module: Module,
        named: Option<&Name>,
        out: &mut dyn Output,
    ) -> Result<(), crate::ScriptError> {
        match module {
            Module::Vmas => {
                let (name, pid) = self.process_for(pos, named)?;
                let k = self.kernel_mut();
                let mm = k.mm(pid).map_err(|e| pos.error(format!("no address space: {e}")))?;
                // for_each_vma visits the maple tree in address order, as mm->mmap/vm_next did.
                emit(out, format!("module vmas: for_each_vma over {name} (pid {pid})"));
                let lines: Vec<String> =
                    mm.vmas.iter().map(|v| format!("  vma {:#x}-{:#x}\n", v.start, v.end)).collect();
                out.text(&lines.concat());
            }
            Module::Alloc => {
                let k = self.kernel_mut();
                let page = k.get_free_pages(0).unwrap_or(0);
                let obj = k.kmalloc(100).unwrap_or(0);
                let area = k.vmalloc(1_000_000, "alloc_init [module]").unwrap_or(0);
                emit(
                    out,
                    "module alloc: __get_free_page(GFP_KERNEL), kmalloc(100, GFP_KERNEL), vmalloc(1000000)".into(),
                );
                for (what, addr) in [("__get_free_page", page), ("kmalloc(100)", obj), ("vmalloc(1000000)", area)] {
                    if addr == 0 {
                        emit(out, format!("  {what} = NULL (out of memory)"));
                        continue;
                    }
                    emit(out, format!("  {what} = {addr:#x}"));
                    emit(out, format!("    {}", explain::explain(k.kalloc(), &k.machine().frames, addr)));
                }
                self.set_var("page", Value::Int(page));
                self.set_var("obj", Value::Int(obj));
                self.set_var("area", Value::Int(area));
            }
        }
        Ok(())
    }

    /// Prints why a kernel address is where it is.
    pub(crate) fn explain(&mut self, pos: Pos, addr: &Expr, out: &mut dyn Output) -> Result<(), crate::ScriptError> {
        let a = self.int_at(pos, addr)?;
        let k = self.kernel_mut();
        emit(out, format!("explain: {}", explain::explain(k.kalloc(), &k.machine().frames, a)));
        Ok(())
    }
}

fn emit(out: &mut dyn Output, mut line: String) {
    line.push('\n');
    out.text(&line);
}
