//! Quantization passes on `hl` graphs: the data-driven steps of the optimization stage. They
//! run the graph on the driver's calibration set through the executor and record what they
//! decide on the ops, so every decision can be read (and lit-tested) in the IR.

pub mod activation_clipping;
pub mod assign_precision;
pub mod calibrate;
pub mod clipping;
pub mod groups;
pub mod precision;
pub mod ranges;
pub mod split_activations;
pub mod weight_clipping;

use hailo_ir::{Attribute, Module, OpId};
use rustc_hash::FxHashMap;

/// The `layer` name of `op` (empty when it has none).
pub fn layer_of(m: &Module, op: OpId) -> String {
    m.attr(op, "layer")
        .and_then(Attribute::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A per-layer option list (`layer:value` entries) as a map, each value parsed by `parse`.
fn per_layer<T>(
    entries: &[String],
    option: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<FxHashMap<String, T>, String> {
    entries
        .iter()
        .map(|e| {
            let (layer, value) = e
                .split_once(':')
                .ok_or_else(|| format!("'{option}' entry '{e}' is not layer:value"))?;
            Ok((layer.to_owned(), parse(value)?))
        })
        .collect()
}
