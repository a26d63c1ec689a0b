//! Squeeze-and-excite blocks as exporters write them: global pooling, two 1x1 convolutions
//! (or two Gemms on the flattened vector), a gating activation and a broadcast multiply.

use hailo_onnx::builder::{noise_f32, tensor_i64, ModelBuilder};
use hailo_onnx::Attribute as A;

/// Conv3x3 → GlobalAveragePool → Conv1x1 → Relu → Conv1x1 → Sigmoid → Mul(features, gate).
pub fn se_conv() -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 8, 5, 5])
        .initializer("w", &noise_f32(&[8, 8, 3, 3], 1))
        .initializer("w_sq", &noise_f32(&[2, 8, 1, 1], 2))
        .initializer("b_sq", &noise_f32(&[2], 3))
        .initializer("w_ex", &noise_f32(&[8, 2, 1, 1], 4))
        .initializer("b_ex", &noise_f32(&[8], 5))
        .node(
            "Conv",
            "features",
            &["x", "w"],
            &["f"],
            &[("pads", A::Ints(vec![1, 1, 1, 1]))],
        )
        .node("GlobalAveragePool", "se_pool", &["f"], &["p"], &[])
        .node("Conv", "se_squeeze", &["p", "w_sq", "b_sq"], &["s1"], &[])
        .node("Relu", "se_relu", &["s1"], &["r"], &[])
        .node("Conv", "se_excite", &["r", "w_ex", "b_ex"], &["s2"], &[])
        .node("Sigmoid", "se_gate", &["s2"], &["g"], &[])
        .node("Mul", "se_scale", &["f", "g"], &["y"], &[])
        .output("y", &[1, 8, 5, 5]);
    b
}

/// ReduceMean(keepdims=0) → Gemm → Relu → Gemm → HardSigmoid → Unsqueeze → Expand →
/// Mul(x, gate).
pub fn se_gemm() -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 8, 4, 4])
        .initializer("w_sq", &noise_f32(&[2, 8], 6))
        .initializer("b_sq", &noise_f32(&[2], 7))
        .initializer("w_ex", &noise_f32(&[8, 2], 8))
        .initializer("b_ex", &noise_f32(&[8], 9))
        .initializer("hw", &tensor_i64(&[2], vec![2, 3]))
        .initializer("full", &tensor_i64(&[4], vec![1, 8, 4, 4]))
        .node(
            "ReduceMean",
            "se_mean",
            &["x"],
            &["p"],
            &[("axes", A::Ints(vec![2, 3])), ("keepdims", A::Int(0))],
        )
        .node(
            "Gemm",
            "se_fc1",
            &["p", "w_sq", "b_sq"],
            &["s1"],
            &[("transB", A::Int(1))],
        )
        .node("Relu", "se_relu", &["s1"], &["r"], &[])
        .node(
            "Gemm",
            "se_fc2",
            &["r", "w_ex", "b_ex"],
            &["s2"],
            &[("transB", A::Int(1))],
        )
        .node(
            "HardSigmoid",
            "se_gate",
            &["s2"],
            &["g"],
            &[("alpha", A::Float(1.0 / 6.0))],
        )
        .node("Unsqueeze", "se_unsqueeze", &["g", "hw"], &["gu"], &[])
        .node("Expand", "se_expand", &["gu", "full"], &["ge"], &[])
        .node("Mul", "se_scale", &["x", "ge"], &["y"], &[])
        .output("y", &[1, 8, 4, 4]);
    b
}
