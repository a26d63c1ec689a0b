//! Unit tests of verification and shape inference through parsed IR: each
//! case parses one op, runs its verifier and inference hooks, and compares
//! the inferred result types or the exact error message.

use crate::access::OpView;
use crate::ops::activation::{Activation, KINDS};
use hailo_ir::{parse_module, Context};

/// Parses `op` (without result names; `: types` at the end) in a graph with
/// arguments `%a0..` of `args` types and runs its hooks: the inferred result
/// types joined by ", ", or the first error.
fn infer(args: &[&str], op: &str) -> Result<String, String> {
    let mut ctx = Context::new();
    ctx.register(crate::dialect());
    let params: Vec<String> = args
        .iter()
        .enumerate()
        .map(|(i, t)| format!("%a{i}: {t}"))
        .collect();
    let results = op
        .rsplit_once(" : ")
        .map_or(1, |(_, t)| t.matches("tensor<").count().max(1));
    let names: Vec<String> = (0..results).map(|i| format!("%r{i}")).collect();
    let src = format!(
        "builtin.graph @g({}) -> {t} {{\n  {} = {op}\n  builtin.return %a0 : {t}\n}}\n",
        params.join(", "),
        names.join(", "),
        t = args[0]
    );
    let m =
        parse_module(&ctx, "test.hir", &src).map_err(|d| format!("parse error: {}", d.message))?;
    let name = op.split_whitespace().next().unwrap_or_default();
    let id = m
        .walk(m.top())
        .into_iter()
        .find(|&o| m.op(o).name_str() == name)
        .ok_or("op not found")?;
    let def = ctx.op_def(name).ok_or("op not registered")?;
    if let Some(verify) = def.verify {
        verify(&m, id)?;
    }
    let infer = def.infer_types.ok_or("op has no inference")?;
    let types = infer(&m, id)?;
    Ok(types
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", "))
}

const X8: &str = "tensor<1x8x8x16xf32>";

fn ok(s: &str) -> Result<String, String> {
    Ok(s.to_owned())
}

fn err(s: &str) -> Result<String, String> {
    Err(s.to_owned())
}

#[test]
fn conv_padding_modes() {
    let k = "tensor<3x3x16x32xf32>";
    let conv = |attrs: &str| {
        infer(
            &[X8, k],
            &format!("hl.conv2d %a0, %a1 {{layer = \"c\", {attrs}}} : {X8}"),
        )
    };
    assert_eq!(conv("padding = \"VALID\""), ok("tensor<1x6x6x32xf32>"));
    assert_eq!(
        conv("padding = \"SAME\", strides = [2, 2]"),
        ok("tensor<1x4x4x32xf32>")
    );
    assert_eq!(
        conv("padding = \"SAME_TENSORFLOW\", strides = [3, 3]"),
        ok("tensor<1x3x3x32xf32>")
    );
    assert_eq!(
        conv("pads = [1, 0, 1, 0], strides = [2, 1]"),
        ok("tensor<1x4x6x32xf32>")
    );
    assert_eq!(
        conv("padding = \"VALID\", dilations = [2, 3]"),
        ok("tensor<1x4x2x32xf32>")
    );
    assert_eq!(
        conv("padding = \"VALID\", dilations = [4, 4]"),
        err("window 9x9 does not fit the 8x8 input padded by [0, 0, 0, 0]")
    );
    assert_eq!(
        conv("padding = \"same\""),
        err("unknown padding \"same\"; expected one of: VALID, SAME, SAME_TENSORFLOW, EXPLICIT")
    );
    assert_eq!(conv("padding = \"EXPLICIT\", pads = [1, 1]"), err("attribute 'pads' must be four non-negative integers [top, left, bottom, right], got [1, 1]"));
    assert_eq!(
        conv("padding = \"SAME\", pads = [1, 1, 1, 1]"),
        err("attribute 'pads' is only allowed with padding \"EXPLICIT\", not \"SAME\"")
    );
    assert_eq!(
        conv("padding = \"EXPLICIT\""),
        err("padding \"EXPLICIT\" requires attribute 'pads' = [top, left, bottom, right]")
    );
    assert_eq!(
        conv("strides = [0, 1]"),
        err("attribute 'strides' must be two positive integers, got [0, 1]")
    );
}

