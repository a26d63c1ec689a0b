//! The optimization flow: split non-clamp activations, calibrate the float `hl` graph,
//! choose 4-bit layers by measured sensitivity, decide each layer's range, precision and
//! weight clipping, record them as `q_*` annotations ([`prepare`]), and lower with the
//! `hl-to-quant` conversion ([`lower`]).

use crate::error::{QuantError, Result};
use crate::stats::{Calibration, LayerStats};
use hailo_executor::dataset::CalibrationSet;
use hailo_ir::builtin::GRAPH;
use hailo_ir::pass::manager::RunFailure;
use hailo_ir::pass::{Instrumentation, OpPassManager, Resources};
use hailo_ir::{Attribute, Diagnostic, Location, Module, OpId};
use hailo_passes::quant::assign_precision::{W4_SNR, W8_SNR};
use hailo_passes::quant::calibrate::RANGE;
use hailo_passes::quant::clipping::WeightClipping;
use hailo_passes::quant::ShowProgress;
use ndarray::ArrayD;
use rustc_hash::FxHashMap;

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
    /// networks when `auto_4bit_ratio` is not given ([`compression_ratio`]); the guide's
    /// default is 1.
    pub compression_level: u8,
    /// Whether the script set `compression_level` (a default level reverted on a small
    /// network is not worth a warning).
    pub compression_level_set: bool,
    /// `model_optimization_flavor(optimization_level=l)`; `None`: the guide's default for the
    /// calibration size ([`crate::levels`]).
    pub optimization_level: Option<i64>,
    /// `post_quantization_optimization(bias_correction, policy=...)` without layers:
    /// `Some(enabled)`; `None`: the optimization level decides.
    pub bias_correction: Option<bool>,
    /// Per-layer bias correction policies (`layers=[...]`).
    pub bias_correction_layers: FxHashMap<String, bool>,
    /// `quantization_param(quantization_groups=n)`: weight scales per layer (default: one per
    /// output channel).
    pub quant_groups: FxHashMap<String, usize>,
    /// `pre_quantization_optimization(ew_add_fusing, policy=…)`: fuse residual adds into the
    /// convolution producing one operand before calibrating (the guide's default: enabled).
    pub ew_add_fusing: bool,
    /// `pre_quantization_optimization(equalization, policy=...)`, with the per-layer `policy`
    /// and `equalization_target` settings. Off unless a script enables it, although the guide
    /// enables it by default: the guide's default weights have one scale per layer
    /// (`quantization_groups=1`), which equalization exists for, while this compiler's default
    /// is one scale per output channel, where it measurably lowers the output SNR
    /// (`tests/equalization_models.rs`).
    pub equalization: bool,
    pub equalization_layers: FxHashMap<String, String>,
    pub equalization_targets: FxHashMap<String, String>,
    /// `pre_quantization_optimization(matmul_equalization, policy=...)`: the policy of matmul
    /// layers not named (`allowed`, the guide's default, runs it where it applies) and the
    /// per-layer policies.
    pub matmul_equalization: String,
    pub matmul_equalization_layers: FxHashMap<String, String>,
    /// `pre_quantization_optimization(zero_static_channels, policy=..., eps=...)` (the guide's
    /// default: enabled, eps 1e-7), with the per-layer policy.
    pub zero_static_channels: bool,
    pub zero_static_eps: f64,
    pub zero_static_layers: FxHashMap<String, String>,
    /// `pre_quantization_optimization(global_avgpool_reduction, layers=..., division_factors=[fh, fw])`.
    pub global_avgpool_reduction: FxHashMap<String, (i64, i64)>,
    /// `pre_quantization_optimization(se_optimization, method=tse, ...)`.
    pub se_optimization: Option<TseConfig>,
    /// `pre_quantization_optimization(dead_channels_removal, policy=...)` (the guide's default:
    /// disabled).
    pub dead_channels_removal: bool,
    /// `pre_quantization_optimization(dead_layers_removal, policy=...)` (the guide's default:
    /// enabled).
    pub dead_layers_removal: bool,
}

