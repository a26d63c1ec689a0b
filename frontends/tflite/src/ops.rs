//! Mapping of one TFLite operator to a neutral [`OpKind`].
//!
//! Checks the operator's input count and `builtin_options` union type,
//! decodes its options, validates them (strides >= 1, ...) and resolves the
//! parameters TFLite passes as constant tensors (paddings, axes, shapes,
//! sizes) into typed options. Operators that are well-formed but cannot be
//! translated (unknown op, parameter computed at runtime) become
//! [`OpKind::Unsupported`] so the caller can report them all at once.

use crate::error::TfliteError;
use crate::graph::{
    BinaryOp, ConvParams, DType, OpKind, PoolParams, ReduceOp, ResizeMethod, Tensor, TensorData,
    TensorId, UnaryOp,
};
use crate::schema::options::{self as opt, Fields, OptionsType};
use crate::schema::Operator;

/// Why an operator could not be mapped.
pub enum MapError {
    /// The model is malformed: abort.
    Fatal(TfliteError),
    /// Well-formed but not translatable: record as unsupported.
    Unsupported(String),
}

impl From<TfliteError> for MapError {
    fn from(e: TfliteError) -> Self {
        Self::Fatal(e)
    }
}

type MapResult<T> = Result<T, MapError>;

/// One operator being mapped, with its tensor indices already range-checked.
pub struct OpCtx<'m, 'a> {
    /// Operator index in subgraph 0.
    pub index: usize,
    /// Operator name (`CONV_2D`, ...).
    pub name: String,
    /// The schema operator.
    pub op: &'m Operator<'a>,
    /// Inputs (`None` = optional input omitted with -1).
    pub inputs: Vec<Option<TensorId>>,
    /// Outputs.
    pub outputs: Vec<TensorId>,
    /// All tensors of the graph (constants folded so far included).
    pub tensors: &'m [Tensor],
}

impl OpCtx<'_, '_> {
    fn fatal(&self, message: String) -> MapError {
        MapError::Fatal(TfliteError::invalid(
            format!("operator {} ({})", self.index, self.name),
            self.op.offset,
            message,
        ))
    }

    /// Required input `i`, described as `what` in errors.
    fn input(&self, i: usize, what: &str) -> MapResult<TensorId> {
        self.inputs.get(i).copied().flatten().ok_or_else(|| {
            self.fatal(format!(
                "input {i} ({what}) is missing; the operator has {} input(s)",
                self.inputs.len()
            ))
        })
    }

    /// Optional input `i` (absent or -1).
    fn opt_input(&self, i: usize) -> Option<TensorId> {
        self.inputs.get(i).copied().flatten()
    }

    /// All inputs, each required.
    fn all_inputs(&self) -> MapResult<Vec<TensorId>> {
        (0..self.inputs.len())
            .map(|i| self.input(i, "operand"))
            .collect()
    }

