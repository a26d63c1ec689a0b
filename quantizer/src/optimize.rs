//! The optimization flow: split non-clamp activations, calibrate the float `hl` graph,
//! choose 4-bit layers by measured sensitivity, decide each layer's range, precision and
//! weight clipping, record them as `q_*` annotations ([`prepare`]), and lower with the
//! `hl-to-quant` conversion ([`lower`]).

use crate::error::{QuantError, Result};
use crate::sensitivity::{choose_16bit, choose_4bit, weight_count, weighted_layers};
use crate::stats::{Calibration, LayerStats};
use hailo_executor::dataset::CalibrationSet;
use hailo_ir::builtin::GRAPH;
use hailo_ir::pass::{Instrumentation, OpPassManager, Resources};
use hailo_ir::{Attribute, Module, OpId};
use hailo_passes::quant::calibrate::RANGE;
use hailo_passes::quant::clipping::WeightClipping;
use hailo_passes::quant::precision::compression_ratio;
use hailo_passes::quant::ShowProgress;
use ndarray::ArrayD;
use rustc_hash::FxHashMap;
use std::time::Instant;

pub use hailo_passes::quant::precision::Precision;

/// Everything the model script can set for the quantizer.
#[derive(Clone, Debug)]
pub struct QuantConfig {
    pub calibration: Calibration,
    /// Precision of layers not listed in `precision` (a8_w8; a16_w16 for `auto_16bit_weights_ratio=1`).
    pub default_precision: Precision,
    pub precision: FxHashMap<String, Precision>,
    pub bias_mode: FxHashMap<String, String>,
    pub force_range_out: FxHashMap<String, (f64, f64)>,
    /// `activation_clipping(mode=percentile, clipping_values=[lo, hi])` per layer.
    pub activation_percentile: FxHashMap<String, (f64, f64)>,
    /// Weight clipping of layers not listed in `weight_clipping_layers`.
    pub weight_clipping: WeightClipping,
    pub weight_clipping_layers: FxHashMap<String, WeightClipping>,
    /// `compression_params(auto_4bit_weights_ratio=r)`: at least this fraction of all weights
    /// goes to 4 bits, least sensitive layers first.
    pub auto_4bit_ratio: f64,
    /// `compression_params(auto_16bit_weights_ratio=r)` with 0 < r < 1: at least this
    /// fraction of all weights goes to a16_w16, most sensitive layers first (r = 1 sets
    /// `default_precision` instead).
    pub auto_16bit_ratio: f64,
    /// `model_optimization_flavor(compression_level=l)`: the 4-bit ratio 0.2·l on large
    /// networks when `auto_4bit_ratio` is not given ([`compression_ratio`]).
    pub compression_level: u8,
    /// `quantization_param(quantization_groups=n)`: weight scales per layer (default: one per
    /// output channel).
    pub quant_groups: FxHashMap<String, usize>,
}

impl Default for QuantConfig {
    fn default() -> Self {
        QuantConfig {
            calibration: Calibration::default(),
            default_precision: Precision::A8W8,
            precision: FxHashMap::default(),
            bias_mode: FxHashMap::default(),
            force_range_out: FxHashMap::default(),
            activation_percentile: FxHashMap::default(),
            weight_clipping: WeightClipping::MmseIf4b,
            weight_clipping_layers: FxHashMap::default(),
            auto_4bit_ratio: 0.0,
            auto_16bit_ratio: 0.0,
            compression_level: 0,
            quant_groups: FxHashMap::default(),
        }
    }
}

impl QuantConfig {
    fn precision_of(&self, layer: &str) -> Precision {
        self.precision
            .get(layer)
            .copied()
            .unwrap_or(self.default_precision)
    }
}

/// What [`prepare`] measured and decided.
#[derive(Clone, Debug, Default)]
pub struct Prepared {
    pub stats: FxHashMap<String, LayerStats>,
    /// Layers `auto_4bit_weights_ratio` put at 4 bits, with every eligible layer's
    /// 4-bit noise-analysis SNR (dB).
    pub auto_4bit: Vec<String>,
    pub sensitivity: Vec<(String, f64)>,
    /// Layers `auto_16bit_weights_ratio` put at a16_w16, with every eligible layer's 8-bit
    /// noise-analysis SNR (dB), most sensitive first.
    pub auto_16bit: Vec<String>,
    pub sensitivity_16bit: Vec<(String, f64)>,
    /// Settings read but not applied, with the reason (e.g. compression_level on a small net).
    pub notes: Vec<String>,
}

/// The first `builtin.graph` of `m`.
pub fn first_graph(m: &Module) -> Result<OpId> {
    m.walk(m.top())
        .into_iter()
        .find(|&o| m.op(o).name_str() == GRAPH)
        .ok_or_else(|| QuantError::Convert("the module has no builtin.graph".into()))
}

pub(crate) fn layer_of(m: &Module, op: OpId) -> Option<String> {
    m.attr(op, "layer")
        .and_then(Attribute::as_str)
        .map(str::to_owned)
}

/// Calibrates `m` on `data` and annotates its `hl` ops with `q_*` decisions (the module
/// stays float and runnable by the executor).
pub fn prepare(m: &mut Module, data: &[ArrayD<f32>], cfg: &QuantConfig) -> Result<Prepared> {
    prepare_timed(m, data, cfg, false).map(|(p, _)| p)
}

