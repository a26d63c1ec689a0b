//! Data movement without arithmetic: `hl.reshape`, `hl.transpose` and
//! `hl.feature_shuffle`, with their canonicalizations (identity reshape and
//! transpose fold away; a reshape of a reshape becomes one reshape).

use super::verify_unary;
use crate::access::{OpView, Result};
use hailo_ir::{
    define_op, Attribute, FoldResult, Module, OpDef, OpId, RewritePattern, Rewriter, Type,
};

define_op! {
    /// Reshape to the result type (same element count).
    pub struct Reshape = "hl.reshape" {
        summary: "Reshape to the result type", traits: [PURE],
        operands { input: 0 }
        attrs { layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::ChannelScaling => crate::interfaces::KeepsChannels, crate::interfaces::PrecisionGroup => crate::interfaces::GroupRole::MovesCodes, crate::interfaces::HnExport => crate::hn::HnLayer::new("reshape", &[], &[]) }
        hooks { verify: verify_unary, infer: infer_reshape, fold: fold_identity, patterns: || vec![Box::new(ReshapeOfReshape)] }
    }
}

define_op! {
    /// Axis permutation: result dim `i` is input dim `perm[i]`.
    pub struct Transpose = "hl.transpose" {
        summary: "Axis permutation", traits: [PURE],
        operands { input: 0 }
        attrs { perm: i64_array, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::PrecisionGroup => crate::interfaces::GroupRole::MovesCodes, crate::interfaces::HnExport => crate::hn::HnLayer::new("transpose", &[], &[("perm", crate::hn::HnParam::Same)]) }
        hooks { verify: verify_unary, infer: infer_transpose, fold: fold_identity }
    }
}

define_op! {
    /// Channel shuffle (ShuffleNet): `[.., G, C/G]` channels read as `[.., C/G, G]`.
    pub struct FeatureShuffle = "hl.feature_shuffle" {
        summary: "Channel shuffle", traits: [PURE],
        operands { input: 0 }
        attrs { groups: i64, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::PrecisionGroup => crate::interfaces::GroupRole::MovesCodes, crate::interfaces::HnExport => crate::hn::HnLayer::new("feature_shuffle", &[], &[("groups", crate::hn::HnParam::Same)]) }
        hooks { verify: verify_unary, infer: infer_feature_shuffle }
    }
}

fn infer_reshape(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let (x, ty) = (v.operand_type(0, "input")?, v.result_type(0)?);
    v.result_shape(0)?;
    v.shape(0, "input")?;
    if x.num_elements() != ty.num_elements() {
        return Err(format!(
            "cannot reshape '{x}' ({} elements) to '{ty}' ({} elements)",
            x.num_elements(),
            ty.num_elements()
        ));
    }
    if x.element() != ty.element() {
        return Err(format!(
            "reshape cannot change the element type ('{x}' to '{ty}')"
        ));
    }
    Ok(vec![ty])
}

/// The checked `perm` of a transpose of a rank-`rank` tensor.
pub fn perm(v: &OpView<'_>, rank: usize) -> Result<Vec<usize>> {
    let p = v.i64s("perm")?;
    let mut seen = vec![false; rank];
    let ok = p.len() == rank
        && p.iter().all(|&a| {
            (0..rank as i64).contains(&a) && !std::mem::replace(&mut seen[a as usize], true)
        });
    if !ok {
        return Err(format!(
            "attribute 'perm' must be a permutation of 0..{rank}, got {p:?}"
        ));
    }
    Ok(p.into_iter().map(|a| a as usize).collect())
}

fn infer_transpose(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let x = v.shape(0, "input")?;
    let out: Vec<i64> = perm(&v, x.len())?.into_iter().map(|a| x[a]).collect();
    crate::access::same_elem(&v, &out)
}

fn infer_feature_shuffle(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let x = v.shape(0, "input")?;
    let g = v.i64_min("groups", 1)?;
    match x.last() {
        Some(&c) if x.len() >= 2 && c % g == 0 => Ok(vec![v.operand_type(0, "input")?]),
        _ => Err(format!(
            "groups ({g}) must divide the channels of the input {x:?} (rank >= 2)"
        )),
    }
}

/// A reshape to its own type and an identity transpose are their operand.
fn fold_identity(m: &Module, op: OpId, _: &[Option<Attribute>]) -> Option<Vec<FoldResult>> {
    let x = *m.op(op).operands().first()?;
    let same_type =
        m.op(op).results().len() == 1 && m.value_type(x) == m.value_type(m.result(op, 0));
    let identity = match Transpose::cast(m, op) {
        Some(t) => t.perm(m)?.iter().enumerate().all(|(i, &a)| a == i as i64),
        None => true,
    };
    (same_type && identity).then(|| vec![FoldResult::Value(x)])
}

/// `reshape(reshape(x))` → `reshape(x)`; the inner reshape dies if unused.
struct ReshapeOfReshape;

impl RewritePattern for ReshapeOfReshape {
    fn name(&self) -> &'static str {
        "hl-reshape-of-reshape"
    }
    fn root(&self) -> Option<&'static str> {
        Some(Reshape::NAME)
    }
    fn match_and_rewrite(&self, rw: &mut Rewriter<'_>, op: OpId) -> bool {
        let Some(inner) = Reshape(op).input(rw.m).and_then(|v| rw.m.defining_op(v)) else {
            return false;
        };
        let Some(x) = Reshape::cast(rw.m, inner).and_then(|r| r.input(rw.m)) else {
            return false;
        };
        rw.set_operand(op, 0, x);
        rw.modified(inner);
        true
    }
}

pub fn defs() -> Vec<OpDef> {
    vec![Reshape::def(), Transpose::def(), FeatureShuffle::def()]
}
