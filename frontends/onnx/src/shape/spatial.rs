//! Shapes of NCHW spatial operators: convolutions, pooling, pixel shuffles, resize and pad.

use super::{Infer, OpCtx};

/// Per-spatial-axis window parameters shared by convolution and pooling.
struct Window {
    kernel: Vec<usize>,
    strides: Vec<usize>,
    dilations: Vec<usize>,
    pads: Vec<i64>,
    auto_pad: String,
}

fn positive(ctx: &OpCtx, attr: &str, values: Option<&[i64]>, n: usize) -> Infer<Vec<usize>> {
    match values {
        None => Ok(vec![1; n]),
        Some(v) if v.len() == n && v.iter().all(|&x| x >= 1) => {
            Ok(v.iter().map(|&x| x as usize).collect())
        }
        Some(v) => Err(ctx.invalid(format!("attribute {attr} {v:?} must have {n} values >= 1"))),
    }
}

fn window(ctx: &OpCtx, kernel: Vec<usize>) -> Infer<Window> {
    let n = kernel.len();
    let node = ctx.node;
    let pads = match node.attr_ints("pads")? {
        None => vec![0; 2 * n],
        Some(p) if p.len() == 2 * n => p.to_vec(),
        Some(p) => {
            return Err(ctx.invalid(format!("attribute pads {p:?} must have {} values", 2 * n)))
        }
    };
    Ok(Window {
        strides: positive(ctx, "strides", node.attr_ints("strides")?, n)?,
        dilations: positive(ctx, "dilations", node.attr_ints("dilations")?, n)?,
        pads,
        auto_pad: node.attr_string_or("auto_pad", "NOTSET")?.to_string(),
        kernel,
    })
}

/// Output spatial sizes of a sliding window (conv or pool).
fn window_output(ctx: &OpCtx, input: &[usize], w: &Window, ceil_mode: bool) -> Infer<Vec<usize>> {
    let n = w.kernel.len();
    let mut out = Vec::with_capacity(n);
    for (i, &x) in input.iter().enumerate().take(n) {
        let x = x as i64;
        let s = w.strides[i] as i64;
        let ek = ((w.kernel[i] as i64) - 1) * w.dilations[i] as i64 + 1;
        let o = match w.auto_pad.as_str() {
            "SAME_UPPER" | "SAME_LOWER" => (x + s - 1) / s,
            "VALID" | "NOTSET" => {
                let (pb, pe) = if w.auto_pad == "VALID" {
                    (0, 0)
                } else {
                    (w.pads[i], w.pads[i + n])
                };
                let span = x + pb + pe - ek;
                if span < 0 {
                    return Err(ctx.invalid(format!(
                        "spatial axis {i}: input size {x} with pads ({pb}, {pe}) is smaller than the \
                         effective kernel size {ek}"
                    )));
                }
                if ceil_mode {
                    let mut o = (span + s - 1) / s + 1;
                    // The last window must start inside the input or the leading padding.
                    if (o - 1) * s >= x + pb {
                        o -= 1;
                    }
                    o
                } else {
                    span / s + 1
                }
            }
            other => return Err(ctx.invalid(format!("unknown auto_pad '{other}'"))),
        };
        out.push(o as usize);
    }
    Ok(out)
}

/// `Conv`: X [N, C, D...], W [M, C/group, k...], optional bias [M].
pub(super) fn conv(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = ctx.shape(0)?;
    if x.len() < 3 {
        return Err(ctx.invalid(format!(
            "input has rank {} (shape {x:?}); Conv needs rank >= 3",
            x.len()
        )));
    }
    let r = x.len();
    ctx.weight_rank(1, "weight", |k| k == r, format!("{r} (the input's rank)"))?;
    ctx.weight_rank(2, "bias", |k| k == 1, "1".into())?;
    let w = ctx.shape(1)?;
    let group = ctx.node.attr_int_or("group", 1)?;
    if group < 1 || w[0] % group as usize != 0 || x[1] != w[1] * group as usize {
        return Err(ctx.invalid(format!(
            "input channels {} do not match weight shape {w:?} with group {group}",
            x[1]
        )));
    }
    if let Some(Some(b)) = ctx.shapes.get(2).filter(|_| ctx.has(2)) {
        if b[0] != w[0] {
            return Err(ctx.invalid(format!(
                "bias has {} values but the weight has {} output channels",
                b[0], w[0]
            )));
        }
    }
    let kernel = kernel_shape(ctx, &w[2..])?;
    let win = window(ctx, kernel)?;
    let mut out = vec![x[0], w[0]];
    out.extend(window_output(ctx, &x[2..], &win, false)?);
    Ok(vec![out])
}

fn kernel_shape(ctx: &OpCtx, from_weight: &[usize]) -> Infer<Vec<usize>> {
    match ctx.node.attr_ints("kernel_shape")? {
        None => Ok(from_weight.to_vec()),
        Some(k)
            if k.len() == from_weight.len()
                && k.iter().zip(from_weight).all(|(&a, &b)| a == b as i64) =>
        {
            Ok(from_weight.to_vec())
        }
        Some(k) => Err(ctx.invalid(format!(
            "kernel_shape {k:?} does not match the weight's spatial shape {from_weight:?}"
        ))),
    }
}

