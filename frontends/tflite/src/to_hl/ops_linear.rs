//! Weighted and windowed layers: CONV_2D, DEPTHWISE_CONV_2D (depth multiplier > 1 as a group
//! conv), TRANSPOSE_CONV, FULLY_CONNECTED, the 2-D poolings and the reductions (spatial MEAN /
//! REDUCE_MAX as global pooling). Kernels are re-laid to HWIO, TensorFlow SAME padding becomes
//! exact explicit pads; a layer carries TFLite's own fused activation. Folding a zero PAD or a
//! following activation operator into a layer is the `hailo-parse` pipeline's job.

use hailo_dialect_hl as hl;
use hailo_dialect_hl::builder::ints;
use hailo_ir::{Attribute, ValueId};

use super::error::ConvertResult;
use super::{strs, Converter};
use crate::graph::{Activation, OpKind, Padding, ReduceOp};

/// TensorFlow padding of one spatial axis: `(begin, end)`.
pub(crate) fn tf_pads(
    padding: Padding,
    input: usize,
    k: usize,
    s: usize,
    d: usize,
) -> (usize, usize) {
    match padding {
        Padding::Valid => (0, 0),
        Padding::Same => {
            let ek = (k - 1) * d + 1;
            let out = input.div_ceil(s);
            let total = ((out.max(1) - 1) * s + ek).saturating_sub(input);
            (total / 2, total - total / 2)
        }
    }
}

/// Explicit `[top, left, bottom, right]` pads of a 2-D window op on `[N, H, W, C]` input.
fn window_pads(
    padding: Padding,
    x_shape: &[usize],
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
) -> [usize; 4] {
    let (t, b) = tf_pads(padding, x_shape[1], kernel[0], stride[0], dilation[0]);
    let (l, r) = tf_pads(padding, x_shape[2], kernel[1], stride[1], dilation[1]);
    [t, l, b, r]
}

/// The `hl` activation of a TFLite fused activation.
pub(crate) fn fused_act(a: Activation) -> hl::Activation {
    match a {
        Activation::None => hl::Activation::Linear,
        Activation::Relu => hl::Activation::Relu,
        Activation::Relu6 => hl::Activation::Relu6,
        Activation::ReluN1To1 => hl::Activation::Clip {
            min: -1.0,
            max: 1.0,
        },
        Activation::Tanh => hl::Activation::Tanh,
    }
}

/// Transposes a row-major 4-D array of `shape` so that output axis `k` is input axis `perm[k]`.
fn transpose4(data: &[f32], shape: [usize; 4], perm: [usize; 4]) -> Vec<f32> {
    let out_shape = perm.map(|p| shape[p]);
    let strides = [
        shape[1] * shape[2] * shape[3],
        shape[2] * shape[3],
        shape[3],
        1,
    ];
    let mut out = Vec::with_capacity(data.len());
    for a in 0..out_shape[0] {
        for b in 0..out_shape[1] {
            for c in 0..out_shape[2] {
                for d in 0..out_shape[3] {
                    let idx = [a, b, c, d];
                    let src: usize = (0..4).map(|k| idx[k] * strides[perm[k]]).sum();
                    out.push(data[src]);
                }
            }
        }
    }
    out
}

