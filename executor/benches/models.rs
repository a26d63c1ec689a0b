//! Throughput (images/s) of the interpreter on the reference models at batch 1 and 8 with
//! 1 and 2 threads (rayon pool size), and peak memory against weights + the two largest
//! activations. Not a test: run with `cargo bench -p hailo-executor --bench models`
//! (`bench/ort_bench.py` compares with onnxruntime, through the quantizer's `emulation` bench).
//!
//! Every measurement is also printed as a `RESULT {json}` line for that script.
//! `HAILO_BENCH_MODELS=resnet18,digits_cnn_opset13` restricts the models;
//! `HAILO_BENCH_SECONDS` sets the time per setting (default 2).

use hailo_executor::Executor;
use ndarray::{concatenate, ArrayD, Axis, IxDyn};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const MODELS: &[&str] = &[
    "resnet18",
    "mobilenet_v2",
    "squeezenet1_1",
    "digits_cnn_opset13",
];

fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models")
}

fn prepare(model: &str) -> Result<(Executor, ArrayD<f32>), String> {
    let dir = models_dir();
    let onnx = hailo_onnx::load(dir.join(format!("{model}.onnx"))).map_err(|e| e.to_string())?;
    let conv = hailo_onnx::to_hl::convert(&onnx, &Default::default()).map_err(|e| e.to_string())?;
    drop(onnx);
    let interp = Executor::new(&conv.module, "main").map_err(|e| e.to_string())?;
    drop(conv);
    let reference =
        hailo_npz::read_npz(dir.join(format!("{model}_ref.npz"))).map_err(|e| e.to_string())?;
    let name = interp.inputs()[0].original_name.clone().unwrap_or_default();
    let x = reference
        .into_iter()
        .find(|(k, _)| *k == name)
        .map(|(_, a)| a.to_f32())
        .ok_or_else(|| format!("{model}_ref.npz has no input '{name}'"))?;
    let nhwc = x
        .view()
        .permuted_axes(IxDyn(&[0, 2, 3, 1]))
        .as_standard_layout()
        .into_owned();
    Ok((interp, nhwc))
}

/// `batch` samples cycled from the reference samples.
fn make_batch(samples: &ArrayD<f32>, batch: usize) -> ArrayD<f32> {
    let n = samples.shape()[0];
    let views: Vec<_> = (0..batch)
        .map(|i| samples.index_axis(Axis(0), i % n).insert_axis(Axis(0)))
        .collect();
    concatenate(Axis(0), &views).expect("samples share a shape")
}

fn images_per_second(interp: &Executor, x: &ArrayD<f32>, budget: Duration) -> f64 {
    let inputs = [x.clone()];
    interp.run(&inputs).expect("warm-up run");
    let (start, mut runs) = (Instant::now(), 0u32);
    while runs < 3 || start.elapsed() < budget {
        interp.run(&inputs).expect("run");
        runs += 1;
    }
    f64::from(runs) * x.shape()[0] as f64 / start.elapsed().as_secs_f64()
}

fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(target_os = "linux")]
extern "C" {
    /// glibc: returns free heap memory to the system.
    fn malloc_trim(pad: usize) -> i32;
}

/// Peak resident memory (MiB) of one batch run, measured from a high-water mark reset after
/// the loading's garbage went back to the system, and weights + the two largest
/// activations (MiB) of that batch. Called in a fresh process per model (see `main`).
fn memory(interp: &Executor, x: &ArrayD<f32>) -> Option<(f64, f64)> {
    let mut sizes = Vec::new();
    interp
        .run_observed(std::slice::from_ref(x), &mut |o| {
            sizes.push(o.value.len() * 4);
            Ok(())
        })
        .ok()?;
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let bound = interp.weight_bytes() + sizes.iter().take(2).sum::<usize>();
    #[cfg(target_os = "linux")]
    // SAFETY: malloc_trim only releases free heap pages; no live allocation is touched.
    unsafe {
        malloc_trim(0);
    }
    // Writing 5 to clear_refs resets VmHWM to the current resident size.
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    interp.run(std::slice::from_ref(x)).ok()?;
    let mib = |b: f64| b / (1024.0 * 1024.0);
    Some((
        mib(status_kib("VmHWM:")? as f64 * 1024.0),
        mib(bound as f64),
    ))
}

