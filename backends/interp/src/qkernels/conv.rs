//! Integer convolution: grouped 2-D convolution over codes (depthwise is the grouped case
//! with one input channel per group, dense a 1×1 convolution), accumulating
//! Σ w·(x − zp_x) + bias in `i64` and requantizing per output channel.

use super::{requantize, KernelError, Requant};
use ndarray::{Array4, ArrayView4};
use rayon::prelude::*;

/// Geometry of an integer convolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QConvGeometry {
    pub strides: [usize; 2],
    pub dilations: [usize; 2],
    /// `[top, left, bottom, right]`.
    pub pads: [usize; 4],
    pub groups: usize,
}

/// `x` codes `[N, H, W, Cin]` with zero point `zp_x`; `kernel` HWIO `[kh, kw, Cin/groups,
/// Cout]` (signed codes, zero point 0); `bias` `[Cout]` at the accumulator scale;
/// `requant[c]` per output channel. Padding contributes zero (the code `zp_x`).
pub fn conv2d(
    x: ArrayView4<i32>,
    zp_x: i64,
    kernel: ArrayView4<i32>,
    bias: Option<&[i64]>,
    g: &QConvGeometry,
    requant: &[Requant],
) -> Result<Array4<i32>, KernelError> {
    let err = |m: String| KernelError {
        op: "q.conv2d",
        message: m,
    };
    let (n, h, w, cin) = x.dim();
    let (kh, kw, cin_g, cout) = kernel.dim();
    if g.groups == 0 || cin_g * g.groups != cin || cout % g.groups != 0 {
        return Err(err(format!(
            "kernel {:?} with {} groups does not fit {cin} input channels",
            kernel.dim(),
            g.groups
        )));
    }
    if requant.len() != cout || bias.is_some_and(|b| b.len() != cout) {
        return Err(err(format!(
            "{cout} output channels need {cout} requantizations and biases"
        )));
    }
    if g.strides.contains(&0) || g.dilations.contains(&0) {
        return Err(err("strides and dilations must be positive".into()));
    }
    let span = |k: usize, d: usize| d * (k - 1) + 1;
    let (ph, pw) = (h + g.pads[0] + g.pads[2], w + g.pads[1] + g.pads[3]);
    let (eh, ew) = (span(kh, g.dilations[0]), span(kw, g.dilations[1]));
    if ph < eh || pw < ew {
        return Err(err(format!(
            "window {eh}x{ew} does not fit the padded input {ph}x{pw}"
        )));
    }
    let oh = (ph - eh) / g.strides[0] + 1;
    let ow = (pw - ew) / g.strides[1] + 1;
    let cout_g = cout / g.groups;
    let klen = kh * kw * cin_g;
    // Kernel as [cout][kh*kw*cin_g] rows, so each output channel is one dot product.
    let mut wt = vec![0i64; cout * klen];
    for ((i, j, c, o), &v) in kernel.indexed_iter() {
        wt[o * klen + (i * kw + j) * cin_g + c] = v as i64;
    }
    let x = x.as_standard_layout();
    let xs = x.as_slice().unwrap_or(&[]);
    let mut out = vec![0i32; n * oh * ow * cout];
    out.par_chunks_mut(ow * cout)
        .enumerate()
        .for_each(|(row, orow)| {
            let (b, oy) = (row / oh, row % oh);
            let mut patch = vec![0i64; klen];
            for ox in 0..ow {
                for grp in 0..g.groups {
                    for i in 0..kh {
                        for j in 0..kw {
                            let iy = (oy * g.strides[0] + i * g.dilations[0]) as isize
                                - g.pads[0] as isize;
                            let ix = (ox * g.strides[1] + j * g.dilations[1]) as isize
                                - g.pads[1] as isize;
                            let dst = &mut patch[(i * kw + j) * cin_g..][..cin_g];
                            if iy < 0 || ix < 0 || iy as usize >= h || ix as usize >= w {
                                dst.fill(0);
                                continue;
                            }
                            let base =
                                ((b * h + iy as usize) * w + ix as usize) * cin + grp * cin_g;
                            for (d, &s) in dst.iter_mut().zip(&xs[base..base + cin_g]) {
                                *d = s as i64 - zp_x;
                            }
                        }
                    }
                    for oc in grp * cout_g..(grp + 1) * cout_g {
                        let wrow = &wt[oc * klen..(oc + 1) * klen];
                        let acc: i64 = patch.iter().zip(wrow).map(|(a, b)| a * b).sum::<i64>()
                            + bias.map_or(0, |bv| bv[oc]);
                        orow[ox * cout + oc] = requantize(acc, &requant[oc]);
                    }
                }
            }
        });
    Array4::from_shape_vec((n, oh, ow, cout), out).map_err(|e| err(e.to_string()))
}
