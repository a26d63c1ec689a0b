//! Elementwise integer kernels: two-input ops ([`Binary`]: add/subtract/max/min with per-input
//! rescale, multiply and divide with one rescale), table lookup activations, PReLU, and
//! requantization of a whole tensor.

use super::{rescale, KernelError, Requant};
use hailo_dialect_quant::ops as q;
use ndarray::{ArrayD, ArrayViewD, IxDyn, Zip};

/// The integer arithmetic of a two-input elementwise op. `a`, `b` are the inputs minus
/// their zero points; `shift` and the output's zero point and bounds come from the [`Requant`]
/// passed to [`binary`] (its `multiplier` is unused: each variant carries its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binary {
    /// round((ma·a + mb·b)·2^(−shift)).
    Add {
        ma: i64,
        mb: i64,
    },
    /// round((ma·a − mb·b)·2^(−shift)).
    Sub {
        ma: i64,
        mb: i64,
    },
    /// max / min of each input rescaled and saturated on its own.
    Max {
        ma: i64,
        mb: i64,
    },
    Min {
        ma: i64,
        mb: i64,
    },
    /// round(a·b·m·2^(−shift)).
    Mult {
        m: i64,
    },
    /// round(a·m / (b·2^shift)); b = 0 saturates towards the sign of a (0 when a = 0).
    Div {
        m: i64,
    },
}

/// Rounds `num / den` half up (den ≠ 0).
fn div_round(num: i128, den: i128) -> i128 {
    let (n, d) = if den < 0 { (-num, -den) } else { (num, den) };
    (2 * n + d).div_euclid(2 * d)
}

/// `acc · 2^(−shift)` rounded half up.
fn shr_round(acc: i128, shift: u32) -> i128 {
    if shift == 0 {
        acc
    } else {
        (acc + (1i128 << (shift - 1))) >> shift
    }
}

