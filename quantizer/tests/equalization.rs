//! quantization.md §11 items 4 and 5 on seeded synthetic nets, against independent naive
//! references in this file: `quant-equalize` keeps the float function (conv pair,
//! conv→DW→conv, PReLU, pools and a concat between), reaches the one-step bounds, and lifts a
//! per-tensor W8 pair with injected channel imbalance; pairs joined by SiLU, sigmoid or a
//! residual add stay bit-identical; `quant-zero-static-channels` zeroes planted dead and
//! static channels without changing the outputs; and item 9: `hl-se-optimization` (TSE)
//! equals SE when the tile covers the map and SE on each stripe alone otherwise. A pass that
//! returns its input unchanged fails every test.

mod common;

use common::{module, Rng};
use hailo_executor::Executor;
use hailo_ir::pass::Instrumentation;
use hailo_ir::{Blob, Module};
use hailo_quantizer::optimize::{resources, run_pipeline};
use ndarray::ArrayD;

/// Runs `passes` on the graph of `m` with `calib` as the calibration set.
fn run(m: &mut Module, passes: &str, calib: &ArrayD<f32>) {
    let text = format!("builtin.module(builtin.graph({passes}))");
    let mut inst = Instrumentation::default();
    run_pipeline(
        m,
        &text,
        &resources(std::slice::from_ref(calib), true),
        &mut inst,
    )
    .unwrap_or_else(|f| panic!("{passes}: {:?}", f.diagnostics));
}

fn outputs(m: &Module, x: &ArrayD<f32>) -> Vec<ArrayD<f32>> {
    Executor::new(m, "main")
        .expect("prepares")
        .run(std::slice::from_ref(x))
        .expect("runs")
}

/// max |a − b| / max |a| over all outputs.
fn relative_change(a: &[ArrayD<f32>], b: &[ArrayD<f32>]) -> f64 {
    let mut diff = 0.0f64;
    let mut big = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        for (p, q) in x.iter().zip(y) {
            diff = diff.max(f64::from(p - q).abs());
            big = big.max(f64::from(*p).abs());
        }
    }
    diff / big
}

fn blob(m: &Module, key: &str) -> Vec<f32> {
    m.resources.get(key).map(Blob::to_f32).expect("blob exists")
}

/// Multiplies output channel `c` (last axis of `cout`) of blob `key` by `f[c]`.
fn scale_channels(m: &mut Module, key: &str, f: &[f64]) {
    let v: Vec<f32> = blob(m, key)
        .iter()
        .enumerate()
        .map(|(i, &x)| (f64::from(x) * f[i % f.len()]) as f32)
        .collect();
    m.resources.insert(key, Blob::from_f32(&v));
}

/// Seeded 10^U(−1.5, 1.5) factors.
fn imbalance(n: usize, rng: &mut Rng) -> Vec<f64> {
    (0..n)
        .map(|_| 10f64.powf(3.0 * rng.uniform() - 1.5))
        .collect()
}

const PAIR: &str = r#"builtin.module @net {
  builtin.graph @main(%x: tensor<1x8x8x4xf32>) -> tensor<1x8x8x6xf32> {
    %0 = hl.input_layer %x {layer = "input_layer1"} : tensor<1x8x8x4xf32>
    %w1 = hl.const dense_resource<conv1.kernel> : tensor<3x3x4x16xf32>
    %b1 = hl.const dense_resource<conv1.bias> : tensor<16xf32>
    %1 = hl.conv2d %0, %w1, %b1 {layer = "conv1", activation = "relu", padding = "SAME"} : tensor<1x8x8x16xf32>
    %w2 = hl.const dense_resource<conv2.kernel> : tensor<1x1x16x6xf32>
    %2 = hl.conv2d %1, %w2 {layer = "conv2"} : tensor<1x8x8x6xf32>
    %3 = hl.output_layer %2 {layer = "output_layer1"} : tensor<1x8x8x6xf32>
    builtin.return %3 : tensor<1x8x8x6xf32>
  }
}
"#;

