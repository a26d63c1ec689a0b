//! The executor: runs `hl` graphs in f32 (the DFC's native and fp-optimized contexts) and
//! `q` graphs on integer codes (the quantized context), on the CPU, NHWC, batched.
//!
//! [`Executor::new`] prepares a graph once: ops in block order (which is topological),
//! each prepared through the evaluation interface (`evaluate`: float kernels of [`kernels`]
//! for `hl` ops, integer kernels of [`qkernels`] for `q` ops), weights decoded from the
//! module's blobs, and the last reader of every intermediate value, so [`Executor::run`]
//! frees or reuses a tensor's memory as soon as it is dead. Observers see every layer's
//! output ([`Executor::run_observed`]): calibration statistics, `--dump-layers` and
//! accuracy reports all use it. [`compare`] checks outputs against references; [`dump`]
//! writes per-layer outputs for debugging.
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
mod evaluate;
mod float;
mod integer;
pub mod kernels;
mod plan;
pub mod qkernels;
mod resume;
mod simd;
mod value;

pub use error::{ExecError, Result};
pub use plan::{graph_inputs, Executor, GraphRef, LayerOutput, Observer, TensorInfo};
pub use resume::{Recording, Resumed};

/// The emulation context, as the DFC's inference contexts (guide §4.3.2).
///
/// `Native` evaluates the graph as parsed; `FpOptimized` evaluates it after the float model
/// modifications of the model script (same arithmetic: the modifications are graph
/// rewrites applied before the executor sees the module). The quantized context is not a
/// variant: it is the same executor running the lowered `q` graph.
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
