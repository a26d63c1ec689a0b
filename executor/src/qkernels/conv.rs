//! Integer convolution: grouped 2-D convolution over codes (depthwise is the grouped case
//! with one input channel per group, dense a 1×1 convolution), accumulating
//! Σ w·(x − zp_x) + bias and requantizing per output channel.
//!
//! The kernel is decoded once per plan into [`QConvWeights`]: packed GEMM panels per group
//! ([`super::igemm`]), or a `[kh·kw][C]` table for depthwise layers, which run their own
//! kernel (per output row, every tap added over all channels at once). Other layers build
//! patches (im2col) for a block of output pixels at a time, multiply them with the panels
//! and requantize the block while it is in cache.
//!
//! When the codes fit in `i16` and the layer's bound K·max|x − zp_x|·max|w| stays below
//! 2^31 (K = kh·kw·Cin/groups terms; 8-bit × 8-bit layers up to K ≈ 66,000), products
//! accumulate in `i32` (SIMD); otherwise (16-bit activations, very long reductions) in
//! `i64`. The bound covers every partial sum, so both paths give identical results.

use super::igemm::{gemm_i16, gemm_u8i8, gemm_wide, has_u8i8, PackedB, MR};
use super::{requantize, rescale, KernelError, Requant};
use crate::simd::widest;
use hailo_dialect_quant::ops as q;
use ndarray::{Array4, ArrayView4, ArrayViewD};
use rayon::prelude::*;
use std::ops::Range;

/// Geometry of an integer convolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QConvGeometry {
    pub strides: [usize; 2],
    pub dilations: [usize; 2],
    /// `[top, left, bottom, right]`.
    pub pads: [usize; 4],
    pub groups: usize,
}

/// The accumulator a layer needs: `i32` over `i16` operands, or `i64` throughout.
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

/// A convolution kernel decoded for the integer kernels, once per plan.
#[derive(Clone, Debug)]
pub struct QConvWeights {
    /// HWIO `[kh, kw, Cin/groups, Cout]`.
    dims: (usize, usize, usize, usize),
    groups: usize,
    /// max |w|.
    w_abs: i64,
    layout: Layout,
}

#[derive(Clone, Debug)]
enum Layout {
    /// One panel per group over K = (i, j, c) rows, weights that fit `i8`, on CPUs with
    /// the `u8` × `i8` tile; `colsum[o]` = Σ_k w[k, o], for the zero-point correction.
    Bytes {
        panels: Vec<PackedB<i8>>,
        colsum: Vec<i64>,
    },
    /// One panel per group, weights that fit `i16`.
    Narrow(Vec<PackedB<i16>>),
    /// The same with `i32` weights (codes beyond `i16`).
    Wide(Vec<PackedB<i32>>),
    /// One input and one output channel per group: `w[(i·kw + j)·C + c]`.
    Depthwise(Vec<i32>),
}

impl QConvWeights {
    /// Decodes the HWIO `kernel` (signed codes, zero point 0) of a convolution with `groups`.
    pub fn pack(kernel: ArrayView4<i32>, groups: usize) -> Result<QConvWeights, KernelError> {
        Self::pack_for(kernel, groups, has_u8i8())
    }

    /// [`QConvWeights::pack`], with the byte layout only if `bytes` (the CPU has its tile).
    fn pack_for(
        kernel: ArrayView4<i32>,
        groups: usize,
        bytes: bool,
    ) -> Result<QConvWeights, KernelError> {
        let (kh, kw, cin_g, cout) = kernel.dim();
        if groups == 0 || cout % groups != 0 {
            return Err(err(format!(
                "{cout} output channels do not split into {groups} groups"
            )));
        }
        let w_abs = kernel.iter().map(|&v| (v as i64).abs()).max().unwrap_or(0);
        let cout_g = cout / groups;
        let layout = if cin_g == 1 && cout_g == 1 {
            let mut t = vec![0; kh * kw * cout];
            for ((i, j, _, c), &v) in kernel.indexed_iter() {
                t[(i * kw + j) * cout + c] = v;
            }
            Layout::Depthwise(t)
        } else {
            // Row k = (i·kw + j)·cin_g + c of group g's panel, column o.
            let at = |g: usize, k: usize, o: usize| {
                let (ij, c) = (k / cin_g, k % cin_g);
                kernel[[ij / kw, ij % kw, c, g * cout_g + o]]
            };
            let klen = kh * kw * cin_g;
            let fits = |lo: i32, hi: i32| kernel.iter().all(|&v| (lo..=hi).contains(&v));
            if bytes && fits(i8::MIN.into(), i8::MAX.into()) {
                let colsum = (0..cout)
                    .map(|oc| {
                        (0..klen)
                            .map(|k| at(oc / cout_g, k, oc % cout_g) as i64)
                            .sum()
                    })
                    .collect();
                Layout::Bytes {
                    panels: (0..groups)
                        .map(|g| PackedB::pack(klen, cout_g, 4, |k, o| at(g, k, o) as i8))
                        .collect(),
                    colsum,
                }
            } else if fits(i16::MIN.into(), i16::MAX.into()) {
                Layout::Narrow(
                    (0..groups)
                        .map(|g| PackedB::pack(klen, cout_g, 2, |k, o| at(g, k, o) as i16))
                        .collect(),
                )
            } else {
                Layout::Wide(
                    (0..groups)
                        .map(|g| PackedB::pack(klen, cout_g, 2, |k, o| at(g, k, o)))
                        .collect(),
                )
            }
        };
        Ok(QConvWeights {
            dims: (kh, kw, cin_g, cout),
            groups,
            w_abs,
            layout,
        })
    }
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
    let w = QConvWeights::pack(kernel, g.groups)?;
    conv2d_packed(x, zp_x, &w, bias, g, requant, None)
}

/// The second operand of a convolution & add (guide Table 10), folded into the
/// requantization: output (n, y, x, c) requantizes acc + bias + rescale(code − zero_point,
/// multiplier[c], shift[c]), where acc + bias must lie strictly inside `i32` (the bound of
/// the hardware's accumulator; at or beyond it the call fails rather than clip).
#[derive(Clone, Debug)]
pub struct ConvAdd<'a> {
    /// Codes `[N, OH, OW, Cout]`, the output's shape.
    pub codes: ArrayViewD<'a, i32>,
    pub zero_point: i64,
    /// Per output channel: (multiplier, shift) to the accumulator scale.
    pub rescale: &'a [(i64, u32)],
}

