//! Seeded mutation sweep over every reader: mutated ONNX, TFLite, HAR, IR text, model
//! scripts, `.npy`/`.npz` and HEF inputs must give an error or a result, never a panic, a stack
//! overflow (it would abort this test binary), a hang (it would hang it) or files left
//! behind. `HAILO_SWEEP_CASES` sets the cases per reader (default 300, seconds in CI; the
//! long local run used 10,000 per reader) and `HAILO_SWEEP_SEED` the seed. Panicking inputs
//! are saved under the target directory; once fixed they are checked in under
//! `tests/data/crashers/<reader>/`, which every run reads first.

use hailo_tests::mutate::{mutate, Rng};
use std::cell::RefCell;
use std::path::{Path, PathBuf};

thread_local! {
    /// While a case runs on this thread: its panic message, if it panicked.
    static CASE: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

fn cases() -> usize {
    std::env::var("HAILO_SWEEP_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

fn base_seed() -> u64 {
    std::env::var("HAILO_SWEEP_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(17)
}

/// A fresh scratch directory for one reader.
fn scratch(reader: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hailo-sweep-{reader}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The sorted names in `dir`.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("listing")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs `cases()` mutants of `seeds` through `read`; asserts no panics and that `dir` holds
/// only `keep` afterwards. Prints the counts (visible with `--nocapture`).
fn sweep(
    reader: &str,
    seeds: &[Vec<u8>],
    text: bool,
    dir: &Path,
    keep: &[&str],
    read: impl Fn(&[u8]) -> Result<(), String>,
) {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_case = CASE.with(|c| match &mut *c.borrow_mut() {
                Some(message) => {
                    *message = Some(info.to_string());
                    true
                }
                None => false,
            });
            if !in_case {
                default_hook(info);
            }
        }));
    });
    for (i, seed) in seeds.iter().enumerate() {
        if let Err(e) = read(seed) {
            panic!("{reader}: seed {i} does not read: {e}");
        }
    }
    // Inputs that once panicked (checked in under `tests/data/crashers/<reader>/`) first,
    // then the mutants.
    let crashers = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data/crashers")
        .join(reader);
    let checked_in: Vec<(String, Vec<u8>)> = std::fs::read_dir(&crashers)
        .into_iter()
        .flatten()
        .map(|e| {
            let path = e.expect("entry").path();
            let bytes = std::fs::read(&path).expect("crasher");
            (path.display().to_string(), bytes)
        })
        .collect();
    let mut rng = Rng::new(base_seed() ^ reader.len() as u64 ^ u64::from(reader.as_bytes()[0]));
    let mutants = (0..cases()).map(|case| {
        let input = mutate(&mut rng, &seeds[case % seeds.len()], text);
        (format!("{reader} case {case}"), input)
    });
    let (mut ok, mut errors, mut panics) = (0usize, 0usize, Vec::new());
    for (case, input) in checked_in.into_iter().chain(mutants) {
        CASE.with(|c| *c.borrow_mut() = Some(None));
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(&input)));
        let message = CASE.with(|c| c.borrow_mut().take()).flatten();
        match outcome {
            Ok(Ok(())) => ok += 1,
            Ok(Err(_)) => errors += 1,
            Err(_) => {
                let message = message.unwrap_or_default();
                let saved = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                    .join(format!("sweep-crasher-{}", case.replace([' ', '/'], "-")));
                std::fs::write(&saved, &input).expect("save crasher");
                panics.push(format!("{}: {message}", saved.display()));
            }
        }
    }
    println!(
        "{reader}: {} cases, {ok} read, {errors} errors, {} panics",
        cases(),
        panics.len()
    );
    assert!(
        panics.is_empty(),
        "{reader}: panics:\n{}",
        panics.join("\n")
    );
    assert_eq!(listing(dir), keep, "{reader}: files left behind");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

fn ctx() -> hailo_ir::Context {
    hailo_tools::context::full_context(false)
}

fn verified(m: &hailo_ir::Module) -> Result<(), String> {
    hailo_ir::verifier::verify(m, &ctx(), m.top()).map_err(|d| format!("{} diagnostics", d.len()))
}

const TINY_HIR: &str = include_str!("../data/tiny.hir");

