//! `hl-dead-channels-removal`: the guide's `pre_quantization_optimization(dead_channels_removal)`,
//! channel pruning (off by default in the guide). A dead output channel of a conv or dense layer
//! has a null kernel and a null activation output (`act(bias) = 0`): it is 0 whatever the input.
//! `quant-zero-static-channels`, which runs first, gives every channel that is 0 over the
//! calibration set this form (quantization.md §4), so the pass itself needs no data.
//!
//! The pass removes such channels from the layer, from the tensors between the layer and its
//! consumers (standalone ops that keep a zero channel zero and read one channel per channel:
//! ReLU-like activations, pools, reshapes that keep the channel axis) and from the consumers' kernels (the input channels of a
//! conv or dense, which multiply a zero). The float function is unchanged and the layers get
//! narrower, which the guide says "might reduce memory consumption and improve inference time".
//!
//! A layer is left alone when its output reaches anything else (an output, an add, a concat, a
//! depthwise or grouped conv, a reshape that moves channels), when it has a fused add, and when every channel is dead
//! (a dead layer: `hl-dead-layers-removal`).
//!
//! `hl-dead-channels-removal{policy=enabled}`.

use super::body_ops;
use super::fusion::{const_values, set_const};
use hailo_dialect_hl as hl;
use hailo_dialect_hl::interfaces::{interface, ChannelScaling, FusedActivation, Weights};
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId, Type, ValueId};

hailo_ir::pass_options! {
    pub struct DeadChannelsRemovalOptions {
        /// `enabled` or `disabled` (the guide's `policy`).
        policy: String = "enabled".to_owned(),
    }
}

pub struct DeadChannelsRemoval(DeadChannelsRemovalOptions);

impl PassDef for DeadChannelsRemoval {
    const NAME: &'static str = "hl-dead-channels-removal";
    const SUMMARY: &'static str =
        "Remove conv/dense output channels with a null kernel and a null output, and their consumers' input channels";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = DeadChannelsRemovalOptions;

    fn new(o: DeadChannelsRemovalOptions) -> Self {
        DeadChannelsRemoval(o)
    }
    fn options(&self) -> &DeadChannelsRemovalOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        match super::policy_runs(&self.0.policy, "dead-channels-removal", false) {
            Ok(true) => {}
            Ok(false) => return Ok(Preserved::All),
            Err(e) => return Err(cx.fail_at(m, graph, e)),
        }
        let mut removed = 0;
        for op in body_ops(m, graph) {
            if m.is_alive(op) {
                removed += prune(m, op);
            }
        }
        cx.stat("channels", "Dead channels removed", removed as u64);
        Ok(if removed > 0 {
            Preserved::None
        } else {
            Preserved::All
        })
    }
}

/// A conv (one group) or dense op with constant weights: its kernel, shape, bias values and
/// the operand indices of both.
struct Layer {
    kernel: Vec<f32>,
    shape: Vec<usize>,
    bias: Option<Vec<f32>>,
    kernel_index: usize,
    bias_index: usize,
}

impl Layer {
    /// `op`'s weights when it is a conv with one group or a dense layer whose kernel (and bias,
    /// if any) are constants and whose only other operand is its input.
    fn of(m: &Module, op: OpId) -> Option<Layer> {
        let conv = hl::Conv2d::cast(m, op).is_some()
            && m.attr(op, "groups")
                .and_then(Attribute::as_i64)
                .unwrap_or(1)
                == 1;
        if !conv && hl::Dense::cast(m, op).is_none() {
            return None;
        }
        let w = interface::<dyn Weights>(m, op)?;
        let bias_index = w.bias()?;
        let ops = m.op(op).operands();
        if ops.len() > bias_index + 1 {
            return None;
        }
        let k = *ops.get(w.kernel())?;
        let shape = m.value_type(k).shape()?;
        let shape: Vec<usize> = shape
            .iter()
            .map(|&d| usize::try_from(d).ok())
            .collect::<Option<_>>()?;
        let bias = match ops.get(bias_index) {
            Some(&b) => Some(const_values(m, b)?),
            None => None,
        };
        Some(Layer {
            kernel: const_values(m, k)?,
            shape,
            bias,
            kernel_index: w.kernel(),
            bias_index,
        })
    }

    fn cout(&self) -> usize {
        self.shape.last().copied().unwrap_or(0)
    }
}