/// [`conv2d`] with the kernel decoded ahead of time, and the fused add of a convolution &
/// add when `add` is given.
pub fn conv2d_packed(
    x: ArrayView4<i32>,
    zp_x: i64,
    w: &QConvWeights,
    bias: Option<&[i64]>,
    g: &QConvGeometry,
    requant: &[Requant],
    add: Option<ConvAdd<'_>>,
) -> Result<Array4<i32>, KernelError> {
    if w.groups != g.groups {
        return Err(err(format!(
            "kernel decoded for {} groups, run with {}",
            w.groups, g.groups
        )));
    }
    let geo = Geometry::new(x.dim(), w.dims, g)?;
    let cout = w.dims.3;
    if requant.len() != cout || bias.is_some_and(|b| b.len() != cout) {
        return Err(err(format!(
            "{cout} output channels need {cout} requantizations and biases"
        )));
    }
    let (n, oh, ow) = (x.dim().0, geo.oh, geo.ow);
    let add_codes = match &add {
        Some(a) if a.codes.shape() != [n, oh, ow, cout] => {
            return Err(err(format!(
                "the add input has shape {:?}, the output {:?}",
                a.codes.shape(),
                [n, oh, ow, cout]
            )))
        }
        Some(a) if a.rescale.len() != cout => {
            return Err(err(format!(
                "{cout} output channels need {cout} add rescales"
            )))
        }
        Some(a) => Some(a.codes.as_standard_layout()),
        None => None,
    };
    let zp = i32::try_from(zp_x).map_err(|_| err(format!("zero point {zp_x} exceeds i32")))?;
    let x = x.as_standard_layout();
    let xs = x.as_slice().unwrap_or(&[]);
    let (xmin, xmax) = min_max(xs, zp);
    let x_abs = (xmin as i64 - zp_x).abs().max((xmax as i64 - zp_x).abs());
    let acc = accumulator(geo.klen, x_abs, w.w_abs);
    let bias_of = |c: usize| bias.map_or(0, |b| b[c]);
    // The byte path: codes (and the zero point, which pads) shifted by `offset` into 0..=255;
    // Σ w·x' then stays within K·255·128 < 2^31.
    let bytes = match &w.layout {
        Layout::Bytes { colsum, .. }
            if xmax as i64 - xmin as i64 <= 255 && geo.klen * 255 * 128 < 1 << 31 =>
        {
            Some((-xmin, colsum))
        }
        _ => None,
    };
    let bias: Vec<i64> = match bytes {
        // Σ w·(x − zp) = Σ w·x' − zp'·Σ w, with x' = x + offset, zp' = zp + offset.
        Some((offset, colsum)) => (0..cout)
            .map(|c| bias_of(c) - (zp_x + offset as i64) * colsum[c])
            .collect(),
        None => (0..cout).map(bias_of).collect(),
    };
    let add = match (&add, &add_codes) {
        (Some(a), Some(codes)) => Some(Addend {
            codes: codes.as_slice().unwrap_or(&[]),
            zero_point: a.zero_point,
            rescale: a.rescale,
        }),
        _ => None,
    };
    let job = Job {
        xd: x.dim(),
        xs,
        zp,
        w,
        rescale: Rescale::new(&bias, requant, add.as_ref()),
        bias,
        g,
        geo,
        requant,
        acc,
        add,
    };
    let mut out = vec![0i32; n * oh * ow * cout];
    match (&w.layout, bytes) {
        (Layout::Depthwise(t), _) => job.depthwise(t, &mut out),
        (Layout::Bytes { panels, .. }, Some((offset, _))) => {
            job.gemm_bytes(panels, offset, &mut out)
        }
        (Layout::Bytes { panels, .. }, None) => job.gemm_wide(panels, &mut out),
        (Layout::Narrow(panels), _) if acc == Accumulator::I32 => job.gemm_narrow(panels, &mut out),
        (Layout::Narrow(panels), _) => job.gemm_wide(panels, &mut out),
        (Layout::Wide(panels), _) => job.gemm_wide(panels, &mut out),
    }?;
    Array4::from_shape_vec((n, oh, ow, cout), out).map_err(|e| err(e.to_string()))
}

widest! {
    /// The smallest and largest of `xs` and `z`, with the widest vectors the CPU has (the
    /// scan runs once per layer call; without AVX2, `i32` min/max take several instructions
    /// per lane).
    fn min_max(xs: &[i32], z: i32) -> (i32, i32) = min_max_generic;
}

/// Two reductions, each of which vectorizes (a joint fold does not).
#[inline(always)]
fn min_max_generic(xs: &[i32], z: i32) -> (i32, i32) {
    let lo = xs.iter().copied().fold(z, i32::min);
    let hi = xs.iter().copied().fold(z, i32::max);
    (lo, hi)
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

/// Patch matrix bytes per block of output pixels: the block stays in L2 next to the panel.
const BLOCK_BYTES: usize = 128 * 1024;

/// The output channels of group `grp`'s panel.
fn panel_cols<T>(grp: usize, panel: &PackedB<T>) -> Range<usize> {
    grp * panel.n..(grp + 1) * panel.n
}

/// Per-thread scratch of the GEMM path, reused across blocks.
#[derive(Default)]
struct Scratch<A, C> {
    a: Vec<A>,
    c: Vec<C>,
}

/// The fused add of one call: codes laid out like the output.
struct Addend<'a> {
    codes: &'a [i32],
    zero_point: i64,
    rescale: &'a [(i64, u32)],
}

impl Addend<'_> {
    /// acc + bias + the add term of output channel `oc`, or `None` where acc + bias reaches
    /// the `i32` bounds.
    #[inline]
    fn sum(&self, s: i64, code: i32, oc: usize) -> Option<i64> {
        if s <= i64::from(i32::MIN) || s >= i64::from(i32::MAX) {
            return None;
        }
        let (mu, sh) = self.rescale[oc];
        Some(s + rescale(i64::from(code) - self.zero_point, mu, sh))
    }
}

/// The error of an accumulator beyond the `i32` bound of a convolution & add.
fn add_overflow() -> KernelError {
    err("the accumulator of a convolution & add exceeds i32".to_string())
}

/// [`requantize`] of `i32` accumulators per output channel in structure-of-arrays form, for
/// a loop the compiler vectorizes with 32 × 32 → 64-bit multiplies. It applies when, for
/// every channel, the shift is in 1..=62, |multiplier| < 2^31 and (2^31 + |bias| + t)·
/// |multiplier| + 2^(shift−1) < 2^63, t < 2^31 the largest fused add term (0 without one):
/// then (acc + bias + term)·multiplier + 2^(shift−1) = acc·multiplier + term·multiplier +
/// offset, offset = bias·multiplier + 2^(shift−1), stays in `i64`, which gives
/// `requantize`'s `i128` result bit for bit. The add term is computed the same way, as
/// (code·m + 2^(s−1) − zp·m) >> s, when its shift s is in 1..=62, |m| < 2^31 and |zero
/// point| ≤ 2^20: every product of an `i32` code then stays below 2^62.
#[derive(Debug)]
struct Rescale {
    bias: Vec<i64>,
    multiplier: Vec<i32>,
    offset: Vec<i64>,
    shift: Vec<i64>,
    zero_point: Vec<i64>,
    lo: Vec<i64>,
    hi: Vec<i64>,
    add: Option<AddRescale>,
}