#[test]
fn conv_groups_bias_and_activation() {
    let grouped = infer(
        &[X8, "tensor<1x1x4x8xf32>", "tensor<8xf32>"],
        &format!("hl.conv2d %a0, %a1, %a2 {{groups = 4, layer = \"c\"}} : {X8}"),
    );
    assert_eq!(grouped, ok("tensor<1x8x8x8xf32>"));
    let bad_groups = infer(
        &[X8, "tensor<1x1x4x6xf32>"],
        &format!("hl.conv2d %a0, %a1 {{groups = 4, layer = \"c\"}} : {X8}"),
    );
    assert_eq!(
        bad_groups,
        err("output channels (6) must be divisible by groups (4)")
    );
    let bad_bias = infer(
        &[X8, "tensor<1x1x16x8xf32>", "tensor<4xf32>"],
        &format!("hl.conv2d %a0, %a1, %a2 {{layer = \"c\"}} : {X8}"),
    );
    assert_eq!(bad_bias, err("bias must have shape [8], got [4]"));
    let act = |a: &str| {
        infer(
            &[X8, "tensor<1x1x16x8xf32>"],
            &format!("hl.conv2d %a0, %a1 {{layer = \"c\", {a}}} : {X8}"),
        )
    };
    assert_eq!(
        act("activation = \"leaky\", alpha = 0.1"),
        ok("tensor<1x8x8x8xf32>")
    );
    assert_eq!(act("activation = \"leaky\""), err("requires attribute 'alpha' (a number): activation \"leaky\" needs parameter(s) [\"alpha\"]"));
    assert!(act("activation = \"swishy\"").is_err_and(|e| e.starts_with(
        "unknown activation \"swishy\" in 'activation'; expected one of: linear, relu"
    )));
    assert_eq!(
        act("activation = \"clip\", min = 6.0, max = 0.0"),
        err("clip activation needs min <= max, got min 6 > max 0")
    );
    let no_layer = infer(
        &[X8, "tensor<1x1x16x8xf32>"],
        &format!("hl.conv2d %a0, %a1 : {X8}"),
    );
    assert_eq!(
        no_layer,
        err("requires attribute 'layer' (the Hailo layer name, a string)")
    );
}

#[test]
fn depthwise_and_deconv() {
    let dw = infer(
        &[X8, "tensor<3x3x1x32xf32>"],
        &format!("hl.depthwise_conv2d %a0, %a1 {{layer = \"dw\", padding = \"SAME\"}} : {X8}"),
    );
    assert_eq!(dw, ok("tensor<1x8x8x32xf32>"));
    let empty = infer(
        &["tensor<1x8x8x0xf32>", "tensor<3x3x1x16xf32>"],
        "hl.depthwise_conv2d %a0, %a1 {layer = \"dw\"} : tensor<1xf32>",
    );
    assert_eq!(
        empty,
        err("input 'tensor<1x8x8x0xf32>' has an empty dimension")
    );
    let dw_groups = infer(
        &[X8, "tensor<3x3x1x16xf32>"],
        &format!("hl.depthwise_conv2d %a0, %a1 {{groups = 16, layer = \"dw\"}} : {X8}"),
    );
    assert!(dw_groups.is_err_and(|e| e.starts_with("takes no 'groups'")));
    let deconv = |a: &str| {
        infer(
            &[X8, "tensor<3x3x16x4xf32>"],
            &format!("hl.deconv2d %a0, %a1 {{layer = \"d\", {a}}} : {X8}"),
        )
    };
    assert_eq!(
        deconv("strides = [2, 2], pads = [1, 1, 1, 1], output_padding = [1, 1]"),
        ok("tensor<1x16x16x4xf32>")
    );
    assert_eq!(deconv("strides = [2, 2]"), ok("tensor<1x17x17x4xf32>"));
    assert_eq!(
        deconv("dilations = [2, 1], pads = [0, 1, 0, 1]"),
        ok("tensor<1x12x8x4xf32>")
    );
    assert_eq!(
        deconv("strides = [2, 1], output_padding = [0, 1]"),
        err("output_padding 1 must be smaller than the stride (1) or the dilation (1)")
    );
    assert!(deconv("padding = \"SAME\"").is_err_and(|e| e.starts_with("takes explicit 'pads'")));
}

