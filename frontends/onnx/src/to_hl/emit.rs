//! The `hl` side of the conversion: the module being built, Hailo layer naming (prefix +
//! counter per prefix, in creation = topological order), weight constants in the blob store,
//! and the table from ONNX tensor names to converted values with their layouts.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use hailo_ir::{
    Attribute, Blob, BlockId, DenseValues, Location, Module, OpSpec, Sym, Type, ValueId,
};
use ndarray::ArrayD;

use super::error::{node_error, ConvertResult};
use super::layout::{is_reshape_only, permute, relayout};
use super::report::ReportBuilder;
use crate::graph::{Node, OnnxModel};

/// An ONNX tensor as converted: the `hl` value and how its axes relate to ONNX's.
#[derive(Debug, Clone)]
pub(crate) struct HlValue {
    pub id: ValueId,
    /// `hl` axis `i` is ONNX axis `perm[i]`.
    pub perm: Vec<usize>,
    /// Set on rank-2 tensors flattened in `hl` (NHWC) order rather than ONNX order: entry `j`
    /// is the ONNX feature index of `hl` feature `j`. Only dense layers accept these (they
    /// permute their kernel rows instead of the data).
    pub flat_order: Option<Arc<Vec<usize>>>,
}

/// An activation with its parameters, as the `activation` attribute of a layer or the `kind`
/// of `hl.activation`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Act {
    pub kind: &'static str,
    pub params: Vec<(&'static str, f64)>,
}

impl Act {
    pub fn new(kind: &'static str) -> Act {
        Act {
            kind,
            params: Vec::new(),
        }
    }

    pub fn with(kind: &'static str, params: &[(&'static str, f64)]) -> Act {
        Act {
            kind,
            params: params.to_vec(),
        }
    }
}

/// The module under construction.
pub(crate) struct Emitter<'a> {
    pub model: &'a OnnxModel,
    pub m: Module,
    pub block: BlockId,
    counters: BTreeMap<&'static str, usize>,
    pub values: HashMap<String, HlValue>,
    pub report: ReportBuilder,
}

/// The location of a layer made from `nodes` (one name, or `fused[...]`).
pub(crate) fn location(nodes: &[&str]) -> Location {
    match nodes {
        [one] => Location::name(one),
        many => Location::Fused(many.iter().map(|n| Location::name(n)).collect()),
    }
}

/// A tensor type with `f32` elements.
pub(crate) fn f32_tensor(shape: &[usize]) -> Type {
    let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
    Type::tensor(&dims, Type::f32())
}

/// Constants this small are printed inline (`dense<...>`) unless they are layer weights.
const INLINE_LIMIT: usize = 16;

impl<'a> Emitter<'a> {
    pub fn new(model: &'a OnnxModel, m: Module, block: BlockId) -> Self {
        Emitter {
            model,
            m,
            block,
            counters: BTreeMap::new(),
            values: HashMap::new(),
            report: ReportBuilder::new(model),
        }
    }

    /// The next Hailo layer name with `prefix` (`conv1`, `conv2`, ...).
    pub fn next_name(&mut self, prefix: &'static str) -> String {
        let c = self.counters.entry(prefix).or_insert(0);
        *c += 1;
        format!("{prefix}{c}")
    }

    /// Appends an op; returns its results.
    pub fn append(&mut self, spec: OpSpec) -> Vec<ValueId> {
        let op = self.m.create_op(spec);
        self.m.append_op(self.block, op);
        self.m.op(op).results().to_vec()
    }

    /// Appends a layer op named `layer` with `f32` results of the given shapes.
    pub fn layer(
        &mut self,
        op: &str,
        layer: &str,
        operands: &[ValueId],
        results: &[Vec<usize>],
        attrs: Vec<(&str, Attribute)>,
        loc: &[&str],
    ) -> Vec<ValueId> {
        let types: Vec<Type> = results.iter().map(|s| f32_tensor(s)).collect();
        let mut spec = OpSpec::new(op)
            .operands(operands)
            .results(&types)
            .attr("layer", Attribute::str(layer))
            .loc(location(loc));
        for (k, v) in attrs {
            spec = spec.attr(k, v);
        }
        self.append(spec)
    }

    /// A constant operand `<layer>.<param>`: weights (`force_resource`) and large constants go
    /// to the blob store as `dense_resource`, small ones are inline `dense`.
    pub fn constant(
        &mut self,
        layer: &str,
        param: &str,
        data: &ArrayD<f32>,
        force_resource: bool,
        loc: &[&str],
    ) -> ValueId {
        let ty = f32_tensor(data.shape());
        let values: Vec<f32> = data.iter().copied().collect();
        let value = if force_resource || values.len() > INLINE_LIMIT {
            let key = format!("{layer}.{param}");
            self.m.resources.insert(&key, Blob::from_f32(&values));
            Attribute::DenseResource {
                key: Sym::new(&key),
                ty,
            }
        } else {
            Attribute::dense(
                ty,
                DenseValues::Floats(values.iter().map(|&v| f64::from(v)).collect()),
            )
        };
        let spec = OpSpec::new("hl.const")
            .results(&[ty])
            .attr("value", value)
            .loc(location(loc));
        self.append(spec)[0]
    }

