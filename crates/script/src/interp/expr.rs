//! The interpreter's expressions: values of numbers, strings, variables and registers,
//! checked arithmetic (a script that overflows has a mistake in it), and the built-in
//! functions that read the model (`rss`, `pfn`, `vmas`, `minflt`, ...).

use super::*;

impl Interpreter {
    /// Evaluates an expression in the context of a statement.
    pub(super) fn eval(&mut self, cx: Cx, e: &Expr) -> RResult<Value> {
        Ok(match e {
            Expr::Num(n, _) => Value::Int(*n),
            Expr::Str(s, _) => Value::Str(s.clone()),
            Expr::Var(n) => self.lookup(n)?,
            Expr::Unary { op, expr, .. } => {
                let v = self.int(cx, expr)?;
                Value::Int(match op {
                    UnOp::Neg => v.wrapping_neg(),
                    UnOp::Not => !v,
                })
            }
            Expr::Binary { op, left, right, pos } => {
                let a = self.eval(cx, left)?;
                let b = self.eval(cx, right)?;
                match (a, b) {
                    (Value::Int(x), Value::Int(y)) => Value::Int(arith(*op, x, y, *pos)?),
                    (Value::Str(mut x), Value::Str(y)) if *op == BinOp::Add => {
                        x.extend_from_slice(&y);
                        Value::Str(x)
                    }
                    (a, b) => {
                        return Err(pos.error(format!(
                            "cannot apply `{}` to {} and {}",
                            binop_symbol(*op),
                            a.kind(),
                            b.kind()
                        )))
                    }
                }
            }
            Expr::Func { func: Func::Hex, args, pos, .. } => {
                let [arg] = args.as_slice() else {
                    return Err(pos.error("`hex` takes one argument"));
                };
                let n = self.int(cx, arg)?;
                Value::Str(format!("{n:08x}").into_bytes())
            }
            Expr::Func { func, proc, args, pos } => Value::Int(self.func(cx, *func, proc.as_ref(), args, *pos)?),
        })
    }

    pub(super) fn lookup(&self, n: &Name) -> RResult<Value> {
        if let Some(v) = self.vars.get(&n.name) {
            return Ok(v.clone());
        }
        let builtin = match n.name.as_str() {
            "errno" => Some(self.errno),
            "result" => Some(self.result),
            "signal" => Some(self.signal),
            "sigcode" => Some(self.sigcode),
            "sigaddr" => Some(self.sigaddr),
            _ => None,
        };
        if let Some(v) = builtin.or_else(|| value::constant(&n.name)) {
            return Ok(Value::Int(v));
        }
        if self.procs.contains_key(&n.name) {
            return Err(n.pos.error(format!("`{0}` is a process, not a value (its pid is `pid({0})`)", n.name)));
        }
        Err(n.pos.error(format!("unknown name `{}`", n.name)))
    }

    pub(super) fn int(&mut self, cx: Cx, e: &Expr) -> RResult<u64> {
        match self.eval(cx, e)? {
            Value::Int(n) => Ok(n),
            Value::Str(_) => Err(e.pos().error("expected a number, found a string")),
        }
    }

    pub(super) fn ints(&mut self, cx: Cx, es: &[Expr]) -> RResult<Vec<u64>> {
        es.iter().map(|e| self.int(cx, e)).collect()
    }

    /// A byte count for a memory transfer, at most [`MAX_TRANSFER`].
    pub(super) fn length(&mut self, cx: Cx, e: &Expr) -> RResult<u64> {
        let n = self.int(cx, e)?;
        if n > MAX_TRANSFER {
            return Err(e.pos().error(format!("length {n} is over the simulator's limit of 64M per transfer")));
        }
        Ok(n)
    }

    pub(super) fn string(&mut self, cx: Cx, e: &Expr) -> RResult<Vec<u8>> {
        match self.eval(cx, e)? {
            Value::Str(s) => Ok(s),
            Value::Int(_) => Err(e.pos().error("expected a string, found a number")),
        }
    }

    /// A path or name: a string that is valid UTF-8.
    pub(super) fn path(&mut self, cx: Cx, e: &Expr) -> RResult<String> {
        let s = self.string(cx, e)?;
        String::from_utf8(s).map_err(|_| e.pos().error("a path must be valid UTF-8"))
    }

