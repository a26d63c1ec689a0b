//! The trained digits CNN (shared/models, real data): float vs. quantized emulation accuracy
//! on digits_test.npz (359 samples) at a8_w8 and a8_w4.

mod common;

use common::{models, npz};

use hailo_executor::{Executor, GraphRef};
use hailo_quantizer::{quantize, Precision, QuantConfig};

fn quantized_accuracy(p: Precision) -> (f64, f64) {
    let model = hailo_onnx::load(models().join("digits_cnn_opset13.onnx")).expect("loads");
    let mut m = hailo_onnx::to_hl::convert(&model, &Default::default())
        .expect("converts")
        .module;
    let (x, y) = (
        npz("digits_test.npz", "x_nhwc"),
        npz("digits_test.npz", "y"),
    );
    let float = hailo_executor::Executor::new(&m, "main")
        .expect("prepares")
        .run(std::slice::from_ref(&x))
        .expect("runs");
    let calib = npz("digits_calib.npz", "x_nhwc");
    let cfg = QuantConfig {
        default_precision: p,
        ..QuantConfig::default()
    };
    quantize(&mut m, &[calib], &cfg).expect("quantizes");
    let qi = Executor::new(&m, GraphRef::First).expect("prepares");
    let out = qi.run(&[x]).expect("emulates");
    let (fa, qa) = (
        common::accuracy(&float[0], &y),
        common::accuracy(&out[0], &y),
    );
    eprintln!(
        "{p:?}: float {fa:.2}%, quantized {qa:.2}%, output SNR {:.2} dB",
        hailo_passes::quant::snr::snr_db(&float, &out)
    );
    (fa, qa)
}

#[test]
fn digits_a8_w8_within_half_a_point_of_float() {
    let (fa, qa) = quantized_accuracy(Precision::A8W8);
    assert!((fa - 98.05).abs() < 0.01, "float accuracy {fa}");
    assert!(qa >= fa - 0.5, "a8_w8 accuracy {qa} vs float {fa}");
}

#[test]
fn digits_a8_w4_reported() {
    let (_, qa) = quantized_accuracy(Precision::A8W4);
    assert!(qa > 80.0, "a8_w4 accuracy {qa}");
}
