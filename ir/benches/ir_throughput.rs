//! IR throughput benchmark: generates a 200,000-op module and reports parse,
//! verify and print throughput (ops/s) and heap bytes per op (weights
//! excluded: the module holds no blobs).
//!
//! "Held" is every heap byte that parsing leaves allocated, including the
//! growth of the process-wide symbol interner (each op's `loc("Conv_N")` is a
//! new symbol); "peak" also counts the parser's temporary tables. Rates use
//! CPU time, which other processes still disturb on a shared machine: compare
//! against a baseline run in the same time window, or count instructions with
//! `valgrind --tool=callgrind --toggle-collect='hailo_ir::parser::parse_module'`.
//!
//! Run: `cargo bench -p hailo-ir --bench ir_throughput` (release profile).
//! The ops come from a one-op dialect defined here (default custom syntax,
//! a verifier and type inference), so the numbers measure the IR core alone.
//! Targets on the 2-core CI machine: parse >= 500k ops/s, print >= 1M ops/s,
//! <= 300 bytes per op.

use hailo_ir::{parse_module, print_module, Context, Dialect, OpDef, PrintOptions, Traits};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Counts live and peak heap bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static COUNT: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            COUNT.fetch_add(1, Ordering::Relaxed);
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

/// CPU time of this process (user + system), from /proc: robust against other
/// processes competing for the cores, unlike wall time. 10 ms resolution.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Runs `f` and returns its result with (wall, cpu) seconds.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
    let (w, c) = (Instant::now(), cpu_seconds());
    let r = f();
    (r, w.elapsed().as_secs_f64(), cpu_seconds() - c)
}

/// A graph of `n` ops shaped like a CNN's layer list: two operands, a few
/// attributes, a tensor result and a location per op.
fn generate(n: usize) -> String {
    let ty = "tensor<1x56x56x64xf32>";
    let mut s = String::with_capacity(n * 120);
    s.push_str(&format!(
        "builtin.module @bench {{\n  builtin.graph @main(%arg0: {ty}) -> {ty} {{\n"
    ));
    s.push_str(&format!(
        "    %0 = bench.layer %arg0 {{layer = \"conv0\", strides = [1, 1]}} : {ty}\n"
    ));
    for i in 1..n {
        let a = i - 1;
        let b = i / 2;
        s.push_str(&format!(
            "    %{i} = bench.layer %{a}, %{b} {{layer = \"conv{i}\", strides = [1, 1]}} : {ty} loc(\"Conv_{i}\")\n"
        ));
    }
    s.push_str(&format!("    builtin.return %{} : {ty}\n  }}\n}}\n", n - 1));
    s
}

fn main() {
    let n = 200_000;
    let mut ctx = Context::new();
    ctx.register(Dialect {
        name: "bench",
        summary: "benchmark ops",
        ops: vec![OpDef::new("bench.layer", "A layer-like op", Traits::PURE)
            .verify(
                |m, op| match m.attr(op, "layer").and_then(hailo_ir::Attribute::as_str) {
                    Some(_) => Ok(()),
                    None => Err("requires a 'layer' name".into()),
                },
            )
            .infer(|m, op| Ok(vec![m.value_type(m.operand(op, 0))]))],
        materialize_constant: None,
        verify_regions: None,
    });
    let text = generate(n);
    let ops = n + 3; // + module, graph, return

    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let allocs_before = COUNT.load(Ordering::Relaxed);
    let (m, parse_wall, parse_cpu) =
        timed(|| parse_module(&ctx, "bench.hir", &text).expect("generated IR parses"));
    let parse_allocs = COUNT.load(Ordering::Relaxed) - allocs_before;
    let held = LIVE.load(Ordering::Relaxed) - base;
    let peak = PEAK.load(Ordering::Relaxed) - base;

    let (verified, verify_wall, verify_cpu) =
        timed(|| hailo_ir::verifier::verify(&m, &ctx, m.top()));
    verified.expect("generated IR verifies");
    let (printed, print_wall, print_cpu) =
        timed(|| print_module(&m, &ctx, PrintOptions::default()));
    assert!(printed.len() > text.len() / 2);

    let rate = |s: f64| ops as f64 / s.max(1e-9);
    println!("ops: {ops}   (rates by CPU time; wall time in brackets)");
    let row = |name: &str, wall: f64, cpu: f64, target: &str| {
        println!(
            "{name:<7} {:>8.1} ms cpu  {:>10.0} ops/s  [{:>8.1} ms wall, {:>10.0} ops/s]  {target}",
            cpu * 1e3,
            rate(cpu),
            wall * 1e3,
            rate(wall)
        );
    };
    row("parse", parse_wall, parse_cpu, "(target >= 500000 ops/s)");
    println!(
        "        {:.1} heap allocations per op while parsing",
        parse_allocs as f64 / ops as f64
    );
    row("verify", verify_wall, verify_cpu, "");
    row("print", print_wall, print_cpu, "(target >= 1000000 ops/s)");
    println!("memory: {:.0} bytes/op held by the module, {:.0} bytes/op peak while parsing (target <= 300)", held as f64 / ops as f64, peak as f64 / ops as f64);
}
