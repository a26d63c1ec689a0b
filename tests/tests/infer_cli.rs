//! `hailo infer` end to end on `tests/data/tiny.hir`: input formats (.npy, .npz by layer or
//! original name, a directory of samples, NCHW layout), batching, output keys and aliases,
//! layer dumps, and the exact errors for bad inputs.

use clap::Parser;
use hailo_npz::{read_npy, read_npz, write_npy, write_npz, NpyArray};
use hailo_tools::cmd::infer::{infer, Args};
use ndarray::{array, ArrayD, Axis, IxDyn};
use std::path::{Path, PathBuf};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: Args,
}

fn model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/tiny.hir")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hailo-infer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Two NHWC samples and their expected outputs (see tiny.hir).
fn samples() -> (ArrayD<f32>, ArrayD<f32>) {
    let x = array![
        [[[1.0f32, 2.0], [3.0, 1.0]], [[-1.0, 0.0], [2.0, 2.0]]],
        [[[0.0, 1.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]]
    ];
    (
        x.into_dyn(),
        array![[1.5f32, 1.25, 0.5], [0.0, 1.0, 1.0]].into_dyn(),
    )
}

fn run(input: &Path, out: &Path, extra: &[&str]) -> Result<(), String> {
    let mut argv: Vec<String> = vec!["infer".into(), model().display().to_string()];
    argv.extend([
        "--input".into(),
        input.display().to_string(),
        "-o".into(),
        out.display().to_string(),
    ]);
    argv.extend(extra.iter().map(|s| s.to_string()));
    let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
    infer(&cli.args, true)
}

fn outputs(path: &Path) -> Vec<(String, ArrayD<f32>)> {
    read_npz(path)
        .expect("output npz")
        .into_iter()
        .map(|(k, a)| (k, a.to_f32()))
        .collect()
}

#[test]
fn npy_input_batches_and_writes_names_and_aliases() {
    let dir = temp_dir("npy");
    let (x, expected) = samples();
    write_npy(dir.join("x.npy"), &NpyArray::F32(x)).expect("write");
    run(
        &dir.join("x.npy"),
        &dir.join("out.npz"),
        &["--batch-size", "1"],
    )
    .expect("infer");
    let out = outputs(&dir.join("out.npz"));
    let keys: Vec<&str> = out.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["output_layer1", "logits"]);
    assert_eq!(out[0].1, expected);
    assert_eq!(out[1].1, expected);
}

#[test]
fn npz_by_original_name_in_nchw_with_data_count() {
    let dir = temp_dir("npz");
    let (x, expected) = samples();
    let nchw = x
        .view()
        .permuted_axes(IxDyn(&[0, 3, 1, 2]))
        .as_standard_layout()
        .into_owned();
    write_npz(dir.join("x.npz"), &[("input", NpyArray::F32(nchw))]).expect("write");
    run(
        &dir.join("x.npz"),
        &dir.join("out.npz"),
        &["--input-layout", "nchw", "--data-count", "1"],
    )
    .expect("infer");
    let out = outputs(&dir.join("out.npz"));
    assert_eq!(
        out[0].1,
        expected.slice_axis(Axis(0), (0..1).into()).to_owned()
    );
}

#[test]
fn directory_of_samples_and_layer_dump() {
    let dir = temp_dir("dir");
    let (x, expected) = samples();
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("dir");
    for (i, s) in x.outer_iter().enumerate() {
        write_npy(
            data.join(format!("sample{i}.npy")),
            &NpyArray::F32(s.to_owned()),
        )
        .expect("write");
    }
    let dump = dir.join("layers");
    run(
        &data,
        &dir.join("out.npz"),
        &["--dump-layers", dump.to_str().expect("utf-8")],
    )
    .expect("infer");
    assert_eq!(outputs(&dir.join("out.npz"))[0].1, expected);
    let conv = read_npy(dump.join("conv1.npy"))
        .expect("conv1 dump")
        .to_f32();
    assert_eq!(conv.shape(), &[2, 2, 2, 3]);
    // Sample 0, pixel (0, 1) = (3, 1): relu(3), relu(1), relu(1 - 3).
    assert_eq!(
        conv.slice(ndarray::s![0, 0, 1, ..]).to_vec(),
        [3.0, 1.0, 0.0]
    );
    for layer in ["input_layer1", "avgpool1", "reshape1", "output_layer1"] {
        assert!(
            dump.join(format!("{layer}.npy")).exists(),
            "{layer}.npy missing"
        );
    }
}

