//! Quantization passes on `hl` graphs: the data-driven steps of the optimization stage. They
//! run the graph on the driver's calibration set through the executor and record what they
//! decide on the ops, so every decision can be read (and lit-tested) in the IR.

pub mod activation_clipping;
pub mod activations;
pub mod assign_precision;
pub mod bias_correction;
pub mod calibrate;
pub mod channel_stats;
pub mod clipping;
pub mod equalize;
pub mod groups;
pub mod lowered;
pub mod matmul_equalize;
pub mod noise_analysis;
pub mod precision;
pub mod ranges;
pub mod sensitivity;
pub mod snr;
pub mod split_activations;
pub mod weight_clipping;
pub mod zero_static_channels;

use hailo_ir::{Attribute, Module, OpId};
use indicatif::{ProgressBar, ProgressStyle};
use rustc_hash::FxHashMap;

/// A pass resource: data-driven passes show progress bars (drivers provide it unless
/// `--quiet`).
pub struct ShowProgress;

/// A progress bar over `len` samples labelled `what`, hidden unless the driver asked for bars.
pub fn progress(cx: &hailo_ir::pass::PassCx<'_>, what: &str, len: usize) -> ProgressBar {
    progress_in(cx, what, len, "samples")
}

/// A progress bar over `len` items counted in `unit` (`samples`, `layers`), labelled `what`,
/// hidden unless the driver asked for bars.
pub fn progress_in(
    cx: &hailo_ir::pass::PassCx<'_>,
    what: &str,
    len: usize,
    unit: &str,
) -> ProgressBar {
    if cx.resource::<ShowProgress>().is_none() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!("{what} {{bar:40}} {{pos}}/{{len}} {unit}"))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

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
