//! Integer lowering of the layers that used to stay float: ew_mult / ew_div / ew_max /
//! ew_min, slice, feature split and bilinear resize. Each op is quantized alone (inputs
//! straight from input layers, result straight to an output layer) and its integer result
//! is compared with the float op applied to the dequantized inputs: every value must be the
//! exactly rounded real result (clamped to the output range), within half an output step.
//! The per-pixel affines (normalization, batch norm, color conversion) lower to 1×1
//! convolutions and are checked the same way; the code-moving layers (transpose,
//! depth_to_space, pad) run end to end through the integer emulator. The transformer layers
//! (data-driven matmul, softmax, layer / instance norm, reduce, GELU, elementwise ops with a
//! constant operand) are checked the same way, with a small slack for their 16-bit
//! intermediates (exp table, normalized value, constant operands).

mod common;

use common::{module, Rng};
use hailo_dialect_quant::QuantType;
use hailo_executor::{Executor, GraphRef};
use hailo_ir::{Attribute, Module};
use hailo_passes::quant::snr::snr_db;
use hailo_quantizer::optimize::first_graph;
use hailo_quantizer::{lower, prepare, QuantConfig};
use ndarray::{ArrayD, IxDyn};

/// A graph `op(in_a[, in_b]) -> outputs` as IR text.
fn graph(inputs: &[&str], results: &[&str], body: &str) -> String {
    let args: Vec<String> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| format!("%arg{i}: tensor<{t}xf32>"))
        .collect();
    let rets: Vec<String> = results.iter().map(|t| format!("tensor<{t}xf32>")).collect();
    let mut text = format!(
        "builtin.module @t {{\n  builtin.graph @main({}) -> ({}) {{\n",
        args.join(", "),
        rets.join(", ")
    );
    for (i, t) in inputs.iter().enumerate() {
        text += &format!(
            "    %in{i} = hl.input_layer %arg{i} {{layer = \"in{i}\"}} : tensor<{t}xf32>\n"
        );
    }
    text += body;
    let mut outs = Vec::new();
    for (i, t) in results.iter().enumerate() {
        text += &format!(
            "    %o{i} = hl.output_layer %r{i} {{layer = \"out{i}\"}} : tensor<{t}xf32>\n"
        );
        outs.push(format!("%o{i}"));
    }
    text + &format!(
        "    builtin.return {} : {}\n  }}\n}}\n",
        outs.join(", "),
        rets.join(", ")
    )
}

/// Quantizes `text` on `data`; returns (lowered module, dequantized inputs as the integer
/// graph sees them, integer outputs, float outputs of the original graph).
type Run = (Module, Vec<ArrayD<f32>>, Vec<ArrayD<f32>>, Vec<ArrayD<f32>>);

fn run(text: &str, data: &[ArrayD<f32>]) -> Run {
    let mut m = module(text, &[], 1);
    let g = first_graph(&m).expect("graph");
    let float = Executor::new(&m, g)
        .expect("float")
        .run(data)
        .expect("runs");
    let mut cfg = QuantConfig::default();
    cfg.calibration.calibset_size = data[0].shape()[0];
    prepare(&mut m, data, &cfg).expect("prepares");
    lower(&mut m).expect("lowers");
    let mut seen: Vec<(String, ArrayD<f32>)> = Vec::new();
    let out = Executor::new(&m, GraphRef::First)
        .expect("emulation")
        .run_observed(data, &mut |o| {
            if o.layer.starts_with("in") {
                seen.push((o.layer.to_owned(), o.value.clone()));
            }
            Ok(())
        })
        .expect("runs");
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    (m, seen.into_iter().map(|s| s.1).collect(), out, float)
}

/// (scale, float range) of the result of the last `qname` op of `layer` (the layer's result
/// when it lowers to a chain, such as pow's two tables; its last q op that is not a constant
/// when `qname` is empty).
fn out_type(m: &Module, layer: &str, qname: &str) -> (f64, (f64, f64)) {
    let op = m
        .walk(m.top())
        .into_iter()
        .filter(|&o| m.attr(o, "layer").and_then(Attribute::as_str) == Some(layer))
        .rfind(|&o| {
            let n = m.op(o).name_str();
            if qname.is_empty() {
                n.starts_with("q.") && n != "q.const"
            } else {
                n == qname
            }
        })
        .expect("layer lowered");
    let t = QuantType::parse(m.value_type(m.result(op, 0))).expect("quantized");
    (t.scale_at(0), t.float_range())
}

/// Lowers and checks every output against the float graph on the dequantized inputs.
fn check_exact(text: &str, data: &[ArrayD<f32>], layer: &str, qname: &str) -> f64 {
    check_within(text, data, layer, qname, 0.0)
}

