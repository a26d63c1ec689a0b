//! `hailo-passes`: one module per pass, and the explicit registry.
//!
//! Generic passes (`canonicalize`, `cse`, `dce`, `print-op-stats`) work on any
//! dialect; `test-*` passes exist to exercise the pass manager in lit tests.
//! Adding a pass: one file here, one line in [`registry`], one lit test.

pub mod conversion;
pub mod generic;
pub mod hl;
pub mod parse;
pub mod phys;
pub mod pipelines;
pub mod quant;
pub mod registry;
pub mod test;

pub use registry::registry;