/// The settings of tiled squeeze-and-excite (the options of `hl-se-optimization`).
#[derive(Clone, Debug, PartialEq)]
pub struct TseConfig {
    /// `sequential` or `custom`.
    pub mode: String,
    pub count: i64,
    /// The global average pools of the blocks (custom mode).
    pub layers: Vec<String>,
    pub tile_height: Vec<i64>,
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
            compression_level: 1,
            compression_level_set: false,
            optimization_level: None,
            bias_correction: None,
            bias_correction_layers: FxHashMap::default(),
            quant_groups: FxHashMap::default(),
            ew_add_fusing: true,
            equalization: false,
            equalization_layers: FxHashMap::default(),
            equalization_targets: FxHashMap::default(),
            matmul_equalization: "allowed".to_owned(),
            matmul_equalization_layers: FxHashMap::default(),
            zero_static_channels: true,
            zero_static_eps: 1e-7,
            zero_static_layers: FxHashMap::default(),
            global_avgpool_reduction: FxHashMap::default(),
            se_optimization: None,
            dead_channels_removal: false,
            dead_layers_removal: true,
        }
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
/// stays float and runnable by the executor): the graph passes of
/// [`crate::pipeline::graph_passes`] (activation splitting, calibration, activation clipping,
/// ranges, precision with the automatic 4/16-bit choice, weight clipping).
pub fn prepare(m: &mut Module, data: &[ArrayD<f32>], cfg: &QuantConfig) -> Result<Prepared> {
    let text = format!(
        "builtin.module(builtin.graph({}))",
        crate::pipeline::graph_passes(cfg).join(",")
    );
    let mut inst = Instrumentation::default();
    let resources = resources(data, cfg.calibration.quiet);
    run_pipeline(m, &text, &resources, &mut inst).map_err(|f| {
        let text: Vec<String> = f.diagnostics.iter().map(|d| d.message.clone()).collect();
        QuantError::Calibration(text.join("; "))
    })?;
    let warnings = inst.diagnostics.into_iter().map(|d| d.message).collect();
    read_prepared(m, warnings)
}

/// What the quantization passes give the driver: the calibration set, and progress bars
/// unless `quiet`.
pub fn resources(data: &[ArrayD<f32>], quiet: bool) -> Resources {
    let mut resources = Resources::new();
    resources.insert(CalibrationSet(data.to_vec()));
    if !quiet {
        resources.insert(ShowProgress);
    }
    resources
}

/// Runs the pipeline `text` on `m` with `resources`, instrumented by `inst`; returns the pass
/// manager (for its timing and statistics reports).
pub fn run_pipeline(
    m: &mut Module,
    text: &str,
    resources: &Resources,
    inst: &mut Instrumentation,
) -> std::result::Result<OpPassManager, RunFailure> {
    let mut pm = OpPassManager::parse(text, &hailo_passes::registry()).map_err(|e| RunFailure {
        pass: String::new(),
        diagnostics: vec![Diagnostic::error(
            Location::Unknown,
            format!("invalid pass pipeline '{text}': {}", e.message),
        )],
    })?;
    let top = m.top();
    pm.run_with(m, &crate::infer::context(), top, inst, resources)?;
    Ok(pm)
}

/// What the quantization passes measured and decided, read back from the annotated graph of
/// `m`; the measurements (`calib.range`, `sensitivity.*`) are removed so the archive holds only
/// the `q_*` decisions. `warnings` are the passes' warnings.
pub fn read_prepared(m: &mut Module, warnings: Vec<String>) -> Result<Prepared> {
    let graph = first_graph(m)?;
    let (auto_16bit, sensitivity_16bit) = take_auto_choice(m, graph, W8_SNR, 16);
    let (auto_4bit, sensitivity) = take_auto_choice(m, graph, W4_SNR, 4);
    Ok(Prepared {
        stats: take_calibration_ranges(m, graph),
        auto_4bit,
        sensitivity,
        auto_16bit,
        sensitivity_16bit,
        notes: warnings,
    })
}

/// The layers the automatic choice measured (`attr` holds their SNR) in the order it took
/// them (4-bit: highest SNR first; 16-bit: lowest first; then by name), with the chosen ones
/// (now at `bits`-bit weights); removes `attr`, so the archive holds only the decisions.
fn take_auto_choice(
    m: &mut Module,
    graph: OpId,
    attr: &str,
    bits: i64,
) -> (Vec<String>, Vec<(String, f64)>) {
    let mut measured = Vec::new();
    for op in m.walk(graph) {
        let Some(snr) = m.remove_attr(op, attr).and_then(|a| a.as_f64()) else {
            continue;
        };
        let chosen = m.attr(op, "q_wbits").and_then(Attribute::as_i64) == Some(bits);
        measured.push((layer_of(m, op).unwrap_or_default(), snr, chosen));
    }
    measured.sort_by(|a, b| {
        let by_snr = if bits == 4 {
            b.1.total_cmp(&a.1)
        } else {
            a.1.total_cmp(&b.1)
        };
        by_snr.then_with(|| a.0.cmp(&b.0))
    });
    let chosen = measured
        .iter()
        .filter(|x| x.2)
        .map(|x| x.0.clone())
        .collect();
    (
        chosen,
        measured.into_iter().map(|(l, s, _)| (l, s)).collect(),
    )
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
