//! `hl-to-quant` for the per-element layers with a constant parameter:
//! - `hl.prelu` becomes `q.prelu`: d = x − zx rescaled by S_x/S_y where d ≥ 0 and by
//!   a_c·S_x/S_y (a_c the slope of channel c, or of the element when the slope varies along
//!   other axes; any sign) where d < 0, both with one shared
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

/// `hl.prelu` → `q.prelu`: one slope per channel (last axis), or per element of a sample
/// when the slope varies along other axes.
pub(super) fn prelu(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Res<ValueId> {
    let operands = m.op(op).operands().to_vec();
    let x = get(map, operands[0])?;
    let (tin, tout) = (qtype_of(m, x)?, result_type(m, op)?);
    let slope_shape = m.value_type(operands[1]).shape().unwrap_or(&[]).to_vec();
    let slopes = const_values(m, operands[1])?;
    if let Some(a) = slopes.iter().find(|a| !a.is_finite()) {
        return Err(format!("slope {a} is not finite"));
    }
    let shape = out_shape(m, op);
    let slopes = if slope_shape.iter().rev().skip(1).all(|&d| d == 1) {
        slopes
    } else {
        per_element(&slopes, &slope_shape, &shape)?
    };
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
    let ty = tout.tensor(&shape);
    Ok(emit(m, op, q::PRELU, &[x], ty, attrs))
}

/// A slope of `slope_shape` broadcast over the non-batch axes of `shape` (row-major, one
/// value per element of a sample); it must not vary along the batch axis.
fn per_element(slopes: &[f64], slope_shape: &[i64], shape: &[i64]) -> Res<Vec<f64>> {
    let rank = shape.len();
    let lead = rank
        .checked_sub(slope_shape.len())
        .ok_or("the slope has a higher rank than the input")?;
    let padded: Vec<i64> = std::iter::repeat_n(1, lead)
        .chain(slope_shape.iter().copied())
        .collect();
    if padded.first().is_some_and(|&d| d != 1) {
        return Err(format!(
            "a slope of shape {slope_shape:?} varies along the batch axis; it has no integer lowering"
        ));
    }
    let inner = &shape[1..];
    let n: i64 = inner.iter().product();
    let mut out = Vec::with_capacity(n as usize);
    for flat in 0..n {
        // The slope element the input element at `flat` (within a sample) reads.
        let (mut rem, mut idx, mut stride) = (flat, 0i64, 1i64);
        for a in (1..rank).rev() {
            let i = rem % shape[a];
            rem /= shape[a];
            if padded[a] != 1 {
                idx += i * stride;
            }
            stride *= padded[a];
        }
        out.push(slopes[idx as usize]);
    }
    Ok(out)
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
    let shape = out_shape(m, op);
    if m.value_type(x).shape() != Some(&shape[..]) {
        return Err(format!(
            "the constant exponent broadcasts the input to {shape:?}; a table keeps the input's shape"
        ));
    }
    let (tin, tout) = (qtype_of(m, x)?, result_type(m, op)?);
    let table = lut::table(Activation::Pow { exponent }, &tin, &tout);
    let attrs = vec![("table", Attribute::i64_array(&table))];
    let ty = tout.tensor(&shape);
    Ok(emit(m, op, q::LUT, &[x], ty, attrs))
}
