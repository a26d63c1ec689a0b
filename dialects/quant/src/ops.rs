//! The integer ops of the `q` dialect. They mirror `hl` ops (same names after the dot, same
//! geometry attributes: `strides`, `dilations`, `groups`, `pads`, `kernel`, `axis`), with
//! quantized operand and result types and the integer arithmetic spelled out:
//!
//! - weighted ops (`q.conv2d`, `q.depthwise_conv2d`, `q.dense`) take a `!q.per_axis` signed
//!   kernel, an optional i32 bias at the accumulator scale S_x·S_w (or, with
//!   `bias_shift = [e, ...]`, at S_x·S_w·2^e per channel: the accumulator starts at
//!   bias·2^e, the `double_scale_initialization` bias mode), and requantize the
//!   accumulator with per-output-channel `multiplier`/`shift` (see
//!   [`crate::scheme::decompose_rescale`]) and saturate to `clamp = [lo, hi]` output codes
//!   (which is also how fused ReLU/ReLU6 are expressed);
//! - `q.conv2d` may take a fourth operand `ew_add` (the convolution & add kernel, guide
//!   Table 10; needs the bias): an activation of the result's shape whose codes, less their
//!   zero point, are rescaled to the accumulator scale with per-output-channel
//!   `add_multiplier`/`add_shift` (≈ S_a / (S_x·S_w)) and added to the accumulator before the
//!   output rescale and clamp;
//! - `q.ew_add` / `q.ew_sub` rescale both inputs with `multiplier = [ma, mb]` and one `shift`;
//!   `q.ew_max` / `q.ew_min` rescale each input the same way to the output type, saturate,
//!   and take the larger / smaller code;
//! - `q.ew_mult` rescales the product (a − za)·(b − zb) with one `multiplier`/`shift`;
//!   `q.ew_div` is the rounded integer quotient (a − za)·multiplier / ((b − zb)·2^shift)
//!   (half up; a zero divisor saturates to the clamp bound of the dividend's sign);
//! - `q.avgpool` / `q.global_avgpool` rescale the window sum with `multiplier`/`shift` and
//!   divide by the window size (`ceil_mode` on the windowed pools rounds the output size up
//!   as ONNX does; with `count_include_pad` the divisor counts the taps inside the padded
//!   input); `q.maxpool`, `q.concat`, `q.reshape`, `q.slice` (`starts`, `ends`, `steps` of
//!   the non-batch axes, or of every axis when the slice cuts the model's own axis 0) and
//!   nearest `q.resize` (`hl.resize`'s
//!   `coordinate` / `nearest_mode` attributes) move codes unchanged; bilinear `q.resize`
//!   (`mode = "bilinear"`, `frac_bits = F`) blends codes with F-bit fixed-point tap weights
//!   that sum to 2^F per axis, so its result keeps the input's type;
//! - `q.transpose` (`perm`, numpy order) and `q.pad` (`pads = [before..., after...]` per
//!   axis, `mode` constant / reflect / edge / wrap, constant `value` as a code of the
//!   input's type) move codes and keep the input's type; depth_to_space, space_to_depth and
//!   feature_shuffle lower to `q.reshape` → `q.transpose` → `q.reshape`;
//! - `q.lut` maps every input code to an output code (`table`, one entry per input code);
//! - `q.matmul` multiplies two activation tensors (numpy batching over the leading axes,
//!   `transpose_b`): acc = Σ_k (a − za)(b − zb), which the hardware forms as
//!   Σ a·b − zb·Σ a − za·Σ b + K·za·zb (the zero-point compensation of the guide's
//!   `matmul_correction`); one `multiplier`/`shift` rescales it to the output;
//! - `q.softmax` (last axis): d = max − x per code, e = `table`[d] (a 16-bit exp table,
//!   e = round(2^15 · exp(−S_x·d))), y = round(e · multiplier / (Σ e · 2^shift)) + zy;
//! - `q.log_softmax` (last axis): the same exp table and row sum Σ e; L = log2(Σ e / 2^15)
//!   with 16 fractional bits (integer log2 plus a 1024-entry table of the mantissa's log2),
//!   y = round((ma·(x − max) − mb·L) · 2^(−shift)) + zy with `multiplier = [ma, mb]`;
//! - `q.layer_norm` (statistics over `axes`, affine along the last axis; instance norm is
//!   the same op over the spatial axes): exact integer mean and variance of the codes, a
//!   16-bit normalized value n = round(2^15 · D / sqrt(V + `epsilon`)), then
//!   y = requantize(γ·n + β) per channel with an i16 `gamma` and an i32 `beta` operand;
//!   with `center = false` (the L2 normalization) the codes are not centred (D = x − zp)
//!   and n = round(2^15 · D / sqrt(max(V, `epsilon`)));
//! - `q.reduce` (`kind` sum / mean / max / min / sum_square / l2 over `axes`, `keepdims`)
//!   reduces the codes minus the zero point (mean divides the sum by the count; sum_square
//!   sums their squares; l2 is the integer square root of that sum with 16 fractional bits)
//!   and rescales to the output;
//! - `q.deconv2d` is the transposed convolution of `hl.deconv2d` with a weighted op's
//!   kernel, bias and per-channel rescale: every input code less its zero point, times each
//!   kernel tap, is added to the accumulator of the output pixel the tap reaches; the full
//!   output is cropped by `pads` and extended by `output_padding` as ONNX's ConvTranspose;
//! - `q.prelu`: d = x − zx is rescaled by `multiplier[0]` where d ≥ 0 and by the signed
//!   `slope_multiplier` where d < 0 (one for all, one per channel of the last axis, one
//!   per element of a sample, or one per element of the whole tensor when the slope varies
//!   along the model's axis 0; row-major), one shared `shift`;
//! - `q.argmax` (`axis`, `keepdims`): the index of the first largest code along the axis,
//!   as a code of a scale-1, zero-point-0 unsigned result (the index itself);
//! - `q.one_hot` (`depth`): `table` gives the class of every input code (−1: none); the
//!   result is the `on` code at that class and the `off` code elsewhere, on a new last axis;
//! - `q.format_conversion` (`conversion`, `emulator_support` as `hl.format_conversion`)
//!   moves the codes of a camera format into 3 channels and keeps the input's type;
//! - `q.quantize` / `q.dequantize` cross between f32 and codes at the graph boundary, and
//!   `q.requantize` changes scale and zero point.

