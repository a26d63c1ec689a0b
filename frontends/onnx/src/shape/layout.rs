//! Shapes of data-movement and shape-computing operators (concat, split, slice, reshape,
//! transpose, gather, ...). `slice_plan` is shared with constant folding.

use super::elementwise::broadcast;
use super::{Infer, InferError, OpCtx};

/// Element count, saturating so absurd declared shapes cannot overflow.
fn product(s: &[usize]) -> usize {
    s.iter().fold(1usize, |acc, &d| acc.saturating_mul(d))
}

pub(super) fn concat(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let first = ctx.shape(0)?.to_vec();
    let axis = ctx.axis(
        ctx.node
            .attr_int("axis")?
            .ok_or_else(|| ctx.invalid("attribute axis is required"))?,
        first.len(),
    )?;
    let mut out = first.clone();
    out[axis] = 0;
    for i in 0..ctx.node.inputs.len() {
        let s = ctx.shape(i)?;
        let compatible =
            s.len() == first.len() && (0..s.len()).all(|d| d == axis || s[d] == first[d]);
        if !compatible {
            return Err(ctx.invalid(format!(
                "input '{}' has shape {s:?}, which cannot be concatenated with {first:?} on axis {axis}",
                ctx.node.inputs[i]
            )));
        }
        out[axis] += s[axis];
    }
    Ok(vec![out])
}

pub(super) fn split(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = ctx.shape(0)?;
    let axis = ctx.axis(ctx.node.attr_int_or("axis", 0)?, x.len())?;
    let parts = ctx.node.outputs.len();
    let dim = x[axis];
    let sizes: Vec<usize> = match ctx.axes_arg("split", 1, 13)? {
        Some(s) => {
            if s.len() != parts || s.iter().any(|&v| v < 0) || s.iter().sum::<i64>() != dim as i64 {
                return Err(ctx.invalid(format!(
                    "split sizes {s:?} must be {parts} non-negative values adding up to {dim}"
                )));
            }
            s.iter().map(|&v| v as usize).collect()
        }
        None if ctx.node.attr_int("num_outputs")?.is_some() => {
            let chunk = dim.div_ceil(parts.max(1));
            (0..parts)
                .map(|i| chunk.min(dim.saturating_sub(i * chunk)))
                .collect()
        }
        None => {
            if parts == 0 || dim % parts != 0 {
                return Err(ctx.invalid(format!(
                    "axis size {dim} cannot be split evenly into {parts} outputs"
                )));
            }
            vec![dim / parts; parts]
        }
    };
    Ok(sizes
        .into_iter()
        .map(|s| {
            let mut o = x.to_vec();
            o[axis] = s;
            o
        })
        .collect())
}

/// One sliced axis with ONNX's clamped start/end and step.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SliceAxis {
    pub axis: usize,
    pub start: i64,
    pub end: i64,
    pub step: i64,
}

impl SliceAxis {
    pub fn len(&self) -> usize {
        let span = if self.step > 0 {
            self.end - self.start
        } else {
            self.start - self.end
        };
        let step = self.step.abs();
        if span <= 0 {
            0
        } else {
            ((span + step - 1) / step) as usize
        }
    }
}

/// Resolves `Slice`'s starts/ends/axes/steps (attributes before opset 10, inputs from 10) against
/// the input shape.
pub(crate) fn slice_plan(ctx: &OpCtx, x: &[usize]) -> Infer<Vec<SliceAxis>> {
    let (starts, ends, axes, steps) = if ctx.opset < 10 {
        let n = ctx.node;
        (
            n.attr_ints("starts")?.map(<[i64]>::to_vec),
            n.attr_ints("ends")?.map(<[i64]>::to_vec),
            n.attr_ints("axes")?.map(<[i64]>::to_vec),
            None,
        )
    } else {
        (
            ctx.opt_const_ints(1)?,
            ctx.opt_const_ints(2)?,
            ctx.opt_const_ints(3)?,
            ctx.opt_const_ints(4)?,
        )
    };
    let starts = starts.ok_or_else(|| ctx.invalid("starts are missing"))?;
    let ends = ends.ok_or_else(|| ctx.invalid("ends are missing"))?;
    let n = starts.len();
    let axes = axes.unwrap_or_else(|| (0..n as i64).collect());
    let steps = steps.unwrap_or_else(|| vec![1; n]);
    if ends.len() != n || axes.len() != n || steps.len() != n {
        return Err(ctx.invalid(format!(
            "starts {starts:?}, ends {ends:?}, axes {axes:?} and steps {steps:?} differ in length"
        )));
    }
    let mut plan = Vec::with_capacity(n);
    for i in 0..n {
        let axis = ctx.axis(axes[i], x.len())?;
        let d = x[axis] as i64;
        let step = steps[i];
        if step == 0 {
            return Err(ctx.invalid("slice step 0"));
        }
        let norm = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
        let (start, end) = if d == 0 {
            (0, 0)
        } else if step > 0 {
            (norm(starts[i]).clamp(0, d), norm(ends[i]).clamp(0, d))
        } else {
            (
                norm(starts[i]).clamp(0, d - 1),
                norm(ends[i]).clamp(-1, d - 1),
            )
        };
        plan.push(SliceAxis {
            axis,
            start,
            end,
            step,
        });
    }
    Ok(plan)
}