const DW_TRIPLET: &str = r#"builtin.module @net {
  builtin.graph @main(%x: tensor<1x8x8x4xf32>) -> tensor<1x8x8x6xf32> {
    %0 = hl.input_layer %x {layer = "input_layer1"} : tensor<1x8x8x4xf32>
    %w1 = hl.const dense_resource<conv1.kernel> : tensor<1x1x4x12xf32>
    %b1 = hl.const dense_resource<conv1.bias> : tensor<12xf32>
    %1 = hl.conv2d %0, %w1, %b1 {layer = "conv1", activation = "relu"} : tensor<1x8x8x12xf32>
    %w2 = hl.const dense_resource<dw1.kernel> : tensor<3x3x1x12xf32>
    %b2 = hl.const dense_resource<dw1.bias> : tensor<12xf32>
    %2 = hl.depthwise_conv2d %1, %w2, %b2 {layer = "dw1", activation = "relu", padding = "SAME"} : tensor<1x8x8x12xf32>
    %w3 = hl.const dense_resource<conv2.kernel> : tensor<1x1x12x6xf32>
    %3 = hl.conv2d %2, %w3 {layer = "conv2"} : tensor<1x8x8x6xf32>
    %4 = hl.output_layer %3 {layer = "output_layer1"} : tensor<1x8x8x6xf32>
    builtin.return %4 : tensor<1x8x8x6xf32>
  }
}
"#;

const PRELU_POOLS_CONCAT: &str = r#"builtin.module @net {
  builtin.graph @main(%x: tensor<1x8x8x4xf32>) -> tensor<1x4x4x6xf32> {
    %0 = hl.input_layer %x {layer = "input_layer1"} : tensor<1x8x8x4xf32>
    %w1 = hl.const dense_resource<conv1.kernel> : tensor<3x3x4x16xf32>
    %b1 = hl.const dense_resource<conv1.bias> : tensor<16xf32>
    %1 = hl.conv2d %0, %w1, %b1 {layer = "conv1", padding = "SAME"} : tensor<1x8x8x16xf32>
    %s = hl.const dense_resource<prelu1.slope> : tensor<16xf32>
    %2 = hl.prelu %1, %s {layer = "prelu1"} : tensor<1x8x8x16xf32>
    %3 = hl.maxpool %2 {kernel = [2, 2], strides = [2, 2], padding = "VALID", layer = "maxpool1"} : tensor<1x4x4x16xf32>
    %w4 = hl.const dense_resource<conv3.kernel> : tensor<3x3x4x8xf32>
    %b4 = hl.const dense_resource<conv3.bias> : tensor<8xf32>
    %4 = hl.conv2d %0, %w4, %b4 {layer = "conv3", activation = "leaky", alpha = 0.1, strides = [2, 2], padding = "SAME"} : tensor<1x4x4x8xf32>
    %5 = hl.avgpool %4 {kernel = [3, 3], strides = [1, 1], padding = "SAME", layer = "avgpool1"} : tensor<1x4x4x8xf32>
    %6 = hl.concat %3, %5 {axis = 3, layer = "concat1"} : tensor<1x4x4x24xf32>
    %w7 = hl.const dense_resource<conv2.kernel> : tensor<1x1x24x6xf32>
    %7 = hl.conv2d %6, %w7 {layer = "conv2"} : tensor<1x4x4x6xf32>
    %8 = hl.output_layer %7 {layer = "output_layer1"} : tensor<1x4x4x6xf32>
    builtin.return %8 : tensor<1x4x4x6xf32>
  }
}
"#;

/// Seeded weights for the producers and consumers of the nets above, producer channels
/// spread by 10^U(−1.5, 1.5).
fn net(text: &str, blobs: &[(&str, usize, f64)], producers: &[(&str, usize)], seed: u64) -> Module {
    let mut m = module(text, blobs, seed);
    let mut rng = Rng(seed + 100);
    for &(key, cout) in producers {
        let f = imbalance(cout, &mut rng);
        scale_channels(&mut m, key, &f);
    }
    m
}

fn data(n: usize, seed: u64) -> ArrayD<f32> {
    Rng(seed).array(&[n, 8, 8, 4])
}

/// The float outputs on held-out data change by at most 1e-5 (relative) and some producer
/// kernel changed.
fn assert_function_kept(mut m: Module, changed: &str) {
    let (calib, held_out) = (data(16, 1), data(8, 2));
    let before = outputs(&m, &held_out);
    let kernel = blob(&m, changed);
    run(&mut m, "quant-equalize{samples=16}", &calib);
    let after = outputs(&m, &held_out);
    let change = relative_change(&before, &after);
    assert!(change <= 1e-5, "float outputs changed by {change:e}");
    assert_ne!(blob(&m, changed), kernel, "{changed} was not equalized");
}

