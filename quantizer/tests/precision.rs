//! quantization.md §11 items 10 (automatic 4-bit weights by measured sensitivity, meeting
//! the weight-memory ratio) and 11 (16-bit modes and precision groups), on seeded synthetic
//! nets. A pass-through stub (no layer at 4 bits, everything at 8 bits) fails each.

mod common;

use common::{module, Rng};
use hailo_dialect_quant::{QuantType, Storage};
use hailo_ir::{Attribute, Module};
use hailo_quantizer::report::build_report;
use hailo_quantizer::{lower, prepare, Precision, QuantConfig};
use ndarray::ArrayD;

/// [`common::FOUR_CONVS`] with conv2's kernel planted on the 4-bit grid.
fn chain() -> Module {
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
    // conv2 on the symmetric 4-bit grid of each channel: codes in -7..=7, channel max 7·s.
    let mut rng = Rng(11);
    let grid: Vec<f32> = (0..96)
        .map(|i| {
            let k = if i < 8 {
                7
            } else {
                (rng.uniform() * 15.0) as i64 - 7
            };
            k as f32 * 0.05
        })
        .collect();
    m.resources.insert("w2", hailo_ir::Blob::from_f32(&grid));
    m
}

fn calib() -> Vec<ArrayD<f32>> {
    vec![Rng(3).array(&[16, 8, 8, 4])]
}

/// Weight bits of each weighted layer after lowering.
fn weight_bits(m: &Module) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for op in m.walk(m.top()) {
        if m.op(op).name_str() == "q.conv2d" {
            let k = m.op(op).operands()[1];
            let st = QuantType::parse(m.value_type(k))
                .expect("kernel quantized")
                .storage();
            let l = m
                .attr(op, "layer")
                .and_then(Attribute::as_str)
                .unwrap_or("");
            out.push((l.to_owned(), st.bits()));
        }
    }
    out
}

const SIZES: [(&str, u64); 4] = [
    ("conv1", 432),
    ("conv2", 96),
    ("conv3", 1152),
    ("conv4", 64),
];

/// (chosen layers, 4-bit SNR per layer, weight bits per lowered layer).
type RatioRun = (Vec<String>, Vec<(String, f64)>, Vec<(String, u32)>);

fn run_ratio(r: f64) -> RatioRun {
    let mut m = chain();
    let cfg = QuantConfig {
        auto_4bit_ratio: r,
        ..QuantConfig::default()
    };
    let mut cfg = cfg;
    cfg.calibration.calibset_size = 16;
    let p = prepare(&mut m, &calib(), &cfg).expect("prepares");
    lower(&mut m).expect("lowers");
    (p.auto_4bit, p.sensitivity, weight_bits(&m))
}

#[test]
fn auto_4bit_meets_the_ratio_with_the_least_sensitive_layers() {
    let total: u64 = SIZES.iter().map(|s| s.1).sum();
    for r in [0.05, 0.3, 0.5] {
        let (chosen, snr, bits) = run_ratio(r);
        // The planted on-grid layer is the least sensitive of all.
        assert_eq!(snr[0].0, "conv2", "{snr:?}");
        assert!(snr[0].1 > snr[1].1 + 20.0, "{snr:?}");
        assert_eq!(chosen[0], "conv2");
        let w4: u64 = bits
            .iter()
            .filter(|(_, b)| *b == 4)
            .map(|(l, _)| SIZES.iter().find(|s| s.0 == l).expect("known").1)
            .sum();
        let achieved = w4 as f64 / total as f64;
        assert!(achieved >= r, "r = {r}: achieved {achieved}");
        // Minimal: dropping the last chosen layer falls below the ratio.
        let last = SIZES
            .iter()
            .find(|s| s.0 == chosen[chosen.len() - 1])
            .expect("known")
            .1;
        assert!(
            ((w4 - last) as f64) < r * total as f64,
            "r = {r}: not minimal"
        );
        // Chosen layers are exactly the 4-bit layers and all more robust than the rest.
        let four: Vec<&String> = bits
            .iter()
            .filter(|(_, b)| *b == 4)
            .map(|(l, _)| l)
            .collect();
        assert_eq!(four.len(), chosen.len());
        let snr_of = |l: &str| snr.iter().find(|s| s.0 == l).expect("scored").1;
        let worst_chosen = chosen
            .iter()
            .map(|l| snr_of(l))
            .fold(f64::INFINITY, f64::min);
        for (l, _) in SIZES.iter().filter(|s| !chosen.iter().any(|c| c == s.0)) {
            assert!(
                snr_of(l) <= worst_chosen,
                "r = {r}: {l} is less sensitive than a chosen layer"
            );
        }
    }
}

#[test]
fn auto_4bit_edges() {
    let (chosen, _, bits) = run_ratio(0.0);
    assert!(chosen.is_empty());
    assert!(bits.iter().all(|(_, b)| *b == 8), "{bits:?}");
    let (chosen, _, bits) = run_ratio(1.0);
    assert_eq!(chosen.len(), 4);
    assert!(bits.iter().all(|(_, b)| *b == 4), "{bits:?}");
}

