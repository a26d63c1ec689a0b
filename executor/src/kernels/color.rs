//! Input conversions of the model script's `input_conversion`: a per-pixel 3×3 color matrix
//! with bias (`hl.color_conversion`), and camera formats unpacked to 3 channels
//! (`hl.format_conversion`). Source layouts are the frames' memory layouts, as OpenCV reads
//! them, so a camera buffer can be fed unchanged.

use super::error::{ensure, KernelError};
use ndarray::{Array4, ArrayView4};

/// `y[c] = Σ_k x[k] · kernel[k·3 + c] + bias[c]` on every pixel of an `[N, H, W, 3]` tensor.
pub fn color_conversion(
    x: ArrayView4<f32>,
    kernel: &[f32; 9],
    bias: &[f32; 3],
) -> Result<Array4<f32>, KernelError> {
    let (n, h, w, c) = x.dim();
    ensure!(
        c == 3,
        "color_conversion",
        "input must have 3 channels, got {c}"
    );
    let mut out = Array4::zeros((n, h, w, 3));
    for (src, mut dst) in x.rows().into_iter().zip(out.rows_mut()) {
        for o in 0..3 {
            dst[o] = (0..3).map(|k| src[k] * kernel[k * 3 + o]).sum::<f32>() + bias[o];
        }
    }
    Ok(out)
}

/// A camera format and where its samples live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatConversion {
    /// `[N, H, W, 2]`: per pixel pair `Y0 U Y1 V` → YUV.
    Yuy2,
    /// `[N, 3H/2, W, 1]`: Y plane, then interleaved `U V` at half resolution → YUV.
    Nv12,
    /// As NV12 with `V U` order.
    Nv21,
    /// `[N, 3H/2, W, 1]`: Y plane, then the U plane and the V plane at half resolution → YUV.
    I420,
    /// `[N, H, W, 4]` → the first 3 channels.
    Rgbx,
}

impl FormatConversion {
    /// The kernel for a `conversion` attribute of `hl.format_conversion`.
    pub fn from_name(name: &str) -> Option<FormatConversion> {
        Some(match name {
            "yuy2_to_hailo_yuv" => FormatConversion::Yuy2,
            "nv12_to_hailo_yuv" => FormatConversion::Nv12,
            "nv21_to_hailo_yuv" => FormatConversion::Nv21,
            "i420_to_hailo_yuv" => FormatConversion::I420,
            "tf_rgbx_to_hailo_rgb" => FormatConversion::Rgbx,
            _ => return None,
        })
    }
}

