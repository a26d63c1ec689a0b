//! The neutral node graph the frontend hands to the ONNX→`hl` conversion: nodes in topological
//! order with decoded attributes, constants as arrays, every tensor's static shape, and the
//! bookkeeping (removed nodes, unresolved nodes) a parsing report needs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::attr::Attribute;
use crate::tensor::{DataType, TensorData};

/// One ONNX node. `inputs` keeps ONNX's positions: an omitted optional input is `""`.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The node's ONNX name; nodes without one get `<op_type>_<index in the file>`.
    pub name: String,
    pub op_type: String,
    /// Operator-set domain; `""` is the default `ai.onnx` domain.
    pub domain: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attrs: BTreeMap<String, Attribute>,
}

impl Node {
    /// Input `i` if present and not omitted.
    pub fn input(&self, i: usize) -> Option<&str> {
        self.inputs
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// Output `i` if present and not omitted.
    pub fn output(&self, i: usize) -> Option<&str> {
        self.outputs
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }
}

/// A dimension as declared in a `ValueInfoProto`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dim {
    Fixed(usize),
    /// `dim_param`: a named symbolic size such as `batch`.
    Symbolic(String),
    /// Neither `dim_value` nor `dim_param` set.
    Unknown,
}

/// A declared graph input or output.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueInfo {
    pub name: String,
    pub dtype: DataType,
    /// Declared dimensions; `None` when the model gives no shape.
    pub dims: Option<Vec<Dim>>,
}

impl ValueInfo {
    /// The shape if every dimension is fixed.
    pub fn static_shape(&self) -> Option<Vec<usize>> {
        self.dims
            .as_ref()?
            .iter()
            .map(|d| match d {
                Dim::Fixed(n) => Some(*n),
                _ => None,
            })
            .collect()
    }
}

/// Why a node of the file is not in `OnnxModel::nodes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// A `Constant` node; its value is in `OnnxModel::constants`.
    Constant,
    /// Evaluated at load time because all its inputs (or, for `Shape`/`Size`, the input's shape)
    /// were known; its outputs are in `OnnxModel::constants` if anything still uses them.
    Folded,
    /// Outside the subgraph chosen with `OnnxModel::select`.
    OutsideSelection,
}

/// A node of the file that was removed while loading.
#[derive(Debug, Clone, PartialEq)]
pub struct RemovedNode {
    pub name: String,
    pub op_type: String,
    pub outputs: Vec<String>,
    pub reason: Removal,
}

/// Why a node's output shapes are not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueKind {
    /// The operator (or its domain) is not known to the frontend.
    UnknownOp,
    /// A known operator whose output shape depends on something unknown (a run-time shape
    /// input, an input of unknown shape, an unsupported attribute combination).
    UnresolvedShape,
}

/// A node whose output shapes could not be inferred. Loading does not fail on these; the
/// conversion decides whether they matter (e.g. after cutting with start/end nodes).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeIssue {
    pub node: String,
    pub op_type: String,
    pub domain: String,
    /// The opset version of the node's domain.
    pub opset: i64,
    pub kind: IssueKind,
    pub message: String,
}

/// A loaded, validated and analysed ONNX model.
#[derive(Debug, Clone, PartialEq)]
pub struct OnnxModel {
    /// Where the model came from (file path, or `<memory>`), for messages.
    pub source: String,
    pub ir_version: i64,
    /// `producer_name producer_version`.
    pub producer: String,
    pub graph_name: String,
    /// Imported opset version per domain; the default domain is `""` (`ai.onnx` is folded into it).
    pub opsets: BTreeMap<String, i64>,
    /// Graph inputs that are not initializers, in file order, every dimension `Dim::Fixed`.
    pub inputs: Vec<ValueInfo>,
    /// Graph outputs in file order, as declared.
    pub outputs: Vec<ValueInfo>,
    /// Remaining nodes in topological order (file order wherever the file is already sorted).
    pub nodes: Vec<Node>,
    /// Constant tensors still referenced by a node or a graph output: initializers, `Constant`
    /// node values and folded values.
    pub constants: BTreeMap<String, TensorData>,
    /// Static shape of every tensor whose shape is known (inputs, constants, node outputs).
    pub shapes: BTreeMap<String, Vec<usize>>,
    /// Nodes of the file that are no longer in `nodes`, in file order.
    pub removed: Vec<RemovedNode>,
    /// Nodes whose output shapes are unknown, in topological order.
    pub issues: Vec<NodeIssue>,
}

impl OnnxModel {
    /// Opset version of `domain` (`""` or `"ai.onnx"` for the default domain); 1 if not imported.
    pub fn opset(&self, domain: &str) -> i64 {
        let domain = if domain == "ai.onnx" { "" } else { domain };
        self.opsets.get(domain).copied().unwrap_or(1)
    }

    /// Shape of a tensor, if known.
    pub fn shape(&self, tensor: &str) -> Option<&[usize]> {
        self.shapes.get(tensor).map(Vec::as_slice)
    }

    /// A constant tensor by name.
    pub fn constant(&self, tensor: &str) -> Option<&TensorData> {
        self.constants.get(tensor)
    }

    /// A node by name.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The node producing `tensor`, if any (graph inputs and constants have none).
    pub fn producer(&self, tensor: &str) -> Option<&Node> {
        self.nodes
            .iter()
            .find(|n| n.outputs.iter().any(|o| o == tensor))
    }

    /// Nodes consuming `tensor`, in topological order.
    pub fn consumers(&self, tensor: &str) -> Vec<&Node> {
        self.nodes
            .iter()
            .filter(|n| n.inputs.iter().any(|i| i == tensor))
            .collect()
    }

    /// A deterministic text listing: inputs, one line per node with its attributes and input
    /// and output shapes (`c` marks a constant input), outputs, and issues.
    pub fn listing(&self) -> String {
        let shape = |t: &str| match self.shape(t) {
            Some(s) => format!("{s:?}"),
            None => "?".to_string(),
        };
        let mut out = String::new();
        for i in &self.inputs {
            let _ = writeln!(out, "input {} {}", i.name, shape(&i.name));
        }
        for n in &self.nodes {
            let ins: Vec<String> = n
                .inputs
                .iter()
                .filter(|i| !i.is_empty())
                .map(|i| {
                    let c = if self.constants.contains_key(i) {
                        "c"
                    } else {
                        ""
                    };
                    format!("{i}{c}{}", shape(i))
                })
                .collect();
            let outs: Vec<String> = n
                .outputs
                .iter()
                .filter(|o| !o.is_empty())
                .map(|o| format!("{o}{}", shape(o)))
                .collect();
            let attrs: Vec<String> = n.attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let attrs = if attrs.is_empty() {
                String::new()
            } else {
                format!("{{{}}}", attrs.join(", "))
            };
            let _ = writeln!(
                out,
                "{} {}{attrs}({}) -> {}",
                n.name,
                n.op_type,
                ins.join(", "),
                outs.join(", ")
            );
        }
        for o in &self.outputs {
            let _ = writeln!(out, "output {} {}", o.name, shape(&o.name));
        }
        for i in &self.issues {
            let _ = writeln!(out, "issue {} {}: {}", i.node, i.op_type, i.message);
        }
        out
    }
}
