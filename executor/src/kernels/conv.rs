//! 2-D convolution, NHWC input and HWIO weights `[kh, kw, cin / groups, cout]`.
//!
//! General convolutions are lowered to one matrix product per image and group: the
//! receptive fields are unrolled into a scratch matrix (im2col, `[oh·ow, kh·kw·cin_g]`) and
//! multiplied by the weights viewed as `[kh·kw·cin_g, cout]`. 1×1 stride-1 unpadded
//! convolutions skip the unrolling; depthwise convolutions go to [`super::depthwise`].

use super::activation::{activate_slice, Activation};
use super::depthwise::depthwise_conv2d_act_into;
use super::error::{ensure, KernelError};
use super::gemm::{matmul_into, matmul_into_with};
use super::window::{Axis1, Padding};
use ndarray::{s, Array4, ArrayView2, ArrayView4, ArrayViewMut2, ArrayViewMut4};
use rayon::prelude::*;

/// Hyper-parameters of a convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dParams {
    /// Vertical, horizontal stride.
    pub stride: [usize; 2],
    /// Vertical, horizontal dilation.
    pub dilation: [usize; 2],
    pub pads: Padding,
    pub groups: usize,
}

impl Default for Conv2dParams {
    fn default() -> Self {
        Conv2dParams {
            stride: [1, 1],
            dilation: [1, 1],
            pads: Padding::default(),
            groups: 1,
        }
    }
}

/// Validated sizes of one convolution call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConvGeometry {
    pub n: usize,
    pub cin: usize,
    pub cout: usize,
    pub cin_g: usize,
    pub cout_g: usize,
    pub groups: usize,
    pub y: Axis1,
    pub x: Axis1,
    pub oh: usize,
    pub ow: usize,
}

impl ConvGeometry {
    pub fn new(
        op: &'static str,
        x: &[usize],
        w: &[usize],
        bias: Option<&[f32]>,
        p: &Conv2dParams,
    ) -> Result<Self, KernelError> {
        let (n, h, wd, cin) = (x[0], x[1], x[2], x[3]);
        let (kh, kw, cin_g, cout) = (w[0], w[1], w[2], w[3]);
        let groups = p.groups;
        ensure!(groups > 0, op, "groups must be positive");
        ensure!(
            cin_g * groups == cin,
            op,
            "input has {cin} channels but weights {w:?} with {groups} groups expect {}",
            cin_g * groups
        );
        ensure!(
            cout % groups == 0,
            op,
            "{cout} output channels are not divisible by {groups} groups"
        );
        if let Some(b) = bias {
            ensure!(
                b.len() == cout,
                op,
                "bias has {} values for {cout} output channels",
                b.len()
            );
        }
        let y = Axis1 {
            input: h,
            kernel: kh,
            stride: p.stride[0],
            dilation: p.dilation[0],
            pad_before: p.pads.top,
            pad_after: p.pads.bottom,
        };
        let x_axis = Axis1 {
            input: wd,
            kernel: kw,
            stride: p.stride[1],
            dilation: p.dilation[1],
            pad_before: p.pads.left,
            pad_after: p.pads.right,
        };
        Ok(ConvGeometry {
            n,
            cin,
            cout,
            cin_g,
            cout_g: cout / groups,
            groups,
            oh: y.output(op, false)?,
            ow: x_axis.output(op, false)?,
            y,
            x: x_axis,
        })
    }

    pub fn out_shape(&self) -> [usize; 4] {
        [self.n, self.oh, self.ow, self.cout]
    }

    /// Checks that `out` has the output shape and a contiguous layout, and returns its data.
    pub fn out_slice<'a>(
        &self,
        op: &'static str,
        out: &'a mut ArrayViewMut4<f32>,
    ) -> Result<&'a mut [f32], KernelError> {
        let expected = self.out_shape();
        ensure!(
            out.shape() == expected,
            op,
            "output buffer has shape {:?}, expected {expected:?}",
            out.shape()
        );
        out.as_slice_mut()
            .ok_or_else(|| KernelError::new(op, "output buffer must be in standard (C) layout"))
    }

    /// Fills every output pixel with the bias (or zeros); returns whether a bias was written.
    pub fn init_output(&self, out: &mut [f32], bias: Option<&[f32]>) -> bool {
        match bias {
            Some(b) => {
                out.chunks_exact_mut(self.cout)
                    .for_each(|px| px.copy_from_slice(b));
                true
            }
            None => {
                out.fill(0.0);
                false
            }
        }
    }
}

