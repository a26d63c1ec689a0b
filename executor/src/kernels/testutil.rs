//! Test helpers: deterministic pseudo-random tensors and tolerance checks.

use ndarray::{ArrayD, IxDyn};

/// Deterministic values in [-1, 1) from a 64-bit LCG, so tests need no RNG crate.
pub fn rand_vec(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// A deterministic pseudo-random array of the given shape.
pub fn rand_array(shape: &[usize], seed: u64) -> ArrayD<f32> {
    let len = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), rand_vec(len, seed)).expect("length matches shape")
}

/// Asserts equal shapes and |a - b| <= atol + rtol * |b| element-wise.
pub fn assert_close(actual: &ArrayD<f32>, expected: &ArrayD<f32>, tol: f32) {
    assert_eq!(actual.shape(), expected.shape(), "shape");
    for (i, (a, e)) in actual.iter().zip(expected.iter()).enumerate() {
        let ok = (a - e).abs() <= tol * (1.0 + e.abs()) || (a.is_nan() && e.is_nan());
        assert!(ok, "element {i}: got {a}, expected {e}");
    }
}
