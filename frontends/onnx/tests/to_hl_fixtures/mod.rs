//! Tiny ONNX models, one per pattern the converter recognises, built with the crate's own
//! `ModelBuilder`. `to_hl_patterns.rs` converts them directly and also keeps the copies under
//! `lit-tests/onnx/Inputs/` (used by the lit tests) byte-identical to what is built here
//! (`HAILO_REGEN_LIT_INPUTS=1 cargo test -p hailo-onnx --test to_hl_patterns` rewrites them).

mod attention;
mod conv_nd;
mod recurrent;
mod se;

use hailo_onnx::builder::{ramp_f32, tensor_f32, tensor_i64, ModelBuilder};
use hailo_onnx::{Attribute as A, DataType, Dim};

fn scalar(b: &mut ModelBuilder, name: &str, v: f32) {
    b.initializer(name, &tensor_f32(&[], vec![v]));
}

/// `x [1, 4, 6, 6]` → 3x3 conv (4 → 8 channels, pads 1) → `c`.
fn conv_front(b: &mut ModelBuilder) {
    b.input("x", &[1, 4, 6, 6])
        .initializer("w", &ramp_f32(&[8, 4, 3, 3]))
        .initializer("wb", &ramp_f32(&[8]))
        .node(
            "Conv",
            "conv",
            &["x", "w", "wb"],
            &["c"],
            &[
                ("pads", A::Ints(vec![1, 1, 1, 1])),
                ("kernel_shape", A::Ints(vec![3, 3])),
            ],
        );
}

fn silu() -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    conv_front(&mut b);
    b.node("Sigmoid", "sig", &["c"], &["s"], &[])
        .node("Mul", "mul", &["c", "s"], &["y"], &[])
        .output("y", &[1, 8, 6, 6]);
    b
}

fn hardswish() -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    conv_front(&mut b);
    scalar(&mut b, "three", 3.0);
    scalar(&mut b, "zero", 0.0);
    scalar(&mut b, "six", 6.0);
    b.node("Add", "add3", &["c", "three"], &["a"], &[])
        .node("Clip", "clip", &["a", "zero", "six"], &["r"], &[])
        .node("Mul", "mul", &["c", "r"], &["m"], &[])
        .node("Div", "div6", &["m", "six"], &["y"], &[])
        .output("y", &[1, 8, 6, 6]);
    b
}

fn hardsigmoid() -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 8, 4, 4]);
    scalar(&mut b, "three", 3.0);
    scalar(&mut b, "zero", 0.0);
    scalar(&mut b, "six", 6.0);
    b.node("Add", "add3", &["x", "three"], &["a"], &[])
        .node("Clip", "clip", &["a", "zero", "six"], &["r"], &[])
        .node("Div", "div6", &["r", "six"], &["y"], &[])
        .output("y", &[1, 8, 4, 4]);
    b
}

fn gelu_erf() -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    conv_front(&mut b);
    scalar(&mut b, "sqrt2", std::f32::consts::SQRT_2);
    scalar(&mut b, "one", 1.0);
    scalar(&mut b, "half", 0.5);
    b.node("Div", "div", &["c", "sqrt2"], &["d"], &[])
        .node("Erf", "erf", &["d"], &["e"], &[])
        .node("Add", "add", &["e", "one"], &["a"], &[])
        .node("Mul", "mul", &["c", "a"], &["m"], &[])
        .node("Mul", "mul_half", &["m", "half"], &["y"], &[])
        .output("y", &[1, 8, 6, 6]);
    b
}

fn gelu_tanh() -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 8, 4, 4]);
    scalar(&mut b, "three", 3.0);
    scalar(&mut b, "k", 0.044715);
    scalar(&mut b, "s", 0.797_884_6);
    scalar(&mut b, "one", 1.0);
    scalar(&mut b, "half", 0.5);
    b.node("Pow", "cube", &["x", "three"], &["p"], &[])
        .node("Mul", "mul_k", &["p", "k"], &["pk"], &[])
        .node("Add", "add_x", &["x", "pk"], &["inner"], &[])
        .node("Mul", "mul_s", &["inner", "s"], &["t_in"], &[])
        .node("Tanh", "tanh", &["t_in"], &["t"], &[])
        .node("Add", "add_1", &["t", "one"], &["a"], &[])
        .node("Mul", "mul_half", &["x", "half"], &["h"], &[])
        .node("Mul", "mul", &["h", "a"], &["y"], &[])
        .output("y", &[1, 8, 4, 4]);
    b
}

