//! Integer pooling: max pooling on codes (monotone, so exact in the input's own type) and
//! average pooling as a window sum rescaled and divided by the window size. The output size
//! and `ceil_mode` follow the float kernels' window geometry ([`Axis1`]), so both executors
//! agree on which windows exist and which taps count.

use super::{rescale, KernelError, Requant};
use crate::kernels::window::Axis1;
use hailo_dialect_quant::ops as q;
use ndarray::{Array4, ArrayView4};

/// Pooling window geometry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QPoolGeometry {
    pub kernel: [usize; 2],
    pub strides: [usize; 2],
    /// `[top, left, bottom, right]`.
    pub pads: [usize; 4],
    /// Average pooling divides by the window's taps inside the padded input (padding
    /// included) when true, by its taps inside the input when false.
    pub count_include_pad: bool,
    /// Round the output size up (ONNX/PyTorch `ceil_mode`); a window that starts in the
    /// trailing padding is dropped.
    pub ceil_mode: bool,
}

impl QPoolGeometry {
    /// The window geometry along axis `a` (0: rows, 1: columns) of an input of `size`.
    fn axis(&self, a: usize, size: usize) -> Axis1 {
        Axis1 {
            input: size,
            kernel: self.kernel[a],
            stride: self.strides[a],
            dilation: 1,
            pad_before: self.pads[a],
            pad_after: self.pads[a + 2],
        }
    }
}

fn out_dims(
    h: usize,
    w: usize,
    g: &QPoolGeometry,
    op: &'static str,
) -> Result<(usize, usize), KernelError> {
    Ok((
        g.axis(0, h).output(op, g.ceil_mode)?,
        g.axis(1, w).output(op, g.ceil_mode)?,
    ))
}

/// Visits every output pixel with the in-bounds input pixels of its window and the number of
/// its taps inside the padded input.
fn pool(
    x: ArrayView4<i32>,
    g: &QPoolGeometry,
    op: &'static str,
    mut f: impl FnMut(&mut dyn Iterator<Item = i32>, usize) -> i32,
) -> Result<Array4<i32>, KernelError> {
    let (n, h, w, c) = x.dim();
    let (oh, ow) = out_dims(h, w, g, op)?;
    let mut out = Array4::<i32>::zeros((n, oh, ow, c));
    // Taps of output position `o` along axis `a` inside the padded extent `padded`.
    let taps = |a: usize, o: usize, padded: usize| {
        (0..g.kernel[a])
            .filter(|&k| o * g.strides[a] + k < padded)
            .count()
    };
    let (ph, pw) = (h + g.pads[0] + g.pads[2], w + g.pads[1] + g.pads[3]);
    for ((b, oy, ox, ch), o) in out.indexed_iter_mut() {
        let padded = taps(0, oy, ph) * taps(1, ox, pw);
        let y0 = (oy * g.strides[0]) as isize - g.pads[0] as isize;
        let x0 = (ox * g.strides[1]) as isize - g.pads[1] as isize;
        let mut it = (0..g.kernel[0])
            .flat_map(|i| (0..g.kernel[1]).map(move |j| (i, j)))
            .filter_map(|(i, j)| {
                let (yy, xx) = (y0 + i as isize, x0 + j as isize);
                (yy >= 0 && xx >= 0 && (yy as usize) < h && (xx as usize) < w)
                    .then(|| x[[b, yy as usize, xx as usize, ch]])
            });
        *o = f(&mut it, padded);
    }
    Ok(out)
}

/// Max pooling on codes; padding never wins (a window entirely in padding gives `i32::MIN`).
/// Each output pixel takes the running maximum of its taps over all channels at once.
pub fn max_pool(x: ArrayView4<i32>, g: &QPoolGeometry) -> Result<Array4<i32>, KernelError> {
    let (n, h, w, c) = x.dim();
    let (oh, ow) = out_dims(h, w, g, q::MaxPool::NAME)?;
    let x = x.as_standard_layout();
    let xs = x.as_slice().unwrap_or(&[]);
    let mut out = vec![i32::MIN; n * oh * ow * c];
    for (p, o) in out.chunks_exact_mut(c.max(1)).enumerate() {
        let (b, oy, ox) = (p / (oh * ow), p / ow % oh, p % ow);
        for i in 0..g.kernel[0] {
            let Some(iy) = (oy * g.strides[0] + i)
                .checked_sub(g.pads[0])
                .filter(|&v| v < h)
            else {
                continue;
            };
            for j in 0..g.kernel[1] {
                let Some(ix) = (ox * g.strides[1] + j)
                    .checked_sub(g.pads[1])
                    .filter(|&v| v < w)
                else {
                    continue;
                };
                let src = &xs[((b * h + iy) * w + ix) * c..][..c];
                for (o, &v) in o.iter_mut().zip(src) {
                    *o = (*o).max(v);
                }
            }
        }
    }
    Array4::from_shape_vec((n, oh, ow, c), out).map_err(|e| KernelError {
        op: q::MaxPool::NAME,
        message: e.to_string(),
    })
}

/// y = zp_out + round(rescale(Σ(x − zp_in)) / count), saturated; padding counts as value 0.
pub fn avg_pool(
    x: ArrayView4<i32>,
    zp_in: i64,
    g: &QPoolGeometry,
    r: &Requant,
) -> Result<Array4<i32>, KernelError> {
    let include = g.count_include_pad;
    pool(x, g, q::AvgPool::NAME, |it, padded| {
        let mut sum = 0i64;
        let mut count = 0i64;
        for v in it {
            sum += v as i64 - zp_in;
            count += 1;
        }
        let count = if include { padded as i64 } else { count }.max(1);
        avg_code(sum, count, r)
    })
}

/// Global average pooling `[N, H, W, C] → [N, 1, 1, C]`.
pub fn global_avg_pool(x: ArrayView4<i32>, zp_in: i64, r: &Requant) -> Array4<i32> {
    let (n, h, w, c) = x.dim();
    let mut out = Array4::<i32>::zeros((n, 1, 1, c));
    for b in 0..n {
        for ch in 0..c {
            let mut sum = 0i64;
            for i in 0..h {
                for j in 0..w {
                    sum += x[[b, i, j, ch]] as i64 - zp_in;
                }
            }
            out[[b, 0, 0, ch]] = avg_code(sum, (h * w) as i64, r);
        }
    }
    out
}

/// round(sum · m · 2^(−shift) / count) + zp, rounding halves up, saturated.
fn avg_code(sum: i64, count: i64, r: &Requant) -> i32 {
    let num = rescale(sum, r.multiplier, 0) as i128;
    let den = (count as i128) << r.shift;
    let q = (2 * num + den).div_euclid(2 * den);
    (q as i64).saturating_add(r.zero_point).clamp(r.lo, r.hi) as i32
}