/// [`check_exact`] allowing `slack` (in output steps) beyond half a step, for kernels whose
/// quantized weights are not exactly the float ones.
fn check_within(text: &str, data: &[ArrayD<f32>], layer: &str, qname: &str, slack: f64) -> f64 {
    let (m, deq, out, float) = run(text, data);
    let names: Vec<&str> = m
        .walk(m.top())
        .into_iter()
        .map(|o| m.op(o).name_str())
        .collect();
    assert!(names.contains(&qname), "{qname} missing in {names:?}");
    assert!(!names.iter().any(|n| n.starts_with("hl.")), "{names:?}");
    let plain = module(text, &[], 1);
    let reference = Executor::new(&plain, first_graph(&plain).expect("graph"))
        .expect("float")
        .run(&deq)
        .expect("runs");
    let (s, (lo, hi)) = out_type(&m, layer, qname);
    for (q, r) in out.iter().zip(&reference) {
        assert_eq!(q.shape(), r.shape());
        for (&a, &b) in q.iter().zip(r.iter()) {
            let b = if b.is_nan() {
                0.0
            } else {
                f64::from(b).clamp(lo, hi)
            };
            assert!(
                (f64::from(a) - b).abs() <= (0.5 + slack) * s * (1.0 + 1e-4) + 1e-6,
                "{layer}: {a} vs exact {b} (step {s})"
            );
        }
    }
    snr_db(&float, &out)
}

fn two_inputs(seed: u64, shape: &[usize]) -> Vec<ArrayD<f32>> {
    let mut r = Rng(seed);
    vec![r.array(shape), r.array(shape).mapv(|v| v * 0.5 + 0.3)]
}

#[test]
fn ew_mult_div_max_min_are_exact_integer_ops() {
    let data = two_inputs(5, &[16, 4, 4, 3]);
    for (op, qop, act, min_snr) in [
        // A divisor near zero saturates: only exactness is checked for ew_div here.
        ("ew_mult", "q.ew_mult", "linear", 30.0),
        ("ew_mult", "q.ew_mult", "relu", 30.0),
        ("ew_max", "q.ew_max", "linear", 35.0),
        ("ew_min", "q.ew_min", "linear", 35.0),
        ("ew_sub", "q.ew_sub", "linear", 35.0),
        ("ew_div", "q.ew_div", "linear", f64::NEG_INFINITY),
    ] {
        let body = format!(
            "    %r0 = hl.{op} %in0, %in1 {{layer = \"{op}1\", activation = \"{act}\"}} : tensor<16x4x4x3xf32>\n"
        );
        let text = graph(&["16x4x4x3", "16x4x4x3"], &["16x4x4x3"], &body);
        let snr = check_exact(&text, &data, &format!("{op}1"), qop);
        assert!(snr >= min_snr, "{op} {act}: {snr:.2} dB");
    }
}

#[test]
fn ew_div_by_a_positive_divisor_tracks_the_float_quotient() {
    let mut r = Rng(8);
    let data = vec![
        r.array(&[16, 4, 4, 3]),
        r.array(&[16, 4, 4, 3]).mapv(|v| 1.0 + v.abs()),
    ];
    let body = "    %r0 = hl.ew_div %in0, %in1 {layer = \"div1\"} : tensor<16x4x4x3xf32>\n";
    let text = graph(&["16x4x4x3", "16x4x4x3"], &["16x4x4x3"], body);
    let snr = check_exact(&text, &data, "div1", "q.ew_div");
    assert!(snr >= 25.0, "{snr:.2} dB");
}

#[test]
fn ew_mult_broadcasts_a_per_channel_operand() {
    let mut r = Rng(6);
    let data = vec![r.array(&[8, 3, 3, 4]), r.array(&[8, 1, 1, 4])];
    let body = "    %r0 = hl.ew_mult %in0, %in1 {layer = \"mul1\"} : tensor<8x3x3x4xf32>\n";
    let text = graph(&["8x3x3x4", "8x1x1x4"], &["8x3x3x4"], body);
    assert!(check_exact(&text, &data, "mul1", "q.ew_mult") >= 30.0);
}

#[test]
fn slice_and_split_move_codes_exactly() {
    let data = vec![Rng(2).array(&[4, 6, 5, 8])];
    let body = "    %r0 = hl.slice %in0 {layer = \"slice1\", starts = [0, 1, 0, 2], ends = [4, 6, 5, 7], steps = [1, 2, 1, 2]} : tensor<4x3x5x3xf32>\n";
    let text = graph(&["4x6x5x8"], &["4x3x5x3"], body);
    check_exact(&text, &data, "slice1", "q.slice");
    let body = "    %r0, %r1 = hl.split %in0 {axis = 3, layer = \"split1\", sizes = [3, 5]} : tensor<4x6x5x3xf32>, tensor<4x6x5x5xf32>\n";
    let text = graph(&["4x6x5x8"], &["4x6x5x3", "4x6x5x5"], body);
    let (m, deq, out, _) = run(&text, &data);
    // Codes move unchanged: the outputs are the dequantized input's channels, bit for bit.
    let x = &deq[0];
    assert_eq!(out[0], x.slice(ndarray::s![.., .., .., 0..3]).into_dyn());
    assert_eq!(out[1], x.slice(ndarray::s![.., .., .., 3..8]).into_dyn());
    let slices = m
        .walk(m.top())
        .into_iter()
        .filter(|&o| m.op(o).name_str() == "q.slice")
        .count();
    assert_eq!(slices, 2);
}

