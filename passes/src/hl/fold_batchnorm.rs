//! `hl-fold-batchnorm`: an `hl.batch_norm` whose input is the result of a weighted layer
//! (conv, depthwise, deconv, dense; also through a reshape that keeps the channel axis) read by
//! nothing else is folded into that layer's kernel
//! and bias, as the DFC parser does (guide §5.5: batch normalization after a weighted layer is
//! fused into it). With `scale = gamma / sqrt(var + epsilon)` per output channel the kernel
//! becomes `w * scale` and the bias `b * scale + (beta - mean * scale)`, computed in `f32`;
//! the batch norm's fused activation moves to the layer and its original names are appended
//! to the layer's location.

use super::fusion::{
    absorb, const_values, feeding_layer, fuse_locs, rewrite_each, set_activation, set_const,
};
use hailo_dialect_hl as hl;
use hailo_dialect_hl::interfaces::{interface, FusedActivation, Weights};
use hailo_ir::pass::options::NoOptions;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId};

pub struct FoldBatchnorm(NoOptions);

impl PassDef for FoldBatchnorm {
    const NAME: &'static str = "hl-fold-batchnorm";
    const SUMMARY: &'static str =
        "Fold a batch normalization into the kernel and bias of the weighted layer before it";
    const ANCHOR: Option<&'static str> = None;
    type Options = NoOptions;

    fn new(o: NoOptions) -> Self {
        FoldBatchnorm(o)
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
        Ok(rewrite_each::<hl::BatchNorm>(m, root, |m, _, bn| {
            fold(m, bn)
        }))
    }
}

/// Folds `bn` into the layer producing its input when that is possible; true if it did.
fn fold(m: &mut Module, bn: OpId) -> bool {
    let x = m.operand(bn, 0);
    let Some(layer) = feeding_layer(m, x, bn, true) else {
        return false;
    };
    let Some(w) = interface::<dyn Weights>(m, layer) else {
        return false;
    };
    let (k_idx, bias_idx, axis) = (w.kernel(), w.bias(), w.output_channel_axis());
    let linear = interface::<dyn FusedActivation>(m, layer)
        .and_then(|a| a.activation(m, layer).ok())
        == Some(hl::Activation::Linear);
    // A conv with a fused elementwise add has the add after the bias: nothing to fold into.
    let plain = bias_idx.is_some_and(|b| m.op(layer).operands().len() <= b + 1);
    if !linear || !plain || m.op(layer).results().len() != 1 {
        return false;
    }
    let Ok(act) = hl::Activation::fused(m, bn) else {
        return false;
    };
    let kernel_v = m.operand(layer, k_idx);
    let Some(kshape) = m.value_type(kernel_v).shape().map(<[i64]>::to_vec) else {
        return false;
    };
    let cout = kshape[axis] as usize;
    let params: Option<Vec<Vec<f32>>> = (1..5)
        .map(|i| m.op(bn).operands().get(i).and_then(|&v| const_values(m, v)))
        .collect();
    let (Some(params), Some(mut kernel)) = (params, const_values(m, kernel_v)) else {
        return false;
    };
    let [mean, var, gamma, beta] = [&params[0], &params[1], &params[2], &params[3]];
    if [mean, var, gamma, beta].iter().any(|p| p.len() != cout) {
        return false;
    }
    let bias_idx = bias_idx.unwrap_or(2);
    let mut bias = match m.op(layer).operands().get(bias_idx) {
        Some(&b) => match const_values(m, b) {
            Some(b) if b.len() == cout => b,
            _ => return false,
        },
        None => vec![0.0; cout],
    };
    let eps = m
        .attr(bn, "epsilon")
        .and_then(Attribute::as_f64)
        .unwrap_or(1e-5) as f32;
    let scale: Vec<f32> = (0..cout)
        .map(|k| gamma[k] / (var[k] + eps).sqrt())
        .collect();
    let shift: Vec<f32> = (0..cout).map(|k| beta[k] - mean[k] * scale[k]).collect();
    // Channel `k` of the kernel: the elements whose index along `axis` is `k`.
    let inner: usize = kshape[axis + 1..].iter().product::<i64>() as usize;
    for (i, w) in kernel.iter_mut().enumerate() {
        *w *= scale[(i / inner) % cout];
    }
    for (k, b) in bias.iter_mut().enumerate() {
        *b = *b * scale[k] + shift[k];
    }
    let kdims: Vec<usize> = kshape.iter().map(|&d| d as usize).collect();
    set_const(m, layer, k_idx, "kernel", &kdims, &kernel);
    set_const(m, layer, bias_idx, "bias", &[cout], &bias);
    set_activation(m, layer, act);
    fuse_locs(m, layer, bn);
    absorb(m, bn, x);
    true
}
