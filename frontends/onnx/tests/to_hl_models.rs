//! ONNX → hl on the shared reference models: every model converts without options, verifies
//! with the hl dialect registered, converts deterministically (and identically when the model
//! is consumed by `convert_owned`, which releases constants early), and its hl IR is
//! snapshotted (resources elided).

use std::path::PathBuf;

use hailo_ir::{print_module, Context, PrintOptions};
use hailo_onnx::to_hl::{convert, convert_owned, Conversion, ConvertOptions};

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
    let model = hailo_onnx::load(model_path(name)).expect("model loads");
    let owned = convert_owned(model, &ConvertOptions::default()).expect("converts when owned");
    assert_eq!(
        text(&c, false),
        text(&owned, false),
        "{name}: convert_owned differs from convert"
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

#[test]
fn yolo_like_320_cut_at_head_convs_keeps_end_node_order() {
    let model = hailo_onnx::load(model_path("yolo_like_320")).expect("loads");
    let ends = ["/heads.1/Conv", "/heads.2/Conv", "/heads.0/Conv"];
    let cut = model.select::<&str, &str>(&[], &ends).expect("select");
    let c = convert(&cut, &ConvertOptions::default()).expect("converts");
    let outs: Vec<(&str, &str, Vec<usize>)> = c
        .outputs()
        .iter()
        .map(|o| (o.layer.as_str(), o.original_name.as_str(), o.shape.clone()))
        .collect();
    assert_eq!(
        outs,
        [
            ("output_layer1", "head_s16", vec![1, 20, 20, 255]),
            ("output_layer2", "head_s32", vec![1, 10, 10, 255]),
            ("output_layer3", "head_s8", vec![1, 40, 40, 255]),
        ]
    );
    let ctx = context();
    assert!(hailo_ir::verifier::verify(&c.module, &ctx, c.module.top()).is_ok());
}

#[test]
fn parsing_report_accounts_for_every_node() {
    let model = hailo_onnx::load(model_path("digits_mbv2")).expect("loads");
    let c = convert(&model, &ConvertOptions::default()).expect("converts");
    let total = model.nodes.len() + model.removed.len();
    assert_eq!(c.report.nodes.len(), total);
    let clip = c
        .report
        .nodes
        .iter()
        .find(|n| n.op_type == "Clip")
        .expect("a Clip");
    assert_eq!(clip.fate, hailo_onnx::to_hl::NodeFate::Fused);
    assert_eq!(clip.layers, ["conv1"]);
    let constant = c
        .report
        .nodes
        .iter()
        .find(|n| n.op_type == "Constant")
        .expect("a Constant");
    assert_eq!(constant.fate, hailo_onnx::to_hl::NodeFate::Folded);
    let json: serde_json::Value = serde_json::from_str(&c.report.to_json()).expect("valid JSON");
    assert_eq!(json["inputs"][0]["layer"], "input_layer1");
    assert_eq!(json["outputs"][0]["original_name"], "logits");
}
