//! Quantization as a pass pipeline: `quant-zero-static-channels`, `hl-dead-layers-removal`,
//! `hl-fuse-conv-add`,
//! `quant-split-activations`, `quant-calibrate`,
//! `quant-ranges`, `quant-precision`, `quant-weight-clipping` and `hl-to-quant`, run by the pass
//! manager with the calibration set as a resource, give byte for byte the IR (weights included)
//! that the quantizer's library flow gives for the same settings, on the shared digits models
//! with their calibration set, and on resnet18, mobilenet_v2 and yolo_like_320: the defaults (a8_w8, and the same pipeline without the
//! precision and clipping passes, whose defaults `hl-to-quant` applies itself), and per-layer
//! precision, bias mode, clipping and quantization groups.

mod common;

use common::{ctx, models, npz};
use hailo_executor::dataset::CalibrationSet;
use hailo_ir::pass::{Instrumentation, OpPassManager, Resources};
use hailo_passes::quant::clipping::WeightClipping;
use hailo_quantizer::{quantize, Precision, QuantConfig};

const DEFAULTS: &str = "builtin.module(builtin.graph(quant-zero-static-channels,\
    hl-dead-layers-removal,hl-fuse-conv-add,quant-split-activations,quant-calibrate{samples=64 batch-size=8},quant-ranges),hl-to-quant)";

fn full_text(m: &hailo_ir::Module) -> String {
    hailo_ir::print_module(m, &ctx(), hailo_ir::PrintOptions::default())
}

/// `expect`: text the quantized IR must hold (proof the settings took effect).
fn pipeline_matches_library_flow(
    model: &str,
    cfg: &QuantConfig,
    pipeline: &str,
    expect: &[&str],
) -> String {
    let onnx = hailo_onnx::load(models().join(model)).expect("loads");
    let parsed = hailo_onnx::to_hl::convert(&onnx, &Default::default())
        .expect("converts")
        .module;
    let calib = if model.starts_with("digits") {
        npz("digits_calib.npz", "x_nhwc")
    } else {
        let size = if model.starts_with("yolo") { 320 } else { 224 };
        npz(&format!("calib_image_like_{size}.npz"), "images")
    };

    let mut library = parsed.clone();
    quantize(&mut library, std::slice::from_ref(&calib), cfg).expect("quantizes");

    let mut piped = parsed;
    let mut pm = OpPassManager::parse(pipeline, &hailo_passes::registry()).expect("parses");
    let mut resources = Resources::new();
    resources.insert(CalibrationSet(vec![calib]));
    let top = piped.top();
    pm.run_with(
        &mut piped,
        &ctx(),
        top,
        &mut Instrumentation::default(),
        &resources,
    )
    .expect("the pipeline runs");

    let (a, b) = (full_text(&library), full_text(&piped));
    for e in expect.iter().chain(&["q.conv2d"]) {
        assert!(a.contains(e), "{model}: the quantized IR has no '{e}'");
    }
    assert_eq!(a, b, "{model}: pipeline and library flow differ");
    a
}

#[test]
fn digits_cnn_default_pipeline_equals_library_flow() {
    let cfg = QuantConfig::default();
    pipeline_matches_library_flow("digits_cnn_opset13.onnx", &cfg, DEFAULTS, &["<u8:f32"]);
}

/// The named pipeline `hailo-quantize` is the default quantization.
#[test]
fn named_quantize_pipeline_equals_library_flow() {
    let cfg = QuantConfig::default();
    let named = "builtin.module(hailo-quantize)";
    pipeline_matches_library_flow("digits_cnn_opset13.onnx", &cfg, named, &["<u8:f32"]);
}

#[test]
fn digits_mbv2_default_pipeline_equals_library_flow() {
    let cfg = QuantConfig::default();
    pipeline_matches_library_flow("digits_mbv2.onnx", &cfg, DEFAULTS, &["<u8:f32"]);
}

