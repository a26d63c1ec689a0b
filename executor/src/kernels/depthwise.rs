//! Depthwise convolution (`groups == cin`, weights `[kh, kw, 1, cin·multiplier]`).
//!
//! im2col would turn each group into a GEMM with K = kh·kw, which wastes most of the GEMM's
//! work on packing; this direct kernel instead accumulates whole channel vectors per tap,
//! which the compiler vectorises, and runs output rows in parallel on the rayon pool.

use super::activation::{activate_slice, Activation};
use super::conv::{Conv2dParams, ConvGeometry};
use super::error::{ensure, KernelError};
use ndarray::{Array4, ArrayView4, ArrayViewMut4};
use rayon::prelude::*;

/// Depthwise convolution; `p.groups` must equal the input channel count.
pub fn depthwise_conv2d(
    x: ArrayView4<f32>,
    w: ArrayView4<f32>,
    bias: Option<&[f32]>,
    p: &Conv2dParams,
) -> Result<Array4<f32>, KernelError> {
    let shape = ConvGeometry::new("depthwise_conv2d", x.shape(), w.shape(), bias, p)?.out_shape();
    let mut out = Array4::zeros(shape);
    depthwise_conv2d_into(x, w, bias, p, out.view_mut())?;
    Ok(out)
}

/// [`depthwise_conv2d`] writing into `out` (standard layout, exact output shape).
pub fn depthwise_conv2d_into(
    x: ArrayView4<f32>,
    w: ArrayView4<f32>,
    bias: Option<&[f32]>,
    p: &Conv2dParams,
    out: ArrayViewMut4<f32>,
) -> Result<(), KernelError> {
    depthwise_conv2d_act_into(x, w, bias, p, Activation::Linear, out)
}

/// [`depthwise_conv2d_into`] followed by `act`, applied per output row while it is in cache.
pub fn depthwise_conv2d_act_into(
    x: ArrayView4<f32>,
    w: ArrayView4<f32>,
    bias: Option<&[f32]>,
    p: &Conv2dParams,
    act: Activation,
    mut out: ArrayViewMut4<f32>,
) -> Result<(), KernelError> {
    const OP: &str = "depthwise_conv2d";
    let g = ConvGeometry::new(OP, x.shape(), w.shape(), bias, p)?;
    ensure!(
        g.cin_g == 1 && g.groups == g.cin,
        OP,
        "needs groups == input channels ({}) and weights [kh, kw, 1, cout], got groups {} and weights {:?}",
        g.cin,
        g.groups,
        w.shape()
    );
    let out = g.out_slice(OP, &mut out)?;
    g.init_output(out, bias);
    let x = x.as_standard_layout();
    let xs = x
        .as_slice()
        .ok_or_else(|| KernelError::new(OP, "input is not contiguous"))?;
    let w = w.as_standard_layout();
    let ws = w
        .as_slice()
        .ok_or_else(|| KernelError::new(OP, "weights are not contiguous"))?;
    let (h, wd, cin) = (g.y.input, g.x.input, g.cin);
    let row_len = g.ow * g.cout;
    let avx2 = simd_available();
    out.par_chunks_mut(row_len)
        .enumerate()
        .for_each(|(row, out_row)| {
            let (img, oy) = (row / g.oh, row % g.oh);
            let image = &xs[img * h * wd * cin..(img + 1) * h * wd * cin];
            let job = RowJob {
                g: &g,
                image,
                weights: ws,
                oy,
            };
            if avx2 {
                // SAFETY: the CPU supports AVX2 (checked by `simd_available`).
                #[cfg(target_arch = "x86_64")]
                unsafe {
                    row_avx2(&job, out_row)
                };
            } else {
                row_generic(&job, out_row);
            }
            activate_slice(act, out_row);
        });
    Ok(())
}

/// One output row of one image.
struct RowJob<'a> {
    g: &'a ConvGeometry,
    image: &'a [f32],
    weights: &'a [f32],
    oy: usize,
}