pub(super) fn slice(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = ctx.shape(0)?;
    let mut out = x.to_vec();
    for a in slice_plan(ctx, x)? {
        out[a.axis] = a.len();
    }
    Ok(vec![out])
}

pub(super) fn reshape(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = ctx.shape(0)?;
    let target = if ctx.opset < 5 {
        ctx.node.attr_ints("shape")?.map(<[i64]>::to_vec)
    } else {
        ctx.opt_const_ints(1)?
    }
    .ok_or_else(|| ctx.invalid("the target shape is missing"))?;
    let allow_zero = ctx.node.attr_int_or("allowzero", 0)? != 0;
    let mut out = Vec::with_capacity(target.len());
    let mut infer_at = None;
    for (i, &t) in target.iter().enumerate() {
        match t {
            -1 if infer_at.is_none() => {
                infer_at = Some(i);
                out.push(1);
            }
            0 if !allow_zero => out.push(*x.get(i).ok_or_else(|| {
                ctx.invalid(format!("shape {target:?} copies axis {i} of {x:?}"))
            })?),
            t if t >= 0 => out.push(t as usize),
            _ => return Err(ctx.invalid(format!("invalid target shape {target:?}"))),
        }
    }
    let total = product(x);
    if let Some(i) = infer_at {
        let rest = product(&out);
        if rest == 0 || !total.is_multiple_of(rest) {
            return Err(ctx.invalid(format!("cannot reshape {x:?} to {target:?}")));
        }
        out[i] = total / rest;
    }
    if product(&out) != total {
        return Err(ctx.invalid(format!(
            "cannot reshape {x:?} ({total} values) to {target:?}"
        )));
    }
    Ok(vec![out])
}

pub(super) fn flatten(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = ctx.shape(0)?;
    let axis = ctx.node.attr_int_or("axis", 1)?;
    let r = x.len() as i64;
    if axis < -r || axis > r {
        return Err(ctx.invalid(format!("axis {axis} is out of range for rank {r}")));
    }
    let a = if axis < 0 { axis + r } else { axis } as usize;
    Ok(vec![vec![product(&x[..a]), product(&x[a..])]])
}

/// The permutation of a `Transpose` node for an input of rank `rank`.
pub(crate) fn transpose_perm(ctx: &OpCtx, rank: usize) -> Infer<Vec<usize>> {
    let perm: Vec<usize> = match ctx.node.attr_ints("perm")? {
        None => (0..rank).rev().collect(),
        Some(p) => p.iter().map(|&a| ctx.axis(a, rank)).collect::<Infer<_>>()?,
    };
    let mut seen = vec![false; rank];
    if perm.len() != rank || perm.iter().any(|&a| std::mem::replace(&mut seen[a], true)) {
        return Err(ctx.invalid(format!("perm {perm:?} is not a permutation of {rank} axes")));
    }
    Ok(perm)
}

pub(super) fn transpose(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = ctx.shape(0)?;
    Ok(vec![transpose_perm(ctx, x.len())?
        .iter()
        .map(|&a| x[a])
        .collect()])
}

pub(super) fn squeeze(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = ctx.shape(0)?;
    let axes: Vec<usize> = match ctx.axes_arg("axes", 1, 13)? {
        Some(a) => a
            .iter()
            .map(|&a| ctx.axis(a, x.len()))
            .collect::<Infer<_>>()?,
        None => (0..x.len()).filter(|&i| x[i] == 1).collect(),
    };
    if let Some(&a) = axes.iter().find(|&&a| x[a] != 1) {
        return Err(ctx.invalid(format!(
            "cannot squeeze axis {a} of shape {x:?}: its size is not 1"
        )));
    }
    Ok(vec![(0..x.len())
        .filter(|i| !axes.contains(i))
        .map(|i| x[i])
        .collect()])
}

