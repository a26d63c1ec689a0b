//! Activations: the [`Activation`] kinds of the DFC guide's Table 3 with
//! their parameters, used both by `hl.activation` (attribute `kind`) and as
//! the fused `activation` of conv, dense, elementwise and batch-norm ops; and
//! `hl.prelu`, whose slope is a tensor operand.

use super::check_layer;
use crate::access::{OpView, Result};
use hailo_ir::{define_op, Attribute, FoldResult, Module, OpDef, OpId, Type};

define_op! {
    /// `%y = hl.activation %x {kind = "leaky", alpha = 0.1, layer = "activation1"}`.
    /// `split_from = "conv1"`: the layer `quant-split-activations` split it off, whose
    /// precision it takes.
    pub struct ActivationOp = "hl.activation" {
        summary: "Standalone activation (attribute `kind`)", traits: [PURE, ELEMENTWISE, SAME_OPERANDS_AND_RESULT_TYPE],
        operands { input: 0 }
        attrs { kind: str [required = "the activation kind, e.g. \"relu\""], layer: str [required = "the Hailo layer name, a string"], split_from: str }
        attr_groups [super::QUANT_ANNOTATIONS, super::ACTIVATION_PARAMS]
        interfaces { crate::interfaces::ChannelScaling => crate::interfaces::HomogeneousKind, crate::interfaces::HnExport => crate::hn::HnLayer::new("activation", &[], crate::hn::ACTIVATION_OP) }
        hooks { verify: verify_activation, fold: fold_linear }
    }
}

define_op! {
    /// Parametric ReLU: `x < 0 ? slope * x : x`, slope broadcast to `x`.
    pub struct Prelu = "hl.prelu" {
        summary: "Parametric ReLU with a per-channel slope", traits: [PURE, ELEMENTWISE],
        operands { input: 0, slope: 1 }
        attrs { layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::ChannelScaling => crate::interfaces::AlwaysCommutes, crate::interfaces::HnExport => crate::hn::HnLayer::new("prelu", &["slope"], &[]) }
        hooks { verify: verify_prelu, infer: infer_prelu }
    }
}

/// An activation function with its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    Linear,
    Relu,
    Relu6,
    Leaky { alpha: f64 },
    Elu { alpha: f64 },
    Sigmoid,
    Tanh,
    Silu,
    Swish { beta: f64 },
    Gelu,
    GeluTanh,
    Mish,
    HardSwish,
    HardSigmoid { alpha: f64, beta: f64 },
    Softplus,
    Softsign,
    Exp,
    Log,
    Sqrt,
    Square,
    Abs,
    Pow { exponent: f64 },
    Threshold { threshold: f64 },
    Delta { value: f64 },
    Clip { min: f64, max: f64 },
    Equal { value: f64 },
    Greater { value: f64 },
    Less { value: f64 },
    Neg,
    Reciprocal,
}

/// Every kind with the names of its (required, f64) parameter attributes.
pub const KINDS: &[(&str, &[&str])] = &[
    ("linear", &[]),
    ("relu", &[]),
    ("relu6", &[]),
    ("leaky", &["alpha"]),
    ("elu", &["alpha"]),
    ("sigmoid", &[]),
    ("tanh", &[]),
    ("silu", &[]),
    ("swish", &["beta"]),
    ("gelu", &[]),
    ("gelu_tanh", &[]),
    ("mish", &[]),
    ("hardswish", &[]),
    ("hardsigmoid", &["alpha", "beta"]),
    ("softplus", &[]),
    ("softsign", &[]),
    ("exp", &[]),
    ("log", &[]),
    ("sqrt", &[]),
    ("square", &[]),
    ("abs", &[]),
    ("pow", &["exponent"]),
    ("threshold", &["threshold"]),
    ("delta", &["value"]),
    ("clip", &["min", "max"]),
    ("equal", &["value"]),
    ("greater", &["value"]),
    ("less", &["value"]),
    ("neg", &[]),
    ("reciprocal", &[]),
];

