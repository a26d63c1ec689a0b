//! Emulator outputs against reference outputs (onnxruntime, the TFLite
//! interpreter): the check the frontends' numeric tests share.
//!
//! The rule is numpy's `allclose` (`|got - want| <= atol + rtol * |want|`
//! per element), and a NaN in the output never matches.

use ndarray::ArrayD;

/// `Ok` when every output has the reference's shape and is close to it;
/// otherwise what differs first (output count, a shape, the worst excess error).
pub fn check_close(
    got: &[ArrayD<f32>],
    want: &[ArrayD<f32>],
    atol: f32,
    rtol: f32,
) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!(
            "{} outputs, reference has {}",
            got.len(),
            want.len()
        ));
    }
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        if g.shape() != w.shape() {
            return Err(format!(
                "output {k}: shape {:?} vs {:?}",
                g.shape(),
                w.shape()
            ));
        }
        let worst = g
            .iter()
            .zip(w.iter())
            .map(|(a, b)| (a - b).abs() - rtol * b.abs())
            .fold(f32::MIN, f32::max);
        if worst > atol || g.iter().any(|v| v.is_nan()) {
            return Err(format!("output {k}: max excess error {worst}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::IxDyn;

    fn arr(v: &[f32]) -> ArrayD<f32> {
        ArrayD::from_shape_vec(IxDyn(&[v.len()]), v.to_vec()).expect("1-D")
    }

    #[test]
    fn tolerances_shapes_counts_and_nan() {
        let want = [arr(&[1.0, 100.0])];
        assert_eq!(
            check_close(&[arr(&[1.00005, 100.01])], &want, 1e-4, 1e-4),
            Ok(())
        );
        let far = check_close(&[arr(&[1.0, 100.03])], &want, 1e-4, 1e-4).unwrap_err();
        assert!(far.starts_with("output 0: max excess error"), "{far}");
        assert_eq!(
            check_close(&[arr(&[1.0])], &want, 1e-4, 1e-4),
            Err("output 0: shape [1] vs [2]".into())
        );
        assert_eq!(
            check_close(&[], &want, 1e-4, 1e-4),
            Err("0 outputs, reference has 1".into())
        );
        let nan = [arr(&[f32::NAN, f32::NAN])];
        assert!(check_close(&nan, &nan, 1e-4, 1e-4).is_err());
    }
}
