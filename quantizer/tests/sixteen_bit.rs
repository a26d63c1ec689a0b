//! 16-bit everywhere (issue 15 item 2): the bias modes (quantization.md §9, §11 item 12) that
//! let a large bias sit at the tiny accumulator scale of 16-bit activations and weights,
//! consecutive a16_w16 layers, `auto_16bit_weights_ratio=1`, and activations split off a layer
//! taking the precision the script gave that layer. Model-script text goes through
//! `apply_script`, so a command read but ignored fails the test.

mod common;

use common::{module, Rng};
use hailo_dialect_quant::{QuantType, Storage};
use hailo_executor::{Executor, GraphRef};
use hailo_ir::{Attribute, Module};
use hailo_passes::quant::snr::snr_db;
use hailo_quantizer::script::apply_script;
use hailo_quantizer::{lower, prepare, QuantConfig};
use ndarray::ArrayD;
use std::collections::BTreeMap;

/// Two 3×3 convolutions with biases (the first with a SiLU, which is split off into its own
/// layer), then a 1×1 convolution with a bias: 8 → 8 → 8 → 4 channels.
const NET: &str = r#"builtin.module @net {
  builtin.graph @main(%arg0: tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32> {
    %0 = hl.input_layer %arg0 {layer = "input_layer1"} : tensor<1x8x8x4xf32>
    %w1 = hl.const dense_resource<w1> : tensor<3x3x4x8xf32>
    %b1 = hl.const dense_resource<b1.bias> : tensor<8xf32>
    %1 = hl.conv2d %0, %w1, %b1 {layer = "conv1", activation = "silu", padding = "SAME"} : tensor<1x8x8x8xf32>
    %w2 = hl.const dense_resource<w2> : tensor<3x3x8x8xf32>
    %b2 = hl.const dense_resource<b2.bias> : tensor<8xf32>
    %2 = hl.conv2d %1, %w2, %b2 {layer = "conv2", activation = "relu", padding = "SAME"} : tensor<1x8x8x8xf32>
    %w3 = hl.const dense_resource<w3> : tensor<1x1x8x4xf32>
    %b3 = hl.const dense_resource<b3.bias> : tensor<4xf32>
    %3 = hl.conv2d %2, %w3, %b3 {layer = "conv3"} : tensor<1x8x8x4xf32>
    %4 = hl.output_layer %3 {layer = "output_layer1"} : tensor<1x8x8x4xf32>
    builtin.return %4 : tensor<1x8x8x4xf32>
  }
}
"#;

/// [`NET`] with seeded weights and biases of standard deviation `bias_std`.
fn net(bias_std: f64) -> Module {
    module(
        NET,
        &[
            ("w1", 288, 0.3),
            ("b1.bias", 8, bias_std),
            ("w2", 576, 0.2),
            ("b2.bias", 8, bias_std),
            ("w3", 32, 0.3),
            ("b3.bias", 4, bias_std),
        ],
        11,
    )
}

fn data() -> Vec<ArrayD<f32>> {
    vec![Rng(5).array(&[8, 8, 8, 4])]
}

/// The config `script` gives for `m`.
fn configured(m: &Module, script: &str) -> QuantConfig {
    let layers: Vec<String> = m
        .walk(m.top())
        .into_iter()
        .filter_map(|o| m.attr(o, "layer").and_then(Attribute::as_str))
        .map(|l| format!("net/{l}"))
        .collect();
    let mut cfg = QuantConfig::default();
    cfg.calibration.calibset_size = 8;
    cfg.calibration.quiet = true;
    apply_script(&mut cfg, "t.alls", script, &layers, &BTreeMap::new())
        .unwrap_or_else(|e| panic!("script applies: {e}"));
    cfg
}

/// `m` prepared and lowered with `script`, or the error.
fn quantized(mut m: Module, script: &str) -> Result<Module, String> {
    let cfg = configured(&m, script);
    prepare(&mut m, &data(), &cfg).map_err(|e| e.to_string())?;
    lower(&mut m).map_err(|e| e.to_string())?;
    Ok(m)
}

fn run(m: &Module) -> Vec<ArrayD<f32>> {
    Executor::new(m, GraphRef::First)
        .expect("emulation")
        .run(&data())
        .expect("runs")
}

/// Output SNR (dB) of lowered `q` against the float `f`, on the calibration data.
fn output_snr(f: &Module, q: &Module) -> f64 {
    snr_db(&run(f), &run(q))
}

