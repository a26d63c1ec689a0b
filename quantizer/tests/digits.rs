//! The trained digits CNN (shared/models, real data): float vs. quantized emulation accuracy
//! on digits_test.npz (359 samples) at a8_w8 and a8_w4; and the digits ViT (layer norm,
//! attention matmuls, softmax, GELU) at a8_w8: accuracy and output SNR on its reference
//! inputs against onnxruntime's float outputs.

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

/// onnxruntime `quantize_static`'s best SNR on the 4 inputs of digits_vit_ref.npz (QDQ u8/s8,
/// per-tensor MinMax; calibration: the first 64 samples of digits_calib.npz), measured by
/// `quantizer/bench/ort_vit_compare.py` (onnxruntime 1.32.0) in the same run as this
/// project's 33.86 dB.
const ORT_BEST_REF_SNR_DB: f64 = 33.07;

/// onnxruntime's best test-logits SNR (all 359 samples of digits_test.npz against the float
/// logits; per-channel Percentile) in that run, where this project's is 32.94 dB: the 4
/// reference inputs alone are a noisy measure.
const ORT_BEST_TEST_SNR_DB: f64 = 32.63;

/// digits_vit quantized with `cfg` (calibration: the first 64 samples of digits_calib.npz):
/// float and quantized test accuracy, the test-logits SNR against float, and the SNR on
/// digits_vit_ref.npz against its onnxruntime outputs.
fn vit(cfg: &QuantConfig) -> (f64, f64, f64, f64) {
    let mut m = vit_module();
    let (x, y) = (
        npz("digits_test.npz", "x_nhwc"),
        npz("digits_test.npz", "y"),
    );
    let float = Executor::new(&m, "main")
        .expect("prepares")
        .run(std::slice::from_ref(&x))
        .expect("runs");
    quantize(&mut m, &[npz("digits_calib.npz", "x_nhwc")], cfg).expect("quantizes");
    let qi = Executor::new(&m, GraphRef::First).expect("prepares");
    let out = qi.run(std::slice::from_ref(&x)).expect("emulates");
    let q_ref = qi.run(&[vit_ref_input()]).expect("emulates");
    let ref_y = npz("digits_vit_ref.npz", "logits");
    (
        common::accuracy(&float[0], &y),
        common::accuracy(&out[0], &y),
        hailo_passes::quant::snr::snr_db(&float, &out),
        hailo_passes::quant::snr::snr_db(&[ref_y], &q_ref),
    )
}

fn vit_module() -> hailo_ir::Module {
    let model = hailo_onnx::load(models().join("digits_vit.onnx")).expect("loads");
    hailo_onnx::to_hl::convert(&model, &Default::default())
        .expect("converts")
        .module
}

/// digits_vit_ref.npz's NCHW inputs as NHWC.
fn vit_ref_input() -> ndarray::ArrayD<f32> {
    npz("digits_vit_ref.npz", "input")
        .permuted_axes(ndarray::IxDyn(&[0, 2, 3, 1]))
        .as_standard_layout()
        .to_owned()
}

/// digits_vit at a8_w8 with the default pipeline (matmul equalization included): top-1
/// within one point of float (95.26%) on digits_test.npz, and the output SNR on the 4 inputs
/// of digits_vit_ref.npz above onnxruntime's best `quantize_static` configuration measured
/// on the same calibration data, and the test-logits SNR above onnxruntime's best. Measured:
/// 95.54%, 33.86 dB on the reference inputs (ORT best 33.07) and 32.94 dB on the test logits
/// (ORT best 32.63).
///
/// Issue 15 asks for ORT + 3 dB (36.07 dB); not reached. One 8-bit tensor alone bounds it:
/// the residual stream's first add (patch embedding + position embedding, std 0.17 on the
/// calibration range [−0.96, 0.98]) quantized to 8 bits with everything else float gives
/// 38.08 dB on these inputs (the same in this compiler's noise analysis and in onnxruntime
/// with one QuantizeLinear/DequantizeLinear pair there), which leaves the other 30-odd
/// quantized tensors less noise than ORT's whole model has. The vendor's own ViT scripts
/// put `ew_add`, `norm` and `conv` layers at a16_w16 (`davit_tiny.alls`); with that script
/// this model reaches 38.93 dB.
#[test]
fn digits_vit_a8_w8_within_one_point_of_float() {
    let (fa, qa, test_snr, snr) = vit(&QuantConfig::default());
    eprintln!(
        "digits_vit a8_w8: float {fa:.2}%, quantized {qa:.2}%, test-logits SNR {test_snr:.2} dB, \
         reference SNR {snr:.2} dB (onnxruntime best {ORT_BEST_REF_SNR_DB} dB)"
    );
    assert!((fa - 95.26).abs() < 0.01, "float accuracy {fa}");
    assert!(qa >= fa - 1.0, "a8_w8 accuracy {qa} vs float {fa}");
    assert!(
        snr >= ORT_BEST_REF_SNR_DB + 0.5,
        "output SNR {snr:.2} dB on digits_vit_ref (onnxruntime best {ORT_BEST_REF_SNR_DB} dB)"
    );
    assert!(
        test_snr >= ORT_BEST_TEST_SNR_DB,
        "test-logits SNR {test_snr:.2} dB (onnxruntime {ORT_BEST_TEST_SNR_DB} dB)"
    );
}