#[test]
fn digits_cnn_per_layer_settings_pipeline_equals_library_flow() {
    let layers = |v: &[(&str, Precision)]| v.iter().map(|(l, p)| (l.to_string(), *p)).collect();
    let cfg = QuantConfig {
        precision: layers(&[
            ("conv1", Precision::A16W16),
            ("conv2", Precision::A8W4),
            ("fc1", Precision::parse("a8_w8_a16").expect("a mode")),
        ]),
        bias_mode: [("conv3".to_owned(), "single_scale_decomposition".to_owned())]
            .into_iter()
            .collect(),
        weight_clipping_layers: [("conv3".to_owned(), WeightClipping::Percentile(99.0))]
            .into_iter()
            .collect(),
        quant_groups: [("conv2".to_owned(), 2)].into_iter().collect(),
        ..QuantConfig::default()
    };
    let pipeline = hailo_quantizer::pipeline::of(&cfg);
    assert!(pipeline.contains("layers=[conv1:a16_w16,conv2:a8_w4,fc1:a8_w8_a16]"));
    let expect = ["<u16:f32", "per_axis<i4:f32", "per_axis<i16:f32"];
    pipeline_matches_library_flow("digits_cnn_opset13.onnx", &cfg, &pipeline, &expect);
}

#[test]
fn digits_mbv2_activation_clipping_pipeline_equals_library_flow() {
    let model = hailo_onnx::load(models().join("digits_mbv2.onnx")).expect("loads");
    let m = hailo_onnx::to_hl::convert(&model, &Default::default())
        .expect("converts")
        .module;
    // The first two layers with a range of their own (after the input layer).
    let layers: Vec<String> = m
        .walk(m.top())
        .into_iter()
        .filter_map(|op| m.attr(op, "layer").and_then(hailo_ir::Attribute::as_str))
        .filter(|l| l.starts_with("conv"))
        .take(2)
        .map(str::to_owned)
        .collect();
    let cfg = QuantConfig {
        activation_percentile: [(layers[0].clone(), (0.5, 99.5))].into_iter().collect(),
        force_range_out: [(layers[1].clone(), (-2.0, 6.0))].into_iter().collect(),
        ..QuantConfig::default()
    };
    let pipeline = hailo_quantizer::pipeline::of(&cfg);
    assert!(pipeline.contains("quant-activation-clipping"));
    let clipped = pipeline_matches_library_flow("digits_mbv2.onnx", &cfg, &pipeline, &["<u8:f32"]);
    let default = QuantConfig::default();
    let plain = pipeline_matches_library_flow("digits_mbv2.onnx", &default, DEFAULTS, &[]);
    assert_ne!(clipped, plain, "the clipping changed nothing");
}

#[test]
fn automatic_bit_choice_pipeline_equals_library_flow() {
    let cfg = QuantConfig {
        auto_4bit_ratio: 0.3,
        auto_16bit_ratio: 0.2,
        precision: [("conv1".to_owned(), Precision::A8W8)]
            .into_iter()
            .collect(),
        ..QuantConfig::default()
    };
    let pipeline = hailo_quantizer::pipeline::of(&cfg);
    assert!(
        pipeline.contains(
            "auto-4bit-ratio=0.3 auto-16bit-ratio=0.2 compression-level=1 compression-default=true samples=8"
        ),
        "{pipeline}"
    );
    let expect = ["per_axis<i4:f32", "per_axis<i16:f32"];
    pipeline_matches_library_flow("digits_cnn_opset13.onnx", &cfg, &pipeline, &expect);
}

/// The image models of the shared set (their calibration images as they are: both sides see
/// the same data), 16 samples to keep the test short.
#[test]
fn image_models_pipeline_equals_library_flow() {
    let mut cfg = QuantConfig::default();
    cfg.calibration.calibset_size = 16;
    let pipeline = hailo_quantizer::pipeline::of(&cfg);
    for model in ["resnet18.onnx", "mobilenet_v2.onnx", "yolo_like_320.onnx"] {
        pipeline_matches_library_flow(model, &cfg, &pipeline, &["<u8:f32"]);
    }
}
