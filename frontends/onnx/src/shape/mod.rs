//! Static shape inference for the ONNX operators of the DFC guide's Tables 2 and 3 (and the
//! shape-manipulation operators around them). Each operator maps the known input shapes (and
//! constant inputs) of one node to its output shapes.
//!
//! Two failure kinds are kept apart: `InferError::Invalid` is a real inconsistency (wrong weight
//! rank, mismatched channels) and fails loading with an error naming the node;
//! `InferError::Unresolved` means the shape depends on something not known statically, which
//! only marks the outputs as unknown.

mod elementwise;
mod layout;
mod linalg;
mod spatial;

pub(crate) use elementwise::broadcast;
pub(crate) use layout::{shape_range, slice_plan, transpose_perm, SliceAxis};

use crate::error::{OnnxError, WeightRankError};
use crate::graph::Node;
use crate::tensor::TensorData;

/// Why a node's output shapes were not inferred.
#[derive(Debug)]
pub(crate) enum InferError {
    /// The model is inconsistent; loading fails.
    Invalid(OnnxError),
    /// The shape is not statically known; the outputs stay unknown.
    Unresolved(String),
}

impl From<OnnxError> for InferError {
    fn from(e: OnnxError) -> Self {
        InferError::Invalid(e)
    }
}

pub(crate) type Infer<T> = Result<T, InferError>;

/// The node being inferred, its opset and what is known about its inputs (by position).
pub(crate) struct OpCtx<'a> {
    pub node: &'a Node,
    pub opset: i64,
    pub shapes: &'a [Option<Vec<usize>>],
    pub consts: &'a [Option<&'a TensorData>],
}

impl OpCtx<'_> {
    /// An inconsistency error naming this node.
    pub fn invalid(&self, message: impl Into<String>) -> InferError {
        InferError::Invalid(OnnxError::Node {
            node: self.node.name.clone(),
            op_type: self.node.op_type.clone(),
            message: message.into(),
        })
    }

    /// Whether input `i` is given (not omitted).
    pub fn has(&self, i: usize) -> bool {
        self.node.input(i).is_some()
    }

    /// Shape of required input `i`.
    pub fn shape(&self, i: usize) -> Infer<&[usize]> {
        let name = self
            .node
            .input(i)
            .ok_or_else(|| self.invalid(format!("required input #{i} is missing")))?;
        self.shapes
            .get(i)
            .and_then(Option::as_deref)
            .ok_or_else(|| InferError::Unresolved(format!("shape of input '{name}' is unknown")))
    }

    /// Constant value of input `i`, `None` if omitted.
    pub fn opt_const(&self, i: usize) -> Infer<Option<&TensorData>> {
        let Some(name) = self.node.input(i) else {
            return Ok(None);
        };
        match self.consts.get(i).copied().flatten() {
            Some(t) => Ok(Some(t)),
            None => Err(InferError::Unresolved(format!(
                "input '{name}' is computed at run time, but its value is needed for the output shape"
            ))),
        }
    }

    /// Constant integer values of input `i` (shape-like data), `None` if omitted or empty.
    pub fn opt_const_ints(&self, i: usize) -> Infer<Option<Vec<i64>>> {
        Ok(self
            .opt_const(i)?
            .filter(|t| !t.is_empty())
            .map(TensorData::to_i64_vec))
    }

    /// Axes given as attribute `attr` before `input_from_opset`, as input `input` from it on.
    pub fn axes_arg(
        &self,
        attr: &str,
        input: usize,
        input_from_opset: i64,
    ) -> Infer<Option<Vec<i64>>> {
        if self.opset >= input_from_opset {
            self.opt_const_ints(input)
        } else {
            Ok(self.node.attr_ints(attr)?.map(<[i64]>::to_vec))
        }
    }

    /// Normalizes a possibly negative axis against `rank`.
    pub fn axis(&self, axis: i64, rank: usize) -> Infer<usize> {
        let r = rank as i64;
        if axis < -r || axis >= r {
            return Err(self.invalid(format!("axis {axis} is out of range for rank {rank}")));
        }
        Ok(if axis < 0 { axis + r } else { axis } as usize)
    }

    /// Checks that input `i` (a weight) has an allowed rank.
    pub fn weight_rank(
        &self,
        i: usize,
        role: &'static str,
        ok: impl Fn(usize) -> bool,
        expected: String,
    ) -> Infer<()> {
        if let (Some(input), Some(shape)) = (
            self.node.input(i),
            self.shapes.get(i).and_then(Option::as_ref),
        ) {
            if !ok(shape.len()) {
                return Err(InferError::Invalid(OnnxError::WeightRank(Box::new(
                    WeightRankError {
                        node: self.node.name.clone(),
                        op_type: self.node.op_type.clone(),
                        input: input.to_string(),
                        role,
                        expected,
                        shape: shape.clone(),
                    },
                ))));
            }
        }
        Ok(())
    }
}