/// `ConvTranspose`: X [N, C, D...], W [C, M/group, k...].
pub(super) fn conv_transpose(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = ctx.shape(0)?;
    if x.len() < 3 {
        return Err(ctx.invalid(format!(
            "input has rank {}; ConvTranspose needs rank >= 3",
            x.len()
        )));
    }
    let r = x.len();
    ctx.weight_rank(1, "weight", |k| k == r, format!("{r} (the input's rank)"))?;
    ctx.weight_rank(2, "bias", |k| k == 1, "1".into())?;
    let w = ctx.shape(1)?;
    let group = ctx.node.attr_int_or("group", 1)?;
    if group < 1 || x[1] != w[0] {
        return Err(ctx.invalid(format!(
            "input channels {} do not match weight shape {w:?}",
            x[1]
        )));
    }
    let kernel = kernel_shape(ctx, &w[2..])?;
    let n = kernel.len();
    let win = window(ctx, kernel)?;
    let mut out = vec![x[0], w[1] * group as usize];
    if let Some(shape) = ctx.node.attr_ints("output_shape")? {
        let spatial = &shape[shape.len().saturating_sub(n)..];
        if spatial.len() != n || spatial.iter().any(|&d| d < 1) {
            return Err(ctx.invalid(format!(
                "output_shape {shape:?} needs {n} positive spatial sizes"
            )));
        }
        out.extend(spatial.iter().map(|&d| d as usize));
        return Ok(vec![out]);
    }
    let out_pad = match ctx.node.attr_ints("output_padding")? {
        None => vec![0; n],
        Some(p) if p.len() == n => p.to_vec(),
        Some(p) => return Err(ctx.invalid(format!("output_padding {p:?} must have {n} values"))),
    };
    for i in 0..n {
        let xi = x[2 + i] as i64;
        let s = win.strides[i] as i64;
        let o = match win.auto_pad.as_str() {
            "SAME_UPPER" | "SAME_LOWER" => xi * s,
            _ => {
                let (pb, pe) = if win.auto_pad == "VALID" {
                    (0, 0)
                } else {
                    (win.pads[i], win.pads[i + n])
                };
                let ek = (win.kernel[i] as i64 - 1) * win.dilations[i] as i64 + 1;
                s * (xi - 1) + out_pad[i] + ek - pb - pe
            }
        };
        if o < 1 {
            return Err(ctx.invalid(format!("spatial axis {i} would have size {o}")));
        }
        out.push(o as usize);
    }
    Ok(vec![out])
}

/// `MaxPool` / `AveragePool` / `LpPool` (with `ceil_mode`, pads, auto_pad, dilations).
pub(super) fn pool(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = ctx.shape(0)?;
    let kernel = ctx
        .node
        .attr_ints("kernel_shape")?
        .ok_or_else(|| ctx.invalid("attribute kernel_shape is required"))?;
    if x.len() != kernel.len() + 2 || kernel.iter().any(|&k| k < 1) {
        return Err(ctx.invalid(format!(
            "kernel_shape {kernel:?} does not fit input shape {x:?}"
        )));
    }
    let win = window(ctx, kernel.iter().map(|&k| k as usize).collect())?;
    let ceil = ctx.node.attr_int_or("ceil_mode", 0)? != 0;
    let mut out = x[..2].to_vec();
    out.extend(window_output(ctx, &x[2..], &win, ceil)?);
    Ok(vec![out.clone(), out])
}

/// `GlobalAveragePool` / `GlobalMaxPool`: spatial axes become 1.
pub(super) fn global_pool(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = ctx.shape(0)?;
    if x.len() < 3 {
        return Err(ctx.invalid(format!(
            "input has rank {}; global pooling needs rank >= 3",
            x.len()
        )));
    }
    let mut out = x[..2].to_vec();
    out.resize(x.len(), 1);
    Ok(vec![out])
}

fn blocksize(ctx: &OpCtx) -> Infer<usize> {
    match ctx.node.attr_int("blocksize")? {
        Some(b) if b >= 1 => Ok(b as usize),
        other => Err(ctx.invalid(format!("attribute blocksize must be >= 1, got {other:?}"))),
    }
}

fn rank4<'a>(ctx: &OpCtx, x: &'a [usize]) -> Infer<&'a [usize]> {
    if x.len() != 4 {
        return Err(ctx.invalid(format!("input has shape {x:?}; expected rank 4 (NCHW)")));
    }
    Ok(x)
}

/// `DepthToSpace`: [N, C, H, W] -> [N, C/b², H·b, W·b].
pub(super) fn depth_to_space(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = rank4(ctx, ctx.shape(0)?)?;
    let b = blocksize(ctx)?;
    if x[1] % (b * b) != 0 {
        return Err(ctx.invalid(format!(
            "channels {} are not divisible by blocksize² = {}",
            x[1],
            b * b
        )));
    }
    Ok(vec![vec![x[0], x[1] / (b * b), x[2] * b, x[3] * b]])
}

