//! quantization.md §11 item 13 (layer noise analysis) on the seeded 3-layer depthwise toy:
//! `quant-noise-analysis`'s single-layer output SNR equals an independent f64 recomputation
//! (the toy run naively with only layer n's kernel and bias on the lowered codes and its
//! output on its grid) within 0.01 dB, and putting a layer at 16 bits raises its SNR by more
//! than 40 dB. The partial SNR equals the SNR at the layer's output of the integer emulation.

mod common;

use common::toy::{blob_f32, blob_i32, depthwise, inputs, lowered, ops, prepared_with, C, N};
use hailo_dialect_quant::scheme::round_half_even;
use hailo_dialect_quant::QuantType;
use hailo_executor::{Executor, GraphRef};
use hailo_ir::{Attribute, Module};

const ANALYZE: &str = ",quant-noise-analysis{samples=32}";

/// The analyzed toy at `precision`, with its lowering.
fn analyzed(precision: &str) -> (Module, Module) {
    let m = prepared_with(precision, ANALYZE);
    let q = lowered(&m);
    (m, q)
}

fn attr(m: &Module, layer_index: usize, name: &str) -> f64 {
    let op = ops(m, "hl.depthwise_conv2d")[layer_index];
    m.attr(op, name)
        .and_then(Attribute::as_f64)
        .unwrap_or_else(|| panic!("layer {layer_index} has no {name}"))
}

/// The toy in f64 with layer `quantized` (if any) on its lowered parameters and output grid.
fn forward(m: &Module, q: &Module, x: &[f64], n: usize, quantized: Option<usize>) -> Vec<f64> {
    let hl = ops(m, "hl.depthwise_conv2d");
    let qo = ops(q, "q.depthwise_conv2d");
    let mut a = x.to_vec();
    for (i, (&h, &o)) in hl.iter().zip(&qo).enumerate() {
        let fo = m.op(h).operands();
        let (mut w, mut b) = (blob_f32(m, fo[1]), blob_f32(m, fo[2]));
        let on_grid = quantized == Some(i);
        if on_grid {
            let ops_q = q.op(o).operands();
            let tw = QuantType::parse(q.value_type(ops_q[1])).expect("kernel type");
            w = blob_i32(q, ops_q[1])
                .iter()
                .enumerate()
                .map(|(k, &c)| f64::from(c) * tw.scale_at(k % C))
                .collect();
            let tb = QuantType::parse(q.value_type(ops_q[2])).expect("bias type");
            b = blob_i32(q, ops_q[2])
                .iter()
                .enumerate()
                .map(|(c, &v)| f64::from(v) * tb.scale_at(c))
                .collect();
        }
        a = depthwise(&a, n, &w, &b);
        if i < 2 {
            a.iter_mut().for_each(|v| *v = v.max(0.0));
        }
        if on_grid {
            let t = QuantType::parse(q.value_type(q.result(o, 0))).expect("output type");
            let (s, z, st) = (t.scale_at(0), t.zero_point() as f64, t.storage());
            for v in a.iter_mut() {
                let code = (round_half_even(*v / s) + z).clamp(st.qmin() as f64, st.qmax() as f64);
                *v = (code - z) * s;
            }
        }
    }
    a
}

fn snr(y: &[f64], z: &[f64]) -> f64 {
    let sig: f64 = y.iter().map(|v| v * v).sum();
    let noise: f64 = y.iter().zip(z).map(|(a, b)| (a - b).powi(2)).sum();
    10.0 * (sig / noise).log10()
}

#[test]
fn single_layer_snr_matches_an_independent_recomputation() {
    let (m, q) = analyzed("default=a8_w4");
    let x: Vec<f64> = inputs(1, N).iter().map(|&v| f64::from(v)).collect();
    let y = forward(&m, &q, &x, N, None);
    for layer in 0..3 {
        let want = snr(&y, &forward(&m, &q, &x, N, Some(layer)));
        let got = attr(&m, layer, "noise.snr");
        assert!(
            (got - want).abs() <= 0.01,
            "layer {layer}: analysis {got} dB, recomputed {want} dB"
        );
    }
}

#[test]
fn partial_snr_is_the_emulation_against_float_at_the_layer() {
    let (m, q) = analyzed("default=a8_w4");
    let x = inputs(1, N);
    let mut float = Vec::new();
    Executor::new(&m, GraphRef::First)
        .and_then(|e| {
            e.run_observed(std::slice::from_ref(&x), &mut |o| {
                float.push((o.layer.to_owned(), o.value.clone()));
                Ok(())
            })
        })
        .expect("float runs");
    let mut quant = Vec::new();
    Executor::new(&q, GraphRef::First)
        .and_then(|e| {
            e.run_observed(std::slice::from_ref(&x), &mut |o| {
                quant.push((o.layer.to_owned(), o.value.clone()));
                Ok(())
            })
        })
        .expect("integer runs");
    for (i, layer) in ["dw1", "dw2", "dw3"].iter().enumerate() {
        let find = |v: &[(String, ndarray::ArrayD<f32>)]| -> Vec<f64> {
            let a = &v.iter().find(|(l, _)| l == layer).expect("observed").1;
            a.iter().map(|&v| f64::from(v)).collect()
        };
        let want = snr(&find(&float), &find(&quant));
        let got = attr(&m, i, "noise.partial_snr");
        assert!((got - want).abs() <= 1e-6, "{layer}: {got} vs {want}");
    }
}

#[test]
fn a_layer_at_sixteen_bits_gains_more_than_forty_db() {
    let (eight, _) = analyzed("default=a8_w8");
    let (sixteen, _) = analyzed("default=a8_w8 layers=[dw2:a16_w16]");
    let (a, b) = (attr(&eight, 1, "noise.snr"), attr(&sixteen, 1, "noise.snr"));
    assert!(b > a + 40.0, "dw2: {a} dB at 8 bits, {b} dB at 16 bits");
    // The other layers are measured as before.
    let d = (attr(&eight, 0, "noise.snr") - attr(&sixteen, 0, "noise.snr")).abs();
    assert!(d < 1.0, "dw1 moved by {d} dB");
}
