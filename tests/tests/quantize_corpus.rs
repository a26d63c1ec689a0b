//! Every model that parses also optimizes and emulates in integer arithmetic (issue 15): the
//! shared models (`../shared/models`), the ONNX conformance cases (`tests/conformance/cases`),
//! the ONNX lit inputs (`lit-tests/onnx/Inputs`), the cross-crate ONNX fixtures (`tests/data`)
//! and the TFLite op models (`frontends/tflite/tests/data`). Each is converted as
//! `hailo parser` does (frontend + `hailo-parse`), quantized as `hailo optimize` does by default
//! (a8_w8; calibration on the case's own inputs, the shared models' calibration sets, or seeded
//! random data where a corpus has none: 8 samples, or the declared axis-0 size for models whose
//! axis 0 is not a free batch), lowered to `q` and run by the integer emulator, whose
//! outputs must have the float graph's shapes and be finite.
//!
//! `tests/quantize_corpus_manifest.txt` lists the models that parse but do not optimize, each
//! with its reason. It must stay honest: a listed model that optimizes now, or is gone, fails
//! the test like an unlisted model that fails. The count `N of M` is printed.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use hailo_executor::{Executor, GraphRef};
use hailo_ir::Module;
use hailo_quantizer::optimize::first_graph;
use hailo_quantizer::{quantize, QuantConfig};
use hailo_tests::{models_dir, read_manifest, to_nhwc};
use ndarray::{ArrayD, Axis, Slice};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Samples of seeded random calibration data for corpora without inputs of their own.
const RANDOM_SAMPLES: usize = 8;
/// Calibration samples of the shared models (their sets hold 64 or more).
const SHARED_SAMPLES: usize = 8;

/// Where a model comes from and how it is calibrated.
enum Calib {
    /// The ONNX conformance case's own inputs (`data.npz`, `input_<i>`).
    CaseData(PathBuf),
    /// Array `key` of a shared `.npz` (uint8 images are scaled to [0, 1) when `images`).
    Shared(&'static str, &'static str, bool),
    Random,
}

struct Entry {
    /// Name in the manifest: `<corpus>/<model>`.
    name: String,
    path: PathBuf,
    calib: Calib,
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    out
}

