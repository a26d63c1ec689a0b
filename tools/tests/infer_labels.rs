//! `hailo parser onnx` then `hailo infer --labels`: the digits model's top-1
//! accuracy on the labelled test set equals onnxruntime's (98.05%, 352/359).

use std::process::Command;

const MODELS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models");

fn hailo(args: &[&str], cwd: &std::path::Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hailo"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("hailo runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn digits_accuracy_through_the_cli() {
    let dir = std::env::temp_dir().join(format!("hailo-infer-labels-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let model = format!("{MODELS}/digits_cnn_opset13.onnx");
    let (ok, _, err) = hailo(
        &[
            "--quiet",
            "parser",
            "onnx",
            &model,
            "--har-path",
            "digits.har",
        ],
        &dir,
    );
    assert!(ok, "{err}");
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
