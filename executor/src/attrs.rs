//! Typed access to an op's attributes, with errors naming the layer.
//!
//! Attributes are read by key here and checked against the `hl` contract
//! (docs/hl-dialect.md): missing or ill-typed attributes become [`ExecError::Layer`].
//! Activations and paddings are read through the dialect's own definitions and compiled to
//! the kernels' f32 forms.

use crate::error::ExecError;
use crate::kernels::activation::Activation;
use crate::kernels::Padding;
use hailo_dialect_hl::access::OpView;
use hailo_dialect_hl::shape::Padding as HlPadding;
use hailo_dialect_hl::Activation as HlActivation;
use hailo_ir::{Attribute, Module, OpId};

/// One op being prepared: its name, layer name and attributes.
pub(crate) struct OpReader<'m> {
    pub m: &'m Module,
    pub id: OpId,
    pub op: &'static str,
    pub layer: String,
}

impl<'m> OpReader<'m> {
    pub fn new(m: &'m Module, id: OpId) -> Self {
        let o = m.op(id);
        let op = o.name_str();
        let layer = o
            .attr("layer")
            .and_then(Attribute::as_str)
            .map_or_else(|| format!("<unnamed {op}>"), str::to_owned);
        OpReader { m, id, op, layer }
    }

    /// An error about this layer.
    pub fn err(&self, message: impl Into<String>) -> ExecError {
        ExecError::Layer {
            layer: self.layer.clone(),
            op: self.op,
            message: message.into(),
        }
    }

    fn get(&self, key: &str) -> Option<&'m Attribute> {
        self.m.op(self.id).attr(key)
    }

    fn typed<T>(
        &self,
        key: &str,
        what: &str,
        f: impl Fn(&Attribute) -> Option<T>,
    ) -> Result<Option<T>, ExecError> {
        match self.get(key) {
            None => Ok(None),
            Some(a) => f(a)
                .map(Some)
                .ok_or_else(|| self.err(format!("attribute '{key}' must be {what}, found {a:?}"))),
        }
    }

    fn required<T>(&self, key: &str, v: Option<T>) -> Result<T, ExecError> {
        v.ok_or_else(|| self.err(format!("missing required attribute '{key}'")))
    }

    pub fn i64_opt(&self, key: &str) -> Result<Option<i64>, ExecError> {
        self.typed(key, "an integer", Attribute::as_i64)
    }

    pub fn i64(&self, key: &str) -> Result<i64, ExecError> {
        let v = self.i64_opt(key)?;
        self.required(key, v)
    }

    /// A non-negative integer used as a size or an index.
    pub fn usize(&self, key: &str) -> Result<usize, ExecError> {
        let v = self.i64(key)?;
        usize::try_from(v)
            .map_err(|_| self.err(format!("attribute '{key}' must be non-negative, found {v}")))
    }

    pub fn usize_or(&self, key: &str, default: usize) -> Result<usize, ExecError> {
        match self.get(key) {
            None => Ok(default),
            Some(_) => self.usize(key),
        }
    }

    pub fn f64_or(&self, key: &str, default: f64) -> Result<f64, ExecError> {
        Ok(self
            .typed(key, "a number", Attribute::as_f64)?
            .unwrap_or(default))
    }

    pub fn f32_or(&self, key: &str, default: f64) -> Result<f32, ExecError> {
        Ok(self.f64_or(key, default)? as f32)
    }

    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool, ExecError> {
        let as_bool = |a: &Attribute| a.as_bool().or_else(|| a.as_i64().map(|v| v != 0));
        Ok(self.typed(key, "a boolean", as_bool)?.unwrap_or(default))
    }

    pub fn str_or(&self, key: &str, default: &'static str) -> Result<&'m str, ExecError> {
        match self.get(key) {
            None => Ok(default),
            Some(a) => a.as_str().ok_or_else(|| {
                self.err(format!("attribute '{key}' must be a string, found {a:?}"))
            }),
        }
    }

    pub fn i64s_opt(&self, key: &str) -> Result<Option<Vec<i64>>, ExecError> {
        self.typed(key, "an integer array", Attribute::as_i64_array)
    }

    pub fn i64s(&self, key: &str) -> Result<Vec<i64>, ExecError> {
        let v = self.i64s_opt(key)?;
        self.required(key, v)
    }

    /// A non-negative integer array of exactly `len` entries (`len == 0`: any length).
    pub fn usizes(&self, key: &str, len: usize) -> Result<Vec<usize>, ExecError> {
        let v = self.i64s(key)?;
        self.to_usizes(key, &v, len)
    }

    pub fn usizes_or(&self, key: &str, default: &[usize]) -> Result<Vec<usize>, ExecError> {
        match self.i64s_opt(key)? {
            None => Ok(default.to_vec()),
            Some(v) => self.to_usizes(key, &v, default.len()),
        }
    }

    fn to_usizes(&self, key: &str, v: &[i64], len: usize) -> Result<Vec<usize>, ExecError> {
        if len != 0 && v.len() != len {
            return Err(self.err(format!(
                "attribute '{key}' must have {len} entries, found {v:?}"
            )));
        }
        v.iter()
            .map(|&x| {
                usize::try_from(x)
                    .map_err(|_| self.err(format!("attribute '{key}' has a negative entry: {v:?}")))
            })
            .collect()
    }

    pub fn pair_or(&self, key: &str, default: usize) -> Result<[usize; 2], ExecError> {
        let v = self.usizes_or(key, &[default, default])?;
        Ok([v[0], v[1]])
    }

    pub fn f64s(&self, key: &str) -> Result<Vec<f64>, ExecError> {
        let v = self.typed(key, "a number array", Attribute::as_f64_array)?;
        self.required(key, v)
    }

    /// The fused activation (`activation` attribute, linear when absent) with its
    /// parameters, read by the dialect's one definition of activations.
    pub fn fused_activation(&self) -> Result<Activation, ExecError> {
        HlActivation::fused(self.m, self.id)
            .map(compile_activation)
            .map_err(|e| self.err(e))
    }

    /// The activation of an `hl.activation` op (attribute `kind` and its parameters).
    pub fn activation_kind(&self) -> Result<Activation, ExecError> {
        HlActivation::from_attrs(&OpView::new(self.m, self.id), "kind", false)
            .map(compile_activation)
            .map_err(|e| self.err(e))
    }

    /// Spatial padding from `padding` (+ `pads` when `"EXPLICIT"`) for a window of `kernel`
    /// taps with `stride` and `dilation` over an input of `input` = `[h, w]`; the pads of
    /// each mode come from the `hl` dialect's shape arithmetic, so they are the ones its
    /// shape inference checked.
    pub fn padding(
        &self,
        input: [usize; 2],
        kernel: [usize; 2],
        stride: [usize; 2],
        dilation: [usize; 2],
    ) -> Result<Padding, ExecError> {
        let mode = match self.str_or("padding", "EXPLICIT")? {
            "VALID" => HlPadding::Valid,
            "SAME" => HlPadding::Same,
            "SAME_TENSORFLOW" => HlPadding::SameTensorflow,
            "EXPLICIT" => return self.explicit_pads(),
            other => {
                return Err(self.err(format!(
                    "unknown padding '{other}' (expected VALID, SAME, SAME_TENSORFLOW or EXPLICIT)"
                )))
            }
        };
        let i64s = |v: [usize; 2]| v.map(|x| i64::try_from(x).unwrap_or(i64::MAX));
        let span = [0, 1].map(|i| (kernel[i].max(1) - 1) * dilation[i] + 1);
        let p = mode.pads_2d(i64s(input), i64s(span), i64s(stride));
        let [top, left, bottom, right] = p.map(|v| usize::try_from(v).unwrap_or(0));
        Ok(Padding {
            top,
            left,
            bottom,
            right,
        })
    }

    /// `pads = [top, left, bottom, right]` (all zero when absent).
    pub fn explicit_pads(&self) -> Result<Padding, ExecError> {
        let p = self.usizes_or("pads", &[0, 0, 0, 0])?;
        Ok(Padding {
            top: p[0],
            left: p[1],
            bottom: p[2],
            right: p[3],
        })
    }
}