use crate::types::{QuantType, Storage};
use hailo_ir::{define_op, Attribute, Module, OpDef, OpId, Type};

type Result<T> = std::result::Result<T, String>;

/// The op names, for code that builds ops by name.
pub const QUANTIZE: &str = Quantize::NAME;
pub const DEQUANTIZE: &str = Dequantize::NAME;
pub const REQUANTIZE: &str = Requantize::NAME;
pub const CONST: &str = Const::NAME;
pub const CONV2D: &str = Conv2d::NAME;
pub const DEPTHWISE_CONV2D: &str = DepthwiseConv2d::NAME;
pub const DENSE: &str = Dense::NAME;
pub const EW_ADD: &str = EwAdd::NAME;
pub const EW_SUB: &str = EwSub::NAME;
pub const EW_MAX: &str = EwMax::NAME;
pub const EW_MIN: &str = EwMin::NAME;
pub const EW_MULT: &str = EwMult::NAME;
pub const EW_DIV: &str = EwDiv::NAME;
pub const SLICE: &str = Slice::NAME;
pub const MAXPOOL: &str = MaxPool::NAME;
pub const AVGPOOL: &str = AvgPool::NAME;
pub const GLOBAL_AVGPOOL: &str = GlobalAvgPool::NAME;
pub const CONCAT: &str = Concat::NAME;
pub const RESHAPE: &str = Reshape::NAME;
pub const RESIZE: &str = Resize::NAME;
pub const TRANSPOSE: &str = Transpose::NAME;
pub const PAD: &str = Pad::NAME;
pub const LUT: &str = Lut::NAME;
pub const MATMUL: &str = MatMul::NAME;
pub const SOFTMAX: &str = Softmax::NAME;
pub const LOG_SOFTMAX: &str = LogSoftmax::NAME;
pub const LAYER_NORM: &str = LayerNorm::NAME;
pub const REDUCE: &str = Reduce::NAME;
pub const DECONV2D: &str = Deconv2d::NAME;
pub const PRELU: &str = Prelu::NAME;
pub const ARGMAX: &str = ArgMax::NAME;
pub const ONE_HOT: &str = OneHot::NAME;
pub const FORMAT_CONVERSION: &str = FormatConversion::NAME;

/// The `kind`s of `q.reduce`.
pub const REDUCE_KINDS: [&str; 6] = ["sum", "mean", "max", "min", "sum_square", "l2"];

/// Fractional bits of the 16-bit intermediates of `q.softmax` (exp table entries) and
/// `q.layer_norm` (normalized values): 1.0 is 2^15.
pub const FRAC_BITS_16: u32 = 15;

/// The `mode`s of `q.pad`.
pub const PAD_MODES: [&str; 4] = ["constant", "reflect", "edge", "wrap"];

define_op! {
    #[doc = "`q.quantize`: f32 to codes (bankers rounding, saturation)."]
    pub struct Quantize = "q.quantize" {
        summary: "f32 to codes (bankers rounding, saturation)", traits: [PURE],
        operands { input: 0 }
        attrs { layer: str }
        hooks { verify: v_quantize }
    }
}

define_op! {
    #[doc = "`q.dequantize`: codes to f32."]
    pub struct Dequantize = "q.dequantize" {
        summary: "codes to f32", traits: [PURE],
        operands { input: 0 }
        attrs { layer: str }
        hooks { verify: v_dequantize }
    }
}

define_op! {
    #[doc = "`q.requantize`: change scale and zero point."]
    pub struct Requantize = "q.requantize" {
        summary: "change scale and zero point", traits: [PURE],
        operands { input: 0 }
        attrs { multiplier: i64_array [required], shift: i64_array [required], clamp: i64_array, layer: str }
        hooks { verify: v_requantize }
    }
}

define_op! {
    #[doc = "`q.const`: integer constant (codes) with a quantized type."]
    pub struct Const = "q.const" {
        summary: "integer constant (codes) with a quantized type", traits: [PURE],
        attrs { value: attr [required], layer: str }
        hooks { verify: v_const }
    }
}

define_op! {
    #[doc = "`q.conv2d`: integer 2-D convolution."]
    pub struct Conv2d = "q.conv2d" {
        summary: "integer 2-D convolution", traits: [PURE],
        operands { input: 0, kernel: 1, bias: 2, ew_add: 3 }
        attrs { strides: i64_array, dilations: i64_array, groups: i64, pads: i64_array, multiplier: i64_array [required], shift: i64_array [required], clamp: i64_array [required], bias_shift: i64_array, add_multiplier: i64_array, add_shift: i64_array, layer: str }
        hooks { verify: v_conv }
    }
}

define_op! {
    #[doc = "`q.depthwise_conv2d`: integer depthwise convolution."]
    pub struct DepthwiseConv2d = "q.depthwise_conv2d" {
        summary: "integer depthwise convolution", traits: [PURE],
        operands { input: 0, kernel: 1, bias: 2 }
        attrs { strides: i64_array, dilations: i64_array, pads: i64_array, multiplier: i64_array [required], shift: i64_array [required], clamp: i64_array [required], bias_shift: i64_array, layer: str }
        hooks { verify: v_weighted }
    }
}

define_op! {
    #[doc = "`q.dense`: integer fully connected layer."]
    pub struct Dense = "q.dense" {
        summary: "integer fully connected layer", traits: [PURE],
        operands { input: 0, kernel: 1, bias: 2 }
        attrs { multiplier: i64_array [required], shift: i64_array [required], clamp: i64_array [required], bias_shift: i64_array, layer: str }
        hooks { verify: v_weighted }
    }
}

/// The rescaling binary ops: two code operands, a `multiplier`/`shift` rescale and an
/// output `clamp`, declared alike.
macro_rules! rescaling_binary_ops {
    ($($ty:ident = $name:literal: $summary:literal, $verify:ident;)*) => {
        $(define_op! {
            #[doc = concat!("`", $name, "`: ", $summary, ".")]
            pub struct $ty = $name {
                summary: $summary, traits: [PURE],
                operands { lhs: 0, rhs: 1 }
                attrs {
                    multiplier: i64_array [required], shift: i64_array [required],
                    clamp: i64_array [required], layer: str
                }
                hooks { verify: $verify }
            }
        })*
    };
}

