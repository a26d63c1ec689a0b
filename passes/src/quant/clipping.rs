//! Clipping (quantization.md §1–2): the weight thresholds of the symmetric b-bit weight
//! quantizer (manual, percentile, MMSE) and exact percentiles, which activation clipping
//! uses too.

use hailo_dialect_quant::scheme::{quantize, symmetric_scale};
use hailo_dialect_quant::Storage;

/// `model_optimization_config`-style weight clipping modes.
#[derive(Clone, Debug, PartialEq)]
pub enum WeightClipping {
    /// max |W|.
    MinMax,
    /// clip(W, −c, c).
    Manual(f64),
    /// P_p(|W|).
    Percentile(f64),
    /// argmin_t ‖W − Q_t(W)‖².
    Mmse,
    /// MMSE for 4-bit layers, min-max otherwise (the DFC default).
    MmseIf4b,
}

/// The squared error of quantizing `w` with threshold `t` at `storage`.
pub fn quant_mse(w: &[f64], t: f64, storage: Storage) -> f64 {
    let s = symmetric_scale(t, storage);
    w.iter()
        .map(|&x| {
            let q = quantize(x, s, 0, storage) as f64 * s;
            (x - q) * (x - q)
        })
        .sum()
}

/// The MMSE threshold: a 200-point grid over (0, max|W|], then golden-section refinement
/// around the best grid point.
pub fn mmse_threshold(w: &[f64], storage: Storage) -> f64 {
    let m = w.iter().fold(0.0f64, |a, &x| a.max(x.abs()));
    if m == 0.0 {
        return 0.0;
    }
    let n = 200;
    let (mut best_t, mut best) = (m, quant_mse(w, m, storage));
    for i in 1..n {
        let t = m * i as f64 / n as f64;
        let e = quant_mse(w, t, storage);
        if e < best {
            best = e;
            best_t = t;
        }
    }
    let (mut a, mut b) = (
        (best_t - m / n as f64).max(m * 1e-6),
        (best_t + m / n as f64).min(m),
    );
    let g = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..40 {
        let c = b - g * (b - a);
        let d = a + g * (b - a);
        if quant_mse(w, c, storage) < quant_mse(w, d, storage) {
            b = d
        } else {
            a = c
        }
    }
    let t = (a + b) / 2.0;
    if quant_mse(w, t, storage) < best {
        t
    } else {
        best_t
    }
}

/// The threshold for one channel's weights under `mode`.
pub fn threshold(w: &[f64], storage: Storage, mode: &WeightClipping) -> f64 {
    let max = w.iter().fold(0.0f64, |a, &x| a.max(x.abs()));
    match mode {
        WeightClipping::MinMax => max,
        WeightClipping::Manual(c) => c.abs().min(max),
        WeightClipping::Percentile(p) => {
            let abs: Vec<f32> = w.iter().map(|x| x.abs() as f32).collect();
            percentile(&abs, *p).unwrap_or(max)
        }
        WeightClipping::Mmse => mmse_threshold(w, storage),
        WeightClipping::MmseIf4b if storage.bits() == 4 => mmse_threshold(w, storage),
        WeightClipping::MmseIf4b => max,
    }
}

/// `quantization_param(quantization_groups=n)`: output channels sorted by their own
/// threshold `per_channel` and cut into `n` runs of near-equal size (similar ranges share a
/// scale, the guide's "automatically sorted"); every channel of a run gets the threshold of
/// the run's pooled weights. `w` is the kernel, output channel last (`cout` values per row).
pub fn group_thresholds(
    w: &[f64],
    per_channel: &[f64],
    n: usize,
    storage: Storage,
    mode: &WeightClipping,
) -> Vec<f64> {
    let cout = per_channel.len();
    let n = n.clamp(1, cout.max(1));
    let mut order: Vec<usize> = (0..cout).collect();
    order.sort_by(|&a, &b| per_channel[a].total_cmp(&per_channel[b]).then(a.cmp(&b)));
    let mut out = vec![0.0; cout];
    for g in 0..n {
        let members = &order[g * cout / n..(g + 1) * cout / n];
        let pooled: Vec<f64> = members
            .iter()
            .flat_map(|&c| w.iter().skip(c).step_by(cout).copied())
            .collect();
        let t = threshold(&pooled, storage, mode);
        for &c in members {
            out[c] = t;
        }
    }
    out
}

/// The exact `p`-th percentile (0..=100) with numpy's linear interpolation.
pub fn percentile(values: &[f32], p: f64) -> Option<f64> {
    if values.is_empty() || !(0.0..=100.0).contains(&p) {
        return None;
    }
    let mut v: Vec<f64> = values.iter().map(|&x| f64::from(x)).collect();
    v.sort_by(f64::total_cmp);
    let pos = p / 100.0 * (v.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos - pos.floor());
    let hi = v[(i + 1).min(v.len() - 1)];
    Some(v[i] + (hi - v[i]) * frac)
}

/// Activation range by percentile clipping (§1): [min(P_lo, 0), max(P_hi, 0)].
pub fn percentile_range(values: &[f32], lo: f64, hi: f64) -> Option<(f64, f64)> {
    Some((
        percentile(values, lo)?.min(0.0),
        percentile(values, hi)?.max(0.0),
    ))
}
