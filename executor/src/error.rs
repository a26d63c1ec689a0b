//! Errors of the executor: every error names the graph input or the layer it concerns.

use crate::kernels::KernelError;
use thiserror::Error;

/// Why a graph could not be prepared or evaluated.
#[derive(Debug, Error)]
pub enum ExecError {
    /// The module does not hold the requested graph, or the graph is malformed.
    #[error("graph: {0}")]
    Graph(String),
    /// An op's attributes or operands do not follow the `hl` contract.
    #[error("layer '{layer}' ({op}): {message}")]
    Layer {
        layer: String,
        op: &'static str,
        message: String,
    },
    /// A quantized op's types or attributes do not follow the `q` contract, or its
    /// integer kernel rejected them.
    #[error("quantized emulation: layer '{layer}' ({op}): {message}")]
    Quantized {
        layer: String,
        op: &'static str,
        message: String,
    },
    /// A kernel rejected the shapes it was given while evaluating a layer.
    #[error("layer '{layer}' ({op}): {source}")]
    Kernel {
        layer: String,
        op: &'static str,
        source: KernelError,
    },
    /// The caller's inputs do not match the graph's signature.
    #[error("input {index} ('{name}'): {message}")]
    Input {
        index: usize,
        name: String,
        message: String,
    },
    /// Writing a layer dump failed.
    #[error("dumping layer '{layer}': {source}")]
    Dump {
        layer: String,
        source: Box<hailo_npz::NpyError>,
    },
}

/// Result alias of this crate.
pub type Result<T, E = ExecError> = std::result::Result<T, E>;
