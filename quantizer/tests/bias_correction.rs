//! quantization.md §11 item 6 (iterative bias correction) on a seeded 3-layer depthwise toy at
//! W4A8: after `quant-bias-correction` and `hl-to-quant`, every corrected layer's per-channel
//! mean error at its bias-add output (on the calibration set, in the final network) is at most
//! half a bias step; the output's mean error on held-out data falls by half or more;
//! iterative correction is no worse than one pass; the weights and the float graph are
//! untouched. The bias-add outputs are recomputed here from the lowered integer graph's codes
//! with a naive f64 depthwise convolution, independent of the pass's kernels. A pass that
//! changes nothing fails the error bound and the held-out improvement.

mod common;

use common::toy::{
    blob_f32, blob_i32, channel_means, depthwise, inputs, lowered, ops, prepared, C, N,
};
use hailo_dialect_quant::QuantType;
use hailo_executor::{Executor, GraphRef, Recording};
use hailo_ir::{Attribute, Module};
use ndarray::ArrayD;

/// Per layer: (per-channel mean of quantized − float at the bias-add output, bias step of
/// each channel), on `x`, recomputed from the float graph `m` and its lowering `q`.
fn bias_add_errors(m: &Module, q: &Module, x: &ArrayD<f32>) -> Vec<(Vec<f64>, Vec<f64>)> {
    let n = x.shape()[0];
    let rec_f: Recording = Executor::new(m, GraphRef::First)
        .and_then(|e| e.run_recorded(std::slice::from_ref(x)))
        .expect("float runs")
        .recording;
    let rec_q: Recording = Executor::new(q, GraphRef::First)
        .and_then(|e| e.run_recorded(std::slice::from_ref(x)))
        .expect("integer runs")
        .recording;
    let hl_ops = ops(m, "hl.depthwise_conv2d");
    let q_ops = ops(q, "q.depthwise_conv2d");
    assert_eq!((hl_ops.len(), q_ops.len()), (3, 3));
    let mut out = Vec::new();
    for (&h, &o) in hl_ops.iter().zip(&q_ops) {
        let (fo, qo) = (m.op(h).operands(), q.op(o).operands());
        let xf: Vec<f64> = rec_f
            .value(fo[0])
            .expect("float input")
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let y = depthwise(&xf, n, &blob_f32(m, fo[1]), &blob_f32(m, fo[2]));
        let tx = QuantType::parse(q.value_type(qo[0])).expect("quantized input");
        let xq: Vec<f64> = rec_q
            .codes(qo[0])
            .expect("codes")
            .iter()
            .map(|&c| (i64::from(c) - tx.zero_point()) as f64 * tx.scale_at(0))
            .collect();
        let tw = QuantType::parse(q.value_type(qo[1])).expect("quantized kernel");
        let wq: Vec<f64> = blob_i32(q, qo[1])
            .iter()
            .enumerate()
            .map(|(i, &c)| f64::from(c) * tw.scale_at(i % C))
            .collect();
        let tb = QuantType::parse(q.value_type(qo[2])).expect("quantized bias");
        let steps: Vec<f64> = (0..C).map(|c| tb.scale_at(c)).collect();
        let bq: Vec<f64> = blob_i32(q, qo[2])
            .iter()
            .zip(&steps)
            .map(|(&c, s)| f64::from(c) * s)
            .collect();
        let yq = depthwise(&xq, n, &wq, &bq);
        let diff: Vec<f64> = yq.iter().zip(&y).map(|(a, b)| a - b).collect();
        out.push((channel_means(&diff), steps));
    }
    out
}

/// Σ over channels of |mean(quantized − float)| at the network output on `x`.
fn output_mean_error(m: &Module, q: &Module, x: &ArrayD<f32>) -> f64 {
    let run = |g: &Module| {
        Executor::new(g, GraphRef::First)
            .and_then(|e| e.run(std::slice::from_ref(x)))
            .expect("runs")
            .remove(0)
    };
    let (f, z) = (run(m), run(q));
    let diff: Vec<f64> = z
        .iter()
        .zip(f.iter())
        .map(|(a, b)| f64::from(a - b))
        .collect();
    channel_means(&diff).iter().map(|v| v.abs()).sum()
}