/// An ONNX model exercising folding, shape inference, weights and external data.
fn onnx_seed() -> Vec<u8> {
    use hailo_onnx::builder::{ramp_f32, tensor_i64, ModelBuilder};
    use hailo_onnx::proto::{data_location, StringStringEntryProto, TensorProto};
    use hailo_onnx::Attribute;
    let external = TensorProto {
        name: "fc_w".into(),
        dims: vec![64, 4],
        data_type: 1,
        data_location: data_location::EXTERNAL,
        external_data: [("location", "w.bin"), ("offset", "0"), ("length", "1024")]
            .iter()
            .map(|(k, v)| StringStringEntryProto {
                key: k.to_string(),
                value: v.to_string(),
            })
            .collect(),
        ..Default::default()
    };
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3, 8, 8])
        .initializer("w", &ramp_f32(&[4, 3, 3, 3]))
        .initializer("b", &ramp_f32(&[4]))
        .initializer("zero", &tensor_i64(&[1], vec![0]))
        .initializer("minus1", &tensor_i64(&[1], vec![-1]))
        .initializer_proto(external)
        .node(
            "Conv",
            "conv1",
            &["x", "w", "b"],
            &["c"],
            &[("pads", Attribute::Ints(vec![1, 1, 1, 1]))],
        )
        .node("Relu", "relu1", &["c"], &["r"], &[])
        .node(
            "MaxPool",
            "pool1",
            &["r"],
            &["p"],
            &[
                ("kernel_shape", Attribute::Ints(vec![2, 2])),
                ("strides", Attribute::Ints(vec![2, 2])),
            ],
        )
        .node("Shape", "shape1", &["p"], &["s"], &[])
        .node(
            "Gather",
            "gather1",
            &["s", "zero"],
            &["n"],
            &[("axis", Attribute::Int(0))],
        )
        .node(
            "Concat",
            "concat1",
            &["n", "minus1"],
            &["target"],
            &[("axis", Attribute::Int(0))],
        )
        .node("Reshape", "flat", &["p", "target"], &["f"], &[])
        .node("MatMul", "fc", &["f", "fc_w"], &["y"], &[])
        .output("y", &[1, 4]);
    b.encode()
}

#[test]
fn sweep_onnx() {
    let dir = scratch("onnx");
    let weights: Vec<u8> = (0..256)
        .flat_map(|i| (i as f32 * 0.01).to_le_bytes())
        .collect();
    std::fs::write(dir.join("w.bin"), weights).expect("weights");
    let model = dir.join("m.onnx");
    let har = dir.join("m.har");
    sweep(
        "onnx",
        &[onnx_seed()],
        false,
        &dir,
        &["m.onnx", "w.bin"],
        |bytes| {
            std::fs::write(&model, bytes).map_err(|e| e.to_string())?;
            let m = hailo_onnx::load(&model).map_err(|e| e.to_string())?;
            let conv = hailo_onnx::to_hl::convert_owned(m, &Default::default())
                .map_err(|e| e.to_string())?;
            verified(&conv.module)?;
            let meta = hailo_har::HarMetadata::default();
            hailo_har::write_har(&conv.module, &ctx(), &meta, &har, false)
                .map_err(|e| e.to_string())?;
            std::fs::remove_file(&har).map_err(|e| e.to_string())
        },
    );
}

#[test]
fn sweep_tflite() {
    let dir = scratch("tflite");
    let seed = std::fs::read(hailo_tests::models_dir().join("digits_cnn.tflite")).expect("model");
    sweep("tflite", &[seed], false, &dir, &[], |bytes| {
        let g = hailo_tflite::read_tflite(bytes).map_err(|e| e.to_string())?;
        let (m, _) =
            hailo_tflite::to_hl::convert(&g, &Default::default()).map_err(|e| e.to_string())?;
        verified(&m)
    });
}

#[test]
fn sweep_har() {
    let dir = scratch("har");
    let ctx = ctx();
    let m = hailo_ir::parse_module(&ctx, "tiny.hir", TINY_HIR).expect("tiny parses");
    let seed_path = dir.join("seed.har");
    let meta = hailo_har::HarMetadata::default();
    hailo_har::write_har(&m, &ctx, &meta, &seed_path, false).expect("seed HAR");
    let plain = std::fs::read(&seed_path).expect("seed bytes");
    hailo_har::write_har(&m, &ctx, &meta, &seed_path, true).expect("gzip HAR");
    let gzip = std::fs::read(&seed_path).expect("seed bytes");
    std::fs::remove_file(&seed_path).expect("cleanup");
    let input = dir.join("in.har");
    let out = dir.join("out");
    sweep("har", &[plain, gzip], false, &dir, &["in.har"], |bytes| {
        std::fs::write(&input, bytes).map_err(|e| e.to_string())?;
        let (m, _) = hailo_har::read_har(&input, &ctx).map_err(|e| e.to_string())?;
        hailo_har::summarize(&m);
        let members = hailo_har::read_members(&input).map_err(|e| e.to_string())?;
        let files: Vec<(PathBuf, &[u8])> = members
            .iter()
            .map(|(n, d)| (PathBuf::from(n), d.as_slice()))
            .collect();
        let written = hailo_npz::atomic::write_files(&out, &files).map_err(|e| e.to_string());
        let _ = std::fs::remove_dir_all(&out);
        written
    });
}

