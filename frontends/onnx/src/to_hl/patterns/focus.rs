//! YOLOv5's Focus: `cat(x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2],
//! x[..., 1::2, 1::2], dim=1)`, exported as chains of Slice nodes feeding a channel Concat.
//! It is a space-to-depth with block 2 in `focus` order (or `classic` order when the slices
//! come column offset first).

use super::{GraphView, Pattern, PatternKind};
use crate::shape::{slice_plan, OpCtx};
use crate::tensor::TensorData;

/// The (row offset, column offset) a chain of Slice nodes takes from its rank-4 source with
/// step `b` on H and W, plus the source tensor and the chain's nodes.
fn slice_chain(g: &GraphView, tensor: &str, b: usize) -> Option<(String, [usize; 2], Vec<usize>)> {
    let mut offsets: [Option<usize>; 2] = [None, None];
    let mut nodes = Vec::new();
    let mut t = tensor.to_string();
    while let Some(p) = g.producer(&t) {
        let n = g.node(p);
        if n.op_type != "Slice" || !n.domain.is_empty() {
            break;
        }
        let x = n.input(0)?;
        let shape = g.model.shape(x)?;
        if shape.len() != 4 {
            return None;
        }
        let shapes: Vec<Option<Vec<usize>>> = n
            .inputs
            .iter()
            .map(|i| g.model.shape(i).map(<[usize]>::to_vec))
            .collect();
        let consts: Vec<_> = n.inputs.iter().map(|i| g.model.constant(i)).collect();
        let consts: Vec<Option<&TensorData>> = consts.iter().map(Option::as_deref).collect();
        let ctx = OpCtx {
            node: n,
            opset: g.model.opset(""),
            shapes: &shapes,
            consts: &consts,
        };
        for s in slice_plan(&ctx, shape).ok()? {
            if s.len() == shape[s.axis] {
                continue;
            }
            let whole = shape[s.axis] % b == 0 && s.len() == shape[s.axis] / b;
            if s.axis < 2 || s.step != b as i64 || !(0..b as i64).contains(&s.start) || !whole {
                return None;
            }
            let slot = &mut offsets[s.axis - 2];
            if slot.replace(s.start as usize).is_some() {
                return None;
            }
        }
        nodes.push(p);
        t = x.to_string();
    }
    Some((t, [offsets[0]?, offsets[1]?], nodes))
}

/// A Focus block ending at Concat node `anchor`.
pub(super) fn match_at(g: &GraphView, anchor: usize) -> Option<Pattern> {
    let cat = g.node(anchor);
    if cat.op_type != "Concat" || !cat.domain.is_empty() || cat.inputs.len() != 4 {
        return None;
    }
    let out_shape = g.model.shape(cat.output(0)?)?;
    if out_shape.len() != 4 || cat.attr_int("axis").ok()?.map(|a| (a + 4) % 4) != Some(1) {
        return None;
    }
    let b = 2;
    let mut source: Option<String> = None;
    let mut order = Vec::new();
    let mut nodes = vec![anchor];
    for inp in &cat.inputs {
        let (src, off, chain) = slice_chain(g, inp, b)?;
        if source.get_or_insert_with(|| src.clone()) != &src {
            return None;
        }
        order.push(off);
        nodes.extend(chain);
    }
    let source = source?;
    let in_shape = g.model.shape(&source)?;
    if in_shape[2] % b != 0 || in_shape[3] % b != 0 {
        return None;
    }
    for &n in &nodes {
        if n != anchor && !g.only_used_by(&g.node(n).outputs[0], &nodes) {
            return None;
        }
    }
    let focus: Vec<[usize; 2]> = (0..b * b).map(|k| [k % b, k / b]).collect();
    let classic: Vec<[usize; 2]> = (0..b * b).map(|k| [k / b, k % b]).collect();
    let mode = if order == focus {
        "focus"
    } else if order == classic {
        "classic"
    } else {
        return None;
    };
    Some(Pattern {
        nodes,
        input: source,
        output: cat.output(0)?.to_string(),
        kind: PatternKind::SpaceToDepth { block: b, mode },
    })
}
