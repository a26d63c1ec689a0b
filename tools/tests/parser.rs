//! `hailo parser` reports the node count of the model it parsed: with `--start-node-names` /
//! `--end-node-names`, the selected part, not the whole file.

mod common;

use common::{hailo, scratch, MODELS};

/// The first stdout line of `hailo parser ARGS` (the summary).
fn summary(args: &[&str], dir: &std::path::Path) -> String {
    let (ok, out, err) = hailo(args, dir);
    assert!(ok, "{err}");
    out.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn onnx_node_count_is_the_cut_models() {
    let dir = scratch("parser-onnx-cut");
    let model = format!("{MODELS}/digits_cnn_opset13.onnx");
    let parse = |extra: &[&str]| {
        let mut args = vec!["parser", "onnx", &model, "--net-name", "digits"];
        args.extend_from_slice(extra);
        summary(&args, &dir)
    };
    assert_eq!(parse(&[]), "Parsed 'digits': 10 nodes");
    assert_eq!(
        parse(&["--end-node-names", "/Relu_1"]),
        "Parsed 'digits': 4 nodes (the model's other 6 nodes lie outside \
         --start-node-names/--end-node-names)"
    );
    assert_eq!(
        parse(&[
            "--start-node-names",
            "/conv2/Conv",
            "--end-node-names",
            "/Relu_1"
        ]),
        "Parsed 'digits': 2 nodes (the model's other 8 nodes lie outside \
         --start-node-names/--end-node-names)"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn tflite_node_count_is_the_cut_models() {
    let dir = scratch("parser-tflite-cut");
    let model = format!("{MODELS}/digits_cnn.tflite");
    assert_eq!(
        summary(&["parser", "tf", &model], &dir),
        "Parsed 'digits_cnn': 8 nodes"
    );
    assert_eq!(
        summary(
            &[
                "parser",
                "tf",
                &model,
                "--end-node-names",
                "digits_cnn_1/pool_1/MaxPool2d"
            ],
            &dir
        ),
        "Parsed 'digits_cnn': 6 nodes (the model's other 2 nodes lie outside \
         --start-node-names/--end-node-names)"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
