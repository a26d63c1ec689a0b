//! Shape manipulation: concat, strided slice and pad.

use super::error::{ensure, KernelError};
use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Slice};

/// Concatenates along `axis`; all other axes must agree.
///
/// Inputs are copied as contiguous runs (one run per input per index of the axes before
/// `axis`), which keeps channel concatenation of NHWC tensors at memcpy speed.
pub fn concat(inputs: &[ArrayViewD<f32>], axis: usize) -> Result<ArrayD<f32>, KernelError> {
    ensure!(!inputs.is_empty(), "concat", "needs at least one input");
    let first = inputs[0].shape();
    ensure!(
        axis < first.len(),
        "concat",
        "axis {axis} out of range for shape {first:?}"
    );
    let agree = inputs.iter().all(|a| {
        a.ndim() == first.len()
            && a.shape()
                .iter()
                .zip(first)
                .enumerate()
                .all(|(i, (x, y))| i == axis || x == y)
    });
    if !agree {
        let shapes: Vec<&[usize]> = inputs.iter().map(|a| a.shape()).collect();
        return Err(KernelError::new(
            "concat",
            format!("shapes {shapes:?} differ outside axis {axis}"),
        ));
    }
    let mut shape = first.to_vec();
    shape[axis] = inputs.iter().map(|a| a.shape()[axis]).sum();
    let outer: usize = first[..axis].iter().product();
    let inputs: Vec<_> = inputs.iter().map(|a| a.as_standard_layout()).collect();
    let runs: Vec<&[f32]> = inputs
        .iter()
        .map(|a| {
            a.as_slice()
                .ok_or_else(|| KernelError::new("concat", "input is not contiguous"))
        })
        .collect::<Result<_, _>>()?;
    let total: usize = runs.iter().map(|r| r.len()).sum();
    let mut data = Vec::with_capacity(total);
    for o in 0..outer {
        for r in &runs {
            let run = r.len() / outer.max(1);
            data.extend_from_slice(&r[o * run..(o + 1) * run]);
        }
    }
    ArrayD::from_shape_vec(IxDyn(&shape), data)
        .map_err(|e| KernelError::new("concat", e.to_string()))
}

/// One axis of a strided slice with ONNX `Slice` semantics: negative `start`/`end` count
/// from the end, out-of-range values clamp, `step` may be negative but not 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceSpec {
    pub axis: usize,
    pub start: i64,
    pub end: i64,
    pub step: i64,
}

/// Applies the slices (axes not mentioned are kept whole); returns a standard-layout copy.
pub fn slice(x: ArrayViewD<f32>, specs: &[SliceSpec]) -> Result<ArrayD<f32>, KernelError> {
    let mut view = x.clone();
    for s in specs {
        ensure!(
            s.axis < x.ndim(),
            "slice",
            "axis {} out of range for shape {:?}",
            s.axis,
            x.shape()
        );
        ensure!(s.step != 0, "slice", "step must not be 0 (axis {})", s.axis);
        let dim = x.shape()[s.axis] as i64;
        let norm = |v: i64| if v < 0 { v + dim } else { v };
        let (first, count) = if s.step > 0 {
            let (a, b) = (norm(s.start).clamp(0, dim), norm(s.end).clamp(0, dim));
            (
                a,
                if b > a {
                    (b - a + s.step - 1) / s.step
                } else {
                    0
                },
            )
        } else {
            let (a, b) = (
                norm(s.start).clamp(-1, dim - 1),
                norm(s.end).clamp(-1, dim - 1),
            );
            (
                a,
                if a > b {
                    (a - b - s.step - 1) / -s.step
                } else {
                    0
                },
            )
        };
        let slice = if count == 0 {
            Slice::new(0, Some(0), 1)
        } else {
            let last = first + s.step * (count - 1);
            let (lo, hi) = (first.min(last), first.max(last));
            Slice::new(lo as isize, Some(hi as isize + 1), s.step as isize)
        };
        view.slice_axis_inplace(Axis(s.axis), slice);
    }
    Ok(view.as_standard_layout().into_owned())
}

/// How `pad` fills the border.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PadMode {
    Constant(f32),
    /// Mirror without repeating the edge (numpy `reflect`).
    Reflect,
    /// Repeat the edge value.
    Edge,
    /// Continue periodically from the other side (numpy `wrap`, ONNX `wrap`).
    Wrap,
}

