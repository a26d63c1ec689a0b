//! Multi-head attention as torch.nn.MultiheadAttention and ViT blocks export it (guide
//! §5.5.32): Q, K, V `[B, T, E]` reshaped to `[B, T, heads, d]` and transposed to heads-first,
//! `Softmax(Q·Kᵀ [/ or * scale]) · V`, transposed back and reshaped to `[B, T, E]`. The block
//! becomes per-head `hl` layers on feature slices of Q, K and V (no transposes): a
//! `feature_splitter` per input, `matmul(q_h, k_h, transpose_b)`, the scale, `softmax`,
//! `matmul(p_h, v_h)`, and a `concat` of the heads.

use super::{AttentionNodes, GraphView, Pattern, PatternKind};
use crate::to_hl::act::scalar_const;

/// Follows Transpose nodes back from `tensor` (each used only by the next node) to a Reshape
/// of a rank-3 `[B, T, E]` tensor into `[B, T, heads, d]`; returns the source tensor, the
/// composed permutation (output axis `i` is reshaped axis `perm[i]`), `heads` and the nodes.
fn head_split(
    g: &GraphView,
    tensor: &str,
    user: usize,
) -> Option<(String, Vec<usize>, usize, Vec<usize>)> {
    let mut perm: Vec<usize> = (0..4).collect();
    let mut nodes = Vec::new();
    let mut t = tensor.to_string();
    let mut consumer = user;
    loop {
        let p = g.producer(&t)?;
        let n = g.node(p);
        if !n.domain.is_empty() || !g.only_used_by(&t, &[consumer]) {
            return None;
        }
        nodes.push(p);
        match n.op_type.as_str() {
            "Transpose" => {
                let tp: Vec<usize> = n
                    .attr_ints("perm")
                    .ok()??
                    .iter()
                    .map(|&a| usize::try_from(a).ok())
                    .collect::<Option<_>>()?;
                if tp.len() != 4 {
                    return None;
                }
                // out = transpose(in, tp), and `perm` maps the final output to `out`.
                perm = perm.iter().map(|&a| tp[a]).collect();
            }
            "Reshape" => {
                let src = n.input(0)?;
                let s = g.model.shape(src)?;
                let r = g.model.shape(n.output(0)?)?;
                if s.len() != 3
                    || r.len() != 4
                    || r[0] != s[0]
                    || r[1] != s[1]
                    || r[2] * r[3] != s[2]
                {
                    return None;
                }
                return Some((src.to_string(), perm, r[2], nodes));
            }
            _ => return None,
        }
        t = n.input(0)?.to_string();
        consumer = p;
    }
}

/// The scaled scores: `MatMul(q, k)` optionally followed by `Div`/`Mul` by a constant scalar.
fn scores(g: &GraphView, tensor: &str, softmax: usize) -> Option<(usize, f64, Option<usize>)> {
    let p = g.producer(tensor)?;
    let n = g.node(p);
    if !g.only_used_by(tensor, &[softmax]) {
        return None;
    }
    match n.op_type.as_str() {
        "MatMul" => Some((p, 1.0, None)),
        "Div" | "Mul" => {
            let c = scalar_const(g.model, n.input(1)?)?;
            let scale = if n.op_type == "Div" { 1.0 / c } else { c };
            let mm = g.sole_producer(n.input(0)?, "MatMul", p)?;
            Some((mm, scale, Some(p)))
        }
        _ => None,
    }
}

/// The attention block whose final Reshape is node `anchor`.
pub(super) fn match_at(g: &GraphView, anchor: usize) -> Option<Pattern> {
    let out_reshape = g.node(anchor);
    if out_reshape.op_type != "Reshape" || !out_reshape.domain.is_empty() {
        return None;
    }
    let t_out = g.sole_producer(out_reshape.input(0)?, "Transpose", anchor)?;
    if g.node(t_out).attr_ints("perm").ok()?? != [0, 2, 1, 3] {
        return None;
    }
    let pv = g.sole_producer(g.node(t_out).input(0)?, "MatMul", t_out)?;
    let pv_node = g.node(pv);
    let softmax = g.sole_producer(pv_node.input(0)?, "Softmax", pv)?;
    let sm = g.node(softmax);
    let axis = sm.attr_int("axis").ok()?.unwrap_or(-1);
    if (axis != -1 && axis != 3) || g.model.opset(&sm.domain) < 13 {
        return None;
    }
    let (qk, scale, scale_node) = scores(g, sm.input(0)?, softmax)?;
    let qk_node = g.node(qk);
    let (q, qp, heads, qn) = head_split(g, qk_node.input(0)?, qk)?;
    let (k, kp, kh, kn) = head_split(g, qk_node.input(1)?, qk)?;
    let (v, vp, vh, vn) = head_split(g, pv_node.input(1)?, pv)?;
    let heads_first = [0, 2, 1, 3];
    if qp != heads_first || vp != heads_first || kp != [0, 2, 3, 1] || kh != heads || vh != heads {
        return None;
    }
    let out_shape = g.model.shape(out_reshape.output(0)?)?;
    let v_shape = g.model.shape(&v)?;
    if out_shape != v_shape || g.model.shape(&q)? != g.model.shape(&k)? {
        return None;
    }
    let roles = AttentionNodes {
        splits: [*qn.last()?, *kn.last()?, *vn.last()?],
        qk,
        scale: scale_node,
        softmax,
        pv,
        merge: t_out,
    };
    let mut nodes = vec![anchor, t_out, pv, softmax, qk];
    nodes.extend(scale_node);
    nodes.extend(qn);
    nodes.extend(kn);
    nodes.extend(vn);
    Some(Pattern {
        nodes,
        input: q,
        output: out_reshape.output(0)?.to_string(),
        kind: PatternKind::Attention {
            heads,
            scale,
            k,
            v,
            roles,
        },
    })
}