impl Activation {
    /// Reads the activation named by attribute `key` (`kind` or `activation`)
    /// and its parameters; an absent `key` means `linear` when `optional`. Evaluation
    /// takes any values (a clip with min > max gives max, as ONNX's); the verifier also
    /// applies [`Activation::check`].
    pub fn from_attrs(v: &OpView<'_>, key: &str, optional: bool) -> Result<Activation> {
        let Some(kind) = v.opt_str(key)? else {
            return if optional {
                Ok(Activation::Linear)
            } else {
                Err(format!(
                    "requires attribute '{key}' (the activation kind, e.g. \"relu\")"
                ))
            };
        };
        let Some((kind, names)) = KINDS.iter().find(|(k, _)| *k == kind) else {
            let all: Vec<&str> = KINDS.iter().map(|k| k.0).collect();
            return Err(format!(
                "unknown activation \"{kind}\" in '{key}'; expected one of: {}",
                all.join(", ")
            ));
        };
        let p = names
            .iter()
            .map(|n| {
                v.f64(n)
                    .map_err(|e| format!("{e}: activation \"{kind}\" needs parameter(s) {names:?}"))
            })
            .collect::<Result<Vec<f64>>>()?;
        let a = match *kind {
            "linear" => Activation::Linear,
            "relu" => Activation::Relu,
            "relu6" => Activation::Relu6,
            "leaky" => Activation::Leaky { alpha: p[0] },
            "elu" => Activation::Elu { alpha: p[0] },
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "silu" => Activation::Silu,
            "swish" => Activation::Swish { beta: p[0] },
            "gelu" => Activation::Gelu,
            "gelu_tanh" => Activation::GeluTanh,
            "mish" => Activation::Mish,
            "hardswish" => Activation::HardSwish,
            "hardsigmoid" => Activation::HardSigmoid {
                alpha: p[0],
                beta: p[1],
            },
            "softplus" => Activation::Softplus,
            "softsign" => Activation::Softsign,
            "exp" => Activation::Exp,
            "log" => Activation::Log,
            "sqrt" => Activation::Sqrt,
            "square" => Activation::Square,
            "abs" => Activation::Abs,
            "pow" => Activation::Pow { exponent: p[0] },
            "threshold" => Activation::Threshold { threshold: p[0] },
            "delta" => Activation::Delta { value: p[0] },
            "clip" => Activation::Clip {
                min: p[0],
                max: p[1],
            },
            "equal" => Activation::Equal { value: p[0] },
            "greater" => Activation::Greater { value: p[0] },
            "less" => Activation::Less { value: p[0] },
            "neg" => Activation::Neg,
            _ => Activation::Reciprocal,
        };
        Ok(a)
    }