#[test]
fn slice_and_split_of_axis_0_cut_the_models_own_axis_exactly() {
    // Axis 0 of a [6, 5] table is the model's own axis (the whole tensor is one run).
    let data = vec![Rng(41).array(&[6, 5])];
    let body = "    %r0 = hl.slice %in0 {layer = \"slice1\", starts = [1, 0], ends = [5, 4], steps = [2, 1]} : tensor<2x4xf32>\n";
    let text = graph(&["6x5"], &["2x4"], body);
    check_exact(&text, &data, "slice1", "q.slice");
    let body = "    %r0, %r1 = hl.split %in0 {axis = 0, layer = \"split1\", sizes = [2, 4]} : tensor<2x5xf32>, tensor<4x5xf32>\n";
    let text = graph(&["6x5"], &["2x5", "4x5"], body);
    let (_, deq, out, _) = run(&text, &data);
    let x = &deq[0];
    assert_eq!(out[0], x.slice(ndarray::s![0..2, ..]).into_dyn());
    assert_eq!(out[1], x.slice(ndarray::s![2..6, ..]).into_dyn());
}

#[test]
fn bilinear_resize_blends_codes_within_half_a_step() {
    let data = vec![Rng(3).array(&[4, 5, 6, 3])];
    for coord in ["half_pixel", "align_corners", "asymmetric"] {
        let body = format!(
            "    %r0 = hl.resize %in0 {{layer = \"resize1\", mode = \"bilinear\", coordinate = \"{coord}\"}} : tensor<4x10x9x3xf32>\n"
        );
        let text = graph(&["4x5x6x3"], &["4x10x9x3"], &body);
        let snr = check_exact(&text, &data, "resize1", "q.resize");
        assert!(snr >= 35.0, "{coord}: {snr:.2} dB");
    }
}

#[test]
fn normalization_is_a_per_channel_affine_within_half_a_step() {
    let data = vec![Rng(11).array(&[16, 4, 4, 3]).mapv(|v| v * 60.0 + 120.0)];
    let body = "    %r0 = hl.normalization %in0 {layer = \"normalization1\", mean = [123.675, 116.28, 103.53], std = [58.395, 57.12, 57.375]} : tensor<16x4x4x3xf32>\n";
    let text = graph(&["16x4x4x3"], &["16x4x4x3"], body);
    let snr = check_exact(&text, &data, "normalization1", "q.depthwise_conv2d");
    assert!(snr >= 35.0, "{snr:.2} dB");
}

#[test]
fn batch_norm_with_relu_is_a_per_channel_affine_within_half_a_step() {
    let data = vec![Rng(12).array(&[16, 4, 4, 4])];
    for act in ["linear", "relu"] {
        let body = format!(
            "    %m = hl.const dense<[0.1, -0.2, 0.3, 0.0]> : tensor<4xf32>\n    %v = hl.const dense<[1.0, 0.5, 2.0, 0.25]> : tensor<4xf32>\n    %g = hl.const dense<[1.5, -0.7, 1.0, 0.3]> : tensor<4xf32>\n    %b = hl.const dense<[0.2, 0.1, -0.4, 0.0]> : tensor<4xf32>\n    %r0 = hl.batch_norm %in0, %m, %v, %g, %b {{activation = \"{act}\", epsilon = 0.001, layer = \"bn1\"}} : tensor<16x4x4x4xf32>\n"
        );
        let text = graph(&["16x4x4x4"], &["16x4x4x4"], &body);
        let snr = check_exact(&text, &data, "bn1", "q.depthwise_conv2d");
        assert!(snr >= 30.0, "{act}: {snr:.2} dB");
    }
}

