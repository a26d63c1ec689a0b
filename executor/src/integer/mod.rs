//! Integer evaluation of the `q` ops: each [`crate::evaluate::Evaluate`] implementation here
//! reads one op's quantized types and rescale attributes once, into a kernel of
//! [`crate::qkernels`] that executes the dialect's arithmetic exactly. Codes travel as
//! [`Value::I32`]; `q.quantize` and `q.dequantize` cross to and from f32 at the graph's ends.

pub(crate) mod attention;
pub(crate) mod binary;
pub(crate) mod deconv;
pub(crate) mod index;
pub(crate) mod layout;
pub(crate) mod spatial;
pub(crate) mod weighted;

use crate::attrs::OpReader;
use crate::consts::static_shape;
use crate::error::ExecError;
use crate::evaluate::{one, one_i32, Domain, Evaluate, Kernel, Prepared, Signature};
use crate::kernels::KernelError;
use crate::qkernels::{self, pointwise, Requant};
use crate::value::{Arg, BufferPool, Value};
use hailo_dialect_quant::ops as q;
use hailo_dialect_quant::QuantType;
use hailo_ir::{Attribute, Type};
use ndarray::{ArrayD, ArrayViewD, IxDyn};

/// The quantized type of `ty`, or an error naming the layer.
fn qtype(r: &OpReader, ty: Option<&Type>) -> Result<&'static QuantType, ExecError> {
    let ty = ty.ok_or_else(|| r.err("missing operand or result"))?;
    QuantType::of(*ty).ok_or_else(|| r.err(format!("'{ty}' is not quantized")))
}

/// The type of operand `i`.
fn input_type(r: &OpReader, sig: &Signature, i: usize) -> Result<&'static QuantType, ExecError> {
    qtype(r, sig.inputs.get(i))
}

/// The type of the (first) result.
fn result_type(r: &OpReader, sig: &Signature) -> Result<&'static QuantType, ExecError> {
    qtype(r, sig.results.first())
}

/// A rescale to `t` by `multiplier · 2^(−shift)`, saturated to the op's `clamp` (the
/// storage range of `t` when absent).
fn requant(r: &OpReader, multiplier: i64, shift: i64, t: &QuantType) -> Result<Requant, ExecError> {
    let c = r.i64s_opt("clamp")?.unwrap_or_default();
    let st = t.storage();
    Ok(Requant {
        multiplier,
        shift: u32::try_from(shift)
            .map_err(|_| r.err(format!("'shift' must be non-negative, found {shift}")))?,
        zero_point: t.zero_point(),
        lo: *c.first().unwrap_or(&st.qmin()),
        hi: *c.get(1).unwrap_or(&st.qmax()),
    })
}

/// Entry `i` of an integer array attribute that must have one.
fn entry(r: &OpReader, key: &str, i: usize) -> Result<i64, ExecError> {
    r.i64s(key)?
        .get(i)
        .copied()
        .ok_or_else(|| r.err(format!("'{key}' needs at least {} entries", i + 1)))
}

/// The single rescale of ops with one `multiplier` and one `shift`, to the result type.
fn single_requant(r: &OpReader, sig: &Signature) -> Result<Requant, ExecError> {
    let t = result_type(r, sig)?;
    requant(r, entry(r, "multiplier", 0)?, entry(r, "shift", 0)?, t)
}

/// Operand `i` as integer codes.
fn codes<'a>(
    args: &'a [Arg],
    i: usize,
    op: &'static str,
) -> Result<ArrayViewD<'a, i32>, KernelError> {
    args.get(i)
        .ok_or_else(|| KernelError::new(op, "missing operand"))?
        .i32(op)
}

/// `q.const`: codes stored as little-endian i32 blobs or inline, shaped by the type.
pub(crate) struct ConstEval;
pub(crate) const CONST: ConstEval = ConstEval;

impl Evaluate for ConstEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        let ty = *sig.results.first().ok_or_else(|| r.err("has no result"))?;
        let shape = static_shape(r, ty)?;
        let vals: Vec<i32> = match r.m.attr(r.id, "value") {
            Some(Attribute::DenseResource { key, .. }) => {
                let blob = r.m.resources.get(key.as_str()).ok_or_else(|| {
                    r.err(format!(
                        "resource '{key}' is not in the module's blob store"
                    ))
                })?;
                blob.bytes
                    .chunks_exact(4)
                    .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect()
            }
            Some(Attribute::Dense(d)) => d.to_i64_vec().into_iter().map(|v| v as i32).collect(),
            _ => return Err(r.err("'value' must be dense or dense_resource")),
        };
        let arr = ArrayD::from_shape_vec(IxDyn(&shape), vals)
            .map_err(|e| r.err(format!("constant does not match its type {ty}: {e}")))?;
        Ok(Prepared::Constant(Value::I32(arr)))
    }
}

