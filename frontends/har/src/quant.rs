//! The quantization member of a quantized HAR (`hailo optimize`): calibration statistics
//! (the DFC's `stats_limvals` per layer), the precision chosen per layer, the layer noise
//! report (on-layer SNR) and the output SNR, as JSON. SNRs that are infinite (exact) are
//! stored as `null`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Name of the quantization member.
pub const QUANT_MEMBER: &str = "hailo_rs_quantization.json";

/// One layer's quantization.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerQuant {
    pub layer: String,
    /// The `hl` op (`hl.conv2d`, ...).
    pub op: String,
    /// Activation bits of each input, of the output.
    pub input_bits: Vec<u32>,
    pub output_bits: u32,
    /// Weight and bias bits of weighted layers.
    pub weight_bits: Option<u32>,
    pub bias_bits: Option<u32>,
    /// Number of kernel weights (0 for layers without weights).
    pub weights: u64,
    /// Calibration min/max of the layer output (`stats_limvals`).
    pub stats_min: f64,
    pub stats_max: f64,
    /// The quantized output range (after clipping and groups).
    pub range: Option<[f64; 2]>,
    /// SNR (dB) at this layer's output with every layer quantized.
    pub partial_snr_db: Option<f64>,
}

/// Everything `hailo optimize` records.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QuantReport {
    pub calibset_size: usize,
    pub batch_size: usize,
    /// Samples the SNRs were measured on.
    pub snr_samples: usize,
    /// SNR (dB) of each graph output, quantized against float.
    pub output_snr_db: Vec<Option<f64>>,
    /// Share of all kernel weights at 4, 8 and 16 bits (keys "4", "8", "16").
    pub weight_bit_ratios: BTreeMap<String, f64>,
    /// Layers `auto_4bit_weights_ratio` put at 4 bits.
    pub auto_4bit_layers: Vec<String>,
    pub layers: Vec<LayerQuant>,
    /// The last `hailo analyze-noise` run on this HAR, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<NoiseReport>,
}

/// One layer of a layer noise analysis (`hailo analyze-noise`; the DFC's
/// `layer_noise_analysis/snr` and `.../partial_snr`). `None`: exact (no noise).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerNoise {
    pub layer: String,
    /// Output SNR (dB, over all outputs) with only this layer quantized.
    pub snr_db: Option<f64>,
    /// SNR (dB) at this layer's own output with every layer quantized.
    pub partial_snr_db: Option<f64>,
}

/// A layer noise analysis: the samples it ran on and every analyzed layer, in graph order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NoiseReport {
    pub samples: usize,
    pub layers: Vec<LayerNoise>,
}

impl NoiseReport {
    /// The threshold under which a layer is flagged (the DFC profiler's).
    pub const LOW_SNR_DB: f64 = 10.0;

    /// Layers whose single-layer output SNR is under [`Self::LOW_SNR_DB`].
    pub fn low_snr_layers(&self) -> Vec<&LayerNoise> {
        self.layers
            .iter()
            .filter(|l| l.snr_db.is_some_and(|s| s < Self::LOW_SNR_DB))
            .collect()
    }
}

impl QuantReport {
    /// Layers whose on-layer SNR is below `db` (Hailo's profiler flags < 10 dB).
    pub fn low_snr_layers(&self, db: f64) -> Vec<&LayerQuant> {
        self.layers
            .iter()
            .filter(|l| l.partial_snr_db.is_some_and(|s| s < db))
            .collect()
    }
}
