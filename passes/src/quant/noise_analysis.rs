//! `quant-noise-analysis`: layer noise analysis (quantization.md §9; the DFC's `hailo
//! analyze-noise` and its `layer_noise_analysis/snr`, `.../partial_snr`) on a graph carrying
//! the quantizer's `q_*` decisions.
//!
//! For every layer with a quantized output (`q_range`), on the first `samples` calibration
//! samples:
//! - `noise.snr`: 10·log10(Σy² / Σ(y − y_n)²) over all graph outputs, where y is the float
//!   model and y_n the float model with only layer n quantized: its kernel and bias on their
//!   grids (the codes `hl-to-quant` gives them, bias correction included) and its output
//!   rounded and clamped to its own grid. Only layer n and what reads it run again (the
//!   executor's resumed runs on a recording whose value of layer n is replaced).
//! - `noise.partial_snr`: the same ratio at the layer's own output, with every layer quantized
//!   (the integer emulation of the lowered graph).
//!
//! An exact result (no noise) has no attribute: the IR has no infinite numbers. Layers under
//! 10 dB are the ones to look at (the DFC profiler flags them); the `hailo analyze-noise`
//! report does the flagging.

use super::lowered::{dequantized_bias, dequantized_kernel, lowered_weighted};
use super::snr::snr_db;
use super::{layer_of, progress_in};
use crate::conversion::hl_to_quant::convert_graph;
use hailo_dialect_quant::scheme::{activation_type, quantize};
use hailo_dialect_quant::Storage;
use hailo_executor::dataset::CalibrationSet;
use hailo_executor::{Executor, GraphRef, Resumed};
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Blob, Module, OpId, Sym, ValueId};
use ndarray::{ArrayD, Axis};
use rustc_hash::{FxHashMap, FxHashSet};

hailo_ir::pass_options! {
    pub struct NoiseAnalysisOptions {
        /// Calibration samples the SNRs are measured on.
        samples: i64 = 16,
    }
}

/// Output SNR (dB) with only this layer quantized.
pub const SNR: &str = "noise.snr";
/// SNR (dB) at this layer's output with every layer quantized.
pub const PARTIAL_SNR: &str = "noise.partial_snr";

pub struct NoiseAnalysis(NoiseAnalysisOptions);

impl PassDef for NoiseAnalysis {
    const NAME: &'static str = "quant-noise-analysis";
    const SUMMARY: &'static str = "Measure each layer's quantization noise: output SNR with only \
         that layer quantized (noise.snr) and SNR at its own output (noise.partial_snr)";
    const DESCRIPTION: &'static str = "Runs on a graph with the q_* decisions. Needs the \
         calibration set (hailo-opt --calib-set FILE).";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = NoiseAnalysisOptions;

    fn new(o: NoiseAnalysisOptions) -> Self {
        NoiseAnalysis(o)
    }
    fn options(&self) -> &NoiseAnalysisOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let Some(set) = cx.resource::<CalibrationSet>() else {
            return Err(cx.fail_at(
                m,
                graph,
                "noise analysis measures on data; provide it (hailo-opt --calib-set FILE)",
            ));
        };
        let n = usize::try_from(self.0.samples.max(1)).unwrap_or(1);
        let data: Vec<ArrayD<f32>> = set
            .0
            .iter()
            .map(|d| {
                let n = n.min(d.shape()[0]);
                d.slice_axis(Axis(0), (0..n).into()).to_owned()
            })
            .collect();
        let layers: Vec<OpId> = m
            .walk(graph)
            .into_iter()
            .filter(|&o| {
                m.attr(o, "layer").is_some()
                    && m.attr(o, "q_range").is_some()
                    && m.op(o).results().len() == 1
            })
            .collect();
        let bar = progress_in(cx, "noise analysis", layers.len(), "layers");
        let measured = analyze(m, graph, &layers, &data, &|| bar.inc(1));
        bar.finish_and_clear();
        let (snr, partial) = measured.map_err(|(op, e)| cx.fail_at(m, op.unwrap_or(graph), e))?;
        for (&op, s) in layers.iter().zip(snr) {
            m.remove_attr(op, SNR);
            m.remove_attr(op, PARTIAL_SNR);
            if s.is_finite() {
                m.set_attr(op, SNR, Attribute::f64(s));
            }
            if let Some(p) = partial.get(&layer_of(m, op)).filter(|p| p.is_finite()) {
                m.set_attr(op, PARTIAL_SNR, Attribute::f64(*p));
            }
        }
        cx.stat("layers", "Layers analyzed", layers.len() as u64);
        Ok(Preserved::All)
    }
}

type Failure = (Option<OpId>, String);