/// [`prepare`] as the pass manager runs it: the measuring passes (activation splitting,
/// calibration, activation clipping), then the automatic 4/16-bit choice (not a pass yet),
/// then the deciding passes (ranges, precision, weight clipping) with the choice in their
/// options. With `timing`, also the pass timing trees of both runs.
pub fn prepare_timed(
    m: &mut Module,
    data: &[ArrayD<f32>],
    cfg: &QuantConfig,
    timing: bool,
) -> Result<(Prepared, Option<String>)> {
    let graph = first_graph(m)?;
    let mut times = timing.then(String::new);
    let cal = &cfg.calibration;
    let run = |m: &mut Module, passes: Vec<String>, times: &mut Option<String>| {
        run_graph_passes(m, &passes, data, cal.quiet, times)
    };
    run(m, crate::pipeline::measure_passes(cfg), &mut times)?;
    let mut cfg = cfg.clone();
    let mut prepared = Prepared::default();
    let n = cal.calibset_size.min(cal.batch_size.max(8));
    let sub: Vec<ArrayD<f32>> = data
        .iter()
        .map(|d| d.slice_axis(ndarray::Axis(0), (0..n).into()).to_owned())
        .collect();
    let eligible = |m: &Module, cfg: &QuantConfig| -> Vec<(OpId, String)> {
        weighted_layers(m, graph)
            .into_iter()
            .filter(|(_, l)| !cfg.precision.contains_key(l))
            .collect()
    };
    if cfg.auto_16bit_ratio > 0.0 && cfg.auto_16bit_ratio < 1.0 {
        let e = eligible(m, &cfg);
        let choice = choose_16bit(m, graph, &e, &sub, cfg.auto_16bit_ratio)?;
        for l in &choice.chosen {
            cfg.precision.insert(l.clone(), Precision::A16W16);
        }
        prepared.auto_16bit = choice.chosen;
        prepared.sensitivity_16bit = choice.snr;
    }
    let mut ratio = cfg.auto_4bit_ratio;
    if ratio <= 0.0 && cfg.compression_level > 0 {
        let total = weighted_layers(m, graph)
            .iter()
            .map(|(o, _)| weight_count(m, *o))
            .sum();
        ratio = compression_ratio(cfg.compression_level, total).unwrap_or_else(|note| {
            prepared.notes.push(note);
            0.0
        });
    }
    if ratio > 0.0 {
        let e = eligible(m, &cfg);
        let choice = choose_4bit(m, graph, &e, &sub, ratio)?;
        for l in &choice.chosen {
            let a = cfg.precision_of(l);
            let p = if a.bits().0 == 16 {
                Precision::A16W8
            } else {
                Precision::A8W4
            };
            cfg.precision.insert(l.clone(), p);
        }
        prepared.auto_4bit = choice.chosen;
        prepared.sensitivity = choice.snr;
    }
    run(m, crate::pipeline::decide_passes(&cfg), &mut times)?;
    prepared.stats = take_calibration_ranges(m, graph);
    Ok((prepared, times))
}

/// Runs `passes` on the graph of `m` through the pass manager with `data` as the calibration
/// set; appends the timing tree to `times` when it is `Some`.
fn run_graph_passes(
    m: &mut Module,
    passes: &[String],
    data: &[ArrayD<f32>],
    quiet: bool,
    times: &mut Option<String>,
) -> Result<()> {
    let text = format!("builtin.module(builtin.graph({}))", passes.join(","));
    let mut pm = OpPassManager::parse(&text, &hailo_passes::registry())
        .map_err(|e| QuantError::Convert(format!("invalid pipeline '{text}': {e:?}")))?;
    let mut resources = Resources::new();
    resources.insert(CalibrationSet(data.to_vec()));
    if !quiet {
        resources.insert(ShowProgress);
    }
    let mut inst = Instrumentation::default();
    let top = m.top();
    let start = Instant::now();
    pm.run_with(m, &crate::infer::context(), top, &mut inst, &resources)
        .map_err(|failure| {
            let text: Vec<String> = failure
                .diagnostics
                .iter()
                .map(|d| d.message.clone())
                .collect();
            QuantError::Calibration(text.join("; "))
        })?;
    if let Some(t) = times {
        t.push_str(&pm.timing_report(start.elapsed(), &[]));
    }
    Ok(())
}

/// Each layer's calibration range (`calib.range`, one pair per result) as statistics for the
/// report, removed from the graph so the archive holds only the `q_*` decisions.
fn take_calibration_ranges(m: &mut Module, graph: OpId) -> FxHashMap<String, LayerStats> {
    let mut stats = FxHashMap::default();
    for op in m.walk(graph) {
        let Some(range) = m.remove_attr(op, RANGE) else {
            continue;
        };
        let (Some(layer), Some(v)) = (layer_of(m, op), range.as_f64_array()) else {
            continue;
        };
        let names: Vec<String> = match v.len() / 2 {
            1 => vec![layer],
            n => (0..n).map(|i| format!("{layer}_{i}")).collect(),
        };
        for (name, pair) in names.into_iter().zip(v.chunks_exact(2)) {
            let (min, max) = (pair[0] as f32, pair[1] as f32);
            stats.insert(name, LayerStats { min, max });
        }
    }
    stats
}

/// Lowers an annotated module in place to the `q` dialect.
pub fn lower(m: &mut Module) -> Result<()> {
    let graph = first_graph(m)?;
    hailo_passes::conversion::hl_to_quant::convert_graph(m, graph)
        .map_err(|(_, e)| QuantError::Convert(e))
}

/// [`prepare`] then [`lower`].
pub fn quantize(m: &mut Module, data: &[ArrayD<f32>], cfg: &QuantConfig) -> Result<Prepared> {
    let p = prepare(m, data, cfg)?;
    lower(m)?;
    Ok(p)
}
