//! Weighted layers: `hl.conv2d`, `hl.depthwise_conv2d`, `hl.deconv2d`
//! (NHWC input, HWIO kernel `[kh, kw, cin/groups, cout]`, optional `[cout]`
//! bias), `hl.dense` and `hl.matmul`.
//!
//! `hl.conv2d` may take a fourth operand `ew_add`: a tensor of the output's shape added to the
//! convolution's result before the fused activation. This is Hailo's "convolution & add" kernel
//! (guide Table 10, HN `ew_add_enabled`): a residual add performed by the conv that produces one
//! of its operands, so it is no layer of its own (`hl-fuse-conv-add` creates it).
//!
//! [`ConvParams::of`] resolves strides, dilations, groups and the padding to
//! concrete pads, so the interpreter computes exactly what was verified.

use super::activation::Activation;
use super::check_layer;
use super::window::{explicit_pads, padding, window_out_2d};
use crate::access::{same_elem, OpView, Result};
use crate::shape::{broadcast, deconv_out, dilated, Padding};
use hailo_ir::{define_op, Module, OpDef, OpId, Type};

define_op! {
    /// 2-D convolution, NHWC input, HWIO kernel, optional bias, optional fused elementwise add.
    pub struct Conv2d = "hl.conv2d" {
        summary: "2-D convolution (NHWC, HWIO)", traits: [PURE],
        operands { input: 0, kernel: 1, bias: 2, ew_add: 3 }
        attrs { strides: i64_array, dilations: i64_array, groups: i64, padding: str, pads: i64_array, activation: str, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS, super::ACTIVATION_PARAMS]
        interfaces { crate::interfaces::Weights => crate::interfaces::HWIO, crate::interfaces::FusedActivation => crate::interfaces::ActivationAttr, crate::interfaces::HnExport => crate::hn::HnLayer::new("conv", crate::hn::KERNEL_BIAS, crate::hn::CONV) }
        hooks { verify: verify_conv, infer: infer_conv }
    }
}

define_op! {
    /// Depthwise convolution, kernel `[kh, kw, 1, cin * multiplier]`.
    pub struct DepthwiseConv2d = "hl.depthwise_conv2d" {
        summary: "Depthwise 2-D convolution", traits: [PURE],
        operands { input: 0, kernel: 1, bias: 2 }
        attrs { strides: i64_array, dilations: i64_array, padding: str, pads: i64_array, activation: str, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS, super::ACTIVATION_PARAMS]
        interfaces { crate::interfaces::Weights => crate::interfaces::HWIO, crate::interfaces::FusedActivation => crate::interfaces::ActivationAttr, crate::interfaces::HnExport => crate::hn::HnLayer::new("dw", crate::hn::KERNEL_BIAS, crate::hn::CONV) }
        hooks { verify: verify_weighted, infer: infer_conv }
    }
}

define_op! {
    /// Transposed convolution (ONNX ConvTranspose), kernel `[kh, kw, cin/groups, cout]`.
    pub struct Deconv2d = "hl.deconv2d" {
        summary: "Transposed 2-D convolution", traits: [PURE],
        operands { input: 0, kernel: 1, bias: 2 }
        attrs { strides: i64_array, dilations: i64_array, groups: i64, pads: i64_array, output_padding: i64_array, activation: str, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS, super::ACTIVATION_PARAMS]
        interfaces { crate::interfaces::Weights => crate::interfaces::HWIO, crate::interfaces::FusedActivation => crate::interfaces::ActivationAttr, crate::interfaces::HnExport => crate::hn::HnLayer::new("deconv", crate::hn::KERNEL_BIAS, crate::hn::DECONV) }
        hooks { verify: verify_weighted, infer: infer_conv }
    }
}

define_op! {
    /// Fully connected layer: `[N, Cin] x [Cin, Cout] (+ [Cout])`.
    pub struct Dense = "hl.dense" {
        summary: "Fully connected layer", traits: [PURE],
        operands { input: 0, kernel: 1, bias: 2 }
        attrs { activation: str, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS, super::ACTIVATION_PARAMS]
        interfaces { crate::interfaces::Weights => crate::interfaces::DENSE, crate::interfaces::FusedActivation => crate::interfaces::ActivationAttr, crate::interfaces::HnExport => crate::hn::HnLayer::new("dense", crate::hn::KERNEL_BIAS, crate::hn::ACT) }
        hooks { verify: verify_weighted, infer: infer_dense }
    }
}

