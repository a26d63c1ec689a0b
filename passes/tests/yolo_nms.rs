//! `hl-nms-postprocess` on a real detector: `yolo_like_320.onnx` (YOLOv5n-shaped, three raw
//! heads) parsed, given a YOLOv5 NMS config, and run by the interpreter on real images. The
//! detections must be those of an independent reference (`gen_golden.py yolo`: onnxruntime's
//! raw heads decoded in numpy, `cv2.dnn.NMSBoxes` per class): the same set, boxes within 1e-4.
//! With the model zoo's `change_output_activation(sigmoid)` before `nms_postprocess` (the heads
//! output sigmoids), the detections must be the same: the sigmoid is applied once.

use hailo_executor::Executor;
use hailo_ir::pass::{Instrumentation, OpPassManager};
use hailo_ir::Context;
use hailo_npz::NpyArray;
use ndarray::{ArrayD, Axis, Ix4};
use std::path::{Path, PathBuf};

fn here() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn npz(path: &Path) -> Vec<(String, NpyArray)> {
    hailo_npz::read_npz(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn get<'a>(arrays: &'a [(String, NpyArray)], key: &str) -> &'a NpyArray {
    &arrays
        .iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("reference has no '{key}'"))
        .1
}

fn ints(a: &NpyArray) -> Vec<usize> {
    a.to_f32().iter().map(|&v| v as usize).collect()
}

/// The model's NHWC input for `images`: RGB uint8 -> x / 255.
fn batch(images: &[usize]) -> ArrayD<f32> {
    let calib = npz(&here().join("../../shared/models/calib_image_like_320.npz"));
    let all = get(&calib, "images").to_f32();
    all.select(Axis(0), images).mapv(|v| v / 255.0)
}

/// The model after `before` (passes, comma-terminated, or empty) and `hl-nms-postprocess`.
fn postprocessed_model(before: &str) -> hailo_ir::Module {
    let path = here().join("../../shared/models/yolo_like_320.onnx");
    let onnx = hailo_onnx::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut m = hailo_onnx::to_hl::convert(&onnx, &Default::default())
        .expect("the model converts")
        .module;
    let mut ctx = Context::new();
    ctx.register(hailo_ir::builtin::dialect());
    ctx.register(hailo_dialect_hl::dialect());
    let config = here().join("tests/golden/yolo_like_320_nms.json");
    let pipeline = format!(
        "builtin.module({before}hl-nms-postprocess{{config-path={} meta-arch=yolov5 engine=cpu}})",
        config.display()
    );
    let mut pm = OpPassManager::parse(&pipeline, &hailo_passes::registry()).expect("pipeline");
    let mut inst = Instrumentation {
        verify_each: true,
        ..Instrumentation::default()
    };
    let top = m.top();
    pm.run(&mut m, &ctx, top, &mut inst).expect("the pass runs");
    m
}

#[test]
fn yolov5_nms_on_real_images_matches_numpy_and_opencv() {
    let reference = npz(&here().join("tests/golden/yolo_like_320_nms.npz"));
    let images = ints(get(&reference, "images"));
    let index = ints(get(&reference, "index"));
    let boxes = get(&reference, "boxes").to_f32();
    let scores = get(&reference, "scores").to_f32();

    let m = postprocessed_model("");
    let out = Executor::new(&m, "main")
        .expect("plan")
        .run(&[batch(&images)])
        .expect("runs");
    assert_eq!(
        out.len(),
        1,
        "the heads' outputs are replaced by one NMS output"
    );
    let det = out[0].view().into_dimensionality::<Ix4>().expect("rank 4");
    assert_eq!(det.dim(), (images.len(), 80, 5, 100));

    // Every reference detection is in its slot; every other slot is empty (zero score).
    let mut expected = ndarray::Array3::<bool>::from_elem((images.len(), 80, 100), false);
    let (mut worst_box, mut worst_score) = (0.0f32, 0.0f32);
    for (k, ix) in index.chunks(3).enumerate() {
        let (b, c, rank) = (ix[0], ix[1], ix[2]);
        expected[[b, c, rank]] = true;
        let score = det[[b, c, 4, rank]];
        assert!(
            score > 0.0,
            "image {b} class {c}: reference detection #{rank} missing"
        );
        for r in 0..4 {
            worst_box = worst_box.max((det[[b, c, r, rank]] - boxes[[k, r]]).abs());
        }
        worst_score = worst_score.max((score - scores[k]).abs());
    }
    let extra = expected
        .indexed_iter()
        .filter(|&((b, c, s), &want)| !want && det[[b, c, 4, s]] != 0.0)
        .count();
    assert_eq!(extra, 0, "detections the reference does not have");
    assert!(worst_box < 1e-4, "max box difference {worst_box}");
    assert!(worst_score < 1e-5, "max score difference {worst_score}");

    // The case exercises thresholding and suppression: boxes survive, some are suppressed,
    // and the image without detections yields none.
    let candidates = get(&reference, "candidates").to_f32();
    let above: f32 = candidates.sum();
    let kept = index.len() / 3;
    assert!(
        kept > 100 && (kept as f32) < above,
        "{kept} kept of {above}"
    );
    assert_eq!(candidates.index_axis(Axis(0), 3).sum(), 0.0);
    println!("{kept} detections of {above} candidates; max |box diff| {worst_box:e}, max |score diff| {worst_score:e}");
}

/// The detections of `m` on `images`.
fn detect(m: &hailo_ir::Module, images: &[usize]) -> ndarray::Array4<f32> {
    let out = Executor::new(m, "main")
        .expect("plan")
        .run(&[batch(images)])
        .expect("runs");
    out[0]
        .view()
        .into_dimensionality::<Ix4>()
        .expect("rank 4")
        .to_owned()
}

#[test]
fn sigmoid_heads_from_change_output_activation_are_not_activated_twice() {
    let reference = npz(&here().join("tests/golden/yolo_like_320_nms.npz"));
    let images = ints(get(&reference, "images"));
    let raw = detect(&postprocessed_model(""), &images);
    let m = postprocessed_model("hl-change-output-activation{activation=sigmoid},");
    // The sigmoid is fused into the three head convs, and the NMS knows it.
    let ops = m.walk(m.top());
    let attr = |key: &str| {
        ops.iter()
            .filter_map(|&op| m.attr(op, key).cloned())
            .collect::<Vec<_>>()
    };
    let sigmoids = attr("activation")
        .iter()
        .filter(|a| a.as_str() == Some("sigmoid"))
        .count();
    assert_eq!(sigmoids, 3);
    let applied: Vec<Option<Vec<i64>>> = attr("sigmoid_applied")
        .iter()
        .map(|a| a.as_i64_array())
        .collect();
    assert_eq!(applied, vec![Some(vec![0, 1, 2])]);
    let activated = detect(&m, &images);
    let found = raw
        .slice(ndarray::s![.., .., 4, ..])
        .iter()
        .filter(|&&s| s > 0.0)
        .count();
    assert!(found > 100, "only {found} detections");
    let worst = raw
        .iter()
        .zip(&activated)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst < 1e-5,
        "max |difference| {worst} over {found} detections"
    );
    println!("{found} detections; max |difference| with sigmoid heads {worst:e}");
}