    /// The options table, which must be of type `expected` (or absent).
    fn fields(&self, expected: OptionsType) -> MapResult<Fields<'_>> {
        self.op.options.fields(expected).map_err(|found| {
            MapError::Fatal(TfliteError::WrongOptionsType {
                op_index: self.index,
                op_name: self.name.clone(),
                found,
                expected: expected.code,
                expected_name: expected.name,
                offset: self.op.offset,
            })
        })
    }

    /// Integer values of the constant parameter tensor at input `i`.
    fn const_ints(&self, i: usize, what: &str) -> MapResult<Vec<i64>> {
        let t = &self.tensors[self.input(i, what)?];
        match &t.data {
            Some(TensorData::Int(v)) => Ok(v.clone()),
            Some(TensorData::Float(_)) => Err(self.fatal(format!(
                "parameter '{what}' (tensor '{}') must hold integers, not {:?}",
                t.name, t.dtype
            ))),
            None => Err(MapError::Unsupported(format!(
                "parameter '{what}' (tensor '{}') is computed at runtime; only constant parameters are supported",
                t.name
            ))),
        }
    }

    /// The single integer of a constant scalar (or 1-element) parameter.
    fn const_scalar(&self, i: usize, what: &str) -> MapResult<i64> {
        match self.const_ints(i, what)?.as_slice() {
            [v] => Ok(*v),
            other => Err(self.fatal(format!(
                "parameter '{what}' must hold one value, found {}",
                other.len()
            ))),
        }
    }

    /// Converts a count-like option to usize, requiring it to be >= 1.
    fn positive(&self, value: i64, what: &str) -> MapResult<usize> {
        usize::try_from(value)
            .ok()
            .filter(|&v| v >= 1)
            .ok_or_else(|| self.fatal(format!("{what} is {value}, must be >= 1")))
    }

    fn pair(&self, v: [i32; 2], what: &str) -> MapResult<[usize; 2]> {
        Ok([
            self.positive(i64::from(v[0]), &format!("{what} (h)"))?,
            self.positive(i64::from(v[1]), &format!("{what} (w)"))?,
        ])
    }

    fn conv_params(&self, o: opt::ConvOptions) -> MapResult<ConvParams> {
        Ok(ConvParams {
            padding: o.padding,
            stride: self.pair(o.stride, "stride")?,
            dilation: self.pair(o.dilation, "dilation")?,
            activation: o.activation,
        })
    }

    fn pool_params(&self) -> MapResult<PoolParams> {
        let o = opt::pool2d_options(&self.fields(opt::POOL_2D)?)?;
        Ok(PoolParams {
            padding: o.padding,
            stride: self.pair(o.stride, "stride")?,
            filter: self.pair(o.filter, "filter size")?,
            activation: o.activation,
        })
    }

    /// `[x, weights, bias?]` for conv-like ops given their input positions.
    fn weighted(&self, x: usize, w: usize, bias: usize) -> MapResult<Vec<TensorId>> {
        let mut v = vec![self.input(x, "input")?, self.input(w, "weights")?];
        v.extend(self.opt_input(bias));
        Ok(v)
    }
}

