//! Element-wise activations: every entry of the DFC guide's Table 3 ("Supported
//! Activations") plus PReLU, which needs a per-channel slope tensor.

use super::elementwise::broadcast_shape;
use super::error::{ensure, KernelError};
use super::vexp::{self, sigmoid};
use ndarray::{ArrayViewD, ArrayViewMutD, IxDyn, Zip};
use rayon::prelude::*;

/// A scalar activation function with its constants, in the f32 form the kernels evaluate
/// (compiled from the `hl` dialect's `Activation`, which defines the kinds and parameters).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// Identity (Hailo "Linear").
    Linear,
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
    LeakyRelu {
        alpha: f32,
    },
    /// `x` if `x > 0` else `alpha·(eˣ − 1)`.
    Elu {
        alpha: f32,
    },
    Sigmoid,
    Tanh,
    /// `x·sigmoid(x)` (also Swish with beta 1).
    Silu,
    /// `x·sigmoid(beta·x)`.
    Swish {
        beta: f32,
    },
    /// Exact GELU, `x·Φ(x)` with the Gauss error function.
    Gelu,
    /// GELU's tanh approximation.
    GeluTanh,
    /// `x·tanh(softplus(x))`.
    Mish,
    /// `x·hardsigmoid(x)` with alpha 1/6, beta 1/2.
    HardSwish,
    /// `clamp(alpha·x + beta, 0, 1)` (ONNX defaults: alpha 0.2, beta 0.5).
    HardSigmoid {
        alpha: f32,
        beta: f32,
    },
    /// `ln(1 + eˣ)`.
    Softplus,
    /// `x / (1 + |x|)`.
    Softsign,
    Exp,
    Log,
    Sqrt,
    /// `x²`.
    Square,
    Abs,
    /// `xᵉ` for a constant exponent.
    Pow {
        exponent: f32,
    },
    /// `−x`.
    Neg,
    /// `1 / x`.
    Reciprocal,
    /// `x` if `x >= threshold` else 0.
    Threshold {
        threshold: f32,
    },
    /// 0 if `x == 0` else `value`.
    Delta {
        value: f32,
    },
    /// `min(max(x, min), max)`; Hailo's Min/Max-with-constant are one-sided clips.
    Clip {
        min: f32,
        max: f32,
    },
    /// 1 if `x == value` else 0.
    Equal {
        value: f32,
    },
    /// 1 if `x > value` else 0.
    Greater {
        value: f32,
    },
    /// 1 if `x < value` else 0.
    Less {
        value: f32,
    },
}

fn softplus(x: f32) -> f32 {
    if x > 20.0 {
        x
    } else {
        x.exp().ln_1p()
    }
}

fn indicator(b: bool) -> f32 {
    f32::from(u8::from(b))
}

impl Activation {
    /// Applies the activation to one value.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Linear => x,
            Activation::Relu => x.max(0.0),
            Activation::Relu6 => x.clamp(0.0, 6.0),
            Activation::LeakyRelu { alpha } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha * x
                }
            }
            Activation::Elu { alpha } => {
                if x > 0.0 {
                    x
                } else {
                    alpha * x.exp_m1()
                }
            }
            Activation::Sigmoid => sigmoid(x),
            Activation::Tanh => x.tanh(),
            Activation::Silu => x * sigmoid(x),
            Activation::Swish { beta } => x * sigmoid(beta * x),
            Activation::Gelu => {
                let x = f64::from(x);
                (0.5 * x
                    * (1.0 + hailo_dialect_hl::ops::activation::erf(x / std::f64::consts::SQRT_2)))
                    as f32
            }
            Activation::GeluTanh => {
                let inner = 0.797_884_6 * (x + 0.044_715 * x * x * x);
                0.5 * x * (1.0 + inner.tanh())
            }
            Activation::Mish => x * softplus(x).tanh(),
            Activation::HardSwish => x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
            Activation::HardSigmoid { alpha, beta } => (alpha * x + beta).clamp(0.0, 1.0),
            Activation::Softplus => softplus(x),
            Activation::Softsign => x / (1.0 + x.abs()),
            Activation::Exp => x.exp(),
            Activation::Log => x.ln(),
            Activation::Sqrt => x.sqrt(),
            Activation::Square => x * x,
            Activation::Abs => x.abs(),
            Activation::Pow { exponent } => x.powf(exponent),
            Activation::Neg => -x,
            Activation::Reciprocal => 1.0 / x,
            Activation::Threshold { threshold } => {
                if x >= threshold {
                    x
                } else {
                    0.0
                }
            }
            Activation::Delta { value } => {
                if x == 0.0 {
                    0.0
                } else {
                    value
                }
            }
            Activation::Clip { min, max } => x.max(min).min(max),
            Activation::Equal { value } => indicator(x == value),
            Activation::Greater { value } => indicator(x > value),
            Activation::Less { value } => indicator(x < value),
        }
    }
}

