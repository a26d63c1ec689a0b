//! Float evaluation of the element-wise ops: activations, PReLU, the binary `ew_*` ops
//! (in place on an operand that dies here), per-channel normalization and the colour and
//! format conversions of the input stage.

use super::{arg, missing, rank4, take_first, with_activation};
use crate::attrs::OpReader;
use crate::error::ExecError;
use crate::evaluate::{one, Evaluate, Kernel, Prepared, Signature};
use crate::kernels::activation::{prelu, Activation};
use crate::kernels::color::{color_conversion, format_conversion, FormatConversion};
use crate::kernels::elementwise::{binary, binary_inplace, broadcast_shape, BinaryOp};
use crate::kernels::KernelError;
use crate::value::{Arg, BufferPool, Value};
use ndarray::{ArrayD, Axis};

/// `hl.activation` (the `kind` attribute and its parameters).
pub(crate) struct ActivationEval;
pub(crate) const ACTIVATION: ActivationEval = ActivationEval;

impl Evaluate for ActivationEval {
    fn prepare(&self, r: &OpReader, _: &Signature) -> Result<Prepared, ExecError> {
        Prepared::kernel(Act(r.activation_kind()?))
    }
}

#[derive(Debug)]
struct Act(Activation);

impl Kernel for Act {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        one(with_activation(take_first(args, "activation")?, self.0))
    }
}

/// `hl.prelu` (x, slope).
pub(crate) struct PreluEval;
pub(crate) const PRELU: PreluEval = PreluEval;

impl Evaluate for PreluEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 2, 2)?;
        Prepared::kernel(Prelu)
    }
}

#[derive(Debug)]
struct Prelu;

impl Kernel for Prelu {
    fn run(&self, mut args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let slope = args.pop().ok_or_else(|| missing("prelu"))?;
        let mut x = args
            .pop()
            .ok_or_else(|| missing("prelu"))?
            .into_f32("prelu")?;
        prelu(x.view_mut(), slope.f32("prelu")?)?;
        one(x)
    }
}

/// The binary `hl.ew_*` ops (broadcasting, with a fused activation).
pub(crate) struct BinaryEval(BinaryOp);
pub(crate) const ADD: BinaryEval = BinaryEval(BinaryOp::Add);
pub(crate) const SUB: BinaryEval = BinaryEval(BinaryOp::Sub);
pub(crate) const MUL: BinaryEval = BinaryEval(BinaryOp::Mul);
pub(crate) const DIV: BinaryEval = BinaryEval(BinaryOp::Div);
pub(crate) const MAX: BinaryEval = BinaryEval(BinaryOp::Max);
pub(crate) const MIN: BinaryEval = BinaryEval(BinaryOp::Min);
pub(crate) const POW: BinaryEval = BinaryEval(BinaryOp::Pow);

impl Evaluate for BinaryEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 2, 2)?;
        Prepared::kernel(Binary {
            op: self.0,
            act: r.fused_activation()?,
        })
    }
}

#[derive(Debug)]
struct Binary {
    op: BinaryOp,
    act: Activation,
}

impl Kernel for Binary {
    fn run(&self, mut args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        const OP: &str = "binary";
        let (Some(b), Some(a)) = (args.pop(), args.pop()) else {
            return Err(KernelError::new(OP, "expects two operands"));
        };
        let shape = broadcast_shape(OP, a.shape(), b.shape())?;
        let commutes = matches!(
            self.op,
            BinaryOp::Add | BinaryOp::Mul | BinaryOp::Max | BinaryOp::Min
        );
        let out = match (a, b) {
            (Arg::Owned(Value::F32(mut a)), b) if a.shape() == shape.as_slice() => {
                binary_inplace(self.op, a.view_mut(), b.f32(OP)?)?;
                a
            }
            (a, Arg::Owned(Value::F32(mut b))) if commutes && b.shape() == shape.as_slice() => {
                binary_inplace(self.op, b.view_mut(), a.f32(OP)?)?;
                b
            }
            (a, b) => binary(self.op, a.f32(OP)?, b.f32(OP)?)?,
        };
        one(with_activation(out, self.act))
    }
}

