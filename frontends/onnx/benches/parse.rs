//! Parse cost of the ONNX frontend on the reference models: wall time of load + conversion
//! to `hl` (median of several runs) and the peak heap in use during it (a counting global
//! allocator), as a ratio to the model's weight bytes; the model is consumed by
//! `to_hl::convert_owned`. Targets: under 1 s and under 2x the
//! weights for a resnet50-sized model. Not a test: `cargo bench -p hailo-onnx --bench parse`.
//!
//! Models come from `HAILO_MODELS` (a directory) or `../shared/models` beside the workspace;
//! `HAILO_BENCH_RUNS` sets the runs per model (default 5). A synthetic model with
//! resnet50's weight volume is generated into a temporary directory and measured too. Each model also prints a
//! `RESULT {json}` line.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The system allocator, counting bytes in use and their high-water mark.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to the system allocator unchanged; only counters are updated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size >= layout.size() {
                let grow = new_size - layout.size();
                let now = IN_USE.fetch_add(grow, Ordering::Relaxed) + grow;
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                IN_USE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const MODELS: &[&str] = &["resnet18", "mobilenet_v2"];

fn models_dir() -> PathBuf {
    std::env::var_os("HAILO_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models"))
}

/// Bytes of the model's float weights as float32 (float initializers and constants).
fn weight_bytes(model: &hailo_onnx::OnnxModel) -> usize {
    model
        .constants
        .values()
        .filter(|t| t.dtype().is_float())
        .map(|t| t.len() * 4)
        .sum()
}

/// Cost of one load + convert.
#[derive(Clone, Copy, Default)]
struct Cost {
    secs: f64,
    /// Peak heap above what was in use before, while loading.
    load_peak: usize,
    /// Peak heap above what was in use before, over load and conversion.
    peak: usize,
}

/// One load + convert (the model is consumed, as a compiler driver would).
fn parse_once(path: &std::path::Path) -> Result<Cost, String> {
    let base = IN_USE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let start = Instant::now();
    let model = hailo_onnx::load(path).map_err(|e| e.to_string())?;
    let load_peak = PEAK.load(Ordering::Relaxed) - base;
    let conv =
        hailo_onnx::to_hl::convert_owned(model, &Default::default()).map_err(|e| e.to_string())?;
    let secs = start.elapsed().as_secs_f64();
    drop(conv);
    Ok(Cost {
        secs,
        load_peak,
        peak: PEAK.load(Ordering::Relaxed) - base,
    })
}

fn main() {
    let runs: usize = std::env::var("HAILO_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(5);
    let dir = models_dir();
    let mut cases: Vec<(String, PathBuf)> = MODELS
        .iter()
        .map(|name| (name.to_string(), dir.join(format!("{name}.onnx"))))
        .collect();
    let scratch =
        std::env::temp_dir().join(format!("hailo-onnx-parse-bench-{}", std::process::id()));
    match write_resnet50_sized(&scratch) {
        Ok(path) => cases.push(("synthetic_resnet50_sized".into(), path)),
        Err(e) => eprintln!("synthetic_resnet50_sized: skipped ({e})"),
    }
    for (name, path) in &cases {
        let weights = match hailo_onnx::load(path) {
            Ok(m) => weight_bytes(&m),
            Err(e) => {
                eprintln!("{name}: skipped ({e})");
                continue;
            }
        };
        let mut times = Vec::new();
        let (mut peak, mut load_peak) = (0, 0);
        for _ in 0..runs {
            match parse_once(path) {
                Ok(c) => {
                    times.push(c.secs);
                    peak = peak.max(c.peak);
                    load_peak = load_peak.max(c.load_peak);
                }
                Err(e) => {
                    eprintln!("{name}: {e}");
                    break;
                }
            }
        }
        if times.is_empty() {
            continue;
        }
        times.sort_by(f64::total_cmp);
        let median_ms = times[times.len() / 2] * 1e3;
        let ratio = peak as f64 / weights.max(1) as f64;
        let load_ratio = load_peak as f64 / weights.max(1) as f64;
        println!(
            "{name}: parse {median_ms:.1} ms (median of {}), peak heap {:.1} MB = {ratio:.2}x weights ({:.1} MB); load alone {:.1} MB = {load_ratio:.2}x",
            times.len(),
            peak as f64 / 1e6,
            weights as f64 / 1e6,
            load_peak as f64 / 1e6,
        );
        println!(
            "RESULT {{\"model\":\"{name}\",\"parse_ms\":{median_ms:.2},\"peak_bytes\":{peak},\"load_peak_bytes\":{load_peak},\"weight_bytes\":{weights},\"ratio\":{ratio:.3}}}"
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

/// Writes a model with resnet50's weight volume (about 25.5 M float parameters, 102 MB):
/// eleven 3x3 512->512 convolutions, each followed by BatchNorm and Relu, on a 7x7 input.
fn write_resnet50_sized(dir: &std::path::Path) -> Result<PathBuf, String> {
    use hailo_onnx::builder::{noise_f32, ModelBuilder};
    const C: usize = 512;
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, C, 7, 7]);
    let mut x = "x".to_string();
    for l in 0..11u64 {
        let (w, bn, y, z) = (
            format!("w{l}"),
            format!("bn{l}"),
            format!("c{l}"),
            format!("r{l}"),
        );
        b.initializer(&w, &noise_f32(&[C, C, 3, 3], l));
        let bn_in: Vec<String> = ["s", "b", "m", "v"]
            .iter()
            .map(|p| format!("{bn}.{p}"))
            .collect();
        for (k, p) in bn_in.iter().enumerate() {
            let v = noise_f32(&[C], 100 + 4 * l + k as u64);
            let v = if k == 3 {
                hailo_onnx::TensorData::F32(v.to_f32().mapv(|a| a.abs() + 0.5))
            } else {
                v
            };
            b.initializer(p, &v);
        }
        let pads = hailo_onnx::Attribute::Ints(vec![1, 1, 1, 1]);
        b.node(
            "Conv",
            &format!("conv{l}"),
            &[&x, &w],
            &[&y],
            &[("pads", pads)],
        );
        let bn_ins: Vec<&str> = std::iter::once(y.as_str())
            .chain(bn_in.iter().map(String::as_str))
            .collect();
        b.node(
            "BatchNormalization",
            &bn,
            &bn_ins,
            &[&format!("{bn}.y")],
            &[],
        );
        b.node(
            "Relu",
            &format!("relu{l}"),
            &[&format!("{bn}.y")],
            &[&z],
            &[],
        );
        x = z;
    }
    b.output(&x, &[1, C, 7, 7]);
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let path = dir.join("resnet50_sized.onnx");
    std::fs::write(&path, b.encode()).map_err(|e| e.to_string())?;
    Ok(path)
}
