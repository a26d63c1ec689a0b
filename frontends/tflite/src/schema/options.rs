//! Typed decoding of the `Operator.builtin_options` union.
//!
//! An operator stores a union type code and a table. [`BuiltinOptionsRef`]
//! keeps both; [`BuiltinOptionsRef::fields`] checks the code against the table
//! type the operator requires and the `*_options` functions decode that table
//! with the schema's field ids and defaults. An absent union (type 0) decodes
//! as all-default fields, as the TFLite runtime does.

use crate::error::{Result, TfliteError};
use crate::flatbuf::{Scalar, Table};
use crate::graph::{Activation, Padding};

/// A member of the `BuiltinOptions` union: its type code and table name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionsType {
    /// Union type code.
    pub code: u8,
    /// Schema table name.
    pub name: &'static str,
}

macro_rules! options_types {
    ($($ident:ident = $code:literal $name:literal,)*) => {
        $(
            #[doc = concat!("`", $name, "` (union type ", stringify!($code), ").")]
            pub const $ident: OptionsType = OptionsType { code: $code, name: $name };
        )*
        /// Table name for a union type code, for error messages.
        fn table_name(code: u8) -> &'static str {
            match code {
                $($code => $name,)*
                _ => "BuiltinOptions",
            }
        }
    };
}

options_types! {
    CONV_2D = 1 "Conv2DOptions",
    DEPTHWISE_CONV_2D = 2 "DepthwiseConv2DOptions",
    POOL_2D = 5 "Pool2DOptions",
    FULLY_CONNECTED = 8 "FullyConnectedOptions",
    SOFTMAX = 9 "SoftmaxOptions",
    CONCATENATION = 10 "ConcatenationOptions",
    ADD = 11 "AddOptions",
    L2_NORM = 12 "L2NormOptions",
    RESIZE_BILINEAR = 15 "ResizeBilinearOptions",
    RESHAPE = 17 "ReshapeOptions",
    SPACE_TO_DEPTH = 19 "SpaceToDepthOptions",
    MUL = 21 "MulOptions",
    PAD = 22 "PadOptions",
    GATHER = 23 "GatherOptions",
    TRANSPOSE = 26 "TransposeOptions",
    REDUCER = 27 "ReducerOptions",
    SUB = 28 "SubOptions",
    DIV = 29 "DivOptions",
    SQUEEZE = 30 "SqueezeOptions",
    STRIDED_SLICE = 32 "StridedSliceOptions",
    EXP = 33 "ExpOptions",
    SPLIT = 35 "SplitOptions",
    DEQUANTIZE = 38 "DequantizeOptions",
    MAXIMUM_MINIMUM = 39 "MaximumMinimumOptions",
    ARG_MAX = 40 "ArgMaxOptions",
    LESS = 41 "LessOptions",
    NEG = 42 "NegOptions",
    PAD_V2 = 43 "PadV2Options",
    GREATER = 44 "GreaterOptions",
    SLICE = 48 "SliceOptions",
    TRANSPOSE_CONV = 49 "TransposeConvOptions",
    EQUAL = 53 "EqualOptions",
    POW = 56 "PowOptions",
    SQUARE = 66 "SquareOptions",
    RESIZE_NEAREST_NEIGHBOR = 74 "ResizeNearestNeighborOptions",
    LEAKY_RELU = 75 "LeakyReluOptions",
    ABS = 78 "AbsOptions",
    ADD_N = 82 "AddNOptions",
    HARD_SWISH = 91 "HardSwishOptions",
    DEPTH_TO_SPACE = 94 "DepthToSpaceOptions",
    SIGN = 123 "SignOptions",
}

/// The `builtin_options` union of one operator, not yet decoded.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinOptionsRef<'a> {
    /// Union type code (0 = none).
    pub type_code: u8,
    table: Option<Table<'a>>,
}

impl<'a> BuiltinOptionsRef<'a> {
    /// Reads the union whose type is field `type_id` and value field `value_id`.
    pub(crate) fn read(op: &Table<'a>, type_id: u16, value_id: u16) -> Result<Self> {
        let type_code: u8 = op.scalar(type_id, "builtin_options_type", 0)?;
        if type_code == 0 {
            return Ok(Self {
                type_code,
                table: None,
            });
        }
        let table = op.table(value_id, "builtin_options", table_name(type_code))?;
        if table.is_none() {
            return Err(TfliteError::invalid(
                "Operator.builtin_options",
                op.offset(),
                format!(
                    "union type is {type_code} ({}) but the options table is missing",
                    table_name(type_code)
                ),
            ));
        }
        Ok(Self { type_code, table })
    }

    /// The options table if the union holds `expected` (or nothing, in which
    /// case every field reads as its default). `Err(found_code)` otherwise.
    pub fn fields(&self, expected: OptionsType) -> Result<Fields<'a>, u8> {
        if self.type_code != 0 && self.type_code != expected.code {
            return Err(self.type_code);
        }
        Ok(Fields {
            table: self.table,
            name: expected.name,
        })
    }
}