#[test]
fn pools() {
    let x = "tensor<1x6x6x8xf32>";
    let pool = |op: &str, a: &str| infer(&[x], &format!("{op} %a0 {{layer = \"p\", {a}}} : {x}"));
    assert_eq!(
        pool("hl.maxpool", "kernel = [3, 3], strides = [2, 2]"),
        ok("tensor<1x2x2x8xf32>")
    );
    assert_eq!(
        pool(
            "hl.maxpool",
            "kernel = [3, 3], strides = [2, 2], ceil_mode = true"
        ),
        ok("tensor<1x3x3x8xf32>")
    );
    assert_eq!(pool("hl.avgpool", "kernel = [2, 2], strides = [2, 2], pads = [1, 1, 1, 1], ceil_mode = true, count_include_pad = true"), ok("tensor<1x4x4x8xf32>"));
    assert_eq!(
        pool(
            "hl.maxpool",
            "kernel = [3, 3], strides = [4, 4], padding = \"SAME\", ceil_mode = true"
        ),
        ok("tensor<1x2x2x8xf32>")
    );
    assert_eq!(
        pool("hl.maxpool", "kernel = [3, 3], count_include_pad = true"),
        err("attribute 'count_include_pad' only applies to hl.avgpool")
    );
    assert_eq!(
        pool("hl.maxpool", "strides = [2, 2]"),
        err("requires attribute 'kernel' (an array of integers)")
    );
    assert_eq!(
        infer(
            &[x],
            &format!("hl.global_avgpool %a0 {{layer = \"g\"}} : {x}")
        ),
        ok("tensor<1x1x1x8xf32>")
    );
    assert_eq!(
        infer(
            &["tensor<1x8xf32>"],
            "hl.global_maxpool %a0 {layer = \"g\"} : tensor<1x8xf32>"
        ),
        err("input must have rank 4, got rank 2 ('tensor<1x8xf32>')")
    );
}

#[test]
fn dense_and_matmul() {
    let dense = infer(
        &["tensor<2x64xf32>", "tensor<64x10xf32>", "tensor<10xf32>"],
        "hl.dense %a0, %a1, %a2 {layer = \"fc1\"} : tensor<2x10xf32>",
    );
    assert_eq!(dense, ok("tensor<2x10xf32>"));
    let bad = infer(
        &["tensor<2x64xf32>", "tensor<32x10xf32>"],
        "hl.dense %a0, %a1 {layer = \"fc1\"} : tensor<2x10xf32>",
    );
    assert_eq!(bad, err("kernel rows (32) must equal input features (64)"));
    let mm = |a: &str, b: &str, attrs: &str| {
        infer(
            &[a, b],
            &format!("hl.matmul %a0, %a1 {{layer = \"mm\"{attrs}}} : {a}"),
        )
    };
    assert_eq!(
        mm("tensor<1x4x8x16xf32>", "tensor<1x1x16x32xf32>", ""),
        ok("tensor<1x4x8x32xf32>")
    );
    assert_eq!(
        mm(
            "tensor<1x4x8x16xf32>",
            "tensor<4x32x16xf32>",
            ", transpose_b = true"
        ),
        ok("tensor<1x4x8x32xf32>")
    );
    assert!(mm("tensor<8x16xf32>", "tensor<8x32xf32>", "")
        .is_err_and(|e| e.starts_with("contracted dimensions differ")));
    assert_eq!(
        mm("tensor<16xf32>", "tensor<16x2xf32>", ""),
        err("operands must have rank >= 2, got [16] and [16, 2]")
    );
}

