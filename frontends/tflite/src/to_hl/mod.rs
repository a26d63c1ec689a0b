//! TFLite → `hl` conversion (the DFC parser's TFLite path, guide §5.1.1-5.1.2): turns a
//! [`TfliteGraph`] into a `builtin.module` holding one `builtin.graph @main` of `hl` ops.
//!
//! TFLite is already NHWC, so no layout changes are needed; kernels are re-laid to HWIO. Layer
//! names, locations (the TFLite tensor names of the operators a layer came from), resource
//! keys and the report follow the ONNX path, so the same network gives the same IR.
//!
//! Steps: select the subgraph between start/end names (`select`), recognise multi-operator
//! activations (`patterns`), reject unsupported operators all at once, then convert the
//! operators in execution order (`ops_linear`, `ops_misc`, `ops_shape`), each into its own
//! layer(s), and run the `hailo-parse` pipeline (`hailo_passes::parse`), which folds zero PADs
//! and following activations into the layers before them and numbers the layers; the report
//! follows what it absorbed and renamed.

mod emit;
mod error;
mod ops_linear;
mod ops_misc;
mod ops_shape;
mod patterns;
mod report;
mod select;

use hailo_dialect_hl as hl;
use std::collections::HashMap;

use hailo_dialect_hl::builder::{f32_tensor, symbol_name, GraphBuilder};
use hailo_ir::{Module, Type, ValueId};

pub use error::{ConvertError, ConvertResult, UnsupportedNode, UnsupportedReport};
pub use report::{ConversionReport, IoMapping, NodeFate, NodeReport};

use emit::op_type;
use patterns::Patterns;
use select::Selection;

use crate::graph::{TensorId, TfliteGraph};

/// Caller choices for the conversion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConvertOptions {
    /// The network name (`builtin.module @name`); anything but `[A-Za-z0-9_]` becomes `_`.
    /// Defaults to `net`.
    pub net_name: Option<String>,
    /// Tensor names where parsing starts (the producing operators are kept, their run-time
    /// inputs become graph inputs). Empty: the graph inputs.
    pub start_node_names: Vec<String>,
    /// Tensor names where parsing ends (they become the graph outputs, in this order).
    /// Empty: the graph outputs.
    pub end_node_names: Vec<String>,
}

/// Converts `graph` to `hl`.
pub fn convert(
    graph: &TfliteGraph,
    options: &ConvertOptions,
) -> ConvertResult<(Module, ConversionReport)> {
    let sel = select::select(graph, &options.start_node_names, &options.end_node_names)?;
    let patterns = patterns::find(graph, &sel);
    let mut bad = select::unsupported_kinds(graph, &sel);
    bad.extend(patterns::lone_signs(graph, &sel, &patterns));
    bad.sort_by_key(|b| b.0);
    select::fail_unsupported(graph, &sel, bad)?;

    let net = symbol_name(options.net_name.as_deref().unwrap_or(""));
    let in_types: Vec<Type> = sel
        .inputs
        .iter()
        .map(|&t| f32_tensor(&graph.tensors[t].shape))
        .collect();
    let (b, args) = GraphBuilder::new(&net, in_types);
    let mut cx = Converter::new(graph, b, sel, patterns);
    let mut inputs = Vec::new();
    for (&t, arg) in cx.sel.inputs.clone().iter().zip(args) {
        let (layer, v) = cx.io_layer(hl::InputLayer::NAME, "input_layer", t, arg);
        cx.values.insert(t, v);
        inputs.push(IoMapping {
            layer,
            original_name: graph.tensors[t].name.clone(),
            shape: graph.tensors[t].shape.clone(),
        });
    }
    for i in 0..graph.ops.len() {
        cx.op(i)?;
    }
    let mut results = Vec::new();
    let mut outputs = Vec::new();
    for t in cx.sel.outputs.clone() {
        let name = graph.tensors[t].name.clone();
        let v = cx.values.get(&t).copied().ok_or_else(|| {
            ConvertError::Selection(format!(
                "output '{name}' is a constant or was not converted; pick end nodes that compute \
                 on run-time data"
            ))
        })?;
        let (layer, out) = cx.io_layer(hl::OutputLayer::NAME, "output_layer", t, v);
        results.push(out);
        outputs.push(IoMapping {
            layer,
            original_name: name,
            shape: graph.tensors[t].shape.clone(),
        });
    }
    let mut report = cx.report.finish(&net, inputs, outputs);
    let mut module = cx.b.finish(&results);
    let rewrites = hailo_passes::parse::run(&mut module).map_err(ConvertError::Pipeline)?;
    report.follow(&rewrites);
    Ok((module, report))
}

