//! Nearest-neighbour resize of codes. Nearest resampling only copies values, so it runs the
//! float kernel on the codes as f32 (exact: codes are at most 16-bit) and converts back; the
//! coordinate and rounding modes are `hl.resize`'s.

use super::KernelError;
use crate::kernels::resize::{resize, CoordinateMode, Interpolation, NearestMode, ResizeParams};
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
            op: "q.resize",
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