/// Maps the operator; returns its kind and dataflow inputs.
pub fn map_op(c: &OpCtx<'_, '_>) -> MapResult<(OpKind, Vec<TensorId>)> {
    let x = || -> MapResult<Vec<TensorId>> { Ok(vec![c.input(0, "input")?]) };
    let binary = |op, t: OptionsType, fused: bool| -> MapResult<(OpKind, Vec<TensorId>)> {
        let f = c.fields(t)?;
        let activation = if fused {
            opt::activation_options(&f)?
        } else {
            crate::graph::Activation::None
        };
        Ok((
            OpKind::Binary { op, activation },
            vec![c.input(0, "lhs")?, c.input(1, "rhs")?],
        ))
    };
    let unary = |op| -> MapResult<(OpKind, Vec<TensorId>)> { Ok((OpKind::Unary(op), x()?)) };
    let reduce = |op| -> MapResult<(OpKind, Vec<TensorId>)> {
        let keep_dims = opt::reducer_keep_dims(&c.fields(opt::REDUCER)?)?;
        let axes = c.const_ints(1, "axis")?;
        Ok((
            OpKind::Reduce {
                op,
                axes,
                keep_dims,
            },
            x()?,
        ))
    };
    let resize = |method, o: opt::ResizeOptions| -> MapResult<(OpKind, Vec<TensorId>)> {
        let size = match c.const_ints(1, "size")?.as_slice() {
            [h, w] => [
                c.positive(*h, "output height")?,
                c.positive(*w, "output width")?,
            ],
            other => {
                return Err(c.fatal(format!(
                    "parameter 'size' must hold 2 values, found {}",
                    other.len()
                )))
            }
        };
        let kind = OpKind::Resize {
            method,
            size,
            align_corners: o.align_corners,
            half_pixel_centers: o.half_pixel_centers,
        };
        Ok((kind, x()?))
    };
    Ok(match c.name.as_str() {
        "CONV_2D" => {
            let o = opt::conv2d_options(&c.fields(opt::CONV_2D)?)?;
            (OpKind::Conv2d(c.conv_params(o)?), c.weighted(0, 1, 2)?)
        }
        "DEPTHWISE_CONV_2D" => {
            let o = opt::depthwise_conv2d_options(&c.fields(opt::DEPTHWISE_CONV_2D)?)?;
            let inputs = c.weighted(0, 1, 2)?;
            let depth_multiplier = depth_multiplier(c, inputs[0], inputs[1])?;
            (
                OpKind::DepthwiseConv2d {
                    params: c.conv_params(o)?,
                    depth_multiplier,
                },
                inputs,
            )
        }
        "TRANSPOSE_CONV" => {
            let o = opt::transpose_conv_options(&c.fields(opt::TRANSPOSE_CONV)?)?;
            let kind = OpKind::TransposeConv {
                padding: o.padding,
                stride: c.pair(o.stride, "stride")?,
                activation: o.activation,
                output_shape: c.const_ints(0, "output_shape")?,
            };
            (kind, c.weighted(2, 1, 3)?)
        }
        "FULLY_CONNECTED" => {
            let o = opt::fully_connected_options(&c.fields(opt::FULLY_CONNECTED)?)?;
            if o.weights_format != 0 {
                return Err(MapError::Unsupported(format!(
                    "weights_format {} (shuffled int8 weights) is not supported",
                    o.weights_format
                )));
            }
            let kind = OpKind::FullyConnected {
                activation: o.activation,
                keep_num_dims: o.keep_num_dims,
            };
            (kind, c.weighted(0, 1, 2)?)
        }
        "AVERAGE_POOL_2D" => (OpKind::AvgPool2d(c.pool_params()?), x()?),
        "MAX_POOL_2D" => (OpKind::MaxPool2d(c.pool_params()?), x()?),
        "MEAN" => reduce(ReduceOp::Mean)?,
        "SUM" => reduce(ReduceOp::Sum)?,
        "REDUCE_MAX" => reduce(ReduceOp::Max)?,
        "REDUCE_MIN" => reduce(ReduceOp::Min)?,
        "CONCATENATION" => {
            let (axis, activation) = opt::concatenation_options(&c.fields(opt::CONCATENATION)?)?;
            (
                OpKind::Concat {
                    axis: i64::from(axis),
                    activation,
                },
                c.all_inputs()?,
            )
        }
        "ADD" => binary(BinaryOp::Add, opt::ADD, true)?,
        "SUB" => binary(BinaryOp::Sub, opt::SUB, true)?,
        "MUL" => binary(BinaryOp::Mul, opt::MUL, true)?,
        "DIV" => binary(BinaryOp::Div, opt::DIV, true)?,
        "MAXIMUM" => binary(BinaryOp::Maximum, opt::MAXIMUM_MINIMUM, false)?,
        "MINIMUM" => binary(BinaryOp::Minimum, opt::MAXIMUM_MINIMUM, false)?,
        "POW" => binary(BinaryOp::Pow, opt::POW, false)?,
        "EQUAL" => binary(BinaryOp::Equal, opt::EQUAL, false)?,
        "GREATER" => binary(BinaryOp::Greater, opt::GREATER, false)?,
        "LESS" => binary(BinaryOp::Less, opt::LESS, false)?,
        "ADD_N" => {
            c.fields(opt::ADD_N)?;
            (OpKind::AddN, c.all_inputs()?)
        }
        "NEG" => unary_checked(c, UnaryOp::Neg, opt::NEG)?,
        "SQUARE" => unary_checked(c, UnaryOp::Square, opt::SQUARE)?,
        "EXP" => unary_checked(c, UnaryOp::Exp, opt::EXP)?,
        "ABS" => unary_checked(c, UnaryOp::Abs, opt::ABS)?,
        "SIGN" => unary_checked(c, UnaryOp::Sign, opt::SIGN)?,
        "HARD_SWISH" => unary_checked(c, UnaryOp::HardSwish, opt::HARD_SWISH)?,
        "SQRT" => unary(UnaryOp::Sqrt)?,
        "LOG" => unary(UnaryOp::Log)?,
        "LOGISTIC" => unary(UnaryOp::Logistic)?,
        "TANH" => unary(UnaryOp::Tanh)?,
        "ELU" => unary(UnaryOp::Elu)?,
        "RELU" => unary(UnaryOp::Relu)?,
        "RELU6" => unary(UnaryOp::Relu6)?,
        "RELU_N1_TO_1" => unary(UnaryOp::ReluN1To1)?,
        "LEAKY_RELU" => {
            let alpha = opt::leaky_relu_alpha(&c.fields(opt::LEAKY_RELU)?)?;
            (OpKind::LeakyRelu { alpha }, x()?)
        }
        "PRELU" => (
            OpKind::Prelu,
            vec![c.input(0, "input")?, c.input(1, "alpha")?],
        ),
        "PAD" | "PADV2" => pad(c)?,
        "SPLIT" => {
            let num = opt::split_num_splits(&c.fields(opt::SPLIT)?)?;
            let num_splits = c.positive(i64::from(num), "num_splits")?;
            if c.outputs.len() != num_splits {
                return Err(c.fatal(format!(
                    "num_splits is {num_splits} but the operator has {} outputs",
                    c.outputs.len()
                )));
            }
            let axis = c.const_scalar(0, "axis")?;
            (
                OpKind::Split { axis, num_splits },
                vec![c.input(1, "input")?],
            )
        }
        "SLICE" => {
            c.fields(opt::SLICE)?;
            let kind = OpKind::Slice {
                begin: c.const_ints(1, "begin")?,
                size: c.const_ints(2, "size")?,
            };
            (kind, x()?)
        }
        "STRIDED_SLICE" => {
            let o = opt::strided_slice_options(&c.fields(opt::STRIDED_SLICE)?)?;
            let kind = OpKind::StridedSlice {
                begin: c.const_ints(1, "begin")?,
                end: c.const_ints(2, "end")?,
                strides: c.const_ints(3, "strides")?,
                begin_mask: o.begin_mask,
                end_mask: o.end_mask,
                ellipsis_mask: o.ellipsis_mask,
                new_axis_mask: o.new_axis_mask,
                shrink_axis_mask: o.shrink_axis_mask,
                offset: o.offset,
            };
            (kind, x()?)
        }
        "GATHER" => {
            let (axis, batch_dims) = opt::gather_options(&c.fields(opt::GATHER)?)?;
            let kind = OpKind::Gather {
                axis: i64::from(axis),
                batch_dims: i64::from(batch_dims),
            };
            (kind, vec![c.input(0, "params")?, c.input(1, "indices")?])
        }
        "RESHAPE" => (
            OpKind::Reshape {
                new_shape: reshape_target(c)?,
            },
            x()?,
        ),
        "SQUEEZE" => {
            let dims = opt::squeeze_dims(&c.fields(opt::SQUEEZE)?)?;
            (
                OpKind::Squeeze {
                    axes: dims.into_iter().map(i64::from).collect(),
                },
                x()?,
            )
        }
        "TRANSPOSE" => {
            c.fields(opt::TRANSPOSE)?;
            (
                OpKind::Transpose {
                    perm: c.const_ints(1, "perm")?,
                },
                x()?,
            )
        }
        "RESIZE_BILINEAR" => {
            let o = opt::resize_bilinear_options(&c.fields(opt::RESIZE_BILINEAR)?)?;
            resize(ResizeMethod::Bilinear, o)?
        }
        "RESIZE_NEAREST_NEIGHBOR" => {
            let o = opt::resize_nearest_options(&c.fields(opt::RESIZE_NEAREST_NEIGHBOR)?)?;
            resize(ResizeMethod::NearestNeighbor, o)?
        }
        "SOFTMAX" => (
            OpKind::Softmax {
                beta: opt::softmax_beta(&c.fields(opt::SOFTMAX)?)?,
            },
            x()?,
        ),
        "ARG_MAX" => {
            let code = opt::arg_max_output_type(&c.fields(opt::ARG_MAX)?)?;
            let kind = OpKind::ArgMax {
                axis: c.const_scalar(1, "axis")?,
                output_type: DType::from_code(code),
            };
            (kind, x()?)
        }
        "DEPTH_TO_SPACE" => {
            let b = opt::block_size(&c.fields(opt::DEPTH_TO_SPACE)?)?;
            (
                OpKind::DepthToSpace {
                    block_size: c.positive(i64::from(b), "block_size")?,
                },
                x()?,
            )
        }
        "SPACE_TO_DEPTH" => {
            let b = opt::block_size(&c.fields(opt::SPACE_TO_DEPTH)?)?;
            (
                OpKind::SpaceToDepth {
                    block_size: c.positive(i64::from(b), "block_size")?,
                },
                x()?,
            )
        }
        "L2_NORMALIZATION" => {
            let activation = opt::activation_options(&c.fields(opt::L2_NORM)?)?;
            (OpKind::L2Normalization { activation }, x()?)
        }
        other => {
            return Err(MapError::Unsupported(format!(
                "operator {other} is not supported by the Hailo TFLite parser"
            )))
        }
    })
}