#[test]
fn equalization_keeps_a_conv_pair() {
    let m = net(
        PAIR,
        &[
            ("conv1.kernel", 576, 0.3),
            ("conv1.bias", 16, 0.1),
            ("conv2.kernel", 96, 0.3),
        ],
        &[("conv1.kernel", 16)],
        3,
    );
    assert_function_kept(m, "conv1.kernel");
}

#[test]
fn equalization_keeps_conv_dw_conv() {
    let blobs = [
        ("conv1.kernel", 48, 0.5),
        ("conv1.bias", 12, 0.1),
        ("dw1.kernel", 108, 0.3),
        ("dw1.bias", 12, 0.1),
        ("conv2.kernel", 72, 0.3),
    ];
    let producers = [("conv1.kernel", 12), ("dw1.kernel", 12)];
    assert_function_kept(net(DW_TRIPLET, &blobs, &producers, 4), "dw1.kernel");
    assert_function_kept(net(DW_TRIPLET, &blobs, &producers, 4), "conv1.kernel");
}

#[test]
fn equalization_keeps_prelu_pools_and_concat() {
    let blobs = [
        ("conv1.kernel", 576, 0.3),
        ("conv1.bias", 16, 0.1),
        ("prelu1.slope", 16, 0.2),
        ("conv3.kernel", 288, 0.3),
        ("conv3.bias", 8, 0.1),
        ("conv2.kernel", 144, 0.3),
    ];
    let producers = [("conv1.kernel", 16), ("conv3.kernel", 8)];
    assert_function_kept(
        net(PRELU_POOLS_CONCAT, &blobs, &producers, 5),
        "conv1.kernel",
    );
    assert_function_kept(
        net(PRELU_POOLS_CONCAT, &blobs, &producers, 5),
        "conv3.kernel",
    );
}

/// conv1's output reaches conv2 through `between`: equalization must leave both kernels
/// bit-identical.
fn assert_untouched(between: &str, result: &str) {
    let text = format!(
        r#"builtin.module @net {{
  builtin.graph @main(%x: tensor<1x8x8x4xf32>) -> tensor<1x8x8x16xf32> {{
    %0 = hl.input_layer %x {{layer = "input_layer1"}} : tensor<1x8x8x4xf32>
    %w1 = hl.const dense_resource<conv1.kernel> : tensor<1x1x4x16xf32>
    %1 = hl.conv2d %0, %w1 {{layer = "conv1", activation = "relu"}} : tensor<1x8x8x16xf32>
    {between}
    %w2 = hl.const dense_resource<conv2.kernel> : tensor<1x1x16x16xf32>
    %3 = hl.conv2d {result}, %w2 {{layer = "conv2"}} : tensor<1x8x8x16xf32>
    %4 = hl.output_layer %3 {{layer = "output_layer1"}} : tensor<1x8x8x16xf32>
    builtin.return %4 : tensor<1x8x8x16xf32>
  }}
}}
"#
    );
    let mut m = net(
        &text,
        &[
            ("conv1.kernel", 64, 0.5),
            ("conv2.kernel", 256, 0.3),
            ("conv3.kernel", 256, 0.3),
        ],
        &[("conv1.kernel", 16)],
        6,
    );
    let (k1, k2) = (blob(&m, "conv1.kernel"), blob(&m, "conv2.kernel"));
    run(&mut m, "quant-equalize{samples=16}", &data(16, 1));
    assert_eq!(blob(&m, "conv1.kernel"), k1, "{between}");
    assert_eq!(blob(&m, "conv2.kernel"), k2, "{between}");
}

#[test]
fn equalization_never_crosses_silu_sigmoid_or_a_residual_add() {
    for kind in ["silu", "sigmoid", "hardswish", "relu6"] {
        assert_untouched(
            &format!(
                r#"%2 = hl.activation %1 {{kind = "{kind}", layer = "activation1"}} : tensor<1x8x8x16xf32>"#
            ),
            "%2",
        );
    }
    assert_untouched(
        r#"%2 = hl.ew_add %1, %1 {layer = "ew_add1"} : tensor<1x8x8x16xf32>
    %w5 = hl.const dense_resource<conv3.kernel> : tensor<1x1x16x16xf32>
    %5 = hl.conv2d %2, %w5 {layer = "conv3"} : tensor<1x8x8x16xf32>"#,
        "%1",
    );
}

