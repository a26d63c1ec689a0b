//! `hl-fuse-conv-add`: Hailo's "convolution & add" kernel (guide Table 10, the DFC's
//! `ew_add_fusing`; HN `ew_add_enabled`). An `hl.ew_add` of two tensors of one shape, one of
//! them the result of an `hl.conv2d` that nothing else reads, becomes that conv's fourth operand
//! (`ew_add`): the conv computes, adds the other tensor, then applies the add's activation, so a
//! residual add is no layer of its own (in the vendor's resnet allocations the adds never
//! appear). The conv must fit Table 10: kernel height and width in {1, 3, 5, 7}, stride 1,
//! dilation 1, one group, a linear activation and no add yet. When both operands qualify, the
//! conv later in the graph takes the add, since the other operand is then ready when it runs
//! (in a resnet bottleneck unit, the 1x1 expansion rather than the shortcut projection); when
//! the other operand is computed after the conv (torchvision's downsample conv follows the
//! block's convs), the conv moves down to the add's place. The add's original names are
//! appended to the conv's location; the float result is unchanged.
//!
//! As in the DFC, layers with incompatible precision modes are not fused: the options carry
//! the model script's precision modes (`quant-precision`'s `default` and `layers`), and a conv
//! whose mode differs from the add's keeps the add a layer of its own. Layers with 16-bit
//! activations or weights are not fused either: the fused kernel adds the other operand at the
//! accumulator scale in 32 bits, which 16×16-bit products at their tiny scale overflow.

use super::fusion::{absorb, fuse_locs, rewrite_each, set_activation, set_const, sole_user};
use crate::quant::assign_precision::PrecisionSettings;
use crate::quant::layer_of;
use hailo_dialect_hl as hl;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Module, OpId, ValueId};

hailo_ir::pass_options! {
    pub struct FuseConvAddOptions {
        /// Precision mode of layers not listed (as `quant-precision` will set it).
        default: String = "a8_w8".to_owned(),
        /// Per-layer precision modes, `layer:mode`: a conv and an add of different modes are
        /// not fused.
        layers: Vec<String> = Vec::new(),
    }
}

pub struct FuseConvAdd(FuseConvAddOptions);

impl PassDef for FuseConvAdd {
    const NAME: &'static str = "hl-fuse-conv-add";
    const SUMMARY: &'static str =
        "Fuse an elementwise add into the convolution producing one of its operands";
    const ANCHOR: Option<&'static str> = None;
    type Options = FuseConvAddOptions;

    fn new(o: FuseConvAddOptions) -> Self {
        FuseConvAdd(o)
    }
    fn options(&self) -> &FuseConvAddOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        root: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let modes = PrecisionSettings::parse(&self.0.default, &self.0.layers, &[])
            .map_err(|e| cx.fail_at(m, root, e))?;
        Ok(rewrite_each::<hl::EwAdd>(m, root, |m, order, add| {
            fuse(m, order, add, &modes)
        }))
    }
}

/// Whether `conv` is an `hl.conv2d` the convolution & add kernel can run (Table 10).
fn table_10(m: &Module, conv: OpId) -> bool {
    if m.op(conv).name_str() != hl::Conv2d::NAME || m.op(conv).operands().len() > 3 {
        return false;
    }
    let Ok(p) = hl::ConvParams::of(m, conv) else {
        return false;
    };
    let k = m
        .value_type(m.operand(conv, 1))
        .shape()
        .map(<[i64]>::to_vec)
        .unwrap_or_default();
    k.len() == 4
        && [k[0], k[1]].iter().all(|d| [1, 3, 5, 7].contains(d))
        && p.strides == [1, 1]
        && p.dilations == [1, 1]
        && p.groups == 1
        && p.activation == hl::Activation::Linear
}

/// Fuses `add` into the conv producing one operand (of the add's precision mode in `modes`);
/// true if it did. `order` is the graph's op order when the pass started.
fn fuse(m: &mut Module, order: &[OpId], add: OpId, modes: &PrecisionSettings) -> bool {
    let add_mode = modes.of(&layer_of(m, add));
    if add_mode.output > 8 || add_mode.weights > 8 || add_mode.input.unwrap_or(8) > 8 {
        return false;
    }
    let pos = |m: &Module, v: ValueId| {
        m.defining_op(v)
            .and_then(|d| order.iter().position(|&o| o == d))
    };
    let [a, b] = m.op(add).operands()[..] else {
        return false;
    };
    if m.value_type(a) != m.value_type(b) || m.value_type(a) != m.value_type(m.result(add, 0)) {
        return false;
    }
    let mut candidates: Vec<(OpId, ValueId, Option<usize>)> = [(a, b), (b, a)]
        .into_iter()
        .filter_map(|(x, other)| {
            let conv = m.defining_op(x)?;
            let ok = table_10(m, conv)
                && sole_user(m, x) == Some(add)
                && modes.of(&layer_of(m, conv)) == add_mode;
            ok.then(|| (conv, other, pos(m, x)))
        })
        .collect();
    candidates.sort_by_key(|c| std::cmp::Reverse(c.2));
    let Some(&(conv, other, conv_pos)) = candidates.first() else {
        return false;
    };
    let Ok(act) = hl::Activation::fused(m, add) else {
        return false;
    };
    if m.op(conv).operands().len() == 2 {
        let cout = m
            .value_type(m.result(conv, 0))
            .shape()
            .and_then(|s| s.last().copied())
            .unwrap_or(0) as usize;
        set_const(m, conv, 2, "bias", &[cout], &vec![0.0; cout]);
    }
    // The conv now reads `other`: when that is computed after it, the conv moves down to where
    // the add was (its own operands come before; only the add read its result).
    if pos(m, other) > conv_pos {
        m.detach(conv);
        m.insert_before(add, conv);
    }
    let mut operands = m.op(conv).operands().to_vec();
    operands.push(other);
    m.set_operands(conv, &operands);
    set_activation(m, conv, act);
    fuse_locs(m, conv, add);
    let y = m.result(conv, 0);
    absorb(m, add, y);
    true
}
