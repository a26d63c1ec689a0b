//! Shapes of dense/matmul, normalization, reduction and recurrent operators.

use super::elementwise::broadcast;
use super::{Infer, InferError, OpCtx};
use crate::einsum::Equation;

/// `Gemm`: A [M, K] (or transposed), B [K, N] (or transposed) -> [M, N].
pub(super) fn gemm(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    ctx.weight_rank(1, "B (weight)", |r| r == 2, "2".into())?;
    let a = ctx.shape(0)?;
    if a.len() != 2 {
        return Err(ctx.invalid(format!(
            "input A has shape {a:?}; Gemm needs rank 2 (insert a Flatten)"
        )));
    }
    let b = ctx.shape(1)?;
    let (m, ka) = if ctx.node.attr_int_or("transA", 0)? != 0 {
        (a[1], a[0])
    } else {
        (a[0], a[1])
    };
    let (kb, n) = if ctx.node.attr_int_or("transB", 0)? != 0 {
        (b[1], b[0])
    } else {
        (b[0], b[1])
    };
    if ka != kb {
        return Err(ctx.invalid(format!(
            "inner dimensions differ: A {a:?} and B {b:?} give {ka} vs {kb}"
        )));
    }
    if let Some(Some(c)) = ctx.shapes.get(2).filter(|_| ctx.has(2)) {
        if broadcast(c, &[m, n]).as_deref() != Some(&[m, n][..]) {
            return Err(ctx.invalid(format!("bias C {c:?} does not broadcast to [{m}, {n}]")));
        }
    }
    Ok(vec![vec![m, n]])
}

/// `MatMul` with numpy semantics (1-D operands promoted, batch dimensions broadcast).
pub(super) fn matmul(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    ctx.weight_rank(1, "B", |r| r >= 1, ">= 1".into())?;
    let a = ctx.shape(0)?;
    let b = ctx.shape(1)?;
    if a.is_empty() {
        return Err(ctx.invalid("input A is a scalar"));
    }
    let a2: Vec<usize> = if a.len() == 1 {
        vec![1, a[0]]
    } else {
        a.to_vec()
    };
    let b2: Vec<usize> = if b.len() == 1 {
        vec![b[0], 1]
    } else {
        b.to_vec()
    };
    let (ra, rb) = (a2.len(), b2.len());
    if a2[ra - 1] != b2[rb - 2] {
        return Err(ctx.invalid(format!("inner dimensions differ: {a:?} x {b:?}")));
    }
    let mut out = broadcast(&a2[..ra - 2], &b2[..rb - 2]).ok_or_else(|| {
        ctx.invalid(format!(
            "batch dimensions of {a:?} and {b:?} do not broadcast"
        ))
    })?;
    if a.len() > 1 {
        out.push(a2[ra - 2]);
    }
    if b.len() > 1 {
        out.push(b2[rb - 1]);
    }
    Ok(vec![out])
}

/// `Einsum`: every output index takes the size of the operand axes it labels. Equations the
/// parser does not take (the ellipsis) leave the shape unresolved; inconsistent ones fail.
pub(super) fn einsum(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let eq = Equation::parse(ctx.node.attr_string_or("equation", "")?)
        .map_err(|e| InferError::Unresolved(format!("equation: {e}")))?;
    let shapes = (0..ctx.node.inputs.len())
        .map(|i| ctx.shape(i))
        .collect::<Infer<Vec<_>>>()?;
    let out = eq.output_shape(&shapes).map_err(|e| ctx.invalid(e))?;
    Ok(vec![out])
}

/// `BatchNormalization`: X [N, C, ...], scale/B/mean/var [C].
pub(super) fn batch_norm(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = ctx.shape(0)?;
    if x.len() < 2 {
        return Err(ctx.invalid(format!(
            "input has shape {x:?}; BatchNormalization needs rank >= 2"
        )));
    }
    for (i, role) in [(1, "scale"), (2, "bias"), (3, "mean"), (4, "var")] {
        ctx.weight_rank(i, role, |r| r == 1, "1".into())?;
        if let Some(Some(s)) = ctx.shapes.get(i).filter(|_| ctx.has(i)) {
            if s[0] != x[1] {
                return Err(ctx.invalid(format!(
                    "{role} has {} values but the input has {} channels",
                    s[0], x[1]
                )));
            }
        }
    }
    let c = vec![x[1]];
    Ok(vec![x.to_vec(), c.clone(), c.clone(), c.clone(), c])
}

/// `LayerNormalization`: Y like X; Mean / InvStdDev with the normalized axes set to 1.
pub(super) fn layer_norm(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = ctx.shape(0)?;
    let axis = ctx.axis(ctx.node.attr_int_or("axis", -1)?, x.len())?;
    let stat: Vec<usize> = x
        .iter()
        .enumerate()
        .map(|(i, &d)| if i >= axis { 1 } else { d })
        .collect();
    Ok(vec![x.to_vec(), stat.clone(), stat])
}

/// `ReduceX`: axes as attribute, or as input (ReduceSum from opset 13, the others from 18).
pub(super) fn reduce(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = ctx.shape(0)?;
    let input_from = if ctx.node.op_type == "ReduceSum" {
        13
    } else {
        18
    };
    let axes = ctx.axes_arg("axes", 1, input_from)?;
    let keep = ctx.node.attr_int_or("keepdims", 1)? != 0;
    let noop = ctx.node.attr_int_or("noop_with_empty_axes", 0)? != 0;
    let axes: Vec<usize> = match axes.filter(|a| !a.is_empty()) {
        Some(a) => a
            .iter()
            .map(|&a| ctx.axis(a, x.len()))
            .collect::<Infer<_>>()?,
        None if noop => return Ok(vec![x.to_vec()]),
        None => (0..x.len()).collect(),
    };
    Ok(vec![reduced(x, &axes, keep)])
}

fn reduced(x: &[usize], axes: &[usize], keep: bool) -> Vec<usize> {
    x.iter()
        .enumerate()
        .filter_map(|(i, &d)| match (axes.contains(&i), keep) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

/// `ArgMax` / `ArgMin`.
pub(super) fn arg_reduce(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = ctx.shape(0)?;
    let axis = ctx.axis(ctx.node.attr_int_or("axis", 0)?, x.len())?;
    let keep = ctx.node.attr_int_or("keepdims", 1)? != 0;
    Ok(vec![reduced(x, &[axis], keep)])
}

/// `LSTM` / `GRU` / `RNN`: Y, Y_h (and Y_c for LSTM), honouring `layout` (opset 14).
pub(super) fn recurrent(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let x = ctx.shape(0)?;
    if x.len() != 3 {
        return Err(ctx.invalid(format!("input has shape {x:?}; expected rank 3")));
    }
    let hidden = ctx
        .node
        .attr_int("hidden_size")?
        .filter(|&h| h > 0)
        .ok_or_else(|| ctx.invalid("attribute hidden_size must be a positive integer"))?
        as usize;
    let dirs = match ctx.node.attr_string_or("direction", "forward")? {
        "forward" | "reverse" => 1,
        "bidirectional" => 2,
        other => return Err(ctx.invalid(format!("unknown direction '{other}'"))),
    };
    let batch_first = ctx.node.attr_int_or("layout", 0)? != 0;
    let (seq, batch) = if batch_first {
        (x[1], x[0])
    } else {
        (x[0], x[1])
    };
    let (y, state) = if batch_first {
        (vec![batch, seq, dirs, hidden], vec![batch, dirs, hidden])
    } else {
        (vec![seq, dirs, batch, hidden], vec![dirs, batch, hidden])
    };
    Ok(vec![y, state.clone(), state])
}