/// Environment variable that makes the bench measure one model's memory and exit.
const MEMORY_OF: &str = "HAILO_BENCH_MEMORY_OF";

/// Prints the memory line of `model` measured in a child process, so that earlier models
/// and the loading do not inflate it.
fn memory_in_child(model: &str) {
    let run = std::env::current_exe().and_then(|exe| {
        std::process::Command::new(exe)
            .env(MEMORY_OF, model)
            .output()
    });
    match run {
        Ok(out) => print!("{}", String::from_utf8_lossy(&out.stdout)),
        Err(e) => println!("{model}: memory not measured: {e}"),
    }
}

fn memory_of(model: &str) {
    let Ok((interp, samples)) = prepare(model) else {
        return;
    };
    if let Some((peak, bound)) = memory(&interp, &make_batch(&samples, 8)) {
        let ratio = peak / bound;
        println!("{model}: peak RSS {peak:.1} MiB at batch 8; weights + two largest activations {bound:.1} MiB; ratio {ratio:.2}");
        println!(
            "RESULT {{\"model\":\"{model}\",\"peak_mib\":{peak:.2},\"bound_mib\":{bound:.2}}}"
        );
    }
}

/// Time per op name over one run (from the gaps between successive layer outputs), slowest
/// first; printed with `HAILO_BENCH_PROFILE=1`.
fn profile(interp: &Executor, x: &ArrayD<f32>) -> Vec<(String, f64)> {
    let mut per_op: Vec<(String, f64)> = Vec::new();
    let mut last = Instant::now();
    let _ = interp.run_observed(std::slice::from_ref(x), &mut |o| {
        let now = Instant::now();
        let ms = (now - last).as_secs_f64() * 1e3;
        last = now;
        match per_op.iter_mut().find(|(k, _)| k == o.op) {
            Some(e) => e.1 += ms,
            None => per_op.push((o.op.to_owned(), ms)),
        }
        Ok(())
    });
    per_op.sort_by(|a, b| b.1.total_cmp(&a.1));
    per_op
}

fn main() {
    if let Ok(model) = std::env::var(MEMORY_OF) {
        memory_of(&model);
        return;
    }
    let wanted = std::env::var("HAILO_BENCH_MODELS").ok();
    let seconds: f64 = std::env::var("HAILO_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let budget = Duration::from_secs_f64(seconds);
    println!(
        "{:<20} {:>7} {:>5} {:>10}",
        "model", "threads", "batch", "images/s"
    );
    for &model in MODELS {
        if wanted
            .as_ref()
            .is_some_and(|w| !w.split(',').any(|m| m == model))
        {
            continue;
        }
        let (interp, samples) = match prepare(model) {
            Ok(p) => p,
            Err(e) => {
                println!("{model}: skipped: {e}");
                continue;
            }
        };
        memory_in_child(model);
        if std::env::var("HAILO_BENCH_PROFILE").is_ok() {
            for batch in [1, 8] {
                let top: Vec<String> = profile(&interp, &make_batch(&samples, batch))
                    .iter()
                    .take(6)
                    .map(|(k, ms)| format!("{k} {ms:.1} ms"))
                    .collect();
                println!("{model} batch {batch} profile: {}", top.join(", "));
            }
        }
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("thread pool");
            for batch in [1, 8] {
                let x = make_batch(&samples, batch);
                let ips = pool.install(|| images_per_second(&interp, &x, budget));
                println!("{model:<20} {threads:>7} {batch:>5} {ips:>10.1}");
                println!("RESULT {{\"model\":\"{model}\",\"threads\":{threads},\"batch\":{batch},\"images_per_s\":{ips:.3}}}");
            }
        }
    }
}
