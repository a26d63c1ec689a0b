//! Lookup tables for activations on quantized codes: every input code is dequantized, the
//! activation applied in f64, and the result quantized to the output type.

use hailo_dialect_hl::Activation;
use hailo_dialect_quant::{scheme, QuantType};

/// The activation in f64, `None` for kinds without a table lowering yet.
pub fn eval(a: Activation, x: f64) -> Option<f64> {
    let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
    Some(match a {
        Activation::Linear => x,
        Activation::Relu => x.max(0.0),
        Activation::Relu6 => x.clamp(0.0, 6.0),
        Activation::Leaky { alpha } => {
            if x < 0.0 {
                alpha * x
            } else {
                x
            }
        }
        Activation::Elu { alpha } => {
            if x < 0.0 {
                alpha * (x.exp() - 1.0)
            } else {
                x
            }
        }
        Activation::Sigmoid => sigmoid(x),
        Activation::Tanh => x.tanh(),
        Activation::Silu => x * sigmoid(x),
        Activation::Swish { beta } => x * sigmoid(beta * x),
        Activation::HardSwish => x * (x + 3.0).clamp(0.0, 6.0) / 6.0,
        Activation::HardSigmoid { alpha, beta } => (alpha * x + beta).clamp(0.0, 1.0),
        Activation::GeluTanh => {
            0.5 * x
                * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x.powi(3))).tanh())
        }
        Activation::Softplus => x.exp().ln_1p(),
        Activation::Abs => x.abs(),
        Activation::Neg => -x,
        Activation::Exp => x.exp(),
        Activation::Square => x * x,
        Activation::Clip { min, max } => x.clamp(min, max),
        _ => return None,
    })
}

/// One output code per input code of `input`.
pub fn table(a: Activation, input: &QuantType, output: &QuantType) -> Option<Vec<i64>> {
    let (si, zi) = (input.scale_at(0), input.zero_point());
    let (so, zo) = (output.scale_at(0), output.zero_point());
    let st = input.storage();
    (st.qmin()..=st.qmax())
        .map(|c| {
            eval(a, si * (c - zi) as f64).map(|y| scheme::quantize(y, so, zo, output.storage()))
        })
        .collect()
}
