//! The TFLite side of building the `hl` graph: operator names for reports and errors, reading
//! converted values, constants and shapes of TFLite tensors, and the layer shapes every
//! single-layer operator shares. Naming, layers, constants and input/output layers are the
//! shared `hailo_dialect_hl::builder::GraphBuilder`.

use hailo_dialect_hl as hl;
use hailo_ir::{Attribute, ValueId};

use super::error::{ConvertError, ConvertResult};
use super::Converter;
use crate::graph::{Op, TensorId};

/// The TFLite operator name of an operator kind, for reports and errors.
pub(crate) fn op_type(op: &Op) -> String {
    use crate::graph::{BinaryOp as B, OpKind as K, ReduceOp as R, ResizeMethod, UnaryOp as U};
    let s = match &op.kind {
        K::Conv2d(_) => "CONV_2D",
        K::DepthwiseConv2d { .. } => "DEPTHWISE_CONV_2D",
        K::TransposeConv { .. } => "TRANSPOSE_CONV",
        K::FullyConnected { .. } => "FULLY_CONNECTED",
        K::AvgPool2d(_) => "AVERAGE_POOL_2D",
        K::MaxPool2d(_) => "MAX_POOL_2D",
        K::Reduce { op, .. } => match op {
            R::Mean => "MEAN",
            R::Sum => "SUM",
            R::Max => "REDUCE_MAX",
            R::Min => "REDUCE_MIN",
        },
        K::Concat { .. } => "CONCATENATION",
        K::Binary { op, .. } => match op {
            B::Add => "ADD",
            B::Sub => "SUB",
            B::Mul => "MUL",
            B::Div => "DIV",
            B::Maximum => "MAXIMUM",
            B::Minimum => "MINIMUM",
            B::Pow => "POW",
            B::Equal => "EQUAL",
            B::Greater => "GREATER",
            B::Less => "LESS",
        },
        K::AddN => "ADD_N",
        K::Unary(u) => match u {
            U::Neg => "NEG",
            U::Square => "SQUARE",
            U::Sqrt => "SQRT",
            U::Exp => "EXP",
            U::Log => "LOG",
            U::Abs => "ABS",
            U::Sign => "SIGN",
            U::Logistic => "LOGISTIC",
            U::Tanh => "TANH",
            U::Elu => "ELU",
            U::HardSwish => "HARD_SWISH",
            U::Relu => "RELU",
            U::Relu6 => "RELU6",
            U::ReluN1To1 => "RELU_N1_TO_1",
        },
        K::LeakyRelu { .. } => "LEAKY_RELU",
        K::Prelu => "PRELU",
        K::Pad { .. } => "PAD",
        K::Split { .. } => "SPLIT",
        K::Slice { .. } => "SLICE",
        K::StridedSlice { .. } => "STRIDED_SLICE",
        K::Gather { .. } => "GATHER",
        K::Reshape { .. } => "RESHAPE",
        K::Squeeze { .. } => "SQUEEZE",
        K::Transpose { .. } => "TRANSPOSE",
        K::Resize { method, .. } => match method {
            ResizeMethod::Bilinear => "RESIZE_BILINEAR",
            ResizeMethod::NearestNeighbor => "RESIZE_NEAREST_NEIGHBOR",
        },
        K::Softmax { .. } => "SOFTMAX",
        K::ArgMax { .. } => "ARG_MAX",
        K::DepthToSpace { .. } => "DEPTH_TO_SPACE",
        K::SpaceToDepth { .. } => "SPACE_TO_DEPTH",
        K::L2Normalization { .. } => "L2_NORMALIZATION",
        K::Unsupported { op_name, .. } => return op_name.clone(),
    };
    s.to_string()
}

impl Converter<'_> {
    /// A node-level error for operator `i`.
    pub fn node_error(&self, i: usize, message: impl Into<String>) -> ConvertError {
        let op = &self.g.ops[i];
        ConvertError::Node {
            node: op.name_hint.clone(),
            op: op_type(op),
            message: message.into(),
        }
    }

    /// The converted value of run-time tensor `t`, read by operator `i`.
    pub fn value(&self, i: usize, t: TensorId) -> ConvertResult<ValueId> {
        self.values.get(&t).copied().ok_or_else(|| {
            self.node_error(
                i,
                format!(
                    "input '{}' has no converted value (a constant where run-time data is required?)",
                    self.g.tensors[t].name
                ),
            )
        })
    }

    /// The float values of constant tensor `t` read by operator `i`, else an error saying
    /// what `what` must be.
    pub fn const_values(&self, i: usize, t: TensorId, what: &str) -> ConvertResult<Vec<f32>> {
        match &self.g.tensors[t].data {
            Some(d) => Ok(d.to_f32()),
            None => Err(self.node_error(
                i,
                format!(
                    "{what} '{}' must be a constant (values computed at run time are not supported)",
                    self.g.tensors[t].name
                ),
            )),
        }
    }

    /// The static shape of tensor `t`.
    pub fn shape(&self, t: TensorId) -> Vec<usize> {
        self.g.tensors[t].shape.clone()
    }

    /// An `hl.reshape` of `x` to `shape` attributed to operator `i` (no layer when the shape
    /// already matches). Returns the value and the layer made, if any.
    pub fn reshape_to(
        &mut self,
        i: usize,
        x: ValueId,
        shape: &[usize],
    ) -> (ValueId, Option<String>) {
        let same = self
            .b
            .value_type(x)
            .shape()
            .is_some_and(|s| s.iter().map(|&d| d as usize).eq(shape.iter().copied()));
        if same {
            return (x, None);
        }
        let layer = self.b.next_name("reshape");
        let name = self.g.ops[i].name_hint.clone();
        let out = self.b.layer(
            hl::Reshape::NAME,
            &layer,
            &[x],
            &[shape.to_vec()],
            vec![],
            &[&name],
        );
        (out[0], Some(layer))
    }

    /// Emits `layer`, an `op` reading `operands`, as the whole of operator `i`: the result
    /// (shaped like the operator's output) becomes the value of that output, and `i` is
    /// recorded as converted to `layer`.
    pub fn sole_layer(
        &mut self,
        i: usize,
        op: &str,
        layer: String,
        operands: &[ValueId],
        attrs: Vec<(&str, Attribute)>,
    ) {
        let out_t = self.g.ops[i].outputs[0];
        let name = self.g.ops[i].name_hint.clone();
        let shape = self.shape(out_t);
        let res = self
            .b
            .layer(op, &layer, operands, &[shape], attrs, &[&name]);
        self.values.insert(out_t, res[0]);
        self.converted(i, &[layer]);
    }
}