/// `hl.normalization`: `(x - mean) / std` per channel, run as `x · scale + shift`.
pub(crate) struct NormalizationEval;
pub(crate) const NORMALIZATION: NormalizationEval = NormalizationEval;

impl Evaluate for NormalizationEval {
    fn prepare(&self, r: &OpReader, _: &Signature) -> Result<Prepared, ExecError> {
        let (mean, std) = (r.f64s("mean")?, r.f64s("std")?);
        if mean.len() != std.len() || std.contains(&0.0) {
            return Err(r.err(format!(
                "mean {mean:?} and std {std:?} must have equal lengths and non-zero std"
            )));
        }
        let scale: Vec<f32> = std.iter().map(|s| (1.0 / s) as f32).collect();
        let shift = mean
            .iter()
            .zip(&std)
            .map(|(m, s)| (-m / s) as f32)
            .collect();
        Prepared::kernel(PerChannel { scale, shift })
    }
}

#[derive(Debug)]
struct PerChannel {
    scale: Vec<f32>,
    shift: Vec<f32>,
}

impl Kernel for PerChannel {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let mut x: ArrayD<f32> = take_first(args, "normalization")?;
        let c = x.shape().last().copied().unwrap_or(0);
        if c != self.scale.len() {
            return Err(KernelError::new(
                "normalization",
                format!("{} mean/std values for {c} channels", self.scale.len()),
            ));
        }
        let last = Axis(x.ndim() - 1);
        for mut lane in x.lanes_mut(last) {
            lane.iter_mut()
                .zip(&self.scale)
                .zip(&self.shift)
                .for_each(|((v, s), b)| *v = *v * s + b);
        }
        one(x)
    }
}

/// `hl.color_conversion`: `y = x · kernel + bias` per pixel.
pub(crate) struct ColorConversionEval;
pub(crate) const COLOR_CONVERSION: ColorConversionEval = ColorConversionEval;

impl Evaluate for ColorConversionEval {
    fn prepare(&self, r: &OpReader, _: &Signature) -> Result<Prepared, ExecError> {
        let (k, b) = (r.f64s("kernel")?, r.f64s("bias")?);
        let (Ok(kernel), Ok(bias)) = (
            <[f32; 9]>::try_from(k.iter().map(|&v| v as f32).collect::<Vec<_>>()),
            <[f32; 3]>::try_from(b.iter().map(|&v| v as f32).collect::<Vec<_>>()),
        ) else {
            return Err(r.err("'kernel' must hold 9 values and 'bias' 3"));
        };
        Prepared::kernel(ColorConversion { kernel, bias })
    }
}

#[derive(Debug)]
struct ColorConversion {
    kernel: [f32; 9],
    bias: [f32; 3],
}

impl Kernel for ColorConversion {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let xv = arg(&args, 0, "color_conversion")?;
        let x = rank4("color_conversion", &xv)?;
        one(color_conversion(x, &self.kernel, &self.bias)?.into_dyn())
    }
}

/// `hl.format_conversion`; `emulator_support = false` passes the (already converted) input
/// through.
pub(crate) struct FormatConversionEval;
pub(crate) const FORMAT_CONVERSION: FormatConversionEval = FormatConversionEval;

impl Evaluate for FormatConversionEval {
    fn prepare(&self, r: &OpReader, _: &Signature) -> Result<Prepared, ExecError> {
        let name = r.str_or("conversion", "")?;
        let kind = FormatConversion::from_name(name)
            .ok_or_else(|| r.err(format!("unknown format conversion '{name}'")))?;
        if !r.bool_or("emulator_support", true)? {
            return Prepared::kernel(super::rearrange::Identity);
        }
        Prepared::kernel(Format(kind))
    }
}

#[derive(Debug)]
struct Format(FormatConversion);

impl Kernel for Format {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let xv = arg(&args, 0, "format_conversion")?;
        one(format_conversion(rank4("format_conversion", &xv)?, self.0)?.into_dyn())
    }
}
