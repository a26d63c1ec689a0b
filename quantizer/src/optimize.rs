//! The optimization flow: calibrate the float `hl` graph, decide each layer's range,
//! precision and weight clipping, record them as `q_*` annotations, and lower with the
//! `hl-to-quant` conversion.

use crate::clip::{threshold, WeightClipping};
use crate::error::{QuantError, Result};
use crate::stats::{collect, percentile_range, Calibration};
use hailo_dialect_quant::Storage;
use hailo_interp::Interpreter;
use hailo_ir::builtin::GRAPH;
use hailo_ir::{Attribute, Module, OpId};
use ndarray::ArrayD;
use rustc_hash::FxHashMap;

/// `quantization_param(precision_mode=...)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    A8W8,
    A8W4,
    A16W16,
    A16W8,
}

impl Precision {
    pub fn parse(s: &str) -> Option<Precision> {
        Some(match s {
            "a8_w8" => Precision::A8W8,
            "a8_w4" => Precision::A8W4,
            "a16_w16" => Precision::A16W16,
            "a16_w8" => Precision::A16W8,
            _ => return None,
        })
    }
    /// (activation bits, weight bits).
    pub fn bits(self) -> (i64, i64) {
        match self {
            Precision::A8W8 => (8, 8),
            Precision::A8W4 => (8, 4),
            Precision::A16W16 => (16, 16),
            Precision::A16W8 => (16, 8),
        }
    }
}

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
    pub weight_clipping: WeightClipping,
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
        }
    }
}

fn first_graph(m: &Module) -> Result<OpId> {
    m.walk(m.top())
        .into_iter()
        .find(|&o| m.op(o).name_str() == GRAPH)
        .ok_or_else(|| QuantError::Convert("the module has no builtin.graph".into()))
}

fn layer_of(m: &Module, op: OpId) -> Option<String> {
    m.attr(op, "layer")
        .and_then(Attribute::as_str)
        .map(str::to_owned)
}

/// Calibrates `m` on `data` and lowers it in place to the `q` dialect.
pub fn quantize(m: &mut Module, data: &[ArrayD<f32>], cfg: &QuantConfig) -> Result<()> {
    let graph = first_graph(m)?;
    let mut cal = cfg.calibration.clone();
    cal.keep_values
        .extend(cfg.activation_percentile.keys().cloned());
    let interp = Interpreter::new(m, graph)?;
    let stats = collect(&interp, data, &cal)?;
    annotate(m, graph, &stats, cfg)?;
    hailo_passes::conversion::hl_to_quant::convert_graph(m, graph)
        .map_err(|(_, e)| QuantError::Convert(e))
}

const WEIGHTED: [&str; 3] = ["hl.conv2d", "hl.depthwise_conv2d", "hl.dense"];
/// Ops whose result keeps its input's codes (one precision group, quantization.md §9).
const SAME_TYPE: [&str; 4] = ["hl.maxpool", "hl.global_maxpool", "hl.reshape", "hl.concat"];

/// Writes the `q_*` annotations of every layer.
pub fn annotate(
    m: &mut Module,
    graph: OpId,
    stats: &FxHashMap<String, crate::stats::LayerStats>,
    cfg: &QuantConfig,
) -> Result<()> {
    let ops: Vec<OpId> = m
        .walk(graph)
        .into_iter()
        .filter(|&o| m.op(o).name_str().starts_with("hl.") && m.op(o).name_str() != "hl.const")
        .collect();
    let mut ranges: FxHashMap<OpId, (f64, f64)> = FxHashMap::default();
    for &op in &ops {
        let Some(layer) = layer_of(m, op) else {
            continue;
        };
        let Some(s) = stats.get(&layer) else { continue };
        let mut r = (f64::from(s.min), f64::from(s.max));
        if let Some(&(lo, hi)) = cfg.activation_percentile.get(&layer) {
            r = percentile_range(&s.values, lo, hi).unwrap_or(r);
        }
        if let Some(&fr) = cfg.force_range_out.get(&layer) {
            r = fr;
        }
        ranges.insert(op, r);
    }
    // Precision groups: a concat's inputs share its range and bits, so it moves codes.
    let mut bits: FxHashMap<OpId, i64> = FxHashMap::default();
    for &op in &ops {
        let layer = layer_of(m, op).unwrap_or_default();
        let p = cfg
            .precision
            .get(&layer)
            .copied()
            .unwrap_or(cfg.default_precision);
        bits.insert(op, p.bits().0);
    }
    for &op in ops.iter().rev() {
        if m.op(op).name_str() != "hl.concat" {
            continue;
        }
        let producers: Vec<OpId> = m
            .op(op)
            .operands()
            .iter()
            .filter_map(|&v| m.defining_op(v))
            .collect();
        let mut r = ranges.get(&op).copied().unwrap_or((0.0, 0.0));
        let mut b = bits[&op];
        for p in &producers {
            if let Some(pr) = ranges.get(p) {
                r = (r.0.min(pr.0), r.1.max(pr.1));
            }
            b = b.max(*bits.get(p).unwrap_or(&8));
        }
        for o in producers.iter().chain(std::iter::once(&op)) {
            ranges.insert(*o, r);
            bits.insert(*o, b);
        }
    }
    for &op in &ops {
        let name = m.op(op).name_str();
        if SAME_TYPE.contains(&name) && name != "hl.concat" {
            continue;
        }
        if let Some(&(lo, hi)) = ranges.get(&op) {
            m.set_attr(
                op,
                "q_range",
                Attribute::Array(vec![Attribute::f64(lo), Attribute::f64(hi)]),
            );
        }
        m.set_attr(op, "q_bits", Attribute::i64(bits[&op]));
        if !WEIGHTED.contains(&name) {
            continue;
        }
        let layer = layer_of(m, op).unwrap_or_default();
        let p = cfg
            .precision
            .get(&layer)
            .copied()
            .unwrap_or(cfg.default_precision);
        let wbits = p.bits().1;
        m.set_attr(op, "q_wbits", Attribute::i64(wbits));
        if let Some(b) = cfg.bias_mode.get(&layer) {
            m.set_attr(op, "q_bias_mode", Attribute::str(b));
        }
        let storage = Storage::signed_of(wbits as u32).unwrap_or(Storage::I8);
        let kernel = m.op(op).operands()[1];
        let w = kernel_values(m, kernel)?;
        let cout = *m
            .value_type(kernel)
            .shape()
            .and_then(|s| s.last())
            .unwrap_or(&1) as usize;
        let t: Vec<Attribute> = (0..cout)
            .map(|c| {
                let ch: Vec<f64> = w.iter().skip(c).step_by(cout).copied().collect();
                Attribute::f64(threshold(&ch, storage, &cfg.weight_clipping))
            })
            .collect();
        m.set_attr(op, "q_wclip", Attribute::Array(t));
    }
    Ok(())
}

/// The float values of a kernel defined by `hl.const`.
pub fn kernel_values(m: &Module, v: hailo_ir::ValueId) -> Result<Vec<f64>> {
    let def = m
        .defining_op(v)
        .ok_or_else(|| QuantError::Convert("kernel is not a constant".into()))?;
    match m.attr(def, "value") {
        Some(Attribute::Dense(d)) => Ok(d.to_f64_vec()),
        Some(Attribute::DenseResource { key, .. }) => m
            .resources
            .get(key.as_str())
            .map(|b| b.to_f32().into_iter().map(f64::from).collect())
            .ok_or_else(|| QuantError::Convert(format!("missing weight blob '{}'", key.as_str()))),
        _ => Err(QuantError::Convert(
            "kernel constant has no dense value".into(),
        )),
    }
}
