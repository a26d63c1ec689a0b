//! The operators the conversion handles, checked over the whole graph before converting, so
//! an unsupported model fails with every offending node listed and the start/end node names
//! that cut them away.

use std::collections::BTreeSet;

use super::error::{ConvertError, ConvertResult, UnsupportedNode, UnsupportedReport};
use super::net::Net;
use super::patterns::{GraphView, Patterns};
use super::{ops_einsum, ops_index};
use crate::graph::{IssueKind, Node};

/// Default-domain operators with a conversion (guide Tables 2 and 3 and layout plumbing).
pub(crate) const SUPPORTED: &[&str] = &[
    "Conv",
    "ConvTranspose",
    "Gemm",
    "MatMul",
    "Einsum",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "BatchNormalization",
    "Relu",
    "LeakyRelu",
    "Elu",
    "Sigmoid",
    "Tanh",
    "HardSigmoid",
    "HardSwish",
    "Softplus",
    "Softsign",
    "Mish",
    "Gelu",
    "Exp",
    "Log",
    "Sqrt",
    "Abs",
    "Neg",
    "Reciprocal",
    "Clip",
    "PRelu",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Max",
    "Min",
    "Pow",
    "Equal",
    "Greater",
    "Less",
    "Concat",
    "Split",
    "Slice",
    "Gather",
    "Reshape",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
    "Transpose",
    "Resize",
    "Upsample",
    "DepthToSpace",
    "SpaceToDepth",
    "Softmax",
    "LogSoftmax",
    "ArgMax",
    "OneHot",
    "ReduceMax",
    "ReduceMin",
    "ReduceSum",
    "ReduceMean",
    "ReduceSumSquare",
    "ReduceL2",
    "Pad",
    "Identity",
    "Dropout",
    "Expand",
    "Tile",
    "LSTM",
    "GRU",
    "RNN",
    "LayerNormalization",
    "InstanceNormalization",
    "LpNormalization",
];

/// Why a supported operator cannot be converted in the form `node` uses it, whatever its
/// values: inputs that must be constants computed at run time, equations that are not matmuls.
fn unsupported_form(model: Net<'_>, node: &Node) -> Option<String> {
    match node.op_type.as_str() {
        "Gather" | "OneHot" => ops_index::unsupported_form(model, node),
        "Einsum" => ops_einsum::unsupported_form(node),
        _ => None,
    }
}

/// Fails with an `Unsupported` error if any node (outside recognised patterns) cannot be
/// converted.
pub(crate) fn check(model: Net<'_>, patterns: &Patterns) -> ConvertResult<()> {
    let mut bad: Vec<(usize, UnsupportedNode)> = Vec::new();
    for (i, n) in model.nodes.iter().enumerate() {
        if patterns.owner.contains_key(&i) {
            continue;
        }
        let issue = model.issues.iter().find(|x| x.node == n.name);
        let reason = if !n.domain.is_empty() {
            Some(format!(
                "operators of domain '{}' are not supported",
                n.domain
            ))
        } else if !SUPPORTED.contains(&n.op_type.as_str()) {
            Some("operator not supported by the Hailo parser (guide Tables 2 and 3)".to_string())
        } else if let Some(why) = unsupported_form(model, n) {
            Some(why)
        } else {
            issue
                .filter(|x| x.kind == IssueKind::UnresolvedShape)
                .map(|x| format!("output shape unknown: {}", x.message))
        };
        if let Some(reason) = reason {
            bad.push((
                i,
                UnsupportedNode {
                    node: n.name.clone(),
                    op_type: n.op_type.clone(),
                    domain: n.domain.clone(),
                    opset: model.opset(&n.domain),
                    reason,
                },
            ));
        }
    }
    if bad.is_empty() {
        return Ok(());
    }
    let idx: Vec<usize> = bad.iter().map(|(i, _)| *i).collect();
    let (end, start) = suggest_cuts(model, &idx);
    Err(ConvertError::Unsupported(Box::new(UnsupportedReport {
        nodes: bad.into_iter().map(|(_, n)| n).collect(),
        suggested_end_nodes: end,
        suggested_start_nodes: start,
    })))
}

/// End nodes just before the unsupported nodes (everything that feeds the unsupported part or
/// its descendants, or a graph output, from outside it) and start nodes just after them
/// (consumers of the unsupported part and its ancestors).
fn suggest_cuts(model: Net<'_>, bad: &[usize]) -> (Vec<String>, Vec<String>) {
    let g = GraphView::new(model);
    let n = model.nodes.len();
    let closure = |forward: bool| -> Vec<bool> {
        let mut mark = vec![false; n];
        let mut work: Vec<usize> = bad.to_vec();
        while let Some(i) = work.pop() {
            if std::mem::replace(&mut mark[i], true) {
                continue;
            }
            let node = g.node(i);
            if forward {
                for o in &node.outputs {
                    work.extend(g.consumers(o));
                }
            } else {
                work.extend(node.inputs.iter().filter_map(|t| g.producer(t)));
            }
        }
        mark
    };
    let below = closure(true);
    let above = closure(false);
    let mut end = BTreeSet::new();
    let mut start = BTreeSet::new();
    for i in 0..n {
        let node = g.node(i);
        let outs = || node.outputs.iter().flat_map(|o| g.consumers(o));
        if !below[i]
            && (outs().any(|&c| below[c]) || node.outputs.iter().any(|o| g.is_graph_output(o)))
        {
            end.insert(i);
        }
        if !above[i]
            && node
                .inputs
                .iter()
                .any(|t| g.producer(t).is_some_and(|p| above[p]))
        {
            start.insert(i);
        }
    }
    let names = |s: BTreeSet<usize>| s.into_iter().map(|i| g.node(i).name.clone()).collect();
    (names(end), names(start))
}
