//! The `hl` side of the conversion: appending layers to the graph body with Hailo layer names
//! and original-name locations, weight constants in the blob store (`<layer>.<param>`), and
//! the table from TFLite tensors to converted values.

use hailo_ir::{Attribute, Blob, DenseValues, Location, OpSpec, Sym, Type, ValueId};

use super::error::{ConvertError, ConvertResult};
use super::Converter;
use crate::graph::{Op, TensorId};

/// An activation with its parameters: the `activation` attribute of a layer or the `kind` of
/// `hl.activation`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Act {
    pub kind: &'static str,
    pub params: Vec<(&'static str, f64)>,
}

impl Act {
    pub fn new(kind: &'static str) -> Act {
        Act {
            kind,
            params: Vec::new(),
        }
    }

    pub fn with(kind: &'static str, params: &[(&'static str, f64)]) -> Act {
        Act {
            kind,
            params: params.to_vec(),
        }
    }

    /// Attributes for a layer's fused activation: `activation` plus the parameters.
    pub fn layer_attrs(&self) -> Vec<(&'static str, Attribute)> {
        let mut out = vec![("activation", Attribute::str(self.kind))];
        out.extend(self.params.iter().map(|&(k, v)| (k, Attribute::f64(v))));
        out
    }
}

/// The location of a layer made from `nodes` (one name, or `fused[...]`).
pub(crate) fn location(nodes: &[&str]) -> Location {
    match nodes {
        [one] => Location::name(one),
        many => Location::Fused(many.iter().map(|n| Location::name(n)).collect()),
    }
}

/// A tensor type with `f32` elements.
pub(crate) fn f32_tensor(shape: &[usize]) -> Type {
    let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
    Type::tensor(&dims, Type::f32())
}

/// An `i64` array attribute from `usize`s.
pub(crate) fn ints(v: &[usize]) -> Attribute {
    let v: Vec<i64> = v.iter().map(|&x| x as i64).collect();
    Attribute::i64_array(&v)
}

/// Constants this small are printed inline (`dense<...>`) unless they are layer weights.
const INLINE_LIMIT: usize = 16;

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

    /// Appends an op to the graph body; returns its results.
    pub fn append(&mut self, spec: OpSpec) -> Vec<ValueId> {
        let op = self.m.create_op(spec);
        self.m.append_op(self.block, op);
        self.m.op(op).results().to_vec()
    }

    /// Appends a layer op named `layer` with `f32` results of the given shapes.
    pub fn layer(
        &mut self,
        op: &str,
        layer: &str,
        operands: &[ValueId],
        results: &[Vec<usize>],
        attrs: Vec<(&str, Attribute)>,
        loc: &[&str],
    ) -> Vec<ValueId> {
        let types: Vec<Type> = results.iter().map(|s| f32_tensor(s)).collect();
        let mut spec = OpSpec::new(op)
            .operands(operands)
            .results(&types)
            .attr("layer", Attribute::str(layer))
            .loc(location(loc));
        for (k, v) in attrs {
            spec = spec.attr(k, v);
        }
        self.append(spec)
    }

    /// A constant operand `<layer>.<param>` of shape `shape`: weights (`force_resource`) and
    /// large constants go to the blob store as `dense_resource`, small ones are inline `dense`.
    pub fn constant(
        &mut self,
        layer: &str,
        param: &str,
        shape: &[usize],
        values: &[f32],
        force_resource: bool,
        loc: &[&str],
    ) -> ValueId {
        let ty = f32_tensor(shape);
        let value = if force_resource || values.len() > INLINE_LIMIT {
            let key = format!("{layer}.{param}");
            self.m.resources.insert(&key, Blob::from_f32(values));
            Attribute::DenseResource {
                key: Sym::new(&key),
                ty,
            }
        } else {
            Attribute::dense(
                ty,
                DenseValues::Floats(values.iter().map(|&v| f64::from(v)).collect()),
            )
        };
        let spec = OpSpec::new("hl.const")
            .results(&[ty])
            .attr("value", value)
            .loc(location(loc));
        self.append(spec)[0]
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

    /// The next Hailo layer name with `prefix`.
    pub fn next_name(&mut self, prefix: &str) -> String {
        self.namer.next(prefix)
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
            .m
            .value_type(x)
            .shape()
            .is_some_and(|s| s.iter().map(|&d| d as usize).eq(shape.iter().copied()));
        if same {
            return (x, None);
        }
        let layer = self.next_name("reshape");
        let name = self.g.ops[i].name_hint.clone();
        let out = self.layer(
            "hl.reshape",
            &layer,
            &[x],
            &[shape.to_vec()],
            vec![],
            &[&name],
        );
        (out[0], Some(layer))
    }
}
