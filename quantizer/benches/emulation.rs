//! Throughput (images/s) of float and integer (quantized) emulation on resnet18 and
//! mobilenet_v2 at batch 1 and 8 with 1 and 2 threads (rayon pool size). Not a test: run with
//! `cargo bench -p hailo-quantizer --bench emulation`; `HAILO_BENCH_SECONDS` sets the time per
//! setting (default 2), `HAILO_BENCH_MODELS=resnet18` restricts the models.
//!
//! Each measurement is also printed as a `RESULT {json}` line; an older commit measured with its
//! own copy of this file gives the other half of a before/after table (build the two in
//! separate target directories: a shared one can serve one commit's crates to the other).
//!
//! With `HAILO_BENCH_SERVE=1` it instead reads requests `<model> <float|integer> <batch>
//! <threads> <seconds>` from stdin, one per line, and answers each with one `RESULT` line:
//! `bench/ort_bench.py` interleaves these with onnxruntime runs of the same setting, so both
//! sides see the same machine load. Any shared model runs as `float`; `integer` needs the
//! 224×224 calibration images (resnet18, mobilenet_v2).

use hailo_executor::{Executor, GraphRef};
use hailo_quantizer::{quantize, QuantConfig};
use ndarray::{concatenate, ArrayD, Axis, IxDyn, Slice};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];

fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/models")
}

fn npz(name: &str, key: &str) -> ArrayD<f32> {
    hailo_npz::read_npz(models_dir().join(name))
        .expect("npz reads")
        .into_iter()
        .find(|(k, _)| k.trim_end_matches(".npy") == key)
        .map(|(_, a)| a.to_f32())
        .unwrap_or_else(|| panic!("{name} has no key {key}"))
}

/// Normalized NHWC calibration images (the first 16).
fn calibration() -> ArrayD<f32> {
    let mut x = npz("calib_image_like_224.npz", "images").mapv(|v| v / 255.0);
    for (c, mut lane) in x.axis_iter_mut(Axis(3)).enumerate() {
        lane.mapv_inplace(|v| (v - MEAN[c]) / STD[c]);
    }
    x.slice_axis(Axis(0), Slice::from(0..16)).to_owned()
}

fn batch(samples: &ArrayD<f32>, n: usize) -> ArrayD<f32> {
    let views: Vec<_> = (0..n)
        .map(|i| {
            samples
                .index_axis(Axis(0), i % samples.shape()[0])
                .insert_axis(Axis(0))
        })
        .collect();
    concatenate(Axis(0), &views).expect("samples share a shape")
}

/// One batch run of a prepared emulation.
type Runner<'a> = dyn Fn(&[ArrayD<f32>]) + Sync + 'a;

/// Images per second of `run` on `x` over at least `budget` (and 3 runs), after a warm-up.
fn images_per_second(run: &Runner<'_>, x: &ArrayD<f32>, budget: Duration) -> f64 {
    let inputs = [x.clone()];
    run(&inputs);
    let (start, mut runs) = (Instant::now(), 0u32);
    while runs < 3 || start.elapsed() < budget {
        run(&inputs);
        runs += 1;
    }
    f64::from(runs) * x.shape()[0] as f64 / start.elapsed().as_secs_f64()
}

/// The float and integer emulations of a shared model, and its reference inputs (NHWC).
struct Prepared {
    float: Executor,
    integer: Option<Executor>,
    samples: ArrayD<f32>,
}

