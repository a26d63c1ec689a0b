//! Errors of the ONNX → `hl` conversion. Unsupported operators are collected over the whole
//! graph first, so one run lists every node the user has to cut away, with the start/end node
//! names that would do it (as the DFC's parser suggests them).

use std::fmt;

use hailo_dialect_hl::builder::write_unsupported;

/// One node the conversion cannot handle.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnsupportedNode {
    pub node: String,
    pub op_type: String,
    pub domain: String,
    pub opset: i64,
    pub reason: String,
}

impl fmt::Display for UnsupportedNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let domain = if self.domain.is_empty() {
            "ai.onnx"
        } else {
            &self.domain
        };
        write!(
            f,
            "'{}' ({} from {domain} opset {}): {}",
            self.node, self.op_type, self.opset, self.reason
        )
    }
}

/// Every unsupported node of a model and the cuts that avoid them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedReport {
    pub nodes: Vec<UnsupportedNode>,
    /// End nodes that keep everything before the unsupported nodes.
    pub suggested_end_nodes: Vec<String>,
    /// Start nodes that keep everything after the unsupported nodes.
    pub suggested_start_nodes: Vec<String>,
}

impl fmt::Display for UnsupportedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_unsupported(
            f,
            "node(s)",
            &self.nodes,
            &self.suggested_end_nodes,
            &self.suggested_start_nodes,
        )
    }
}

/// Why a conversion failed.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("{0}")]
    Unsupported(Box<UnsupportedReport>),
    /// A supported operator used in a way `hl` cannot express.
    #[error("node '{node}' ({op_type}): {message}")]
    Node {
        node: String,
        op_type: String,
        message: String,
    },
    #[error("--input-format {input}: {message}")]
    InputFormat { input: String, message: String },
    /// A pass of the `hailo-parse` pipeline failed on the imported graph.
    #[error("{0}")]
    Pipeline(String),
    #[error("{0}")]
    Onnx(#[from] crate::OnnxError),
}

/// Result alias of the conversion.
pub type ConvertResult<T> = std::result::Result<T, ConvertError>;

/// A node-level error.
pub(crate) fn node_error(node: &crate::Node, message: impl Into<String>) -> ConvertError {
    ConvertError::Node {
        node: node.name.clone(),
        op_type: node.op_type.clone(),
        message: message.into(),
    }
}
