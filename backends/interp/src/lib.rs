//! Reference interpreter for `hl` graphs: evaluates models in f32 on the CPU, NHWC, batched,
//! as the DFC's `runner.infer` does in its native and fp-optimized contexts.
//!
//! [`Interpreter::new`] prepares a graph once: ops in block order (which is topological),
//! weights decoded from the module's blobs, kernel parameters decoded from attributes, and
//! the last reader of every intermediate tensor, so [`Interpreter::run`] frees or reuses a
//! tensor's memory as soon as it is dead. [`QuantInterpreter`] runs `q` graphs (the quantized
//! context) on the integer kernels of [`qkernels`]. [`compare`] checks outputs against
//! references. [`kernels`] holds the IR-independent numeric kernels the interpreter
//! dispatches to; [`dump`] writes per-layer outputs for debugging.
//!
//! NaN policy: NaNs propagate as IEEE arithmetic makes them (max pooling and `ew_max` /
//! `ew_min` follow the kernels' documented rules); nothing is replaced or rejected. Callers
//! such as `hailo infer` warn when an output contains NaN.

mod attrs;
pub mod compare;
mod consts;
pub mod dataset;
pub mod dump;
mod error;
mod eval;
pub mod kernels;
mod ops;
mod plan;
pub mod qkernels;
pub mod quant;

pub use error::{InterpError, Result};
pub use ops::SUPPORTED_OPS;
pub use plan::{GraphRef, Interpreter, LayerOutput, TensorInfo};
pub use quant::QuantInterpreter;

/// The emulation context, as the DFC's inference contexts (guide §4.3.2).
///
/// `Native` evaluates the graph as parsed; `FpOptimized` evaluates it after the float model
/// modifications of the model script (same arithmetic: the modifications are graph
/// rewrites applied before the interpreter sees the module). A quantized (integer) context
/// will be another variant evaluating the quantized graph's ops on integer tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Context {
    Native,
    FpOptimized,
}

impl Context {
    /// The CLI spelling (`native`, `fp_optimized`).
    pub fn name(self) -> &'static str {
        match self {
            Context::Native => "native",
            Context::FpOptimized => "fp_optimized",
        }
    }

    /// Parses the CLI spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "native" => Some(Context::Native),
            "fp_optimized" => Some(Context::FpOptimized),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
