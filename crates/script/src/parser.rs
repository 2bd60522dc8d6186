//! The parser: tokens of one line into a [`Stmt`], and a whole script into a [`Program`].
//!
//! Everything that can be known without running the script is checked here, so that a
//! script with a typo fails before it does anything: statement keywords, call and function
//! names, argument counts, assignments to built-in names. What depends on the run (an
//! unknown variable or process, a string where a number is needed) is checked by the
//! interpreter, with the position the parser recorded.

use crate::ast::*;
use crate::error::{Pos, ScriptError};
use crate::lexer::{lex_line, Tok, Token};

/// Built-in variables: set by the interpreter, not assignable.
pub const BUILTIN_VARS: [&str; 5] = ["errno", "result", "signal", "sigcode", "sigaddr"];

/// The deepest an expression may be: levels of parentheses, unary operators and function
/// arguments while parsing, and of operators in its tree (a chain `1+1+…` of N terms is N-1
/// deep). Everything that walks an expression (the parser, the interpreter, `mmsim check`'s
/// translation) recurses that deep at most, far within a thread's stack.
pub const MAX_EXPR_DEPTH: usize = 256;

/// Parses a whole script. Stops at the first error.
pub fn parse_program(source: &str) -> Result<Program, ScriptError> {
    let mut stmts = Vec::new();
    for (i, text) in source.lines().enumerate() {
        if let Some(stmt) = parse_line(text, i + 1)? {
            stmts.push(stmt);
        }
    }
    Ok(Program { stmts })
}

/// Parses one line (line number `line`, for positions); `None` for a blank or comment line.
pub fn parse_line(text: &str, line: usize) -> Result<Option<Stmt>, ScriptError> {
    let toks = lex_line(text, line)?;
    if toks.is_empty() {
        return Ok(None);
    }
    let mut p = Parser { toks, i: 0, line, chars: text.chars().collect(), nest: 0 };
    let stmt = p.statement()?;
    p.end()?;
    Ok(Some(stmt))
}

/// Rejects a `NAME:` prefix on statements that are not done by a process.
fn no_prefix(proc: &Option<Name>, what: &str) -> PResult<()> {
    match proc {
        Some(n) => Err(n.pos.error(format!("`{what}` does not take a `{}:` process prefix", n.name))),
        None => Ok(()),
    }
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    line: usize,
    chars: Vec<char>,
    /// How deep the parse is in nested expressions (parentheses, unary operators, function
    /// arguments), at most [`MAX_EXPR_DEPTH`].
    nest: usize,
}

/// The error for an expression deeper than [`MAX_EXPR_DEPTH`], at `pos`.
fn too_deep(pos: Pos) -> ScriptError {
    pos.error(format!(
        "expression nested too deeply: more than {MAX_EXPR_DEPTH} levels of parentheses, operators or function calls"
    ))
}

/// How deep the tree of `e` is (a leaf is 1), measured without recursion.
fn depth_of(e: &Expr) -> usize {
    let mut deepest = 0;
    let _ = walk(e, |depth| {
        deepest = deepest.max(depth);
        true
    });
    deepest
}

/// Checks that the tree of `e` is at most [`MAX_EXPR_DEPTH`] deep, without recursion.
fn check_depth(e: &Expr) -> PResult<()> {
    match walk(e, |depth| depth <= MAX_EXPR_DEPTH) {
        Some(pos) => Err(too_deep(pos)),
        None => Ok(()),
    }
}

/// Visits the nodes of `e` with their depth, left to right, until `go_on` says no; returns
/// the position of that node.
fn walk(e: &Expr, mut go_on: impl FnMut(usize) -> bool) -> Option<Pos> {
    let mut stack = vec![(e, 1usize)];
    while let Some((e, depth)) = stack.pop() {
        if !go_on(depth) {
            return Some(e.pos());
        }
        match e {
            Expr::Num(..) | Expr::Str(..) | Expr::Var(_) => {}
            Expr::Unary { expr, .. } => stack.push((expr, depth + 1)),
            Expr::Binary { left, right, .. } => {
                stack.push((right, depth + 1));
                stack.push((left, depth + 1));
            }
            Expr::Func { args, .. } => stack.extend(args.iter().rev().map(|a| (a, depth + 1))),
        }
    }
    None
}

