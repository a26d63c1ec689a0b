//! Framework-neutral, validated graph produced from a TFLite model.
//!
//! This is the contract between the TFLite reader and the conversion to the
//! `hl` dialect: every tensor index is in range, every constant has as many
//! values as its shape says, operator parameters that TFLite passes as constant
//! tensors (paddings, axes, shapes, ...) are already resolved into typed
//! options, and fp16 weights are already widened to f32. Layouts are TFLite's
//! (NHWC activations, OHWI conv filters, `[1, H, W, C*M]` depthwise filters,
//! `[O, I]` fully-connected weights).

/// Index into [`TfliteGraph::tensors`].
pub type TensorId = usize;

/// Element type of a tensor (TFLite `TensorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit float.
    F32,
    /// 16-bit IEEE float.
    F16,
    /// 64-bit float.
    F64,
    /// Signed 8-bit integer.
    I8,
    /// Signed 16-bit integer.
    I16,
    /// Signed 32-bit integer.
    I32,
    /// Signed 64-bit integer.
    I64,
    /// Unsigned 8-bit integer.
    U8,
    /// Boolean (one byte per element).
    Bool,
    /// Any other TFLite type (string, complex, resource, ...), by schema code.
    Other(i8),
}

impl DType {
    /// Maps a TFLite `TensorType` code.
    pub fn from_code(code: i8) -> Self {
        match code {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::I32,
            3 => Self::U8,
            4 => Self::I64,
            6 => Self::Bool,
            7 => Self::I16,
            9 => Self::I8,
            10 => Self::F64,
            other => Self::Other(other),
        }
    }

    /// Bytes per element for types whose constants can be decoded.
    pub fn byte_size(self) -> Option<usize> {
        match self {
            Self::I8 | Self::U8 | Self::Bool => Some(1),
            Self::F16 | Self::I16 => Some(2),
            Self::F32 | Self::I32 => Some(4),
            Self::F64 | Self::I64 => Some(8),
            Self::Other(_) => None,
        }
    }

    /// True for floating-point types.
    pub fn is_float(self) -> bool {
        matches!(self, Self::F32 | Self::F16 | Self::F64)
    }
}

/// Decoded values of a constant tensor, row-major in TFLite layout.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    /// Float constants (f16 and f64 converted to f32).
    Float(Vec<f32>),
    /// Integer and boolean constants widened to i64.
    Int(Vec<i64>),
}

