//! `hl-to-quant` for `hl.reduce` (sum, mean, max, min, sum_square, l2): `q.reduce` reduces
//! the codes minus the zero point over the same axes and rescales by S_x/S_y (S_x²/S_y for
//! sum_square). Mean divides by the count and l2 by its 2^16 root scale in the kernel, so
//! neither costs mantissa bits.

use super::hl_to_quant::{clamp, data_operand, emit, qtype_of, rescale_attrs, result_type, Res};
use hailo_dialect_hl::Activation;
use hailo_dialect_quant::ops as q;
use hailo_dialect_quant::scheme;
use hailo_ir::{Attribute, Module, OpId, ValueId};
use rustc_hash::FxHashMap;

/// `hl.reduce` → `q.reduce`.
pub(super) fn lower(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Res<ValueId> {
    let operands = m.op(op).operands().to_vec();
    let x = data_operand(m, op, map, operands[0], "input")?;
    let (tin, tout) = (qtype_of(m, x)?, result_type(m, op)?);
    let kind = m
        .attr(op, "kind")
        .and_then(Attribute::as_str)
        .unwrap_or("")
        .to_owned();
    if !q::REDUCE_KINDS.contains(&kind.as_str()) {
        return Err(format!(
            "reduce '{kind}' has no integer lowering yet (only {})",
            q::REDUCE_KINDS.join(", ")
        ));
    }
    // sum_square is in units of S_x², the others of S_x.
    let unit = if kind == "sum_square" {
        tin.scale_at(0).powi(2)
    } else {
        tin.scale_at(0)
    };
    let r = scheme::decompose_rescale(unit / tout.scale_at(0))?;
    let mut attrs = rescale_attrs(&[r.multiplier], r.shift);
    attrs.push(("clamp", clamp(&tout, Activation::Linear)?));
    attrs.push(("kind", Attribute::str(&kind)));
    for k in ["axes", "keepdims"] {
        let a = m
            .attr(op, k)
            .cloned()
            .ok_or_else(|| format!("missing '{k}'"))?;
        attrs.push((k, a));
    }
    let shape = m
        .value_type(m.result(op, 0))
        .shape()
        .unwrap_or(&[])
        .to_vec();
    Ok(emit(m, op, q::REDUCE, &[x], tout.tensor(&shape), attrs))
}