    pub(super) fn func(&mut self, cx: Cx, func: Func, proc: Option<&Name>, args: &[Expr], pos: Pos) -> RResult<u64> {
        if let Some(v) = self.sysfs_func(cx, func, proc, args, pos)? {
            return Ok(v);
        }
        let frames = &self.kernel.machine().frames;
        match func {
            Func::FreeFrames => return Ok(frames.free_frames()),
            Func::TotalFrames => return Ok(frames.total_frames()),
            Func::ZeroPfn => return Ok(frames.zero_pfn().as_u64()),
            Func::ShmNattch => {
                let id = self.int(cx, &args[0])?;
                let stat = u32::try_from(id).ok().and_then(|id| self.kernel.shm_stat(id));
                return stat.map(|s| s.nattch).ok_or_else(|| pos.error(format!("no SysV segment {id}")));
            }
            _ => {}
        }
        let fcx = Cx { proc: cx.proc, pos };
        let (name, pid) = self.target(fcx, proc)?;
        let addr = match args.first() {
            Some(a) => Some(self.int(cx, a)?),
            None => None,
        };
        let k = &self.kernel;
        let mm = k.mm(pid).map_err(|e| pos.error(format!("process `{name}`: {e}")))?;
        let task = k.task(pid);
        let pte = |addr: u64| {
            if addr >= mm::layout::TASK_SIZE {
                return None;
            }
            let pte = mm::pgtable::lookup(&k.machine().frames, mm.pgd, addr & PAGE_MASK);
            pte.mapped().then(|| pte.pfn().as_u64())
        };
        Ok(match func {
            Func::Rss => mm.rss.total().bytes(),
            // smaps keeps Pss in bytes << 12; the sum over VMAs is exact until shifted back.
            Func::Pss => mm.vmas.iter().map(|v| procfs::vma_usage(k, mm, v).pss).sum::<u64>() >> 12,
            Func::Anon => mm.rss.anon.bytes(),
            Func::FileRss => mm.rss.file.bytes(),
            Func::Shmem => mm.rss.shmem.bytes(),
            Func::Vmas => mm.map_count() as u64,
            Func::Vmsize => mm.total_vm.bytes(),
            Func::Minflt => task.map(|t| t.min_flt).unwrap_or(0),
            Func::Majflt => task.map(|t| t.maj_flt).unwrap_or(0),
            Func::Pid => u64::from(pid),
            Func::PtePresent => pte(addr.unwrap_or(0)).is_some() as u64,
            Func::Pfn => pte(addr.unwrap_or(0)).unwrap_or(0),
            Func::LoadByte => {
                let a = addr.unwrap_or(0);
                match self.kernel.load(pid, a, 1) {
                    Ok(b) => u64::from(b.first().copied().unwrap_or(0)),
                    Err(sig) => return Err(pos.error(format!("load_byte({name}, {a:#x}): {sig}"))),
                }
            }
            Func::FreeFrames
            | Func::TotalFrames
            | Func::ZeroPfn
            | Func::ShmNattch
            | Func::Hex
            | Func::WaitStatus
            | Func::FileValue
            | Func::FileKey
            | Func::DmesgCount => unreachable!("answered above"),
        })
    }
}

pub(super) fn binop_symbol(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Rem => "%",
        BinOp::Shl => "<<",
        BinOp::Shr => ">>",
        BinOp::And => "&",
        BinOp::Or => "|",
    }
}

/// Checked arithmetic: a script that overflows has a mistake in it, so it is an error rather
/// than a silently wrapped address.
pub(super) fn arith(op: BinOp, x: u64, y: u64, pos: Pos) -> RResult<u64> {
    let overflow = || pos.error(format!("arithmetic overflow in `{}`", binop_symbol(op)));
    match op {
        BinOp::Add => x.checked_add(y).ok_or_else(overflow),
        BinOp::Sub => {
            x.checked_sub(y).ok_or_else(|| pos.error("arithmetic underflow in `-` (the result would be negative)"))
        }
        BinOp::Mul => x.checked_mul(y).ok_or_else(overflow),
        BinOp::Div => x.checked_div(y).ok_or_else(|| pos.error("division by zero")),
        BinOp::Rem => x.checked_rem(y).ok_or_else(|| pos.error("division by zero")),
        BinOp::Shl => {
            let r = u32::try_from(y).ok().and_then(|s| x.checked_shl(s)).ok_or_else(overflow)?;
            if r >> y != x {
                return Err(overflow());
            }
            Ok(r)
        }
        BinOp::Shr => Ok(u32::try_from(y).ok().and_then(|s| x.checked_shr(s)).unwrap_or(0)),
        BinOp::And => Ok(x & y),
        BinOp::Or => Ok(x | y),
    }
}
