//! Pattern recognition: each tiny model converts to the single Hailo layer its subgraph
//! computes (checked by op sequence and key attributes), verifies, and the lit-test inputs
//! under `lit-tests/onnx/Inputs/` are exactly these models.

mod to_hl_fixtures;

use std::path::PathBuf;

use bytes::Bytes;
use hailo_ir::{print_module, Context, PrintOptions};
use hailo_onnx::to_hl::{convert, ConvertOptions, NodeFate};
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
    let c = convert(
        &model,
        &ConvertOptions {
            net_name: Some(name.into()),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let ctx = context();
    if let Err(d) = hailo_ir::verifier::verify(&c.module, &ctx, c.module.top()) {
        panic!("{name} does not verify: {d:?}");
    }
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
