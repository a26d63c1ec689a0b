//! What the parse-time fusion passes (`hl-fold-*`, `hl-fuse-*`) share: finding the one op that
//! reads a value and the layer feeding an op (also through a reshape, which a frontend inserts
//! after a 1-D convolution or a matmul run as a convolution), reading and rewriting `hl.const`
//! values, merging the locations of fused ops (their original framework names, which the
//! parsing report reads back), and removing the absorbed op with the constants only it used.

use super::{body_ops, graphs};
use hailo_dialect_hl as hl;
use hailo_dialect_hl::builder::f32_tensor;
use hailo_ir::pass::Preserved;
use hailo_ir::{
    Attribute, Blob, DenseValues, Location, Module, OpId, OpSpec, OpType, Sym, ValueId,
};

/// Calls `rewrite(m, graph_ops, op)` on every live op of type `T` in the graphs under `root`,
/// in block order (`graph_ops`: the graph's ops as listed before the walk); what the pass
/// preserved: nothing if any call returned true (it changed the IR), else everything.
pub(crate) fn rewrite_each<T: OpType>(
    m: &mut Module,
    root: OpId,
    mut rewrite: impl FnMut(&mut Module, &[OpId], OpId) -> bool,
) -> Preserved {
    let mut changed = false;
    for g in graphs(m, root) {
        let ops = body_ops(m, g);
        for &op in &ops {
            if m.is_alive(op) && m.op(op).name_str() == T::NAME {
                changed |= rewrite(m, &ops, op);
            }
        }
    }
    if changed {
        Preserved::None
    } else {
        Preserved::All
    }
}

/// The op that is the only reader of `v` (read once), if any.
pub(crate) fn sole_user(m: &Module, v: ValueId) -> Option<OpId> {
    match m.value(v).uses() {
        [u] => Some(u.op),
        _ => None,
    }
}

/// The layer whose result reaches `consumer` as `v` and is read by nothing else: `v`'s
/// producer, or the producer of the input of the `hl.reshape` producing `v` when that reshape
/// is its input's only reader. A per-channel operation (batch norm, bias) moves through a
/// reshape only when it keeps the last (channel) axis: `channel_axis_kept`; an elementwise one
/// through any.
pub(crate) fn feeding_layer(
    m: &Module,
    v: ValueId,
    consumer: OpId,
    channel_axis_kept: bool,
) -> Option<OpId> {
    if sole_user(m, v) != Some(consumer) {
        return None;
    }
    let d = m.defining_op(v)?;
    if m.op(d).name_str() != hl::Reshape::NAME {
        return Some(d);
    }
    let x = m.operand(d, 0);
    let last = |v: ValueId| m.value_type(v).shape().and_then(|s| s.last().copied());
    if sole_user(m, x) != Some(d) || (channel_axis_kept && last(x) != last(v)) {
        return None;
    }
    m.defining_op(x)
}

/// The float values of `v` when an `hl.const` defines it.
pub(crate) fn const_values(m: &Module, v: ValueId) -> Option<Vec<f32>> {
    let def = m.defining_op(v)?;
    if m.op(def).name_str() != hl::Const::NAME {
        return None;
    }
    match m.attr(def, "value")? {
        Attribute::Dense(d) => Some(d.to_f64_vec().into_iter().map(|x| x as f32).collect()),
        Attribute::DenseResource { key, .. } => m.resources.get(key.as_str()).map(Blob::to_f32),
        _ => None,
    }
}