#[test]
fn elementwise_broadcasting() {
    let ew = |b: &str| {
        infer(
            &[X8, b],
            &format!("hl.ew_add %a0, %a1 {{layer = \"ew_add1\"}} : {X8}"),
        )
    };
    assert_eq!(ew("tensor<16xf32>"), ok(X8));
    assert_eq!(ew("tensor<1x8x1x1xf32>"), ok(X8));
    assert_eq!(ew("tensor<2x1x1x1xf32>"), ok("tensor<2x8x8x16xf32>"));
    assert_eq!(
        ew("tensor<8xf32>"),
        err("shapes [1, 8, 8, 16] and [8] do not broadcast (axis 3: 16 vs 8)")
    );
    assert_eq!(
        ew("tensor<16xf16>"),
        err("operand element types differ: f32 vs f16")
    );
    let prelu = infer(
        &[X8, "tensor<2x1x1x16xf32>"],
        &format!("hl.prelu %a0, %a1 {{layer = \"p\"}} : {X8}"),
    );
    assert_eq!(
        prelu,
        err("slope of shape [2, 1, 1, 16] must broadcast to the input shape [1, 8, 8, 16]")
    );
}

#[test]
fn concat_split_slice_pad() {
    let cat = infer(
        &[X8, "tensor<1x8x8x4xf32>"],
        &format!("hl.concat %a0, %a1 {{axis = 3, layer = \"concat1\"}} : {X8}"),
    );
    assert_eq!(cat, ok("tensor<1x8x8x20xf32>"));
    let bad = infer(
        &[X8, "tensor<1x4x8x4xf32>"],
        &format!("hl.concat %a0, %a1 {{axis = 3, layer = \"concat1\"}} : {X8}"),
    );
    assert_eq!(bad, err("input #1 'tensor<1x4x8x4xf32>' must match input #0 'tensor<1x8x8x16xf32>' except on axis 3"));
    let neg = infer(
        &[X8, X8],
        &format!("hl.concat %a0, %a1 {{axis = -1, layer = \"concat1\"}} : {X8}"),
    );
    assert_eq!(
        neg,
        err("attribute 'axis' = -1 must be a non-negative axis below the rank 4")
    );
    let split = infer(
        &[X8],
        &format!("hl.split %a0 {{axis = 3, sizes = [4, 12], layer = \"fs\"}} : {X8}, {X8}"),
    );
    assert_eq!(split, ok("tensor<1x8x8x4xf32>, tensor<1x8x8x12xf32>"));
    let split_sum = infer(
        &[X8],
        &format!("hl.split %a0 {{axis = 1, sizes = [4, 5], layer = \"s\"}} : {X8}, {X8}"),
    );
    assert_eq!(
        split_sum,
        err("split sizes [4, 5] must add up to the input's axis 1 size 8")
    );
    let slice = |a: &str| {
        infer(
            &[X8],
            &format!("hl.slice %a0 {{layer = \"slice1\", {a}}} : {X8}"),
        )
    };
    assert_eq!(
        slice("starts = [0, 1, 0, 0], ends = [1, 8, 8, 16], steps = [1, 2, 3, 1]"),
        ok("tensor<1x4x3x16xf32>")
    );
    assert_eq!(
        slice("starts = [0, 4, 0, 0], ends = [1, 4, 8, 16], steps = [1, 1, 1, 1]"),
        err("slice [4, 4) on axis 1 must satisfy 0 <= start < end <= 8 (clamped, non-empty)")
    );
    assert_eq!(
        slice("starts = [0, 0], ends = [1, 8], steps = [1, 1]"),
        err("attribute 'starts' must have 4 element(s), got 2")
    );
    let pad = |a: &str| {
        infer(
            &[X8],
            &format!("hl.pad %a0 {{layer = \"external_pad1\", {a}}} : {X8}"),
        )
    };
    assert_eq!(
        pad("pads = [0, 1, 2, 0, 0, 3, 4, 0], mode = \"constant\", value = 0.5"),
        ok("tensor<1x12x14x16xf32>")
    );
    assert_eq!(
        pad("pads = [0, 8, 0, 0, 0, 0, 0, 0], mode = \"reflect\""),
        err("reflect pads (8, 0) on axis 1 must be smaller than its size 8")
    );
    assert_eq!(
        pad("pads = [0, 1, 0, 0, 0, 0, 0, 0], mode = \"wrap\""),
        err("unknown mode \"wrap\"; expected one of: constant, reflect, edge")
    );
}