/// Elements per parallel task of [`activate`].
const PAR_CHUNK: usize = 16 * 1024;

/// Applies `act` in place to every element.
pub fn activate(act: Activation, mut x: ArrayViewMutD<f32>) {
    // The common cases get branch-free loops the compiler vectorises; the generic path
    // matches on the activation per element.
    let clamp = |lo: f32, hi: f32| move |v: f32| v.max(lo).min(hi);
    match act {
        Activation::Linear => {}
        Activation::Relu => x.mapv_inplace(|v| v.max(0.0)),
        Activation::Relu6 => x.mapv_inplace(clamp(0.0, 6.0)),
        Activation::Clip { min, max } => x.mapv_inplace(clamp(min, max)),
        Activation::LeakyRelu { alpha } => x.mapv_inplace(|v| if v >= 0.0 { v } else { alpha * v }),
        Activation::Sigmoid => map_exp_based(x, sigmoid),
        Activation::Silu => map_exp_based(x, |v| v * sigmoid(v)),
        Activation::Swish { beta } => map_exp_based(x, move |v| v * sigmoid(beta * v)),
        _ => match x.as_slice_memory_order_mut() {
            // Large tensors split across the rayon pool (the exp-based activations cost
            // as much as the convolution producing them); the same scalar function per
            // element, so the bits do not depend on the split.
            Some(s) if s.len() > PAR_CHUNK => s
                .par_chunks_mut(PAR_CHUNK)
                .for_each(|c| c.iter_mut().for_each(|v| *v = act.apply(*v))),
            _ => x.mapv_inplace(|v| act.apply(v)),
        },
    }
}

/// Applies `f` (an activation built on [`vexp::exp`], equal to its [`Activation::apply`]) in
/// place: vectorised, and split across the rayon pool when large.
fn map_exp_based(mut x: ArrayViewMutD<f32>, f: impl Fn(f32) -> f32 + Copy + Send + Sync) {
    match x.as_slice_memory_order_mut() {
        Some(s) if s.len() > PAR_CHUNK => s.par_chunks_mut(PAR_CHUNK).for_each(|c| vexp::map(c, f)),
        Some(s) => vexp::map(s, f),
        None => x.mapv_inplace(f),
    }
}

/// Applies `act` in place to a contiguous run of values.
pub fn activate_slice(act: Activation, x: &mut [f32]) {
    if act != Activation::Linear {
        activate(act, ndarray::ArrayViewMut1::from(x).into_dyn());
    }
}