impl TensorData {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Self::Float(v) => v.len(),
            Self::Int(v) => v.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values as f32 (integers converted, possibly losing precision above 2^24).
    pub fn to_f32(&self) -> Vec<f32> {
        match self {
            Self::Float(v) => v.clone(),
            Self::Int(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }
}

/// A tensor of subgraph 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// TFLite tensor name (may be a `;`-joined list of fused TF node names).
    pub name: String,
    /// Static shape; every entry is >= 0.
    pub shape: Vec<usize>,
    /// Shape with unknown dimensions as -1, when the model records one.
    pub shape_signature: Option<Vec<i64>>,
    /// Element type. Constants folded from fp16 DEQUANTIZE are reported as `F32`.
    pub dtype: DType,
    /// Constant values, `None` for activations.
    pub data: Option<TensorData>,
}

impl Tensor {
    /// Number of elements of the static shape.
    pub fn num_elements(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Activation fused into an operator (TFLite `ActivationFunctionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activation {
    /// No activation.
    None,
    /// max(x, 0).
    Relu,
    /// clamp(x, -1, 1).
    ReluN1To1,
    /// clamp(x, 0, 6).
    Relu6,
    /// tanh(x).
    Tanh,
}

/// Padding scheme. `Same` is TensorFlow's SAME (Hailo's `SAME_TENSORFLOW`:
/// the extra pixel goes to the bottom/right), `Valid` is no padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Padding {
    /// TensorFlow SAME.
    Same,
    /// No padding.
    Valid,
}

/// Parameters shared by CONV_2D and DEPTHWISE_CONV_2D.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvParams {
    /// Padding scheme.
    pub padding: Padding,
    /// Strides `[h, w]`, each >= 1.
    pub stride: [usize; 2],
    /// Dilations `[h, w]`, each >= 1.
    pub dilation: [usize; 2],
    /// Fused activation.
    pub activation: Activation,
}

/// Parameters of AVERAGE_POOL_2D / MAX_POOL_2D.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolParams {
    /// Padding scheme.
    pub padding: Padding,
    /// Strides `[h, w]`, each >= 1.
    pub stride: [usize; 2],
    /// Window `[h, w]`, each >= 1.
    pub filter: [usize; 2],
    /// Fused activation.
    pub activation: Activation,
}

/// Reductions (MEAN, SUM, REDUCE_MAX, REDUCE_MIN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    /// MEAN.
    Mean,
    /// SUM.
    Sum,
    /// REDUCE_MAX.
    Max,
    /// REDUCE_MIN.
    Min,
}

/// Two-input elementwise operators (numpy broadcasting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// ADD.
    Add,
    /// SUB.
    Sub,
    /// MUL.
    Mul,
    /// DIV.
    Div,
    /// MAXIMUM.
    Maximum,
    /// MINIMUM.
    Minimum,
    /// POW.
    Pow,
    /// EQUAL (bool output).
    Equal,
    /// GREATER (bool output).
    Greater,
    /// LESS (bool output).
    Less,
}

/// One-input elementwise operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// NEG.
    Neg,
    /// SQUARE.
    Square,
    /// SQRT.
    Sqrt,
    /// EXP.
    Exp,
    /// LOG.
    Log,
    /// ABS.
    Abs,
    /// SIGN (used by the biased-delta ABS->SIGN->MUL pattern).
    Sign,
    /// LOGISTIC (sigmoid).
    Logistic,
    /// TANH.
    Tanh,
    /// ELU with alpha 1.
    Elu,
    /// HARD_SWISH: x * relu6(x + 3) / 6.
    HardSwish,
    /// RELU.
    Relu,
    /// RELU6.
    Relu6,
    /// RELU_N1_TO_1.
    ReluN1To1,
}

/// Resize interpolation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResizeMethod {
    /// RESIZE_BILINEAR.
    Bilinear,
    /// RESIZE_NEAREST_NEIGHBOR.
    NearestNeighbor,
}

/// Operator kind with typed options. The doc of each variant lists the
/// dataflow inputs that remain in [`Op::inputs`], in order; parameter tensors
/// TFLite passes as inputs are resolved into the options and removed.
#[derive(Debug, Clone, PartialEq)]
pub enum OpKind {
    /// CONV_2D. Inputs: `[x NHWC, filter OHWI, bias [O]?]`.
    Conv2d(ConvParams),
    /// DEPTHWISE_CONV_2D. Inputs: `[x, filter [1,H,W,C*M], bias?]`. With
    /// `depth_multiplier` M > 1 this is a group conv with C groups.
    DepthwiseConv2d {
        /// Shared conv parameters.
        params: ConvParams,
        /// Output channels per input channel (from the filter shape).
        depth_multiplier: usize,
    },
    /// TRANSPOSE_CONV. Inputs: `[x, filter OHWI, bias?]` (TFLite's
    /// `output_shape` input is resolved into `output_shape`).
    TransposeConv {
        /// Padding scheme.
        padding: Padding,
        /// Strides `[h, w]`.
        stride: [usize; 2],
        /// Fused activation.
        activation: Activation,
        /// Requested NHWC output shape.
        output_shape: Vec<i64>,
    },
    /// FULLY_CONNECTED. Inputs: `[x, weights [O, I], bias [O]?]`.
    FullyConnected {
        /// Fused activation.
        activation: Activation,
        /// Keep the input rank instead of flattening to 2-D.
        keep_num_dims: bool,
    },
    /// AVERAGE_POOL_2D. Inputs: `[x]`.
    AvgPool2d(PoolParams),
    /// MAX_POOL_2D. Inputs: `[x]`.
    MaxPool2d(PoolParams),
    /// MEAN / SUM / REDUCE_MAX / REDUCE_MIN. Inputs: `[x]`.
    Reduce {
        /// Which reduction.
        op: ReduceOp,
        /// Axes (may be negative, as in the model).
        axes: Vec<i64>,
        /// Keep reduced dimensions with size 1.
        keep_dims: bool,
    },
    /// CONCATENATION. Inputs: the concatenated tensors.
    Concat {
        /// Axis (may be negative).
        axis: i64,
        /// Fused activation.
        activation: Activation,
    },
    /// ADD, SUB, MUL, DIV (with fused activation) and MAXIMUM, MINIMUM, POW,
    /// EQUAL, GREATER, LESS (activation always `None`). Inputs: `[a, b]`.
    Binary {
        /// Which operator.
        op: BinaryOp,
        /// Fused activation.
        activation: Activation,
    },
    /// ADD_N. Inputs: the summed tensors.
    AddN,
    /// Elementwise unary operator. Inputs: `[x]`.
    Unary(UnaryOp),
    /// LEAKY_RELU. Inputs: `[x]`.
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// PRELU. Inputs: `[x, alpha]`.
    Prelu,
    /// PAD / PADV2. Inputs: `[x]`.
    Pad {
        /// `[before, after]` per dimension.
        paddings: Vec<[i64; 2]>,
        /// Fill value (0 for PAD).
        value: f32,
    },
    /// SPLIT. Inputs: `[x]`; one output per split.
    Split {
        /// Axis (may be negative).
        axis: i64,
        /// Number of equal parts.
        num_splits: usize,
    },
    /// SLICE. Inputs: `[x]`.
    Slice {
        /// Start per dimension.
        begin: Vec<i64>,
        /// Size per dimension (-1 = to the end).
        size: Vec<i64>,
    },
    /// STRIDED_SLICE. Inputs: `[x]`. Masks are TensorFlow's bit masks.
    StridedSlice {
        /// Begin per dimension.
        begin: Vec<i64>,
        /// End per dimension.
        end: Vec<i64>,
        /// Stride per dimension.
        strides: Vec<i64>,
        /// Ignore `begin[i]` when bit i is set.
        begin_mask: i32,
        /// Ignore `end[i]` when bit i is set.
        end_mask: i32,
        /// Ellipsis bit mask.
        ellipsis_mask: i32,
        /// New-axis bit mask.
        new_axis_mask: i32,
        /// Shrink-axis bit mask.
        shrink_axis_mask: i32,
        /// `end` is relative to `begin`.
        offset: bool,
    },
    /// GATHER. Inputs: `[params, indices]`.
    Gather {
        /// Axis (may be negative).
        axis: i64,
        /// Leading batch dimensions.
        batch_dims: i64,
    },
    /// RESHAPE. Inputs: `[x]`.
    Reshape {
        /// Target shape (may hold one -1).
        new_shape: Vec<i64>,
    },
    /// SQUEEZE. Inputs: `[x]`.
    Squeeze {
        /// Squeezed axes (empty = all size-1 axes).
        axes: Vec<i64>,
    },
    /// TRANSPOSE. Inputs: `[x]`.
    Transpose {
        /// Output axis i takes input axis `perm[i]`.
        perm: Vec<i64>,
    },
    /// RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR. Inputs: `[x]`.
    Resize {
        /// Interpolation.
        method: ResizeMethod,
        /// Output `[h, w]`.
        size: [usize; 2],
        /// TF `align_corners`.
        align_corners: bool,
        /// TF `half_pixel_centers`.
        half_pixel_centers: bool,
    },
    /// SOFTMAX. Inputs: `[x]` (over the last axis).
    Softmax {
        /// Logit multiplier.
        beta: f32,
    },
    /// ARG_MAX. Inputs: `[x]`.
    ArgMax {
        /// Axis (may be negative).
        axis: i64,
        /// Output index type.
        output_type: DType,
    },
    /// DEPTH_TO_SPACE. Inputs: `[x]`.
    DepthToSpace {
        /// Block size (>= 1).
        block_size: usize,
    },
    /// SPACE_TO_DEPTH. Inputs: `[x]`.
    SpaceToDepth {
        /// Block size (>= 1).
        block_size: usize,
    },
    /// L2_NORMALIZATION over the last axis. Inputs: `[x]`.
    L2Normalization {
        /// Fused activation.
        activation: Activation,
    },
    /// An operator this reader does not translate; inputs/outputs are the
    /// model's, unchanged. See [`TfliteGraph::unsupported_ops`].
    Unsupported {
        /// TFLite operator name (`SIN`, `CUSTOM:MyOp`, ...).
        op_name: String,
        /// Why it is unsupported.
        reason: String,
    },
}

/// One operator of subgraph 0, in execution order.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    /// Operator kind and options.
    pub kind: OpKind,
    /// Dataflow inputs (see [`OpKind`] docs for their order).
    pub inputs: Vec<TensorId>,
    /// Outputs.
    pub outputs: Vec<TensorId>,
    /// Index of the operator in the TFLite subgraph (stable across folding).
    pub tflite_index: usize,
    /// Name to give the node: the name of its first output tensor.
    pub name_hint: String,
}

/// An operator the reader could not translate, for error reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedOp {
    /// Index of the operator in the TFLite subgraph.
    pub op_index: usize,
    /// TFLite operator name.
    pub op_name: String,
    /// Name of its first output tensor (usable as an end-node name).
    pub output_name: String,
    /// Why it is unsupported.
    pub reason: String,
}

/// The validated contents of subgraph 0 of a float TFLite model.
#[derive(Debug, Clone, PartialEq)]
pub struct TfliteGraph {
    /// All tensors, indexed by [`TensorId`].
    pub tensors: Vec<Tensor>,
    /// Operators in execution order (folded DEQUANTIZE ops removed).
    pub ops: Vec<Op>,
    /// Graph inputs.
    pub inputs: Vec<TensorId>,
    /// Graph outputs.
    pub outputs: Vec<TensorId>,
}

impl TfliteGraph {
    /// All operators of kind [`OpKind::Unsupported`], in execution order.
    pub fn unsupported_ops(&self) -> Vec<UnsupportedOp> {
        self.ops
            .iter()
            .filter_map(|op| match &op.kind {
                OpKind::Unsupported { op_name, reason } => Some(UnsupportedOp {
                    op_index: op.tflite_index,
                    op_name: op_name.clone(),
                    output_name: op.name_hint.clone(),
                    reason: reason.clone(),
                }),
                _ => None,
            })
            .collect()
    }

    /// Finds a tensor by its exact TFLite name.
    pub fn tensor_by_name(&self, name: &str) -> Option<TensorId> {
        self.tensors.iter().position(|t| t.name == name)
    }
}
