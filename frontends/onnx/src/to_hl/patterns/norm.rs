//! Normalisation blocks written out in elementwise ops:
//! LayerNorm / InstanceNorm `(x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps) [* gamma]
//! [+ beta]` (instance norm when the reduced axes are H and W of a rank-4 tensor), and L2Norm
//! `x / max(||x||_2, eps)` (ReduceL2, or Sqrt of ReduceSum of squares, optionally clamped and
//! expanded), and input normalisation `(x - mean) / std` with per-channel constants.

use super::{reduce_axes, GraphView, Pattern, PatternKind};
use crate::to_hl::act::scalar_const;

/// The producer of `tensor` when it is an `op` node.
fn producer_op(g: &GraphView, tensor: &str, op: &str) -> Option<usize> {
    let p = g.producer(tensor)?;
    (g.node(p).op_type == op && g.node(p).domain.is_empty()).then_some(p)
}

/// A square of `d`: `Pow(d, 2)` or `Mul(d, d)`.
fn square_of(g: &GraphView, tensor: &str) -> Option<(usize, String)> {
    let p = g.producer(tensor)?;
    let n = g.node(p);
    match n.op_type.as_str() {
        "Pow" if scalar_const(g.model, n.input(1)?) == Some(2.0) => {
            Some((p, n.input(0)?.to_string()))
        }
        "Mul" if n.input(0) == n.input(1) => Some((p, n.input(0)?.to_string())),
        _ => None,
    }
}

/// ReduceMean/ReduceSum node `p` with keepdims: its input and normalised axes.
fn reduce(g: &GraphView, p: usize) -> Option<(String, Vec<usize>)> {
    let n = g.node(p);
    if n.attr_int_or("keepdims", 1).ok()? != 1 {
        return None;
    }
    let x = n.input(0)?;
    let axes = reduce_axes(g.model, n, g.model.shape(x)?.len())?;
    Some((x.to_string(), axes))
}

/// Whether every internal output of `nodes` (all but `last`) is used only inside `nodes`.
fn closed(g: &GraphView, nodes: &[usize], last: usize) -> bool {
    nodes
        .iter()
        .filter(|&&n| n != last)
        .all(|&n| g.only_used_by(&g.node(n).outputs[0], nodes))
}

/// An optional `Mul(y, const)` then `Add(y, const)` after `y`.
fn affine(
    g: &GraphView,
    y: &str,
    nodes: &mut Vec<usize>,
) -> (String, Option<String>, Option<String>) {
    let mut out = y.to_string();
    let mut params = [None, None];
    for (slot, op) in ["Mul", "Add"].iter().enumerate() {
        let Some(c) = g.sole_consumer(&out) else {
            break;
        };
        let n = g.node(c);
        if n.op_type != *op || !n.domain.is_empty() || n.inputs.len() != 2 {
            break;
        }
        let other = if n.inputs[0] == out {
            &n.inputs[1]
        } else {
            &n.inputs[0]
        };
        if g.model.constant(other).is_none() {
            break;
        }
        params[slot] = Some(other.clone());
        nodes.push(c);
        out = n.outputs[0].clone();
    }
    let [gamma, beta] = params;
    (out, gamma, beta)
}

/// Whether constant `name` broadcasts against `x_shape` only along `axes` (or is a scalar).
fn fits_axes(g: &GraphView, name: &Option<String>, x_shape: &[usize], axes: &[usize]) -> bool {
    let Some(name) = name else { return true };
    let Some(t) = g.model.constant(name) else {
        return false;
    };
    let s = t.shape();
    if s.len() > x_shape.len() {
        return false;
    }
    let off = x_shape.len() - s.len();
    s.iter()
        .enumerate()
        .all(|(i, &d)| d == 1 || (axes.contains(&(i + off)) && d == x_shape[i + off]))
}

fn layer_or_instance_norm(g: &GraphView, div: usize) -> Option<Pattern> {
    let n = g.node(div);
    let d = n.input(0)?;
    let sqrt = producer_op(g, n.input(1)?, "Sqrt")?;
    let add = producer_op(g, g.node(sqrt).input(0)?, "Add")?;
    let an = g.node(add);
    let (var, eps) = match (
        scalar_const(g.model, an.input(1)?),
        scalar_const(g.model, an.input(0)?),
    ) {
        (Some(e), _) => (an.input(0)?, e),
        (None, Some(e)) => (an.input(1)?, e),
        _ => return None,
    };
    let mean2 = producer_op(g, var, "ReduceMean")?;
    let (sq, axes2) = reduce(g, mean2)?;
    let (pow, d2) = square_of(g, &sq)?;
    if d2 != d {
        return None;
    }
    let sub = producer_op(g, d, "Sub")?;
    let x = g.node(sub).input(0)?;
    let mean1 = producer_op(g, g.node(sub).input(1)?, "ReduceMean")?;
    let (x1, axes1) = reduce(g, mean1)?;
    if x1 != x || axes1 != axes2 {
        return None;
    }
    let mut nodes = vec![mean1, sub, pow, mean2, add, sqrt, div];
    if !closed(g, &nodes, div) {
        return None;
    }
    let (output, gamma, beta) = affine(g, &n.outputs[0], &mut nodes);
    let shape = g.model.shape(x)?;
    let rank = shape.len();
    let trailing = axes1
        .iter()
        .enumerate()
        .all(|(i, &a)| a == rank - axes1.len() + i);
    let kind = if rank == 4 && axes1 == [2, 3] {
        if !fits_axes(g, &gamma, shape, &[1]) || !fits_axes(g, &beta, shape, &[1]) {
            return None;
        }
        PatternKind::InstanceNorm {
            epsilon: eps,
            gamma,
            beta,
        }
    } else if trailing {
        if !fits_axes(g, &gamma, shape, &axes1) || !fits_axes(g, &beta, shape, &axes1) {
            return None;
        }
        PatternKind::LayerNorm {
            axes: axes1,
            epsilon: eps,
            gamma,
            beta,
        }
    } else {
        return None;
    };
    Some(Pattern {
        nodes,
        input: x.to_string(),
        output,
        kind,
    })
}

