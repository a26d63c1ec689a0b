//! The interpreter runs the layers the model-modification passes add
//! (`hl.color_conversion`, `hl.nms`): the pass output, evaluated end to end,
//! equals the kernels applied by hand to the unmodified model's tensors.

use hailo_executor::kernels::nms::{nms_postprocess, MetaArch, NmsParams};
use hailo_executor::Executor;
use hailo_ir::pass::{Instrumentation, OpPassManager};
use hailo_ir::{parse_module, Module};
use ndarray::{ArrayD, IxDyn};

fn apply(m: &mut Module, pipeline: &str) {
    let ctx = hailo_tools::context::full_context(false);
    let mut pm =
        OpPassManager::parse(pipeline, &hailo_passes::registry()).expect("pipeline parses");
    let mut inst = Instrumentation {
        verify_each: true,
        ..Instrumentation::default()
    };
    let top = m.top();
    pm.run(m, &ctx, top, &mut inst).expect("passes run");
}

fn module(text: &str) -> Module {
    parse_module(&hailo_tools::context::full_context(false), "t.hir", text).expect("test IR parses")
}

/// Deterministic pseudo-random values in [lo, hi).
fn ramp(shape: &[usize], lo: f32, hi: f32) -> ArrayD<f32> {
    let n: usize = shape.iter().product();
    let v = (0..n)
        .map(|i| lo + (hi - lo) * (((i * 7919) % 1009) as f32 / 1009.0))
        .collect();
    ArrayD::from_shape_vec(IxDyn(shape), v).expect("shape")
}

#[test]
fn yuv_to_rgb_input_conversion_runs() {
    let mut m = module(
        "builtin.graph @main(%x: tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %i = hl.input_layer %x {layer = \"input_layer1\"} : tensor<1x2x3x3xf32>
  %o = hl.output_layer %i {layer = \"output_layer1\"} : tensor<1x2x3x3xf32>
  builtin.return %o : tensor<1x2x3x3xf32>
}",
    );
    apply(
        &mut m,
        "builtin.module(hl-input-conversion{conversion=yuv_to_rgb})",
    );
    let conv = m
        .walk(m.top())
        .into_iter()
        .find(|&o| m.op(o).name_str() == "hl.color_conversion")
        .expect("added");
    let k = m
        .attr(conv, "kernel")
        .and_then(hailo_ir::Attribute::as_f64_array)
        .expect("kernel");
    let b = m
        .attr(conv, "bias")
        .and_then(hailo_ir::Attribute::as_f64_array)
        .expect("bias");
    let x = ramp(&[1, 2, 3, 3], 16.0, 235.0);
    let y = Executor::new(&m, "main")
        .expect("plan")
        .run(std::slice::from_ref(&x))
        .expect("runs");
    for (px, out) in x
        .as_slice()
        .unwrap()
        .chunks(3)
        .zip(y[0].as_slice().unwrap().chunks(3))
    {
        for c in 0..3 {
            let want: f64 = (0..3).map(|i| f64::from(px[i]) * k[i * 3 + c]).sum::<f64>() + b[c];
            assert!(
                (f64::from(out[c]) - want).abs() < 1e-3,
                "{} vs {want}",
                out[c]
            );
        }
    }
}

const YOLOV8: &str = include_str!("../../lit-tests/hl-passes/nms-postprocess.hir");

#[test]
fn nms_postprocess_runs_end_to_end() {
    let graph = YOLOV8.split("// -----").next().expect("first chunk");
    let mut m = module(graph);
    let x = ramp(&[1, 16, 16, 3], -1.0, 1.0);
    let heads = Executor::new(&m, "yolov8")
        .expect("plan")
        .run(std::slice::from_ref(&x))
        .expect("runs");
    apply(
        &mut m,
        "builtin.module(hl-nms-postprocess{meta-arch=yolov8 nms-scores-th=0.25})",
    );
    let got = Executor::new(&m, "yolov8")
        .expect("plan")
        .run(&[x])
        .expect("runs");
    assert_eq!(got[0].shape(), &[1, 2, 5, 100]);
    let views: Vec<_> = heads
        .iter()
        .map(|h| h.view().into_dimensionality().expect("rank 4"))
        .collect();
    let params = NmsParams {
        arch: MetaArch::Dfl,
        classes: 2,
        max_proposals_per_class: 100,
        score_threshold: 0.25,
        iou_threshold: 0.6,
        image_dims: [16, 16],
        strides: vec![4, 8],
        anchors: Vec::new(),
        regression_length: 16,
        centers_scale_factor: 10.0,
        bbox_dimensions_scale_factor: 5.0,
        background: None,
        sigmoid_applied: vec![],
    };
    let want = nms_postprocess(&views, &params).expect("kernel runs");
    assert!(
        want.iter().any(|&v| v > 0.25),
        "the input must produce some detections"
    );
    assert_eq!(got[0], want.into_dyn());
}