fn mish() -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    conv_front(&mut b);
    b.node("Softplus", "softplus", &["c"], &["sp"], &[])
        .node("Tanh", "tanh", &["sp"], &["t"], &[])
        .node("Mul", "mul", &["c", "t"], &["y"], &[])
        .output("y", &[1, 8, 6, 6]);
    b
}

fn softplus() -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 8, 4, 4]);
    scalar(&mut b, "one", 1.0);
    b.node("Exp", "exp", &["x"], &["e"], &[])
        .node("Add", "add", &["e", "one"], &["a"], &[])
        .node("Log", "log", &["a"], &["y"], &[])
        .output("y", &[1, 8, 4, 4]);
    b
}

fn softsign() -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 8, 4, 4]);
    scalar(&mut b, "one", 1.0);
    b.node("Abs", "abs", &["x"], &["ab"], &[])
        .node("Add", "add", &["ab", "one"], &["a"], &[])
        .node("Div", "div", &["x", "a"], &["y"], &[])
        .output("y", &[1, 8, 4, 4]);
    b
}

fn group_conv() -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 8, 6, 6])
        .initializer("w", &ramp_f32(&[8, 4, 3, 3]))
        .node(
            "Conv",
            "gconv",
            &["x", "w"],
            &["y"],
            &[
                ("group", A::Int(2)),
                ("auto_pad", A::String("SAME_UPPER".into())),
            ],
        )
        .output("y", &[1, 8, 6, 6]);
    b
}

/// `x [1, 8, 4, 4]` → Reshape `mid` → Transpose `perm` → Reshape `out`.
fn reshape_chain(mid: &[i64], perm: &[i64], out: &[i64], out_shape: &[usize]) -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 8, 4, 4])
        .initializer("s1", &tensor_i64(&[mid.len()], mid.to_vec()))
        .initializer("s2", &tensor_i64(&[out.len()], out.to_vec()))
        .node("Reshape", "reshape_in", &["x", "s1"], &["r"], &[])
        .node(
            "Transpose",
            "transpose",
            &["r"],
            &["t"],
            &[("perm", A::Ints(perm.to_vec()))],
        )
        .node("Reshape", "reshape_out", &["t", "s2"], &["y"], &[])
        .output("y", out_shape);
    b
}

fn feature_shuffle() -> ModelBuilder {
    reshape_chain(
        &[1, 2, 4, 4, 4],
        &[0, 2, 1, 3, 4],
        &[1, 8, 4, 4],
        &[1, 8, 4, 4],
    )
}

fn depth_to_space_dcr() -> ModelBuilder {
    reshape_chain(
        &[1, 2, 2, 2, 4, 4],
        &[0, 3, 4, 1, 5, 2],
        &[1, 2, 8, 8],
        &[1, 2, 8, 8],
    )
}

fn depth_to_space_crd() -> ModelBuilder {
    reshape_chain(
        &[1, 2, 2, 2, 4, 4],
        &[0, 1, 4, 2, 5, 3],
        &[1, 2, 8, 8],
        &[1, 2, 8, 8],
    )
}

fn space_to_depth() -> ModelBuilder {
    reshape_chain(
        &[1, 8, 2, 2, 2, 2],
        &[0, 3, 5, 1, 2, 4],
        &[1, 32, 2, 2],
        &[1, 32, 2, 2],
    )
}

