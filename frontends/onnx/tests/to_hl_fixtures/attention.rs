//! Multi-head self-attention as torch.nn.MultiheadAttention (batch_first) exports it: Q, K, V
//! projections, reshape into heads, heads-first transposes (K transposed twice, as
//! `k.permute(0, 2, 1, 3).transpose(-2, -1)`), scaled scores, softmax, weighted sum, heads
//! merged back and the output projection.

use hailo_onnx::builder::{noise_f32, tensor_f32, tensor_i64, ModelBuilder};
use hailo_onnx::Attribute as A;

pub fn mha() -> ModelBuilder {
    let (t, e, heads) = (6usize, 8usize, 2usize);
    let d = e / heads;
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, t, e])
        .initializer(
            "split_shape",
            &tensor_i64(&[4], vec![1, t as i64, heads as i64, d as i64]),
        )
        .initializer(
            "merge_shape",
            &tensor_i64(&[3], vec![1, t as i64, e as i64]),
        )
        .initializer("sqrt_d", &tensor_f32(&[], vec![(d as f32).sqrt()]));
    for (k, p) in ["q", "k", "v", "o"].into_iter().enumerate() {
        b.initializer(&format!("w_{p}"), &noise_f32(&[e, e], 20 + k as u64))
            .initializer(&format!("b_{p}"), &noise_f32(&[e], 30 + k as u64));
    }
    for p in ["q", "k", "v"] {
        let (w, bias, mm, proj, heads_t) = (
            format!("w_{p}"),
            format!("b_{p}"),
            format!("{p}_mm"),
            format!("{p}_proj"),
            format!("{p}_heads"),
        );
        b.node("MatMul", &format!("{p}_matmul"), &["x", &w], &[&mm], &[])
            .node("Add", &format!("{p}_bias"), &[&mm, &bias], &[&proj], &[])
            .node(
                "Reshape",
                &format!("{p}_reshape"),
                &[&proj, "split_shape"],
                &[&heads_t],
                &[],
            )
            .node(
                "Transpose",
                &format!("{p}_transpose"),
                &[&heads_t],
                &[&format!("{p}_t")],
                &[("perm", A::Ints(vec![0, 2, 1, 3]))],
            );
    }
    b.node(
        "Transpose",
        "k_transpose_last",
        &["k_t"],
        &["k_tt"],
        &[("perm", A::Ints(vec![0, 1, 3, 2]))],
    )
    .node("MatMul", "scores", &["q_t", "k_tt"], &["s"], &[])
    .node("Div", "scale", &["s", "sqrt_d"], &["ss"], &[])
    .node(
        "Softmax",
        "softmax",
        &["ss"],
        &["p"],
        &[("axis", A::Int(-1))],
    )
    .node("MatMul", "weighted", &["p", "v_t"], &["o_heads"], &[])
    .node(
        "Transpose",
        "merge_transpose",
        &["o_heads"],
        &["o_t"],
        &[("perm", A::Ints(vec![0, 2, 1, 3]))],
    )
    .node(
        "Reshape",
        "merge_reshape",
        &["o_t", "merge_shape"],
        &["o"],
        &[],
    )
    .node("MatMul", "out_matmul", &["o", "w_o"], &["om"], &[])
    .node("Add", "out_bias", &["om", "b_o"], &["y"], &[])
    .output("y", &[1, t, e]);
    b
}