#[test]
fn color_conversion_is_a_1x1_conv_within_half_a_step_and_weight_rounding() {
    let data = vec![Rng(13)
        .array(&[8, 4, 4, 3])
        .mapv(|v| (v * 50.0 + 128.0).clamp(0.0, 255.0))];
    let body = "    %r0 = hl.color_conversion %in0 {bias = [-179.2, 134.912, -225.92], conversion = \"yuv_full_range_to_rgb\", kernel = [1.0, 1.0, 1.0, 0.0, -0.343, 1.765, 1.4, -0.711, 0.0], layer = \"color1\"} : tensor<8x4x4x3xf32>\n";
    let text = graph(&["8x4x4x3"], &["8x4x4x3"], body);
    // 16-bit weights are off by at most half their step (max|W_c|/32767 / 2) each; three
    // terms of |x| <= 255 give at most 3 · 255 · 1.765 / 65534 ≈ 0.021 in float, far below
    // one output step (the outputs span hundreds): allow 0.021 / step more.
    let (m, deq, _, _) = run(&text, &data);
    let max_x = deq[0]
        .iter()
        .fold(0.0f64, |a, &v| a.max(f64::from(v).abs()));
    let (s, _) = out_type(&m, "color1", "");
    let slack = 3.0 * max_x * 1.765 / 65534.0 / s;
    assert!(slack < 0.05, "slack {slack}");
    let snr = check_within(&text, &data, "color1", "q.conv2d", slack);
    assert!(snr >= 35.0, "{snr:.2} dB");
}

#[test]
fn rearranging_ops_and_pad_run_end_to_end_in_the_integer_emulator() {
    let data = vec![Rng(17).array(&[4, 4, 2, 8])];
    let cases = [
        (
            "hl.transpose %in0 {layer = \"transpose1\", perm = [0, 2, 1, 3]} : tensor<4x2x4x8xf32>",
            "4x2x4x8",
            "transpose1",
            "q.transpose",
        ),
        (
            "hl.depth_to_space %in0 {block_size = 2, layer = \"depth_to_space1\", mode = \"DCR\"} : tensor<4x8x4x2xf32>",
            "4x8x4x2",
            "depth_to_space1",
            "q.transpose",
        ),
        (
            "hl.pad %in0 {layer = \"pad1\", mode = \"reflect\", pads = [0, 1, 1, 0, 0, 1, 1, 0]} : tensor<4x6x4x8xf32>",
            "4x6x4x8",
            "pad1",
            "q.pad",
        ),
        (
            "hl.pad %in0 {layer = \"pad1\", mode = \"constant\", pads = [0, 1, 0, 0, 0, 0, 2, 0], value = 0.25} : tensor<4x5x4x8xf32>",
            "4x5x4x8",
            "pad1",
            "q.pad",
        ),
    ];
    for (op, out, layer, qname) in cases {
        let body = format!("    %r0 = {op}\n");
        let text = graph(&["4x4x2x8"], &[out], &body);
        let snr = check_exact(&text, &data, layer, qname);
        assert!(snr >= 30.0, "{layer}: {snr:.2} dB");
    }
}

#[test]
fn data_driven_matmul_is_exact_with_both_zero_points() {
    let mut r = Rng(21);
    // Both operands asymmetric (zero points inside the range), batched over two axes.
    let data = vec![
        r.array(&[4, 2, 6, 5]).mapv(|v| v + 0.4),
        r.array(&[4, 2, 5, 7]).mapv(|v| v * 0.5 - 0.2),
    ];
    for (tb, bshape) in [("false", "4x2x5x7"), ("true", "4x2x7x5")] {
        let data = if tb == "true" {
            vec![
                data[0].clone(),
                data[1]
                    .clone()
                    .permuted_axes(IxDyn(&[0, 1, 3, 2]))
                    .as_standard_layout()
                    .to_owned(),
            ]
        } else {
            data.clone()
        };
        let body = format!(
            "    %r0 = hl.matmul %in0, %in1 {{layer = \"matmul1\", transpose_b = {tb}}} : tensor<4x2x6x7xf32>\n"
        );
        let text = graph(&["4x2x6x5", bshape], &["4x2x6x7"], &body);
        let snr = check_within(&text, &data, "matmul1", "q.matmul", 0.01);
        assert!(snr >= 30.0, "transpose_b {tb}: {snr:.2} dB");
    }
}

#[test]
fn softmax_and_log_softmax_use_a_16_bit_exp_table_within_half_a_step() {
    let data = vec![Rng(22).array(&[4, 3, 8, 16]).mapv(|v| v * 3.0)];
    let body =
        "    %r0 = hl.softmax %in0 {axis = 3, layer = \"softmax1\"} : tensor<4x3x8x16xf32>\n";
    let text = graph(&["4x3x8x16"], &["4x3x8x16"], body);
    let snr = check_within(&text, &data, "softmax1", "q.softmax", 0.02);
    assert!(snr >= 30.0, "{snr:.2} dB");
    // log_softmax: the same table and sum, the log as a q16 integer log2 (its 10-bit
    // mantissa table is within 0.0007 of ln, far below an output step).
    let body =
        "    %r0 = hl.log_softmax %in0 {axis = 3, layer = \"lsm1\"} : tensor<4x3x8x16xf32>\n";
    let text = graph(&["4x3x8x16"], &["4x3x8x16"], body);
    let snr = check_within(&text, &data, "lsm1", "q.log_softmax", 0.05);
    assert!(snr >= 30.0, "log_softmax: {snr:.2} dB");
}