impl Converter<'_> {
    /// Emits `layer`, an `op` reading `operands` located at `loc`, as operator `i` of a kind
    /// that cannot carry an activation (pool, concat, l2 norm): TFLite's `fused` activation
    /// follows as its own `hl.activation`. Binds the operator's output and records `i` as
    /// converted to both.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn layer_then_activation(
        &mut self,
        i: usize,
        op: &str,
        layer: &str,
        operands: &[ValueId],
        attrs: Vec<(&str, Attribute)>,
        loc: &[&str],
        fused: Activation,
    ) {
        let out_t = self.g.ops[i].outputs[0];
        let shape = vec![self.shape(out_t)];
        let mut res = self.b.layer(op, layer, operands, &shape, attrs, loc)[0];
        let mut layers = vec![layer.to_string()];
        if fused != Activation::None {
            let act = fused_act(fused);
            let act_layer = self.b.next_name("activation");
            let name = self.g.ops[i].name_hint.clone();
            res = self.b.layer(
                hl::ActivationOp::NAME,
                &act_layer,
                &[res],
                &shape,
                act.op_attrs(),
                &[&name],
            )[0];
            layers.push(act_layer);
        }
        self.values.insert(out_t, res);
        self.converted(i, &layers);
    }

    /// The bias of a layer with `n` outputs: input `k` of operator `i` or zeros.
    fn bias(&self, i: usize, k: usize, n: usize) -> ConvertResult<Vec<f32>> {
        match self.g.ops[i].inputs.get(k) {
            None => Ok(vec![0.0; n]),
            Some(&b) => {
                let v = self.const_values(i, b, "bias")?;
                if v.len() != n {
                    return Err(self.node_error(
                        i,
                        format!("bias has {} values for {n} output channels", v.len()),
                    ));
                }
                Ok(v)
            }
        }
    }

    /// Finishes a weighted layer: kernel and bias constants, the op, bindings and report.
    #[allow(clippy::too_many_arguments)]
    fn weighted_layer(
        &mut self,
        i: usize,
        op: &str,
        layer: &str,
        x: ValueId,
        kernel: (&[usize], &[f32]),
        bias: &[f32],
        mut attrs: Vec<(&str, Attribute)>,
        act: Activation,
    ) {
        let tensor = self.g.ops[i].outputs[0];
        let names = self.names(&[i]);
        let loc = strs(&names);
        let k = self
            .b
            .constant(layer, "kernel", kernel.0, kernel.1, true, &loc);
        let b = self
            .b
            .constant(layer, "bias", &[bias.len()], bias, true, &loc);
        attrs.extend(fused_act(act).layer_attrs());
        let out_shape = self.shape(tensor);
        let out = self
            .b
            .layer(op, layer, &[x, k, b], &[out_shape], attrs, &loc);
        self.values.insert(tensor, out[0]);
        self.converted(i, &[layer.to_string()]);
    }

    pub(crate) fn conv(&mut self, i: usize) -> ConvertResult<()> {
        let op = &self.g.ops[i];
        let (params, multiplier) = match &op.kind {
            OpKind::Conv2d(p) => (*p, None),
            OpKind::DepthwiseConv2d {
                params,
                depth_multiplier,
            } => (*params, Some(*depth_multiplier)),
            _ => return Err(self.node_error(i, "not a convolution")),
        };
        let (xt, wt) = (op.inputs[0], op.inputs[1]);
        let x_shape = self.shape(xt);
        let w_shape = self.shape(wt);
        if x_shape.len() != 4 || w_shape.len() != 4 {
            return Err(self.node_error(
                i,
                format!("input {x_shape:?} and filter {w_shape:?} must both have rank 4"),
            ));
        }
        let w = self.const_values(i, wt, "filter")?;
        let (kh, kw, cout) = (
            w_shape[1],
            w_shape[2],
            if multiplier.is_some() {
                w_shape[3]
            } else {
                w_shape[0]
            },
        );
        let pads = window_pads(
            params.padding,
            &x_shape,
            [kh, kw],
            params.stride,
            params.dilation,
        );
        let bias = self.bias(i, 2, cout)?;
        let cin = x_shape[3];
        let (op_name, prefix, hwio_shape, hwio, groups) = match multiplier {
            // [1, kh, kw, C*M] is already [kh, kw, 1, C*M] in memory.
            Some(1) => (hl::DepthwiseConv2d::NAME, "dw", [kh, kw, 1, cout], w, None),
            Some(_) => (hl::Conv2d::NAME, "conv", [kh, kw, 1, cout], w, Some(cin)),
            None => {
                let ci = w_shape[3];
                if ci == 0 || !cin.is_multiple_of(ci) || cout % (cin / ci) != 0 {
                    return Err(self.node_error(
                        i,
                        format!("filter {w_shape:?} does not fit input channels {cin}"),
                    ));
                }
                let hwio = transpose4(&w, [cout, kh, kw, ci], [1, 2, 3, 0]);
                (
                    hl::Conv2d::NAME,
                    "conv",
                    [kh, kw, ci, cout],
                    hwio,
                    Some(cin / ci),
                )
            }
        };
        let act = params.activation;
        let layer = self.b.next_name(prefix);
        let x = self.value(i, xt)?;
        let mut attrs = vec![
            ("strides", ints(&params.stride)),
            ("dilations", ints(&params.dilation)),
            ("padding", Attribute::str("EXPLICIT")),
            ("pads", ints(&pads)),
        ];
        if let Some(g) = groups {
            attrs.push(("groups", Attribute::i64(g as i64)));
        }
        self.weighted_layer(
            i,
            op_name,
            &layer,
            x,
            (&hwio_shape, &hwio),
            &bias,
            attrs,
            act,
        );
        Ok(())
    }

    pub(crate) fn deconv(&mut self, i: usize) -> ConvertResult<()> {
        let op = &self.g.ops[i];
        let OpKind::TransposeConv {
            padding,
            stride,
            activation,
            ..
        } = op.kind.clone()
        else {
            return Err(self.node_error(i, "not a transposed convolution"));
        };
        let (xt, wt) = (op.inputs[0], op.inputs[1]);
        let x_shape = self.shape(xt);
        let w_shape = self.shape(wt);
        let y_shape = self.shape(op.outputs[0]);
        if x_shape.len() != 4 || w_shape.len() != 4 || y_shape.len() != 4 {
            return Err(self.node_error(i, "only 2-D transposed convolutions are supported"));
        }
        let (cout, kh, kw, cin) = (w_shape[0], w_shape[1], w_shape[2], w_shape[3]);
        if cin != x_shape[3] {
            return Err(self.node_error(
                i,
                format!(
                    "filter {w_shape:?} does not fit input channels {}",
                    x_shape[3]
                ),
            ));
        }
        let w = self.const_values(i, wt, "filter")?;
        let hwio = transpose4(&w, [cout, kh, kw, cin], [1, 2, 3, 0]);
        let mut pads = [0usize; 4];
        let mut out_pad = [0usize; 2];
        for (a, k) in [kh, kw].into_iter().enumerate() {
            let full = (x_shape[1 + a] - 1) * stride[a] + k;
            let out = y_shape[1 + a];
            if full >= out {
                let total = full - out;
                let begin = if padding == Padding::Same {
                    total / 2
                } else {
                    0
                };
                pads[a] = begin;
                pads[a + 2] = total - begin;
            } else {
                out_pad[a] = out - full;
            }
        }
        let bias = self.bias(i, 2, cout)?;
        let layer = self.b.next_name("deconv");
        let x = self.value(i, xt)?;
        let attrs = vec![
            ("strides", ints(&stride)),
            ("dilations", ints(&[1, 1])),
            ("groups", Attribute::i64(1)),
            ("pads", ints(&pads)),
            ("output_padding", ints(&out_pad)),
        ];
        self.weighted_layer(
            i,
            hl::Deconv2d::NAME,
            &layer,
            x,
            (&[kh, kw, cin, cout], &hwio),
            &bias,
            attrs,
            activation,
        );
        Ok(())
    }

    pub(crate) fn dense(&mut self, i: usize) -> ConvertResult<()> {
        let op = &self.g.ops[i];
        let OpKind::FullyConnected { activation, .. } = op.kind else {
            return Err(self.node_error(i, "not a fully connected layer"));
        };
        let (xt, wt) = (op.inputs[0], op.inputs[1]);
        let w_shape = self.shape(wt);
        let [o, cin] = w_shape[..] else {
            return Err(self.node_error(i, format!("weights {w_shape:?} must be [O, I]")));
        };
        let w = self.const_values(i, wt, "weights")?;
        let numel = self.g.tensors[xt].num_elements();
        if cin == 0 || !numel.is_multiple_of(cin) {
            return Err(self.node_error(
                i,
                format!("input {:?} does not flatten to [-1, {cin}]", self.shape(xt)),
            ));
        }
        let n = numel / cin;
        let kernel: Vec<f32> = (0..cin)
            .flat_map(|c| (0..o).map(move |r| (r, c)))
            .map(|(r, c)| w[r * cin + c])
            .collect();
        let bias = self.bias(i, 2, o)?;
        let out_t = op.outputs[0];
        let out_shape = self.shape(out_t);
        let x = self.value(i, xt)?;
        let (x, pre) = self.reshape_to(i, x, &[n, cin]);
        let layer = self.b.next_name("fc");
        let names = self.names(&[i]);
        let loc = strs(&names);
        let k = self
            .b
            .constant(&layer, "kernel", &[cin, o], &kernel, true, &loc);
        let b = self.b.constant(&layer, "bias", &[o], &bias, true, &loc);
        let res = self.b.layer(
            hl::Dense::NAME,
            &layer,
            &[x, k, b],
            &[vec![n, o]],
            fused_act(activation).layer_attrs(),
            &loc,
        )[0];
        let mut layers: Vec<String> = pre.into_iter().collect();
        layers.push(layer.clone());
        let (res, post) = self.reshape_to(i, res, &out_shape);
        layers.extend(post);
        self.values.insert(out_t, res);
        self.converted(i, &layers);
        Ok(())
    }

    pub(crate) fn pool(&mut self, i: usize) -> ConvertResult<()> {
        let op = &self.g.ops[i];
        let (p, max) = match &op.kind {
            OpKind::MaxPool2d(p) => (*p, true),
            OpKind::AvgPool2d(p) => (*p, false),
            _ => return Err(self.node_error(i, "not a pooling")),
        };
        let xt = op.inputs[0];
        let x_shape = self.shape(xt);
        if x_shape.len() != 4 {
            return Err(self.node_error(i, "only 2-D pooling (rank-4 input) is supported"));
        }
        let pads = window_pads(p.padding, &x_shape, p.filter, p.stride, [1, 1]);
        let (op_name, prefix) = if max {
            (hl::MaxPool::NAME, "maxpool")
        } else {
            (hl::AvgPool::NAME, "avgpool")
        };
        let layer = self.b.next_name(prefix);
        let names = self.names(&[i]);
        let x = self.value(i, xt)?;
        let mut attrs = vec![
            ("kernel", ints(&p.filter)),
            ("strides", ints(&p.stride)),
            ("padding", Attribute::str("EXPLICIT")),
            ("pads", ints(&pads)),
            ("ceil_mode", Attribute::Bool(false)),
        ];
        if !max {
            attrs.push(("count_include_pad", Attribute::Bool(false)));
        }
        let loc = strs(&names);
        self.layer_then_activation(i, op_name, &layer, &[x], attrs, &loc, p.activation);
        Ok(())
    }

    pub(crate) fn reduce(&mut self, i: usize) -> ConvertResult<()> {
        let op = &self.g.ops[i];
        let OpKind::Reduce {
            op: kind,
            axes,
            keep_dims,
        } = op.kind.clone()
        else {
            return Err(self.node_error(i, "not a reduction"));
        };
        let xt = op.inputs[0];
        let out_t = op.outputs[0];
        let x_shape = self.shape(xt);
        let out_shape = self.shape(out_t);
        let axes = self.norm_axes(i, &axes, x_shape.len())?;
        let x = self.value(i, xt)?;
        let global = x_shape.len() == 4 && axes == [1, 2];
        let global_op = match kind {
            ReduceOp::Mean if global => Some((hl::GlobalAvgPool::NAME, "avgpool")),
            ReduceOp::Max if global => Some((hl::GlobalMaxPool::NAME, "maxpool")),
            _ => None,
        };
        let name = op.name_hint.clone();
        let mut layers = Vec::new();
        let res = if let Some((op_name, prefix)) = global_op {
            let layer = self.b.next_name(prefix);
            let pooled = vec![x_shape[0], 1, 1, x_shape[3]];
            let r = self
                .b
                .layer(op_name, &layer, &[x], &[pooled], vec![], &[&name])[0];
            layers.push(layer);
            let (r, post) = self.reshape_to(i, r, &out_shape);
            layers.extend(post);
            r
        } else {
            let (k, prefix) = match kind {
                ReduceOp::Mean => ("mean", "reduce_mean"),
                ReduceOp::Sum => ("sum", "reduce_sum"),
                ReduceOp::Max => ("max", "reduce_max"),
                ReduceOp::Min => ("min", "reduce_min"),
            };
            let layer = self.b.next_name(prefix);
            let attrs = vec![
                ("kind", Attribute::str(k)),
                ("axes", ints(&axes)),
                ("keepdims", Attribute::Bool(keep_dims)),
            ];
            let r = self.b.layer(
                hl::Reduce::NAME,
                &layer,
                &[x],
                &[out_shape],
                attrs,
                &[&name],
            )[0];
            layers.push(layer);
            r
        };
        self.values.insert(out_t, res);
        self.converted(i, &layers);
        Ok(())
    }

    /// Axes normalised to `0..rank`, sorted and deduplicated.
    pub(crate) fn norm_axes(
        &self,
        i: usize,
        axes: &[i64],
        rank: usize,
    ) -> ConvertResult<Vec<usize>> {
        let mut out = axes
            .iter()
            .map(|&a| self.norm_axis(i, a, rank))
            .collect::<ConvertResult<Vec<_>>>()?;
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// One axis normalised to `0..rank`.
    pub(crate) fn norm_axis(&self, i: usize, a: i64, rank: usize) -> ConvertResult<usize> {
        let r = rank as i64;
        if a < -r || a >= r {
            return Err(self.node_error(i, format!("axis {a} is out of range for rank {rank}")));
        }
        Ok(if a < 0 { (a + r) as usize } else { a as usize })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_pads_put_the_odd_pixel_at_the_end() {
        assert_eq!(tf_pads(Padding::Same, 32, 3, 2, 1), (0, 1));
        assert_eq!(tf_pads(Padding::Same, 8, 3, 1, 1), (1, 1));
        assert_eq!(tf_pads(Padding::Same, 7, 4, 1, 1), (1, 2));
        assert_eq!(tf_pads(Padding::Same, 7, 3, 1, 2), (2, 2));
        assert_eq!(tf_pads(Padding::Same, 5, 1, 2, 1), (0, 0));
        assert_eq!(tf_pads(Padding::Valid, 5, 3, 1, 1), (0, 0));
    }

    #[test]
    fn transpose4_moves_axes() {
        // [2, 1, 1, 3] OHWI -> [1, 1, 3, 2] HWIO.
        let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(
            transpose4(&w, [2, 1, 1, 3], [1, 2, 3, 0]),
            [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
        );
    }
}
