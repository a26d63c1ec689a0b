//! ONNX → `hl` conversion (the DFC parser's job, guide §5.1.3): turns a loaded `OnnxModel`
//! into a `builtin.module` holding one `builtin.graph @main` of `hl` ops in NHWC with HWIO
//! kernels, named as Hailo names layers, with the original node names as locations, plus a
//! per-node parsing report.
//!
//! Steps: recognise multi-node patterns (`patterns`), check every remaining node is supported
//! (`supported`), then walk the nodes in topological order, converting each (`ops_*`) into its
//! own layer(s), and finally run the `hailo-parse` pipeline (`hailo_passes::parse`), which folds
//! BatchNorm, bias adds, Pad and activations into the layers that precede them and numbers the
//! layers; the report follows what it absorbed and renamed.

mod act;
mod emit;
mod error;
mod layout;
mod net;
mod ops_attention;
mod ops_einsum;
mod ops_index;
mod ops_linear;
mod ops_misc;
mod ops_recurrent;
mod ops_shape;
mod patterns;
mod report;
mod supported;
mod unroll;

use hailo_dialect_hl as hl;

use hailo_dialect_hl::builder::{f32_tensor, symbol_name, GraphBuilder};
use hailo_ir::{Attribute, Module, Type, ValueId};

pub use error::{ConvertError, ConvertResult, UnsupportedNode, UnsupportedReport};
pub use report::{IoMapping, NodeFate, NodeReport, ParsingReport};

use emit::Emitter;
use layout::{canonical, parse_format, permute};
use net::{Consts, Net, Releaser};
use patterns::{GraphView, Patterns};

use crate::graph::OnnxModel;

/// Caller choices for the conversion.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConvertOptions {
    /// The network name (`builtin.module @name`); defaults to the ONNX graph name.
    pub net_name: Option<String>,
    /// `--input-format name=NCHW`: the axis letters of an input, overriding the rank defaults
    /// (rank 2 `NC`, rank 3 `NWC`, rank 4 `NCHW`).
    pub input_formats: Vec<(String, String)>,
}

/// The result of a conversion.
pub struct Conversion {
    pub module: Module,
    pub report: ParsingReport,
}

impl Conversion {
    /// Input layers and the ONNX inputs they stand for, in graph order.
    pub fn inputs(&self) -> &[IoMapping] {
        &self.report.inputs
    }

    /// Output layers in output order and the ONNX tensors they stand for.
    pub fn outputs(&self) -> &[IoMapping] {
        &self.report.outputs
    }
}

/// A network name usable as a symbol and file stem: the given name, else the ONNX graph name,
/// else the file stem, with anything but `[A-Za-z0-9_]` replaced by `_`.
pub fn net_name(model: &OnnxModel, options: &ConvertOptions) -> String {
    let stem = std::path::Path::new(&model.source)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned());
    let raw = options
        .net_name
        .clone()
        .or(stem)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| model.graph_name.clone());
    symbol_name(&raw)
}

/// Converts `model` to `hl`; the model is left as it was.
pub fn convert(model: &OnnxModel, options: &ConvertOptions) -> ConvertResult<Conversion> {
    convert_net(
        Net::new(model, &Consts::Borrowed(&model.constants)),
        options,
    )
}

/// Converts `model` to `hl`, consuming it: each constant is dropped as soon as the nodes
/// reading it are converted, so peak memory stays near one copy of the weights. The result is
/// the same as `convert`'s.
pub fn convert_owned(mut model: OnnxModel, options: &ConvertOptions) -> ConvertResult<Conversion> {
    let consts = Consts::owned(std::mem::take(&mut model.constants), &model.nodes);
    convert_net(Net::new(&model, &consts), options)
}

