//! Single ONNX nodes that are activations of guide Table 3 (Relu, Clip, LeakyRelu, Sigmoid,
//! ...), as the `hl` dialect's [`Activation`] with their parameters (which of them a
//! conv/dense/elementwise layer may absorb is [`Activation::fusable`]).

use hailo_dialect_hl::Activation;

use super::error::{node_error, ConvertResult};
use super::net::Net;
use crate::graph::Node;

/// The single value of a constant with exactly one element.
pub(crate) fn scalar_const(model: Net<'_>, name: &str) -> Option<f64> {
    let t = model.constant(name)?;
    (t.len() == 1).then(|| f64::from(t.to_f32().iter().copied().next().unwrap_or(0.0)))
}

/// Clip's bounds: attributes before opset 11, optional constant inputs from 11 on.
fn clip_bounds(model: Net<'_>, node: &Node) -> ConvertResult<(f64, f64)> {
    if model.opset(&node.domain) < 11 {
        return Ok((
            f64::from(node.attr_float_or("min", f32::MIN)?),
            f64::from(node.attr_float_or("max", f32::MAX)?),
        ));
    }
    let bound = |i: usize, default: f64| -> ConvertResult<f64> {
        match node.input(i) {
            None => Ok(default),
            Some(name) => scalar_const(model, name).ok_or_else(|| {
                node_error(
                    node,
                    format!("Clip bound '{name}' must be a constant scalar"),
                )
            }),
        }
    };
    Ok((
        bound(1, f64::from(f32::MIN))?,
        bound(2, f64::from(f32::MAX))?,
    ))
}

/// The activation `node` computes, if it is one; errors on activations with run-time
/// parameters.
pub(crate) fn node_activation(model: Net<'_>, node: &Node) -> ConvertResult<Option<Activation>> {
    if !node.domain.is_empty() {
        return Ok(None);
    }
    let f = |name: &str, default: f32| -> ConvertResult<f64> {
        Ok(f64::from(node.attr_float_or(name, default)?))
    };
    let scalar_input = || node.input(1).and_then(|n| scalar_const(model, n));
    Ok(Some(match node.op_type.as_str() {
        "Relu" => Activation::Relu,
        "LeakyRelu" => Activation::Leaky {
            alpha: f("alpha", 0.01)?,
        },
        "Elu" => Activation::Elu {
            alpha: f("alpha", 1.0)?,
        },
        "Sigmoid" => Activation::Sigmoid,
        "Tanh" => Activation::Tanh,
        "HardSigmoid" => Activation::HardSigmoid {
            alpha: f("alpha", 0.2)?,
            beta: f("beta", 0.5)?,
        },
        "HardSwish" => Activation::HardSwish,
        "Softplus" => Activation::Softplus,
        "Softsign" => Activation::Softsign,
        "Mish" => Activation::Mish,
        "Gelu" => match node.attr_string_or("approximate", "none")? {
            "tanh" => Activation::GeluTanh,
            _ => Activation::Gelu,
        },
        "Exp" => Activation::Exp,
        "Log" => Activation::Log,
        "Sqrt" => Activation::Sqrt,
        "Abs" => Activation::Abs,
        "Neg" => Activation::Neg,
        "Reciprocal" => Activation::Reciprocal,
        "Clip" => {
            let (lo, hi) = clip_bounds(model, node)?;
            if lo == 0.0 && hi == 6.0 {
                Activation::Relu6
            } else if lo == 0.0 && hi >= f64::from(f32::MAX) {
                Activation::Relu
            } else {
                Activation::Clip { min: lo, max: hi }
            }
        }
        "Pow" => match scalar_input() {
            Some(2.0) => Activation::Square,
            Some(0.5) => Activation::Sqrt,
            Some(e) => Activation::Pow { exponent: e },
            None => return Ok(None),
        },
        "Equal" | "Greater" | "Less" => match scalar_input() {
            Some(value) => match node.op_type.as_str() {
                "Equal" => Activation::Equal { value },
                "Greater" => Activation::Greater { value },
                _ => Activation::Less { value },
            },
            None => return Ok(None),
        },
        _ => return Ok(None),
    }))
}
