//! Pattern recognition: each tiny model converts to the single Hailo layer its subgraph
//! computes (checked by op sequence and key attributes), verifies, and the lit-test inputs
//! under `lit-tests/onnx/Inputs/` are exactly these models.

mod to_hl_fixtures;

use std::path::PathBuf;

use bytes::Bytes;
use hailo_ir::{print_module, Context, PrintOptions};
use hailo_onnx::to_hl::{convert, convert_owned, Conversion, ConvertOptions, NodeFate};
use hailo_onnx::{load_bytes, LoadOptions};

fn context() -> Context {
    let mut ctx = Context::new();
    ctx.register(hailo_dialect_hl::dialect());
    ctx
}

/// The converted IR (resources elided) and the hl ops in order, without constants and the
/// input/output layers.
fn convert_named(
    name: &str,
    bytes: &[u8],
) -> (String, Vec<String>, hailo_onnx::to_hl::ParsingReport) {
    let model = load_bytes(
        Bytes::from(bytes.to_vec()),
        name,
        None,
        &LoadOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let opts = ConvertOptions {
        net_name: Some(name.into()),
        ..Default::default()
    };
    let c = convert(&model, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    let ctx = context();
    if let Err(d) = hailo_ir::verifier::verify(&c.module, &ctx, c.module.top()) {
        panic!("{name} does not verify: {d:?}");
    }
    let owned = convert_owned(model, &opts).unwrap_or_else(|e| panic!("{name} owned: {e}"));
    let full = |c: &Conversion| print_module(&c.module, &ctx, PrintOptions::default());
    assert_eq!(
        full(&c),
        full(&owned),
        "{name}: convert_owned differs from convert"
    );
    let text = print_module(
        &c.module,
        &ctx,
        PrintOptions {
            elide_resources: true,
            ..Default::default()
        },
    );
    let ops = text
        .lines()
        .filter_map(|l| {
            l.split_once(" = hl.")
                .map(|(_, r)| r.split([' ', '(']).next().unwrap_or("").to_string())
        })
        .filter(|op| !matches!(op.as_str(), "const" | "input_layer" | "output_layer"))
        .collect();
    (text, ops, c.report)
}

fn expect(name: &str, ops: &[&str], snippets: &[&str]) {
    let models = to_hl_fixtures::pattern_models();
    let bytes = &models
        .iter()
        .find(|(n, _)| *n == name)
        .expect("fixture exists")
        .1;
    let (text, got, report) = convert_named(name, bytes);
    assert_eq!(got, ops, "{name}: op sequence\n{text}");
    for s in snippets {
        assert!(text.contains(s), "{name}: expected `{s}` in\n{text}");
    }
    // Every node of the file is accounted for, and pattern members are reported as fused.
    assert!(report
        .nodes
        .iter()
        .all(|n| !n.layers.is_empty() || n.fate != NodeFate::Converted));
}

#[test]
fn silu_fuses_into_conv() {
    expect(
        "silu",
        &["conv2d"],
        &[
            r#"activation = "silu""#,
            r#"loc(fused["conv", "sig", "mul"])"#,
        ],
    );
}

#[test]
fn hardswish_fuses_into_conv() {
    expect("hardswish", &["conv2d"], &[r#"activation = "hardswish""#]);
}

#[test]
fn hardsigmoid_is_standalone_activation() {
    expect(
        "hardsigmoid",
        &["activation"],
        &[
            r#"kind = "hardsigmoid""#,
            "alpha = 0.16666666666666666",
            "beta = 0.5",
        ],
    );
}

#[test]
fn gelu_erf_fuses_into_conv() {
    expect("gelu_erf", &["conv2d"], &[r#"activation = "gelu""#]);
}

#[test]
fn gelu_tanh_is_recognised() {
    expect("gelu_tanh", &["activation"], &[r#"kind = "gelu_tanh""#]);
}

#[test]
fn mish_fuses_into_conv() {
    expect("mish", &["conv2d"], &[r#"activation = "mish""#]);
}

#[test]
fn softplus_and_softsign_are_recognised() {
    expect("softplus", &["activation"], &[r#"kind = "softplus""#]);
    expect("softsign", &["activation"], &[r#"kind = "softsign""#]);
}

#[test]
fn group_conv_keeps_groups_and_same_pads() {
    expect(
        "group_conv",
        &["conv2d"],
        &["groups = 2", "pads = [1, 1, 1, 1]", "tensor<3x3x4x8xf32>"],
    );
}

#[test]
fn reshape_transpose_chains() {
    expect("feature_shuffle", &["feature_shuffle"], &["groups = 2"]);
    expect(
        "depth_to_space_dcr",
        &["depth_to_space"],
        &["block_size = 2", r#"mode = "DCR""#],
    );
    expect(
        "depth_to_space_crd",
        &["depth_to_space"],
        &["block_size = 2", r#"mode = "CRD""#],
    );
    expect(
        "space_to_depth",
        &["space_to_depth"],
        &["block_size = 2", r#"mode = "classic""#],
    );
}

#[test]
fn focus_slicing_is_space_to_depth() {
    expect(
        "focus",
        &["space_to_depth"],
        &[r#"mode = "focus""#, "tensor<1x4x4x12xf32>"],
    );
}

#[test]
fn normalisation_blocks() {
    expect(
        "layer_norm",
        &["layer_norm"],
        &["axes = [2]", "epsilon = 9.99999974"],
    );
    expect("instance_norm", &["instance_norm"], &["tensor<8xf32>"]);
    expect(
        "normalization",
        &["normalization"],
        &["mean = [0.5, 0.25, 0.125], std = [2.0, 4.0, 0.5]"],
    );
    expect(
        "l2_norm",
        &["l2_norm"],
        &["axis = 3", "epsilon = 9.999999920083944e-25"],
    );
}

#[test]
fn lit_inputs_match_the_fixtures() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../lit-tests/onnx/Inputs");
    let regen = std::env::var_os("HAILO_REGEN_LIT_INPUTS").is_some();
    let all = to_hl_fixtures::pattern_models()
        .into_iter()
        .chain(to_hl_fixtures::error_models());
    for (name, bytes) in all {
        let path = dir.join(format!("{name}.onnx"));
        if regen {
            std::fs::create_dir_all(&dir).expect("create Inputs");
            std::fs::write(&path, &bytes).expect("write input");
        }
        let on_disk = std::fs::read(&path).unwrap_or_default();
        assert!(
            on_disk == bytes,
            "{} is stale; rerun with HAILO_REGEN_LIT_INPUTS=1",
            path.display()
        );
    }
}

#[test]
fn squeeze_excite_blocks() {
    // Global avgpool, conv+relu, conv+sigmoid, and an ew_mult broadcasting the [1,1,1,C] gate
    // over H and W (no tiling layer).
    expect(
        "se_conv",
        &["conv2d", "global_avgpool", "conv2d", "conv2d", "ew_mult"],
        &[
            r#"hl.global_avgpool %3 {layer = "avgpool1"} : tensor<1x1x1x8xf32> loc("se_pool")"#,
            r#"activation = "relu", dilations = [1, 1], groups = 1, layer = "conv2""#,
            r#"loc(fused["se_squeeze", "se_relu"])"#,
            r#"activation = "sigmoid", dilations = [1, 1], groups = 1, layer = "conv3""#,
            r#"hl.ew_mult %3, %10 {activation = "linear", layer = "ew_mult1"} : tensor<1x5x5x8xf32> loc("se_scale")"#,
        ],
    );
    // ReduceMean without keepdims is a global avgpool + reshape; the Expand is left to the
    // ew_mult's broadcasting.
    expect(
        "se_gemm",
        &[
            "global_avgpool",
            "reshape",
            "dense",
            "dense",
            "reshape",
            "ew_mult",
        ],
        &[
            r#"hl.global_avgpool %0 {layer = "avgpool1"} : tensor<1x1x1x8xf32> loc("se_mean")"#,
            r#"activation = "hardsigmoid", alpha = 0.1666666716337204, beta = 0.5, layer = "fc2""#,
            r#"{layer = "reshape2"} : tensor<1x1x1x8xf32> loc("se_unsqueeze")"#,
            r#"hl.ew_mult %0, %9 {activation = "linear", layer = "ew_mult1"} : tensor<1x4x4x8xf32> loc("se_scale")"#,
        ],
    );
}

/// The op sequence of one unrolled LSTM step with a zero incoming state: W·x dense layers
/// with fused activations, the gate split and the state update.
const LSTM_FIRST_STEP: &[&str] = &[
    "dense",
    "split",
    "dense",
    "ew_mult",
    "activation",
    "ew_mult",
];

/// An LSTM step with a state: W·x and R·h dense layers summed by an ew_add carrying the gate
/// activation, then the state update with the forget term.
const LSTM_STEP: &[&str] = &[
    "dense",
    "dense",
    "ew_add",
    "split",
    "dense",
    "dense",
    "ew_add",
    "ew_mult",
    "ew_mult",
    "ew_add",
    "activation",
    "ew_mult",
];

#[test]
fn lstm_is_unrolled_per_time_step() {
    let mut ops = vec!["split", "reshape", "reshape", "reshape", "reshape"];
    ops.extend(LSTM_FIRST_STEP);
    for _ in 1..4 {
        ops.extend(LSTM_STEP);
    }
    // Y: per-step reshapes and a concat over time; Y_h and Y_c reshaped to [1, 1, 5]; Y held
    // as [seq, batch, dirs, H] is reshaped to the output layer's NHWC [seq, batch, H, dirs].
    ops.extend([
        "reshape", "reshape", "reshape", "reshape", "concat", "reshape", "reshape", "reshape",
    ]);
    expect(
        "lstm",
        &ops,
        &[
            r#"hl.split %0 {axis = 0, layer = "slice1", sizes = [1, 1, 1, 1]}"#,
            r#"hl.dense %2, %6, %7 {activation = "sigmoid", layer = "fc1"} : tensor<1x15xf32> loc("cell")"#,
            r#"{axis = 1, layer = "feature_splitter1", sizes = [5, 5, 5]}"#,
            r#"{activation = "tanh", layer = "fc2"} : tensor<1x5xf32>"#,
            r#"hl.concat"#,
            r#"{axis = 0, layer = "concat1"} : tensor<4x1x1x5xf32> loc("cell")"#,
        ],
    );
}

#[test]
fn gru_and_rnn_are_unrolled() {
    // GRU with linear_before_reset=1, reverse, zero state: the first step multiplies r by Rb.
    let models = to_hl_fixtures::pattern_models();
    let bytes = &models
        .iter()
        .find(|(n, _)| *n == "gru_lbr")
        .expect("fixture")
        .1;
    let (text, ops, _) = convert_named("gru_lbr", bytes);
    assert_eq!(
        ops.iter().filter(|o| *o == "dense").count(),
        2 + 3 * 4,
        "{text}"
    );
    // r (the second gate) times the constant Rb of the candidate gate.
    assert!(
        text.contains(r#"hl.ew_mult %9#1, %10 {layer = "ew_mult1"}"#),
        "{text}"
    );
    assert!(text.contains(r#"hl.const dense<"#), "{text}");
    // A bidirectional batch-first RNN: 2 directions x 3 steps, one dense per step at t = 0
    // of each direction and two (W·x, R·h) at the others, with tanh fused into the ew_add.
    let bytes = &models
        .iter()
        .find(|(n, _)| *n == "rnn_batch_first")
        .expect("fixture")
        .1;
    let (text, ops, _) = convert_named("rnn_batch_first", bytes);
    assert_eq!(
        ops.iter().filter(|o| *o == "dense").count(),
        2 * 3 * 2,
        "{text}"
    );
    assert_eq!(
        text.matches(r#"activation = "tanh", layer = "ew_add"#)
            .count(),
        2 * 3,
        "{text}"
    );
}

#[test]
fn multi_head_attention_is_split_per_head() {
    let head = ["matmul", "ew_mult", "softmax", "matmul"];
    let mut attention = vec!["split", "split", "split"];
    attention.extend(head);
    attention.extend(head);
    attention.push("concat");
    let proj = ["reshape", "conv2d", "reshape"];
    let ops: Vec<&str> = [&proj[..], &proj, &proj, &attention, &proj].concat();
    expect(
        "mha",
        &ops,
        &[
            r#"{axis = 2, layer = "feature_splitter2", sizes = [4, 4]} : tensor<1x6x4xf32>, tensor<1x6x4xf32> loc("k_reshape")"#,
            r#"hl.matmul %16#0, %17#0 {layer = "matmul1", transpose_b = true} : tensor<1x6x6xf32> loc("scores")"#,
            r#"hl.const dense<[[[0.5]]]> : tensor<1x1x1xf32> loc("scale")"#,
            r#"hl.softmax %21 {axis = 2, layer = "softmax1"} : tensor<1x6x6xf32> loc("softmax")"#,
            r#"hl.matmul %22, %18#0 {layer = "matmul3", transpose_b = false} : tensor<1x6x4xf32> loc("weighted")"#,
            r#"hl.concat %23, %28 {axis = 2, layer = "concat1"} : tensor<1x6x8xf32> loc("merge_transpose")"#,
        ],
    );
}

#[test]
fn conv1d_is_a_2d_conv_with_unit_height() {
    expect(
        "conv1d",
        // The rank-3 graph input/output default to NWC in hl (`--input-format x=NCW` avoids
        // the transposes); the conv itself runs on [N, 1, W, C].
        &["transpose", "reshape", "conv2d", "reshape", "transpose"],
        &[
            "hl.const dense_resource<conv1.kernel> : tensor<1x3x4x6xf32>",
            r#"activation = "relu""#,
            "pads = [0, 1, 0, 1], strides = [1, 2]",
            r#": tensor<1x1x5x6xf32> loc(fused["conv1d", "relu"])"#,
        ],
    );
}
