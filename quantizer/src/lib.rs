//! `hailo-quantizer`: the core of the DFC's optimization stage (guide §4.3.1, §5.3).
//!
//! [`stats`] runs the float interpreter over the calibration set and collects per-layer
//! statistics; [`clip`] holds the weight clipping algorithms; [`optimize`] turns statistics
//! and model-script settings into per-layer ranges and precisions and lowers the graph with
//! `hl-to-quant`; [`emulate`] executes the resulting integer graph; [`snr`] measures it.

pub mod clip;
pub mod emulate;
pub mod error;
pub mod optimize;
pub mod snr;
pub mod stats;

pub use emulate::QuantInterpreter;
pub use error::{QuantError, Result};
pub use optimize::{quantize, Precision, QuantConfig};