/// `q.quantize`: f32 to codes by HailoRT's input rule.
pub(crate) struct QuantizeEval;
pub(crate) const QUANTIZE: QuantizeEval = QuantizeEval;

impl Evaluate for QuantizeEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        let t = result_type(r, sig)?;
        let (lo, hi) = t.float_range();
        let st = t.storage();
        Prepared::kernel(Quantize {
            scale: t.scale_at(0) as f32,
            zero_point: t.zero_point() as f32,
            limits: (lo as f32, hi as f32),
            codes: (st.qmin(), st.qmax()),
        })
    }
}

#[derive(Debug)]
struct Quantize {
    scale: f32,
    zero_point: f32,
    limits: (f32, f32),
    codes: (i64, i64),
}

impl Kernel for Quantize {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let x = args
            .first()
            .ok_or_else(|| KernelError::new(q::Quantize::NAME, "missing operand"))?
            .f32(q::Quantize::NAME)?;
        one_i32(qkernels::quantize_input(
            x,
            self.scale,
            self.zero_point,
            self.limits,
            self.codes,
        ))
    }
}

/// `q.dequantize`: codes to f32.
pub(crate) struct DequantizeEval;
pub(crate) const DEQUANTIZE: DequantizeEval = DequantizeEval;

impl Evaluate for DequantizeEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        let t = input_type(r, sig, 0)?;
        Prepared::kernel(Dequantize {
            scale: t.scale_at(0) as f32,
            zero_point: t.zero_point(),
        })
    }
}

#[derive(Debug)]
struct Dequantize {
    scale: f32,
    zero_point: i64,
}

impl Kernel for Dequantize {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let x = codes(&args, 0, q::Dequantize::NAME)?;
        one(qkernels::dequantize(x, self.scale, self.zero_point))
    }
}

/// `q.requantize`: change of scale and zero point.
pub(crate) struct RequantizeEval;
pub(crate) const REQUANTIZE: RequantizeEval = RequantizeEval;

impl Evaluate for RequantizeEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        Prepared::kernel(Requantize {
            zp_in: input_type(r, sig, 0)?.zero_point(),
            out: single_requant(r, sig)?,
        })
    }
}

#[derive(Debug)]
struct Requantize {
    zp_in: i64,
    out: Requant,
}

impl Kernel for Requantize {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let x = codes(&args, 0, q::Requantize::NAME)?;
        one_i32(pointwise::requantize_tensor(x, self.zp_in, &self.out))
    }
}

/// `q.lut`: one output code per input code.
pub(crate) struct LutEval;
pub(crate) const LUT: LutEval = LutEval;

impl Evaluate for LutEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        Prepared::kernel(Lut {
            qmin_in: input_type(r, sig, 0)?.storage().qmin(),
            table: r.i64s("table")?.into_iter().map(|v| v as i32).collect(),
        })
    }
}

#[derive(Debug)]
struct Lut {
    qmin_in: i64,
    table: Vec<i32>,
}

impl Kernel for Lut {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let x = codes(&args, 0, q::Lut::NAME)?;
        one_i32(pointwise::lut(x, self.qmin_in, &self.table)?)
    }
}

/// `q.prelu`: the positive side rescaled by `multiplier`, the negative by the channel's
/// signed `slope_multiplier`, one `shift`.
pub(crate) struct PreluEval;
pub(crate) const PRELU: PreluEval = PreluEval;

impl Evaluate for PreluEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        Prepared::kernel(Prelu {
            zp_in: input_type(r, sig, 0)?.zero_point(),
            slopes: r.i64s("slope_multiplier")?,
            out: single_requant(r, sig)?,
        })
    }
}

#[derive(Debug)]
struct Prelu {
    zp_in: i64,
    slopes: Vec<i64>,
    out: Requant,
}

impl Kernel for Prelu {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let x = codes(&args, 0, q::Prelu::NAME)?;
        one_i32(pointwise::prelu(x, self.zp_in, &self.slopes, &self.out)?)
    }
}
