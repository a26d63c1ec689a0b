//! Per-channel statistics of every layer's output over the calibration set, for the
//! full-precision passes that look at single channels (equalization, zero-static channels,
//! quantization.md §3–4): min, max, mean and variance along the last (channel) axis. They are
//! streamed batch by batch, so memory stays at one batch of activations, and the run checks
//! and warns as `quant-calibrate` does ([`run_calibration`]).

use hailo_executor::dataset::CalibrationSet;
use hailo_executor::{Executor, GraphRef, LayerOutput};
use hailo_ir::pass::{PassCx, PassFailed};
use hailo_ir::{Diagnostic, Module, OpId};
use rustc_hash::FxHashMap;

/// One layer output's statistics per channel.
#[derive(Clone, Debug, Default)]
pub struct ChannelStats {
    pub min: Vec<f32>,
    pub max: Vec<f32>,
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
    /// Elements seen per channel.
    count: u64,
}

impl ChannelStats {
    fn observe(&mut self, value: &ndarray::ArrayD<f32>) {
        let c = value.shape().last().copied().unwrap_or(1).max(1);
        if self.min.len() != c {
            self.min = vec![f32::INFINITY; c];
            self.max = vec![f32::NEG_INFINITY; c];
            self.sum = vec![0.0; c];
            self.sum_sq = vec![0.0; c];
        }
        // Channels last: one row of `c` values per position, each channel summed in row order.
        let owned;
        let values = match value.as_slice() {
            Some(s) => s,
            None => {
                owned = value.iter().copied().collect::<Vec<f32>>();
                &owned
            }
        };
        for row in values.chunks_exact(c) {
            for (k, &v) in row.iter().enumerate() {
                self.min[k] = self.min[k].min(v);
                self.max[k] = self.max[k].max(v);
                self.sum[k] += f64::from(v);
                self.sum_sq[k] += f64::from(v) * f64::from(v);
            }
        }
        self.count += (value.len() / c) as u64;
    }

    /// Channel `k`'s mean.
    pub fn mean(&self, k: usize) -> f64 {
        self.sum[k] / self.count.max(1) as f64
    }

    /// Channel `k`'s (population) variance.
    pub fn variance(&self, k: usize) -> f64 {
        let mean = self.mean(k);
        (self.sum_sq[k] / self.count.max(1) as f64 - mean * mean).max(0.0)
    }
}

/// Runs the float graph on the first `samples` calibration samples, `batch` at a time, calling
/// `observe` on every layer output: checks the options and the calibration set (the driver's
/// `CalibrationSet` resource) and warns, at the graph, when the set is smaller than
/// `samples` (it is then used whole). A graph without a sample axis
/// (`Executor::takes_whole_tensors`) runs the set once, whole. `pass` names the pass in messages, `what` the progress
/// bar.
pub fn run_calibration(
    m: &Module,
    graph: OpId,
    cx: &mut PassCx<'_>,
    (pass, what): (&str, &str),
    (samples, batch): (i64, i64),
    observe: &mut dyn FnMut(LayerOutput) -> hailo_executor::Result<()>,
) -> Result<(), PassFailed> {
    let (Ok(samples @ 1..), Ok(batch @ 1..)) = (usize::try_from(samples), usize::try_from(batch))
    else {
        return Err(cx.fail_at(m, graph, "'samples' and 'batch-size' must be positive"));
    };
    let Some(set) = cx.resource::<CalibrationSet>() else {
        return Err(cx.fail_at(
            m,
            graph,
            "needs a calibration set (hailo-opt --calib-set FILE; hailo optimize --calib-set-path FILE)",
        ));
    };
    let executor = match Executor::new(m, GraphRef::Id(graph)) {
        Ok(e) => e,
        Err(e) => return Err(cx.fail_at(m, graph, e.to_string())),
    };
    if executor.takes_whole_tensors() {
        // No axis holds samples (a scalar input, an input declared empty along axis 0): the
        // set is one run of the tensors whole.
        return executor
            .run_observed(&set.0, observe)
            .map(drop)
            .map_err(|e| cx.fail_at(m, graph, e.to_string()));
    }
    let available = set.len();
    if available == 0 {
        return Err(cx.fail_at(m, graph, "the calibration set is empty"));
    }
    if available < samples {
        cx.diags.emit(Diagnostic::warning(
            m.op(graph).loc.clone(),
            format!(
                "{pass}: the calibration set has {available} samples, fewer than samples={samples}; using all of them"
            ),
        ));
    }
    let n = samples.min(available);
    let bar = super::progress(cx, what, n);
    let run = executor.run_batches(&set.0, n, batch, observe, &mut |done| {
        bar.set_position(done as u64)
    });
    bar.finish_and_clear();
    run.map_err(|e| cx.fail_at(m, graph, e.to_string()))
}

/// Each layer output's per-channel statistics over the calibration run (keys as
/// [`LayerOutput::layer`]: the layer, `<layer>_<i>` for result `i` of a multi-result op).
pub fn channel_stats(
    m: &Module,
    graph: OpId,
    cx: &mut PassCx<'_>,
    pass: &str,
    (samples, batch): (i64, i64),
) -> Result<FxHashMap<String, ChannelStats>, PassFailed> {
    let mut stats: FxHashMap<String, ChannelStats> = FxHashMap::default();
    run_calibration(
        m,
        graph,
        cx,
        (pass, "channel statistics"),
        (samples, batch),
        &mut |out| {
            stats
                .entry(out.layer.to_owned())
                .or_default()
                .observe(out.value);
            Ok(())
        },
    )?;
    Ok(stats)
}