fn focus() -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3, 8, 8])
        .initializer("axes_h", &tensor_i64(&[1], vec![2]))
        .initializer("axes_w", &tensor_i64(&[1], vec![3]))
        .initializer("zero", &tensor_i64(&[1], vec![0]))
        .initializer("one", &tensor_i64(&[1], vec![1]))
        .initializer("big", &tensor_i64(&[1], vec![i64::MAX]))
        .initializer("two", &tensor_i64(&[1], vec![2]));
    let mut outs = Vec::new();
    // YOLOv5 order: (row 0, col 0), (row 1, col 0), (row 0, col 1), (row 1, col 1).
    for (k, (r, c)) in [(0, 0), (1, 0), (0, 1), (1, 1)].into_iter().enumerate() {
        let start = |o| if o == 0 { "zero" } else { "one" };
        let h = format!("h{k}");
        let w = format!("w{k}");
        b.node(
            "Slice",
            &format!("slice_h{k}"),
            &["x", start(r), "big", "axes_h", "two"],
            &[&h],
            &[],
        );
        b.node(
            "Slice",
            &format!("slice_w{k}"),
            &[&h, start(c), "big", "axes_w", "two"],
            &[&w],
            &[],
        );
        outs.push(w);
    }
    let refs: Vec<&str> = outs.iter().map(String::as_str).collect();
    b.node("Concat", "cat", &refs, &["y"], &[("axis", A::Int(1))])
        .output("y", &[1, 12, 4, 4]);
    b
}

/// `(x - mean) / sqrt(var + eps) * gamma + beta` over `axes` of `x` (`shape`).
fn norm_block(shape: &[usize], axes: &[i64], gamma_shape: &[usize]) -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    b.input("x", shape);
    scalar(&mut b, "two", 2.0);
    scalar(&mut b, "eps", 1e-5);
    b.initializer("gamma", &ramp_f32(gamma_shape))
        .initializer("beta", &ramp_f32(gamma_shape));
    let ax = || vec![("axes", A::Ints(axes.to_vec()))];
    b.node("ReduceMean", "mean", &["x"], &["m"], &ax())
        .node("Sub", "sub", &["x", "m"], &["d"], &[])
        .node("Pow", "pow", &["d", "two"], &["sq"], &[])
        .node("ReduceMean", "var", &["sq"], &["v"], &ax())
        .node("Add", "add_eps", &["v", "eps"], &["ve"], &[])
        .node("Sqrt", "sqrt", &["ve"], &["sd"], &[])
        .node("Div", "div", &["d", "sd"], &["n"], &[])
        .node("Mul", "mul_gamma", &["n", "gamma"], &["g"], &[])
        .node("Add", "add_beta", &["g", "beta"], &["y"], &[])
        .output("y", shape);
    b
}

fn layer_norm() -> ModelBuilder {
    norm_block(&[1, 6, 16], &[-1], &[16])
}

fn instance_norm() -> ModelBuilder {
    norm_block(&[1, 8, 4, 4], &[2, 3], &[8, 1, 1])
}

fn l2_norm() -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 8, 4, 4]);
    scalar(&mut b, "eps", 1e-12);
    b.initializer("shape", &tensor_i64(&[4], vec![1, 8, 4, 4]))
        .node(
            "ReduceL2",
            "norm",
            &["x"],
            &["n"],
            &[("axes", A::Ints(vec![1]))],
        )
        .node("Clip", "clamp", &["n", "eps"], &["nc"], &[])
        .node("Expand", "expand", &["nc", "shape"], &["ne"], &[])
        .node("Div", "div", &["x", "ne"], &["y"], &[])
        .output("y", &[1, 8, 4, 4]);
    b
}