/// The q op (not a constant) of `layer`.
fn q_op(m: &Module, layer: &str) -> hailo_ir::OpId {
    m.walk(m.top())
        .into_iter()
        .find(|&o| {
            m.attr(o, "layer").and_then(Attribute::as_str) == Some(layer)
                && m.op(o).name_str() != "q.const"
                && m.op(o).name_str().starts_with("q.")
        })
        .unwrap_or_else(|| panic!("{layer} lowered"))
}

fn result_type(m: &Module, layer: &str) -> QuantType {
    let op = q_op(m, layer);
    QuantType::parse(m.value_type(m.result(op, 0))).expect("quantized")
}

/// The largest |bias represented − float bias| of `layer`'s lowered convolution: the i32
/// codes of `<layer>.bias_q` times the bias operand's per-channel scale.
fn max_bias_error(q: &Module, float_bias: &[f32], layer: &str) -> f64 {
    let op = q_op(q, layer);
    let bt = QuantType::parse(q.value_type(q.op(op).operands()[2])).expect("quantized bias");
    let blob = q
        .resources
        .get(format!("{layer}.bias_q").as_str())
        .expect("bias codes");
    blob.bytes
        .chunks_exact(4)
        .enumerate()
        .map(|(c, b)| {
            let code = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            (f64::from(code) * bt.scale_at(c) - f64::from(float_bias[c])).abs()
        })
        .fold(0.0, f64::max)
}

fn bias_shift(q: &Module, layer: &str) -> Option<Vec<i64>> {
    q.attr(q_op(q, layer), "bias_shift")
        .and_then(Attribute::as_i64_array)
}

/// quantization.md §11 item 12: on a layer whose bias is far beyond the 2^16 accumulator
/// steps single_scale_decomposition resolves exactly (here over 2^24 steps at a16_w16),
/// double_scale_initialization's largest bias error is at least 2^8 times smaller, and the
/// output SNR does not drop.
#[test]
fn double_bias_mode_is_2_to_the_8_more_exact_than_single_on_a_large_bias() {
    // conv1 (and the SiLU split off it) at 16 bits too: conv2 reads a 16-bit input.
    let base = "quantization_param([conv1, conv2], precision_mode=a16_w16)\n";
    let f = net(0.05);
    let bias = f.resources.get("b2.bias").expect("bias").to_f32();
    let single = quantized(
        net(0.05),
        &format!("{base}quantization_param(conv2, bias_mode=single_scale_decomposition)\n"),
    )
    .expect("single mode lowers");
    let double = quantized(
        net(0.05),
        &format!("{base}quantization_param(conv2, bias_mode=double_scale_initialization)\n"),
    )
    .expect("double mode lowers");
    // The bias is large in accumulator steps: ≫ 2^16 (and within i32, no bias shift).
    assert_eq!(bias_shift(&double, "conv2"), None);
    let op = q_op(&double, "conv2");
    let bt = QuantType::parse(double.value_type(double.op(op).operands()[2])).expect("bias");
    let steps = bias
        .iter()
        .enumerate()
        .map(|(c, &b)| (f64::from(b) / bt.scale_at(c)).abs())
        .fold(0.0, f64::max);
    assert!(steps > 2f64.powi(24), "largest bias {steps:e} steps");
    let (es, ed) = (
        max_bias_error(&single, &bias, "conv2"),
        max_bias_error(&double, &bias, "conv2"),
    );
    assert!(
        ed * 256.0 <= es,
        "max bias error: single {es:e}, double {ed:e}"
    );
    let (ss, sd) = (output_snr(&f, &single), output_snr(&f, &double));
    assert!(sd >= ss, "output SNR: single {ss:.2} dB, double {sd:.2} dB");
}