/// The kernels' f32 form of an activation of the dialect.
fn compile_activation(a: HlActivation) -> Activation {
    let f = |v: f64| v as f32;
    match a {
        HlActivation::Linear => Activation::Linear,
        HlActivation::Relu => Activation::Relu,
        HlActivation::Relu6 => Activation::Relu6,
        HlActivation::Leaky { alpha } => Activation::LeakyRelu { alpha: f(alpha) },
        HlActivation::Elu { alpha } => Activation::Elu { alpha: f(alpha) },
        HlActivation::Sigmoid => Activation::Sigmoid,
        HlActivation::Tanh => Activation::Tanh,
        HlActivation::Silu => Activation::Silu,
        HlActivation::Swish { beta } => Activation::Swish { beta: f(beta) },
        HlActivation::Gelu => Activation::Gelu,
        HlActivation::GeluTanh => Activation::GeluTanh,
        HlActivation::Mish => Activation::Mish,
        HlActivation::HardSwish => Activation::HardSwish,
        HlActivation::HardSigmoid { alpha, beta } => Activation::HardSigmoid {
            alpha: f(alpha),
            beta: f(beta),
        },
        HlActivation::Softplus => Activation::Softplus,
        HlActivation::Softsign => Activation::Softsign,
        HlActivation::Exp => Activation::Exp,
        HlActivation::Log => Activation::Log,
        HlActivation::Sqrt => Activation::Sqrt,
        HlActivation::Square => Activation::Square,
        HlActivation::Abs => Activation::Abs,
        HlActivation::Pow { exponent } => Activation::Pow {
            exponent: f(exponent),
        },
        HlActivation::Threshold { threshold } => Activation::Threshold {
            threshold: f(threshold),
        },
        HlActivation::Delta { value } => Activation::Delta { value: f(value) },
        HlActivation::Clip { min, max } => Activation::Clip {
            min: f(min),
            max: f(max),
        },
        HlActivation::Equal { value } => Activation::Equal { value: f(value) },
        HlActivation::Greater { value } => Activation::Greater { value: f(value) },
        HlActivation::Less { value } => Activation::Less { value: f(value) },
        HlActivation::Neg => Activation::Neg,
        HlActivation::Reciprocal => Activation::Reciprocal,
    }
}
