//! The quantization settings of a model script as a pass pipeline: what `hailo optimize
//! --dump-pass-pipeline` prints and `hailo-opt --calib-set … --pass-pipeline=…` replays on the
//! fp-optimized graph to the same quantized IR (`tests/pass_pipeline.rs` checks the equality).
//!
//! Every setting of [`QuantConfig`] is an option of one `quant-*` pass; the automatic 4- and
//! 16-bit choices (`auto_4bit_weights_ratio`, `auto_16bit_weights_ratio`, `compression_level`)
//! are options of `quant-precision`, which measures sensitivity on the calibration set. The
//! optimization level's post-quantization algorithms (bias correction) follow the decisions.

use crate::optimize::QuantConfig;
use hailo_passes::quant::clipping::WeightClipping;
use hailo_passes::quant::precision::Precision;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// `aX_wY` or `aX_wY_aZ`.
fn mode(p: Precision) -> String {
    match p.input {
        Some(i) => format!("a{i}_w{}_a{}", p.weights, p.output),
        None => format!("a{}_w{}", p.output, p.weights),
    }
}

fn clipping(c: &WeightClipping) -> String {
    match c {
        WeightClipping::MinMax => "min-max".into(),
        WeightClipping::Manual(v) => format!("manual:{v:?}"),
        WeightClipping::Percentile(p) => format!("percentile:{p:?}"),
        WeightClipping::Mmse => "mmse".into(),
        WeightClipping::MmseIf4b => "mmse-if-4b".into(),
    }
}

/// `[layer:value,...]` sorted by layer, so the text is deterministic.
fn list<'a, V: 'a>(
    entries: impl IntoIterator<Item = (&'a String, V)>,
    text: impl Fn(V) -> String,
) -> String {
    let sorted: BTreeMap<&String, String> =
        entries.into_iter().map(|(l, v)| (l, text(v))).collect();
    let items: Vec<String> = sorted.iter().map(|(l, v)| format!("{l}:{v}")).collect();
    format!("[{}]", items.join(","))
}

/// The pipeline that quantizes the fp-optimized graph as `cfg` says.
pub fn of(cfg: &QuantConfig) -> String {
    with_modifications(&[], Some(cfg))
}

/// The pipeline of `hailo optimize`: the model modification passes `modifications` (as
/// [`hailo_alls::modifications::apply_model_modifications`] resolved them), then, with a
/// `cfg`, the quantization of the graph and `hl-to-quant`.
pub fn with_modifications(modifications: &[String], cfg: Option<&QuantConfig>) -> String {
    let mut elements = modifications.to_vec();
    if let Some(cfg) = cfg {
        elements.push(format!("builtin.graph({})", graph_passes(cfg).join(",")));
        elements.push("hl-to-quant".into());
    }
    format!("builtin.module({})", elements.join(","))
}

/// The passes on the graph that calibrate it and record every decision as `q_*` annotations
/// (everything but the lowering), after the full-precision optimizations.
pub fn graph_passes(cfg: &QuantConfig) -> Vec<String> {
    let mut passes = full_precision_passes(cfg);
    passes.extend(measure_passes(cfg));
    passes.extend(decide_passes(cfg));
    passes.extend(post_quantization_passes(cfg));
    passes
}

/// `policy` for a global switch.
fn policy(enabled: bool) -> &'static str {
    if enabled {
        "enabled"
    } else {
        "disabled"
    }
}

/// The full-precision optimizations of `pre_quantization_optimization`, in the guide's order
/// (zero-static channels, then the structural ones: dead channels and dead layers removal,
/// tiled squeeze-and-excite; equalization, global average pool reduction, matmul
/// equalization), then `ew_add_fusing`. Dead channels and layers are found after zero-static
/// channels, which gives every channel that is 0 on the calibration set a null kernel and
/// bias. (The guide runs matmul equalization after `ew_add_fusing`; the order does not matter,
/// since a layer with a fused add is never a matmul operand's producer.) A pass that is
/// switched off globally still runs when a layer enables it.
fn full_precision_passes(cfg: &QuantConfig) -> Vec<String> {
    let (samples, batch) = (cfg.calibration.calibset_size, cfg.calibration.batch_size);
    let enables = |m: &FxHashMap<String, String>| m.values().any(|p| p == "enabled");
    let mut passes = Vec::new();
    if cfg.zero_static_channels || enables(&cfg.zero_static_layers) {
        passes.push(format!(
            "quant-zero-static-channels{{samples={samples} batch-size={batch} eps={:?} policy={} layers={}}}",
            cfg.zero_static_eps,
            policy(cfg.zero_static_channels),
            list(&cfg.zero_static_layers, |p| p.clone()),
        ));
    }
    if cfg.dead_channels_removal {
        passes.push("hl-dead-channels-removal".to_owned());
    }
    if cfg.dead_layers_removal {
        passes.push("hl-dead-layers-removal".to_owned());
    }
    if let Some(t) = &cfg.se_optimization {
        let heights: Vec<String> = t.tile_height.iter().map(i64::to_string).collect();
        passes.push(format!(
            "hl-se-optimization{{mode={} count={} layers=[{}] tile-height=[{}]}}",
            t.mode,
            t.count,
            t.layers.join(","),
            heights.join(","),
        ));
    }
    if cfg.equalization || enables(&cfg.equalization_layers) {
        passes.push(format!(
            "quant-equalize{{samples={samples} batch-size={batch} policy={} layers={} targets={}}}",
            policy(cfg.equalization),
            list(&cfg.equalization_layers, |p| p.clone()),
            list(&cfg.equalization_targets, |t| t.clone()),
        ));
    }
    if !cfg.global_avgpool_reduction.is_empty() {
        passes.push(format!(
            "hl-global-avgpool-reduction{{layers={}}}",
            list(&cfg.global_avgpool_reduction, |(h, w)| format!("{h}:{w}")),
        ));
    }
    if cfg.matmul_equalization != "disabled" || enables(&cfg.matmul_equalization_layers) {
        passes.push(format!(
            "quant-matmul-equalize{{samples={samples} batch-size={batch} policy={} layers={}}}",
            cfg.matmul_equalization,
            list(&cfg.matmul_equalization_layers, |p| p.clone()),
        ));
    }
    if cfg.ew_add_fusing {
        // Last: the statistics of the passes above are of unfused layers. Layers of different
        // precision modes are not fused.
        passes.push(format!(
            "hl-fuse-conv-add{{default={} layers={}}}",
            mode(cfg.default_precision),
            list(&cfg.precision, |p| mode(*p))
        ));
    }
    passes
}

