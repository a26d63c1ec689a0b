//! TFLite frontend reader: `.tflite` flatbuffer to a validated, framework-neutral graph.
//!
//! [`read_tflite`] decodes a float32/float16 TFLite model (subgraph 0) into a
//! [`TfliteGraph`]: tensors with decoded constants, operators with typed
//! options, graph inputs and outputs. [`to_hl`] converts it to the `hl`
//! dialect. Malformed files produce a
//! [`TfliteError`] naming the table/operator/tensor and byte offset; the
//! reader never panics on bad input (see the fuzz target in `fuzz/`).
//!
//! Layers: [`flatbuf`] (generic wire format) -> [`schema`] (TFLite tables)
//! -> `lower`/`ops`/`tensors` (validation and mapping) -> [`graph`].

pub mod error;
pub mod flatbuf;
pub mod graph;
mod lower;
mod ops;
pub mod schema;
mod tensors;
pub mod to_hl;

use std::path::Path;

pub use error::{Result, TfliteError};
pub use graph::{
    Activation, BinaryOp, ConvParams, DType, Op, OpKind, Padding, PoolParams, ReduceOp,
    ResizeMethod, Tensor, TensorData, TensorId, TfliteGraph, UnaryOp, UnsupportedOp,
};

/// Reads a TFLite model from memory.
pub fn read_tflite(bytes: &[u8]) -> Result<TfliteGraph> {
    let model = schema::Model::parse(bytes)?;
    lower::lower(&model)
}

/// Reads a TFLite model file.
pub fn read_tflite_file(path: &Path) -> Result<TfliteGraph> {
    let bytes = std::fs::read(path).map_err(|source| TfliteError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_tflite(&bytes)
}