/// Makes operand `index` of `op` a constant holding `values` (shape `shape`): the constant is
/// rewritten in place when `op` is its only reader, else a new `<layer>.<param>` constant is
/// placed before `op`. `index` may be one past the last operand (adds it). The shape may
/// differ from the old constant's (channel pruning).
pub(crate) fn set_const(
    m: &mut Module,
    op: OpId,
    index: usize,
    param: &str,
    shape: &[usize],
    values: &[f32],
) {
    let ty = f32_tensor(shape);
    let existing = m.op(op).operands().get(index).copied();
    if let Some(v) = existing {
        if let Some(def) = m.defining_op(v).filter(|_| sole_user(m, v) == Some(op)) {
            match m.attr(def, "value") {
                Some(Attribute::DenseResource { key, .. }) => {
                    let key = *key;
                    m.resources.insert(key.as_str(), Blob::from_f32(values));
                    m.set_attr(def, "value", Attribute::DenseResource { key, ty });
                    m.set_value_type(v, ty);
                    return;
                }
                Some(Attribute::Dense(_)) => {
                    m.set_attr(def, "value", dense(ty, values));
                    m.set_value_type(v, ty);
                    return;
                }
                _ => {}
            }
        }
    }
    let layer = m
        .attr(op, "layer")
        .and_then(Attribute::as_str)
        .unwrap_or("layer")
        .to_owned();
    let key = format!("{layer}.{param}");
    m.resources.insert(&key, Blob::from_f32(values));
    let value = Attribute::DenseResource {
        key: Sym::new(&key),
        ty,
    };
    let spec = OpSpec::new(hl::Const::NAME)
        .results(&[ty])
        .attr("value", value)
        .loc(m.op(op).loc.clone());
    let c = m.create_op(spec);
    m.insert_before(op, c);
    let r = m.result(c, 0);
    match existing {
        Some(old) => {
            m.set_operand(op, index, r);
            erase_dead_const(m, old);
        }
        None => {
            let mut operands = m.op(op).operands().to_vec();
            operands.push(r);
            m.set_operands(op, &operands);
        }
    }
}

fn dense(ty: hailo_ir::Type, values: &[f32]) -> Attribute {
    Attribute::dense(
        ty,
        DenseValues::Floats(values.iter().map(|&v| f64::from(v)).collect()),
    )
}

/// `into`'s location followed by `absorbed`'s: the original names of both, `into`'s first. The
/// constants only `into` reads that were located with it (its weights) follow it.
pub(crate) fn fuse_locs(m: &mut Module, into: OpId, absorbed: OpId) {
    let before = m.op(into).loc.printable();
    let mut locs = Vec::new();
    for op in [into, absorbed] {
        match &m.op(op).loc {
            Location::Fused(parts) => locs.extend(parts.iter().cloned()),
            Location::Unknown => {}
            other => locs.push(other.clone()),
        }
    }
    let loc = match locs.len() {
        0 => Location::Unknown,
        1 => locs.remove(0),
        _ => Location::Fused(locs.into_boxed_slice()),
    };
    let weights: Vec<OpId> = m
        .op(into)
        .operands()
        .iter()
        .filter(|&&v| sole_user(m, v) == Some(into))
        .filter_map(|&v| m.defining_op(v))
        .filter(|&c| m.op(c).name_str() == hl::Const::NAME && m.op(c).loc.printable() == before)
        .collect();
    for c in weights {
        m.set_loc(c, loc.clone());
    }
    m.set_loc(into, loc);
}

/// Replaces the result of `absorbed` by `by` and erases it, with the constants it alone read.
pub(crate) fn absorb(m: &mut Module, absorbed: OpId, by: ValueId) {
    let operands = m.op(absorbed).operands().to_vec();
    m.replace_op(absorbed, &[by]);
    for v in operands {
        erase_dead_const(m, v);
    }
}

/// Erases the `hl.const` defining `v` when nothing reads it any more.
fn erase_dead_const(m: &mut Module, v: ValueId) {
    if !m.is_value_alive(v) || !m.value(v).uses().is_empty() {
        return;
    }
    if let Some(def) = m
        .defining_op(v)
        .filter(|&d| m.op(d).name_str() == hl::Const::NAME)
    {
        m.erase_op(def);
    }
}

/// The `activation` attribute and parameters `act` as a fused activation on `op`, replacing
/// whatever activation attributes it had.
pub(crate) fn set_activation(m: &mut Module, op: OpId, act: hl::Activation) {
    for key in [
        "alpha",
        "beta",
        "exponent",
        "threshold",
        "value",
        "min",
        "max",
    ] {
        m.remove_attr(op, key);
    }
    m.remove_attr(op, "activation");
    for (k, v) in act.layer_attrs() {
        m.set_attr(op, k, v);
    }
}
