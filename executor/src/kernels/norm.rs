//! Normalisations: batch norm (inference), layer norm, instance norm and L2 norm.

use super::error::{ensure, KernelError};
use ndarray::{ArrayD, ArrayView4, ArrayViewD, ArrayViewMutD, Axis, Zip};

fn check_len(op: &'static str, what: &str, v: &[f32], n: usize) -> Result<(), KernelError> {
    ensure!(
        v.len() == n,
        op,
        "{what} has {} values, expected {n}",
        v.len()
    );
    Ok(())
}

/// Inference batch norm over the last (channel) axis, in place:
/// `(x - mean) / sqrt(var + eps) · gamma + beta`.
pub fn batch_norm(
    mut x: ArrayViewMutD<f32>,
    mean: &[f32],
    var: &[f32],
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
) -> Result<(), KernelError> {
    const OP: &str = "batch_norm";
    let c = x.shape().last().copied().unwrap_or(0);
    for (what, v) in [
        ("mean", mean),
        ("var", var),
        ("gamma", gamma),
        ("beta", beta),
    ] {
        check_len(OP, what, v, c)?;
    }
    let scale: Vec<f32> = gamma
        .iter()
        .zip(var)
        .map(|(g, v)| g / (v + eps).sqrt())
        .collect();
    let shift: Vec<f32> = beta
        .iter()
        .zip(mean)
        .zip(&scale)
        .map(|((b, m), s)| b - m * s)
        .collect();
    for mut lane in x.lanes_mut(Axis(x.ndim().saturating_sub(1))) {
        lane.iter_mut()
            .zip(&scale)
            .zip(&shift)
            .for_each(|((v, s), b)| *v = *v * s + b);
    }
    Ok(())
}

/// Normalises each lane of the trailing axes `axis..` to zero mean and unit variance, then
/// applies `gamma` and `beta` (each the size of those trailing axes, flattened).
pub fn layer_norm(
    x: ArrayViewD<f32>,
    axis: usize,
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f32,
) -> Result<ArrayD<f32>, KernelError> {
    const OP: &str = "layer_norm";
    ensure!(
        axis < x.ndim(),
        OP,
        "axis {axis} out of range for shape {:?}",
        x.shape()
    );
    let inner: usize = x.shape()[axis..].iter().product();
    if let Some(g) = gamma {
        check_len(OP, "gamma", g, inner)?;
    }
    if let Some(b) = beta {
        check_len(OP, "beta", b, inner)?;
    }
    let mut out = x.as_standard_layout().into_owned();
    let data = out
        .as_slice_mut()
        .ok_or_else(|| KernelError::new(OP, "input is not contiguous"))?;
    for row in data.chunks_exact_mut(inner.max(1)) {
        normalize(row, eps);
        if let Some(g) = gamma {
            row.iter_mut().zip(g).for_each(|(v, g)| *v *= g);
        }
        if let Some(b) = beta {
            row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
        }
    }
    Ok(out)
}

/// Standardises `values` in place with the population variance.
fn normalize(values: &mut [f32], eps: f32) {
    let n = values.len() as f32;
    let mean = values.iter().sum::<f32>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    let inv = 1.0 / (var + eps).sqrt();
    values.iter_mut().for_each(|v| *v = (*v - mean) * inv);
}

/// Instance norm of `x [n, h, w, c]`: each (image, channel) is standardised over H·W, then
/// scaled by `gamma[c]` and shifted by `beta[c]`.
pub fn instance_norm(
    x: ArrayView4<f32>,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
) -> Result<ndarray::Array4<f32>, KernelError> {
    let c = x.dim().3;
    check_len("instance_norm", "gamma", gamma, c)?;
    check_len("instance_norm", "beta", beta, c)?;
    let mut out = x.to_owned();
    for mut img in out.outer_iter_mut() {
        for (ch, mut plane) in img.axis_iter_mut(Axis(2)).enumerate() {
            let n = plane.len() as f32;
            let mean = plane.sum() / n;
            let var = plane.fold(0.0, |acc, v| acc + (v - mean) * (v - mean)) / n;
            let scale = gamma[ch] / (var + eps).sqrt();
            plane.mapv_inplace(|v| (v - mean) * scale + beta[ch]);
        }
    }
    Ok(out)
}