/// Output shape `[n, oh, ow, cout]` of [`conv2d`] for the given input and weight shapes.
pub fn conv2d_output_shape(
    x: [usize; 4],
    w: [usize; 4],
    p: &Conv2dParams,
) -> Result<[usize; 4], KernelError> {
    Ok(ConvGeometry::new("conv2d", &x, &w, None, p)?.out_shape())
}

/// Convolution of `x` `[n, h, w, cin]` with `w` `[kh, kw, cin/groups, cout]` plus optional
/// per-output-channel `bias`; returns `[n, oh, ow, cout]`.
pub fn conv2d(
    x: ArrayView4<f32>,
    w: ArrayView4<f32>,
    bias: Option<&[f32]>,
    p: &Conv2dParams,
) -> Result<Array4<f32>, KernelError> {
    let shape = ConvGeometry::new("conv2d", x.shape(), w.shape(), bias, p)?.out_shape();
    let mut out = Array4::zeros(shape);
    conv2d_into(x, w, bias, p, out.view_mut(), &mut Vec::new())?;
    Ok(out)
}

/// [`conv2d`] writing into `out` (standard layout, exact output shape). `scratch` holds the
/// unrolled patches and is grown as needed; reuse it across calls to avoid allocations.
pub fn conv2d_into(
    x: ArrayView4<f32>,
    w: ArrayView4<f32>,
    bias: Option<&[f32]>,
    p: &Conv2dParams,
    out: ArrayViewMut4<f32>,
    scratch: &mut Vec<f32>,
) -> Result<(), KernelError> {
    conv2d_act_into(x, w, bias, p, Activation::Linear, out, scratch)
}

/// Output rows per block of a pointwise convolution: one block's outputs stay in cache
/// while the bias, the product and the activation are applied.
const POINTWISE_ROWS: usize = 256;

/// [`conv2d_into`] followed by the activation `act`, applied while each block of output
/// rows is still in cache instead of in a separate pass over the whole tensor.
pub fn conv2d_act_into(
    x: ArrayView4<f32>,
    w: ArrayView4<f32>,
    bias: Option<&[f32]>,
    p: &Conv2dParams,
    act: Activation,
    mut out: ArrayViewMut4<f32>,
    scratch: &mut Vec<f32>,
) -> Result<(), KernelError> {
    const OP: &str = "conv2d";
    let g = ConvGeometry::new(OP, x.shape(), w.shape(), bias, p)?;
    if g.groups > 1 && g.cin_g == 1 {
        return depthwise_conv2d_act_into(x, w, bias, p, act, out);
    }
    let out = g.out_slice(OP, &mut out)?;
    let x = x.as_standard_layout();
    let xs = x
        .as_slice()
        .ok_or_else(|| KernelError::new(OP, "input is not contiguous"))?;
    let w = w.as_standard_layout();
    let (kh, kw) = (g.y.kernel, g.x.kernel);
    let k = kh * kw * g.cin_g;
    let wmat = w
        .view()
        .into_shape_with_order((k, g.cout))
        .map_err(|e| KernelError::new(OP, e.to_string()))?;
    let pixels = g.oh * g.ow;
    let pointwise =
        kh == 1 && kw == 1 && g.y.stride == 1 && g.x.stride == 1 && p.pads == Padding::default();
    if pointwise {
        // Blocks of rows run in parallel, each with a single-threaded GEMM.
        return out
            .par_chunks_mut(POINTWISE_ROWS * g.cout)
            .enumerate()
            .try_for_each(|(block, c)| {
                let r0 = block * POINTWISE_ROWS;
                let rows = c.len() / g.cout;
                let a = ArrayView2::from_shape((rows, g.cin), &xs[r0 * g.cin..(r0 + rows) * g.cin])
                    .map_err(|e| KernelError::new(OP, e.to_string()))?;
                let accumulate = g.init_output(c, bias);
                let mut cm = out_rows(c, g.cout, 0..rows)?;
                for grp in 0..g.groups {
                    let (ci, co) = (grp * g.cin_g, grp * g.cout_g);
                    matmul_into_with(
                        a.slice(s![.., ci..ci + g.cin_g]),
                        wmat.slice(s![.., co..co + g.cout_g]),
                        cm.slice_mut(s![.., co..co + g.cout_g]),
                        accumulate,
                        false,
                    );
                }
                activate_slice(act, c);
                Ok(())
            });
    }
    let accumulate = g.init_output(out, bias);
    scratch.resize(pixels * k, 0.0);
    let image_len = g.y.input * g.x.input * g.cin;
    for img in 0..g.n {
        let xi = &xs[img * image_len..(img + 1) * image_len];
        let mut c_img = out_rows(out, g.cout, img * pixels..(img + 1) * pixels)?;
        for grp in 0..g.groups {
            im2col(&g, xi, grp, scratch);
            let a = ArrayView2::from_shape((pixels, k), &scratch[..])
                .map_err(|e| KernelError::new(OP, e.to_string()))?;
            let co = grp * g.cout_g;
            matmul_into(
                a,
                wmat.slice(s![.., co..co + g.cout_g]),
                c_img.slice_mut(s![.., co..co + g.cout_g]),
                accumulate,
            );
        }
        activate_slice(
            act,
            &mut out[img * pixels * g.cout..(img + 1) * pixels * g.cout],
        );
    }
    Ok(())
}