/// The [M] setup of quantization.md §3: a 64→96→64 dense pair with ReLU and injected
/// channel imbalance.
const DENSE_PAIR: &str = r#"builtin.module @net {
  builtin.graph @main(%x: tensor<1x64xf32>) -> tensor<1x64xf32> {
    %0 = hl.input_layer %x {layer = "input_layer1"} : tensor<1x64xf32>
    %w1 = hl.const dense_resource<fc1.kernel> : tensor<64x96xf32>
    %b1 = hl.const dense_resource<fc1.bias> : tensor<96xf32>
    %1 = hl.dense %0, %w1, %b1 {layer = "fc1", activation = "relu"} : tensor<1x96xf32>
    %w2 = hl.const dense_resource<fc2.kernel> : tensor<96x64xf32>
    %2 = hl.dense %1, %w2 {layer = "fc2"} : tensor<1x64xf32>
    %3 = hl.output_layer %2 {layer = "output_layer1"} : tensor<1x64xf32>
    builtin.return %3 : tensor<1x64xf32>
  }
}
"#;

/// The naive f64 forward pass of [`DENSE_PAIR`] with weights `(w1, b1, w2)`; with `quant`,
/// per-tensor symmetric 8-bit weights and per-tensor 8-bit activations (input and hidden)
/// over the ranges `(input, hidden)`. Returns the hidden activations and the outputs.
fn dense_pair(
    x: &[f64],
    (w1, b1, w2): (&[f64], &[f64], &[f64]),
    quant: Option<((f64, f64), (f64, f64))>,
) -> (Vec<f64>, Vec<f64>) {
    let fq_w = |w: &[f64]| -> Vec<f64> {
        let s = w.iter().fold(0.0f64, |a, v| a.max(v.abs())) / 127.0;
        w.iter()
            .map(|v| (v / s).round().clamp(-128.0, 127.0) * s)
            .collect()
    };
    let fq_a = |v: &mut [f64], (lo, hi): (f64, f64)| {
        let s = (hi - lo) / 255.0;
        let z = (-lo / s).round();
        for a in v {
            *a = (((*a / s).round() + z).clamp(0.0, 255.0) - z) * s;
        }
    };
    let (w1, w2) = match quant {
        Some(_) => (fq_w(w1), fq_w(w2)),
        None => (w1.to_vec(), w2.to_vec()),
    };
    let n = x.len() / 64;
    let (mut hidden, mut out) = (vec![0.0; n * 96], vec![0.0; n * 64]);
    for s in 0..n {
        let mut xs = x[s * 64..(s + 1) * 64].to_vec();
        if let Some((r, _)) = quant {
            fq_a(&mut xs, r);
        }
        let h = &mut hidden[s * 96..(s + 1) * 96];
        for (j, hj) in h.iter_mut().enumerate() {
            let acc: f64 = (0..64).map(|i| xs[i] * w1[i * 96 + j]).sum::<f64>() + b1[j];
            *hj = acc.max(0.0);
        }
        if let Some((_, r)) = quant {
            fq_a(h, r);
        }
        for k in 0..64 {
            out[s * 64 + k] = (0..96).map(|j| h[j] * w2[j * 64 + k]).sum();
        }
    }
    (hidden, out)
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

fn snr(reference: &[f64], q: &[f64]) -> f64 {
    let s: f64 = reference.iter().map(|v| v * v).sum();
    let n: f64 = reference
        .iter()
        .zip(q)
        .map(|(a, b)| (a - b) * (a - b))
        .sum();
    10.0 * (s / n).log10()
}

/// The per-tensor W8A8 output SNR of the dense pair on `held_out`, with the activation
/// ranges measured on `calib` (all naive f64).
fn dense_pair_snr(m: &Module, calib: &[f64], held_out: &[f64]) -> f64 {
    let (w1, b1, w2) = (
        f64s(&blob(m, "fc1.kernel")),
        f64s(&blob(m, "fc1.bias")),
        f64s(&blob(m, "fc2.kernel")),
    );
    let w = (&w1[..], &b1[..], &w2[..]);
    let range = |v: &[f64]| {
        v.iter()
            .fold((0.0f64, 0.0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)))
    };
    let (hidden, _) = dense_pair(calib, w, None);
    let ranges = (range(calib), range(&hidden));
    let (_, reference) = dense_pair(held_out, w, None);
    let (_, q) = dense_pair(held_out, w, Some(ranges));
    snr(&reference, &q)
}