fn simd_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The row loop compiled for AVX2, so the channel loops use 8-wide vectors.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn row_avx2(job: &RowJob, out_row: &mut [f32]) {
    row_generic(job, out_row)
}

#[inline(always)]
fn row_generic(job: &RowJob, out_row: &mut [f32]) {
    let g = job.g;
    let (wd, cin, cout, mult) = (g.x.input, g.cin, g.cout, g.cout_g);
    for (ox, acc) in out_row.chunks_exact_mut(cout).enumerate() {
        for ky in 0..g.y.kernel {
            let Some(iy) = g.y.source(job.oy, ky) else {
                continue;
            };
            for kx in 0..g.x.kernel {
                let Some(ix) = g.x.source(ox, kx) else {
                    continue;
                };
                let px = &job.image[(iy * wd + ix) * cin..][..cin];
                let tap = &job.weights[(ky * g.x.kernel + kx) * cout..][..cout];
                if mult == 1 {
                    for ((a, &v), &k) in acc.iter_mut().zip(px).zip(tap) {
                        *a += v * k;
                    }
                } else {
                    for ((a, k), &v) in acc
                        .chunks_exact_mut(mult)
                        .zip(tap.chunks_exact(mult))
                        .zip(px)
                    {
                        a.iter_mut().zip(k).for_each(|(a, &k)| *a += v * k);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conv::tests::naive_conv;
    use crate::kernels::testutil::{assert_close, rand_array};
    use crate::kernels::Padding;
    use ndarray::Ix4;

    fn check(x: [usize; 4], w: [usize; 4], p: Conv2dParams) {
        let xa = rand_array(&x, 7)
            .into_dimensionality::<Ix4>()
            .expect("rank 4");
        let wa = rand_array(&w, 8)
            .into_dimensionality::<Ix4>()
            .expect("rank 4");
        let bias: Vec<f32> = (0..w[3]).map(|i| i as f32 * -0.05).collect();
        let got = depthwise_conv2d(xa.view(), wa.view(), Some(&bias), &p).expect("valid");
        let expected = naive_conv(&xa, &wa, Some(&bias), &p);
        assert_close(&got.into_dyn(), &expected.into_dyn(), 1e-5);
        // conv2d dispatches here for the same arguments.
        let via_conv =
            crate::kernels::conv::conv2d(xa.view(), wa.view(), Some(&bias), &p).expect("valid");
        assert_close(
            &via_conv.into_dyn(),
            &naive_conv(&xa, &wa, Some(&bias), &p).into_dyn(),
            1e-5,
        );
    }

    #[test]
    fn matches_naive_with_stride_dilation_pads_and_multiplier() {
        let pads = Padding {
            top: 1,
            left: 2,
            bottom: 0,
            right: 1,
        };
        check(
            [2, 7, 6, 5],
            [3, 3, 1, 5],
            Conv2dParams {
                groups: 5,
                pads,
                ..Default::default()
            },
        );
        check(
            [1, 9, 11, 4],
            [3, 3, 1, 4],
            Conv2dParams {
                groups: 4,
                stride: [2, 2],
                dilation: [2, 1],
                pads: Padding::uniform(2),
            },
        );
        check(
            [1, 5, 5, 3],
            [5, 3, 1, 6],
            Conv2dParams {
                groups: 3,
                pads: Padding::uniform(2),
                ..Default::default()
            },
        );
    }

    #[test]
    fn rejects_non_depthwise_groups() {
        let x = ndarray::Array4::<f32>::zeros((1, 4, 4, 4));
        let w = ndarray::Array4::<f32>::zeros((3, 3, 2, 4));
        let p = Conv2dParams {
            groups: 2,
            ..Default::default()
        };
        let err = depthwise_conv2d(x.view(), w.view(), None, &p).expect_err("not depthwise");
        assert!(
            err.to_string()
                .starts_with("depthwise_conv2d: needs groups == input channels (4)"),
            "{err}"
        );
    }
}