/// Removes `op`'s dead output channels when every reader can follow; how many it removed.
fn prune(m: &mut Module, op: OpId) -> usize {
    let Some(layer) = Layer::of(m, op) else {
        return 0;
    };
    let cout = layer.cout();
    let act = interface::<dyn FusedActivation>(m, op)
        .and_then(|a| a.activation(m, op).ok())
        .unwrap_or(hl::Activation::Linear);
    let dead = |c: usize| {
        let b = layer.bias.as_ref().map_or(0.0, |b| f64::from(b[c]));
        act.eval(b) == 0.0 && layer.kernel.iter().skip(c).step_by(cout).all(|&x| x == 0.0)
    };
    let keep: Vec<usize> = (0..cout).filter(|&c| !dead(c)).collect();
    if keep.len() == cout || keep.is_empty() || m.op(op).results().len() != 1 {
        return 0;
    }
    let Some((values, consumers)) = readers(m, m.result(op, 0)) else {
        return 0;
    };
    let mut consumer_layers = Vec::new();
    for &c in &consumers {
        match Layer::of(m, c) {
            // The input channels are the kernel's second-to-last axis (HWIO and [cin, cout]).
            Some(l) if l.shape.len() >= 2 && l.shape[l.shape.len() - 2] == cout => {
                consumer_layers.push((c, l))
            }
            _ => return 0,
        }
    }
    let last = layer.shape.len() - 1;
    let (kernel, shape) = select(&layer.kernel, &layer.shape, last, &keep);
    set_const(m, op, layer.kernel_index, "kernel", &shape, &kernel);
    if let Some(b) = &layer.bias {
        let (bias, bshape) = select(b, &[cout], 0, &keep);
        set_const(m, op, layer.bias_index, "bias", &bshape, &bias);
    }
    for v in std::iter::once(m.result(op, 0)).chain(values) {
        narrow(m, v, keep.len());
    }
    for (c, l) in consumer_layers {
        let (kernel, shape) = select(&l.kernel, &l.shape, l.shape.len() - 2, &keep);
        set_const(m, c, l.kernel_index, "kernel", &shape, &kernel);
    }
    cout - keep.len()
}

/// The tensors between `v` and the weighted ops reading it as their input, and those ops;
/// `None` when anything else reads one of the tensors.
fn readers(m: &Module, v: ValueId) -> Option<(Vec<ValueId>, Vec<OpId>)> {
    let (mut values, mut consumers, mut work) = (Vec::new(), Vec::new(), vec![v]);
    while let Some(v) = work.pop() {
        for u in m.value(v).uses() {
            if u.index == 0 && Layer::of(m, u.op).is_some() {
                if !consumers.contains(&u.op) {
                    consumers.push(u.op);
                }
            } else if keeps_zero_channels(m, u.op) {
                let r = m.result(u.op, 0);
                values.push(r);
                work.push(r);
            } else {
                return None;
            }
        }
    }
    Some((values, consumers))
}

/// A one-operand op that maps each channel to the same channel of its one result and a zero
/// channel to zero: a positively homogeneous activation, a pool or a reshape that keeps the
/// channel (last) axis (`ChannelScaling`).
fn keeps_zero_channels(m: &Module, op: OpId) -> bool {
    let last = |v: ValueId| m.value_type(v).shape().and_then(|s| s.last().copied());
    m.op(op).operands().len() == 1
        && m.op(op).results().len() == 1
        && last(m.operand(op, 0)) == last(m.result(op, 0))
        && interface::<dyn ChannelScaling>(m, op).is_some_and(|c| c.commutes(m, op))
}

/// `values` (of shape `shape`) with only the indices `keep` along `axis`, and the new shape.
fn select(values: &[f32], shape: &[usize], axis: usize, keep: &[usize]) -> (Vec<f32>, Vec<usize>) {
    let inner: usize = shape[axis + 1..].iter().product();
    let dim = shape[axis];
    let mut out = Vec::with_capacity(values.len() / dim.max(1) * keep.len());
    for block in values.chunks_exact(dim * inner) {
        for &k in keep {
            out.extend_from_slice(&block[k * inner..(k + 1) * inner]);
        }
    }
    let mut new_shape = shape.to_vec();
    new_shape[axis] = keep.len();
    (out, new_shape)
}

/// Sets the last dimension of `v`'s tensor type to `channels`.
fn narrow(m: &mut Module, v: ValueId, channels: usize) {
    let ty = m.value_type(v);
    if let Some(shape) = ty.shape() {
        let mut dims = shape.to_vec();
        if let Some(d) = dims.last_mut() {
            *d = channels as i64;
        }
        m.set_value_type(v, Type::tensor(&dims, ty.element()));
    }
}