/// L2 normalisation along `axis`: `x / sqrt(max(sum(x²), eps))` (TF `l2_normalize`;
/// `eps = 0` gives ONNX `LpNormalization` with p = 2, where an all-zero lane stays zero).
pub fn l2_norm(x: ArrayViewD<f32>, axis: usize, eps: f32) -> Result<ArrayD<f32>, KernelError> {
    ensure!(
        axis < x.ndim(),
        "l2_norm",
        "axis {axis} out of range for shape {:?}",
        x.shape()
    );
    let mut out = x.to_owned();
    Zip::from(out.lanes_mut(Axis(axis))).for_each(|mut lane| {
        let norm = lane.fold(0.0f32, |acc, v| acc + v * v).max(eps).sqrt();
        let inv = if norm > 0.0 { 1.0 / norm } else { 0.0 };
        lane.mapv_inplace(|v| v * inv);
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::testutil::{assert_close, rand_array};
    use ndarray::{array, Ix4};

    #[test]
    fn batch_norm_matches_formula() {
        let mut x = array![[1.0f32, 2.0], [3.0, 4.0]].into_dyn();
        batch_norm(
            x.view_mut(),
            &[1.0, 2.0],
            &[4.0, 0.25],
            &[2.0, 1.0],
            &[0.5, -1.0],
            0.0,
        )
        .expect("valid");
        assert_eq!(x, array![[0.5f32, -1.0], [2.5, 3.0]].into_dyn());
        let err = batch_norm(
            x.view_mut(),
            &[1.0],
            &[1.0, 1.0],
            &[1.0, 1.0],
            &[0.0, 0.0],
            0.0,
        )
        .expect_err("len");
        assert_eq!(err.to_string(), "batch_norm: mean has 1 values, expected 2");
    }

    #[test]
    fn layer_norm_standardises_trailing_axes() {
        let x = array![[1.0f32, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 2.0]].into_dyn();
        let y = layer_norm(
            x.view(),
            1,
            Some(&[1.0, 1.0, 2.0, 2.0]),
            Some(&[0.0, 0.0, 0.0, 1.0]),
            1e-3,
        )
        .expect("valid");
        let s = 1.0 / 1.251f32.sqrt();
        let expected = array![
            [-1.5 * s, -0.5 * s, 1.0 * s, 3.0 * s + 1.0],
            [0.0, 0.0, 0.0, 1.0]
        ]
        .into_dyn();
        assert_close(&y, &expected, 1e-6);
    }

    #[test]
    fn instance_norm_matches_per_channel_statistics() {
        let x = rand_array(&[2, 3, 4, 2], 9)
            .into_dimensionality::<Ix4>()
            .expect("4d");
        let y = instance_norm(x.view(), &[1.0, 2.0], &[0.0, 0.5], 1e-5).expect("valid");
        for img in 0..2 {
            for ch in 0..2 {
                let plane = y.slice(ndarray::s![img, .., .., ch]);
                let mean = plane.sum() / 12.0;
                let var = plane.fold(0.0, |a, v| a + (v - mean) * (v - mean)) / 12.0;
                let (g, b) = ([1.0f32, 2.0][ch], [0.0f32, 0.5][ch]);
                assert!(
                    (mean - b).abs() < 1e-5 && (var - g * g).abs() < 1e-3,
                    "{mean} {var}"
                );
            }
        }
    }

    #[test]
    fn l2_norm_of_a_zero_lane_is_zero() {
        let x = ndarray::array![[0.0f32, 0.0], [3.0, 4.0]].into_dyn();
        let y = l2_norm(x.view(), 1, 0.0).expect("valid");
        assert_eq!(y, ndarray::array![[0.0f32, 0.0], [0.6, 0.8]].into_dyn());
    }

    #[test]
    fn l2_norm_divides_by_the_norm() {
        let x = array![[3.0f32, 4.0], [0.0, 0.0]].into_dyn();
        let y = l2_norm(x.view(), 1, 1e-12).expect("valid");
        assert_eq!(y, array![[0.6f32, 0.8], [0.0, 0.0]].into_dyn());
    }
}
