//! Resuming a run after a weight change: on the shared mobilenet_v2 (its calibration images),
//! scaling one mid-network kernel and resuming from the recording of the unchanged model gives
//! bit for bit the outputs of a full run of the changed model, evaluating exactly the changed
//! layer and the ops downstream of it in every sub-batch; with nothing stale, nothing is
//! evaluated.

use hailo_executor::{Executor, GraphRef};
use hailo_ir::{Attribute, Blob, Module, OpId, Sym};
use ndarray::{ArrayD, Axis};
use rustc_hash::FxHashSet;
use std::path::Path;

fn models() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/models")
}

fn calib(n: usize) -> ArrayD<f32> {
    let arrays = hailo_npz::read_npz(models().join("calib_image_like_224.npz")).expect("npz");
    let (_, a) = arrays
        .into_iter()
        .find(|(k, _)| k.trim_end_matches(".npy") == "images")
        .expect("images");
    a.to_f32().slice_axis(Axis(0), (0..n).into()).to_owned()
}

/// Multiplies the kernel of the weighted op `conv` by 1.5.
fn scale_kernel(m: &mut Module, conv: OpId) {
    let kernel = m.op(conv).operands()[1];
    let def = m.defining_op(kernel).expect("constant kernel");
    let values = match m.attr(def, "value") {
        Some(Attribute::DenseResource { key, .. }) => {
            m.resources.get(key.as_str()).expect("blob").to_f32()
        }
        other => panic!("unexpected kernel attribute {other:?}"),
    };
    let scaled: Vec<f32> = values.iter().map(|v| v * 1.5).collect();
    m.resources.insert("scaled", Blob::from_f32(&scaled));
    let ty = m.value_type(kernel);
    let attr = Attribute::DenseResource {
        key: Sym::new("scaled"),
        ty,
    };
    m.set_attr(def, "value", attr);
}

/// `op` and the ops that read its results, transitively.
fn downstream(m: &Module, op: OpId) -> usize {
    let mut reached: FxHashSet<OpId> = std::iter::once(op).collect();
    for o in m.walk(m.top()) {
        let reads_reached = m
            .op(o)
            .operands()
            .iter()
            .any(|&v| m.defining_op(v).is_some_and(|d| reached.contains(&d)));
        if reads_reached && m.op(o).name_str() != "builtin.return" {
            reached.insert(o);
        }
    }
    reached.len()
}

/// The shared mobilenet_v2 in `hl`.
fn mobilenet_v2() -> Module {
    let onnx = hailo_onnx::load(models().join("mobilenet_v2.onnx")).expect("loads");
    hailo_onnx::to_hl::convert(&onnx, &Default::default())
        .expect("converts")
        .module
}

#[test]
fn resumed_run_equals_full_run_and_evaluates_only_what_follows() {
    let mut m = mobilenet_v2();
    // 24 images: more than one sub-batch at 224x224.
    let x = vec![calib(24)];
    let before = Executor::new(&m, GraphRef::First).expect("prepares");
    let first = before.run_recorded(&x).expect("runs");
    let (unchanged, recording) = (first.outputs, first.recording);
    assert!(recording.sub_batches() > 1, "{}", recording.sub_batches());

    let convs: Vec<OpId> = m
        .walk(m.top())
        .into_iter()
        .filter(|&o| m.op(o).name_str() == "hl.conv2d")
        .collect();
    let conv = convs[convs.len() / 2];
    scale_kernel(&mut m, conv);
    let after = Executor::new(&m, GraphRef::First).expect("prepares");
    let full = after.run(&x).expect("runs");
    assert_ne!(full, unchanged, "the kernel change changed nothing");
    let stale: FxHashSet<OpId> = std::iter::once(conv).collect();
    let resumed = after.run_resumed(&x, &recording, &stale).expect("resumes");
    assert_eq!(
        full, resumed.outputs,
        "resumed run differs from the full run"
    );
    assert_eq!(
        resumed.evaluated,
        downstream(&m, conv) * recording.sub_batches()
    );

    let nothing = after
        .run_resumed(&x, &resumed.recording, &FxHashSet::default())
        .expect("resumes");
    assert_eq!((nothing.evaluated, &nothing.outputs), (0, &full));
}

/// A run stopped after an op records the values up to it; a resumed run from that partial
/// recording evaluates what was not recorded and gives the full run's outputs.
#[test]
fn run_stopped_early_then_resumed_equals_full_run() {
    let mut m = mobilenet_v2();
    let x = vec![calib(12)];
    let recording = Executor::new(&m, GraphRef::First)
        .expect("prepares")
        .run_recorded(&x)
        .expect("runs")
        .recording;
    let convs: Vec<OpId> = m
        .walk(m.top())
        .into_iter()
        .filter(|&o| m.op(o).name_str() == "hl.conv2d")
        .collect();
    let (changed, stop) = (convs[convs.len() / 3], convs[2 * convs.len() / 3]);
    scale_kernel(&mut m, changed);
    let after = Executor::new(&m, GraphRef::First).expect("prepares");
    let full = after.run_recorded(&x).expect("runs");
    let stale: FxHashSet<OpId> = std::iter::once(changed).collect();
    let partial = after
        .run_resumed_until(&x, &recording, &stale, stop)
        .expect("resumes");
    assert!(partial.outputs.is_empty());
    assert!(partial.evaluated < downstream(&m, changed) * recording.sub_batches());
    let stop_out = m.result(stop, 0);
    assert_eq!(
        partial.recording.value(stop_out),
        full.recording.value(stop_out)
    );
    let rest = after
        .run_resumed(&x, &partial.recording, &FxHashSet::default())
        .expect("resumes");
    assert_eq!(rest.outputs, full.outputs);
    assert!(rest.evaluated > 0);
}

/// A plan built before a kernel change and re-prepared for the changed op computes what a plan
/// built after the change does; a run recorded up to an op and resumed from there with the
/// changed op stale gives the full run's outputs.
#[test]
fn reprepared_plan_equals_a_new_plan() {
    let mut m = mobilenet_v2();
    let x = vec![calib(4)];
    let mut plan = Executor::new(&m, GraphRef::First).expect("prepares");
    let convs: Vec<OpId> = m
        .walk(m.top())
        .into_iter()
        .filter(|&o| m.op(o).name_str() == "hl.conv2d")
        .collect();
    let conv = convs[convs.len() / 2];
    let partial = plan.run_recorded_until(&x, conv).expect("runs");
    assert!(partial.outputs.is_empty());
    let unchanged = plan.run(&x).expect("runs");
    scale_kernel(&mut m, conv);
    plan.reprepare(&m, conv).expect("re-prepares");
    let fresh = Executor::new(&m, GraphRef::First)
        .expect("prepares")
        .run(&x)
        .expect("runs");
    assert_ne!(fresh, unchanged, "the kernel change changed nothing");
    assert_eq!(plan.run(&x).expect("runs"), fresh);
    let stale: FxHashSet<OpId> = std::iter::once(conv).collect();
    let resumed = plan
        .run_resumed(&x, &partial.recording, &stale)
        .expect("resumes");
    assert_eq!(resumed.outputs, fresh);
    let err = plan.reprepare(&m, m.top()).expect_err("not a step");
    assert!(
        err.to_string().contains("is not a step of this plan"),
        "{err}"
    );
}