/// Two branches joined by a concat and by a shortcut add.
const BRANCHES: &str = r#"builtin.module @branches {
  builtin.graph @main(%arg0: tensor<1x6x6x3xf32>) -> (tensor<1x6x6x8xf32>, tensor<1x6x6x4xf32>) {
    %0 = hl.input_layer %arg0 {layer = "input_layer1"} : tensor<1x6x6x3xf32>
    %wa = hl.const dense_resource<wa> : tensor<1x1x3x4xf32>
    %a = hl.conv2d %0, %wa {layer = "conv_a"} : tensor<1x6x6x4xf32>
    %wb = hl.const dense_resource<wb> : tensor<1x1x3x4xf32>
    %b = hl.conv2d %0, %wb {layer = "conv_b", activation = "relu"} : tensor<1x6x6x4xf32>
    %c = hl.concat %a, %b {layer = "concat1", axis = 3} : tensor<1x6x6x8xf32>
    %wc = hl.const dense_resource<wc> : tensor<1x1x3x4xf32>
    %d = hl.conv2d %0, %wc {layer = "conv_c"} : tensor<1x6x6x4xf32>
    %wd = hl.const dense_resource<wd> : tensor<1x1x3x4xf32>
    %e = hl.conv2d %0, %wd {layer = "conv_d"} : tensor<1x6x6x4xf32>
    %f = hl.ew_add %d, %e {layer = "ew_add1"} : tensor<1x6x6x4xf32>
    %o1 = hl.output_layer %c {layer = "output_layer1"} : tensor<1x6x6x8xf32>
    %o2 = hl.output_layer %f {layer = "output_layer2"} : tensor<1x6x6x4xf32>
    builtin.return %o1, %o2 : tensor<1x6x6x8xf32>, tensor<1x6x6x4xf32>
  }
}
"#;

fn branches() -> Module {
    module(
        BRANCHES,
        &[
            ("wa", 12, 0.5),
            ("wb", 12, 0.5),
            ("wc", 12, 0.5),
            ("wd", 12, 2.0),
        ],
        5,
    )
}

/// Activation storage of each op's result, by layer.
fn result_storage(m: &Module, layer: &str) -> Storage {
    m.walk(m.top())
        .into_iter()
        .filter(|&o| m.attr(o, "layer").and_then(Attribute::as_str) == Some(layer))
        .filter_map(|o| QuantType::parse(m.value_type(m.result(o, 0))))
        .next_back()
        .expect("layer lowered")
        .storage()
}

#[test]
fn concat_and_shortcut_groups_take_a_single_precision() {
    let data = vec![Rng(9).array(&[8, 6, 6, 3])];
    for (sixteen, group) in [
        ("conv_a", ["conv_a", "conv_b", "concat1"]),
        ("conv_d", ["conv_c", "conv_d", "ew_add1"]),
    ] {
        let mut m = branches();
        let mut cfg = QuantConfig::default();
        cfg.calibration.calibset_size = 8;
        // The add stays a layer of its own (fused into a conv, it has the conv's precision).
        cfg.ew_add_fusing = false;
        cfg.precision.insert(sixteen.into(), Precision::A16W16);
        prepare(&mut m, &data, &cfg).expect("prepares");
        lower(&mut m).expect("lowers");
        for l in group {
            assert_eq!(
                result_storage(&m, l),
                Storage::U16,
                "{l} with {sixteen} at 16 bits"
            );
        }
        // The other group stays at 8 bits.
        let other = if sixteen == "conv_a" {
            "ew_add1"
        } else {
            "concat1"
        };
        assert_eq!(result_storage(&m, other), Storage::U8);
    }
}

#[test]
fn a16_w16_gains_over_40_db_on_layer() {
    let data = vec![Rng(4).array(&[8, 8, 8, 4])];
    let snr = |p: Precision| {
        let mut m = chain();
        let mut cfg = QuantConfig {
            default_precision: p,
            ..QuantConfig::default()
        };
        cfg.calibration.calibset_size = 8;
        let prepared = prepare(&mut m, &data, &cfg).expect("prepares");
        let lowered = hailo_quantizer::infer::lowered(&m)
            .expect("lowers")
            .expect("annotated");
        let r = build_report(&m, &lowered, &prepared, 8, 8, &data).expect("report");
        let conv1 = r.layers.iter().find(|l| l.layer == "conv1").expect("conv1");
        assert_eq!(conv1.weight_bits, Some(p.bits().1 as u32));
        assert_eq!(conv1.output_bits, p.bits().0 as u32);
        conv1.partial_snr_db.expect("finite SNR")
    };
    let (s8, s16) = (snr(Precision::A8W8), snr(Precision::A16W16));
    assert!(s16 - s8 >= 40.0, "a8_w8 {s8:.2} dB, a16_w16 {s16:.2} dB");
}
