//! A branch-free `exp` for the exp-based activations (sigmoid, SiLU, swish), and the loop that
//! runs them at the CPU's widest vectors.
//!
//! Why: `f32::exp` is a libm call per element, so a sigmoid or SiLU layer cost as much as the
//! convolution producing it (issue "Executor speed"). [`exp`] is range reduction to
//! `2ⁿ·eʳ` with `|r| ≤ ln2/2` and a degree-7 polynomial for `eʳ` (relative error below
//! 2e-7, within the float parity the executor promises against onnxruntime). It is
//! straight-line f32/i32 arithmetic, so a loop over a slice auto-vectorises; [`map`] compiles
//! that loop for AVX-512 or AVX2 when the CPU has them. Every path evaluates the same
//! operations in the same order without FMA contraction, so results are bit-identical
//! whichever width runs (and equal to the scalar [`exp`] the per-element path uses).

/// `ln 2` split so that `n·LN2_HI` is exact for the `n` that occur.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Adding and subtracting 1.5·2²³ rounds an f32 of magnitude below 2²² to an integer.
const ROUND: f32 = 12_582_912.0;

/// `eˣ`, with `x` clamped to where `eˣ` is a normal f32 (below: ≈1.2e-38; above: ≈2.4e38);
/// NaN stays NaN.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.3);
    let n = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // eʳ ≈ 1 + r + r²·q(r), q the Taylor series of (eʳ − 1 − r)/r² to r⁵.
    let q = ((((1.0 / 5040.0 * r + 1.0 / 720.0) * r + 1.0 / 120.0) * r + 1.0 / 24.0) * r
        + 1.0 / 6.0)
        * r
        + 0.5;
    let p = 1.0 + r + r * r * q;
    let scale = f32::from_bits(((n as i32 + 127) << 23) as u32);
    p * scale
}

/// `1 / (1 + e⁻ˣ)`.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// Applies `f` to every element of `s`, vectorised for the CPU.
pub fn map(s: &mut [f32], f: impl Fn(f32) -> f32 + Copy) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked above).
            return unsafe { map_avx512(s, f) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked above).
            return unsafe { map_avx2(s, f) };
        }
    }
    map_generic(s, f)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn map_avx512(s: &mut [f32], f: impl Fn(f32) -> f32 + Copy) {
    map_generic(s, f)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn map_avx2(s: &mut [f32], f: impl Fn(f32) -> f32 + Copy) {
    map_generic(s, f)
}

#[inline(always)]
fn map_generic(s: &mut [f32], f: impl Fn(f32) -> f32 + Copy) {
    for v in s {
        *v = f(*v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative error against f64 `exp` over the whole clamped range, and bit-equality of the
    /// vector loop with the scalar function.
    #[test]
    fn exp_is_within_2e_7_relative_and_every_width_agrees() {
        let xs: Vec<f32> = (0..200_001)
            .map(|i| -87.0 + 175.0 * i as f32 / 200_000.0)
            .collect();
        let mut worst = 0.0f64;
        for &x in &xs {
            let want = f64::from(x).exp();
            worst = worst.max((f64::from(exp(x)) - want).abs() / want);
        }
        assert!(worst < 2e-7, "worst relative error {worst:e}");
        let mut v = xs.clone();
        map(&mut v, exp);
        assert!(v
            .iter()
            .zip(&xs)
            .all(|(a, &x)| a.to_bits() == exp(x).to_bits()));
        assert!(exp(f32::NAN).is_nan());
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) > 0.0 && exp(1000.0).is_finite());
    }

    #[test]
    fn sigmoid_matches_f64_within_1e_7_absolute() {
        for i in -4000..=4000 {
            let x = i as f32 / 100.0;
            let want = 1.0 / (1.0 + (-f64::from(x)).exp());
            assert!((f64::from(sigmoid(x)) - want).abs() < 1e-7, "sigmoid({x})");
        }
    }
}
