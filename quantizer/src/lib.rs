//! `hailo-quantizer`: the core of the DFC's optimization stage (guide §4.3.1, §5.3).
//!
//! The quantization steps are passes in `hailo_passes::quant` (activation splitting,
//! calibration, activation clipping, ranges, precision with the automatic 4/16-bit choice by
//! layer noise analysis, weight clipping, bias correction). Here: [`levels`] picks the
//! algorithms of an optimization level, [`pipeline`] turns the model script's
//! settings into those passes; [`optimize`] runs them and lowers the graph with `hl-to-quant`;
//! the executor (`hailo_executor::Executor`) runs the resulting integer graph and [`infer`]
//! runs a whole model through it; [`report`] builds the per-layer report.
//! [`calib`], [`script`] and [`flow`] make up `hailo optimize` (HAR in, quantized HAR out).

pub mod calib;
pub mod error;
pub mod flow;
pub mod infer;
pub mod levels;
pub mod optimize;
pub mod pipeline;
pub mod report;
pub mod script;
pub mod stats;

pub use error::{QuantError, Result};
pub use infer::{infer, infer_with_dump};
pub use optimize::{lower, prepare, quantize, Precision, Prepared, QuantConfig};