#[test]
fn one_step_equalization_reaches_the_bounds_and_lifts_per_tensor_w8() {
    let mut m = module(
        DENSE_PAIR,
        &[
            ("fc1.kernel", 64 * 96, 0.15),
            ("fc1.bias", 96, 0.05),
            ("fc2.kernel", 96 * 64, 0.15),
        ],
        7,
    );
    // Imbalance that keeps the function: fc1's channel c times f_c, fc2's row c over f_c.
    let f = imbalance(96, &mut Rng(8));
    scale_channels(&mut m, "fc1.kernel", &f);
    scale_channels(&mut m, "fc1.bias", &f);
    let rows: Vec<f32> = blob(&m, "fc2.kernel")
        .iter()
        .enumerate()
        .map(|(i, &x)| (f64::from(x) / f[i / 64]) as f32)
        .collect();
    m.resources.insert("fc2.kernel", Blob::from_f32(&rows));
    let (calib, held_out) = (Rng(9).array(&[256, 64]), Rng(10).array(&[256, 64]));
    let (calib64, held64) = (
        f64s(calib.as_slice().expect("contiguous")),
        f64s(held_out.as_slice().expect("contiguous")),
    );
    let before_snr = dense_pair_snr(&m, &calib64, &held64);
    let before = outputs(&m, &held_out);
    // Channel maxima of fc1's weights (per output channel) and activations (on calib).
    let maxima = |m: &Module| {
        let (w1, b1, w2) = (
            f64s(&blob(m, "fc1.kernel")),
            f64s(&blob(m, "fc1.bias")),
            f64s(&blob(m, "fc2.kernel")),
        );
        let (hidden, _) = dense_pair(&calib64, (&w1, &b1, &w2), None);
        let mut rw = vec![0.0f64; 96];
        let mut ra = vec![0.0f64; 96];
        for (i, w) in w1.iter().enumerate() {
            rw[i % 96] = rw[i % 96].max(w.abs());
        }
        for (i, a) in hidden.iter().enumerate() {
            ra[i % 96] = ra[i % 96].max(*a);
        }
        (rw, ra)
    };
    let (rw0, ra0) = maxima(&m);
    let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    run(
        &mut m,
        "quant-equalize{samples=256 max-scale=10000.0}",
        &calib,
    );
    let (rw, ra) = maxima(&m);
    let (big_w, big_a) = (max(&rw), max(&ra));
    assert!(big_w <= max(&rw0) * (1.0 + 1e-6), "weight range grew");
    assert!(big_a <= max(&ra0) * (1.0 + 1e-6), "activation range grew");
    for c in 0..96 {
        let at_w = (rw[c] - big_w).abs() <= 1e-5 * big_w;
        let at_a = (ra[c] - big_a).abs() <= 1e-5 * big_a;
        let capped = (rw[c] / rw0[c] - 1e4).abs() <= 1e-3;
        assert!(
            at_w || at_a || capped || ra[c] == 0.0,
            "channel {c}: weights {} of {big_w}, activations {} of {big_a}",
            rw[c],
            ra[c]
        );
    }
    let change = relative_change(&before, &outputs(&m, &held_out));
    assert!(change <= 1e-5, "float outputs changed by {change:e}");
    let after_snr = dense_pair_snr(&m, &calib64, &held64);
    eprintln!("per-tensor W8A8 output SNR: {before_snr:.1} dB -> {after_snr:.1} dB");
    assert!(
        after_snr >= before_snr + 20.0,
        "{before_snr:.1} -> {after_snr:.1} dB"
    );
}

/// `PAIR` under ReLU6 with conv1's channel 3 dead (large weights, it holds the kernel's max,
/// and bias -100) and channel 5 static (bias +100, always saturated at 6).
fn planted_pair() -> Module {
    let mut m = module(
        PAIR.replace("\"relu\"", "\"relu6\"").as_str(),
        &[
            ("conv1.kernel", 576, 0.3),
            ("conv1.bias", 16, 0.1),
            ("conv2.kernel", 96, 0.3),
        ],
        11,
    );
    let mut k = blob(&m, "conv1.kernel");
    for (i, w) in k.iter_mut().enumerate() {
        if i % 16 == 3 {
            *w *= 10.0;
        }
    }
    m.resources.insert("conv1.kernel", Blob::from_f32(&k));
    let mut b = blob(&m, "conv1.bias");
    b[3] = -100.0;
    b[5] = 100.0;
    m.resources.insert("conv1.bias", Blob::from_f32(&b));
    m
}