#[test]
fn sweep_ir_text() {
    let dir = scratch("ir");
    let ctx = ctx();
    let options = hailo_ir::PrintOptions::default();
    sweep(
        "ir",
        &[TINY_HIR.as_bytes().to_vec()],
        true,
        &dir,
        &[],
        |bytes| {
            let text = String::from_utf8_lossy(bytes);
            let m = hailo_ir::parse_module(&ctx, "t.hir", &text).map_err(|d| d.message.clone())?;
            verified(&m)?;
            let printed = hailo_ir::print_module(&m, &ctx, options);
            hailo_ir::parse_module(&ctx, "printed.hir", &printed)
                .map(drop)
                .map_err(|d| format!("the printed module does not parse: {}", d.message))
        },
    );
}

#[test]
fn sweep_model_scripts() {
    let dir = scratch("alls");
    std::fs::write(dir.join("nms.json"), "{\"classes\": 3}").expect("config");
    let ctx = ctx();
    let seeds: Vec<Vec<u8>> = [
        "normalization1 = normalization([0.5, 0.5], [2.0, 2.0])\n\
         resize(input_layer1, resize_shapes=[4, 4])\n\
         model_optimization_config(calibration, batch_size=2, calibset_size=4)\n\
         quantization_param(conv1, precision_mode=a8_w8)\n",
        "change_output_activation(output_layer1, sigmoid)\n\
         model_optimization_flavor(optimization_level=0, compression_level=0)\n\
         pre_quantization_optimization(equalization, policy=disabled)\n",
        "transpose(input_layer1)\n",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    sweep("alls", &seeds, true, &dir, &["nms.json"], |bytes| {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let src = hailo_alls::SourceFile::new("s.alls", text);
        let checked = hailo_alls::check_source(&src, hailo_alls::CheckOptions::default());
        if let Some(d) = checked.diagnostics.iter().find(|d| d.is_error()) {
            return Err(d.message.clone());
        }
        let mut m = hailo_ir::parse_module(&ctx, "tiny.hir", TINY_HIR).expect("tiny parses");
        hailo_alls::modifications::apply_model_modifications(&mut m, &ctx, &checked.script, &dir)
            .map_err(|d| d.message)?;
        verified(&m)
    });
}

#[test]
fn sweep_npy_and_npz() {
    let dir = scratch("npz");
    let a = hailo_npz::NpyArray::F32(
        ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[2, 3]), vec![0.5; 6]).expect("array"),
    );
    let npy = hailo_npz::encode_npy(&a);
    let npz_path = dir.join("seed.npz");
    hailo_npz::write_npz(&npz_path, &[("x", a.clone()), ("y", a)]).expect("seed npz");
    let npz = std::fs::read(&npz_path).expect("seed bytes");
    std::fs::remove_file(&npz_path).expect("cleanup");
    let input = dir.join("in.npz");
    sweep("npz", &[npy, npz], false, &dir, &["in.npz"], |bytes| {
        if bytes.starts_with(b"\x93NUMPY") {
            return hailo_npz::decode_npy(bytes)
                .map(|a| drop(a.to_f32()))
                .map_err(|e| e.to_string());
        }
        std::fs::write(&input, bytes).map_err(|e| e.to_string())?;
        hailo_npz::read_npz(&input)
            .map(drop)
            .map_err(|e| e.to_string())
    });
}

#[test]
fn sweep_hef() {
    let dir = scratch("hef");
    let seed = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/reference/hef/arcface_mobilefacenet.hef"),
    )
    .expect("reference HEF");
    sweep("hef", &[seed], false, &dir, &[], |bytes| {
        let violations = hailo_hef::check_bytes(bytes);
        let hef = hailo_hef::Hef::from_bytes_unverified(bytes).map_err(|e| e.to_string())?;
        hailo_hef::HefInfo::new(&hef);
        match violations.first() {
            Some(v) => Err(format!("{v:?}")),
            None => Ok(()),
        }
    });
}
