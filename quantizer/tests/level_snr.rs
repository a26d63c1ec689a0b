//! Output SNR at a8_w8 of the five shared models of issue 16 at optimization levels 0 and 1,
//! in the protocol: calibration on the first 32 images of `calib_image_like_224.npz`
//! / `calib_image_like_320.npz` after each model's preprocessing, or the 256 samples of
//! `digits_calib.npz`; SNR = 10·log10(Σref² / Σ(ref − q)²) over all outputs on the 4 inputs
//! of the model's `*_ref.npz` (digits_mbv2: the logits of the 359 `digits_test.npz` samples),
//! the float outputs as ref. Each test asserts the measured figures less 0.1 dB and that
//! level 1 (iterative bias correction) is above level 0.
//!
//! onnxruntime 1.32.0 `quantize_static` (QDQ, MinMax, int8 weights, uint8 activations) on the
//! same calibration samples and inputs, measured in the same run with
//! `bench/ort_quant_compare.py --issue16` (per-channel / per-tensor weights, dB): digits_mbv2
//! 30.93 / 28.52, mobilenet_v2 12.63 / 11.27, resnet18 26.38 / 22.17, squeezenet1_1 36.45 /
//! 34.79, yolo_like_320 31.71 / 31.19. Level 1 is above the best of those on all five models
//! and 3 dB above it on squeezenet1_1 only.
//!
//! digits_mbv2 with per-tensor weights (`quantization_groups=1` on every weighted layer):
//! 28.53 dB at level 0 (`tests/equalization_models.rs`), 30.90 dB at level 1 (onnxruntime
//! per-tensor: 28.52).

mod common;

use common::{models, npz};
use hailo_dialect_hl::interfaces::{interface, Weights};
use hailo_executor::{Executor, GraphRef};
use hailo_ir::Attribute;
use hailo_passes::quant::snr::snr_db;
use hailo_quantizer::{quantize, QuantConfig};
use ndarray::{ArrayD, Axis, IxDyn, Slice};

const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];

/// The model, its calibration samples and its evaluation inputs (NHWC) in issue 16's protocol.
fn protocol(name: &str) -> (hailo_ir::Module, ArrayD<f32>, ArrayD<f32>) {
    let model = hailo_onnx::load(models().join(format!("{name}.onnx"))).expect("loads");
    let m = hailo_onnx::to_hl::convert(&model, &Default::default())
        .expect("converts")
        .module;
    let (calib, eval, n) = if name == "digits_mbv2" {
        (
            npz("digits_calib.npz", "x_nhwc"),
            npz("digits_test.npz", "x_nhwc"),
            256,
        )
    } else {
        let yolo = name == "yolo_like_320";
        let file = if yolo {
            "calib_image_like_320.npz"
        } else {
            "calib_image_like_224.npz"
        };
        let mut x = npz(file, "images").mapv(|v| v / 255.0);
        if !yolo {
            for (c, mut lane) in x.axis_iter_mut(Axis(3)).enumerate() {
                lane.mapv_inplace(|v| (v - MEAN[c]) / STD[c]);
            }
        }
        let key = if yolo { "images" } else { "input" };
        let nchw = npz(&format!("{name}_ref.npz"), key);
        let nhwc = nchw.permuted_axes(IxDyn(&[0, 2, 3, 1]));
        (x, nhwc.as_standard_layout().into_owned(), 32)
    };
    let calib = calib.slice_axis(Axis(0), Slice::from(..n)).to_owned();
    (m, calib, eval)
}

/// Output SNR (dB) of `name` quantized at optimization `level`, with one weight scale per
/// layer when `per_tensor`.
fn snr_with(name: &str, level: i64, per_tensor: bool) -> f64 {
    let (mut m, calib, x) = protocol(name);
    let float = Executor::new(&m, "main")
        .expect("prepares")
        .run(std::slice::from_ref(&x))
        .expect("runs");
    let mut cfg = QuantConfig {
        optimization_level: Some(level),
        ..QuantConfig::default()
    };
    cfg.calibration.calibset_size = calib.shape()[0];
    cfg.calibration.quiet = true;
    if per_tensor {
        for op in m.walk(m.top()) {
            if interface::<dyn Weights>(&m, op).is_some() {
                if let Some(l) = m.attr(op, "layer").and_then(Attribute::as_str) {
                    cfg.quant_groups.insert(l.to_owned(), 1);
                }
            }
        }
    }
    quantize(&mut m, &[calib], &cfg).expect("quantizes");
    let q = Executor::new(&m, GraphRef::First)
        .expect("prepares")
        .run(std::slice::from_ref(&x))
        .expect("emulates");
    snr_db(&float, &q)
}

fn snr_at(name: &str, level: i64) -> f64 {
    snr_with(name, level, false)
}

/// Levels 0 and 1 reach at least the measured `[level 0, level 1]` figures less 0.1 dB, and
/// level 1 gains over level 0.
fn check(name: &str, measured: [f64; 2]) {
    let got = [snr_at(name, 0), snr_at(name, 1)];
    eprintln!(
        "{name} a8_w8 output SNR: level 0 {:.2} dB, level 1 {:.2} dB",
        got[0], got[1]
    );
    for (level, (g, m)) in got.iter().zip(measured).enumerate() {
        assert!(
            *g >= m - 0.1,
            "{name} level {level}: {g:.2} dB, measured {m:.2}"
        );
    }
    assert!(
        got[1] > got[0],
        "{name}: bias correction lowers the SNR: {got:?}"
    );
}

#[test]
fn digits_mbv2_levels() {
    check("digits_mbv2", [31.15, 31.63]);
}

#[test]
fn mobilenet_v2_levels() {
    check("mobilenet_v2", [12.68, 13.02]);
}

#[test]
fn resnet18_levels() {
    check("resnet18", [27.30, 28.24]);
}

#[test]
fn squeezenet1_1_levels() {
    check("squeezenet1_1", [36.47, 39.76]);
}

#[test]
fn yolo_like_320_levels() {
    check("yolo_like_320", [32.60, 32.99]);
}

#[test]
fn digits_mbv2_per_tensor_weights_at_level_1() {
    let snr = snr_with("digits_mbv2", 1, true);
    eprintln!("digits_mbv2 per-tensor a8_w8 test-logits SNR at level 1: {snr:.2} dB");
    assert!(snr >= 30.8, "{snr:.2} dB");
}
