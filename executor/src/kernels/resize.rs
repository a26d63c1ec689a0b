//! Spatial resize of NHWC tensors: nearest neighbour and bilinear, with ONNX's coordinate
//! transformation and nearest rounding modes.
//!
//! Source coordinates are computed once per output row and column, so the pixel loop only
//! gathers and blends channel vectors.

use super::error::{ensure, KernelError};
use ndarray::{Array4, ArrayView4};

/// How an output coordinate maps back to the input (ONNX `coordinate_transformation_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoordinateMode {
    /// `(o + 0.5) / scale - 0.5`.
    HalfPixel,
    /// As `HalfPixel`, but 0 when the output has length 1.
    PytorchHalfPixel,
    /// `o · (in - 1) / (out - 1)` (0 when the output has length 1).
    AlignCorners,
    /// `o / scale`.
    Asymmetric,
    /// `(o + 0.5) / scale` (TF's legacy nearest-neighbour mode).
    TfHalfPixelForNn,
}

/// Rounding of the source coordinate in nearest mode (ONNX `nearest_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NearestMode {
    RoundPreferFloor,
    RoundPreferCeil,
    Floor,
    Ceil,
}

/// Interpolation method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interpolation {
    Nearest(NearestMode),
    Bilinear,
}

/// Parameters of a resize.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResizeParams {
    /// Output height and width.
    pub size: [usize; 2],
    /// Scale factors used in the coordinate transform; `None` means `out / in`
    /// (ONNX uses the `scales` input when given, which may differ from the size ratio).
    pub scales: Option<[f32; 2]>,
    pub coordinate_mode: CoordinateMode,
    pub interpolation: Interpolation,
}

/// Source coordinate (unclamped) of output index `o`.
fn source_coord(mode: CoordinateMode, o: usize, input: usize, output: usize, scale: f32) -> f32 {
    let o = o as f32;
    match mode {
        CoordinateMode::HalfPixel => (o + 0.5) / scale - 0.5,
        CoordinateMode::PytorchHalfPixel if output > 1 => (o + 0.5) / scale - 0.5,
        CoordinateMode::PytorchHalfPixel => 0.0,
        CoordinateMode::AlignCorners if output > 1 => o * (input - 1) as f32 / (output - 1) as f32,
        CoordinateMode::AlignCorners => 0.0,
        CoordinateMode::Asymmetric => o / scale,
        CoordinateMode::TfHalfPixelForNn => (o + 0.5) / scale,
    }
}

/// Per output index: two source indices and the weight of the second.
fn taps(p: &ResizeParams, axis: usize, input: usize) -> Vec<(usize, usize, f32)> {
    let output = p.size[axis];
    let scale = p.scales.map_or(output as f32 / input as f32, |s| s[axis]);
    let last = input - 1;
    (0..output)
        .map(|o| {
            let c = source_coord(p.coordinate_mode, o, input, output, scale);
            match p.interpolation {
                Interpolation::Nearest(mode) => {
                    let r = match mode {
                        NearestMode::RoundPreferFloor => (c - 0.5).ceil(),
                        NearestMode::RoundPreferCeil => (c + 0.5).floor(),
                        NearestMode::Floor => c.floor(),
                        NearestMode::Ceil => c.ceil(),
                    };
                    let i = (r.max(0.0) as usize).min(last);
                    (i, i, 0.0)
                }
                Interpolation::Bilinear => {
                    let c = c.clamp(0.0, last as f32);
                    let i0 = (c.floor() as usize).min(last);
                    (i0, (i0 + 1).min(last), c - i0 as f32)
                }
            }
        })
        .collect()
}