rescaling_binary_ops! {
    EwAdd = "q.ew_add": "integer elementwise add", v_binary;
    EwSub = "q.ew_sub": "integer elementwise subtract", v_binary;
    EwMax = "q.ew_max": "elementwise maximum of rescaled codes", v_binary;
    EwMin = "q.ew_min": "elementwise minimum of rescaled codes", v_binary;
    EwMult = "q.ew_mult": "integer elementwise multiply", v_product;
    EwDiv = "q.ew_div": "integer elementwise divide", v_product;
}

define_op! {
    #[doc = "`q.slice`: strided slice of codes."]
    pub struct Slice = "q.slice" {
        summary: "strided slice of codes", traits: [PURE],
        operands { input: 0 }
        attrs { starts: i64_array [required], ends: i64_array [required], steps: i64_array [required], layer: str }
        hooks { verify: v_slice }
    }
}

define_op! {
    #[doc = "`q.maxpool`: max pooling on codes."]
    pub struct MaxPool = "q.maxpool" {
        summary: "max pooling on codes", traits: [PURE],
        operands { input: 0 }
        attrs { kernel: i64_array, strides: i64_array, pads: i64_array, ceil_mode: bool, layer: str }
        hooks { verify: v_same_type }
    }
}

define_op! {
    #[doc = "`q.avgpool`: integer average pooling."]
    pub struct AvgPool = "q.avgpool" {
        summary: "integer average pooling", traits: [PURE],
        operands { input: 0 }
        attrs { kernel: i64_array, strides: i64_array, pads: i64_array, ceil_mode: bool, count_include_pad: bool, multiplier: i64_array, shift: i64_array, clamp: i64_array, layer: str }
        hooks { verify: v_avg }
    }
}

define_op! {
    #[doc = "`q.global_avgpool`: integer global average pooling."]
    pub struct GlobalAvgPool = "q.global_avgpool" {
        summary: "integer global average pooling", traits: [PURE],
        operands { input: 0 }
        attrs { multiplier: i64_array, shift: i64_array, clamp: i64_array, layer: str }
        hooks { verify: v_avg }
    }
}

define_op! {
    #[doc = "`q.concat`: concatenation of same-typed codes."]
    pub struct Concat = "q.concat" {
        summary: "concatenation of same-typed codes", traits: [PURE],
        attrs { axis: i64, layer: str }
        hooks { verify: v_same_type }
    }
}

define_op! {
    #[doc = "`q.reshape`: reshape of codes."]
    pub struct Reshape = "q.reshape" {
        summary: "reshape of codes", traits: [PURE],
        operands { input: 0 }
        attrs { layer: str }
        hooks { verify: v_same_type }
    }
}

define_op! {
    #[doc = "`q.resize`: nearest or bilinear resize of codes."]
    pub struct Resize = "q.resize" {
        summary: "nearest or bilinear resize of codes", traits: [PURE],
        operands { input: 0 }
        attrs { mode: str, coordinate: str, nearest_mode: str, frac_bits: i64, layer: str }
        hooks { verify: v_resize }
    }
}

define_op! {
    #[doc = "`q.transpose`: axis permutation of codes."]
    pub struct Transpose = "q.transpose" {
        summary: "axis permutation of codes", traits: [PURE],
        operands { input: 0 }
        attrs { perm: i64_array [required], layer: str }
        hooks { verify: v_transpose }
    }
}

define_op! {
    #[doc = "`q.pad`: padding of codes."]
    pub struct Pad = "q.pad" {
        summary: "padding of codes", traits: [PURE],
        operands { input: 0 }
        attrs { pads: i64_array [required], mode: str, value: i64, layer: str }
        hooks { verify: v_pad }
    }
}

define_op! {
    #[doc = "`q.lut`: table lookup: one output code per input code."]
    pub struct Lut = "q.lut" {
        summary: "table lookup: one output code per input code", traits: [PURE],
        operands { input: 0 }
        attrs { table: i64_array [required], layer: str }
        hooks { verify: v_lut }
    }
}

define_op! {
    #[doc = "`q.matmul`: integer product of two activation tensors."]
    pub struct MatMul = "q.matmul" {
        summary: "integer product of two activation tensors", traits: [PURE],
        operands { a: 0, b: 1 }
        attrs { transpose_b: bool, multiplier: i64_array [required], shift: i64_array [required], clamp: i64_array [required], layer: str }
        hooks { verify: v_matmul }
    }
}

define_op! {
    #[doc = "`q.softmax`: integer softmax along the last axis with a 16-bit exp table."]
    pub struct Softmax = "q.softmax" {
        summary: "integer softmax along the last axis with a 16-bit exp table", traits: [PURE],
        operands { input: 0 }
        attrs { table: i64_array [required], multiplier: i64_array [required], shift: i64_array [required], clamp: i64_array [required], layer: str }
        hooks { verify: v_softmax }
    }
}

define_op! {
    #[doc = "`q.log_softmax`: integer log-softmax along the last axis (exp table, fixed-point log2)."]
    pub struct LogSoftmax = "q.log_softmax" {
        summary: "integer log-softmax along the last axis", traits: [PURE],
        operands { input: 0 }
        attrs { table: i64_array [required], multiplier: i64_array [required], shift: i64_array [required], clamp: i64_array [required], layer: str }
        hooks { verify: v_log_softmax }
    }
}

define_op! {
    #[doc = "`q.layer_norm`: integer normalization over axes with a per-channel affine."]
    pub struct LayerNorm = "q.layer_norm" {
        summary: "integer normalization over axes with a per-channel affine", traits: [PURE],
        operands { input: 0, gamma: 1, beta: 2 }
        attrs { axes: i64_array [required], epsilon: i64 [required], center: bool, multiplier: i64_array [required], shift: i64_array [required], clamp: i64_array [required], layer: str }
        hooks { verify: v_layer_norm }
    }
}

define_op! {
    #[doc = "`q.reduce`: integer sum / mean / max / min / sum_square / l2 over axes."]
    pub struct Reduce = "q.reduce" {
        summary: "integer sum / mean / max / min / sum_square / l2 over axes", traits: [PURE],
        operands { input: 0 }
        attrs { kind: str [required], axes: i64_array [required], keepdims: bool, multiplier: i64_array [required], shift: i64_array [required], clamp: i64_array [required], layer: str }
        hooks { verify: v_reduce }
    }
}

