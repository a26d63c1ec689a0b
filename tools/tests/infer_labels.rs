//! `hailo parser onnx` then `hailo infer --labels`: the digits model's top-1
//! accuracy on the labelled test set equals onnxruntime's (98.05%, 352/359).

mod common;

use common::{digits_har, hailo, scratch, MODELS};

#[test]
fn digits_accuracy_through_the_cli() {
    let dir = scratch("infer-labels");
    digits_har(&dir);
    let test = format!("{MODELS}/digits_test.npz");
    let args = [
        "--quiet",
        "infer",
        "digits.har",
        "--input",
        &test,
        "--input-key",
        "x_nhwc",
        "--labels",
        &test,
        "-o",
        "out.npz",
    ];
    let (ok, out, err) = hailo(&args, &dir);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "top-1 accuracy: 98.05% (352/359)");
    let (ok, _, err) = hailo(
        &[
            "--quiet",
            "infer",
            "digits.har",
            "--input",
            &test,
            "--input-key",
            "nope",
            "-o",
            "x.npz",
        ],
        &dir,
    );
    assert!(!ok);
    assert!(
        err.contains("no member 'nope'; the archive holds: x_nchw, x_nhwc, y, index"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
