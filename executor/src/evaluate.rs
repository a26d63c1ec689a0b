//! The evaluation interface: how the executor runs an op, attached to the `hl` ops (float
//! kernels, [`crate::float`]) and the `q` ops (integer kernels, [`crate::integer`]) as
//! external models, since evaluation needs numeric kernels that the dialects do not carry.
//!
//! Evaluation has two stages, as in every ahead-of-time executor: [`Evaluate::prepare`]
//! runs once when a plan is built and decodes the op's attributes and operand types into a
//! [`Kernel`] (or a constant); [`Kernel::run`] runs per batch and only computes. Adding an
//! op's evaluation is one `Evaluate` implementation with its kernel and one `attach` line in
//! [`evaluators`].

use crate::attrs::OpReader;
use crate::consts::static_shape;
use crate::error::ExecError;
use crate::kernels::KernelError;
use crate::value::{Arg, BufferPool, Value};
use crate::{float, integer};
use hailo_dialect_hl as hl;
use hailo_dialect_quant::ops as q;
use hailo_ir::{ExternalModels, Type};
use ndarray::ArrayD;
use std::sync::LazyLock;

/// What an op computes in; the plan checks its operand and result types against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Domain {
    /// Float operands and results (`hl` ops).
    Float,
    /// Float operands, float or integer results (indices: `hl.argmax`).
    FloatToIndex,
    /// Integer codes, with f32 at the graph's ends (`q` ops check their own types).
    Integer,
}

/// An op's evaluation, prepared once per plan.
pub(crate) trait Evaluate: Sync {
    fn domain(&self) -> Domain {
        Domain::Float
    }

    /// Decodes the op read by `r` into what the plan runs.
    fn prepare(&self, r: &OpReader, sig: &Signature) -> Result<Prepared, ExecError>;
}

/// An op made ready to run.
pub(crate) enum Prepared {
    Kernel(Box<dyn Kernel>),
    /// A constant: stored once by the plan and lent to its readers.
    Constant(Value),
}

impl Prepared {
    pub fn kernel(k: impl Kernel + 'static) -> Result<Prepared, ExecError> {
        Ok(Prepared::Kernel(Box::new(k)))
    }
}

/// A prepared op: computes its results from its operands (in the op's operand order).
pub(crate) trait Kernel: Send + Sync + std::fmt::Debug {
    fn run(&self, args: Vec<Arg<'_>>, pool: &mut BufferPool) -> Result<Vec<Value>, KernelError>;
}

/// One float result.
pub(crate) fn one(a: ArrayD<f32>) -> Result<Vec<Value>, KernelError> {
    Ok(vec![Value::F32(a)])
}

/// One integer result.
pub(crate) fn one_i32(a: ArrayD<i32>) -> Result<Vec<Value>, KernelError> {
    Ok(vec![Value::I32(a)])
}

/// Operand and result types of the op being prepared.
pub(crate) struct Signature<'a> {
    pub inputs: &'a [Type],
    pub results: &'a [Type],
    /// Per operand, its value when it is a constant of the plan (so weights can be decoded
    /// once, in [`Evaluate::prepare`]).
    pub constants: &'a [Option<&'a Value>],
}

