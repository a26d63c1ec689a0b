//! `quant-calibrate`: runs the float graph on the first `samples` samples of the calibration
//! set (the driver's `CalibrationSet` resource: `hailo-opt --calib-set`, `hailo optimize
//! --calib-set-path`) in batches of `batch-size`, and records on every layer the range its
//! output took: `calib.range = [min, max]` (one pair per result for multi-result ops).
//!
//! The statistics live in the IR so that each later decision (clipping, precision, lowering)
//! is a pass reading them, testable on a small graph with a small calibration file. Like the
//! DFC, calibration uses the set whole when it has fewer samples than asked, with a warning.

use super::channel_stats::run_calibration;
use hailo_executor::LayerOutput;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId};
use rustc_hash::FxHashMap;

hailo_ir::pass_options! {
    pub struct CalibrateOptions {
        /// Calibration samples to run (the model script's `calibset_size`).
        samples: i64 = 64,
        /// Samples per executor run (the model script's `batch_size`).
        batch_size: i64 = 8,
    }
}

pub struct Calibrate(CalibrateOptions);

/// The attribute holding the observed ranges.
pub const RANGE: &str = "calib.range";

impl PassDef for Calibrate {
    const NAME: &'static str = "quant-calibrate";
    const SUMMARY: &'static str =
        "Run the graph on the calibration set and record each layer's output range (calib.range)";
    const DESCRIPTION: &'static str = "Needs the calibration set from the driver \
        (hailo-opt --calib-set FILE). Uses the first `samples` samples, `batch-size` at a time.";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = CalibrateOptions;

    fn new(o: CalibrateOptions) -> Self {
        Calibrate(o)
    }
    fn options(&self) -> &CalibrateOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let mut ranges: FxHashMap<String, (f32, f32)> = FxHashMap::default();
        run_calibration(
            m,
            graph,
            cx,
            (Self::NAME, "calibration"),
            (self.0.samples, self.0.batch_size),
            &mut |out: LayerOutput| {
                let r = ranges
                    .entry(out.layer.to_owned())
                    .or_insert((f32::INFINITY, f32::NEG_INFINITY));
                let (lo, hi) = match out.value.as_slice_memory_order() {
                    Some(s) => min_max(s),
                    None => min_max(&out.value.iter().copied().collect::<Vec<f32>>()),
                };
                *r = (r.0.min(lo), r.1.max(hi));
                Ok(())
            },
        )?;
        let mut recorded = 0;
        for op in m.walk(graph) {
            let Some(layer) = m.attr(op, "layer").and_then(Attribute::as_str) else {
                continue;
            };
            let results = m.op(op).results().len();
            let names: Vec<String> = if results > 1 {
                (0..results).map(|i| format!("{layer}_{i}")).collect()
            } else {
                vec![layer.to_owned()]
            };
            let Some(pairs) = names
                .iter()
                .map(|n| ranges.get(n).copied())
                .collect::<Option<Vec<(f32, f32)>>>()
            else {
                continue;
            };
            let flat: Vec<f64> = pairs
                .iter()
                .flat_map(|&(lo, hi)| [f64::from(lo), f64::from(hi)])
                .collect();
            m.set_attr(op, RANGE, Attribute::f64_array(&flat));
            recorded += 1;
        }
        cx.stat("layers", "Layers whose output range was recorded", recorded);
        Ok(Preserved::All)
    }
}

/// The smallest and largest value of `s`, ignoring NaN (as `f32::min`/`max` do), reduced in 16
/// independent lanes so the loop compiles to vector min/max.
fn min_max(s: &[f32]) -> (f32, f32) {
    const LANES: usize = 16;
    let mut lo = [f32::INFINITY; LANES];
    let mut hi = [f32::NEG_INFINITY; LANES];
    let chunks = s.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            lo[i] = if c[i] < lo[i] { c[i] } else { lo[i] };
            hi[i] = if c[i] > hi[i] { c[i] } else { hi[i] };
        }
    }
    let fold = |init: (f32, f32), v: &[f32]| {
        v.iter().fold(init, |(l, h), &x| {
            (if x < l { x } else { l }, if x > h { x } else { h })
        })
    };
    let (l, h) = fold((f32::INFINITY, f32::NEG_INFINITY), tail);
    let l = lo.iter().fold(l, |a, &b| a.min(b));
    (l, hi.iter().fold(h, |a, &b| a.max(b)))
}

#[cfg(test)]
mod tests {
    use super::min_max;

    #[test]
    fn min_max_equals_the_naive_reduction_and_ignores_nan() {
        let s: Vec<f32> = (0..1037)
            .map(|i| ((i * 7919) % 1013) as f32 - 500.5)
            .chain([f32::NAN, 3.0])
            .collect();
        let naive = s
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
                (l.min(v), h.max(v))
            });
        assert_eq!(min_max(&s), naive);
        assert_eq!(min_max(&s[..5]), (-500.5, 327.5));
        assert_eq!(min_max(&[]), (f32::INFINITY, f32::NEG_INFINITY));
    }
}
