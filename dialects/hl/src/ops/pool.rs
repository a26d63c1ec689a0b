//! Pooling: `hl.maxpool` / `hl.avgpool` (window, strides, the four padding
//! modes, ONNX `ceil_mode`, `count_include_pad`) and the global pools.
//!
//! [`PoolParams::of`] resolves the pads and output size once for the
//! verifier and the interpreter.

use super::verify_unary;
use super::window::{padding, window_out_2d};
use crate::access::{same_elem, OpView, Result};
use crate::shape::Padding;
use hailo_ir::{define_op, Module, OpDef, OpId, Type};

define_op! {
    /// Max pooling over a `kernel` window.
    pub struct MaxPool = "hl.maxpool" {
        summary: "Max pooling", traits: [PURE],
        operands { input: 0 }
        attrs { kernel: i64_array, strides: i64_array, padding: str, pads: i64_array, ceil_mode: bool, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::ChannelScaling => crate::interfaces::AlwaysCommutes, crate::interfaces::PrecisionGroup => crate::interfaces::GroupRole::MovesCodes, crate::interfaces::HnExport => crate::hn::HnLayer::new("maxpool", &[], crate::hn::POOL) }
        hooks { verify: verify_unary, infer: infer_pool }
    }
}

define_op! {
    /// Average pooling over a `kernel` window.
    pub struct AvgPool = "hl.avgpool" {
        summary: "Average pooling", traits: [PURE],
        operands { input: 0 }
        attrs { kernel: i64_array, strides: i64_array, padding: str, pads: i64_array, ceil_mode: bool, count_include_pad: bool, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::ChannelScaling => crate::interfaces::AlwaysCommutes, crate::interfaces::HnExport => crate::hn::HnLayer::new("avgpool", &[], crate::hn::POOL) }
        hooks { verify: verify_unary, infer: infer_pool }
    }
}

define_op! {
    /// Mean over H and W: `[N, H, W, C]` → `[N, 1, 1, C]`.
    pub struct GlobalAvgPool = "hl.global_avgpool" {
        summary: "Global average pooling", traits: [PURE],
        operands { input: 0 }
        attrs { layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::ChannelScaling => crate::interfaces::AlwaysCommutes, crate::interfaces::HnExport => crate::hn::HnLayer::new("global_avg_pool", &[], &[]) }
        hooks { verify: verify_unary, infer: infer_global }
    }
}

define_op! {
    /// Max over H and W: `[N, H, W, C]` → `[N, 1, 1, C]`.
    pub struct GlobalMaxPool = "hl.global_maxpool" {
        summary: "Global max pooling", traits: [PURE],
        operands { input: 0 }
        attrs { layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::ChannelScaling => crate::interfaces::AlwaysCommutes, crate::interfaces::PrecisionGroup => crate::interfaces::GroupRole::MovesCodes, crate::interfaces::HnExport => crate::hn::HnLayer::new("global_max_pool", &[], &[]) }
        hooks { verify: verify_unary, infer: infer_global }
    }
}

/// The resolved parameters of a max or average pool.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolParams {
    pub kernel: [i64; 2],
    pub strides: [i64; 2],
    pub padding: Padding,
    /// Concrete `[top, left, bottom, right]` pads.
    pub pads: [i64; 4],
    pub ceil_mode: bool,
    /// Average pool: divide by the full window including padded cells.
    pub count_include_pad: bool,
    /// The inferred NHWC output shape.
    pub output: [i64; 4],
}

impl PoolParams {
    /// Reads and checks the parameters of an `hl.maxpool` or `hl.avgpool` op.
    pub fn of(m: &Module, op: OpId) -> Result<PoolParams> {
        let v = OpView::new(m, op);
        let x = v.shape_rank(0, "input", 4)?;
        let kernel = match v.i64s("kernel")?.as_slice() {
            &[kh, kw] if kh >= 1 && kw >= 1 => [kh, kw],
            k => {
                return Err(format!(
                    "attribute 'kernel' must be two positive integers [kh, kw], got {k:?}"
                ))
            }
        };
        let strides = v.positive_pair("strides")?;
        let padding = padding(&v)?;
        let ceil_mode = v.opt_bool("ceil_mode")?.unwrap_or(false);
        let count_include_pad = v.opt_bool("count_include_pad")?;
        if count_include_pad.is_some() && m.op(op).name_str() != AvgPool::NAME {
            return Err("attribute 'count_include_pad' only applies to hl.avgpool".into());
        }
        let pads = padding.pads_2d([x[1], x[2]], kernel, strides);
        let [oh, ow] = window_out_2d(
            [x[1], x[2]],
            kernel,
            strides,
            pads,
            ceil_mode && !padding.is_same(),
        )?;
        Ok(PoolParams {
            kernel,
            strides,
            padding,
            pads,
            ceil_mode,
            count_include_pad: count_include_pad.unwrap_or(false),
            output: [x[0], oh, ow, x[3]],
        })
    }
}

fn infer_pool(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let p = PoolParams::of(m, op)?;
    same_elem(&OpView::new(m, op), &p.output)
}

fn infer_global(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let x = v.shape_rank(0, "input", 4)?;
    same_elem(&v, &[x[0], 1, 1, x[3]])
}

pub fn defs() -> Vec<OpDef> {
    vec![
        MaxPool::def(),
        AvgPool::def(),
        GlobalAvgPool::def(),
        GlobalMaxPool::def(),
    ]
}