/// A unary op whose schema has an (empty) options table of type `t`.
fn unary_checked(
    c: &OpCtx<'_, '_>,
    op: UnaryOp,
    t: OptionsType,
) -> MapResult<(OpKind, Vec<TensorId>)> {
    c.fields(t)?;
    Ok((OpKind::Unary(op), vec![c.input(0, "input")?]))
}

/// Depth multiplier of a depthwise conv from its filter `[1, H, W, C*M]` and input channels C.
fn depth_multiplier(c: &OpCtx<'_, '_>, x: TensorId, w: TensorId) -> MapResult<usize> {
    let (xs, ws) = (&c.tensors[x].shape, &c.tensors[w].shape);
    match (xs.as_slice(), ws.as_slice()) {
        ([.., ci], [1, _, _, co]) if *ci > 0 && co % ci == 0 && *co > 0 => Ok(co / ci),
        _ => Err(c.fatal(format!(
            "depthwise filter shape {ws:?} is not [1, H, W, C*M] for input shape {xs:?}"
        ))),
    }
}

/// PAD (`[x, paddings]`) and PADV2 (`[x, paddings, constant]`).
fn pad(c: &OpCtx<'_, '_>) -> MapResult<(OpKind, Vec<TensorId>)> {
    let value = if c.name == "PADV2" {
        c.fields(opt::PAD_V2)?;
        match &c.tensors[c.input(2, "constant_values")?].data {
            Some(d) if d.len() == 1 => d.to_f32()[0],
            _ => {
                return Err(MapError::Unsupported(
                    "PADV2 fill value must be a constant scalar".into(),
                ))
            }
        }
    } else {
        c.fields(opt::PAD)?;
        0.0
    };
    let flat = c.const_ints(1, "paddings")?;
    if flat.len() % 2 != 0 {
        return Err(c.fatal(format!(
            "paddings hold {} values, expected [rank, 2]",
            flat.len()
        )));
    }
    let paddings = flat.chunks_exact(2).map(|p| [p[0], p[1]]).collect();
    Ok((OpKind::Pad { paddings, value }, vec![c.input(0, "input")?]))
}

/// RESHAPE target: the constant shape input, else `ReshapeOptions.new_shape`,
/// else the (static) output tensor shape.
fn reshape_target(c: &OpCtx<'_, '_>) -> MapResult<Vec<i64>> {
    let from_options = opt::reshape_new_shape(&c.fields(opt::RESHAPE)?)?;
    if let Some(shape) = c.opt_input(1) {
        if let Some(TensorData::Int(v)) = &c.tensors[shape].data {
            return Ok(v.clone());
        }
    }
    if !from_options.is_empty() {
        return Ok(from_options.into_iter().map(i64::from).collect());
    }
    let out = c
        .outputs
        .first()
        .ok_or_else(|| c.fatal("RESHAPE has no output".into()))?;
    Ok(c.tensors[*out].shape.iter().map(|&d| d as i64).collect())
}
