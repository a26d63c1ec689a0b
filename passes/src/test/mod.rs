//! Passes that exist only to test the pass infrastructure.
pub mod analysis;
pub mod calibration_activations;
pub mod fail;
pub mod graph_attr;
pub mod options;
