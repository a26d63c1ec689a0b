//! The builtin dialect: `builtin.module`, `builtin.graph`, `builtin.return`.
//!
//! A module holds graphs (and possibly nested modules); a graph is one
//! dataflow block with typed arguments and results and a symbol name, ended
//! by `builtin.return`. Custom forms:
//!
//! ```text
//! builtin.module @name attributes {...} { ... }
//! builtin.graph @main(%arg0: tensor<1x4xf32>) -> tensor<1x4xf32> { ... builtin.return %0 : tensor<1x4xf32> }
//! ```

use crate::attrs::Attribute;
use crate::dialect::{Dialect, OpDef, Syntax, Traits};
use crate::intern::Sym;
use crate::lexer::Tok;
use crate::module::{Module, OpId};
use crate::parser::{OpState, PResult, Parser};
use crate::printer::Printer;
use crate::syntax::CustomSyntax;
use crate::types::Type;

pub const MODULE: &str = "builtin.module";
pub const GRAPH: &str = "builtin.graph";
pub const RETURN: &str = "builtin.return";

pub fn dialect() -> Dialect {
    Dialect {
        name: "builtin",
        summary: "Modules, graphs and returns",
        ops: vec![
            OpDef::new(MODULE, "A container of graphs", Traits::ISOLATED_FROM_ABOVE)
                .syntax(Syntax::Custom(&ModuleSyntax))
                .verify(verify_module),
            OpDef::new(
                GRAPH,
                "A dataflow graph with typed inputs and outputs",
                Traits::ISOLATED_FROM_ABOVE.union(Traits::SYMBOL),
            )
            .syntax(Syntax::Custom(&GraphSyntax))
            .verify(verify_graph),
            OpDef::new(RETURN, "Returns the graph's results", Traits::TERMINATOR)
                .syntax(Syntax::OperandTypes)
                .verify(verify_return),
        ],
        materialize_constant: None,
        verify_regions: None,
    }
}

fn verify_module(m: &Module, op: OpId) -> Result<(), String> {
    let o = m.op(op);
    if o.regions().len() != 1 || m.region(o.regions()[0]).blocks().len() != 1 {
        return Err("expects exactly one region with one block".into());
    }
    if !m
        .block(m.region(o.regions()[0]).blocks()[0])
        .args()
        .is_empty()
    {
        return Err("body block may not have arguments".into());
    }
    if let Some(a) = o.attr("sym_name") {
        if a.as_str().is_none() {
            return Err("'sym_name' must be a string".into());
        }
    }
    Ok(())
}

/// The (inputs, results) of a graph's `function_type`.
pub fn graph_signature(m: &Module, op: OpId) -> Option<(&'static [Type], &'static [Type])> {
    m.attr(op, "function_type")?.as_type()?.function_parts()
}

fn verify_graph(m: &Module, op: OpId) -> Result<(), String> {
    let o = m.op(op);
    if o.attr("sym_name").and_then(Attribute::as_str).is_none() {
        return Err("requires a string 'sym_name' attribute".into());
    }
    let Some((inputs, results)) = graph_signature(m, op) else {
        return Err("requires a 'function_type' attribute holding a function type".into());
    };
    if o.regions().len() != 1 || m.region(o.regions()[0]).blocks().len() != 1 {
        return Err("expects exactly one region with one block".into());
    }
    let block = m.region(o.regions()[0]).blocks()[0];
    let args = m.block(block).args();
    if args.len() != inputs.len() {
        return Err(format!(
            "has {} block argument(s) but its type lists {} input(s)",
            args.len(),
            inputs.len()
        ));
    }
    for (i, (&a, &t)) in args.iter().zip(inputs).enumerate() {
        if m.value_type(a) != t {
            return Err(format!(
                "argument {i} has type '{}' but the signature says '{t}'",
                m.value_type(a)
            ));
        }
    }
    let Some(last) = m.block(block).last_op() else {
        return Err("body must end with 'builtin.return'".into());
    };
    if m.op(last).name_str() != RETURN {
        return Err(format!(
            "body must end with 'builtin.return', found '{}'",
            m.op(last).name_str()
        ));
    }
    let ret = m.op(last).operands();
    if ret.len() != results.len() {
        return Err(format!(
            "returns {} value(s) but its type lists {} result(s)",
            ret.len(),
            results.len()
        ));
    }
    for (i, (&v, &t)) in ret.iter().zip(results).enumerate() {
        if m.value_type(v) != t {
            return Err(format!(
                "result {i} has type '{}' but the signature says '{t}'",
                m.value_type(v)
            ));
        }
    }
    Ok(())
}

