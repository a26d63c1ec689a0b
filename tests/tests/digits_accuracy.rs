//! The digits models' predictions on `digits_test.npz` (359 samples, NHWC `x_nhwc`, labels
//! `y`) equal onnxruntime's (stored in `tests/data/<model>_ort_pred.npy`, written by
//! `tests/data/ort_digits_predictions.py`) and reach the documented accuracy.

use hailo_npz::read_npy;
use hailo_tests::{onnx_interpreter, read_f32_npz};
use ndarray::{ArrayD, Axis};
use std::path::Path;

fn predictions(model: &str, x: &ArrayD<f32>, batch: usize) -> Vec<i64> {
    let interp = onnx_interpreter(&format!("{model}.onnx")).unwrap_or_else(|e| panic!("{e}"));
    let mut preds = Vec::new();
    for start in (0..x.shape()[0]).step_by(batch) {
        let end = (start + batch).min(x.shape()[0]);
        let chunk = x.slice_axis(Axis(0), (start..end).into()).to_owned();
        let out = interp
            .run(&[chunk])
            .unwrap_or_else(|e| panic!("{model}: {e}"));
        for row in out[0].outer_iter() {
            let best = row
                .iter()
                .enumerate()
                .fold(0, |b, (i, &v)| if v > row[b] { i } else { b });
            preds.push(best as i64);
        }
    }
    preds
}

fn check(model: &str, accuracy_percent: f64) {
    let data = read_f32_npz("digits_test.npz").unwrap_or_else(|e| panic!("{e}"));
    let get = |k: &str| {
        data.iter()
            .find(|(n, _)| n == k)
            .map(|(_, a)| a.clone())
            .unwrap_or_else(|| panic!("no '{k}'"))
    };
    let (x, y) = (get("x_nhwc"), get("y"));
    assert_eq!(x.shape(), &[359, 32, 32, 3]);
    let preds = predictions(model, &x, 32);
    let ort_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("data/{model}_ort_pred.npy"));
    let ort = read_npy(&ort_path)
        .unwrap_or_else(|e| panic!("{e}"))
        .to_f32();
    let ort: Vec<i64> = ort.iter().map(|&v| v as i64).collect();
    let differ: Vec<usize> = (0..preds.len()).filter(|&i| preds[i] != ort[i]).collect();
    assert!(
        differ.is_empty(),
        "{model}: predictions differ from onnxruntime's at samples {differ:?}"
    );
    let correct = preds
        .iter()
        .zip(y.iter())
        .filter(|(p, &l)| **p == l as i64)
        .count();
    let acc = 100.0 * correct as f64 / preds.len() as f64;
    assert_eq!(
        format!("{acc:.2}"),
        format!("{accuracy_percent:.2}"),
        "{model}: accuracy"
    );
}

#[test]
fn digits_cnn_opset13_matches_onnxruntime() {
    check("digits_cnn_opset13", 98.05);
}

#[test]
fn digits_cnn_opset17_matches_onnxruntime() {
    check("digits_cnn_opset17", 98.05);
}

#[test]
fn digits_mbv2_matches_onnxruntime() {
    check("digits_mbv2", 98.33);
}
