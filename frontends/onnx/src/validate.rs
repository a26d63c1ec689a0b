//! Structural validation of the node graph (every input produced exactly once, outputs
//! produced, no cycles) and the topological sort the rest of the frontend relies on.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

use crate::error::{OnnxError, Result};
use crate::graph::Node;

/// Checks the graph and returns the nodes in topological order. Among ready nodes the one
/// earliest in the file goes first, so an already sorted file keeps its order.
///
/// `sources` are the tensors available before any node runs (graph inputs and constants).
pub(crate) fn check_and_sort(
    nodes: Vec<Node>,
    sources: &BTreeSet<String>,
    outputs: &[String],
) -> Result<Vec<Node>> {
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        for o in n.outputs.iter().filter(|o| !o.is_empty()) {
            if sources.contains(o) {
                return Err(OnnxError::DuplicateProducer {
                    tensor: o.clone(),
                    first: "a graph input or initializer".into(),
                    second: format!("node '{}'", n.name),
                });
            }
            if let Some(&j) = producer.get(o.as_str()) {
                return Err(OnnxError::DuplicateProducer {
                    tensor: o.clone(),
                    first: format!("node '{}'", nodes[j].name),
                    second: format!("node '{}'", n.name),
                });
            }
            producer.insert(o, i);
        }
    }
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut pending = vec![0usize; nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        for input in n.inputs.iter().filter(|s| !s.is_empty()) {
            if let Some(&p) = producer.get(input.as_str()) {
                users[p].push(i);
                pending[i] += 1;
            } else if !sources.contains(input) {
                return Err(OnnxError::DanglingInput {
                    node: n.name.clone(),
                    op_type: n.op_type.clone(),
                    input: input.clone(),
                });
            }
        }
    }
    if let Some(o) = outputs
        .iter()
        .find(|o| !sources.contains(*o) && !producer.contains_key(o.as_str()))
    {
        return Err(OnnxError::DanglingOutput { output: o.clone() });
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..nodes.len())
        .filter(|&i| pending[i] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for &u in &users[i] {
            pending[u] -= 1;
            if pending[u] == 0 {
                ready.push(Reverse(u));
            }
        }
    }
    if order.len() != nodes.len() {
        let stuck = (0..nodes.len())
            .filter(|&i| pending[i] > 0)
            .map(|i| format!("'{}'", nodes[i].name))
            .collect();
        return Err(OnnxError::Cycle { nodes: stuck });
    }
    let mut slots: Vec<Option<Node>> = nodes.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}
