//! Layout operators: PAD (external, or deferred into the next conv/avgpool), CONCATENATION,
//! SPLIT, SLICE / STRIDED_SLICE / GATHER (as `hl.slice`, plus a reshape for squeezed axes),
//! RESHAPE / SQUEEZE (incl. the spatial squeeze), TRANSPOSE, the resizes and
//! DEPTH_TO_SPACE / SPACE_TO_DEPTH.

use hailo_dialect_hl as hl;
use hailo_dialect_hl::builder::ints;
use hailo_ir::Attribute;

use super::error::ConvertResult;
use super::Converter;
use crate::graph::{OpKind, ResizeMethod, TensorData};

/// A slice on every axis: `starts`, exclusive `ends`, positive `steps`.
struct SlicePlan {
    starts: Vec<usize>,
    ends: Vec<usize>,
    steps: Vec<usize>,
}

impl SlicePlan {
    fn full(shape: &[usize]) -> Self {
        SlicePlan {
            starts: vec![0; shape.len()],
            ends: shape.to_vec(),
            steps: vec![1; shape.len()],
        }
    }

    fn shape(&self) -> Vec<usize> {
        (0..self.starts.len())
            .map(|a| (self.ends[a] - self.starts[a]).div_ceil(self.steps[a]))
            .collect()
    }

    fn is_identity(&self, shape: &[usize]) -> bool {
        self.starts.iter().all(|&s| s == 0)
            && self.ends == shape
            && self.steps.iter().all(|&s| s == 1)
    }
}

/// TensorFlow's clamp of a (possibly negative) index into `[0, dim]`.
fn clamp_index(v: i64, dim: usize) -> usize {
    let d = dim as i64;
    let v = if v < 0 { v + d } else { v };
    v.clamp(0, d) as usize
}