pub(super) fn unsqueeze(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = ctx.shape(0)?;
    let axes = ctx
        .axes_arg("axes", 1, 13)?
        .ok_or_else(|| ctx.invalid("axes are missing"))?;
    let rank = x.len() + axes.len();
    let mut norm: Vec<usize> = axes
        .iter()
        .map(|&a| ctx.axis(a, rank))
        .collect::<Infer<_>>()?;
    norm.sort_unstable();
    if norm.windows(2).any(|w| w[0] == w[1]) {
        return Err(ctx.invalid(format!("axes {axes:?} repeat an axis")));
    }
    let mut rest = x.iter();
    Ok(vec![(0..rank)
        .map(|i| {
            if norm.contains(&i) {
                1
            } else {
                rest.next().copied().unwrap_or(1)
            }
        })
        .collect()])
}

pub(super) fn gather(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = ctx.shape(0)?;
    let idx = ctx.shape(1)?;
    let axis = ctx.axis(ctx.node.attr_int_or("axis", 0)?, x.len())?;
    let mut out = x[..axis].to_vec();
    out.extend_from_slice(idx);
    out.extend_from_slice(&x[axis + 1..]);
    Ok(vec![out])
}

fn shape_input(ctx: &OpCtx, i: usize) -> Infer<Vec<usize>> {
    let v = ctx
        .opt_const_ints(i)?
        .ok_or_else(|| ctx.invalid("the shape input is missing"))?;
    v.iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| ctx.invalid(format!("shape {v:?} has a negative size")))
        })
        .collect()
}

pub(super) fn expand(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = ctx.shape(0)?;
    let target = shape_input(ctx, 1)?;
    let out = broadcast(x, &target)
        .ok_or_else(|| ctx.invalid(format!("cannot expand {x:?} to {target:?}")))?;
    Ok(vec![out])
}

pub(super) fn tile(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = ctx.shape(0)?;
    let reps = shape_input(ctx, 1)?;
    if reps.len() != x.len() {
        return Err(ctx.invalid(format!("repeats {reps:?} do not match rank {}", x.len())));
    }
    Ok(vec![x.iter().zip(&reps).map(|(a, b)| a * b).collect()])
}

/// The (start, end) axis range a `Shape` node reports (opset 15 `start`/`end`).
pub(crate) fn shape_range(ctx: &OpCtx, rank: usize) -> Infer<(usize, usize)> {
    let r = rank as i64;
    let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let start = clamp(ctx.node.attr_int_or("start", 0)?);
    let end = clamp(ctx.node.attr_int_or("end", r)?);
    Ok((start, end.max(start)))
}

pub(super) fn shape_op(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let rank = ctx.shape(0)?.len();
    let (s, e) = shape_range(ctx, rank)?;
    Ok(vec![vec![e - s]])
}

pub(super) fn size_op(_ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    Ok(vec![vec![]])
}

pub(super) fn constant_of_shape(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    Ok(vec![shape_input(ctx, 0)?])
}

/// Number of elements `Range(start, limit, delta)` produces.
pub(crate) fn range_len(ctx: &OpCtx, start: f64, limit: f64, delta: f64) -> Infer<usize> {
    if delta == 0.0 {
        return Err(ctx.invalid("Range delta is 0"));
    }
    Ok(((limit - start) / delta).ceil().max(0.0) as usize)
}

pub(super) fn range(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let scalar = |i: usize| -> Infer<f64> {
        let t = ctx
            .opt_const(i)?
            .ok_or_else(|| ctx.invalid(format!("input #{i} is missing")))?;
        let first = if t.dtype().is_float() {
            t.to_f32().iter().next().map(|&v| f64::from(v))
        } else {
            t.to_i64().iter().next().map(|&v| v as f64)
        };
        first.ok_or_else(|| ctx.invalid(format!("input #{i} is empty")))
    };
    let n = range_len(ctx, scalar(0)?, scalar(1)?, scalar(2)?)?;
    Ok(vec![vec![n]])
}

pub(super) fn one_hot(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let idx = ctx.shape(0)?;
    let depth = ctx
        .opt_const_ints(1)?
        .and_then(|d| d.first().copied())
        .filter(|&d| d > 0)
        .ok_or_else(|| InferError::Unresolved("OneHot depth is not a positive constant".into()))?;
    let axis = ctx.axis(ctx.node.attr_int_or("axis", -1)?, idx.len() + 1)?;
    let mut out = idx.to_vec();
    out.insert(axis, depth as usize);
    Ok(vec![out])
}
