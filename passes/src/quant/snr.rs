//! Signal-to-noise ratios (quantization.md §9): 10·log10(Σ y² / Σ (y − ŷ)²).

use ndarray::ArrayD;

/// SNR in dB of `approx` against `reference` over all elements of all pairs; infinite when
/// they are equal.
pub fn snr_db(reference: &[ArrayD<f32>], approx: &[ArrayD<f32>]) -> f64 {
    let (mut sig, mut noise) = (0.0f64, 0.0f64);
    for (r, a) in reference.iter().zip(approx) {
        for (&y, &z) in r.iter().zip(a.iter()) {
            sig += f64::from(y) * f64::from(y);
            noise += (f64::from(y) - f64::from(z)).powi(2);
        }
    }
    if noise == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (sig / noise).log10()
    }
}
