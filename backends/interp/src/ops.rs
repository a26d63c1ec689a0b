//! The `hl` op set as the interpreter sees it: one [`OpKind`] per op with its parameters
//! decoded from attributes and operand types once, when the plan is built.

use crate::attrs::OpReader;
use crate::consts::static_shape;
use crate::error::InterpError;
use crate::kernels::activation::Activation;
use crate::kernels::conv::Conv2dParams;
use crate::kernels::deconv::ConvTranspose2dParams;
use crate::kernels::elementwise::BinaryOp;
use crate::kernels::layout::DepthToSpaceMode;
use crate::kernels::pool::Pool2dParams;
use crate::kernels::reduce::ReduceOp;
use crate::kernels::resize::{CoordinateMode, Interpolation, NearestMode, ResizeParams};
use crate::kernels::shape::{PadMode, SliceSpec};
use hailo_dialect_hl as hl;
use hailo_ir::Type;

/// A decoded op. Operand order is the op's (see docs/hl-dialect.md).
#[derive(Debug, Clone)]
pub(crate) enum OpKind {
    /// `hl.input_layer` / `hl.output_layer`: passes its operand through.
    Identity,
    /// `hl.conv2d` and `hl.depthwise_conv2d` (x, kernel, bias?).
    Conv {
        params: Conv2dParams,
        act: Activation,
    },
    Deconv {
        params: ConvTranspose2dParams,
        act: Activation,
    },
    Dense {
        act: Activation,
    },
    Matmul {
        transpose_b: bool,
    },
    Pool {
        max: bool,
        params: Pool2dParams,
    },
    GlobalPool {
        max: bool,
    },
    /// (x, mean, var, gamma, beta).
    BatchNorm {
        eps: f32,
        act: Activation,
    },
    Activation(Activation),
    Prelu,
    Binary {
        op: BinaryOp,
        act: Activation,
    },
    Concat {
        axis: usize,
    },
    Split {
        axis: usize,
        sizes: Vec<usize>,
    },
    Slice {
        specs: Vec<SliceSpec>,
    },
    /// Target shape of one batch of the graph's own batch size (dimension 0 scales).
    Reshape {
        shape: Vec<usize>,
    },
    Transpose {
        perm: Vec<usize>,
    },
    Resize {
        params: ResizeParams,
    },
    DepthToSpace {
        block: usize,
        mode: DepthToSpaceMode,
    },
    SpaceToDepth {
        block: usize,
        focus: bool,
    },
    FeatureShuffle {
        groups: usize,
    },
    Softmax {
        axis: usize,
        log: bool,
    },
    Argmax {
        axis: usize,
        keepdims: bool,
    },
    Reduce {
        op: ReduceOp,
        axes: Vec<usize>,
        keepdims: bool,
    },
    /// `(x - mean) / std` per channel, stored as `x · scale + shift`.
    Normalization {
        scale: Vec<f32>,
        shift: Vec<f32>,
    },
    Pad {
        pads: Vec<(usize, usize)>,
        mode: PadMode,
    },
    OneHot {
        depth: usize,
        on: f32,
        off: f32,
    },
    /// (x, gamma?, beta?) normalised over the trailing axes from `axis`.
    LayerNorm {
        axis: usize,
        eps: f32,
    },
    InstanceNorm {
        eps: f32,
    },
    L2Norm {
        axis: usize,
        eps: f32,
    },
    /// `hl.color_conversion`: `y = x · kernel + bias` per pixel.
    ColorConversion {
        kernel: [f32; 9],
        bias: [f32; 3],
    },
    /// `hl.format_conversion`; `emulate = false` passes the (already converted) input through.
    FormatConversion {
        kind: crate::kernels::color::FormatConversion,
        emulate: bool,
    },
    /// `hl.nms`: bbox decoding, then score threshold and IoU suppression unless decoding only.
    Nms {
        params: Box<crate::kernels::nms::NmsParams>,
        decoding_only: bool,
    },
    /// `hl.nms` with `meta_arch = "yolov5_seg"`: instances with masks; the last input is the
    /// prototype masks.
    Yolov5Seg {
        params: Box<crate::kernels::postprocess_yolov5_seg::SegParams>,
    },
}

