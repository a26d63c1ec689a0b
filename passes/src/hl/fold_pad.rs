//! `hl-fold-pad`: a zero `hl.pad` of the height and width of an NHWC tensor whose only reader
//! is a convolution (plain or depthwise) or an average pool is that layer's own padding (the
//! DFC parser folds an ONNX `Pad` the same way). The layer reads the unpadded tensor with
//! explicit pads grown by the pad's; an average pool then counts the padded cells
//! (`count_include_pad`), which is what pooling the zero-padded tensor did. The pad's original
//! names are appended to the layer's location.

use super::fusion::{fuse_locs, rewrite_each, sole_user};
use hailo_dialect_hl as hl;
use hailo_dialect_hl::builder::ints;
use hailo_ir::pass::options::NoOptions;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId};

pub struct FoldPad(NoOptions);

impl PassDef for FoldPad {
    const NAME: &'static str = "hl-fold-pad";
    const SUMMARY: &'static str =
        "Fold a zero spatial pad into the padding of the convolution or average pool reading it";
    const ANCHOR: Option<&'static str> = None;
    type Options = NoOptions;

    fn new(o: NoOptions) -> Self {
        FoldPad(o)
    }
    fn options(&self) -> &NoOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        root: OpId,
        _cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        Ok(rewrite_each::<hl::Pad>(m, root, |m, _, pad| fold(m, pad)))
    }
}

/// The `[top, left, bottom, right]` pads of a zero pad of only H and W of a rank-4 tensor.
fn spatial_zero_pads(m: &Module, pad: OpId) -> Option<[i64; 4]> {
    let mode = m
        .attr(pad, "mode")
        .and_then(Attribute::as_str)
        .unwrap_or("constant");
    let value = m
        .attr(pad, "value")
        .and_then(Attribute::as_f64)
        .unwrap_or(0.0);
    let p = m.attr(pad, "pads").and_then(Attribute::as_i64_array)?;
    let ok = mode == "constant"
        && value == 0.0
        && p.len() == 8
        && [0, 3, 4, 7].iter().all(|&i| p[i] == 0);
    ok.then(|| [p[1], p[2], p[5], p[6]])
}

/// Folds `pad` into its reader; true if it did.
fn fold(m: &mut Module, pad: OpId) -> bool {
    let y = m.result(pad, 0);
    let Some(extra) = spatial_zero_pads(m, pad) else {
        return false;
    };
    let Some(layer) = sole_user(m, y) else {
        return false;
    };
    if m.op(layer).operands().first() != Some(&y) {
        return false;
    }
    let name = m.op(layer).name_str();
    let pads = if name == hl::Conv2d::NAME || name == hl::DepthwiseConv2d::NAME {
        match hl::ConvParams::of(m, layer) {
            Ok(p) => p.pads,
            Err(_) => return false,
        }
    } else if name == hl::AvgPool::NAME {
        match hl::PoolParams::of(m, layer) {
            // Zero cells must count in every window the padded tensor had.
            Ok(p) if !p.ceil_mode && (p.count_include_pad || p.pads == [0; 4]) => p.pads,
            _ => return false,
        }
    } else {
        return false;
    };
    let total: Vec<usize> = pads
        .iter()
        .zip(extra)
        .map(|(&p, e)| (p + e) as usize)
        .collect();
    m.set_attr(layer, "padding", Attribute::str("EXPLICIT"));
    m.set_attr(layer, "pads", ints(&total));
    if name == hl::AvgPool::NAME {
        m.set_attr(layer, "count_include_pad", Attribute::Bool(true));
    }
    fuse_locs(m, layer, pad);
    let x = m.operand(pad, 0);
    m.set_operand(layer, 0, x);
    m.erase_op(pad);
    true
}
