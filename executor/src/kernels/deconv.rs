//! Transposed convolution ("deconvolution"), NHWC input.
//!
//! Weights use the same layout as [`super::conv`]: `[kh, kw, cin / groups, cout]`, where
//! input channel `g·cin_g + i` of group `g` feeds output channels `g·cout_g ..`. (An ONNX
//! `ConvTranspose` weight `W[cin, cout/groups, kh, kw]` maps to
//! `w[y, x, i, g·cout_g + o] = W[g·cin_g + i, o, y, x]`.)
//!
//! Each kernel tap is one matrix product `x[h·w, cin_g] · w[y, x][cin_g, cout_g]` whose rows
//! are scatter-added to the output pixels that tap reaches; the output is then cropped by
//! the pads, as in ONNX.

use super::error::{ensure, KernelError};
use super::gemm::matmul_into;
use super::window::Padding;
use ndarray::{s, Array2, Array4, ArrayView2, ArrayView4};

/// Hyper-parameters of a transposed convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvTranspose2dParams {
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    /// Cropped from the full output (ONNX `pads`).
    pub pads: Padding,
    /// Extra rows/columns added at the bottom/right (ONNX `output_padding`).
    pub output_padding: [usize; 2],
    pub groups: usize,
}

impl Default for ConvTranspose2dParams {
    fn default() -> Self {
        ConvTranspose2dParams {
            stride: [1, 1],
            dilation: [1, 1],
            pads: Padding::default(),
            output_padding: [0, 0],
            groups: 1,
        }
    }
}

/// Output size of one axis: `(in - 1)·stride + dilation·(k - 1) + 1 + output_padding - pads`.
fn out_size(
    input: usize,
    k: usize,
    stride: usize,
    dilation: usize,
    extra: usize,
    pads: usize,
) -> Result<usize, KernelError> {
    const OP: &str = "conv_transpose2d";
    ensure!(
        input > 0 && k > 0,
        OP,
        "input and kernel sizes must be positive"
    );
    ensure!(
        stride > 0 && dilation > 0,
        OP,
        "stride and dilation must be positive"
    );
    let full = (input - 1) * stride + dilation * (k - 1) + 1 + extra;
    ensure!(
        full > pads,
        OP,
        "pads of {pads} remove the whole output of {full}"
    );
    Ok(full - pads)
}

