//! Integer kernels of the quantized emulation: pure functions over integer codes (`i32`
//! tensors, NHWC, batch first) that execute the `q` dialect's arithmetic exactly.
//!
//! Codes of every storage (u8, u16, i4, i8, i16) travel as `i32`; accumulators are `i64`
//! (the convolution uses `i32` lanes when its per-layer bound allows, see [`conv`]) and
//! fixed-point products `i128`, so no intermediate overflows for 16-bit activations and
//! weights. [`requantize`] is the single place a rescale (`multiplier · 2^(−shift)`, round
//! half up) is applied; [`quantize_input`] is HailoRT's input rule (bankers rounding).

pub mod attention;
pub mod conv;
pub mod deconv;
pub mod igemm;
pub mod index;
pub mod pointwise;
pub mod pool;
pub mod shape;
pub mod spatial;

pub use crate::kernels::KernelError;
use ndarray::{ArrayD, ArrayViewD};

/// A requantization target: fixed-point rescale, output zero point and saturation bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requant {
    pub multiplier: i64,
    pub shift: u32,
    pub zero_point: i64,
    /// Inclusive output code bounds (the storage range, or narrower for fused ReLU/ReLU6).
    pub lo: i64,
    pub hi: i64,
}

/// `round(acc · multiplier · 2^(−shift))`, rounding halves towards +∞.
#[inline]
pub fn rescale(acc: i64, multiplier: i64, shift: u32) -> i64 {
    // Convolution accumulators and 31-bit multipliers: |p| < 2^62 and p + 2^(shift−1) <
    // 2^63, so `i64` gives the `i128` result below bit for bit, several times faster.
    if (1..=62).contains(&shift)
        && acc.unsigned_abs() <= 1 << 31
        && multiplier.unsigned_abs() < 1 << 31
    {
        return (acc * multiplier + (1i64 << (shift - 1))) >> shift;
    }
    let p = acc as i128 * multiplier as i128;
    let r = if shift == 0 {
        p
    } else {
        (p + (1i128 << (shift - 1))) >> shift
    };
    r.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// An accumulator to an output code: rescale, add the zero point, saturate. Inlined into
/// the kernels' inner loops (they live in other codegen units).
#[inline]
pub fn requantize(acc: i64, r: &Requant) -> i32 {
    (rescale(acc, r.multiplier, r.shift).saturating_add(r.zero_point)).clamp(r.lo, r.hi) as i32
}

/// HailoRT's input quantization (`hailo/quantization.hpp`): clip x to the layer's
/// `[limvals_min, limvals_max]`, then q = round_half_even(x / scale + zp) in f32, saturated
/// to `[qmin, qmax]`.
pub fn quantize_input(
    x: ArrayViewD<f32>,
    scale: f32,
    zero_point: f32,
    limvals: (f32, f32),
    qrange: (i64, i64),
) -> ArrayD<i32> {
    x.mapv(|v| {
        let c = v.clamp(limvals.0, limvals.1);
        let q = (c / scale + zero_point).round_ties_even();
        (q as i64).clamp(qrange.0, qrange.1) as i32
    })
}

/// x = (q − zp) · scale.
pub fn dequantize(q: ArrayViewD<i32>, scale: f32, zero_point: i64) -> ArrayD<f32> {
    q.mapv(|c| (c as i64 - zero_point) as f32 * scale)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_attention;
#[cfg(test)]
mod tests_layout;
#[cfg(test)]
mod tests_ops;
