//! Graph boundary and constants: `hl.const` (weights and small tensors,
//! custom syntax `hl.const dense<...> : tensor<...>`), `hl.input_layer`
//! (wraps a graph argument) and `hl.output_layer`.

use super::check_layer;
use crate::access::Result;
use hailo_ir::lexer::Tok;
use hailo_ir::parser::{OpState, PResult, Parser};
use hailo_ir::printer::Printer;
use hailo_ir::syntax::CustomSyntax;
use hailo_ir::{define_op, Attribute, Module, OpDef, OpId, Syntax, Type};

define_op! {
    /// `%w = hl.const dense<...> : tensor<...>`: a constant tensor.
    pub struct Const = "hl.const" {
        summary: "A constant tensor", traits: [PURE, CONSTANT_LIKE],
        attrs { value: attr }
        hooks { syntax: Syntax::Custom(&ConstSyntax), verify: verify_const }
    }
}

define_op! {
    /// The graph input `x` (a graph argument) as Hailo input layer.
    pub struct InputLayer = "hl.input_layer" {
        summary: "Graph input layer", traits: [PURE, SAME_OPERANDS_AND_RESULT_TYPE],
        operands { input: 0 }
        attrs { layer: str [required = "the Hailo layer name, a string"], original_name: str }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::HnExport => crate::hn::HnLayer::new("input_layer", &[], crate::hn::IO) }
        hooks { verify: verify_boundary }
    }
}

define_op! {
    /// A graph output as Hailo output layer.
    pub struct OutputLayer = "hl.output_layer" {
        summary: "Graph output layer", traits: [PURE, SAME_OPERANDS_AND_RESULT_TYPE],
        operands { input: 0 }
        attrs { layer: str [required = "the Hailo layer name, a string"], original_name: str }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::PrecisionGroup => crate::interfaces::GroupRole::JoinsInputs, crate::interfaces::HnExport => crate::hn::HnLayer::new("output_layer", &[], crate::hn::IO) }
        hooks { verify: verify_boundary }
    }
}

/// The tensor type of a `dense` or `dense_resource` attribute.
pub fn value_type(a: &Attribute) -> Option<Type> {
    match a {
        Attribute::Dense(d) => Some(d.ty),
        Attribute::DenseResource { ty, .. } => Some(*ty),
        _ => None,
    }
}

fn verify_const(m: &Module, op: OpId) -> Result<()> {
    let o = m.op(op);
    let Some(ty) = o.attr("value").and_then(value_type) else {
        return Err("requires a dense or dense_resource 'value' attribute".into());
    };
    if o.results().len() != 1 || m.value_type(o.results()[0]) != ty {
        return Err(format!("result type must equal the value's type '{ty}'"));
    }
    Ok(())
}

struct ConstSyntax;

impl CustomSyntax for ConstSyntax {
    fn print(&self, p: &mut Printer<'_>, op: OpId) {
        let text =
            p.m.attr(op, "value")
                .map(|a| format!(" {a}"))
                .unwrap_or_default();
        p.write(&text);
        p.attr_dict(op, &["value"], false);
    }

    fn parse(&self, p: &mut Parser<'_>, st: &mut OpState) -> PResult<()> {
        let at = p.here();
        let value = p.parse_attr()?;
        let Some(ty) = value_type(&value) else {
            return Err(Box::new(hailo_ir::Diagnostic::error(
                at,
                "expected dense<...> or dense_resource<...> value",
            )));
        };
        st.attrs.push((hailo_ir::Sym::new("value"), value));
        if p.kind() == Tok::LBrace {
            p.parse_attr_dict(&mut st.attrs)?;
        }
        st.result_types.push(ty);
        Ok(())
    }
}

fn verify_boundary(m: &Module, op: OpId) -> Result<()> {
    let v = check_layer(m, op, (1, 1), "one input", false)?;
    v.opt_str("original_name")?;
    v.shape(0, "input")?;
    if m.op(op).name_str() == InputLayer::NAME && m.defining_op(v.operand(0, "input")?).is_some() {
        return Err("input must be a graph argument".into());
    }
    Ok(())
}

pub fn defs() -> Vec<OpDef> {
    vec![Const::def(), InputLayer::def(), OutputLayer::def()]
}