/// Every pattern model by file stem.
pub fn pattern_models() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("silu", silu().encode()),
        ("hardswish", hardswish().encode()),
        ("hardsigmoid", hardsigmoid().encode()),
        ("gelu_erf", gelu_erf().encode()),
        ("gelu_tanh", gelu_tanh().encode()),
        ("mish", mish().encode()),
        ("softplus", softplus().encode()),
        ("softsign", softsign().encode()),
        ("group_conv", group_conv().encode()),
        ("feature_shuffle", feature_shuffle().encode()),
        ("depth_to_space_dcr", depth_to_space_dcr().encode()),
        ("depth_to_space_crd", depth_to_space_crd().encode()),
        ("space_to_depth", space_to_depth().encode()),
        ("focus", focus().encode()),
        ("layer_norm", layer_norm().encode()),
        ("instance_norm", instance_norm().encode()),
        ("l2_norm", l2_norm().encode()),
        ("normalization", normalization().encode()),
        ("se_conv", se::se_conv().encode()),
        ("se_gemm", se::se_gemm().encode()),
        ("lstm", recurrent::lstm().encode()),
        ("lstm_bidir", recurrent::lstm_bidir().encode()),
        ("gru", recurrent::gru().encode()),
        ("gru_lbr", recurrent::gru_lbr().encode()),
        ("rnn", recurrent::rnn().encode()),
        ("rnn_batch_first", recurrent::rnn_batch_first().encode()),
        ("mha", attention::mha().encode()),
        ("conv1d", conv_nd::conv1d().encode()),
    ]
}

/// A model with two operators Hailo does not support between two convolutions.
fn unsupported() -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 4, 6, 6])
        .initializer("wa", &ramp_f32(&[4, 4, 1, 1]))
        .initializer("wb", &ramp_f32(&[4, 4, 1, 1]))
        .node("Conv", "conv_a", &["x", "wa"], &["a"], &[])
        .node("Sin", "sin1", &["a"], &["s"], &[])
        .node("Relu", "relu", &["s"], &["r"], &[])
        .node("Cos", "cos1", &["r"], &["c"], &[])
        .node("Conv", "conv_b", &["c", "wb"], &["y"], &[])
        .output("y", &[1, 4, 6, 6]);
    b
}

/// Supported operators in forms that cannot be converted: a `Gather` with run-time indices
/// and an `Einsum` taking a diagonal.
fn unsupported_forms() -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[4, 4])
        .input_dims("idx", DataType::Int64, &[Dim::Fixed(2)])
        .node("Gather", "gather_rt", &["x", "idx"], &["g"], &[])
        .node(
            "Einsum",
            "diagonal",
            &["x"],
            &["d"],
            &[("equation", A::String("ii->i".into()))],
        )
        .output("g", &[2, 4])
        .output("d", &[4]);
    b
}

/// A conv whose weight initializer is missing.
fn missing_initializer() -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 4, 6, 6])
        .node("Conv", "conv", &["x", "w"], &["y"], &[])
        .output("y", &[1, 4, 6, 6]);
    b
}

/// A conv whose weight has rank 3.
fn wrong_rank() -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 4, 6, 6])
        .initializer("w", &ramp_f32(&[4, 4, 1]))
        .node("Conv", "conv", &["x", "w"], &["y"], &[])
        .output("y", &[1, 4, 6, 6]);
    b
}

/// Models the parser must reject, by file stem (`truncated` is half of the SiLU model).
pub fn error_models() -> Vec<(&'static str, Vec<u8>)> {
    let silu = silu().encode();
    vec![
        ("unsupported", unsupported().encode()),
        ("unsupported_forms", unsupported_forms().encode()),
        ("missing_initializer", missing_initializer().encode()),
        ("wrong_rank", wrong_rank().encode()),
        ("lstm_clip", recurrent::lstm_clip().encode()),
        ("conv3d", conv_nd::conv3d().encode()),
        ("truncated", silu[..silu.len() / 2].to_vec()),
    ]
}

/// Input normalisation `(x - mean) / std` with per-channel constants.
fn normalization() -> ModelBuilder {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3, 4, 4])
        .initializer("mean", &tensor_f32(&[1, 3, 1, 1], vec![0.5, 0.25, 0.125]))
        .initializer("std", &tensor_f32(&[3, 1, 1], vec![2.0, 4.0, 0.5]))
        .node("Sub", "sub", &["x", "mean"], &["d"], &[])
        .node("Div", "div", &["d", "std"], &["y"], &[])
        .output("y", &[1, 3, 4, 4]);
    b
}
