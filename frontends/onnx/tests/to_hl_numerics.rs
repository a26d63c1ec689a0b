//! Numerics of the multi-layer conversions: each fixture model (squeeze-and-excite, unrolled
//! LSTM/GRU/RNN, attention, 1-D convolution) is converted to `hl`, run by the reference
//! interpreter, and must reproduce the reference outputs of `tests/data/refs/<name>.npz`
//! (made by `tests/gen_onnx_refs.py` with onnxruntime) within rtol/atol 1e-4. The `.npz`
//! records the MD5 of the model it was made from, so a changed fixture without regenerated
//! references fails here. The models are read from `lit-tests/onnx/Inputs/`, which
//! `to_hl_patterns.rs` keeps identical to the fixtures of `to_hl_fixtures/`.

use std::path::PathBuf;

use bytes::Bytes;
use hailo_executor::compare::check_close;
use hailo_executor::Executor;
use hailo_onnx::to_hl::{convert, ConvertOptions};
use hailo_onnx::{load_bytes, LoadOptions};
use md5::{Digest, Md5};
use ndarray::{ArrayD, IxDyn};

/// Models with references, by fixture name.
const MODELS: &[&str] = &[
    "se_conv",
    "se_gemm",
    "lstm",
    "lstm_bidir",
    "gru",
    "gru_lbr",
    "rnn",
    "rnn_batch_first",
    "mha",
    "conv1d",
];

/// ONNX layout → `hl` layout of a graph input/output (NCHW ↔ NHWC for rank 4).
fn relayout(a: &ArrayD<f32>, to_hl: bool) -> ArrayD<f32> {
    if a.ndim() != 4 {
        return a.clone();
    }
    let perm = if to_hl { [0, 2, 3, 1] } else { [0, 3, 1, 2] };
    a.view()
        .permuted_axes(IxDyn(&perm))
        .as_standard_layout()
        .into_owned()
}

/// Converts and runs `name`; `Err` says what differs from the reference.
fn check(name: &str, bytes: &[u8]) -> Result<(), String> {
    let refs = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/refs")
        .join(format!("{name}.npz"));
    let npz = hailo_npz::read_npz(&refs)
        .map_err(|e| format!("{}: {e} (run tests/gen_onnx_refs.py)", refs.display()))?;
    let get = |k: &str| npz.iter().find(|(n, _)| n == k).map(|(_, a)| a.to_f32());
    let md5: Vec<u8> = get("model_md5")
        .ok_or("no model_md5")?
        .iter()
        .map(|&v| v as u8)
        .collect();
    if md5 != Md5::digest(bytes).to_vec() {
        return Err(
            "the reference was made from another model; rerun tests/gen_onnx_refs.py".into(),
        );
    }
    let model = load_bytes(
        Bytes::from(bytes.to_vec()),
        name,
        None,
        &LoadOptions::default(),
    )
    .map_err(|e| format!("load: {e}"))?;
    let c = convert(&model, &ConvertOptions::default()).map_err(|e| format!("convert: {e}"))?;
    let interp = Executor::new(&c.module, "main").map_err(|e| format!("interp: {e}"))?;
    let inputs: Vec<ArrayD<f32>> = (0..)
        .map_while(|k| get(&format!("x{k}")))
        .map(|a| relayout(&a, true))
        .collect();
    let wants: Vec<ArrayD<f32>> = (0..).map_while(|k| get(&format!("y{k}"))).collect();
    let got: Vec<ArrayD<f32>> = interp
        .run(&inputs)
        .map_err(|e| format!("run: {e}"))?
        .iter()
        .map(|g| relayout(g, false))
        .collect();
    check_close(&got, &wants, 1e-4, 1e-4)
}

#[test]
fn conversions_match_onnx_references() {
    let inputs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../lit-tests/onnx/Inputs");
    let mut failures = Vec::new();
    for &name in MODELS {
        let path = inputs.join(format!("{name}.onnx"));
        let result = std::fs::read(&path)
            .map_err(|e| format!("{}: {e}", path.display()))
            .and_then(|bytes| check(name, &bytes));
        if let Err(e) = result {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