define_op! {
    /// Matrix product of two data tensors, batched over leading dims.
    pub struct MatMul = "hl.matmul" {
        summary: "Batched matrix product", traits: [PURE],
        operands { a: 0, b: 1 }
        attrs { transpose_b: bool, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::HnExport => crate::hn::HnLayer::new("matmul", &[], &[("transpose_b", crate::hn::HnParam::Same)]) }
        hooks { verify: verify_matmul, infer: infer_matmul }
    }
}

/// The resolved parameters of a convolution-like op.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvParams {
    pub strides: [i64; 2],
    pub dilations: [i64; 2],
    /// Channel groups (the input channel count for depthwise).
    pub groups: i64,
    pub padding: Padding,
    /// Concrete `[top, left, bottom, right]` pads.
    pub pads: [i64; 4],
    /// Deconv only: extra rows/columns at the end of the output.
    pub output_padding: [i64; 2],
    pub activation: Activation,
    /// The inferred NHWC output shape.
    pub output: [i64; 4],
}

const CONV_OPERANDS: &str = "input, kernel and optional bias";
const CONV_ADD_OPERANDS: &str = "input, kernel, optional bias and optional elementwise-add input";

impl ConvParams {
    /// Reads and checks the parameters of a conv2d, depthwise_conv2d or deconv2d op.
    pub fn of(m: &Module, op: OpId) -> Result<ConvParams> {
        let v = OpView::new(m, op);
        let name = m.op(op).name_str();
        if name == Conv2d::NAME {
            v.expect_operands(2, 4, CONV_ADD_OPERANDS)?;
        } else {
            v.expect_operands(2, 3, CONV_OPERANDS)?;
        }
        let x = v.shape_rank(0, "input", 4)?;
        let k = v.shape_rank(1, "kernel", 4)?;
        let groups = if name == DepthwiseConv2d::NAME {
            if v.attr("groups").is_some() {
                return Err(
                    "takes no 'groups': a depthwise convolution has one group per input channel"
                        .into(),
                );
            }
            if k[2] != 1 || k[3] % x[3] != 0 {
                return Err(format!(
                    "depthwise kernel must be [kh, kw, 1, cin * multiplier] with cin = {}, got {k:?}",
                    x[3]
                ));
            }
            x[3]
        } else {
            let g = v.opt_i64("groups")?.unwrap_or(1);
            if g < 1 {
                return Err(format!("attribute 'groups' must be >= 1, got {g}"));
            }
            if k[2].checked_mul(g) != Some(x[3]) {
                return Err(format!(
                    "kernel input channels ({}) × groups ({g}) must equal input channels ({})",
                    k[2], x[3]
                ));
            }
            if k[3] % g != 0 {
                return Err(format!(
                    "output channels ({}) must be divisible by groups ({g})",
                    k[3]
                ));
            }
            g
        };
        if v.num_operands() >= 3 {
            let b = v.shape(2, "bias")?;
            if b != [k[3]] {
                return Err(format!("bias must have shape [{}], got {b:?}", k[3]));
            }
        }
        let strides = v.positive_pair("strides")?;
        let dilations = v.positive_pair("dilations")?;
        let ext = [dilated(k[0], dilations[0]), dilated(k[1], dilations[1])];
        let activation = Activation::fused(m, op)?;
        let base = ConvParams {
            strides,
            dilations,
            groups,
            padding: Padding::Valid,
            pads: [0; 4],
            output_padding: [0, 0],
            activation,
            output: [x[0], 0, 0, k[3]],
        };
        if name == Deconv2d::NAME {
            return deconv(&v, &x, ext, base);
        }
        let padding = padding(&v)?;
        let pads = padding.pads_2d([x[1], x[2]], ext, strides);
        let [oh, ow] = window_out_2d([x[1], x[2]], ext, strides, pads, false)?;
        let output = [x[0], oh, ow, k[3]];
        if v.num_operands() == 4 {
            let added = v.shape(3, "ew_add")?;
            if added != output {
                return Err(format!(
                    "the elementwise-add input must have the output's shape {output:?}, got {added:?}"
                ));
            }
        }
        Ok(ConvParams {
            padding,
            pads,
            output,
            ..base
        })
    }
}