/// Pads each axis by `(before, after)` elements.
pub fn pad(
    x: ArrayViewD<f32>,
    pads: &[(usize, usize)],
    mode: PadMode,
) -> Result<ArrayD<f32>, KernelError> {
    ensure!(
        pads.len() == x.ndim(),
        "pad",
        "{} pad pairs for rank-{} input {:?}",
        pads.len(),
        x.ndim(),
        x.shape()
    );
    if let PadMode::Constant(value) = mode {
        let shape: Vec<usize> = x
            .shape()
            .iter()
            .zip(pads)
            .map(|(d, (a, b))| d + a + b)
            .collect();
        let mut out = ArrayD::from_elem(shape, value);
        let mut inner = out.view_mut();
        for (axis, (&(before, _), &d)) in pads.iter().zip(x.shape()).enumerate() {
            inner.slice_axis_inplace(Axis(axis), Slice::from(before..before + d));
        }
        inner.assign(&x);
        return Ok(out);
    }
    let mut out = x.to_owned();
    for (axis, &(before, after)) in pads.iter().enumerate() {
        let d = x.shape()[axis];
        if before + after == 0 {
            continue;
        }
        ensure!(d > 0, "pad", "cannot {mode:?}-pad empty axis {axis}");
        let source = |i: i64| -> usize {
            let last = d as i64 - 1;
            match mode {
                PadMode::Edge | PadMode::Constant(_) => i.clamp(0, last) as usize,
                PadMode::Reflect if last == 0 => 0,
                PadMode::Reflect => {
                    let m = i.rem_euclid(2 * last);
                    (if m > last { 2 * last - m } else { m }) as usize
                }
                PadMode::Wrap => i.rem_euclid(d as i64) as usize,
            }
        };
        let index: Vec<usize> = (-(before as i64)..(d + after) as i64).map(source).collect();
        out = out.select(Axis(axis), &index);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array, IxDyn};

    fn ramp(shape: &[usize]) -> ArrayD<f32> {
        Array::from_shape_vec(
            IxDyn(shape),
            (0..shape.iter().product::<usize>())
                .map(|v| v as f32)
                .collect(),
        )
        .expect("shape")
    }

    #[test]
    fn concat_and_its_errors() {
        let a = ramp(&[2, 2]);
        let b = ramp(&[2, 1]);
        let c = concat(&[a.view(), b.view()], 1).expect("valid");
        assert_eq!(c, array![[0.0f32, 1.0, 0.0], [2.0, 3.0, 1.0]].into_dyn());
        let err = concat(&[a.view(), b.view()], 0).expect_err("mismatch");
        assert_eq!(
            err.to_string(),
            "concat: shapes [[2, 2], [2, 1]] differ outside axis 0"
        );
    }

    #[test]
    fn slice_follows_onnx_semantics() {
        let x = ramp(&[10]);
        let s = |start, end, step| {
            slice(
                x.view(),
                &[SliceSpec {
                    axis: 0,
                    start,
                    end,
                    step,
                }],
            )
            .expect("valid")
            .into_raw_vec_and_offset()
            .0
        };
        assert_eq!(s(1, 8, 3), vec![1.0, 4.0, 7.0]);
        assert_eq!(s(-3, i64::MAX, 1), vec![7.0, 8.0, 9.0]);
        assert_eq!(s(8, 1, -3), vec![8.0, 5.0, 2.0]);
        assert_eq!(s(i64::MAX, i64::MIN, -4), vec![9.0, 5.0, 1.0]);
        assert_eq!(s(5, 2, 1), Vec::<f32>::new());
        let m = slice(
            ramp(&[3, 4]).view(),
            &[SliceSpec {
                axis: 1,
                start: 0,
                end: 4,
                step: 2,
            }],
        )
        .expect("valid");
        assert_eq!(m, array![[0.0f32, 2.0], [4.0, 6.0], [8.0, 10.0]].into_dyn());
        let err = slice(
            x.view(),
            &[SliceSpec {
                axis: 0,
                start: 0,
                end: 1,
                step: 0,
            }],
        )
        .expect_err("step");
        assert_eq!(err.to_string(), "slice: step must not be 0 (axis 0)");
    }

    #[test]
    fn pad_modes_match_numpy() {
        let x = array![1.0f32, 2.0, 3.0].into_dyn();
        let p = |mode, before, after| {
            pad(x.view(), &[(before, after)], mode)
                .expect("valid")
                .into_raw_vec_and_offset()
                .0
        };
        assert_eq!(
            p(PadMode::Constant(-1.0), 2, 1),
            vec![-1.0, -1.0, 1.0, 2.0, 3.0, -1.0]
        );
        assert_eq!(
            p(PadMode::Reflect, 2, 2),
            vec![3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]
        );
        assert_eq!(
            p(PadMode::Reflect, 5, 0),
            vec![2.0, 1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0]
        );
        assert_eq!(p(PadMode::Edge, 1, 2), vec![1.0, 1.0, 2.0, 3.0, 3.0, 3.0]);
        assert_eq!(
            p(PadMode::Wrap, 4, 2),
            vec![3.0, 1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 1.0, 2.0]
        );
        let m = pad(ramp(&[2, 2]).view(), &[(1, 0), (0, 1)], PadMode::Edge).expect("valid");
        assert_eq!(
            m,
            array![[0.0f32, 1.0, 1.0], [0.0, 1.0, 1.0], [2.0, 3.0, 3.0]].into_dyn()
        );
        assert!(pad(x.view(), &[(1, 1), (1, 1)], PadMode::Edge).is_err());
    }
}