#[test]
fn layer_and_instance_norm_are_exact_integer_statistics_within_half_a_step() {
    let data = vec![Rng(23).array(&[4, 6, 2, 8]).mapv(|v| v * 2.0 + 0.5)];
    let params = "    %g = hl.const dense<[1.0, 0.5, -1.5, 2.0, 0.25, 1.0, 0.75, -0.5]> : tensor<8xf32>\n    %b = hl.const dense<[0.0, 0.5, -0.25, 1.0, 0.0, -1.0, 0.1, 0.3]> : tensor<8xf32>\n";
    for (op, attrs, layer) in [
        ("layer_norm", "axes = [3], epsilon = 1.0e-5", "layer_norm1"),
        ("instance_norm", "epsilon = 1.0e-3", "norm2"),
    ] {
        let body = format!(
            "{params}    %r0 = hl.{op} %in0, %g, %b {{{attrs}, layer = \"{layer}\"}} : tensor<4x6x2x8xf32>\n"
        );
        let text = graph(&["4x6x2x8"], &["4x6x2x8"], &body);
        let snr = check_within(&text, &data, layer, "q.layer_norm", 0.02);
        assert!(snr >= 30.0, "{op}: {snr:.2} dB");
    }
}

#[test]
fn reduce_sum_mean_max_min_sum_square_l2_are_exact() {
    let data = vec![Rng(24).array(&[4, 6, 5])];
    for (kind, keep, out) in [
        ("sum", "false", "4x5"),
        ("mean", "true", "4x1x5"),
        ("max", "false", "4x5"),
        ("min", "false", "4x5"),
        ("sum_square", "false", "4x5"),
        ("l2", "true", "4x1x5"),
    ] {
        let body = format!(
            "    %r0 = hl.reduce %in0 {{axes = [1], keepdims = {keep}, kind = \"{kind}\", layer = \"reduce1\"}} : tensor<{out}xf32>\n"
        );
        let text = graph(&["4x6x5"], &[out], &body);
        let snr = check_exact(&text, &data, "reduce1", "q.reduce");
        assert!(snr >= 30.0, "{kind}: {snr:.2} dB");
    }
}

#[test]
fn gelu_is_a_table_within_half_a_step() {
    let data = vec![Rng(25).array(&[8, 4, 16]).mapv(|v| v * 2.0)];
    let body =
        "    %r0 = hl.activation %in0 {kind = \"gelu\", layer = \"gelu1\"} : tensor<8x4x16xf32>\n";
    let text = graph(&["8x4x16"], &["8x4x16"], body);
    let snr = check_exact(&text, &data, "gelu1", "q.lut");
    assert!(snr >= 30.0, "{snr:.2} dB");
}

#[test]
fn elementwise_ops_with_a_constant_operand_quantize_it_on_16_bits() {
    let data = vec![Rng(26).array(&[4, 3, 4])];
    let body = "    %p = hl.const dense<[[[0.5, -0.25, 1.0, 0.0], [0.1, 0.2, -0.3, 0.4], [2.0, -1.0, 0.0, 0.7]]]> : tensor<1x3x4xf32>\n    %s = hl.const dense<[[[0.25]]]> : tensor<1x1x1xf32>\n    %a = hl.ew_add %in0, %p {layer = \"add1\"} : tensor<4x3x4xf32>\n    %r0 = hl.ew_mult %a, %s {layer = \"mul1\"} : tensor<4x3x4xf32>\n";
    let text = graph(&["4x3x4"], &["4x3x4"], body);
    let (m, ..) = run(&text, &data);
    let consts: Vec<String> = m
        .walk(m.top())
        .into_iter()
        .filter(|&o| m.op(o).name_str() == "q.const")
        .map(|o| m.value_type(m.result(o, 0)).to_string())
        .collect();
    assert!(
        consts.len() == 2 && consts.iter().all(|t| t.contains("!q.uniform<u16")),
        "{consts:?}"
    );
    // Two rescales: the add's output step, then the product's; the constants' own 16-bit
    // rounding is far below both.
    let snr = check_within(&text, &data, "mul1", "q.ew_mult", 0.6);
    assert!(snr >= 30.0, "{snr:.2} dB");
}

