//! Conversion errors: unsupported operators are all listed with their op type and opset and
//! the start/end node names that cut them away; malformed models fail with a message naming
//! the problem.

mod to_hl_fixtures;

use bytes::Bytes;
use hailo_onnx::to_hl::{convert, ConvertError, ConvertOptions};
use hailo_onnx::{load_bytes, LoadOptions};

fn fixture(name: &str) -> Vec<u8> {
    to_hl_fixtures::error_models()
        .into_iter()
        .find(|(n, _)| *n == name)
        .expect("fixture exists")
        .1
}

fn load(name: &str) -> Result<hailo_onnx::OnnxModel, hailo_onnx::OnnxError> {
    load_bytes(
        Bytes::from(fixture(name)),
        name,
        None,
        &LoadOptions::default(),
    )
}

#[test]
fn unsupported_nodes_are_all_listed_with_cuts() {
    let model = load("unsupported").expect("loads");
    let err = match convert(&model, &ConvertOptions::default()) {
        Err(ConvertError::Unsupported(r)) => r,
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("conversion must fail"),
    };
    let names: Vec<(&str, &str, i64)> = err
        .nodes
        .iter()
        .map(|n| (n.node.as_str(), n.op_type.as_str(), n.opset))
        .collect();
    assert_eq!(names, [("sin1", "Sin", 13), ("cos1", "Cos", 13)]);
    assert_eq!(err.suggested_end_nodes, ["conv_a"]);
    assert_eq!(err.suggested_start_nodes, ["conv_b"]);
    let text = ConvertError::Unsupported(err).to_string();
    assert!(
        text.contains("'sin1' (Sin from ai.onnx opset 13)"),
        "{text}"
    );
    assert!(text.contains("--end-node-names 'conv_a'"), "{text}");
    assert!(text.contains("--start-node-names 'conv_b'"), "{text}");
}

#[test]
fn unsupported_forms_of_supported_operators_are_listed_with_why() {
    let model = load("unsupported_forms").expect("loads");
    let err = match convert(&model, &ConvertOptions::default()) {
        Err(ConvertError::Unsupported(r)) => r,
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("conversion must fail"),
    };
    let listed: Vec<(&str, &str)> = err
        .nodes
        .iter()
        .map(|n| (n.node.as_str(), n.reason.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (
                "gather_rt",
                "Gather with run-time indices is not supported (the indices must be a constant)"
            ),
            (
                "diagonal",
                "Einsum equation 'ii->i' is not supported: index 'i' repeats within an operand \
                 (a diagonal or trace)"
            ),
        ]
    );
}

#[test]
fn cutting_as_suggested_converts() {
    let model = load("unsupported").expect("loads");
    let before = model
        .select::<&str, &str>(&[], &["conv_a"])
        .expect("select");
    assert!(convert(&before, &ConvertOptions::default()).is_ok());
    let after = model
        .select::<&str, &str>(&["conv_b"], &[])
        .expect("select");
    let c = convert(&after, &ConvertOptions::default()).expect("converts");
    assert_eq!(c.inputs()[0].original_name, "c");
}

#[test]
fn malformed_models_fail_with_a_reason() {
    let cases = [
        ("truncated", "is not a valid ONNX model"),
        ("missing_initializer", "input 'w' is produced by nothing"),
        (
            "wrong_rank",
            "input 'w' (weight) has rank 3 (shape [4, 4, 1]), expected 4",
        ),
    ];
    for (name, want) in cases {
        match load(name) {
            Err(e) => assert!(e.to_string().contains(want), "{name}: {e}"),
            Ok(_) => panic!("{name} must not load"),
        }
    }
}

#[test]
fn bad_input_format_is_rejected() {
    let silu = to_hl_fixtures::pattern_models().swap_remove(0).1;
    let model =
        load_bytes(Bytes::from(silu), "silu", None, &LoadOptions::default()).expect("loads");
    let opts = ConvertOptions {
        input_formats: vec![("x".into(), "NCH".into())],
        ..Default::default()
    };
    let err = convert(&model, &opts).err().expect("must fail").to_string();
    assert_eq!(
        err,
        "--input-format x: format 'NCH' has 3 letters but the input has rank 4"
    );
    let opts = ConvertOptions {
        input_formats: vec![("nope".into(), "NCHW".into())],
        ..Default::default()
    };
    let err = convert(&model, &opts).err().expect("must fail").to_string();
    assert_eq!(
        err,
        "--input-format nope: no such graph input; the inputs are: x"
    );
}

#[test]
fn lstm_clip_is_rejected_naming_the_node() {
    let model = load("lstm_clip").expect("loads");
    let err = convert(&model, &ConvertOptions::default())
        .err()
        .expect("conversion must fail")
        .to_string();
    assert_eq!(
        err,
        "node 'cell' (LSTM): attribute clip (cell clipping) is not supported; remove it or cut \
         the model before this node"
    );
}

#[test]
fn conv3d_is_rejected_naming_the_node() {
    let model = load("conv3d").expect("loads");
    let err = convert(&model, &ConvertOptions::default())
        .err()
        .expect("conversion must fail")
        .to_string();
    assert!(
        err.starts_with(
            "node 'conv3d' (Conv): 3-D convolution (Conv on a rank-5 input) is not supported"
        ),
        "{err}"
    );
}
