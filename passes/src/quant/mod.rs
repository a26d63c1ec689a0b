//! Quantization passes on `hl` graphs: the data-driven steps of the optimization stage. They
//! run the graph on the driver's calibration set through the executor and record what they
//! decide on the ops, so every decision can be read (and lit-tested) in the IR.

pub mod calibrate;
pub mod groups;
pub mod ranges;
pub mod split_activations;
