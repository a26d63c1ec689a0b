//! Printer for the textual IR: custom form by default, generic form on request.
//!
//! Output is deterministic: values are numbered in definition order per
//! isolated-from-above op (`%0`, `%1`, block arguments `%arg0`), attributes
//! are sorted, and resource blobs are printed sorted by key.

use crate::attrs::Attribute;
use crate::dialect::{Context, Syntax, Traits};
use crate::intern::Sym;
use crate::module::{BlockId, Module, OpId, RegionId, ValueId};
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;
use std::fmt::{self, Write as _};

#[derive(Clone, Copy, Default)]
pub struct PrintOptions {
    /// Print every op in the generic `"name"(...)` form.
    pub generic: bool,
    /// Omit the `{-# dialect_resources #-}` section (for IR dumps between passes).
    pub elide_resources: bool,
}

/// The printed name of each value, `(number, is block argument, result
/// index + 1 in a group or 0)`, indexed by the value's arena slot.
#[derive(Default)]
struct ValueNames(Vec<Option<(ValueId, u32, bool, u32)>>);

impl ValueNames {
    fn insert(&mut self, v: ValueId, name: (u32, bool, u32)) {
        let i = v.index();
        if i >= self.0.len() {
            self.0.resize((i + 1).max(2 * self.0.len()), None);
        }
        self.0[i] = Some((v, name.0, name.1, name.2));
    }

    fn get(&self, v: ValueId) -> Option<(u32, bool, u32)> {
        match self.0.get(v.index()).copied().flatten() {
            Some((id, n, arg, i)) if id == v => Some((n, arg, i)),
            _ => None,
        }
    }
}

pub struct Printer<'a> {
    pub m: &'a Module,
    ctx: &'a Context,
    opts: PrintOptions,
    pub out: String,
    names: ValueNames,
    /// Printed types, cached: a model prints the same few types many times.
    type_text: FxHashMap<crate::Type, String>,
    counters: Vec<(u32, u32)>,
    indent: usize,
}

/// Prints a whole module (with its resources section unless elided).
pub fn print_module(m: &Module, ctx: &Context, opts: PrintOptions) -> String {
    let mut p = Printer::new(m, ctx, opts);
    p.print_op(m.top());
    p.out.push('\n');
    if !opts.elide_resources {
        p.print_resources();
    }
    p.out
}

/// Prints one op (and its nested ops) without the resources section.
pub fn print_op(m: &Module, ctx: &Context, op: OpId, opts: PrintOptions) -> String {
    let mut p = Printer::new(m, ctx, opts);
    p.print_op(op);
    p.out.push('\n');
    p.out
}

/// A string written with quotes and the escapes the lexer understands (no allocation).
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_quoted(f, self.0)
    }
}

/// Writes `s` quoted, with the escapes the lexer understands.
pub fn write_quoted(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        f.write_str(s)?;
        return f.write_str("\"");
    }
    {
        let mut plain = 0;
        for (i, c) in s.char_indices() {
            let esc = match c {
                '"' => Some("\\\""),
                '\\' => Some("\\\\"),
                '\n' => Some("\\n"),
                '\t' => Some("\\t"),
                c if (c as u32) < 0x20 => None,
                _ => continue,
            };
            f.write_str(&s[plain..i])?;
            match esc {
                Some(e) => f.write_str(e)?,
                None => write!(f, "\\{:02X}", c as u32)?,
            }
            plain = i + c.len_utf8();
        }
        f.write_str(&s[plain..])?;
    }
    f.write_str("\"")
}

/// Quotes a string with the escapes the lexer understands.
pub fn quote(s: &str) -> String {
    Quoted(s).to_string()
}

fn is_bare_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'$' | b'.'))
}

/// A symbol name as written after `@`.
pub fn symbol_text(s: &str) -> String {
    if is_bare_id(s) {
        s.to_owned()
    } else {
        quote(s)
    }
}

/// A resource key as written inside `dense_resource<...>`.
pub fn resource_key_text(s: &str) -> String {
    symbol_text(s)
}

/// `key = value`, or just `key` for unit attributes.
pub fn write_attr_entry(f: &mut impl fmt::Write, k: Sym, v: &Attribute) -> fmt::Result {
    let key = k.as_str();
    if is_bare_id(key) {
        f.write_str(key)?;
    } else {
        write_quoted(f, key)?;
    }
    match v {
        Attribute::Unit => Ok(()),
        v => {
            f.write_str(" = ")?;
            v.write_to(f)
        }
    }
}

