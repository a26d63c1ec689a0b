//! Subgraph selection (`--start-node-names` / `--end-node-names`): keeps only the nodes between
//! the start nodes and the end nodes. The start nodes' run-time inputs become graph inputs; the
//! end nodes' outputs become graph outputs, in the order the end nodes are given.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::error::{OnnxError, Result};
use crate::graph::{Dim, OnnxModel, Removal, RemovedNode, ValueInfo};
use crate::tensor::DataType;

impl OnnxModel {
    /// The subgraph between `start` and `end` node names. Empty `start` means "from the graph
    /// inputs", empty `end` means "up to the graph outputs".
    pub fn select<S: AsRef<str>, E: AsRef<str>>(
        &self,
        start: &[S],
        end: &[E],
    ) -> Result<OnnxModel> {
        let index: HashMap<&str, usize> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.as_str(), i))
            .collect();
        let start: Vec<usize> = start
            .iter()
            .map(|s| self.resolve(&index, "start", s.as_ref()))
            .collect::<Result<_>>()?;
        let end: Vec<usize> = end
            .iter()
            .map(|s| self.resolve(&index, "end", s.as_ref()))
            .collect::<Result<_>>()?;
        let end_tensors: Vec<String> = if end.is_empty() {
            self.outputs.iter().map(|o| o.name.clone()).collect()
        } else {
            end.iter().flat_map(|&i| self.used_outputs(i)).collect()
        };

        let producer: HashMap<&str, usize> = self
            .nodes
            .iter()
            .enumerate()
            .flat_map(|(i, n)| n.outputs.iter().map(move |o| (o.as_str(), i)))
            .collect();
        let is_start: BTreeSet<usize> = start.iter().copied().collect();
        let mut kept = vec![false; self.nodes.len()];
        let mut cut_inputs: BTreeSet<&str> = BTreeSet::new();
        let mut reached_inputs: BTreeSet<&str> = BTreeSet::new();
        let mut work: Vec<&str> = end_tensors.iter().map(String::as_str).collect();
        while let Some(t) = work.pop() {
            if t.is_empty() || self.constants.contains_key(t) {
                continue;
            }
            let Some(&p) = producer.get(t) else {
                reached_inputs.insert(t);
                continue;
            };
            if std::mem::replace(&mut kept[p], true) {
                continue;
            }
            let inputs = self.nodes[p].inputs.iter().map(String::as_str);
            if is_start.contains(&p) {
                cut_inputs
                    .extend(inputs.filter(|i| !i.is_empty() && !self.constants.contains_key(*i)));
            } else {
                work.extend(inputs);
            }
        }
        if let Some(&s) = start.iter().find(|&&s| !kept[s]) {
            return Err(OnnxError::Selection {
                message: format!(
                    "start node '{}' does not lead to any of the end nodes",
                    self.nodes[s].name
                ),
            });
        }
        let produced: BTreeSet<&str> = (0..self.nodes.len())
            .filter(|&i| kept[i])
            .flat_map(|i| self.nodes[i].outputs.iter().map(String::as_str))
            .collect();

        let mut input_names: Vec<&str> = Vec::new();
        for &s in &start {
            for i in &self.nodes[s].inputs {
                if cut_inputs.contains(i.as_str())
                    && !produced.contains(i.as_str())
                    && !input_names.contains(&i.as_str())
                {
                    input_names.push(i);
                }
            }
        }
        for i in &self.inputs {
            if reached_inputs.contains(i.name.as_str()) && !input_names.contains(&i.name.as_str()) {
                input_names.push(&i.name);
            }
        }
        let inputs = input_names
            .iter()
            .map(|&name| self.selected_value(name, true))
            .collect::<Result<Vec<_>>>()?;
        let outputs = end_tensors
            .iter()
            .map(|name| self.selected_value(name, false))
            .collect::<Result<Vec<_>>>()?;

        let nodes: Vec<_> = (0..self.nodes.len())
            .filter(|&i| kept[i])
            .map(|i| self.nodes[i].clone())
            .collect();
        let mut removed = self.removed.clone();
        removed.extend(
            (0..self.nodes.len())
                .filter(|&i| !kept[i])
                .map(|i| RemovedNode {
                    name: self.nodes[i].name.clone(),
                    op_type: self.nodes[i].op_type.clone(),
                    outputs: self.nodes[i].outputs.clone(),
                    reason: Removal::OutsideSelection,
                }),
        );
        let referenced: BTreeSet<&str> = nodes
            .iter()
            .flat_map(|n| n.inputs.iter().chain(&n.outputs))
            .chain(end_tensors.iter())
            .map(String::as_str)
            .chain(input_names.iter().copied())
            .collect();
        let constants: BTreeMap<_, _> = self
            .constants
            .iter()
            .filter(|(k, _)| referenced.contains(k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let shapes = self
            .shapes
            .iter()
            .filter(|(k, _)| referenced.contains(k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let names: BTreeSet<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        let issues = self
            .issues
            .iter()
            .filter(|i| names.contains(i.node.as_str()))
            .cloned()
            .collect();
        Ok(OnnxModel {
            source: self.source.clone(),
            ir_version: self.ir_version,
            producer: self.producer.clone(),
            graph_name: self.graph_name.clone(),
            opsets: self.opsets.clone(),
            inputs,
            outputs,
            nodes,
            constants,
            shapes,
            removed,
            issues,
        })
    }

    fn resolve(
        &self,
        index: &HashMap<&str, usize>,
        role: &'static str,
        name: &str,
    ) -> Result<usize> {
        if let Some(&i) = index.get(name) {
            return Ok(i);
        }
        if let Some(r) = self.removed.iter().find(|r| r.name == name) {
            return Err(OnnxError::Selection {
                message: format!(
                    "{role} node '{name}' ({}) was folded into a constant while loading; pick a node \
                     that computes on run-time data",
                    r.op_type
                ),
            });
        }
        let suggestion = self
            .nodes
            .iter()
            .map(|n| (strsim::levenshtein(name, &n.name), &n.name))
            .min()
            .filter(|(d, _)| *d <= name.len().max(4) / 2)
            .map(|(_, n)| n.clone());
        Err(OnnxError::UnknownNode {
            role,
            name: name.to_string(),
            suggestion,
        })
    }

    /// The outputs of node `i` that the rest of the graph uses (or its first output).
    fn used_outputs(&self, i: usize) -> Vec<String> {
        let node = &self.nodes[i];
        let used: Vec<String> = node
            .outputs
            .iter()
            .filter(|o| {
                !o.is_empty()
                    && (self.outputs.iter().any(|g| &g.name == *o) || !self.consumers(o).is_empty())
            })
            .cloned()
            .collect();
        if used.is_empty() {
            node.output(0).map(str::to_string).into_iter().collect()
        } else {
            used
        }
    }

    /// The value info of a tensor that becomes a graph input or output of the selection.
    fn selected_value(&self, name: &str, input: bool) -> Result<ValueInfo> {
        let declared = self
            .inputs
            .iter()
            .chain(&self.outputs)
            .find(|v| v.name == name);
        match (self.shape(name), declared) {
            (Some(s), _) => Ok(ValueInfo {
                name: name.to_string(),
                dtype: declared.map_or(DataType::Float, |d| d.dtype),
                dims: Some(s.iter().map(|&d| Dim::Fixed(d)).collect()),
            }),
            (None, Some(d)) if !input => Ok(d.clone()),
            (None, _) => Err(OnnxError::Selection {
                message: format!(
                    "the shape of '{name}' is unknown, so it cannot become a graph {}",
                    if input { "input" } else { "output" }
                ),
            }),
        }
    }
}