/// The fused add term in [`Rescale`]'s form.
#[derive(Debug)]
struct AddRescale {
    multiplier: Vec<i32>,
    offset: Vec<i64>,
    shift: Vec<i64>,
}

impl Rescale {
    fn new(bias: &[i64], requant: &[Requant], add: Option<&Addend>) -> Option<Rescale> {
        const ZP_MAX: i64 = 1 << 20;
        let m31 = |m: i64| m.unsigned_abs() < 1 << 31;
        let term = |oc: usize| -> Option<i128> {
            let Some(a) = add else { return Some(0) };
            let (mu, sh) = a.rescale[oc];
            let ok = (1..=62).contains(&sh) && m31(mu) && a.zero_point.abs() <= ZP_MAX;
            let t = ((((1i128 << 31) + i128::from(ZP_MAX)) * i128::from(mu).abs()) >> sh) + 1;
            (ok && t < 1i128 << 31).then_some(t)
        };
        let fits = requant.iter().zip(bias).enumerate().all(|(oc, (r, &b))| {
            term(oc).is_some_and(|t| {
                let bound = ((1i128 << 31) + i128::from(b).abs() + t)
                    * i128::from(r.multiplier).abs()
                    + (1i128 << r.shift.saturating_sub(1).min(127));
                (1..=62).contains(&r.shift) && m31(r.multiplier) && bound < 1i128 << 63
            })
        });
        fits.then(|| Rescale {
            bias: bias.to_vec(),
            multiplier: requant.iter().map(|r| r.multiplier as i32).collect(),
            offset: requant
                .iter()
                .zip(bias)
                .map(|(r, &b)| b * r.multiplier + (1i64 << (r.shift - 1)))
                .collect(),
            shift: requant.iter().map(|r| i64::from(r.shift)).collect(),
            zero_point: requant.iter().map(|r| r.zero_point).collect(),
            lo: requant.iter().map(|r| r.lo).collect(),
            hi: requant.iter().map(|r| r.hi).collect(),
            add: add.map(|a| AddRescale {
                multiplier: a.rescale.iter().map(|&(mu, _)| mu as i32).collect(),
                offset: a
                    .rescale
                    .iter()
                    .map(|&(mu, sh)| (1i64 << (sh - 1)) - a.zero_point * mu)
                    .collect(),
                shift: a.rescale.iter().map(|&(_, sh)| i64::from(sh)).collect(),
            }),
        })
    }

    /// Output codes of one [`Block`]; fails where a fused add's acc + bias reaches the `i32`
    /// bounds.
    fn apply(&self, b: Block) -> Result<(), KernelError> {
        let (n, rows) = (b.cols.len(), b.rows);
        let covers = |len: usize, ld: usize| rows == 0 || len >= (rows - 1) * ld + n;
        assert!(
            b.cols.end <= self.multiplier.len()
                && covers(b.acc.len(), b.ldc)
                && covers(b.out.len(), b.ld_out)
                && (self.add.is_none() || covers(b.codes.len(), b.ld_out)),
            "rescale: buffers do not cover {rows} rows of {n} channels"
        );
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") {
                // SAFETY: AVX-512F was detected; the assert above covers every access.
                return unsafe { x86::rescale_avx512(self, b) };
            }
        }
        rescale_widest(self, b)
    }

    #[inline(always)]
    fn apply_generic(&self, b: Block) -> Result<(), KernelError> {
        let (cols, acc, ldc, rows, ld_out, codes) =
            (b.cols, b.acc, b.ldc, b.rows, b.ld_out, b.codes);
        let out = b.out;
        let n = cols.len();
        let (mult, offset) = (&self.multiplier[cols.clone()], &self.offset[cols.clone()]);
        let (shift, zp) = (&self.shift[cols.clone()], &self.zero_point[cols.clone()]);
        let (lo, hi) = (&self.lo[cols.clone()], &self.hi[cols.clone()]);
        let Some(a) = &self.add else {
            for r in 0..rows {
                let (acc, out) = (&acc[r * ldc..][..n], &mut out[r * ld_out..][..n]);
                for j in 0..n {
                    let q = (i64::from(acc[j]) * i64::from(mult[j]) + offset[j]) >> shift[j];
                    out[j] = (q + zp[j]).max(lo[j]).min(hi[j]) as i32;
                }
            }
            return Ok(());
        };
        let bias = &self.bias[cols.clone()];
        let (am, aoff, ash) = (
            &a.multiplier[cols.clone()],
            &a.offset[cols.clone()],
            &a.shift[cols],
        );
        let mut outside = false;
        for r in 0..rows {
            let (acc, out) = (&acc[r * ldc..][..n], &mut out[r * ld_out..][..n]);
            let codes = &codes[r * ld_out..][..n];
            for j in 0..n {
                let s = i64::from(acc[j]) + bias[j];
                outside |= (s <= i64::from(i32::MIN)) | (s >= i64::from(i32::MAX));
                // |t| < 2^31 by the bound of `new`.
                let t = ((i64::from(codes[j]) * i64::from(am[j]) + aoff[j]) >> ash[j]) as i32;
                let v = i64::from(acc[j]) * i64::from(mult[j])
                    + i64::from(t) * i64::from(mult[j])
                    + offset[j];
                out[j] = ((v >> shift[j]) + zp[j]).max(lo[j]).min(hi[j]) as i32;
            }
        }
        if outside {
            return Err(add_overflow());
        }
        Ok(())
    }
}

/// One block of a requantization: `rows` rows of accumulators of output channels `cols`
/// (`acc` rows of length `ldc`) into `out` (rows of length `ld_out`, from the block's first
/// channel), with the fused add's `codes` laid out like `out` (empty without one).
struct Block<'a> {
    cols: Range<usize>,
    acc: &'a [i32],
    ldc: usize,
    rows: usize,
    out: &'a mut [i32],
    ld_out: usize,
    codes: &'a [i32],
}

widest! {
    fn rescale_widest(t: &Rescale, b: Block) -> Result<(), KernelError> = Rescale::apply_generic;
}