/// `SpaceToDepth`: [N, C, H, W] -> [N, C·b², H/b, W/b].
pub(super) fn space_to_depth(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = rank4(ctx, ctx.shape(0)?)?;
    let b = blocksize(ctx)?;
    if x[2] % b != 0 || x[3] % b != 0 {
        return Err(ctx.invalid(format!(
            "spatial size {}x{} is not divisible by blocksize {b}",
            x[2], x[3]
        )));
    }
    Ok(vec![vec![x[0], x[1] * b * b, x[2] / b, x[3] / b]])
}

/// `Resize` (opset 10: X, scales; 11+: X, roi, scales, sizes; 18+: `axes`, aspect-ratio policy)
/// and `Upsample` (scales attribute before opset 9, input after).
pub(super) fn resize(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = ctx.shape(0)?;
    let (scales, sizes) = if ctx.node.op_type == "Upsample" && ctx.opset < 9 {
        (ctx.node.attr_floats("scales")?.map(<[f32]>::to_vec), None)
    } else if ctx.node.op_type == "Upsample" || ctx.opset < 11 {
        (
            ctx.opt_const(1)?
                .filter(|t| !t.is_empty())
                .map(|t| t.to_f32().iter().copied().collect()),
            None,
        )
    } else {
        (
            ctx.opt_const(2)?
                .filter(|t| !t.is_empty())
                .map(|t| t.to_f32().iter().copied().collect::<Vec<f32>>()),
            ctx.opt_const_ints(3)?,
        )
    };
    let axes: Vec<usize> = match ctx.node.attr_ints("axes")? {
        Some(a) => a
            .iter()
            .map(|&a| ctx.axis(a, x.len()))
            .collect::<Infer<_>>()?,
        None => (0..x.len()).collect(),
    };
    let mut out = x.to_vec();
    if let Some(sizes) = sizes {
        if sizes.len() != axes.len() || sizes.iter().any(|&s| s < 0) {
            return Err(ctx.invalid(format!(
                "sizes {sizes:?} must have {} non-negative values",
                axes.len()
            )));
        }
        let policy = ctx
            .node
            .attr_string_or("keep_aspect_ratio_policy", "stretch")?;
        let ratio = |i: usize| sizes[i] as f64 / x[axes[i]] as f64;
        let scale = match policy {
            "stretch" => None,
            "not_larger" => Some((0..axes.len()).map(ratio).fold(f64::INFINITY, f64::min)),
            "not_smaller" => Some((0..axes.len()).map(ratio).fold(0.0, f64::max)),
            other => return Err(ctx.invalid(format!("unknown keep_aspect_ratio_policy '{other}'"))),
        };
        for (i, &a) in axes.iter().enumerate() {
            out[a] = match scale {
                None => sizes[i] as usize,
                Some(s) => (s * x[a] as f64).round() as usize,
            };
        }
    } else if let Some(scales) = scales {
        if scales.len() != axes.len() || scales.iter().any(|&s| s <= 0.0) {
            return Err(ctx.invalid(format!(
                "scales {scales:?} must have {} positive values",
                axes.len()
            )));
        }
        for (i, &a) in axes.iter().enumerate() {
            out[a] = (x[a] as f64 * scales[i] as f64).floor() as usize;
        }
    } else {
        return Err(ctx.invalid("neither scales nor sizes is given"));
    }
    Ok(vec![out])
}

/// `Pad`: pads attribute (before opset 11) or input (11+, with optional `axes` input from 18).
pub(super) fn pad(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = ctx.shape(0)?;
    let pads = if ctx.opset >= 11 {
        ctx.opt_const_ints(1)?.unwrap_or_default()
    } else {
        let p = ctx
            .node
            .attr_ints("pads")?
            .or(ctx.node.attr_ints("paddings")?);
        p.map(<[i64]>::to_vec).unwrap_or_default()
    };
    let axes: Vec<usize> = match ctx.opt_const_ints(3)? {
        Some(a) => a
            .iter()
            .map(|&a| ctx.axis(a, x.len()))
            .collect::<Infer<_>>()?,
        None => (0..x.len()).collect(),
    };
    let n = axes.len();
    if pads.len() != 2 * n {
        return Err(ctx.invalid(format!("pads {pads:?} must have {} values", 2 * n)));
    }
    let mut out: Vec<i64> = x.iter().map(|&d| d as i64).collect();
    for (i, &a) in axes.iter().enumerate() {
        out[a] += pads[i] + pads[i + n];
    }
    if let Some(d) = out.iter().find(|&&d| d < 0) {
        return Err(ctx.invalid(format!("pads {pads:?} give a negative size {d}")));
    }
    Ok(vec![out.into_iter().map(|d| d as usize).collect()])
}
