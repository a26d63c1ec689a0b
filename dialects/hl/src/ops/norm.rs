//! Normalizations over channels or axes: `hl.batch_norm` (with fused
//! activation), `hl.normalization` (per-channel mean/std constants),
//! `hl.layer_norm`, `hl.instance_norm` and `hl.l2_norm`. All keep the input
//! type; the checks are on the parameter operands and attributes.

use super::{check_layer, verify_unary};
use crate::access::{axes, axis, OpView, Result};
use hailo_ir::{define_op, Module, OpDef, OpId, Type};

define_op! {
    /// Inference batch norm: `(x - mean) / sqrt(var + epsilon) * gamma + beta`.
    pub struct BatchNorm = "hl.batch_norm" {
        summary: "Inference batch normalization", traits: [PURE],
        operands { input: 0, mean: 1, var: 2, gamma: 3, beta: 4 }
        attrs { epsilon: f64, activation: str, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS, super::ACTIVATION_PARAMS]
        interfaces { crate::interfaces::FusedActivation => crate::interfaces::ActivationAttr, crate::interfaces::HnExport => crate::hn::HnLayer::new("batch_norm", &["moving_mean", "moving_variance", "gamma", "beta"], crate::hn::BATCH_NORM) }
        hooks { verify: verify_batch_norm, infer: infer_batch_norm }
    }
}

define_op! {
    /// Input normalization `(x - mean) / std` with per-channel constants.
    pub struct Normalization = "hl.normalization" {
        summary: "Per-channel (x - mean) / std", traits: [PURE],
        operands { input: 0 }
        attrs { mean: f64_array, std: f64_array, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::HnExport => crate::hn::HnLayer::new("normalization", &[], &[("mean", crate::hn::HnParam::Same), ("std", crate::hn::HnParam::Same)]) }
        hooks { verify: verify_unary, infer: infer_normalization }
    }
}

define_op! {
    /// Layer norm over `axes`, optional `gamma` and `beta` shaped like those axes.
    pub struct LayerNorm = "hl.layer_norm" {
        summary: "Layer normalization", traits: [PURE],
        operands { input: 0, gamma: 1, beta: 2 }
        attrs { axes: i64_array, epsilon: f64, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::HnExport => crate::hn::HnLayer { optional_weights: true, ..crate::hn::HnLayer::new("layer_norm", &["gamma", "beta"], &[("axes", crate::hn::HnParam::Same), ("epsilon", crate::hn::HnParam::Same)]) } }
        hooks { verify: verify_layer_norm, infer: infer_layer_norm }
    }
}

define_op! {
    /// Instance norm of an NHWC tensor over H and W, per-channel `gamma`, `beta`.
    pub struct InstanceNorm = "hl.instance_norm" {
        summary: "Instance normalization", traits: [PURE],
        operands { input: 0, gamma: 1, beta: 2 }
        attrs { epsilon: f64, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::HnExport => crate::hn::HnLayer::new("instance_norm", &["gamma", "beta"], &[("epsilon", crate::hn::HnParam::Same)]) }
        hooks { verify: verify_instance_norm, infer: infer_instance_norm }
    }
}

define_op! {
    /// `x / sqrt(max(sum(x^2 over axis), epsilon))`.
    pub struct L2Norm = "hl.l2_norm" {
        summary: "L2 normalization along an axis", traits: [PURE],
        operands { input: 0 }
        attrs { axis: i64, epsilon: f64, layer: str [required = "the Hailo layer name, a string"] }
        attr_groups [super::QUANT_ANNOTATIONS]
        interfaces { crate::interfaces::HnExport => crate::hn::HnLayer::new("l2_norm", &[], &[("axis", crate::hn::HnParam::Same), ("epsilon", crate::hn::HnParam::Same)]) }
        hooks { verify: verify_l2_norm, infer: infer_l2_norm }
    }
}

fn epsilon(v: &OpView<'_>) -> Result<f64> {
    let e = v.f64("epsilon")?;
    if e.is_nan() || e < 0.0 {
        return Err(format!(
            "attribute 'epsilon' must be a non-negative number, got {e}"
        ));
    }
    Ok(e)
}