#[test]
fn reshape_transpose_shuffle() {
    assert_eq!(
        infer(&[X8], "hl.reshape %a0 {layer = \"r\"} : tensor<1x1024xf32>"),
        ok("tensor<1x1024xf32>")
    );
    assert_eq!(
        infer(&[X8], "hl.reshape %a0 {layer = \"r\"} : tensor<1x1000xf32>"),
        err("cannot reshape 'tensor<1x8x8x16xf32>' (1024 elements) to 'tensor<1x1000xf32>' (1000 elements)")
    );
    let t = |p: &str| {
        infer(
            &["tensor<1x2x3x4xf32>"],
            &format!("hl.transpose %a0 {{layer = \"t\", perm = {p}}} : {X8}"),
        )
    };
    assert_eq!(t("[0, 3, 1, 2]"), ok("tensor<1x4x2x3xf32>"));
    assert_eq!(
        t("[0, 1, 1, 2]"),
        err("attribute 'perm' must be a permutation of 0..4, got [0, 1, 1, 2]")
    );
    assert_eq!(
        infer(
            &[X8],
            &format!("hl.feature_shuffle %a0 {{groups = 3, layer = \"s\"}} : {X8}")
        ),
        err("groups (3) must divide the channels of the input [1, 8, 8, 16] (rank >= 2)")
    );
}

#[test]
fn resize_and_blocks() {
    let r = |out: &str, a: &str| {
        infer(
            &[X8],
            &format!("hl.resize %a0 {{layer = \"resize1\", {a}}} : {out}"),
        )
    };
    let nearest = "mode = \"nearest\", coordinate = \"asymmetric\", nearest_mode = \"floor\"";
    assert_eq!(
        r("tensor<1x16x24x16xf32>", nearest),
        ok("tensor<1x16x24x16xf32>")
    );
    assert!(r("tensor<1x16x16x8xf32>", nearest)
        .is_err_and(|e| e.starts_with("result 'tensor<1x16x16x8xf32>' must be [N, H', W', C]")));
    assert_eq!(r("tensor<1x16x16x16xf32>", "mode = \"nearest\", coordinate = \"half_pixel\""), err("requires attribute 'nearest_mode' (one of: round_prefer_floor, round_prefer_ceil, floor, ceil)"));
    assert_eq!(
        r(
            "tensor<1x16x16x16xf32>",
            "mode = \"bilinear\", coordinate = \"align_corners\""
        ),
        ok("tensor<1x16x16x16xf32>")
    );
    let d2s = |a: &str| {
        infer(
            &[X8],
            &format!("hl.depth_to_space %a0 {{layer = \"d\", {a}}} : {X8}"),
        )
    };
    assert_eq!(
        d2s("block_size = 2, mode = \"CRD\""),
        ok("tensor<1x16x16x4xf32>")
    );
    assert_eq!(
        d2s("block_size = 3, mode = \"DCR\""),
        err("input channels (16) must be divisible by block_size² (9)")
    );
    let s2d = |a: &str| {
        infer(
            &[X8],
            &format!("hl.space_to_depth %a0 {{layer = \"s\", {a}}} : {X8}"),
        )
    };
    assert_eq!(
        s2d("block_size = 2, mode = \"focus\""),
        ok("tensor<1x4x4x64xf32>")
    );
    assert_eq!(
        s2d("block_size = 4, mode = \"classic\""),
        ok("tensor<1x2x2x256xf32>")
    );
    assert_eq!(
        s2d("block_size = 4, mode = \"focus\""),
        err("mode \"focus\" (YOLOv5 Focus) needs block_size 2, got 4")
    );
    assert_eq!(
        s2d("block_size = 3, mode = \"classic\""),
        err("input height and width (8x8) must be divisible by block_size (3)")
    );
}

