//! Dev benchmark: output SNR (dB) of our quantized emulation against the float interpreter
//! for every ONNX model in `shared/models`, on the same calibration and evaluation data as
//! `bench/ort_quant_compare.py` (issue 16's protocol: the first 32 calibration images, or the
//! 256 digits samples). Run from the repo root:
//! `cargo run --release -p hailo-quantizer --example snr_per_model [--mode=a16_w8] [--level L] [model ...]`
//! (`--mode`: the precision mode of every layer, a8_w8 by default; `--level`: the optimization
//! level, by default the guide's default for the set size; `--noise`: after each model, the
//! layer noise analysis on the evaluation inputs, lowest single-layer SNR first; `--timing`:
//! the pass manager's time per pass of the quantization; `--per-tensor`: one weight scale per
//! layer, `quantization_groups=1` on every weighted layer; `--samples N`: calibrate on the
//! first N samples instead).

use hailo_dialect_hl::interfaces::{interface, Weights};
use hailo_quantizer::{quantize, Precision, QuantConfig};
use ndarray::{ArrayD, Axis, IxDyn};
use std::path::PathBuf;
use std::time::Instant;

const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/models")
}

fn npz(name: &str, key: &str) -> ArrayD<f32> {
    let entries = hailo_npz::read_npz(models().join(name)).expect("npz reads");
    entries
        .into_iter()
        .find(|(k, _)| k == key || k == &format!("{key}.npy"))
        .map(|(_, a)| a.to_f32())
        .unwrap_or_else(|| panic!("{name} has no key {key}"))
}

/// uint8 NHWC images → the model's float NHWC input (x/255, optional mean/std).
fn preprocess(images: &ArrayD<f32>, normalize: bool) -> ArrayD<f32> {
    let mut x = images.mapv(|v| v / 255.0);
    if normalize {
        for (c, mut lane) in x.axis_iter_mut(Axis(3)).enumerate() {
            lane.mapv_inplace(|v| (v - MEAN[c]) / STD[c]);
        }
    }
    x
}

fn nchw_to_nhwc(x: ArrayD<f32>) -> ArrayD<f32> {
    let p = x.permuted_axes(IxDyn(&[0, 2, 3, 1]));
    p.as_standard_layout().into_owned()
}

/// (calibration NHWC, evaluation NHWC) for a model.
fn data(name: &str) -> (ArrayD<f32>, ArrayD<f32>) {
    match name {
        "digits_cnn_opset13" | "digits_mbv2" => (
            npz("digits_calib.npz", "x_nhwc"),
            npz("digits_test.npz", "x_nhwc"),
        ),
        _ => {
            let (calib, normalize) = if name == "yolo_like_320" {
                ("calib_image_like_320.npz", false)
            } else {
                ("calib_image_like_224.npz", true)
            };
            let key = if name == "yolo_like_320" {
                "images"
            } else {
                "input"
            };
            (
                preprocess(&npz(calib, "images"), normalize),
                nchw_to_nhwc(npz(&format!("{name}_ref.npz"), key)),
            )
        }
    }
}

