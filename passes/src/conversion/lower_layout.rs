//! `hl-to-quant` for the layout layers that move codes: `hl.slice` and every result of
//! `hl.split` become `q.slice` (bounds normalized to `0 <= start <= end <= dim`), and
//! bilinear `hl.resize` becomes a `q.resize` with fixed-point taps. All keep their input's
//! quantized type.
//!
//! A slice that keeps axis 0 whole gets bounds for the other axes only, so the integer graph
//! runs any number of samples stacked on axis 0, as the float graph does. A slice or split
//! that cuts axis 0 acts on the model's own axis 0 (a sequence, the rows of a table), which
//! then is no free batch: its `q.slice` has bounds for every axis, axis 0 included.

use super::hl_to_quant::{emit, get, qtype_of, Res};
use hailo_dialect_quant::ops as q;
use hailo_ir::{Attribute, Module, OpId, ValueId};
use rustc_hash::FxHashMap;

/// Fractional bits of bilinear tap weights (16-bit codes · 2^30 stay far inside i64).
pub const BILINEAR_FRAC_BITS: i64 = 15;

fn input_shape(m: &Module, op: OpId) -> Vec<i64> {
    m.value_type(m.op(op).operands()[0])
        .shape()
        .unwrap_or(&[])
        .to_vec()
}

fn result_shape(m: &Module, op: OpId, i: usize) -> Vec<i64> {
    m.value_type(m.result(op, i))
        .shape()
        .unwrap_or(&[])
        .to_vec()
}

/// Emits `q.slice` of `x` for bounds over the non-batch axes, or over every axis.
fn emit_slice(
    m: &mut Module,
    op: OpId,
    x: ValueId,
    result: usize,
    bounds: [Vec<i64>; 3],
) -> Res<ValueId> {
    let ty = qtype_of(m, x)?.tensor(&result_shape(m, op, result));
    let [s, e, k] = bounds;
    let attrs = vec![
        ("starts", Attribute::i64_array(&s)),
        ("ends", Attribute::i64_array(&e)),
        ("steps", Attribute::i64_array(&k)),
    ];
    Ok(emit(m, op, q::SLICE, &[x], ty, attrs))
}

/// `hl.slice`: negative bounds count from the end, bounds clamp to the axis.
pub(super) fn slice(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Res<ValueId> {
    let x = get(map, m.op(op).operands()[0])?;
    let shape = input_shape(m, op);
    let list = |k: &str| m.attr(op, k).and_then(Attribute::as_i64_array);
    let (starts, ends) = (
        list("starts").ok_or("missing 'starts'")?,
        list("ends").ok_or("missing 'ends'")?,
    );
    let steps = list("steps").unwrap_or_else(|| vec![1; shape.len()]);
    if starts.len() != shape.len() || ends.len() != shape.len() || steps.len() != shape.len() {
        return Err(format!(
            "starts/ends/steps need one entry per axis of {shape:?}"
        ));
    }
    if let Some(k) = steps.iter().find(|&&k| k <= 0) {
        return Err(format!(
            "step {k} has no integer lowering (steps must be positive)"
        ));
    }
    let norm = |v: i64, d: i64| if v < 0 { v + d } else { v }.clamp(0, d);
    let whole_batch = shape
        .first()
        .is_some_and(|&d| starts[0] == 0 && steps[0] == 1 && norm(ends[0], d) == d);
    let first = usize::from(whole_batch);
    let mut b = [Vec::new(), Vec::new(), Vec::new()];
    for d in first..shape.len() {
        let s = norm(starts[d], shape[d]);
        b[0].push(s);
        b[1].push(norm(ends[d], shape[d]).max(s));
        b[2].push(steps[d]);
    }
    emit_slice(m, op, x, 0, b)
}

/// `hl.split`: one `q.slice` per result along `axis` (over every axis when it splits axis 0).
pub(super) fn split(
    m: &mut Module,
    op: OpId,
    map: &FxHashMap<ValueId, ValueId>,
) -> Res<Vec<ValueId>> {
    let x = get(map, m.op(op).operands()[0])?;
    let shape = input_shape(m, op);
    let rank = shape.len() as i64;
    let axis = m
        .attr(op, "axis")
        .and_then(Attribute::as_i64)
        .ok_or("missing 'axis'")?;
    let axis = if axis < 0 { axis + rank } else { axis };
    if axis < 0 || axis >= rank {
        return Err(format!("split axis {axis} is not an axis of rank {rank}"));
    }
    let sizes = m
        .attr(op, "sizes")
        .and_then(Attribute::as_i64_array)
        .ok_or("missing 'sizes'")?;
    // The axes with bounds: the non-batch ones, or all when axis 0 is split.
    let first = usize::from(axis > 0);
    let at_axis = axis as usize - first;
    let mut at = 0;
    let mut out = Vec::with_capacity(sizes.len());
    for (i, &n) in sizes.iter().enumerate() {
        let mut b = [
            vec![0; shape.len() - first],
            shape[first..].to_vec(),
            vec![1; shape.len() - first],
        ];
        b[0][at_axis] = at;
        b[1][at_axis] = at + n;
        at += n;
        out.push(emit_slice(m, op, x, i, b)?);
    }
    Ok(out)
}

/// `hl.resize` (nearest or bilinear).
pub(super) fn resize(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Res<ValueId> {
    let x = get(map, m.op(op).operands()[0])?;
    let mode = m
        .attr(op, "mode")
        .and_then(Attribute::as_str)
        .unwrap_or("nearest")
        .to_owned();
    let ty = qtype_of(m, x)?.tensor(&result_shape(m, op, 0));
    let mut attrs: Vec<(&str, Attribute)> = ["coordinate", "nearest_mode"]
        .into_iter()
        .filter(|&k| mode == "nearest" || k == "coordinate")
        .filter_map(|k| m.attr(op, k).cloned().map(|a| (k, a)))
        .collect();
    match mode.as_str() {
        "nearest" => {}
        "bilinear" => {
            attrs.push(("mode", Attribute::str("bilinear")));
            attrs.push(("frac_bits", Attribute::i64(BILINEAR_FRAC_BITS)));
        }
        other => return Err(format!("resize mode '{other}' has no integer lowering")),
    }
    Ok(emit(m, op, q::RESIZE, &[x], ty, attrs))
}
