//! `hl-to-quant` for the per-element layers with a constant parameter:
//! - `hl.prelu` becomes `q.prelu`: d = x − zx rescaled by S_x/S_y where d ≥ 0 and by
//!   a_c·S_x/S_y (a_c the slope of channel c, any sign) where d < 0, both with one shared
//!   shift (the larger ratio's), so each side is one rounding of the exact product;
//! - `hl.ew_pow` with a constant exponent becomes a `q.lut` of `x^e` (one output code per
//!   input code, as any standalone activation). A run-time exponent has no integer form.

use super::hl_to_quant::{clamp, emit, get, qtype_of, result_type, Res};
use super::lower_weighted::const_values;
use super::lut;
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

/// `hl.prelu` → `q.prelu`; the slope must vary along the channels (last axis) only.
pub(super) fn prelu(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Res<ValueId> {
    let operands = m.op(op).operands().to_vec();
    let x = get(map, operands[0])?;
    let (tin, tout) = (qtype_of(m, x)?, result_type(m, op)?);
    let slope_shape = m.value_type(operands[1]).shape().unwrap_or(&[]).to_vec();
    if slope_shape.iter().rev().skip(1).any(|&d| d != 1) {
        return Err(format!(
            "a slope of shape {slope_shape:?} varies along other axes than the channels (last axis); only per-channel or scalar slopes have an integer lowering"
        ));
    }
    let slopes = const_values(m, operands[1])?;
    if let Some(a) = slopes.iter().find(|a| !a.is_finite()) {
        return Err(format!("slope {a} is not finite"));
    }
    let ratio = tin.scale_at(0) / tout.scale_at(0);
    let largest = slopes.iter().fold(1.0f64, |b, a| b.max(a.abs())) * ratio;
    let r = scheme::decompose_rescale(largest)?;
    let f = (1u64 << r.shift) as f64;
    let fixed = |v: f64| scheme::round_half_even(v * f) as i64;
    let neg: Vec<i64> = slopes.iter().map(|a| fixed(a * ratio)).collect();
    let attrs = vec![
        ("multiplier", Attribute::i64_array(&[fixed(ratio)])),
        ("slope_multiplier", Attribute::i64_array(&neg)),
        ("shift", Attribute::i64_array(&[r.shift as i64])),
        ("clamp", clamp(&tout, Activation::Linear)?),
    ];
    let ty = tout.tensor(&out_shape(m, op));
    Ok(emit(m, op, q::PRELU, &[x], ty, attrs))
}

/// `hl.ew_pow` with a constant exponent (one value) → `q.lut`.
pub(super) fn pow(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Res<ValueId> {
    let operands = m.op(op).operands().to_vec();
    let x = get(map, operands[0])?;
    let exponent = match const_values(m, operands[1]) {
        Ok(e) if !e.is_empty() && e.iter().all(|&v| v == e[0]) => e[0],
        _ => {
            return Err(
                "only a constant exponent (one value) has an integer lowering (a table)".into(),
            )
        }
    };
    if Activation::fused(m, op)? != Activation::Linear {
        return Err("a fused activation after ew_pow has no integer lowering".into());
    }
    let (tin, tout) = (qtype_of(m, x)?, result_type(m, op)?);
    let table = lut::table(Activation::Pow { exponent }, &tin, &tout);
    let attrs = vec![("table", Attribute::i64_array(&table))];
    let ty = tout.tensor(&out_shape(m, op));
    Ok(emit(m, op, q::LUT, &[x], ty, attrs))
}
