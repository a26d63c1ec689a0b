//! Axis-wise layers: `hl.softmax` / `hl.log_softmax`, `hl.argmax`,
//! `hl.reduce` (max, min, sum, mean, sum_square, l2 over `axes`) and
//! `hl.one_hot` (adds a last axis of size `depth`).

use super::verify_unary;
use crate::access::{axes, axis, same_elem, OpView, Result};
use hailo_ir::{define_op, Module, OpDef, OpId, Type, TypeKind};

define_op! {
    /// Softmax along `axis`.
    pub struct Softmax = "hl.softmax" {
        summary: "Softmax along an axis", traits: [PURE],
        operands { input: 0 }
        attrs { axis: i64, engine: str, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::HnExport => crate::hn::HnLayer::new("softmax", &[], &[("axis", crate::hn::HnParam::Same)]) }
        hooks { verify: verify_unary, infer: infer_softmax }
    }
}

define_op! {
    /// Log-softmax along `axis`.
    pub struct LogSoftmax = "hl.log_softmax" {
        summary: "Log-softmax along an axis", traits: [PURE],
        operands { input: 0 }
        attrs { axis: i64, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::HnExport => crate::hn::HnLayer::new("log_softmax", &[], &[("axis", crate::hn::HnParam::Same)]) }
        hooks { verify: verify_unary, infer: infer_softmax }
    }
}

define_op! {
    /// Index of the maximum along `axis` (f32 or i64 result).
    pub struct ArgMax = "hl.argmax" {
        summary: "Argmax along an axis", traits: [PURE],
        operands { input: 0 }
        attrs { axis: i64, keepdims: bool, engine: str, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::HnExport => crate::hn::HnLayer::new("argmax", &[], &[("axis", crate::hn::HnParam::Same), ("keepdims", crate::hn::HnParam::Same)]) }
        hooks { verify: verify_unary, infer: infer_argmax }
    }
}

define_op! {
    /// Reduction of `kind` over `axes`.
    pub struct Reduce = "hl.reduce" {
        summary: "Reduction over axes", traits: [PURE],
        operands { input: 0 }
        attrs { kind: str, axes: i64_array, keepdims: bool, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::HnExport => crate::hn::HnLayer { kinds: &["max", "min", "sum", "mean", "sum_square", "l2"], ..crate::hn::HnLayer::new("reduce", &[], &[("axes", crate::hn::HnParam::Same), ("keepdims", crate::hn::HnParam::Same)]) } }
        hooks { verify: verify_unary, infer: infer_reduce }
    }
}

define_op! {
    /// One-hot encoding of float indices on a new last axis of size `depth`.
    pub struct OneHot = "hl.one_hot" {
        summary: "One-hot encoding on a new last axis", traits: [PURE],
        operands { input: 0 }
        attrs { depth: i64, on_value: f64, off_value: f64, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::HnExport => crate::hn::HnLayer::new("one_hot", &[], &[("depth", crate::hn::HnParam::Same), ("on_value", crate::hn::HnParam::Same), ("off_value", crate::hn::HnParam::Same)]) }
        hooks { verify: verify_unary, infer: infer_one_hot }
    }
}

/// The `kind`s of `hl.reduce`.
pub const REDUCE_KINDS: &[&str] = &["max", "min", "sum", "mean", "sum_square", "l2"];

/// `x` with the `reduced` axes set to 1 (`keepdims`) or removed.
pub fn reduced_shape(x: &[i64], reduced: &[usize], keepdims: bool) -> Vec<i64> {
    x.iter()
        .enumerate()
        .filter_map(|(i, &d)| match (reduced.contains(&i), keepdims) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

fn infer_softmax(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    axis("axis", v.i64("axis")?, v.shape(0, "input")?.len())?;
    Ok(vec![v.operand_type(0, "input")?])
}

fn infer_argmax(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let x = v.shape(0, "input")?;
    let a = axis("axis", v.i64("axis")?, x.len())?;
    let keepdims = v.bool("keepdims")?;
    let elem = v.result_type(0)?.element();
    if !matches!(elem.kind(), TypeKind::F32) && elem != Type::i64() {
        return Err(format!(
            "result element type must be f32 (index as float) or i64, got {elem}"
        ));
    }
    Ok(vec![Type::tensor(&reduced_shape(&x, &[a], keepdims), elem)])
}

fn infer_reduce(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let x = v.shape(0, "input")?;
    v.choice("kind", REDUCE_KINDS)?;
    let reduced = axes("axes", &v.i64s("axes")?, x.len())?;
    same_elem(&v, &reduced_shape(&x, &reduced, v.bool("keepdims")?))
}

fn infer_one_hot(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let mut out = v.shape(0, "input")?;
    out.push(v.i64_min("depth", 1)?);
    v.f64("on_value")?;
    v.f64("off_value")?;
    same_elem(&v, &out)
}

pub fn defs() -> Vec<OpDef> {
    vec![
        Softmax::def(),
        LogSoftmax::def(),
        ArgMax::def(),
        Reduce::def(),
        OneHot::def(),
    ]
}