/// One validated convolution.
struct Job<'a> {
    xd: (usize, usize, usize, usize),
    xs: &'a [i32],
    zp: i32,
    w: &'a QConvWeights,
    /// Per output channel, added to the accumulator before requantization (the bias, with
    /// the zero-point correction on the byte path).
    bias: Vec<i64>,
    g: &'a QConvGeometry,
    geo: Geometry,
    requant: &'a [Requant],
    acc: Accumulator,
    /// The vectorized requantization of `i32` accumulators, when every channel allows it.
    rescale: Option<Rescale>,
    /// The fused add of a convolution & add.
    add: Option<Addend<'a>>,
}

impl Job<'_> {
    /// Input row `iy` and column `ix` of output pixel (oy, ox) and tap (i, j), if inside.
    #[inline]
    fn tap(&self, oy: usize, ox: usize, i: usize, j: usize) -> Option<(usize, usize)> {
        let g = self.g;
        let iy = (oy * g.strides[0] + i * g.dilations[0]).checked_sub(g.pads[0])?;
        let ix = (ox * g.strides[1] + j * g.dilations[1]).checked_sub(g.pads[1])?;
        (iy < self.xd.1 && ix < self.xd.2).then_some((iy, ix))
    }

    /// Whether the patch of an output pixel is the input pixel itself (1×1, stride 1, no
    /// padding, one group).
    fn pointwise(&self) -> bool {
        let (kh, kw, _, _) = self.w.dims;
        (kh, kw) == (1, 1)
            && self.g.strides == [1, 1]
            && self.g.pads == [0; 4]
            && self.g.groups == 1
    }

    /// Output pixels per block for a patch row of `kpad` elements of `bytes` each.
    fn block_pixels(&self, kpad: usize, bytes: usize) -> usize {
        (BLOCK_BYTES / (kpad * bytes).max(1)).clamp(MR, 16 * MR) / MR * MR
    }

    /// Patches of `rows` output pixels from flat pixel `p0`, group `grp`, copied from `x`
    /// (the input already cast to the operand type): row r of `a` (length `kpad`, filled with
    /// the padding value by the caller) holds the window in (i, j, c) order. Without
    /// dilation and groups, the taps of one kernel row are one contiguous run of the input.
    fn patches<T: Copy>(
        &self,
        x: &[T],
        a: &mut [T],
        kpad: usize,
        p0: usize,
        rows: usize,
        grp: usize,
    ) {
        let (_, h, w, cin) = self.xd;
        let (kh, kw, cin_g, _) = self.w.dims;
        let (oh, ow) = (self.geo.oh, self.geo.ow);
        let runs = self.g.dilations[1] == 1 && cin_g == cin;
        for (r, row) in a.chunks_exact_mut(kpad).take(rows).enumerate() {
            let p = p0 + r;
            let (b, oy, ox) = (p / (oh * ow), p / ow % oh, p % ow);
            for i in 0..kh {
                if runs {
                    // Taps j0..j1 are inside the input: one copy of (j1 − j0)·C codes.
                    let Some((j0, (iy, ix0))) =
                        (0..kw).find_map(|j| Some((j, self.tap(oy, ox, i, j)?)))
                    else {
                        continue;
                    };
                    let j1 = (j0..kw)
                        .take_while(|&j| self.tap(oy, ox, i, j).is_some())
                        .count()
                        + j0;
                    let len = (j1 - j0) * cin;
                    row[(i * kw + j0) * cin..][..len]
                        .copy_from_slice(&x[((b * h + iy) * w + ix0) * cin..][..len]);
                    continue;
                }
                for j in 0..kw {
                    let Some((iy, ix)) = self.tap(oy, ox, i, j) else {
                        continue;
                    };
                    row[(i * kw + j) * cin_g..][..cin_g].copy_from_slice(
                        &x[((b * h + iy) * w + ix) * cin + grp * cin_g..][..cin_g],
                    );
                }
            }
        }
    }

    /// Requantizes `rows` rows of the `i32` C block (row length `ldc`) holding output
    /// channels `cols` into `out` (rows of Cout, from flat output pixel `p0`): vectorized
    /// when [`Rescale`] applies.
    fn store_i32(
        &self,
        c: &[i32],
        ldc: usize,
        rows: usize,
        cols: Range<usize>,
        (p0, out): (usize, &mut [i32]),
    ) -> Result<(), KernelError> {
        let Some(t) = &self.rescale else {
            return self.store(c, ldc, rows, cols, (p0, out));
        };
        let cout = self.w.dims.3;
        let start = cols.start;
        let codes = self.add.as_ref().map_or(&[][..], |a| {
            &a.codes[p0 * cout + start..][..(rows - 1) * cout + cols.len()]
        });
        t.apply(Block {
            cols,
            acc: c,
            ldc,
            rows,
            out: &mut out[start..],
            ld_out: cout,
            codes,
        })
    }

    /// Requantizes `rows` rows of the C block (row length `ldc`) holding output channels
    /// `cols` into `out` (rows of Cout, from flat output pixel `p0`), one [`requantize`]
    /// per output.
    fn store<C: Copy + Into<i64>>(
        &self,
        c: &[C],
        ldc: usize,
        rows: usize,
        cols: Range<usize>,
        (p0, out): (usize, &mut [i32]),
    ) -> Result<(), KernelError> {
        let cout = self.w.dims.3;
        for r in 0..rows {
            let crow = &c[r * ldc..][..cols.len()];
            let orow = &mut out[r * cout + cols.start..][..cols.len()];
            for ((o, &v), oc) in orow.iter_mut().zip(crow).zip(cols.clone()) {
                let s = v.into() + self.bias[oc];
                let v = match &self.add {
                    None => s,
                    Some(a) => a
                        .sum(s, a.codes[(p0 + r) * cout + oc], oc)
                        .ok_or_else(add_overflow)?,
                };
                *o = requantize(v, &self.requant[oc]);
            }
        }
        Ok(())
    }

    /// The `i16`/`i32` SIMD path.
    fn gemm_narrow(&self, panels: &[PackedB<i16>], out: &mut [i32]) -> Result<(), KernelError> {
        let cout = self.w.dims.3;
        let kpad = panels[0].k_padded();
        let ldc = panels[0].n_padded();
        let mb = self.block_pixels(kpad, 2);
        let x: Vec<i16> = self.xs.iter().map(|&v| (v - self.zp) as i16).collect();
        out.par_chunks_mut(mb * cout).enumerate().try_for_each_init(
            Scratch::<i16, i32>::default,
            |s, (blk, ochunk)| {
                let rows = ochunk.len() / cout;
                let padded = rows.div_ceil(MR) * MR;
                for (grp, panel) in panels.iter().enumerate() {
                    s.a.clear();
                    s.a.resize(padded * kpad, 0);
                    self.patches(&x, &mut s.a, kpad, blk * mb, rows, grp);
                    s.c.resize(padded * ldc, 0);
                    gemm_i16(&s.a, padded, panel, &mut s.c);
                    self.store_i32(&s.c, ldc, rows, panel_cols(grp, panel), (blk * mb, ochunk))?;
                }
                Ok(())
            },
        )
    }

    /// The `u8` × `i8` path: x + `offset` (and the padding, zp + offset) as bytes.
    fn gemm_bytes(
        &self,
        panels: &[PackedB<i8>],
        offset: i32,
        out: &mut [i32],
    ) -> Result<(), KernelError> {
        let cout = self.w.dims.3;
        let kpad = panels[0].k_padded();
        let ldc = panels[0].n_padded();
        let mb = self.block_pixels(kpad, 1);
        let pad = (self.zp + offset) as u8;
        let x: Vec<u8> = self.xs.iter().map(|&v| (v + offset) as u8).collect();
        let direct = self.pointwise() && kpad == self.xd.3;
        out.par_chunks_mut(mb * cout).enumerate().try_for_each_init(
            Scratch::<u8, i32>::default,
            |s, (blk, ochunk)| {
                let rows = ochunk.len() / cout;
                let padded = rows.div_ceil(MR) * MR;
                for (grp, panel) in panels.iter().enumerate() {
                    // A pointwise layer's patches are its input rows: multiply them in place.
                    let a = if direct && rows == padded {
                        &x[blk * mb * kpad..][..rows * kpad]
                    } else {
                        s.a.clear();
                        s.a.resize(padded * kpad, pad);
                        self.patches(&x, &mut s.a, kpad, blk * mb, rows, grp);
                        &s.a[..]
                    };
                    s.c.resize(padded * ldc, 0);
                    gemm_u8i8(a, padded, panel, &mut s.c);
                    self.store_i32(&s.c, ldc, rows, panel_cols(grp, panel), (blk * mb, ochunk))?;
                }
                Ok(())
            },
        )
    }

    /// The `i64` path.
    fn gemm_wide<B: Copy + Into<i64> + Sync>(
        &self,
        panels: &[PackedB<B>],
        out: &mut [i32],
    ) -> Result<(), KernelError> {
        let cout = self.w.dims.3;
        let kpad = panels[0].k_padded();
        let ldc = panels[0].n_padded();
        let mb = self.block_pixels(kpad, 4);
        let x: Vec<i32> = self.xs.iter().map(|&v| v - self.zp).collect();
        out.par_chunks_mut(mb * cout).enumerate().try_for_each_init(
            Scratch::<i32, i64>::default,
            |s, (blk, ochunk)| {
                let rows = ochunk.len() / cout;
                for (grp, panel) in panels.iter().enumerate() {
                    s.a.clear();
                    s.a.resize(rows * kpad, 0);
                    self.patches(&x, &mut s.a, kpad, blk * mb, rows, grp);
                    s.c.resize(rows * ldc, 0);
                    gemm_wide(&s.a, rows, panel, &mut s.c);
                    self.store(&s.c, ldc, rows, panel_cols(grp, panel), (blk * mb, ochunk))?;
                }
                Ok(())
            },
        )
    }

    /// Depthwise layers, one output row at a time: in `i32` over the padded `i16` input
    /// ([`Padded`], [`depthwise_row_padded`]) or in `i64` per [`Job::acc`].
    fn depthwise(&self, t: &[i32], out: &mut [i32]) -> Result<(), KernelError> {
        let (oh, ow) = (self.geo.oh, self.geo.ow);
        let c = self.w.dims.3;
        let padded = (self.acc == Accumulator::I32).then(|| Padded::new(self));
        out.par_chunks_mut(ow * c).enumerate().try_for_each_init(
            Scratch::<i32, i64>::default,
            |s, (row, orow)| {
                let (b, oy) = (row / oh, row % oh);
                match &padded {
                    Some(p) => {
                        s.a.resize(ow * c, 0);
                        depthwise_row_widest(self, p, t, b, oy, &mut s.a);
                        self.store_i32(&s.a, c, ow, 0..c, (row * ow, orow))
                    }
                    None => {
                        s.c.clear();
                        s.c.resize(ow * c, 0);
                        depthwise_row(self, t, b, oy, &mut s.c);
                        self.store(&s.c, c, ow, 0..c, (row * ow, orow))
                    }
                }
            },
        )
    }
}