type InferFn = fn(&OpCtx) -> Infer<Vec<Vec<usize>>>;

/// Infers the output shapes of a default-domain node; `None` for operators not known here.
pub(crate) fn infer(ctx: &OpCtx) -> Option<Infer<Vec<Vec<usize>>>> {
    if !ctx.node.domain.is_empty() {
        return None;
    }
    let f: InferFn = match ctx.node.op_type.as_str() {
        "Relu"
        | "LeakyRelu"
        | "Sigmoid"
        | "Tanh"
        | "Elu"
        | "Selu"
        | "Celu"
        | "HardSigmoid"
        | "HardSwish"
        | "Softplus"
        | "Softsign"
        | "Abs"
        | "Exp"
        | "Log"
        | "Sqrt"
        | "Neg"
        | "Erf"
        | "Clip"
        | "Identity"
        | "Cast"
        | "CastLike"
        | "Mish"
        | "Gelu"
        | "Reciprocal"
        | "Floor"
        | "Ceil"
        | "Round"
        | "Sign"
        | "Not"
        | "Sin"
        | "Cos"
        | "Softmax"
        | "LogSoftmax"
        | "Hardmax"
        | "ThresholdedRelu"
        | "Shrink"
        | "InstanceNormalization"
        | "LpNormalization"
        | "LRN"
        | "MeanVarianceNormalization"
        | "IsNaN"
        | "IsInf"
        | "QuantizeLinear"
        | "DequantizeLinear" => elementwise::same_as_first,
        "Dropout" => elementwise::dropout,
        "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Min" | "Max" | "Sum" | "Mean" | "Equal"
        | "Greater" | "Less" | "GreaterOrEqual" | "LessOrEqual" | "And" | "Or" | "Xor" | "Mod"
        | "Where" | "BitShift" | "PRelu" => elementwise::broadcast_all,
        "Conv" => spatial::conv,
        "ConvTranspose" => spatial::conv_transpose,
        "MaxPool" | "AveragePool" | "LpPool" => spatial::pool,
        "GlobalAveragePool" | "GlobalMaxPool" | "GlobalLpPool" => spatial::global_pool,
        "DepthToSpace" => spatial::depth_to_space,
        "SpaceToDepth" => spatial::space_to_depth,
        "Resize" | "Upsample" => spatial::resize,
        "Pad" => spatial::pad,
        "Gemm" => linalg::gemm,
        "MatMul" => linalg::matmul,
        "Einsum" => linalg::einsum,
        "BatchNormalization" => linalg::batch_norm,
        "LayerNormalization" => linalg::layer_norm,
        "ReduceMean" | "ReduceMax" | "ReduceMin" | "ReduceSum" | "ReduceSumSquare" | "ReduceL1"
        | "ReduceL2" | "ReduceProd" | "ReduceLogSum" | "ReduceLogSumExp" => linalg::reduce,
        "ArgMax" | "ArgMin" => linalg::arg_reduce,
        "LSTM" | "GRU" | "RNN" => linalg::recurrent,
        "Concat" => layout::concat,
        "Split" => layout::split,
        "Slice" => layout::slice,
        "Reshape" => layout::reshape,
        "Flatten" => layout::flatten,
        "Transpose" => layout::transpose,
        "Squeeze" => layout::squeeze,
        "Unsqueeze" => layout::unsqueeze,
        "Gather" => layout::gather,
        "Expand" => layout::expand,
        "Tile" => layout::tile,
        "Shape" => layout::shape_op,
        "Size" => layout::size_op,
        "ConstantOfShape" => layout::constant_of_shape,
        "Range" => layout::range,
        "OneHot" => layout::one_hot,
        _ => return None,
    };
    Some(f(ctx).and_then(|outs| {
        for s in &outs {
            let dims = s.iter().map(|&d| d as u64);
            hailo_guard::limits::check_elements(dims)
                .map_err(|e| ctx.invalid(format!("output shape {s:?} has {e}")))?;
        }
        Ok(outs)
    }))
}