fn l2_norm(g: &GraphView, div: usize) -> Option<Pattern> {
    let n = g.node(div);
    let x = n.input(0)?;
    let mut nodes = vec![div];
    let mut t = n.input(1)?.to_string();
    if let Some(e) = producer_op(g, &t, "Expand") {
        nodes.push(e);
        t = g.node(e).input(0)?.to_string();
    }
    let mut eps = 0.0;
    let p = g.producer(&t)?;
    let pn = g.node(p);
    match pn.op_type.as_str() {
        "Clip" if pn.input(2).is_none() => {
            eps = scalar_const(g.model, pn.input(1)?)?;
        }
        "Max" if pn.inputs.len() == 2 => {
            eps = scalar_const(g.model, pn.input(1)?)?;
        }
        _ => {}
    }
    if eps != 0.0 {
        nodes.push(p);
        t = pn.input(0)?.to_string();
    }
    let (src, axes) = if let Some(r) = producer_op(g, &t, "ReduceL2") {
        nodes.push(r);
        reduce(g, r)?
    } else {
        let s = producer_op(g, &t, "Sqrt")?;
        let r = producer_op(g, g.node(s).input(0)?, "ReduceSum")?;
        let (sq, axes) = reduce(g, r)?;
        let (pw, base) = square_of(g, &sq)?;
        nodes.extend([s, r, pw]);
        (base, axes)
    };
    if src != x || axes.len() != 1 || !closed(g, &nodes, div) {
        return None;
    }
    Some(Pattern {
        nodes,
        input: x.to_string(),
        output: n.outputs[0].clone(),
        // x / max(||x||, eps) == x / sqrt(max(sum(x^2), eps^2)), hl.l2_norm's form.
        kind: PatternKind::L2Norm {
            axis: axes[0],
            epsilon: eps * eps,
        },
    })
}

/// The per-channel values of constant `name` against rank-4 NCHW data with `c` channels
/// (shape `[C, 1, 1]`, `[1, C, 1, 1]` or a scalar).
fn channel_values(g: &GraphView, name: &str, c: usize) -> Option<Vec<f64>> {
    let t = g.model.constant(name)?;
    let s = t.shape();
    let values: Vec<f64> = t.to_f32().iter().map(|&v| f64::from(v)).collect();
    if values.len() == 1 {
        return Some(vec![values[0]; c]);
    }
    let off = 4usize.checked_sub(s.len())?;
    let per_channel = s
        .iter()
        .enumerate()
        .all(|(i, &d)| if i + off == 1 { d == c } else { d == 1 });
    per_channel.then_some(values)
}

/// `Sub(x, mean)` then `Div(., std)` or `Mul(., 1 / std)` on rank-4 data, ending at node `i`.
fn normalization(g: &GraphView, i: usize) -> Option<Pattern> {
    let n = g.node(i);
    let sub = producer_op(g, n.input(0)?, "Sub")?;
    let sn = g.node(sub);
    let x = sn.input(0)?;
    let shape = g.model.shape(x)?;
    if shape.len() != 4 || g.model.constant(x).is_some() || !g.only_used_by(&sn.outputs[0], &[i]) {
        return None;
    }
    let c = shape[1];
    let mean = channel_values(g, sn.input(1)?, c)?;
    let k = channel_values(g, n.input(1)?, c)?;
    let std: Vec<f64> = match n.op_type.as_str() {
        "Div" => k,
        _ => k.iter().map(|v| 1.0 / v).collect(),
    };
    if std.iter().any(|s| *s == 0.0 || !s.is_finite()) {
        return None;
    }
    Some(Pattern {
        nodes: vec![sub, i],
        input: x.to_string(),
        output: n.outputs[0].clone(),
        kind: PatternKind::Normalization { mean, std },
    })
}

/// A normalisation block whose division (or scaling) is node `i`.
pub(super) fn match_at(g: &GraphView, i: usize) -> Option<Pattern> {
    let n = g.node(i);
    if !n.domain.is_empty() {
        return None;
    }
    match n.op_type.as_str() {
        "Div" => layer_or_instance_norm(g, i)
            .or_else(|| l2_norm(g, i))
            .or_else(|| normalization(g, i)),
        "Mul" => normalization(g, i),
        _ => None,
    }
}