/// PReLU in place: `x` where `x >= 0`, else `slope·x`; `slope` broadcasts to `x` (usually
/// one value per channel, shape `[c]`).
pub fn prelu(x: ArrayViewMutD<f32>, slope: ArrayViewD<f32>) -> Result<(), KernelError> {
    let shape = broadcast_shape("prelu", x.shape(), slope.shape())?;
    ensure!(
        shape == x.shape(),
        "prelu",
        "slope {:?} does not broadcast to input {:?}",
        slope.shape(),
        x.shape()
    );
    let slope = slope
        .broadcast(IxDyn(&shape))
        .ok_or_else(|| KernelError::new("prelu", "broadcast failed"))?;
    Zip::from(x).and(&slope).for_each(|v, &s| {
        if *v < 0.0 {
            *v *= s;
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn scalar_values_match_hand_computation() {
        let close = |a: f32, b: f32| (a - b).abs() < 2e-6 * (1.0 + b.abs());
        let cases: &[(Activation, f32, f32)] = &[
            (Activation::Linear, -3.0, -3.0),
            (Activation::Relu, -1.0, 0.0),
            (Activation::Relu, 2.5, 2.5),
            (Activation::Relu6, 7.0, 6.0),
            (Activation::LeakyRelu { alpha: 0.1 }, -2.0, -0.2),
            (Activation::Elu { alpha: 1.0 }, -1.0, -0.632_120_56),
            (Activation::Sigmoid, 0.0, 0.5),
            (Activation::Sigmoid, 2.0, 0.880_797_1),
            (Activation::Tanh, 1.0, 0.761_594_2),
            (Activation::Silu, 1.0, 0.731_058_6),
            (Activation::Swish { beta: 2.0 }, 1.0, 0.880_797_1),
            (Activation::Gelu, 1.0, 0.841_344_7),
            (Activation::Gelu, -0.5, -0.154_268_7),
            (Activation::GeluTanh, 1.0, 0.841_192),
            (Activation::Mish, 1.0, 0.865_098_4),
            (Activation::HardSwish, 1.0, 0.666_666_7),
            (Activation::HardSwish, -4.0, 0.0),
            (
                Activation::HardSigmoid {
                    alpha: 0.2,
                    beta: 0.5,
                },
                1.0,
                0.7,
            ),
            (Activation::Softplus, 0.0, std::f32::consts::LN_2),
            (Activation::Softplus, 100.0, 100.0),
            (Activation::Softsign, 3.0, 0.75),
            (Activation::Exp, 1.0, std::f32::consts::E),
            (Activation::Log, std::f32::consts::E, 1.0),
            (Activation::Sqrt, 9.0, 3.0),
            (Activation::Abs, -4.0, 4.0),
            (Activation::Square, -3.0, 9.0),
            (Activation::Pow { exponent: 3.0 }, 2.0, 8.0),
            (Activation::Neg, 1.5, -1.5),
            (Activation::Reciprocal, 4.0, 0.25),
            (Activation::Threshold { threshold: 0.5 }, 0.4, 0.0),
            (Activation::Threshold { threshold: 0.5 }, 0.5, 0.5),
            (Activation::Delta { value: 3.0 }, 0.0, 0.0),
            (Activation::Delta { value: 3.0 }, -0.1, 3.0),
            (
                Activation::Clip {
                    min: -1.0,
                    max: 1.0,
                },
                -5.0,
                -1.0,
            ),
            (Activation::Equal { value: 2.0 }, 2.0, 1.0),
            (Activation::Greater { value: 2.0 }, 2.0, 0.0),
            (Activation::Less { value: 2.0 }, 1.0, 1.0),
        ];
        for &(act, x, expected) in cases {
            assert!(
                close(act.apply(x), expected),
                "{act:?}({x}) = {} != {expected}",
                act.apply(x)
            );
        }
    }

    #[test]
    fn arrays_and_prelu() {
        let mut x = array![[-2.0f32, 3.0], [4.0, -8.0]].into_dyn();
        activate(Activation::Relu, x.view_mut());
        assert_eq!(x, array![[0.0f32, 3.0], [4.0, 0.0]].into_dyn());
        let mut x = array![[-2.0f32, 3.0], [4.0, -8.0]].into_dyn();
        prelu(x.view_mut(), array![0.5f32, 0.25].into_dyn().view()).expect("broadcasts");
        assert_eq!(x, array![[-1.0f32, 3.0], [4.0, -2.0]].into_dyn());
        let err =
            prelu(x.view_mut(), array![1.0f32, 2.0, 3.0].into_dyn().view()).expect_err("bad slope");
        assert_eq!(
            err.to_string(),
            "prelu: shapes [2, 2] and [3] do not broadcast"
        );
    }
}
