//! A small `hl` network covering weights, fused activations, a data constant, a
//! multi-result split, several inputs and outputs, and fused locations.
#![allow(dead_code)] // each test binary uses part of it

use hailo_ir::{parse_module, print_module, Blob, Context, Module, PrintOptions};
use std::path::PathBuf;

pub fn ctx() -> Context {
    let mut ctx = Context::new();
    ctx.register(hailo_dialect_hl::dialect());
    ctx.allow_unregistered = true;
    ctx
}

fn blob(n: usize, seed: f32) -> String {
    let values: Vec<f32> = (0..n).map(|i| ((i as f32 + seed) * 0.37).sin()).collect();
    Blob::from_f32(&values).to_hex()
}

pub const NET: &str = "tiny";

pub fn source() -> String {
    let t = |s: &str| format!("tensor<{s}xf32>");
    let weights = [
        ("conv1.kernel", 216),
        ("conv1.bias", 8),
        ("dw1.kernel", 72),
        ("batch_norm1.moving_mean", 8),
        ("batch_norm1.moving_variance", 8),
        ("batch_norm1.gamma", 8),
        ("batch_norm1.beta", 8),
        ("fc1.kernel", 480),
        ("fc1.bias", 10),
        ("const_input1.const", 4),
    ];
    let resources: Vec<String> = weights
        .iter()
        .enumerate()
        .map(|(i, (k, n))| format!("      {k}: \"{}\"", blob(*n, i as f32)))
        .collect();
    format!(
        r#"builtin.module @tiny {{
  builtin.graph @main(%arg0: {in0}, %arg1: {in1}) -> ({o1}, {c16}, {p4}) {{
    %0 = "hl.input_layer"(%arg0) {{layer = "input_layer1", original_name = "images"}} : ({in0}) -> {in0} loc("images")
    %1 = "hl.input_layer"(%arg1) {{layer = "input_layer2", original_name = "skip"}} : ({in1}) -> {in1} loc("skip")
    %2 = "hl.const"() {{value = dense_resource<conv1.kernel> : {k1}}} : () -> {k1}
    %3 = "hl.const"() {{value = dense_resource<conv1.bias> : {c8}}} : () -> {c8}
    %4 = "hl.conv2d"(%0, %2, %3) {{activation = "relu", dilations = [1, 1], groups = 1, layer = "conv1", padding = "EXPLICIT", pads = [1, 1, 1, 1], strides = [2, 2]}} : ({in0}, {k1}, {c8}) -> {f8} loc(fused["/conv1/Conv", "/relu1/Relu"])
    %5 = "hl.const"() {{value = dense_resource<dw1.kernel> : {k2}}} : () -> {k2}
    %6 = "hl.depthwise_conv2d"(%4, %5) {{dilations = [1, 1], layer = "dw1", padding = "SAME_TENSORFLOW", strides = [1, 1]}} : ({f8}, {k2}) -> {f8} loc("/dw1/Conv")
    %7 = "hl.const"() {{value = dense_resource<batch_norm1.moving_mean> : {c8}}} : () -> {c8}
    %8 = "hl.const"() {{value = dense_resource<batch_norm1.moving_variance> : {c8}}} : () -> {c8}
    %9 = "hl.const"() {{value = dense_resource<batch_norm1.gamma> : {c8}}} : () -> {c8}
    %10 = "hl.const"() {{value = dense_resource<batch_norm1.beta> : {c8}}} : () -> {c8}
    %11 = "hl.batch_norm"(%6, %7, %8, %9, %10) {{epsilon = 1.0e-05, layer = "batch_norm1"}} : ({f8}, {c8}, {c8}, {c8}, {c8}) -> {f8} loc("/bn/BatchNormalization")
    %12 = "hl.ew_add"(%11, %1) {{activation = "leaky", alpha = 0.1, layer = "ew_add1"}} : ({f8}, {f8}) -> {f8} loc("/add/Add")
    %13 = "hl.concat"(%12, %4) {{axis = 3, layer = "concat1"}} : ({f8}, {f8}) -> {c16} loc("/cat/Concat")
    %14:2 = "hl.split"(%13) {{axis = 3, layer = "feature_splitter1", sizes = [12, 4]}} : ({c16}) -> ({f12}, {f4}) loc("/split/Split")
    %15 = "hl.maxpool"(%14#0) {{ceil_mode = false, kernel = [2, 2], layer = "maxpool1", padding = "VALID", pads = [0, 0, 0, 0], strides = [2, 2]}} : ({f12}) -> {m12} loc("/pool/MaxPool")
    %16 = "hl.reshape"(%15) {{layer = "reshape1"}} : ({m12}) -> {r48} loc("/flat/Reshape")
    %17 = "hl.const"() {{value = dense_resource<fc1.kernel> : {k3}}} : () -> {k3}
    %18 = "hl.const"() {{value = dense_resource<fc1.bias> : {o1b}}} : () -> {o1b}
    %19 = "hl.dense"(%16, %17, %18) {{layer = "fc1"}} : ({r48}, {k3}, {o1b}) -> {o1} loc("/fc/Gemm")
    %20 = "hl.const"() {{value = dense_resource<const_input1.const> : {p4}}} : () -> {p4}
    %21 = "hl.ew_mult"(%14#1, %20) {{layer = "ew_mult1"}} : ({f4}, {p4}) -> {f4} loc("/scale/Mul")
    %22 = "hl.reduce"(%21) {{axes = [1, 2], keepdims = true, kind = "mean", layer = "reduce_mean1"}} : ({f4}) -> {p4} loc("/gap/ReduceMean")
    %23 = "hl.activation"(%22) {{kind = "clip", layer = "activation1", max = 6.0, min = 0.0}} : ({p4}) -> {p4} loc("/clip/Clip")
    %24 = "hl.output_layer"(%19) {{layer = "output_layer1", original_name = "logits"}} : ({o1}) -> {o1}
    %25 = "hl.output_layer"(%13) {{layer = "output_layer2", original_name = "features"}} : ({c16}) -> {c16}
    %26 = "hl.output_layer"(%23) {{layer = "output_layer3", original_name = "pooled"}} : ({p4}) -> {p4}
    builtin.return %24, %25, %26 : {o1}, {c16}, {p4}
  }}
}}

{{-#
  dialect_resources: {{
    builtin: {{
{res}
    }}
  }}
#-}}
"#,
        in0 = t("1x8x8x3"),
        in1 = t("1x4x4x8"),
        k1 = t("3x3x3x8"),
        k2 = t("3x3x1x8"),
        k3 = t("48x10"),
        c8 = t("8"),
        f8 = t("1x4x4x8"),
        c16 = t("1x4x4x16"),
        f12 = t("1x4x4x12"),
        f4 = t("1x4x4x4"),
        m12 = t("1x2x2x12"),
        r48 = t("1x48"),
        o1 = t("1x10"),
        o1b = t("10"),
        p4 = t("1x1x1x4"),
        res = resources.join(",\n"),
    )
}

pub fn module(ctx: &Context) -> Module {
    let src = source();
    match parse_module(ctx, "tiny.hir", &src) {
        Ok(m) => m,
        Err(d) => panic!("test module does not parse: {d:?}"),
    }
}

pub fn print(m: &Module, ctx: &Context) -> String {
    print_module(m, ctx, PrintOptions::default())
}

/// A fresh, empty directory under the target dir for one test.
pub fn scratch(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("har-tests")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