/// Fields of one options table (possibly absent: all defaults).
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    table: Option<Table<'a>>,
    name: &'static str,
}

impl Fields<'_> {
    fn get<T: Scalar>(&self, id: u16, field: &'static str, default: T) -> Result<T> {
        match &self.table {
            Some(t) => Ok(t.scalar(id, field, default)?),
            None => Ok(default),
        }
    }

    fn flag(&self, id: u16, field: &'static str) -> Result<bool> {
        Ok(self.get::<u8>(id, field, 0)? != 0)
    }

    fn ints(&self, id: u16, field: &'static str) -> Result<Vec<i32>> {
        match &self.table {
            Some(t) => Ok(t.scalars(id, field)?),
            None => Ok(Vec::new()),
        }
    }

    fn bad_enum(&self, id: u16, field: &'static str, value: i8, valid: &str) -> TfliteError {
        let offset = self.table.as_ref().map_or(0, |t| t.field_offset(id, field));
        TfliteError::invalid(
            format!("{}.{field}", self.name),
            offset,
            format!("value {value} is not a supported {valid}"),
        )
    }

    fn activation(&self, id: u16) -> Result<Activation> {
        const FIELD: &str = "fused_activation_function";
        match self.get::<i8>(id, FIELD, 0)? {
            0 => Ok(Activation::None),
            1 => Ok(Activation::Relu),
            2 => Ok(Activation::ReluN1To1),
            3 => Ok(Activation::Relu6),
            4 => Ok(Activation::Tanh),
            v => Err(self.bad_enum(
                id,
                FIELD,
                v,
                "fused activation (NONE, RELU, RELU_N1_TO_1, RELU6, TANH)",
            )),
        }
    }

    fn padding(&self, id: u16) -> Result<Padding> {
        match self.get::<i8>(id, "padding", 0)? {
            0 => Ok(Padding::Same),
            1 => Ok(Padding::Valid),
            v => Err(self.bad_enum(id, "padding", v, "padding (SAME, VALID)")),
        }
    }
}

/// `Conv2DOptions` and `DepthwiseConv2DOptions` (raw strides/dilations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvOptions {
    /// Padding.
    pub padding: Padding,
    /// `[stride_h, stride_w]`.
    pub stride: [i32; 2],
    /// `[dilation_h_factor, dilation_w_factor]`.
    pub dilation: [i32; 2],
    /// Fused activation.
    pub activation: Activation,
    /// Depthwise only: `depth_multiplier` (0 when absent; redundant with the filter shape).
    pub depth_multiplier: i32,
}

/// Decodes `Conv2DOptions`.
pub fn conv2d_options(f: &Fields<'_>) -> Result<ConvOptions> {
    Ok(ConvOptions {
        padding: f.padding(0)?,
        stride: [f.get(2, "stride_h", 0)?, f.get(1, "stride_w", 0)?],
        dilation: [
            f.get(5, "dilation_h_factor", 1)?,
            f.get(4, "dilation_w_factor", 1)?,
        ],
        activation: f.activation(3)?,
        depth_multiplier: 0,
    })
}

/// Decodes `DepthwiseConv2DOptions`.
pub fn depthwise_conv2d_options(f: &Fields<'_>) -> Result<ConvOptions> {
    Ok(ConvOptions {
        padding: f.padding(0)?,
        stride: [f.get(2, "stride_h", 0)?, f.get(1, "stride_w", 0)?],
        dilation: [
            f.get(6, "dilation_h_factor", 1)?,
            f.get(5, "dilation_w_factor", 1)?,
        ],
        activation: f.activation(4)?,
        depth_multiplier: f.get(3, "depth_multiplier", 0)?,
    })
}

/// `TransposeConvOptions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransposeConvOptions {
    /// Padding.
    pub padding: Padding,
    /// `[stride_h, stride_w]`.
    pub stride: [i32; 2],
    /// Fused activation.
    pub activation: Activation,
}

/// Decodes `TransposeConvOptions`.
pub fn transpose_conv_options(f: &Fields<'_>) -> Result<TransposeConvOptions> {
    Ok(TransposeConvOptions {
        padding: f.padding(0)?,
        stride: [f.get(2, "stride_h", 0)?, f.get(1, "stride_w", 0)?],
        activation: f.activation(3)?,
    })
}

/// `Pool2DOptions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool2dOptions {
    /// Padding.
    pub padding: Padding,
    /// `[stride_h, stride_w]`.
    pub stride: [i32; 2],
    /// `[filter_height, filter_width]`.
    pub filter: [i32; 2],
    /// Fused activation.
    pub activation: Activation,
}

/// Decodes `Pool2DOptions`.
pub fn pool2d_options(f: &Fields<'_>) -> Result<Pool2dOptions> {
    Ok(Pool2dOptions {
        padding: f.padding(0)?,
        stride: [f.get(2, "stride_h", 0)?, f.get(1, "stride_w", 0)?],
        filter: [f.get(4, "filter_height", 0)?, f.get(3, "filter_width", 0)?],
        activation: f.activation(5)?,
    })
}