#[test]
fn bad_inputs_give_clear_errors() {
    let dir = temp_dir("errors");
    let (x, _) = samples();
    let out = dir.join("out.npz");

    let p = dir.join("wrong.npy");
    let wrong = ArrayD::<f32>::zeros(IxDyn(&[2, 3, 2, 2]));
    write_npy(&p, &NpyArray::F32(wrong)).expect("write");
    let err = run(&p, &out, &[]).expect_err("wrong shape");
    assert_eq!(
        err,
        format!("{}: input input_layer1 (original name 'input') has shape [2, 3, 2, 2] but the model expects [N, 2, 2, 2] (NHWC)", p.display())
    );

    let p = dir.join("ints.npy");
    write_npy(&p, &NpyArray::U8(ArrayD::zeros(IxDyn(&[1, 2, 2, 2])))).expect("write");
    let err = run(&p, &out, &[]).expect_err("dtype");
    assert_eq!(
        err,
        format!("{} has dtype uint8; the model takes float32 data (apply the model's preprocessing and convert to float32)", p.display())
    );

    let p = dir.join("keys.npz");
    write_npz(&p, &[("images", NpyArray::F32(x))]).expect("write");
    let err = run(&p, &out, &[]).expect_err("missing name");
    assert_eq!(
        err,
        format!("{}: no array for input input_layer1 (original name 'input'); the archive holds: images", p.display())
    );
    assert!(!out.exists(), "no output is written on error");

    let err = run(&p, &out, &["--context", "bogus"]).expect_err("bad context");
    assert!(
        err.contains("invalid value 'bogus' for '--context <CONTEXT>'"),
        "{err}"
    );
    let err = run(&p, &out, &["--context", "quantized"]).expect_err("quantized needs a HAR");
    assert!(
        err.ends_with("tiny.hir: the quantized context runs a HAR written by `hailo optimize`"),
        "{err}"
    );
}

#[test]
fn har_model_with_uneven_batches_matches_the_library() {
    let dir = temp_dir("har");
    let onnx =
        hailo_onnx::load(hailo_tests::models_dir().join("digits_cnn_opset13.onnx")).expect("loads");
    let module = hailo_onnx::to_hl::convert(&onnx, &Default::default())
        .expect("converts")
        .module;
    let har = dir.join("digits.har");
    let ctx = hailo_tools::context::full_context(false);
    hailo_har::write_har(
        &module,
        &ctx,
        &hailo_har::HarMetadata::default(),
        &har,
        false,
    )
    .expect("writes HAR");
    let test = hailo_tests::read_f32_npz("digits_test.npz").expect("digits_test.npz");
    let x = test
        .iter()
        .find(|(k, _)| k == "x_nchw")
        .map(|(_, a)| a.slice_axis(Axis(0), (0..16).into()).to_owned());
    let x = x.expect("x_nchw");
    write_npz(dir.join("x.npz"), &[("input", NpyArray::F32(x.clone()))]).expect("write");
    let mut argv: Vec<String> = vec!["infer".into(), har.display().to_string(), "--input".into()];
    argv.push(dir.join("x.npz").display().to_string());
    argv.extend(
        [
            "--input-layout",
            "nchw",
            "--batch-size",
            "5",
            "--context",
            "fp_optimized",
            "-o",
        ]
        .map(String::from),
    );
    argv.push(dir.join("out.npz").display().to_string());
    infer(&Cli::try_parse_from(argv).expect("args").args, true).expect("infer");
    let out = outputs(&dir.join("out.npz"));
    assert_eq!(
        out.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["output_layer1", "logits"]
    );
    let interp = hailo_executor::Executor::new(&module, "main").expect("prepares");
    let direct = interp.run(&[hailo_tests::to_nhwc(&x)]).expect("runs");
    let a = hailo_tests::compare(&out[0].1, &direct[0], 1e-5, 1e-5).expect("same shape");
    assert_eq!(a.violations, 0, "{a:?}");
}