/// `quant-matmul-equalize` on digits_vit keeps the float function (max relative change of
/// the test logits ≤ 1e-5) while it rescales the query and key projections of both attention
/// blocks, and what it does to the a8_w8 SNR: 31.10 → 33.86 dB on the 4 reference inputs,
/// 32.95 → 32.94 dB on the 359 test logits. The reference gain is not a gain on the larger
/// set: the test guards the float function and that the SNR does not drop.
#[test]
fn digits_vit_matmul_equalization_keeps_float_outputs() {
    let x = npz("digits_test.npz", "x_nhwc");
    let calib = npz("digits_calib.npz", "x_nhwc");
    let mut m = vit_module();
    let before_blobs = blobs(&m);
    let run = |m: &hailo_ir::Module| {
        Executor::new(m, "main")
            .expect("prepares")
            .run(std::slice::from_ref(&x))
            .expect("runs")
    };
    let before = run(&m);
    let mut inst = hailo_ir::pass::Instrumentation::default();
    hailo_quantizer::optimize::run_pipeline(
        &mut m,
        "builtin.module(builtin.graph(quant-matmul-equalize{samples=64}))",
        &hailo_quantizer::optimize::resources(std::slice::from_ref(&calib), true),
        &mut inst,
    )
    .unwrap_or_else(|f| panic!("{:?}", f.diagnostics));
    let after_blobs = blobs(&m);
    let changed: Vec<&String> = before_blobs
        .iter()
        .filter(|(k, v)| after_blobs.get(*k) != Some(v))
        .map(|(k, _)| k)
        .collect();
    // The kernels and biases of q and k in two blocks.
    assert_eq!(changed.len(), 8, "rescaled: {changed:?}");
    let after = run(&m);
    let (mut diff, mut big) = (0.0f64, 0.0f64);
    for (p, q) in before[0].iter().zip(after[0].iter()) {
        diff = diff.max(f64::from(p - q).abs());
        big = big.max(f64::from(*p).abs());
    }
    assert!(diff / big <= 1e-5, "float logits moved by {:e}", diff / big);

    let off = QuantConfig {
        matmul_equalization: "disabled".into(),
        ..QuantConfig::default()
    };
    let (_, _, test_off, ref_off) = vit(&off);
    let (_, _, test_on, ref_on) = vit(&QuantConfig::default());
    eprintln!(
        "matmul equalization: reference SNR {ref_off:.2} -> {ref_on:.2} dB, \
         test-logits SNR {test_off:.2} -> {test_on:.2} dB"
    );
    assert!(ref_on >= ref_off + 2.0, "{ref_off:.2} -> {ref_on:.2} dB");
    assert!(
        test_on >= test_off - 0.1,
        "{test_off:.2} -> {test_on:.2} dB"
    );
}

/// Every weight blob of the module, by key.
fn blobs(m: &hailo_ir::Module) -> std::collections::BTreeMap<String, Vec<f32>> {
    m.resources
        .iter()
        .map(|(k, b)| (k.to_owned(), b.to_f32()))
        .collect()
}
