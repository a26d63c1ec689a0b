//! Op coverage: every `tests/data/ops/<name>.tflite` (one per supported TFLite operator or
//! pattern, made by `tests/gen_op_models.py` with reference outputs from the TFLite
//! interpreter) converts to `hl`, verifies, contains the expected layers, and the reference
//! interpreter reproduces the TFLite outputs within rtol/atol 1e-4.

use std::path::{Path, PathBuf};

use hailo_executor::compare::check_close;
use hailo_executor::Executor;
use hailo_ir::{Context, Module};
use hailo_tflite::to_hl::{convert, ConvertOptions};
use ndarray::ArrayD;

fn ops_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/ops")
}

fn context() -> Context {
    let mut ctx = Context::new();
    ctx.register(hailo_dialect_hl::dialect());
    ctx
}

/// Names of the non-const `hl` ops of the graph body, in order.
fn hl_ops(m: &Module) -> Vec<&'static str> {
    let graph = m.block_ops(m.body())[0];
    let block = m.region(m.op(graph).regions()[0]).blocks()[0];
    m.block_ops(block)
        .into_iter()
        .map(|o| m.op(o).name_str())
        .filter(|n| *n != "hl.const" && n.starts_with("hl."))
        .collect()
}

/// Converts, verifies and runs one model; returns its `hl` op list or a description of what
/// went wrong.
fn check(path: &Path) -> Result<Vec<&'static str>, String> {
    let g = hailo_tflite::read_tflite_file(path).map_err(|e| format!("read: {e}"))?;
    let (m, _) = convert(&g, &ConvertOptions::default()).map_err(|e| format!("convert: {e}"))?;
    hailo_ir::verifier::verify(&m, &context(), m.top()).map_err(|d| format!("verify: {d:?}"))?;
    let npz = hailo_npz::read_npz(path.with_extension("npz")).map_err(|e| format!("npz: {e}"))?;
    let arr = |k: &str| -> Option<ArrayD<f32>> {
        npz.iter().find(|(n, _)| n == k).map(|(_, a)| a.to_f32())
    };
    let inputs: Vec<ArrayD<f32>> = (0..).map_while(|k| arr(&format!("x{k}"))).collect();
    let wants: Vec<ArrayD<f32>> = (0..).map_while(|k| arr(&format!("y{k}"))).collect();
    let interp = Executor::new(&m, "main").map_err(|e| format!("interpreter: {e}"))?;
    let got = interp.run(&inputs).map_err(|e| format!("run: {e}"))?;
    check_close(&got, &wants, 1e-4, 1e-4)?;
    Ok(hl_ops(&m))
}

/// The `hl` ops each model must produce (beyond input/output layers).
const EXPECTED: &[(&str, &[&str])] = &[
    ("conv2d_pad_fold", &["hl.conv2d"]),
    ("conv2d_tanh", &["hl.conv2d"]),
    ("depthwise_conv2d", &["hl.depthwise_conv2d"]),
    ("depthwise_conv2d_multiplier2", &["hl.conv2d"]),
    ("transpose_conv_same", &["hl.deconv2d"]),
    ("fully_connected_from_nhwc", &["hl.reshape", "hl.dense"]),
    ("mean_spatial", &["hl.global_avgpool", "hl.reshape"]),
    ("mean_channels", &["hl.reduce"]),
    ("reduce_max_spatial", &["hl.global_maxpool"]),
    ("add_n", &["hl.ew_add", "hl.ew_add"]),
    ("prelu", &["hl.prelu"]),
    ("pad_external", &["hl.pad"]),
    ("gather", &["hl.slice"]),
    ("strided_slice_shrink", &["hl.slice", "hl.reshape"]),
    ("spatial_squeeze", &["hl.conv2d", "hl.reshape"]),
    ("pattern_swish", &["hl.activation"]),
    ("pattern_mish", &["hl.activation"]),
    ("pattern_hardsigmoid", &["hl.activation"]),
    ("pattern_delta", &["hl.activation"]),
    ("pattern_conv_swish", &["hl.conv2d"]),
];

#[test]
fn every_op_model_converts_verifies_and_matches_tflite() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(ops_dir())
        .expect("tests/data/ops exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tflite"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 70, "only {} op models", paths.len());
    let mut failures = Vec::new();
    for p in &paths {
        let name = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match check(p) {
            Ok(ops) => {
                let body: Vec<&str> = ops
                    .iter()
                    .copied()
                    .filter(|o| *o != "hl.input_layer" && *o != "hl.output_layer")
                    .collect();
                if let Some((_, want)) = EXPECTED.iter().find(|(n, _)| *n == name) {
                    if body != *want {
                        failures.push(format!("{name}: hl ops {body:?}, expected {want:?}"));
                    }
                }
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} op models failed:\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n")
    );
}
