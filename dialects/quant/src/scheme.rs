//! The Hailo-style quantization scheme (docs: shared `quantization.md` §0, §10): how float
//! ranges become scales and zero points, how weights and biases become integers, and how a
//! real rescale factor becomes a fixed-point multiplier and shift.
//!
//! Everything that is inferred rather than known about the hardware arithmetic sits behind
//! [`decompose_rescale`] (the rescale decomposition) and [`quantize_bias`] (the bias
//! representation), so those can change when the hardware arithmetic is pinned down.

use crate::types::{QuantType, Storage};

/// Round half to even (bankers rounding), as HailoRT rounds inputs under FE_TONEAREST.
///
/// Adding and subtracting 2^52 rounds a smaller magnitude to an integer in the FPU's own
/// round-to-nearest-even mode: branch-free and inlinable, where `f64::round` is a libm call
/// on baseline x86-64 (weight clipping evaluates this hundreds of times per weight).
#[inline]
pub fn round_half_even(x: f64) -> f64 {
    const TWO_52: f64 = 4_503_599_627_370_496.0;
    if x.abs() < TWO_52 {
        ((x.abs() + TWO_52) - TWO_52).copysign(x)
    } else {
        x
    }
}

/// The asymmetric activation quantizer of a float range (§0): the range is widened to hold 0,
/// then scale = (hi − lo) / (qmax − qmin) and zero point = round(−lo / scale) (clamped).
/// A degenerate all-zero range gets scale 1.
pub fn activation_type(lo: f64, hi: f64, storage: Storage) -> QuantType {
    let lo = lo.min(0.0);
    let hi = hi.max(0.0);
    let levels = (storage.qmax() - storage.qmin()) as f64;
    let scale = if hi - lo > 0.0 && (hi - lo).is_finite() {
        (hi - lo) / levels
    } else {
        1.0
    };
    let zp = (storage.qmin() as f64 + round_half_even(-lo / scale))
        .clamp(storage.qmin() as f64, storage.qmax() as f64) as i64;
    QuantType::uniform(storage, scale, zp)
}

/// The symmetric weight scale for clipping threshold `t` (§2): t / (2^(b−1) − 1).
pub fn symmetric_scale(t: f64, storage: Storage) -> f64 {
    if t > 0.0 && t.is_finite() {
        t / storage.qmax() as f64
    } else {
        1.0
    }
}

/// q = clip(round_half_even(x / scale) + zp, qmin, qmax).
pub fn quantize(x: f64, scale: f64, zp: i64, storage: Storage) -> i64 {
    let q = round_half_even(x / scale) + zp as f64;
    q.clamp(storage.qmin() as f64, storage.qmax() as f64) as i64
}

/// A real factor as `multiplier · 2^(−shift)`; see [`decompose_rescale`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rescale {
    pub multiplier: i64,
    pub shift: u32,
}

/// Largest shift a rescale may use.
pub const MAX_SHIFT: u32 = 62;

/// The one place the rescale decomposition is defined: `ratio ≈ multiplier · 2^(−shift)` with
/// a 31-bit mantissa (`multiplier` in [2^30, 2^31)) and `shift` in 0..=62. Ratios below
/// 2^(−32) lose mantissa bits; ratios of 2^31 or more would need a negative exponent and are
/// an error naming the ratio.
pub fn decompose_rescale(ratio: f64) -> Result<Rescale, String> {
    if !(ratio.is_finite() && ratio >= 0.0) {
        return Err(format!(
            "rescale factor {ratio} is not a finite non-negative number"
        ));
    }
    if ratio == 0.0 {
        return Ok(Rescale {
            multiplier: 0,
            shift: 0,
        });
    }
    let e = ratio.log2().floor() as i64;
    let shift = 30 - e;
    if shift < 0 {
        return Err(format!(
            "rescale factor {ratio} needs a negative exponent (>= 2^31); the output range is too narrow for the input range"
        ));
    }
    let shift = (shift as u32).min(MAX_SHIFT);
    let mut multiplier = (ratio * (1u64 << shift) as f64).round() as i64;
    let mut shift = shift;
    if multiplier >= 1 << 31 {
        multiplier >>= 1;
        shift -= 1;
    }
    Ok(Rescale { multiplier, shift })
}

/// How a layer's bias is represented (`quantization_param(bias_mode=...)`, guide §5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BiasMode {
    /// `single_scale_decomposition`: the bias is a product UINT8 × INT8 × 2^UINT4 in
    /// accumulator units (the guide's "3 values"); inferred meaning, quantization.md §9.
    SingleScaleDecomposition,
    /// `double_scale_initialization`: the bias is held exactly at the accumulator scale.
    DoubleScaleInitialization,
}

