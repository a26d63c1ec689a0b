//! IR throughput benchmark: generates a 200,000-op module and reports parse,
//! verify and print throughput (ops/s) and heap bytes per op (weights
//! excluded: the module holds no blobs).
//!
//! "Held" is every heap byte that parsing leaves allocated, including the
//! growth of the process-wide symbol interner (each op's `loc("Conv_N")` is a
//! new symbol); "peak" also counts the parser's temporary tables. Memory is
//! measured on a first parse with a counting allocator; the rates come from
//! further runs with counting switched off (its atomic counters would be
//! part of the time), each on a text with new location names so the
//! interner grows every time as it does in a cold process. Rates use CPU
//! time, and the median and best of the runs are reported: CPU time on a
//! shared VM still varies by up to 1.5x between identical runs (a fixed
//! Python loop took 0.50-0.72 s on the CI machine within minutes), so
//! compare against a baseline in the same time window, or count
//! instructions with
//! `IR_BENCH_RUNS=1 valgrind --tool=callgrind --toggle-collect='hailo_ir::parser::parse_module'`
//! (two parses: the counted one and one timed run).
//!
//! Run: `cargo bench -p hailo-ir --bench ir_throughput` (release profile).
//! The ops come from a one-op dialect defined here (default custom syntax,
//! a verifier and type inference), so the numbers measure the IR core alone.
//! Targets on the 2-core CI machine: parse >= 500k ops/s, print >= 1M ops/s,
//! <= 300 bytes per op.

use hailo_ir::{parse_module, print_module, Context, Dialect, OpDef, PrintOptions, Traits};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

/// Counts live and peak heap bytes while [`COUNTING`] is set.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static COUNT: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() && COUNTING.load(Ordering::Relaxed) {
            COUNT.fetch_add(1, Ordering::Relaxed);
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// CPU time of this process (user, system) and its minor page faults so far,
/// from /proc: robust against other processes competing for the cores,
/// unlike wall time. 10 ms resolution.
fn cpu_counters() -> [f64; 3] {
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
    [ticks(11) / 100.0, ticks(12) / 100.0, ticks(7)]
}

/// What one phase cost: wall and CPU seconds, the system part of the CPU
/// time and the page faults taken (first touches of fresh heap pages).
struct Cost {
    wall: f64,
    cpu: f64,
    sys: f64,
    faults: f64,
}

/// Runs `f` and returns its result with its cost.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Cost) {
    let (w, c) = (Instant::now(), cpu_counters());
    let r = f();
    let e = cpu_counters();
    let cost = Cost {
        wall: w.elapsed().as_secs_f64(),
        cpu: e[0] + e[1] - c[0] - c[1],
        sys: e[1] - c[1],
        faults: e[2] - c[2],
    };
    (r, cost)
}

/// A graph of `n` ops shaped like a CNN's layer list: two operands, a few
/// attributes, a tensor result and a location per op (`loc("Conv_N")`, with
/// a `run` prefix after the first run so each text brings new names).
fn generate(n: usize, run: usize) -> String {
    let prefix = if run == 0 {
        String::new()
    } else {
        format!("r{run}_")
    };
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
            "    %{i} = bench.layer %{a}, %{b} {{layer = \"conv{i}\", strides = [1, 1]}} : {ty} loc(\"{prefix}Conv_{i}\")\n"
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
    let ops = n + 3; // + module, graph, return
                     // `IR_BENCH_RUNS=1` shortens profiling runs (see the module docs).
    let runs: usize = std::env::var("IR_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5)
        .max(1);

    // Memory: one parse with the counting allocator on.
    let text = generate(n, 0);
    COUNTING.store(true, Ordering::Relaxed);
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let allocs_before = COUNT.load(Ordering::Relaxed);
    let (m, counted) =
        timed(|| parse_module(&ctx, "bench.hir", &text).expect("generated IR parses"));
    let parse_allocs = COUNT.load(Ordering::Relaxed) - allocs_before;
    let held = LIVE.load(Ordering::Relaxed) - base;
    let peak = PEAK.load(Ordering::Relaxed) - base;
    COUNTING.store(false, Ordering::Relaxed);
    drop(m);

    // Rates: further runs without counting, each on new names.
    let mut parses = Vec::new();
    let mut m = None;
    for run in 1..=runs {
        let text = generate(n, run);
        drop(m.take());
        let (parsed, cost) =
            timed(|| parse_module(&ctx, "bench.hir", &text).expect("generated IR parses"));
        parses.push(cost);
        m = Some(parsed);
    }
    let m = m.expect("at least one run");
    let mut verifies = Vec::new();
    let mut prints = Vec::new();
    for _ in 0..runs {
        let (verified, cost) = timed(|| hailo_ir::verifier::verify(&m, &ctx, m.top()));
        verified.expect("generated IR verifies");
        verifies.push(cost);
        let (printed, cost) = timed(|| print_module(&m, &ctx, PrintOptions::default()));
        assert!(printed.len() > text.len() / 2);
        prints.push(cost);
    }

    let rate = |s: f64| ops as f64 / s.max(1e-9);
    println!(
        "ops: {ops}   (rates by CPU time over {runs} runs: median, best; wall time in brackets)"
    );
    let row = |name: &str, costs: &mut [Cost], target: &str| {
        costs.sort_by(|a, b| a.cpu.total_cmp(&b.cpu));
        let (med, best) = (&costs[costs.len() / 2], &costs[0]);
        println!(
            "{name:<7} {:>7.1} ms cpu  {:>9.0} ops/s  best {:>9.0} ops/s  [median {:>7.1} ms wall, {:>9.0} ops/s]  {target}",
            med.cpu * 1e3,
            rate(med.cpu),
            rate(best.cpu),
            med.wall * 1e3,
            rate(med.wall)
        );
        println!(
            "        median run: {:.1} ms system time, {:.0} page faults",
            med.sys * 1e3,
            med.faults
        );
    };
    row("parse", &mut parses, "(target >= 500000 ops/s)");
    println!(
        "        first parse of the process, with allocation counting: {:.1} ms cpu, {:.0} ops/s; {:.1} heap allocations per op",
        counted.cpu * 1e3,
        rate(counted.cpu),
        parse_allocs as f64 / ops as f64
    );
    row("verify", &mut verifies, "");
    row("print", &mut prints, "(target >= 1000000 ops/s)");
    println!(
        "memory: {:.0} bytes/op held by the module, {:.0} bytes/op peak while parsing (target <= 300)",
        held as f64 / ops as f64,
        peak as f64 / ops as f64
    );
}