#[test]
fn reductions() {
    let argmax = |a: &str, out: &str| {
        infer(
            &[X8],
            &format!("hl.argmax %a0 {{layer = \"argmax1\", {a}}} : {out}"),
        )
    };
    assert_eq!(
        argmax("axis = 3, keepdims = true", "tensor<1xi64>"),
        ok("tensor<1x8x8x1xi64>")
    );
    assert_eq!(
        argmax("axis = 3, keepdims = false", "tensor<1xf32>"),
        ok("tensor<1x8x8xf32>")
    );
    assert_eq!(
        argmax("axis = 3, keepdims = false", "tensor<1xi32>"),
        err("result element type must be f32 (index as float) or i64, got i32")
    );
    let reduce = |a: &str| {
        infer(
            &[X8],
            &format!("hl.reduce %a0 {{layer = \"reduce_sum1\", {a}}} : {X8}"),
        )
    };
    assert_eq!(
        reduce("kind = \"mean\", axes = [1, 2], keepdims = true"),
        ok("tensor<1x1x1x16xf32>")
    );
    assert_eq!(
        reduce("kind = \"l2\", axes = [3], keepdims = false"),
        ok("tensor<1x8x8xf32>")
    );
    assert_eq!(
        reduce("kind = \"prod\", axes = [3], keepdims = false"),
        err("unknown kind \"prod\"; expected one of: max, min, sum, mean, sum_square, l2")
    );
    assert_eq!(
        reduce("kind = \"sum\", axes = [2, 1], keepdims = false"),
        err("attribute 'axes' must list distinct axes in increasing order, got [2, 1]")
    );
    assert_eq!(
        infer(
            &[X8],
            &format!("hl.softmax %a0 {{axis = 4, layer = \"softmax1\"}} : {X8}")
        ),
        err("attribute 'axis' = 4 must be a non-negative axis below the rank 4")
    );
    let one_hot = infer(&["tensor<1x5xf32>"], "hl.one_hot %a0 {depth = 10, layer = \"one_hot1\", off_value = 0.0, on_value = 1.0} : tensor<1x5xf32>");
    assert_eq!(one_hot, ok("tensor<1x5x10xf32>"));
}