/// `FullyConnectedOptions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FullyConnectedOptions {
    /// Fused activation.
    pub activation: Activation,
    /// Weights format (0 = DEFAULT, 1 = SHUFFLED4x16INT8).
    pub weights_format: i8,
    /// Keep the input rank.
    pub keep_num_dims: bool,
}

/// Decodes `FullyConnectedOptions`.
pub fn fully_connected_options(f: &Fields<'_>) -> Result<FullyConnectedOptions> {
    Ok(FullyConnectedOptions {
        activation: f.activation(0)?,
        weights_format: f.get(1, "weights_format", 0)?,
        keep_num_dims: f.flag(2, "keep_num_dims")?,
    })
}

/// Decodes the fused activation of `AddOptions`, `SubOptions`, `MulOptions`,
/// `DivOptions` and `L2NormOptions` (field 0 in all of them).
pub fn activation_options(f: &Fields<'_>) -> Result<Activation> {
    f.activation(0)
}

/// Decodes `ConcatenationOptions`: `(axis, activation)`.
pub fn concatenation_options(f: &Fields<'_>) -> Result<(i32, Activation)> {
    Ok((f.get(0, "axis", 0)?, f.activation(1)?))
}

/// Decodes `SoftmaxOptions.beta`.
pub fn softmax_beta(f: &Fields<'_>) -> Result<f32> {
    f.get(0, "beta", 0.0)
}

/// Decodes `LeakyReluOptions.alpha`.
pub fn leaky_relu_alpha(f: &Fields<'_>) -> Result<f32> {
    f.get(0, "alpha", 0.0)
}

/// Decodes `ReshapeOptions.new_shape` (empty when absent).
pub fn reshape_new_shape(f: &Fields<'_>) -> Result<Vec<i32>> {
    f.ints(0, "new_shape")
}

/// Decodes `SqueezeOptions.squeeze_dims`.
pub fn squeeze_dims(f: &Fields<'_>) -> Result<Vec<i32>> {
    f.ints(0, "squeeze_dims")
}

/// Decodes `block_size` of `SpaceToDepthOptions` / `DepthToSpaceOptions`.
pub fn block_size(f: &Fields<'_>) -> Result<i32> {
    f.get(0, "block_size", 0)
}

/// Decodes `GatherOptions`: `(axis, batch_dims)`.
pub fn gather_options(f: &Fields<'_>) -> Result<(i32, i32)> {
    Ok((f.get(0, "axis", 0)?, f.get(1, "batch_dims", 0)?))
}

/// Decodes `ReducerOptions.keep_dims`.
pub fn reducer_keep_dims(f: &Fields<'_>) -> Result<bool> {
    f.flag(0, "keep_dims")
}

/// Decodes `SplitOptions.num_splits`.
pub fn split_num_splits(f: &Fields<'_>) -> Result<i32> {
    f.get(0, "num_splits", 0)
}

/// Decodes `ArgMaxOptions.output_type` (raw `TensorType`).
pub fn arg_max_output_type(f: &Fields<'_>) -> Result<i8> {
    f.get(0, "output_type", 0)
}

/// `ResizeBilinearOptions` / `ResizeNearestNeighborOptions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResizeOptions {
    /// TF `align_corners`.
    pub align_corners: bool,
    /// TF `half_pixel_centers`.
    pub half_pixel_centers: bool,
}

/// Decodes `ResizeBilinearOptions` (fields 0-1 are the deprecated new_height/new_width).
pub fn resize_bilinear_options(f: &Fields<'_>) -> Result<ResizeOptions> {
    Ok(ResizeOptions {
        align_corners: f.flag(2, "align_corners")?,
        half_pixel_centers: f.flag(3, "half_pixel_centers")?,
    })
}

/// Decodes `ResizeNearestNeighborOptions`.
pub fn resize_nearest_options(f: &Fields<'_>) -> Result<ResizeOptions> {
    Ok(ResizeOptions {
        align_corners: f.flag(0, "align_corners")?,
        half_pixel_centers: f.flag(1, "half_pixel_centers")?,
    })
}

/// `StridedSliceOptions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StridedSliceOptions {
    /// Begin mask.
    pub begin_mask: i32,
    /// End mask.
    pub end_mask: i32,
    /// Ellipsis mask.
    pub ellipsis_mask: i32,
    /// New-axis mask.
    pub new_axis_mask: i32,
    /// Shrink-axis mask.
    pub shrink_axis_mask: i32,
    /// End is an offset from begin.
    pub offset: bool,
}

/// Decodes `StridedSliceOptions`.
pub fn strided_slice_options(f: &Fields<'_>) -> Result<StridedSliceOptions> {
    Ok(StridedSliceOptions {
        begin_mask: f.get(0, "begin_mask", 0)?,
        end_mask: f.get(1, "end_mask", 0)?,
        ellipsis_mask: f.get(2, "ellipsis_mask", 0)?,
        new_axis_mask: f.get(3, "new_axis_mask", 0)?,
        shrink_axis_mask: f.get(4, "shrink_axis_mask", 0)?,
        offset: f.flag(5, "offset")?,
    })
}