/// Deconv sizes: ONNX ConvTranspose with explicit pads and output padding.
fn deconv(v: &OpView<'_>, x: &[i64], ext: [i64; 2], base: ConvParams) -> Result<ConvParams> {
    if v.attr("padding").is_some() {
        return Err("takes explicit 'pads' (ONNX ConvTranspose meaning), not 'padding'".into());
    }
    let pads = match v.opt_i64s("pads")? {
        Some(p) => explicit_pads("pads", &p)?,
        None => [0; 4],
    };
    let output_padding = match v.opt_i64s("output_padding")? {
        None => [0, 0],
        Some(p) if p.len() == 2 && p.iter().all(|&x| x >= 0) => [p[0], p[1]],
        Some(p) => {
            return Err(format!(
                "attribute 'output_padding' must be two non-negative integers, got {p:?}"
            ))
        }
    };
    for (a, &op) in output_padding.iter().enumerate() {
        let (s, d) = (base.strides[a], base.dilations[a]);
        if op >= s.max(d) {
            return Err(format!(
                "output_padding {op} must be smaller than the stride ({s}) or the dilation ({d})"
            ));
        }
    }
    let out = |a: usize| {
        deconv_out(
            x[a + 1],
            ext[a],
            base.strides[a],
            (pads[a], pads[a + 2]),
            output_padding[a],
        )
    };
    let (oh, ow) = (out(0), out(1));
    if oh < 1 || ow < 1 {
        return Err(format!("pads {pads:?} leave an empty {oh}x{ow} output"));
    }
    let output = [x[0], oh, ow, base.output[3]];
    Ok(ConvParams {
        padding: Padding::Explicit(pads),
        pads,
        output_padding,
        output,
        ..base
    })
}

fn verify_conv(m: &Module, op: OpId) -> Result<()> {
    check_layer(m, op, (2, 4), CONV_ADD_OPERANDS, true).map(|_| ())
}

fn verify_weighted(m: &Module, op: OpId) -> Result<()> {
    check_layer(m, op, (2, 3), CONV_OPERANDS, true).map(|_| ())
}

fn infer_conv(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let p = ConvParams::of(m, op)?;
    same_elem(&OpView::new(m, op), &p.output)
}

fn infer_dense(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let x = v.shape_rank(0, "input", 2)?;
    let k = v.shape_rank(1, "kernel", 2)?;
    if k[0] != x[1] {
        return Err(format!(
            "kernel rows ({}) must equal input features ({})",
            k[0], x[1]
        ));
    }
    if v.num_operands() == 3 && v.shape(2, "bias")? != [k[1]] {
        return Err(format!(
            "bias must have shape [{}], got {:?}",
            k[1],
            v.shape(2, "bias")?
        ));
    }
    same_elem(&v, &[x[0], k[1]])
}

fn verify_matmul(m: &Module, op: OpId) -> Result<()> {
    let v = check_layer(m, op, (2, 2), "two operands a and b", false)?;
    v.opt_bool("transpose_b").map(|_| ())
}

fn infer_matmul(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let (a, b) = (v.shape(0, "a")?, v.shape(1, "b")?);
    if a.len() < 2 || b.len() < 2 {
        return Err(format!("operands must have rank >= 2, got {a:?} and {b:?}"));
    }
    let (ra, rb) = (a.len(), b.len());
    let transpose_b = v.opt_bool("transpose_b")?.unwrap_or(false);
    let (k_b, n) = if transpose_b {
        (b[rb - 1], b[rb - 2])
    } else {
        (b[rb - 2], b[rb - 1])
    };
    if a[ra - 1] != k_b {
        return Err(format!(
            "contracted dimensions differ: a {a:?} has {} columns, b {b:?} (transpose_b = {transpose_b}) has {k_b} rows",
            a[ra - 1]
        ));
    }
    let mut out = broadcast(&a[..ra - 2], &b[..rb - 2])?;
    out.extend([a[ra - 2], n]);
    same_elem(&v, &out)
}

pub fn defs() -> Vec<OpDef> {
    vec![
        Conv2d::def(),
        DepthwiseConv2d::def(),
        Deconv2d::def(),
        Dense::def(),
        MatMul::def(),
    ]
}