/// Operands `first..` must all have exactly `shape`.
fn params_shaped(v: &OpView<'_>, first: usize, names: &[&str], shape: &[i64]) -> Result<()> {
    for (i, name) in names
        .iter()
        .enumerate()
        .skip(first)
        .take(v.num_operands().saturating_sub(first))
    {
        let s = v.shape(i, name)?;
        if s != shape {
            return Err(format!("{name} must have shape {shape:?}, got {s:?}"));
        }
    }
    Ok(())
}

/// The input type, after checking the input is a tensor of rank >= `min_rank`.
fn input_type(v: &OpView<'_>, min_rank: usize) -> Result<Vec<Type>> {
    let x = v.shape(0, "input")?;
    if x.len() < min_rank {
        return Err(format!("input must have rank >= {min_rank}, got {x:?}"));
    }
    Ok(vec![v.operand_type(0, "input")?])
}

fn last_dim(v: &OpView<'_>) -> Result<i64> {
    v.shape(0, "input")?
        .last()
        .copied()
        .ok_or_else(|| "input must not be a rank-0 tensor".into())
}

fn verify_batch_norm(m: &Module, op: OpId) -> Result<()> {
    let v = check_layer(m, op, (5, 5), "input, mean, var, gamma and beta", true)?;
    epsilon(&v).map(|_| ())
}

fn infer_batch_norm(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let ty = input_type(&v, 2)?;
    params_shaped(
        &v,
        1,
        &["input", "mean", "var", "gamma", "beta"],
        &[last_dim(&v)?],
    )?;
    Ok(ty)
}

fn infer_normalization(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let ty = input_type(&v, 1)?;
    let c = last_dim(&v)?;
    let (mean, std) = (v.f64s("mean")?, v.f64s("std")?);
    for (key, list) in [("mean", &mean), ("std", &std)] {
        if list.len() as i64 != c {
            return Err(format!(
                "attribute '{key}' must have one value per channel ({c}), got {}",
                list.len()
            ));
        }
    }
    if let Some(i) = std.iter().position(|&s| s == 0.0 || s.is_nan()) {
        return Err(format!(
            "attribute 'std' must be non-zero, got {} at channel {i}",
            std[i]
        ));
    }
    Ok(ty)
}

fn verify_layer_norm(m: &Module, op: OpId) -> Result<()> {
    let v = check_layer(
        m,
        op,
        (1, 3),
        "input, optional gamma and optional beta",
        false,
    )?;
    epsilon(&v).map(|_| ())
}

fn infer_layer_norm(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let ty = input_type(&v, 1)?;
    let x = v.shape(0, "input")?;
    let normalized: Vec<i64> = axes("axes", &v.i64s("axes")?, x.len())?
        .into_iter()
        .map(|a| x[a])
        .collect();
    params_shaped(&v, 1, &["input", "gamma", "beta"], &normalized)?;
    Ok(ty)
}

fn verify_instance_norm(m: &Module, op: OpId) -> Result<()> {
    let v = check_layer(m, op, (3, 3), "input, gamma and beta", false)?;
    epsilon(&v).map(|_| ())
}

fn infer_instance_norm(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let x = v.shape_rank(0, "input", 4)?;
    params_shaped(&v, 1, &["input", "gamma", "beta"], &[x[3]])?;
    Ok(vec![v.operand_type(0, "input")?])
}

fn verify_l2_norm(m: &Module, op: OpId) -> Result<()> {
    let v = check_layer(m, op, (1, 1), "one input", false)?;
    epsilon(&v).map(|_| ())
}

fn infer_l2_norm(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let ty = input_type(&v, 1)?;
    axis("axis", v.i64("axis")?, v.shape(0, "input")?.len())?;
    Ok(ty)
}

pub fn defs() -> Vec<OpDef> {
    vec![
        BatchNorm::def(),
        Normalization::def(),
        LayerNorm::def(),
        InstanceNorm::def(),
        L2Norm::def(),
    ]
}
