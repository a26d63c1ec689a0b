//! Calibration settings and what calibration measured per layer. The measuring itself is the
//! `quant-calibrate` pass (ranges recorded in the IR as `calib.range`) and, for percentile
//! clipping, `quant-activation-clipping`; [`crate::optimize::prepare`] runs them and reads the
//! ranges back for the report.

/// The range one layer output took over the calibration set.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LayerStats {
    pub min: f32,
    pub max: f32,
}

/// Calibration settings (`model_optimization_config(calibration, ...)`).
#[derive(Clone, Debug)]
pub struct Calibration {
    pub calibset_size: usize,
    pub batch_size: usize,
    /// No progress bars.
    pub quiet: bool,
}

impl Default for Calibration {
    fn default() -> Self {
        Calibration {
            calibset_size: 64,
            batch_size: 8,
            quiet: true,
        }
    }
}
