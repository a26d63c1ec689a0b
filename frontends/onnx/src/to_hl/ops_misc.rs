//! Elementwise and per-tensor layers: binary ew ops (with constant operands broadcast into the
//! NHWC layout), standalone activations, PRelu, Softmax/LogSoftmax, ArgMax, Reduce*, the
//! normalisation layers (LayerNorm, InstanceNorm, L2Norm) and the layers of recognised patterns.

use hailo_dialect_hl as hl;
use hailo_dialect_hl::builder::ints;
use hailo_dialect_hl::Activation;
use hailo_ir::Attribute;
use ndarray::{Array1, ArrayD};

use super::act::node_activation;
use super::error::{node_error, ConvertResult};
use super::layout::{broadcast_constant, canonical, hl_axis, norm_axis, permute};
use super::patterns::{reduce_axes, PatternKind};
use super::Converter;

/// A normalisation layer to emit.
enum Norm {
    /// Over ONNX axes `axes`, affine parameters broadcastable against the input.
    Layer {
        axes: Vec<usize>,
        epsilon: f64,
        gamma: Option<ArrayD<f32>>,
        beta: Option<ArrayD<f32>>,
    },
    /// Over H and W of NCHW data, per-channel affine.
    Instance {
        epsilon: f64,
        gamma: Option<ArrayD<f32>>,
        beta: Option<ArrayD<f32>>,
    },
    L2 {
        axis: usize,
        epsilon: f64,
    },
}

/// The layout of a reduced tensor: `perm` without the `axes` (ONNX), renumbered.
fn reduced_perm(perm: &[usize], axes: &[usize]) -> Vec<usize> {
    perm.iter()
        .filter(|a| !axes.contains(a))
        .map(|&a| a - axes.iter().filter(|&&r| r < a).count())
        .collect()
}

/// `n` values from a per-channel parameter (`n` elements or one), or `default`.
fn per_channel(p: &Option<ArrayD<f32>>, n: usize, default: f32) -> Option<Vec<f32>> {
    match p {
        None => Some(vec![default; n]),
        Some(a) if a.len() == n => Some(a.iter().copied().collect()),
        Some(a) if a.len() == 1 => Some(vec![a.iter().copied().next().unwrap_or(default); n]),
        Some(_) => None,
    }
}

/// A layer-norm parameter (ONNX shape, broadcastable against the input) as an array shaped
/// like the input's normalized `hl` axes.
fn normalized_param(
    p: &ArrayD<f32>,
    hl_in: &[usize],
    perm: &[usize],
    hl_axes: &[usize],
) -> Option<ArrayD<f32>> {
    let b = broadcast_constant(p, perm.len(), perm)?;
    let full: Vec<usize> = (0..hl_in.len())
        .map(|a| if hl_axes.contains(&a) { hl_in[a] } else { 1 })
        .collect();
    let spread = b.broadcast(ndarray::IxDyn(&full))?.to_owned();
    let target: Vec<usize> = hl_axes.iter().map(|&a| hl_in[a]).collect();
    spread.into_shape_with_order(ndarray::IxDyn(&target)).ok()
}