define_op! {
    #[doc = "`q.deconv2d`: integer transposed 2-D convolution."]
    pub struct Deconv2d = "q.deconv2d" {
        summary: "integer transposed 2-D convolution", traits: [PURE],
        operands { input: 0, kernel: 1, bias: 2 }
        attrs { strides: i64_array, dilations: i64_array, groups: i64, pads: i64_array, output_padding: i64_array, multiplier: i64_array [required], shift: i64_array [required], clamp: i64_array [required], layer: str }
        hooks { verify: v_weighted }
    }
}

define_op! {
    #[doc = "`q.prelu`: per-channel slope on negative codes."]
    pub struct Prelu = "q.prelu" {
        summary: "per-channel slope on negative codes", traits: [PURE],
        operands { input: 0 }
        attrs { multiplier: i64_array [required], slope_multiplier: i64_array [required], shift: i64_array [required], clamp: i64_array [required], layer: str }
        hooks { verify: v_prelu }
    }
}

define_op! {
    #[doc = "`q.argmax`: index of the first largest code along an axis."]
    pub struct ArgMax = "q.argmax" {
        summary: "index of the first largest code along an axis", traits: [PURE],
        operands { input: 0 }
        attrs { axis: i64 [required], keepdims: bool, layer: str }
        hooks { verify: v_argmax }
    }
}

define_op! {
    #[doc = "`q.one_hot`: on/off codes on a new last axis, the class of each input code from a table."]
    pub struct OneHot = "q.one_hot" {
        summary: "on/off codes on a new last axis from a class table", traits: [PURE],
        operands { input: 0 }
        attrs { table: i64_array [required], on: i64 [required], off: i64 [required], layer: str }
        hooks { verify: v_one_hot }
    }
}

define_op! {
    #[doc = "`q.format_conversion`: camera format (YUY2/NV12/NV21/I420/RGBX) codes to 3 channels."]
    pub struct FormatConversion = "q.format_conversion" {
        summary: "camera format codes to 3 channels", traits: [PURE],
        operands { input: 0 }
        attrs { conversion: str [required], emulator_support: bool, layer: str }
        hooks { verify: v_same_type }
    }
}

pub fn defs() -> Vec<OpDef> {
    vec![
        Quantize::def(),
        Dequantize::def(),
        Requantize::def(),
        Const::def(),
        Conv2d::def(),
        DepthwiseConv2d::def(),
        Dense::def(),
        EwAdd::def(),
        EwSub::def(),
        EwMax::def(),
        EwMin::def(),
        EwMult::def(),
        EwDiv::def(),
        Slice::def(),
        MaxPool::def(),
        AvgPool::def(),
        GlobalAvgPool::def(),
        Concat::def(),
        Reshape::def(),
        Resize::def(),
        Transpose::def(),
        Pad::def(),
        Lut::def(),
        MatMul::def(),
        Softmax::def(),
        LogSoftmax::def(),
        LayerNorm::def(),
        Reduce::def(),
        Deconv2d::def(),
        Prelu::def(),
        ArgMax::def(),
        OneHot::def(),
        FormatConversion::def(),
    ]
}

/// The quantized element type of value `v`, or an error naming `what`.
pub fn quant_of(ty: Type, what: &str) -> Result<QuantType> {
    QuantType::parse(ty).ok_or_else(|| {
        let hint = match ty.element().kind() {
            hailo_ir::TypeKind::Dialect { dialect, body } if dialect == "q" => {
                QuantType::parse_body(body).err().unwrap_or_default()
            }
            _ => format!("got '{ty}'"),
        };
        format!("{what} must be a tensor of a quantized type: {hint}")
    })
}

fn operands(m: &Module, op: OpId, min: usize, max: usize, what: &str) -> Result<Vec<Type>> {
    let ops = m.op(op).operands();
    if ops.len() < min || ops.len() > max {
        return Err(format!("expects {what}, got {} operand(s)", ops.len()));
    }
    if m.op(op).results().len() != 1 {
        return Err(format!(
            "expects 1 result, got {}",
            m.op(op).results().len()
        ));
    }
    Ok(ops.iter().map(|&v| m.value_type(v)).collect())
}

fn result(m: &Module, op: OpId) -> Type {
    m.value_type(m.result(op, 0))
}

fn uniform(ty: Type, what: &str) -> Result<QuantType> {
    let q = quant_of(ty, what)?;
    match q {
        QuantType::Uniform { storage, .. } if !storage.signed() => Ok(q),
        _ => Err(format!(
            "{what} must be an unsigned !q.uniform activation type (u8/u16), got '{}'",
            ty.element()
        )),
    }
}

fn i64_list(m: &Module, op: OpId, key: &str) -> Result<Vec<i64>> {
    m.attr(op, key)
        .and_then(Attribute::as_i64_array)
        .ok_or_else(|| format!("requires attribute '{key}' (array of integers)"))
}

/// Checks `multiplier` (length `n`, values in 0..2^31) and `shift` (one or `n` values in 0..=62).
fn check_rescale(m: &Module, op: OpId, n: usize) -> Result<()> {
    rescale_pair(m, op, ["multiplier", "shift"], n, 1)
}

/// Checks the multiplier and shift attributes `keys`: `n` multipliers in 0..2^31, `n` or
/// `shared` shifts in 0..=62.
fn rescale_pair(m: &Module, op: OpId, keys: [&str; 2], n: usize, shared: usize) -> Result<()> {
    let [mk, sk] = keys;
    let mult = i64_list(m, op, mk)?;
    let shift = i64_list(m, op, sk)?;
    if mult.len() != n {
        return Err(format!(
            "attribute '{mk}' must have {n} value(s), got {}",
            mult.len()
        ));
    }
    if shift.len() != n && shift.len() != shared {
        let counts = if shared == n {
            format!("{n}")
        } else {
            format!("{shared} or {n}")
        };
        return Err(format!(
            "attribute '{sk}' must have {counts} value(s), got {}",
            shift.len()
        ));
    }
    if let Some(x) = mult.iter().find(|&&x| !(0..1 << 31).contains(&x)) {
        return Err(format!("multiplier {x} is outside [0, 2^31)"));
    }
    if let Some(s) = shift
        .iter()
        .find(|&&s| !(0..=crate::scheme::MAX_SHIFT as i64).contains(&s))
    {
        return Err(format!("shift {s} is outside [0, 62]"));
    }
    Ok(())
}

