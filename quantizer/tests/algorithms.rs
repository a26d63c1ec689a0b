//! quantization.md §11 items 2 and 3 against independent references in this file; a
//! pass-through stub (threshold = max|W|, range = min/max) fails each.

use hailo_dialect_quant::Storage;
use hailo_passes::quant::clipping::{
    mmse_threshold, percentile, percentile_range, quant_mse, threshold, WeightClipping,
};

/// Seeded N(0, 1) samples (Box–Muller over an LCG).
fn gaussian(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    let mut u = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| (-2.0 * u().ln()).sqrt() * (2.0 * std::f64::consts::PI * u()).cos())
        .collect()
}

#[test]
fn percentile_matches_numpy_linear_interpolation() {
    let v: Vec<f32> = (0..10001)
        .map(|i| ((i * 7919) % 10001) as f32 - 3000.0)
        .collect();
    // numpy.percentile(range(-3000, 7001), [0.01, 99.7]) = [-2999.0, 6970.0].
    let lo = percentile(&v, 0.01).unwrap();
    let hi = percentile(&v, 99.7).unwrap();
    assert!((lo - -2999.0).abs() <= 1e-6 * 2999.0, "{lo}");
    assert!((hi - 6970.0).abs() <= 1e-6 * 6970.0, "{hi}");
    // numpy.percentile([1, 2, 3, 4], 50) = 2.5 (interpolated).
    assert_eq!(percentile(&[4.0, 1.0, 3.0, 2.0], 50.0), Some(2.5));
    // The range always holds 0.
    let pos: Vec<f32> = (1..=100).map(|i| i as f32).collect();
    assert_eq!(percentile_range(&pos, 1.0, 99.0).map(|r| r.0), Some(0.0));
}

#[test]
fn manual_weight_clipping_bounds_and_keeps_small_weights() {
    let w = gaussian(1000, 1);
    let t = threshold(&w, Storage::I8, &WeightClipping::Manual(1.5));
    assert_eq!(t, 1.5);
    let s = t / 127.0;
    let deq: Vec<f64> = w
        .iter()
        .map(|&x| hailo_dialect_quant::scheme::quantize(x, s, 0, Storage::I8) as f64 * s)
        .collect();
    // Codes span -128..=127 (the §2 grid), so the negative end reaches -c - s at most.
    assert!(deq
        .iter()
        .all(|v| *v <= 1.5 * (1.0 + 1e-12) && *v >= -1.5 - s * (1.0 + 1e-9)));
    assert!(w
        .iter()
        .zip(&deq)
        .all(|(x, d)| x.abs() >= 1.5 || (x - d).abs() <= s / 2.0 + 1e-12));
}

#[test]
fn percentile_weight_clipping_is_the_percentile_of_abs() {
    let w = gaussian(5000, 2);
    let mut abs: Vec<f64> = w.iter().map(|x| x.abs()).collect();
    abs.sort_by(f64::total_cmp);
    let pos = 0.99 * (abs.len() - 1) as f64;
    let expect = abs[pos as usize] + (abs[pos as usize + 1] - abs[pos as usize]) * pos.fract();
    let t = threshold(&w, Storage::I8, &WeightClipping::Percentile(99.0));
    assert!((t - expect).abs() < 1e-6, "{t} vs {expect}");
}

#[test]
fn mmse_beats_a_brute_force_grid_and_the_gaussian_anchor() {
    let w = gaussian(200_000, 3);
    let m = w.iter().fold(0.0f64, |a, x| a.max(x.abs()));
    let t = mmse_threshold(&w, Storage::I4);
    let mse = quant_mse(&w, t, Storage::I4);
    let grid = (1..=1000)
        .map(|i| quant_mse(&w, m * i as f64 / 1000.0, Storage::I4))
        .fold(f64::INFINITY, f64::min);
    assert!(mse <= grid + 1e-9, "mmse {mse} vs grid {grid}");
    assert!((2.2..=2.5).contains(&t), "t*/sigma = {t}");
    let gain = quant_mse(&w, m, Storage::I4) / mse;
    assert!(gain >= 3.0, "gain {gain} (max|W| = {m})");
    // mmse_if4b: MMSE at 4 bits, min-max at 8 bits.
    assert_eq!(threshold(&w, Storage::I8, &WeightClipping::MmseIf4b), m);
    assert_eq!(threshold(&w, Storage::I4, &WeightClipping::MmseIf4b), t);
}
