//! Spatial resampling: `hl.resize` (output size given by the result type)
//! and the block rearrangements `hl.depth_to_space` (`DCR`/`CRD`) and
//! `hl.space_to_depth` (`classic`, or `focus` = YOLOv5 Focus ordering).
//!
//! The channel orderings are fixed here as functions so the interpreter
//! and the HAR writer agree with the verifier on what each mode means.

use super::verify_unary;
use crate::access::{same_elem, OpView, Result};
use hailo_ir::{define_op, Module, OpDef, OpId, Type};

define_op! {
    /// Resize of H and W to the result type's size.
    pub struct Resize = "hl.resize" {
        summary: "Resize to the result's H and W", traits: [PURE],
        operands { input: 0 }
        attrs { mode: str, coordinate: str, nearest_mode: str, engine: str, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::PrecisionGroup => crate::interfaces::GroupRole::MovesCodes, crate::interfaces::HnExport => crate::hn::HnLayer::new("resize", &[], &[("mode", crate::hn::HnParam::Same), ("coordinate", crate::hn::HnParam::Same), ("nearest_mode", crate::hn::HnParam::Same)]) }
        hooks { verify: verify_unary, infer: infer_resize }
    }
}

define_op! {
    /// `[N, H, W, C]` → `[N, H*b, W*b, C/(b*b)]`.
    pub struct DepthToSpace = "hl.depth_to_space" {
        summary: "Depth to space", traits: [PURE],
        operands { input: 0 }
        attrs { block_size: i64, mode: str, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::PrecisionGroup => crate::interfaces::GroupRole::MovesCodes, crate::interfaces::HnExport => crate::hn::HnLayer::new("depth_to_space", &[], &[("block_size", crate::hn::HnParam::Same), ("mode", crate::hn::HnParam::Same)]) }
        hooks { verify: verify_unary, infer: infer_depth_to_space }
    }
}

define_op! {
    /// `[N, H, W, C]` → `[N, H/b, W/b, C*b*b]`.
    pub struct SpaceToDepth = "hl.space_to_depth" {
        summary: "Space to depth (classic or YOLOv5 Focus)", traits: [PURE],
        operands { input: 0 }
        attrs { block_size: i64, mode: str, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::PrecisionGroup => crate::interfaces::GroupRole::MovesCodes, crate::interfaces::HnExport => crate::hn::HnLayer::new("space_to_depth", &[], &[("block_size", crate::hn::HnParam::Same), ("mode", crate::hn::HnParam::Same)]) }
        hooks { verify: verify_unary, infer: infer_space_to_depth }
    }
}

pub const RESIZE_MODES: &[&str] = &["nearest", "bilinear"];
pub const COORDINATES: &[&str] = &[
    "half_pixel",
    "align_corners",
    "asymmetric",
    "pytorch_half_pixel",
    "tf_half_pixel_for_nn",
];
pub const NEAREST_MODES: &[&str] = &["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"];

/// Channel order of `hl.depth_to_space`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepthToSpaceMode {
    /// Depth-column-row (ONNX default, TensorFlow).
    Dcr,
    /// Column-row-depth (PyTorch PixelShuffle).
    Crd,
}

impl DepthToSpaceMode {
    /// The input channel that lands at offset `(dy, dx)` of a block, output channel `c` of `c_out`.
    pub fn source_channel(self, b: i64, c_out: i64, dy: i64, dx: i64, c: i64) -> i64 {
        match self {
            DepthToSpaceMode::Dcr => (dy * b + dx) * c_out + c,
            DepthToSpaceMode::Crd => (c * b + dy) * b + dx,
        }
    }
}

/// Channel order of `hl.space_to_depth`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpaceToDepthMode {
    /// TensorFlow/ONNX SpaceToDepth: block offsets row-major, then channels.
    Classic,
    /// YOLOv5 Focus: the (row, col) parity slices (0,0), (1,0), (0,1), (1,1)
    /// concatenated on channels (block size 2).
    Focus,
}

impl SpaceToDepthMode {
    /// The output channel of input channel `c` (of `c_in`) at block offset `(dy, dx)`.
    pub fn target_channel(self, b: i64, c_in: i64, dy: i64, dx: i64, c: i64) -> i64 {
        match self {
            SpaceToDepthMode::Classic => (dy * b + dx) * c_in + c,
            SpaceToDepthMode::Focus => (dx * b + dy) * c_in + c,
        }
    }
}