#[test]
fn conv_with_a_fused_add_tracks_the_float_sum_within_half_a_step() {
    // hl-fuse-conv-add's form: relu(conv1(in0) + in1). The add is rescaled to the accumulator
    // grid (S_x·S_w, far finer than its own) and summed before the output rescale, so the
    // integer result is the exactly rounded float result. The kernel is exact on its 8-bit
    // grid (every channel's max |W| is 1.27, so S_w = 0.01 and every weight is a multiple of
    // it); the 0.01 steps of slack cover the f32 representation of those weights.
    let data = two_inputs(23, &[8, 4, 4, 3]);
    let body = "    %k = hl.const dense<[[[[1.27, -1.27, 0.1], [0.5, 0.3, 1.27], [-0.25, 0.64, -0.7]]]]> : tensor<1x1x3x3xf32>\n    %b = hl.const dense<[0.1, -0.2, 0.3]> : tensor<3xf32>\n    %r0 = hl.conv2d %in0, %k, %b, %in1 {activation = \"relu\", layer = \"conv1\", padding = \"VALID\"} : tensor<8x4x4x3xf32>\n";
    let text = graph(&["8x4x4x3", "8x4x4x3"], &["8x4x4x3"], body);
    let (m, _, _, _) = run(&text, &data);
    let op = m
        .walk(m.top())
        .into_iter()
        .find(|&o| m.op(o).name_str() == "q.conv2d")
        .expect("q.conv2d");
    assert_eq!(
        m.op(op).operands().len(),
        4,
        "the add is the conv's 4th operand"
    );
    let snr = check_within(&text, &data, "conv1", "q.conv2d", 0.01);
    assert!(snr >= 30.0, "{snr:.2} dB");
}

/// `values` as a nested dense literal of `shape` (row-major).
fn nested(values: &[String], shape: &[usize]) -> String {
    match shape {
        [] | [_] => format!("[{}]", values.join(", ")),
        [n, rest @ ..] => {
            let step = values.len() / n;
            let parts: Vec<String> = values.chunks(step).map(|c| nested(c, rest)).collect();
            format!("[{}]", parts.join(", "))
        }
    }
}

#[test]
fn deconv_is_an_exact_integer_transposed_convolution() {
    // Every output channel's max |W| is 1.27 and every weight a multiple of 0.01, so the
    // 8-bit kernel is exact (S_w = 0.01) and the integer result is the exactly rounded float
    // one; 0.01 steps of slack cover the f32 representation of the weights.
    let c0 = [1.27, 0.5, -0.3, 0.25, -1.27, 0.64, 0.1, -0.7];
    let c1 = [-1.27, 0.2, 0.33, -0.5, 1.0, -0.25, 0.75, 0.05];
    let c2 = [0.9, 1.27, -0.4, 0.6, -0.8, 0.12, -1.27, 0.3];
    let w: Vec<String> = (0..8)
        .flat_map(|j| [c0[j], c1[j], c2[j]])
        .map(|v: f64| format!("{v:?}"))
        .collect();
    let data = vec![Rng(31).array(&[8, 3, 3, 2])];
    for (attrs, out) in [
        ("strides = [2, 2]", "8x6x6x3"),
        (
            "strides = [2, 2], pads = [1, 0, 0, 1], output_padding = [1, 1]",
            "8x6x6x3",
        ),
        ("strides = [1, 1], dilations = [2, 2]", "8x5x5x3"),
    ] {
        let body = format!(
            "    %k = hl.const dense<{}> : tensor<2x2x2x3xf32>\n    %b = hl.const dense<[0.1, -0.2, 0.3]> : tensor<3xf32>\n    %r0 = hl.deconv2d %in0, %k, %b {{{attrs}, layer = \"deconv1\"}} : tensor<{out}xf32>\n",
            nested(&w, &[2, 2, 2, 3])
        );
        let text = graph(&["8x3x3x2"], &[out], &body);
        let snr = check_within(&text, &data, "deconv1", "q.deconv2d", 0.01);
        assert!(snr >= 30.0, "{attrs}: {snr:.2} dB");
    }
}

#[test]
fn prelu_rescales_each_side_exactly() {
    let data = vec![Rng(32).array(&[8, 4, 4, 4])];
    let body = "    %a = hl.const dense<[0.1, -0.5, 0.25, 2.0]> : tensor<4xf32>\n    %r0 = hl.prelu %in0, %a {layer = \"prelu1\"} : tensor<8x4x4x4xf32>\n";
    let text = graph(&["8x4x4x4"], &["8x4x4x4"], body);
    let snr = check_within(&text, &data, "prelu1", "q.prelu", 0.01);
    assert!(snr >= 35.0, "{snr:.2} dB");
    // A slope varying along H and C (ONNX broadcasting): one slope per element of a sample.
    let a: Vec<String> = (0..16)
        .map(|i| format!("{:?}", 0.25 * (i % 5) as f64 - 0.5))
        .collect();
    let body = format!(
        "    %a = hl.const dense<{}> : tensor<4x1x4xf32>\n    %r0 = hl.prelu %in0, %a {{layer = \"prelu1\"}} : tensor<8x4x4x4xf32>\n",
        nested(&a, &[4, 1, 4])
    );
    let text = graph(&["8x4x4x4"], &["8x4x4x4"], &body);
    let snr = check_within(&text, &data, "prelu1", "q.prelu", 0.01);
    assert!(snr >= 35.0, "per-element slopes: {snr:.2} dB");
}