/// Rows `rows` of the output viewed as a `[pixels, cout]` matrix.
fn out_rows(
    out: &mut [f32],
    cout: usize,
    rows: std::ops::Range<usize>,
) -> Result<ArrayViewMut2<'_, f32>, KernelError> {
    ArrayViewMut2::from_shape(
        (rows.len(), cout),
        &mut out[rows.start * cout..rows.end * cout],
    )
    .map_err(|e| KernelError::new("conv2d", e.to_string()))
}

/// Unrolls the receptive fields of group `grp` of one image into `cols` `[oh·ow, kh·kw·cin_g]`.
fn im2col(g: &ConvGeometry, image: &[f32], grp: usize, cols: &mut [f32]) {
    let (kh, kw, cin_g) = (g.y.kernel, g.x.kernel, g.cin_g);
    let row_len = kh * kw * cin_g;
    let c0 = grp * cin_g;
    // Blocks of output rows in parallel: serial, the unrolling bounded the two-thread speedup.
    let block = IM2COL_ROWS * g.ow * row_len;
    cols.par_chunks_mut(block)
        .enumerate()
        .for_each(|(b, chunk)| {
            for (i, row) in chunk.chunks_exact_mut(row_len).enumerate() {
                let row_idx = b * IM2COL_ROWS * g.ow + i;
                let (oy, ox) = (row_idx / g.ow, row_idx % g.ow);
                for ky in 0..kh {
                    let iy = g.y.source(oy, ky);
                    for kx in 0..kw {
                        let dst = &mut row[(ky * kw + kx) * cin_g..(ky * kw + kx + 1) * cin_g];
                        match (iy, g.x.source(ox, kx)) {
                            (Some(iy), Some(ix)) => {
                                let src = (iy * g.x.input + ix) * g.cin + c0;
                                dst.copy_from_slice(&image[src..src + cin_g]);
                            }
                            _ => dst.fill(0.0),
                        }
                    }
                }
            }
        });
}