#[test]
fn zero_static_channels_removes_planted_dead_and_static_channels() {
    let mut m = planted_pair();
    let max_abs = |v: &[f32]| v.iter().fold(0.0f32, |a, x| a.max(x.abs()));
    let before_max = max_abs(&blob(&m, "conv1.kernel"));
    let held_out = data(8, 2);
    let before = outputs(&m, &held_out);
    run(
        &mut m,
        "quant-zero-static-channels{samples=16}",
        &data(16, 1),
    );
    let (k, b) = (blob(&m, "conv1.kernel"), blob(&m, "conv1.bias"));
    for (i, w) in k.iter().enumerate() {
        if i % 16 == 3 || i % 16 == 5 {
            assert_eq!(*w, 0.0, "planted channel {} kept weight {w}", i % 16);
        }
    }
    assert_eq!((b[3], b[5]), (0.0, 6.0));
    assert!(
        max_abs(&k) < before_max / 2.0,
        "the weight range did not shrink"
    );
    // The other channels are untouched.
    assert!(k.iter().enumerate().any(|(i, &w)| i % 16 == 0 && w != 0.0));
    let change = relative_change(&before, &outputs(&m, &held_out));
    assert!(change <= 1e-6, "float outputs changed by {change:e}");
}

/// Dead-channel removal after zero-static channels: the dead channel 3 leaves conv1 and conv2's
/// inputs, the static channel 5 (a constant 6) stays, and the float outputs do not change.
#[test]
fn dead_channels_removal_prunes_the_planted_dead_channel() {
    let mut m = planted_pair();
    let (k1, k2) = (blob(&m, "conv1.kernel"), blob(&m, "conv2.kernel"));
    let held_out = data(8, 2);
    let before = outputs(&m, &held_out);
    run(
        &mut m,
        "quant-zero-static-channels{samples=16},hl-dead-channels-removal",
        &data(16, 1),
    );
    let kept = |c: usize| c != 3;
    let expect1: Vec<f32> = (k1.iter().enumerate())
        .filter(|(i, _)| kept(i % 16))
        .map(|(i, &w)| if i % 16 == 5 { 0.0 } else { w })
        .collect();
    let expect2: Vec<f32> = (k2.iter().enumerate())
        .filter(|(i, _)| kept(i / 6))
        .map(|(_, &w)| w)
        .collect();
    assert_eq!(blob(&m, "conv1.kernel"), expect1);
    assert_eq!(blob(&m, "conv2.kernel"), expect2);
    assert_eq!(blob(&m, "conv1.bias").len(), 15);
    let change = relative_change(&before, &outputs(&m, &held_out));
    assert!(change <= 1e-6, "float outputs changed by {change:e}");
}

/// A squeeze-and-excite block on an 8×4×6 map (quantization.md §8).
const SE: &str = r#"builtin.module @net {
  builtin.graph @main(%x: tensor<1x8x4x6xf32>) -> tensor<1x8x4x6xf32> {
    %0 = hl.input_layer %x {layer = "input_layer1"} : tensor<1x8x4x6xf32>
    %1 = hl.global_avgpool %0 {layer = "avgpool1"} : tensor<1x1x1x6xf32>
    %w1 = hl.const dense_resource<conv1.kernel> : tensor<1x1x6x3xf32>
    %b1 = hl.const dense_resource<conv1.bias> : tensor<3xf32>
    %2 = hl.conv2d %1, %w1, %b1 {layer = "conv1", activation = "relu"} : tensor<1x1x1x3xf32>
    %w2 = hl.const dense_resource<conv2.kernel> : tensor<1x1x3x6xf32>
    %b2 = hl.const dense_resource<conv2.bias> : tensor<6xf32>
    %3 = hl.conv2d %2, %w2, %b2 {layer = "conv2", activation = "sigmoid"} : tensor<1x1x1x6xf32>
    %4 = hl.ew_mult %0, %3 {layer = "ew_mult1"} : tensor<1x8x4x6xf32>
    %5 = hl.output_layer %4 {layer = "output_layer1"} : tensor<1x8x4x6xf32>
    builtin.return %5 : tensor<1x8x4x6xf32>
  }
}
"#;

