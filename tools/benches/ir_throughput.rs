//! IR throughput benchmark: generates a 200,000-op module and reports parse,
//! verify and print throughput (ops/s) and heap bytes per op (weights
//! excluded: the module holds no blobs).
//!
//! Run: `cargo bench -p hailo-tools --bench ir_throughput` (release profile).
//! Targets on the 2-core CI machine: parse >= 500k ops/s, print >= 1M ops/s,
//! <= 300 bytes per op.

use hailo_ir::{parse_module, print_module, PrintOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Counts live and peak heap bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// A graph of `n` ops shaped like a CNN's layer list: two operands, a few
/// attributes, a tensor result and a location per op.
fn generate(n: usize) -> String {
    let ty = "tensor<1x56x56x64xf32>";
    let mut s = String::with_capacity(n * 120);
    s.push_str(&format!(
        "builtin.module @bench {{\n  builtin.graph @main(%arg0: {ty}) -> {ty} {{\n"
    ));
    s.push_str(&format!(
        "    %0 = test.same_shape %arg0 {{layer = \"conv0\", strides = [1, 1]}} : {ty}\n"
    ));
    for i in 1..n {
        let a = i - 1;
        let b = i / 2;
        s.push_str(&format!(
            "    %{i} = test.same_shape %{a}, %{b} {{layer = \"conv{i}\", strides = [1, 1]}} : {ty} loc(\"Conv_{i}\")\n"
        ));
    }
    s.push_str(&format!("    builtin.return %{} : {ty}\n  }}\n}}\n", n - 1));
    s
}

fn main() {
    let n = 200_000;
    let ctx = hailo_tools::context::full_context(false);
    let text = generate(n);
    let ops = n + 3; // + module, graph, return

    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let t = Instant::now();
    let m = parse_module(&ctx, "bench.hir", &text).expect("generated IR parses");
    let parse = t.elapsed();
    let held = LIVE.load(Ordering::Relaxed) - base;
    let peak = PEAK.load(Ordering::Relaxed) - base;

    let t = Instant::now();
    hailo_ir::verifier::verify(&m, &ctx, m.top()).expect("generated IR verifies");
    let verify = t.elapsed();

    let t = Instant::now();
    let printed = print_module(&m, &ctx, PrintOptions::default());
    let print = t.elapsed();
    assert!(printed.len() > text.len() / 2);

    let rate = |d: std::time::Duration| ops as f64 / d.as_secs_f64();
    println!("ops: {ops}");
    println!(
        "parse:  {:>8.1} ms  {:>10.0} ops/s  (target >= 500000)",
        parse.as_secs_f64() * 1e3,
        rate(parse)
    );
    println!(
        "verify: {:>8.1} ms  {:>10.0} ops/s",
        verify.as_secs_f64() * 1e3,
        rate(verify)
    );
    println!(
        "print:  {:>8.1} ms  {:>10.0} ops/s  (target >= 1000000)",
        print.as_secs_f64() * 1e3,
        rate(print)
    );
    println!("memory: {:.0} bytes/op held by the module, {:.0} bytes/op peak while parsing (target <= 300)", held as f64 / ops as f64, peak as f64 / ops as f64);
}
