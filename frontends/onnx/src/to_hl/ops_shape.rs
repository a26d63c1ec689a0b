//! Layout operators: Reshape/Flatten/Squeeze/Unsqueeze and Transpose expressed on NHWC data,
//! Concat/Split/Slice with remapped axes, Pad (external, or deferred into the next conv/avgpool),
//! Resize/Upsample, DepthToSpace/SpaceToDepth, and Identity/Dropout (removed).

use hailo_dialect_hl as hl;
use std::sync::Arc;

use hailo_dialect_hl::builder::ints;
use hailo_ir::Attribute;
use ndarray::ArrayD;

use super::emit::HlValue;
use super::error::{node_error, ConvertResult};
use super::layout::{
    broadcast_constant, canonical, flat_order, hl_axis, is_reshape_only, norm_axis, permute,
    relayout,
};
use super::report::NodeFate;
use super::Converter;
use crate::shape::{slice_plan, OpCtx};
use crate::tensor::TensorData;

/// ONNX flat index of each element of a tensor of ONNX shape `shape` held in layout `perm`,
/// in `hl` memory order.
fn element_order(shape: &[usize], perm: &[usize]) -> Vec<usize> {
    let mut full = vec![1];
    full.extend_from_slice(shape);
    let mut p = vec![0];
    p.extend(perm.iter().map(|&a| a + 1));
    flat_order(&full, &p)
}

/// Reshapes whose element order tables would be larger than this are done through ONNX order.
const MAX_ORDER_CHECK: usize = 1 << 22;

