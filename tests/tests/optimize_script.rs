//! `hailo optimize --model-script` applies the script's model modification commands to a
//! parsed HAR (guide §5.3.3) before quantizing, so the fp-optimized and quantized emulators
//! run the modified model; an already fp-optimized HAR is not modified twice.
//!
//! The script adds `normalization([0.5, 0.5, 0.5], [2, 2, 2])`: feeding the modified model
//! `2x + 0.5` must give what the parsed model gives on `x`.

use clap::Parser;
use hailo_npz::{read_npz, write_npy, NpyArray};
use hailo_tests::{models_dir, read_f32_npz};
use ndarray::{ArrayD, Axis};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
enum Cli {
    Optimize(hailo_tools::cmd::optimize::Args),
    Infer(hailo_tools::cmd::infer::Args),
}

fn hailo(argv: &[&str]) -> ExitCode {
    match Cli::try_parse_from(std::iter::once("hailo").chain(argv.iter().copied())) {
        Ok(Cli::Optimize(a)) => hailo_tools::cmd::optimize::run(a, true),
        Ok(Cli::Infer(a)) => hailo_tools::cmd::infer::run(a, true),
        Err(e) => panic!("{e}"),
    }
}

fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!("hailo-optimize-script-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

fn digits_har(dir: &Path) -> PathBuf {
    let model = hailo_onnx::load(models_dir().join("digits_cnn_opset13.onnx")).expect("loads");
    let m = hailo_onnx::to_hl::convert(&model, &Default::default())
        .expect("converts")
        .module;
    let path = dir.join("digits.har");
    let ctx = hailo_tools::context::full_context(false);
    hailo_har::write_har(&m, &ctx, &hailo_har::HarMetadata::default(), &path, false)
        .expect("HAR written");
    path
}

fn x_of(name: &str, n: usize) -> ArrayD<f32> {
    let data = read_f32_npz(name).unwrap_or_else(|e| panic!("{e}"));
    let x = data
        .into_iter()
        .find(|(k, _)| k == "x_nhwc")
        .map(|(_, a)| a)
        .expect("x_nhwc");
    x.slice_axis(Axis(0), (0..n).into()).to_owned()
}

fn save(dir: &Path, name: &str, a: &ArrayD<f32>) -> PathBuf {
    let p = dir.join(name);
    write_npy(&p, &NpyArray::F32(a.clone())).expect("npy written");
    p
}

fn infer(model: &Path, context: &str, input: &Path, out: &Path) -> ArrayD<f32> {
    let code = hailo(&[
        "infer",
        model.to_str().unwrap(),
        "--context",
        context,
        "--input",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, ExitCode::SUCCESS, "infer {context}");
    read_npz(out).expect("outputs").remove(0).1.to_f32()
}

fn has_layer(har: &Path, layer: &str) -> usize {
    let ctx = hailo_tools::context::full_context(false);
    let (m, _) = hailo_har::read_har(har, &ctx).expect("HAR reads");
    let text = hailo_ir::print_module(&m, &ctx, Default::default());
    text.matches(&format!("layer = \"{layer}\"")).count()
}

#[test]
fn model_modifications_are_applied_once_before_quantization() {
    let dir = scratch();
    let har = digits_har(&dir);
    let script = dir.join("norm.alls");
    std::fs::write(
        &script,
        "normalization1 = normalization([0.5, 0.5, 0.5], [2.0, 2.0, 2.0])\n",
    )
    .unwrap();
    let x = x_of("digits_test.npz", 64);
    let x_in = save(&dir, "x.npy", &x);
    let shifted = save(&dir, "x2.npy", &x.mapv(|v| 2.0 * v + 0.5));

    // Full-precision stage: the normalization layer is in the model and undoes the shift.
    let fp = dir.join("fp.har");
    let code = hailo(&[
        "optimize",
        har.to_str().unwrap(),
        "--model-script",
        script.to_str().unwrap(),
        "--full-precision-only",
        "-o",
        fp.to_str().unwrap(),
    ]);
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(has_layer(&fp, "normalization1"), 1);
    let native = infer(&har, "native", &x_in, &dir.join("native.npz"));
    let modified = infer(&fp, "fp_optimized", &shifted, &dir.join("fp.npz"));
    let max_diff = (&native - &modified)
        .iter()
        .fold(0f32, |m, v| m.max(v.abs()));
    assert!(max_diff < 1e-4, "fp_optimized differs by {max_diff}");

    // Quantizing the fp-optimized HAR with the archived script: not normalized twice.
    let calib = save(
        &dir,
        "calib.npy",
        &x_of("digits_calib.npz", 64).mapv(|v| 2.0 * v + 0.5),
    );
    let q = dir.join("q.har");
    let code = hailo(&[
        "optimize",
        fp.to_str().unwrap(),
        "--calib-set-path",
        calib.to_str().unwrap(),
        "-o",
        q.to_str().unwrap(),
    ]);
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(has_layer(&q, "normalization1"), 1);
    let quantized = infer(&q, "quantized", &shifted, &dir.join("q.npz"));
    let argmax = |a: &ArrayD<f32>| -> Vec<usize> {
        a.outer_iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .fold(0, |b, (i, &v)| if v > r[b] { i } else { b })
            })
            .collect()
    };
    let agree = argmax(&native)
        .iter()
        .zip(argmax(&quantized))
        .filter(|(a, b)| **a == *b)
        .count();
    assert!(agree >= 62, "quantized agrees with float on {agree}/64");
    std::fs::remove_dir_all(&dir).ok();
}
