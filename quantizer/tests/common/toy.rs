//! A seeded 3-layer depthwise toy (3×3, 8 channels, ReLU, ReLU, linear) for the tests of
//! the data-driven post-quantization passes, with a naive f64 depthwise convolution that
//! recomputes its layers independently of the executor's kernels.

use super::{module, Rng};
use hailo_ir::pass::Instrumentation;
use hailo_ir::{Attribute, Module, OpId, ValueId};
use hailo_quantizer::optimize::{resources, run_pipeline};
use ndarray::{ArrayD, IxDyn};

pub const C: usize = 8;
const TOY: &str = r#"builtin.module @net {
  builtin.graph @main(%arg0: tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
    %0 = hl.input_layer %arg0 {layer = "input_layer1"} : tensor<1x8x8x8xf32>
    %k1 = hl.const dense_resource<k1> : tensor<3x3x1x8xf32>
    %b1 = hl.const dense_resource<b1> : tensor<8xf32>
    %1 = hl.depthwise_conv2d %0, %k1, %b1 {layer = "dw1", activation = "relu", padding = "SAME"} : tensor<1x8x8x8xf32>
    %k2 = hl.const dense_resource<k2> : tensor<3x3x1x8xf32>
    %b2 = hl.const dense_resource<b2> : tensor<8xf32>
    %2 = hl.depthwise_conv2d %1, %k2, %b2 {layer = "dw2", activation = "relu", padding = "SAME"} : tensor<1x8x8x8xf32>
    %k3 = hl.const dense_resource<k3> : tensor<3x3x1x8xf32>
    %b3 = hl.const dense_resource<b3> : tensor<8xf32>
    %3 = hl.depthwise_conv2d %2, %k3, %b3 {layer = "dw3", padding = "SAME"} : tensor<1x8x8x8xf32>
    %4 = hl.output_layer %3 {layer = "output_layer1"} : tensor<1x8x8x8xf32>
    builtin.return %4 : tensor<1x8x8x8xf32>
  }
}
"#;

pub fn toy() -> Module {
    module(
        TOY,
        &[
            ("k1", 72, 0.4),
            ("b1", 8, 0.1),
            ("k2", 72, 0.4),
            ("b2", 8, 0.1),
            ("k3", 72, 0.4),
            ("b3", 8, 0.1),
        ],
        5,
    )
}

/// Positive inputs (mean 1): the weight rounding shifts every channel's mean.
pub fn inputs(seed: u64, n: usize) -> ArrayD<f32> {
    let mut rng = Rng(seed);
    ArrayD::from_shape_simple_fn(IxDyn(&[n, 8, 8, C]), || (2.0 * rng.uniform()) as f32)
}

pub const N: usize = 32;

/// The toy after the W4A8 decisions and `extra` passes (annotated, still float).
pub fn prepared(extra: &str) -> Module {
    prepared_with("default=a8_w4", extra)
}

/// The toy after calibration, ranges, `quant-precision{precision}`, min-max weight clipping
/// and `extra` passes.
pub fn prepared_with(precision: &str, extra: &str) -> Module {
    let mut m = toy();
    let text = format!(
        "builtin.module(builtin.graph(quant-calibrate{{samples={N}}},quant-ranges,\
         quant-precision{{{precision}}},quant-weight-clipping{{mode=min-max}}{extra}))"
    );
    let res = resources(&[inputs(1, N)], true);
    run_pipeline(&mut m, &text, &res, &mut Instrumentation::default()).expect("pipeline runs");
    m
}

pub fn lowered(m: &Module) -> Module {
    let mut q = m.clone();
    hailo_quantizer::lower(&mut q).expect("lowers");
    q
}

pub fn ops(m: &Module, name: &str) -> Vec<OpId> {
    m.walk(m.top())
        .into_iter()
        .filter(|&o| m.op(o).name_str() == name)
        .collect()
}

pub fn blob_i32(m: &Module, v: ValueId) -> Vec<i32> {
    let def = m.defining_op(v).expect("constant");
    let Some(Attribute::DenseResource { key, .. }) = m.attr(def, "value") else {
        panic!("not a blob constant")
    };
    let b = m.resources.get(key.as_str()).expect("blob");
    b.bytes
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

pub fn blob_f32(m: &Module, v: ValueId) -> Vec<f64> {
    let def = m.defining_op(v).expect("constant");
    let Some(Attribute::DenseResource { key, .. }) = m.attr(def, "value") else {
        panic!("not a blob constant")
    };
    let b = m.resources.get(key.as_str()).expect("blob");
    b.to_f32().into_iter().map(f64::from).collect()
}

/// Naive 3×3 SAME depthwise convolution plus bias, f64: `x` [n, 8, 8, C], `w` HWIO flat.
pub fn depthwise(x: &[f64], n: usize, w: &[f64], b: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; n * 64 * C];
    for s in 0..n {
        for i in 0..8i64 {
            for j in 0..8i64 {
                for c in 0..C {
                    let mut acc = b[c];
                    for di in 0..3i64 {
                        for dj in 0..3i64 {
                            let (r, q) = (i + di - 1, j + dj - 1);
                            if (0..8).contains(&r) && (0..8).contains(&q) {
                                let xi = ((s * 8 + r as usize) * 8 + q as usize) * C + c;
                                acc += w[((di * 3 + dj) as usize) * C + c] * x[xi];
                            }
                        }
                    }
                    y[((s * 8 + i as usize) * 8 + j as usize) * C + c] = acc;
                }
            }
        }
    }
    y
}

pub fn channel_means(v: &[f64]) -> Vec<f64> {
    let mut s = vec![0.0; C];
    for (i, x) in v.iter().enumerate() {
        s[i % C] += x;
    }
    let count = (v.len() / C) as f64;
    s.into_iter().map(|x| x / count).collect()
}
