//! Golden integer output of a small conv net: the lowered `q` IR (types, integer kernels'
//! multipliers, shifts, clamps) and the emulated output codes, pinned with insta. Any change
//! to ranges, rounding, rescale decomposition or kernels shows up here.

mod common;

use common::{module, print, Rng};
use hailo_dialect_quant::QuantType;
use hailo_executor::{Executor, GraphRef};
use hailo_ir::Attribute;
use hailo_quantizer::{quantize, QuantConfig};

const NET: &str = r#"builtin.module @golden {
  builtin.graph @main(%arg0: tensor<1x4x4x2xf32>) -> tensor<1x2x2x3xf32> {
    %0 = hl.input_layer %arg0 {layer = "input_layer1"} : tensor<1x4x4x2xf32>
    %w = hl.const dense_resource<w> : tensor<3x3x2x3xf32>
    %b = hl.const dense_resource<b> : tensor<3xf32>
    %1 = hl.conv2d %0, %w, %b {layer = "conv1", activation = "relu", padding = "SAME"} : tensor<1x4x4x3xf32>
    %2 = hl.maxpool %1 {layer = "maxpool1", kernel = [2, 2], strides = [2, 2], padding = "VALID"} : tensor<1x2x2x3xf32>
    %3 = hl.activation %2 {layer = "activation1", kind = "sigmoid"} : tensor<1x2x2x3xf32>
    %4 = hl.output_layer %3 {layer = "output_layer1"} : tensor<1x2x2x3xf32>
    builtin.return %4 : tensor<1x2x2x3xf32>
  }
}
"#;

#[test]
fn small_conv_net_integer_output() {
    let mut m = module(NET, &[("w", 54, 0.4), ("b", 3, 0.2)], 21);
    let calib = vec![Rng(1).array(&[8, 4, 4, 2])];
    let mut cfg = QuantConfig::default();
    cfg.calibration.calibset_size = 8;
    quantize(&mut m, &calib, &cfg).expect("quantizes");
    let held_out = vec![Rng(2).array(&[2, 4, 4, 2])];
    // The result type of each layer's last op turns its dequantized output back into codes.
    let mut types = std::collections::HashMap::new();
    for op in m.walk(m.top()) {
        if let (Some(l), Some(t)) = (
            m.attr(op, "layer").and_then(Attribute::as_str),
            m.op(op)
                .results()
                .first()
                .and_then(|&r| QuantType::parse(m.value_type(r))),
        ) {
            types.insert(l.to_owned(), t);
        }
    }
    let mut codes = Vec::new();
    let out = Executor::new(&m, GraphRef::First)
        .expect("prepares")
        .run_observed(&held_out, &mut |o| {
            let line = match types.get(o.layer) {
                Some(t) => {
                    let c: Vec<i64> = o
                        .value
                        .iter()
                        .map(|&v| (f64::from(v) / t.scale_at(0)).round() as i64 + t.zero_point())
                        .collect();
                    format!("{} codes: {c:?}", o.layer)
                }
                None => format!(
                    "{} f32: {:?}",
                    o.layer,
                    o.value
                        .iter()
                        .map(|v| format!("{v:.6}"))
                        .collect::<Vec<_>>()
                ),
            };
            codes.push(line);
            Ok(())
        })
        .expect("emulates");
    assert_eq!(out[0].shape(), &[2, 2, 2, 3]);
    insta::assert_snapshot!("golden_ir", print(&m));
    insta::assert_snapshot!("golden_layers", codes.join("\n"));
}