/// A bias of some units between two a16_w16 layers is beyond 2^31 accumulator steps: beyond i32, so double mode
/// moves it to a scale 2^e coarser (the op's `bias_shift`), single mode is a located error
/// that names the way out, and the layer keeps its 16-bit accuracy.
#[test]
fn large_biases_at_16_bit_accumulator_scales_fit_in_double_mode() {
    // conv2's bias 100 times larger than the others (σ = 50).
    let big = || {
        let mut m = net(0.5);
        let b: Vec<f32> = m.resources.get("b2.bias").expect("bias").to_f32();
        let b: Vec<f32> = b.iter().map(|v| v * 100.0).collect();
        m.resources.insert("b2.bias", hailo_ir::Blob::from_f32(&b));
        m
    };
    let f = big();
    // Dead channels keep their bias (zero-static channels would replace it by its output).
    let base = "quantization_param([conv1, conv2], precision_mode=a16_w16)\n\
                pre_quantization_optimization(zero_static_channels, policy=disabled)\n";
    let q = quantized(big(), base).expect("default (double) mode lowers");
    let shifts = bias_shift(&q, "conv2").expect("conv2 needs a bias shift");
    assert!(shifts.iter().any(|&e| e > 0), "{shifts:?}");
    assert_eq!(bias_shift(&q, "conv3"), None, "8-bit conv3 needs none");
    let bias = f.resources.get("b2.bias").expect("bias").to_f32();
    // 31 significant bits: far below the output step of the layer.
    let err = max_bias_error(&q, &bias, "conv2");
    let out_step = result_type(&q, "conv2").scale_at(0);
    assert!(
        err < out_step * 1e-3,
        "bias error {err:e}, output step {out_step:e}"
    );
    let Err(e) = quantized(
        big(),
        &format!("{base}quantization_param(conv2, bias_mode=single_scale_decomposition)\n"),
    ) else {
        panic!("single_scale_decomposition cannot hold the bias")
    };
    assert!(
        e.contains("layer 'conv2'")
            && e.contains("beyond single_scale_decomposition")
            && e.contains("bias_mode=double_scale_initialization"),
        "{e}"
    );
}

/// Consecutive a16_w16 layers with biases and a split SiLU (`auto_16bit_weights_ratio=1`,
/// the guide's "full 16-bit network"): every result is 16-bit, every kernel 16-bit, and the
/// output gains at least 40 dB over a8_w8.
#[test]
fn full_16_bit_network_with_biases_gains_40_db() {
    let f = net(1.0);
    let q8 = quantized(net(1.0), "").expect("a8_w8 lowers");
    let q16 = quantized(
        net(1.0),
        "model_optimization_config(compression_params, auto_16bit_weights_ratio=1)\n",
    )
    .expect("a16_w16 lowers");
    for l in [
        "input_layer1",
        "conv1",
        "conv1_activation",
        "conv2",
        "conv3",
    ] {
        assert_eq!(result_type(&q16, l).storage(), Storage::U16, "{l}");
        assert_eq!(result_type(&q8, l).storage(), Storage::U8, "{l}");
    }
    for l in ["conv1", "conv2", "conv3"] {
        let op = q_op(&q16, l);
        let k = QuantType::parse(q16.value_type(q16.op(op).operands()[1])).expect("kernel");
        assert_eq!(k.storage(), Storage::I16, "{l}");
    }
    let (s8, s16) = (output_snr(&f, &q8), output_snr(&f, &q16));
    assert!(s16 >= s8 + 40.0, "a8_w8 {s8:.2} dB, a16_w16 {s16:.2} dB");
}

/// `quantization_param(conv1, precision_mode=a16_w8)`: the SiLU split off conv1 is 16-bit too
/// (a 65536-entry table), not the default 8 bits; conv2 keeps a8_w8.
#[test]
fn split_activations_take_their_layers_precision() {
    let q = quantized(
        net(0.5),
        "quantization_param(conv1, precision_mode=a16_w8)\n",
    )
    .expect("lowers");
    assert_eq!(result_type(&q, "conv1").storage(), Storage::U16);
    assert_eq!(result_type(&q, "conv1_activation").storage(), Storage::U16);
    let table = q
        .attr(q_op(&q, "conv1_activation"), "table")
        .and_then(Attribute::as_i64_array)
        .expect("lut");
    assert_eq!(table.len(), 65536);
    assert_eq!(result_type(&q, "conv2").storage(), Storage::U8);
}

/// `bias_mode` in the guide's own spelling (`double_scale_INITIALIZATION`) reaches the
/// lowering; an unknown mode is a located script error, not a late lowering failure.
#[test]
fn bias_mode_is_checked_when_the_script_is_read() {
    let q = quantized(
        net(0.5),
        "quantization_param([conv1, conv2], precision_mode=a16_w16)\nquantization_param(conv2, bias_mode=double_scale_INITIALIZATION)\n",
    )
    .expect("lowers");
    assert_eq!(result_type(&q, "conv2").storage(), Storage::U16);
    let mut cfg = QuantConfig::default();
    let e = apply_script(
        &mut cfg,
        "t.alls",
        "quantization_param(conv2, bias_mode=triple_scale)\n",
        &["net/conv2".to_owned()],
        &BTreeMap::new(),
    )
    .unwrap_err();
    assert!(
        e.contains("t.alls:1:37: error: invalid value `triple_scale` for `bias_mode`"),
        "{e}"
    );
}
