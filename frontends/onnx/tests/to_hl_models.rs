//! ONNX → hl on the shared reference models: every model converts without options, verifies
//! with the hl dialect registered, converts deterministically, and its hl IR is snapshotted
//! (resources elided).

use std::path::PathBuf;

use hailo_ir::{print_module, Context, PrintOptions};
use hailo_onnx::to_hl::{convert, Conversion, ConvertOptions};

fn model_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/models")
        .join(format!("{name}.onnx"))
}

fn context() -> Context {
    let mut ctx = Context::new();
    ctx.register(hailo_dialect_hl::dialect());
    ctx
}

fn convert_model(name: &str) -> Conversion {
    let model = hailo_onnx::load(model_path(name)).expect("model loads");
    convert(&model, &ConvertOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn text(c: &Conversion, elide: bool) -> String {
    print_module(
        &c.module,
        &context(),
        PrintOptions {
            elide_resources: elide,
            ..Default::default()
        },
    )
}

fn check(name: &str) {
    let c = convert_model(name);
    let ctx = context();
    if let Err(diags) = hailo_ir::verifier::verify(&c.module, &ctx, c.module.top()) {
        let msgs: Vec<String> = diags.iter().map(|d| format!("{d:?}")).collect();
        panic!("{name} fails verification:\n{}", msgs.join("\n"));
    }
    insta::assert_snapshot!(format!("{name}_hl"), text(&c, true));
    let again = convert_model(name);
    assert_eq!(
        text(&c, false),
        text(&again, false),
        "{name}: conversion is not deterministic"
    );
}

#[test]
fn digits_cnn_opset13() {
    check("digits_cnn_opset13");
}

#[test]
fn digits_cnn_opset17() {
    check("digits_cnn_opset17");
}

#[test]
fn digits_mbv2() {
    check("digits_mbv2");
}

#[test]
fn mobilenet_v2() {
    check("mobilenet_v2");
}

#[test]
fn resnet18() {
    check("resnet18");
}

#[test]
fn squeezenet1_1() {
    check("squeezenet1_1");
}

#[test]
fn yolo_like_320() {
    check("yolo_like_320");
}