/// Naive f64 SE applied to every stripe of `t` rows of `x` `[n, 8, 4, 6]` on its own.
fn naive_tse(m: &Module, x: &ArrayD<f32>, t: usize) -> Vec<f64> {
    let (w1, b1, w2, b2) = (
        f64s(&blob(m, "conv1.kernel")),
        f64s(&blob(m, "conv1.bias")),
        f64s(&blob(m, "conv2.kernel")),
        f64s(&blob(m, "conv2.bias")),
    );
    let n = x.shape()[0];
    let at = |s: usize, r: usize, c: usize, k: usize| f64::from(x[[s, r, c, k]]);
    let mut y = vec![0.0; n * 8 * 4 * 6];
    for s in 0..n {
        for stripe in (0..8).step_by(t) {
            let d: Vec<f64> = (0..6)
                .map(|k| {
                    let sum: f64 = (stripe..stripe + t)
                        .flat_map(|r| (0..4).map(move |c| (r, c)))
                        .map(|(r, c)| at(s, r, c, k))
                        .sum();
                    sum / (t * 4) as f64
                })
                .collect();
            let hidden: Vec<f64> = (0..3)
                .map(|j| ((0..6).map(|k| d[k] * w1[k * 3 + j]).sum::<f64>() + b1[j]).max(0.0))
                .collect();
            let gate: Vec<f64> = (0..6)
                .map(|k| {
                    let z = (0..3).map(|j| hidden[j] * w2[j * 6 + k]).sum::<f64>() + b2[k];
                    1.0 / (1.0 + (-z).exp())
                })
                .collect();
            for r in stripe..stripe + t {
                for c in 0..4 {
                    for k in 0..6 {
                        y[((s * 8 + r) * 4 + c) * 6 + k] = at(s, r, c, k) * gate[k];
                    }
                }
            }
        }
    }
    y
}

#[test]
fn tse_equals_se_when_the_tile_covers_the_map_and_se_per_stripe_otherwise() {
    let blobs = [
        ("conv1.kernel", 18, 0.8),
        ("conv1.bias", 3, 0.3),
        ("conv2.kernel", 18, 0.8),
        ("conv2.bias", 6, 0.3),
    ];
    let x = Rng(12).array(&[4, 8, 4, 6]);
    let se = module(SE, &blobs, 13);
    let reference = outputs(&se, &x);
    let close = |a: &[f64], b: &ArrayD<f32>| {
        a.iter()
            .zip(b.iter())
            .map(|(p, &q)| (p - f64::from(q)).abs())
            .fold(0.0, f64::max)
    };
    // The plain SE matches the naive reference with one stripe of 8 rows.
    assert!(close(&naive_tse(&se, &x, 8), &reference[0]) <= 1e-5);
    let mut whole = se.clone();
    run(
        &mut whole,
        "hl-se-optimization{mode=sequential count=1 tile-height=[8]}",
        &x,
    );
    assert!(relative_change(&reference, &outputs(&whole, &x)) <= 1e-6);
    let mut tiled = se.clone();
    run(
        &mut tiled,
        "hl-se-optimization{mode=sequential count=1 tile-height=[2]}",
        &x,
    );
    let y = outputs(&tiled, &x);
    let err = close(&naive_tse(&se, &x, 2), &y[0]);
    assert!(err <= 1e-5, "stripe-wise SE differs by {err:e}");
    assert!(
        relative_change(&reference, &y) > 1e-3,
        "the tiling changed nothing"
    );
    // Rows outside the first stripe do not reach it.
    let mut x2 = x.clone();
    x2.slice_mut(ndarray::s![.., 2.., .., ..])
        .mapv_inplace(|v| v * 3.0 + 1.0);
    let y2 = outputs(&tiled, &x2);
    assert_eq!(
        y[0].slice(ndarray::s![.., ..2, .., ..]),
        y2[0].slice(ndarray::s![.., ..2, .., ..])
    );
}