/// Conversion state.
pub(crate) struct Converter<'a> {
    pub g: &'a TfliteGraph,
    pub b: GraphBuilder,
    pub sel: Selection,
    pub patterns: Patterns,
    /// Converted value of each run-time tensor.
    pub values: HashMap<TensorId, ValueId>,
    /// Operators already handled (converted, or part of a pattern converted earlier).
    pub done: Vec<bool>,
    pub report: report::ReportBuilder,
}

impl<'a> Converter<'a> {
    fn new(g: &'a TfliteGraph, b: GraphBuilder, sel: Selection, patterns: Patterns) -> Self {
        let mut report = report::ReportBuilder::default();
        for (i, op) in g.ops.iter().enumerate() {
            if !sel.kept[i] {
                report.set(
                    i,
                    &op.name_hint,
                    &op_type(op),
                    NodeFate::OutsideSelection,
                    &[],
                    Some("outside the subgraph selected by the start/end node names"),
                );
            }
        }
        let done = sel.kept.iter().map(|k| !k).collect();
        Converter {
            g,
            b,
            sel,
            patterns,
            values: HashMap::new(),
            done,
            report,
        }
    }

    /// An input or output layer for tensor `t` reading `x`.
    fn io_layer(&mut self, op: &str, prefix: &str, t: TensorId, x: ValueId) -> (String, ValueId) {
        self.b.io_layer(op, prefix, &self.g.tensors[t].name, x)
    }

    fn op(&mut self, i: usize) -> ConvertResult<()> {
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
        use crate::graph::OpKind as K;
        match &self.g.ops[i].kind {
            K::Conv2d(_) | K::DepthwiseConv2d { .. } => self.conv(i),
            K::TransposeConv { .. } => self.deconv(i),
            K::FullyConnected { .. } => self.dense(i),
            K::AvgPool2d(_) | K::MaxPool2d(_) => self.pool(i),
            K::Reduce { .. } => self.reduce(i),
            K::Binary { .. } => self.binary(i),
            K::AddN => self.add_n(i),
            K::Unary(_) | K::LeakyRelu { .. } => self.activation_op(i),
            K::Prelu => self.prelu(i),
            K::Softmax { .. } => self.softmax(i),
            K::ArgMax { .. } => self.argmax(i),
            K::L2Normalization { .. } => self.l2_norm(i),
            K::Concat { .. } => self.concat(i),
            K::Pad { .. } => self.pad(i),
            K::Split { .. } => self.split(i),
            K::Slice { .. } | K::StridedSlice { .. } | K::Gather { .. } => self.slice(i),
            K::Reshape { .. } | K::Squeeze { .. } => self.reshape(i),
            K::Transpose { .. } => self.transpose(i),
            K::Resize { .. } => self.resize(i),
            K::DepthToSpace { .. } | K::SpaceToDepth { .. } => self.pixel_shuffle(i),
            K::Unsupported { op_name, .. } => {
                Err(self.node_error(i, format!("operator {op_name} is not supported")))
            }
        }
    }

    /// Records operator `i` as converted to `layers`.
    pub fn converted(&mut self, i: usize, layers: &[String]) {
        let op = &self.g.ops[i];
        self.report.set(
            i,
            &op.name_hint,
            &op_type(op),
            NodeFate::Converted,
            layers,
            None,
        );
    }

    /// Marks `ops` as fused into `layer`.
    pub fn fused(&mut self, ops: &[usize], layer: &str, why: &str) {
        for &n in ops {
            self.done[n] = true;
            let op = &self.g.ops[n];
            self.report.set(
                n,
                &op.name_hint,
                &op_type(op),
                NodeFate::Fused,
                &[layer.to_string()],
                Some(why),
            );
        }
    }

    /// Records operator `i` as dropped (no layer needed).
    pub fn dropped(&mut self, i: usize, why: &str) {
        let op = &self.g.ops[i];
        self.report.set(
            i,
            &op.name_hint,
            &op_type(op),
            NodeFate::Dropped,
            &[],
            Some(why),
        );
    }

    /// Names of operators `ops`, for locations.
    pub fn names(&self, ops: &[usize]) -> Vec<String> {
        ops.iter()
            .map(|&o| self.g.ops[o].name_hint.clone())
            .collect()
    }
}

/// `&str` views of owned names.
pub(crate) fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}