impl Binary {
    /// For add and subtract, the multipliers (mb negated for subtract) when the whole
    /// computation fits `i64`: |m| < 2^31 and |x − z| ≤ 2^30 for every code (so |p| < 2^62),
    /// shift ≤ 62 and |zero point| < 2^32; then `i64` gives the `i128` result bit for bit.
    fn narrow(
        self,
        a: &ndarray::ArrayViewD<i32>,
        za: i64,
        b: &ndarray::ArrayViewD<i32>,
        zb: i64,
        out: &Requant,
    ) -> Option<(i64, i64)> {
        let (ma, mb) = match self {
            Binary::Add { ma, mb } => (ma, mb),
            Binary::Sub { ma, mb } => (ma, -mb),
            _ => return None,
        };
        let small = |m: i64| m.unsigned_abs() < 1 << 31;
        let codes_fit = |x: &ndarray::ArrayViewD<i32>, z: i64| {
            let (lo, hi) = x.fold((i32::MAX, i32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            x.is_empty() || ((lo as i64 - z).abs() <= 1 << 30 && (hi as i64 - z).abs() <= 1 << 30)
        };
        (small(ma)
            && small(mb)
            && out.shift <= 62
            && out.zero_point.unsigned_abs() < 1 << 32
            && codes_fit(a, za)
            && codes_fit(b, zb))
        .then_some((ma, mb))
    }

    /// The output code of input differences `a` = x1 − za and `b` = x2 − zb.
    fn apply(self, a: i128, b: i128, out: &Requant) -> i64 {
        let sat = |r: i128| {
            (r.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
                .saturating_add(out.zero_point)
                .clamp(out.lo, out.hi)
        };
        let s = out.shift;
        match self {
            Binary::Add { ma, mb } => sat(shr_round(ma as i128 * a + mb as i128 * b, s)),
            Binary::Sub { ma, mb } => sat(shr_round(ma as i128 * a - mb as i128 * b, s)),
            Binary::Max { ma, mb } => {
                sat(shr_round(ma as i128 * a, s)).max(sat(shr_round(mb as i128 * b, s)))
            }
            Binary::Min { ma, mb } => {
                sat(shr_round(ma as i128 * a, s)).min(sat(shr_round(mb as i128 * b, s)))
            }
            Binary::Mult { m } => sat(shr_round(a * b * m as i128, s)),
            Binary::Div { m } => match (a * m as i128, b << s) {
                (0, 0) => sat(0),
                (n, 0) if n > 0 => out.hi,
                (_, 0) => out.lo,
                (n, d) => sat(div_round(n, d)),
            },
        }
    }
}

/// y = `op`(a − za, b − zb) with numpy broadcasting, saturated to `[out.lo, out.hi]`.
pub fn binary(
    a: ArrayViewD<i32>,
    za: i64,
    b: ArrayViewD<i32>,
    zb: i64,
    op: Binary,
    out: &Requant,
) -> Result<ArrayD<i32>, KernelError> {
    let shape = crate::kernels::elementwise::broadcast_shape("q.ew", a.shape(), b.shape())?;
    let bad = || KernelError {
        op: "q.ew",
        message: format!("operands do not broadcast to {shape:?}"),
    };
    let a = a.broadcast(IxDyn(&shape)).ok_or_else(bad)?;
    let b = b.broadcast(IxDyn(&shape)).ok_or_else(bad)?;
    let mut y = ArrayD::<i32>::zeros(IxDyn(&shape));
    if let Some((ma, mb)) = op.narrow(&a, za, &b, zb, out) {
        // Same arithmetic in i64 (see `Binary::narrow`).
        let (s, zp) = (out.shift, out.zero_point);
        let half = if s == 0 { 0 } else { 1i64 << (s - 1) };
        Zip::from(&mut y).and(&a).and(&b).for_each(|y, &x1, &x2| {
            let p = ma * (x1 as i64 - za) + mb * (x2 as i64 - zb);
            *y = (((p + half) >> s) + zp).clamp(out.lo, out.hi) as i32;
        });
        return Ok(y);
    }
    Zip::from(&mut y).and(&a).and(&b).for_each(|y, &x1, &x2| {
        let (d1, d2) = (x1 as i128 - za as i128, x2 as i128 - zb as i128);
        *y = op.apply(d1, d2, out) as i32;
    });
    Ok(y)
}

/// y = table[x − qmin_in]; an input code outside the table is an error.
pub fn lut(x: ArrayViewD<i32>, qmin_in: i64, table: &[i32]) -> Result<ArrayD<i32>, KernelError> {
    let mut out = ArrayD::<i32>::zeros(x.raw_dim());
    for (o, &c) in out.iter_mut().zip(x.iter()) {
        let i = c as i64 - qmin_in;
        *o = *usize::try_from(i)
            .ok()
            .and_then(|i| table.get(i))
            .ok_or_else(|| KernelError {
                op: q::Lut::NAME,
                message: format!(
                    "input code {c} is outside the table of {} entries",
                    table.len()
                ),
            })?;
    }
    Ok(out)
}

/// Requantizes every code: y = requantize(x − zp_in).
pub fn requantize_tensor(x: ArrayViewD<i32>, zp_in: i64, out: &Requant) -> ArrayD<i32> {
    x.mapv(|c| {
        let v = rescale(c as i64 - zp_in, out.multiplier, out.shift);
        v.saturating_add(out.zero_point).clamp(out.lo, out.hi) as i32
    })
}

/// PReLU: d = x − zp_in, y = requantize(d) with `out`'s multiplier where d ≥ 0, and with
/// the signed `slopes[i mod len]` where d < 0 (i the row-major element index: one entry for
/// all, one per channel of the last axis, one per element of a sample, or one per element).
pub fn prelu(
    x: ArrayViewD<i32>,
    zp_in: i64,
    slopes: &[i64],
    out: &Requant,
) -> Result<ArrayD<i32>, KernelError> {
    let c = x.shape().last().copied().unwrap_or(1);
    let sample: usize = x.shape().iter().skip(1).product();
    let n = slopes.len();
    if n == 0 || (n != c && n != 1 && n != sample && n != x.len()) {
        return Err(KernelError {
            op: q::Prelu::NAME,
            message: format!(
                "{} slopes for {c} channels ({sample} elements per sample)",
                slopes.len()
            ),
        });
    }
    let xs = x.as_standard_layout();
    let y: Vec<i32> = xs
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let d = v as i64 - zp_in;
            let m = if d >= 0 {
                out.multiplier
            } else {
                slopes[i % slopes.len()]
            };
            let r = rescale(d, m, out.shift);
            r.saturating_add(out.zero_point).clamp(out.lo, out.hi) as i32
        })
        .collect();
    ArrayD::from_shape_vec(x.raw_dim(), y).map_err(|e| KernelError {
        op: q::Prelu::NAME,
        message: e.to_string(),
    })
}
