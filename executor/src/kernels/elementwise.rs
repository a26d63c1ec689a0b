//! Element-wise binary operations with numpy broadcasting.

use super::error::{ensure, KernelError};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn, Zip};

/// A binary arithmetic operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    /// Smaller operand; NaN if either is NaN (numpy `minimum`).
    Min,
    /// Larger operand; NaN if either is NaN (numpy `maximum`).
    Max,
    Pow,
}

/// The numpy broadcast of two shapes (trailing axes aligned, size-1 axes stretch).
pub fn broadcast_shape(
    op: &'static str,
    a: &[usize],
    b: &[usize],
) -> Result<Vec<usize>, KernelError> {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| {
        if i < rank - s.len() {
            1
        } else {
            s[i - (rank - s.len())]
        }
    };
    (0..rank)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y || y == 1 => Ok(x),
            (1, y) => Ok(y),
            _ => Err(KernelError::new(
                op,
                format!("shapes {a:?} and {b:?} do not broadcast"),
            )),
        })
        .collect()
}

fn apply<F: Fn(f32, f32) -> f32 + Sync>(mut out: ArrayViewMutD<f32>, b: ArrayViewD<f32>, f: F) {
    Zip::from(&mut out).and(&b).for_each(|o, &b| *o = f(*o, b));
}

fn dispatch(op: BinaryOp, out: ArrayViewMutD<f32>, b: ArrayViewD<f32>) {
    let nan_or = |a: f32, b: f32, pick: fn(f32, f32) -> f32| {
        if a.is_nan() || b.is_nan() {
            f32::NAN
        } else {
            pick(a, b)
        }
    };
    match op {
        BinaryOp::Add => apply(out, b, |a, b| a + b),
        BinaryOp::Sub => apply(out, b, |a, b| a - b),
        BinaryOp::Mul => apply(out, b, |a, b| a * b),
        BinaryOp::Div => apply(out, b, |a, b| a / b),
        BinaryOp::Min => apply(out, b, |a, b| nan_or(a, b, f32::min)),
        BinaryOp::Max => apply(out, b, |a, b| nan_or(a, b, f32::max)),
        BinaryOp::Pow => apply(out, b, f32::powf),
    }
}

/// `op(a, b)` with broadcasting; the result has the broadcast shape.
pub fn binary(
    op: BinaryOp,
    a: ArrayViewD<f32>,
    b: ArrayViewD<f32>,
) -> Result<ArrayD<f32>, KernelError> {
    let shape = broadcast_shape("binary", a.shape(), b.shape())?;
    let too_big = || KernelError::new("binary", "broadcast failed");
    let mut out = a.broadcast(IxDyn(&shape)).ok_or_else(too_big)?.to_owned();
    let b = b.broadcast(IxDyn(&shape)).ok_or_else(too_big)?;
    dispatch(op, out.view_mut(), b);
    Ok(out)
}

/// `a = op(a, b)` in place; `b` must broadcast to `a`'s shape (used for fused adds).
pub fn binary_inplace(
    op: BinaryOp,
    a: ArrayViewMutD<f32>,
    b: ArrayViewD<f32>,
) -> Result<(), KernelError> {
    let shape = broadcast_shape("binary_inplace", a.shape(), b.shape())?;
    ensure!(
        shape == a.shape(),
        "binary_inplace",
        "shape {:?} would grow to {shape:?}; use `binary`",
        a.shape()
    );
    let b = b
        .broadcast(IxDyn(&shape))
        .ok_or_else(|| KernelError::new("binary_inplace", "broadcast failed"))?;
    dispatch(op, a, b);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shape("t", &[2, 1, 4], &[3, 1]), Ok(vec![2, 3, 4]));
        assert_eq!(broadcast_shape("t", &[], &[5]), Ok(vec![5]));
        let err = broadcast_shape("add", &[2, 3], &[4]).expect_err("mismatch");
        assert_eq!(
            err.to_string(),
            "add: shapes [2, 3] and [4] do not broadcast"
        );
    }

    #[test]
    fn every_op_on_broadcast_operands() {
        let a = array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]].into_dyn();
        let b = array![2.0f32, 0.5, -1.0].into_dyn();
        let cases = [
            (BinaryOp::Add, [3.0, 2.5, 2.0, 6.0, 5.5, 5.0]),
            (BinaryOp::Sub, [-1.0, 1.5, 4.0, 2.0, 4.5, 7.0]),
            (BinaryOp::Mul, [2.0, 1.0, -3.0, 8.0, 2.5, -6.0]),
            (BinaryOp::Div, [0.5, 4.0, -3.0, 2.0, 10.0, -6.0]),
            (BinaryOp::Min, [1.0, 0.5, -1.0, 2.0, 0.5, -1.0]),
            (BinaryOp::Max, [2.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
            (
                BinaryOp::Pow,
                [1.0, 2f32.sqrt(), 1.0 / 3.0, 16.0, 5f32.sqrt(), 1.0 / 6.0],
            ),
        ];
        for (op, expected) in cases {
            let got = binary(op, a.view(), b.view()).expect("broadcasts");
            assert_eq!(got.shape(), &[2, 3]);
            for (g, e) in got.iter().zip(expected) {
                assert!((g - e).abs() < 1e-6, "{op:?}: {g} vs {e}");
            }
        }
        // The broadcast operand may also be on the left.
        let got = binary(BinaryOp::Sub, b.view(), a.view()).expect("broadcasts");
        assert_eq!(
            got,
            array![[1.0f32, -1.5, -4.0], [-2.0, -4.5, -7.0]].into_dyn()
        );
        let nan = binary(BinaryOp::Max, array![f32::NAN].into_dyn().view(), b.view()).expect("ok");
        assert!(nan.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn inplace_requires_the_output_shape() {
        let mut a = array![[1.0f32, 2.0], [3.0, 4.0]].into_dyn();
        binary_inplace(
            BinaryOp::Add,
            a.view_mut(),
            array![10.0f32, 20.0].into_dyn().view(),
        )
        .expect("ok");
        assert_eq!(a, array![[11.0f32, 22.0], [13.0, 24.0]].into_dyn());
        let mut v = array![1.0f32, 2.0].into_dyn();
        let err = binary_inplace(BinaryOp::Add, v.view_mut(), a.view()).expect_err("grows");
        assert_eq!(
            err.to_string(),
            "binary_inplace: shape [2] would grow to [2, 2]; use `binary`"
        );
    }
}
