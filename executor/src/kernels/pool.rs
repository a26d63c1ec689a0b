//! Max and average pooling (windowed and global), NHWC.
//!
//! Windows accumulate whole channel vectors per tap, so the inner loop is contiguous.

use super::error::KernelError;
use super::window::{Axis1, Padding};
use ndarray::{Array4, ArrayView4, Axis};

/// Hyper-parameters of a windowed pooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool2dParams {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    pub pads: Padding,
    /// Round the output size up (ONNX/PyTorch `ceil_mode`).
    pub ceil_mode: bool,
    /// Average pooling divides by the window size including padded taps (ONNX
    /// `count_include_pad`); taps beyond the explicit padding never count.
    pub count_include_pad: bool,
}

impl Pool2dParams {
    /// A `k`×`k` window with stride `k` and no padding.
    pub fn square(k: usize) -> Self {
        Pool2dParams {
            kernel: [k, k],
            stride: [k, k],
            dilation: [1, 1],
            pads: Padding::default(),
            ceil_mode: false,
            count_include_pad: false,
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Max,
    Avg,
}

fn pool(
    op: &'static str,
    x: ArrayView4<f32>,
    p: &Pool2dParams,
    kind: Kind,
) -> Result<Array4<f32>, KernelError> {
    let (n, h, w, c) = x.dim();
    let ay = Axis1 {
        input: h,
        kernel: p.kernel[0],
        stride: p.stride[0],
        dilation: p.dilation[0],
        pad_before: p.pads.top,
        pad_after: p.pads.bottom,
    };
    let ax = Axis1 {
        input: w,
        kernel: p.kernel[1],
        stride: p.stride[1],
        dilation: p.dilation[1],
        pad_before: p.pads.left,
        pad_after: p.pads.right,
    };
    let (oh, ow) = (ay.output(op, p.ceil_mode)?, ax.output(op, p.ceil_mode)?);
    let x = x.as_standard_layout();
    let xs = x
        .as_slice()
        .ok_or_else(|| KernelError::new(op, "input is not contiguous"))?;
    let init = match kind {
        Kind::Max => f32::NEG_INFINITY,
        Kind::Avg => 0.0,
    };
    let mut out = Array4::from_elem((n, oh, ow, c), init);
    let os = out
        .as_slice_mut()
        .ok_or_else(|| KernelError::new(op, "output is not contiguous"))?;
    // Taps inside the padded extent, for count_include_pad.
    let padded = |a: &Axis1, o: usize| {
        (0..a.kernel)
            .filter(|&k| o * a.stride + k * a.dilation < a.input + a.pad_before + a.pad_after)
            .count()
    };
    for (pix, acc) in os.chunks_exact_mut(c).enumerate() {
        let (img, oy, ox) = (pix / (oh * ow), pix / ow % oh, pix % ow);
        let mut valid = 0usize;
        for ky in 0..ay.kernel {
            let Some(iy) = ay.source(oy, ky) else {
                continue;
            };
            for kx in 0..ax.kernel {
                let Some(ix) = ax.source(ox, kx) else {
                    continue;
                };
                valid += 1;
                let src = &xs[((img * h + iy) * w + ix) * c..][..c];
                match kind {
                    Kind::Max => acc.iter_mut().zip(src).for_each(|(a, &v)| *a = a.max(v)),
                    Kind::Avg => acc.iter_mut().zip(src).for_each(|(a, &v)| *a += v),
                }
            }
        }
        if let Kind::Avg = kind {
            let count = if p.count_include_pad {
                padded(&ay, oy) * padded(&ax, ox)
            } else {
                valid
            };
            let inv = 1.0 / count.max(1) as f32;
            acc.iter_mut().for_each(|a| *a *= inv);
        }
    }
    Ok(out)
}

/// Max pooling; a window lying entirely in the padding yields `-inf`.
pub fn max_pool2d(x: ArrayView4<f32>, p: &Pool2dParams) -> Result<Array4<f32>, KernelError> {
    pool("max_pool2d", x, p, Kind::Max)
}

/// Average pooling.
pub fn avg_pool2d(x: ArrayView4<f32>, p: &Pool2dParams) -> Result<Array4<f32>, KernelError> {
    pool("avg_pool2d", x, p, Kind::Avg)
}

/// Mean over H and W; returns `[n, 1, 1, c]`.
pub fn global_avg_pool(x: ArrayView4<f32>) -> Array4<f32> {
    let (_, h, w, _) = x.dim();
    let mean = x.sum_axis(Axis(1)).sum_axis(Axis(1)) / (h * w).max(1) as f32;
    mean.insert_axis(Axis(1)).insert_axis(Axis(1))
}

/// Maximum over H and W; returns `[n, 1, 1, c]` (`-inf` for an empty image).
pub fn global_max_pool(x: ArrayView4<f32>) -> Array4<f32> {
    let (n, _, _, c) = x.dim();
    let mut out = Array4::from_elem((n, 1, 1, c), f32::NEG_INFINITY);
    for (img, mut o) in x.outer_iter().zip(out.outer_iter_mut()) {
        for px in img.rows() {
            o.iter_mut().zip(px).for_each(|(a, &v)| *a = a.max(v));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::testutil::{assert_close, rand_array};
    use ndarray::{Array4, Ix4};

    /// Direct definition of both poolings.
    fn naive(x: &Array4<f32>, p: &Pool2dParams, max: bool) -> Array4<f32> {
        let (n, h, w, c) = x.dim();
        let size = |i: usize, k: usize, s: usize, d: usize, a: usize, b: usize| {
            let room = i + a + b - d * (k - 1) - 1;
            let mut o = if p.ceil_mode {
                room.div_ceil(s) + 1
            } else {
                room / s + 1
            };
            if p.ceil_mode && (o - 1) * s >= i + a {
                o -= 1;
            }
            o
        };
        let oh = size(
            h,
            p.kernel[0],
            p.stride[0],
            p.dilation[0],
            p.pads.top,
            p.pads.bottom,
        );
        let ow = size(
            w,
            p.kernel[1],
            p.stride[1],
            p.dilation[1],
            p.pads.left,
            p.pads.right,
        );
        let mut out = Array4::zeros((n, oh, ow, c));
        for ((b, oy, ox, ch), o) in out.indexed_iter_mut() {
            let (mut best, mut sum, mut valid, mut padded) = (f32::NEG_INFINITY, 0.0, 0, 0);
            for ky in 0..p.kernel[0] {
                for kx in 0..p.kernel[1] {
                    let y = (oy * p.stride[0] + ky * p.dilation[0]) as isize - p.pads.top as isize;
                    let xx =
                        (ox * p.stride[1] + kx * p.dilation[1]) as isize - p.pads.left as isize;
                    if y < (h + p.pads.bottom) as isize && xx < (w + p.pads.right) as isize {
                        padded += 1;
                    }
                    if y >= 0 && xx >= 0 && y < h as isize && xx < w as isize {
                        let v = x[[b, y as usize, xx as usize, ch]];
                        best = best.max(v);
                        sum += v;
                        valid += 1;
                    }
                }
            }
            *o = if max {
                best
            } else {
                sum / if p.count_include_pad { padded } else { valid } as f32
            };
        }
        out
    }

    #[test]
    fn matches_naive_with_pads_ceil_mode_and_count_include_pad() {
        let x = rand_array(&[2, 7, 8, 3], 21)
            .into_dimensionality::<Ix4>()
            .expect("4d");
        let pads = Padding {
            top: 1,
            left: 0,
            bottom: 1,
            right: 1,
        };
        for (kernel, stride, dilation, ceil_mode, count_include_pad) in [
            ([3, 3], [2, 2], [1, 1], false, false),
            ([3, 3], [2, 2], [1, 1], true, false),
            ([3, 2], [2, 3], [1, 1], true, true),
            ([2, 2], [1, 1], [2, 1], false, true),
        ] {
            let p = Pool2dParams {
                kernel,
                stride,
                dilation,
                pads,
                ceil_mode,
                count_include_pad,
            };
            assert_close(
                &max_pool2d(x.view(), &p).expect("valid").into_dyn(),
                &naive(&x, &p, true).into_dyn(),
                1e-6,
            );
            assert_close(
                &avg_pool2d(x.view(), &p).expect("valid").into_dyn(),
                &naive(&x, &p, false).into_dyn(),
                1e-6,
            );
        }
    }

    #[test]
    fn hand_computed_and_global() {
        let x = Array4::from_shape_vec(
            (1, 2, 2, 2),
            vec![1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 4.0, -4.0],
        )
        .expect("shape");
        let mut p = Pool2dParams::square(2);
        assert_eq!(
            max_pool2d(x.view(), &p)
                .expect("ok")
                .into_raw_vec_and_offset()
                .0,
            vec![4.0, -1.0]
        );
        assert_eq!(
            avg_pool2d(x.view(), &p)
                .expect("ok")
                .into_raw_vec_and_offset()
                .0,
            vec![2.5, -2.5]
        );
        p.pads = Padding {
            top: 0,
            left: 0,
            bottom: 1,
            right: 1,
        };
        p.stride = [1, 1];
        p.count_include_pad = true;
        // Window at (1,1) covers one real pixel and three padded ones.
        let y = avg_pool2d(x.view(), &p).expect("ok");
        assert_eq!(y[[0, 1, 1, 0]], 1.0);
        assert_eq!(
            global_avg_pool(x.view()).into_raw_vec_and_offset().0,
            vec![2.5, -2.5]
        );
        assert_eq!(
            global_max_pool(x.view()).into_raw_vec_and_offset().0,
            vec![4.0, -1.0]
        );
        let err = max_pool2d(x.view(), &Pool2dParams::square(3)).expect_err("too big");
        assert!(
            err.to_string()
                .starts_with("max_pool2d: window of 3 pixels"),
            "{err}"
        );
    }
}