impl Converter<'_> {
    /// Binds output 0 of node `i` to its input 0 (a no-op node).
    pub(crate) fn identity(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        if node.op_type == "Dropout" {
            // Input #2 (opset 12+) switches on training mode: random, not an inference op.
            if let Some(t) = node.input(2) {
                let is_const = |name: Option<&str>, pred: fn(f32) -> bool| {
                    name.and_then(|n| self.e.model.constant(n))
                        .is_some_and(|v| v.to_f32().iter().all(|&x| pred(x)))
                };
                let training = !is_const(Some(t), |x| x == 0.0);
                // A drop ratio of exactly 0 keeps every element even in training mode.
                if training && !is_const(node.input(1), |x| x == 0.0) {
                    return Err(node_error(
                        node,
                        "Dropout in training mode (training_mode is true or computed at run time) \
                         is random and not an inference op; export the model in eval mode",
                    ));
                }
            }
        }
        let v = self.e.input(node, 0)?;
        self.e.values.insert(node.outputs[0].clone(), v);
        self.e.report.set(
            &node.name,
            &node.op_type,
            NodeFate::Dropped,
            vec![],
            Some(format!("{} does nothing at inference", node.op_type)),
        );
        Ok(())
    }

    /// Expand / Tile whose result only feeds elementwise binary layers: dropped, the layers
    /// broadcast the smaller tensor themselves (numpy rules), so no tiled copy is made. This is
    /// how a squeeze-and-excite gate `[N, C, 1, 1]` is often expanded to `[N, C, H, W]`.
    pub(crate) fn broadcast_only(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let in_shape = self.e.input_shape(node, 0)?;
        let out_shape = self.e.output_shape(node, 0)?;
        let out = &node.outputs[0];
        let broadcastable = in_shape.len() == out_shape.len()
            && in_shape
                .iter()
                .zip(&out_shape)
                .all(|(&a, &b)| a == b || a == 1);
        let feeds_ew = !self.g.is_graph_output(out)
            && self.g.consumers(out).iter().all(|&c| {
                let n = self.g.node(c);
                matches!(
                    n.op_type.as_str(),
                    "Add" | "Sub" | "Mul" | "Div" | "Max" | "Min"
                ) && n.inputs.len() == 2
                    && n.inputs.iter().filter(|t| *t == out).count() == 1
                    && n.inputs
                        .iter()
                        .any(|t| t != out && self.e.model.shape(t) == Some(out_shape.as_slice()))
            });
        if !broadcastable || !feeds_ew {
            return Err(node_error(
                node,
                format!(
                    "{} is supported only when its result feeds elementwise Add/Sub/Mul/Div/Max/Min \
                     nodes whose other operand has the expanded shape, and the input has the \
                     same rank (here {in_shape:?} -> {out_shape:?})",
                    node.op_type
                ),
            ));
        }
        let v = self.e.input(node, 0)?;
        self.e.values.insert(out.clone(), v);
        self.e.report.set(
            &node.name,
            &node.op_type,
            NodeFate::Dropped,
            vec![],
            Some("the consuming elementwise layer broadcasts the unexpanded tensor".into()),
        );
        Ok(())
    }

    pub(crate) fn reshape(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let in_shape = self.e.input_shape(node, 0)?;
        let out_shape = self.e.output_shape(node, 0)?;
        let v = self.e.input(node, 0)?;
        let out = &node.outputs[0];
        let want = canonical(out_shape.len());
        let hl_in = permute(&in_shape, &v.perm);
        let numel: usize = in_shape.iter().product();
        // Same element order in hl before and after: one hl.reshape.
        let same_order = v.flat_order.is_none()
            && ((is_reshape_only(&in_shape, &v.perm) && is_reshape_only(&out_shape, &want))
                || (numel <= MAX_ORDER_CHECK
                    && element_order(&in_shape, &v.perm) == element_order(&out_shape, &want)));
        if same_order {
            return self.emit_reshape(i, v.id, &permute(&out_shape, &want), want);
        }
        // Flattening NHWC data for dense layers only: flatten in hl order, permute kernel rows.
        let dense_only = out_shape.len() == 2
            && in_shape.len() > 2
            && in_shape[0] == out_shape[0]
            && v.flat_order.is_none()
            && v.perm.first() == Some(&0)
            && !self.g.is_graph_output(out)
            && self.g.consumers(out).iter().all(|&c| {
                let n = self.g.node(c);
                matches!(n.op_type.as_str(), "Gemm" | "MatMul")
                    && n.input(0) == Some(out.as_str())
                    && n.input(1)
                        .is_some_and(|b| self.e.model.constant(b).is_some())
                    && n.attr_int_or("transA", 0).is_ok_and(|t| t == 0)
            });
        if dense_only && hl_in[0] == out_shape[0] {
            self.emit_reshape(i, v.id, &out_shape, vec![0, 1])?;
            let order = flat_order(&in_shape, &v.perm);
            if let Some(val) = self.e.values.get_mut(out) {
                val.flat_order = Some(Arc::new(order));
            }
            return Ok(());
        }
        // General case: go to ONNX order, reshape there, leave the result in ONNX order.
        let ident: Vec<usize> = (0..in_shape.len()).collect();
        let x = self.e.relayout_value(node, &node.inputs[0], &v, &ident)?;
        self.emit_reshape(i, x, &out_shape, (0..out_shape.len()).collect())
    }

    /// An `hl.reshape` of `x` to `hl_shape` bound to node `i`'s output with layout `perm`
    /// (no layer when the shape does not change).
    fn emit_reshape(
        &mut self,
        i: usize,
        x: hailo_ir::ValueId,
        hl_shape: &[usize],
        perm: Vec<usize>,
    ) -> ConvertResult<()> {
        let node = self.g.node(i);
        let ty = self.e.b.value_type(x);
        let same = ty
            .shape()
            .is_some_and(|s| s.iter().map(|&d| d as usize).eq(hl_shape.iter().copied()));
        let id = if same {
            x
        } else {
            let layer = self.e.b.next_name("reshape");
            let id = self.e.b.layer(
                hl::Reshape::NAME,
                &layer,
                &[x],
                &[hl_shape.to_vec()],
                vec![],
                &[&node.name],
            )[0];
            self.e.report.add_layer(&node.name, &node.op_type, &layer);
            id
        };
        self.e.bind(&node.outputs[0], id, perm);
        self.converted_or_dropped(i, "only changes the ONNX view; the NHWC data is unchanged");
        Ok(())
    }

    /// Reports node `i` as converted when layers were made for it, else as dropped.
    pub(crate) fn converted_or_dropped(&mut self, i: usize, why: &str) {
        let node = self.g.node(i);
        if self.e.report.has_layers(&node.name) {
            self.converted(i, &[]);
        } else {
            self.e.report.set(
                &node.name,
                &node.op_type,
                NodeFate::Dropped,
                vec![],
                Some(why.into()),
            );
        }
    }

    pub(crate) fn transpose(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let v = self.e.input(node, 0)?;
        let rank = v.perm.len();
        let t: Vec<usize> = match node.attr_ints("perm")? {
            Some(p) => p
                .iter()
                .map(|&a| norm_axis(a, rank))
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    node_error(node, format!("perm {p:?} is invalid for rank {rank}"))
                })?,
            None => (0..rank).rev().collect(),
        };
        // hl_out = transpose(onnx_out, Q) with onnx_out = transpose(onnx_in, T): in ONNX-input
        // terms the wanted layout is T∘Q. Prefer a layout that needs no data movement.
        let ident: Vec<usize> = (0..rank).collect();
        let canon = canonical(rank);
        let candidates = [canon.clone(), ident];
        let pick = candidates
            .iter()
            .find(|q| relayout(&v.perm, &permute(&t, q)) == (0..rank).collect::<Vec<_>>())
            .unwrap_or(&canon)
            .clone();
        let in_layout = permute(&t, &pick);
        let x = self
            .e
            .relayout_value(node, &node.inputs[0], &v, &in_layout)?;
        self.e.bind(&node.outputs[0], x, pick);
        self.converted_or_dropped(i, "absorbed by the NHWC layout (no data movement)");
        Ok(())
    }

    /// Data operands of a multi-input layer in one common layout; constants become `hl.const`.
    fn common_inputs(
        &mut self,
        i: usize,
        layer: &str,
    ) -> ConvertResult<(Vec<hailo_ir::ValueId>, Vec<usize>)> {
        let node = self.g.node(i);
        let first = node
            .inputs
            .iter()
            .find_map(|t| self.e.values.get(t).cloned())
            .ok_or_else(|| node_error(node, "all inputs are constants"))?;
        let perm = first.perm.clone();
        let mut ids = Vec::new();
        for (k, t) in node
            .inputs
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.is_empty())
        {
            if let Some(c) = self.e.model.constant(t) {
                let data = broadcast_constant(&c.to_f32(), perm.len(), &perm).ok_or_else(|| {
                    node_error(
                        node,
                        format!("constant '{t}' has a higher rank than the data"),
                    )
                })?;
                ids.push(
                    self.e
                        .constant(layer, &format!("input{k}"), &data, false, &[&node.name]),
                );
            } else {
                ids.push(self.e.input_in(node, k, &perm)?);
            }
        }
        Ok((ids, perm))
    }

    pub(crate) fn concat(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let out_shape = self.e.output_shape(node, 0)?;
        let axis = norm_axis(node.attr_int("axis")?.unwrap_or(1), out_shape.len())
            .ok_or_else(|| node_error(node, "axis out of range"))?;
        let layer = self.e.b.next_name("concat");
        let (ids, perm) = self.common_inputs(i, &layer)?;
        self.sole_layer(
            i,
            hl::Concat::NAME,
            &layer,
            &ids,
            permute(&out_shape, &perm),
            vec![("axis", Attribute::i64(hl_axis(&perm, axis) as i64))],
            perm,
        );
        Ok(())
    }

    pub(crate) fn split(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let v = self.e.input(node, 0)?;
        let rank = v.perm.len();
        let axis = norm_axis(node.attr_int("axis")?.unwrap_or(0), rank)
            .ok_or_else(|| node_error(node, "axis out of range"))?;
        let shapes: Vec<Vec<usize>> = (0..node.outputs.len())
            .map(|k| self.e.output_shape(node, k))
            .collect::<ConvertResult<_>>()?;
        let sizes: Vec<usize> = shapes.iter().map(|s| s[axis]).collect();
        let hl = hl_axis(&v.perm, axis);
        let prefix = if hl == rank - 1 {
            "feature_splitter"
        } else {
            "slice"
        };
        let layer = self.e.b.next_name(prefix);
        let x = self.e.input_in(node, 0, &v.perm.clone())?;
        let hl_shapes: Vec<Vec<usize>> = shapes.iter().map(|s| permute(s, &v.perm)).collect();
        let res = self.e.b.layer(
            hl::Split::NAME,
            &layer,
            &[x],
            &hl_shapes,
            vec![("axis", Attribute::i64(hl as i64)), ("sizes", ints(&sizes))],
            &[&node.name],
        );
        for (o, id) in node.outputs.iter().zip(res) {
            self.e.bind(o, id, v.perm.clone());
        }
        self.converted(i, &[&layer]);
        Ok(())
    }

    pub(crate) fn slice(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let v = self.e.input(node, 0)?;
        let in_shape = self.e.input_shape(node, 0)?;
        let shapes: Vec<Option<Vec<usize>>> = node
            .inputs
            .iter()
            .map(|t| self.e.model.shape(t).map(<[usize]>::to_vec))
            .collect();
        let consts: Vec<_> = node
            .inputs
            .iter()
            .map(|t| self.e.model.constant(t))
            .collect();
        let consts: Vec<Option<&TensorData>> = consts.iter().map(Option::as_deref).collect();
        let ctx = OpCtx {
            node,
            opset: self.e.model.opset(&node.domain),
            shapes: &shapes,
            consts: &consts,
        };
        let plan = slice_plan(&ctx, &in_shape)
            .map_err(|_| node_error(node, "starts/ends/axes/steps must be constants"))?;
        let mut starts = vec![0usize; in_shape.len()];
        let mut ends = in_shape.clone();
        let mut steps = vec![1usize; in_shape.len()];
        for s in &plan {
            if s.step < 0 {
                return Err(node_error(node, "negative slice steps are not supported"));
            }
            starts[s.axis] = s.start as usize;
            ends[s.axis] = (s.end.max(s.start)) as usize;
            steps[s.axis] = s.step as usize;
        }
        let layer = self.e.b.next_name("slice");
        let x = self.e.input_in(node, 0, &v.perm.clone())?;
        let out_shape = permute(&self.e.output_shape(node, 0)?, &v.perm);
        self.sole_layer(
            i,
            hl::Slice::NAME,
            &layer,
            &[x],
            out_shape,
            vec![
                ("starts", ints(&permute(&starts, &v.perm))),
                ("ends", ints(&permute(&ends, &v.perm))),
                ("steps", ints(&permute(&steps, &v.perm))),
            ],
            v.perm,
        );
        Ok(())
    }

    /// Pad's begin/end amounts, mode and value.
    fn pad_params(&self, i: usize) -> ConvertResult<(Vec<i64>, String, f64)> {
        let node = self.g.node(i);
        let opset = self.e.model.opset(&node.domain);
        let mode = node.attr_string_or("mode", "constant")?.to_string();
        let (pads, value) = if opset < 11 {
            (
                node.attr_ints("pads")?
                    .map(<[i64]>::to_vec)
                    .unwrap_or_default(),
                f64::from(node.attr_float_or("value", 0.0)?),
            )
        } else {
            let pads = self
                .const_input(node, 1)?
                .iter()
                .map(|&v| v as i64)
                .collect();
            let value = match node.input(2) {
                Some(t) => super::act::scalar_const(self.e.model, t)
                    .ok_or_else(|| node_error(node, "constant_value must be a constant scalar"))?,
                None => 0.0,
            };
            (pads, value)
        };
        if node.input(3).is_some() {
            return Err(node_error(node, "Pad with an axes input is not supported"));
        }
        Ok((pads, mode, value))
    }

    pub(crate) fn pad(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let v = self.e.input(node, 0)?;
        let rank = v.perm.len();
        let (pads, mode, value) = self.pad_params(i)?;
        if pads.len() != 2 * rank || pads.iter().any(|&p| p < 0) {
            return Err(node_error(
                node,
                format!("pads {pads:?} must be {} non-negative values", 2 * rank),
            ));
        }
        let out = &node.outputs[0];
        let layer = self.e.b.next_name("external_pad");
        let x = self.e.input_in(node, 0, &v.perm.clone())?;
        let begin: Vec<i64> = v.perm.iter().map(|&a| pads[a]).collect();
        let end: Vec<i64> = v.perm.iter().map(|&a| pads[a + rank]).collect();
        let hl_pads: Vec<i64> = begin.into_iter().chain(end).collect();
        let out_shape = permute(&self.e.output_shape(node, 0)?, &v.perm);
        let res = self.e.b.layer(
            hl::Pad::NAME,
            &layer,
            &[x],
            &[out_shape],
            vec![
                ("pads", Attribute::i64_array(&hl_pads)),
                ("mode", Attribute::str(&mode)),
                ("value", Attribute::f64(value)),
            ],
            &[&node.name],
        );
        self.e.bind(out, res[0], v.perm);
        self.converted(i, &[&layer]);
        Ok(())
    }

    pub(crate) fn resize(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let in_shape = self.e.input_shape(node, 0)?;
        let out_shape = self.e.output_shape(node, 0)?;
        if in_shape.len() != 4 || in_shape[..2] != out_shape[..2] {
            return Err(node_error(
                node,
                "only spatial resizing of rank-4 NCHW tensors is supported",
            ));
        }
        let opset = self.e.model.opset(&node.domain);
        let legacy = node.op_type == "Upsample" || opset < 11;
        let mode = match node.attr_string_or("mode", "nearest")? {
            "nearest" => "nearest",
            "linear" | "bilinear" => "bilinear",
            other => {
                return Err(node_error(
                    node,
                    format!("resize mode '{other}' is not supported (nearest, linear)"),
                ))
            }
        };
        if node.attr_int("antialias")?.unwrap_or(0) != 0 {
            return Err(node_error(
                node,
                "Resize with antialias=1 is not supported (Hailo resize layers do not filter \
                 before downsampling)",
            ));
        }
        let coordinate = if legacy {
            "asymmetric".to_string()
        } else {
            node.attr_string_or("coordinate_transformation_mode", "half_pixel")?
                .to_string()
        };
        if ![
            "half_pixel",
            "align_corners",
            "asymmetric",
            "pytorch_half_pixel",
            "tf_half_pixel_for_nn",
        ]
        .contains(&coordinate.as_str())
        {
            return Err(node_error(
                node,
                format!("coordinate_transformation_mode '{coordinate}' is not supported"),
            ));
        }
        let nearest_mode = if legacy {
            "floor".to_string()
        } else {
            node.attr_string_or("nearest_mode", "round_prefer_floor")?
                .to_string()
        };
        let layer = self.e.b.next_name("resize");
        let x = self.e.input_in(node, 0, &canonical(4))?;
        let mut attrs = vec![
            ("mode", Attribute::str(mode)),
            ("coordinate", Attribute::str(&coordinate)),
        ];
        if mode == "nearest" {
            attrs.push(("nearest_mode", Attribute::str(&nearest_mode)));
        }
        self.sole_layer(
            i,
            hl::Resize::NAME,
            &layer,
            &[x],
            permute(&out_shape, &canonical(4)),
            attrs,
            canonical(4),
        );
        Ok(())
    }

    pub(crate) fn pixel_shuffle(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let block = node
            .attr_int("blocksize")?
            .filter(|&b| b >= 1)
            .ok_or_else(|| node_error(node, "blocksize must be a positive integer"))?
            as usize;
        let (op, prefix, mode) = if node.op_type == "DepthToSpace" {
            let mode = match node.attr_string_or("mode", "DCR")? {
                "DCR" => "DCR",
                "CRD" => "CRD",
                other => return Err(node_error(node, format!("unknown mode '{other}'"))),
            };
            (hl::DepthToSpace::NAME, "depth_to_space", mode)
        } else {
            match node.attr_string_or("mode", "DCR")? {
                "DCR" => {}
                other => {
                    return Err(node_error(
                        node,
                        format!("SpaceToDepth mode '{other}' is not supported (only the standard DCR order)"),
                    ))
                }
            }
            (hl::SpaceToDepth::NAME, "space_to_depth", "classic")
        };
        self.pixel_layer(
            i,
            &node.inputs[0].clone(),
            &node.outputs[0].clone(),
            op,
            prefix,
            block,
            mode,
            &[i],
        )
    }

    /// A depth-to-space / space-to-depth layer from `input` to `output` covering `nodes`
    /// (a single node, or a recognised pattern whose anchor is `anchor`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn pixel_layer(
        &mut self,
        anchor: usize,
        input: &str,
        output: &str,
        op: &str,
        prefix: &'static str,
        block: usize,
        mode: &str,
        nodes: &[usize],
    ) -> ConvertResult<()> {
        let node = self.g.node(anchor);
        let names: Vec<&str> = nodes
            .iter()
            .map(|&n| self.g.node(n).name.as_str())
            .collect();
        let v = self.e.value(node, input)?;
        let layer = self.e.b.next_name(prefix);
        let x = self.e.relayout_value(node, input, &v, &canonical(4))?;
        let out_shape = permute(&self.e.shape(node, output)?, &canonical(4));
        let res = self.e.b.layer(
            op,
            &layer,
            &[x],
            &[out_shape],
            vec![
                ("block_size", Attribute::i64(block as i64)),
                ("mode", Attribute::str(mode)),
            ],
            &names,
        );
        self.e.bind(output, res[0], canonical(4));
        self.finish_group(anchor, nodes, &layer);
        Ok(())
    }

    /// Reports a layer made from `nodes`: the anchor converted, the others fused.
    pub(crate) fn finish_group(&mut self, anchor: usize, nodes: &[usize], layer: &str) {
        self.converted(anchor, &[layer]);
        let others: Vec<usize> = nodes.iter().copied().filter(|&n| n != anchor).collect();
        let why = match self.patterns.owner.get(&anchor) {
            Some(&p) => format!(
                "part of a subgraph recognised as {}",
                self.patterns.list[p].describe()
            ),
            None => "part of a subgraph recognised as one layer".to_string(),
        };
        self.fused(&others, layer, &why);
        self.done[anchor] = true;
    }

    /// A constant operand broadcast against data held as `v`.
    pub(crate) fn operand_const(
        &mut self,
        layer: &str,
        param: &str,
        data: &ArrayD<f32>,
        v: &HlValue,
        node: &crate::Node,
    ) -> ConvertResult<hailo_ir::ValueId> {
        let b = broadcast_constant(data, v.perm.len(), &v.perm).ok_or_else(|| {
            node_error(
                node,
                format!(
                    "a constant of rank {} does not broadcast against rank-{} data",
                    data.ndim(),
                    v.perm.len()
                ),
            )
        })?;
        Ok(self.e.constant(layer, param, &b, false, &[&node.name]))
    }
}
