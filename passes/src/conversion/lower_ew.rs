//! `hl-to-quant` for the two-input elementwise layers: `ew_add` / `ew_sub` / `ew_max` /
//! `ew_min` rescale each input to the output scale (one shared shift), `ew_mult` rescales the
//! product of the inputs' differences by S_a·S_b/S_y, and `ew_div` the quotient by
//! S_a/(S_b·S_y). Fused ReLU/ReLU6 become the output clamp. A constant operand (a position
//! embedding, a scale) is quantized on its own 16-bit grid; operands broadcast numpy-style.

use super::hl_to_quant::{clamp, data_operand, emit, qtype_of, rescale_attrs, result_type, Res};
use hailo_dialect_hl as hl;
use hailo_dialect_hl::Activation;
use hailo_dialect_quant::ops as q;
use hailo_dialect_quant::scheme;
use hailo_ir::{Attribute, Module, OpId, ValueId};
use rustc_hash::FxHashMap;

/// Lowers `hl.ew_{add,sub,max,min,mult,div}`.
pub(super) fn lower(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Res<ValueId> {
    let name = m.op(op).name_str();
    let operands = m.op(op).operands().to_vec();
    let a = data_operand(m, op, map, operands[0], "a")?;
    let b = data_operand(m, op, map, operands[1], "b")?;
    let (ta, tb, tout) = (qtype_of(m, a)?, qtype_of(m, b)?, result_type(m, op)?);
    let act = Activation::fused(m, op)?;
    let (sa, sb, sy) = (ta.scale_at(0), tb.scale_at(0), tout.scale_at(0));
    let one = |ratio: f64| -> Res<Vec<(&'static str, Attribute)>> {
        let r = scheme::decompose_rescale(ratio)?;
        Ok(rescale_attrs(&[r.multiplier], r.shift))
    };
    let (qname, mut attrs) = match name {
        hl::EwAdd::NAME => (q::EW_ADD, per_input(sa / sy, sb / sy)?),
        hl::EwSub::NAME => (q::EW_SUB, per_input(sa / sy, sb / sy)?),
        hl::EwMax::NAME => (q::EW_MAX, per_input(sa / sy, sb / sy)?),
        hl::EwMin::NAME => (q::EW_MIN, per_input(sa / sy, sb / sy)?),
        hl::EwMult::NAME => (q::EW_MULT, one(sa * sb / sy)?),
        hl::EwDiv::NAME => (q::EW_DIV, one(sa / (sb * sy))?),
        other => return Err(format!("'{other}' is not a lowered elementwise op")),
    };
    attrs.push(("clamp", clamp(&tout, act)?));
    let out_shape = m
        .value_type(m.result(op, 0))
        .shape()
        .unwrap_or(&[])
        .to_vec();
    Ok(emit(m, op, qname, &[a, b], tout.tensor(&out_shape), attrs))
}

/// Multipliers `[ma, mb]` for ratios `ra`, `rb` with the one shift of the larger ratio.
pub(super) fn per_input(ra: f64, rb: f64) -> Res<Vec<(&'static str, Attribute)>> {
    let big = scheme::decompose_rescale(ra.max(rb))?;
    let f = (1u64 << big.shift) as f64;
    Ok(rescale_attrs(
        &[(ra * f).round() as i64, (rb * f).round() as i64],
        big.shift,
    ))
}