/// Every op name the interpreter evaluates (besides `hl.const`).
pub const SUPPORTED_OPS: &[&str] = &[
    hl::InputLayer::NAME,
    hl::OutputLayer::NAME,
    hl::Conv2d::NAME,
    hl::DepthwiseConv2d::NAME,
    hl::Deconv2d::NAME,
    hl::Dense::NAME,
    hl::MatMul::NAME,
    hl::MaxPool::NAME,
    hl::AvgPool::NAME,
    hl::GlobalAvgPool::NAME,
    hl::GlobalMaxPool::NAME,
    hl::BatchNorm::NAME,
    hl::ActivationOp::NAME,
    hl::Prelu::NAME,
    hl::EwAdd::NAME,
    hl::EwSub::NAME,
    hl::EwMult::NAME,
    hl::EwDiv::NAME,
    hl::EwMax::NAME,
    hl::EwMin::NAME,
    hl::EwPow::NAME,
    hl::Concat::NAME,
    hl::Split::NAME,
    hl::Slice::NAME,
    hl::Reshape::NAME,
    hl::Transpose::NAME,
    hl::Resize::NAME,
    hl::DepthToSpace::NAME,
    hl::SpaceToDepth::NAME,
    hl::FeatureShuffle::NAME,
    hl::Softmax::NAME,
    hl::LogSoftmax::NAME,
    hl::ArgMax::NAME,
    hl::Reduce::NAME,
    hl::Normalization::NAME,
    hl::Pad::NAME,
    hl::OneHot::NAME,
    hl::LayerNorm::NAME,
    hl::InstanceNorm::NAME,
    hl::L2Norm::NAME,
    hl::ColorConversion::NAME,
    hl::FormatConversion::NAME,
    hl::Nms::NAME,
];

/// Operand and result types of the op being decoded.
pub(crate) struct Signature<'a> {
    pub inputs: &'a [Type],
    pub results: &'a [Type],
}

impl Signature<'_> {
    fn input_shape(&self, r: &OpReader, i: usize) -> Result<Vec<usize>, InterpError> {
        let ty = self
            .inputs
            .get(i)
            .ok_or_else(|| r.err(format!("expected at least {} operand(s)", i + 1)))?;
        static_shape(r, *ty)
    }

    fn result_shape(&self, r: &OpReader) -> Result<Vec<usize>, InterpError> {
        let ty = self.results.first().ok_or_else(|| r.err("has no result"))?;
        static_shape(r, *ty)
    }

    fn input_rank(&self, r: &OpReader) -> Result<usize, InterpError> {
        Ok(self.input_shape(r, 0)?.len())
    }
}

