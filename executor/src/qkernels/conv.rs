//! Integer convolution: grouped 2-D convolution over codes (depthwise is the grouped case
//! with one input channel per group, dense a 1×1 convolution), accumulating
//! Σ w·(x − zp_x) + bias and requantizing per output channel.
//!
//! A fused elementwise add (the convolution & add kernel) contributes its codes less their
//! zero point, rescaled per output channel to the accumulator scale, before the requantization.
//!
//! Each output row is lowered to patches (im2col) and multiplied with the kernel rows. When
//! the codes fit in `i16` and the layer's bound K·max|x − zp_x|·max|w| stays below 2^31 (K =
//! kh·kw·Cin/groups terms; 8-bit × 8-bit layers up to K ≈ 66,000), the products accumulate
//! in `i32` lanes over `i16` operands, a loop the compiler vectorizes; otherwise (16-bit
//! activations, very long reductions) operands and accumulators are `i64`. The bound covers
//! every partial sum, so both paths give identical results.

use super::{requantize, rescale, KernelError, Requant};
use hailo_dialect_quant::ops as q;
use ndarray::{Array4, ArrayView2, ArrayView4};
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

/// The second input of a convolution & add: codes `[N, OH, OW, Cout]` with `zero_point`,
/// brought to the accumulator scale of channel c by `rescale[c] = (multiplier, shift)`.
#[derive(Clone, Copy, Debug)]
pub struct Addend<'a> {
    pub codes: ArrayView4<'a, i32>,
    pub zero_point: i64,
    pub rescale: &'a [(i64, u32)],
}

/// The accumulator a layer needs: `i32` lanes over `i16` operands, or `i64` throughout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accumulator {
    I32,
    I64,
}

/// The narrowest safe accumulator for `k_terms` products of |x − zp_x| ≤ `x_abs` and |w| ≤
/// `w_abs`: `I32` when both fit in `i16` and k_terms·x_abs·w_abs < 2^31.
pub fn accumulator(k_terms: usize, x_abs: i64, w_abs: i64) -> Accumulator {
    let fits16 = x_abs <= i16::MAX as i64 && w_abs <= i16::MAX as i64;
    let bound = (k_terms as i128) * (x_abs as i128) * (w_abs as i128);
    if fits16 && bound < 1i128 << 31 {
        Accumulator::I32
    } else {
        Accumulator::I64
    }
}

/// An operand lane type of the im2col product.
trait Lane: Copy + Default + Send + Sync {
    fn from_code(v: i64) -> Self;
    /// Σ a·b over equal-length rows.
    fn dot(a: &[Self], b: &[Self]) -> i64;
}

const LANES: usize = 16;

impl Lane for i16 {
    fn from_code(v: i64) -> Self {
        v as i16
    }
    fn dot(a: &[i16], b: &[i16]) -> i64 {
        let mut acc = [0i32; LANES];
        let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        let tail: i32 = ca
            .remainder()
            .iter()
            .zip(cb.remainder())
            .map(|(&x, &y)| i32::from(x) * i32::from(y))
            .sum();
        for (x, y) in ca.zip(cb) {
            for l in 0..LANES {
                acc[l] += i32::from(x[l]) * i32::from(y[l]);
            }
        }
        i64::from(acc.iter().sum::<i32>() + tail)
    }
}

impl Lane for i64 {
    fn from_code(v: i64) -> Self {
        v
    }
    fn dot(a: &[i64], b: &[i64]) -> i64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }
}