fn convert_net(model: Net<'_>, options: &ConvertOptions) -> ConvertResult<Conversion> {
    let patterns = patterns::find(model);
    supported::check(model, &patterns)?;
    let net = net_name(model.model(), options);

    let mut in_types = Vec::new();
    let mut in_perms = Vec::new();
    for input in &model.inputs {
        let shape = input.static_shape().unwrap_or_default();
        let perm = match options.input_formats.iter().find(|(n, _)| n == &input.name) {
            Some((_, f)) => {
                parse_format(f, shape.len()).map_err(|message| ConvertError::InputFormat {
                    input: input.name.clone(),
                    message,
                })?
            }
            None => canonical(shape.len()),
        };
        in_types.push(f32_tensor(&permute(&shape, &perm)));
        in_perms.push(perm);
    }
    if let Some((name, _)) = options
        .input_formats
        .iter()
        .find(|(n, _)| !model.inputs.iter().any(|i| &i.name == n))
    {
        return Err(ConvertError::InputFormat {
            input: name.clone(),
            message: format!(
                "no such graph input; the inputs are: {}",
                model
                    .inputs
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    let (b, args) = GraphBuilder::new(&net, in_types);

    let mut cx = Converter {
        e: Emitter::new(model, b),
        g: GraphView::new(model),
        patterns,
        done: vec![false; model.nodes.len()],
    };
    let mut inputs = Vec::new();
    for ((input, perm), arg) in model.inputs.iter().zip(in_perms).zip(args) {
        let (layer, v) =
            cx.e.b
                .io_layer(hl::InputLayer::NAME, "input_layer", &input.name, arg);
        cx.e.bind(&input.name, v, perm);
        inputs.push(IoMapping {
            layer,
            original_name: input.name.clone(),
            shape: shape_of(cx.e.b.value_type(v)),
        });
    }
    let mut releaser = Releaser::new(model);
    for i in 0..model.nodes.len() {
        cx.node(i)?;
        releaser.update(model, &cx.done);
    }
    let (results, outputs) = cx.outputs()?;
    let Converter { e, .. } = cx;
    let mut report = e.report.finish(&model.source, &net, inputs, outputs);
    let mut module = e.b.finish(&results);
    let rewrites = hailo_passes::parse::run(&mut module).map_err(ConvertError::Pipeline)?;
    report.follow(&rewrites);
    Ok(Conversion { module, report })
}

fn shape_of(ty: Type) -> Vec<usize> {
    ty.shape()
        .map(|s| s.iter().map(|&d| d as usize).collect())
        .unwrap_or_default()
}

/// Conversion state: the emitter plus what the walk over the nodes has decided so far.
pub(crate) struct Converter<'a> {
    pub e: Emitter<'a>,
    pub g: GraphView<'a>,
    pub patterns: Patterns,
    /// Nodes already handled (converted, or part of a pattern converted earlier).
    pub done: Vec<bool>,
}

impl Converter<'_> {
    fn node(&mut self, i: usize) -> ConvertResult<()> {
        if self.done[i] {
            return Ok(());
        }
        if let Some(&p) = self.patterns.owner.get(&i) {
            if self.patterns.list[p].anchor() == i {
                self.pattern(p)?;
            }
            return Ok(());
        }
        self.done[i] = true;
        let node = self.g.node(i);
        match node.op_type.as_str() {
            "Conv" => self.conv(i),
            "ConvTranspose" => self.deconv(i),
            "Gemm" | "MatMul" => self.gemm_or_matmul(i),
            "Einsum" => self.einsum(i),
            "MaxPool" | "AveragePool" => self.pool(i),
            "GlobalAveragePool" | "GlobalMaxPool" => self.global_pool(i),
            "BatchNormalization" => self.batch_norm(i),
            "Add" | "Sub" | "Mul" | "Div" | "Max" | "Min" | "Pow" | "Equal" | "Greater"
            | "Less" => self.binary(i),
            "Concat" => self.concat(i),
            "Split" => self.split(i),
            "Slice" => self.slice(i),
            "Gather" => self.gather(i),
            "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" => self.reshape(i),
            "Transpose" => self.transpose(i),
            "Resize" | "Upsample" => self.resize(i),
            "DepthToSpace" | "SpaceToDepth" => self.pixel_shuffle(i),
            "Softmax" | "LogSoftmax" => self.softmax(i),
            "ArgMax" => self.argmax(i),
            "OneHot" => self.one_hot(i),
            "ReduceMax" | "ReduceMin" | "ReduceSum" | "ReduceMean" | "ReduceSumSquare"
            | "ReduceL2" => self.reduce(i),
            "Pad" => self.pad(i),
            "Identity" | "Dropout" => self.identity(i),
            "Expand" | "Tile" => self.broadcast_only(i),
            "LSTM" | "GRU" | "RNN" => self.recurrent(i),
            "PRelu" => self.prelu(i),
            "LayerNormalization" | "InstanceNormalization" | "LpNormalization" => self.norm_node(i),
            _ => self.activation_node(i),
        }
    }

    /// Marks `nodes` as fused into `layer`.
    pub fn fused(&mut self, nodes: &[usize], layer: &str, why: &str) {
        for &n in nodes {
            self.done[n] = true;
            let node = self.g.node(n);
            self.e.report.set(
                &node.name,
                &node.op_type,
                NodeFate::Fused,
                vec![layer.to_string()],
                Some(why.to_string()),
            );
        }
    }

    /// Records `node` as converted to `layers`.
    pub fn converted(&mut self, i: usize, layers: &[&str]) {
        let node = self.g.node(i);
        self.e.report.set(
            &node.name,
            &node.op_type,
            NodeFate::Converted,
            layers.iter().map(|s| s.to_string()).collect(),
            None,
        );
    }

    /// Emits `layer` as the whole of node `i`: an `op` reading `operands` with one result of
    /// `hl` shape `shape`, bound to the node's output in layout `perm`, the node recorded as
    /// converted to it.
    #[allow(clippy::too_many_arguments)]
    pub fn sole_layer(
        &mut self,
        i: usize,
        op: &str,
        layer: &str,
        operands: &[ValueId],
        shape: Vec<usize>,
        attrs: Vec<(&str, Attribute)>,
        perm: Vec<usize>,
    ) {
        let node = self.g.node(i);
        let res = self
            .e
            .b
            .layer(op, layer, operands, &[shape], attrs, &[&node.name]);
        self.e.bind(&node.outputs[0], res[0], perm);
        self.converted(i, &[layer]);
    }

    /// Output layers, one per graph output in order, in canonical layout.
    fn outputs(&mut self) -> ConvertResult<(Vec<ValueId>, Vec<IoMapping>)> {
        let model = self.e.model;
        let mut results = Vec::new();
        let mut maps = Vec::new();
        for out in &model.outputs {
            let v = self
                .e
                .values
                .get(&out.name)
                .cloned()
                .ok_or_else(|| ConvertError::Node {
                    node: out.name.clone(),
                    op_type: "graph output".into(),
                    message: "the output is a constant or was not converted; pick end nodes that \
                          compute on run-time data"
                        .into(),
                })?;
            let producer = model
                .producer(&out.name)
                .cloned()
                .unwrap_or_else(|| crate::Node {
                    name: out.name.clone(),
                    op_type: "graph output".into(),
                    domain: String::new(),
                    inputs: vec![],
                    outputs: vec![],
                    attrs: Default::default(),
                });
            let rank = v.perm.len();
            let id = self
                .e
                .relayout_value(&producer, &out.name, &v, &canonical(rank))?;
            let (layer, res) =
                self.e
                    .b
                    .io_layer(hl::OutputLayer::NAME, "output_layer", &out.name, id);
            results.push(res);
            maps.push(IoMapping {
                layer,
                original_name: out.name.clone(),
                shape: shape_of(self.e.b.value_type(res)),
            });
        }
        Ok((results, maps))
    }
}
