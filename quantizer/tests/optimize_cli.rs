//! `hailo optimize` on the digits HAR (made here with the ONNX frontend and the HAR writer),
//! then quantized emulation of the written HAR on digits_test.npz: accuracy within 0.5 point
//! of float (98.05%); the report in the HAR; bad calibration data exits 1 with no output.
//!
//! The command's source (`tools/src/cmd/optimize.rs`) is compiled into this test, so the
//! test exercises the real argument parsing and exit codes without the `hailo` binary.

#[path = "../../tools/src/instrument.rs"]
mod instrument;
#[path = "../../tools/src/cmd/optimize.rs"]
mod optimize;

mod common;

use common::{models, npz};

use clap::Parser;
use ndarray::{ArrayD, Axis};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: optimize::Args,
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hailo-optimize-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

fn digits_har(dir: &Path) -> PathBuf {
    let model = hailo_onnx::load(models().join("digits_cnn_opset13.onnx")).expect("loads");
    let m = hailo_onnx::to_hl::convert(&model, &Default::default())
        .expect("converts")
        .module;
    let path = dir.join("digits.har");
    let meta = hailo_har::HarMetadata::default();
    hailo_har::write_har(&m, &common::ctx(), &meta, &path, false).expect("HAR written");
    path
}

fn optimize(args: &[&str]) -> ExitCode {
    let cli = Cli::try_parse_from(std::iter::once("optimize").chain(args.iter().copied()))
        .expect("arguments parse");
    optimize::run(cli.args, true)
}