/// Transposed convolution of `x [n, h, w, cin]`; returns `[n, oh, ow, cout]`.
pub fn conv_transpose2d(
    x: ArrayView4<f32>,
    w: ArrayView4<f32>,
    bias: Option<&[f32]>,
    p: &ConvTranspose2dParams,
) -> Result<Array4<f32>, KernelError> {
    const OP: &str = "conv_transpose2d";
    let (n, h, wd, cin) = x.dim();
    let (kh, kw, cin_g, cout) = w.dim();
    let groups = p.groups;
    ensure!(
        groups > 0 && cin_g * groups == cin,
        OP,
        "input has {cin} channels but weights {:?} with {groups} groups expect {}",
        w.shape(),
        cin_g * groups
    );
    ensure!(
        cout % groups == 0,
        OP,
        "{cout} output channels are not divisible by {groups} groups"
    );
    if let Some(b) = bias {
        ensure!(
            b.len() == cout,
            OP,
            "bias has {} values for {cout} output channels",
            b.len()
        );
    }
    let pd = p.pads;
    let oh = out_size(
        h,
        kh,
        p.stride[0],
        p.dilation[0],
        p.output_padding[0],
        pd.top + pd.bottom,
    )?;
    let ow = out_size(
        wd,
        kw,
        p.stride[1],
        p.dilation[1],
        p.output_padding[1],
        pd.left + pd.right,
    )?;
    let cout_g = cout / groups;
    let mut out = Array4::zeros((n, oh, ow, cout));
    if let Some(b) = bias {
        out.rows_mut()
            .into_iter()
            .for_each(|mut px| px.iter_mut().zip(b).for_each(|(o, &b)| *o = b));
    }
    let x = x.as_standard_layout();
    let mut tap = Array2::zeros((h * wd, cout_g));
    for img in 0..n {
        let xi = x.slice(s![img, .., .., ..]);
        let xi = ArrayView2::from_shape(
            (h * wd, cin),
            xi.as_slice()
                .ok_or_else(|| KernelError::new(OP, "input is not contiguous"))?,
        )
        .map_err(|e| KernelError::new(OP, e.to_string()))?;
        for grp in 0..groups {
            let (ci, co) = (grp * cin_g, grp * cout_g);
            for ky in 0..kh {
                for kx in 0..kw {
                    let wk = w.slice(s![ky, kx, .., co..co + cout_g]);
                    matmul_into(xi.slice(s![.., ci..ci + cin_g]), wk, tap.view_mut(), false);
                    for (pix, row) in tap.rows().into_iter().enumerate() {
                        let (iy, ix) = (pix / wd, pix % wd);
                        let oy = (iy * p.stride[0] + ky * p.dilation[0]).checked_sub(pd.top);
                        let ox = (ix * p.stride[1] + kx * p.dilation[1]).checked_sub(pd.left);
                        let (Some(oy), Some(ox)) = (oy, ox) else {
                            continue;
                        };
                        if oy >= oh || ox >= ow {
                            continue;
                        }
                        let mut dst = out.slice_mut(s![img, oy, ox, co..co + cout_g]);
                        dst.iter_mut().zip(row).for_each(|(d, &v)| *d += v);
                    }
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::testutil::{assert_close, rand_array};
    use ndarray::Ix4;

    /// Direct definition: every input pixel spreads `x · w` over the taps it reaches.
    fn naive(
        x: &Array4<f32>,
        w: &Array4<f32>,
        bias: &[f32],
        p: &ConvTranspose2dParams,
    ) -> Array4<f32> {
        let (n, h, wd, _) = x.dim();
        let (kh, kw, cin_g, cout) = w.dim();
        let cout_g = cout / p.groups;
        let full_h = (h - 1) * p.stride[0] + p.dilation[0] * (kh - 1) + 1 + p.output_padding[0];
        let full_w = (wd - 1) * p.stride[1] + p.dilation[1] * (kw - 1) + 1 + p.output_padding[1];
        let mut full = Array4::<f32>::zeros((n, full_h, full_w, cout));
        for b in 0..n {
            for iy in 0..h {
                for ix in 0..wd {
                    for ky in 0..kh {
                        for kx in 0..kw {
                            for co in 0..cout {
                                let grp = co / cout_g;
                                let oy = iy * p.stride[0] + ky * p.dilation[0];
                                let ox = ix * p.stride[1] + kx * p.dilation[1];
                                for ci in 0..cin_g {
                                    full[[b, oy, ox, co]] +=
                                        x[[b, iy, ix, grp * cin_g + ci]] * w[[ky, kx, ci, co]];
                                }
                            }
                        }
                    }
                }
            }
        }
        let pd = p.pads;
        let mut out = full
            .slice(s![
                ..,
                pd.top..full_h - pd.bottom,
                pd.left..full_w - pd.right,
                ..
            ])
            .to_owned();
        out.rows_mut()
            .into_iter()
            .for_each(|mut r| r.iter_mut().zip(bias).for_each(|(o, b)| *o += b));
        out
    }

    fn check(x: [usize; 4], w: [usize; 4], p: ConvTranspose2dParams) {
        let xa = rand_array(&x, 11).into_dimensionality::<Ix4>().expect("4d");
        let wa = rand_array(&w, 12).into_dimensionality::<Ix4>().expect("4d");
        let bias: Vec<f32> = (0..w[3]).map(|i| 0.2 * i as f32).collect();
        let got = conv_transpose2d(xa.view(), wa.view(), Some(&bias), &p).expect("valid");
        assert_close(
            &got.into_dyn(),
            &naive(&xa, &wa, &bias, &p).into_dyn(),
            1e-5,
        );
    }

    #[test]
    fn matches_naive_with_stride_pads_output_padding_groups_dilation() {
        check(
            [1, 3, 4, 2],
            [3, 3, 2, 3],
            ConvTranspose2dParams {
                stride: [2, 2],
                ..Default::default()
            },
        );
        check(
            [2, 5, 3, 4],
            [4, 4, 2, 6],
            ConvTranspose2dParams {
                stride: [2, 3],
                pads: Padding {
                    top: 1,
                    left: 2,
                    bottom: 0,
                    right: 1,
                },
                output_padding: [1, 0],
                groups: 2,
                ..Default::default()
            },
        );
        check(
            [1, 4, 4, 3],
            [3, 2, 3, 2],
            ConvTranspose2dParams {
                dilation: [2, 3],
                pads: Padding::uniform(1),
                ..Default::default()
            },
        );
    }

    #[test]
    fn hand_computed_stride_2() {
        let x = Array4::from_shape_vec((1, 1, 2, 1), vec![1.0, 2.0]).expect("shape");
        let w = Array4::from_shape_vec((1, 2, 1, 1), vec![1.0, 10.0]).expect("shape");
        let p = ConvTranspose2dParams {
            stride: [1, 2],
            ..Default::default()
        };
        let y = conv_transpose2d(x.view(), w.view(), None, &p).expect("valid");
        assert_eq!(y.into_raw_vec_and_offset().0, vec![1.0, 10.0, 2.0, 20.0]);
    }
}
