//! Weighted and windowed layers: Conv (incl. depthwise and grouped), ConvTranspose, Gemm /
//! MatMul (dense or data-driven matmul), pooling and BatchNormalization, each as its own layer.
//! Folding a following BatchNorm, bias `Add` or activation into a layer and a zero `Pad` into
//! its padding is the `hailo-parse` pipeline's job (`hl-fold-*`, `hl-fuse-activation`).

use hailo_dialect_hl as hl;
use hailo_dialect_hl::builder::ints;
use hailo_dialect_hl::Activation;
use hailo_ir::Attribute;
use ndarray::{Array1, ArrayD, Axis, IxDyn};

use super::error::{node_error, ConvertResult};
use super::layout::{canonical, permute, transpose_array};
use super::Converter;
use crate::graph::Node;

/// Explicit `[top, left, bottom, right]` pads of a 2-D window op, resolving `auto_pad`.
pub(crate) fn window_pads(
    node: &Node,
    input_hw: [usize; 2],
    kernel: [usize; 2],
    strides: [usize; 2],
    dilations: [usize; 2],
) -> ConvertResult<[usize; 4]> {
    let auto = node.attr_string_or("auto_pad", "NOTSET")?;
    let mut p = [0usize; 4];
    match auto {
        "NOTSET" => {
            if let Some(v) = node.attr_ints("pads")? {
                if v.iter().any(|&x| x < 0) || (v.len() != 4 && v.len() != 2) {
                    return Err(node_error(
                        node,
                        format!("pads {v:?} must be 4 (2-D) or 2 (1-D) non-negative values"),
                    ));
                }
                p = match v {
                    [b, e] => [0, *b as usize, 0, *e as usize],
                    _ => [v[0] as usize, v[1] as usize, v[2] as usize, v[3] as usize],
                };
            }
        }
        "VALID" => {}
        "SAME_UPPER" | "SAME_LOWER" => {
            for a in 0..2 {
                let ek = (kernel[a] - 1) * dilations[a] + 1;
                let out = input_hw[a].div_ceil(strides[a]);
                let total = ((out - 1) * strides[a] + ek).saturating_sub(input_hw[a]);
                let small = total / 2;
                let (begin, end) = if auto == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                };
                p[a] = begin;
                p[a + 2] = end;
            }
        }
        other => return Err(node_error(node, format!("unknown auto_pad '{other}'"))),
    }
    Ok(p)
}

/// A 2-element attribute (`strides`, `dilations`, `kernel_shape`) with default 1; a 1-D
/// value `[w]` (Conv1d) is `[1, w]`.
fn pair(node: &Node, name: &str) -> ConvertResult<[usize; 2]> {
    match node.attr_ints(name)? {
        None => Ok([1, 1]),
        Some([a, b]) if *a >= 1 && *b >= 1 => Ok([*a as usize, *b as usize]),
        Some([w]) if *w >= 1 => Ok([1, *w as usize]),
        Some(v) => Err(node_error(
            node,
            format!("{name} {v:?}: only 2-D windows with positive values are supported"),
        )),
    }
}