fn check_clamp(m: &Module, op: OpId, out: &QuantType) -> Result<()> {
    let Some(c) = m.attr(op, "clamp") else {
        return Ok(());
    };
    let st = out.storage();
    match c.as_i64_array().as_deref() {
        Some(&[lo, hi]) if st.qmin() <= lo && lo <= hi && hi <= st.qmax() => Ok(()),
        _ => Err(format!(
            "attribute 'clamp' must be [lo, hi] with {} <= lo <= hi <= {}, got {c}",
            st.qmin(),
            st.qmax()
        )),
    }
}

fn same_shape(a: Type, b: Type, what: &str) -> Result<()> {
    if a.shape() != b.shape() {
        return Err(format!(
            "{what}: shapes differ ({:?} vs {:?})",
            a.shape().unwrap_or(&[]),
            b.shape().unwrap_or(&[])
        ));
    }
    Ok(())
}

fn v_quantize(m: &Module, op: OpId) -> Result<()> {
    let t = operands(m, op, 1, 1, "one float operand")?;
    if !t[0].element().is_float() {
        return Err(format!("operand must be a float tensor, got '{}'", t[0]));
    }
    uniform(result(m, op), "result")?;
    same_shape(t[0], result(m, op), "operand and result")
}

fn v_dequantize(m: &Module, op: OpId) -> Result<()> {
    let t = operands(m, op, 1, 1, "one quantized operand")?;
    quant_of(t[0], "operand")?;
    if result(m, op).element() != Type::f32() {
        return Err(format!(
            "result must be an f32 tensor, got '{}'",
            result(m, op)
        ));
    }
    same_shape(t[0], result(m, op), "operand and result")
}

fn v_requantize(m: &Module, op: OpId) -> Result<()> {
    let t = operands(m, op, 1, 1, "one quantized operand")?;
    uniform(t[0], "operand")?;
    let out = uniform(result(m, op), "result")?;
    check_rescale(m, op, 1)?;
    check_clamp(m, op, &out)?;
    same_shape(t[0], result(m, op), "operand and result")
}

fn v_const(m: &Module, op: OpId) -> Result<()> {
    operands(m, op, 0, 0, "no operands")?;
    let ty = result(m, op);
    let q = quant_of(ty, "result")?;
    if let QuantType::PerAxis { axis, scales, .. } = &q {
        let shape = ty.shape().unwrap_or(&[]);
        match shape.get(*axis) {
            Some(&d) if d as usize == scales.len() => {}
            _ => {
                return Err(format!(
                    "per-axis type has {} scales but axis {axis} of {shape:?} does not match",
                    scales.len()
                ))
            }
        }
    }
    match m.attr(op, "value") {
        Some(Attribute::DenseResource { ty: t, .. }) if t.shape() == ty.shape() => Ok(()),
        Some(Attribute::Dense(d)) if d.ty.shape() == ty.shape() => Ok(()),
        Some(a) => Err(format!(
            "attribute 'value' does not match the result shape: {a}"
        )),
        None => Err("requires attribute 'value' (dense or dense_resource integer codes)".into()),
    }
}

/// x, kernel, bias? with the bias at the accumulator scale S_x·S_w per output channel.
/// `q.conv2d`: a weighted op, plus the optional `ew_add` operand and its rescale.
fn v_conv(m: &Module, op: OpId) -> Result<()> {
    let n = m.op(op).operands().len();
    if n < 4 {
        if m.attr(op, "add_multiplier").is_some() || m.attr(op, "add_shift").is_some() {
            return Err("'add_multiplier'/'add_shift' need the 'ew_add' operand".into());
        }
        return v_weighted(m, op);
    }
    let t = operands(m, op, 4, 4, "input, kernel, bias and ew_add")?;
    uniform(t[3], "ew_add")?;
    same_shape(t[3], result(m, op), "ew_add and result")?;
    let cout = *t[1].shape().unwrap_or(&[]).last().unwrap_or(&0) as usize;
    rescale_pair(m, op, ["add_multiplier", "add_shift"], cout, cout)?;
    weighted(m, op, &t[..3])
}

fn v_weighted(m: &Module, op: OpId) -> Result<()> {
    let t = operands(m, op, 2, 3, "input, kernel and optional bias")?;
    weighted(m, op, &t)
}

/// The checks of a weighted op on its input, kernel and optional bias types `t`.
fn weighted(m: &Module, op: OpId, t: &[Type]) -> Result<()> {
    let x = uniform(t[0], "input")?;
    let w = quant_of(t[1], "kernel")?;
    if !w.storage().signed() {
        return Err(format!(
            "kernel must have signed storage, got '{}'",
            t[1].element()
        ));
    }
    let out = uniform(result(m, op), "result")?;
    let kshape = t[1].shape().unwrap_or(&[]);
    let cout = *kshape.last().unwrap_or(&0) as usize;
    if let QuantType::PerAxis { axis, scales, .. } = &w {
        if *axis + 1 != kshape.len() || scales.len() != cout {
            return Err(format!(
                "kernel scales must run along its last axis ({} output channels), got axis {axis} with {} scales",
                cout,
                scales.len()
            ));
        }
    }
    if let Some(&bt) = t.get(2) {
        let b = quant_of(bt, "bias")?;
        if b.storage() != Storage::I32 || bt.shape() != Some(&[cout as i64][..]) {
            return Err(format!(
                "bias must be tensor<{cout}x!q.per_axis<i32:f32, ...>>, got '{bt}'"
            ));
        }
        let shifts = match m.attr(op, "bias_shift") {
            Some(_) => i64_list(m, op, "bias_shift")?,
            None => vec![0; cout],
        };
        if shifts.len() != cout {
            return Err(format!(
                "attribute 'bias_shift' must have {cout} value(s), got {}",
                shifts.len()
            ));
        }
        for (c, &e) in shifts.iter().enumerate() {
            if !(0..=i64::from(crate::scheme::MAX_BIAS_SHIFT)).contains(&e) {
                return Err(format!(
                    "'bias_shift' of channel {c} is {e}, outside 0..={}",
                    crate::scheme::MAX_BIAS_SHIFT
                ));
            }
            let acc = x.scale_at(0) * w.scale_at(c) * (1u64 << e) as f64;
            if (b.scale_at(c) - acc).abs() > acc * 1e-9 {
                return Err(format!(
                    "bias scale of channel {c} is {} but the accumulator scale S_x·S_w·2^bias_shift is {acc}",
                    b.scale_at(c)
                ));
            }
        }
    } else if m.attr(op, "bias_shift").is_some() {
        return Err("'bias_shift' needs the bias operand".into());
    }
    check_rescale(m, op, cout)?;
    check_clamp(m, op, &out)
}

