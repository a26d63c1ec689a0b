//! `quant-activation-clipping`: narrows the calibration range (`calib.range`) of listed layers
//! before `quant-ranges` turns ranges into scales: `percentile:<lo>:<hi>` takes the layer's
//! exact percentiles over the calibration set, widened to include 0 (quantization.md §1; the
//! guide's `activation_clipping(mode=percentile, clipping_values=[lo, hi])`); `manual:<lo>:<hi>`
//! sets the range (`activation_clipping(mode=manual)` and `quantization_param(force_range_out)`).
//!
//! Percentiles need every value of the layer, which the IR does not hold, so this pass runs
//! the graph again on the driver's calibration set (`samples` and `batch-size` as
//! `quant-calibrate`'s), keeping only the listed layers' values.

use super::calibrate::RANGE;
use super::clipping::percentile_range;
use super::layer_of;
use super::per_layer;
use hailo_executor::dataset::CalibrationSet;
use hailo_executor::{Executor, GraphRef, LayerOutput};
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId};
use rustc_hash::FxHashMap;

hailo_ir::pass_options! {
    pub struct ActivationClippingOptions {
        /// Per-layer clipping: `layer:percentile:<lo>:<hi>` or `layer:manual:<lo>:<hi>`.
        layers: Vec<String> = Vec::new(),
        /// Calibration samples to run for percentiles (as quant-calibrate's).
        samples: i64 = 64,
        /// Samples per executor run.
        batch_size: i64 = 8,
    }
}

/// How one layer's range is clipped.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Clip {
    Percentile(f64, f64),
    Manual(f64, f64),
}

fn parse_clip(s: &str) -> Result<Clip, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let num = |v: &str| {
        v.parse::<f64>()
            .map_err(|_| format!("activation clipping '{s}' has a bad number '{v}'"))
    };
    match parts.as_slice() {
        ["percentile", lo, hi] => {
            let (lo, hi) = (num(lo)?, num(hi)?);
            if !(0.0..=100.0).contains(&lo) || !(0.0..=100.0).contains(&hi) || lo > hi {
                return Err(format!(
                    "percentiles {lo} and {hi} must satisfy 0 <= lo <= hi <= 100"
                ));
            }
            Ok(Clip::Percentile(lo, hi))
        }
        ["manual", lo, hi] => {
            let (lo, hi) = (num(lo)?, num(hi)?);
            if lo > hi {
                return Err(format!("manual range [{lo}, {hi}] has lo > hi"));
            }
            Ok(Clip::Manual(lo, hi))
        }
        _ => Err(format!(
            "unknown activation clipping '{s}' (percentile:<lo>:<hi> or manual:<lo>:<hi>)"
        )),
    }
}

pub struct ActivationClipping(ActivationClippingOptions);

impl PassDef for ActivationClipping {
    const NAME: &'static str = "quant-activation-clipping";
    const SUMMARY: &'static str =
        "Clip listed layers' calibration ranges by percentiles of the calibration set or by hand";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = ActivationClippingOptions;

    fn new(o: ActivationClippingOptions) -> Self {
        ActivationClipping(o)
    }
    fn options(&self) -> &ActivationClippingOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        match self.clip(m, graph, cx) {
            Ok(n) => {
                cx.stat("clipped", "Layers whose range was clipped", n);
                Ok(Preserved::All)
            }
            Err(e) => Err(cx.fail_at(m, graph, e)),
        }
    }
}

impl ActivationClipping {
    fn clip(&self, m: &mut Module, graph: OpId, cx: &PassCx<'_>) -> Result<u64, String> {
        let clips = per_layer(&self.0.layers, "layers", parse_clip)?;
        if clips.is_empty() {
            return Ok(0);
        }
        let ops: FxHashMap<String, OpId> = m
            .walk(graph)
            .into_iter()
            .map(|op| (layer_of(m, op), op))
            .filter(|(l, _)| !l.is_empty())
            .collect();
        let mut names: Vec<&String> = clips.keys().collect();
        names.sort();
        if let Some(missing) = names.iter().find(|l| !ops.contains_key(l.as_str())) {
            return Err(format!("no layer named '{missing}'"));
        }
        let wanted: Vec<&String> = names
            .iter()
            .copied()
            .filter(|l| matches!(clips[*l], Clip::Percentile(..)))
            .collect();
        let values = if wanted.is_empty() {
            FxHashMap::default()
        } else {
            self.values(m, graph, cx, &wanted)?
        };
        for layer in names {
            let (lo, hi) = match clips[layer] {
                Clip::Manual(lo, hi) => (lo, hi),
                Clip::Percentile(lo, hi) => {
                    let v = values.get(layer.as_str()).map_or(&[][..], Vec::as_slice);
                    percentile_range(v, lo, hi)
                        .ok_or_else(|| format!("layer '{layer}' produced no values"))?
                }
            };
            m.set_attr(ops[layer.as_str()], RANGE, Attribute::f64_array(&[lo, hi]));
        }
        Ok(clips.len() as u64)
    }

    /// Every value the `wanted` layers take over the calibration samples.
    fn values(
        &self,
        m: &Module,
        graph: OpId,
        cx: &PassCx<'_>,
        wanted: &[&String],
    ) -> Result<FxHashMap<String, Vec<f32>>, String> {
        let set = cx
            .resource::<CalibrationSet>()
            .ok_or("percentile clipping needs a calibration set (hailo-opt --calib-set FILE)")?;
        let samples = usize::try_from(self.0.samples)
            .ok()
            .filter(|&s| s > 0)
            .ok_or("'samples' must be positive")?
            .min(set.len());
        let batch = usize::try_from(self.0.batch_size)
            .ok()
            .filter(|&b| b > 0)
            .ok_or("'batch-size' must be positive")?;
        let executor = Executor::new(m, GraphRef::Id(graph)).map_err(|e| e.to_string())?;
        let mut values: FxHashMap<String, Vec<f32>> = FxHashMap::default();
        let mut observe = |out: LayerOutput| {
            if wanted.iter().any(|w| w.as_str() == out.layer) {
                values
                    .entry(out.layer.to_owned())
                    .or_default()
                    .extend(out.value.iter().copied());
            }
            Ok(())
        };
        executor
            .run_batches(&set.0, samples, batch, &mut observe, &mut |_| {})
            .map_err(|e| e.to_string())?;
        Ok(values)
    }
}