fn stem(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

fn corpus() -> Vec<Entry> {
    let mut out = Vec::new();
    let shared = models_dir();
    for (model, calib) in [
        (
            "digits_cnn_opset13.onnx",
            Calib::Shared("digits_calib.npz", "x_nhwc", false),
        ),
        (
            "digits_cnn_opset17.onnx",
            Calib::Shared("digits_calib.npz", "x_nhwc", false),
        ),
        (
            "digits_cnn.tflite",
            Calib::Shared("digits_calib.npz", "x_nhwc", false),
        ),
        (
            "digits_mbv2.onnx",
            Calib::Shared("digits_calib.npz", "x_nhwc", false),
        ),
        (
            "digits_vit.onnx",
            Calib::Shared("digits_calib.npz", "x_nhwc", false),
        ),
        (
            "mobilenet_v2.onnx",
            Calib::Shared("calib_image_like_224.npz", "images", true),
        ),
        (
            "resnet18.onnx",
            Calib::Shared("calib_image_like_224.npz", "images", true),
        ),
        (
            "squeezenet1_1.onnx",
            Calib::Shared("calib_image_like_224.npz", "images", true),
        ),
        (
            "yolo_like_320.onnx",
            Calib::Shared("calib_image_like_320.npz", "images", true),
        ),
    ] {
        out.push(Entry {
            name: format!("shared/{model}"),
            path: shared.join(model),
            calib,
        });
    }
    let cases = repo().join("tests/conformance/cases");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&cases)
        .unwrap_or_else(|e| panic!("{}: {e}", cases.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.onnx").exists())
        .collect();
    dirs.sort();
    for d in dirs {
        out.push(Entry {
            name: format!("conformance/{}", d.file_name().unwrap().to_string_lossy()),
            path: d.join("model.onnx"),
            calib: Calib::CaseData(d.join("data.npz")),
        });
    }
    for (corpus, dir, ext) in [
        ("lit-onnx", "lit-tests/onnx/Inputs", "onnx"),
        ("tests-data", "tests/data", "onnx"),
        ("tflite", "frontends/tflite/tests/data", "tflite"),
        ("tflite-ops", "frontends/tflite/tests/data/ops", "tflite"),
    ] {
        for p in files(&repo().join(dir), ext) {
            out.push(Entry {
                name: format!("{corpus}/{}", stem(&p)),
                path: p,
                calib: Calib::Random,
            });
        }
    }
    out
}

/// The model converted as `hailo parser` converts it; `None` when it does not parse.
fn parse(path: &Path) -> Option<Module> {
    if path.extension().is_some_and(|x| x == "tflite") {
        let graph = hailo_tflite::read_tflite_file(path).ok()?;
        let (m, _) = hailo_tflite::to_hl::convert(&graph, &Default::default()).ok()?;
        Some(m)
    } else {
        let model = hailo_onnx::load(path).ok()?;
        let conv = hailo_onnx::to_hl::convert_owned(model, &Default::default()).ok()?;
        Some(conv.module)
    }
}

fn first(x: ArrayD<f32>, n: usize) -> ArrayD<f32> {
    let n = n.min(x.shape()[0]);
    x.slice_axis(Axis(0), Slice::from(0..n)).to_owned()
}

/// The calibration inputs of `e` for the float executor `float` (NHWC, samples on axis 0);
/// random data has `samples` samples.
fn calibration(e: &Entry, float: &Executor, samples: usize) -> Result<Vec<ArrayD<f32>>, String> {
    match &e.calib {
        Calib::Random => Ok(hailo_quantizer::calib::random_calib_set(
            float.inputs(),
            samples,
            None,
        )),
        Calib::Shared(file, key, images) => {
            let x = hailo_npz::read_npz(models_dir().join(file))
                .map_err(|e| format!("{file}: {e}"))?
                .into_iter()
                .find(|(k, _)| k.trim_end_matches(".npy") == *key)
                .ok_or_else(|| format!("{file} has no '{key}'"))?
                .1
                .to_f32();
            let x = if *images { x.mapv(|v| v / 255.0) } else { x };
            Ok(vec![first(x, SHARED_SAMPLES)])
        }
        Calib::CaseData(path) => {
            let data: BTreeMap<String, ArrayD<f32>> = hailo_npz::read_npz(path)
                .map_err(|e| format!("data.npz: {e}"))?
                .into_iter()
                .map(|(k, a)| (k.trim_end_matches(".npy").to_owned(), a.to_f32()))
                .collect();
            let model = hailo_onnx::load(&e.path).map_err(|e| e.to_string())?;
            let names: Vec<String> = model.inputs.iter().map(|v| v.name.clone()).collect();
            float
                .inputs()
                .iter()
                .enumerate()
                .map(|(k, t)| {
                    let i = t
                        .original_name
                        .as_deref()
                        .and_then(|n| names.iter().position(|x| x == n))
                        .unwrap_or(k);
                    data.get(&format!("input_{i}"))
                        .map(to_nhwc)
                        .ok_or_else(|| format!("data.npz has no 'input_{i}'"))
                })
                .collect()
        }
    }
}

/// Optimizes and emulates one parsed model; `Err` is the reason.
fn optimize(e: &Entry, mut m: Module) -> Result<(), String> {
    let g = first_graph(&m).map_err(|e| e.to_string())?;
    let float = Executor::new(&m, g).map_err(|e| format!("float executor: {e}"))?;
    let mut data = calibration(e, &float, RANDOM_SAMPLES)?;
    let mut reference = float.run(&data);
    if reference.is_err() && matches!(e.calib, Calib::Random) {
        // A model whose axis 0 is not a batch (a sequence, a fixed batch of 1) runs at its
        // declared size only.
        let declared = float
            .inputs()
            .first()
            .and_then(|t| t.shape.first().copied());
        data = calibration(e, &float, declared.unwrap_or(1).max(1))?;
        reference = float.run(&data);
    }
    let reference = reference.map_err(|e| format!("float run on the calibration set: {e}"))?;
    drop(float);
    let mut cfg = QuantConfig::default();
    cfg.calibration.quiet = true;
    cfg.calibration.calibset_size = data
        .first()
        .and_then(|d| d.shape().first())
        .map_or(1, |&n| n.max(1));
    quantize(&mut m, &data, &cfg).map_err(|e| e.to_string())?;
    let out = Executor::new(&m, GraphRef::First)
        .map_err(|e| format!("integer executor: {e}"))?
        .run(&data)
        .map_err(|e| format!("integer run: {e}"))?;
    if out.len() != reference.len() {
        return Err(format!(
            "{} integer outputs, the float graph has {}",
            out.len(),
            reference.len()
        ));
    }
    for (k, (q, f)) in out.iter().zip(&reference).enumerate() {
        if q.shape() != f.shape() {
            return Err(format!(
                "output {k}: integer shape {:?}, float {:?}",
                q.shape(),
                f.shape()
            ));
        }
        if let Some(x) = q.iter().find(|x| !x.is_finite()) {
            return Err(format!("output {k}: integer emulation gives {x}"));
        }
    }
    Ok(())
}

#[test]
fn every_parsed_model_optimizes_and_emulates_in_integer() {
    let manifest_path = repo().join("tests/quantize_corpus_manifest.txt");
    let manifest = read_manifest(&manifest_path);
    let entries = corpus();
    let only = std::env::var("QUANTIZE_CORPUS_ONLY").ok();
    let (mut parsed, mut optimized) = (0, 0);
    let mut problems = Vec::new();
    let mut failures = Vec::new();
    for e in &entries {
        if only.as_deref().is_some_and(|o| !e.name.contains(o)) {
            continue;
        }
        let Some(m) = catch_unwind(AssertUnwindSafe(|| parse(&e.path))).unwrap_or(None) else {
            if manifest.contains_key(&e.name) {
                problems.push(format!(
                    "{}: does not parse; remove it from the manifest",
                    e.name
                ));
            }
            continue;
        };
        parsed += 1;
        let result = catch_unwind(AssertUnwindSafe(|| optimize(e, m)))
            .unwrap_or_else(|_| Err("panicked".to_owned()));
        match (result, manifest.get(&e.name)) {
            (Ok(()), None) => optimized += 1,
            (Ok(()), Some(_)) => {
                optimized += 1;
                problems.push(format!(
                    "{}: optimizes now; remove it from the manifest",
                    e.name
                ))
            }
            (Err(why), Some(_)) => failures.push(format!("{}: {why}", e.name)),
            (Err(why), None) => problems.push(format!("{}: FAIL: {why}", e.name)),
        }
    }
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    if only.is_none() {
        for name in manifest.keys().filter(|n| !names.contains(&n.as_str())) {
            problems.push(format!("{name}: in the manifest but no such model"));
        }
    }
    for f in &failures {
        eprintln!("expected failure: {f}");
    }
    for p in &problems {
        eprintln!("{p}");
    }
    eprintln!(
        "quantize corpus: {} models, {parsed} parse, {optimized} of {parsed} optimize and emulate in integer",
        entries.len()
    );
    assert!(
        problems.is_empty(),
        "{} problems (listed above)",
        problems.len()
    );
    // The manifest is an exception list, not a way out: nearly everything optimizes.
    assert!(parsed > 500, "only {parsed} models parsed");
}