/// The input of a depthwise layer as `x − zp` in `i16` (the `i32` path's operands fit), with
/// its padding as zeros, so every tap of every output pixel is inside and the kernel needs
/// no bounds tests.
struct Padded {
    data: Vec<i16>,
    /// Padded height and width.
    h: usize,
    w: usize,
}

impl Padded {
    fn new(job: &Job) -> Padded {
        let (n, h, w, c) = job.xd;
        let [top, left, bottom, right] = job.g.pads;
        let (ph, pw) = (h + top + bottom, w + left + right);
        let mut data = vec![0i16; n * ph * pw * c];
        for (b, image) in data.chunks_exact_mut(ph * pw * c).enumerate() {
            for y in 0..h {
                let dst = &mut image[((y + top) * pw + left) * c..][..w * c];
                let src = &job.xs[(b * h + y) * w * c..][..w * c];
                for (d, &v) in dst.iter_mut().zip(src) {
                    *d = (v - job.zp) as i16;
                }
            }
        }
        Padded { data, h: ph, w: pw }
    }
}

/// Channels per register block of [`depthwise_row_padded`]: one 512-bit vector of `i32`.
const DW_LANES: usize = 16;

/// Output row (b, oy) of a depthwise layer into `acc` (`[ow][C]`): for each output pixel and
/// block of [`DW_LANES`] channels, the kh·kw taps accumulate in registers and are stored
/// once.
#[inline(always)]
fn depthwise_row_padded(job: &Job, p: &Padded, t: &[i32], b: usize, oy: usize, acc: &mut [i32]) {
    let c = job.xd.3;
    let (kh, kw, _, _) = job.w.dims;
    let (g, pw) = (job.g, p.w);
    let image = &p.data[b * p.h * pw * c..][..p.h * pw * c];
    for (ox, a) in acc.chunks_exact_mut(c).enumerate() {
        let mut cb = 0;
        while cb + DW_LANES <= c {
            let mut v = [0i32; DW_LANES];
            for i in 0..kh {
                let iy = oy * g.strides[0] + i * g.dilations[0];
                for j in 0..kw {
                    let ix = ox * g.strides[1] + j * g.dilations[1];
                    let xs = &image[(iy * pw + ix) * c + cb..][..DW_LANES];
                    let ws = &t[(i * kw + j) * c + cb..][..DW_LANES];
                    for l in 0..DW_LANES {
                        v[l] += ws[l] * i32::from(xs[l]);
                    }
                }
            }
            a[cb..cb + DW_LANES].copy_from_slice(&v);
            cb += DW_LANES;
        }
        for (ch, a) in a.iter_mut().enumerate().skip(cb) {
            let mut v = 0i32;
            for i in 0..kh {
                let iy = oy * g.strides[0] + i * g.dilations[0];
                for j in 0..kw {
                    let ix = ox * g.strides[1] + j * g.dilations[1];
                    v += t[(i * kw + j) * c + ch] * i32::from(image[(iy * pw + ix) * c + ch]);
                }
            }
            *a = v;
        }
    }
}

