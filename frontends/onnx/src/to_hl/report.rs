//! The parsing report (`--parsing-report`): for every node of the ONNX file, the `hl` layer(s)
//! it became, or why it was fused into another layer, folded away or dropped.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::graph::{OnnxModel, Removal};

/// What happened to one ONNX node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeFate {
    /// The node became these layers (usually one).
    Converted,
    /// The node was merged into a layer made from another node (BatchNorm, activation, pad,
    /// pattern members).
    Fused,
    /// The node was computed at load time or was a constant.
    Folded,
    /// The node does nothing at inference (Identity, Dropout) and was removed.
    Dropped,
    /// The node lies outside `--start-node-names` / `--end-node-names`.
    OutsideSelection,
}

/// One node's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeReport {
    pub node: String,
    pub op_type: String,
    pub fate: NodeFate,
    /// The `hl` layers made from (or absorbing) this node.
    pub layers: Vec<String>,
    /// A human-readable explanation for everything but plain conversions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An input or output layer and the ONNX tensor it stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IoMapping {
    pub layer: String,
    pub original_name: String,
    /// Shape in `hl` (NHWC) terms.
    pub shape: Vec<usize>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParsingReport {
    pub source: String,
    pub net_name: String,
    pub inputs: Vec<IoMapping>,
    pub outputs: Vec<IoMapping>,
    pub nodes: Vec<NodeReport>,
}

impl ParsingReport {
    /// Follows what the `hailo-parse` pipeline did to the imported layers: a node whose layers
    /// were all absorbed into another layer is fused into it (with the pass as the reason), and
    /// renamed layers take their final names.
    pub fn follow(&mut self, rw: &hailo_passes::parse::ParseRewrites) {
        for io in self.inputs.iter_mut().chain(self.outputs.iter_mut()) {
            if let Some(name) = rw.final_name(&io.layer) {
                io.layer = name.to_owned();
            }
        }
        for n in &mut self.nodes {
            if let Some(reason) = rw.follow(&mut n.layers) {
                n.fate = NodeFate::Fused;
                n.reason = Some(reason);
            }
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Collects per-node entries while converting; nodes keep the file's topological order.
#[derive(Debug)]
pub(crate) struct ReportBuilder {
    entries: BTreeMap<String, NodeReport>,
    /// Node names in report order (converted nodes in topological order, then the others).
    order: Vec<String>,
    known: HashSet<String>,
}

impl ReportBuilder {
    /// Entries for the nodes removed while loading.
    pub fn new(model: &OnnxModel) -> Self {
        let mut r = ReportBuilder {
            entries: BTreeMap::new(),
            order: model.nodes.iter().map(|n| n.name.clone()).collect(),
            known: model.nodes.iter().map(|n| n.name.clone()).collect(),
        };
        for rm in &model.removed {
            let (fate, reason) = match rm.reason {
                Removal::Constant => (
                    NodeFate::Folded,
                    "Constant node: its value became a constant",
                ),
                Removal::Folded => (
                    NodeFate::Folded,
                    "all inputs known at parse time: folded to a constant",
                ),
                Removal::OutsideSelection => (
                    NodeFate::OutsideSelection,
                    "outside the subgraph selected by the start/end node names",
                ),
            };
            r.set(
                &rm.name,
                &rm.op_type,
                fate,
                Vec::new(),
                Some(reason.to_string()),
            );
        }
        r
    }

    pub fn set(
        &mut self,
        node: &str,
        op_type: &str,
        fate: NodeFate,
        layers: Vec<String>,
        reason: Option<String>,
    ) {
        let mut layers = layers;
        match self.entries.get(node) {
            None if self.known.insert(node.to_string()) => self.order.push(node.to_string()),
            None => {}
            Some(old) => {
                let mut merged = old.layers.clone();
                merged.extend(layers.into_iter().filter(|l| !old.layers.contains(l)));
                layers = merged;
            }
        }
        self.entries.insert(
            node.to_string(),
            NodeReport {
                node: node.to_string(),
                op_type: op_type.to_string(),
                fate,
                layers,
                reason,
            },
        );
    }

    /// Attributes a helper layer (an inserted transpose or reshape) to `node`; the node's own
    /// entry, set later, keeps it.
    pub fn add_layer(&mut self, node: &str, op_type: &str, layer: &str) {
        self.set(
            node,
            op_type,
            NodeFate::Converted,
            vec![layer.to_string()],
            None,
        );
    }

    /// Whether layers are already attributed to `node`.
    pub fn has_layers(&self, node: &str) -> bool {
        self.entries.get(node).is_some_and(|e| !e.layers.is_empty())
    }

    pub fn finish(
        mut self,
        source: &str,
        net_name: &str,
        inputs: Vec<IoMapping>,
        outputs: Vec<IoMapping>,
    ) -> ParsingReport {
        let nodes = self
            .order
            .iter()
            .filter_map(|n| self.entries.remove(n))
            .collect();
        ParsingReport {
            source: source.to_string(),
            net_name: net_name.to_string(),
            inputs,
            outputs,
            nodes,
        }
    }
}
