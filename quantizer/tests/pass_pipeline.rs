//! Quantization as a pass pipeline: `quant-split-activations`, `quant-calibrate`,
//! `quant-ranges`, `quant-precision`, `quant-weight-clipping` and `hl-to-quant`, run by the pass
//! manager with the calibration set as a resource, give byte for byte the IR (weights included)
//! that the quantizer's library flow gives for the same settings, on the shared digits models
//! with their calibration set: the defaults (a8_w8, and the same pipeline without the
//! precision and clipping passes, whose defaults `hl-to-quant` applies itself), and per-layer
//! precision, bias mode, clipping and quantization groups.

mod common;

use common::{ctx, models, npz};
use hailo_executor::dataset::CalibrationSet;
use hailo_ir::pass::{Instrumentation, OpPassManager, Resources};
use hailo_passes::quant::clipping::WeightClipping;
use hailo_quantizer::{quantize, Precision, QuantConfig};

const DEFAULTS: &str = "builtin.module(builtin.graph(quant-split-activations,\
    quant-calibrate{samples=64 batch-size=8},quant-ranges),hl-to-quant)";

fn full_text(m: &hailo_ir::Module) -> String {
    hailo_ir::print_module(m, &ctx(), hailo_ir::PrintOptions::default())
}

/// `expect`: text the quantized IR must hold (proof the settings took effect).
fn pipeline_matches_library_flow(model: &str, cfg: &QuantConfig, pipeline: &str, expect: &[&str]) {
    let onnx = hailo_onnx::load(models().join(model)).expect("loads");
    let parsed = hailo_onnx::to_hl::convert(&onnx, &Default::default())
        .expect("converts")
        .module;
    let calib = npz("digits_calib.npz", "x_nhwc");

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
}

#[test]
fn digits_cnn_default_pipeline_equals_library_flow() {
    let cfg = QuantConfig::default();
    pipeline_matches_library_flow("digits_cnn_opset13.onnx", &cfg, DEFAULTS, &["<u8:f32"]);
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
    let pipeline = "builtin.module(builtin.graph(quant-split-activations,\
        quant-calibrate{samples=64 batch-size=8},quant-ranges,\
        quant-precision{layers=[conv1:a16_w16,conv2:a8_w4,fc1:a8_w8_a16] \
        bias-modes=[conv3:single_scale_decomposition]},\
        quant-weight-clipping{layers=[conv3:percentile:99.0] groups=[conv2:2]}),hl-to-quant)";
    let expect = ["<u16:f32", "per_axis<i4:f32", "per_axis<i16:f32"];
    pipeline_matches_library_flow("digits_cnn_opset13.onnx", &cfg, pipeline, &expect);
}
