//! The ONNX side of building the `hl` graph: the table from ONNX tensor names to converted
//! values with their layouts (ONNX NCHW vs `hl` NHWC), and the reshape/transpose layers that
//! reconcile them. Naming, layers, constants and input/output layers are the shared
//! `hailo_dialect_hl::builder::GraphBuilder`.

use hailo_dialect_hl as hl;
use std::collections::HashMap;
use std::sync::Arc;

use hailo_dialect_hl::builder::GraphBuilder;
use hailo_ir::{Attribute, ValueId};
use ndarray::ArrayD;

use super::error::{node_error, ConvertResult};
use super::layout::{is_reshape_only, permute, relayout};
use super::net::Net;
use super::report::ReportBuilder;
use crate::graph::Node;

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

/// The graph under construction plus the ONNX side of it.
pub(crate) struct Emitter<'a> {
    pub model: Net<'a>,
    pub b: GraphBuilder,
    pub values: HashMap<String, HlValue>,
    pub report: ReportBuilder,
}

impl<'a> Emitter<'a> {
    pub fn new(model: Net<'a>, b: GraphBuilder) -> Self {
        Emitter {
            model,
            b,
            values: HashMap::new(),
            report: ReportBuilder::new(model.model()),
        }
    }

    /// A constant operand `<layer>.<param>` holding `data` (see `GraphBuilder::constant`).
    pub fn constant(
        &mut self,
        layer: &str,
        param: &str,
        data: &ArrayD<f32>,
        force_resource: bool,
        loc: &[&str],
    ) -> ValueId {
        // Standard-layout arrays are passed as they are; only permuted views are gathered.
        let gathered;
        let values = match data.as_slice() {
            Some(v) => v,
            None => {
                gathered = data.iter().copied().collect::<Vec<f32>>();
                &gathered
            }
        };
        self.b
            .constant(layer, param, data.shape(), values, force_resource, loc)
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
        // The ONNX shape as the value holds it (smaller than the tensor's declared shape when
        // an Expand was left to the consumer's broadcasting).
        let from_shape: Vec<usize> = self
            .b
            .value_type(v.id)
            .shape()
            .map(|s| s.iter().map(|&d| d as usize).collect())
            .ok_or_else(|| node_error(node, format!("'{name}' has no static shape")))?;
        if from_shape.len() != v.perm.len() {
            return Err(node_error(
                node,
                format!(
                    "'{name}' has rank {} in hl but layout {:?}",
                    from_shape.len(),
                    v.perm
                ),
            ));
        }
        let mut onnx = vec![0; from_shape.len()];
        for (k, &a) in v.perm.iter().enumerate() {
            onnx[a] = from_shape[k];
        }
        let to_shape = permute(&onnx, want);
        let r = relayout(&v.perm, want);
        let (op, prefix, attrs) = if is_reshape_only(&from_shape, &r) {
            (hl::Reshape::NAME, "reshape", vec![])
        } else {
            let perm: Vec<i64> = r.iter().map(|&a| a as i64).collect();
            (
                hl::Transpose::NAME,
                "transpose",
                vec![("perm", Attribute::i64_array(&perm))],
            )
        };
        let layer = self.b.next_name(prefix);
        let out = self
            .b
            .layer(op, &layer, &[v.id], &[to_shape], attrs, &[&node.name]);
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