impl BiasMode {
    pub fn parse(s: &str) -> Option<BiasMode> {
        match s.to_ascii_lowercase().as_str() {
            "single_scale_decomposition" => Some(BiasMode::SingleScaleDecomposition),
            "double_scale_initialization" => Some(BiasMode::DoubleScaleInitialization),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            BiasMode::SingleScaleDecomposition => "single_scale_decomposition",
            BiasMode::DoubleScaleInitialization => "double_scale_initialization",
        }
    }
}

/// The bias in accumulator units (scale `acc_scale` = S_x · S_w), saturated to i32.
pub fn quantize_bias(b: f64, acc_scale: f64, mode: BiasMode) -> i64 {
    let exact = round_half_even(b / acc_scale).clamp(i32::MIN as f64, i32::MAX as f64);
    match mode {
        BiasMode::DoubleScaleInitialization => exact as i64,
        BiasMode::SingleScaleDecomposition => nearest_u8_i8_pow2(exact),
    }
}

/// The value u · i · 2^k (u in 0..=255, i in −128..=127, k in 0..=15) nearest to `t`.
fn nearest_u8_i8_pow2(t: f64) -> i64 {
    let mut best = 0i64;
    let mut best_err = t.abs();
    for k in 0..16 {
        let p = (1i64 << k) as f64;
        let target = t.abs() / p;
        if target > 255.0 * 128.0 + 255.0 {
            continue;
        }
        for i in 1..=128i64 {
            let u = (target / i as f64).round().min(255.0) as i64;
            let v = (u * i) << k;
            let err = (v as f64 - t.abs()).abs();
            if err < best_err {
                best_err = err;
                best = v;
            }
        }
        if best_err == 0.0 {
            break;
        }
    }
    if t < 0.0 {
        -best.min((128 * 255) << 15)
    } else {
        best.min((127 * 255) << 15)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_activation_quantizer() {
        // quantization.md §11.1: uint8 on [-1, 3] gives s = 4/255 and z = 64.
        let q = activation_type(-1.0, 3.0, Storage::U8);
        assert_eq!(q, QuantType::uniform(Storage::U8, 4.0 / 255.0, 64));
        // A range not holding 0 is widened to hold it.
        let q = activation_type(0.5, 2.0, Storage::U8);
        assert_eq!(q, QuantType::uniform(Storage::U8, 2.0 / 255.0, 0));
    }

    #[test]
    fn bankers_rounding_and_clipping() {
        let s = 0.1;
        assert_eq!(quantize(2.5 * s, s, 0, Storage::U8), 2);
        assert_eq!(quantize(3.5 * s, s, 0, Storage::U8), 4);
        assert_eq!(quantize(-0.5 * s, s, 0, Storage::I8), 0);
        assert_eq!(quantize(1e9, s, 0, Storage::U8), 255);
        assert_eq!(quantize(-1e9, s, 3, Storage::U8), 0);
        assert_eq!(round_half_even(-2.5), -2.0);
        assert_eq!(round_half_even(-3.5), -4.0);
    }

    #[test]
    fn round_half_even_is_ieee_round_ties_even() {
        let mut xs = vec![
            0.5,
            1.5,
            2.5,
            -0.5,
            -1.5,
            1e300,
            -1e300,
            4503599627370497.0,
            0.49999999999999994,
        ];
        xs.extend((-4000..4000).map(|i| f64::from(i) * 0.25 + 1e-3 * f64::from(i % 7)));
        for x in xs {
            assert_eq!(round_half_even(x), x.round_ties_even(), "{x}");
        }
        assert!(round_half_even(f64::NAN).is_nan());
    }

    #[test]
    fn rescale_has_31_bit_mantissa_and_is_accurate() {
        for &r in &[1e-6, 0.00123, 0.5, 0.999_999, 1.0, 3.7, 1000.0] {
            let d = decompose_rescale(r).expect("decomposes");
            assert!((1 << 30..1 << 31).contains(&d.multiplier), "{r}: {d:?}");
            let back = d.multiplier as f64 / (1u64 << d.shift) as f64;
            assert!((back - r).abs() <= r * 2f64.powi(-30), "{r} -> {back}");
        }
        let e = decompose_rescale(2f64.powi(32)).unwrap_err();
        assert!(e.contains("negative exponent"), "{e}");
    }

    #[test]
    fn bias_modes() {
        // Double keeps the exact accumulator-scale integer.
        assert_eq!(
            quantize_bias(12345.4, 1.0, BiasMode::DoubleScaleInitialization),
            12345
        );
        // Single is a product u8 * i8 * 2^k: 12345 = 3 * 5 * 823 is not, so it moves to a near one.
        let v = quantize_bias(12345.0, 1.0, BiasMode::SingleScaleDecomposition);
        assert!((v - 12345).abs() <= 8, "{v}");
        assert_eq!(
            quantize_bias(-200.0, 1.0, BiasMode::SingleScaleDecomposition),
            -200
        );
    }
}