impl Converter<'_> {
    pub(crate) fn binary(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let consts: Vec<bool> = node
            .inputs
            .iter()
            .map(|t| self.e.model.constant(t).is_some())
            .collect();
        if matches!(node.op_type.as_str(), "Pow" | "Equal" | "Greater" | "Less")
            && consts.get(1) == Some(&true)
        {
            if let Some(act) = node_activation(self.e.model, node)? {
                return self.standalone(i, act);
            }
        }
        let (op, prefix) = match node.op_type.as_str() {
            "Add" => (hl::EwAdd::NAME, "ew_add"),
            "Sub" => (hl::EwSub::NAME, "ew_sub"),
            "Mul" => (hl::EwMult::NAME, "ew_mult"),
            "Div" => (hl::EwDiv::NAME, "ew_div"),
            "Max" => (hl::EwMax::NAME, "ew_max"),
            "Min" => (hl::EwMin::NAME, "ew_min"),
            "Pow" => (hl::EwPow::NAME, "pow"),
            other => {
                return Err(node_error(
                    node,
                    format!("{other} is supported only against a constant scalar"),
                ))
            }
        };
        if node.inputs.len() != 2 {
            return Err(node_error(
                node,
                format!(
                    "{} with {} inputs is not supported (2 expected)",
                    node.op_type,
                    node.inputs.len()
                ),
            ));
        }
        let data = node
            .inputs
            .iter()
            .find_map(|t| self.e.values.get(t).cloned())
            .ok_or_else(|| node_error(node, "both inputs are constants"))?;
        let rank = data.perm.len();
        let out_rank = self.e.output_shape(node, 0)?.len();
        if out_rank != rank {
            return Err(node_error(
                node,
                format!("broadcasting rank-{rank} data to rank {out_rank} is not supported"),
            ));
        }
        let tensor = node.outputs[0].clone();
        let layer = self.e.b.next_name(prefix);
        let loc = [node.name.as_str()];
        let mut operands = Vec::new();
        for (k, param) in ["a", "b"].iter().enumerate() {
            if consts[k] {
                let c = self.const_input(node, k)?;
                operands.push(self.operand_const(&layer, param, &c, &data, node)?);
            } else {
                if self.e.input_shape(node, k)?.len() != rank {
                    return Err(node_error(
                        node,
                        "broadcasting between run-time tensors of different ranks is not supported",
                    ));
                }
                operands.push(self.e.input_in(node, k, &data.perm)?);
            }
        }
        let out_shape = permute(&self.e.shape(node, &tensor)?, &data.perm);
        let attrs = Activation::Linear.layer_attrs();
        let res = self
            .e
            .b
            .layer(op, &layer, &operands, &[out_shape], attrs, &loc);
        self.e.bind(&tensor, res[0], data.perm.clone());
        self.converted(i, &[&layer]);
        Ok(())
    }

    pub(crate) fn activation_node(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        match node_activation(self.e.model, node)? {
            Some(act) => self.standalone(i, act),
            None => Err(node_error(
                node,
                "operator not supported by the Hailo parser",
            )),
        }
    }

    /// A standalone `hl.activation` for node `i`.
    fn standalone(&mut self, i: usize, act: Activation) -> ConvertResult<()> {
        let node = self.g.node(i);
        let input = node.inputs[0].clone();
        let output = node.outputs[0].clone();
        self.activation_layer(i, &input, &output, act, &[i])
    }

    /// An `hl.activation` from `input` to `output` covering `nodes` (anchor last).
    fn activation_layer(
        &mut self,
        anchor: usize,
        input: &str,
        output: &str,
        act: Activation,
        nodes: &[usize],
    ) -> ConvertResult<()> {
        let node = self.g.node(anchor);
        let v = self.e.value(node, input)?;
        let layer = self.e.b.next_name("activation");
        let names: Vec<&str> = nodes
            .iter()
            .map(|&n| self.g.node(n).name.as_str())
            .collect();
        let x = self.e.relayout_value(node, input, &v, &v.perm.clone())?;
        let out_shape = permute(&self.e.shape(node, output)?, &v.perm);
        let attrs = act.op_attrs();
        let res = self.e.b.layer(
            hl::ActivationOp::NAME,
            &layer,
            &[x],
            &[out_shape],
            attrs,
            &names,
        );
        self.e.bind(output, res[0], v.perm);
        self.finish_group(anchor, nodes, &layer);
        Ok(())
    }

    pub(crate) fn prelu(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let v = self.e.input(node, 0)?;
        let layer = self.e.b.next_name("activation");
        let slope = self.const_input(node, 1)?;
        let s = broadcast_constant(&slope, v.perm.len(), &v.perm)
            .ok_or_else(|| node_error(node, "the slope does not broadcast against the input"))?;
        let x = self.e.input_in(node, 0, &v.perm.clone())?;
        let k = self.e.constant(&layer, "slope", &s, true, &[&node.name]);
        let out_shape = permute(&self.e.output_shape(node, 0)?, &v.perm);
        self.sole_layer(
            i,
            hl::Prelu::NAME,
            &layer,
            &[x, k],
            out_shape,
            vec![],
            v.perm,
        );
        Ok(())
    }

    pub(crate) fn softmax(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let v = self.e.input(node, 0)?;
        let shape = self.e.input_shape(node, 0)?;
        let rank = shape.len();
        let opset = self.e.model.opset(&node.domain);
        let default = if opset < 13 { 1 } else { -1 };
        let axis = norm_axis(node.attr_int("axis")?.unwrap_or(default), rank)
            .ok_or_else(|| node_error(node, "axis out of range"))?;
        if opset < 13 && shape[axis + 1..].iter().any(|&d| d != 1) {
            return Err(node_error(
                node,
                format!("opset-{opset} softmax over the flattened axes {axis}.. is not supported; only when the axes after {axis} have size 1"),
            ));
        }
        let (op, prefix) = if node.op_type == "Softmax" {
            (hl::Softmax::NAME, "softmax")
        } else {
            (hl::LogSoftmax::NAME, "log_softmax")
        };
        let layer = self.e.b.next_name(prefix);
        let x = self.e.input_in(node, 0, &v.perm.clone())?;
        self.sole_layer(
            i,
            op,
            &layer,
            &[x],
            permute(&shape, &v.perm),
            vec![("axis", Attribute::i64(hl_axis(&v.perm, axis) as i64))],
            v.perm,
        );
        Ok(())
    }

    pub(crate) fn argmax(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let v = self.e.input(node, 0)?;
        let rank = v.perm.len();
        if node.attr_int_or("select_last_index", 0)? != 0 {
            return Err(node_error(node, "select_last_index=1 is not supported"));
        }
        let axis = norm_axis(node.attr_int_or("axis", 0)?, rank)
            .ok_or_else(|| node_error(node, "axis out of range"))?;
        let keep = node.attr_int_or("keepdims", 1)? != 0;
        let layer = self.e.b.next_name("argmax");
        let x = self.e.input_in(node, 0, &v.perm.clone())?;
        let out_perm = if keep {
            v.perm.clone()
        } else {
            reduced_perm(&v.perm, &[axis])
        };
        let out_shape = permute(&self.e.output_shape(node, 0)?, &out_perm);
        self.sole_layer(
            i,
            hl::ArgMax::NAME,
            &layer,
            &[x],
            out_shape,
            vec![
                ("axis", Attribute::i64(hl_axis(&v.perm, axis) as i64)),
                ("keepdims", Attribute::Bool(keep)),
            ],
            out_perm,
        );
        Ok(())
    }

    pub(crate) fn reduce(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let no_axes = match node.input(1) {
            None => node.attr_ints("axes")?.is_none_or(<[i64]>::is_empty),
            Some(n) => self
                .e
                .model
                .constant(n)
                .is_some_and(|c| c.to_i64_vec().is_empty()),
        };
        if no_axes && node.attr_int_or("noop_with_empty_axes", 0)? != 0 {
            // No axes and `noop_with_empty_axes`: the input passes through unreduced.
            return match node.op_type.as_str() {
                "ReduceSum" | "ReduceMean" | "ReduceMax" | "ReduceMin" => self.identity(i),
                _ => Err(node_error(
                    node,
                    format!(
                        "{} with noop_with_empty_axes=1 and no axes is not supported",
                        node.op_type
                    ),
                )),
            };
        }
        let v = self.e.input(node, 0)?;
        let rank = v.perm.len();
        let axes = reduce_axes(self.e.model, node, rank).ok_or_else(|| {
            node_error(
                node,
                "the reduction axes must be constants within the input's rank",
            )
        })?;
        let keep = node.attr_int_or("keepdims", 1)? != 0;
        if rank == 4 && axes == [2, 3] {
            let pool = match node.op_type.as_str() {
                "ReduceMean" => Some((hl::GlobalAvgPool::NAME, "avgpool")),
                "ReduceMax" => Some((hl::GlobalMaxPool::NAME, "maxpool")),
                _ => None,
            };
            if let Some((op, prefix)) = pool {
                return self.global_pool_squeezed(i, op, prefix, keep);
            }
        }
        let (kind, prefix) = match node.op_type.as_str() {
            "ReduceMax" => ("max", "reduce_max"),
            "ReduceMin" => ("min", "reduce_min"),
            "ReduceSum" => ("sum", "reduce_sum"),
            "ReduceMean" => ("mean", "reduce_mean"),
            "ReduceSumSquare" => ("sum_square", "reduce_sum_square"),
            _ => ("l2", "reduce_l2"),
        };
        let layer = self.e.b.next_name(prefix);
        let x = self.e.input_in(node, 0, &v.perm.clone())?;
        let mut hl_axes: Vec<usize> = axes.iter().map(|&a| hl_axis(&v.perm, a)).collect();
        hl_axes.sort_unstable();
        let out_perm = if keep {
            v.perm.clone()
        } else {
            reduced_perm(&v.perm, &axes)
        };
        let out_shape = permute(&self.e.output_shape(node, 0)?, &out_perm);
        self.sole_layer(
            i,
            hl::Reduce::NAME,
            &layer,
            &[x],
            out_shape,
            vec![
                ("kind", Attribute::str(kind)),
                ("axes", ints(&hl_axes)),
                ("keepdims", Attribute::Bool(keep)),
            ],
            out_perm,
        );
        Ok(())
    }

    pub(crate) fn norm_node(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let rank = self.e.input_shape(node, 0)?.len();
        let opt = |k: usize| -> ConvertResult<Option<ArrayD<f32>>> {
            node.input(k).map(|_| self.const_input(node, k)).transpose()
        };
        let eps = f64::from(node.attr_float_or("epsilon", 1e-5)?);
        let norm = match node.op_type.as_str() {
            "LayerNormalization" => {
                let axis = norm_axis(node.attr_int_or("axis", -1)?, rank)
                    .ok_or_else(|| node_error(node, "axis out of range"))?;
                if node
                    .outputs
                    .iter()
                    .skip(1)
                    .any(|o| !o.is_empty() && !self.g.consumers(o).is_empty())
                {
                    return Err(node_error(
                        node,
                        "the Mean / InvStdDev outputs are not supported",
                    ));
                }
                Norm::Layer {
                    axes: (axis..rank).collect(),
                    epsilon: eps,
                    gamma: opt(1)?,
                    beta: opt(2)?,
                }
            }
            "InstanceNormalization" => Norm::Instance {
                epsilon: eps,
                gamma: opt(1)?,
                beta: opt(2)?,
            },
            _ => {
                if node.attr_int_or("p", 2)? != 2 {
                    return Err(node_error(node, "only p=2 is supported"));
                }
                let axis = norm_axis(node.attr_int_or("axis", -1)?, rank)
                    .ok_or_else(|| node_error(node, "axis out of range"))?;
                Norm::L2 { axis, epsilon: 0.0 }
            }
        };
        let (input, output) = (node.inputs[0].clone(), node.outputs[0].clone());
        self.norm_layer(i, &input, &output, norm, &[i])
    }

    fn norm_layer(
        &mut self,
        anchor: usize,
        input: &str,
        output: &str,
        norm: Norm,
        nodes: &[usize],
    ) -> ConvertResult<()> {
        let node = self.g.node(anchor);
        let names: Vec<&str> = nodes
            .iter()
            .map(|&n| self.g.node(n).name.as_str())
            .collect();
        let v = self.e.value(node, input)?;
        let rank = v.perm.len();
        let out_shape_onnx = self.e.shape(node, output)?;
        let (op, prefix) = match norm {
            Norm::Layer { .. } => (hl::LayerNorm::NAME, "layer_norm"),
            Norm::Instance { .. } => (hl::InstanceNorm::NAME, "instance_norm"),
            Norm::L2 { .. } => (hl::L2Norm::NAME, "l2_norm"),
        };
        let layer = self.e.b.next_name(prefix);
        let (perm, operands, attrs) = match norm {
            Norm::Layer {
                axes,
                epsilon,
                gamma,
                beta,
            } => {
                let x = self.e.relayout_value(node, input, &v, &v.perm.clone())?;
                let mut ops = vec![x];
                let mut hl_axes: Vec<usize> = axes.iter().map(|&a| hl_axis(&v.perm, a)).collect();
                hl_axes.sort_unstable();
                let hl_in = permute(&self.e.shape(node, input)?, &v.perm);
                for (name, p) in [("gamma", gamma), ("beta", beta)] {
                    if let Some(p) = p {
                        let b =
                            normalized_param(&p, &hl_in, &v.perm, &hl_axes).ok_or_else(|| {
                                node_error(
                                    node,
                                    format!("{name} does not broadcast over the normalized axes"),
                                )
                            })?;
                        ops.push(self.e.constant(&layer, name, &b, true, &names));
                    }
                }
                (
                    v.perm.clone(),
                    ops,
                    vec![
                        ("axes", ints(&hl_axes)),
                        ("epsilon", Attribute::f64(epsilon)),
                    ],
                )
            }
            Norm::Instance {
                epsilon,
                gamma,
                beta,
            } => {
                if rank != 4 {
                    return Err(node_error(
                        node,
                        "instance normalization needs a rank-4 input",
                    ));
                }
                let c = out_shape_onnx[1];
                let x = self.e.relayout_value(node, input, &v, &canonical(4))?;
                let mut ops = vec![x];
                for (name, p, d) in [("gamma", gamma, 1.0), ("beta", beta, 0.0)] {
                    let vals = per_channel(&p, c, d).ok_or_else(|| {
                        node_error(node, format!("{name} must have one value per channel"))
                    })?;
                    ops.push(self.e.constant(
                        &layer,
                        name,
                        &Array1::from(vals).into_dyn(),
                        true,
                        &names,
                    ));
                }
                (
                    canonical(4),
                    ops,
                    vec![("epsilon", Attribute::f64(epsilon))],
                )
            }
            Norm::L2 { axis, epsilon } => {
                let x = self.e.relayout_value(node, input, &v, &v.perm.clone())?;
                (
                    v.perm.clone(),
                    vec![x],
                    vec![
                        ("axis", Attribute::i64(hl_axis(&v.perm, axis) as i64)),
                        ("epsilon", Attribute::f64(epsilon)),
                    ],
                )
            }
        };
        let out_shape = permute(&out_shape_onnx, &perm);
        let res = self
            .e
            .b
            .layer(op, &layer, &operands, &[out_shape], attrs, &names);
        self.e.bind(output, res[0], perm);
        self.finish_group(anchor, nodes, &layer);
        Ok(())
    }

    /// Emits the layer of pattern `p` (at its anchor node).
    pub(crate) fn pattern(&mut self, p: usize) -> ConvertResult<()> {
        let pat = self.patterns.list[p].clone();
        let anchor = pat.anchor();
        let model = self.e.model;
        let konst = |name: &Option<String>| {
            name.as_ref()
                .and_then(|n| model.constant(n))
                .map(|t| t.to_f32())
        };
        match pat.kind {
            PatternKind::Activation(act) => {
                self.activation_layer(anchor, &pat.input, &pat.output, act, &pat.nodes)
            }
            PatternKind::FeatureShuffle { groups } => {
                let node = self.g.node(anchor);
                let names: Vec<&str> = pat
                    .nodes
                    .iter()
                    .map(|&n| self.g.node(n).name.as_str())
                    .collect();
                let v = self.e.value(node, &pat.input)?;
                let layer = self.e.b.next_name("feature_shuffle");
                let x = self.e.relayout_value(node, &pat.input, &v, &canonical(4))?;
                let out_shape = permute(&self.e.shape(node, &pat.output)?, &canonical(4));
                let res = self.e.b.layer(
                    hl::FeatureShuffle::NAME,
                    &layer,
                    &[x],
                    &[out_shape],
                    vec![("groups", Attribute::i64(groups as i64))],
                    &names,
                );
                self.e.bind(&pat.output, res[0], canonical(4));
                self.finish_group(anchor, &pat.nodes, &layer);
                Ok(())
            }
            PatternKind::DepthToSpace { block, mode } => self.pixel_layer(
                anchor,
                &pat.input,
                &pat.output,
                hl::DepthToSpace::NAME,
                "depth_to_space",
                block,
                mode,
                &pat.nodes,
            ),
            PatternKind::SpaceToDepth { block, mode } => self.pixel_layer(
                anchor,
                &pat.input,
                &pat.output,
                hl::SpaceToDepth::NAME,
                "space_to_depth",
                block,
                mode,
                &pat.nodes,
            ),
            PatternKind::LayerNorm {
                axes,
                epsilon,
                gamma,
                beta,
            } => {
                let norm = Norm::Layer {
                    axes,
                    epsilon,
                    gamma: konst(&gamma),
                    beta: konst(&beta),
                };
                self.norm_layer(anchor, &pat.input, &pat.output, norm, &pat.nodes)
            }
            PatternKind::InstanceNorm {
                epsilon,
                gamma,
                beta,
            } => {
                let norm = Norm::Instance {
                    epsilon,
                    gamma: konst(&gamma),
                    beta: konst(&beta),
                };
                self.norm_layer(anchor, &pat.input, &pat.output, norm, &pat.nodes)
            }
            PatternKind::Normalization { mean, std } => {
                let node = self.g.node(anchor);
                let names = self.g.names(pat.nodes.iter().copied());
                let v = self.e.value(node, &pat.input)?;
                let layer = self.e.b.next_name("normalization");
                let x = self.e.relayout_value(node, &pat.input, &v, &canonical(4))?;
                let out_shape = permute(&self.e.shape(node, &pat.output)?, &canonical(4));
                let attrs = vec![
                    ("mean", Attribute::f64_array(&mean)),
                    ("std", Attribute::f64_array(&std)),
                ];
                let res = self.e.b.layer(
                    hl::Normalization::NAME,
                    &layer,
                    &[x],
                    &[out_shape],
                    attrs,
                    &names,
                );
                self.e.bind(&pat.output, res[0], canonical(4));
                self.finish_group(anchor, &pat.nodes, &layer);
                Ok(())
            }
            PatternKind::Attention {
                heads,
                scale,
                ref k,
                ref v,
                ref roles,
            } => self.attention(&pat, heads, scale, [&pat.input, k, v], roles),
            PatternKind::L2Norm { axis, epsilon } => self.norm_layer(
                anchor,
                &pat.input,
                &pat.output,
                Norm::L2 { axis, epsilon },
                &pat.nodes,
            ),
        }
    }
}
