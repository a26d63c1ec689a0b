//! Errors of the TFLite → `hl` conversion. Unsupported operators are collected over the whole
//! selected subgraph first, so one run lists every operator the user has to cut away together
//! with the start/end node names (TFLite tensor names) that would do it.

use std::fmt;

use hailo_dialect_hl::builder::write_unsupported;

/// One operator the conversion cannot handle.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnsupportedNode {
    /// Node name: the name of the operator's first output tensor.
    pub node: String,
    /// TFLite operator name (`SIN`, `CUSTOM:MyOp`, ...).
    pub op: String,
    /// Index of the operator in subgraph 0.
    pub op_index: usize,
    /// Why it is unsupported.
    pub reason: String,
}

impl fmt::Display for UnsupportedNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "'{}' ({}, operator {}): {}",
            self.node, self.op, self.op_index, self.reason
        )
    }
}

/// Every unsupported operator of a model and the cuts that avoid them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedReport {
    /// The unsupported operators, in execution order.
    pub nodes: Vec<UnsupportedNode>,
    /// End node names that keep everything before the unsupported operators.
    pub suggested_end_nodes: Vec<String>,
    /// Start node names that keep everything after the unsupported operators.
    pub suggested_start_nodes: Vec<String>,
}

impl fmt::Display for UnsupportedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_unsupported(
            f,
            "operator(s)",
            &self.nodes,
            &self.suggested_end_nodes,
            &self.suggested_start_nodes,
        )
    }
}

/// Why a conversion failed.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// Operators without an `hl` translation (all of them, with suggested cuts).
    #[error("{0}")]
    Unsupported(Box<UnsupportedReport>),
    /// A supported operator used in a way `hl` cannot express.
    #[error("node '{node}' ({op}): {message}")]
    Node {
        /// Node name (first output tensor name).
        node: String,
        /// TFLite operator name.
        op: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// Bad `--start-node-names` / `--end-node-names`.
    #[error("{0}")]
    Selection(String),
    /// A pass of the `hailo-parse` pipeline failed on the imported graph.
    #[error("{0}")]
    Pipeline(String),
}

/// Result alias of the conversion.
pub type ConvertResult<T> = std::result::Result<T, ConvertError>;
