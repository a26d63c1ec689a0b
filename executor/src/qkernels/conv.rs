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
use super::{requantize, KernelError, Requant};
use hailo_dialect_quant::ops as q;
use ndarray::{Array4, ArrayView4};
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
    conv2d_packed(x, zp_x, &w, bias, g, requant)
}

/// [`conv2d`] with the kernel decoded ahead of time.
pub fn conv2d_packed(
    x: ArrayView4<i32>,
    zp_x: i64,
    w: &QConvWeights,
    bias: Option<&[i64]>,
    g: &QConvGeometry,
    requant: &[Requant],
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
    let job = Job {
        xd: x.dim(),
        xs,
        zp,
        w,
        rescale: Rescale::new(&bias, requant),
        bias,
        g,
        geo,
        requant,
        acc,
    };
    let (n, oh, ow) = (x.dim().0, geo.oh, geo.ow);
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
    }
    Array4::from_shape_vec((n, oh, ow, cout), out).map_err(|e| err(e.to_string()))
}

/// The smallest and largest of `xs` and `z`, with the widest vectors the CPU has (the scan
/// runs once per layer call; without AVX2, `i32` min/max take several instructions per lane).
fn min_max(xs: &[i32], z: i32) -> (i32, i32) {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F was detected.
            return unsafe { x86::min_max_avx512(xs, z) };
        }
        if is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was detected.
            return unsafe { x86::min_max_avx2(xs, z) };
        }
    }
    min_max_generic(xs, z)
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

/// [`requantize`] of `i32` accumulators per output channel in structure-of-arrays form, for
/// a loop the compiler vectorizes. It applies when, for every channel, the shift is in
/// 1..=62 and (2^31 + |bias|)·|multiplier| + 2^(shift−1) < 2^63: then v = acc + bias,
/// v·multiplier and the rounding stay in `i64`, which gives `requantize`'s `i128` result
/// bit for bit.
#[derive(Debug)]
struct Rescale {
    bias: Vec<i64>,
    multiplier: Vec<i64>,
    half: Vec<i64>,
    shift: Vec<i64>,
    zero_point: Vec<i64>,
    lo: Vec<i64>,
    hi: Vec<i64>,
}

impl Rescale {
    fn new(bias: &[i64], requant: &[Requant]) -> Option<Rescale> {
        let fits = requant.iter().zip(bias).all(|(r, &b)| {
            let bound = ((1i128 << 31) + i128::from(b).abs()) * i128::from(r.multiplier).abs()
                + (1i128 << r.shift.saturating_sub(1).min(127));
            (1..=62).contains(&r.shift) && bound < 1i128 << 63
        });
        fits.then(|| Rescale {
            bias: bias.to_vec(),
            multiplier: requant.iter().map(|r| r.multiplier).collect(),
            half: requant.iter().map(|r| 1i64 << (r.shift - 1)).collect(),
            shift: requant.iter().map(|r| i64::from(r.shift)).collect(),
            zero_point: requant.iter().map(|r| r.zero_point).collect(),
            lo: requant.iter().map(|r| r.lo).collect(),
            hi: requant.iter().map(|r| r.hi).collect(),
        })
    }