/// `x` codes `[N, H, W, Cin]` with zero point `zp_x`; `kernel` HWIO `[kh, kw, Cin/groups,
/// Cout]` (signed codes, zero point 0); `bias` `[Cout]` at the accumulator scale;
/// `requant[c]` per output channel; `add` a fused elementwise add of the output's shape.
/// Padding contributes zero (the code `zp_x`).
pub fn conv2d<'a>(
    x: ArrayView4<'a, i32>,
    zp_x: i64,
    kernel: ArrayView4<'a, i32>,
    bias: Option<&'a [i64]>,
    add: Option<Addend<'a>>,
    g: &'a QConvGeometry,
    requant: &'a [Requant],
) -> Result<Array4<i32>, KernelError> {
    let (kh, kw, cin_g, cout) = kernel.dim();
    let x_abs = x
        .iter()
        .map(|&v| (v as i64 - zp_x).abs())
        .max()
        .unwrap_or(0);
    let w_abs = kernel.iter().map(|&v| (v as i64).abs()).max().unwrap_or(0);
    let geo = Geometry::new(x.dim(), kernel.dim(), g)?;
    if requant.len() != cout || bias.is_some_and(|b| b.len() != cout) {
        return Err(err(format!(
            "{cout} output channels need {cout} requantizations and biases"
        )));
    }
    if let Some(a) = &add {
        let want = (x.dim().0, geo.oh, geo.ow, cout);
        if a.codes.dim() != want || a.rescale.len() != cout {
            return Err(err(format!(
                "the fused add must be {want:?} with {cout} rescales, got {:?} with {}",
                a.codes.dim(),
                a.rescale.len()
            )));
        }
    }
    let job = Job {
        x,
        zp_x,
        kernel,
        bias,
        add,
        g,
        geo,
        requant,
    };
    let out = match accumulator(kh * kw * cin_g, x_abs, w_abs) {
        Accumulator::I32 => job.run::<i16>(),
        Accumulator::I64 => job.run::<i64>(),
    };
    Array4::from_shape_vec((x.dim().0, geo.oh, geo.ow, cout), out).map_err(|e| err(e.to_string()))
}

fn err(message: String) -> KernelError {
    KernelError {
        op: q::Conv2d::NAME,
        message,
    }
}

/// Output size and reduction length, after validation.
#[derive(Clone, Copy)]
struct Geometry {
    oh: usize,
    ow: usize,
    klen: usize,
}

impl Geometry {
    fn new(
        xd: (usize, usize, usize, usize),
        kd: (usize, usize, usize, usize),
        g: &QConvGeometry,
    ) -> Result<Geometry, KernelError> {
        let (_, h, w, cin) = xd;
        let (kh, kw, cin_g, cout) = kd;
        if g.groups == 0 || cin_g * g.groups != cin || cout % g.groups != 0 {
            return Err(err(format!(
                "kernel {kd:?} with {} groups does not fit {cin} input channels",
                g.groups
            )));
        }
        if g.strides.contains(&0) || g.dilations.contains(&0) || kh == 0 || kw == 0 {
            return Err(err(
                "strides, dilations and the kernel size must be positive".into(),
            ));
        }
        let span = |k: usize, d: usize| d * (k - 1) + 1;
        let (ph, pw) = (h + g.pads[0] + g.pads[2], w + g.pads[1] + g.pads[3]);
        let (eh, ew) = (span(kh, g.dilations[0]), span(kw, g.dilations[1]));
        if ph < eh || pw < ew {
            return Err(err(format!(
                "window {eh}x{ew} does not fit the padded input {ph}x{pw}"
            )));
        }
        Ok(Geometry {
            oh: (ph - eh) / g.strides[0] + 1,
            ow: (pw - ew) / g.strides[1] + 1,
            klen: kh * kw * cin_g,
        })
    }
}

/// One validated convolution.
struct Job<'a> {
    x: ArrayView4<'a, i32>,
    zp_x: i64,
    kernel: ArrayView4<'a, i32>,
    bias: Option<&'a [i64]>,
    add: Option<Addend<'a>>,
    g: &'a QConvGeometry,
    geo: Geometry,
    requant: &'a [Requant],
}