#[test]
fn normalizations() {
    let c = "tensor<16xf32>";
    let bn = |mean: &str, attrs: &str| {
        infer(
            &[X8, mean, c, c, c],
            &format!("hl.batch_norm %a0, %a1, %a2, %a3, %a4 {{layer = \"bn\"{attrs}}} : {X8}"),
        )
    };
    assert_eq!(bn(c, ", epsilon = 1.0e-5"), ok(X8));
    assert_eq!(
        bn("tensor<8xf32>", ", epsilon = 1.0e-5"),
        err("mean must have shape [16], got [8]")
    );
    assert_eq!(bn(c, ""), err("requires attribute 'epsilon' (a number)"));
    let norm = |a: &str| {
        infer(
            &["tensor<1x4x4x3xf32>"],
            &format!("hl.normalization %a0 {{layer = \"normalization1\", {a}}} : {X8}"),
        )
    };
    assert_eq!(
        norm("mean = [1.0, 2.0, 3.0], std = [0.5, 0.5, 0.5]"),
        ok("tensor<1x4x4x3xf32>")
    );
    assert_eq!(
        norm("mean = [1.0, 2.0], std = [0.5, 0.5, 0.5]"),
        err("attribute 'mean' must have one value per channel (3), got 2")
    );
    assert_eq!(
        norm("mean = [1.0, 2.0, 3.0], std = [0.5, 0.0, 0.5]"),
        err("attribute 'std' must be non-zero, got 0 at channel 1")
    );
    let ln = infer(
        &[X8, "tensor<8x16xf32>"],
        &format!(
            "hl.layer_norm %a0, %a1 {{axes = [2, 3], epsilon = 0.001, layer = \"ln\"}} : {X8}"
        ),
    );
    assert_eq!(ln, ok(X8));
    let ln_bad = infer(
        &[X8, c],
        &format!(
            "hl.layer_norm %a0, %a1 {{axes = [2, 3], epsilon = 0.001, layer = \"ln\"}} : {X8}"
        ),
    );
    assert_eq!(ln_bad, err("gamma must have shape [8, 16], got [16]"));
    let inorm = infer(
        &[X8, c, "tensor<1x16xf32>"],
        &format!("hl.instance_norm %a0, %a1, %a2 {{epsilon = 0.001, layer = \"in\"}} : {X8}"),
    );
    assert_eq!(inorm, err("beta must have shape [16], got [1, 16]"));
    let l2 = infer(
        &[X8],
        &format!("hl.l2_norm %a0 {{axis = 3, epsilon = -1.0, layer = \"l2\"}} : {X8}"),
    );
    assert_eq!(
        l2,
        err("attribute 'epsilon' must be a non-negative number, got -1")
    );
}

/// Parses an `hl.activation` with `attrs` and returns its module and op.
fn activation_op(ctx: &Context, attrs: &str) -> (hailo_ir::Module, hailo_ir::OpId) {
    let src = format!(
        "builtin.graph @g(%x: tensor<4xf32>) -> tensor<4xf32> {{\n  %a = hl.activation %x {{{attrs}}} : tensor<4xf32>\n  builtin.return %a : tensor<4xf32>\n}}\n"
    );
    let m = parse_module(ctx, "t.hir", &src).expect("test IR parses");
    let op = m
        .walk(m.top())
        .into_iter()
        .find(|&o| m.op(o).name_str() == "hl.activation")
        .expect("op");
    (m, op)
}

#[test]
fn every_activation_kind_parses_with_its_parameters() {
    let mut ctx = Context::new();
    ctx.register(crate::dialect());
    for (kind, params) in KINDS {
        let extra: String = params
            .iter()
            .enumerate()
            .map(|(i, p)| format!(", {p} = {}.5", i + 1))
            .collect();
        let (m, op) = activation_op(&ctx, &format!("kind = \"{kind}\", layer = \"a\"{extra}"));
        let a =
            Activation::from_attrs(&OpView::new(&m, op), "kind", false).expect("valid activation");
        assert_eq!(a.name(), *kind);
        assert!(
            hailo_ir::verifier::verify(&m, &ctx, m.top()).is_ok(),
            "{kind} verifies"
        );
    }
    // The parameters land in the right fields.
    let (m, op) = activation_op(
        &ctx,
        "kind = \"hardsigmoid\", alpha = 0.2, beta = 0.5, layer = \"a\"",
    );
    let hs = Activation::from_attrs(&OpView::new(&m, op), "kind", false);
    assert_eq!(
        hs,
        Ok(Activation::HardSigmoid {
            alpha: 0.2,
            beta: 0.5
        })
    );
    let (m, op) = activation_op(&ctx, "kind = \"clip\", max = 6.0, min = 0.0, layer = \"a\"");
    let clip = Activation::from_attrs(&OpView::new(&m, op), "kind", false);
    assert_eq!(clip, Ok(Activation::Clip { min: 0.0, max: 6.0 }));
}