widest! {
    /// [`depthwise_row_padded`], compiled for the widest vectors the CPU has.
    fn depthwise_row_widest(
        job: &Job,
        p: &Padded,
        t: &[i32],
        b: usize,
        oy: usize,
        acc: &mut [i32],
    ) = depthwise_row_padded;
}

/// Accumulates output row (b, oy) of a depthwise layer: acc[ox·C + c] += w·(x − zp) over the
/// taps inside the input, each tap a loop over all C channels (the `i64` path).
fn depthwise_row<A>(job: &Job, t: &[i32], b: usize, oy: usize, acc: &mut [A])
where
    A: Copy + From<i32> + std::ops::AddAssign + std::ops::Mul<Output = A>,
{
    let (_, h, w, c) = job.xd;
    let (kh, kw, _, _) = job.w.dims;
    for i in 0..kh {
        for j in 0..kw {
            let wt = &t[(i * kw + j) * c..][..c];
            for (ox, a) in acc.chunks_exact_mut(c).enumerate() {
                let Some((iy, ix)) = job.tap(oy, ox, i, j) else {
                    continue;
                };
                let xs = &job.xs[((b * h + iy) * w + ix) * c..][..c];
                for ((a, &wv), &xv) in a.iter_mut().zip(wt).zip(xs) {
                    *a += A::from(wv) * A::from(xv - job.zp);
                }
            }
        }
    }
}

