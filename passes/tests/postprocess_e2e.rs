//! `hl-nms-postprocess` for CenterNet and YOLOv5-seg evaluated by the interpreter: the graph
//! after the pass gives what the post-process kernels give on the unmodified graph's outputs
//! (the kernels themselves are checked against numpy / OpenCV in `golden.rs`).

use hailo_executor::kernels::nms::{nms_postprocess, MetaArch, NmsParams};
use hailo_executor::kernels::postprocess_yolov5_seg::{yolov5_seg_postprocess, SegParams};
use hailo_executor::Executor;
use hailo_ir::pass::{Instrumentation, OpPassManager};
use hailo_ir::{parse_module, Context, Module};
use ndarray::{ArrayD, ArrayView4, IxDyn};
use std::path::PathBuf;

fn lit(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../lit-tests/hl-passes")
        .join(name)
}

fn ctx() -> Context {
    let mut c = Context::new();
    c.register(hailo_ir::builtin::dialect());
    c.register(hailo_dialect_hl::dialect());
    c
}

fn module(name: &str) -> Module {
    let text = std::fs::read_to_string(lit(name)).expect("lit test input");
    parse_module(&ctx(), name, &text).expect("parses")
}

fn apply(m: &mut Module, options: &str) {
    let pipeline = format!("builtin.module(hl-nms-postprocess{{{options}}})");
    let mut pm = OpPassManager::parse(&pipeline, &hailo_passes::registry()).expect("pipeline");
    let mut inst = Instrumentation {
        verify_each: true,
        ..Instrumentation::default()
    };
    let top = m.top();
    pm.run(m, &ctx(), top, &mut inst).expect("the pass runs");
}

/// Deterministic values in [lo, hi).
fn ramp(shape: &[usize], lo: f32, hi: f32) -> ArrayD<f32> {
    let n: usize = shape.iter().product();
    let v = (0..n)
        .map(|i| lo + (hi - lo) * (((i * 7919) % 1009) as f32 / 1009.0))
        .collect();
    ArrayD::from_shape_vec(IxDyn(shape), v).expect("shape")
}

fn run(m: &Module, graph: &str, x: &ArrayD<f32>) -> Vec<ArrayD<f32>> {
    Executor::new(m, graph)
        .expect("plan")
        .run(std::slice::from_ref(x))
        .expect("runs")
}

fn views(outs: &[ArrayD<f32>]) -> Vec<ArrayView4<'_, f32>> {
    outs.iter()
        .map(|h| h.view().into_dimensionality().expect("rank 4"))
        .collect()
}

fn params(arch: MetaArch, classes: usize, strides: Vec<usize>) -> NmsParams {
    NmsParams {
        arch,
        classes,
        max_proposals_per_class: 20,
        score_threshold: 0.1,
        iou_threshold: 0.6,
        image_dims: [32, 32],
        strides,
        anchors: Vec::new(),
        regression_length: 16,
        centers_scale_factor: 10.0,
        bbox_dimensions_scale_factor: 5.0,
        background: None,
        sigmoid_applied: vec![],
    }
}

#[test]
fn centernet_runs_end_to_end() {
    let mut m = module("nms-postprocess-centernet.hir");
    let x = ramp(&[1, 32, 32, 3], -2.0, 2.0);
    let heads = run(&m, "centernet", &x);
    let config = lit("Inputs/centernet_nms.json");
    apply(
        &mut m,
        &format!("config-path={} meta-arch=centernet", config.display()),
    );
    let got = run(&m, "centernet", &x);
    let want = nms_postprocess(&views(&heads), &params(MetaArch::CenterNet, 3, vec![4]))
        .expect("kernel runs");
    let found = want
        .slice(ndarray::s![0, .., 4, ..])
        .iter()
        .filter(|&&s| s > 0.0)
        .count();
    assert!(found > 3, "only {found} peaks");
    assert_eq!(got[0], want.into_dyn());
}

#[test]
fn yolov5_seg_runs_end_to_end() {
    let mut m = module("nms-postprocess-yolov5-seg.hir");
    let x = ramp(&[1, 32, 32, 3], -3.0, 3.0);
    let outs = run(&m, "seg", &x);
    let config = lit("Inputs/yolov5_seg_nms.json");
    apply(
        &mut m,
        &format!("config-path={} meta-arch=yolov5_seg", config.display()),
    );
    let got = run(&m, "seg", &x);
    let mut boxes = params(MetaArch::Yolov5, 2, vec![8, 16]);
    boxes.score_threshold = 0.25;
    boxes.iou_threshold = 0.45;
    boxes.max_proposals_per_class = 10;
    boxes.anchors = vec![
        vec![[6.0, 4.0], [10.0, 8.0], [8.0, 12.0]],
        vec![[12.0, 16.0], [24.0, 20.0], [20.0, 28.0]],
    ];
    let p = SegParams {
        boxes,
        max_total_proposals: 5,
        mask_threshold: 0.5,
    };
    let v = views(&outs);
    let want = yolov5_seg_postprocess(&v[..2], v[2], &p).expect("kernel runs");
    assert_eq!(got[0].shape(), &[1, 1, 5, 1030]);
    assert!(want[[0, 0, 0, 4]] > 0.25, "an instance is found");
    assert_eq!(got[0], want.into_dyn());
}
