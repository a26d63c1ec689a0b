//! Shared helpers of the cross-crate tests in `tests/tests/`: locating the reference models,
//! converting ONNX models to `hl`, comparing arrays with tolerances, and (`mutate`) the
//! seeded input mutator of the hostile-input sweep, and the manifests of expected failures.

pub mod mutate;

use hailo_executor::Executor;
use hailo_npz::read_npz;
use ndarray::{ArrayD, IxDyn};
use std::path::PathBuf;

/// `shared/models` next to the repository (read-only reference corpus).
pub fn models_dir() -> PathBuf {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    repo.join("../shared/models")
}

/// The ONNX model `name` converted to `hl` and prepared for the interpreter.
pub fn onnx_interpreter(name: &str) -> Result<Executor, String> {
    let path = models_dir().join(name);
    let model = hailo_onnx::load(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let conv = hailo_onnx::to_hl::convert_owned(model, &Default::default())
        .map_err(|e| format!("{name}: convert: {e}"))?;
    Executor::new(&conv.module, "main").map_err(|e| format!("{name}: {e}"))
}

/// All arrays of an `.npz` in `shared/models`, converted to f32.
pub fn read_f32_npz(name: &str) -> Result<Vec<(String, ArrayD<f32>)>, String> {
    let path = models_dir().join(name);
    let arrays = read_npz(&path).map_err(|e| e.to_string())?;
    Ok(arrays.into_iter().map(|(k, a)| (k, a.to_f32())).collect())
}

/// NCHW → NHWC for rank-4 arrays; other ranks unchanged.
pub fn to_nhwc(x: &ArrayD<f32>) -> ArrayD<f32> {
    if x.ndim() == 4 {
        x.view()
            .permuted_axes(IxDyn(&[0, 2, 3, 1]))
            .as_standard_layout()
            .into_owned()
    } else {
        x.clone()
    }
}

/// NHWC → NCHW for rank-4 arrays; other ranks unchanged.
pub fn to_nchw(x: &ArrayD<f32>) -> ArrayD<f32> {
    if x.ndim() == 4 {
        x.view()
            .permuted_axes(IxDyn(&[0, 3, 1, 2]))
            .as_standard_layout()
            .into_owned()
    } else {
        x.clone()
    }
}

/// Worst element-wise agreement of `actual` with `expected`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agreement {
    pub max_abs: f32,
    /// max |a - e| / |e| over elements with |e| > 1e-3.
    pub max_rel: f32,
    /// Elements violating |a - e| <= atol + rtol·|e|.
    pub violations: usize,
}

/// Compares two equally shaped arrays with numpy's `allclose` rule.
pub fn compare(
    actual: &ArrayD<f32>,
    expected: &ArrayD<f32>,
    rtol: f32,
    atol: f32,
) -> Result<Agreement, String> {
    if actual.shape() != expected.shape() {
        return Err(format!(
            "shape {:?} differs from the reference's {:?}",
            actual.shape(),
            expected.shape()
        ));
    }
    let mut a = Agreement {
        max_abs: 0.0,
        max_rel: 0.0,
        violations: 0,
    };
    for (&x, &e) in actual.iter().zip(expected.iter()) {
        let d = (x - e).abs();
        if d.is_nan() || d > atol + rtol * e.abs() {
            a.violations += 1;
        }
        a.max_abs = a.max_abs.max(d);
        if e.abs() > 1e-3 {
            a.max_rel = a.max_rel.max(d / e.abs());
        }
    }
    Ok(a)
}

/// `name -> reason` from a manifest of expected failures (`name  reason` per line, `#`
/// comments); panics on a line without a reason or a name listed twice.
pub fn read_manifest(path: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = std::collections::BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, reason) = line
            .split_once(char::is_whitespace)
            .map(|(c, r)| (c, r.trim()))
            .unwrap_or((line, ""));
        assert!(
            !reason.is_empty(),
            "{}:{}: '{name}' has no reason; write `name  reason`",
            path.display(),
            n + 1
        );
        assert!(
            out.insert(name.to_owned(), reason.to_owned()).is_none(),
            "{}:{}: '{name}' listed twice",
            path.display(),
            n + 1
        );
    }
    out
}