fn v_binary(m: &Module, op: OpId) -> Result<()> {
    let t = operands(m, op, 2, 2, "two quantized operands")?;
    uniform(t[0], "lhs")?;
    uniform(t[1], "rhs")?;
    let out = uniform(result(m, op), "result")?;
    check_rescale(m, op, 2)?;
    if i64_list(m, op, "shift")?.len() != 1 {
        return Err("attribute 'shift' must have one value shared by both inputs".into());
    }
    check_clamp(m, op, &out)
}

/// `q.ew_mult` / `q.ew_div`: two operands, one rescale of the product / quotient.
fn v_product(m: &Module, op: OpId) -> Result<()> {
    let t = operands(m, op, 2, 2, "two quantized operands")?;
    uniform(t[0], "lhs")?;
    uniform(t[1], "rhs")?;
    let out = uniform(result(m, op), "result")?;
    check_rescale(m, op, 1)?;
    check_clamp(m, op, &out)
}

/// `starts`, `ends`, `steps` with one entry per non-batch axis (axis 0 kept whole, any
/// number of samples) or one per axis (the slice cuts the model's own axis 0), with
/// `0 <= start <= end <= dim` and positive steps (the lowering normalizes negative and
/// out-of-range bounds).
fn v_slice(m: &Module, op: OpId) -> Result<()> {
    v_same_type(m, op)?;
    let shape = m
        .value_type(m.op(op).operands()[0])
        .shape()
        .unwrap_or(&[])
        .to_vec();
    let (starts, ends, steps) = (
        i64_list(m, op, "starts")?,
        i64_list(m, op, "ends")?,
        i64_list(m, op, "steps")?,
    );
    let n = starts.len();
    let first = shape.len().checked_sub(n).filter(|&f| f <= 1);
    let Some(first) = first.filter(|_| ends.len() == n && steps.len() == n) else {
        return Err(format!(
            "'starts', 'ends' and 'steps' need one entry per non-batch axis ({}) or per axis ({})",
            shape.len().saturating_sub(1),
            shape.len()
        ));
    };
    for (i, &d) in shape.iter().skip(first).enumerate() {
        if !(0 <= starts[i] && starts[i] <= ends[i] && ends[i] <= d && steps[i] > 0) {
            return Err(format!(
                "axis {}: slice [{}:{}:{}] does not fit size {d}",
                i + first,
                starts[i],
                ends[i],
                steps[i]
            ));
        }
    }
    Ok(())
}

fn v_resize(m: &Module, op: OpId) -> Result<()> {
    v_same_type(m, op)?;
    match m.attr(op, "mode").and_then(Attribute::as_str) {
        None | Some("nearest") => Ok(()),
        Some("bilinear") => match m.attr(op, "frac_bits").and_then(Attribute::as_i64) {
            Some(1..=20) => Ok(()),
            _ => Err("bilinear resize requires 'frac_bits' in 1..=20".into()),
        },
        Some(other) => Err(format!(
            "unknown mode '{other}' (expected nearest or bilinear)"
        )),
    }
}

fn v_same_type(m: &Module, op: OpId) -> Result<()> {
    let t = operands(m, op, 1, usize::MAX, "one or more quantized operands")?;
    let out = uniform(result(m, op), "result")?;
    for (i, &ty) in t.iter().enumerate() {
        let q = uniform(ty, &format!("operand {i}"))?;
        if q != out {
            return Err(format!(
                "operand {i} has type '{}' but the result has '{}': this op moves codes, so they must match (requantize first)",
                ty.element(),
                result(m, op).element()
            ));
        }
    }
    Ok(())
}

fn v_avg(m: &Module, op: OpId) -> Result<()> {
    let t = operands(m, op, 1, 1, "one quantized operand")?;
    uniform(t[0], "operand")?;
    let out = uniform(result(m, op), "result")?;
    check_rescale(m, op, 1)?;
    check_clamp(m, op, &out)
}

fn v_lut(m: &Module, op: OpId) -> Result<()> {
    let t = operands(m, op, 1, 1, "one quantized operand")?;
    let x = uniform(t[0], "operand")?;
    let out = uniform(result(m, op), "result")?;
    same_shape(t[0], result(m, op), "operand and result")?;
    let table = i64_list(m, op, "table")?;
    let n = 1usize << x.storage().bits();
    if table.len() != n {
        return Err(format!(
            "attribute 'table' must have {n} entries (one per {} input code), got {}",
            x.storage().name(),
            table.len()
        ));
    }
    let st = out.storage();
    if let Some(v) = table.iter().find(|&&v| v < st.qmin() || v > st.qmax()) {
        return Err(format!(
            "table entry {v} is outside the result's {} range",
            st.name()
        ));
    }
    Ok(())
}

fn shape_of(ty: Type) -> Vec<i64> {
    ty.shape().unwrap_or(&[]).to_vec()
}

/// `perm` is a permutation of the operand's axes and the result shape follows it.
fn v_transpose(m: &Module, op: OpId) -> Result<()> {
    v_same_type(m, op)?;
    let x = shape_of(m.value_type(m.op(op).operands()[0]));
    let perm = i64_list(m, op, "perm")?;
    let mut seen = vec![false; x.len()];
    let valid = perm.len() == x.len()
        && perm.iter().all(|&p| {
            usize::try_from(p)
                .ok()
                .filter(|&p| p < x.len())
                .is_some_and(|p| !std::mem::replace(&mut seen[p], true))
        });
    if !valid {
        return Err(format!(
            "attribute 'perm' {perm:?} is not a permutation of the {} axes",
            x.len()
        ));
    }
    let want: Vec<i64> = perm.iter().map(|&p| x[p as usize]).collect();
    let got = shape_of(result(m, op));
    if got != want {
        return Err(format!(
            "result shape {got:?} is not the operand's {x:?} permuted by {perm:?} ({want:?})"
        ));
    }
    Ok(())
}

