//! Integer evaluation of `q.matmul`, `q.softmax`, `q.log_softmax`, `q.layer_norm` and `q.reduce`: each reads
//! its rescale and zero points once into a kernel of [`crate::qkernels::attention`].

use super::{codes, entry, input_type, single_requant};
use crate::attrs::OpReader;
use crate::error::ExecError;
use crate::evaluate::{one_i32, Domain, Evaluate, Kernel, Prepared, Signature};
use crate::kernels::KernelError;
use crate::qkernels::attention::{self as k, ReduceKind};
use crate::qkernels::Requant;
use crate::value::{Arg, BufferPool, Value};
use hailo_dialect_quant::ops as q;

/// The reduced axes, in range of `rank`, sorted.
fn axes(r: &OpReader, rank: usize) -> Result<Vec<usize>, ExecError> {
    let mut a = r.usizes("axes", 0)?;
    if a.iter().any(|&x| x >= rank) {
        return Err(r.err(format!("'axes' {a:?} do not fit rank {rank}")));
    }
    a.sort_unstable();
    a.dedup();
    Ok(a)
}

pub(crate) struct MatMulEval;
pub(crate) const MATMUL: MatMulEval = MatMulEval;

impl Evaluate for MatMulEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 2, 2)?;
        Prepared::kernel(MatMul {
            za: input_type(r, sig, 0)?.zero_point(),
            zb: input_type(r, sig, 1)?.zero_point(),
            transpose_b: r.bool_or("transpose_b", false)?,
            out: single_requant(r, sig)?,
        })
    }
}

#[derive(Debug)]
struct MatMul {
    za: i64,
    zb: i64,
    transpose_b: bool,
    out: Requant,
}

impl Kernel for MatMul {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        const OP: &str = q::MatMul::NAME;
        let (a, b) = (codes(&args, 0, OP)?, codes(&args, 1, OP)?);
        one_i32(k::matmul(
            a,
            self.za,
            b,
            self.zb,
            self.transpose_b,
            &self.out,
        )?)
    }
}

pub(crate) struct SoftmaxEval;
pub(crate) const SOFTMAX: SoftmaxEval = SoftmaxEval;

impl Evaluate for SoftmaxEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 1, 1)?;
        Prepared::kernel(Softmax {
            table: r.i64s("table")?,
            out: single_requant(r, sig)?,
        })
    }
}

#[derive(Debug)]
struct Softmax {
    table: Vec<i64>,
    out: Requant,
}

impl Kernel for Softmax {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let x = codes(&args, 0, q::Softmax::NAME)?;
        one_i32(k::softmax(x, &self.table, &self.out)?)
    }
}

pub(crate) struct LogSoftmaxEval;
pub(crate) const LOG_SOFTMAX: LogSoftmaxEval = LogSoftmaxEval;

impl Evaluate for LogSoftmaxEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 1, 1)?;
        Prepared::kernel(LogSoftmax {
            table: r.i64s("table")?,
            ma: entry(r, "multiplier", 0)?,
            mb: entry(r, "multiplier", 1)?,
            out: single_requant(r, sig)?,
        })
    }
}

#[derive(Debug)]
struct LogSoftmax {
    table: Vec<i64>,
    ma: i64,
    mb: i64,
    out: Requant,
}

impl Kernel for LogSoftmax {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let x = codes(&args, 0, q::LogSoftmax::NAME)?;
        one_i32(k::log_softmax(x, &self.table, self.ma, self.mb, &self.out)?)
    }
}

pub(crate) struct LayerNormEval;
pub(crate) const LAYER_NORM: LayerNormEval = LayerNormEval;

impl Evaluate for LayerNormEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 3, 3)?;
        let out = super::weighted::channel_requants(r, sig)?;
        Prepared::kernel(LayerNorm {
            zp: input_type(r, sig, 0)?.zero_point(),
            axes: axes(r, sig.input_rank(r)?)?,
            eps: r.i64("epsilon")?,
            center: r.bool_or("center", true)?,
            out,
        })
    }
}

#[derive(Debug)]
struct LayerNorm {
    zp: i64,
    axes: Vec<usize>,
    eps: i64,
    center: bool,
    out: Vec<Requant>,
}

impl Kernel for LayerNorm {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        const OP: &str = q::LayerNorm::NAME;
        let x = codes(&args, 0, OP)?;
        let gamma: Vec<i64> = codes(&args, 1, OP)?.iter().map(|&v| v as i64).collect();
        let beta: Vec<i64> = codes(&args, 2, OP)?.iter().map(|&v| v as i64).collect();
        one_i32(k::layer_norm(
            x,
            self.zp,
            &self.axes,
            self.eps,
            self.center,
            &gamma,
            &beta,
            &self.out,
        )?)
    }
}

pub(crate) struct ReduceEval;
pub(crate) const REDUCE: ReduceEval = ReduceEval;

impl Evaluate for ReduceEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 1, 1)?;
        let kind = match r.str_or("kind", "")? {
            "sum" => ReduceKind::Sum,
            "mean" => ReduceKind::Mean,
            "max" => ReduceKind::Max,
            "min" => ReduceKind::Min,
            "sum_square" => ReduceKind::SumSquare,
            "l2" => ReduceKind::L2,
            other => return Err(r.err(format!("unknown reduce kind '{other}'"))),
        };
        Prepared::kernel(Reduce {
            zp: input_type(r, sig, 0)?.zero_point(),
            axes: axes(r, sig.input_rank(r)?)?,
            keepdims: r.bool_or("keepdims", false)?,
            kind,
            out: single_requant(r, sig)?,
        })
    }
}

#[derive(Debug)]
struct Reduce {
    zp: i64,
    axes: Vec<usize>,
    keepdims: bool,
    kind: ReduceKind,
    out: Requant,
}

impl Kernel for Reduce {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let x = codes(&args, 0, q::Reduce::NAME)?;
        one_i32(k::reduce(
            x,
            self.zp,
            &self.axes,
            self.keepdims,
            self.kind,
            &self.out,
        )?)
    }
}
