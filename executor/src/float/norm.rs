//! Float evaluation of the normalizing ops: batch, layer, instance and L2 normalization,
//! softmax and log-softmax.

use super::{arg, axes_in, axis_in, missing, optional, rank4, vector, with_activation};
use crate::attrs::OpReader;
use crate::error::ExecError;
use crate::evaluate::{one, Evaluate, Kernel, Prepared, Signature};
use crate::kernels::activation::Activation;
use crate::kernels::norm::{batch_norm, instance_norm, l2_norm, layer_norm};
use crate::kernels::softmax::{log_softmax, softmax};
use crate::kernels::KernelError;
use crate::value::{Arg, BufferPool, Value};
use ndarray::ArrayD;

/// `hl.batch_norm` (x, mean, var, gamma, beta) with a fused activation.
pub(crate) struct BatchNormEval;
pub(crate) const BATCH_NORM: BatchNormEval = BatchNormEval;

impl Evaluate for BatchNormEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 5, 5)?;
        Prepared::kernel(BatchNorm {
            eps: r.f32_or("epsilon", 1e-5)?,
            act: r.fused_activation()?,
        })
    }
}

#[derive(Debug)]
struct BatchNorm {
    eps: f32,
    act: Activation,
}

impl Kernel for BatchNorm {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        const OP: &str = "batch_norm";
        let mut it = args.into_iter();
        let mut x = it.next().ok_or_else(|| missing(OP))?.into_f32(OP)?;
        let p: Vec<ArrayD<f32>> = it.map(|a| a.into_f32(OP)).collect::<Result<_, _>>()?;
        let s = |i: usize| p.get(i).and_then(|a| a.as_slice()).unwrap_or(&[]);
        batch_norm(x.view_mut(), s(0), s(1), s(2), s(3), self.eps)?;
        one(with_activation(x, self.act))
    }
}

/// `hl.softmax` and `hl.log_softmax` along `axis`.
pub(crate) struct SoftmaxEval {
    log: bool,
}
pub(crate) const SOFTMAX: SoftmaxEval = SoftmaxEval { log: false };
pub(crate) const LOG_SOFTMAX: SoftmaxEval = SoftmaxEval { log: true };

impl Evaluate for SoftmaxEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        Prepared::kernel(Softmax {
            axis: axis_in(r, "axis", sig.input_rank(r)?)?,
            log: self.log,
        })
    }
}

#[derive(Debug)]
struct Softmax {
    axis: usize,
    log: bool,
}

impl Kernel for Softmax {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        let x = arg(&args, 0, "softmax")?;
        one(if self.log {
            log_softmax(x, self.axis)?
        } else {
            softmax(x, self.axis)?
        })
    }
}

/// `hl.layer_norm` (x, gamma?, beta?) over the trailing axes from the first of `axes`.
pub(crate) struct LayerNormEval;
pub(crate) const LAYER_NORM: LayerNormEval = LayerNormEval;

impl Evaluate for LayerNormEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 1, 3)?;
        let rank = sig.input_rank(r)?;
        let mut axes = axes_in(r, "axes", rank)?;
        axes.sort_unstable();
        let axis = axes.first().copied().unwrap_or(rank.saturating_sub(1));
        if axes.iter().enumerate().any(|(i, &a)| a != axis + i)
            || axes.last().is_some_and(|&a| a != rank - 1)
        {
            return Err(r.err(format!(
                "axes {axes:?} must be the trailing axes of a rank-{rank} input"
            )));
        }
        Prepared::kernel(LayerNorm {
            axis,
            eps: r.f32_or("epsilon", 1e-5)?,
        })
    }
}

#[derive(Debug)]
struct LayerNorm {
    axis: usize,
    eps: f32,
}

impl Kernel for LayerNorm {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        const OP: &str = "layer_norm";
        let (gv, bv) = (optional(&args, 1, OP)?, optional(&args, 2, OP)?);
        let (g, b) = (gv.as_ref().map(vector), bv.as_ref().map(vector));
        one(layer_norm(
            arg(&args, 0, OP)?,
            self.axis,
            g.as_deref(),
            b.as_deref(),
            self.eps,
        )?)
    }
}

/// `hl.instance_norm` (x, gamma, beta) per sample and channel over the spatial axes.
pub(crate) struct InstanceNormEval;
pub(crate) const INSTANCE_NORM: InstanceNormEval = InstanceNormEval;

impl Evaluate for InstanceNormEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        sig.arity(r, 3, 3)?;
        sig.spatial(r)?;
        Prepared::kernel(InstanceNorm {
            eps: r.f32_or("epsilon", 1e-5)?,
        })
    }
}

#[derive(Debug)]
struct InstanceNorm {
    eps: f32,
}

impl Kernel for InstanceNorm {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        const OP: &str = "instance_norm";
        let (xv, gv, bv) = (arg(&args, 0, OP)?, arg(&args, 1, OP)?, arg(&args, 2, OP)?);
        let out = instance_norm(rank4(OP, &xv)?, &vector(&gv), &vector(&bv), self.eps)?;
        one(out.into_dyn())
    }
}

/// `hl.l2_norm` along `axis`.
pub(crate) struct L2NormEval;
pub(crate) const L2_NORM: L2NormEval = L2NormEval;

impl Evaluate for L2NormEval {
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError> {
        Prepared::kernel(L2Norm {
            axis: axis_in(r, "axis", sig.input_rank(r)?)?,
            eps: r.f32_or("epsilon", 0.0)?,
        })
    }
}

#[derive(Debug)]
struct L2Norm {
    axis: usize,
    eps: f32,
}

impl Kernel for L2Norm {
    fn run(&self, args: Vec<Arg>, _: &mut BufferPool) -> Result<Vec<Value>, KernelError> {
        one(l2_norm(arg(&args, 0, "l2_norm")?, self.axis, self.eps)?)
    }
}
