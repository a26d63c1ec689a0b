//! Helpers shared by the `hailo` CLI tests: run the built binary, find the shared models, make
//! a scratch directory.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;

/// The shared reference models (`../shared/models` beside the checkout).
pub const MODELS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models");

/// Exit status, stdout and stderr of `hailo ARGS` run in `cwd`.
pub fn hailo(args: &[&str], cwd: &Path) -> (bool, String, String) {
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

/// A fresh, empty directory for test `name`.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hailo-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// `hailo parser onnx` of the shared digits CNN into `dir/digits.har`.
pub fn digits_har(dir: &Path) -> PathBuf {
    let model = format!("{MODELS}/digits_cnn_opset13.onnx");
    let (ok, _, err) = hailo(
        &[
            "--quiet",
            "parser",
            "onnx",
            &model,
            "--net-name",
            "digits",
            "--har-path",
            "digits.har",
        ],
        dir,
    );
    assert!(ok, "{err}");
    dir.join("digits.har")
}

/// The physical layers and buffers of a module's graphs, one line each in graph order: the op,
/// the attributes that say what the physical passes decided (layer, kind, subclusters, mode,
/// placement, merge, defuse role and slice, buffer rows) and the result shape.
pub fn phys_summary(m: &hailo_ir::Module) -> Vec<String> {
    const KEYS: [&str; 14] = [
        "layer",
        "kind",
        "subclusters",
        "mode",
        "cluster",
        "context",
        "merged",
        "merge_index",
        "defuse",
        "part",
        "slice",
        "memory",
        "rows",
        "rows_after",
    ];
    m.walk(m.top())
        .into_iter()
        .filter(|&op| hailo_dialect_phys::resource_model(m, op).is_some())
        .map(|op| {
            let mut line = m.op(op).name_str().to_owned();
            for key in KEYS {
                if let Some(a) = m.attr(op, key) {
                    line.push_str(&format!(" {key}={a}"));
                }
            }
            let shape = m
                .value_type(m.result(op, 0))
                .shape()
                .unwrap_or(&[])
                .to_vec();
            let dims: Vec<String> = shape.iter().map(i64::to_string).collect();
            format!("{line} : {}", dims.join("x"))
        })
        .collect()
}
