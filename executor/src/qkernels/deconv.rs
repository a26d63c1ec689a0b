//! Integer transposed convolution (`q.deconv2d`), NHWC codes, kernel `[kh, kw, cin/groups,
//! cout]` as [`crate::kernels::deconv`]: every input code less its zero point, times each
//! kernel tap, is added to the `i64` accumulator of the output pixel the tap reaches
//! (`iy·stride + ky·dilation − pad_top`, likewise along x); pixels the taps do not reach
//! (`output_padding`) hold the bias alone. Each accumulator plus bias is requantized with
//! its output channel's rescale.

use super::{requantize, KernelError, Requant};
use crate::kernels::error::ensure;
use ndarray::{Array4, ArrayView4};

/// Geometry of a transposed convolution; `pads` `[top, left, bottom, right]` crop the full
/// output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QDeconvGeometry {
    pub strides: [usize; 2],
    pub dilations: [usize; 2],
    pub pads: [usize; 4],
    pub output_padding: [usize; 2],
    pub groups: usize,
}

/// One output extent: `(in − 1)·stride + dilation·(k − 1) + 1 + extra − pads`.
fn extent(
    input: usize,
    k: usize,
    stride: usize,
    dilation: usize,
    extra: usize,
    pads: usize,
) -> Option<usize> {
    let full = (input.checked_sub(1)? * stride) + dilation * k.checked_sub(1)? + 1 + extra;
    full.checked_sub(pads).filter(|&e| e > 0)
}

/// The transposed convolution of `x [n, h, w, cin]` (zero point `zp`) with `w`, plus
/// `bias`, requantized per output channel by `out`.
pub fn deconv2d(
    x: ArrayView4<i32>,
    zp: i64,
    w: ArrayView4<i32>,
    bias: &[i64],
    g: &QDeconvGeometry,
    out: &[Requant],
) -> Result<Array4<i32>, KernelError> {
    const OP: &str = "q.deconv2d";
    let (n, h, wd, cin) = x.dim();
    let (kh, kw, cin_g, cout) = w.dim();
    let groups = g.groups;
    ensure!(
        groups > 0 && cin_g * groups == cin && cout.is_multiple_of(groups),
        OP,
        "input of {cin} channels and kernel {:?} do not fit {groups} groups",
        w.shape()
    );
    ensure!(
        bias.len() == cout && out.len() == cout,
        OP,
        "bias and rescale need {cout} output channels"
    );
    ensure!(
        g.strides.iter().chain(&g.dilations).all(|&s| s > 0),
        OP,
        "strides and dilations must be positive"
    );
    let [top, left, bottom, right] = g.pads;
    let oh = extent(
        h,
        kh,
        g.strides[0],
        g.dilations[0],
        g.output_padding[0],
        top + bottom,
    );
    let ow = extent(
        wd,
        kw,
        g.strides[1],
        g.dilations[1],
        g.output_padding[1],
        left + right,
    );
    let (Some(oh), Some(ow)) = (oh, ow) else {
        return Err(KernelError::new(OP, "the pads remove the whole output"));
    };
    let cout_g = cout / groups;
    let mut acc = Array4::<i64>::zeros((n, oh, ow, cout));
    for img in 0..n {
        for iy in 0..h {
            for ix in 0..wd {
                for ci in 0..cin {
                    let d = x[[img, iy, ix, ci]] as i64 - zp;
                    if d == 0 {
                        continue;
                    }
                    let (grp, i) = (ci / cin_g, ci % cin_g);
                    for ky in 0..kh {
                        let Some(oy) = (iy * g.strides[0] + ky * g.dilations[0])
                            .checked_sub(top)
                            .filter(|&y| y < oh)
                        else {
                            continue;
                        };
                        for kx in 0..kw {
                            let Some(ox) = (ix * g.strides[1] + kx * g.dilations[1])
                                .checked_sub(left)
                                .filter(|&x| x < ow)
                            else {
                                continue;
                            };
                            for o in grp * cout_g..(grp + 1) * cout_g {
                                acc[[img, oy, ox, o]] += d * w[[ky, kx, i, o]] as i64;
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(Array4::from_shape_fn((n, oh, ow, cout), |(b, y, xx, c)| {
        requantize(acc[[b, y, xx, c]] + bias[c], &out[c])
    }))
}
