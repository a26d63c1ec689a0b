//! Precision settings beyond a8_w8 / a8_w4 / a16_w16: 16-bit output layers
//! (`quantization_param(output_layer1, precision_mode=a16_w16)` and three-part modes such as
//! `a8_w8_a16`), `auto_16bit_weights_ratio` strictly between 0 and 1, `compression_level`,
//! and `quantization_groups`. Model-script text goes through `apply_script`, so each test
//! also fails if the command is read but ignored.

mod common;

use common::{module, Rng};
use hailo_dialect_quant::{QuantType, Storage};
use hailo_executor::{Executor, GraphRef};
use hailo_ir::{Attribute, Module};
use hailo_passes::quant::sensitivity::weighted_layers;
use hailo_quantizer::report::build_report;
use hailo_quantizer::script::apply_script;
use hailo_quantizer::{lower, prepare, Prepared, QuantConfig};
use ndarray::ArrayD;
use std::collections::BTreeMap;

const SIZES: [(&str, u64); 4] = [
    ("conv1", 432),
    ("conv2", 96),
    ("conv3", 1152),
    ("conv4", 64),
];

/// [`common::FOUR_CONVS`] with conv3's output channels rescaled to ranges spread over
/// 2^0 … 2^7.
fn net() -> Module {
    let mut m = module(
        common::FOUR_CONVS,
        &[
            ("w1", 432, 0.3),
            ("w2", 96, 0.3),
            ("w3", 1152, 0.2),
            ("w4", 64, 0.3),
        ],
        7,
    );
    let w3: Vec<f32> = m.resources.get("w3").expect("w3").to_f32();
    let uneven: Vec<f32> = w3
        .iter()
        .enumerate()
        .map(|(i, &v)| v * 2f32.powi((i % 16) as i32 / 2) / 16.0)
        .collect();
    m.resources.insert("w3", hailo_ir::Blob::from_f32(&uneven));
    m
}

fn data() -> Vec<ArrayD<f32>> {
    vec![Rng(3).array(&[16, 8, 8, 4])]
}

/// The config `script` gives for [`net`], and the notes it returned.
fn configured(script: &str) -> (QuantConfig, Vec<String>) {
    let m = net();
    let layers: Vec<String> = m
        .walk(m.top())
        .into_iter()
        .filter_map(|o| m.attr(o, "layer").and_then(Attribute::as_str))
        .map(|l| format!("net/{l}"))
        .collect();
    let mut cfg = QuantConfig::default();
    cfg.calibration.calibset_size = 16;
    let notes = apply_script(&mut cfg, "t.alls", script, &layers, &BTreeMap::new())
        .unwrap_or_else(|e| panic!("script applies: {e}"));
    (cfg, notes)
}

/// Prepares and lowers [`net`] with `script`: (annotated, lowered, what prepare decided).
fn quantized(script: &str) -> (Module, Module, Prepared, QuantConfig) {
    let (cfg, _) = configured(script);
    let mut m = net();
    let p = prepare(&mut m, &data(), &cfg).expect("prepares");
    let mut l = m.clone();
    lower(&mut l).expect("lowers");
    (m, l, p, cfg)
}

/// Quantized type of every q op of `layer`, in block order.
fn types_of(m: &Module, layer: &str) -> Vec<(String, QuantType)> {
    m.walk(m.top())
        .into_iter()
        .filter(|&o| m.attr(o, "layer").and_then(Attribute::as_str) == Some(layer))
        .filter_map(|o| {
            QuantType::parse(m.value_type(m.result(o, 0)))
                .map(|t| (m.op(o).name_str().to_owned(), t))
        })
        .collect()
}

fn result_storage(m: &Module, layer: &str) -> Storage {
    types_of(m, layer).last().expect("lowered").1.storage()
}

/// Kernel type of a lowered conv.
fn kernel_type(m: &Module, layer: &str) -> QuantType {
    let op = m
        .walk(m.top())
        .into_iter()
        .find(|&o| {
            m.op(o).name_str() == "q.conv2d"
                && m.attr(o, "layer").and_then(Attribute::as_str) == Some(layer)
        })
        .expect("conv lowered");
    QuantType::parse(m.value_type(m.op(op).operands()[1])).expect("quantized kernel")
}

/// The report of an annotated module (lowered here, as `hailo optimize` lowers it).
fn report(annotated: &Module, p: &Prepared) -> hailo_har::QuantReport {
    let lowered = hailo_quantizer::infer::lowered(annotated)
        .expect("lowers")
        .expect("annotated");
    build_report(annotated, &lowered, p, 16, 16, &data()).expect("report")
}

fn output_snr(annotated: &Module, p: &Prepared) -> f64 {
    report(annotated, p).output_snr_db[0].expect("finite")
}