impl Signature<'_> {
    /// Operand `i`'s value when it is a constant of the plan.
    pub fn constant(&self, i: usize) -> Option<&Value> {
        self.constants.get(i).copied().flatten()
    }

    pub fn input_shape(&self, r: &OpReader, i: usize) -> Result<Vec<usize>, ExecError> {
        let ty = self
            .inputs
            .get(i)
            .ok_or_else(|| r.err(format!("expected at least {} operand(s)", i + 1)))?;
        static_shape(r, *ty)
    }

    pub fn result_shape(&self, r: &OpReader) -> Result<Vec<usize>, ExecError> {
        let ty = self.results.first().ok_or_else(|| r.err("has no result"))?;
        static_shape(r, *ty)
    }

    pub fn input_rank(&self, r: &OpReader) -> Result<usize, ExecError> {
        Ok(self.input_shape(r, 0)?.len())
    }

    /// Errors unless the op has `min..=max` operands.
    pub fn arity(&self, r: &OpReader, min: usize, max: usize) -> Result<(), ExecError> {
        let n = self.inputs.len();
        if n < min || n > max {
            let want = if min == max {
                format!("{min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(r.err(format!("expects {want} operand(s), found {n}")));
        }
        Ok(())
    }

    /// The `[h, w]` of rank-4 NHWC operand 0.
    pub fn spatial(&self, r: &OpReader) -> Result<[usize; 2], ExecError> {
        let s = self.input_shape(r, 0)?;
        if s.len() != 4 {
            return Err(r.err(format!("expects a rank-4 NHWC input, found shape {s:?}")));
        }
        Ok([s[1], s[2]])
    }
}

/// Every op the executor evaluates, with its evaluation.
pub(crate) fn evaluators() -> &'static ExternalModels<dyn Evaluate> {
    static MODELS: LazyLock<ExternalModels<dyn Evaluate>> = LazyLock::new(|| {
        use float::{misc, norm, pointwise, postprocess, rearrange, weighted};
        use integer as int;
        ExternalModels::<dyn Evaluate>::new()
            .attach::<hl::Const>(&misc::CONST)
            .attach::<hl::InputLayer>(&rearrange::IDENTITY)
            .attach::<hl::OutputLayer>(&rearrange::IDENTITY)
            .attach::<hl::Conv2d>(&weighted::CONV)
            .attach::<hl::DepthwiseConv2d>(&weighted::DEPTHWISE)
            .attach::<hl::Deconv2d>(&weighted::DECONV)
            .attach::<hl::Dense>(&weighted::DENSE)
            .attach::<hl::MatMul>(&weighted::MATMUL)
            .attach::<hl::MaxPool>(&misc::MAX_POOL)
            .attach::<hl::AvgPool>(&misc::AVG_POOL)
            .attach::<hl::GlobalAvgPool>(&misc::GLOBAL_AVG_POOL)
            .attach::<hl::GlobalMaxPool>(&misc::GLOBAL_MAX_POOL)
            .attach::<hl::BatchNorm>(&norm::BATCH_NORM)
            .attach::<hl::ActivationOp>(&pointwise::ACTIVATION)
            .attach::<hl::Prelu>(&pointwise::PRELU)
            .attach::<hl::EwAdd>(&pointwise::ADD)
            .attach::<hl::EwSub>(&pointwise::SUB)
            .attach::<hl::EwMult>(&pointwise::MUL)
            .attach::<hl::EwDiv>(&pointwise::DIV)
            .attach::<hl::EwMax>(&pointwise::MAX)
            .attach::<hl::EwMin>(&pointwise::MIN)
            .attach::<hl::EwPow>(&pointwise::POW)
            .attach::<hl::Concat>(&rearrange::CONCAT)
            .attach::<hl::Split>(&rearrange::SPLIT)
            .attach::<hl::Slice>(&rearrange::SLICE)
            .attach::<hl::Reshape>(&rearrange::RESHAPE)
            .attach::<hl::Transpose>(&rearrange::TRANSPOSE)
            .attach::<hl::Resize>(&misc::RESIZE)
            .attach::<hl::DepthToSpace>(&rearrange::DEPTH_TO_SPACE)
            .attach::<hl::SpaceToDepth>(&rearrange::SPACE_TO_DEPTH)
            .attach::<hl::FeatureShuffle>(&rearrange::FEATURE_SHUFFLE)
            .attach::<hl::Softmax>(&norm::SOFTMAX)
            .attach::<hl::LogSoftmax>(&norm::LOG_SOFTMAX)
            .attach::<hl::ArgMax>(&misc::ARGMAX)
            .attach::<hl::Reduce>(&misc::REDUCE)
            .attach::<hl::Normalization>(&pointwise::NORMALIZATION)
            .attach::<hl::Pad>(&rearrange::PAD)
            .attach::<hl::OneHot>(&misc::ONE_HOT)
            .attach::<hl::LayerNorm>(&norm::LAYER_NORM)
            .attach::<hl::InstanceNorm>(&norm::INSTANCE_NORM)
            .attach::<hl::L2Norm>(&norm::L2_NORM)
            .attach::<hl::ColorConversion>(&pointwise::COLOR_CONVERSION)
            .attach::<hl::FormatConversion>(&pointwise::FORMAT_CONVERSION)
            .attach::<hl::Nms>(&postprocess::NMS)
            .attach::<q::Const>(&int::CONST)
            .attach::<q::Quantize>(&int::QUANTIZE)
            .attach::<q::Dequantize>(&int::DEQUANTIZE)
            .attach::<q::Requantize>(&int::REQUANTIZE)
            .attach::<q::Conv2d>(&int::weighted::CONV)
            .attach::<q::DepthwiseConv2d>(&int::weighted::DEPTHWISE)
            .attach::<q::Dense>(&int::weighted::DENSE)
            .attach::<q::EwAdd>(&int::binary::ADD)
            .attach::<q::EwSub>(&int::binary::SUB)
            .attach::<q::EwMax>(&int::binary::MAX)
            .attach::<q::EwMin>(&int::binary::MIN)
            .attach::<q::EwMult>(&int::binary::MULT)
            .attach::<q::EwDiv>(&int::binary::DIV)
            .attach::<q::Slice>(&int::layout::SLICE)
            .attach::<q::Transpose>(&int::layout::TRANSPOSE)
            .attach::<q::Pad>(&int::layout::PAD)
            .attach::<q::Concat>(&int::layout::CONCAT)
            .attach::<q::Reshape>(&int::layout::RESHAPE)
            .attach::<q::MaxPool>(&int::spatial::MAX_POOL)
            .attach::<q::AvgPool>(&int::spatial::AVG_POOL)
            .attach::<q::GlobalAvgPool>(&int::spatial::GLOBAL_AVG_POOL)
            .attach::<q::Resize>(&int::spatial::RESIZE)
            .attach::<q::Lut>(&int::LUT)
            .attach::<q::MatMul>(&int::attention::MATMUL)
            .attach::<q::Softmax>(&int::attention::SOFTMAX)
            .attach::<q::LogSoftmax>(&int::attention::LOG_SOFTMAX)
            .attach::<q::LayerNorm>(&int::attention::LAYER_NORM)
            .attach::<q::Reduce>(&int::attention::REDUCE)
            .attach::<q::Deconv2d>(&int::deconv::DECONV)
            .attach::<q::Prelu>(&int::PRELU)
            .attach::<q::ArgMax>(&int::index::ARGMAX)
            .attach::<q::OneHot>(&int::index::ONE_HOT)
            .attach::<q::FormatConversion>(&int::layout::FORMAT)
    });
    &MODELS
}