/// The model-script commands become the passes' options, with nothing reported as not applied.
#[test]
fn script_commands_become_full_precision_passes() {
    let script = "pre_quantization_optimization(equalization, policy=enabled)\n\
        pre_quantization_optimization(equalization, layers=[conv2], policy=disabled, equalization_target=weights)\n\
        pre_quantization_optimization(zero_static_channels, eps=1e-5)\n\
        pre_quantization_optimization(zero_static_channels, layers=[conv1], policy=disabled)\n\
        pre_quantization_optimization(se_optimization, method=tse, mode=sequential, count=1, tile_height=4)\n\
        pre_quantization_optimization(global_avgpool_reduction, layers=avgpool1, division_factors=[2, 2])\n\
        pre_quantization_optimization(dead_channels_removal, policy=enabled)\n\
        pre_quantization_optimization(dead_layers_removal, policy=enabled, validate_change=enabled)\n";
    let layers: Vec<String> = ["conv1", "conv2", "avgpool1", "ew_mult1"]
        .iter()
        .map(|l| format!("net/{l}"))
        .collect();
    let mut cfg = hailo_quantizer::QuantConfig::default();
    let warnings = hailo_quantizer::script::apply_script(
        &mut cfg,
        "t.alls",
        script,
        &layers,
        &Default::default(),
    )
    .expect("applies");
    assert!(warnings.is_empty(), "{warnings:?}");
    let text = hailo_quantizer::pipeline::of(&cfg);
    for expect in [
        "quant-zero-static-channels{samples=64 batch-size=8 eps=1e-5 policy=enabled layers=[conv1:disabled]}",
        "hl-se-optimization{mode=sequential count=1 layers=[] tile-height=[4]}",
        "quant-equalize{samples=64 batch-size=8 policy=enabled layers=[conv2:disabled] targets=[conv2:weights]}",
        "hl-global-avgpool-reduction{layers=[avgpool1:2:2]}",
        "hl-dead-channels-removal,hl-dead-layers-removal,hl-se-optimization",
    ] {
        assert!(text.contains(expect), "{text}");
    }
    // The guide's order: zero-static channels, TSE, equalization, global average pool reduction.
    let at = |p: &str| text.find(p).expect("present");
    assert!(at("quant-zero-static") < at("hl-se-opt") && at("hl-se-opt") < at("quant-equalize"));
    assert!(
        at("quant-equalize") < at("hl-global-avgpool")
            && at("hl-global-avgpool") < at("quant-calibrate")
    );
    // Without a script: zero-static channels, dead layers and matmul equalization, as in the
    // guide; no equalization.
    let default = hailo_quantizer::pipeline::of(&hailo_quantizer::QuantConfig::default());
    assert!(
        default.contains("quant-zero-static-channels{")
            && default.contains("hl-dead-layers-removal")
            && !default.contains("hl-dead-channels-removal")
            && !default.contains("quant-equalize"),
        "{default}"
    );
}

/// `pre_quantization_optimization(matmul_equalization, ...)` as the corpus writes it: the
/// per-layer policy reaches `quant-matmul-equalize`, `matmul_bias=enabled` is a located
/// warning (the DC offset is not built), `matmul_bias=disabled` is applied as written, and
/// without a command the guide's default policy (`allowed`) runs the pass.
#[test]
fn matmul_equalization_script_command() {
    let layers: Vec<String> = ["matmul1", "matmul2"]
        .iter()
        .map(|l| format!("net/{l}"))
        .collect();
    let apply = |script: &str| {
        let mut cfg = hailo_quantizer::QuantConfig::default();
        let warnings = hailo_quantizer::script::apply_script(
            &mut cfg,
            "t.alls",
            script,
            &layers,
            &Default::default(),
        )
        .expect("applies");
        (hailo_quantizer::pipeline::of(&cfg), warnings)
    };
    let (text, warnings) = apply(
        "pre_quantization_optimization(matmul_equalization, layers={matmul*}, policy=enabled, matmul_bias=enabled)\n",
    );
    assert!(
        text.contains("quant-matmul-equalize{samples=64 batch-size=8 policy=allowed layers=[matmul1:enabled,matmul2:enabled]}"),
        "{text}"
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("t.alls:1:")
            && warnings[0].ends_with(
                "pre_quantization_optimization(matmul_equalization) argument 'matmul_bias': \
                 accepted but not applied: the matmul DC-offset bias (matmul_bias=enabled) is not built yet"
            ),
        "{warnings:?}"
    );
    let (text, warnings) = apply(
        "pre_quantization_optimization(matmul_equalization, layers=[matmul2], policy=disabled, matmul_bias=disabled)\n",
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(
        text.contains("policy=allowed layers=[matmul2:disabled]}"),
        "{text}"
    );
    let (text, _) = apply("pre_quantization_optimization(matmul_equalization, policy=disabled)\n");
    assert!(!text.contains("quant-matmul-equalize"), "{text}");
    let default = hailo_quantizer::pipeline::of(&hailo_quantizer::QuantConfig::default());
    let at = |p: &str| default.find(p).expect("present");
    assert!(
        at("quant-zero-static-channels")
            < at("quant-matmul-equalize{samples=64 batch-size=8 policy=allowed layers=[]}")
            && at("quant-matmul-equalize") < at("hl-fuse-conv-add"),
        "{default}"
    );
}