    /// Output codes of channels `cols` from `rows` rows of accumulators (`acc` rows of
    /// length `ldc`, `out` rows of length `ld_out`, both starting at the block's channels).
    fn apply(
        &self,
        cols: Range<usize>,
        acc: &[i32],
        ldc: usize,
        rows: usize,
        out: &mut [i32],
        ld_out: usize,
    ) {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512dq") {
                // SAFETY: AVX-512F and DQ were detected.
                return unsafe { x86::rescale_avx512(self, cols, acc, ldc, rows, out, ld_out) };
            }
        }
        self.apply_generic(cols, acc, ldc, rows, out, ld_out)
    }

    #[inline(always)]
    fn apply_generic(
        &self,
        cols: Range<usize>,
        acc: &[i32],
        ldc: usize,
        rows: usize,
        out: &mut [i32],
        ld_out: usize,
    ) {
        let n = cols.len();
        let (bias, mult, half) = (
            &self.bias[cols.clone()],
            &self.multiplier[cols.clone()],
            &self.half[cols.clone()],
        );
        let (shift, zp) = (&self.shift[cols.clone()], &self.zero_point[cols.clone()]);
        let (lo, hi) = (&self.lo[cols.clone()], &self.hi[cols]);
        for r in 0..rows {
            let (acc, out) = (&acc[r * ldc..][..n], &mut out[r * ld_out..][..n]);
            for j in 0..n {
                let v = i64::from(acc[j]) + bias[j];
                let q = (v * mult[j] + half[j]) >> shift[j];
                out[j] = (q + zp[j]).max(lo[j]).min(hi[j]) as i32;
            }
        }
    }
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
    /// channels `cols` into `out` (rows of Cout): vectorized when [`Rescale`] applies.
    fn store_i32(&self, c: &[i32], ldc: usize, rows: usize, cols: Range<usize>, out: &mut [i32]) {
        let Some(t) = &self.rescale else {
            return self.store(c, ldc, rows, cols, out);
        };
        let cout = self.w.dims.3;
        let start = cols.start;
        t.apply(cols, c, ldc, rows, &mut out[start..], cout);
    }

    /// Requantizes `rows` rows of the C block (row length `ldc`) holding output channels
    /// `cols` into `out` (rows of Cout), one [`requantize`] per output.
    fn store<C: Copy + Into<i64>>(
        &self,
        c: &[C],
        ldc: usize,
        rows: usize,
        cols: Range<usize>,
        out: &mut [i32],
    ) {
        let cout = self.w.dims.3;
        for r in 0..rows {
            let crow = &c[r * ldc..][..cols.len()];
            let orow = &mut out[r * cout + cols.start..][..cols.len()];
            for ((o, &v), oc) in orow.iter_mut().zip(crow).zip(cols.clone()) {
                *o = requantize(v.into() + self.bias[oc], &self.requant[oc]);
            }
        }
    }

    /// The `i16`/`i32` SIMD path.
    fn gemm_narrow(&self, panels: &[PackedB<i16>], out: &mut [i32]) {
        let cout = self.w.dims.3;
        let kpad = panels[0].k_padded();
        let ldc = panels[0].n_padded();
        let mb = self.block_pixels(kpad, 2);
        let x: Vec<i16> = self.xs.iter().map(|&v| (v - self.zp) as i16).collect();
        out.par_chunks_mut(mb * cout).enumerate().for_each_init(
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
                    self.store_i32(&s.c, ldc, rows, panel_cols(grp, panel), ochunk);
                }
            },
        );
    }

    /// The `u8` × `i8` path: x + `offset` (and the padding, zp + offset) as bytes.
    fn gemm_bytes(&self, panels: &[PackedB<i8>], offset: i32, out: &mut [i32]) {
        let cout = self.w.dims.3;
        let kpad = panels[0].k_padded();
        let ldc = panels[0].n_padded();
        let mb = self.block_pixels(kpad, 1);
        let pad = (self.zp + offset) as u8;
        let x: Vec<u8> = self.xs.iter().map(|&v| (v + offset) as u8).collect();
        out.par_chunks_mut(mb * cout).enumerate().for_each_init(
            Scratch::<u8, i32>::default,
            |s, (blk, ochunk)| {
                let rows = ochunk.len() / cout;
                let padded = rows.div_ceil(MR) * MR;
                for (grp, panel) in panels.iter().enumerate() {
                    s.a.clear();
                    s.a.resize(padded * kpad, pad);
                    self.patches(&x, &mut s.a, kpad, blk * mb, rows, grp);
                    s.c.resize(padded * ldc, 0);
                    gemm_u8i8(&s.a, padded, panel, &mut s.c);
                    self.store_i32(&s.c, ldc, rows, panel_cols(grp, panel), ochunk);
                }
            },
        );
    }

    /// The `i64` path.
    fn gemm_wide<B: Copy + Into<i64> + Sync>(&self, panels: &[PackedB<B>], out: &mut [i32]) {
        let cout = self.w.dims.3;
        let kpad = panels[0].k_padded();
        let ldc = panels[0].n_padded();
        let mb = self.block_pixels(kpad, 4);
        let x: Vec<i32> = self.xs.iter().map(|&v| v - self.zp).collect();
        out.par_chunks_mut(mb * cout).enumerate().for_each_init(
            Scratch::<i32, i64>::default,
            |s, (blk, ochunk)| {
                let rows = ochunk.len() / cout;
                for (grp, panel) in panels.iter().enumerate() {
                    s.a.clear();
                    s.a.resize(rows * kpad, 0);
                    self.patches(&x, &mut s.a, kpad, blk * mb, rows, grp);
                    s.c.resize(rows * ldc, 0);
                    gemm_wide(&s.a, rows, panel, &mut s.c);
                    self.store(&s.c, ldc, rows, panel_cols(grp, panel), ochunk);
                }
            },
        );
    }

    /// Depthwise layers, one output row at a time in `i32` or `i64` per [`Job::acc`].
    fn depthwise(&self, t: &[i32], out: &mut [i32]) {
        let (oh, ow) = (self.geo.oh, self.geo.ow);
        let c = self.w.dims.3;
        out.par_chunks_mut(ow * c).enumerate().for_each_init(
            Scratch::<i32, i64>::default,
            |s, (row, orow)| {
                let (b, oy) = (row / oh, row % oh);
                match self.acc {
                    Accumulator::I32 => {
                        s.a.clear();
                        s.a.resize(ow * c, 0);
                        depthwise_row_dispatch(self, t, b, oy, &mut s.a);
                        self.store_i32(&s.a, c, ow, 0..c, orow);
                    }
                    Accumulator::I64 => {
                        s.c.clear();
                        s.c.resize(ow * c, 0);
                        depthwise_row(self, t, b, oy, &mut s.c);
                        self.store(&s.c, c, ow, 0..c, orow);
                    }
                }
            },
        );
    }
}

