//! The default a8_w8 quantization as a pass pipeline: `quant-split-activations`,
//! `quant-calibrate`, `quant-ranges` and `hl-to-quant`, run by the pass manager with the
//! calibration set as a resource, give byte for byte the IR (weights included) that the
//! quantizer's library flow gives, on the shared digits models with their calibration set.

mod common;

use common::{ctx, models, npz};
use hailo_executor::dataset::CalibrationSet;
use hailo_ir::pass::{Instrumentation, OpPassManager, Resources};
use hailo_quantizer::{quantize, QuantConfig};

const PIPELINE: &str = "builtin.module(builtin.graph(quant-split-activations,\
    quant-calibrate{samples=64 batch-size=8},quant-ranges),hl-to-quant)";

fn full_text(m: &hailo_ir::Module) -> String {
    hailo_ir::print_module(m, &ctx(), hailo_ir::PrintOptions::default())
}

fn pipeline_matches_library_flow(model: &str) {
    let onnx = hailo_onnx::load(models().join(model)).expect("loads");
    let parsed = hailo_onnx::to_hl::convert(&onnx, &Default::default())
        .expect("converts")
        .module;
    let calib = npz("digits_calib.npz", "x_nhwc");

    let mut library = parsed.clone();
    quantize(
        &mut library,
        std::slice::from_ref(&calib),
        &QuantConfig::default(),
    )
    .expect("quantizes");

    let mut piped = parsed;
    let mut pm = OpPassManager::parse(PIPELINE, &hailo_passes::registry()).expect("parses");
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
    assert!(
        a.contains("q.conv2d"),
        "{model}: the library flow lowered nothing"
    );
    assert_eq!(a, b, "{model}: pipeline and library flow differ");
}

#[test]
fn digits_cnn_pipeline_equals_library_flow() {
    pipeline_matches_library_flow("digits_cnn_opset13.onnx");
}

#[test]
fn digits_mbv2_pipeline_equals_library_flow() {
    pipeline_matches_library_flow("digits_mbv2.onnx");
}
