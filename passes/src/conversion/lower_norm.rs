//! `hl-to-quant` for `hl.layer_norm` (over any axes: they are moved last and merged into one
//! around the op, [`super::axes_last`], so γ and β apply per element of the normalized axes)
//! and `hl.instance_norm` (over H and W of NHWC, γ and β per channel): both become `q.layer_norm`, the guide's `layer_norm_decomposition` as one
//! integer op. Its stages are the DFC's decomposed block (reduce_mean → ew_sub → square →
//! reduce → var_inv → ew_mult → affine), with the intermediates exact integers or 16-bit:
//! - mean and centring are exact: D = n·(x − zp) − Σ(x − zp) (no rounding at all);
//! - the variance V = Σ D² is exact, and ε enters in the same units: E = round(n³·ε/S_x²);
//! - the normalized value is a signed 16-bit intermediate t = round(2^15·D/sqrt(V + E));
//! - the affine γ·sqrt(n)·t·2^−15 + β runs as a 16-bit per-channel weight times t plus an
//!   i32 bias at the accumulator scale S_γ·2^−15, rescaled per channel to the output.
//!
//! `hl.l2_norm` (x / sqrt(max(Σx², ε)) along `axis`) is the same op without centring
//! (`center = false`): D = x − zp, the normalized value t = round(2^15·D/sqrt(max(V, E)))
//! with E = ε/S_x², and the affine is the identity (γ = 1, β = 0).
//!
//! The weight scale of a channel is the larger of |γ·sqrt(n)|/32767 and what keeps β inside
//! i32 (|β|·2^15/(2^31 − 1)).

use super::axes_last::Moved;
use super::hl_to_quant::{clamp, data_operand, emit, qtype_of, result_type, Res};
use super::lower_weighted::{const_values, int_const};
use hailo_dialect_hl as hl;
use hailo_dialect_hl::Activation;
use hailo_dialect_quant::ops as q;
use hailo_dialect_quant::{scheme, QuantType, Storage};
use hailo_ir::{Attribute, Module, OpId, ValueId};
use rustc_hash::FxHashMap;

/// The 16-bit fixed-point one of the normalized value.
const ONE: f64 = (1u32 << q::FRAC_BITS_16) as f64;

/// The per-channel quantized affine: i16 weights, their scales, i32 biases.
struct Affine {
    scales: Vec<f64>,
    gamma: Vec<i32>,
    beta: Vec<i32>,
}

fn affine(w: &[f64], b: &[f64]) -> Res<Affine> {
    let mut out = Affine {
        scales: Vec::with_capacity(w.len()),
        gamma: Vec::with_capacity(w.len()),
        beta: Vec::with_capacity(w.len()),
    };
    for (c, (&w, &b)) in w.iter().zip(b).enumerate() {
        if !w.is_finite() || !b.is_finite() {
            return Err(format!(
                "channel {c} has gamma {w} and beta {b} (they must be finite)"
            ));
        }
        let s = (w.abs() / Storage::I16.qmax() as f64).max(b.abs() * ONE / f64::from(i32::MAX));
        let s = if s > 0.0 { s } else { 1.0 };
        out.scales.push(s);
        out.gamma
            .push(scheme::quantize(w, s, 0, Storage::I16) as i32);
        out.beta.push(scheme::round_half_even(b * ONE / s) as i32);
    }
    Ok(out)
}

