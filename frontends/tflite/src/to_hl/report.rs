//! The conversion report (`--parsing-report`): for every TFLite operator, the `hl` layer(s) it
//! became, or why it was fused into another layer, dropped, or left out by the selection.
//! Same shape as the ONNX path's report, with TFLite operator names.

use std::collections::BTreeMap;

use serde::Serialize;

/// What happened to one TFLite operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeFate {
    /// The operator became these layers (usually one).
    Converted,
    /// The operator was merged into a layer made from another operator (activation, zero
    /// padding, pattern members).
    Fused,
    /// The operator does nothing to the NHWC data (a reshape to the same shape) and was removed.
    Dropped,
    /// The operator lies outside `--start-node-names` / `--end-node-names`.
    OutsideSelection,
}

/// One operator's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeReport {
    /// Node name (first output tensor name).
    pub node: String,
    /// TFLite operator name.
    pub op_type: String,
    /// What happened to it.
    pub fate: NodeFate,
    /// The `hl` layers made from (or absorbing) this operator.
    pub layers: Vec<String>,
    /// Explanation for everything but plain conversions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An input or output layer and the TFLite tensor it stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IoMapping {
    /// Hailo layer name (`input_layer1`, `output_layer1`).
    pub layer: String,
    /// TFLite tensor name.
    pub original_name: String,
    /// Shape (NHWC).
    pub shape: Vec<usize>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversionReport {
    /// Network name (`builtin.module @name`).
    pub net_name: String,
    /// Input layers in graph order.
    pub inputs: Vec<IoMapping>,
    /// Output layers in output order.
    pub outputs: Vec<IoMapping>,
    /// One entry per operator, in execution order.
    pub nodes: Vec<NodeReport>,
}

impl ConversionReport {
    /// Follows what the `hailo-parse` pipeline did to the imported layers (see
    /// `hailo_passes::parse::ParseRewrites::follow`).
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

/// Collects per-operator entries while converting, keyed by operator index.
#[derive(Debug, Default)]
pub(crate) struct ReportBuilder {
    entries: BTreeMap<usize, NodeReport>,
}

impl ReportBuilder {
    /// Records (or extends) the entry of operator `index`; layers accumulate.
    pub fn set(
        &mut self,
        index: usize,
        node: &str,
        op_type: &str,
        fate: NodeFate,
        layers: &[String],
        reason: Option<&str>,
    ) {
        let mut all = self
            .entries
            .get(&index)
            .map(|e| e.layers.clone())
            .unwrap_or_default();
        all.extend(
            layers
                .iter()
                .filter(|l| !all.contains(l))
                .cloned()
                .collect::<Vec<_>>(),
        );
        self.entries.insert(
            index,
            NodeReport {
                node: node.to_string(),
                op_type: op_type.to_string(),
                fate,
                layers: all,
                reason: reason.map(str::to_string),
            },
        );
    }

    /// The report with entries in operator order.
    pub fn finish(
        self,
        net_name: &str,
        inputs: Vec<IoMapping>,
        outputs: Vec<IoMapping>,
    ) -> ConversionReport {
        ConversionReport {
            net_name: net_name.to_string(),
            inputs,
            outputs,
            nodes: self.entries.into_values().collect(),
        }
    }
}
