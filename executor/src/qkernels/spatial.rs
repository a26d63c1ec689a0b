//! Resize of codes. Nearest resampling only copies values, so it runs the
//! float kernel on the codes as f32 (exact: codes are at most 16-bit) and converts back; the
//! coordinate and rounding modes are `hl.resize`'s. Bilinear resampling blends codes with
//! fixed-point tap weights ([`resize_bilinear`]).

use super::KernelError;
use crate::kernels::resize::{resize, CoordinateMode, Interpolation, NearestMode, ResizeParams};
use hailo_dialect_quant::ops as q;
use ndarray::{Array4, ArrayView4};

/// `hl.resize`'s `coordinate` attribute (default `half_pixel`).
pub fn coordinate_mode(s: &str) -> Option<CoordinateMode> {
    Some(match s {
        "half_pixel" => CoordinateMode::HalfPixel,
        "pytorch_half_pixel" => CoordinateMode::PytorchHalfPixel,
        "align_corners" => CoordinateMode::AlignCorners,
        "asymmetric" => CoordinateMode::Asymmetric,
        "tf_half_pixel_for_nn" => CoordinateMode::TfHalfPixelForNn,
        _ => return None,
    })
}

/// `hl.resize`'s `nearest_mode` attribute (default `round_prefer_floor`).
pub fn nearest_mode(s: &str) -> Option<NearestMode> {
    Some(match s {
        "round_prefer_floor" => NearestMode::RoundPreferFloor,
        "round_prefer_ceil" => NearestMode::RoundPreferCeil,
        "floor" => NearestMode::Floor,
        "ceil" => NearestMode::Ceil,
        _ => return None,
    })
}

/// Resizes `x` `[N, H, W, C]` to `size = [H', W']` by nearest neighbour.
pub fn resize_nearest(
    x: ArrayView4<i32>,
    size: [usize; 2],
    coordinate: CoordinateMode,
    nearest: NearestMode,
) -> Result<Array4<i32>, KernelError> {
    if x.iter().any(|&c| c.unsigned_abs() > 1 << 24) {
        return Err(KernelError {
            op: q::Resize::NAME,
            message: "codes wider than 24 bits cannot be resized exactly".into(),
        });
    }
    let p = ResizeParams {
        size,
        scales: None,
        coordinate_mode: coordinate,
        interpolation: Interpolation::Nearest(nearest),
    };
    let y = resize(x.mapv(|c| c as f32).view(), &p)?;
    Ok(y.mapv(|v| v as i32))
}

/// Per output index along one axis: the two source indices and the F-bit fixed-point weight
/// of the second. The source coordinates come from the float kernel applied to the index
/// ramp 0, 1, …, n − 1 (bilinear resampling of a ramp returns the clamped source
/// coordinate), so both contexts share one coordinate definition.
fn fixed_taps(
    input: usize,
    output: usize,
    coordinate: CoordinateMode,
    frac_bits: u32,
) -> Result<Vec<(usize, usize, i64)>, KernelError> {
    let ramp = Array4::from_shape_fn((1, input, 1, 1), |(_, i, _, _)| i as f32);
    let p = ResizeParams {
        size: [output, 1],
        scales: None,
        coordinate_mode: coordinate,
        interpolation: Interpolation::Bilinear,
    };
    let c = resize(ramp.view(), &p)?;
    let last = input - 1;
    Ok(c.iter()
        .map(|&v| {
            let i0 = (v.max(0.0).floor() as usize).min(last);
            let frac = f64::from(v) - i0 as f64;
            let w = (frac * (1u64 << frac_bits) as f64).round() as i64;
            (i0, (i0 + 1).min(last), w)
        })
        .collect())
}

/// Bilinear resize of `x` `[N, H, W, C]` to `size = [H', W']` on codes: with F = `frac_bits`
/// and tap weights w ∈ [0, 2^F] per axis, y = (Σ (2^F − w_y | w_y)·(2^F − w_x | w_x)·x +
/// 2^(2F−1)) >> 2F. The weights of each axis sum to 2^F, so codes stay in the input's range
/// and type (zero points cancel).
pub fn resize_bilinear(
    x: ArrayView4<i32>,
    size: [usize; 2],
    coordinate: CoordinateMode,
    frac_bits: u32,
) -> Result<Array4<i32>, KernelError> {
    let (n, h, w, c) = x.dim();
    if h == 0 || w == 0 || !(1..=20).contains(&frac_bits) {
        return Err(KernelError {
            op: q::Resize::NAME,
            message: format!(
                "bilinear resize needs a non-empty input (got {h}x{w}) and frac_bits in 1..=20 (got {frac_bits})"
            ),
        });
    }
    let ty = fixed_taps(h, size[0], coordinate, frac_bits)?;
    let tx = fixed_taps(w, size[1], coordinate, frac_bits)?;
    let one = 1i64 << frac_bits;
    let half = 1i64 << (2 * frac_bits - 1);
    Ok(Array4::from_shape_fn(
        (n, size[0], size[1], c),
        |(b, oy, ox, ch)| {
            let ((y0, y1, wy), (x0, x1, wx)) = (ty[oy], tx[ox]);
            let p = |y: usize, xx: usize| i64::from(x[[b, y, xx, ch]]);
            let top = p(y0, x0) * (one - wx) + p(y0, x1) * wx;
            let bottom = p(y1, x0) * (one - wx) + p(y1, x1) * wx;
            ((top * (one - wy) + bottom * wy + half) >> (2 * frac_bits)) as i32
        },
    ))
}
