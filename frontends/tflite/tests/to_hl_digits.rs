//! `digits_cnn.tflite` → `hl`: the IR verifies, equals the ONNX digits model's `hl` IR up to
//! names and locations (op sequence, attributes other than names, types, and weights within
//! the tolerance of two BatchNorm-folding exporters), and the interpreter reproduces the
//! LiteRT reference outputs.

mod common;

use hailo_executor::Executor;
use hailo_ir::{print_module, Attribute, Context, Module, PrintOptions};
use hailo_tflite::to_hl::{convert, ConversionReport, ConvertOptions, NodeFate};
use ndarray::{ArrayD, Axis};

fn context() -> Context {
    let mut ctx = Context::new();
    ctx.register(hailo_dialect_hl::dialect());
    ctx
}

fn tflite_digits() -> (Module, ConversionReport) {
    let g = hailo_tflite::read_tflite_file(&common::shared_model("digits_cnn.tflite"))
        .expect("digits_cnn.tflite reads");
    let opts = ConvertOptions {
        net_name: Some("digits".into()),
        ..Default::default()
    };
    convert(&g, &opts).expect("digits_cnn.tflite converts")
}

fn onnx_digits() -> Module {
    let model = hailo_onnx::load(common::shared_model("digits_cnn_opset13.onnx")).expect("loads");
    hailo_onnx::to_hl::convert(&model, &hailo_onnx::to_hl::ConvertOptions::default())
        .expect("ONNX digits converts")
        .module
}

/// One op of the graph body, without names and locations: op name, result types, operand
/// positions (as indices of defining ops), attributes other than `layer`/`original_name`,
/// and for constants their type and values.
#[derive(Debug)]
struct Shape {
    name: &'static str,
    results: Vec<String>,
    operands: Vec<usize>,
    attrs: Vec<(String, String)>,
    values: Option<Vec<f32>>,
}

fn structure(m: &Module) -> Vec<Shape> {
    let body = m.block_ops(m.body());
    let graph = body[0];
    let block = m.region(m.op(graph).regions()[0]).blocks()[0];
    let ops = m.block_ops(block);
    let index = |v| {
        m.defining_op(v)
            .and_then(|d| ops.iter().position(|&o| o == d))
            .unwrap_or(usize::MAX)
    };
    ops.iter()
        .map(|&o| {
            let op = m.op(o);
            let mut attrs = Vec::new();
            let mut values = None;
            for (k, a) in op.attrs() {
                let key = k.as_str().to_string();
                if key == "layer" || key == "original_name" {
                    continue;
                }
                match a {
                    Attribute::DenseResource { key: r, ty } => {
                        values = m.resources.get(r.as_str()).map(|b| b.to_f32());
                        attrs.push((key, format!("resource {ty}")));
                    }
                    other => attrs.push((key, format!("{other:?}"))),
                }
            }
            Shape {
                name: op.name_str(),
                results: op
                    .results()
                    .iter()
                    .map(|&r| format!("{}", m.value_type(r)))
                    .collect(),
                operands: op.operands().iter().map(|&v| index(v)).collect(),
                attrs,
                values,
            }
        })
        .collect()
}

#[test]
fn digits_converts_and_verifies() {
    let (m, report) = tflite_digits();
    let ctx = context();
    if let Err(diags) = hailo_ir::verifier::verify(&m, &ctx, m.top()) {
        panic!("digits hl IR fails verification: {diags:?}");
    }
    let text = print_module(
        &m,
        &ctx,
        PrintOptions {
            elide_resources: true,
            ..Default::default()
        },
    );
    assert!(text.contains("builtin.module @digits"), "{text}");
    assert!(text.contains(r#"hl.conv2d %0, %1, %2 {activation = "relu", dilations = [1, 1], groups = 1, layer = "conv1", padding = "EXPLICIT", pads = [1, 1, 1, 1], strides = [2, 2]} : tensor<1x16x16x32xf32>"#), "{text}");
    // Layer names in Hailo style and the pad folded into the first two convs.
    let layers: Vec<String> = report.nodes.iter().flat_map(|n| n.layers.clone()).collect();
    assert_eq!(
        layers,
        ["conv1", "conv1", "conv2", "conv2", "conv3", "maxpool1", "avgpool1", "reshape1", "fc1"]
    );
    assert_eq!(report.nodes[0].op_type, "PAD");
    assert_eq!(report.nodes[0].fate, NodeFate::Fused);
    assert_eq!(report.inputs[0].original_name, "serving_default_input:0");
    assert_eq!(report.outputs[0].layer, "output_layer1");
    assert_eq!(report.outputs[0].shape, [1, 10]);
    // Locations keep the TFLite tensor names: conv1 is fused from its conv and the PAD.
    assert!(
        text.contains(r#"loc(fused["digits_cnn_1/relu1_1/Relu;"#),
        "{text}"
    );
    // Deterministic.
    let again = print_module(&tflite_digits().0, &ctx, PrintOptions::default());
    assert_eq!(print_module(&m, &ctx, PrintOptions::default()), again);
}

#[test]
fn digits_hl_equals_the_onnx_digits_hl_up_to_names() {
    let (t, _) = tflite_digits();
    let o = onnx_digits();
    let (ts, os) = (structure(&t), structure(&o));
    // input, 3 x (kernel, bias, conv), maxpool, global avgpool, reshape, kernel, bias, dense,
    // output, return.
    assert_eq!(ts.len(), 18);
    let sig = |s: &[Shape]| -> Vec<String> {
        s.iter()
            .map(|x| format!("{} {:?} {:?} {:?}", x.name, x.results, x.operands, x.attrs))
            .collect()
    };
    assert_eq!(sig(&ts), sig(&os));
    // Weights: same trained network, BatchNorm folded by two different exporters.
    for (a, b) in ts.iter().zip(&os) {
        if let (Some(va), Some(vb)) = (&a.values, &b.values) {
            assert_eq!(va.len(), vb.len());
            let worst = va
                .iter()
                .zip(vb)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max);
            assert!(worst < 1e-4, "{} weights differ by {worst}", a.name);
        }
    }
}

#[test]
fn digits_interpreter_matches_litert_reference() {
    let (m, _) = tflite_digits();
    let interp = Executor::new(&m, "main").expect("interpreter prepares the digits graph");
    let npz = hailo_npz::read_npz(common::shared_model("digits_cnn_tflite_ref.npz")).expect("ref");
    let get = |k: &str| -> ArrayD<f32> {
        npz.iter()
            .find(|(n, _)| n == k)
            .map(|(_, a)| a.to_f32())
            .unwrap_or_else(|| panic!("{k} in reference"))
    };
    let x = get("serving_default_input:0");
    let want = get("StatefulPartitionedCall_1:0");
    assert_eq!(x.shape(), [4, 32, 32, 3]);
    for s in 0..4 {
        let xi = x.index_axis(Axis(0), s).insert_axis(Axis(0)).to_owned();
        let got = interp.run(&[xi]).expect("runs");
        let wi = want.index_axis(Axis(0), s);
        assert_eq!(got[0].shape(), [1, 10]);
        for (g, w) in got[0].iter().zip(wi.iter()) {
            assert!(
                (g - w).abs() <= 1e-4 + 1e-4 * w.abs(),
                "sample {s}: {g} vs {w}"
            );
        }
    }
}
