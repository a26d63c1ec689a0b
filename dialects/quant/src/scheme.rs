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

/// How a layer's bias is represented (`quantization_param(bias_mode=...)`, guide §5.3). Both
/// meanings are inferred from the guide's one line each (quantization.md §9 [I]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BiasMode {
    /// `single_scale_decomposition`: "the bias is represented by 3 values: UINT8*INT8*UINT4",
    /// read as the product u · i · 2^k in accumulator units (u ∈ 0..=255, i ∈ −128..=127,
    /// k ∈ 0..=15): about 15 significant bits, magnitudes up to 255·128·2^15 ≈ 2^30.
    SingleScaleDecomposition,
    /// `double_scale_initialization`: "the layer uses 16-bit to represent the bias", read as
    /// two 16-bit words (one 32-bit value `B`) on a second scale of its own, S_x·S_w·2^e, with
    /// which the accumulator is initialized (`B · 2^e`). `e` is 0 while the bias fits 32 bits
    /// at the accumulator scale and grows by one per bit it needs beyond, so a large bias at a
    /// tiny accumulator scale (16-bit activations and weights) keeps 31 significant bits.
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

/// A quantized bias: `value · 2^shift` accumulator units, `value` within `i32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuantBias {
    pub value: i64,
    pub shift: u32,
}

impl QuantBias {
    /// The bias in accumulator units.
    pub fn accumulator_units(self) -> i64 {
        self.value << self.shift
    }
}

/// Largest bias shift of `double_scale_initialization`: `value · 2^shift` stays within `i64`.
pub const MAX_BIAS_SHIFT: u32 = 31;

/// The largest magnitudes of `single_scale_decomposition` (u8 · i8 · 2^15), positive and negative.
const SINGLE_MAX: (i64, i64) = ((255 * 127) << 15, (255 * 128) << 15);

/// The bias `b` in accumulator units (scale `acc_scale` = S_x · S_w) as `mode` represents
/// it, or why it cannot be.
pub fn quantize_bias(b: f64, acc_scale: f64, mode: BiasMode) -> Result<QuantBias, String> {
    let t = b / acc_scale;
    if !t.is_finite() {
        return Err(format!(
            "bias {b} is not finite at the accumulator scale {acc_scale:e}"
        ));
    }
    match mode {
        BiasMode::DoubleScaleInitialization => {
            let mut shift = 0u32;
            loop {
                let v = round_half_even(t / (1u64 << shift) as f64);
                if v.abs() <= f64::from(i32::MAX) {
                    return Ok(QuantBias {
                        value: v as i64,
                        shift,
                    });
                }
                if shift == MAX_BIAS_SHIFT {
                    return Err(format!(
                        "bias {b} is {t:e} accumulator units (scale {acc_scale:e}), beyond 2^62 even with double_scale_initialization (narrow the input range or the bias)"
                    ));
                }
                shift += 1;
            }
        }
        BiasMode::SingleScaleDecomposition => {
            let limit = if t < 0.0 { SINGLE_MAX.1 } else { SINGLE_MAX.0 };
            if t.abs() > limit as f64 {
                return Err(format!(
                    "bias {b} is {t:e} accumulator units (scale {acc_scale:e}), beyond single_scale_decomposition's u8·i8·2^15 (±{limit}); set quantization_param(<layer>, bias_mode=double_scale_initialization)"
                ));
            }
            Ok(QuantBias {
                value: nearest_u8_i8_pow2(round_half_even(t)),
                shift: 0,
            })
        }
    }
}

/// The value u · i · 2^k (u in 0..=255, i in −128..=127, k in 0..=15) nearest to `t`
/// (|t| within [`SINGLE_MAX`]).
fn nearest_u8_i8_pow2(t: f64) -> i64 {
    let mut best = 0i64;
    let mut best_err = t.abs();
    let imax = if t < 0.0 { 128 } else { 127 };
    for k in 0..16 {
        let p = (1i64 << k) as f64;
        let target = t.abs() / p;
        if target > 255.0 * f64::from(imax) + 255.0 {
            continue;
        }
        for i in 1..=imax {
            let u = (target / f64::from(i)).round().min(255.0) as i64;
            let v = (u * i64::from(i)) << k;
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
        -best
    } else {
        best
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
        let double = |b: f64, s: f64| quantize_bias(b, s, BiasMode::DoubleScaleInitialization);
        let single = |b: f64, s: f64| quantize_bias(b, s, BiasMode::SingleScaleDecomposition);
        // Double keeps the exact accumulator-scale integer while it fits 32 bits.
        assert_eq!(
            double(12345.4, 1.0),
            Ok(QuantBias {
                value: 12345,
                shift: 0
            })
        );
        // Beyond, it moves to its own scale 2^e coarser: 3·2^33 + 6 units need e = 4 (at
        // e = 3, 3·2^30 exceeds i32) and round to 3·2^29 there.
        let q = double(3.0 * 2f64.powi(33) + 6.0, 1.0).expect("fits");
        assert_eq!((q.value, q.shift), (3 << 29, 4));
        assert_eq!(q.accumulator_units(), 3 << 33);
        let q = double(-2.5, 1e-10).expect("fits");
        assert_eq!(q.shift, 4);
        assert!((q.accumulator_units() as f64 + 2.5e10).abs() <= 8.0);
        // Single is a product u8 * i8 * 2^k: 12345 = 3 * 5 * 823 is not, so it moves to a near one.
        let v = single(12345.0, 1.0).expect("fits").value;
        assert!((v - 12345).abs() <= 8, "{v}");
        assert_eq!(single(-200.0, 1.0).map(|q| q.value), Ok(-200));
        assert_eq!(
            single(-(255.0 * 128.0) * 32768.0, 1.0).map(|q| q.value),
            Ok(-(255 * 128) << 15)
        );
        // Beyond its range it is an error naming the way out.
        let e = single(2.5, 1e-10).unwrap_err();
        assert!(
            e.contains("beyond single_scale_decomposition")
                && e.contains("double_scale_initialization"),
            "{e}"
        );
        assert!(double(f64::INFINITY, 1.0).is_err());
        assert!(double(1e30, 1e-10).unwrap_err().contains("beyond 2^62"));
    }
}
