//! `hl-fold-bias`: an `hl.ew_add` of a constant with one value per output channel to the
//! result of a weighted layer (conv, depthwise, deconv, dense; also through a reshape that keeps
//! the channel axis) that nothing else reads is the
//! layer's bias (guide §5.5.11: "bias addition is always fused into another layer"). The
//! constant is added to the layer's bias (created when absent), the add's fused activation moves
//! to the layer and its original names are appended to the layer's location.

use super::fusion::{
    absorb, const_values, feeding_layer, fuse_locs, rewrite_each, set_activation, set_const,
};
use hailo_dialect_hl as hl;
use hailo_dialect_hl::interfaces::{interface, FusedActivation, Weights};
use hailo_ir::pass::options::NoOptions;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Module, OpId};

pub struct FoldBias(NoOptions);

impl PassDef for FoldBias {
    const NAME: &'static str = "hl-fold-bias";
    const SUMMARY: &'static str =
        "Fold an elementwise add of a per-channel constant into the weighted layer's bias";
    const ANCHOR: Option<&'static str> = None;
    type Options = NoOptions;

    fn new(o: NoOptions) -> Self {
        FoldBias(o)
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
        Ok(rewrite_each::<hl::EwAdd>(m, root, |m, _, add| fold(m, add)))
    }
}

/// Folds `add` into the weighted layer feeding one of its operands; true if it did.
fn fold(m: &mut Module, add: OpId) -> bool {
    let [a, b] = m.op(add).operands()[..] else {
        return false;
    };
    for (x, c) in [(a, b), (b, a)] {
        let Some(layer) = feeding_layer(m, x, add, true) else {
            continue;
        };
        let Some(w) = interface::<dyn Weights>(m, layer) else {
            continue;
        };
        let (axis, bias_idx) = (w.output_channel_axis(), w.bias().unwrap_or(2));
        let linear = interface::<dyn FusedActivation>(m, layer)
            .and_then(|f| f.activation(m, layer).ok())
            == Some(hl::Activation::Linear);
        let plain = m.op(layer).operands().len() <= bias_idx + 1;
        if !linear || !plain {
            continue;
        }
        let Some(kshape) = m
            .value_type(m.operand(layer, w.kernel()))
            .shape()
            .map(<[i64]>::to_vec)
        else {
            continue;
        };
        let cout = kshape[axis] as usize;
        // One value per channel, on the last (channel) axis, broadcasting to the result.
        let cshape = m
            .value_type(c)
            .shape()
            .map(<[i64]>::to_vec)
            .unwrap_or_default();
        let per_channel = cshape.last() == Some(&(cout as i64))
            && cshape.iter().rev().skip(1).all(|&d| d == 1)
            && cshape.len() <= m.value_type(x).shape().map_or(0, <[i64]>::len);
        let Some(values) = const_values(m, c).filter(|v| per_channel && v.len() == cout) else {
            continue;
        };
        let mut bias = match m.op(layer).operands().get(bias_idx) {
            Some(&bv) => match const_values(m, bv) {
                Some(v) if v.len() == cout => v,
                _ => continue,
            },
            None => vec![0.0; cout],
        };
        let Ok(act) = hl::Activation::fused(m, add) else {
            continue;
        };
        for (b, v) in bias.iter_mut().zip(&values) {
            *b += v;
        }
        set_const(m, layer, bias_idx, "bias", &[cout], &bias);
        set_activation(m, layer, act);
        fuse_locs(m, layer, add);
        absorb(m, add, x);
        return true;
    }
    false
}
