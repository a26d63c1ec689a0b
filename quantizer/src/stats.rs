//! Calibration statistics: run the float interpreter over the calibration set in batches
//! and record, per layer output, min/max and (for layers that ask for percentile clipping)
//! every value, so percentiles are exact (quantization.md §1 "our choice").

use crate::error::{QuantError, Result};
use hailo_executor::{Executor, LayerOutput};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::ArrayD;
use rustc_hash::{FxHashMap, FxHashSet};

/// What was seen at one layer output over the calibration set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LayerStats {
    pub min: f32,
    pub max: f32,
    /// Every value, kept only for layers listed in `keep_values`.
    pub values: Vec<f32>,
}

/// Calibration settings (`model_optimization_config(calibration, ...)`).
#[derive(Clone, Debug)]
pub struct Calibration {
    pub calibset_size: usize,
    pub batch_size: usize,
    pub quiet: bool,
    /// Layers whose values are kept for exact percentiles.
    pub keep_values: FxHashSet<String>,
}

impl Default for Calibration {
    fn default() -> Self {
        Calibration {
            calibset_size: 64,
            batch_size: 8,
            quiet: true,
            keep_values: FxHashSet::default(),
        }
    }
}

/// Runs `interp` over the first `calibset_size` samples of `data` (one array per graph
/// input, samples on axis 0) and returns per-layer statistics keyed by layer name.
pub fn collect(
    interp: &Executor,
    data: &[ArrayD<f32>],
    cfg: &Calibration,
) -> Result<FxHashMap<String, LayerStats>> {
    let n = data.first().map_or(0, |d| d.shape()[0]);
    if cfg.batch_size == 0 || cfg.calibset_size == 0 {
        return Err(QuantError::Calibration(
            "calibset_size and batch_size must be positive".into(),
        ));
    }
    if n < cfg.calibset_size {
        return Err(QuantError::Calibration(format!(
            "the calibration set has {n} samples but calibset_size is {}; provide more data or lower calibset_size",
            cfg.calibset_size
        )));
    }
    if let Some((i, _)) = data.iter().enumerate().find(|(_, d)| d.shape()[0] != n) {
        return Err(QuantError::Calibration(format!(
            "input {i} has a different number of samples than input 0 ({n})"
        )));
    }
    for (i, (d, info)) in data.iter().zip(interp.inputs()).enumerate() {
        if d.shape()[1..] != info.shape[1..] {
            return Err(QuantError::Calibration(format!(
                "calibration input {i} ('{}') has sample shape {:?}, the model expects {:?} (NHWC)",
                info.name,
                &d.shape()[1..],
                &info.shape[1..]
            )));
        }
        if let Some(pos) = d.iter().position(|v| !v.is_finite()) {
            return Err(QuantError::Calibration(format!(
                "calibration input {i} ('{}') has a non-finite value at flat index {pos}",
                info.name
            )));
        }
    }
    let bar = if cfg.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(cfg.calibset_size as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("calibration {bar:40} {pos}/{len} samples")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut stats: FxHashMap<String, LayerStats> = FxHashMap::default();
    let mut observe = |out: LayerOutput| {
        let e = stats.entry(out.layer.to_owned()).or_insert(LayerStats {
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
            values: Vec::new(),
        });
        for &v in out.value.iter() {
            e.min = e.min.min(v);
            e.max = e.max.max(v);
        }
        if cfg.keep_values.contains(out.layer) {
            e.values.extend(out.value.iter().copied());
        }
        Ok(())
    };
    interp.run_batches(
        data,
        cfg.calibset_size,
        cfg.batch_size,
        &mut observe,
        &mut |done| bar.set_position(done as u64),
    )?;
    bar.finish_and_clear();
    Ok(stats)
}