/// `pads` = one non-negative `before` per axis then one `after` per axis; a known `mode`; a
/// constant `value` inside the storage range; the result shape is the padded shape.
fn v_pad(m: &Module, op: OpId) -> Result<()> {
    v_same_type(m, op)?;
    let out = uniform(result(m, op), "result")?;
    let x = shape_of(m.value_type(m.op(op).operands()[0]));
    let pads = i64_list(m, op, "pads")?;
    let r = x.len();
    if pads.len() != 2 * r || pads.iter().any(|&p| p < 0) {
        return Err(format!(
            "attribute 'pads' must hold {} non-negative values (befores, then afters), got {pads:?}",
            2 * r
        ));
    }
    let mode = m
        .attr(op, "mode")
        .and_then(Attribute::as_str)
        .unwrap_or("constant");
    if !PAD_MODES.contains(&mode) {
        return Err(format!(
            "unknown mode '{mode}' (expected one of {})",
            PAD_MODES.join(", ")
        ));
    }
    if mode == "constant" {
        let st = out.storage();
        match m.attr(op, "value").and_then(Attribute::as_i64) {
            Some(v) if st.qmin() <= v && v <= st.qmax() => {}
            v => {
                return Err(format!(
                    "constant pad needs 'value' as a code in [{}, {}], got {}",
                    st.qmin(),
                    st.qmax(),
                    v.map_or("none".to_owned(), |v| v.to_string())
                ))
            }
        }
    }
    let want: Vec<i64> = (0..r).map(|a| x[a] + pads[a] + pads[a + r]).collect();
    let got = shape_of(result(m, op));
    if got != want {
        return Err(format!(
            "result shape {got:?} is not the padded shape {want:?}"
        ));
    }
    Ok(())
}

/// Both operands activations of rank >= 2 whose inner dimensions agree; the result shape is
/// their numpy product.
fn v_matmul(m: &Module, op: OpId) -> Result<()> {
    let t = operands(m, op, 2, 2, "two quantized operands")?;
    uniform(t[0], "a")?;
    uniform(t[1], "b")?;
    let out = uniform(result(m, op), "result")?;
    check_rescale(m, op, 1)?;
    check_clamp(m, op, &out)?;
    let (a, mut b) = (shape_of(t[0]), shape_of(t[1]));
    if a.len() < 2 || b.len() < 2 {
        return Err(format!("operands must have rank >= 2, got {a:?} and {b:?}"));
    }
    let tb = m
        .attr(op, "transpose_b")
        .and_then(Attribute::as_bool)
        .unwrap_or(false);
    let r = b.len();
    if tb {
        b.swap(r - 2, r - 1);
    }
    if a[a.len() - 1] != b[r - 2] {
        return Err(format!(
            "inner dimensions differ: {a:?} · {b:?}{}",
            if tb { " (b transposed)" } else { "" }
        ));
    }
    let got = shape_of(result(m, op));
    let (ra, rr) = (a.len(), got.len());
    if rr < 2 || got[rr - 2] != a[ra - 2] || got[rr - 1] != b[r - 1] {
        return Err(format!(
            "result shape {got:?} does not end with [{}, {}]",
            a[ra - 2],
            b[r - 1]
        ));
    }
    Ok(())
}

/// One exp-table entry per input code, in [0, 2^16), the first (d = 0) positive.
fn v_softmax(m: &Module, op: OpId) -> Result<()> {
    v_exp_table(m, op, 1)
}

/// As `q.softmax`, with `multiplier = [ma, mb]` and one shared shift.
fn v_log_softmax(m: &Module, op: OpId) -> Result<()> {
    v_exp_table(m, op, 2)?;
    if i64_list(m, op, "shift")?.len() != 1 {
        return Err("attribute 'shift' must have one value shared by both terms".into());
    }
    Ok(())
}

/// An op reading a softmax exp table, with `multipliers` multipliers.
fn v_exp_table(m: &Module, op: OpId, multipliers: usize) -> Result<()> {
    let t = operands(m, op, 1, 1, "one quantized operand")?;
    let x = uniform(t[0], "operand")?;
    let out = uniform(result(m, op), "result")?;
    same_shape(t[0], result(m, op), "operand and result")?;
    check_rescale(m, op, multipliers)?;
    check_clamp(m, op, &out)?;
    let table = i64_list(m, op, "table")?;
    let n = 1usize << x.storage().bits();
    if table.len() != n {
        return Err(format!(
            "attribute 'table' must have {n} entries (one per code difference), got {}",
            table.len()
        ));
    }
    if let Some(v) = table.iter().find(|&&v| !(0..1 << 16).contains(&v)) {
        return Err(format!(
            "table entry {v} is outside the 16-bit range [0, 65535]"
        ));
    }
    if table[0] <= 0 {
        return Err("table entry 0 (exp(0)) must be positive".into());
    }
    Ok(())
}

/// The axes of `input` an op reduces: distinct, in range, sorted.
fn reduced_axes(m: &Module, op: OpId, rank: usize) -> Result<Vec<usize>> {
    let axes = i64_list(m, op, "axes")?;
    let mut out: Vec<usize> = Vec::with_capacity(axes.len());
    for &a in &axes {
        match usize::try_from(a).ok().filter(|&a| a < rank) {
            Some(a) if !out.contains(&a) => out.push(a),
            _ => {
                return Err(format!(
                    "attribute 'axes' {axes:?} must hold distinct axes in [0, {rank})"
                ))
            }
        }
    }
    if out.is_empty() {
        return Err("attribute 'axes' must not be empty".into());
    }
    out.sort_unstable();
    Ok(out)
}