#[test]
fn sixteen_bit_output_layer_raises_only_the_layer_feeding_it() {
    let (a8, l8, p8, _) = quantized("");
    let (a16, l16, p16, _) =
        quantized("quantization_param(output_layer1, precision_mode=a16_w16)\n");
    assert_eq!(result_storage(&l8, "conv4"), Storage::U8);
    assert_eq!(result_storage(&l16, "conv4"), Storage::U16);
    for l in ["conv1", "conv2", "conv3"] {
        assert_eq!(result_storage(&l16, l), Storage::U8, "{l}");
    }
    // Weights keep their own precision: the output layer has none.
    assert_eq!(kernel_type(&l16, "conv4").storage(), Storage::I8);
    // The output now has 16-bit resolution: far more than 256 distinct values.
    let distinct = |m: &Module| {
        let out = Executor::new(m, GraphRef::First)
            .expect("emulation")
            .run(&data())
            .expect("runs");
        let mut v: Vec<u32> = out[0].iter().map(|x| x.to_bits()).collect();
        v.sort_unstable();
        v.dedup();
        v.len()
    };
    assert!(distinct(&l8) <= 256);
    assert!(distinct(&l16) > 2000, "{}", distinct(&l16));
    let (s8, s16) = (output_snr(&a8, &p8), output_snr(&a16, &p16));
    assert!(s16 > s8, "a8 output {s8:.2} dB, a16 output {s16:.2} dB");
}

#[test]
fn three_part_modes_set_input_and_output_bits_separately() {
    let (_, l, _, _) = quantized(
        "quantization_param(conv4, precision_mode=a8_w8_a16)\nquantization_param(conv2, precision_mode=a16_w8_a8)\n",
    );
    // a8_w8_a16: 8-bit input straight from conv3, 8-bit weights, 16-bit result.
    let conv4 = types_of(&l, "conv4");
    assert_eq!(conv4.len(), 1, "{conv4:?}");
    assert_eq!(conv4[0].1.storage(), Storage::U16);
    assert_eq!(kernel_type(&l, "conv4").storage(), Storage::I8);
    // a16_w8_a8: conv1's 8-bit result is converted to 16 bits first, the result is 8-bit.
    let conv2 = types_of(&l, "conv2");
    let names: Vec<&str> = conv2.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(names, ["q.requantize", "q.conv2d"]);
    assert_eq!(conv2[0].1.storage(), Storage::U16);
    assert_eq!(conv2[1].1.storage(), Storage::U8);
    assert_eq!(result_storage(&l, "conv1"), Storage::U8);
}

#[test]
fn auto_16bit_ratio_takes_the_most_sensitive_layers_until_met() {
    let total: u64 = SIZES.iter().map(|s| s.1).sum();
    for r in [0.04, 0.3, 0.6] {
        let (_, l, p, _) = quantized(&format!(
            "model_optimization_config(compression_params, auto_16bit_weights_ratio={r})\n"
        ));
        assert!(!p.auto_16bit.is_empty());
        let size = |l: &str| SIZES.iter().find(|s| s.0 == l).expect("known").1;
        let w16: u64 = SIZES
            .iter()
            .filter(|s| kernel_type(&l, s.0).storage() == Storage::I16)
            .map(|s| s.1)
            .sum();
        let chosen: u64 = p.auto_16bit.iter().map(|l| size(l)).sum();
        assert_eq!(
            w16, chosen,
            "r = {r}: 16-bit kernels are exactly the chosen layers"
        );
        assert!(w16 as f64 >= r * total as f64, "r = {r}: {w16} of {total}");
        let last = size(p.auto_16bit.last().expect("chosen"));
        assert!(
            ((w16 - last) as f64) < r * total as f64,
            "r = {r}: not minimal"
        );
        // Chosen layers are the most sensitive: their 8-bit SNR is at most any other's.
        let snr = |l: &str| {
            p.sensitivity_16bit
                .iter()
                .find(|s| s.0 == l)
                .expect("scored")
                .1
        };
        let worst_kept = SIZES
            .iter()
            .filter(|s| !p.auto_16bit.iter().any(|c| c == s.0))
            .map(|s| snr(s.0))
            .fold(f64::INFINITY, f64::min);
        for c in &p.auto_16bit {
            assert!(
                snr(c) <= worst_kept,
                "r = {r}: {c} is less sensitive than a kept layer"
            );
            assert_eq!(result_storage(&l, c), Storage::U16);
        }
    }
}

