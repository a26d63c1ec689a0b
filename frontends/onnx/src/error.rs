//! The frontend's error type: every variant names what is wrong and where (file, tensor, node),
//! so a user can fix the model or the command line without a debugger.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, OnnxError>;

/// Everything that can go wrong while loading, validating, analysing or cutting an ONNX model.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    #[error("cannot read '{path}': {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "'{path}' ({len} bytes) is not a valid ONNX model: {message}; the file is truncated, \
         corrupted or not an ONNX protobuf"
    )]
    Decode {
        path: String,
        len: usize,
        message: String,
    },
    #[error("'{path}' holds no graph (ModelProto.graph is missing)")]
    NoGraph { path: String },
    #[error(
        "node '{node}' ({op_type}) input '{input}' is produced by nothing: it is not a graph input, \
         an initializer or the output of another node (missing initializer?)"
    )]
    DanglingInput {
        node: String,
        op_type: String,
        input: String,
    },
    #[error("graph output '{output}' is produced by nothing")]
    DanglingOutput { output: String },
    #[error("tensor '{tensor}' is produced twice: by {first} and by {second}")]
    DuplicateProducer {
        tensor: String,
        first: String,
        second: String,
    },
    #[error("the graph has a cycle; nodes on or behind it: {}", .nodes.join(", "))]
    Cycle { nodes: Vec<String> },
    #[error("node '{node}' ({op_type}) attribute '{attr}' has unknown attribute type {code}")]
    UnknownAttributeType {
        node: String,
        op_type: String,
        attr: String,
        code: i32,
    },
    #[error("node '{node}' ({op_type}) attribute '{attr}': {message}")]
    Attribute {
        node: String,
        op_type: String,
        attr: String,
        message: String,
    },
    #[error("{0}")]
    WeightRank(Box<WeightRankError>),
    #[error("tensor '{tensor}': {message}")]
    Tensor { tensor: String, message: String },
    #[error("node '{node}' ({op_type}): {message}")]
    Node {
        node: String,
        op_type: String,
        message: String,
    },
    #[error("graph input '{input}': {message}")]
    InputShape { input: String, message: String },
    #[error("unknown {role} node '{name}'{}", suggestion_text(.suggestion))]
    UnknownNode {
        role: &'static str,
        name: String,
        suggestion: Option<String>,
    },
    #[error("cannot select a subgraph: {message}")]
    Selection { message: String },
}

impl OnnxError {
    /// Whether the message already names the model file (the tools prefix the others with it).
    pub fn names_file(&self) -> bool {
        matches!(
            self,
            OnnxError::Io { .. } | OnnxError::Decode { .. } | OnnxError::NoGraph { .. }
        )
    }
}

/// A weight (or other parameter input) whose rank does not fit its operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "node '{node}' ({op_type}) input '{input}' ({role}) has rank {} (shape {shape:?}), expected {expected}",
    .shape.len()
)]
pub struct WeightRankError {
    pub node: String,
    pub op_type: String,
    pub input: String,
    /// The input's role for the operator (`weight`, `bias`, `scale`, ...).
    pub role: &'static str,
    pub expected: String,
    pub shape: Vec<usize>,
}

fn suggestion_text(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!("; did you mean '{s}'?"),
        None => String::new(),
    }
}
