//! `hailo-quantizer`: the core of the DFC's optimization stage (guide §4.3.1, §5.3).
//!
//! The quantization steps that are passes live in `hailo_passes::quant` (activation
//! splitting, calibration, ranges; the clipping algorithms, precision modes and precision
//! groups they share with this crate). Here: [`stats`] runs the executor over the calibration
//! set and collects per-layer statistics (with the values percentile clipping needs);
//! [`sensitivity`] the layer noise analysis behind automatic 4- and 16-bit choices; [`optimize`] turns statistics and
//! model-script settings into per-layer ranges and precisions and lowers the graph with
//! `hl-to-quant`; the executor (`hailo_executor::Executor`) runs the resulting integer graph and [`infer`] runs a
//! whole model through it; [`snr`] measures it and [`report`] builds the per-layer report.
//! [`calib`], [`script`] and [`flow`] make up `hailo optimize` (HAR in, quantized HAR out).

pub mod calib;
pub mod error;
pub mod flow;
pub mod infer;
pub mod optimize;
pub mod pipeline;
pub mod report;
pub mod script;
pub mod sensitivity;
pub mod snr;
pub mod stats;

pub use error::{QuantError, Result};
pub use infer::{infer, infer_with_dump};
pub use optimize::{lower, prepare, quantize, Precision, Prepared, QuantConfig};