    /// The kind's attribute spelling, as listed in [`KINDS`].
    pub fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Relu6 => "relu6",
            Activation::Leaky { .. } => "leaky",
            Activation::Elu { .. } => "elu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Silu => "silu",
            Activation::Swish { .. } => "swish",
            Activation::Gelu => "gelu",
            Activation::GeluTanh => "gelu_tanh",
            Activation::Mish => "mish",
            Activation::HardSwish => "hardswish",
            Activation::HardSigmoid { .. } => "hardsigmoid",
            Activation::Softplus => "softplus",
            Activation::Softsign => "softsign",
            Activation::Exp => "exp",
            Activation::Log => "log",
            Activation::Sqrt => "sqrt",
            Activation::Square => "square",
            Activation::Abs => "abs",
            Activation::Pow { .. } => "pow",
            Activation::Threshold { .. } => "threshold",
            Activation::Delta { .. } => "delta",
            Activation::Clip { .. } => "clip",
            Activation::Equal { .. } => "equal",
            Activation::Greater { .. } => "greater",
            Activation::Less { .. } => "less",
            Activation::Neg => "neg",
            Activation::Reciprocal => "reciprocal",
        }
    }

    /// The parameters with their attribute names, in the order [`KINDS`] lists them (the
    /// order [`Activation::from_attrs`] reads them in).
    pub fn params(self) -> Vec<(&'static str, f64)> {
        let values = match self {
            Activation::Leaky { alpha } | Activation::Elu { alpha } => vec![alpha],
            Activation::Swish { beta } => vec![beta],
            Activation::HardSigmoid { alpha, beta } => vec![alpha, beta],
            Activation::Pow { exponent } => vec![exponent],
            Activation::Threshold { threshold } => vec![threshold],
            Activation::Delta { value }
            | Activation::Equal { value }
            | Activation::Greater { value }
            | Activation::Less { value } => vec![value],
            Activation::Clip { min, max } => vec![min, max],
            _ => Vec::new(),
        };
        let names: &[&'static str] = KINDS
            .iter()
            .find(|(k, _)| *k == self.name())
            .map_or(&[], |(_, names)| names);
        names.iter().copied().zip(values).collect()
    }

    /// The attributes of a layer that fuses this activation: `activation` and the
    /// parameters, as [`Activation::fused`] reads them.
    pub fn layer_attrs(self) -> Vec<(&'static str, Attribute)> {
        self.attrs("activation")
    }

    /// The attributes of a standalone `hl.activation`: `kind` and the parameters.
    pub fn op_attrs(self) -> Vec<(&'static str, Attribute)> {
        self.attrs("kind")
    }

    fn attrs(self, key: &'static str) -> Vec<(&'static str, Attribute)> {
        let mut out = vec![(key, Attribute::str(self.name()))];
        out.extend(
            self.params()
                .into_iter()
                .map(|(k, v)| (k, Attribute::f64(v))),
        );
        out
    }

    /// Whether a conv/dense/elementwise/batch-norm layer may take this activation as its
    /// fused `activation` attribute (the others stay standalone `hl.activation`s).
    pub fn fusable(self) -> bool {
        match self {
            Activation::Relu
            | Activation::Relu6
            | Activation::Leaky { .. }
            | Activation::Elu { .. }
            | Activation::Sigmoid
            | Activation::Tanh
            | Activation::Clip { .. }
            | Activation::HardSigmoid { .. }
            | Activation::HardSwish
            | Activation::Silu
            | Activation::Swish { .. }
            | Activation::Gelu
            | Activation::GeluTanh
            | Activation::Mish
            | Activation::Softplus
            | Activation::Softsign => true,
            Activation::Linear
            | Activation::Exp
            | Activation::Log
            | Activation::Sqrt
            | Activation::Square
            | Activation::Abs
            | Activation::Pow { .. }
            | Activation::Threshold { .. }
            | Activation::Delta { .. }
            | Activation::Equal { .. }
            | Activation::Greater { .. }
            | Activation::Less { .. }
            | Activation::Neg
            | Activation::Reciprocal => false,
        }
    }

    /// Whether `f(s·x) = s·f(x)` for every `s > 0` (identity, ReLU, leaky ReLU): a positive
    /// per-channel scale passes through it (equalization, quantization.md §3). ReLU6 and clip
    /// do not: their bound is one number for every channel.
    pub fn positively_homogeneous(self) -> bool {
        matches!(
            self,
            Activation::Linear | Activation::Relu | Activation::Leaky { .. }
        )
    }

    /// The activation of `x` in f64 (what a lookup table of quantized codes is built from),
    /// as the float executor defines each kind.
    pub fn eval(self, x: f64) -> f64 {
        let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
        match self {
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
            Activation::Gelu => 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2)),
            Activation::Mish => x * x.exp().ln_1p().tanh(),
            Activation::Softsign => x / (1.0 + x.abs()),
            Activation::GeluTanh => {
                0.5 * x
                    * (1.0
                        + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x.powi(3))).tanh())
            }
            Activation::Softplus => x.exp().ln_1p(),
            Activation::Abs => x.abs(),
            Activation::Neg => -x,
            Activation::Exp => x.exp(),
            Activation::Square => x * x,
            Activation::Clip { min, max } => x.max(min).min(max),
            Activation::Log => x.ln(),
            Activation::Sqrt => x.sqrt(),
            Activation::Pow { exponent } => x.powf(exponent),
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
            Activation::Equal { value } => f64::from(u8::from(x == value)),
            Activation::Greater { value } => f64::from(u8::from(x > value)),
            Activation::Less { value } => f64::from(u8::from(x < value)),
        }
    }

    /// The rules a verified activation follows beyond its kind and parameters.
    pub fn check(self) -> Result<Activation> {
        match self {
            Activation::Clip { min, max } if min > max => Err(format!(
                "clip activation needs min <= max, got min {min} > max {max}"
            )),
            a => Ok(a),
        }
    }

    /// The fused `activation` attribute (with parameters) of `op`, `Linear` when absent.
    pub fn fused(m: &Module, op: OpId) -> Result<Activation> {
        Activation::from_attrs(&OpView::new(m, op), "activation", true)
    }
}

fn verify_activation(m: &Module, op: OpId) -> Result<()> {
    let v = check_layer(m, op, (1, 1), "one input", false)?;
    Activation::from_attrs(&v, "kind", false)?
        .check()
        .map(|_| ())
}

/// `kind = "linear"` is the identity.
fn fold_linear(m: &Module, op: OpId, _: &[Option<Attribute>]) -> Option<Vec<FoldResult>> {
    let x = *m.op(op).operands().first()?;
    (OpView::new(m, op).opt_str("kind") == Ok(Some("linear"))).then(|| vec![FoldResult::Value(x)])
}

