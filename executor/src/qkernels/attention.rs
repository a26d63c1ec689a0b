//! Integer kernels of the transformer layers: the data-driven matrix product of two
//! activation tensors ([`matmul`]), softmax with a 16-bit exp table ([`softmax`]),
//! normalization with exact integer statistics ([`layer_norm`]) and reductions over axes
//! ([`reduce`]). All arithmetic is on integers (i64 / i128); the only real numbers are the
//! constants the lowering computed (tables, multipliers, shifts).

use super::{rescale, KernelError, Requant};
use crate::kernels::error::ensure;
use hailo_dialect_quant::ops as q;
use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn};

/// `num / den` rounded half up (`den > 0`).
fn div_round(num: i128, den: i128) -> i128 {
    (2 * num + den).div_euclid(2 * den)
}

/// A code from a real-valued numerator `num` (already rescaled): add the zero point and
/// saturate.
fn code(v: i128, r: &Requant) -> i32 {
    (v.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
        .saturating_add(r.zero_point)
        .clamp(r.lo, r.hi) as i32
}

/// y = requantize(Σ_k (a − za)·(b − zb)): the product over the last two axes with numpy
/// broadcasting of the leading axes (`b` transposed on its last two axes when `transpose_b`).
pub fn matmul(
    a: ArrayViewD<i32>,
    za: i64,
    b: ArrayViewD<i32>,
    zb: i64,
    transpose_b: bool,
    out: &Requant,
) -> Result<ArrayD<i32>, KernelError> {
    const OP: &str = q::MatMul::NAME;
    ensure!(
        a.ndim() >= 2 && b.ndim() >= 2,
        OP,
        "operands must have rank >= 2, got {:?} and {:?}",
        a.shape(),
        b.shape()
    );
    let mut b = b;
    if transpose_b {
        let r = b.ndim();
        b.swap_axes(r - 2, r - 1);
    }
    let (ra, rb) = (a.ndim(), b.ndim());
    let (m, k) = (a.shape()[ra - 2], a.shape()[ra - 1]);
    let (k2, n) = (b.shape()[rb - 2], b.shape()[rb - 1]);
    ensure!(
        k == k2,
        OP,
        "inner dimensions differ: {:?} · {:?}",
        a.shape(),
        b.shape()
    );
    let batch = crate::kernels::elementwise::broadcast_shape(
        OP,
        &a.shape()[..ra - 2],
        &b.shape()[..rb - 2],
    )?;
    let full = |t: [usize; 2]| {
        let mut v = batch.clone();
        v.extend(t);
        IxDyn(&v)
    };
    let bad = || KernelError::new(OP, format!("batch axes do not broadcast to {batch:?}"));
    let a = a.broadcast(full([m, k])).ok_or_else(bad)?;
    let b = b.broadcast(full([k, n])).ok_or_else(bad)?;
    let count: usize = batch.iter().product();
    let a3 = a
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((count, m, k))
        .map_err(|e| KernelError::new(OP, e.to_string()))?;
    let b3 = b
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((count, k, n))
        .map_err(|e| KernelError::new(OP, e.to_string()))?;
    let mut y = Vec::with_capacity(count * m * n);
    for (ai, bi) in a3.outer_iter().zip(b3.outer_iter()) {
        for i in 0..m {
            for j in 0..n {
                let acc: i64 = (0..k)
                    .map(|t| (ai[[i, t]] as i64 - za) * (bi[[t, j]] as i64 - zb))
                    .sum();
                y.push(super::requantize(acc, out));
            }
        }
    }
    let mut shape = batch;
    shape.extend([m, n]);
    ArrayD::from_shape_vec(IxDyn(&shape), y).map_err(|e| KernelError::new(OP, e.to_string()))
}

/// Calls `f(row, e, Σ e, output row)` for every row along the last axis, with
/// e = `table`[max − x] per element.
fn exp_rows(
    x: ArrayViewD<i32>,
    table: &[i64],
    op: &'static str,
    mut f: impl FnMut(&[i32], &[i128], i128, ndarray::ArrayViewMut1<i32>),
) -> Result<ArrayD<i32>, KernelError> {
    ensure!(x.ndim() >= 1, op, "operand must have rank >= 1");
    let last = Axis(x.ndim() - 1);
    let mut y = ArrayD::<i32>::zeros(x.raw_dim());
    for (row, yrow) in x.lanes(last).into_iter().zip(y.lanes_mut(last)) {
        let row: Vec<i32> = row.to_vec();
        let Some(&mx) = row.iter().max() else {
            continue;
        };
        let mut e = Vec::with_capacity(row.len());
        for &v in &row {
            let d = (mx - v) as usize;
            let t = *table.get(d).ok_or_else(|| {
                KernelError::new(op, format!("code difference {d} is outside the table"))
            })?;
            e.push(t as i128);
        }
        let sum: i128 = e.iter().sum();
        f(&row, &e, sum, yrow);
    }
    Ok(y)
}

/// Softmax along the last axis: per row, d = max − x (a code difference ≥ 0),
/// e = `table`[d] (16-bit, 1.0 = 2^15), y = round(e · m / (Σ e · 2^shift)) + zp, saturated.
pub fn softmax(
    x: ArrayViewD<i32>,
    table: &[i64],
    out: &Requant,
) -> Result<ArrayD<i32>, KernelError> {
    exp_rows(x, table, q::Softmax::NAME, |_, e, sum, mut yrow| {
        let den = sum.max(1) << out.shift;
        for (o, &ei) in yrow.iter_mut().zip(e) {
            *o = code(div_round(ei * out.multiplier as i128, den), out);
        }
    })
}

/// Mantissa bits of [`log2_q16`]'s table.
const LOG2_MANTISSA_BITS: u32 = 10;

/// log2(v) with 16 fractional bits (v ≥ 1): the position of the leading one plus
/// round(2^16 · log2(1 + i/1024)) for the next 10 bits i (truncated).
pub fn log2_q16(v: u128) -> i128 {
    let k = 127 - v.leading_zeros();
    let i = if k >= LOG2_MANTISSA_BITS {
        (v >> (k - LOG2_MANTISSA_BITS)) & ((1 << LOG2_MANTISSA_BITS) - 1)
    } else {
        (v << (LOG2_MANTISSA_BITS - k)) & ((1 << LOG2_MANTISSA_BITS) - 1)
    };
    let frac = (1.0 + i as f64 / f64::from(1u32 << LOG2_MANTISSA_BITS)).log2();
    ((k as i128) << 16) + (frac * 65536.0).round() as i128
}

/// Log-softmax along the last axis: with e and Σ e as in [`softmax`],
/// L = log2_q16(Σ e) − 15·2^16 (log2 of the sum of exps, 16 fractional bits) and
/// y = round((ma·(x − max) − mb·L) · 2^(−shift)) + zp, saturated.
pub fn log_softmax(
    x: ArrayViewD<i32>,
    table: &[i64],
    ma: i64,
    mb: i64,
    out: &Requant,
) -> Result<ArrayD<i32>, KernelError> {
    exp_rows(x, table, q::LogSoftmax::NAME, |row, _, sum, mut yrow| {
        let mx = row.iter().copied().max().unwrap_or(0) as i128;
        let l = log2_q16(sum.max(1) as u128) - ((q::FRAC_BITS_16 as i128) << 16);
        for (o, &v) in yrow.iter_mut().zip(row) {
            let acc = ma as i128 * (v as i128 - mx) - mb as i128 * l;
            let r = if out.shift == 0 {
                acc
            } else {
                (acc + (1i128 << (out.shift - 1))) >> out.shift
            };
            *o = code(r, out);
        }
    })
}

/// Floor of the square root of `v`.
pub fn isqrt(v: u128) -> u128 {
    if v < 2 {
        return v;
    }
    // Newton's iteration from above converges to the floor.
    let mut x = 1u128 << (128 - v.leading_zeros()).div_ceil(2);
    loop {
        let y = (x + v / x) / 2;
        if y >= x {
            return x;
        }
        x = y;
    }
}

/// Bits of the square root's fraction in [`layer_norm`]: sqrt((V + ε)·2^(2·R)).
const SQRT_FRAC_BITS: u32 = 16;

/// Normalization over `axes` with a per-channel (last axis) affine. For each group of `n`
/// codes: S = Σ(x − zp), D = n·(x − zp) − S, V = Σ D², r = isqrt((V + eps)·2^32),
/// t = round(D · 2^31 / r) (a signed 16-bit value, 1.0 = 2^15), then
/// y = requantize(gamma[c]·t + beta[c]) with channel c's rescale. Without `center` (the L2
/// normalization): D = x − zp and r = isqrt(max(V, eps)·2^32).
#[allow(clippy::too_many_arguments)]
pub fn layer_norm(
    x: ArrayViewD<i32>,
    zp: i64,
    axes: &[usize],
    eps: i64,
    center: bool,
    gamma: &[i64],
    beta: &[i64],
    out: &[Requant],
) -> Result<ArrayD<i32>, KernelError> {
    const OP: &str = q::LayerNorm::NAME;
    let rank = x.ndim();
    ensure!(
        rank >= 1 && axes.iter().all(|&a| a < rank),
        OP,
        "axes {axes:?} do not fit rank {rank}"
    );
    let c = x.shape()[rank - 1];
    ensure!(
        gamma.len() == c && beta.len() == c && out.len() == c,
        OP,
        "gamma, beta and rescale need {c} channels"
    );
    // Move the reduced axes last, so each group is one contiguous row.
    let kept: Vec<usize> = (0..rank).filter(|a| !axes.contains(a)).collect();
    let perm: Vec<usize> = kept.iter().chain(axes).copied().collect();
    let xp = x.view().permuted_axes(IxDyn(&perm));
    let group: usize = axes.iter().map(|&a| x.shape()[a]).product();
    let rows = xp.len() / group.max(1);
    let xs = xp.as_standard_layout();
    let flat = xs
        .as_slice()
        .ok_or_else(|| KernelError::new(OP, "non-contiguous input"))?;
    // The channel of each element of a row, and of each row (when the last axis is kept).
    let shape_p: Vec<usize> = perm.iter().map(|&a| x.shape()[a]).collect();
    let mut yp = vec![0i32; flat.len()];
    let one = 1i128 << (q::FRAC_BITS_16 + SQRT_FRAC_BITS);
    for r in 0..rows {
        let row = &flat[r * group..(r + 1) * group];
        let (n, s) = if center {
            let s: i128 = row.iter().map(|&v| v as i128 - zp as i128).sum();
            (group as i128, s)
        } else {
            (1, 0)
        };
        let d: Vec<i128> = row
            .iter()
            .map(|&v| n * (v as i128 - zp as i128) - s)
            .collect();
        let var: i128 = d.iter().map(|&v| v * v).sum();
        let var = if center {
            var + eps as i128
        } else {
            var.max(eps as i128)
        };
        let root = isqrt((var as u128) << (2 * SQRT_FRAC_BITS)) as i128;
        for (i, &di) in d.iter().enumerate() {
            let flat_i = r * group + i;
            let ch = channel(flat_i, &shape_p, &perm, rank);
            let t = if root == 0 {
                0
            } else {
                div_round(di * one, root)
            }
            .clamp(-(1 << 15), (1 << 15) - 1);
            let acc = gamma[ch] as i128 * t + beta[ch] as i128;
            let rq = &out[ch];
            yp[flat_i] = code(rescale(acc as i64, rq.multiplier, rq.shift) as i128, rq);
        }
    }
    let yp = ArrayD::from_shape_vec(IxDyn(&shape_p), yp)
        .map_err(|e| KernelError::new(OP, e.to_string()))?;
    let mut inv = vec![0; rank];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i;
    }
    Ok(yp
        .permuted_axes(IxDyn(&inv))
        .as_standard_layout()
        .into_owned())
}

