//! Layers that cut or join tensors along axes: `hl.concat`, `hl.split`
//! (several results), `hl.slice` and `hl.pad` (ONNX pads order).

use super::{check_layer, verify_unary};
use crate::access::{axis, same_elem, OpView, Result};
use crate::shape::ceil_div;
use hailo_ir::{define_op, Module, OpDef, OpId, Type};

define_op! {
    /// Concatenation of all operands along `axis`.
    pub struct Concat = "hl.concat" {
        summary: "Concatenation along an axis", traits: [PURE],
        attrs { axis: i64, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::ChannelScaling => crate::interfaces::JoinsChannels, crate::interfaces::PrecisionGroup => crate::interfaces::GroupRole::JoinsInputs, crate::interfaces::HnExport => crate::hn::HnLayer::new("concat", &[], &[("axis", crate::hn::HnParam::Same)]) }
        hooks { verify: verify_concat, infer: infer_concat }
    }
}

define_op! {
    /// Split along `axis` into one result per entry of `sizes`.
    pub struct Split = "hl.split" {
        summary: "Split along an axis", traits: [PURE],
        operands { input: 0 }
        attrs { axis: i64, sizes: i64_array, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::PrecisionGroup => crate::interfaces::GroupRole::MovesCodes, crate::interfaces::HnExport => crate::hn::HnLayer::new("feature_splitter", &[], &[("axis", crate::hn::HnParam::Same), ("sizes", crate::hn::HnParam::Same)]) }
        hooks { verify: verify_split, infer: infer_split }
    }
}

define_op! {
    /// Strided slice: `starts`, exclusive `ends`, positive `steps`, one per axis.
    pub struct Slice = "hl.slice" {
        summary: "Strided slice", traits: [PURE],
        operands { input: 0 }
        attrs { starts: i64_array, ends: i64_array, steps: i64_array, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::PrecisionGroup => crate::interfaces::GroupRole::MovesCodes, crate::interfaces::HnExport => crate::hn::HnLayer::new("slice", &[], &[("starts", crate::hn::HnParam::Same), ("ends", crate::hn::HnParam::Same), ("steps", crate::hn::HnParam::Same)]) }
        hooks { verify: verify_unary, infer: infer_slice }
    }
}

define_op! {
    /// Padding with `pads = [b0.., e0..]` in `constant`, `reflect` or `edge` mode.
    pub struct Pad = "hl.pad" {
        summary: "Padding (external pad layer)", traits: [PURE],
        operands { input: 0 }
        attrs { pads: i64_array, mode: str, value: f64, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::PrecisionGroup => crate::interfaces::GroupRole::MovesCodes, crate::interfaces::HnExport => crate::hn::HnLayer::new("external_pad", &[], &[("pads", crate::hn::HnParam::Same), ("mode", crate::hn::HnParam::Same), ("value", crate::hn::HnParam::Same)]) }
        hooks { verify: verify_unary, infer: infer_pad }
    }
}

/// The `mode`s of `hl.pad`.
pub const PAD_MODES: &[&str] = &["constant", "reflect", "edge"];

fn verify_concat(m: &Module, op: OpId) -> Result<()> {
    check_layer(m, op, (1, usize::MAX), "at least one input", false).map(|_| ())
}

fn infer_concat(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let first = v.shape(0, "input #0")?;
    let a = axis("axis", v.i64("axis")?, first.len())?;
    let elem = v.elem(0, "input #0")?;
    let mut out = first.clone();
    out[a] = 0;
    for i in 0..v.num_operands() {
        let what = format!("input #{i}");
        let s = v.shape(i, &what)?;
        let same_other = s.len() == first.len() && (0..s.len()).all(|d| d == a || s[d] == first[d]);
        if !same_other || v.elem(i, &what)? != elem {
            return Err(format!(
                "input #{i} '{}' must match input #0 '{}' except on axis {a}",
                v.operand_type(i, &what)?,
                v.operand_type(0, "input #0")?
            ));
        }
        out[a] += s[a];
    }
    Ok(vec![Type::tensor(&out, elem)])
}

fn verify_split(m: &Module, op: OpId) -> Result<()> {
    let v = OpView::new(m, op);
    v.layer()?;
    v.expect_operands(1, 1, "one input")?;
    let n = m.op(op).results().len();
    let sizes = v.i64s("sizes")?;
    if sizes.len() != n || sizes.iter().any(|&s| s < 1) {
        return Err(format!(
            "attribute 'sizes' must hold one positive size per result ({n}), got {sizes:?}"
        ));
    }
    Ok(())
}

fn infer_split(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let x = v.shape(0, "input")?;
    let a = axis("axis", v.i64("axis")?, x.len())?;
    let sizes = v.i64s("sizes")?;
    if sizes.iter().sum::<i64>() != x[a] {
        return Err(format!(
            "split sizes {sizes:?} must add up to the input's axis {a} size {}",
            x[a]
        ));
    }
    let elem = v.elem(0, "input")?;
    Ok(sizes
        .iter()
        .map(|&s| {
            let mut shape = x.clone();
            shape[a] = s;
            Type::tensor(&shape, elem)
        })
        .collect())
}

fn infer_slice(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let x = v.shape(0, "input")?;
    let r = x.len();
    let (starts, ends, steps) = (
        v.i64s_len("starts", r)?,
        v.i64s_len("ends", r)?,
        v.i64s_len("steps", r)?,
    );
    let mut out = Vec::with_capacity(r);
    for a in 0..r {
        let (b, e, s) = (starts[a], ends[a], steps[a]);
        if s < 1 {
            return Err(format!("steps must be positive, got {s} on axis {a}"));
        }
        if !(0 <= b && b < e && e <= x[a]) {
            return Err(format!(
                "slice [{b}, {e}) on axis {a} must satisfy 0 <= start < end <= {} (clamped, non-empty)",
                x[a]
            ));
        }
        out.push(ceil_div(e - b, s));
    }
    same_elem(&v, &out)
}

fn infer_pad(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let x = v.shape(0, "input")?;
    let r = x.len();
    let pads = v.i64s_len("pads", 2 * r)?;
    if pads.iter().any(|&p| p < 0) {
        return Err(format!(
            "attribute 'pads' must be non-negative, got {pads:?}"
        ));
    }
    let mode = v.opt_choice("mode", PAD_MODES)?.unwrap_or("constant");
    v.opt_f64("value")?;
    let mut out = x.clone();
    for a in 0..r {
        let (b, e) = (pads[a], pads[a + r]);
        if mode == "reflect" && (b >= x[a] || e >= x[a]) {
            return Err(format!(
                "reflect pads ({b}, {e}) on axis {a} must be smaller than its size {}",
                x[a]
            ));
        }
        out[a] += b + e;
    }
    same_elem(&v, &out)
}

pub fn defs() -> Vec<OpDef> {
    vec![Concat::def(), Split::def(), Slice::def(), Pad::def()]
}