/// Lowers `hl.layer_norm`, `hl.instance_norm` and `hl.l2_norm`.
pub(super) fn lower(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Res<ValueId> {
    let operands = m.op(op).operands().to_vec();
    let x = data_operand(m, op, map, operands[0], "input")?;
    let (tin, tout) = (qtype_of(m, x)?, result_type(m, op)?);
    let shape = m
        .value_type(m.result(op, 0))
        .shape()
        .unwrap_or(&[])
        .to_vec();
    let rank = shape.len();
    let l2 = hl::L2Norm::cast(m, op).is_some();
    if rank == 0 {
        return Err("input has rank 0".into());
    }
    // Instance norm: statistics over H and W, the affine per channel (the kernel's own
    // layout). Layer norm: the normalized axes moved last and merged into one, which then
    // carries both the statistics and the per-element affine.
    let (axes, moved): (Vec<i64>, Option<Moved>) = if hl::InstanceNorm::cast(m, op).is_some() {
        if rank != 4 {
            return Err(format!("instance norm needs an NHWC input, got {shape:?}"));
        }
        (vec![1, 2], None)
    } else {
        let given = match m.attr(op, "axis").and_then(Attribute::as_i64) {
            Some(a) if l2 => vec![a],
            _ => m
                .attr(op, "axes")
                .and_then(Attribute::as_i64_array)
                .ok_or("missing 'axes'")?,
        };
        let mut axes: Vec<usize> = given
            .iter()
            .map(|&a| if a < 0 { a + rank as i64 } else { a } as usize)
            .collect();
        axes.sort_unstable();
        axes.dedup();
        if axes.is_empty() || axes.iter().any(|&a| a >= rank) {
            return Err(format!("'axes' {axes:?} do not fit rank {rank}"));
        }
        let mv = Moved::new(&shape, &axes);
        let last = mv.merged.len() as i64 - 1;
        (vec![last], Some(mv))
    };
    let shape = moved.as_ref().map_or(shape, |mv| mv.merged.clone());
    let x = match &moved {
        Some(mv) => mv.forward(m, op, x)?,
        None => x,
    };
    let c = shape[shape.len() - 1] as usize;
    let n: i64 = axes.iter().map(|&a| shape[a as usize]).product();
    let param = |i: usize, default: f64| -> Res<Vec<f64>> {
        match operands.get(i) {
            Some(&v) => const_values(m, v),
            None => Ok(vec![default; c]),
        }
    };
    let (gamma, beta) = (param(1, 1.0)?, param(2, 0.0)?);
    if gamma.len() != c || beta.len() != c {
        return Err(format!(
            "gamma and beta need {c} values (one per channel), got {} and {}",
            gamma.len(),
            beta.len()
        ));
    }
    let eps = m
        .attr(op, "epsilon")
        .and_then(Attribute::as_f64)
        .unwrap_or(1e-5);
    // Centred, D = n·(x − μ)/S_x, so ε enters as n³·ε/S_x²; the L2 norm's D = x/S_x.
    let e = if l2 { 1.0 } else { (n as f64).powi(3) } * eps / tin.scale_at(0).powi(2);
    if !(0.0..=(1u64 << 62) as f64).contains(&e) {
        return Err(format!(
            "epsilon {eps} is {e:e} in code units at input scale {:e} (it must fit 2^62)",
            tin.scale_at(0)
        ));
    }
    let w: Vec<f64> = if l2 {
        gamma
    } else {
        gamma.iter().map(|g| g * (n as f64).sqrt()).collect()
    };
    let a = affine(&w, &beta)?;
    let mut mult = Vec::with_capacity(c);
    let mut shift = Vec::with_capacity(c);
    for s in &a.scales {
        let r = scheme::decompose_rescale(s / ONE / tout.scale_at(0))?;
        mult.push(r.multiplier);
        shift.push(r.shift as i64);
    }
    let lname = m
        .attr(op, "layer")
        .and_then(Attribute::as_str)
        .unwrap_or("?")
        .to_owned();
    let gt = QuantType::PerAxis {
        storage: Storage::I16,
        axis: 0,
        scales: a.scales.clone(),
    };
    let bt = QuantType::PerAxis {
        storage: Storage::I32,
        axis: 0,
        scales: a.scales.iter().map(|s| s / ONE).collect(),
    };
    let gv = int_const(
        m,
        op,
        &format!("{lname}.gamma_q"),
        &a.gamma,
        gt.tensor(&[c as i64]),
    );
    let bv = int_const(
        m,
        op,
        &format!("{lname}.beta_q"),
        &a.beta,
        bt.tensor(&[c as i64]),
    );
    let mut attrs = vec![
        ("axes", Attribute::i64_array(&axes)),
        ("epsilon", Attribute::i64(scheme::round_half_even(e) as i64)),
        ("multiplier", Attribute::i64_array(&mult)),
        ("shift", Attribute::i64_array(&shift)),
        ("clamp", clamp(&tout, Activation::Linear)?),
    ];
    if l2 {
        attrs.push(("center", Attribute::Bool(false)));
    }
    let y = emit(
        m,
        op,
        q::LAYER_NORM,
        &[x, gv, bv],
        tout.tensor(&shape),
        attrs,
    );
    Ok(match &moved {
        Some(mv) => mv.back(m, op, y, &tout),
        None => y,
    })
}