impl Converter<'_> {
    pub(crate) fn pad(&mut self, i: usize) -> ConvertResult<()> {
        let op = &self.g.ops[i];
        let OpKind::Pad { paddings, value } = op.kind.clone() else {
            return Err(self.node_error(i, "not a pad"));
        };
        let xt = op.inputs[0];
        let rank = self.shape(xt).len();
        if paddings.len() != rank || paddings.iter().flatten().any(|&p| p < 0) {
            return Err(self.node_error(
                i,
                format!("paddings {paddings:?} must be {rank} non-negative [before, after] pairs"),
            ));
        }
        let x = self.value(i, xt)?;
        let layer = self.b.next_name("external_pad");
        let mut pads: Vec<i64> = paddings.iter().map(|p| p[0]).collect();
        pads.extend(paddings.iter().map(|p| p[1]));
        let attrs = vec![
            ("pads", Attribute::i64_array(&pads)),
            ("mode", Attribute::str("constant")),
            ("value", Attribute::f64(f64::from(value))),
        ];
        self.sole_layer(i, hl::Pad::NAME, layer, &[x], attrs);
        Ok(())
    }

    pub(crate) fn concat(&mut self, i: usize) -> ConvertResult<()> {
        let op = &self.g.ops[i];
        let OpKind::Concat { axis, activation } = op.kind else {
            return Err(self.node_error(i, "not a concatenation"));
        };
        let out_t = op.outputs[0];
        let shape = self.shape(out_t);
        let axis = self.norm_axis(i, axis, shape.len())?;
        let inputs = op.inputs.clone();
        let name = op.name_hint.clone();
        let layer = self.b.next_name("concat");
        let mut operands = Vec::new();
        for (k, &t) in inputs.iter().enumerate() {
            operands.push(match &self.g.tensors[t].data {
                Some(d) => {
                    let s = self.shape(t);
                    self.b.constant(
                        &layer,
                        &format!("input{k}"),
                        &s,
                        &d.to_f32(),
                        false,
                        &[&name],
                    )
                }
                None => self.value(i, t)?,
            });
        }
        let attrs = vec![("axis", Attribute::i64(axis as i64))];
        self.layer_then_activation(
            i,
            hl::Concat::NAME,
            &layer,
            &operands,
            attrs,
            &[&name],
            activation,
        );
        Ok(())
    }

    pub(crate) fn split(&mut self, i: usize) -> ConvertResult<()> {
        let op = &self.g.ops[i];
        let OpKind::Split { axis, .. } = op.kind else {
            return Err(self.node_error(i, "not a split"));
        };
        let xt = op.inputs[0];
        let rank = self.shape(xt).len();
        let axis = self.norm_axis(i, axis, rank)?;
        let outs = op.outputs.clone();
        let shapes: Vec<Vec<usize>> = outs.iter().map(|&t| self.shape(t)).collect();
        let sizes: Vec<usize> = shapes.iter().map(|s| s[axis]).collect();
        let prefix = if axis == rank - 1 {
            "feature_splitter"
        } else {
            "slice"
        };
        let layer = self.b.next_name(prefix);
        let name = op.name_hint.clone();
        let x = self.value(i, xt)?;
        let attrs = vec![
            ("axis", Attribute::i64(axis as i64)),
            ("sizes", ints(&sizes)),
        ];
        let res = self
            .b
            .layer(hl::Split::NAME, &layer, &[x], &shapes, attrs, &[&name]);
        for (t, v) in outs.into_iter().zip(res) {
            self.values.insert(t, v);
        }
        self.converted(i, &[layer]);
        Ok(())
    }

    /// The slice SLICE / STRIDED_SLICE / GATHER operator `i` takes from `shape`.
    fn slice_plan(&self, i: usize, shape: &[usize]) -> ConvertResult<SlicePlan> {
        let op = &self.g.ops[i];
        let rank = shape.len();
        let mut plan = SlicePlan::full(shape);
        match &op.kind {
            OpKind::Slice { begin, size } => {
                if begin.len() != rank || size.len() != rank {
                    return Err(self.node_error(i, format!("begin/size must have {rank} values")));
                }
                for a in 0..rank {
                    let b = begin[a];
                    let e = if size[a] < 0 {
                        shape[a] as i64
                    } else {
                        b + size[a]
                    };
                    if b < 0 || e > shape[a] as i64 {
                        return Err(self.node_error(
                            i,
                            format!("slice [{b}, {e}) is outside axis {a} of size {}", shape[a]),
                        ));
                    }
                    plan.starts[a] = b as usize;
                    plan.ends[a] = e as usize;
                }
            }
            OpKind::StridedSlice {
                begin,
                end,
                strides,
                begin_mask,
                end_mask,
                ellipsis_mask,
                new_axis_mask,
                shrink_axis_mask,
                offset,
            } => {
                if *ellipsis_mask != 0 || *new_axis_mask != 0 {
                    return Err(self.node_error(
                        i,
                        "STRIDED_SLICE with ellipsis_mask or new_axis_mask is not supported",
                    ));
                }
                if begin.len() > rank || end.len() != begin.len() || strides.len() != begin.len() {
                    return Err(self.node_error(
                        i,
                        format!("begin/end/strides must have the same length, at most {rank}"),
                    ));
                }
                for a in 0..begin.len() {
                    let bit = |m: i32| m & (1 << a) != 0;
                    let s = strides[a];
                    if s <= 0 {
                        return Err(self.node_error(
                            i,
                            format!("stride {s} on axis {a}: only positive strides are supported"),
                        ));
                    }
                    let b = if bit(*begin_mask) {
                        0
                    } else {
                        clamp_index(begin[a], shape[a])
                    };
                    let e = if bit(*shrink_axis_mask) {
                        b + 1
                    } else if bit(*end_mask) {
                        shape[a]
                    } else if *offset {
                        clamp_index(begin[a] + end[a], shape[a])
                    } else {
                        clamp_index(end[a], shape[a])
                    };
                    plan.starts[a] = b;
                    plan.ends[a] = e.max(b);
                    plan.steps[a] = if bit(*shrink_axis_mask) {
                        1
                    } else {
                        s as usize
                    };
                }
            }
            OpKind::Gather { axis, batch_dims } => {
                if *batch_dims != 0 {
                    return Err(self.node_error(i, "GATHER with batch_dims is not supported"));
                }
                let a = self.norm_axis(i, *axis, rank)?;
                let idx_t = op.inputs[1];
                let idx: Vec<i64> = match &self.g.tensors[idx_t].data {
                    Some(TensorData::Int(v)) => v.clone(),
                    _ => return Err(self.node_error(i, "GATHER indices must be constant integers")),
                };
                let idx: Vec<usize> = idx
                    .iter()
                    .map(|&v| {
                        let d = shape[a] as i64;
                        let n = if v < 0 { v + d } else { v };
                        (0..d).contains(&n).then_some(n as usize)
                    })
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        self.node_error(i, format!("GATHER indices {idx:?} out of range"))
                    })?;
                let step = if idx.len() > 1 {
                    idx[1] as i64 - idx[0] as i64
                } else {
                    1
                };
                let arithmetic =
                    step > 0 && idx.windows(2).all(|w| w[1] as i64 - w[0] as i64 == step);
                if idx.is_empty() || !arithmetic {
                    return Err(self.node_error(
                        i,
                        format!(
                            "GATHER indices {idx:?}: only indices forming an increasing arithmetic \
                             progression (a slice) are supported"
                        ),
                    ));
                }
                plan.starts[a] = idx[0];
                plan.ends[a] = idx[idx.len() - 1] + 1;
                plan.steps[a] = step as usize;
            }
            _ => return Err(self.node_error(i, "not a slicing operator")),
        }
        if (0..rank).any(|a| plan.starts[a] >= plan.ends[a]) {
            return Err(self.node_error(i, "the slice is empty"));
        }
        Ok(plan)
    }

    pub(crate) fn slice(&mut self, i: usize) -> ConvertResult<()> {
        let op = &self.g.ops[i];
        let (xt, out_t) = (op.inputs[0], op.outputs[0]);
        let shape = self.shape(xt);
        let plan = self.slice_plan(i, &shape)?;
        let name = op.name_hint.clone();
        let mut x = self.value(i, xt)?;
        let mut layers = Vec::new();
        if !plan.is_identity(&shape) {
            let layer = self.b.next_name("slice");
            let attrs = vec![
                ("starts", ints(&plan.starts)),
                ("ends", ints(&plan.ends)),
                ("steps", ints(&plan.steps)),
            ];
            x = self.b.layer(
                hl::Slice::NAME,
                &layer,
                &[x],
                &[plan.shape()],
                attrs,
                &[&name],
            )[0];
            layers.push(layer);
        }
        let out_shape = self.shape(out_t);
        let (x, post) = self.reshape_to(i, x, &out_shape);
        layers.extend(post);
        self.values.insert(out_t, x);
        self.converted_or_dropped(i, &layers, "takes the whole tensor");
        Ok(())
    }

    /// Reports operator `i` as converted to `layers`, or dropped when there are none.
    fn converted_or_dropped(&mut self, i: usize, layers: &[String], why: &str) {
        if layers.is_empty() {
            self.dropped(i, why);
        } else {
            self.converted(i, layers);
        }
    }

    pub(crate) fn reshape(&mut self, i: usize) -> ConvertResult<()> {
        let op = &self.g.ops[i];
        let (xt, out_t) = (op.inputs[0], op.outputs[0]);
        let out_shape = self.shape(out_t);
        if self.g.tensors[xt].num_elements() != out_shape.iter().product::<usize>() {
            return Err(self.node_error(
                i,
                format!("cannot reshape {:?} to {out_shape:?}", self.shape(xt)),
            ));
        }
        let x = self.value(i, xt)?;
        let (x, layer) = self.reshape_to(i, x, &out_shape);
        self.values.insert(out_t, x);
        let layers: Vec<String> = layer.into_iter().collect();
        self.converted_or_dropped(i, &layers, "the shape does not change");
        Ok(())
    }

    pub(crate) fn transpose(&mut self, i: usize) -> ConvertResult<()> {
        let op = &self.g.ops[i];
        let OpKind::Transpose { perm } = &op.kind else {
            return Err(self.node_error(i, "not a transpose"));
        };
        let (xt, out_t) = (op.inputs[0], op.outputs[0]);
        let rank = self.shape(xt).len();
        let p: Vec<usize> = perm
            .iter()
            .map(|&a| self.norm_axis(i, a, rank))
            .collect::<ConvertResult<_>>()?;
        let mut sorted = p.clone();
        sorted.sort_unstable();
        if sorted != (0..rank).collect::<Vec<_>>() {
            return Err(self.node_error(i, format!("perm {perm:?} is not a permutation")));
        }
        let x = self.value(i, xt)?;
        if p == sorted {
            self.values.insert(out_t, x);
            self.dropped(i, "identity permutation");
            return Ok(());
        }
        let layer = self.b.next_name("transpose");
        let attrs = vec![("perm", ints(&p))];
        self.sole_layer(i, hl::Transpose::NAME, layer, &[x], attrs);
        Ok(())
    }

    pub(crate) fn resize(&mut self, i: usize) -> ConvertResult<()> {
        let op = &self.g.ops[i];
        let OpKind::Resize {
            method,
            align_corners,
            half_pixel_centers,
            ..
        } = op.kind
        else {
            return Err(self.node_error(i, "not a resize"));
        };
        let xt = op.inputs[0];
        if self.shape(xt).len() != 4 {
            return Err(self.node_error(i, "only rank-4 NHWC resizing is supported"));
        }
        // TensorFlow's coordinate rules: align_corners, half-pixel centers, or asymmetric;
        // nearest rounds with align_corners and floors otherwise.
        let (mode, coordinate, nearest) = match method {
            ResizeMethod::Bilinear => (
                "bilinear",
                if align_corners {
                    "align_corners"
                } else if half_pixel_centers {
                    "half_pixel"
                } else {
                    "asymmetric"
                },
                None,
            ),
            ResizeMethod::NearestNeighbor => {
                if align_corners {
                    ("nearest", "align_corners", Some("round_prefer_ceil"))
                } else if half_pixel_centers {
                    ("nearest", "tf_half_pixel_for_nn", Some("floor"))
                } else {
                    ("nearest", "asymmetric", Some("floor"))
                }
            }
        };
        let layer = self.b.next_name("resize");
        let x = self.value(i, xt)?;
        let mut attrs = vec![
            ("mode", Attribute::str(mode)),
            ("coordinate", Attribute::str(coordinate)),
        ];
        if let Some(n) = nearest {
            attrs.push(("nearest_mode", Attribute::str(n)));
        }
        self.sole_layer(i, hl::Resize::NAME, layer, &[x], attrs);
        Ok(())
    }

    pub(crate) fn pixel_shuffle(&mut self, i: usize) -> ConvertResult<()> {
        let op = &self.g.ops[i];
        let (op_name, prefix, block, mode) = match op.kind {
            OpKind::DepthToSpace { block_size } => {
                (hl::DepthToSpace::NAME, "depth_to_space", block_size, "DCR")
            }
            OpKind::SpaceToDepth { block_size } => (
                hl::SpaceToDepth::NAME,
                "space_to_depth",
                block_size,
                "classic",
            ),
            _ => return Err(self.node_error(i, "not a depth/space shuffle")),
        };
        let xt = op.inputs[0];
        let layer = self.b.next_name(prefix);
        let x = self.value(i, xt)?;
        let attrs = vec![
            ("block_size", Attribute::i64(block as i64)),
            ("mode", Attribute::str(mode)),
        ];
        self.sole_layer(i, op_name, layer, &[x], attrs);
        Ok(())
    }
}
