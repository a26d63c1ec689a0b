//! ONNX operator conformance: every exported ONNX backend node test case
//! (`tests/conformance/cases/<case>/{model.onnx,data.npz}`, written by
//! `tests/conformance/export_onnx_node_tests.py`) is loaded, converted to `hl` and run by the
//! interpreter, and its outputs must match ONNX's within rtol 1e-4 / atol 1e-4.
//!
//! `tests/conformance/manifest.txt` lists the expected failures with reasons. The manifest must
//! stay honest: a listed case that passes, or a listed case that no longer exists, fails the
//! test just like an unlisted case that fails.
//!
//! Layouts follow the converter's input-format defaults: rank-4 tensors are NCHW in ONNX and
//! NHWC in `hl` (transposed on the way in and out), other ranks are unchanged (`NC`, `NWC`).

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use hailo_executor::Executor;
use hailo_tests::{compare, read_manifest, to_nchw, to_nhwc};
use ndarray::ArrayD;

fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conformance")
}

/// Runs one case; `Err` says which stage failed and how.
fn run_case(dir: &Path) -> Result<(), String> {
    let model = hailo_onnx::load(dir.join("model.onnx")).map_err(|e| format!("load: {e}"))?;
    let conv = hailo_onnx::to_hl::convert(&model, &Default::default())
        .map_err(|e| format!("convert: {e}"))?;
    let interp = Executor::new(&conv.module, "main").map_err(|e| format!("interp: {e}"))?;
    let data: BTreeMap<String, ArrayD<f32>> = hailo_npz::read_npz(dir.join("data.npz"))
        .map_err(|e| format!("data.npz: {e}"))?
        .into_iter()
        .map(|(k, a)| (k, a.to_f32()))
        .collect();
    let array = |kind: &str, names: &[String], name: Option<&str>, k: usize| {
        let i = name
            .and_then(|n| names.iter().position(|x| x == n))
            .unwrap_or(k);
        data.get(&format!("{kind}_{i}"))
            .ok_or_else(|| format!("data.npz has no '{kind}_{i}' for {name:?}"))
    };
    let in_names: Vec<String> = model.inputs.iter().map(|v| v.name.clone()).collect();
    let out_names: Vec<String> = model.outputs.iter().map(|v| v.name.clone()).collect();
    let inputs = interp
        .inputs()
        .iter()
        .enumerate()
        .map(|(k, t)| array("input", &in_names, t.original_name.as_deref(), k).map(to_nhwc))
        .collect::<Result<Vec<_>, _>>()?;
    let outputs = interp.run(&inputs).map_err(|e| format!("run: {e}"))?;
    if outputs.len() != out_names.len() {
        return Err(format!(
            "{} outputs, ONNX has {}",
            outputs.len(),
            out_names.len()
        ));
    }
    for (k, (t, out)) in interp.outputs().iter().zip(&outputs).enumerate() {
        let expected = array("output", &out_names, t.original_name.as_deref(), k)?;
        let actual = if expected.ndim() == 4 {
            to_nchw(out)
        } else {
            out.clone()
        };
        let (a_cmp, e_cmp) = neutralize_equal(&actual, expected);
        let a = compare(&a_cmp, &e_cmp, 1e-4, 1e-4).map_err(|e| format!("output {k}: {e}"))?;
        if a.violations > 0 {
            // Small outputs are shown whole: the values usually tell what went wrong.
            let values = if expected.len() <= 16 {
                format!(
                    ": got {:?}, expected {:?}",
                    actual.iter().collect::<Vec<_>>(),
                    expected.iter().collect::<Vec<_>>()
                )
            } else {
                String::new()
            };
            return Err(format!(
                "output {k}: {} of {} elements outside tolerance (max abs error {:.3e}){values}",
                a.violations,
                expected.len(),
                a.max_abs
            ));
        }
    }
    Ok(())
}

/// Both arrays with the elements where they agree exactly (equal infinities, or NaN in both)
/// set to 0, so `compare`'s `|a - e|` does not turn `inf - inf` into a violation.
fn neutralize_equal(actual: &ArrayD<f32>, expected: &ArrayD<f32>) -> (ArrayD<f32>, ArrayD<f32>) {
    let (mut a, mut e) = (
        actual.as_standard_layout().into_owned(),
        expected.as_standard_layout().into_owned(),
    );
    if a.shape() == e.shape() {
        for (x, y) in a.iter_mut().zip(e.iter_mut()) {
            if *x == *y || (x.is_nan() && y.is_nan()) {
                (*x, *y) = (0.0, 0.0);
            }
        }
    }
    (a, e)
}

#[test]
fn onnx_node_conformance() {
    let dir = conformance_dir();
    let manifest = read_manifest(&dir.join("manifest.txt"));
    let cases_dir = dir.join("cases");
    let mut cases: Vec<String> = std::fs::read_dir(&cases_dir)
        .unwrap_or_else(|e| panic!("{}: {e}", cases_dir.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    let (mut passed, mut failed, mut expected_fail) = (0, 0, 0);
    let mut problems = Vec::new();
    for case in &cases {
        let result = catch_unwind(AssertUnwindSafe(|| run_case(&cases_dir.join(case))))
            .unwrap_or_else(|_| Err("panicked".to_string()));
        match (result, manifest.get(case)) {
            (Ok(()), None) => passed += 1,
            (Err(_), Some(_)) => expected_fail += 1,
            (Ok(()), Some(_)) => {
                problems.push(format!("{case}: passes now; remove it from the manifest"))
            }
            (Err(e), None) => {
                failed += 1;
                problems.push(format!("{case}: FAIL: {e}"))
            }
        }
    }
    for case in manifest.keys().filter(|c| !cases.contains(c)) {
        problems.push(format!(
            "{case}: in the manifest but no such case directory"
        ));
    }
    for p in &problems {
        eprintln!("{p}");
    }
    eprintln!(
        "conformance: {} cases, {passed} pass, {failed} fail, {expected_fail} expected failures, \
         {} manifest entries stale",
        cases.len(),
        problems.len() - failed
    );
    assert!(
        problems.is_empty(),
        "{} conformance problems (listed above)",
        problems.len()
    );
}