fn main() {
    let all = [
        "digits_cnn_opset13",
        "digits_mbv2",
        "mobilenet_v2",
        "resnet18",
        "squeezenet1_1",
        "yolo_like_320",
    ];
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let level = args.iter().position(|a| a == "--level").map(|i| {
        let l = args
            .get(i + 1)
            .and_then(|v| v.parse::<i64>().ok())
            .expect("--level N");
        args.drain(i..i + 2);
        l
    });
    let noise = args.iter().any(|a| a == "--noise");
    let timing = args.iter().any(|a| a == "--timing");
    let per_tensor = args.iter().any(|a| a == "--per-tensor");
    args.retain(|a| a != "--noise" && a != "--timing" && a != "--per-tensor");
    let samples = args.iter().position(|a| a == "--samples").map(|i| {
        let n = args
            .get(i + 1)
            .and_then(|v| v.parse::<usize>().ok())
            .expect("--samples N");
        args.drain(i..i + 2);
        n
    });
    let (modes, args): (Vec<String>, Vec<String>) =
        args.into_iter().partition(|a| a.starts_with("--mode="));
    let mode = modes
        .last()
        .map_or("a8_w8", |m| m.trim_start_matches("--mode="));
    let precision =
        Precision::parse(mode).unwrap_or_else(|| panic!("unknown precision mode '{mode}'"));
    println!("| model | calib | eval | {mode} output SNR (dB) | quantize s | emulate s |");
    println!("|---|---|---|---|---|---|");
    for name in all
        .iter()
        .filter(|n| args.is_empty() || args.iter().any(|a| a == *n))
    {
        let model = hailo_onnx::load(models().join(format!("{name}.onnx"))).expect("loads");
        let mut m = hailo_onnx::to_hl::convert(&model, &Default::default())
            .expect("converts")
            .module;
        let (calib, eval) = data(name);
        let n = calib.shape()[0].min(samples.unwrap_or(if name.starts_with("digits") {
            256
        } else {
            32
        }));
        let calib = calib.slice_axis(Axis(0), (0..n).into()).to_owned();
        let float = hailo_executor::Executor::new(&m, "main")
            .expect("prepares")
            .run(std::slice::from_ref(&eval))
            .expect("runs");
        let mut cfg = QuantConfig::default();
        cfg.calibration.calibset_size = n;
        cfg.default_precision = precision;
        cfg.optimization_level = level;
        if per_tensor {
            for op in m.walk(m.top()) {
                let weighted = interface::<dyn Weights>(&m, op).is_some();
                if let Some(l) = m.attr(op, "layer").and_then(|a| a.as_str()) {
                    if weighted {
                        cfg.quant_groups.insert(l.to_owned(), 1);
                    }
                }
            }
        }
        let t = Instant::now();
        if noise {
            noise_table(&m, &calib, &eval, &cfg);
        }
        let quantized = if timing {
            timed_quantize(&mut m, &calib, &cfg)
        } else {
            quantize(&mut m, &[calib], &cfg).map(drop)
        };
        if let Err(e) = quantized {
            println!("| {name} | {n} | {} | error: {e} | | |", eval.shape()[0]);
            continue;
        }
        let tq = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let out = hailo_quantizer::infer(&m, std::slice::from_ref(&eval));
        let te = t.elapsed().as_secs_f64();
        match out {
            Ok(out) => println!(
                "| {name} | {n} | {} | {:.2} | {tq:.1} | {te:.1} |",
                eval.shape()[0],
                hailo_passes::quant::snr::snr_db(&float, &out)
            ),
            Err(e) => println!("| {name} | {n} | {} | error: {e} | | |", eval.shape()[0]),
        }
    }
}

/// Prints the layer noise analysis (`quant-noise-analysis`) of `m` quantized as `cfg` on
/// `calib`, measured on `eval`: the 25 layers of lowest single-layer output SNR.
fn noise_table(m: &hailo_ir::Module, calib: &ArrayD<f32>, eval: &ArrayD<f32>, cfg: &QuantConfig) {
    let mut m = m.clone();
    if let Err(e) = hailo_quantizer::prepare(&mut m, std::slice::from_ref(calib), cfg) {
        println!("noise analysis: {e}");
        return;
    }
    let text = format!(
        "builtin.module(builtin.graph(quant-noise-analysis{{samples={}}}))",
        eval.shape()[0]
    );
    let resources = hailo_quantizer::optimize::resources(std::slice::from_ref(eval), true);
    let mut inst = hailo_ir::pass::Instrumentation::default();
    if let Err(e) = hailo_quantizer::optimize::run_pipeline(&mut m, &text, &resources, &mut inst) {
        println!("noise analysis: {:?}", e.diagnostics);
        return;
    }
    let mut rows: Vec<(f64, f64, String)> = m
        .walk(m.top())
        .into_iter()
        .filter_map(|op| {
            let snr = m.attr(op, "noise.snr")?.as_f64()?;
            let partial = m
                .attr(op, "noise.partial_snr")
                .and_then(|a| a.as_f64())
                .unwrap_or(f64::INFINITY);
            let layer = m.attr(op, "layer")?.as_str()?.to_owned();
            Some((snr, partial, format!("{layer} ({})", m.op(op).name_str())))
        })
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (snr, partial, layer) in rows.iter().take(25) {
        println!("  {layer}: snr {snr:.2} partial {partial:.2}");
    }
}

/// [`quantize`] with the pass manager's timing report printed.
fn timed_quantize(
    m: &mut hailo_ir::Module,
    calib: &ArrayD<f32>,
    cfg: &QuantConfig,
) -> hailo_quantizer::Result<()> {
    let text = format!(
        "builtin.module(builtin.graph({}))",
        hailo_quantizer::pipeline::graph_passes(cfg).join(",")
    );
    let resources = hailo_quantizer::optimize::resources(std::slice::from_ref(calib), true);
    let mut inst = hailo_ir::pass::Instrumentation {
        timing: true,
        ..Default::default()
    };
    let t = Instant::now();
    let pm = hailo_quantizer::optimize::run_pipeline(m, &text, &resources, &mut inst)
        .map_err(|f| hailo_quantizer::QuantError::Calibration(format!("{:?}", f.diagnostics)))?;
    print!("{}", pm.timing_report(t.elapsed(), &[]));
    hailo_quantizer::lower(m)
}
