//! Convolutions that are not 2-D: Conv1d (NCW data, converted as a 2-D convolution with H = 1)
//! and Conv3d (rejected: `hl` has no 3-D convolution).

use hailo_onnx::builder::{noise_f32, ModelBuilder};
use hailo_onnx::Attribute as A;

/// `x [1, 4, 10]` → Conv1d (4 → 6 channels, kernel 3, stride 2, pads 1) → Relu.
pub fn conv1d() -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 4, 10])
        .initializer("w", &noise_f32(&[6, 4, 3], 40))
        .initializer("b", &noise_f32(&[6], 41))
        .node(
            "Conv",
            "conv1d",
            &["x", "w", "b"],
            &["c"],
            &[("pads", A::Ints(vec![1, 1])), ("strides", A::Ints(vec![2]))],
        )
        .node("Relu", "relu", &["c"], &["y"], &[])
        .output("y", &[1, 6, 5]);
    b
}

/// `x [1, 2, 4, 4, 4]` → Conv3d.
pub fn conv3d() -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 2, 4, 4, 4])
        .initializer("w", &noise_f32(&[2, 2, 3, 3, 3], 42))
        .node("Conv", "conv3d", &["x", "w"], &["y"], &[])
        .output("y", &[1, 2, 2, 2, 2]);
    b
}