    /// The converted value of ONNX tensor `name`, used by `node`.
    pub fn value(&self, node: &Node, name: &str) -> ConvertResult<HlValue> {
        self.values.get(name).cloned().ok_or_else(|| {
            node_error(
                node,
                format!("input '{name}' has no converted value (a constant where run-time data is required?)"),
            )
        })
    }

    /// The value of `node`'s input `i` (run-time data).
    pub fn input(&self, node: &Node, i: usize) -> ConvertResult<HlValue> {
        let name = node
            .input(i)
            .ok_or_else(|| node_error(node, format!("required input #{i} is missing")))?;
        self.value(node, name)
    }

    /// ONNX shape of tensor `name`.
    pub fn shape(&self, node: &Node, name: &str) -> ConvertResult<Vec<usize>> {
        self.model
            .shape(name)
            .map(<[usize]>::to_vec)
            .ok_or_else(|| node_error(node, format!("the shape of '{name}' is unknown")))
    }

    /// ONNX shape of `node`'s input `i`.
    pub fn input_shape(&self, node: &Node, i: usize) -> ConvertResult<Vec<usize>> {
        let name = node
            .input(i)
            .ok_or_else(|| node_error(node, format!("required input #{i} is missing")))?;
        self.shape(node, name)
    }

    /// ONNX shape of `node`'s output `i`.
    pub fn output_shape(&self, node: &Node, i: usize) -> ConvertResult<Vec<usize>> {
        let name = node
            .output(i)
            .ok_or_else(|| node_error(node, format!("output #{i} is missing")))?;
        self.shape(node, name)
    }

    /// Records the value of ONNX tensor `name`.
    pub fn bind(&mut self, name: &str, id: ValueId, perm: Vec<usize>) {
        self.values.insert(
            name.to_string(),
            HlValue {
                id,
                perm,
                flat_order: None,
            },
        );
    }

    /// `v` (ONNX tensor `name`) in layout `want`, inserting a reshape or transpose layer
    /// attributed to `node` when the layouts differ.
    pub fn relayout_value(
        &mut self,
        node: &Node,
        name: &str,
        v: &HlValue,
        want: &[usize],
    ) -> ConvertResult<ValueId> {
        if v.flat_order.is_some() {
            return Err(node_error(
                node,
                format!(
                    "'{name}' was flattened in NHWC order for a dense layer and cannot feed a {}",
                    node.op_type
                ),
            ));
        }
        if v.perm == want {
            return Ok(v.id);
        }
        let onnx = self.shape(node, name)?;
        let from_shape = permute(&onnx, &v.perm);
        let to_shape = permute(&onnx, want);
        let r = relayout(&v.perm, want);
        let (op, prefix, attrs) = if is_reshape_only(&from_shape, &r) {
            ("hl.reshape", "reshape", vec![])
        } else {
            let perm: Vec<i64> = r.iter().map(|&a| a as i64).collect();
            (
                "hl.transpose",
                "transpose",
                vec![("perm", Attribute::i64_array(&perm))],
            )
        };
        let layer = self.next_name(prefix);
        let out = self.layer(op, &layer, &[v.id], &[to_shape], attrs, &[&node.name]);
        self.report.add_layer(&node.name, &node.op_type, &layer);
        Ok(out[0])
    }

    /// `node`'s input `i` in layout `want` (see `relayout_value`).
    pub fn input_in(&mut self, node: &Node, i: usize, want: &[usize]) -> ConvertResult<ValueId> {
        let name = node
            .input(i)
            .ok_or_else(|| node_error(node, format!("required input #{i} is missing")))?
            .to_string();
        let v = self.value(node, &name)?;
        self.relayout_value(node, &name, &v, want)
    }
}

/// Activation attributes for a layer: `activation` plus the parameters.
pub(crate) fn act_attrs(act: &Act) -> Vec<(&'static str, Attribute)> {
    let mut out = vec![("activation", Attribute::str(act.kind))];
    out.extend(act.params.iter().map(|&(k, v)| (k, Attribute::f64(v))));
    out
}

/// An `i64` array attribute from `usize`s.
pub(crate) fn ints(v: &[usize]) -> Attribute {
    let v: Vec<i64> = v.iter().map(|&x| x as i64).collect();
    Attribute::i64_array(&v)
}