/// The AVX-512 form of [`Rescale::apply_generic`], the hot loop of every integer layer: 16
/// channels at a time, whose parameters are loaded once for all the rows and stay in
/// registers; two vectors of 8 `i64` lanes per 16 outputs, narrowed back and stored as one;
/// the channel tail masked. Same operations as the generic loop, so the same bits.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{add_overflow, Block, KernelError, Rescale};
    use std::arch::x86_64::*;

    /// 16 `i32` at `p` (lanes outside `m` zero) as two vectors of 8 sign-extended `i64`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load_i32x16(p: *const i32, m: __mmask16) -> [__m512i; 2] {
        let v = _mm512_maskz_loadu_epi32(m, p.cast());
        [
            _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v)),
            _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64::<1>(v)),
        ]
    }

    /// 16 `i64` at `p` (lanes outside `m` zero) as two vectors.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load_i64x16(p: *const i64, m: __mmask16) -> [__m512i; 2] {
        [
            _mm512_maskz_loadu_epi64(m as u8, p.cast()),
            // Past the table's end only where the mask is empty (no access).
            _mm512_maskz_loadu_epi64((m >> 8) as u8, p.wrapping_add(8).cast()),
        ]
    }

    /// SAFETY: AVX-512F; the block's `acc`, `out` (and `codes` with a fused add) cover its
    /// rows at their strides, and its `cols` are inside the tables.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn rescale_avx512(t: &Rescale, b: Block) -> Result<(), KernelError> {
        let (cols, acc, ldc, rows, ld_out, codes) =
            (b.cols, b.acc, b.ldc, b.rows, b.ld_out, b.codes);
        let out = b.out;
        let n = cols.len();
        let (imin, imax) = (
            _mm512_set1_epi64(i32::MIN.into()),
            _mm512_set1_epi64(i32::MAX.into()),
        );
        let mut outside: u8 = 0;
        for j0 in (0..n).step_by(16) {
            let m = ((1u32 << (n - j0).min(16)) - 1) as __mmask16;
            let c = cols.start + j0;
            let mult = load_i32x16(t.multiplier.as_ptr().add(c), m);
            let offset = load_i64x16(t.offset.as_ptr().add(c), m);
            let shift = load_i64x16(t.shift.as_ptr().add(c), m);
            let zp = load_i64x16(t.zero_point.as_ptr().add(c), m);
            let lo = load_i64x16(t.lo.as_ptr().add(c), m);
            let hi = load_i64x16(t.hi.as_ptr().add(c), m);
            let add = t.add.as_ref().map(|a| {
                (
                    load_i64x16(t.bias.as_ptr().add(c), m),
                    load_i32x16(a.multiplier.as_ptr().add(c), m),
                    load_i64x16(a.offset.as_ptr().add(c), m),
                    load_i64x16(a.shift.as_ptr().add(c), m),
                )
            });
            for r in 0..rows {
                let a = load_i32x16(acc.as_ptr().add(r * ldc + j0), m);
                let mut q = [_mm512_setzero_si512(); 2];
                for h in 0..2 {
                    // acc·m (vpmuldq: the low 32 bits of each lane, signed) + offset.
                    q[h] = _mm512_add_epi64(_mm512_mul_epi32(a[h], mult[h]), offset[h]);
                }
                if let Some((bias, am, aoff, ash)) = &add {
                    let x = load_i32x16(codes.as_ptr().add(r * ld_out + j0), m);
                    for h in 0..2 {
                        let s = _mm512_add_epi64(a[h], bias[h]);
                        outside |=
                            _mm512_cmple_epi64_mask(s, imin) | _mm512_cmpge_epi64_mask(s, imax);
                        let term = _mm512_srav_epi64(
                            _mm512_add_epi64(_mm512_mul_epi32(x[h], am[h]), aoff[h]),
                            ash[h],
                        );
                        // |term| < 2^31 (the bound of `Rescale::new`): vpmuldq is exact.
                        q[h] = _mm512_add_epi64(q[h], _mm512_mul_epi32(term, mult[h]));
                    }
                }
                let mut y = [_mm256_setzero_si256(); 2];
                for h in 0..2 {
                    let v = _mm512_add_epi64(_mm512_srav_epi64(q[h], shift[h]), zp[h]);
                    y[h] =
                        _mm512_cvtepi64_epi32(_mm512_min_epi64(_mm512_max_epi64(v, lo[h]), hi[h]));
                }
                let v = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(y[0]), y[1]);
                _mm512_mask_storeu_epi32(out.as_mut_ptr().add(r * ld_out + j0).cast(), m, v);
            }
        }
        if outside != 0 {
            return Err(add_overflow());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::rescale as rescale_fn;
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

    /// Σ w·(x − zp) + bias per output, in i64 straight from the definition.
    fn naive(
        x: &Array4<i32>,
        zp: i64,
        k: &Array4<i32>,
        bias: &[i64],
        g: &QConvGeometry,
    ) -> Array4<i64> {
        let (n, h, w, _) = x.dim();
        let (kh, kw, cin_g, cout) = k.dim();
        let geo = Geometry::new(x.dim(), k.dim(), g).unwrap();
        let cout_g = cout / g.groups;
        Array4::from_shape_fn((n, geo.oh, geo.ow, cout), |(b, oy, ox, oc)| {
            let grp = oc / cout_g;
            let mut acc = bias[oc];
            for i in 0..kh {
                for j in 0..kw {
                    let iy = (oy * g.strides[0] + i * g.dilations[0]) as isize - g.pads[0] as isize;
                    let ix = (ox * g.strides[1] + j * g.dilations[1]) as isize - g.pads[1] as isize;
                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                        continue;
                    }
                    for c in 0..cin_g {
                        let xv = x[[b, iy as usize, ix as usize, grp * cin_g + c]] as i64 - zp;
                        acc += xv * k[[i, j, c, oc]] as i64;
                    }
                }
            }
            acc
        })
    }

    /// A requantization that keeps every accumulator bit (multiplier 1, shift 0, no clamp),
    /// so the test compares accumulators exactly.
    fn identity(cout: usize) -> Vec<Requant> {
        let r = Requant {
            multiplier: 1,
            shift: 0,
            zero_point: 0,
            lo: i32::MIN as i64,
            hi: i32::MAX as i64,
        };
        vec![r; cout]
    }

    /// Every path (byte, `i16` and `i64` GEMM; depthwise in `i32` and `i64`) against the
    /// definition, bit for bit, on unsigned and signed activation codes.
    #[test]
    fn every_path_matches_the_definition() {
        let cases = [
            // (n, h, w, cin, kh, kw, cout, groups, strides, dilations, pads)
            (2, 5, 13, 40, 3, 3, 6, 2, [1, 2], [1, 1], [1, 1, 1, 1]),
            (1, 9, 7, 24, 3, 3, 24, 24, [2, 2], [1, 1], [1, 0, 1, 1]),
            (3, 6, 6, 8, 5, 3, 8, 8, [1, 1], [1, 2], [2, 2, 2, 2]),
            (4, 1, 1, 70, 1, 1, 37, 1, [1, 1], [1, 1], [0, 0, 0, 0]),
            (1, 8, 8, 3, 7, 7, 33, 1, [2, 2], [1, 1], [3, 3, 3, 3]),
        ];
        for (n, h, w, cin, kh, kw, cout, groups, strides, dilations, pads) in cases {
            for (zp, lo) in [(100, 0), (-3, -128)] {
                let x = Array4::from_shape_fn((n, h, w, cin), |(a, b, c, d)| {
                    ((a * 31 + b * 17 + c * 7 + d * 3) % 256) as i32 + lo
                });
                let k = Array4::from_shape_fn((kh, kw, cin / groups, cout), |(a, b, c, d)| {
                    ((a * 13 + b * 5 + c * 11 + d * 29) % 256) as i32 - 128
                });
                let g = QConvGeometry {
                    strides,
                    dilations,
                    pads,
                    groups,
                };
                let bias: Vec<i64> = (0..cout as i64).map(|c| c * 1000 - 2500).collect();
                let want = naive(&x, zp, &k, &bias, &g);
                let rq = identity(cout);
                let label = format!("groups {groups} cout {cout} zp {zp}");
                for bytes in [true, false] {
                    let weights = QConvWeights::pack_for(k.view(), groups, bytes).unwrap();
                    let y =
                        conv2d_packed(x.view(), zp, &weights, Some(&bias), &g, &rq, None).unwrap();
                    assert!(
                        y.iter().zip(&want).all(|(&a, &b)| a as i64 == b),
                        "{label} bytes {bytes}"
                    );
                }
                // The i64 accumulators, forced.
                let weights = QConvWeights::pack_for(k.view(), groups, false).unwrap();
                let job = Job {
                    xd: x.dim(),
                    xs: x.as_slice().unwrap(),
                    zp: zp as i32,
                    w: &weights,
                    bias: bias.clone(),
                    g: &g,
                    geo: Geometry::new(x.dim(), k.dim(), &g).unwrap(),
                    requant: &rq,
                    acc: Accumulator::I64,
                    rescale: None,
                    add: None,
                };
                let mut out = vec![0; want.len()];
                match &weights.layout {
                    Layout::Depthwise(t) => job.depthwise(t, &mut out),
                    Layout::Narrow(p) => job.gemm_wide(p, &mut out),
                    _ => unreachable!("8-bit weights without the byte layout pack narrow"),
                }
                .unwrap();
                assert!(
                    out.iter().zip(&want).all(|(&a, &b)| a as i64 == b),
                    "{label} i64"
                );
            }
        }
    }

    /// The vectorized requantization against [`requantize`] on accumulators up to ±2^31,
    /// with Hailo-like 31-bit multipliers, and its refusal where `i64` could overflow.
    /// One row of 37 channels.
    fn block<'a>(acc: &'a [i32], out: &'a mut [i32], codes: &'a [i32]) -> Block<'a> {
        Block {
            cols: 0..37,
            acc,
            ldc: 37,
            rows: 1,
            out,
            ld_out: 37,
            codes,
        }
    }

    #[test]
    fn vector_rescale_is_requantize() {
        let requant: Vec<Requant> = (0..37)
            .map(|c| Requant {
                multiplier: (1 << 30) + c * 7_654_321,
                shift: 20 + (c as u32 % 40),
                zero_point: c - 18,
                lo: -128 + c,
                hi: 127 + 100 * c,
            })
            .collect();
        let bias: Vec<i64> = (0..37).map(|c| (c - 18) * 99_999_989).collect();
        let t = Rescale::new(&bias, &requant, None).expect("in range");
        let mut out = vec![0; 37];
        for step in 0..2000i64 {
            let acc: Vec<i32> = (0..37)
                .map(|c| match c {
                    36 => i32::MIN,
                    _ => {
                        ((step * 2_147_483 + c * 1_000_003) % (1 << 31)) as i32
                            * (1 - 2 * (step % 2) as i32)
                    }
                })
                .collect();
            t.apply(block(&acc, &mut out, &[])).unwrap();
            let mut generic = vec![0; 37];
            rescale_widest(&t, block(&acc, &mut generic, &[])).unwrap();
            for c in 0..37 {
                let want = requantize(acc[c] as i64 + bias[c], &requant[c]);
                assert_eq!(out[c], want, "channel {c}");
                assert_eq!(generic[c], want, "generic, channel {c}");
            }
        }
        // With a fused add: both forms against the definition, and the i32 bound.
        let rescale: Vec<(i64, u32)> = (0..37).map(|c| ((1 << 30) - c * 999, 31)).collect();
        let codes: Vec<i32> = (0..37).map(|c| c * 7 - 100).collect();
        let addend = Addend {
            codes: &codes,
            zero_point: -3,
            rescale: &rescale,
        };
        let small: Vec<i64> = (0..37).map(|c| (c - 18) * 1_000).collect();
        let t = Rescale::new(&small, &requant, Some(&addend)).expect("in range");
        for step in 0..500i32 {
            let acc: Vec<i32> = (0..37)
                .map(|c| match (step, c) {
                    (0, 36) => i32::MAX,
                    (1, 0) => i32::MIN,
                    _ => (step - 250) * 8_000_017 + c * 31,
                })
                .collect();
            let want: Vec<_> = (0..37)
                .map(|c| {
                    let s = i64::from(acc[c]) + small[c];
                    addend
                        .sum(s, codes[c], c)
                        .map(|v| requantize(v, &requant[c]))
                })
                .collect();
            let ok = want.iter().all(Option::is_some);
            let mut generic = vec![0; 37];
            let r = rescale_widest(&t, block(&acc, &mut generic, &codes));
            assert_eq!(r.is_ok(), ok, "generic, step {step}");
            let r = t.apply(block(&acc, &mut out, &codes));
            assert_eq!(r.is_ok(), ok, "step {step}");
            if ok {
                let want: Vec<i32> = want.into_iter().flatten().collect();
                assert_eq!(out, want, "step {step}");
                assert_eq!(generic, want, "generic, step {step}");
            }
        }
        let mut wide = requant.clone();
        wide[3].shift = 0;
        assert!(Rescale::new(&bias, &wide, None).is_none());
        let huge = vec![1i64 << 40; 37];
        assert!(Rescale::new(&huge, &requant, None).is_none());
    }

    /// The fused add against its definition (the identity-requantized accumulator plus the
    /// rescaled add codes, then requantized), on the vectorized epilogue and on the scalar
    /// one (a shift of 0 rules the vector form out), for the byte, depthwise and `i64`
    /// paths; and the error where acc + bias reaches the `i32` bound.
    #[test]
    fn fused_add_matches_its_definition() {
        let cases = [
            // (n, h, w, cin, kh, kw, cout, groups)
            (2, 6, 7, 20, 3, 3, 24, 1),
            (1, 5, 5, 32, 3, 3, 32, 32),
            (3, 4, 4, 16, 1, 1, 19, 1),
        ];
        for (n, h, w, cin, kh, kw, cout, groups) in cases {
            let x = Array4::from_shape_fn((n, h, w, cin), |(a, b, c, d)| {
                ((a * 31 + b * 17 + c * 7 + d * 3) % 256) as i32
            });
            let k = Array4::from_shape_fn((kh, kw, cin / groups, cout), |(a, b, c, d)| {
                ((a * 13 + b * 5 + c * 11 + d * 29) % 256) as i32 - 128
            });
            let pad = kh / 2;
            let g = QConvGeometry {
                strides: [1, 1],
                dilations: [1, 1],
                pads: [pad; 4],
                groups,
            };
            let bias: Vec<i64> = (0..cout as i64).map(|c| c * 1000 - 2500).collect();
            let acc = naive(&x, 77, &k, &bias, &g);
            let codes = acc.mapv(|v| ((v.unsigned_abs() * 7 + 3) % 256) as i32);
            let rescale: Vec<(i64, u32)> = (0..cout)
                .map(|c| ((1 << 29) + 12_345 * c as i64, 20 + (c % 9) as u32))
                .collect();
            for shift in [24u32, 0] {
                let requant: Vec<Requant> = (0..cout as i64)
                    .map(|c| Requant {
                        multiplier: if shift == 0 { 1 } else { (1 << 30) + 999 * c },
                        shift: if shift == 0 {
                            0
                        } else {
                            shift + (c % 5) as u32
                        },
                        zero_point: c - 3,
                        lo: 0,
                        hi: 255,
                    })
                    .collect();
                let want = Array4::from_shape_fn(acc.dim(), |(a, b, c, d)| {
                    let (mu, sh) = rescale[d];
                    let t = rescale_fn(i64::from(codes[[a, b, c, d]]) - 5, mu, sh);
                    requantize(acc[[a, b, c, d]] + t, &requant[d])
                });
                for bytes in [true, false] {
                    let weights = QConvWeights::pack_for(k.view(), groups, bytes).unwrap();
                    let add = ConvAdd {
                        codes: codes.view().into_dyn(),
                        zero_point: 5,
                        rescale: &rescale,
                    };
                    let y =
                        conv2d_packed(x.view(), 77, &weights, Some(&bias), &g, &requant, Some(add))
                            .unwrap();
                    assert_eq!(
                        y, want,
                        "cout {cout} groups {groups} shift {shift} bytes {bytes}"
                    );
                }
            }
            let weights = QConvWeights::pack(k.view(), groups).unwrap();
            let add = ConvAdd {
                codes: codes.view().into_dyn(),
                zero_point: 5,
                rescale: &rescale,
            };
            let big = vec![i64::from(i32::MAX); cout];
            let e = conv2d_packed(
                x.view(),
                77,
                &weights,
                Some(&big),
                &g,
                &identity(cout),
                Some(add),
            )
            .unwrap_err();
            assert_eq!(
                e.to_string(),
                "q.conv2d: the accumulator of a convolution & add exceeds i32"
            );
        }
    }

    #[test]
    fn weights_beyond_i16_take_the_wide_layout() {
        let x = Array4::from_shape_fn((1, 3, 3, 2), |(_, b, c, d)| (b * 3 + c + d) as i32);
        let k = Array4::from_shape_fn((1, 1, 2, 3), |(_, _, c, d)| {
            40_000 * (c as i32 + 1) - 70_000 * d as i32
        });
        let g = QConvGeometry {
            strides: [1, 1],
            dilations: [1, 1],
            pads: [0; 4],
            groups: 1,
        };
        let bias = vec![7, -7, 0];
        let w = QConvWeights::pack(k.view(), 1).unwrap();
        assert!(matches!(w.layout, Layout::Wide(_)));
        let y = conv2d_packed(x.view(), 1, &w, Some(&bias), &g, &identity(3), None).unwrap();
        let want = naive(&x, 1, &k, &bias, &g);
        assert!(y.iter().zip(want.iter()).all(|(&a, &b)| a as i64 == b));
    }
}
