//! Softmax, log-softmax and argmax along one axis.

use super::error::{ensure, KernelError};
use ndarray::{ArrayD, ArrayViewD, Axis, Zip};

fn check_axis(op: &'static str, x: &ArrayViewD<f32>, axis: usize) -> Result<(), KernelError> {
    ensure!(
        axis < x.ndim(),
        op,
        "axis {axis} out of range for shape {:?}",
        x.shape()
    );
    ensure!(
        x.shape()[axis] > 0,
        op,
        "axis {axis} of shape {:?} is empty",
        x.shape()
    );
    Ok(())
}

fn softmax_impl(
    op: &'static str,
    x: ArrayViewD<f32>,
    axis: usize,
    log: bool,
) -> Result<ArrayD<f32>, KernelError> {
    check_axis(op, &x, axis)?;
    let mut out = x.to_owned();
    Zip::from(out.lanes_mut(Axis(axis))).for_each(|mut lane| {
        let max = lane.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        lane.mapv_inplace(|v| v - max);
        let sum: f32 = lane.iter().map(|v| v.exp()).sum();
        if log {
            let ln_sum = sum.ln();
            lane.mapv_inplace(|v| v - ln_sum);
        } else {
            lane.mapv_inplace(|v| v.exp() / sum);
        }
    });
    Ok(out)
}

/// Softmax along `axis` (max-subtracted for stability).
pub fn softmax(x: ArrayViewD<f32>, axis: usize) -> Result<ArrayD<f32>, KernelError> {
    softmax_impl("softmax", x, axis, false)
}

/// Log-softmax along `axis`.
pub fn log_softmax(x: ArrayViewD<f32>, axis: usize) -> Result<ArrayD<f32>, KernelError> {
    softmax_impl("log_softmax", x, axis, true)
}

/// Index of the first maximum along `axis` (NaN compares as smallest), as in ONNX ArgMax
/// with `select_last_index = 0`; `keepdims` keeps the reduced axis with size 1.
pub fn argmax(x: ArrayViewD<f32>, axis: usize, keepdims: bool) -> Result<ArrayD<i64>, KernelError> {
    check_axis("argmax", &x, axis)?;
    let out = x.map_axis(Axis(axis), |lane| {
        let mut best = 0usize;
        for (i, &v) in lane.iter().enumerate() {
            if v > lane[best] || (lane[best].is_nan() && !v.is_nan()) {
                best = i;
            }
        }
        best as i64
    });
    Ok(if keepdims {
        out.insert_axis(Axis(axis))
    } else {
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn softmax_and_log_softmax_match_hand_values() {
        let x = array![[1.0f32, 2.0, 3.0], [1000.0, 1000.0, 1000.0]].into_dyn();
        let s = softmax(x.view(), 1).expect("valid");
        let expected = [
            0.090_030_57,
            0.244_728_48,
            0.665_240_9,
            1.0 / 3.0,
            1.0 / 3.0,
            1.0 / 3.0,
        ];
        s.iter()
            .zip(expected)
            .for_each(|(a, e)| assert!((a - e).abs() < 1e-6, "{a} {e}"));
        let l = log_softmax(x.view(), 1).expect("valid");
        l.iter()
            .zip(expected)
            .for_each(|(a, e)| assert!((a - e.ln()).abs() < 1e-5, "{a} {e}"));
        let s0 = softmax(x.view(), 0).expect("valid");
        assert!((s0[[0, 0]] + s0[[1, 0]] - 1.0).abs() < 1e-6);
        let err = softmax(x.view(), 2).expect_err("axis");
        assert_eq!(
            err.to_string(),
            "softmax: axis 2 out of range for shape [2, 3]"
        );
    }

    #[test]
    fn argmax_takes_first_maximum() {
        let x = array![[1.0f32, 5.0, 5.0], [7.0, f32::NAN, 2.0]].into_dyn();
        assert_eq!(
            argmax(x.view(), 1, false).expect("valid"),
            array![1i64, 0].into_dyn()
        );
        assert_eq!(
            argmax(x.view(), 0, true).expect("valid"),
            array![[1i64, 0, 0]].into_dyn()
        );
    }
}
