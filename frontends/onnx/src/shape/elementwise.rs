//! Shapes of element-wise operators: unary ones keep their input's shape, n-ary ones broadcast
//! (numpy rules, as ONNX's multidirectional broadcasting).

use super::{Infer, OpCtx};

/// Output shape = shape of input 0 (activations, normalizations, casts, softmax, ...).
pub(super) fn same_as_first(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    Ok(vec![ctx.shape(0)?.to_vec()])
}

/// `Dropout`: output and optional mask have the input's shape.
pub(super) fn dropout(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let s = ctx.shape(0)?.to_vec();
    Ok(vec![s.clone(), s])
}

/// Numpy broadcasting of two shapes; `None` if incompatible.
pub(crate) fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| {
        let pad = rank - s.len();
        if i < pad {
            1
        } else {
            s[i - pad]
        }
    };
    (0..rank)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// Broadcasts every given input (binary arithmetic, comparisons, `Where`, variadic `Sum`/`Max`).
pub(super) fn broadcast_all(ctx: &OpCtx) -> Infer<Vec<Vec<usize>>> {
    let mut out: Vec<usize> = Vec::new();
    for i in 0..ctx.node.inputs.len() {
        if !ctx.has(i) {
            continue;
        }
        let s = ctx.shape(i)?;
        out = broadcast(&out, s).ok_or_else(|| {
            ctx.invalid(format!(
                "input shapes cannot be broadcast together: {out:?} and {s:?} (input '{}')",
                ctx.node.inputs[i]
            ))
        })?;
    }
    Ok(vec![out])
}
