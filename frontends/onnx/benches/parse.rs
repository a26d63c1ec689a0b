//! Parse cost of the ONNX frontend on the reference models: wall time of load + conversion
//! to `hl` (median of several runs) and the peak heap in use during it (a counting global
//! allocator), as a ratio to the model's weight bytes. Targets: under 1 s and under 2x the
//! weights for a resnet50-sized model. Not a test: `cargo bench -p hailo-onnx --bench parse`.
//!
//! Models come from `HAILO_MODELS` (a directory) or `../shared/models` beside the workspace;
//! `HAILO_BENCH_RUNS` sets the runs per model (default 5). Each model also prints a
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

/// One load + convert; returns seconds and the peak heap above what was in use before.
fn parse_once(path: &std::path::Path) -> Result<(f64, usize), String> {
    let base = IN_USE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let start = Instant::now();
    let model = hailo_onnx::load(path).map_err(|e| e.to_string())?;
    let conv =
        hailo_onnx::to_hl::convert(&model, &Default::default()).map_err(|e| e.to_string())?;
    let secs = start.elapsed().as_secs_f64();
    drop(conv);
    drop(model);
    Ok((secs, PEAK.load(Ordering::Relaxed) - base))
}

fn main() {
    let runs: usize = std::env::var("HAILO_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(5);
    let dir = models_dir();
    for name in MODELS {
        let path = dir.join(format!("{name}.onnx"));
        let weights = match hailo_onnx::load(&path) {
            Ok(m) => weight_bytes(&m),
            Err(e) => {
                eprintln!("{name}: skipped ({e})");
                continue;
            }
        };
        let mut times = Vec::new();
        let mut peak = 0;
        for _ in 0..runs {
            match parse_once(&path) {
                Ok((t, p)) => {
                    times.push(t);
                    peak = peak.max(p);
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
        println!(
            "{name}: parse {median_ms:.1} ms (median of {}), peak heap {:.1} MB = {ratio:.2}x weights ({:.1} MB)",
            times.len(),
            peak as f64 / 1e6,
            weights as f64 / 1e6
        );
        println!(
            "RESULT {{\"model\":\"{name}\",\"parse_ms\":{median_ms:.2},\"peak_bytes\":{peak},\"weight_bytes\":{weights},\"ratio\":{ratio:.3}}}"
        );
    }
}