impl Job<'_> {
    fn run<T: Lane>(&self) -> Vec<i32> {
        let (n, h, w, cin) = self.x.dim();
        let (kh, kw, cin_g, cout) = self.kernel.dim();
        let Geometry { oh, ow, klen } = self.geo;
        let (g, groups) = (self.g, self.g.groups);
        let cout_g = cout / groups;
        // Kernel as [cout][kh*kw*cin_g] rows, so each output channel is one dot product.
        let mut wt = vec![T::default(); cout * klen];
        for ((i, j, c, o), &v) in self.kernel.indexed_iter() {
            wt[o * klen + (i * kw + j) * cin_g + c] = T::from_code(v as i64);
        }
        let x = self.x.as_standard_layout();
        let xs = x.as_slice().unwrap_or(&[]);
        let mut out = vec![0i32; n * oh * ow * cout];
        out.par_chunks_mut(ow * cout)
            .enumerate()
            .for_each(|(row, orow)| {
                let (b, oy) = (row / oh, row % oh);
                // Patches of the whole output row: [ox][group][klen].
                let mut patches = vec![T::default(); ow * groups * klen];
                for (ox, px) in patches.chunks_exact_mut(groups * klen).enumerate() {
                    for (grp, patch) in px.chunks_exact_mut(klen).enumerate() {
                        for i in 0..kh {
                            for j in 0..kw {
                                let iy = (oy * g.strides[0] + i * g.dilations[0]) as isize
                                    - g.pads[0] as isize;
                                let ix = (ox * g.strides[1] + j * g.dilations[1]) as isize
                                    - g.pads[1] as isize;
                                if iy < 0 || ix < 0 || iy as usize >= h || ix as usize >= w {
                                    continue;
                                }
                                let base =
                                    ((b * h + iy as usize) * w + ix as usize) * cin + grp * cin_g;
                                let dst = &mut patch[(i * kw + j) * cin_g..][..cin_g];
                                for (d, &s) in dst.iter_mut().zip(&xs[base..base + cin_g]) {
                                    *d = T::from_code(s as i64 - self.zp_x);
                                }
                            }
                        }
                    }
                }
                let arow = self
                    .add
                    .map(|a| a.codes.slice_move(ndarray::s![b, oy, .., ..]));
                self.output_row(&patches, &wt, arow, orow, ow, cout_g);
            });
        out
    }

    /// One output row from its patches: kernel row outer, pixels inner, so one kernel row
    /// stays in L1 across the row. Kept out of line: compiled on its own, the dot products
    /// vectorize the same whatever the caller; inlined into the row closure they ran
    /// 15-20% slower on resnet18 (emulation bench).
    #[inline(never)]
    fn output_row<T: Lane>(
        &self,
        patches: &[T],
        wt: &[T],
        arow: Option<ArrayView2<i32>>,
        orow: &mut [i32],
        ow: usize,
        cout_g: usize,
    ) {
        let (klen, groups) = (self.geo.klen, self.g.groups);
        let cout = wt.len() / klen;
        for (oc, wrow) in wt.chunks_exact(klen).enumerate() {
            let grp = oc / cout_g;
            let b0 = self.bias.map_or(0, |bv| bv[oc]);
            for ox in 0..ow {
                let patch = &patches[(ox * groups + grp) * klen..][..klen];
                let mut acc = T::dot(patch, wrow) + b0;
                if let (Some(a), Some(ar)) = (&self.add, &arow) {
                    let (mu, sh) = a.rescale[oc];
                    acc += rescale(ar[[ox, oc]] as i64 - a.zero_point, mu, sh);
                }
                orow[ox * cout + oc] = requantize(acc, &self.requant[oc]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array4;

    #[test]
    fn accumulator_bound_is_per_layer() {
        // 3x3x512 terms of 8-bit x 8-bit: 4608 * 255 * 127 < 2^31.
        assert_eq!(accumulator(4608, 255, 127), Accumulator::I32);
        // 2^31 / (255 * 128) = 65,793.9: one term more than that overflows i32.
        assert_eq!(accumulator(65_793, 255, 128), Accumulator::I32);
        assert_eq!(accumulator(65_794, 255, 128), Accumulator::I64);
        // 16-bit activation differences do not fit i16 operands.
        assert_eq!(accumulator(9, 65_535, 127), Accumulator::I64);
        assert_eq!(accumulator(9, 255, 32_767), Accumulator::I32);
    }

    #[test]
    fn i16_and_i64_lanes_give_identical_codes() {
        let (n, h, w, cin, cout) = (2, 5, 13, 40, 6);
        let x = Array4::from_shape_fn((n, h, w, cin), |(a, b, c, d)| {
            ((a * 31 + b * 17 + c * 7 + d * 3) % 256) as i32
        });
        let k = Array4::from_shape_fn((3, 3, cin / 2, cout), |(a, b, c, d)| {
            ((a * 13 + b * 5 + c * 11 + d * 29) % 255) as i32 - 127
        });
        let g = QConvGeometry {
            strides: [1, 2],
            dilations: [1, 1],
            pads: [1, 1, 1, 1],
            groups: 2,
        };
        let bias: Vec<i64> = (0..cout as i64).map(|c| c * 1000 - 2500).collect();
        let rq = vec![
            Requant {
                multiplier: 1 << 30,
                shift: 40,
                zero_point: 7,
                lo: 0,
                hi: 255,
            };
            cout
        ];
        let job = Job {
            x: x.view(),
            zp_x: 100,
            kernel: k.view(),
            bias: Some(&bias),
            add: None,
            g: &g,
            geo: Geometry::new(x.dim(), k.dim(), &g).unwrap(),
            requant: &rq,
        };
        let (a, b) = (job.run::<i16>(), job.run::<i64>());
        assert_eq!(a, b);
        assert!(a.iter().any(|&v| v != 0 && v != 255 && v != 7));
    }
}