fn prepare(model: &str, calib: &ArrayD<f32>, integer: bool) -> Prepared {
    let onnx = hailo_onnx::load(models_dir().join(format!("{model}.onnx"))).expect("loads");
    let mut m = hailo_onnx::to_hl::convert(&onnx, &Default::default())
        .expect("converts")
        .module;
    let float = Executor::new(&m, "main").expect("prepares");
    let input = float.inputs()[0].original_name.clone().unwrap_or_default();
    let samples = npz(&format!("{model}_ref.npz"), &input)
        .permuted_axes(IxDyn(&[0, 2, 3, 1]))
        .as_standard_layout()
        .into_owned();
    let integer = integer.then(|| {
        let mut cfg = QuantConfig::default();
        cfg.calibration.calibset_size = calib.shape()[0];
        quantize(&mut m, std::slice::from_ref(calib), &cfg).expect("quantizes");
        // `quantize` leaves the module in `q` (older commits: annotated `hl`, lowered here).
        let lowered = hailo_quantizer::infer::lowered(&m).expect("lowers");
        Executor::new(lowered.as_ref().unwrap_or(&m), GraphRef::First).expect("prepares")
    });
    Prepared {
        float,
        integer,
        samples,
    }
}

/// Answers measurement requests from stdin (see the module doc).
fn serve(calib: &ArrayD<f32>) {
    let mut models: BTreeMap<String, Prepared> = BTreeMap::new();
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin");
        let f: Vec<&str> = line.split_whitespace().collect();
        let [model, kind, n, threads, seconds] = f[..] else {
            println!("ERROR expected '<model> <float|integer> <batch> <threads> <seconds>', got '{line}'");
            continue;
        };
        let (Ok(n), Ok(threads), Ok(seconds)) = (n.parse(), threads.parse(), seconds.parse())
        else {
            println!("ERROR batch, threads and seconds must be numbers in '{line}'");
            continue;
        };
        let p = models
            .entry(model.to_owned())
            .or_insert_with(|| prepare(model, calib, kind == "integer"));
        if kind == "integer" && p.integer.is_none() {
            *p = prepare(model, calib, true);
        }
        let exec = match kind {
            "integer" => p.integer.as_ref().expect("prepared above"),
            _ => &p.float,
        };
        let run = |x: &[ArrayD<f32>]| {
            exec.run(x).expect("runs");
        };
        let x = batch(&p.samples, n);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        let ips = pool.install(|| images_per_second(&run, &x, Duration::from_secs_f64(seconds)));
        println!(
            "RESULT {{\"model\":\"{model}\",\"kind\":\"{kind}\",\"batch\":{n},\"threads\":{threads},\"ips\":{ips:.3}}}"
        );
        std::io::stdout().flush().expect("stdout");
    }
}

fn main() {
    if std::env::var("HAILO_BENCH_SERVE").is_ok() {
        return serve(&calibration());
    }
    let budget = Duration::from_secs_f64(
        std::env::var("HAILO_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2.0),
    );
    let only = std::env::var("HAILO_BENCH_MODELS").unwrap_or_default();
    let calib = calibration();
    println!("| model | emulation | batch | threads | images/s |");
    println!("|---|---|---|---|---|");
    for model in ["resnet18", "mobilenet_v2"] {
        if !only.is_empty() && !only.split(',').any(|m| m == model) {
            continue;
        }
        let p = prepare(model, &calib, true);
        let integer = p.integer.as_ref().expect("prepared");
        let (float, samples) = (&p.float, &p.samples);
        let run_float = |x: &[ArrayD<f32>]| {
            float.run(x).expect("runs");
        };
        let run_integer = |x: &[ArrayD<f32>]| {
            integer.run(x).expect("runs");
        };
        let kinds: [(&str, &Runner<'_>); 2] = [("float", &run_float), ("integer", &run_integer)];
        for (kind, run) in kinds {
            for n in [1, 8] {
                let x = batch(samples, n);
                for threads in [1, 2] {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .expect("thread pool");
                    let ips = pool.install(|| images_per_second(run, &x, budget));
                    println!("| {model} | {kind} | {n} | {threads} | {ips:.2} |");
                    println!(
                        "RESULT {{\"model\":\"{model}\",\"kind\":\"{kind}\",\"batch\":{n},\"threads\":{threads},\"ips\":{ips:.3}}}"
                    );
                }
            }
        }
    }
}