/// The index along the original last axis of flat position `i` of the permuted array.
fn channel(mut i: usize, shape_p: &[usize], perm: &[usize], rank: usize) -> usize {
    for (k, &d) in shape_p.iter().enumerate().rev() {
        if perm[k] == rank - 1 {
            return i % d;
        }
        i /= d;
    }
    0
}

/// How [`reduce`] combines codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceKind {
    Sum,
    Mean,
    Max,
    Min,
    SumSquare,
    L2,
}

/// Fractional bits of the square root of [`ReduceKind::L2`].
pub const L2_FRAC_BITS: u32 = 16;

/// Reduces d = `x − zp` over `axes` and rescales to the output:
/// y = round(r · m · 2^(−shift) / k) + zp_out, with r = Σ d (k = 1, or the count for mean),
/// max d, min d, Σ d² (sum_square), or isqrt(Σ d² · 2^32) (l2, k = 2^16).
pub fn reduce(
    x: ArrayViewD<i32>,
    zp: i64,
    axes: &[usize],
    keepdims: bool,
    kind: ReduceKind,
    out: &Requant,
) -> Result<ArrayD<i32>, KernelError> {
    const OP: &str = q::Reduce::NAME;
    let rank = x.ndim();
    ensure!(
        axes.iter().all(|&a| a < rank),
        OP,
        "axes {axes:?} do not fit rank {rank}"
    );
    let kept: Vec<usize> = (0..rank).filter(|a| !axes.contains(a)).collect();
    let perm: Vec<usize> = kept.iter().chain(axes).copied().collect();
    let xp = x.view().permuted_axes(IxDyn(&perm));
    let group: usize = axes.iter().map(|&a| x.shape()[a]).product();
    let xs = xp.as_standard_layout();
    let flat = xs
        .as_slice()
        .ok_or_else(|| KernelError::new(OP, "non-contiguous input"))?;
    let shape: Vec<usize> = (0..rank)
        .filter_map(|a| match (axes.contains(&a), keepdims) {
            (false, _) => Some(x.shape()[a]),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect();
    if group == 0 {
        // An empty reduction: the identity of the kind, as the float kernel gives it (sum,
        // mean, sum_square and l2 of nothing are 0; max of nothing is -inf and min +inf,
        // so the lowest and highest code).
        let empty = match kind {
            ReduceKind::Max => out.lo as i32,
            ReduceKind::Min => out.hi as i32,
            _ => code(0, out),
        };
        return Ok(ArrayD::from_elem(IxDyn(&shape), empty));
    }
    let y: Vec<i32> = flat
        .chunks(group)
        .map(|row| {
            let it = row.iter().map(|&v| v as i64 - zp);
            let squares = || {
                row.iter()
                    .map(|&v| (v as i128 - zp as i128).pow(2))
                    .sum::<i128>()
            };
            let r: i128 = match kind {
                ReduceKind::Sum | ReduceKind::Mean => it.sum::<i64>() as i128,
                ReduceKind::Max => it.max().unwrap_or(0) as i128,
                ReduceKind::Min => it.min().unwrap_or(0) as i128,
                ReduceKind::SumSquare => squares(),
                ReduceKind::L2 => isqrt((squares() as u128) << (2 * L2_FRAC_BITS)) as i128,
            };
            let num = r * out.multiplier as i128;
            let k = match kind {
                ReduceKind::Mean => group as i128,
                ReduceKind::L2 => 1 << L2_FRAC_BITS,
                _ => 1,
            };
            let den = k << out.shift;
            code(div_round(num, den), out)
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape), y).map_err(|e| KernelError::new(OP, e.to_string()))
}
