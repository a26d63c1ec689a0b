//! `hl-to-quant` for the index layers:
//! - `hl.argmax` becomes `q.argmax`: codes order like their float values (one positive scale
//!   per tensor), so the first largest code is at the float argmax. The result is the index
//!   itself: an unsigned code of scale 1 and zero point 0 (8-bit while the axis has at most
//!   256 entries, else 16-bit), which the output layer dequantizes to the index;
//! - `hl.one_hot` becomes `q.one_hot`: the class of every input code is decided once, from
//!   its dequantized value, by the float op's rule (truncate to an integer, negative indices
//!   count from the end, anything outside the depth is no class), into a table; the on and
//!   off values become codes of the result type.

use super::hl_to_quant::{emit, get, qtype_of, result_type, Res};
use hailo_dialect_quant::ops as q;
use hailo_dialect_quant::{scheme, QuantType, Storage};
use hailo_ir::{Attribute, Module, OpId, ValueId};
use rustc_hash::FxHashMap;

fn out_shape(m: &Module, op: OpId) -> Vec<i64> {
    m.value_type(m.result(op, 0))
        .shape()
        .unwrap_or(&[])
        .to_vec()
}

/// `hl.argmax` → `q.argmax`.
pub(super) fn argmax(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Res<ValueId> {
    let x = get(map, m.op(op).operands()[0])?;
    let xs = m.value_type(x).shape().unwrap_or(&[]).to_vec();
    let rank = xs.len() as i64;
    let axis = m.attr(op, "axis").and_then(Attribute::as_i64).unwrap_or(0);
    let axis = if axis < 0 { axis + rank } else { axis };
    if !(0..rank).contains(&axis) {
        return Err(format!("axis {axis} is out of range for rank {rank}"));
    }
    let n = xs[axis as usize];
    let storage = if n <= 256 {
        Storage::U8
    } else if n <= 65536 {
        Storage::U16
    } else {
        return Err(format!("an axis of {n} entries has indices beyond 16 bits"));
    };
    let keepdims = m
        .attr(op, "keepdims")
        .and_then(Attribute::as_bool)
        .unwrap_or(false);
    let attrs = vec![
        ("axis", Attribute::i64(axis)),
        ("keepdims", Attribute::Bool(keepdims)),
    ];
    let ty = QuantType::uniform(storage, 1.0, 0).tensor(&out_shape(m, op));
    Ok(emit(m, op, q::ARGMAX, &[x], ty, attrs))
}

/// The class the float `hl.one_hot` gives value `v` at `depth`, or −1.
fn class_of(v: f32, depth: i64) -> i64 {
    let i = v as i64;
    let i = if i < 0 { i + depth } else { i };
    if (0..depth).contains(&i) {
        i
    } else {
        -1
    }
}

/// `hl.one_hot` → `q.one_hot`.
pub(super) fn one_hot(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Res<ValueId> {
    let x = get(map, m.op(op).operands()[0])?;
    let (tin, tout) = (qtype_of(m, x)?, result_type(m, op)?);
    let depth = m
        .attr(op, "depth")
        .and_then(Attribute::as_i64)
        .ok_or("missing 'depth'")?;
    let value =
        |k: &str, default: f64| m.attr(op, k).and_then(Attribute::as_f64).unwrap_or(default);
    let code = |v: f64| scheme::quantize(v, tout.scale_at(0), tout.zero_point(), tout.storage());
    let (on, off) = (code(value("on_value", 1.0)), code(value("off_value", 0.0)));
    let (s, z) = (tin.scale_at(0), tin.zero_point());
    let st = tin.storage();
    let table: Vec<i64> = (st.qmin()..=st.qmax())
        .map(|c| class_of((s * (c - z) as f64) as f32, depth))
        .collect();
    let attrs = vec![
        ("table", Attribute::i64_array(&table)),
        ("on", Attribute::i64(on)),
        ("off", Attribute::i64(off)),
    ];
    let ty = tout.tensor(&out_shape(m, op));
    Ok(emit(m, op, q::ONE_HOT, &[x], ty, attrs))
}
