//! `hl-to-quant` for the per-element layers with a constant parameter:
//! - `hl.prelu` becomes `q.prelu`: d = x − zx rescaled by S_x/S_y where d ≥ 0 and by
//!   a_c·S_x/S_y (a_c the slope of channel c, or of the element when the slope varies along
//!   other axes; any sign) where d < 0, both with one shared
//!   shift (the larger ratio's), so each side is one rounding of the exact product;
//! - `hl.ew_pow` with a constant exponent of one value becomes a `q.lut` of `x^e` (one output
//!   code per input code, as any standalone activation). Any other exponent (a graph input,
//!   a per-element constant) is `a^b = exp(b · ln a)`: a `q.lut` of `ln a` into 16 bits, a
//!   `q.ew_mult` by `b` into 16 bits and a 16-bit-input `q.lut` of `exp`. The intermediate
//!   ranges follow from the calibrated ranges of `a` and `b`: `ln` over the positive codes of
//!   `a` (from one quantization step up; a base of 0 or below takes that step, so `0^b` is
//!   about 0 for b > 0 and a negative base is treated as its smallest positive value), the
//!   product over the corners of both ranges. The Hailo-8 runs `Pow` only with exponent 2 or
//!   a fraction below 1 (DFC guide §5.5.36): the compiler refuses the run-time form.

use super::hl_to_quant::{
    clamp, data_operand, emit, get, qtype_of, rescale_attrs, result_type, Res,
};
use super::lower_weighted::const_values;
use super::lut;
use hailo_dialect_hl::Activation;
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

/// A slope of `slope_shape` broadcast over `shape` (row-major, one value per element of a
/// sample; per element of the whole tensor when the slope varies along axis 0, which then is
/// the model's own axis, not a free batch).
fn per_element(slopes: &[f64], slope_shape: &[i64], shape: &[i64]) -> Res<Vec<f64>> {
    let rank = shape.len();
    let lead = rank
        .checked_sub(slope_shape.len())
        .ok_or("the slope has a higher rank than the input")?;
    let padded: Vec<i64> = std::iter::repeat_n(1, lead)
        .chain(slope_shape.iter().copied())
        .collect();
    let first = usize::from(padded.first().is_none_or(|&d| d == 1));
    let n: i64 = shape[first.min(rank)..].iter().product();
    let mut out = Vec::with_capacity(n as usize);
    for flat in 0..n {
        // The slope element the input element at `flat` reads.
        let (mut rem, mut idx, mut stride) = (flat, 0i64, 1i64);
        for a in (first..rank).rev() {
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

/// `hl.ew_pow` → `q.lut` for a constant exponent of one value, else [`pow_by_logarithm`].
pub(super) fn pow(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Res<ValueId> {
    let operands = m.op(op).operands().to_vec();
    let x = get(map, operands[0])?;
    if Activation::fused(m, op)? != Activation::Linear {
        return Err("a fused activation after ew_pow has no integer lowering".into());
    }
    let shape = out_shape(m, op);
    let (tin, tout) = (qtype_of(m, x)?, result_type(m, op)?);
    match table_exponent(m, op) {
        Some(exponent) => {
            let table = lut::table(Activation::Pow { exponent }, &tin, &tout);
            let attrs = vec![("table", Attribute::i64_array(&table))];
            Ok(emit(m, op, q::LUT, &[x], tout.tensor(&shape), attrs))
        }
        None => pow_by_logarithm(m, op, map, x, &shape),
    }
}

/// The exponent of an `hl.ew_pow` that is one table: a constant of one value that keeps the
/// base's shape.
fn table_exponent(m: &Module, op: OpId) -> Option<f64> {
    let operands = m.op(op).operands();
    let e = const_values(m, operands[1]).ok()?;
    let same_shape = m.value_type(operands[0]).shape() == Some(&out_shape(m, op)[..]);
    (same_shape && !e.is_empty() && e.iter().all(|&v| v == e[0])).then(|| e[0])
}

/// Why the Hailo-8 cannot run an `hl.ew_pow` lowered as `exp(b·ln a)`; `None` for a table.
pub(super) fn pow_chip_limit(m: &Module, op: OpId) -> Option<String> {
    table_exponent(m, op).is_none().then(|| {
        "the Hailo-8 runs Pow only with a constant exponent of 2 or a fraction below 1 \
         (DFC guide 5.5.36), and the integer form of this exponent, exp(b·ln a), multiplies at \
         16 bits, which the guide's 16-bit layers do not include; it is emulated, but the chip \
         cannot run it"
            .to_owned()
    })
}

/// `a^b = exp(b · ln a)` in three integer steps (see the module documentation).
fn pow_by_logarithm(
    m: &mut Module,
    op: OpId,
    map: &FxHashMap<ValueId, ValueId>,
    a: ValueId,
    shape: &[i64],
) -> Res<ValueId> {
    let b = data_operand(m, op, map, m.op(op).operands()[1], "exponent")?;
    let (ta, tb, tout) = (qtype_of(m, a)?, qtype_of(m, b)?, result_type(m, op)?);
    let value_range = |t: &QuantType| {
        let (s, z, st) = (t.scale_at(0), t.zero_point(), t.storage());
        (s * (st.qmin() - z) as f64, s * (st.qmax() - z) as f64)
    };
    let step = ta.scale_at(0);
    let (_, a_hi) = value_range(&ta);
    if a_hi <= 0.0 {
        return Err(format!(
            "the base is never positive (its range ends at {a_hi}) and an exponent that is not one constant is computed as exp(b·ln a), which needs a > 0"
        ));
    }
    let t_ln = scheme::activation_type(step.ln(), a_hi.ln(), Storage::U16);
    let ln_table = lut::table_of(|v| v.max(step).ln(), &ta, &t_ln);
    let a_shape = m.value_type(a).shape().unwrap_or(&[]).to_vec();
    let ln = emit(
        m,
        op,
        q::LUT,
        &[a],
        t_ln.tensor(&a_shape),
        vec![("table", Attribute::i64_array(&ln_table))],
    );
    let ((l0, l1), (b0, b1)) = (value_range(&t_ln), value_range(&tb));
    let corners = [l0 * b0, l0 * b1, l1 * b0, l1 * b1];
    let lo = corners.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = corners.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let t_p = scheme::activation_type(lo, hi, Storage::U16);
    let r = scheme::decompose_rescale(t_ln.scale_at(0) * tb.scale_at(0) / t_p.scale_at(0))?;
    let mut attrs = rescale_attrs(&[r.multiplier], r.shift);
    attrs.push(("clamp", clamp(&t_p, Activation::Linear)?));
    let product = emit(m, op, q::EW_MULT, &[ln, b], t_p.tensor(shape), attrs);
    let exp_table = lut::table_of(f64::exp, &t_p, &tout);
    let attrs = vec![("table", Attribute::i64_array(&exp_table))];
    Ok(emit(m, op, q::LUT, &[product], tout.tensor(shape), attrs))
}
