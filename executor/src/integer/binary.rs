//! Integer evaluation of the binary `q.ew_*` ops: both operands rescaled (add, sub, max,
//! min) or their product / quotient rescaled (mult, div), saturated to the output clamp.

use super::{codes, entry, input_type, requant, result_type};
use crate::attrs::OpReader;
use crate::error::ExecError;
use crate::evaluate::{one_i32, Domain, Evaluate, Kernel, Prepared, Signature};
use crate::kernels::KernelError;
use crate::qkernels::pointwise::{binary, Binary as Kind};
use crate::qkernels::Requant;
use crate::value::{Arg, BufferPool, Value};

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Max,
    Min,
    Mult,
    Div,
}

pub(crate) struct BinaryEval(Op);
pub(crate) const ADD: BinaryEval = BinaryEval(Op::Add);
pub(crate) const SUB: BinaryEval = BinaryEval(Op::Sub);
pub(crate) const MAX: BinaryEval = BinaryEval(Op::Max);
pub(crate) const MIN: BinaryEval = BinaryEval(Op::Min);
pub(crate) const MULT: BinaryEval = BinaryEval(Op::Mult);
pub(crate) const DIV: BinaryEval = BinaryEval(Op::Div);

impl Evaluate for BinaryEval {
    fn domain(&self) -> Domain {
        Domain::Integer
    }

    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 2, 2)?;
        let t = result_type(r, sig)?;
        let ma = entry(r, "multiplier", 0)?;
        let mb = r.i64s("multiplier")?.get(1).copied().unwrap_or(0);
        let kind = match self.0 {
            Op::Add => Kind::Add { ma, mb },
            Op::Sub => Kind::Sub { ma, mb },
            Op::Max => Kind::Max { ma, mb },
            Op::Min => Kind::Min { ma, mb },
            Op::Mult => Kind::Mult { m: ma },
            Op::Div => Kind::Div { m: ma },
        };
        Prepared::kernel(Binary {
            op: r.op,
            kind,
            zero_points: [
                input_type(r, sig, 0)?.zero_point(),
                input_type(r, sig, 1)?.zero_point(),
            ],
            out: requant(r, 0, entry(r, "shift", 0)?, t)?,
        })
    }
}

#[derive(Debug)]
struct Binary {
    op: &'static str,
    kind: Kind,
    zero_points: [i64; 2],
    out: Requant,
}

impl Kernel for Binary {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let (a, b) = (codes(&args, 0, self.op)?, codes(&args, 1, self.op)?);
        let [za, zb] = self.zero_points;
        one_i32(binary(a, za, b, zb, self.kind, &self.out)?)
    }
}