fn verify_return(m: &Module, op: OpId) -> Result<(), String> {
    match m.parent_op(op) {
        Some(p) if m.op(p).name_str() == GRAPH => Ok(()),
        _ => Err("expects parent op 'builtin.graph'".into()),
    }
}

struct ModuleSyntax;

impl CustomSyntax for ModuleSyntax {
    fn print(&self, p: &mut Printer<'_>, op: OpId) {
        if let Some(name) = p.m.symbol_name(op) {
            let s = format!(" @{}", crate::printer::symbol_text(name));
            p.write(&s);
        }
        p.attr_dict(op, &["sym_name"], true);
        p.write(" ");
        let r = p.m.op(op).regions()[0];
        p.region_body(r);
    }

    fn parse(&self, p: &mut Parser<'_>, st: &mut OpState) -> PResult<()> {
        if p.kind() == Tok::AtId {
            let name = p.parse_symbol_name()?;
            st.attrs
                .push((Sym::new("sym_name"), Attribute::Str(name.into())));
        }
        if p.consume_keyword("attributes") {
            p.parse_attr_dict(&mut st.attrs)?;
        }
        st.regions.push(p.parse_region(&[], true)?);
        Ok(())
    }
}

struct GraphSyntax;

impl CustomSyntax for GraphSyntax {
    fn print(&self, p: &mut Printer<'_>, op: OpId) {
        let name = p.m.symbol_name(op).unwrap_or("").to_owned();
        let r = p.m.op(op).regions()[0];
        p.declare_args(r);
        p.write(&format!(" @{}(", crate::printer::symbol_text(&name)));
        let block = p.m.region(r).blocks()[0];
        let args = p.m.block(block).args().to_vec();
        for (i, a) in args.into_iter().enumerate() {
            if i > 0 {
                p.write(", ");
            }
            p.value(a);
            let t = p.m.value_type(a);
            p.write(&format!(": {t}"));
        }
        p.write(")");
        let results = graph_signature(p.m, op).map(|(_, r)| r).unwrap_or(&[]);
        match results {
            [] => {}
            [one] => p.write(&format!(" -> {one}")),
            many => {
                let list: Vec<String> = many.iter().map(|t| t.to_string()).collect();
                p.write(&format!(" -> ({})", list.join(", ")));
            }
        }
        p.attr_dict(op, &["sym_name", "function_type"], true);
        p.write(" ");
        p.region_body(r);
    }

    fn parse(&self, p: &mut Parser<'_>, st: &mut OpState) -> PResult<()> {
        let name = p.parse_symbol_name()?;
        p.expect(Tok::LParen)?;
        let mut args = Vec::new();
        if !p.consume_if(Tok::RParen) {
            loop {
                let at = p.offset();
                if p.kind() != Tok::ValueId {
                    return p.expected("graph argument (%name: type)");
                }
                let text = &p.text()[1..];
                p.expect(Tok::ValueId)?;
                p.expect(Tok::Colon)?;
                let ty = p.parse_type()?;
                args.push((text, ty, at));
                if !p.consume_if(Tok::Comma) {
                    break;
                }
            }
            p.expect(Tok::RParen)?;
        }
        let mut results = Vec::new();
        if p.consume_if(Tok::Arrow) {
            if p.consume_if(Tok::LParen) {
                if !p.consume_if(Tok::RParen) {
                    results = p.parse_type_list()?;
                    p.expect(Tok::RParen)?;
                }
            } else {
                results.push(p.parse_type()?);
            }
        }
        if p.consume_keyword("attributes") {
            p.parse_attr_dict(&mut st.attrs)?;
        }
        let fty = Type::function(args.iter().map(|a| a.1).collect(), results);
        st.attrs
            .push((Sym::new("sym_name"), Attribute::Str(name.into())));
        st.attrs
            .push((Sym::new("function_type"), Attribute::Type(fty)));
        st.regions.push(p.parse_region(&args, true)?);
        Ok(())
    }
}

/// Builds an empty graph `@name` with the given signature inside `parent_block`;
/// returns the graph op and its body block. The caller appends ops and a return.
pub fn create_graph(
    m: &mut Module,
    parent_block: crate::BlockId,
    name: &str,
    inputs: &[Type],
    results: &[Type],
) -> (OpId, crate::BlockId) {
    let spec = crate::OpSpec::new(GRAPH)
        .attr("sym_name", Attribute::str(name))
        .attr(
            "function_type",
            Attribute::Type(Type::function(inputs.to_vec(), results.to_vec())),
        )
        .regions(1);
    let g = m.create_op(spec);
    let r = m.op(g).regions()[0];
    let b = m.create_block(r);
    for &t in inputs {
        m.add_block_arg(b, t);
    }
    m.append_op(parent_block, g);
    (g, b)
}
