//! `hl-to-quant` for the attention layers:
//! - `hl.matmul` (both operands data) becomes `q.matmul`: the accumulator
//!   Σ (a − za)(b − zb) at scale S_a·S_b, rescaled by S_a·S_b/S_y. The zero-point cross
//!   terms are part of the op's exact integer arithmetic (what the guide's
//!   `matmul_correction` compensates on the hardware), so no operand needs a zero zero
//!   point or a non-negative range;
//! - `hl.softmax` becomes `q.softmax` (over another axis than the last: between transposes
//!   that move it last, [`super::axes_last`]): a 16-bit exp table indexed by the
//!   code distance to the row maximum (e = round(2^15·exp(−S_x·d)), the DFC's
//!   reduce_max → ew_sub → exp stage), the integer row sum, and one rounded division per
//!   element rescaled by 1/S_y (its reduce_sum → reciprocal → ew_mult stage);
//! - `hl.log_softmax` becomes `q.log_softmax`: the same table and sum,
//!   then S_x·(x − max) − ln(Σ e·2^−15) with the logarithm as a fixed-point integer log2
//!   (16 fractional bits), both terms rescaled to the output with one shared shift.

use super::axes_last::Moved;
use super::hl_to_quant::{clamp, data_operand, emit, qtype_of, rescale_attrs, result_type, Res};
use super::lower_ew::per_input;
use hailo_dialect_hl as hl;
use hailo_dialect_hl::Activation;
use hailo_dialect_quant::ops as q;
use hailo_dialect_quant::scheme;
use hailo_ir::{Attribute, Module, OpId, ValueId};
use rustc_hash::FxHashMap;

fn out_shape(m: &Module, op: OpId) -> Vec<i64> {
    m.value_type(m.result(op, 0))
        .shape()
        .unwrap_or(&[])
        .to_vec()
}

/// `hl.matmul` → `q.matmul`.
pub(super) fn matmul(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Res<ValueId> {
    let operands = m.op(op).operands().to_vec();
    let a = data_operand(m, op, map, operands[0], "a")?;
    let b = data_operand(m, op, map, operands[1], "b")?;
    let (ta, tb, tout) = (qtype_of(m, a)?, qtype_of(m, b)?, result_type(m, op)?);
    let r = scheme::decompose_rescale(ta.scale_at(0) * tb.scale_at(0) / tout.scale_at(0))?;
    let mut attrs = rescale_attrs(&[r.multiplier], r.shift);
    attrs.push(("clamp", clamp(&tout, Activation::Linear)?));
    if let Some(t) = m.attr(op, "transpose_b").cloned() {
        attrs.push(("transpose_b", t));
    }
    let ty = tout.tensor(&out_shape(m, op));
    Ok(emit(m, op, q::MATMUL, &[a, b], ty, attrs))
}

/// The exp table of `q.softmax` for input scale `s`: one 16-bit entry per code distance.
pub fn exp_table(s: f64, codes: usize) -> Vec<i64> {
    let one = f64::from(1u32 << q::FRAC_BITS_16);
    (0..codes)
        .map(|d| scheme::round_half_even(one * (-s * d as f64).exp()) as i64)
        .collect()
}

/// `hl.softmax` / `hl.log_softmax` → `q.softmax` / `q.log_softmax`; another axis than the
/// last is moved last around it ([`Moved`]).
pub(super) fn softmax(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Res<ValueId> {
    let operands = m.op(op).operands().to_vec();
    let x = data_operand(m, op, map, operands[0], "input")?;
    let (tin, tout) = (qtype_of(m, x)?, result_type(m, op)?);
    let shape = out_shape(m, op);
    let rank = shape.len() as i64;
    let axis = m.attr(op, "axis").and_then(Attribute::as_i64).unwrap_or(-1);
    let axis = if axis < 0 { axis + rank } else { axis };
    if !(0..rank).contains(&axis) {
        return Err(format!("axis {axis} is out of range for rank {rank}"));
    }
    let moved = Moved::new(&shape, &[axis as usize]);
    let x = moved.forward(m, op, x)?;
    let table = exp_table(tin.scale_at(0), 1 << tin.storage().bits());
    let (qname, mut attrs) = if hl::LogSoftmax::cast(m, op).is_some() {
        // y = S_x·(x − max)/S_y − ln2·L/(2^16·S_y), L the q16 log2 of the sum.
        let lsb = std::f64::consts::LN_2 / 65536.0;
        let r = per_input(tin.scale_at(0) / tout.scale_at(0), lsb / tout.scale_at(0))?;
        (q::LOG_SOFTMAX, r)
    } else {
        let r = scheme::decompose_rescale(1.0 / tout.scale_at(0))?;
        (q::SOFTMAX, rescale_attrs(&[r.multiplier], r.shift))
    };
    attrs.push(("clamp", clamp(&tout, Activation::Linear)?));
    attrs.push(("table", Attribute::i64_array(&table)));
    let y = emit(m, op, qname, &[x], tout.tensor(&moved.merged), attrs);
    Ok(moved.back(m, op, y, &tout))
}