type PResult<T> = Result<T, ScriptError>;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.tok)
    }

    fn peek_at(&self, k: usize) -> Option<&Tok> {
        self.toks.get(self.i + k).map(|t| &t.tok)
    }

    fn peek_ident(&self) -> Option<&str> {
        match self.peek() {
            Some(Tok::Ident(s)) => Some(s),
            _ => None,
        }
    }

    /// Position of the next token, or just past the end of the line.
    fn pos(&self) -> Pos {
        let col = match self.toks.get(self.i) {
            Some(t) => t.col,
            None => self.chars.len() + 1,
        };
        Pos { line: self.line, col }
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(t) => t.describe(),
            None => "end of line".to_string(),
        }
    }

    fn error<T>(&self, msg: impl Into<String>) -> PResult<T> {
        Err(self.pos().error(msg))
    }

    fn bump(&mut self) -> Option<Token> {
        let t = self.toks.get(self.i).cloned();
        self.i += 1;
        t
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == Some(tok) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect_tok(&mut self, tok: Tok, what: &str) -> PResult<()> {
        if self.eat(&tok) {
            Ok(())
        } else {
            self.error(format!("expected {what}, found {}", self.found()))
        }
    }

    fn end(&self) -> PResult<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.error(format!("expected end of line, found {}", self.found())),
        }
    }

    fn name(&mut self, what: &str) -> PResult<Name> {
        let pos = self.pos();
        match self.peek() {
            Some(Tok::Ident(s)) => {
                let name = s.clone();
                self.i += 1;
                Ok(Name { name, pos })
            }
            _ => self.error(format!("expected {what}, found {}", self.found())),
        }
    }

    /// The source text from token `from` up to the current token.
    fn text_since(&self, from: usize) -> String {
        let (Some(first), Some(last)) = (self.toks.get(from), self.toks.get(self.i.wrapping_sub(1))) else {
            return String::new();
        };
        self.chars[first.col - 1..(last.end - 1).min(self.chars.len())].iter().collect()
    }

    fn statement(&mut self) -> PResult<Stmt> {
        let start = self.pos();
        let proc = if matches!(self.peek(), Some(Tok::Ident(_))) && self.peek_at(1) == Some(&Tok::Colon) {
            let n = self.name("a process name")?;
            self.i += 1;
            Some(n)
        } else {
            None
        };
        let kw_pos = self.pos();
        let Some(word) = self.peek_ident().map(str::to_string) else {
            return self.error(format!("expected a statement, found {}", self.found()));
        };
        // An assignment first, so that a variable may share a name with a keyword.
        if self.peek_at(1) == Some(&Tok::Assign) {
            let var = self.name("a variable")?;
            self.i += 1;
            return self.assignment(start, proc, var);
        }
        let kind = match word.as_str() {
            "process" => {
                no_prefix(&proc, "process")?;
                self.i += 1;
                let name = self.name("a process name")?;
                let (empty, i386) = match self.peek_ident() {
                    Some("empty") => {
                        self.i += 1;
                        (true, false)
                    }
                    Some("i386") => {
                        self.i += 1;
                        (false, true)
                    }
                    Some(_) => {
                        return self.error(format!("expected `empty`, `i386` or end of line, found {}", self.found()))
                    }
                    None => (false, false),
                };
                StmtKind::Process { name, empty, i386 }
            }
            "use" => {
                no_prefix(&proc, "use")?;
                self.i += 1;
                StmtKind::Use(self.name("a process name")?)
            }
            "file" => {
                no_prefix(&proc, "file")?;
                self.i += 1;
                let path = self.expr()?;
                let contents = self.expr()?;
                StmtKind::File { path, contents }
            }
            "import" => {
                no_prefix(&proc, "import")?;
                self.i += 1;
                StmtKind::Import { path: self.expr()? }
            }
            "report" => {
                no_prefix(&proc, "report")?;
                self.i += 1;
                StmtKind::Report { path: self.expr()? }
            }
            "set" => {
                no_prefix(&proc, "set")?;
                self.i += 1;
                let name = self.name("a setting name")?;
                let value = self.expr()?;
                StmtKind::Set { name, value }
            }
            "store" => {
                self.i += 1;
                let addr = self.expr()?;
                let first = self.expr()?;
                let data = if self.peek_ident() == Some("x") {
                    self.i += 1;
                    StoreData::Fill { byte: first, len: self.expr()? }
                } else {
                    StoreData::Bytes(first)
                };
                StmtKind::Store { addr, data }
            }
            "load" => {
                self.i += 1;
                let addr = self.expr()?;
                let len = self.expr()?;
                StmtKind::Load { addr, len }
            }
            "exec" => {
                self.i += 1;
                StmtKind::Exec { addr: self.expr()? }
            }
            "cat" => {
                self.i += 1;
                StmtKind::Cat { path: self.expr()? }
            }
            "echo" => {
                self.i += 1;
                let value = self.expr()?;
                if !self.eat(&Tok::Gt) {
                    return self.error(format!("expected `>` and a file after the value, found {}", self.found()));
                }
                StmtKind::Echo { value, path: self.expr()? }
            }
            "mkdir" => {
                no_prefix(&proc, "mkdir")?;
                self.i += 1;
                StmtKind::Mkdir { path: self.expr()? }
            }
            "rmdir" => {
                no_prefix(&proc, "rmdir")?;
                self.i += 1;
                StmtKind::Rmdir { path: self.expr()? }
            }
            "dmesg" => {
                no_prefix(&proc, "dmesg")?;
                self.i += 1;
                StmtKind::Dmesg
            }
            "free" => {
                no_prefix(&proc, "free")?;
                self.i += 1;
                StmtKind::Free
            }
            "swapon" => {
                no_prefix(&proc, "swapon")?;
                self.i += 1;
                let path = self.expr()?;
                let size = self.expr()?;
                let priority = match self.peek_ident() {
                    Some("priority") => {
                        self.i += 1;
                        Some(self.expr()?)
                    }
                    Some(_) => {
                        return self.error(format!("expected `priority` or end of line, found {}", self.found()))
                    }
                    None => None,
                };
                StmtKind::Swapon { path, size, priority }
            }
            "swapoff" => {
                no_prefix(&proc, "swapoff")?;
                self.i += 1;
                StmtKind::Swapoff { path: self.expr()? }
            }
            "swaps" => {
                no_prefix(&proc, "swaps")?;
                self.i += 1;
                StmtKind::Swaps
            }
            "print" => {
                no_prefix(&proc, "print")?;
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    let from = self.i;
                    let expr = self.expr()?;
                    items.push(PrintItem { expr, text: self.text_since(from) });
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
                StmtKind::Print(items)
            }
            "expect" => {
                no_prefix(&proc, "expect")?;
                self.i += 1;
                StmtKind::Expect(self.expect_stmt()?)
            }
            "module" => {
                no_prefix(&proc, "module")?;
                self.i += 1;
                let which = self.name("`vmas` or `alloc`")?;
                let module = match which.name.as_str() {
                    "vmas" => Module::Vmas,
                    "alloc" => Module::Alloc,
                    other => return Err(which.pos.error(format!("unknown module `{other}` (known: vmas, alloc)"))),
                };
                let name = match (module, self.peek()) {
                    (Module::Vmas, Some(Tok::Ident(_))) => Some(self.name("a process name")?),
                    _ => None,
                };
                StmtKind::Module { module, name }
            }
            "explain" => {
                no_prefix(&proc, "explain")?;
                self.i += 1;
                StmtKind::Explain(self.expr()?)
            }
            w => {
                if let Some(view) = KernelView::from_keyword(w) {
                    no_prefix(&proc, w)?;
                    self.i += 1;
                    StmtKind::KernelView(view)
                } else if let Some(call) = KernelCall::from_name(w) {
                    no_prefix(&proc, w)?;
                    self.i += 1;
                    self.kernel_call(kw_pos, None, call)?
                } else if let Some(view) = View::from_keyword(w) {
                    self.i += 1;
                    let name = match self.peek() {
                        Some(Tok::Ident(_)) => Some(self.name("a process name")?),
                        _ => None,
                    };
                    if let (Some(p), Some(n)) = (&proc, &name) {
                        return Err(n
                            .pos
                            .error(format!("the process is given twice (`{}:` and `{}`)", p.name, n.name)));
                    }
                    StmtKind::View { view, name }
                } else if let Some(call) = Syscall::from_name(w) {
                    self.i += 1;
                    self.call(kw_pos, None, call)?
                } else if self.peek_at(1) == Some(&Tok::LParen) {
                    return Err(kw_pos.error(format!("unknown system call `{w}`")));
                } else {
                    return Err(kw_pos.error(format!("unknown statement `{w}`")));
                }
            }
        };
        Ok(Stmt { pos: start, proc, kind })
    }

    fn assignment(&mut self, start: Pos, proc: Option<Name>, var: Name) -> PResult<Stmt> {
        // Call names are not variables, so `x = mmap` is a call missing its `(`.
        if let Some(call) = self.peek_ident().and_then(KernelCall::from_name) {
            no_prefix(&proc, call.name())?;
            let pos = self.pos();
            self.i += 1;
            let kind = self.kernel_call(pos, Some(var), call)?;
            return Ok(Stmt { pos: start, proc, kind });
        }
        let is_call = self.peek_ident().and_then(Syscall::from_name);
        if let Some(call) = is_call {
            let pos = self.pos();
            self.i += 1;
            let kind = self.call(pos, Some(var), call)?;
            return Ok(Stmt { pos: start, proc, kind });
        }
        if BUILTIN_VARS.contains(&var.name.as_str()) {
            return Err(var.pos.error(format!("cannot assign to `{}`: it is set by the interpreter", var.name)));
        }
        if crate::value::constant(&var.name).is_some() {
            return Err(var.pos.error(format!("cannot assign to `{}`: it is a constant", var.name)));
        }
        if let Some(n) = &proc {
            return Err(n.pos.error("an assignment does not take a process prefix".to_string()));
        }
        let value = self.expr()?;
        Ok(Stmt { pos: start, proc, kind: StmtKind::Let { var, value } })
    }

    /// A parenthesized argument list (the `(` not yet consumed) and each argument's position.
    fn arguments(&mut self) -> PResult<(Vec<Expr>, Vec<Pos>)> {
        self.expect_tok(Tok::LParen, "`(`")?;
        let mut args = Vec::new();
        let mut at = Vec::new();
        if !self.eat(&Tok::RParen) {
            loop {
                at.push(self.pos());
                args.push(self.expr()?);
                if self.eat(&Tok::RParen) {
                    break;
                }
                self.expect_tok(Tok::Comma, "`,` or `)`")?;
            }
        }
        Ok((args, at))
    }

    fn kernel_call(&mut self, pos: Pos, var: Option<Name>, call: KernelCall) -> PResult<StmtKind> {
        let (args, _) = self.arguments()?;
        let n = call.arity();
        if args.len() != n {
            let s = if n == 1 { "" } else { "s" };
            return Err(pos.error(format!("`{}` takes {n} argument{s}, got {}", call.name(), args.len())));
        }
        if let Some(v) = &var {
            if BUILTIN_VARS.contains(&v.name.as_str()) || crate::value::constant(&v.name).is_some() {
                return Err(v.pos.error(format!("cannot assign to `{}`", v.name)));
            }
        }
        Ok(StmtKind::Kernel { var, call, args })
    }

    fn call(&mut self, pos: Pos, var: Option<Name>, call: Syscall) -> PResult<StmtKind> {
        let (args, at) = self.arguments()?;
        let (lo, hi) = call.arity();
        if args.len() < lo || args.len() > hi {
            let want = if lo == hi { format!("{lo}") } else { format!("{lo} or {hi}") };
            let s = if hi == 1 { "" } else { "s" };
            return Err(pos.error(format!("`{}` takes {want} argument{s}, got {}", call.name(), args.len())));
        }
        if let Some(v) = &var {
            if BUILTIN_VARS.contains(&v.name.as_str()) {
                return Err(v.pos.error(format!("cannot assign to `{}`: it is set by the interpreter", v.name)));
            }
            if crate::value::constant(&v.name).is_some() {
                return Err(v.pos.error(format!("cannot assign to `{}`: it is a constant", v.name)));
            }
        }
        match call {
            Syscall::Fork => {
                if var.is_none() {
                    return Err(pos.error("`fork` needs a name for the child: `CHILD = fork()`"));
                }
                if let Some(a) = args.first() {
                    if !matches!(a, Expr::Var(_)) {
                        return Err(at[0].error("the argument of `fork` is the parent's process name"));
                    }
                }
            }
            Syscall::Exit => {
                if let Some(v) = &var {
                    return Err(v.pos.error("`exit` does not return"));
                }
            }
            _ => {}
        }
        Ok(StmtKind::Call { var, call, args })
    }

    fn expect_stmt(&mut self) -> PResult<Expect> {
        let from = self.i;
        let check = self.check()?;
        Ok(Expect { text: self.text_since(from), check })
    }

    fn check(&mut self) -> PResult<Check> {
        let prefix = if matches!(self.peek(), Some(Tok::Ident(_))) && self.peek_at(1) == Some(&Tok::Colon) {
            let n = self.name("a process name")?;
            self.i += 1;
            if self.peek_ident() != Some("load") {
                return self.error(format!("expected `load` after `{}:`, found {}", n.name, self.found()));
            }
            Some(n)
        } else {
            None
        };
        let word = self.peek_ident().map(str::to_string);
        let next_is_word = matches!(self.peek_at(1), Some(Tok::Ident(_)));
        if word.as_deref() == Some("load") {
            self.i += 1;
            let addr = self.expr()?;
            let len = self.expr()?;
            let op_pos = self.pos();
            let op = self.cmp_op()?;
            if !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                return Err(op_pos.error("a load is compared with `==` or `!=`"));
            }
            let want = self.expr()?;
            return Ok(Check::Load { proc: prefix, addr, len, op, want });
        }
        if let Some(view) = word.as_deref().and_then(View::from_keyword).filter(|_| next_is_word) {
            let view_pos = self.pos();
            if !view.is_text() {
                return Err(view_pos.error("`expect` can search maps, smaps, rollup, status and statm"));
            }
            self.i += 1;
            let name = match (self.peek_ident(), self.peek_at(1)) {
                (Some("contains" | "lines" | "not"), _) => None,
                (Some(_), _) => Some(self.name("a process name")?),
                (None, _) => None,
            };
            match self.peek_ident() {
                Some("not") => {
                    self.i += 1;
                    if self.peek_ident() != Some("contains") {
                        return self.error(format!("expected `contains` after `not`, found {}", self.found()));
                    }
                    self.i += 1;
                    Ok(Check::Contains { view, name, negated: true, text: self.expr()? })
                }
                Some("contains") => {
                    self.i += 1;
                    Ok(Check::Contains { view, name, negated: false, text: self.expr()? })
                }
                Some("lines") => {
                    self.i += 1;
                    let op = self.cmp_op()?;
                    Ok(Check::Lines { view, name, op, count: self.expr()? })
                }
                _ => self.error(format!("expected `contains`, `not contains` or `lines`, found {}", self.found())),
            }
        } else {
            let left = self.expr()?;
            let op = self.cmp_op()?;
            let right = self.expr()?;
            Ok(Check::Compare { left, op, right })
        }
    }

    fn cmp_op(&mut self) -> PResult<CmpOp> {
        let op = match self.peek() {
            Some(Tok::Eq) => CmpOp::Eq,
            Some(Tok::Ne) => CmpOp::Ne,
            Some(Tok::Lt) => CmpOp::Lt,
            Some(Tok::Le) => CmpOp::Le,
            Some(Tok::Gt) => CmpOp::Gt,
            Some(Tok::Ge) => CmpOp::Ge,
            Some(Tok::Assign) => return self.error("expected a comparison; use `==` to compare"),
            _ => return self.error(format!("expected a comparison (== != < <= > >=), found {}", self.found())),
        };
        self.i += 1;
        Ok(op)
    }

    /// An expression, C precedence: `|` < `&` < shifts < `+ -` < `* / %` < unary.
    /// At most [`MAX_EXPR_DEPTH`] deep, nested or chained.
    pub(crate) fn expr(&mut self) -> PResult<Expr> {
        self.deeper()?;
        let e = self.binary(0);
        self.nest -= 1;
        let e = e?;
        if self.nest == 0 {
            check_depth(&e)?;
        }
        Ok(e)
    }

    /// One more level of nesting, unless that is one too many.
    fn deeper(&mut self) -> PResult<()> {
        if self.nest >= MAX_EXPR_DEPTH {
            return Err(too_deep(self.pos()));
        }
        self.nest += 1;
        Ok(())
    }

    fn binary(&mut self, level: usize) -> PResult<Expr> {
        const LEVELS: [&[(Tok, BinOp)]; 5] = [
            &[(Tok::Pipe, BinOp::Or)],
            &[(Tok::Amp, BinOp::And)],
            &[(Tok::Shl, BinOp::Shl), (Tok::Shr, BinOp::Shr)],
            &[(Tok::Plus, BinOp::Add), (Tok::Minus, BinOp::Sub)],
            &[(Tok::Star, BinOp::Mul), (Tok::Slash, BinOp::Div), (Tok::Percent, BinOp::Rem)],
        ];
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        // A chain is parsed in a loop, but its tree is as deep as it is long.
        let mut depth = None;
        loop {
            let Some(&(_, op)) = LEVELS[level].iter().find(|(t, _)| Some(t) == self.peek()) else {
                return Ok(left);
            };
            let pos = self.pos();
            self.i += 1;
            let right = self.binary(level + 1)?;
            let d = 1 + depth.unwrap_or_else(|| depth_of(&left)).max(depth_of(&right));
            if d > MAX_EXPR_DEPTH {
                return Err(too_deep(pos));
            }
            depth = Some(d);
            left = Expr::Binary { op, left: Box::new(left), right: Box::new(right), pos };
        }
    }

    fn unary(&mut self) -> PResult<Expr> {
        let pos = self.pos();
        let op = match self.peek() {
            Some(Tok::Minus) => UnOp::Neg,
            Some(Tok::Tilde) => UnOp::Not,
            _ => return self.primary(),
        };
        self.i += 1;
        self.deeper()?;
        let expr = self.unary();
        self.nest -= 1;
        Ok(Expr::Unary { op, expr: Box::new(expr?), pos })
    }

    fn primary(&mut self) -> PResult<Expr> {
        let pos = self.pos();
        let Some(tok) = self.bump() else {
            return Err(pos.error("expected an expression, found end of line"));
        };
        match tok.tok {
            Tok::Num(n) => Ok(Expr::Num(n, pos)),
            Tok::Str(s) => Ok(Expr::Str(s, pos)),
            Tok::LParen => {
                let e = self.expr()?;
                self.expect_tok(Tok::RParen, "`)`")?;
                Ok(e)
            }
            Tok::Ident(name) => {
                if self.peek() == Some(&Tok::LParen) {
                    self.function(name, pos)
                } else {
                    Ok(Expr::Var(Name { name, pos }))
                }
            }
            other => {
                self.i -= 1;
                self.error(format!("expected an expression, found {}", other.describe()))
            }
        }
    }

    fn function(&mut self, name: String, pos: Pos) -> PResult<Expr> {
        let Some((func, proc_arg, n)) = Func::lookup(&name) else {
            if Syscall::from_name(&name).is_some() {
                return Err(
                    pos.error(format!("`{name}` is a system call: write it as a statement, e.g. `r = {name}(...)`"))
                );
            }
            return Err(pos.error(format!("unknown function `{name}`")));
        };
        let (mut args, at) = self.arguments()?;
        let usage = || {
            let mut parts: Vec<&str> = Vec::new();
            if proc_arg == ProcArg::Optional {
                parts.push("[PROCESS]");
            }
            if n == 1 {
                parts.push("ADDR");
            }
            format!("`{name}({})`", parts.join(", "))
        };
        let proc = if args.len() == n + 1 && proc_arg == ProcArg::Optional {
            match args.remove(0) {
                Expr::Var(p) => Some(p),
                _ => return Err(at[0].error(format!("the first argument of {} is a process name", usage()))),
            }
        } else if args.len() == n {
            None
        } else {
            return Err(pos.error(format!("wrong number of arguments: use {}", usage())));
        };
        Ok(Expr::Func { func, proc, args, pos })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Stmt {
        parse_line(s, 1).unwrap().unwrap()
    }

    fn err(s: &str) -> ScriptError {
        parse_line(s, 7).unwrap_err()
    }

    fn var_at(name: &str, col: usize) -> Expr {
        Expr::Var(Name { name: name.into(), pos: Pos { line: 1, col } })
    }

    #[test]
    fn blank_and_comment_lines_are_nothing() {
        assert_eq!(parse_line("", 1).unwrap(), None);
        assert_eq!(parse_line("   # a comment", 1).unwrap(), None);
        let p = parse_program("# hi\n\nprocess A\n  maps\n").unwrap();
        assert_eq!(p.stmts.len(), 2);
        assert_eq!(p.stmts[1].pos, Pos { line: 4, col: 3 });
    }

    #[test]
    fn calls_with_prefix_and_variable() {
        let s = one("A: p = mmap(NULL, 16K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)");
        assert_eq!(s.proc.as_ref().unwrap().name, "A");
        let StmtKind::Call { var, call, args } = s.kind else { panic!("not a call") };
        assert_eq!(var.unwrap().name, "p");
        assert_eq!(call, Syscall::Mmap);
        assert_eq!(args.len(), 6);
        assert_eq!(args[0], var_at("NULL", 13));
        assert_eq!(args[1], Expr::Num(16384, Pos { line: 1, col: 19 }));
        assert!(matches!(args[2], Expr::Binary { op: BinOp::Or, .. }));
        assert!(matches!(args[4], Expr::Unary { op: UnOp::Neg, .. }));
    }

    #[test]
    fn precedence_is_c_like() {
        let StmtKind::Let { value, .. } = one("x = 1 + 2 * 3 | 4 << 1").kind else { panic!() };
        // (1 + (2 * 3)) | (4 << 1)
        let Expr::Binary { op: BinOp::Or, left, right, .. } = value else { panic!("{value:?}") };
        assert!(matches!(*left, Expr::Binary { op: BinOp::Add, .. }));
        assert!(matches!(*right, Expr::Binary { op: BinOp::Shl, .. }));
    }

    #[test]
    fn fork_forms() {
        let StmtKind::Call { var, args, .. } = one("B = fork(A)").kind else { panic!() };
        assert_eq!(var.unwrap().name, "B");
        assert_eq!(args, vec![var_at("A", 10)]);
        let s = one("A: B = fork()");
        assert_eq!(s.proc.unwrap().name, "A");
        assert_eq!(err("fork()").message, "`fork` needs a name for the child: `CHILD = fork()`");
        assert_eq!(err("B = fork(1)").col, 10);
    }

    #[test]
    fn store_forms() {
        let StmtKind::Store { data, .. } = one(r#"store p "hi\n""#).kind else { panic!() };
        assert_eq!(data, StoreData::Bytes(Expr::Str(b"hi\n".to_vec(), Pos { line: 1, col: 9 })));
        let StmtKind::Store { addr, data } = one("B: store p + 4K 0x41 x 2*4K").kind else { panic!() };
        assert!(matches!(addr, Expr::Binary { op: BinOp::Add, .. }));
        assert!(matches!(data, StoreData::Fill { byte: Expr::Num(0x41, _), len: Expr::Binary { .. } }));
    }

    #[test]
    fn views_with_and_without_a_process() {
        assert_eq!(one("maps").kind, StmtKind::View { view: View::Maps, name: None });
        let StmtKind::View { view, name } = one("rollup child").kind else { panic!() };
        assert_eq!((view, name.unwrap().name.as_str()), (View::Rollup, "child"));
        assert_eq!(one("A: events").proc.unwrap().name, "A");
        let e = err("A: maps B");
        assert_eq!(e.col, 9);
    }

    #[test]
    fn expect_forms() {
        let StmtKind::Expect(e) = one("expect rss(A) == 16K   # comment").kind else { panic!() };
        assert_eq!(e.text, "rss(A) == 16K");
        assert!(matches!(e.check, Check::Compare { op: CmpOp::Eq, .. }));
        let StmtKind::Expect(e) = one(r#"expect B: load p 5 == "hello""#).kind else { panic!() };
        assert!(matches!(e.check, Check::Load { proc: Some(_), op: CmpOp::Eq, .. }));
        let StmtKind::Expect(e) = one(r#"expect maps A contains "[heap]""#).kind else { panic!() };
        assert!(matches!(e.check, Check::Contains { view: View::Maps, name: Some(_), negated: false, .. }));
        let StmtKind::Expect(e) = one(r#"expect smaps not contains "x""#).kind else { panic!() };
        assert!(matches!(e.check, Check::Contains { view: View::Smaps, name: None, negated: true, .. }));
        let StmtKind::Expect(e) = one("expect maps lines >= 3").kind else { panic!() };
        assert!(matches!(e.check, Check::Lines { op: CmpOp::Ge, .. }));
        let StmtKind::Expect(e) = one("expect errno == ENOMEM").kind else { panic!() };
        assert_eq!(e.text, "errno == ENOMEM");
    }

    #[test]
    fn functions_take_an_optional_process() {
        let StmtKind::Let { value, .. } = one("x = pfn(A, p) + pfn(p) + rss() + free_frames()").kind else { panic!() };
        let mut funcs = Vec::new();
        fn walk(e: &Expr, out: &mut Vec<(Func, Option<String>, usize)>) {
            match e {
                Expr::Func { func, proc, args, .. } => {
                    out.push((*func, proc.as_ref().map(|p| p.name.clone()), args.len()))
                }
                Expr::Binary { left, right, .. } => {
                    walk(left, out);
                    walk(right, out);
                }
                _ => {}
            }
        }
        walk(&value, &mut funcs);
        assert_eq!(
            funcs,
            vec![
                (Func::Pfn, Some("A".into()), 1),
                (Func::Pfn, None, 1),
                (Func::Rss, None, 0),
                (Func::FreeFrames, None, 0)
            ]
        );
    }

    #[test]
    fn errors_carry_line_and_column() {
        let cases: &[(&str, usize, &str)] = &[
            ("frobnicate", 1, "unknown statement `frobnicate`"),
            ("p = mmap(0, 4K)", 5, "`mmap` takes 6 arguments, got 2"),
            ("  munmap(p 4K)", 12, "expected `,` or `)`, found number 4096"),
            ("x = 1 +", 8, "expected an expression, found end of line"),
            ("x = (1 + 2", 11, "expected `)`, found end of line"),
            ("x = rss(A, B)", 5, "wrong number of arguments: use `rss([PROCESS])`"),
            ("x = pfn(1, p)", 9, "the first argument of `pfn([PROCESS], ADDR)` is a process name"),
            ("x = nosuch(1)", 5, "unknown function `nosuch`"),
            ("x = mmap", 9, "expected `(`, found end of line"),
            ("expect rss(A) = 3", 15, "expected a comparison; use `==` to compare"),
            ("expect 1", 9, "expected a comparison (== != < <= > >=), found end of line"),
            ("errno = 3", 1, "cannot assign to `errno`: it is set by the interpreter"),
            ("PROT_READ = 3", 1, "cannot assign to `PROT_READ`: it is a constant"),
            ("A: process B", 1, "`process` does not take a `A:` process prefix"),
            ("process A full", 11, "expected `empty`, `i386` or end of line, found `full`"),
            ("maps A B", 8, "expected end of line, found `B`"),
            ("x = 1 + mmap(1,2,3,4,5,6)", 9, "`mmap` is a system call: write it as a statement, e.g. `r = mmap(...)`"),
            ("expect A: maps", 11, "expected `load` after `A:`, found `maps`"),
            ("expect events A contains \"x\"", 8, "`expect` can search maps, smaps, rollup, status and statm"),
            ("expect load p 1 < \"a\"", 17, "a load is compared with `==` or `!=`"),
            ("x = exit(0)", 1, "`exit` does not return"),
            ("mbind(p, 4K, 4)", 1, "unknown system call `mbind`"),
            ("x = 0x", 5, "invalid number `0x`"),
            ("x = \"abc", 5, "unterminated string"),
            ("= 3", 1, "expected a statement, found `=`"),
        ];
        for &(src, col, msg) in cases {
            let e = parse_line(src, 7).expect_err(src);
            assert_eq!((e.line, e.col, e.message.as_str()), (7, col, msg), "for {src:?}");
        }
    }

    #[test]
    fn program_errors_name_the_right_line() {
        let e = parse_program("process A\n\nmaps\nmaps A B\n").unwrap_err();
        assert_eq!((e.line, e.col), (4, 8));
    }

    #[test]
    fn a_variable_may_share_a_keyword_name() {
        assert!(matches!(one("free = 3").kind, StmtKind::Let { .. }));
        assert!(matches!(one("load = mmap(0, 4K, 3, 0x22, -1, 0)").kind, StmtKind::Call { .. }));
    }
}