/// Output rows per parallel task of [`im2col`].
const IM2COL_ROWS: usize = 4;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::kernels::testutil::{assert_close, rand_array};
    use ndarray::{Array4, Ix4};

    /// Direct seven-loop convolution used as the reference for all conv-like kernels.
    pub fn naive_conv(
        x: &Array4<f32>,
        w: &Array4<f32>,
        bias: Option<&[f32]>,
        p: &Conv2dParams,
    ) -> Array4<f32> {
        let (n, h, wd, cin) = x.dim();
        let (kh, kw, cin_g, cout) = w.dim();
        let cout_g = cout / p.groups;
        let oh = (h + p.pads.top + p.pads.bottom - p.dilation[0] * (kh - 1) - 1) / p.stride[0] + 1;
        let ow = (wd + p.pads.left + p.pads.right - p.dilation[1] * (kw - 1) - 1) / p.stride[1] + 1;
        assert_eq!(cin, cin_g * p.groups);
        let mut out = Array4::zeros((n, oh, ow, cout));
        for b in 0..n {
            for oy in 0..oh {
                for ox in 0..ow {
                    for co in 0..cout {
                        let grp = co / cout_g;
                        let mut acc = bias.map_or(0.0, |b| b[co]) as f64;
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (oy * p.stride[0] + ky * p.dilation[0]) as isize
                                    - p.pads.top as isize;
                                let ix = (ox * p.stride[1] + kx * p.dilation[1]) as isize
                                    - p.pads.left as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                    continue;
                                }
                                for ci in 0..cin_g {
                                    acc += (x[[b, iy as usize, ix as usize, grp * cin_g + ci]]
                                        * w[[ky, kx, ci, co]])
                                        as f64;
                                }
                            }
                        }
                        out[[b, oy, ox, co]] = acc as f32;
                    }
                }
            }
        }
        out
    }

    fn rand4(shape: [usize; 4], seed: u64) -> Array4<f32> {
        rand_array(&shape, seed)
            .into_dimensionality::<Ix4>()
            .expect("rank 4")
    }

    fn check(x: [usize; 4], w: [usize; 4], p: Conv2dParams, with_bias: bool) {
        let xa = rand4(x, 1);
        let wa = rand4(w, 2);
        let bias: Vec<f32> = (0..w[3]).map(|i| i as f32 * 0.1 - 0.3).collect();
        let bias = with_bias.then_some(bias.as_slice());
        let got = conv2d(xa.view(), wa.view(), bias, &p).expect("valid conv");
        let expected = naive_conv(&xa, &wa, bias, &p);
        assert_close(&got.into_dyn(), &expected.into_dyn(), 1e-5);
    }

    #[test]
    fn matches_naive_on_odd_shapes_groups_dilation_and_asymmetric_pads() {
        let pads = Padding {
            top: 2,
            left: 0,
            bottom: 1,
            right: 3,
        };
        check(
            [2, 7, 9, 3],
            [3, 3, 3, 5],
            Conv2dParams {
                pads,
                ..Default::default()
            },
            true,
        );
        check(
            [1, 11, 8, 4],
            [3, 2, 4, 6],
            Conv2dParams {
                stride: [2, 3],
                dilation: [2, 1],
                pads,
                groups: 1,
            },
            false,
        );
        check(
            [2, 6, 6, 6],
            [3, 3, 2, 9],
            Conv2dParams {
                groups: 3,
                pads: Padding::uniform(1),
                ..Default::default()
            },
            true,
        );
        check([1, 5, 5, 8], [1, 1, 8, 7], Conv2dParams::default(), true);
        check(
            [3, 5, 4, 8],
            [1, 1, 4, 6],
            Conv2dParams {
                groups: 2,
                ..Default::default()
            },
            false,
        );
        check(
            [1, 9, 9, 4],
            [1, 1, 4, 5],
            Conv2dParams {
                stride: [2, 2],
                ..Default::default()
            },
            true,
        );
        check(
            [1, 8, 10, 3],
            [7, 5, 3, 4],
            Conv2dParams {
                stride: [2, 2],
                dilation: [1, 2],
                pads: Padding::uniform(3),
                groups: 1,
            },
            true,
        );
    }

    #[test]
    fn hand_computed_3x3_box_filter() {
        let x = Array4::from_shape_vec((1, 3, 3, 1), (1..=9).map(|v| v as f32).collect())
            .expect("shape");
        let w = Array4::from_elem((2, 2, 1, 1), 1.0);
        let y = conv2d(x.view(), w.view(), Some(&[0.5]), &Conv2dParams::default()).expect("valid");
        assert_eq!(y.into_raw_vec_and_offset().0, vec![12.5, 16.5, 24.5, 28.5]);
    }

    #[test]
    fn into_variant_reuses_buffers_and_rejects_bad_shapes() {
        let x = rand4([1, 6, 6, 4], 3);
        let w = rand4([3, 3, 4, 2], 4);
        let p = Conv2dParams::default();
        let mut out = Array4::from_elem((1, 4, 4, 2), f32::NAN);
        let mut scratch = Vec::new();
        conv2d_into(x.view(), w.view(), None, &p, out.view_mut(), &mut scratch).expect("valid");
        assert_close(
            &out.clone().into_dyn(),
            &naive_conv(&x, &w, None, &p).into_dyn(),
            1e-5,
        );
        let mut wrong = Array4::zeros((1, 5, 4, 2));
        let err = conv2d_into(x.view(), w.view(), None, &p, wrong.view_mut(), &mut scratch)
            .expect_err("shape");
        assert_eq!(
            err.to_string(),
            "conv2d: output buffer has shape [1, 5, 4, 2], expected [1, 4, 4, 2]"
        );
        let err = conv2d(x.view(), rand4([3, 3, 3, 2], 5).view(), None, &p).expect_err("channels");
        assert_eq!(
            err.to_string(),
            "conv2d: input has 4 channels but weights [3, 3, 3, 2] with 1 groups expect 3"
        );
        let err = conv2d(x.view(), w.view(), Some(&[1.0]), &p).expect_err("bias");
        assert_eq!(
            err.to_string(),
            "conv2d: bias has 1 values for 2 output channels"
        );
    }
}