#[test]
fn prelu_with_a_slope_along_axis_0_rescales_each_element_exactly() {
    // ONNX's PRelu example: the slope has the input's shape [3, 4, 5], axis 0 included.
    let data = vec![Rng(42).array(&[3, 4, 5])];
    let a: Vec<String> = (0..60)
        .map(|i| format!("{:?}", 0.125 * (i % 7) as f64 - 0.25))
        .collect();
    let body = format!(
        "    %a = hl.const dense<{}> : tensor<3x4x5xf32>\n    %r0 = hl.prelu %in0, %a {{layer = \"prelu1\"}} : tensor<3x4x5xf32>\n",
        nested(&a, &[3, 4, 5])
    );
    let text = graph(&["3x4x5"], &["3x4x5"], &body);
    let snr = check_within(&text, &data, "prelu1", "q.prelu", 0.01);
    assert!(snr >= 35.0, "{snr:.2} dB");
}

#[test]
fn argmax_and_one_hot_are_exact() {
    let data = vec![Rng(33).array(&[8, 4, 4, 6])];
    let body = "    %r0 = hl.argmax %in0 {axis = 3, keepdims = false, layer = \"argmax1\"} : tensor<8x4x4xf32>\n";
    let text = graph(&["8x4x4x6"], &["8x4x4"], body);
    let (m, deq, out, _) = run(&text, &data);
    check_exact(&text, &data, "argmax1", "q.argmax");
    // Not a constant: the indices spread over the axis.
    let distinct: std::collections::BTreeSet<i64> = out[0].iter().map(|&v| v as i64).collect();
    assert_eq!(distinct.len(), 6, "{distinct:?}");
    assert_eq!(deq[0].shape(), [8, 4, 4, 6]);
    drop(m);
    let data = vec![Rng(34).array(&[8, 6]).mapv(|v| v * 3.0 + 1.5)];
    let body = "    %r0 = hl.one_hot %in0 {depth = 5, layer = \"onehot1\", off_value = -1.0, on_value = 2.0} : tensor<8x6x5xf32>\n";
    let text = graph(&["8x6"], &["8x6x5"], body);
    let snr = check_exact(&text, &data, "onehot1", "q.one_hot");
    assert!(snr >= 40.0, "{snr:.2} dB");
}

#[test]
fn pow_by_a_constant_is_a_table_within_half_a_step() {
    let data = vec![Rng(35).array(&[8, 4, 16]).mapv(|v| v.abs() + 0.1)];
    for e in ["2.0", "0.5", "-1.0"] {
        let body = format!(
            "    %e = hl.const dense<[{e}]> : tensor<1xf32>\n    %r0 = hl.ew_pow %in0, %e {{layer = \"pow1\"}} : tensor<8x4x16xf32>\n"
        );
        let text = graph(&["8x4x16"], &["8x4x16"], &body);
        let snr = check_exact(&text, &data, "pow1", "q.lut");
        assert!(snr >= 25.0, "x^{e}: {snr:.2} dB");
    }
}

#[test]
fn pow_by_a_run_time_exponent_is_exp_of_a_product_within_half_a_step() {
    let mut r = Rng(43);
    let data = vec![
        r.array(&[8, 4, 16]).mapv(|v| v.abs() + 0.2),
        r.array(&[8, 4, 16]).mapv(|v| (v * 0.8).clamp(-2.0, 2.0)),
    ];
    let body = "    %r0 = hl.ew_pow %in0, %in1 {layer = \"pow1\"} : tensor<8x4x16xf32>\n";
    let text = graph(&["8x4x16", "8x4x16"], &["8x4x16"], body);
    // The 16-bit logarithm and product cost a fraction of an output step.
    let snr = check_within(&text, &data, "pow1", "q.lut", 0.5);
    assert!(snr >= 25.0, "{snr:.2} dB");
}

#[test]
fn pools_in_ceil_mode_keep_the_last_partial_window() {
    let data = vec![Rng(44).array(&[8, 5, 5, 3])];
    for (op, extra, qop) in [
        ("maxpool", "", "q.maxpool"),
        ("avgpool", "", "q.avgpool"),
        ("avgpool", ", count_include_pad = true", "q.avgpool"),
    ] {
        let body = format!(
            "    %r0 = hl.{op} %in0 {{layer = \"pool1\", kernel = [2, 2], strides = [2, 2], ceil_mode = true{extra}}} : tensor<8x3x3x3xf32>\n"
        );
        let text = graph(&["8x5x5x3"], &["8x3x3x3"], &body);
        let snr = check_within(&text, &data, "pool1", qop, 0.01);
        assert!(snr >= 30.0, "{op}{extra}: {snr:.2} dB");
    }
}

