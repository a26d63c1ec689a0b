//! Reductions over a set of axes.

use super::error::{ensure, KernelError};
use ndarray::{ArrayD, ArrayViewD, Axis};

/// The reduction to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    Max,
    Min,
    Sum,
    Mean,
    /// Sum of squares.
    SumSquare,
    /// Euclidean norm, `sqrt(sum of squares)`.
    L2,
}

/// Reduces `x` over `axes` (empty: all axes); `keepdims` keeps them with size 1.
pub fn reduce(
    x: ArrayViewD<f32>,
    op: ReduceOp,
    axes: &[usize],
    keepdims: bool,
) -> Result<ArrayD<f32>, KernelError> {
    let mut axes: Vec<usize> = if axes.is_empty() {
        (0..x.ndim()).collect()
    } else {
        axes.to_vec()
    };
    axes.sort_unstable();
    axes.dedup();
    if let Some(&last) = axes.last() {
        ensure!(
            last < x.ndim(),
            "reduce",
            "axis {last} out of range for shape {:?}",
            x.shape()
        );
    }
    // Over zero-size axes Max/Min give their identities (-inf / +inf), as ONNX does.
    let count: usize = axes.iter().map(|&a| x.shape()[a]).product();
    let mut acc = match op {
        ReduceOp::SumSquare | ReduceOp::L2 => x.mapv(|v| v * v),
        _ => x.to_owned(),
    };
    // Reduce from the last axis so the remaining axis numbers stay valid.
    for &axis in axes.iter().rev() {
        acc = match op {
            ReduceOp::Max => acc.fold_axis(Axis(axis), f32::NEG_INFINITY, |&m, &v| m.max(v)),
            ReduceOp::Min => acc.fold_axis(Axis(axis), f32::INFINITY, |&m, &v| m.min(v)),
            _ => acc.sum_axis(Axis(axis)),
        };
        if keepdims {
            acc.insert_axis_inplace(Axis(axis));
        }
    }
    match op {
        ReduceOp::Mean => acc.mapv_inplace(|v| v / count as f32),
        ReduceOp::L2 => acc.mapv_inplace(f32::sqrt),
        _ => {}
    }
    Ok(acc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn every_op_over_axes_with_and_without_keepdims() {
        let x = array![[[1.0f32, -2.0], [3.0, 4.0]], [[-5.0, 6.0], [7.0, 0.0]]].into_dyn();
        let r = |op, axes: &[usize], keep| reduce(x.view(), op, axes, keep).expect("valid");
        assert_eq!(
            r(ReduceOp::Sum, &[2], false),
            array![[-1.0f32, 7.0], [1.0, 7.0]].into_dyn()
        );
        assert_eq!(
            r(ReduceOp::Max, &[0, 2], true),
            array![[[6.0f32], [7.0]]].into_dyn()
        );
        assert_eq!(
            r(ReduceOp::Min, &[], false),
            ndarray::arr0(-5.0f32).into_dyn()
        );
        assert_eq!(
            r(ReduceOp::Mean, &[1, 2], false),
            array![1.5f32, 2.0].into_dyn()
        );
        assert_eq!(
            r(ReduceOp::SumSquare, &[1], false),
            array![[10.0f32, 20.0], [74.0, 36.0]].into_dyn()
        );
        assert_eq!(
            r(ReduceOp::L2, &[0], false),
            array![[26f32.sqrt(), 40f32.sqrt()], [58f32.sqrt(), 4.0]].into_dyn()
        );
        let err = reduce(x.view(), ReduceOp::Sum, &[3], false).expect_err("axis");
        assert_eq!(
            err.to_string(),
            "reduce: axis 3 out of range for shape [2, 2, 2]"
        );
    }

    #[test]
    fn max_and_min_over_an_empty_axis_give_their_identities() {
        let x = ArrayD::<f32>::zeros(ndarray::IxDyn(&[2, 0, 4]));
        let max = reduce(x.view(), ReduceOp::Max, &[1], true).expect("valid");
        assert_eq!(max, ArrayD::from_elem(vec![2, 1, 4], f32::NEG_INFINITY));
        let min = reduce(x.view(), ReduceOp::Min, &[1], false).expect("valid");
        assert_eq!(min, ArrayD::from_elem(vec![2, 4], f32::INFINITY));
    }
}