fn check_arity(r: &OpReader, sig: &Signature, min: usize, max: usize) -> Result<(), InterpError> {
    let n = sig.inputs.len();
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

/// A spatial `[h, w]` input of rank-4 NHWC operand 0.
fn spatial(r: &OpReader, sig: &Signature) -> Result<[usize; 2], InterpError> {
    let s = sig.input_shape(r, 0)?;
    if s.len() != 4 {
        return Err(r.err(format!("expects a rank-4 NHWC input, found shape {s:?}")));
    }
    Ok([s[1], s[2]])
}

fn axis_in(r: &OpReader, key: &str, rank: usize) -> Result<usize, InterpError> {
    let a = r.i64(key)?;
    let norm = if a < 0 { a + rank as i64 } else { a };
    usize::try_from(norm)
        .ok()
        .filter(|&v| v < rank)
        .ok_or_else(|| r.err(format!("'{key}' = {a} is out of range for rank {rank}")))
}

fn axes_in(r: &OpReader, key: &str, rank: usize) -> Result<Vec<usize>, InterpError> {
    r.i64s(key)?
        .into_iter()
        .map(|a| {
            let norm = if a < 0 { a + rank as i64 } else { a };
            usize::try_from(norm)
                .ok()
                .filter(|&v| v < rank)
                .ok_or_else(|| r.err(format!("'{key}' entry {a} is out of range for rank {rank}")))
        })
        .collect()
}

fn conv(r: &OpReader, sig: &Signature, depthwise: bool) -> Result<OpKind, InterpError> {
    check_arity(r, sig, 2, 3)?;
    let input = spatial(r, sig)?;
    let k = sig.input_shape(r, 1)?;
    if k.len() != 4 {
        return Err(r.err(format!("kernel must be rank 4 (HWIO), found {k:?}")));
    }
    let stride = r.pair_or("strides", 1)?;
    let dilation = r.pair_or("dilations", 1)?;
    let groups = if depthwise {
        sig.input_shape(r, 0)?[3]
    } else {
        r.usize_or("groups", 1)?
    };
    let pads = r.padding(input, [k[0], k[1]], stride, dilation)?;
    let params = Conv2dParams {
        stride,
        dilation,
        pads,
        groups,
    };
    Ok(OpKind::Conv {
        params,
        act: r.fused_activation()?,
    })
}

fn deconv(r: &OpReader, sig: &Signature) -> Result<OpKind, InterpError> {
    check_arity(r, sig, 2, 3)?;
    spatial(r, sig)?;
    let params = ConvTranspose2dParams {
        stride: r.pair_or("strides", 1)?,
        dilation: r.pair_or("dilations", 1)?,
        pads: r.explicit_pads()?,
        output_padding: r.pair_or("output_padding", 0)?,
        groups: r.usize_or("groups", 1)?,
    };
    Ok(OpKind::Deconv {
        params,
        act: r.fused_activation()?,
    })
}

fn pool(r: &OpReader, sig: &Signature, max: bool) -> Result<OpKind, InterpError> {
    check_arity(r, sig, 1, 1)?;
    let input = spatial(r, sig)?;
    let k = r.usizes("kernel", 2)?;
    let kernel = [k[0], k[1]];
    let stride = r.pair_or("strides", 1)?;
    let dilation = r.pair_or("dilations", 1)?;
    let params = Pool2dParams {
        kernel,
        stride,
        dilation,
        pads: r.padding(input, kernel, stride, dilation)?,
        ceil_mode: r.bool_or("ceil_mode", false)?,
        count_include_pad: r.bool_or("count_include_pad", false)?,
    };
    Ok(OpKind::Pool { max, params })
}

fn binary(r: &OpReader, sig: &Signature, op: BinaryOp) -> Result<OpKind, InterpError> {
    check_arity(r, sig, 2, 2)?;
    Ok(OpKind::Binary {
        op,
        act: r.fused_activation()?,
    })
}

fn resize(r: &OpReader, sig: &Signature) -> Result<OpKind, InterpError> {
    check_arity(r, sig, 1, 1)?;
    spatial(r, sig)?;
    let out = sig.result_shape(r)?;
    if out.len() != 4 {
        return Err(r.err(format!("result must be rank 4, found {out:?}")));
    }
    let coordinate_mode = match r.str_or("coordinate", "half_pixel")? {
        "half_pixel" => CoordinateMode::HalfPixel,
        "pytorch_half_pixel" => CoordinateMode::PytorchHalfPixel,
        "align_corners" => CoordinateMode::AlignCorners,
        "asymmetric" => CoordinateMode::Asymmetric,
        "tf_half_pixel_for_nn" => CoordinateMode::TfHalfPixelForNn,
        other => return Err(r.err(format!("unknown coordinate mode '{other}'"))),
    };
    let interpolation = match r.str_or("mode", "nearest")? {
        "bilinear" => Interpolation::Bilinear,
        "nearest" => {
            Interpolation::Nearest(match r.str_or("nearest_mode", "round_prefer_floor")? {
                "round_prefer_floor" => NearestMode::RoundPreferFloor,
                "round_prefer_ceil" => NearestMode::RoundPreferCeil,
                "floor" => NearestMode::Floor,
                "ceil" => NearestMode::Ceil,
                other => return Err(r.err(format!("unknown nearest_mode '{other}'"))),
            })
        }
        other => {
            return Err(r.err(format!(
                "unknown resize mode '{other}' (expected nearest or bilinear)"
            )))
        }
    };
    let params = ResizeParams {
        size: [out[1], out[2]],
        scales: None,
        coordinate_mode,
        interpolation,
    };
    Ok(OpKind::Resize { params })
}

fn slice(r: &OpReader, sig: &Signature) -> Result<OpKind, InterpError> {
    check_arity(r, sig, 1, 1)?;
    let rank = sig.input_rank(r)?;
    let (starts, ends) = (r.i64s("starts")?, r.i64s("ends")?);
    let steps = r.i64s_opt("steps")?.unwrap_or_else(|| vec![1; rank]);
    if starts.len() != rank || ends.len() != rank || steps.len() != rank {
        return Err(r.err(format!("starts/ends/steps need one entry per axis ({rank}), found {starts:?} {ends:?} {steps:?}")));
    }
    if steps.iter().any(|&s| s <= 0) {
        return Err(r.err(format!("steps must be positive, found {steps:?}")));
    }
    let batch = sig.input_shape(r, 0)?.first().copied().unwrap_or(0) as i64;
    // A slice keeping the whole batch axis keeps it whatever the run's batch size.
    let end = |axis: usize| {
        let whole = axis == 0 && starts[0] == 0 && steps[0] == 1 && ends[0] >= batch;
        if whole {
            i64::MAX
        } else {
            ends[axis]
        }
    };
    let specs = (0..rank)
        .map(|axis| SliceSpec {
            axis,
            start: starts[axis],
            end: end(axis),
            step: steps[axis],
        })
        .collect();
    Ok(OpKind::Slice { specs })
}

fn normalization(r: &OpReader) -> Result<OpKind, InterpError> {
    let (mean, std) = (r.f64s("mean")?, r.f64s("std")?);
    if mean.len() != std.len() || std.contains(&0.0) {
        return Err(r.err(format!(
            "mean {mean:?} and std {std:?} must have equal lengths and non-zero std"
        )));
    }
    let scale: Vec<f32> = std.iter().map(|s| (1.0 / s) as f32).collect();
    let shift = mean
        .iter()
        .zip(&std)
        .map(|(m, s)| (-m / s) as f32)
        .collect();
    Ok(OpKind::Normalization { scale, shift })
}

fn pad(r: &OpReader, sig: &Signature) -> Result<OpKind, InterpError> {
    let rank = sig.input_rank(r)?;
    let p = r.usizes("pads", 2 * rank)?;
    let pads = (0..rank).map(|i| (p[i], p[i + rank])).collect();
    let mode = match r.str_or("mode", "constant")? {
        "constant" => PadMode::Constant(r.f32_or("value", 0.0)?),
        "reflect" => PadMode::Reflect,
        "edge" => PadMode::Edge,
        "wrap" => PadMode::Wrap,
        other => return Err(r.err(format!("unknown pad mode '{other}'"))),
    };
    Ok(OpKind::Pad { pads, mode })
}

fn layer_norm(r: &OpReader, sig: &Signature) -> Result<OpKind, InterpError> {
    check_arity(r, sig, 1, 3)?;
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
    Ok(OpKind::LayerNorm {
        axis,
        eps: r.f32_or("epsilon", 1e-5)?,
    })
}

fn reduce(r: &OpReader, sig: &Signature) -> Result<OpKind, InterpError> {
    let op = match r.str_or("kind", "")? {
        "max" => ReduceOp::Max,
        "min" => ReduceOp::Min,
        "sum" => ReduceOp::Sum,
        "mean" => ReduceOp::Mean,
        "sum_square" => ReduceOp::SumSquare,
        "l2" => ReduceOp::L2,
        other => return Err(r.err(format!("unknown reduce kind '{other}'"))),
    };
    let axes = axes_in(r, "axes", sig.input_rank(r)?)?;
    Ok(OpKind::Reduce {
        op,
        axes,
        keepdims: r.bool_or("keepdims", true)?,
    })
}

/// Decodes the op read by `r` (anything but `hl.const`).
pub(crate) fn decode(r: &OpReader, sig: &Signature) -> Result<OpKind, InterpError> {
    let rank = || sig.input_rank(r);
    Ok(match r.op {
        hl::InputLayer::NAME | hl::OutputLayer::NAME => {
            check_arity(r, sig, 1, 1)?;
            OpKind::Identity
        }
        hl::Conv2d::NAME => conv(r, sig, false)?,
        hl::DepthwiseConv2d::NAME => conv(r, sig, true)?,
        hl::Deconv2d::NAME => deconv(r, sig)?,
        hl::Dense::NAME => {
            check_arity(r, sig, 2, 3)?;
            OpKind::Dense {
                act: r.fused_activation()?,
            }
        }
        hl::MatMul::NAME => {
            check_arity(r, sig, 2, 2)?;
            OpKind::Matmul {
                transpose_b: r.bool_or("transpose_b", false)?,
            }
        }
        hl::MaxPool::NAME => pool(r, sig, true)?,
        hl::AvgPool::NAME => pool(r, sig, false)?,
        hl::GlobalAvgPool::NAME | hl::GlobalMaxPool::NAME => {
            spatial(r, sig)?;
            OpKind::GlobalPool {
                max: r.op == hl::GlobalMaxPool::NAME,
            }
        }
        hl::BatchNorm::NAME => {
            check_arity(r, sig, 5, 5)?;
            OpKind::BatchNorm {
                eps: r.f32_or("epsilon", 1e-5)?,
                act: r.fused_activation()?,
            }
        }
        hl::ActivationOp::NAME => OpKind::Activation(r.activation_kind()?),
        hl::Prelu::NAME => {
            check_arity(r, sig, 2, 2)?;
            OpKind::Prelu
        }
        hl::EwAdd::NAME => binary(r, sig, BinaryOp::Add)?,
        hl::EwSub::NAME => binary(r, sig, BinaryOp::Sub)?,
        hl::EwMult::NAME => binary(r, sig, BinaryOp::Mul)?,
        hl::EwDiv::NAME => binary(r, sig, BinaryOp::Div)?,
        hl::EwMax::NAME => binary(r, sig, BinaryOp::Max)?,
        hl::EwMin::NAME => binary(r, sig, BinaryOp::Min)?,
        hl::EwPow::NAME => binary(r, sig, BinaryOp::Pow)?,
        hl::Concat::NAME => OpKind::Concat {
            axis: axis_in(r, "axis", rank()?)?,
        },
        hl::Split::NAME => {
            let axis = axis_in(r, "axis", rank()?)?;
            let sizes = r.usizes("sizes", sig.results.len())?;
            OpKind::Split { axis, sizes }
        }
        hl::Slice::NAME => slice(r, sig)?,
        hl::Reshape::NAME => OpKind::Reshape {
            shape: sig.result_shape(r)?,
        },
        hl::Transpose::NAME => OpKind::Transpose {
            perm: r.usizes("perm", rank()?)?,
        },
        hl::Resize::NAME => resize(r, sig)?,
        hl::DepthToSpace::NAME => {
            let mode = match r.str_or("mode", "DCR")? {
                "DCR" => DepthToSpaceMode::Dcr,
                "CRD" => DepthToSpaceMode::Crd,
                other => return Err(r.err(format!("unknown depth_to_space mode '{other}'"))),
            };
            OpKind::DepthToSpace {
                block: r.usize("block_size")?,
                mode,
            }
        }
        hl::SpaceToDepth::NAME => {
            let focus = match r.str_or("mode", "classic")? {
                "classic" => false,
                "focus" => true,
                other => return Err(r.err(format!("unknown space_to_depth mode '{other}'"))),
            };
            OpKind::SpaceToDepth {
                block: r.usize("block_size")?,
                focus,
            }
        }
        hl::FeatureShuffle::NAME => OpKind::FeatureShuffle {
            groups: r.usize("groups")?,
        },
        hl::Softmax::NAME | hl::LogSoftmax::NAME => OpKind::Softmax {
            axis: axis_in(r, "axis", rank()?)?,
            log: r.op == hl::LogSoftmax::NAME,
        },
        hl::ArgMax::NAME => OpKind::Argmax {
            axis: axis_in(r, "axis", rank()?)?,
            keepdims: r.bool_or("keepdims", true)?,
        },
        hl::Reduce::NAME => reduce(r, sig)?,
        hl::Normalization::NAME => normalization(r)?,
        hl::Pad::NAME => pad(r, sig)?,
        hl::OneHot::NAME => OpKind::OneHot {
            depth: r.usize("depth")?,
            on: r.f32_or("on_value", 1.0)?,
            off: r.f32_or("off_value", 0.0)?,
        },
        hl::LayerNorm::NAME => layer_norm(r, sig)?,
        hl::InstanceNorm::NAME => {
            check_arity(r, sig, 3, 3)?;
            spatial(r, sig)?;
            OpKind::InstanceNorm {
                eps: r.f32_or("epsilon", 1e-5)?,
            }
        }
        hl::L2Norm::NAME => OpKind::L2Norm {
            axis: axis_in(r, "axis", rank()?)?,
            eps: r.f32_or("epsilon", 0.0)?,
        },
        hl::ColorConversion::NAME => {
            let (k, b) = (r.f64s("kernel")?, r.f64s("bias")?);
            let (Ok(kernel), Ok(bias)) = (
                <[f32; 9]>::try_from(k.iter().map(|&v| v as f32).collect::<Vec<_>>()),
                <[f32; 3]>::try_from(b.iter().map(|&v| v as f32).collect::<Vec<_>>()),
            ) else {
                return Err(r.err("'kernel' must hold 9 values and 'bias' 3"));
            };
            OpKind::ColorConversion { kernel, bias }
        }
        hl::FormatConversion::NAME => {
            let name = r.str_or("conversion", "")?;
            let kind = crate::kernels::color::FormatConversion::from_name(name)
                .ok_or_else(|| r.err(format!("unknown format conversion '{name}'")))?;
            OpKind::FormatConversion {
                kind,
                emulate: r.bool_or("emulator_support", true)?,
            }
        }
        hl::Nms::NAME => nms(r)?,
        other => {
            return Err(r.err(format!(
                "op '{other}' is not supported by the interpreter (supported: hl.const, {})",
                SUPPORTED_OPS.join(", ")
            )))
        }
    })
}

/// The kernel's NMS parameters from the dialect's checked view of the op.
fn nms(r: &OpReader) -> Result<OpKind, InterpError> {
    use crate::kernels::nms::{MetaArch as K, NmsParams};
    use hailo_dialect_hl::ops::postprocess::{MetaArch as D, NmsParams as Checked};
    let p =
        Checked::read(&hailo_dialect_hl::access::OpView::new(r.m, r.id)).map_err(|e| r.err(e))?;
    let arch = match p.arch {
        D::Yolov5 | D::Yolov5Seg => K::Yolov5,
        D::CenterNet => K::CenterNet,
        D::Yolox => K::Yolox,
        D::Yolov6 => K::Yolov6,
        D::Yolov8 | D::Damoyolo => K::Dfl,
        D::Ssd => K::Ssd,
    };
    let mut anchors = Vec::with_capacity(p.num_anchors.len());
    let mut flat = p
        .anchors
        .chunks_exact(2)
        .map(|hw| [hw[0] as f32, hw[1] as f32]);
    for &count in &p.num_anchors {
        anchors.push(flat.by_ref().take(count as usize).collect());
    }
    let params = NmsParams {
        arch,
        classes: p.classes as usize,
        max_proposals_per_class: p.max_proposals_per_class as usize,
        score_threshold: p.score_threshold as f32,
        iou_threshold: p.iou_threshold as f32,
        image_dims: [p.image_dims[0] as usize, p.image_dims[1] as usize],
        strides: p.strides.iter().map(|&s| s as usize).collect(),
        anchors,
        regression_length: p.regression_length as usize,
        centers_scale_factor: r.f32_or("centers_scale_factor", 10.0)?,
        bbox_dimensions_scale_factor: r.f32_or("bbox_dimensions_scale_factor", 5.0)?,
        background: p.background.map(|b| b as usize),
    };
    if p.arch == D::Yolov5Seg {
        return Ok(OpKind::Yolov5Seg {
            params: Box::new(crate::kernels::postprocess_yolov5_seg::SegParams {
                boxes: params,
                max_total_proposals: p.max_total_proposals as usize,
                mask_threshold: p.mask_threshold as f32,
            }),
        });
    }
    Ok(OpKind::Nms {
        params: Box::new(params),
        decoding_only: p.bbox_decoding_only,
    })
}
