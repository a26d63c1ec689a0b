//! Integer evaluation of the `q` ops that move codes unchanged: slice, transpose, pad,
//! concat, reshape and format conversion.

use super::codes;
use crate::attrs::OpReader;
use crate::error::ExecError;
use crate::evaluate::{one_i32, Domain, Evaluate, Kernel, Prepared, Signature};
use crate::kernels::color::{format_conversion, FormatConversion};
use crate::kernels::KernelError;
use crate::qkernels::shape::{pad, slice, transpose, QPadMode};
use crate::value::{Arg, BufferPool, Value};
use hailo_dialect_quant::ops as q;
use ndarray::{Axis, Ix4, IxDyn};

/// `q.slice` (`starts`, `ends`, `steps` of the non-batch axes, or of every axis).
pub(crate) struct SliceEval;
pub(crate) const SLICE: SliceEval = SliceEval;

impl Evaluate for SliceEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, _: &Signature) -> Result<Prepared, ExecError> {
        Prepared::kernel(Slice {
            starts: r.i64s("starts")?,
            ends: r.i64s("ends")?,
            steps: r.i64s("steps")?,
        })
    }
}

#[derive(Debug)]
struct Slice {
    starts: Vec<i64>,
    ends: Vec<i64>,
    steps: Vec<i64>,
}

impl Kernel for Slice {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let x = codes(&args, 0, q::Slice::NAME)?;
        one_i32(slice(x, &self.starts, &self.ends, &self.steps)?)
    }
}

/// `q.transpose` (`perm`, numpy order).
pub(crate) struct TransposeEval;
pub(crate) const TRANSPOSE: TransposeEval = TransposeEval;

impl Evaluate for TransposeEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, _: &Signature) -> Result<Prepared, ExecError> {
        Prepared::kernel(Transpose(r.usizes("perm", 0)?))
    }
}

#[derive(Debug)]
struct Transpose(Vec<usize>);

impl Kernel for Transpose {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        one_i32(transpose(codes(&args, 0, q::Transpose::NAME)?, &self.0)?)
    }
}

/// `q.pad` (`pads` = all befores then all afters; a constant pad's `value` is a code).
pub(crate) struct PadEval;
pub(crate) const PAD: PadEval = PadEval;

impl Evaluate for PadEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, _: &Signature) -> Result<Prepared, ExecError> {
        let p = r.usizes("pads", 0)?;
        let rank = p.len() / 2;
        let pads = (0..rank).map(|a| (p[a], p[a + rank])).collect();
        let mode = match r.str_or("mode", "constant")? {
            "reflect" => QPadMode::Reflect,
            "edge" => QPadMode::Edge,
            "wrap" => QPadMode::Wrap,
            _ => QPadMode::Constant(
                r.i64_opt("value")?
                    .ok_or_else(|| r.err("a constant pad needs its 'value' code"))?
                    as i32,
            ),
        };
        Prepared::kernel(Pad { pads, mode })
    }
}

#[derive(Debug)]
struct Pad {
    pads: Vec<(usize, usize)>,
    mode: QPadMode,
}

impl Kernel for Pad {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        one_i32(pad(codes(&args, 0, q::Pad::NAME)?, &self.pads, self.mode)?)
    }
}

/// `q.concat` along `axis` (operands share the result's type).
pub(crate) struct ConcatEval;
pub(crate) const CONCAT: ConcatEval = ConcatEval;

impl Evaluate for ConcatEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, _: &Signature) -> Result<Prepared, ExecError> {
        Prepared::kernel(Concat(r.usize_or("axis", 0)?))
    }
}

#[derive(Debug)]
struct Concat(usize);

impl Kernel for Concat {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let parts = (0..args.len())
            .map(|i| codes(&args, i, q::Concat::NAME))
            .collect::<Result<Vec<_>, _>>()?;
        one_i32(
            ndarray::concatenate(Axis(self.0), &parts)
                .map_err(|e| KernelError::new(q::Concat::NAME, e.to_string()))?,
        )
    }
}

/// `q.reshape` to the result type's shape (dimension 0 is the run's batch).
pub(crate) struct ReshapeEval;
pub(crate) const RESHAPE: ReshapeEval = ReshapeEval;

impl Evaluate for ReshapeEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        Prepared::kernel(Reshape(sig.result_shape(r)?))
    }
}

#[derive(Debug)]
struct Reshape(Vec<usize>);

impl Kernel for Reshape {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        const OP: &str = q::Reshape::NAME;
        let x = args
            .into_iter()
            .next()
            .ok_or_else(|| KernelError::new(OP, "missing operand"))?
            .into_i32(OP)?;
        let shape = crate::float::rearrange::batched_shape(&self.0, x.len());
        one_i32(
            x.into_shape_with_order(IxDyn(&shape))
                .map_err(|e| KernelError::new(OP, e.to_string()))?,
        )
    }
}

/// `q.format_conversion`: the float kernel's gather, on codes (`emulator_support = false`:
/// the input is already converted and passes through).
pub(crate) struct FormatEval;
pub(crate) const FORMAT: FormatEval = FormatEval;

impl Evaluate for FormatEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, _: &Signature) -> Result<Prepared, ExecError> {
        let name = r.str_or("conversion", "")?;
        let kind = FormatConversion::from_name(name)
            .ok_or_else(|| r.err(format!("unknown format conversion '{name}'")))?;
        let convert = r.bool_or("emulator_support", true)?;
        Prepared::kernel(Format(convert.then_some(kind)))
    }
}

#[derive(Debug)]
struct Format(Option<FormatConversion>);

impl Kernel for Format {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        const OP: &str = q::FormatConversion::NAME;
        let x = codes(&args, 0, OP)?;
        let Some(kind) = self.0 else {
            return one_i32(x.to_owned());
        };
        let x4 = x
            .into_dimensionality::<Ix4>()
            .map_err(|_| KernelError::new(OP, "expects a rank-4 NHWC input"))?;
        one_i32(format_conversion(x4, kind)?.into_dyn())
    }
}
