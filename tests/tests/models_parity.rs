//! Every model of `shared/models`, converted to `hl` and run by the interpreter, matches its
//! reference outputs within rtol 1e-4 / atol 1e-4: the ONNX models onnxruntime's
//! (`<model>_ref.npz`, 4 samples stored NCHW), the TFLite model LiteRT's (stored NHWC).

use hailo_executor::Executor;
use hailo_tests::{compare, models_dir, onnx_interpreter, read_f32_npz, to_nchw, to_nhwc};

fn check(model: &str) {
    let interp = onnx_interpreter(&format!("{model}.onnx")).unwrap_or_else(|e| panic!("{e}"));
    check_with(model, &interp, &format!("{model}_ref.npz"), true);
}

/// Runs the reference inputs (NCHW when `nchw`) through `interp` and compares the outputs.
fn check_with(model: &str, interp: &Executor, reference: &str, nchw: bool) {
    let layout = |x: &ndarray::ArrayD<f32>,
                  f: fn(&ndarray::ArrayD<f32>) -> ndarray::ArrayD<f32>| {
        if nchw {
            f(x)
        } else {
            x.clone()
        }
    };
    let reference = read_f32_npz(reference).unwrap_or_else(|e| panic!("{e}"));
    let find = |name: &str| {
        reference
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, a)| a)
            .unwrap_or_else(|| panic!("{model}_ref.npz has no array '{name}'"))
    };
    let inputs: Vec<_> = interp
        .inputs()
        .iter()
        .map(|i| layout(find(i.original_name.as_deref().unwrap_or(&i.name)), to_nhwc))
        .collect();
    let outputs = interp
        .run(&inputs)
        .unwrap_or_else(|e| panic!("{model}: {e}"));
    for (info, out) in interp.outputs().iter().zip(&outputs) {
        let name = info.original_name.as_deref().unwrap_or(&info.name);
        let expected = find(name);
        // Rank-4 outputs are NHWC in hl and NCHW in the reference.
        let actual = if expected.ndim() == 4 {
            to_nchw(out)
        } else {
            out.clone()
        };
        let a = compare(&actual, expected, 1e-4, 1e-4)
            .unwrap_or_else(|e| panic!("{model} output '{name}': {e}"));
        eprintln!(
            "{model} output '{name}': max abs error {:.3e}, max rel error {:.3e}",
            a.max_abs, a.max_rel
        );
        assert_eq!(
            a.violations, 0,
            "{model} output '{name}': {a:?} outside rtol 1e-4 / atol 1e-4"
        );
    }
}

#[test]
fn digits_cnn_opset13() {
    check("digits_cnn_opset13");
}

#[test]
fn digits_cnn_opset17() {
    check("digits_cnn_opset17");
}

#[test]
fn digits_mbv2() {
    check("digits_mbv2");
}

#[test]
fn resnet18() {
    check("resnet18");
}

#[test]
fn mobilenet_v2() {
    check("mobilenet_v2");
}

#[test]
fn squeezenet1_1() {
    check("squeezenet1_1");
}

#[test]
fn yolo_like_320() {
    check("yolo_like_320");
}

#[test]
fn digits_cnn_tflite() {
    let path = models_dir().join("digits_cnn.tflite");
    let graph = hailo_tflite::read_tflite_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let (module, _) =
        hailo_tflite::to_hl::convert(&graph, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let interp = Executor::new(&module, "main").unwrap_or_else(|e| panic!("{e}"));
    check_with(
        "digits_cnn_tflite",
        &interp,
        "digits_cnn_tflite_ref.npz",
        false,
    );
}