/// Accumulates output row (b, oy) of a depthwise layer: acc[ox·C + c] += w·(x − zp) over the
/// taps inside the input, each tap a loop over all C channels (vectorized).
#[inline(always)]
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

/// [`depthwise_row`] in `i32`, compiled for the widest vectors the CPU has.
fn depthwise_row_dispatch(job: &Job, t: &[i32], b: usize, oy: usize, acc: &mut [i32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F was detected.
            return unsafe { x86::depthwise_row_avx512(job, t, b, oy, acc) };
        }
        if is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was detected.
            return unsafe { x86::depthwise_row_avx2(job, t, b, oy, acc) };
        }
    }
    depthwise_row(job, t, b, oy, acc)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{depthwise_row, min_max_generic, Job, Rescale};
    use std::ops::Range;

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn min_max_avx512(xs: &[i32], z: i32) -> (i32, i32) {
        min_max_generic(xs, z)
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn min_max_avx2(xs: &[i32], z: i32) -> (i32, i32) {
        min_max_generic(xs, z)
    }

    #[target_feature(enable = "avx512f,avx512dq")]
    pub(super) unsafe fn rescale_avx512(
        t: &Rescale,
        cols: Range<usize>,
        acc: &[i32],
        ldc: usize,
        rows: usize,
        out: &mut [i32],
        ld_out: usize,
    ) {
        t.apply_generic(cols, acc, ldc, rows, out, ld_out)
    }

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn depthwise_row_avx512(
        job: &Job,
        t: &[i32],
        b: usize,
        oy: usize,
        acc: &mut [i32],
    ) {
        depthwise_row(job, t, b, oy, acc)
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn depthwise_row_avx2(
        job: &Job,
        t: &[i32],
        b: usize,
        oy: usize,
        acc: &mut [i32],
    ) {
        depthwise_row(job, t, b, oy, acc)
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
                    let y = conv2d_packed(x.view(), zp, &weights, Some(&bias), &g, &rq).unwrap();
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
                };
                let mut out = vec![0; want.len()];
                match &weights.layout {
                    Layout::Depthwise(t) => job.depthwise(t, &mut out),
                    Layout::Narrow(p) => job.gemm_wide(p, &mut out),
                    _ => unreachable!("8-bit weights without the byte layout pack narrow"),
                }
                assert!(
                    out.iter().zip(&want).all(|(&a, &b)| a as i64 == b),
                    "{label} i64"
                );
            }
        }
    }

    /// The vectorized requantization against [`requantize`] on accumulators up to ±2^31,
    /// with Hailo-like 31-bit multipliers, and its refusal where `i64` could overflow.
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
        let t = Rescale::new(&bias, &requant).expect("in range");
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
            t.apply(0..37, &acc, 37, 1, &mut out, 37);
            for c in 0..37 {
                assert_eq!(
                    out[c],
                    requantize(acc[c] as i64 + bias[c], &requant[c]),
                    "channel {c}"
                );
            }
        }
        let mut wide = requant.clone();
        wide[3].shift = 0;
        assert!(Rescale::new(&bias, &wide).is_none());
        let huge = vec![1i64 << 40; 37];
        assert!(Rescale::new(&huge, &requant).is_none());
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
        let y = conv2d_packed(x.view(), 1, &w, Some(&bias), &g, &identity(3)).unwrap();
        let want = naive(&x, 1, &k, &bias, &g);
        assert!(y.iter().zip(want.iter()).all(|(&a, &b)| a as i64 == b));
    }
}