#[test]
fn compression_level_is_read_and_reverted_on_a_small_network() {
    let (cfg, _) = configured("model_optimization_flavor(compression_level=3)\n");
    assert_eq!(cfg.compression_level, 3);
    let (_, l, p, _) = quantized("model_optimization_flavor(compression_level=3)\n");
    assert!(p.auto_4bit.is_empty());
    assert!(
        p.notes
            .iter()
            .any(|n| n.contains("compression_level=3 is reverted to 0")),
        "{:?}",
        p.notes
    );
    assert!(SIZES
        .iter()
        .all(|s| kernel_type(&l, s.0).storage() == Storage::I8));
    // An explicit ratio wins over the level, as the guide's resnet_v1_18 example does.
    let (_, _, p, _) = quantized(
        "model_optimization_flavor(compression_level=3)\nmodel_optimization_config(compression_params, auto_4bit_weights_ratio=0.5)\n",
    );
    assert!(!p.auto_4bit.is_empty() && p.notes.is_empty(), "{p:?}");
}

/// Distinct kernel scales of conv3, its kernel SNR and its on-layer SNR in the report.
fn groups_run(n: usize) -> (usize, f64, f64) {
    let (a, l, p, _) = quantized(&format!(
        "quantization_param(conv3, quantization_groups={n})\n"
    ));
    let QuantType::PerAxis { scales, .. } = kernel_type(&l, "conv3") else {
        panic!("per-axis kernel")
    };
    let mut distinct: Vec<u64> = scales.iter().map(|s| s.to_bits()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    // Channels sharing a scale have neighbouring ranges: 2c and 2c+1 are scaled alike.
    if n == 4 {
        for g in 0..4 {
            let run: Vec<f64> = (4 * g..4 * g + 4).map(|c| scales[c]).collect();
            assert!(run.iter().all(|&s| s == run[0]), "group {g}: {run:?}");
        }
    }
    // Kernel SNR: the float kernel against codes × their channel's scale.
    let w = net().resources.get("w3").expect("w3").to_f32();
    let blob = l.resources.get("conv3.kernel_q").expect("kernel codes");
    let (mut sig, mut noise) = (0.0f64, 0.0f64);
    for (i, c) in blob.bytes.chunks_exact(4).enumerate() {
        let q = i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64 * scales[i % 16];
        let x = f64::from(w[i]);
        sig += x * x;
        noise += (x - q) * (x - q);
    }
    let kernel_snr = 10.0 * (sig / noise).log10();
    let r = report(&a, &p);
    let snr = r
        .layers
        .iter()
        .find(|x| x.layer == "conv3")
        .and_then(|x| x.partial_snr_db)
        .expect("finite");
    (distinct.len(), kernel_snr, snr)
}

#[test]
fn quantization_groups_give_distinct_scales_and_better_snr() {
    let (d1, k1, s1) = groups_run(1);
    let (d4, k4, s4) = groups_run(4);
    assert_eq!((d1, d4), (1, 4));
    // One scale gives all 16 channels the top channel's noise (16σ²); four groups leave it
    // on the top four only (≈ 4σ²·(1 + 1/16 + …)): 10·log10(16 / 4.3) ≈ 5.7 dB.
    assert!(
        k4 > k1 + 4.5,
        "kernel: 1 group {k1:.2} dB, 4 groups {k4:.2} dB"
    );
    // The layer output also carries upstream and activation noise, so its gain is smaller.
    assert!(
        s4 > s1 + 1.0,
        "layer: 1 group {s1:.2} dB, 4 groups {s4:.2} dB"
    );
}

#[test]
fn quantization_groups_reject_depthwise_layers() {
    let text = common::FOUR_CONVS.replace(
        "%w2 = hl.const dense_resource<w2> : tensor<1x1x12x8xf32>\n    %2 = hl.conv2d %1, %w2 {layer = \"conv2\", activation = \"relu\"} : tensor<1x8x8x8xf32>",
        "%w2 = hl.const dense_resource<w2> : tensor<3x3x1x12xf32>\n    %2 = hl.depthwise_conv2d %1, %w2 {layer = \"conv2\", activation = \"relu\", padding = \"SAME\"} : tensor<1x8x8x12xf32>",
    ).replace("tensor<3x3x8x16xf32>", "tensor<3x3x12x16xf32>");
    let mut m = module(
        &text,
        &[
            ("w1", 432, 0.3),
            ("w2", 108, 0.3),
            ("w3", 1728, 0.2),
            ("w4", 64, 0.3),
        ],
        7,
    );
    assert_eq!(
        weighted_layers(
            &m,
            hailo_quantizer::optimize::first_graph(&m).expect("graph")
        )
        .len(),
        4
    );
    let mut cfg = QuantConfig::default();
    cfg.calibration.calibset_size = 16;
    cfg.quant_groups.insert("conv2".into(), 2);
    let e = prepare(&mut m, &data(), &cfg).unwrap_err().to_string();
    assert!(
        e.contains("layer 'conv2': quantization_groups=2 needs a conv or dense layer"),
        "{e}"
    );
}