/// Checked `block_size` and `mode` of a depth_to_space op.
pub fn depth_to_space_params(v: &OpView<'_>) -> Result<(i64, DepthToSpaceMode)> {
    let b = v.i64_min("block_size", 1)?;
    let mode = match v.choice("mode", &["DCR", "CRD"])? {
        "DCR" => DepthToSpaceMode::Dcr,
        _ => DepthToSpaceMode::Crd,
    };
    Ok((b, mode))
}

/// Checked `block_size` and `mode` of a space_to_depth op.
pub fn space_to_depth_params(v: &OpView<'_>) -> Result<(i64, SpaceToDepthMode)> {
    let b = v.i64_min("block_size", 1)?;
    match v.choice("mode", &["classic", "focus"])? {
        "classic" => Ok((b, SpaceToDepthMode::Classic)),
        _ if b == 2 => Ok((b, SpaceToDepthMode::Focus)),
        _ => Err(format!(
            "mode \"focus\" (YOLOv5 Focus) needs block_size 2, got {b}"
        )),
    }
}

fn infer_resize(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let x = v.shape_rank(0, "input", 4)?;
    let mode = v.choice("mode", RESIZE_MODES)?;
    v.choice("coordinate", COORDINATES)?;
    if mode == "nearest" {
        v.choice("nearest_mode", NEAREST_MODES)?;
    } else {
        v.opt_choice("nearest_mode", NEAREST_MODES)?;
    }
    let ty = v.result_type(0)?;
    let y = v.result_shape(0)?;
    if y.len() != 4
        || y[0] != x[0]
        || y[3] != x[3]
        || ty.element() != v.elem(0, "input")?
        || y[1] < 1
        || y[2] < 1
    {
        return Err(format!(
            "result '{ty}' must be [N, H', W', C] with the input's N = {}, C = {} and element type",
            x[0], x[3]
        ));
    }
    Ok(vec![ty])
}

fn infer_depth_to_space(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let x = v.shape_rank(0, "input", 4)?;
    let (b, _) = depth_to_space_params(&v)?;
    if x[3] % (b * b) != 0 {
        return Err(format!(
            "input channels ({}) must be divisible by block_size² ({})",
            x[3],
            b * b
        ));
    }
    same_elem(&v, &[x[0], x[1] * b, x[2] * b, x[3] / (b * b)])
}

fn infer_space_to_depth(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let x = v.shape_rank(0, "input", 4)?;
    let (b, _) = space_to_depth_params(&v)?;
    if x[1] % b != 0 || x[2] % b != 0 {
        return Err(format!(
            "input height and width ({}x{}) must be divisible by block_size ({b})",
            x[1], x[2]
        ));
    }
    same_elem(&v, &[x[0], x[1] / b, x[2] / b, x[3] * b * b])
}

pub fn defs() -> Vec<OpDef> {
    vec![Resize::def(), DepthToSpace::def(), SpaceToDepth::def()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_to_space_orders() {
        // b = 2, 3 output channels: DCR reads block offset major, CRD channel major.
        assert_eq!(DepthToSpaceMode::Dcr.source_channel(2, 3, 0, 1, 2), 5);
        assert_eq!(DepthToSpaceMode::Dcr.source_channel(2, 3, 1, 0, 0), 6);
        assert_eq!(DepthToSpaceMode::Crd.source_channel(2, 3, 0, 1, 2), 9);
        assert_eq!(DepthToSpaceMode::Crd.source_channel(2, 3, 1, 0, 1), 6);
    }

    #[test]
    fn focus_is_yolov5_slice_order() {
        // torch.cat([x[::2, ::2], x[1::2, ::2], x[::2, 1::2], x[1::2, 1::2]], channels), 3 channels.
        let f = |dy, dx, c| SpaceToDepthMode::Focus.target_channel(2, 3, dy, dx, c);
        assert_eq!(
            [f(0, 0, 0), f(1, 0, 0), f(0, 1, 0), f(1, 1, 0)],
            [0, 3, 6, 9]
        );
        let classic = |dy, dx, c| SpaceToDepthMode::Classic.target_channel(2, 3, dy, dx, c);
        assert_eq!(
            [
                classic(0, 0, 1),
                classic(0, 1, 1),
                classic(1, 0, 1),
                classic(1, 1, 1)
            ],
            [1, 4, 7, 10]
        );
    }
}
