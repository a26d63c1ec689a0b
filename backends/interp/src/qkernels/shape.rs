//! Code-moving layout kernels: strided slices of the non-batch axes (`q.slice`, which
//! `hl.slice` and each result of `hl.split` lower to).

use super::KernelError;
use ndarray::{ArrayD, ArrayViewD, Slice};

/// `x[:, s0:e0:k0, s1:e1:k1, ...]` with one `(start, end, step)` per non-batch axis;
/// bounds must satisfy `0 <= start <= end <= dim` and `step > 0`.
pub fn slice(
    x: ArrayViewD<i32>,
    starts: &[i64],
    ends: &[i64],
    steps: &[i64],
) -> Result<ArrayD<i32>, KernelError> {
    let err = |message: String| KernelError {
        op: "q.slice",
        message,
    };
    let n = x.ndim().saturating_sub(1);
    if starts.len() != n || ends.len() != n || steps.len() != n {
        return Err(err(format!(
            "{n} non-batch axes need {n} starts, ends and steps, got {starts:?} {ends:?} {steps:?}"
        )));
    }
    let mut v = x;
    for i in 0..n {
        let dim = v.shape()[i + 1] as i64;
        let (s, e, k) = (starts[i], ends[i], steps[i]);
        if !(0 <= s && s <= e && e <= dim && k > 0) {
            return Err(err(format!(
                "axis {}: slice [{s}:{e}:{k}] does not fit size {dim}",
                i + 1
            )));
        }
        v.slice_axis_inplace(
            ndarray::Axis(i + 1),
            Slice::new(s as isize, Some(e as isize), k as isize),
        );
    }
    Ok(v.as_standard_layout().into_owned())
}