/// Each of `layers`' single-layer output SNR (in order), and every layer's partial SNR.
fn analyze(
    m: &mut Module,
    graph: OpId,
    layers: &[OpId],
    data: &[ArrayD<f32>],
    tick: &dyn Fn(),
) -> Result<(Vec<f64>, FxHashMap<String, f64>), Failure> {
    let float = Executor::new(m, GraphRef::Id(graph)).map_err(|e| (None, e.to_string()))?;
    let reference = float
        .run_recorded(data)
        .map_err(|e| (None, e.to_string()))?;
    let mut lowered = m.clone();
    convert_graph(&mut lowered, graph).map_err(|(op, e)| (Some(op), e))?;
    let weighted = lowered_weighted(&lowered, graph);
    let mut snr = Vec::with_capacity(layers.len());
    for &op in layers {
        let layer = layer_of(m, op);
        let at = |e: String| (Some(op), format!("noise analysis of '{layer}': {e}"));
        let v = m.result(op, 0);
        let value = match weighted.get(&layer) {
            Some(&qop) => with_quantized_parameters(m, graph, op, &lowered, qop, data, &reference)
                .map_err(at)?,
            None => reference
                .recording
                .value(v)
                .ok_or_else(|| at("its output was not recorded".into()))?,
        };
        let rounded = on_output_grid(m, op, &value).map_err(at)?;
        let mut recording = reference.recording.clone();
        if !recording.replace(v, &rounded) {
            return Err(at("its output was not recorded".into()));
        }
        let readers: FxHashSet<OpId> = m.value(v).uses().iter().map(|u| u.op).collect();
        let out = float
            .run_resumed(data, &recording, &readers)
            .map_err(|e| at(e.to_string()))?;
        snr.push(snr_db(&reference.outputs, &out.outputs));
        tick();
    }
    Ok((snr, partial_snr(m, graph, &lowered, data, &reference)?))
}

/// The output of `op` on `data` with its kernel and bias replaced by their quantized values
/// (from the lowered op `qop`); `m` is restored afterwards.
fn with_quantized_parameters(
    m: &mut Module,
    graph: OpId,
    op: OpId,
    lowered: &Module,
    qop: OpId,
    data: &[ArrayD<f32>],
    reference: &Resumed,
) -> Result<ArrayD<f32>, String> {
    let (fo, qo) = (m.op(op).operands().to_vec(), lowered.op(qop).operands());
    let mut swaps = vec![(fo[1], dequantized_kernel(lowered, qo[1])?)];
    if let Some(&b) = fo.get(2) {
        swaps.push((b, dequantized_bias(lowered, qo[2])?));
    }
    let mut restore = Vec::new();
    for (i, (v, values)) in swaps.iter().enumerate() {
        let def = m.defining_op(*v).ok_or("a parameter is not a constant")?;
        let key = format!("__noise_{}_{i}", layer_of(m, op));
        m.resources.insert(&key, Blob::from_f32(values));
        let ty = m.value_type(*v);
        restore.push((def, m.attr(def, "value").cloned(), key.clone()));
        m.set_attr(
            def,
            "value",
            Attribute::DenseResource {
                key: Sym::new(&key),
                ty,
            },
        );
    }
    let exec = Executor::new(m, GraphRef::Id(graph));
    for (def, old, key) in restore {
        if let Some(a) = old {
            m.set_attr(def, "value", a);
        }
        m.resources.remove(&key);
    }
    let stale = std::iter::once(op).collect();
    let run = exec
        .and_then(|e| e.run_resumed_until(data, &reference.recording, &stale, op))
        .map_err(|e| e.to_string())?;
    run.recording
        .value(m.result(op, 0))
        .ok_or_else(|| "its output was not recorded".into())
}

/// `value` rounded and clamped to the output grid of `op` (`q_range`, `q_bits`).
fn on_output_grid(m: &Module, op: OpId, value: &ArrayD<f32>) -> Result<ArrayD<f32>, String> {
    let range = m
        .attr(op, "q_range")
        .and_then(Attribute::as_f64_array)
        .filter(|r| r.len() == 2)
        .ok_or("'q_range' must be [lo, hi]")?;
    let bits = m
        .attr(op, "q_bits")
        .and_then(Attribute::as_i64)
        .unwrap_or(8);
    let st = Storage::unsigned(bits as u32).ok_or_else(|| format!("bad q_bits {bits}"))?;
    let t = activation_type(range[0], range[1], st);
    let (s, z) = (t.scale_at(0), t.zero_point());
    Ok(value.mapv(|x| ((quantize(f64::from(x), s, z, st) - z) as f64 * s) as f32))
}

/// Each layer's SNR at its own output in the integer emulation of `lowered` against the
/// float run `reference` of `m`.
fn partial_snr(
    m: &Module,
    graph: OpId,
    lowered: &Module,
    data: &[ArrayD<f32>],
    reference: &Resumed,
) -> Result<FxHashMap<String, f64>, Failure> {
    let values: FxHashMap<String, ValueId> = m
        .walk(graph)
        .into_iter()
        .filter(|&o| m.attr(o, "layer").is_some() && m.op(o).results().len() == 1)
        .map(|o| (layer_of(m, o), m.result(o, 0)))
        .collect();
    let mut out = FxHashMap::default();
    let exec = Executor::new(lowered, GraphRef::Id(graph)).map_err(|e| (None, e.to_string()))?;
    exec.run_observed(data, &mut |o| {
        if let Some(f) = values
            .get(o.layer)
            .and_then(|&v| reference.recording.value(v))
        {
            if f.shape() == o.value.shape() {
                out.insert(
                    o.layer.to_owned(),
                    snr_db(&[f], std::slice::from_ref(o.value)),
                );
            }
        }
        Ok(())
    })
    .map_err(|e| (None, e.to_string()))?;
    Ok(out)
}