#[test]
fn optimize_digits_then_quantized_emulation_accuracy() {
    let dir = scratch("digits");
    let har = digits_har(&dir);
    let out = dir.join("digits_q.har");
    // The shared digits set holds x_nchw and x_nhwc: NCHW data is chosen by the layout.
    let calib = models().join("digits_calib.npz");
    let code = optimize(&[
        har.to_str().unwrap(),
        "--calib-set-path",
        calib.to_str().unwrap(),
        "--input-layout",
        "nchw",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, ExitCode::SUCCESS);
    let m = hailo_quantizer::flow::read_quantized(&out).expect("quantized HAR reads");
    let (_, meta) = hailo_har::read_har(&out, &common::ctx()).expect("reads");
    let report = meta.quantization.expect("report stored");
    assert_eq!(report.calibset_size, 64);
    assert_eq!(report.weight_bit_ratios["8"], 1.0);
    let conv = report
        .layers
        .iter()
        .find(|l| l.op == "hl.conv2d")
        .expect("a conv layer");
    assert_eq!(
        (
            conv.input_bits.as_slice(),
            conv.weight_bits,
            conv.output_bits
        ),
        (&[8][..], Some(8), 8)
    );
    assert!(
        conv.stats_max > 0.0 && conv.partial_snr_db.is_some_and(|s| s > 20.0),
        "{conv:?}"
    );
    assert!(
        report.output_snr_db[0].is_some_and(|s| s > 20.0),
        "{:?}",
        report.output_snr_db
    );

    let (x, y) = (
        npz("digits_test.npz", "x_nhwc"),
        npz("digits_test.npz", "y"),
    );
    let out = hailo_quantizer::infer(&m, &[x]).expect("emulates");
    let acc = common::accuracy(&out[0], &y);
    assert!(acc >= 98.05 - 0.5, "quantized accuracy {acc}");
}

fn assert_fails_cleanly(dir: &Path, har: &Path, calib: &Path, extra: &[&str]) {
    let out = dir.join("bad_q.har");
    let mut args = vec![
        har.to_str().unwrap(),
        "--calib-set-path",
        calib.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    assert_eq!(optimize(&args), ExitCode::FAILURE);
    assert!(!out.exists(), "no output file after a failure");
}

/// `hailo optimize` as a library call on NHWC calibration data.
fn run_flow(
    har: &Path,
    calib: &Path,
    script: Option<&Path>,
    output: &Path,
) -> Result<hailo_quantizer::flow::OptimizeSummary, String> {
    let req = hailo_quantizer::flow::OptimizeRequest {
        har: har.to_path_buf(),
        calib: hailo_quantizer::flow::CalibSource::Path(
            calib.to_path_buf(),
            hailo_executor::dataset::Layout::Nhwc,
        ),
        model_script: script.map(Path::to_path_buf),
        full_precision_only: false,
        output: output.to_path_buf(),
        quiet: true,
        pass_pipeline: None,
        dump_pipeline: true,
        instrumentation: hailo_ir::pass::Instrumentation {
            timing: true,
            ..Default::default()
        },
        reproducer: None,
    };
    hailo_quantizer::flow::optimize_har(&req)
}

/// The pipeline `hailo optimize --dump-pass-pipeline` prints (the script's model modification
/// with its resolved options, the quantization passes, hl-to-quant), replayed by the pass
/// manager on the parsed graph with the same calibration file (as `hailo-opt --calib-set`
/// does), gives the quantized HAR's graph (lowered) byte for byte.
#[test]
fn dumped_pipeline_replays_to_the_written_har() {
    let dir = scratch("dump");
    let har = digits_har(&dir);
    let calib = dir.join("calib.npy");
    let x = npz("digits_calib.npz", "x_nhwc");
    hailo_npz::write_npy(&calib, &hailo_npz::NpyArray::F32(x)).expect("npy written");
    let script = dir.join("script.alls");
    std::fs::write(
        &script,
        "normalization1 = normalization([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])\n\
         quantization_param(conv1, precision_mode=a16_w16)\n\
         quantization_param(conv2, precision_mode=a8_w4)\n\
         model_optimization_config(calibration, batch_size=4, calibset_size=32)\n",
    )
    .expect("script written");
    let out = dir.join("q.har");
    let summary = run_flow(&har, &calib, Some(&script), &out).expect("optimizes");
    let timing = &summary.instrumentation;
    assert!(
        timing.contains("quant-calibrate")
            && timing.contains("quant-weight-clipping")
            && timing.contains("hl-normalization")
            && timing.contains("hl-to-quant"),
        "{timing}"
    );
    let pipeline = summary.pipeline.expect("asked for");
    assert!(
        pipeline
            .starts_with("builtin.module(hl-normalization{mean=[0.5,0.5,0.5] std=[0.25,0.25,0.25]")
            && pipeline.contains("quant-calibrate{samples=32 batch-size=4}")
            && pipeline.contains("layers=[conv1:a16_w16,conv2:a8_w4]"),
        "{pipeline}"
    );

    let mut written = hailo_quantizer::flow::read_quantized(&out).expect("reads");
    hailo_quantizer::lower(&mut written).expect("lowers");

    let ctx = common::ctx();
    let (mut replayed, _) = hailo_har::read_har(&har, &ctx).expect("reads the parsed HAR");
    let inputs =
        hailo_executor::graph_inputs(&replayed, hailo_executor::GraphRef::First).expect("inputs");
    let data = hailo_executor::dataset::Source {
        path: &calib,
        layout: hailo_executor::dataset::Layout::Nhwc,
        purpose: hailo_executor::dataset::Purpose::Calibration,
        member: None,
        net: None,
    }
    .read(&inputs)
    .expect("reads the calibration set");
    let mut resources = hailo_ir::pass::Resources::new();
    resources.insert(hailo_executor::dataset::CalibrationSet(data));
    let mut pm = hailo_ir::pass::OpPassManager::parse(&pipeline, &hailo_passes::registry())
        .expect("the dumped pipeline parses");
    let top = replayed.top();
    pm.run_with(
        &mut replayed,
        &ctx,
        top,
        &mut hailo_ir::pass::Instrumentation::default(),
        &resources,
    )
    .expect("the pipeline runs");
    let print = |m: &hailo_ir::Module| hailo_ir::print_module(m, &ctx, Default::default());
    let text = print(&written);
    assert!(text.contains("q.conv2d") && text.contains("<u16:f32") && text.contains("<i4:f32"));
    assert!(text.contains("normalization1"), "the modification ran");
    assert_eq!(text, print(&replayed));
}

#[test]
fn bad_calibration_data_is_an_error_without_output() {
    let dir = scratch("bad");
    let har = digits_har(&dir);
    let x = npz("digits_calib.npz", "x_nhwc");
    let write = |name: &str, a: &ArrayD<f32>| {
        let p = dir.join(name);
        hailo_npz::write_npy(&p, &hailo_npz::NpyArray::F32(a.clone())).expect("npy written");
        p
    };
    let flow = |p: &Path, script: Option<&Path>| {
        run_flow(&har, p, script, &dir.join("bad_q.har")).expect_err("must fail")
    };
    // Wrong shape: NCHW data read as NHWC.
    let nchw = write("nchw.npy", &npz("digits_calib.npz", "x_nchw"));
    assert_fails_cleanly(&dir, &har, &nchw, &[]);
    let e = flow(&nchw, None);
    assert!(
        e.contains("shape [256, 3, 32, 32] does not fit input 'input_layer1'")
            && e.contains("--input-layout nchw"),
        "{e}"
    );
    // No samples at all.
    let empty = write(
        "empty.npy",
        &x.slice_axis(Axis(0), (0..0).into()).to_owned(),
    );
    assert_fails_cleanly(&dir, &har, &empty, &[]);
    assert_eq!(
        flow(&empty, None),
        format!("{}: the calibration set has no samples", empty.display())
    );
    // NaN.
    let mut nan = x.clone();
    nan[[3, 1, 2, 0]] = f32::NAN;
    let nan = write("nan.npy", &nan);
    assert_fails_cleanly(&dir, &har, &nan, &[]);
    let e = flow(&nan, None);
    assert!(
        e.contains("is not finite")
            && e.contains(&format!("flat index {}", ((3 * 32 + 1) * 32 + 2) * 3)),
        "{e}"
    );
    // Ambiguous npz without --input-layout: x_nhwc fits, x_nchw does not: accepted.
    let ok = dir.join("ok_q.har");
    let calib = models().join("digits_calib.npz");
    assert_eq!(
        optimize(&[
            har.to_str().unwrap(),
            "--calib-set-path",
            calib.to_str().unwrap(),
            "-o",
            ok.to_str().unwrap()
        ]),
        ExitCode::SUCCESS
    );
}

/// Fewer samples than the calibset_size a model script asks for: all are used, with a warning,
/// and the report records the number used. (The CLI's single warning for the default size is
/// tested in tools/tests/optimize.rs.)
#[test]
fn a_calibration_set_smaller_than_calibset_size_is_used_whole() {
    let dir = scratch("small");
    let har = digits_har(&dir);
    let calib = dir.join("calib.npy");
    let x = npz("digits_calib.npz", "x_nhwc");
    hailo_npz::write_npy(&calib, &hailo_npz::NpyArray::F32(x)).expect("npy written");
    let script = dir.join("s.alls");
    std::fs::write(
        &script,
        "model_optimization_config(calibration, calibset_size=512)\n",
    )
    .unwrap();
    let out = dir.join("small_q.har");
    let summary = run_flow(&har, &calib, Some(&script), &out).expect("optimizes");
    assert_eq!(
        summary.warnings,
        ["the calibration set has 256 samples, fewer than calibset_size (512): calibrating on all \
          256; the DFC guide recommends at least 1024 calibration samples (optimization levels 2 \
          and 4 require 1024, level 3 requires 256)"]
    );
    assert_eq!(summary.report.expect("quantized").calibset_size, 256);
    assert!(out.exists());
}

/// `set_seed(seed=…)` seeds the random calibration set (`--use-random-calib-set`): the same
/// seed gives the same archive byte for byte, another seed other ranges.
#[test]
fn set_seed_seeds_the_random_calibration_set() {
    let dir = scratch("seed");
    let har = digits_har(&dir);
    let run = |seed: Option<u32>, name: &str| {
        let script = seed.map(|s| {
            let p = dir.join(format!("{name}.alls"));
            std::fs::write(&p, format!("set_seed(seed={s})\n")).expect("script written");
            p
        });
        let out = dir.join(format!("{name}.har"));
        let req = hailo_quantizer::flow::OptimizeRequest {
            har: har.clone(),
            calib: hailo_quantizer::flow::CalibSource::Random,
            model_script: script,
            full_precision_only: false,
            output: out.clone(),
            quiet: true,
            pass_pipeline: None,
            dump_pipeline: false,
            instrumentation: Default::default(),
            reproducer: None,
        };
        let summary = hailo_quantizer::flow::optimize_har(&req).expect("optimizes");
        let ranges: Vec<f64> = summary
            .report
            .expect("quantized")
            .layers
            .iter()
            .map(|l| l.stats_max)
            .collect();
        (std::fs::read(out).expect("written"), ranges)
    };
    let (a, ra) = run(Some(1), "a");
    let (b, _) = run(Some(1), "b");
    let (_, rc) = run(Some(2), "c");
    let (_, rd) = run(None, "d");
    assert_eq!(a, b, "same seed, same archive");
    assert_ne!(ra, rc, "another seed, other calibration data");
    assert_ne!(ra, rd, "the seed is read");
}

/// A layer the Hailo-8 cannot run (padding that is none of VALID, SAME or SAME_TENSORFLOW)
/// still quantizes, with a warning naming the layer and the limit that the compiler will refuse.
#[test]
fn layers_beyond_the_chip_limits_are_warned_at_optimize_time() {
    let dir = scratch("limits");
    let text = r#"builtin.module @pad {
  builtin.graph @main(%x: tensor<1x8x8x3xf32>) -> tensor<1x8x8x2xf32> {
    %i = hl.input_layer %x {layer = "input_layer1"} : tensor<1x8x8x3xf32>
    %k = hl.const dense<0.5> : tensor<3x3x3x2xf32>
    %c = hl.conv2d %i, %k {layer = "conv1", padding = "EXPLICIT", pads = [2, 2, 0, 0]} : tensor<1x8x8x2xf32>
    %o = hl.output_layer %c {layer = "output_layer1"} : tensor<1x8x8x2xf32>
    builtin.return %o : tensor<1x8x8x2xf32>
  }
}
"#;
    let ctx = common::ctx();
    let m = hailo_ir::parse_module(&ctx, "pad.hir", text).expect("parses");
    let har = dir.join("pad.har");
    let meta = hailo_har::HarMetadata::default();
    hailo_har::write_har(&m, &ctx, &meta, &har, false).expect("HAR written");
    let calib = dir.join("calib.npy");
    let x = ArrayD::from_shape_fn(ndarray::IxDyn(&[4, 8, 8, 3]), |i| {
        (i[1] * 3 + i[3]) as f32 * 0.1
    });
    hailo_npz::write_npy(&calib, &hailo_npz::NpyArray::F32(x)).expect("npy written");
    let summary = run_flow(&har, &calib, None, &dir.join("q.har")).expect("quantizes");
    assert!(
        summary.warnings.iter().any(|w| w.contains(
            "phys-verify: layer 'conv1': pads [2, 2, 0, 0] are none of VALID, SAME or \
             SAME_TENSORFLOW for a 8x8 input, kernel 3x3 and stride 1x1 (DFC guide 5.5): \
             `hailo compiler` for hailo8 will refuse this"
        )),
        "{:?}",
        summary.warnings
    );
    // The digits model fits the chip: no such warning.
    let digits = digits_har(&dir);
    let calib = dir.join("digits.npy");
    let x = npz("digits_calib.npz", "x_nhwc");
    hailo_npz::write_npy(&calib, &hailo_npz::NpyArray::F32(x)).expect("npy written");
    let summary = run_flow(&digits, &calib, None, &dir.join("dq.har")).expect("quantizes");
    assert!(
        summary
            .warnings
            .iter()
            .all(|w| !w.contains("hailo compiler")),
        "{:?}",
        summary.warnings
    );
}