#[test]
fn reductions_of_an_empty_axis_give_the_kinds_identity() {
    // ONNX's empty-set reductions: [2, 0, 4] reduced over axis 1. Sum, sum_square and l2 of
    // nothing are 0, max is -inf and min +inf (the lowest and highest code), mean 0/0.
    let data = vec![ArrayD::<f32>::zeros(IxDyn(&[2, 0, 4]))];
    for kind in ["sum", "mean", "max", "min", "sum_square", "l2"] {
        let body = format!(
            "    %r0 = hl.reduce %in0 {{axes = [1], keepdims = true, kind = \"{kind}\", layer = \"reduce1\"}} : tensor<2x1x4xf32>\n"
        );
        let text = graph(&["2x0x4"], &["2x1x4"], &body);
        check_exact(&text, &data, "reduce1", "q.reduce");
    }
}

#[test]
fn softmax_and_norms_over_other_axes_move_the_axes_last() {
    let data = vec![Rng(36).array(&[4, 8, 3, 5]).mapv(|v| v * 2.0 + 0.3)];
    let body = "    %r0 = hl.softmax %in0 {axis = 1, layer = \"softmax1\"} : tensor<4x8x3x5xf32>\n";
    let text = graph(&["4x8x3x5"], &["4x8x3x5"], body);
    let snr = check_within(&text, &data, "softmax1", "q.softmax", 0.02);
    assert!(snr >= 30.0, "softmax axis 1: {snr:.2} dB");
    let body = "    %r0 = hl.log_softmax %in0 {axis = 2, layer = \"lsm1\"} : tensor<4x8x3x5xf32>\n";
    let text = graph(&["4x8x3x5"], &["4x8x3x5"], body);
    let snr = check_within(&text, &data, "lsm1", "q.log_softmax", 0.05);
    assert!(snr >= 30.0, "log_softmax axis 2: {snr:.2} dB");
    // Layer norm over axes 2 and 3 with per-element gamma / beta of shape [3, 5] (the float
    // executor takes trailing axes; the lowering merges them into one).
    let g: Vec<String> = (0..15)
        .map(|i| format!("{:?}", 0.5 + 0.125 * (i % 7) as f64 - 0.25 * (i % 3) as f64))
        .collect();
    let b: Vec<String> = (0..15)
        .map(|i| format!("{:?}", 0.1 * (i % 5) as f64 - 0.2))
        .collect();
    let body = format!(
        "    %g = hl.const dense<{}> : tensor<3x5xf32>\n    %b = hl.const dense<{}> : tensor<3x5xf32>\n    %r0 = hl.layer_norm %in0, %g, %b {{axes = [2, 3], epsilon = 1.0e-5, layer = \"ln1\"}} : tensor<4x8x3x5xf32>\n",
        nested(&g, &[3, 5]),
        nested(&b, &[3, 5])
    );
    let text = graph(&["4x8x3x5"], &["4x8x3x5"], &body);
    let snr = check_within(&text, &data, "ln1", "q.layer_norm", 0.02);
    assert!(snr >= 30.0, "layer norm axes [2, 3]: {snr:.2} dB");
    // L2 normalization along axis 1 (not centred).
    let body = "    %r0 = hl.l2_norm %in0 {axis = 1, epsilon = 1.0e-12, layer = \"l2n1\"} : tensor<4x8x3x5xf32>\n";
    let text = graph(&["4x8x3x5"], &["4x8x3x5"], body);
    let snr = check_within(&text, &data, "l2n1", "q.layer_norm", 0.02);
    assert!(snr >= 30.0, "l2 norm: {snr:.2} dB");
}

#[test]
fn format_conversions_move_codes_exactly() {
    let data = vec![Rng(37)
        .array(&[8, 6, 4, 1])
        .mapv(|v| (v * 40.0 + 128.0).clamp(0.0, 255.0))];
    for conversion in [
        "nv12_to_hailo_yuv",
        "nv21_to_hailo_yuv",
        "i420_to_hailo_yuv",
    ] {
        let body = format!(
            "    %r0 = hl.format_conversion %in0 {{conversion = \"{conversion}\", layer = \"fc1\"}} : tensor<8x4x4x3xf32>\n"
        );
        let text = graph(&["8x6x4x1"], &["8x4x4x3"], &body);
        let (_, deq, out, _) = run(&text, &data);
        // Every output is one of the dequantized input's values, bit for bit.
        let inputs: std::collections::BTreeSet<u32> = deq[0].iter().map(|v| v.to_bits()).collect();
        assert!(
            out[0].iter().all(|v| inputs.contains(&v.to_bits())),
            "{conversion}"
        );
        check_exact(&text, &data, "fc1", "q.format_conversion");
    }
}