fn verify_prelu(m: &Module, op: OpId) -> Result<()> {
    check_layer(m, op, (2, 2), "input and slope", false).map(|_| ())
}

fn infer_prelu(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let x = v.shape(0, "input")?;
    let slope = v.shape(1, "slope")?;
    let b = crate::shape::broadcast(&x, &slope)?;
    if b != x {
        return Err(format!(
            "slope of shape {slope:?} must broadcast to the input shape {x:?}"
        ));
    }
    Ok(vec![v.operand_type(0, "input")?])
}

pub fn defs() -> Vec<OpDef> {
    vec![ActivationOp::def(), Prelu::def()]
}

/// Gauss error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7), in f64.
pub fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let y = 1.0 - poly * (-x * x).exp();
    if x < 0.0 {
        -y
    } else {
        y
    }
}

#[cfg(test)]
mod tests {
    use super::{Activation, ActivationOp, KINDS};
    use crate::access::OpView;
    use hailo_ir::{Module, OpSpec};

    /// Every variant, with distinct parameter values.
    const ALL: &[Activation] = &[
        Activation::Linear,
        Activation::Relu,
        Activation::Relu6,
        Activation::Leaky { alpha: 0.1 },
        Activation::Elu { alpha: 1.5 },
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Silu,
        Activation::Swish { beta: 1.7 },
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Mish,
        Activation::HardSwish,
        Activation::HardSigmoid {
            alpha: 0.2,
            beta: 0.5,
        },
        Activation::Softplus,
        Activation::Softsign,
        Activation::Exp,
        Activation::Log,
        Activation::Sqrt,
        Activation::Square,
        Activation::Abs,
        Activation::Pow { exponent: 3.0 },
        Activation::Threshold { threshold: 0.25 },
        Activation::Delta { value: -2.0 },
        Activation::Clip {
            min: -1.0,
            max: 4.5,
        },
        Activation::Equal { value: 7.0 },
        Activation::Greater { value: 0.3 },
        Activation::Less { value: -0.3 },
        Activation::Neg,
        Activation::Reciprocal,
    ];

    /// Reads back what `attrs` wrote on a fresh op.
    fn read_back(
        attrs: Vec<(&'static str, hailo_ir::Attribute)>,
        key: &str,
    ) -> Result<Activation, String> {
        let mut m = Module::new(None);
        let spec = attrs
            .into_iter()
            .fold(OpSpec::new(ActivationOp::NAME), |s, (k, v)| s.attr(k, v));
        let op = m.create_op(spec);
        Activation::from_attrs(&OpView::new(&m, op), key, false)
    }

    #[test]
    fn writing_then_reading_round_trips_every_variant() {
        let mut names: Vec<&str> = ALL.iter().map(|a| a.name()).collect();
        let mut kinds: Vec<&str> = KINDS.iter().map(|k| k.0).collect();
        names.sort_unstable();
        kinds.sort_unstable();
        assert_eq!(names, kinds, "the test covers every kind once");
        for &a in ALL {
            assert_eq!(read_back(a.op_attrs(), "kind"), Ok(a));
            assert_eq!(read_back(a.layer_attrs(), "activation"), Ok(a));
        }
    }

    #[test]
    fn attributes_are_the_key_then_the_parameters_in_kinds_order() {
        let hs = Activation::HardSigmoid {
            alpha: 0.2,
            beta: 0.5,
        };
        let keys: Vec<&str> = hs.op_attrs().iter().map(|a| a.0).collect();
        assert_eq!(keys, ["kind", "alpha", "beta"]);
        let clip = Activation::Clip { min: 0.0, max: 1.0 };
        let keys: Vec<&str> = clip.layer_attrs().iter().map(|a| a.0).collect();
        assert_eq!(keys, ["activation", "min", "max"]);
        assert_eq!(
            Activation::Relu.layer_attrs(),
            [("activation", hailo_ir::Attribute::str("relu"))]
        );
    }

    #[test]
    fn only_layer_friendly_kinds_fuse() {
        assert!(Activation::Leaky { alpha: 0.1 }.fusable());
        assert!(Activation::Swish { beta: 1.0 }.fusable());
        assert!(!Activation::Linear.fusable());
        assert!(!Activation::Exp.fusable());
        assert!(!Activation::Delta { value: 1.0 }.fusable());
    }
}
