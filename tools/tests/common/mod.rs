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
