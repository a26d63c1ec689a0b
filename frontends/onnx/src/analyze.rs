//! The analysis pass run at load time: walks the nodes in topological order, folds constant
//! computations (see `fold`), infers every other node's output shapes (see `shape`), records
//! nodes whose shapes stay unknown, and drops constants nothing uses any more.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::Result;
use crate::fold::try_fold;
use crate::graph::{IssueKind, NodeIssue, OnnxModel, Removal, RemovedNode, ValueInfo};
use crate::shape::{infer, InferError, OpCtx};

/// Runs folding and shape inference over `model.nodes`, filling `shapes`, `constants`,
/// `removed` and `issues`. `declared` holds the file's value_info (used for unknown operators).
pub(crate) fn analyze(model: &mut OnnxModel, declared: &BTreeMap<String, ValueInfo>) -> Result<()> {
    let mut shapes: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for i in &model.inputs {
        if let Some(s) = i.static_shape() {
            shapes.insert(i.name.clone(), s);
        }
    }
    for (name, t) in &model.constants {
        shapes.insert(name.clone(), t.shape().to_vec());
    }
    let nodes = std::mem::take(&mut model.nodes);
    let mut kept = Vec::with_capacity(nodes.len());
    for node in nodes {
        let opset = model.opset(&node.domain);
        let in_shapes: Vec<Option<Vec<usize>>> = node
            .inputs
            .iter()
            .map(|i| shapes.get(i).filter(|_| !i.is_empty()).cloned())
            .collect();
        let outcome = {
            let consts: Vec<_> = node.inputs.iter().map(|i| model.constants.get(i)).collect();
            let ctx = OpCtx {
                node: &node,
                opset,
                shapes: &in_shapes,
                consts: &consts,
            };
            match try_fold(&ctx) {
                Ok(Some(values)) => Ok(values),
                Ok(None) => Err(infer(&ctx)),
                Err(InferError::Invalid(e)) => return Err(e),
                Err(InferError::Unresolved(msg)) => Err(Some(Err(InferError::Unresolved(msg)))),
            }
        };
        let inferred = match outcome {
            Ok(values) => {
                for (name, value) in node.outputs.iter().zip(values) {
                    shapes.insert(name.clone(), value.shape().to_vec());
                    model.constants.insert(name.clone(), value);
                }
                model.removed.push(RemovedNode {
                    name: node.name,
                    op_type: node.op_type,
                    outputs: node.outputs,
                    reason: Removal::Folded,
                });
                continue;
            }
            Err(inferred) => inferred,
        };
        let issue = |kind, message: String| NodeIssue {
            node: node.name.clone(),
            op_type: node.op_type.clone(),
            domain: node.domain.clone(),
            opset,
            kind,
            message,
        };
        match inferred {
            Some(Ok(outs)) => {
                for (name, s) in node.outputs.iter().zip(outs) {
                    if !name.is_empty() {
                        shapes.insert(name.clone(), s);
                    }
                }
            }
            Some(Err(InferError::Invalid(e))) => return Err(e),
            Some(Err(InferError::Unresolved(msg))) => {
                model.issues.push(issue(IssueKind::UnresolvedShape, msg));
                use_declared(&node.outputs, declared, &mut shapes);
            }
            None => {
                let domain = if node.domain.is_empty() {
                    "ai.onnx"
                } else {
                    &node.domain
                };
                model.issues.push(issue(
                    IssueKind::UnknownOp,
                    format!(
                        "operator {domain}::{} (opset {opset}) is not known to the frontend",
                        node.op_type
                    ),
                ));
                use_declared(&node.outputs, declared, &mut shapes);
            }
        }
        kept.push(node);
    }
    model.nodes = kept;
    let used: BTreeSet<&str> = model
        .nodes
        .iter()
        .flat_map(|n| n.inputs.iter())
        .chain(model.outputs.iter().map(|o| &o.name))
        .map(String::as_str)
        .collect();
    model
        .constants
        .retain(|name, _| used.contains(name.as_str()));
    let live: BTreeSet<&str> = used
        .iter()
        .copied()
        .chain(model.inputs.iter().map(|i| i.name.as_str()))
        .chain(
            model
                .nodes
                .iter()
                .flat_map(|n| n.outputs.iter().map(String::as_str)),
        )
        .collect();
    shapes.retain(|name, _| live.contains(name.as_str()));
    model.shapes = shapes;
    Ok(())
}

/// Falls back to the shapes the file declares for a node's outputs.
fn use_declared(
    outputs: &[String],
    declared: &BTreeMap<String, ValueInfo>,
    shapes: &mut BTreeMap<String, Vec<usize>>,
) {
    for o in outputs {
        if let Some(s) = declared.get(o).and_then(ValueInfo::static_shape) {
            shapes.insert(o.clone(), s);
        }
    }
}
