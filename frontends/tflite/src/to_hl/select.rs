//! Subgraph selection (`--start-node-names` / `--end-node-names`) and the up-front check for
//! unsupported operators.
//!
//! Node names are TFLite tensor names (including `;`-joined fused names): an end name makes
//! that tensor a graph output, a start name keeps the operator producing that tensor and makes
//! its run-time inputs graph inputs (a graph input's own name starts from that input).

use std::collections::BTreeSet;

use super::error::{ConvertError, ConvertResult, UnsupportedNode, UnsupportedReport};
use crate::graph::{OpKind, TensorId, TfliteGraph};

/// The operators to convert and the tensors that become graph inputs and outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selection {
    /// `kept[i]`: operator `i` (index into `TfliteGraph::ops`) is converted.
    pub kept: Vec<bool>,
    pub inputs: Vec<TensorId>,
    pub outputs: Vec<TensorId>,
}

/// Tensor `name`, or an error naming the closest tensor names.
fn resolve(g: &TfliteGraph, which: &str, name: &str) -> ConvertResult<TensorId> {
    g.tensor_by_name(name).ok_or_else(|| {
        let mut near: Vec<(f64, &str)> = g
            .tensors
            .iter()
            .filter(|t| t.data.is_none())
            .map(|t| (strsim::jaro_winkler(name, &t.name), t.name.as_str()))
            .collect();
        near.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        let hints: Vec<String> = near.iter().take(3).map(|(_, n)| format!("'{n}'")).collect();
        ConvertError::Selection(format!(
            "{which} node '{name}' is not a tensor of the model; closest names: {}",
            hints.join(", ")
        ))
    })
}

/// The producer of each tensor (operator index), if any.
pub(crate) fn producers(g: &TfliteGraph) -> Vec<Option<usize>> {
    let mut p = vec![None; g.tensors.len()];
    for (i, op) in g.ops.iter().enumerate() {
        for &o in &op.outputs {
            p[o] = Some(i);
        }
    }
    p
}

/// Selects the operators between `start` and `end` names (empty = graph inputs / outputs).
pub(crate) fn select(
    g: &TfliteGraph,
    start: &[String],
    end: &[String],
) -> ConvertResult<Selection> {
    let producer = producers(g);
    let outputs: Vec<TensorId> = if end.is_empty() {
        g.outputs.clone()
    } else {
        end.iter()
            .map(|n| resolve(g, "end", n))
            .collect::<ConvertResult<_>>()?
    };
    let mut start_ops = BTreeSet::new();
    let mut start_tensors = Vec::new();
    for name in start {
        let t = resolve(g, "start", name)?;
        match producer[t] {
            Some(p) => {
                start_ops.insert(p);
            }
            None if g.tensors[t].data.is_none() => start_tensors.push(t),
            None => {
                return Err(ConvertError::Selection(format!(
                    "start node '{name}' is a constant, not run-time data"
                )))
            }
        }
    }
    // Inputs of start operators become graph inputs unless another start operator (or its
    // descendants) computes them: start names may follow each other.
    let downstream = descendants(g, &start_ops);
    let mut cut: Vec<TensorId> = start_tensors;
    for &p in &start_ops {
        for &i in &g.ops[p].inputs {
            let inside = producer[i].is_some_and(|q| downstream[q]);
            if g.tensors[i].data.is_none() && !inside && !cut.contains(&i) {
                cut.push(i);
            }
        }
    }
    let mut kept = vec![false; g.ops.len()];
    let mut reached: BTreeSet<TensorId> = BTreeSet::new();
    let mut work: Vec<TensorId> = outputs.clone();
    while let Some(t) = work.pop() {
        if g.tensors[t].data.is_some() {
            continue;
        }
        if cut.contains(&t) {
            reached.insert(t);
            continue;
        }
        let Some(p) = producer[t] else {
            reached.insert(t);
            continue;
        };
        if std::mem::replace(&mut kept[p], true) {
            continue;
        }
        work.extend(g.ops[p].inputs.iter().copied());
    }
    for name in start {
        let t = resolve(g, "start", name)?;
        let used = match producer[t] {
            Some(p) => kept[p],
            None => reached.contains(&t),
        };
        if !used {
            return Err(ConvertError::Selection(format!(
                "start node '{name}' does not lead to the end nodes; pick a start node that \
                 the outputs depend on"
            )));
        }
    }
    // Graph inputs: the cut tensors in start-name order, then original inputs still reached.
    let mut inputs: Vec<TensorId> = cut
        .iter()
        .copied()
        .filter(|t| reached.contains(t))
        .collect();
    for &i in &g.inputs {
        if reached.contains(&i) && !inputs.contains(&i) {
            inputs.push(i);
        }
    }
    if let Some(&t) = reached.iter().find(|t| !inputs.contains(t)) {
        return Err(ConvertError::Selection(format!(
            "tensor '{}' is needed but is neither produced by an operator nor a graph input",
            g.tensors[t].name
        )));
    }
    Ok(Selection {
        kept,
        inputs,
        outputs,
    })
}

