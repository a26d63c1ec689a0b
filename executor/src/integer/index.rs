//! Integer evaluation of `q.argmax` and `q.one_hot` (kernels in [`crate::qkernels::index`]).

use super::{codes, input_type};
use crate::attrs::OpReader;
use crate::error::ExecError;
use crate::evaluate::{one_i32, Domain, Evaluate, Kernel, Prepared, Signature};
use crate::kernels::KernelError;
use crate::qkernels::index;
use crate::value::{Arg, BufferPool, Value};
use hailo_dialect_quant::ops as q;

pub(crate) struct ArgMaxEval;
pub(crate) const ARGMAX: ArgMaxEval = ArgMaxEval;

impl Evaluate for ArgMaxEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 1, 1)?;
        Prepared::kernel(ArgMax {
            axis: r.usize("axis")?,
            keepdims: r.bool_or("keepdims", false)?,
        })
    }
}

#[derive(Debug)]
struct ArgMax {
    axis: usize,
    keepdims: bool,
}

impl Kernel for ArgMax {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let x = codes(&args, 0, q::ArgMax::NAME)?;
        one_i32(index::argmax(x, self.axis, self.keepdims)?)
    }
}

pub(crate) struct OneHotEval;
pub(crate) const ONE_HOT: OneHotEval = OneHotEval;

impl Evaluate for OneHotEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 1, 1)?;
        let depth = *sig.result_shape(r)?.last().unwrap_or(&0);
        let code = |k: &str| -> Result<i32, ExecError> {
            let v = r.i64(k)?;
            i32::try_from(v).map_err(|_| r.err(format!("'{k}' code {v} does not fit i32")))
        };
        Prepared::kernel(OneHot {
            qmin_in: input_type(r, sig, 0)?.storage().qmin(),
            table: r.i64s("table")?,
            depth,
            on: code("on")?,
            off: code("off")?,
        })
    }
}

#[derive(Debug)]
struct OneHot {
    qmin_in: i64,
    table: Vec<i64>,
    depth: usize,
    on: i32,
    off: i32,
}

impl Kernel for OneHot {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let x = codes(&args, 0, q::OneHot::NAME)?;
        one_i32(index::one_hot(
            x,
            self.qmin_in,
            &self.table,
            self.depth,
            self.on,
            self.off,
        )?)
    }
}