/// gamma: i16 per channel of the last axis; beta: i32 at gamma's scale · 2^-15; one
/// multiplier per channel; a non-negative `epsilon`.
fn v_layer_norm(m: &Module, op: OpId) -> Result<()> {
    let t = operands(m, op, 3, 3, "input, gamma and beta")?;
    uniform(t[0], "input")?;
    let out = uniform(result(m, op), "result")?;
    same_shape(t[0], result(m, op), "input and result")?;
    let x = shape_of(t[0]);
    reduced_axes(m, op, x.len())?;
    let c = *x.last().ok_or("input must not be rank 0")?;
    let (g, b) = (quant_of(t[1], "gamma")?, quant_of(t[2], "beta")?);
    if g.storage() != Storage::I16 || shape_of(t[1]) != [c] {
        return Err(format!(
            "gamma must be tensor<{c}x!q.per_axis<i16:f32, ...>>, got '{}'",
            t[1]
        ));
    }
    if b.storage() != Storage::I32 || shape_of(t[2]) != [c] {
        return Err(format!(
            "beta must be tensor<{c}x!q.per_axis<i32:f32, ...>>, got '{}'",
            t[2]
        ));
    }
    for ch in 0..c as usize {
        let acc = g.scale_at(ch) / f64::from(1u32 << FRAC_BITS_16);
        if (b.scale_at(ch) - acc).abs() > acc * 1e-9 {
            return Err(format!(
                "beta scale of channel {ch} is {} but gamma's scale · 2^-15 is {acc}",
                b.scale_at(ch)
            ));
        }
    }
    match m.attr(op, "epsilon").and_then(Attribute::as_i64) {
        Some(e) if e >= 0 => {}
        _ => return Err("requires a non-negative integer 'epsilon' (ε in code units)".into()),
    }
    check_rescale(m, op, c as usize)?;
    check_clamp(m, op, &out)
}

/// A known `kind`, valid `axes`, and the result shape of the reduction.
fn v_reduce(m: &Module, op: OpId) -> Result<()> {
    let t = operands(m, op, 1, 1, "one quantized operand")?;
    uniform(t[0], "operand")?;
    let out = uniform(result(m, op), "result")?;
    check_rescale(m, op, 1)?;
    check_clamp(m, op, &out)?;
    let kind = m.attr(op, "kind").and_then(Attribute::as_str).unwrap_or("");
    if !REDUCE_KINDS.contains(&kind) {
        return Err(format!(
            "attribute 'kind' must be one of {}, got '{kind}'",
            REDUCE_KINDS.join(", ")
        ));
    }
    let x = shape_of(t[0]);
    let axes = reduced_axes(m, op, x.len())?;
    let keep = m
        .attr(op, "keepdims")
        .and_then(Attribute::as_bool)
        .unwrap_or(false);
    let want: Vec<i64> = x
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| match (axes.contains(&i), keep) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect();
    let got = shape_of(result(m, op));
    if got != want {
        return Err(format!(
            "result shape {got:?} is not the reduced shape {want:?}"
        ));
    }
    Ok(())
}

fn v_prelu(m: &Module, op: OpId) -> Result<()> {
    let t = operands(m, op, 1, 1, "one quantized operand")?;
    uniform(t[0], "operand")?;
    let out = uniform(result(m, op), "result")?;
    same_shape(t[0], result(m, op), "operand and result")?;
    check_rescale(m, op, 1)?;
    check_clamp(m, op, &out)?;
    let x = shape_of(t[0]);
    let c = *x.last().unwrap_or(&1) as usize;
    let sample: i64 = x.iter().skip(1).product();
    let whole: i64 = x.iter().product();
    let slopes = i64_list(m, op, "slope_multiplier")?;
    let n = slopes.len() as i64;
    if n != c as i64 && n != 1 && n != sample && n != whole {
        return Err(format!(
            "attribute 'slope_multiplier' must have 1, {c} (one per channel), {sample} (one per element of a sample) or {whole} (one per element) value(s), got {n}"
        ));
    }
    if let Some(x) = slopes.iter().find(|x| x.unsigned_abs() >= 1 << 31) {
        return Err(format!("slope multiplier {x} is outside (-2^31, 2^31)"));
    }
    Ok(())
}

fn v_argmax(m: &Module, op: OpId) -> Result<()> {
    let t = operands(m, op, 1, 1, "one quantized operand")?;
    uniform(t[0], "operand")?;
    let out = uniform(result(m, op), "result")?;
    if out.scale_at(0) != 1.0 || out.zero_point() != 0 {
        return Err(format!(
            "result must hold the index itself (scale 1, zero point 0), got '{}'",
            result(m, op).element()
        ));
    }
    let x = shape_of(t[0]);
    let axis = m.attr(op, "axis").and_then(Attribute::as_i64).unwrap_or(-1);
    let a = usize::try_from(axis)
        .ok()
        .filter(|&a| a < x.len())
        .ok_or_else(|| format!("attribute 'axis' {axis} is outside [0, {})", x.len()))?;
    if x[a] - 1 > out.storage().qmax() {
        return Err(format!(
            "index up to {} does not fit the result storage '{}'",
            x[a] - 1,
            out.storage().name()
        ));
    }
    let keep = m
        .attr(op, "keepdims")
        .and_then(Attribute::as_bool)
        .unwrap_or(false);
    let mut want = x.clone();
    if keep {
        want[a] = 1;
    } else {
        want.remove(a);
    }
    let got = shape_of(result(m, op));
    if got != want {
        return Err(format!(
            "result shape {got:?} is not the reduced shape {want:?}"
        ));
    }
    Ok(())
}

fn v_one_hot(m: &Module, op: OpId) -> Result<()> {
    let t = operands(m, op, 1, 1, "one quantized operand")?;
    let x = uniform(t[0], "operand")?;
    let out = uniform(result(m, op), "result")?;
    let mut want = shape_of(t[0]);
    let got = shape_of(result(m, op));
    let depth = *got.last().unwrap_or(&0);
    want.push(depth);
    if got != want || depth < 1 {
        return Err(format!(
            "result shape {got:?} must be the operand's with a last axis of the depth"
        ));
    }
    let table = i64_list(m, op, "table")?;
    let codes = x.storage().qmax() - x.storage().qmin() + 1;
    if table.len() as i64 != codes {
        return Err(format!(
            "attribute 'table' must have one class per input code ({codes}), got {}",
            table.len()
        ));
    }
    if let Some(c) = table.iter().find(|&&c| c < -1 || c >= depth) {
        return Err(format!("class {c} in 'table' is outside [-1, {depth})"));
    }
    let st = out.storage();
    for k in ["on", "off"] {
        let v = m.attr(op, k).and_then(Attribute::as_i64).unwrap_or(0);
        if !(st.qmin()..=st.qmax()).contains(&v) {
            return Err(format!("'{k}' code {v} is outside the result storage"));
        }
    }
    Ok(())
}