/// Operators computed from `roots` (the roots included).
fn descendants(g: &TfliteGraph, roots: &BTreeSet<usize>) -> Vec<bool> {
    let mut mark = vec![false; g.ops.len()];
    let mut made: BTreeSet<TensorId> = BTreeSet::new();
    for (i, op) in g.ops.iter().enumerate() {
        if roots.contains(&i) || op.inputs.iter().any(|t| made.contains(t)) {
            mark[i] = true;
            made.extend(op.outputs.iter().copied());
        }
    }
    mark
}

/// Fails with every kept operator in `bad` (operator index, reason), plus suggested cuts.
pub(crate) fn fail_unsupported(
    g: &TfliteGraph,
    sel: &Selection,
    bad: Vec<(usize, String, String)>,
) -> ConvertResult<()> {
    if bad.is_empty() {
        return Ok(());
    }
    let idx: Vec<usize> = bad.iter().map(|b| b.0).collect();
    let (end, start) = suggest_cuts(g, sel, &idx);
    Err(ConvertError::Unsupported(Box::new(UnsupportedReport {
        nodes: bad
            .into_iter()
            .map(|(i, op, reason)| UnsupportedNode {
                node: g.ops[i].name_hint.clone(),
                op,
                op_index: g.ops[i].tflite_index,
                reason,
            })
            .collect(),
        suggested_end_nodes: end,
        suggested_start_nodes: start,
    })))
}

/// The operators of the reader's `Unsupported` kind among the kept ones.
pub(crate) fn unsupported_kinds(g: &TfliteGraph, sel: &Selection) -> Vec<(usize, String, String)> {
    g.ops
        .iter()
        .enumerate()
        .filter(|(i, _)| sel.kept[*i])
        .filter_map(|(i, op)| match &op.kind {
            OpKind::Unsupported { op_name, reason } => Some((i, op_name.clone(), reason.clone())),
            _ => None,
        })
        .collect()
}

/// End names just before the unsupported operators (kept operators outside their descendants
/// that feed them or a graph output) and start names just after them (operators outside their
/// ancestors that read from them).
fn suggest_cuts(g: &TfliteGraph, sel: &Selection, bad: &[usize]) -> (Vec<String>, Vec<String>) {
    let producer = producers(g);
    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); g.tensors.len()];
    for (i, op) in g.ops.iter().enumerate().filter(|(i, _)| sel.kept[*i]) {
        for &t in &op.inputs {
            consumers[t].push(i);
        }
    }
    let closure = |forward: bool| -> Vec<bool> {
        let mut mark = vec![false; g.ops.len()];
        let mut work = bad.to_vec();
        while let Some(i) = work.pop() {
            if std::mem::replace(&mut mark[i], true) {
                continue;
            }
            let op = &g.ops[i];
            if forward {
                for &o in &op.outputs {
                    work.extend(&consumers[o]);
                }
            } else {
                work.extend(
                    op.inputs
                        .iter()
                        .filter_map(|&t| producer[t])
                        .filter(|&p| sel.kept[p]),
                );
            }
        }
        mark
    };
    let below = closure(true);
    let above = closure(false);
    let mut end = Vec::new();
    let mut start = Vec::new();
    for (i, op) in g.ops.iter().enumerate().filter(|(i, _)| sel.kept[*i]) {
        let feeds_bad = op
            .outputs
            .iter()
            .any(|&o| consumers[o].iter().any(|&c| below[c]));
        let is_output = op.outputs.iter().any(|o| sel.outputs.contains(o));
        if !below[i] && (feeds_bad || is_output) {
            end.push(op.name_hint.clone());
        }
        let reads_bad = op
            .inputs
            .iter()
            .any(|&t| producer[t].is_some_and(|p| above[p]));
        if !above[i] && reads_bad {
            start.push(op.name_hint.clone());
        }
    }
    (end, start)
}