#[test]
fn corrected_mean_error_is_within_half_a_bias_step() {
    let m = prepared(&format!(",quant-bias-correction{{samples={N}}}"));
    let q = lowered(&m);
    for (layer, (eps, steps)) in bias_add_errors(&m, &q, &inputs(1, N)).iter().enumerate() {
        for c in 0..C {
            assert!(
                eps[c].abs() <= 0.5 * steps[c] + 1e-6,
                "layer {layer} channel {c}: mean error {} > half bias step {}",
                eps[c],
                0.5 * steps[c]
            );
        }
    }
    // Without the correction the same bound fails (the toy has a real bias to correct).
    let plain = prepared("");
    let errors = bias_add_errors(&plain, &lowered(&plain), &inputs(1, N));
    assert!(errors
        .iter()
        .any(|(eps, steps)| eps.iter().zip(steps).any(|(e, s)| e.abs() > 0.5 * s + 1e-6)));
}

#[test]
fn held_out_mean_error_falls_by_half_and_iterative_beats_one_pass() {
    let held_out = inputs(99, 16);
    let plain = prepared("");
    let before = output_mean_error(&plain, &lowered(&plain), &held_out);
    let corrected = prepared(&format!(",quant-bias-correction{{samples={N}}}"));
    let after = output_mean_error(&corrected, &lowered(&corrected), &held_out);
    assert!(
        after <= 0.5 * before,
        "held-out mean error {after} is not half of {before}"
    );
    let one = prepared(&format!(
        ",quant-bias-correction{{samples={N} mode=one-pass}}"
    ));
    let one_pass = output_mean_error(&one, &lowered(&one), &held_out);
    assert!(
        after <= one_pass + 1e-9,
        "iterative {after} is worse than one-pass {one_pass}"
    );
    // On the calibration set, the last layer's bias-add error too.
    let last = |m: &Module| -> f64 {
        let e = bias_add_errors(m, &lowered(m), &inputs(1, N));
        e[2].0.iter().map(|v| v.abs()).sum()
    };
    assert!(last(&corrected) <= last(&one) + 1e-9);
    println!(
        "held-out Σ|mean error|: none {before:.5}, one-pass {one_pass:.5}, iterative {after:.5}"
    );
}

#[test]
fn weights_and_float_graph_are_untouched() {
    let plain = prepared("");
    let corrected = prepared(&format!(",quant-bias-correction{{samples={N}}}"));
    for key in ["k1", "b1", "k2", "b2", "k3", "b3"] {
        assert_eq!(
            plain.resources.get(key),
            corrected.resources.get(key),
            "{key}"
        );
    }
    let x = [inputs(7, 4)];
    let run = |m: &Module| {
        Executor::new(m, GraphRef::First)
            .and_then(|e| e.run(&x))
            .expect("runs")
    };
    assert_eq!(run(&plain), run(&corrected));
    // The correction is an annotation on each layer, one value per channel.
    for op in ops(&corrected, "hl.depthwise_conv2d") {
        let c = corrected
            .attr(op, "q_bias_correction")
            .and_then(Attribute::as_f64_array)
            .expect("annotated");
        assert_eq!(c.len(), C);
        assert!(c.iter().any(|&v| v != 0.0));
    }
    // The kernels' codes are those of the uncorrected lowering.
    let (a, b) = (lowered(&plain), lowered(&corrected));
    for (x, y) in ops(&a, "q.depthwise_conv2d")
        .iter()
        .zip(ops(&b, "q.depthwise_conv2d"))
    {
        let (kx, ky) = (a.op(*x).operands()[1], b.op(y).operands()[1]);
        assert_eq!(blob_i32(&a, kx), blob_i32(&b, ky));
    }
}