/// Resizes `x [n, h, w, c]` to `[n, size[0], size[1], c]`.
pub fn resize(x: ArrayView4<f32>, p: &ResizeParams) -> Result<Array4<f32>, KernelError> {
    let (n, h, w, c) = x.dim();
    ensure!(
        h > 0 && w > 0,
        "resize",
        "input {:?} has an empty spatial axis",
        x.shape()
    );
    if let Some(s) = p.scales {
        ensure!(
            s[0] > 0.0 && s[1] > 0.0,
            "resize",
            "scales {s:?} must be positive"
        );
    }
    let (ty, tx) = (taps(p, 0, h), taps(p, 1, w));
    let x = x.as_standard_layout();
    let xs = x
        .as_slice()
        .ok_or_else(|| KernelError::new("resize", "input is not contiguous"))?;
    let mut out = Array4::zeros((n, p.size[0], p.size[1], c));
    let os = out
        .as_slice_mut()
        .ok_or_else(|| KernelError::new("resize", "output is not contiguous"))?;
    let px = |img: usize, y: usize, xx: usize| &xs[((img * h + y) * w + xx) * c..][..c];
    for (i, dst) in os.chunks_exact_mut(c).enumerate() {
        let (img, oy, ox) = (
            i / (p.size[0] * p.size[1]),
            i / p.size[1] % p.size[0],
            i % p.size[1],
        );
        let ((y0, y1, fy), (x0, x1, fx)) = (ty[oy], tx[ox]);
        if let Interpolation::Nearest(_) = p.interpolation {
            dst.copy_from_slice(px(img, y0, x0));
            continue;
        }
        let (a, b, cc, d) = (
            px(img, y0, x0),
            px(img, y0, x1),
            px(img, y1, x0),
            px(img, y1, x1),
        );
        for (k, o) in dst.iter_mut().enumerate() {
            let top = a[k] + (b[k] - a[k]) * fx;
            let bottom = cc[k] + (d[k] - cc[k]) * fx;
            *o = top + (bottom - top) * fy;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: &[f32]) -> Array4<f32> {
        Array4::from_shape_vec((1, 1, values.len(), 1), values.to_vec()).expect("shape")
    }

    fn run(
        x: &Array4<f32>,
        width: usize,
        coordinate_mode: CoordinateMode,
        interpolation: Interpolation,
    ) -> Vec<f32> {
        let p = ResizeParams {
            size: [1, width],
            scales: None,
            coordinate_mode,
            interpolation,
        };
        resize(x.view(), &p)
            .expect("valid")
            .into_raw_vec_and_offset()
            .0
    }

    #[test]
    fn bilinear_modes_match_onnx_reference_values() {
        let x = row(&[0.0, 10.0, 20.0, 30.0]);
        let lin = Interpolation::Bilinear;
        assert_eq!(
            run(&x, 8, CoordinateMode::HalfPixel, lin),
            vec![0.0, 2.5, 7.5, 12.5, 17.5, 22.5, 27.5, 30.0]
        );
        assert_eq!(
            run(&x, 8, CoordinateMode::Asymmetric, lin),
            vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 30.0]
        );
        let ac = run(&x, 7, CoordinateMode::AlignCorners, lin);
        assert_eq!(ac, vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0]);
        assert_eq!(run(&x, 1, CoordinateMode::PytorchHalfPixel, lin), vec![0.0]);
        assert_eq!(run(&x, 1, CoordinateMode::HalfPixel, lin), vec![15.0]);
    }

    #[test]
    fn nearest_modes_round_as_specified() {
        let x = row(&[0.0, 1.0, 2.0, 3.0]);
        let nn = |m| Interpolation::Nearest(m);
        // Asymmetric 4 -> 8: sources 0, .5, 1, 1.5, ...
        assert_eq!(
            run(
                &x,
                8,
                CoordinateMode::Asymmetric,
                nn(NearestMode::RoundPreferFloor)
            ),
            vec![0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
        );
        assert_eq!(
            run(
                &x,
                8,
                CoordinateMode::Asymmetric,
                nn(NearestMode::RoundPreferCeil)
            ),
            vec![0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 3.0]
        );
        assert_eq!(
            run(&x, 8, CoordinateMode::Asymmetric, nn(NearestMode::Ceil)),
            vec![0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 3.0]
        );
        assert_eq!(
            run(&x, 2, CoordinateMode::HalfPixel, nn(NearestMode::Floor)),
            vec![0.0, 2.0]
        );
        assert_eq!(
            run(
                &x,
                3,
                CoordinateMode::TfHalfPixelForNn,
                nn(NearestMode::Floor)
            ),
            vec![0.0, 2.0, 3.0]
        );
    }

    #[test]
    fn bilinear_2d_blends_both_axes() {
        let x = Array4::from_shape_vec(
            (1, 2, 2, 2),
            vec![0.0, 1.0, 10.0, 1.0, 20.0, 1.0, 30.0, 1.0],
        )
        .expect("shape");
        let p = ResizeParams {
            size: [3, 3],
            scales: None,
            coordinate_mode: CoordinateMode::AlignCorners,
            interpolation: Interpolation::Bilinear,
        };
        let y = resize(x.view(), &p).expect("valid");
        assert_eq!(y[[0, 1, 1, 0]], 15.0);
        assert_eq!(y[[0, 2, 1, 0]], 25.0);
        assert!(y.iter().skip(1).step_by(2).all(|&v| v == 1.0));
    }
}
