//! Calibration data made up when there is none: `--use-random-calib-set` (smoke tests only).
//! Calibration sets on disk are read by [`hailo_executor::dataset`] with
//! [`Purpose::Calibration`](hailo_executor::dataset::Purpose::Calibration), the reader
//! `hailo infer` uses for its inputs.

use hailo_executor::TensorInfo;
use ndarray::{ArrayD, IxDyn};

/// `--use-random-calib-set`: `n` uniform [0, 1) samples per input, drawn from `seed` (the
/// model script's `set_seed`) or a fixed default seed.
pub fn random_calib_set(inputs: &[TensorInfo], n: usize, seed: Option<u64>) -> Vec<ArrayD<f32>> {
    let mut s: u64 = seed.map_or(0x9E37_79B9_7F4A_7C15, |v| {
        v.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03
    });
    inputs
        .iter()
        .map(|info| {
            let mut shape = info.shape.clone();
            if let Some(b) = shape.first_mut() {
                *b = n;
            }
            ArrayD::from_shape_simple_fn(IxDyn(&shape), || {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (s >> 40) as f32 / (1u64 << 24) as f32
            })
        })
        .collect()
}
