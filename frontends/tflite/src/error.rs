//! Errors of the TFLite reader.
//!
//! Every error names where the problem is (byte offset, table, operator index
//! and tensor name where known) and, when the user can act on it, what to do.

use std::path::PathBuf;

use thiserror::Error;

use crate::flatbuf::FlatbufferError;
use crate::graph::DType;

/// Result alias for the reader.
pub type Result<T, E = TfliteError> = std::result::Result<T, E>;

/// Everything that can go wrong while reading a TFLite model.
#[derive(Debug, Error)]
pub enum TfliteError {
    /// The model file could not be read.
    #[error("cannot read TFLite model {path}: {source}")]
    Io {
        /// File path.
        path: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
    /// The file is too short to hold a flatbuffer header.
    #[error("file is {len} bytes long, too short for a TFLite flatbuffer (needs at least 8 bytes); is it a .tflite file?")]
    TooShort {
        /// File length.
        len: usize,
    },
    /// The flatbuffer file identifier is not `TFL3`.
    #[error(
        "not a TFLite model: file identifier at byte offset 4 is {found:?}, expected \"TFL3\""
    )]
    NotTflite {
        /// The four identifier bytes, escaped.
        found: String,
    },
    /// The wire format is corrupt.
    #[error(transparent)]
    Flatbuffer(#[from] FlatbufferError),
    /// An index stored in the model points past the end of what it indexes.
    #[error("{what} at byte offset {offset}: index {index} is out of range (there are {count})")]
    IndexOutOfRange {
        /// What holds the index, e.g. `operator 3 (CONV_2D) input 1`.
        what: String,
        /// The bad index.
        index: i64,
        /// Number of valid entries.
        count: usize,
        /// Byte offset of the table holding the index.
        offset: usize,
    },
    /// An operator's `builtin_options` union holds the wrong table type.
    #[error("operator {op_index} ({op_name}) at byte offset {offset}: builtin_options has union type {found}, expected {expected} ({expected_name})")]
    WrongOptionsType {
        /// Operator index in subgraph 0.
        op_index: usize,
        /// Operator name.
        op_name: String,
        /// Union type code found.
        found: u8,
        /// Union type code expected.
        expected: u8,
        /// Options table expected.
        expected_name: &'static str,
        /// Byte offset of the operator table.
        offset: usize,
    },
    /// The model is quantized to integers, which Hailo cannot re-optimize.
    #[error("tensor '{tensor}' is quantized ({dtype:?} with scale/zero-point): this TFLite model is already quantized to {bits} bits. Hailo supports 32-bit/16-bit (float) TFLite models, since the Model Optimization stage uses the high precision weights to optimize the model for Hailo devices; models that are already quantized to 8-bit are not supported (DFC user guide §5.1.2). Convert the model again without post-training quantization (float32, or float16 weights).")]
    QuantizedModel {
        /// First quantized tensor found.
        tensor: String,
        /// Its type.
        dtype: DType,
        /// Bit width of that type.
        bits: u32,
    },
    /// A semantic violation of the TFLite schema.
    #[error("{context} at byte offset {offset}: {message}")]
    Invalid {
        /// Where: table, operator or tensor.
        context: String,
        /// Byte offset of the offending table.
        offset: usize,
        /// What is wrong.
        message: String,
    },
}

impl TfliteError {
    /// Shorthand for [`TfliteError::Invalid`].
    pub(crate) fn invalid(
        context: impl Into<String>,
        offset: usize,
        message: impl Into<String>,
    ) -> Self {
        Self::Invalid {
            context: context.into(),
            offset,
            message: message.into(),
        }
    }
}
