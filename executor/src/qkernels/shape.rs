//! Code-moving layout kernels: strided slices (`q.slice`, which
//! `hl.slice` and each result of `hl.split` lower to), axis permutations (`q.transpose`,
//! also the middle step of depth_to_space / space_to_depth / feature_shuffle) and padding
//! (`q.pad`). Codes move unchanged; a constant pad writes the given code.

use super::KernelError;
use hailo_dialect_quant::ops as q;
use ndarray::{ArrayD, ArrayViewD, IxDyn, Slice};

/// `x[:, s0:e0:k0, s1:e1:k1, ...]` with one `(start, end, step)` per non-batch axis, or
/// `x[s0:e0:k0, ...]` with one per axis (axis 0 is then the model's own axis, not a free
/// batch); bounds must satisfy `0 <= start <= end <= dim` and `step > 0`.
pub fn slice(
    x: ArrayViewD<i32>,
    starts: &[i64],
    ends: &[i64],
    steps: &[i64],
) -> Result<ArrayD<i32>, KernelError> {
    let err = |message: String| KernelError {
        op: q::Slice::NAME,
        message,
    };
    let n = starts.len();
    let first = x.ndim().checked_sub(n).filter(|&f| f <= 1);
    let Some(first) = first.filter(|_| ends.len() == n && steps.len() == n) else {
        return Err(err(format!(
            "a rank-{} input needs starts, ends and steps for its {} non-batch axes or all its axes, got {starts:?} {ends:?} {steps:?}",
            x.ndim(),
            x.ndim().saturating_sub(1)
        )));
    };
    let mut v = x;
    for i in 0..n {
        let a = i + first;
        let dim = v.shape()[a] as i64;
        let (s, e, k) = (starts[i], ends[i], steps[i]);
        if !(0 <= s && s <= e && e <= dim && k > 0) {
            return Err(err(format!(
                "axis {a}: slice [{s}:{e}:{k}] does not fit size {dim}"
            )));
        }
        v.slice_axis_inplace(
            ndarray::Axis(a),
            Slice::new(s as isize, Some(e as isize), k as isize),
        );
    }
    Ok(v.as_standard_layout().into_owned())
}

/// numpy `transpose(x, perm)` of codes, in standard layout (the float kernel's code, reported
/// as `q.transpose`).
pub fn transpose(x: ArrayViewD<i32>, perm: &[usize]) -> Result<ArrayD<i32>, KernelError> {
    crate::kernels::layout::transpose(x, perm).map_err(|e| KernelError {
        op: q::Transpose::NAME,
        message: e.message,
    })
}

/// How `q.pad` fills the border.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QPadMode {
    /// This code.
    Constant(i32),
    /// Mirror without repeating the edge (numpy `reflect`).
    Reflect,
    /// Repeat the edge code.
    Edge,
    /// Continue periodically from the other side.
    Wrap,
}

/// Pads each axis by `(before, after)` codes.
pub fn pad(
    x: ArrayViewD<i32>,
    pads: &[(usize, usize)],
    mode: QPadMode,
) -> Result<ArrayD<i32>, KernelError> {
    let err = |message: String| KernelError {
        op: q::Pad::NAME,
        message,
    };
    if pads.len() != x.ndim() {
        return Err(err(format!(
            "{} pad pairs for rank-{} input {:?}",
            pads.len(),
            x.ndim(),
            x.shape()
        )));
    }
    // The source index of every output index along each axis (None: the constant).
    let mut sources: Vec<Vec<Option<usize>>> = Vec::with_capacity(x.ndim());
    for (axis, (&(before, after), &d)) in pads.iter().zip(x.shape()).enumerate() {
        let last = d as i64 - 1;
        if d == 0 && before + after > 0 && !matches!(mode, QPadMode::Constant(_)) {
            return Err(err(format!("cannot {mode:?}-pad empty axis {axis}")));
        }
        if mode == QPadMode::Reflect && (before as i64 > last || after as i64 > last) {
            return Err(err(format!(
                "reflect pads ({before}, {after}) on axis {axis} must be smaller than its size {d}"
            )));
        }
        let src = (0..before + d + after)
            .map(|o| {
                let i = o as i64 - before as i64;
                if (0..d as i64).contains(&i) {
                    return Some(i as usize);
                }
                match mode {
                    QPadMode::Constant(_) => None,
                    QPadMode::Edge => Some(i.clamp(0, last) as usize),
                    QPadMode::Reflect => {
                        // last >= 1 here: reflect pads are smaller than the axis.
                        let m = i.rem_euclid(2 * last);
                        Some(if m > last { 2 * last - m } else { m } as usize)
                    }
                    QPadMode::Wrap => Some(i.rem_euclid(d as i64) as usize),
                }
            })
            .collect();
        sources.push(src);
    }
    let fill = match mode {
        QPadMode::Constant(v) => v,
        _ => 0,
    };
    let shape: Vec<usize> = sources.iter().map(Vec::len).collect();
    let mut at = vec![0usize; x.ndim()];
    Ok(ArrayD::from_shape_fn(IxDyn(&shape), |o| {
        for (a, s) in sources.iter().enumerate() {
            match s[o[a]] {
                Some(i) => at[a] = i,
                None => return fill,
            }
        }
        x[IxDyn(&at)]
    }))
}
