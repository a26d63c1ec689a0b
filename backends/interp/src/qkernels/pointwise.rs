//! Elementwise integer kernels: two-input add/subtract with per-input rescale, table lookup
//! activations, and requantization of a whole tensor.

use super::{rescale, KernelError, Requant};
use ndarray::{ArrayD, ArrayViewD, IxDyn, Zip};

/// Add (`sign_b = 1`) or subtract (`sign_b = −1`) with numpy broadcasting:
/// y = zp_y + round((ma·(a − za) ± mb·(b − zb)) · 2^(−shift)), saturated to `[out.lo, out.hi]`.
/// `out.multiplier` is unused; the per-input multipliers are `ma` and `mb`.
#[allow(clippy::too_many_arguments)]
pub fn add(
    a: ArrayViewD<i32>,
    za: i64,
    ma: i64,
    b: ArrayViewD<i32>,
    zb: i64,
    mb: i64,
    sign_b: i64,
    out: &Requant,
) -> Result<ArrayD<i32>, KernelError> {
    let shape = crate::kernels::elementwise::broadcast_shape("q.ew_add", a.shape(), b.shape())?;
    let a = a.broadcast(IxDyn(&shape)).ok_or_else(|| bad(&shape))?;
    let b = b.broadcast(IxDyn(&shape)).ok_or_else(|| bad(&shape))?;
    let mut y = ArrayD::<i32>::zeros(IxDyn(&shape));
    Zip::from(&mut y).and(&a).and(&b).for_each(|y, &x1, &x2| {
        let acc = (x1 as i128 - za as i128) * ma as i128
            + sign_b as i128 * (x2 as i128 - zb as i128) * mb as i128;
        let r = if out.shift == 0 {
            acc
        } else {
            (acc + (1i128 << (out.shift - 1))) >> out.shift
        };
        *y = (r as i64)
            .saturating_add(out.zero_point)
            .clamp(out.lo, out.hi) as i32;
    });
    Ok(y)
}

fn bad(shape: &[usize]) -> KernelError {
    KernelError {
        op: "q.ew_add",
        message: format!("operands do not broadcast to {shape:?}"),
    }
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
                op: "q.lut",
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