/// Unpacks a camera frame to `[N, H, W, 3]` (YUV, or RGB for RGBX); chroma samples shared by a
/// 2×2 block (NV12/NV21/I420) or a pixel pair (YUY2) are replicated, as OpenCV does.
pub fn format_conversion<T: Copy>(
    x: ArrayView4<T>,
    kind: FormatConversion,
) -> Result<Array4<T>, KernelError> {
    const OP: &str = "format_conversion";
    let (n, hi, w, c) = x.dim();
    match kind {
        FormatConversion::Yuy2 => {
            ensure!(
                c == 2 && w % 2 == 0,
                OP,
                "yuy2 input must be [N, H, W, 2] with an even W, got {:?}",
                x.dim()
            );
            Ok(Array4::from_shape_fn((n, hi, w, 3), |(b, y, x0, ch)| {
                let pair = x0 & !1;
                match ch {
                    0 => x[[b, y, x0, 0]],
                    1 => x[[b, y, pair, 1]],
                    _ => x[[b, y, pair + 1, 1]],
                }
            }))
        }
        FormatConversion::Rgbx => {
            ensure!(
                c == 4,
                OP,
                "rgbx input must be [N, H, W, 4], got {:?}",
                x.dim()
            );
            Ok(x.slice(ndarray::s![.., .., .., 0..3]).to_owned())
        }
        _ => {
            ensure!(
                c == 1 && hi % 3 == 0 && (2 * hi / 3) % 2 == 0 && w % 2 == 0,
                OP,
                "planar YUV 4:2:0 input must be [N, 3H/2, W, 1] with even H and W, got {:?}",
                x.dim()
            );
            let h = 2 * hi / 3;
            // (row, column) of the U and V samples of chroma cell (cy, cx) in the frame.
            let at = |cy: usize, cx: usize, plane: usize| -> (usize, usize) {
                match kind {
                    FormatConversion::Nv12 => (h + cy, 2 * cx + plane),
                    FormatConversion::Nv21 => (h + cy, 2 * cx + 1 - plane),
                    _ => {
                        // I420: each chroma plane holds (H/2)·(W/2) samples, row-major,
                        // laid over the frame's rows of width W.
                        let flat = plane * (h / 2) * (w / 2) + cy * (w / 2) + cx;
                        (h + flat / w, flat % w)
                    }
                }
            };
            Ok(Array4::from_shape_fn((n, h, w, 3), |(b, y, x0, ch)| {
                if ch == 0 {
                    return x[[b, y, x0, 0]];
                }
                let (r, col) = at(y / 2, x0 / 2, ch - 1);
                x[[b, r, col, 0]]
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array4;

    #[test]
    fn color_matrix_applies_rows_as_inputs() {
        let x = Array4::from_shape_vec((1, 1, 2, 3), vec![1.0, 2.0, 3.0, 0.0, 0.0, 1.0]).unwrap();
        // Column c of the kernel gives output c: y0 = x0 + 10 x2, y1 = x1, y2 = 2 x0.
        let k = [1.0, 0.0, 2.0, 0.0, 1.0, 0.0, 10.0, 0.0, 0.0];
        let y = color_conversion(x.view(), &k, &[0.5, 0.0, -1.0]).unwrap();
        assert_eq!(y.as_slice().unwrap(), &[31.5, 2.0, 1.0, 10.5, 0.0, -1.0]);
    }

    #[test]
    fn color_rejects_other_channel_counts() {
        let x = Array4::<f32>::zeros((1, 2, 2, 4));
        let e = color_conversion(x.view(), &[0.0; 9], &[0.0; 3]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "color_conversion: input must have 3 channels, got 4"
        );
    }

    /// A 2×4 frame: Y = 0..8, chroma cells (0,0) and (0,1).
    fn planar(chroma: [f32; 4]) -> Array4<f32> {
        let mut v: Vec<f32> = (0..8).map(|i| i as f32).collect();
        v.extend(chroma);
        Array4::from_shape_vec((1, 3, 4, 1), v).unwrap()
    }

    #[test]
    fn nv12_nv21_i420_place_chroma() {
        let pix = |y: &Array4<f32>, r: usize, c: usize| {
            [y[[0, r, c, 0]], y[[0, r, c, 1]], y[[0, r, c, 2]]]
        };
        // NV12 row: U0 V0 U1 V1.
        let nv12 =
            format_conversion(planar([10., 20., 11., 21.]).view(), FormatConversion::Nv12).unwrap();
        assert_eq!(pix(&nv12, 1, 3), [7.0, 11.0, 21.0]);
        assert_eq!(pix(&nv12, 0, 0), [0.0, 10.0, 20.0]);
        // NV21 row: V0 U0 V1 U1.
        let nv21 =
            format_conversion(planar([20., 10., 21., 11.]).view(), FormatConversion::Nv21).unwrap();
        assert_eq!(nv21, nv12);
        // I420: U plane (U0 U1) then V plane (V0 V1).
        let i420 =
            format_conversion(planar([10., 11., 20., 21.]).view(), FormatConversion::I420).unwrap();
        assert_eq!(i420, nv12);
    }

    #[test]
    fn yuy2_and_rgbx() {
        let x = Array4::from_shape_vec((1, 1, 2, 2), vec![1.0, 50.0, 2.0, 60.0]).unwrap();
        let y = format_conversion(x.view(), FormatConversion::Yuy2).unwrap();
        assert_eq!(y.as_slice().unwrap(), &[1.0, 50.0, 60.0, 2.0, 50.0, 60.0]);
        let x = Array4::from_shape_vec((1, 1, 1, 4), vec![1.0, 2.0, 3.0, 255.0]).unwrap();
        let y = format_conversion(x.view(), FormatConversion::Rgbx).unwrap();
        assert_eq!(y.as_slice().unwrap(), &[1.0, 2.0, 3.0]);
        let bad = Array4::<f32>::zeros((1, 4, 4, 1));
        assert!(format_conversion(bad.view(), FormatConversion::Nv12).is_err());
    }
}