impl Converter<'_> {
    /// A float constant input of `node`.
    pub(crate) fn const_input(&self, node: &Node, i: usize) -> ConvertResult<ArrayD<f32>> {
        self.read_const_input(node, i, false)
    }

    /// A weight input of `node` that this conversion reads once: when converting an owned
    /// model and `node` is the weight's last reader, the array is moved, not copied.
    fn weight_input(&self, node: &Node, i: usize) -> ConvertResult<ArrayD<f32>> {
        self.read_const_input(node, i, true)
    }

    fn read_const_input(&self, node: &Node, i: usize, take: bool) -> ConvertResult<ArrayD<f32>> {
        let name = node
            .input(i)
            .ok_or_else(|| node_error(node, format!("required input #{i} is missing")))?;
        let model = self.e.model;
        let value = if take {
            model.take_f32(node, name)
        } else {
            model.constant(name).map(|t| t.to_f32())
        };
        value.ok_or_else(|| {
                node_error(
                    node,
                    format!("input '{name}' must be a constant (weights computed at run time are not supported)"),
                )
            })
    }

    /// Finishes a rank-4 weighted layer (conv, deconv) of node `i`: its input in NHWC, the
    /// HWIO kernel and bias constants, the op, bindings and report.
    fn weighted_nhwc(
        &mut self,
        i: usize,
        op: &str,
        layer: &str,
        (kernel, bias): (&ArrayD<f32>, Vec<f32>),
        mut attrs: Vec<(&str, Attribute)>,
    ) -> ConvertResult<()> {
        let node = self.g.node(i);
        let loc = [node.name.as_str()];
        let tensor = node.outputs[0].clone();
        // A 1-D convolution runs as a 2-D one on [N, 1, W, C].
        let one_d = self.e.input_shape(node, 0)?.len() == 3;
        let x = if one_d {
            let x = self.e.input_in(node, 0, &[0, 2, 1])?;
            let s = self.e.input_shape(node, 0)?;
            self.helper_reshape(i, x, vec![s[0], 1, s[2], s[1]])
        } else {
            self.e.input_in(node, 0, &canonical(4))?
        };
        let k = self.e.constant(layer, "kernel", kernel, true, &loc);
        let b = self
            .e
            .constant(layer, "bias", &Array1::from(bias).into_dyn(), true, &loc);
        let onnx_out = self.e.shape(node, &tensor)?;
        let out_shape = if one_d {
            vec![onnx_out[0], 1, onnx_out[2], onnx_out[1]]
        } else {
            permute(&onnx_out, &canonical(4))
        };
        attrs.extend(Activation::Linear.layer_attrs());
        let out = self
            .e
            .b
            .layer(op, layer, &[x, k, b], &[out_shape], attrs, &loc);
        if one_d {
            let y = self.helper_reshape(i, out[0], vec![onnx_out[0], onnx_out[2], onnx_out[1]]);
            self.e.bind(&tensor, y, vec![0, 2, 1]);
        } else {
            self.e.bind(&tensor, out[0], canonical(4));
        }
        self.converted(i, &[layer]);
        Ok(())
    }

    /// An `hl.reshape` of `x` to `shape` attributed to node `i`.
    fn helper_reshape(
        &mut self,
        i: usize,
        x: hailo_ir::ValueId,
        shape: Vec<usize>,
    ) -> hailo_ir::ValueId {
        let node = self.g.node(i);
        let layer = self.e.b.next_name("reshape");
        self.e.report.add_layer(&node.name, &node.op_type, &layer);
        self.e.b.layer(
            hl::Reshape::NAME,
            &layer,
            &[x],
            &[shape],
            vec![],
            &[&node.name],
        )[0]
    }

    pub(crate) fn conv(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let mut x_shape = self.e.input_shape(node, 0)?;
        let mut w = self.weight_input(node, 1)?;
        match x_shape.len() {
            4 => {}
            // Conv1d: NCW data and an OIW kernel seen as NC1W / OI1W.
            3 if w.ndim() == 3 => {
                x_shape.insert(2, 1);
                w.insert_axis_inplace(Axis(2));
            }
            5 => {
                return Err(node_error(
                    node,
                    "3-D convolution (Conv on a rank-5 input) is not supported: the hl dialect \
                     has no 3-D convolution layer (the DFC's Conv3D is a preview limited to \
                     stereo-disparity blocks); cut the model before this node",
                ))
            }
            r => {
                return Err(node_error(
                    node,
                    format!(
                        "Conv on a rank-{r} input: only 1-D and 2-D convolutions are supported"
                    ),
                ))
            }
        }
        if w.ndim() != 4 {
            return Err(node_error(node, "the kernel must have rank 4 (OIHW)"));
        }
        let (m, cg, kh, kw) = (w.shape()[0], w.shape()[1], w.shape()[2], w.shape()[3]);
        let groups = node.attr_int_or("group", 1)?.max(1) as usize;
        let strides = pair(node, "strides")?;
        let dilations = pair(node, "dilations")?;
        let pads = window_pads(node, [x_shape[2], x_shape[3]], [kh, kw], strides, dilations)?;
        let bias: Vec<f32> = match node.input(2) {
            Some(_) => self.const_input(node, 2)?.iter().copied().collect(),
            None => vec![0.0; m],
        };
        let kernel = w;
        let depthwise = groups > 1 && groups == x_shape[1] && cg == 1;
        let (op, prefix) = if depthwise {
            (hl::DepthwiseConv2d::NAME, "dw")
        } else {
            (hl::Conv2d::NAME, "conv")
        };
        // The OIHW kernel is freed before the HWIO one becomes a blob.
        let hwio = transpose_array(&kernel, &[2, 3, 1, 0]);
        drop(kernel);
        let layer = self.e.b.next_name(prefix);
        let mut attrs = vec![
            ("strides", ints(&strides)),
            ("dilations", ints(&dilations)),
            ("padding", Attribute::str("EXPLICIT")),
            ("pads", ints(&pads)),
        ];
        if !depthwise {
            attrs.push(("groups", Attribute::i64(groups as i64)));
        }
        self.weighted_nhwc(i, op, &layer, (&hwio, bias), attrs)
    }

    pub(crate) fn deconv(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let x_shape = self.e.input_shape(node, 0)?;
        let w = self.weight_input(node, 1)?;
        if x_shape.len() != 4 || w.ndim() != 4 {
            return Err(node_error(
                node,
                "only 2-D transposed convolutions are supported",
            ));
        }
        let (cin, cog, kh, kw) = (w.shape()[0], w.shape()[1], w.shape()[2], w.shape()[3]);
        let groups = node.attr_int_or("group", 1)?.max(1) as usize;
        let strides = pair(node, "strides")?;
        let dilations = pair(node, "dilations")?;
        let out_pad = match node.attr_ints("output_padding")? {
            Some([a, b]) => [*a as usize, *b as usize],
            _ => [0, 0],
        };
        let y_shape = self.e.output_shape(node, 0)?;
        let auto = node.attr_string_or("auto_pad", "NOTSET")?;
        let mut pads = [0usize; 4];
        if auto == "NOTSET" && node.attr_ints("output_shape")?.is_none() {
            if let Some(v) = node.attr_ints("pads")? {
                if v.len() != 4 || v.iter().any(|&p| p < 0) {
                    return Err(node_error(
                        node,
                        format!("pads {v:?} must be 4 non-negative values"),
                    ));
                }
                pads = [v[0] as usize, v[1] as usize, v[2] as usize, v[3] as usize];
            }
        } else if auto != "VALID" {
            for a in 0..2 {
                let ek = (if a == 0 { kh } else { kw } - 1) * dilations[a] + 1;
                let full = strides[a] * (x_shape[2 + a] - 1) + out_pad[a] + ek;
                let total = full.checked_sub(y_shape[2 + a]).ok_or_else(|| {
                    node_error(
                        node,
                        format!(
                            "output size {} exceeds the full transposed-convolution size {full}; \
                             express the extra rows with output_padding",
                            y_shape[2 + a]
                        ),
                    )
                })?;
                let small = total / 2;
                // ONNX ConvTranspose: only SAME_UPPER puts the extra pixel at the end.
                let (b, e) = if auto == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                };
                pads[a] = b;
                pads[a + 2] = e;
            }
        }
        // ONNX [Cin, Cout/g, kh, kw] → [kh, kw, Cin/g, Cout].
        let cig = cin / groups;
        let cout = cog * groups;
        let mut hwio = ArrayD::<f32>::zeros(IxDyn(&[kh, kw, cig, cout]));
        for ((ci, co, y, x), &v) in w
            .view()
            .into_dimensionality::<ndarray::Ix4>()
            .map_err(|e| node_error(node, e.to_string()))?
            .indexed_iter()
        {
            let g = ci / cig;
            hwio[[y, x, ci % cig, g * cog + co]] = v;
        }
        let bias: Vec<f32> = match node.input(2) {
            Some(_) => self.const_input(node, 2)?.iter().copied().collect(),
            None => vec![0.0; cout],
        };
        let layer = self.e.b.next_name("deconv");
        let attrs = vec![
            ("strides", ints(&strides)),
            ("dilations", ints(&dilations)),
            ("groups", Attribute::i64(groups as i64)),
            ("pads", ints(&pads)),
            ("output_padding", ints(&out_pad)),
        ];
        self.weighted_nhwc(i, hl::Deconv2d::NAME, &layer, (&hwio, bias), attrs)
    }

    pub(crate) fn gemm_or_matmul(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let b_const = node
            .input(1)
            .is_some_and(|t| self.e.model.constant(t).is_some());
        let a_shape = self.e.input_shape(node, 0)?;
        if node.op_type == "MatMul" && !b_const {
            return self.matmul(i);
        }
        if !b_const {
            return Err(node_error(node, "Gemm with a run-time B is not supported"));
        }
        if node.op_type == "MatMul" && matches!(a_shape.len(), 3 | 4) {
            return self.matmul_as_conv(i);
        }
        if a_shape.len() != 2 {
            return Err(node_error(
                node,
                format!(
                    "{} of a rank-{} tensor with a constant matrix is not supported (dense layers take [N, C])",
                    node.op_type,
                    a_shape.len()
                ),
            ));
        }
        let gemm = node.op_type == "Gemm";
        if gemm && node.attr_int_or("transA", 0)? != 0 {
            return Err(node_error(node, "transA=1 is not supported"));
        }
        let mut kernel = self.weight_input(node, 1)?;
        if kernel.ndim() != 2 {
            return Err(node_error(node, "the weight matrix must have rank 2"));
        }
        if gemm && node.attr_int_or("transB", 0)? != 0 {
            kernel = transpose_array(&kernel, &[1, 0]);
        }
        let (alpha, beta) = if gemm {
            (
                node.attr_float_or("alpha", 1.0)?,
                node.attr_float_or("beta", 1.0)?,
            )
        } else {
            (1.0, 1.0)
        };
        kernel.mapv_inplace(|w| w * alpha);
        let cout = kernel.shape()[1];
        let mut bias = vec![0.0f32; cout];
        if gemm && node.input(2).is_some() {
            let c = self.const_input(node, 2)?;
            add_bias(node, &mut bias, &c, beta)?;
        }
        let a = self.e.input(node, 0)?;
        if let Some(order) = &a.flat_order {
            let rows: Vec<_> = order
                .iter()
                .map(|&r| kernel.index_axis(Axis(0), r).to_owned())
                .collect();
            let views: Vec<_> = rows.iter().map(|r| r.view()).collect();
            kernel =
                ndarray::stack(Axis(0), &views).map_err(|e| node_error(node, e.to_string()))?;
        }
        let tensor = node.outputs[0].clone();
        let layer = self.e.b.next_name("fc");
        let loc = [node.name.as_str()];
        let k = self.e.constant(&layer, "kernel", &kernel, true, &loc);
        let b = self
            .e
            .constant(&layer, "bias", &Array1::from(bias).into_dyn(), true, &loc);
        let out_shape = self.e.shape(node, &tensor)?;
        let res = self.e.b.layer(
            hl::Dense::NAME,
            &layer,
            &[a.id, k, b],
            &[out_shape],
            Activation::Linear.layer_attrs(),
            &loc,
        );
        self.e.bind(&tensor, res[0], vec![0, 1]);
        self.converted(i, &[&layer]);
        Ok(())
    }

    /// `MatMul` of rank-3/4 data `[.., T, C]` with a constant `[C, D]`: a 1x1 convolution over
    /// the data held in ONNX order (rank 3 gets a unit H axis, removed again after it).
    fn matmul_as_conv(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let a_shape = self.e.input_shape(node, 0)?;
        let w = self.weight_input(node, 1)?;
        if w.ndim() != 2 || w.shape()[0] != a_shape[a_shape.len() - 1] {
            return Err(node_error(
                node,
                "the constant matrix must be [C, D] with C the data's last dimension",
            ));
        }
        let (cin, cout) = (w.shape()[0], w.shape()[1]);
        let kernel = w
            .into_shape_with_order(IxDyn(&[1, 1, cin, cout]))
            .map_err(|e| node_error(node, e.to_string()))?;
        let bias = vec![0.0f32; cout];
        let tensor = node.outputs[0].clone();
        let rank = a_shape.len();
        let ident: Vec<usize> = (0..rank).collect();
        let as4 = |s: &[usize]| {
            if s.len() == 3 {
                vec![s[0], 1, s[1], s[2]]
            } else {
                s.to_vec()
            }
        };
        let x = self.e.input_in(node, 0, &ident)?;
        let x = if rank == 3 {
            let layer = self.e.b.next_name("reshape");
            self.e.report.add_layer(&node.name, &node.op_type, &layer);
            self.e.b.layer(
                hl::Reshape::NAME,
                &layer,
                &[x],
                &[as4(&a_shape)],
                vec![],
                &[&node.name],
            )[0]
        } else {
            x
        };
        let layer = self.e.b.next_name("conv");
        let loc = [node.name.as_str()];
        let k = self.e.constant(&layer, "kernel", &kernel, true, &loc);
        let b = self
            .e
            .constant(&layer, "bias", &Array1::from(bias).into_dyn(), true, &loc);
        let out_shape = self.e.shape(node, &tensor)?;
        let mut attrs = vec![
            ("strides", ints(&[1, 1])),
            ("dilations", ints(&[1, 1])),
            ("padding", Attribute::str("EXPLICIT")),
            ("pads", ints(&[0, 0, 0, 0])),
            ("groups", Attribute::i64(1)),
        ];
        attrs.extend(Activation::Linear.layer_attrs());
        let mut y = self.e.b.layer(
            hl::Conv2d::NAME,
            &layer,
            &[x, k, b],
            &[as4(&out_shape)],
            attrs,
            &loc,
        )[0];
        self.e.report.add_layer(&node.name, &node.op_type, &layer);
        if rank == 3 {
            let back = self.e.b.next_name("reshape");
            self.e.report.add_layer(&node.name, &node.op_type, &back);
            y = self.e.b.layer(
                hl::Reshape::NAME,
                &back,
                &[y],
                std::slice::from_ref(&out_shape),
                vec![],
                &[&node.name],
            )[0];
        }
        self.e.bind(&tensor, y, ident);
        self.converted(i, &[]);
        Ok(())
    }

    fn matmul(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let ra = self.e.input_shape(node, 0)?.len();
        let rb = self.e.input_shape(node, 1)?.len();
        if ra < 2 || rb < 2 {
            return Err(node_error(
                node,
                "MatMul of vectors (rank 1) is not supported",
            ));
        }
        let a = self.e.input_in(node, 0, &(0..ra).collect::<Vec<_>>())?;
        let b = self.e.input_in(node, 1, &(0..rb).collect::<Vec<_>>())?;
        let out_shape = self.e.output_shape(node, 0)?;
        let layer = self.e.b.next_name("matmul");
        let perm = (0..out_shape.len()).collect();
        let attrs = vec![("transpose_b", Attribute::Bool(false))];
        self.sole_layer(i, hl::MatMul::NAME, &layer, &[a, b], out_shape, attrs, perm);
        Ok(())
    }

    pub(crate) fn pool(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let x_shape = self.e.input_shape(node, 0)?;
        if x_shape.len() != 4 {
            return Err(node_error(
                node,
                "only 2-D pooling (rank-4 input) is supported",
            ));
        }
        let kernel = match node.attr_ints("kernel_shape")? {
            Some([a, b]) if *a >= 1 && *b >= 1 => [*a as usize, *b as usize],
            other => {
                return Err(node_error(
                    node,
                    format!("kernel_shape {other:?} must be 2 positive values"),
                ))
            }
        };
        if pair(node, "dilations")? != [1, 1] {
            return Err(node_error(node, "dilated pooling is not supported"));
        }
        let strides = pair(node, "strides")?;
        let pads = window_pads(node, [x_shape[2], x_shape[3]], kernel, strides, [1, 1])?;
        let max = node.op_type == "MaxPool";
        let count_include_pad = node.attr_int_or("count_include_pad", 0)? != 0;
        let (op, prefix) = if max {
            (hl::MaxPool::NAME, "maxpool")
        } else {
            (hl::AvgPool::NAME, "avgpool")
        };
        let layer = self.e.b.next_name(prefix);
        let loc = [node.name.as_str()];
        let x = self.e.input_in(node, 0, &canonical(4))?;
        let out_shape = permute(&self.e.output_shape(node, 0)?, &canonical(4));
        let mut attrs = vec![
            ("kernel", ints(&kernel)),
            ("strides", ints(&strides)),
            ("padding", Attribute::str("EXPLICIT")),
            ("pads", ints(&pads)),
            (
                "ceil_mode",
                Attribute::Bool(node.attr_int_or("ceil_mode", 0)? != 0),
            ),
        ];
        if !max {
            attrs.push(("count_include_pad", Attribute::Bool(count_include_pad)));
        }
        let res = self.e.b.layer(op, &layer, &[x], &[out_shape], attrs, &loc);
        self.e.bind(&node.outputs[0], res[0], canonical(4));
        self.converted(i, &[&layer]);
        Ok(())
    }

    pub(crate) fn global_pool(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        if self.e.input_shape(node, 0)?.len() != 4 {
            return Err(node_error(node, "only rank-4 global pooling is supported"));
        }
        let (op, prefix) = if node.op_type == "GlobalMaxPool" {
            (hl::GlobalMaxPool::NAME, "maxpool")
        } else {
            (hl::GlobalAvgPool::NAME, "avgpool")
        };
        self.global_pool_layer(i, op, prefix)
    }

    /// A global pooling layer for node `i` (also used for spatial ReduceMean/ReduceMax).
    pub(crate) fn global_pool_layer(
        &mut self,
        i: usize,
        op: &str,
        prefix: &'static str,
    ) -> ConvertResult<()> {
        let node = self.g.node(i);
        let layer = self.e.b.next_name(prefix);
        let x = self.e.input_in(node, 0, &canonical(4))?;
        let out_shape = permute(&self.e.output_shape(node, 0)?, &canonical(4));
        self.sole_layer(i, op, &layer, &[x], out_shape, vec![], canonical(4));
        Ok(())
    }

    /// A spatial ReduceMean/ReduceMax as a global pooling layer; without `keepdims` the pooled
    /// `[N, 1, 1, C]` is reshaped to the node's `[N, C]` (the Hailo form of a squeeze-and-excite
    /// or classifier head that averages into a vector).
    pub(crate) fn global_pool_squeezed(
        &mut self,
        i: usize,
        op: &str,
        prefix: &'static str,
        keep: bool,
    ) -> ConvertResult<()> {
        if keep {
            return self.global_pool_layer(i, op, prefix);
        }
        let node = self.g.node(i);
        let layer = self.e.b.next_name(prefix);
        let x = self.e.input_in(node, 0, &canonical(4))?;
        let out_shape = self.e.output_shape(node, 0)?;
        let pooled = vec![out_shape[0], 1, 1, out_shape[1]];
        let p = self
            .e
            .b
            .layer(op, &layer, &[x], &[pooled], vec![], &[&node.name])[0];
        let flat = self.e.b.next_name("reshape");
        let y = self.e.b.layer(
            hl::Reshape::NAME,
            &flat,
            &[p],
            std::slice::from_ref(&out_shape),
            vec![],
            &[&node.name],
        )[0];
        self.e.bind(&node.outputs[0], y, vec![0, 1]);
        self.converted(i, &[&layer, &flat]);
        Ok(())
    }

    pub(crate) fn batch_norm(&mut self, i: usize) -> ConvertResult<()> {
        let node = self.g.node(i);
        let x = self.e.input(node, 0)?;
        let rank = x.perm.len();
        if !(2..=4).contains(&rank) {
            return Err(node_error(
                node,
                format!("BatchNormalization of a rank-{rank} tensor is not supported"),
            ));
        }
        let eps = f64::from(node.attr_float_or("epsilon", 1e-5)?);
        let tensor = node.outputs[0].clone();
        let layer = self.e.b.next_name("batch_norm");
        let loc = [node.name.as_str()];
        let xv = self.e.input_in(node, 0, &canonical(rank))?;
        let mut operands = vec![xv];
        for (k, param) in [(3, "mean"), (4, "var"), (1, "gamma"), (2, "beta")] {
            let data = self.const_input(node, k)?;
            let flat = Array1::from_iter(data.iter().copied()).into_dyn();
            operands.push(self.e.constant(&layer, param, &flat, true, &loc));
        }
        let out_shape = permute(&self.e.shape(node, &tensor)?, &canonical(rank));
        let mut attrs = vec![("epsilon", Attribute::f64(eps))];
        attrs.extend(Activation::Linear.layer_attrs());
        let res = self.e.b.layer(
            hl::BatchNorm::NAME,
            &layer,
            &operands,
            &[out_shape],
            attrs,
            &loc,
        );
        self.e.bind(&tensor, res[0], canonical(rank));
        self.converted(i, &[&layer]);
        Ok(())
    }
}

/// Adds `beta * c` (a constant broadcast over the output features) to `bias`.
fn add_bias(node: &Node, bias: &mut [f32], c: &ArrayD<f32>, beta: f32) -> ConvertResult<()> {
    let n = bias.len();
    let values: Vec<f32> = c.iter().copied().collect();
    match values.len() {
        1 => bias.iter_mut().for_each(|b| *b += beta * values[0]),
        l if l == n => bias
            .iter_mut()
            .zip(&values)
            .for_each(|(b, v)| *b += beta * v),
        l => {
            return Err(node_error(
                node,
                format!("bias of {l} elements does not broadcast over {n} output features"),
            ))
        }
    }
    Ok(())
}