/// The post-quantization algorithms of the optimization level ([`crate::levels`]) as the
/// script's per-algorithm policies adjust them: bias correction on the calibration set.
fn post_quantization_passes(cfg: &QuantConfig) -> Vec<String> {
    let by_level = crate::levels::algorithms(crate::levels::level_of(cfg))
        .contains(&crate::levels::Algorithm::BiasCorrection);
    let enabled = cfg.bias_correction.unwrap_or(by_level);
    if !enabled && !cfg.bias_correction_layers.values().any(|&e| e) {
        return Vec::new();
    }
    let policy = |e: bool| if e { "enabled" } else { "disabled" }.to_owned();
    vec![format!(
        "quant-bias-correction{{samples={} default={} layers={}}}",
        cfg.calibration.calibset_size,
        policy(enabled),
        list(&cfg.bias_correction_layers, |e| policy(*e)),
    )]
}

/// The passes that measure: activation splitting, calibration and activation clipping.
fn measure_passes(cfg: &QuantConfig) -> Vec<String> {
    let (samples, batch) = (cfg.calibration.calibset_size, cfg.calibration.batch_size);
    let mut clips: BTreeMap<&String, String> = cfg
        .activation_percentile
        .iter()
        .map(|(l, (lo, hi))| (l, format!("percentile:{lo:?}:{hi:?}")))
        .collect();
    // force_range_out wins over percentile clipping.
    clips.extend(
        cfg.force_range_out
            .iter()
            .map(|(l, (lo, hi))| (l, format!("manual:{lo:?}:{hi:?}"))),
    );
    let mut passes = vec![
        "quant-split-activations".to_owned(),
        format!("quant-calibrate{{samples={samples} batch-size={batch}}}"),
    ];
    if !clips.is_empty() {
        passes.push(format!(
            "quant-activation-clipping{{layers={} samples={samples} batch-size={batch}}}",
            list(clips, |v| v)
        ));
    }
    passes
}

/// Calibration samples the automatic 4/16-bit choice measures each layer's sensitivity on:
/// one batch, at least 8.
fn sensitivity_samples(cfg: &QuantConfig) -> usize {
    let c = &cfg.calibration;
    c.calibset_size.min(c.batch_size.max(8))
}

/// The passes that decide: ranges, per-layer precision (and the automatic choice) and weight
/// clipping.
fn decide_passes(cfg: &QuantConfig) -> Vec<String> {
    let auto =
        if cfg.auto_4bit_ratio > 0.0 || cfg.auto_16bit_ratio > 0.0 || cfg.compression_level > 0 {
            format!(
                " auto-4bit-ratio={:?} auto-16bit-ratio={:?} compression-level={}{} samples={}",
                cfg.auto_4bit_ratio,
                cfg.auto_16bit_ratio,
                cfg.compression_level,
                if cfg.compression_level_set {
                    ""
                } else {
                    " compression-default=true"
                },
                sensitivity_samples(cfg)
            )
        } else {
            String::new()
        };
    vec![
        "quant-ranges".into(),
        format!(
            "quant-precision{{default={} layers={} bias-modes={}{auto}}}",
            mode(cfg.default_precision),
            list(&cfg.precision, |p| mode(*p)),
            list(&cfg.bias_mode, |b| b.clone()),
        ),
        format!(
            "quant-weight-clipping{{mode={} layers={} groups={}}}",
            clipping(&cfg.weight_clipping),
            list(&cfg.weight_clipping_layers, clipping),
            list(&cfg.quant_groups, |n| n.to_string()),
        ),
    ]
}