impl<'a> Printer<'a> {
    pub fn new(m: &'a Module, ctx: &'a Context, opts: PrintOptions) -> Printer<'a> {
        Printer {
            m,
            ctx,
            opts,
            out: String::new(),
            names: ValueNames::default(),
            type_text: FxHashMap::default(),
            counters: vec![(0, 0)],
            indent: 0,
        }
    }

    fn newline(&mut self) {
        self.out.push('\n');
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
    }

    fn name_results(&mut self, op: OpId) {
        let results = self.m.op(op).results();
        let n = self.counters.last_mut().expect("counter stack");
        let id = n.0;
        n.0 += 1;
        for (i, &r) in results.iter().enumerate() {
            self.names.insert(
                r,
                (id, false, if results.len() > 1 { i as u32 + 1 } else { 0 }),
            );
        }
    }

    fn name_block_args(&mut self, block: BlockId) {
        for &a in self.m.block(block).args() {
            let n = self.counters.last_mut().expect("counter stack");
            self.names.insert(a, (n.1, true, 0));
            n.1 += 1;
        }
    }

    /// Writes a value's name (`%3`, `%arg0`, `%4#1`).
    pub fn value(&mut self, v: ValueId) {
        match self.names.get(v) {
            Some((n, true, _)) => {
                self.out.push_str("%arg");
                push_u32(&mut self.out, n);
            }
            Some((n, false, i)) => {
                self.out.push('%');
                push_u32(&mut self.out, n);
                if i > 0 {
                    self.out.push('#');
                    push_u32(&mut self.out, i - 1);
                }
            }
            None => self.out.push_str("%<<UNKNOWN>>"),
        }
    }

    pub fn value_list(&mut self, vs: &[ValueId]) {
        for (i, &v) in vs.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.value(v);
        }
    }

    pub fn write(&mut self, s: &str) {
        self.out.push_str(s);
    }

    pub fn type_list(&mut self, vs: &[ValueId]) {
        for (i, &v) in vs.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.ty(self.m.value_type(v));
        }
    }

    /// Writes a type (cached per printer).
    pub fn ty(&mut self, t: crate::Type) {
        let text = self.type_text.entry(t).or_insert_with(|| t.to_string());
        self.out.push_str(text);
    }

    /// ` {a = 1, b}` for the attributes not in `skip` (nothing if none remain).
    pub fn attr_dict(&mut self, op: OpId, skip: &[&str], keyword: bool) {
        let m = self.m;
        let kept = |(k, _): &&(Sym, Attribute)| skip.is_empty() || !skip.contains(&k.as_str());
        let mut attrs = m.op(op).attrs().into_iter().filter(kept).peekable();
        if attrs.peek().is_none() {
            return;
        }
        self.out
            .push_str(if keyword { " attributes {" } else { " {" });
        for (i, (k, v)) in attrs.enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            let _ = write_attr_entry(&mut self.out, *k, v);
        }
        self.out.push('}');
    }

    pub fn print_op(&mut self, op: OpId) {
        let o = self.m.op(op);
        let name = o.name_str();
        let def = self.ctx.op_def(name).copied();
        let isolated = def.is_some_and(|d| d.traits.contains(Traits::ISOLATED_FROM_ABOVE));
        let results = o.results();
        if !results.is_empty() {
            if self.names.get(results[0]).is_none() {
                self.name_results(op);
            }
            let first = results[0];
            self.value(first);
            if results.len() > 1 {
                // `%3#0` was written; rewrite as the group form `%3:2`.
                let cut = self.out.rfind('#').expect("multi-result name");
                self.out.truncate(cut);
                let _ = write!(self.out, ":{}", results.len());
            }
            self.out.push_str(" = ");
        }
        if isolated {
            self.counters.push((0, 0));
        }
        match (self.opts.generic, def.map(|d| d.syntax)) {
            (false, Some(Syntax::Custom(c))) => {
                self.out.push_str(name);
                c.print(self, op);
            }
            (false, Some(Syntax::Default)) if o.regions().is_empty() => {
                self.out.push_str(name);
                self.default_form(op, false);
            }
            (false, Some(Syntax::OperandTypes))
                if o.regions().is_empty() && o.results().is_empty() =>
            {
                self.out.push_str(name);
                self.default_form(op, true);
            }
            _ => self.generic_form(op),
        }
        if isolated {
            self.counters.pop();
        }
        let loc = &self.m.op(op).loc;
        if loc.is_printable() {
            self.out.push_str(" loc(");
            let _ = loc.write_to(&mut self.out);
            self.out.push(')');
        }
    }

    fn default_form(&mut self, op: OpId, operand_types: bool) {
        let o = self.m.op(op);
        let operands = o.operands();
        if !operands.is_empty() {
            self.out.push(' ');
            self.value_list(operands);
        }
        self.attr_dict(op, &[], false);
        let typed = if operand_types { operands } else { o.results() };
        if !typed.is_empty() {
            self.out.push_str(" : ");
            self.type_list(typed);
        }
    }

    fn generic_form(&mut self, op: OpId) {
        let o = self.m.op(op);
        let _ = write!(self.out, "{}(", Quoted(o.name_str()));
        let operands = o.operands();
        self.value_list(operands);
        self.out.push(')');
        let regions = o.regions();
        if !regions.is_empty() {
            self.out.push_str(" (");
            for (i, &r) in regions.iter().enumerate() {
                if i > 0 {
                    self.out.push_str(", ");
                }
                self.region(r, true);
            }
            self.out.push(')');
        }
        self.attr_dict(op, &[], false);
        self.out.push_str(" : (");
        self.type_list(operands);
        self.out.push_str(") -> ");
        let results = o.results();
        if results.len() == 1 {
            self.type_list(results);
        } else {
            self.out.push('(');
            self.type_list(results);
            self.out.push(')');
        }
    }

    /// `{ ... }` with the region's ops; block arguments are printed as a
    /// `^bb0(...)` label only when `print_args` (custom forms show them elsewhere).
    pub fn region(&mut self, r: RegionId, print_args: bool) {
        self.out.push('{');
        for &b in self.m.region(r).blocks() {
            self.name_block_args(b);
            let args = self.m.block(b).args().to_vec();
            if print_args && !args.is_empty() {
                self.newline();
                self.out.push_str("^bb0(");
                for (i, &a) in args.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.value(a);
                    let _ = write!(self.out, ": {}", self.m.value_type(a));
                }
                self.out.push_str("):");
            }
            self.block_ops(b);
        }
        self.newline();
        self.out.push('}');
    }

    /// Prints a block's ops, naming all their results first so uses that
    /// precede definitions (graph regions allow them) print correctly.
    fn block_ops(&mut self, b: BlockId) {
        let ops = self.m.block_ops(b);
        for &op in &ops {
            if !self.m.op(op).results().is_empty() {
                self.name_results(op);
            }
        }
        self.indent += 1;
        for op in ops {
            self.newline();
            self.print_op(op);
        }
        self.indent -= 1;
    }

    /// Names a region's block arguments without printing them (for custom forms
    /// that show them in a signature before the body).
    pub fn declare_args(&mut self, r: RegionId) {
        if let Some(&b) = self.m.region(r).blocks().first() {
            self.name_block_args(b);
        }
    }

    /// Prints a region whose block arguments were already named by [`Self::declare_args`].
    pub fn region_body(&mut self, r: RegionId) {
        self.out.push('{');
        for &b in self.m.region(r).blocks() {
            self.block_ops(b);
        }
        self.newline();
        self.out.push('}');
    }

    fn print_resources(&mut self) {
        if self.m.resources.is_empty() {
            return;
        }
        let mut used = BTreeSet::new();
        for op in self.m.walk(self.m.top()) {
            for (_, a) in self.m.op(op).attrs() {
                collect_resource_keys(a, &mut used);
            }
        }
        let blobs: Vec<_> = self
            .m
            .resources
            .iter()
            .filter(|(k, _)| used.contains(*k))
            .collect();
        if blobs.is_empty() {
            return;
        }
        self.out
            .push_str("\n{-#\n  dialect_resources: {\n    builtin: {\n");
        for (i, (k, b)) in blobs.iter().enumerate() {
            let sep = if i + 1 < blobs.len() { "," } else { "" };
            let _ = writeln!(
                self.out,
                "      {}: \"{}\"{sep}",
                resource_key_text(k),
                b.to_hex()
            );
        }
        self.out.push_str("    }\n  }\n#-}\n");
    }
}

/// Every `dense_resource` key an attribute refers to.
pub fn collect_resource_keys<'a>(a: &'a Attribute, out: &mut BTreeSet<&'a str>) {
    match a {
        Attribute::DenseResource { key, .. } => {
            out.insert(key.as_str());
        }
        Attribute::Array(items) => items.iter().for_each(|x| collect_resource_keys(x, out)),
        Attribute::Dict(items) => items
            .iter()
            .for_each(|(_, x)| collect_resource_keys(x, out)),
        _ => {}
    }
}

/// Writes a decimal number without going through format strings.
pub fn write_i64(f: &mut impl fmt::Write, v: i64) -> fmt::Result {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        f.write_str("-")?;
    }
    f.write_str(std::str::from_utf8(&buf[i..]).expect("ASCII digits"))
}

fn push_u32(out: &mut String, n: u32) {
    let _ = write_i64(out, i64::from(n));
}
